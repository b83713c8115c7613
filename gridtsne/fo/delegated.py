"""Kick off, poll, fetch: grid runs as FiftyOne delegated operations.

``queue_grid`` queues the plugin's ``compute_grid`` operator and returns the
operation id; a worker (``fiftyone delegated launch``, or :func:`run_queued`)
executes it; ``grid_status`` reports queued / running / completed / failed
with progress and, once completed, the mosaic path. With ``shards=N`` the
embedding is split over N operations first (see :mod:`gridtsne.fo.shards`).
"""

from gridtsne.config import GridConfig, GridError
from gridtsne.fo import shards as sharded
from gridtsne.fo.operations import last_line, operation_status  # noqa: F401 (the SDK's)
from gridtsne.fo.uris import COMPUTE_GRID as OPERATOR_URI

NOT_INSTALLED = (
    "The gridtsne FiftyOne plugin is not installed: put this repository (or a "
    "link to it) under FIFTYONE_PLUGINS_DIR, or run `fiftyone plugins download "
    "<repository URL>`"
)


def queue_grid(samples, key="grid", shards=None, **options):
    """Queues a grid run on ``samples`` (dataset or view); returns its id.

    ``options`` are those of ``compute_grid`` (see
    :class:`gridtsne.config.GridConfig`); they are checked now, so a bad
    option fails here rather than in the worker. ``shards`` (N > 1) splits the
    embedding into N delegated operations that any workers may take; the
    layout is queued when the last is done. The id is then the sharded run's,
    which ``grid_status`` follows through shards and layout.
    """
    import fiftyone.core.view as fov
    import fiftyone.operators as foo

    if foo.get_operator(OPERATOR_URI, enabled=True) is None:
        raise RuntimeError(NOT_INSTALLED)
    config = GridConfig(key=key, **options)
    if shards is not None and (isinstance(shards, bool) or not isinstance(shards, int)
                               or shards < 1):
        raise GridError("<shards> must be a whole number of at least 1, got %r" % (shards,))
    if shards is not None and shards > 1:
        return sharded.queue(samples, config, shards)
    ctx = {
        "dataset": samples._root_dataset,
        "params": config.to_params(),
        "request_delegation": True,
    }
    if isinstance(samples, fov.DatasetView):
        ctx["view"] = samples
    result = foo.execute_operator(OPERATOR_URI, ctx=ctx)
    result.raise_exceptions()
    if not result.delegated:
        raise RuntimeError("compute_grid ran immediately instead of being queued")
    return str(result.result["id"])


def grid_status(op_id):
    """A dict: state, progress (0-1 or None), label, and when done
    mosaic_path and outputs, or error. For a sharded run, also ``shards``
    (state, progress, attempts and ``worker``: host and pid, of each) and
    ``layout`` (the layout operation's own status)."""
    if sharded.is_sharded_run(op_id):
        return sharded.status(op_id)
    return operation_status(op_id)


def pending_grids(dataset):
    """Grid runs of ``dataset`` queued or running as delegated operations:
    [{id, key, state, progress, label}], oldest first (the panel lists them)."""
    from fiftyone.operators.delegated import DelegatedOperationService
    from fiftyone.operators.executor import ExecutionRunState

    out = []
    service = DelegatedOperationService()
    for state in (ExecutionRunState.RUNNING, ExecutionRunState.QUEUED,
                  ExecutionRunState.SCHEDULED):
        for doc in service.list_operations(operator=OPERATOR_URI, dataset_id=dataset._doc.id,
                                           run_state=state):
            params = (doc.context.request_params.get("params") or {}) if doc.context else {}
            out.append({
                "id": str(doc.id), "key": params.get("key", "grid"),
                "state": "running" if state == ExecutionRunState.RUNNING else "queued",
                "progress": getattr(doc.status, "progress", None),
                "label": getattr(doc.status, "label", None),
                "queued_at": str(doc.queued_at) if getattr(doc, "queued_at", None) else None,
            })
    return sharded.unfinished(dataset) + sorted(out, key=lambda d: d["queued_at"] or "")


def run_queued(dataset_name=None, limit=None):
    """Executes queued grid runs in this process, oldest first (a one-shot worker)."""
    from fiftyone.operators.delegated import DelegatedOperationService

    return DelegatedOperationService().execute_queued_operations(
        operator=OPERATOR_URI, dataset_name=dataset_name, limit=limit
    )
