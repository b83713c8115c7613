// Pointer tools on the mosaic canvas: wheel zoom, drag to pan, click, box and
// lasso selection into the App's selection, double-click to open a sample.
// The view lives in a ref (`viewRef`): moving it redraws without re-rendering.
import { useEffect, useRef, useState } from "react";
import { focusModalLooker } from "./appState";
import { fitView, hit, inPolygon, zoomAt } from "./viewer";

export function usePointerTools({
  ready, grid, cells, objects, mode, size, viewRef, canvasRef, dragRef, userMoved, redraw,
  selectedCells, appSelected, setSelected, hidden, askInfo, setHover, trigger,
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

  // the hover card belongs to the cell under the pointer: hidden while a drag
  // draws or pans, and looked up again once the view has moved under it
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
    zoom(Math.exp(-e.deltaY * 0.0015), sx, sy);
    hoverAt([sx, sy]);
  };

  // subscribed once per canvas (React's onWheel is passive: it cannot stop the
  // page from scrolling); the listener calls the latest handler
  const wheelRef = useRef(onWheel);
  wheelRef.current = onWheel;
  useEffect(() => {
    const canvas = canvasRef.current;
    if (!canvas) return undefined;
    const listener = (e) => wheelRef.current(e);
    canvas.addEventListener("wheel", listener, { passive: false });
    return () => canvas.removeEventListener("wheel", listener);
  }, [Boolean(grid)]);

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
  const selectable = (c) => c >= 0 && !(hidden && hidden[c]);

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
    if (d.moved) hoverAt(p);
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

  // right-click: the cell's context menu (see RegionList.jsx's CellMenu)
  const [menu, setMenu] = useState(null);
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
