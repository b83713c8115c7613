"""What a run leaves behind besides its record: the mosaic, layout.csv,
skipped.csv, and the per-item values of its fields (with their types)."""

import numpy as np

from gridtsne.core import layout as core_layout
from gridtsne.core import pyramid as core_pyramid
from gridtsne.core import render as core_render
from gridtsne.fo import files, items


def render(staging, config, its, layout, skipped, stages):
    """Mosaic (or Deep Zoom pyramid + overview), layout.csv and skipped.csv,
    into ``staging``; returns the legend of the label colours drawn."""
    rows, cols, labels = layout.rows, layout.cols, its.labels
    palette = core_render.label_colors(labels or [])
    colors = core_render.border_colors_for(labels) if labels is not None else None
    outline = core_layout.most_suspicious(layout.disagreement, config.outline_suspicious)
    n = len(its.ids)
    with stages.stage("render", total=n) as update:
        progress = lambda fraction: update(round(fraction * n))  # noqa: E731
        kwargs = dict(cell_px=config.cell_px, border_colors=colors, outline=outline,
                      max_pixels=config.max_pixels, progress=progress, boxes=its.boxes)
        if core_pyramid.needs_pyramid(rows, cols, config.cell_px):
            _, mosaic = core_pyramid.write_pyramid(its.filepaths, layout.cells, rows, cols,
                                                   staging.new_path("tiles"), **kwargs)
        else:
            mosaic = core_render.render_mosaic(its.filepaths, layout.cells, rows, cols,
                                               **kwargs)
        core_render.save_image_atomic(mosaic, staging.new_path("mosaic." + config.mosaic_format))

    objects = its.kind == items.LABELS
    order = np.lexsort((layout.cells[:, 1], layout.cells[:, 0]))
    header = ["filepath"] + (["label_id"] if objects else []) + [
        "label", "row", "col", "x", "y"]
    columns = []  # (values, format) of the curation scores the run has
    for name, values, fmt in (("label_disagreement", layout.disagreement, "%.4f"),
                              ("duplicate_group", layout.duplicate_group, "%d"),
                              ("outlier", layout.outlier, "%.4f")):
        if values is not None:
            header.append(name)
            columns.append((values, fmt))
    table = []
    for i in order:
        row = [its.filepaths[i]] + ([its.ids[i]] if objects else []) + [
            "" if labels is None or labels[i] is None else labels[i],
            int(layout.cells[i, 0]), int(layout.cells[i, 1]),
            "%.6g" % layout.xy[i, 0], "%.6g" % layout.xy[i, 1]]
        for values, fmt in columns:
            v = values[i]
            row.append("" if v is None or (fmt == "%d" and v < 0) or (
                fmt != "%d" and np.isnan(v)) else fmt % v)
        table.append(row)
    files.write_csv(staging.new_path("layout.csv"), header, table)
    if skipped:
        files.write_csv(staging.new_path("skipped.csv"),
                        ["filepath"] + (["label_id"] if objects else []) + ["reason"],
                        [[s["filepath"]] + ([s["id"]] if objects else []) + [s["reason"]]
                         for s in skipped])
    return [[name, list(rgb)] for name, rgb in palette.items()]


def run_fields(key, layout):
    """{name: field name} of every field a layout gives (prefix not included)."""
    return {field[len(key) + 1:]: field for field in layout_values(key, layout)}


def field_types(key, prefix="", embedding=None):
    """The FiftyOne type of every field a run may write (``prefix``: where
    the run's fields live, e.g. ``ground_truth.detections.``)."""
    import fiftyone as fo

    types = {"x": fo.FloatField, "y": fo.FloatField, "row": fo.IntField, "col": fo.IntField,
             "label_disagreement": fo.FloatField, "duplicate_group": fo.IntField,
             "outlier": fo.FloatField}
    out = {"%s%s_%s" % (prefix, key, name): t for name, t in types.items()}
    if embedding:
        out[embedding] = fo.VectorField
    return out


def layout_values(key, layout):
    """{field name: values} of a layout: x, y, row, col and curation scores."""
    out = {"x": layout.xy[:, 0].tolist(), "y": layout.xy[:, 1].tolist(),
           "row": layout.cells[:, 0].tolist(), "col": layout.cells[:, 1].tolist()}
    if layout.disagreement is not None:
        out["label_disagreement"] = [None if np.isnan(v) else float(v)
                                     for v in layout.disagreement]
    if layout.duplicate_group is not None:
        out["duplicate_group"] = [None if g < 0 else int(g) for g in layout.duplicate_group]
    if layout.outlier is not None:
        out["outlier"] = [float(v) for v in layout.outlier]
    return {"%s_%s" % (key, name): values for name, values in out.items()}
