"""Grid runs kept on a dataset by key, registered with FiftyOne's run classes.

A run is a FiftyOne custom run whose config is a :class:`GridRunConfig`
(method ``"gridtsne"``); its :class:`GridRun` knows the fields and files the
run owns, so ``dataset.delete_run(key)``, ``dataset.rename_run(key, new)`` and
the ``@voxel51/runs`` plugin clean up exactly like :func:`delete_grid`. The
record holds the run's options (a :class:`gridtsne.config.GridConfig`), the
names of its fields, its folder and a ``version`` that changes with every
write; the results hold what it produced (grid shape, files, timings,
skipped samples, metrics and the legend of the rendered label colours).
"""

import logging
import threading

import fiftyone as fo
import fiftyone.core.runs as fors

from gridtsne.config import GridConfig, GridError
from gridtsne.fo import fieldpaths, files, output_fields
from gridtsne.fo.lock import dataset_lock

METHOD = "gridtsne"
# names the writer gives to what it replaces while it commits (see writer.py)
BACKUP_PREFIX = "gridtsne_old_"
TMP_PREFIX = "gridtsne_tmp_"
# how a run got its vectors: computed and stored by it, reused from another
# run's computed field, read from the user's field, or passed as an array
COMPUTED, REUSED, FIELD, ARRAY = "computed", "reused", "field", "array"

logger = logging.getLogger(__name__)


class GridRunConfig(fors.RunConfig):
    """The record of a grid run (what FiftyOne stores in the run document)."""

    def __init__(self, **kwargs):
        kwargs["method"] = METHOD
        super().__init__(**kwargs)

    @property
    def options(self):
        return GridConfig.from_dict(getattr(self, "params", None))

    def owned_fields(self):
        """Sample fields this run wrote (its computed embeddings included)."""
        out = [f for _, f in sorted(self.fields.items())]
        if getattr(self, "embeddings_source", None) == COMPUTED:
            out.append(self.embeddings_field)
        return out


class GridRun(fors.Run):
    """Cleans up and renames a grid run for FiftyOne's run API."""

    def get_fields(self, samples, key):
        return list(self.config.owned_fields())

    def cleanup(self, samples, key):
        if key.startswith(BACKUP_PREFIX):
            return  # a writer's backup: the writer removes what belongs to it
        dataset = samples._root_dataset
        with dataset_lock(dataset):
            dataset.reload()
            _remove_run(dataset, key, self.config)

    def rename(self, samples, key, new_key):
        if key.startswith(BACKUP_PREFIX) or new_key.startswith(BACKUP_PREFIX):
            return  # the writer moving a record aside: fields stay where they are
        from gridtsne.fo import writer

        writer.rename_run(samples._root_dataset, key, new_key, self.config)


# The App server runs operators and panel methods in threads that share one
# Dataset object; its run documents' GridFS files (the results) cannot be read
# by two threads at once (a seek in one moves the other's read: seen as a
# traceback over the panel when hovering during a view change), nor while
# another reloads the dataset.
RESULTS_LOCK = threading.RLock()


def is_grid_key(key):
    return not key.startswith(BACKUP_PREFIX)


def record(dataset, key):
    """The :class:`GridRunConfig` of run ``key``, or None (no run, or not a grid run)."""
    if key not in dataset.list_runs():
        return None
    config = dataset.get_run_info(key).config
    return config if isinstance(config, GridRunConfig) else None


def list_grids(samples):
    """Keys of the grid runs on the dataset of ``samples``."""
    from gridtsne.fo import writer

    dataset = samples._root_dataset
    writer.recover(dataset)
    return sorted(k for k in dataset.list_runs(method=METHOD)
                  if is_grid_key(k) and record(dataset, k) is not None)


def load_grid(samples, key):
    """The :class:`GridResults` of the run ``key``."""
    from gridtsne.fo import writer

    dataset = samples._root_dataset
    writer.recover(dataset)
    if record(dataset, key) is None:
        if key in dataset.list_runs():
            raise GridError("Run %r on dataset %r is not a grid run" % (key, dataset.name))
        raise GridError("Dataset %r has no grid run %r (it has: %s)"
                        % (dataset.name, key, ", ".join(list_grids(dataset)) or "none"))
    return GridResults(dataset, key)


def delete_grid(samples, key):
    """Removes a run: its record, the fields it wrote, its brain run and its files.

    Fields it only read (an embeddings field you passed in) are kept, and so
    is a computed embeddings field that another run still uses.
    """
    dataset = samples._root_dataset
    with dataset_lock(dataset):
        dataset.reload()
        from gridtsne.fo import writer

        writer.recover(dataset)
        config = record(dataset, key)
        if config is None:
            load_grid(dataset, key)  # raises the "no such run" error
        _remove_run(dataset, key, config)
        fors.Run.delete_run(dataset, key, cleanup=False)


def _remove_run(dataset, key, config):
    """Deletes what run ``key`` owns, except a computed embeddings field that
    another run uses: that run inherits it."""
    owned = config.owned_fields()
    if getattr(config, "embeddings_source", None) == COMPUTED:
        heirs = [k for k in dataset.list_runs(method=METHOD) if k != key and is_grid_key(k)
                 and getattr(record(dataset, k), "embeddings_field", None)
                 == config.embeddings_field]
        if heirs:
            owned.remove(config.embeddings_field)
            heir = record(dataset, heirs[0])
            heir.embeddings_source = COMPUTED
            dataset.update_run_config(heirs[0], heir)
    fieldpaths.delete(dataset, owned)
    if config.brain_key in dataset.list_brain_runs():
        dataset.delete_brain_run(config.brain_key)
    files.remove_run_files(config.run_dir)


