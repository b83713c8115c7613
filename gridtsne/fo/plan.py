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
from gridtsne.fo import files, runs

# FiftyOne field types that can hold embedding vectors
_NUMBER_FIELDS = (fo.FloatField, fo.IntField)


@dataclass
class RunPlan:
    samples: object
    config: object
    n: int
    run_dir: str
    created_run_dir: bool
    label_path: str = None
    array: object = None  # embeddings passed as an array, in the order of samples
    model_spec: object = None  # what the user passed as model=
    # computed embeddings equal to ours, by field: reused instead of recomputed
    reusable_fields: tuple = ()

    @property
    def dataset(self):
        return self.samples._dataset


def plan_compute(samples, config, array=None, model_spec=None):
    """Checks a ``compute_grid`` run; returns its :class:`RunPlan`."""
    dataset = samples._dataset
    if dataset.media_type != fom.IMAGE:
        raise GridError("Dataset %r has %s media; gridtsne lays out images only (a grid of "
                        "video frames or 3D scenes is not supported)"
                        % (dataset.name, dataset.media_type))
    n = len(samples)
    if n < 2:
        raise GridError("The view has %d sample%s; a grid needs at least 2"
                        % (n, "" if n == 1 else "s"))
    checked_shape(n, config.rows, config.cols)

    existing = runs.record(dataset, config.key)
    if existing is None and config.key in dataset.list_runs():
        raise GridError("Dataset %r has a run %r that is not a grid run (it is never "
                        "replaced); choose another <key>" % (dataset.name, config.key))
    if existing is not None and not config.overwrite:
        raise GridError("Dataset %r already has a grid run %r; pass <overwrite=True> to "
                        "replace it" % (dataset.name, config.key))
    mine = set(existing.owned_fields()) if existing is not None else set()

    schema = dataset.get_field_schema()
    new_fields = list(runs.grid_fields(config.key).values()) + [
        "%s_%s" % (config.key, name) for name in runs.CURATION_FIELDS]
    if config.computes_embeddings:
        new_fields.append(config.store_embeddings_in)
    elif config.embeddings is not None:
        check_embeddings_field(dataset, config.embeddings)
    for field in new_fields:
        if field in schema and field not in mine:
            raise GridError("Field %r already exists on dataset %r and is not from grid run "
                            "%r; choose another <key> or <embeddings_field>"
                            % (field, dataset.name, config.key))
    if config.key in dataset.list_brain_runs() and (
            existing is None or existing.brain_key != config.key):
        raise GridError("Dataset %r already has a brain run %r; choose another <key>"
                        % (dataset.name, config.key))
    if array is not None:
        array = checked_array(array, n)
    label_path = runs.label_path(samples, config.label_field) if config.label_field else None

    run_dir = files.run_dir_for(dataset, config.key, config.output_dir)
    created = files.claim_run_dir(run_dir, dataset, config.key)
    return RunPlan(
        samples=samples, config=config, n=n, run_dir=run_dir, created_run_dir=created,
        label_path=label_path, array=array, model_spec=model_spec,
        reusable_fields=tuple(_reusable_fields(dataset, config, existing)),
    )


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


def _reusable_fields(dataset, config, existing):
    """Fields computed by grid runs with the same embedder: ``compute_grid``
    reads them instead of embedding again when they cover the samples."""
    if not config.computes_embeddings or not isinstance(config.model, (str, type(None))):
        return []
    from gridtsne.core import embed
    from gridtsne.fo import model as gmodel

    name = gmodel.model_name(config.model)
    tag = embed.FEATURES_TAG if gmodel.is_default(config.model) else None
    out = []
    for key in dataset.list_runs(method=runs.METHOD):
        rec = runs.record(dataset, key)
        if (rec is not None and getattr(rec, "embeddings_source", None) == runs.COMPUTED
                and rec.model == name and getattr(rec, "features_tag", None) == tag
                and dataset.has_field(rec.embeddings_field)):
            out.append(rec.embeddings_field)
    return sorted(out, key=lambda f: f != config.store_embeddings_in)

