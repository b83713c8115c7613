"""Curation on the grid: duplicates, a diverse subset, and relabelling.

Every grid run stores per-sample curation scores (see
``gridtsne.fo.output_fields``): ``{key}_duplicate_group`` (near-duplicates
share a group id; None for a sample without one), with
``{key}_duplicate_representative`` (True for the member to keep) and
``{key}_duplicate_confidence``; ``{key}_outlier`` (high: far from every other
image of its class) and, with a label field, ``{key}_label_disagreement``. This module turns them into views, tags and
label edits. Relabelling changes your labels, so it keeps the previous label
on each sample and marks it with a tag: :func:`undo_relabel` puts them back.
"""

import fiftyone as fo

from gridtsne.config import GridError
from gridtsne.fo import items, runs

DUPLICATE_TAG = "duplicate"
RELABEL_TAG = "relabelled"
# where the label before a relabelling is kept: an attribute of the
# Classification, or a field beside a plain string label field
PREVIOUS = "previous_label"


def _field(run, name):
    field = run.fields.get(name)
    if not field:
        raise GridError("Grid run %r has no %s scores; compute it again to get them"
                        % (run.key, name.replace("_", " ")))
    return field


def duplicates_view(samples, key):
    """The samples of ``samples`` that have a near-duplicate in run ``key``,
    sorted so that each group's members are next to each other."""
    run = runs.load_grid(samples._root_dataset, key)
    field = _field(run, "duplicate_group")
    return samples.exists(field).sort_by(field)


def duplicate_groups(samples, key):
    """Run ``key``'s near-duplicate groups among the placed items of
    ``samples``: a list of dicts ``{"group", "keep" (the representative's
    id), "duplicates" (the other members' ids), "confidence"}``, most
    certain first. Ids are sample ids (object ids for a run of objects)."""
    run = runs.load_grid(samples._root_dataset, key)
    its, group, keep, sure = _duplicates_of(run)
    inside = _ids_in(samples, run, its)
    out = {}
    for i, g in enumerate(group):
        if g is None or its.ids[i] not in inside:
            continue
        entry = out.setdefault(g, {"group": g, "keep": None, "duplicates": [],
                                   "confidence": None, "_items": []})
        entry["_items"].append(i)
        if keep[i]:
            entry["keep"] = its.ids[i]
            entry["confidence"] = sure[i]
        else:
            entry["duplicates"].append(its.ids[i])
    groups = [g for g in out.values() if g["duplicates"]]
    for g in groups:
        if g["confidence"] is None:  # the one kept is outside ``samples``
            g["confidence"] = min(sure[i] for i in g["_items"])
    groups.sort(key=lambda g: (-g["confidence"], g["group"]))
    return groups


def tag_duplicates(samples, key, tag=DUPLICATE_TAG):
    """Tags every member of a near-duplicate group but its representative
    (the one to keep: most pixels, then the first imported) with ``tag``,
    within ``samples``: matching ``~F("tags").contains(tag)`` then gives a
    deduplicated view. Objects get it as a label tag. Nothing is deleted.
    Returns the number tagged."""
    run = runs.load_grid(samples._root_dataset, key)
    extra = [i for g in duplicate_groups(samples, key) for i in g["duplicates"]]
    if not extra:
        return 0
    if run.kind == items.LABELS:
        field = run.record.patches_field
        samples.select_labels(ids=extra, fields=field).tag_labels(tag, label_fields=field)
    elif run.kind == items.FRAMES:
        raise GridError("Grid run %r lays out frames, which have no tags; use "
                        "duplicates_view() to see its groups" % key)
    else:
        samples._root_dataset.select(extra).tag_samples(tag)
    return len(extra)


def duplicates_preview(samples, key, groups=4, per_group=6, cell_px=72):
    """What :func:`tag_duplicates` would do, to show before it does it:
    (number it would tag, number of groups, a PIL image of the ``groups``
    least certain groups side by side, the one kept first and framed)."""
    from PIL import Image, ImageDraw

    from gridtsne.core import images as core_images

    run = runs.load_grid(samples._root_dataset, key)
    found = duplicate_groups(samples, key)
    n_tag = sum(len(g["duplicates"]) for g in found)
    its, _, _, _ = _duplicates_of(run)
    where = {i: k for k, i in enumerate(its.ids)}
    shown = sorted(found, key=lambda g: (g["confidence"], g["group"]))[:groups]
    sheet = Image.new("RGB", (cell_px * per_group or cell_px, cell_px * max(1, len(shown))),
                      (32, 32, 32))
    draw = ImageDraw.Draw(sheet)
    for r, g in enumerate(shown):
        members = ([g["keep"]] if g["keep"] else []) + g["duplicates"]
        for c, item in enumerate(members[:per_group]):
            k = where[item]
            try:
                img = core_images.load_rgb(its.filepaths[k], min_side=cell_px,
                                           box=None if its.boxes is None else its.boxes[k])
            except core_images.BadImageError:
                continue
            x, y = c * cell_px, r * cell_px
            sheet.paste(core_images.center_crop_square(img, cell_px - 8), (x + 4, y + 4))
            if item == g["keep"]:
                draw.rectangle((x + 1, y + 1, x + cell_px - 2, y + cell_px - 2),
                               outline=(255, 255, 255), width=3)
    return n_tag, len(found), sheet


