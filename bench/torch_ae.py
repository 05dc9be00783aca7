#!/usr/bin/env python3
"""Anchor workload in PyTorch (eager, CPU): same model/optimizer/batching as `autoencoder bench`.

Prints exactly one JSON object on stdout.
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
device = torch.device("cpu")


def build_model():
    def stack(pairs, last_activation):
        mods = []
        for k, (i, o) in enumerate(pairs):
            mods.append(nn.Linear(i, o))
            if k < len(pairs) - 1 or last_activation:
                mods.append(nn.Sigmoid())
        return nn.Sequential(*mods)

    enc = stack(common.LAYERS[: common.CODE_LAYER], last_activation=False)  # linear 30-unit code
    dec = stack(common.LAYERS[common.CODE_LAYER:], last_activation=False)  # linear output logits
    return enc, dec


def main():
    train_np, test_np = common.load_mnist(args.data, args.limit)
    train = torch.from_numpy(train_np).to(device)
    test = torch.from_numpy(test_np).to(device)
    n = train.shape[0]
    steps = n // common.BATCH  # last partial batch dropped

    enc, dec = build_model()  # default nn.Linear init
    model = nn.Sequential(enc, dec).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=common.LR, betas=common.BETAS, eps=common.EPS)
    gen = torch.Generator().manual_seed(args.seed)

    model.train()
    epoch_seconds = []
    last_loss = float("nan")
    for _ in range(args.epochs):
        order = torch.randperm(n, generator=gen)
        start = time.perf_counter()
        total = 0.0
        for s in range(steps):
            x = train[order[s * common.BATCH:(s + 1) * common.BATCH]]
            logits = model(x)
            # Bernoulli NLL: BCE from logits summed over pixels, averaged over the batch.
            loss = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / x.shape[0]
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item()
        epoch_seconds.append(time.perf_counter() - start)
        last_loss = total / max(steps, 1)

    model.eval()
    with torch.inference_mode():
        recon = torch.sigmoid(model(test))
        test_sq = float(((recon - test) ** 2).sum(dim=1, dtype=torch.float64).mean())
        encode_times = []
        for _ in range(5):
            t = time.perf_counter()
            codes = enc(test)
            encode_times.append(time.perf_counter() - t)
            del codes

    common.emit(common.summarize(
        "torch", torch.__version__, torch.get_num_threads(), args.epochs, steps, epoch_seconds,
        last_loss, test_sq, encode_times, test.shape[0],
        interop_threads=torch.get_num_interop_threads(), numpy_version=np.__version__,
    ))


if __name__ == "__main__":
    main()
