"""Usage: python bench/defaults_eval.py MNIST_TRAIN_IMAGES.idx3-ubyte.gz (needs scikit-learn).

Autoencoder() with no arguments against PCA with the same code size, on held-out rows of data
sets the defaults were not tuned on; errors in the model's standardized units for tables."""
import numpy as np, gzip, sys
from sklearn import datasets
from autoencoder import Autoencoder

def mnist(n):
    raw = gzip.open(sys.argv[1]).read()
    return np.frombuffer(raw, np.uint8, n*784, 16).reshape(n, 784).astype(np.float32)/255

sets = {
  "breast_cancer": datasets.load_breast_cancer().data,
  "wine": datasets.load_wine().data,
  "diabetes": datasets.load_diabetes().data,
  "digits (0-16 counts)": datasets.load_digits().data,
  "iris": datasets.load_iris().data,
  "mnist 10k": mnist(10000),
}
for name, x in sets.items():
    x = x.astype(np.float32)
    rows = []
    for seed in (0, 1, 2):
        rng = np.random.default_rng(seed)
        idx = rng.permutation(len(x)); cut = int(0.8*len(x))
        tr, te = x[idx[:cut]], x[idx[cut:]]
        a = Autoencoder(seed=seed).fit(tr)
        ch = {k: v["value"] for k, v in a.defaults_.items()}
        k, t = ch["model.code"], ch["data.transform"]
        # both in the model's input space
        def fwd(v):
            if t == "standardize":
                m, s = tr.mean(0), tr.std(0); s = np.where(s > 0, s, 1)
                return (v - m)/s
            if t == "log1p":
                return np.log1p(v)
            return v
        ztr, zte = fwd(tr), fwd(te)
        # reconstructions come in the data's units: into the model's space as the inputs
        r = a.reconstruct(te)
        r = fwd(r) if t == "standardize" else r
        ours = np.mean(np.sum((r - zte)**2, 1))
        mu = ztr.mean(0); _, _, vt = np.linalg.svd(ztr - mu, full_matrices=False)
        p = (zte - mu) @ vt[:k].T @ vt[:k] + mu
        pca = np.mean(np.sum((p - zte)**2, 1))
        rows.append((ours, pca, len(a.history_)))
    r = np.array(rows)
    print(f"{name:22s} n={len(x):5d} d={x.shape[1]:4d} code={k:2d} {t:11s} {ch['model.output']:9s} layers={ch['model.layers']}  AE {r[:,0].mean():.4f}±{r[:,0].std():.4f}  PCA {r[:,1].mean():.4f}  ratio {np.mean(r[:,0]/r[:,1]):.3f}  epochs {r[:,2].mean():.0f}", flush=True)
