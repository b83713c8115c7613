// node --test: the regions overlay's geometry (js/src/regions.js) on the map
// gridtsne/fo/regions.py sends.
import assert from "node:assert/strict";
import test from "node:test";

import { decodeRegionMap, EMPTY, nameAlpha, placeNames, purityColor, regionEdges } from "../src/regions.js";

test("the map decodes one region per cell, empty cells as EMPTY", () => {
  const map = decodeRegionMap(Buffer.from([0, 0, 1, EMPTY]).toString("base64"), 4);
  assert.deepEqual(Array.from(map), [0, 0, 1, EMPTY]);
});

test("edges run between cells of different regions only", () => {
  // 2 x 3: region 0 | region 0 | region 1, over region 0 | region 1 | empty
  const map = Uint8Array.from([0, 0, 1, 0, 1, EMPTY]);
  const edges = regionEdges(map, 2, 3).map((e) => e.join(" "));
  assert.deepEqual(edges.sort(), ["1 1 1 2", "1 1 2 1", "2 0 2 1", "2 1 2 2", "2 1 3 1"].sort());
});

test("names never overlap: a smaller region's name moves or gives way", () => {
  const view = { x: 0, y: 0, scale: 10 };
  const regions = [
    { id: 0, name: "bus 90%", count: 50, centre: [5, 5] },
    { id: 1, name: "car 80%", count: 20, centre: [5, 5] },
    { id: 2, name: "palm 99%", count: 30, centre: [40, 40] },
  ];
  const placed = placeNames(regions, view, (t) => t.length * 7);
  assert.equal(placed[0].id, 0); // the largest first, at its centre
  assert.equal(placed[0].x, 55);
  for (let i = 0; i < placed.length; i++)
    for (let j = i + 1; j < placed.length; j++) {
      const a = placed[i].box;
      const b = placed[j].box;
      assert.ok(a.x1 <= b.x0 || b.x1 <= a.x0 || a.y1 <= b.y0 || b.y1 <= a.y0, "overlap");
    }
  assert.equal(placed.length, 3);
});

test("names fade out from twice the fit zoom, purity runs red to green", () => {
  assert.equal(nameAlpha(10, 10), 1);
  assert.equal(nameAlpha(30, 10), 0.5);
  assert.equal(nameAlpha(50, 10), 0);
  const [r0, g0] = purityColor(0.5);
  const [r1, g1] = purityColor(1);
  assert.ok(r0 > g0 && g1 > r1);
});