class GridResults:
    """What a grid run produced, loaded from its record."""

    def __init__(self, dataset, key):
        self.dataset = dataset
        self.key = key
        info = dataset.get_run_info(key)
        self.timestamp = info.timestamp
        self.record = info.config
        self.options = info.config.options
        with RESULTS_LOCK:
            stored = dataset.load_run_results(key, cache=False, load_view=False)
        self._results = {k: getattr(stored, k, None) for k in (
            "rows", "cols", "mosaic_path", "tiles_path", "layout_path", "skipped_path",
            "n_samples", "n_total", "skipped", "timings", "regrid_timings",
            "update_timings", "metrics", "legend", "curation_skipped", "cells_sha256")}

    rows = property(lambda self: self._results["rows"])
    cols = property(lambda self: self._results["cols"])
    mosaic_path = property(lambda self: self._results["mosaic_path"])
    # the Deep Zoom (.dzi) pyramid of large grids, else None
    tiles_path = property(lambda self: self._results["tiles_path"])
    layout_path = property(lambda self: self._results["layout_path"])
    skipped_path = property(lambda self: self._results["skipped_path"])
    n_samples = property(lambda self: self._results["n_samples"])
    skipped = property(lambda self: self._results["skipped"] or [])
    # seconds per stage of the compute run; regrid_timings: the last regrid's
    timings = property(lambda self: self._results["timings"] or {})
    regrid_timings = property(lambda self: self._results["regrid_timings"])
    update_timings = property(lambda self: self._results["update_timings"])
    metrics = property(lambda self: self._results["metrics"] or {})
    # [label, [r, g, b]] of the cell borders as they were drawn in the mosaic
    legend = property(lambda self: self._results["legend"] or [])
    curation_skipped = property(lambda self: self._results["curation_skipped"])
    # SHA-256 of the run's cell table (gridtsne.core.celltable) as it was
    # written; None for runs made before it was recorded
    cells_digest = property(lambda self: self._results["cells_sha256"])
    version = property(lambda self: self.record.version)
    run_dir = property(lambda self: self.record.run_dir)

    @property
    def config(self):
        """The run's options and record as a plain dict."""
        out = {k: v for k, v in self.record.serialize().items()
               if not k.startswith("_") and k not in ("cls", "type")}
        return out

    @property
    def fields(self):
        return dict(self.record.fields)

    @property
    def kind(self):
        """What the run lays out: "samples", "labels" (objects) or "frames"."""
        return getattr(self.record, "items", None) or "samples"

    @property
    def view(self):
        """The samples (or frames) the run was computed on."""
        return self.dataset.load_run_view(self.key)

    def placed_view(self):
        """The samples (frames; samples with placed objects) that have a cell."""
        from fiftyone import ViewField as F

        from gridtsne.fo import items

        row = self.fields["row"]
        if self.kind == items.LABELS:
            return self.view.filter_labels(self.record.patches_field,
                                           F(row.rpartition(".")[2]).exists())
        if self.kind == items.FRAMES:  # the videos, keeping their placed frames
            return self.dataset.match_frames(F(row[len("frames."):]).exists())
        return self.dataset.exists(row)

    def placed_items(self):
        """(the view they are read from, the :class:`gridtsne.fo.items.ItemSet`
        of the placed items: images, objects or frames)."""
        from gridtsne.fo import items

        view = self.placed_view()
        list_path = None
        if self.kind == items.LABELS:
            list_path = items.patches_list_path(view, self.record.patches_field)
        label = None
        if self.options.label_field and self.kind != items.LABELS:
            frames = self.kind == items.FRAMES
            label = label_path(view, ("frames." if frames else "") + self.options.label_field)
            label = label[len("frames."):] if frames else label
        return view, items.read(view, self.kind, label, list_path,
                                getattr(self.record, "patch_context", None) or 0.0)

    def layout(self):
        """Per placed item: id, filepath, every output field the run has
        (see output_fields), label when it has one and sample_id for objects."""
        from gridtsne.fo import items

        view, its = self.placed_items()
        out = {"id": its.ids, "filepath": its.filepaths}
        if self.kind == items.LABELS:
            out["sample_id"] = its.sample_ids
        for name in output_fields.BY_NAME:
            if self.fields.get(name):
                out[name] = items.values(view, its, self.fields[name])
        if its.labels is not None:
            out["label"] = its.labels
        return out

    def __repr__(self):
        return "<GridResults %r %dx%d, %d samples, mosaic=%s>" % (
            self.key, self.rows, self.cols, self.n_samples, self.mosaic_path)


def label_path(samples, label_field):
    """The path of the label string: ``field.label`` for Classification fields."""
    field = samples.get_field(label_field)
    if field is None:
        raise GridError("Label field %r does not exist on dataset %r"
                        % (label_field, samples._root_dataset.name))
    if isinstance(field, fo.EmbeddedDocumentField) and issubclass(
            field.document_type, fo.Classification):
        return label_field + ".label"
    if isinstance(field, (fo.StringField, fo.IntField, fo.BooleanField)):
        return label_field
    raise GridError("Label field %r must be a Classification or a string/int field, not %s"
                    % (label_field, type(field).__name__))
