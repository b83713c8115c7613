"""Places new images into an existing grid.

New t-SNE coordinates come from openTSNE's ``transform`` against the old
embedding; the old layout's own map from t-SNE coordinates to cells (an
affine fit) turns them into target positions on the grid. When the free
cells are enough, the old images keep their cells: the new ones take free
cells by an assignment on squared distances to their targets, and refinement
then swaps only new images and empty cells, beside their most similar
neighbours.

When the grid has to grow, keeping the old cells would pack the old images
into one corner and the new ones into a band along two edges (measured on
recaptcha-dev, 600 + 424: DPQ_16 0.93 -> 0.84, against 0.92 for a fresh
run). The old layout is stretched over the grown grid instead: every image,
old and new, is assigned a cell near its stretched position, so the old
images keep their arrangement (who is beside whom, which region is where)
and refinement then works on all of them, as in a fresh run.
"""

import numpy as np

from . import reduce, refine
from .grid import assign_to_grid


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


def stretched(cells, rows, cols, new_rows, new_cols):
    """Where cells of a rows x cols grid fall, as (row, col) floats, when the
    grid is stretched to new_rows x new_cols (cell centres map to centres)."""
    cells = np.asarray(cells, dtype=np.float64)
    return (cells + 0.5) * np.array([new_rows / rows, new_cols / cols]) - 0.5


def place_new(features_old, xy_old, cells_old, rows, cols, features_new, *,
              perplexity=None, metric=reduce.DEFAULT_METRIC, seed=0, refine_cells=True):
    """Cells for new images, and for the old ones: the same cells when the
    grid need not grow, their layout stretched over the grown grid when it
    must (see the module's docstring).

    Returns:
        (xy_new (M, 2), cells of all N + M images (old first), rows, cols,
        whether the old images moved)
    """
    cells_old = np.asarray(cells_old, dtype=np.int64)
    xy_new = reduce.tsne_transform(features_old, xy_old, features_new,
                                   perplexity=perplexity, metric=metric, seed=seed)
    n, m = len(cells_old), len(xy_new)
    new_rows, new_cols = grown_shape(rows, cols, n + m)
    spread = (new_rows, new_cols) != (rows, cols)
    if spread:
        old_goal = stretched(cells_old, rows, cols, new_rows, new_cols)
        goal = np.clip(targets(xy_old, old_goal, xy_new), 0, [new_rows - 1, new_cols - 1])
        every = np.concatenate([old_goal, goal])
        cells = assign_to_grid(every[:, ::-1], new_rows, new_cols)  # points are (x, y)
    else:
        taken = np.zeros((rows, cols), dtype=bool)
        taken[cells_old[:, 0], cells_old[:, 1]] = True
        goal = np.clip(targets(xy_old, cells_old, xy_new), 0, [rows - 1, cols - 1])
        cells = np.concatenate([cells_old, assign_free(goal, np.argwhere(~taken))])
    if refine_cells and features_old is not None:
        features = reduce.in_metric_space(np.concatenate([
            np.asarray(features_old, dtype=np.float32),
            np.asarray(features_new, dtype=np.float32)]), metric)
        movable = None if spread else np.concatenate([np.zeros(n, bool), np.ones(m, bool)])
        cells = refine.refine_grid(features, cells, new_rows, new_cols, seed=seed,
                                   movable=movable)
    return xy_new, cells, new_rows, new_cols, spread

