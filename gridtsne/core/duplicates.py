"""Near-duplicate groups: the same picture re-encoded, resized, cropped a little
or re-lit, plus byte-identical files, and never two look-alike pictures.

A duplicate finder that invites deleting must be sure. A high pixel
correlation is not enough on low-detail images (digits, glyphs, shapes on a
plain background): there, distinct images correlate as highly as copies do.
So a pair is a duplicate when three things hold:

- its aligned pixel correlation reaches ``threshold``: the normalised
  correlation of 16 x 16 grey thumbnails, at the best of a fine lattice of
  crops of either image, so a crop is compared with the very region it was
  cut from (:mod:`gridtsne.core.pixels`);
- it is far closer than the dataset's distinct neighbours are: its distance
  (1 - correlation) is at most MAX_RATIO of each image's distance to its
  (SCALE_RANK + 1)-th nearest thumbnail. What counts as "alike" is thereby
  learnt from the data: a copy stands out from its neighbourhood, a look-alike
  in a crowd of look-alikes does not;
- its tones agree: over the aligned region, the two images' mean grey and
  contrast are within what re-lighting does, and their colours match cell by
  cell (:func:`gridtsne.core.pixels.tone_distance`). Shapes or glyphs
  of the same outline in other colours or greys are other pictures, however
  well their outlines align.

Groups are built around a representative, the member to keep (most pixels,
then the first in the input's order): every member is checked against it
directly, so look-alike pairs cannot chain into a group whose members are not
copies of the one kept. Each member gets a confidence in [0, 1], how far
inside the rules its pair with the representative lies (1 for byte-identical
files); a group's confidence is its least sure member's. How the constants
were chosen, and what they give on photographs and look-alike sets:
docs/benchmarks.md and docs/design.md.

Written here because the libraries that do this (fastdup, imagededup) pull in
large native dependencies and judge pairs by a fixed threshold alone.
"""

import itertools
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from . import neighbours
from .pixels import (THUMB_PX, aligned_pairs, pair_similarity, pixel_similarity,  # noqa: F401
                     thumbnails, tone_distance, whole_descriptors)

NEIGHBOURS = 2  # candidates: each image's nearest embeddings...
MAX_DISTANCE = 0.45  # ...within this cosine distance
PIXEL_NEIGHBOURS = 6  # and its nearest thumbnails (candidates and reference)
SCALE_RANK = 3  # the reference: the distance to the 4th nearest thumbnail
MAX_RATIO = 0.2  # a duplicate pair is at least 5x closer than that
# the aligned pixel correlation a duplicate pair reaches (GridConfig.duplicate_threshold)
DEFAULT_THRESHOLD = 0.95
@dataclass
class DuplicateGroups:
    """What :func:`duplicate_groups` finds, one entry per image."""

    group: np.ndarray  # (N,) int: -1 alone, else 0, 1, ... by each group's first member
    representative: np.ndarray  # (N,) bool: the member of its group to keep
    confidence: np.ndarray  # (N,) float: member's (or, for the kept one, the group's); nan alone

    def members(self):
        """[[members of group 0], [members of group 1], ...]."""
        return groups_of(self.group)


def candidate_pairs(features, knn=None, k=NEIGHBOURS, max_distance=MAX_DISTANCE, seed=0):
    """Pairs (i, j), i < j, of images whose vectors are close enough to check:
    each one's ``k`` nearest within ``max_distance``."""
    indices, distances = knn if knn is not None else neighbours.nearest(features, k, seed=seed)
    near = distances[:, :k] <= max_distance
    a = np.repeat(np.arange(len(indices)), near.sum(axis=1))
    b = indices[:, :k][near]
    pairs = np.unique(np.sort(np.stack([a, b], axis=1), axis=1), axis=0)
    return pairs[pairs[:, 0] != pairs[:, 1]]


