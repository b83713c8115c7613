"""The binary cell table of a run: for every grid cell (``row * cols + col``)
the 12-byte ObjectId of the item in it (zeros for an empty cell), then, for a
run of objects, the same table of their samples' ids.

The panel sends it to the browser as one file; a run records its SHA-256 when
it is written, so a cached copy is checked against what the run wrote, not
against what happens to sit at its path.
"""

import hashlib

import numpy as np


def oid_array(hex_ids):
    """(N, 12) uint8 of 24-digit hex ObjectIds."""
    return np.frombuffer(b"".join(bytes.fromhex(i) for i in hex_ids),
                         dtype=np.uint8).reshape(-1, 12)


def table(oids, cell, n_cells, sample_oids=None):
    """The table's bytes: ``oids`` (N, 12) placed at ``cell`` (N,)."""
    blobs = []
    for ids in (oids, sample_oids):
        if ids is None:
            continue
        out = np.zeros((n_cells, 12), dtype=np.uint8)
        out[np.asarray(cell, dtype=np.int64)] = ids
        blobs.append(out.tobytes())
    return b"".join(blobs)


def digest(data):
    return hashlib.sha256(data).hexdigest()


def table_digest(ids, cells, cols, n_cells, sample_ids=None):
    """SHA-256 of the table of items ``ids`` (hex) at ``cells`` (N, 2 rows and
    columns) on a grid of ``cols`` columns."""
    cells = np.asarray(cells, dtype=np.int64).reshape(-1, 2)
    return digest(table(oid_array(ids), cells[:, 0] * cols + cells[:, 1], n_cells,
                        None if sample_ids is None else oid_array(sample_ids)))
