"""Snapping 2-D points onto a rows x cols grid, one point per cell.

The cost of putting a point in a cell is the squared Euclidean distance to the
cell centre. Squared (not plain) distances matter: with plain distances the
optimum happily moves many points a little *and* a few points very far, which
tears clusters apart (docs/benchmarks.md, "Choices the defaults rest on").
"""

import math
import os

import numpy as np

# Dense LAP needs an N x cells matrix and about O(N^3) time: past about 1,024
# cells exactness stops being cheap (docs/benchmarks.md, "Scale").
EXACT_MAX_CELLS = 1024


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
    """Maps (N, 2) points (x, y) linearly onto [0, cols-1] x [0, rows-1], y up:
    the largest y goes to row 0, so that the mosaic has the orientation of a
    plot of the same points (FiftyOne's Embeddings panel)."""
    points = np.asarray(points, dtype=np.float64)
    lo = points.min(axis=0)
    span = points.max(axis=0) - lo
    span[span == 0] = 1.0
    unit = (points - lo) / span
    unit[:, 1] = 1.0 - unit[:, 1]
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
    return np.stack(np.divmod(_lap_cells(points, np.arange(rows * cols), cols), cols), axis=1)


def _lap_cells(points, cell_ids, cols):
    """Exact LAP of ``points`` onto the given cells (len(cell_ids) >= len(points)).

    scipy's solver: on these grid costs it is 3x faster than lapjv at 1,024
    cells and 4x faster at 256 (benchmarks/bench_assign.py).
    """
    from scipy.optimize import linear_sum_assignment

    r, c = np.divmod(cell_ids, cols)
    cost = (points[:, None, 0] - c[None, :]) ** 2 + (points[:, None, 1] - r[None, :]) ** 2
    point_idx, cell_idx = linear_sum_assignment(cost)
    out = np.empty(len(points), dtype=np.int64)
    out[point_idx] = cell_ids[cell_idx]
    return out


def _split_counts(n, capacities):
    """Splits n items over bins in proportion to their capacities, never above."""
    capacities = np.asarray(capacities, dtype=np.int64)
    share = capacities * (n / capacities.sum())
    counts = np.floor(share).astype(np.int64)
    order = np.argsort(-(share - counts), kind="stable")
    counts[order[: n - counts.sum()]] += 1
    return counts


BLOCK = 16
# window offsets (dy, dx) in units of BLOCK / 4, cycled by the repair passes
_SHIFTS = ((2, 2), (0, 0), (1, 1), (3, 3), (2, 0), (0, 2), (1, 3), (3, 1))
MAX_PASSES = 48
# the repair stops once a pass lowers the total cost by less than this share
REPAIR_TOL = 5e-4


