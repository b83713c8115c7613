"""``gridtsne serve`` under load: polls per second and what HTTP adds to a POST.

Makes a small dataset of scikit-learn's digits (written as 64 px PNGs in
``--cache``), a key, and runs the real server (the console script) on a free
loopback port:

- ``get_rps``: ``GET /v2/visualizations/{id}`` of a ready run, answered per
  second, with ``--clients`` keep-alive connections polling at once for
  ``--seconds`` (the clients run on the same cores as the server);
  ``get_rps_pending``: the same for a run still in the queue (its delegated
  operation read on each poll); ``get_ms``: one client's median latency;
- ``post_ms``: median of ``--posts`` sequential ``POST /v2/visualizations``,
  and ``queue_grid_ms``: median of as many ``queue_grid`` calls in this
  process on the same dataset and options; ``post_added_ms`` is the difference.
  This server runs with ``--workers 0``, so nothing competes with the queueing,
  and every queued operation is deleted afterwards.

Prints one JSON object on its last line.

    .venv/bin/python benchmarks/bench_serve.py
"""

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

from plugin_env import use_this_plugin

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SCRIPT = os.path.join(os.path.dirname(sys.executable), "gridtsne")


class Server:
    def __init__(self, workers):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.proc = subprocess.Popen(
            [SCRIPT, "serve", "--port", str(self.port), "--workers", str(workers)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for line in self.proc.stdout:
            if line.startswith("gridtsne: serving"):
                break
        else:
            raise SystemExit("the server did not start")
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()

    def connect(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)


def request(conn, key, method, path, body=None):
    headers = {"Authorization": "Key " + key}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=data, headers=headers)
    r = conn.getresponse()
    answer = r.read()
    return r.status, json.loads(answer)


def polls_per_second(server, key, path, clients, seconds):
    counts = [0] * clients
    stop = time.perf_counter() + seconds

    def poll(i):
        conn = server.connect()
        while time.perf_counter() < stop:
            status, _ = request(conn, key, "GET", path)
            assert status == 200, status
            counts[i] += 1
        conn.close()

    threads = [threading.Thread(target=poll, args=(i,)) for i in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.perf_counter() - t0)


def median_ms(fn, n):
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), times


def digits_dataset(cache, n):
    import fiftyone as fo
    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    folder = os.path.join(cache, "digits")
    os.makedirs(folder, exist_ok=True)
    samples = []
    for i in range(n):
        path = os.path.join(folder, "%04d.png" % i)
        if not os.path.exists(path):
            pixels = (digits.images[i] * (255 / 16)).astype(np.uint8)
            Image.fromarray(pixels).resize((64, 64), Image.NEAREST).save(path)
        samples.append(fo.Sample(filepath=path, ground_truth=fo.Classification(
            label=str(digits.target[i]))))
    ds = fo.Dataset("gridtsne-bench-serve-" + uuid.uuid4().hex[:6])
    ds.add_samples(samples)
    ds.persistent = True  # the server's processes load it
    return ds


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200, help="digits in the dataset")
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--posts", type=int, default=20)
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "gridtsne-bench-serve"))
    args = ap.parse_args(argv)
    use_this_plugin()

    from bson import ObjectId
    from fiftyone.operators.delegated import DelegatedOperationService

    from gridtsne import queue_grid
    from gridtsne.serve import keys
    from gridtsne.serve import visualizations as vis

    ds = digits_dataset(args.cache, args.n)
    key_name = "bench-" + uuid.uuid4().hex[:8]
    key = keys.create(key_name)
    options = {"cell_px": 16, "curation": False}
    out = {"n": args.n, "clients": args.clients, "seconds": args.seconds,
           "cpus": os.cpu_count()}
    queued = []
    try:
        # a ready run, made by the server's own worker
        server = Server(workers=1)
        try:
            conn = server.connect()
            status, body = request(conn, key, "POST", "/v2/visualizations",
                                   {"dataset": ds.name, "options": options})
            assert status == 202, body
            path = "/v2/visualizations/" + body["output"]["id"]
            deadline = time.time() + 600
            while True:
                status, body = request(conn, key, "GET", path)
                if body["output"]["status"] in ("ready", "failed") or time.time() > deadline:
                    break
                time.sleep(0.2)
            assert body["output"]["status"] == "ready", body
            out["get_ms"] = round(median_ms(lambda: request(conn, key, "GET", path), 200)[0], 2)
            conn.close()
            out["get_rps"] = round(polls_per_second(server, key, path, args.clients,
                                                    args.seconds), 1)
        finally:
            server.stop()

        # queueing alone: no worker takes the runs
        server = Server(workers=0)
        try:
            conn = server.connect()
            posted = []

            def post():
                status, body = request(conn, key, "POST", "/v2/visualizations",
                                       {"dataset": ds.name, "options": options})
                assert status == 202, body
                posted.append(body["output"]["id"])

            post()  # warm: the server's first FiftyOne calls load the plugin
            post_ms, post_all = median_ms(post, args.posts)
            queued += posted
            pending = "/v2/visualizations/" + posted[-1]
            out["get_rps_pending"] = round(polls_per_second(server, key, pending, args.clients,
                                                            args.seconds), 1)
            conn.close()
        finally:
            server.stop()

        def direct():
            queued.append(queue_grid(ds, key="api_%s" % uuid.uuid4().hex[:8], **options))

        direct()
        queue_ms, queue_all = median_ms(direct, args.posts)
        out.update(post_ms=round(post_ms, 1), queue_grid_ms=round(queue_ms, 1),
                   post_added_ms=round(post_ms - queue_ms, 1),
                   post_range_ms=[round(min(post_all), 1), round(max(post_all), 1)],
                   queue_grid_range_ms=[round(min(queue_all), 1), round(max(queue_all), 1)])
    finally:
        service = DelegatedOperationService()
        for op_id in queued:
            try:
                service.delete_operation(ObjectId(op_id))
            except Exception:
                pass
        for op_id in vis.all_ids():
            record = vis._records().find_one({"_id": op_id})
            if record and record["owner"] == key_name:
                vis._records().delete_one({"_id": op_id})
        keys.revoke(key_name)
        ds.delete()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
