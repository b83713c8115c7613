"""The int8 embedder: EfficientNet-Lite0 quantized with ONNX Runtime's tools.

EfficientNet-Lite was designed for integer inference (ReLU6, no squeeze and
excitation), and ONNX Runtime quantizes an ONNX model statically: weights per
channel (int8), activations per tensor (uint8) with ranges calibrated on
example images. The calibration images must ship with the code (no download,
and every worker of a sharded run must build the same model), so they are
crops of the two photographs that come with scikit-learn
(``load_sample_images``): natural-image statistics, fixed, offline.

Weights use 7 of their 8 bits (``reduce_range``): with all 8, AVX2 CPUs
without VNNI saturate pairs of products (VPMADDUBSW) and the same model gave
other features on each CPU; with 7 no pair can saturate, so every machine of
a sharded run computes the same integers. The weights are rounded by GPTQ
(:mod:`gridtsne.core.gptq`) on the calibration crops' activations, and the stem
and the first block (where an error reaches every later layer) stay in float,
which keeps the layout within seed noise of float's. Why, and the figures:
docs/design.md ("int8 and GPTQ") and docs/benchmarks.md ("Embedding").
"""

import contextlib
import hashlib
import io
import logging
import os
import shutil

import numpy as np

from gridtsne.core import network

logger = logging.getLogger(__name__)

# names the recipe in the file name: change it whenever the model would change
RECIPE = "qop-pc-u8s7-gptq-minmax-sk128-f2-v3"
CALIBRATION_IMAGES = 128
POOLING_NODES = "/gem/"  # the exported GeM pooling (see network.onnx_model_path)
# nodes of the exported network that run in float: the stem and the first block
FLOAT_NODES = ("/_conv_stem/", "/_swish/", "/_blocks.0/")
WEIGHT_MAX = 64  # 7-bit weights, as ONNX Runtime's reduce_range makes them: [-64, 64]
GPTQ_DAMP = 0.1  # the best dampening measured (docs/benchmarks.md)


def int8_model_path(cache_dir=None):
    """The int8 model, made from the float export on first use (about 25 s on
    2 cores) and cached beside it; written atomically, like the float one."""
    import onnxruntime

    float_path = network.onnx_model_path(cache_dir)
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


def shared_int8_model_path(folder):
    """This machine's int8 model, as a copy in ``folder`` (a sharded run's
    folder, which every worker of the run sees) made by the first worker that
    needs it; all the run's workers then use that one file. Two builds of the
    model need not be the same to the bit: GPTQ's rounding follows the float
    activations' last bits, which differ between CPUs (with their second
    moments 1e-6 apart, 360 of the 3.3 million int8 weights differed, and
    features by a cosine of 0.9994 at worst)."""
    path = os.path.join(folder, "efficientnet-lite0-int8.onnx")
    if not os.path.exists(path):
        os.makedirs(folder, exist_ok=True)
        tmp = "%s.%d.tmp" % (path, os.getpid())
        shutil.copyfile(int8_model_path(), tmp)
        try:
            os.link(tmp, path)  # atomic, and fails if another worker's copy is there
        except FileExistsError:
            pass
        finally:
            os.remove(tmp)
    return path


def _quantize(float_path, prepared, out):
    import onnx
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod,
                                          QuantFormat, QuantType, quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    calibration = calibration_batch()
    batches = iter(np.array_split(calibration, CALIBRATION_IMAGES // 8))

    class Reader(CalibrationDataReader):
        def get_next(self):
            x = next(batches, None)
            return None if x is None else {"images": np.ascontiguousarray(x)}

    with contextlib.redirect_stdout(io.StringIO()):  # its tables of tensors and bins
        quant_pre_process(float_path, prepared, skip_symbolic_shape=True)
    model = onnx.load(prepared)
    names = [n.name for n in model.graph.node]
    pooling = [n for n in names if POOLING_NODES in n]
    in_float = [n for n in names if any(n.startswith(prefix) for prefix in FLOAT_NODES)]
    if not pooling or not in_float:
        raise RuntimeError("the float export has no %r or %r nodes to keep in float"
                           % (POOLING_NODES, FLOAT_NODES))
    _round_weights(model, calibration, skip=set(in_float))
    onnx.save(model, prepared)
    with contextlib.redirect_stdout(io.StringIO()):
        quantize_static(prepared, out, Reader(), quant_format=QuantFormat.QOperator,
                        per_channel=True, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8, reduce_range=True,
                        nodes_to_exclude=pooling + in_float,
                        calibrate_method=CalibrationMethod.MinMax)


def _round_weights(model, calibration, skip):
    """Puts each convolution's weights (but those in ``skip``) on the int8
    grid ONNX Runtime will use, rounded by GPTQ on the calibration images'
    activations; the quantizer then keeps them as they are."""
    from onnx import numpy_helper

    from gridtsne.core import gptq

    convs = [n for n in model.graph.node if n.op_type == "Conv" and n.name not in skip]
    moments = _input_moments(model, convs, calibration)
    weights = {t.name: t for t in model.graph.initializer}
    for node in convs:
        tensor = weights[node.input[1]]
        w = numpy_helper.to_array(tensor)
        q, scale = gptq.round_weights(w.reshape(len(w), -1), moments[node.name], WEIGHT_MAX,
                                      damp=GPTQ_DAMP)
        tensor.CopyFrom(numpy_helper.from_array(
            (q * scale[:, None]).reshape(w.shape).astype(np.float32), tensor.name))


def _input_moments(model, convs, calibration, batch=16):
    """{conv name: second moments of its input patches} on ``calibration``,
    from the float model (ONNX Runtime, its convolutions' inputs made outputs)."""
    import onnx
    import onnxruntime as ort

    from gridtsne.core import gptq

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    outputs = {o.name for o in probe.graph.output}
    for node in convs:
        if node.input[0] not in outputs:
            outputs.add(node.input[0])
            probe.graph.output.append(onnx.helper.make_tensor_value_info(
                node.input[0], onnx.TensorProto.FLOAT, None))
    options = ort.SessionOptions()
    options.intra_op_num_threads = os.cpu_count() or 1
    session = ort.InferenceSession(probe.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    shapes = {}  # conv name: (kernel, strides, pads, groups)
    for node in convs:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        shapes[node.name] = (attrs["kernel_shape"], attrs.get("strides", (1, 1)),
                             attrs.get("pads", (0,) * 4), attrs.get("group", 1))
    moments = {}
    for start in range(0, len(calibration), batch):
        got = dict(zip(names, session.run(None, {
            "images": np.ascontiguousarray(calibration[start:start + batch])})))
        for node in convs:
            m = gptq.second_moments(got[node.input[0]], *shapes[node.name])
            moments[node.name] = moments.get(node.name, 0) + m
    return moments


def calibration_batch(n=CALIBRATION_IMAGES):
    """``n`` normalised crops (square, 20-90% of the short side, half of them
    mirrored, shrunk to 120 px as small dataset images are) of scikit-learn's
    sample photographs, always the same."""
    from PIL import Image
    from sklearn.datasets import load_sample_images

    photos = [Image.fromarray(a) for a in load_sample_images().images]
    rng = np.random.default_rng(0)
    transform = network.make_transforms()
    out = np.empty((n, 3, network.IMAGE_SIZE, network.IMAGE_SIZE), np.float32)
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
