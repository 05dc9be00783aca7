#!/usr/bin/env bash
# Issue 4 benchmark: plain, sparse, denoising (masking and Gaussian), contractive (one hidden
# layer of 1000), stacked plain and denoising autoencoders (3 × 1000) on MNIST 50k; for each:
# fine-tuned and linear-probe test error on the 10k test set, each classifier's epoch selected
# on the 10k validation images (as in the papers), wall times, first-layer filters
# (report/filters.png). One JSON line per model on stdout.
# usage: bench/regularized.sh MNIST_DIR OUT_DIR [models...]
# FT=epochs of fine-tuning (default 50).
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:?MNIST dir}; out=${2:?out dir}; shift 2
models=${*:-ae sae dae daeg cae sae3 sdae3}
ft=${FT:-50}
python3 bench/mnist_splits.py --data "$data" --out "$out/splits" > /dev/null
bin=./target/release/autoencoder
for m in $models; do
  start=$(date +%s.%N)
  # a second FT=… pass reuses the trained model
  [ -f "$out/$m/model.safetensors" ] ||
    $bin train --config bench/configs/$m.toml --data "$out/splits/train50k-images-idx3-ubyte.gz" --out "$out/$m" --quiet
  mid=$(date +%s.%N)
  $bin probe --model "$out/$m" --train "$out/splits/train50k-images-idx3-ubyte.gz" \
    --test "$out/splits/t10k-images-idx3-ubyte.gz" --val "$out/splits/valid10k-images-idx3-ubyte.gz" \
    --epochs 20 --fine-tune-epochs "$ft" --json > "$out/$m/probe-ft$ft.json"
  end=$(date +%s.%N)
  python3 - "$m" "$start" "$mid" "$end" "$out/$m/probe-ft$ft.json" "$ft" <<'PY'
import json, sys
m, s, mid, e, p = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
r = json.load(open(p))
r.update(model=m, fine_tune_epochs=int(sys.argv[6]), train_seconds=mid - s, probe_seconds=e - mid)
print(json.dumps(r))
PY
done
