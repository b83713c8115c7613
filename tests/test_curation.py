"""Curation on the grid (issue 16): near-duplicates, outliers, relabelling,
a diverse subset, and new samples placed without a full recompute."""

import csv
import os
import shutil

import numpy as np
import pytest
from PIL import Image, ImageEnhance

import fiftyone as fo
from fiftyone import ViewField as F

import gridtsne
from gridtsne.core import subset
from conftest import legend_of

from test_operators import run_in_app


def planted_copy(path, out, quality=60, scale=0.7, light=1.1, crop=0.05):
    """The picture at ``path`` re-encoded, resized, cropped and re-lit."""
    img = Image.open(path).convert("RGB")
    w, h = img.size
    img = img.crop((int(w * crop), int(h * crop), w, h))
    img = img.resize((int(img.width * scale), int(img.height * scale)), Image.BICUBIC)
    img = ImageEnhance.Brightness(img).enhance(light)
    img.save(out, "JPEG", quality=quality)
    return str(out)


def shape_items(shapes_dir):
    return sorted((os.path.join(r, f), os.path.basename(r))
                  for r, _, fs in os.walk(shapes_dir) for f in sorted(fs))


def distinct_pictures(folder, n, seed=0):
    """n different pictures (random shapes and colours on a gradient), as the
    synthetic shape tiles of conftest are too alike to tell copies from."""
    from PIL import ImageDraw

    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    out = []
    for i in range(n):
        a, b = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
        ramp = np.linspace(0, 1, 96)[:, None, None]
        img = Image.fromarray((a * (1 - ramp) + b * ramp).astype(np.uint8).repeat(96, 1))
        d = ImageDraw.Draw(img)
        for _ in range(4):
            x0, y0 = (int(v) for v in rng.integers(0, 70, 2))
            s = int(rng.integers(15, 45))
            box = (x0, y0, x0 + s, y0 + s)
            color = tuple(int(v) for v in rng.integers(0, 256, 3))
            (d.ellipse if rng.random() < 0.5 else d.rectangle)(box, fill=color)
        path = os.path.join(folder, "picture_%02d.png" % i)
        img.save(path)
        out.append((path, "picture"))
    return out


