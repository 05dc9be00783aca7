#!/usr/bin/env python3
"""Convolutional autoencoders in PyTorch (eager, CPU): the same nets, optimizer and batching as
`autoencoder train --config examples/conv.toml` (the Keras-guide net) and the pythae-MNIST-like
net (`--net pythae`). Prints exactly one JSON object on stdout: seconds per epoch (median), the
last epoch's mean loss, test squared error, encode images/s and peak RSS.

Keras-guide net: conv 32-3 p1 ReLU + max-pool 2, twice (28→14→7); conv_transpose 32-3 s2 p1 op1
ReLU twice (7→14→28); conv 1-3 p1; Bernoulli output; Adam 1e-3; batch 128.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

import argparse  # noqa: E402

p = argparse.ArgumentParser(description=__doc__)
p.add_argument("--data", required=True)
p.add_argument("--epochs", type=int, default=2)
p.add_argument("--limit", type=int, default=None)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--seed", type=int, default=0)
p.add_argument("--net", choices=["keras", "pythae"], default="keras")
args = p.parse_args()
for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[var] = str(args.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(args.threads)
torch.set_num_interop_threads(1)
torch.manual_seed(args.seed)


def keras():
    enc = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    )
    dec = nn.Sequential(
        nn.ConvTranspose2d(32, 32, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
        nn.ConvTranspose2d(32, 32, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
        nn.Conv2d(32, 1, 3, padding=1),
    )
    return enc, dec


def pythae():
    # 4 × conv k4 s2 p1 (128/256/512/1024) + batch norm + ReLU, a 16-D dense code, mirrored
    # decoder (28 → 14 → 7 → 3 → 1 and back with output_padding where the floor dropped a row)
    chans = [1, 128, 256, 512, 1024]
    enc = []
    for i, o in zip(chans[:-1], chans[1:]):
        enc += [nn.Conv2d(i, o, 4, stride=2, padding=1), nn.BatchNorm2d(o), nn.ReLU()]
    enc += [nn.Flatten(), nn.Linear(1024, 16)]
    sizes = [28, 14, 7, 3, 1]
    dec = [nn.Linear(16, 1024), nn.BatchNorm1d(1024), nn.ReLU(), nn.Unflatten(1, (1024, 1, 1))]
    for k in range(4, 0, -1):
        i, o = chans[k], chans[k - 1]
        op = sizes[k - 1] - ((sizes[k] - 1) * 2 - 2 + 4)
        dec.append(nn.ConvTranspose2d(i, o, 4, stride=2, padding=1, output_padding=op))
        if k > 1:
            dec += [nn.BatchNorm2d(o), nn.ReLU()]
    return nn.Sequential(*enc), nn.Sequential(*dec)


def macs_per_image(model, x):
    """Multiply-adds of one image's forward pass through the conv and linear layers."""
    total = [0]

    def hook(m, inp, out):
        if isinstance(m, nn.Conv2d):
            total[0] += out[0].numel() * m.in_channels * m.kernel_size[0] * m.kernel_size[1]
        elif isinstance(m, nn.ConvTranspose2d):
            total[0] += inp[0][0].numel() * m.out_channels * m.kernel_size[0] * m.kernel_size[1]
        elif isinstance(m, nn.Linear):
            total[0] += m.in_features * m.out_features

    hs = [m.register_forward_hook(hook) for m in model.modules()]
    model.eval()
    with torch.no_grad():
        model(x[:2])
    for h in hs:
        h.remove()
    return total[0]


def main():
    train_np, test_np = common.load_mnist(args.data, args.limit)
    train = torch.from_numpy(train_np).reshape(-1, 1, 28, 28)
    test = torch.from_numpy(test_np).reshape(-1, 1, 28, 28)
    n = train.shape[0]
    steps = n // common.BATCH
    enc, dec = keras() if args.net == "keras" else pythae()
    model = nn.Sequential(enc, dec)
    macs = macs_per_image(model, train)
    opt = torch.optim.Adam(model.parameters(), lr=common.LR, betas=common.BETAS, eps=common.EPS)
    gen = torch.Generator().manual_seed(args.seed)
    model.train()
    epoch_seconds, last_loss = [], float("nan")
    for _ in range(args.epochs):
        order = torch.randperm(n, generator=gen)
        start = time.perf_counter()
        total = 0.0
        for s in range(steps):
            x = train[order[s * common.BATCH:(s + 1) * common.BATCH]]
            logits = model(x)
            loss = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / x.shape[0]
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item()
        epoch_seconds.append(time.perf_counter() - start)
        last_loss = total / max(steps, 1)
    model.eval()
    with torch.inference_mode():
        sq = 0.0
        for s in range(0, test.shape[0], 1000):
            x = test[s:s + 1000]
            sq += float(((torch.sigmoid(model(x)) - x) ** 2).sum(dtype=torch.float64))
        encode_times = []
        for _ in range(3):
            t = time.perf_counter()
            for s in range(0, test.shape[0], 1000):
                enc(test[s:s + 1000])
            encode_times.append(time.perf_counter() - t)
    params = sum(p.numel() for p in model.parameters())
    out = common.summarize(
        "torch", torch.__version__, torch.get_num_threads(), args.epochs, steps, epoch_seconds,
        last_loss, sq / test.shape[0], encode_times, test.shape[0],
        interop_threads=torch.get_num_interop_threads(), numpy_version=np.__version__,
    )
    out["net"] = args.net
    # 6 FLOPs a multiply-add per training image: forward, weight and input gradients
    out["gflops"] = 6 * macs * steps * common.BATCH / out["seconds_per_epoch"] / 1e9
    out["training_flops_per_image"] = 6 * macs
    out["parameters"] = params
    common.emit(out)


if __name__ == "__main__":
    main()
