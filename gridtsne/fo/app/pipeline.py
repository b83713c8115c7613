"""The operators that make, change, show and delete runs: their forms and App
wiring. The work itself is gridtsne.fo.compute's, from the same GridConfig the
SDK and the command line build."""

import dataclasses

import fiftyone.operators as foo
import fiftyone.operators.types as types

from gridtsne.config import GridConfig, GridError
from gridtsne.fo import runs
from gridtsne.fo.app import forms
from gridtsne.fo.app.base import (DelegatedWhenLarge, RunOperator, delegation_available,
                                  menu_config, outputs_of, results_view)
from gridtsne.fo.app.forms import option_input, target
from gridtsne.fo.panel import NAME as PANEL_NAME
from gridtsne.fo.progress import REGRID_WEIGHTS

PRECISION_LABELS = {"float": "float", "int8": "int8 (quantized, faster on the CPU)"}


class ComputeGrid(DelegatedWhenLarge):
    @property
    def config(self):
        return menu_config("compute_grid", "compute similarity grid", "grid_view", run=True,
                           description="Embed images, run t-SNE and snap them to a grid "
                           "mosaic")

    def resolve_input(self, ctx):
        inputs = types.Object()
        form = types.View(label="Compute similarity grid")
        view = target(ctx)
        media = view.media_type
        if media not in ("image", "video"):
            inputs.view("media", types.Error(
                label="Gridded t-SNE lays out images, objects in images and video frames; "
                "this view has %s media" % media))
            return types.Property(inputs, view=form)
        _notices(inputs, media, len(view))
        key = option_input(inputs, "key", required=True, default=forms.unused_key(ctx.dataset))
        _embedding_inputs(ctx, inputs, media)
        rows = _layout_inputs(ctx, inputs, media)
        _check(ctx, inputs, len(view), key, rows)
        return types.Property(inputs, view=form)

    def resolve_run_name(self, ctx):
        return "gridtsne: %s" % ctx.params.get("key", "grid")

    def work(self, ctx):
        def work(progress):
            from gridtsne.fo import shards
            from gridtsne.fo.compute import compute_grid

            config = GridConfig.from_params(ctx.params)
            n_shards = int(ctx.params.get("shards") or 1)
            shard_run = ctx.params.get("shard_run")  # the layout of a sharded run
            if n_shards > 1 and not shard_run:
                run_id = shards.queue(target(ctx), config, n_shards)
                return {"key": config.key, "sharded_run": run_id,
                        "grid": "queued as %d shards" % n_shards}
            results = compute_grid(target(ctx), progress=progress, shard_run=shard_run,
                                   **dataclasses.asdict(config))
            if shard_run:
                shards.finish(shard_run)
            return outputs_of(results)

        return work

    def resolve_output(self, ctx):
        if (ctx.results or {}).get("sharded_run"):
            outputs = types.Object()
            outputs.str("sharded_run", label="Sharded run (gridtsne.grid_status(id))")
            outputs.str("grid", label="State")
            return types.Property(outputs, view=types.View(
                label="Queued: the panel's run list shows its progress"))
        return results_view(ctx.params.get("key"))


def _notices(inputs, media, n):
    if media == "video":
        option_input(inputs, "frames_fps", default=1.0, required=True)
    if n < 2:
        prop = inputs.view("few", types.Error(
            label="The target has %d sample%s; a grid needs at least 2"
            % (n, "" if n == 1 else "s")))
        prop.invalid = True
    if not delegation_available():
        inputs.view("immediate", types.Notice(
            label="Scheduling (delegated execution) is not available in this App: the "
            "run executes now and shows its progress here. To schedule long runs, "
            "start the App with FIFTYONE_ALLOW_LEGACY_ORCHESTRATORS=true and run a "
            "worker with `fiftyone delegated launch`."))


