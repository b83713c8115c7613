"""Label curation: how many randomly flipped labels the top scores catch.

Flips 5% of the labels of ``recaptcha-dev`` (or scikit-learn's digits when it is
absent) to another class, scores every sample with
``gridtsne.core.curation.label_disagreement`` and, for comparison, plain 10-NN
disagreement, and prints as JSON the share of flipped samples among the 5%
highest scores, per flip and averaged.

``--compare``: also the regression it replaced (10 folds on the full unit
vectors, each model fitted on all the other folds' samples), for the figures
that show the projection and 5 folds keep its precision.

``--synthetic N``: the same on N labelled synthetic vectors (overlapping
classes, 1,280-d): PCA fitted on a sample and each fold's model fitted on at
most TRAIN_AT_MOST samples.

    .venv/bin/python benchmarks/bench_curation.py [--flips 8] [--cache DIR]
    .venv/bin/python benchmarks/bench_curation.py --synthetic 100000 --flips 2 --compare
"""

import argparse
import json
import time

import numpy as np

from bench_layout import dataset_features
from gridtsne.core import curation
from gridtsne.core.curation import label_disagreement


def flip_labels(labels, fraction, seed):
    rng = np.random.default_rng(seed)
    classes = sorted(set(labels))
    flipped = rng.choice(len(labels), int(round(fraction * len(labels))), replace=False)
    noisy = list(labels)
    for i in flipped:
        noisy[i] = rng.choice([c for c in classes if c != labels[i]])
    return noisy, flipped


def knn_disagreement(features, labels, k=10):
    from sklearn.neighbors import NearestNeighbors

    x = features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
    _, nbrs = NearestNeighbors(n_neighbors=k + 1).fit(x).kneighbors(x)
    lab = np.asarray(labels)
    return (lab[nbrs[:, 1:]] != lab[:, None]).mean(1)


def caught(scores, flipped, fraction):
    top = np.argsort(-np.asarray(scores), kind="stable")[: int(round(fraction * len(scores)))]
    return len(set(top.tolist()) & set(flipped.tolist())) / len(flipped)


def overlapping(n, classes=50, dim=1280, seed=0, spread=2.5):
    """Vectors of ``classes`` overlapping classes (a 64-d latent space mapped
    to ``dim``), float32, with labels as strings: hard enough that with 5%
    of them flipped the top 5% of scores hold about 0.82 of the flips."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((classes, 64)).astype(np.float32)
    mix = rng.standard_normal((64, dim)).astype(np.float32) / 8
    labels = rng.integers(0, classes, n)
    out = np.empty((n, dim), np.float32)
    for start in range(0, n, 50_000):
        stop = min(n, start + 50_000)
        latent = centres[labels[start:stop]] + spread * rng.standard_normal(
            (stop - start, 64), dtype=np.float32)
        out[start:stop] = latent @ mix + 0.1 * rng.standard_normal(
            (stop - start, dim), dtype=np.float32)
    return out, ["c%d" % l for l in labels]


def every_sample(features, labels, seed=0):
    """The regression it replaced: 10 folds on the full unit vectors, each
    model fitted on all the other folds' samples."""
    saved = curation.PCA_COMPONENTS, curation.TRAIN_AT_MOST
    curation.PCA_COMPONENTS, curation.TRAIN_AT_MOST = features.shape[1], len(labels)
    try:
        return label_disagreement(features, labels, folds=10, seed=seed)
    finally:
        curation.PCA_COMPONENTS, curation.TRAIN_AT_MOST = saved


def synthetic(args):
    import resource

    features, labels = overlapping(args.synthetic, args.classes)
    variants = [("projected_5_folds", label_disagreement)]
    if args.compare:
        variants.append(("ten_folds_every_sample", every_sample))
    for seed in range(args.flips):
        noisy, flipped = flip_labels(labels, args.fraction, seed)
        row = {"n": args.synthetic, "classes": args.classes, "flip_seed": seed}
        for name, fn in variants:
            t = time.perf_counter()
            row[name] = {"caught": round(caught(fn(features, noisy), flipped, args.fraction), 3),
                         "seconds": round(time.perf_counter() - t, 1)}
        row["peak_rss_gib"] = round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20, 2)
        print(json.dumps(row), flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--flips", type=int, default=8, help="random flips to average over")
    ap.add_argument("--fraction", type=float, default=0.05)
    ap.add_argument("--cache", help="folder to cache embeddings in between runs")
    ap.add_argument("--synthetic", type=int, metavar="N",
                    help="N synthetic labelled vectors instead of the images")
    ap.add_argument("--classes", type=int, default=50, help="classes of --synthetic")
    ap.add_argument("--compare", action="store_true",
                    help="also 10 folds on the full vectors (the regression it replaced)")
    args = ap.parse_args(argv)
    if args.synthetic:
        return synthetic(args)

    for name, features, labels in dataset_features(args.cache, digits=True):
        one_dataset(name, features, labels, args)


def one_dataset(name, features, labels, args):
    rows = []
    for seed in range(args.flips):
        noisy, flipped = flip_labels(labels, args.fraction, seed)
        t = time.perf_counter()
        ours = caught(label_disagreement(features, noisy, seed=seed), flipped, args.fraction)
        seconds = time.perf_counter() - t
        knn = caught(knn_disagreement(features, noisy), flipped, args.fraction)
        rows.append({"dataset": name, "flip_seed": seed, "caught": round(ours, 3),
                     "caught_knn10": round(knn, 3), "seconds": round(seconds, 2)})
        if args.compare:
            t = time.perf_counter()
            rows[-1]["caught_ten_folds_full"] = round(caught(every_sample(
                features, noisy, seed), flipped, args.fraction), 3)
            rows[-1]["seconds_ten_folds_full"] = round(time.perf_counter() - t, 2)
        print(json.dumps(rows[-1]), flush=True)
    summary = {"dataset": name, "n": len(labels), "fraction_flipped": args.fraction}
    for column in ("caught", "caught_knn10", "caught_ten_folds_full", "seconds",
                   "seconds_ten_folds_full"):
        if column in rows[0]:
            summary[column + "_mean"] = round(float(np.mean([r[column] for r in rows])), 3)
    summary["caught_min"] = min(r["caught"] for r in rows)
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
