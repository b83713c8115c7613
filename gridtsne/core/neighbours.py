"""Each sample's nearest other samples in embedding space (cosine distance).

Exact up to EXACT_MAX_N samples (blocked matrix products on unit vectors);
above, candidates from Annoy, the index openTSNE itself builds for t-SNE and
ships with (``openTSNE.nearest_neighbors.Annoy``), so nothing new is installed.
Annoy's trees are built on a PCA projection of the unit vectors (its distance
loops cost the full width per pair: on 1,280-d vectors, far slower than t-SNE's
50-d ones) and asked for CANDIDATES times k; those are ranked again by their
exact cosine distance, which is what is returned.
"""

import numpy as np

EXACT_MAX_N = 5_000
PROJECTED_DIM = 64
PCA_FIT_ON = 50_000
CANDIDATES = 2
# Fewer trees than openTSNE's 50 for t-SNE: these neighbours serve outlier
# scores and duplicate candidates, where near pairs (what matters) are found
# by any tree, and 10 cost a fifth (docs/benchmarks.md)
TREES = 10
_BLOCK = 2048


def unit(x):
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def nearest(features, k=10, seed=0):
    """(indices, distances): (N, k) each, the k nearest other rows by cosine
    distance (1 - cosine similarity), nearest first."""
    features = np.asanyarray(features)
    n = len(features)
    k = min(k, n - 1)
    if k < 1:
        return np.zeros((n, 0), np.int64), np.zeros((n, 0), np.float32)
    if n > EXACT_MAX_N:
        return _approximate(features, k, seed)
    x = unit(features)
    indices = np.empty((n, k), np.int64)
    distances = np.empty((n, k), np.float32)
    for start in range(0, n, _BLOCK):
        sim = x[start:start + _BLOCK] @ x.T
        rows = np.arange(len(sim))
        sim[rows, start + rows] = -np.inf  # not oneself
        top = np.argpartition(-sim, k - 1, axis=1)[:, :k]
        top_sim = np.take_along_axis(sim, top, axis=1)
        order = np.argsort(-top_sim, axis=1, kind="stable")
        indices[start:start + _BLOCK] = np.take_along_axis(top, order, axis=1)
        distances[start:start + _BLOCK] = 1.0 - np.take_along_axis(top_sim, order, axis=1)
    return indices, np.maximum(distances, 0.0)


def _approximate(features, k, seed):
    """Annoy on the projection, then the exact distances of its candidates,
    block by block (no unit-vector copy of all the features)."""
    from openTSNE.nearest_neighbors import Annoy

    n = len(features)
    projected = _projected(features, seed)
    wanted = min(n - 1, CANDIDATES * k)
    candidates, _ = Annoy(projected, wanted, metric="cosine", n_jobs=-1, random_state=seed,
                          knn_kwargs={"n_trees": TREES}).build()
    del projected
    indices = np.empty((n, k), np.int64)
    distances = np.empty((n, k), np.float32)
    for start in range(0, n, _BLOCK):
        stop = min(n, start + _BLOCK)
        near = candidates[start:stop].astype(np.int64)
        sim = np.einsum("bd,bkd->bk", unit(features[start:stop]),
                        unit(features[near.ravel()]).reshape(len(near), wanted, -1))
        sim[near == np.arange(start, stop)[:, None]] = -np.inf  # not oneself
        order = np.argsort(-sim, axis=1, kind="stable")[:, :k]
        indices[start:stop] = np.take_along_axis(near, order, axis=1)
        distances[start:stop] = 1.0 - np.take_along_axis(sim, order, axis=1)
    return indices, np.maximum(distances, 0.0)


def _projected(features, seed):
    """Unit vectors on their PROJECTED_DIM principal axes (fitted on a sample)."""
    if features.shape[1] <= PROJECTED_DIM:
        return unit(features)
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(len(features), min(len(features), PCA_FIT_ON), replace=False))
    pca = PCA(PROJECTED_DIM, random_state=seed).fit(unit(features[sample]))
    out = np.empty((len(features), PROJECTED_DIM), np.float32)
    for start in range(0, len(features), 65_536):
        out[start:start + 65_536] = pca.transform(unit(features[start:start + 65_536]))
    return out
