"""What every long-running operator shares: how it runs (now, in a thread of
the App server that streams its progress to the dialog; or delegated, reporting
to its operation) and how it shows a run when it is done."""

import queue
import threading

import fiftyone.operators as foo
import fiftyone.operators.types as types
from fiftyone.operators.executor import ExecutionOptions

from gridtsne.config import GridError
from gridtsne.fo import uris
from gridtsne.fo.app.forms import target
from gridtsne.fo.progress import COMPUTE_WEIGHTS, overall

# Runs on more samples than this are offered as delegated (queued) by default.
DELEGATE_ABOVE = 500


def delegation_available():
    """Whether the App offers "Schedule": the open-source App shows it as NOT
    AVAILABLE unless legacy orchestrators are allowed (then any
    ``fiftyone delegated launch`` worker runs scheduled operations)."""
    import fiftyone as fo

    return bool(fo.config.allow_legacy_orchestrators)


def menu_config(name, label, icon, run=False, **extra):
    """An operator's config as the App's menu lists it ("Gridded t-SNE: ..."),
    with a dynamic form; ``run``: it runs now (streaming its progress) or
    delegated."""
    if run:
        extra = dict(dict(execute_as_generator=True, allow_immediate_execution=True,
                          allow_delegated_execution=True), **extra)
    return foo.OperatorConfig(name=name, label="Gridded t-SNE: " + label, icon=icon,
                              dynamic=True, **extra)


class RunOperator(foo.Operator):
    """An operator whose work is ``self.work(ctx)(progress)``: run now, its
    stages stream to the App's dialog; delegated, they go to its operation."""

    weights = COMPUTE_WEIGHTS  # each stage's share of the progress bar

    def work(self, ctx):
        raise NotImplementedError

    def execute(self, ctx):
        work = self.work(ctx)
        if ctx.delegated:
            return work(overall(lambda v, label: ctx.set_progress(progress=v, label=label),
                                weights=self.weights))
        return streamed(ctx, work, self.weights)

    def resolve_output(self, ctx):
        return results_view(ctx.params.get("key"))


class DelegatedWhenLarge(RunOperator):
    """Offers both execution modes, defaulting to delegated for large targets."""

    def resolve_execution_options(self, ctx):
        n = len(target(ctx)) if ctx.dataset is not None else 0
        return ExecutionOptions(
            allow_immediate_execution=True,
            allow_delegated_execution=True,
            default_choice_to_delegated=n > DELEGATE_ABOVE and delegation_available(),
        )


def streamed(ctx, work, weights=COMPUTE_WEIGHTS):
    """Runs ``work(progress)`` in a thread of the App server and yields the
    App's progress indicator as it goes, then the outputs. FiftyOne runs the
    generator's steps in its thread pool, so the server stays responsive."""
    updates = queue.Queue()
    result = {}

    def progress(value, label):
        updates.put((value, label))

    def run():
        try:
            result["outputs"] = work(overall(progress, weights=weights))
        except GridError as e:  # in the App, options are named as the form names them
            result["error"] = GridError(e.for_surface("form"))
        except BaseException as e:  # handed to the generator, which raises it
            result["error"] = e
        finally:
            updates.put(None)

    thread = threading.Thread(target=run, name="gridtsne-operator", daemon=True)
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
    key = result["outputs"].get("key")
    if key and not result["outputs"].get("sharded_run"):
        # the panel shows a new run by itself; opened here when it is not open
        from gridtsne.fo.panel import NAME as PANEL_NAME

        yield ctx.ops.open_panel(PANEL_NAME, layout="horizontal", is_active=True,
                                 state={"key": key})
    view = results_view(key, result["outputs"])
    yield ctx.ops.show_output(outputs=view.to_json(), results=result["outputs"])


def outputs_of(results, timings="timings"):
    """What the results dialog shows of a saved run; ``timings`` names the
    results entry of the operation that made it (timings, regrid_timings or
    update_timings)."""
    t = getattr(results, timings) or {}
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


def results_view(key=None, shown=None):
    """The results dialog; ``shown``: the outputs it shows, when known (an
    update that lost layout quality offers the recompute). The panel opens
    on the run by itself (see :func:`streamed`), so the dialog only tells."""
    from gridtsne.core.metrics import PLAIN_NAMES

    shown = shown or {}
    outputs = types.Object()
    if key:  # (the App does not show an output dialog's title)
        outputs.view("ready", types.Notice(
            label="Grid run '%s' is ready: the Gridded t-SNE panel shows it" % key))
    if shown.get("update"):
        outputs.view("update_note", types.Notice(label=shown["update"]))
    outputs.str("grid", label="Grid (rows x columns)")
    outputs.int("samples", label="Samples placed")
    outputs.int("skipped", label="Samples skipped")
    outputs.float("dpq_16", label="%s (distance preservation, DPQ_16; 1 is best)"
                  % PLAIN_NAMES["dpq_16"].capitalize())
    outputs.float("neighbor_label_agreement", label="%s (share of adjacent cells with "
                  "the same label)" % PLAIN_NAMES["neighbor_label_agreement"].capitalize())
    outputs.str("timings", label="Time taken")
    outputs.str("mosaic_path", label="Mosaic image file, for export")
    if key and shown.get("recompute"):
        outputs.btn("recompute", label="Recompute the run", on_click=uris.COMPUTE_GRID,
                    prompt=True, params={"key": key, "overwrite": True})
    return types.Property(outputs, view=types.View(label="Similarity grid ready"))
