"""What a new user of the grid_mosaic panel expects of it in the real App, in
headless Chromium (see tests/browser.py): the selection Python sees, dimming,
colours, unplaced samples, and operators that say what they did."""

import json
import time

import pytest

import gridtsne

from browser import CANVAS, App, cell_center

pytestmark = pytest.mark.browser


def wait_session_selected(app, expected, timeout=30.0):
    """Until the Python session's selection is ``expected`` (a set of ids)."""
    deadline = time.monotonic() + timeout
    while True:
        got = set(app.session.selected)
        if got == expected or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def test_double_click_and_escape_leave_python_the_apps_selection(dataset, tmp_path):
    from playwright.sync_api import sync_playwright

    res = gridtsne.compute_grid(dataset, key="grid", label_field="ground_truth",
                                output_dir=str(tmp_path))
    samples = list(dataset.sort_by("filepath"))
    with sync_playwright() as p:
        app = App(p, dataset)
        try:
            page = app.page
            app.wait_text("gridtsne-summary", "grid: %d x %d, 40 samples" % (res.rows, res.cols))
            app.wait_drawn()
            box = page.locator(CANVAS).bounding_box()
            picked = samples[:2]
            for k, s in enumerate(picked):
                x, y = cell_center(box, res.rows, res.cols, s["grid_row"], s["grid_col"])
                if k:
                    page.keyboard.down("Control")
                page.mouse.click(x, y)
                if k:
                    page.keyboard.up("Control")
            expected = {s.id for s in picked}
            page.wait_for_selector("[data-testid=gridtsne-selection][data-app-selection=%s]"
                                   % json.dumps(",".join(sorted(expected))), timeout=10000)
            assert wait_session_selected(app, expected) == expected
            for attempt in range(3):
                other = samples[10 + attempt]
                x, y = cell_center(box, res.rows, res.cols, other["grid_row"], other["grid_col"])
                page.mouse.dblclick(x, y)
                page.wait_for_function("(id) => window.location.search.includes(id)",
                                       arg=other.id, timeout=30000)
                page.wait_for_selector("[data-cy=modal-looker-container]", timeout=30000)
                page.keyboard.press("Escape")
                page.wait_for_function("(id) => !window.location.search.includes(id)",
                                       arg=other.id, timeout=30000)
                page.wait_for_selector(
                    "[data-testid=gridtsne-selection][data-app-selection=%s]"
                    % json.dumps(",".join(sorted(expected))), timeout=10000)
                assert wait_session_selected(app, expected) == expected, attempt
        except BaseException:
            app.record_failure()
            raise
        finally:
            app.close()
