"""What the ``grid_mosaic`` panel sends to the browser, and how compactly.

At 100,000 cells, lists of ids and names in JSON cost megabytes and seconds on
every view change. So everything here is indexed by grid cell
(``row * cols + col``):

- the run's cells go once per run version as a binary file (12-byte ObjectIds
  per cell, zeros for an empty one) that the App serves at ``/media`` and the
  browser caches by URL;
- the current view is a bitmask over the cells, read from MongoDB with one
  aggregation (no per-sample Python objects);
- the values of a "colour by" field are one typed array (category codes or
  float32 values), base64 in the panel data;
- the values of the fields a view tests (float64 numbers or category codes),
  once per field and run version, from which the browser works out the next
  views on them itself (js/src/predict.js);
- names, labels and file paths are looked up for the cells the user hovers or
  zooms into, not sent up front.

Runs are cached per (dataset, key, version) in the App server's process (and
read back from their cell file by a new one); view masks and colours per run
version and dataset contents (:func:`contents_stamp`).
"""

import base64
import hashlib
import json
import logging
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from gridtsne.core import celltable, private
from gridtsne.fo import items, runs

logger = logging.getLogger(__name__)

_CACHE_RUNS = 4
_CACHE_MASKS = 16
_CACHE_FILES = 32


@dataclass
@dataclass
class PanelRun:
    """A run as the panel needs it: which item sits in which cell."""

    key: str
    version: str
    rows: int
    cols: int
    kind: str
    cell: np.ndarray  # int64 cell per placed item
    oids: np.ndarray  # (items, 12) uint8: the items' ObjectIds, in the order of ``cell``
    sample_ids: list = None  # objects: the id of each one's sample
    _cell_of: dict = field(default=None, repr=False)
    _ids: list = field(default=None, repr=False)

    @property
    def n_cells(self):
        return self.rows * self.cols

    @property
    def ids(self):
        """Item ids as strings (made on first use: 100,000 cost a moment)."""
        if self._ids is None:
            self._ids = [bytes(o).hex() for o in self.oids]
        return self._ids

    def id_of(self, k):
        return bytes(self.oids[k]).hex()

    def cell_of(self, item_id):
        if self._cell_of is None:
            self._cell_of = dict(zip(self.ids, self.cell.tolist()))
        return self._cell_of.get(item_id)

    def item_at(self, cells):
        """Item positions (into ``ids``) of the given cells; -1 where empty."""
        index = np.full(self.n_cells, -1, dtype=np.int64)
        index[self.cell] = np.arange(len(self.cell))
        return index[np.asarray(cells, dtype=np.int64)]


_runs = OrderedDict()
_lock = threading.Lock()
_results = OrderedDict()
_masks = OrderedDict()


def _memo(cache, limit, token, make):
    with _lock:
        if token in cache:
            cache.move_to_end(token)
            return cache[token]
    value = make()
    with _lock:
        cache[token] = value
        while len(cache) > limit:
            cache.popitem(last=False)
    return value


def reload_dataset(dataset):
    """``dataset.reload()``, never while another thread reads its runs."""
    with runs.RESULTS_LOCK:
        dataset.reload()


def grid_keys(dataset):
    """``runs.list_grids``, never while another thread reloads the dataset."""
    with runs.RESULTS_LOCK:
        return runs.list_grids(dataset)


def load_results(dataset, key):
    """The run's :class:`~gridtsne.fo.runs.GridResults`, read once per version;
    None when the dataset has no such grid run (deleted meanwhile)."""
    with runs.RESULTS_LOCK:
        config = runs.record(dataset, key)
        if config is None:
            return None
        token = (str(dataset._doc.id), key, config.version)
        if token not in _results:
            _results[token] = runs.load_grid(dataset, key)
            while len(_results) > _CACHE_RUNS:
                _results.popitem(last=False)
        _results.move_to_end(token)
        return _results[token]


def panel_run(results):
    """The cached :class:`PanelRun` of a loaded run (read once per version:
    from its cell file when an earlier App server made it, else from MongoDB,
    which at 100,000 samples is half a second of decoding ObjectIds)."""
    def make():
        run = _run_from_cells_file(results)
        if run is None:
            run = _read_run(results)
            cells_file(results, run)
        return run

    token = (str(results.dataset._doc.id), results.key, results.version)
    return _memo(_runs, _CACHE_RUNS, token, make)


