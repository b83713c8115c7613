"""``gridtsne``: a folder of images (or a dataset) in, a sorted mosaic out.

    gridtsne IMAGES_DIR --out OUT_DIR      import a folder, label = parent folder
    gridtsne --dataset NAME --out OUT_DIR  an existing FiftyOne dataset
    gridtsne --demo --out OUT_DIR          scikit-learn's digits, offline
    gridtsne import IMAGES_DIR [--dataset NAME]   only import (new files only)

Exit status: 0 done, 2 bad input (one line on stderr, nothing changed), 1 the
run failed for an outside reason (database, disk; nothing changed), 130
interrupted (143 terminated).
"""

import argparse
import dataclasses
import os
import re
import signal
import sys

from gridtsne import config as gconfig
from gridtsne.config import GridConfig, GridError

LABEL_FIELD = "ground_truth"
METRIC_NAMES = {
    "dpq_16": "distance preservation quality DPQ_16",
    "neighbor_label_agreement": "neighbor label agreement",
    "knn10_label_accuracy": "10-NN label accuracy on the grid",
}
# options that the command line spells its own way, or does not offer
_SPECIAL = {"rows", "cols", "output_dir", "embeddings_field", "refine", "curation", "overwrite",
            "strict", "regions", "label_borders"}


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C so that the run cleans up."""


def build_parser():
    p = argparse.ArgumentParser(
        prog="gridtsne",
        description="Similarity-sorted image mosaic: embeddings -> t-SNE -> grid.",
        epilog="Writes OUT_DIR/KEY/mosaic.jpg, OUT_DIR/KEY/layout.csv and, when images "
        "were skipped, OUT_DIR/KEY/skipped.csv. Files already in OUT_DIR are never "
        "touched.")
    p.add_argument("images_dir", nargs="?", metavar="IMAGES_DIR",
                   help="folder of images, searched recursively; each image's label is "
                   "the name of its parent folder")
    p.add_argument("--out", required=True, metavar="OUT_DIR",
                   help="the run's files go to OUT_DIR/KEY/, a folder of its own")
    p.add_argument("--dataset", metavar="NAME",
                   help="FiftyOne dataset to use; with IMAGES_DIR, the dataset to import "
                   "into (default: gridtsne-<folder name>)")
    p.add_argument("--demo", action="store_true",
                   help="use scikit-learn's bundled digits (1,797 labeled images)")
    p.add_argument("--grid", metavar="ROWSxCOLS",
                   help="grid shape, e.g. 32x32, 20x or x40 (default: near-square)")
    for name, default, meta in gconfig.options():
        if name in _SPECIAL or not meta.get("cli"):
            continue
        kind = gconfig.kind_of(name)
        p.add_argument(meta["cli"], dest=name, type=kind, default=None,
                       metavar=name.upper().replace("_", "-") if name != "cell_px" else "PX",
                       help="%s (default: %s)" % (meta["help"], _shown(name, default)))
    p.add_argument("--no-refine", dest="refine", action="store_false", default=None,
                   help=gconfig.GridConfig.__dataclass_fields__["refine"].metadata["help"]
                   + " is on by default; this keeps the plain t-SNE + assignment grid")
    p.add_argument("--no-curation", dest="curation", action="store_false", default=None,
                   help="skip curation: "
                   + gconfig.GridConfig.__dataclass_fields__["curation"].metadata["help"])
    p.add_argument("--overwrite", action="store_true", default=None,
                   help="replace an existing run with the same key")
    p.add_argument("--regions", action="store_true", default=None,
                   help=gconfig.GridConfig.__dataclass_fields__["regions"].metadata["help"])
    p.add_argument("--label-borders", action="store_true", default=None,
                   help=gconfig.GridConfig.__dataclass_fields__["label_borders"].metadata["help"])
    p.add_argument("--strict", action="store_true", default=None,
                   help="fail on the first unusable image instead of skipping it")
    p.add_argument("--app", action="store_true",
                   help="open the FiftyOne App on the dataset when done")
    p.add_argument("--queue", action="store_true",
                   help="queue the run as a FiftyOne delegated operation and print its id "
                   "instead of running it here (a `fiftyone delegated launch` worker runs it)")
    p.add_argument("--shards", type=int, metavar="N",
                   help="with --queue: split the embedding into N delegated operations, "
                   "for N workers; the layout runs when all are done")
    return p


def import_parser():
    p = argparse.ArgumentParser(
        prog="gridtsne import",
        description="Import a folder of images into a FiftyOne dataset, adding only the "
        "files it does not hold yet; no grid is computed (update_grid, or the App's "
        "'Add new samples to a grid', places them in an existing one).")
    p.add_argument("images_dir", metavar="IMAGES_DIR",
                   help="folder of images, searched recursively; each image's label is "
                   "the name of its parent folder")
    p.add_argument("--dataset", metavar="NAME",
                   help="the dataset to import into, made if there is none (default: "
                   "gridtsne-<folder name>)")
    p.add_argument("--label-field", default=LABEL_FIELD, metavar="FIELD",
                   help="the field the folder names go to (default: %s)" % LABEL_FIELD)
    return p


def _require_database():
    from gridtsne.fo.database import database_problem

    problem = database_problem()
    if problem:
        raise GridError(problem)


def run_import(args):
    _require_database()
    from gridtsne.fo import imports

    imported = imports.import_folder(args.images_dir, args.dataset, args.label_field)
    _report_undecodable(imported)
    print(imported.summary())
    return 0


def _report_undecodable(imported):
    if imported.undecodable:
        n = len(imported.undecodable)
        print("Not imported: %d file name%s that %s not valid UTF-8 (FiftyOne cannot "
              "store them; rename to include them): %s"
              % (n, "" if n == 1 else "s", "is" if n == 1 else "are",
                 "; ".join(imported.undecodable[:3])), file=sys.stderr)


def _shown(name, default):
    if name == "label_field":
        return "ground_truth when present"
    shown = gconfig.shown_default(name)
    return "none" if shown is None else shown


def parse_grid(text):
    """'32x24' -> (32, 24); '32x' or 'x24' fix one side."""
    if text is None:
        return None, None
    m = re.fullmatch(r"\s*(\d*)\s*[xX]\s*(\d*)\s*", text)
    if not m or not (m.group(1) or m.group(2)):
        raise GridError("--grid must look like ROWSxCOLS, e.g. 32x32; got %r" % text)
    return (int(m.group(1)) if m.group(1) else None,
            int(m.group(2)) if m.group(2) else None)


def config_from_args(args, **extra):
    """The run's :class:`GridConfig` from parsed arguments (flags not given keep
    the config's defaults)."""
    rows, cols = parse_grid(args.grid)
    given = {name: getattr(args, name, None) for name, _, _ in gconfig.options()
             if name not in ("rows", "cols", "output_dir")}
    given.update(extra)
    return GridConfig(rows=rows, cols=cols, output_dir=os.path.abspath(args.out),
                      **{k: v for k, v in given.items() if v is not None})


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in ("serve", "keys"):  # the web API (gridtsne.serve)
        from gridtsne.serve import commands

        return commands.main(argv)
    if argv and argv[0] == "import":
        args, work = import_parser().parse_args(argv[1:]), run_import
    else:
        args, work = build_parser().parse_args(argv), run
    signal.signal(signal.SIGTERM, _terminate)
    try:
        return work(args)
    except KeyboardInterrupt as e:
        saved = type(e).__name__ == "InterruptedAfterSave"
        print("interrupted; %s" % (
            "the run was saved before stopping" if saved else
            "the run was not saved (run the same command again to resume)"), file=sys.stderr)
        return 143 if isinstance(e, Terminated) else 130
    except GridError as e:
        return _fail(e.for_surface("cli"), 2)
    except Exception as e:  # noqa: BLE001 - every failure is one line, never a traceback
        return _fail(*_describe(e))


