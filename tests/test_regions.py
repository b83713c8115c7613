"""Regions (gridtsne.core.regions) and the similarity index of a run
(gridtsne.fo.similarity), on real datasets in the embedded MongoDB."""

import csv
import os

import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import label as connected

import gridtsne
from gridtsne.core import regions as core_regions


def assert_partition(region, entries, cells, rows, cols):
    """Regions are 4-connected, disjoint, and cover every placed cell once."""
    assert len(region) == len(cells) and region.min() >= 0
    assert sorted(e["id"] for e in entries) == list(range(len(entries)))
    assert sum(e["count"] for e in entries) == len(cells)
    for e in entries:
        member = cells[region == e["id"]]
        assert sorted(map(tuple, member.tolist())) == sorted(map(tuple, e["cells"]))
        mask = np.zeros((rows, cols), bool)
        mask[member[:, 0], member[:, 1]] = True
        assert connected(mask)[1] == 1, e["name"]
        assert mask[tuple(e["centre"])]


def blobs(n_side=24, seed=0):
    """Four quadrants of a grid, each its own cluster of t-SNE points and label."""
    rng = np.random.default_rng(seed)
    cells = np.array([(r, c) for r in range(n_side) for c in range(n_side)])
    quadrant = (cells[:, 0] >= n_side // 2) * 2 + (cells[:, 1] >= n_side // 2)
    centres = np.array([[0, 0], [0, 10], [10, 0], [10, 10]], float)
    xy = centres[quadrant] + rng.normal(0, 1.0, (len(cells), 2))
    labels = ["abcd"[q] for q in quadrant]
    return xy, cells, labels, quadrant


def test_regions_partition_the_grid_and_follow_its_clusters():
    xy, cells, labels, quadrant = blobs()
    found = core_regions.find_regions(xy, cells, 24, 24, labels=labels, k=4)
    assert_partition(found.region, found.regions, cells, 24, 24)
    assert len(found.regions) == 4
    for e in found.regions:
        assert e["label_share"] == 1.0 and e["name"] == "%s 100%%" % e["label"]
        assert labels[e["representative"]] == e["label"]
    # each quadrant is one region
    assert len(set(zip(found.region.tolist(), quadrant.tolist()))) == 4


def test_a_mixed_region_reports_its_share_and_unlabelled_regions_use_class_names():
    xy, cells, labels, quadrant = blobs()
    labels = [("x" if i % 4 == 0 else l) for i, l in enumerate(labels)]
    found = core_regions.find_regions(xy, cells, 24, 24, labels=labels, k=4)
    assert all(e["label_share"] == pytest.approx(0.75, abs=0.05) for e in found.regions)
    names = ["school bus" if q < 2 else "palm" for q in quadrant]
    unlabelled = core_regions.find_regions(xy, cells, 24, 24, names=names, k=4)
    assert sorted(e["name"] for e in unlabelled.regions) == [
        "palm", "palm", "school bus", "school bus"]
    assert all(e["label_share"] is None for e in unlabelled.regions)
    plain = core_regions.find_regions(xy, cells, 24, 24, k=4)
    assert sorted(e["name"] for e in plain.regions) == ["region %d" % i for i in (1, 2, 3, 4)]


def test_region_count_grows_with_the_grid():
    counts = [core_regions.region_count(n) for n in (40, 1000, 20_000, 1_000_000)]
    assert counts == [6, 10, 64, 64]


def test_a_run_stores_its_regions_and_a_similarity_index(dataset, tmp_path):
    res = gridtsne.compute_grid(dataset, key="grid", label_field="ground_truth",
                                output_dir=str(tmp_path))
    regions = res.regions
    assert 2 <= len(regions) <= 10
    ids = dataset.values("id")
    region = np.array(dataset.values("grid_region"))
    cells = np.stack([dataset.values("grid_row"), dataset.values("grid_col")], 1)
    assert_partition(region, regions, cells, res.rows, res.cols)
    labels = dataset.values("ground_truth.label")
    for e in regions:
        members = [labels[i] for i in np.flatnonzero(region == e["id"])]
        majority = max(set(members), key=members.count)
        assert e["label"] == majority and e["name"].startswith(majority + " ")
        assert e["label_share"] == pytest.approx(members.count(majority) / len(members))
        assert e["representative"] in ids
        assert region[ids.index(e["representative"])] == e["id"]
    with open(res.layout_path) as f:
        rows = list(csv.DictReader(f))
    by_path = dict(zip(dataset.values("filepath"), region.tolist()))
    assert all(int(r["region"]) == by_path[r["filepath"]] for r in rows)

    # the similarity index: the App's sort by similarity on the run's vectors
    assert res.similarity_key == "grid_sim" and "grid_sim" in dataset.list_brain_runs()
    info = dataset.get_brain_info("grid_sim")
    assert info.config.embeddings_field == "grid_embedding"
    query = ids[0]
    similar = dataset.sort_by_similarity(query, k=6, brain_key="grid_sim").values("id")
    assert similar[0] == query and len(similar) == 6
    near = gridtsne.similar_samples(dataset, "grid", query, k=5)
    assert near == similar[1:]
    same = sum(labels[ids.index(i)] == labels[0] for i in near)
    assert same >= 4, same

    # rename and delete carry the index along
    dataset.rename_run("grid", "other")
    assert "other_sim" in dataset.list_brain_runs() and "grid_sim" not in dataset.list_brain_runs()
    assert gridtsne.load_grid(dataset, "other").similarity_key == "other_sim"
    assert dataset.has_field("other_region")
    gridtsne.delete_grid(dataset, "other")
    assert "other_sim" not in dataset.list_brain_runs()
    assert not dataset.has_field("other_region")


def test_regrid_keeps_regions_true_and_draws_them_on_request(dataset, tmp_path):
    res = gridtsne.compute_grid(dataset, key="grid", label_field="ground_truth",
                                output_dir=str(tmp_path), cell_px=32)
    plain = np.asarray(Image.open(res.mosaic_path).convert("RGB"), np.int16)
    same_shape = gridtsne.regrid(dataset, "grid", regions=True)
    drawn = np.asarray(Image.open(same_shape.mosaic_path).convert("RGB"), np.int16)
    assert drawn.shape == plain.shape and np.abs(drawn - plain).mean() > 1.0
    moved = gridtsne.regrid(dataset, "grid", rows=4, cols=10, regions=False)
    region = np.array(dataset.values("grid_region"))
    cells = np.stack([dataset.values("grid_row"), dataset.values("grid_col")], 1)
    assert (moved.rows, moved.cols) == (4, 10)
    assert_partition(region, moved.regions, cells, 4, 10)


def test_a_run_made_before_regions_gets_them_from_regrid(dataset, tmp_path):
    res = gridtsne.compute_grid(dataset, key="grid", label_field="ground_truth",
                                output_dir=str(tmp_path))
    # what a run made by an earlier version holds: no region field, no regions
    dataset.delete_sample_field("grid_region")
    rec = dataset.get_run_info("grid").config
    rec.fields = {k: v for k, v in rec.fields.items() if k != "region"}
    dataset.update_run_config("grid", rec)
    stored = dataset.load_run_results("grid", cache=False)
    stored.regions = None
    dataset.save_run_results("grid", stored, cache=False)
    old = gridtsne.load_grid(dataset, "grid")
    assert old.regions == [] and "region" not in old.fields
    again = gridtsne.regrid(dataset, "grid")
    assert again.regions and again.fields["region"] == "grid_region"
    assert None not in dataset.values("grid_region")
    assert res.rows == again.rows


def test_without_labels_regions_are_named_by_the_networks_classes(dataset, tmp_path):
    from torchvision.models import EfficientNet_B0_Weights

    classes = set(EfficientNet_B0_Weights.IMAGENET1K_V1.meta["categories"])
    unlabelled = dataset.exclude_fields("ground_truth")
    res = gridtsne.compute_grid(unlabelled, key="grid", output_dir=str(tmp_path),
                                curation=False)
    assert res.regions
    for e in res.regions:
        assert e["label"] is None and e["label_share"] is None
        assert all(part in classes for part in e["name"].split(" / ")), e["name"]
    assert os.path.exists(res.layout_path)
