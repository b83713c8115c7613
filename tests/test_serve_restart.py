"""``gridtsne serve`` stopped mid-run and started again. A module of its own:
test_serve's shared server has workers that would take the run from this
test's server (they share one queue), so it must be gone first."""

import signal
import time

import psutil

from test_serve import Server, call, new_key, post


def _wait_running(server, key, vis_id, timeout=300):
    deadline = time.time() + timeout
    while time.time() < deadline:
        out = call("%s/v2/visualizations/%s" % (server.url, vis_id), key=key)[1]["output"]
        assert out["status"] in ("pending", "running"), out
        if out["status"] == "running":
            return out
        time.sleep(0.05)
    raise AssertionError("never running")


def test_a_server_stopped_mid_run_reports_it_truthfully_when_started_again(make_dataset):
    key = new_key()
    ds = make_dataset()
    ds.persistent = True
    first = Server(workers=1)
    status, body, _ = post(first, key, {"dataset": ds.name, "options": {"cell_px": 16}})
    vis_id = body["output"]["id"]
    _wait_running(first, key, vis_id)
    assert first.stop(signal.SIGTERM) == 0  # the server and its worker are gone

    again = Server(workers=1, port=first.port)
    try:
        out = call("%s/v2/visualizations/%s" % (again.url, vis_id), key=key)[1]["output"]
        assert out["status"] == "failed" and "server stopped" in out["error"], out
        # the dataset holds nothing of the interrupted run
        ds.reload()
        assert out["key"] not in __import__("gridtsne").list_grids(ds)
        assert not ds.has_field("%s_row" % out["key"])

        # a worker killed outright: the next look finds it gone
        status, body, _ = post(again, key, {"dataset": ds.name, "options": {"cell_px": 16}})
        vis_id = body["output"]["id"]
        _wait_running(again, key, vis_id)
        (worker,) = psutil.Process(again.proc.pid).children()
        worker.kill()
        worker.wait(30)
        out = call("%s/v2/visualizations/%s" % (again.url, vis_id), key=key)[1]["output"]
        assert out["status"] == "failed" and "is gone" in out["error"], out
    finally:
        again.stop()
