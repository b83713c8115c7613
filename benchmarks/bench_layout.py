"""Layout quality and speed on labeled images, default settings.

Prints JSON: DPQ_16 (distance preservation quality), neighbour label agreement
(share of 4-adjacent cell pairs with the same label), leave-one-out 10-NN label
accuracy in grid coordinates, and the time of each stage, for the EfficientNet-Lite0
embeddings of ``recaptcha-dev`` (when ../shared/data/recaptcha-dev exists) and
of scikit-learn's digits. No FiftyOne database is needed.

    .venv/bin/python benchmarks/bench_layout.py [--data DIR] [--digits]
"""

import argparse
import json
import os
import sys
import time

import numpy as np

from gridtsne.core import embed, grid, images, metrics, reduce

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECAPTCHA = os.path.join(REPO, "..", "shared", "data", "recaptcha-dev")


def layout_figures(paths, labels, name, cached=None):
    t0 = time.perf_counter()
    if cached and os.path.exists(cached):
        feats = np.load(cached)
        t_load = t_embed = 0.0
    else:
        t = time.perf_counter()
        pil = [images.load_rgb(p) for p in paths]
        t_load = time.perf_counter() - t
        t = time.perf_counter()
        feats = embed.embed_images(pil, batch_size=32)
        t_embed = time.perf_counter() - t
        if cached:
            np.save(cached, feats)
    t = time.perf_counter()
    xy = reduce.tsne_2d(feats, seed=0)
    t_tsne = time.perf_counter() - t
    rows, cols = grid.grid_shape(len(paths))
    t = time.perf_counter()
    cells = grid.assign_to_grid(grid.scale_to_grid(xy, rows, cols), rows, cols)
    t_assign = time.perf_counter() - t
    return {
        "dataset": name,
        "n": len(paths),
        "grid": "%dx%d" % (rows, cols),
        "dpq_16": round(metrics.distance_preservation_quality(feats, cells, p=16), 4),
        "neighbor_label_agreement": round(metrics.neighbor_label_agreement(cells, labels), 4),
        "knn10_label_accuracy": round(metrics.knn_label_accuracy(cells, labels, k=10), 4),
        "seconds": {
            "decode": round(t_load, 2),
            "embed": round(t_embed, 2),
            "tsne": round(t_tsne, 2),
            "assign": round(t_assign, 2),
            "layout_after_embeddings": round(t_tsne + t_assign, 2),
            "total": round(time.perf_counter() - t0, 2),
        },
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=RECAPTCHA, help="folder with one subfolder per label")
    ap.add_argument("--digits", action="store_true", help="also run scikit-learn digits")
    ap.add_argument("--cache", help="folder to cache embeddings in between runs")
    args = ap.parse_args(argv)

    out = []
    if os.path.isdir(args.data):
        paths = images.list_images(args.data)
        labels = [os.path.basename(os.path.dirname(p)) for p in paths]
        cache = os.path.join(args.cache, "recaptcha.npy") if args.cache else None
        out.append(layout_figures(paths, labels, os.path.basename(os.path.abspath(args.data)), cache))
    else:
        print("note: %s not found; skipping it" % args.data, file=sys.stderr)
    if args.digits or not out:
        import tempfile

        from gridtsne.fo.imports import write_digits

        folder = write_digits(os.path.join(tempfile.gettempdir(), "gridtsne-digits"))
        paths = images.list_images(folder)
        labels = [os.path.basename(os.path.dirname(p)) for p in paths]
        out.append(layout_figures(paths, labels, "sklearn-digits"))
    for row in out:
        print(json.dumps(row))


if __name__ == "__main__":
    main()
