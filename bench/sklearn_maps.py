"""scikit-learn's 2-D maps (PCA, Isomap, LLE, t-SNE) on the same data our Rust CLI embeds,
with the same quality numbers, for side-by-side comparison.

It measures:
  * seconds: wall-clock time of the estimator's `fit_transform` (time.perf_counter; the
    median over --repeats fits; loading the data and scoring the map are not timed);
  * trustworthiness(k): sklearn.manifold.trustworthiness(X, Y, n_neighbors=k), in float64;
  * knn_accuracy(k): leave-one-out k-NN accuracy on the map Y, each point classified by a
    majority vote of the labels of its k nearest OTHER points (uniform weights, ties to the
    smallest label, as KNeighborsClassifier votes), neighbours from
    NearestNeighbors(n_neighbors=k+1) with the point itself dropped.

Estimators (scikit-learn defaults otherwise):
  pca     PCA(n_components=2)
  isomap  Isomap(n_neighbors=K, n_components=2)                       (K defaults to 5)
  lle     LocallyLinearEmbedding(n_neighbors=K, n_components=2,
                                 method="standard", random_state=0)   (K defaults to 10)
  tsne    TSNE(n_components=2, perplexity=P, init="pca", random_state=0)

Threads: OMP/OpenBLAS/MKL_NUM_THREADS are set from --threads before numpy is imported, the
fit and the scoring run under threadpoolctl.threadpool_limits(THREADS), and n_jobs=THREADS is
passed to every estimator that takes it.

Example (first 5000 MNIST images, pixels / 255, as float32 .npy):

    /work/venv/bin/python bench/sklearn_maps.py --data mnist_x.npy --labels mnist_y.npy \\
        --rows 5000 --method tsne --perplexity 30 --threads 2 --k 5 --k 12 --out tsne.npy

Prints one JSON object on stdout, e.g.
  {"method": "tsne", "rows": 5000, "dim": 2, "neighbors": null, "perplexity": 30.0,
   "threads": 2, "seconds": ..., "sklearn_version": "1.9.1",
   "trustworthiness": {"5": ..., "12": ...}, "knn_accuracy": {"5": ..., "12": ...}}
"""

import os
import sys


def _threads_from_argv(argv):
    """--threads N / --threads=N from the raw command line (before argparse and numpy)."""
    value = None
    for i, arg in enumerate(argv):
        if arg == "--threads" and i + 1 < len(argv):
            value = argv[i + 1]
        elif arg.startswith("--threads="):
            value = arg.split("=", 1)[1]
    if value is None:
        return 2
    try:
        n = int(value)
    except ValueError:
        return None  # argparse reports it below
    return n if n >= 1 else None


_THREADS = _threads_from_argv(sys.argv[1:])
if _THREADS is not None:
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = str(_THREADS)

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

METHODS = ("pca", "isomap", "lle", "tsne")
DEFAULT_NEIGHBORS = {"isomap": 5, "lle": 10}
DEFAULT_KS = [5, 12]


def positive_int(text):
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {n}")
    return n


def positive_float(text):
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    if not x > 0 or not np.isfinite(x):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return x


