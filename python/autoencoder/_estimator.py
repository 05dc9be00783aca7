"""The `Autoencoder` estimator: scikit-learn's conventions on the Rust engine.

`__init__` stores hyperparameters only (every key of the TOML config's `[model]`, `[train]`,
`[corruption]`, `[[regularizer]]` and `[pretrain]` sections, as keyword arguments; `None` means
the config's own default, so the CLI and Python share one set of defaults). `fit` validates the
data, builds the config and trains; fitted state lives in trailing-underscore attributes.
"""

from __future__ import annotations

import inspect
import json
import math
import os
import warnings

import numpy as np

from . import _native

class InputError(ValueError, TypeError):
    """Bad input data: a `ValueError` (this package's convention and the CLI's) that is also
    a `TypeError` where numpy or scikit-learn would raise one (objects that are not numbers)."""


def _as_float32_2d(X, name="X"):
    """A C-contiguous float32 2-D array (no copy when X already is one). The messages keep
    scikit-learn's wording where its estimator checks look for it."""
    if hasattr(X, "toarray") and not isinstance(X, np.ndarray):
        raise TypeError(f"{name}: sparse input is not supported; pass a dense array")
    try:
        a = np.asarray(X)
    except Exception as e:  # ragged lists and the like
        raise ValueError(f"{name}: cannot be read as a 2-D array of numbers ({e})") from None
    if a.dtype.kind == "c":
        raise ValueError(f"{name}: Complex data not supported (dtype {a.dtype})")
    if a.dtype.kind not in "biuf":
        try:
            a = a.astype(np.float32)
        except (TypeError, ValueError) as e:
            raise InputError(f"{name}: dtype {a.dtype} is not numeric ({e})") from None
    if a.ndim != 2:
        raise ValueError(
            f"{name}: expected a 2-D array (n_samples, n_features), got {a.ndim}-D. "
            "Reshape your data: X.reshape(1, -1) for a single sample, X.reshape(-1, 1) for a single feature"
        )
    if a.shape[0] == 0:
        raise ValueError(f"{name}: Found array with 0 sample(s) (shape={a.shape}) while a minimum of 1 is required.")
    if a.shape[1] == 0:
        raise ValueError(f"{name}: Found array with 0 feature(s) (shape={a.shape}) while a minimum of 1 is required.")
    return np.ascontiguousarray(a, dtype=np.float32)


def _flatten_images(X, name="X"):
    """Images `(n, C, H, W)` or `(n, H, W)` as rows `(n, C·H·W)` and their `(C, H, W)`;
    anything else as it is, with `None`."""
    if isinstance(X, np.ndarray) and X.ndim in (3, 4):
        shape = (1,) + X.shape[1:] if X.ndim == 3 else X.shape[1:]
        if X.shape[0] == 0 or 0 in shape:
            raise ValueError(f"{name}: Found array with shape {X.shape}; images need at least 1 sample and 1 pixel")
        return X.reshape(X.shape[0], -1), tuple(int(v) for v in shape)
    return X, None


def _binom_cdf(k, n, p):
    """P(Binomial(n, p) ≤ k) for an array of `p`: the regularized incomplete beta function
    I_{1−p}(n − k, k + 1), by its continued fraction (Numerical Recipes' betacf), so that
    scipy is not needed."""
    p = np.asarray(p, dtype=np.float64)
    if k < 0:
        return np.zeros_like(p)
    if k >= n:
        return np.ones_like(p)
    return _betainc(float(n - k), float(k + 1), 1.0 - p)


def _betainc(a, b, x):
    x = np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0)
    out = np.empty_like(x)
    direct = x < (a + 1.0) / (a + b + 2.0)
    out[direct] = _betainc_cf(a, b, x[direct])
    out[~direct] = 1.0 - _betainc_cf(b, a, 1.0 - x[~direct])
    return out


