"""Shared helpers for the anchor-workload benchmark scripts (no framework imports here)."""

import argparse
import gzip
import json
import os
import resource
import statistics
import sys

import numpy as np

# 784-1000-500-250-30-250-500-1000-784 (Hinton & Salakhutdinov 2006 MNIST autoencoder).
SIZES = [784, 1000, 500, 250, 30, 250, 500, 1000, 784]
LAYERS = list(zip(SIZES[:-1], SIZES[1:]))
CODE_LAYER = 4  # layers[:4] are the encoder; layer 3 (250->30) has no activation.
BATCH = 128
LR = 1e-3
BETAS = (0.9, 0.999)
EPS = 1e-8
# 6 * sum(in*out): forward 2*MACs, backward 4*MACs (weight + input gradients).
FLOPS_PER_IMAGE = 6 * sum(i * o for i, o in LAYERS)


def parse_args(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--data", required=True, help="folder holding the MNIST IDX files (.gz or raw)")
    p.add_argument("--epochs", type=int, default=3, help="epochs to time")
    p.add_argument("--limit", type=int, default=None, help="use only the first N training images")
    p.add_argument("--threads", type=int, default=2, help="compute threads")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args()


def find_mnist(folder, prefix):
    """First (sorted) file in `folder` whose name starts with '<prefix>-images' (like the Rust CLI)."""
    names = sorted(n for n in os.listdir(folder) if n.startswith(prefix + "-images"))
    if not names:
        raise FileNotFoundError(f"no {prefix}-images IDX file in {folder}")
    return os.path.join(folder, names[0])


def load_idx_images(path, limit=None):
    """IDX u8 image file (gzipped or raw) -> float32 [n, rows*cols] scaled to [0, 1]."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    magic = int.from_bytes(raw[0:4], "big")
    if magic != 0x00000803:
        raise ValueError(f"{path}: not an IDX u8 3-D file (magic {magic:#x})")
    n, r, c = (int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(3))
    if limit is not None:
        n = min(n, limit)
    x = np.frombuffer(raw, dtype=np.uint8, count=n * r * c, offset=16).reshape(n, r * c)
    x = x.astype(np.float32)
    np.divide(x, np.float32(255.0), out=x)
    return x


def load_mnist(folder, limit=None):
    """(train [n, 784], test [10000, 784]) float32 in [0, 1]; `limit` keeps the first N train rows."""
    train = load_idx_images(find_mnist(folder, "train"), limit)
    test = load_idx_images(find_mnist(folder, "t10k"))
    return train, test


def torch_default_linear_init(rng, n_in, n_out):
    """nn.Linear's default init (kaiming_uniform a=sqrt(5) == U(+-1/sqrt(in)); bias the same)."""
    bound = 1.0 / np.sqrt(n_in)
    w = rng.uniform(-bound, bound, size=(n_out, n_in)).astype(np.float32)
    b = rng.uniform(-bound, bound, size=(n_out,)).astype(np.float32)
    return w, b


def median(v):
    return statistics.median(v) if v else float("nan")


def peak_memory_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def emit(result):
    """Print exactly one JSON object on stdout."""
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


def summarize(framework, version, threads, epochs, steps, epoch_seconds, last_loss,
              test_sq, encode_times, n_test, **extra):
    spe = median(epoch_seconds)
    images = steps * BATCH
    out = {
        "framework": framework,
        "version": version,
        "threads": threads,
        "epochs": epochs,
        "steps_per_epoch": steps,
        "epoch_seconds": epoch_seconds,
        "seconds_per_epoch": spe,
        "images_per_second": images / spe if spe > 0 else float("nan"),
        "gflops": FLOPS_PER_IMAGE * images / spe / 1e9 if spe > 0 else float("nan"),
        "final_train_loss": last_loss,
        "test_squared_error_per_image": test_sq,
        "encode_images_per_second": n_test / median(encode_times),
        "peak_memory_mib": peak_memory_mib(),
    }
    out.update(extra)
    return out
