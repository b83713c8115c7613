"""The one table of what a run writes per item: the field ``{key}_{name}``,
the :class:`gridtsne.core.layout.Layout` values it comes from, its FiftyOne
type, its layout.csv format and its missing value. Runs, outputs, regrid and
the writer all read it, so a new output is one line here."""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class OutputField:
    name: str  # the field is {key}_{name}; also the layout.csv column
    kind: str  # "float", "int" or "bool"
    curation: bool  # a curation score (absent when curation is off)

    def fo_type(self):
        import fiftyone as fo

        return {"float": fo.FloatField, "int": fo.IntField, "bool": fo.BooleanField}[self.kind]

    def missing(self, values):
        """Mask of the entries that mean "no value" (stored as None)."""
        values = np.asarray(values)
        if self.kind == "float":
            return np.isnan(values.astype(np.float64))
        return values < 0  # ints and bools: -1

    def to_values(self, values):
        """Plain Python values for the database, None where missing."""
        values = np.asarray(values)
        missing = self.missing(values)
        cast = {"float": float, "int": int, "bool": lambda v: bool(v > 0)}[self.kind]
        return [None if m else cast(v) for v, m in zip(values.tolist(), missing)]

    def from_values(self, values):
        """The Layout array of stored values (None back to the missing value)."""
        if self.kind == "float":
            return np.array([np.nan if v is None else v for v in values], np.float64)
        return np.array([-1 if v is None else int(v) for v in values], np.int64)

    def to_csv(self, v, missing):
        if missing:
            return ""
        if self.kind == "float":
            return "%.4f" % v
        return "%d" % v


PLACEMENT = (OutputField("x", "float", False), OutputField("y", "float", False),
             OutputField("row", "int", False), OutputField("col", "int", False))
REGIONS = (OutputField("region", "int", False),)
CURATION = (
    OutputField("label_disagreement", "float", True),
    OutputField("duplicate_group", "int", True),
    OutputField("duplicate_representative", "bool", True),
    OutputField("duplicate_confidence", "float", True),
    OutputField("outlier", "float", True),
)
FIELDS = PLACEMENT + REGIONS + CURATION
BY_NAME = {f.name: f for f in FIELDS}
CURATION_NAMES = tuple(f.name for f in CURATION)


def layout_arrays(layout):
    """{name: array} of every output a layout has (None-valued ones left out)."""
    out = {"x": layout.xy[:, 0], "y": layout.xy[:, 1],
           "row": layout.cells[:, 0], "col": layout.cells[:, 1]}
    if layout.region is not None:
        out["region"] = layout.region
    for f in CURATION:
        values = getattr(layout, f.name)
        if values is not None:
            out[f.name] = values
    return out


def field_name(key, name):
    return "%s_%s" % (key, name)


def layout_values(key, layout):
    """{field name: plain values} of a layout, for the writer."""
    return {field_name(key, name): BY_NAME[name].to_values(values)
            for name, values in layout_arrays(layout).items()}


def cell_values(fields, layout):
    """{stored field: plain values} of the grid cells and regions alone
    (``fields``: the run's {name: field}), for a regrid that moves cells and
    keeps the rest."""
    arrays = layout_arrays(layout)
    return {fields[name]: BY_NAME[name].to_values(arrays[name])
            for name in ("row", "col", "region") if name in arrays}


def run_fields(key, layout):
    """{name: field name} of every field a layout gives (prefix not included)."""
    return {name: field_name(key, name) for name in layout_arrays(layout)}


def field_types(key, prefix="", embedding=None):
    """The FiftyOne type of every field a run may write (``prefix``: where
    the run's fields live, e.g. ``ground_truth.detections.``)."""
    import fiftyone as fo

    out = {prefix + field_name(key, f.name): f.fo_type() for f in FIELDS}
    if embedding:
        out[embedding] = fo.VectorField
    return out


def restore_curation(layout, stored):
    """Sets the curation arrays of ``layout`` from ``{name: stored values}``
    (what regrid keeps of the computation)."""
    for name, values in stored.items():
        setattr(layout, name, BY_NAME[name].from_values(values))