def test_planted_copies_are_grouped_shown_and_tagged(make_dataset, tmp_path):
    items = distinct_pictures(str(tmp_path / "pictures"), 40)
    originals = items[:4]
    copies = [(planted_copy(p, tmp_path / ("copy%d.jpg" % k)), label)
              for k, (p, label) in enumerate(originals)]
    exact = tmp_path / "exact.png"
    shutil.copy(items[5][0], exact)  # byte for byte
    ds = make_dataset(items=items + copies + [(str(exact), "picture")])
    res = gridtsne.compute_grid(ds, key="grid", output_dir=str(tmp_path / "out"))

    group = dict(zip(ds.values("filepath"), ds.values("grid_duplicate_group")))
    pairs = [(orig, copy) for (orig, _), (copy, _) in zip(originals, copies)]
    # the same bytes and size: the first imported is kept, and exact.png sorts first
    pairs.append((str(exact), items[5][0]))
    assert ds.values("filepath").index(str(exact)) < ds.values("filepath").index(items[5][0])
    for orig, copy in pairs:
        assert group[orig] is not None and group[orig] == group[copy], (orig, copy)
    grouped = {p for p, g in group.items() if g is not None}
    assert grouped == {p for pair in pairs for p in pair}  # and nothing else

    with open(res.layout_path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert {"duplicate_group", "outlier"} <= set(rows[0])
    by_path = {r["filepath"]: r for r in rows}
    assert by_path[copies[1][0]]["duplicate_group"] == str(group[originals[1][0]])

    view = gridtsne.duplicates_view(ds, "grid")
    groups = view.values("grid_duplicate_group")
    assert groups == sorted(groups) and set(view.values("filepath")) == grouped
    # each group keeps its largest image (the first imported of equal ones)
    keep = dict(zip(ds.values("filepath"), ds.values("grid_duplicate_representative")))
    sure = dict(zip(ds.values("filepath"), ds.values("grid_duplicate_confidence")))
    for orig, copy in pairs:
        assert keep[orig] is True and keep[copy] is False, (orig, copy)
        assert 0 < sure[copy] <= 1 and sure[orig] == sure[copy]
    assert sure[str(exact)] == 1.0  # the same bytes
    assert all(keep[p] is None and sure[p] is None for p in group if p not in grouped)
    found = gridtsne.duplicate_groups(ds, "grid")
    path_of = dict(zip(ds.values("id"), ds.values("filepath")))
    assert sorted((path_of[g["keep"]], [path_of[i] for i in g["duplicates"]]) for g in found) \
        == sorted((orig, [copy]) for orig, copy in pairs)

    assert gridtsne.tag_duplicates(ds, "grid") == len(pairs)
    tagged = set(ds.match_tags("duplicate").values("filepath"))
    assert tagged == {copy for _, copy in pairs}  # exactly the ones not kept
    assert items[5][0] in tagged and str(exact) not in tagged
    assert len(ds) == len(items) + len(copies) + 1  # nothing deleted


def test_a_group_is_only_copies_of_the_one_it_keeps():
    """Look-alike links do not chain: each member is a duplicate of the group's
    representative itself, or it is not in the group."""
    from gridtsne.core import duplicates

    class Judge:
        def __init__(self, dup):
            self.dup = {frozenset(p) for p in dup}

        def confidence(self, pairs):
            return np.array([0.5 if frozenset(map(int, p)) in self.dup else -0.5
                             for p in pairs])

    links = np.array([[0, 1], [1, 2], [2, 3]])  # a chain of look-alike links
    priority = np.arange(4)
    found = duplicates._around_representatives(4, links, priority, Judge([(0, 1), (2, 3)]),
                                               None)
    assert found.members() == [[0, 1], [2, 3]]
    assert found.representative.tolist() == [True, False, True, False]
    # 1 kept: it is a copy of 0 and of 2, 3 of neither -> 3 stays alone
    found = duplicates._around_representatives(4, links, np.array([1, 0, 2, 3]),
                                               Judge([(0, 1), (1, 2), (2, 3)]), None)
    assert found.members() == [[0, 1, 2]] and found.group[3] == -1
    assert found.representative.tolist() == [False, True, False, False]


def test_one_outline_in_other_colours_is_not_a_copy_and_a_relit_copy_is():
    """Shapes on plain backgrounds align perfectly whatever their colours: the
    tones decide. A copy re-lit by 15% and re-encoded keeps its colours."""
    import io

    from PIL import ImageDraw, ImageEnhance

    from gridtsne.core import duplicates

    def disc(bg, fg):
        img = Image.new("RGB", (64, 64), bg)
        ImageDraw.Draw(img).ellipse((14, 18, 46, 50), fill=fg)
        return img

    original = disc((200, 40, 40), (30, 30, 220))
    buf = io.BytesIO()
    ImageEnhance.Brightness(original.resize((48, 48), Image.BICUBIC)).enhance(1.15).save(
        buf, "JPEG", quality=60)
    relit = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    recoloured = disc((40, 180, 60), (120, 20, 120))  # the same outline, other colours
    grey_same = disc((200, 200, 200), (40, 40, 40)).convert("L").convert("RGB")
    grey_other = disc((250, 250, 250), (150, 150, 150)).convert("L").convert("RGB")
    thumbs = [duplicates.thumbnails(x) for x in (original, relit, recoloured, grey_same,
                                                  grey_other)]
    whole = duplicates.whole_descriptors([t[0] for t in thumbs])
    pairs = np.array([[0, 1], [0, 2], [3, 4]])
    similarity, crop, of_first = duplicates.aligned_pairs([t[0] for t in thumbs], whole, pairs)
    assert (similarity > 0.95).all()  # every outline aligns...
    tones = [duplicates.tone_distance(thumbs[a] if f else thumbs[b],
                                      thumbs[b] if f else thumbs[a], c)
             for (a, b), c, f in zip(pairs, crop, of_first)]
    assert tones[0] < 1 < tones[1] and tones[2] > 1  # ...but only the copy keeps its tones


def test_planted_digit_copies_are_found_and_look_alike_digits_are_not(tmp_path):
    """Low-detail look-alikes (scikit-learn's digits, no two the same) with 20
    planted copies, through the command line: the copies are grouped with their
    originals, no group holds more than one original, and at most 1% of the
    distinct digits are in a group."""
    import subprocess
    import sys

    from gridtsne.fo.imports import write_digits

    folder = write_digits(str(tmp_path / "digits"))
    originals = sorted(os.path.join(r, f) for r, _, fs in os.walk(folder) for f in fs)
    rng = np.random.default_rng(0)
    planted = {}
    for k, i in enumerate(rng.choice(len(originals), 20, replace=False)):
        out = os.path.join(os.path.dirname(originals[i]), "copy_%02d.jpg" % k)
        planted[planted_copy(originals[i], out, quality=int(rng.integers(50, 91)),
                             scale=rng.uniform(0.5, 0.9), light=rng.uniform(0.85, 1.15),
                             crop=rng.uniform(0, 0.1))] = originals[i]
    name = "gridtsne-digits-" + os.urandom(4).hex()
    script = os.path.join(os.path.dirname(sys.executable), "gridtsne")
    proc = subprocess.run([script, folder, "--out", str(tmp_path / "out"), "--dataset", name,
                           "--cell", "8"], capture_output=True, text=True, timeout=1200)
    try:
        assert proc.returncode == 0, proc.stderr
        with open(tmp_path / "out" / "grid" / "layout.csv", newline="") as f:
            group = {r["filepath"]: r["duplicate_group"] for r in csv.DictReader(f)}
        caught = [group[c] != "" and group[c] == group[o] for c, o in planted.items()]
        assert np.mean(caught) >= 0.9
        members = {}
        for path, g in group.items():
            if g:
                members.setdefault(g, []).append(path)
        assert max(len(m) for m in members.values()) <= 2
        distinct = [p for p in originals if group[p] and not any(
            group[c] == group[p] for c, o in planted.items() if o == p)]
        assert len(distinct) <= 0.01 * len(originals), len(distinct)
    finally:
        if fo.dataset_exists(name):
            fo.delete_dataset(name)


def test_an_image_unlike_the_rest_has_the_highest_outlier_score(make_dataset, shapes_dir,
                                                                 tmp_path):
    odd = tmp_path / "odd.png"
    rng = np.random.default_rng(3)
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(odd)
    ds = make_dataset(items=shape_items(shapes_dir) + [(str(odd), "red_circle")])
    gridtsne.compute_grid(ds, key="grid", label_field="ground_truth",
                          output_dir=str(tmp_path / "out"))
    top = ds.sort_by("grid_outlier", reverse=True).first()
    assert top.filepath == str(odd)
    assert all(v is not None and v > 0 for v in ds.values("grid_outlier"))


def test_relabelling_changes_exactly_the_selection_and_the_legend(dataset, tmp_path):
    from fiftyone.operators.executor import ExecutionContext, Executor

    import fiftyone.operators as foo

    res = gridtsne.compute_grid(dataset, key="grid", label_field="ground_truth", cell_px=32,
                                label_borders=True, mosaic_format="png",
                                output_dir=str(tmp_path))
    before = dict(zip(dataset.values("id"), dataset.values("ground_truth.label")))
    chosen = dataset.match(F("ground_truth.label") == "blue_triangle").limit(3).values("id")
    ctx = ExecutionContext(request_params={
        "dataset_name": dataset.name, "selected": chosen,
        "params": {"key": "grid", "label": "crimson", "tag": "relabelled"}},
        executor=Executor())
    out = foo.get_operator("@gridtsne/gridded-tsne/relabel_selected").execute(ctx)
    assert out == {"relabelled": 3}
    dataset.reload()
    after = dict(zip(dataset.values("id"), dataset.values("ground_truth.label")))
    assert {i for i in after if after[i] != before[i]} == set(chosen)
    assert set(dataset.match_tags("relabelled").values("id")) == set(chosen)

    run = gridtsne.load_grid(dataset, "grid")
    legend = legend_of(run)
    assert "crimson" in legend and run.version != res.version
    sample = dataset[chosen[0]]
    mosaic = np.asarray(Image.open(run.mosaic_path).convert("RGB")).astype(int)
    drawn = mosaic[sample["grid_row"] * 32 + 12, sample["grid_col"] * 32]
    assert drawn.tolist() == [int(v) for v in legend["crimson"][4:-1].split(",")]

    restored = gridtsne.undo_relabel(dataset, "ground_truth", key="grid")
    assert restored == 3
    assert dict(zip(dataset.values("id"), dataset.values("ground_truth.label"))) == before
    assert len(dataset.match_tags("relabelled")) == 0
    assert "crimson" not in legend_of(gridtsne.load_grid(dataset, "grid"))


@pytest.mark.parametrize("k", [1, 7, 10, 25, 40])
def test_a_diverse_subset_has_k_samples_no_two_in_a_block(dataset, tmp_path, k):
    gridtsne.compute_grid(dataset, key="grid", output_dir=str(tmp_path))
    view = gridtsne.diverse_subset(dataset, "grid", k, tag="diverse")
    assert len(view) == k and len(dataset.match_tags("diverse")) == k
    ids = dataset.values("id")
    cells = np.stack(dataset.values(["grid_row", "grid_col"]), axis=1)
    features = np.array(dataset.values("grid_embedding"))
    chosen, blocks = subset.diverse_subset(cells, 6, 7, k, features)
    assert len(set(blocks.tolist())) == k
    assert set(view.values("id")) == {ids[i] for i in chosen}


def test_subset_blocks_partition_any_grid():
    rng = np.random.default_rng(0)
    for rows, cols, n, k in [(6, 7, 40, 9), (32, 32, 1000, 100), (3, 50, 150, 20),
                             (10, 10, 37, 37), (1, 5, 5, 3)]:
        cells = np.stack(np.divmod(rng.choice(rows * cols, n, replace=False), cols), axis=1)
        chosen, blocks = subset.diverse_subset(cells, rows, cols, k)
        assert len(chosen) == k == len(set(blocks.tolist())) == len(set(chosen.tolist()))


def test_new_samples_take_free_cells_and_old_ones_stay(make_dataset, shapes_dir, tmp_path):
    items = shape_items(shapes_dir)
    ds = make_dataset(items=items[:30])
    # a 6 x 7 grid has room for 10 more: they take free cells (a grid that must
    # grow is stretched instead: tests/test_core.py)
    res = gridtsne.compute_grid(ds, key="grid", label_field="ground_truth", cell_px=32,
                                rows=6, cols=7, output_dir=str(tmp_path / "out"))
    old = dict(zip(ds.values("id"), zip(*ds.values(["grid_row", "grid_col"]))))
    ds.add_samples([fo.Sample(filepath=p, ground_truth=fo.Classification(label=l))
                    for p, l in items[30:]])
    stages = []
    res2 = gridtsne.update_grid(ds, "grid", progress=lambda s, f: stages.append(s))
    assert "tsne" not in stages  # no full recompute
    cells = dict(zip(ds.values("id"), zip(*ds.values(["grid_row", "grid_col"]))))
    assert all(cells[i] == old[i] for i in old)
    assert len(set(cells.values())) == 40 and None not in {c for v in cells.values() for c in v}
    assert res2.n_samples == 40 and res2.rows * res2.cols >= 40
    assert res2.rows >= res.rows and res2.cols >= res.cols

    # the mosaic shows each new sample in its cell
    mosaic = np.asarray(Image.open(res2.mosaic_path).convert("RGB")).astype(float)
    for sample in ds.select([i for i in cells if i not in old]):
        r, c = sample["grid_row"], sample["grid_col"]
        cell = mosaic[r * 32 + 4:(r + 1) * 32 - 4, c * 32 + 4:(c + 1) * 32 - 4]
        img = Image.open(sample.filepath).convert("RGB").resize((32, 32), Image.BILINEAR)
        expected = np.asarray(img).astype(float)[4:-4, 4:-4]
        assert np.abs(cell.mean((0, 1)) - expected.mean((0, 1))).max() < 25
    assert gridtsne.update_grid(ds, "grid").version == res2.version  # nothing new: no write


def test_update_grid_from_the_app(make_dataset, shapes_dir, tmp_path):
    items = shape_items(shapes_dir)
    ds = make_dataset(items=items[:30])
    first = gridtsne.compute_grid(ds, key="grid", output_dir=str(tmp_path))
    ds.add_samples([fo.Sample(filepath=p) for p, _ in items[30:]])
    out, progress = run_in_app("update_grid", ds, {"key": "grid"})
    assert out["samples"] == 40
    assert any(label.startswith("Computing embeddings") for _, label in progress)
    # the result says what the update did, with its own timings, and how the
    # layout's quality moved
    report = gridtsne.load_grid(ds, "grid").update_report
    assert report["placed"] == 10 and report["grid_before"] == [first.rows, first.cols]
    dpq = report["metrics"]["dpq_16"]
    assert dpq["before"] == pytest.approx(first.metrics["dpq_16"])
    assert out["update"].startswith("Placed 10 new samples")
    assert "layout quality %.3f -> %.3f" % (dpq["before"], dpq["after"]) in out["update"]
    assert out["recompute"] == (dpq["before"] - dpq["after"] > 0.02)
    assert "tsne" not in out["timings"] and "assign" in out["timings"]


def test_an_update_that_loses_quality_says_so_and_offers_the_recompute():
    from gridtsne.core.metrics import quality_change
    from gridtsne.fo.app.base import results_view
    from gridtsne.core.metrics import update_summary

    kept = quality_change({"dpq_16": 0.92, "neighbor_label_agreement": 0.75},
                          {"dpq_16": 0.91, "neighbor_label_agreement": 0.74})
    assert not kept["fell"]
    fell = quality_change({"dpq_16": 0.925, "neighbor_label_agreement": 0.751},
                          {"dpq_16": 0.835, "neighbor_label_agreement": 0.708})
    assert fell["fell"] and fell["metrics"]["dpq_16"] == {"before": 0.925, "after": 0.835}
    text = update_summary(dict(fell, placed=424, skipped=0, grid_before=[24, 25],
                               grid=[32, 32]))
    assert "grew from 24 x 25 to 32 x 32" in text and "layout quality 0.925 -> 0.835" in text
    assert "Recompute" in text
    view = results_view("grid", {"update": text, "recompute": True}).to_json()
    assert "recompute" in view["type"]["properties"]
    assert "recompute" not in results_view("grid", {"update": text}).to_json()[
        "type"]["properties"]


def test_curation_operators_act_on_the_app(make_dataset, tmp_path):
    import fiftyone.operators as foo
    from fiftyone.operators.executor import ExecutionContext, Executor

    items = distinct_pictures(str(tmp_path / "pictures"), 30)
    copy = (planted_copy(items[0][0], tmp_path / "copy.jpg"), "picture")
    ds = make_dataset(items=items + [copy])
    gridtsne.compute_grid(ds, key="grid", output_dir=str(tmp_path / "out"))

    def run(name, params):
        ctx = ExecutionContext(request_params={"dataset_name": ds.name, "params": params},
                               executor=Executor())
        out = foo.get_operator("@gridtsne/gridded-tsne/" + name).execute(ctx)
        return out, [r.operator_uri for r in ctx.executor._requests]

    out, requests = run("find_duplicates", {"key": "grid", "action": "view"})
    assert out == {"samples": 2} and any(r.endswith("set_view") for r in requests)
    out, _ = run("find_duplicates", {"key": "grid", "action": "tag", "tag": "dup"})
    assert out == {"tagged": 1} and ds.match_tags("dup").values("filepath") == [copy[0]]
    out, requests = run("diverse_subset", {"key": "grid", "k": 5, "tag": "pick"})
    assert out == {"samples": 5} and len(ds.match_tags("pick")) == 5
    assert any(r.endswith("set_view") for r in requests)


def test_the_duplicate_threshold_is_one_option_with_the_measured_default(make_dataset,
                                                                         tmp_path):
    from gridtsne.config import GridConfig
    from gridtsne.core import duplicates

    assert GridConfig().duplicate_threshold == duplicates.DEFAULT_THRESHOLD == 0.95
    items = distinct_pictures(str(tmp_path / "pictures"), 20)
    copy = (planted_copy(items[0][0], tmp_path / "copy.jpg"), "picture")
    ds = make_dataset(items=items + [copy])
    strict = gridtsne.compute_grid(ds, key="strict", duplicate_threshold=0.9999,
                                   output_dir=str(tmp_path / "out"))
    assert len(ds.exists("strict_duplicate_group")) == 0
    assert strict.options.duplicate_threshold == 0.9999
    gridtsne.compute_grid(ds, key="usual", embeddings="strict_embedding",
                          output_dir=str(tmp_path / "out"))
    assert len(ds.exists("usual_duplicate_group")) == 2


def test_curation_can_be_left_out(dataset, tmp_path):
    from gridtsne import cli
    from gridtsne.config import GridConfig, GridError

    res = gridtsne.compute_grid(dataset, key="bare", label_field="ground_truth",
                                curation=False, output_dir=str(tmp_path))
    assert res.n_samples == 40 and not res.options.curation
    assert len(dataset.exists("bare_row")) == 40
    for name in ("duplicate_group", "outlier", "label_disagreement"):
        assert not dataset.has_field("bare_" + name), name
    assert "neighbor_label_agreement" in res.metrics  # the grid's own figures stay
    gridtsne.compute_grid(dataset, key="full", embeddings="bare_embedding",
                          label_field="ground_truth", output_dir=str(tmp_path))
    assert len(dataset.exists("full_label_disagreement")) == 40
    # one option on every surface, and it cannot be asked to outline what it skips
    args = cli.build_parser().parse_args(["--dataset", "d", "--out", "/o", "--no-curation"])
    assert cli.config_from_args(args).curation is False
    assert GridConfig.from_params(GridConfig(curation=False).to_params()).curation is False
    with pytest.raises(GridError, match="outline_suspicious"):
        GridConfig(curation=False, outline_suspicious=0.05)
