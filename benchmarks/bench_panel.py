"""The grid_mosaic panel at scale, in the real App in headless Debian Chromium.

Makes (once; kept for the next run) N generated 32 x 32 images in
``--cache`` and a persistent dataset ``gridtsne-bench-panel-N`` with a grid run
on precomputed 16-d embeddings (12 clusters, 7 labels), starts the App on it
with this repository as its plugin, and measures what a user waits for:

- ``open_s``: the panel opened from the "+" menu to the run drawn;
  this and the view and filter times end when the page drew (a
  MutationObserver on the canvas's data attributes); ``*_seen_*``: when
  Playwright's polling saw it, later by however long the App keeps the page
  busy after the drawing;
- ``view_change_ms``: a view set from Python (``session.view = ...match``,
  five views of different sizes, each once the App has loaded the one before)
  to its dimming drawn, median of 5 (``view_change_all_ms``: each; the first
  view on ``score`` also fetches that field's values, see js/src/predict.js); ``view_change_panel_ms``: the part after
  the App has the new view (its own queries come first);
  ``view_reached_page_ms``: until the page had it at all (the App pushes it
  into the browser's history as it arrives);
- ``filter_ms``: a sidebar filter on the label field (Enter pressed) to its
  dimming drawn (``filter_panel_ms``: the part after the App has it);
- ``click_ms``: a click on a cell to the App's selection holding that sample,
  median of 5 (measured in the page); ``click_drawn_ms``: to the panel
  showing it selected;
- ``payload_bytes``: what the panel sends for the run (its cell file and the
  JSON of the run, the view and the colours).

Prints one JSON object on its last line.

    .venv/bin/python benchmarks/bench_panel.py --n 100000
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

import numpy as np
from PIL import Image

from plugin_env import use_this_plugin

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests"))  # the App driver the browser tests use
N_LABELS = 7

# Dispatches a click on the canvas at (x, y) on `cell`; resolves with the
# milliseconds until the panel has drawn it selected ("drawn") and until the
# App's selection (as the panel reads it) is exactly `id` ("app").
MEASURE_CLICK = """([sel, x, y, cell, id]) => new Promise((resolve) => {
  const canvas = document.querySelector(sel);
  const label = document.querySelector('[data-testid=gridtsne-selection]');
  const t0 = performance.now();
  const out = {};
  const check = () => {
    if (out.drawn === undefined && canvas.dataset.selectedDrawn === cell) out.drawn = performance.now() - t0;
    if (out.app === undefined && label.dataset.appSelection === id) out.app = performance.now() - t0;
    if (out.drawn !== undefined && out.app !== undefined) { a.disconnect(); b.disconnect(); resolve(out); }
  };
  const a = new MutationObserver(check);
  a.observe(label, {attributes: true});
  const b = new MutationObserver(check);
  b.observe(canvas, {attributes: true});
  const opts = {clientX: x, clientY: y, bubbles: true, detail: 1};
  canvas.dispatchEvent(new MouseEvent('mousedown', opts));
  canvas.dispatchEvent(new MouseEvent('mouseup', opts));
  setTimeout(() => { a.disconnect(); b.disconnect(); resolve({drawn: out.drawn ?? 1e9, app: out.app ?? 1e9}); }, 10000);
})"""


# Records, on the page's clock as epoch ms, when the canvas first satisfies a
# condition (a JS expression of `d`, its dataset), from a MutationObserver: when
# the page drew it. Playwright's own wait polls once per animation frame, which
# the App's work after a drawing (its grid relaying out for the new panel, say)
# can hold back by most of a second.
WATCH = """(sel) => {
  window.__benchDone = null;
  const test = () => { const c = document.querySelector(sel); const d = c && c.dataset; return Boolean(d && (%s)); };
  const done = () => { window.__benchDone = performance.timeOrigin + performance.now(); };
  if (test()) return done();
  const obs = new MutationObserver(() => { if (test()) { done(); obs.disconnect(); } });
  obs.observe(document.body, {subtree: true, childList: true, attributes: true,
                              attributeFilter: ['data-in-view-drawn', 'data-color-drawn', 'data-tiles-loading']});
}"""


# Notes, as epoch ms, when the App pushes a new location into the browser's
# history: it does so as soon as a view set from Python reaches the page, before
# its own queries for that view.
NOTE_PUSHES = """() => {
  if (window.__gridtsnePushWrapped) return;
  window.__gridtsnePushWrapped = true;
  const push = history.pushState.bind(history);
  history.pushState = (...args) => {
    window.__gridtsnePushed = performance.timeOrigin + performance.now();
    return push(...args);
  };
}"""


def timed(app, condition, action, timeout=120000):
    """(ms from ``action`` to the page drawing ``condition``, ms until Playwright saw it)."""
    from browser import CANVAS

    app.page.evaluate(WATCH % condition, CANVAS)
    t0 = time.time() * 1000
    action()
    app.wait_canvas(condition, timeout=timeout)
    seen = time.time() * 1000 - t0
    return app.page.evaluate("() => window.__benchDone") - t0, seen


def cell_pixel(box, rows, cols, r, c):
    """A whole screen pixel for cell (r, c) at fit zoom (a click has integer
    coordinates), and the cell that pixel really falls in: inside (r, c) when
    cells are 1 px or more (under 2 px at 100,000), a neighbour when they are
    smaller than a pixel (1,000,000) and no whole pixel lies inside (r, c)."""
    import math

    scale = min(box["width"] / cols, box["height"] / rows)
    x0 = box["x"] + (box["width"] - cols * scale) / 2
    y0 = box["y"] + (box["height"] - rows * scale) / 2

    def inside(start, size):
        lo, hi = math.ceil(start), math.ceil(start + size) - 1
        return min(max(round(start + size / 2), lo), hi)

    x, y = inside(x0 + c * scale, scale), inside(y0 + r * scale, scale)
    return x, y, int(math.floor((y - y0) / scale)), int(math.floor((x - x0) / scale))


def panel_part(page, since="viewAsked"):
    """Milliseconds from the App having the new view (the panel asks for its
    cells then; ``since="viewPushed"``: from the App pushing it into the
    history) to the panel drawing them: the panel's share of a view change."""
    from browser import MARKS

    marks = page.evaluate(MARKS)
    return marks["viewDrawn"] - marks.get(since, float("nan"))


