"""Getting images into FiftyOne datasets for the CLI and the demo."""

import hashlib
import os

import fiftyone as fo

from gridtsne.core.images import list_images


def folder_dataset(images_dir, name, label_field="ground_truth"):
    """A persistent dataset of every image below ``images_dir``.

    Labels are the names of the images' parent folders. Re-running on the
    same folder reuses the dataset and adds only new files.
    """
    images_dir = os.path.abspath(images_dir)
    paths = list_images(images_dir)
    if not paths:
        raise ValueError("no images found under %r" % images_dir)
    if fo.dataset_exists(name):
        dataset = fo.load_dataset(name)
        known = set(dataset.values("filepath"))
        paths = [p for p in paths if p not in known]
    else:
        dataset = fo.Dataset(name, persistent=True)
    samples = []
    for p in paths:
        label = os.path.basename(os.path.dirname(p))
        if os.path.dirname(p) == images_dir:
            label = None
        samples.append(
            fo.Sample(
                filepath=p,
                **{label_field: fo.Classification(label=label) if label else None},
            )
        )
    if samples:
        dataset.add_samples(samples, progress=False)
    return dataset


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
    """The demo dataset: the digits written to ``folder``.

    Its default name is ``gridtsne-digits``, unless a dataset of that name
    holds images from another folder (an earlier demo with another output
    folder): then the name gets a suffix for this folder, so that the demo
    never mixes two copies of the digits into one grid.
    """
    folder = os.path.abspath(folder)
    if name is None:
        name = "gridtsne-digits"
        if fo.dataset_exists(name):
            inside = os.path.join(folder, "")
            paths = fo.load_dataset(name).values("filepath")
            if not all(p.startswith(inside) for p in paths):
                name += "-" + hashlib.sha1(folder.encode()).hexdigest()[:8]
    return folder_dataset(write_digits(folder), name)
