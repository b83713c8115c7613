"""``compute_grid``: embeddings -> t-SNE -> grid -> mosaic, stored on a dataset.

Everything is computed in memory first and only then written, so a failure
(or a kill) before the write phase leaves the dataset exactly as it was. The
write phase puts values into temporary fields, then swaps them in by renaming,
and registers the run record last: a record therefore only exists for a run
whose fields are complete.
"""

import logging
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

import fiftyone.core.media as fom

import gridtsne
from gridtsne.core import curation as core_curation
from gridtsne.core import embed as core_embed
from gridtsne.core import grid as core_grid
from gridtsne.core import images as core_images
from gridtsne.core import metrics as core_metrics
from gridtsne.core import pyramid as core_pyramid
from gridtsne.core import reduce as core_reduce
from gridtsne.core import refine as core_refine
from gridtsne.core import render as core_render
from gridtsne.fo import model as gmodel
from gridtsne.fo import runs
from gridtsne.fo.lock import dataset_lock
from gridtsne.fo.progress import StageProgress

TMP_PREFIX = "gridtsne_tmp_"

logger = logging.getLogger(__name__)


class GridError(ValueError):
    """Bad input to a grid run, raised before anything is written."""


def compute_grid(
    samples,
    key="grid",
    embeddings=None,
    model=None,
    embeddings_field=None,
    rows=None,
    cols=None,
    perplexity=None,
    metric=core_reduce.DEFAULT_METRIC,
    seed=0,
    cell_px=core_render.DEFAULT_CELL_PX,
    label_field=None,
    mosaic_dir=None,
    mosaic_format="jpg",
    assignment="auto",
    refine=True,
    batch_size=64,
    num_workers=None,
    max_pixels=core_images.DEFAULT_MAX_PIXELS,
    strict=False,
    outline_suspicious=0.0,
    overwrite=False,
    progress=None,
):
    """Lays ``samples`` out on a similarity-sorted grid and renders its mosaic.

    Args:
        samples: a dataset or view of images
        key: the run key; fields ``{key}_x``, ``{key}_y``, ``{key}_row`` and
            ``{key}_col`` are written
        embeddings: None (compute them with ``model``), the name of a field
            holding vectors, or an (N, D) array in the order of ``samples``
        model: None (offline EfficientNet-Lite0), a FiftyOne model, a zoo
            model name or a torch module
        embeddings_field: where computed embeddings are stored (default
            ``{key}_embedding``)
        rows, cols: the grid shape; None for near-square
        perplexity, metric, seed: t-SNE settings
        cell_px: mosaic cell size in pixels
        label_field: optional label field for cell borders, metrics and the
            per-sample ``{key}_label_disagreement`` score (how likely the
            label is wrong given the sample's neighbours in embedding space)
        outline_suspicious: with a label field, outline this fraction of the
            samples (those with the highest disagreement) in the mosaic
        mosaic_dir: where the mosaic is written (default under
            ``fo.config.default_dataset_dir``)
        mosaic_format: "jpg" or "png"
        assignment: "auto", "exact" or "blocks" (see
            :func:`gridtsne.assign_to_grid`)
        refine: swap images so that each sits beside its most similar ones
            (:mod:`gridtsne.core.refine`; window by window above 10,000)
        max_pixels: images with more pixels are skipped
        strict: fail on the first unusable image instead of skipping it
        overwrite: replace an existing run with the same key
        progress: None/True/False for terminal bars, or a callable
            ``progress(stage, fraction)``

    Returns:
        a :class:`gridtsne.fo.runs.GridResults`
    """
    t_start = time.perf_counter()
    stages = StageProgress(progress)
    dataset = samples._dataset
    if not 0 <= float(outline_suspicious) <= 1:
        raise GridError("outline_suspicious must be a fraction in [0, 1]")
    plan = _validate(
        samples, key, embeddings, model, embeddings_field, rows, cols,
        cell_px, label_field, mosaic_dir, mosaic_format, assignment, overwrite,
    )
    plan["params"] = {
        "rows": rows, "cols": cols, "perplexity": perplexity, "metric": metric,
        "seed": seed, "cell_px": int(cell_px), "mosaic_format": mosaic_format,
        "assignment": assignment, "refine": bool(refine), "batch_size": batch_size,
        "max_pixels": max_pixels, "strict": bool(strict),
        "outline_suspicious": float(outline_suspicious),
    }
    timings = {}

    ids, filepaths = samples.values(["id", "filepath"])
    labels = samples.values(plan["label_path"]) if label_field else None

    t = time.perf_counter()
    with stages.stage("check") as update:
        reasons = _check_images(filepaths, max_pixels, update)
    timings["check"] = time.perf_counter() - t
    skipped = [
        {"id": ids[i], "filepath": filepaths[i], "reason": r}
        for i, r in enumerate(reasons)
        if r is not None
    ]
    if strict and skipped:
        raise GridError(
            "Sample %s (%s): %s" % (skipped[0]["id"], skipped[0]["filepath"],
                                    skipped[0]["reason"])
        )
    keep = [i for i, r in enumerate(reasons) if r is None]
    if skipped:
        logger.warning(
            "Skipping %d of %d samples whose images cannot be used%s; the list is "
            "in the run's results (GridResults.skipped)",
            len(skipped), len(ids), _first_reasons(skipped),
        )

    t = time.perf_counter()
    features, keep, failed = _embeddings(
        samples, dataset, ids, filepaths, keep, embeddings, plan, batch_size,
        num_workers, stages,
    )
    skipped.extend(failed)
    timings["embed"] = time.perf_counter() - t
    if len(keep) < 2:
        raise GridError(
            "Only %d of %d samples have usable images; a grid needs at least 2%s"
            % (len(keep), len(ids), _first_reasons(skipped))
        )

    n = len(keep)
    shape = core_grid.grid_shape(n, rows, cols)

    t = time.perf_counter()
    with stages.stage("tsne") as update:
        xy = core_reduce.tsne_2d(
            features, perplexity=perplexity, metric=metric, seed=seed,
            progress=update,
        )
    timings["tsne"] = time.perf_counter() - t

    judged = core_reduce.in_metric_space(features, metric)
    cells = _layout_cells(xy, shape, assignment, judged if refine else None,
                          seed, stages, timings)

    keep_ids = [ids[i] for i in keep]
    keep_labels = [labels[i] for i in keep] if labels is not None else None
    colors = core_render.border_colors_for(keep_labels) if keep_labels is not None else None

    disagreement = None
    if keep_labels is not None:
        t = time.perf_counter()
        disagreement = core_curation.label_disagreement(features, keep_labels, seed=seed)
        timings["curation"] = time.perf_counter() - t

    t = time.perf_counter()
    with stages.stage("render") as update:
        staged = _render_staged(
            [filepaths[i] for i in keep], cells, shape, cell_px, plan["mosaic_dir"],
            mosaic_format, colors, _most_suspicious(disagreement, outline_suspicious),
            max_pixels, update,
        )
    timings["render"] = time.perf_counter() - t

    t = time.perf_counter()
    metrics = layout_metrics(judged, cells, keep_labels)
    timings["metrics"] = time.perf_counter() - t

    with stages.stage("save", total=1):
        values = {
            "x": xy[:, 0].tolist(),
            "y": xy[:, 1].tolist(),
            "row": cells[:, 0].tolist(),
            "col": cells[:, 1].tolist(),
        }
        if plan["embeddings_computed"]:
            values["embedding"] = [np.asarray(f) for f in features]
        if disagreement is not None:
            values["label_disagreement"] = [
                None if np.isnan(v) else float(v) for v in disagreement
            ]
        timings["total"] = time.perf_counter() - t_start
        _write(
            samples, key, plan, keep_ids, values, xy, shape, staged,
            skipped, len(ids), timings, metrics,
        )
    shutil.rmtree(_embedding_cache(plan), ignore_errors=True)
    return runs.load_grid(dataset, key)


