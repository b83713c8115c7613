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
import os

import fiftyone as fo
import fiftyone.core.runs as fors

from gridtsne.config import GridConfig, GridError
from gridtsne.fo import fieldpaths, files, output_fields, records, similarity, writer
from gridtsne.fo.lock import dataset_lock
from gridtsne.fo.records import (ARRAY, BACKUP_PREFIX, COMPUTED, FIELD, METHOD,  # noqa: F401
                                 RESULTS_LOCK, REUSED, TMP_PREFIX, is_grid_key, record)

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
        return records.owned_fields(self)


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
        _rename_run(samples._root_dataset, key, new_key, self.config)


def list_grids(samples):
    """Keys of the grid runs on the dataset of ``samples``."""
    dataset = samples._root_dataset
    writer.recover(dataset)
    return sorted(k for k in dataset.list_runs(method=METHOD)
                  if is_grid_key(k) and record(dataset, k) is not None)


def load_grid(samples, key):
    """The :class:`GridResults` of the run ``key``."""
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
    similarity.remove(dataset, key)
    files.remove_run_files(config.run_dir)


def _rename_run(dataset, key, new_key, config):
    """Renames a grid run's fields, brain run and folder (``dataset.rename_run``)."""
    runs_ = dataset.list_runs()
    if new_key in runs_:
        raise GridError("Dataset %r already has a run %r" % (dataset.name, new_key))
    with dataset_lock(dataset):
        dataset.reload()
        writer.recover_locked(dataset)
        renamed = {}
        for old_name in config.owned_fields():
            head, dot, name = old_name.rpartition(".")
            if name.startswith(key + "_") and fieldpaths.exists(dataset, old_name):
                new_name = head + dot + new_key + name[len(key):]
                if fieldpaths.exists(dataset, new_name):
                    raise GridError("Field %r already exists on dataset %r"
                                    % (new_name, dataset.name))
                renamed[old_name] = new_name
        fieldpaths.rename(dataset, renamed)
        config.fields = {k: renamed.get(f, f) for k, f in config.fields.items()}
        if config.embeddings_field in renamed:
            for other in dataset.list_runs(method=METHOD):  # runs that share them
                rec = record(dataset, other) if other != key else None
                if rec is not None and rec.embeddings_field == config.embeddings_field:
                    rec.embeddings_field = renamed[config.embeddings_field]
                    dataset.update_run_config(other, rec)
            config.embeddings_field = renamed[config.embeddings_field]
        if config.brain_key in dataset.list_brain_runs():
            dataset.rename_brain_run(config.brain_key, new_key)
            config.brain_key = new_key
        params = dict(config.params)
        params["key"] = new_key
        config.params = params
        new_dir = os.path.join(os.path.dirname(config.run_dir), new_key)
        results = dataset.load_run_results(key, cache=False, load_view=False)
        similarity.renamed(dataset, key, new_key, results)
        if os.path.isdir(config.run_dir) and not os.path.exists(new_dir):
            os.rename(config.run_dir, new_dir)
            files.write_json_atomic(os.path.join(new_dir, files.MARKER), {
                "dataset_id": str(dataset._doc.id), "dataset": dataset.name, "key": new_key})
            for name in ("mosaic_path", "tiles_path", "layout_path", "skipped_path"):
                path = getattr(results, name, None)
                if path and path.startswith(config.run_dir + os.sep):
                    setattr(results, name, new_dir + path[len(config.run_dir):])
            config.run_dir = new_dir
        dataset.save_run_results(key, results, cache=False)
        dataset.update_run_config(key, config)


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
            "update_timings", "metrics", "legend", "curation_skipped", "cells_sha256",
            "regions", "similarity_key", "update_report")}

    rows = property(lambda self: self._results["rows"])
    cols = property(lambda self: self._results["cols"])
    mosaic_path = property(lambda self: self._results["mosaic_path"])
    # the Deep Zoom (.dzi) pyramid of large grids, else None
    tiles_path = property(lambda self: self._results["tiles_path"])
    layout_path = property(lambda self: self._results["layout_path"])
    skipped_path = property(lambda self: self._results["skipped_path"])
    n_samples = property(lambda self: self._results["n_samples"])
    # the items of the run's view when it was computed (placed and skipped)
    n_total = property(lambda self: self._results["n_total"])
    skipped = property(lambda self: self._results["skipped"] or [])
    # seconds per stage of the compute run; regrid_timings: the last regrid's
    timings = property(lambda self: self._results["timings"] or {})
    regrid_timings = property(lambda self: self._results["regrid_timings"])
    update_timings = property(lambda self: self._results["update_timings"])
    metrics = property(lambda self: self._results["metrics"] or {})
    # [label, [r, g, b]] of the cell borders as they were drawn in the mosaic
    legend = property(lambda self: self._results["legend"] or [])
    curation_skipped = property(lambda self: self._results["curation_skipped"])
    # [{id, name, count, cells, label, label_share, representative, centre}]
    # (gridtsne.core.regions); [] for a run made before regions existed
    regions = property(lambda self: self._results["regions"] or [])
    # what the last update_grid did: {placed, skipped, grid_before, grid,
    # metrics: {name: {before, after}}, fell, tolerance}; None before any
    update_report = property(lambda self: self._results["update_report"])
    # the brain key of the run's similarity index (gridtsne.fo.similarity), or None
    similarity_key = property(lambda self: self._results["similarity_key"])
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

    def record_attributes(self):
        """The record's own attributes, as a new write of the run starts from
        them (FiftyOne's and the writer's left out)."""
        return {k: v for k, v in self.record.serialize().items()
                if k not in ("cls", "type", "method", "version")}

    @property
    def kind(self):
        """What the run lays out: "samples", "labels" (objects) or "frames"."""
        return getattr(self.record, "items", None) or "samples"

    @property
    def view(self):
        """The samples (or frames) the run was computed on."""
        return self.dataset.load_run_view(self.key)

    def unplaced_count(self):
        """Samples of the run's view with no cell and not skipped: those added
        since it was computed, which ``update_grid`` places (0 for runs of
        objects and frames, which update_grid does not extend)."""
        if self.kind != "samples":
            return 0
        try:
            view = self.view.exists(self.fields["row"], False)
        except Exception:  # the run's view no longer loads (a field it used deleted)
            return 0
        skipped = [s["id"] for s in self.skipped]
        return (view.exclude(skipped) if skipped else view).count()

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
