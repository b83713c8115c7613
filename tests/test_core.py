"""The FiftyOne-free core on plain arrays and files."""


import os

import numpy as np
import pytest
from PIL import Image
from scipy.optimize import linear_sum_assignment

from gridtsne.core import grid, images, metrics, reduce, render


@pytest.mark.parametrize(
    "n, rows, cols, expected",
    [
        (1024, None, None, (32, 32)),
        (1000, None, None, (32, 32)),
        (10, None, None, (3, 4)),
        (2, None, None, (1, 2)),
        (100, 5, None, (5, 20)),
        (100, None, 7, (15, 7)),
        (12, 3, 4, (3, 4)),
    ],
)
def test_grid_shape(n, rows, cols, expected):
    assert grid.grid_shape(n, rows, cols) == expected


def test_grid_shape_too_small_names_the_numbers():
    with pytest.raises(ValueError, match="3x3 grid has 9 cells, too few for 10"):
        grid.grid_shape(10, 3, 3)


def brute_force_cost(points, rows, cols):
    centres = grid.cell_centres(rows, cols)
    cost = ((points[:, None, :] - centres[None]) ** 2).sum(-1)
    r, c = linear_sum_assignment(cost)
    return cost[r, c].sum()


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("method", ["exact", "blocks", "auto"])
def test_assignment_is_valid_and_exact_for_small_n(seed, method):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 60))
    rows, cols = grid.grid_shape(n, None, None)
    pts = grid.scale_to_grid(rng.normal(size=(n, 2)), rows, cols)
    cells = grid.assign_to_grid(pts, rows, cols, method=method)
    assert cells.shape == (n, 2)
    assert len({tuple(c) for c in cells}) == n
    assert cells[:, 0].min() >= 0 and cells[:, 0].max() < rows
    assert cells[:, 1].min() >= 0 and cells[:, 1].max() < cols
    optimum = brute_force_cost(pts, rows, cols)
    assert grid.assignment_cost(pts, cells) == pytest.approx(optimum, rel=1e-6)


def test_blocks_assignment_is_valid_on_a_grid_with_holes():
    rng = np.random.default_rng(1)
    n, rows, cols = 3000, 40, 80  # 200 empty cells, several blocks
    centers = rng.uniform(0, 1, (8, 2))
    pts = centers[rng.integers(0, 8, n)] + rng.normal(0, 0.05, (n, 2))
    g = grid.scale_to_grid(pts, rows, cols)
    cells = grid.assign_to_grid(g, rows, cols, method="blocks")
    assert len({tuple(c) for c in cells}) == n
    assert cells[:, 0].max() < rows and cells[:, 1].max() < cols


def test_exact_assignment_keeps_a_perfect_grid_in_place():
    rows, cols = 4, 5
    pts = grid.cell_centres(rows, cols)[np.random.default_rng(0).permutation(20)]
    cells = grid.assign_to_grid(pts, rows, cols)
    np.testing.assert_array_equal(cells[:, ::-1], pts.astype(int))


def test_neighbor_label_agreement_hand_computed():
    # 2x2 with labels a a / b b: pairs (0,0)-(0,1) same, (1,0)-(1,1) same,
    # (0,0)-(1,0) differ, (0,1)-(1,1) differ -> 2/4
    cells = [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert metrics.neighbor_label_agreement(cells, ["a", "a", "b", "b"]) == 0.5
    assert metrics.neighbor_label_agreement(cells, ["a"] * 4) == 1.0
    # a hole: only (0,0)-(0,1) is an occupied adjacent pair
    assert metrics.neighbor_label_agreement([(0, 0), (0, 1), (1, 2)], ["a", "b", "b"]) == 0.0


def test_tsne_separates_clusters_and_is_seedable():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, (40, 16)), rng.normal(8, 1, (40, 16))])
    calls = []
    y1 = reduce.tsne_2d(x, metric="euclidean", seed=3, progress=calls.append)
    y2 = reduce.tsne_2d(x, metric="euclidean", seed=3)
    np.testing.assert_allclose(y1, y2)
    assert calls and calls[-1] == 1.0 and all(0 <= c <= 1 for c in calls)
    a, b = y1[:40].mean(0), y1[40:].mean(0)
    spread = max(y1[:40].std(0).max(), y1[40:].std(0).max())
    assert np.linalg.norm(a - b) > 3 * spread


