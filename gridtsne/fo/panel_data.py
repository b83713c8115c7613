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

NO_CATEGORY = 0xFFFF
MAX_CATEGORIES = 24  # more distinct values: the rarest become "other"
MAX_INFO_CELLS = 600
_CACHE_RUNS = 4
_CACHE_MASKS = 16
_CACHE_COLORS = 8
_CACHE_FILES = 32


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
_colors = OrderedDict()


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


def cached_color_values(run, results, path, kind):
    """:func:`color_values`, remembered per dataset contents, in memory and in
    the panel's cache folder: the run's default colouring costs about 0.4 s at
    100,000 samples, every time the App server starts, if nothing changed."""
    return _per_contents(run, results, "%s|%s" % (path, kind),
                         lambda: color_values(run, results, path, kind))


def cached_column(run, results, path):
    """:func:`column_values`, remembered like the colours."""
    return _per_contents(run, results, "%s|column" % path,
                         lambda: column_values(run, results, path))


def _per_contents(run, results, what, make_value):
    """``make_value()`` (JSON), remembered per run version and dataset
    contents, in memory and in the panel's cache folder."""
    stamp = contents_stamp(results.dataset, run.kind)
    if stamp is None:
        return make_value()
    token = "%s|%s|%s|%s|%s" % (results.dataset._doc.id, run.key, run.version, what, stamp)

    def make():
        folder = cache_dir()
        name = _cache_name(token, ".color")
        try:  # the file says what it is for: a file of another token is not used
            stored = json.loads(private.read_file(os.path.join(folder, name)) or b"null")
            if isinstance(stored, dict) and stored.get("for") == token:
                return stored["value"]
        except (ValueError, KeyError):
            pass
        value = make_value()
        _write_cache_file(folder, name, json.dumps({"for": token, "value": value}).encode())
        return value

    return _memo(_colors, _CACHE_COLORS, token, make)


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
    from gridtsne.fo.panel import view_item_ids

    cells = (run.cell_of(i) for i in view_item_ids(view, results))
    return np.asarray([c for c in cells if c is not None], dtype=np.int64)


def default_color_field(results, fields):
    """The run's label field, when it has one (what the panel colours by first)."""
    paths = {f["path"] for f in fields}
    if results.kind == items.LABELS:
        return "label"
    label = results.options.label_field
    for path in (label and label + ".label", label):
        if path in paths:
            return path
    return None


def prepare(results):
    """Makes what the panel reads when it first opens this run version (its
    cell file and its default colouring) now, in the cache folder every process
    of this user shares: the App server on this machine then opens a new run
    sooner (3.0 -> 1.8 s at 100,000 cells). Best effort: the panel makes them
    itself if this fails."""
    try:
        panel_run(results)  # reads or writes the cell file
        fields = colorable_fields(results)
        colors_of(results, default_color_field(results, fields), fields)
    except Exception:
        logger.debug("The panel's files for run %r were not made ahead", results.key,
                     exc_info=True)


def colors_of(results, path, fields=None):
    """:func:`cached_color_values` of ``path`` (with the run's version), or
    None when the run's cells cannot be coloured by it."""
    kinds = {f["path"]: f["kind"] for f in fields or colorable_fields(results)}
    if not path or path not in kinds:
        return None
    run = panel_run(results)
    return dict(cached_color_values(run, results, path, kinds[path]), version=run.version)


def colorable_fields(results):
    """Fields a run's cells can be coloured by: [{path, kind}], kind
    ``categorical`` (labels, tags, strings, booleans) or ``continuous``
    (ints, floats). Paths are relative to the run's items."""
    import fiftyone as fo

    view = results.dataset
    out = []
    if results.kind == items.LABELS:
        list_path = items.patches_list_path(view, results.record.patches_field)
        schema = view.get_field_schema(flat=True)
        out.append({"path": "label", "kind": "categorical"})
        for path, f in sorted(schema.items()):
            if not path.startswith(list_path + ".") or path.count(".") != list_path.count(".") + 1:
                continue
            name = path[len(list_path) + 1:]
            kind = _kind(f)
            if kind and name not in ("label", "id", "_id", "index"):
                out.append({"path": name, "kind": kind})
        return out
    schema = view.get_frame_field_schema() if results.kind == items.FRAMES else \
        view.get_field_schema()
    for name, f in sorted(schema.items()):
        if name in ("id", "filepath", "frame_number", "created_at", "last_modified_at"):
            continue
        doc = getattr(f, "document_type", None)
        if doc is not None and issubclass(doc, fo.Classification):
            out.append({"path": name + ".label", "kind": "categorical"})
        elif name == "tags":
            out.append({"path": "tags", "kind": "categorical"})
        else:
            kind = "categorical" if name.endswith("_group") else _kind(f)
            if kind and not name.endswith(("_row", "_col")):
                out.append({"path": name, "kind": kind})
    return out


def _kind(f):
    import fiftyone as fo

    if isinstance(f, (fo.StringField, fo.BooleanField)):
        return "categorical"
    if isinstance(f, (fo.IntField, fo.FloatField)) and not isinstance(f, fo.ObjectIdField):
        return "continuous"
    return None


def item_values(run, results, path):
    """(cells, values): the values of ``path`` (relative to the items) of the
    placed items and their cells."""
    view = results.placed_view()
    if run.kind == items.SAMPLES:
        got = _pushed(view, results, run.cols, {"v": {"$ifNull": ["$" + path, None]}})
        return np.asarray(got["cell"], dtype=np.int64), got["v"]
    if run.kind == items.LABELS:
        list_path = items.patches_list_path(view, results.record.patches_field)
        ids, values = view.values([list_path + ".id", list_path + "." + path], unwind=True)
    else:
        ids, values = view.values(["frames.id", "frames." + path], unwind=True)
    by_id = dict(zip(ids, values))
    return run.cell, [by_id.get(i) for i in run.ids]


