// The grid_mosaic panel's view: a canvas mosaic that pans and zooms on the client,
// loads tiles (or, zoomed further, the images) lazily, colours cells by any field,
// draws the run's regions and reads/writes the App's selection directly. Panel
// data from Python, by grid cell: the run (`grid`, with its cell file's URL and
// regions), the view (`in_view`), colours (`color`), cells' names (`info`) and
// similar samples (`similar`). The parts: docs/development.md; what stays here:
// the App's selection and modal sample as cells, drawn from refs (no re-render).
import React, { useCallback, useEffect, useMemo, useRef, useState } from "react";
import * as recoil from "recoil";
import * as fos from "@fiftyone/state";
import { usePanelEvent } from "@fiftyone/operators";
import { usePanelId } from "@fiftyone/spaces";
import {
  COLOR_MAP,
  COLOR_SCHEME,
  MODAL_SAMPLE_ID,
  selectedIds,
  VIEW_KEY,
} from "./appState";
import { expose, mark, markOnce, resetMarks } from "./debug";
import Legend, { countInView } from "./Legend";
import { EmptyState, HoverCard, PendingLine, RunPicker, StatusBar, Toolbar } from "./PanelParts";
import { CellMenu, RegionList, SimilarBar, useRegions } from "./RegionList";
import { drawRegions, drawSimilar } from "./regions";
import { useColoring } from "./useColoring";
import { useMosaicImages } from "./useMosaicImages";
import { useRunCells } from "./useRunCells";
import { useSelectionSync } from "./useSelectionSync";
import { usePointerTools } from "./usePointerTools";
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
  overlayCanvas,
  resizeView,
  visibleCells,
} from "./viewer";