def test_tsne_above_the_subsample_size_places_the_rest_beside_their_neighbours(monkeypatch):
    monkeypatch.setattr(reduce, "SUBSAMPLE_ABOVE_N", 300)
    monkeypatch.setattr(reduce, "SUBSAMPLE_N", 150)
    fitted = []
    fit = reduce._fit
    monkeypatch.setattr(reduce, "_fit", lambda x, *a: fitted.append(len(x)) or fit(x, *a))
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(10, 1, (250, 8)), rng.normal(-10, 1, (250, 8))])
    calls = []
    y = reduce.tsne_2d(x, metric="euclidean", seed=0, progress=calls.append)
    assert fitted == [150]  # openTSNE optimised the subsample only
    assert y.shape == (500, 2) and np.isfinite(y).all()
    assert calls[-1] == 1.0 and calls == sorted(calls)
    # every point, optimised or placed, is nearer its own cluster's centre
    a, b = y[:250].mean(0), y[250:].mean(0)
    own = np.where(np.arange(500)[:, None] < 250, a, b)
    other = np.where(np.arange(500)[:, None] < 250, b, a)
    assert (np.linalg.norm(y - own, axis=1) < np.linalg.norm(y - other, axis=1)).all()
    np.testing.assert_allclose(y, reduce.tsne_2d(x, metric="euclidean", seed=0))


def test_new_points_beside_a_large_grid_are_placed_among_a_subsample_of_it(monkeypatch):
    from openTSNE import affinity

    monkeypatch.setattr(reduce, "SUBSAMPLE_ABOVE_N", 300)
    monkeypatch.setattr(reduce, "SUBSAMPLE_N", 150)
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.normal(10, 1, (250, 8)), rng.normal(-10, 1, (250, 8))])
    y = reduce.tsne_2d(x, metric="euclidean", seed=0)
    indexed = []
    index = affinity.PerplexityBasedNN
    monkeypatch.setattr(affinity, "PerplexityBasedNN",
                        lambda data, **kw: indexed.append(len(data)) or index(data, **kw))
    new = np.concatenate([rng.normal(10, 1, (20, 8)), rng.normal(-10, 1, (20, 8))])
    placed = reduce.tsne_transform(x, y, new, metric="euclidean", seed=0)
    assert indexed == [150]  # the neighbour index holds the subsample, not all 500
    a, b = y[:250].mean(0), y[250:].mean(0)
    own = np.where(np.arange(40)[:, None] < 20, a, b)
    other = np.where(np.arange(40)[:, None] < 20, b, a)
    assert (np.linalg.norm(placed - own, axis=1) < np.linalg.norm(placed - other, axis=1)).all()
    np.testing.assert_allclose(placed, reduce.tsne_transform(x, y, new, metric="euclidean",
                                                            seed=0))


def _four_clusters(rng, n_each, dims=8):
    centres = rng.normal(0, 10, (4, dims))
    x = np.concatenate([rng.normal(c, 1, (n_each, dims)) for c in centres])
    return x, np.repeat(np.arange(4), n_each)


def test_new_images_fill_free_cells_and_old_ones_keep_theirs_when_the_grid_has_room():
    from gridtsne.core import extend

    rng = np.random.default_rng(0)
    x, _ = _four_clusters(rng, 20)
    xy = reduce.tsne_2d(x, metric="euclidean", seed=0)
    cells = grid.assign_to_grid(grid.scale_to_grid(xy, 9, 10), 9, 10)  # 80 of 90 cells
    new = x[:8] + rng.normal(0, 0.1, x[:8].shape)
    _, out, rows, cols, moved = extend.place_new(x, xy, cells, 9, 10, new, metric="euclidean")
    assert (rows, cols, moved) == (9, 10, False)
    np.testing.assert_array_equal(out[:80], cells)
    assert len({tuple(c) for c in out}) == 88


