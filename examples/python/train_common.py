"""What the data-parallel launchers share: this worker's rows of a `.npy` file (a contiguous
slice, read through a memory map, so no worker loads the whole file), the estimator from a
CLI config, and one summary line per worker."""

import time

import numpy as np

from autoencoder import Autoencoder


def shard(path, rank, world_size):
    """Rows [rank·n/world, (rank+1)·n/world) of the .npy file at `path` (n × d, or images)."""
    x = np.load(path, mmap_mode="r")
    n = x.shape[0]
    return np.ascontiguousarray(x[rank * n // world_size:(rank + 1) * n // world_size], dtype=np.float32)


def fit(args, reducer):
    """Fits this worker's shard with `reducer`; rank 0 saves the model to `args.out`."""
    x = shard(args.data, reducer.rank, reducer.world_size)
    overrides = {"threads": args.threads}
    if args.epochs is not None:
        overrides["epochs"] = args.epochs
    if args.batch_size is not None:
        overrides["batch_size"] = args.batch_size
    ae = Autoencoder.from_config(args.config, **overrides)
    start = time.perf_counter()
    ae.fit(x, reducer=reducer)
    seconds = time.perf_counter() - start
    last = ae.history_[-1]
    print(
        f"rank {reducer.rank}/{reducer.world_size}: {x.shape[0]} rows, {len(ae.history_)} epochs in "
        f"{seconds:.1f} s ({seconds / len(ae.history_):.2f} s/epoch), train loss {last['train_loss']:.4f}, "
        f"validation loss {last['validation_loss']}; {reducer.stats}",
        flush=True,
    )
    if reducer.rank == 0 and args.out:
        ae.save(args.out)
    return ae


def arguments(description):
    import argparse

    p = argparse.ArgumentParser(description=description)
    p.add_argument("--config", required=True, help="a CLI TOML config (e.g. examples/deep.toml)")
    p.add_argument("--data", required=True, help="training rows, .npy (each worker reads its slice)")
    p.add_argument("--out", help="run folder rank 0 saves the model to")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int, help="per worker: the global batch is this × workers")
    p.add_argument("--threads", type=int, default=1, help="engine threads per worker")
    return p
