"""Near-duplicate groups: the same picture re-encoded, resized, cropped a little
or re-lit, plus byte-identical files, and never two look-alike pictures.

A duplicate finder that invites deleting must be sure. A high pixel
correlation is not enough on low-detail images (digits, glyphs, shapes on a
plain background): there, distinct images correlate as highly as copies do.
So a pair is a duplicate when two things hold:

- its aligned pixel correlation reaches ``threshold``: the normalised
  correlation of 16 x 16 grey thumbnails, at the best of a fine lattice of
  crops of either image (scales 1 to 1 - MAX_CROP in steps of CROP_STEP, at
  every offset that step allows), so a crop is compared with the very region
  it was cut from;
- it is far closer than the dataset's distinct neighbours are: its distance
  (1 - correlation) is at most MAX_RATIO of each image's distance to its
  (SCALE_RANK + 1)-th nearest thumbnail. What counts as "alike" is thereby
  learnt from the data: a copy stands out from its neighbourhood, a look-alike
  in a crowd of look-alikes does not.

Groups are built around a representative, the member to keep (most pixels,
then the first in the input's order): every member is checked against it
directly, so look-alike pairs cannot chain into a group whose members are not
copies of the one kept. Each member gets a confidence in [0, 1], how far
inside both rules its pair with the representative lies (1 for byte-identical
files); a group's confidence is its least sure member's. How the constants
were chosen, and what they give on photographs and look-alike sets:
docs/benchmarks.md and docs/design.md.

Written here because the libraries that do this (fastdup, imagededup) pull in
large native dependencies and judge pairs by a fixed threshold alone.
"""

import functools
import itertools
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from PIL import Image

from . import neighbours

NEIGHBOURS = 2  # candidates: each image's nearest embeddings...
MAX_DISTANCE = 0.45  # ...within this cosine distance
PIXEL_NEIGHBOURS = 6  # and its nearest thumbnails (candidates and reference)
SCALE_RANK = 3  # the reference: the distance to the 4th nearest thumbnail
MAX_RATIO = 0.2  # a duplicate pair is at least 5x closer than that
# the aligned pixel correlation a duplicate pair reaches (GridConfig.duplicate_threshold)
DEFAULT_THRESHOLD = 0.95
THUMB_PX = 48  # thumbnails are decoded this small (their shorter side)
DESCRIPTOR_PX = 16
CROP_STEP = 0.025
MAX_CROP = 0.2
_BATCH = 64  # thumbnails whose crops are described at once (64 x 285 x 256 floats)


def _scales():
    """[(scale, offsets)] of the crop lattice: offsets in fractions of the slack."""
    out = []
    for k in range(int(round(MAX_CROP / CROP_STEP)) + 1):
        out.append((1.0 - k * CROP_STEP, np.linspace(0.0, 1.0, k + 1) if k else np.zeros(1)))
    return out


_SCALES = _scales()
# every crop, as (scale, x offset, y offset), in the order _descriptors returns them
CROPS = [(s, ox, oy) for s, offsets in _SCALES for ox in offsets for oy in offsets]


@dataclass
class DuplicateGroups:
    """What :func:`duplicate_groups` finds, one entry per image."""

    group: np.ndarray  # (N,) int: -1 alone, else 0, 1, ... by each group's first member
    representative: np.ndarray  # (N,) bool: the member of its group to keep
    confidence: np.ndarray  # (N,) float: member's (or, for the kept one, the group's); nan alone

    def members(self):
        """[[members of group 0], [members of group 1], ...]."""
        return groups_of(self.group)


