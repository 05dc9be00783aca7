"""CD-1 of a 784-500 Bernoulli RBM on MNIST in PyTorch (eager), the same step as
`src/train/contrastive_divergence.rs` runs, for `bench/rbm_speed.sh`:

    h0 = σ(v0 Wᵀ + c); h ~ Bernoulli(h0); v1p = σ(h W + b); v1 ~ Bernoulli(v1p); h1 = σ(v1 Wᵀ + c)
    gW = −(h0ᵀ v0 − h1ᵀ v1) / n + λ W;  gb = −Σ(v0 − v1) / n;  gc = −Σ(h0 − h1) / n
    velocity = μ velocity + g;  θ −= lr · velocity            (SGD with momentum, PyTorch's rule)

Batch 100, lr 0.05, momentum 0.9, weight decay 2e-4, all 60,000 training images reshuffled each
epoch (examples/rbm.toml's settings). Prints one JSON object.
"""

import json
import sys
import time

import numpy as np
import torch

from common import load_mnist, median, parse_args, peak_memory_mib


def main():
    args = parse_args("PyTorch CD-1 of a 784-500 RBM")
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(args.seed)
    train, test = load_mnist(args.data, args.limit)
    x = torch.from_numpy(train)
    n, d = x.shape
    m, batch, lr, mu, wd = 500, 100, 0.05, 0.9, 2e-4
    w = torch.randn(m, d) * 0.01
    b = torch.zeros(d)
    c = torch.zeros(m)
    vel = [torch.zeros_like(t) for t in (w, b, c)]
    gen = torch.Generator().manual_seed(args.seed)
    epoch_seconds, recon = [], float("nan")
    with torch.no_grad():
        for _ in range(args.epochs):
            perm = torch.randperm(n, generator=gen)
            total = 0.0
            start = time.perf_counter()
            for s in range(0, n - batch + 1, batch):
                v0 = x[perm[s:s + batch]]
                h0 = torch.sigmoid(torch.addmm(c, v0, w.t()))
                hs = (torch.rand_like(h0) < h0).float()
                v1p = torch.sigmoid(torch.addmm(b, hs, w))
                total += float(((v0 - v1p) ** 2).sum())
                v1 = (torch.rand_like(v1p) < v1p).float()
                h1 = torch.sigmoid(torch.addmm(c, v1, w.t()))
                gw = torch.addmm(h0.t() @ v0, h1.t(), v1, alpha=-1.0).mul_(-1.0 / batch).add_(w, alpha=wd)
                gb = (v0 - v1).sum(0).mul_(-1.0 / batch)
                gc = (h0 - h1).sum(0).mul_(-1.0 / batch)
                for p, g, v in zip((w, b, c), (gw, gb, gc), vel):
                    v.mul_(mu).add_(g)
                    p.sub_(v, alpha=lr)
            epoch_seconds.append(time.perf_counter() - start)
            recon = total / n
        t = torch.from_numpy(test)
        test_recon = float(((t - torch.sigmoid(torch.sigmoid(t @ w.t() + c) @ w + b)) ** 2).sum(1).mean())
    json.dump({
        "framework": "pytorch",
        "version": torch.__version__,
        "threads": args.threads,
        "epochs": args.epochs,
        "epoch_seconds": epoch_seconds,
        "seconds_per_epoch": median(epoch_seconds),
        "final_train_reconstruction_error": recon,
        "test_reconstruction_error": test_recon,
        "peak_memory_mib": peak_memory_mib(),
    }, sys.stdout)
    print()


if __name__ == "__main__":
    main()