def _duplicates_of(run):
    """(placed items, group, is-representative, confidence) per item."""
    rep_field = _field(run, "duplicate_representative")
    group_field = _field(run, "duplicate_group")
    sure_field = _field(run, "duplicate_confidence")
    view, its = run.placed_items()
    return (its, items.values(view, its, group_field), items.values(view, its, rep_field),
            items.values(view, its, sure_field))


def _ids_in(samples, run, its):
    """The item ids of ``its`` that are in ``samples``."""
    if run.kind == items.LABELS:
        return set(samples.values(its.list_path + ".id", unwind=True))
    if run.kind == items.FRAMES:
        return set(samples.values("frames.id", unwind=True))
    return set(samples.values("id"))


def diverse_subset(samples, key, k, tag=None, view_name=None):
    """K samples spread over run ``key``'s grid: one per block of cells, the
    most central of its block (see :mod:`gridtsne.core.subset`).

    Returns the subset as a view; with ``tag`` its samples are tagged, with
    ``view_name`` the view is saved on the dataset.
    """
    import numpy as np

    from gridtsne.core import subset
    from gridtsne.fo.plan import vectors_from_values

    dataset = samples._root_dataset
    run = runs.load_grid(dataset, key)
    placed = run.placed_view()
    f = run.fields
    ids, paths, r, c = placed.values(["id", "filepath", f["row"], f["col"]])
    features = None
    if run.record.embeddings_field and dataset.has_field(run.record.embeddings_field):
        features = vectors_from_values(placed.values(run.record.embeddings_field), ids, paths,
                                       run.record.embeddings_field)
    try:
        chosen, _ = subset.diverse_subset(np.stack([r, c], axis=1), run.rows, run.cols, k,
                                          features)
    except ValueError as e:
        raise GridError(str(e)) from None
    view = dataset.select([ids[i] for i in chosen], ordered=True)
    if tag:
        view.tag_samples(tag)
    if view_name:
        dataset.save_view(view_name, view, overwrite=True)
    return view


def relabel(samples, ids, label, label_field=None, key=None, tag=RELABEL_TAG):
    """Sets the label of the samples ``ids`` (or, for run ``key`` of objects,
    of the objects ``ids``) to ``label``.

    The label field is ``label_field``, or run ``key``'s. Each changed sample
    or object keeps its previous label (``previous_label`` on the label, or a
    ``<field>_previous_label`` field for a plain string field) and gets
    ``tag`` (objects get it as a label tag). With ``key``, the run's mosaic is
    drawn again, so its cell borders and legend show the new labels. Returns
    the number changed.
    """
    dataset = samples._root_dataset
    run = runs.load_grid(dataset, key) if key is not None else None
    if run is not None and run.kind == items.LABELS:
        changed = _relabel_objects(dataset, run.record.patches_field, ids, label, tag)
    else:
        changed = _relabel_samples(dataset, ids, label, _label_field(run, label_field), tag)
    if run is not None and changed:
        from gridtsne.fo.compute import regrid

        regrid(dataset, key)  # same cells, borders and legend from today's labels
    return changed


def _label_field(run, label_field):
    if label_field is None:
        if run is None:
            raise GridError("Give <label_field> or the <key> of a run that has one")
        label_field = run.options.label_field
        if not label_field:
            raise GridError("Grid run %r has no label field; give <label_field>" % run.key)
    return label_field


def _relabel_samples(dataset, ids, label, label_field, tag):
    classification = runs.label_path(dataset, label_field).endswith(".label")
    view = dataset.select(list(ids))
    if len(view) != len(set(ids)):
        raise GridError("%d of the selected samples are not in dataset %r"
                        % (len(set(ids)) - len(view), dataset.name))
    changed = 0
    for sample in view.iter_samples(autosave=True):
        value = sample[label_field]
        old = value.label if classification and value is not None else value
        if old == label:
            continue
        if classification:
            if value is None:
                value = fo.Classification()
            value[PREVIOUS] = old
            value.label = label
            sample[label_field] = value
        else:
            sample["%s_%s" % (label_field, PREVIOUS)] = old
            sample[label_field] = label
        if tag not in sample.tags:
            sample.tags.append(tag)
        changed += 1
    return changed


