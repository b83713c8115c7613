"""The docs' pictures of the panel, made in the real App.

Lays out recaptcha-dev (../shared/data/recaptcha-dev, or scikit-learn's digits
when it is absent) on its cached embeddings with its folder labels and opens
the grid_mosaic panel in headless Chromium. By default it saves the panel with
region outlines and names, then coloured by purity, as
assets/regions-outlines.jpg and assets/regions-purity.jpg, and prints the
run's regions as JSON. With ``--panel NAME`` it saves docs/panel.md's
pictures as assets/panel-NAME-<what>.jpg: a view of 6 samples (dimming),
colour by none, and a narrow panel (``--panel before`` with an older
``dist/index.umd.js`` in place).

    .venv/bin/python scripts/screenshots.py [--panel after] [--cache /tmp/benchcache]
"""

import argparse
import io
import json
import os
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests"))
sys.path.insert(0, os.path.join(REPO, "benchmarks"))

from plugin_env import use_this_plugin  # noqa: E402 (found through the path above)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "benchcache"))
    ap.add_argument("--panel", metavar="NAME", help="docs/panel.md's pictures, named NAME")
    args = ap.parse_args(argv)
    use_this_plugin()

    import fiftyone as fo
    from PIL import Image
    from playwright.sync_api import sync_playwright

    from bench_similarity import _paths
    from bench_layout import dataset_features
    from browser import App

    import gridtsne

    name, feats, labels = dataset_features(args.cache)[0]
    ds = fo.Dataset()
    ds.add_samples([fo.Sample(filepath=p, ground_truth=fo.Classification(label=l))
                    for p, l in zip(_paths(name), labels)], progress=False)

    def save(app, picture):
        png = app.page.locator("[data-testid=gridtsne-view]").screenshot()
        Image.open(io.BytesIO(png)).convert("RGB").save(
            os.path.join(REPO, "assets", picture + ".jpg"), quality=85)

    try:
        res = gridtsne.compute_grid(ds, key="grid", embeddings=feats, label_field="ground_truth",
                                    output_dir=tempfile.mkdtemp(prefix="gridtsne-shots-"),
                                    cell_px=32, progress=False)
        if not args.panel:
            print(json.dumps([{k: e[k] for k in ("name", "count", "label_share")}
                              for e in res.regions]))
        with sync_playwright() as p:
            app = App(p, ds)
            try:
                app.wait_text("gridtsne-summary", "grid: %d x %d" % (res.rows, res.cols))
                app.wait_drawn()
                if args.panel:
                    panel_pictures(app, ds, lambda what: save(app, "panel-%s-%s" % (
                        args.panel, what)))
                else:
                    region_pictures(app, lambda mode: save(app, "regions-" + mode))
            finally:
                app.close()
    finally:
        ds.delete()


def region_pictures(app, save):
    toggle = app.page.locator("[data-testid=gridtsne-regions-toggle]")
    for mode in ("outlines", "purity"):
        toggle.click()
        app.wait_canvas("d.regionsDrawn && d.regionsDrawn.startsWith('%s:')" % mode)
        app.wait_drawn()
        save(mode)


def panel_pictures(app, ds, save):
    app.session.view = ds.take(6, seed=1)
    app.wait_view(6)
    app.wait_drawn()
    save("view6")
    app.session.view = None
    app.wait_view(len(ds))
    app.page.select_option("[data-testid=gridtsne-color-by]", "")
    app.wait_canvas("(d.colorDrawn || '') === ''")
    app.wait_drawn()
    save("colour-none")
    app.page.set_viewport_size({"width": 1000, "height": 1000})
    app.wait_drawn()
    save("narrow")


if __name__ == "__main__":
    main()