def _betainc_cf(a, b, x):
    tiny = 1e-300
    inside = (x > 0.0) & (x < 1.0)
    xs = np.where(inside, x, 0.5)
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * np.log(xs) + b * np.log1p(-xs)
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = np.ones_like(xs)
    d = 1.0 - qab * xs / qap
    d = 1.0 / np.where(np.abs(d) < tiny, tiny, d)
    h = d.copy()
    # about √max(a, b) terms for convergence; n up to millions of training rows
    for m in range(1, 20_000):
        m2 = 2 * m
        for aa in (m * (b - m) * xs / ((qam + m2) * (a + m2)), -(a + m) * (qab + m) * xs / ((a + m2) * (qap + m2))):
            d = 1.0 + aa * d
            d = 1.0 / np.where(np.abs(d) < tiny, tiny, d)
            c = 1.0 + aa / c
            c = np.where(np.abs(c) < tiny, tiny, c)
            delta = d * c
            h = h * delta
        if np.all(np.abs(delta - 1.0) < 1e-12):
            break
    value = np.exp(log_front) * h / a
    return np.where(inside, value, np.where(x >= 1.0, 1.0, 0.0))


def _npy_files(X):
    """`X` as a list of `.npy` paths (data streamed from disk, as `train --stream` reads it),
    or `None` when it is an array."""
    if isinstance(X, (list, tuple)) and X and all(isinstance(p, (str, os.PathLike)) for p in X):
        paths = [os.fspath(p) for p in X]
        for p in paths:
            if not p.lower().endswith(".npy"):
                raise ValueError(f"X: {p}: a list of files must hold .npy files")
        return paths
    return None


def _check_feature_names(est, X, reset):
    """`feature_names_in_` as scikit-learn keeps it (DataFrame column names: set by fit, checked
    with a warning or error by the other methods); nothing without scikit-learn."""
    try:
        from sklearn.utils.validation import _check_feature_names as check
    except ImportError:  # pragma: no cover - scikit-learn is optional
        return
    check(est, X, reset=reset)


class _Params:
    """get_params/set_params as scikit-learn's BaseEstimator has them, for when it is absent."""

    @classmethod
    def _get_param_names(cls):
        sig = inspect.signature(cls.__init__)
        return sorted(p.name for p in sig.parameters.values() if p.name != "self")

    def get_params(self, deep=True):
        """The hyperparameters, as passed to `__init__`."""
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params):
        """Sets hyperparameters; unknown names raise `ValueError`."""
        valid = set(self._get_param_names())
        for key, value in params.items():
            if key not in valid:
                raise ValueError(f"Invalid parameter {key!r} for estimator {type(self).__name__}")
            setattr(self, key, value)
        return self

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items() if v is not None)
        return f"{type(self).__name__}({args})"


try:  # with scikit-learn installed, a real BaseEstimator (clone, pipelines, tags, HTML repr)
    from sklearn.base import BaseEstimator as _Base
    from sklearn.base import TransformerMixin as _Transformer

    _BASES = (_Transformer, _Base)
except ImportError:  # pragma: no cover - exercised where scikit-learn is absent
    _BASES = (_Params,)


