"""Data-parallel training with Spark's `TorchDistributor` (pyspark ≥ 3.4, torch, a Java
runtime): each Spark task is a torch.distributed (gloo) worker that fits its slice of the rows
with `TorchReducer`; rank 0 saves the model.

    python examples/python/train_spark.py --config examples/deep.toml --data X.npy --workers 2 --out runs/spark
"""


def train(config, data, out, epochs, threads):
    import datetime

    import torch.distributed as dist
    from train_common import shard

    from autoencoder import Autoencoder
    from autoencoder.distributed import TorchReducer

    dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=120))
    reducer = TorchReducer()
    x = shard(data, reducer.rank, reducer.world_size)
    overrides = {"threads": threads, **({"epochs": epochs} if epochs else {})}
    ae = Autoencoder.from_config(config, **overrides).fit(x, reducer=reducer)
    if reducer.rank == 0 and out:
        ae.save(out)
    dist.destroy_process_group()
    return ae.history_[-1]["train_loss"]


if __name__ == "__main__":
    import argparse
    import os
    import sys

    from pyspark.ml.torch.distributor import TorchDistributor
    from pyspark.sql import SparkSession

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--config", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--epochs", type=int)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out")
    a = p.parse_args()
    # the distributor's worker processes import train_common from here
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    os.environ["PYTHONPATH"] = os.pathsep.join([here, os.environ.get("PYTHONPATH", "")])
    SparkSession.builder.master(f"local[{a.workers}]").getOrCreate()
    loss = TorchDistributor(num_processes=a.workers, local_mode=True, use_gpu=False).run(
        train, os.path.abspath(a.config), os.path.abspath(a.data), a.out and os.path.abspath(a.out), a.epochs, a.threads
    )
    print("rank 0 train loss", loss)
