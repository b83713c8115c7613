"""``compute_grid`` and ``regrid``: the pipeline, from a view to a stored run.

Read samples -> check images -> embeddings -> layout (gridtsne.core.layout)
-> render into a private staging folder -> one atomic write
(gridtsne.fo.writer). Nothing touches the dataset before the write, so a
failure or a kill anywhere before it leaves the dataset as it was; the
writer makes the write itself all-or-nothing.
"""

import dataclasses
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

import gridtsne
from gridtsne.config import GridConfig, GridError
from gridtsne.core import embed as core_embed
from gridtsne.core import images as core_images
from gridtsne.core import layout as core_layout
from gridtsne.core import pyramid as core_pyramid
from gridtsne.core import render as core_render
from gridtsne.fo import files, runs, writer
from gridtsne.fo import model as gmodel
from gridtsne.fo.plan import checked_shape, plan_compute, vectors_from_values
from gridtsne.fo.progress import StageProgress

__all__ = ["compute_grid", "regrid", "GridError"]

logger = logging.getLogger(__name__)


def compute_grid(samples, key="grid", embeddings=None, model=None, progress=None,
                 **options):
    """Lays ``samples`` out on a similarity-sorted grid and renders its mosaic.

    Args:
        samples: a dataset or view of images
        key: the run key; fields ``{key}_x``, ``{key}_y``, ``{key}_row`` and
            ``{key}_col`` are written, files go to ``<output_dir>/<key>/``
        embeddings: None (compute them with ``model``), the name of a field
            holding vectors, or an (N, D) array in the order of ``samples``
        model: None (offline EfficientNet-Lite0), a FiftyOne model, a zoo
            model name or a torch module
        progress: None/True/False for terminal progress, or a callable
            ``progress(stage, fraction)``
        **options: the options of :class:`gridtsne.config.GridConfig`
            (embeddings_field, rows, cols, perplexity, metric, seed, cell_px,
            label_field, output_dir, mosaic_format, assignment, refine,
            batch_size, num_workers, max_pixels, strict, outline_suspicious,
            overwrite)

    Returns:
        a :class:`gridtsne.fo.runs.GridResults`
    """
    t_start = time.perf_counter()
    array = None if embeddings is None or isinstance(embeddings, str) else embeddings
    config = GridConfig(
        key=key, embeddings=embeddings if isinstance(embeddings, str) else None,
        model=model if isinstance(model, str) else None, **options)
    if array is not None and model is not None:
        raise GridError("Give either <embeddings> or <model>, not both")
    plan = plan_compute(samples, config, array=array, model_spec=model)
    try:
        return _compute(plan, StageProgress(progress), t_start)
    except BaseException:
        if plan.created_run_dir:
            files.release_run_dir(plan.run_dir)
        raise


