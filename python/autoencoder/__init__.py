"""autoencoder: every autoencoder of Goodfellow, Bengio & Courville's *Deep Learning* ch. 14,
trained by a Rust engine, with scikit-learn's verbs.

    >>> from autoencoder import Autoencoder
    >>> ae = Autoencoder(layers=[256], code=32, epochs=10).fit(X)
    >>> codes = ae.transform(X); scores = ae.score_samples(X)
"""

from ._estimator import Autoencoder
from ._hashing import ITQ, LSH, PCAH, HammingIndex
from ._native import __version__

__all__ = ["Autoencoder", "LSH", "PCAH", "ITQ", "HammingIndex", "__version__"]