def parse_args():
    p = argparse.ArgumentParser(
        description="Time a scikit-learn 2-D map (PCA, Isomap, LLE, t-SNE) and print its "
        "trustworthiness and leave-one-out k-NN accuracy as one JSON object.",
        epilog="example: python bench/sklearn_maps.py --data x.npy --labels y.npy --rows 5000 "
        "--method isomap --neighbors 10 --threads 2 --k 5 --k 12",
    )
    p.add_argument("--data", required=True, metavar="X.npy",
                   help="float32 .npy of shape (n, d), values already scaled (e.g. pixels / 255)")
    p.add_argument("--labels", required=True, metavar="L.npy", help="1-D integer .npy, one label per row of --data")
    p.add_argument("--rows", type=positive_int, metavar="N", help="use only the first N rows (default: all)")
    p.add_argument("--method", required=True, choices=METHODS, help="which scikit-learn map")
    p.add_argument("--neighbors", type=positive_int, metavar="K",
                   help="n_neighbors for isomap (default 5) and lle (default 10)")
    p.add_argument("--perplexity", type=positive_float, default=30.0, metavar="P", help="t-SNE perplexity (default 30)")
    p.add_argument("--threads", type=positive_int, default=2, help="compute threads (default 2)")
    p.add_argument("--k", type=positive_int, action="append", metavar="K",
                   help="neighbourhood size for the quality numbers; repeat for several (default: 5 and 12)")
    p.add_argument("--out", metavar="Y.npy", help="save the (last) embedding here as float32 .npy")
    p.add_argument("--repeats", type=positive_int, default=1, help="fits to time; the median is reported (default 1)")
    a = p.parse_args()
    if a.k is None:
        a.k = list(DEFAULT_KS)
    a.k = sorted(set(a.k))
    if a.neighbors is not None and a.method not in DEFAULT_NEIGHBORS:
        print(f"note: --neighbors applies to isomap and lle; ignored for {a.method}", file=sys.stderr)
        a.neighbors = None
    if a.method in DEFAULT_NEIGHBORS and a.neighbors is None:
        a.neighbors = DEFAULT_NEIGHBORS[a.method]
    return p, a