def _compute(plan, stages, t_start):
    config, samples, dataset = plan.config, plan.samples, plan.dataset
    timings = {}
    ids, filepaths = samples.values(["id", "filepath"])
    labels = samples.values(plan.label_path) if plan.label_path else None

    reasons, digests = _timed(timings, "check", _check_images, filepaths, config.max_pixels,
                              stages)
    skipped = [{"id": ids[i], "filepath": filepaths[i], "reason": r}
               for i, r in enumerate(reasons) if r is not None]
    if config.strict and skipped:
        s = skipped[0]
        raise GridError("Sample %s (%s): %s" % (s["id"], s["filepath"], s["reason"]))
    keep = [i for i, r in enumerate(reasons) if r is None]

    t = time.perf_counter()
    vectors = _embeddings(plan, ids, filepaths, keep, stages)
    timings["embed"] = time.perf_counter() - t
    skipped.extend(vectors.failed)
    if config.strict and vectors.failed:
        s = vectors.failed[0]
        raise GridError("Sample %s (%s): %s" % (s["id"], s["filepath"], s["reason"]))
    keep = vectors.kept
    if skipped:
        logger.warning("Skipping %d of %d samples whose images cannot be used%s",
                       len(skipped), len(ids), _first_reasons(skipped))
    if len(keep) < 2:
        raise GridError("Only %d of %d samples have usable images; a grid needs at least 2%s"
                        % (len(keep), len(ids), _first_reasons(skipped)))
    rows, cols = checked_shape(len(keep), config.rows, config.cols)

    kept_labels = [labels[i] for i in keep] if labels is not None else None
    layout = core_layout.compute_layout(
        vectors.features, rows, cols, perplexity=config.perplexity, metric=config.metric,
        seed=config.seed, assignment=config.assignment, refine_cells=config.refine,
        labels=kept_labels, digests=[digests[i] for i in keep],
        load_image=_loader([filepaths[i] for i in keep], config.max_pixels),
        progress=stages.report)
    stages.end()
    timings.update(layout.timings)

    kept_ids = [ids[i] for i in keep]
    staging = files.Staging(plan.run_dir)  # the writer disposes of it once it has it
    try:
        legend = _timed(timings, "render", _render, plan.run_dir, staging, config,
                        [filepaths[i] for i in keep], layout, kept_labels, skipped, stages)
    except BaseException:
        staging.discard()
        raise
    values = {
        "%s_x" % config.key: layout.xy[:, 0].tolist(),
        "%s_y" % config.key: layout.xy[:, 1].tolist(),
        "%s_row" % config.key: layout.cells[:, 0].tolist(),
        "%s_col" % config.key: layout.cells[:, 1].tolist(),
    }
    values.update(_curation_values(config.key, layout))
    if vectors.store:
        values[config.store_embeddings_in] = list(vectors.features)
    record = {
        "params": config.to_dict(),
        "fields": _run_fields(config, layout),
        "embeddings_field": vectors.field,
        "embeddings_source": vectors.source,
        "model": vectors.model,
        "features_tag": vectors.features_tag,
        "run_dir": plan.run_dir,
        "brain_key": config.key,
        "gridtsne_version": gridtsne.__version__,
    }
    results = {
        "rows": rows, "cols": cols, "n_samples": len(keep), "n_total": len(ids),
        "skipped": skipped, "metrics": layout.metrics, "legend": legend,
        "curation_skipped": layout.curation_skipped,
    }
    results["timings"] = timings
    t = time.perf_counter()
    with stages.stage("save") as update:
        version = writer.write_run(dataset, writer.RunWrite(
            key=config.key, register_on=samples, ids=kept_ids, values=values,
            record=record, results=results, staging=staging,
            brain_points=layout.xy, overwrite=config.overwrite,
            keep_fields=[vectors.field] if vectors.field else [],
            field_types=_curation_types(config.key)), progress=update)
    timings.update(save=time.perf_counter() - t, total=time.perf_counter() - t_start)
    writer.update_results(dataset, config.key, version, timings=timings)
    core_embed.drop_cache(os.path.join(plan.run_dir, files.CACHE_DIR))
    return runs.load_grid(dataset, config.key)


