"""``grid_mosaic``: the mosaic as an App panel linked to the dataset view.

A Python panel drawn with Plotly: the mosaic image sits under an invisible
scatter of one square per sample (hover, click and box/lasso selection carry
sample ids), and two heatmaps on top dim the cells outside the current view
and mark the selected samples. Heatmaps scale with zoom, so the overlays stay
aligned at any zoom level.
"""

import os
from urllib.parse import quote

import fiftyone.operators as foo
import fiftyone.operators.types as types

from gridtsne.core.render import label_colors
from gridtsne.fo import runs

NAME = "grid_mosaic"
PLOT_WIDTH_PX = 640


def media_url(path):
    """The App server's URL for a local file."""
    return "/media?filepath=" + quote(path, safe="")


def panel_traces(layout, in_view, selected, rows, cols):
    """Plotly traces for one grid run (pure data, easy to test)."""
    ids = layout["id"]
    labels = layout.get("label") or [None] * len(ids)
    hover = [
        "%s%s" % (os.path.basename(fp), " | %s" % l if l is not None else "")
        for fp, l in zip(layout["filepath"], labels)
    ]
    dim = [[None] * cols for _ in range(rows)]
    sel = [[None] * cols for _ in range(rows)]
    for i, (r, c) in enumerate(zip(layout["row"], layout["col"])):
        if ids[i] not in in_view:
            dim[r][c] = 1
        if ids[i] in selected:
            sel[r][c] = 1
    return [
        {
            "type": "heatmap", "name": "outside view", "z": dim,
            "x0": 0, "dx": 1, "y0": 0, "dy": 1, "showscale": False,
            "colorscale": [[0, "rgba(0,0,0,0.75)"], [1, "rgba(0,0,0,0.75)"]],
            "hoverinfo": "skip", "zmin": 0, "zmax": 1, "showlegend": False,
        },
        {
            "type": "heatmap", "name": "selected", "z": sel,
            "x0": 0, "dx": 1, "y0": 0, "dy": 1, "showscale": False,
            "colorscale": [[0, "rgba(255,109,4,0.45)"], [1, "rgba(255,109,4,0.45)"]],
            "hoverinfo": "skip", "zmin": 0, "zmax": 1, "showlegend": False,
        },
        {
            "type": "scatter", "mode": "markers", "name": "samples",
            "x": layout["col"], "y": layout["row"], "ids": ids,
            "text": hover, "hoverinfo": "text", "showlegend": False,
            "marker": {"symbol": "square", "size": 6, "color": "rgba(0,0,0,0)"},
        },
    ] + legend_traces(labels)


def legend_traces(labels):
    """Empty traces whose legend entries name the mosaic's border colours."""
    return [
        {
            "type": "scatter", "mode": "markers", "name": name, "x": [None], "y": [None],
            "hoverinfo": "skip", "showlegend": True,
            "marker": {"symbol": "square-open", "size": 12, "color": "rgb(%d,%d,%d)" % rgb,
                       "line": {"width": 3}},
        }
        for name, rgb in label_colors(labels).items()
    ]


def selection_text(layout, selected):
    """'Selected: name.png' for one sample, 'N selected' for more, '' for none."""
    if not selected:
        return ""
    if len(selected) == 1:
        (only,) = selected
        for sample_id, path in zip(layout["id"], layout["filepath"]):
            if sample_id == only:
                return "Selected: %s" % os.path.basename(path)
    return "%d selected" % len(selected)


def panel_layout(mosaic_path, rows, cols):
    return {
        "images": [
            {
                "source": media_url(mosaic_path), "xref": "x", "yref": "y",
                "x": -0.5, "y": -0.5, "sizex": cols, "sizey": rows,
                "xanchor": "left", "yanchor": "top", "sizing": "stretch",
                "layer": "below",
            }
        ],
        "xaxis": {"range": [-0.5, cols - 0.5], "visible": False, "constrain": "domain"},
        "yaxis": {"range": [rows - 0.5, -0.5], "visible": False,
                  "scaleanchor": "x", "constrain": "domain"},
        "margin": {"l": 0, "r": 0, "t": 0, "b": 40},
        # fixed pixels: the panel's grid layout sizes children to their content
        "autosize": False,
        "width": PLOT_WIDTH_PX,
        "height": int(min(PLOT_WIDTH_PX * rows / cols, 2 * PLOT_WIDTH_PX)) + 40,
        "dragmode": "select",
        "showlegend": True,
        "legend": {"orientation": "h", "x": 0, "y": 0, "yanchor": "top",
                   "font": {"color": "#bbbbbb"}},
        "plot_bgcolor": "rgba(0,0,0,0)",
        "paper_bgcolor": "rgba(0,0,0,0)",
    }


