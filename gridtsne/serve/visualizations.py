"""Visualizations: grid runs requested over HTTP, kept by their operation id.

A visualization is one ``compute_grid`` delegated operation (its id is the
operation's) plus a record in ``gridtsne_api_visualizations`` naming the API
key that asked for it, the dataset, saved view and run key. The state comes
from the operation; once it is ready, the run's file paths are copied into
the record, so polling a finished run reads one document.
"""

import dataclasses
import datetime
import os
import re
import secrets

from gridtsne.config import GridConfig, GridError
from gridtsne.fo import operations
from gridtsne.serve import worker

COLLECTION = "gridtsne_api_visualizations"
ID = re.compile(r"^[0-9a-f]{24}$")
PENDING, RUNNING, READY, FAILED = "pending", "running", "ready", "failed"
STATES = {"queued": PENDING, "scheduled": PENDING, "running": RUNNING,
          "completed": READY, "failed": FAILED}


class NotFound(LookupError):
    """What the caller asked for does not exist (HTTP 404)."""


class Forbidden(PermissionError):
    """The caller's key may not use that dataset (HTTP 403)."""


class Conflict(RuntimeError):
    """Not possible in the run's present state (HTTP 409)."""


def _records():
    import fiftyone.core.odm as foodm

    return foodm.get_db_conn()[COLLECTION]


def _now():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def target(key, dataset_name, view_name=None):
    """The dataset (or its saved view) a request names, checked against the key."""
    import fiftyone as fo

    from gridtsne.serve.keys import allows

    if not isinstance(dataset_name, str) or not dataset_name:
        raise GridError('the body needs "dataset": the name of a FiftyOne dataset')
    if not fo.dataset_exists(dataset_name):
        raise NotFound("no dataset named %r" % dataset_name)
    if not allows(key, dataset_name):
        raise Forbidden("key %r may not use dataset %r" % (key["name"], dataset_name))
    dataset = fo.load_dataset(dataset_name)
    if view_name is None:
        return dataset
    if not isinstance(view_name, str) or not dataset.has_saved_view(view_name):
        raise NotFound("dataset %r has no saved view %r (it has: %s)" % (
            dataset_name, view_name, ", ".join(dataset.list_saved_views()) or "none"))
    return dataset.load_saved_view(view_name)


