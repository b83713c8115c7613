"""``gridtsne``: a folder of images (or a dataset) in, a sorted mosaic out.

    gridtsne IMAGES_DIR --out OUT_DIR      import a folder, label = parent folder
    gridtsne --dataset NAME --out OUT_DIR  an existing FiftyOne dataset
    gridtsne --demo --out OUT_DIR          scikit-learn's digits, offline
"""

import argparse
import csv
import os
import re
import sys

from gridtsne.core.images import DEFAULT_MAX_PIXELS

LABEL_FIELD = "ground_truth"
METRIC_NAMES = {
    "dpq_16": "distance preservation quality DPQ_16",
    "neighbor_label_agreement": "neighbor label agreement",
    "knn10_label_accuracy": "10-NN label accuracy on the grid",
}


def build_parser():
    p = argparse.ArgumentParser(
        prog="gridtsne",
        description="Similarity-sorted image mosaic: embeddings -> t-SNE -> grid.",
        epilog="Writes OUT_DIR/mosaic.jpg, OUT_DIR/layout.csv and, when images "
        "were skipped, OUT_DIR/skipped.csv.",
    )
    p.add_argument("images_dir", nargs="?", metavar="IMAGES_DIR",
                   help="folder of images, searched recursively; each image's "
                   "label is the name of its parent folder")
    p.add_argument("--out", required=True, metavar="OUT_DIR",
                   help="folder for mosaic.jpg and layout.csv")
    p.add_argument("--dataset", metavar="NAME",
                   help="FiftyOne dataset to use; with IMAGES_DIR, the dataset to "
                   "import into (default: gridtsne-<folder name>)")
    p.add_argument("--demo", action="store_true",
                   help="use scikit-learn's bundled digits (1,797 labeled images)")
    p.add_argument("--key", default="grid",
                   help="run key; fields {key}_x, {key}_y, {key}_row, {key}_col "
                   "(default: grid)")
    p.add_argument("--grid", metavar="ROWSxCOLS",
                   help="grid shape, e.g. 32x32, 20x or x40 (default: near-square)")
    p.add_argument("--cell", type=int, default=64, metavar="PX",
                   help="mosaic cell size in pixels (default: 64)")
    p.add_argument("--label-field", metavar="FIELD",
                   help="label field for cell borders and the agreement metric "
                   "(default: ground_truth when present)")
    p.add_argument("--embeddings-field", metavar="FIELD",
                   help="use the vectors in this field instead of computing them")
    p.add_argument("--perplexity", type=float, help="t-SNE perplexity (default: 20)")
    p.add_argument("--no-refine", dest="refine", action="store_false",
                   help="keep the plain t-SNE + assignment grid instead of swapping "
                   "images beside their most similar ones (refining is on by "
                   "default; above 10,000 images it works window by window)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--batch-size", type=int, default=64,
                   help="embedding batch size (default: 64)")
    p.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS, metavar="N",
                   help="skip images with more pixels than this, without decoding "
                   "them (default: %d)" % DEFAULT_MAX_PIXELS)
    p.add_argument("--outline-suspicious", type=float, default=0.0, metavar="FRACTION",
                   help="outline this fraction of images whose labels most disagree "
                   "with their neighbours, e.g. 0.05 (default: 0, none)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing run with the same key")
    p.add_argument("--strict", action="store_true",
                   help="fail on the first unusable image instead of skipping it")
    p.add_argument("--app", action="store_true",
                   help="open the FiftyOne App on the dataset when done")
    return p


def parse_grid(text):
    """'32x24' -> (32, 24); '32x' or 'x24' fix one side."""
    if text is None:
        return None, None
    m = re.fullmatch(r"\s*(\d*)\s*[xX]\s*(\d*)\s*", text)
    if not m or not (m.group(1) or m.group(2)):
        raise ValueError("--grid must look like ROWSxCOLS, e.g. 32x32; got %r" % text)
    return (int(m.group(1)) if m.group(1) else None,
            int(m.group(2)) if m.group(2) else None)


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except KeyboardInterrupt:
        print("interrupted; nothing was written to the dataset", file=sys.stderr)
        return 130
    except (ValueError, OSError) as e:
        print("gridtsne: error: %s" % e, file=sys.stderr)
        return 2