def test_a_grid_that_must_grow_is_stretched_and_keeps_its_arrangement():
    from gridtsne.core import extend

    rng = np.random.default_rng(1)
    x, label = _four_clusters(rng, 60)
    old, new = np.arange(240) % 2 == 0, np.arange(240) % 2 == 1  # half of each cluster later
    xy = reduce.tsne_2d(x[old], metric="euclidean", seed=0)
    cells = grid.assign_to_grid(grid.scale_to_grid(xy, 11, 11), 11, 11)
    _, out, rows, cols, moved = extend.place_new(x[old], xy, cells, 11, 11, x[new],
                                                 metric="euclidean")
    assert moved and rows * cols >= 240 and (rows, cols) != (11, 11)
    assert len({tuple(c) for c in out}) == 240
    assert out.min() >= 0 and (out.max(0) < [rows, cols]).all()
    # every old image sits near where its cell falls on the stretched grid ...
    drift = np.abs(out[:120] - extend.stretched(cells, 11, 11, rows, cols)).max(1)
    assert np.median(drift) <= 1.5
    # ... and the new ones beside their own cluster: most grid neighbours agree
    labels = np.concatenate([label[old], label[new]])
    assert metrics.neighbor_label_agreement(out, labels) > 0.85


def test_tsne_handles_tiny_inputs():
    assert reduce.tsne_2d(np.eye(2, 5)).shape == (2, 2)
    assert reduce.tsne_2d(np.arange(9.0)[:, None]).shape == (9, 2)  # 1-d features
    assert reduce.tsne_2d(np.random.default_rng(0).normal(size=(7, 3))).shape == (7, 2)


def test_load_rgb_normalises_modes(tmp_path):
    cases = {
        "gray.png": Image.new("L", (10, 6), 128),
        "cmyk.jpg": Image.new("CMYK", (10, 6), (0, 255, 0, 0)),
        "p.png": Image.new("P", (10, 6), 3),
        "rgba.png": Image.new("RGBA", (10, 6), (255, 0, 0, 0)),
        "i16.png": Image.fromarray(np.arange(60, dtype=np.uint16).reshape(6, 10) * 1000),
    }
    for name, img in cases.items():
        img.save(tmp_path / name)
        out = images.load_rgb(str(tmp_path / name))
        assert out.mode == "RGB" and out.size == (10, 6), name
    # a fully transparent pixel becomes the white background, not black
    assert images.load_rgb(str(tmp_path / "rgba.png")).getpixel((0, 0)) == (255, 255, 255)
    # 16-bit is stretched, not clipped to white
    px = np.asarray(images.load_rgb(str(tmp_path / "i16.png")))[..., 0]
    assert px.min() == 0 and px.max() == 255


def test_bad_images_have_reasons(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "text.png").write_text("not an image")
    good = tmp_path / "good.png"
    Image.new("RGB", (50, 50), (1, 2, 3)).save(good)
    (tmp_path / "truncated.png").write_bytes(good.read_bytes()[:60])
    assert images.check_image(str(good)) is None
    assert "not found" in images.check_image(str(tmp_path / "missing.png"))
    assert "empty" in images.check_image(str(tmp_path / "empty.png"))
    assert "not an image" in images.check_image(str(tmp_path / "text.png"))
    assert "corrupt" in images.check_image(str(tmp_path / "truncated.png"))
    assert "too large" in images.check_image(str(good), max_pixels=100)


