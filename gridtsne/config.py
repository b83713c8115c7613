"""One run's options: names, defaults, validation, and how each surface spells them.

The SDK (``compute_grid``), the command line, the operator forms,
``queue_grid`` and ``regrid`` all build a :class:`GridConfig`, so a default or
a rule is written once, here. The record of a run stores
:meth:`GridConfig.to_dict` and ``regrid`` derives its config from it with
:meth:`GridConfig.replace`. No FiftyOne imports: checks that need the dataset
(does the field exist, is the key taken) live in ``gridtsne.fo.plan``.
"""

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Optional

DEFAULT_MAX_PIXELS = 100_000_000
DEFAULT_CELL_PX = 64
DEFAULT_PERPLEXITY = 20.0  # what perplexity=None means (gridtsne.core.reduce)
KEY_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,47}$")
FIELD_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
METRICS = ("cosine", "euclidean")
ASSIGNMENTS = ("auto", "exact", "blocks")
FORMATS = ("jpg", "png")
PRECISIONS = ("float", "int8")  # of the default model (gridtsne.core.embed)


class GridError(ValueError):
    """Bad input to a grid run, raised before anything is written.

    Messages name options as ``<overwrite=True>``; :meth:`for_surface` spells
    them the way the user gave them (SDK keyword, CLI flag or form label).
    """

    def for_surface(self, surface="sdk"):
        return render_options(str(self.args[0]) if self.args else "", surface)

    def __str__(self):
        return self.for_surface("sdk")


def _option(default, help, cli=None, label=None, **extra):
    """A config field with what each surface needs to show and check it:
    ``help``, the CLI flag ``cli``, the form ``label``, and optionally
    ``choices``, bounds (``min``/``max`` inclusive, ``above``: exclusive),
    ``shown`` (what a None default means, as the surfaces say it) and
    ``form_min`` (the smallest value a form offers, when it is not ``min``)."""
    return field(default=default, metadata=dict(help=help, cli=cli, label=label, **extra))


