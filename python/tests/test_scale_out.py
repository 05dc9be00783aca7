"""Encoding with Ray Data (examples/python/ray_encode.py) on a local 2-CPU Ray instance gives the
codes of one `transform`. Skipped where Ray is not installed."""

import importlib.util
import os

import numpy as np
import pytest

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")

from autoencoder import Autoencoder  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def load_example():
    spec = importlib.util.spec_from_file_location("ray_encode", os.path.join(REPO, "examples", "python", "ray_encode.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ray_map_batches_encodes_like_one_transform(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((3000, 40), dtype=np.float32)
    model = Autoencoder(layers=[16], code=8, epochs=2, batch_size=100, seed=0).fit(x)
    model.save(tmp_path / "m")
    example = load_example()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        codes = example.encode(x, str(tmp_path / "m"), batch_size=512, workers=2)
    finally:
        ray.shutdown()
    assert codes.shape == (3000, 8)
    np.testing.assert_array_equal(codes, model.transform(x))
