"""Grid runs kept on a dataset by key, the way brain runs are.

A run is a FiftyOne custom run (``dataset.list_runs()``) whose config has
``method="gridtsne"``: its parameters and field names live in the config, and
what it produced (grid shape, mosaic path, timings, skipped samples, metrics)
in its results. The sample fields it owns are named after the key.
"""

import os
import re
import shutil

import fiftyone as fo

from gridtsne.fo.lock import dataset_lock

METHOD = "gridtsne"
# keys become field names and folder names: no dots, slashes or spaces
KEY_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,47}$")
FIELD_SUFFIXES = ("x", "y", "row", "col")


def validate_key(key):
    if not isinstance(key, str) or not KEY_PATTERN.match(key):
        raise ValueError(
            "Invalid key %r: use 1-48 letters, digits or underscores, starting "
            "with a letter" % (key,)
        )
    return key


def grid_fields(key):
    """The per-sample fields a run owns (besides a computed embeddings field)."""
    return {name: "%s_%s" % (key, name) for name in FIELD_SUFFIXES}


def disagreement_field(key):
    return "%s_label_disagreement" % key


def default_embeddings_field(key):
    return "%s_embedding" % key


def default_mosaic_dir(dataset, key):
    return os.path.join(
        fo.config.default_dataset_dir, "gridtsne", "dataset_%s" % dataset._doc.id, key
    )


# A record is registered with status "writing" before a run swaps its fields
# in, and marked "complete" last; a "writing" record found later belongs to a
# run that died, and its fields are cleaned up by the next run with its key.
COMPLETE = "complete"
WRITING = "writing"


def run_config(samples, key):
    """The stored config of any gridtsne record ``key`` (complete or not), or None."""
    dataset = samples._dataset
    if key not in dataset.list_runs(method=METHOD):
        return None
    return _public(dataset.get_run_info(key).config.serialize())


def _public(config):
    return {k: v for k, v in config.items() if not k.startswith("_") and k not in ("cls", "type")}


def list_grids(samples):
    """Keys of the complete grid runs on the dataset of ``samples``."""
    dataset = samples._dataset
    return sorted(
        k for k in dataset.list_runs(method=METHOD)
        if run_config(dataset, k).get("status", COMPLETE) == COMPLETE
    )


def has_grid(samples, key):
    config = run_config(samples, key)
    return config is not None and config.get("status", COMPLETE) == COMPLETE


def load_grid(samples, key):
    """The :class:`GridResults` of the run ``key``."""
    dataset = samples._dataset
    config = run_config(dataset, key)
    if config is not None and not has_grid(dataset, key):
        raise ValueError(
            "Grid run %r on dataset %r was interrupted before it finished; run it "
            "again (no overwrite needed) or delete it" % (key, dataset.name)
        )
    if config is None:
        raise ValueError(
            "Dataset %r has no grid run %r (it has: %s)"
            % (dataset.name, key, ", ".join(list_grids(dataset)) or "none")
        )
    return GridResults(dataset, key)


def owned_fields(config):
    """Sample fields created by a run, which deleting it removes."""
    fields = [config[f + "_field"] for f in FIELD_SUFFIXES]
    if config.get("disagreement_field"):
        fields.append(config["disagreement_field"])
    if config.get("embeddings_computed"):
        fields.append(config["embeddings_field"])
    return fields


def delete_grid(samples, key, delete_files=True):
    """Removes a run: its record, the fields it created, its brain run and files.

    Fields it only read (e.g. an embeddings field you passed in) are kept.
    """
    dataset = samples._dataset
    with dataset_lock(dataset):
        dataset.reload()
        delete_grid_unlocked(dataset, key, delete_files=delete_files)


def delete_grid_unlocked(dataset, key, delete_files=True, keep_fields=()):
    """:func:`delete_grid` for callers that hold the dataset lock already;
    ``keep_fields`` are left in place."""
    config = run_config(dataset, key)
    if config is None:
        load_grid(dataset, key)  # raises the "no such run" error
    mosaic_path = load_grid(dataset, key).mosaic_path if has_grid(dataset, key) else None
    schema = dataset.get_field_schema()
    for field in owned_fields(config):
        if field in schema and field not in keep_fields:
            dataset.delete_sample_field(field)
    brain_key = config.get("brain_key")
    if brain_key and brain_key in dataset.list_brain_runs():
        dataset.delete_brain_run(brain_key)
    dataset.delete_run(key)
    if delete_files:
        _delete_mosaic(mosaic_path, config.get("mosaic_dir"))


