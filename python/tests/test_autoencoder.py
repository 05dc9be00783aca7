"""The Python package against the engine, the CLI and scikit-learn's conventions."""

import gzip
import json
import os
import pickle
import shutil
import subprocess
import threading
import _thread

import numpy as np
import pytest

from autoencoder import Autoencoder

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def mnist(n=600, part="train"):
    """The first n images of the repo's MNIST subset, float32 in [0, 1], and their labels."""
    with gzip.open(os.path.join(REPO, "data", "mnist", f"{part}-images-idx3-ubyte.gz")) as f:
        raw = f.read()
    x = np.frombuffer(raw, np.uint8, n * 784, 16).reshape(n, 784).astype(np.float32) / 255.0
    with gzip.open(os.path.join(REPO, "data", "mnist", f"{part}-labels-idx1-ubyte.gz")) as f:
        labels = np.frombuffer(f.read(), np.uint8, n, 8).astype(np.int64)
    return x, labels


def small(**kw):
    params = dict(layers=[32], code=8, epochs=3, batch_size=50, seed=1)
    params.update(kw)
    return Autoencoder(**params)


def cli_binary():
    path = os.environ.get("AUTOENCODER_BIN") or os.path.join(REPO, "target", "release", "autoencoder")
    if not os.path.exists(path):
        pytest.fail(f"the CLI binary {path} is missing: run `cargo build --release` first (or set AUTOENCODER_BIN)")
    return path


def cli_train(config, data, run):
    """`autoencoder train --config CONFIG --data DATA --out RUN`, quietly; fails the test on error."""
    subprocess.run([cli_binary(), "train", "--quiet", "--config", str(config), "--data", str(data), "--out", str(run)], check=True)


def assert_same_weights(a, b):
    """The two estimators' parameter tensors, byte for byte."""
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    for name in wa:
        assert wa[name].tobytes() == wb[name].tobytes(), name


def weights(est):
    return {name: np.asarray(t) for name, t in est.model_.tensors()}


def test_fit_transform_shapes_history_and_determinism():
    x, _ = mnist(400)
    a = small().fit(x)
    assert a.transform(x).shape == (400, 8)
    assert a.transform(x).dtype == np.float32
    assert a.reconstruct(x).shape == (400, 784)
    assert a.inverse_transform(a.transform(x[:5])).shape == (5, 784)
    assert len(a.history_) == 3 and a.history_[-1]["train_loss"] < a.history_[0]["train_loss"]
    b = small().fit(x)
    for name, w in weights(a).items():
        assert np.array_equal(w, weights(b)[name]), name
    c = small(seed=2).fit(x)
    assert not np.array_equal(weights(a)["encoder.0.weight"], weights(c)["encoder.0.weight"])


def test_weights_equal_the_clis_for_the_same_config(tmp_path):
    x, _ = mnist(500)
    np.save(tmp_path / "x.npy", x)
    config = tmp_path / "c.toml"
    config.write_text(
        "[model]\nlayers = [32]\ncode = 8\n[train]\nepochs = 2\nbatch_size = 50\nseed = 3\n"
        "[corruption]\nkind = \"masking\"\nlevel = 0.25\n[[regularizer]]\nkind = \"weight_decay\"\nweight = 0.0001\n"
    )
    run = tmp_path / "run"
    cli_train(config, tmp_path / "x.npy", run)
    cli = Autoencoder.load(run)
    ours = Autoencoder.from_config(config).fit(x)
    assert ours.corruption == "masking" and ours.regularizers == [{"kind": "weight_decay", "weight": 0.0001}]
    assert_same_weights(cli, ours)
    assert np.array_equal(cli.transform(x), ours.transform(x))