def _layout_cells(xy, shape, assignment, features, seed, stages, timings):
    """t-SNE coordinates -> grid cells; refined when ``features`` are given."""
    t = time.perf_counter()
    with stages.stage("assign", total=1):
        cells = core_grid.assign_to_grid(
            core_grid.scale_to_grid(xy, *shape), *shape, method=assignment
        )
    timings["assign"] = time.perf_counter() - t
    if features is None:
        return cells
    t = time.perf_counter()
    with stages.stage("refine") as update:
        cells = core_refine.refine_grid(features, cells, *shape, seed=seed, progress=update)
    timings["refine"] = time.perf_counter() - t
    return cells


def _most_suspicious(scores, fraction):
    """Booleans marking the ``fraction`` of samples with the highest scores."""
    if scores is None or not fraction:
        return None
    scores = np.nan_to_num(np.asarray(scores, dtype=np.float64), nan=-1.0)
    k = int(round(fraction * len(scores)))
    marked = np.zeros(len(scores), dtype=bool)
    marked[np.argsort(-scores, kind="stable")[:k]] = True
    return marked.tolist()


class _StagedMosaic:
    """A rendered mosaic (and tile pyramid) beside the current one, until the
    run's write phase swaps it in; a failed run discards it."""

    def __init__(self, folder, fmt):
        self.mosaic = os.path.join(folder, "mosaic." + fmt)
        self.tiles = os.path.join(folder, "tiles")
        self.new_mosaic = "%s.new.%s" % (self.mosaic, fmt)
        self.new_tiles = self.tiles + ".new"
        shutil.rmtree(self.new_tiles, ignore_errors=True)

    def install(self):
        """Swaps the new files in; returns (mosaic path, .dzi path or None)."""
        os.replace(self.new_mosaic, self.mosaic)
        old = self.tiles + ".old"
        shutil.rmtree(old, ignore_errors=True)
        if os.path.exists(self.tiles):
            os.rename(self.tiles, old)
        dzi = None
        if os.path.exists(self.new_tiles):
            os.rename(self.new_tiles, self.tiles)
            dzi = os.path.join(self.tiles, "mosaic.dzi")
        shutil.rmtree(old, ignore_errors=True)
        return self.mosaic, dzi

    def discard(self):
        if os.path.exists(self.new_mosaic):
            os.remove(self.new_mosaic)
        shutil.rmtree(self.new_tiles, ignore_errors=True)


