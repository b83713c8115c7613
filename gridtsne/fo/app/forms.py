"""What the operators' forms offer: the dataset's fields of each kind, and
inputs built from :class:`gridtsne.config.GridConfig`'s own metadata (label,
help, default, bounds, choices), so a form cannot drift from the config."""

import fiftyone.operators.types as types

from gridtsne import config as gconfig
from gridtsne.config import GridConfig
from gridtsne.fo import records, runs


def meta(name):
    return GridConfig.__dataclass_fields__[name].metadata


def option_input(inputs, name, **overrides):
    """The form input of option ``name``: its type, label, help, default
    (what a None default means, when the config says), and bounds."""
    m = meta(name)
    kind = gconfig.kind_of(name)
    shown = m.get("shown")
    default = GridConfig.__dataclass_fields__[name].default
    if default is None and isinstance(shown, (int, float)) and not isinstance(shown, bool):
        default = shown
    kw = dict(label=m["label"], description=m["help"])
    if default is not None:
        kw["default"] = default
    if kind in (int, float):
        low = m.get("form_min", m.get("min", m.get("above")))
        if low is not None:
            kw["min"] = low
        if m.get("max") is not None:
            kw["max"] = m["max"]
    kw.update(overrides)
    make = {bool: inputs.bool, int: inputs.int, float: inputs.float}.get(kind, inputs.str)
    return make(name, **kw)


def choices_input(inputs, name, labels=None, radio=False, **overrides):
    """Option ``name`` as a dropdown (or radio group) of its config choices,
    or of ``labels`` ({value: label}, or a list of values)."""
    m = meta(name)
    if labels is None:
        labels = {c: c for c in m.get("choices", ())}
    elif not isinstance(labels, dict):
        labels = {c: c for c in labels}
    view = (types.RadioGroup if radio else types.Dropdown)(
        label=overrides.pop("label", m["label"]), description=m["help"])
    for value, label in labels.items():
        view.add_choice(value, label=label)
    default = overrides.pop("default", GridConfig.__dataclass_fields__[name].default)
    return inputs.enum(name, view.values(), default=default, view=view, **overrides)


def mark_invalid(prop, error):
    prop.invalid = True
    prop.error_message = error.for_surface("form")


def target(ctx):
    """The view to lay out: the target view, or its group slice for grouped datasets."""
    view = ctx.target_view()
    if view.media_type == "group":
        view = view.select_group_slices(ctx.group_slice or view.default_group_slice)
    return view


def grid_key_input(ctx, inputs, label="Grid run"):
    """A dropdown of the dataset's grid runs; the chosen key, or None (and a
    warning) when there is none."""
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


def unused_key(dataset, base="grid"):
    taken = set(dataset.list_runs()) | set(dataset.list_brain_runs())
    if base not in taken:
        return base
    return next("%s%d" % (base, i) for i in range(2, 10_000) if "%s%d" % (base, i) not in taken)


def vector_fields(dataset):
    """Fields that can hold embedding vectors (never tags or other lists)."""
    import fiftyone as fo

    out = []
    for name, f in dataset.get_field_schema().items():
        if name.startswith(("_", records.TMP_PREFIX, records.BACKUP_PREFIX)):
            continue
        if isinstance(f, (fo.VectorField, fo.ArrayField)) or (
                isinstance(f, fo.ListField) and isinstance(f.field, (fo.FloatField,
                                                                     fo.IntField))):
            out.append(name)
    return sorted(out)


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
