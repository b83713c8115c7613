"""One FiftyOne delegated operation, as gridtsne reports it."""


def find_operation(op_id):
    """The delegated operation ``op_id``, or None when there is none (FiftyOne
    raises for a missing id)."""
    from bson import ObjectId
    from fiftyone.operators.delegated import DelegatedOperationService

    try:
        return DelegatedOperationService().get(ObjectId(op_id))
    except ValueError:
        return None


def operation_status(op_id):
    """A dict: id, state, progress (0-1 or None), label, key and, when it
    ended, its outputs and mosaic_path, or its error's last line."""
    doc = find_operation(op_id)
    if doc is None:
        raise ValueError("No delegated operation with id %s" % op_id)
    return status_of(doc)


def status_of(doc):
    """:func:`operation_status` of an operation already read."""
    out = {
        "id": str(doc.id),
        "state": str(doc.run_state),
        "progress": getattr(doc.status, "progress", None),
        "label": getattr(doc.status, "label", None),
        "key": (doc.context.request_params.get("params") or {}).get("key")
        if doc.context else None,
    }
    if doc.result is not None:
        if doc.result.result:
            out["outputs"] = doc.result.result
            out["mosaic_path"] = doc.result.result.get("mosaic_path")
        if doc.result.error:
            out["error"] = last_line(doc.result.error)
    return out


def last_line(error):
    """The exception line of a traceback: what a user needs to read."""
    lines = [line for line in str(error).strip().splitlines() if line.strip()]
    return lines[-1] if lines else str(error)
