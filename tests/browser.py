"""Driving the real FiftyOne App with the grid_mosaic panel in headless
Debian Chromium: shared by the browser tests and benchmarks/bench_panel.py.

Waits are on what the page shows (text, data attributes the panel sets after
it has drawn), never fixed sleeps.
"""

import json
import os
import re
import socket
import sys

import numpy as np
from PIL import Image

import fiftyone as fo

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update",
         "--disable-sync"]
ARTIFACTS = os.environ.get("GRIDTSNE_ARTIFACTS", os.path.join(REPO, "test-artifacts", "browser"))
CANVAS = "[data-testid=gridtsne-canvas]"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cell_center(box, rows, cols, r, c):
    """Screen point of cell (r, c) when the canvas shows the whole grid (fit)."""
    scale = min(box["width"] / cols, box["height"] / rows)
    x0 = box["x"] + (box["width"] - cols * scale) / 2
    y0 = box["y"] + (box["height"] - rows * scale) / 2
    return x0 + (c + 0.5) * scale, y0 + (r + 0.5) * scale


def cell_brightness(img, box, rows, cols, r, c):
    """Mean brightness of the middle of cell (r, c) in a screenshot of the canvas."""
    x, y = cell_center(box, rows, cols, r, c)
    x, y = int(x - box["x"]), int(y - box["y"])
    half = max(2, int(min(box["width"] / cols, box["height"] / rows) / 4))
    return float(img[y - half:y + half, x - half:x + half].mean())


def shot(locator, name):
    path = os.path.join(ARTIFACTS, name)
    locator.screenshot(path=path)
    return np.asarray(Image.open(path).convert("L")).astype(float)


def shot_rgb(locator, name):
    """A screenshot of ``locator`` saved under ARTIFACTS; returns its path."""
    path = os.path.join(ARTIFACTS, name)
    locator.screenshot(path=path)
    return path


# the panel's "gridtsne:<what>" performance marks since it last mounted: the
# latest time of each, in ms (js/src/debug.js)
MARKS = """() => { let out = {};
  for (const e of performance.getEntriesByType("mark")) {
    if (!e.name.startsWith("gridtsne:")) continue;
    const what = e.name.slice("gridtsne:".length);
    if (what === "mounted") out = {};
    out[what] = e.startTime;
  }
  return out; }"""