class Autoencoder(*_BASES):
    """An autoencoder of Goodfellow, Bengio & Courville ch. 14, trained by the Rust engine.

    Every keyword is a key of the CLI's TOML config (see the README); `None` keeps the
    config's default. Sections: `[model]` (layers, code, activation, code_activation,
    output, tied, decoder_layers, init, code_distribution); `[train]` (epochs, batch_size,
    optimizer, learning_rate, …, threads, rule); `corruption` (e.g. "masking") with
    `corruption_level`; `regularizers`, a list of dicts such as
    `{"kind": "contractive", "weight": 0.1}`; `pretrain`, a dict such as `{"kind": "rbm"}`;
    `data_transform` (`[data] transform`: "tfidf", "log1p", "binary" or "standardize"), fitted on the
    training data by `fit`, saved with the model and applied to every input (raw counts in).

    Anomaly detection follows PyOD: `contamination` (or `threshold_percentile`) sets
    `threshold_` from the training scores; `decision_function` is higher for more abnormal
    samples and `predict` gives 0 (inlier) or 1 (outlier).

    Watching a fit: `fit(X, callbacks=[...])` calls each callable with every epoch's metrics
    dict (returning `True` stops); `tensorboard_dir` writes TensorBoard logs there (scalars
    per epoch, the training loss every `tensorboard_every` steps, histograms, images, and the
    projector's codes at the end). `checkpoint_dir`: a run folder written after every epoch
    (model, optimizer state, `metrics.jsonl`; rank 0 in a data-parallel fit); when it already
    holds a checkpoint, `fit` continues from it (same config and world size) — a restart after
    a crash resumes at the last whole epoch.

    Fitted attributes: `model_` (the engine's model), `n_features_in_`, `history_` (one dict
    per epoch), `stop_reason_` (`"completed"`, `"early_stopped"`, `"requested"`, …),
    `defaults_` (the settings chosen from the data when no architecture was given: key →
    value and why), and PyOD's `decision_scores_`, `threshold_` and `labels_` (training data);
    `predict_proba(X, method="linear" | "unify")` and `predict_confidence(X)` as PyOD has them.

    `Autoencoder()` with no architecture (no `layers`, `code` or `encoder`) chooses its settings
    from the data: the output and an input transform from the value range ([0, 1] → Bernoulli;
    counts → log1p; other tables → standardized columns, Gaussian), the code from the width,
    batches, epochs and early stopping from the row count; keywords given still win.
    """

    def __init__(
        self,
        *,
        layers=None,
        code=None,
        input_shape=None,
        encoder=None,
        decoder=None,
        activation=None,
        code_activation=None,
        output=None,
        tied=None,
        decoder_layers=None,
        init=None,
        code_distribution=None,
        epochs=None,
        batch_size=None,
        optimizer=None,
        learning_rate=None,
        momentum=None,
        nesterov=None,
        line_searches=None,
        beta1=None,
        beta2=None,
        eps=None,
        seed=None,
        validation_fraction=None,
        patience=None,
        schedule=None,
        step_every=None,
        step_gamma=None,
        min_learning_rate=None,
        stage_growth=None,
        stage_decay=None,
        threads=None,
        drop_last=None,
        shuffle=None,
        beta=None,
        importance_samples=None,
        kl_warmup_epochs=None,
        binarize=None,
        rule=None,
        recirculation_lambda=None,
        reconstruction_weight=None,
        corruption=None,
        corruption_level=None,
        regularizers=None,
        pretrain=None,
        data_transform=None,
        contamination=0.1,
        threshold_percentile=None,
        tensorboard_dir=None,
        tensorboard_every=None,
        checkpoint_dir=None,
        verbose=False,
    ):
        # scikit-learn's convention: store every keyword as it was given, nothing else
        for name, value in locals().items():
            if name != "self":
                setattr(self, name, value)

    # --- configs ---------------------------------------------------------------------------

    def _config(self, image_shape=None):
        """The config dict (the TOML config's sections) that these hyperparameters give;
        `image_shape` (C, H, W) is the data's when it came as images."""
        model = {k: getattr(self, k) for k in _MODEL_KEYS if getattr(self, k) is not None}
        for k in ("layers", "decoder_layers", "input_shape"):
            if k in model:
                model[k] = [int(v) for v in model[k]]
        for k in ("encoder", "decoder"):
            if k in model:
                model[k] = [dict(layer) for layer in model[k]]
        if image_shape is not None and "input_shape" not in model and "encoder" in model:
            model["input_shape"] = [int(v) for v in image_shape]
        train = {k: getattr(self, k) for k in _TRAIN_KEYS if getattr(self, k) is not None}
        config = {"model": model, "train": train}
        if self.corruption is not None:
            config["corruption"] = {"kind": self.corruption, "level": self.corruption_level if self.corruption_level is not None else 0.0}
        elif self.corruption_level is not None:
            raise ValueError("corruption_level is set but corruption is not (e.g. corruption='masking')")
        if self.regularizers:
            config["regularizer"] = [dict(r) for r in self.regularizers]
        if self.pretrain is not None:
            config["pretrain"] = dict(self.pretrain)
        if self.data_transform is not None:
            config["data"] = {"transform": self.data_transform}
        return config

    @classmethod
    def from_config(cls, path, **overrides):
        """An estimator with the hyperparameters of a CLI TOML config file."""
        config = json.loads(_native.config_toml_to_json(os.fspath(path)))
        if config.get("model", {}).get("kind", "autoencoder") != "autoencoder":
            raise ValueError(f"{path}: model.kind = {config['model']['kind']!r}; Autoencoder needs an autoencoder config")
        params = {}
        for k, v in config.get("model", {}).items():
            if k in _MODEL_KEYS:
                params[k] = v
        for k, v in config.get("train", {}).items():
            if k in _TRAIN_KEYS:
                params[k] = v
        if config.get("corruption"):
            params["corruption"] = config["corruption"]["kind"]
            params["corruption_level"] = config["corruption"]["level"]
        if config.get("regularizer"):
            params["regularizers"] = config["regularizer"]
        if config.get("pretrain"):
            params["pretrain"] = config["pretrain"]
        if config.get("data", {}).get("transform", "none") != "none":
            params["data_transform"] = config["data"]["transform"]
        params.update(overrides)
        return cls(**params)

    # --- fitting ---------------------------------------------------------------------------

    def fit(self, X, y=None, X_val=None, callbacks=None, reducer=None):
        """Trains on `X` (n_samples × n_features, or images), validating on `X_val` or on the
        config's held-out fraction. `y` does not train anything; with `tensorboard_dir` it
        labels the projector's points. Ctrl-C stops between batches and keeps the model of the
        last whole epoch (then re-raises KeyboardInterrupt).

        `callbacks`: callables, each called after every epoch with that epoch's metrics dict
        (the row `metrics.jsonl` gets: `epoch`, `train_loss`, `validation_loss`, …). One that
        returns `True` stops training after that epoch, keeping the best model as early
        stopping does (`stop_reason_` is then `"requested"`); an exception in one stops
        training and propagates.

        `reducer` (`autoencoder.distributed.MpiReducer()`, `TorchReducer()`, …): this process
        is one worker of a data-parallel fit and `X` holds its rows; every step's gradient is
        averaged across the workers (see `autoencoder.distributed`)."""
        files = _npy_files(X)
        if files is None:
            _check_feature_names(self, X, reset=True)
            X, image_shape = _flatten_images(X)
            X = _as_float32_2d(X)
        else:
            X, image_shape = files, None
        X_val = None if X_val is None else _as_float32_2d(_flatten_images(X_val, "X_val")[0], "X_val")
        self._check_anomaly_params()
        callbacks = [] if callbacks is None else list(callbacks)
        for c in callbacks:
            if not callable(c):
                raise ValueError(f"callbacks: {c!r} is not callable")
        labels = None
        if y is not None and self.tensorboard_dir is not None:
            y = np.asarray(y)
            if files is not None:
                raise ValueError("y: labels go with an array X, not with a list of .npy files")
            if y.ndim != 1 or y.shape[0] != X.shape[0]:
                raise ValueError(f"y: expected {X.shape[0]} labels (one per row of X), got shape {y.shape}")
            labels = [str(v) for v in y.tolist()]
        every = 10 if self.tensorboard_every is None else int(self.tensorboard_every)
        if every < 0:
            raise ValueError(f"tensorboard_every = {self.tensorboard_every}: must be 0 (per epoch only) or more")
        tb_dir = None if self.tensorboard_dir is None else os.fspath(self.tensorboard_dir)
        ck_dir = None if self.checkpoint_dir is None else os.fspath(self.checkpoint_dir)
        model, history, stopped, reason, chosen = _native.NativeModel.fit(
            json.dumps(self._config(image_shape)), X, X_val, bool(self.verbose),
            callbacks, tb_dir, every, labels, reducer, ck_dir,
        )
        self.model_ = model
        self.stop_reason_ = reason
        self.defaults_ = {c["key"]: {"value": c["value"], "why": c["why"]} for c in json.loads(chosen)}
        self.history_ = json.loads(history)
        if files is None:
            self.n_features_in_ = X.shape[1]
            self._set_threshold(X)
        else:
            # scored a file at a time (memory-mapped), as the fit read them
            parts = [np.load(f, mmap_mode="r") for f in files]
            self.n_features_in_ = int(np.prod(parts[0].shape[1:]))
            self._set_threshold_from(np.concatenate([self.decision_function(np.asarray(p, np.float32).reshape(p.shape[0], -1)) for p in parts]))
        if stopped == "interrupted":
            raise KeyboardInterrupt("training interrupted; the model of the last whole epoch is kept")
        if stopped is not None:
            warnings.warn(stopped, RuntimeWarning, stacklevel=2)
        return self

    def partial_fit(self, X, y=None):
        """One pass over the chunk `X`, continuing the model (weights, optimizer moments, random
        stream) of earlier `partial_fit` calls, or of `fit`; the first call on an unfitted
        estimator starts a fresh model from `seed` (no pretraining). For data that arrives in
        chunks: the learning rate is constant, nothing is held out, nothing stops early.
        `threshold_` is set from this chunk's scores."""
        previous = getattr(self, "model_", None)
        _check_feature_names(self, X, reset=previous is None)
        X = _as_float32_2d(X)
        self._check_anomaly_params()
        if previous is not None and X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} is expecting {self.n_features_in_} features as input")
        model, history = _native.NativeModel.partial_fit(json.dumps(self._config()), X, previous)
        self.model_ = model
        self.n_features_in_ = X.shape[1]
        self.history_ = getattr(self, "history_", []) + json.loads(history)
        self._set_threshold(X)
        return self

    def _check_anomaly_params(self):
        if self.threshold_percentile is not None:
            if not 0.0 <= float(self.threshold_percentile) <= 100.0:
                raise ValueError(f"threshold_percentile = {self.threshold_percentile}: must be in [0, 100]")
        elif not 0.0 < float(self.contamination) <= 0.5:
            raise ValueError(f"contamination = {self.contamination}: must be in (0, 0.5]")

    def _set_threshold(self, X):
        self._set_threshold_from(self.decision_function(X))

    def _set_threshold_from(self, scores):
        self.decision_scores_ = scores
        pct = self.threshold_percentile if self.threshold_percentile is not None else 100.0 * (1.0 - float(self.contamination))
        self.threshold_ = float(np.percentile(self.decision_scores_, pct))
        # PyOD's fitted labels of the training rows: 1 = outlier
        self.labels_ = (self.decision_scores_ > self.threshold_).astype(np.int64)

    def _check_fitted(self):
        if not hasattr(self, "model_"):
            raise _not_fitted_error(self)

    def _check_X(self, X, name="X"):
        self._check_fitted()
        _check_feature_names(self, X, reset=False)
        X = _as_float32_2d(_flatten_images(X, name)[0], name)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"{name} has {X.shape[1]} features, but {type(self).__name__} is expecting {self.n_features_in_} features as input")
        return X

    def _threads(self, threads):
        return int(threads if threads is not None else (self.threads or 0))

    # --- the verbs -------------------------------------------------------------------------

    def _spec(self):
        return json.loads(self.model_.spec_json())

    def _code_shape(self):
        """(C, H, W) when the code is an image (a convolutional encoder without a dense code),
        else None."""
        shape = self.model_.code_shape()
        return tuple(shape) if len(shape) == 3 else None

    def _image_shape(self):
        shape = self.model_.input_shape()
        return tuple(shape) if len(shape) == 3 else None

    def transform(self, X, threads=None):
        """The codes `h = f(x)` (the mean of a Gaussian code): `(n, code)`, or `(n, C, H, W)`
        when a convolutional encoder's output is the code."""
        X = self._check_X(X)
        H = self.model_.encode(X, self._threads(threads))
        shape = self._code_shape()
        return H if shape is None else H.reshape((H.shape[0],) + shape)

    def fit_transform(self, X, y=None, **fit_params):
        """`fit`, then `transform` of the same data."""
        return self.fit(X, y, **fit_params).transform(X)

    def inverse_transform(self, H, threads=None):
        """Decodes codes: `g(h)` (the decoder's means)."""
        self._check_fitted()
        H = _as_float32_2d(_flatten_images(H, "codes")[0], "codes")
        if H.shape[1] != self.model_.code_size:
            raise ValueError(f"codes have {H.shape[1]} columns, the model's code has {self.model_.code_size}")
        R = self.model_.decode(H, self._threads(threads))
        return self._as_input_shape(R)

    def _as_input_shape(self, R):
        shape = self._image_shape()
        return R if shape is None else R.reshape((R.shape[0],) + tuple(shape))

    def reconstruct(self, X, threads=None):
        """`g(f(x))`, in the input's shape (`(n, C, H, W)` for images)."""
        X = self._check_X(X)
        return self._as_input_shape(self.model_.reconstruct(X, self._threads(threads)))

    def score_samples(self, X, samples=16, seed=0, threads=None):
        """Higher is more normal: the negative reconstruction loss of each sample (for a
        Gaussian-code model, the negative `−log p(x)` estimate with `samples` importance
        samples; 1 = the ELBO)."""
        X = self._check_X(X)
        if json.loads(self.model_.spec_json()).get("code_distribution") == "gaussian":
            return -self.model_.example_nll(X, int(samples), int(seed), self._threads(threads))
        return -self.model_.example_losses(X, self._threads(threads))

    def score(self, X, y=None):
        """Mean of `score_samples` (higher is better)."""
        return float(np.mean(self.score_samples(X)))

    def decision_function(self, X):
        """Anomaly score, higher = more abnormal (PyOD's convention): `−score_samples`."""
        return -self.score_samples(X)

    def predict(self, X):
        """1 for outliers (decision function above `threshold_`), 0 for inliers."""
        self._check_fitted()
        return (self.decision_function(X) > self.threshold_).astype(np.int64)

    def predict_proba(self, X, method="linear"):
        """Outlier probability as PyOD gives it, `(n, 2)`: column 1 is P(outlier). `"linear"`:
        the score min–max scaled by the training scores' range, clipped to [0, 1]; `"unify"`
        (Kriegel et al. 2011): `erf((score − μ) / (σ√2))` of the training scores' mean and
        deviation, clipped to [0, 1]."""
        self._check_fitted()
        scores = np.asarray(self.decision_function(X), dtype=np.float64)
        train = np.asarray(self.decision_scores_, dtype=np.float64)
        if method == "linear":
            lo, hi = train.min(), train.max()
            p = (scores - lo) / (hi - lo if hi > lo else 1.0)
        elif method == "unify":
            sigma = train.std()
            z = (scores - train.mean()) / ((sigma if sigma > 0 else 1.0) * np.sqrt(2.0))
            p = np.vectorize(math.erf, otypes=[np.float64])(z)
        else:
            raise ValueError(f"method = {method!r}: must be 'linear' or 'unify'")
        p = np.clip(p, 0.0, 1.0)
        return np.column_stack([1.0 - p, p])

    def predict_confidence(self, X):
        """PyOD's confidence in each `predict` label (ExCeeD, Perini et al. 2020): with `k` of
        the `n` training scores at or below a score, `p = (1 + k) / (2 + n)` and the
        confidence that it is an outlier `1 − BinomCDF(n − ⌊n·contamination⌋; n, p)`;
        for an inlier prediction, one minus that."""
        self._check_fitted()
        scores = np.asarray(self.decision_function(X), dtype=np.float64)
        train = np.sort(np.asarray(self.decision_scores_, dtype=np.float64))
        n = train.size
        below = np.searchsorted(train, scores, side="right")
        p = (1.0 + below) / (2.0 + n)
        contamination = float(self.contamination) if self.threshold_percentile is None else 1.0 - float(self.threshold_percentile) / 100.0
        k = n - int(n * contamination)
        confidence = 1.0 - _binom_cdf(k, n, p)
        outlier = scores > self.threshold_
        return np.where(outlier, confidence, 1.0 - confidence)

    def sample(self, n, seed=0):
        """`n` draws of a Gaussian-code model (decoder means of prior codes)."""
        self._check_fitted()
        return self.model_.sample(int(n), int(seed))

    def export_onnx(self, path, part="encoder"):
        """Writes `part` ("encoder", "decoder", "autoencoder" or "hash") as an ONNX model (opset
        13, symbolic batch dimension; input `x` or `h`, output `h`, `reconstruction`, or for
        "hash" `codes`: the code thresholded at 0.5 and packed, uint8, FAISS bit order)."""
        self._check_fitted()
        data = self.model_.export_onnx(str(part))
        path = os.fspath(path)
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        return path

    # --- persistence -----------------------------------------------------------------------

    def save(self, path):
        """Writes a CLI run folder (model.safetensors, spec.json, config.toml)."""
        self._check_fitted()
        self.model_.save(os.fspath(path), json.dumps(self._config()))
        return self

    @classmethod
    def load(cls, path):
        """Loads a run folder written by the CLI's `train` or by `save`."""
        path = os.fspath(path)
        config_path = os.path.join(path, "config.toml")
        est = cls.from_config(config_path) if os.path.exists(config_path) else cls()
        est.model_ = _native.NativeModel.load(path)
        est.n_features_in_ = est.model_.input_size
        est.history_ = []
        return est

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # codes are float32 whatever the input's float type (the engine computes in float32)
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags

    def __getstate__(self):
        state = self.__dict__.copy()
        if "model_" in state:
            model = state["model_"]
            state["model_"] = (model.to_bytes(), model.transform_json())
        return state

    def __setstate__(self, state):
        if "model_" in state:
            state["model_"] = _native.NativeModel.from_bytes(*state["model_"])
        self.__dict__.update(state)


