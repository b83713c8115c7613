"""One progress interface for the pipeline's stages.

``progress`` follows FiftyOne's convention: None (use
``fo.config.show_progress_bars``), True/False, or a callable. Ours is called as
``progress(stage, fraction)`` so that an operator can forward it to
``ctx.set_progress``; terminal bars are FiftyOne's own.
"""

import contextlib

import fiftyone as fo
import fiftyone.core.utils as fou

STAGE_LABELS = {
    "check": "Checking images",
    "embed": "Computing embeddings",
    "tsne": "Running t-SNE",
    "assign": "Assigning grid cells",
    "refine": "Refining neighbours",
    "render": "Rendering mosaic",
    "save": "Saving results",
}


class StageProgress:
    def __init__(self, progress=None):
        self.callback = progress if callable(progress) else None
        if progress is None:
            progress = fo.config.show_progress_bars
        self.show = progress is True

    @contextlib.contextmanager
    def stage(self, name, total=100, bar=True):
        """Yields ``update(fraction)`` for the stage ``name``.

        ``bar=False`` for stages that draw FiftyOne's own bar (see
        :meth:`for_fiftyone`).
        """
        if self.callback is not None:
            self.callback(name, 0.0)
        pb = None
        if self.show:
            print("%s..." % STAGE_LABELS.get(name, name))
        if self.show and bar:
            pb = fou.ProgressBar(total=total, progress=True)
            pb.start()

        def update(fraction):
            fraction = min(max(float(fraction), 0.0), 1.0)
            if pb is not None:
                pb.set_iteration(int(round(fraction * total)))
            if self.callback is not None:
                self.callback(name, fraction)

        try:
            yield update
            update(1.0)
        finally:
            if pb is not None:
                pb.close()

    def for_fiftyone(self, name):
        """A ``progress`` argument for FiftyOne methods (e.g. compute_embeddings)."""
        if self.callback is None:
            return self.show

        def forward(pb):
            if pb.progress is not None:
                self.callback(name, pb.progress)

        return fou.report_progress(forward, dt=0.5)


# rough share of a default run's time per stage, for one overall percentage
STAGE_WEIGHTS = {
    "check": 0.03, "embed": 0.66, "tsne": 0.12, "assign": 0.05, "refine": 0.04,
    "render": 0.07,
    "save": 0.03,
}


def overall(report, weights=None, min_step=0.01):
    """Turns ``progress(stage, fraction)`` calls into ``report(fraction, label)``.

    Reports are throttled to changes of at least ``min_step`` (or a new
    stage), since each one may be a database write for delegated runs.
    """
    weights = weights or STAGE_WEIGHTS
    order = list(weights)
    total = sum(weights.values())
    last = {"value": -1.0, "stage": None}

    def progress(stage, fraction):
        before = sum(weights[s] for s in order[: order.index(stage)]) if stage in weights else 0
        value = (before + weights.get(stage, 0) * fraction) / total
        if stage != last["stage"] or value - last["value"] >= min_step or fraction >= 1:
            last.update(value=value, stage=stage)
            report(value, "%s (%d%%)" % (STAGE_LABELS.get(stage, stage), round(100 * fraction)))

    return progress
