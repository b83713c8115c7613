"""Embeddings -> 2-D with openTSNE.

Cosine distances, perplexity 20 and PCA initialisation gave the best grids on
recaptcha-dev and keep the global arrangement stable across seeds; the rest
is openTSNE's "auto" (learning rate N / exaggeration, Annoy neighbours from
1,000 samples, FFT gradients from 10,000).

Above SUBSAMPLE_ABOVE_N samples a full t-SNE takes over an hour on 2 cores, so
it optimises a random SUBSAMPLE_N of them, puts every other point at the
median position of its PLACE_K nearest optimised neighbours (openTSNE's
``prepare_partial``, as Kobak & Berens 2019 placed 1.3 million cells), then
runs POLISH_ITERS iterations of all points at exaggeration POLISH_EXAGGERATION.
Why these, and what they cost and give: docs/design.md, docs/benchmarks.md.
"""

import numpy as np

from gridtsne.config import DEFAULT_PERPLEXITY  # noqa: F401 (the one default, here too)

DEFAULT_METRIC = "cosine"
EARLY_EXAGGERATION_ITERS = 250
ITERS = 500
# Above this many samples, t-SNE runs on a PCA projection of the (unit)
# features: a faster neighbour search over the same neighbourhoods.
PCA_ABOVE_N = 5000
PCA_COMPONENTS = 50
# PCA is fitted on at most this many rows (the projection of the rest is the
# same to within sampling noise, and no N x D centred copy is made)
PCA_FIT_N = 100_000
SUBSAMPLE_ABOVE_N = 200_000
SUBSAMPLE_N = 100_000
PLACE_K = 10
POLISH_ITERS = 100
POLISH_EXAGGERATION = 4.0
POLISH_TREES = 10  # Annoy trees for all points' neighbours (openTSNE uses 50)


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
    if n > SUBSAMPLE_ABOVE_N:
        return _subsampled(x, perplexity, metric, seed, n_jobs, progress)
    y = _fit(x, perplexity, metric, seed, n_jobs, progress)
    if progress is not None:
        progress(1.0)
    return np.asarray(y, dtype=np.float64)


def _subsampled(x, perplexity, metric, seed, n_jobs, progress):
    """t-SNE of SUBSAMPLE_N points, the others at their neighbours' median,
    then POLISH_ITERS iterations of all of them together."""
    from openTSNE import TSNEEmbedding, affinity
    from openTSNE.nearest_neighbors import Annoy

    n = len(x)
    optimised = _subsample(n, seed)
    rest = np.ones(n, dtype=bool)
    rest[optimised] = False
    part = None if progress is None else (lambda f: progress(0.5 * f))
    embedding = _fit(x[optimised], perplexity, metric, seed, n_jobs, part)
    y = np.empty((n, 2), dtype=np.float64)
    y[optimised] = embedding
    # prepare_partial asks openTSNE's neighbour index (built for the fit)
    # for each point's PLACE_K nearest optimised points
    y[rest] = embedding.prepare_partial(x[rest], initialization="median", k=PLACE_K)
    del embedding
    if progress is not None:
        progress(0.55)
    annoy = metric in Annoy.VALID_METRICS
    neighbours = affinity.PerplexityBasedNN(
        x, perplexity=effective_perplexity(n, perplexity), metric=metric,
        method="annoy" if annoy else "auto", n_jobs=n_jobs, random_state=seed,
        knn_kwargs={"n_trees": POLISH_TREES} if annoy else None, verbose=False)
    if progress is not None:
        progress(0.7)

    def callback(iteration, error, embedding):
        progress(0.7 + 0.3 * min(iteration / POLISH_ITERS, 1.0))
        return False

    y = TSNEEmbedding(y, neighbours, negative_gradient_method="fft", n_jobs=n_jobs,
                      random_state=seed).optimize(
        POLISH_ITERS, exaggeration=POLISH_EXAGGERATION,
        learning_rate=n / POLISH_EXAGGERATION, momentum=0.8,
        callbacks=callback if progress is not None else None, callbacks_every_iters=10)
    if progress is not None:
        progress(1.0)
    return np.asarray(y, dtype=np.float64)


def _subsample(n, seed):
    """The SUBSAMPLE_N of ``n`` points that t-SNE optimises with this seed (and
    that tsne_transform places new points among), in order."""
    return np.sort(np.random.default_rng(seed).choice(n, SUBSAMPLE_N, replace=False))


def _fit(x, perplexity, metric, seed, n_jobs, progress):
    """openTSNE's TSNE.fit (a TSNEEmbedding, which keeps its neighbour index)."""
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
        perplexity=effective_perplexity(len(x), perplexity),
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
    return tsne.fit(x)


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

    if len(x) > PCA_ABOVE_N and x.shape[1] > PCA_COMPONENTS:
        from sklearn.decomposition import PCA

        def ready(v):
            v = nonzero(np.asarray(v, dtype=np.float32))
            return unit(v) if metric == "cosine" else v

        fit_on = x
        if len(x) > PCA_FIT_N:
            fit_on = x[np.sort(np.random.default_rng(seed).choice(len(x), PCA_FIT_N,
                                                                 replace=False))]
        pca = PCA(n_components=PCA_COMPONENTS, random_state=seed).fit(ready(fit_on))

        def project(v):  # in chunks: one unit copy of all features would double them
            return np.concatenate([
                np.asarray(pca.transform(ready(v[s:s + 50_000])), dtype=np.float64)
                for s in range(0, len(v), 50_000)])

        return project(x), "euclidean" if metric == "cosine" else metric, project
    x = nonzero(x)
    return x, metric, lambda v: nonzero(np.asarray(v, dtype=np.float32))


def tsne_transform(reference, xy, new, perplexity=None, metric=DEFAULT_METRIC, seed=0):
    """t-SNE coordinates for ``new`` points in the embedding ``xy`` that
    :func:`tsne_2d` made of ``reference``: openTSNE's ``transform``, which
    places each new point among its neighbours without moving the old ones.

    Above SUBSAMPLE_ABOVE_N old points, the new ones are placed among the
    SUBSAMPLE_N that tsne_2d optimised with the same seed (at their own
    positions): openTSNE's neighbour index over 1,000,000 would take 13 minutes."""
    from openTSNE import TSNEEmbedding, affinity

    reference = np.asarray(reference, dtype=np.float32)
    xy = np.asarray(xy, dtype=np.float64)
    new = np.asarray(new, dtype=np.float32)
    n = len(reference)
    if n > SUBSAMPLE_ABOVE_N:
        keep = _subsample(n, seed)
        reference, xy, n = reference[keep], xy[keep], SUBSAMPLE_N
    if n < 5:  # tsne_2d used PCA: put new points on their nearest old point
        d = ((new[:, None, :] - reference[None, :, :]) ** 2).sum(-1)
        return xy[d.argmin(axis=1)]
    space, space_metric, project = _prepare(reference, metric, seed)
    affinities = affinity.PerplexityBasedNN(
        space, perplexity=effective_perplexity(n, perplexity), metric=space_metric,
        n_jobs=-1, random_state=seed, verbose=False)
    embedding = TSNEEmbedding(xy, affinities, random_state=seed)
    return np.asarray(embedding.transform(project(new)), dtype=np.float64)


def _pca(x, k, seed):
    from sklearn.decomposition import PCA

    k = min(k, x.shape[0], x.shape[1])
    y = PCA(n_components=k, random_state=seed).fit_transform(x)
    if y.shape[1] < 2:
        y = np.pad(y, ((0, 0), (0, 2 - y.shape[1])))
    return np.asarray(y, dtype=np.float64)