def _render_staged(paths, cells, shape, cell_px, folder, fmt, colors, outline,
                   max_pixels, update):
    """Renders the mosaic, or above PYRAMID_ABOVE_SIDE a Deep Zoom pyramid at
    full cell size plus its overview as the mosaic, beside the current files."""
    staged = _StagedMosaic(folder, fmt)
    try:
        if core_pyramid.needs_pyramid(*shape, cell_px):
            _, mosaic = core_pyramid.write_pyramid(
                paths, cells, *shape, staged.new_tiles, cell_px=int(cell_px),
                border_colors=colors, outline=outline, max_pixels=max_pixels,
                progress=update,
            )
        else:
            mosaic = core_render.render_mosaic(
                paths, cells, *shape, cell_px=int(cell_px), border_colors=colors,
                outline=outline, max_pixels=max_pixels, progress=update,
            )
        core_render.save_image_atomic(mosaic, staged.new_mosaic)
    except BaseException:
        staged.discard()
        raise
    return staged


def layout_metrics(features, cells, labels=None):
    """The quality figures stored with every run (see gridtsne.core.metrics)."""
    metrics = {}
    if features is not None:
        metrics["dpq_16"] = core_metrics.distance_preservation_quality(features, cells, p=16)
    if labels is not None:
        metrics["neighbor_label_agreement"] = core_metrics.neighbor_label_agreement(
            cells, labels
        )
        metrics["knn10_label_accuracy"] = core_metrics.knn_label_accuracy(cells, labels, k=10)
    return metrics


