"""compute_grid and friends on real datasets in the embedded MongoDB."""

import os

import numpy as np
import pytest
from PIL import Image

import fiftyone as fo
from fiftyone import ViewField as F

import gridtsne
from gridtsne.core.metrics import distance_preservation_quality, neighbor_label_agreement
from gridtsne.fo.compute import GridError


def cells_of(samples, key="grid"):
    return list(zip(*samples.values(["%s_row" % key, "%s_col" % key])))


def assert_valid_layout(samples, rows, cols, key="grid"):
    cells = cells_of(samples, key)
    assert all(r is not None and c is not None for r, c in cells)
    assert len(set(cells)) == len(cells), "two samples share a cell"
    assert all(0 <= r < rows and 0 <= c < cols for r, c in cells)


def test_compute_grid_end_to_end(dataset, tmp_path):
    results = gridtsne.compute_grid(
        dataset, key="grid", label_field="ground_truth", output_dir=str(tmp_path)
    )
    assert (results.rows, results.cols) == (6, 7)  # 40 samples, near-square
    assert_valid_layout(dataset, 6, 7)

    labels = dataset.values("ground_truth.label")
    agreement = neighbor_label_agreement(cells_of(dataset), labels)
    assert agreement >= 0.6, agreement
    assert results.metrics["neighbor_label_agreement"] == pytest.approx(agreement)

    # stored per sample: embedding, t-SNE x/y, row/col
    emb = np.array(dataset.values("grid_embedding"))
    assert emb.shape == (40, 1280) and np.isfinite(emb).all()
    assert np.linalg.norm(emb, axis=1) == pytest.approx(1.0, abs=1e-5)
    assert results.metrics["dpq_16"] == pytest.approx(
        distance_preservation_quality(emb, cells_of(dataset), p=16), rel=1e-6
    )
    assert None not in dataset.values("grid_x") and None not in dataset.values("grid_y")

    # the mosaic: right size, not blank, recorded, in the run's own folder
    assert results.mosaic_path == str(tmp_path / "grid" / "mosaic.jpg")
    img = Image.open(results.mosaic_path)
    assert img.size == (7 * 64, 6 * 64)
    assert np.asarray(img).std() > 20
    assert sorted(os.listdir(tmp_path)) == ["grid"]
    assert sorted(os.listdir(tmp_path / "grid")) == [".gridtsne-run.json", "layout.csv",
                                                     "mosaic.jpg"]

    # the run record, FiftyOne-style
    assert gridtsne.list_grids(dataset) == ["grid"]
    loaded = gridtsne.load_grid(dataset, "grid")
    assert loaded.config["embeddings_field"] == "grid_embedding"
    assert loaded.options.cell_px == 64
    assert set(loaded.timings) >= {"check", "embed", "tsne", "assign", "refine", "curation",
                                   "metrics", "render", "save", "total"}
    # the stages account for the total (nothing unmeasured hides in it)
    stages = sum(v for k, v in loaded.timings.items() if k != "total")
    assert stages <= loaded.timings["total"] < stages + 0.5
    assert loaded.n_samples == 40 and loaded.skipped == []

    # the same points as a brain visualization for the Embeddings panel
    info = dataset.get_brain_info("grid")
    assert info.config.method == "manual"
    vis = dataset.load_brain_results("grid")
    np.testing.assert_allclose(
        vis.points, np.stack([dataset.values("grid_x"), dataset.values("grid_y")], 1)
    )


def test_existing_key_needs_overwrite_and_overwrite_replaces(dataset, tmp_path):
    gridtsne.compute_grid(dataset, key="grid", output_dir=str(tmp_path))
    before = dataset.values("grid_row")
    with pytest.raises(GridError, match="pass overwrite=True"):
        gridtsne.compute_grid(dataset, key="grid", output_dir=str(tmp_path))
    assert dataset.values("grid_row") == before

    res = gridtsne.compute_grid(
        dataset, key="grid", embeddings="grid_embedding", rows=4,
        output_dir=str(tmp_path), overwrite=True,
    )
    assert (res.rows, res.cols) == (4, 10)
    assert_valid_layout(dataset, 4, 10)
    # the embeddings it re-used still belong to the run and are kept
    assert dataset.has_field("grid_embedding")
    assert gridtsne.load_grid(dataset, "grid").config["embeddings_source"] == "computed"
    assert not [f for f in dataset.get_field_schema() if f.startswith("gridtsne_tmp")]


