"""The plugin's operators: forms and App wiring; the work is in compute/runs.

Forms are built from :class:`gridtsne.config.GridConfig` (labels, defaults,
descriptions) and executed by turning their values back into one
(:meth:`GridConfig.from_params`), the same config the SDK and CLI build.
Run immediately from the App, ``compute_grid`` and ``regrid`` work in a
thread of the App server and stream their stage and percentage to the App's
operator prompt; delegated, they report to the delegated operation.
"""

import dataclasses
import queue
import threading

import fiftyone.operators as foo
import fiftyone.operators.types as types
from fiftyone.operators.executor import ExecutionOptions

from gridtsne import config as gconfig
from gridtsne.config import GridConfig, GridError
from gridtsne.fo import items, runs
from gridtsne.fo.panel import NAME as PANEL_NAME
from gridtsne.fo.progress import COMPUTE_WEIGHTS, REGRID_WEIGHTS, overall

# Runs on more samples than this are offered as delegated (queued) by default.
DELEGATE_ABOVE = 500
PLUGIN = "@gridtsne/gridded-tsne"


def vector_fields(dataset):
    """Fields that can hold embedding vectors (never tags or other lists)."""
    import fiftyone as fo

    out = []
    for name, f in dataset.get_field_schema().items():
        if name.startswith(("_", runs.TMP_PREFIX, runs.BACKUP_PREFIX)):
            continue
        if isinstance(f, (fo.VectorField, fo.ArrayField)) or (
                isinstance(f, fo.ListField) and isinstance(f.field, (fo.FloatField,
                                                                     fo.IntField))):
            out.append(name)
    return sorted(out)


def _target(ctx):
    """The view to lay out: the target view, or its group slice for grouped datasets."""
    target = ctx.target_view()
    if target.media_type == "group":
        target = target.select_group_slices(ctx.group_slice or target.default_group_slice)
    return target


def patch_fields(dataset):
    """Label fields whose objects can be laid out (Detections, Polylines)."""
    import fiftyone as fo

    return sorted(name for name, f in dataset.get_field_schema().items()
                  if isinstance(f, fo.EmbeddedDocumentField)
                  and issubclass(f.document_type, (fo.Detections, fo.Polylines)))


def label_fields(dataset):
    import fiftyone as fo

    out = []
    for name, f in dataset.get_field_schema().items():
        if isinstance(f, fo.EmbeddedDocumentField) and issubclass(
                f.document_type, fo.Classification):
            out.append(name)
        elif isinstance(f, fo.StringField) and name not in ("filepath", "id"):
            out.append(name)
    return sorted(out)


def default_label_field(dataset):
    """The dataset's classification field, as the command line picks it."""
    import fiftyone as fo

    fields = label_fields(dataset)
    if "ground_truth" in fields:
        return "ground_truth"
    classifications = [f for f in fields if isinstance(
        dataset.get_field(f), fo.EmbeddedDocumentField)]
    return classifications[0] if len(classifications) == 1 else None


def unused_key(dataset, base="grid"):
    taken = set(dataset.list_runs()) | set(dataset.list_brain_runs())
    if base not in taken:
        return base
    return next("%s%d" % (base, i) for i in range(2, 10_000) if "%s%d" % (base, i) not in taken)


def _meta(name):
    return GridConfig.__dataclass_fields__[name].metadata


def _choose(inputs, name, choices, required=False, default=None, label=None):
    dropdown = types.Dropdown(label=label or _meta(name)["label"],
                              description=_meta(name)["help"])
    for c in choices:
        dropdown.add_choice(c, label=c)
    return inputs.enum(name, dropdown.values(), required=required, default=default,
                       view=dropdown)


def _grid_key_input(ctx, inputs, label="Grid run"):
    keys = runs.list_grids(ctx.dataset)
    if not keys:
        inputs.view("none", types.Warning(label="This dataset has no grid runs yet"))
        return None
    dropdown = types.Dropdown(label=label)
    for k in keys:
        dropdown.add_choice(k, label=k)
    inputs.enum("key", dropdown.values(), required=True, default=keys[0], view=dropdown)
    key = ctx.params.get("key")
    return key if key in keys else keys[0]


def _mark_invalid(prop, error):
    prop.invalid = True
    prop.error_message = error.for_surface("form")


