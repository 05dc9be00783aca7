#!/usr/bin/env python3
"""Makes the MNIST files the BENCHMARKS.md experiments use, from the original IDX files.

- train50k-images-idx3-ubyte.gz / train50k-labels-idx1-ubyte.gz: the first 50,000 training images
  (the 50k/10k/10k split of Vincent et al. 2010 and Rifai et al. 2011);
- valid10k-*: the last 10,000 training images;
- t10k-binarized.npy: the 10,000 test images binarized once, Bernoulli(intensity), seed 0
  (stochastic binarization for VAE likelihoods, as in Burda et al. 2016).

usage: python3 bench/mnist_splits.py --data /path/to/mnist --out /tmp/mnist-splits
"""
import argparse, gzip, os, struct
import numpy as np


def read_idx(path):
    raw = gzip.open(path).read() if path.endswith('.gz') else open(path, 'rb').read()
    magic = struct.unpack('>I', raw[:4])[0]
    nd = magic & 0xFF
    dims = struct.unpack('>' + 'I' * nd, raw[4:4 + 4 * nd])
    return np.frombuffer(raw[4 + 4 * nd:], dtype=np.uint8).reshape(dims)


def write_idx(path, arr):
    header = struct.pack('>I', 0x0800 | arr.ndim) + struct.pack('>' + 'I' * arr.ndim, *arr.shape)
    with gzip.GzipFile(path, 'wb', mtime=0) as f:
        f.write(header + arr.astype(np.uint8).tobytes())


def find(folder, prefix):
    names = sorted(n for n in os.listdir(folder) if n.startswith(prefix))
    if not names:
        raise SystemExit(f'{folder}: no {prefix}* file')
    return os.path.join(folder, names[0])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--data', required=True)
    ap.add_argument('--out', required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    x = read_idx(find(a.data, 'train-images'))
    y = read_idx(find(a.data, 'train-labels'))
    tx = read_idx(find(a.data, 't10k-images'))
    ty = read_idx(find(a.data, 't10k-labels'))
    write_idx(os.path.join(a.out, 'train50k-images-idx3-ubyte.gz'), x[:50000])
    write_idx(os.path.join(a.out, 'train50k-labels-idx1-ubyte.gz'), y[:50000])
    write_idx(os.path.join(a.out, 'valid10k-images-idx3-ubyte.gz'), x[50000:])
    write_idx(os.path.join(a.out, 'valid10k-labels-idx1-ubyte.gz'), y[50000:])
    write_idx(os.path.join(a.out, 't10k-images-idx3-ubyte.gz'), tx)
    write_idx(os.path.join(a.out, 't10k-labels-idx1-ubyte.gz'), ty)
    rng = np.random.default_rng(0)
    binarized = (rng.random(tx.shape) < tx / 255.0).astype(np.float32).reshape(len(tx), -1)
    np.save(os.path.join(a.out, 't10k-binarized.npy'), binarized)
    print(a.out)


if __name__ == '__main__':
    main()
