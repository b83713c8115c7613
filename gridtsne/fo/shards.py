"""Sharded runs: the embedding split over FiftyOne delegated operations.

``queue_grid(..., shards=N)`` records the run in one document (collection
``gridtsne_sharded_runs`` of FiftyOne's database) and queues N ``embed_shard``
operations. Any ``fiftyone delegated launch`` worker on any machine that
shares the database and sees the media takes them: FiftyOne claims a queued
operation atomically, so gridtsne schedules nothing itself. Shard K embeds the
run's samples whose ids fall in its range (the ids of the view, sorted, cut
into N equal slices when the run is queued) with the default model, in
batches that survive a stopped worker, and writes ``shard-K.npz`` to a folder
beside the run's folder. When the last shard is done the layout (t-SNE,
assignment, refinement, render, write) is queued once, as the plugin's
``compute_grid`` operation, which reads the shard files instead of embedding.

A shard whose operation raises is queued again alone, at most
:data:`MAX_ATTEMPTS` times; then the run fails, naming the shard and the
reason. A worker that dies mid-shard stops its shard's heartbeat (written with
every batch): the next look at the run (``grid_status``, the panel's run list,
a shard finishing) finds a running shard with no heartbeat for
:func:`stale_seconds`, marks its operation failed and queues the shard again;
its finished batches are not embedded again.
"""

import datetime
import logging
import os
import shutil
import socket

import numpy as np

from gridtsne.config import GridConfig, GridError
from gridtsne.fo import operations, uris

logger = logging.getLogger(__name__)

COLLECTION = "gridtsne_sharded_runs"

MAX_ATTEMPTS = 3
DEFAULT_STALE_SECONDS = 180


def stale_seconds():
    """How long a running shard may go without a heartbeat:
    ``$GRIDTSNE_STALE_SECONDS``, read on every look (default 180)."""
    return float(os.environ.get("GRIDTSNE_STALE_SECONDS") or DEFAULT_STALE_SECONDS)

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"


def _runs():
    import fiftyone.core.odm as foodm

    return foodm.get_db_conn()[COLLECTION]


