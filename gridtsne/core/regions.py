"""Regions: the grid cut into contiguous areas of similar images, each named.

A large mosaic cannot be read cell by cell; a map of named areas can. The
regions are clusters of the t-SNE map made contiguous on the grid:

1. k-means on the t-SNE coordinates (k from :func:`region_count`): t-SNE has
   already pulled the embedding's clusters apart, and the grid follows it,
   so its clusters are purer than those of the features themselves and are
   nearly contiguous on the grid already;
2. one majority (mode) filter pass on the grid smooths ragged borders;
3. each cluster's 4-connected components become candidate regions; those
   smaller than ``min_size`` join the neighbour they share the longest border
   with, and while there are more than k, the smallest joins the neighbour
   whose mean t-SNE position is closest.

The alternatives measured (k-means on the features, grid-smoothed features,
connectivity-constrained Ward) and the figures: docs/design.md ("Regions") and
docs/benchmarks.md. No library clusters under a grid's connectivity at
1,000,000 cells (sklearn's connectivity-constrained Ward is far too slow
there), hence steps 2-3, each a numpy/scipy call.
"""

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

MIN_REGIONS, MAX_REGIONS = 6, 64
FIT_AT_MOST = 50_000  # mini-batch k-means above this many cells (same clusters, far faster)


