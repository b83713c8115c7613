"""The layout after embeddings at N items, stage by stage, as JSON lines.

On precomputed embeddings (``--embeddings FILE.npy``, or clustered synthetic
ones of ``--dim`` dimensions), times and measures the peak memory (RSS of this
process, sampled every 0.2 s) of each stage of a real run: t-SNE, assignment
and refinement (``gridtsne.core.layout``), then, on a FiftyOne dataset of N
samples (made once and kept, their images 1,024 generated tiles used in turn),
the tile pyramid and the FiftyOne writes through gridtsne's one writer
(``render_and_write``). The DPQ_16 metric is timed on its own. Curation is
not part of the layout; ``--curation`` times its stages too, the calls a run
with a label field makes (neighbours, near-duplicates on the tiles' pixels,
outliers, label disagreement on the centre numbers as labels; the images for
the duplicates are distinct variants of recaptcha-dev's tiles, see
``distinct_images``), and
``--no-layout`` times them alone. Each stage prints one line when it ends; the
last line holds them all.

    .venv/bin/python benchmarks/bench_scale.py --n 1000000 [--dim 1280] [--cell-px 16]
    .venv/bin/python benchmarks/bench_scale.py --n 1000000 --curation --no-layout
"""

import argparse
import json
import os
import tempfile
import threading
import time

import numpy as np

from gridtsne.core import grid, reduce, refine
from gridtsne.core import layout as core_layout

TILES = os.path.join(tempfile.gettempdir(), "gridtsne-bench-tiles")
METRIC = "cosine"  # the default


class PeakMemory:
    """The largest RSS seen while a stage runs (sampled: a stage's own peak)."""

    def __init__(self):
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    @staticmethod
    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def _watch(self):
        while not self._stop.wait(0.2):
            self.peak = max(self.peak, self.rss())

    def __enter__(self):
        self.peak = self.rss()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.rss())


def stage(name, figures, fn, *args, **kwargs):
    t = time.perf_counter()
    with PeakMemory() as mem:
        out = fn(*args, **kwargs)
    figures[name] = {"seconds": round(time.perf_counter() - t, 1),
                     "peak_rss_gib": round(mem.peak / 2 ** 30, 2)}
    print(json.dumps({"stage": name, **figures[name]}), flush=True)
    return out


