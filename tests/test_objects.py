"""Grids of objects, frames and group slices (issue 14)."""

import csv
import os

import numpy as np
import pytest
from PIL import Image, ImageDraw

import fiftyone as fo

import gridtsne
from gridtsne import GridError
from gridtsne.fo import panel as gpanel

from conftest import legend_of

COLOURS = {"red": (220, 30, 30), "green": (30, 180, 40), "blue": (30, 60, 220),
           "yellow": (230, 210, 20)}


def scenes(folder, n=12, seed=0):
    """n images, each with 2-4 filled rectangles as Detections (label: colour)."""
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    samples = []
    for i in range(n):
        w, h = 160, 120
        img = Image.new("RGB", (w, h), (128, 128, 128))
        d = ImageDraw.Draw(img)
        dets = []
        boxes = []
        for k in range(int(rng.integers(2, 5))):
            for _ in range(100):  # rectangles that do not overlap
                bw, bh = int(rng.integers(20, 45)), int(rng.integers(20, 45))
                x, y = int(rng.integers(0, w - bw)), int(rng.integers(0, h - bh))
                if all(x + bw <= a or a + c <= x or y + bh <= b or b + e <= y
                       for a, b, c, e in boxes):
                    break
            boxes.append((x, y, bw, bh))
            name = list(COLOURS)[int(rng.integers(0, 4))]
            d.rectangle((x, y, x + bw - 1, y + bh - 1), fill=COLOURS[name])
            dets.append(fo.Detection(label=name, bounding_box=[x / w, y / h, bw / w, bh / h]))
        path = os.path.join(folder, "scene_%02d.png" % i)
        img.save(path)
        samples.append(fo.Sample(filepath=path, ground_truth=fo.Detections(detections=dets)))
    return samples


@pytest.fixture
def objects_dataset(tmp_path):
    ds = fo.Dataset()
    ds.add_samples(scenes(str(tmp_path / "scenes")))
    yield ds
    ds.delete()


def test_every_object_gets_a_cell_with_its_crop(objects_dataset, tmp_path):
    ds = objects_dataset
    n = ds.count("ground_truth.detections")
    res = gridtsne.compute_grid(ds, key="obj", patches_field="ground_truth", cell_px=32,
                                patch_context=0.0, mosaic_format="png",
                                output_dir=str(tmp_path / "out"))
    assert res.n_samples == n and res.kind == "labels"
    assert res.record.patches_field == "ground_truth"
    rows = ds.values("ground_truth.detections.obj_row")
    cols = ds.values("ground_truth.detections.obj_col")
    cells = [(r, c) for rs, cs in zip(rows, cols) for r, c in zip(rs, cs)]
    assert len(cells) == n and len(set(cells)) == n
    mosaic = np.asarray(Image.open(res.mosaic_path).convert("RGB")).astype(float)
    for sample in ds:
        for det in sample.ground_truth.detections:
            r, c = det["obj_row"], det["obj_col"]
            inner = mosaic[r * 32 + 6:(r + 1) * 32 - 6, c * 32 + 6:(c + 1) * 32 - 6]
            assert np.abs(inner.mean((0, 1)) - COLOURS[det.label]).max() < 20, det.label
            assert det["obj_x"] is not None and det["obj_embedding"] is not None
    # the labels' own classes are curated, per object
    assert res.metrics["neighbor_label_agreement"] > 0.5
    with open(res.layout_path, newline="") as f:
        table = list(csv.DictReader(f))
    assert list(table[0])[:7] == ["filepath", "label_id", "label", "row", "col", "x", "y"]
    assert {t["label_id"] for t in table} == {d.id for s in ds for d in s.ground_truth.detections}
    grid = gpanel.run_payload(res)
    assert grid["items"] == "labels" and grid["field"] == "ground_truth" and grid["n"] == n
    # the panel's cell file: the objects' ids, then their samples' ids
    assert os.path.getsize(grid["cells_path"]) == res.rows * res.cols * 24
    assert ds.get_brain_info("obj").config.patches_field == "ground_truth"