class _DelegatedWhenLarge(foo.Operator):
    """Offers both execution modes, defaulting to delegated for large targets."""

    def resolve_execution_options(self, ctx):
        n = len(_target(ctx)) if ctx.dataset is not None else 0
        return ExecutionOptions(
            allow_immediate_execution=True,
            allow_delegated_execution=True,
            default_choice_to_delegated=n > DELEGATE_ABOVE and _delegation_available(),
        )


def _streamed(ctx, work, weights=None):
    """Runs ``work(progress)`` in a thread of the App server and yields the
    App's progress indicator as it goes, then the outputs. FiftyOne runs the
    generator's steps in its thread pool, so the server stays responsive."""
    updates = queue.Queue()
    result = {}

    def progress(value, label):
        updates.put((value, label))

    def target():
        try:
            result["outputs"] = work(overall(progress, weights=weights or COMPUTE_WEIGHTS))
        except GridError as e:  # in the App, options are named as the form names them
            result["error"] = GridError(e.for_surface("form"))
        except BaseException as e:  # handed to the generator, which raises it
            result["error"] = e
        finally:
            updates.put(None)

    thread = threading.Thread(target=target, name="gridtsne-operator", daemon=True)
    thread.start()
    while True:
        item = updates.get()
        if item is None:
            break
        yield ctx.ops.set_progress(label=item[1], progress=item[0])
    thread.join()
    if "error" in result:
        raise result["error"]
    yield ctx.ops.reload_dataset()
    view = _results_view(result["outputs"].get("key"))
    yield ctx.ops.show_output(outputs=view.to_json(), results=result["outputs"])


