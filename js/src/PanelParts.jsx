// The panel's controls and read-outs: plain components of props (no App
// state, no canvas), so GridMosaicView keeps only the mosaic's own logic.
import React from "react";
import { fmt, mediaUrl, ONE_LINE } from "./appState";
import { Btn, Choice, IconBtn } from "./controls";

/** The dataset's runs, and greyed those queued or running. */
export function RunPicker({ keys, pending, value, trigger }) {
  return (
    <Choice
      value={value || ""}
      onChange={(e) => trigger("on_change_key", { value: e.target.value })}
      onFocus={() => trigger("on_refresh", {})}
      title="the grid run shown"
      testid="gridtsne-key"
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
    </Choice>
  );
}

/** One line for the runs queued or running, with their progress. */
export function PendingLine({ pending }) {
  if (!pending.length) return null;
  return (
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
  );
}

/** A dataset without runs: what to do, or the runs on their way. */
export function EmptyState({ pending, trigger }) {
  return (
    <div style={{ padding: 16, color: "#bbb" }} data-testid="gridtsne-empty">
      {pending.length ? (
        <PendingLine pending={pending} />
      ) : (
        <span>
          No grid runs on this dataset yet. Run <b>Gridded t-SNE: compute similarity grid</b> from the operator menu.{" "}
        </span>
      )}
      <Btn onClick={() => trigger("on_refresh", {})} data-testid="gridtsne-refresh">
        Look again
      </Btn>
    </div>
  );
}

/** Run, refresh, pointer mode, zoom, selection and colour-by controls. */
const REGION_MODES = { off: "outlines", outlines: "purity", purity: "off" };

export function Toolbar({ runPicker, mode, setMode, zoom, fit, clear, trigger, colorField, colorFields, regionMode, setRegionMode }) {
  return (
    <div style={{ display: "flex", gap: 6, alignItems: "center", flexWrap: "wrap", padding: "4px 0" }}>
      {runPicker}
      <IconBtn
        icon="refresh"
        label="look for runs added, deleted or recomputed since the panel opened"
        onClick={() => trigger("on_refresh", {})}
        data-testid="gridtsne-refresh"
      />
      {["pan", "box", "lasso"].map((m) => (
        <IconBtn
          key={m}
          icon={m}
          active={mode === m}
          onClick={() => setMode(m)}
          label={m === "pan" ? "pan: drag to move (shift-drag: box select)" : `${m} select: drag to select`}
          data-testid={`gridtsne-mode-${m}`}
          data-active={mode === m ? "true" : "false"}
        />
      ))}
      <IconBtn icon="zoomIn" label="zoom in" onClick={() => zoom(1.5)} data-testid="gridtsne-zoom-in" />
      <IconBtn icon="zoomOut" label="zoom out" onClick={() => zoom(1 / 1.5)} data-testid="gridtsne-zoom-out" />
      <IconBtn icon="fit" label="fit" onClick={fit} data-testid="gridtsne-fit" />
      <Btn onClick={() => trigger("on_selection_to_view", {})} title="make the selection the App's view" data-testid="gridtsne-to-view">
        Selection to view
      </Btn>
      <Btn onClick={clear} data-testid="gridtsne-clear-selection">
        Clear selection
      </Btn>
      {regionMode !== null && (
        <Btn
          active={regionMode !== "off"}
          onClick={() => setRegionMode(REGION_MODES[regionMode])}
          title="regions: off -> outlines and names -> coloured by label purity"
          data-testid="gridtsne-regions-toggle"
          data-mode={regionMode}
        >
          regions{regionMode !== "off" ? `: ${regionMode}` : ""}
        </Btn>
      )}
      <label style={{ display: "flex", gap: 4, alignItems: "center" }}>
        colour by
        <Choice
          value={colorField}
          onChange={(e) => trigger("on_color_by", { field: e.target.value })}
          testid="gridtsne-color-by"
        >
          <option value="">none</option>
          {colorFields.map((f) => (
            <option key={f.path} value={f.path}>
              {f.path}
            </option>
          ))}
        </Choice>
      </label>
    </div>
  );
}

/** The run's summary (its quality after it, cut first when the panel is
 * narrow) and the App's selection, one line each (never wrapping, which
 * would move the canvas under the pointer). */
export function StatusBar({ summary, metrics, appSelection, selectionText }) {
  return (
    <>
      <div style={{ display: "flex", height: 20, lineHeight: "20px", minWidth: 0 }}>
        <span data-testid="gridtsne-summary" style={{ ...ONE_LINE, flexShrink: 0, maxWidth: "100%" }} title={summary}>
          {summary}
        </span>
        {metrics && (
          <span data-testid="gridtsne-metrics" style={{ ...ONE_LINE, color: "#999", marginLeft: 10, minWidth: 0 }} title={metrics}>
            {metrics}
          </span>
        )}
      </div>
      <div
        data-testid="gridtsne-selection"
        data-app-selection={appSelection.sort().join(",")}
        style={{ height: 20, lineHeight: "20px", ...ONE_LINE }}
      >
        {selectionText}
      </div>
    </>
  );
}

const TIP_WIDTH = 180;

/** The hovered cell's thumbnail, name and label, kept inside the panel. */
export function HoverCard({ hover, info, size, value, colorField }) {
  const left = Math.min(hover.x + 14, size.width - TIP_WIDTH - 4);
  const top = hover.y + 150 > size.height ? Math.max(0, hover.y - 150) : hover.y + 14;
  return (
    <div
      data-testid="gridtsne-hover"
      style={{
        position: "absolute",
        left: Math.max(0, left),
        top,
        width: TIP_WIDTH,
        background: "rgba(20,20,20,0.92)",
        border: "1px solid #555",
        padding: 4,
        pointerEvents: "none",
        boxSizing: "border-box",
      }}
    >
      {info && info.filepath && (
        <img
          src={mediaUrl(info.filepath)}
          alt=""
          data-testid="gridtsne-hover-thumb"
          style={{ display: "block", maxWidth: "100%", maxHeight: 110, margin: "0 auto 2px" }}
        />
      )}
      <div style={ONE_LINE}>{info ? `${info.name}${info.label != null ? ` | ${info.label}` : ""}` : "…"}</div>
      {value !== null && value !== undefined && (
        <div style={ONE_LINE}>
          {colorField}: {fmt(value)}
        </div>
      )}
    </div>
  );
}
