// The views the App is about to show, as soon as the page has them.
//
// A view set from Python reaches the page as a state update, which the App
// pushes into the browser's history with the view's stages right away, then
// loads the view's page and changes its view state only 0.4-0.8 s later (at
// 100,000 samples on 2 cores). The panel listens to those pushes so that it
// can work out the view's cells meanwhile.

const listeners = new Set();
let wrapped = false;

function wrap() {
  if (wrapped || typeof window === "undefined" || !window.history) return;
  wrapped = true;
  const push = window.history.pushState.bind(window.history);
  window.history.pushState = (state, title, url) => {
    const out = push(state, title, url);
    const view = state && state.usr && state.usr.view;
    if (Array.isArray(view)) {
      const path = decodeURIComponent(String(url || window.location.pathname));
      for (const listener of listeners) {
        try {
          listener({ stages: view, path });
        } catch (e) {
          console.error("gridtsne: a pushed view's listener failed", e); // never the App's push
        }
      }
    }
    return out;
  };
}

/** Calls `listener({stages, path})` for each view the App pushes; returns
 * the function that stops it. */
export function onPushedView(listener) {
  wrap();
  listeners.add(listener);
  return () => listeners.delete(listener);
}
