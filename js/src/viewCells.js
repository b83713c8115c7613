// Which cells are in the App's view, for the grid_mosaic panel to dim the rest.
//
// The server's bitmask for the view it was asked about (its `key`) is the
// answer; until it comes, the cells the browser can work out itself
// (predict.js) from the values it holds: of a view the App has only pushed
// into the history so far (a view set from Python, appHistory.js), of the
// App's view state, of sidebar filters on the label the panel colours by.
import { useEffect, useMemo, useRef, useState } from "react";

import { onPushedView } from "./appHistory";
import { decodeMask } from "./cells";
import { mark } from "./debug";
import { choosesSamplesOnly, columnFrom, countOf, maskHash, predictFilters, predictView } from "./predict";

// a view the panel worked out itself is checked with the server this much later,
// unless another view came meanwhile: the check's aggregation would otherwise run
// on the App server while the App loads that next view
const CONFIRM_MS = 1000;
const BASE_MASKS = 8; // views without sidebar filters whose masks are kept

const hasKeys = (o) => Boolean(o && Object.keys(o).length);

/**
 * `viewKey`: JSON of the App's [view stages, extended stages, sidebar
 * filters, view name]; `data`: the panel's data (`in_view`, `columns`);
 * `colorData` and `codes`: the colour-by payload and its decoded codes.
 *
 * Returns {shownView: {key, mask, count, hash, source} or null, inViewHash,
 * columns, askView(key)}: `source` is "server" or "predicted"; `askView`
 * asks the server for a view's cells (later, when the panel worked them out).
 */
