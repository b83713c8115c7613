"""How well a grid keeps similar images together."""

import numpy as np


def neighbor_label_agreement(cells, labels):
    """Share of 4-adjacent occupied cell pairs whose samples share a label.

    Samples without a label (None) take no part in any pair.

    Args:
        cells: (N, 2) int (row, col)
        labels: N labels

    Returns:
        a float in [0, 1], or nan when there is no labelled adjacent pair
    """
    cells = np.asarray(cells, dtype=np.int64)
    where = {(int(r), int(c)): i for i, (r, c) in enumerate(cells)}
    same = total = 0
    for (r, c), i in where.items():
        for nb in ((r, c + 1), (r + 1, c)):
            j = where.get(nb)
            if j is None or labels[i] is None or labels[j] is None:
                continue
            total += 1
            same += labels[i] == labels[j]
    return same / total if total else float("nan")
