"""What a run leaves behind in its folder: the mosaic, layout.csv and
skipped.csv (the per-item fields are described in output_fields)."""

import numpy as np

from gridtsne.core import layout as core_layout
from gridtsne.core import pyramid as core_pyramid
from gridtsne.core import render as core_render
from gridtsne.fo import files, items, output_fields


def render(staging, config, its, layout, skipped, stages):
    """Mosaic (or Deep Zoom pyramid + overview), layout.csv and skipped.csv,
    into ``staging``; returns the legend of the label colours drawn (none
    without ``label_borders``: the panel colours the cells itself, in the App's
    colours, so the files carry no palette of their own)."""
    rows, cols, labels = layout.rows, layout.cols, its.labels
    drawn = labels if config.label_borders else None
    palette = core_render.label_colors(drawn or [])
    colors = core_render.border_colors_for(drawn) if drawn is not None else None
    outline = core_layout.most_suspicious(layout.label_disagreement, config.outline_suspicious)
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
        if config.regions and layout.regions:
            core_render.draw_regions(mosaic, layout.cells, layout.region, layout.regions,
                                     rows, cols)
        core_render.save_image_atomic(mosaic, staging.new_path("mosaic." + config.mosaic_format))

    objects = its.kind == items.LABELS
    order = np.lexsort((layout.cells[:, 1], layout.cells[:, 0]))
    header = ["filepath"] + (["label_id"] if objects else []) + [
        "label", "row", "col", "x", "y"]
    arrays = output_fields.layout_arrays(layout)
    region = arrays.get("region")
    if region is not None:
        header.append("region")
    scores = [(output_fields.BY_NAME[name], values) for name, values in arrays.items()
              if output_fields.BY_NAME[name].curation]
    header += [f.name for f, _ in scores]
    scores = [(f, values, f.missing(values)) for f, values in scores]
    table = []
    for i in order:
        row = [its.filepaths[i]] + ([its.ids[i]] if objects else []) + [
            "" if labels is None or labels[i] is None else labels[i],
            int(layout.cells[i, 0]), int(layout.cells[i, 1]),
            "%.6g" % layout.xy[i, 0], "%.6g" % layout.xy[i, 1]]
        if region is not None:
            row.append(int(region[i]))
        row += [f.to_csv(values[i], missing[i]) for f, values, missing in scores]
        table.append(row)
    files.write_csv(staging.new_path("layout.csv"), header, table)
    if skipped:
        files.write_csv(staging.new_path("skipped.csv"),
                        ["filepath"] + (["label_id"] if objects else []) + ["reason"],
                        [[s["filepath"]] + ([s["id"]] if objects else []) + [s["reason"]]
                         for s in skipped])
    return [[name, list(rgb)] for name, rgb in palette.items()]
