"""The similarity index every run registers (gridtsne.fo.similarity).

Quality: a dataset of ``recaptcha-dev`` (or scikit-learn's digits when it is
absent) with a grid run on its cached EfficientNet-Lite0 embeddings; for 20
random queries, the share of the 10 samples ``sort_by_similarity`` ranks
first (the query left out) that carry the query's label, beside the grid's
own 10-NN label accuracy (neighbours by grid distance).

Cost (``--n 100000``): the seconds to build the index over N clustered
1,280-d vectors (the default model's size) held in a field of N samples, as a
run stores them, and the median seconds of one ``sort_by_similarity`` query
(k=10) over 5 queries (the first one loads the index).

Prints one JSON object per line. Needs the embedded MongoDB (or
FIFTYONE_DATABASE_URI); the datasets it makes are deleted afterwards.

    .venv/bin/python benchmarks/bench_similarity.py [--cache DIR] [--n 100000]
"""

import argparse
import json
import os
import statistics
import tempfile
import time

import numpy as np

from bench_layout import RECAPTCHA, dataset_features


def quality(cache, queries=20, k=10, seed=0):
    import fiftyone as fo

    import gridtsne

    for name, feats, labels in dataset_features(cache):
        ds = fo.Dataset()
        ds.add_samples([fo.Sample(filepath=p, ground_truth=fo.Classification(label=l))
                        for p, l in zip(_paths(name), labels)], progress=False)
        out = tempfile.mkdtemp(prefix="gridtsne-bench-sim-")
        try:
            t = time.perf_counter()
            res = _run_on_vectors(ds, feats, out, label_field="ground_truth")
            seconds = time.perf_counter() - t
            ids = ds.values("id")
            label_of = dict(zip(ids, labels))
            rng = np.random.default_rng(seed)
            shares = []
            for q in rng.choice(len(ids), queries, replace=False):
                near = gridtsne.similar_samples(ds, "grid", ids[q], k=k)
                shares.append(sum(label_of[i] == labels[q] for i in near) / float(k))
            print(json.dumps({
                "dataset": name, "n": len(ids), "queries": queries, "k": k,
                "similar_label_share": round(float(np.mean(shares)), 4),
                "grid_knn10_label_accuracy": round(res.metrics["knn10_label_accuracy"], 4),
                "run_seconds": round(seconds, 2),
                "index_seconds": round(res.timings.get("similarity", float("nan")), 2)}),
                flush=True)
        finally:
            ds.delete()


def _paths(name):
    """The image files of a dataset of bench_layout.dataset_features, in its order."""
    from gridtsne.core import images
    from gridtsne.fo.imports import write_digits

    if name == "sklearn-digits":
        folder = write_digits(os.path.join(tempfile.gettempdir(), "gridtsne-digits"))
    else:
        folder = RECAPTCHA
    return images.list_images(folder)[0]


def _run_on_vectors(ds, feats, out, **options):
    import gridtsne

    return gridtsne.compute_grid(ds, key="grid", embeddings=np.asarray(feats, np.float32),
                                 output_dir=out, progress=False, curation=False,
                                 refine=False, **options)


def cost(n, dim=1280, seed=0):
    import fiftyone as fo

    from bench_scale import clustered
    from gridtsne.fo import items, similarity

    feats, _ = clustered(n, dim, seed)
    ds = fo.Dataset()
    ds.add_samples([fo.Sample(filepath="/nonexistent/%d.jpg" % i) for i in range(n)],
                   progress=False)
    try:
        its = items.read(ds, items.SAMPLES)
        # as a run stores them: its {key}_embedding field (the index reads it)
        ds.set_values("grid_embedding", [v for v in feats], progress=False)
        t = time.perf_counter()
        key = similarity.index_run(ds, "grid", its, embeddings_field="grid_embedding")
        build = time.perf_counter() - t
        ids = its.ids
        times = []
        for q in np.random.default_rng(seed).choice(n, 5, replace=False):
            t = time.perf_counter()
            ds.sort_by_similarity(ids[q], k=10, brain_key=key).values("id")
            times.append(time.perf_counter() - t)
        print(json.dumps({"n": n, "dim": dim, "build_seconds": round(build, 2),
                          "query_seconds": round(statistics.median(times), 3),
                          "query_all_seconds": [round(x, 3) for x in times]}), flush=True)
    finally:
        ds.delete()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "benchcache"))
    ap.add_argument("--n", type=int, help="measure the cost at N samples instead")
    args = ap.parse_args(argv)
    os.environ.setdefault("FIFTYONE_DO_NOT_TRACK", "true")
    if args.n:
        cost(args.n)
    else:
        quality(args.cache)


if __name__ == "__main__":
    main()
