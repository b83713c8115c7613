"""A per-dataset write lock in FiftyOne's own MongoDB.

FiftyOne saves a dataset's document (field schema, runs, brain runs) as a
whole, so two processes adding fields or runs to the same dataset at the same
moment can overwrite each other's additions. Every gridtsne write holds this
lock and reloads the dataset inside it. The lock lives in the database, so it
also works across machines sharing one MongoDB. A holder that died is
detected (same host, dead pid) or its lock expires TTL_SECONDS after its
heartbeat stopped. A holder whose heartbeat cannot renew the lock in time
learns it (``lost``), and :meth:`HeldLock.assert_held` refuses to let it
commit: someone else may own the dataset by then.
"""

import contextlib
import datetime
import logging
import os
import socket
import threading
import time
import uuid

COLLECTION = "gridtsne_locks"
TTL_SECONDS = 60
HEARTBEAT_SECONDS = 10
RETRY_SECONDS = 2

logger = logging.getLogger(__name__)
_held = threading.local()  # lock id -> HeldLock, for re-entry by the same thread


class LockLostError(RuntimeError):
    """The write lock expired or was taken over while this process held it."""


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


def _collection():
    import fiftyone.core.odm as foo

    return foo.get_db_conn()[COLLECTION]


class HeldLock:
    """The lock of one dataset, held by this thread, kept alive by a heartbeat."""

    def __init__(self, coll, lock_id, owner, name):
        self.coll, self.lock_id, self.owner, self.name = coll, lock_id, owner, name
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._beat = threading.Thread(target=self._heartbeat, daemon=True,
                                      name="gridtsne-lock-%s" % lock_id)
        self._beat.start()

    def _renew(self):
        result = self.coll.update_one(
            {"_id": self.lock_id, "owner": self.owner},
            {"$set": {"expires": _now() + datetime.timedelta(seconds=TTL_SECONDS)}},
        )
        return result.matched_count == 1

    def _heartbeat(self):
        renewed = time.monotonic()
        wait = HEARTBEAT_SECONDS
        while not self._stop.wait(wait):
            try:
                if not self._renew():
                    self.lost.set()
                    logger.warning("The write lock of dataset %r was taken over", self.name)
                    return
                renewed, wait = time.monotonic(), HEARTBEAT_SECONDS
            except Exception as e:  # a database hiccup: retry soon, give up at expiry
                if time.monotonic() - renewed > TTL_SECONDS:
                    self.lost.set()
                    logger.warning("The write lock of dataset %r expired: %s", self.name, e)
                    return
                wait = RETRY_SECONDS

    def assert_held(self):
        """Raises :class:`LockLostError` unless the lock is still ours and unexpired."""
        doc = None if self.lost.is_set() else self.coll.find_one(
            {"_id": self.lock_id, "owner": self.owner})
        if doc is None or doc["expires"] < _now():
            self.lost.set()
            raise LockLostError(
                "Lost the write lock of dataset %r (it expired or another process took "
                "it over); nothing more is written" % self.name)

    def release(self):
        self._stop.set()
        self._beat.join(timeout=5)
        self.coll.delete_one({"_id": self.lock_id, "owner": self.owner})


@contextlib.contextmanager
def dataset_lock(dataset, timeout=900):
    """Holds the write lock of ``dataset`` for the ``with`` block; yields a
    :class:`HeldLock`. Re-entrant within one thread."""
    import pymongo.errors

    lock_id = str(dataset._doc.id)
    held = getattr(_held, "locks", None)
    if held is None:
        held = _held.locks = {}
    if lock_id in held:
        yield held[lock_id]
        return

    coll = _collection()
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
            other = coll.find_one({"_id": lock_id})
            if other is not None and stale(other, host):
                coll.delete_one({"_id": lock_id, "owner": other["owner"]})
                continue
            if time.time() > deadline:
                raise TimeoutError(
                    "Dataset %r is being written by another gridtsne run (pid %s on %s)"
                    % (dataset.name, other and other.get("pid"), other and other.get("host")))
            time.sleep(0.2)

    lock = HeldLock(coll, lock_id, owner, dataset.name)
    held[lock_id] = lock
    try:
        yield lock
    finally:
        del held[lock_id]
        lock.release()


def stale(doc, host=None):
    """Whether a lock document belongs to a holder that is gone."""
    host = host or socket.gethostname()
    return doc["expires"] < _now() or (doc.get("host") == host
                                       and not _alive(doc.get("pid", -1)))
