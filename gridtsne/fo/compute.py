"""``compute_grid``, ``regrid`` and ``update_grid``: the pipeline, from a view
to a stored run.

Read samples -> check images -> embeddings -> layout (gridtsne.core.layout)
-> :func:`save_run`, the one save path of all three: render into a private
staging folder, then one atomic write (gridtsne.fo.writer). Nothing touches
the dataset before the write, so a failure or a kill anywhere before it
leaves the dataset as it was; the writer makes the write itself
all-or-nothing.
"""

import dataclasses
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

import gridtsne
from gridtsne.config import GridConfig, GridError
from gridtsne.core import celltable
from gridtsne.core import embed as core_embed
from gridtsne.core import images as core_images
from gridtsne.core import layout as core_layout
from gridtsne.core import metrics as core_metrics
from gridtsne.fo import (embedding, fieldpaths, files, items, output_fields, outputs, runs,
                         similarity, writer)
from gridtsne.fo import regions as run_regions
from gridtsne.fo.plan import checked_shape, plan_compute, vectors_from_values
from gridtsne.fo.progress import StageProgress

__all__ = ["compute_grid", "regrid", "update_grid", "GridError"]

logger = logging.getLogger(__name__)


def compute_grid(samples, key="grid", embeddings=None, model=None, progress=None,
                 shard_run=None, **options):
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
        shard_run: the id of a sharded run whose shards embedded ``samples``
            (its layout operation passes it; see :mod:`gridtsne.fo.shards`)
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
    plan.shard_run = shard_run
    try:
        return _compute(plan, StageProgress(progress), t_start)
    except BaseException:
        if plan.created_run_dir:
            files.release_run_dir(plan.run_dir)
        raise


def _compute(plan, stages, t_start):
    config = plan.config
    timings = {}
    its = items.read(plan.samples, plan.kind, plan.label_path, plan.list_path,
                     config.patch_context)
    noun = "object" if plan.kind == items.LABELS else "sample"

    reasons, digests, sizes = _timed(timings, "check", _check_items, its, config.max_pixels,
                                     stages)
    skipped = [items.skipped(its, i, r) for i, r in enumerate(reasons) if r is not None]
    if config.strict and skipped:
        raise GridError(_skipped_line(skipped[0], noun))
    keep = [i for i, r in enumerate(reasons) if r is None]

    t = time.perf_counter()
    vectors = embedding.for_run(plan, its, keep, stages)
    timings["embed"] = time.perf_counter() - t
    skipped.extend(vectors.failed)
    if config.strict and vectors.failed:
        raise GridError(_skipped_line(vectors.failed[0], noun))
    keep = vectors.kept
    if skipped:
        logger.warning("Skipping %d of %d %ss that cannot be used%s", len(skipped),
                       len(its.ids), noun, _first_reasons(skipped))
    if len(keep) < 2:
        raise GridError("Only %d of %d %ss have usable images; a grid needs at least 2%s"
                        % (len(keep), len(its.ids), noun, _first_reasons(skipped)))
    rows, cols = checked_shape(len(keep), config.rows, config.cols)

    kept = items.subset(its, keep)
    layout = core_layout.compute_layout(
        vectors.features, rows, cols, perplexity=config.perplexity, metric=config.metric,
        seed=config.seed, assignment=config.assignment, refine_cells=config.refine,
        labels=kept.labels, digests=None if digests is None else [digests[i] for i in keep],
        sizes=[sizes[i] for i in keep], load_image=_loader(kept, config.max_pixels),
        thumbs=vectors.thumbs, curation=config.curation,
        duplicate_threshold=config.duplicate_threshold,
        classify=run_regions.classifier(vectors.features_tag), progress=stages.report)
    stages.end()
    timings.update(layout.timings)
    return render_and_write(plan, len(its.ids), kept, vectors, layout, skipped, timings,
                            stages, t_start)


