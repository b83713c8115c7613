"""The plugin's operators, discovered through FIFTYONE_PLUGINS_DIR, and the
asynchronous (delegated) flow on real datasets."""

import os
import subprocess
import sys
import time

import pytest

import fiftyone.operators as foo
from fiftyone.operators.executor import ExecutionContext, Executor

import gridtsne
from gridtsne.fo import delegated

PLUGIN = "@gridtsne/gridded-tsne"
URI = PLUGIN + "/compute_grid"


def run_op(name, dataset, params, view=None):
    ctx = {"dataset": dataset, "params": params}
    if view is not None:
        ctx["view"] = view
    result = foo.execute_operator("%s/%s" % (PLUGIN, name), ctx=ctx)
    result.raise_exceptions()
    return result


def run_in_app(name, dataset, params, view=None):
    """Executes an operator as the App does when it runs it immediately: the
    generator streams messages to the App; returns (outputs shown, progress)."""
    request = {"dataset_name": dataset.name, "params": params}
    if view is not None:
        request["view"] = view._serialize()
    ctx = ExecutionContext(request_params=request, executor=Executor())
    op = foo.get_operator("%s/%s" % (PLUGIN, name))
    outputs, progress = None, []
    for message in op.execute(ctx):
        request = message.body
        if request.operator_uri.endswith("set_progress"):
            progress.append((request.params["progress"], request.params["label"]))
        elif request.operator_uri.endswith("show_output"):
            outputs = request.params["results"]
    return outputs, progress


def test_plugin_is_discovered():
    uris = {op.uri for op in foo.list_operators()}
    for name in ("compute_grid", "compute_grid_embeddings", "regrid", "update_grid",
                 "open_grid_panel", "delete_grid", "find_duplicates", "relabel_selected",
                 "undo_relabel", "diverse_subset", "embed_shard", "grid_mosaic"):
        assert "%s/%s" % (PLUGIN, name) in uris


def test_compute_grid_immediately_with_defaults(dataset):
    out, progress = run_in_app("compute_grid", dataset, {"key": "grid"})
    assert out["key"] == "grid" and out["samples"] == 40 and out["grid"] == "6 x 7"
    assert os.path.isfile(out["mosaic_path"])
    cells = list(zip(*dataset.values(["grid_row", "grid_col"])))
    assert len(set(cells)) == 40 and None not in {c for cell in cells for c in cell}


def test_compute_grid_on_a_view_with_options(dataset):
    view = dataset.take(20, seed=0)
    out, _ = run_in_app("compute_grid", dataset, {
        "key": "g2", "grid": "custom", "rows": 4, "cols": 5, "cell_px": 16,
        "label_field": "ground_truth", "perplexity": 5, "seed": 1, "precision": "int8",
    }, view=view)
    assert out["grid"] == "4 x 5" and out["samples"] == 20
    assert gridtsne.load_grid(dataset, "g2").options.precision == "int8"
    assert out["neighbor_label_agreement"] is not None
    assert set(dataset.exists("g2_row").values("id")) == set(view.values("id"))


def test_form_rejects_existing_key_before_running(dataset):
    run_in_app("compute_grid", dataset, {"key": "grid"})
    before = dataset.values("grid_row")
    with pytest.raises(foo.executor.ExecutionError, match="grid run 'grid' exists"):
        foo.execute_operator(URI, ctx={"dataset": dataset, "params": {"key": "grid"}})
    assert dataset.values("grid_row") == before

    op = foo.get_operator(URI)
    ctx = ExecutionContext(
        request_params={"dataset_name": dataset.name, "params": {"key": "bad key!"}},
        executor=Executor(),
    )
    form = op.resolve_input(ctx)
    assert form.type.properties["key"].invalid

    # every bad option is marked at once, each with its own message
    ctx = ExecutionContext(request_params={"dataset_name": dataset.name, "params": {
        "key": "fresh", "cell_px": 2, "perplexity": -1, "grid": "custom", "rows": 0}},
        executor=Executor())
    props = op.resolve_input(ctx).type.properties
    bad = {name for name, prop in props.items() if prop.invalid}
    assert {"cell_px", "perplexity", "rows"} <= bad, bad
    assert "cell" in props["cell_px"].error_message.lower()
    assert "perplexity" in props["perplexity"].error_message.lower()


def test_regrid_reuses_tsne_and_delete_needs_confirmation(dataset):
    run_in_app("compute_grid", dataset, {"key": "grid", "label_field": "ground_truth"})
    xs = dataset.values("grid_x")
    emb_time = gridtsne.load_grid(dataset, "grid").timings["embed"]
    out, _ = run_in_app("regrid", dataset, {"key": "grid", "rows": 2, "cell_px": 20})
    assert out["grid"] == "2 x 20"
    assert dataset.values("grid_x") == xs
    res = gridtsne.load_grid(dataset, "grid")
    assert (res.rows, res.cols) == (2, 20) and res.timings["embed"] == emb_time
    assert max(dataset.values("grid_row")) == 1
    from PIL import Image

    assert Image.open(res.mosaic_path).size == (20 * 20, 2 * 20)

    with pytest.raises(foo.executor.ExecutionError, match="confirm"):
        foo.execute_operator(PLUGIN + "/delete_grid",
                             ctx={"dataset": dataset, "params": {"key": "grid"}})
    assert gridtsne.list_grids(dataset) == ["grid"]
    run_op("delete_grid", dataset, {"key": "grid", "confirm": True})
    assert gridtsne.list_grids(dataset) == []
    assert not dataset.has_field("grid_row") and not dataset.has_field("grid_embedding")
    assert not os.path.exists(res.mosaic_path)