def regrid(samples, key, rows=None, cols=None, cell_px=None, assignment=None, refine=None,
           mosaic_format=None, progress=None):
    """Lays an existing run out again: another grid shape, cell size, assignment
    or refinement, re-using its t-SNE coordinates (nothing is embedded or
    reduced again).

    The new options replace only what you pass; the rest, the grid shape
    included, stay as the run had them. With the same shape and method the
    cells stay where they are and only the mosaic is drawn again (with
    today's labels, so the legend matches it).
    """
    t_start = time.perf_counter()
    dataset = samples._dataset
    run = runs.load_grid(dataset, key)
    old = run.options
    config = old.replace(cell_px=cell_px, assignment=assignment, refine=refine,
                         mosaic_format=mosaic_format)
    if rows is not None or cols is not None:  # a new shape: the other side follows
        config = dataclasses.replace(config, rows=rows, cols=cols)
    stages = StageProgress(progress)
    view = run.placed_view()
    f = run.fields
    ids, filepaths, xs, ys, r, c = view.values(
        ["id", "filepath", f["x"], f["y"], f["row"], f["col"]])
    n = len(ids)
    shape = (run.rows, run.cols) if rows is None and cols is None else checked_shape(
        n, rows, cols)
    keep_cells = (shape == (run.rows, run.cols) and config.assignment == old.assignment
                  and config.refine == old.refine)
    features = None  # only a new layout needs them (cells kept: DPQ is unchanged)
    if not keep_cells and run.record.embeddings_field and dataset.has_field(
            run.record.embeddings_field):
        features = vectors_from_values(view.values(run.record.embeddings_field), ids,
                                       filepaths, run.record.embeddings_field)
    if not keep_cells and config.refine and features is None:
        raise GridError(
            "Grid run %r has no stored embeddings to refine a new layout with (they were "
            "passed as an array); pass <refine=False>, or compute the run again" % key)
    labels = view.values(runs.label_path(view, old.label_field)) if old.label_field else None
    layout = core_layout.compute_layout(
        features, *shape, metric=config.metric, seed=config.seed,
        assignment=config.assignment, refine_cells=config.refine, labels=labels,
        xy=np.stack([xs, ys], axis=1), cells=np.stack([r, c], axis=1) if keep_cells else None,
        curation=False, progress=stages.report)
    stages.end()
    if keep_cells and "dpq_16" in run.metrics:
        layout.metrics["dpq_16"] = run.metrics["dpq_16"]
    timings = dict(layout.timings)
    # the curation scores stay those of the computation (for the outline and layout.csv)
    for name, attr, missing in (("label_disagreement", "disagreement", np.nan),
                                ("duplicate_group", "duplicate_group", -1),
                                ("outlier", "outlier", np.nan)):
        if f.get(name):
            values = [missing if v is None else v for v in view.values(f[name])]
            setattr(layout, attr, np.asarray(values))

    staging = files.Staging(run.run_dir)  # the writer disposes of it once it has it
    try:
        legend = _timed(timings, "render", _render, run.run_dir, staging, config, filepaths,
                        layout, labels, run.skipped, stages)
    except BaseException:
        staging.discard()
        raise
    results = {
        "rows": shape[0], "cols": shape[1], "n_samples": n,
        "n_total": run._results["n_total"], "skipped": run.skipped,
        "timings": run.timings, "metrics": layout.metrics, "legend": legend,
        "curation_skipped": run.curation_skipped,
    }
    record = {k: v for k, v in run.record.serialize().items()
              if k not in ("cls", "type", "method", "version")}
    record["params"] = config.to_dict()
    results["regrid_timings"] = timings
    t = time.perf_counter()
    with stages.stage("save") as update:
        version = writer.write_run(dataset, writer.RunWrite(
            key=key, register_on=dataset, ids=ids,
            values={f["row"]: layout.cells[:, 0].tolist(),
                    f["col"]: layout.cells[:, 1].tolist()},
            record=record, results=results, staging=staging,
            expected_version=run.version), progress=update)
    timings.update(save=time.perf_counter() - t, total=time.perf_counter() - t_start)
    writer.update_results(dataset, key, version, regrid_timings=timings)
    return runs.load_grid(dataset, key)


