"""``grid_mosaic``: the mosaic as an App panel linked to the dataset view.

A hybrid panel, like FiftyOne's built-in ones: this Python side sends the run
(its shape, files and the URL of its binary cell file), the cells in the
current view (a bitmask), the values of the "colour by" field and, when asked,
names and paths of cells (see :mod:`gridtsne.fo.panel_data`); the
``GridMosaicView`` React component from the plugin's JS bundle (``js/``, built
into ``dist/index.umd.js``) draws it on a canvas. Pan, zoom, hover, click, box
and lasso selection run in the browser and set the App's selection directly;
Python handles changes of run, view and colour field, "open sample" and
"selection to view".
"""

import math
import os
import uuid
import xml.etree.ElementTree as ET

import fiftyone.operators as foo
import fiftyone.operators.types as types
from fiftyone import ViewField as F

from gridtsne.core import pyramid
from gridtsne.core.metrics import PLAIN_NAMES
from gridtsne.fo import panel_colors, panel_data, similarity
from gridtsne.fo import regions as run_regions

NAME = "grid_mosaic"
COMPONENT = "GridMosaicView"


def tiles_info(dzi_path):
    """What the viewer needs to find a Deep Zoom pyramid's tiles, or None."""
    if not dzi_path or not os.path.isfile(dzi_path):
        return None
    root = ET.parse(dzi_path).getroot()
    size = next(el for el in root if el.tag.endswith("Size"))
    width, height = int(size.get("Width")), int(size.get("Height"))
    return {
        "files_dir": os.path.splitext(dzi_path)[0] + "_files",
        "width": width, "height": height, "tile": int(root.get("TileSize")),
        "levels": len(pyramid.level_sizes(width, height)),
    }


def run_payload(results):
    """Panel data for one grid run: its shape, files and what its cells can be
    coloured by; the cells themselves go as a binary file (see panel_data)."""
    run = panel_data.panel_run(results)
    tiles = tiles_info(results.tiles_path)
    metrics = results.metrics or {}
    fields = panel_colors.colorable_fields(results)
    return {
        "key": results.key, "rows": results.rows, "cols": results.cols,
        "n": len(run.ids),
        "mosaic_path": results.mosaic_path,
        "cells_path": panel_data.cells_file(results, run),
        "version": run_version(results),
        "cell_px": tiles["width"] // results.cols if tiles else results.options.cell_px,
        "tiles": tiles,
        "metrics": " | ".join(
            "%s %.2f" % (PLAIN_NAMES[k], metrics[k]) for k in PLAIN_NAMES
            if isinstance(metrics.get(k), float) and not math.isnan(metrics[k])
        ),
        # what a cell is: an image ("samples"), an object ("labels") or a frame
        "items": results.kind,
        "field": results.record.patches_field if results.kind == "labels" else None,
        "color_fields": fields,
        "default_color": panel_colors.default_color_field(results, fields),
        "regions": run_regions.panel_payload(results),
    }


def run_version(results):
    """Changes with every write of the run (recompute or regrid), so that the
    component reloads its images rather than showing cached ones."""
    return results.version


