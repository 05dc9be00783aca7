#!/usr/bin/env bash
# Re-runs the classifiers of bench/regularized.sh on models it trained (linear probe 20 epochs,
# fine-tuning from the probe's head with a cosine-decayed learning rate).
# usage: bench/probe_all.sh OUT_DIR FINE_TUNE_EPOCHS [models...]
# VAL=1 selects each classifier's best epoch on the 10k validation split (valid10k).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?out dir}; ft=${2:?fine-tune epochs}; shift 2
for m in ${*:-ae sae dae cae sdae3}; do
  start=$(date +%s.%N)
  ./target/release/autoencoder probe --model "$out/$m" --train "$out/splits/train50k-images-idx3-ubyte.gz" \
    --test "$out/splits/t10k-images-idx3-ubyte.gz" ${VAL:+--val "$out/splits/valid10k-images-idx3-ubyte.gz"} \
    --epochs 20 --fine-tune-epochs "$ft" --json > "$out/$m/probe-ft$ft${VAL:+-val}.json"
  end=$(date +%s.%N)
  python3 -c "import json,sys; r=json.load(open(sys.argv[1])); r.update(model=sys.argv[2], wall_seconds=float(sys.argv[4])-float(sys.argv[3])); print(json.dumps(r))" \
    "$out/$m/probe-ft$ft${VAL:+-val}.json" "$m" "$start" "$end"
done
