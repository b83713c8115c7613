// What the cells are coloured by: the "colour by" field's values decoded once
// per content, the App's colours for its categories (or viridis for numbers),
// the legend's hidden entries and range, and per cell its RGBA and whether it
// is hidden.
import { useCallback, useEffect, useMemo, useState } from "react";
import { decodeCodes, decodeValues, NO_CATEGORY } from "./cells";
import { categoryColors, rgbOf, viridis } from "./colors";

export function useColoring({ data, version, grid, objects, nCells, cells, colorScheme, colorMap }) {
  const [hiddenCats, setHiddenCats] = useState(() => new Set());
  const [range, setRange] = useState(null);
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
  // values and filling the layers of every cell on each would slow every click.
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

  return { colorData, colorField, decoded, coloring, hiddenCats, setHiddenCats, range, setRange, layers, colorOf };
}
