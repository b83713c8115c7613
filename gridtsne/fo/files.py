"""A run's files: its own folder, private staging, and removing only what it wrote.

Every run writes into ``<output_dir>/<key>/``, a folder it claims with a marker
file naming the dataset and key: a folder that holds anything else is refused,
so a run never overwrites or deletes a file it did not write, and two keys
never share files. A run attempt renders into a private staging folder inside
its run folder; the writer moves the files into place during its commit and
moves them back if the commit fails (see :mod:`gridtsne.fo.writer`).
"""

import csv
import json
import os
import re
import shutil
import tempfile

from gridtsne.config import GridError
from gridtsne.core import owner

MARKER = ".gridtsne-run.json"
STAGING_PREFIX = ".staging-"
CACHE_DIR = ".embedding-cache"
FRAMES_DIR = "frames"  # video frames the run sampled
# files a run writes at the top of its folder; the pyramid goes to tiles-<version>/
RUN_FILES = ("mosaic.jpg", "mosaic.png", "layout.csv", "skipped.csv")
TILES_PATTERN = re.compile(r"^tiles-[0-9a-f]{8,32}$")
_TILE_FILE = re.compile(r"^\d+_\d+\.jpg$")


def default_output_dir(dataset):
    import fiftyone as fo

    return os.path.join(fo.config.default_dataset_dir, "gridtsne",
                        "dataset_%s" % dataset._doc.id)


def run_dir_for(dataset, key, output_dir=None):
    parent = os.path.expanduser(output_dir) if output_dir else default_output_dir(dataset)
    return os.path.abspath(os.path.join(parent, key))


def read_marker(folder):
    try:
        with open(os.path.join(folder, MARKER)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def claim_run_dir(folder, dataset, key):
    """Makes ``folder`` the run's own; returns True when it was created now.

    Raises:
        GridError: the folder holds files of something else
    """
    marker = read_marker(folder)
    if marker is not None and not _dataset_exists(marker.get("dataset_id")):
        marker = None  # its dataset was deleted: the folder is free to take over
    elif marker is not None:
        if marker.get("dataset_id") != str(dataset._doc.id) or marker.get("key") != key:
            raise GridError(
                "Folder %s belongs to grid run %r of dataset %r; choose another "
                "<output_dir> or <key>" % (folder, marker.get("key"), marker.get("dataset")))
        return False
    created = not os.path.exists(folder)
    if not created and read_marker(folder) is None:
        if not os.path.isdir(folder):
            raise GridError("Cannot use %s as the run's folder: it is a file" % folder)
        if os.listdir(folder):
            raise GridError(
                "Folder %s already exists and holds files gridtsne did not write; choose "
                "another <output_dir> or <key> (a run only writes into a folder of its own)"
                % folder)
    try:
        os.makedirs(folder, exist_ok=True)
        write_json_atomic(os.path.join(folder, MARKER), {
            "dataset_id": str(dataset._doc.id), "dataset": dataset.name, "key": key,
            "note": "gridtsne keeps this run's files here; deleting the run removes only "
                    "the files it wrote",
        })
    except OSError as e:
        raise GridError("Cannot write to the run's folder %s: %s" % (folder, e)) from None
    return created


def _dataset_exists(dataset_id):
    from bson import ObjectId
    import fiftyone.core.odm as foo

    try:
        return foo.get_db_conn().datasets.find_one({"_id": ObjectId(dataset_id)},
                                                    {"_id": 1}) is not None
    except Exception:  # a malformed marker: someone else's file, keep it
        return True


def release_run_dir(folder):
    """Removes a claimed folder that holds nothing but its marker (a failed first run)."""
    try:
        if sorted(os.listdir(folder)) == [MARKER]:
            os.remove(os.path.join(folder, MARKER))
            os.rmdir(folder)
    except OSError:
        pass


def write_json_atomic(path, obj):
    tmp = "%s.%d.tmp" % (path, os.getpid())
    try:
        with open(tmp, "w") as f:
            json.dump(obj, f, indent=1)
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise


class Staging:
    """A run attempt's private folder: ``new/`` holds what it rendered,
    ``old/`` what it replaced, until the commit is finished or undone."""

    def __init__(self, run_dir, path=None):
        """A new staging folder, or (``path``) one a journal names, to undo it."""
        self.run_dir = run_dir
        self._owner = None
        if path is None:
            path = tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=run_dir)
            # held while this process lives (see sweep_stale_staging)
            self._owner = owner.hold(path)
            os.makedirs(os.path.join(path, "new"))
            os.makedirs(os.path.join(path, "old"))
        self.path = path
        self.new = os.path.join(self.path, "new")
        self.old = os.path.join(self.path, "old")

    def new_path(self, name):
        return os.path.join(self.new, name)

    def names(self):
        return sorted(os.listdir(self.new))

    def install(self, names, tiles_name=None):
        """Moves the staged files into the run folder, keeping what they replace.

        ``tiles_name`` is where the staged ``tiles`` pyramid goes (a fresh
        ``tiles-<version>`` name, so it never meets an older pyramid).
        """
        for name in names:
            src = os.path.join(self.new, name)
            dest = os.path.join(self.run_dir, tiles_name if name == "tiles" else name)
            if name != "tiles" and os.path.lexists(dest):
                os.replace(dest, os.path.join(self.old, name))
            os.replace(src, dest)
        for name in RUN_FILES:  # files of the old run that the new one does not have
            dest = os.path.join(self.run_dir, name)
            if name not in names and os.path.isfile(dest):
                os.replace(dest, os.path.join(self.old, name))

    def undo(self, names, tiles_name=None):
        """Puts the old files back and removes the installed ones (idempotent)."""
        if not os.path.isdir(self.new):
            return  # nothing here tells which files were installed: touch none
        for name in names:
            installed = os.path.join(self.run_dir, tiles_name if name == "tiles" else name)
            if os.path.lexists(os.path.join(self.new, name)):
                continue  # never installed
            if name == "tiles":
                remove_pyramid(installed)
            elif os.path.lexists(installed):
                os.remove(installed)
        for name in os.listdir(self.old):
            os.replace(os.path.join(self.old, name), os.path.join(self.run_dir, name))

    def discard(self):
        shutil.rmtree(self.path, ignore_errors=True)
        if self._owner is not None:
            self._owner.close()
            self._owner = None


