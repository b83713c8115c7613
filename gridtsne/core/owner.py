"""Folders owned by a living process, told apart from those left by dead ones.

A process that works in a folder holds an exclusive ``flock`` on the folder's
``.owner`` file for as long as it lives; the kernel releases it when the
process ends, however it ends (SIGKILL included). So a folder whose lock can be
taken was left behind, and can be removed without a pid check that a reused
pid or another host would fool.
"""

import fcntl
import os
import shutil

OWNER_FILE = ".owner"


def hold(folder):
    """Takes ``folder`` for this process; returns the open lock file (keep it
    open while working), or None when a living process holds it."""
    os.makedirs(folder, exist_ok=True)
    handle = open(os.path.join(folder, OWNER_FILE), "a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def remove_if_abandoned(folder):
    """Removes ``folder`` unless a living process holds it; True if removed."""
    handle = hold(folder) if os.path.isdir(folder) else None
    if handle is None:
        return False
    with handle:
        shutil.rmtree(folder, ignore_errors=True)
    return True