def _read_run(results):
    rows, cols = results.rows, results.cols
    if results.kind == items.SAMPLES:
        got = _pushed(results.placed_view(), results, cols, {"id": "$_id"})
        oids = _oid_array([i.binary for i in got["id"]])
        cell = np.asarray(got["cell"], dtype=np.int64)
        return PanelRun(results.key, results.version, rows, cols, results.kind, cell, oids)
    layout = results.layout()
    cell = np.asarray(layout["row"], dtype=np.int64) * cols + np.asarray(layout["col"],
                                                                          dtype=np.int64)
    run = PanelRun(results.key, results.version, rows, cols, results.kind, cell,
                   _oid_array([bytes.fromhex(i) for i in layout["id"]]), layout.get("sample_id"))
    run._ids = list(layout["id"])
    return run


def _run_from_cells_file(results):
    """The run read back from its cached cell file, when that file is what
    the run recorded writing (its SHA-256); else None. A run made before the
    digest was recorded is read from MongoDB: nothing vouches for its file."""
    if not results.cells_digest:
        return None
    n_cells = results.rows * results.cols
    blob = private.read_file(_cells_path(results))
    if blob is None or celltable.digest(blob) != results.cells_digest:
        return None
    objects = results.kind == items.LABELS
    if len(blob) != n_cells * 12 * (2 if objects else 1):
        return None
    per_cell = np.frombuffer(blob, dtype=np.uint8).reshape(-1, n_cells, 12)
    cell = np.flatnonzero(per_cell[0].any(axis=1))
    sample_ids = [bytes(o).hex() for o in per_cell[1][cell]] if objects else None
    return PanelRun(results.key, results.version, results.rows, results.cols, results.kind,
                    cell, np.ascontiguousarray(per_cell[0][cell]), sample_ids)


def _cell_of_doc(results, cols):
    """The MongoDB expression of a sample's cell, ``row * cols + col``."""
    row, col = results.fields["row"], results.fields["col"]
    return {"$add": [{"$multiply": ["$" + row, cols]}, "$" + col]}


# cells per result document of _pushed: 131,072 ObjectIds, cells and short
# values stay near 6 MB, far from MongoDB's 16 MB limit on one document
_CELLS_PER_GROUP = 1 << 17


def _pushed(view, results, cols, values, match=None):
    """{"cell": [...], name: [...]} for ``values`` ({name: expression}) of
    the view's samples, the lists in the same order. One $group of all samples
    would return one document, which MongoDB refuses above 16 MB (1,000,000
    ObjectIds alone are 20 MB), so the samples are grouped by blocks of cells."""
    cell = _cell_of_doc(results, cols)
    group = {"_id": {"$floor": {"$divide": [cell, _CELLS_PER_GROUP]}}, "cell": {"$push": cell}}
    group.update({k: {"$push": v} for k, v in values.items()})
    out = {k: [] for k in group if k != "_id"}
    for doc in view._aggregate(pipeline=([{"$match": match}] if match else []) + [
            {"$group": group}]):
        for k, v in out.items():
            v.extend(doc[k])
    return out


def _oid_array(binaries):
    return np.frombuffer(b"".join(binaries), dtype=np.uint8).reshape(-1, 12)


def cache_dir():
    """Where the panel's per-version cell files and colourings live: a
    private folder of this user's (see gridtsne.core.private), not the run's
    folder, which only the run's writer touches."""
    return private.private_folder(os.path.join(private.cache_root(), "panel"), "panel cache")


def _cache_name(token, suffix):
    return hashlib.sha1(token.encode()).hexdigest() + suffix


def _cells_path(results):
    return os.path.join(cache_dir(), _cells_name(results))


def _cells_name(results):
    return _cache_name("%s|%s|%s" % (results.dataset._doc.id, results.key, results.version),
                       ".cells")