def _assign_blocks(points, rows, cols, block=BLOCK, max_passes=MAX_PASSES, tol=REPAIR_TOL):
    """Scalable assignment: balanced partition into blocks, then windowed repair.

    Points are cut into horizontal bands by y rank and each band into blocks
    by x rank, each part sized to the cells of its block, and each block is
    solved exactly. Then windows of ``block`` x ``block`` cells, shifted by a
    different offset each pass, are re-solved exactly with the points they
    hold: every window solve can only lower the total cost, and points drift
    across block seams a few cells per pass. A window is skipped when none of
    its cells changed since it was last solved at that offset; the passes stop
    when one lowers the total cost by less than ``tol`` of it. Memory is O(N)
    plus one window's 256 x 256 matrix.

    Written here because lapjv/lap/scipy only offer whole-problem solvers,
    dense (N^2 memory) or sparse (minutes at N = 4,096 on these costs).
    """
    if rows <= block and cols <= block:  # one block: that is the exact problem
        return _assign_exact(points, rows, cols)
    from concurrent.futures import ThreadPoolExecutor

    n = len(points)
    assigned = np.empty(n, dtype=np.int64)
    jobs = []  # (points, cells) of the initial blocks
    band_starts = list(range(0, rows, block))
    band_caps = [min(block, rows - r0) * cols for r0 in band_starts]
    warped = _coarse_warp(points, rows, cols)
    by_y = np.argsort(warped[:, 1], kind="stable")
    start = 0
    for r0, band_n in zip(band_starts, _split_counts(n, band_caps)):
        band = by_y[start : start + band_n]
        start += band_n
        r1 = min(r0 + block, rows)
        col_starts = list(range(0, cols, block))
        caps = [(r1 - r0) * (min(c0 + block, cols) - c0) for c0 in col_starts]
        by_x = band[np.argsort(warped[band, 0], kind="stable")]
        s = 0
        for c0, k in zip(col_starts, _split_counts(band_n, caps)):
            jobs.append((by_x[s : s + k], _window(r0, c0, block, rows, cols)))
            s += k

    # windows of one pass are disjoint, so they are solved in parallel
    # (scipy's solver releases the GIL)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        def solve(batch):
            return pool.map(lambda j: _lap_cells(points[j[0]], j[1], cols), batch)

        for (members, _), cells in zip(jobs, solve(jobs)):
            assigned[members] = cells

        owner = np.full(rows * cols, -1, dtype=np.int64)
        owner[assigned] = np.arange(n)
        # the pass in which each cell last changed / each window was last solved
        changed_at = np.zeros(rows * cols, dtype=np.int64)
        solved_at = {}
        total = _cell_cost(points, assigned, cols).sum()
        for p in range(1, max_passes + 1):
            shift = (p - 1) % len(_SHIFTS)
            dy, dx = (block * f // 4 for f in _SHIFTS[shift])
            jobs = []
            for r0 in range(-dy, rows, block):
                for c0 in range(-dx, cols, block):
                    cell_ids = _window(r0, c0, block, rows, cols)
                    key = (shift, r0, c0)
                    if key in solved_at and changed_at[cell_ids].max() <= solved_at[key]:
                        continue
                    solved_at[key] = p
                    members = owner[cell_ids]
                    members = members[members >= 0]
                    if len(members) >= 2:
                        jobs.append((members, cell_ids))
            gain = 0.0
            for (members, _), new in zip(jobs, solve(jobs)):
                old = assigned[members]
                diff = new != old
                if diff.any():
                    gain += (_cell_cost(points[members], old, cols).sum()
                             - _cell_cost(points[members], new, cols).sum())
                    owner[old] = -1
                    owner[new] = members
                    changed_at[old[diff]] = p
                    changed_at[new[diff]] = p
                    assigned[members] = new
            if gain <= tol * total:
                break
            total -= gain

    r, c = np.divmod(assigned, cols)
    return np.stack([r, c], axis=1)


COARSE_POINTS = 1024


def _coarse_warp(points, rows, cols, k=8):
    """Points moved along an approximate optimal-transport map to the grid.

    A random subsample of max(1,024, N/16) points is assigned to a coarse
    grid of the same aspect (exactly, or by this same method when larger),
    and every point moves by the inverse-distance-weighted displacement of
    its ``k`` nearest subsampled points. Partitioning the warped points puts
    nearly every point in the block the optimum puts it in: on 4,096
    clustered points the initial blocks come within 0.3-0.9% of the optimum
    instead of 7-61%, so the repair needs few passes.
    """
    from sklearn.neighbors import NearestNeighbors

    n = len(points)
    m = max(COARSE_POINTS, n // 16)
    if n <= m:
        return points
    sub = points[np.random.default_rng(0).choice(n, m, replace=False)]
    coarse_rows = max(1, int(round(math.sqrt(m * rows / cols))))
    coarse_cols = math.ceil(m / coarse_rows)
    scale = np.array([max(cols - 1, 1) / max(coarse_cols - 1, 1),
                      max(rows - 1, 1) / max(coarse_rows - 1, 1)])
    target = assign_to_grid(sub / scale, coarse_rows, coarse_cols)[:, ::-1] * scale
    dist, near = NearestNeighbors(n_neighbors=k).fit(sub).kneighbors(points)
    w = 1.0 / (dist + 1e-3)
    w /= w.sum(1, keepdims=True)
    return points + ((target - sub)[near] * w[..., None]).sum(1)


def _cell_cost(points, cell_ids, cols):
    r, c = np.divmod(cell_ids, cols)
    return (points[:, 0] - c) ** 2 + (points[:, 1] - r) ** 2


def _window(r0, c0, size, rows, cols):
    """Cell ids of the size x size window at (r0, c0), clipped to the grid."""
    rr, cc = np.meshgrid(
        np.arange(max(r0, 0), min(r0 + size, rows)),
        np.arange(max(c0, 0), min(c0 + size, cols)),
        indexing="ij",
    )
    return (rr * cols + cc).ravel()
