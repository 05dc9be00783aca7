"""Binary hashing for retrieval: LSH, PCA hashing and ITQ as scikit-learn transformers that
emit packed uint8 codes (FAISS's bit order), and an exact Hamming index."""

from __future__ import annotations

import os

import numpy as np

from . import _native
from ._estimator import _BASES, _as_float32_2d, _check_feature_names, _not_fitted_error


class _Hasher(*_BASES):
    _method = None

    def __init__(self, n_bits=64, seed=0):
        self.n_bits = n_bits
        self.seed = seed

    def fit(self, X, y=None):
        """Fits the hyperplanes on `X`; `y` is ignored."""
        _check_feature_names(self, X, reset=True)
        X = _as_float32_2d(X)
        if int(self.n_bits) <= 0 or int(self.n_bits) % 8:
            raise ValueError(f"n_bits = {self.n_bits}: must be a positive multiple of 8")
        self.hasher_ = _native.NativeHasher.fit(self._method, X, int(self.n_bits), int(self.seed))
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):
        """Packed codes, `n × n_bits/8` uint8 (bit j of a code is bit j % 8 of byte j // 8)."""
        if not hasattr(self, "hasher_"):
            raise _not_fitted_error(self)
        _check_feature_names(self, X, reset=False)
        X = _as_float32_2d(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} is expecting {self.n_features_in_} features as input")
        return self.hasher_.encode(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []  # packed uint8 codes, whatever the input
        return tags

    def fit_transform(self, X, y=None):
        """`fit`, then `transform` of the same data."""
        return self.fit(X, y).transform(X)

    def __getstate__(self):
        state = self.__dict__.copy()
        if "hasher_" in state:
            h = state.pop("hasher_")
            state["_hasher_parts"] = (h.method, h.bits, h.dims, h.projection, h.offset)
        return state

    def __setstate__(self, state):
        parts = state.pop("_hasher_parts", None)
        self.__dict__.update(state)
        if parts is not None:
            self.hasher_ = _native.NativeHasher.from_parts(*parts)


class LSH(_Hasher):
    """Random hyperplanes through the data's mean (sign random projections)."""

    _method = "lsh"


class PCAH(_Hasher):
    """Signs of the centred top `n_bits` principal projections."""

    _method = "pcah"


class ITQ(_Hasher):
    """Iterative quantization (Gong & Lazebnik 2011): PCA, then a rotation that brings the
    projections close to their signs. `itq_loss_` traces the quantization loss."""

    _method = "itq"

    def fit(self, X, y=None):
        super().fit(X, y)
        self.itq_loss_ = self.hasher_.itq_loss
        return self


class HammingIndex:
    """Exact Hamming search over packed uint8 codes, as FAISS's `IndexBinaryFlat`."""

    def __init__(self, codes):
        codes = np.ascontiguousarray(codes)
        if codes.dtype != np.uint8 or codes.ndim != 2:
            raise ValueError(f"codes: expected a 2-D uint8 array of packed codes, got {codes.ndim}-D {codes.dtype}")
        self._index = _native.NativeHammingIndex(codes)

    def __len__(self):
        return len(self._index)

    @property
    def n_bits(self):
        return self._index.bits

    def _queries(self, queries):
        q = np.ascontiguousarray(queries)
        if q.dtype != np.uint8 or q.ndim != 2:
            raise ValueError(f"queries: expected a 2-D uint8 array of packed codes, got {q.ndim}-D {q.dtype}")
        return q

    def search(self, queries, k):
        """`(distances, ids)`, each `n_queries × k`, nearest first; −1 pads missing entries."""
        return self._index.search(self._queries(queries), int(k))

    def radius_search(self, queries, radius):
        """`(lims, distances, ids)`: query i's neighbours within `radius` are `lims[i]:lims[i+1]`."""
        return self._index.radius_search(self._queries(queries), int(radius))

    def save(self, path):
        """Writes the codes as .npy (atomically)."""
        path = os.fspath(path)
        tmp = path + ".tmp.npy"
        np.save(tmp, self._index.codes())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path):
        return cls(np.load(os.fspath(path)))

    def __getstate__(self):
        return {"codes": self._index.codes()}

    def __setstate__(self, state):
        self._index = _native.NativeHammingIndex(state["codes"])