def color_values(run, results, path, kind):
    """The panel's "colour by" data for ``path``: per cell a category code
    (``categorical``) or a float32 value (``continuous``), base64."""
    cells, values = item_values(run, results, path)
    out = {"field": path, "kind": kind}
    if kind == "continuous":
        per_item = np.array([np.nan if v is None or isinstance(v, (list, str)) else float(v)
                             for v in values], dtype=np.float32)
        per_cell = np.full(run.n_cells, np.nan, dtype=np.float32)
        per_cell[cells] = per_item
        finite = per_item[np.isfinite(per_item)]
        out.update(min=float(finite.min()) if len(finite) else None,
                   max=float(finite.max()) if len(finite) else None,
                   values=base64.b64encode(per_cell.tobytes()).decode())
        return out
    names = [_category(v) for v in values]
    counts = {}
    for name in names:
        if name is not None:
            counts[name] = counts.get(name, 0) + 1
    kept = sorted(counts, key=lambda n: (-counts[n], n))[:MAX_CATEGORIES]
    if len(counts) > MAX_CATEGORIES:
        kept = kept[:MAX_CATEGORIES - 1]
    categories = sorted(kept)
    code_of = {name: k for k, name in enumerate(categories)}
    other = len(categories) if len(counts) > len(categories) else None
    if other is not None:
        categories.append("(other)")
    codes = np.array([NO_CATEGORY if n is None else code_of.get(n, other) for n in names],
                     dtype=np.uint16)
    per_cell = np.full(run.n_cells, NO_CATEGORY, dtype=np.uint16)
    per_cell[cells] = codes
    out.update(categories=categories,
               counts=np.bincount(codes[codes != NO_CATEGORY], minlength=len(categories))
               .tolist(),
               codes=base64.b64encode(per_cell.tobytes()).decode())
    return out


def column_values(run, results, path):
    """Per cell values of a sample field that the browser can test views
    against (see js/src/predict.js): numbers exactly (float64, NaN for no
    value), or strings as category codes (:func:`color_values`); None for
    fields it cannot test (lists, booleans, objects, NaN values, runs of
    objects or frames)."""
    import fiftyone as fo

    if run.kind != items.SAMPLES:
        return None
    try:
        f = results.dataset.get_field(path)
    except Exception:
        return None
    if isinstance(f, (fo.FloatField, fo.IntField)) and not isinstance(f, fo.ObjectIdField):
        cells, values = item_values(run, results, path)
        if any(v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))
                                  or v != v or abs(v) > 2 ** 53) for v in values):
            return None  # not numbers MongoDB and JavaScript compare alike
        per_cell = np.full(run.n_cells, np.nan)
        per_cell[cells] = [np.nan if v is None else float(v) for v in values]
        return {"field": path, "kind": "continuous",
                "values": base64.b64encode(per_cell.tobytes()).decode()}
    if isinstance(f, fo.StringField):
        return color_values(run, results, path, "categorical")
    return None


def _category(value):
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return ", ".join(sorted(str(v) for v in value)) or None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def cells_info(run, results, cells):
    """{cell: {name, label, filepath[, box]}} for the cells asked about (hover,
    sharp zoom), at most :data:`MAX_INFO_CELLS` at a time."""
    cells = [int(c) for c in cells][:MAX_INFO_CELLS]
    at = run.item_at(cells) if cells else []
    wanted = {run.id_of(k): c for c, k in zip(cells, at) if k >= 0}
    if not wanted:
        return {}
    view = results.placed_view()
    label = results.options.label_field
    out = {}
    if run.kind == items.LABELS:
        list_path = items.patches_list_path(view, results.record.patches_field)
        sample_ids = {run.sample_ids[k] for k in at if k >= 0}
        sub = view.select(list(sample_ids))
        context = getattr(results.record, "patch_context", None) or 0.0
        for sid, path, lids, boxes, labels in zip(*sub.values([
                "id", "filepath", list_path + ".id", list_path + ".bounding_box",
                list_path + ".label"])):
            for lid, box, lab in zip(lids or [], boxes or [], labels or []):
                if lid in wanted:
                    out[str(wanted[lid])] = {
                        "name": os.path.basename(path), "label": lab, "filepath": path,
                        "box": _context_box(box, context)}
        return out
    if run.kind == items.FRAMES:
        ids, paths = view.values(["frames.id", "frames.filepath"], unwind=True)
        for i, p in zip(ids, paths):
            if i in wanted:
                out[str(wanted[i])] = {"name": os.path.basename(p or ""), "label": None,
                                       "filepath": p}
        return out
    fields = ["id", "filepath"]
    path = runs.label_path(view, label) if label else None
    if path:
        fields.append(path)
    got = view.select(list(wanted)).values(fields)
    labels = got[2] if path else [None] * len(got[0])
    for i, p, lab in zip(got[0], got[1], labels):
        out[str(wanted[i])] = {"name": os.path.basename(p), "filepath": p,
                               "label": None if lab is None else str(lab)}
    return out


def _context_box(box, context):
    if not box:
        return None
    x, y, w, h = box
    x0, y0 = max(0.0, x - context * w), max(0.0, y - context * h)
    x1, y1 = min(1.0, x + w + context * w), min(1.0, y + h + context * h)
    return [x0, y0, x1, y1]
