"""Near-duplicate detection on recaptcha-dev with planted copies.

Picks ``--copies`` tiles at random and writes a copy of each that has been
re-encoded (JPEG quality 50-90), resized (0.5-0.9), cropped (up to 10%) and
brightened or darkened (up to 15%), all four at random strengths. Embeds
originals and copies with the default embedder, then prints JSON:

- the cosine distance from each copy to its original, and from each original
  to its nearest other original (quantiles): where a threshold can go;
- for each pixel-correlation threshold tried (candidates come from the
  embeddings, see gridtsne.core.duplicates): recall of the planted pairs (copy
  and original in one group), links and groups among the original tiles
  alone, and seconds;
- the groups among the originals at the default threshold, with a contact
  sheet (``--sheet PATH``) to look at them.

    .venv/bin/python benchmarks/bench_duplicates.py [--copies 200] [--seed 0]
"""

import argparse
import io
import json
import os
import sys
import time

import numpy as np
from PIL import Image, ImageEnhance

from gridtsne.core import duplicates, embed, images, neighbours

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECAPTCHA = os.path.join(REPO, "..", "shared", "data", "recaptcha-dev")


def planted_copy(img, rng):
    """The same picture, re-encoded, resized, cropped and re-lit at random."""
    w, h = img.size
    crop = rng.uniform(0, 0.10)
    dx, dy = int(w * crop * rng.uniform()), int(h * crop * rng.uniform())
    img = img.crop((dx, dy, dx + int(w * (1 - crop)), dy + int(h * (1 - crop))))
    scale = rng.uniform(0.5, 0.9)
    img = img.resize((max(8, int(img.width * scale)), max(8, int(img.height * scale))),
                     Image.BICUBIC)
    img = ImageEnhance.Brightness(img).enhance(rng.uniform(0.85, 1.15))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=int(rng.integers(50, 91)))
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=RECAPTCHA)
    ap.add_argument("--copies", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--thresholds", default="0.85,0.88,0.90,0.92,0.95")
    ap.add_argument("--sheet", help="write the groups found among the originals here (PNG)")
    args = ap.parse_args(argv)
    if not os.path.isdir(args.data):
        print("note: %s not found; nothing to measure" % args.data, file=sys.stderr)
        return 1

    rng = np.random.default_rng(args.seed)
    paths, _ = images.list_images(args.data)
    originals = [images.load_rgb(p) for p in paths]
    chosen = rng.choice(len(paths), size=min(args.copies, len(paths)), replace=False)
    copies = [planted_copy(originals[i], rng) for i in chosen]

    t = time.perf_counter()
    feats = embed.embed_images(originals + copies, batch_size=64)
    embed_seconds = time.perf_counter() - t
    n = len(paths)
    unit = neighbours.unit(feats)
    to_original = 1.0 - np.einsum("ij,ij->i", unit[n:], unit[chosen])
    knn_orig = neighbours.nearest(feats[:n], 1)[1][:, 0]

    def q(v):
        return {p: round(float(np.quantile(v, p / 100)), 4) for p in (1, 5, 50, 95, 99)}

    out = {"n_originals": n, "n_copies": len(copies), "embed_seconds": round(embed_seconds, 1),
           "copy_to_original_distance": q(to_original),
           "original_to_nearest_original_distance": q(knn_orig), "thresholds": []}
    pictures = originals + copies
    load = pictures.__getitem__
    knn = neighbours.nearest(feats, duplicates.NEIGHBOURS)
    knn_orig = neighbours.nearest(feats[:n], duplicates.NEIGHBOURS)
    for threshold in [float(v) for v in args.thresholds.split(",")]:
        t = time.perf_counter()
        groups = duplicates.duplicate_groups(feats, load, threshold, knn=knn)
        seconds = time.perf_counter() - t
        caught = np.mean([groups[n + j] >= 0 and groups[n + j] == groups[i]
                          for j, i in enumerate(chosen)])
        only = duplicates.duplicate_groups(feats[:n], load, threshold, knn=knn_orig)
        out["thresholds"].append({
            "threshold": threshold, "recall_planted": round(float(caught), 4),
            "groups_among_originals": int(only.max() + 1),
            "originals_in_groups": int((only >= 0).sum()),
            "largest_group": int(np.bincount(groups[groups >= 0]).max()) if (groups >= 0).any()
            else 0,
            "candidate_pairs": int(len(duplicates.candidate_pairs(feats, knn))),
            "grouping_seconds": round(seconds, 2)})
        print(json.dumps(out["thresholds"][-1]), flush=True)

    only = duplicates.duplicate_groups(feats[:n], load, knn=knn_orig)
    members = duplicates.groups_of(only)
    out["default_threshold"] = duplicates.DEFAULT_THRESHOLD
    out["groups_among_originals_at_default"] = [
        [os.path.relpath(paths[i], args.data) for i in group] for group in members]
    if args.sheet:
        contact_sheet([[originals[i] for i in group] for group in members], args.sheet)
    print(json.dumps(out))
    return 0


def contact_sheet(groups, path, cell=96):
    """One row per group, its members side by side."""
    if not groups:
        groups = [[]]
    width = cell * max(len(g) for g in groups) or cell
    sheet = Image.new("RGB", (width, cell * len(groups)), (24, 24, 24))
    for r, members in enumerate(groups):
        for c, img in enumerate(members):
            sheet.paste(images.center_crop_square(img, cell - 4), (c * cell + 2, r * cell + 2))
    sheet.save(path)


if __name__ == "__main__":
    sys.exit(main())
