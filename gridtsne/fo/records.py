"""What a grid run's record is called and how to find one, below both the
writer (which writes records) and the run classes (:mod:`gridtsne.fo.runs`,
which FiftyOne's run API calls, and which call the writer)."""

import threading

METHOD = "gridtsne"
# names the writer gives to what it replaces while it commits (see writer.py)
BACKUP_PREFIX = "gridtsne_old_"
TMP_PREFIX = "gridtsne_tmp_"
# how a run got its vectors: computed and stored by it, reused from another
# run's computed field, read from the user's field, or passed as an array
COMPUTED, REUSED, FIELD, ARRAY = "computed", "reused", "field", "array"
RECORD_CLASS = "GridRunConfig"  # gridtsne.fo.runs.GridRunConfig, as records name it

# The App server runs operators and panel methods in threads that share one
# Dataset object; its run documents' GridFS files (the results) cannot be read
# by two threads at once (a seek in one moves the other's read), nor while
# another reloads the dataset.
RESULTS_LOCK = threading.RLock()


def is_grid_key(key):
    return not key.startswith(BACKUP_PREFIX)


def record(dataset, key):
    """The record (a ``GridRunConfig``) of run ``key``, or None: no run, or
    another kind of run."""
    if key not in dataset.list_runs():
        return None
    config = dataset.get_run_info(key).config
    if type(config).__name__ == RECORD_CLASS and getattr(config, "method", None) == METHOD:
        return config
    return None


def owned_fields(record):
    """Sample fields a run wrote (its computed embeddings included), from its
    record or a dict of the record's attributes."""
    get = record.get if isinstance(record, dict) else lambda name: getattr(record, name, None)
    out = [f for _, f in sorted((get("fields") or {}).items())]
    if get("embeddings_source") == COMPUTED:
        out.append(get("embeddings_field"))
    return out
