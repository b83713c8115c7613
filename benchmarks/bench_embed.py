"""Embedding throughput, float and int8, model only and end to end, as JSON.

Model only: images/s of the network on ready-made batches (224 px, or
``--image-size``: the product always uses 224, see docs/benchmarks.md), for eager
PyTorch (channels-last), ONNX Runtime (the CPU default) and the int8 model
(``precision="int8"``, see gridtsne/core/quantize.py). End to end: images/s of
``gridtsne.core.embed.embed_files`` from PNG files on disk (decode, resize,
normalise in threads while the network runs), float and int8, on the 120x120
PNG tiles of ``recaptcha-dev`` when present, else on 120x120 PNG tiles made
from scikit-learn's digits. With recaptcha-dev it also gives the layout
quality (DPQ_16, neighbour agreement, 10-NN accuracy; mean and standard
deviation over ``--seeds`` seeds, 10 by default) of the float and int8 features, and checks that the
float ones are eager PyTorch's.

    .venv/bin/python benchmarks/bench_embed.py [--batch-size 64] [--image-size 224] [--cache DIR]
"""

import argparse
import json
import os
import tempfile
import time

import numpy as np

from gridtsne.core import embed, images

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECAPTCHA = os.path.join(REPO, "..", "shared", "data", "recaptcha-dev")


def model_only(run, batch_size, size, repeats=4):
    x = np.random.default_rng(0).standard_normal((batch_size, 3, size, size)).astype(np.float32)
    run(x)  # warm-up
    t = time.perf_counter()
    for _ in range(repeats):
        run(x)
    return batch_size * repeats / (time.perf_counter() - t)


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":")[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        return None
    return [f for f in ("avx2", "avx512f", "avx512_vnni", "avx_vnni") if f in flags]


def digit_tiles(folder, n=1024):
    from PIL import Image
    from sklearn.datasets import load_digits

    os.makedirs(folder, exist_ok=True)
    digits = load_digits()
    paths = []
    for i in range(n):
        path = os.path.join(folder, "%d_%04d.png" % (digits.target[i], i))
        if not os.path.exists(path):
            img = (digits.images[i] * (255 / 16)).astype(np.uint8)
            Image.fromarray(img).convert("RGB").resize((120, 120)).save(path)
        paths.append(path)
    return paths


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--workers", type=int, help="decoding threads (default: one per core, at most 4)")
    ap.add_argument("--image-size", type=int, default=embed.IMAGE_SIZE,
                    help="side of the network's input in pixels (the product uses %d)"
                    % embed.IMAGE_SIZE)
    ap.add_argument("--seeds", type=int, default=10, help="layout seeds per precision")
    ap.add_argument("--cache", help="bench_layout's --cache folder, whose eager features "
                    "are compared with without re-embedding")
    args = ap.parse_args(argv)

    import torch

    eager = embed.torch_extractor("cpu")

    size = args.image_size
    out = {
        "threads": torch.get_num_threads(),
        # int8 speed depends on these (VNNI: 8-bit dot products in one instruction)
        "cpu_flags": cpu_flags(),
        "image_size": size,
        "model_only_images_per_s": {
            "torch_eager_channels_last": round(model_only(eager, args.batch_size, size), 1),
            "onnxruntime_float": round(model_only(embed.feature_extractor("cpu"),
                                                  args.batch_size, size), 1),
            "onnxruntime_int8": round(model_only(embed.feature_extractor(
                "cpu", precision="int8"), args.batch_size, size), 1),
        },
    }
    if os.path.isdir(RECAPTCHA):
        name, paths = "recaptcha-dev", images.list_images(RECAPTCHA)[0]
    else:
        name = "digits-120px-tiles"
        paths = digit_tiles(os.path.join(tempfile.gettempdir(), "gridtsne-digit-tiles"))
    out.update({"dataset": name, "n": len(paths)})
    feats = {}
    for precision in embed.PRECISIONS:
        t = time.perf_counter()
        feats[precision], failed = embed.embed_files(paths, batch_size=args.batch_size,
                                                     num_workers=args.workers,
                                                     precision=precision, image_size=size)
        seconds = time.perf_counter() - t
        out["end_to_end_%s" % precision] = {
            "images_per_s": round(len(paths) / seconds, 1), "seconds": round(seconds, 2),
            "failed": len(failed)}
    if name == "recaptcha-dev":
        from bench_layout import _cached, figures

        eager_path = _cached(args.cache, "recaptcha")
        if eager_path and os.path.exists(eager_path) and size == embed.IMAGE_SIZE:
            ref = np.load(eager_path)
        else:
            ref = embed.embed_images([images.load_rgb(p) for p in paths], device="cpu",
                                     image_size=size)
        out["float_max_relative_difference_vs_eager"] = float(
            np.abs(feats["float"] - ref).max() / np.abs(ref).max())
        a, b = feats["float"], feats["int8"]
        out["int8_cosine_to_float_mean"] = round(float(np.mean(
            (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1))), 3)
        labels = [os.path.basename(os.path.dirname(p)) for p in paths]
        # t-SNE amplifies even float-level differences: compare over seeds
        for precision, f in feats.items():
            rows = [figures(name, "tsne+refine", f, labels, seed) for seed in range(args.seeds)]
            out["layout_%s_%d_seeds" % (precision, args.seeds)] = {
                k: {"mean": round(float(np.mean([r[k] for r in rows])), 4),
                    "std": round(float(np.std([r[k] for r in rows])), 4)}
                for k in ("dpq_16", "neighbor_label_agreement", "knn10_label_accuracy")}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