class ComputeGrid(_DelegatedWhenLarge):
    @property
    def config(self):
        return foo.OperatorConfig(
            name="compute_grid",
            label="Gridded t-SNE: compute similarity grid",
            description="Embed images, run t-SNE and snap them to a grid mosaic",
            icon="grid_view",
            dynamic=True,
            execute_as_generator=True,
            allow_immediate_execution=True,
            allow_delegated_execution=True,
        )

    def resolve_input(self, ctx):
        inputs = types.Object()
        dataset = ctx.dataset
        target = _target(ctx)
        n = len(target)
        form = types.View(label="Compute similarity grid")
        media = target.media_type
        if media not in ("image", "video"):
            inputs.view("media", types.Error(
                label="Gridded t-SNE lays out images, objects in images and video frames; "
                "this view has %s media" % media))
            return types.Property(inputs, view=form)
        if media == "video":
            inputs.float("frames_fps", label=_meta("frames_fps")["label"], default=1.0,
                         min=0.01, required=True, description=_meta("frames_fps")["help"])
        if n < 2:
            prop = inputs.view("few", types.Error(
                label="The target has %d sample%s; a grid needs at least 2"
                % (n, "" if n == 1 else "s")))
            prop.invalid = True
        if not _delegation_available():
            inputs.view("immediate", types.Notice(
                label="Scheduling (delegated execution) is not available in this App: the "
                "run executes now and shows its progress here. To schedule long runs, "
                "start the App with FIFTYONE_ALLOW_LEGACY_ORCHESTRATORS=true and run a "
                "worker with `fiftyone delegated launch`."))

        p = ctx.params
        key = inputs.str("key", label=_meta("key")["label"], required=True,
                         default=unused_key(dataset), description=_meta("key")["help"])
        source = types.RadioGroup()
        source.add_choice("default", label="Default model (EfficientNet-Lite0, offline)")
        source.add_choice("model", label="Another model (FiftyOne zoo name)")
        fields = vector_fields(dataset)
        if fields:
            source.add_choice("field", label="Existing embeddings field")
        inputs.enum("embeddings_source", source.values(), default="default",
                    label="Embeddings", view=source)
        choice = p.get("embeddings_source", "default")
        if choice == "default" and media == "image" and not p.get("patches_field"):
            inputs.int("shards", label="Shards (delegated workers)", default=1, min=1,
                       description="split the embedding into this many delegated "
                       "operations, which any `fiftyone delegated launch` workers take; "
                       "the layout runs once they are all done (see the README, "
                       "\"Running on several machines\")")
        if choice == "default":
            precision = types.RadioGroup()
            precision.add_choice("float", label="float")
            precision.add_choice("int8", label="int8 (quantized, faster on the CPU)")
            inputs.enum("precision", precision.values(), default=gconfig.default("precision"),
                        label=_meta("precision")["label"], description=_meta("precision")["help"],
                        view=precision)
        elif choice == "model":
            inputs.str("model", label=_meta("model")["label"], required=True,
                       description="e.g. clip-vit-base32-torch (downloads its weights)")
        elif choice == "field" and fields:
            _choose(inputs, "embeddings", fields, required=True, default=fields[0])

        objects = patch_fields(dataset) if media == "image" else []
        if objects:
            _choose(inputs, "patches_field", objects)
            if p.get("patches_field"):
                inputs.float("patch_context", label=_meta("patch_context")["label"],
                             default=gconfig.default("patch_context"), min=0.0, max=1.0,
                             description=_meta("patch_context")["help"])
        shape = types.RadioGroup()
        shape.add_choice("auto", label="Automatic (near-square)")
        shape.add_choice("custom", label="Rows x columns")
        inputs.enum("grid", shape.values(), default="auto", label="Grid shape", view=shape)
        rows = None
        if p.get("grid") == "custom":
            rows = inputs.int("rows", label=_meta("rows")["label"], min=1)
            inputs.int("cols", label=_meta("cols")["label"], min=1)
        inputs.float("perplexity", label=_meta("perplexity")["label"], default=20.0,
                     min=1.0, description=_meta("perplexity")["help"])
        inputs.int("seed", label=_meta("seed")["label"], default=gconfig.default("seed"))
        inputs.bool("refine", label=_meta("refine")["label"],
                    default=gconfig.default("refine"), description=_meta("refine")["help"])
        inputs.bool("curation", label=_meta("curation")["label"],
                    default=gconfig.default("curation"), description=_meta("curation")["help"])
        inputs.int("cell_px", label=_meta("cell_px")["label"],
                   default=gconfig.default("cell_px"), min=4, max=1024)
        labels = label_fields(dataset) if media == "image" and not p.get("patches_field") else []
        if labels:
            _choose(inputs, "label_field", labels, default=default_label_field(dataset))
            inputs.float("outline_suspicious", label=_meta("outline_suspicious")["label"],
                         default=0.0, min=0.0, max=1.0,
                         description=_meta("outline_suspicious")["help"])
        inputs.bool("overwrite", label="Overwrite an existing run with this key",
                    default=False)

        # the same checks the run makes, shown on the field they concern
        try:
            config = GridConfig.from_params(dict(p, key=p.get("key", unused_key(dataset))))
            if config.rows or config.cols:
                from gridtsne.fo.plan import checked_shape

                checked_shape(n, config.rows, config.cols)
            if runs.record(dataset, config.key) is not None and not config.overwrite:
                raise GridError("A grid run '%s' exists; choose another key or tick "
                                "<overwrite>" % config.key)
            if config.key in dataset.list_runs() and runs.record(dataset, config.key) is None:
                raise GridError("'%s' is the key of another kind of run" % config.key)
        except GridError as e:
            message = str(e.args[0])
            about_shape = "<rows>" in message or "<cols>" in message or "cells" in message
            _mark_invalid(rows if rows is not None and about_shape else key, e)
        return types.Property(inputs, view=form)

    def resolve_run_name(self, ctx):
        return "gridtsne: %s" % ctx.params.get("key", "grid")

    def execute(self, ctx):
        def work(progress):
            from gridtsne.fo.compute import compute_grid

            from gridtsne.fo import shards

            config = GridConfig.from_params(ctx.params)
            n_shards = int(ctx.params.get("shards") or 1)
            shard_run = ctx.params.get("shard_run")  # the layout of a sharded run
            if n_shards > 1 and not shard_run:
                run_id = shards.queue(_target(ctx), config, n_shards)
                return {"key": config.key, "sharded_run": run_id,
                        "grid": "queued as %d shards" % n_shards}
            results = compute_grid(_target(ctx), progress=progress, shard_run=shard_run,
                                   **dataclasses.asdict(config))
            if shard_run:
                shards.finish(shard_run)
            return _outputs(results)

        if ctx.delegated:
            return work(overall(lambda v, label: ctx.set_progress(progress=v, label=label)))
        return _streamed(ctx, work)

    def resolve_output(self, ctx):
        if (ctx.results or {}).get("sharded_run"):
            outputs = types.Object()
            outputs.str("sharded_run", label="Sharded run (gridtsne.grid_status(id))")
            outputs.str("grid", label="State")
            return types.Property(outputs, view=types.View(
                label="Queued: the panel's run list shows its progress"))
        return _results_view(ctx.params.get("key"))


