"""Local swaps that make grid neighbours nearer in feature space.

t-SNE + LAP gets the global arrangement right but places an image next to
*some* similar images, not next to its most similar one. DPQ_16 (see
``metrics``) is dominated by exactly that: the feature distance from each image
to the nearest of its four grid neighbours (its gradient at t-SNE grids of
recaptcha-dev weights the sorted 4-neighbour distances 1 : 0.086 : 0.011 :
0.004). Refinement minimises

    sum over images i of  sum_r  RANK_WEIGHTS[r] * (r-th smallest distance
                                                    from i to its 4 neighbours)

by greedy pair swaps: candidates move an image beside one of its nearest
feature-space neighbours, or to a random cell, at most MAX_STEP cells away;
each round applies the best improving swaps whose neighbourhoods do not
overlap, so their gains add up. The weights keep 0.15 on the 2nd-4th nearest
neighbours and the short steps keep the t-SNE grid's regions intact, which
keeps neighbour label agreement near where t-SNE left it (pure DPQ weights
and unlimited steps raise DPQ_16 further but cost agreement; docs/design.md,
"Refinement", and docs/benchmarks.md for the figures).

Written here because no maintained library optimises this objective: LAS/FLAS
(vc-flas) minimise a smoothed-map distance from random starts, which measured
0.77 on the same data.
"""

import os

import numpy as np

RANK_WEIGHTS = (1.0, 0.15, 0.15, 0.15)
MAX_STEP = 2
# The dense feature-distance matrix is N x N float32, built in place, so its
# memory bounds REFINE_MAX_N; above it, square windows of BLOCK_SIDE cells are
# refined one at a time (window sizes weighed in docs/benchmarks.md, "Scale").
REFINE_MAX_N = 10_000
BLOCK_SIDE = 32
NEAREST = 10  # candidate targets: cells beside an image's nearest neighbours
MAX_ROUNDS = 300
# Above LARGE_N images (1,000 windows a pass at 1,000,000), a window tries
# fewer candidates for fewer rounds: nearly all of the gain in well under half
# the time (docs/design.md, "Refinement").
LARGE_N = 200_000
LARGE_NEAREST = 3
LARGE_ROUNDS = 10
_CHUNK = 65_536  # candidate swaps scored at once (bounds temporary memory)
_OFFSETS = ((0, 1), (1, 0), (0, -1), (-1, 0))


def refine_grid(features, cells, rows, cols, seed=0, max_rounds=MAX_ROUNDS,
                max_step=MAX_STEP, progress=None, movable=None):
    """Improves a one-image-per-cell layout by swapping images (and holes).

    Up to REFINE_MAX_N images at once; above that, window by window (see
    :func:`_refine_in_windows`), so memory stays bounded.

    Args:
        features: (N, D) features; Euclidean distances between them are used
        cells: (N, 2) distinct int (row, col) cells, e.g. from assign_to_grid
        rows, cols: the grid shape
        max_step: how far (in cells, per axis) one swap may move an image
        progress: optional callable taking the fraction done
        movable: optional N booleans: only these images (and empty cells)
            move, the others keep their cells (images added to a grid)

    Returns:
        (N, 2) int (row, col), distinct; never worse under the objective
        (with windows: never worse inside each window)
    """
    if len(features) > LARGE_N:
        return _refine_in_windows(features, cells, rows, cols, seed,
                                  min(max_rounds, LARGE_ROUNDS), max_step, progress,
                                  BLOCK_SIDE, movable, n_nearest=LARGE_NEAREST)
    if len(features) > REFINE_MAX_N:
        return _refine_in_windows(features, cells, rows, cols, seed, max_rounds,
                                  max_step, progress, BLOCK_SIDE, movable)
    return _refine_dense(features, cells, rows, cols, seed, max_rounds, max_step, progress,
                         movable)


