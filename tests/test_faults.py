"""Faults from outside: real signals, full disks, a database that goes away.

Issue 12, items 17-27: each attack is made for real (SIGKILL, SIGINT and
SIGTERM to the command line, a small tmpfs, a mongod that is stopped) and the
test checks what the user is left with.
"""

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

import fiftyone as fo

import gridtsne

from conftest import Held, draw_shape
from test_trust import consistent, with_vectors

SCRIPT = os.path.join(os.path.dirname(sys.executable), "gridtsne")
COMMIT_STEPS = ["journal_written", "fields_set_aside", "fields_moved", "files_installed",
                "brain_written", "record_written"]


def state(ds, key="grid"):
    """What a user sees of a run: its shape, fields, brain points and files."""
    res = consistent(ds, key)
    f = res.fields
    with open(res.mosaic_path, "rb") as mf, open(res.layout_path, "rb") as lf:
        files = hashlib.sha1(mf.read() + lf.read()).hexdigest()
    points = np.asarray(ds.load_brain_results(key).points)
    return {
        "shape": (res.rows, res.cols), "cell_px": res.options.cell_px,
        "values": ds.values([f["x"], f["y"], f["row"], f["col"]]),
        "version": res.version, "files": files, "brain": points.round(6).tolist(),
    }


def leftovers(ds, out):
    names = [f for f in ds.get_field_schema() if f.startswith("gridtsne_")]
    names += [k for k in ds.list_runs() + ds.list_brain_runs() if k.startswith("gridtsne_")]
    for root, dirs, files in os.walk(out):
        names += [d for d in dirs if d.startswith(".staging-")]
        names += [f for f in files if f.endswith(".tmp")]
    return names


@pytest.fixture
def replaced(make_dataset, tmp_path):
    """A dataset with a grid run that the tests then try to replace."""
    ds = with_vectors(make_dataset())
    ds.persistent = True
    out = tmp_path / "out"
    gridtsne.compute_grid(ds, key="grid", embeddings="vec", cell_px=16, output_dir=str(out))
    return ds, out, state(ds)


def replace_args(ds, out):
    return ["--dataset", ds.name, "--out", str(out), "--embeddings-field", "vec",
            "--overwrite", "--grid", "4x10", "--cell", "24"]


def delivered(pid, sig, timeout=60):
    """Waits until the kernel has handed ``sig`` to the process (no longer
    pending in /proc). Its Python handler then runs before the held step's
    loop next looks at the release file (at the loop's next jump)."""
    bit = 1 << (sig - 1)
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with open("/proc/%d/status" % pid) as f:
                pending = [int(line.split()[1], 16) for line in f
                           if line.startswith(("SigPnd:", "ShdPnd:"))]
        except FileNotFoundError:
            return  # it has ended
        if not any(p & bit for p in pending):
            return
        time.sleep(0.01)
    raise AssertionError("signal %d still pending for process %d" % (sig, pid))


# 17 -------------------------------------------------------------------------------

@pytest.mark.parametrize("step", COMMIT_STEPS + ["committed"])
def test_sigkill_while_replacing_a_run_leaves_the_old_run_or_the_new_whole(
        replaced, tmp_path, step):
    ds, out, old = replaced
    held = Held(step, "cli", *replace_args(ds, out), tmp_path=tmp_path).wait_held()
    held.proc.kill()
    held.proc.wait()
    ds.reload()
    now = state(ds)  # the first gridtsne call undoes or finishes the write
    if step == "committed":
        assert now["shape"] == (4, 10) and now["cell_px"] == 24
    else:
        assert now == old
    assert leftovers(ds, out) == []


@pytest.mark.parametrize("step, saved", [("temp_fields_written", False),
                                         ("fields_moved", True)])
def test_ctrl_c_while_saving_says_truly_whether_the_run_was_saved(
        replaced, tmp_path, step, saved):
    ds, out, old = replaced
    held = Held(step, "cli", *replace_args(ds, out), tmp_path=tmp_path).wait_held()
    held.proc.send_signal(signal.SIGINT)
    delivered(held.proc.pid, signal.SIGINT)  # before the held step goes on
    held.release()
    code, _, err = held.finish(timeout=120)
    assert code == 130 and "Traceback" not in err, err  # stderr says where a lost ^C went
    ds.reload()
    now = state(ds)
    if saved:
        assert "the run was saved before stopping" in err
        assert now["shape"] == (4, 10)
    else:
        assert "the run was not saved" in err
        assert now == old
    assert leftovers(ds, out) == []


