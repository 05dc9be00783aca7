"""Watching a fit: callbacks, and TensorBoard logs read back by TensorBoard's own reader."""

import os
import subprocess

import numpy as np
import pytest

from autoencoder import Autoencoder

from test_autoencoder import cli_binary, mnist, small, weights, REPO


def test_callbacks_see_every_epoch_with_its_metrics_row():
    x, _ = mnist(300)
    seen = []
    a = small(epochs=4).fit(x, callbacks=[seen.append, lambda m: None])
    assert [m["epoch"] for m in seen] == [1, 2, 3, 4]
    # the dict is the history row, key for key and value for value
    assert seen == a.history_
    assert a.stop_reason_ == "completed"


def test_a_callback_returning_true_stops_after_that_epoch_like_a_shorter_run():
    x, _ = mnist(300)
    calls = []

    def stop_at_two(m):
        calls.append(m["epoch"])
        return m["epoch"] == 2

    stopped = small(epochs=6).fit(x, callbacks=[stop_at_two])
    assert calls == [1, 2]
    assert len(stopped.history_) == 2
    assert stopped.stop_reason_ == "requested"
    # the same selection of the best epoch a 2-epoch run makes (constant learning rate)
    short = small(epochs=2).fit(x)
    assert short.stop_reason_ == "completed"
    for name, w in weights(short).items():
        np.testing.assert_array_equal(w, weights(stopped)[name], err_msg=name)


def test_an_exception_in_a_callback_stops_training_and_propagates():
    x, _ = mnist(200)
    epochs = []

    def boom(m):
        epochs.append(m["epoch"])
        raise KeyError("from the callback")

    with pytest.raises(KeyError, match="from the callback"):
        small(epochs=5).fit(x, callbacks=[boom])
    assert epochs == [1]
    with pytest.raises(ValueError, match="callbacks: 3 is not callable"):
        small().fit(x, callbacks=[3])


def _accumulator(path):
    ea = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    acc = ea.EventAccumulator(
        str(path), size_guidance={ea.SCALARS: 0, ea.IMAGES: 0, ea.HISTOGRAMS: 0}
    )
    acc.Reload()
    return acc


def _projector(path):
    projector = pytest.importorskip("tensorboard.plugins.projector.projector_config_pb2")
    from google.protobuf import text_format

    with open(os.path.join(path, "projector_config.pbtxt")) as f:
        return text_format.Parse(f.read(), projector.ProjectorConfig())


def test_tensorboard_logs_read_back_by_tensorboard(tmp_path):
    x, labels = mnist(400)
    logs = tmp_path / "tb"
    a = small(epochs=3, tensorboard_dir=logs, tensorboard_every=2, validation_fraction=0.25)
    a.fit(x, labels)
    acc = _accumulator(logs)
    tags = acc.Tags()
    # every numeric field of each history row, at step = epoch, as float32
    for key in ("train_loss", "validation_loss", "validation_squared_error", "learning_rate", "seconds"):
        events = acc.Scalars(key)
        assert [e.step for e in events] == [1, 2, 3], key
        np.testing.assert_array_equal(
            np.float32([e.value for e in events]), np.float32([m[key] for m in a.history_]), err_msg=key
        )
    steps = [e.step for e in acc.Scalars("step/train_loss")]
    # 300 training rows in batches of 50: 6 steps an epoch, every second one logged
    assert steps == list(range(2, 19, 2))
    assert set(tags["images"]) == {"reconstructions", "filters"}
    assert [e.step for e in acc.Images("reconstructions")] == [1, 2, 3]
    png = acc.Images("reconstructions")[0].encoded_image_string
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    for name, w in weights(a).items():
        h = acc.Histograms(f"weights/{name}")[-1].histogram_value
        assert h.num == w.size and h.min == pytest.approx(w.min()) and h.max == pytest.approx(w.max())
        assert sum(h.bucket) == w.size
    codes = acc.Histograms("codes")[-1].histogram_value
    assert codes.num == 256 * 8
    # the projector: the 100 held-out rows' codes, their labels, a sprite of 28×28 digits
    config = _projector(logs)
    e = config.embeddings[0]
    assert list(e.sprite.single_image_dim) == [28, 28]
    tensors = np.loadtxt(logs / e.tensor_path, delimiter="\t", ndmin=2)
    assert tensors.shape == (100, 8)
    meta = (logs / e.metadata_path).read_text().split("\n")[:-1]
    assert len(meta) == 100 and set(meta) <= {str(v) for v in range(10)}
    # the codes are the held-out rows' codes: each one is the code of the row with its label
    t = a.transform(x)
    for code, label in zip(tensors[:5], meta[:5]):
        i = int(np.argmin(np.abs(t - code).sum(axis=1)))
        assert np.abs(t[i] - code).max() < 1e-4 and str(labels[i]) == label
    assert (logs / e.sprite.image_path).read_bytes()[:4] == b"\x89PNG"


def test_a_truncated_event_file_is_skipped_by_tensorboard_and_the_run_stays_usable(tmp_path):
    x, _ = mnist(200)
    logs = tmp_path / "tb"
    a = small(epochs=3, tensorboard_dir=logs).fit(x)
    (event,) = [p for p in logs.iterdir() if p.name.startswith("events.out.tfevents.")]
    whole = len(_accumulator(logs).Scalars("train_loss"))
    data = event.read_bytes()
    event.write_bytes(data[: len(data) - 7])
    acc = _accumulator(logs)
    assert len(acc.Scalars("train_loss")) == whole == 3
    # the last record (an image or a histogram) is the one lost; the model is untouched
    assert a.transform(x).shape == (200, 8)


def test_the_cli_logs_the_same_metrics_as_metrics_jsonl(tmp_path):
    import json

    config = tmp_path / "c.toml"
    config.write_text(
        "[model]\nlayers = [32]\ncode = 4\n[train]\nepochs = 2\nbatch_size = 50\n"
        "[report]\ntensorboard = true\ntensorboard_every = 0\n"
    )
    run = tmp_path / "run"
    data = os.path.join(REPO, "data", "mnist", "t10k-images-idx3-ubyte.gz")
    subprocess.run(
        [cli_binary(), "train", "--quiet", "--config", str(config), "--data", data, "--out", str(run)],
        check=True,
    )
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    acc = _accumulator(run / "tensorboard")
    for key in ("train_loss", "validation_loss"):
        np.testing.assert_array_equal(
            np.float32([e.value for e in acc.Scalars(key)]), np.float32([r[key] for r in rows])
        )
    assert "step/train_loss" not in acc.Tags()["scalars"]
    assert _projector(run / "tensorboard").embeddings[0].metadata_path == "codes/metadata.tsv"
    # --tensorboard DIR: DIR/<run name>
    other = tmp_path / "logs"
    subprocess.run(
        [cli_binary(), "train", "--quiet", "--config", str(config), "--data", data, "--out", str(tmp_path / "second"),
         "--tensorboard", str(other)],
        check=True,
    )
    assert len(_accumulator(other / "second").Scalars("train_loss")) == 2
