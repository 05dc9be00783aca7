"""Split a CSR .npz (with X.labels.npy beside it) into a database and a query part.

    python bench/split_npz.py DOCS.npz --query-fraction 0.1 --seed 0 --out-prefix DIR/

writes DIR/db.npz, DIR/query.npz (+ .labels.npy), and their TF-IDF versions (scikit-learn's
smoothed idf fitted on the database, rows at unit length) as DIR/db_tfidf.npz / query_tfidf.npz.
"""
import argparse

import numpy as np
import scipy.sparse as sp

p = argparse.ArgumentParser()
p.add_argument("docs")
p.add_argument("--query-fraction", type=float, default=0.1)
p.add_argument("--seed", type=int, default=0)
p.add_argument("--out-prefix", required=True)
a = p.parse_args()

x = sp.load_npz(a.docs).tocsr()
y = np.load(a.docs[: -len(".npz")] + ".labels.npy")
order = np.random.default_rng(a.seed).permutation(x.shape[0])
nq = int(round(a.query_fraction * x.shape[0]))
parts = {"query": order[:nq], "db": order[nq:]}
df = np.asarray((x[parts["db"]] > 0).sum(0)).ravel()
n = len(parts["db"])
idf = (np.log((1 + n) / (1 + df)) + 1).astype(np.float32)
for name, rows in parts.items():
    xs = x[rows]
    sp.save_npz(a.out_prefix + name + ".npz", xs)
    np.save(a.out_prefix + name + ".labels.npy", y[rows])
    t = sp.csr_matrix(xs.multiply(idf[None, :]), dtype=np.float32)
    norms = np.sqrt(np.asarray(t.multiply(t).sum(1)).ravel())
    t = sp.csr_matrix(sp.diags(1 / np.maximum(norms, 1e-12)) @ t, dtype=np.float32)
    sp.save_npz(a.out_prefix + name + "_tfidf.npz", t)
    np.save(a.out_prefix + name + "_tfidf.labels.npy", y[rows])
    print(name, xs.shape)
