#!/usr/bin/env bash
# A convolutional DAE against a dense one on MNIST (BENCHMARKS.md, issue #35): both trained
# with the same Gaussian corruption (σ = 0.5, examples/conv_denoising.toml's), then PSNR of
# their reconstructions of noisy test images (the same noise, seed 7, against the clean
# images) and the linear-probe error of their codes.
#   bench/conv_dae.sh MNIST_DIR OUT [PYTHON]
set -euo pipefail
mnist=${1:?MNIST_DIR}; out=${2:?OUT}; py=${3:-python3}
mkdir -p "$out"
here=$(cd "$(dirname "$0")" && pwd)
bin="$here/../target/release/autoencoder"
train="$mnist/train-images.idx3-ubyte.gz"; test="$mnist/t10k-images.idx3-ubyte.gz"
"$py" - "$test" "$out" <<'PY'
import gzip, sys, numpy as np
raw = gzip.open(sys.argv[1]).read()
x = np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 784).astype(np.float32) / 255
noisy = x + 0.5 * np.random.default_rng(7).standard_normal(x.shape).astype(np.float32)
np.save(sys.argv[2] + "/clean.npy", x)
np.save(sys.argv[2] + "/noisy.npy", noisy)
np.save(sys.argv[2] + "/noisy_img.npy", noisy.reshape(-1, 1, 28, 28))
PY
sed 's/^kind = "masking".*/kind = "gaussian"/; s/^level = 0.25.*/level = 0.5/' "$here/../examples/denoising.toml" > "$out/dense.toml"
[ -f "$out/dense/model.safetensors" ] || "$bin" train --quiet --config "$out/dense.toml" --data "$train" --out "$out/dense"
[ -f "$out/conv/model.safetensors" ] || "$bin" train --quiet --config "$here/../examples/conv_denoising.toml" --data "$train" --out "$out/conv"
"$bin" reconstruct --model "$out/dense" --data "$out/noisy.npy" --out "$out/dense_r.npy"
"$bin" reconstruct --model "$out/conv" --data "$out/noisy_img.npy" --out "$out/conv_r.npy"
"$py" - "$out" <<'PY'
import sys, numpy as np
d = sys.argv[1]
clean = np.load(d + "/clean.npy"); noisy = np.load(d + "/noisy.npy")
def psnr(r):
    mse = ((r.reshape(len(clean), -1) - clean) ** 2).mean(axis=1)
    return float(np.mean(10 * np.log10(1.0 / mse)))
print("psnr noisy_input %.2f dense %.2f conv %.2f" % (psnr(np.clip(noisy, 0, 1)), psnr(np.load(d + "/dense_r.npy")), psnr(np.load(d + "/conv_r.npy"))))
PY
for m in dense conv; do
  echo "probe $m $("$bin" probe --model "$out/$m" --train "$train" --test "$test" --json)"
done
