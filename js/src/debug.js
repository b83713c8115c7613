// What tests and benchmarks read about the panel, kept out of its state.
//
// Timings are standard performance marks named "gridtsne:<what>" (read with
// performance.getEntriesByName). What a drawing showed is written onto the
// canvas's data attributes only when the page sets window.__GRIDTSNE_DEBUG__
// (tests/browser.py does, with an init script): users' drawings skip it.

const PREFIX = "gridtsne:";
const once = new Set();

export function mark(name) {
  performance.mark(PREFIX + name);
}

// the first time since the panel mounted (resetMarks)
export function markOnce(name) {
  if (once.has(name)) return;
  once.add(name);
  mark(name);
}

export function resetMarks() {
  once.clear();
  mark("mounted");
}

export const debugOn = () => Boolean(window.__GRIDTSNE_DEBUG__);

export function expose(element, facts) {
  if (element && debugOn()) Object.assign(element.dataset, facts);
}