def test_embeddings_only_operator(dataset):
    run_op("compute_grid_embeddings", dataset, {"embeddings_field": "feat"})
    vecs = dataset.values("feat")
    assert len(vecs) == 40 and all(len(v) == 1280 for v in vecs)
    out, _ = run_in_app("compute_grid", dataset, {
        "key": "fromfield", "embeddings_source": "field", "embeddings": "feat"})
    assert out["samples"] == 40
    assert gridtsne.load_grid(dataset, "fromfield").config["embeddings_field"] == "feat"


def test_open_grid_panel_opens_the_panel_on_a_key(dataset):
    gridtsne.compute_grid(dataset, key="grid", embeddings=[[i % 4, i] for i in range(40)])
    op = foo.get_operator(PLUGIN + "/open_grid_panel")
    ctx = ExecutionContext(
        request_params={"dataset_name": dataset.name, "params": {"key": "grid"}},
        executor=Executor(),
    )
    op.execute(ctx)
    (request,) = [r for r in ctx.executor._requests if r.operator_uri.endswith("open_panel")]
    assert request.params["name"] == "grid_mosaic"
    assert request.params["state"] == {"key": "grid"}


def worker(*extra):
    """A separate worker process executing queued operations, like a real one."""
    code = "from gridtsne.fo.delegated import run_queued; run_queued()"
    return subprocess.Popen([sys.executable, "-c", code], env=os.environ,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def poll_until_done(op_id, timeout=600):
    seen = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        status = delegated.grid_status(op_id)
        seen.append(status)
        if status["state"] in ("completed", "failed"):
            return status, seen
        time.sleep(0.1)
    raise AssertionError("operation %s did not finish: %s" % (op_id, seen[-1]))


def test_delegated_run_is_queued_then_running_then_completed(dataset):
    op_id = delegated.queue_grid(dataset, key="async", label_field="ground_truth")
    status = delegated.grid_status(op_id)
    assert status["state"] == "queued" and status["key"] == "async"
    assert not dataset.has_field("async_row")

    proc = worker()
    status, seen = poll_until_done(op_id)
    proc.wait(timeout=120)
    states = [s["state"] for s in seen]
    assert states[0] in ("queued", "running") and "running" in states
    assert status["state"] == "completed", status
    running = [s["progress"] for s in seen if s["state"] == "running" and s["progress"]]
    assert running and all(0 <= p <= 1 for p in running)
    assert status["progress"] == pytest.approx(1.0)
    assert status["mosaic_path"] and os.path.isfile(status["mosaic_path"])
    assert status["outputs"]["samples"] == 40

    dataset.reload()
    cells = list(zip(*dataset.values(["async_row", "async_col"])))
    assert len(set(cells)) == 40
    assert gridtsne.list_grids(dataset) == ["async"]


def test_failing_delegated_run_names_the_cause_and_changes_nothing(make_dataset, tmp_path):
    items = []
    for i in range(5):
        p = tmp_path / ("broken_%d.png" % i)
        p.write_bytes(b"\x89PNG garbage")
        items.append((str(p), "x"))
    ds = make_dataset(items=items)
    fields = set(ds.get_field_schema())
    op_id = delegated.queue_grid(ds, key="grid")
    delegated.run_queued(dataset_name=ds.name)
    status = delegated.grid_status(op_id)
    assert status["state"] == "failed"
    assert "0 of 5 samples have usable images" in status["error"]
    ds.reload()
    assert set(ds.get_field_schema()) == fields
    assert gridtsne.list_grids(ds) == [] and ds.list_brain_runs() == []


def test_two_delegated_runs_complete_independently(dataset):
    first = delegated.queue_grid(dataset, key="one", rows=4)
    second = delegated.queue_grid(dataset.take(30, seed=2), key="two", cell_px=32)
    proc = worker()
    for op_id in (first, second):
        status, _ = poll_until_done(op_id)
        assert status["state"] == "completed", status
    proc.wait(timeout=120)
    dataset.reload()
    one = gridtsne.load_grid(dataset, "one")
    two = gridtsne.load_grid(dataset, "two")
    assert (one.rows, one.cols) == (4, 10) and one.n_samples == 40
    assert two.n_samples == 30 and two.config["params"]["cell_px"] == 32
    assert len(dataset.exists("one_row")) == 40 and len(dataset.exists("two_row")) == 30
    assert one.mosaic_path != two.mosaic_path
    assert sorted(gridtsne.list_grids(dataset)) == ["one", "two"]


def test_the_shards_field_is_offered_only_where_scheduling_exists(dataset, monkeypatch):
    import fiftyone as fo

    op = foo.get_operator(URI)

    def fields():
        ctx = ExecutionContext(request_params={"dataset_name": dataset.name,
                                               "params": {"key": "grid"}}, executor=Executor())
        return op.resolve_input(ctx).type.properties

    monkeypatch.setattr(fo.config, "allow_legacy_orchestrators", False)
    props = fields()
    assert "shards" not in props and "immediate" in props  # says it runs now instead
    monkeypatch.setattr(fo.config, "allow_legacy_orchestrators", True)
    props = fields()
    assert "shards" in props and "immediate" not in props
