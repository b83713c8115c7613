"""Which samples need a second look: labels that look wrong given the images'
neighbours in embedding space, and images far from all others (outliers).

A cross-validated logistic regression on L2-normalised embeddings gives each
sample an out-of-fold probability for its own label. As in confident learning
(Northcutt et al. 2021), that probability is judged against its class's
threshold, the mean own-label probability of the class, since some classes are
harder than others: score = 1 - probability / threshold, clipped to [0, 1].
Measured on recaptcha-dev with 5% of labels flipped (benchmarks/bench_curation.py,
GeM features): the top 5% of scores hold 85% of the flipped samples on average
over 8 random flips (range 0.82-0.90); plain 10-NN disagreement 78%.
"""

import numpy as np

# Above this many samples the regression runs on a PCA projection.
PCA_ABOVE_N = 20_000
PCA_COMPONENTS = 128


def label_disagreement(features, labels, folds=10, seed=0):
    """Per-sample score in [0, 1]: high when the label disagrees with the data.

    Unlabelled samples (None) get nan and take no part in training, and so
    do the members of classes with a single sample: a cross-validated model
    cannot learn a class from the fold that holds its only example.
    """
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    x = np.asarray(features, dtype=np.float64)
    out = np.full(len(x), np.nan)
    names = np.array(["" if l is None else str(l) for l in labels], dtype=object)
    keep = np.array([l is not None for l in labels], dtype=bool)
    classes, counts = np.unique(names[keep], return_counts=True)
    keep &= np.isin(names, classes[counts >= 2])
    y = names[keep].astype(str)
    if keep.sum() < 2:
        return out
    classes, counts = np.unique(y, return_counts=True)
    if len(classes) < 2:
        out[keep] = 0.0
        return out
    x = x[keep]
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    if len(x) > PCA_ABOVE_N and x.shape[1] > PCA_COMPONENTS:
        x = PCA(PCA_COMPONENTS, random_state=seed).fit_transform(x)
    folds = int(max(2, min(folds, counts.max(), len(y) // 2)))
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    import warnings

    with warnings.catch_warnings():
        # classes with fewer members than folds are fine: they are just rare
        warnings.simplefilter("ignore", UserWarning)
        proba = cross_val_predict(
            LogisticRegression(C=1.0, max_iter=2000), x, y, cv=cv, method="predict_proba"
        )
    members = np.searchsorted(classes, y)
    own = proba[np.arange(len(y)), members]
    threshold = np.bincount(members, weights=own) / np.bincount(members)
    out[keep] = np.clip(1.0 - own / np.maximum(threshold[members], 1e-12), 0.0, 1.0)
    return out


def outlier_scores(features, labels=None, knn=None, k=10):
    """Per-sample score, high for images far from everything: the mean cosine
    distance to their k nearest neighbours, divided by the median of that
    distance in their class (or over all samples without labels), so a
    naturally spread-out class does not fill the top of the list.

    ``knn``: optional (indices, distances) from :func:`neighbours.nearest`.
    """
    from . import neighbours

    _, distances = knn if knn is not None else neighbours.nearest(features, k)
    spread = distances[:, :k].mean(axis=1).astype(np.float64)
    scale = np.full(len(spread), np.median(spread) if len(spread) else 1.0)
    if labels is not None:
        names = np.array(["" if l is None else str(l) for l in labels], dtype=object)
        for name in set(names[[l is not None for l in labels]]):
            members = names == name
            scale[members] = np.median(spread[members])
    return spread / np.maximum(scale, 1e-12)
