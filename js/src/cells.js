// The panel's compact data, decoded: everything is indexed by grid cell
// (row * cols + col). See gridtsne/fo/panel_data.py for the formats.

const cellFiles = new Map(); // url -> Promise<Cells>; a few run versions at most
const MAX_FILES = 4;

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** The run's cells: 12-byte ObjectIds per cell (zeros: empty), then for
 * objects the ids of their samples. Fetched once per URL (run version). */
export function fetchCells(url, nCells, objects) {
  if (cellFiles.has(url)) return cellFiles.get(url);
  const promise = fetch(url)
    .then((r) => {
      if (!r.ok) throw new Error(`cells file: HTTP ${r.status}`);
      return r.arrayBuffer();
    })
    .then((buffer) => makeCells(new Uint8Array(buffer), nCells, objects));
  promise.catch(() => cellFiles.delete(url));
  cellFiles.set(url, promise);
  while (cellFiles.size > MAX_FILES) cellFiles.delete(cellFiles.keys().next().value);
  return promise;
}

function makeCells(bytes, nCells, objects) {
  const ids = bytes.subarray(0, nCells * 12);
  const sampleIds = objects ? bytes.subarray(nCells * 12, nCells * 24) : null;
  const occupied = new Uint8Array(nCells);
  let count = 0;
  for (let c = 0; c < nCells; c++) {
    const o = c * 12;
    // an ObjectId starts with its 4-byte timestamp: never all zero
    if (ids[o] | ids[o + 1] | ids[o + 2] | ids[o + 3]) {
      occupied[c] = 1;
      count++;
    }
  }
  let idMap = null;
  let bySample = null;
  const hexAt = (arr, c) => {
    let s = "";
    for (let k = c * 12, end = k + 12; k < end; k++) s += HEX[arr[k]];
    return s;
  };
  return {
    nCells,
    count,
    occupied,
    idAt: (c) => (c >= 0 && c < nCells && occupied[c] ? hexAt(ids, c) : null),
    sampleIdAt: (c) => (sampleIds && c >= 0 && c < nCells && occupied[c] ? hexAt(sampleIds, c) : null),
    /** cell of an item id, or undefined (the map is built on first use) */
    cellOf: (id) => {
      if (!idMap) {
        idMap = new Map();
        for (let c = 0; c < nCells; c++) if (occupied[c]) idMap.set(hexAt(ids, c), c);
      }
      return idMap.get(id);
    },
    /** cells of the objects of a sample (runs of objects) */
    cellsOfSample: (id) => {
      if (!sampleIds) return [];
      if (!bySample) {
        bySample = new Map();
        for (let c = 0; c < nCells; c++) {
          if (!occupied[c]) continue;
          const s = hexAt(sampleIds, c);
          if (!bySample.has(s)) bySample.set(s, []);
          bySample.get(s).push(c);
        }
      }
      return bySample.get(id) || [];
    },
  };
}

/** The bytes of a base64 string (the panel data's binary payloads). */
export function bytesOf(b64) {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** A little-endian bitmask over the cells -> Uint8Array of 0/1 per cell. */
export function decodeMask(b64, nCells) {
  const bits = bytesOf(b64);
  const out = new Uint8Array(nCells);
  for (let c = 0; c < nCells; c++) out[c] = (bits[c >> 3] >> (c & 7)) & 1;
  return out;
}

export const NO_CATEGORY = 0xffff;

export function decodeCodes(b64) {
  const b = bytesOf(b64);
  return new Uint16Array(b.buffer, b.byteOffset, b.byteLength / 2);
}

export function decodeValues(b64) {
  const b = bytesOf(b64);
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}

export function decodeFloat64(b64) {
  const b = bytesOf(b64);
  return new Float64Array(b.buffer, b.byteOffset, b.byteLength / 8);
}
