// The grid_mosaic panel's view: a canvas mosaic that pans and zooms on the
// client, loads Deep Zoom tiles (or, zoomed further, the images themselves)
// lazily, colours cells by any field, and reads/writes the App's selection
// directly (no round trip to Python).
//
// The Python panel supplies, as panel data: the run (`grid`, with the URL of
// its binary cell file), the cells in the current view (`in_view`, a bitmask),
// the values of the "colour by" field (`color`) and, on request, names and
// file paths of cells (`info`). Everything is indexed by grid cell.
import React, { useCallback, useEffect, useMemo, useRef, useState } from "react";
import * as recoil from "recoil";
import * as fos from "@fiftyone/state";
import { usePanelEvent } from "@fiftyone/operators";
import { usePanelId } from "@fiftyone/spaces";
import { decodeCodes, decodeValues, fetchCells, NO_CATEGORY } from "./cells";
import { categoryColors, rgbOf, viridis, viridisGradient } from "./colors";
import { useViewCells } from "./viewCells";
import {
  BORDER_FROM_PX,
  draw,
  drawBorders,
  drawCurrent,
  drawSelected,
  drawSharp,
  fillSelected,
  fitView,
  hit,
  inPolygon,
  overlayCanvas,
  resizeView,
  visibleCells,
  zoomAt,
} from "./viewer";

const { useRecoilState, useRecoilValue } = recoil;
const HEIGHT = 560;
const MAX_TILES = 400; // tiles kept in memory
const MAX_SHARP = 300; // visible cells up to which full images are drawn
const MAX_IMAGES = 600; // full images kept in memory
const POLL_MS = 2000; // run list refresh while a run is queued or running
const ASK_AGAIN_MS = 3000; // a cell's info not come by then is asked for again
const BUTTON = {
  background: "#333",
  color: "#ddd",
  border: "1px solid #555",
  borderRadius: 4,
  padding: "2px 8px",
  cursor: "pointer",
  fontSize: 13,
};
// text lines above the canvas never wrap: a wrap would move the canvas under the pointer
const ONE_LINE = { whiteSpace: "nowrap", overflow: "hidden", textOverflow: "ellipsis" };

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
const MODAL_SAMPLE_ID = safe("modal-sample-id", fos.currentSampleId || fos.modalSampleId);
const COLOR_SCHEME = safe("color-scheme", fos.colorScheme);
const COLOR_MAP = safe("color-map", fos.colorMap);
// What a panel event's view is made of (the App's view, its sidebar filters,
// extended stages and saved view name), as one string that changes only when
// one of them really does.
const VIEW_KEY = recoil.selector({
  key: "gridtsne-view-key",
  get: ({ get }) =>
    JSON.stringify([fos.view, fos.extendedStages, fos.filters, fos.viewName].map((state) => readSafely(get, state))),
});

// The App keeps its selected samples as a Map from sample id to selection
// type (FiftyOne >= 1.x; older Apps used a Set of ids) and its selected labels
// (objects) as an array of {labelId, sampleId, field, frameNumber}.
function selectedIds(selected) {
  if (!selected) return [];
  if (Array.isArray(selected)) return selected.map((label) => label.labelId);
  return selected instanceof Map ? Array.from(selected.keys()) : Array.from(selected);
}

// the App's URL for a local file (honours a server path prefix / proxy)
function mediaUrl(path, version) {
  const url = fos.getSampleSrc ? fos.getSampleSrc(path) : "/media?filepath=" + encodeURIComponent(path);
  // a re-gridded run rewrites the same files: the version defeats the browser cache
  return version ? url + (url.includes("?") ? "&" : "?") + "v=" + encodeURIComponent(version) : url;
}

/** The App's modal handles its keys (Escape closes it) in its looker, which
 * takes the focus only when the pointer enters it; a double-click in the
 * panel leaves the pointer wherever the cell was, so hand it the focus once
 * it is there. */
function focusModalLooker(deadline = performance.now() + 10000) {
  const looker = document.querySelector("[data-cy=modal-looker-container] [class*=looker]");
  if (looker && typeof looker.focus === "function") {
    if (!looker.hasAttribute("tabindex")) looker.setAttribute("tabindex", "-1");
    looker.focus({ preventScroll: true });
    if (document.activeElement === looker) return;
  }
  if (performance.now() < deadline) setTimeout(() => focusModalLooker(deadline), 100);
}