def _now():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def queue(samples, config, n_shards):
    """Records a sharded run of ``samples`` and queues its shards; returns its id."""
    from bson import ObjectId

    from gridtsne.fo import files
    from gridtsne.fo.plan import checked_key

    dataset = samples._root_dataset
    if not config.computes_embeddings or config.model is not None:
        raise GridError("<shards> split the default model's embedding over workers; "
                        "with <embeddings> or <model> there is nothing to split")
    if samples.media_type != "image" or config.patches_field:
        raise GridError("<shards> works on runs of whole images (not objects or frames)")
    checked_key(dataset, config)  # the layout checks everything again when it runs
    ids = sorted(samples.values("id"))
    if len(ids) < 2:
        raise GridError("The view has %d samples; a grid needs at least 2" % len(ids))
    n_shards = max(1, min(int(n_shards), len(ids)))
    starts = [ids[k * len(ids) // n_shards] for k in range(n_shards)]
    run_id = ObjectId()
    parent = os.path.expanduser(config.output_dir) if config.output_dir \
        else files.default_output_dir(dataset)
    doc = {
        "_id": run_id, "dataset_id": str(dataset._doc.id), "dataset_name": dataset.name,
        "key": config.key, "params": config.to_params(),
        "view": samples._serialize() if samples is not dataset else [],
        "folder": os.path.abspath(os.path.join(parent, ".shards", str(run_id))),
        "n": len(ids), "created_at": _now(), "state": RUNNING,
        "shards": [{"index": k, "first_id": starts[k],
                    "end_id": starts[k + 1] if k + 1 < n_shards else None,
                    "state": QUEUED, "attempts": 0, "op_id": None, "worker": None,
                    "beat": None, "progress": 0.0, "error": None}
                   for k in range(n_shards)],
        "layout_op": None, "error": None,
    }
    _runs().insert_one(doc)
    for k in range(n_shards):
        _requeue(doc, k, previous=None)
    return str(run_id)


def _context(doc, params):
    from fiftyone.operators.executor import ExecutionContext

    return ExecutionContext(request_params={
        "dataset_name": doc["dataset_name"], "dataset_id": doc["dataset_id"],
        "view": doc["view"], "params": params, "delegated": True})


def _requeue(doc, k, previous, reason=None):
    """Queues shard ``k`` (again), unless another look already did, or its
    attempts are spent (then the run fails)."""
    from fiftyone.operators.delegated import DelegatedOperationService

    shard = doc["shards"][k]
    if shard["attempts"] >= MAX_ATTEMPTS:
        _runs().update_one({"_id": doc["_id"], "state": RUNNING}, {"$set": {
            "state": FAILED, "shards.%d.state" % k: FAILED,
            "error": "shard %d of %d failed %d times; last: %s"
                     % (k + 1, len(doc["shards"]), shard["attempts"], reason)}})
        return
    claimed = _runs().update_one(
        {"_id": doc["_id"], "shards.%d.op_id" % k: previous},
        {"$set": {"shards.%d.op_id" % k: "queuing", "shards.%d.state" % k: QUEUED,
                  "shards.%d.beat" % k: None, "shards.%d.error" % k: reason},
         "$inc": {"shards.%d.attempts" % k: 1}})
    if not claimed.modified_count:
        return  # another look queued it
    op = DelegatedOperationService().queue_operation(
        uris.EMBED_SHARD, label="gridtsne %s: embed shard %d of %d" % (
            doc["key"], k + 1, len(doc["shards"])),
        context=_context(doc, {"run_id": str(doc["_id"]), "shard": k}))
    _runs().update_one({"_id": doc["_id"]}, {"$set": {"shards.%d.op_id" % k: str(op.id)}})


def _load(run_id):
    from bson import ObjectId

    doc = _runs().find_one({"_id": ObjectId(run_id)})
    if doc is None:
        raise GridError("No sharded grid run with id %s" % run_id)
    return doc


def is_sharded_run(op_id):
    from bson import ObjectId
    from bson.errors import InvalidId

    try:
        return _runs().count_documents({"_id": ObjectId(op_id)}, limit=1) > 0
    except InvalidId:
        return False


# -- a worker's shard ------------------------------------------------------------------

def shard_view(dataset, doc, k):
    """The samples of shard ``k``: the run's view, ids in the shard's range."""
    from bson import ObjectId

    from fiftyone import ViewField as F
    import fiftyone.core.view as fov

    view = fov.DatasetView._build(dataset, doc["view"]) if doc["view"] else dataset.view()
    shard = doc["shards"][k]
    match = F("_id") >= ObjectId(shard["first_id"])
    if shard["end_id"]:
        match = match & (F("_id") < ObjectId(shard["end_id"]))
    return view.match(match)


def run_shard(dataset, run_id, k, op_id=None, progress=None):
    """Embeds shard ``k`` of run ``run_id`` here (the ``embed_shard`` operation)."""
    from gridtsne.core import embed as core_embed

    doc = _load(run_id)
    shard = doc["shards"][k]
    if shard["state"] == DONE or doc["state"] != RUNNING:
        return {"shard": k, "skipped": "already %s" % (
            "done" if shard["state"] == DONE else doc["state"])}
    worker = {"host": socket.gethostname(), "pid": os.getpid(), "op_id": op_id}
    _runs().update_one({"_id": doc["_id"]}, {
        "$set": {"shards.%d.state" % k: RUNNING, "shards.%d.worker" % k: worker,
                 "shards.%d.beat" % k: _now()},
        "$push": {"shards.%d.workers" % k: worker}})
    config = GridConfig.from_params(doc["params"])
    try:
        ids, paths = shard_view(dataset, doc, k).values(["id", "filepath"])

        def beat(fraction):
            _runs().update_one({"_id": doc["_id"]}, {"$set": {
                "shards.%d.beat" % k: _now(), "shards.%d.progress" % k: float(fraction)}})
            if progress is not None:
                progress(fraction)

        os.makedirs(doc["folder"], exist_ok=True)
        features, failures = core_embed.embed_files(
            paths, batch_size=config.batch_size, num_workers=config.num_workers,
            cache_dir=os.path.join(doc["folder"], "batches-%d" % k),
            max_pixels=config.max_pixels, precision=config.precision, progress=beat,
            int8_model=int8_model(doc))
        path = shard_file(doc, k)
        tmp = "%s.%d.tmp.npz" % (path[:-len(".npz")], os.getpid())
        np.savez(tmp, ids=np.asarray(ids), features=features,
                 failed=np.asarray(sorted(failures), dtype=np.int64),
                 reasons=np.asarray([failures[j] for j in sorted(failures)], dtype=str))
        os.replace(tmp, path)
    except Exception as e:
        fresh = _load(run_id)
        if fresh["shards"][k]["op_id"] == shard["op_id"]:  # not already taken over
            _requeue(fresh, k, previous=shard["op_id"],
                     reason="%s: %s" % (type(e).__name__, e))
        raise
    _runs().update_one({"_id": doc["_id"]}, {"$set": {
        "shards.%d.state" % k: DONE, "shards.%d.progress" % k: 1.0,
        "shards.%d.beat" % k: _now()}})
    reconcile(run_id)
    return {"shard": k, "samples": len(ids), "failed": len(failures), "worker": worker}


def int8_model(run):
    """The int8 model file every worker of a sharded run uses (a copy in the
    run's folder, see :func:`gridtsne.core.quantize.shared_int8_model_path`),
    or None when the run is not int8. ``run``: its document or id."""
    from gridtsne.core import quantize

    doc = run if isinstance(run, dict) else _load(run)
    if GridConfig.from_params(doc["params"]).precision != "int8":
        return None
    return quantize.shared_int8_model_path(doc["folder"])


def shard_file(doc, k):
    return os.path.join(doc["folder"], "shard-%d.npz" % k)


# -- watching over a run -----------------------------------------------------------------

def reconcile(run_id):
    """Queues again the shards whose operation failed or whose worker went
    silent, and the layout once every shard is done; returns the run's document."""
    from bson import ObjectId
    from fiftyone.operators.delegated import DelegatedOperationService
    from fiftyone.operators.executor import ExecutionResult, ExecutionRunState


    doc = _load(run_id)
    if doc["state"] != RUNNING or doc["layout_op"]:
        return doc
    service = DelegatedOperationService()
    now = _now()
    for shard in doc["shards"]:
        k, op_id = shard["index"], shard["op_id"]
        if shard["state"] == DONE or op_id in (None, "queuing"):
            continue
        op = service.get(ObjectId(op_id))
        op_state = str(op.run_state) if op is not None else None
        # the last sign of life: its heartbeat, or when a worker took it
        alive_at = shard["beat"] if shard["state"] == RUNNING else (
            getattr(op, "started_at", None) if op_state == ExecutionRunState.RUNNING else None)
        stale = stale_seconds()
        if alive_at is not None and (now - alive_at).total_seconds() > stale:
            who = shard["worker"] if shard["state"] == RUNNING else None
            reason = ("its worker (%s, pid %s) made no progress for %d s"
                      % (who["host"], who["pid"], stale) if who else
                      "the worker that took it never started it (%d s)" % stale)
            if op_state == ExecutionRunState.RUNNING:
                service.set_failed(op.id, result=ExecutionResult(error=reason),
                                   required_state=ExecutionRunState.RUNNING)
            _requeue(doc, k, previous=op_id, reason=reason)
        elif op is None or op_state == ExecutionRunState.FAILED:
            error = (op.result.error if op is not None and op.result is not None else None)
            _requeue(doc, k, previous=op_id, reason=operations.last_line(error or "its operation "
                                                              "was deleted"))
    doc = _load(run_id)
    if doc["state"] == RUNNING and all(s["state"] == DONE for s in doc["shards"]):
        claimed = _runs().update_one({"_id": doc["_id"], "layout_op": None},
                                     {"$set": {"layout_op": "queuing"}})
        if claimed.modified_count:

            op = service.queue_operation(
                uris.COMPUTE_GRID, label="gridtsne %s: layout" % doc["key"],
                context=_context(doc, dict(doc["params"], shard_run=str(doc["_id"]))))
            _runs().update_one({"_id": doc["_id"]}, {"$set": {"layout_op": str(op.id)}})
        doc = _load(run_id)
    return doc


def gathered(run_id, ids):
    """The shards' vectors for the items ``ids``: (features, {j: reason} of
    those that failed, [j] of those no shard embedded (added since queuing))."""
    doc = _load(run_id)
    rows, reasons, parts = {}, {}, []
    for shard in doc["shards"]:
        with np.load(shard_file(doc, shard["index"])) as z:
            part_ids = [str(i) for i in z["ids"]]
            parts.append(z["features"])
            base = sum(len(p) for p in parts[:-1])
            rows.update((i, base + j) for j, i in enumerate(part_ids))
            reasons.update((part_ids[j], str(r)) for j, r in zip(z["failed"], z["reasons"]))
    table = np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)
    features = np.zeros((len(ids), table.shape[1]), np.float32)
    bad, missing = {}, []
    for j, item_id in enumerate(ids):
        if item_id in reasons:
            bad[j] = reasons[item_id]
        elif item_id in rows:
            features[j] = table[rows[item_id]]
        else:
            missing.append(j)
    return features, bad, missing


def finish(run_id):
    """After the layout is written: the run is complete, its shard files go."""
    from bson import ObjectId

    doc = _runs().find_one_and_update({"_id": ObjectId(run_id)},
                                      {"$set": {"state": "completed"}})
    if doc is not None:
        shutil.rmtree(doc["folder"], ignore_errors=True)


def status(run_id):
    """The whole run: per-shard state, progress, attempts and worker, then
    the layout's (see ``grid_status``)."""

    doc = reconcile(run_id)
    shards = [{"index": s["index"], "state": s["state"], "progress": s["progress"],
               "attempts": s["attempts"], "worker": s["worker"],
               "workers": s.get("workers", []), "op_id": s["op_id"], "error": s["error"]}
              for s in doc["shards"]]
    done = sum(s["state"] == DONE for s in shards)
    out = {"id": str(doc["_id"]), "key": doc["key"], "sharded": True, "shards": shards,
           "progress": 0.9 * float(np.mean([s["progress"] for s in shards])),
           "label": "embedding: %d of %d shards done" % (done, len(shards))}
    if doc["state"] == FAILED:
        out.update(state="failed", error=doc["error"])
    elif doc["layout_op"] and doc["layout_op"] != "queuing":
        layout = operations.operation_status(doc["layout_op"])
        out["layout"] = layout
        out.update({k: layout[k] for k in ("state", "outputs", "mosaic_path", "error")
                    if k in layout})
        if layout["state"] == "running":
            out.update(progress=0.9 + 0.1 * (layout.get("progress") or 0.0),
                       label="layout: %s" % (layout.get("label") or "running"))
        elif layout["state"] == "completed":
            out.update(progress=1.0, label="completed")
    else:
        out["state"] = "running" if any(s["state"] in (RUNNING, DONE) for s in shards) \
            else "queued"
    return out


def unfinished(dataset):
    """The dataset's sharded runs still embedding, for the panel's run list."""
    out = []
    for doc in _runs().find({"dataset_id": str(dataset._doc.id), "state": RUNNING,
                             "layout_op": None}, {"_id": 1}):
        s = status(doc["_id"])
        if s["state"] in ("queued", "running") and "layout" not in s:
            out.append({"id": s["id"], "key": s["key"], "state": s["state"],
                        "progress": s["progress"], "label": s["label"], "queued_at": None})
    return out

