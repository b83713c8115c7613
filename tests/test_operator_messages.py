"""Every curation operator, run from the App's operator browser as a user
runs it (headless Chromium, see tests/browser.py), says what it changed."""

import pytest

from browser import app_on_shapes, run_operator

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app(shapes_dir, tmp_path_factory):
    for app, dataset, res in app_on_shapes(shapes_dir, str(tmp_path_factory.mktemp("messages")),
                                           cell_px=32):
        app.dataset, app.res = dataset, res
        yield app


def said(page, text):
    """Until the App shows a notification holding ``text``."""
    page.get_by_text(text).first.wait_for(timeout=60000)


def test_relabel_and_undo_say_how_many(app):
    page, res = app.page, app.res
    app.click_cells(res.rows, res.cols, list(app.dataset.sort_by("filepath"))[:2])

    run_operator(page, "relabel the selected")
    form = page.locator("[role=dialog]").last
    form.get_by_text("for the 2 selected samples").wait_for(timeout=30000)
    # the App marks every field "Required property" until the form's first
    # values come back; then none is (the label opens on the selection's own)
    page.wait_for_function("() => !document.querySelector('[role=dialog]:last-of-type')"
                           ".innerText.includes('Required property')", timeout=10000)
    box_input = form.locator("input[role=combobox]").first
    box_input.fill("zebra")
    page.keyboard.press("Tab")  # a new class: typed, not picked from the list
    page.get_by_role("button", name="Execute").click()
    said(page, "Relabelled 2 samples 'zebra'")
    app.dataset.reload()
    assert sorted(app.dataset.match_tags("relabelled").values("ground_truth.label")) == [
        "zebra", "zebra"]

    run_operator(page, "undo relabelling")
    page.get_by_text("Puts back the previous label of 2 relabelled items").wait_for(
        timeout=30000)
    page.get_by_role("button", name="Execute").click()
    said(page, "Put back the previous label of 2 items")
    app.dataset.reload()
    assert "zebra" not in app.dataset.distinct("ground_truth.label")


def test_diverse_subset_and_duplicates_say_what_they_did(app):
    page = app.page
    run_operator(page, "pick a diverse subset")
    page.get_by_role("button", name="Execute").click()
    said(page, "The view is a diverse subset of")
    app.wait_view(min(100, len(app.dataset)))
    app.session.view = None
    app.wait_view(len(app.dataset))

    run_operator(page, "show or tag near-duplicates")
    page.get_by_role("button", name="Execute").click()
    said(page, "samples in near-duplicate groups")
