"""A similarity index per run, over the embeddings the run already has.

Every grid run of samples registers fiftyone-brain's ``compute_similarity``
with its stored vectors and the sklearn backend (offline: no model, nothing
embedded twice), as brain run ``{key}_sim``. The App's "sort by similarity"
and ``view.sort_by_similarity(id, brain_key=...)`` then work on the run's
samples at once. The index is made right after the run's atomic write: it is a
convenience beside the run, so a failure there is logged and costs only the
index (``similarity_key`` in the results says whether it exists).
"""

import logging

import numpy as np

from gridtsne.fo import fieldpaths, items

logger = logging.getLogger(__name__)
SUFFIX = "_sim"
# Vectors a run got as an array (no field holds them) go into the index's own
# results, which FiftyOne serialises slowly (docs/benchmarks.md#similarity):
# above this many numbers the run asks for a field instead of storing them.
ARRAY_AT_MOST = 20_000_000


def index_key(key):
    return key + SUFFIX


def owned_key(dataset, key):
    """The similarity brain key run ``key`` made, or None."""
    try:
        results = dataset.load_run_results(key, cache=False, load_view=False)
    except Exception:
        return None
    return getattr(results, "similarity_key", None)


def index_run(dataset, key, its, embeddings_field=None, features=None, previous=None):
    """Builds (or rebuilds) run ``key``'s index; returns its brain key or None.

    ``previous``: the index key the run had before this write (only an index
    the run made is ever replaced; a user's brain run of that name is kept).
    """
    import fiftyone.brain as fob

    if its.kind != items.SAMPLES:
        return None  # objects and frames: no per-sample vectors to index
    brain_key = index_key(key)
    existing = brain_key in dataset.list_brain_runs()
    if existing and previous != brain_key:
        logger.warning("Brain run %r exists and is not grid run %r's: no similarity index "
                       "was made for it", brain_key, key)
        return None
    view = dataset.select(its.ids, ordered=True)
    if embeddings_field and fieldpaths.exists(dataset, embeddings_field):
        embeddings = embeddings_field
    elif features is not None:
        embeddings = np.asarray(features, dtype=np.float32)
        if embeddings.size > ARRAY_AT_MOST:
            logger.info("Run %r has no similarity index: its %d x %d embeddings were passed "
                        "as an array; pass them as a field (embeddings=\"name\") to get one",
                        key, *embeddings.shape)
            return None
    else:
        return None
    if existing:
        dataset.delete_brain_run(brain_key)
    brain_log = logging.getLogger("fiftyone.brain")
    level = brain_log.level
    brain_log.setLevel(logging.WARNING)  # it logs its progress at INFO
    try:
        fob.compute_similarity(view, embeddings=embeddings, brain_key=brain_key,
                               backend="sklearn", metric="cosine", progress=False)
    finally:
        brain_log.setLevel(level)
    return brain_key


def index_saved_run(dataset, key, its, embeddings_field, features, previous):
    """:func:`index_run` for a run just saved: a failure is logged, never raised."""
    try:
        return index_run(dataset, key, its, embeddings_field, features, previous)
    except Exception as e:
        logger.warning("Run %r was saved, but its similarity index could not be made: %s",
                       key, e)
        return None


def remove(dataset, key):
    brain_key = owned_key(dataset, key)
    if brain_key and brain_key in dataset.list_brain_runs():
        dataset.delete_brain_run(brain_key)


def renamed(dataset, key, new_key, results):
    """Renames run ``key``'s index along with it (``results``: the run's
    stored results, saved by the caller)."""
    brain_key = getattr(results, "similarity_key", None)
    if brain_key and brain_key in dataset.list_brain_runs():
        new = index_key(new_key)
        if new in dataset.list_brain_runs():
            dataset.delete_brain_run(brain_key)  # a name taken: the index goes, the run stays
            results.similarity_key = None
        else:
            dataset.rename_brain_run(brain_key, new)
            results.similarity_key = new


def similar_samples(samples, key, sample_id, k=10):
    """The ids of the ``k`` samples most similar to ``sample_id`` in run
    ``key``'s index (the query itself left out), most similar first."""
    dataset = samples._root_dataset
    return nearest(dataset, key, owned_key(dataset, key), sample_id, k)


def nearest(dataset, key, brain_key, sample_id, k=10):
    """:func:`similar_samples` with the run's index key already known (the
    panel has it from the run's results; reading them again per query costs
    the regions' cell lists too)."""
    from gridtsne.config import GridError

    if not brain_key or brain_key not in dataset.list_brain_runs():
        raise GridError("Grid run %r has no similarity index (compute it again to make one)"
                        % key)
    ids = dataset.sort_by_similarity(sample_id, k=k + 1, brain_key=brain_key).values("id")
    return [i for i in ids if i != sample_id][:k]
