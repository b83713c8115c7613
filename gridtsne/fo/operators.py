"""The plugin's operators: forms and App wiring; the work is in compute/runs."""

import fiftyone.operators as foo
import fiftyone.operators.types as types
from fiftyone.operators.executor import ExecutionOptions

from gridtsne.fo import runs
from gridtsne.fo.progress import overall

from gridtsne.fo.panel import NAME as PANEL_NAME

# Runs on more samples than this are offered as delegated (queued) by default.
DELEGATE_ABOVE = 500
PLUGIN = "@gridtsne/gridded-tsne"


def _vector_fields(dataset):
    import fiftyone as fo

    return sorted(
        name
        for name, f in dataset.get_field_schema().items()
        if isinstance(f, (fo.VectorField, fo.ListField))
        and not name.startswith("gridtsne_tmp_")
    )


def _label_fields(dataset):
    import fiftyone as fo

    out = []
    for name, f in dataset.get_field_schema().items():
        if isinstance(f, fo.EmbeddedDocumentField) and issubclass(
            f.document_type, fo.Classification
        ):
            out.append(name)
        elif isinstance(f, fo.StringField) and name not in ("filepath", "id"):
            out.append(name)
    return sorted(out)


def _choose(inputs, name, choices, label, description=None, required=False, default=None):
    dropdown = types.Dropdown(label=label, description=description)
    for c in choices:
        dropdown.add_choice(c, label=c)
    return inputs.enum(name, dropdown.values(), required=required, default=default,
                       view=dropdown)


def _grid_key_input(ctx, inputs, label="Grid run"):
    keys = runs.list_grids(ctx.dataset)
    if not keys:
        inputs.view("none", types.Warning(label="This dataset has no grid runs yet"))
        return None
    _choose(inputs, "key", keys, label, required=True, default=keys[0])
    return ctx.params.get("key") or keys[0]


class _DelegatedWhenLarge(foo.Operator):
    """Offers both execution modes, defaulting to delegated for large targets."""

    def resolve_execution_options(self, ctx):
        n = len(ctx.target_view()) if ctx.dataset is not None else 0
        return ExecutionOptions(
            allow_immediate_execution=True,
            allow_delegated_execution=True,
            default_choice_to_delegated=n > DELEGATE_ABOVE,
        )


class ComputeGrid(_DelegatedWhenLarge):
    @property
    def config(self):
        return foo.OperatorConfig(
            name="compute_grid",
            label="Gridded t-SNE: compute similarity grid",
            description="Embed images, run t-SNE and snap them to a grid mosaic",
            icon="grid_view",
            dynamic=True,
            allow_immediate_execution=True,
            allow_delegated_execution=True,
        )

    def resolve_input(self, ctx):
        inputs = types.Object()
        target = ctx.target_view()
        dataset = ctx.dataset
        n = len(target)

        if dataset.media_type != "image":
            inputs.view("media", types.Error(
                label="Gridded t-SNE needs an image dataset; this one has %s media"
                % dataset.media_type))
            return types.Property(inputs, view=types.View(label="Compute similarity grid"))
        if n < 2:
            prop = inputs.view("few", types.Error(
                label="The target has %d sample%s; a grid needs at least 2"
                % (n, "" if n == 1 else "s")))
            prop.invalid = True

        key_prop = inputs.str(
            "key", label="Run key", required=True, default="grid",
            description="Names the run and its fields: {key}_row, {key}_col, {key}_x, {key}_y",
        )
        key = ctx.params.get("key", "grid")
        overwrite = bool(ctx.params.get("overwrite", False))
        try:
            runs.validate_key(key)
            if runs.has_grid(dataset, key) and not overwrite:
                key_prop.invalid = True
                key_prop.error_message = (
                    "A grid run '%s' exists; choose another key or tick Overwrite" % key)
        except ValueError as e:
            key_prop.invalid = True
            key_prop.error_message = str(e)

        source = types.RadioGroup()
        source.add_choice("default", label="Default model (EfficientNet-Lite0, offline)")
        source.add_choice("model", label="Another model (FiftyOne zoo name)")
        vector_fields = _vector_fields(dataset)
        if vector_fields:
            source.add_choice("field", label="Existing embeddings field")
        inputs.enum("embeddings_source", source.values(), default="default",
                    label="Embeddings", view=source)
        choice = ctx.params.get("embeddings_source", "default")
        if choice == "model":
            inputs.str("model", label="Zoo model name", required=True,
                       description="e.g. clip-vit-base32-torch (downloads its weights)")
        elif choice == "field" and vector_fields:
            _choose(inputs, "embeddings_field", vector_fields, "Embeddings field",
                    required=True, default=vector_fields[0])

        shape = types.RadioGroup()
        shape.add_choice("auto", label="Automatic (near-square)")
        shape.add_choice("custom", label="Rows x columns")
        inputs.enum("grid", shape.values(), default="auto", label="Grid shape", view=shape)
        if ctx.params.get("grid") == "custom":
            rows = inputs.int("rows", label="Rows", min=1)
            inputs.int("cols", label="Columns", min=1)
            r, c = ctx.params.get("rows"), ctx.params.get("cols")
            if (r or c) and n:
                import gridtsne

                try:
                    gridtsne.grid_shape(n, r or None, c or None)
                except ValueError as e:
                    rows.invalid = True
                    rows.error_message = str(e)

        inputs.float("perplexity", label="t-SNE perplexity", default=20.0, min=2.0)
        inputs.int("seed", label="Random seed", default=0)
        inputs.bool("refine", label="Refine neighbours", default=True,
                    description="Swap images so that each sits beside its most similar "
                    "ones (window by window above 10,000 samples)")
        inputs.int("cell_px", label="Cell size (px)", default=64, min=4, max=1024)
        label_fields = _label_fields(dataset)
        if label_fields:
            _choose(inputs, "label_field", label_fields, "Label field (optional)",
                    description="Colours cell borders and measures neighbour agreement")
        inputs.bool("overwrite", label="Overwrite an existing run with this key",
                    default=False)
        return types.Property(inputs, view=types.View(label="Compute similarity grid"))

    def resolve_run_name(self, ctx):
        return "gridtsne: %s" % ctx.params.get("key", "grid")

    def execute(self, ctx):
        from gridtsne.fo.compute import compute_grid

        p = ctx.params
        source = p.get("embeddings_source", "default")
        custom = p.get("grid") == "custom"
        results = compute_grid(
            ctx.target_view(),
            key=p.get("key", "grid"),
            embeddings=p.get("embeddings_field") if source == "field" else None,
            model=p.get("model") if source == "model" else None,
            rows=(p.get("rows") or None) if custom else None,
            cols=(p.get("cols") or None) if custom else None,
            perplexity=p.get("perplexity"),
            refine=bool(p.get("refine", True)),
            seed=int(p.get("seed", 0) or 0),
            cell_px=int(p.get("cell_px", 64) or 64),
            label_field=p.get("label_field") or None,
            overwrite=bool(p.get("overwrite", False)),
            progress=overall(lambda v, label: ctx.set_progress(progress=v, label=label)),
        )
        if not ctx.delegated:
            ctx.ops.reload_dataset()
        return _outputs(results)

    def resolve_output(self, ctx):
        return _results_view()


