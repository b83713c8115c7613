"""Test set-up: a throw-away embedded MongoDB and generated images.

The environment is set before FiftyOne is imported, so the suite never touches
the user's database or ~/fiftyone. With FIFTYONE_DATABASE_URI set, that
database is used instead (datasets here are non-persistent and uniquely named).
"""

import os
import tempfile

_ROOT = tempfile.mkdtemp(prefix="gridtsne-tests-")
os.environ["FIFTYONE_DO_NOT_TRACK"] = "true"
os.environ["FIFTYONE_DATABASE_VALIDATION"] = "false"
os.environ["FIFTYONE_DEFAULT_DATASET_DIR"] = os.path.join(_ROOT, "fiftyone")
if not os.environ.get("FIFTYONE_DATABASE_URI"):
    os.environ["FIFTYONE_DATABASE_DIR"] = os.path.join(_ROOT, "db")
os.environ["FIFTYONE_SHOW_PROGRESS_BARS"] = "false"
# the plugin is discovered the way users install it: a folder under the plugins dir
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_PLUGINS = os.path.join(_ROOT, "plugins")
os.makedirs(_PLUGINS)
os.symlink(REPO, os.path.join(_PLUGINS, "gridtsne"))
os.environ["FIFTYONE_PLUGINS_DIR"] = _PLUGINS

import uuid  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

CLASSES = {
    # label: (shape, colour)
    "red_circle": ("circle", (220, 30, 30)),
    "green_square": ("square", (30, 180, 40)),
    "blue_triangle": ("triangle", (30, 60, 220)),
    "yellow_bar": ("bar", (230, 210, 20)),
}


def draw_shape(shape, color, rng, size=64):
    """One image: a shape of one colour on a noisy light background."""
    bg = rng.integers(200, 256, size=(size, size, 3), dtype=np.uint8)
    img = Image.fromarray(bg, "RGB")
    d = ImageDraw.Draw(img)
    s = int(rng.integers(size // 3, size // 2))
    x, y = (int(v) for v in rng.integers(4, size - s - 4, size=2))
    jitter = tuple(int(c) for c in np.clip(np.array(color) + rng.integers(-20, 21, 3), 0, 255))
    if shape == "circle":
        d.ellipse((x, y, x + s, y + s), fill=jitter)
    elif shape == "square":
        d.rectangle((x, y, x + s, y + s), fill=jitter)
    elif shape == "triangle":
        d.polygon([(x, y + s), (x + s, y + s), (x + s // 2, y)], fill=jitter)
    else:
        d.rectangle((4, y, size - 4, y + max(4, s // 3)), fill=jitter)
    return img


def make_shapes(folder, per_class=10, seed=0):
    """``folder/<label>/<label>_<i>.png``; returns [(path, label)]."""
    rng = np.random.default_rng(seed)
    out = []
    for label, (shape, color) in CLASSES.items():
        os.makedirs(os.path.join(folder, label), exist_ok=True)
        for i in range(per_class):
            path = os.path.join(folder, label, "%s_%02d.png" % (label, i))
            draw_shape(shape, color, rng).save(path)
            out.append((os.path.abspath(path), label))
    return out


@pytest.fixture(scope="session")
def shapes_dir(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("shapes"))
    make_shapes(folder)
    return folder


@pytest.fixture
def make_dataset(shapes_dir):
    """Builds non-persistent datasets of the shapes; deletes them afterwards."""
    import fiftyone as fo

    made = []

    def make(folder=None, items=None):
        items = items or [
            (os.path.join(root, f), os.path.basename(root))
            for root, _, files in os.walk(folder or shapes_dir)
            for f in sorted(files)
        ]
        ds = fo.Dataset("gridtsne-test-" + uuid.uuid4().hex[:8])
        ds.add_samples(
            [
                fo.Sample(filepath=p, ground_truth=fo.Classification(label=l))
                for p, l in sorted(items)
            ]
        )
        made.append(ds)
        return ds

    yield make
    for ds in made:
        if not ds.deleted:
            ds.delete()


@pytest.fixture
def dataset(make_dataset):
    return make_dataset()