def test_save_load_and_pickle_give_identical_outputs(tmp_path):
    x, _ = mnist(300)
    a = small(corruption="masking", corruption_level=0.2).fit(x)
    a.save(tmp_path / "m")
    assert {"model.safetensors", "spec.json", "config.toml"} <= set(os.listdir(tmp_path / "m"))
    b = Autoencoder.load(tmp_path / "m")
    assert b.corruption == "masking" and b.layers == [32]
    c = pickle.loads(pickle.dumps(a))
    for other in (b, c):
        assert np.array_equal(a.transform(x), other.transform(x))
        assert np.array_equal(a.reconstruct(x), other.reconstruct(x))
    assert c.threshold_ == a.threshold_
    # the saved folder is a CLI run folder: the CLI encodes it the same way
    np.save(tmp_path / "x.npy", x)
    subprocess.run(
        [cli_binary(), "encode", "--model", str(tmp_path / "m"), "--data", str(tmp_path / "x.npy"), "--out", str(tmp_path / "h.npy")],
        check=True,
    )
    assert np.array_equal(np.load(tmp_path / "h.npy"), a.transform(x))


def test_bad_input_is_a_value_error_naming_what_is_wrong():
    x, _ = mnist(200)
    bad = x.copy()
    bad[3, 5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        small().fit(bad)
    with pytest.raises(ValueError, match="2-D"):
        small().fit(x[0])
    with pytest.raises(ValueError, match="train.epochs"):
        small(epochs=-1).fit(x)
    with pytest.raises(ValueError, match="model.activation"):
        small(activation="nope").fit(x)
    with pytest.raises(ValueError, match="corruption_level is set"):
        small(corruption_level=0.3).fit(x)
    with pytest.raises(ValueError, match="contamination"):
        small(contamination=0.9).fit(x)
    with pytest.raises(ValueError, match="not fitted"):
        small().transform(x)
    a = small(epochs=1).fit(x)
    with pytest.raises(ValueError, match="784 features"):
        a.transform(x[:, :100])
    with pytest.raises(ValueError, match="code has 8"):
        a.inverse_transform(np.zeros((2, 3), np.float32))
    # other dtypes and layouts are converted once
    assert np.array_equal(a.transform(x[:10].astype(np.float64)), a.transform(x[:10]))
    assert np.array_equal(a.transform(np.asfortranarray(x[:10])), a.transform(x[:10]))


def test_anomaly_scores_threshold_and_predict():
    x, _ = mnist(600)
    a = small(epochs=5, contamination=0.05).fit(x)
    assert a.decision_scores_.shape == (600,)
    assert abs(a.predict(x).mean() - 0.05) < 0.01
    inverted = 1.0 - x[:50]
    assert a.decision_function(inverted).min() > np.median(a.decision_scores_)
    assert a.predict(inverted).mean() == 1.0
    assert np.allclose(a.score_samples(x), -a.decision_function(x))
    p = small(epochs=1, threshold_percentile=50).fit(x)
    assert abs(p.predict(x).mean() - 0.5) < 0.01


def test_gaussian_code_samples_and_likelihood_scores():
    x, _ = mnist(300)
    v = small(code_distribution="gaussian", epochs=2).fit(x)
    s = v.sample(7, seed=3)
    assert s.shape == (7, 784) and np.all((s >= 0) & (s <= 1))
    assert np.array_equal(s, v.sample(7, seed=3))
    scores = v.score_samples(x[:20], samples=4)
    assert scores.shape == (20,) and np.all(scores < 0)
    with pytest.raises(ValueError, match="generative"):
        small(epochs=1).fit(x).sample(3)


def test_ctrl_c_stops_between_batches_and_keeps_the_model():
    x, _ = mnist(600)
    # no validation split, so no early stop can end the fit before the interrupt arrives (on a
    # fast machine patience ran out within the second)
    a = small(epochs=100000, batch_size=10, validation_fraction=0.0)
    timer = threading.Timer(1.0, _thread.interrupt_main)
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        a.fit(x)
    timer.cancel()
    assert 0 < len(a.history_) < 100000
    assert a.transform(x[:3]).shape == (3, 8)


def test_scikit_learn_clone_params_and_pipeline():
    sklearn = pytest.importorskip("sklearn")
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    a = small(learning_rate=3e-3)
    b = clone(a)
    assert b.get_params() == a.get_params() and b is not a
    b.set_params(code=4)
    assert b.code == 4 and a.code == 8
    with pytest.raises(ValueError):
        b.set_params(no_such_thing=1)
    x, y = mnist(400)
    pipe = make_pipeline(small(epochs=10, code=16, activation="relu"), LogisticRegression(max_iter=1000)).fit(x, y)
    assert pipe.score(x, y) > 0.5


def test_partial_fit_learns_from_chunks_deterministically():
    x, _ = mnist(600)
    chunks = np.array_split(x, 4)

    def run():
        a = small(learning_rate=3e-3)
        first = None
        for _ in range(3):
            for c in chunks:
                a.partial_fit(c)
                if first is None:
                    first = -a.score_samples(x).mean()
        return a, first

    a, first = run()
    assert len(a.history_) == 12
    assert -a.score_samples(x).mean() < 0.9 * first
    b, _ = run()
    np.testing.assert_array_equal(a.transform(x[:5]), b.transform(x[:5]))
    with pytest.raises(ValueError):
        a.partial_fit(x[:, :100])
    # continuing a fitted model
    c = small(epochs=1).fit(x)
    before = -c.score_samples(x).mean()
    c.partial_fit(x)
    assert -c.score_samples(x).mean() < before


def test_parametric_tsne_and_umap_maps_from_python():
    """The t-SNE and UMAP code terms and reconstruction_weight as keyword arguments: a 2-D map
    trained on either map term alone keeps digits apart better than one trained to reconstruct;
    a bad perplexity or neighbour count is a ValueError naming the key."""
    x, labels = mnist(400)
    common = dict(layers=[32], code=2, activation="relu", code_activation="linear",
                  decoder_layers=[], epochs=25, batch_size=200, validation_fraction=0.0)
    tsne = [{"kind": "tsne", "weight": 1.0, "perplexity": 15}]
    umap = [{"kind": "umap", "weight": 1.0, "neighbors": 10}]
    maps = {
        "tsne": Autoencoder(reconstruction_weight=0.0, regularizers=tsne, **common).fit(x),
        "umap": Autoencoder(reconstruction_weight=0.0, regularizers=umap, **common).fit(x),
        "plain": Autoencoder(**common).fit(x),
    }

    def loo_5nn(y):
        d = ((y[:, None, :] - y[None, :, :]) ** 2).sum(-1)
        np.fill_diagonal(d, np.inf)
        nn = np.argsort(d, axis=1)[:, :5]
        votes = labels[nn]
        pred = np.array([np.bincount(v, minlength=10).argmax() for v in votes])
        return (pred == labels).mean()

    acc = {k: loo_5nn(m.transform(x)) for k, m in maps.items()}
    assert acc["tsne"] > acc["plain"] + 0.1, acc
    assert acc["umap"] > acc["plain"] + 0.1, acc
    with pytest.raises(ValueError, match="perplexity"):
        Autoencoder(regularizers=[{"kind": "tsne", "weight": 1.0, "perplexity": 100}],
                    **common).fit(x)
    with pytest.raises(ValueError, match="neighbors"):
        Autoencoder(regularizers=[{"kind": "umap", "weight": 1.0, "neighbors": 1}],
                    **common).fit(x)


def test_memory_mapped_and_strided_input_give_the_in_memory_model(tmp_path):
    """fit reads a C-contiguous float32 array in place (np.load(mmap_mode="r") included) and
    converts other layouts once: all give the bytes of the plain in-memory fit, with a
    validation split taken from the same rows."""
    x, _ = mnist(500)
    np.save(tmp_path / "x.npy", x)
    mapped = np.load(tmp_path / "x.npy", mmap_mode="r")
    assert isinstance(mapped, np.memmap)
    reference = weights(small(validation_fraction=0.2).fit(x))
    wide = np.zeros((500, 784 * 2), np.float64)
    wide[:, ::2] = x
    for data in (mapped, wide[:, ::2], np.asfortranarray(x)):
        got = weights(small(validation_fraction=0.2).fit(data))
        for name in reference:
            assert got[name].tobytes() == reference[name].tobytes(), name


def test_a_fitted_input_transform_is_saved_loaded_and_applied_as_the_cli_does(tmp_path):
    """`data_transform` ([data] transform) is fitted by fit on the raw counts, applied to every
    input, saved as transform.json: the CLI's run folder and the Python model give the same
    weights and codes, pickles keep it, and the ONNX export runs it inside the graph."""
    rng = np.random.default_rng(0)
    counts = rng.poisson(rng.gamma(0.3, 2.0, size=(1, 60)), size=(300, 60)).astype(np.float32)
    counts[:, 0] += 1  # no empty documents
    np.save(tmp_path / "counts.npy", counts)
    config = tmp_path / "c.toml"
    config.write_text(
        "[model]\nlayers = [16]\ncode = 8\noutput = \"multinomial\"\n[data]\ntransform = \"tfidf\"\n"
        "[train]\nepochs = 2\nbatch_size = 50\nseed = 4\n"
    )
    run = tmp_path / "run"
    cli_train(config, tmp_path / "counts.npy", run)
    cli = Autoencoder.load(run)
    assert cli.data_transform == "tfidf"
    ours = Autoencoder.from_config(config).fit(counts)
    assert_same_weights(cli, ours)
    subprocess.run(
        [cli_binary(), "encode", "--model", str(run), "--data", str(tmp_path / "counts.npy"), "--out", str(tmp_path / "h.npy")],
        check=True,
    )
    want = np.load(tmp_path / "h.npy")
    assert np.array_equal(cli.transform(counts), want)
    assert np.array_equal(ours.transform(counts), want)
    # without the transform the codes differ: it is really applied
    plain = Autoencoder.load(run)
    assert not np.array_equal(Autoencoder.from_config(config, data_transform=None).fit(counts).transform(counts), want)
    ours.save(tmp_path / "py")
    assert os.path.exists(tmp_path / "py" / "transform.json")
    for other in (Autoencoder.load(tmp_path / "py"), pickle.loads(pickle.dumps(ours)), plain):
        assert np.array_equal(other.transform(counts), want)
    # the ONNX graph holds the transform too: raw counts in, the model's codes out
    ours.export_onnx(tmp_path / "m.onnx", part="encoder")
    try:
        import onnxruntime as ort
    except ImportError:
        pass
    else:
        sess = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
        assert np.max(np.abs(sess.run(None, {"x": counts})[0] - want)) <= 1e-5
    with pytest.raises(ValueError, match="call fit first"):
        Autoencoder.from_config(config).partial_fit(counts)
    with pytest.raises(ValueError, match="30 features"):
        ours.transform(counts[:, :30])


def test_verbose_progress_uses_tqdm_when_installed_else_lines(monkeypatch, capsys):
    """verbose=True: one tqdm bar of `epochs` steps with the losses as postfix when tqdm
    imports, one line per epoch on stderr when it does not."""
    import sys
    import types

    x, _ = mnist(200)
    calls = []

    class Bar:
        def __init__(self, **kw):
            calls.append(("new", kw))

        def set_postfix(self, **kw):
            calls.append(("postfix", kw))

        def update(self, n):
            calls.append(("update", n))

        def close(self):
            calls.append(("close", None))

    monkeypatch.setitem(sys.modules, "tqdm", types.SimpleNamespace(tqdm=Bar))
    small(verbose=True, epochs=3, validation_fraction=0.2).fit(x)
    assert calls[0] == ("new", {"unit": "epoch", "desc": "fit", "total": 3})
    assert [c for c in calls if c[0] == "update"] == [("update", 1)] * 3
    assert {"train_loss", "val_loss"} <= set(calls[1][1])
    assert calls[-1] == ("close", None)
    assert "epoch" not in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm now raises ImportError
    small(verbose=True, epochs=2).fit(x)
    assert capsys.readouterr().err.count("train loss") == 2


def test_every_config_key_is_a_keyword_or_listed_as_not_one():
    """The keyword lists come from the library's config schema: a [model] or [train] key added
    there must become a keyword of `Autoencoder` (or be listed, with why, as not one)."""
    from autoencoder import _native
    from autoencoder._estimator import _KEYWORDS, _MODEL_KEYS, _NOT_KEYWORDS, _TRAIN_KEYS

    for section, exposed in (("model", _MODEL_KEYS), ("train", _TRAIN_KEYS)):
        keys = set(_native.config_keys(section))
        assert keys == set(exposed) | _NOT_KEYWORDS[section], section
        assert not (_NOT_KEYWORDS[section] & _KEYWORDS), section
    # and the keywords set exactly what they name, each to its value
    est = Autoencoder(code=3, learning_rate=0.5, corruption="masking", corruption_level=0.2)
    params = est.get_params()
    assert params["code"] == 3 and params["learning_rate"] == 0.5 and params["corruption_level"] == 0.2
    assert set(params) == set(_KEYWORDS)
    config = est._config()
    assert config["model"] == {"code": 3}
    assert config["train"] == {"learning_rate": 0.5}
    assert config["corruption"] == {"kind": "masking", "level": 0.2}


CONV_ENCODER = [{"conv": 4, "kernel": 3, "padding": 1}, {"pool": "max", "size": 2}, {"conv": 8, "kernel": 3, "stride": 2, "padding": 1}]


def test_a_conv_model_on_4d_images_gives_the_clis_bytes_and_keeps_shapes(tmp_path):
    x, _ = mnist(300)
    images = x.reshape(-1, 1, 28, 28)
    np.save(tmp_path / "x.npy", images)
    config = tmp_path / "c.toml"
    config.write_text(
        "[model]\nencoder = [{ conv = 4, kernel = 3, padding = 1 }, { pool = \"max\", size = 2 }, "
        "{ conv = 8, kernel = 3, stride = 2, padding = 1 }]\ncode = 8\nactivation = \"relu\"\n"
        "[train]\nepochs = 2\nbatch_size = 50\nseed = 3\n"
    )
    run = tmp_path / "run"
    cli_train(config, tmp_path / "x.npy", run)
    ours = Autoencoder(encoder=CONV_ENCODER, code=8, activation="relu", epochs=2, batch_size=50, seed=3).fit(images)
    assert_same_weights(Autoencoder.load(run), ours)
    assert ours.transform(images).shape == (300, 8)
    assert ours.reconstruct(images).shape == (300, 1, 28, 28)
    assert ours.inverse_transform(ours.transform(images[:5])).shape == (5, 1, 28, 28)
    # 2-D rows with input_shape: the same model
    flat = Autoencoder(encoder=CONV_ENCODER, code=8, activation="relu", epochs=2, batch_size=50, seed=3,
                       input_shape=[1, 28, 28]).fit(x)
    assert_same_weights(flat, ours)
    # without a dense code, the code is an image
    img = Autoencoder(encoder=CONV_ENCODER, activation="relu", epochs=1, batch_size=50).fit(images)
    assert img.transform(images[:3]).shape == (3, 8, 7, 7)
    assert img.inverse_transform(img.transform(images[:3])).shape == (3, 1, 28, 28)


def test_conv_config_mistakes_are_value_errors_naming_the_layer():
    x, _ = mnist(100)
    with pytest.raises(ValueError, match=r"model.encoder\[0\]"):
        Autoencoder(encoder=[{"conv": 2, "kernel": 3}], epochs=1).fit(x)  # flat rows, no input_shape
    with pytest.raises(ValueError, match=r"model.encoder\[1\].*kernel 9"):
        Autoencoder(encoder=[{"pool": "max", "size": 4}, {"conv": 2, "kernel": 9}], epochs=1).fit(x.reshape(-1, 1, 28, 28))


def test_cae_plus_h_is_deterministic_changes_the_fit_and_names_its_keys():
    """CAE+H's Hessian term (`hessian_weight`) through the deep estimate: the same seed gives
    the same model, the term changes it, and its settings without its weight are refused."""
    x = np.random.default_rng(0).random((200, 10)).astype(np.float32)
    common = dict(layers=[16], code=4, activation="tanh", code_activation="tanh",
                  output="gaussian", epochs=3, seed=1)
    cae = [{"kind": "contractive", "weight": 0.5, "directions": 2}]
    caeh = [dict(cae[0], hessian_weight=1.0, hessian_noise=0.2)]
    a = Autoencoder(regularizers=caeh, **common).fit(x).transform(x)
    b = Autoencoder(regularizers=caeh, **common).fit(x).transform(x)
    plain = Autoencoder(regularizers=cae, **common).fit(x).transform(x)
    assert np.array_equal(a, b)
    assert not np.allclose(a, plain)
    with pytest.raises(ValueError, match=r"regularizer\[0\]\.hessian_noise"):
        Autoencoder(code=4, regularizers=[{"kind": "contractive", "weight": 0.5, "hessian_noise": 0.2}]).fit(x)