def _embedding_inputs(ctx, inputs, media):
    """Where the vectors come from: the default model (its precision, shards),
    a zoo model, or a field; and, for images, which objects to lay out."""
    p, dataset = ctx.params, ctx.dataset
    source = types.RadioGroup()
    source.add_choice("default", label="Default model (EfficientNet-Lite0, offline)")
    source.add_choice("model", label="Another model (FiftyOne zoo name)")
    fields = forms.vector_fields(dataset)
    if fields:
        source.add_choice("field", label="Existing embeddings field")
    inputs.enum("embeddings_source", source.values(), default="default",
                label="Embeddings", view=source)
    choice = p.get("embeddings_source", "default")
    if (choice == "default" and media == "image" and not p.get("patches_field")
            and delegation_available()):  # shards are scheduled operations
        inputs.int("shards", label="Shards (delegated workers)", default=1, min=1,
                   description="split the embedding into this many delegated "
                   "operations, which any `fiftyone delegated launch` workers take; "
                   "the layout runs once they are all done (docs/distributed.md)")
    if choice == "default":
        forms.choices_input(inputs, "precision", PRECISION_LABELS, radio=True)
    elif choice == "model":
        option_input(inputs, "model", required=True,
                     description="e.g. clip-vit-base32-torch (downloads its weights)")
    elif choice == "field" and fields:
        forms.choices_input(inputs, "embeddings", fields, required=True, default=fields[0])
    objects = forms.patch_fields(dataset) if media == "image" else []
    if objects:
        forms.choices_input(inputs, "patches_field", objects)
        if p.get("patches_field"):
            option_input(inputs, "patch_context")


def _layout_inputs(ctx, inputs, media):
    """Grid shape, t-SNE, refinement, curation, cells and labels; returns the
    rows input (where a shape error is shown) or None."""
    p = ctx.params
    shape = types.RadioGroup()
    shape.add_choice("auto", label="Automatic (near-square)")
    shape.add_choice("custom", label="Rows x columns")
    inputs.enum("grid", shape.values(), default="auto", label="Grid shape", view=shape)
    rows = None
    if p.get("grid") == "custom":
        rows = option_input(inputs, "rows")
        option_input(inputs, "cols")
    for name in ("perplexity", "seed", "refine", "curation", "cell_px", "regions"):
        option_input(inputs, name)
    labels = (forms.label_fields(ctx.dataset)
              if media == "image" and not p.get("patches_field") else [])
    if labels:
        forms.choices_input(inputs, "label_field", labels,
                            default=forms.default_label_field(ctx.dataset))
        option_input(inputs, "outline_suspicious")
        option_input(inputs, "label_borders")
    option_input(inputs, "overwrite", label="Overwrite an existing run with this key")
    return rows


def _check(ctx, inputs, n, key, rows):
    """The run's own checks, shown on the field they concern before it runs:
    every option on its own first, so that all the bad ones are marked at
    once; then those that need the whole config and the dataset."""
    from gridtsne.fo.plan import checked_shape

    p, dataset = ctx.params, ctx.dataset
    bad = False
    for name, prop in inputs.properties.items():
        if name not in GridConfig.__dataclass_fields__ or name == "key" or p.get(name) in (
                None, ""):
            continue
        try:
            GridConfig.from_params({name: p[name], "grid": p.get("grid"),
                                    "embeddings_source": p.get("embeddings_source")})
        except GridError as e:
            forms.mark_invalid(prop, e)
            bad = True
    if bad:
        return
    try:
        config = GridConfig.from_params(dict(p, key=p.get("key", forms.unused_key(dataset))))
        if config.rows or config.cols:
            checked_shape(n, config.rows, config.cols)
        if runs.record(dataset, config.key) is not None and not config.overwrite:
            raise GridError("A grid run '%s' exists; choose another key or tick "
                            "<overwrite>" % config.key)
        if config.key in dataset.list_runs() and runs.record(dataset, config.key) is None:
            raise GridError("'%s' is the key of another kind of run" % config.key)
    except GridError as e:
        message = str(e.args[0])
        about_shape = "<rows>" in message or "<cols>" in message or "cells" in message
        forms.mark_invalid(rows if rows is not None and about_shape else key, e)


class ComputeGridEmbeddings(DelegatedWhenLarge):
    @property
    def config(self):
        return menu_config("compute_grid_embeddings", "compute embeddings only", "scatter_plot",
                           allow_immediate_execution=True, allow_delegated_execution=True)

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

        view = ctx.target_view()
        field = ctx.params.get("embeddings_field", "embedding")
        model = model_from_spec(ctx.params.get("model") or None)
        total = len(view)
        view.compute_embeddings(
            model, embeddings_field=field, batch_size=32, num_workers=0,
            progress=forward_progress(
                lambda done: ctx.set_progress(progress=done / max(total, 1),
                                              label="Computing embeddings"), total))
        if not ctx.delegated:
            ctx.ops.reload_dataset()
        return {"embeddings_field": field, "samples": total}

    def resolve_output(self, ctx):
        return None