def test_exif_rotated_image_is_upright(tmp_path):
    img = Image.new("RGB", (40, 20), (255, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees on display
    img.save(tmp_path / "rot.jpg", exif=exif)
    assert images.load_rgb(str(tmp_path / "rot.jpg")).size == (20, 40)


def test_render_mosaic_places_each_image_in_its_cell(tmp_path):
    colors = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    paths = []
    for i, c in enumerate(colors):
        p = tmp_path / ("%d.png" % i)
        Image.new("RGB", (30, 20), c).save(p)
        paths.append(str(p))
    cells = [(1, 1), (0, 0), (0, 1)]
    mosaic = render.render_mosaic(paths, cells, 2, 2, cell_px=16, border_px=0)
    assert mosaic.size == (32, 32)
    for (r, c), color in zip(cells, colors):
        assert mosaic.getpixel((c * 16 + 8, r * 16 + 8)) == color
    assert mosaic.getpixel((8, 24)) == render.BACKGROUND  # the empty cell
    out = render.save_image_atomic(mosaic, str(tmp_path / "m.png"))
    assert Image.open(out).size == (32, 32)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp")] == []


def test_label_colors_are_stable_and_distinct():
    a = render.label_colors(["b", "a", None, "c", "a"])
    assert list(a) == ["a", "b", "c"]
    assert len(set(a.values())) == 3
    assert render.label_colors(["c", "a", "b"]) == a


def dpq_by_the_definition(features, cells, p):
    """A direct, loop-by-loop DPQ_p, to check the vectorised one."""
    x = np.asarray(features, float)
    n = len(x)
    hd = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
    by_hd, by_grid = [], []
    for i in range(n):
        others = [j for j in range(n) if j != i]
        by_hd.append(sorted(hd[i, j] for j in others))
        key = lambda j: ((cells[i][0] - cells[j][0]) ** 2 + (cells[i][1] - cells[j][1]) ** 2, hd[i, j])  # noqa: E731
        by_grid.append([hd[i, j] for j in sorted(others, key=key)])
    d_hd = [np.mean([np.mean(r[:k]) for r in by_hd]) for k in range(1, n)]
    d_grid = [np.mean([np.mean(r[:k]) for r in by_grid]) for k in range(1, n)]
    d_mean = d_hd[-1]
    dp = [max(0, 1 - d / d_mean) for d in d_grid]
    opt = [1 - d / d_mean for d in d_hd]
    return sum(v ** p for v in dp) ** (1 / p) / sum(v ** p for v in opt) ** (1 / p)


def test_dpq_perfect_2x2_ordering_is_one():
    cells = [(0, 0), (0, 1), (1, 0), (1, 1)]
    features = [(0, 0), (0, 1), (1, 0), (1, 1)]  # the features are the positions
    assert metrics.distance_preservation_quality(features, cells) == pytest.approx(1.0)


def test_dpq_hand_computed_1x3():
    # features 0, 1, 3; D_hd(1) = (1+1+2)/3, D_mean = 2.
    # grid order [0, 3, 1]: D_grid(1) = (3+2+2)/3 > D_mean -> DP_1 = 0, DP_2 = 0
    assert metrics.distance_preservation_quality([[0], [3], [1]], [(0, 0), (0, 1), (0, 2)]) == 0.0
    # grid order [0, 1, 3] keeps every neighbourhood
    assert metrics.distance_preservation_quality([[0], [1], [3]], [(0, 0), (0, 1), (0, 2)]) == 1.0


@pytest.mark.parametrize("p", [1, 2, 16])
def test_dpq_matches_the_definition_on_random_layouts(p):
    rng = np.random.default_rng(p)
    features = rng.normal(size=(12, 5))
    cells = [divmod(int(k), 4) for k in rng.permutation(16)[:12]]  # 4x4 with holes
    got = metrics.distance_preservation_quality(features, cells, p=p)
    assert got == pytest.approx(dpq_by_the_definition(features, cells, p), rel=1e-9)
    assert 0 <= got <= 1


def test_dpq_sampled_estimate_is_close_to_exact():
    rng = np.random.default_rng(0)
    xy = rng.uniform(size=(900, 2))
    rows, cols = grid.grid_shape(900)
    cells = grid.assign_to_grid(grid.scale_to_grid(xy, rows, cols), rows, cols)
    exact = metrics.distance_preservation_quality(xy, cells)
    sampled = metrics.distance_preservation_quality(xy, cells, max_exact=100, anchors=300)
    assert exact > 0.8 and sampled == pytest.approx(exact, abs=0.03)


def test_knn_label_accuracy_hand_computed():
    # two clean halves of a 2x4 grid: every sample's 3 nearest are mostly its own half
    cells = [(r, c) for r in range(2) for c in range(4)]
    labels = ["a", "a", "b", "b", "a", "a", "b", "b"]
    assert metrics.knn_label_accuracy(cells, labels, k=3) == 1.0
    # a 1x3 line a b a: the middle one's 2 neighbours say a (wrong), the ends
    # see b and a at distances 1 and 2 -> tie broken by the nearest (b, wrong)
    assert metrics.knn_label_accuracy([(0, 0), (0, 1), (0, 2)], ["a", "b", "a"], k=2) == 0.0


def test_label_disagreement_finds_flipped_labels():
    from gridtsne.core.curation import label_disagreement

    rng = np.random.default_rng(0)
    centers = rng.normal(size=(4, 16)) * 4
    truth = np.repeat(np.arange(4), 50)
    x = centers[truth] + rng.normal(size=(200, 16))
    labels = [str(t) for t in truth]
    flipped = [3, 60, 120, 170]
    for i in flipped:
        labels[i] = str((truth[i] + 1) % 4)
    labels[10] = None
    score = label_disagreement(x, labels)
    assert np.isnan(score[10]) and np.nanmin(score) >= 0 and np.nanmax(score) <= 1
    top = set(np.argsort(-np.nan_to_num(score, nan=-1))[:4].tolist())
    assert top == set(flipped)
    # one class only: nothing can disagree
    assert np.all(label_disagreement(x[:5], ["a"] * 5) == 0)


def test_nearest_above_the_exact_size_finds_most_true_neighbours_at_exact_distances(
        monkeypatch):
    """Above EXACT_MAX_N, Annoy on a PCA projection proposes and the exact
    cosine distances rank: most true neighbours found, each distance exact,
    never oneself, nearest first."""
    from gridtsne.core import neighbours

    rng = np.random.default_rng(0)
    # as embeddings are: most of the variance in a few directions
    latent = rng.normal(size=(40, 16))[rng.integers(0, 40, 3000)] + 0.5 * rng.normal(
        size=(3000, 16))
    x = (latent @ rng.normal(size=(16, 96)) + 0.05 * rng.normal(size=(3000, 96))).astype(
        np.float32)
    want_idx, want_dist = neighbours.nearest(x, 10)
    monkeypatch.setattr(neighbours, "EXACT_MAX_N", 1000)
    monkeypatch.setattr(neighbours, "PROJECTED_DIM", 24)
    monkeypatch.setattr(neighbours, "PCA_FIT_ON", 1500)
    idx, dist = neighbours.nearest(x, 10)
    assert idx.shape == dist.shape == (3000, 10)
    assert not (idx == np.arange(3000)[:, None]).any()
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(idx, want_idx)])
    assert recall > 0.85, recall
    u = neighbours.unit(x)
    exact = 1 - np.einsum("nd,nkd->nk", u, u[idx])
    assert np.allclose(dist, np.maximum(exact, 0), atol=1e-5)
    assert np.all(np.diff(dist, axis=1) >= -1e-6)
    # none is nearer than the true nearest: the distances are real ones
    assert np.all(dist[:, 0] >= want_dist[:, 0] - 1e-5)