def _validate(samples, key, embeddings, model, embeddings_field, rows, cols,
              cell_px, label_field, mosaic_dir, mosaic_format, assignment,
              overwrite):
    """Every check that can fail before work starts; returns the run's plan."""
    runs.validate_key(key)
    dataset = samples._dataset
    if dataset.media_type != fom.IMAGE:
        raise GridError(
            "Dataset %r has %s media; gridtsne lays out images only"
            % (dataset.name, dataset.media_type)
        )
    n = len(samples)
    if n < 2:
        raise GridError(
            "The view has %d sample%s; a grid needs at least 2"
            % (n, "" if n == 1 else "s")
        )
    if embeddings is not None and model is not None:
        raise GridError("Pass either embeddings or model, not both")
    _checked_grid_shape(n, rows, cols)
    if assignment not in ("auto", "exact", "blocks"):
        raise GridError("assignment must be 'auto', 'exact' or 'blocks'")
    if mosaic_format not in ("jpg", "png"):
        raise GridError("mosaic_format must be 'jpg' or 'png'")
    _checked_cell_px(cell_px)

    existing = _existing_record(dataset, key, overwrite)

    schema = dataset.get_field_schema()
    mine = set(runs.owned_fields(existing)) if existing else set()
    new_fields = list(runs.grid_fields(key).values())

    if label_field:
        new_fields.append(runs.disagreement_field(key))
    embeddings_computed = embeddings is None
    if embeddings_computed:
        embeddings_field = embeddings_field or runs.default_embeddings_field(key)
        new_fields.append(embeddings_field)
    elif isinstance(embeddings, str):
        embeddings_field = embeddings
        if embeddings_field not in schema:
            raise GridError(
                "Embeddings field %r does not exist on dataset %r"
                % (embeddings_field, dataset.name)
            )
    else:
        embeddings_field = None
        if len(embeddings) != n:
            raise GridError(
                "embeddings has %d rows for %d samples" % (len(embeddings), n)
            )

    for field in new_fields:
        if field in schema and field not in mine:
            raise GridError(
                "Field %r already exists on dataset %r and is not from grid run "
                "%r; choose another key or field name" % (field, dataset.name, key)
            )

    brain_runs = dataset.list_brain_runs()
    if key in brain_runs and not (existing and existing.get("brain_key") == key):
        raise GridError(
            "Dataset %r already has a brain run %r; choose another key"
            % (dataset.name, key)
        )

    label_path_ = runs.label_path(samples, label_field) if label_field else None

    mosaic_dir = os.path.abspath(
        os.path.expanduser(mosaic_dir or runs.default_mosaic_dir(dataset, key))
    )
    try:
        os.makedirs(mosaic_dir, exist_ok=True)
        probe = os.path.join(mosaic_dir, ".gridtsne-write-test")
        with open(probe, "w"):
            pass
        os.remove(probe)
    except OSError as e:
        raise GridError("Cannot write to mosaic folder %r: %s" % (mosaic_dir, e))

    return {
        "existing": existing,
        # re-using the embeddings a run being replaced computed: keep owning them
        "inherits_embeddings": bool(
            existing
            and existing.get("embeddings_computed")
            and existing.get("embeddings_field") == embeddings_field
            and not embeddings_computed
        ),
        "embeddings_field": embeddings_field,
        "embeddings_computed": embeddings_computed,
        "model": gmodel.model_name(model) if embeddings_computed else None,
        "model_spec": model,
        "label_path": label_path_,
        "label_field": label_field,
        "mosaic_dir": mosaic_dir,
        "overwrite": bool(overwrite),
    }


def _checked_cell_px(cell_px):
    if int(cell_px) < 4 or int(cell_px) > 1024:
        raise GridError("cell_px must be between 4 and 1024, got %s" % cell_px)
    return int(cell_px)


