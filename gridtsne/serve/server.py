"""``gridtsne serve``: Hypercorn serving the API, and N workers beside it.

The workers are child processes (:mod:`gridtsne.serve.worker`), so one command
serves a single machine; ``--workers 0`` leaves the queue to ``fiftyone
delegated launch`` workers elsewhere. SIGINT or SIGTERM stops the server, then
its workers (each marks the run it had failed), waits for them, kills any
that linger, and fails what a killed one left running: no process and no
"running" run is left behind. The same sweep runs when the server starts,
for what a server that was killed outright left.
"""

import asyncio
import logging
import os
import signal
import subprocess
import sys

logger = logging.getLogger("gridtsne.serve")

STOP_WAIT_SECONDS = 20
WATCH_SECONDS = 1.0  # how often the server looks for a worker that died


def start_workers(n):
    return [subprocess.Popen([sys.executable, "-m", "gridtsne.serve.worker"],
                             env=dict(os.environ)) for _ in range(n)]


def replace_dead(workers):
    """Starts a new worker for each that died (reaping it, so its run is seen
    as orphaned at once), keeping N running."""
    for i, proc in enumerate(workers):
        if proc.poll() is not None:
            logger.warning("worker %d exited (%s); starting another", proc.pid, proc.returncode)
            sweep()
            workers[i] = start_workers(1)[0]


def stop_workers(workers):
    for proc in workers:
        if proc.poll() is None:
            proc.terminate()
    for proc in workers:
        try:
            proc.wait(timeout=STOP_WAIT_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def sweep():
    """Fails the API's runs whose worker on this machine is gone."""
    from gridtsne.serve import visualizations, worker

    failed = worker.sweep(visualizations.all_ids())
    if failed:
        logger.warning("%d run(s) whose worker had gone are now reported failed", failed)


async def _listening(host, port, server, timeout=30):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not server.done() and loop.time() < deadline:
        try:
            _, writer = await asyncio.open_connection(host, port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)


def serve(host="127.0.0.1", port=8151, workers=1, ready=None):
    """Serves until SIGINT or SIGTERM; ``ready(url)`` is called once it listens."""
    from hypercorn.asyncio import serve as hypercorn_serve
    from hypercorn.config import Config

    from gridtsne.serve.api import make_app

    sweep()
    config = Config()
    config.bind = ["%s:%d" % (host, port)]
    config.accesslog = None
    config.graceful_timeout = 5
    procs = start_workers(workers)

    async def main():
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stopping.set)
        server = asyncio.ensure_future(hypercorn_serve(make_app(), config,
                                                       shutdown_trigger=stopping.wait))
        if ready is not None:
            await _listening(host, port, server)
            ready("http://%s:%d" % (host, port))
        while not server.done():
            await asyncio.wait([server], timeout=WATCH_SECONDS)
            if not stopping.is_set():
                await loop.run_in_executor(None, replace_dead, procs)
        server.result()

    try:
        asyncio.run(main())
    finally:
        stop_workers(procs)
        sweep()
