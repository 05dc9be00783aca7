#!/usr/bin/env python3
"""The Keras-guide conv autoencoder (examples/conv.toml) in JAX (jit, CPU, optax Adam 1e-3, batch
128, Bernoulli cross-entropy summed over pixels): the JAX peer of bench/torch_conv.py. Prints one
JSON object: seconds per epoch (median over epochs, the first epoch includes compilation and is
reported apart) and the last epoch's mean loss.
"""

import argparse
import json
import os
import statistics
import sys
import time

p = argparse.ArgumentParser(description=__doc__)
p.add_argument("--data", required=True)
p.add_argument("--epochs", type=int, default=3)
p.add_argument("--limit", type=int, default=None)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--seed", type=int, default=0)
args = p.parse_args()
os.environ["XLA_FLAGS"] = (
    f"--xla_cpu_multi_thread_eigen=true intra_op_parallelism_threads={args.threads}"
)
os.environ["OMP_NUM_THREADS"] = str(args.threads)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

DN = ("NCHW", "OIHW", "NCHW")


def conv(x, w, b, stride=1, pad=1):
    y = jax.lax.conv_general_dilated(x, w, (stride, stride), [(pad, pad), (pad, pad)], dimension_numbers=DN)
    return y + b[None, :, None, None]


def conv_transpose(x, w, b):
    # PyTorch ConvTranspose2d(k3, s2, p1, op1) = dilate the input by 2, pad (1, 2), correlate
    # with the flipped kernel (weight stored [Cin, Cout, k, k] as PyTorch's)
    wf = jnp.flip(w, (2, 3)).transpose(1, 0, 2, 3)
    y = jax.lax.conv_general_dilated(x, wf, (1, 1), [(1, 2), (1, 2)], lhs_dilation=(2, 2), dimension_numbers=DN)
    return y + b[None, :, None, None]


def pool(x):
    return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")


def init(key):
    def u(key, shape, fan_in):
        bound = 1.0 / np.sqrt(fan_in)
        return jax.random.uniform(key, shape, jnp.float32, -bound, bound)

    ks = jax.random.split(key, 10)
    return {
        "e0w": u(ks[0], (32, 1, 3, 3), 9), "e0b": u(ks[1], (32,), 9),
        "e1w": u(ks[2], (32, 32, 3, 3), 288), "e1b": u(ks[3], (32,), 288),
        "d0w": u(ks[4], (32, 32, 3, 3), 288), "d0b": u(ks[5], (32,), 288),
        "d1w": u(ks[6], (32, 32, 3, 3), 288), "d1b": u(ks[7], (32,), 288),
        "d2w": u(ks[8], (1, 32, 3, 3), 288), "d2b": u(ks[9], (1,), 288),
    }


def forward(p, x):
    h = pool(jax.nn.relu(conv(x, p["e0w"], p["e0b"])))
    h = pool(jax.nn.relu(conv(h, p["e1w"], p["e1b"])))
    h = jax.nn.relu(conv_transpose(h, p["d0w"], p["d0b"]))
    h = jax.nn.relu(conv_transpose(h, p["d1w"], p["d1b"]))
    return conv(h, p["d2w"], p["d2b"])


def loss_fn(p, x):
    z = forward(p, x)
    # Bernoulli cross-entropy from logits, summed over pixels, mean over the batch
    return jnp.mean(jnp.sum(jnp.logaddexp(0.0, z) - x * z, axis=(1, 2, 3)))


def main():
    train_np, _ = common.load_mnist(args.data, args.limit)
    train = jnp.asarray(train_np.reshape(-1, 1, 28, 28))
    n = train.shape[0]
    steps = n // common.BATCH
    params = init(jax.random.PRNGKey(args.seed))
    opt = optax.adam(common.LR, b1=common.BETAS[0], b2=common.BETAS[1], eps=common.EPS)
    state = opt.init(params)

    @jax.jit
    def step(params, state, x):
        loss, g = jax.value_and_grad(loss_fn)(params, x)
        updates, state = opt.update(g, state, params)
        return optax.apply_updates(params, updates), state, loss

    rng = np.random.default_rng(args.seed)
    epoch_seconds, last = [], float("nan")
    for _ in range(args.epochs):
        order = rng.permutation(n)
        start = time.perf_counter()
        total = 0.0
        for s in range(steps):
            x = train[order[s * common.BATCH:(s + 1) * common.BATCH]]
            params, state, loss = step(params, state, x)
            total += float(loss)
        epoch_seconds.append(time.perf_counter() - start)
        last = total / steps
    timed = epoch_seconds[1:] or epoch_seconds
    print(json.dumps({
        "framework": "jax", "version": jax.__version__, "threads": args.threads, "epochs": args.epochs,
        "steps_per_epoch": steps, "epoch_seconds": epoch_seconds,
        "seconds_per_epoch": statistics.median(timed), "final_train_loss": last,
    }))


if __name__ == "__main__":
    main()
