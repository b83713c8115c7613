// The colour-by legend: categories whose entries hide or show their cells, or
// a viridis colour bar with an editable range.
import React from "react";
import { BUTTON, fmt } from "./appState";
import { Btn } from "./controls";
import { viridisGradient } from "./colors";

/** Cells of each category (codes[c] = its index, or NO_CATEGORY) that are in
 * the view (inView[c] truthy). */
export function countInView(codes, inView, nCategories) {
  const out = new Array(nCategories).fill(0);
  for (let c = 0; c < codes.length; c++) {
    const k = codes[c];
    if (inView[c] && k >= 0 && k < nCategories) out[k]++;
  }
  return out;
}

/** What the colours mean: categories that toggle, or a colour bar with its range. */
export default function Legend({ coloring, colorData, inViewCounts, hiddenCats, setHiddenCats, range, setRange }) {
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
        <Btn onClick={() => setRange([colorData.min, colorData.max])}>
          reset
        </Btn>
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
          {inViewCounts && inViewCounts[k] !== colorData.counts[k]
            ? `${name} (${inViewCounts[k]} of ${colorData.counts[k]})`
            : `${name} (${colorData.counts[k]})`}
        </span>
      ))}
    </div>
  );
}
