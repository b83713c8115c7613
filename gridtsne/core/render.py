"""Drawing the mosaic: each image centre-cropped into its cell."""

import os
import tempfile
from concurrent.futures import ThreadPoolExecutor

from PIL import Image, ImageDraw

from .images import BadImageError, center_crop_square, load_rgb

DEFAULT_CELL_PX = 64
BACKGROUND = (24, 24, 24)
MISSING = (90, 90, 90)
OUTLINE = (255, 0, 255)

# Tableau-20-like: distinct on a dark background, stable order
PALETTE = [
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40),
    (148, 103, 189), (140, 86, 75), (227, 119, 194), (127, 127, 127),
    (188, 189, 34), (23, 190, 207), (174, 199, 232), (255, 187, 120),
    (152, 223, 138), (255, 152, 150), (197, 176, 213), (196, 156, 148),
    (247, 182, 210), (199, 199, 199), (219, 219, 141), (158, 218, 229),
]


def label_colors(labels):
    """A stable colour per distinct label (None excluded), sorted by name."""
    names = sorted({str(l) for l in labels if l is not None})
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}


def border_colors_for(labels):
    """Per-sample border colours from :func:`label_colors` (None stays None)."""
    palette = label_colors(labels)
    return [palette.get(str(l)) if l is not None else None for l in labels]


def render_mosaic(
    paths,
    cells,
    rows,
    cols,
    cell_px=DEFAULT_CELL_PX,
    border_colors=None,
    border_px=None,
    max_pixels=None,
    num_threads=None,
    progress=None,
    outline=None,
    boxes=None,
):
    """Returns the mosaic as a PIL RGB image of (cols*cell_px, rows*cell_px).

    Args:
        paths: N image paths
        cells: (N, 2) int (row, col) per image
        border_colors: optional N RGB tuples (or None entries) for a border
        outline: optional N booleans; True cells get a thick magenta frame
            (used to flag suspicious labels)
        boxes: optional N regions (x0, y0, x1, y1) relative to their image:
            each cell shows that region (objects cropped from images)
        progress: optional callable taking the fraction done in [0, 1]
    """
    cell_px = int(cell_px)
    if cell_px < 1:
        raise ValueError("cell size must be at least 1 px, got %d" % cell_px)
    canvas = Image.new("RGB", (cols * cell_px, rows * cell_px), BACKGROUND)
    draw_cells(canvas, paths, cells, range(len(paths)), cell_px, border_colors=border_colors,
               border_px=border_px, max_pixels=max_pixels, num_threads=num_threads,
               progress=progress, outline=outline, boxes=boxes)
    return canvas


def draw_cells(canvas, paths, cells, which, cell_px, first_row=0, border_colors=None,
               border_px=None, max_pixels=None, num_threads=None, progress=None,
               outline=None, boxes=None):
    """Draws the samples ``which`` (indices into paths/cells) onto ``canvas``,
    whose top edge is grid row ``first_row``; see :func:`render_mosaic`."""
    if border_px is None:
        border_px = max(1, cell_px // 32)
    draw = ImageDraw.Draw(canvas)
    kwargs = {} if max_pixels is None else {"max_pixels": max_pixels}

    def tile(i):
        try:
            img = load_rgb(paths[i], min_side=cell_px,
                           box=None if boxes is None else boxes[i], **kwargs)
            return center_crop_square(img, cell_px)
        except BadImageError:
            return None

    which = list(which)
    n = len(which)
    threads = num_threads or min(8, (os.cpu_count() or 1) + 2)
    with ThreadPoolExecutor(threads) as pool:
        for k, (i, img) in enumerate(zip(which, pool.map(tile, which))):
            r, c = int(cells[i][0]) - first_row, int(cells[i][1])
            x0, y0 = c * cell_px, r * cell_px
            if img is None:
                canvas.paste(MISSING, (x0, y0, x0 + cell_px, y0 + cell_px))
            else:
                canvas.paste(img, (x0, y0))
            color = border_colors[i] if border_colors is not None else None
            if color is not None and border_px > 0:
                draw.rectangle(
                    (x0, y0, x0 + cell_px - 1, y0 + cell_px - 1),
                    outline=tuple(color),
                    width=border_px,
                )
            if outline is not None and outline[i]:
                draw.rectangle(
                    (x0, y0, x0 + cell_px - 1, y0 + cell_px - 1),
                    outline=OUTLINE, width=max(2, cell_px // 12),
                )
            if progress is not None and (k % 64 == 0 or k == n - 1):
                progress((k + 1) / n)


def save_image_atomic(img, path, quality=90):
    """Writes ``img`` so that ``path`` is either the old file or the whole new one."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    ext = os.path.splitext(path)[1].lower()
    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG"}.get(ext)
    if fmt is None:
        raise ValueError("Mosaic must be .jpg or .png, got %r" % path)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=ext)
    try:
        with os.fdopen(fd, "wb") as f:
            if fmt == "JPEG":
                img.save(f, fmt, quality=quality)
            else:
                img.save(f, fmt)
        # mkstemp makes the file private; give it the usual permissions
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


REGION_LINE = (255, 255, 255)


def draw_regions(img, cells, region, regions, rows, cols):
    """Draws the regions' outlines (lines between cells of different regions)
    and names (at each region's centre cell, on a dark box) over a mosaic of
    ``rows`` x ``cols`` cells of any pixel size (an overview included)."""
    import numpy as np
    from PIL import ImageFont

    sx, sy = img.width / float(cols), img.height / float(rows)
    grid = np.full((rows, cols), -1, np.int64)
    grid[cells[:, 0], cells[:, 1]] = region
    draw = ImageDraw.Draw(img)
    width = max(1, int(round(min(sx, sy) / 12)))
    # vertical edges: between (r, c) and (r, c + 1); horizontal: (r, c) and (r + 1, c)
    for r, c in np.argwhere((grid[:, :-1] != grid[:, 1:]) & ((grid[:, :-1] >= 0)
                                                            | (grid[:, 1:] >= 0))):
        x = (c + 1) * sx
        draw.line([(x, r * sy), (x, (r + 1) * sy)], fill=REGION_LINE, width=width)
    for r, c in np.argwhere((grid[:-1, :] != grid[1:, :]) & ((grid[:-1, :] >= 0)
                                                            | (grid[1:, :] >= 0))):
        y = (r + 1) * sy
        draw.line([(c * sx, y), ((c + 1) * sx, y)], fill=REGION_LINE, width=width)
    size = int(max(10, min(img.width, img.height) / 40))
    try:
        font = ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has one bitmap size
        font = ImageFont.load_default()
    for entry in regions:
        r, c = entry["centre"]
        x, y = (c + 0.5) * sx, (r + 0.5) * sy
        box = draw.textbbox((x, y), entry["name"], font=font, anchor="mm")
        pad = size // 4
        draw.rectangle([box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad],
                       fill=(0, 0, 0))
        draw.text((x, y), entry["name"], fill=(255, 255, 255), font=font, anchor="mm")
    return img
