#!/usr/bin/env bash
# Are PSD's codes useful features? (BENCHMARKS.md, "PSD codes as features"): train
# examples/psd.toml on the MNIST training images, encode train and test images with the
# predictor and with FISTA, and fit the same multinomial logistic regression (scikit-learn,
# lbfgs) on each, and on the raw pixels; prints test errors.
#
#   bench/psd_probe.sh MNIST_DIR OUT        (PYTHON: numpy + scikit-learn)
set -euo pipefail
AE=${AE:-target/release/autoencoder}
PY=${PYTHON:-python3}
data=${1:?MNIST folder}
out=${2:?output folder}
mkdir -p "$out"
train=$(ls "$data"/train-images* | head -1)
test=$(ls "$data"/t10k-images* | head -1)
"$AE" train --quiet --config examples/psd.toml --data "$train" --out "$out/psd"
for inference in predictor fista; do
  "$AE" encode --model "$out/psd" --data "$train" --out "$out/train_$inference.npy" --inference "$inference" --json > "$out/train_$inference.json"
  "$AE" encode --model "$out/psd" --data "$test" --out "$out/test_$inference.npy" --inference "$inference" --json > "$out/test_$inference.json"
done
"$PY" - "$data" "$out" <<'PY'
import json, os, sys, time
import numpy as np
from sklearn.linear_model import LogisticRegression
sys.path.insert(0, "bench")
from common import load_mnist
data, out = sys.argv[1:]
def labels(prefix):
    import gzip
    name = sorted(n for n in os.listdir(data) if n.startswith(prefix + "-labels"))[0]
    raw = (gzip.open if name.endswith(".gz") else open)(os.path.join(data, name), "rb").read()
    return np.frombuffer(raw, np.uint8, offset=8)
ytr, yte = labels("train"), labels("t10k")
xtr, xte = load_mnist(data)
sets = {"pixels": (xtr, xte)}
for inf in ("predictor", "fista"):
    sets[inf] = (np.load(f"{out}/train_{inf}.npy"), np.load(f"{out}/test_{inf}.npy"))
for name, (a, b) in sets.items():
    t = time.perf_counter()
    clf = LogisticRegression(max_iter=300).fit(a, ytr)
    zeros = float((b == 0).mean())
    print(json.dumps({"features": name, "width": a.shape[1], "test_error": round(1 - clf.score(b, yte), 4),
                      "zero_fraction": round(zeros, 3), "fit_seconds": round(time.perf_counter() - t, 1)}), flush=True)
PY
