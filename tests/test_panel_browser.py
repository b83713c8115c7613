"""The grid_mosaic panel in the real FiftyOne App, driven in headless Chromium.

Starts the App server on loopback with the plugin installed (conftest puts it
under FIFTYONE_PLUGINS_DIR, JS bundle included), opens the panel from the App's
"new panel" menu, and checks what a user sees. Screenshots go to
$GRIDTSNE_ARTIFACTS (default test-artifacts/browser/ in the repository).
"""

import json
import threading
import os
import time

import numpy as np
import pytest
from PIL import Image

import fiftyone as fo
from fiftyone import ViewField as F

import gridtsne
from gridtsne.fo import panel as gpanel

from browser import (ARTIFACTS, CANVAS, CHROMIUM, App, cell_brightness, cell_center,
                     run_operator, shot, shot_rgb)

pytestmark = pytest.mark.browser

def test_run_payload_sends_cells_once_as_binary_and_views_as_bitmasks(dataset, tmp_path):
    import base64

    from fiftyone.operators.executor import ExecutionContext, Executor

    from gridtsne.fo import panel_colors, panel_data

    dataset.set_values("score", [float(i) for i in range(len(dataset))])
    res = gridtsne.compute_grid(dataset, key="grid", label_field="ground_truth",
                                output_dir=str(tmp_path))
    # the run's cell file and default colouring were made with it: a first open
    # (a new App server, nothing in memory) reads them, computing neither
    with pytest.MonkeyPatch.context() as patch:
        panel_data._runs.clear()
        panel_colors._colors.clear()
        patch.setattr(panel_data, "_read_run", lambda *a: pytest.fail("cells read again"))
        patch.setattr(panel_colors, "color_values", lambda *a: pytest.fail("colours made again"))
        ahead = panel_data.panel_run(res)
        assert len(ahead.cell) == 40
        panel_colors.cached_color_values(ahead, res, "ground_truth.label", "categorical")
    grid = gpanel.run_payload(res)
    assert (grid["rows"], grid["cols"], grid["tiles"], grid["n"]) == (6, 7, None, 40)
    assert "layout quality" in grid["metrics"] and "same-label neighbours" in grid["metrics"]
    assert grid["default_color"] == "ground_truth.label"
    fields = {f["path"]: f["kind"] for f in grid["color_fields"]}
    assert fields["ground_truth.label"] == "categorical" and fields["tags"] == "categorical"
    assert fields["score"] == fields["grid_label_disagreement"] == "continuous"

    # the cells file: one 12-byte ObjectId per cell, row-major, zeros when empty
    raw = open(grid["cells_path"], "rb").read()
    assert len(raw) == 6 * 7 * 12
    first = dataset.first()
    cell = first["grid_row"] * 7 + first["grid_col"]
    assert raw[cell * 12:(cell + 1) * 12].hex() == first.id
    assert raw.count(bytes(12)) >= 2  # 42 cells, 40 samples

    # a view is a bitmask over the cells, read without per-sample objects
    run = panel_data.panel_run(res)
    reds = dataset.match(F("ground_truth.label") == "red_circle")
    bits = np.unpackbits(np.frombuffer(base64.b64decode(panel_data.pack_mask(
        run, panel_data.view_cells(run, res, reds))), np.uint8), bitorder="little")
    expected = {s["grid_row"] * 7 + s["grid_col"] for s in reds}
    assert set(np.flatnonzero(bits[:42])) == expected

    # colour by: a category code or a float per cell
    color = panel_colors.color_values(run, res, "score", "continuous")
    values = np.frombuffer(base64.b64decode(color["values"]), np.float32)
    assert values[cell] == first["score"] and (color["min"], color["max"]) == (0, 39)
    assert np.isnan(values).sum() == 2
    color = panel_colors.color_values(run, res, "ground_truth.label", "categorical")
    codes = np.frombuffer(base64.b64decode(color["codes"]), np.uint16)
    assert color["categories"][codes[cell]] == first.ground_truth.label
    assert sorted(color["counts"]) == [10, 10, 10, 10]

    # names and paths of the cells asked about, on demand
    info = panel_colors.cells_info(run, res, [cell])
    assert info == {str(cell): {"name": os.path.basename(first.filepath),
                                "filepath": first.filepath,
                                "label": first.ground_truth.label}}

    # a new App server reads the run back from its cell file: the same cells
    from_file = panel_data._run_from_cells_file(res)
    order = np.argsort(run.cell)
    assert np.array_equal(from_file.cell, run.cell[order])
    assert np.array_equal(from_file.oids, run.oids[order])

    # colours and view masks are remembered until the dataset's samples change
    def cached_code_of_first():
        got = panel_colors.cached_color_values(run, res, "ground_truth.label", "categorical")
        codes = np.frombuffer(base64.b64decode(got["codes"]), np.uint16)
        return got["categories"][codes[cell]]

    def cached_reds():
        return panel_data.view_mask(run, res, dataset.match(
            F("ground_truth.label") == "red_circle"))[0]

    assert cached_code_of_first() == first.ground_truth.label
    assert cached_reds() == 10
    first.ground_truth.label = "red_circle" if first.ground_truth.label != "red_circle" \
        else "blue_square"
    first.save()
    panel_colors._colors.clear()  # as a new App server would: from the cache folder
    assert cached_code_of_first() == first.ground_truth.label
    assert cached_reds() == (11 if first.ground_truth.label == "red_circle" else 9)

    # the brain run for the Embeddings panel keeps its points in an indexed
    # field (its lasso queries MongoDB); a new layout replaces it, and deleting
    # the run removes it
    points = dataset.get_brain_info("grid").config.points_field
    assert points.startswith("tsne_points_") and dataset.has_sample_field(points)
    assert any(points in str(spec) for spec in dataset.get_index_information().values())
    gridtsne.compute_grid(dataset, key="grid", label_field="ground_truth", overwrite=True,
                          output_dir=str(tmp_path))
    dataset.reload()
    newer = dataset.get_brain_info("grid").config.points_field
    assert newer != points and dataset.has_sample_field(newer)
    assert not dataset.has_sample_field(points)
    # the panel, called as the App calls it, sends the run and the view
    ctx = ExecutionContext(request_params={
        "dataset_name": dataset.name, "params": {"panel_id": "p1", "panel_state": {}}},
        executor=Executor())
    gpanel.GridMosaicPanel().on_load(ctx)
    sent = {}
    for request in ctx.executor._requests:
        sent.update(request.params.get("state") or {})
        sent.update(request.params.get("data") or {})
    assert sent["grid"]["key"] == "grid" and sent["in_view"]["count"] == 40
    assert sent["color"]["field"] == "ground_truth.label" and sent["pending"] == []

    # the App server calls panel methods from several threads at once, on one
    # Dataset: hovering while the view changes read the run's results (GridFS)
    # concurrently and put a traceback over the panel
    def hover_and_view(errors):
        state = {"key": "grid", "version": sent["version"], "color": ""}
        try:
            for _ in range(30):
                c = ExecutionContext(request_params={
                    "dataset_name": dataset.name, "params": {
                        "panel_id": "p1", "panel_state": state, "cells": [cell]}},
                    executor=Executor())
                panel_data._results.clear()  # as after a recompute: read it again
                gpanel.GridMosaicPanel().on_cells_info(c)
                gpanel.GridMosaicPanel().on_view(c)
        except Exception as e:  # noqa: BLE001 (the test reports any failure)
            errors.append(repr(e))

    errors = []
    threads = [threading.Thread(target=hover_and_view, args=(errors,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_columns_hold_the_values_views_test_exactly(dataset, tmp_path):
    """What the component tests views against (js/src/predict.js): numbers in
    float64 (float32 would move 0.1 / 7 across a threshold), strings as codes."""
    import base64

    from gridtsne.fo import panel_colors, panel_data

    dataset.set_values("score", [i / 7 for i in range(len(dataset))])
    dataset.set_values("count", list(range(len(dataset))))
    res = gridtsne.compute_grid(dataset, key="grid", label_field="ground_truth",
                                output_dir=str(tmp_path))
    missing = dataset.first()
    missing["score"] = None
    missing.save()
    run = panel_data.panel_run(res)
    cell = {s.id: s["grid_row"] * 7 + s["grid_col"] for s in dataset}
    for path in ("score", "count"):
        column = panel_colors.column_values(run, res, path)
        assert column["kind"] == "continuous"
        values = np.frombuffer(base64.b64decode(column["values"]), np.float64)
        for s in dataset.exists(path):
            assert values[cell[s.id]] == s[path]  # exactly
        assert np.isnan(values).sum() == 2 + (path == "score")  # empty cells, no value
    # remembered per dataset contents: an edit is seen at once
    before = panel_colors.cached_column(run, res, "count")
    dataset.set_values("count", [2 * i for i in range(len(dataset))])
    after = panel_colors.cached_column(run, res, "count")
    values = np.frombuffer(base64.b64decode(after["values"]), np.float64)
    last = dataset.last()
    assert after != before and values[cell[last.id]] == 2 * (len(dataset) - 1) == last["count"]
    labels = panel_colors.column_values(run, res, "ground_truth.label")
    codes = np.frombuffer(base64.b64decode(labels["codes"]), np.uint16)
    assert all(labels["categories"][codes[cell[s.id]]] == s.ground_truth.label for s in dataset)
    # lists, booleans and anything that is not a plain field: left to the server
    dataset.set_values("flag", [True] * len(dataset))
    for path in ("tags", "flag", "ground_truth", "filepath.nothing", "nothing"):
        assert panel_colors.column_values(run, res, path) is None, path


def test_run_reads_stay_under_mongodbs_document_limit(dataset, tmp_path, monkeypatch):
    """The panel's reads of a run return one MongoDB document per block of cells:
    one document for all 1,000,000 cells (20 MB of ObjectIds) is refused (16 MB).
    Here 40 values of 0.5 MB make one document 20 MB."""
    from gridtsne.fo import panel_colors, panel_data

    dataset.set_values("note", ["%02d" % i + "x" * 500_000 for i in range(len(dataset))])
    res = gridtsne.compute_grid(dataset, key="grid", label_field="ground_truth",
                                output_dir=str(tmp_path))
    run = panel_data._read_run(res)
    monkeypatch.setattr(panel_data, "_CELLS_PER_GROUP", 8, raising=False)  # 6 blocks of 3 MB
    cells, notes = panel_colors.item_values(run, res, "note")
    by_cell = {s["grid_row"] * 7 + s["grid_col"]: s["note"][:2] for s in dataset}
    assert len(cells) == 40 and {c: v[:2] for c, v in zip(cells, notes)} == by_cell
    # in blocks, the ids and cells still pair up, and a view's cells are its samples'
    blocked = panel_data._read_run(res)
    assert sorted(zip(blocked.cell, map(bytes, blocked.oids))) == sorted(
        zip(run.cell, map(bytes, run.oids)))
    reds = dataset.match(F("ground_truth.label") == "red_circle")
    assert sorted(panel_data.view_cells(run, res, reds)) == sorted(
        s["grid_row"] * 7 + s["grid_col"] for s in reds)


def test_panel_in_the_app(make_dataset, tmp_path, monkeypatch):
    from playwright.sync_api import sync_playwright

    from gridtsne.core import pyramid

    assert os.access(CHROMIUM, os.X_OK), (
        "Debian's chromium is needed at %s (scripts/setup.sh installs it)" % CHROMIUM)
    os.makedirs(ARTIFACTS, exist_ok=True)
    ds = make_dataset()
    ds.persistent = True
    ds.set_values("score", [float(i) for i in range(len(ds))])
    res = gridtsne.compute_grid(ds, key="grid", label_field="ground_truth",
                                output_dir=str(tmp_path / "mosaic"))
    # a second run large enough (for this test) to be a Deep Zoom pyramid
    monkeypatch.setattr(pyramid, "PYRAMID_ABOVE_SIDE", 1000)
    monkeypatch.setattr(pyramid, "OVERVIEW_MAX_SIDE", 256)
    big = gridtsne.compute_grid(ds, key="tiles", cell_px=256, output_dir=str(tmp_path / "tiles"),
                                embeddings="grid_embedding")
    assert big.tiles_path
    rows, cols = res.rows, res.cols
    reds = ds.match(F("ground_truth.label") == "red_circle").sort_by("filepath")
    target, other_red = reds.first(), reds.skip(1).first()
    not_red = ds.match(F("ground_truth.label") == "blue_triangle").first()

    with sync_playwright() as p:
        app = App(p, ds)
        try:
            page = app.page
            app.wait_text("gridtsne-summary", "grid: %d x %d, 40 samples, 40 in view" % (rows, cols))
            app.wait_drawn()
            page.screenshot(path=os.path.join(ARTIFACTS, "app-with-panel.png"))
            canvas = page.locator(CANVAS)
            box = canvas.bounding_box()

            # the mosaic is drawn: the canvas shows an image, not a blank area
            before = shot(canvas, "panel-initial.png")
            assert before.std() > 25, "the mosaic area looks blank"

            # hovering names the cell's file and label
            x, y = cell_center(box, rows, cols, target["grid_row"], target["grid_col"])
            page.mouse.move(x, y)
            name = os.path.basename(target.filepath)
            app.wait_text("gridtsne-hover", "%s | red_circle" % name, timeout=10000)

            # clicking a cell selects exactly that sample in the App (the text
            # is rendered from the App's selection state)
            page.mouse.click(x, y)
            app.wait_text("gridtsne-selection", "Selected: %s" % name, timeout=10000)
            assert page.locator("[data-testid=gridtsne-selection]").inner_text() == (
                "Selected: %s" % name)
            # ... and the App's own selection state holds exactly that sample
            page.wait_for_selector("[data-testid=gridtsne-selection][data-app-selection=%s]"
                                   % json.dumps(target.id), timeout=10000)
            shot(canvas, "panel-selected.png")

            # filtering the view dims every other cell
            page.mouse.move(box["x"] + 2, box["y"] + 2)
            app.session.view = ds.match(F("ground_truth.label") == "red_circle")
            app.wait_text("gridtsne-summary", "40 samples, 10 in view")
            app.wait_drawn()
            after = shot(canvas, "panel-filtered.png")
            page.screenshot(path=os.path.join(ARTIFACTS, "app-filtered.png"))

            def ratio(sample):
                r, c = sample["grid_row"], sample["grid_col"]
                return (cell_brightness(after, box, rows, cols, r, c)
                        / cell_brightness(before, box, rows, cols, r, c))

            assert ratio(not_red) < 0.5, "a cell outside the view is not dimmed"
            assert ratio(other_red) > 0.8, "a cell inside the view was dimmed"

            # a view on a field the panel has the values of (it asked for them with
            # the first view on it) is drawn as soon as the App has the view in the
            # page, before the App loads it, and is the server's view
            app.session.view = ds.match(F("score") < 30)
            app.wait_view(30)
            app.wait_canvas("(d.columns || '').split(',').includes('score')")
            app.record_view_drawings()
            app.session.view = ds.match((F("score") < 20) & (F("score") > 4))
            app.wait_view(15)
            drawings = app.view_drawings()
            assert drawings[0][:2] == ["predicted", "15"], drawings
            assert drawings[-1][2] == drawings[0][2], drawings
            # the scores change under the panel: the server's mask contradicts the
            # next view it works out, so it fetches the values again, and works
            # out the view after that right
            scores = ds.values("score")
            ds.set_values("score", [39 - v for v in scores])
            app.session.view = ds.match(F("score") < 10)
            app.wait_view(10)
            app.session.view = ds.match(F("score") < 30)
            app.wait_view(30)
            app.wait_canvas("(d.columns || '').split(',').includes('score')")
            app.record_view_drawings()
            app.session.view = ds.match(F("score") < 5)
            app.wait_view(5)
            drawings = app.view_drawings()
            assert drawings[0][:2] == ["predicted", "5"] and drawings[-1][2] == drawings[0][2]
            ds.set_values("score", scores)

            # a sidebar filter on the label field dims the same way: the panel
            # counts 10 in view and the yellow bars stay bright
            app.session.view = None
            app.wait_text("gridtsne-summary", "40 samples, 40 in view")
            app.wait_view(40)
            app.search_sidebar("ground_truth", "yellow_bar")
            app.record_view_drawings()
            page.keyboard.press("Enter")
            app.wait_text("gridtsne-summary", "40 samples, 10 in view")
            app.wait_canvas("d.inViewSource === 'server'")
            app.wait_drawn()
            # the panel drew the filter's cells from the labels it holds first, and
            # they are exactly those the server's mask then gave
            drawings = app.view_drawings()
            assert drawings[0][:2] == ["predicted", "10"], drawings
            assert drawings[-1][:2] == ["server", "10"] and drawings[-1][2] == drawings[0][2]
            page.screenshot(path=os.path.join(ARTIFACTS, "app-sidebar-filter.png"))
            filtered = shot(canvas, "panel-sidebar-filter.png")
            bar = ds.match(F("ground_truth.label") == "yellow_bar").first()

            def kept(sample, img):
                r, c = sample["grid_row"], sample["grid_col"]
                return (cell_brightness(img, box, rows, cols, r, c)
                        / cell_brightness(before, box, rows, cols, r, c))

            assert kept(not_red, filtered) < 0.5 and kept(bar, filtered) > 0.8
            page.locator("[data-cy='checkbox-yellow_bar']").first.click()  # clear it
            app.wait_text("gridtsne-summary", "40 samples, 40 in view")

            # box selection selects the cells it covers
            box = app.box_select(box, rows, cols, 1, 2)
            expected = sorted(s.id for s in ds if s["grid_row"] <= 1 and s["grid_col"] <= 2)
            assert len(expected) >= 4  # at most 2 of the 42 cells are empty
            app.wait_text("gridtsne-selection", "%d selected" % len(expected), timeout=10000)
            page.wait_for_selector("[data-testid=gridtsne-selection][data-app-selection=%s]"
                                   % json.dumps(",".join(expected)), timeout=10000)

            # ... and "Selection to view" makes the view exactly those samples
            page.locator("[data-testid=gridtsne-to-view]").click()
            app.wait_text("gridtsne-summary", "40 samples, %d in view" % len(expected))
            # the App has loaded it, and the Python session holds the same view
            app.wait_view(len(expected))
            assert sorted(app.session.view.values("id")) == expected
            app.session.view = None
            # the panel shows the view before the App has loaded it; the App then
            # sets its selection from the session's, so a click waits for the App
            app.wait_view(40)

            # double-clicking a cell opens that sample in the App's modal, and
            # leaves the selection as it was
            page.locator("[data-testid=gridtsne-mode-pan]").click()
            x, y = cell_center(box, rows, cols, target["grid_row"], target["grid_col"])
            page.mouse.click(x, y)
            page.wait_for_selector("[data-testid=gridtsne-selection][data-app-selection=%s]"
                                   % json.dumps(target.id), timeout=10000)
            # a user who just picked a run from the list still has it focused:
            # the App ignores Escape while a <select> has the focus
            page.locator("[data-testid=gridtsne-key]").focus()
            x, y = cell_center(box, rows, cols, not_red["grid_row"], not_red["grid_col"])
            page.mouse.dblclick(x, y)
            page.wait_for_function("(id) => window.location.search.includes(id)",
                                   arg=not_red.id, timeout=30000)
            # the user presses Escape once the sample is shown, and the keyboard
            # focus is not left where the App ignores its shortcuts
            page.wait_for_selector("[data-cy=modal-looker-container]", timeout=30000)
            # (opening a sample pushes the same view into the history: not a new one)
            assert app.canvas_data()["inViewSource"] == "server"
            # the panel marks the cell of the sample open in the modal
            app.wait_canvas("d.currentCells === '%d'"
                            % (not_red["grid_row"] * cols + not_red["grid_col"]), timeout=10000)
            assert page.evaluate("document.activeElement.tagName") not in (
                "SELECT", "INPUT", "TEXTAREA")
            # the user presses Escape once the sample is shown (no longer "Pixelating...")
            page.wait_for_function(
                "() => { const m = document.querySelector('[data-cy=modal-looker-container]');"
                " return m && m.querySelector('canvas') && !m.innerText.includes('Pixelating'); }",
                timeout=30000)
            page.screenshot(path=os.path.join(ARTIFACTS, "app-modal.png"))
            page.keyboard.press("Escape")
            page.wait_for_function("(id) => !window.location.search.includes(id)",
                                   arg=not_red.id, timeout=30000)
            page.wait_for_selector("[data-testid=gridtsne-selection][data-app-selection=%s]"
                                   % json.dumps(target.id), timeout=10000)

            # colour by a float field: a colour bar, and the cell of the highest
            # value drawn in the top colour of the scale
            page.select_option("[data-testid=gridtsne-color-by]", "score")
            app.wait_canvas("d.colorDrawn === 'score'", timeout=30000)
            app.wait_drawn()
            assert page.locator("[data-testid=gridtsne-colorbar]").is_visible()
            top = ds.sort_by("score", reverse=True).first()
            low = ds.sort_by("score").first()
            colored = np.asarray(Image.open(shot_rgb(canvas, "panel-color-score.png")))

            def border_rgb(sample):
                # the middle of the cell's left border, drawn inside the cell
                x, y = cell_center(box, rows, cols, sample["grid_row"], sample["grid_col"])
                size = min(box["width"] / cols, box["height"] / rows)
                px = int(x - box["x"] - size / 2 + max(2, size * 0.08) / 2)
                return colored[int(y - box["y"]), px, :3].astype(int)

            assert np.abs(border_rgb(top) - [253, 231, 37]).max() < 40, border_rgb(top)
            assert np.abs(border_rgb(low) - [68, 1, 84]).max() < 40, border_rgb(low)

            # colour by the label: the legend names each label in the App's
            # colours; switching an entry off hides its cells
            page.select_option("[data-testid=gridtsne-color-by]", "ground_truth.label")
            app.wait_canvas("d.colorDrawn === 'ground_truth.label'", timeout=30000)
            entries = page.locator("[data-testid=gridtsne-legend-entry]")
            assert sorted(entries.evaluate_all("els => els.map(e => e.dataset.name)")) == sorted(
                {s.ground_truth.label for s in ds})
            page.locator("[data-testid=gridtsne-legend-entry][data-name=red_circle]").click()
            app.wait_canvas("d.hiddenDrawn === '10'", timeout=10000)
            app.wait_drawn()
            hidden = shot(canvas, "panel-legend-hidden.png")
            assert kept(target, hidden) < 0.35 and kept(bar, hidden) > 0.8
            page.locator("[data-testid=gridtsne-legend-entry][data-name=red_circle]").click()
            app.wait_canvas("d.hiddenDrawn === '0'", timeout=10000)

            # the pyramid run: zooming in loads tiles lazily, only where visible
            app.session.view = None
            app.wait_view(40)
            page.select_option("[data-testid=gridtsne-key]", "tiles")
            app.wait_text("gridtsne-summary", "tiles: %d x %d" % (big.rows, big.cols))
            app.wait_drawn()
            top = len(pyramid.level_sizes(big.cols * 256, big.rows * 256)) - 1

            def full_tiles():
                return {u for u in app.requests
                        if "mosaic_files" in u and "%%2F%d%%2F" % top in u}

            assert not full_tiles(), "full-resolution tiles were loaded before zooming in"
            for _ in range(6):
                page.locator("[data-testid=gridtsne-zoom-in]").click()
            app.wait_drawn()
            full = full_tiles()
            assert full, "zooming in loaded no full-resolution tiles"
            n_full = len(os.listdir(os.path.join(os.path.dirname(big.tiles_path),
                                                 "mosaic_files", str(top))))
            assert len(full) < n_full, "every tile was loaded, not just the visible ones"
            shot(canvas, "panel-zoomed-tiles.png")

            # a run made while the panel is open shows up when it looks again
            gridtsne.compute_grid(ds, key="late", embeddings="grid_embedding",
                                  output_dir=str(tmp_path / "late"), refine=False)
            assert page.locator("[data-testid=gridtsne-key] option[value=late]").count() == 0
            page.locator("[data-testid=gridtsne-refresh]").click()
            page.wait_for_selector("[data-testid=gridtsne-key] option[value=late]",
                                   state="attached", timeout=10000)
            # ... and a run re-gridded meanwhile is redrawn in its new shape
            page.select_option("[data-testid=gridtsne-key]", "grid")
            app.wait_text("gridtsne-summary", "grid: %d x %d" % (rows, cols))
            gridtsne.regrid(ds, "grid", rows=5, cols=8)
            page.locator("[data-testid=gridtsne-refresh]").click()
            app.wait_text("gridtsne-summary", "grid: 5 x 8")
            app.wait_drawn()
            shot(canvas, "panel-regridded.png")

            # when the App reloads its dataset (the plugin's operators make it
            # do so after a run is added, changed or deleted), the panel looks
            # again by itself: no ↻
            gridtsne.delete_grid(ds, "late")
            page.locator(CANVAS).focus()
            page.keyboard.press("Backquote")
            page.keyboard.type("Reload the dataset")
            page.wait_for_selector("text=Reload the dataset", timeout=10000)
            page.keyboard.press("Enter")
            page.wait_for_selector("[data-testid=gridtsne-key] option[value=late]",
                                   state="detached", timeout=15000)
        finally:
            app.close()


@pytest.mark.slow
def test_tiny_cells_at_10k(make_dataset, shapes_dir, tmp_path):
    """With 10,000 cells of a few pixels, a click at fit zoom selects the cell
    under the pointer (not a neighbour) and a wheel zoom redraws the canvas.
    How fast is bench_panel's business (click_drawn_ms); the timings seen here
    are kept in the artifacts."""
    from playwright.sync_api import sync_playwright

    files = sorted(os.path.join(r, f) for r, _, fs in os.walk(shapes_dir) for f in fs)
    n = 10_000
    ds = make_dataset(items=[(files[i % len(files)], "c%d" % (i % 7)) for i in range(n)])
    ds.persistent = True
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(12, 16))
    emb = centres[rng.integers(0, 12, n)] + rng.normal(0, 0.3, (n, 16))
    res = gridtsne.compute_grid(ds, key="grid", embeddings=emb, cell_px=16, refine=False,
                                output_dir=str(tmp_path / "mosaic"), label_field="ground_truth")
    layout = res.layout()

    with sync_playwright() as p:
        app = App(p, ds)
        try:
            page = app.page
            app.wait_text("gridtsne-summary", "10000 samples, 10000 in view", timeout=120000)
            app.wait_drawn()
            box = page.locator(CANVAS).bounding_box()
            timings = {"click_to_selection_ms": [], "zoom_redraw_ms": []}
            names = [os.path.basename(f) for f in layout["filepath"]]
            picks = [j for j in range(0, n, 997) if names[j] != names[j - 997]][:5]
            points = []
            for j in picks:  # click five cells, then zoom five times
                x, y = cell_center(box, res.rows, res.cols, layout["row"][j], layout["col"][j])
                points.append((x, y))
                cell = layout["row"][j] * res.cols + layout["col"][j]
                ms = page.evaluate(MEASURE_CLICK, [CANVAS, x, y, str(cell)])
                timings["click_to_selection_ms"].append(ms)
                # ... which then is the App's selection
                page.wait_for_selector("[data-testid=gridtsne-selection][data-app-selection=%s]"
                                       % json.dumps(layout["id"][j]), timeout=10000)
            for x, y in points:
                timings["zoom_redraw_ms"].append(page.evaluate(MEASURE_ZOOM, [CANVAS, x, y]))
            with open(os.path.join(ARTIFACTS, "timings-10k.json"), "w") as f:
                json.dump(timings, f, indent=1)
            page.screenshot(path=os.path.join(ARTIFACTS, "app-10k.png"))
            # MEASURE_* resolve with 1e9 when the expected drawing never came
            assert max(timings["click_to_selection_ms"]) < 5000, timings
            assert max(timings["zoom_redraw_ms"]) < 5000, timings
        finally:
            app.close()


# Dispatches a click on the canvas and resolves with the milliseconds until the
# panel has drawn that cell (only) as selected, or 1e9 if it does not within 5 s.
MEASURE_CLICK = """([sel, x, y, cell]) => new Promise((resolve) => {
  const canvas = document.querySelector(sel);
  const t0 = performance.now();
  const done = () => { if (canvas.dataset.selectedDrawn === cell) { obs.disconnect(); resolve(performance.now() - t0); } };
  const obs = new MutationObserver(done);
  obs.observe(canvas, {attributes: true});
  const opts = {clientX: x, clientY: y, bubbles: true};
  canvas.dispatchEvent(new MouseEvent('mousedown', opts));
  canvas.dispatchEvent(new MouseEvent('mouseup', opts));
  setTimeout(() => resolve(1e9), 5000);
})"""

# Dispatches a wheel zoom and resolves with the milliseconds until the canvas
# has been redrawn at the new scale, or 1e9 if it is not within 5 s.
MEASURE_ZOOM = """([sel, x, y]) => new Promise((resolve) => {
  const canvas = document.querySelector(sel);
  const before = canvas.dataset.scale;
  const t0 = performance.now();
  const obs = new MutationObserver(() => {
    if (canvas.dataset.scale !== before) { obs.disconnect(); resolve(performance.now() - t0); }
  });
  obs.observe(canvas, {attributes: true});
  canvas.dispatchEvent(new WheelEvent('wheel', {clientX: x, clientY: y, deltaY: -120, bubbles: true, cancelable: true}));
  setTimeout(() => resolve(1e9), 5000);
})"""


def test_box_selecting_objects_selects_their_labels(tmp_path):
    """On a run of objects, the panel selects labels in the App, not samples."""
    from playwright.sync_api import sync_playwright

    from test_objects import scenes

    os.makedirs(ARTIFACTS, exist_ok=True)
    ds = fo.Dataset("gridtsne-objects-" + os.urandom(4).hex())
    ds.add_samples(scenes(str(tmp_path / "scenes"), n=10))
    ds.persistent = True
    try:
        res = gridtsne.compute_grid(ds, key="objects", patches_field="ground_truth",
                                    output_dir=str(tmp_path / "out"))
        rows, cols = res.rows, res.cols
        layout = res.layout()
        with sync_playwright() as p:
            app = App(p, ds)
            try:
                page = app.page
                app.wait_text("gridtsne-summary", "objects: %d x %d, %d objects"
                              % (rows, cols, res.n_samples))
                app.wait_drawn()
                app.box_select(page.locator(CANVAS).bounding_box(), rows, cols, 1, 2)
                expected = sorted(i for i, r, c in zip(layout["id"], layout["row"],
                                                       layout["col"]) if r <= 1 and c <= 2)
                assert len(expected) >= 4
                page.wait_for_selector(
                    "[data-testid=gridtsne-selection][data-app-selection=%s]"
                    % json.dumps(",".join(expected)), timeout=10000)
                page.screenshot(path=os.path.join(ARTIFACTS, "app-objects-selected.png"))
                # ... which FiftyOne passes on to the Python session as it does its own
                deadline = time.time() + 10
                while sorted(l["label_id"] for l in app.session.selected_labels) != expected:
                    assert time.time() < deadline, app.session.selected_labels
                    time.sleep(0.1)

                # dimming follows the App's label filters and patches views
                labels = layout["label"]
                app.session.view = ds.to_patches("ground_truth").match(
                    F("ground_truth.label") == "blue")
                app.wait_text("gridtsne-summary", "%d objects, %d in view"
                              % (res.n_samples, labels.count("blue")))
                app.session.view = ds.filter_labels("ground_truth", F("label") == "red")
                app.wait_text("gridtsne-summary", "%d objects, %d in view"
                              % (res.n_samples, labels.count("red")))
            finally:
                app.close()
    finally:
        ds.delete()


def test_a_run_deleted_while_it_is_chosen_is_dropped_not_a_traceback(dataset, tmp_path):
    """The panel's Python side, called as the App calls it."""
    from fiftyone.operators.executor import ExecutionContext, Executor

    gridtsne.compute_grid(dataset, key="kept", embeddings=np.eye(40)[:, :8] + 0.01,
                          output_dir=str(tmp_path))
    gridtsne.compute_grid(dataset, key="gone", embeddings=np.eye(40)[:, :8] + 0.01,
                          output_dir=str(tmp_path))
    gridtsne.delete_grid(dataset, "gone")  # after the panel listed it
    ctx = ExecutionContext(request_params={
        "dataset_name": dataset.name, "params": {
            "value": "gone", "panel_id": "p1",
            "panel_state": {"key": "kept", "keys": ["gone", "kept"]}}}, executor=Executor())
    gpanel.GridMosaicPanel().on_change_key(ctx)  # raised "has no grid run 'gone'"
    sent = {}
    for request in ctx.executor._requests:
        sent.update(request.params.get("state") or {})
        sent.update(request.params.get("data") or {})
    assert sent.get("keys") == ["kept"] and sent.get("key") == "kept"
    assert sent["grid"]["key"] == "kept"


def test_first_use_compute_and_delete_from_the_form_and_switch_datasets(make_dataset,
                                                                        tmp_path):
    """A new user's flow, in the App: no runs -> compute from the form -> the
    panel shows the run without a reload; delete from the form -> the panel
    drops it; another dataset -> its own runs, no traceback."""
    from playwright.sync_api import sync_playwright

    os.makedirs(ARTIFACTS, exist_ok=True)
    ds = make_dataset()
    ds.persistent = True
    other = make_dataset()
    other.persistent = True
    gridtsne.compute_grid(other, key="theirs", embeddings=np.eye(40)[:, :8] + 0.01,
                          output_dir=str(tmp_path / "other"))
    with sync_playwright() as p:
        app = App(p, ds)
        try:
            page = app.page
            page.wait_for_selector("[data-testid=gridtsne-empty]", timeout=60000)
            # errors thrown by the panel's code (the App's own, such as a Recoil
            # "entry is loading" while it switches datasets, are not the panel's)
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)) if "gridtsne" in (
                getattr(e, "stack", None) or "") else None)

            run_operator(page, "compute similarity grid")
            page.get_by_role("button", name="Execute").click()
            # the results dialog says the panel shows the run, and it does
            page.get_by_text("Grid run 'grid' is ready: the Gridded t-SNE panel shows it"
                             ).wait_for(timeout=300000)
            page.screenshot(path=os.path.join(ARTIFACTS, "app-first-run-done.png"))
            app.wait_text("gridtsne-summary", "grid: 6 x 7, 40 samples, 40 in view",
                          timeout=30000)
            page.get_by_role("button", name="Done").click()
            # a second run, from the form: the panel switches to it by itself
            run_operator(page, "compute similarity grid")
            page.get_by_role("button", name="Execute").click()
            app.wait_text("gridtsne-summary", "grid2: 6 x 7, 40 samples", timeout=300000)
            page.get_by_role("button", name="Done").click()
            gridtsne.delete_grid(ds, "grid2")
            app.wait_drawn()
            ds.reload()
            assert gridtsne.list_grids(ds) == ["grid"]

            run_operator(page, "delete a grid run")
            page.get_by_text("Yes, delete it").click()
            page.get_by_role("button", name="Execute").click()
            page.get_by_text("Deleted grid run 'grid'").first.wait_for(timeout=60000)
            page.wait_for_selector("[data-testid=gridtsne-empty]", timeout=60000)
            ds.reload()
            assert gridtsne.list_grids(ds) == []

            app.session.dataset = other
            app.wait_text("gridtsne-summary", "theirs: 6 x 7, 40 samples", timeout=60000)
            app.wait_drawn()
            assert not page.locator("text=Traceback").count()
            assert not errors, errors
        finally:
            app.close()


