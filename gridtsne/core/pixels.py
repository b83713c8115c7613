"""Aligned pixel comparison of small thumbnails: the evidence that two images
are the same picture re-encoded, resized, cropped a little or re-lit.

Each image is kept as a 48 px grey thumbnail and a 16 px colour one. Two
images are compared at the best of a lattice of crops of either one (scales 1
to 1 - MAX_CROP in steps of CROP_STEP, at every offset that step allows; 285
crops), each crop resampled to DESCRIPTOR_PX x DESCRIPTOR_PX with Pillow's
bilinear coefficients as two matrix products over a batch of thumbnails, so a
crop is compared with the very region it was cut from. The tones of the
aligned pair are then compared too (:func:`tone_distance`). What decides a
duplicate from these figures: :mod:`gridtsne.core.duplicates`.
"""

import functools

import numpy as np
from PIL import Image

MAX_TONE = 0.25  # |log| of the ratio of mean greys (re-lit copies: within 0.17)
MAX_CONTRAST = 0.3  # |log| of the ratio of grey standard deviations (copies: within 0.19)
MAX_CHROMA = 0.15  # largest chromaticity difference of 4 x 4 cells (copies: within 0.10)
COLOUR_PX = 16  # colour thumbnails (shorter side), for the tone check only
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


def _shrunk(img, side, resample=Image.BILINEAR):
    scale = side / max(1, min(img.size))
    if scale < 1:
        img = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))),
                         resample)
    return img


def _thumbnail(img):
    """A grey thumbnail whose shorter side is at most THUMB_PX, as a 2-D uint8
    array, or None."""
    if img is None:
        return None
    return np.asarray(_shrunk(img.convert("L"), THUMB_PX), dtype=np.uint8)


def _colour_thumbnail(img):
    """A small RGB thumbnail (shorter side at most COLOUR_PX), or None."""
    if img is None:
        return None
    return np.asarray(_shrunk(img.convert("RGB"), COLOUR_PX, Image.BOX), dtype=np.uint8)


def thumbnails(img):
    """(grey, colour) thumbnails of one PIL image (or None), what the pixel
    checks compare: small enough to keep for every image of a run."""
    if img is None:
        return None
    return _thumbnail(img), _colour_thumbnail(img)


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
    every crop of j and whole[j] against every crop of i."""
    return aligned_pairs(thumbs, whole, pairs)[0]


def aligned_pairs(thumbs, whole, pairs):
    """Per pair (i, j): the aligned correlation (see :func:`pair_similarity`),
    the index in CROPS of the best crop, and whether that crop is of i (else
    of j). Each thumbnail's crops are described once, however many pairs it
    is in."""
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    best = np.full(len(pairs), -1.0, np.float32)
    crop = np.zeros(len(pairs), np.int64)
    of_first = np.zeros(len(pairs), bool)
    if not len(pairs):
        return best, crop, of_first
    # directed entries: the first len(pairs) crop j, the others crop i; sorted
    # by the image whose crops are tried
    cropped = np.concatenate([pairs[:, 1], pairs[:, 0]])
    other = np.concatenate([pairs[:, 0], pairs[:, 1]])
    order = np.argsort(cropped, kind="stable")
    cropped, other = cropped[order], other[order]
    value = np.full(len(cropped), -1.0, np.float32)
    at = np.zeros(len(cropped), np.int64)
    images = np.unique(cropped)
    start = np.searchsorted(cropped, images)
    stop = np.searchsorted(cropped, images, side="right")
    for part, stack in _stacks(thumbs, images):
        raw, inverse = _crop_descriptors(stack)
        for local, k in enumerate(part):
            a, b = start[k], stop[k]
            sim = (raw[local] @ whole[other[a:b]].T) * inverse[local][:, None]
            at[a:b] = sim.argmax(axis=0)
            value[a:b] = sim[at[a:b], np.arange(b - a)]
    by_direction, crop_of = np.empty_like(value), np.empty_like(at)
    by_direction[order], crop_of[order] = value, at
    by_direction, crop_of = by_direction.reshape(2, -1), crop_of.reshape(2, -1)
    of_first = by_direction[1] > by_direction[0]
    best = by_direction.max(axis=0)
    crop = np.where(of_first, crop_of[1], crop_of[0])
    return best, crop, of_first


def pixel_similarity(a, b):
    """Aligned correlation of two grey thumbnails (PIL "L" images or 2-D
    uint8 arrays): 1 for the same picture, lower otherwise."""
    thumbs = [np.asarray(a), np.asarray(b)]
    return float(pair_similarity(thumbs, whole_descriptors(thumbs), [[0, 1]])[0])


def _crop_box(shape, crop):
    """(x0, y0, x1, y1) of CROPS[crop] in an image of ``shape`` (h, w)."""
    scale, ox, oy = CROPS[crop]
    h, w = shape[:2]
    x0, y0 = (w - w * scale) * ox, (h - h * scale) * oy
    return x0, y0, x0 + w * scale, y0 + h * scale


def _chromaticity(rgb):
    """Colour without brightness, per 4 x 4 cell; dark cells drift to grey
    (their hue is mostly noise)."""
    rgb = rgb.reshape(-1, 3).astype(np.float64) + 8.0
    return rgb / rgb.sum(axis=1, keepdims=True)


def tone_distance(cropped, whole, crop):
    """How far apart the tones of two aligned images are, in units of what
    re-lighting does (above 1: other greys or colours): ``cropped`` and
    ``whole`` are (grey, colour) thumbnails, the first taken at CROPS[crop]."""
    grey_c, colour_c = cropped
    grey_w, colour_w = whole
    x0, y0, x1, y1 = _crop_box(grey_c.shape, crop)
    region = grey_c[int(round(y0)):max(int(round(y1)), int(round(y0)) + 1),
                    int(round(x0)):max(int(round(x1)), int(round(x0)) + 1)].astype(np.float64)
    other = grey_w.astype(np.float64)
    tone = abs(np.log((other.mean() + 1.0) / (region.mean() + 1.0))) / MAX_TONE
    contrast = abs(np.log((other.std() + 1.0) / (region.std() + 1.0))) / MAX_CONTRAST
    box = _crop_box(colour_c.shape, crop)
    cells_c = np.asarray(Image.fromarray(colour_c).resize((4, 4), Image.BOX, box=box))
    cells_w = np.asarray(Image.fromarray(colour_w).resize((4, 4), Image.BOX))
    chroma = np.abs(_chromaticity(cells_c) - _chromaticity(cells_w)).max() / MAX_CHROMA
    return max(tone, contrast, chroma)
