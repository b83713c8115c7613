"""Embeddings -> 2-D with openTSNE.

Defaults come from measurements on recaptcha-dev (see README): cosine
distances and perplexity 20 gave the best grids; PCA initialisation keeps the
global arrangement stable across seeds. The rest is openTSNE's "auto": the
learning rate is N / exaggeration (N/12 during early exaggeration, N after),
neighbours are exact (scikit-learn) below 1,000 samples and approximate
(Annoy) from 1,000, and gradients use Barnes-Hut below 10,000 samples and FFT
interpolation from 10,000.
"""

import numpy as np

DEFAULT_PERPLEXITY = 20.0
DEFAULT_METRIC = "cosine"
EARLY_EXAGGERATION_ITERS = 250
ITERS = 500
# Above this many samples, t-SNE runs on a PCA projection of the (unit)
# features: a faster neighbour search over the same neighbourhoods.
PCA_ABOVE_N = 5000
PCA_COMPONENTS = 50


def in_metric_space(features, metric=DEFAULT_METRIC):
    """Features whose Euclidean distances follow ``metric``.

    t-SNE compares cosine distances, so the later steps that use Euclidean
    ones (grid refinement, DPQ) get unit vectors: all three then judge the
    same neighbourhoods. Other metrics pass through unchanged. float32 stays
    float32 (100,000 x 1,280 embeddings are 0.5 GB; a float64 copy doubles it).
    """
    x = np.asarray(features)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    if metric != "cosine":
        return x
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12).astype(x.dtype)


def effective_perplexity(n, perplexity=None):
    """openTSNE needs 3 * perplexity < N; small sets get the largest allowed."""
    p = DEFAULT_PERPLEXITY if perplexity is None else float(perplexity)
    return max(1.0, min(p, (n - 1) / 3.0))


def tsne_2d(
    features,
    perplexity=None,
    metric=DEFAULT_METRIC,
    seed=0,
    n_jobs=-1,
    progress=None,
):
    """(N, D) features -> (N, 2) t-SNE coordinates.

    Args:
        progress: optional callable taking the fraction done in [0, 1]
    """
    x = np.asarray(features, dtype=np.float32)
    n = len(x)
    if n < 2:
        raise ValueError("t-SNE needs at least 2 samples, got %d" % n)
    if x.shape[1] < 2:
        # openTSNE's PCA initialisation needs two input dimensions
        x = np.pad(x, ((0, 0), (0, 2 - x.shape[1])))
    if n < 5:
        # too few points for a neighbourhood graph: PCA keeps their order
        return _pca(x, 2, seed)

    x, metric, _ = _prepare(x, metric, seed)

    from openTSNE import TSNE

    total = EARLY_EXAGGERATION_ITERS + ITERS
    state = {"done": 0}

    def callback(iteration, error, embedding):
        state["done"] += 25
        if progress is not None:
            progress(min(state["done"] / total, 1.0))
        return False

    tsne = TSNE(
        n_components=2,
        perplexity=effective_perplexity(n, perplexity),
        metric=metric,
        initialization="pca",
        learning_rate="auto",
        early_exaggeration_iter=EARLY_EXAGGERATION_ITERS,
        n_iter=ITERS,
        neighbors="auto",
        negative_gradient_method="auto",
        n_jobs=n_jobs,
        random_state=seed,
        callbacks=callback if progress is not None else None,
        callbacks_every_iters=25,
        verbose=False,
    )
    y = np.asarray(tsne.fit(x), dtype=np.float64)
    if progress is not None:
        progress(1.0)
    return y


def _prepare(x, metric, seed):
    """(the space t-SNE runs in, its metric, the same map for new points).

    Cosine is undefined for all-zero vectors, so they get a direction; above
    PCA_ABOVE_N samples, t-SNE runs on a PCA projection of the unit vectors.
    """
    def nonzero(v):
        if metric == "cosine" and (np.linalg.norm(v, axis=1) == 0).any():
            v = v.copy()
            v[np.linalg.norm(v, axis=1) == 0] = 1e-6
        return v

    def unit(v):
        return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)

    x = nonzero(x)
    if len(x) > PCA_ABOVE_N and x.shape[1] > PCA_COMPONENTS:
        from sklearn.decomposition import PCA

        pca = PCA(n_components=PCA_COMPONENTS, random_state=seed)
        space = np.asarray(pca.fit_transform(unit(x) if metric == "cosine" else x),
                           dtype=np.float64)

        def project(v):
            v = nonzero(np.asarray(v, dtype=np.float32))
            return np.asarray(pca.transform(unit(v) if metric == "cosine" else v),
                              dtype=np.float64)

        return space, "euclidean" if metric == "cosine" else metric, project
    return x, metric, lambda v: nonzero(np.asarray(v, dtype=np.float32))


def tsne_transform(reference, xy, new, perplexity=None, metric=DEFAULT_METRIC, seed=0):
    """t-SNE coordinates for ``new`` points in the embedding ``xy`` that
    :func:`tsne_2d` made of ``reference``: openTSNE's ``transform``, which
    places each new point among its neighbours without moving the old ones."""
    from openTSNE import TSNEEmbedding, affinity

    reference = np.asarray(reference, dtype=np.float32)
    new = np.asarray(new, dtype=np.float32)
    n = len(reference)
    if n < 5:  # tsne_2d used PCA: put new points on their nearest old point
        d = ((new[:, None, :] - reference[None, :, :]) ** 2).sum(-1)
        return np.asarray(xy, dtype=np.float64)[d.argmin(axis=1)]
    space, space_metric, project = _prepare(reference, metric, seed)
    affinities = affinity.PerplexityBasedNN(
        space, perplexity=effective_perplexity(n, perplexity), metric=space_metric,
        n_jobs=-1, random_state=seed, verbose=False)
    embedding = TSNEEmbedding(np.asarray(xy, dtype=np.float64), affinities, random_state=seed)
    return np.asarray(embedding.transform(project(new)), dtype=np.float64)


def _pca(x, k, seed):
    from sklearn.decomposition import PCA

    k = min(k, x.shape[0], x.shape[1])
    y = PCA(n_components=k, random_state=seed).fit_transform(x)
    if y.shape[1] < 2:
        y = np.pad(y, ((0, 0), (0, 2 - y.shape[1])))
    return np.asarray(y, dtype=np.float64)
