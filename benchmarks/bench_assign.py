"""Grid assignment: cost and time per method on clustered points, as JSON.

Each (N, method) runs in a fresh subprocess so that its peak memory
(ru_maxrss) is its own; seconds are counted after the solver's imports. Cost
is compared with exact LAP where exact runs (N <= 4096) and, for the blocks
method, with exact LAP solved on the same initial blocks without the repair
passes (``cost_vs_same_blocks``), which it can only improve on.

    .venv/bin/python benchmarks/bench_assign.py [--n 1024 4096 20000] [--methods exact blocks]
"""

import argparse
import json
import resource
import time

import numpy as np

from fresh_process import measure_in_fresh_process
from gridtsne.core import grid

EXACT_MAX_N = 4096


def clustered_points(n, seed=0, k=12):
    """t-SNE-like input: k Gaussian clusters of different sizes."""
    rng = np.random.default_rng(seed)
    centers = rng.uniform(0, 1, (k, 2))
    return centers[rng.integers(0, k, n)] + rng.normal(0, 0.05, (n, 2))


def one(n, method, seed):
    import scipy.optimize  # noqa: F401  (imports are not the solver's time)
    import sklearn.neighbors  # noqa: F401

    rows, cols = grid.grid_shape(n)
    pts = grid.scale_to_grid(clustered_points(n, seed), rows, cols)
    t = time.perf_counter()
    cells = grid.assign_to_grid(pts, rows, cols, method=method)
    seconds = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert len(np.unique(cells[:, 0] * cols + cells[:, 1])) == n
    row = {
        "n": n, "method": method, "grid": "%dx%d" % (rows, cols),
        "cost": grid.assignment_cost(pts, cells), "seconds": round(seconds, 3),
        "peak_rss_mib": round(peak, 1),
    }
    if method == "blocks" or (method == "auto" and rows * cols > grid.EXACT_MAX_CELLS):
        same_blocks = grid._assign_blocks(pts, rows, cols, max_passes=0)
        row["cost_vs_same_blocks"] = round(row["cost"] / grid.assignment_cost(pts, same_blocks), 5)
    return row


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=[1024, 4096])
    ap.add_argument("--methods", nargs="+", default=["exact", "blocks", "auto"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps(one(int(args.one[0]), args.one[1], args.seed)))
        return
    for n in args.n:
        exact_cost = None
        for method in args.methods:
            if method == "exact" and n > EXACT_MAX_N:
                continue
            row = measure_in_fresh_process(__file__, n, method, "--seed", args.seed)
            if method == "exact":
                exact_cost = row["cost"]
            if exact_cost:
                row["cost_vs_exact"] = round(row["cost"] / exact_cost, 5)
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
