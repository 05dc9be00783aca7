#!/usr/bin/env bash
# Our Isomap, LLE and t-SNE against scikit-learn's on the same points, one after the other
# (never two at once), same thread count. Prints one JSON line per run: ours (`embed` +
# `embedding-quality`) and scikit-learn's (bench/sklearn_maps.py).
#
#   PYTHON=venv/bin/python bench/maps_vs_sklearn.sh X.npy X.labels.npy OUT_DIR [THREADS] [METHODS...]
#
# X.npy: float32 rows (e.g. the first 10,000 MNIST training images / 255); labels 1-D.
set -euo pipefail
X=$1; LABELS=$2; OUT=$3; THREADS=${4:-2}; shift $(( $# < 4 ? $# : 4 ))
METHODS=${*:-isomap lle tsne}
PYTHON=${PYTHON:-python3}
BIN=${BIN:-target/release/autoencoder}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"
for m in $METHODS; do
  extra=()
  case $m in isomap|lle) extra=(--neighbors 10) ;; esac
  "$BIN" embed --method "$m" --fit "$X" --out "$OUT/ours-$m.npy" --threads "$THREADS" "${extra[@]}" --json \
    | sed "s/^/ours $m embed: /"
  for k in 5 12; do
    "$BIN" embedding-quality --high "$X" --low "$OUT/ours-$m.npy" --labels "$LABELS" --k $k --json \
      | sed "s/^/ours $m quality: /"
  done
  "$PYTHON" "$HERE/sklearn_maps.py" --data "$X" --labels "$LABELS" --method "$m" --threads "$THREADS" \
    --k 5 --k 12 --out "$OUT/sklearn-$m.npy" "${extra[@]}" | sed "s/^/sklearn $m: /"
done
