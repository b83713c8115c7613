// Colours of "colour by": categories take the App's colour scheme (so a label
// has the same colour here as in the grid, the modal and the Embeddings
// panel); continuous values a viridis scale.

// FiftyOne's default colour pool (fiftyone.constants.DEFAULT_APP_COLOR_POOL),
// used when the App's scheme is not readable
export const DEFAULT_POOL = [
  "#ee0000", "#ee6600", "#993300", "#996633", "#999900", "#009900", "#003300",
  "#009999", "#000099", "#0066ff", "#6600ff", "#cc33cc", "#777799",
];

/**
 * The App's colour of each category of `fieldPath`, as the App itself
 * colours values: a colour set for that value in the colour scheme
 * (`fields[].valueColors`), else the App's own colour map (`colorMap`: the
 * first-come, first-served pool table the whole App shares, so a value has the
 * colour it has in the grid, the modal and the Embeddings panel). Categories
 * are asked for in the Embeddings panel's order (most frequent first), so that
 * values new to the App get the same colours there and here.
 */
export function categoryColors(scheme, colorMap, fieldPath, categories, counts) {
  const configured = valueColorsFor(scheme, fieldPath);
  const order = categories.map((_, k) => k).sort((a, b) => counts[b] - counts[a] || (categories[a] < categories[b] ? -1 : 1));
  const out = new Array(categories.length);
  for (const k of order) {
    const name = categories[k];
    out[k] = configured.get(name) || (colorMap ? colorMap(name) : fallbackColor(scheme, name));
  }
  return out;
}

/** The scheme's `valueColors` that apply to `fieldPath`, as the App decides:
 * the entry of the field itself, or of its label field when the path's leaf is
 * the attribute that field is coloured by. */
function valueColorsFor(scheme, fieldPath) {
  const out = new Map();
  const fields = (scheme && scheme.fields) || [];
  const parts = (fieldPath || "").split(".");
  const leaf = parts[parts.length - 1];
  const entry =
    fields.find((f) => f.path === fieldPath) ||
    fields.find((f) => f.path === parts[0] && (f.colorByAttribute || "label") === leaf);
  for (const v of (entry && entry.valueColors) || []) if (v && v.color) out.set(String(v.value), v.color);
  return out;
}

function fallbackColor(scheme, value) {
  const pool = (scheme && scheme.colorPool && scheme.colorPool.length && scheme.colorPool) || DEFAULT_POOL;
  return pool[Math.abs(hashString(String(value))) % pool.length];
}

// a stable hash for the fallback colours (no App colour map readable)
export function hashString(str) {
  let hash = 0;
  for (let i = 0; i < str.length; i++) {
    hash = (hash << 5) - hash + str.charCodeAt(i);
    hash |= 0;
  }
  return hash;
}

export function rgbOf(color) {
  if (color.startsWith("#")) {
    const hex = color.length === 4 ? color.slice(1).replace(/./g, (c) => c + c) : color.slice(1, 7);
    return [0, 2, 4].map((k) => parseInt(hex.slice(k, k + 2), 16));
  }
  const m = color.match(/\d+(\.\d+)?/g) || [0, 0, 0];
  return m.slice(0, 3).map(Number);
}

// viridis at 9 stops (matplotlib), interpolated
const VIRIDIS = [
  [68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141],
  [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37],
];

/** [r, g, b] of t in [0, 1] on the viridis scale (1: the top, yellow). */
export function viridis(t) {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (VIRIDIS.length - 1);
  const k = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - k;
  return VIRIDIS[k].map((a, j) => Math.round(a + (VIRIDIS[k + 1][j] - a) * f));
}

export function viridisGradient() {
  return `linear-gradient(to right, ${VIRIDIS.map((c) => `rgb(${c.join(",")})`).join(", ")})`;
}