def region_count(n):
    """How many regions a grid of ``n`` placed images gets: about one per 100
    images, within [MIN_REGIONS, MAX_REGIONS] (fewer when there are fewer images)."""
    return int(min(max(round(n / 100.0), MIN_REGIONS), MAX_REGIONS, max(n // 4, 1)))


@dataclass
class Regions:
    """``region[i]``: the region of sample i (an index into ``regions``);
    ``regions``: one dict per region, largest first (see :func:`describe`)."""

    region: np.ndarray
    regions: list = field(default_factory=list)


def find_regions(xy, cells, rows, cols, features=None, labels=None, names=None, k=None,
                 seed=0, progress=None):
    """Partitions the placed cells into contiguous named regions.

    Args:
        xy: (N, 2) t-SNE coordinates of the placed items
        cells: (N, 2) distinct int (row, col)
        features: optional (N, D) features in the layout's metric space: the
            representative is the member nearest to its region's mean feature
            (without them, its mean t-SNE position)
        labels: optional N labels (None: unlabelled); a region is named after
            its majority label
        names: optional N class names (e.g. the ImageNet class the network
            sees), used for the name when there are no labels
        k: the number of clusters (default :func:`region_count`)
        progress: optional ``progress(fraction)``

    Returns:
        :class:`Regions`
    """
    cells = np.asarray(cells, dtype=np.int64)
    xy = np.asarray(xy, dtype=np.float64)
    n = len(cells)
    if n == 0:
        return Regions(np.zeros(0, np.int64), [])
    k = min(k or region_count(n), n)
    cluster = _kmeans(xy, k, seed)
    if progress:
        progress(0.5)
    grid = np.full((rows, cols), -1, np.int64)
    grid[cells[:, 0], cells[:, 1]] = cluster
    comp = _components(_mode_filter(grid, k), k)
    comp = _merge(comp, xy, cells, max(3, n // (k * 4)), k)
    region = comp[cells[:, 0], cells[:, 1]]
    # numbered largest first
    ids, counts = np.unique(region, return_counts=True)
    order = ids[np.lexsort((ids, -counts))]
    renumber = np.empty(ids.max() + 1, np.int64)
    renumber[order] = np.arange(len(order))
    region = renumber[region]
    out = Regions(region, describe(region, xy if features is None else features, cells,
                                   labels, names))
    if progress:
        progress(1.0)
    return out


def describe(region, features, cells, labels=None, names=None):
    """One dict per region: ``name``, ``count``, ``cells`` ([[row, col], ...]),
    ``label`` and ``label_share`` (None without labels), ``representative``
    (the index of its most central member: nearest to its mean feature) and
    ``centre`` ([row, col], where its name is drawn: the member cell nearest
    to the region's mean cell, so it lies inside the region)."""
    out = []
    x = np.asarray(features)
    order = np.argsort(region, kind="stable")
    bounds = np.searchsorted(region[order], np.arange(int(region.max()) + 2 if len(region) else 0))
    for r in range(len(bounds) - 1):
        members = order[bounds[r]:bounds[r + 1]]
        mine = x[members].astype(np.float64)
        central = members[int(np.argmin(((mine - mine.mean(axis=0)) ** 2).sum(axis=1)))]
        rc = cells[members]
        mid = rc.mean(axis=0)
        centre = rc[int(np.argmin(((rc - mid) ** 2).sum(axis=1)))]
        label, share = _majority(labels, members)
        entry = {"id": r, "count": int(len(members)), "cells": rc.tolist(),
                 "label": label, "label_share": share, "representative": int(central),
                 "centre": [int(centre[0]), int(centre[1])]}
        entry["name"] = region_name(r, label, share, _common_names(names, members))
        out.append(entry)
    return out


def region_name(r, label, share, common):
    """"bus 94%" with labels, else the most common class names ("school bus"),
    else "region 3"."""
    if label is not None:
        return "%s %d%%" % (label, int(round(100 * share)))
    if common:
        return " / ".join(common)
    return "region %d" % (r + 1)


def _majority(labels, members):
    if labels is None:
        return None, None
    votes = Counter(labels[i] for i in members if labels[i] is not None)
    if not votes:
        return None, None
    label, count = max(votes.items(), key=lambda kv: (kv[1], str(kv[0])))
    return label, count / float(len(members))


def _common_names(names, members, second_share=0.25):
    """The most common name of the members, and the second when it names a
    quarter of them too ("school bus / trolleybus")."""
    if names is None:
        return []
    votes = Counter(names[i] for i in members if names[i])
    if not votes:
        return []
    top = sorted(votes.items(), key=lambda kv: (-kv[1], kv[0]))[:2]
    out = [top[0][0]]
    if len(top) > 1 and top[1][1] >= second_share * len(members):
        out.append(top[1][0])
    return out


def _kmeans(z, k, seed):
    from sklearn.cluster import KMeans, MiniBatchKMeans

    if len(z) <= FIT_AT_MOST:
        return KMeans(k, n_init=3, random_state=seed).fit_predict(z)
    model = MiniBatchKMeans(k, n_init=3, random_state=seed, batch_size=4096).fit(z)
    return model.predict(z)


def _mode_filter(grid, k):
    """Each occupied cell takes the most common cluster of its occupied 3 x 3
    neighbourhood (itself included; ties keep its own)."""
    from scipy.ndimage import uniform_filter

    occupied = grid >= 0
    best = grid.copy()
    best_count = np.zeros(grid.shape)
    own = np.zeros(grid.shape)
    for c in range(k):
        count = uniform_filter((grid == c).astype(np.float32), size=3, mode="constant")
        mine = grid == c
        own[mine] = count[mine]
        better = occupied & (count > best_count + 1e-6)
        best[better] = c
        best_count[better] = count[better]
    keep = own >= best_count - 1e-6
    best[keep] = grid[keep]
    return np.where(occupied, best, -1)


def _components(grid, k):
    """Component ids (4-connected, per cluster) on the grid, -1 where empty."""
    from scipy.ndimage import label

    comp = np.full(grid.shape, -1, np.int64)
    top = 0
    for c in range(k):
        labelled, found = label(grid == c)
        inside = labelled > 0
        comp[inside] = labelled[inside] - 1 + top
        top += found
    return comp


def _adjacent_pairs(comp):
    """(a, b, border length) of every pair of different components that touch."""
    pairs = []
    for a, b in ((comp[:, :-1], comp[:, 1:]), (comp[:-1, :], comp[1:, :])):
        touch = (a >= 0) & (b >= 0) & (a != b)
        lo, hi = np.minimum(a[touch], b[touch]), np.maximum(a[touch], b[touch])
        pairs.append(np.stack([lo, hi], axis=1))
    both = np.concatenate(pairs)
    if not len(both):
        return np.zeros((0, 2), np.int64), np.zeros(0, np.int64)
    found, counts = np.unique(both, axis=0, return_counts=True)
    return found, counts


def _merge(comp, z, cells, min_size, max_regions):
    """Joins components: small ones into their longest-border neighbour, then
    the smallest into its most similar neighbour while there are too many."""
    ids = comp[cells[:, 0], cells[:, 1]]
    n_comp = int(ids.max()) + 1
    size = np.bincount(ids, minlength=n_comp).astype(np.int64)
    total = np.zeros((n_comp, z.shape[1]))
    np.add.at(total, ids, z)
    parent = np.arange(n_comp)
    border = {}
    found, counts = _adjacent_pairs(comp)
    for (a, b), c in zip(found.tolist(), counts.tolist()):
        border.setdefault(a, {})[b] = c
        border.setdefault(b, {})[a] = c

    def join(small, into):
        parent[small] = into
        size[into] += size[small]
        size[small] = 0
        total[into] += total[small]
        for other, length in border.pop(small, {}).items():
            nb = border[other]
            nb.pop(small, None)
            if other != into:
                nb[into] = nb.get(into, 0) + length
                border[into][other] = border[into].get(other, 0) + length
        border[into].pop(small, None)

    alive = set(np.flatnonzero(size).tolist())
    for small in sorted(alive, key=lambda c: (size[c], c)):
        if size[small] == 0 or size[small] >= min_size or not border.get(small):
            continue
        into = max(border[small].items(), key=lambda kv: (kv[1], size[kv[0]], -kv[0]))[0]
        join(small, into)
    alive = {c for c in alive if size[c] > 0}
    while len(alive) > max_regions:
        movable = [c for c in alive if border.get(c)]
        if not movable:
            break
        small = min(movable, key=lambda c: (size[c], c))
        mean = total[small] / size[small]
        into = min(border[small], key=lambda o: (
            float(((total[o] / size[o] - mean) ** 2).sum()), o))
        join(small, into)
        alive.discard(small)
    # every component to the root it joined
    for c in range(n_comp):
        root = c
        while parent[root] != root:
            root = parent[root]
        parent[c] = root
    out = np.full(comp.shape, -1, np.int64)
    out[cells[:, 0], cells[:, 1]] = parent[ids]
    return out
