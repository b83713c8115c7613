"""Every check a run can fail before it computes anything, against the dataset.

:class:`gridtsne.config.GridConfig` checks what needs no dataset; this module
checks the rest (media type, sample count, key, fields, label field,
embeddings field and array, the run's folder), so that a run that will fail
fails in the first second, with a message naming the problem, and having
written nothing.
"""

from dataclasses import dataclass

import numpy as np

import fiftyone as fo
import fiftyone.core.media as fom

from gridtsne.config import GridError
from gridtsne.core import grid as core_grid
from gridtsne.fo import fieldpaths, files, items, output_fields, runs

# FiftyOne field types that can hold embedding vectors
_NUMBER_FIELDS = (fo.FloatField, fo.IntField)


@dataclass
class RunPlan:
    samples: object  # images: a dataset, view, group slice or frames view
    config: object
    n: int
    run_dir: str
    created_run_dir: bool
    kind: str = items.SAMPLES
    list_path: str = None  # patches runs: e.g. "ground_truth.detections"
    label_path: str = None
    array: object = None  # embeddings passed as an array, in the order of the items
    model_spec: object = None  # what the user passed as model=
    shard_run: str = None  # a sharded run whose shards embedded the items
    # computed embeddings equal to ours, by field: reused instead of recomputed
    reusable_fields: tuple = ()

    @property
    def dataset(self):
        return self.samples._root_dataset

    @property
    def prefix(self):
        return items.field_prefix(self.kind, self.list_path)

    def path(self, name):
        """Where the run's field ``name`` lives (``grid_row``,
        ``frames.grid_row``, ``ground_truth.detections.grid_row``)."""
        return self.prefix + name


def checked_key(dataset, config):
    """The record of the run ``config.key`` replaces (or None), if it may."""
    existing = runs.record(dataset, config.key)
    if existing is None and config.key in dataset.list_runs():
        raise GridError("Dataset %r has a run %r that is not a grid run (it is never "
                        "replaced); choose another <key>" % (dataset.name, config.key))
    if existing is not None and not config.overwrite:
        raise GridError("Dataset %r already has a grid run %r; pass <overwrite=True> to "
                        "replace it" % (dataset.name, config.key))
    return existing


def plan_compute(samples, config, array=None, model_spec=None):
    """Checks a ``compute_grid`` run; returns its :class:`RunPlan`."""
    dataset = samples._root_dataset
    media = samples.media_type
    if media == fom.GROUP:
        raise GridError(
            "Dataset %r is grouped; lay out one slice, dataset.select_group_slices('left'), "
            "or all image slices flattened, dataset.select_group_slices(media_type='image')"
            % dataset.name)
    if media == fom.VIDEO and not config.frames_fps:
        raise GridError(
            "Dataset %r has video media; lay out its frames with <frames_fps=1> (frames "
            "sampled at 1 per second), or pass a frames view, "
            "dataset.to_frames(sample_frames=True, fps=1)" % dataset.name)
    if media not in (fom.IMAGE, fom.VIDEO):
        raise GridError("Dataset %r has %s media; gridtsne lays out images, objects in "
                        "images and video frames only" % (dataset.name, media))
    if media == fom.VIDEO and config.patches_field:
        raise GridError("<patches_field> works on images; for objects in video frames, lay "
                        "out the frames first")

    existing = checked_key(dataset, config)
    mine = set(existing.owned_fields()) if existing is not None else set()

    run_dir = files.run_dir_for(dataset, config.key, config.output_dir)
    kind = items.LABELS if config.patches_field else (
        items.FRAMES if media == fom.VIDEO else items.kind_of(samples))
    list_path = items.patches_list_path(samples, config.patches_field) \
        if config.patches_field else None
    plan = RunPlan(samples=samples, config=config, n=0, run_dir=run_dir,
                   created_run_dir=False, kind=kind, list_path=list_path,
                   model_spec=model_spec)
    if media != fom.VIDEO:
        plan.n = _count(samples, kind, list_path)
        if plan.n < 2:
            noun = "object" if kind == items.LABELS else "sample"
            raise GridError("The view has %d %s%s; a grid needs at least 2"
                            % (plan.n, noun, "" if plan.n == 1 else "s"))
        checked_shape(plan.n, config.rows, config.cols)

    new_fields = [plan.path(output_fields.field_name(config.key, f.name))
                  for f in output_fields.FIELDS]
    if config.computes_embeddings:
        new_fields.append(plan.path(config.store_embeddings_in))
    elif config.embeddings is not None:
        check_embeddings_field(dataset, plan.path(config.embeddings))
    for field in new_fields:
        if fieldpaths.exists(dataset, field) and field not in mine:
            raise GridError("Field %r already exists on dataset %r and is not from grid run "
                            "%r; choose another <key> or <embeddings_field>"
                            % (field, dataset.name, config.key))
    if config.key in dataset.list_brain_runs() and (
            existing is None or existing.brain_key != config.key):
        raise GridError("Dataset %r already has a brain run %r; choose another <key>"
                        % (dataset.name, config.key))
    if config.label_field and kind != items.LABELS:
        plan.label_path = runs.label_path(
            samples if media != fom.VIDEO else dataset, ("frames." if media == fom.VIDEO
                                                           else "") + config.label_field)
    if array is not None:
        if media == fom.VIDEO:
            raise GridError("An embeddings array needs the frames view it belongs to: "
                            "pass dataset.to_frames(sample_frames=True, fps=...)")
        plan.array = checked_array(array, plan.n)

    plan.created_run_dir = files.claim_run_dir(run_dir, dataset, config.key)
    if media == fom.VIDEO:  # the sampled frames are the run's own files
        plan.samples = frames_view(samples, config.frames_fps, run_dir)
        plan.n = len(plan.samples)
        if plan.n < 2:
            raise GridError("The videos have %d sampled frame%s; a grid needs at least 2"
                            % (plan.n, "" if plan.n == 1 else "s"))
        checked_shape(plan.n, config.rows, config.cols)
        if plan.label_path:
            plan.label_path = plan.label_path[len("frames."):]
    plan.reusable_fields = tuple(_reusable_fields(dataset, config, existing, plan))
    return plan


