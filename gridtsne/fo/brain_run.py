"""The run's points as a fiftyone-brain visualization, so that the App's
built-in Embeddings panel shows every grid run too (written by
:mod:`gridtsne.fo.writer` inside a run's commit)."""

import logging

import numpy as np

from gridtsne.config import GridError
from gridtsne.fo import fieldpaths


def replace_brain_run(dataset, w, backup_key):
    # the brain logs "Generating spatial index ..." at INFO, which FiftyOne prints
    brain_log = logging.getLogger("fiftyone.brain")
    level = brain_log.level
    brain_log.setLevel(logging.WARNING)
    try:
        _write_brain_run(dataset, w, backup_key)
    finally:
        brain_log.setLevel(level)


def _write_brain_run(dataset, w, backup_key):
    """The run's points as a brain visualization (the built-in Embeddings
    panel shows them): of its samples, frames or objects (patches). For
    samples and objects the points are also stored in a field with a 2-D
    index (``points_field``), so that a lasso in the Embeddings panel queries
    MongoDB instead of sending id lists; the run set aside still owns its
    field until the commit ends, so two names take turns (:func:`points_field`),
    and the brain run deletes its field with itself."""
    import fiftyone.brain as fob

    field_name = points_field(dataset, w.key)
    if w.key in dataset.list_brain_runs():
        dataset.rename_brain_run(w.key, backup_key)
    from fiftyone import ViewField as F

    # the placed items, by the row field now in place (a view of a million
    # ids would not fit in the brain run's record); points in its order
    position = {item_id: k for k, item_id in enumerate(w.ids)}
    row = fieldpaths.leaf(next(f for f in w.values if f.endswith("_row")))
    if w.items.kind == "labels":
        field = w.items.patches_field
        placed = w.register_on.filter_labels(field, F(row).exists())
        order = [position[i] for i in placed.to_patches(field).values("id")]
        fob.compute_visualization(placed, patches_field=field,
                                  points=np.asarray(w.brain_points)[order],
                                  brain_key=w.key, progress=False, create_index=True,
                                  points_field=field_name)
        return
    if w.items.kind == "frames":  # (its generated frames predate the renames)
        placed = w.items.view.select(w.ids, ordered=True)
    else:
        placed = w.register_on.exists(row)
    order = [position[i] for i in placed.values("id")]
    index = {} if w.items.kind == "frames" else {
        "create_index": True, "points_field": field_name}
    fob.compute_visualization(placed, points=np.asarray(w.brain_points)[order],
                              brain_key=w.key, progress=False, **index)


def points_field(dataset, key):
    """``tsne_points_<key>``, or ``tsne_points_<key>_2`` while the run being
    replaced holds the first (a name the App's sidebar shows readably, not a
    version hash). A run renamed later keeps its field's name; the brain run
    deletes the field with itself."""
    taken = set()
    for brain_key in dataset.list_brain_runs():
        try:
            taken.add(getattr(dataset.get_brain_info(brain_key).config, "points_field", None))
        except Exception:  # a brain run of another fiftyone-brain version
            continue
    base = "tsne_points_%s" % key
    for name in [base] + ["%s_%d" % (base, k) for k in range(2, 100)]:
        if name not in taken and not dataset.has_sample_field(name):
            return name
    raise GridError("The dataset holds tsne_points_%s_2 ... _99: delete unused ones" % key)
