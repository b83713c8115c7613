"""update_grid against a fresh run: how much layout quality placing new
samples into an existing grid keeps.

On recaptcha-dev (digits when it is absent), with its cached EfficientNet-Lite0
embeddings in a field: a run on FIRST samples (a random order per seed), the
rest added and placed by ``update_grid``, and a fresh run on all of them. Prints
one JSON object per seed: DPQ_16 and neighbour agreement of the three layouts,
whether the update's report says it fell more than 0.02 (and so offers the
recompute), and seconds of the update and of the fresh run.

Needs the embedded MongoDB (or FIFTYONE_DATABASE_URI); the datasets it makes
are deleted afterwards.

    .venv/bin/python benchmarks/bench_update.py [--first 600] [--seeds 3] [--cache DIR]
"""

import argparse
import json
import os
import tempfile
import time

import numpy as np

from bench_layout import dataset_features
from bench_similarity import _paths


def one(name, feats, labels, first, seed, out):
    import fiftyone as fo

    import gridtsne

    order = np.random.default_rng(seed).permutation(len(labels))
    paths = _paths(name)

    def samples(idx):
        return [fo.Sample(filepath=paths[i], ground_truth=fo.Classification(label=labels[i]),
                          emb=np.asarray(feats[i], np.float32)) for i in idx]

    ds = fo.Dataset()
    try:
        ds.add_samples(samples(order[:first]), progress=False)
        opts = dict(embeddings="emb", label_field="ground_truth", curation=False,
                    progress=False, seed=seed)
        before = gridtsne.compute_grid(ds, key="grid", output_dir=out, **opts)
        ds.add_samples(samples(order[first:]), progress=False)
        t = time.perf_counter()
        updated = gridtsne.update_grid(ds, "grid", progress=False)
        update_s = time.perf_counter() - t
        t = time.perf_counter()
        fresh = gridtsne.compute_grid(ds, key="fresh", output_dir=out, **opts)
        fresh_s = time.perf_counter() - t

        def quality(res):
            return {k: round(res.metrics[k], 4) for k in ("dpq_16", "neighbor_label_agreement")}

        report = updated.update_report
        print(json.dumps({
            "dataset": name, "seed": seed, "first": first, "added": len(labels) - first,
            "grid_before": report["grid_before"], "grid_after": report["grid"],
            "fresh_grid": [fresh.rows, fresh.cols],
            "before": quality(before), "updated": quality(updated), "fresh": quality(fresh),
            "report_says_fell": report["fell"],
            "update_seconds": round(update_s, 1), "fresh_seconds": round(fresh_s, 1)}),
            flush=True)
    finally:
        ds.delete()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--first", type=int, default=600)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "benchcache"))
    args = ap.parse_args(argv)
    os.environ.setdefault("FIFTYONE_DO_NOT_TRACK", "true")
    for name, feats, labels in dataset_features(args.cache):
        out = tempfile.mkdtemp(prefix="gridtsne-bench-update-")
        for seed in range(args.seeds):
            one(name, feats, labels, min(args.first, len(labels) - 1), seed, out)


if __name__ == "__main__":
    main()
