"""Test set-up: a throw-away MongoDB and generated images.

The environment is set before FiftyOne is imported, so the suite never touches
the user's database or ~/fiftyone. The suite starts its own mongod (the
embedded one's binary) on a free loopback port and points
FIFTYONE_DATABASE_URI at it: FiftyOne's embedded service would otherwise join
a database service that another FiftyOne process (say, the user's App)
already runs. With FIFTYONE_DATABASE_URI set, that database is used instead
(datasets here are uniquely named and deleted afterwards).
"""

import atexit
import importlib.util
import os
import shutil
import socket
import subprocess
import tempfile
import time

_ROOT = tempfile.mkdtemp(prefix="gridtsne-tests-")
os.environ["FIFTYONE_DO_NOT_TRACK"] = "true"
os.environ["FIFTYONE_DATABASE_VALIDATION"] = "false"
os.environ["FIFTYONE_DEFAULT_DATASET_DIR"] = os.path.join(_ROOT, "fiftyone")


def _start_mongod(root):
    fiftyone_dir = os.path.dirname(importlib.util.find_spec("fiftyone").origin)
    mongod = os.path.join(fiftyone_dir, "db", "bin", "mongod")
    if not os.access(mongod, os.X_OK):
        raise RuntimeError(
            "No mongod at %s and FIFTYONE_DATABASE_URI is unset: run `make setup`" % mongod
        )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dbpath = os.path.join(root, "db")
    os.makedirs(dbpath)
    proc = subprocess.Popen(
        [mongod, "--dbpath", dbpath, "--port", str(port), "--bind_ip", "127.0.0.1",
         "--nounixsocket", "--logpath", os.path.join(root, "mongod.log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 120
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("mongod did not start; see %s/mongod.log" % root)
            time.sleep(0.2)

    def stop():
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(root, ignore_errors=True)

    atexit.register(stop)
    return "mongodb://127.0.0.1:%d" % port


if not os.environ.get("FIFTYONE_DATABASE_URI"):
    os.environ["FIFTYONE_DATABASE_URI"] = _start_mongod(_ROOT)
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


def make_dataset_of(folder, items=None):
    """A non-persistent dataset of the images under ``folder`` (or of
    ``items``, [(path, label)]), labelled by their folder's name."""
    import fiftyone as fo

    items = items or [
        (os.path.join(root, f), os.path.basename(root))
        for root, _, files in os.walk(folder)
        for f in sorted(files)
    ]
    ds = fo.Dataset("gridtsne-test-" + uuid.uuid4().hex[:8])
    ds.add_samples(
        [fo.Sample(filepath=p, ground_truth=fo.Classification(label=l)) for p, l in sorted(items)]
    )
    return ds


@pytest.fixture
def make_dataset(shapes_dir):
    """Builds non-persistent datasets of the shapes; deletes them afterwards."""
    made = []

    def make(folder=None, items=None):
        ds = make_dataset_of(folder or shapes_dir, items)
        made.append(ds)
        return ds

    yield make
    for ds in made:
        if not ds.deleted:
            ds.delete()


@pytest.fixture
def dataset(make_dataset):
    return make_dataset()


HOLD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hold.py")


class Held:
    """A gridtsne process held at one write step (see tests/hold.py)."""

    def __init__(self, step, command, *args, tmp_path, env=None):
        import sys

        self.step = step
        self.release_file = str(tmp_path / ("release-%s-%s" % (step, uuid.uuid4().hex[:6])))
        self.proc = subprocess.Popen(
            [sys.executable, HOLD, step, self.release_file, command, *args],
            env=dict(os.environ, **(env or {})), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        self.stderr = []

    def wait_held(self, timeout=600):
        """Reads stderr until the process holds; fails with its output if it ends."""
        import select

        deadline = time.time() + timeout
        while time.time() < deadline:
            ready, _, _ = select.select([self.proc.stderr], [], [], 1)
            if ready:
                line = self.proc.stderr.readline()
                if not line:
                    break
                self.stderr.append(line)
                if line.startswith("GRIDTSNE_HOLD %s" % self.step):
                    return self
        out, err = self.proc.communicate(timeout=60)
        raise AssertionError("never held at %s (exit %s):\n%s%s\n%s" % (
            self.step, self.proc.returncode, "".join(self.stderr), err, out))

    def release(self):
        open(self.release_file, "w").close()

    def finish(self, timeout=600):
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out, "".join(self.stderr) + err


def legend_of(results):
    """The legend of the label colours as rendered into the run's mosaic."""
    return {name: "rgb(%d,%d,%d)" % tuple(rgb) for name, rgb in results.legend}
