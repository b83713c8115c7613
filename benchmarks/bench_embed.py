"""Embedding throughput: model only and end to end, side by side, as JSON.

Model only: images/s of the network on ready-made 224 px batches, for eager
PyTorch (channels-last) and for ONNX Runtime (the CPU default). End to end:
images/s of ``gridtsne.core.embed.embed_files`` from PNG files on disk
(decode, resize, normalise in worker processes, then the network), on the
120x120 PNG tiles of ``recaptcha-dev`` when present, else on 120x120 PNG
tiles made from scikit-learn's digits. With recaptcha-dev it also checks that
the end-to-end features give the same layout quality as eager PyTorch.

    .venv/bin/python benchmarks/bench_embed.py [--batch-size 64] [--cache DIR]
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


def model_only(run, batch_size, repeats=4):
    x = np.random.default_rng(0).standard_normal(
        (batch_size, 3, embed.IMAGE_SIZE, embed.IMAGE_SIZE)).astype(np.float32)
    run(x)  # warm-up
    t = time.perf_counter()
    for _ in range(repeats):
        run(x)
    return batch_size * repeats / (time.perf_counter() - t)


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
    ap.add_argument("--cache", help="bench_layout's --cache folder, whose eager features "
                    "are compared with without re-embedding")
    args = ap.parse_args(argv)

    import torch

    eager = embed.torch_extractor("cpu")

    out = {
        "threads": torch.get_num_threads(),
        "model_only_images_per_s": {
            "torch_eager_channels_last": round(model_only(eager, args.batch_size), 1),
            "onnxruntime": round(model_only(embed.feature_extractor("cpu"), args.batch_size), 1),
        },
    }
    if os.path.isdir(RECAPTCHA):
        name, paths = "recaptcha-dev", images.list_images(RECAPTCHA)[0]
    else:
        name = "digits-120px-tiles"
        paths = digit_tiles(os.path.join(tempfile.gettempdir(), "gridtsne-digit-tiles"))
    t = time.perf_counter()
    feats, failed = embed.embed_files(paths, batch_size=args.batch_size,
                                      num_workers=args.workers)
    seconds = time.perf_counter() - t
    out.update({
        "dataset": name, "n": len(paths), "failed": len(failed),
        "end_to_end_images_per_s": round(len(paths) / seconds, 1),
        "end_to_end_seconds": round(seconds, 2),
    })
    if name == "recaptcha-dev":
        from bench_layout import _cached

        eager_path = _cached(args.cache, "recaptcha")
        if eager_path and os.path.exists(eager_path):
            ref = np.load(eager_path)
        else:
            ref = embed.embed_images([images.load_rgb(p) for p in paths], device="cpu")
        out["max_relative_difference_vs_eager"] = float(
            np.abs(feats - ref).max() / np.abs(ref).max())
        from bench_layout import figures

        labels = [os.path.basename(os.path.dirname(p)) for p in paths]
        # t-SNE amplifies float-level differences, so compare means over seeds
        for tag, f in (("eager", ref), ("end_to_end", feats)):
            rows = [figures(name, "tsne+refine", f, labels, seed) for seed in range(3)]
            out["layout_%s_mean_of_3_seeds" % tag] = {
                k: round(float(np.mean([r[k] for r in rows])), 4)
                for k in ("dpq_16", "neighbor_label_agreement", "knn10_label_accuracy")}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