def sweep_stale_staging(run_dir, keep=()):
    """Removes staging folders of processes that died before their commit
    (their owner lock is free); ``keep``: folders a journal still needs."""
    if not os.path.isdir(run_dir):
        return
    for name in os.listdir(run_dir):
        path = os.path.join(run_dir, name)
        if name.startswith(STAGING_PREFIX) and path not in keep:
            owner.remove_if_abandoned(path)


def remove_pyramid(folder):
    """Removes a Deep Zoom pyramid that gridtsne wrote, and nothing else in it."""
    if not folder or not os.path.isdir(folder):
        return
    _remove(os.path.join(folder, "mosaic.dzi"))
    files = os.path.join(folder, "mosaic_files")
    if os.path.isdir(files):
        for level in os.listdir(files):
            level_dir = os.path.join(files, level)
            if level.isdigit() and os.path.isdir(level_dir):
                for name in os.listdir(level_dir):
                    if _TILE_FILE.match(name):
                        _remove(os.path.join(level_dir, name))
                _rmdir(level_dir)
        _rmdir(files)
    _rmdir(folder)


def remove_run_files(run_dir):
    """Removes everything a run wrote into its folder; the user's files stay,
    and so does the folder when they are in it."""
    if not run_dir or not os.path.isdir(run_dir):
        return
    for name in RUN_FILES:
        _remove(os.path.join(run_dir, name))
    for name in os.listdir(run_dir):
        path = os.path.join(run_dir, name)
        if TILES_PATTERN.match(name):
            remove_pyramid(path)
        elif name.startswith(STAGING_PREFIX) or name in (CACHE_DIR, FRAMES_DIR):
            shutil.rmtree(path, ignore_errors=True)
    _remove(os.path.join(run_dir, MARKER))
    _rmdir(run_dir)


def write_csv(path, header, rows):
    """Writes a CSV completely or not at all (no half file is ever left)."""
    tmp = "%s.%d.tmp" % (path, os.getpid())
    try:
        with open(tmp, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows(rows)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise


def _remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def _rmdir(path):
    try:
        os.rmdir(path)
    except OSError:
        pass