def render_and_write(plan, n_total, kept, vectors, layout, skipped, timings, stages, t_start):
    """Saves a computed layout of the items ``kept`` (also what
    benchmarks/bench_scale.py times at 1,000,000)."""
    config = plan.config
    values = {plan.path(name): v
              for name, v in output_fields.layout_values(config.key, layout).items()}
    if vectors.store:
        values[vectors.field] = list(vectors.features)
    record = {
        "params": config.to_dict(),
        "items": plan.kind,
        "patches_field": config.patches_field,
        "patch_context": config.patch_context if plan.kind == items.LABELS else None,
        "fields": {name: plan.path(field)
                   for name, field in output_fields.run_fields(config.key, layout).items()},
        "embeddings_field": vectors.field,
        "embeddings_source": vectors.source,
        "model": vectors.model,
        "features_tag": vectors.features_tag,
        "run_dir": plan.run_dir,
        "brain_key": config.key,
        "gridtsne_version": gridtsne.__version__,
    }
    saved = save_run(Save(
        plan.dataset, config.key, plan.run_dir, config, kept, layout, skipped,
        record=record, values=values, timings_as="timings",
        results={"n_total": n_total, "curation_skipped": layout.curation_skipped},
        features=vectors.features,
        write=dict(register_on=plan.samples, brain_points=layout.xy,
                   overwrite=config.overwrite,
                   keep_fields=[vectors.field] if vectors.field else [],
                   field_types=output_fields.field_types(config.key, plan.prefix,
                                                         vectors.field),
                   items=_writer_items(plan.kind, kept, plan))), timings, stages, t_start)
    core_embed.drop_cache(os.path.join(plan.run_dir, files.CACHE_DIR))
    return saved


@dataclasses.dataclass
class Save:
    """One write of a run, whichever call made it (compute_grid, regrid or
    update_grid): the placed items ``its`` and their ``layout``, and what the
    write adds to the run's record, results and fields."""

    dataset: object
    key: str
    run_dir: str
    config: GridConfig
    its: object  # gridtsne.fo.items.ItemSet of the placed items, in the layout's order
    layout: object  # gridtsne.core.layout.Layout
    skipped: list
    record: dict  # the record's attributes
    values: dict  # field path -> values, in the order of its.ids
    results: dict  # figures beside those every write has (n_total, timings...)
    timings_as: str  # the results entry of this call's timings
    write: dict = dataclasses.field(default_factory=dict)  # more writer.RunWrite arguments
    features: object = None  # the vectors, when no field holds them (for the similarity index)


_after_save = []


def after_save(hook):
    """Registers ``hook(results)``, called with every run once it is saved:
    how the panel layer makes its files for a new run ahead (see
    gridtsne.fo.panel_colors.prepare) without the pipeline importing it. A
    hook that fails costs only what it would have made."""
    if hook not in _after_save:
        _after_save.append(hook)


def save_run(s, timings, stages, t_start):
    """The one save path: the run's files rendered into a staging folder, then
    fields, brain run, record and files written at once by the writer, the
    final timings stored, and the saved run handed to the after-save hooks."""
    staging = files.Staging(s.run_dir)  # the writer disposes of it once it has it
    try:
        legend = _timed(timings, "render", outputs.render, staging, s.config, s.its, s.layout,
                        s.skipped, stages)
    except BaseException:
        staging.discard()
        raise
    rows, cols = s.layout.rows, s.layout.cols
    results = dict(s.results, rows=rows, cols=cols, n_samples=len(s.its.ids),
                   skipped=s.skipped, metrics=s.layout.metrics, legend=legend,
                   regions=run_regions.stored(s.its, s.layout),
                   cells_sha256=_cells_digest(s.its, s.layout.cells, rows, cols))
    results[s.timings_as] = timings
    previous_index = (similarity.owned_key(s.dataset, s.key)
                      if s.key in s.dataset.list_runs() else None)
    t = time.perf_counter()
    with stages.stage("save") as update:
        version = writer.write_run(s.dataset, writer.RunWrite(
            key=s.key, ids=s.its.ids, values=s.values, record=s.record,
            record_cls=runs.GridRunConfig, results=results, staging=staging, **s.write),
            progress=update)
    timings.update(save=time.perf_counter() - t)
    t = time.perf_counter()
    index = similarity.index_saved_run(s.dataset, s.key, s.its, s.record.get("embeddings_field"),
                                       s.features, previous_index)
    timings.update(similarity=time.perf_counter() - t, total=time.perf_counter() - t_start)
    writer.update_results(s.dataset, s.key, version, similarity_key=index,
                          **{s.timings_as: timings})
    saved = runs.load_grid(s.dataset, s.key)
    for hook in list(_after_save):
        try:
            hook(saved)
        except Exception:
            logger.debug("An after-save hook failed for run %r", s.key, exc_info=True)
    return saved


