"""The one writer of grid runs: a run appears whole, or not at all.

MongoDB (standalone, as FiftyOne embeds it) has no transaction that spans
renaming fields, replacing a brain run and replacing a run record, so the
writer journals its commit, the way a database journals a transaction:

1. Under the dataset's write lock, every new value goes into temporary
   fields ``gridtsne_tmp_<token>_<field>``. A failure or a kill here leaves
   the old run untouched; the temporary fields are dropped at once, or by the
   next writer (which holds the lock, so no live writer owns them).
2. A journal document is inserted; then the old run's fields, brain run and
   record are renamed aside to ``gridtsne_old_<token>...`` names, the
   temporary fields are renamed into place, the staged files are moved into
   the run's folder (the old ones into the staging folder), and the new brain
   run and record are written.
3. The journal is marked committed: the single write that makes the new run
   the run. Then the old things are deleted and the journal removed.

A failure during step 2 undoes it at once; a kill (or a lost database) leaves
the journal, and the next gridtsne call on the dataset (any reader or writer)
takes the lock and undoes the step before reading: the old run is back,
whole. After step 3 the same call finishes the clean-up instead. SIGINT and
SIGTERM are held back during steps 2-3 (a few renames), so Ctrl-C there ends
with the new run saved, and says so.
"""

import contextlib
import logging
import signal
import threading
import uuid
from dataclasses import dataclass, field

import fiftyone.core.runs as fors

from gridtsne.config import GridError
from gridtsne.fo import brain_run, fieldpaths, files, records
from gridtsne.fo.items import Target
from gridtsne.fo.lock import dataset_lock

JOURNAL = "gridtsne_journal"
# how many values go to MongoDB per set_values call while writing temp fields
CHUNK = 100_000

logger = logging.getLogger(__name__)

