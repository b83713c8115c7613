// The cells a sidebar filter keeps, worked out in the browser from what the
// panel already holds, so that the dimming follows a filter at once; the
// server's mask (one MongoDB aggregation, answered behind the App's own
// queries) still comes and replaces it.
//
// Only filters whose effect on samples is certain from the values the panel
// has are predicted: label filters on a classification field's `label` that
// the panel colours by (FiftyOne's App server, fiftyone/server/view.py, turns
// them into a match on the label and a FilterLabels stage), on top of a view
// whose stages only choose samples. Anything else waits for the server.

import { decodeCodes, decodeFloat64, NO_CATEGORY } from "./cells.js";

// view stages that choose or order samples without changing their fields
const SAMPLE_STAGES = new Set(
  ["Exclude", "Exists", "Limit", "Match", "MatchTags", "Select", "SelectBy", "Shuffle", "Skip", "SortBy", "Take"].map(
    (s) => `fiftyone.core.stages.${s}`
  )
);

/** True when `stages` (the App's view, serialized) leave every field as it is. */
export function choosesSamplesOnly(stages) {
  return (stages || []).every((s) => s && SAMPLE_STAGES.has(s._cls));
}

/**
 * The cells `filters` keep among `base` (cells in the view without them), or
 * null when that cannot be known here.
 *
 * `coloring`: the panel's colour data ({field, kind, categories} and the
 * decoded `codes`, one per cell).
 */
export function predictFilters(filters, base, coloring) {
  const paths = Object.keys(filters || {});
  if (!paths.length || !base || !coloring || coloring.kind !== "categorical") return null;
  const out = Uint8Array.from(base);
  for (const path of paths) {
    const keep = labelFilter(path, filters[path], coloring);
    if (keep === null) return null;
    if (keep === true) continue;
    for (let c = 0; c < out.length; c++) if (out[c] && !keep(coloring.codes[c])) out[c] = 0;
  }
  return out;
}

// (code) => in view, true for "keeps every sample", or null: not predictable
function labelFilter(path, args, coloring) {
  if (!path.endsWith(".label") || path !== coloring.field || !args) return null;
  const values = args.values;
  if (!Array.isArray(values) || !values.length) return null;
  // "(other)" groups the rarest values: a value not named here may be among them
  const other = coloring.categories.indexOf("(other)");
  const known = new Map(coloring.categories.map((name, k) => [name, k]));
  const codes = new Set();
  for (const v of values) {
    if (typeof v !== "string" || v === "(other)") return null; // null: "no label"
    if (known.has(v)) codes.add(known.get(v));
    else if (other >= 0) return null;
    // else no cell has it
  }
  if (!args.exclude) return (code) => codes.has(code);
  // exclude without "matching": the App hides those labels but keeps the samples
  if (!args.isMatching) return true;
  return (code) => code === NO_CATEGORY || !codes.has(code);
}

/** Number of cells set in a 0/1 mask. */
export function countOf(mask) {
  let n = 0;
  for (let c = 0; c < mask.length; c++) n += mask[c];
  return n;
}

/** A short fingerprint of a 0/1 mask (FNV-1a over the set cells): the panel
 * checks a view it worked out against the server's with it, and tests compare
 * the masks the panel drew. */
export function maskHash(mask) {
  let h = 0x811c9dc5;
  for (let c = 0; c < mask.length; c++) {
    if (!mask[c]) continue;
    h ^= c & 0xff;
    h = Math.imul(h, 0x01000193);
    h ^= c >>> 8;
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16);
}

// -- views set from Python or the view bar -------------------------------------------

const UNKNOWN = Symbol("unknown"); // a value the panel cannot know for a cell
const NOT_HERE = new Error("not predictable here");
// the stages whose effect on which samples are in the view is worked out here;
// those that only order samples leave it as it is
const ORDER_ONLY = new Set(["fiftyone.core.stages.SortBy", "fiftyone.core.stages.Shuffle"]);

/**
 * The cells a view (its serialized stages) keeps, or null when that cannot be
 * known here (yet): `Match` on an expression of numeric or string fields
 * (`F("score") < 0.5`, `F("gt.label").is_in([...])`, and/or/not of those),
 * `Select` and `Exclude` of sample ids, `Exists`, and stages that only order.
 *
 * `run`: {occupied, cellOf(id), column(path)}: `column` gives a field's
 * per-cell values ({kind: "continuous", values: Float64Array, nulls} or
 * {kind: "categorical", codes, categories}), undefined while not loaded (the
 * path is then added to `run.need`) or null when it cannot be had.
 */
export function predictView(stages, run) {
  try {
    return narrowed(stages, run);
  } catch (e) {
    if (e === NOT_HERE) return null;
    throw e;
  }
}

function narrowed(stages, run) {
  const out = Uint8Array.from(run.occupied);
  for (const stage of stages || []) {
    if (!stage || ORDER_ONLY.has(stage._cls)) continue;
    const kwargs = Object.fromEntries(stage.kwargs || []);
    const keep = stageFilter(stage._cls, kwargs, run);
    if (!keep) return null;
    for (let c = 0; c < out.length; c++) {
      if (!out[c]) continue;
      const k = keep(c);
      if (k === UNKNOWN) return null;
      if (!k) out[c] = 0;
    }
  }
  return out;
}