def _terminate(signum, frame):
    raise Terminated()


def _fail(message, code):
    print("gridtsne: error: %s" % message, file=sys.stderr)
    return code


def _database_error(e):
    import pymongo.errors

    return isinstance(e, pymongo.errors.PyMongoError)


def _describe(e):
    """(message, exit status) for a failure: bad input is 2, the world is 1."""
    import errno

    from gridtsne.fo.lock import LockLostError

    if _database_error(e):
        first = str(e).split(",")[0].split("\n")[0]
        return ("lost the connection to the database (%s); the run was not saved, and "
                "anything half-written is undone the next time gridtsne opens the dataset"
                % first, 1)
    if isinstance(e, LockLostError):
        return (str(e), 1)
    if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EIO):
        return ("%s; the run was not saved" % (e.strerror if not e.filename else
                                               "%s: %s" % (e.strerror, e.filename)), 1)
    if isinstance(e, (ValueError, OSError, TimeoutError)):
        return (str(e), 2 if isinstance(e, ValueError) else 1)
    return ("%s: %s" % (type(e).__name__, e), 1)


def run(args):
    if args.images_dir and args.demo:
        raise GridError("give IMAGES_DIR or --demo, not both")
    if not (args.images_dir or args.demo or args.dataset):
        raise GridError("give IMAGES_DIR, --dataset NAME or --demo")
    if args.images_dir and not os.path.isdir(args.images_dir):
        raise GridError("IMAGES_DIR %r is not a folder" % args.images_dir)
    config = config_from_args(args)  # every option is checked before anything is read
    if args.shards is not None and (args.shards < 1 or not args.queue):
        raise GridError("--shards N needs --queue and N of at least 1")

    _require_database()

    import fiftyone as fo

    from gridtsne.fo import imports, panel_colors  # noqa: F401 (its after-save hook)
    from gridtsne.fo.compute import compute_grid

    imported = None
    if args.demo:
        imported = imports.digits_dataset(os.path.join(config.output_dir, "digits"),
                                          name=args.dataset)
        dataset = imported.dataset
    elif args.images_dir:
        name = args.dataset or imports.dataset_name_for(args.images_dir)
        if fo.dataset_exists(name):
            _check_key(fo.load_dataset(name), config)
        imported = imports.folder_dataset(args.images_dir, name, LABEL_FIELD,
                                          skip_dirs=[config.output_dir])
        dataset = imported.dataset
        _report_undecodable(imported)
    else:
        if not fo.dataset_exists(args.dataset):
            raise GridError("no FiftyOne dataset named %r" % args.dataset)
        dataset = fo.load_dataset(args.dataset)

    if (config.label_field is None and dataset.media_type == "image"
            and not config.patches_field and dataset.has_field(LABEL_FIELD)):
        config = config.replace(label_field=LABEL_FIELD)

    print("Dataset %r: %d samples" % (dataset.name, len(dataset)))
    if args.queue:
        return _queue(dataset, config, args.shards)
    try:
        results = compute_grid(dataset, progress=None, **dataclasses.asdict(config))
    except Exception as e:
        if imported is not None and not _database_error(e):
            imported.undo()  # a failed run leaves the dataset as it found it
        raise
    _print_summary(results, dataset)
    if args.app:
        session = fo.launch_app(dataset)
        session.wait()
    return 0