def make_images(folder, n, distinct):
    """``distinct`` small images (a coloured disc on noise), reused when N is larger."""
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(0)
    paths = []
    for i in range(distinct):
        path = os.path.join(folder, "img%07d.jpg" % i)
        if not os.path.exists(path):
            img = rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)
            yy, xx = np.mgrid[:32, :32]
            disc = (yy - 16) ** 2 + (xx - 16) ** 2 < int(rng.integers(30, 200))
            img[disc] = rng.integers(0, 255, 3)
            Image.fromarray(img).save(path, quality=80)
        paths.append(path)
    return [paths[i % distinct] for i in range(n)]


def bench_dataset(n, cache, distinct, cell_px=32, curation=True):
    import fiftyone as fo

    import gridtsne

    name = "gridtsne-bench-panel-%d" % n
    if fo.dataset_exists(name):
        ds = fo.load_dataset(name)
        if "grid" in gridtsne.list_grids(ds) and len(ds) == n:
            return ds, 0.0
        ds.delete()
    t0 = time.time()
    paths = make_images(os.path.join(cache, "images"), n, distinct)
    ds = fo.Dataset(name)
    ds.persistent = True
    for start in range(0, n, 20000):
        ds.add_samples([fo.Sample(filepath=p, ground_truth=fo.Classification(label="c%d" % (
            i % N_LABELS)), score=float(i % 1000) / 1000.0)
            for i, p in enumerate(paths[start:start + 20000], start)], progress=False)
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(12, 16))
    labels = np.arange(n) % N_LABELS
    emb = centres[(labels * 5 + rng.integers(0, 2, n)) % 12] + rng.normal(0, 0.35, (n, 16))
    gridtsne.compute_grid(ds, key="grid", embeddings=emb.astype(np.float32), refine=False,
                          cell_px=cell_px, label_field="ground_truth", curation=curation,
                          output_dir=os.path.join(cache, "runs"), progress=False,
                          overwrite=True)
    return ds, time.time() - t0


