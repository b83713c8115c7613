"""The server's workers: FiftyOne's delegated-operation queue, taken in a loop.

A worker is ``fiftyone delegated launch`` narrowed to the plugin's operators,
with one thing added: it claims each operation with a ``run_link`` naming
itself (``gridtsne-worker://HOST/PID``), so the operation says which process
runs it. That is how a run is never left "running" by a worker that is gone:
stopped with SIGTERM or SIGINT, a worker marks its operation failed before it
exits; killed outright, the next look at the run (the server's status, its
start and stop) finds the process gone and marks it failed then.
"""

import logging
import os
import signal
import socket
import sys
import time

from gridtsne.fo import uris

logger = logging.getLogger(__name__)

SCHEME = "gridtsne-worker://"
POLL_SECONDS = 0.5
STOPPED = "the gridtsne server stopped while this run was in flight: POST it again"


def link(pid=None):
    return "%s%s/%d" % (SCHEME, socket.gethostname(), pid or os.getpid())


def gone_worker(op):
    """Why a running operation's worker is known to be gone, else None (a
    worker on another machine, or not ours, is never judged from here)."""
    run_link = getattr(op, "run_link", None) or ""
    if not run_link.startswith(SCHEME):
        return None
    host, _, pid = run_link[len(SCHEME):].partition("/")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    import psutil

    gone = "its worker (pid %s on this machine) is gone: %s" % (pid, STOPPED)
    try:
        proc = psutil.Process(int(pid))
        if proc.status() == psutil.STATUS_ZOMBIE:
            return gone
        started = getattr(op, "started_at", None)
        # a process that began after the run did is another one with its pid
        if started is not None and proc.create_time() > _epoch(started) + 1:
            return gone
    except psutil.NoSuchProcess:
        return gone
    except psutil.Error:
        pass
    return None


def _epoch(naive_utc):
    import datetime

    return naive_utc.replace(tzinfo=datetime.timezone.utc).timestamp()


def fail_if_orphaned(op, reason=None):
    """Marks a running operation failed when its worker is gone; returns
    whether it did."""
    from fiftyone.operators.delegated import DelegatedOperationService
    from fiftyone.operators.executor import ExecutionResult, ExecutionRunState

    if op is None or str(op.run_state) != ExecutionRunState.RUNNING:
        return False
    reason = reason or gone_worker(op)
    if not reason:
        return False
    done = DelegatedOperationService().set_failed(
        op.id, result=ExecutionResult(error=reason), required_state=ExecutionRunState.RUNNING)
    return done is not None


def sweep(op_ids):
    """Fails the operations among ``op_ids`` whose worker is gone."""
    from gridtsne.fo.operations import find_operation

    return sum(fail_if_orphaned(find_operation(i)) for i in op_ids)


def _ours(op):
    return str(op.operator).startswith(uris.PLUGIN + "/")


def serve_queue(poll=POLL_SECONDS):
    """Executes the plugin's queued operations, oldest first, until stopped."""
    from fiftyone.operators.delegated import DelegatedOperationService
    from fiftyone.operators.executor import ExecutionResult, ExecutionRunState

    service = DelegatedOperationService()
    current = {}

    def stop(signum, frame):
        # the operation runs in a thread of FiftyOne's executor, which no
        # exception raised here would stop: say it failed, then leave at once
        # (the journaled writer makes an interrupted write whole again)
        op_id = current.get("id")
        op = service.get(op_id) if op_id is not None else None
        if op is not None and op.run_link == me:  # claimed by this worker, not another
            service.set_failed(op_id, result=ExecutionResult(error=STOPPED),
                               required_state=ExecutionRunState.RUNNING)
        os._exit(0)

    me = link()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while True:
        queued = [op for op in service.list_operations(run_state=ExecutionRunState.QUEUED)
                  if _ours(op)]
        queued.sort(key=lambda op: op.queued_at or 0)
        for op in queued[:1]:
            current["id"] = op.id
            try:
                service.execute_operation(op, run_link=me)
            finally:
                current["id"] = None
        if not queued:
            time.sleep(poll)


def _die_with_parent():
    """Asks Linux to stop this process when the server that started it dies,
    even by SIGKILL, so no worker outlives its server."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def main():
    logging.basicConfig(level=logging.INFO, format="gridtsne worker %(process)d: %(message)s")
    _die_with_parent()
    if os.getppid() == 1:  # the server died before prctl took effect
        return 0
    serve_queue()
    return 0


if __name__ == "__main__":
    sys.exit(main())
