"""Regions (gridtsne.core.regions): how pure they are, and what they cost.

Quality (default): on the EfficientNet-Lite0 embeddings of ``recaptcha-dev``
(when present) and of scikit-learn's digits, lays each out as compute_grid
does (t-SNE, assignment, refinement), finds its regions and prints per seed:
the number of regions, whether every region is 4-connected, whether they
cover every placed cell once, the cell-weighted share of each region's
majority label (``majority_share``) beside the grid's neighbour label
agreement and 10-NN accuracy, and the seconds regions took.

Cost (``--sizes 1000 100000 1000000``): on clustered synthetic 16-d vectors
(the shape bench_scale uses at 1,000,000), their two principal components
standing in for the t-SNE map and the grid filled in their order (a
spatially coherent stand-in for a layout, which would take minutes to make):
the seconds ``find_regions`` adds.

Prints one JSON object per line.

    .venv/bin/python benchmarks/bench_regions.py [--seeds 3] [--cache DIR]
    .venv/bin/python benchmarks/bench_regions.py --sizes 1000 100000 1000000
"""

import argparse
import json
import time

import numpy as np
from scipy.ndimage import label as connected

from bench_layout import dataset_features
from gridtsne.core import grid, metrics, reduce, regions
from gridtsne.core import layout as core_layout


def checked(found, cells, rows, cols):
    """(every region 4-connected, every placed cell in exactly one region)."""
    contiguous = True
    for r in range(len(found.regions)):
        mask = np.zeros((rows, cols), bool)
        member = cells[found.region == r]
        mask[member[:, 0], member[:, 1]] = True
        contiguous &= connected(mask)[1] == 1
    cover = (len(found.region) == len(cells) and found.region.min() >= 0
             and sum(e["count"] for e in found.regions) == len(cells))
    return bool(contiguous), bool(cover)


def majority_share(found):
    """The share of placed cells whose label is their region's majority label."""
    total = sum(e["count"] for e in found.regions)
    return sum(e["label_share"] * e["count"] for e in found.regions) / total


def quality(args):
    for name, feats, labels in dataset_features(args.cache, digits=True):
        rows, cols = grid.grid_shape(len(feats))
        for seed in range(args.seeds):
            out = core_layout.compute_layout(feats, rows, cols, seed=seed, labels=labels,
                                             curation=False)
            judged = reduce.in_metric_space(feats)
            t = time.perf_counter()
            found = regions.find_regions(out.xy, out.cells, rows, cols, features=judged,
                                         labels=labels, seed=seed)
            seconds = time.perf_counter() - t
            contiguous, cover = checked(found, out.cells, rows, cols)
            names_match = all(e["name"].startswith(str(e["label"]) + " ")
                              for e in found.regions)
            print(json.dumps({
                "dataset": name, "n": len(feats), "seed": seed, "regions": len(found.regions),
                "contiguous": contiguous, "cover_once": cover, "names_match": names_match,
                "majority_share": round(majority_share(found), 4),
                "min_region_share": round(min(e["label_share"] for e in found.regions), 3),
                "neighbor_label_agreement": round(out.metrics["neighbor_label_agreement"], 4),
                "knn10_label_accuracy": round(out.metrics["knn10_label_accuracy"], 4),
                "sizes": sorted((e["count"] for e in found.regions), reverse=True),
                "seconds": round(seconds, 3)}), flush=True)


def synthetic_grid(n, seed=0):
    from bench_scale import clustered

    x, labels = clustered(n, 16, seed)
    rows, cols = grid.grid_shape(n)
    centred = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(centred[:20_000], full_matrices=False)
    pc = centred @ vt[:2].T
    by_first = np.argsort(pc[:, 0], kind="stable")
    cells = np.empty((n, 2), np.int64)
    for r in range(rows):
        chunk = by_first[r * cols:(r + 1) * cols]
        if not len(chunk):
            break
        cells[chunk[np.argsort(pc[chunk, 1], kind="stable")], 0] = r
        cells[chunk[np.argsort(pc[chunk, 1], kind="stable")], 1] = np.arange(len(chunk))
    return pc, reduce.in_metric_space(x), labels.tolist(), cells, rows, cols


def cost(args):
    for n in args.sizes:
        xy, feats, labels, cells, rows, cols = synthetic_grid(n)
        t = time.perf_counter()
        found = regions.find_regions(xy, cells, rows, cols, features=feats, labels=labels)
        seconds = time.perf_counter() - t
        contiguous, cover = checked(found, cells, rows, cols) if n <= 100_000 else (None, None)
        print(json.dumps({"n": n, "rows": rows, "cols": cols, "dim": 16,
                          "regions": len(found.regions), "seconds": round(seconds, 2),
                          "contiguous": contiguous, "cover_once": cover,
                          "neighbor_label_agreement": round(
                              metrics.neighbor_label_agreement(cells, labels), 3)
                          if n <= 100_000 else None}), flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--cache", default="/tmp/benchcache")
    ap.add_argument("--sizes", type=int, nargs="*")
    args = ap.parse_args(argv)
    if args.sizes:
        cost(args)
    else:
        quality(args)


if __name__ == "__main__":
    main()
