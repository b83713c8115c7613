"""The panel's plain JavaScript (js/src/predict.js, viewer.js, cells.js, regions.js), under Node's
own test runner (js/test/); the browser tests drive the same code in the App."""

import os
import shutil
import subprocess

import pytest

JS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "js")


def test_the_panels_javascript_under_node():
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed (only these unit tests and `make js` need it)")
    major = int(subprocess.run([node, "--version"], capture_output=True, text=True)
                .stdout.strip().lstrip("v").split(".")[0])
    if major < 18:
        pytest.skip("node --test needs Node.js 18 or newer, not %d" % major)
    done = subprocess.run([node, "--test", "test/"], cwd=JS, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "# fail 0" in done.stdout
