"""Each sample's nearest other samples in embedding space (cosine distance).

Exact up to EXACT_MAX_N samples (blocked matrix products on unit vectors);
above, approximate with Annoy, the index openTSNE itself builds for t-SNE and
ships with (``openTSNE.nearest_neighbors.Annoy``), so nothing new is installed.
"""

import numpy as np

EXACT_MAX_N = 20_000
_BLOCK = 2048


def unit(x):
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def nearest(features, k=10, seed=0):
    """(indices, distances): (N, k) each, the k nearest other rows by cosine
    distance (1 - cosine similarity), nearest first."""
    x = unit(features)
    n = len(x)
    k = min(k, n - 1)
    if k < 1:
        return np.zeros((n, 0), np.int64), np.zeros((n, 0), np.float32)
    if n > EXACT_MAX_N:
        return _annoy(x, k, seed)
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


def _annoy(x, k, seed):
    from openTSNE.nearest_neighbors import Annoy

    indices, angular = Annoy(x, k, metric="cosine", n_jobs=-1, random_state=seed).build()
    # Annoy's angular distance is sqrt(2 - 2 cos) between unit vectors
    return indices.astype(np.int64), (np.asarray(angular, np.float32) ** 2) / 2.0
