"""Messy inputs, bad parameters, kills and concurrent runs lose nothing."""

import csv
import os
import signal
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import fiftyone as fo

import gridtsne
from gridtsne.fo.compute import GridError

from conftest import Held, draw_shape

SCRIPT = os.path.join(os.path.dirname(sys.executable), "gridtsne")


def png_header_only(path, width, height):
    """A valid PNG header claiming width x height, with almost no pixel data."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b""))


def make_unusual(folder):
    """One valid image of each unusual kind; returns their paths."""
    os.makedirs(folder, exist_ok=True)
    p = lambda name: os.path.join(folder, name)  # noqa: E731
    Image.new("L", (40, 40), 90).save(p("gray.png"))
    Image.new("CMYK", (40, 40), (0, 200, 200, 0)).save(p("cmyk.jpg"))
    Image.fromarray((np.arange(1600, dtype=np.uint16).reshape(40, 40) * 40)).save(p("sixteen.png"))
    pal = Image.new("P", (40, 40), 1)
    pal.putpalette([0, 0, 0, 250, 0, 200] + [0] * 762)
    pal.save(p("palette.png"))
    Image.new("RGBA", (40, 40), (0, 120, 0, 128)).save(p("alpha.png"))
    # stored with red on top; EXIF orientation 6 shows it rotated 90 degrees
    # clockwise, so upright the red half is on the right
    rot = Image.new("RGB", (64, 64), (0, 0, 255))
    rot.paste((255, 0, 0), (0, 0, 64, 32))
    exif = Image.Exif()
    exif[0x0112] = 6
    rot.save(p("exif_rotated.jpg"), exif=exif, quality=95)
    Image.new("RGB", (1, 1), (200, 10, 10)).save(p("one_pixel.png"))
    Image.new("RGB", (2000, 20), (10, 10, 200)).save(p("wide.png"))
    Image.new("RGB", (20, 2000), (10, 200, 10)).save(p("tall.png"))
    return sorted(os.path.join(folder, f) for f in os.listdir(folder))


def make_bad(folder):
    """One file of each bad kind; returns {path: expected reason fragment}."""
    os.makedirs(folder, exist_ok=True)
    p = lambda name: os.path.join(folder, name)  # noqa: E731
    good = p("tmp_good.png")
    Image.new("RGB", (64, 64), (1, 2, 3)).save(good)
    data = open(good, "rb").read()
    os.remove(good)
    os.symlink(p("does-not-exist.png"), p("missing.png"))
    open(p("zero_bytes.png"), "wb").close()
    open(p("truncated.png"), "wb").write(data[: len(data) // 2])
    idat = data.index(b"IDAT") + 4  # keep the header, scramble the pixel data
    open(p("corrupt.png"), "wb").write(data[:idat] + bytes(b ^ 0x5A for b in data[idat:]))
    open(p("not_an_image.jpg"), "w").write("hello, I am text\n")
    png_header_only(p("bomb.png"), 20000, 20000)
    return {
        p("missing.png"): "file not found",
        p("zero_bytes.png"): "empty file",
        p("truncated.png"): "corrupt or truncated",
        p("corrupt.png"): "corrupt or truncated",
        p("not_an_image.jpg"): "not an image",
        p("bomb.png"): "too large",
    }


def test_unusual_images_are_placed_upright(make_dataset, shapes_dir, tmp_path):
    unusual = make_unusual(str(tmp_path / "unusual"))
    ordinary = [(os.path.join(r, f), os.path.basename(r))
                for r, _, fs in os.walk(shapes_dir) for f in sorted(fs)][:10]
    ds = make_dataset(items=ordinary + [(u, "unusual") for u in unusual])
    res = gridtsne.compute_grid(ds, key="grid", cell_px=32, output_dir=str(tmp_path / "m"))
    assert res.skipped == [] and res.n_samples == len(ds)
    sample = ds.match(fo.ViewField("filepath").ends_with("exif_rotated.jpg")).first()
    mosaic = np.asarray(Image.open(res.mosaic_path).convert("RGB")).astype(int)
    r, c = sample["grid_row"], sample["grid_col"]
    cell = mosaic[r * 32:(r + 1) * 32, c * 32:(c + 1) * 32]
    left, right = cell[8:24, 4:12].mean((0, 1)), cell[8:24, 20:28].mean((0, 1))
    assert right[0] > 180 and right[2] < 80, right  # red on the right: upright
    assert left[2] > 180 and left[0] < 80, left


def test_bad_images_are_skipped_with_reasons(make_dataset, shapes_dir, tmp_path):
    bad = make_bad(str(tmp_path / "bad"))
    ordinary = [(os.path.join(r, f), os.path.basename(r))
                for r, _, fs in os.walk(shapes_dir) for f in sorted(fs)][:8]
    ds = make_dataset(items=ordinary + [(b, "bad") for b in bad])
    res = gridtsne.compute_grid(ds, key="grid", output_dir=str(tmp_path / "m"))
    assert res.n_samples == 8
    reasons = {s["filepath"]: s["reason"] for s in res.skipped}
    assert set(reasons) == set(bad)
    for path, fragment in bad.items():
        assert fragment in reasons[path], (path, reasons[path])
    assert len(gridtsne.load_grid(ds, "grid").skipped) == len(bad)
    assert set(ds.exists("grid_row").values("filepath")) == {p for p, _ in ordinary}

    with pytest.raises(GridError, match="Sample .*(missing|zero_bytes|truncated|corrupt|not_an_image|bomb)"):
        gridtsne.compute_grid(ds, key="strict", strict=True, output_dir=str(tmp_path / "s"))
    assert not ds.has_field("strict_row")


def test_media_gridtsne_cannot_lay_out_are_named(tmp_path):
    video = fo.Dataset()
    video.add_samples([fo.Sample(filepath=str(tmp_path / ("v%d.mp4" % i))) for i in range(3)])
    group = fo.Dataset()
    group.add_group_field("group", default="left")
    g = fo.Group()
    group.add_samples([fo.Sample(filepath=str(tmp_path / "a.png"), group=g.element("left")),
                       fo.Sample(filepath=str(tmp_path / "b.png"), group=g.element("right"))])
    pcd = fo.Dataset()
    pcd.add_samples([fo.Sample(filepath=str(tmp_path / ("p%d.pcd" % i))) for i in range(3)])
    try:
        for ds, message in ((video, "has video media; lay out its frames"),
                            (group, "is grouped; lay out one slice"),
                            (pcd, "has point-cloud media; gridtsne lays out images")):
            with pytest.raises(GridError, match=message):
                gridtsne.compute_grid(ds, output_dir=str(tmp_path))
    finally:
        for ds in (video, group, pcd):
            ds.delete()


def test_bad_embeddings_and_folders_are_named(dataset, tmp_path):
    ids = dataset.values("id")
    vecs = [np.ones(4) * i for i in range(len(ids))]
    vecs[3] = None
    dataset.set_values("v_missing", vecs)
    with pytest.raises(GridError, match="%s.*no value in embeddings field 'v_missing'" % ids[3]):
        gridtsne.compute_grid(dataset, embeddings="v_missing", output_dir=str(tmp_path))
    vecs[3] = np.array([1, np.nan, 0, 0])
    dataset.set_values("v_nan", vecs)
    with pytest.raises(GridError, match="%s.*non-finite" % ids[3]):
        gridtsne.compute_grid(dataset, embeddings="v_nan", output_dir=str(tmp_path))
    vecs[3] = np.ones(5)
    dataset.set_values("v_mixed", vecs)
    with pytest.raises(GridError, match="%s.*5-d embedding where others are 4-d" % ids[3]):
        gridtsne.compute_grid(dataset, embeddings="v_mixed", output_dir=str(tmp_path))

    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(GridError, match="Cannot write to the run's folder"):
        gridtsne.compute_grid(dataset, output_dir=str(blocker / "sub"))
    with pytest.raises(GridError, match="0 samples"):
        gridtsne.compute_grid(dataset.limit(0), output_dir=str(tmp_path))
    for key in ("a/b", "..", "has space", "x" * 60, "1abc", ""):
        with pytest.raises(ValueError, match="Invalid key"):
            gridtsne.compute_grid(dataset, key=key, output_dir=str(tmp_path))
    assert gridtsne.list_grids(dataset) == []
    assert not [f for f in dataset.get_field_schema() if f.startswith(("grid", "gridtsne"))]


@pytest.mark.parametrize("step", ["temp_fields_written", "fields_moved", "record_written"])
def test_sigkill_in_the_write_phase_leaves_no_run_and_next_run_works(
        make_dataset, tmp_path, step):
    ds = make_dataset()
    ds.set_values("vec", [np.random.default_rng(i).normal(size=8) for i in range(len(ds))])
    ds.persistent = True  # visible to the subprocess across connections
    held = Held(step, "cli", "--dataset", ds.name, "--out", str(tmp_path / "o"),
                "--embeddings-field", "vec", tmp_path=tmp_path).wait_held()
    held.proc.kill()
    held.proc.wait()
    ds.reload()
    assert gridtsne.list_grids(ds) == []
    with pytest.raises(ValueError):
        gridtsne.load_grid(ds, "grid")
    for f in ("grid_x", "grid_y", "grid_row", "grid_col"):
        assert not ds.has_field(f), "half-written final field %s" % f
    assert ds.list_brain_runs() == [] and ds.list_runs() == []

    res = gridtsne.compute_grid(ds, key="grid", embeddings="vec", output_dir=str(tmp_path / "o"))
    assert res.n_samples == 40 and gridtsne.list_grids(ds) == ["grid"]
    assert not [f for f in ds.get_field_schema() if f.startswith("gridtsne_")]
    assert len(set(zip(*ds.values(["grid_row", "grid_col"])))) == 40
    assert sorted(os.listdir(tmp_path / "o" / "grid")) == [".gridtsne-run.json", "layout.csv",
                                                         "mosaic.jpg"]


def test_sigkill_during_embedding_writes_nothing(make_dataset, tmp_path):
    ds = make_dataset()
    ds.persistent = True
    fields = set(ds.get_field_schema())
    proc = subprocess.Popen(
        [SCRIPT, "--dataset", ds.name, "--out", str(tmp_path / "o")],
        env=dict(os.environ, FIFTYONE_SHOW_PROGRESS_BARS="true"),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    for line in proc.stderr:
        if line.startswith("Checking images"):  # the next stage is embedding
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    ds.reload()
    assert set(ds.get_field_schema()) == fields
    assert ds.list_runs() == [] and ds.list_brain_runs() == []


def test_two_processes_write_different_keys_at_once(make_dataset, tmp_path):
    ds = make_dataset()
    ds.set_values("vec", [np.random.default_rng(i).normal(size=16) for i in range(len(ds))])
    ds.persistent = True
    procs = [
        subprocess.Popen(
            [SCRIPT, "--dataset", ds.name, "--out", str(tmp_path / key), "--key", key,
             "--embeddings-field", "vec", "--grid", grid],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        for key, grid in (("left", "5x8"), ("right", "8x5"))
    ]
    outputs = [p.communicate(timeout=600)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    ds.reload()
    assert gridtsne.list_grids(ds) == ["left", "right"]
    for key, shape in (("left", (5, 8)), ("right", (8, 5))):
        res = gridtsne.load_grid(ds, key)
        assert (res.rows, res.cols) == shape
        cells = list(zip(*ds.values([key + "_row", key + "_col"])))
        assert len(set(cells)) == 40
        assert all(0 <= r < shape[0] and 0 <= c < shape[1] for r, c in cells)
    assert set(ds.list_brain_runs()) == {"left", "right", "left_sim", "right_sim"}


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    n=st.integers(min_value=2, max_value=40),
    dim=st.integers(min_value=1, max_value=12),
    extra_cols=st.integers(min_value=0, max_value=3),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_pipeline_invariants_on_random_inputs(dataset, tmp_path, n, dim, extra_cols, seed):
    view = dataset.take(n, seed=seed)
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(n, dim)) * rng.uniform(0.01, 100)
    rows, cols = gridtsne.grid_shape(n)
    cols += extra_cols
    key = "p%d" % seed
    res = gridtsne.compute_grid(view, key=key, embeddings=vectors, rows=rows, cols=cols,
                                cell_px=8, output_dir=str(tmp_path / key))
    cells = list(zip(*view.values([key + "_row", key + "_col"])))
    assert res.n_samples == n and (res.rows, res.cols) == (rows, cols)
    assert len(set(cells)) == n
    assert all(0 <= r < rows and 0 <= c < cols for r, c in cells)
    assert len(dataset.exists(key + "_row")) == n
    assert Image.open(res.mosaic_path).size == (cols * 8, rows * 8)
    gridtsne.delete_grid(dataset, key)
    assert not dataset.has_field(key + "_row")


def test_cli_on_a_messy_folder(tmp_path):
    root = tmp_path / "messy"
    rng = np.random.default_rng(0)
    ordinary = []
    shapes = [("circle", (220, 30, 30)), ("square", (30, 180, 40)),
              ("triangle", (30, 60, 220)), ("bar", (230, 210, 20))]
    for i in range(100):
        shape, color = shapes[i % 4]
        os.makedirs(root / shape, exist_ok=True)
        path = str(root / shape / ("%s_%03d.png" % (shape, i)))
        draw_shape(shape, color, rng, size=32).save(path)
        ordinary.append(path)
    unusual = make_unusual(str(root / "unusual"))
    bad = make_bad(str(root / "bad"))
    out = tmp_path / "out"
    name = "gridtsne-messy-" + os.urandom(4).hex()
    proc = subprocess.run([SCRIPT, str(root), "--out", str(out), "--dataset", name],
                          capture_output=True, text=True, timeout=900)
    try:
        assert proc.returncode == 0, proc.stderr
        assert "Traceback" not in proc.stdout + proc.stderr
        with open(out / "grid" / "layout.csv", newline="") as f:
            placed = {r["filepath"] for r in csv.DictReader(f)}
        assert placed == set(ordinary) | set(unusual)
        with open(out / "grid" / "skipped.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        assert list(rows[0]) == ["filepath", "reason"]
        skipped = {r["filepath"]: r["reason"] for r in rows}
        assert set(skipped) == set(bad)
        for path, fragment in bad.items():
            assert fragment in skipped[path]
        assert "Skipped %d unusable images" % len(bad) in proc.stdout
    finally:
        if fo.dataset_exists(name):
            fo.delete_dataset(name)


def test_a_run_stopped_while_embedding_resumes_there(dataset, tmp_path):
    """Re-running a stopped run only embeds the batches it had not finished."""
    seen = []

    def stop_half_way(stage, fraction):
        seen.append((stage, fraction))
        if stage == "embed" and fraction >= 0.5:
            raise KeyboardInterrupt("stopped by the user")

    with pytest.raises(KeyboardInterrupt):
        gridtsne.compute_grid(dataset, key="grid", batch_size=4,
                              output_dir=str(tmp_path), progress=stop_half_way)
    assert not dataset.has_field("grid_row") and "grid" not in dataset.list_runs()
    cache = tmp_path / "grid" / ".embedding-cache"
    assert cache.is_dir()

    seen.clear()
    gridtsne.compute_grid(dataset, key="grid", batch_size=4,
                          output_dir=str(tmp_path), progress=lambda s, f: seen.append((s, f)))
    embed_steps = [f for s, f in seen if s == "embed" and 0 < f < 1]
    assert embed_steps and min(embed_steps) > 0.5  # the first half was not redone
    assert len(set(zip(*dataset.values(["grid_row", "grid_col"])))) == len(dataset)
    assert not cache.exists()  # removed once the run is written
