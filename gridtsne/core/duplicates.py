"""Near-duplicate groups: the same picture re-encoded, resized, cropped a little
or re-lit, plus byte-identical files.

The embeddings alone cannot tell a copy from a look-alike: on recaptcha-dev a
planted copy (JPEG 50-90, resized 0.5-0.9, cropped up to 10%, brightness
+-15%) lies at a median cosine distance of 0.18 from its original, while
distinct tiles lie 0.20-0.31 from their nearest neighbour (1% and median;
benchmarks/bench_duplicates.py). So candidates are proposed, each image's
NEIGHBOURS nearest by embedding (within MAX_DISTANCE) and by grey thumbnail,
and the pixels decide: a pair is a duplicate when the normalised correlation
of 16 x 16 grey thumbnails, at the best of a few crops and shifts of either
image (up to 20% cropped), reaches ``threshold`` (PIXELS_ONLY_THRESHOLD for a
pair only the thumbnails proposed: look-alike street scenes reach 0.95).
Measured there, 3 seeds of 200 planted copies: recall 0.985 at 0.90, and two
pairs of the 1,024 original tiles grouped (similar, not identical, scenes).
Groups are the connected components of those links and of equal file hashes.

Written here because the libraries that do this (fastdup, imagededup) pull in
large native dependencies for what is a few hundred lines of numpy.
"""

import functools
import itertools
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image

from . import neighbours

NEIGHBOURS = 2  # candidates: each image's nearest embeddings...
MAX_DISTANCE = 0.45  # ...within this cosine distance
# the pixel correlation that makes a pair duplicates (GridConfig.duplicate_threshold)
DEFAULT_THRESHOLD = 0.90
PIXELS_ONLY_THRESHOLD = 0.96  # ...for a pair the embeddings did not propose
THUMB_PX = 48  # thumbnails are decoded this small (their shorter side)
DESCRIPTOR_PX = 16
# crops tried, as (scale, x offset, y offset) in fractions of the image
_CROPS = [(1.0, 0.0, 0.0)] + [(s, ox, oy) for s in (0.9, 0.8)
                              for ox in (0.0, 0.5, 1.0) for oy in (0.0, 0.5, 1.0)]


@functools.lru_cache(maxsize=4096)
def _weights(size, start, stop, out=DESCRIPTOR_PX):
    """(out, size) matrix that resamples pixels [start, stop) of a line to
    ``out`` pixels, with the coefficients of Pillow's BILINEAR resize (a
    triangle filter widened when shrinking). As matrices, one crop of a whole
    batch of thumbnails is two matrix products instead of one Pillow call per
    image, crop and pair (36 us each, 38 per pair: 70 s of 80 at 20,000 images)."""
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
def _crop_weights(h, w):
    """Row and column weights of every crop in _CROPS for an h x w thumbnail:
    (C, 16, h) and (C, 16, w)."""
    rows, cols = [], []
    for scale, ox, oy in _CROPS:
        cw, ch = w * scale, h * scale
        x0, y0 = (w - cw) * ox, (h - ch) * oy
        cols.append(_weights(w, x0, x0 + cw))
        rows.append(_weights(h, y0, y0 + ch))
    return np.stack(rows), np.stack(cols)


def _normalise(v):
    v = v - v.mean(axis=-1, keepdims=True)
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-6)


def _descriptors(thumbs, crops=None):
    """Unit, zero-mean DESCRIPTOR_PX^2 vectors of a stack of equal-shaped grey
    thumbnails (B, h, w): (B, C, 256) for each crop (crops: indices into
    _CROPS, default all)."""
    b, h, w = thumbs.shape
    rows, cols = _crop_weights(h, w)
    if crops is not None:
        rows, cols = rows[crops], cols[crops]
    t = thumbs.astype(np.float32)
    # (B, h, w) x (C, 16, w) -> (B, C, h, 16), then x (C, 16, h) -> (B, C, 16, 16)
    across = np.einsum("bhw,cxw->bchx", t, cols, optimize=True)
    both = np.einsum("cyh,bchx->bcyx", rows, across, optimize=True)
    return _normalise(both.reshape(b, len(rows), -1))


def _descriptor(img, crop=0):
    """One descriptor of one grey thumbnail (PIL "L" image or 2-D array)."""
    return _descriptors(np.asarray(img)[None], [crop])[0, 0]


def pixel_similarity(a, b):
    """Best normalised correlation of two grey thumbnails (PIL "L" images or
    2-D uint8 arrays), over crops of either one: 1 for the same picture,
    lower otherwise."""
    a, b = np.asarray(a), np.asarray(b)
    return max(float((_descriptors(y[None])[0] @ _descriptor(x)).max())
               for x, y in ((a, b), (b, a)))


