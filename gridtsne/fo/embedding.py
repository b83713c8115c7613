"""The embeddings of a run's items: passed in, read, reused or computed.

A run gets its vectors from an array, from a field, from a field another grid
run computed with the same model (reused, not computed twice), or computes
them: with the default embedder (files decoded here, objects cropped,
finished batches kept on disk so a stopped run resumes), or with another model
through FiftyOne.
"""

import logging
import os

import numpy as np

from gridtsne.core import embed as core_embed
from gridtsne.core import images as core_images
from gridtsne.fo import files, items, runs
from gridtsne.fo import model as gmodel
from gridtsne.fo.plan import vectors_from_values

logger = logging.getLogger(__name__)


class Vectors:
    """The embeddings of the kept items and where they come from."""

    def __init__(self, features, kept, failed=(), source=None, field=None, store=False,
                 model=None, features_tag=None, thumbs=None):
        self.features, self.kept, self.failed = features, kept, list(failed)
        self.source, self.field, self.store = source, field, store
        self.model, self.features_tag = model, features_tag
        # per kept item, the duplicates' thumbnails of the image as it was
        # decoded for its embedding (None where it was not decoded here)
        self.thumbs = thumbs


def for_run(plan, its, keep, stages):
    """The embeddings of the items ``keep`` of a new run: from an array, a
    field, a grid run's reusable field, or computed (see :func:`embed_items`)."""
    config = plan.config
    kept = items.subset(its, keep)
    if plan.array is not None:
        return Vectors(plan.array[keep], keep, source=runs.ARRAY)
    if config.embeddings is not None:
        field = plan.path(config.embeddings)
        features = vectors_from_values(items.values(plan.samples, its, field, keep), kept.ids,
                                       kept.filepaths, field)
        return Vectors(features, keep, source=_field_source(plan, field), field=field)

    name = gmodel.model_name(plan.model_spec)
    tag = gmodel.features_tag(plan.model_spec, config.precision)
    for field in plan.reusable_fields:
        values = items.values(plan.samples, its, field, keep)
        if all(v is not None for v in values):
            features = vectors_from_values(values, kept.ids, kept.filepaths, field)
            logger.info("Re-using the %s embeddings in field %r", name, field)
            return Vectors(features, keep, source=_field_source(plan, field), field=field,
                            model=name, features_tag=tag)

    cache_dir = os.path.join(plan.run_dir, files.CACHE_DIR)
    thumbs = [None] * len(keep)
    on_image = _thumbnails_into(thumbs) if config.curation else None
    if plan.shard_run:
        features, bad = _from_shards(plan, kept, stages, cache_dir)
    else:
        features, bad = embed_items(plan.samples, kept, config, plan.model_spec, stages,
                                     cache_dir=cache_dir, on_image=on_image)
    failed = [items.skipped(kept, j, reason) for j, reason in sorted(bad.items())]
    good = [j for j in range(len(keep)) if j not in bad]
    return Vectors(features[good], [keep[j] for j in good], failed, source=runs.COMPUTED,
                    field=plan.path(config.store_embeddings_in), store=True, model=name,
                    features_tag=tag, thumbs=[thumbs[j] for j in good])


def _thumbnails_into(thumbs):
    """``on_image`` for embed_files: keeps each decoded image's duplicates
    thumbnails, so curation does not decode every image a second time."""
    from gridtsne.core import duplicates

    def keep(i, img):
        thumbs[i] = duplicates.thumbnails(img)

    return keep


def _from_shards(plan, kept, stages, cache_dir):
    """The vectors the shards of ``plan.shard_run`` made; items added to the
    view since it was queued are embedded here."""
    from gridtsne.fo import shards

    features, bad, missing = shards.gathered(plan.shard_run, kept.ids)
    if missing:
        logger.info("Embedding %d samples added since the sharded run was queued",
                    len(missing))
        more, more_bad = embed_items(plan.samples, items.subset(kept, missing), plan.config,
                                     plan.model_spec, stages, cache_dir=cache_dir,
                                     int8_model=shards.int8_model(plan.shard_run))
        features[missing] = more
        bad.update((missing[j], reason) for j, reason in more_bad.items())
    return features, bad


