"""``grid_mosaic``: the mosaic as an App panel linked to the dataset view.

A hybrid panel, like FiftyOne's built-in ones: this Python side sends the run
(cells, the mosaic and its Deep Zoom tiles, the cells in the current view) as
panel data, and the ``GridMosaicView`` React component from the plugin's JS
bundle (``js/``, built into ``dist/index.umd.js``) draws it on a canvas. Pan,
zoom, hover, click, box and lasso selection run in the browser and set the
App's selection directly, so they do not wait for Python; Python handles
changes of run and view, "open sample" and "selection to view".
"""

import math
import os
import xml.etree.ElementTree as ET

import fiftyone.operators as foo
import fiftyone.operators.types as types

from gridtsne.core import pyramid
from gridtsne.fo import runs

NAME = "grid_mosaic"
COMPONENT = "GridMosaicView"
METRIC_LABELS = {"dpq_16": "DPQ_16", "neighbor_label_agreement": "neighbour agreement",
                 "knn10_label_accuracy": "10-NN accuracy"}


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
    """Panel data for one grid run: the grid and its cells (pure data)."""
    layout = results.layout()
    labels = layout.get("label")
    tiles = tiles_info(results.tiles_path)
    metrics = results.metrics or {}
    grid = {
        "key": results.key, "rows": results.rows, "cols": results.cols,
        "mosaic_path": results.mosaic_path,
        "version": run_version(results),
        "cell_px": tiles["width"] // results.cols if tiles else None,
        "tiles": tiles,
        # the colours as they were drawn into the mosaic, not today's labels
        "legend": [[name, "rgb(%d,%d,%d)" % tuple(rgb)] for name, rgb in results.legend],
        "metrics": " | ".join(
            "%s %.3f" % (METRIC_LABELS[k], metrics[k]) for k in METRIC_LABELS
            if isinstance(metrics.get(k), float) and not math.isnan(metrics[k])
        ),
        # what a cell is: an image ("samples"), an object ("labels") or a frame
        "items": results.kind,
        "field": results.record.patches_field if results.kind == "labels" else None,
    }
    cells = {
        "id": layout["id"], "row": layout["row"], "col": layout["col"],
        "name": [os.path.basename(p) for p in layout["filepath"]],
        "label": [None if l is None else str(l) for l in labels] if labels else None,
        "sample_id": layout.get("sample_id"),
    }
    return grid, cells


def view_item_ids(view, results):
    """Ids of the run's items (samples, frames or objects) that ``view`` shows:
    for objects, those left by the App's label filters, or the patches view's."""
    from gridtsne.fo import items

    if results.kind == items.LABELS:
        if getattr(view, "_is_patches", False):
            return view.values("id")
        list_path = items.patches_list_path(view, results.record.patches_field)
        return view.values(list_path + ".id", unwind=True)
    return view.values("id")


def run_version(results):
    """Changes with every write of the run (recompute or regrid), so that the
    component reloads its images rather than showing cached ones."""
    return results.version


def in_view_indices(cell_ids, view_ids):
    """Positions in ``cell_ids`` of the samples in the current view."""
    view_ids = set(view_ids)
    return [i for i, sample_id in enumerate(cell_ids) if sample_id in view_ids]


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
        self.on_load(ctx)

    def on_refresh(self, ctx):
        """Runs added, deleted or recomputed since the panel loaded: the
        component asks when its run list is opened, refresh is clicked or the
        App reloads its dataset (as the plugin's operators make it do)."""
        ctx.dataset.reload()  # the App server's copy predates runs made elsewhere
        self._sync_runs(ctx, resend=False)

    def on_change_key(self, ctx):
        """Shows the run chosen in the list; one deleted meanwhile is dropped
        from the list instead of failing."""
        ctx.dataset.reload()
        ctx.panel.state.key = ctx.params.get("value")
        self._sync_runs(ctx, resend=True)

    def on_change_view(self, ctx):
        self._send_view(ctx)

    def on_open_sample(self, ctx):
        sample_id = ctx.params.get("id")
        if sample_id:
            ctx.ops.open_sample(id=sample_id)

    def on_selection_to_view(self, ctx):
        if ctx.selected:
            ctx.ops.set_view(ctx.dataset.select(ctx.selected))

    def _sync_runs(self, ctx, resend):
        """Lists the runs, keeps the shown one if it still exists, and sends it
        when ``resend``, when it is another run or when it has changed."""
        keys = runs.list_grids(ctx.dataset)
        key = ctx.panel.state.key
        if key not in keys:
            key = keys[0] if keys else None
        if keys != ctx.panel.state.keys:
            ctx.panel.state.keys = keys
        results = runs.load_grid(ctx.dataset, key) if key else None
        if (resend or key != ctx.panel.state.key
                or (results and run_version(results) != ctx.panel.state.version)):
            ctx.panel.state.key = key
            self._send_run(ctx, results)

    def _send_run(self, ctx, results=None):
        key = ctx.panel.state.key
        if not key:
            ctx.panel.data.grid = None
            ctx.panel.data.cells = None
            return
        grid, cells = run_payload(results or runs.load_grid(ctx.dataset, key))
        ctx.panel.state.version = grid["version"]
        ctx.panel.data.grid = grid
        ctx.panel.data.cells = cells
        self._send_view(ctx, cells["id"])

    def _send_view(self, ctx, cell_ids=None):
        key = ctx.panel.state.key
        if not key or key not in runs.list_grids(ctx.dataset):
            return
        results = runs.load_grid(ctx.dataset, key)
        if cell_ids is None:
            cell_ids = results.layout()["id"]
        ctx.panel.data.in_view = in_view_indices(cell_ids, view_item_ids(ctx.view, results))

    def render(self, ctx):
        return types.Property(
            types.Object(),
            view=types.View(
                component=COMPONENT,
                composite_view=True,
                on_change_key=self.on_change_key,
                on_refresh=self.on_refresh,
                on_open_sample=self.on_open_sample,
                on_selection_to_view=self.on_selection_to_view,
            ),
        )