class InterruptedAfterSave(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) arrived while the run was being committed; the
    commit was finished first, so the new run is saved."""


@dataclass
class RunWrite:
    """Everything one write of run ``key`` puts on the dataset."""

    key: str
    register_on: object  # the dataset or view the record is registered on
    ids: list
    values: dict  # final field path -> values, in the order of ids
    record: dict  # the record's attributes (the writer adds the version)
    record_cls: type  # the record's class (gridtsne.fo.runs.GridRunConfig)
    results: dict
    staging: files.Staging
    brain_points: object = None  # (N, 2) t-SNE points: (re)write the brain run
    overwrite: bool = False
    expected_version: str = None  # regrid: the version it read
    keep_fields: list = field(default_factory=list)  # never dropped
    # FiftyOne field types, declared before writing (values may all be None,
    # and label attributes must be declared), e.g. {"grid_row": fo.IntField}
    field_types: dict = field(default_factory=dict)
    items: Target = field(default_factory=Target)
    journaled: bool = False  # set once a commit journal refers to the staging


def _step(name):
    """Marks the named steps of a write (``journal_written``, ``fields_moved``,
    ...): the points where the fault tests kill, signal or fail a process by
    replacing this function (tests/hold.py). Nothing happens here."""


def _journal():
    import fiftyone.core.odm as foo

    return foo.get_db_conn()[JOURNAL]


def _backup(path, token):
    return fieldpaths.sibling(path, "%s%s_" % (records.BACKUP_PREFIX, token))


def _temporary(path, token):
    return fieldpaths.sibling(path, "%s%s_" % (records.TMP_PREFIX, token))


def _backup_key(token):
    return "%s%s" % (records.BACKUP_PREFIX, token)


def write_run(dataset, w, progress=None):
    """Writes ``w`` atomically (see the module docstring); returns the version.

    The writer owns ``w.staging`` from here on: it is discarded when the run
    is written or refused, and kept only while a journal needs it to undo.
    """
    try:
        _step("computed")
        with dataset_lock(dataset) as lock:
            dataset.reload()
            recover_locked(dataset)
            files.sweep_stale_staging(w.staging.run_dir, keep={w.staging.path})
            old = _check_replace(dataset, w)
            token = uuid.uuid4().hex[:12]
            tmp = {final: _temporary(final, token) for final in w.values}
            try:
                _step("before_temp_fields")
                _write_temp_fields(dataset, w, tmp, progress)
                _step("temp_fields_written")
            except BaseException:
                if not lock.lost.is_set():
                    _drop_fields(dataset, tmp.values())
                raise
            with _signals_held() as held:
                _commit(dataset, lock, w, old, token, tmp)
    except BaseException:
        if not w.journaled:  # else the journal owns the staging (see _commit)
            w.staging.discard()
        raise
    if held:
        raise InterruptedAfterSave("interrupted; the run was saved before stopping")
    return token


def _check_replace(dataset, w):
    """The old record of ``w.key`` (or None), if ``w`` may replace it; checked
    again under the lock, since another process may have written meanwhile."""
    if w.key in dataset.list_runs() and records.record(dataset, w.key) is None:
        raise GridError("Dataset %r has a run %r that is not a grid run; choose another "
                        "<key>" % (dataset.name, w.key))
    old = records.record(dataset, w.key)
    if w.expected_version is not None:
        if old is None or old.version != w.expected_version:
            raise GridError(
                "Grid run %r on dataset %r changed while this run was computed (it was "
                "recomputed, re-gridded or deleted meanwhile); run it again"
                % (w.key, dataset.name))
    elif old is not None and not w.overwrite:
        raise GridError("Dataset %r already has a grid run %r; pass <overwrite=True> to "
                        "replace it" % (dataset.name, w.key))
    mine = set(old.owned_fields()) if old is not None else set()
    for final in w.values:
        if fieldpaths.exists(dataset, final) and final not in mine:
            raise GridError("Field %r already exists on dataset %r and is not from grid run "
                            "%r; choose another <key>" % (final, dataset.name, w.key))
    if w.brain_points is not None and w.key in dataset.list_brain_runs() and (
            old is None or old.brain_key != w.key):
        raise GridError("Dataset %r already has a brain run %r; choose another <key>"
                        % (dataset.name, w.key))
    return old


def _write_temp_fields(dataset, w, tmp, progress):
    import fiftyone as fo

    total = max(1, len(w.values) * len(w.ids))
    done = 0
    for final in w.values:
        if final in w.field_types:
            fieldpaths.add(dataset, tmp[final], w.field_types[final])
    columns = list(w.values)
    if w.items.kind == "samples":
        scalars = [f for f in columns if w.field_types.get(f) in (fo.FloatField, fo.IntField)]
        for start in range(0, len(w.ids), CHUNK):
            ids = w.ids[start:start + CHUNK]
            _set_sample_columns(dataset, ids,
                                {tmp[f]: w.values[f][start:start + CHUNK] for f in scalars})
            done += len(scalars) * len(ids)
            if progress is not None:
                progress(done / total)
        columns = [f for f in columns if f not in scalars]
    for final in columns:
        values = w.values[final]
        for start in range(0, len(w.ids), CHUNK):
            ids = w.ids[start:start + CHUNK]
            chunk = values[start:start + CHUNK]
            if w.items.kind == "labels":
                samples = w.items.sample_ids[start:start + CHUNK]
                dataset.set_label_values(tmp[final], [
                    {"sample_id": s, "label_id": i, "value": v}
                    for s, i, v in zip(samples, ids, chunk)])
            elif w.items.kind == "frames":
                w.items.view.set_values(tmp[final][len(fieldpaths.FRAMES):],
                                        dict(zip(ids, chunk)), key_field="id")
            else:
                dataset.set_values(tmp[final], dict(zip(ids, chunk)), key_field="id")
            done += len(ids)
            if progress is not None:
                progress(done / total)


def _set_sample_columns(dataset, ids, columns):
    """Sets several int/float/None fields of the samples ``ids`` in one update
    per sample: ``set_values`` makes one pass over the samples per field, and
    a pass is what costs (docs/benchmarks.md, 1,000,000 images). The values
    are plain Python numbers or None (see output_fields.layout_values), which
    MongoDB stores as set_values would; FiftyOne's own bulk writer
    refreshes the samples loaded in memory."""
    import datetime

    from bson import ObjectId
    from pymongo import UpdateOne

    if not columns:
        return
    names = list(columns)
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    oids = [ObjectId(i) for i in ids]
    ops = [UpdateOne({"_id": oid}, {"$set": dict(zip(names, row), last_modified_at=now)})
           for oid, *row in zip(oids, *(columns[f] for f in names))]
    dataset._bulk_write(ops, ids=oids)


def _commit(dataset, lock, w, old, token, tmp):
    jc = _journal()
    old_owned = old.owned_fields() if old is not None else []
    # what the old run owned and the new one does not: set aside, then deleted
    keep = set(w.keep_fields) | set(records.owned_fields(w.record))
    dropped = [f for f in old_owned
               if f not in w.values and f not in keep and fieldpaths.exists(dataset, f)]
    old_results = (dataset.load_run_results(w.key, cache=False, load_view=False)
                   if old is not None else None)
    j = {
        "_id": "%s:%s" % (dataset._doc.id, w.key), "dataset_id": str(dataset._doc.id),
        "key": w.key, "token": token, "state": "committing",
        "moves": [[tmp[f], f] for f in w.values],
        "replaced": [f for f in w.values if fieldpaths.exists(dataset, f)] + dropped,
        "had_record": old is not None,
        "brain": w.brain_points is not None,
        "had_brain": w.key in dataset.list_brain_runs(),
        "run_dir": w.staging.run_dir, "staging": w.staging.path,
        "staged": w.staging.names(), "tiles_name": "tiles-" + token,
        "old_tiles": _tiles_dir(getattr(old_results, "tiles_path", None)),
    }
    register_on = w.register_on
    if old is not None:
        register_on = dataset.load_run_view(w.key) if w.expected_version else register_on
    jc.insert_one(j)
    w.journaled = True
    try:
        _step("journal_written")
        lock.assert_held()
        fieldpaths.rename(dataset, {f: _backup(f, token) for f in j["replaced"]})
        _step("fields_set_aside")
        lock.assert_held()
        fieldpaths.rename(dataset, dict(j["moves"]))
        _step("fields_moved")
        lock.assert_held()
        w.staging.install(j["staged"], j["tiles_name"])
        _step("files_installed")
        if j["brain"]:
            brain_run.replace_brain_run(dataset, w, _backup_key(token))
        _step("brain_written")
        lock.assert_held()
        if old is not None:
            fors.Run.update_run_key(dataset, w.key, _backup_key(token))
        record = dict(w.record, version=token)
        results = _installed_results(w, j)
        config = w.record_cls(**record)
        register_on.register_run(
            w.key, config, results=fors.RunResults(register_on, config, w.key, **results),
            cache=False)
        _step("record_written")
        lock.assert_held()
        done = jc.update_one({"_id": j["_id"], "token": token, "state": "committing"},
                             {"$set": {"state": "committed"}})
        if done.matched_count != 1:
            raise RuntimeError("The commit journal of run %r vanished" % w.key)
    except BaseException:
        if not lock.lost.is_set():
            try:
                dataset.reload()
                _undo(dataset, jc.find_one({"_id": j["_id"]}) or j)
            except Exception:  # the database is gone: the next call undoes it
                logger.warning("Could not undo the interrupted write of run %r now; the "
                               "next gridtsne call on dataset %r will", w.key, dataset.name,
                               exc_info=True)
        raise
    _step("committed")
    try:
        _finish(dataset, j)
    except Exception:
        logger.warning("Clean-up after writing run %r is left to the next gridtsne call",
                       w.key, exc_info=True)


def _installed_results(w, j):
    """The results with the files' final paths (they were staged until now)."""
    import os

    out = dict(w.results)
    names = set(j["staged"])
    for key, name in (("layout_path", "layout.csv"), ("skipped_path", "skipped.csv")):
        out[key] = os.path.join(w.staging.run_dir, name) if name in names else None
    mosaic = [n for n in names if n.startswith("mosaic.")]
    out["mosaic_path"] = os.path.join(w.staging.run_dir, mosaic[0]) if mosaic else None
    out["tiles_path"] = (os.path.join(w.staging.run_dir, j["tiles_name"], "mosaic.dzi")
                         if "tiles" in names else None)
    return out


