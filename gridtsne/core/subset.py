"""A diverse subset: K samples spread over the grid, one per block of cells.

The grid is cut into about K blocks of neighbouring cells (so about K regions
of similar images); each chosen block gives its most central sample: the one
nearest its block's mean embedding (without embeddings, nearest the block's
middle cell). A cheap alternative to random sampling that covers rare regions.
"""

import math

import numpy as np


def blocks_for(k, rows, cols):
    """(block rows, block cols) with at least k blocks, their shape close to the grid's."""
    bc = max(1, min(cols, round(math.sqrt(k * cols / rows))))
    br = max(1, min(rows, math.ceil(k / bc)))
    while br * bc < k and (br < rows or bc < cols):
        if (bc < cols and (br >= rows or bc / cols <= br / rows)):
            bc += 1
        else:
            br += 1
    return br, bc


def block_of(cells, rows, cols, br, bc):
    """Block index of each cell, blocks numbered row-major over a br x bc cut."""
    cells = np.asarray(cells, dtype=np.int64)
    return (cells[:, 0] * br // rows) * bc + cells[:, 1] * bc // cols


def diverse_subset(cells, rows, cols, k, features=None):
    """(indices of the chosen samples, their block ids); no two share a block.

    With more occupied blocks than k, the blocks holding the fewest samples
    (ragged edges, holes) are left out; with fewer, cuts get finer until
    there are k (at most one block per cell).
    """
    cells = np.asarray(cells, dtype=np.int64)
    n = len(cells)
    k = int(k)
    if not 1 <= k <= n:
        raise ValueError("A subset needs 1 to %d samples, got %d" % (n, k))
    want = k
    while True:
        br, bc = blocks_for(want, rows, cols)
        block = block_of(cells, rows, cols, br, bc)
        counts = np.bincount(block, minlength=br * bc)
        if (counts > 0).sum() >= k or (br == rows and bc == cols):
            break
        want += max(1, k - int((counts > 0).sum()))
    occupied = np.flatnonzero(counts > 0)
    keep = occupied[np.argsort(-counts[occupied], kind="stable")[:k]]
    x = None if features is None else np.asarray(features, dtype=np.float32)
    chosen = []
    for b in np.sort(keep):
        members = np.flatnonzero(block == b)
        if x is not None:
            centre = x[members].mean(axis=0)
            spread = ((x[members] - centre) ** 2).sum(axis=1)
        else:
            r0, c0 = (b // bc) * rows / br, (b % bc) * cols / bc
            mid = np.array([r0 + rows / br / 2 - 0.5, c0 + cols / bc / 2 - 0.5])
            spread = ((cells[members] - mid) ** 2).sum(axis=1)
        chosen.append(members[int(np.argmin(spread))])
    chosen = np.asarray(chosen, dtype=np.int64)
    return chosen, block[chosen]
