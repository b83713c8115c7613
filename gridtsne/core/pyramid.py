"""Deep Zoom tile pyramids, for mosaics too large to be one bitmap.

A 1,000 x 1,000 grid at 64 px per cell is a 64,000 px square: 12 GB as one
RGB bitmap and beyond JPEG's limit. Instead the full-resolution level is drawn
one strip of tiles at a time (memory: one strip), written as 256 px JPEG tiles
in the Deep Zoom (DZI) layout that viewers such as OpenSeadragon load lazily,
and every coarser level is made from the four tiles below it. One level small
enough to view whole is also returned as the overview image.

    <name>.dzi                    XML: tile size, overlap 0, format, full size
    <name>_files/<level>/<col>_<row>.jpg   level 0 is 1 x 1 px, the last is full size

Written here because pyvips/libvips' dzsave (the usual tool) is a large native
dependency, and this needs only Pillow.
"""

import math
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image

from .render import BACKGROUND, draw_cells

TILE_PX = 256
# above this many pixels per side, a run writes a pyramid and a smaller overview
PYRAMID_ABOVE_SIDE = 8192
OVERVIEW_MAX_SIDE = 4096
QUALITY = 85

DZI = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<Image xmlns="http://schemas.microsoft.com/deepzoom/2008" TileSize="%d" '
    'Overlap="0" Format="jpg"><Size Width="%d" Height="%d"/></Image>\n'
)


def needs_pyramid(rows, cols, cell_px):
    return max(rows, cols) * int(cell_px) > PYRAMID_ABOVE_SIDE


def level_sizes(width, height):
    """[(width, height)] of every level, from 1 x 1 up to full size."""
    top = max(1, math.ceil(math.log2(max(width, height))))
    return [(max(1, math.ceil(width / 2 ** (top - lv))), max(1, math.ceil(height / 2 ** (top - lv))))
            for lv in range(top + 1)]


def write_pyramid(paths, cells, rows, cols, folder, name="mosaic", cell_px=64,
                  border_colors=None, outline=None, max_pixels=None,
                  overview_max_side=None, progress=None, boxes=None):
    """Writes ``folder/<name>.dzi`` and ``folder/<name>_files/``.

    Args: as :func:`gridtsne.core.render.render_mosaic`. Tiles are 256 px, or
    the nearest multiple of ``cell_px`` below, so that they hold whole cells.

    Returns:
        (path of the .dzi file, the overview as a PIL image whose longest
        side is at most ``overview_max_side``, default OVERVIEW_MAX_SIDE)
    """
    cell_px = int(cell_px)
    overview_max_side = overview_max_side or OVERVIEW_MAX_SIDE
    tile = TILE_PX if TILE_PX % cell_px == 0 else cell_px * max(1, TILE_PX // cell_px)
    width, height = cols * cell_px, rows * cell_px
    sizes = level_sizes(width, height)
    top = len(sizes) - 1
    files = os.path.join(folder, name + "_files")
    cells = np.asarray(cells, dtype=np.int64)
    by_row = np.argsort(cells[:, 0], kind="stable")
    row_starts = np.searchsorted(cells[by_row, 0], np.arange(rows + 1))
    per_strip = tile // cell_px
    strips = math.ceil(height / tile)
    tiles_across = math.ceil(width / tile)

    os.makedirs(os.path.join(files, str(top)), exist_ok=True)
    for s in range(strips):
        r0, r1 = s * per_strip, min((s + 1) * per_strip, rows)
        strip = Image.new("RGB", (width, (r1 - r0) * cell_px), BACKGROUND)
        which = by_row[row_starts[r0]:row_starts[r1]]
        draw_cells(strip, paths, cells, which, cell_px, first_row=r0,
                   border_colors=border_colors, outline=outline, max_pixels=max_pixels,
                   boxes=boxes)
        for c in range(tiles_across):
            x0 = c * tile
            strip.crop((x0, 0, min(x0 + tile, width), strip.height)).save(
                os.path.join(files, str(top), "%d_%d.jpg" % (c, s)), quality=QUALITY)
        if progress is not None:
            progress(0.9 * (s + 1) / strips)

    overview = None
    if max(width, height) <= overview_max_side:  # the full size is small enough
        overview = _stitch(files, top, width, height, tile)
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        for lv in range(top - 1, -1, -1):
            w, h = sizes[lv]
            os.makedirs(os.path.join(files, str(lv)), exist_ok=True)
            jobs = [(files, lv, c, r, w, h, tile)
                    for r in range(math.ceil(h / tile)) for c in range(math.ceil(w / tile))]
            list(pool.map(_merge_four, jobs))
            if overview is None and max(w, h) <= overview_max_side:
                overview = _stitch(files, lv, w, h, tile)
    dzi = os.path.join(folder, name + ".dzi")
    with open(dzi, "w") as f:
        f.write(DZI % (tile, width, height))
    if progress is not None:
        progress(1.0)
    return dzi, overview


def _merge_four(job):
    """One tile of level ``lv`` from the (up to) four tiles of level lv + 1.

    The four children are put together at full size and shrunk once, so a
    tile of odd width (an odd cell size makes tiles of, say, 231 px) does not
    lose a pixel column at each child's edge.
    """
    files, lv, c, r, w, h, tile = job
    tw, th = min(tile, w - c * tile), min(tile, h - r * tile)
    children = Image.new("RGB", (2 * tile, 2 * tile), BACKGROUND)
    cw = ch = 0
    for dy in (0, 1):
        for dx in (0, 1):
            src = os.path.join(files, str(lv + 1), "%d_%d.jpg" % (2 * c + dx, 2 * r + dy))
            if os.path.exists(src):
                with Image.open(src) as child:
                    children.paste(child, (dx * tile, dy * tile))
                    cw = max(cw, dx * tile + child.width)
                    ch = max(ch, dy * tile + child.height)
    out = children.crop((0, 0, cw, ch)).resize((tw, th), Image.BILINEAR, reducing_gap=2.0)
    out.save(os.path.join(files, str(lv), "%d_%d.jpg" % (c, r)), quality=QUALITY)


def _stitch(files, lv, w, h, tile):
    out = Image.new("RGB", (w, h), BACKGROUND)
    for r in range(math.ceil(h / tile)):
        for c in range(math.ceil(w / tile)):
            with Image.open(os.path.join(files, str(lv), "%d_%d.jpg" % (c, r))) as t:
                out.paste(t, (c * tile, r * tile))
    return out
