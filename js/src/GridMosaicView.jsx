// The grid_mosaic panel's view: a canvas mosaic that pans and zooms on the
// client, loads Deep Zoom tiles lazily when zoomed past the overview, and
// reads/writes the App's sample selection directly (no round trip to Python).
// The Python panel supplies the run (panel data `grid`, `cells`) and which
// cells are in the current view (`in_view`), and handles "open sample" and
// "selection to view".
import React, { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useRecoilState, useRecoilValue } from "recoil";
import * as fos from "@fiftyone/state";
import { usePanelEvent } from "@fiftyone/operators";
import { usePanelId } from "@fiftyone/spaces";
import {
  cellIndex,
  draw,
  fitView,
  hit,
  inPolygon,
  overlayCanvas,
  zoomAt,
} from "./viewer";

const HEIGHT = 560;
const BUTTON = {
  background: "#333",
  color: "#ddd",
  border: "1px solid #555",
  borderRadius: 4,
  padding: "2px 8px",
  cursor: "pointer",
  fontSize: 13,
};

// The App keeps its selected samples as a Map from sample id to selection
// type (FiftyOne >= 1.x; older Apps used a Set of ids) and its selected labels
// (objects) as an array of {labelId, sampleId, field, frameNumber}.
function selectedIds(selected) {
  if (!selected) return [];
  if (Array.isArray(selected)) return selected.map((label) => label.labelId);
  return selected instanceof Map ? Array.from(selected.keys()) : Array.from(selected);
}

// the App's URL for a local file (honours a server path prefix / proxy)
// text lines above the canvas never wrap: a wrap would move the canvas under the pointer
const ONE_LINE = { whiteSpace: "nowrap", overflow: "hidden", textOverflow: "ellipsis" };

function mediaUrl(path, version) {
  const url = fos.getSampleSrc ? fos.getSampleSrc(path) : "/media?filepath=" + encodeURIComponent(path);
  // a re-gridded run rewrites the same files: the version defeats the browser cache
  return version ? url + (url.includes("?") ? "&" : "?") + "v=" + encodeURIComponent(version) : url;
}