def cells_file(results, run):
    """Path of the run version's cell table (gridtsne.core.celltable), which
    the browser fetches; written anew unless the file there is the run's."""
    folder = cache_dir()
    path = os.path.join(folder, _cells_name(results))
    sample_oids = None
    if run.sample_ids is not None:
        sample_oids = _oid_array([bytes.fromhex(i) for i in run.sample_ids])
    data = celltable.table(run.oids, run.cell, run.n_cells, sample_oids)
    existing = private.read_file(path)
    if existing is None or celltable.digest(existing) != celltable.digest(data):
        _write_cache_file(folder, os.path.basename(path), data)
    return path


def _write_cache_file(folder, name, data):
    """Writes ``data`` so that no reader sees half a file, and keeps only the
    newest files of its kind."""
    private.write_file(folder, name, data)
    _prune(folder, os.path.splitext(name)[1])


def _prune(folder, suffix):
    def age(path):
        try:
            return os.lstat(path).st_mtime
        except OSError:
            return 0.0

    files = sorted((os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(suffix)),
                   key=age)
    for path in files[:-_CACHE_FILES]:
        try:
            os.remove(path)
        except OSError:
            pass


def pack_mask(run, cells):
    """A little-endian bitmask over the run's cells, base64."""
    mask = np.zeros(run.n_cells, dtype=bool)
    cells = np.asarray(cells, dtype=np.int64)
    mask[cells[(cells >= 0) & (cells < run.n_cells)]] = True
    return base64.b64encode(np.packbits(mask, bitorder="little").tobytes()).decode()


def contents_stamp(dataset, kind):
    """A string that changes whenever the dataset's samples (and, for a run of
    frames, its frames) are added, edited or deleted: FiftyOne stamps an
    indexed ``last_modified_at`` on every write it makes. None without that
    index (then nothing below is cached)."""
    indexes = set(dataset.list_indexes())
    colls = [("last_modified_at", dataset._sample_collection)]
    if kind == items.FRAMES:
        colls.append(("frames.last_modified_at", dataset._frame_collection))
    parts = []
    for index, coll in colls:
        if index not in indexes:
            return None
        last = coll.find_one({}, {"last_modified_at": 1}, sort=[("last_modified_at", -1)])
        parts.append("%d@%s" % (coll.estimated_document_count(),
                                last and last.get("last_modified_at")))
    return ";".join(parts)


def view_mask(run, results, view):
    """(count, bitmask) of the cells ``view`` shows, remembered per view and
    dataset contents: going back to a view the panel has shown is instant."""
    def make():
        cells = view_cells(run, results, view)
        return int(len(cells)), pack_mask(run, cells)

    own = getattr(view, "_stages", None) and \
        view._root_dataset._doc.id == results.dataset._doc.id  # (its contents are stamped)
    stamp = contents_stamp(results.dataset, run.kind) if own else None
    if stamp is None:
        return make()
    token = "%s|%s|%s|%s|%s" % (results.dataset._doc.id, run.key, run.version, stamp,
                                json.dumps(view._serialize(), sort_keys=True, default=str))
    return _memo(_masks, _CACHE_MASKS, token, make)


def view_cells(run, results, view):
    """Cells of the run's items that ``view`` shows (filters and sidebar
    filters included); for objects, those its label filters or patches keep."""
    if run.kind == items.SAMPLES and not getattr(view, "_is_patches", False) \
            and not getattr(view, "_is_frames", False) \
            and view._root_dataset._doc.id == results.dataset._doc.id:
        if not getattr(view, "_stages", None) and view.media_type != "group":
            return run.cell  # the whole dataset: every placed sample
        got = _pushed(view, results, run.cols, {},
                      match={results.fields["row"]: {"$type": "number"}})
        return np.asarray(got["cell"], dtype=np.int64)
    cells = (run.cell_of(i) for i in view_item_ids(view, results))
    return np.asarray([c for c in cells if c is not None], dtype=np.int64)


def view_item_ids(view, results):
    """Ids of the run's items (samples, frames or objects) that ``view`` shows:
    for objects, those left by the App's label filters, or the patches view's."""
    if results.kind == items.LABELS:
        if getattr(view, "_is_patches", False):
            return view.values("id")
        list_path = items.patches_list_path(view, results.record.patches_field)
        return view.values(list_path + ".id", unwind=True)
    return view.values("id")