def clustered(n, dim, seed=0):
    """Vectors around 200 centres and their centre numbers (the labels for
    agreement and 10-NN accuracy), made in chunks (no float64 copies)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((200, dim)).astype(np.float32)
    out = np.empty((n, dim), np.float32)
    labels = rng.integers(0, len(centres), n)
    for start in range(0, n, 50_000):
        stop = min(n, start + 50_000)
        out[start:stop] = centres[labels[start:stop]] + 0.6 * rng.standard_normal(
            (stop - start, dim), dtype=np.float32)
    return out, labels


def dataset_of(n):
    """A kept dataset of ``n`` samples whose images cycle over 1,024 tiles."""
    import fiftyone as fo
    from bench_render import tiles

    name = "gridtsne-bench-scale-%d" % n
    if fo.dataset_exists(name):
        ds = fo.load_dataset(name)
        if len(ds) == n:
            return ds
        ds.delete()
    paths = tiles(1024, TILES)
    ds = fo.Dataset(name, persistent=True)
    for start in range(0, n, 100_000):
        ds.add_samples([fo.Sample(filepath=paths[i % len(paths)])
                        for i in range(start, min(n, start + 100_000))], progress=False)
    return ds


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=1280)
    ap.add_argument("--embeddings", help="an (N, D) .npy file instead of synthetic vectors")
    ap.add_argument("--cell-px", type=int, default=16)
    ap.add_argument("--no-fiftyone", action="store_true",
                    help="only the FiftyOne-free stages (t-SNE, assignment, refinement)")
    ap.add_argument("--curation", action="store_true",
                    help="also the curation stages")
    ap.add_argument("--no-layout", action="store_true",
                    help="with --curation: only the curation stages")
    args = ap.parse_args(argv)

    figures = {}
    # the libraries' own imports are not the stages' cost (a run pays them once)
    import openTSNE  # noqa: F401
    import sklearn.decomposition  # noqa: F401
    import sklearn.linear_model  # noqa: F401
    import sklearn.model_selection  # noqa: F401
    if args.embeddings:
        features, labels = np.load(args.embeddings, mmap_mode="r"), None
        n = len(features)
    else:
        n = args.n
        features, labels = stage("make_embeddings", figures, clustered, n, args.dim)
    out = {"n": n, "dim": int(features.shape[1]), "cores": os.cpu_count()}
    if args.curation:
        out["curation"] = curation_stages(features, labels, figures)
    if not args.no_layout:
        out.update(layout_stages(features, labels, args, figures))
    print(json.dumps(dict(out, stages=figures)), flush=True)


def distinct_images():
    """``load(i)``: image i, decoded as a run decodes it for the duplicates'
    check, and distinct from every other up to 98,304 of them: recaptcha-dev's
    tiles (generated tiles where it is missing), each also inverted (2 ways),
    flipped or turned (8) and cut to one of 6 windows of 60% (the whole, four
    corners, the centre), none of which a crop of another can align with."""
    from PIL import Image, ImageOps

    from bench_render import tiles
    from gridtsne.core import duplicates, images

    recaptcha = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                             "..", "shared", "data", "recaptcha-dev")
    paths = images.list_images(recaptcha)[0] if os.path.isdir(recaptcha) else []
    paths = paths or tiles(1024, TILES)
    windows = [None, (0, 0), (0.4, 0), (0, 0.4), (0.4, 0.4), (0.2, 0.2)]

    def load(i):
        img = images.load_rgb(paths[i % len(paths)], min_side=duplicates.THUMB_PX)
        v = i // len(paths)
        if v % 2:
            img = ImageOps.invert(img)
        if (v // 2) % 8:
            img = img.transpose(Image.Transpose((v // 2) % 8 - 1))
        window = windows[(v // 16) % 6]
        if window is not None:
            w, h = img.size
            x0, y0 = window[0] * w, window[1] * h
            img = img.crop((int(x0), int(y0), int(x0 + 0.6 * w), int(y0 + 0.6 * h)))
        return img

    return load


def curation_stages(features, labels, figures):
    """What ``layout._curation`` calls, one stage at a time."""
    from gridtsne.core import curation, duplicates, neighbours

    names = None if labels is None else [str(label) for label in labels]
    knn = stage("curation_neighbours", figures, neighbours.nearest, features,
                max(duplicates.NEIGHBOURS, 10), seed=0)
    load = distinct_images()
    # a run makes these while it decodes the images for their embeddings; one whose
    # embeddings come from a field or array decodes them in the duplicates' stage
    thumbs = stage("thumbnails_while_embedding", figures, lambda: [
        duplicates.thumbnails(load(i)) for i in range(len(features))])
    groups = stage("curation_duplicates", figures, duplicates.duplicate_groups, features,
                   load, knn=knn, thumbs=thumbs)
    del thumbs
    stage("curation_outliers", figures, curation.outlier_scores, features, names, knn=knn)
    if names is not None:
        stage("curation_label_disagreement", figures, curation.label_disagreement, features,
              names)
    figures["curation_s"] = round(sum(figures[k]["seconds"] for k in figures
                                      if k.startswith("curation_")), 1)
    figures["curation_decoding_again_s"] = round(
        figures["curation_s"] + figures["thumbnails_while_embedding"]["seconds"], 1)
    return {"duplicate_groups": len(groups.members())}


def layout_stages(features, labels, args, figures):
    n = len(features)
    rows, cols = grid.grid_shape(n)
    t0 = time.perf_counter()
    # the calls compute_layout makes, one stage at a time
    xy = stage("tsne", figures, reduce.tsne_2d, features, metric=METRIC, seed=0)
    cells = stage("assign", figures, grid.assign_to_grid, grid.scale_to_grid(xy, rows, cols),
                  rows, cols, method="auto")
    judged = reduce.in_metric_space(features, METRIC)
    cells = stage("refine", figures, refine.refine_grid, judged, cells, rows, cols, seed=0)
    figures["layout_after_embeddings_s"] = round(time.perf_counter() - t0, 1)
    layout = core_layout.Layout(xy=xy, cells=cells, rows=rows, cols=cols)
    layout.metrics = stage("metrics", figures, core_layout.quality, judged, cells, labels)
    del judged
    out = {"grid": "%dx%d" % (rows, cols), "metrics": {
        k: round(float(v), 4) for k, v in layout.metrics.items() if v is not None}}
    if not args.no_fiftyone:
        out.update(fiftyone_stages(n, features, layout, args.cell_px, figures))
    return out


def fiftyone_stages(n, features, layout, cell_px, figures):
    """The pyramid and the writes, through compute_grid's own code."""
    import shutil

    from gridtsne.config import GridConfig
    from gridtsne.fo import compute, embedding, items
    from gridtsne.fo.plan import plan_compute
    from gridtsne.fo.progress import StageProgress

    ds = stage("make_dataset", figures, dataset_of, n)
    out_dir = tempfile.mkdtemp(prefix="gridtsne-bench-scale-")
    config = GridConfig(key="scale", cell_px=cell_px, output_dir=out_dir, overwrite=True)
    plan = plan_compute(ds, config, array=features)
    its = stage("read_items", figures, items.read, plan.samples, plan.kind, None, None, 0.1)
    keep = list(range(len(its.ids)))
    vectors = embedding.for_run(plan, its, keep, StageProgress(False))
    timings = {}
    stage("pyramid_and_writes", figures, compute.render_and_write, plan, n,
          items.subset(its, keep), vectors, layout, [], timings, StageProgress(False),
          time.perf_counter())
    figures["pyramid_and_writes"].update(
        {k: round(v, 1) for k, v in timings.items() if k in ("render", "save")})
    shutil.rmtree(out_dir, ignore_errors=True)
    return {"cell_px": cell_px}


if __name__ == "__main__":
    main()
