"""The default embedder at scale: ONNX Runtime, parallel decoding, resuming."""

import os

import numpy as np
import pytest

from gridtsne.core import embed

from conftest import make_shapes


@pytest.fixture(scope="module")
def shape_files(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("embed-shapes"))
    make_shapes(folder, per_class=3)
    return sorted(
        os.path.join(root, f) for root, _, files in os.walk(folder) for f in files
    )


def test_onnx_features_match_eager_pytorch(shape_files):
    from gridtsne.core.images import load_rgb

    eager = embed.embed_images([load_rgb(p) for p in shape_files])  # PyTorch
    fast, failed = embed.embed_files(shape_files, batch_size=4, num_workers=2, device="cpu")
    assert not failed
    assert fast.shape == eager.shape == (len(shape_files), embed.EMBEDDING_DIM)
    assert np.abs(fast - eager).max() <= 1e-4 * np.abs(eager).max()


def test_int8_model_is_made_offline_once_and_keeps_neighbourhoods(shape_files, tmp_path,
                                                                   monkeypatch):
    from gridtsne.core import quantize

    monkeypatch.setenv("GRIDTSNE_CACHE", str(tmp_path))
    exact, _ = embed.embed_files(shape_files, batch_size=4, device="cpu")
    small, failed = embed.embed_files(shape_files, batch_size=4, precision="int8")
    assert not failed and small.shape == exact.shape
    made = [f for f in os.listdir(tmp_path) if f.startswith("efficientnet-lite0-int8-")]
    assert len(made) == 1 and made[0].endswith(".onnx")  # no temporary file left
    assert os.path.getsize(tmp_path / made[0]) < 0.5 * os.path.getsize(embed.onnx_model_path())
    # 7-bit weights: no two uint8 x int8 products of AVX2's VPMADDUBSW can saturate its
    # 16 bits (255 * 64 * 2 < 32767), so every CPU computes the same features
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(tmp_path / made[0]))
    weights = {t.name: t for t in model.graph.initializer}
    convs = [numpy_helper.to_array(weights[n.input[3]]) for n in model.graph.node
             if n.op_type == "QLinearConv"]
    assert len(convs) == 46 and all(np.abs(w.astype(int)).max() <= 64 for w in convs)
    # the stem and the first block stay in float
    assert [n.name for n in model.graph.node if n.op_type == "Conv"] == [
        "/_conv_stem/Conv", "/_blocks.0/_depthwise_conv/Conv", "/_blocks.0/_project_conv/Conv"]
    # other arithmetic, not the float model under another name ...
    assert np.abs(small - exact).max() > 1e-3
    # ... close to float's: GPTQ's rounding (0.995 on these images; 7-bit weights
    # rounded to nearest, with the stem quantized too, gave 0.89)
    assert np.mean((small * exact).sum(axis=1)) > 0.98
    # ... with the same neighbourhoods
    def nearest(f):
        d = f @ f.T
        np.fill_diagonal(d, -np.inf)
        return d.argmax(axis=1)

    labels = np.array([os.path.basename(os.path.dirname(p)) for p in shape_files])
    assert (labels[nearest(exact)] == labels).all()
    assert (labels[nearest(small)] == labels).all()  # each image's nearest is of its shape
    # made once: a second use reads the cached file
    monkeypatch.setattr(quantize, "_quantize", lambda *a: pytest.fail("quantized again"))
    again, _ = embed.embed_files(shape_files[:4], batch_size=4, precision="int8")
    assert np.array_equal(again, small[:4])


def test_embedding_weights_the_centre_and_has_unit_length():
    import torch

    def one_spot(y, x):  # channel 0 fires at (y, x), channel 1 everywhere
        fmap = torch.full((1, 2, 7, 7), 1e-6)
        fmap[0, 0, y, x], fmap[0, 1] = 1.0, 0.5
        return embed.GeM()(fmap)[0]

    centre, edge, corner = one_spot(3, 3), one_spot(0, 3), one_spot(0, 0)
    for v in (centre, edge, corner):
        assert float(v.norm()) == pytest.approx(1.0, abs=1e-6)
    # the same object counts for more the nearer it is to the middle
    assert centre[0] / centre[1] > edge[0] / edge[1] > corner[0] / corner[1]
    # a uniform map is pooled to its value's direction whatever the prior
    assert embed.GeM()(torch.full((1, 2, 5, 9), 2.0))[0].tolist() == pytest.approx(
        [2 ** -0.5, 2 ** -0.5]
    )


