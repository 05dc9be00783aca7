#!/usr/bin/env bash
# Data-parallel training on one machine: the anchor net (examples/deep.toml) on MNIST rows
# (.npy), 1 process × 2 threads against 2 MPI ranks × 1 thread, same global batch (2 × 32 = 64)
# and twice it (2 × 64), ROUNDS interleaved rounds of EPOCHS epochs. Needs a Python with the
# package, mpi4py and an MPI (pip install mpi4py mpich).
#   bench/distributed_speed.sh X.npy PYTHON [ROUNDS] [EPOCHS]
set -euo pipefail
data=$1; py=$2; rounds=${3:-2}; epochs=${4:-2}
here=$(cd "$(dirname "$0")/.." && pwd)
mpirun=$(dirname "$py")/mpirun
for r in $(seq "$rounds"); do
  echo "== round $r"
  "$py" - "$here/examples/deep.toml" "$data" "$epochs" <<'PY'
import sys, time, numpy as np
from autoencoder import Autoencoder
config, data, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3])
x = np.load(data)
ae = Autoencoder.from_config(config, epochs=epochs, threads=2, patience=0)
t = time.perf_counter(); ae.fit(x); s = time.perf_counter() - t
print(f"1 process x 2 threads, batch 64: {s / epochs:.2f} s/epoch, train loss {ae.history_[-1]['train_loss']:.4f}, val {ae.history_[-1]['validation_loss']:.4f}")
PY
  for b in 32 64; do
    echo "-- 2 ranks x 1 thread, batch $b each"
    "$mpirun" -np 2 "$py" "$here/examples/python/train_mpi.py" --config "$here/examples/deep.toml" \
      --data "$data" --epochs "$epochs" --batch-size "$b" --threads 1
  done
done