const { useRecoilState, useRecoilValue } = recoil;
const HEIGHT = 560;
const MAX_SHARP = 300; // visible cells up to which full images are drawn
const POLL_MS = 2000; // run list refresh while a run is queued or running

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
  // A click sets the App's selection at once, in the render that draws it (later
  // costs the App a frame and a timer); selection changes redraw only its cells.
  const selected = appSelected;
  const [mode, setMode] = useState("pan");
  const [regionMode, setRegionMode] = useState("off"); // "off", "outlines" or "purity"
  const regions = useRegions(grid);
  const [clearedSimilar, setClearedSimilar] = useState(null);
  const [hover, setHover] = useState(null);
  const [size, setSize] = useState({ width: 640, height: HEIGHT });
  const canvasRef = useRef(null);
  const boxRef = useRef(null);
  const viewRef = useRef(null);
  const sizeRef = useRef(size);
  const dragRef = useRef(null);
  const frame = useRef(0);
  const redrawRef = useRef(() => {});
  const drawCount = useRef(0);
  const lastInView = useRef(null);

  const trigger = useCallback(
    (name, params) => {
      if (callbacks[name]) triggerEvent(panelId, { operator: callbacks[name], params });
    },
    [callbacks, panelId, triggerEvent]
  );
  const appDataset = useRecoilValue(fos.dataset);
  const viewLoadable = recoil.useRecoilValueLoadable(VIEW_KEY);
  const viewKey = viewLoadable.state === "hasValue" ? viewLoadable.contents : null;
  const { setSelected, resendSelection } = useSelectionSync(selected, setAppSelected, viewKey);
  // runs queued or running: look again every few seconds until they are done
  useEffect(() => {
    if (!pending.length) return undefined;
    const timer = setInterval(() => trigger("on_refresh", {}), POLL_MS);
    return () => clearInterval(timer);
  }, [pending.length, trigger]);

  // when things arrived, as performance marks (debug.js), for benchmarks/bench_panel.py
  const mounted = useRef(false);
  if (!mounted.current) {
    mounted.current = true;
    resetMarks();
  }
  if (grid) markOnce("grid");

  // the run's cells (one binary file per run version) and, on request, names and paths
  const version = grid ? grid.version : null;
  const { cells, cellsError, info, askInfo } = useRunCells({
    grid, objects, data, trigger, redrawRef,
    // nothing of a new run is drawn yet (what tests wait on: see redraw)
    onNewRun: () => expose(canvasRef.current, { renderMs: "" }),
  });
  const ready = Boolean(grid && cells);
  const nCells = grid ? grid.rows * grid.cols : 0;

  const { colorData, colorField, decoded, coloring, hiddenCats, setHiddenCats, range, setRange, layers, colorOf } =
    useColoring({ data, version, grid, objects, nCells, cells, colorScheme, colorMap });

  // the cells in the App's view (viewCells.js), and asking the server for them
  const { shownView, inViewHash, columns, askView } = useViewCells({
    data, version, nCells, cells, items: grid ? grid.items : null, viewKey,
    datasetName: appDataset ? appDataset.name : null, colorData, codes: decoded, trigger,
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
      mark("viewAsked");
    } else if (sameDataset && was.dataset !== appDataset) {
      trigger("on_refresh", {});
    }
    if (viewKey !== null) was.viewKey = viewKey;
    was.dataset = appDataset;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [appDataset, viewKey]);
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

  // Opening a sample in the modal can leave the Python session an older
  // selection than the App shows, too: once the modal closes, it is sent again.
  const modalWas = useRef(null);
  useEffect(() => {
    const was = modalWas.current;
    modalWas.current = modalSampleId;
    if (was && !modalSampleId && selected) resendSelection(selected);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [modalSampleId]);

  // per category of the colour-by field, its cells in the current view (the
  // legend counts what the view and the sidebar filters leave)
  const inViewCounts = useMemo(
    () => (coloring && coloring.kind === "categorical" && inView
      ? countInView(coloring.codes, inView, coloring.colors.length) : null),
    [coloring, inView]
  );

  // the answer to "Similar images", as cells of this run
  const similar = data.similar && grid && data.similar.key === grid.key && data.similar.answer !== clearedSimilar
    ? data.similar : null;
  const similarCells = useMemo(() => {
    if (!similar || !cells) return { query: null, cells: [] };
    const found = similar.ids.map((id) => cells.cellOf(id)).filter((c) => c !== undefined);
    const q = cells.cellOf(similar.query);
    return { query: q === undefined ? null : q, cells: found };
  }, [similar, cells]);

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
  const { overview, getTile, sharpImage } = useMosaicImages({ grid, version, info, redrawRef });

  // What a drawing reads, always the latest, through a ref: `redraw` is one
  // stable function that draws whatever is current at the next frame.
  const scene = useRef(null);
  scene.current = {
    ready, grid, cells, overview, overlays, getTile, sharpImage, info, askInfo, colorOf,
    selectedCells, currentCells, shownView, inViewHash, columns, layers, coloring, colorField,
    regions, regionMode, similarCells,
  };
  const redraw = useCallback(() => {
    cancelAnimationFrame(frame.current);
    frame.current = requestAnimationFrame(() => {
      const {
        ready, grid, cells, overview, overlays, getTile, sharpImage, info, askInfo, colorOf,
        selectedCells, currentCells, shownView, inViewHash, columns, layers, coloring, colorField,
        regions, regionMode, similarCells,
      } = scene.current;
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
        drawBorders(ctx, view, grid.cols, visible, colorOf, shownView ? shownView.mask : null);
        const shown = new Set(visible);
        drawSelected(ctx, view, grid.cols, selectedCells.filter((c) => shown.has(c)));
      } else {
        fillSelected(ctx, view, grid.cols, selectedCells, layers.hidden);
      }
      for (const c of currentCells) drawCurrent(ctx, view, grid.cols, c);
      const namesDrawn = drawRegions(ctx, view, grid, regions, regionMode);
      drawSimilar(ctx, view, grid.cols, similarCells.cells, similarCells.query);
      // what this drawing shows, for tests and benchmarks to wait on (debug.js)
      const inViewDrawn = shownView ? String(shownView.count) : "";
      if (lastInView.current !== inViewDrawn) mark("viewDrawn");
      lastInView.current = inViewDrawn;
      drawCount.current += 1;
      if (overview && overview.naturalWidth) markOnce("drawn");
      expose(canvas, {
        tilesLoading: String(loading),
        scale: String(view.scale),
        sharp: String(sharp),
        inViewDrawn,
        inViewSource: shownView ? shownView.source : "",
        inViewHash,
        columns: Array.from(columns.keys()).join(","),
        selectedDrawn: selectedCells.slice(0, 8).join(","),
        hiddenDrawn: String(layers.nHidden),
        colorDrawn: (coloring && colorField) || "",
        regionsDrawn: regions && regionMode !== "off" ? `${regionMode}:${namesDrawn}` : "",
        similarDrawn: similarCells.cells.join(","),
        renderMs: (performance.now() - t0).toFixed(2),
        drawn: String(drawCount.current),
      });
    });
  }, []);
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
    userMoved.current = false;
    viewRef.current = grid ? fitView(sizeRef.current.width, sizeRef.current.height, grid.rows, grid.cols) : null;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [grid && grid.key, version, grid && grid.rows, grid && grid.cols]);

  // a new scene or size: draw it
  useEffect(() => {
    redraw();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [
    ready, grid, cells, overview, overlays, getTile, sharpImage, info, askInfo, colorOf,
    selectedCells, currentCells, shownView, inViewHash, columns, layers, coloring, colorField, size,
    regions, regionMode, similarCells,
  ]);

  const { zoom, asSelection, onMouseDown, onMouseMove, onMouseUp, onDoubleClick, onContextMenu, menu, setMenu } =
    usePointerTools({
    ready, grid, cells, objects, mode, size, viewRef, canvasRef, dragRef, userMoved, redraw,
    selectedCells, appSelected, setSelected, hidden: layers.hidden, askInfo, setHover, trigger,
  });

  if (!keys.length) return <EmptyState pending={pending} trigger={trigger} />;

  const nSelected = selectedCells.length;
  const hoverInfo = hover ? info.get(hover.cell) : null;
  const selectionText =
    nSelected === 1
      ? `Selected: ${(info.get(selectedCells[0]) || {}).name || "1 " + (objects ? "object" : "sample")}`
      : nSelected
      ? `${nSelected} selected`
      : "";
  const total = grid ? grid.n : 0;
  const unplaced = grid && data.unplaced && data.unplaced.key === key ? data.unplaced.count : 0;
  const nInView = shownView ? shownView.count : total;
  const summary = grid
    ? `${key}: ${grid.rows} x ${grid.cols}, ${total} ${
        { labels: "objects", frames: "frames" }[grid.items] || "samples"
      }, ${nInView} in view` + (unplaced ? `, ${unplaced} not placed (Add new samples to a grid places them)` : "")
    : "";
  const fit = () => {
    if (!ready) return;
    userMoved.current = false;
    viewRef.current = fitView(size.width, size.height, grid.rows, grid.cols);
    redraw();
  };

  return (
    <div style={{ width: "100%", color: "#ddd", fontSize: 13 }} data-testid="gridtsne-view">
      <Toolbar
        runPicker={<RunPicker keys={keys} pending={pending} value={key} trigger={trigger} />}
        mode={mode}
        setMode={setMode}
        zoom={(factor) => ready && zoom(factor)}
        fit={fit}
        clear={() => ready && setSelected(asSelection([], appSelected))}
        trigger={trigger}
        colorField={(data.color && data.color.field) || ""}
        colorFields={(grid && grid.color_fields) || []}
        regionMode={regions ? regionMode : null}
        setRegionMode={setRegionMode}
      />
      <PendingLine pending={pending} />
      <StatusBar summary={summary} metrics={grid ? grid.metrics : ""} appSelection={selectedIds(appSelected)} selectionText={selectionText} />
      {/* a gutter each side: a drag that starts at the mosaic's edge must not
          take the splitter beside the panel */}
      <div ref={boxRef} style={{ position: "relative", width: "calc(100% - 24px)", margin: "0 12px", height: size.height, overflow: "hidden" }}>
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
          data-in-view={shownView ? String(shownView.count) : ""}
          data-selected={String(nSelected)}
          data-current-cells={currentCells.join(",")}
          onMouseDown={onMouseDown}
          onMouseMove={onMouseMove}
          onMouseUp={onMouseUp}
          onMouseLeave={() => {
            dragRef.current = null;
            setHover(null);
          }}
          onDoubleClick={onDoubleClick}
          onContextMenu={onContextMenu}
        />
        <CellMenu menu={menu} close={() => setMenu(null)} trigger={trigger} />
        {!ready && grid && (
          <div style={{ position: "absolute", left: 12, top: 12, color: "#aaa" }} data-testid="gridtsne-loading">
            {cellsError ? `Could not load the run's cells: ${cellsError}` : "Loading the run..."}
          </div>
        )}
        {hover && ready && (
          <HoverCard
            hover={hover}
            info={hoverInfo}
            size={size}
            value={coloring && coloring.kind === "continuous" ? coloring.values[hover.cell] : null}
            colorField={colorField}
          />
        )}
      </div>
      <SimilarBar similar={similar} cellsFound={similarCells.cells.length} trigger={trigger}
        clear={() => similar && setClearedSimilar(similar.answer)} />
      {regionMode !== "off" && <RegionList regions={regions} trigger={trigger} />}
      <Legend
        coloring={coloring}
        colorData={colorData}
        inViewCounts={inViewCounts}
        hiddenCats={hiddenCats}
        setHiddenCats={setHiddenCats}
        range={range}
        setRange={setRange}
      />
    </div>
  );
}
