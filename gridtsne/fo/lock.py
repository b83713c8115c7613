"""A per-dataset write lock in FiftyOne's own MongoDB.

FiftyOne saves a dataset's document (field schema, runs, brain runs) as a
whole, so two processes adding fields or runs to the same dataset at the same
moment can overwrite each other's additions. Every gridtsne write phase holds
this lock, and reloads the dataset inside it. The lock lives in the database,
so it also works across machines sharing one MongoDB; a holder that died is
detected (same host, dead pid) or expires after a heartbeat stops.
"""

import contextlib
import datetime
import os
import socket
import threading
import time
import uuid

COLLECTION = "gridtsne_locks"
TTL_SECONDS = 60
HEARTBEAT_SECONDS = 10


def _now():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def dataset_lock(dataset, timeout=900):
    """Holds the write lock of ``dataset`` for the ``with`` block."""
    import pymongo.errors

    import fiftyone.core.odm as foo

    coll = foo.get_db_conn()[COLLECTION]
    lock_id = str(dataset._doc.id)
    owner = uuid.uuid4().hex
    host = socket.gethostname()
    deadline = time.time() + timeout
    while True:
        try:
            coll.insert_one({
                "_id": lock_id, "owner": owner, "host": host, "pid": os.getpid(),
                "expires": _now() + datetime.timedelta(seconds=TTL_SECONDS),
            })
            break
        except pymongo.errors.DuplicateKeyError:
            held = coll.find_one({"_id": lock_id})
            if held is not None and (
                held["expires"] < _now()
                or (held.get("host") == host and not _alive(held.get("pid", -1)))
            ):
                coll.delete_one({"_id": lock_id, "owner": held["owner"]})
                continue
            if time.time() > deadline:
                raise TimeoutError(
                    "Dataset %r is being written by another gridtsne run (pid %s on %s)"
                    % (dataset.name, held and held.get("pid"), held and held.get("host"))
                )
            time.sleep(0.2)

    stop = threading.Event()

    def heartbeat():
        while not stop.wait(HEARTBEAT_SECONDS):
            coll.update_one(
                {"_id": lock_id, "owner": owner},
                {"$set": {"expires": _now() + datetime.timedelta(seconds=TTL_SECONDS)}},
            )

    beat = threading.Thread(target=heartbeat, daemon=True)
    beat.start()
    try:
        yield
    finally:
        stop.set()
        coll.delete_one({"_id": lock_id, "owner": owner})