def _tiles_dir(tiles_path):
    import os

    return os.path.dirname(tiles_path) if tiles_path else None


@contextlib.contextmanager
def _signals_held():
    """Holds SIGINT/SIGTERM back for the block; yields the list of those that came."""
    received = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return
    previous = {}

    def hold(signum, frame):
        received.append(signum)

    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, hold)
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _drop_fields(dataset, names):
    fieldpaths.delete(dataset, names)


def _undo(dataset, j):
    """Puts the old run back (step 2 interrupted); idempotent."""
    token = j["token"]
    # new fields already renamed into place
    _drop_fields(dataset, [final for tmp_field, final in j["moves"]
                           if final not in j["replaced"]
                           and not fieldpaths.exists(dataset, tmp_field)
                           and not fieldpaths.exists(dataset, _backup(final, token))])
    back = {_backup(f, token): f for f in j["replaced"]
            if fieldpaths.exists(dataset, _backup(f, token))}
    _drop_fields(dataset, back.values())
    fieldpaths.rename(dataset, back)
    _drop_fields(dataset, [t for t, _ in j["moves"]])

    backup_key = _backup_key(token)
    if backup_key in dataset.list_runs():
        if j["key"] in dataset.list_runs():
            fors.Run.delete_run(dataset, j["key"], cleanup=False)
        fors.Run.update_run_key(dataset, backup_key, j["key"])
    elif not j["had_record"] and j["key"] in dataset.list_runs():
        new = records.record(dataset, j["key"])
        if new is not None and new.version == token:
            fors.Run.delete_run(dataset, j["key"], cleanup=False)

    if j["brain"]:
        brains = dataset.list_brain_runs()
        if backup_key in brains:
            if j["key"] in brains:
                dataset.delete_brain_run(j["key"])
            dataset.rename_brain_run(backup_key, j["key"])
        elif not j["had_brain"] and j["key"] in brains:
            dataset.delete_brain_run(j["key"])

    staging = files.Staging(j["run_dir"], j["staging"])
    staging.undo(j["staged"], j["tiles_name"])
    staging.discard()
    _journal().delete_one({"_id": j["_id"], "token": token})