def _delegation_available():
    """Whether the App offers "Schedule": the open-source App shows it as NOT
    AVAILABLE unless legacy orchestrators are allowed (then any
    ``fiftyone delegated launch`` worker runs scheduled operations)."""
    import fiftyone as fo

    return bool(fo.config.allow_legacy_orchestrators)


def _outputs(results):
    t = results.regrid_timings or results.timings or {}
    return {
        "key": results.key,
        "grid": "%d x %d" % (results.rows, results.cols),
        "samples": results.n_samples,
        "skipped": len(results.skipped),
        "mosaic_path": results.mosaic_path,
        "timings": ", ".join("%s %.1f s" % (k, v) for k, v in t.items()),
        "dpq_16": _rounded(results.metrics.get("dpq_16")),
        "neighbor_label_agreement": _rounded(results.metrics.get("neighbor_label_agreement")),
    }


def _rounded(value):
    return None if value is None else round(float(value), 3)


def _results_view(key=None):
    outputs = types.Object()
    outputs.str("key", label="Run key")
    outputs.str("grid", label="Grid (rows x cols)")
    outputs.int("samples", label="Samples placed")
    outputs.int("skipped", label="Samples skipped")
    outputs.str("mosaic_path", label="Mosaic")
    outputs.str("timings", label="Timings")
    outputs.float("dpq_16", label="Distance preservation quality (DPQ_16)")
    outputs.float("neighbor_label_agreement", label="Neighbour label agreement")
    if key:
        outputs.btn("open_in_panel", label="Open in panel", on_click=OPEN_PANEL_URI,
                    params={"key": key})
    return types.Property(outputs, view=types.View(label="Similarity grid ready"))


class ComputeGridEmbeddings(_DelegatedWhenLarge):
    @property
    def config(self):
        return foo.OperatorConfig(
            name="compute_grid_embeddings",
            label="Gridded t-SNE: compute embeddings only",
            icon="scatter_plot",
            dynamic=True,
            allow_immediate_execution=True,
            allow_delegated_execution=True,
        )

    def resolve_input(self, ctx):
        inputs = types.Object()
        field = inputs.str("embeddings_field", label="Store embeddings in field",
                           default="embedding", required=True)
        name = ctx.params.get("embeddings_field", "embedding")
        if name and ctx.dataset.has_sample_field(name) and not ctx.params.get("overwrite"):
            field.invalid = True
            field.error_message = "Field '%s' exists; tick Overwrite to replace it" % name
        inputs.str("model", label="Zoo model name (optional)",
                   description="Empty: EfficientNet-Lite0, offline")
        inputs.bool("overwrite", label="Overwrite the field", default=False)
        return types.Property(inputs, view=types.View(label="Compute embeddings"))

    def execute(self, ctx):
        from gridtsne.fo.model import forward_progress, model_from_spec

        target = ctx.target_view()
        field = ctx.params.get("embeddings_field", "embedding")
        model = model_from_spec(ctx.params.get("model") or None)
        total = len(target)
        target.compute_embeddings(
            model, embeddings_field=field, batch_size=32, num_workers=0,
            progress=forward_progress(
                lambda done: ctx.set_progress(progress=done / max(total, 1),
                                              label="Computing embeddings"), total))
        if not ctx.delegated:
            ctx.ops.reload_dataset()
        return {"embeddings_field": field, "samples": total}