def _checked_grid_shape(n, rows, cols):
    try:
        return core_grid.grid_shape(n, rows, cols)
    except ValueError as e:
        raise GridError(str(e)) from None


def _existing_record(dataset, key, overwrite):
    """The config of the record a new run ``key`` replaces, or None.

    A complete run needs ``overwrite``; an interrupted one is always replaced.
    """
    existing = runs.run_config(dataset, key)
    if existing is not None and runs.has_grid(dataset, key) and not overwrite:
        raise GridError(
            "Dataset %r already has a grid run %r; pass overwrite=True to "
            "replace it" % (dataset.name, key)
        )
    return existing


def _checkpoint(name):
    """Test hook: with GRIDTSNE_TEST_HOLD_AT=name the process stops here (so a
    test can SIGKILL it at an exact point of the write phase)."""
    if os.environ.get("GRIDTSNE_TEST_HOLD_AT") == name:
        import sys

        print("GRIDTSNE_HOLD %s" % name, file=sys.stderr, flush=True)
        while True:
            time.sleep(60)


def _check_images(filepaths, max_pixels, update):
    threads = min(8, (os.cpu_count() or 1) + 2)
    reasons = []
    with ThreadPoolExecutor(threads) as pool:
        for i, reason in enumerate(
            pool.map(lambda p: core_images.check_image(p, max_pixels), filepaths)
        ):
            reasons.append(reason)
            if i % 64 == 0:
                update(i / len(filepaths))
    return reasons


def _embeddings(samples, dataset, ids, filepaths, keep, embeddings, plan,
                batch_size, num_workers, stages):
    """(features of the kept samples, kept indices, newly skipped samples)."""
    failed = []
    if plan["embeddings_computed"] and gmodel.is_default(plan["model_spec"]):
        # the default embedder: parallel decoding, ONNX Runtime on the CPU, and
        # finished batches kept on disk until the run is written, so re-running
        # a killed run resumes instead of starting over
        with stages.stage("embed") as update:
            vectors, bad = core_embed.embed_files(
                [filepaths[i] for i in keep], batch_size=max(int(batch_size), 1),
                num_workers=num_workers, cache_dir=_embedding_cache(plan),
                max_pixels=plan["params"]["max_pixels"], progress=update,
            )
        vectors = [None if j in bad else v for j, v in enumerate(vectors)]
    elif plan["embeddings_computed"]:
        model = gmodel.model_from_spec(plan["model_spec"])
        view = dataset.select([ids[i] for i in keep], ordered=True)
        with stages.stage("embed", bar=False):
            vectors = view.compute_embeddings(
                model, batch_size=batch_size, num_workers=num_workers,
                skip_failures=True, progress=stages.for_fiftyone("embed"),
            )
        vectors = list(vectors)
    elif isinstance(embeddings, str):
        vectors = dataset.select([ids[i] for i in keep], ordered=True).values(
            embeddings
        )
    else:
        vectors = [embeddings[i] for i in keep]

    out, kept, dim = [], [], None
    for i, v in zip(keep, vectors):
        if v is None:
            reason = "no embedding (the model failed on this image)"
            if not plan["embeddings_computed"]:
                raise GridError(
                    "Sample %s (%s) has no value in embeddings field %r"
                    % (ids[i], filepaths[i], plan["embeddings_field"])
                )
            failed.append({"id": ids[i], "filepath": filepaths[i], "reason": reason})
            continue
        v = np.asarray(v, dtype=np.float64).ravel()
        if dim is None:
            dim = len(v)
        if len(v) != dim or not np.all(np.isfinite(v)):
            problem = (
                "has a %d-d embedding where others are %d-d" % (len(v), dim)
                if len(v) != dim
                else "has a non-finite embedding value"
            )
            raise GridError("Sample %s (%s) %s" % (ids[i], filepaths[i], problem))
        out.append(v)
        kept.append(i)
    features = np.stack(out) if out else np.zeros((0, 0))
    return features, kept, failed


