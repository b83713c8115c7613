"""Layout quality and speed of each layout method, on labeled images.

Prints one JSON line per dataset, method and seed, then one summary line per
dataset and method (mean, min and max over seeds): DPQ_16 (distance
preservation quality), neighbour label agreement (share of 4-adjacent cell
pairs with the same label), leave-one-out 10-NN label accuracy in grid
coordinates, and the seconds of each step after the embeddings. Datasets:
the EfficientNet-Lite0 embeddings of ``recaptcha-dev`` (when
../shared/data/recaptcha-dev exists) and of scikit-learn's digits. No FiftyOne
database is needed.

Methods:
    tsne          t-SNE + exact assignment (the seed's notebook)
    tsne+refine   the same, then gridtsne.core.refine (the default)
    flas          Fast Linear Assignment Sorting on the features (only when
                  the vc-flas package is installed)

    .venv/bin/python benchmarks/bench_layout.py [--seeds 5] [--cache DIR] [--digits]
"""

import argparse
import json
import os
import sys
import time

import numpy as np

from gridtsne.core import embed, grid, images, reduce
from gridtsne.core import layout as core_layout

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECAPTCHA = os.path.join(REPO, "..", "shared", "data", "recaptcha-dev")


def embedded(paths, cached=None):
    """EfficientNet-Lite0 features of ``paths`` (and seconds), cached as .npy."""
    if cached and os.path.exists(cached):
        return np.load(cached), 0.0
    t = time.perf_counter()
    feats = embed.embed_images([images.load_rgb(p) for p in paths], batch_size=32)
    seconds = time.perf_counter() - t
    if cached:
        np.save(cached, feats)
    return feats, seconds


def _cached(folder, name):
    """Where the features of ``name`` are cached, per embedder version."""
    if folder:
        os.makedirs(folder, exist_ok=True)
    return os.path.join(folder, "%s-%s.npy" % (name, embed.FEATURES_TAG)) if folder else None


def dataset_features(cache=None, data=RECAPTCHA, digits=False):
    """[(name, features, labels)]: recaptcha-dev when present, digits otherwise."""
    out = []
    if os.path.isdir(data):
        paths, _ = images.list_images(data)
        labels = [os.path.basename(os.path.dirname(p)) for p in paths]
        feats, _ = embedded(paths, _cached(cache, "recaptcha"))
        out.append((os.path.basename(os.path.abspath(data)), feats, labels))
    else:
        print("note: %s not found; skipping it" % data, file=sys.stderr)
    if digits or not out:
        import tempfile

        from gridtsne.fo.imports import write_digits

        folder = write_digits(os.path.join(tempfile.gettempdir(), "gridtsne-digits"))
        paths, _ = images.list_images(folder)
        labels = [os.path.basename(os.path.dirname(p)) for p in paths]
        feats, _ = embedded(paths, _cached(cache, "digits"))
        out.append(("sklearn-digits", feats, labels))
    return out


def layout(method, feats, labels, rows, cols, seed):
    """(cells, metrics, {step: seconds}) for one method. The t-SNE methods run
    gridtsne.core.layout, the very step compute_grid runs."""
    if method == "flas":
        from vc_flas import flas  # optional; see the docstring

        t = time.perf_counter()
        cells = flas_cells(flas, feats, rows, cols, seed)
        seconds = {"flas": time.perf_counter() - t}
        return cells, core_layout.quality(reduce.in_metric_space(feats), cells, labels), seconds
    out = core_layout.compute_layout(feats, rows, cols, seed=seed, labels=labels,
                                     refine_cells=method == "tsne+refine", curation=False)
    seconds = {k: v for k, v in out.timings.items() if k != "metrics"}
    return out.cells, out.metrics, seconds


def flas_cells(flas, feats, rows, cols, seed):
    from vc_flas import GridBuilder

    builder = GridBuilder((rows, cols))
    ids = np.asarray(builder.add(np.asarray(feats, dtype=np.float32))).ravel()
    sorting = np.asarray(flas(builder.build(freeze_holes=False), wrap=False, seed=seed).sorting)
    item_of_id = {int(g): i for i, g in enumerate(ids)}
    cells = np.zeros((len(feats), 2), dtype=np.int64)
    for (r, c), g in np.ndenumerate(sorting):
        if g >= 0:
            cells[item_of_id[int(g)]] = (r, c)
    return cells


def figures(name, method, feats, labels, seed):
    rows, cols = grid.grid_shape(len(feats))
    cells, quality, seconds = layout(method, feats, labels, rows, cols, seed)
    seconds["layout_after_embeddings"] = sum(seconds.values())
    return {
        "dataset": name, "method": method, "seed": seed, "n": len(feats),
        "grid": "%dx%d" % (rows, cols),
        **{k: round(v, 4) for k, v in quality.items()},
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
    }


def summary(rows):
    out = {k: rows[0][k] for k in ("dataset", "method", "n", "grid")}
    out["seeds"] = len(rows)
    for k in ("dpq_16", "neighbor_label_agreement", "knn10_label_accuracy"):
        v = [r[k] for r in rows]
        out[k] = {"mean": round(float(np.mean(v)), 4), "min": min(v), "max": max(v)}
    out["layout_seconds_max"] = max(r["seconds"]["layout_after_embeddings"] for r in rows)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=RECAPTCHA, help="folder with one subfolder per label")
    ap.add_argument("--digits", action="store_true", help="also run scikit-learn digits")
    ap.add_argument("--cache", help="folder to cache embeddings in between runs")
    ap.add_argument("--seeds", type=int, default=5, help="seeds per method")
    ap.add_argument("--methods", default="tsne,tsne+refine,flas")
    args = ap.parse_args(argv)

    methods = args.methods.split(",")
    if "flas" in methods:
        try:
            import vc_flas  # noqa: F401
        except ImportError:
            print("note: vc-flas is not installed; skipping flas", file=sys.stderr)
            methods.remove("flas")
    summaries = []
    for name, feats, labels in dataset_features(args.cache, args.data, args.digits):
        for method in methods:
            rows = []
            for seed in range(args.seeds):
                rows.append(figures(name, method, feats, labels, seed))
                print(json.dumps(rows[-1]), flush=True)
            summaries.append(summary(rows))
    for s in summaries:
        print(json.dumps(s))


if __name__ == "__main__":
    main()
