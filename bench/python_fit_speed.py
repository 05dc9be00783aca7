"""Python `fit` against the CLI's `train` on the anchor workload (784-1000-500-250-30, sigmoid,
Adam 1e-3, batch 128, all 60k MNIST images), interleaved; prints each run's median s/epoch.

    python bench/python_fit_speed.py MNIST_DIR [--rounds 3] [--epochs 3] [--bin target/release/autoencoder]
"""

import argparse
import json
import os
import statistics
import subprocess
import tempfile

import numpy as np

from autoencoder import Autoencoder
from common import find_mnist, load_idx_images

p = argparse.ArgumentParser()
p.add_argument("data")
p.add_argument("--rounds", type=int, default=3)
p.add_argument("--epochs", type=int, default=3)
p.add_argument("--bin", default=os.path.join(os.path.dirname(__file__), "..", "target", "release", "autoencoder"))
a = p.parse_args()
params = dict(layers=[1000, 500, 250], code=30, activation="sigmoid", code_activation="linear",
              optimizer="adam", learning_rate=1e-3, batch_size=128, epochs=a.epochs,
              validation_fraction=0.0, patience=0, drop_last=True, threads=2, seed=0)
images = find_mnist(a.data, "train")
x = load_idx_images(images)
with tempfile.TemporaryDirectory() as d:
    cfg = os.path.join(d, "c.toml")
    with open(cfg, "w") as f:
        f.write("[model]\nlayers = [1000, 500, 250]\ncode = 30\nactivation = \"sigmoid\"\ncode_activation = \"linear\"\n"
                f"[train]\noptimizer = \"adam\"\nlearning_rate = 1e-3\nbatch_size = 128\nepochs = {a.epochs}\n"
                "validation_fraction = 0.0\npatience = 0\ndrop_last = true\nthreads = 2\nseed = 0\n")
    cli, py = [], []
    for r in range(a.rounds):
        out = os.path.join(d, f"run{r}")
        subprocess.run([a.bin, "train", "--quiet", "--config", cfg, "--data", images, "--out", out], check=True)
        s = [json.loads(l)["seconds"] for l in open(os.path.join(out, "metrics.jsonl"))]
        cli.append(statistics.median(s))
        est = Autoencoder(**params).fit(x)
        py.append(statistics.median(h["seconds"] for h in est.history_))
        print(f"round {r + 1}: cli {cli[-1]:.3f} s/epoch, python {py[-1]:.3f} s/epoch, python/cli {py[-1] / cli[-1]:.3f}")
    print(f"median: cli {statistics.median(cli):.3f}, python {statistics.median(py):.3f}, ratio {statistics.median(py) / statistics.median(cli):.3f}")
