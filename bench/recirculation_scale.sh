#!/usr/bin/env bash
# Recirculation against backprop at the same learning rate (SGD, momentum 0.9, batch 20), one
# hidden sigmoid layer: MNIST 784-256 (10 epochs) and scikit-learn's digits 64-32 (30 epochs).
#   bench/recirculation_scale.sh MNIST_DIR PYTHON_WITH_SKLEARN [LRS] [RULES]
# Prints one line per run: data, learning rate, rule, test squared error per image.
set -euo pipefail
mnist=$1; py=$2; lrs=${3:-"0.00625 0.025 0.1"}; rules=${4:-"backprop recirculation"}
bin=${BIN:-target/release/autoencoder}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
"$py" - "$work" <<'PY'
import sys, numpy as np
from sklearn.datasets import load_digits
x = load_digits().data.astype(np.float32) / 16
p = np.random.default_rng(0).permutation(len(x))
np.save(f"{sys.argv[1]}/digits_train.npy", x[p[:1400]]); np.save(f"{sys.argv[1]}/digits_test.npy", x[p[1400:]])
PY
for data in digits mnist; do
  if [ $data = mnist ]; then tr=$mnist/train-images.idx3-ubyte.gz; te=$mnist/t10k-images.idx3-ubyte.gz; code=256; ep=10
  else tr=$work/digits_train.npy; te=$work/digits_test.npy; code=32; ep=30; fi
  for lr in $lrs; do for rule in $rules; do
    printf '[model]\nlayers = []\ncode = %s\ncode_activation = "sigmoid"\noutput = "bernoulli"\n[train]\nrule = "%s"\nepochs = %s\nbatch_size = 20\noptimizer = "sgd"\nmomentum = 0.9\nlearning_rate = %s\npatience = 0\nthreads = 2\n' \
      $code $rule $ep $lr > "$work/c.toml"
    rm -rf "$work/r"; "$bin" train --config "$work/c.toml" --data "$tr" --out "$work/r" --quiet > /dev/null
    se=$("$bin" eval --model "$work/r" --data "$te" --json | "$py" -c "import json,sys; print(round(json.load(sys.stdin)['squared_error_per_example'],4))")
    echo "$data lr=$lr $rule test_se=$se"
  done; done
done
