(function(global, factory) {
  typeof exports === "object" && typeof module !== "undefined" ? factory(require("@fiftyone/plugins"), require("react"), require("recoil"), require("@fiftyone/state"), require("@fiftyone/operators"), require("@fiftyone/spaces")) : typeof define === "function" && define.amd ? define(["@fiftyone/plugins", "react", "recoil", "@fiftyone/state", "@fiftyone/operators", "@fiftyone/spaces"], factory) : (global = typeof globalThis !== "undefined" ? globalThis : global || self, factory(global.__fop__, global.React, global.recoil, global.__fos__, global.__foo__, global.__fosp__));
})(this, function(plugins, React, recoil, fos, operators, spaces) {
  "use strict";
  function _interopNamespaceDefault(e) {
    const n = Object.create(null, { [Symbol.toStringTag]: { value: "Module" } });
    if (e) {
      for (const k in e) {
        if (k !== "default") {
          const d = Object.getOwnPropertyDescriptor(e, k);
          Object.defineProperty(n, k, d.get ? d : {
            enumerable: true,
            get: () => e[k]
          });
        }
      }
    }
    n.default = e;
    return Object.freeze(n);
  }
  const fos__namespace = /* @__PURE__ */ _interopNamespaceDefault(fos);
  const DIM = "rgba(0,0,0,0.72)";
  const SELECTED = "rgba(255,109,4,0.55)";
  function cellIndex(cells, rows, cols) {
    const index = new Int32Array(rows * cols).fill(-1);
    for (let i = 0; i < cells.row.length; i++) index[cells.row[i] * cols + cells.col[i]] = i;
    return index;
  }
  function fitView(width, height, rows, cols) {
    const scale = Math.max(1e-6, Math.min(width / cols, height / rows));
    return { scale, x: (width - cols * scale) / 2, y: (height - rows * scale) / 2 };
  }
  function zoomAt(view, factor, sx, sy, minScale, maxScale) {
    const scale = Math.min(maxScale, Math.max(minScale, view.scale * factor));
    const k = scale / view.scale;
    return { scale, x: sx - (sx - view.x) * k, y: sy - (sy - view.y) * k };
  }
  function toGrid(view, sx, sy) {
    return [(sx - view.x) / view.scale, (sy - view.y) / view.scale];
  }
  function hit(view, index, rows, cols, sx, sy) {
    const [gx, gy] = toGrid(view, sx, sy);
    const c = Math.floor(gx);
    const r = Math.floor(gy);
    if (r < 0 || c < 0 || r >= rows || c >= cols) return -1;
    return index[r * cols + c];
  }
  function inPolygon(view, cells, polygon) {
    const pts = polygon.map(([sx, sy]) => toGrid(view, sx, sy));
    const out = [];
    for (let i = 0; i < cells.row.length; i++) {
      const x = cells.col[i] + 0.5;
      const y = cells.row[i] + 0.5;
      let inside = false;
      for (let a = 0, b = pts.length - 1; a < pts.length; b = a++) {
        const [xa, ya] = pts[a];
        const [xb, yb] = pts[b];
        if (ya > y !== yb > y && x < (xb - xa) * (y - ya) / (yb - ya) + xa) inside = !inside;
      }
      if (inside) out.push(i);
    }
    return out;
  }
  function overlayCanvas(cells, rows, cols, inView, selectedIdx) {
    const canvas = document.createElement("canvas");
    canvas.width = cols;
    canvas.height = rows;
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = DIM;
    for (let i = 0; i < cells.row.length; i++) {
      if (inView && !inView[i]) ctx.fillRect(cells.col[i], cells.row[i], 1, 1);
    }
    ctx.fillStyle = SELECTED;
    for (const i of selectedIdx) ctx.fillRect(cells.col[i], cells.row[i], 1, 1);
    return canvas;
  }
  function pickLevel(tiles, cellPx, wanted) {
    const top = tiles.levels - 1;
    for (let lv = 0; lv <= top; lv++) {
      if (cellPx / 2 ** (top - lv) >= wanted) return lv;
    }
    return top;
  }
  function draw(ctx, width, height, view, grid, overview, overlay, getTile) {
    ctx.clearRect(0, 0, width, height);
    const gw = grid.cols * view.scale;
    const gh = grid.rows * view.scale;
    ctx.imageSmoothingEnabled = true;
    if (overview && overview.complete && overview.naturalWidth) {
      ctx.drawImage(overview, view.x, view.y, gw, gh);
    }
    let loading = 0;
    const tiles = grid.tiles;
    const dpr = window.devicePixelRatio || 1;
    const overviewPx = overview && overview.naturalWidth ? overview.naturalWidth / grid.cols : 0;
    if (tiles && view.scale * dpr > overviewPx * 1.05) {
      const lv = pickLevel(tiles, grid.cell_px, view.scale * dpr);
      const top = tiles.levels - 1;
      const f = 2 ** (top - lv);
      const levelPxPerCell = grid.cell_px / f;
      const toScreen = view.scale / levelPxPerCell;
      const lw = Math.ceil(tiles.width / f);
      const lh = Math.ceil(tiles.height / f);
      const t = tiles.tile;
      const x0 = Math.max(0, Math.floor(-view.x / toScreen / t));
      const y0 = Math.max(0, Math.floor(-view.y / toScreen / t));
      const x1 = Math.min(Math.ceil(lw / t) - 1, Math.floor((width - view.x) / toScreen / t));
      const y1 = Math.min(Math.ceil(lh / t) - 1, Math.floor((height - view.y) / toScreen / t));
      for (let ty = y0; ty <= y1; ty++) {
        for (let tx = x0; tx <= x1; tx++) {
          const img = getTile(lv, tx, ty);
          if (img && img.complete && img.naturalWidth) {
            ctx.drawImage(
              img,
              view.x + tx * t * toScreen,
              view.y + ty * t * toScreen,
              img.naturalWidth * toScreen,
              img.naturalHeight * toScreen
            );
          } else {
            loading++;
          }
        }
      }
    }
    if (overlay) {
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(overlay, view.x, view.y, gw, gh);
    }
    return loading;
  }
  const HEIGHT = 560;
  const BUTTON = {
    background: "#333",
    color: "#ddd",
    border: "1px solid #555",
    borderRadius: 4,
    padding: "2px 8px",
    cursor: "pointer",
    fontSize: 13
  };
  function selectedIds(selected) {
    if (!selected) return [];
    if (Array.isArray(selected)) return selected.map((label) => label.labelId);
    return selected instanceof Map ? Array.from(selected.keys()) : Array.from(selected);
  }
  const ONE_LINE = { whiteSpace: "nowrap", overflow: "hidden", textOverflow: "ellipsis" };
  function mediaUrl(path, version) {
    const url = fos__namespace.getSampleSrc ? fos__namespace.getSampleSrc(path) : "/media?filepath=" + encodeURIComponent(path);
    return version ? url + (url.includes("?") ? "&" : "?") + "v=" + encodeURIComponent(version) : url;
  }
  function GridMosaicView(props) {
    const { data = {}, schema = {} } = props;
    const callbacks = schema.view || {};
    const { in_view: inViewList, keys = [], key } = data;
    const loaded = Boolean(data.grid && data.cells);
    const grid = loaded ? data.grid : null;
    const cells = loaded ? data.cells : null;
    const panelId = spaces.usePanelId();
    const triggerEvent = operators.usePanelEvent();
    const objects = Boolean(grid && grid.items === "labels");
    const [appSamples, setAppSamples] = recoil.useRecoilState(fos__namespace.selectedSamples);
    const [appLabels, setAppLabels] = recoil.useRecoilState(fos__namespace.selectedLabels);
    const appSelected = objects ? appLabels : appSamples;
    const setAppSelected = objects ? setAppLabels : setAppSamples;
    const [pending, setPending] = React.useState(null);
    React.useEffect(() => setPending(null), [appSelected]);
    const selected = pending || appSelected;
    const setSelected = React.useCallback(
      (value) => {
        setPending(value);
        requestAnimationFrame(() => setTimeout(() => setAppSelected(value), 0));
      },
      [setAppSelected]
    );
    const [mode, setMode] = React.useState("pan");
    const [hover, setHover] = React.useState(null);
    const [size, setSize] = React.useState({ width: 640, height: HEIGHT });
    const [lastMs, setLastMs] = React.useState(null);
    const canvasRef = React.useRef(null);
    const boxRef = React.useRef(null);
    const viewRef = React.useRef(null);
    const dragRef = React.useRef(null);
    const tileCache = React.useRef(/* @__PURE__ */ new Map());
    const frame = React.useRef(0);
    const redrawRef = React.useRef(() => {
    });
    const trigger = React.useCallback(
      (name, params) => {
        if (callbacks[name]) triggerEvent(panelId, { operator: callbacks[name], params });
      },
      [callbacks, panelId, triggerEvent]
    );
    const appDataset = recoil.useRecoilValue(fos__namespace.dataset);
    const seenDataset = React.useRef(null);
    React.useEffect(() => {
      if (seenDataset.current && appDataset && seenDataset.current !== appDataset) {
        trigger("on_refresh", {});
      }
      seenDataset.current = appDataset;
    }, [appDataset]);
    const index = React.useMemo(
      () => grid && cells ? cellIndex(cells, grid.rows, grid.cols) : null,
      [grid, cells]
    );
    const idToIndex = React.useMemo(() => {
      const m = /* @__PURE__ */ new Map();
      if (cells) cells.id.forEach((id, i) => m.set(id, i));
      return m;
    }, [cells]);
    const asSelection = (ids, current) => {
      if (objects) {
        return Array.from(ids, (id) => ({
          labelId: id,
          sampleId: cells.sample_id[idToIndex.get(id)],
          field: grid.field,
          type: "default"
        }));
      }
      return current instanceof Set ? new Set(ids) : new Map(Array.from(ids, (id) => [id, "default"]));
    };
    const inView = React.useMemo(() => {
      if (!cells || !inViewList) return null;
      const mask = new Uint8Array(cells.id.length);
      for (const i of inViewList) mask[i] = 1;
      return mask;
    }, [cells, inViewList]);
    const selectedIdx = React.useMemo(() => {
      const out = [];
      for (const id of selectedIds(selected)) {
        const i = idToIndex.get(id);
        if (i !== void 0) out.push(i);
      }
      return out;
    }, [selected, idToIndex]);
    const overlay = React.useMemo(
      () => grid && cells ? overlayCanvas(cells, grid.rows, grid.cols, inView, selectedIdx) : null,
      [grid, cells, inView, selectedIdx]
    );
    const overview = React.useMemo(() => {
      if (!grid) return null;
      const img = new Image();
      img.onload = () => redrawRef.current();
      img.src = mediaUrl(grid.mosaic_path, grid.version);
      return img;
    }, [grid && grid.mosaic_path, grid && grid.version]);
    const getTile = React.useCallback(
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
    const redraw = React.useCallback(() => {
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
    React.useEffect(() => {
      const box = boxRef.current;
      if (!box) return void 0;
      const observer = new ResizeObserver(() => {
        const width = Math.max(200, Math.floor(box.clientWidth));
        setSize((s) => s.width === width ? s : { width, height: HEIGHT });
      });
      observer.observe(box);
      return () => observer.disconnect();
    }, [Boolean(grid)]);
    React.useEffect(() => {
      tileCache.current = /* @__PURE__ */ new Map();
      viewRef.current = grid ? fitView(size.width, size.height, grid.rows, grid.cols) : null;
    }, [grid && grid.key, grid && grid.version, grid && grid.rows, grid && grid.cols, size.width, size.height]);
    React.useEffect(() => {
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
      zoom(Math.exp(-e.deltaY * 15e-4), sx, sy);
    };
    React.useEffect(() => {
      const canvas = canvasRef.current;
      if (!canvas) return void 0;
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
    const beforeClick = React.useRef(null);
    const onMouseDown = (e) => {
      if (!grid) return;
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
          d.path.forEach(([x, y], k) => k ? ctx.lineTo(x, y) : ctx.moveTo(x, y));
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
      const polygon = shape === "box" ? [[x0, y0], [p[0], y0], [p[0], p[1]], [x0, p[1]]] : d.path.concat([p]);
      select(inPolygon(viewRef.current, cells, polygon), e.ctrlKey || e.metaKey);
    };
    const onDoubleClick = (e) => {
      if (!grid) return;
      const [sx, sy] = pointer(e);
      const i = hit(viewRef.current, index, grid.rows, grid.cols, sx, sy);
      if (i >= 0) trigger("on_open_sample", { id: objects ? cells.sample_id[i] : cells.id[i] });
    };
    if (!keys.length) {
      return /* @__PURE__ */ React.createElement("div", { style: { padding: 16, color: "#bbb" }, "data-testid": "gridtsne-empty" }, "No grid runs on this dataset yet. Run ", /* @__PURE__ */ React.createElement("b", null, "Gridded t-SNE: compute similarity grid"), " from the operator menu.", " ", /* @__PURE__ */ React.createElement("button", { style: BUTTON, onClick: () => trigger("on_refresh", {}), "data-testid": "gridtsne-refresh" }, "Look again"));
    }
    const nSelected = selectedIdx.length;
    const selectionText = nSelected === 1 ? `Selected: ${cells.name[selectedIdx[0]]}` : nSelected ? `${nSelected} selected` : "";
    const nInView = inView ? inView.reduce((a, b) => a + b, 0) : cells ? cells.id.length : 0;
    const legend = grid && grid.legend || [];
    const summary = grid ? `${key}: ${grid.rows} x ${grid.cols}, ${cells.id.length} ${{ labels: "objects", frames: "frames" }[grid.items] || "samples"}, ${nInView} in view` + (grid.metrics ? ` | ${grid.metrics}` : "") : "";
    return /* @__PURE__ */ React.createElement("div", { style: { width: "100%", color: "#ddd", fontSize: 13 }, "data-testid": "gridtsne-view" }, /* @__PURE__ */ React.createElement("div", { style: { display: "flex", gap: 6, alignItems: "center", flexWrap: "wrap", padding: "4px 0" } }, /* @__PURE__ */ React.createElement(
      "select",
      {
        value: key || "",
        onChange: (e) => trigger("on_change_key", { value: e.target.value }),
        onFocus: () => trigger("on_refresh", {}),
        style: { ...BUTTON, padding: "2px 4px" },
        "data-testid": "gridtsne-key"
      },
      keys.map((k) => /* @__PURE__ */ React.createElement("option", { key: k, value: k }, k))
    ), /* @__PURE__ */ React.createElement(
      "button",
      {
        style: BUTTON,
        onClick: () => trigger("on_refresh", {}),
        title: "look for runs added, deleted or recomputed since the panel opened",
        "data-testid": "gridtsne-refresh"
      },
      "↻"
    ), ["pan", "box", "lasso"].map((m) => /* @__PURE__ */ React.createElement(
      "button",
      {
        key: m,
        style: { ...BUTTON, background: mode === m ? "#ff6d04" : BUTTON.background },
        onClick: () => setMode(m),
        title: m === "pan" ? "drag to pan (shift-drag: box select)" : `drag to ${m}-select`,
        "data-testid": `gridtsne-mode-${m}`,
        "data-active": mode === m ? "true" : "false"
      },
      m
    )), /* @__PURE__ */ React.createElement("button", { style: BUTTON, onClick: () => zoom(1.5), "data-testid": "gridtsne-zoom-in" }, "+"), /* @__PURE__ */ React.createElement("button", { style: BUTTON, onClick: () => zoom(1 / 1.5), "data-testid": "gridtsne-zoom-out" }, "-"), /* @__PURE__ */ React.createElement(
      "button",
      {
        style: BUTTON,
        onClick: () => {
          viewRef.current = fitView(size.width, size.height, grid.rows, grid.cols);
          redraw();
        }
      },
      "fit"
    ), /* @__PURE__ */ React.createElement("button", { style: BUTTON, onClick: () => trigger("on_selection_to_view", {}), "data-testid": "gridtsne-to-view" }, "Selection to view"), /* @__PURE__ */ React.createElement("button", { style: BUTTON, onClick: () => setSelected(asSelection([], appSelected)) }, "Clear selection")), /* @__PURE__ */ React.createElement("div", { "data-testid": "gridtsne-summary", style: { padding: "2px 0", ...ONE_LINE }, title: summary }, summary), /* @__PURE__ */ React.createElement(
      "div",
      {
        "data-testid": "gridtsne-selection",
        "data-app-selection": selectedIds(appSelected).sort().join(","),
        style: { minHeight: 18, ...ONE_LINE }
      },
      selectionText
    ), /* @__PURE__ */ React.createElement("div", { ref: boxRef, style: { position: "relative", width: "100%", height: size.height, overflow: "hidden" } }, /* @__PURE__ */ React.createElement(
      "canvas",
      {
        ref: canvasRef,
        width: size.width,
        height: size.height,
        style: {
          position: "absolute",
          left: 0,
          top: 0,
          cursor: mode === "pan" ? "grab" : "crosshair",
          background: "#181818",
          outline: "none"
        },
        "data-testid": "gridtsne-canvas",
        tabIndex: 0,
        "data-render-ms": lastMs === null ? "" : lastMs.toFixed(2),
        onMouseDown,
        onMouseMove,
        onMouseUp,
        onMouseLeave: () => {
          dragRef.current = null;
          setHover(null);
        },
        onDoubleClick
      }
    ), hover && cells && /* @__PURE__ */ React.createElement(
      "div",
      {
        "data-testid": "gridtsne-hover",
        style: {
          position: "absolute",
          left: hover.x + 12,
          top: hover.y + 12,
          background: "rgba(20,20,20,0.9)",
          border: "1px solid #555",
          padding: "2px 6px",
          pointerEvents: "none",
          whiteSpace: "nowrap"
        }
      },
      cells.name[hover.i],
      cells.label && cells.label[hover.i] != null ? ` | ${cells.label[hover.i]}` : ""
    )), legend.length > 0 && /* @__PURE__ */ React.createElement("div", { style: { display: "flex", gap: 10, flexWrap: "wrap", paddingTop: 4 }, "data-testid": "gridtsne-legend" }, legend.map(([name, color]) => /* @__PURE__ */ React.createElement("span", { key: name }, /* @__PURE__ */ React.createElement(
      "span",
      {
        style: { display: "inline-block", width: 10, height: 10, border: `3px solid ${color}`, marginRight: 4 }
      }
    ), name))));
  }
  plugins.registerComponent({
    name: "GridMosaicView",
    label: "GridMosaicView",
    component: GridMosaicView,
    type: plugins.PluginComponentType.Component,
    activator: () => true
  });
});