def test_label_disagreement_on_a_capped_sample_still_finds_flipped_labels(monkeypatch):
    """PCA fitted on a sample and each model fitted on at most TRAIN_AT_MOST
    samples (rare classes kept): flipped labels still come out on top."""
    from gridtsne.core import curation

    monkeypatch.setattr(curation, "PCA_COMPONENTS", 8)
    monkeypatch.setattr(curation, "TRAIN_AT_MOST", 200)
    monkeypatch.setattr(curation, "MIN_PER_CLASS", 5)
    rng = np.random.default_rng(1)
    centers = rng.normal(size=(4, 32)) * 4
    truth = np.repeat(np.arange(4), 150)
    x = (centers[truth] + rng.normal(size=(600, 32))).astype(np.float32)
    labels = [str(t) for t in truth]
    flipped = [5, 160, 320, 470, 590]
    for i in flipped:
        labels[i] = str((truth[i] + 1) % 4)
    labels += ["rare", "rare"]  # two members, in two folds
    x = np.concatenate([x, rng.normal(size=(2, 32)).astype(np.float32) * 4])
    # the cap keeps the classes' shares, and every member of a small class
    members = np.array([0] * 900 + [1] * 90 + [2] * 3)
    picked = curation._capped(np.arange(993), members, np.random.default_rng(0))
    assert len(picked) <= 200 + 5 and np.bincount(members[picked]).tolist()[2] == 3
    assert 170 <= np.bincount(members[picked])[0] <= 185
    score = curation.label_disagreement(x, labels)
    assert np.all((score >= 0) & (score <= 1))
    top = set(np.argsort(-score)[:5].tolist())
    assert len(top & set(flipped)) >= 4, top


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(min_value=1, max_value=300),
    extra_rows=st.integers(min_value=0, max_value=3),
    extra_cols=st.integers(min_value=0, max_value=5),
    method=st.sampled_from(["auto", "exact", "blocks"]),
    clustered=st.booleans(),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_assign_to_grid_is_always_valid(n, extra_rows, extra_cols, method, clustered, seed):
    rng = np.random.default_rng(seed)
    rows, cols = grid.grid_shape(n)
    rows, cols = rows + extra_rows, cols + extra_cols
    if clustered:
        centers = rng.uniform(size=(3, 2))
        raw = centers[rng.integers(0, 3, n)] + rng.normal(0, 0.01, (n, 2))
    else:
        raw = rng.uniform(size=(n, 2))
    pts = grid.scale_to_grid(raw, rows, cols)
    cells = grid.assign_to_grid(pts, rows, cols, method=method)
    assert cells.shape == (n, 2) and cells.dtype.kind == "i"
    assert len({tuple(c) for c in cells}) == n
    assert (cells[:, 0] >= 0).all() and (cells[:, 0] < rows).all()
    assert (cells[:, 1] >= 0).all() and (cells[:, 1] < cols).all()
    if n <= 60:  # small enough to check against scipy's exact solver
        assert grid.assignment_cost(pts, cells) == pytest.approx(
            brute_force_cost(pts, rows, cols), rel=1e-6, abs=1e-9)


