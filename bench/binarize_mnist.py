"""Stochastically binarized MNIST, drawn once with a fixed seed (pixel ~ Bernoulli(intensity)),
as Salakhutdinov & Murray (2008) trained and scored their RBMs on: writes
OUT/{train,test}-binarized.npy (uint8 0/1, n × 784).

    python bench/binarize_mnist.py MNIST_DIR OUT [--seed 0]
"""

import argparse
import os

import numpy as np

from common import load_mnist

p = argparse.ArgumentParser()
p.add_argument("data")
p.add_argument("out")
p.add_argument("--seed", type=int, default=0)
a = p.parse_args()
train, test = load_mnist(a.data)
rng = np.random.default_rng(a.seed)
os.makedirs(a.out, exist_ok=True)
for name, x in (("train", train), ("test", test)):
    b = (rng.random(x.shape, dtype=np.float32) < x).astype(np.uint8)
    np.save(os.path.join(a.out, f"{name}-binarized.npy"), b)
    print(name, b.shape, "mean", float(b.mean()))
