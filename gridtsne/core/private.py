"""Folders only this user can touch, for what gridtsne keeps outside a run's
own folder (the panel's cell files and colourings, the ONNX models).

A predictable path is a trap on a shared machine: another local user can
create it first (owned by them, open to all) or make it a symbolic link to a
folder of theirs, and then read or plant what we write there. So a folder is
made with an exclusive, non-following ``mkdir`` and checked before every use:
a real folder (not a link), owned by this user, with no access for group or
others, below folders that nobody else can rename or replace. A folder that
fails is never read or written: the product says so once and uses a fresh
private folder of its own for the rest of the process instead. Files in it are
written through an exclusive temporary file and renamed into place, and read
without following links. What each check guards against: docs/security.md.
"""

import atexit
import errno
import logging
import os
import shutil
import stat
import tempfile
import threading

logger = logging.getLogger(__name__)

_fallbacks = {}  # refused folder -> the fresh private one used instead
_lock = threading.Lock()


class UnsafeFolder(OSError):
    """A folder gridtsne will not read or write (the message says why)."""


def cache_root():
    """The user's own cache folder for gridtsne: ``$GRIDTSNE_CACHE`` or
    ``~/.cache/gridtsne``."""
    return os.environ.get("GRIDTSNE_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "gridtsne")


def check_folder(path):
    """Raises :class:`UnsafeFolder` unless ``path`` is a real folder owned by
    this user that nobody else can change, nor rename or replace through the
    folders above it; one that others could only list is closed (0700)."""
    path = os.path.abspath(path)
    try:
        st = os.lstat(path)
    except OSError as e:
        raise UnsafeFolder(e.errno, "%s: %s" % (path, e.strerror)) from None
    if stat.S_ISLNK(st.st_mode):
        raise UnsafeFolder(errno.EPERM, "%s is a symbolic link" % path)
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafeFolder(errno.ENOTDIR, "%s is not a folder" % path)
    if st.st_uid != os.geteuid():
        raise UnsafeFolder(errno.EPERM, "%s belongs to another user (uid %d)"
                           % (path, st.st_uid))
    if st.st_mode & 0o022:
        raise UnsafeFolder(errno.EPERM, "%s is open to other users (mode %03o)"
                           % (path, st.st_mode & 0o777))
    _check_parents(path)
    if st.st_mode & 0o077:
        # ours and writable by nobody else (e.g. made by an older gridtsne under
        # umask 022): nothing can have been planted, so closing it is enough
        os.chmod(path, 0o700, follow_symlinks=False)


def _check_parents(path):
    """Every folder above ``path`` (and every link on the way) belongs to
    root or this user, and is writable by others only with the sticky bit
    (like /tmp), so nobody else can move ``path`` away or swap it."""
    seen = set()
    todo = [os.path.dirname(path)]
    while todo:
        folder = todo.pop()
        while folder not in seen:
            seen.add(folder)
            st = os.lstat(folder)
            if st.st_uid not in (0, os.geteuid()):
                raise UnsafeFolder(errno.EPERM, "%s, above %s, belongs to another user "
                                   "(uid %d)" % (folder, path, st.st_uid))
            if stat.S_ISLNK(st.st_mode):
                todo.append(os.path.realpath(folder))
            elif st.st_mode & 0o022 and not st.st_mode & stat.S_ISVTX:
                raise UnsafeFolder(errno.EPERM, "%s, above %s, is writable by other users"
                                   % (folder, path))
            parent = os.path.dirname(folder)
            if parent == folder:
                break
            folder = parent


def private_folder(path, purpose):
    """``path`` made if missing (mode 0700, never through a link) and checked
    (see :func:`check_folder`); when it fails, a fresh private temporary
    folder used for ``purpose`` for the rest of this process, said once."""
    path = os.path.abspath(path)
    try:
        _make(path)
        check_folder(path)
        return path
    except OSError as e:
        with _lock:
            if path not in _fallbacks:
                fresh = tempfile.mkdtemp(prefix="gridtsne-%s-" % purpose.replace(" ", "-"))
                atexit.register(shutil.rmtree, fresh, True)
                _fallbacks[path] = fresh
                logger.warning("gridtsne does not use %s for its %s: %s. It uses a fresh "
                               "private folder for this process instead (%s).", path, purpose,
                               e, fresh)
            return _fallbacks[path]


def _make(path):
    """Creates the missing folders of ``path``, each 0700, each with a
    ``mkdir`` that fails on anything already there (a link included)."""
    missing = []
    folder = path
    while not os.path.lexists(folder):
        missing.append(folder)
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:
            continue  # made meanwhile: check_folder judges the last one
        os.chmod(folder, 0o700)  # ours, just made: the umask may have taken bits away


def write_file(folder, name, data):
    """Writes ``data`` to ``folder/name`` so that no reader ever sees half a
    file: an exclusive temporary file (mode 0600) renamed into place."""
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix="-" + name)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, os.path.join(folder, name))
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise


def read_file(path):
    """The bytes of ``path``, a regular file of this user's, opened without
    following a link; None when it is missing or anything else."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
            return None
        return f.read()
