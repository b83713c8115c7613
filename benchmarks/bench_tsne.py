"""t-SNE at scale: seconds and peak memory of ``tsne_2d`` on N x 1280 features.

The features are synthetic stand-ins for image embeddings: non-negative
(post-ReLU-like) vectors around 40 cluster centres of different sizes. Prints
JSON with the seconds, the peak resident memory, and how well the 2-D result
keeps the clusters (10-NN cluster accuracy on a sample, in 2-D).

    .venv/bin/python benchmarks/bench_tsne.py [--n 100000] [--dim 1280]
"""

import argparse
import json
import resource
import time

import numpy as np

from gridtsne.core import reduce


def embeddings_like(n, dim, k=40, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.maximum(rng.standard_normal((k, dim)).astype(np.float32), 0)
    sizes = rng.dirichlet(np.full(k, 2.0))
    labels = rng.choice(k, n, p=sizes)
    x = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 10_000):  # in chunks: no float64 temporaries
        part = labels[start:start + 10_000]
        noise = rng.standard_normal((len(part), dim), dtype=np.float32) * 0.6
        x[start:start + len(part)] = np.maximum(centres[part] + noise, 0)
    return x, labels


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=1280)
    args = ap.parse_args(argv)

    from sklearn.neighbors import KNeighborsClassifier

    x, labels = embeddings_like(args.n, args.dim)
    steps = []
    t = time.perf_counter()
    y = reduce.tsne_2d(x, progress=lambda f: steps.append((f, time.perf_counter() - t)))
    seconds = time.perf_counter() - t
    first_iteration = next((s for f, s in steps if f > 0), seconds)
    sample = np.random.default_rng(1).choice(args.n, min(args.n, 5000), replace=False)
    knn = KNeighborsClassifier(11).fit(y, labels)
    # leave-one-out: the nearest neighbour of a training point is itself
    nbrs = knn.kneighbors(y[sample], return_distance=False)[:, 1:]
    votes = labels[nbrs]
    pred = np.array([np.bincount(v).argmax() for v in votes])
    print(json.dumps({
        "n": args.n, "dim": args.dim,
        "seconds": round(seconds, 1),
        "seconds_before_first_iteration": round(first_iteration, 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "knn10_cluster_accuracy_2d": round(float((pred == labels[sample]).mean()), 4),
    }))


if __name__ == "__main__":
    main()