def embed_items(samples, its, config, model_spec, stages, cache_dir=None, int8_model=None,
                on_image=None):
    """(features, {index: reason}) of ``its`` with the default embedder (files
    decoded here, objects cropped, resumable through ``cache_dir``; int8: the
    model file ``int8_model`` when given) or another model through FiftyOne."""
    n = len(its.ids)
    if gmodel.is_default(model_spec):
        with stages.stage("embed", total=n) as update:
            return core_embed.embed_files(
                its.filepaths, batch_size=config.batch_size, num_workers=config.num_workers,
                cache_dir=cache_dir, max_pixels=config.max_pixels, boxes=its.boxes,
                precision=config.precision, int8_model=int8_model, on_image=on_image,
                progress=lambda fraction: update(round(fraction * n)))
    model = gmodel.model_from_spec(model_spec)
    with stages.stage("embed", total=n) as update:
        progress = gmodel.forward_progress(update, n)
        if its.kind == items.LABELS:
            field = its.list_path.rsplit(".", 1)[0]
            by_sample = samples.select(list(dict.fromkeys(its.sample_ids)), ordered=True) \
                .compute_patch_embeddings(model, field, alpha=config.patch_context,
                                          batch_size=config.batch_size, skip_failures=True,
                                          progress=progress)
            vectors = _per_label(samples, its, field, by_sample)
        else:
            view = samples.select(its.ids, ordered=True)
            vectors = list(view.compute_embeddings(
                model, batch_size=config.batch_size, skip_failures=True,
                num_workers=config.num_workers if config.num_workers is not None else 0,
                progress=progress))
    bad = {}
    good = [v for v in vectors if v is not None]
    features = np.zeros((n, len(np.ravel(good[0])) if good else 0), np.float32)
    for j, v in enumerate(vectors):
        if v is None:
            bad[j] = (core_images.check_image(its.filepaths[j])
                      or _decode_reason(its.filepaths[j]) or "the model failed on this image")
        else:
            features[j] = np.ravel(v)
    return features, bad


def _per_label(samples, its, field, by_sample):
    """FiftyOne's {sample id: (labels, D) array} as one vector per item."""
    order = {}
    for sid, lids in zip(*samples.select(list(by_sample)).values(
            ["id", its.list_path + ".id"])):
        order.update({lid: (sid, k) for k, lid in enumerate(lids or [])})
    out = []
    for lid in its.ids:
        sid, k = order.get(lid, (None, None))
        arr = by_sample.get(sid)
        out.append(None if arr is None or k is None or k >= len(arr) else arr[k])
    return out


def _field_source(plan, field):
    """Whose is the field a run reads: a grid run's computed embeddings are
    shared (REUSED), or inherited when the run that computed them is the one
    being replaced (COMPUTED); anything else is the user's (FIELD)."""
    existing = runs.record(plan.dataset, plan.config.key)
    if existing is not None and field in existing.owned_fields():
        return runs.COMPUTED
    return runs.REUSED if field in plan.reusable_fields else runs.FIELD


def _decode_reason(path):
    try:
        core_images.load_rgb(path)
    except core_images.BadImageError as e:
        return str(e)
    return None


def for_new_items(dataset, run, new, keep, stages):
    """(features, kept positions, failures) of the new items ``keep``, got as
    the run got its own: read from its field, or computed with its model."""
    record = run.record
    kept = items.subset(new, keep)
    if record.embeddings_source == runs.FIELD:
        view = dataset.select(kept.ids, ordered=True)
        return (vectors_from_values(view.values(record.embeddings_field), kept.ids,
                                    kept.filepaths, record.embeddings_field), keep, [])
    features, bad = embed_items(dataset, kept, run.options, record.model, stages)
    failed = [items.skipped(kept, j, r) for j, r in sorted(bad.items())]
    good = [j for j in range(len(keep)) if j not in bad]
    return features[good], [keep[j] for j in good], failed
