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
  const recoil__namespace = /* @__PURE__ */ _interopNamespaceDefault(recoil);
  const fos__namespace = /* @__PURE__ */ _interopNamespaceDefault(fos);
  const BUTTON = {
    background: "#333",
    color: "#ddd",
    border: "1px solid #555",
    borderRadius: 4,
    padding: "2px 8px",
    cursor: "pointer",
    fontSize: 13
  };
  const ONE_LINE = { whiteSpace: "nowrap", overflow: "hidden", textOverflow: "ellipsis" };
  function readSafely(get, state) {
    if (!state) return null;
    try {
      return get(state);
    } catch (e) {
      if (e && typeof e.then === "function") throw e;
      return null;
    }
  }
  function safe(name, state) {
    return recoil__namespace.selector({ key: `gridtsne-safe-${name}`, get: ({ get }) => readSafely(get, state) });
  }
  const MODAL_SAMPLE_ID = safe("modal-sample-id", fos__namespace.currentSampleId || fos__namespace.modalSampleId);
  const COLOR_SCHEME = safe("color-scheme", fos__namespace.colorScheme);
  const COLOR_MAP = safe("color-map", fos__namespace.colorMap);
  const VIEW_KEY = recoil__namespace.selector({
    key: "gridtsne-view-key",
    get: ({ get }) => JSON.stringify([fos__namespace.view, fos__namespace.extendedStages, fos__namespace.filters, fos__namespace.viewName].map((state) => readSafely(get, state)))
  });
  function selectedIds(selected) {
    if (!selected) return [];
    if (Array.isArray(selected)) return selected.map((label) => label.labelId);
    return selected instanceof Map ? Array.from(selected.keys()) : Array.from(selected);
  }
  function selectionKey(selected) {
    if (!selected) return "";
    const ids = selected instanceof Map ? Array.from(selected.keys()) : Array.from(selected);
    return ids.map(String).sort().join(",");
  }
  function copySelection(selected) {
    if (Array.isArray(selected)) return selected.slice();
    return selected instanceof Map ? new Map(selected) : new Set(selected);
  }
  function mediaUrl(path, version) {
    const url = fos__namespace.getSampleSrc ? fos__namespace.getSampleSrc(path) : "/media?filepath=" + encodeURIComponent(path);
    return version ? url + (url.includes("?") ? "&" : "?") + "v=" + encodeURIComponent(version) : url;
  }
  function focusModalLooker(deadline = performance.now() + 5e3) {
    const looker = document.querySelector("[data-cy=modal-looker-container] [class*=looker]");
    const idle = !document.activeElement || document.activeElement === document.body;
    if (looker && typeof looker.focus === "function" && idle) {
      if (!looker.hasAttribute("tabindex")) looker.setAttribute("tabindex", "-1");
      looker.focus({ preventScroll: true });
    }
    if (performance.now() < deadline) setTimeout(() => focusModalLooker(deadline), 100);
  }
  function lruGet(cache, key, make, limit) {
    let value = cache.get(key);
    if (value !== void 0) {
      cache.delete(key);
      cache.set(key, value);
      return value;
    }
    value = make();
    cache.set(key, value);
    while (cache.size > limit) {
      const [, old] = cache.entries().next().value;
      if (old && old.src !== void 0) old.src = "";
      cache.delete(cache.keys().next().value);
    }
    return value;
  }
  function fmt(v) {
    if (v === null || v === void 0 || !Number.isFinite(v)) return "";
    const a = Math.abs(v);
    return a !== 0 && (a < 0.01 || a >= 1e5) ? v.toExponential(2) : String(Math.round(v * 1e3) / 1e3);
  }
  const PREFIX = "gridtsne:";
  const once = /* @__PURE__ */ new Set();
  function mark(name) {
    performance.mark(PREFIX + name);
  }
  function markOnce(name) {
    if (once.has(name)) return;
    once.add(name);
    mark(name);
  }
  function resetMarks() {
    once.clear();
    mark("mounted");
  }
  const debugOn = () => Boolean(window.__GRIDTSNE_DEBUG__);
  function expose(element, facts) {
    if (element && debugOn()) Object.assign(element.dataset, facts);
  }
  const mui = () => typeof window !== "undefined" && window.__mui__ || null;
  function Btn({ active = false, children, style, ...props }) {
    const m = mui();
    if (m && m.Button) {
      return /* @__PURE__ */ React.createElement(
        m.Button,
        {
          size: "small",
          variant: active ? "contained" : "outlined",
          color: active ? "primary" : "inherit",
          "aria-pressed": active,
          sx: { textTransform: "none", minWidth: 0, px: 1, py: 0, lineHeight: 1.6, ...style },
          ...props
        },
        children
      );
    }
    const look = active ? { background: "#555", borderColor: "#ddd" } : {};
    return /* @__PURE__ */ React.createElement("button", { style: { ...BUTTON, ...look, ...style }, "aria-pressed": active, ...props }, children);
  }
  function Choice({ value, onChange, onFocus, testid, title, children }) {
    const m = mui();
    if (m && m.NativeSelect) {
      return /* @__PURE__ */ React.createElement(
        m.NativeSelect,
        {
          value,
          onChange,
          onFocus,
          title,
          size: "small",
          disableUnderline: false,
          sx: { fontSize: 13 },
          inputProps: { "data-testid": testid }
        },
        children
      );
    }
    return /* @__PURE__ */ React.createElement(
      "select",
      {
        value,
        onChange,
        onFocus,
        title,
        style: { ...BUTTON, padding: "2px 4px" },
        "data-testid": testid
      },
      children
    );
  }
  const ICONS = {
    refresh: "M12 5V2L8 6l4 4V7a5 5 0 1 1-5 5H5a7 7 0 1 0 7-7z",
    pan: "M12 2l3 3h-2v4h-2V5H9l3-3zm0 20l-3-3h2v-4h2v4h2l-3 3zM2 12l3-3v2h4v2H5v2l-3-3zm20 0l-3 3v-2h-4v-2h4V9l3 3z",
    box: "M3 3h4v2H5v2H3V3zm6 0h6v2H9V3zm8 0h4v4h-2V5h-2V3zM3 9h2v6H3V9zm16 0h2v6h-2V9zM3 17h2v2h2v2H3v-4zm6 2h6v2H9v-2zm10-2h2v4h-4v-2h2v-2z",
    lasso: "M12 4C7 4 3 6.7 3 10s4 6 9 6 9-2.7 9-6-4-6-9-6zm0 10c-3.9 0-7-1.8-7-4s3.1-4 7-4 7 1.8 7 4-3.1 4-7 4zM8 15.5L6.5 21l2-.8 1.2-4.2z",
    zoomIn: "M11 5h2v6h6v2h-6v6h-2v-6H5v-2h6z",
    zoomOut: "M5 11h14v2H5z",
    fit: "M3 3h6v2H5v4H3V3zm12 0h6v6h-2V5h-4V3zM3 15h2v4h4v2H3v-6zm16 0h2v6h-6v-2h4v-4z"
  };
  function IconBtn({ icon, label, active = false, ...props }) {
    const m = mui();
    const path = /* @__PURE__ */ React.createElement("path", { d: ICONS[icon] });
    if (m && m.IconButton && m.SvgIcon) {
      const button = /* @__PURE__ */ React.createElement(
        m.IconButton,
        {
          size: "small",
          "aria-label": label,
          "aria-pressed": active,
          color: active ? "primary" : "default",
          sx: { p: "3px" },
          ...props
        },
        /* @__PURE__ */ React.createElement(m.SvgIcon, { fontSize: "small" }, path)
      );
      return m.Tooltip ? /* @__PURE__ */ React.createElement(m.Tooltip, { title: label }, button) : button;
    }
    return /* @__PURE__ */ React.createElement(Btn, { active, "aria-label": label, title: label, ...props }, /* @__PURE__ */ React.createElement("svg", { width: "16", height: "16", viewBox: "0 0 24 24", fill: "currentColor" }, path));
  }
  const DEFAULT_POOL = [
    "#ee0000",
    "#ee6600",
    "#993300",
    "#996633",
    "#999900",
    "#009900",
    "#003300",
    "#009999",
    "#000099",
    "#0066ff",
    "#6600ff",
    "#cc33cc",
    "#777799"
  ];
  function categoryColors(scheme, colorMap, fieldPath, categories, counts) {
    const configured = valueColorsFor(scheme, fieldPath);
    const order = categories.map((_, k) => k).sort((a, b) => counts[b] - counts[a] || (categories[a] < categories[b] ? -1 : 1));
    const out = new Array(categories.length);
    for (const k of order) {
      const name = categories[k];
      out[k] = configured.get(name) || (colorMap ? colorMap(name) : fallbackColor(scheme, name));
    }
    return out;
  }
  function valueColorsFor(scheme, fieldPath) {
    const out = /* @__PURE__ */ new Map();
    const fields = scheme && scheme.fields || [];
    const parts = (fieldPath || "").split(".");
    const leaf = parts[parts.length - 1];
    const entry = fields.find((f) => f.path === fieldPath) || fields.find((f) => f.path === parts[0] && (f.colorByAttribute || "label") === leaf);
    for (const v of entry && entry.valueColors || []) if (v && v.color) out.set(String(v.value), v.color);
    return out;
  }
  function fallbackColor(scheme, value) {
    const pool = scheme && scheme.colorPool && scheme.colorPool.length && scheme.colorPool || DEFAULT_POOL;
    return pool[Math.abs(hashString(String(value))) % pool.length];
  }
  function hashString(str) {
    let hash = 0;
    for (let i = 0; i < str.length; i++) {
      hash = (hash << 5) - hash + str.charCodeAt(i);
      hash |= 0;
    }
    return hash;
  }
  function rgbOf(color) {
    if (color.startsWith("#")) {
      const hex = color.length === 4 ? color.slice(1).replace(/./g, (c) => c + c) : color.slice(1, 7);
      return [0, 2, 4].map((k) => parseInt(hex.slice(k, k + 2), 16));
    }
    const m = color.match(/\d+(\.\d+)?/g) || [0, 0, 0];
    return m.slice(0, 3).map(Number);
  }
  const VIRIDIS = [
    [68, 1, 84],
    [71, 44, 122],
    [59, 81, 139],
    [44, 113, 142],
    [33, 144, 141],
    [39, 173, 129],
    [92, 200, 99],
    [170, 220, 50],
    [253, 231, 37]
  ];
  function viridis(t) {
    const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (VIRIDIS.length - 1);
    const k = Math.min(VIRIDIS.length - 2, Math.floor(x));
    const f = x - k;
    return VIRIDIS[k].map((a, j) => Math.round(a + (VIRIDIS[k + 1][j] - a) * f));
  }
  function viridisGradient() {
    return `linear-gradient(to right, ${VIRIDIS.map((c) => `rgb(${c.join(",")})`).join(", ")})`;
  }
  function countInView(codes, inView, nCategories) {
    const out = new Array(nCategories).fill(0);
    for (let c = 0; c < codes.length; c++) {
      const k = codes[c];
      if (inView[c] && k >= 0 && k < nCategories) out[k]++;
    }
    return out;
  }
  function Legend({ coloring, colorData, inViewCounts, hiddenCats, setHiddenCats, range, setRange }) {
    if (!coloring) return null;
    if (coloring.kind === "continuous") {
      const [lo, hi] = range || [colorData.min, colorData.max];
      const input = (value, index) => /* @__PURE__ */ React.createElement(
        "input",
        {
          type: "number",
          step: "any",
          value: value === null || value === void 0 ? "" : value,
          onChange: (e) => {
            const v = Number(e.target.value);
            if (!Number.isFinite(v)) return;
            setRange(index === 0 ? [v, hi] : [lo, v]);
          },
          style: { ...BUTTON, width: 80, padding: "1px 4px" },
          "data-testid": index === 0 ? "gridtsne-range-min" : "gridtsne-range-max"
        }
      );
      return /* @__PURE__ */ React.createElement("div", { style: { display: "flex", gap: 8, alignItems: "center", paddingTop: 4 }, "data-testid": "gridtsne-colorbar" }, /* @__PURE__ */ React.createElement("span", null, colorData.field), input(fmt(lo) === "" ? lo : Number(fmt(lo)), 0), /* @__PURE__ */ React.createElement(
        "span",
        {
          "data-testid": "gridtsne-colorbar-gradient",
          style: { display: "inline-block", width: 200, height: 12, background: viridisGradient(), border: "1px solid #555" }
        }
      ), input(fmt(hi) === "" ? hi : Number(fmt(hi)), 1), /* @__PURE__ */ React.createElement(Btn, { onClick: () => setRange([colorData.min, colorData.max]) }, "reset"));
    }
    const toggle = (k) => setHiddenCats((old) => {
      const next = new Set(old);
      next.has(k) ? next.delete(k) : next.add(k);
      return next;
    });
    return /* @__PURE__ */ React.createElement("div", { style: { display: "flex", gap: 10, flexWrap: "wrap", paddingTop: 4 }, "data-testid": "gridtsne-legend" }, colorData.categories.map((name, k) => /* @__PURE__ */ React.createElement(
      "span",
      {
        key: name,
        onClick: () => toggle(k),
        title: "click to hide or show these cells",
        style: { cursor: "pointer", opacity: hiddenCats.has(k) ? 0.4 : 1, userSelect: "none" },
        "data-testid": "gridtsne-legend-entry",
        "data-name": name,
        "data-color": coloring.colors[k],
        "data-hidden": hiddenCats.has(k) ? "true" : "false"
      },
      /* @__PURE__ */ React.createElement(
        "span",
        {
          style: { display: "inline-block", width: 10, height: 10, border: `3px solid ${coloring.colors[k]}`, marginRight: 4 }
        }
      ),
      inViewCounts && inViewCounts[k] !== colorData.counts[k] ? `${name} (${inViewCounts[k]} of ${colorData.counts[k]})` : `${name} (${colorData.counts[k]})`
    )));
  }
  function RunPicker({ keys, pending, value, trigger }) {
    return /* @__PURE__ */ React.createElement(
      Choice,
      {
        value: value || "",
        onChange: (e) => trigger("on_change_key", { value: e.target.value }),
        onFocus: () => trigger("on_refresh", {}),
        title: "the grid run shown",
        testid: "gridtsne-key"
      },
      keys.map((k) => /* @__PURE__ */ React.createElement("option", { key: k, value: k }, k)),
      pending.map((p) => /* @__PURE__ */ React.createElement("option", { key: p.id, value: `pending:${p.id}`, disabled: true, "data-testid": "gridtsne-pending-run", "data-state": p.state }, p.key, " — ", p.state, p.state === "running" && p.progress != null ? ` ${Math.round(p.progress * 100)}%` : ""))
    );
  }
  function PendingLine({ pending }) {
    if (!pending.length) return null;
    return /* @__PURE__ */ React.createElement("div", { "data-testid": "gridtsne-pending", style: { ...ONE_LINE, color: "#aaa" } }, pending.map(
      (p) => `${p.key}: ${p.state}` + (p.state === "running" && p.progress != null ? ` ${Math.round(p.progress * 100)}%` : "") + (p.label ? ` (${p.label})` : "")
    ).join(" | "));
  }
  function EmptyState({ pending, trigger }) {
    return /* @__PURE__ */ React.createElement("div", { style: { padding: 16, color: "#bbb" }, "data-testid": "gridtsne-empty" }, pending.length ? /* @__PURE__ */ React.createElement(PendingLine, { pending }) : /* @__PURE__ */ React.createElement("span", null, "No grid runs on this dataset yet. Run ", /* @__PURE__ */ React.createElement("b", null, "Gridded t-SNE: compute similarity grid"), " from the operator menu.", " "), /* @__PURE__ */ React.createElement(Btn, { onClick: () => trigger("on_refresh", {}), "data-testid": "gridtsne-refresh" }, "Look again"));
  }
  const REGION_MODES = { off: "outlines", outlines: "purity", purity: "off" };
  function Toolbar({ runPicker, mode, setMode, zoom, fit, clear, trigger, colorField, colorFields, regionMode, setRegionMode }) {
    return /* @__PURE__ */ React.createElement("div", { style: { display: "flex", gap: 6, alignItems: "center", flexWrap: "wrap", padding: "4px 0" } }, runPicker, /* @__PURE__ */ React.createElement(
      IconBtn,
      {
        icon: "refresh",
        label: "look for runs added, deleted or recomputed since the panel opened",
        onClick: () => trigger("on_refresh", {}),
        "data-testid": "gridtsne-refresh"
      }
    ), ["pan", "box", "lasso"].map((m) => /* @__PURE__ */ React.createElement(
      IconBtn,
      {
        key: m,
        icon: m,
        active: mode === m,
        onClick: () => setMode(m),
        label: m === "pan" ? "pan: drag to move (shift-drag: box select)" : `${m} select: drag to select`,
        "data-testid": `gridtsne-mode-${m}`,
        "data-active": mode === m ? "true" : "false"
      }
    )), /* @__PURE__ */ React.createElement(IconBtn, { icon: "zoomIn", label: "zoom in", onClick: () => zoom(1.5), "data-testid": "gridtsne-zoom-in" }), /* @__PURE__ */ React.createElement(IconBtn, { icon: "zoomOut", label: "zoom out", onClick: () => zoom(1 / 1.5), "data-testid": "gridtsne-zoom-out" }), /* @__PURE__ */ React.createElement(IconBtn, { icon: "fit", label: "fit", onClick: fit, "data-testid": "gridtsne-fit" }), /* @__PURE__ */ React.createElement(Btn, { onClick: () => trigger("on_selection_to_view", {}), title: "make the selection the App's view", "data-testid": "gridtsne-to-view" }, "Selection to view"), /* @__PURE__ */ React.createElement(Btn, { onClick: clear, "data-testid": "gridtsne-clear-selection" }, "Clear selection"), regionMode !== null && /* @__PURE__ */ React.createElement(
      Btn,
      {
        active: regionMode !== "off",
        onClick: () => setRegionMode(REGION_MODES[regionMode]),
        title: "regions: off -> outlines and names -> coloured by label purity",
        "data-testid": "gridtsne-regions-toggle",
        "data-mode": regionMode
      },
      "regions",
      regionMode !== "off" ? `: ${regionMode}` : ""
    ), /* @__PURE__ */ React.createElement("label", { style: { display: "flex", gap: 4, alignItems: "center" } }, "colour by", /* @__PURE__ */ React.createElement(
      Choice,
      {
        value: colorField,
        onChange: (e) => trigger("on_color_by", { field: e.target.value }),
        testid: "gridtsne-color-by"
      },
      /* @__PURE__ */ React.createElement("option", { value: "" }, "none"),
      colorFields.map((f) => /* @__PURE__ */ React.createElement("option", { key: f.path, value: f.path }, f.path))
    )));
  }
  function StatusBar({ summary, metrics, appSelection, selectionText }) {
    return /* @__PURE__ */ React.createElement(React.Fragment, null, /* @__PURE__ */ React.createElement("div", { style: { display: "flex", height: 20, lineHeight: "20px", minWidth: 0 } }, /* @__PURE__ */ React.createElement("span", { "data-testid": "gridtsne-summary", style: { ...ONE_LINE, flexShrink: 0, maxWidth: "100%" }, title: summary }, summary), metrics && /* @__PURE__ */ React.createElement("span", { "data-testid": "gridtsne-metrics", style: { ...ONE_LINE, color: "#999", marginLeft: 10, minWidth: 0 }, title: metrics }, metrics)), /* @__PURE__ */ React.createElement(
      "div",
      {
        "data-testid": "gridtsne-selection",
        "data-app-selection": appSelection.sort().join(","),
        style: { height: 20, lineHeight: "20px", ...ONE_LINE }
      },
      selectionText
    ));
  }
  const TIP_WIDTH = 180;
  function HoverCard({ hover, info, size, value, colorField }) {
    const left = Math.min(hover.x + 14, size.width - TIP_WIDTH - 4);
    const top = hover.y + 150 > size.height ? Math.max(0, hover.y - 150) : hover.y + 14;
    return /* @__PURE__ */ React.createElement(
      "div",
      {
        "data-testid": "gridtsne-hover",
        style: {
          position: "absolute",
          left: Math.max(0, left),
          top,
          width: TIP_WIDTH,
          background: "rgba(20,20,20,0.92)",
          border: "1px solid #555",
          padding: 4,
          pointerEvents: "none",
          boxSizing: "border-box"
        }
      },
      info && info.filepath && /* @__PURE__ */ React.createElement(
        "img",
        {
          src: mediaUrl(info.filepath),
          alt: "",
          "data-testid": "gridtsne-hover-thumb",
          style: { display: "block", maxWidth: "100%", maxHeight: 110, margin: "0 auto 2px" }
        }
      ),
      /* @__PURE__ */ React.createElement("div", { style: ONE_LINE }, info ? `${info.name}${info.label != null ? ` | ${info.label}` : ""}` : "…"),
      value !== null && value !== void 0 && /* @__PURE__ */ React.createElement("div", { style: ONE_LINE }, colorField, ": ", fmt(value))
    );
  }
  const cellFiles = /* @__PURE__ */ new Map();
  const MAX_FILES = 4;
  const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
  function fetchCells(url, nCells, objects) {
    if (cellFiles.has(url)) return cellFiles.get(url);
    const promise = fetch(url).then((r) => {
      if (!r.ok) throw new Error(`cells file: HTTP ${r.status}`);
      return r.arrayBuffer();
    }).then((buffer) => makeCells(new Uint8Array(buffer), nCells, objects));
    promise.catch(() => cellFiles.delete(url));
    cellFiles.set(url, promise);
    while (cellFiles.size > MAX_FILES) cellFiles.delete(cellFiles.keys().next().value);
    return promise;
  }
  function makeCells(bytes, nCells, objects) {
    const ids = bytes.subarray(0, nCells * 12);
    const sampleIds = objects ? bytes.subarray(nCells * 12, nCells * 24) : null;
    const occupied = new Uint8Array(nCells);
    let count = 0;
    for (let c = 0; c < nCells; c++) {
      const o = c * 12;
      if (ids[o] | ids[o + 1] | ids[o + 2] | ids[o + 3]) {
        occupied[c] = 1;
        count++;
      }
    }
    let idMap = null;
    let bySample = null;
    const hexAt = (arr, c) => {
      let s = "";
      for (let k = c * 12, end = k + 12; k < end; k++) s += HEX[arr[k]];
      return s;
    };
    return {
      nCells,
      count,
      occupied,
      idAt: (c) => c >= 0 && c < nCells && occupied[c] ? hexAt(ids, c) : null,
      sampleIdAt: (c) => sampleIds && c >= 0 && c < nCells && occupied[c] ? hexAt(sampleIds, c) : null,
      /** cell of an item id, or undefined (the map is built on first use) */
      cellOf: (id) => {
        if (!idMap) {
          idMap = /* @__PURE__ */ new Map();
          for (let c = 0; c < nCells; c++) if (occupied[c]) idMap.set(hexAt(ids, c), c);
        }
        return idMap.get(id);
      },
      /** cells of the objects of a sample (runs of objects) */
      cellsOfSample: (id) => {
        if (!sampleIds) return [];
        if (!bySample) {
          bySample = /* @__PURE__ */ new Map();
          for (let c = 0; c < nCells; c++) {
            if (!occupied[c]) continue;
            const s = hexAt(sampleIds, c);
            if (!bySample.has(s)) bySample.set(s, []);
            bySample.get(s).push(c);
          }
        }
        return bySample.get(id) || [];
      }
    };
  }
  function bytesOf(b64) {
    const bin = atob(b64);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  function decodeMask(b64, nCells) {
    const bits = bytesOf(b64);
    const out = new Uint8Array(nCells);
    for (let c = 0; c < nCells; c++) out[c] = bits[c >> 3] >> (c & 7) & 1;
    return out;
  }
  const NO_CATEGORY = 65535;
  function decodeCodes(b64) {
    const b = bytesOf(b64);
    return new Uint16Array(b.buffer, b.byteOffset, b.byteLength / 2);
  }
  function decodeValues(b64) {
    const b = bytesOf(b64);
    return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  }
  function decodeFloat64(b64) {
    const b = bytesOf(b64);
    return new Float64Array(b.buffer, b.byteOffset, b.byteLength / 8);
  }
  const DIM = [0, 0, 0, 200];
  const SELECTED = [255, 255, 255, 170];
  const HIDDEN = [24, 24, 24, 255];
  const FILL_ALPHA = 120;
  const BORDER_FROM_PX = 10;
  function fitView(width, height, rows, cols) {
    const scale = Math.max(1e-6, Math.min(width / cols, height / rows));
    return { scale, x: (width - cols * scale) / 2, y: (height - rows * scale) / 2 };
  }
  function resizeView(view, oldSize, newSize) {
    if (!view) return view;
    return {
      scale: view.scale,
      x: view.x + (newSize.width - oldSize.width) / 2,
      y: view.y + (newSize.height - oldSize.height) / 2
    };
  }
  function zoomAt(view, factor, sx, sy, minScale, maxScale) {
    const scale = Math.min(maxScale, Math.max(minScale, view.scale * factor));
    const k = scale / view.scale;
    return { scale, x: sx - (sx - view.x) * k, y: sy - (sy - view.y) * k };
  }
  function toGrid(view, sx, sy) {
    return [(sx - view.x) / view.scale, (sy - view.y) / view.scale];
  }
  function hit(view, occupied, rows, cols, sx, sy) {
    const [gx, gy] = toGrid(view, sx, sy);
    const c = Math.floor(gx);
    const r = Math.floor(gy);
    if (r < 0 || c < 0 || r >= rows || c >= cols) return -1;
    const cell = r * cols + c;
    return occupied && occupied[cell] ? cell : -1;
  }
  function inPolygon(view, occupied, rows, cols, polygon) {
    const pts = polygon.map(([sx, sy]) => toGrid(view, sx, sy));
    const xs = pts.map((p) => p[0]);
    const ys = pts.map((p) => p[1]);
    const c0 = Math.max(0, Math.floor(Math.min(...xs)));
    const c1 = Math.min(cols - 1, Math.ceil(Math.max(...xs)));
    const r0 = Math.max(0, Math.floor(Math.min(...ys)));
    const r1 = Math.min(rows - 1, Math.ceil(Math.max(...ys)));
    const out = [];
    for (let r = r0; r <= r1; r++) {
      for (let c = c0; c <= c1; c++) {
        const cell = r * cols + c;
        if (!occupied[cell]) continue;
        const x = c + 0.5;
        const y = r + 0.5;
        let inside = false;
        for (let a = 0, b = pts.length - 1; a < pts.length; b = a++) {
          const [xa, ya] = pts[a];
          const [xb, yb] = pts[b];
          if (ya > y !== yb > y && x < (xb - xa) * (y - ya) / (yb - ya) + xa) inside = !inside;
        }
        if (inside) out.push(cell);
      }
    }
    return out;
  }
  function visibleCells(view, rows, cols, width, height) {
    const [gx0, gy0] = toGrid(view, 0, 0);
    const [gx1, gy1] = toGrid(view, width, height);
    return {
      r0: Math.max(0, Math.floor(gy0)),
      r1: Math.min(rows - 1, Math.floor(gy1)),
      c0: Math.max(0, Math.floor(gx0)),
      c1: Math.min(cols - 1, Math.floor(gx1))
    };
  }
  function overlayCanvas(rows, cols, occupied, { fill, hidden, inView }) {
    const canvas = document.createElement("canvas");
    canvas.width = cols;
    canvas.height = rows;
    const ctx = canvas.getContext("2d");
    const image = ctx.createImageData(cols, rows);
    const px = image.data;
    const put = (cell, [r, g, b, a]) => {
      const o = cell * 4;
      const ao = px[o + 3] / 255;
      const an = a / 255;
      const out = an + ao * (1 - an);
      if (out <= 0) return;
      px[o] = (r * an + px[o] * ao * (1 - an)) / out;
      px[o + 1] = (g * an + px[o + 1] * ao * (1 - an)) / out;
      px[o + 2] = (b * an + px[o + 2] * ao * (1 - an)) / out;
      px[o + 3] = out * 255;
    };
    const n = rows * cols;
    for (let cell = 0; cell < n; cell++) {
      if (!occupied[cell]) continue;
      if (hidden && hidden[cell]) {
        put(cell, HIDDEN);
        continue;
      }
      if (fill) {
        const o = cell * 4;
        if (fill[o + 3]) put(cell, [fill[o], fill[o + 1], fill[o + 2], FILL_ALPHA]);
      }
      if (inView && !inView[cell]) put(cell, DIM);
    }
    ctx.putImageData(image, 0, 0);
    return canvas;
  }
  function pickLevel(tiles, cellPx, wanted) {
    const top = tiles.levels - 1;
    for (let lv = 0; lv <= top; lv++) {
      if (cellPx / 2 ** (top - lv) >= wanted) return lv;
    }
    return top;
  }
  function draw(ctx, width, height, view, grid, overview, overlay, getTile, beforeOverlay) {
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
    if (beforeOverlay) loading += beforeOverlay();
    if (overlay) {
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(overlay, view.x, view.y, gw, gh);
    }
    return loading;
  }
  function cellRect(view, cols, cell) {
    const r = Math.floor(cell / cols);
    const c = cell - r * cols;
    return [view.x + c * view.scale, view.y + r * view.scale, view.scale];
  }
  function drawSharp(ctx, view, cols, cells, imageOf) {
    let missing = 0;
    ctx.imageSmoothingEnabled = true;
    for (const cell of cells) {
      const got = imageOf(cell);
      if (!got) {
        missing++;
        continue;
      }
      if (got.skip) continue;
      const { img, box } = got;
      const [x, y, s] = cellRect(view, cols, cell);
      let sx = 0;
      let sy = 0;
      let sw = img.naturalWidth;
      let sh = img.naturalHeight;
      if (box) {
        sx = box[0] * sw;
        sy = box[1] * sh;
        sw = (box[2] - box[0]) * sw;
        sh = (box[3] - box[1]) * sh;
      }
      const side = Math.min(sw, sh);
      ctx.drawImage(img, sx + (sw - side) / 2, sy + (sh - side) / 2, side, side, x, y, s, s);
    }
    return missing;
  }
  function drawBorders(ctx, view, cols, cells, colorOf, inView) {
    const lw = Math.max(2, view.scale * 0.08);
    ctx.lineWidth = lw;
    for (const cell of cells) {
      const color = colorOf(cell);
      if (!color) continue;
      const [x, y, s] = cellRect(view, cols, cell);
      ctx.strokeStyle = color;
      ctx.globalAlpha = inView && !inView[cell] ? 1 - DIM[3] / 255 : 1;
      ctx.strokeRect(x + lw / 2, y + lw / 2, s - lw, s - lw);
    }
    ctx.globalAlpha = 1;
  }
  function fillSelected(ctx, view, cols, cells, hidden) {
    ctx.fillStyle = `rgba(${SELECTED[0]},${SELECTED[1]},${SELECTED[2]},${SELECTED[3] / 255})`;
    const s = Math.max(1, view.scale);
    for (const cell of cells) {
      if (hidden && hidden[cell]) continue;
      const [x, y] = cellRect(view, cols, cell);
      ctx.fillRect(x, y, s, s);
    }
  }
  function drawSelected(ctx, view, cols, cells) {
    const lw = Math.max(2, view.scale * 0.06);
    for (const [colour, width] of [["#000000", lw * 2], ["#ffffff", lw]]) {
      ctx.lineWidth = width;
      ctx.strokeStyle = colour;
      for (const cell of cells) {
        const [x, y, s] = cellRect(view, cols, cell);
        ctx.strokeRect(x + lw * 2, y + lw * 2, s - lw * 4, s - lw * 4);
      }
    }
  }
  function drawCurrent(ctx, view, cols, cell) {
    const [x, y, s] = cellRect(view, cols, cell);
    const size = Math.max(14, s + 6);
    const cx = x + s / 2;
    const cy = y + s / 2;
    ctx.lineWidth = 4;
    ctx.strokeStyle = "#000000";
    ctx.strokeRect(cx - size / 2, cy - size / 2, size, size);
    ctx.lineWidth = 2;
    ctx.strokeStyle = "#ffffff";
    ctx.setLineDash([4, 3]);
    ctx.strokeRect(cx - size / 2, cy - size / 2, size, size);
    ctx.setLineDash([]);
  }
  const EMPTY = 255;
  const FADE_FROM = 2;
  const GONE_AT = 4;
  function decodeRegionMap(b64, nCells) {
    const out = new Uint8Array(nCells).fill(EMPTY);
    out.set(bytesOf(b64).subarray(0, nCells));
    return out;
  }
  function regionEdges(map, rows, cols) {
    const out = [];
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const a = map[r * cols + c];
        if (c + 1 < cols) {
          const b = map[r * cols + c + 1];
          if (a !== b && (a !== EMPTY || b !== EMPTY)) out.push([c + 1, r, c + 1, r + 1]);
        }
        if (r + 1 < rows) {
          const b = map[(r + 1) * cols + c];
          if (a !== b && (a !== EMPTY || b !== EMPTY)) out.push([c, r + 1, c + 1, r + 1]);
        }
      }
    }
    return out;
  }
  function nameAlpha(scale, fit) {
    const zoomed = scale / fit;
    if (zoomed <= FADE_FROM) return 1;
    if (zoomed >= GONE_AT) return 0;
    return 1 - (zoomed - FADE_FROM) / (GONE_AT - FADE_FROM);
  }
  function overlaps(a, b) {
    return a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
  }
  function placeNames(regions, view, measure, height = 14, bounds = null) {
    const placed = [];
    const order = regions.map((r, i) => i).sort((a, b) => regions[b].count - regions[a].count);
    for (const i of order) {
      const reg = regions[i];
      const text = reg.name;
      const w = measure(text) + 8;
      let cx = view.x + (reg.centre[1] + 0.5) * view.scale;
      if (bounds) cx = Math.max(w / 2, Math.min(bounds.width - w / 2, cx));
      const cy = view.y + (reg.centre[0] + 0.5) * view.scale;
      for (const [dx, dy] of [[0, 0], [0, -height - 2], [0, height + 2], [-w / 2, 0], [w / 2, 0]]) {
        const box = { x0: cx + dx - w / 2, x1: cx + dx + w / 2, y0: cy + dy - height / 2, y1: cy + dy + height / 2 };
        if (!placed.some((p) => overlaps(p.box, box))) {
          placed.push({ id: reg.id, text, x: cx + dx, y: cy + dy, box });
          break;
        }
      }
    }
    return placed;
  }
  function purityColor(share) {
    const t = Math.max(0, Math.min(1, (share - 0.5) / 0.5));
    return [Math.round(230 * (1 - t) + 40 * t), Math.round(60 * (1 - t) + 190 * t), 60];
  }
  function purityCanvas(map, rows, cols, regions) {
    const canvas = document.createElement("canvas");
    canvas.width = cols;
    canvas.height = rows;
    const ctx = canvas.getContext("2d");
    const image = ctx.createImageData(cols, rows);
    const colors = regions.map((r) => r.label_share == null ? null : purityColor(r.label_share));
    for (let i = 0; i < map.length; i++) {
      const rgb = map[i] === EMPTY ? null : colors[map[i]];
      if (!rgb) continue;
      image.data.set([rgb[0], rgb[1], rgb[2], 120], i * 4);
    }
    ctx.putImageData(image, 0, 0);
    return canvas;
  }
  function decodeRegions(grid) {
    const payload = grid && grid.regions;
    if (!payload || !payload.entries.length) return null;
    const map = decodeRegionMap(payload.map, grid.rows * grid.cols);
    return { entries: payload.entries, map, edges: regionEdges(map, grid.rows, grid.cols), purity: null };
  }
  function drawRegions(ctx, view, grid, regions, mode) {
    if (!regions || mode === "off") return 0;
    const s = view.scale;
    if (mode === "purity") {
      if (!regions.purity) regions.purity = purityCanvas(regions.map, grid.rows, grid.cols, regions.entries);
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(regions.purity, view.x, view.y, grid.cols * s, grid.rows * s);
    }
    ctx.save();
    ctx.strokeStyle = "rgba(255,255,255,0.9)";
    ctx.lineWidth = Math.max(1, Math.min(3, s / 10));
    ctx.beginPath();
    for (const [x0, y0, x1, y1] of regions.edges) {
      ctx.moveTo(view.x + x0 * s, view.y + y0 * s);
      ctx.lineTo(view.x + x1 * s, view.y + y1 * s);
    }
    ctx.stroke();
    const alpha = nameAlpha(s, fitView(ctx.canvas.width, ctx.canvas.height, grid.rows, grid.cols).scale);
    let drawn = 0;
    if (alpha > 0) {
      ctx.font = "12px sans-serif";
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      const names = placeNames(regions.entries, view, (t) => ctx.measureText(t).width, 14, ctx.canvas);
      ctx.globalAlpha = alpha;
      for (const n of names) {
        ctx.fillStyle = "rgba(0,0,0,0.75)";
        ctx.fillRect(n.box.x0, n.box.y0, n.box.x1 - n.box.x0, n.box.y1 - n.box.y0);
        ctx.fillStyle = "#fff";
        ctx.fillText(n.text, n.x, n.y);
      }
      drawn = names.length;
    }
    ctx.restore();
    return drawn;
  }
  function drawSimilar(ctx, view, cols, cells, query) {
    if (!cells.length && query == null) return;
    const s = view.scale;
    ctx.save();
    ctx.strokeStyle = "#00e5ff";
    ctx.lineWidth = Math.max(2, Math.min(4, s / 6));
    const ring = (cell, pad) => {
      const r = Math.floor(cell / cols);
      const c = cell - r * cols;
      const x = view.x + c * s;
      const y = view.y + r * s;
      const m = Math.max(4, s);
      ctx.strokeRect(x + s / 2 - m / 2 - pad, y + s / 2 - m / 2 - pad, m + 2 * pad, m + 2 * pad);
    };
    for (const cell of cells) ring(cell, 1);
    if (query != null) {
      ctx.strokeStyle = "#ffea00";
      ring(query, 3);
    }
    ctx.restore();
  }
  function useRegions(grid) {
    return React.useMemo(() => decodeRegions(grid), [grid && grid.key, grid && grid.version]);
  }
  function RegionList({ regions, trigger }) {
    if (!regions) return null;
    return /* @__PURE__ */ React.createElement(
      "div",
      {
        "data-testid": "gridtsne-regions",
        style: { maxHeight: 140, overflowY: "auto", borderTop: "1px solid #333", padding: "2px 0" }
      },
      regions.entries.map((r) => /* @__PURE__ */ React.createElement("div", { key: r.id, style: { display: "flex", gap: 6, alignItems: "center" }, "data-testid": "gridtsne-region" }, /* @__PURE__ */ React.createElement("span", { style: { ...ONE_LINE, flex: 1 }, title: r.name }, r.name), /* @__PURE__ */ React.createElement("span", { style: { color: "#aaa" } }, r.count), /* @__PURE__ */ React.createElement(
        Btn,
        {
          onClick: () => trigger("on_region", { region: r.id, action: "select" }),
          "data-testid": `gridtsne-region-select-${r.id}`
        },
        "select"
      ), /* @__PURE__ */ React.createElement(
        Btn,
        {
          onClick: () => trigger("on_region", { region: r.id, action: "filter" }),
          "data-testid": `gridtsne-region-filter-${r.id}`
        },
        "view"
      )))
    );
  }
  function SimilarBar({ similar, cellsFound, trigger, clear }) {
    if (!similar) return null;
    return /* @__PURE__ */ React.createElement("div", { "data-testid": "gridtsne-similar", "data-count": String(cellsFound), style: { ...ONE_LINE, color: "#00e5ff" } }, similar.error ? similar.error : `${similar.ids.length} most similar to ${similar.name || similar.query}`, " ", !similar.error && /* @__PURE__ */ React.createElement(
      Btn,
      {
        onClick: () => trigger("on_ids_to_view", { ids: [similar.query, ...similar.ids] }),
        "data-testid": "gridtsne-similar-to-view"
      },
      "make them the view"
    ), /* @__PURE__ */ React.createElement(Btn, { onClick: clear }, "clear"));
  }
  function CellMenu({ menu, close, trigger, k = 10 }) {
    if (!menu) return null;
    return /* @__PURE__ */ React.createElement(
      "div",
      {
        "data-testid": "gridtsne-cell-menu",
        style: { position: "absolute", left: menu.x, top: menu.y, background: "#262626", border: "1px solid #555", zIndex: 2 },
        onMouseLeave: close
      },
      /* @__PURE__ */ React.createElement(
        "button",
        {
          style: { ...BUTTON, border: "none", display: "block" },
          "data-testid": "gridtsne-similar-images",
          onClick: () => {
            trigger("on_similar", { id: menu.id, k });
            close();
          }
        },
        "Similar images"
      )
    );
  }
  function useColoring({ data, version, grid, objects, nCells, cells, colorScheme, colorMap }) {
    const [hiddenCats, setHiddenCats] = React.useState(() => /* @__PURE__ */ new Set());
    const [range, setRange] = React.useState(null);
    const colorData = data.color && data.color.version === version ? data.color : null;
    const colorField = colorData ? colorData.field : null;
    React.useEffect(() => {
      setHiddenCats(/* @__PURE__ */ new Set());
      setRange(colorData && colorData.kind === "continuous" ? [colorData.min, colorData.max] : null);
    }, [colorField, colorData && colorData.min, colorData && colorData.max, version]);
    const continuous = Boolean(colorData && colorData.kind === "continuous");
    const colorPayload = colorData && colorData.field ? continuous ? colorData.values : colorData.codes : null;
    const decoded = React.useMemo(
      () => colorPayload == null ? null : continuous ? decodeValues(colorPayload) : decodeCodes(colorPayload),
      [colorPayload, continuous]
    );
    const colors = colorData && colorData.field && !continuous ? categoryColors(
      colorScheme,
      colorMap,
      grid && objects ? `${grid.field}.${colorData.field}` : colorData.field,
      colorData.categories,
      colorData.counts
    ) : null;
    const colorsKey = colors ? colors.join(" ") : "";
    const coloring = React.useMemo(() => {
      if (!decoded || !nCells) return null;
      if (continuous) return { kind: "continuous", values: decoded };
      return { kind: "categorical", codes: decoded, colors, rgb: colors.map(rgbOf) };
    }, [decoded, colorsKey, nCells]);
    const layers = React.useMemo(() => {
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
    const colorOf = React.useCallback(
      (c) => {
        const f = layers.fill;
        if (!f || !f[c * 4 + 3] || layers.hidden && layers.hidden[c]) return null;
        return `rgb(${f[c * 4]},${f[c * 4 + 1]},${f[c * 4 + 2]})`;
      },
      [layers]
    );
    return { colorData, colorField, decoded, coloring, hiddenCats, setHiddenCats, range, setRange, layers, colorOf };
  }
  const MAX_TILES = 400;
  const MAX_IMAGES = 600;
  function useMosaicImages({ grid, version, info, redrawRef }) {
    const tileCache = React.useRef(/* @__PURE__ */ new Map());
    const imageCache = React.useRef(/* @__PURE__ */ new Map());
    React.useEffect(() => {
      tileCache.current = /* @__PURE__ */ new Map();
    }, [grid && grid.key, version, grid && grid.rows, grid && grid.cols]);
    const [overview, setOverview] = React.useState(null);
    React.useEffect(() => {
      if (!grid) {
        setOverview(null);
        return void 0;
      }
      const img = new Image();
      img.onload = () => redrawRef.current();
      img.src = mediaUrl(grid.mosaic_path, grid.version);
      setOverview(img);
      return () => {
        img.onload = null;
      };
    }, [grid && grid.mosaic_path, version]);
    const getTile = React.useCallback(
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
    const sharpImage = React.useCallback(
      (cell) => {
        const it = info.get(cell);
        if (!it || !it.filepath) return null;
        const img = lruGet(
          imageCache.current,
          it.filepath,
          () => {
            const im = new Image();
            im.onload = () => redrawRef.current();
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
    return { overview, getTile, sharpImage };
  }
  const ASK_AGAIN_MS = 3e3;
  function useRunCells({ grid, objects, data, trigger, redrawRef, onNewRun }) {
    const [cells, setCells] = React.useState(null);
    const [cellsError, setCellsError] = React.useState(null);
    const [info, setInfo] = React.useState(() => /* @__PURE__ */ new Map());
    const asked = React.useRef(/* @__PURE__ */ new Map());
    const version = grid ? grid.version : null;
    React.useEffect(() => {
      setCells(null);
      setCellsError(null);
      setInfo(/* @__PURE__ */ new Map());
      asked.current = /* @__PURE__ */ new Map();
      onNewRun();
      if (!grid) return void 0;
      let live = true;
      fetchCells(mediaUrl(grid.cells_path, grid.version), grid.rows * grid.cols, objects).then((c) => {
        if (!live) return;
        markOnce("cells");
        setCells(c);
        (window.requestIdleCallback || setTimeout)(() => c.cellOf(""));
      }).catch((e) => live && setCellsError(String(e)));
      return () => {
        live = false;
      };
    }, [grid && grid.cells_path, version]);
    React.useEffect(() => {
      const got = data.info;
      if (!got || got.version !== version || !got.cells) return;
      setInfo((old) => {
        const next = new Map(old);
        for (const [cell, value] of Object.entries(got.cells)) next.set(Number(cell), value);
        return next;
      });
    }, [data.info]);
    const askInfo = React.useCallback(
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
    return { cells, cellsError, info, askInfo };
  }
  const RESEND_SELECTION_MS = 400;
  function useSelectionSync(selected, setAppSelected, viewKey) {
    const wanted = React.useRef(null);
    const resent = React.useRef(null);
    const setSelected = React.useCallback((next) => {
      wanted.current = selectionKey(next);
      setAppSelected(next);
    }, [setAppSelected]);
    const resendSelection = React.useCallback((current) => {
      wanted.current = null;
      resent.current = copySelection(current);
      setAppSelected(resent.current);
    }, [setAppSelected]);
    React.useEffect(() => {
      wanted.current = null;
    }, [viewKey]);
    React.useEffect(() => {
      if (!selected || selected === resent.current) return void 0;
      if (wanted.current === null || selectionKey(selected) !== wanted.current) return void 0;
      const timer = setTimeout(() => {
        if (wanted.current !== null) resendSelection(selected);
      }, RESEND_SELECTION_MS);
      return () => clearTimeout(timer);
    }, [selected, resendSelection, viewKey]);
    return { setSelected, resendSelection };
  }
  function usePointerTools({
    ready,
    grid,
    cells,
    objects,
    mode,
    size,
    viewRef,
    canvasRef,
    dragRef,
    userMoved,
    redraw,
    selectedCells,
    appSelected,
    setSelected,
    hidden,
    askInfo,
    setHover,
    trigger
  }) {
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
    const hoverAt = (p) => {
      const c = hit(viewRef.current, cells.occupied, grid.rows, grid.cols, p[0], p[1]);
      if (selectable(c)) {
        askInfo([c]);
        setHover({ cell: c, x: p[0], y: p[1] });
      } else setHover(null);
    };
    const onWheel = (e) => {
      e.preventDefault();
      if (!ready) return;
      const [sx, sy] = pointer(e);
      zoom(Math.exp(-e.deltaY * 15e-4), sx, sy);
      hoverAt([sx, sy]);
    };
    const wheelRef = React.useRef(onWheel);
    wheelRef.current = onWheel;
    React.useEffect(() => {
      const canvas = canvasRef.current;
      if (!canvas) return void 0;
      const listener = (e) => wheelRef.current(e);
      canvas.addEventListener("wheel", listener, { passive: false });
      return () => canvas.removeEventListener("wheel", listener);
    }, [Boolean(grid)]);
    const asSelection = (cellList, current) => {
      if (objects) {
        return cellList.map((c) => ({
          labelId: cells.idAt(c),
          sampleId: cells.sampleIdAt(c),
          field: grid.field,
          type: "default"
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
    const selectable = (c) => c >= 0 && !(hidden && hidden[c]);
    const beforeClick = React.useRef(null);
    const onMouseDown = (e) => {
      if (!ready) return;
      canvasRef.current.focus({ preventScroll: true });
      const p = pointer(e);
      dragRef.current = { start: p, last: p, path: [p], moved: false };
      setHover(null);
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
      hoverAt(p);
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
          d.path.forEach(([x, y], k) => k ? ctx.lineTo(x, y) : ctx.moveTo(x, y));
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
      if (d.moved) hoverAt(p);
      const shape = e.shiftKey && mode === "pan" ? "box" : mode;
      if (!d.moved) {
        if (e.detail >= 2) {
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
      const polygon = shape === "box" ? [[x0, y0], [p[0], y0], [p[0], p[1]], [x0, p[1]]] : d.path.concat([p]);
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
    const [menu, setMenu] = React.useState(null);
    const onContextMenu = (e) => {
      if (!ready || objects) return;
      const [sx, sy] = pointer(e);
      const c = hit(viewRef.current, cells.occupied, grid.rows, grid.cols, sx, sy);
      if (c < 0) return;
      e.preventDefault();
      setMenu({ x: sx, y: sy, cell: c, id: cells.idAt(c) });
    };
    return { zoom, asSelection, onMouseDown, onMouseMove, onMouseUp, onDoubleClick, onContextMenu, menu, setMenu };
  }
  const listeners = /* @__PURE__ */ new Set();
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
            console.error("gridtsne: a pushed view's listener failed", e);
          }
        }
      }
      return out;
    };
  }
  function onPushedView(listener) {
    wrap();
    listeners.add(listener);
    return () => listeners.delete(listener);
  }
  const SAMPLE_STAGES = new Set(
    ["Exclude", "Exists", "Limit", "Match", "MatchTags", "Select", "SelectBy", "Shuffle", "Skip", "SortBy", "Take"].map(
      (s) => `fiftyone.core.stages.${s}`
    )
  );
  function choosesSamplesOnly(stages) {
    return (stages || []).every((s) => s && SAMPLE_STAGES.has(s._cls));
  }
  function predictFilters(filters, base, coloring) {
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
  function labelFilter(path, args, coloring) {
    if (!path.endsWith(".label") || path !== coloring.field || !args) return null;
    const values = args.values;
    if (!Array.isArray(values) || !values.length) return null;
    const other = coloring.categories.indexOf("(other)");
    const known = new Map(coloring.categories.map((name, k) => [name, k]));
    const codes = /* @__PURE__ */ new Set();
    for (const v of values) {
      if (typeof v !== "string" || v === "(other)") return null;
      if (known.has(v)) codes.add(known.get(v));
      else if (other >= 0) return null;
    }
    if (!args.exclude) return (code) => codes.has(code);
    if (!args.isMatching) return true;
    return (code) => code === NO_CATEGORY || !codes.has(code);
  }
  function countOf(mask) {
    let n = 0;
    for (let c = 0; c < mask.length; c++) n += mask[c];
    return n;
  }
  function maskHash(mask) {
    let h = 2166136261;
    for (let c = 0; c < mask.length; c++) {
      if (!mask[c]) continue;
      h ^= c & 255;
      h = Math.imul(h, 16777619);
      h ^= c >>> 8;
      h = Math.imul(h, 16777619);
    }
    return (h >>> 0).toString(16);
  }
  const UNKNOWN = Symbol("unknown");
  const NOT_HERE = new Error("not predictable here");
  const ORDER_ONLY = /* @__PURE__ */ new Set(["fiftyone.core.stages.SortBy", "fiftyone.core.stages.Shuffle"]);
  function predictView(stages, run) {
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
  function stageFilter(cls, kwargs, run) {
    const name = cls.replace("fiftyone.core.stages.", "");
    if (name === "Select" || name === "Exclude") {
      const ids = kwargs.sample_ids;
      if (!Array.isArray(ids)) return null;
      const chosen = /* @__PURE__ */ new Set();
      for (const id of ids) {
        const c = run.cellOf(String(id));
        if (c !== void 0) chosen.add(c);
      }
      return name === "Select" ? (c) => chosen.has(c) : (c) => !chosen.has(c);
    }
    if (name === "Exists") {
      const col = columnOf(kwargs.field, run);
      if (!col || col.kind !== "continuous") return null;
      const want = kwargs.bool !== false;
      return (c) => col.isNull(c) ? !want : want;
    }
    if (name === "Match") {
      const filter = kwargs.filter;
      if (!filter || typeof filter !== "object" || Object.keys(filter).length !== 1 || !("$expr" in filter)) {
        return null;
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
    if (col === void 0) {
      run.need.add(path);
      return void 0;
    }
    if (col === null) throw NOT_HERE;
    return col;
  }
  function compile(e, run) {
    if (typeof e === "number" || typeof e === "boolean" || e === null) return () => e;
    if (typeof e === "string") {
      if (!e.startsWith("$")) return () => e;
      const col = columnOf(e.slice(1), run);
      if (!col) return null;
      if (col.kind === "continuous") return (c) => col.isNull(c) ? UNKNOWN : col.values[c];
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
  const TYPE_RANK = { object: 1, number: 2, string: 3, boolean: 8 };
  function compareBson(x, y) {
    const rx = TYPE_RANK[typeof x];
    const ry = TYPE_RANK[typeof y];
    if (rx === void 0 || ry === void 0 || typeof x === "object" && x !== null || typeof y === "object" && y !== null) {
      throw NOT_HERE;
    }
    if (rx !== ry) return rx < ry ? -1 : 1;
    if (x === y) return 0;
    if (typeof x === "number" && (Number.isNaN(x) || Number.isNaN(y))) throw NOT_HERE;
    if (typeof x === "string" && (/[\uD800-\uDFFF]/.test(x) || /[\uD800-\uDFFF]/.test(y))) throw NOT_HERE;
    return x < y ? -1 : 1;
  }
  function truthy(v) {
    return !(v === false || v === null || v === 0 || v === void 0);
  }
  function columnFrom(payload) {
    if (payload.kind === "continuous") {
      const values = decodeFloat64(payload.values);
      return { kind: "continuous", values, isNull: (c) => Number.isNaN(values[c]) };
    }
    const codes = decodeCodes(payload.codes);
    const names = payload.categories.map((name) => name === "(other)" ? UNKNOWN : name);
    return { kind: "categorical", valueAt: (c) => codes[c] === NO_CATEGORY ? UNKNOWN : names[codes[c]] };
  }
  const CONFIRM_MS = 1e3;
  const BASE_MASKS = 8;
  const hasKeys = (o) => Boolean(o && Object.keys(o).length);
  function useViewCells({ data, version, nCells, cells, items, viewKey, datasetName, colorData, codes, trigger }) {
    const serverView = data.in_view && data.in_view.version === version ? data.in_view : null;
    const serverMask = React.useMemo(
      () => serverView && nCells ? decodeMask(serverView.mask, nCells) : null,
      // eslint-disable-next-line react-hooks/exhaustive-deps
      [serverView && serverView.mask, nCells]
    );
    const serverHash = React.useMemo(() => serverMask ? maskHash(serverMask) : "", [serverMask]);
    const baseMasks = React.useRef(/* @__PURE__ */ new Map());
    const [columns, setColumns] = React.useState(() => /* @__PURE__ */ new Map());
    const columnsAsked = React.useRef(/* @__PURE__ */ new Set());
    const workedOut = React.useRef(/* @__PURE__ */ new Map());
    const forget = () => {
      workedOut.current = /* @__PURE__ */ new Map();
      baseMasks.current = /* @__PURE__ */ new Map();
      columnsAsked.current = /* @__PURE__ */ new Set();
      setColumns(/* @__PURE__ */ new Map());
    };
    React.useEffect(forget, [version]);
    const columnsApplied = React.useRef(null);
    React.useEffect(() => {
      const got = data.columns;
      if (!got || got.version !== version || !got.columns || got.answer === columnsApplied.current) return;
      columnsApplied.current = got.answer;
      setColumns((old) => {
        const next = new Map(old);
        for (const [path, payload] of Object.entries(got.columns)) next.set(path, payload ? columnFrom(payload) : null);
        return next;
      });
    }, [data.columns]);
    React.useEffect(() => {
      if (!serverMask || !serverView.key) return;
      const [stages, extended, filters, name] = JSON.parse(serverView.key);
      if (hasKeys(filters)) return;
      const masks = baseMasks.current;
      const base = JSON.stringify([stages, extended, name]);
      masks.delete(base);
      masks.set(base, serverMask);
      while (masks.size > BASE_MASKS) masks.delete(masks.keys().next().value);
    }, [serverMask]);
    const [pushed, setPushed] = React.useState(null);
    const viewKeyRef = React.useRef(viewKey);
    viewKeyRef.current = viewKey;
    const pushedRef = React.useRef(pushed);
    pushedRef.current = pushed;
    React.useEffect(
      () => onPushedView(({ stages, path }) => {
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
    React.useEffect(() => {
      if (viewKey !== null) setPushed((p) => p && p.before !== viewKey ? null : p);
    }, [viewKey]);
    const opened = React.useRef({ on: null, moved: false });
    if (viewKey !== null) {
      if (opened.current.on === null) opened.current.on = viewKey;
      else if (viewKey !== opened.current.on) opened.current.moved = true;
    }
    const target = React.useMemo(() => {
      if (pushed && pushed.before === viewKey) return { stages: pushed.stages, pushed: true };
      return viewKey && opened.current.moved ? { key: viewKey } : null;
    }, [pushed, viewKey]);
    const coloring = React.useMemo(
      () => colorData && colorData.kind === "categorical" && codes ? { field: colorData.field, kind: "categorical", categories: colorData.categories, codes } : null,
      // eslint-disable-next-line react-hooks/exhaustive-deps
      [codes, colorData && colorData.field]
    );
    const [predicted, needed] = React.useMemo(() => {
      if (!cells || !target || items !== "samples") return [null, []];
      const run = {
        occupied: cells.occupied,
        cellOf: cells.cellOf,
        column: (path) => columns.has(path) ? columns.get(path) : void 0,
        need: /* @__PURE__ */ new Set()
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
    }, [target, cells, columns, coloring, items, version]);
    const predictedRef = React.useRef(predicted);
    predictedRef.current = predicted;
    React.useEffect(() => {
      const fields = needed.filter((f) => !columnsAsked.current.has(f));
      if (!fields.length) return;
      fields.forEach((f) => columnsAsked.current.add(f));
      trigger("on_columns", { fields });
    }, [needed, trigger]);
    const shownView = React.useMemo(() => {
      const server = serverMask && { key: serverView.key, mask: serverMask, count: serverView.count, hash: serverHash, source: "server" };
      const pushedAhead = target && target.pushed;
      if (server && !pushedAhead && (!server.key || server.key === viewKey)) return server;
      return predicted || server;
    }, [serverMask, serverHash, predicted, viewKey, target]);
    const inViewHash = shownView ? shownView.hash : "";
    React.useEffect(() => {
      if (predicted && predicted.key) workedOut.current.set(predicted.key, predicted.hash);
      while (workedOut.current.size > BASE_MASKS) workedOut.current.delete(workedOut.current.keys().next().value);
    }, [predicted]);
    React.useEffect(() => {
      if (!serverMask || !serverView.key || !workedOut.current.has(serverView.key)) return;
      if (workedOut.current.get(serverView.key) === serverHash) return;
      forget();
      if (colorData && colorData.field) trigger("on_color_by", { field: colorData.field });
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
  const { useRecoilState, useRecoilValue } = recoil__namespace;
  const HEIGHT = 560;
  const MAX_SHARP = 300;
  const POLL_MS = 2e3;
  function GridMosaicView(props) {
    const { data = {}, schema = {} } = props;
    const callbacks = schema.view || {};
    const { keys = [], key, pending = [] } = data;
    const grid = data.grid || null;
    const panelId = spaces.usePanelId();
    const triggerEvent = operators.usePanelEvent();
    const objects = Boolean(grid && grid.items === "labels");
    const [appSamples, setAppSamples] = useRecoilState(fos__namespace.selectedSamples);
    const [appLabels, setAppLabels] = useRecoilState(fos__namespace.selectedLabels);
    const appSelected = objects ? appLabels : appSamples;
    const setAppSelected = objects ? setAppLabels : setAppSamples;
    const modalSampleId = useRecoilValue(MODAL_SAMPLE_ID);
    const colorScheme = useRecoilValue(COLOR_SCHEME);
    const colorMap = useRecoilValue(COLOR_MAP);
    const selected = appSelected;
    const [mode, setMode] = React.useState("pan");
    const [regionMode, setRegionMode] = React.useState("off");
    const regions = useRegions(grid);
    const [clearedSimilar, setClearedSimilar] = React.useState(null);
    const [hover, setHover] = React.useState(null);
    const [size, setSize] = React.useState({ width: 640, height: HEIGHT });
    const canvasRef = React.useRef(null);
    const boxRef = React.useRef(null);
    const viewRef = React.useRef(null);
    const sizeRef = React.useRef(size);
    const dragRef = React.useRef(null);
    const frame = React.useRef(0);
    const redrawRef = React.useRef(() => {
    });
    const drawCount = React.useRef(0);
    const lastInView = React.useRef(null);
    const trigger = React.useCallback(
      (name, params) => {
        if (callbacks[name]) triggerEvent(panelId, { operator: callbacks[name], params });
      },
      [callbacks, panelId, triggerEvent]
    );
    const appDataset = useRecoilValue(fos__namespace.dataset);
    const viewLoadable = recoil__namespace.useRecoilValueLoadable(VIEW_KEY);
    const viewKey = viewLoadable.state === "hasValue" ? viewLoadable.contents : null;
    const { setSelected, resendSelection } = useSelectionSync(selected, setAppSelected, viewKey);
    React.useEffect(() => {
      if (!pending.length) return void 0;
      const timer = setInterval(() => trigger("on_refresh", {}), POLL_MS);
      return () => clearInterval(timer);
    }, [pending.length, trigger]);
    const mounted = React.useRef(false);
    if (!mounted.current) {
      mounted.current = true;
      resetMarks();
    }
    if (grid) markOnce("grid");
    const version = grid ? grid.version : null;
    const { cells, cellsError, info, askInfo } = useRunCells({
      grid,
      objects,
      data,
      trigger,
      redrawRef,
      // nothing of a new run is drawn yet (what tests wait on: see redraw)
      onNewRun: () => expose(canvasRef.current, { renderMs: "" })
    });
    const ready = Boolean(grid && cells);
    const nCells = grid ? grid.rows * grid.cols : 0;
    const { colorData, colorField, decoded, coloring, hiddenCats, setHiddenCats, range, setRange, layers, colorOf } = useColoring({ data, version, grid, objects, nCells, cells, colorScheme, colorMap });
    const { shownView, inViewHash, columns, askView } = useViewCells({
      data,
      version,
      nCells,
      cells,
      items: grid ? grid.items : null,
      viewKey,
      datasetName: appDataset ? appDataset.name : null,
      colorData,
      codes: decoded,
      trigger
    });
    const inView = shownView ? shownView.mask : null;
    const seen = React.useRef({ dataset: null, viewKey: null });
    React.useEffect(() => {
      const was = seen.current;
      const sameDataset = was.dataset && appDataset && was.dataset.name === appDataset.name;
      if (sameDataset && viewKey !== null && was.viewKey !== null && viewKey !== was.viewKey) {
        askView(viewKey);
        mark("viewAsked");
      } else if (sameDataset && was.dataset !== appDataset) {
        trigger("on_refresh", {});
      }
      if (viewKey !== null) was.viewKey = viewKey;
      was.dataset = appDataset;
    }, [appDataset, viewKey]);
    const selectedCells = React.useMemo(() => {
      if (!cells) return [];
      const out = [];
      for (const id of selectedIds(selected)) {
        const c = cells.cellOf(id);
        if (c !== void 0) out.push(c);
      }
      return out;
    }, [selected, cells]);
    React.useEffect(() => {
      if (selectedCells.length === 1) askInfo([selectedCells[0]]);
    }, [selectedCells, askInfo]);
    const currentCells = React.useMemo(() => {
      if (!cells || !modalSampleId) return [];
      if (objects) return cells.cellsOfSample(modalSampleId);
      const c = cells.cellOf(modalSampleId);
      return c === void 0 ? [] : [c];
    }, [cells, modalSampleId, objects]);
    const modalWas = React.useRef(null);
    React.useEffect(() => {
      const was = modalWas.current;
      modalWas.current = modalSampleId;
      if (was && !modalSampleId && selected) resendSelection(selected);
    }, [modalSampleId]);
    const inViewCounts = React.useMemo(
      () => coloring && coloring.kind === "categorical" && inView ? countInView(coloring.codes, inView, coloring.colors.length) : null,
      [coloring, inView]
    );
    const similar = data.similar && grid && data.similar.key === grid.key && data.similar.answer !== clearedSimilar ? data.similar : null;
    const similarCells = React.useMemo(() => {
      if (!similar || !cells) return { query: null, cells: [] };
      const found = similar.ids.map((id) => cells.cellOf(id)).filter((c) => c !== void 0);
      const q = cells.cellOf(similar.query);
      return { query: q === void 0 ? null : q, cells: found };
    }, [similar, cells]);
    const overlays = React.useMemo(() => {
      if (!ready) return null;
      const state = { hidden: layers.hidden, inView };
      return {
        filled: overlayCanvas(grid.rows, grid.cols, cells.occupied, { ...state, fill: layers.fill }),
        plain: layers.fill ? overlayCanvas(grid.rows, grid.cols, cells.occupied, state) : null
      };
    }, [ready, layers, inView]);
    const { overview, getTile, sharpImage } = useMosaicImages({ grid, version, info, redrawRef });
    const scene = React.useRef(null);
    scene.current = {
      ready,
      grid,
      cells,
      overview,
      overlays,
      getTile,
      sharpImage,
      info,
      askInfo,
      colorOf,
      selectedCells,
      currentCells,
      shownView,
      inViewHash,
      columns,
      layers,
      coloring,
      colorField,
      regions,
      regionMode,
      similarCells
    };
    const redraw = React.useCallback(() => {
      cancelAnimationFrame(frame.current);
      frame.current = requestAnimationFrame(() => {
        const {
          ready: ready2,
          grid: grid2,
          cells: cells2,
          overview: overview2,
          overlays: overlays2,
          getTile: getTile2,
          sharpImage: sharpImage2,
          info: info2,
          askInfo: askInfo2,
          colorOf: colorOf2,
          selectedCells: selectedCells2,
          currentCells: currentCells2,
          shownView: shownView2,
          inViewHash: inViewHash2,
          columns: columns2,
          layers: layers2,
          coloring: coloring2,
          colorField: colorField2,
          regions: regions2,
          regionMode: regionMode2,
          similarCells: similarCells2
        } = scene.current;
        const canvas = canvasRef.current;
        const view = viewRef.current;
        if (!canvas || !ready2 || !view) return;
        const t0 = performance.now();
        const ctx = canvas.getContext("2d");
        const { width, height } = canvas;
        const big = view.scale >= BORDER_FROM_PX;
        const vis = visibleCells(view, grid2.rows, grid2.cols, width, height);
        const visible = [];
        if (big) {
          for (let r = vis.r0; r <= vis.r1; r++) {
            for (let c = vis.c0; c <= vis.c1; c++) {
              const cell = r * grid2.cols + c;
              if (cells2.occupied[cell]) visible.push(cell);
            }
          }
        }
        const sourcePx = grid2.tiles ? grid2.cell_px : overview2 && overview2.naturalWidth / grid2.cols;
        const dpr = window.devicePixelRatio || 1;
        const sharp = big && visible.length <= MAX_SHARP && view.scale * dpr > (sourcePx || 64) * 1.25;
        if (sharp) askInfo2(visible.filter((c) => !info2.has(c)));
        const overlay = big && overlays2.plain ? overlays2.plain : overlays2.filled;
        const loading = draw(
          ctx,
          width,
          height,
          view,
          grid2,
          overview2,
          overlay,
          getTile2,
          () => sharp ? drawSharp(ctx, view, grid2.cols, visible, sharpImage2) : 0
        );
        if (big) {
          drawBorders(ctx, view, grid2.cols, visible, colorOf2, shownView2 ? shownView2.mask : null);
          const shown = new Set(visible);
          drawSelected(ctx, view, grid2.cols, selectedCells2.filter((c) => shown.has(c)));
        } else {
          fillSelected(ctx, view, grid2.cols, selectedCells2, layers2.hidden);
        }
        for (const c of currentCells2) drawCurrent(ctx, view, grid2.cols, c);
        const namesDrawn = drawRegions(ctx, view, grid2, regions2, regionMode2);
        drawSimilar(ctx, view, grid2.cols, similarCells2.cells, similarCells2.query);
        const inViewDrawn = shownView2 ? String(shownView2.count) : "";
        if (lastInView.current !== inViewDrawn) mark("viewDrawn");
        lastInView.current = inViewDrawn;
        drawCount.current += 1;
        if (overview2 && overview2.naturalWidth) markOnce("drawn");
        expose(canvas, {
          tilesLoading: String(loading),
          scale: String(view.scale),
          sharp: String(sharp),
          inViewDrawn,
          inViewSource: shownView2 ? shownView2.source : "",
          inViewHash: inViewHash2,
          columns: Array.from(columns2.keys()).join(","),
          selectedDrawn: selectedCells2.slice(0, 8).join(","),
          hiddenDrawn: String(layers2.nHidden),
          colorDrawn: coloring2 && colorField2 || "",
          regionsDrawn: regions2 && regionMode2 !== "off" ? `${regionMode2}:${namesDrawn}` : "",
          similarDrawn: similarCells2.cells.join(","),
          renderMs: (performance.now() - t0).toFixed(2),
          drawn: String(drawCount.current)
        });
      });
    }, []);
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
    const userMoved = React.useRef(false);
    React.useEffect(() => {
      viewRef.current = grid && !userMoved.current ? fitView(size.width, size.height, grid.rows, grid.cols) : resizeView(viewRef.current, sizeRef.current, size);
      sizeRef.current = size;
    }, [size]);
    React.useEffect(() => {
      userMoved.current = false;
      viewRef.current = grid ? fitView(sizeRef.current.width, sizeRef.current.height, grid.rows, grid.cols) : null;
    }, [grid && grid.key, version, grid && grid.rows, grid && grid.cols]);
    React.useEffect(() => {
      redraw();
    }, [
      ready,
      grid,
      cells,
      overview,
      overlays,
      getTile,
      sharpImage,
      info,
      askInfo,
      colorOf,
      selectedCells,
      currentCells,
      shownView,
      inViewHash,
      columns,
      layers,
      coloring,
      colorField,
      size,
      regions,
      regionMode,
      similarCells
    ]);
    const { zoom, asSelection, onMouseDown, onMouseMove, onMouseUp, onDoubleClick, onContextMenu, menu, setMenu } = usePointerTools({
      ready,
      grid,
      cells,
      objects,
      mode,
      size,
      viewRef,
      canvasRef,
      dragRef,
      userMoved,
      redraw,
      selectedCells,
      appSelected,
      setSelected,
      hidden: layers.hidden,
      askInfo,
      setHover,
      trigger
    });
    if (!keys.length) return /* @__PURE__ */ React.createElement(EmptyState, { pending, trigger });
    const nSelected = selectedCells.length;
    const hoverInfo = hover ? info.get(hover.cell) : null;
    const selectionText = nSelected === 1 ? `Selected: ${(info.get(selectedCells[0]) || {}).name || "1 " + (objects ? "object" : "sample")}` : nSelected ? `${nSelected} selected` : "";
    const total = grid ? grid.n : 0;
    const unplaced = grid && data.unplaced && data.unplaced.key === key ? data.unplaced.count : 0;
    const nInView = shownView ? shownView.count : total;
    const summary = grid ? `${key}: ${grid.rows} x ${grid.cols}, ${total} ${{ labels: "objects", frames: "frames" }[grid.items] || "samples"}, ${nInView} in view` + (unplaced ? `, ${unplaced} not placed (Add new samples to a grid places them)` : "") : "";
    const fit = () => {
      if (!ready) return;
      userMoved.current = false;
      viewRef.current = fitView(size.width, size.height, grid.rows, grid.cols);
      redraw();
    };
    return /* @__PURE__ */ React.createElement("div", { style: { width: "100%", color: "#ddd", fontSize: 13 }, "data-testid": "gridtsne-view" }, /* @__PURE__ */ React.createElement(
      Toolbar,
      {
        runPicker: /* @__PURE__ */ React.createElement(RunPicker, { keys, pending, value: key, trigger }),
        mode,
        setMode,
        zoom: (factor) => ready && zoom(factor),
        fit,
        clear: () => ready && setSelected(asSelection([], appSelected)),
        trigger,
        colorField: data.color && data.color.field || "",
        colorFields: grid && grid.color_fields || [],
        regionMode: regions ? regionMode : null,
        setRegionMode
      }
    ), /* @__PURE__ */ React.createElement(PendingLine, { pending }), /* @__PURE__ */ React.createElement(StatusBar, { summary, metrics: grid ? grid.metrics : "", appSelection: selectedIds(appSelected), selectionText }), /* @__PURE__ */ React.createElement("div", { ref: boxRef, style: { position: "relative", width: "calc(100% - 24px)", margin: "0 12px", height: size.height, overflow: "hidden" } }, /* @__PURE__ */ React.createElement(
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
        "data-in-view": shownView ? String(shownView.count) : "",
        "data-selected": String(nSelected),
        "data-current-cells": currentCells.join(","),
        onMouseDown,
        onMouseMove,
        onMouseUp,
        onMouseLeave: () => {
          dragRef.current = null;
          setHover(null);
        },
        onDoubleClick,
        onContextMenu
      }
    ), /* @__PURE__ */ React.createElement(CellMenu, { menu, close: () => setMenu(null), trigger }), !ready && grid && /* @__PURE__ */ React.createElement("div", { style: { position: "absolute", left: 12, top: 12, color: "#aaa" }, "data-testid": "gridtsne-loading" }, cellsError ? `Could not load the run's cells: ${cellsError}` : "Loading the run..."), hover && ready && /* @__PURE__ */ React.createElement(
      HoverCard,
      {
        hover,
        info: hoverInfo,
        size,
        value: coloring && coloring.kind === "continuous" ? coloring.values[hover.cell] : null,
        colorField
      }
    )), /* @__PURE__ */ React.createElement(
      SimilarBar,
      {
        similar,
        cellsFound: similarCells.cells.length,
        trigger,
        clear: () => similar && setClearedSimilar(similar.answer)
      }
    ), regionMode !== "off" && /* @__PURE__ */ React.createElement(RegionList, { regions, trigger }), /* @__PURE__ */ React.createElement(
      Legend,
      {
        coloring,
        colorData,
        inViewCounts,
        hiddenCats,
        setHiddenCats,
        range,
        setRange
      }
    ));
  }
  plugins.registerComponent({
    name: "GridMosaicView",
    label: "GridMosaicView",
    component: GridMosaicView,
    type: plugins.PluginComponentType.Component,
    activator: () => true
  });
});