def test_unreadable_files_are_reported_not_fatal(shape_files, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    paths = shape_files[:3] + [str(broken)] + shape_files[3:5]
    feats, failed = embed.embed_files(paths, batch_size=4, num_workers=0)
    assert list(failed) == [3] and failed[3] == "not an image (unrecognised format)"
    assert not feats[3].any() and feats[[0, 1, 2, 4, 5]].any(axis=1).all()


def test_a_stopped_job_resumes_from_its_finished_batches(shape_files, tmp_path, monkeypatch):
    cache = str(tmp_path / "batches")
    full, _ = embed.embed_files(shape_files, batch_size=4, num_workers=0, cache_dir=cache)

    # stop a second job part way: the network fails on its third batch
    job = str(tmp_path / "job")
    real = embed.feature_extractor
    calls = []

    def flaky(device=None, threads=None, precision="float", int8_model=None):
        run = real(device, threads, precision, int8_model)

        def counted(x):
            calls.append(len(x))
            if stop_after is not None and len(calls) > stop_after:
                raise KeyboardInterrupt("stopped")
            return run(x)

        return counted

    monkeypatch.setattr(embed, "feature_extractor", flaky)
    stop_after = 2
    with pytest.raises(KeyboardInterrupt):
        embed.embed_files(shape_files, batch_size=4, num_workers=0, cache_dir=job)
    calls.clear()
    stop_after = None
    resumed, _ = embed.embed_files(shape_files, batch_size=4, num_workers=0, cache_dir=job)
    n_batches = -(-len(shape_files) // 4)
    assert len(calls) == n_batches - 2  # only the batches not finished before
    np.testing.assert_allclose(resumed, full, rtol=0, atol=1e-5)

    # another file list in the same folder starts afresh instead of mixing
    calls.clear()
    embed.embed_files(shape_files[:5], batch_size=4, num_workers=0, cache_dir=job)
    assert len(calls) == 2

    # and so does a newer embedder (its vectors must not mix with older ones)
    calls.clear()
    exported = embed.onnx_model_path()  # (no second export for the pretend version)
    monkeypatch.setattr(embed, "onnx_model_path", lambda cache_dir=None: exported)
    monkeypatch.setattr(embed, "FEATURES_TAG", embed.FEATURES_TAG + "-next")
    embed.embed_files(shape_files[:5], batch_size=4, num_workers=0, cache_dir=job)
    assert len(calls) == 2


def test_a_sharded_runs_workers_share_the_first_ones_int8_model(tmp_path, monkeypatch):
    from gridtsne.core import quantize

    mine = tmp_path / "cache" / "efficientnet-lite0-int8-abc.onnx"
    mine.parent.mkdir()
    mine.write_bytes(b"this machine's build")
    monkeypatch.setattr(quantize, "int8_model_path", lambda cache_dir=None: str(mine))
    run = tmp_path / "run"
    first = quantize.shared_int8_model_path(str(run))
    assert os.path.dirname(first) == str(run) and open(first, "rb").read() == b"this machine's build"
    assert os.listdir(run) == [os.path.basename(first)]  # no temporary copy left
    # a worker whose own build differs (another CPU; another ONNX Runtime or torch,
    # which name its files otherwise) uses the copy already in the run's folder
    other = tmp_path / "cache" / "efficientnet-lite0-int8-def.onnx"
    other.write_bytes(b"another CPU's build")
    monkeypatch.setattr(quantize, "int8_model_path", lambda cache_dir=None: str(other))
    assert quantize.shared_int8_model_path(str(run)) == first
    assert open(first, "rb").read() == b"this machine's build"