def _not_fitted_error(est):
    try:
        from sklearn.exceptions import NotFittedError
    except ImportError:  # scikit-learn is optional

        class NotFittedError(ValueError, AttributeError):
            pass

    return NotFittedError(
        f"This {type(est).__name__} instance is not fitted yet. Call 'fit' with appropriate arguments before using this estimator."
    )


# The estimator's keywords are its `__init__`'s (scikit-learn reads them from there). Which
# config section each belongs to comes from the library (`_native.config_keys`), so the schema
# is written once; the keys of a section that no keyword sets are listed here, with why.
_NOT_KEYWORDS = {
    # other model kinds (RBM, PSD) and the binary code's settings, which the CLI's config sets
    "model": frozenset(
        {"kind", "hidden", "atoms", "predictor", "lista_steps", "visible_units", "hidden_units", "binary", "binary_noise"}
    ),
    # the older pretraining key (use `pretrain=`) and RBM runs' keys
    "train": frozenset({"pretrain_epochs", "cd_steps", "persistent"}),
}
_KEYWORDS = frozenset(inspect.signature(Autoencoder.__init__).parameters) - {"self"}
_MODEL_KEYS = tuple(k for k in _native.config_keys("model") if k in _KEYWORDS)
_TRAIN_KEYS = tuple(k for k in _native.config_keys("train") if k in _KEYWORDS)
