// node --test: the panel's binary payloads (js/src/cells.js) as
// gridtsne/fo/panel_data.py and gridtsne/core/celltable.py write them.
import assert from "node:assert/strict";
import test from "node:test";

import { decodeCodes, decodeFloat64, decodeMask, decodeValues, fetchCells } from "../src/cells.js";

const b64 = (bytes) => Buffer.from(bytes).toString("base64");
const oid = (n) => Uint8Array.from({ length: 12 }, (_, k) => (k === 3 ? n : k === 11 ? n : 1));
const hex = (bytes) => Buffer.from(bytes).toString("hex");

function serve(bytes) {
  let calls = 0;
  globalThis.fetch = async () => {
    calls += 1;
    return { ok: true, arrayBuffer: async () => bytes.buffer };
  };
  return () => calls;
}

test("a cells file says which item each cell holds, and is fetched once per URL", async () => {
  const table = new Uint8Array(4 * 12); // 4 cells: items in 0 and 2
  table.set(oid(7), 0);
  table.set(oid(9), 24);
  const calls = serve(table);
  const cells = await fetchCells("/media?filepath=run-a.cells", 4, false);
  assert.equal(cells.count, 2);
  assert.deepEqual(Array.from(cells.occupied), [1, 0, 1, 0]);
  assert.equal(cells.idAt(0), hex(oid(7)));
  assert.equal(cells.idAt(1), null);
  assert.equal(cells.idAt(9), null);
  assert.equal(cells.cellOf(hex(oid(9))), 2);
  assert.equal(cells.cellOf("no such id"), undefined);
  await fetchCells("/media?filepath=run-a.cells", 4, false);
  assert.equal(calls(), 1);
});

test("a run of objects also knows each cell's sample", async () => {
  const table = new Uint8Array(3 * 24); // ids of 3 cells, then their samples' ids
  table.set(oid(1), 0);
  table.set(oid(2), 12);
  table.set(oid(5), 36);
  table.set(oid(5), 48);
  serve(table);
  const cells = await fetchCells("/media?filepath=run-b.cells", 3, true);
  assert.equal(cells.sampleIdAt(1), hex(oid(5)));
  assert.deepEqual(cells.cellsOfSample(hex(oid(5))), [0, 1]);
  assert.deepEqual(cells.cellsOfSample("other"), []);
});

test("a file that cannot be fetched is asked for again next time", async () => {
  globalThis.fetch = async () => ({ ok: false, status: 404 });
  await assert.rejects(fetchCells("/media?filepath=gone.cells", 2, false), /HTTP 404/);
  const table = new Uint8Array(24);
  table.set(oid(3), 12);
  serve(table);
  assert.equal((await fetchCells("/media?filepath=gone.cells", 2, false)).idAt(1), hex(oid(3)));
});

test("masks, codes and values decode as Python packs them", () => {
  // numpy.packbits(mask, bitorder="little") of [1,0,1,1,0,0,0,0, 1]
  assert.deepEqual(Array.from(decodeMask(b64([0b00001101, 0b00000001]), 9)),
    [1, 0, 1, 1, 0, 0, 0, 0, 1]);
  assert.deepEqual(Array.from(decodeCodes(b64(new Uint8Array(Uint16Array.from([3, 0xffff]).buffer)))),
    [3, 0xffff]);
  assert.deepEqual(Array.from(decodeValues(b64(new Uint8Array(Float32Array.from([0.5, -2]).buffer)))),
    [0.5, -2]);
  assert.deepEqual(Array.from(decodeFloat64(b64(new Uint8Array(Float64Array.from([1e-300]).buffer)))),
    [1e-300]);
});