def _queue(dataset, config, shards):
    from gridtsne.fo.delegated import queue_grid

    options = dataclasses.asdict(config)
    op_id = queue_grid(dataset, shards=shards, **options)
    print("Queued %s: %s" % ("as %d shards" % shards if shards and shards > 1 else "run", op_id))
    print("Run it with `fiftyone delegated launch` (one per worker); follow it with "
          "`fiftyone delegated list`, the App's grid_mosaic panel, or\n"
          "  python -c \"import gridtsne; print(gridtsne.grid_status('%s'))\"" % op_id)
    return 0


def _check_key(dataset, config):
    """The existing-key error before a folder is imported, not after."""
    from gridtsne.fo import runs

    if config.key in dataset.list_runs() and not config.overwrite:
        kind = "grid run" if runs.record(dataset, config.key) is not None else "run"
        raise GridError("Dataset %r already has a %s %r; pass <overwrite=True> to "
                        "replace it" % (dataset.name, kind, config.key))


def _print_summary(results, dataset):
    from gridtsne.fo.progress import timing_summary

    print()
    print("Grid %dx%d with %d images" % (results.rows, results.cols, results.n_samples))
    print(timing_summary(results.timings))
    for name, value in results.metrics.items():
        if value is not None:
            print("%s: %.3f" % (METRIC_NAMES.get(name, name), value))
    if results.curation_skipped:
        print("Label curation skipped: %s" % results.curation_skipped)
    if results.skipped:
        print("Skipped %d unusable images:" % len(results.skipped))
        for s in results.skipped[:10]:
            print("  %s: %s" % (s["filepath"], s["reason"]))
        if len(results.skipped) > 10:
            print("  ... (all %d in %s)" % (len(results.skipped), results.skipped_path))
    print("Mosaic: %s" % results.mosaic_path)
    if results.tiles_path:
        print("Tiles (Deep Zoom): %s" % results.tiles_path)
    print("Layout: %s" % results.layout_path)
    if results.skipped_path:
        print("Skipped: %s" % results.skipped_path)
    print("Dataset: %s (run key %r)" % (dataset.name, results.key))


if __name__ == "__main__":
    sys.exit(main())