@dataclass(frozen=True)
class GridConfig:
    """Every option of a grid run, with its default."""

    key: str = _option("grid", "a name for this run (a dataset can hold several); the "
                       "fields it writes on each sample start with it: {key}_row, {key}_col",
                       cli="--key", label="Run name")
    patches_field: Optional[str] = _option(
        None, "lay out the objects of this Detections or Polylines field, one cell each, "
        "instead of whole images", cli="--patches-field", label="Objects of label field")
    patch_context: float = _option(
        0.1, "with patches_field: the margin around each object, a fraction of its size "
        "on each side", cli="--patch-context", label="Context around objects",
        min=0.0, max=1.0)
    frames_fps: Optional[float] = _option(
        None, "for videos: lay out their frames, sampled at this many frames per second",
        cli="--frames-fps", label="Frames per second", above=0.0, form_min=0.01)
    embeddings: Optional[str] = _option(
        None, "use the vectors in this field instead of computing embeddings",
        cli="--embeddings-field", label="Embeddings field")
    model: Optional[str] = _option(
        None, "embedding model: a FiftyOne zoo model name (downloads its weights); "
        "default EfficientNet-Lite0, offline", cli="--model", label="Zoo model name")
    precision: str = _option(
        "float", "the default model's arithmetic: float, or int8 (quantized, about 2x "
        "faster on the CPU, layout quality within seed noise of float's; "
        "docs/benchmarks.md)", cli="--precision", label="Default model precision",
        choices=PRECISIONS)
    embeddings_field: Optional[str] = _option(
        None, "where computed embeddings are stored", label="Store embeddings in field",
        shown="{key}_embedding")
    rows: Optional[int] = _option(None, "grid rows (default: near-square)", cli="--grid",
                                  label="Rows", min=1, shown="near-square")
    cols: Optional[int] = _option(None, "grid columns (default: near-square)", cli="--grid",
                                  label="Columns", min=1, shown="near-square")
    perplexity: Optional[float] = _option(None, "t-SNE perplexity", cli="--perplexity",
                                          label="t-SNE perplexity", above=0.0, form_min=1.0,
                                          shown=DEFAULT_PERPLEXITY)
    metric: str = _option("cosine", "t-SNE distance: cosine or euclidean", cli="--metric",
                          label="t-SNE metric", choices=METRICS)
    seed: int = _option(0, "random seed", cli="--seed", label="Random seed", min=0)
    cell_px: int = _option(DEFAULT_CELL_PX, "mosaic cell size in pixels (4-1024)",
                           cli="--cell", label="Cell size (px)", min=4, max=1024)
    label_field: Optional[str] = _option(
        None, "label field for agreement metrics, label curation and label borders",
        cli="--label-field", label="Label field", shown="none (the CLI: ground_truth when "
        "present)")
    output_dir: Optional[str] = _option(
        None, "parent folder of the run's own folder OUTPUT_DIR/KEY", label="Output folder",
        shown="~/fiftyone/gridtsne/dataset_<id>")
    mosaic_format: str = _option("jpg", "mosaic image format: jpg or png", cli="--format",
                                 label="Mosaic format", choices=FORMATS)
    assignment: str = _option("auto", "grid assignment: auto (exact up to 1,024 cells, "
                              "blocks above), exact or blocks", cli="--assignment",
                              label="Assignment", choices=ASSIGNMENTS)
    refine: bool = _option(True, "swap images so that each sits beside its most similar "
                           "ones (window by window above 10,000 images)",
                           cli="--no-refine", label="Refine neighbours")
    batch_size: int = _option(64, "embedding batch size; finished batches are kept in the "
                              "run's folder until it is written, so a stopped run resumes",
                              cli="--batch-size", label="Batch size", min=1)
    num_workers: Optional[int] = _option(
        None, "image-decoding threads", cli="--workers", label="Decoding threads", min=0,
        shown="one per CPU core, at most 4")
    max_pixels: int = _option(DEFAULT_MAX_PIXELS, "skip images with more pixels than this, "
                              "without decoding them (decompression bombs)",
                              cli="--max-pixels", label="Largest image (pixels)", min=1)
    strict: bool = _option(False, "fail on the first unusable image instead of skipping it",
                           cli="--strict", label="Strict")
    curation: bool = _option(
        True, "find near-duplicates and outliers and, with a label field, score label "
        "disagreement (docs/design.md, \"Curation\")",
        cli="--no-curation", label="Curation")
    duplicate_threshold: float = _option(
        0.95, "how alike two images must be (aligned pixel correlation, 0-1) to count as "
        "near-duplicates; they must also be far closer than their other neighbours and "
        "keep their tones (docs/design.md)",
        cli="--duplicate-threshold", label="Near-duplicate threshold", above=0.0, max=1.0)
    outline_suspicious: float = _option(
        0.0, "outline (magenta) this fraction of images whose labels most disagree with "
        "their neighbours, e.g. 0.05", cli="--outline-suspicious",
        label="Outline suspicious labels (fraction)", min=0.0, max=1.0)
    label_borders: bool = _option(
        False, "with a label field: draw each cell's border in its label's colour into the "
        "mosaic file, for export (the panel colours cells itself, in the App's colours)",
        cli="--label-borders", label="Label borders in the mosaic file")
    regions: bool = _option(
        False, "draw the regions' outlines and names on the mosaic file (every run finds "
        "its regions; this is for export)", cli="--regions", label="Draw regions on the mosaic")
    overwrite: bool = _option(False, "replace an existing run with the same key",
                              cli="--overwrite", label="Overwrite")

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value = _coerce(f.name, getattr(self, f.name))
            object.__setattr__(self, f.name, value)
        self.validate()

    def validate(self):
        """Checks that need no dataset; raises :class:`GridError`."""
        if not isinstance(self.key, str) or not KEY_PATTERN.match(self.key):
            raise GridError(
                "Invalid key %r: use 1-48 letters, digits or underscores, starting with "
                "a letter" % (self.key,))
        for name in ("embeddings", "label_field", "patches_field"):
            value = getattr(self, name)
            if value is not None and (not value or value.startswith("_")):
                raise GridError(
                    "<%s> %r is not a field you can use: names starting with '_' are "
                    "FiftyOne's own" % (name, value))
        if self.embeddings_field is not None and not FIELD_PATTERN.match(self.embeddings_field):
            raise GridError(
                "<embeddings_field> %r is not a valid new field name: use letters, digits "
                "and underscores, starting with a letter" % self.embeddings_field)
        if self.embeddings is not None and self.model is not None:
            raise GridError("Give either <embeddings> or <model>, not both")
        for f in dataclasses.fields(self):
            value, meta = getattr(self, f.name), f.metadata
            if value is None:
                continue
            if meta.get("choices"):
                _one_of(f.name, value, meta["choices"])
            if not _within(value, meta):
                raise GridError("<%s> must be %s, got %s" % (f.name, bounds(f.name), value))
        if self.precision != "float" and not (self.embeddings is None and self.model is None):
            raise GridError("<precision> %r is for the default model; it does not apply "
                            "with <%s>" % (self.precision,
                                           "embeddings" if self.embeddings else "model"))
        if self.outline_suspicious and not self.curation:
            raise GridError("<outline_suspicious> outlines the labels curation scores; "
                            "it needs <curation>")

    # -- derived values -------------------------------------------------------------

    @property
    def computes_embeddings(self):
        return self.embeddings is None

    @property
    def store_embeddings_in(self):
        return self.embeddings_field or "%s_embedding" % self.key

    # -- to and from records, forms and flags ------------------------------------------

    def replace(self, **changes):
        """A new config with ``changes`` (None values mean "keep")."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def to_dict(self):
        """What a run record stores (``overwrite`` is an instruction, not a property)."""
        out = dataclasses.asdict(self)
        out.pop("overwrite")
        return out

    @classmethod
    def from_dict(cls, d):
        """From :meth:`to_dict`; unknown keys (from newer versions) are ignored."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in (d or {}).items() if k in names})

    def to_params(self):
        """The ``compute_grid`` operator's form values for this config."""
        params = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                  if f.name not in ("rows", "cols", "embeddings", "model")}
        params["embeddings_source"] = (
            "field" if self.embeddings else "model" if self.model else "default")
        if self.embeddings:
            params["embeddings"] = self.embeddings
        if self.model:
            params["model"] = self.model
        params["grid"] = "custom" if (self.rows or self.cols) else "auto"
        if self.rows or self.cols:
            params.update(rows=self.rows, cols=self.cols)
        return {k: v for k, v in params.items() if v is not None}

    @classmethod
    def from_params(cls, params):
        """From the operator's form values (see :meth:`to_params`)."""
        p = {k: v for k, v in (params or {}).items() if v is not None and v != ""}
        source = p.pop("embeddings_source", "default")
        if source != "field":
            p.pop("embeddings", None)
        if source != "model":
            p.pop("model", None)
        if source != "default":
            p.pop("precision", None)
        if p.pop("grid", "auto") != "custom":
            p.pop("rows", None)
            p.pop("cols", None)
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in p.items() if k in names})