def test_unusable_objects_are_listed_and_runs_replace_and_delete_cleanly(objects_dataset,
                                                                         tmp_path):
    ds = objects_dataset
    sample = ds.first()
    sample.ground_truth.detections.append(fo.Detection(label="red", bounding_box=[0.2, 0.2, 0, 0.1]))
    sample.ground_truth.detections.append(fo.Detection(label="red", bounding_box=[1.2, 0.2, 0.1, 0.1]))
    sample.save()
    bad = [d.id for d in sample.ground_truth.detections[-2:]]
    res = gridtsne.compute_grid(ds, key="obj", patches_field="ground_truth", cell_px=16,
                                output_dir=str(tmp_path / "out"))
    reasons = {s["id"]: s["reason"] for s in res.skipped}
    assert reasons == {bad[0]: "zero-area box", bad[1]: "box outside the image"}
    with open(res.skipped_path, newline="") as f:
        assert list(csv.DictReader(f))[0].keys() == {"filepath", "label_id", "reason"}
    placed = res.n_samples

    res = gridtsne.compute_grid(ds, key="obj", patches_field="ground_truth", cell_px=16,
                                rows=2, overwrite=True, output_dir=str(tmp_path / "out"))
    assert (res.rows, res.n_samples) == (2, placed)
    assert max(r for rs in ds.values("ground_truth.detections.obj_row") for r in rs
               if r is not None) == 1
    regridded = gridtsne.regrid(ds, "obj", rows=4)
    assert regridded.rows == 4
    gridtsne.delete_grid(ds, "obj")
    assert not [p for p in ds.get_field_schema(flat=True) if ".obj_" in p]
    assert "obj" not in ds.list_brain_runs() and not os.path.exists(tmp_path / "out" / "obj")


def test_group_slices_are_laid_out_and_grouped_datasets_explained(shapes_dir, tmp_path):
    ds = fo.Dataset()
    ds.add_group_field("group", default="left")
    files = sorted(os.path.join(r, f) for r, _, fs in os.walk(shapes_dir) for f in fs)
    groups = [fo.Group() for _ in range(20)]
    ds.add_samples([fo.Sample(filepath=files[i], group=groups[i].element("left"))
                    for i in range(20)] +
                   [fo.Sample(filepath=files[20 + i], group=groups[i].element("right"))
                    for i in range(20)])
    try:
        with pytest.raises(GridError, match="select_group_slices"):
            gridtsne.compute_grid(ds, output_dir=str(tmp_path))
        left = ds.select_group_slices("left")
        res = gridtsne.compute_grid(left, key="left", output_dir=str(tmp_path))
        assert res.n_samples == 20 and len(left.exists("left_row")) == 20
        assert len(ds.select_group_slices("right").exists("left_row")) == 0
        both = ds.select_group_slices(media_type="image")
        res = gridtsne.compute_grid(both, key="both", output_dir=str(tmp_path),
                                    embeddings=None)
        assert res.n_samples == 40
        assert len(ds.select_group_slices(media_type="image").exists("both_row")) == 40
    finally:
        ds.delete()


def make_video(path, seconds=3, fps=10):
    """A short test video (ffmpeg's test pattern, moving)."""
    import shutil
    import subprocess

    if shutil.which("ffmpeg") is None:
        pytest.fail("ffmpeg is needed for video tests (scripts/setup.sh installs Debian's)")
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc=duration=%d:size=160x120:rate=%d" % (seconds, fps),
                    "-pix_fmt", "yuv420p", str(path)], check=True, timeout=120)
    return str(path)


def test_frames_of_a_video_are_laid_out_and_stored_on_its_frames(tmp_path):
    ds = fo.Dataset()
    ds.add_sample(fo.Sample(filepath=make_video(tmp_path / "clip.mp4")))
    try:
        with pytest.raises(GridError, match="video media.*frames_fps"):
            gridtsne.compute_grid(ds, output_dir=str(tmp_path / "out"))
        res = gridtsne.compute_grid(ds, key="frames", frames_fps=4, cell_px=16,
                                    output_dir=str(tmp_path / "out"))
        assert res.kind == "frames" and 10 <= res.n_samples <= 14  # 3 s at 4 fps
        ds.reload()
        rows = [r for r in ds.values("frames.frames_row", unwind=True) if r is not None]
        cols = [c for c in ds.values("frames.frames_col", unwind=True) if c is not None]
        assert len(set(zip(rows, cols))) == res.n_samples
        # the sampled frames are the run's own files, and go with it
        assert os.path.isdir(tmp_path / "out" / "frames" / "frames")
        assert gridtsne.load_grid(ds, "frames").layout()["id"]
        res = gridtsne.regrid(ds, "frames", rows=2)
        ds.reload()
        assert res.rows == 2 and max(r for r in ds.values("frames.frames_row", unwind=True)
                                     if r is not None) == 1
        gridtsne.delete_grid(ds, "frames")
        assert not ds.has_frame_field("frames_row")
        assert not os.path.exists(tmp_path / "out" / "frames")
    finally:
        ds.delete()