def test_views_only_place_their_samples(dataset, tmp_path):
    view = dataset.match(F("ground_truth.label") != "yellow_bar")
    res = gridtsne.compute_grid(view, key="noyellow", output_dir=str(tmp_path))
    assert res.n_samples == 30 and (res.rows, res.cols) == (5, 6)
    assert_valid_layout(view, 5, 6, key="noyellow")
    other = dataset.match(F("ground_truth.label") == "yellow_bar")
    assert set(other.values("noyellow_row")) == {None}
    assert len(res.view) == 30

    take = dataset.take(12, seed=1)
    res = gridtsne.compute_grid(take, key="some", output_dir=str(tmp_path / "t"))
    assert len(dataset.exists("some_row")) == 12
    assert set(dataset.exists("some_row").values("id")) == set(take.values("id"))


def test_existing_embeddings_field_is_used_and_kept(dataset, tmp_path):
    rng = np.random.default_rng(0)
    labels = dataset.values("ground_truth.label")
    names = sorted(set(labels))
    # lengths vary wildly; t-SNE (cosine) ignores them, and so must DPQ
    vecs = [(np.eye(8)[names.index(l)] + rng.normal(0, 0.05, 8)) * rng.uniform(1, 100)
            for l in labels]
    dataset.set_values("my_vectors", vecs)

    res = gridtsne.compute_grid(
        dataset, key="mine", embeddings="my_vectors", label_field="ground_truth",
        output_dir=str(tmp_path),
    )
    assert res.config["embeddings_source"] == "field"
    assert res.config["model"] is None
    assert not dataset.has_field("mine_embedding")
    assert res.metrics["neighbor_label_agreement"] > 0.7
    unit = np.array(vecs) / np.linalg.norm(vecs, axis=1, keepdims=True)
    assert res.metrics["dpq_16"] == pytest.approx(
        distance_preservation_quality(unit, cells_of(dataset, "mine"), p=16), rel=1e-6
    )
    assert np.array(dataset.values("my_vectors")) == pytest.approx(np.array(vecs))

    gridtsne.delete_grid(dataset, "mine")
    assert dataset.has_field("my_vectors")
    assert not any(dataset.has_field("mine_" + s) for s in ("x", "y", "row", "col"))
    assert "mine" not in dataset.list_brain_runs()
    assert not os.path.exists(res.mosaic_path)
    assert gridtsne.list_grids(dataset) == []


def test_bad_parameters_fail_before_anything_is_written(dataset, tmp_path):
    fields = set(dataset.get_field_schema())
    with pytest.raises(ValueError, match="Invalid key"):
        gridtsne.compute_grid(dataset, key="../evil", output_dir=str(tmp_path))
    with pytest.raises(GridError, match="too few for 40"):
        gridtsne.compute_grid(dataset, rows=3, cols=3, output_dir=str(tmp_path))
    with pytest.raises(GridError, match="at least 2"):
        gridtsne.compute_grid(dataset.limit(1), output_dir=str(tmp_path))
    with pytest.raises(GridError, match="does not exist"):
        gridtsne.compute_grid(dataset, embeddings="nope", output_dir=str(tmp_path))
    dataset.add_sample_field("grid_row", fo.IntField)
    with pytest.raises(GridError, match="already exists"):
        gridtsne.compute_grid(dataset, output_dir=str(tmp_path))
    dataset.delete_sample_field("grid_row")
    assert set(dataset.get_field_schema()) == fields
    assert gridtsne.list_grids(dataset) == []


