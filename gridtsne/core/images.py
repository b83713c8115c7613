"""Decoding images the same way for validation, embedding and rendering.

Real folders hold CMYK, 16-bit, palette, alpha and EXIF-rotated images next to
broken files; everything that touches pixels goes through :func:`load_rgb` so
that each of them is either shown upright in 8-bit RGB or rejected with a
reason a person can read.
"""

import os
import warnings

import numpy as np
from PIL import Image, ImageOps

# gridtsne enforces its own pixel limit (max_pixels, checked before decoding);
# Pillow's warning about large images would only repeat it
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)

IMAGE_EXTENSIONS = (
    ".bmp", ".gif", ".jpeg", ".jpg", ".png", ".tif", ".tiff", ".webp",
)

# Larger images are refused before decoding (decompression bombs); 100 MP
# covers any photograph.
DEFAULT_MAX_PIXELS = 100_000_000

# Transparent pixels are composited onto this colour.
_BACKGROUND = (255, 255, 255)


class BadImageError(ValueError):
    """An image that cannot be used, with the reason in the message."""


def is_image_path(path):
    return os.path.splitext(path)[1].lower() in IMAGE_EXTENSIONS


def list_images(root, skip_dirs=(), skip_marker=None):
    """Image files below ``root``, recursively, in a stable order.

    Symlinked folders are followed (each real folder once); hidden files and
    folders (names starting with "."), the folders in ``skip_dirs`` and
    folders holding a file named ``skip_marker`` are left out.

    Returns:
        (paths, names that are not valid UTF-8): such names cannot be stored
        in FiftyOne's database, so they are listed for the caller to report
    """
    found, undecodable = [], []
    skip = {os.path.realpath(d) for d in skip_dirs}
    seen = set()
    for folder, dirs, files in os.walk(os.path.abspath(root), followlinks=True):
        real = os.path.realpath(folder)
        if real in seen or real in skip or (skip_marker and skip_marker in files):
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and _utf8(d, folder,
                                                                            undecodable))
        for name in sorted(files):
            if is_image_path(name) and not name.startswith("."):
                path = os.path.join(folder, name)
                if _utf8(name, folder, undecodable):
                    found.append(path)
    return found, undecodable


def _utf8(name, folder, undecodable):
    try:
        name.encode("utf-8")
        return True
    except UnicodeEncodeError:  # os.walk decoded the bytes with surrogate escapes
        undecodable.append(os.fsencode(os.path.join(folder, name)).decode("utf-8", "replace"))
        return False


def load_rgb(path, max_pixels=DEFAULT_MAX_PIXELS, min_side=None, box=None):
    """Decodes ``path`` into an upright 8-bit RGB image, or the region ``box``
    of it: (x0, y0, x1, y1) relative to the upright image, in [0, 1].

    With ``min_side``, large images are decoded reduced, keeping their (or
    the box's) shorter side at least ``min_side`` px: JPEGs are decoded at
    1/2-1/8 scale (Pillow's ``draft``), others are shrunk right after decoding
    and before any conversion, so a 10000 x 9999 16-bit PNG costs its 200 MB
    of pixels instead of 2 GB of float copies.

    Raises:
        BadImageError: naming why the file cannot be used
    """
    if box is not None and min_side:
        # the whole image must be large enough for the box to keep min_side
        min_side = int(np.ceil(min_side / max(min(box[2] - box[0], box[3] - box[1]), 1e-3)))
    img = _load_rgb(path, max_pixels, min_side)
    if box is None:
        return img
    w, h = img.size
    pixels = (int(round(box[0] * w)), int(round(box[1] * h)),
              int(round(box[2] * w)), int(round(box[3] * h)))
    if pixels[2] <= pixels[0] or pixels[3] <= pixels[1]:
        raise BadImageError("the box covers no pixel of the image")
    return img.crop(pixels)


def _load_rgb(path, max_pixels, min_side):
    try:
        with _open_checked(path, max_pixels) as img:
            if min_side:
                scale = min(img.size) / float(min_side)
                if scale >= 2 and img.format == "JPEG":
                    img.draft("RGB", (img.width / scale, img.height / scale))
            img.load()
            if min_side and min(img.size) >= 2 * min_side:
                k = min(img.size) / float(min_side)
                img = img.resize((max(1, round(img.width / k)), max(1, round(img.height / k))),
                                 Image.Resampling.BOX)
            img = ImageOps.exif_transpose(img)
            return _to_rgb(img)
    except BadImageError:
        raise
    except Image.DecompressionBombError as e:
        raise BadImageError("too large: %s" % e) from None
    except (OSError, SyntaxError, ValueError) as e:
        raise BadImageError("corrupt or truncated image: %s" % e) from None


def _open_checked(path, max_pixels):
    """Opens ``path`` (header only) after the checks that need no pixels."""
    if not os.path.exists(path):
        raise BadImageError("file not found")
    if os.path.getsize(path) == 0:
        raise BadImageError("empty file (0 bytes)")
    try:
        img = Image.open(path)
    except Image.UnidentifiedImageError:
        raise BadImageError("not an image (unrecognised format)") from None
    width, height = img.size
    if max_pixels and width * height > max_pixels:
        img.close()
        raise BadImageError("too large: %dx%d px is over the limit of %d pixels"
                            % (width, height, max_pixels))
    return img


def check_image(path, max_pixels=DEFAULT_MAX_PIXELS, size=False):
    """Why ``path`` cannot be used, or None, judged without decoding pixels
    (with ``size``: that and the image's (width, height), or None).

    Reads the header (format, size against ``max_pixels``) and lets Pillow
    verify the file's structure (PNG chunk checksums and the like). Damage
    that only decoding finds is reported by the stage that decodes, with the
    same wording.
    """
    reason, dims = None, None
    try:
        with _open_checked(path, max_pixels) as img:
            dims = img.size
            img.verify()
    except BadImageError as e:
        reason = str(e)
    except Image.DecompressionBombError as e:
        reason = "too large: %s" % e
    except (OSError, SyntaxError, ValueError) as e:
        reason = "corrupt or truncated image: %s" % e
    if reason:
        dims = None
    return (reason, dims) if size else reason


def file_digest(path):
    """A hash of the file's bytes: equal for byte-identical copies."""
    import hashlib

    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _to_rgb(img):
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # 16/32-bit: stretch to the 8-bit range instead of clipping to white
        arr = np.asarray(img, dtype=np.float32)
        lo, hi = float(arr.min()), float(arr.max())
        scale = 255.0 / (hi - lo) if hi > lo else 0.0
        img = Image.fromarray(((arr - lo) * scale).astype(np.uint8), "L")
    if img.mode == "P":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        img = img.convert("RGBA")
        background = Image.new("RGBA", img.size, _BACKGROUND + (255,))
        img = Image.alpha_composite(background, img)
    return img.convert("RGB")


def center_crop_square(img, size):
    """The largest centred square of ``img``, resized to ``size`` px."""
    return ImageOps.fit(img, (size, size), method=Image.Resampling.BILINEAR)
