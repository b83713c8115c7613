"""Rendering at scale: one mosaic bitmap vs a Deep Zoom tile pyramid, as JSON.

Makes N 120x120 PNG tiles (cached in a temporary folder), places them on a
near-square grid and times ``render_mosaic`` (one bitmap, when it fits in
PYRAMID_ABOVE_SIDE) and ``write_pyramid`` (tiles plus overview), each in a
fresh subprocess so that its peak memory is its own.

    .venv/bin/python benchmarks/bench_render.py [--n 1024 20000] [--cell 64]
"""

import argparse
import json
import os
import resource
import shutil
import tempfile
import time

import numpy as np

from fresh_process import measure_in_fresh_process
from gridtsne.core import grid, pyramid, render


def tiles(n, folder):
    from PIL import Image

    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        path = os.path.join(folder, "%06d.png" % i)
        if not os.path.exists(path):
            a = rng.integers(0, 256, (1, 1, 3), dtype=np.uint8)
            img = np.broadcast_to(a, (120, 120, 3)).copy()
            img[::8] = 255 - a  # some detail, so that JPEG has work to do
            Image.fromarray(img).save(path)
        paths.append(path)
    return paths


def one(n, how, cell):
    paths = tiles(n, os.path.join(tempfile.gettempdir(), "gridtsne-bench-tiles"))
    rows, cols = grid.grid_shape(n)
    cells = np.stack(np.divmod(np.random.default_rng(0).permutation(rows * cols)[:n], cols), 1)
    out = tempfile.mkdtemp(prefix="gridtsne-render-")
    t = time.perf_counter()
    row = {"n": n, "how": how, "grid": "%dx%d" % (rows, cols), "cell_px": cell}
    if how == "bitmap":
        img = render.render_mosaic(paths, cells, rows, cols, cell_px=cell)
        render.save_image_atomic(img, os.path.join(out, "mosaic.jpg"))
        row["size"] = list(img.size)
    else:
        dzi, overview = pyramid.write_pyramid(paths, cells, rows, cols, out, cell_px=cell)
        row["overview"] = list(overview.size)
        row["tiles"] = sum(len(f) for _, _, f in os.walk(os.path.join(out, "mosaic_files")))
    row["seconds"] = round(time.perf_counter() - t, 2)
    row["images_per_s"] = round(n / row["seconds"], 1)
    row["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    shutil.rmtree(out)
    return row


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=[1024, 20000])
    ap.add_argument("--cell", type=int, default=64)
    ap.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps(one(int(args.one[0]), args.one[1], args.cell)))
        return
    for n in args.n:
        tiles(n, os.path.join(tempfile.gettempdir(), "gridtsne-bench-tiles"))
        rows, cols = grid.grid_shape(n)
        hows = ["pyramid"]
        if not pyramid.needs_pyramid(rows, cols, args.cell):
            hows.insert(0, "bitmap")
        for how in hows:
            row = measure_in_fresh_process(__file__, n, how, "--cell", args.cell)
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