def update_grid(samples, key, progress=None):
    """Places the samples added to run ``key``'s view since it was computed into
    its grid, without a full recompute: every sample placed before keeps its
    cell (see :mod:`gridtsne.core.extend`). The new samples are embedded with
    the run's model (or read from its embeddings field), put among their
    neighbours by openTSNE's ``transform``, given free cells (the grid grows
    at the bottom or right when it must) and refined among themselves; the
    curation scores and the mosaic are then made anew for all samples.
    """
    from gridtsne.core import extend

    t_start = time.perf_counter()
    dataset = samples._dataset
    run = runs.load_grid(dataset, key)
    config, record, f = run.options, run.record, run.fields
    stages = StageProgress(progress)
    skipped_ids = {s["id"] for s in run.skipped}
    placed = run.placed_view()
    old_ids = placed.values("id")
    candidates = [i for i in run.view.exists(f["row"], False).values("id")
                  if i not in skipped_ids]
    if not candidates:
        return run
    if record.embeddings_source == runs.ARRAY:
        raise GridError("Grid run %r was laid out from an array of embeddings, which were "
                        "not stored; compute it again with the new samples" % key)
    timings = {}
    new_view = dataset.select(candidates, ordered=True)
    new_paths = new_view.values("filepath")
    reasons, _ = _timed(timings, "check", _check_images, new_paths, config.max_pixels,
                        stages)
    skipped = [{"id": candidates[i], "filepath": new_paths[i], "reason": r}
               for i, r in enumerate(reasons) if r is not None]
    keep = [i for i, r in enumerate(reasons) if r is None]
    old_features = vectors_from_values(placed.values(record.embeddings_field), old_ids,
                                       placed.values("filepath"), record.embeddings_field)
    t = time.perf_counter()
    new_features, kept, failed = _new_embeddings(dataset, run, candidates, new_paths, keep,
                                                 stages)
    timings["embed"] = time.perf_counter() - t
    skipped += failed
    new_ids = [candidates[i] for i in kept]
    if not new_ids:
        raise GridError("None of the %d new samples of run %r has a usable image%s"
                        % (len(candidates), key, _first_reasons(skipped)))

    old_xy = np.stack(placed.values([f["x"], f["y"]]), axis=1)
    old_cells = np.stack(placed.values([f["row"], f["col"]]), axis=1)
    t = time.perf_counter()
    with stages.stage("assign") as update:
        new_xy, cells, rows, cols = extend.place_new(
            old_features, old_xy, old_cells, run.rows, run.cols, new_features,
            perplexity=config.perplexity, metric=config.metric, seed=config.seed,
            refine_cells=config.refine)
        update(1.0)
    timings["assign"] = time.perf_counter() - t

    ids = list(old_ids) + new_ids
    everything = dataset.select(ids, ordered=True)
    paths = everything.values("filepath")
    labels = (everything.values(runs.label_path(everything, config.label_field))
              if config.label_field else None)
    features = np.concatenate([old_features, new_features])
    _, digests = _check_images(paths, config.max_pixels, StageProgress(False))
    layout = core_layout.compute_layout(
        features, rows, cols, metric=config.metric, seed=config.seed, labels=labels,
        xy=np.concatenate([old_xy, new_xy]), cells=cells, digests=digests,
        load_image=_loader(paths, config.max_pixels), progress=stages.report)
    stages.end()
    timings.update(layout.timings)

    staging = files.Staging(run.run_dir)  # the writer disposes of it once it has it
    try:
        legend = _timed(timings, "render", _render, run.run_dir, staging, config, paths,
                        layout, labels, run.skipped + skipped, stages)
    except BaseException:
        staging.discard()
        raise
    values = {f["x"]: layout.xy[:, 0].tolist(), f["y"]: layout.xy[:, 1].tolist(),
              f["row"]: layout.cells[:, 0].tolist(), f["col"]: layout.cells[:, 1].tolist()}
    values.update(_curation_values(key, layout))
    rec = {k: v for k, v in record.serialize().items()
           if k not in ("cls", "type", "method", "version")}
    rec["fields"] = dict(record.fields, **{
        name: "%s_%s" % (key, name) for name in _curation_values(key, layout, True)})
    if record.embeddings_source != runs.FIELD:  # the run's own copy, new samples included
        rec.update(embeddings_field=config.store_embeddings_in,
                   embeddings_source=runs.COMPUTED)
        values[config.store_embeddings_in] = list(features)
    results = {
        "rows": rows, "cols": cols, "n_samples": len(ids),
        "n_total": run._results["n_total"] + len(candidates),
        "skipped": run.skipped + skipped, "timings": run.timings, "metrics": layout.metrics,
        "legend": legend, "curation_skipped": layout.curation_skipped,
        "update_timings": timings,
    }
    t = time.perf_counter()
    with stages.stage("save") as update:
        version = writer.write_run(dataset, writer.RunWrite(
            key=key, register_on=run.view, ids=ids, values=values, record=rec,
            results=results, staging=staging, brain_points=layout.xy,
            expected_version=run.version, field_types=_curation_types(key)), progress=update)
    timings.update(save=time.perf_counter() - t, total=time.perf_counter() - t_start)
    writer.update_results(dataset, key, version, update_timings=timings)
    return runs.load_grid(dataset, key)


def _new_embeddings(dataset, run, ids, paths, keep, stages):
    """Embeddings of the new samples ``keep`` (indices into ids/paths), as the
    run got its own: read from its field, or computed with its model."""
    record = run.record
    kept_ids = [ids[i] for i in keep]
    if record.embeddings_source == runs.FIELD:
        values = dataset.select(kept_ids, ordered=True).values(record.embeddings_field)
        return (vectors_from_values(values, kept_ids, [paths[i] for i in keep],
                                    record.embeddings_field), keep, [])
    kept_paths = [paths[i] for i in keep]
    if gmodel.is_default(record.model):
        with stages.stage("embed", total=len(kept_paths)) as update:
            features, bad = core_embed.embed_files(
                kept_paths, batch_size=run.options.batch_size,
                num_workers=run.options.num_workers, max_pixels=run.options.max_pixels,
                progress=lambda fraction: update(round(fraction * len(kept_paths))))
    else:
        features, bad = _embed_with_fiftyone(dataset, run.options, record.model, kept_ids,
                                             kept_paths, stages)
    failed = [{"id": kept_ids[j], "filepath": kept_paths[j], "reason": r}
              for j, r in sorted(bad.items())]
    good = [j for j in range(len(keep)) if j not in bad]
    return features[good], [keep[j] for j in good], failed


def _timed(timings, name, fn, *args):
    t = time.perf_counter()
    try:
        return fn(*args)
    finally:
        timings[name] = time.perf_counter() - t


