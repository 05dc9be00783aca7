"""FISTA (`autoencoder sparse-encode`) against scikit-learn's `sparse_encode` on MNIST, same
dictionary, same λ, same 10,000 test images, 2 threads each, interleaved rounds.

    python bench/sparse_encode_vs_sklearn.py --data MNIST_DIR [--atoms 256] [--lam 0.5] [--rounds 3]

Dictionary: `--dictionary D.npy` (inputs × atoms, e.g. a PSD run's), or `--atoms` training images
chosen with the seed, scaled to unit norm. Our objective is
E(h) = ‖x − D h‖² + λ‖h‖₁; scikit-learn's lasso minimizes (1/2d)‖x − Dh‖² + (α/d)‖h‖₁ with d the
number of pixels, the same problem at α = λ/2. Both objectives are computed here in float64.
Prints one JSON line per method and round.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from common import find_mnist, load_idx_images  # noqa: E402


def objective(d, x, h, lam):
    r = x.astype(np.float64) - h.astype(np.float64) @ d.T.astype(np.float64)
    return float(((r * r).sum(1) + lam * np.abs(h).sum(1)).mean())


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--atoms", type=int, default=256)
    p.add_argument("--lam", type=float, default=0.5)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--tolerance", type=float, default=1e-4)
    p.add_argument("--methods", default="ours,lasso_cd,lasso_lars")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dictionary", default=None, help="(inputs, atoms) .npy, e.g. a PSD run's dictionary")
    args = p.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    from sklearn.decomposition import sparse_encode
    from threadpoolctl import threadpool_limits

    train = load_idx_images(find_mnist(args.data, "train"))
    test = load_idx_images(find_mnist(args.data, "t10k"))
    rng = np.random.default_rng(args.seed)
    if args.dictionary:
        atoms = np.load(args.dictionary).T.astype(np.float32).copy()
    else:
        atoms = train[rng.choice(len(train), args.atoms, replace=False)].astype(np.float32)
    atoms /= np.linalg.norm(atoms, axis=1, keepdims=True)
    d = atoms.T.copy()                          # (pixels, atoms)
    binary = os.path.join(os.path.dirname(__file__), "..", "target", "release", "autoencoder")
    with tempfile.TemporaryDirectory() as tmp:
        np.save(f"{tmp}/d.npy", d)
        np.save(f"{tmp}/x.npy", test)
        for r in range(args.rounds):
            for method in args.methods.split(","):
                if method == "ours":
                    t0 = time.perf_counter()
                    out = subprocess.run(
                        [binary, "sparse-encode", "--dictionary", f"{tmp}/d.npy", "--data", f"{tmp}/x.npy",
                         "--out", f"{tmp}/h.npy", "--lambda", str(args.lam), "--tolerance", str(args.tolerance),
                         "--iterations", "5000", "--json"],
                        check=True, capture_output=True, text=True, env={**os.environ, "RAYON_NUM_THREADS": "2"})
                    wall = time.perf_counter() - t0
                    info = json.loads(out.stdout)
                    h = np.load(f"{tmp}/h.npy")
                    row = {"method": "ours_fista", "seconds": info["seconds"], "wall_seconds": wall,
                           "iterations": info["iterations"]}
                else:
                    with threadpool_limits(2):
                        t0 = time.perf_counter()
                        h = sparse_encode(test, atoms, algorithm=method, alpha=args.lam / 2, n_jobs=2,
                                          max_iter=5000)
                        row = {"method": method, "seconds": time.perf_counter() - t0}
                row.update({"round": r + 1, "objective_per_example": objective(d, test, h, args.lam),
                            "zero_fraction": float((h == 0).mean())})
                print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
