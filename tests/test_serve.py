"""``gridtsne serve``: a real server (the console script, with real worker
processes) on a free loopback port, called by a real HTTP client (urllib)."""

import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
import xml.etree.ElementTree as ET

import psutil
import pytest
from PIL import Image


SCRIPT = os.path.join(os.path.dirname(sys.executable), "gridtsne")


def cli(*args):
    proc = subprocess.run([SCRIPT, *args], capture_output=True, text=True, timeout=120,
                          env=os.environ)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def new_key(datasets=None):
    name = "test-" + uuid.uuid4().hex[:8]
    out = cli("keys", "create", name, *(["--datasets", datasets] if datasets else []))
    return out.strip().splitlines()[-1].split()[-1]


class Server:
    """``gridtsne serve`` in a subprocess, stopped as a user stops it."""

    def __init__(self, workers=1, port=None):
        if port is None:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
        self.port, self.url = port, "http://127.0.0.1:%d" % port
        self.proc = subprocess.Popen(
            [SCRIPT, "serve", "--port", str(port), "--workers", str(workers)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=os.environ)
        head = []
        for line in self.proc.stdout:  # "gridtsne: serving ..." once it listens
            head.append(line)
            if line.startswith("gridtsne: serving"):
                break
        else:
            raise AssertionError("the server did not start:\n" + "".join(head))
        # the rest is drained, so a chatty worker never blocks on a full pipe
        self.output = []
        threading.Thread(target=lambda: self.output.extend(self.proc.stdout),
                         daemon=True).start()

    def stop(self, sig=signal.SIGTERM):
        children = psutil.Process(self.proc.pid).children(recursive=True)
        self.proc.send_signal(sig)
        rc = self.proc.wait(timeout=60)
        gone, alive = psutil.wait_procs(children, timeout=30)
        assert not alive, "left behind: %s" % alive
        return rc


def call(url, method="GET", body=None, key=None, raw=None, headers=None):
    """(HTTP status, parsed JSON or bytes, headers)."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if key:
        req.add_header("Authorization", "Key " + key)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            status, content, got = r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        status, content, got = e.code, e.read(), e.headers
    if "json" in (got.get("content-type") or ""):
        content = json.loads(content)
    return status, content, got


def wait_ready(server, key, vis_id, timeout=300):
    """Polls the run as a client does; returns (its last answer, statuses seen)."""
    seen = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        status, body, _ = call("%s/v2/visualizations/%s" % (server.url, vis_id), key=key)
        assert status == 200, body
        out = body["output"]
        if not seen or seen[-1][0] != out["status"]:
            seen.append((out["status"], out.get("progress"), out.get("stage")))
        if out["status"] in ("ready", "failed"):
            return out, seen
        time.sleep(0.05)
    raise AssertionError("not done in %d s: %s" % (timeout, seen))


@pytest.fixture(scope="module")
def server():
    s = Server(workers=2)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def key():
    return new_key()


@pytest.fixture
def persistent(make_dataset):
    """A dataset the server's processes can load (saved, then deleted)."""
    def make(n=None):
        ds = make_dataset()
        if n is not None:
            ds.exclude(ds.take(len(ds) - n, seed=1).values("id")).keep()
        ds.persistent = True
        return ds

    return make


def post(server, key, body):
    return call(server.url + "/v2/visualizations", "POST", body, key=key)


def test_a_run_goes_pending_running_ready_and_serves_its_mosaic(server, key, persistent):
    ds = persistent()
    status, body, _ = post(server, key, {"dataset": ds.name, "options": {"cell_px": 16}})
    assert status == 202 and body["status"]["code"] == 202
    vis_id, out = body["output"]["id"], body["output"]
    assert out["status"] == "pending" and out["dataset"] == ds.name

    out, seen = wait_ready(server, key, vis_id)
    states = [s for s, _, _ in seen]
    assert out["status"] == "ready", (out.get("error"), "".join(server.output[-30:]))
    assert "running" in states and states[-1] == "ready"
    running = [(p, stage) for s, p, stage in seen if s == "running"]
    assert all(p is None or 0 <= p <= 1 for p, _ in running)

    image_url = out["data"]["image"]["url"]
    assert image_url.startswith(server.url + "/v2/visualizations/%s/" % vis_id)
    grid = out["data"]["grid"]
    status, jpeg, headers = call(image_url, key=key)
    assert status == 200 and headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(jpeg)) as im:
        assert im.format == "JPEG" and im.size == (grid["cols"] * 16, grid["rows"] * 16)
    assert grid["samples"] == len(ds) and "tiles" not in out["data"]
    status, csv_text, _ = call(out["data"]["layout"]["url"], key=key)
    assert status == 200 and len(csv_text.decode().strip().splitlines()) == len(ds) + 1
    # the run is the dataset's, as if computed by the SDK
    ds.reload()
    assert out["key"] in __import__("gridtsne").list_grids(ds)
    assert len(ds.exists("%s_row" % out["key"])) == len(ds)

    status, listed, _ = call(server.url + "/v2/visualizations?per_page=5", key=key)
    assert status == 200 and listed["output"]["visualizations"][0]["id"] == vis_id

    status, body, _ = call(server.url + "/v2/visualizations/" + vis_id, "DELETE", key=key)
    assert status == 200 and body["output"]["status"] == "deleted"
    ds.reload()
    assert out["key"] not in __import__("gridtsne").list_grids(ds)
    assert not ds.has_field("%s_row" % out["key"])
    assert call(server.url + "/v2/visualizations/" + vis_id, key=key)[0] == 404
    assert call(image_url, key=key)[0] == 404


