"""The layout step: features in, grid cells, quality figures and curation out.

Everything between "we have one vector per image" and "draw the mosaic" lives
here, with no FiftyOne in sight, so that ``compute_grid``, ``regrid`` and the
benchmarks run the very same code. Stages report through
``progress(stage, fraction)`` and are timed into ``Layout.timings``.
"""

import logging
import time
from dataclasses import dataclass, field

import numpy as np

from . import curation, duplicates, grid, metrics, neighbours, reduce, refine
from . import regions as core_regions

logger = logging.getLogger(__name__)


@dataclass
class Layout:
    """Where each image goes, and how good that is."""

    xy: np.ndarray  # (N, 2) t-SNE coordinates
    cells: np.ndarray  # (N, 2) distinct int (row, col)
    rows: int
    cols: int
    metrics: dict = field(default_factory=dict)
    # curation scores per sample, or None without curation:
    # label disagreement in [0, 1] (nan where unlabelled; None without labels)
    label_disagreement: np.ndarray = None
    # near-duplicate group (-1: none), the member to keep (1, others 0, -1 outside
    # groups) and the confidence in [0, 1] (nan outside groups): duplicates.DuplicateGroups
    duplicate_group: np.ndarray = None
    duplicate_representative: np.ndarray = None
    duplicate_confidence: np.ndarray = None
    outlier: np.ndarray = None
    # why curation scores are missing although labels were given, or None
    curation_skipped: str = None
    # the region of each sample (an index into ``regions``) and the regions'
    # descriptions (gridtsne.core.regions.describe), or None without regions
    region: np.ndarray = None
    regions: list = None
    timings: dict = field(default_factory=dict)


class _Clock:
    def __init__(self, progress):
        self.progress = progress
        self.timings = {}

    def run(self, stage, fn, *args, **kwargs):
        """Calls ``fn(..., progress=update)`` as stage ``stage`` and times it."""
        t = time.perf_counter()
        report = self.progress

        def update(fraction):
            if report is not None:
                report(stage, min(max(float(fraction), 0.0), 1.0))

        update(0.0)
        try:
            return fn(*args, progress=update, **kwargs)
        finally:
            self.timings[stage] = time.perf_counter() - t
            update(1.0)


def compute_layout(features, rows, cols, *, perplexity=None,
                   metric=reduce.DEFAULT_METRIC, seed=0, assignment="auto",
                   refine_cells=True, labels=None, xy=None, cells=None,
                   curation=True, digests=None, load_image=None, sizes=None, thumbs=None,
                   duplicate_threshold=duplicates.DEFAULT_THRESHOLD, regions=True,
                   classify=None, progress=None):
    """t-SNE (unless ``xy`` is given), assignment (unless ``cells`` is given),
    refinement, curation scores and quality metrics.

    Args:
        features: (N, D) float array, or None when only ``xy`` is known (then
            there is no refinement, no curation and no DPQ)
        rows, cols: the grid shape (see :func:`gridtsne.grid_shape`)
        labels: optional N labels (None entries are unlabelled): neighbour
            agreement, 10-NN accuracy and per-sample label disagreement
        xy: t-SNE coordinates of an earlier run, to lay out again
        cells: cells of an earlier run on the same grid (nothing is moved)
        curation: find near-duplicates and outliers (with ``features``) and
            score labels (with ``labels`` too)
        digests: optional N hashes of the files' bytes, for duplicates
        load_image: ``load_image(i)`` -> PIL image i, for the duplicates'
            pixel check (without it, only byte-identical files are grouped)
        sizes: optional N pixel counts of the images (a duplicate group keeps
            its largest)
        thumbs: optional N ``duplicates.thumbnails`` made while embedding
            (the images need not be decoded twice; None entries are loaded)
        duplicate_threshold: see :mod:`gridtsne.core.duplicates`
        regions: cut the grid into named regions (:mod:`gridtsne.core.regions`)
        classify: optional ``classify(features)`` -> N class names, to name
            the regions when there are no labels (the network's classes)
        progress: optional ``progress(stage, fraction)``

    Returns:
        a :class:`Layout`
    """
    clock = _Clock(progress)
    judged = None
    if features is not None:
        # unit vectors for cosine: refinement and DPQ then see the neighbourhoods t-SNE saw
        judged = reduce.in_metric_space(features, metric)
    if xy is None:
        xy = clock.run("tsne", reduce.tsne_2d, features, perplexity=perplexity,
                       metric=metric, seed=seed)
    xy = np.asarray(xy, dtype=np.float64)
    if cells is None:
        cells = clock.run("assign", _assign, xy, rows, cols, assignment)
        if refine_cells and judged is not None:
            cells = clock.run("refine", refine.refine_grid, judged, cells, rows, cols,
                              seed=seed)
    cells = np.asarray(cells, dtype=np.int64)

    out = Layout(xy=xy, cells=cells, rows=rows, cols=cols)
    if curation and features is not None:
        scores = clock.run("curation", _curation, features, labels, digests, load_image,
                           sizes, duplicate_threshold, seed, thumbs=thumbs)
        (out.label_disagreement, out.curation_skipped, found, out.outlier) = scores
        out.duplicate_group = found.group
        out.duplicate_representative = np.where(found.group < 0, -1,
                                                found.representative.astype(np.int64))
        out.duplicate_confidence = found.confidence
    out.metrics = clock.run("metrics", quality, judged, cells, labels)
    if regions:
        names = None
        if labels is None and classify is not None and features is not None:
            names = classify(features)
        found = clock.run("regions", core_regions.find_regions, xy, cells, rows, cols,
                          features=judged, labels=labels, names=names, seed=seed)
        out.region, out.regions = found.region, found.regions
    out.timings = clock.timings
    return out


