#!/usr/bin/env bash
# Interleaved A/B timing of `autoencoder train` between two binaries on one config: runs
# A B A B … (ROUNDS rounds, default 3) and prints each binary's per-epoch seconds and the median
# over all epochs (this machine is noisy: compare only numbers from the same run).
# usage: bench/ab_train.sh BIN_A BIN_B CONFIG DATA [ROUNDS]
# e.g.   bench/ab_train.sh /tmp/old target/release/autoencoder bench/iwae50_3280_burda.toml valid10k.gz
#        (edit a copy of the config down to a few epochs with a constant schedule first)
set -euo pipefail
a=${1:?binary A}; b=${2:?binary B}; config=${3:?config}; data=${4:?data}; rounds=${5:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for r in $(seq "$rounds"); do
  for which in A B; do
    bin=$a; [ "$which" = B ] && bin=$b
    rm -rf "$work/run"
    "$bin" train --config "$config" --data "$data" --out "$work/run" --quiet
    python3 -c "import json,sys; print(sys.argv[1], *[json.loads(l)['seconds'] for l in open(sys.argv[2])])" \
      "$which" "$work/run/metrics.jsonl" | tee -a "$work/times"
  done
done
python3 - "$work/times" <<'PY'
import statistics, sys
times = {}
for line in open(sys.argv[1]):
    which, *secs = line.split()
    times.setdefault(which, []).extend(map(float, secs))
a, b = statistics.median(times["A"]), statistics.median(times["B"])
print(f"median s/epoch: A {a:.3f}  B {b:.3f}  A/B {a / b:.2f}")
PY
