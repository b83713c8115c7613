"""Places new images into an existing grid without moving the old ones.

New t-SNE coordinates come from openTSNE's ``transform`` against the old
embedding; the old layout's own map from t-SNE coordinates to cells (an
affine fit) turns them into target positions on the grid; the grid grows by
whole rows or columns (at the bottom or the right, so no old cell changes)
when there are not enough free cells; the new images take free cells by an
assignment on squared distances to their targets, and refinement then swaps
only new images and empty cells, beside their most similar neighbours.
"""

import numpy as np

from . import reduce, refine


def grown_shape(rows, cols, n):
    """(rows, cols) with at least n cells, grown from rows x cols by adding
    rows or columns alternately, whichever keeps the grid nearer square."""
    while rows * cols < n:
        if cols <= rows:
            cols += 1
        else:
            rows += 1
    return rows, cols


def targets(xy_old, cells_old, xy_new):
    """Grid positions (row, col) for new t-SNE points, by the affine map that
    best fits the old points to their cells (least squares)."""
    design = np.column_stack([xy_old, np.ones(len(xy_old))])
    coef, *_ = np.linalg.lstsq(design, np.asarray(cells_old, dtype=np.float64), rcond=None)
    return np.column_stack([xy_new, np.ones(len(xy_new))]) @ coef


def assign_free(positions, free_cells):
    """Distinct cells from ``free_cells`` for ``positions``, minimising the summed
    squared distance (exact; greedy nearest-first when the matrix would be huge)."""
    positions = np.asarray(positions, dtype=np.float64)
    free_cells = np.asarray(free_cells, dtype=np.int64)
    cost = ((positions[:, None, :] - free_cells[None, :, :]) ** 2).sum(-1) if (
        len(positions) * len(free_cells) <= 20_000_000) else None
    if cost is not None:
        from scipy.optimize import linear_sum_assignment

        rows, cols = linear_sum_assignment(cost)
        out = np.empty((len(positions), 2), dtype=np.int64)
        out[rows] = free_cells[cols]
        return out
    taken = np.zeros(len(free_cells), dtype=bool)
    out = np.empty((len(positions), 2), dtype=np.int64)
    for i, p in enumerate(positions):
        d = ((free_cells - p) ** 2).sum(1)
        d[taken] = np.inf
        j = int(np.argmin(d))
        taken[j] = True
        out[i] = free_cells[j]
    return out


def place_new(features_old, xy_old, cells_old, rows, cols, features_new, *,
              perplexity=None, metric=reduce.DEFAULT_METRIC, seed=0, refine_cells=True):
    """Cells for new images; old cells stay exactly where they are.

    Returns:
        (xy_new (M, 2), cells of all N + M images (old first), rows, cols)
    """
    cells_old = np.asarray(cells_old, dtype=np.int64)
    xy_new = reduce.tsne_transform(features_old, xy_old, features_new,
                                   perplexity=perplexity, metric=metric, seed=seed)
    n, m = len(cells_old), len(xy_new)
    rows, cols = grown_shape(rows, cols, n + m)
    taken = np.zeros((rows, cols), dtype=bool)
    taken[cells_old[:, 0], cells_old[:, 1]] = True
    free = np.argwhere(~taken)
    goal = targets(xy_old, cells_old, xy_new)
    goal = np.clip(goal, 0, [rows - 1, cols - 1])
    cells = np.concatenate([cells_old, assign_free(goal, free)])
    if refine_cells and features_old is not None:
        features = reduce.in_metric_space(np.concatenate([
            np.asarray(features_old, dtype=np.float32),
            np.asarray(features_new, dtype=np.float32)]), metric)
        movable = np.concatenate([np.zeros(n, bool), np.ones(m, bool)])
        cells = refine.refine_grid(features, cells, rows, cols, seed=seed, movable=movable)
    return xy_new, cells, rows, cols