def _refine_objective(features, cells):
    """The refinement objective, computed the slow, obvious way."""
    from gridtsne.core.refine import RANK_WEIGHTS

    where = {tuple(c): i for i, c in enumerate(cells)}
    far = np.mean([np.linalg.norm(a - b) for a in features for b in features])
    total = 0.0
    for i, (r, c) in enumerate(cells):
        d = sorted(
            np.linalg.norm(features[i] - features[where[nb]]) if nb in where else far
            for nb in ((r, c + 1), (r + 1, c), (r, c - 1), (r - 1, c))
        )
        total += float(np.dot(d, RANK_WEIGHTS))
    return total


def test_refine_undoes_swaps_in_a_perfect_layout():
    from gridtsne.core.refine import refine_grid

    rows, cols = 6, 6
    perfect = np.stack(np.divmod(np.arange(rows * cols), cols), axis=1)
    features = perfect.astype(np.float64)  # features are the cell positions
    scrambled = perfect.copy()
    scrambled[[3, 20]] = scrambled[[20, 3]]
    scrambled[[8, 33]] = scrambled[[33, 8]]
    assert metrics.distance_preservation_quality(features, scrambled) < 0.99
    refined = refine_grid(features, scrambled, rows, cols)
    assert metrics.distance_preservation_quality(features, refined) == pytest.approx(1.0)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(min_value=1, max_value=80),
    extra=st.integers(min_value=0, max_value=6),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_refine_keeps_a_valid_layout_and_never_worsens_it(n, extra, seed):
    from gridtsne.core.refine import refine_grid

    rng = np.random.default_rng(seed)
    rows, cols = grid.grid_shape(n)
    cols += extra
    features = rng.normal(size=(n, 5))
    start = grid.assign_to_grid(rng.uniform(size=(n, 2)) * [cols - 1, rows - 1], rows, cols)
    refined = refine_grid(features, start, rows, cols, seed=seed)
    assert refined.shape == (n, 2) and len({tuple(c) for c in refined}) == n
    assert (refined >= 0).all() and (refined[:, 0] < rows).all() and (refined[:, 1] < cols).all()
    assert _refine_objective(features, refined) <= _refine_objective(features, start) + 1e-6


def test_refine_raises_dpq_on_digits():
    from sklearn.datasets import load_digits

    from gridtsne.core.refine import refine_grid

    x = load_digits().data[:400]
    rows, cols = grid.grid_shape(len(x))
    start = grid.assign_to_grid(grid.scale_to_grid(reduce.tsne_2d(x), rows, cols), rows, cols)
    refined = refine_grid(x, start, rows, cols)
    before = metrics.distance_preservation_quality(x, start)
    assert metrics.distance_preservation_quality(x, refined) > before + 0.01


