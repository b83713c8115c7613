"""Nothing another local user plants can steer the panel or a run.

Each test sets up what another user of a shared machine could (the suite runs
as root, so it can make folders and files of another uid) and checks that
gridtsne neither writes into it nor believes what it finds there. The paths
and their checks are listed in docs/security.md.
"""

import json
import logging
import os
import time

import numpy as np
import pytest

import gridtsne
from gridtsne.core import celltable, private

OTHER_UID = 4242


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A fresh GRIDTSNE_CACHE for this test, and no fallback remembered."""
    root = tmp_path / "cache"
    root.mkdir(mode=0o700)
    monkeypatch.setenv("GRIDTSNE_CACHE", str(root))
    monkeypatch.setattr(private, "_fallbacks", {})
    return root


def foreign_folder(path):
    """A folder another user made, open to all (mode 0777)."""
    os.makedirs(path, exist_ok=True)
    os.chown(path, OTHER_UID, OTHER_UID)
    os.chmod(path, 0o777)
    return path


def files_in(folder):
    return sorted(os.listdir(folder))


def clear_panel_memory():
    from gridtsne.fo import panel_colors, panel_data

    for cache in (panel_data._runs, panel_data._results, panel_data._masks,
                  panel_colors._colors):
        cache.clear()


def test_a_folder_made_first_by_another_user_is_never_used(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(private, "_fallbacks", {})
    theirs = foreign_folder(str(tmp_path / "theirs"))
    with caplog.at_level(logging.WARNING, logger="gridtsne.core.private"):
        used = private.private_folder(theirs, "panel cache")
        again = private.private_folder(theirs, "panel cache")
    assert used == again != theirs
    assert "belongs to another user" in caplog.text
    assert len([r for r in caplog.records if "does not use" in r.message]) == 1  # said once
    private.write_file(used, "x.cells", b"data")
    assert files_in(theirs) == []
    st = os.stat(used)
    assert st.st_uid == os.geteuid() and st.st_mode & 0o777 == 0o700


@pytest.mark.parametrize("setup, why", [
    ("symlink", "is a symbolic link"),
    ("open", "is open to other users"),
    ("file", "is not a folder"),
    ("open_parent", "is writable by other users"),
])
def test_every_unsafe_folder_is_refused(tmp_path, monkeypatch, setup, why):
    monkeypatch.setattr(private, "_fallbacks", {})
    target = tmp_path / "parent" / "panel"
    target.parent.mkdir(mode=0o700)
    elsewhere = foreign_folder(str(tmp_path / "theirs"))
    if setup == "symlink":
        os.symlink(elsewhere, target)
    elif setup == "open":
        target.mkdir(mode=0o700)
        os.chmod(target, 0o775)  # others in the group may plant files
    elif setup == "file":
        target.write_bytes(b"")
    else:
        os.chmod(target.parent, 0o777)  # others may rename ours away: not sticky
        target.mkdir(mode=0o700)
    with pytest.raises(private.UnsafeFolder, match=why):
        private.check_folder(str(target))
    used = private.private_folder(str(target), "panel cache")
    assert used != str(target) and not used.startswith(str(tmp_path))
    assert files_in(elsewhere) == []


def test_our_folder_that_others_could_only_list_is_closed_and_used(tmp_path):
    ours = tmp_path / "cache"
    ours.mkdir()
    os.chmod(ours, 0o755)  # what an older gridtsne made under umask 022
    assert private.private_folder(str(ours), "model cache") == str(ours)
    assert os.stat(ours).st_mode & 0o777 == 0o700


def test_a_folder_is_made_private_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        made = private.private_folder(str(tmp_path / "a" / "b"), "panel cache")
    finally:
        os.umask(old)
    assert made == str(tmp_path / "a" / "b")
    for folder in (tmp_path / "a", tmp_path / "a" / "b"):
        assert os.stat(folder).st_mode & 0o777 == 0o700


def test_files_are_read_only_when_they_are_ours_and_not_links(tmp_path):
    folder = private.private_folder(str(tmp_path / "p"), "panel cache")
    private.write_file(folder, "mine", b"ours")
    assert private.read_file(os.path.join(folder, "mine")) == b"ours"
    assert os.stat(os.path.join(folder, "mine")).st_mode & 0o777 == 0o600
    (tmp_path / "secret").write_bytes(b"not for us")
    os.symlink(tmp_path / "secret", os.path.join(folder, "link"))
    assert private.read_file(os.path.join(folder, "link")) is None
    theirs = os.path.join(folder, "theirs")
    with open(theirs, "wb") as f:
        f.write(b"planted")
    os.chown(theirs, OTHER_UID, OTHER_UID)
    assert private.read_file(theirs) is None


def true_cells(ds, key="grid"):
    """{cell: sample id} as the dataset says."""
    res = gridtsne.load_grid(ds, key)
    return {r * res.cols + c: i for i, r, c in zip(*ds.values(["id", key + "_row",
                                                               key + "_col"]))}


def cells_in_file(path, n_cells):
    blob = np.fromfile(path, dtype=np.uint8).reshape(n_cells, 12)
    return {k: bytes(o).hex() for k, o in enumerate(blob) if o.any()}


@pytest.mark.parametrize("planted", ["foreign", "symlink"])
def test_a_run_and_its_panel_never_use_a_planted_cache_folder(dataset, tmp_path, cache,
                                                              planted):
    from gridtsne.fo import panel as gpanel

    theirs = foreign_folder(str(tmp_path / "theirs"))
    if planted == "foreign":
        os.rename(theirs, cache / "panel")
        theirs = str(cache / "panel")
    else:
        os.symlink(theirs, cache / "panel")
    res = gridtsne.compute_grid(dataset, key="grid", label_field="ground_truth",
                                output_dir=str(tmp_path / "out"))
    clear_panel_memory()
    grid = gpanel.run_payload(res)
    assert files_in(theirs) == []  # nothing written into their folder
    assert not grid["cells_path"].startswith(theirs)
    assert not os.path.realpath(grid["cells_path"]).startswith(os.path.realpath(theirs))
    assert cells_in_file(grid["cells_path"], res.rows * res.cols) == true_cells(dataset)


def test_a_planted_cell_file_is_ignored_and_rebuilt(dataset, tmp_path, cache):
    from gridtsne.fo import panel as gpanel
    from gridtsne.fo import panel_data

    res = gridtsne.compute_grid(dataset, key="grid", output_dir=str(tmp_path / "out"))
    path = panel_data._cells_path(res)
    n_cells = res.rows * res.cols
    truth = true_cells(dataset)
    assert res.cells_digest == celltable.digest(open(path, "rb").read())
    # the same file size, the samples moved one cell on: clicks would act on others
    cells = sorted(truth)
    planted = {cells[(k + 1) % len(cells)]: truth[c] for k, c in enumerate(cells)}
    private.write_file(os.path.dirname(path), os.path.basename(path), celltable.table(
        celltable.oid_array(planted.values()), list(planted), n_cells))
    clear_panel_memory()
    run = panel_data.panel_run(res)
    assert dict(zip(run.cell.tolist(), run.ids)) == truth
    grid = gpanel.run_payload(res)
    assert cells_in_file(grid["cells_path"], n_cells) == truth


def test_a_run_made_before_digests_reads_its_cells_from_the_database(dataset, tmp_path,
                                                                      cache):
    from gridtsne.fo import panel_data, writer

    res = gridtsne.compute_grid(dataset, key="grid", output_dir=str(tmp_path / "out"))
    writer.update_results(dataset, "grid", res.version, cells_sha256=None)
    res = gridtsne.load_grid(dataset, "grid")
    assert res.cells_digest is None
    path = panel_data._cells_path(res)
    private.write_file(os.path.dirname(path), os.path.basename(path),
                       b"\x01" * (res.rows * res.cols * 12))  # nothing vouches for it
    clear_panel_memory()
    run = panel_data.panel_run(res)
    assert dict(zip(run.cell.tolist(), run.ids)) == true_cells(dataset)


def test_a_colouring_file_of_another_token_is_not_used(dataset, tmp_path, cache):
    from gridtsne.fo import panel_colors, panel_data

    res = gridtsne.compute_grid(dataset, key="grid", label_field="ground_truth",
                                output_dir=str(tmp_path / "out"))
    run = panel_data.panel_run(res)
    truth = panel_colors.color_values(run, res, "ground_truth.label", "categorical")
    folder = panel_data.cache_dir()
    for name in os.listdir(folder):
        if name.endswith(".color"):
            with open(os.path.join(folder, name), "rb") as f:
                stored = json.loads(f.read())
            fake = dict(stored["value"], categories=["planted"] * len(
                stored["value"].get("categories", [])))
            private.write_file(folder, name, json.dumps(
                {"for": "another run", "value": fake}).encode())
    clear_panel_memory()
    assert panel_colors.cached_color_values(run, res, "ground_truth.label",
                                          "categorical") == truth


def test_the_model_cache_is_never_a_planted_folder(tmp_path, cache, monkeypatch):
    from gridtsne.core import embed

    os.rmdir(cache)
    foreign_folder(str(cache))
    path = embed.onnx_model_path()
    assert not path.startswith(str(cache)) and os.path.getsize(path) > 1_000_000
    assert os.listdir(cache) == []


@pytest.mark.browser
def test_the_app_panel_clicks_the_true_sample_beside_a_planted_cell_file(make_dataset,
                                                                        tmp_path, cache):
    """The App server (a process of its own, with this GRIDTSNE_CACHE) finds
    the panel folder replaced by another user's, holding a cells file of the
    expected name that moves every sample one cell on; a click must still
    select the sample drawn under the pointer."""
    from playwright.sync_api import sync_playwright

    from gridtsne.fo import panel_data

    from browser import App, CANVAS, cell_center

    ds = make_dataset()
    ds.persistent = True
    res = gridtsne.compute_grid(ds, key="grid", label_field="ground_truth",
                                output_dir=str(tmp_path / "out"))
    path = panel_data._cells_path(res)
    name = os.path.basename(path)
    truth = true_cells(ds)
    cells = sorted(truth)
    planted = {cells[(k + 1) % len(cells)]: truth[c] for k, c in enumerate(cells)}
    os.rename(os.path.dirname(path), str(tmp_path / "ours-before"))
    theirs = foreign_folder(str(cache / "panel"))
    with open(os.path.join(theirs, name), "wb") as f:
        f.write(celltable.table(celltable.oid_array(planted.values()), list(planted),
                                res.rows * res.cols))
    os.chown(os.path.join(theirs, name), OTHER_UID, OTHER_UID)

    target = ds.sort_by("filepath").first()
    cell = target["grid_row"] * res.cols + target["grid_col"]
    assert planted[cell] != target.id  # the planted file names another sample there
    with sync_playwright() as p:
        app = App(p, ds)
        try:
            app.wait_drawn()
            box = app.page.locator(CANVAS).bounding_box()
            x, y = cell_center(box, res.rows, res.cols, target["grid_row"], target["grid_col"])
            app.page.mouse.click(x, y)
            app.page.wait_for_selector(
                "[data-testid=gridtsne-selection][data-app-selection=%s]"
                % json.dumps(target.id), timeout=20000)
            deadline = time.monotonic() + 20
            while app.session.selected != [target.id] and time.monotonic() < deadline:
                time.sleep(0.05)  # the App hands its selection to Python's session
            assert app.session.selected == [target.id]
        except Exception:
            app.record_failure()
            raise
        finally:
            app.close()
    assert files_in(theirs) == [name]  # the App server wrote nothing into their folder