class GridMosaicPanel(foo.Panel):
    @property
    def config(self):
        return foo.PanelConfig(
            name=NAME,
            label="Grid mosaic",
            icon="grid_view",
            help_markdown="Similarity-sorted mosaic of a gridtsne run. Scroll to zoom, "
            "drag to pan; click a cell to select its sample (ctrl/cmd-click to add), "
            "box or lasso mode (or shift-drag) to select many, double-click to open "
            "a sample. Cells outside the current view are dimmed.",
        )

    def on_load(self, ctx):
        self._sync_runs(ctx, resend=True)

    def on_change_dataset(self, ctx):
        ctx.panel.state.key = None  # another dataset: its own runs
        ctx.panel.state.color = None
        self.on_load(ctx)

    def on_refresh(self, ctx):
        """Runs added, deleted, recomputed, queued or finished since the panel
        loaded: the component asks when its run list is opened, refresh is
        clicked, the App reloads its dataset (as the plugin's operators make it
        do) and every few seconds while a run is queued or running."""
        panel_data.reload_dataset(ctx.dataset)  # the App server's copy predates runs made elsewhere
        self._sync_runs(ctx, resend=False)

    def on_change_key(self, ctx):
        """Shows the run chosen in the list; one deleted meanwhile is dropped
        from the list instead of failing."""
        panel_data.reload_dataset(ctx.dataset)
        ctx.panel.state.key = ctx.params.get("value")
        ctx.panel.state.color = None
        self._sync_runs(ctx, resend=True)

    def on_view(self, ctx):
        """The cells of a new view or sidebar filter. The component asks as
        soon as the App's view changes; FiftyOne's own ``on_change_view`` is
        not defined because the App calls it only after its grid queries, and
        once for each of the view, filters and extended stages. The answer
        carries the component's ``key`` for that view, so that it knows which
        view a mask is of."""
        self._send_view(ctx, key=ctx.params.get("key"))

    def on_color_by(self, ctx):
        """Colours the cells by a field ("" for none), drawn in the browser."""
        ctx.panel.state.color = ctx.params.get("field") or ""
        self._send_color(ctx)

    def on_columns(self, ctx):
        """Per cell values of the fields a view tests (``fields``), with which
        the component works out the next views on them itself (see
        :func:`panel_colors.column_values`); null for a field it cannot have."""
        results = self._results(ctx)
        if results is None:
            return
        run = panel_data.panel_run(results)
        columns = {path: panel_colors.cached_column(run, results, path)
                   for path in (ctx.params.get("fields") or [])[:8]}
        # each answer once: the App hands the component its data again with
        # every other update, and an old answer must not come back
        ctx.panel.data.columns = {"version": run.version, "columns": columns,
                                  "answer": uuid.uuid4().hex}

    def on_cells_info(self, ctx):
        """Names, labels and file paths of the cells the user hovers or zooms into."""
        results = self._results(ctx)
        if results is None:
            return
        run = panel_data.panel_run(results)
        if ctx.params.get("version") not in (None, run.version):
            return
        info = panel_colors.cells_info(run, results, ctx.params.get("cells") or [])
        ctx.panel.data.info = {"version": run.version, "cells": info}

    def on_open_sample(self, ctx):
        sample_id = ctx.params.get("id")
        if sample_id:
            ctx.ops.open_sample(id=sample_id)

    def on_region(self, ctx):
        """Selects the samples of a region, or makes them the view."""
        results = self._results(ctx)
        region = ctx.params.get("region")
        if results is None or not isinstance(region, int) or not results.fields.get("region"):
            return
        view = results.view.match(F(results.fields["region"]) == region)
        if ctx.params.get("action") == "filter":
            ctx.ops.set_view(view)
        else:
            ctx.ops.set_selected_samples(view.values("id"))

    def on_similar(self, ctx):
        """The k samples most similar to a cell's, from the run's similarity
        index; the component rings them on the grid."""
        from gridtsne.config import GridError

        results, query = self._results(ctx), ctx.params.get("id")
        if results is None or not query:
            return
        answer = {"key": results.key, "query": query, "ids": [], "answer": uuid.uuid4().hex}
        try:
            answer["ids"] = similarity.nearest(ctx.dataset, results.key, results.similarity_key,
                                               query, int(ctx.params.get("k") or 10))
        except (GridError, ValueError) as e:
            answer["error"] = str(e)
        ctx.panel.data.similar = answer

    def on_ids_to_view(self, ctx):
        ids = [i for i in ctx.params.get("ids") or [] if isinstance(i, str)]
        if ids:
            ctx.ops.set_view(ctx.dataset.select(ids, ordered=True))

    def on_selection_to_view(self, ctx):
        if ctx.selected:
            ctx.ops.set_view(ctx.dataset.select(ctx.selected))

    def _results(self, ctx):
        key = ctx.panel.state.key
        return panel_data.load_results(ctx.dataset, key) if key else None

    def _sync_runs(self, ctx, resend):
        """Lists the runs (and those queued or running), keeps the shown one if
        it still exists, and sends it when ``resend``, when it is another run
        or when it has changed."""
        from gridtsne.fo.delegated import pending_grids

        keys = panel_data.grid_keys(ctx.dataset)
        key = ctx.panel.state.key
        if key not in keys:
            key = keys[0] if keys else None
        # a run that appeared since the last look (just computed): show it
        known = ctx.panel.state.keys
        new = [k for k in keys if known is not None and k not in known]
        if new:
            key = new[0]
        if keys != ctx.panel.state.keys:
            ctx.panel.state.keys = keys
        pending = pending_grids(ctx.dataset)
        if pending != ctx.panel.state.pending:
            ctx.panel.state.pending = pending
        results = panel_data.load_results(ctx.dataset, key) if key else None
        # samples added since the run was made (they change without the run)
        unplaced = {"key": key, "count": results.unplaced_count() if results else 0}
        if unplaced != ctx.panel.state.unplaced:
            ctx.panel.state.unplaced = unplaced
            ctx.panel.data.unplaced = unplaced
        if (resend or key != ctx.panel.state.key
                or (results and run_version(results) != ctx.panel.state.version)):
            ctx.panel.state.key = key
            self._send_run(ctx, results)

    def _send_run(self, ctx, results=None):
        key = ctx.panel.state.key
        if not key:
            ctx.panel.state.version = None
            ctx.panel.data.grid = None
            return
        results = results or panel_data.load_results(ctx.dataset, key)
        if results is None:  # deleted meanwhile: the next look drops it
            return
        grid = run_payload(results)
        ctx.panel.state.version = grid["version"]
        ctx.panel.data.grid = grid
        if ctx.panel.state.color is None:
            ctx.panel.state.color = grid["default_color"] or ""
        self._send_view(ctx, results)
        self._send_color(ctx, results)

    def _send_view(self, ctx, results=None, key=None):
        results = results or self._results(ctx)
        if results is None:
            return
        run = panel_data.panel_run(results)
        count, mask = panel_data.view_mask(run, results, ctx.view)
        ctx.panel.data.in_view = {"version": run.version, "count": count, "mask": mask,
                                  "key": key}

    def _send_color(self, ctx, results=None):
        results = results or self._results(ctx)
        if results is None:
            return
        color = panel_colors.colors_of(results, ctx.panel.state.color)
        ctx.panel.data.color = color or {"version": results.version, "field": None}

    def render(self, ctx):
        return types.Property(
            types.Object(),
            view=types.View(
                component=COMPONENT,
                composite_view=True,
                on_change_key=self.on_change_key,
                on_refresh=self.on_refresh,
                on_view=self.on_view,
                on_open_sample=self.on_open_sample,
                on_color_by=self.on_color_by,
                on_cells_info=self.on_cells_info,
                on_columns=self.on_columns,
                on_selection_to_view=self.on_selection_to_view,
                on_region=self.on_region,
                on_similar=self.on_similar,
                on_ids_to_view=self.on_ids_to_view,
            ),
        )
