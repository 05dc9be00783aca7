#!/usr/bin/env bash
# MNIST side of BENCHMARKS.md "Score, sampling, tangents": Jacobian spectra of a plain AE, a CAE
# and a DAE (784-200 tied sigmoid, 10 epochs on the 60,000 training images), tangent vectors of
# one test digit as images, and a grid of DAE chain samples.
#   bench/mnist_geometry.sh MNIST_DIR OUT_DIR
set -euo pipefail
data=$(cd "${1:?MNIST folder}" && pwd)
out=${2:?output folder}
mkdir -p "$out"
here=$(cd "$(dirname "$0")" && pwd)
bin="$here/../target/release/autoencoder"
train=$(ls "$data"/train-images* | head -1)
test=$(ls "$data"/t10k-images* | head -1)
base='[model]
layers = []
code = 200
activation = "sigmoid"
code_activation = "sigmoid"
output = "bernoulli"
init = "glorot"
tied = true
[train]
epochs = 10
batch_size = 64
learning_rate = 1e-3
validation_fraction = 0.0
'
printf '%s' "$base" > "$out/ae.toml"
printf '%s[[regularizer]]\nkind = "contractive"\nweight = 0.6\n' "$base" > "$out/cae.toml"
printf '%s[corruption]\nkind = "masking"\nlevel = 0.25\n' "$base" > "$out/dae.toml"
# the first 2,000 test images
python3 - "$test" "$out/test2000.npy" <<'PY'
import gzip, struct, sys
raw = gzip.open(sys.argv[1]).read() if sys.argv[1].endswith(".gz") else open(sys.argv[1], "rb").read()
n, rows, cols = struct.unpack(">III", raw[4:16])
k = 2000
import array
pix = array.array("f", (b / 255.0 for b in raw[16:16 + k * rows * cols])).tobytes()
header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }" % (k, rows * cols)
header += " " * (63 - (10 + len(header)) % 64) + "\n"
open(sys.argv[2], "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + pix)
PY
for kind in ae cae dae; do
  [ -f "$out/$kind/model.safetensors" ] || "$bin" train --quiet --config "$out/$kind.toml" --data "$train" --out "$out/$kind"
  echo "$kind $("$bin" tangent --model "$out/$kind" --data "$out/test2000.npy" --dim 10 --out "$out/${kind}_t.npy" \
    --singular-values "$out/${kind}_sv.npy" --spectrum "$out/${kind}_spectrum.jsonl" \
    --tangent-images "$out/${kind}_tangents.png" --json)"
done
"$bin" plot --metrics "$out/ae_spectrum.jsonl" "$out/cae_spectrum.jsonl" "$out/dae_spectrum.jsonl" \
  --label AE CAE DAE --key mean_log10_singular_value --title "MEAN LOG10 SINGULAR VALUE BY RANK" \
  --out "$out/spectra.png"
"$bin" sample --model "$out/dae" --data "$out/test2000.npy" --n 64 --chain-steps 50 --mean --out "$out/dae_chain.png"
"$bin" sample --model "$out/dae" --data "$out/test2000.npy" --n 64 --chain-steps 50 --out "$out/dae_chain_drawn.png"
