#!/usr/bin/env bash
# Learned codes quantized by ITQ against ITQ on the raw data (issue #37): trains
# examples/semantic_hashing_images.toml (or CONFIG), then for each bit count hashes the database
# and the queries both ways and scores Hamming retrieval (mAP@1000, precision@100).
#   bench/learned_itq.sh TRAIN TRAIN_LABELS TEST TEST_LABELS OUT [BITS...]
# Prints one JSON line per (method, bits).
set -euo pipefail
tr=$1; trl=$2; te=$3; tel=$4; out=$5; shift 5
bits=${*:-16 32 64}
bin=${BIN:-target/release/autoencoder}
config=${CONFIG:-examples/semantic_hashing_images.toml}
mkdir -p "$out"
start=$(date +%s.%N)
"$bin" train --config "$config" --data "$tr" --out "$out/model" --quiet ${SEED:+--seed $SEED}
echo "{\"train_seconds\": $(echo "$(date +%s.%N) - $start" | bc)}"
for b in $bits; do
  for how in pixels model; do
    model=(); [ $how = model ] && model=(--model "$out/model")
    "$bin" hash --method itq --bits $b "${model[@]}" --fit "$tr" --data "$tr" --out "$out/db.npy" \
      --data "$te" --out "$out/q.npy" --json > /dev/null
    r=$("$bin" retrieval --db "$out/db.npy" --db-labels "$trl" --queries "$out/q.npy" --query-labels "$tel" --json)
    echo "{\"bits\": $b, \"itq_on\": \"$how\", \"retrieval\": $r}"
  done
done
