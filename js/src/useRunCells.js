// A run's cells, fetched once per run version as one binary file (cells.js),
// and the names, labels and paths of the cells the panel asks about (hover,
// sharp zoom), which arrive later as panel data.
import { useCallback, useEffect, useRef, useState } from "react";
import { mediaUrl } from "./appState";
import { fetchCells } from "./cells";
import { markOnce } from "./debug";

const ASK_AGAIN_MS = 3000; // a cell's info not come by then is asked for again

export function useRunCells({ grid, objects, data, trigger, redrawRef, onNewRun }) {
  const [cells, setCells] = useState(null);
  const [cellsError, setCellsError] = useState(null);
  const [info, setInfo] = useState(() => new Map());
  const asked = useRef(new Map()); // cell -> when its info was asked for
  const version = grid ? grid.version : null;
  useEffect(() => {
    setCells(null);
    setCellsError(null);
    setInfo(new Map());
    asked.current = new Map();
    onNewRun();
    if (!grid) return undefined;
    let live = true;
    fetchCells(mediaUrl(grid.cells_path, grid.version), grid.rows * grid.cols, objects)
      .then((c) => {
        if (!live) return;
        markOnce("cells");
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

  return { cells, cellsError, info, askInfo };
}
