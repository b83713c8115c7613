"""Field paths a run writes: sample fields, label attributes and frame fields.

A grid run lays out samples, the objects of a label field (its fields are
then attributes of each label: ``ground_truth.detections.grid_row``) or the
frames of videos (``frames.grid_row``). The writer and the run classes handle
all three through these helpers, which turn a path into FiftyOne's own calls.
"""

FRAMES = "frames."


def is_frame_path(path):
    return path.startswith(FRAMES)


def exists(dataset, path):
    if is_frame_path(path):
        return path[len(FRAMES):] in (dataset.get_frame_field_schema(flat=True) or {})
    return path in dataset.get_field_schema(flat=True)


def rename(dataset, mapping):
    """Renames ``{path: new path}``. All of them in one call, as every rename
    rewrites every sample, however many fields it moves."""
    samples = {p: q for p, q in mapping.items() if not is_frame_path(p)}
    frames = {p[len(FRAMES):]: q[len(FRAMES):] for p, q in mapping.items() if is_frame_path(p)}
    if samples:
        dataset.rename_sample_fields(samples)
    if frames:
        dataset.rename_frame_fields(frames)


def delete(dataset, paths):
    """Deletes the paths that exist (idempotent), in one call (see :func:`rename`);
    a path inside another one deleted goes with it."""
    paths = [p for p in dict.fromkeys(paths) if exists(dataset, p)]
    paths = [p for p in paths if not any(p.startswith(q + ".") for q in paths)]
    samples = [p for p in paths if not is_frame_path(p)]
    frames = [p[len(FRAMES):] for p in paths if is_frame_path(p)]
    if samples:
        dataset.delete_sample_fields(samples)
    if frames:
        dataset.delete_frame_fields(frames)


def add(dataset, path, ftype):
    if is_frame_path(path):
        dataset.add_frame_field(path[len(FRAMES):], ftype)
    else:
        dataset.add_sample_field(path, ftype)


def sibling(path, prefix):
    """``path`` with ``prefix`` before its last part: a.b.c -> a.b.<prefix>c."""
    head, _, leaf = path.rpartition(".")
    return (head + "." if head else "") + prefix + leaf


def leaf(path):
    return path.rpartition(".")[2]


def all_paths(dataset):
    """Every sample path (nested ones included) and frame path of the dataset."""
    out = list(dataset.get_field_schema(flat=True))
    frames = dataset.get_frame_field_schema(flat=True)
    if frames:
        out += [FRAMES + p for p in frames]
    return out