def test_refine_above_the_dense_limit_works_window_by_window(monkeypatch):
    from sklearn.datasets import load_digits

    from gridtsne.core import refine

    x = load_digits().data[:400]
    rows, cols = 20, 21  # with holes
    start = grid.assign_to_grid(grid.scale_to_grid(reduce.tsne_2d(x), rows, cols), rows, cols)
    monkeypatch.setattr(refine, "REFINE_MAX_N", 100)
    monkeypatch.setattr(refine, "BLOCK_SIDE", 8)
    sizes = []
    dense = refine._refine_dense
    monkeypatch.setattr(refine, "_refine_dense",
                        lambda f, *a, **k: sizes.append(len(f)) or dense(f, *a, **k))
    fractions = []
    refined = refine.refine_grid(x, start, rows, cols, progress=fractions.append)
    assert max(sizes) <= 8 * 8 and sum(sizes) > len(x)  # every image, in two passes
    assert fractions[-1] == 1.0 and fractions == sorted(fractions)
    assert len({tuple(c) for c in refined}) == len(x)
    assert (refined >= 0).all() and (refined < [rows, cols]).all()
    before = metrics.distance_preservation_quality(x, start)
    assert metrics.distance_preservation_quality(x, refined) > before + 0.01
    # windows run in threads: the same cells whatever order they finish in
    one_thread = refine._refine_in_windows(x, start, rows, cols, 0, refine.MAX_ROUNDS,
                                           refine.MAX_STEP, None, 8, workers=1)
    np.testing.assert_array_equal(refined, one_thread)


