#!/usr/bin/env bash
# `tangent --dim 10` on the 10,000 MNIST test images against torch.func.jacrev + SVD of the same
# encoder (bench/torch_tangent.py), 2 threads each, interleaved:
#   bench/tangent_speed.sh MNIST_DIR RUN [ROUNDS] [PYTHON]
# RUN is any run folder with a deterministic encoder on 784 inputs. Prints `ours|torch SECONDS`
# per round, and the mean principal angle between the two sets of tangents (should be ~0).
set -euo pipefail
data=$(cd "${1:?MNIST folder}" && pwd)
run=$(cd "${2:?run folder}" && pwd)
rounds=${3:-3}
python=${4:-python3}
here=$(cd "$(dirname "$0")" && pwd)
bin="$here/../target/release/autoencoder"
test=$(ls "$data"/t10k-images* | head -1)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for r in $(seq "$rounds"); do
  echo "ours $(RAYON_NUM_THREADS=2 "$bin" tangent --model "$run" --data "$test" --dim 10 --out "$out/ours.npy" --json)"
  echo "torch $(cd "$here" && "$python" torch_tangent.py --data "$data" --model "$run" --dim 10 --threads 2 --repeats 1 --out "$out/torch.npy")"
done
"$bin" tangent --model "$run" --data "$test" --dim 10 --out "$out/ours.npy" --true-tangents "$out/torch.npy"
