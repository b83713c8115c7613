"""What a run lays out: whole images, the objects of a label field, or frames.

FiftyOne users curate detection datasets, videos and grouped datasets, not
only images. A run's *items* are one of:

- samples (an image dataset, view or group slice): one cell per image;
- labels (``patches_field``: a Detections or Polylines field): one cell per
  object, its box (with a margin of context) cropped from its image; the
  run's fields are attributes of each label (``ground_truth.detections.grid_row``);
- frames (a frames view of videos, ``to_frames(sample_frames=True)``): one cell
  per sampled frame; the run's fields are frame fields (``frames.grid_row``).
"""

from dataclasses import dataclass

import numpy as np

import fiftyone as fo

from gridtsne.config import GridError

SAMPLES, LABELS, FRAMES = "samples", "labels", "frames"


@dataclass
class ItemSet:
    kind: str
    ids: list  # sample, label or frame ids
    sample_ids: list
    filepaths: list
    boxes: list = None  # labels: relative (x0, y0, x1, y1) regions, context included
    labels: list = None
    reasons: list = None  # why an item cannot be used, known before decoding
    list_path: str = None  # labels: e.g. "ground_truth.detections"


def kind_of(samples, patches_field=None):
    from fiftyone.core.video import FramesView

    if patches_field:
        return LABELS
    return FRAMES if isinstance(samples, FramesView) else SAMPLES


def field_prefix(kind, list_path=None):
    """Where a run's fields live: ``""``, ``"frames."`` or ``"<list path>."``."""
    return {SAMPLES: "", FRAMES: "frames.", LABELS: (list_path or "") + "."}[kind]


def patches_list_path(samples, field):
    """``ground_truth.detections`` for a Detections field, or a clear error."""
    f = samples.get_field(field)
    if f is None:
        raise GridError("Label field %r does not exist on dataset %r"
                        % (field, samples._root_dataset.name))
    doc = getattr(f, "document_type", None)
    if doc is not None and issubclass(doc, fo.Detections):
        return field + ".detections"
    if doc is not None and issubclass(doc, fo.Polylines):
        return field + ".polylines"
    raise GridError("<patches_field> %r must be a Detections or Polylines field, not %s"
                    % (field, doc.__name__ if doc is not None else type(f).__name__))


def read(samples, kind, label_path=None, list_path=None, context=0.1):
    """The items of ``samples`` (labels of ``list_path`` for kind LABELS)."""
    if kind == FRAMES and samples.media_type == "video":  # a run's frames, read from the videos
        return _frames_of_videos(samples, label_path)
    if kind != LABELS:
        ids, paths = samples.values(["id", "filepath"])
        labels = samples.values(label_path) if label_path else None
        return ItemSet(kind, ids, ids, paths, labels=labels, reasons=[None] * len(ids))
    polylines = list_path.endswith(".polylines")
    sample_ids, paths, label_ids, shapes, labels = samples.values([
        "id", "filepath", list_path + ".id",
        list_path + (".points" if polylines else ".bounding_box"), list_path + ".label"])
    out = ItemSet(LABELS, [], [], [], boxes=[], labels=[], reasons=[], list_path=list_path)
    for sid, path, lids, sh, labs in zip(sample_ids, paths, label_ids, shapes, labels):
        for lid, shape, label in zip(lids or [], sh or [], labs or []):
            box, reason = _box(shape, polylines, context)
            out.ids.append(lid)
            out.sample_ids.append(sid)
            out.filepaths.append(path)
            out.boxes.append(box)
            out.labels.append(label)
            out.reasons.append(reason)
    return out


def _frames_of_videos(videos, label_path=None):
    """The frames of ``videos`` that have an image (``frames.filepath``, which
    ``to_frames(sample_frames=True)`` sets), as items."""
    fields = ["id", "frames.id", "frames.filepath"] + (
        ["frames." + label_path] if label_path else [])
    columns = videos.values(fields)
    out = ItemSet(FRAMES, [], [], [], labels=[] if label_path else None, reasons=[])
    for sample_id, frame_ids, paths, *labels in zip(*columns):
        labels = labels[0] if labels else [None] * len(frame_ids or [])
        for frame_id, path, label in zip(frame_ids or [], paths or [], labels or []):
            if path:
                out.ids.append(frame_id)
                out.sample_ids.append(sample_id)
                out.filepaths.append(path)
                out.reasons.append(None)
                if out.labels is not None:
                    out.labels.append(label)
    return out


def _box(shape, polylines, context):
    """(relative region with context, or None; why the object cannot be used)."""
    if polylines:
        points = np.array([p for shape_ in (shape or []) for p in shape_], dtype=float)
        if not len(points):
            return None, "the polyline has no points"
        x0, y0 = points.min(axis=0)
        x1, y1 = points.max(axis=0)
    else:
        if not shape or len(shape) != 4:
            return None, "the detection has no bounding box"
        x0, y0, w, h = (float(v) for v in shape)
        x1, y1 = x0 + w, y0 + h
    if not (x1 > x0 and y1 > y0):
        return None, "zero-area box"
    if x1 <= 0 or y1 <= 0 or x0 >= 1 or y0 >= 1:
        return None, "box outside the image"
    mx, my = (x1 - x0) * context, (y1 - y0) * context
    return (max(0.0, x0 - mx), max(0.0, y0 - my), min(1.0, x1 + mx), min(1.0, y1 + my)), None


def subset(its, keep):
    """The items at the positions ``keep``."""
    def pick(values):
        return None if values is None else [values[i] for i in keep]

    return ItemSet(its.kind, pick(its.ids), pick(its.sample_ids), pick(its.filepaths),
                   boxes=pick(its.boxes), labels=pick(its.labels), reasons=pick(its.reasons),
                   list_path=its.list_path)


def values(samples, its, path, keep=None):
    """The values of the field ``path`` (as the run names it: ``grid_x``,
    ``frames.grid_x``, ``ground_truth.detections.grid_x``) for each item of
    ``its`` read from ``samples``, or for the items at ``keep``."""
    if its.kind == LABELS:
        per_sample = samples.values(path)
        flat = [v for vs in per_sample for v in (vs or [])]
        if len(flat) != len(its.ids):  # a label without the attribute: align by id
            ids = [i for vs in samples.values(its.list_path + ".id") for i in (vs or [])]
            by_id = dict(zip(ids, flat))
            flat = [by_id.get(i) for i in its.ids]
    elif its.kind == FRAMES and samples.media_type == "video":
        ids, flat = samples.values(["frames.id", path], unwind=True)
        by_id = dict(zip(ids, flat))
        flat = [by_id.get(i) for i in its.ids]
    else:
        flat = samples.values(path[len("frames."):] if its.kind == FRAMES else path)
    return flat if keep is None else [flat[i] for i in keep]


def skipped(its, i, reason):
    """The record of item ``i`` left out of a run, and why."""
    out = {"id": its.ids[i], "filepath": its.filepaths[i], "reason": reason}
    if its.kind == LABELS:
        out["sample_id"] = its.sample_ids[i]
    return out


@dataclass
class Target:
    """What a write's ids and fields address (see gridtsne.fo.writer), and so
    how its values reach the dataset.

    ``kind`` "samples": ids are sample ids and fields are sample fields;
    "labels": ids are label ids of the list ``path`` (e.g.
    ``ground_truth.detections``), ``sample_ids`` their samples, and fields are
    label attributes; "frames": ids are frame ids, written through the frames
    view ``view`` (FiftyOne copies them to the videos' frames).
    """

    kind: str = "samples"
    path: str = None
    sample_ids: list = None
    view: object = None
    patches_field: str = None