def run(args):
    rows, cols = parse_grid(args.grid)
    if sum(bool(x) for x in (args.images_dir, args.demo)) > 1:
        raise ValueError("give IMAGES_DIR or --demo, not both")
    if not (args.images_dir or args.demo or args.dataset):
        raise ValueError("give IMAGES_DIR, --dataset NAME or --demo")
    if args.images_dir and not os.path.isdir(args.images_dir):
        raise ValueError("IMAGES_DIR %r is not a folder" % args.images_dir)
    out_dir = os.path.abspath(args.out)
    os.makedirs(out_dir, exist_ok=True)
    if not os.access(out_dir, os.W_OK):
        raise ValueError("cannot write to --out folder %r" % out_dir)

    from gridtsne.fo.database import database_problem

    problem = database_problem()
    if problem:
        raise ValueError(problem)

    import fiftyone as fo

    from gridtsne.fo import imports
    from gridtsne.fo.compute import compute_grid

    if args.demo:
        dataset = imports.digits_dataset(os.path.join(out_dir, "digits"), name=args.dataset)
    elif args.images_dir:
        name = args.dataset or "gridtsne-" + os.path.basename(
            os.path.abspath(args.images_dir)
        )
        dataset = imports.folder_dataset(args.images_dir, name, LABEL_FIELD)
    else:
        if not fo.dataset_exists(args.dataset):
            raise ValueError("no FiftyOne dataset named %r" % args.dataset)
        dataset = fo.load_dataset(args.dataset)

    label_field = args.label_field
    if label_field is None and dataset.has_field(LABEL_FIELD):
        label_field = LABEL_FIELD

    print("Dataset %r: %d samples" % (dataset.name, len(dataset)))
    results = compute_grid(
        dataset,
        key=args.key,
        embeddings=args.embeddings_field,
        rows=rows,
        cols=cols,
        perplexity=args.perplexity,
        refine=args.refine,
        seed=args.seed,
        cell_px=args.cell,
        label_field=label_field,
        mosaic_dir=out_dir,
        batch_size=args.batch_size,
        max_pixels=args.max_pixels,
        strict=args.strict,
        outline_suspicious=args.outline_suspicious,
        overwrite=args.overwrite,
    )

    layout_path = os.path.join(out_dir, "layout.csv")
    write_layout_csv(results, layout_path, label_field)
    skipped_path = os.path.join(out_dir, "skipped.csv")
    write_skipped_csv(results.skipped, skipped_path)

    print()
    print("Grid %dx%d with %d images" % (results.rows, results.cols, results.n_samples))
    t = results.timings
    print("Time: " + ", ".join(
        "%s %.1f s" % (name, t[stage]) for stage, name in (
            ("embed", "embed"), ("tsne", "t-SNE"), ("assign", "assign"),
            ("refine", "refine"), ("render", "render"), ("total", "total"))
        if stage in t))
    for name, value in (results.metrics or {}).items():
        print("%s: %.3f" % (METRIC_NAMES.get(name, name), value))
    if results.skipped:
        print("Skipped %d unusable images:" % len(results.skipped))
        for s in results.skipped[:10]:
            print("  %s: %s" % (s["filepath"], s["reason"]))
        if len(results.skipped) > 10:
            print("  ... (all %d in %s)" % (len(results.skipped), skipped_path))
    print("Mosaic: %s" % results.mosaic_path)
    if results.tiles_path:
        print("Tiles (Deep Zoom): %s" % results.tiles_path)
    print("Layout: %s" % layout_path)
    if results.skipped:
        print("Skipped: %s" % skipped_path)
    print("Dataset: %s (run key %r)" % (dataset.name, args.key))

    if args.app:
        session = fo.launch_app(dataset)
        session.wait()
    return 0


def write_layout_csv(results, path, label_field=None):
    layout = results.layout(label_field)
    labels = layout.get("label") or [None] * len(layout["id"])
    scores = layout.get("label_disagreement")
    order = sorted(range(len(layout["id"])),
                   key=lambda i: (layout["row"][i], layout["col"][i]))
    tmp = path + ".tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        header = ["filepath", "label", "row", "col", "x", "y"]
        w.writerow(header + (["label_disagreement"] if scores is not None else []))
        for i in order:
            row = [layout["filepath"][i], labels[i] if labels[i] is not None else "",
                   layout["row"][i], layout["col"][i],
                   "%.6g" % layout["x"][i], "%.6g" % layout["y"][i]]
            if scores is not None:
                row.append("" if scores[i] is None else "%.4f" % scores[i])
            w.writerow(row)
    os.replace(tmp, path)


def write_skipped_csv(skipped, path):
    if not skipped:
        if os.path.exists(path):
            os.remove(path)
        return
    tmp = path + ".tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["filepath", "reason"])
        for s in skipped:
            w.writerow([s["filepath"], s["reason"]])
    os.replace(tmp, path)


if __name__ == "__main__":
    sys.exit(main())