class Regrid(foo.Operator):
    @property
    def config(self):
        return foo.OperatorConfig(
            name="regrid",
            label="Gridded t-SNE: change grid shape or cell size",
            icon="view_module",
            dynamic=True,
            execute_as_generator=True,
            allow_immediate_execution=True,
            allow_delegated_execution=True,
        )

    def resolve_input(self, ctx):
        inputs = types.Object()
        key = _grid_key_input(ctx, inputs)
        if key is None:
            return types.Property(inputs)
        res = runs.load_grid(ctx.dataset, key)
        rows = inputs.int("rows", label="Rows",
                          description="Empty: keep %d x %d" % (res.rows, res.cols))
        inputs.int("cols", label="Columns")
        inputs.int("cell_px", label=_meta("cell_px")["label"],
                   default=res.options.cell_px, min=4, max=1024)
        r, c = ctx.params.get("rows"), ctx.params.get("cols")
        if r or c:
            from gridtsne.fo.plan import checked_shape

            try:
                checked_shape(res.n_samples, r or None, c or None)
            except GridError as e:
                _mark_invalid(rows, e)
        return types.Property(inputs, view=types.View(
            label="Re-grid '%s' (%dx%d, %d samples)" % (key, res.rows, res.cols,
                                                         res.n_samples)))

    def execute(self, ctx):
        def work(progress):
            from gridtsne.fo.compute import regrid

            p = ctx.params
            return _outputs(regrid(ctx.dataset, p["key"], rows=p.get("rows") or None,
                                   cols=p.get("cols") or None,
                                   cell_px=p.get("cell_px") or None, progress=progress))

        if ctx.delegated:
            return work(overall(lambda v, label: ctx.set_progress(progress=v, label=label),
                                weights=REGRID_WEIGHTS))
        return _streamed(ctx, work, weights=REGRID_WEIGHTS)

    def resolve_output(self, ctx):
        return _results_view(ctx.params.get("key"))


class EmbedShard(foo.Operator):
    """One shard of a sharded run's embedding (queued by ``queue_grid(shards=N)``,
    never from the menu); see :mod:`gridtsne.fo.shards`."""

    @property
    def config(self):
        return foo.OperatorConfig(name="embed_shard", label="Gridded t-SNE: embed a shard",
                                  unlisted=True, allow_immediate_execution=False,
                                  allow_delegated_execution=True)

    def execute(self, ctx):
        from gridtsne.fo import shards

        k = int(ctx.params["shard"])
        return shards.run_shard(
            ctx.dataset, ctx.params["run_id"], k,
            op_id=str(ctx.request_params.get("run_doc") or ""),
            progress=lambda f: ctx.set_progress(progress=f, label="embedding shard %d"
                                                % (k + 1)))


OPEN_PANEL_URI = "@gridtsne/gridded-tsne/open_grid_panel"


class OpenGridPanel(foo.Operator):
    @property
    def config(self):
        return foo.OperatorConfig(
            name="open_grid_panel",
            label="Gridded t-SNE: open mosaic panel",
            icon="grid_on",
            dynamic=True,
        )

    def resolve_input(self, ctx):
        inputs = types.Object()
        _grid_key_input(ctx, inputs, label="Show grid run")
        return types.Property(inputs)

    def execute(self, ctx):
        key = ctx.params.get("key")
        ctx.ops.open_panel(PANEL_NAME, layout="horizontal", is_active=True,
                           state={"key": key} if key else None)
        return {"key": key}


class DeleteGrid(foo.Operator):
    @property
    def config(self):
        return foo.OperatorConfig(
            name="delete_grid",
            label="Gridded t-SNE: delete a grid run",
            icon="delete",
            dynamic=True,
        )

    def resolve_input(self, ctx):
        inputs = types.Object()
        key = _grid_key_input(ctx, inputs, label="Grid run to delete")
        if key is None:
            return types.Property(inputs)
        res = runs.load_grid(ctx.dataset, key)
        fields = [f for f in res.record.owned_fields() if ctx.dataset.has_sample_field(f)]
        inputs.view("what", types.Notice(label=(
            "Deletes the run record, the fields %s, brain run '%s' and the files it wrote "
            "in %s" % (", ".join(fields), res.record.brain_key, res.run_dir))))
        confirm = inputs.bool("confirm", label="Yes, delete it", default=False)
        if not ctx.params.get("confirm"):
            confirm.invalid = True
            confirm.error_message = "Tick to confirm"
        return types.Property(inputs, view=types.View(label="Delete grid run"))

    def execute(self, ctx):
        if not ctx.params.get("confirm"):
            raise ValueError("Deleting a grid run needs confirm=True")
        key = ctx.params["key"]
        runs.delete_grid(ctx.dataset, key)
        ctx.ops.reload_dataset()
        return {"deleted": key}


