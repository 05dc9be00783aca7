"""`Autoencoder()` with no arguments on tables, images and counts; PyOD's fitted attributes and
probability methods."""

import math

import numpy as np
import pytest

from autoencoder import Autoencoder

from test_autoencoder import mnist


def _table(n=400, d=30, seed=0):
    """Correlated measurements on very different scales, some negative."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 4))
    mix = rng.normal(size=(4, d))
    return ((z @ mix + 0.1 * rng.normal(size=(n, d))) * np.logspace(-2, 3, d)).astype(np.float32)


@pytest.mark.parametrize(
    "kind, transform, output",
    [("table", "standardize", "gaussian"), ("images", "none", "bernoulli"), ("counts", "log1p", "gaussian")],
)
def test_no_arguments_fit_tables_images_and_counts(kind, transform, output):
    rng = np.random.default_rng(1)
    if kind == "table":
        x = _table()
    elif kind == "images":
        x = mnist(500)[0]
    else:
        x = rng.poisson(rng.gamma(1.0, 3.0, size=(1, 40)), size=(300, 40)).astype(np.float32)
    a = Autoencoder().fit(x)
    chosen = {k: v["value"] for k, v in a.defaults_.items()}
    assert (chosen["data.transform"], chosen["model.output"]) == (transform, output)
    assert 1 <= chosen["model.code"] < x.shape[1]
    assert all(v["why"] for v in a.defaults_.values())
    assert a.transform(x).shape == (x.shape[0], chosen["model.code"])
    # it learned something: better than the mean row (in the space the model reconstructs)
    r = a.reconstruct(x)
    assert np.isfinite(r).all()
    assert len(a.history_) >= 2 and a.history_[-1]["train_loss"] < a.history_[0]["train_loss"]


def test_given_keywords_win_and_an_architecture_turns_the_choices_off():
    x = _table(200, 12)
    a = Autoencoder(epochs=3, batch_size=50).fit(x)
    assert len(a.history_) == 3 and "train.epochs" not in a.defaults_
    b = Autoencoder(layers=[8], code=3, epochs=2, output="gaussian").fit(x)
    assert b.defaults_ == {}


def test_standardized_table_beats_pca_of_the_raw_columns_on_held_out_rows():
    """On a table whose columns differ by 10^5 in scale, the chosen settings reconstruct
    held-out rows (in standardized units) better than PCA with as many components."""
    x = _table(1200, 30, seed=3)
    train, test = x[:1000], x[1000:]
    a = Autoencoder(seed=0).fit(train)
    k = a.defaults_["model.code"]["value"]
    mean, std = train.mean(0), train.std(0)
    z_test = (test - mean) / std
    ours = a.reconstruct(test)  # in the data's units (the standardize undone)
    err_ours = np.mean(((ours - mean) / std - z_test) ** 2)
    u, s, vt = np.linalg.svd(train - mean, full_matrices=False)
    pca = (test - mean) @ vt[:k].T @ vt[:k] + mean
    err_pca = np.mean(((pca - mean) / std - z_test) ** 2)
    assert err_ours < err_pca, (err_ours, err_pca)


def _binom_cdf_exact(k, n, p):
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k + 1))


def test_pyod_attributes_shapes_ranges_and_confidence():
    x = mnist(300)[0]
    a = Autoencoder(layers=[32], code=8, epochs=3, contamination=0.1).fit(x)
    assert a.labels_.shape == (300,) and set(np.unique(a.labels_)) <= {0, 1}
    np.testing.assert_array_equal(a.labels_, a.predict(x))
    for method in ("linear", "unify"):
        p = a.predict_proba(x, method=method)
        assert p.shape == (300, 2) and (p >= 0).all() and (p <= 1).all()
        np.testing.assert_allclose(p.sum(axis=1), 1.0)
    # linear: the training scores' min maps to 0 and max to 1
    lin = a.predict_proba(x, method="linear")[:, 1]
    assert lin[np.argmin(a.decision_scores_)] == 0.0 and lin[np.argmax(a.decision_scores_)] == 1.0
    with pytest.raises(ValueError, match="method"):
        a.predict_proba(x, method="softmax")
    conf = a.predict_confidence(x[:20])
    assert conf.shape == (20,) and (conf >= 0).all() and (conf <= 1).all()
    # ExCeeD by hand for one row (n = 300, exact binomial sum)
    s = a.decision_function(x[:1])[0]
    n = 300
    below = int(np.sum(a.decision_scores_ <= s))
    prob = (1 + below) / (2 + n)
    c = 1 - _binom_cdf_exact(n - int(n * 0.1), n, prob)
    want = c if s > a.threshold_ else 1 - c
    assert conf[0] == pytest.approx(want, abs=1e-9)


def test_conjugate_gradients_from_python_lowers_the_loss_and_checks_its_key():
    x, _ = mnist(300)
    est = Autoencoder(layers=[], code=16, optimizer="cg", line_searches=2, batch_size=300, epochs=6,
                      validation_fraction=0.0, patience=0, shuffle=False, seed=0, threads=1)
    est.fit(x)
    losses = [h["train_loss"] for h in est.history_]
    # one noise-free batch an epoch: every CG step only accepts decreases
    assert all(b < a for a, b in zip(losses, losses[1:])), losses
    with pytest.raises(ValueError, match="train.line_searches"):
        Autoencoder(layers=[], code=4, optimizer="cg", line_searches=0, epochs=1).fit(x[:50])
