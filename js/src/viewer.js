// Drawing and hit-testing for the mosaic canvas; no React, no App state.
// Cells are indexed row * cols + col (see cells.js).
//
// Coordinates: "grid" units have one unit per cell, cell (r, c) spanning
// [c, c+1) x [r, r+1). The view maps grid -> screen as screen = grid * scale + offset.

export const DIM = [0, 0, 0, 200];
// selection while cells are small: white fill (label colours are only ever
// borders); zoomed in, a white frame lined in black (drawSelected)
export const SELECTED = [255, 255, 255, 170];
export const HIDDEN = [24, 24, 24, 255]; // the canvas background
export const FILL_ALPHA = 120; // colour-by fill when cells are too small for borders
export const BORDER_FROM_PX = 10; // screen px per cell from which colours are borders

export function fitView(width, height, rows, cols) {
  const scale = Math.max(1e-6, Math.min(width / cols, height / rows));
  return { scale, x: (width - cols * scale) / 2, y: (height - rows * scale) / 2 };
}

/** The same zoom around the old centre after the canvas changed size. */
export function resizeView(view, oldSize, newSize) {
  if (!view) return view;
  return {
    scale: view.scale,
    x: view.x + (newSize.width - oldSize.width) / 2,
    y: view.y + (newSize.height - oldSize.height) / 2,
  };
}

/** Zooms by `factor` keeping the grid point under (sx, sy) fixed. */
export function zoomAt(view, factor, sx, sy, minScale, maxScale) {
  const scale = Math.min(maxScale, Math.max(minScale, view.scale * factor));
  const k = scale / view.scale;
  return { scale, x: sx - (sx - view.x) * k, y: sy - (sy - view.y) * k };
}

export function toGrid(view, sx, sy) {
  return [(sx - view.x) / view.scale, (sy - view.y) / view.scale];
}

/** The occupied cell under a screen point, or -1. */
export function hit(view, occupied, rows, cols, sx, sy) {
  const [gx, gy] = toGrid(view, sx, sy);
  const c = Math.floor(gx);
  const r = Math.floor(gy);
  if (r < 0 || c < 0 || r >= rows || c >= cols) return -1;
  const cell = r * cols + c;
  return occupied && occupied[cell] ? cell : -1;
}

/** Occupied cells whose centres lie inside a screen-space polygon. */
export function inPolygon(view, occupied, rows, cols, polygon) {
  const pts = polygon.map(([sx, sy]) => toGrid(view, sx, sy));
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  const c0 = Math.max(0, Math.floor(Math.min(...xs)));
  const c1 = Math.min(cols - 1, Math.ceil(Math.max(...xs)));
  const r0 = Math.max(0, Math.floor(Math.min(...ys)));
  const r1 = Math.min(rows - 1, Math.ceil(Math.max(...ys)));
  const out = [];
  for (let r = r0; r <= r1; r++) {
    for (let c = c0; c <= c1; c++) {
      const cell = r * cols + c;
      if (!occupied[cell]) continue;
      const x = c + 0.5;
      const y = r + 0.5;
      let inside = false;
      for (let a = 0, b = pts.length - 1; a < pts.length; b = a++) {
        const [xa, ya] = pts[a];
        const [xb, yb] = pts[b];
        if (ya > y !== yb > y && x < ((xb - xa) * (y - ya)) / (yb - ya) + xa) inside = !inside;
      }
      if (inside) out.push(cell);
    }
  }
  return out;
}

/** The cells' range [r0, r1] x [c0, c1] visible on a width x height canvas. */
export function visibleCells(view, rows, cols, width, height) {
  const [gx0, gy0] = toGrid(view, 0, 0);
  const [gx1, gy1] = toGrid(view, width, height);
  return {
    r0: Math.max(0, Math.floor(gy0)), r1: Math.min(rows - 1, Math.floor(gy1)),
    c0: Math.max(0, Math.floor(gx0)), c1: Math.min(cols - 1, Math.floor(gx1)),
  };
}

/**
 * A rows x cols canvas, one pixel per cell: the colour-by fill (`fill`: RGBA
 * per cell or null), hidden cells (`hidden`: 0/1 per cell), dimmed cells
 * (outside the view). Selected cells are drawn on top (fillSelected), so that a
 * click does not rebuild this.
 */