def test_the_command_line_lays_out_objects(objects_dataset, tmp_path):
    import subprocess
    import sys

    ds = objects_dataset
    ds.persistent = True
    proc = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "gridtsne"), "--dataset", ds.name,
         "--out", str(tmp_path), "--patches-field", "ground_truth", "--patch-context", "0.2",
         "--cell", "24"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    with open(tmp_path / "grid" / "layout.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert len(table) == ds.count("ground_truth.detections")
    ds.reload()
    assert gridtsne.load_grid(ds, "grid").record.patch_context == 0.2


def test_the_form_offers_the_objects_of_label_fields(objects_dataset):
    import fiftyone.operators as foo
    from fiftyone.operators.executor import ExecutionContext, Executor

    ctx = ExecutionContext(request_params={
        "dataset_name": objects_dataset.name,
        "params": {"patches_field": "ground_truth"}}, executor=Executor())
    form = foo.get_operator("@gridtsne/gridded-tsne/compute_grid").resolve_input(ctx)
    props = form.type.properties
    assert "patches_field" in props and "patch_context" in props
    assert "label_field" not in props  # objects are labelled by their own labels


def test_polylines_are_laid_out_by_their_bounding_boxes(objects_dataset, tmp_path):
    ds = objects_dataset
    for sample in ds.iter_samples(autosave=True):
        sample["shapes"] = fo.Polylines(polylines=[
            fo.Polyline(label=d.label, closed=True, filled=True, points=[[
                (d.bounding_box[0], d.bounding_box[1]),
                (d.bounding_box[0] + d.bounding_box[2], d.bounding_box[1]),
                (d.bounding_box[0] + d.bounding_box[2], d.bounding_box[1] + d.bounding_box[3]),
                (d.bounding_box[0], d.bounding_box[1] + d.bounding_box[3])]])
            for d in sample.ground_truth.detections])
    res = gridtsne.compute_grid(ds, key="poly", patches_field="shapes", cell_px=32,
                                patch_context=0.0, mosaic_format="png",
                                embeddings=None, output_dir=str(tmp_path))
    assert res.n_samples == ds.count("shapes.polylines")
    mosaic = np.asarray(Image.open(res.mosaic_path).convert("RGB")).astype(float)
    for sample in ds:
        for line in sample.shapes.polylines:
            r, c = line["poly_row"], line["poly_col"]
            inner = mosaic[r * 32 + 6:(r + 1) * 32 - 6, c * 32 + 6:(c + 1) * 32 - 6]
            assert np.abs(inner.mean((0, 1)) - COLOURS[line.label]).max() < 20


def test_relabelling_objects_changes_exactly_the_selected_labels(objects_dataset, tmp_path):
    import fiftyone.operators as foo
    from fiftyone.operators.executor import ExecutionContext, Executor

    ds = objects_dataset
    gridtsne.compute_grid(ds, key="obj", patches_field="ground_truth", cell_px=24,
                          label_borders=True, mosaic_format="png", output_dir=str(tmp_path))
    before = dict(zip(ds.values("ground_truth.detections.id", unwind=True),
                      ds.values("ground_truth.detections.label", unwind=True)))
    sample = ds.first()
    chosen = [d.id for d in sample.ground_truth.detections[:2]]
    ctx = ExecutionContext(request_params={
        "dataset_name": ds.name, "selected_labels": [
            {"label_id": i, "sample_id": sample.id, "field": "ground_truth"} for i in chosen],
        "params": {"key": "obj", "label": "magenta", "tag": "relabelled"}},
        executor=Executor())
    out = foo.get_operator("@gridtsne/gridded-tsne/relabel_selected").execute(ctx)
    assert out == {"relabelled": 2}
    ds.reload()
    after = dict(zip(ds.values("ground_truth.detections.id", unwind=True),
                     ds.values("ground_truth.detections.label", unwind=True)))
    assert {i for i in after if after[i] != before[i]} == set(chosen)
    assert ds.count_label_tags("ground_truth") == {"relabelled": 2}
    assert "magenta" in legend_of(gridtsne.load_grid(ds, "obj"))

    assert gridtsne.undo_relabel(ds, None, key="obj") == 2
    assert dict(zip(ds.values("ground_truth.detections.id", unwind=True),
                    ds.values("ground_truth.detections.label", unwind=True))) == before
    assert ds.count_label_tags("ground_truth") == {}
    assert "magenta" not in legend_of(gridtsne.load_grid(ds, "obj"))