@functools.lru_cache(maxsize=4096)
def _weights(size, start, stop, out=DESCRIPTOR_PX):
    """(out, size) matrix that resamples pixels [start, stop) of a line to
    ``out`` pixels with the coefficients of Pillow's BILINEAR resize (a
    triangle filter widened when shrinking): as matrices, every crop of a
    batch of thumbnails is two matrix products instead of a Pillow call per
    image and crop."""
    scale = (stop - start) / out
    filterscale = max(scale, 1.0)  # also the filter's support (bilinear: 1 pixel)
    w = np.zeros((out, size), np.float64)
    for i in range(out):
        centre = start + (i + 0.5) * scale
        lo = max(int(centre - filterscale + 0.5), 0)
        hi = min(int(centre + filterscale + 0.5), size)
        x = np.arange(lo, hi)
        k = np.clip(1.0 - np.abs((x - centre + 0.5) / filterscale), 0.0, None)
        if k.sum() > 0:
            w[i, lo:hi] = k / k.sum()
    return w.astype(np.float32)


@functools.lru_cache(maxsize=256)
def _lattice_weights(length):
    """Per scale of the lattice, the (offsets * 16, length) resampling
    weights of a line of ``length`` pixels, one block of 16 rows per offset."""
    out = []
    for scale, offsets in _SCALES:
        span = length * scale
        out.append(np.concatenate([
            _weights(length, (length - span) * o, (length - span) * o + span)
            for o in offsets]))
    return out


def _normalise(v):
    v = v - v.mean(axis=-1, keepdims=True)
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-6)


def _crop_descriptors(thumbs):
    """Every crop of a stack of equal-shaped grey thumbnails (B, h, w), as
    DESCRIPTOR_PX^2 vectors: (B, len(CROPS), 256) raw, and (B, len(CROPS)) the
    inverse norm of each once centred. Its correlation with a unit, zero-mean
    vector is then a dot product times that: no normalised copy is made
    (centring and scaling took more time than the resampling). Columns are
    resampled first, then rows, a scale at a time, as two matrix products."""
    b, h, w = thumbs.shape
    t = thumbs.astype(np.float32).reshape(b * h, w)
    parts = []
    for rows, cols in zip(_lattice_weights(h), _lattice_weights(w)):
        across = (t @ cols.T).reshape(b, h, -1, DESCRIPTOR_PX).transpose(0, 2, 1, 3)
        parts.append(np.matmul(rows, across).reshape(b, -1, DESCRIPTOR_PX ** 2))
    raw = np.concatenate(parts, axis=1)
    total = raw.sum(axis=-1)
    energy = np.einsum("bcd,bcd->bc", raw, raw) - total * total / raw.shape[-1]
    return raw, 1.0 / np.sqrt(np.maximum(energy, 1e-12))


def _descriptors(thumbs):
    """Unit, zero-mean descriptors of every crop: (B, len(CROPS), 256)."""
    raw, inverse = _crop_descriptors(thumbs)
    return (raw - raw.mean(axis=-1, keepdims=True)) * inverse[..., None]


def _thumbnail(img):
    """A grey thumbnail whose shorter side is at most THUMB_PX, as a 2-D uint8
    array, or None."""
    if img is None:
        return None
    img = img.convert("L")
    scale = THUMB_PX / max(1, min(img.size))
    if scale < 1:
        img = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))),
                         Image.BILINEAR)
    return np.asarray(img, dtype=np.uint8)


def _stacks(thumbs, members, batch=_BATCH):
    """Batches of equal-shaped thumbnails: yields (positions in ``members``,
    (B, h, w) stack of their thumbnails)."""
    members = np.asarray(members)
    shapes = {}
    shape_of = np.array([shapes.setdefault(thumbs[i].shape, len(shapes)) for i in members])
    for key in range(len(shapes)):
        idx = np.flatnonzero(shape_of == key)
        for start in range(0, len(idx), batch):
            part = idx[start:start + batch]
            yield part, np.stack([thumbs[i] for i in members[part]])