def test_tile_pyramid_levels_overview_and_content(tmp_path):
    import xml.etree.ElementTree as ET

    from gridtsne.core import pyramid

    rng = np.random.default_rng(0)
    rows, cols, cell = 9, 14, 32  # 448 x 288 px: two tiles across, two down
    paths, colors = [], []
    for i in range(rows * cols - 3):  # three holes
        color = tuple(int(v) for v in rng.integers(0, 256, 3))
        path = str(tmp_path / ("%03d.png" % i))
        Image.new("RGB", (20, 20), color).save(path)
        paths.append(path)
        colors.append(color)
    cells = np.stack(np.divmod(rng.permutation(rows * cols)[: len(paths)], cols), axis=1)
    dzi, overview = pyramid.write_pyramid(paths, cells, rows, cols, str(tmp_path / "out"),
                                          cell_px=cell, overview_max_side=200)
    size = ET.parse(dzi).getroot()[0].attrib
    assert (int(size["Width"]), int(size["Height"])) == (cols * cell, rows * cell)
    levels = pyramid.level_sizes(cols * cell, rows * cell)
    assert levels[0] == (1, 1) and levels[-1] == (448, 288) and len(levels) == 10
    files = str(tmp_path / "out" / "mosaic_files")
    for lv, (w, h) in enumerate(levels):
        names = sorted(os.listdir(os.path.join(files, str(lv))))
        assert len(names) == -(-w // 256) * -(-h // 256), lv
        with Image.open(os.path.join(files, str(lv), "0_0.jpg")) as t:
            assert t.size == (min(w, 256), min(h, 256))
    assert overview.size == levels[-3]  # the largest level within 200 px
    # a cell's centre pixel at full resolution is its image's colour
    for i in (0, 50, len(paths) - 1):
        r, c = cells[i]
        x, y = c * cell + cell // 2, r * cell + cell // 2
        with Image.open(os.path.join(files, "9", "%d_%d.jpg" % (x // 256, y // 256))) as t:
            got = t.convert("RGB").getpixel((x % 256, y % 256))
        assert max(abs(a - b) for a, b in zip(got, colors[i])) <= 12


def test_saved_mosaics_are_readable_like_other_files(tmp_path):
    path = str(tmp_path / "m.jpg")
    render.save_image_atomic(Image.new("RGB", (8, 8)), path)
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask


def test_pixel_check_matches_pillow_and_tells_a_crop_from_another_picture():
    from PIL import ImageFilter, ImageOps

    from gridtsne.core import duplicates, pixels

    rng = np.random.default_rng(0)

    def picture(shape):
        noise = Image.fromarray((rng.random(shape) * 255).astype(np.uint8))
        return ImageOps.autocontrast(noise.filter(ImageFilter.GaussianBlur(3)))

    a, other = picture((60, 80)), picture((60, 80))
    # the batched weights resample as Pillow's BILINEAR resize does, crop by crop
    thumb = pixels._thumbnail(a)
    crops = pixels._descriptors(thumb[None])[0]
    assert len(crops) == len(pixels.CROPS) == 285
    for c, (scale, ox, oy) in enumerate(pixels.CROPS):
        h, w = thumb.shape
        x0, y0 = (w - w * scale) * ox, (h - h * scale) * oy
        ref = np.asarray(Image.fromarray(thumb).resize(
            (16, 16), Image.BILINEAR, box=(x0, y0, x0 + w * scale, y0 + h * scale)), np.float32)
        ref = (ref - ref.mean()).ravel()
        assert crops[c] @ (ref / np.linalg.norm(ref)) > 0.998, (scale, ox, oy)
    copy = a.crop((6, 4, 74, 58)).resize((51, 40), Image.BICUBIC)
    # (0.85 x 0.9 of the picture: the lattice's crops keep the aspect, so not 0.99)
    assert duplicates.pixel_similarity(pixels._thumbnail(a), pixels._thumbnail(copy)) > 0.97
    assert duplicates.pixel_similarity(pixels._thumbnail(a), pixels._thumbnail(other)) < 0.6
    # many pairs at once give what one pair at a time does, whatever the shapes
    thumbs = [pixels._thumbnail(x) for x in (a, copy, other, a.transpose(Image.ROTATE_90))]
    whole = duplicates.whole_descriptors(thumbs)
    pairs = np.array([[0, 1], [0, 2], [1, 2], [0, 3], [2, 3], [1, 0]])
    batched = duplicates.pair_similarity(thumbs, whole, pairs)
    one_by_one = [duplicates.pixel_similarity(thumbs[i], thumbs[j]) for i, j in pairs]
    np.testing.assert_allclose(batched, one_by_one, atol=1e-5)


def test_second_moments_are_those_of_the_convolutions_input_patches():
    import torch

    from gridtsne.core import gptq

    x = np.random.default_rng(0).standard_normal((2, 3, 9, 8)).astype(np.float32)
    pads = (0, 0, 1, 1)  # ONNX's (top, left, bottom, right), as TF's "same" padding exports
    padded = torch.nn.functional.pad(torch.from_numpy(x), (0, 1, 0, 1)).double()
    patches = torch.nn.functional.unfold(padded, (3, 3), stride=2)  # (N, C*9, L)
    rows = patches.permute(0, 2, 1).reshape(-1, 27).numpy()
    assert np.allclose(gptq.second_moments(x, (3, 3), (2, 2), pads), rows.T @ rows, atol=1e-4)
    per_channel = patches.reshape(2, 3, 9, -1).permute(1, 0, 3, 2).reshape(3, -1, 9).numpy()
    depthwise = gptq.second_moments(x, (3, 3), (2, 2), pads, groups=3)
    assert depthwise.shape == (3, 9, 9)
    for c in range(3):
        assert np.allclose(depthwise[c], per_channel[c].T @ per_channel[c], atol=1e-4)
    pixels = x.transpose(0, 2, 3, 1).reshape(-1, 3)
    assert np.allclose(gptq.second_moments(x, (1, 1)), pixels.T @ pixels, atol=1e-4)


@pytest.mark.parametrize("depthwise", [False, True])
def test_gptq_rounding_leaves_less_output_error_than_rounding_to_nearest(depthwise):
    from gridtsne.core import gptq

    rng = np.random.default_rng(1)
    rows, k, qmax = 24, 25 if depthwise else 64, 64
    # correlated inputs, as neighbouring pixels and channels are
    mix = rng.standard_normal((k, k)) * 0.3 + np.eye(k)
    x = rng.standard_normal((rows if depthwise else 1, 4000, k)) @ mix
    h = np.einsum("rnk,rnj->rkj", x, x) if depthwise else x[0].T @ x[0]
    w = rng.standard_normal((rows, k))
    q, scale = gptq.round_weights(w, h, qmax)
    assert q.shape == w.shape and np.array_equal(q, np.round(q))
    assert np.abs(q).max() <= qmax
    # each row's largest weight stays at the end of the grid, so a quantizer that
    # derives the scale from the rounded weights finds the same one
    assert np.array_equal(np.abs(q).max(axis=1), np.full(rows, qmax))
    assert np.allclose(scale, np.abs(w).max(axis=1) / qmax)
    nearest = np.clip(np.round(w / scale[:, None]), -qmax, qmax)

    def output_error(ints):
        d = w - ints * scale[:, None]
        return np.einsum("rk,rkj,rj->", d, h, d) if depthwise else np.einsum(
            "rk,kj,rj->", d, h, d)

    assert output_error(q) < 0.7 * output_error(nearest)  # 0.55 here