def payload_bytes(ds):
    """What the panel's Python side sends for the run, as the App receives it."""
    import gridtsne
    from gridtsne.fo import panel, panel_colors, panel_data

    res = gridtsne.load_grid(ds, "grid")
    grid = panel.run_payload(res)
    run = panel_data.panel_run(res)
    view = panel_data.pack_mask(run, panel_data.view_cells(run, res, ds))
    color = panel_colors.color_values(run, res, "ground_truth.label", "categorical")
    return (os.path.getsize(grid["cells_path"]) + len(json.dumps(grid)) + len(view)
            + len(json.dumps(color)))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "gridtsne-bench-panel"),
                    help="folder for the generated images and the run's files (kept)")
    ap.add_argument("--distinct", type=int, default=100_000,
                    help="distinct image files (reused above this many samples)")
    ap.add_argument("--cell-px", type=int,
                    help="the run's cell size (default 32, 16 above 200,000 samples)")
    ap.add_argument("--no-curation", dest="curation", action="store_false",
                    help="make the run without curation (at 1,000,000 samples it costs "
                    "about 28 minutes, and the panel does not need it)")
    args = ap.parse_args(argv)
    use_this_plugin()

    from fiftyone import ViewField as F
    from playwright.sync_api import sync_playwright

    from browser import CANVAS, App

    import gridtsne

    cache = os.path.join(args.cache, str(args.n))
    cell_px = args.cell_px or (16 if args.n > 200_000 else 32)
    ds, setup_s = bench_dataset(args.n, cache, min(args.distinct, args.n), cell_px,
                                args.curation)
    res = gridtsne.load_grid(ds, "grid")
    rows, cols = res.rows, res.cols
    counts = {"c%d" % k: int(c) for k, c in enumerate(np.bincount(
        np.arange(args.n) % N_LABELS))}
    out = {"n": args.n, "rows": rows, "cols": cols, "tiles": bool(res.tiles_path),
           "cell_px": cell_px, "curation": res.options.curation, "setup_s": round(setup_s, 1)}
    with sync_playwright() as p:
        app = App(p, ds, panel=False)
        try:
            page = app.page
            drawn, seen = timed(app, "d.inViewDrawn === '%d' && d.colorDrawn && d.tilesLoading"
                                " === '0'" % args.n, app.open_panel, timeout=300000)
            out["open_s"], out["open_seen_s"] = round(drawn / 1000, 3), round(seen / 1000, 3)
            # where the time went, in the page (ms after the component mounted)
            marks = app.marks()
            out["open_marks_ms"] = {k: round(v - marks["mounted"]) for k, v in marks.items()}
            app.wait_drawn()

            times, seen, panel_times, known, pushed_times = [], [], [], [], []
            page.evaluate(NOTE_PUSHES)
            for k in range(5):
                # each view has its own count, which is what the canvas says it drew
                view = ds.match(F("score") < 0.1 * (k + 1) + 0.05)
                count = len(view)
                page.evaluate("() => { window.__gridtsnePushed = null; }")
                t0 = time.time() * 1000
                drawn, saw = timed(app, "d.inViewDrawn === '%d'" % count,
                                   lambda: setattr(app.session, "view", view))
                pushed = page.evaluate("() => window.__gridtsnePushed")
                known.append(pushed - t0 if pushed else float("nan"))
                # the next change starts once the App has loaded this view and the
                # panel's server check of it came back (the panel draws a view it
                # works out itself before the App loads it): each change is
                # measured from an App at rest, as a user's would be
                app.wait_view(count)
                times.append(drawn)
                seen.append(saw)
                panel_times.append(panel_part(page))
                pushed_times.append(panel_part(page, "viewPushed"))
            out["view_change_ms"] = round(statistics.median(times), 1)
            out["view_change_all_ms"] = [round(t) for t in times]
            out["view_change_seen_ms"] = round(statistics.median(seen), 1)
            out["view_change_panel_ms"] = round(statistics.median(panel_times), 1)
            # when the page had the new view (the App pushed it into the history),
            # and from then to the panel drawing it (when it works it out itself)
            out["view_reached_page_ms"] = round(statistics.median(known), 1)
            out["view_reached_page_all_ms"] = [round(t) for t in known]
            out["view_pushed_to_drawn_all_ms"] = [round(t) for t in pushed_times]
            app.session.view = None
            app.wait_canvas("d.inViewDrawn === '%d'" % args.n, timeout=120000)

            app.search_sidebar("ground_truth", "c3")
            drawn, seen = timed(app, "d.inViewDrawn === '%d'" % counts["c3"],
                                lambda: page.keyboard.press("Enter"))
            out["filter_ms"], out["filter_seen_ms"] = round(drawn, 1), round(seen, 1)
            out["filter_panel_ms"] = round(panel_part(page), 1)
            page.locator("[data-cy='checkbox-c3']").first.click()
            app.wait_canvas("d.inViewDrawn === '%d'" % args.n, timeout=120000)

            box = page.locator(CANVAS).bounding_box()
            layout = res.layout()
            sample_at = dict(zip(np.asarray(layout["row"]) * cols + np.asarray(layout["col"]),
                                 layout["id"]))
            targets = (cell_pixel(box, rows, cols, layout["row"][j], layout["col"][j])
                       for j in np.linspace(0, args.n - 1, 9).astype(int))
            clicks = []
            for x, y, r, c in targets:
                if r * cols + c in sample_at and len(clicks) < 5:  # not an empty cell
                    clicks.append(page.evaluate(MEASURE_CLICK, [
                        CANVAS, x, y, str(r * cols + c), sample_at[r * cols + c]]))
            out["click_ms"] = round(statistics.median(c["app"] for c in clicks), 1)
            out["click_all_ms"] = [round(c["app"], 1) for c in clicks]
            out["click_drawn_ms"] = round(statistics.median(c["drawn"] for c in clicks), 1)
            page.screenshot(path=os.path.join(cache, "bench-panel.png"))
        finally:
            app.close()
    out["payload_bytes"] = payload_bytes(ds)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
