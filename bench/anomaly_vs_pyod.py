"""Anomaly detection on MNIST one-class splits: our `Autoencoder.score_samples` against PyOD's
`AutoEncoder` with the same layer sizes, epochs, batch size and learning rate, same run.

For each digit d: fit on the training images of d only (about 6,000), score the 10,000 test
images, anomalies = the other digits; ROC-AUC of the anomaly score (`decision_function`, higher =
more abnormal, for both) and each fit's wall time, 2 threads each.

    python bench/anomaly_vs_pyod.py MNIST_DIR [--epochs 10] [--digits 0 1 ...] [--threads 2]

Prints one JSON line per digit and method, then the means.
"""

import argparse
import json
import os
import statistics
import time

import numpy as np
from sklearn.metrics import roc_auc_score

from autoencoder import Autoencoder
from common import find_mnist, load_idx_images


def load_labels(path):
    import gzip

    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    return np.frombuffer(raw, np.uint8, offset=8).astype(np.int64)


def labels_of(images):
    folder, name = os.path.split(images)
    return load_labels(os.path.join(folder, name.replace("images", "labels").replace("idx3", "idx1")))


p = argparse.ArgumentParser()
p.add_argument("data")
p.add_argument("--epochs", type=int, default=10)
p.add_argument("--batch-size", type=int, default=64)
p.add_argument("--digits", type=int, nargs="*", default=list(range(10)))
p.add_argument("--threads", type=int, default=2)
p.add_argument("--hidden", type=int, nargs="*", default=[128, 64, 32], help="encoder widths, the last is the code")
a = p.parse_args()

import torch  # noqa: E402
from pyod.models.auto_encoder import AutoEncoder as PyODAutoEncoder  # noqa: E402

torch.set_num_threads(a.threads)
train_path, test_path = find_mnist(a.data, "train"), find_mnist(a.data, "t10k")
x_train, y_train = load_idx_images(train_path), labels_of(train_path)
x_test, y_test = load_idx_images(test_path), labels_of(test_path)

results = {"ours": [], "pyod": []}
for d in a.digits:
    normal = x_train[y_train == d]
    is_anomaly = (y_test != d).astype(np.int64)
    for method in ("ours", "pyod"):
        start = time.perf_counter()
        if method == "ours":
            est = Autoencoder(layers=a.hidden[:-1], code=a.hidden[-1], activation="relu",
                              code_activation="linear", epochs=a.epochs, batch_size=a.batch_size,
                              learning_rate=1e-3, validation_fraction=0.0, threads=a.threads, seed=0)
            est.fit(normal)
        else:
            est = PyODAutoEncoder(hidden_neuron_list=a.hidden, epoch_num=a.epochs, batch_size=a.batch_size,
                                  lr=1e-3, verbose=0, random_state=0)
            est.fit(normal)
        fit_seconds = time.perf_counter() - start
        auc = roc_auc_score(is_anomaly, est.decision_function(x_test))
        results[method].append((auc, fit_seconds))
        print(json.dumps({"digit": d, "method": method, "roc_auc": round(auc, 4), "fit_seconds": round(fit_seconds, 2),
                          "normal_training_images": int(len(normal))}), flush=True)
for method, rows in results.items():
    print(json.dumps({"method": method, "mean_roc_auc": round(statistics.mean(r[0] for r in rows), 4),
                      "median_fit_seconds": round(statistics.median(r[1] for r in rows), 2)}))
