"""The run's regions and "Similar images" in the grid_mosaic panel, in the real
App in headless Chromium (see tests/browser.py). One App serves the module's
tests; each test puts back the App state it changed."""

import numpy as np
import pytest
from PIL import Image

import gridtsne

from browser import CANVAS, app_on_a_run, cell_center, shot_rgb

pytestmark = pytest.mark.browser


def pixels(canvas, name):
    with Image.open(shot_rgb(canvas, name + ".png")) as im:
        return np.asarray(im.convert("RGB"), np.int16)


def differ(a, b):
    """Mean absolute difference of two screenshots (a sub-pixel layout shift
    can make them one pixel apart in size)."""
    h, w = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
    return np.abs(a[:h, :w] - b[:h, :w]).mean()


class Shown:
    """The App on a dataset with one run, and what the tests compare with."""

    def __init__(self, app, dataset, res):
        self.app, self.page, self.dataset, self.res = app, app.page, dataset, res
        self.canvas = app.page.locator(CANVAS)
        self.ids = dataset.values("id")
        self.region_of = dict(zip(self.ids, dataset.values("grid_region")))
        self.cell_of = {i: (r, c) for i, r, c in zip(
            self.ids, dataset.values("grid_row"), dataset.values("grid_col"))}

    def regions_mode(self, mode):
        """Clicks the toolbar's regions toggle (off -> outlines -> purity) until ``mode``."""
        for _ in range(3):
            now = (self.app.canvas_data().get("regionsDrawn") or "off").split(":")[0]
            if now == mode:
                break
            self.page.locator("[data-testid=gridtsne-regions-toggle]").click()
            self.app.wait_canvas("(d.regionsDrawn || 'off').split(':')[0] !== %r" % now,
                                 timeout=10000)
        self.app.wait_drawn()


@pytest.fixture(scope="module")
def shown(shapes_dir, tmp_path_factory):
    from conftest import make_dataset_of

    dataset = make_dataset_of(shapes_dir)
    res = gridtsne.compute_grid(dataset, key="grid", label_field="ground_truth",
                                output_dir=str(tmp_path_factory.mktemp("regions-run")))
    for app in app_on_a_run(dataset, res):
        yield Shown(app, dataset, res)


@pytest.fixture
def page_of(shown):
    """Each test starts at fit zoom, on the whole dataset, regions off."""
    shown.app.session.view = None
    shown.app.wait_view(len(shown.ids))
    shown.page.get_by_role("button", name="fit", exact=True).click()
    try:
        yield shown
    except BaseException:
        shown.app.record_failure()
        raise


def test_outlines_and_names_drawn_at_fit_zoom_without_overlaps(page_of):
    s = page_of
    s.regions_mode("off")
    plain = pixels(s.canvas, "regions-off")
    s.regions_mode("outlines")
    named = int(s.app.canvas_data()["regionsDrawn"].split(":")[1])
    # the names placed are those that fit without colliding (regions.js placeNames)
    assert 1 <= named <= len(s.res.regions)
    assert differ(pixels(s.canvas, "regions-outlines"), plain) > 1.0


def test_region_list_names_every_region_with_its_count_and_share(page_of):
    s = page_of
    s.regions_mode("outlines")
    assert s.page.locator("[data-testid=gridtsne-region]").count() == len(s.res.regions)
    listed = s.page.locator("[data-testid=gridtsne-regions]").inner_text()
    for region in s.res.regions:
        assert region["name"] in listed and str(region["count"]) in listed


def test_purity_tint_differs_from_the_outlines(page_of):
    s = page_of
    s.regions_mode("outlines")
    outlined = pixels(s.canvas, "regions-outlines-again")
    s.regions_mode("purity")
    assert differ(pixels(s.canvas, "regions-purity"), outlined) > 1.0


def test_a_region_entry_selects_its_samples(page_of):
    s = page_of
    s.regions_mode("outlines")
    first = s.res.regions[0]
    s.page.locator("[data-testid=gridtsne-region-select-%d]" % first["id"]).click()
    members = sorted(i for i in s.ids if s.region_of[i] == first["id"])
    s.page.wait_for_selector("[data-testid=gridtsne-selection][data-app-selection='%s']"
                             % ",".join(members), state="attached", timeout=30000)
    s.page.locator("[data-testid=gridtsne-clear-selection]").click()


def test_a_region_entry_makes_its_samples_the_view(page_of):
    s = page_of
    s.regions_mode("outlines")
    last = s.res.regions[-1]
    s.page.locator("[data-testid=gridtsne-region-filter-%d]" % last["id"]).click()
    s.app.wait_view(last["count"])
    assert sorted(s.app.session.view.values("id")) == sorted(
        i for i in s.ids if s.region_of[i] == last["id"])


def test_names_fade_when_zoomed_into_cells(page_of):
    s = page_of
    s.regions_mode("purity")
    for _ in range(6):
        s.page.locator("[data-testid=gridtsne-zoom-in]").click()
    s.app.wait_canvas("d.regionsDrawn === 'purity:0'")
    s.page.get_by_role("button", name="fit", exact=True).click()
    s.app.wait_canvas("d.regionsDrawn && d.regionsDrawn !== 'purity:0'")


def test_similar_images_rings_the_indexs_nearest_and_makes_them_the_view(page_of):
    s = page_of
    query = s.ids[0]
    near = gridtsne.similar_samples(s.dataset, "grid", query, k=10)
    box = s.canvas.bounding_box()
    x, y = cell_center(box, s.res.rows, s.res.cols, *s.cell_of[query])
    s.page.mouse.click(x, y, button="right")
    s.page.locator("[data-testid=gridtsne-similar-images]").click()
    cols = s.res.cols
    expected = sorted(s.cell_of[i][0] * cols + s.cell_of[i][1] for i in near)
    s.app.wait_canvas("d.similarDrawn && d.similarDrawn.split(',').length === 10")
    drawn = sorted(int(c) for c in s.app.canvas_data()["similarDrawn"].split(","))
    assert drawn == expected
    s.page.locator("[data-testid=gridtsne-similar-to-view]").click()
    s.app.wait_view(11)
    assert set(s.app.session.view.values("id")) == set(near) | {query}
