"""How well a grid keeps similar images together."""

import numpy as np


def neighbor_label_agreement(cells, labels):
    """Share of 4-adjacent occupied cell pairs whose samples share a label.

    Samples without a label (None) take no part in any pair.

    Args:
        cells: (N, 2) int (row, col)
        labels: N labels

    Returns:
        a float in [0, 1], or nan when there is no labelled adjacent pair
    """
    cells = np.asarray(cells, dtype=np.int64)
    where = {(int(r), int(c)): i for i, (r, c) in enumerate(cells)}
    same = total = 0
    for (r, c), i in where.items():
        for nb in ((r, c + 1), (r + 1, c)):
            j = where.get(nb)
            if j is None or labels[i] is None or labels[j] is None:
                continue
            total += 1
            same += labels[i] == labels[j]
    return same / total if total else float("nan")


# Above this many samples DPQ averages over a random subset of anchor samples
# (each still ranked against all samples), which estimates the same means.
DPQ_EXACT_MAX_N = 10_000
DPQ_SAMPLE_ANCHORS = 2_000


def distance_preservation_quality(features, cells, p=16, max_exact=DPQ_EXACT_MAX_N,
                                  anchors=DPQ_SAMPLE_ANCHORS, seed=0, chunk=None):
    """DPQ_p of Barthel, Hezel, Jung and Schall (CGF 2023).

    For every k, compares the mean Euclidean feature distance of each sample
    to its k nearest grid neighbours (grid distance, ties ordered by feature
    distance) with the same mean over its k nearest feature-space neighbours:
    DP_k = max(0, 1 - D_grid(k) / D_mean) and DP*_k = 1 - D_hd(k) / D_mean, and
    DPQ_p = ||DP||_p / ||DP*||_p over k = 1..N-1. Only occupied cells count.
    Exact up to ``max_exact`` samples; above, D_grid and D_hd are averaged
    over ``anchors`` random samples (a sampled estimate).

    Returns:
        a float in [0, 1]; 1 for a layout that keeps every neighbourhood
    """
    x = np.asarray(features)
    if x.dtype != np.float32:  # float32 stays: no 2x copy of large embeddings
        x = x.astype(np.float64)
    g = np.asarray(cells, dtype=np.int32)  # squared grid distances fit below 46,341 a side
    n = len(x)
    if n < 2:
        return 1.0
    rows = np.arange(n)
    if n > max_exact:
        rows = np.sort(np.random.default_rng(seed).choice(n, anchors, replace=False))
    sq = np.einsum("ij,ij->i", x, x)  # no N x D temporary
    # Grid order: integer squared grid distance, ties broken by feature
    # distance. Sorting the key "grid distance + t" (3x faster than argsorting
    # it) and keeping its fraction gives the feature distances in grid order,
    # where t is the distance in units below every possible one (twice the
    # largest norm bounds it), rounded to as many binary places as the key
    # holds exactly: D_hd and D_grid then add up the very same numbers, and
    # DPQ, a ratio of means, does not depend on the unit.
    reach = int(((g.max(0) - g.min(0)).astype(np.int64) ** 2).sum()) + 1
    step = 2.0 ** -(52 - reach.bit_length())
    per_step = 1.0 / (4 * np.sqrt(float(sq.max())) + 1e-300) / step
    d_hd = np.zeros(n)
    d_grid = np.zeros(n)
    # anchors per chunk: each temporary is chunk x N, at most 64M values (at
    # 1,000,000 samples 64 anchors: fewer passes over the features than 16,
    # about 1.8 GB of temporaries)
    chunk = chunk or max(1, min(256, 64_000_000 // n))
    for start in range(0, len(rows), chunk):
        idx = rows[start:start + chunk]
        self_ = (np.arange(len(idx)), idx)
        dist = x[idx] @ x.T  # then in place: one chunk x N array, not five
        dist *= -2
        dist += sq[None, :]
        dist += sq[idx, None]
        np.sqrt(np.maximum(dist, 0, out=dist), out=dist)
        t = dist.astype(np.float64)
        del dist
        t *= per_step
        np.rint(t, out=t)
        t *= step
        t[self_] = 0.0  # self first, at distance 0
        rows_d = g[idx, None, 0] - g[None, :, 0]
        cols_d = g[idx, None, 1] - g[None, :, 1]
        key = (rows_d * rows_d + cols_d * cols_d).astype(np.float64)
        del rows_d, cols_d
        key[self_] = -1.0  # self first
        key += t
        key.sort(axis=1)
        key -= np.floor(key)
        d_grid += key.sum(0)
        del key
        t.sort(axis=1)
        d_hd += t.sum(0)
    k = np.arange(1, n)
    mean_hd = np.cumsum(d_hd)[1:] / (k * len(rows))
    mean_grid = np.cumsum(d_grid)[1:] / (k * len(rows))
    d_mean = mean_hd[-1]
    if d_mean == 0:
        return 1.0
    dp = np.maximum(0.0, 1 - mean_grid / d_mean)
    dp_opt = 1 - mean_hd / d_mean
    # p-norms via the maximum, so that large p does not underflow
    top = dp_opt.max()
    if top <= 0:
        return 1.0
    return float(((dp / top) ** p).sum() ** (1 / p) / ((dp_opt / top) ** p).sum() ** (1 / p))


def knn_label_accuracy(cells, labels, k=10):
    """Leave-one-out k-NN label accuracy using grid positions as coordinates.

    Unlabelled samples are left out; ties in the vote go to the label of the
    nearest of the tied neighbours.
    """
    from sklearn.neighbors import NearestNeighbors

    keep = [i for i, l in enumerate(labels) if l is not None]
    if len(keep) < 2:
        return float("nan")
    pos = np.asarray(cells, dtype=np.float64)[keep]
    lab = [labels[i] for i in keep]
    k = min(k, len(keep) - 1)
    _, nbrs = NearestNeighbors(n_neighbors=k + 1).fit(pos).kneighbors(pos)
    correct = 0
    for i, row in enumerate(nbrs):
        votes = [lab[j] for j in row if j != i][:k]
        counts = {}
        for v in votes:
            counts[v] = counts.get(v, 0) + 1
        best = max(counts.values())
        winner = next(v for v in votes if counts[v] == best)
        correct += winner == lab[i]
    return correct / len(keep)


# the layout-quality figures an update of a run is judged by
QUALITY_METRICS = ("dpq_16", "neighbor_label_agreement")


def quality_change(before, after, tolerance=0.02):
    """How the layout-quality figures moved between two layouts of a run (a run
    extended with new items against the run before): each figure's before and
    after, and ``fell`` when any dropped by more than ``tolerance``. Placing
    many new items into an existing grid cannot reorder the old ones, so the
    layout can end up well below what a fresh run would reach."""
    changed, fell = {}, False
    for name in QUALITY_METRICS:
        b, a = before.get(name), after.get(name)
        if not all(isinstance(v, (int, float)) and np.isfinite(v) for v in (b, a)):
            continue
        changed[name] = {"before": float(b), "after": float(a)}
        fell = fell or float(b) - float(a) > tolerance
    return {"metrics": changed, "fell": fell, "tolerance": tolerance}


# the metrics as a user reads them (panel, update_grid's result); the docs
# give their definitions (DPQ_16: distance preservation of 16-neighbourhoods)
PLAIN_NAMES = {"dpq_16": "layout quality", "neighbor_label_agreement": "same-label neighbours",
               "knn10_label_accuracy": "label of the 10 nearest"}


def update_summary(report):
    """One paragraph on what ``update_grid`` did (its ``update_report``)."""
    names = PLAIN_NAMES
    (r0, c0), (r1, c1) = report["grid_before"], report["grid"]
    out = "Placed %d new sample%s" % (report["placed"], "" if report["placed"] == 1 else "s")
    out += (" into the %d x %d grid" % (r1, c1) if (r0, c0) == (r1, c1)
            else "; the grid grew from %d x %d to %d x %d" % (r0, c0, r1, c1))
    if report["skipped"]:
        out += " (%d skipped)" % report["skipped"]
    moved = ", ".join("%s %.3f -> %.3f" % (names[k], v["before"], v["after"])
                      for k, v in report["metrics"].items())
    if moved:
        out += ". Layout quality: " + moved
    if report.get("moved"):
        out += (". The samples placed before were spread over the grown grid in the same "
                "arrangement")
    if report["fell"]:
        out += (". That is more than %.2f below the run before. Recompute the run "
                "(compute_grid with overwrite=True) to lay all of them out as well as a "
                "fresh run does" % report["tolerance"])
    return out + "."