def _within(value, meta):
    return not (("min" in meta and value < meta["min"]) or ("max" in meta and value > meta["max"])
                or ("above" in meta and not value > meta["above"]))


def bounds(name):
    """How an option's bounds read in a message: "at least 1", "between 4 and 1024"..."""
    meta = GridConfig.__dataclass_fields__[name].metadata
    low, high, above = meta.get("min"), meta.get("max"), meta.get("above")
    if low is not None and high is not None:
        if (low, high) == (0.0, 1.0) and isinstance(low, float):
            return "a fraction in [0, 1]"
        return "between %s and %s" % (low, high)
    if above is not None and high is not None:
        return "in (%g, %g]" % (above, high)
    if above == 0:
        return "positive"
    if low == 0:
        return "0 or more"
    return "at least %s" % low


def shown_default(name):
    """An option's default as the surfaces (CLI help, docs/options.md) say it."""
    f = GridConfig.__dataclass_fields__[name]
    if "shown" in f.metadata:
        return f.metadata["shown"]
    return f.default


def options():
    """(name, default, metadata) of every option, in order."""
    return [(f.name, f.default, f.metadata) for f in dataclasses.fields(GridConfig)]


def default(name):
    return GridConfig.__dataclass_fields__[name].default


_TYPES = {
    "rows": int, "cols": int, "seed": int, "cell_px": int, "batch_size": int,
    "num_workers": int, "max_pixels": int, "perplexity": float, "patch_context": float,
    "duplicate_threshold": float,
    "frames_fps": float,
    "outline_suspicious": float, "refine": bool, "curation": bool, "strict": bool, "overwrite": bool,
    "regions": bool, "label_borders": bool,
}


def kind_of(name):
    """The Python type of option ``name`` (str for names and choices)."""
    return _TYPES.get(name, str)


def _coerce(name, value):
    """Form and JSON values arrive as floats or strings; give them their type."""
    kind = _TYPES.get(name, str)
    if value is None:
        return None
    if kind is bool:
        if isinstance(value, bool):
            return value
        raise GridError("<%s> must be True or False, got %r" % (name, value))
    if kind is int:
        if isinstance(value, bool):
            raise GridError("<%s> must be a whole number, got %r" % (name, value))
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise GridError("<%s> must be a whole number, got %r" % (name, value)) from None
        if number != int(number):
            raise GridError("<%s> must be a whole number, got %r" % (name, value))
        return int(number)
    if kind is float:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise GridError("<%s> must be a number, got %r" % (name, value)) from None
    if not isinstance(value, str):
        raise GridError("<%s> must be a string, got %s" % (name, type(value).__name__))
    return value


def _one_of(name, value, allowed):
    if value not in allowed:
        raise GridError("<%s> must be one of %s, got %r"
                        % (name, ", ".join(repr(a) for a in allowed), value))


_OPTION = re.compile(r"<(\w+)(=[^>]*)?>")


def render_options(message, surface="sdk"):
    """Spells ``<name>`` / ``<name=value>`` as the surface does: ``name=value``
    for the SDK, the flag for the command line, the form label in the App."""

    def spell(m):
        name, value = m.group(1), (m.group(2) or "")[1:]
        meta = GridConfig.__dataclass_fields__[name].metadata if name in \
            GridConfig.__dataclass_fields__ else {}
        if surface == "cli" and name in ("rows", "cols"):
            return "--grid %s" % ("rows" if name == "rows" else "columns")
        if surface == "cli" and meta.get("cli"):
            return meta["cli"]
        if surface == "form" and meta.get("label"):
            return "'%s'" % meta["label"]
        return "%s=%s" % (name, value) if value else name

    return _OPTION.sub(spell, message)
