"""Precision@k of exact cosine k-NN on TF-IDF rows (the unhashed reference of semantic hashing).

    python bench/cosine_knn_precision.py DB_TFIDF.npz QUERY_TFIDF.npz --k 100

Labels are read from X.labels.npy beside each file; relevant = same label. Rows are assumed to
be at unit length (bench/split_npz.py writes them so).
"""
import argparse
import json
import time

import numpy as np
import scipy.sparse as sp

p = argparse.ArgumentParser()
p.add_argument("db")
p.add_argument("queries")
p.add_argument("--k", type=int, default=100)
a = p.parse_args()
db, q = sp.load_npz(a.db).tocsr(), sp.load_npz(a.queries).tocsr()
ydb = np.load(a.db[:-4] + ".labels.npy")
yq = np.load(a.queries[:-4] + ".labels.npy")
t = time.perf_counter()
sims = (q @ db.T).toarray()
top = np.argpartition(-sims, a.k, axis=1)[:, : a.k]
precision = float((ydb[top] == yq[:, None]).mean())
print(json.dumps({"precision_at_k": precision, "k": a.k, "seconds": time.perf_counter() - t}))
