#!/usr/bin/env bash
# Issue 4 benchmark: plain, sparse, denoising, contractive (one hidden layer of 1000) and a
# stacked denoising autoencoder (3 × 1000) on MNIST 50k; for each: fine-tuned and linear-probe
# test error on the 10k test set, wall time, first-layer filters (report/filters.png).
# usage: bench/regularized.sh MNIST_DIR OUT_DIR [models...]
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:?MNIST dir}; out=${2:?out dir}; shift 2
models=${*:-ae sae dae cae sdae3}
python3 bench/mnist_splits.py --data "$data" --out "$out/splits" > /dev/null
bin=./target/release/autoencoder
for m in $models; do
  start=$(date +%s.%N)
  $bin train --config bench/configs/$m.toml --data "$out/splits/train50k-images-idx3-ubyte.gz" --out "$out/$m" --quiet
  mid=$(date +%s.%N)
  $bin probe --model "$out/$m" --train "$out/splits/train50k-images-idx3-ubyte.gz" --test "$out/splits/t10k-images-idx3-ubyte.gz" \
    --epochs 20 --fine-tune-epochs 30 --json > "$out/$m/probe.json"
  end=$(date +%s.%N)
  python3 - "$m" "$start" "$mid" "$end" "$out/$m/probe.json" <<'PY'
import json, sys
m, s, mid, e, p = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
r = json.load(open(p))
r.update(model=m, train_seconds=mid - s, probe_seconds=e - mid)
print(json.dumps(r))
PY
done
