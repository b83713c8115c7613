// Colours of "colour by": categories take the App's colour scheme (so a label
// has the same colour here as in the grid, the modal and the Embeddings
// panel); continuous values a viridis scale.

// FiftyOne's default colour pool (fiftyone.constants.DEFAULT_APP_COLOR_POOL),
// used when the App's scheme is not readable
export const DEFAULT_POOL = [
  "#ee0000", "#ee6600", "#993300", "#996633", "#999900", "#009900", "#003300",
  "#009999", "#000099", "#0066ff", "#6600ff", "#cc33cc", "#777799",
];

/** The App's colour of a label value, as the App computes it for colour by
 * value: the scheme's own colour for that value, else a pool colour picked by
 * a hash of the value shifted by the scheme's seed. */
export function categoryColor(scheme, fieldPath, value) {
  const pool = (scheme && scheme.colorPool && scheme.colorPool.length && scheme.colorPool) || DEFAULT_POOL;
  const fields = (scheme && scheme.fields) || [];
  const root = fieldPath ? fieldPath.split(".")[0] : null;
  const setting = fields.find((f) => f.path === fieldPath || f.path === root);
  if (setting && Array.isArray(setting.valueColors)) {
    const hit = setting.valueColors.find((v) => String(v.value) === String(value));
    if (hit && hit.color) return hit.color;
  }
  const seed = (scheme && Number(scheme.colorSeed)) || 0;
  return pool[Math.abs(hashString(String(value)) + seed) % pool.length];
}

// the App's string hash (@fiftyone/utilities getColor): Java's String.hashCode
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
