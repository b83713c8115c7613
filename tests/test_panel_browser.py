"""The grid_mosaic panel in the real FiftyOne App, driven in headless Chromium.

Starts the App server on loopback with the plugin installed (conftest puts it
under FIFTYONE_PLUGINS_DIR), opens the panel from the App's "new panel" menu,
and checks what a user sees. Screenshots go to $GRIDTSNE_ARTIFACTS (default
test-artifacts/browser/ in the repository).
"""

import os
import socket

import numpy as np
import pytest
from PIL import Image

import fiftyone as fo
from fiftyone import ViewField as F

import gridtsne
from gridtsne.fo import panel as gpanel

from conftest import REPO

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update",
         "--disable-sync"]
ARTIFACTS = os.environ.get("GRIDTSNE_ARTIFACTS", os.path.join(REPO, "test-artifacts", "browser"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cell_center(box, rows, cols, r, c):
    return (box["x"] + (c + 0.5) * box["width"] / cols,
            box["y"] + (r + 0.5) * box["height"] / rows)


def cell_brightness(img, box, plot_box, rows, cols, r, c):
    """Mean brightness of the middle of cell (r, c) in a screenshot of the plot."""
    x, y = cell_center(box, rows, cols, r, c)
    x, y = int(x - plot_box["x"]), int(y - plot_box["y"])
    half = max(2, int(box["width"] / cols / 4))
    return float(img[y - half:y + half, x - half:x + half].mean())


def test_traces_dim_outside_view_and_mark_selection():
    layout = {"id": ["a", "b", "c"], "filepath": ["/x/a.png", "/x/b.png", "/x/c.png"],
              "row": [0, 0, 1], "col": [0, 1, 1], "label": ["p", "q", None]}
    dim, sel, cells, *legend = gpanel.panel_traces(layout, {"a", "c"}, {"c"}, 2, 2)
    assert [t["name"] for t in legend] == ["p", "q"]  # the border colours, named
    assert dim["z"] == [[None, 1], [None, None]]
    assert sel["z"] == [[None, None], [None, 1]]
    assert cells["ids"] == ["a", "b", "c"] and cells["text"][1] == "b.png | q"
    assert gpanel.selection_text(layout, {"b"}) == "Selected: b.png"
    assert gpanel.selection_text(layout, {"a", "b"}) == "2 selected"
    assert gpanel.panel_layout("/m/mosaic.jpg", 2, 2)["images"][0]["source"] == (
        "/media?filepath=%2Fm%2Fmosaic.jpg")


def test_panel_in_the_app(make_dataset, tmp_path):
    from playwright.sync_api import sync_playwright

    assert os.access(CHROMIUM, os.X_OK), (
        "Debian's chromium is needed at %s (scripts/setup.sh installs it)" % CHROMIUM)
    os.makedirs(ARTIFACTS, exist_ok=True)
    ds = make_dataset()
    ds.persistent = True
    res = gridtsne.compute_grid(ds, key="grid", label_field="ground_truth",
                                mosaic_dir=str(tmp_path / "mosaic"))
    rows, cols = res.rows, res.cols
    reds = ds.match(F("ground_truth.label") == "red_circle").sort_by("filepath")
    target = reds.first()
    other_red = reds.skip(1).first()
    not_red = ds.match(F("ground_truth.label") == "blue_triangle").first()

    port = free_port()
    session = fo.launch_app(ds, remote=True, port=port, address="127.0.0.1")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.goto("http://127.0.0.1:%d/datasets/%s" % (port, ds.name))
            page.wait_for_selector("[data-cy=new-panel-btn]", timeout=120000)
            page.wait_for_timeout(1500)
            dismiss = page.get_by_role("button", name="Dismiss")
            if dismiss.count():
                dismiss.first.click()
            page.keyboard.press("Escape")

            page.locator("[data-cy=new-panel-btn]").first.click()
            page.locator("[data-cy=new-panel-option-grid_mosaic]").click()
            page.wait_for_selector("text=%d x %d, 40 samples, 40 in view" % (rows, cols),
                                   timeout=60000)
            plot = page.locator(".js-plotly-plot").first
            page.wait_for_selector(".js-plotly-plot svg image", state="attached",
                                   timeout=30000)
            page.wait_for_timeout(1500)
            page.screenshot(path=os.path.join(ARTIFACTS, "app-with-panel.png"))

            # the mosaic is drawn: the plot area is an image, not a blank canvas
            plot_box = plot.bounding_box()
            box = page.locator(".js-plotly-plot .nsewdrag").first.bounding_box()
            plot.screenshot(path=os.path.join(ARTIFACTS, "panel-initial.png"))
            before = np.asarray(Image.open(os.path.join(ARTIFACTS, "panel-initial.png"))
                                .convert("L")).astype(float)
            drawn = before[int(box["y"] - plot_box["y"]):int(box["y"] - plot_box["y"] + box["height"]),
                           int(box["x"] - plot_box["x"]):int(box["x"] - plot_box["x"] + box["width"])]
            assert drawn.std() > 25, "the mosaic area looks blank"

            # clicking a cell selects exactly that sample in the App: the panel
            # names the App's selection, which the App hands to its
            # on_change_selected hook (the Python Session's copy of the
            # selection is not reliably synced back, so it is not used here)
            x, y = cell_center(box, rows, cols, target["grid_row"], target["grid_col"])
            page.mouse.move(x, y)
            page.wait_for_timeout(300)
            page.mouse.click(x, y)
            name = os.path.basename(target.filepath)
            page.wait_for_selector("text=Selected: %s" % name, timeout=30000)
            assert page.locator("text=/^Selected: /").all_inner_texts() == [
                "Selected: %s" % name]
            plot.screenshot(path=os.path.join(ARTIFACTS, "panel-selected.png"))

            # filtering the view dims every other cell
            session.view = ds.match(F("ground_truth.label") == "red_circle")
            page.wait_for_selector("text=40 samples, 10 in view", timeout=60000)
            page.wait_for_timeout(1500)
            plot.screenshot(path=os.path.join(ARTIFACTS, "panel-filtered.png"))
            page.screenshot(path=os.path.join(ARTIFACTS, "app-filtered.png"))
            after = np.asarray(Image.open(os.path.join(ARTIFACTS, "panel-filtered.png"))
                               .convert("L")).astype(float)

            def ratio(sample):
                r, c = sample["grid_row"], sample["grid_col"]
                return (cell_brightness(after, box, plot_box, rows, cols, r, c)
                        / cell_brightness(before, box, plot_box, rows, cols, r, c))

            assert ratio(not_red) < 0.5, "a cell outside the view is not dimmed"
            assert ratio(other_red) > 0.8, "a cell inside the view was dimmed"
            browser.close()
    finally:
        session.close()