def test_a_tile_pyramid_run_serves_its_dzi_and_tiles(server, key, persistent):
    ds = persistent(n=9)
    # 9 columns of 1,024 px cells: wider than the 8,192 px a single image may be
    body = {"dataset": ds.name, "options": {"rows": 1, "cols": 9, "cell_px": 1024,
                                            "curation": False}}
    status, answer, _ = post(server, key, body)
    assert status == 202, answer
    out, _ = wait_ready(server, key, answer["output"]["id"])
    assert out["status"] == "ready", out
    dzi_url = out["data"]["tiles"]["url"]
    assert dzi_url.endswith("/tiles.dzi")
    status, dzi, _ = call(dzi_url, key=key)
    assert status == 200
    size = ET.fromstring(dzi)[0].attrib
    assert (int(size["Width"]), int(size["Height"])) == (9 * 1024, 1024)
    base = dzi_url[:-len(".dzi")] + "_files/"
    status, tile, headers = call(base + "0/0_0.jpg", key=key)
    assert status == 200 and headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(tile)) as im:
        assert im.size == (1, 1)  # level 0 is the whole mosaic in one pixel
    assert call(base + "14/0_0.jpg", key=key)[0] == 200  # the full-size level
    assert call(base + "0/0_0.jpg")[0] == 401  # tiles need the key too
    for bad in ("0/9_9.jpg", "0/..%2F..%2Fmosaic.jpg", "x/0_0.jpg", "0/0_0.png"):
        assert call(base + bad, key=key)[0] == 404, bad


def test_bad_requests_get_one_clear_4xx(server, key, persistent):
    ds, other = persistent(n=9), persistent(n=9)
    url = server.url + "/v2/visualizations"
    # keys
    assert call(url)[0] == 401
    assert call(url, key="gt_" + "x" * 43)[0] == 401
    assert call(server.url + "/openapi.json")[0] == 401
    status, body, _ = call(url, "POST", {"dataset": ds.name}, headers={"Authorization": "Bearer x"})
    assert status == 401 and "Authorization: Key" in body["status"]["description"]
    limited = new_key(datasets=other.name)
    status, body, _ = post(server, limited, {"dataset": ds.name})
    assert status == 403 and ds.name in body["status"]["description"]
    # a run of the dataset the key may not use is not reported to it
    status, body, _ = post(server, key, {"dataset": ds.name, "options": {"cell_px": 8}})
    vis_id = body["output"]["id"]
    assert call("%s/%s" % (url, vis_id), key=limited)[0] == 404
    assert call("%s/%s" % (url, vis_id), key=new_key())[0] == 404  # nor to another key
    assert wait_ready(server, key, vis_id)[0]["status"] == "ready"
    # what does not exist
    status, body, _ = post(server, key, {"dataset": "no-such-dataset-" + uuid.uuid4().hex})
    assert status == 404 and "no dataset named" in body["status"]["description"]
    status, body, _ = post(server, key, {"dataset": ds.name, "view": "nope"})
    assert status == 404 and "saved view 'nope'" in body["status"]["description"]
    assert call(url + "/" + "0" * 24, key=key)[0] == 404
    assert call(url + "/../../etc/passwd", key=key)[0] == 404
    from gridtsne.fo.delegated import queue_grid

    foreign = queue_grid(other, key="not_api", cell_px=8)  # an operation, but not the API's
    assert call(url + "/" + foreign, key=key)[0] == 404
    # bad bodies and options
    status, body, _ = call(url, "POST", raw=b"{not json", key=key)
    assert status == 400 and "not JSON" in body["status"]["description"]
    status, body, _ = post(server, key, {"dataset": ds.name, "options": {"cell_px": 2}})
    assert status == 400 and "cell_px" in body["status"]["description"]
    status, body, _ = post(server, key, {"dataset": ds.name, "options": {"cel_px": 16}})
    assert status == 400 and "'cel_px'" in body["status"]["description"]
    status, body, _ = call(url, "POST", raw=b"[" + b" " * (2 << 20) + b"]", key=key)
    assert status == 413 and body["status"]["code"] == 413
    assert call(url + "?per_page=1000", key=key)[0] == 400
    status, spec, _ = call(server.url + "/openapi.json", key=key)
    assert status == 200 and "/v2/visualizations/{id}" in spec["paths"]
    options = spec["components"]["schemas"]["Request"]["properties"]["options"]["properties"]
    assert options["cell_px"]["minimum"] == 4 and options["cell_px"]["maximum"] == 1024
    # nothing of the rejected requests reached the queue or the dataset
    ds.reload()
    assert len(__import__("gridtsne").list_grids(ds)) == 1


def test_twenty_posts_at_once_all_complete_with_distinct_ids(server, key, persistent):
    ds = persistent(n=12)
    answers = [None] * 20

    def ask(i):
        answers[i] = post(server, key, {"dataset": ds.name,
                                        "options": {"cell_px": 8, "curation": False}})

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(a[0] == 202 for a in answers), [a[1] for a in answers if a[0] != 202]
    ids = [a[1]["output"]["id"] for a in answers]
    assert len(set(ids)) == 20 and len({a[1]["output"]["key"] for a in answers}) == 20
    for vis_id in ids:
        assert wait_ready(server, key, vis_id, timeout=600)[0]["status"] == "ready"
    ds.reload()
    assert len(__import__("gridtsne").list_grids(ds)) == 20
