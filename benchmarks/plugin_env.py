"""This repository as the FiftyOne plugin of the benchmark's process (and of
the App or workers it starts), without touching the user's plugins folder."""

import os
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def use_this_plugin():
    os.environ.setdefault("FIFTYONE_DO_NOT_TRACK", "true")
    plugins = tempfile.mkdtemp(prefix="gridtsne-bench-plugins-")
    os.symlink(REPO, os.path.join(plugins, "gridtsne"))
    os.environ["FIFTYONE_PLUGINS_DIR"] = plugins
