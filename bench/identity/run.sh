#!/usr/bin/env bash
# Bit-identity check for refactors: trains small runs of every objective variant with the binary
# given, and prints one `sha256  name` line per model.safetensors (and per probe JSON, timings
# removed). Run it with the old and the new binary and diff the outputs:
#   bench/identity/run.sh OLD_BIN /tmp/old > old.txt; bench/identity/run.sh NEW_BIN /tmp/new > new.txt
#   diff old.txt new.txt
# Optional third and fourth arguments: other training data (any file `train` reads) and a seed
# that replaces every config's, to check on data and seeds the configs were not written for.
set -euo pipefail
bin=$1; out=$2
here=$(cd "$(dirname "$0")" && pwd)
data=${3:-$here/../../data/mnist/train-images-idx3-ubyte.gz}
seed_flag=(); [ -n "${4:-}" ] && seed_flag=(--seed "$4")
test=$here/../../data/mnist/t10k-images-idx3-ubyte.gz
rm -rf "$out"; mkdir -p "$out"
for cfg in "$here"/configs/*.toml; do
  name=$(basename "$cfg" .toml)
  "$bin" train --config "$cfg" --data "$data" --out "$out/$name" --quiet --epochs 2 "${seed_flag[@]}" >/dev/null
  echo "$(sha256sum < "$out/$name/model.safetensors" | cut -c1-64)  $name"
done
# probe: linear probe + fine-tuning of the plain model's encoder
"$bin" probe --model "$out/plain" --train "$test" --test "$test" --epochs 2 --fine-tune-epochs 2 \
  --threads 2 --quiet --json | sed -E 's/"[a-z_]*seconds[a-z_]*": *[0-9.e+-]+,?//g' > "$out/probe.json"
echo "$(sha256sum < "$out/probe.json" | cut -c1-64)  probe"
# probe with validation selection, a window, averaging, dropout and weight decay
"$bin" probe --model "$out/plain" --train "$test" --test "$test" --val "$test" --epochs 3 \
  --fine-tune-epochs 3 --selection-window 2 --fine-tune-average 0.99 --fine-tune-dropout 0.2 \
  --fine-tune-input-dropout 0.1 --fine-tune-weight-decay 0.001 --threads 2 --quiet --json \
  | sed -E 's/"[a-z_]*seconds[a-z_]*": *[0-9.e+-]+,?//g' > "$out/probe_selected.json"
echo "$(sha256sum < "$out/probe_selected.json" | cut -c1-64)  probe_selected"
