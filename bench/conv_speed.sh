#!/usr/bin/env bash
# The Keras-guide conv AE (examples/conv.toml) on MNIST 60k, ours against PyTorch eager, two
# threads, interleaved A B A B: seconds per epoch (median over epochs and rounds) and encoder
# throughput on the 10k test images.
#   bench/conv_speed.sh MNIST_DIR PYTHON_WITH_TORCH [ROUNDS] [EPOCHS]
set -euo pipefail
mnist=${1:?MNIST folder}; py=${2:?python with torch}; rounds=${3:-2}; epochs=${4:-2}
here=$(cd "$(dirname "$0")" && pwd); repo=$(dirname "$here")
bin=$repo/target/release/autoencoder
out=$(mktemp -d)
sed "s/^epochs = .*/epochs = $epochs\nvalidation_fraction = 0.0\nthreads = 2/" "$repo/examples/conv.toml" > "$out/c.toml"
train=$(ls "$mnist"/train-images*)
for r in $(seq "$rounds"); do
  "$bin" train --config "$out/c.toml" --data "$train" --out "$out/run$r" --quiet
  python3 -c "import json,sys; s=[json.loads(l)['seconds'] for l in open('$out/run$r/metrics.jsonl')]; print(json.dumps({'framework':'ours','epoch_seconds':s}))"
  "$py" "$here/torch_conv.py" --data "$mnist" --epochs "$epochs" --threads 2
done
