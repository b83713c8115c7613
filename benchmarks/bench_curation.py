"""Label curation: how many randomly flipped labels the top scores catch.

Flips 5% of the labels of ``recaptcha-dev`` (or scikit-learn's digits when it is
absent) to another class, scores every sample with
``gridtsne.core.curation.label_disagreement`` and, for comparison, plain 10-NN
disagreement, and prints as JSON the share of flipped samples among the 5%
highest scores, per flip and averaged.

    .venv/bin/python benchmarks/bench_curation.py [--flips 8] [--cache DIR]
"""

import argparse
import json
import time

import numpy as np

from bench_layout import dataset_features
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


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--flips", type=int, default=8, help="random flips to average over")
    ap.add_argument("--fraction", type=float, default=0.05)
    ap.add_argument("--cache", help="folder to cache embeddings in between runs")
    args = ap.parse_args(argv)

    name, features, labels = dataset_features(args.cache)[0]
    rows = []
    for seed in range(args.flips):
        noisy, flipped = flip_labels(labels, args.fraction, seed)
        t = time.perf_counter()
        ours = caught(label_disagreement(features, noisy), flipped, args.fraction)
        seconds = time.perf_counter() - t
        knn = caught(knn_disagreement(features, noisy), flipped, args.fraction)
        rows.append({"flip_seed": seed, "caught": round(ours, 3),
                     "caught_knn10": round(knn, 3), "seconds": round(seconds, 2)})
        print(json.dumps(rows[-1]), flush=True)
    ours = [r["caught"] for r in rows]
    knn = [r["caught_knn10"] for r in rows]
    print(json.dumps({
        "dataset": name, "n": len(labels), "fraction_flipped": args.fraction,
        "caught_mean": round(float(np.mean(ours)), 3), "caught_min": min(ours),
        "caught_knn10_mean": round(float(np.mean(knn)), 3),
    }))


if __name__ == "__main__":
    main()