export function overlayCanvas(rows, cols, occupied, { fill, hidden, inView }) {
  const canvas = document.createElement("canvas");
  canvas.width = cols;
  canvas.height = rows;
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(cols, rows);
  const px = image.data;
  const put = (cell, [r, g, b, a]) => {
    const o = cell * 4;
    // "over" compositing of straight-alpha colours
    const ao = px[o + 3] / 255;
    const an = a / 255;
    const out = an + ao * (1 - an);
    if (out <= 0) return;
    px[o] = (r * an + px[o] * ao * (1 - an)) / out;
    px[o + 1] = (g * an + px[o + 1] * ao * (1 - an)) / out;
    px[o + 2] = (b * an + px[o + 2] * ao * (1 - an)) / out;
    px[o + 3] = out * 255;
  };
  const n = rows * cols;
  for (let cell = 0; cell < n; cell++) {
    if (!occupied[cell]) continue;
    if (hidden && hidden[cell]) {
      put(cell, HIDDEN);
      continue;
    }
    if (fill) {
      const o = cell * 4;
      if (fill[o + 3]) put(cell, [fill[o], fill[o + 1], fill[o + 2], FILL_ALPHA]);
    }
    if (inView && !inView[cell]) put(cell, DIM);
  }
  ctx.putImageData(image, 0, 0);
  return canvas;
}

/** The Deep Zoom level whose pixels per cell first reach `wanted`. */
export function pickLevel(tiles, cellPx, wanted) {
  const top = tiles.levels - 1;
  for (let lv = 0; lv <= top; lv++) {
    if (cellPx / 2 ** (top - lv) >= wanted) return lv;
  }
  return top;
}

/**
 * Draws the overview, then (when zoomed past it) the visible Deep Zoom tiles
 * of the matching level, loading missing ones through `getTile`, then what
 * `beforeOverlay` draws (it returns how many of its images are loading), then
 * the overlay. Returns the number of tiles and images still loading.
 */
export function draw(ctx, width, height, view, grid, overview, overlay, getTile, beforeOverlay) {
  ctx.clearRect(0, 0, width, height);
  const gw = grid.cols * view.scale;
  const gh = grid.rows * view.scale;
  ctx.imageSmoothingEnabled = true;
  if (overview && overview.complete && overview.naturalWidth) {
    ctx.drawImage(overview, view.x, view.y, gw, gh);
  }
  let loading = 0;
  const tiles = grid.tiles;
  const dpr = window.devicePixelRatio || 1;
  const overviewPx = overview && overview.naturalWidth ? overview.naturalWidth / grid.cols : 0;
  if (tiles && view.scale * dpr > overviewPx * 1.05) {
    const lv = pickLevel(tiles, grid.cell_px, view.scale * dpr);
    const top = tiles.levels - 1;
    const f = 2 ** (top - lv); // full-size pixels per level pixel
    const levelPxPerCell = grid.cell_px / f;
    const toScreen = view.scale / levelPxPerCell; // screen px per level px
    const lw = Math.ceil(tiles.width / f);
    const lh = Math.ceil(tiles.height / f);
    const t = tiles.tile;
    const x0 = Math.max(0, Math.floor(-view.x / toScreen / t));
    const y0 = Math.max(0, Math.floor(-view.y / toScreen / t));
    const x1 = Math.min(Math.ceil(lw / t) - 1, Math.floor((width - view.x) / toScreen / t));
    const y1 = Math.min(Math.ceil(lh / t) - 1, Math.floor((height - view.y) / toScreen / t));
    for (let ty = y0; ty <= y1; ty++) {
      for (let tx = x0; tx <= x1; tx++) {
        const img = getTile(lv, tx, ty);
        if (img && img.complete && img.naturalWidth) {
          ctx.drawImage(
            img,
            view.x + tx * t * toScreen,
            view.y + ty * t * toScreen,
            img.naturalWidth * toScreen,
            img.naturalHeight * toScreen
          );
        } else {
          loading++;
        }
      }
    }
  }
  if (beforeOverlay) loading += beforeOverlay();
  if (overlay) {
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(overlay, view.x, view.y, gw, gh);
  }
  return loading;
}