def _embedding_cache(plan):
    return os.path.join(plan["mosaic_dir"], ".embedding-batches")


def _first_reasons(skipped, k=3):
    if not skipped:
        return ""
    shown = "; ".join("%s: %s" % (s["filepath"], s["reason"]) for s in skipped[:k])
    return " (%s%s)" % (shown, "; ..." if len(skipped) > k else "")


def _write(samples, key, plan, keep_ids, values, xy, shape, staged,
           skipped, n_total, timings, metrics):
    """The write phase: temp fields, swap, brain run, mosaic, then the record."""
    import fiftyone.brain as fob

    dataset = samples._dataset
    targets = dict(runs.grid_fields(key))
    if plan["embeddings_computed"]:
        targets["embedding"] = plan["embeddings_field"]
    if "label_disagreement" in values:
        targets["label_disagreement"] = runs.disagreement_field(key)
    record = dict(
        method=runs.METHOD,
        version=gridtsne.__version__,
        status=runs.WRITING,
        embeddings_field=plan["embeddings_field"],
        embeddings_computed=plan["embeddings_computed"] or plan["inherits_embeddings"],
        model=plan["model"],
        x_field=targets["x"],
        y_field=targets["y"],
        row_field=targets["row"],
        col_field=targets["col"],
        label_field=plan["label_field"],
        disagreement_field=targets.get("label_disagreement"),
        brain_key=key,
        mosaic_dir=plan["mosaic_dir"],
        params=plan["params"],
    )

    def replace_old_run():
        # another process may have written a run with this key meanwhile
        existing = _existing_record(dataset, key, plan["overwrite"])
        if existing is not None:
            runs.delete_grid_unlocked(
                dataset, key, delete_files=False, keep_fields=[plan["embeddings_field"]]
            )
        # registered on the view, so that the record keeps the view's stages
        samples.register_run(key, dataset.init_run(**record), overwrite=True, cleanup=False)
        _checkpoint("after_pending_record")

    try:
        with dataset_lock(dataset):
            dataset.reload()
            _swap_in_fields(
                dataset, key, keep_ids,
                {targets[name]: vals for name, vals in values.items()},
                before_swap=replace_old_run,
            )
            placed = dataset.select(keep_ids, ordered=True)
            fob.compute_visualization(placed, points=xy, brain_key=key, progress=False)
            mosaic_path, tiles_path = staged.install()
            results = dataset.init_run_results(
                key,
                rows=int(shape[0]),
                cols=int(shape[1]),
                mosaic_path=mosaic_path,
                tiles_path=tiles_path,
                n_samples=len(keep_ids),
                n_total=n_total,
                skipped=skipped,
                timings=timings,
                metrics=metrics,
            )
            dataset.save_run_results(key, results, cache=False)
            # last: only now does the record claim success
            record["status"] = runs.COMPLETE
            dataset.update_run_config(key, dataset.init_run(**record))
    finally:
        staged.discard()


def _drop_fields(dataset, fields):
    schema = dataset.get_field_schema()
    for field in fields:
        if field in schema:
            dataset.delete_sample_field(field)


def _swap_in_fields(dataset, key, ids, values, before_swap=None):
    """Writes ``{field: values}`` for ``ids`` as a whole or not at all.

    Values go to temporary fields first (a failure there drops them and
    leaves the dataset as it was); then ``before_swap`` runs, old fields are
    dropped and the temporary ones renamed into place.
    """
    prefix = "%s%s_" % (TMP_PREFIX, key)
    _drop_fields(dataset, [f for f in dataset.get_field_schema() if f.startswith(prefix)])
    tmp = {field: prefix + field for field in values}
    try:
        for field, vals in values.items():
            dataset.set_values(tmp[field], dict(zip(ids, vals)), key_field="id")
    except BaseException:
        _drop_fields(dataset, tmp.values())
        raise
    _checkpoint("before_swap")
    if before_swap is not None:
        before_swap()
    _drop_fields(dataset, list(values))
    for field, tmp_field in tmp.items():
        dataset.rename_sample_field(tmp_field, field)


