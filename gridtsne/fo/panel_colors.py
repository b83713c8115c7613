"""What the panel colours cells by, and what it shows of the cells it points at.

A colour-by field goes to the browser as one typed array over the run's items
(category codes or float32 values, base64), a column a view tests as float64
numbers or category codes (js/src/predict.js works views out from them), and
hover or zoom asks for the names, labels and paths of at most MAX_INFO_CELLS
cells. Values are remembered per run version and dataset contents, in memory
and in the panel's private cache folder (see :mod:`gridtsne.fo.panel_data`).
"""

import base64
import json
import logging
import os
from collections import OrderedDict

import numpy as np

from gridtsne.core import private
from gridtsne.fo import compute, items, panel_data, runs

logger = logging.getLogger(__name__)

NO_CATEGORY = 0xFFFF
MAX_CATEGORIES = 24  # more distinct values: the rarest become "other"
MAX_INFO_CELLS = 600
_CACHE_COLORS = 8
_colors = OrderedDict()


def cached_color_values(run, results, path, kind):
    """:func:`color_values`, remembered per dataset contents, in memory and in
    the panel's cache folder: otherwise the run's default colouring is made
    again every time the App server starts, though nothing changed."""
    return _per_contents(run, results, "%s|%s" % (path, kind),
                         lambda: color_values(run, results, path, kind))


def cached_column(run, results, path):
    """:func:`column_values`, remembered like the colours."""
    return _per_contents(run, results, "%s|column" % path,
                         lambda: column_values(run, results, path))


def _per_contents(run, results, what, make_value):
    """``make_value()`` (JSON), remembered per run version and dataset
    contents, in memory and in the panel's cache folder."""
    stamp = panel_data.contents_stamp(results.dataset, run.kind)
    if stamp is None:
        return make_value()
    token = "%s|%s|%s|%s|%s" % (results.dataset._doc.id, run.key, run.version, what, stamp)

    def make():
        folder = panel_data.cache_dir()
        name = panel_data._cache_name(token, ".color")
        try:  # the file says what it is for: a file of another token is not used
            stored = json.loads(private.read_file(os.path.join(folder, name)) or b"null")
            if isinstance(stored, dict) and stored.get("for") == token:
                return stored["value"]
        except (ValueError, KeyError):
            pass
        value = make_value()
        panel_data._write_cache_file(folder, name,
                                     json.dumps({"for": token, "value": value}).encode())
        return value

    return panel_data._memo(_colors, _CACHE_COLORS, token, make)


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
    sooner (docs/benchmarks.md). Best effort: the panel makes them
    itself if this fails."""
    try:
        panel_data.panel_run(results)  # reads or writes the cell file
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
    run = panel_data.panel_run(results)
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
        got = panel_data._pushed(view, results, run.cols, {"v": {"$ifNull": ["$" + path, None]}})
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


compute.after_save(prepare)  # every run saved in this process gets its panel files ahead
