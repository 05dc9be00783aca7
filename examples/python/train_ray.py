"""Data-parallel training on Ray Train: a `TorchTrainer` with CPU workers (Ray sets up the
gloo process group), the rows as a Ray Data dataset split across them; each worker fits its
shard with `TorchReducer`, rank 0 saves the model. Needs `pip install "ray[train]" torch`.

    python examples/python/train_ray.py --config examples/deep.toml --data X.npy --workers 2 --out runs/ray
"""

import numpy as np
import ray
import ray.train
from ray.train import ScalingConfig
from ray.train.torch import TorchTrainer

from autoencoder import Autoencoder
from autoencoder.distributed import TorchReducer


def worker(config):
    reducer = TorchReducer()
    # this worker's shard of the dataset, as one array
    rows = [b["data"] for b in ray.train.get_dataset_shard("train").iter_batches(batch_size=4096, batch_format="numpy")]
    x = np.ascontiguousarray(np.concatenate(rows), dtype=np.float32)
    overrides = {k: v for k, v in config["overrides"].items() if v is not None}
    ae = Autoencoder.from_config(config["config"], **overrides).fit(x, reducer=reducer)
    print(f"rank {reducer.rank}: {x.shape[0]} rows, train loss {ae.history_[-1]['train_loss']:.4f}; {reducer.stats}", flush=True)
    if reducer.rank == 0 and config["out"]:
        ae.save(config["out"])
    ray.train.report({"train_loss": ae.history_[-1]["train_loss"], "rows": int(x.shape[0])})


if __name__ == "__main__":
    import argparse
    import os

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--config", required=True)
    p.add_argument("--data", required=True, help="training rows, .npy")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--epochs", type=int)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out")
    a = p.parse_args()
    ray.init(num_cpus=a.workers, include_dashboard=False)
    dataset = ray.data.from_numpy(np.load(a.data, mmap_mode="r").astype(np.float32))
    trainer = TorchTrainer(
        worker,
        train_loop_config={
            "config": os.path.abspath(a.config),
            "out": os.path.abspath(a.out) if a.out else None,
            "overrides": {"epochs": a.epochs, "threads": a.threads},
        },
        scaling_config=ScalingConfig(num_workers=a.workers, use_gpu=False),
        datasets={"train": dataset},
    )
    print(trainer.fit().metrics)
