// node --test: the mosaic's geometry (js/src/viewer.js), what clicks, box and
// lasso selection and zoom rest on, without a browser.
import assert from "node:assert/strict";
import test from "node:test";

import { cellRect, fitView, hit, inPolygon, pickLevel, resizeView, toGrid, visibleCells, zoomAt }
  from "../src/viewer.js";

test("fitting centres the whole grid at the largest scale that shows it", () => {
  const view = fitView(800, 400, 10, 40); // 40 columns of 20 px fill the width
  assert.equal(view.scale, 20);
  assert.deepEqual([view.x, view.y], [0, 100]);
  assert.deepEqual(toGrid(view, 0, 100), [0, 0]);
  assert.deepEqual(toGrid(view, 800, 300), [40, 10]);
});

test("zooming keeps the grid point under the pointer where it was", () => {
  const view = fitView(800, 400, 10, 40);
  const before = toGrid(view, 333, 222);
  const zoomed = zoomAt(view, 3, 333, 222, 0.1, 1000);
  assert.equal(zoomed.scale, 60);
  const after = toGrid(zoomed, 333, 222);
  assert.ok(Math.abs(after[0] - before[0]) < 1e-9 && Math.abs(after[1] - before[1]) < 1e-9);
  assert.equal(zoomAt(view, 1e6, 0, 0, 0.1, 100).scale, 100); // bounded
});

test("resizing keeps the zoom and the centre", () => {
  const view = { scale: 5, x: 10, y: 20 };
  assert.deepEqual(resizeView(view, { width: 100, height: 100 }, { width: 200, height: 140 }),
    { scale: 5, x: 60, y: 40 });
});

test("a click hits the occupied cell under it, and nothing outside the grid or in a hole", () => {
  const view = { scale: 10, x: 0, y: 0 };
  const occupied = Uint8Array.from([1, 1, 0, 1, 1, 1]); // 2 rows x 3 cols, cell 2 empty
  assert.equal(hit(view, occupied, 2, 3, 15, 5), 1);
  assert.equal(hit(view, occupied, 2, 3, 25, 5), -1); // the hole
  assert.equal(hit(view, occupied, 2, 3, 5, 15), 3);
  assert.equal(hit(view, occupied, 2, 3, -1, 5), -1);
  assert.equal(hit(view, occupied, 2, 3, 31, 5), -1);
  // cells far smaller than a pixel: the cell the pixel really falls in
  const tiny = { scale: 0.25, x: 0, y: 0 };
  const all = new Uint8Array(1000 * 1000).fill(1);
  assert.equal(hit(tiny, all, 1000, 1000, 10.1, 2.6), 10 * 1000 + 40);
  assert.deepEqual(cellRect(view, 3, 4), [10, 10, 10]);
});

test("a lasso selects the occupied cells whose centres it encloses", () => {
  const view = { scale: 10, x: 0, y: 0 };
  const occupied = new Uint8Array(16).fill(1); // 4 x 4
  occupied[5] = 0;
  // a triangle over the upper-left half: centres (c + 0.5, r + 0.5) below its diagonal
  const cells = inPolygon(view, occupied, 4, 4, [[0, 0], [40, 0], [0, 40]]);
  assert.deepEqual(cells.sort((a, b) => a - b), [0, 1, 2, 4, 8]);
});

test("the visible cells are those the canvas shows, clipped to the grid", () => {
  const view = { scale: 10, x: -25, y: -5 }; // grid x 2.5-7.5, y 0.5-2.5
  assert.deepEqual(visibleCells(view, 100, 100, 50, 20), { r0: 0, r1: 2, c0: 2, c1: 7 });
});

test("the tile level is the first whose cells are as large as wanted", () => {
  const tiles = { levels: 8 }; // level 7 is full size, each level below halves it
  assert.equal(pickLevel(tiles, 64, 8), 4); // 64 / 2^3 = 8
  assert.equal(pickLevel(tiles, 64, 64), 7);
  assert.equal(pickLevel(tiles, 64, 1000), 7); // never past full size
});
