"""Which samples need a second look: labels that look wrong given the images'
neighbours in embedding space, and images far from all others (outliers).

A cross-validated logistic regression on the L2-normalised embeddings,
projected on their PCA_COMPONENTS principal axes, gives each sample an
out-of-fold probability for its own label. As in confident learning
(Northcutt et al. 2021), that probability is judged against its class's
threshold, the mean own-label probability of the class, since some classes are
harder than others: score = 1 - probability / threshold, clipped to [0, 1].
The projection and five folds hold the precision of ten folds on the full
vectors at a tenth of the time (figures: docs/benchmarks.md,
benchmarks/bench_curation.py).
"""

import numpy as np

# The PCA is fitted on at most TRAIN_AT_MOST samples, and each fold's model
# on at most TRAIN_AT_MOST of the other folds' samples: the cost stops growing
# with N.
PCA_COMPONENTS = 64
FOLDS = 5
TRAIN_AT_MOST = 50_000
MIN_PER_CLASS = 20  # ...of which every class keeps at least this many (or all it has)
_BLOCK = 65_536


def label_disagreement(features, labels, folds=FOLDS, seed=0):
    """Per-sample score in [0, 1]: high when the label disagrees with the data.

    Unlabelled samples (None) get nan and take no part in training, and so
    do the members of classes with a single sample: a cross-validated model
    cannot learn a class from the fold that holds its only example.
    """
    from sklearn.model_selection import StratifiedKFold

    features = np.asanyarray(features)
    out = np.full(len(features), np.nan)
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
    rows = np.flatnonzero(keep)
    x = _projected(features, rows, seed)
    folds = int(max(2, min(folds, counts.max(), len(y) // 2)))
    members = np.searchsorted(classes, y)
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    rng = np.random.default_rng(seed)
    own = np.empty(len(y))
    import warnings

    from threadpoolctl import threadpool_limits

    # one BLAS thread: on these narrow (64-column) products the threads cost more
    # in handing work around than they give, at 2,000 samples and at 100,000 alike
    # (docs/benchmarks.md, "Label disagreement")
    with warnings.catch_warnings(), threadpool_limits(1):
        # classes with fewer members than folds are fine: they are just rare
        warnings.simplefilter("ignore", UserWarning)
        for train, test in cv.split(x, y):
            train = _capped(train, members, rng)
            model = _regression().fit(x[train], members[train])
            proba = model.predict_proba(x[test])
            # a class absent from this fold's training has probability 0
            column = np.searchsorted(model.classes_, members[test])
            found = model.classes_[np.minimum(column, len(model.classes_) - 1)] == members[test]
            own[test] = np.where(found, proba[np.arange(len(test)),
                                              np.minimum(column, proba.shape[1] - 1)], 0.0)
    threshold = np.bincount(members, weights=own) / np.bincount(members)
    out[keep] = np.clip(1.0 - own / np.maximum(threshold[members], 1e-12), 0.0, 1.0)
    return out


def _regression():
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=1.0, max_iter=2000)


def _unit(x):
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _projected(features, rows, seed):
    """The unit vectors of ``rows`` projected on PCA_COMPONENTS axes, float32,
    made block by block: at 1,000,000 x 1,280 a float64 copy alone is 10 GB."""
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(seed)
    fit_on = np.sort(rng.choice(rows, min(len(rows), TRAIN_AT_MOST), replace=False))
    sample = _unit(np.asarray(features[fit_on], dtype=np.float32))
    components = min(PCA_COMPONENTS, sample.shape[1], len(sample))
    if components == sample.shape[1]:  # nothing to reduce
        return np.concatenate([_unit(np.asarray(features[rows[i:i + _BLOCK]], np.float32))
                               for i in range(0, len(rows), _BLOCK)])
    pca = PCA(components, random_state=seed).fit(sample)
    out = np.empty((len(rows), components), np.float32)
    for i in range(0, len(rows), _BLOCK):
        block = _unit(np.asarray(features[rows[i:i + _BLOCK]], np.float32))
        out[i:i + _BLOCK] = pca.transform(block)
    return out


def _capped(train, members, rng):
    """At most TRAIN_AT_MOST of ``train``, drawn in proportion to the classes,
    each class keeping at least MIN_PER_CLASS (or all of its members)."""
    if len(train) <= TRAIN_AT_MOST:
        return train
    share = TRAIN_AT_MOST / len(train)
    picked = []
    for c in np.unique(members[train]):
        of_c = train[members[train] == c]
        take = min(len(of_c), max(MIN_PER_CLASS, int(round(share * len(of_c)))))
        picked.append(rng.choice(of_c, take, replace=False))
    return np.sort(np.concatenate(picked))


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