class GridMosaicPanel(foo.Panel):
    @property
    def config(self):
        return foo.PanelConfig(
            name=NAME,
            label="Grid mosaic",
            icon="grid_view",
            help_markdown="Similarity-sorted mosaic of a gridtsne run. Click a cell "
            "to select its sample, box-select to select many; cells outside the "
            "current view are dimmed.",
        )

    def on_load(self, ctx):
        keys = runs.list_grids(ctx.dataset)
        key = ctx.panel.state.key
        if key not in keys:
            key = keys[0] if keys else None
        ctx.panel.state.key = key
        self._refresh(ctx)

    def on_change_key(self, ctx):
        ctx.panel.state.key = ctx.params.get("value")
        self._refresh(ctx)

    def on_change_view(self, ctx):
        self._refresh(ctx)

    def on_change_selected(self, ctx):
        self._refresh(ctx)

    def on_change_dataset(self, ctx):
        self.on_load(ctx)

    def on_click(self, ctx):
        sample_id = ctx.params.get("id")
        if sample_id:
            ctx.ops.set_selected_samples([sample_id])

    def on_double_click(self, ctx):
        sample_id = ctx.params.get("id")
        if sample_id:
            ctx.ops.open_sample(id=sample_id)

    def on_selected(self, ctx):
        ids = [p.get("id") for p in ctx.params.get("data") or [] if p.get("id")]
        ctx.ops.set_selected_samples(ids)

    def selection_to_view(self, ctx):
        if ctx.selected:
            ctx.ops.set_view(ctx.dataset.select(ctx.selected))

    def clear_selection(self, ctx):
        ctx.ops.clear_selected_samples()

    def _refresh(self, ctx):
        key = ctx.panel.state.key
        if not key:
            return
        res = runs.load_grid(ctx.dataset, key)
        layout = res.layout()
        in_view = set(ctx.view.values("id"))
        selected = set(ctx.selected or [])
        ctx.panel.state.summary = "%s: %d x %d, %d samples, %d in view" % (
            key, res.rows, res.cols, res.n_samples,
            sum(1 for i in layout["id"] if i in in_view),
        )
        ctx.panel.state.selection = selection_text(layout, selected)
        ctx.panel.state.plot_layout = panel_layout(res.mosaic_path, res.rows, res.cols)
        ctx.panel.data.mosaic = panel_traces(layout, in_view, selected, res.rows, res.cols)

    def render(self, ctx):
        panel = types.Object()
        keys = runs.list_grids(ctx.dataset)
        if not keys:
            panel.md(
                "No grid runs on this dataset yet. Run **Gridded t-SNE: compute "
                "similarity grid** from the operator menu.", name="empty",
            )
            return types.Property(panel, view=types.GridView(align_x="center"))
        header = panel.h_stack("header", align_y="center")
        dropdown = types.DropdownView(label="Grid run")
        for k in keys:
            dropdown.add_choice(k, label=k)
        header.enum("key", dropdown.values(), default=ctx.panel.state.key,
                    view=dropdown, on_change=self.on_change_key)
        header.btn("to_view", label="Selection to view", on_click=self.selection_to_view)
        header.btn("clear", label="Clear selection", on_click=self.clear_selection)
        panel.md(ctx.panel.state.summary or "", name="summary")
        panel.md(ctx.panel.state.selection or "", name="selection")
        panel.plot(
            "mosaic",
            layout=ctx.panel.state.plot_layout or {},
            config={"scrollZoom": True, "displaylogo": False},
            on_click=self.on_click,
            on_double_click=self.on_double_click,
            on_selected=self.on_selected,
        )
        return types.Property(panel, view=types.GridView(orientation="vertical"))
