// The run's regions as a list (name, count, label share), each selecting its
// samples or making them the view; and the bar of a "Similar images" answer.
import React, { useMemo } from "react";
import { BUTTON, ONE_LINE } from "./appState";
import { Btn } from "./controls";
import { decodeRegions } from "./regions";

/** The decoded regions of a run (null without regions), once per run version. */
export function useRegions(grid) {
  // eslint-disable-next-line react-hooks/exhaustive-deps
  return useMemo(() => decodeRegions(grid), [grid && grid.key, grid && grid.version]);
}

export function RegionList({ regions, trigger }) {
  if (!regions) return null;
  return (
    <div
      data-testid="gridtsne-regions"
      style={{ maxHeight: 140, overflowY: "auto", borderTop: "1px solid #333", padding: "2px 0" }}
    >
      {regions.entries.map((r) => (
        <div key={r.id} style={{ display: "flex", gap: 6, alignItems: "center" }} data-testid="gridtsne-region">
          <span style={{ ...ONE_LINE, flex: 1 }} title={r.name}>
            {r.name}
          </span>
          <span style={{ color: "#aaa" }}>{r.count}</span>
          <Btn
            onClick={() => trigger("on_region", { region: r.id, action: "select" })}
            data-testid={`gridtsne-region-select-${r.id}`}
          >
            select
          </Btn>
          <Btn
            onClick={() => trigger("on_region", { region: r.id, action: "filter" })}
            data-testid={`gridtsne-region-filter-${r.id}`}
          >
            view
          </Btn>
        </div>
      ))}
    </div>
  );
}

export function SimilarBar({ similar, cellsFound, trigger, clear }) {
  if (!similar) return null;
  return (
    <div data-testid="gridtsne-similar" data-count={String(cellsFound)} style={{ ...ONE_LINE, color: "#00e5ff" }}>
      {similar.error
        ? similar.error
        : `${similar.ids.length} most similar to ${similar.name || similar.query}`}{" "}
      {!similar.error && (
        <Btn onClick={() => trigger("on_ids_to_view", { ids: [similar.query, ...similar.ids] })}
          data-testid="gridtsne-similar-to-view">
          make them the view
        </Btn>
      )}
      <Btn onClick={clear}>
        clear
      </Btn>
    </div>
  );
}

/** A cell's context menu (right-click): "Similar images". */
export function CellMenu({ menu, close, trigger, k = 10 }) {
  if (!menu) return null;
  return (
    <div
      data-testid="gridtsne-cell-menu"
      style={{ position: "absolute", left: menu.x, top: menu.y, background: "#262626", border: "1px solid #555", zIndex: 2 }}
      onMouseLeave={close}
    >
      <button
        style={{ ...BUTTON, border: "none", display: "block" }}
        data-testid="gridtsne-similar-images"
        onClick={() => {
          trigger("on_similar", { id: menu.id, k });
          close();
        }}
      >
        Similar images
      </button>
    </div>
  );
}
