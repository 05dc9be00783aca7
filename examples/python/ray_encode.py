"""Encode a dataset on a Ray cluster (Ray Data `map_batches`) with a model trained by
`autoencoder train` or `Autoencoder.fit(...).save(dir)`: each worker loads the run folder once
(a callable class), then encodes the batches it is handed. The codes equal one
`Autoencoder.transform` of the whole array.

    python examples/python/ray_encode.py --model runs/deep --data X.npy --out codes.npy [--address auto]

Without --address a local Ray instance is started (`ray.init(num_cpus=...)`).
"""

import argparse

import numpy as np
import ray

from autoencoder import Autoencoder


class Encoder:
    """Holds one loaded model per Ray worker (loading is done once, not per batch)."""

    def __init__(self, model_dir, threads=1):
        self.model = Autoencoder.load(model_dir)
        self.threads = threads

    def __call__(self, batch):
        # Ray hands numpy batches as {"column": array}; `from_numpy` names the column "data"
        return {"codes": self.model.transform(batch["data"], threads=self.threads)}


def encode(x, model_dir, batch_size=1024, workers=2):
    """The codes of the rows of `x` (n × d), encoded by `workers` Ray actors, in row order."""
    # keep the rows' order through the pipeline (Ray Data may reorder blocks otherwise)
    ray.data.DataContext.get_current().execution_options.preserve_order = True
    # at least two blocks per worker, so every actor gets work (a list of arrays: one block each)
    blocks = max(2 * workers, len(x) // (4 * batch_size))
    out = ray.data.from_numpy(np.array_split(x, blocks)).map_batches(
        Encoder,
        fn_constructor_args=(model_dir,),
        batch_size=batch_size,
        batch_format="numpy",
        concurrency=workers,
        num_cpus=1,
    )
    return np.concatenate([b["codes"] for b in out.iter_batches(batch_format="numpy", batch_size=None)])


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--address")
    p.add_argument("--workers", type=int, default=2)
    a = p.parse_args()
    ray.init(address=a.address) if a.address else ray.init(num_cpus=a.workers, include_dashboard=False)
    x = np.load(a.data, mmap_mode="r")
    codes = encode(np.ascontiguousarray(x, dtype=np.float32), a.model, workers=a.workers)
    np.save(a.out, codes)
    print(f"{len(codes)} codes of {codes.shape[1]} units -> {a.out}")
