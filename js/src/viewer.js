// Drawing and hit-testing for the mosaic canvas; no React, no App state.
//
// Coordinates: "grid" units have one unit per cell, cell (r, c) spanning
// [c, c+1) x [r, r+1). The view maps grid -> screen as screen = grid * scale + offset.

export const DIM = "rgba(0,0,0,0.72)";
export const SELECTED = "rgba(255,109,4,0.55)";

/** Index from (row, col) to sample index, -1 for empty cells. */
export function cellIndex(cells, rows, cols) {
  const index = new Int32Array(rows * cols).fill(-1);
  for (let i = 0; i < cells.row.length; i++) index[cells.row[i] * cols + cells.col[i]] = i;
  return index;
}

export function fitView(width, height, rows, cols) {
  const scale = Math.max(1e-6, Math.min(width / cols, height / rows));
  return { scale, x: (width - cols * scale) / 2, y: (height - rows * scale) / 2 };
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

/** Sample index under a screen point, or -1. */
export function hit(view, index, rows, cols, sx, sy) {
  const [gx, gy] = toGrid(view, sx, sy);
  const c = Math.floor(gx);
  const r = Math.floor(gy);
  if (r < 0 || c < 0 || r >= rows || c >= cols) return -1;
  return index[r * cols + c];
}

/** Sample indices whose cell centres lie inside a screen-space polygon. */
export function inPolygon(view, cells, polygon) {
  const pts = polygon.map(([sx, sy]) => toGrid(view, sx, sy));
  const out = [];
  for (let i = 0; i < cells.row.length; i++) {
    const x = cells.col[i] + 0.5;
    const y = cells.row[i] + 0.5;
    let inside = false;
    for (let a = 0, b = pts.length - 1; a < pts.length; b = a++) {
      const [xa, ya] = pts[a];
      const [xb, yb] = pts[b];
      if (ya > y !== yb > y && x < ((xb - xa) * (y - ya)) / (yb - ya) + xa) inside = !inside;
    }
    if (inside) out.push(i);
  }
  return out;
}

/** A rows x cols canvas, one pixel per cell: dimmed and selected cells. */
export function overlayCanvas(cells, rows, cols, inView, selectedIdx) {
  const canvas = document.createElement("canvas");
  canvas.width = cols;
  canvas.height = rows;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = DIM;
  for (let i = 0; i < cells.row.length; i++) {
    if (inView && !inView[i]) ctx.fillRect(cells.col[i], cells.row[i], 1, 1);
  }
  ctx.fillStyle = SELECTED;
  for (const i of selectedIdx) ctx.fillRect(cells.col[i], cells.row[i], 1, 1);
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
 * of the matching level, loading missing ones through `getTile`, then the
 * overlay. Returns the number of tiles still loading.
 */
export function draw(ctx, width, height, view, grid, overview, overlay, getTile) {
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
  if (overlay) {
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(overlay, view.x, view.y, gw, gh);
  }
  return loading;
}