class UpdateGrid(_DelegatedWhenLarge):
    @property
    def config(self):
        return foo.OperatorConfig(
            name="update_grid",
            label="Gridded t-SNE: add new samples to a grid",
            icon="add_box",
            dynamic=True,
            execute_as_generator=True,
            allow_immediate_execution=True,
            allow_delegated_execution=True,
        )

    def resolve_input(self, ctx):
        inputs = types.Object()
        key = _grid_key_input(ctx, inputs)
        if key is not None:
            res = runs.load_grid(ctx.dataset, key)
            f = res.fields
            new = len(res.view.exists(f["row"], False)) - len(res.skipped)
            inputs.view("what", types.Notice(label=(
                "Places %d new sample%s of run '%s' into its %d x %d grid; the %d placed "
                "samples keep their cells" % (max(new, 0), "" if new == 1 else "s", key,
                                               res.rows, res.cols, res.n_samples))))
        return types.Property(inputs, view=types.View(label="Add new samples to a grid"))

    def execute(self, ctx):
        def work(progress):
            from gridtsne.fo.compute import update_grid

            return _outputs(update_grid(ctx.dataset, ctx.params["key"], progress=progress))

        if ctx.delegated:
            return work(overall(lambda v, label: ctx.set_progress(progress=v, label=label)))
        return _streamed(ctx, work)

    def resolve_output(self, ctx):
        return _results_view(ctx.params.get("key"))


class FindDuplicates(foo.Operator):
    @property
    def config(self):
        return foo.OperatorConfig(
            name="find_duplicates",
            label="Gridded t-SNE: show or tag near-duplicates",
            icon="content_copy",
            dynamic=True,
        )

    def resolve_input(self, ctx):
        inputs = types.Object()
        if _grid_key_input(ctx, inputs) is None:
            return types.Property(inputs)
        action = types.RadioGroup()
        action.add_choice("view", label="Show the groups (a view of them, side by side)")
        action.add_choice("tag", label="Tag all but the one to keep in each group")
        inputs.enum("action", action.values(), default="view", view=action, label="Action")
        if ctx.params.get("action") == "tag":
            _duplicates_preview(ctx, inputs)
        return types.Property(inputs, view=types.View(label="Near-duplicates"))

    def execute(self, ctx):
        from gridtsne.fo import curate

        key = ctx.params["key"]
        if ctx.params.get("action") == "tag":
            tag = ctx.params.get("tag") or curate.DUPLICATE_TAG
            n = curate.tag_duplicates(ctx.target_view(), key, tag=tag)
            ctx.ops.reload_dataset()
            ctx.ops.notify("Tagged %d near-duplicate%s %r (the one kept in each group is "
                           "untagged; nothing was deleted)" % (n, "" if n == 1 else "s", tag),
                           variant="success" if n else "info")
            return {"tagged": n}
        view = curate.duplicates_view(ctx.dataset, key)
        ctx.ops.set_view(view)
        ctx.ops.notify("%d samples in near-duplicate groups" % len(view), variant="info")
        return {"samples": len(view)}


def _duplicates_preview(ctx, inputs):
    """The count and a few groups, shown before anything is tagged."""
    import base64
    import io

    from gridtsne.fo import curate

    n_tag, n_groups, sheet = curate.duplicates_preview(ctx.target_view(), ctx.params["key"])
    if not n_tag:
        inputs.view("none", types.Notice(label="No near-duplicates in this view: nothing "
                                               "to tag"))
        return
    inputs.view("summary", types.Notice(label=(
        "Tags %d image%s: every member of %d group%s but the one to keep (white frame: "
        "most pixels, then the first imported). Nothing is deleted. The least certain "
        "groups:") % (n_tag, "" if n_tag == 1 else "s", n_groups,
                      "" if n_groups == 1 else "s")))
    buf = io.BytesIO()
    sheet.save(buf, "JPEG", quality=85)
    inputs.str("preview", default="data:image/jpeg;base64,"
               + base64.b64encode(buf.getvalue()).decode(), label="Groups",
               view=types.ImageView(width=sheet.width, height=sheet.height))
    inputs.str("tag", label="Tag", default="duplicate", required=True)


def _selection(ctx, run):
    """The App's selection as a run relabels it: label ids for a run of
    objects (the App's selected labels of its field), else sample ids."""
    if run.kind == "labels":
        return [l["label_id"] for l in (ctx.selected_labels or [])
                if l.get("field") == run.record.patches_field]
    return list(ctx.selected or [])


