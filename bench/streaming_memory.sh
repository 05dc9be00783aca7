#!/usr/bin/env bash
# Peak memory and s/epoch of `train` from memory against `train --stream` (BENCHMARKS.md,
# "Streaming"), interleaved, and the sparse .npz path against the same corpus densified.
#
#   bench/streaming_memory.sh MNIST_DIR DOCS.npz [ROUNDS]
#
# MNIST_DIR: the IDX files (60k training images are written as u8 and f32 .npy);
# DOCS.npz: `autoencoder text` output (raw counts). Needs python3 with numpy and scipy (PYTHON).
# Prints `case max_rss_mib median_s_per_epoch identical_to_in_memory`.
set -euo pipefail
AE=${AE:-target/release/autoencoder}
PY=${PYTHON:-python3}
mnist=$(ls "${1:?MNIST folder}"/train-images* | head -1)
docs=${2:?DOCS.npz}
rounds=${3:-3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$PY" - "$mnist" "$docs" "$out" <<'PY'
import gzip, sys, numpy as np, scipy.sparse as sp
raw = gzip.open(sys.argv[1]).read() if sys.argv[1].endswith(".gz") else open(sys.argv[1], "rb").read()
x = np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 784)
np.save(f"{sys.argv[3]}/mnist_u8.npy", x)
np.save(f"{sys.argv[3]}/mnist_f32.npy", x.astype(np.float32) / 255)
d = sp.load_npz(sys.argv[2])
np.save(f"{sys.argv[3]}/docs_dense.npy", d.toarray().astype(np.float32))
PY
measure() {  # name, then train arguments
  local name=$1
  shift
  /usr/bin/time -f "%M" -o "$out/$name.rss" "$AE" train --quiet "$@" --out "$out/$name"
  "$PY" - "$name" "$out/$name.rss" "$out/$name/metrics.jsonl" <<'PY'
import json, statistics, sys
s = [json.loads(l)["seconds"] for l in open(sys.argv[3])]
print(sys.argv[1], round(int(open(sys.argv[2]).read().split()[-1]) / 1024), round(statistics.median(s), 3))
PY
}
same() { cmp -s "$out/$1/model.safetensors" "$out/$2/model.safetensors" && echo "$2 = $1: identical" || echo "$2 != $1"; }
hash=$out/hash.toml
sed 's/^epochs = 40/epochs = 2/' bench/configs/semantic_hashing_20news_nash.toml > "$hash"
for r in $(seq "$rounds"); do
  measure memory_f32 --config bench/configs/stream_ae.toml --data "$out/mnist_f32.npy"
  measure stream_f32 --config bench/configs/stream_ae.toml --data "$out/mnist_f32.npy" --stream
  measure stream_u8 --config bench/configs/stream_ae.toml --data "$out/mnist_u8.npy" --stream
  measure memory_u8 --config bench/configs/stream_ae.toml --data "$out/mnist_u8.npy"
  same memory_f32 stream_f32
  same memory_u8 stream_u8
  measure docs_sparse --config "$hash" --data "$docs"
  measure docs_dense --config "$hash" --data "$out/docs_dense.npy"
  measure docs_dense_stream --config "$hash" --data "$out/docs_dense.npy" --stream
  same docs_sparse docs_dense
  same docs_dense docs_dense_stream
done
