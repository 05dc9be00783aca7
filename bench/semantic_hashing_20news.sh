#!/usr/bin/env bash
# Semantic hashing on 20 Newsgroups (BENCHMARKS.md, "Semantic hashing"): precision@100 by
# Hamming ranking of learned codes against ITQ, PCAH and LSH on the same split and TF-IDF
# features, and exact cosine k-NN on TF-IDF.
#
#   bench/semantic_hashing_20news.sh OUT [BITS ...]        (default bits: 16 32 64 128)
#
# Env: CORPUS (default ../shared/data/20news/20news-bydate-train.tar.gz), PYTHON (numpy + scipy),
# BASELINES (default "lsh pcah itq"; PCA on 10,000 words takes minutes), AE (the binary).
set -euo pipefail
AE=${AE:-target/release/autoencoder}
PY=${PYTHON:-python3}
CORPUS=${CORPUS:-../shared/data/20news/20news-bydate-train.tar.gz}
BASELINES=${BASELINES:-lsh pcah itq}
OUT=$1
shift
BITS=${*:-16 32 64 128}
mkdir -p "$OUT"
"$AE" text --corpus "$CORPUS" --out "$OUT/docs.npz" --json
# database = 90 % of the posts, queries = the other 10 % (seed 0)
"$PY" bench/split_npz.py "$OUT/docs.npz" --query-fraction 0.1 --seed 0 --out-prefix "$OUT/"
echo "cosine_knn $("$PY" bench/cosine_knn_precision.py "$OUT/db_tfidf.npz" "$OUT/query_tfidf.npz" --k 100)"
precision() {
  "$AE" retrieval --db "$1" --db-labels "$OUT/db.labels.npy" --queries "$2" \
    --query-labels "$OUT/query.labels.npy" --k 100 --json |
    "$PY" -c 'import json,sys; print(json.load(sys.stdin)["precision_at_k"])'
}
for b in $BITS; do
  # the model reads raw counts and applies its own TF-IDF (transform.json)
  sed "s/^code = 32/code = $b/" examples/semantic_hashing_20news.toml > "$OUT/ae$b.toml"
  start=$(date +%s.%N)
  "$AE" train --config "$OUT/ae$b.toml" --data "$OUT/db.npz" --out "$OUT/ae$b" --quiet
  seconds=$(echo "$(date +%s.%N) - $start" | bc)
  "$AE" hash --method autoencoder --model "$OUT/ae$b" --data "$OUT/db.npz" --out "$OUT/ae$b/db.npy" \
    --data "$OUT/query.npz" --out "$OUT/ae$b/q.npy" --json > "$OUT/ae$b/hash.json"
  echo "autoencoder bits $b precision@100 $(precision "$OUT/ae$b/db.npy" "$OUT/ae$b/q.npy") train_seconds $seconds"
  for m in $BASELINES; do
    start=$(date +%s.%N)
    "$AE" hash --method "$m" --bits "$b" --fit "$OUT/db_tfidf.npz" --data "$OUT/db_tfidf.npz" \
      --out "$OUT/$m$b.db.npy" --data "$OUT/query_tfidf.npz" --out "$OUT/$m$b.q.npy" > /dev/null
    seconds=$(echo "$(date +%s.%N) - $start" | bc)
    echo "$m bits $b precision@100 $(precision "$OUT/$m$b.db.npy" "$OUT/$m$b.q.npy") fit_seconds $seconds"
  done
done