class RelabelSelected(foo.Operator):
    @property
    def config(self):
        return foo.OperatorConfig(
            name="relabel_selected",
            label="Gridded t-SNE: relabel the selected samples or objects",
            icon="label",
            dynamic=True,
        )

    def resolve_input(self, ctx):
        inputs = types.Object()
        key = _grid_key_input(ctx, inputs, label="Grid run (its labels are changed)")
        if key is None:
            return types.Property(inputs)
        res = runs.load_grid(ctx.dataset, key)
        objects = res.kind == "labels"
        field = res.record.patches_field if objects else res.options.label_field
        chosen = _selection(ctx, res)
        noun = "object" if objects else "sample"
        if not field or not chosen:
            prop = inputs.view("none", types.Warning(label=(
                "Grid run '%s' has no label field" % key if not field else
                "Select the %ss to relabel first (in the grid mosaic panel or the App)"
                % noun)))
            prop.invalid = True
            return types.Property(inputs)
        path = (items.patches_list_path(ctx.dataset, field) + ".label" if objects
                else runs.label_path(ctx.dataset, field))
        classes = sorted({str(v) for v in ctx.dataset.distinct(path)})
        choices = types.AutocompleteView(label="New label", description=(
            "for the %d selected %s%s, in field '%s'; pick a class or type a new one"
            % (len(chosen), noun, "" if len(chosen) == 1 else "s", field)))
        for c in classes:
            choices.add_choice(c, label=c)
        inputs.str("label", required=True, view=choices)
        inputs.str("tag", label="Tag the changed %ss (for undo)" % noun,
                   default="relabelled", required=True)
        return types.Property(inputs, view=types.View(label="Relabel selected %ss" % noun))

    def execute(self, ctx):
        from gridtsne.fo import curate

        res = runs.load_grid(ctx.dataset, ctx.params["key"])
        n = curate.relabel(ctx.dataset, _selection(ctx, res), ctx.params["label"],
                           key=res.key, tag=ctx.params.get("tag") or "relabelled")
        ctx.ops.reload_dataset()
        return {"relabelled": n}


class UndoRelabel(foo.Operator):
    @property
    def config(self):
        return foo.OperatorConfig(
            name="undo_relabel",
            label="Gridded t-SNE: undo relabelling",
            icon="undo",
            dynamic=True,
        )

    def resolve_input(self, ctx):
        inputs = types.Object()
        if _grid_key_input(ctx, inputs, label="Grid run (its label field)") is None:
            return types.Property(inputs)
        inputs.str("tag", label="Relabelled samples carry the tag", default="relabelled",
                   required=True)
        return types.Property(inputs, view=types.View(label="Undo relabelling"))

    def execute(self, ctx):
        from gridtsne.fo import curate

        key = ctx.params["key"]
        field = runs.load_grid(ctx.dataset, key).options.label_field
        n = curate.undo_relabel(ctx.dataset, field, tag=ctx.params.get("tag") or "relabelled",
                                key=key)
        ctx.ops.reload_dataset()
        return {"restored": n}


class DiverseSubset(foo.Operator):
    @property
    def config(self):
        return foo.OperatorConfig(
            name="diverse_subset",
            label="Gridded t-SNE: pick a diverse subset",
            icon="scatter_plot",
            dynamic=True,
        )

    def resolve_input(self, ctx):
        inputs = types.Object()
        key = _grid_key_input(ctx, inputs)
        if key is None:
            return types.Property(inputs)
        n = runs.load_grid(ctx.dataset, key).n_samples
        inputs.int("k", label="How many samples", default=min(100, n), min=1, max=n,
                   required=True, description="one per block of neighbouring cells, the "
                   "most central of its block")
        inputs.str("tag", label="Tag them (optional)")
        inputs.str("view_name", label="Save as a view named (optional)")
        return types.Property(inputs, view=types.View(label="Diverse subset"))

    def execute(self, ctx):
        from gridtsne.fo import curate

        p = ctx.params
        view = curate.diverse_subset(ctx.dataset, p["key"], int(p["k"]),
                                     tag=p.get("tag") or None,
                                     view_name=p.get("view_name") or None)
        ctx.ops.set_view(view)
        return {"samples": len(view)}


OPERATORS = [ComputeGrid, ComputeGridEmbeddings, Regrid, UpdateGrid, OpenGridPanel,
             DeleteGrid, FindDuplicates, RelabelSelected, UndoRelabel, DiverseSubset,
             EmbedShard]
