"""Near-duplicate groups on several kinds of data, one JSON line (a table row) each.

A duplicate finder is judged on what it groups that it should not, as much as on
the copies it finds, and look-alike, low-detail images are where a pixel
threshold misleads. Rows:

- ``recaptcha+copies``: recaptcha-dev (photographs) with ``--copies`` planted copies;
- ``digits+copies``: scikit-learn's 1,797 digits (64 px PNGs, no two the same)
  with 40 planted copies;
- ``glyphs+copies``: every letter and digit in each of matplotlib's 21 bundled
  text fonts (1,302 images; "l", "I" and "1", "O" and "0", a sans and its
  monospace sibling are look-alikes), each at a random size, offset, tilt and
  greys, with 40 planted copies;
- ``shapes+copies``: one or two plain shapes on a plain background, with 40
  planted copies;
- ``recaptcha:CLASS`` and ``recaptcha:A+B``: tiles of one or two classes, no copies.

A planted copy is re-encoded (JPEG quality 50-90), resized (0.5-0.9), cropped
(up to 10%) and brightened or darkened (up to 15%), all at random strengths.
Each row gives the recall of the planted copies (copy and original in one group,
the original kept), how many of the distinct images were grouped (count and
share), the number of groups, the largest group and the seconds of
``duplicate_groups`` (embeddings not included; they are cached with ``--cache``).

    .venv/bin/python benchmarks/bench_duplicates.py [--copies 200] [--seed 0] [--cache DIR]
"""

import argparse
import hashlib
import io
import json
import os
import sys
import time

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFont

from gridtsne.core import duplicates, embed, images, neighbours

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECAPTCHA = os.path.join(REPO, "..", "shared", "data", "recaptcha-dev")
# matplotlib's bundled text fonts (its symbol fonts left out): 21 faces of 5 families
FONTS = tuple("DejaVu%s.ttf" % f for f in (
    "Sans", "Sans-Bold", "Sans-Oblique", "Sans-BoldOblique", "SansMono", "SansMono-Bold",
    "SansMono-Oblique", "SansMono-BoldOblique", "Serif", "Serif-Bold", "Serif-Italic",
    "Serif-BoldItalic")) + tuple("STIXGeneral%s.ttf" % f for f in ("", "Bol", "Italic", "BolIta")) \
    + ("cmr10.ttf", "cmb10.ttf", "cmss10.ttf", "cmtt10.ttf", "cmti10.ttf")


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


def digits():
    from sklearn.datasets import load_digits

    out = []
    for img in load_digits().images:  # as gridtsne's demo writes them
        pixels = (255 - img * (255 / 16)).clip(0, 255).astype(np.uint8)
        out.append(Image.fromarray(pixels, "L").resize((64, 64), Image.BICUBIC).convert("RGB"))
    return out


def glyphs(seed=0, renders=1, size=64):
    """Every letter and digit in every font, ``renders`` times, each at a random
    size, offset, tilt and greys. Two renders of one glyph in one font are
    the same outline resized and shifted: a duplicate finder may fairly group
    them, so the look-alike row uses one render of each."""
    import string

    import matplotlib

    folder = os.path.join(os.path.dirname(matplotlib.__file__), "mpl-data", "fonts", "ttf")
    rng = np.random.default_rng(seed)
    out = []
    for font_name in FONTS:
        for ch in string.ascii_letters + string.digits:
            for _ in range(renders):
                font = ImageFont.truetype(os.path.join(folder, font_name),
                                          int(rng.integers(28, 47)))
                bg, fg = int(rng.integers(150, 256)), int(rng.integers(0, 110))
                img = Image.new("L", (size, size), bg)
                draw = ImageDraw.Draw(img)
                x0, y0, x1, y1 = draw.textbbox((0, 0), ch, font=font)
                pos = ((size - (x1 - x0)) / 2 - x0 + rng.uniform(-6, 6),
                       (size - (y1 - y0)) / 2 - y0 + rng.uniform(-6, 6))
                draw.text(pos, ch, fill=fg, font=font)
                img = img.rotate(rng.uniform(-10, 10), resample=Image.BICUBIC, fillcolor=bg)
                out.append(img.convert("RGB"))
    return out


