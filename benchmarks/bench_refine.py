"""Grid refinement above the dense limit: window by window, as JSON.

Two parts:

1. What windows cost in quality: on recaptcha-dev's embeddings (digits when
   it is absent), the default t-SNE grid refined with the whole distance
   matrix and with windows of 16 and 32 cells a side (mean of 3 seeds).
2. At scale: N embeddings made from those real ones (each a random point on
   the segment between a real embedding and one of its 10 nearest
   neighbours, unit length, labelled like the nearer end: the same local
   structure at any N; bench_tsne's Gaussian clusters have none to preserve),
   the default pipeline (t-SNE, blocks assignment), then refinement by
   windows of ``--side`` cells: seconds, peak traced memory of the
   refinement, DPQ_16 (sampled estimate above 10,000) and neighbour label
   agreement, before and after.

    .venv/bin/python benchmarks/bench_refine.py [--n 100000] [--side 64] [--cache DIR]
"""

import argparse
import json
import time
import tracemalloc

import numpy as np

from bench_layout import dataset_features
from gridtsne.core import grid, metrics, reduce, refine


def window_cost(cache):
    name, feats, labels = dataset_features(cache)[0]
    feats = reduce.in_metric_space(feats)
    rows, cols = grid.grid_shape(len(feats))
    figures = {}
    for seed in range(3):
        xy = reduce.tsne_2d(feats, seed=seed)
        start = grid.assign_to_grid(grid.scale_to_grid(xy, rows, cols), rows, cols)
        for side in (None, 32, 16):
            if side is None:
                cells = refine.refine_grid(feats, start, rows, cols, seed=seed)
            else:
                cells = refine._refine_in_windows(
                    feats, start, rows, cols, seed, refine.MAX_ROUNDS, refine.MAX_STEP,
                    None, side,
                )
            figures.setdefault(side or "dense", []).append((
                metrics.distance_preservation_quality(feats, cells, p=16),
                metrics.neighbor_label_agreement(cells, labels),
            ))
    return {
        "dataset": name, "n": len(feats), "grid": "%dx%d" % (rows, cols),
        "dpq_16_and_agreement": {
            str(k): [round(float(v), 4) for v in np.mean(rows_, axis=0)]
            for k, rows_ in figures.items()
        },
    }


def interpolated(feats, labels, n, seed=0):
    """n unit vectors between real embeddings and their near neighbours."""
    rng = np.random.default_rng(seed)
    feats = reduce.in_metric_space(feats)
    near = np.argsort(feats @ -feats.T, axis=1)[:, 1:11]
    i = rng.integers(0, len(feats), n)
    j = near[i, rng.integers(0, near.shape[1], n)]
    a = rng.uniform(0, 1, n)[:, None]
    x = reduce.in_metric_space(a * feats[i] + (1 - a) * feats[j]).astype(np.float32)
    labels = np.asarray(labels)
    return x, np.where(a[:, 0] >= 0.5, labels[i], labels[j])


def at_scale(n, cache):
    _, feats, labels = dataset_features(cache)[0]
    x, labels = interpolated(feats, labels, n)
    rows, cols = grid.grid_shape(n)
    t = time.perf_counter()
    xy = reduce.tsne_2d(x)
    tsne_s = time.perf_counter() - t
    t = time.perf_counter()
    start = grid.assign_to_grid(grid.scale_to_grid(xy, rows, cols), rows, cols)
    assign_s = time.perf_counter() - t
    tracemalloc.start()
    t = time.perf_counter()
    cells = refine.refine_grid(x, start, rows, cols)
    refine_s = time.perf_counter() - t
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {
        "n": n, "grid": "%dx%d" % (rows, cols), "window_side": refine.BLOCK_SIDE,
        "seconds": {"tsne": round(tsne_s, 1), "assign": round(assign_s, 1),
                    "refine": round(refine_s, 1)},
        "refine_peak_traced_mib": round(peak / 2**20),
        "dpq_16": {"before": round(metrics.distance_preservation_quality(x, start, p=16), 4),
                   "after": round(metrics.distance_preservation_quality(x, cells, p=16), 4)},
        "neighbor_label_agreement": {
            "before": round(metrics.neighbor_label_agreement(start, labels), 4),
            "after": round(metrics.neighbor_label_agreement(cells, labels), 4),
        },
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--cache", help="folder to cache embeddings in between runs")
    ap.add_argument("--side", type=int, default=refine.BLOCK_SIDE, help="window side, cells")
    ap.add_argument("--skip-windows", action="store_true", help="only the part at scale")
    args = ap.parse_args(argv)
    if not args.skip_windows:
        print(json.dumps(window_cost(args.cache)), flush=True)
    refine.BLOCK_SIDE = args.side
    print(json.dumps(at_scale(args.n, args.cache)), flush=True)


if __name__ == "__main__":
    main()