def test_unreadable_images_are_skipped_and_reported(make_dataset, shapes_dir, tmp_path):
    items = [
        (os.path.join(root, f), os.path.basename(root))
        for root, _, files in os.walk(shapes_dir) for f in sorted(files)
    ][:12]
    broken = tmp_path / "broken.png"
    broken.write_text("this is not a png")
    items.append((str(broken), "red_circle"))
    ds = make_dataset(items=items)
    res = gridtsne.compute_grid(ds, output_dir=str(tmp_path / "m"))
    assert res.n_samples == 12
    assert [(s["filepath"], s["reason"]) for s in res.skipped] == [
        (str(broken), "not an image (unrecognised format)")
    ]
    assert ds.match(F("filepath") == str(broken)).first()["grid_row"] is None
    with pytest.raises(GridError, match="broken.png.*not an image"):
        gridtsne.compute_grid(ds, key="strict", strict=True, output_dir=str(tmp_path))
    assert not ds.has_field("strict_row")


def test_default_model_is_a_fiftyone_model(dataset):
    model = gridtsne.load_model()
    view = dataset.limit(4)
    emb = view.compute_embeddings(model)
    assert np.asarray(emb).shape == (4, 1280)
    view.apply_model(model, label_field="imagenet")
    preds = view.values("imagenet")
    assert all(isinstance(p, fo.Classification) and p.label for p in preds)


def test_label_disagreement_flags_wrong_labels(dataset, tmp_path):
    wrong = dataset.match(F("ground_truth.label") == "red_circle").limit(2)
    wrong_ids = set(wrong.values("id"))
    for sample in wrong:
        sample["ground_truth"] = fo.Classification(label="blue_triangle")
        sample.save()
    res = gridtsne.compute_grid(dataset, key="grid", label_field="ground_truth",
                                outline_suspicious=0.05, cell_px=32,
                                output_dir=str(tmp_path))
    scores = dict(zip(*dataset.values(["id", "grid_label_disagreement"])))
    assert all(0 <= v <= 1 for v in scores.values())
    top2 = {i for i, _ in sorted(scores.items(), key=lambda kv: -kv[1])[:2]}
    assert top2 == wrong_ids
    assert res.fields["label_disagreement"] == "grid_label_disagreement"
    assert dataset.sort_by("grid_label_disagreement", reverse=True).first().id in wrong_ids

    # the two outlined cells carry the magenta frame
    mosaic = np.asarray(Image.open(res.mosaic_path).convert("RGB")).astype(int)
    for sample in dataset.select(list(wrong_ids)):
        r, c = sample["grid_row"], sample["grid_col"]
        edge = mosaic[r * 32 + 1, c * 32 + 8:c * 32 + 24]
        assert (edge[:, 0] > 180).all() and (edge[:, 1] < 90).all() and (edge[:, 2] > 180).all()

    gridtsne.delete_grid(dataset, "grid")
    assert not dataset.has_field("grid_label_disagreement")


def test_large_mosaics_become_a_tile_pyramid_with_an_overview(dataset, tmp_path, monkeypatch):
    import xml.etree.ElementTree as ET

    from gridtsne.core import pyramid

    monkeypatch.setattr(pyramid, "PYRAMID_ABOVE_SIDE", 300)  # 7 x 64 px = 448 px
    res = gridtsne.compute_grid(dataset, key="big", output_dir=str(tmp_path), cell_px=64)
    size = ET.parse(res.tiles_path).getroot()[0].attrib
    assert (int(size["Width"]), int(size["Height"])) == (7 * 64, 6 * 64)
    assert os.path.isfile(os.path.join(os.path.dirname(res.tiles_path), "mosaic_files", "9",
                                       "1_1.jpg"))
    with Image.open(res.mosaic_path) as overview:  # the mosaic is the overview
        assert overview.size == (7 * 64, 6 * 64)

    # a regrid that fits one bitmap again drops the pyramid
    run_dir = tmp_path / "big"
    res = gridtsne.regrid(dataset, "big", cell_px=32)
    assert res.tiles_path is None and not [f for f in os.listdir(run_dir)
                                           if f.startswith("tiles")]
    res = gridtsne.regrid(dataset, "big", cell_px=64)
    assert os.path.isfile(res.tiles_path)
    gridtsne.delete_grid(dataset, "big")
    assert not os.path.exists(run_dir)
