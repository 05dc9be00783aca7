#!/usr/bin/env bash
# LISTA against FISTA (Gregor & LeCun 2010's comparison, issue #21): trains PSD with a LISTA
# predictor of T = 1, 2, 3 unrolled steps (and the g ⊙ tanh predictor) on MNIST, then finds how
# many FISTA iterations from zero reach each predictor's objective on the test images, with the
# model's own dictionary. One run at a time; prints one line per model.
#
#   PYTHON=python3 bench/lista_vs_fista.sh TRAIN_IMAGES TEST_IMAGES OUT_DIR [EPOCHS]
set -euo pipefail
TRAIN=$1; TEST=$2; OUT=$3; EPOCHS=${4:-10}
BIN=${BIN:-target/release/autoencoder}
PYTHON=${PYTHON:-python3}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"
for predictor in lista1 lista2 lista3 psd; do
  case $predictor in
    lista*) model='predictor = "lista"\nlista_steps = '"${predictor#lista}" ;;
    *) model='predictor = "psd"' ;;
  esac
  awk -v repl="$model" -v epochs="$EPOCHS" \
    '/^predictor = /{print repl; next} /^epochs = /{print "epochs = " epochs; next} {print}' \
    "$HERE/../examples/psd.toml" > "$OUT/$predictor.toml"
  /usr/bin/time -f "%e" -o "$OUT/$predictor.train-seconds" \
    "$BIN" train --config "$OUT/$predictor.toml" --data "$TRAIN" --out "$OUT/$predictor" --quiet
  "$PYTHON" "$HERE/psd_dictionary.py" "$OUT/$predictor/model.safetensors" "$OUT/$predictor.D.npy"
  pred=$("$BIN" encode --model "$OUT/$predictor" --data "$TEST" --out "$OUT/h.npy" --inference predictor --json)
  target=$(printf '%s' "$pred" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["objective_per_example"])')
  # the fewest FISTA iterations (from zero, no early stop) whose objective is at or below it
  reached=none
  for k in $(seq 1 60) 70 80 90 100 120 150 200; do
    f=$("$BIN" sparse-encode --dictionary "$OUT/$predictor.D.npy" --data "$TEST" --out "$OUT/f.npy" \
        --lambda 0.5 --inference fista --iterations $k --tolerance 0 --json)
    obj=$(printf '%s' "$f" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["objective_per_example"])')
    if "$PYTHON" -c "import sys; sys.exit(0 if $obj <= $target else 1)"; then reached=$k; break; fi
  done
  full=$("$BIN" sparse-encode --dictionary "$OUT/$predictor.D.npy" --data "$TEST" --out "$OUT/f.npy" \
      --lambda 0.5 --inference fista --tolerance 1e-4 --json)
  echo "$predictor train_s=$(cat "$OUT/$predictor.train-seconds") predictor=$pred fista_iterations_to_match=$reached fista_to_1e-4=$full"
done