class _Judge:
    """Decides pairs: aligned correlation, distance against each image's
    reference distance, and tones (see the module's docstring). What is
    measured of a pair is measured once and kept."""

    def __init__(self, thumbs, colours, whole, threshold):
        self.thumbs, self.colours, self.whole = thumbs, colours, whole
        self.threshold = threshold
        self.reference = np.full(len(thumbs), np.inf)
        self.known = {}  # i * n + j (i < j) -> (similarity, crop, crop is of i)
        self.tones = {}  # i * n + j (i < j) -> tone distance

    def _keys(self, pairs):
        n = len(self.thumbs)
        lo, hi = np.minimum(pairs[:, 0], pairs[:, 1]), np.maximum(pairs[:, 0], pairs[:, 1])
        return lo, hi, (lo * n + hi).tolist()

    def similarity(self, pairs):
        lo, hi, keys = self._keys(pairs)
        new = np.array([k not in self.known for k in keys], dtype=bool)
        if new.any():
            n = len(self.thumbs)
            todo = np.unique(np.stack([lo[new], hi[new]], axis=1), axis=0)
            best, crop, of_first = aligned_pairs(self.thumbs, self.whole, todo)
            for k, v in zip((todo[:, 0] * n + todo[:, 1]).tolist(),
                            zip(best.tolist(), crop.tolist(), of_first.tolist())):
                self.known[k] = v
        return np.array([self.known[k][0] for k in keys], np.float64)

    def tone(self, pairs):
        """Tone distance of each pair (:func:`tone_distance`; similarity first)."""
        lo, hi, keys = self._keys(pairs)
        out = np.empty(len(keys))
        for m, (i, j, k) in enumerate(zip(lo.tolist(), hi.tolist(), keys)):
            if k not in self.tones:
                _, crop, of_i = self.known[k]
                a, b = (i, j) if of_i else (j, i)
                self.tones[k] = tone_distance((self.thumbs[a], self.colours[a]),
                                              (self.thumbs[b], self.colours[b]), crop)
            out[m] = self.tones[k]
        return out

    def learn_reference(self, members, neighbour_index):
        """Each member's reference: its distance to the (SCALE_RANK + 1)-th
        nearest of its thumbnail neighbours ``neighbour_index`` (rows of
        indices into ``members``)."""
        k = neighbour_index.shape[1]
        pairs = np.stack([np.repeat(members, k), members[neighbour_index.ravel()]], axis=1)
        distance = np.sort(np.maximum(1.0 - self.similarity(pairs), 0.0).reshape(-1, k), axis=1)
        self.reference[members] = distance[:, min(SCALE_RANK, k - 1)]

    def confidence(self, pairs):
        """Per pair: in (0, 1] when it is a duplicate, else <= 0."""
        pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        if not len(pairs):
            return np.zeros(0)
        similarity = self.similarity(pairs)
        distance = np.maximum(1.0 - similarity, 0.0)
        reference = np.minimum(self.reference[pairs[:, 0]], self.reference[pairs[:, 1]])
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(reference > 0, distance / reference, np.inf)
        by_ratio = 1.0 - ratio / MAX_RATIO
        by_pixels = (similarity - self.threshold) / max(1.0 - self.threshold, 1e-6)
        aligned = (similarity >= self.threshold) & (ratio <= MAX_RATIO)
        by_tone = np.zeros(len(pairs))
        if aligned.any():  # tones are read only for pairs whose outlines already match
            by_tone[aligned] = 1.0 - self.tone(pairs[aligned])
        sure = np.minimum(np.minimum(by_ratio, by_pixels), np.where(aligned, by_tone, 1.0))
        return np.where(aligned & (by_tone > 0), np.maximum(sure, 1e-3), np.minimum(sure, 0.0))


def duplicate_groups(features, load, threshold=DEFAULT_THRESHOLD, digests=None, knn=None,
                     sizes=None, seed=0, threads=None, thumbs=None):
    """Near-duplicate groups, each around the member to keep.

    Candidates are each image's nearest neighbours by embedding and by grey
    thumbnail (the embedding misses copies of pictures it has no words for,
    the thumbnail misses shifted crops); the pixels and the neighbourhood
    decide (see the module's docstring).

    Args:
        features: (N, D) embeddings
        load: ``load(i)`` -> image i as a PIL image (it is shrunk to a
            thumbnail here), or None when it cannot be read
        threshold: the aligned pixel correlation a duplicate pair reaches
        digests: optional N hashes of the files' bytes (equal: the same file)
        knn: optional (indices, distances) from :func:`neighbours.nearest`
        sizes: optional N pixel counts of the full images (the largest of a
            group is kept; without them, the first)
        thumbs: optional N :func:`thumbnails` made while the images were
            decoded for something else (None entries are loaded here)

    Returns:
        a :class:`DuplicateGroups`
    """
    n = len(features)
    made = list(thumbs) if thumbs is not None else [None] * n
    missing = [i for i in range(n) if made[i] is None]
    with ThreadPoolExecutor(threads or min(4, os.cpu_count() or 1)) as pool:
        for i, t in zip(missing, pool.map(lambda i: thumbnails(load(i)), missing)):
            made[i] = t
    thumbs = [t[0] if t is not None else None for t in made]
    colours = [t[1] if t is not None else None for t in made]
    readable = np.array([t is not None for t in thumbs], dtype=bool)
    whole = whole_descriptors(thumbs)
    judge = _Judge(thumbs, colours, whole, threshold)
    members = np.flatnonzero(readable)
    index = neighbours.nearest(whole[members], PIXEL_NEIGHBOURS, seed=seed)[0] \
        if len(members) > 1 else np.zeros((len(members), 0), np.int64)
    nearby = np.stack([np.repeat(members, index.shape[1]), members[index.ravel()]], axis=1)
    pairs = np.concatenate([nearby, candidate_pairs(features, knn, seed=seed)]) if n > 1 \
        else nearby
    pairs = np.unique(np.sort(pairs, axis=1), axis=0)
    pairs = pairs[(pairs[:, 0] != pairs[:, 1]) & readable[pairs[:, 0]] & readable[pairs[:, 1]]]
    judge.similarity(pairs)  # every pair at once: each image's crops are described once
    if index.shape[1]:
        judge.learn_reference(members, index)
    linked = pairs[judge.confidence(pairs) > 0]
    same_file = _same_file_pairs(digests)
    priority = np.lexsort((np.arange(n), -np.asarray(
        sizes if sizes is not None else np.zeros(n), dtype=np.float64)))
    return _around_representatives(n, np.concatenate([linked, same_file]), priority,
                                   judge, _digest_keys(digests, n))


