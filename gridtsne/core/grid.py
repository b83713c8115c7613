"""Snapping 2-D points onto a rows x cols grid, one point per cell.

The cost of putting a point in a cell is the squared Euclidean distance to the
cell centre. Squared (not plain) distances matter: with plain distances the
optimum happily moves many points a little *and* a few points very far, which
tears clusters apart (measured on recaptcha-dev: 0.71 vs 0.62 neighbour label
agreement).
"""

import math

import numpy as np

# Dense LAP needs an N x cells matrix: 4096 cells are 128 MiB of float64 and
# a few seconds of lapjv, which is where exactness stops being cheap.
EXACT_MAX_CELLS = 4096


def grid_shape(n, rows=None, cols=None):
    """A near-square (rows, cols) with rows * cols >= n; either may be fixed.

    Raises:
        ValueError: if the given shape has fewer than ``n`` cells
    """
    if n < 1:
        raise ValueError("Cannot lay out %d samples on a grid" % n)
    if rows is None and cols is None:
        cols = math.ceil(math.sqrt(n))
        rows = math.ceil(n / cols)
    elif rows is None:
        rows = math.ceil(n / cols)
    elif cols is None:
        cols = math.ceil(n / rows)
    rows, cols = int(rows), int(cols)
    if rows < 1 or cols < 1:
        raise ValueError("Grid shape must be positive, got %dx%d" % (rows, cols))
    if rows * cols < n:
        raise ValueError(
            "A %dx%d grid has %d cells, too few for %d samples"
            % (rows, cols, rows * cols, n)
        )
    return rows, cols


def scale_to_grid(points, rows, cols):
    """Maps (N, 2) points (x, y) linearly onto [0, cols-1] x [0, rows-1]."""
    points = np.asarray(points, dtype=np.float64)
    lo = points.min(axis=0)
    span = points.max(axis=0) - lo
    span[span == 0] = 1.0
    unit = (points - lo) / span
    return unit * np.array([cols - 1, rows - 1], dtype=np.float64)


def cell_centres(rows, cols):
    """(rows*cols, 2) centres as (x, y), row-major: cell k is (k // cols, k % cols)."""
    r, c = np.divmod(np.arange(rows * cols), cols)
    return np.stack([c, r], axis=1).astype(np.float64)


def assignment_cost(points, cells):
    """Sum of squared distances between points (x, y) and their cells (row, col)."""
    points = np.asarray(points, dtype=np.float64)
    cells = np.asarray(cells)
    return float(((points - cells[:, ::-1]) ** 2).sum())


def assign_to_grid(points, rows, cols, method="auto"):
    """Gives every point its own cell, minimising the total squared distance.

    Args:
        points: (N, 2) array of (x, y) already in grid units
        rows, cols: the grid shape, rows * cols >= N
        method: ``"exact"`` (dense Jonker-Volgenant, O(N^2) memory),
            ``"blocks"`` (O(N) memory, see :func:`_assign_blocks`) or
            ``"auto"`` (exact up to :data:`EXACT_MAX_CELLS` cells)

    Returns:
        (N, 2) int array of distinct (row, col)
    """
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError("points must be an (N, 2) array, got %s" % (points.shape,))
    n = len(points)
    rows, cols = grid_shape(n, rows, cols)
    if method == "auto":
        method = "exact" if rows * cols <= EXACT_MAX_CELLS else "blocks"
    if method == "exact":
        return _assign_exact(points, rows, cols)
    if method == "blocks":
        return _assign_blocks(points, rows, cols)
    raise ValueError(
        "Unknown assignment method %r (use 'auto', 'exact' or 'blocks')" % method
    )


def _assign_exact(points, rows, cols):
    from lapjv import lapjv

    centres = cell_centres(rows, cols)
    cost = np.zeros((len(centres), len(centres)), dtype=np.float64)
    # rows beyond N are empty-cell placeholders with zero cost everywhere
    cost[: len(points)] = ((points[:, None, :] - centres[None, :, :]) ** 2).sum(-1)
    point_to_cell = lapjv(cost)[0][: len(points)]
    r, c = np.divmod(point_to_cell.astype(np.int64), cols)
    return np.stack([r, c], axis=1)