def frames_view(samples, fps, run_dir):
    """The frames of ``samples`` sampled at ``fps``, written into the run's folder."""
    import os

    try:
        return samples.to_frames(sample_frames=True, fps=fps,
                                 output_dir=os.path.join(run_dir, files.FRAMES_DIR),
                                 skip_failures=False)
    except Exception as e:  # ffmpeg missing, an unreadable video, ...
        raise GridError("Could not sample the frames of the videos: %s" % e) from None


def _count(samples, kind, list_path):
    if kind == items.LABELS:
        return int(samples.count(list_path))
    return len(samples)


def checked_shape(n, rows, cols):
    try:
        return core_grid.grid_shape(n, rows, cols)
    except ValueError as e:
        raise GridError(str(e)) from None


def check_embeddings_field(dataset, name):
    """Refuses fields that cannot hold vectors, before any work."""
    field = dataset.get_field(name)
    if field is None:
        raise GridError("Embeddings field %r does not exist on dataset %r"
                        % (name, dataset.name))
    if isinstance(field, (fo.VectorField, fo.ArrayField)):
        return
    if isinstance(field, fo.ListField) and (
            field.field is None or isinstance(field.field, _NUMBER_FIELDS)):
        return
    inner = getattr(field, "field", None)
    kind = ("lists of %s" % type(inner).__name__) if inner is not None else type(field).__name__
    raise GridError("Field %r holds %s, not embedding vectors; give a vector field "
                    "(VectorField, or a list of numbers per sample)" % (name, kind))


def checked_array(array, n):
    try:
        x = np.asarray(array)
    except (TypeError, ValueError) as e:
        raise GridError("embeddings must be an (N, D) array of numbers: %s" % e) from None
    if x.ndim != 2 or x.shape[1] < 1 or not np.issubdtype(x.dtype, np.number):
        raise GridError("embeddings must be an (N, D) array of numbers, got shape %s of %s"
                        % (x.shape, x.dtype))
    if len(x) != n:
        raise GridError("embeddings has %d rows for %d samples" % (len(x), n))
    bad = np.flatnonzero(~np.isfinite(x).all(axis=1))
    if len(bad):
        raise GridError("embeddings row %d has a non-finite value" % bad[0])
    return x if x.dtype == np.float32 else x.astype(np.float32)


def vectors_from_values(values, ids, filepaths, field):
    """Values of an embeddings field -> (N, D) float32, or GridError naming the
    first sample whose value is not a vector like the others."""
    out, dim = None, None
    for k, v in enumerate(values):
        def bad(problem):
            return GridError("Sample %s (%s) %s in embeddings field %r"
                             % (ids[k], filepaths[k], problem, field))

        if v is None:
            raise bad("has no value")
        try:
            a = np.asarray(v, dtype=np.float32)
        except (TypeError, ValueError):
            raise bad("has %r, not a vector of numbers" % (v if len(repr(v)) < 40 else
                                                           type(v).__name__)) from None
        if a.ndim != 1 or a.size < 1:
            raise bad("has a %s value, not a vector" % ("scalar" if a.ndim == 0 else
                                                        "%d-d" % a.ndim))
        if dim is None:
            dim = a.size
            out = np.empty((len(values), dim), np.float32)
        if a.size != dim:
            raise bad("has a %d-d embedding where others are %d-d" % (a.size, dim))
        if not np.isfinite(a).all():
            raise bad("has a non-finite embedding value")
        out[k] = a
    return out


def _reusable_fields(dataset, config, existing, plan):
    """Fields computed by grid runs with the same embedder on the same kind of
    items: ``compute_grid`` reads them instead of embedding again when they
    cover the items."""
    if not config.computes_embeddings or not isinstance(config.model, (str, type(None))):
        return []
    from gridtsne.fo import model as gmodel

    name = gmodel.model_name(config.model)
    tag = gmodel.features_tag(config.model, config.precision)
    out = []
    for key in dataset.list_runs(method=runs.METHOD):
        rec = runs.record(dataset, key)
        if (rec is not None and getattr(rec, "embeddings_source", None) == runs.COMPUTED
                and rec.model == name and getattr(rec, "features_tag", None) == tag
                and getattr(rec, "items", items.SAMPLES) == plan.kind
                and rec.embeddings_field.startswith(plan.prefix)
                and getattr(rec, "patch_context", None) == (
                    config.patch_context if plan.kind == items.LABELS else None)
                and fieldpaths.exists(dataset, rec.embeddings_field)):
            out.append(rec.embeddings_field)
    own = plan.path(config.store_embeddings_in)
    return sorted(out, key=lambda f: f != own)

