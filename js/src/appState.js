// What the panel reads of the App (selectors that survive App versions), and
// small helpers every part of the panel shares; no React components here.
import * as recoil from "recoil";
import * as fos from "@fiftyone/state";

export const BUTTON = {
  background: "#333",
  color: "#ddd",
  border: "1px solid #555",
  borderRadius: 4,
  padding: "2px 8px",
  cursor: "pointer",
  fontSize: 13,
};
// text lines above the canvas never wrap: a wrap would move the canvas under the pointer
export const ONE_LINE = { whiteSpace: "nowrap", overflow: "hidden", textOverflow: "ellipsis" };

// App state a plugin reads; names differ between App versions
// (read through selectors that give null where the App's own one throws, as
// its modal sample id does while no sample is open)
function readSafely(get, state) {
  if (!state) return null;
  try {
    return get(state);
  } catch (e) {
    if (e && typeof e.then === "function") throw e; // still loading
    return null;
  }
}
function safe(name, state) {
  return recoil.selector({ key: `gridtsne-safe-${name}`, get: ({ get }) => readSafely(get, state) });
}
export const MODAL_SAMPLE_ID = safe("modal-sample-id", fos.currentSampleId || fos.modalSampleId);
export const COLOR_SCHEME = safe("color-scheme", fos.colorScheme);
export const COLOR_MAP = safe("color-map", fos.colorMap);
// What a panel event's view is made of (the App's view, its sidebar filters,
// extended stages and saved view name), as one string that changes only when
// one of them really does.
export const VIEW_KEY = recoil.selector({
  key: "gridtsne-view-key",
  get: ({ get }) =>
    JSON.stringify([fos.view, fos.extendedStages, fos.filters, fos.viewName].map((state) => readSafely(get, state))),
});

// The App keeps its selected samples as a Map from sample id to selection
// type (FiftyOne >= 1.x; older Apps used a Set of ids) and its selected labels
// (objects) as an array of {labelId, sampleId, field, frameNumber}.
export function selectedIds(selected) {
  if (!selected) return [];
  if (Array.isArray(selected)) return selected.map((label) => label.labelId);
  return selected instanceof Map ? Array.from(selected.keys()) : Array.from(selected);
}

/** A new selection object equal to `selected` (the App sends a selection to
 * the Python session only when it is a new object). */
// the ids a selection holds, in one string that does not depend on their order
export function selectionKey(selected) {
  if (!selected) return "";
  const ids = selected instanceof Map ? Array.from(selected.keys()) : Array.from(selected);
  return ids.map(String).sort().join(",");
}

export function copySelection(selected) {
  if (Array.isArray(selected)) return selected.slice();
  return selected instanceof Map ? new Map(selected) : new Set(selected);
}

// the App's URL for a local file (honours a server path prefix / proxy)
export function mediaUrl(path, version) {
  const url = fos.getSampleSrc ? fos.getSampleSrc(path) : "/media?filepath=" + encodeURIComponent(path);
  // a re-gridded run rewrites the same files: the version defeats the browser cache
  return version ? url + (url.includes("?") ? "&" : "?") + "v=" + encodeURIComponent(version) : url;
}

/** The App's modal handles its keys (Escape closes it) in its looker, which
 * takes the focus only when the pointer enters it; a double-click in the
 * panel leaves the pointer wherever the cell was, so hand it the focus once
 * it is there, and again while the modal settles (it can mount its looker
 * anew, which drops the focus to the page) for a few seconds; never taking
 * it from anything but the page itself (a field the user clicked keeps it). */
export function focusModalLooker(deadline = performance.now() + 5000) {
  const looker = document.querySelector("[data-cy=modal-looker-container] [class*=looker]");
  const idle = !document.activeElement || document.activeElement === document.body;
  if (looker && typeof looker.focus === "function" && idle) {
    if (!looker.hasAttribute("tabindex")) looker.setAttribute("tabindex", "-1");
    looker.focus({ preventScroll: true });
  }
  if (performance.now() < deadline) setTimeout(() => focusModalLooker(deadline), 100);
}

/** A Map with a size limit: the oldest entries go first. */
export function lruGet(cache, key, make, limit) {
  let value = cache.get(key);
  if (value !== undefined) {
    cache.delete(key);
    cache.set(key, value);
    return value;
  }
  value = make();
  cache.set(key, value);
  while (cache.size > limit) {
    const [, old] = cache.entries().next().value;
    if (old && old.src !== undefined) old.src = "";
    cache.delete(cache.keys().next().value);
  }
  return value;
}

export function fmt(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "";
  const a = Math.abs(v);
  return a !== 0 && (a < 0.01 || a >= 1e5) ? v.toExponential(2) : String(Math.round(v * 1000) / 1000);
}
