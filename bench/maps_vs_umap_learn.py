#!/usr/bin/env python3
"""Parametric UMAP (ours) against umap-learn's own `transform` on points neither saw: fit on a
train split, embed a held-out split, score the held-out map by 5-NN accuracy (a 5-NN classifier
fit on the train map) and trustworthiness (k = 5, the held-out points against their map).

    bench/maps_vs_umap_learn.py --data digits|mnist10k|breast_cancer|wine --config examples/map.toml \
        [--epochs N] [--seed S] [--bin target/release/autoencoder] [--threads 2] [--skip-umap]

Prints one JSON line per method (data, method, seconds, knn5, trust5)."""
import argparse, gzip, json, os, subprocess, tempfile, time

import numpy as np
from sklearn.manifold import trustworthiness
from sklearn.neighbors import KNeighborsClassifier


def load(name, seed):
    if name == "digits":
        from sklearn.datasets import load_digits
        d = load_digits(); x, y = d.data.astype(np.float32) / 16, d.target
    elif name in ("breast_cancer", "wine"):
        from sklearn import datasets
        d = getattr(datasets, f"load_{name}")(); x, y = d.data.astype(np.float32), d.target
        x = (x - x.mean(0)) / x.std(0)  # both methods see the same standardized columns
    elif name.startswith("mnist"):
        n = int(name[5:].replace("k", "000"))
        root = os.environ.get("MNIST", "../shared/data/mnist")
        with gzip.open(f"{root}/train-images.idx3-ubyte.gz") as f:
            x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)
        with gzip.open(f"{root}/train-labels.idx1-ubyte.gz") as f:
            y = np.frombuffer(f.read(), np.uint8, offset=8)
        idx = np.random.default_rng(seed + 100).choice(len(x), n, replace=False)
        x, y = x[idx].astype(np.float32) / 255, y[idx]
    else:
        raise SystemExit(f"unknown data {name}")
    p = np.random.default_rng(seed).permutation(len(x))
    cut = int(0.8 * len(x))
    return x[p[:cut]], y[p[:cut]], x[p[cut:]], y[p[cut:]]


def score(tr_map, ytr, xte, te_map, yte):
    knn = KNeighborsClassifier(5).fit(tr_map, ytr).score(te_map, yte)
    return float(knn), float(trustworthiness(xte, te_map, n_neighbors=5))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="digits")
    ap.add_argument("--config", default="examples/map.toml")
    ap.add_argument("--epochs", type=int)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--bin", default="target/release/autoencoder")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip-umap", action="store_true")
    ap.add_argument("--skip-ours", action="store_true")
    a = ap.parse_args()
    xtr, ytr, xte, yte = load(a.data, a.seed)
    if not a.skip_umap:
        import umap
        t = time.time()
        u = umap.UMAP(n_neighbors=15, min_dist=0.1, random_state=a.seed, n_jobs=1 if a.threads == 1 else a.threads)
        tr_map = u.fit_transform(xtr); te_map = u.transform(xte)
        print(json.dumps({"data": a.data, "method": "umap-learn", "seconds": round(time.time() - t, 2),
                          **dict(zip(("knn5", "trust5"), score(tr_map, ytr, xte, te_map, yte)))}), flush=True)
    if not a.skip_ours:
        with tempfile.TemporaryDirectory() as d:
            np.save(f"{d}/tr.npy", xtr); np.save(f"{d}/te.npy", xte)
            cmd = [a.bin, "train", "--config", a.config, "--data", f"{d}/tr.npy", "--out", f"{d}/run", "--quiet", "--seed", str(a.seed)]
            if a.epochs:
                cmd += ["--epochs", str(a.epochs)]
            t = time.time()
            subprocess.run(cmd, check=True)
            subprocess.run([a.bin, "embed", "--model", f"{d}/run", "--data", f"{d}/tr.npy", "--out", f"{d}/trm.npy",
                            "--data", f"{d}/te.npy", "--out", f"{d}/tem.npy"], check=True, stdout=subprocess.DEVNULL)
            secs = time.time() - t
            steps = sum(1 for _ in open(f"{d}/run/metrics.jsonl"))
            print(json.dumps({"data": a.data, "method": f"ours {os.path.basename(a.config)}", "epochs": steps,
                              "seconds": round(secs, 2),
                              **dict(zip(("knn5", "trust5"), score(np.load(f"{d}/trm.npy"), ytr, xte, np.load(f"{d}/tem.npy"), yte)))}), flush=True)


if __name__ == "__main__":
    main()