def _writer_items(kind, its, plan_or_run):
    if kind == items.LABELS:
        return items.Target(items.LABELS, path=its.list_path, sample_ids=its.sample_ids,
                            patches_field=its.list_path.rsplit(".", 1)[0])
    if kind == items.FRAMES:  # written through a frames view (FiftyOne syncs the videos)
        view = plan_or_run.samples if hasattr(plan_or_run, "samples") else plan_or_run.view
        return items.Target(items.FRAMES, view=view)
    return items.Target()


def _cells_digest(its, cells, rows, cols):
    """What the run records of its cell table, for the panel to check cached
    copies against (see gridtsne.core.celltable)."""
    return celltable.table_digest(its.ids, cells, cols, rows * cols,
                                  its.sample_ids if its.kind == items.LABELS else None)


def _skipped_line(s, noun):
    return "%s %s (%s): %s" % (noun.capitalize(), s["id"], s["filepath"], s["reason"])


def regrid(samples, key, rows=None, cols=None, cell_px=None, assignment=None, refine=None,
           mosaic_format=None, regions=None, label_borders=None, progress=None):
    """Lays an existing run out again: another grid shape, cell size, assignment
    or refinement, re-using its t-SNE coordinates (nothing is embedded or
    reduced again).

    The new options replace only what you pass; the rest, the grid shape
    included, stay as the run had them. With the same shape and method the
    cells stay where they are and only the mosaic is drawn again (with
    today's labels, so the legend matches it). The regions are found again
    either way (``regions=True`` also draws them on the mosaic, and
    ``label_borders=True`` the label colours).
    """
    t_start = time.perf_counter()
    dataset = samples._root_dataset
    run = runs.load_grid(dataset, key)
    old = run.options
    config = old.replace(cell_px=cell_px, assignment=assignment, refine=refine,
                         mosaic_format=mosaic_format, regions=regions,
                         label_borders=label_borders)
    if rows is not None or cols is not None:  # a new shape: the other side follows
        config = dataclasses.replace(config, rows=rows, cols=cols)
    stages = StageProgress(progress)
    view, its = run.placed_items()
    f = dict(run.fields)  # a run made before regions existed gets its field now
    f.setdefault("region", items.field_prefix(run.kind, its.list_path)
                 + output_fields.field_name(key, "region"))
    n = len(its.ids)
    xs, ys, r, c = (items.values(view, its, f[name]) for name in ("x", "y", "row", "col"))
    shape = (run.rows, run.cols) if rows is None and cols is None else checked_shape(
        n, rows, cols)
    keep_cells = (shape == (run.rows, run.cols) and config.assignment == old.assignment
                  and config.refine == old.refine)
    features = None  # only a new layout needs them (cells kept: DPQ is unchanged)
    embeddings = run.record.embeddings_field
    if not keep_cells and embeddings and fieldpaths.exists(dataset, embeddings):
        features = vectors_from_values(items.values(view, its, embeddings), its.ids,
                                       its.filepaths, embeddings)
    if not keep_cells and config.refine and features is None:
        raise GridError(
            "Grid run %r has no stored embeddings to refine a new layout with (they were "
            "passed as an array); pass <refine=False>, or compute the run again" % key)
    layout = core_layout.compute_layout(
        features, *shape, metric=config.metric, seed=config.seed,
        assignment=config.assignment, refine_cells=config.refine, labels=its.labels,
        xy=np.stack([xs, ys], axis=1), cells=np.stack([r, c], axis=1) if keep_cells else None,
        curation=False, progress=stages.report,
        classify=run_regions.classifier(getattr(run.record, "features_tag", None)))
    stages.end()
    if keep_cells and "dpq_16" in run.metrics:
        layout.metrics["dpq_16"] = run.metrics["dpq_16"]
    timings = dict(layout.timings)
    # the curation scores stay those of the computation (for the outline and layout.csv)
    output_fields.restore_curation(layout, {
        name: items.values(view, its, f[name])
        for name in output_fields.CURATION_NAMES if f.get(name)})

    record = run.record_attributes()
    record["params"] = config.to_dict()
    record["fields"] = f
    return save_run(Save(
        dataset, key, run.run_dir, config, its, layout, run.skipped, record=record,
        values=output_fields.cell_values(f, layout), timings_as="regrid_timings",
        results={"n_total": run.n_total, "timings": run.timings,
                 "curation_skipped": run.curation_skipped},
        write=dict(register_on=dataset, expected_version=run.version,
                   field_types=output_fields.field_types(
                       key, items.field_prefix(run.kind, its.list_path)),
                   items=_writer_items(run.kind, its, run))), timings, stages, t_start)


