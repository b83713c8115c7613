"""The int8 embedder: EfficientNet-Lite0 quantized with ONNX Runtime's tools.

EfficientNet-Lite was designed for integer inference (ReLU6, no squeeze and
excitation), and ONNX Runtime quantizes an ONNX model statically: weights per
channel (int8), activations per tensor (uint8) with ranges calibrated on
example images. The calibration images must ship with the code (no download,
and every worker of a sharded run must build the same model), so they are
crops of the two photographs that come with scikit-learn
(``load_sample_images``): natural-image statistics, fixed, offline.

Weights use 7 of their 8 bits (``reduce_range``). With all 8, the vectors
depended on the CPU: AVX2 without VNNI multiplies uint8 by int8 with
VPMADDUBSW, which saturates pairs of products at 16 bits, so the same model
gave features whose cosine to the float ones was 0.91 there and 0.99 on an
AVX-512 VNNI CPU (largest difference between the two CPUs 57% of the largest
feature). With 7 bits no pair can saturate: the same features on both (checked
bit for bit under QEMU's Haswell model), cosine 0.96 to float. Workers of one
sharded run may sit on different CPUs, and stored int8 vectors are reused.
Speed and layout quality: README, "Tests and benchmarks" (benchmarks/bench_embed.py).
"""

import contextlib
import hashlib
import io
import logging
import os

import numpy as np

logger = logging.getLogger(__name__)

# names the recipe in the file name: change it whenever the model would change
RECIPE = "qop-pc-u8s7-minmax-sk128-v2"
CALIBRATION_IMAGES = 128
POOLING_NODES = "/gem/"  # the exported GeM pooling (see embed.onnx_model_path)


def int8_model_path(cache_dir=None):
    """The int8 model, made from the float export on first use (a few seconds)
    and cached beside it; written atomically, like the float one."""
    import onnxruntime

    from gridtsne.core import embed

    float_path = embed.onnx_model_path(cache_dir)
    tag = hashlib.sha1(("%s:%s:%s" % (os.path.basename(float_path), onnxruntime.__version__,
                                      RECIPE)).encode()).hexdigest()[:12]
    path = os.path.join(os.path.dirname(float_path), "efficientnet-lite0-int8-%s.onnx" % tag)
    if os.path.exists(path):
        return path
    logger.info("Quantizing EfficientNet-Lite0 to int8 (once; cached in %s)",
                os.path.dirname(path))
    tmp = "%s.%d.tmp" % (path, os.getpid())
    prepared = tmp + ".pre.onnx"
    try:
        _quantize(float_path, prepared, tmp)
        os.replace(tmp, path)
    finally:
        for leftover in (tmp, prepared):
            if os.path.exists(leftover):
                os.remove(leftover)
    return path


def _quantize(float_path, prepared, out):
    import onnx
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod,
                                          QuantFormat, QuantType, quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    batches = iter(np.array_split(calibration_batch(), CALIBRATION_IMAGES // 8))

    class Reader(CalibrationDataReader):
        def get_next(self):
            x = next(batches, None)
            return None if x is None else {"images": np.ascontiguousarray(x)}

    with contextlib.redirect_stdout(io.StringIO()):  # its tables of tensors and bins
        quant_pre_process(float_path, prepared, skip_symbolic_shape=True)
        pooling = [n.name for n in onnx.load(prepared).graph.node if POOLING_NODES in n.name]
        if not pooling:
            raise RuntimeError("the float export has no %r nodes to keep in float"
                               % POOLING_NODES)
        quantize_static(prepared, out, Reader(), quant_format=QuantFormat.QOperator,
                        per_channel=True, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8, reduce_range=True,
                        nodes_to_exclude=pooling, calibrate_method=CalibrationMethod.MinMax)


def calibration_batch(n=CALIBRATION_IMAGES):
    """``n`` normalised crops (square, 20-90% of the short side, half of them
    mirrored, shrunk to 120 px as small dataset images are) of scikit-learn's
    sample photographs, always the same."""
    from PIL import Image
    from sklearn.datasets import load_sample_images

    from gridtsne.core import embed

    photos = [Image.fromarray(a) for a in load_sample_images().images]
    rng = np.random.default_rng(0)
    transform = embed.make_transforms()
    out = np.empty((n, 3, embed.IMAGE_SIZE, embed.IMAGE_SIZE), np.float32)
    for i in range(n):
        photo = photos[i % len(photos)]
        w, h = photo.size
        side = int(rng.uniform(0.2, 0.9) * min(w, h))
        x0, y0 = int(rng.integers(0, w - side)), int(rng.integers(0, h - side))
        crop = photo.crop((x0, y0, x0 + side, y0 + side)).resize((120, 120))
        if rng.random() < 0.5:
            crop = crop.transpose(Image.FLIP_LEFT_RIGHT)
        out[i] = transform(crop).numpy()
    return out