def app_on_a_run(dataset, results):
    """A generator for a module fixture: the App in headless Chromium on
    ``dataset`` with the panel showing run ``results``, yielding the App once
    it is drawn; closes it and deletes the dataset after the module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        app = App(p, dataset)
        try:
            app.wait_text("gridtsne-summary", "%s: %d x %d, %d samples" % (
                results.key, results.rows, results.cols, results.n_samples))
            app.wait_drawn()
            yield app
        finally:
            app.close()
            if not dataset.deleted:
                dataset.delete()


def app_on_shapes(shapes_dir, out_dir, cell_px):
    """:func:`app_on_a_run` on the shapes folder's images laid out with their
    labels; yields (app, dataset, results)."""
    import gridtsne
    from conftest import make_dataset_of

    dataset = make_dataset_of(shapes_dir)
    res = gridtsne.compute_grid(dataset, key="grid", label_field="ground_truth",
                                cell_px=cell_px, output_dir=out_dir)
    for app in app_on_a_run(dataset, res):
        yield app, dataset, res


class App:
    """The App on a dataset in headless Chromium, with the grid_mosaic panel open."""

    def __init__(self, playwright, dataset, panel=True):
        os.makedirs(ARTIFACTS, exist_ok=True)
        port = free_port()
        self.session = fo.launch_app(dataset, remote=True, port=port, address="127.0.0.1")
        self.browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS,
                                                  headless=True)
        self.page = self.browser.new_page(viewport={"width": 1600, "height": 1000})
        self.requests = []
        self.console = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("console", lambda m: self.console.append("%s: %s" % (m.type, m.text)))
        self.page.on("pageerror", lambda e: self.console.append("pageerror: %s" % e))
        # the panel writes what it drew onto its canvas only with this flag (js/src/debug.js)
        self.page.add_init_script("window.__GRIDTSNE_DEBUG__ = true;")
        self.page.goto("http://127.0.0.1:%d/datasets/%s" % (port, dataset.name))
        self.page.wait_for_selector("[data-cy=new-panel-btn]", timeout=120000)
        self.page.wait_for_timeout(1500)
        dismiss = self.page.get_by_role("button", name="Dismiss")
        if dismiss.count():
            dismiss.first.click()
        self.page.keyboard.press("Escape")
        if panel:
            self.open_panel()

    def open_panel(self, tries=3):
        """Opens the panel from the "+" menu; a click the App was not ready
        for (it happens on a busy machine) is made again."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        for _ in range(tries):
            self.page.locator("[data-cy=new-panel-btn]").first.click()
            option = self.page.locator("[data-cy=new-panel-option-grid_mosaic]")
            try:
                option.wait_for(timeout=20000)
                option.click()
                self.page.wait_for_selector(
                    "[data-testid=gridtsne-view], [data-testid=gridtsne-empty]", timeout=30000)
                return
            except PlaywrightTimeout:
                self.page.keyboard.press("Escape")
        self.page.screenshot(path=os.path.join(ARTIFACTS, "failed-open-panel.png"))
        raise AssertionError("the grid_mosaic panel did not open")

    def marks(self):
        return self.page.evaluate(MARKS)

    def canvas_data(self):
        """The data attributes the panel's canvas sets when it has drawn."""
        return self.page.evaluate("(sel) => { const c = document.querySelector(sel);"
                                  " return c ? Object.assign({}, c.dataset) : null; }", CANVAS)

    def wait_canvas(self, condition, timeout=60000):
        """Waits until ``condition`` (a JS expression of ``d``, the canvas's
        dataset) holds; says what the canvas showed if it never does."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            self.page.wait_for_function(
                "(sel) => { const c = document.querySelector(sel); const d = c && c.dataset;"
                " return Boolean(d && (%s)); }" % condition, arg=CANVAS, timeout=timeout)
        except PlaywrightTimeout:
            self.page.screenshot(path=os.path.join(ARTIFACTS, "failed-canvas.png"))
            raise AssertionError("the canvas never had %s; it has %s"
                                 % (condition, self.canvas_data())) from None

    def wait_text(self, testid, text, timeout=60000):
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            self.page.wait_for_selector(
                "[data-testid=%s]:has-text(%s)" % (testid, json.dumps(text)), timeout=timeout)
        except PlaywrightTimeout:
            shown = self.page.locator("[data-testid=%s]" % testid)
            actual = shown.first.inner_text() if shown.count() else "(not on the page)"
            self.page.screenshot(path=os.path.join(ARTIFACTS, "failed-%s.png" % testid))
            raise AssertionError("%s shows %r after %d ms, not %r"
                                 % (testid, actual, timeout, text)) from None

    def wait_drawn(self, timeout=60000):
        """Until the canvas has drawn everything it loads (tiles, images) and
        two more frames have passed (the drawing is on screen)."""
        self.wait_canvas("d.renderMs && d.tilesLoading === '0'", timeout=timeout)
        self.page.evaluate("() => new Promise((r) => requestAnimationFrame("
                           "() => requestAnimationFrame(r)))")

    def wait_view(self, count, timeout=60000):
        """Until the panel shows ``count`` cells in view from the server's
        mask: the App has loaded the view (the panel can show a view it
        worked out itself before that, see js/src/predict.js)."""
        self.wait_canvas("d.inViewSource === 'server' && d.inViewDrawn === '%d'" % count,
                         timeout=timeout)

    def record_view_drawings(self):
        """From now on, notes each dimming the canvas draws: [where its mask
        came from ("predicted" in the browser or "server"), its cell count,
        its fingerprint]; read them with :meth:`view_drawings`."""
        self.page.evaluate("""(sel) => {
          window.__viewDrawings = [];
          const c = document.querySelector(sel);
          const now = () => [c.dataset.inViewSource, c.dataset.inViewDrawn, c.dataset.inViewHash];
          let last = now();  // what it shows already is no news
          const note = () => {
            const row = now();
            if (row.join() !== last.join()) window.__viewDrawings.push(row);
            last = row;
          };
          new MutationObserver(note).observe(c, {attributes: true, attributeFilter: [
            'data-in-view-source', 'data-in-view-drawn', 'data-in-view-hash']});
        }""", CANVAS)

    def view_drawings(self):
        return self.page.evaluate("() => window.__viewDrawings")

    def search_sidebar(self, field, value):
        """Types ``value`` into the sidebar filter of the label field ``field``
        and waits for it to be offered; Enter (the caller's) applies it."""
        page = self.page
        page.locator("[data-cy='sidebar-field-arrow-enabled-%s']" % field).first.click()
        search = page.locator("[data-cy='selector-sidebar-search-%s.label']" % field).first
        (search.locator("input").first if search.locator("input").count() else search).click()
        page.keyboard.type(value)
        page.wait_for_selector("[data-cy='selector-results-container-sidebar-search-%s.label']"
                               ":has-text(%s)" % (field, json.dumps(value)), timeout=60000)

    def click_cells(self, rows, cols, samples):
        """Selects ``samples`` as a user does: a click on the first one's cell,
        ctrl-clicks on the others'; waits until the panel shows them selected."""
        import json

        box = self.page.locator(CANVAS).bounding_box()
        for k, sample in enumerate(samples):
            x, y = cell_center(box, rows, cols, sample["grid_row"], sample["grid_col"])
            if k:
                self.page.keyboard.down("Control")
            self.page.mouse.click(x, y)
            if k:
                self.page.keyboard.up("Control")
        selector = "[data-testid=gridtsne-selection][data-app-selection=%s]" % json.dumps(
            ",".join(sorted(sample.id for sample in samples)))
        self.page.wait_for_selector(selector, timeout=10000)
        return selector

    def box_select(self, box, rows, cols, last_row, last_col):
        """Box mode, then drag from cell (0, 0) over cell (last_row, last_col).
        The drag starts where the canvas is now: the App's panels can scroll a
        few pixels when a sidebar control is clicked (Playwright scrolls it into
        view), which moves the canvas but not its cells within it. Returns the
        canvas's box."""
        page = self.page
        page.locator("[data-testid=gridtsne-mode-box]").click()
        page.wait_for_selector("[data-testid=gridtsne-mode-box][data-active=true]")
        now = page.locator(CANVAS).bounding_box()
        assert (now["width"], now["height"]) == (box["width"], box["height"]), \
            "the canvas changed size, so its cells moved within it"
        box = now
        x0, y0 = cell_center(box, rows, cols, 0, 0)
        x1, y1 = cell_center(box, rows, cols, last_row, last_col)
        page.mouse.move(x0 - 2, y0 - 2)
        page.mouse.down()
        page.mouse.move(x1 + 4, y1 + 4, steps=5)
        page.mouse.up()
        return box

    def record_failure(self):
        """What the page showed when a test failed: a full-page screenshot,
        its HTML, its console and the last requests, under ARTIFACTS."""
        test = os.environ.get("PYTEST_CURRENT_TEST", "app").split(" ")[0]
        stem = os.path.join(ARTIFACTS, "failed-" + re.sub(r"[^A-Za-z0-9_.-]+", "_", test))
        try:
            self.page.screenshot(path=stem + ".png", full_page=True)
            with open(stem + ".html", "w") as f:
                f.write(self.page.content())
        finally:
            with open(stem + ".log", "w") as f:
                f.write("console:\n%s\n\nlast requests:\n%s\n"
                        % ("\n".join(self.console[-200:]), "\n".join(self.requests[-100:])))

    def close(self):
        """Closes the browser and the App; called in a ``finally``, so a test
        that is failing leaves what the page showed (``record_failure``)."""
        try:
            if sys.exc_info()[0] is not None:
                self.record_failure()
        except Exception:  # the page may be gone; the test's own error matters
            pass
        self.browser.close()
        self.session.close()


def run_operator(page, label):
    """Opens an operator's form from the App's operator browser, as a user would."""
    page.locator(CANVAS + ", [data-testid=gridtsne-empty]").first.focus()
    page.keyboard.press("Backquote")
    page.keyboard.type(label)
    try:
        page.wait_for_selector("text=%s" % label, timeout=10000)
    except Exception:
        page.screenshot(path=os.path.join(ARTIFACTS, "failed-operator-browser.png"))
        raise
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Execute").wait_for(timeout=60000)