def _finish(dataset, j):
    """Deletes what the committed write replaced; idempotent."""
    token = j["token"]
    _drop_fields(dataset, [_backup(f, token) for f in j["replaced"]])
    backup_key = _backup_key(token)
    if backup_key in dataset.list_brain_runs():
        dataset.delete_brain_run(backup_key)
    if backup_key in dataset.list_runs():
        fors.Run.delete_run(dataset, backup_key, cleanup=False)
    files.remove_pyramid(j.get("old_tiles"))  # the new pyramid has a name of its own
    files.Staging(j["run_dir"], j["staging"]).discard()
    _journal().delete_one({"_id": j["_id"], "token": token})


def recover_locked(dataset):
    """Undoes or finishes writes that died; drops their leftovers. Needs the
    lock (anything that changes a run's fields holds it and calls this first)."""
    for j in list(_journal().find({"dataset_id": str(dataset._doc.id)})):
        logger.warning("Recovering the interrupted write of grid run %r on dataset %r",
                       j["key"], dataset.name)
        if j["state"] == "committed":
            _finish(dataset, j)
        else:
            _undo(dataset, j)
    prefixes = (records.TMP_PREFIX, records.BACKUP_PREFIX)
    _drop_fields(dataset, [p for p in fieldpaths.all_paths(dataset)
                           if fieldpaths.leaf(p).startswith(prefixes)])
    for key in dataset.list_brain_runs():
        if key.startswith(records.BACKUP_PREFIX):
            dataset.delete_brain_run(key)
    for key in dataset.list_runs():
        if key.startswith(records.BACKUP_PREFIX):
            fors.Run.delete_run(dataset, key, cleanup=False)


def update_results(dataset, key, version, **changes):
    """Sets figures only known after the write (the save time, the total) on
    the run's results, if the run is still the version written; a failure here
    costs the figure, never the run."""
    try:
        with dataset_lock(dataset):
            dataset.reload()
            current = records.record(dataset, key)
            if current is None or current.version != version:
                return
            stored = dataset.load_run_results(key, cache=False, load_view=False)
            for name, value in changes.items():
                setattr(stored, name, value)
            dataset.save_run_results(key, stored, cache=False)
    except Exception:
        logger.warning("Could not store the final figures of run %r", key, exc_info=True)


def recover(dataset, timeout=120):
    """Makes sure no half-finished write is visible: cheap when there is none."""
    if _journal().find_one({"dataset_id": str(dataset._doc.id)}, {"_id": 1}) is None:
        return
    with dataset_lock(dataset, timeout=timeout):
        dataset.reload()
        recover_locked(dataset)
