"""The default embedder as a FiftyOne model.

Wrapping the network in FiftyOne's ``TorchImageModel`` gives users
``compute_embeddings``/``apply_model`` with it, and gives the pipeline
FiftyOne's batching, data loaders and progress bars for free.
"""

import fiftyone.utils.torch as fout

from gridtsne.core import embed

DEFAULT_MODEL_NAME = "efficientnet-lite0"


def load_model(device=None, batch_size=None):
    """EfficientNet-Lite0 (ImageNet) as a FiftyOne model.

    ``compute_embeddings`` yields its 1280-d pooled features and
    ``apply_model`` its ImageNet classifications. Nothing is downloaded.
    """
    config = fout.TorchImageModelConfig(
        {
            "entrypoint_fcn": "gridtsne.core.embed.load_efficientnet_lite0",
            "transforms_fcn": "gridtsne.core.embed.make_transforms",
            "ragged_batches": False,
            "embeddings_layer": embed.FEATURES_LAYER,
            "output_processor_cls": "fiftyone.utils.torch.ClassifierOutputProcessor",
            "labels_path": "{{eta-resources}}/imagenet-labels-no-background.txt",
            "device": device,
        }
    )
    model = fout.TorchImageModel(config)
    if batch_size is not None:
        model.batch_size = batch_size
    return model


def is_default(spec):
    """Whether ``model=`` asks for the offline default embedder."""
    return spec is None or (isinstance(spec, str) and spec == DEFAULT_MODEL_NAME)


def features_tag(spec, precision):
    """The tag of the vectors ``model=spec`` makes at ``precision`` (see
    ``embed.features_tag``); None for other models."""
    return embed.features_tag(precision) if is_default(spec) else None


def model_from_spec(spec):
    """A FiftyOne model from what users pass as ``model=``.

    Accepts None (the default embedder), a FiftyOne ``Model`` with embeddings,
    a zoo model name (online: the zoo downloads weights on first use), or a
    ``torch.nn.Module`` whose output is the embedding.
    """
    import fiftyone.core.models as fom

    if is_default(spec):
        return load_model()
    if isinstance(spec, fom.Model):
        if not spec.has_embeddings:
            raise ValueError("Model %r does not expose embeddings" % (spec,))
        return spec
    if isinstance(spec, str):
        import fiftyone.zoo as foz

        return foz.load_zoo_model(spec)
    import torch

    if isinstance(spec, torch.nn.Module):
        config = fout.TorchImageModelConfig(
            {
                "model": spec,
                "transforms_fcn": "gridtsne.core.embed.make_transforms",
                "ragged_batches": False,
                "as_feature_extractor": True,
            }
        )
        return fout.TorchImageModel(config)
    raise ValueError(
        "model must be None, a FiftyOne model, a zoo model name or a torch "
        "module; got %r" % type(spec)
    )


def model_name(spec):
    """A JSON-safe name for the run record."""
    if spec is None or isinstance(spec, str):
        return spec or DEFAULT_MODEL_NAME
    return type(spec).__module__ + "." + type(spec).__name__


def forward_progress(update, total):
    """A ``progress`` argument for FiftyOne methods that reports counts to
    ``update`` (FiftyOne's own bars would count percent as "samples")."""
    import fiftyone.core.utils as fou

    def forward(pb):
        if pb.progress is not None:
            update(round(pb.progress * total))

    return fou.report_progress(forward, dt=0.5)