def create(key, body):
    """Queues the run a POST body asks for; returns its record."""
    from gridtsne.fo.delegated import queue_grid

    options = body.get("options") or {}
    if not isinstance(options, dict):
        raise GridError('"options" must be an object of compute_grid options')
    known = {f.name for f in dataclasses.fields(GridConfig)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise GridError("unknown option %r: the options are those of compute_grid (%s)"
                        % (unknown[0], ", ".join(sorted(known - {"key", "output_dir"}))))
    if "key" in options or "output_dir" in options:
        raise GridError('"key" is given beside "options", and the server chooses the '
                        'output folder: leave <%s> out of "options"'
                        % ("key" if "key" in options else "output_dir"))
    samples = target(key, body.get("dataset"), body.get("view"))
    # a key of its own by default: runs asked for at once never share fields
    run_key = body.get("key") or "api_%s" % secrets.token_hex(4)
    if not isinstance(run_key, str):
        raise GridError('"key" must be a string, the run key')
    op_id = queue_grid(samples, key=run_key, **options)
    record = {"_id": op_id, "owner": key["name"], "dataset": samples._root_dataset.name,
              "view": body.get("view"), "key": run_key, "created_at": _now(), "files": None}
    _records().insert_one(record)
    return record


def find(key, op_id):
    """The caller's record of ``op_id`` (404 for anything else, ids of other
    keys' runs included: their existence is not the caller's business)."""
    from gridtsne.serve.keys import allows

    record = _records().find_one({"_id": op_id}) if ID.match(op_id or "") else None
    if record is None or record["owner"] != key["name"]:
        raise NotFound("no visualization with id %r" % op_id)
    if not allows(key, record["dataset"]):
        raise Forbidden("key %r may not use dataset %r" % (key["name"], record["dataset"]))
    return record


def page_of(key, page=1, per_page=20):
    """(records of the caller, newest first, on ``page``; total count)."""
    query = {"owner": key["name"]}
    if key["datasets"] is not None:
        query["dataset"] = {"$in": key["datasets"]}
    total = _records().count_documents(query)
    cursor = _records().find(query, sort=[("created_at", -1), ("_id", -1)],
                             skip=(page - 1) * per_page, limit=per_page)
    return list(cursor), total


def _run_files(record):
    import fiftyone as fo

    from gridtsne.fo.runs import load_grid

    dataset = fo.load_dataset(record["dataset"])
    dataset.reload()  # a worker, not this process, wrote the run
    results = load_grid(dataset, record["key"])
    return {"run_dir": results.run_dir, "image": results.mosaic_path,
            "layout": results.layout_path, "tiles": results.tiles_path,
            "rows": results.rows, "cols": results.cols, "samples": results.n_samples}


def state(record):
    """{status, progress, stage, error, files}: what the run's operation says
    now (a run whose worker is gone is failed here, never left running)."""
    if record.get("files"):
        return {"status": READY, "progress": 1.0, "stage": None, "error": None,
                "files": record["files"]}
    op = operations.find_operation(record["_id"])
    if op is None:
        return {"status": FAILED, "progress": None, "stage": None, "files": None,
                "error": "its operation was deleted from FiftyOne's queue"}
    if worker.fail_if_orphaned(op):
        op = operations.find_operation(record["_id"])  # now failed, with the reason
    now = operations.status_of(op)
    status = STATES.get(now["state"], PENDING)
    out = {"status": status, "progress": now.get("progress"), "stage": now.get("label"),
           "error": now.get("error"), "files": None}
    if status == READY:
        try:
            files = _run_files(record)
        except (GridError, ValueError) as e:
            return dict(out, status=FAILED, error="its run is gone: %s" % e)
        _records().update_one({"_id": record["_id"]}, {"$set": {"files": files}})
        out.update(progress=1.0, stage=None, files=files)
    elif status == PENDING:
        out["progress"] = 0.0
    return out


def refreshed_files(record):
    """The run's files again (after a regrid moved them), stored in the record."""
    files = _run_files(record)
    _records().update_one({"_id": record["_id"]}, {"$set": {"files": files}})
    return files


def delete(key, op_id):
    """Deletes a visualization: a pending one leaves the queue, a finished one
    is deleted as ``delete_grid`` does; a running one cannot be (409)."""
    import fiftyone as fo
    from bson import ObjectId
    from fiftyone.operators.delegated import DelegatedOperationService

    from gridtsne.fo.runs import delete_grid, list_grids

    record = find(key, op_id)
    now = state(record)
    if now["status"] == RUNNING:
        raise Conflict("visualization %s is running: delete it when it is ready or failed"
                       % op_id)
    service = DelegatedOperationService()
    if now["status"] == PENDING:
        service.delete_operation(ObjectId(op_id))
    elif now["status"] == READY and fo.dataset_exists(record["dataset"]):
        dataset = fo.load_dataset(record["dataset"])
        dataset.reload()
        if record["key"] in list_grids(dataset):
            delete_grid(dataset, record["key"])
    if operations.find_operation(op_id) is not None:
        service.delete_operation(ObjectId(op_id))
    _records().delete_one({"_id": op_id})


def all_ids():
    return [r["_id"] for r in _records().find({}, {"_id": 1})]


def inside(path, folder):
    """Whether ``path`` (links resolved) lies in ``folder``: no file outside a
    run's own folder is ever served."""
    if not path or not folder:
        return False
    real, root = os.path.realpath(path), os.path.realpath(folder)
    return os.path.commonpath([real, root]) == root and os.path.isfile(real)
