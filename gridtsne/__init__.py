"""gridtsne: similarity-sorted image mosaics (embeddings -> t-SNE -> grid).

The core functions (``assign_to_grid``, ``grid_shape``, ``tsne_2d``,
``render_mosaic``) need no database. ``compute_grid`` and friends work on
FiftyOne datasets and views and are imported lazily, so ``import gridtsne``
stays light.
"""

__version__ = "0.1.0"

from gridtsne.core.grid import assign_to_grid, grid_shape, scale_to_grid
from gridtsne.core.metrics import neighbor_label_agreement
from gridtsne.core.reduce import tsne_2d
from gridtsne.core.render import render_mosaic
from gridtsne.config import GridConfig, GridError

_FIFTYONE_API = {
    "import_folder": "gridtsne.fo.imports",
    "compute_grid": "gridtsne.fo.compute",
    "load_grid": "gridtsne.fo.runs",
    "list_grids": "gridtsne.fo.runs",
    "delete_grid": "gridtsne.fo.runs",
    "GridResults": "gridtsne.fo.runs",
    "load_model": "gridtsne.fo.model",
    "regrid": "gridtsne.fo.compute",
    "update_grid": "gridtsne.fo.compute",
    "duplicates_view": "gridtsne.fo.curate",
    "duplicate_groups": "gridtsne.fo.curate",
    "tag_duplicates": "gridtsne.fo.curate",
    "diverse_subset": "gridtsne.fo.curate",
    "relabel": "gridtsne.fo.curate",
    "undo_relabel": "gridtsne.fo.curate",
    "queue_grid": "gridtsne.fo.delegated",
    "grid_status": "gridtsne.fo.delegated",
    "run_queued": "gridtsne.fo.delegated",
    "similar_samples": "gridtsne.fo.similarity",
}

# imported with the FiftyOne API: it registers what follows a saved run (the
# panel's files made ahead, see gridtsne.fo.compute.after_save)
_HOOKS = ("gridtsne.fo.panel_colors",)

__all__ = [
    "assign_to_grid", "grid_shape", "scale_to_grid", "neighbor_label_agreement",
    "tsne_2d", "render_mosaic", "GridConfig", "GridError", *_FIFTYONE_API,
]


def __getattr__(name):
    if name in _FIFTYONE_API:
        import importlib

        for hook in _HOOKS:
            importlib.import_module(hook)
        return getattr(importlib.import_module(_FIFTYONE_API[name]), name)
    raise AttributeError("module 'gridtsne' has no attribute %r" % name)