def _delete_mosaic(path, folder):
    if path and os.path.isfile(path):
        os.remove(path)
    for extra in ("mosaic.png", "mosaic.jpg"):
        if folder and os.path.isfile(os.path.join(folder, extra)):
            os.remove(os.path.join(folder, extra))
    for extra in ("tiles", ".embedding-batches"):
        if folder and os.path.isdir(os.path.join(folder, extra)):
            shutil.rmtree(os.path.join(folder, extra), ignore_errors=True)
    if folder and os.path.isdir(folder) and not os.listdir(folder):
        shutil.rmtree(folder, ignore_errors=True)


class GridResults:
    """What a grid run produced, loaded from its record."""

    def __init__(self, dataset, key):
        self.dataset = dataset
        self.key = key
        info = dataset.get_run_info(key)
        self.timestamp = info.timestamp
        self.config = _public(info.config.serialize())
        stored = dataset.load_run_results(key, cache=False, load_view=False)
        self._results = {
            k: getattr(stored, k, None)
            for k in ("rows", "cols", "mosaic_path", "tiles_path", "n_samples",
                      "skipped", "timings", "metrics")
        }

    rows = property(lambda self: self._results["rows"])
    cols = property(lambda self: self._results["cols"])
    mosaic_path = property(lambda self: self._results["mosaic_path"])
    # the Deep Zoom (.dzi) pyramid of large grids, else None
    tiles_path = property(lambda self: self._results["tiles_path"])
    n_samples = property(lambda self: self._results["n_samples"])
    skipped = property(lambda self: self._results["skipped"])
    timings = property(lambda self: self._results["timings"])
    metrics = property(lambda self: self._results["metrics"])

    @property
    def fields(self):
        return {f: self.config[f + "_field"] for f in FIELD_SUFFIXES}

    @property
    def view(self):
        """The samples the run was computed on."""
        return self.dataset.load_run_view(self.key)

    def placed_view(self):
        """The samples that have a cell."""
        return self.dataset.exists(self.fields["row"])

    def layout(self, label_field=None):
        """Per placed sample: id, filepath, row, col, x, y (and label, and
        label_disagreement when the run had a label field)."""
        f = self.fields
        names = ["id", "filepath", f["row"], f["col"], f["x"], f["y"]]
        view = self.placed_view()
        values = view.values(names)
        out = dict(zip(["id", "filepath", "row", "col", "x", "y"], values))
        label_field = label_field or self.config.get("label_field")
        if label_field:
            out["label"] = view.values(label_path(view, label_field))
        if self.config.get("disagreement_field"):
            out["label_disagreement"] = view.values(self.config["disagreement_field"])
        return out

    def summary(self):
        return {
            "key": self.key,
            "samples": self.n_samples,
            "skipped": len(self.skipped),
            "grid": "%dx%d" % (self.rows, self.cols),
            "mosaic_path": self.mosaic_path,
            "timings": self.timings,
            "metrics": self.metrics,
        }

    def __repr__(self):
        return "<GridResults %r %dx%d, %d samples, mosaic=%s>" % (
            self.key, self.rows, self.cols, self.n_samples, self.mosaic_path,
        )


def label_path(samples, label_field):
    """The path of the label string: ``field.label`` for Classification fields."""
    field = samples.get_field(label_field)
    if field is None:
        raise ValueError(
            "Label field %r does not exist on dataset %r"
            % (label_field, samples._dataset.name)
        )
    if isinstance(field, fo.EmbeddedDocumentField) and issubclass(
        field.document_type, fo.Classification
    ):
        return label_field + ".label"
    if isinstance(field, (fo.StringField, fo.IntField, fo.BooleanField)):
        return label_field
    raise ValueError(
        "Label field %r must be a Classification or a string/int field, not %s"
        % (label_field, type(field).__name__)
    )
