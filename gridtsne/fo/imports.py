"""Getting images into FiftyOne datasets for the CLI and the demo."""

import hashlib
import os
from dataclasses import dataclass, field

import fiftyone as fo
from fiftyone import ViewField as F

from gridtsne.config import GridError
from gridtsne.core.images import list_images
from gridtsne.fo.files import MARKER

# dataset.info key naming the folder a dataset was imported from
SOURCE_INFO = "gridtsne_source"


@dataclass
class Imported:
    """A dataset and what one import added to it, so a failed run can take it back."""

    dataset: object
    created: bool
    added_ids: list = field(default_factory=list)
    undecodable: list = field(default_factory=list)  # file names FiftyOne cannot store
    already: int = 0  # images found that the dataset held before

    def summary(self):
        """One line on what the import did, for the CLI and a log."""
        n = len(self.added_ids)
        return "Dataset %r: %s %d new image%s (%d already there), %d samples in all" % (
            self.dataset.name, "created with" if self.created else "added", n,
            "" if n == 1 else "s", self.already, len(self.dataset))

    def undo(self):
        """Removes what this import added (the whole dataset if it made it)."""
        if self.created:
            if not self.dataset.deleted:
                self.dataset.delete()
        elif self.added_ids:
            self.dataset.delete_samples(self.added_ids)


def dataset_name_for(folder, prefix="gridtsne-"):
    """``gridtsne-<folder name>``, unless a dataset of that name holds another
    folder's images: then a suffix made from this folder's path keeps the two
    apart (two folders named ``images`` are two datasets, never one)."""
    folder = os.path.abspath(folder)
    name = prefix + os.path.basename(folder)
    if fo.dataset_exists(name) and not _imported_from(fo.load_dataset(name), folder):
        name += "-" + hashlib.sha1(folder.encode()).hexdigest()[:8]
    return name


def _imported_from(dataset, folder):
    source = (dataset.info or {}).get(SOURCE_INFO)
    if source is not None:
        return source == folder
    inside = os.path.join(folder, "")
    return all(p.startswith(inside) for p in dataset.values("filepath"))


def import_folder(images_dir, dataset=None, label_field="ground_truth"):
    """Imports the images below ``images_dir`` into a FiftyOne dataset, adding
    only files it does not hold yet (FiftyOne's ``add_dir`` adds every file
    again), with no grid computed; ``update_grid`` then places the new ones.

    Args:
        images_dir: a folder, searched recursively; an image's label is the
            name of its parent folder (none for images directly in it)
        dataset: a dataset, or the name of one (made, persistent, if there
            is none); default ``gridtsne-<folder name>``
        label_field: the Classification field the folder names go to

    Returns:
        an :class:`Imported`: ``dataset``, ``added_ids``, ``already`` (images
        it held before) and ``undecodable`` (file names FiftyOne cannot store)
    """
    if not os.path.isdir(images_dir):
        raise GridError("%r is not a folder" % images_dir)
    if dataset is None:
        dataset = dataset_name_for(images_dir)
    try:
        return folder_dataset(images_dir, dataset, label_field)
    except ValueError as e:
        raise GridError(str(e)) from None


def folder_dataset(images_dir, name, label_field="ground_truth", skip_dirs=()):
    """A persistent dataset of every image below ``images_dir``.

    Labels are the names of the images' parent folders. Re-running on the
    same folder reuses the dataset and adds only new files. Folders of
    gridtsne runs (and ``skip_dirs``) are not imported. ``name`` may also be
    a dataset.

    Returns:
        an :class:`Imported`
    """
    images_dir = os.path.abspath(images_dir)
    paths, undecodable = list_images(images_dir, skip_dirs=skip_dirs, skip_marker=MARKER)
    if not paths:
        raise ValueError("no images found under %r" % images_dir)
    created = isinstance(name, str) and not fo.dataset_exists(name)
    found = len(paths)
    if created:
        dataset = fo.Dataset(name, persistent=True)
        dataset.info[SOURCE_INFO] = images_dir
        dataset.save()
    else:
        dataset = fo.load_dataset(name) if isinstance(name, str) else name
        known = set(dataset.values("filepath"))
        paths = [p for p in paths if p not in known]
    imported = Imported(dataset, created, undecodable=undecodable, already=found - len(paths))
    samples = []
    for p in paths:
        folder = os.path.dirname(p)
        label = os.path.basename(folder) if folder != images_dir else None
        samples.append(fo.Sample(filepath=p, **{
            label_field: fo.Classification(label=label) if label else None}))
    try:
        if samples:
            imported.added_ids = list(dataset.add_samples(samples, progress=False))
    except BaseException:
        if created:
            dataset.delete()
        else:  # some batches may have gone in before the failure
            dataset.delete_samples(dataset.match(F("filepath").is_in(paths)))
        raise
    return imported


def write_digits(folder):
    """scikit-learn's 1,797 8x8 digits as 64x64 PNGs in one folder per digit."""
    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    for i, (img, target) in enumerate(zip(digits.images, digits.target)):
        sub = os.path.join(folder, str(int(target)))
        path = os.path.join(sub, "digit_%04d.png" % i)
        if os.path.exists(path):
            continue
        os.makedirs(sub, exist_ok=True)
        pixels = (255 - img * (255 / 16)).clip(0, 255).astype(np.uint8)
        Image.fromarray(pixels, "L").resize((64, 64), Image.Resampling.BICUBIC).save(path)
    return folder


def digits_dataset(folder, name=None):
    """The demo dataset: the digits written to ``folder`` (see
    :func:`dataset_name_for` for its name). Returns an :class:`Imported`."""
    folder = os.path.abspath(folder)
    name = name or dataset_name_for(folder)
    return folder_dataset(write_digits(folder), name)