def _digest_keys(digests, n):
    if digests is None:
        return None
    return np.array([d if d is not None else "unread-%d" % i  # never equal
                     for i, d in enumerate(digests)], dtype=object)


def _same_file_pairs(digests):
    if digests is None:
        return np.zeros((0, 2), np.int64)
    keys = _digest_keys(digests, len(digests))
    order = np.argsort(keys, kind="stable")
    tie = np.flatnonzero(keys[order][1:] == keys[order][:-1])
    return np.stack([order[tie], order[tie + 1]], axis=1).astype(np.int64)


def _components(n, links, among):
    """Connected components (lists of members, each of 2 or more) of the
    ``links`` between images in the boolean mask ``among``."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    links = links[among[links[:, 0]] & among[links[:, 1]]]
    graph = coo_matrix((np.ones(len(links), np.int8), (links[:, 0], links[:, 1])),
                       shape=(n, n))
    _, component = connected_components(graph, directed=False)
    sizes = np.bincount(component)
    order = np.argsort(component, kind="stable")
    return [members for members in np.split(order, np.cumsum(sizes)[:-1])
            if len(members) > 1 and among[members[0]]]


def _around_representatives(n, links, priority, judge, keys):
    """Groups from the linked pairs: in each connected set, the member first
    in ``priority`` is kept and gathers every member that is itself a
    duplicate of it; the rest form groups of their own the same way."""
    links = np.asarray(links, dtype=np.int64).reshape(-1, 2)
    rank = np.empty(n, np.int64)
    rank[priority] = np.arange(n)
    group = np.full(n, -1, np.int64)
    representative = np.zeros(n, bool)
    confidence = np.full(n, np.nan)
    pending = np.zeros(n, bool)
    pending[np.unique(links)] = True
    found = []  # (representative, members, their confidences)
    while pending.any():
        sets = _components(n, links, pending)
        if not sets:
            break
        reps = np.array([s[np.argmin(rank[s])] for s in sets])
        checks = np.array([(r, m) for r, s in zip(reps, sets) for m in s if m != r])
        sure = judge.confidence(checks)
        if keys is not None:
            sure = np.where(keys[checks[:, 0]] == keys[checks[:, 1]], 1.0, sure)
        pending[:] = False
        start = 0
        for r, s in zip(reps, sets):
            part = slice(start, start + len(s) - 1)
            start += len(s) - 1
            joined = sure[part] > 0
            if joined.any():
                found.append((r, checks[part][joined, 1], sure[part][joined]))
            pending[checks[part][~joined, 1]] = True
    # number groups by their first member: stable, readable ids
    found.sort(key=lambda g: min(g[0], g[1].min()))
    for g, (r, members, sure) in enumerate(found):
        group[r] = g
        group[members] = g
        representative[r] = True
        confidence[members] = sure
        confidence[r] = sure.min()
    return DuplicateGroups(group, representative, confidence)


def groups_of(groups):
    """[[members of group 0], [members of group 1], ...]."""
    order = np.argsort(groups, kind="stable")
    return [list(map(int, members)) for g, members in itertools.groupby(
        order, key=lambda i: groups[i]) if g >= 0]
