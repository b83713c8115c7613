"""What a new user of the grid_mosaic panel expects of it in the real App, in
headless Chromium (see tests/browser.py): the selection Python sees, dimming
that makes a small view stand out, no label colours when colouring by none,
and a word on samples the grid has not placed. One App serves the module's
tests; each puts back what it changed (the last one adds samples)."""

import time

import numpy as np
import pytest
from PIL import Image

import fiftyone as fo

from browser import CANVAS, app_on_shapes, cell_center, shot_rgb

pytestmark = pytest.mark.browser


class Shown:
    def __init__(self, app, dataset, res):
        self.app, self.page, self.dataset, self.res = app, app.page, dataset, res
        self.canvas = app.page.locator(CANVAS)
        self.samples = list(dataset.sort_by("filepath"))

    def cell_rect(self, box, sample):
        """The screen rectangle (x0, y0, x1, y1) of ``sample``'s cell, relative to the canvas."""
        rows, cols = self.res.rows, self.res.cols
        scale = min(box["width"] / cols, box["height"] / rows)
        x, y = cell_center(box, rows, cols, sample["grid_row"], sample["grid_col"])
        x, y = x - box["x"], y - box["y"]
        return (int(round(x - scale / 2)), int(round(y - scale / 2)),
                int(round(x + scale / 2)), int(round(y + scale / 2)))

    def rgb(self, name):
        with Image.open(shot_rgb(self.canvas, name + ".png")) as im:
            return np.asarray(im.convert("RGB")).astype(float)

    def color_by(self, field):
        self.page.select_option("[data-testid=gridtsne-color-by]", field)
        self.app.wait_canvas("(d.colorDrawn || '') === %r" % field, timeout=30000)
        self.app.wait_drawn()


def wait_session_selected(app, expected, timeout=30.0):
    """Until the Python session's selection is ``expected`` (a set of ids)."""
    deadline = time.monotonic() + timeout
    while True:
        got = set(app.session.selected)
        if got == expected or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


@pytest.fixture(scope="module")
def shown(shapes_dir, tmp_path_factory):
    # cells of 128 px: at fit zoom the panel shows the mosaic file itself (it
    # draws each image only once a cell is larger than the file's)
    for app, dataset, res in app_on_shapes(shapes_dir, str(tmp_path_factory.mktemp("polish")),
                                           cell_px=128):
        yield Shown(app, dataset, res)


@pytest.fixture
def page_of(shown):
    """Each test starts on the whole dataset at fit zoom, nothing selected,
    the pointer off the mosaic."""
    if shown.app.session.view is not None:
        shown.app.session.view = None
    shown.app.wait_view(len(shown.samples))
    shown.page.get_by_role("button", name="fit", exact=True).click()
    shown.page.locator("[data-testid=gridtsne-clear-selection]").click()
    shown.page.wait_for_selector("[data-testid=gridtsne-selection][data-app-selection='']",
                                 state="attached", timeout=10000)
    shown.page.mouse.move(1, 1)
    try:
        yield shown
    except BaseException:
        shown.app.record_failure()
        raise


def test_double_click_and_escape_leave_python_the_apps_selection(shown):
    s = shown
    page, res = s.page, s.res
    box = s.canvas.bounding_box()
    picked = s.samples[:2]
    shown_selection = s.app.click_cells(res.rows, res.cols, picked)
    expected = {sample.id for sample in picked}
    assert wait_session_selected(s.app, expected) == expected
    for attempt in range(3):
        other = s.samples[10 + attempt]
        x, y = cell_center(box, res.rows, res.cols, other["grid_row"], other["grid_col"])
        page.mouse.dblclick(x, y)
        page.wait_for_function("(id) => window.location.search.includes(id)",
                               arg=other.id, timeout=30000)
        page.wait_for_selector("[data-cy=modal-looker-container]", timeout=30000)
        page.keyboard.press("Escape")
        page.wait_for_function("(id) => !window.location.search.includes(id)",
                               arg=other.id, timeout=30000)
        page.wait_for_selector(shown_selection, timeout=10000)
        assert wait_session_selected(s.app, expected) == expected, attempt