export default function GridMosaicView(props) {
  const { data = {}, schema = {} } = props;
  const callbacks = schema.view || {};
  const { in_view: inViewList, keys = [], key } = data;
  // a run is shown once both halves of its data have arrived
  const loaded = Boolean(data.grid && data.cells);
  const grid = loaded ? data.grid : null;
  const cells = loaded ? data.cells : null;
  const panelId = usePanelId();
  const triggerEvent = usePanelEvent();
  // a run of objects (patches) selects labels in the App; others select samples
  const objects = Boolean(grid && grid.items === "labels");
  const [appSamples, setAppSamples] = useRecoilState(fos.selectedSamples);
  const [appLabels, setAppLabels] = useRecoilState(fos.selectedLabels);
  const appSelected = objects ? appLabels : appSamples;
  const setAppSelected = objects ? setAppLabels : setAppSamples;
  // A click shows in the panel at once; the App's own (heavier) update of its
  // selection follows after the panel has painted.
  const [pending, setPending] = useState(null);
  useEffect(() => setPending(null), [appSelected]);
  const selected = pending || appSelected;
  const setSelected = useCallback(
    (value) => {
      setPending(value);
      requestAnimationFrame(() => setTimeout(() => setAppSelected(value), 0));
    },
    [setAppSelected]
  );
  const [mode, setMode] = useState("pan");
  const [hover, setHover] = useState(null);
  const [size, setSize] = useState({ width: 640, height: HEIGHT });
  const [lastMs, setLastMs] = useState(null);
  const canvasRef = useRef(null);
  const boxRef = useRef(null);
  const viewRef = useRef(null);
  const dragRef = useRef(null);
  const tileCache = useRef(new Map());
  const frame = useRef(0);
  const redrawRef = useRef(() => {});

  const trigger = useCallback(
    (name, params) => {
      if (callbacks[name]) triggerEvent(panelId, { operator: callbacks[name], params });
    },
    [callbacks, panelId, triggerEvent]
  );
  // The plugin's operators reload the App's dataset when they add, change or
  // delete a run: look again then, so the run list follows without ↻.
  const appDataset = useRecoilValue(fos.dataset);
  const seenDataset = useRef(null);
  useEffect(() => {
    if (seenDataset.current && appDataset && seenDataset.current !== appDataset) {
      trigger("on_refresh", {});
    }
    seenDataset.current = appDataset;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [appDataset]);

  const index = useMemo(
    () => (grid && cells ? cellIndex(cells, grid.rows, grid.cols) : null),
    [grid, cells]
  );
  const idToIndex = useMemo(() => {
    const m = new Map();
    if (cells) cells.id.forEach((id, i) => m.set(id, i));
    return m;
  }, [cells]);
  /** `ids` in the same kind of container as the App's current selection. */
  const asSelection = (ids, current) => {
    if (objects) {
      // as the App makes them: the selection type is required by the
      // Python session (it drops its connection on a label without one)
      return Array.from(ids, (id) => ({
        labelId: id,
        sampleId: cells.sample_id[idToIndex.get(id)],
        field: grid.field,
        type: "default",
      }));
    }
    return current instanceof Set ? new Set(ids) : new Map(Array.from(ids, (id) => [id, "default"]));
  };
  const inView = useMemo(() => {
    if (!cells || !inViewList) return null;
    const mask = new Uint8Array(cells.id.length);
    for (const i of inViewList) mask[i] = 1;
    return mask;
  }, [cells, inViewList]);
  const selectedIdx = useMemo(() => {
    const out = [];
    for (const id of selectedIds(selected)) {
      const i = idToIndex.get(id);
      if (i !== undefined) out.push(i);
    }
    return out;
  }, [selected, idToIndex]);
  const overlay = useMemo(
    () => (grid && cells ? overlayCanvas(cells, grid.rows, grid.cols, inView, selectedIdx) : null),
    [grid, cells, inView, selectedIdx]
  );
  const overview = useMemo(() => {
    if (!grid) return null;
    const img = new Image();
    img.onload = () => redrawRef.current();
    img.src = mediaUrl(grid.mosaic_path, grid.version);
    return img;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [grid && grid.mosaic_path, grid && grid.version]);

  const getTile = useCallback(
    (lv, tx, ty) => {
      const t = grid.tiles;
      const k = `${lv}/${tx}_${ty}`;
      let img = tileCache.current.get(k);
      if (!img) {
        img = new Image();
        img.onload = () => redrawRef.current();
        img.src = mediaUrl(`${t.files_dir}/${lv}/${tx}_${ty}.jpg`, grid.version);
        tileCache.current.set(k, img);
      }
      return img;
    },
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [grid]
  );

  const redraw = useCallback(() => {
    cancelAnimationFrame(frame.current);
    frame.current = requestAnimationFrame(() => {
      const canvas = canvasRef.current;
      if (!canvas || !grid || !viewRef.current) return;
      const t0 = performance.now();
      const ctx = canvas.getContext("2d");
      const loading = draw(ctx, canvas.width, canvas.height, viewRef.current, grid, overview, overlay, getTile);
      canvas.dataset.tilesLoading = String(loading);
      canvas.dataset.scale = String(viewRef.current.scale);
      setLastMs(performance.now() - t0);
    });
  }, [grid, overview, overlay, getTile]);
  redrawRef.current = redraw;

  // size the canvas to the panel's width
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

  useEffect(() => {
    tileCache.current = new Map();
    viewRef.current = grid ? fitView(size.width, size.height, grid.rows, grid.cols) : null;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [grid && grid.key, grid && grid.version, grid && grid.rows, grid && grid.cols, size.width, size.height]);

  useEffect(() => {
    redraw();
  }, [redraw, size]);

  const limits = () => {
    const fit = fitView(size.width, size.height, grid.rows, grid.cols).scale;
    return [fit / 2, Math.max(fit * 2, (grid.cell_px || 64) * 4)];
  };

  const zoom = (factor, sx = size.width / 2, sy = size.height / 2) => {
    const [lo, hi] = limits();
    viewRef.current = zoomAt(viewRef.current, factor, sx, sy, lo, hi);
    redraw();
  };

  const pointer = (e) => {
    const r = canvasRef.current.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  };

  const onWheel = (e) => {
    e.preventDefault();
    const [sx, sy] = pointer(e);
    zoom(Math.exp(-e.deltaY * 0.0015), sx, sy);
  };

  useEffect(() => {
    const canvas = canvasRef.current;
    if (!canvas) return undefined;
    canvas.addEventListener("wheel", onWheel, { passive: false });
    return () => canvas.removeEventListener("wheel", onWheel);
  });

  const select = (indices, additive) => {
    const ids = indices.map((i) => cells.id[i]);
    const next = new Set(additive ? selectedIds(selected) : []);
    if (additive) for (const id of ids) next.has(id) ? next.delete(id) : next.add(id);
    else ids.forEach((id) => next.add(id));
    setSelected(asSelection(next, appSelected));
  };

  // The selection before the first click of a double-click: a double-click
  // opens the sample and leaves the selection as it was.
  const beforeClick = useRef(null);

  const onMouseDown = (e) => {
    if (!grid) return;
    // Take the keyboard focus from whatever had it (the run <select>, a sidebar
    // search box): the App ignores its shortcuts, Escape included, while a
    // select or text input is focused.
    canvasRef.current.focus({ preventScroll: true });
    const p = pointer(e);
    dragRef.current = { start: p, last: p, path: [p], moved: false, view: viewRef.current };
  };

  const onMouseMove = (e) => {
    if (!grid) return;
    const p = pointer(e);
    const d = dragRef.current;
    if (d) {
      if (Math.abs(p[0] - d.start[0]) + Math.abs(p[1] - d.start[1]) > 3) d.moved = true;
      if (mode === "pan" && !e.shiftKey) {
        viewRef.current = { ...viewRef.current, x: viewRef.current.x + p[0] - d.last[0], y: viewRef.current.y + p[1] - d.last[1] };
        redraw();
      } else {
        d.path.push(p);
        drawSelectionShape(d, e.shiftKey && mode === "pan" ? "box" : mode);
      }
      d.last = p;
      return;
    }
    const i = hit(viewRef.current, index, grid.rows, grid.cols, p[0], p[1]);
    setHover(i < 0 ? null : { i, x: p[0], y: p[1] });
  };

  const drawSelectionShape = (d, shape) => {
    redraw();
    requestAnimationFrame(() => {
      const ctx = canvasRef.current.getContext("2d");
      ctx.strokeStyle = "#ff6d04";
      ctx.lineWidth = 1.5;
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
    });
  };

  const onMouseUp = (e) => {
    const d = dragRef.current;
    dragRef.current = null;
    if (!d || !grid) return;
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
      const i = hit(viewRef.current, index, grid.rows, grid.cols, p[0], p[1]);
      if (i >= 0) select([i], e.ctrlKey || e.metaKey);
      else if (!(e.ctrlKey || e.metaKey)) setSelected(asSelection([], appSelected));
      return;
    }
    if (shape === "pan") return;
    const [x0, y0] = d.start;
    const polygon =
      shape === "box" ? [[x0, y0], [p[0], y0], [p[0], p[1]], [x0, p[1]]] : d.path.concat([p]);
    select(inPolygon(viewRef.current, cells, polygon), e.ctrlKey || e.metaKey);
  };

  const onDoubleClick = (e) => {
    if (!grid) return;
    const [sx, sy] = pointer(e);
    const i = hit(viewRef.current, index, grid.rows, grid.cols, sx, sy);
    if (i >= 0) trigger("on_open_sample", { id: objects ? cells.sample_id[i] : cells.id[i] });
  };

  if (!keys.length) {
    return (
      <div style={{ padding: 16, color: "#bbb" }} data-testid="gridtsne-empty">
        No grid runs on this dataset yet. Run <b>Gridded t-SNE: compute similarity grid</b> from
        the operator menu.{" "}
        <button style={BUTTON} onClick={() => trigger("on_refresh", {})} data-testid="gridtsne-refresh">
          Look again
        </button>
      </div>
    );
  }

  const nSelected = selectedIdx.length;
  const selectionText =
    nSelected === 1 ? `Selected: ${cells.name[selectedIdx[0]]}` : nSelected ? `${nSelected} selected` : "";
  const nInView = inView ? inView.reduce((a, b) => a + b, 0) : cells ? cells.id.length : 0;
  const legend = (grid && grid.legend) || [];
  const summary = grid
    ? `${key}: ${grid.rows} x ${grid.cols}, ${cells.id.length} ${
        { labels: "objects", frames: "frames" }[grid.items] || "samples"
      }, ${nInView} in view` +
      (grid.metrics ? ` | ${grid.metrics}` : "")
    : "";

  return (
    <div style={{ width: "100%", color: "#ddd", fontSize: 13 }} data-testid="gridtsne-view">
      <div style={{ display: "flex", gap: 6, alignItems: "center", flexWrap: "wrap", padding: "4px 0" }}>
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
        </select>
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
            style={{ ...BUTTON, background: mode === m ? "#ff6d04" : BUTTON.background }}
            onClick={() => setMode(m)}
            title={m === "pan" ? "drag to pan (shift-drag: box select)" : `drag to ${m}-select`}
            data-testid={`gridtsne-mode-${m}`}
            data-active={mode === m ? "true" : "false"}
          >
            {m}
          </button>
        ))}
        <button style={BUTTON} onClick={() => zoom(1.5)} data-testid="gridtsne-zoom-in">+</button>
        <button style={BUTTON} onClick={() => zoom(1 / 1.5)} data-testid="gridtsne-zoom-out">-</button>
        <button
          style={BUTTON}
          onClick={() => {
            viewRef.current = fitView(size.width, size.height, grid.rows, grid.cols);
            redraw();
          }}
        >
          fit
        </button>
        <button style={BUTTON} onClick={() => trigger("on_selection_to_view", {})} data-testid="gridtsne-to-view">
          Selection to view
        </button>
        <button style={BUTTON} onClick={() => setSelected(asSelection([], appSelected))}>
          Clear selection
        </button>
      </div>
      <div data-testid="gridtsne-summary" style={{ padding: "2px 0", ...ONE_LINE }} title={summary}>
        {summary}
      </div>
      <div
        data-testid="gridtsne-selection"
        data-app-selection={selectedIds(appSelected).sort().join(",")}
        style={{ minHeight: 18, ...ONE_LINE }}
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
          data-render-ms={lastMs === null ? "" : lastMs.toFixed(2)}
          onMouseDown={onMouseDown}
          onMouseMove={onMouseMove}
          onMouseUp={onMouseUp}
          onMouseLeave={() => {
            dragRef.current = null;
            setHover(null);
          }}
          onDoubleClick={onDoubleClick}
        />
        {hover && cells && (
          <div
            data-testid="gridtsne-hover"
            style={{
              position: "absolute",
              left: hover.x + 12,
              top: hover.y + 12,
              background: "rgba(20,20,20,0.9)",
              border: "1px solid #555",
              padding: "2px 6px",
              pointerEvents: "none",
              whiteSpace: "nowrap",
            }}
          >
            {cells.name[hover.i]}
            {cells.label && cells.label[hover.i] != null ? ` | ${cells.label[hover.i]}` : ""}
          </div>
        )}
      </div>
      {legend.length > 0 && (
        <div style={{ display: "flex", gap: 10, flexWrap: "wrap", paddingTop: 4 }} data-testid="gridtsne-legend">
          {legend.map(([name, color]) => (
            <span key={name}>
              <span
                style={{ display: "inline-block", width: 10, height: 10, border: `3px solid ${color}`, marginRight: 4 }}
              />
              {name}
            </span>
          ))}
        </div>
      )}
    </div>
  );
}