@pytest.mark.parametrize("step", ["fields_set_aside", "files_installed", "record_written"])
def test_a_database_error_while_replacing_a_run_is_undone_at_once(replaced, step):
    import pymongo.errors

    from gridtsne.fo import writer

    ds, out, old = replaced

    def fail(name):
        if name == step:
            raise pymongo.errors.AutoReconnect("connection reset by peer (injected)")

    real_step = writer._step
    writer._step = fail
    try:
        with pytest.raises(pymongo.errors.AutoReconnect):
            gridtsne.compute_grid(ds, key="grid", embeddings="vec", rows=4, cols=10,
                                  cell_px=24, overwrite=True, output_dir=str(out))
    finally:
        writer._step = real_step
    assert writer._journal().count_documents({"dataset_id": str(ds._doc.id)}) == 0
    assert state(ds) == old and leftovers(ds, out) == []


# 20 -------------------------------------------------------------------------------

@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_killing_the_cli_while_embedding_leaves_no_process_and_frees_its_pipe(
        make_dataset, tmp_path, sig):
    import psutil

    ds = make_dataset()
    ds.persistent = True
    key = "k" + os.urandom(4).hex()
    proc = subprocess.Popen(
        [SCRIPT, "--dataset", ds.name, "--out", str(tmp_path), "--key", key],
        env=dict(os.environ, FIFTYONE_SHOW_PROGRESS_BARS="true"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:
        if line.startswith("Checking images"):  # embedding starts now
            break
    time.sleep(0.5)
    proc.send_signal(sig)
    t = time.time()
    proc.stdout.read()  # returns once no process holds the pipe's other end
    err = proc.stderr.read()
    assert time.time() - t < 10
    proc.wait(timeout=10)
    assert not [p for p in psutil.process_iter(["cmdline"])
                if key in " ".join(p.info["cmdline"] or [])]
    if sig == signal.SIGTERM:
        assert proc.returncode == 143 and "the run was not saved" in err
    ds.reload()
    assert ds.list_runs() == []


# 21 -------------------------------------------------------------------------------

@pytest.fixture
def small_disk(tmp_path):
    """A tmpfs of a given size (needs root, as on CI and the dev machine)."""
    mounts = []

    def make(size):
        path = tmp_path / ("disk%d" % len(mounts))
        path.mkdir()
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s" % size, "tmpfs",
                               str(path)], capture_output=True, text=True)
        if proc.returncode != 0:
            pytest.skip("cannot mount a tmpfs here: %s" % proc.stderr.strip())
        mounts.append(path)
        return path

    yield make
    for path in mounts:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def test_a_disk_too_full_for_the_embedding_cache_is_a_warning(make_dataset, small_disk):
    ds = make_dataset()
    ds.persistent = True
    disk = small_disk("160k")  # the 40 x 1280 float32 cache needs 205 kB
    proc = subprocess.run([SCRIPT, "--dataset", ds.name, "--out", str(disk), "--cell", "16"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "Embedding without a resumable cache: No space for the embedding cache" in proc.stderr
    assert "Bus error" not in proc.stderr
    ds.reload()
    consistent(ds, "grid")


def test_a_full_disk_while_saving_keeps_the_old_run_and_says_so(make_dataset, small_disk):
    ds = with_vectors(make_dataset())
    ds.persistent = True
    disk = small_disk("400k")
    gridtsne.compute_grid(ds, key="grid", embeddings="vec", cell_px=16, output_dir=str(disk))
    old = state(ds)
    with open(disk / "filler", "wb", buffering=0) as f:  # fill it, then free a few kB
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError:
            pass
    os.truncate(disk / "filler", os.path.getsize(disk / "filler") - 12 * 1024)
    proc = subprocess.run([SCRIPT, "--dataset", ds.name, "--out", str(disk), "--cell", "64",
                           "--embeddings-field", "vec", "--overwrite"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith("gridtsne: error: No space left on device")
    assert "the run was not saved" in lines[-1] and "Traceback" not in proc.stderr
    ds.reload()
    assert state(ds) == old and leftovers(ds, disk) == []


# 22 -------------------------------------------------------------------------------

def _mongod(dbpath, port):
    import importlib.util

    mongod = os.path.join(os.path.dirname(importlib.util.find_spec("fiftyone").origin),
                          "db", "bin", "mongod")
    proc = subprocess.Popen([mongod, "--dbpath", str(dbpath), "--port", str(port),
                             "--bind_ip", "127.0.0.1", "--nounixsocket", "--logpath",
                             str(dbpath / "log")], stdout=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("mongod did not start")


def test_a_database_that_stops_mid_run_is_one_line_and_changes_nothing(shapes_dir, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dbpath = tmp_path / "db"
    dbpath.mkdir()
    env = {"FIFTYONE_DATABASE_URI": "mongodb://127.0.0.1:%d" % port}
    mongod = _mongod(dbpath, port)
    try:
        held = Held("computed", "cli", shapes_dir, "--out", str(tmp_path / "out"),
                    "--dataset", "stopped", "--cell", "16", tmp_path=tmp_path,
                    env=env).wait_held()
        mongod.terminate()
        mongod.wait(timeout=60)
        held.release()
        code, _, err = held.finish(timeout=180)
        assert code == 1 and "Traceback" not in err, err
        assert err.strip().splitlines()[-1].startswith(
            "gridtsne: error: lost the connection to the database")
        mongod = _mongod(dbpath, port)
        check = subprocess.run(
            [sys.executable, "-c", "import fiftyone as fo; d = fo.load_dataset('stopped'); "
             "print(d.list_runs(), sorted(f for f in d.get_field_schema() "
             "if f.startswith(('grid', 'gridtsne'))))"],
            env=dict(os.environ, **env), capture_output=True, text=True, timeout=120)
        assert check.stdout.strip() == "[] []", check.stderr
    finally:
        mongod.kill()
        mongod.wait()


# 23 -------------------------------------------------------------------------------

def test_resuming_embeds_images_replaced_in_between_afresh(make_dataset, shapes_dir,
                                                           tmp_path):
    from gridtsne.core import embed

    folder = tmp_path / "imgs"
    shutil.copytree(shapes_dir, folder)
    ds = make_dataset(folder=str(folder))
    first = ds.first()

    def stop_half_way(stage, fraction):
        if stage == "embed" and fraction >= 0.5:
            raise KeyboardInterrupt("stopped")

    with pytest.raises(KeyboardInterrupt):
        gridtsne.compute_grid(ds, key="grid", batch_size=4, output_dir=str(tmp_path / "o"),
                              progress=stop_half_way)
    # the first image (in a finished batch) is replaced by a different picture
    draw_shape("bar", (230, 210, 20), np.random.default_rng(7)).save(first.filepath)
    gridtsne.compute_grid(ds, key="grid", batch_size=4, output_dir=str(tmp_path / "o"))
    stored = np.asarray(ds[first.id]["grid_embedding"])
    fresh = embed.embed_images([Image.open(first.filepath).convert("RGB")])[0]
    assert float(stored @ fresh) > 0.999


# 26 -------------------------------------------------------------------------------

_MEASURE = r"""
import resource, sys
from concurrent.futures import ThreadPoolExecutor
from gridtsne.core import images
path = sys.argv[1]
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
with ThreadPoolExecutor(4) as pool:
    reasons = list(pool.map(images.check_image, [path] * 4))
checked = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
img = images.load_rgb(path, min_side=224)
decoded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(reasons, img.size, (checked - base) // 1024, (decoded - base) // 1024)
"""


@pytest.mark.slow
def test_a_huge_16_bit_png_costs_its_pixels_not_gigabytes(tmp_path):
    path = tmp_path / "huge16.png"
    subprocess.run([sys.executable, "-c",
                    "import numpy as np; from PIL import Image; Image.fromarray("
                    "(np.arange(10000 * 9999, dtype=np.uint32) % 65536).astype(np.uint16)"
                    ".reshape(9999, 10000)).save(" + repr(str(path)) + ")"],
                   check=True, timeout=300)
    proc = subprocess.run([sys.executable, "-c", _MEASURE, str(path)], capture_output=True,
                          text=True, timeout=300)
    reasons, size, checked_mb, decoded_mb = proc.stdout.rsplit(None, 3)
    assert reasons.startswith("[None, None, None, None]"), proc.stdout + proc.stderr
    assert int(checked_mb) < 60, "checking four of them took %s MB" % checked_mb
    assert int(decoded_mb) < 450, "decoding one took %s MB (its pixels are 200 MB)" % (
        decoded_mb)


# 27 -------------------------------------------------------------------------------

def test_a_class_with_a_single_image_does_not_cost_the_grid(make_dataset, shapes_dir,
                                                           tmp_path):
    files = sorted(os.path.join(r, f) for r, _, fs in os.walk(shapes_dir) for f in fs)
    items = [(p, "common") for p in files[:20]] + [(files[30], "lonely")]
    ds = make_dataset(items=items)
    res = gridtsne.compute_grid(ds, key="grid", label_field="ground_truth",
                                output_dir=str(tmp_path))
    assert res.n_samples == 21 and res.curation_skipped is None
    lonely = ds.match(fo.ViewField("ground_truth.label") == "lonely").first()
    assert lonely["grid_label_disagreement"] is None
    assert len(ds.exists("grid_label_disagreement")) == 20