def update_grid(samples, key, progress=None):
    """Places the samples added to run ``key``'s view since it was computed into
    its grid, without a full recompute. The new samples are embedded with the
    run's model (or read from its embeddings field) and put among their
    neighbours by openTSNE's ``transform``. When the grid has room, every
    sample placed before keeps its cell; when it must grow, the old layout is
    stretched over the grown grid (see :mod:`gridtsne.core.extend`). The
    curation scores and the mosaic are then made anew for all samples.
    """
    from gridtsne.core import extend

    t_start = time.perf_counter()
    dataset = samples._root_dataset
    run = runs.load_grid(dataset, key)
    if run.kind != items.SAMPLES:
        raise GridError("update_grid places new images; grid run %r lays out %s: compute it "
                        "again with <overwrite=True>" % (key, run.kind))
    config, record, f = run.options, run.record, run.fields
    stages = StageProgress(progress)
    skipped_ids = {s["id"] for s in run.skipped}
    placed = run.placed_view()
    candidates = [i for i in run.view.exists(f["row"], False).values("id")
                  if i not in skipped_ids]
    if not candidates:
        return run
    if record.embeddings_source == runs.ARRAY:
        raise GridError("Grid run %r was laid out from an array of embeddings, which were "
                        "not stored; compute it again with the new samples" % key)
    timings = {}
    new = items.read(dataset.select(candidates, ordered=True), items.SAMPLES)
    reasons, _, _ = _timed(timings, "check", _check_items, new, config.max_pixels, stages)
    skipped = [items.skipped(new, i, r) for i, r in enumerate(reasons) if r is not None]
    keep = [i for i, r in enumerate(reasons) if r is None]
    old_its = items.read(placed, items.SAMPLES)
    old_features = vectors_from_values(items.values(placed, old_its, record.embeddings_field),
                                       old_its.ids, old_its.filepaths, record.embeddings_field)
    t = time.perf_counter()
    new_features, kept, failed = embedding.for_new_items(dataset, run, new, keep, stages)
    timings["embed"] = time.perf_counter() - t
    skipped += failed
    if not kept:
        raise GridError("None of the %d new samples of run %r has a usable image%s"
                        % (len(candidates), key, _first_reasons(skipped)))

    old_xy, old_cells = (np.stack([items.values(placed, old_its, f[a]),
                                   items.values(placed, old_its, f[b])], axis=1)
                         for a, b in (("x", "y"), ("row", "col")))
    t = time.perf_counter()
    with stages.stage("assign") as update:
        new_xy, cells, rows, cols, moved = extend.place_new(
            old_features, old_xy, old_cells, run.rows, run.cols, new_features,
            perplexity=config.perplexity, metric=config.metric, seed=config.seed,
            refine_cells=config.refine)
        update(1.0)
    timings["assign"] = time.perf_counter() - t

    ids = list(old_its.ids) + [new.ids[i] for i in kept]
    everything = dataset.select(ids, ordered=True)
    label = runs.label_path(everything, config.label_field) if config.label_field else None
    its = items.read(everything, items.SAMPLES, label)
    features = np.concatenate([old_features, new_features])
    _, digests, sizes = _check_items(its, config.max_pixels, StageProgress(False))
    layout = core_layout.compute_layout(
        features, rows, cols, metric=config.metric, seed=config.seed, labels=its.labels,
        xy=np.concatenate([old_xy, new_xy]), cells=cells, digests=digests, sizes=sizes,
        load_image=_loader(its, config.max_pixels), curation=config.curation,
        duplicate_threshold=config.duplicate_threshold,
        classify=run_regions.classifier(getattr(record, "features_tag", None)), progress=stages.report)
    stages.end()
    timings.update(layout.timings)

    # what the update did, and whether the layout kept its quality (results.update_report)
    report = dict(core_metrics.quality_change(run.metrics, layout.metrics),
                  placed=len(kept), skipped=len(skipped), grid_before=[run.rows, run.cols],
                  grid=[rows, cols], moved=bool(moved))
    if report["fell"]:
        logger.warning("Grid run %r: %s", key, core_metrics.update_summary(report))
    values = output_fields.layout_values(key, layout)
    rec = run.record_attributes()
    rec["fields"] = dict(record.fields, **output_fields.run_fields(key, layout))
    if record.embeddings_source != runs.FIELD:  # the run's own copy, new samples included
        rec.update(embeddings_field=config.store_embeddings_in,
                   embeddings_source=runs.COMPUTED)
        values[config.store_embeddings_in] = list(features)
    return save_run(Save(
        dataset, key, run.run_dir, config, its, layout, run.skipped + skipped, record=rec,
        values=values, timings_as="update_timings", features=features,
        results={"n_total": run.n_total + len(candidates), "timings": run.timings,
                 "curation_skipped": layout.curation_skipped, "update_report": report},
        write=dict(register_on=run.view, brain_points=layout.xy,
                   expected_version=run.version,
                   field_types=output_fields.field_types(
                       key, embedding=config.store_embeddings_in))), timings, stages, t_start)


