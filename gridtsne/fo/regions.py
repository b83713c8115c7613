"""A run's regions as its results keep them, and what names them without labels
(the regions themselves: gridtsne.core.regions)."""

from gridtsne.fo import items


def classifier(features_tag):
    """Names regions by the default network's ImageNet classes, when the
    vectors are that network's (other models' vectors mean nothing to its
    classifier); None otherwise."""
    if not features_tag:
        return None
    from gridtsne.core.network import imagenet_names

    return imagenet_names


def stored(its, layout):
    """The layout's regions with the representative as a sample id (for
    objects, its sample's, and the object as ``representative_label``)."""
    if not layout.regions:
        return None
    ids = its.sample_ids if its.kind == items.LABELS else its.ids
    out = []
    for entry in layout.regions:
        kept = dict(entry, representative=ids[entry["representative"]])
        if its.kind == items.LABELS:
            kept["representative_label"] = its.ids[entry["representative"]]
        out.append(kept)
    return out


EMPTY = 255  # a grid cell without a region, in the panel's map


def panel_payload(results):
    """The run's regions for the panel: one byte per grid cell (its region,
    EMPTY for none) as base64, and the entries without their cell lists."""
    import base64

    import numpy as np

    regions = results.regions
    if not regions or len(regions) >= EMPTY:
        return None
    grid = np.full(results.rows * results.cols, EMPTY, np.uint8)
    for entry in regions:
        cells = np.asarray(entry["cells"], np.int64).reshape(-1, 2)
        grid[cells[:, 0] * results.cols + cells[:, 1]] = entry["id"]
    keep = ("id", "name", "count", "label", "label_share", "centre", "representative")
    return {"map": base64.b64encode(grid.tobytes()).decode("ascii"),
            "entries": [{k: e.get(k) for k in keep} for e in regions]}