def _assign(xy, rows, cols, method, progress=None):
    return grid.assign_to_grid(grid.scale_to_grid(xy, rows, cols), rows, cols, method=method)


def _curation(features, labels, digests, load_image, sizes, threshold, seed, progress=None,
              thumbs=None):
    """(label disagreement, why it is missing, duplicate groups, outlier scores).

    Label curation is a bonus on top of the grid: a failure there (a single
    class, classes too small to cross-validate) must not cost the user the
    layout computed before it.
    """
    knn = neighbours.nearest(features, max(duplicates.NEIGHBOURS, 10), seed=seed)
    groups = duplicates.duplicate_groups(features, load_image or (lambda i: None), threshold,
                                         digests=digests, knn=knn, sizes=sizes, seed=seed,
                                         thumbs=thumbs)
    outlier = curation.outlier_scores(features, labels, knn=knn)
    if labels is None:
        return None, None, groups, outlier
    try:
        return curation.label_disagreement(features, labels, seed=seed), None, groups, outlier
    except (ValueError, np.linalg.LinAlgError) as e:
        logger.warning("Label disagreement scores were skipped: %s", e)
        return None, str(e), groups, outlier


def quality(judged, cells, labels=None, progress=None):
    """The figures stored with every run: DPQ_16 on ``judged`` (the features
    in the geometry the layout used, see ``reduce.in_metric_space``) and, with
    labels, neighbour agreement and 10-NN accuracy on the grid."""
    out = {}
    if judged is not None:
        out["dpq_16"] = metrics.distance_preservation_quality(judged, cells, p=16)
    if labels is not None:
        out["neighbor_label_agreement"] = metrics.neighbor_label_agreement(cells, labels)
        out["knn10_label_accuracy"] = metrics.knn_label_accuracy(cells, labels, k=10)
    return out


def most_suspicious(scores, fraction):
    """Booleans marking the ``fraction`` of samples with the highest scores."""
    if scores is None or not fraction:
        return None
    scores = np.nan_to_num(np.asarray(scores, dtype=np.float64), nan=-1.0)
    k = int(round(fraction * len(scores)))
    marked = np.zeros(len(scores), dtype=bool)
    marked[np.argsort(-scores, kind="stable")[:k]] = True
    return marked