def shapes(n=1000, seed=0, size=64):
    """One or two plain shapes (circle, square, triangle) on a plain background."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        bg = tuple(int(v) for v in rng.integers(0, 256, 3))
        img = Image.new("RGB", (size, size), bg)
        draw = ImageDraw.Draw(img)
        for _ in range(int(rng.integers(1, 3))):
            s = rng.uniform(12, 40)
            cx, cy = rng.uniform(s / 2, size - s / 2, 2)
            color = tuple(int(v) for v in rng.integers(0, 256, 3))
            kind = int(rng.integers(0, 3))
            box = (cx - s / 2, cy - s / 2, cx + s / 2, cy + s / 2)
            if kind == 0:
                draw.ellipse(box, fill=color)
            elif kind == 1:
                draw.regular_polygon((cx, cy, s / 2), 4, rotation=rng.uniform(0, 90),
                                     fill=color)
            else:
                draw.regular_polygon((cx, cy, s / 2), 3, rotation=rng.uniform(0, 120),
                                     fill=color)
        out.append(img)
    return out


def features_of(pictures, cache, name):
    """Embeddings of in-memory pictures, cached by their pixels."""
    digest = hashlib.sha1()
    for p in pictures:
        digest.update(p.tobytes())
    path = cache and os.path.join(cache, "dup-%s-%s.npy" % (name, digest.hexdigest()[:12]))
    if path and os.path.exists(path):
        return np.load(path)
    feats = embed.embed_images(pictures, batch_size=64)
    if path:
        os.makedirs(cache, exist_ok=True)
        np.save(path, feats)
    return feats


def measure(kind, originals, copies_of, copies, cache):
    """One table row: ``copies[j]`` is a copy of ``originals[copies_of[j]]``."""
    pictures = originals + copies
    feats = features_of(pictures, cache, kind.replace(":", "-").replace("+", "-"))
    n = len(originals)
    sizes = [p.width * p.height for p in pictures]
    t = time.perf_counter()
    found = duplicates.duplicate_groups(feats, pictures.__getitem__, sizes=sizes,
                                        knn=neighbours.nearest(feats, duplicates.NEIGHBOURS))
    seconds = time.perf_counter() - t
    g = found.group
    caught = [g[n + j] >= 0 and g[n + j] == g[i] and found.representative[i]
              for j, i in enumerate(copies_of)]
    planted = set(int(i) for i in copies_of)
    distinct = [i for i in range(n) if g[i] >= 0 and not (
        i in planted and any(g[n + j] == g[i] for j, k in enumerate(copies_of) if k == i))]
    sizes = np.bincount(g[g >= 0]) if (g >= 0).any() else np.zeros(1, int)
    row = {"data": kind, "distinct_images": n, "planted_copies": len(copies),
           "recall": round(float(np.mean(caught)), 3) if copies else None,
           "distinct_grouped": len(distinct),
           "distinct_grouped_share": round(len(distinct) / n, 4),
           "groups": int(g.max() + 1), "largest_group": int(sizes.max()),
           "seconds": round(seconds, 2)}
    print(json.dumps(row), flush=True)
    return row


def with_copies(kind, originals, k, rng, cache):
    chosen = rng.choice(len(originals), size=min(k, len(originals)), replace=False)
    return measure(kind, originals, chosen, [planted_copy(originals[i], rng) for i in chosen],
                   cache)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=RECAPTCHA)
    ap.add_argument("--copies", type=int, default=200, help="planted in recaptcha-dev")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache", help="folder to cache embeddings in between runs")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    rows = []
    if os.path.isdir(args.data):
        paths, _ = images.list_images(args.data)
        tiles = [images.load_rgb(p) for p in paths]
        rows.append(with_copies("recaptcha+copies", tiles, args.copies, rng, args.cache))
        classes = [os.path.basename(os.path.dirname(p)) for p in paths]
        names = sorted(set(classes))
        for group in [[c] for c in names] + [names[i:i + 2] for i in range(0, len(names), 2)]:
            picked = [t for t, c in zip(tiles, classes) if c in group]
            rows.append(measure("recaptcha:" + "+".join(group), picked, [], [], args.cache))
    else:
        print("note: %s not found; its rows are left out" % args.data, file=sys.stderr)
    rows.append(with_copies("digits+copies", digits(), 40, rng, args.cache))
    rows.append(with_copies("glyphs+copies", glyphs(args.seed), 40, rng, args.cache))
    rows.append(with_copies("shapes+copies", shapes(seed=args.seed), 40, rng, args.cache))
    print(json.dumps({"rows": rows, "threshold": duplicates.DEFAULT_THRESHOLD,
                      "max_ratio": duplicates.MAX_RATIO}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
