#!/usr/bin/env python3
"""Anchor workload in JAX (jit + optax, CPU): same model/optimizer/batching as `autoencoder bench`.

Prints exactly one JSON object on stdout.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

args = common.parse_args(__doc__)

# Everything below must happen before jax is imported.
os.environ.setdefault("JAX_PLATFORMS", "cpu")
# XLA has no thread-count flag: its CPU intra-op pool is sized from the schedulable CPUs
# (sched_getaffinity), so restrict this process to `threads` CPUs; multi-threaded Eigen
# lets dots use that pool.
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=true").strip()
for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[var] = str(args.threads)
_allowed = sorted(os.sched_getaffinity(0))
_pinned = _allowed[: args.threads] if 0 < args.threads < len(_allowed) else _allowed
os.sched_setaffinity(0, _pinned)

import numpy as np  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import optax  # noqa: E402


def init_params(seed):
    rng = np.random.default_rng(seed)
    return [tuple(jnp.asarray(a) for a in common.torch_default_linear_init(rng, i, o))
            for i, o in common.LAYERS]


def run_layers(layers, x):
    """Sigmoid after every layer except the last of `layers` (the code / the output logits)."""
    for k, (w, b) in enumerate(layers):
        x = x @ w.T + b
        if k < len(layers) - 1:
            x = jax.nn.sigmoid(x)
    return x


def encode(params, x):
    return run_layers(params[: common.CODE_LAYER], x)


def forward(params, x):
    return run_layers(params[common.CODE_LAYER:], encode(params, x))


def loss_fn(params, x):
    # Bernoulli NLL: BCE from logits summed over pixels, averaged over the batch.
    return optax.sigmoid_binary_cross_entropy(forward(params, x), x).sum(axis=1).mean()


optimizer = optax.adam(common.LR, b1=common.BETAS[0], b2=common.BETAS[1], eps=common.EPS)


def train_step(params, opt_state, batch):
    loss, grads = jax.value_and_grad(loss_fn)(params, batch)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss


train_step_jit = jax.jit(train_step, donate_argnums=(0, 1))
encode_jit = jax.jit(encode)


@jax.jit
def test_squared_error(params, x):
    return ((jax.nn.sigmoid(forward(params, x)) - x) ** 2).sum(axis=1).mean()


def main():
    train, test_np = common.load_mnist(args.data, args.limit)
    test = jnp.asarray(test_np)
    n = train.shape[0]
    steps = n // common.BATCH  # last partial batch dropped

    params = init_params(args.seed)
    opt_state = optimizer.init(params)
    rng = np.random.default_rng(args.seed)

    # Warm-up: compile (and run once) on copies so the timed run takes exactly the same steps.
    t = time.perf_counter()
    copy = lambda tree: jax.tree.map(jnp.copy, tree)  # noqa: E731
    warm = train_step_jit(copy(params), copy(opt_state), train[: common.BATCH])
    jax.block_until_ready(warm)
    compile_seconds = time.perf_counter() - t
    del warm

    epoch_seconds = []
    last_loss = float("nan")
    for _ in range(args.epochs):
        order = rng.permutation(n)
        start = time.perf_counter()
        losses = []
        for s in range(steps):
            batch = train[order[s * common.BATCH:(s + 1) * common.BATCH]]
            params, opt_state, loss = train_step_jit(params, opt_state, batch)
            losses.append(loss)
        jax.block_until_ready((params, opt_state, losses))
        epoch_seconds.append(time.perf_counter() - start)
        last_loss = float(np.mean(np.asarray(jax.device_get(losses), dtype=np.float64))) if losses else float("nan")

    test_sq = float(test_squared_error(params, test))
    jax.block_until_ready(encode_jit(params, test))  # compile outside the timing
    encode_times = []
    for _ in range(5):
        t = time.perf_counter()
        codes = encode_jit(params, test)
        codes.block_until_ready()
        encode_times.append(time.perf_counter() - t)
        del codes

    common.emit(common.summarize(
        "jax", jax.__version__, args.threads, args.epochs, steps, epoch_seconds,
        last_loss, test_sq, encode_times, test.shape[0],
        compile_seconds=compile_seconds, optax_version=optax.__version__,
        backend=jax.default_backend(), cpus_pinned=len(_pinned),
        xla_flags=os.environ["XLA_FLAGS"],
    ))


if __name__ == "__main__":
    main()
