#!/usr/bin/env bash
# PSD's predictor against FISTA to tolerance 1e-4 (issue #21 item 2): trains examples/psd.toml
# with the shrinkage predictor (LISTA with T = 0: S_θ(W x)), LISTA T = 1 and the g ⊙ tanh
# predictor, then times, interleaved ROUNDS times on the test images, `encode --inference
# predictor` and `sparse-encode --inference fista --tolerance 1e-4` from zero with the model's
# own dictionary. Prints every round and the medians. One run at a time.
#
#   PYTHON=python3 bench/predictor_speed.sh TRAIN_IMAGES TEST_IMAGES OUT_DIR [ROUNDS]
set -euo pipefail
TRAIN=$1; TEST=$2; OUT=$3; ROUNDS=${4:-5}
BIN=${BIN:-target/release/autoencoder}
PYTHON=${PYTHON:-python3}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"
field() { "$PYTHON" -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
for predictor in lista0 lista1 psd; do
  case $predictor in
    lista*) model='predictor = "lista"\nlista_steps = '"${predictor#lista}" ;;
    *) model='predictor = "psd"' ;;
  esac
  awk -v repl="$model" '/^predictor = /{print repl; next} {print}' \
    "$HERE/../examples/psd.toml" > "$OUT/$predictor.toml"
  if [ ! -f "$OUT/$predictor/model.safetensors" ]; then
    /usr/bin/time -f "%e" -o "$OUT/$predictor.train-seconds" \
      "$BIN" train --config "$OUT/$predictor.toml" --data "$TRAIN" --out "$OUT/$predictor" --quiet
  fi
  "$PYTHON" "$HERE/psd_dictionary.py" "$OUT/$predictor/model.safetensors" "$OUT/$predictor.D.npy"
  pred_s=(); fista_s=()
  for r in $(seq 1 "$ROUNDS"); do
    pred=$("$BIN" encode --model "$OUT/$predictor" --data "$TEST" --out "$OUT/h.npy" --inference predictor --json)
    full=$("$BIN" sparse-encode --dictionary "$OUT/$predictor.D.npy" --data "$TEST" --out "$OUT/f.npy" \
        --lambda 0.5 --inference fista --tolerance 1e-4 --json)
    echo "$predictor round $r predictor=$pred fista_to_1e-4=$full"
    pred_s+=("$(printf '%s' "$pred" | field seconds)"); fista_s+=("$(printf '%s' "$full" | field seconds)")
  done
  p_obj=$(printf '%s' "$pred" | field objective_per_example)
  f_obj=$(printf '%s' "$full" | field objective_per_example)
  "$PYTHON" - "$predictor" "$p_obj" "$f_obj" "${pred_s[*]}" "${fista_s[*]}" <<'PY'
import statistics, sys
name, p_obj, f_obj, ps, fs = sys.argv[1:]
ps = [float(v) for v in ps.split()]; fs = [float(v) for v in fs.split()]
ratios = [f / p for p, f in zip(ps, fs)]
print(f"{name}: objective {float(p_obj):.4f} vs FISTA {float(f_obj):.4f} = {float(p_obj) / float(f_obj):.3f}x; "
      f"predictor median {statistics.median(ps):.4f} s, FISTA median {statistics.median(fs):.3f} s, "
      f"speed-up median {statistics.median(ratios):.1f}x (same-round ratios {min(ratios):.1f}-{max(ratios):.1f})")
PY
done