def regrid(samples, key, rows=None, cols=None, cell_px=None, label_field=None,
           assignment="auto", refine=None, progress=None):
    """Re-snaps an existing run to another grid shape or cell size.

    Re-uses the run's t-SNE coordinates, so nothing is embedded or reduced
    again; the row/col fields, the mosaic and the record are replaced.
    ``refine=None`` refines as the run did (it needs the stored embeddings).
    """
    t_start = time.perf_counter()
    stages = StageProgress(progress)
    dataset = samples._dataset
    results = runs.load_grid(dataset, key)
    config = dict(results.config)
    params = dict(config.get("params") or {})
    fields = results.fields
    view = results.placed_view()
    ids, filepaths, xs, ys = view.values(["id", "filepath", fields["x"], fields["y"]])
    n = len(ids)
    cell_px = _checked_cell_px(cell_px or params.get("cell_px") or core_render.DEFAULT_CELL_PX)
    shape = _checked_grid_shape(n, rows, cols)
    label_field = label_field if label_field is not None else config.get("label_field")
    labels = view.values(runs.label_path(view, label_field)) if label_field else None
    outline = None
    if config.get("disagreement_field") and dataset.has_field(config["disagreement_field"]):
        outline = _most_suspicious(
            [np.nan if v is None else v for v in view.values(config["disagreement_field"])],
            params.get("outline_suspicious", 0.0),
        )

    features = None
    if config.get("embeddings_field") and dataset.has_field(config["embeddings_field"]):
        vectors = view.values(config["embeddings_field"])
        if all(v is not None for v in vectors):
            features = core_reduce.in_metric_space(
                [np.asarray(v, dtype=np.float64).ravel() for v in vectors],
                params.get("metric", core_reduce.DEFAULT_METRIC),
            )

    xy = np.stack([xs, ys], axis=1).astype(np.float64)
    timings = dict(results.timings or {})
    refine = params.get("refine", False) if refine is None else bool(refine)
    cells = _layout_cells(xy, shape, assignment, features if refine else None,
                          params.get("seed") or 0, stages, timings)

    colors = core_render.border_colors_for(labels) if labels is not None else None
    t = time.perf_counter()
    with stages.stage("render") as update:
        staged = _render_staged(
            filepaths, cells, shape, cell_px, config["mosaic_dir"],
            params.get("mosaic_format", "jpg"), colors, outline,
            params.get("max_pixels"), update,
        )
    timings["render"] = time.perf_counter() - t

    metrics = layout_metrics(features, cells, labels)
    with stages.stage("save", total=1), dataset_lock(dataset):
        dataset.reload()
        try:
            _swap_in_fields(
                dataset, key, ids,
                {fields["row"]: cells[:, 0].tolist(), fields["col"]: cells[:, 1].tolist()},
            )
        except BaseException:
            staged.discard()
            raise
        mosaic_path, tiles_path = staged.install()
        params.update(rows=rows, cols=cols, cell_px=cell_px, assignment=assignment,
                      refine=refine)
        info = dataset.get_run_info(key)
        info.config.params = params
        info.config.label_field = label_field
        dataset.update_run_config(key, info.config)
        timings["total"] = timings.get("total", 0) + time.perf_counter() - t_start
        stored = dataset.load_run_results(key, cache=False, load_view=False)
        new = dataset.init_run_results(
            key, rows=int(shape[0]), cols=int(shape[1]), mosaic_path=mosaic_path,
            tiles_path=tiles_path, n_samples=n, n_total=getattr(stored, "n_total", n),
            skipped=stored.skipped, timings=timings, metrics=metrics,
        )
        dataset.save_run_results(key, new, cache=False)
    return runs.load_grid(dataset, key)