def _outputs(results):
    t = results.timings or {}
    return {
        "key": results.key,
        "grid": "%d x %d" % (results.rows, results.cols),
        "samples": results.n_samples,
        "skipped": len(results.skipped or []),
        "mosaic_path": results.mosaic_path,
        "timings": ", ".join("%s %.1f s" % (k, v) for k, v in t.items()),
        "dpq_16": (results.metrics or {}).get("dpq_16"),
        "neighbor_label_agreement": (results.metrics or {}).get("neighbor_label_agreement"),
    }


def _results_view():
    outputs = types.Object()
    outputs.str("key", label="Run key")
    outputs.str("grid", label="Grid (rows x cols)")
    outputs.int("samples", label="Samples placed")
    outputs.int("skipped", label="Samples skipped")
    outputs.str("mosaic_path", label="Mosaic")
    outputs.str("timings", label="Timings")
    outputs.float("dpq_16", label="Distance preservation quality (DPQ_16)")
    outputs.float("neighbor_label_agreement", label="Neighbour label agreement")
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
        ctx.target_view()
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
        import fiftyone.core.utils as fou

        from gridtsne.fo.model import model_from_spec

        target = ctx.target_view()
        field = ctx.params.get("embeddings_field", "embedding")
        model = model_from_spec(ctx.params.get("model") or None)

        def report(pb):
            if pb.progress is not None:
                ctx.set_progress(progress=pb.progress, label="Computing embeddings")

        target.compute_embeddings(
            model, embeddings_field=field, batch_size=32,
            progress=fou.report_progress(report, dt=1.0),
        )
        if not ctx.delegated:
            ctx.ops.reload_dataset()
        return {"embeddings_field": field, "samples": len(target)}


class Regrid(foo.Operator):
    @property
    def config(self):
        return foo.OperatorConfig(
            name="regrid",
            label="Gridded t-SNE: change grid shape or cell size",
            icon="view_module",
            dynamic=True,
            allow_immediate_execution=True,
            allow_delegated_execution=True,
        )

    def resolve_input(self, ctx):
        inputs = types.Object()
        key = _grid_key_input(ctx, inputs)
        if key is None:
            return types.Property(inputs)
        res = runs.load_grid(ctx.dataset, key)
        rows = inputs.int("rows", label="Rows", description="Empty: keep automatic")
        inputs.int("cols", label="Columns")
        inputs.int("cell_px", label="Cell size (px)",
                   default=(res.config.get("params") or {}).get("cell_px", 64),
                   min=4, max=1024)
        r, c = ctx.params.get("rows"), ctx.params.get("cols")
        if r or c:
            import gridtsne

            try:
                gridtsne.grid_shape(res.n_samples, r or None, c or None)
            except ValueError as e:
                rows.invalid = True
                rows.error_message = str(e)
        return types.Property(inputs, view=types.View(
            label="Re-grid '%s' (%dx%d, %d samples)" % (key, res.rows, res.cols, res.n_samples)))

    def execute(self, ctx):
        from gridtsne.fo.compute import regrid

        p = ctx.params
        results = regrid(
            ctx.dataset, p["key"], rows=p.get("rows") or None, cols=p.get("cols") or None,
            cell_px=p.get("cell_px") or None,
            progress=overall(lambda v, label: ctx.set_progress(progress=v, label=label),
                             weights={"assign": 0.3, "render": 0.6, "save": 0.1}),
        )
        if not ctx.delegated:
            ctx.ops.reload_dataset()
        return _outputs(results)

    def resolve_output(self, ctx):
        return _results_view()


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
        fields = [f for f in runs.owned_fields(res.config) if ctx.dataset.has_sample_field(f)]
        inputs.view("what", types.Notice(label=(
            "Deletes the run record, the fields %s, brain run '%s' and the mosaic %s"
            % (", ".join(fields), res.config.get("brain_key"), res.mosaic_path))))
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


OPERATORS = [ComputeGrid, ComputeGridEmbeddings, Regrid, OpenGridPanel, DeleteGrid]
