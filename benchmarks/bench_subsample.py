"""Does t-SNE on a subsample (what ``tsne_2d`` does above SUBSAMPLE_ABOVE_N)
make a worse grid than t-SNE on every point?

At N points of synthetic features with known labels (20 groups of 10
overlapping clusters, 1,280-d), lays out the grid twice with everything else
equal (assignment, refinement): once with t-SNE on all N, once with t-SNE on
``--sub`` of them and the rest placed at their neighbours' median. The ratio
N / sub is the one tsne_2d uses at 1,000,000 (10) unless told otherwise.
Prints one JSON line per mode: t-SNE seconds, DPQ_16, neighbour label
agreement and 10-NN label accuracy, before and after refinement.

    .venv/bin/python benchmarks/bench_subsample.py --n 50000 [--sub 5000] [--seeds 2]
"""

import argparse
import json
import time

import numpy as np

from gridtsne.core import grid, layout, reduce, refine


def hierarchical(n, dim=1280, seed=0):
    rng = np.random.default_rng(seed)
    groups = rng.standard_normal((20, dim)).astype(np.float32)
    clusters = groups.repeat(10, axis=0) + 0.5 * rng.standard_normal((200, dim), dtype=np.float32)
    labels = rng.integers(0, 200, n)
    x = clusters[labels] + rng.standard_normal((n, dim), dtype=np.float32)
    return x, labels


def figures(judged, cells, labels):
    return {k: round(float(v), 4) for k, v in layout.quality(judged, cells, labels).items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=50_000)
    ap.add_argument("--sub", type=int, help="points t-SNE optimises (default n / 10)")
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--modes", default="all,subsample", help="which of all,subsample to run")
    args = ap.parse_args(argv)
    sub = args.sub or args.n // 10
    rows, cols = grid.grid_shape(args.n)
    for seed in range(args.seeds):
        x, labels = hierarchical(args.n, seed=seed)
        judged = reduce.in_metric_space(x)
        for mode, above in (("all", args.n), ("subsample", args.n - 1)):
            if mode not in args.modes.split(","):
                continue
            reduce.SUBSAMPLE_ABOVE_N, reduce.SUBSAMPLE_N = above, sub
            t = time.perf_counter()
            xy = reduce.tsne_2d(x, seed=seed)
            seconds = time.perf_counter() - t
            cells = grid.assign_to_grid(grid.scale_to_grid(xy, rows, cols), rows, cols)
            before = figures(judged, cells, labels)
            cells = refine.refine_grid(judged, cells, rows, cols, seed=seed)
            print(json.dumps({"n": args.n, "seed": seed, "mode": mode,
                              "tsne_points": args.n if mode == "all" else sub,
                              "tsne_s": round(seconds, 1), "before_refine": before,
                              "after_refine": figures(judged, cells, labels)}), flush=True)


if __name__ == "__main__":
    main()
