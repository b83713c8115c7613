"""The docs' before/after pictures of the panel (docs/panel.md), made in the
real App on recaptcha-dev (scikit-learn's digits when it is absent).

Saves, as assets/panel-<name>-<what>.jpg: a view of 6 samples under colour by
label (dimming), colour by none, and the panel at a narrow width. Run it on
the panel's current bundle (``--name after``), or with an older
``dist/index.umd.js`` in place for ``--name before``.

    .venv/bin/python scripts/polish_shots.py --name after [--cache /tmp/benchcache]
"""

import argparse
import io
import os
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests"))
sys.path.insert(0, os.path.join(REPO, "benchmarks"))

from plugin_env import use_this_plugin  # noqa: E402 (found through the path above)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--name", required=True, help="before or after")
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "benchcache"))
    args = ap.parse_args(argv)
    use_this_plugin()

    import fiftyone as fo
    from PIL import Image
    from playwright.sync_api import sync_playwright

    from bench_layout import dataset_features
    from bench_similarity import _paths
    from browser import App

    import gridtsne

    name, feats, labels = dataset_features(args.cache)[0]
    ds = fo.Dataset()
    ds.add_samples([fo.Sample(filepath=p, ground_truth=fo.Classification(label=l))
                    for p, l in zip(_paths(name), labels)], progress=False)

    def save(app, what):
        png = app.page.locator("[data-testid=gridtsne-view]").screenshot()
        Image.open(io.BytesIO(png)).convert("RGB").save(
            os.path.join(REPO, "assets", "panel-%s-%s.jpg" % (args.name, what)), quality=85)

    try:
        res = gridtsne.compute_grid(ds, key="grid", embeddings=feats, label_field="ground_truth",
                                    output_dir=tempfile.mkdtemp(prefix="gridtsne-shots-"),
                                    cell_px=32, progress=False)
        with sync_playwright() as p:
            app = App(p, ds)
            try:
                app.wait_text("gridtsne-summary", "grid: %d x %d" % (res.rows, res.cols))
                app.wait_drawn()
                app.session.view = ds.take(6, seed=1)
                app.wait_view(6)
                app.wait_drawn()
                save(app, "view6")
                app.session.view = None
                app.wait_view(len(ds))
                app.page.select_option("[data-testid=gridtsne-color-by]", "")
                app.wait_canvas("(d.colorDrawn || '') === ''")
                app.wait_drawn()
                save(app, "colour-none")
                app.page.set_viewport_size({"width": 1000, "height": 1000})
                app.wait_drawn()
                save(app, "narrow")
            finally:
                app.close()
    finally:
        ds.delete()


if __name__ == "__main__":
    main()
