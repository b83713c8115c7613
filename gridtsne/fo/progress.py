"""One progress interface for the pipeline's stages.

``progress`` follows FiftyOne's convention: None (use
``fo.config.show_progress_bars``), True/False, or a callable. A callable is
called as ``progress(stage, fraction)``, so that an operator can forward it
to ``ctx.set_progress``. On a terminal each stage is one line that updates in
place and ends with its time (and images/s where images are counted); piped
into a log, each stage writes one line when it ends, with no carriage returns.
FiftyOne's ProgressBar is not used: it counts percent as "samples".
"""

import contextlib
import sys
import time

STAGE_LABELS = {
    "check": "Checking images",
    "embed": "Computing embeddings",
    "tsne": "Running t-SNE",
    "assign": "Assigning grid cells",
    "refine": "Refining neighbours",
    "curation": "Curation scores",
    "metrics": "Measuring layout quality",
    "render": "Rendering mosaic",
    "save": "Saving results",
}
TIMING_NAMES = {
    "check": "check", "embed": "embed", "tsne": "t-SNE", "assign": "assign",
    "refine": "refine", "curation": "curation", "metrics": "metrics", "render": "render",
    "save": "save",
}
_REDRAW_SECONDS = 0.1


class StageProgress:
    """Reports stages to a callable and/or the terminal."""

    def __init__(self, progress=None, stream=None):
        self.callback = progress if callable(progress) else None
        if progress is None:
            import fiftyone as fo

            progress = fo.config.show_progress_bars
        self.stream = stream or sys.stderr
        self.show = progress is True
        self.tty = self.show and hasattr(self.stream, "isatty") and self.stream.isatty()
        self._open = None

    @contextlib.contextmanager
    def stage(self, name, total=None, unit="images"):
        """Yields ``update(done)``: a count of ``total`` items, or a fraction
        when ``total`` is None."""
        self.end()
        line = _Line(self, name, total, unit)
        self._open = line
        try:
            yield line.update
            line.update(total if total is not None else 1.0)
        finally:
            self.end()

    def report(self, stage, fraction):
        """``progress(stage, fraction)`` for stages run elsewhere (the layout
        step): a new stage name ends the one before."""
        if self._open is None or self._open.name != stage:
            self.end()
            self._open = _Line(self, stage, None, None)
        self._open.update(fraction)

    def end(self):
        if self._open is not None:
            self._open.finish()
            self._open = None

    def write(self, text):
        if self.show:
            self.stream.write(text)
            self.stream.flush()


class _Line:
    def __init__(self, owner, name, total, unit):
        self.owner, self.name, self.total, self.unit = owner, name, total, unit
        self.start = time.perf_counter()
        self.done = 0
        self.drawn = 0.0
        self.label = STAGE_LABELS.get(name, name)
        self._notify(0.0)

    def _fraction(self):
        if self.total is None:
            return min(max(float(self.done), 0.0), 1.0)
        return min(self.done / self.total, 1.0) if self.total else 1.0

    def _notify(self, fraction):
        if self.owner.callback is not None:
            self.owner.callback(self.name, fraction)

    def update(self, done):
        self.done = done
        fraction = self._fraction()
        self._notify(fraction)
        now = time.perf_counter()
        if self.owner.tty and now - self.drawn >= _REDRAW_SECONDS:
            self.drawn = now
            self.owner.write("\r\x1b[K%s  %s" % (self.label, self._progress_text(now)))

    def _progress_text(self, now):
        if self.total is None:
            return "%d%%" % round(100 * self._fraction())
        rate = self.done / max(now - self.start, 1e-9)
        return "%d/%d %s  %.1f %s/s" % (self.done, self.total, self.unit, rate, self.unit)

    def finish(self):
        seconds = time.perf_counter() - self.start
        if self.total is not None and self.total:
            text = "%s: %d %s in %.1f s (%.1f %s/s)" % (
                self.label, self.done, self.unit, seconds, self.done / max(seconds, 1e-9),
                self.unit)
        else:
            text = "%s: %.1f s" % (self.label, seconds)
        self.owner.write(("\r\x1b[K" if self.owner.tty else "") + text + "\n")


def timing_summary(timings):
    """``Time: embed 4.2 s, ..., total 9.9 s``: every stage of the run, and
    what the stages do not account for."""
    parts = ["%s %.1f s" % (TIMING_NAMES[s], timings[s]) for s in TIMING_NAMES if s in timings]
    total = timings.get("total")
    if total is not None:
        other = total - sum(timings[s] for s in TIMING_NAMES if s in timings)
        if other >= 0.05:
            parts.append("other %.1f s" % other)
        parts.append("total %.1f s" % total)
    return "Time: " + ", ".join(parts)


# rough share of a default run's time per stage, for one overall percentage
COMPUTE_WEIGHTS = {
    "check": 0.02, "embed": 0.64, "tsne": 0.12, "assign": 0.04, "refine": 0.04,
    "curation": 0.02, "metrics": 0.02, "render": 0.07, "save": 0.03,
}
REGRID_WEIGHTS = {"assign": 0.25, "refine": 0.15, "metrics": 0.05, "render": 0.45,
                  "save": 0.10}


def overall(report, weights=COMPUTE_WEIGHTS, min_step=0.01):
    """Turns ``progress(stage, fraction)`` calls into ``report(fraction, label)``.

    The fraction never goes back: a stage that is not in ``weights`` keeps
    the last value. Reports are throttled to changes of at least ``min_step``
    (or a new stage), since each may be a database write for delegated runs.
    """
    order = list(weights)
    total = sum(weights.values())
    last = {"value": 0.0, "stage": None}

    def progress(stage, fraction):
        if stage in weights:
            before = sum(weights[s] for s in order[: order.index(stage)])
            value = max(last["value"], (before + weights[stage] * fraction) / total)
        else:
            value = last["value"]
        if stage != last["stage"] or value - last["value"] >= min_step or fraction >= 1:
            last.update(value=value, stage=stage)
            report(value, "%s (%d%%)" % (STAGE_LABELS.get(stage, stage), round(100 * fraction)))

    return progress