export function useViewCells({ data, version, nCells, cells, items, viewKey, datasetName, colorData, codes, trigger }) {
  const serverView = data.in_view && data.in_view.version === version ? data.in_view : null;
  const serverMask = useMemo(
    () => (serverView && nCells ? decodeMask(serverView.mask, nCells) : null),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [serverView && serverView.mask, nCells]
  );
  const serverHash = useMemo(() => (serverMask ? maskHash(serverMask) : ""), [serverMask]);

  // masks of views without sidebar filters, which filters then narrow
  const baseMasks = useRef(new Map());
  // fields' values per cell, as the views tested them (path -> column, or null)
  const [columns, setColumns] = useState(() => new Map());
  const columnsAsked = useRef(new Set());
  // views the panel worked out: view key -> hash of its mask, to check the server's against
  const workedOut = useRef(new Map());
  // what the panel holds of a run's values, dropped for another run version
  // or when the server contradicts a view worked out from them
  const forget = () => {
    workedOut.current = new Map();
    baseMasks.current = new Map();
    columnsAsked.current = new Set();
    setColumns(new Map());
  };
  useEffect(forget, [version]);
  // (each answer once: the App hands the panel its data again with every
  // other update, and decoding 1,000,000 values again each time, or an answer
  // dropped since coming back, would cost)
  const columnsApplied = useRef(null);
  useEffect(() => {
    const got = data.columns;
    if (!got || got.version !== version || !got.columns || got.answer === columnsApplied.current) return;
    columnsApplied.current = got.answer;
    setColumns((old) => {
      const next = new Map(old);
      for (const [path, payload] of Object.entries(got.columns)) next.set(path, payload ? columnFrom(payload) : null);
      return next;
    });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [data.columns]);
  useEffect(() => {
    if (!serverMask || !serverView.key) return;
    const [stages, extended, filters, name] = JSON.parse(serverView.key);
    if (hasKeys(filters)) return;
    const masks = baseMasks.current;
    const base = JSON.stringify([stages, extended, name]);
    masks.delete(base);
    masks.set(base, serverMask);
    while (masks.size > BASE_MASKS) masks.delete(masks.keys().next().value);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [serverMask]);

  // a view pushed into the history, before the App loads it (a view set from
  // Python); pushes of the view it already shows (opening a sample) are not news
  const [pushed, setPushed] = useState(null);
  const viewKeyRef = useRef(viewKey);
  viewKeyRef.current = viewKey;
  const pushedRef = useRef(pushed);
  pushedRef.current = pushed;
  useEffect(
    () =>
      onPushedView(({ stages, path }) => {
        const key = viewKeyRef.current;
        if (!key || !datasetName || !path.includes(`/datasets/${datasetName}`)) return;
        const [now, extended, filters] = JSON.parse(key);
        if (JSON.stringify(now || []) === JSON.stringify(stages) || hasKeys(filters) || hasKeys(extended)) return;
        setPushed({ stages, before: key });
        mark("viewPushed");
      }),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [datasetName]
  );
  // a push is news until the App's view state moves off the view it was
  // pushed from; kept after that, it would come back as the target when the
  // App returns to that view without a push of its own (session.view = None)
  useEffect(() => {
    if (viewKey !== null) setPushed((p) => (p && p.before !== viewKey ? null : p));
  }, [viewKey]);
  // the newest view the panel knows the App shows or is about to show: one it
  // pushed while its view state has not changed since, else its view state
  // once that has changed at all (the view the panel opened on comes with the run)
  const opened = useRef({ on: null, moved: false });
  if (viewKey !== null) {
    if (opened.current.on === null) opened.current.on = viewKey;
    else if (viewKey !== opened.current.on) opened.current.moved = true;
  }
  const target = useMemo(() => {
    if (pushed && pushed.before === viewKey) return { stages: pushed.stages, pushed: true };
    return viewKey && opened.current.moved ? { key: viewKey } : null;
  }, [pushed, viewKey]);

  const coloring = useMemo(
    () =>
      colorData && colorData.kind === "categorical" && codes
        ? { field: colorData.field, kind: "categorical", categories: colorData.categories, codes }
        : null,
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [codes, colorData && colorData.field]
  );
  const [predicted, needed] = useMemo(() => {
    if (!cells || !target || items !== "samples") return [null, []];
    const run = {
      occupied: cells.occupied,
      cellOf: cells.cellOf,
      column: (path) => (columns.has(path) ? columns.get(path) : undefined),
      need: new Set(),
    };
    let mask = null;
    if (target.pushed) {
      mask = predictView(target.stages, run);
    } else {
      const [stages, extended, filters, name] = JSON.parse(target.key);
      if (!hasKeys(extended)) {
        if (!hasKeys(filters)) mask = predictView(stages, run);
        else if (choosesSamplesOnly(stages)) {
          const base = stages && stages.length ? baseMasks.current.get(JSON.stringify([stages, extended, name])) : cells.occupied;
          mask = predictFilters(filters, base, coloring);
        }
      }
    }
    const key = target.pushed ? null : target.key;
    return [mask && { key, mask, count: countOf(mask), hash: maskHash(mask), source: "predicted" }, Array.from(run.need)];
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [target, cells, columns, coloring, items, version]);
  const predictedRef = useRef(predicted);
  predictedRef.current = predicted;
  // fields a view tests whose values the panel does not have yet: ask once
  useEffect(() => {
    const fields = needed.filter((f) => !columnsAsked.current.has(f));
    if (!fields.length) return;
    fields.forEach((f) => columnsAsked.current.add(f));
    trigger("on_columns", { fields });
  }, [needed, trigger]);

  const shownView = useMemo(() => {
    const server = serverMask && { key: serverView.key, mask: serverMask, count: serverView.count, hash: serverHash, source: "server" };
    const pushedAhead = target && target.pushed;
    if (server && !pushedAhead && (!server.key || server.key === viewKey)) return server;
    return predicted || server;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [serverMask, serverHash, predicted, viewKey, target]);
  const inViewHash = shownView ? shownView.hash : "";
  // The server's mask of a view the panel worked out differs: the values it
  // holds are older than the dataset (edited since). Drop them, and the
  // colours, so that the next views are worked out from fresh ones.
  useEffect(() => {
    if (predicted && predicted.key) workedOut.current.set(predicted.key, predicted.hash);
    while (workedOut.current.size > BASE_MASKS) workedOut.current.delete(workedOut.current.keys().next().value);
  }, [predicted]);
  useEffect(() => {
    if (!serverMask || !serverView.key || !workedOut.current.has(serverView.key)) return;
    if (workedOut.current.get(serverView.key) === serverHash) return;
    forget();
    if (colorData && colorData.field) trigger("on_color_by", { field: colorData.field });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [serverMask]);

  const askView = (key) => {
    const ask = () => trigger("on_view", { key });
    const mine = predictedRef.current;
    if (!(mine && mine.key === key)) return ask();
    setTimeout(() => {
      const push = pushedRef.current;
      if (viewKeyRef.current === key && !(push && push.before === key)) ask();
    }, CONFIRM_MS);
  };
  return { shownView, inViewHash, columns, askView };
}