def _timed(timings, name, fn, *args):
    t = time.perf_counter()
    try:
        return fn(*args)
    finally:
        timings[name] = time.perf_counter() - t


def _loader(its, max_pixels):
    """``load(i)`` -> item i's image (or object), decoded small, for the
    duplicates' pixel check."""
    from gridtsne.core.duplicates import THUMB_PX

    def load(i):
        try:
            return core_images.load_rgb(its.filepaths[i], max_pixels, min_side=THUMB_PX,
                                        box=None if its.boxes is None else its.boxes[i])
        except core_images.BadImageError:
            return None

    return load


def _check_items(its, max_pixels, stages):
    """(why each item cannot be used or None, a hash of each file's bytes, or
    None for objects: a hash of the file says nothing of its objects, and
    each item's pixel count, 0 when unknown)."""
    threads = min(8, (os.cpu_count() or 1) + 2)
    paths = list(dict.fromkeys(its.filepaths))  # each file once

    def check(path):
        reason, dims = core_images.check_image(path, max_pixels, size=True)
        return reason, None if reason else core_images.file_digest(path), dims

    checked = {}
    with stages.stage("check", total=len(paths)) as update, \
            ThreadPoolExecutor(threads) as pool:
        for i, (path, result) in enumerate(zip(paths, pool.map(check, paths))):
            checked[path] = result
            if i % 64 == 0:
                update(i)
    reasons = [r or checked[p][0] for r, p in zip(its.reasons, its.filepaths)]
    digests = None if its.kind == items.LABELS else [checked[p][1] for p in its.filepaths]
    sizes = []
    for i, path in enumerate(its.filepaths):
        dims = checked[path][2]
        box = None if its.boxes is None else its.boxes[i]
        area = 1.0 if box is None else max(box[2] - box[0], 0) * max(box[3] - box[1], 0)
        sizes.append(dims[0] * dims[1] * area if dims else 0)
    return reasons, digests, sizes


def _first_reasons(skipped, k=3):
    if not skipped:
        return ""
    shown = "; ".join("%s: %s" % (s["filepath"], s["reason"]) for s in skipped[:k])
    return " (%s%s)" % (shown, "; ..." if len(skipped) > k else "")

