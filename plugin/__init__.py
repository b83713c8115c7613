"""The FiftyOne plugin ``@gridtsne/gridded-tsne`` (see fiftyone.yml).

Only registration lives here; operators and the panel are in
:mod:`gridtsne.fo.app` and :mod:`gridtsne.fo.panel`.
"""

import os
import sys

try:
    import gridtsne  # noqa: F401
except ImportError:  # plugin folder used without `pip install`: the package is beside it
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from gridtsne.fo.app import OPERATORS  # noqa: E402
from gridtsne.fo.panel import GridMosaicPanel  # noqa: E402


def register(p):
    for cls in OPERATORS:
        p.register(cls)
    p.register(GridMosaicPanel)