def _lap_cells(points, cell_ids, cols):
    """Exact LAP of ``points`` onto the given cells (len(cell_ids) >= len(points))."""
    from lapjv import lapjv

    r, c = np.divmod(cell_ids, cols)
    centres = np.stack([c, r], axis=1).astype(np.float64)
    cost = np.zeros((len(cell_ids), len(cell_ids)), dtype=np.float64)
    cost[: len(points)] = ((points[:, None, :] - centres[None, :, :]) ** 2).sum(-1)
    return cell_ids[lapjv(cost)[0][: len(points)]]


def _split_counts(n, capacities):
    """Splits n items over bins in proportion to their capacities, never above."""
    capacities = np.asarray(capacities, dtype=np.int64)
    share = capacities * (n / capacities.sum())
    counts = np.floor(share).astype(np.int64)
    order = np.argsort(-(share - counts), kind="stable")
    counts[order[: n - counts.sum()]] += 1
    return counts


def _assign_blocks(points, rows, cols, block=32, passes=2):
    """Scalable assignment: balanced partition into blocks, then exact LAP.

    Points are cut into horizontal bands by y rank and each band into blocks
    by x rank, each part sized to the cells of its block, so every block is
    an exact, dense LAP of at most ``block**2`` cells. Seams between blocks
    are then repaired by re-solving exact LAPs on windows shifted by half a
    block; each window step can only lower the total cost. Memory is O(N)
    plus one block's matrix. Written here because lapjv/lap only offer dense
    or sparse whole-problem solvers, which do not fit in memory at 10^5+.
    """
    if rows <= block and cols <= block:  # one block: that is the exact problem
        return _assign_exact(points, rows, cols)
    n = len(points)
    assigned = np.empty(n, dtype=np.int64)
    band_starts = list(range(0, rows, block))
    band_caps = [min(block, rows - r0) * cols for r0 in band_starts]
    by_y = np.argsort(points[:, 1], kind="stable")
    start = 0
    for r0, band_n in zip(band_starts, _split_counts(n, band_caps)):
        band = by_y[start : start + band_n]
        start += band_n
        r1 = min(r0 + block, rows)
        col_starts = list(range(0, cols, block))
        caps = [(r1 - r0) * (min(c0 + block, cols) - c0) for c0 in col_starts]
        by_x = band[np.argsort(points[band, 0], kind="stable")]
        s = 0
        for c0, k in zip(col_starts, _split_counts(band_n, caps)):
            members = by_x[s : s + k]
            s += k
            rr, cc = np.meshgrid(
                np.arange(r0, r1), np.arange(c0, min(c0 + block, cols)), indexing="ij"
            )
            cell_ids = (rr * cols + cc).ravel()
            assigned[members] = _lap_cells(points[members], cell_ids, cols)

    owner = np.full(rows * cols, -1, dtype=np.int64)
    for _ in range(passes):
        for offset in (block // 2, 0):
            owner[:] = -1
            owner[assigned] = np.arange(n)
            for r0 in range(-offset, rows, block):
                for c0 in range(-offset, cols, block):
                    rr, cc = np.meshgrid(
                        np.arange(max(r0, 0), min(r0 + block, rows)),
                        np.arange(max(c0, 0), min(c0 + block, cols)),
                        indexing="ij",
                    )
                    cell_ids = (rr * cols + cc).ravel()
                    members = owner[cell_ids]
                    members = members[members >= 0]
                    if len(members) < 2:
                        continue
                    new = _lap_cells(points[members], cell_ids, cols)
                    assigned[members] = new
                    owner[cell_ids] = -1
                    owner[new] = members

    r, c = np.divmod(assigned, cols)
    return np.stack([r, c], axis=1)
