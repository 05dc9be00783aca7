#!/usr/bin/env python3
"""The official PyTorch examples VAE (github.com/pytorch/examples, vae/main.py) on CPU, timed.

Model: fc1 784->400 ReLU; fc21 / fc22 400->20 (mu, logvar); z = mu + exp(logvar/2) * eps;
fc3 20->400 ReLU; fc4 400->784 sigmoid. Loss per batch (summed over the batch, as in the
example): binary cross-entropy summed over pixels + analytic KL(q(z|x) || N(0, I)).
Adam lr 1e-3 (default betas/eps), batch 128, MNIST training images / 255 (not binarized),
reshuffled every epoch, last partial batch kept (the example's DataLoader default).

Departures from the example, none changing the maths:
- fc4 outputs logits and the loss uses `binary_cross_entropy_with_logits` (numerically stable;
  the same loss as sigmoid + `binary_cross_entropy`, except that BCE clamps log() at -100).
  Our Rust implementation also works from logits, so this is the like-for-like comparison.
- Batches are gathered by indexing one in-memory tensor instead of a DataLoader (removes the
  per-sample collation overhead; favours PyTorch, if anything).

Matches `bench/vae_pytorch_example.toml` for our CLI. Prints exactly one JSON object on stdout.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

args = common.parse_args(__doc__)
# Thread limits before torch is imported (OpenMP/MKL read these at load time).
for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[var] = str(args.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(args.threads)
torch.set_num_interop_threads(1)
torch.manual_seed(args.seed)

BATCH = 128
LR = 1e-3


class VAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar, generator=None):
        std = torch.exp(0.5 * logvar)
        if generator is None:
            eps = torch.randn_like(std)
        else:
            eps = torch.randn(std.shape, generator=generator, dtype=std.dtype)
        return mu + eps * std

    def decode_logits(self, z):
        return self.fc4(F.relu(self.fc3(z)))  # the example applies sigmoid here

    def forward(self, x, generator=None):
        mu, logvar = self.encode(x)
        z = self.reparameterize(mu, logvar, generator)
        return self.decode_logits(z), mu, logvar


def loss_function(logits, x, mu, logvar):
    """Negative ELBO summed over the batch (the example's loss_function, from logits)."""
    bce = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
    # Appendix B of Kingma & Welling 2014: -KL = 0.5 * sum(1 + log(sigma^2) - mu^2 - sigma^2).
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def main():
    train_np, test_np = common.load_mnist(args.data, args.limit)
    train = torch.from_numpy(train_np)
    test = torch.from_numpy(test_np)
    n = train.shape[0]
    steps = (n + BATCH - 1) // BATCH  # last partial batch kept

    model = VAE()  # default nn.Linear init: U(+-1/sqrt(fan_in)) weights and biases
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    gen = torch.Generator().manual_seed(args.seed)

    epoch_seconds = []
    last_loss = float("nan")
    for _ in range(args.epochs):
        model.train()
        order = torch.randperm(n, generator=gen)
        start = time.perf_counter()
        total = 0.0
        for s in range(steps):
            x = train[order[s * BATCH:(s + 1) * BATCH]]
            opt.zero_grad()
            logits, mu, logvar = model(x)
            loss = loss_function(logits, x, mu, logvar)
            loss.backward()
            total += loss.item()
            opt.step()
        epoch_seconds.append(time.perf_counter() - start)
        last_loss = total / n  # the example's "Average loss": per training example

    # The example's test(): the same (sampled) loss over the test set, per example; one seeded
    # sample of z per image.
    model.eval()
    test_gen = torch.Generator().manual_seed(args.seed + 1)
    with torch.inference_mode():
        test_total = 0.0
        for s in range(0, test.shape[0], 1000):
            x = test[s:s + 1000]
            logits, mu, logvar = model(x, generator=test_gen)
            test_total += float(loss_function(logits, x, mu, logvar))
    test_loss = test_total / test.shape[0]

    spe = common.median(epoch_seconds)
    common.emit({
        "framework": "torch",
        "version": torch.__version__,
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "epochs": args.epochs,
        "train_examples": n,
        "steps_per_epoch": steps,
        "epoch_seconds": epoch_seconds,
        "seconds_per_epoch": spe,
        "images_per_second": n / spe if spe > 0 else float("nan"),
        "final_train_loss": last_loss,
        "test_loss_per_example": test_loss,
        "peak_memory_mib": common.peak_memory_mib(),
        "numpy_version": np.__version__,
    })


if __name__ == "__main__":
    main()