def load(p, a):
    """(X float32 (n, d), labels int64 (n,)) from the two .npy files, first --rows rows."""
    for flag, path in (("--data", a.data), ("--labels", a.labels)):
        if not os.path.isfile(path):
            p.error(f"{flag}: no such file: {path}")
    try:
        x = np.load(a.data, mmap_mode="r", allow_pickle=False)
    except Exception as e:  # noqa: BLE001
        p.error(f"--data: cannot read {a.data} as .npy: {e}")
    try:
        labels = np.load(a.labels, allow_pickle=False)
    except Exception as e:  # noqa: BLE001
        p.error(f"--labels: cannot read {a.labels} as .npy: {e}")
    if x.ndim != 2:
        p.error(f"--data: expected a 2-D array (n, d), got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.floating):
        p.error(f"--data: expected floating-point values (float32), got dtype {x.dtype}")
    if labels.ndim != 1:
        p.error(f"--labels: expected a 1-D array, got shape {labels.shape}")
    n = x.shape[0] if a.rows is None else a.rows
    if n > x.shape[0]:
        p.error(f"--rows {n}: {a.data} has only {x.shape[0]} rows")
    if labels.shape[0] < n:
        p.error(f"--labels: {labels.shape[0]} labels for {n} rows of data")
    labels = labels[:n]
    if np.issubdtype(labels.dtype, np.floating):
        if not np.all(np.isfinite(labels)) or np.any(labels != np.round(labels)):
            p.error("--labels: expected integer labels, got non-integer floats")
    elif not (np.issubdtype(labels.dtype, np.integer) or labels.dtype == np.bool_):
        p.error(f"--labels: expected integer labels, got dtype {labels.dtype}")
    if x.dtype != np.float32:
        print(f"note: --data is {x.dtype}; converting to float32", file=sys.stderr)
    x = np.ascontiguousarray(x[:n], dtype=np.float32)
    if not np.all(np.isfinite(x)):
        p.error("--data: contains NaN or infinite values")
    return x, labels.astype(np.int64)


def check_sizes(p, a, n):
    if n < 3:
        p.error(f"need at least 3 rows, got {n}")
    for k in a.k:
        # sklearn.manifold.trustworthiness requires n_neighbors < n_samples / 2
        if not k < n / 2:
            p.error(f"--k {k}: trustworthiness needs k < rows / 2 = {n / 2:g}")
    if a.neighbors is not None and a.neighbors >= n:
        p.error(f"--neighbors {a.neighbors}: must be smaller than the number of rows ({n})")
    if a.method == "lle" and a.neighbors < 3:
        p.error(f"--neighbors {a.neighbors}: LLE with 2 components needs at least 3 neighbours")
    if a.method == "tsne" and not a.perplexity < n:
        p.error(f"--perplexity {a.perplexity:g}: must be smaller than the number of rows ({n})")


def make_estimator(a):
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE, Isomap, LocallyLinearEmbedding

    if a.method == "pca":
        est = PCA(n_components=2)
    elif a.method == "isomap":
        est = Isomap(n_neighbors=a.neighbors, n_components=2)
    elif a.method == "lle":
        est = LocallyLinearEmbedding(n_neighbors=a.neighbors, n_components=2, method="standard", random_state=0)
    else:
        est = TSNE(n_components=2, perplexity=a.perplexity, init="pca", random_state=0)
    if "n_jobs" in est.get_params():
        est.set_params(n_jobs=a.threads)
    return est


def loo_neighbours(y, k, threads):
    """(n, k) indices of each point's k nearest other points in y, nearest first."""
    from sklearn.neighbors import NearestNeighbors

    n = y.shape[0]
    dist, ind = NearestNeighbors(n_neighbors=k + 1, n_jobs=threads).fit(y).kneighbors(y)
    # equal distances rank by index (as the Rust side does)
    order = np.lexsort((ind, dist), axis=1)
    ind = np.take_along_axis(ind, order, axis=1)
    is_self = ind == np.arange(n)[:, None]
    # a point's own index normally comes first; with duplicates it may come later, or not at
    # all (k+1 exact copies), in which case the last (farthest) column is dropped instead
    has_self = is_self.any(axis=1)
    drop = np.where(has_self, is_self.argmax(axis=1), k)
    keep = np.ones_like(ind, dtype=bool)
    keep[np.arange(n), drop] = False
    return ind[keep].reshape(n, k)


def knn_accuracy(y, labels, k, threads):
    """Leave-one-out k-NN accuracy: majority vote of the k nearest other points' labels,
    ties to the smallest label (KNeighborsClassifier's uniform vote)."""
    nn = loo_neighbours(y, k, threads)
    classes, codes = np.unique(labels, return_inverse=True)
    votes = np.zeros((y.shape[0], classes.size), dtype=np.int64)
    np.add.at(votes, (np.repeat(np.arange(y.shape[0]), k), codes[nn].ravel()), 1)
    predicted = classes[votes.argmax(axis=1)]  # argmax: first (= smallest label) among ties
    return float(np.mean(predicted == labels))


def main():
    p, a = parse_args()
    x, labels = load(p, a)
    n = x.shape[0]
    check_sizes(p, a, n)

    import sklearn
    from sklearn.manifold import trustworthiness
    from threadpoolctl import threadpool_limits

    times = []
    y = None
    with threadpool_limits(limits=a.threads):
        for _ in range(a.repeats):
            est = make_estimator(a)
            t0 = time.perf_counter()
            y = est.fit_transform(x)
            times.append(time.perf_counter() - t0)
        y = np.asarray(y)
        if y.shape != (n, 2):
            sys.exit(f"error: {a.method} returned shape {y.shape}, expected ({n}, 2)")
        if not np.all(np.isfinite(y)):
            sys.exit(f"error: {a.method} returned an embedding with NaN or infinite values")
        x64 = x.astype(np.float64)
        y64 = y.astype(np.float64)
        trust = {str(k): float(trustworthiness(x64, y64, n_neighbors=k)) for k in a.k}
        knn = {str(k): knn_accuracy(y64, labels, k, a.threads) for k in a.k}

    if a.out:
        np.save(a.out, y.astype(np.float32))

    result = {
        "method": a.method,
        "rows": n,
        "dim": 2,
        "neighbors": a.neighbors,
    }
    if a.method == "tsne":
        result["perplexity"] = a.perplexity
    result.update({
        "threads": a.threads,
        "seconds": statistics.median(times),
        "repeats": a.repeats,
        "sklearn_version": sklearn.__version__,
        "trustworthiness": trust,
        "knn_accuracy": knn,
    })
    print(json.dumps(result))


if __name__ == "__main__":
    main()
