"""Addresses, not scans (BENCHMARKS.md, "Semantic hashing"): radius-r Hamming-ball lookup of
learned codes with `autoencoder search --radius r` (hash-table ball, multi-index hashing, linear
scan) against FAISS's IndexBinaryHash (nflip = r) and IndexBinaryFlat range search on the same
codes; the ball's contents checked against exhaustive distances, its recall of the exhaustive
top-k, and queries per second. `--replicate R --flip p` also builds a database of R noisy copies
of each code (each bit flipped with probability p) to measure at ~1M codes.

    python bench/ball_recall.py --db DB_CODES.npy --queries Q_CODES.npy [--radius 2] [--k 100]
        [--replicate 100 --flip 0.05] [--bin target/release/autoencoder] [--threads 2]
"""
import argparse
import json
import os
import subprocess
import tempfile
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see bench/faiss_hamming.py

import faiss  # noqa: E402
import numpy as np  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--db", required=True)
p.add_argument("--queries", required=True)
p.add_argument("--radius", type=int, default=2)
p.add_argument("--k", type=int, default=100)
p.add_argument("--replicate", type=int, default=0)
p.add_argument("--flip", type=float, default=0.05)
p.add_argument("--seed", type=int, default=0)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--repeats", type=int, default=3, help="timed runs of each search; the best is kept")
p.add_argument("--bin", default=os.path.join(os.path.dirname(__file__), "..", "target", "release", "autoencoder"))
a = p.parse_args()
faiss.omp_set_num_threads(a.threads)
db, q = np.load(a.db), np.load(a.queries)
if a.replicate:
    rng = np.random.default_rng(a.seed)
    bits = np.unpackbits(np.repeat(db, a.replicate, axis=0), axis=1, bitorder="little")
    bits ^= (rng.random(bits.shape) < a.flip).astype(np.uint8)
    db = np.packbits(bits, axis=1, bitorder="little")
n, nbytes = db.shape
d = nbytes * 8
out = {"database": int(n), "queries": int(len(q)), "bits": d, "radius": a.radius, "k": a.k}

# exhaustive distances (FAISS flat k-NN for the top-k, range search for the ball's contents)
flat = faiss.IndexBinaryFlat(d)
flat.add(db)
dist_k, _ = flat.search(q, a.k)
out["recall_of_top_k_in_ball"] = float((dist_k <= a.radius).mean())


def best_qps(f):
    times = []
    for _ in range(a.repeats):
        t = time.perf_counter()
        result = f()
        times.append(time.perf_counter() - t)
    return len(q) / min(times), result


# FAISS's range search keeps distances < threshold: radius + 1
out["faiss_flat_range_qps"], (lims, dists, ids) = best_qps(lambda: flat.range_search(q, a.radius + 1))
exact = [set(ids[lims[i]:lims[i + 1]].tolist()) for i in range(len(q))]
sizes = np.array([len(s) for s in exact])
out["mean_ball_size"] = float(sizes.mean())
out["queries_with_empty_ball"] = float((sizes == 0).mean())

index = faiss.IndexBinaryHash(d, d)
index.add(db)
index.nflip = a.radius
out["faiss_hash_qps"], (lims_h, _, ids_h) = best_qps(lambda: index.range_search(q, a.radius + 1))
got = [set(ids_h[lims_h[i]:lims_h[i + 1]].tolist()) for i in range(len(q))]
out["faiss_hash_equals_exhaustive"] = all(g == e for g, e in zip(got, exact))

with tempfile.TemporaryDirectory() as tmp:
    np.save(os.path.join(tmp, "db.npy"), db)
    np.save(os.path.join(tmp, "q.npy"), q)
    cap = int(max(sizes.max(), 1))
    for kind in ("ball", "mih", "scan"):
        ids_path = os.path.join(tmp, f"{kind}.npy")
        runs = []
        for _ in range(a.repeats):
            r = subprocess.run([a.bin, "search", "--db", os.path.join(tmp, "db.npy"), "--queries", os.path.join(tmp, "q.npy"),
                                "--k", str(cap), "--radius", str(a.radius), "--index", kind, "--out", ids_path, "--json"],
                               check=True, capture_output=True, text=True, env={**os.environ, "RAYON_NUM_THREADS": str(a.threads)})
            runs.append(json.loads(r.stdout))
        j = max(runs, key=lambda j: j["queries_per_second"])
        found = np.load(ids_path)
        ours = [set(row[row >= 0].tolist()) for row in found]
        out[f"ours_{kind}_qps"] = j["queries_per_second"]
        out[f"ours_{kind}_build_seconds"] = j["build_seconds"]
        out[f"ours_{kind}_equals_exhaustive"] = all(o == e for o, e in zip(ours, exact))
print(json.dumps(out))