def _loader(paths, max_pixels):
    """``load(i)`` -> image i, decoded small (for the duplicates' pixel check)."""
    from gridtsne.core.duplicates import THUMB_PX

    def load(i):
        try:
            return core_images.load_rgb(paths[i], max_pixels, min_side=THUMB_PX)
        except core_images.BadImageError:
            return None

    return load


def _check_images(filepaths, max_pixels, stages):
    """(why each file cannot be used or None, a hash of each file's bytes)."""
    threads = min(8, (os.cpu_count() or 1) + 2)

    def check(path):
        reason = core_images.check_image(path, max_pixels)
        return reason, None if reason else core_images.file_digest(path)

    reasons, digests = [], []
    with stages.stage("check", total=len(filepaths)) as update, \
            ThreadPoolExecutor(threads) as pool:
        for i, (reason, digest) in enumerate(pool.map(check, filepaths)):
            reasons.append(reason)
            digests.append(digest)
            if i % 64 == 0:
                update(i)
    return reasons, digests


class _Vectors:
    """The embeddings of the kept samples and where they come from."""

    def __init__(self, features, kept, failed=(), source=None, field=None, store=False,
                 model=None, features_tag=None):
        self.features, self.kept, self.failed = features, kept, list(failed)
        self.source, self.field, self.store = source, field, store
        self.model, self.features_tag = model, features_tag


def _embeddings(plan, ids, filepaths, keep, stages):
    config = plan.config
    if plan.array is not None:
        return _Vectors(plan.array[keep], keep, source=runs.ARRAY)
    if config.embeddings is not None:
        values = plan.dataset.select([ids[i] for i in keep], ordered=True).values(
            config.embeddings)
        features = vectors_from_values(values, [ids[i] for i in keep],
                                       [filepaths[i] for i in keep], config.embeddings)
        return _Vectors(features, keep, source=_field_source(plan, config.embeddings),
                        field=config.embeddings)

    name = gmodel.model_name(plan.model_spec)
    tag = core_embed.FEATURES_TAG if gmodel.is_default(plan.model_spec) else None
    kept_ids = [ids[i] for i in keep]
    for field in plan.reusable_fields:
        values = plan.dataset.select(kept_ids, ordered=True).values(field)
        if all(v is not None for v in values):
            features = vectors_from_values(values, kept_ids, [filepaths[i] for i in keep],
                                           field)
            logger.info("Re-using the %s embeddings in field %r", name, field)
            return _Vectors(features, keep, source=_field_source(plan, field), field=field,
                            model=name, features_tag=tag)

    paths = [filepaths[i] for i in keep]
    if gmodel.is_default(plan.model_spec):
        # finished batches are kept on disk until the run is written, so
        # re-running a killed run resumes instead of starting over
        with stages.stage("embed", total=len(paths)) as update:
            features, bad = core_embed.embed_files(
                paths, batch_size=config.batch_size, num_workers=config.num_workers,
                cache_dir=os.path.join(plan.run_dir, files.CACHE_DIR),
                max_pixels=config.max_pixels,
                progress=lambda fraction: update(round(fraction * len(paths))))
    else:
        features, bad = _embed_with_fiftyone(plan.dataset, config, plan.model_spec, kept_ids,
                                             paths, stages)
    failed = [{"id": ids[keep[j]], "filepath": paths[j], "reason": reason}
              for j, reason in sorted(bad.items())]
    good = [j for j in range(len(keep)) if j not in bad]
    return _Vectors(features[good], [keep[j] for j in good], failed, source=runs.COMPUTED,
                    field=config.store_embeddings_in, store=True, model=name,
                    features_tag=tag)


def _field_source(plan, field):
    """Whose is the field a run reads: a grid run's computed embeddings are
    shared (REUSED), or inherited when the run that computed them is the one
    being replaced (COMPUTED); anything else is the user's (FIELD)."""
    existing = runs.record(plan.dataset, plan.config.key)
    if existing is not None and field in existing.owned_fields():
        return runs.COMPUTED
    return runs.REUSED if field in plan.reusable_fields else runs.FIELD


