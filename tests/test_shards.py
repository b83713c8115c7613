"""Sharded runs: the embedding split over delegated operations taken by
several `fiftyone delegated launch` workers (on the suite's one mongod), one
layout at the end, failures retried shard by shard."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import fiftyone as fo

import gridtsne
from gridtsne.config import GridError
from gridtsne.fo import delegated, shards

from conftest import make_shapes


def run_queued_here():
    """Executes what is queued until nothing is (shards queue the layout)."""
    from fiftyone.operators.delegated import DelegatedOperationService

    service = DelegatedOperationService()
    while service.get_queued_operations():
        service.execute_queued_operations(limit=1)


def cells(dataset, key):
    dataset.reload()
    return dict(zip(dataset.values("id"),
                    zip(dataset.values(key + "_row"), dataset.values(key + "_col"))))


@pytest.fixture
def clean_queue():
    yield
    from fiftyone.operators.delegated import DelegatedOperationService

    service = DelegatedOperationService()
    for op in service.list_operations():
        service.delete_operation(op.id)


def test_a_sharded_run_lays_out_what_a_single_run_would(dataset, tmp_path, clean_queue):
    run_id = delegated.queue_grid(dataset, key="sh", shards=3, output_dir=str(tmp_path),
                                  label_field="ground_truth")
    status = delegated.grid_status(run_id)
    assert status["state"] == "queued" and [s["state"] for s in status["shards"]] == [
        "queued"] * 3
    assert not dataset.has_field("sh_row")
    # the panel's run list shows it while it is embedding
    pending = delegated.pending_grids(dataset)
    assert [(p["id"], p["key"], p["state"]) for p in pending] == [(run_id, "sh", "queued")]
    assert pending[0]["label"] == "embedding: 0 of 3 shards done"
    run_queued_here()
    status = delegated.grid_status(run_id)
    assert status["state"] == "completed", status
    assert status["progress"] == 1.0 and os.path.isfile(status["mosaic_path"])
    for s in status["shards"]:  # each shard: done once, by this process
        assert s["state"] == "done" and s["attempts"] == 1
        assert s["worker"]["pid"] == os.getpid() and s["worker"]["host"]
    res = gridtsne.load_grid(dataset, "sh")
    assert res.record.embeddings_source == "computed" and res.n_samples == 40
    assert not os.path.exists(os.path.join(str(tmp_path), ".shards", run_id))
    # the same layout as one process with the same embeddings and seed
    single = gridtsne.compute_grid(dataset, key="one", embeddings="sh_embedding",
                                   output_dir=str(tmp_path), label_field="ground_truth")
    assert single.rows == res.rows and cells(dataset, "sh") == cells(dataset, "one")
    # and the shards' vectors are the default model's
    from gridtsne.core import embed

    exact, _ = embed.embed_files(dataset.values("filepath"), device="cpu")
    assert np.allclose(np.array(dataset.values("sh_embedding")), exact, atol=1e-4)


def test_an_int8_sharded_runs_workers_all_use_the_first_ones_model(dataset, tmp_path,
                                                                   clean_queue, monkeypatch):
    from gridtsne.core import embed, quantize

    mine = quantize.int8_model_path()
    builds = iter([mine])
    # every later worker's own build differs (here: it is the float model)
    monkeypatch.setattr(quantize, "int8_model_path",
                        lambda cache_dir=None: next(builds, embed.onnx_model_path()))
    run_id = delegated.queue_grid(dataset, key="q8", shards=2, output_dir=str(tmp_path),
                                  precision="int8")
    run_queued_here()
    assert delegated.grid_status(run_id)["state"] == "completed"
    assert next(builds, None) is None  # the first shard took this machine's build
    ours, _ = embed.embed_files(dataset.values("filepath"), precision="int8",
                                int8_model=mine)
    # both shards ran the run's copy of it (without that the second gets its own)
    assert np.array_equal(np.array(dataset.values("q8_embedding"), dtype=np.float32), ours)


def test_a_failing_shard_is_retried_alone_then_fails_the_run(dataset, tmp_path, clean_queue,
                                                             monkeypatch):
    from gridtsne.core import embed

    real = embed.embed_files

    def failing(shard, error, times):
        """embed_files, failing with ``error`` the first ``times`` calls for ``shard``."""
        left = {"n": times}

        def embed_files(paths, **kw):
            if left["n"] and kw["cache_dir"].endswith("batches-%d" % shard):
                left["n"] -= 1
                raise OSError(error)
            return real(paths, **kw)

        return embed_files

    monkeypatch.setattr(embed, "embed_files", failing(1, "disk went away", times=1))
    run_id = delegated.queue_grid(dataset, key="retry", shards=3, output_dir=str(tmp_path))
    run_queued_here()
    status = delegated.grid_status(run_id)
    assert status["state"] == "completed", status
    assert [s["attempts"] for s in status["shards"]] == [1, 2, 1]
    assert "disk went away" in status["shards"][1]["error"]

    # a shard that always fails: retried MAX_ATTEMPTS times, then the run fails
    # naming it, and nothing is written
    monkeypatch.setattr(embed, "embed_files", failing(
        2, "no such file: the shared folder is not mounted", times=shards.MAX_ATTEMPTS + 1))
    run_id = delegated.queue_grid(dataset, key="never", shards=3, output_dir=str(tmp_path))
    run_queued_here()
    status = delegated.grid_status(run_id)
    assert status["state"] == "failed"
    assert status["error"].startswith("shard 3 of 3 failed %d times" % shards.MAX_ATTEMPTS)
    assert "not mounted" in status["error"]
    assert status["shards"][2]["attempts"] == shards.MAX_ATTEMPTS
    assert "never" not in dataset.list_runs() and not dataset.has_field("never_row")


def test_the_form_queues_a_sharded_run(dataset, clean_queue):
    from test_operators import run_in_app

    out, _ = run_in_app("compute_grid", dataset, {"key": "form", "shards": 2})
    assert out["grid"] == "queued as 2 shards" and not dataset.has_field("form_row")
    run_queued_here()
    status = delegated.grid_status(out["sharded_run"])
    assert status["state"] == "completed" and len(status["shards"]) == 2
    assert gridtsne.list_grids(dataset) == ["form"]


def test_the_command_line_queues_a_sharded_run(dataset, tmp_path, clean_queue, capsys):
    from gridtsne import cli

    dataset.persistent = True  # as a dataset another process can load
    assert cli.main(["--dataset", dataset.name, "--out", str(tmp_path), "--key", "cli",
                     "--shards", "2"]) == 2
    assert "--shards N needs --queue" in capsys.readouterr().err
    assert cli.main(["--dataset", dataset.name, "--out", str(tmp_path), "--key", "cli",
                     "--queue", "--shards", "2"]) == 0
    printed = capsys.readouterr().out
    run_id = printed.split("Queued as 2 shards: ")[1].split()[0]
    assert "fiftyone delegated launch" in printed
    run_queued_here()
    assert delegated.grid_status(run_id)["state"] == "completed"
    assert gridtsne.load_grid(dataset, "cli").options.label_field == "ground_truth"


def test_sharded_runs_check_their_options_when_queued(dataset, tmp_path):
    dataset.set_values("vec", np.eye(40).tolist())
    with pytest.raises(GridError, match="whole number of at least 1"):
        delegated.queue_grid(dataset, key="k", shards=0)
    with pytest.raises(GridError, match="nothing to split"):
        delegated.queue_grid(dataset, key="k", shards=2, embeddings="vec")
    gridtsne.compute_grid(dataset, key="taken", embeddings="vec", output_dir=str(tmp_path))
    with pytest.raises(GridError, match="already has a grid run 'taken'"):
        delegated.queue_grid(dataset, key="taken", shards=2)
    assert not list(shards._runs().find({"dataset_id": str(dataset._doc.id)}))


def _launch_worker(log):
    """`fiftyone delegated launch`, as a user starts one on each machine."""
    exe = os.path.join(os.path.dirname(sys.executable), "fiftyone")
    return subprocess.Popen([exe, "delegated", "launch"], env=dict(os.environ),
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


@pytest.mark.slow
def test_two_workers_share_the_shards_and_one_killed_mid_shard_is_taken_over(
        tmp_path, clean_queue, monkeypatch):
    folder = str(tmp_path / "images")
    ds = fo.Dataset()
    try:
        ds.add_samples([fo.Sample(filepath=p, ground_truth=fo.Classification(label=l))
                        for p, l in make_shapes(folder, per_class=75)])
        ds.persistent = True  # the workers are other processes
        run_id = delegated.queue_grid(ds, key="big", shards=3, batch_size=4,
                                      output_dir=str(tmp_path / "out"))
        logs = [open(tmp_path / ("worker-%d.log" % i), "w") for i in range(2)]
        workers = [_launch_worker(log) for log in logs]
        # this process's looks notice a silent shard sooner (the workers keep the default)
        monkeypatch.setenv("GRIDTSNE_STALE_SECONDS", "8")
        try:
            # kill a worker in the first half of a shard (100 images, 25 batches)
            victim = None
            deadline = time.time() + 300
            while victim is None and time.time() < deadline:
                status = delegated.grid_status(run_id)
                for s in status["shards"]:
                    if s["state"] == "running" and s["progress"] < 0.5:
                        # the worker runs its operations in its own process
                        victim = next(w for w in workers if w.pid == s["worker"]["pid"])
                        break
                time.sleep(0.1)
            assert victim is not None, "no shard was seen running"
            os.killpg(victim.pid, signal.SIGKILL)
            victim.wait(timeout=30)
            survivor = next(w for w in workers if w is not victim)
            # the shard it was running when it died
            killed = [s["index"] for s in delegated.grid_status(run_id)["shards"]
                      if s["state"] == "running" and s["worker"]["pid"] == victim.pid]
            assert len(killed) == 1, delegated.grid_status(run_id)["shards"]
            victim_shard = killed[0]

            deadline = time.time() + 600
            while time.time() < deadline:
                status = delegated.grid_status(run_id)
                if status["state"] in ("completed", "failed"):
                    break
                time.sleep(0.5)
            assert status["state"] == "completed", status
        finally:
            for w in workers:
                if w.poll() is None:
                    os.killpg(w.pid, signal.SIGTERM)
                    w.wait(timeout=30)
            for log in logs:
                log.close()

        taken = status["shards"][victim_shard]
        assert taken["attempts"] == 2 and "made no progress" in taken["error"]
        assert [w["pid"] for w in taken["workers"]] == [victim.pid, survivor.pid]
        pids = {w["pid"] for s in status["shards"] for w in s["workers"]}
        assert pids == {victim.pid, survivor.pid}, status["shards"]  # both ran shards
        # the layout equals one process's with the same embeddings and seed
        ds.reload()  # written by the workers
        single = gridtsne.compute_grid(ds, key="one", embeddings="big_embedding",
                                       output_dir=str(tmp_path / "out"))
        assert cells(ds, "big") == cells(ds, "one") and single.n_samples == 300
    finally:
        ds.delete()

