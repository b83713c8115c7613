// A run's regions over the mosaic: outlines between cells of different
// regions, names placed so that none overlaps another, and a purity tint
// (the share of a region's majority label, red to green). Pure geometry and
// drawing of plain data, so node tests can check the placement.
import { bytesOf } from "./cells.js";
import { fitView } from "./viewer.js";

export const EMPTY = 255; // a cell no region holds (empty, or skipped)
// names are drawn at fit zoom and fade out from FADE_FROM times it (gone at
// GONE_AT times), so zoomed into cells the images are not covered
const FADE_FROM = 2;
const GONE_AT = 4;

/** The region of every grid cell from the payload's base64 map. */
export function decodeRegionMap(b64, nCells) {
  const out = new Uint8Array(nCells).fill(EMPTY);
  out.set(bytesOf(b64).subarray(0, nCells));
  return out;
}

/** Edges between cells of different regions, as [x0, y0, x1, y1] in cell units. */
export function regionEdges(map, rows, cols) {
  const out = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const a = map[r * cols + c];
      if (c + 1 < cols) {
        const b = map[r * cols + c + 1];
        if (a !== b && (a !== EMPTY || b !== EMPTY)) out.push([c + 1, r, c + 1, r + 1]);
      }
      if (r + 1 < rows) {
        const b = map[(r + 1) * cols + c];
        if (a !== b && (a !== EMPTY || b !== EMPTY)) out.push([c, r + 1, c + 1, r + 1]);
      }
    }
  }
  return out;
}

/** How opaque the names are at `scale` screen px per cell (`fit`: the fit zoom's). */
export function nameAlpha(scale, fit) {
  const zoomed = scale / fit;
  if (zoomed <= FADE_FROM) return 1;
  if (zoomed >= GONE_AT) return 0;
  return 1 - (zoomed - FADE_FROM) / (GONE_AT - FADE_FROM);
}

function overlaps(a, b) {
  return a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
}

/**
 * Where each region's name goes: at its centre cell, largest regions first;
 * a name that would overlap one already placed tries a few nearby spots, and
 * is left out when none is free (a smaller region's name gives way).
 * `measure(text)` -> width in px. Returns [{id, text, x, y, box}].
 */
export function placeNames(regions, view, measure, height = 14, bounds = null) {
  const placed = [];
  const order = regions.map((r, i) => i).sort((a, b) => regions[b].count - regions[a].count);
  for (const i of order) {
    const reg = regions[i];
    const text = reg.name;
    const w = measure(text) + 8;
    let cx = view.x + (reg.centre[1] + 0.5) * view.scale;
    if (bounds) cx = Math.max(w / 2, Math.min(bounds.width - w / 2, cx)); // kept inside the canvas
    const cy = view.y + (reg.centre[0] + 0.5) * view.scale;
    for (const [dx, dy] of [[0, 0], [0, -height - 2], [0, height + 2], [-w / 2, 0], [w / 2, 0]]) {
      const box = { x0: cx + dx - w / 2, x1: cx + dx + w / 2, y0: cy + dy - height / 2, y1: cy + dy + height / 2 };
      if (!placed.some((p) => overlaps(p.box, box))) {
        placed.push({ id: reg.id, text, x: cx + dx, y: cy + dy, box });
        break;
      }
    }
  }
  return placed;
}

/** Red (mixed) to green (pure) for a label share in [0, 1]. */
export function purityColor(share) {
  const t = Math.max(0, Math.min(1, (share - 0.5) / 0.5)); // a region is at least a plurality
  return [Math.round(230 * (1 - t) + 40 * t), Math.round(60 * (1 - t) + 190 * t), 60];
}

/** A cols x rows canvas tinting each cell by its region's purity. */
export function purityCanvas(map, rows, cols, regions) {
  const canvas = document.createElement("canvas");
  canvas.width = cols;
  canvas.height = rows;
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(cols, rows);
  const colors = regions.map((r) => (r.label_share == null ? null : purityColor(r.label_share)));
  for (let i = 0; i < map.length; i++) {
    const rgb = map[i] === EMPTY ? null : colors[map[i]];
    if (!rgb) continue;
    image.data.set([rgb[0], rgb[1], rgb[2], 120], i * 4);
  }
  ctx.putImageData(image, 0, 0);
  return canvas;
}

/** The decoded regions of a run's payload (null without regions). */
export function decodeRegions(grid) {
  const payload = grid && grid.regions;
  if (!payload || !payload.entries.length) return null;
  const map = decodeRegionMap(payload.map, grid.rows * grid.cols);
  return { entries: payload.entries, map, edges: regionEdges(map, grid.rows, grid.cols), purity: null };
}

/**
 * Draws outlines and names (and, in "purity" mode, the tint) over the
 * mosaic; returns the number of names drawn.
 */
export function drawRegions(ctx, view, grid, regions, mode) {
  if (!regions || mode === "off") return 0;
  const s = view.scale;
  if (mode === "purity") {
    if (!regions.purity) regions.purity = purityCanvas(regions.map, grid.rows, grid.cols, regions.entries);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(regions.purity, view.x, view.y, grid.cols * s, grid.rows * s);
  }
  ctx.save();
  ctx.strokeStyle = "rgba(255,255,255,0.9)";
  ctx.lineWidth = Math.max(1, Math.min(3, s / 10));
  ctx.beginPath();
  for (const [x0, y0, x1, y1] of regions.edges) {
    ctx.moveTo(view.x + x0 * s, view.y + y0 * s);
    ctx.lineTo(view.x + x1 * s, view.y + y1 * s);
  }
  ctx.stroke();
  const alpha = nameAlpha(s, fitView(ctx.canvas.width, ctx.canvas.height, grid.rows, grid.cols).scale);
  let drawn = 0;
  if (alpha > 0) {
    ctx.font = "12px sans-serif";
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    const names = placeNames(regions.entries, view, (t) => ctx.measureText(t).width, 14, ctx.canvas);
    ctx.globalAlpha = alpha;
    for (const n of names) {
      ctx.fillStyle = "rgba(0,0,0,0.75)";
      ctx.fillRect(n.box.x0, n.box.y0, n.box.x1 - n.box.x0, n.box.y1 - n.box.y0);
      ctx.fillStyle = "#fff";
      ctx.fillText(n.text, n.x, n.y);
    }
    drawn = names.length;
  }
  ctx.restore();
  return drawn;
}

/** Rings around the cells similar to a query (and a thicker one on the query). */
export function drawSimilar(ctx, view, cols, cells, query) {
  if (!cells.length && query == null) return;
  const s = view.scale;
  ctx.save();
  ctx.strokeStyle = "#00e5ff";
  ctx.lineWidth = Math.max(2, Math.min(4, s / 6));
  const ring = (cell, pad) => {
    const r = Math.floor(cell / cols);
    const c = cell - r * cols;
    const x = view.x + c * s;
    const y = view.y + r * s;
    const m = Math.max(4, s);
    ctx.strokeRect(x + s / 2 - m / 2 - pad, y + s / 2 - m / 2 - pad, m + 2 * pad, m + 2 * pad);
  };
  for (const cell of cells) ring(cell, 1);
  if (query != null) {
    ctx.strokeStyle = "#ffea00";
    ring(query, 3);
  }
  ctx.restore();
}