def _refine_in_windows(features, cells, rows, cols, seed, max_rounds, max_step, progress,
                       side, movable=None, workers=None, n_nearest=NEAREST):
    """Refines windows of side x side cells, in two passes.

    Swaps stay inside a window, and a window's outside neighbours count as
    holes, so the second pass shifts the windows by half a side to work on
    the first pass's seams. Each window holds at most side^2 images. The
    windows of one pass share no cell, so they are refined in threads (one
    per core: numpy releases the GIL in most of the work); each has its own
    seed, so the result does not depend on the order they finish in.
    """
    from concurrent.futures import ThreadPoolExecutor

    x = np.asarray(features)
    cells = np.array(cells, dtype=np.int64)
    movable = None if movable is None else np.asarray(movable, dtype=bool)
    shifts = (0, side // 2)

    def windows_per_side(shift):  # windows down and across the grid in a pass
        return -(-(rows + shift) // side), -(-(cols + shift) // side)

    counts = [np.prod(windows_per_side(shift)) for shift in shifts]

    def windows(shift, first):
        """(seed number, shift, window row, window col, its images), this pass."""
        across = windows_per_side(shift)[1]
        window = ((cells[:, 0] + shift) // side) * across + (cells[:, 1] + shift) // side
        order = np.argsort(window, kind="stable")
        ids, starts = np.unique(window[order], return_index=True)
        return [(first + int(w), shift, int(w) // across, int(w) % across, inside)
                for w, inside in zip(ids, np.split(order, starts[1:]))]

    def one(job):
        number, shift, wr, wc, inside = job
        top, left = max(wr * side - shift, 0), max(wc * side - shift, 0)
        bottom, right = min(wr * side - shift + side, rows), min(wc * side - shift + side, cols)
        if len(inside) < 2 or (movable is not None and not movable[inside].any()):
            return None
        return inside, _refine_dense(
            x[inside], cells[inside] - (top, left), bottom - top, right - left, seed + number,
            max_rounds, max_step, None, None if movable is None else movable[inside], n_nearest,
        ) + (top, left)

    workers = workers or os.cpu_count() or 1
    done = 0
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for shift, first in zip(shifts, (0, counts[0])):
            # seeds numbered as when every window ran in turn, empty ones too
            for out in pool.map(one, windows(shift, first)):
                if out is not None:
                    cells[out[0]] = out[1]
                done += 1
                if progress is not None:
                    progress(done / sum(counts))
    if progress is not None:
        progress(1.0)
    return cells


def _refine_dense(features, cells, rows, cols, seed=0, max_rounds=MAX_ROUNDS,
                  max_step=MAX_STEP, progress=None, movable=None, n_nearest=NEAREST):
    """:func:`refine_grid` with the whole N x N distance matrix in memory."""
    x = np.asarray(features, dtype=np.float32)
    cells = np.asarray(cells, dtype=np.int64)
    n, m_cells = len(x), rows * cols
    if n < 2:
        return cells.copy()
    rng = np.random.default_rng(seed)

    # d[:n, :n] holds the pairwise distances, computed in place in float32;
    # index n is "nobody" (a hole or off the grid)
    d = np.empty((n + 1, n + 1), dtype=np.float32)
    dist = d[:n, :n]
    np.matmul(x, x.T, out=dist)
    sq = np.einsum("ij,ij->i", x, x)
    dist *= -2
    dist += sq[:, None]
    dist += sq[None, :]
    np.maximum(dist, 0, out=dist)
    np.sqrt(dist, out=dist)
    np.fill_diagonal(dist, np.inf)
    k = min(n_nearest, n - 1)
    nearest = np.empty((n, k), dtype=np.int64)
    for start in range(0, n, 1024):  # a full argpartition would be N x N int64
        nearest[start:start + 1024] = np.argpartition(dist[start:start + 1024], k - 1,
                                                      axis=1)[:, :k]
    np.fill_diagonal(dist, 0)
    far = float(dist.mean(dtype=np.float64))  # nobody is as far as a typical pair
    d[n, :] = far
    d[:, n] = far
    del dist
    weights = np.asarray(RANK_WEIGHTS, dtype=np.float32)
    flat = d.ravel()
    # with equal weights after the first, the sorted sum is the minimum's
    # extra weight plus the plain sum: no sort (half of refinement's time)
    tail = weights[1] if (weights[1:] == weights[1]).all() else None

    # cells are indexed r * cols + c; index m_cells is "off the grid"
    occupant = np.full(m_cells + 1, n, dtype=np.int64)
    where = cells[:, 0] * cols + cells[:, 1]
    occupant[where] = np.arange(n)
    cy, cx = np.divmod(np.arange(m_cells), cols)
    beside = np.full((m_cells + 1, 4), m_cells, dtype=np.int64)
    for j, (dy, dx) in enumerate(_OFFSETS):
        yy, xx = cy + dy, cx + dx
        ok = (yy >= 0) & (yy < rows) & (xx >= 0) & (xx < cols)
        beside[:m_cells, j][ok] = (yy * cols + xx)[ok]

    def cost(items, neighbours):
        v = flat[items[..., None] * (n + 1) + neighbours]
        if tail is None:
            s = np.sort(v, axis=-1) @ weights
        else:
            s = (weights[0] - tail) * v.min(axis=-1) + tail * v.sum(axis=-1)
        return np.where(items == n, 0.0, s)

    cell_cost = np.append(cost(occupant[:m_cells], occupant[beside[:m_cells]]), 0.0)
    # which contents may move: index n ("nobody", an empty cell) always may
    free = np.ones(n + 1, dtype=bool) if movable is None else np.append(
        np.asarray(movable, dtype=bool), True)
    src = np.repeat(np.arange(n), k * 4)
    for done in range(max_rounds):
        # move an image beside one of its nearest neighbours, or to a random
        # cell, in both cases at most MAX_STEP cells away
        a_rand = rng.integers(0, m_cells, 4 * n)
        ry, rx = np.divmod(a_rand, cols)
        ry = np.clip(ry + rng.integers(-max_step, max_step + 1, len(ry)), 0, rows - 1)
        rx = np.clip(rx + rng.integers(-max_step, max_step + 1, len(rx)), 0, cols - 1)
        a = np.concatenate([where[src], a_rand])
        b = np.concatenate([
            beside[where[np.repeat(nearest.ravel(), 4)], np.tile(np.arange(4), n * k)],
            ry * cols + rx,
        ])
        near = (np.abs(a // cols - np.minimum(b, m_cells - 1) // cols) <= max_step) & (
            np.abs(a % cols - np.minimum(b, m_cells - 1) % cols) <= max_step)
        ok = near & (b < m_cells) & (a != b) & ((occupant[a] < n) | (occupant[b] < n))
        ok &= free[occupant[a]] & free[occupant[np.minimum(b, m_cells)]]
        a, b = a[ok], b[ok]
        gain = np.concatenate([
            _gains(a[s:s + _CHUNK], b[s:s + _CHUNK], occupant, beside, cell_cost, cost, m_cells)
            for s in range(0, len(a), _CHUNK)
        ]) if len(a) else np.zeros(0)
        better = np.flatnonzero(gain > 1e-6)
        if len(better) == 0:
            break
        better = better[np.argsort(-gain[better])][:5 * n]
        # a swap's gain depends on cells within 2 steps of its two cells
        locked = np.zeros((rows + 4, cols + 4), dtype=bool)
        touched = []
        for p in better:
            (ay, ax), (by, bx) = divmod(int(a[p]), cols), divmod(int(b[p]), cols)
            if locked[ay + 2, ax + 2] or locked[by + 2, bx + 2]:
                continue
            locked[ay:ay + 5, ax:ax + 5] = True
            locked[by:by + 5, bx:bx + 5] = True
            occupant[a[p]], occupant[b[p]] = occupant[b[p]], occupant[a[p]]
            touched += [a[p], b[p]]
        touched = np.asarray(touched)
        changed = np.unique(np.concatenate([touched, beside[touched].ravel()]))
        changed = changed[changed < m_cells]
        cell_cost[changed] = cost(occupant[changed], occupant[beside[changed]])
        placed = occupant[:m_cells] < n
        where[occupant[:m_cells][placed]] = np.flatnonzero(placed)
        if progress is not None:
            progress((done + 1) / max_rounds)
    if progress is not None:
        progress(1.0)
    return np.stack(np.divmod(where, cols), axis=1)


def _gains(a, b, occupant, beside, cell_cost, cost, m_cells):
    """How much swapping the contents of cells a[i] and b[i] lowers the cost."""
    ia, ib = occupant[a], occupant[b]
    # every cell whose cost can change: the two cells and their neighbours
    affected = np.concatenate([a[:, None], b[:, None], beside[a], beside[b]], axis=1)
    counted = affected < m_cells
    same = affected[:, :, None] == affected[:, None, :]
    counted &= ~(same & np.tri(affected.shape[1], k=-1, dtype=bool)).any(-1)

    def after(c):
        shape = (-1,) + (1,) * (c.ndim - 1)
        return np.where(c == a.reshape(shape), ib.reshape(shape),
                        np.where(c == b.reshape(shape), ia.reshape(shape), occupant[c]))

    new = cost(after(affected), after(beside[affected]))
    return ((cell_cost[affected] - new) * counted).sum(1)