def test_a_six_sample_view_stands_out_borders_included(page_of):
    s = page_of
    s.color_by("ground_truth.label")
    box = s.canvas.bounding_box()
    before = s.rgb("dim-before").mean(axis=2)
    six = [sample for sample in s.samples[::7]][:6]
    s.app.session.view = s.dataset.select([sample.id for sample in six])
    s.app.wait_view(6)
    s.app.wait_drawn()
    after = s.rgb("dim-six").mean(axis=2)
    # the legend counts what the view leaves of each label
    legend = s.page.locator("[data-testid=gridtsne-legend]").inner_text()
    label = six[0].ground_truth.label
    assert "%s (%d of 10)" % (label, sum(x.ground_truth.label == label for x in six)) in legend

    def luminance(img, samples):
        total = 0.0
        for sample in samples:
            x0, y0, x1, y1 = s.cell_rect(box, sample)
            total += img[y0:y1, x0:x1].mean()
        return total

    kept = {sample.id for sample in six}
    dimmed = [sample for sample in s.samples if sample.id not in kept]
    assert luminance(after, dimmed) <= luminance(before, dimmed) / 3
    assert luminance(after, six) >= 0.9 * luminance(before, six)


def test_colour_by_none_draws_no_label_colours(page_of):
    s = page_of
    box = s.canvas.bounding_box()

    def border_saturation(img):
        """The largest median channel spread (max - min) of a strip along each
        cell's edges: a border runs along the whole edge; the images' own
        edges are light grey noise, crossed here and there by a shape."""
        worst = 0.0
        for sample in s.samples:
            x0, y0, x1, y1 = s.cell_rect(box, sample)
            w = max(2, (x1 - x0) // 16)
            strips = [img[y0 + w:y1 - w, x0 + 1:x0 + 1 + w], img[y0 + 1:y0 + 1 + w, x0 + w:x1 - w]]
            for strip in strips:
                worst = max(worst, float(np.median(strip.max(axis=2) - strip.min(axis=2))))
        return worst

    assert s.app.canvas_data()["sharp"] == "false"
    s.color_by("ground_truth.label")
    assert border_saturation(s.rgb("colour-by-label")) > 60  # borders in label colours
    s.color_by("")
    assert border_saturation(s.rgb("colour-by-none")) < 30


def test_the_hover_card_follows_the_pointer_through_drags_and_pans(page_of):
    import os

    s = page_of
    page, res = s.page, s.res
    box = s.canvas.bounding_box()
    hover = page.locator("[data-testid=gridtsne-hover]")
    sample = next(x for x in s.samples if 2 <= x["grid_col"] <= res.cols // 2)
    x, y = cell_center(box, res.rows, res.cols, sample["grid_row"], sample["grid_col"])
    name = os.path.basename(sample.filepath)
    page.mouse.move(x, y)
    hover.get_by_text(name).wait_for(timeout=10000)
    card_x = hover.bounding_box()["x"]
    # a box being drawn is not covered by the card
    page.keyboard.down("Shift")
    page.mouse.down()
    page.mouse.move(x + 30, y + 30, steps=4)
    hover.wait_for(state="detached", timeout=10000)
    page.mouse.up()
    page.keyboard.up("Shift")
    page.locator("[data-testid=gridtsne-clear-selection]").click()
    # a pan of two cells to the left: no card while it pans; then the card is
    # back beside the pointer, on the sample the pointer holds, not where it was
    scale = min(box["width"] / res.cols, box["height"] / res.rows)
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x - scale, y, steps=3)
    assert hover.count() == 0
    page.mouse.move(x - 2 * scale, y, steps=3)
    page.mouse.up()
    hover.get_by_text(name).wait_for(timeout=10000)
    assert abs(hover.bounding_box()["x"] - (card_x - 2 * scale)) < 3
    # the mosaic keeps off the panel's edges, where the splitter is
    panel = page.locator("[data-testid=gridtsne-view]").bounding_box()
    assert box["x"] - panel["x"] >= 8
    assert panel["x"] + panel["width"] - (box["x"] + box["width"]) >= 8


def test_the_panel_says_how_many_samples_the_grid_has_not_placed(page_of, shapes_dir):
    s = page_of
    extra = [fo.Sample(filepath=sample.filepath, ground_truth=sample.ground_truth.copy())
             for sample in s.samples[:5]]
    s.dataset.add_samples(extra)
    s.app.session.refresh()
    s.app.wait_text("gridtsne-summary", "40 samples, 40 in view, 5 not placed", timeout=30000)