/** A Map with a size limit: the oldest entries go first. */
function lruGet(cache, key, make, limit) {
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

function fmt(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "";
  const a = Math.abs(v);
  return a !== 0 && (a < 0.01 || a >= 1e5) ? v.toExponential(2) : String(Math.round(v * 1000) / 1000);
}

export default function GridMosaicView(props) {
  const { data = {}, schema = {} } = props;
  const callbacks = schema.view || {};
  const { keys = [], key, pending = [] } = data;
  const grid = data.grid || null;
  const panelId = usePanelId();
  const triggerEvent = usePanelEvent();
  // a run of objects (patches) selects labels in the App; others select samples
  const objects = Boolean(grid && grid.items === "labels");
  const [appSamples, setAppSamples] = useRecoilState(fos.selectedSamples);
  const [appLabels, setAppLabels] = useRecoilState(fos.selectedLabels);
  const appSelected = objects ? appLabels : appSamples;
  const setAppSelected = objects ? setAppLabels : setAppSamples;
  const modalSampleId = useRecoilValue(MODAL_SAMPLE_ID);
  const colorScheme = useRecoilValue(COLOR_SCHEME);
  const colorMap = useRecoilValue(COLOR_MAP);
  // A click sets the App's selection at once, in the same render as the
  // panel's own drawing of it (handing it over after the panel had painted
  // cost the App a frame and a timer: 42-55 ms to the App's selection at
  // 100,000 cells instead of 20). Selection changes redraw only the selected
  // cells.
  const selected = appSelected;
  const setSelected = setAppSelected;
  const [mode, setMode] = useState("pan");
  const [hover, setHover] = useState(null);
  const [size, setSize] = useState({ width: 640, height: HEIGHT });
  const [lastMs, setLastMs] = useState(null);
  const [cells, setCells] = useState(null);
  const [cellsError, setCellsError] = useState(null);
  const [hiddenCats, setHiddenCats] = useState(() => new Set());
  const [range, setRange] = useState(null);
  const [info, setInfo] = useState(() => new Map());
  const canvasRef = useRef(null);
  const boxRef = useRef(null);
  const viewRef = useRef(null);
  const sizeRef = useRef(size);
  const dragRef = useRef(null);
  const tileCache = useRef(new Map());
  const imageCache = useRef(new Map());
  const asked = useRef(new Map()); // cell -> when its info was asked for
  const frame = useRef(0);
  const redrawRef = useRef(() => {});
  const [drawnView, setDrawnView] = useState(0);

  const trigger = useCallback(
    (name, params) => {
      if (callbacks[name]) triggerEvent(panelId, { operator: callbacks[name], params });
    },
    [callbacks, panelId, triggerEvent]
  );
  const appDataset = useRecoilValue(fos.dataset);
  const viewLoadable = recoil.useRecoilValueLoadable(VIEW_KEY);
  const viewKey = viewLoadable.state === "hasValue" ? viewLoadable.contents : null;
  // runs queued or running: look again every few seconds until they are done
  useEffect(() => {
    if (!pending.length) return undefined;
    const timer = setInterval(() => trigger("on_refresh", {}), POLL_MS);
    return () => clearInterval(timer);
  }, [pending.length, trigger]);

  // when things arrived (performance.now()), for benchmarks/bench_panel.py
  const marks = useRef(null);
  if (!marks.current) marks.current = window.__gridtsneMarks = { mounted: performance.now() };
  if (grid && !marks.current.grid) marks.current.grid = performance.now();

  // the run's cells: one binary file per run version
  const version = grid ? grid.version : null;
  useEffect(() => {
    setCells(null);
    setCellsError(null);
    setInfo(new Map());
    asked.current = new Map();
    if (!grid) return undefined;
    let live = true;
    fetchCells(mediaUrl(grid.cells_path, grid.version), grid.rows * grid.cols, objects)
      .then((c) => {
        if (!live) return;
        marks.current.cells = performance.now();
        setCells(c);
        // the id -> cell map the App's selection is read through, built while idle
        (window.requestIdleCallback || setTimeout)(() => c.cellOf(""));
      })
      .catch((e) => live && setCellsError(String(e)));
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [grid && grid.cells_path, version]);
  const ready = Boolean(grid && cells);
  const nCells = grid ? grid.rows * grid.cols : 0;

  // names, labels and paths arrive on request (hover, sharp zoom)
  useEffect(() => {
    const got = data.info;
    if (!got || got.version !== version || !got.cells) return;
    setInfo((old) => {
      const next = new Map(old);
      for (const [cell, value] of Object.entries(got.cells)) next.set(Number(cell), value);
      return next;
    });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [data.info]);
  // (asked again after a while: a request can be dropped while the panel
  // changes run or dataset; the redraw after that while asks for what the
  // canvas still lacks, even if nothing else happens meanwhile)
  const askInfo = useCallback(
    (wanted) => {
      const now = performance.now();
      const missing = wanted.filter((c) => !(now - (asked.current.get(c) || -1e9) < ASK_AGAIN_MS));
      if (!missing.length) return;
      missing.forEach((c) => asked.current.set(c, now));
      trigger("on_cells_info", { cells: missing, version });
      setTimeout(() => redrawRef.current(), ASK_AGAIN_MS + 100);
    },
    [trigger, version]
  );

  // colour by
  const colorData = data.color && data.color.version === version ? data.color : null;
  const colorField = colorData ? colorData.field : null;
  useEffect(() => {
    setHiddenCats(new Set());
    setRange(colorData && colorData.kind === "continuous" ? [colorData.min, colorData.max] : null);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [colorField, colorData && colorData.min, colorData && colorData.max, version]);
  // Keyed by content, not by object: the App hands the panel a new data object
  // on every update (a hovered cell's name arriving, say), and decoding the
  // values and filling the layers of 100,000 cells took ~60 ms of each click.
  const continuous = Boolean(colorData && colorData.kind === "continuous");
  const colorPayload = colorData && colorData.field ? (continuous ? colorData.values : colorData.codes) : null;
  const decoded = useMemo(
    () => (colorPayload == null ? null : continuous ? decodeValues(colorPayload) : decodeCodes(colorPayload)),
    [colorPayload, continuous]
  );
  const colors =
    colorData && colorData.field && !continuous
      ? categoryColors(
          colorScheme,
          colorMap,
          grid && objects ? `${grid.field}.${colorData.field}` : colorData.field,
          colorData.categories,
          colorData.counts
        )
      : null;
  const colorsKey = colors ? colors.join(" ") : "";
  const coloring = useMemo(() => {
    if (!decoded || !nCells) return null;
    if (continuous) return { kind: "continuous", values: decoded };
    return { kind: "categorical", codes: decoded, colors, rgb: colors.map(rgbOf) };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [decoded, colorsKey, nCells]);

  // the cells in the App's view (viewCells.js), and asking the server for them
  const { shownView, inViewHash, columns, askView } = useViewCells({
    data, version, nCells, cells, items: grid ? grid.items : null, viewKey,
    datasetName: appDataset ? appDataset.name : null, colorData, codes: decoded, trigger, marks,
  });
  const inView = shownView ? shownView.mask : null;
  // A new view or sidebar filter: ask for its cells as soon as the App has it.
  // (The App's own on_change_view comes later, after its grid queries, and
  // three times per change: once each for its view, filters and extended stages.)
  // The plugin's operators reload the App's dataset when they add, change or
  // delete a run: look again then, so the run list follows without ↻. The App
  // also makes a new dataset object with every view, which is not a reason.
  const seen = useRef({ dataset: null, viewKey: null });
  useEffect(() => {
    const was = seen.current;
    const sameDataset = was.dataset && appDataset && was.dataset.name === appDataset.name;
    if (sameDataset && viewKey !== null && was.viewKey !== null && viewKey !== was.viewKey) {
      askView(viewKey);
      if (marks.current) marks.current.viewAsked = performance.now();
    } else if (sameDataset && was.dataset !== appDataset) {
      trigger("on_refresh", {});
    }
    if (viewKey !== null) was.viewKey = viewKey;
    was.dataset = appDataset;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [appDataset, viewKey]);
  // per cell: RGBA of its colour (alpha 0: none), and whether it is hidden
  const layers = useMemo(() => {
    if (!coloring || !cells) return { fill: null, hidden: null, nHidden: 0 };
    const fill = new Uint8ClampedArray(nCells * 4);
    const hidden = new Uint8Array(nCells);
    const [lo, hi] = range || [0, 1];
    const span = hi > lo ? hi - lo : 1;
    for (let c = 0; c < nCells; c++) {
      if (!cells.occupied[c]) continue;
      let rgb = null;
      if (coloring.kind === "categorical") {
        const code = coloring.codes[c];
        if (code !== NO_CATEGORY) {
          if (hiddenCats.has(code)) hidden[c] = 1;
          rgb = coloring.rgb[code];
        }
      } else {
        const v = coloring.values[c];
        if (Number.isFinite(v)) {
          if (range && (v < lo || v > hi)) hidden[c] = 1;
          rgb = viridis((v - lo) / span);
        }
      }
      if (rgb) {
        fill.set(rgb, c * 4);
        fill[c * 4 + 3] = 255;
      }
    }
    return { fill, hidden, nHidden: hidden.reduce((a, b) => a + b, 0) };
  }, [coloring, cells, nCells, hiddenCats, range]);
  const colorOf = useCallback(
    (c) => {
      const f = layers.fill;
      if (!f || !f[c * 4 + 3] || (layers.hidden && layers.hidden[c])) return null;
      return `rgb(${f[c * 4]},${f[c * 4 + 1]},${f[c * 4 + 2]})`;
    },
    [layers]
  );

  // the App's selection, and the sample open in the modal, as cells
  const selectedCells = useMemo(() => {
    if (!cells) return [];
    const out = [];
    for (const id of selectedIds(selected)) {
      const c = cells.cellOf(id);
      if (c !== undefined) out.push(c);
    }
    return out;
  }, [selected, cells]);
  // the name of a single selected cell
  useEffect(() => {
    if (selectedCells.length === 1) askInfo([selectedCells[0]]);
  }, [selectedCells, askInfo]);
  // the sample open in the modal (on a run of objects: its objects)
  const currentCells = useMemo(() => {
    if (!cells || !modalSampleId) return [];
    if (objects) return cells.cellsOfSample(modalSampleId);
    const c = cells.cellOf(modalSampleId);
    return c === undefined ? [] : [c];
  }, [cells, modalSampleId, objects]);

  // Colours are fills while cells are small, borders once they are large
  // enough: two overlays, picked at draw time.
  const overlays = useMemo(() => {
    if (!ready) return null;
    const state = { hidden: layers.hidden, inView };
    return {
      filled: overlayCanvas(grid.rows, grid.cols, cells.occupied, { ...state, fill: layers.fill }),
      plain: layers.fill ? overlayCanvas(grid.rows, grid.cols, cells.occupied, state) : null,
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [ready, layers, inView]);
  const overview = useMemo(() => {
    if (!grid) return null;
    const img = new Image();
    img.onload = () => redrawRef.current();
    img.src = mediaUrl(grid.mosaic_path, grid.version);
    return img;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [grid && grid.mosaic_path, version]);

  const getTile = useCallback(
    (lv, tx, ty) => {
      const t = grid.tiles;
      return lruGet(
        tileCache.current,
        `${lv}/${tx}_${ty}`,
        () => {
          const img = new Image();
          img.onload = () => redrawRef.current();
          img.src = mediaUrl(`${t.files_dir}/${lv}/${tx}_${ty}.jpg`, grid.version);
          return img;
        },
        MAX_TILES
      );
    },
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [grid]
  );
  // a cell's own image once zoomed past the mosaic's pixels
  const sharpImage = useCallback(
    (cell) => {
      const it = info.get(cell);
      if (!it || !it.filepath) return null;
      const img = lruGet(
        imageCache.current,
        it.filepath,
        () => {
          const im = new Image();
          im.onload = () => redrawRef.current();
          // an image that cannot load is left to the mosaic's pixels
          im.onerror = () => {
            im.failed = true;
            redrawRef.current();
          };
          im.src = mediaUrl(it.filepath);
          return im;
        },
        MAX_IMAGES
      );
      if (img.failed) return { skip: true };
      return img.complete && img.naturalWidth ? { img, box: it.box } : null;
    },
    [info]
  );

  const redraw = useCallback(() => {
    cancelAnimationFrame(frame.current);
    frame.current = requestAnimationFrame(() => {
      const canvas = canvasRef.current;
      const view = viewRef.current;
      if (!canvas || !ready || !view) return;
      const t0 = performance.now();
      const ctx = canvas.getContext("2d");
      const { width, height } = canvas;
      const big = view.scale >= BORDER_FROM_PX;
      const vis = visibleCells(view, grid.rows, grid.cols, width, height);
      const visible = [];
      if (big) {
        for (let r = vis.r0; r <= vis.r1; r++) {
          for (let c = vis.c0; c <= vis.c1; c++) {
            const cell = r * grid.cols + c;
            if (cells.occupied[cell]) visible.push(cell);
          }
        }
      }
      // past the pixels the mosaic has per cell, draw the images themselves
      const sourcePx = grid.tiles ? grid.cell_px : overview && overview.naturalWidth / grid.cols;
      const dpr = window.devicePixelRatio || 1;
      const sharp = big && visible.length <= MAX_SHARP && view.scale * dpr > (sourcePx || 64) * 1.25;
      if (sharp) askInfo(visible.filter((c) => !info.has(c)));
      const overlay = big && overlays.plain ? overlays.plain : overlays.filled;
      const loading = draw(ctx, width, height, view, grid, overview, overlay, getTile, () =>
        sharp ? drawSharp(ctx, view, grid.cols, visible, sharpImage) : 0
      );
      if (big) {
        drawBorders(ctx, view, grid.cols, visible, colorOf);
        const shown = new Set(visible);
        drawSelected(ctx, view, grid.cols, selectedCells.filter((c) => shown.has(c)));
      } else {
        fillSelected(ctx, view, grid.cols, selectedCells, layers.hidden);
      }
      for (const c of currentCells) drawCurrent(ctx, view, grid.cols, c);
      canvas.dataset.tilesLoading = String(loading);
      canvas.dataset.scale = String(view.scale);
      canvas.dataset.sharp = String(sharp);
      // what this drawing shows, for tests and benchmarks to wait on
      const inViewDrawn = shownView ? String(shownView.count) : "";
      if (canvas.dataset.inViewDrawn !== inViewDrawn) marks.current.viewDrawn = performance.now();
      canvas.dataset.inViewDrawn = inViewDrawn;
      canvas.dataset.inViewSource = shownView ? shownView.source : "";
      canvas.dataset.inViewHash = inViewHash;
      canvas.dataset.columns = Array.from(columns.keys()).join(",");
      canvas.dataset.selectedDrawn = selectedCells.slice(0, 8).join(",");
      canvas.dataset.hiddenDrawn = String(layers.nHidden);
      canvas.dataset.colorDrawn = (coloring && colorField) || "";
      setLastMs(performance.now() - t0);
      if (!marks.current.drawn && overview && overview.naturalWidth) marks.current.drawn = performance.now();
      setDrawnView((n) => n + 1);
    });
  }, [ready, grid, cells, overview, overlays, getTile, sharpImage, info, askInfo, colorOf, selectedCells, currentCells, shownView, inViewHash, columns, layers, coloring, colorField]);
  redrawRef.current = redraw;

  // size the canvas to the panel's width; a new size keeps the zoom
  useEffect(() => {
    const box = boxRef.current;
    if (!box) return undefined;
    const observer = new ResizeObserver(() => {
      const width = Math.max(200, Math.floor(box.clientWidth));
      setSize((s) => (s.width === width ? s : { width, height: HEIGHT }));
    });
    observer.observe(box);
    return () => observer.disconnect();
  }, [Boolean(grid)]);
  // until the user zooms or pans, the view is the fit of whatever size the
  // panel has; after that, a new size keeps their zoom around the centre
  const userMoved = useRef(false);
  useEffect(() => {
    viewRef.current =
      grid && !userMoved.current
        ? fitView(size.width, size.height, grid.rows, grid.cols)
        : resizeView(viewRef.current, sizeRef.current, size);
    sizeRef.current = size;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [size]);
  useEffect(() => {
    tileCache.current = new Map();
    userMoved.current = false;
    viewRef.current = grid ? fitView(sizeRef.current.width, sizeRef.current.height, grid.rows, grid.cols) : null;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [grid && grid.key, version, grid && grid.rows, grid && grid.cols]);

  useEffect(() => {
    redraw();
  }, [redraw, size]);

  const limits = () => {
    const fit = fitView(size.width, size.height, grid.rows, grid.cols).scale;
    return [fit / 2, Math.max(fit * 2, 512)];
  };

  const zoom = (factor, sx = size.width / 2, sy = size.height / 2) => {
    const [lo, hi] = limits();
    userMoved.current = true;
    viewRef.current = zoomAt(viewRef.current, factor, sx, sy, lo, hi);
    redraw();
  };

  const pointer = (e) => {
    const r = canvasRef.current.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  };

  const onWheel = (e) => {
    e.preventDefault();
    if (!ready) return;
    const [sx, sy] = pointer(e);
    zoom(Math.exp(-e.deltaY * 0.0015), sx, sy);
  };

  useEffect(() => {
    const canvas = canvasRef.current;
    if (!canvas) return undefined;
    canvas.addEventListener("wheel", onWheel, { passive: false });
    return () => canvas.removeEventListener("wheel", onWheel);
  });

  /** `cellList` as a selection of the kind the App holds. */
  const asSelection = (cellList, current) => {
    if (objects) {
      // as the App makes them: the selection type is required by the
      // Python session (it drops its connection on a label without one)
      return cellList.map((c) => ({
        labelId: cells.idAt(c),
        sampleId: cells.sampleIdAt(c),
        field: grid.field,
        type: "default",
      }));
    }
    const ids = cellList.map((c) => cells.idAt(c));
    return current instanceof Set ? new Set(ids) : new Map(ids.map((id) => [id, "default"]));
  };

  const select = (cellList, additive) => {
    const next = new Set(additive ? selectedCells : []);
    if (additive) for (const c of cellList) next.has(c) ? next.delete(c) : next.add(c);
    else cellList.forEach((c) => next.add(c));
    setSelected(asSelection(Array.from(next), appSelected));
  };
  // hidden cells (a legend entry or range switched off) are not selectable
  const selectable = (c) => c >= 0 && !(layers.hidden && layers.hidden[c]);

  // The selection before the first click of a double-click: a double-click
  // opens the sample and leaves the selection as it was.
  const beforeClick = useRef(null);

  const onMouseDown = (e) => {
    if (!ready) return;
    // Take the keyboard focus from whatever had it (the run <select>, a sidebar
    // search box): the App ignores its shortcuts, Escape included, while a
    // select or text input is focused.
    canvasRef.current.focus({ preventScroll: true });
    const p = pointer(e);
    dragRef.current = { start: p, last: p, path: [p], moved: false };
  };

  const onMouseMove = (e) => {
    if (!ready) return;
    const p = pointer(e);
    const d = dragRef.current;
    if (d) {
      if (Math.abs(p[0] - d.start[0]) + Math.abs(p[1] - d.start[1]) > 3) d.moved = true;
      if (mode === "pan" && !e.shiftKey) {
        userMoved.current = true;
        viewRef.current = { ...viewRef.current, x: viewRef.current.x + p[0] - d.last[0], y: viewRef.current.y + p[1] - d.last[1] };
        redraw();
      } else {
        d.path.push(p);
        drawSelectionShape(d, e.shiftKey && mode === "pan" ? "box" : mode);
      }
      d.last = p;
      return;
    }
    const c = hit(viewRef.current, cells.occupied, grid.rows, grid.cols, p[0], p[1]);
    if (selectable(c)) {
      askInfo([c]);
      setHover({ cell: c, x: p[0], y: p[1] });
    } else setHover(null);
  };

  const drawSelectionShape = (d, shape) => {
    redraw();
    requestAnimationFrame(() => {
      const ctx = canvasRef.current.getContext("2d");
      ctx.strokeStyle = "#ffffff";
      ctx.lineWidth = 1.5;
      ctx.setLineDash([5, 3]);
      ctx.beginPath();
      if (shape === "box") {
        const [x0, y0] = d.start;
        const [x1, y1] = d.last;
        ctx.rect(x0, y0, x1 - x0, y1 - y0);
      } else {
        d.path.forEach(([x, y], k) => (k ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
        ctx.closePath();
      }
      ctx.stroke();
      ctx.setLineDash([]);
    });
  };

  const onMouseUp = (e) => {
    const d = dragRef.current;
    dragRef.current = null;
    if (!d || !ready) return;
    const p = pointer(e);
    const shape = e.shiftKey && mode === "pan" ? "box" : mode;
    if (!d.moved) {
      if (e.detail >= 2) {
        // the second click of a double-click, which opens the sample: put the
        // selection back as it was before the first click, before the modal opens
        if (beforeClick.current) setSelected(beforeClick.current);
        return;
      }
      beforeClick.current = appSelected;
      const c = hit(viewRef.current, cells.occupied, grid.rows, grid.cols, p[0], p[1]);
      if (selectable(c)) select([c], e.ctrlKey || e.metaKey);
      else if (!(e.ctrlKey || e.metaKey)) setSelected(asSelection([], appSelected));
      return;
    }
    if (shape === "pan") return;
    const [x0, y0] = d.start;
    const polygon =
      shape === "box" ? [[x0, y0], [p[0], y0], [p[0], p[1]], [x0, p[1]]] : d.path.concat([p]);
    select(
      inPolygon(viewRef.current, cells.occupied, grid.rows, grid.cols, polygon).filter(selectable),
      e.ctrlKey || e.metaKey
    );
  };

  const onDoubleClick = (e) => {
    if (!ready) return;
    const [sx, sy] = pointer(e);
    const c = hit(viewRef.current, cells.occupied, grid.rows, grid.cols, sx, sy);
    if (!selectable(c)) return;
    canvasRef.current.blur();
    trigger("on_open_sample", { id: objects ? cells.sampleIdAt(c) : cells.idAt(c) });
    focusModalLooker();
  };

  const runList = (
    <select
      value={key || ""}
      onChange={(e) => trigger("on_change_key", { value: e.target.value })}
      onFocus={() => trigger("on_refresh", {})}
      style={{ ...BUTTON, padding: "2px 4px" }}
      data-testid="gridtsne-key"
    >
      {keys.map((k) => (
        <option key={k} value={k}>
          {k}
        </option>
      ))}
      {pending.map((p) => (
        <option key={p.id} value={`pending:${p.id}`} disabled data-testid="gridtsne-pending-run" data-state={p.state}>
          {p.key} — {p.state}
          {p.state === "running" && p.progress != null ? ` ${Math.round(p.progress * 100)}%` : ""}
        </option>
      ))}
    </select>
  );
  const pendingLine = pending.length ? (
    <div data-testid="gridtsne-pending" style={{ ...ONE_LINE, color: "#aaa" }}>
      {pending
        .map(
          (p) =>
            `${p.key}: ${p.state}` +
            (p.state === "running" && p.progress != null ? ` ${Math.round(p.progress * 100)}%` : "") +
            (p.label ? ` (${p.label})` : "")
        )
        .join(" | ")}
    </div>
  ) : null;

  if (!keys.length) {
    return (
      <div style={{ padding: 16, color: "#bbb" }} data-testid="gridtsne-empty">
        {pending.length ? (
          pendingLine
        ) : (
          <span>
            No grid runs on this dataset yet. Run <b>Gridded t-SNE: compute similarity grid</b> from the operator menu.{" "}
          </span>
        )}
        <button style={BUTTON} onClick={() => trigger("on_refresh", {})} data-testid="gridtsne-refresh">
          Look again
        </button>
      </div>
    );
  }

  const nSelected = selectedCells.length;
  const hoverInfo = hover ? info.get(hover.cell) : null;
  const selectionText =
    nSelected === 1
      ? `Selected: ${(info.get(selectedCells[0]) || {}).name || "1 " + (objects ? "object" : "sample")}`
      : nSelected
      ? `${nSelected} selected`
      : "";
  const total = grid ? grid.n : 0;
  const nInView = shownView ? shownView.count : total;
  const summary = grid
    ? `${key}: ${grid.rows} x ${grid.cols}, ${total} ${
        { labels: "objects", frames: "frames" }[grid.items] || "samples"
      }, ${nInView} in view` + (grid.metrics ? ` | ${grid.metrics}` : "")
    : "";
  const colorFields = (grid && grid.color_fields) || [];
  const tipW = 180;
  const tipLeft = hover ? Math.min(hover.x + 14, size.width - tipW - 4) : 0;
  const tipTop = hover ? (hover.y + 150 > size.height ? Math.max(0, hover.y - 150) : hover.y + 14) : 0;

  return (
    <div style={{ width: "100%", color: "#ddd", fontSize: 13 }} data-testid="gridtsne-view">
      <div style={{ display: "flex", gap: 6, alignItems: "center", flexWrap: "wrap", padding: "4px 0" }}>
        {runList}
        <button
          style={BUTTON}
          onClick={() => trigger("on_refresh", {})}
          title="look for runs added, deleted or recomputed since the panel opened"
          data-testid="gridtsne-refresh"
        >
          ↻
        </button>
        {["pan", "box", "lasso"].map((m) => (
          <button
            key={m}
            style={{ ...BUTTON, background: mode === m ? "#555" : BUTTON.background, borderColor: mode === m ? "#ddd" : "#555" }}
            onClick={() => setMode(m)}
            title={m === "pan" ? "drag to pan (shift-drag: box select)" : `drag to ${m}-select`}
            data-testid={`gridtsne-mode-${m}`}
            data-active={mode === m ? "true" : "false"}
          >
            {m}
          </button>
        ))}
        <button style={BUTTON} onClick={() => ready && zoom(1.5)} data-testid="gridtsne-zoom-in">+</button>
        <button style={BUTTON} onClick={() => ready && zoom(1 / 1.5)} data-testid="gridtsne-zoom-out">-</button>
        <button
          style={BUTTON}
          onClick={() => {
            if (!ready) return;
            userMoved.current = false;
            viewRef.current = fitView(size.width, size.height, grid.rows, grid.cols);
            redraw();
          }}
        >
          fit
        </button>
        <button style={BUTTON} onClick={() => trigger("on_selection_to_view", {})} data-testid="gridtsne-to-view">
          Selection to view
        </button>
        <button style={BUTTON} onClick={() => ready && setSelected(asSelection([], appSelected))}>
          Clear selection
        </button>
        <label style={{ display: "flex", gap: 4, alignItems: "center" }}>
          colour by
          <select
            value={(data.color && data.color.field) || ""}
            onChange={(e) => trigger("on_color_by", { field: e.target.value })}
            style={{ ...BUTTON, padding: "2px 4px" }}
            data-testid="gridtsne-color-by"
          >
            <option value="">none</option>
            {colorFields.map((f) => (
              <option key={f.path} value={f.path}>
                {f.path}
              </option>
            ))}
          </select>
        </label>
      </div>
      {pendingLine}
      <div data-testid="gridtsne-summary" style={{ height: 20, lineHeight: "20px", ...ONE_LINE }} title={summary}>
        {summary}
      </div>
      <div
        data-testid="gridtsne-selection"
        data-app-selection={selectedIds(appSelected).sort().join(",")}
        style={{ height: 20, lineHeight: "20px", ...ONE_LINE }}
      >
        {selectionText}
      </div>
      <div ref={boxRef} style={{ position: "relative", width: "100%", height: size.height, overflow: "hidden" }}>
        <canvas
          ref={canvasRef}
          width={size.width}
          height={size.height}
          style={{
            position: "absolute",
            left: 0,
            top: 0,
            cursor: mode === "pan" ? "grab" : "crosshair",
            background: "#181818",
            outline: "none",
          }}
          data-testid="gridtsne-canvas"
          tabIndex={0}
          data-render-ms={lastMs === null || !ready ? "" : lastMs.toFixed(2)}
          data-in-view={shownView ? String(shownView.count) : ""}
          data-selected={String(nSelected)}
          data-current-cells={currentCells.join(",")}
          data-drawn={String(drawnView)}
          onMouseDown={onMouseDown}
          onMouseMove={onMouseMove}
          onMouseUp={onMouseUp}
          onMouseLeave={() => {
            dragRef.current = null;
            setHover(null);
          }}
          onDoubleClick={onDoubleClick}
        />
        {!ready && grid && (
          <div style={{ position: "absolute", left: 12, top: 12, color: "#aaa" }} data-testid="gridtsne-loading">
            {cellsError ? `Could not load the run's cells: ${cellsError}` : "Loading the run..."}
          </div>
        )}
        {hover && ready && (
          <div
            data-testid="gridtsne-hover"
            style={{
              position: "absolute",
              left: Math.max(0, tipLeft),
              top: tipTop,
              width: tipW,
              background: "rgba(20,20,20,0.92)",
              border: "1px solid #555",
              padding: 4,
              pointerEvents: "none",
              boxSizing: "border-box",
            }}
          >
            {hoverInfo && hoverInfo.filepath && (
              <img
                src={mediaUrl(hoverInfo.filepath)}
                alt=""
                data-testid="gridtsne-hover-thumb"
                style={{ display: "block", maxWidth: "100%", maxHeight: 110, margin: "0 auto 2px" }}
              />
            )}
            <div style={ONE_LINE}>
              {hoverInfo
                ? `${hoverInfo.name}${hoverInfo.label != null ? ` | ${hoverInfo.label}` : ""}`
                : "…"}
            </div>
            {coloring && coloring.kind === "continuous" && (
              <div style={ONE_LINE}>
                {colorField}: {fmt(coloring.values[hover.cell])}
              </div>
            )}
          </div>
        )}
      </div>
      <Legend
        coloring={coloring}
        colorData={colorData}
        hiddenCats={hiddenCats}
        setHiddenCats={setHiddenCats}
        range={range}
        setRange={setRange}
      />
    </div>
  );
}

/** What the colours mean: categories that toggle, or a colour bar with its range. */
function Legend({ coloring, colorData, hiddenCats, setHiddenCats, range, setRange }) {
  if (!coloring) return null;
  if (coloring.kind === "continuous") {
    const [lo, hi] = range || [colorData.min, colorData.max];
    const input = (value, index) => (
      <input
        type="number"
        step="any"
        value={value === null || value === undefined ? "" : value}
        onChange={(e) => {
          const v = Number(e.target.value);
          if (!Number.isFinite(v)) return;
          setRange(index === 0 ? [v, hi] : [lo, v]);
        }}
        style={{ ...BUTTON, width: 80, padding: "1px 4px" }}
        data-testid={index === 0 ? "gridtsne-range-min" : "gridtsne-range-max"}
      />
    );
    return (
      <div style={{ display: "flex", gap: 8, alignItems: "center", paddingTop: 4 }} data-testid="gridtsne-colorbar">
        <span>{colorData.field}</span>
        {input(fmt(lo) === "" ? lo : Number(fmt(lo)), 0)}
        <span
          data-testid="gridtsne-colorbar-gradient"
          style={{ display: "inline-block", width: 200, height: 12, background: viridisGradient(), border: "1px solid #555" }}
        />
        {input(fmt(hi) === "" ? hi : Number(fmt(hi)), 1)}
        <button style={BUTTON} onClick={() => setRange([colorData.min, colorData.max])}>
          reset
        </button>
      </div>
    );
  }
  const toggle = (k) =>
    setHiddenCats((old) => {
      const next = new Set(old);
      next.has(k) ? next.delete(k) : next.add(k);
      return next;
    });
  return (
    <div style={{ display: "flex", gap: 10, flexWrap: "wrap", paddingTop: 4 }} data-testid="gridtsne-legend">
      {colorData.categories.map((name, k) => (
        <span
          key={name}
          onClick={() => toggle(k)}
          title="click to hide or show these cells"
          style={{ cursor: "pointer", opacity: hiddenCats.has(k) ? 0.4 : 1, userSelect: "none" }}
          data-testid="gridtsne-legend-entry"
          data-name={name}
          data-color={coloring.colors[k]}
          data-hidden={hiddenCats.has(k) ? "true" : "false"}
        >
          <span
            style={{ display: "inline-block", width: 10, height: 10, border: `3px solid ${coloring.colors[k]}`, marginRight: 4 }}
          />
          {name} ({colorData.counts[k]})
        </span>
      ))}
    </div>
  );
}
