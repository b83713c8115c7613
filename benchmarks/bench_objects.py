"""Objects per second, end to end: a grid of the objects of a Detections field.

Writes ``--images`` generated scenes (160 x 120, ``--per-image`` filled
rectangles each, as Detections) to a temporary folder, adds them to a
temporary (non-persistent) FiftyOne dataset on the configured database, runs
``compute_grid(patches_field=...)`` and prints one JSON object: objects,
seconds per stage, objects/s end to end.

    .venv/bin/python benchmarks/bench_objects.py [--images 2500] [--per-image 4]
"""

import argparse
import gc
import json
import os
import sys
import tempfile
import time

import numpy as np
from PIL import Image, ImageDraw

COLOURS = [(220, 30, 30), (30, 180, 40), (30, 60, 220), (230, 210, 20), (150, 60, 200)]


def scene(path, per_image, rng):
    import fiftyone as fo

    w, h = 160, 120
    img = Image.new("RGB", (w, h), tuple(int(v) for v in rng.integers(90, 170, 3)))
    d = ImageDraw.Draw(img)
    dets = []
    for k in range(per_image):
        bw, bh = int(rng.integers(18, 40)), int(rng.integers(18, 40))
        x, y = int(rng.integers(0, w - bw)), int(rng.integers(0, h - bh))
        c = int(rng.integers(0, len(COLOURS)))
        (d.ellipse if rng.random() < 0.5 else d.rectangle)((x, y, x + bw, y + bh),
                                                          fill=COLOURS[c])
        dets.append(fo.Detection(label="c%d" % c, bounding_box=[x / w, y / h, bw / w, bh / h]))
    img.save(path)
    return fo.Sample(filepath=path, ground_truth=fo.Detections(detections=dets))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=2500)
    ap.add_argument("--per-image", type=int, default=4)
    args = ap.parse_args(argv)
    os.environ.setdefault("FIFTYONE_DO_NOT_TRACK", "true")

    import fiftyone as fo

    import gridtsne

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory(prefix="gridtsne-bench-objects-") as folder:
        samples = [scene(os.path.join(folder, "s%05d.png" % i), args.per_image, rng)
                   for i in range(args.images)]
        ds = fo.Dataset()
        try:
            ds.add_samples(samples, progress=False)
            # as after the command line loads a dataset: no Sample objects in
            # memory (FiftyOne reloads every one of them on each schema change)
            del samples
            gc.collect()
            stages = {}
            t = time.perf_counter()
            res = gridtsne.compute_grid(ds, key="objects", patches_field="ground_truth",
                                        cell_px=32, output_dir=os.path.join(folder, "out"),
                                        progress=lambda s, f: stages.setdefault(s, True))
            seconds = time.perf_counter() - t
            out = {"objects": res.n_samples, "images": args.images,
                   "seconds": round(seconds, 1),
                   "objects_per_second": round(res.n_samples / seconds, 1),
                   "stages": {k: round(v, 2) for k, v in res.timings.items()},
                   "grid": "%dx%d" % (res.rows, res.cols), "metrics": {
                       k: round(v, 3) for k, v in res.metrics.items() if v is not None}}
            print(json.dumps(out))
        finally:
            ds.delete()
    return 0


if __name__ == "__main__":
    sys.exit(main())
