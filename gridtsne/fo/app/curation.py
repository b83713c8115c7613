"""The curation operators: near-duplicates (previewed before anything is
tagged), relabelling the selection and undoing it, and a diverse subset. The
work is gridtsne.fo.curate's."""

import fiftyone.operators as foo
import fiftyone.operators.types as types

from gridtsne.fo import items, runs
from gridtsne.fo.app import forms
from gridtsne.fo.app.base import menu_config


class FindDuplicates(foo.Operator):
    @property
    def config(self):
        return menu_config("find_duplicates", "show or tag near-duplicates", "content_copy")

    def resolve_input(self, ctx):
        inputs = types.Object()
        if forms.grid_key_input(ctx, inputs) is None:
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
        return menu_config("relabel_selected", "relabel the selected samples or objects",
                           "label")

    def resolve_input(self, ctx):
        inputs = types.Object()
        key = forms.grid_key_input(ctx, inputs, label="Grid run (its labels are changed)")
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
        now = _current_labels(ctx.dataset, chosen, field, path, objects)
        choices = types.AutocompleteView(label="New label", description=(
            "for the %d selected %s%s in field '%s' (now: %s); pick a class or type a new one"
            % (len(chosen), noun, "" if len(chosen) == 1 else "s", field,
               ", ".join("%s %d" % kv for kv in now[:4]) + (", ..." if len(now) > 4 else ""))))
        for c in classes:
            choices.add_choice(c, label=c)
        # it opens on the selection's most common label (relabelling to it
        # changes nothing), never empty: an empty required field opens red
        inputs.str("label", required=True, view=choices,
                   default=now[0][0] if now and now[0][0] != "none" else None)
        inputs.str("tag", label="Tag the changed %ss (for undo)" % noun,
                   default="relabelled", required=True)
        return types.Property(inputs, view=types.View(label="Relabel selected %ss" % noun))

    def execute(self, ctx):
        from gridtsne.fo import curate

        res = runs.load_grid(ctx.dataset, ctx.params["key"])
        chosen = _selection(ctx, res)
        label, tag = ctx.params["label"], ctx.params.get("tag") or "relabelled"
        n = curate.relabel(ctx.dataset, chosen, label, key=res.key, tag=tag)
        ctx.ops.reload_dataset()
        noun = "object" if res.kind == "labels" else "sample"
        ctx.ops.notify(
            ("Relabelled %d %s%s %r (tagged %r; Undo relabelling puts them back)"
             % (n, noun, "" if n == 1 else "s", label, tag)) if n else
            ("Nothing changed: the %d selected %s%s already had label %r"
             % (len(chosen), noun, "" if len(chosen) == 1 else "s", label)),
            variant="success" if n else "info")
        return {"relabelled": n}


def _current_labels(dataset, chosen, field, path, objects):
    """[(label, count)] of the selection, most common first."""
    view = (dataset.select_labels(ids=chosen, fields=field) if objects
            else dataset.select(chosen))
    counts = view.count_values(path)
    return sorted((("none" if k is None else str(k), v) for k, v in counts.items()),
                  key=lambda kv: (-kv[1], kv[0]))


class UndoRelabel(foo.Operator):
    @property
    def config(self):
        return menu_config("undo_relabel", "undo relabelling", "undo")

    def resolve_input(self, ctx):
        inputs = types.Object()
        from gridtsne.fo import curate

        key = forms.grid_key_input(ctx, inputs, label="Grid run (its label field)")
        if key is None:
            return types.Property(inputs)
        inputs.str("tag", label="Relabelled samples carry the tag", default="relabelled",
                   required=True)
        tag = ctx.params.get("tag") or "relabelled"
        field = runs.load_grid(ctx.dataset, key).options.label_field
        n = curate.relabelled_count(ctx.dataset, field, tag=tag, key=key)
        if n:
            inputs.view("count", types.Notice(label=(
                "Puts back the previous label of %d relabelled item%s (tagged %r) and "
                "removes the tag" % (n, "" if n == 1 else "s", tag))))
        else:
            prop = inputs.view("count", types.Warning(label=_nothing_to_undo(tag)))
            prop.invalid = True
        return types.Property(inputs, view=types.View(label="Undo relabelling"))

    def execute(self, ctx):
        from gridtsne.fo import curate

        key = ctx.params["key"]
        tag = ctx.params.get("tag") or "relabelled"
        field = runs.load_grid(ctx.dataset, key).options.label_field
        n = curate.undo_relabel(ctx.dataset, field, tag=tag, key=key)
        ctx.ops.reload_dataset()
        ctx.ops.notify("Put back the previous label of %d item%s (tag %r removed)"
                       % (n, "" if n == 1 else "s", tag) if n else _nothing_to_undo(tag),
                       variant="success" if n else "info")
        return {"restored": n}


def _nothing_to_undo(tag):
    return "Nothing to undo: no item tagged %r has a previous label" % tag


class DiverseSubset(foo.Operator):
    @property
    def config(self):
        return menu_config("diverse_subset", "pick a diverse subset", "scatter_plot")

    def resolve_input(self, ctx):
        inputs = types.Object()
        key = forms.grid_key_input(ctx, inputs)
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
        done = [w % v for w, v in (("tagged %r", p.get("tag")),
                                   ("saved as view %r", p.get("view_name"))) if v]
        ctx.ops.notify("The view is a diverse subset of %d samples%s" % (
            len(view), " (" + ", ".join(done) + ")" if done else ""), variant="success")
        return {"samples": len(view)}