/** Screen rectangle [x, y, size] of a cell. */
export function cellRect(view, cols, cell) {
  const r = Math.floor(cell / cols);
  const c = cell - r * cols;
  return [view.x + c * view.scale, view.y + r * view.scale, view.scale];
}

/**
 * Full-resolution images of the visible cells (zoomed past the mosaic's own
 * pixels), centre-cropped as the mosaic crops them; `imageOf(cell)` returns a
 * loaded image and its crop box (relative) or null. Returns how many are missing.
 */
export function drawSharp(ctx, view, cols, cells, imageOf) {
  let missing = 0;
  ctx.imageSmoothingEnabled = true;
  for (const cell of cells) {
    const got = imageOf(cell);
    if (!got) {
      missing++;
      continue;
    }
    if (got.skip) continue;
    const { img, box } = got;
    const [x, y, s] = cellRect(view, cols, cell);
    let sx = 0;
    let sy = 0;
    let sw = img.naturalWidth;
    let sh = img.naturalHeight;
    if (box) {
      sx = box[0] * sw;
      sy = box[1] * sh;
      sw = (box[2] - box[0]) * sw;
      sh = (box[3] - box[1]) * sh;
    }
    const side = Math.min(sw, sh);
    ctx.drawImage(img, sx + (sw - side) / 2, sy + (sh - side) / 2, side, side, x, y, s, s);
  }
  return missing;
}

/** Colour-by borders of the visible cells, wide enough to cover the ones the
 * mosaic was rendered with. `colorOf(cell)` is a CSS colour or null. */
export function drawBorders(ctx, view, cols, cells, colorOf, inView) {
  const lw = Math.max(2, view.scale * 0.08);
  ctx.lineWidth = lw;
  for (const cell of cells) {
    const color = colorOf(cell);
    if (!color) continue;
    const [x, y, s] = cellRect(view, cols, cell);
    ctx.strokeStyle = color;
    // a cell outside the view is dimmed border and all: a view of a few
    // samples stands out at a glance
    ctx.globalAlpha = inView && !inView[cell] ? 1 - DIM[3] / 255 : 1;
    ctx.strokeRect(x + lw / 2, y + lw / 2, s - lw, s - lw);
  }
  ctx.globalAlpha = 1;
}

/** Selected cells while cells are small: filled white, at least 1 px. */
export function fillSelected(ctx, view, cols, cells, hidden) {
  ctx.fillStyle = `rgba(${SELECTED[0]},${SELECTED[1]},${SELECTED[2]},${SELECTED[3] / 255})`;
  const s = Math.max(1, view.scale);
  for (const cell of cells) {
    if (hidden && hidden[cell]) continue;
    const [x, y] = cellRect(view, cols, cell);
    ctx.fillRect(x, y, s, s);
  }
}

/** Selected cells, zoomed in: a white frame lined in black inside the cell.
 * A flat frame of one colour reads as a label's border (the App's pool has
 * light greys); a two-tone frame is no label's. */
export function drawSelected(ctx, view, cols, cells) {
  const lw = Math.max(2, view.scale * 0.06);
  for (const [colour, width] of [["#000000", lw * 2], ["#ffffff", lw]]) {
    ctx.lineWidth = width;
    ctx.strokeStyle = colour;
    for (const cell of cells) {
      const [x, y, s] = cellRect(view, cols, cell);
      ctx.strokeRect(x + lw * 2, y + lw * 2, s - lw * 4, s - lw * 4);
    }
  }
}

/** The sample open in the modal: a ring of at least 14 px around its cell, so
 * that it shows at any zoom. */
export function drawCurrent(ctx, view, cols, cell) {
  const [x, y, s] = cellRect(view, cols, cell);
  const size = Math.max(14, s + 6);
  const cx = x + s / 2;
  const cy = y + s / 2;
  ctx.lineWidth = 4;
  ctx.strokeStyle = "#000000";
  ctx.strokeRect(cx - size / 2, cy - size / 2, size, size);
  ctx.lineWidth = 2;
  ctx.strokeStyle = "#ffffff";
  ctx.setLineDash([4, 3]);
  ctx.strokeRect(cx - size / 2, cy - size / 2, size, size);
  ctx.setLineDash([]);
}