def _embed_with_fiftyone(dataset, config, model_spec, kept_ids, paths, stages):
    """Another model through FiftyOne's compute_embeddings; a sample it fails
    on gets the reason our decoder gives for its file."""
    model = gmodel.model_from_spec(model_spec)
    view = dataset.select(kept_ids, ordered=True)
    with stages.stage("embed", total=len(kept_ids)) as update:
        vectors = view.compute_embeddings(
            model, batch_size=config.batch_size,
            num_workers=config.num_workers if config.num_workers is not None else 0,
            skip_failures=True, progress=gmodel.forward_progress(update, len(kept_ids)))
    bad = {}
    good = [v for v in vectors if v is not None]
    dim = len(np.ravel(good[0])) if good else 0
    features = np.zeros((len(kept_ids), dim), np.float32)
    for j, v in enumerate(vectors):
        if v is None:
            bad[j] = (core_images.check_image(paths[j])
                      or _decode_reason(paths[j]) or "the model failed on this image")
        else:
            features[j] = np.ravel(v)
    return features, bad


def _decode_reason(path):
    try:
        core_images.load_rgb(path)
    except core_images.BadImageError as e:
        return str(e)
    return None


def _render(run_dir, staging, config, paths, layout, labels, skipped, stages):
    """Mosaic (or Deep Zoom pyramid + overview), layout.csv and skipped.csv,
    into ``staging``; returns the legend of the label colours drawn."""
    rows, cols = layout.rows, layout.cols
    palette = core_render.label_colors(labels or [])
    colors = core_render.border_colors_for(labels) if labels is not None else None
    outline = core_layout.most_suspicious(layout.disagreement, config.outline_suspicious)
    with stages.stage("render", total=len(paths)) as update:
        progress = lambda fraction: update(round(fraction * len(paths)))  # noqa: E731
        kwargs = dict(cell_px=config.cell_px, border_colors=colors, outline=outline,
                      max_pixels=config.max_pixels, progress=progress)
        if core_pyramid.needs_pyramid(rows, cols, config.cell_px):
            _, mosaic = core_pyramid.write_pyramid(paths, layout.cells, rows, cols,
                                                   staging.new_path("tiles"), **kwargs)
        else:
            mosaic = core_render.render_mosaic(paths, layout.cells, rows, cols, **kwargs)
        core_render.save_image_atomic(mosaic, staging.new_path("mosaic." + config.mosaic_format))

    order = np.lexsort((layout.cells[:, 1], layout.cells[:, 0]))
    header = ["filepath", "label", "row", "col", "x", "y"]
    columns = []  # (name, values, format) of the curation scores the run has
    for name, values, fmt in (("label_disagreement", layout.disagreement, "%.4f"),
                              ("duplicate_group", layout.duplicate_group, "%d"),
                              ("outlier", layout.outlier, "%.4f")):
        if values is not None:
            header.append(name)
            columns.append((values, fmt))
    table = []
    for i in order:
        row = [paths[i], "" if labels is None or labels[i] is None else labels[i],
               int(layout.cells[i, 0]), int(layout.cells[i, 1]),
               "%.6g" % layout.xy[i, 0], "%.6g" % layout.xy[i, 1]]
        for values, fmt in columns:
            v = values[i]
            row.append("" if v is None or (fmt == "%d" and v < 0) or (
                fmt != "%d" and np.isnan(v)) else fmt % v)
        table.append(row)
    files.write_csv(staging.new_path("layout.csv"), header, table)
    if skipped:
        files.write_csv(staging.new_path("skipped.csv"), ["filepath", "reason"],
                        [[s["filepath"], s["reason"]] for s in skipped])
    return [[name, list(rgb)] for name, rgb in palette.items()]


def _run_fields(config, layout):
    fields = runs.grid_fields(config.key)
    fields.update({name: "%s_%s" % (config.key, name)
                   for name in _curation_values(config.key, layout, names_only=True)})
    return fields


def _curation_types(key):
    import fiftyone as fo

    return {"%s_label_disagreement" % key: fo.FloatField,
            "%s_duplicate_group" % key: fo.IntField, "%s_outlier" % key: fo.FloatField}


def _curation_values(key, layout, names_only=False):
    """{field: values} of the per-sample curation scores the layout has."""
    out = {}
    if layout.disagreement is not None:
        out["label_disagreement"] = [None if np.isnan(v) else float(v)
                                     for v in layout.disagreement]
    if layout.duplicate_group is not None:
        out["duplicate_group"] = [None if g < 0 else int(g) for g in layout.duplicate_group]
    if layout.outlier is not None:
        out["outlier"] = [float(v) for v in layout.outlier]
    if names_only:
        return list(out)
    return {"%s_%s" % (key, name): values for name, values in out.items()}


def _first_reasons(skipped, k=3):
    if not skipped:
        return ""
    shown = "; ".join("%s: %s" % (s["filepath"], s["reason"]) for s in skipped[:k])
    return " (%s%s)" % (shown, "; ..." if len(skipped) > k else "")