def in_thread(fn, *args, **kwargs):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn, *args, **kwargs).result()


def test_a_queued_run_appears_as_queued_then_ready(dataset, tmp_path):
    from playwright.sync_api import sync_playwright

    from gridtsne.fo import delegated

    dataset.persistent = True
    emb = np.eye(40)[:, :8] + 0.01
    gridtsne.compute_grid(dataset, key="first", embeddings=emb, output_dir=str(tmp_path))
    dataset.set_values("vec", [list(v) for v in emb])
    with sync_playwright() as p:
        app = App(p, dataset)
        try:
            page = app.page
            app.wait_text("gridtsne-summary", "first: 6 x 7")
            # (from another thread: FiftyOne executes operators asynchronously
            # in a thread that runs an event loop, as Playwright's does)
            op_id = in_thread(delegated.queue_grid, dataset, key="later", embeddings="vec",
                              output_dir=str(tmp_path))
            page.locator("[data-testid=gridtsne-refresh]").first.click()
            page.wait_for_selector("[data-testid=gridtsne-pending-run][data-state=queued]",
                                   state="attached", timeout=30000)
            app.wait_text("gridtsne-pending", "later: queued")
            in_thread(delegated.run_queued, dataset_name=dataset.name)
            assert delegated.grid_status(op_id)["state"] == "completed"
            # the panel looks again by itself while a run is pending
            page.wait_for_selector("[data-testid=gridtsne-key] option[value=later]",
                                   state="attached", timeout=30000)
            page.wait_for_selector("[data-testid=gridtsne-pending-run]", state="detached",
                                   timeout=30000)
            page.select_option("[data-testid=gridtsne-key]", "later")
            app.wait_text("gridtsne-summary", "later: 6 x 7, 40 samples")
        finally:
            app.close()
