"""Decoding images the same way for validation, embedding and rendering.

Real folders hold CMYK, 16-bit, palette, alpha and EXIF-rotated images next to
broken files; everything that touches pixels goes through :func:`load_rgb` so
that each of them is either shown upright in 8-bit RGB or rejected with a
reason a person can read.
"""

import os

import numpy as np
from PIL import Image, ImageOps

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


def list_images(root):
    """All image files below ``root``, recursively, in a stable order."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            if is_image_path(name) and not name.startswith("."):
                found.append(os.path.abspath(os.path.join(folder, name)))
    return found


def load_rgb(path, max_pixels=DEFAULT_MAX_PIXELS):
    """Decodes ``path`` into an upright 8-bit RGB image.

    Raises:
        BadImageError: naming why the file cannot be used
    """
    if not os.path.exists(path):
        raise BadImageError("file not found")
    if os.path.getsize(path) == 0:
        raise BadImageError("empty file (0 bytes)")
    try:
        with Image.open(path) as img:
            width, height = img.size
            if max_pixels and width * height > max_pixels:
                raise BadImageError(
                    "too large: %dx%d px is over the limit of %d pixels"
                    % (width, height, max_pixels)
                )
            img.load()
            img = ImageOps.exif_transpose(img)
            return _to_rgb(img)
    except BadImageError:
        raise
    except Image.DecompressionBombError as e:
        raise BadImageError("too large: %s" % e) from None
    except Image.UnidentifiedImageError:
        raise BadImageError("not an image (unrecognised format)") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise BadImageError("corrupt or truncated image: %s" % e) from None


def check_image(path, max_pixels=DEFAULT_MAX_PIXELS):
    """The reason ``path`` cannot be used, or None when it decodes."""
    try:
        load_rgb(path, max_pixels=max_pixels)
    except BadImageError as e:
        return str(e)
    return None


def _to_rgb(img):
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # 16/32-bit: stretch to the 8-bit range instead of clipping to white
        arr = np.asarray(img, dtype=np.float64)
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
