#!/usr/bin/env bash
# CD-1 epoch of a 784-500 RBM: ours against PyTorch eager, interleaved, 2 threads each.
#   bench/rbm_speed.sh MNIST_DIR [ROUNDS] [PYTHON]
# Prints one line per run: `ours|torch <median s/epoch> <all epoch seconds>`.
set -euo pipefail
data=$(cd "${1:?MNIST folder}" && pwd)
rounds=${2:-3}
python=${3:-python3}
here=$(cd "$(dirname "$0")" && pwd)
bin="$here/../target/release/autoencoder"
train=$(ls "$data"/train-images* | head -1)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for r in $(seq "$rounds"); do
  "$bin" train --quiet --config "$here/configs/rbm_speed.toml" --data "$train" --out "$out/run$r"
  python3 - "$out/run$r/metrics.jsonl" <<'PY'
import json, statistics, sys
s = [json.loads(l)["seconds"] for l in open(sys.argv[1])]
print("ours", round(statistics.median(s), 3), [round(v, 3) for v in s])
PY
  (cd "$here" && "$python" torch_rbm.py --data "$data" --epochs 3 --threads 2) | python3 -c '
import json, sys
j = json.load(sys.stdin)
print("torch", round(j["seconds_per_epoch"], 3), [round(v, 3) for v in j["epoch_seconds"]], "test recon", round(j["test_reconstruction_error"], 3))'
done