def whole_descriptors(thumbs):
    """(N, 256) unit, zero-mean descriptors of the whole thumbnails (zeros
    where None)."""
    out = np.zeros((len(thumbs), DESCRIPTOR_PX ** 2), np.float32)
    members = np.flatnonzero([t is not None for t in thumbs])
    for part, stack in _stacks(thumbs, members, 4096):
        b, h, w = stack.shape
        rows, cols = _lattice_weights(h)[0], _lattice_weights(w)[0]  # scale 1: the whole
        out[members[part]] = _normalise(np.matmul(
            np.matmul(rows, stack.astype(np.float32)), cols.T).reshape(b, -1))
    return out


def pair_similarity(thumbs, whole, pairs):
    """Aligned correlation of every pair (i, j): the best of whole[i] against
    every crop of j and whole[j] against every crop of i. Each thumbnail's
    crops are described once, however many pairs it is in."""
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    best = np.full(len(pairs), -1.0, np.float32)
    if not len(pairs):
        return best
    # directed (cropped, whole) pairs, sorted by the image whose crops are tried
    cropped = np.concatenate([pairs[:, 1], pairs[:, 0]])
    other = np.concatenate([pairs[:, 0], pairs[:, 1]])
    slot = np.concatenate([np.arange(len(pairs))] * 2)
    order = np.argsort(cropped, kind="stable")
    cropped, other, slot = cropped[order], other[order], slot[order]
    images = np.unique(cropped)
    start = np.searchsorted(cropped, images)
    stop = np.searchsorted(cropped, images, side="right")
    for part, stack in _stacks(thumbs, images):
        raw, inverse = _crop_descriptors(stack)
        for local, k in enumerate(part):
            a, b = start[k], stop[k]
            sim = ((raw[local] @ whole[other[a:b]].T) * inverse[local][:, None]).max(axis=0)
            np.maximum.at(best, slot[a:b], sim)
    return best


def pixel_similarity(a, b):
    """Aligned correlation of two grey thumbnails (PIL "L" images or 2-D
    uint8 arrays): 1 for the same picture, lower otherwise."""
    thumbs = [np.asarray(a), np.asarray(b)]
    return float(pair_similarity(thumbs, whole_descriptors(thumbs), [[0, 1]])[0])


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
    """Decides pairs: aligned correlation, and distance against each image's
    reference distance (see the module's docstring). Similarities are
    computed once per pair and kept."""

    def __init__(self, thumbs, whole, threshold):
        self.thumbs, self.whole, self.threshold = thumbs, whole, threshold
        self.reference = np.full(len(thumbs), np.inf)
        self.known = {}  # i * n + j (i < j) -> similarity

    def similarity(self, pairs):
        n = len(self.thumbs)
        lo, hi = np.minimum(pairs[:, 0], pairs[:, 1]), np.maximum(pairs[:, 0], pairs[:, 1])
        keys = (lo * n + hi).tolist()
        new = np.array([k not in self.known for k in keys], dtype=bool)
        if new.any():
            todo = np.unique(np.stack([lo[new], hi[new]], axis=1), axis=0)
            for k, v in zip((todo[:, 0] * n + todo[:, 1]).tolist(),
                            pair_similarity(self.thumbs, self.whole, todo).tolist()):
                self.known[k] = v
        return np.array([self.known[k] for k in keys], np.float64)

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
        sure = np.minimum(by_ratio, by_pixels)
        return np.where((similarity >= self.threshold) & (ratio <= MAX_RATIO),
                        np.maximum(sure, 1e-3), np.minimum(sure, 0.0))


def duplicate_groups(features, load, threshold=DEFAULT_THRESHOLD, digests=None, knn=None,
                     sizes=None, seed=0, threads=None):
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

    Returns:
        a :class:`DuplicateGroups`
    """
    n = len(features)
    with ThreadPoolExecutor(threads or min(4, os.cpu_count() or 1)) as pool:
        thumbs = list(pool.map(lambda i: _thumbnail(load(i)), range(n)))
    readable = np.array([t is not None for t in thumbs], dtype=bool)
    whole = whole_descriptors(thumbs)
    judge = _Judge(thumbs, whole, threshold)
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