def _relabel_objects(dataset, field, ids, label, tag):
    list_path = items.patches_list_path(dataset, field)
    view = dataset.select_labels(ids=list(ids), fields=field)
    rows = [(sid, lid, old) for sid, lids, olds in zip(*view.values(
        ["id", list_path + ".id", list_path + ".label"])) for lid, old in zip(lids, olds)
        if old != label]
    if len(view.values(list_path + ".id", unwind=True)) != len(set(ids)):
        raise GridError("Some of the selected objects are not in field %r of dataset %r"
                        % (field, dataset.name))
    if not rows:
        return 0
    dataset.set_label_values(list_path + "." + PREVIOUS, [
        {"sample_id": sid, "label_id": lid, "value": old} for sid, lid, old in rows])
    dataset.set_label_values(list_path + ".label", [
        {"sample_id": sid, "label_id": lid, "value": label} for sid, lid, _ in rows])
    dataset.select_labels(ids=[lid for _, lid, _ in rows], fields=field).tag_labels(
        tag, label_fields=field)
    return len(rows)


def undo_relabel(samples, label_field, tag=RELABEL_TAG, key=None):
    """Puts back the labels :func:`relabel` changed in ``samples`` (those
    tagged ``tag``; for run ``key`` of objects, the objects with that label
    tag) and removes the tag. Returns the number restored."""
    dataset = samples._root_dataset
    run = runs.load_grid(dataset, key) if key is not None else None
    if run is not None and run.kind == items.LABELS:
        restored = _undo_objects(samples, run.record.patches_field, tag)
    else:
        restored = _undo_samples(samples, label_field, tag)
    if run is not None and restored:
        from gridtsne.fo.compute import regrid

        regrid(dataset, key)
    return restored


def relabelled_count(samples, label_field, tag=RELABEL_TAG, key=None):
    """How many labels :func:`undo_relabel` would put back, without changing
    anything (the undo form says it before it runs)."""
    run = runs.load_grid(samples._root_dataset, key) if key is not None else None
    if run is not None and run.kind == items.LABELS:
        return len(_tagged_object_rows(samples, run.record.patches_field, tag)[1])
    tagged = samples.match_tags(tag)
    if runs.label_path(samples, label_field).endswith(".label"):
        return tagged.exists("%s.%s" % (label_field, PREVIOUS)).count()
    side = "%s_%s" % (label_field, PREVIOUS)
    return tagged.count() if samples._root_dataset.has_field(side) else 0


def _undo_samples(samples, label_field, tag):
    classification = runs.label_path(samples, label_field).endswith(".label")
    side = "%s_%s" % (label_field, PREVIOUS)
    restored = 0
    for sample in samples.match_tags(tag).iter_samples(autosave=True):
        if classification:
            value = sample[label_field]
            if value is None or not value.has_field(PREVIOUS):
                continue
            value.label = value[PREVIOUS]
            value.clear_field(PREVIOUS)
            sample[label_field] = value
        else:
            if not sample.has_field(side):
                continue
            sample[label_field] = sample[side]
            sample[side] = None
        sample.tags.remove(tag)
        restored += 1
    return restored


def _undo_objects(samples, field, tag):
    dataset = samples._root_dataset
    list_path = items.patches_list_path(dataset, field)
    view, rows = _tagged_object_rows(samples, field, tag)
    if rows:
        dataset.set_label_values(list_path + ".label", [
            {"sample_id": sid, "label_id": lid, "value": old} for sid, lid, old in rows])
        dataset.set_label_values(list_path + "." + PREVIOUS, [
            {"sample_id": sid, "label_id": lid, "value": None} for sid, lid, _ in rows])
    view.untag_labels(tag, label_fields=field)
    return len(rows)


def _tagged_object_rows(samples, field, tag):
    """The view of the objects tagged ``tag`` and [(sample id, label id,
    previous label)] of those that have a previous label."""
    list_path = items.patches_list_path(samples._root_dataset, field)
    view = samples.select_labels(tags=tag, fields=field)
    rows = [(sid, lid, old) for sid, lids, olds in zip(*view.values(
        ["id", list_path + ".id", list_path + "." + PREVIOUS]))
        for lid, old in zip(lids, olds or [None] * len(lids)) if old is not None]
    return view, rows
