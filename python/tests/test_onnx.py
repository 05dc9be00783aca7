"""ONNX export against our own outputs, run by onnxruntime (skipped where it is absent)."""

import subprocess

import numpy as np
import pytest

from autoencoder import Autoencoder

from test_autoencoder import cli_binary, mnist

ort = pytest.importorskip("onnxruntime")


@pytest.mark.parametrize(
    "params",
    [
        dict(layers=[64, 32], code=8),
        dict(layers=[32], code=6, code_distribution="gaussian"),
        dict(layers=[32], code=6, tied=True, activation="tanh"),
        dict(layers=[32], code=6, activation="relu", output="gaussian"),
    ],
)
def test_onnx_parts_equal_our_outputs(params, tmp_path):
    x, _ = mnist(300)
    a = Autoencoder(epochs=2, batch_size=50, seed=0, **params).fit(x)
    h = a.transform(x)
    for part, inp, want in [
        ("encoder", x, h),
        ("decoder", h, a.inverse_transform(h)),
        ("autoencoder", x, a.reconstruct(x)),
    ]:
        path = a.export_onnx(tmp_path / f"{part}.onnx", part=part)
        try:
            import onnx

            onnx.checker.check_model(onnx.load(path), full_check=True)
        except ImportError:
            pass
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        name = sess.get_inputs()[0].name
        assert name == ("h" if part == "decoder" else "x")
        got = sess.run(None, {name: inp})[0]
        assert got.shape == want.shape
        assert np.max(np.abs(got - want)) <= 1e-5, (part, params)
        # the batch dimension is symbolic: any number of rows
        assert sess.run(None, {name: inp[:3]})[0].shape[0] == 3


def test_cli_export_equals_python_export(tmp_path):
    x, _ = mnist(200)
    a = Autoencoder(layers=[16], code=4, epochs=1, seed=0).fit(x)
    a.save(tmp_path / "m")
    out = tmp_path / "cli.onnx"
    subprocess.run([cli_binary(), "export", "--model", str(tmp_path / "m"), "--part", "autoencoder", "--out", str(out)], check=True)
    py = a.export_onnx(tmp_path / "py.onnx", part="autoencoder")
    assert out.read_bytes() == open(py, "rb").read()
    r = subprocess.run([cli_binary(), "export", "--model", str(tmp_path / "m"), "--part", "hash", "--out", str(out)], capture_output=True, text=True)
    # a 4-unit code cannot be packed into bytes: a one-line error, exit code 2
    assert r.returncode == 2 and "multiple of 8" in r.stderr and r.stderr.count("\n") == 1


@pytest.mark.parametrize(
    "params",
    [
        dict(encoder=[{"conv": 4, "kernel": 3, "padding": 1}, {"pool": "max", "size": 2}, {"conv": 6, "kernel": 3, "stride": 2, "padding": 1}], code=5, activation="relu"),
        dict(encoder=[{"conv": 4, "kernel": 4, "stride": 2, "padding": 1}, {"batch_norm": True}, {"dropout": 0.2}, {"pool": "avg", "size": 2}], activation="tanh"),
        dict(encoder=[{"conv": 3, "kernel": 3, "stride": 2, "padding": 1}, {"dense": 16}], code=4, code_distribution="gaussian"),
    ],
)
def test_onnx_conv_parts_equal_our_outputs(params, tmp_path):
    """Conv, ConvTranspose, MaxPool/AveragePool, Resize, BatchNormalization, Flatten/Reshape:
    flat `N × width` inputs and outputs, as the dense graphs have, within 1e-4."""
    x, _ = mnist(200)
    images = x.reshape(-1, 1, 28, 28)
    a = Autoencoder(epochs=1, batch_size=50, seed=0, **params).fit(images)
    h = a.transform(images).reshape(len(x), -1)
    for part, inp, want in [
        ("encoder", x, h),
        ("decoder", h, a.inverse_transform(h).reshape(len(x), -1)),
        ("autoencoder", x, a.reconstruct(images).reshape(len(x), -1)),
    ]:
        path = a.export_onnx(tmp_path / f"{part}.onnx", part=part)
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        name = sess.get_inputs()[0].name
        got = sess.run(None, {name: inp})[0]
        assert got.shape == want.shape, (part, params)
        assert np.max(np.abs(got - want)) <= 1e-4, (part, params)


def test_onnx_standardize_transform_is_in_the_graph(tmp_path):
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(300, 12)) * np.arange(1, 13) * 50 + 7).astype(np.float32)
    # no architecture: standardize and a Gaussian output chosen from the data
    a = Autoencoder(seed=0).fit(x)
    assert a.defaults_["data.transform"]["value"] == "standardize"
    path = a.export_onnx(tmp_path / "encoder.onnx", part="encoder")
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    got = sess.run(None, {"x": x})[0]
    assert np.max(np.abs(got - a.transform(x))) <= 1e-4
    # reconstructions come back in the data's units, in the graph as in Python
    r = a.reconstruct(x)
    assert np.abs(r - x).mean() < np.abs(x - x.mean(0)).mean()
    path = a.export_onnx(tmp_path / "autoencoder.onnx", part="autoencoder")
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    got = sess.run(None, {"x": x})[0]
    assert np.max(np.abs(got - r) / (1.0 + np.abs(r))) <= 1e-5
