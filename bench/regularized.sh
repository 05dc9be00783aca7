#!/usr/bin/env bash
# Issue 4 benchmark: plain, sparse, denoising (masking and Gaussian), contractive (one hidden
# layer of 1000), stacked plain and denoising autoencoders (3 × 1000) on MNIST 50k; for each:
# fine-tuned and linear-probe test error on the 10k test set, each classifier's epoch selected
# on the 10k validation images (as in the papers), wall times, first-layer filters
# (report/filters.png). One JSON line per model on stdout.
# usage: bench/regularized.sh MNIST_DIR OUT_DIR [models...]
# FT=epochs of fine-tuning (default 50); SEEDS="0 1 2" trains and probes each model once per
# seed (folder MODEL-sSEED; default 0 only); PROBE_ARGS="…" adds probe flags (e.g. dropout).
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:?MNIST dir}; out=${2:?out dir}; shift 2
models=${*:-ae sae dae daeg cae sae3 sdae3}
ft=${FT:-50}
seeds=${SEEDS:-0}
probe_args=${PROBE_ARGS:-}
python3 bench/mnist_splits.py --data "$data" --out "$out/splits" > /dev/null
bin=./target/release/autoencoder
for m in $models; do
for seed in $seeds; do
  run="$out/$m-s$seed"
  start=$(date +%s.%N)
  # a second FT=… pass reuses the trained model
  [ -f "$run/model.safetensors" ] ||
    $bin train --config bench/configs/$m.toml --seed "$seed" --data "$out/splits/train50k-images-idx3-ubyte.gz" --out "$run" --quiet
  mid=$(date +%s.%N)
  # shellcheck disable=SC2086 # PROBE_ARGS is a list of flags
  $bin probe --model "$run" --seed "$seed" $probe_args --train "$out/splits/train50k-images-idx3-ubyte.gz" \
    --test "$out/splits/t10k-images-idx3-ubyte.gz" --val "$out/splits/valid10k-images-idx3-ubyte.gz" \
    --epochs 20 --fine-tune-epochs "$ft" --json > "$run/probe-ft$ft.json"
  end=$(date +%s.%N)
  python3 - "$m" "$start" "$mid" "$end" "$run/probe-ft$ft.json" "$ft" "$seed" "$probe_args" <<'PY'
import json, sys
m, s, mid, e, p = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
r = json.load(open(p))
r.update(model=m, fine_tune_epochs=int(sys.argv[6]), seed=int(sys.argv[7]), probe_args=sys.argv[8],
         train_seconds=mid - s, probe_seconds=e - mid)
print(json.dumps(r))
PY
done
done