def _stacks(thumbs, members, batch=4096):
    """Batches of equal-shaped thumbnails, for _descriptors: yields
    (positions in ``members``, (B, h, w) stack of their thumbnails)."""
    members = np.asarray(members)
    shapes = {}
    shape_of = np.array([shapes.setdefault(thumbs[i].shape, len(shapes)) for i in members])
    for key in range(len(shapes)):
        idx = np.flatnonzero(shape_of == key)
        for start in range(0, len(idx), batch):
            part = idx[start:start + batch]
            yield part, np.stack([thumbs[i] for i in members[part]])


def _pair_similarity(thumbs, whole, pairs, batch=4096):
    """pixel_similarity of every pair (i, j), batched by thumbnail shape:
    whole[x] against every crop of y, for (x, y) = (i, j) and (j, i)."""
    best = np.full(len(pairs), -1.0, np.float32)
    for x_col, y_col in ((0, 1), (1, 0)):
        for part, stack in _stacks(thumbs, pairs[:, y_col], batch):
            sim = np.einsum("bcd,bd->bc", _descriptors(stack), whole[pairs[part, x_col]])
            best[part] = np.maximum(best[part], sim.max(axis=1))
    return best


def candidate_pairs(features, knn=None, seed=0):
    """Pairs (i, j), i < j, of images whose vectors are close enough to check:
    each one's NEIGHBOURS nearest within MAX_DISTANCE."""
    indices, distances = knn if knn is not None else neighbours.nearest(
        features, NEIGHBOURS, seed=seed)
    near = distances[:, :NEIGHBOURS] <= MAX_DISTANCE
    a = np.repeat(np.arange(len(indices)), near.sum(axis=1))
    b = indices[:, :NEIGHBOURS][near]
    pairs = np.unique(np.sort(np.stack([a, b], axis=1), axis=1), axis=0)
    return pairs[pairs[:, 0] != pairs[:, 1]]


def duplicate_groups(features, load, threshold=DEFAULT_THRESHOLD, digests=None, knn=None,
                     seed=0, threads=None):
    """Group ids: (N,) int, -1 for images with no duplicate, else 0, 1, ...
    numbered by each group's first member.

    Candidates are each image's nearest neighbours by embedding and by grey
    thumbnail (the embedding misses copies of pictures it has no words for,
    the thumbnail misses shifted crops); the pixel check decides.

    Args:
        features: (N, D) embeddings
        load: ``load(i)`` -> image i as a PIL image (it is shrunk to a
            thumbnail here), or None when it cannot be read
        threshold: the pixel correlation from which two images are duplicates
        digests: optional N hashes of the files' bytes (equal: the same file)
        knn: optional (indices, distances) from :func:`neighbours.nearest`
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(features)
    with ThreadPoolExecutor(threads or min(4, os.cpu_count() or 1)) as pool:
        thumbs = list(pool.map(lambda i: _thumbnail(load(i)), range(n)))
    readable = np.array([t is not None for t in thumbs])
    whole = np.zeros((n, DESCRIPTOR_PX ** 2), np.float32)
    members = np.flatnonzero(readable)
    for part, stack in _stacks(thumbs, members):
        whole[members[part]] = _descriptors(stack, [0])[:, 0]
    by_model = candidate_pairs(features, knn, seed)
    by_pixels = candidate_pairs(whole, seed=seed) if readable.sum() > 1 else by_model[:0]
    pairs = np.unique(np.concatenate([by_model, by_pixels]), axis=0)
    pairs = pairs[readable[pairs[:, 0]] & readable[pairs[:, 1]]]
    # a pair only the thumbnails propose must be more alike (look-alike
    # street scenes reach 0.90-0.95; copies 0.96 and more)
    by_model_too = np.isin(pairs[:, 0] * n + pairs[:, 1], by_model[:, 0] * n + by_model[:, 1])
    needed = np.where(by_model_too, threshold, max(threshold, PIXELS_ONLY_THRESHOLD))
    similar = _pair_similarity(thumbs, whole, pairs) >= needed
    links = [pairs[similar]]
    if digests is not None:
        keys = np.array([d if d is not None else "unread-%d" % i  # never equal
                         for i, d in enumerate(digests)], dtype=object)
        order = np.argsort(keys, kind="stable")
        tie = np.flatnonzero(keys[order][1:] == keys[order][:-1])
        links.append(np.stack([order[tie], order[tie + 1]], axis=1))
    links = np.concatenate(links).astype(np.int64)
    graph = coo_matrix((np.ones(len(links), np.int8), (links[:, 0], links[:, 1])),
                       shape=(n, n))
    _, component = connected_components(graph, directed=False)
    grouped = np.bincount(component)[component] > 1
    groups = np.full(n, -1, np.int64)
    first = {}  # number groups in order of their first member: stable, readable ids
    for i in np.flatnonzero(grouped):
        groups[i] = first.setdefault(component[i], len(first))
    return groups


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


def groups_of(groups):
    """[[members of group 0], [members of group 1], ...]."""
    order = np.argsort(groups, kind="stable")
    return [list(map(int, members)) for g, members in itertools.groupby(
        order, key=lambda i: groups[i]) if g >= 0]