class Regrid(RunOperator):
    weights = REGRID_WEIGHTS

    @property
    def config(self):
        return menu_config("regrid", "change grid shape or cell size", "view_module", run=True)

    def resolve_input(self, ctx):
        from gridtsne.fo.plan import checked_shape

        inputs = types.Object()
        key = forms.grid_key_input(ctx, inputs)
        if key is None:
            return types.Property(inputs)
        res = runs.load_grid(ctx.dataset, key)
        rows = option_input(inputs, "rows", description="Empty: keep %d x %d"
                            % (res.rows, res.cols))
        option_input(inputs, "cols")
        option_input(inputs, "cell_px", default=res.options.cell_px)
        option_input(inputs, "regions", default=res.options.regions)
        if res.options.label_field:
            option_input(inputs, "label_borders", default=res.options.label_borders)
        r, c = ctx.params.get("rows"), ctx.params.get("cols")
        if r or c:
            try:
                checked_shape(res.n_samples, r or None, c or None)
            except GridError as e:
                forms.mark_invalid(rows, e)
        return types.Property(inputs, view=types.View(
            label="Re-grid '%s' (%dx%d, %d samples)" % (key, res.rows, res.cols,
                                                         res.n_samples)))

    def work(self, ctx):
        def work(progress):
            from gridtsne.fo.compute import regrid

            p = ctx.params
            return outputs_of(regrid(ctx.dataset, p["key"], rows=p.get("rows") or None,
                                     cols=p.get("cols") or None,
                                     cell_px=p.get("cell_px") or None,
                                     regions=p.get("regions"),
                                     label_borders=p.get("label_borders"),
                                     progress=progress), timings="regrid_timings")

        return work


# more new samples than this share of a run's: the update form suggests a recompute
UPDATE_FRACTION = 0.25


class UpdateGrid(DelegatedWhenLarge):
    @property
    def config(self):
        return menu_config("update_grid", "add new samples to a grid", "add_box", run=True)

    def resolve_input(self, ctx):
        inputs = types.Object()
        key = forms.grid_key_input(ctx, inputs)
        if key is not None:
            res = runs.load_grid(ctx.dataset, key)
            new = res.unplaced_count()
            free = res.rows * res.cols - res.n_samples
            text = "Places %d new sample%s of run '%s' into its %d x %d grid; %s." % (
                new, "" if new == 1 else "s", key, res.rows, res.cols,
                ("it grows to fit them, and the %d placed samples are spread over it in the "
                 "same arrangement" if new > free else
                 "the %d placed samples keep their cells") % res.n_samples)
            if new > UPDATE_FRACTION * res.n_samples:
                text += (" %d new samples are %d%% of the run: the layout is likely to end less "
                         "sorted than a fresh run (the result says how far); recomputing the "
                         "run with Overwrite lays all of them out anew." % (
                             new, round(100 * new / max(res.n_samples, 1))))
            inputs.view("what", types.Notice(label=text))
        return types.Property(inputs, view=types.View(label="Add new samples to a grid"))

    def work(self, ctx):
        def work(progress):
            from gridtsne.fo.compute import update_grid

            from gridtsne.core.metrics import update_summary

            results = update_grid(ctx.dataset, ctx.params["key"], progress=progress)
            out = outputs_of(results, timings="update_timings")
            if results.update_report:  # what the update did; the recompute when it fell
                out.update(update=update_summary(results.update_report),
                           recompute=bool(results.update_report["fell"]))
            return out

        return work


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


class OpenGridPanel(foo.Operator):
    @property
    def config(self):
        return menu_config("open_grid_panel", "open mosaic panel", "grid_on")

    def resolve_input(self, ctx):
        inputs = types.Object()
        forms.grid_key_input(ctx, inputs, label="Show grid run")
        return types.Property(inputs)

    def execute(self, ctx):
        key = ctx.params.get("key")
        ctx.ops.open_panel(PANEL_NAME, layout="horizontal", is_active=True,
                           state={"key": key} if key else None)
        return {"key": key}


class DeleteGrid(foo.Operator):
    @property
    def config(self):
        return menu_config("delete_grid", "delete a grid run", "delete")

    def resolve_input(self, ctx):
        inputs = types.Object()
        key = forms.grid_key_input(ctx, inputs, label="Grid run to delete")
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
        ctx.ops.notify("Deleted grid run %r: its record, fields, brain run and files" % key,
                       variant="success")
        return {"deleted": key}
