"""The run's regions and "Similar images" in the grid_mosaic panel, in the real
App in headless Chromium (see tests/browser.py)."""

import numpy as np
import pytest
from PIL import Image

import gridtsne

from browser import CANVAS, App, cell_center, shot_rgb

pytestmark = pytest.mark.browser


def pixels(canvas, name):
    with Image.open(shot_rgb(canvas, name + ".png")) as im:
        return np.asarray(im.convert("RGB"), np.int16)


def differ(a, b):
    """Mean absolute difference of two screenshots (a sub-pixel layout shift
    can make them one pixel apart in size)."""
    h, w = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
    return np.abs(a[:h, :w] - b[:h, :w]).mean()


def test_regions_overlay_list_purity_and_similar_images(dataset, tmp_path):
    from playwright.sync_api import sync_playwright

    res = gridtsne.compute_grid(dataset, key="grid", label_field="ground_truth",
                                output_dir=str(tmp_path))
    regions = res.regions
    ids = dataset.values("id")
    region_of = dict(zip(ids, dataset.values("grid_region")))
    cell_of = {i: (r, c) for i, r, c in zip(ids, dataset.values("grid_row"),
                                             dataset.values("grid_col"))}
    with sync_playwright() as p:
        app = App(p, dataset)
        try:
            page = app.page
            app.wait_text("gridtsne-summary", "grid: 6 x 7, 40 samples")
            app.wait_drawn()
            canvas = page.locator(CANVAS)
            toggle = page.locator("[data-testid=gridtsne-regions-toggle]")
            plain = pixels(canvas, "regions-off")

            # outlines and names, at fit zoom, none overlapping
            toggle.click()
            app.wait_canvas("d.regionsDrawn && d.regionsDrawn.startsWith('outlines:')")
            app.wait_drawn()
            named = int(app.canvas_data()["regionsDrawn"].split(":")[1])
            assert 1 <= named <= len(regions)
            outlined = pixels(canvas, "regions-outlines")
            assert differ(outlined, plain) > 1.0
            assert page.locator("[data-testid=gridtsne-region]").count() == len(regions)
            names = page.locator("[data-testid=gridtsne-regions]").inner_text()
            assert all(e["name"] in names for e in regions)

            # coloured by purity: the tint differs from the outlines alone
            toggle.click()
            app.wait_canvas("d.regionsDrawn && d.regionsDrawn.startsWith('purity:')")
            app.wait_drawn()
            tinted = pixels(canvas, "regions-purity")
            assert differ(tinted, outlined) > 1.0

            # a region's entry selects its samples, another makes its samples the view
            first, last = regions[0], regions[-1]
            page.locator("[data-testid=gridtsne-region-select-%d]" % first["id"]).click()
            members = sorted(i for i in ids if region_of[i] == first["id"])
            page.wait_for_selector("[data-testid=gridtsne-selection][data-app-selection='%s']"
                                   % ",".join(members), state="attached", timeout=30000)
            page.locator("[data-testid=gridtsne-region-filter-%d]" % last["id"]).click()
            app.wait_view(last["count"])

            # names fade out when zoomed into cells
            page.locator("[data-testid=gridtsne-region-filter-%d]" % first["id"]).click()
            app.wait_view(first["count"])
            for _ in range(6):
                page.locator("[data-testid=gridtsne-zoom-in]").click()
            app.wait_canvas("d.regionsDrawn === 'purity:0'")
            page.get_by_role("button", name="fit", exact=True).click()
            app.wait_canvas("d.regionsDrawn && d.regionsDrawn !== 'purity:0'")

            # a cell's context menu: its nearest neighbours by the run's index, ringed
            query = ids[0]
            near = gridtsne.similar_samples(dataset, "grid", query, k=10)
            box = canvas.bounding_box()
            x, y = cell_center(box, res.rows, res.cols, *cell_of[query])
            page.mouse.click(x, y, button="right")
            page.locator("[data-testid=gridtsne-similar-images]").click()
            cols = res.cols
            expected = sorted(cell_of[i][0] * cols + cell_of[i][1] for i in near)
            app.wait_canvas("d.similarDrawn && d.similarDrawn.split(',').length === 10")
            drawn = sorted(int(c) for c in app.canvas_data()["similarDrawn"].split(","))
            assert drawn == expected
            page.locator("[data-testid=gridtsne-similar-to-view]").click()
            app.wait_view(11)
        except BaseException:
            app.record_failure()
            raise
        finally:
            app.close()
