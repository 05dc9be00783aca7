"""Our `embedding-quality` against scikit-learn on the same fixed inputs: trustworthiness
(and continuity = trustworthiness with the roles swapped) and k-NN accuracy of test points
against training points (KNeighborsClassifier, uniform weights).

    python bench/embedding_quality_vs_sklearn.py [--bin target/release/autoencoder]
Prints one line per quantity: ours, scikit-learn's, difference.
"""

import argparse
import json
import os
import subprocess
import tempfile

import numpy as np
from sklearn.manifold import trustworthiness
from sklearn.neighbors import KNeighborsClassifier

p = argparse.ArgumentParser()
p.add_argument("--bin", default=os.path.join(os.path.dirname(__file__), "..", "target", "release", "autoencoder"))
a = p.parse_args()
rng = np.random.default_rng(0)
worst = 0.0
with tempfile.TemporaryDirectory() as d:
    for n, dim, k in [(200, 10, 5), (500, 30, 12), (1000, 50, 7)]:
        x = rng.normal(size=(n, dim)).astype(np.float32)
        # a map that keeps some structure: a random projection plus noise
        y = (x @ rng.normal(size=(dim, 2)) + 0.5 * rng.normal(size=(n, 2))).astype(np.float32)
        labels = (x[:, 0] > 0).astype(np.int64) + 2 * (x[:, 1] > 0)
        paths = {name: os.path.join(d, f"{name}.npy") for name in ("x", "y", "l", "yt", "lt")}
        half = n // 2
        np.save(paths["x"], x)
        np.save(paths["y"], y)
        np.save(paths["l"], labels[half:])
        np.save(paths["yt"], y[:half])
        np.save(paths["lt"], labels[:half])
        ours = json.loads(subprocess.check_output([a.bin, "embedding-quality", "--high", paths["x"], "--low", paths["y"], "--k", str(k), "--json"]))
        test = os.path.join(d, "ytest.npy")
        np.save(test, y[half:])
        ours_knn = json.loads(subprocess.check_output([a.bin, "embedding-quality", "--low", test, "--labels", paths["l"], "--train-low", paths["yt"], "--train-labels", paths["lt"], "--k", str(k), "--json"]))
        theirs = {
            "trustworthiness": trustworthiness(x.astype(np.float64), y.astype(np.float64), n_neighbors=k),
            "continuity": trustworthiness(y.astype(np.float64), x.astype(np.float64), n_neighbors=k),
            "knn_test_accuracy": KNeighborsClassifier(n_neighbors=k).fit(y[:half], labels[:half]).score(y[half:], labels[half:]),
        }
        for key, v in theirs.items():
            mine = (ours_knn if key == "knn_test_accuracy" else ours)[key]
            worst = max(worst, abs(mine - v))
            print(f"n={n} d={dim} k={k} {key:<18} ours {mine:.9f} sklearn {v:.9f} diff {mine - v:+.2e}")
print(f"largest difference {worst:.2e}")