// (cell) => true, false or UNKNOWN; null when the stage is not predictable
function stageFilter(cls, kwargs, run) {
  const name = cls.replace("fiftyone.core.stages.", "");
  if (name === "Select" || name === "Exclude") {
    const ids = kwargs.sample_ids;
    if (!Array.isArray(ids)) return null;
    const chosen = new Set();
    for (const id of ids) {
      const c = run.cellOf(String(id));
      if (c !== undefined) chosen.add(c);
    }
    return name === "Select" ? (c) => chosen.has(c) : (c) => !chosen.has(c);
  }
  if (name === "Exists") {
    const col = columnOf(kwargs.field, run);
    if (!col || col.kind !== "continuous") return null;
    const want = kwargs.bool !== false;
    return (c) => (col.isNull(c) ? !want : want);
  }
  if (name === "Match") {
    const filter = kwargs.filter;
    if (!filter || typeof filter !== "object" || Object.keys(filter).length !== 1 || !("$expr" in filter)) {
      return null; // query documents have other semantics for missing values; left to the server
    }
    const expr = compile(filter.$expr, run);
    if (!expr) return null;
    return (c) => {
      const v = expr(c);
      return v === UNKNOWN ? UNKNOWN : truthy(v);
    };
  }
  return null;
}

function columnOf(path, run) {
  if (typeof path !== "string" || !path) throw NOT_HERE;
  const col = run.column(path);
  if (col === undefined) {
    run.need.add(path);
    return undefined;
  }
  if (col === null) throw NOT_HERE;
  return col;
}

// A MongoDB aggregation expression -> (cell) => value; null while a column
// is being fetched. Missing and null field values are UNKNOWN: comparisons
// order them before numbers, and whether a missing field counts as null
// depends on the operator.
function compile(e, run) {
  if (typeof e === "number" || typeof e === "boolean" || e === null) return () => e;
  if (typeof e === "string") {
    if (!e.startsWith("$")) return () => e;
    const col = columnOf(e.slice(1), run);
    if (!col) return null;
    if (col.kind === "continuous") return (c) => (col.isNull(c) ? UNKNOWN : col.values[c]);
    return (c) => col.valueAt(c);
  }
  if (Array.isArray(e) || typeof e !== "object") throw NOT_HERE;
  const ops = Object.keys(e);
  if (ops.length !== 1) throw NOT_HERE;
  const op = ops[0];
  const arg = e[op];
  if (op === "$literal") return () => arg;
  const args = Array.isArray(arg) ? arg : [arg];
  if (op === "$in") {
    const [value, list] = args;
    if (!Array.isArray(list) || list.some((v) => v !== null && typeof v === "object")) throw NOT_HERE;
    const f = compile(value, run);
    if (!f) return null;
    return (c) => {
      const v = f(c);
      return v === UNKNOWN ? UNKNOWN : list.some((w) => compareBson(v, w) === 0);
    };
  }
  const parts = args.map((a) => compile(a, run));
  if (parts.some((p) => !p)) return null;
  switch (op) {
    case "$and":
    case "$or": {
      // one false settles $and, one true $or, whatever the others are
      const settles = op === "$or";
      return (c) => {
        let unknown = false;
        for (const p of parts) {
          const v = p(c);
          if (v === UNKNOWN) unknown = true;
          else if (truthy(v) === settles) return settles;
        }
        return unknown ? UNKNOWN : !settles;
      };
    }
    case "$not":
      if (parts.length !== 1) throw NOT_HERE;
      return (c) => {
        const v = parts[0](c);
        return v === UNKNOWN ? UNKNOWN : !truthy(v);
      };
    case "$eq":
    case "$ne":
    case "$gt":
    case "$gte":
    case "$lt":
    case "$lte": {
      if (parts.length !== 2) throw NOT_HERE;
      const [a, b] = parts;
      const test = { $eq: (d) => d === 0, $ne: (d) => d !== 0, $gt: (d) => d > 0, $gte: (d) => d >= 0, $lt: (d) => d < 0, $lte: (d) => d <= 0 }[op];
      return (c) => {
        const x = a(c);
        const y = b(c);
        return x === UNKNOWN || y === UNKNOWN ? UNKNOWN : test(compareBson(x, y));
      };
    }
    default:
      throw NOT_HERE;
  }
}

// MongoDB's order of values of different types: null, numbers, strings, booleans
const TYPE_RANK = { object: 1, number: 2, string: 3, boolean: 8 };

function compareBson(x, y) {
  const rx = TYPE_RANK[typeof x];
  const ry = TYPE_RANK[typeof y];
  if (rx === undefined || ry === undefined || (typeof x === "object" && x !== null) || (typeof y === "object" && y !== null)) {
    throw NOT_HERE;
  }
  if (rx !== ry) return rx < ry ? -1 : 1;
  if (x === y) return 0;
  if (typeof x === "number" && (Number.isNaN(x) || Number.isNaN(y))) throw NOT_HERE;
  // MongoDB orders strings by their UTF-8 bytes, JavaScript by UTF-16 units:
  // the same order unless a string holds characters beyond U+FFFF
  if (typeof x === "string" && (/[\uD800-\uDFFF]/.test(x) || /[\uD800-\uDFFF]/.test(y))) throw NOT_HERE;
  return x < y ? -1 : 1;
}

// what $expr makes of a value: false, null, 0 and missing are false
function truthy(v) {
  return !(v === false || v === null || v === 0 || v === undefined);
}

/** A column as the panel sends it (gridtsne/fo/panel_data.py, column_values)
 * -> what predictView reads. */
export function columnFrom(payload) {
  if (payload.kind === "continuous") {
    const values = decodeFloat64(payload.values);
    return { kind: "continuous", values, isNull: (c) => Number.isNaN(values[c]) };
  }
  const codes = decodeCodes(payload.codes);
  const names = payload.categories.map((name) => (name === "(other)" ? UNKNOWN : name));
  return { kind: "categorical", valueAt: (c) => (codes[c] === NO_CATEGORY ? UNKNOWN : names[codes[c]]) };
}
