"""The README's pictures of the panel's regions, made in the real App.

Lays out recaptcha-dev (../shared/data/recaptcha-dev, or scikit-learn's digits
when it is absent) on its cached embeddings with its folder labels, opens the
grid_mosaic panel in headless Chromium and saves the panel with region outlines
and names, then coloured by purity, as assets/regions-outlines.jpg and
assets/regions-purity.jpg. Prints the run's regions as JSON.

    .venv/bin/python scripts/screenshots.py [--cache /tmp/benchcache]
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
    try:
        res = gridtsne.compute_grid(ds, key="grid", embeddings=feats, label_field="ground_truth",
                                    output_dir=tempfile.mkdtemp(prefix="gridtsne-shots-"),
                                    cell_px=32, progress=False)
        print(json.dumps([{k: e[k] for k in ("name", "count", "label_share")}
                          for e in res.regions]))
        with sync_playwright() as p:
            app = App(p, ds)
            try:
                app.wait_text("gridtsne-summary", "grid: %d x %d" % (res.rows, res.cols))
                toggle = app.page.locator("[data-testid=gridtsne-regions-toggle]")
                for mode in ("outlines", "purity"):
                    toggle.click()
                    app.wait_canvas("d.regionsDrawn && d.regionsDrawn.startsWith('%s:')" % mode)
                    app.wait_drawn()
                    png = app.page.locator("[data-testid=gridtsne-view]").screenshot()
                    Image.open(io.BytesIO(png)).convert("RGB").save(
                        os.path.join(REPO, "assets", "regions-%s.jpg" % mode), quality=85)
            finally:
                app.close()
    finally:
        ds.delete()


if __name__ == "__main__":
    main()
