"""One worker of a data-parallel fit, for test_distributed.py (not a test module itself).

    mpirun -np 2 python dist_worker.py mpi fit OUT
    RANK=r WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=p python dist_worker.py torch fit OUT
    mpirun -np 2 -disable-auto-cleanup python dist_worker.py mpi kill OUT

`fit`: each rank fits its half of the first 200 shipped MNIST training images (unshuffled,
batch 10) and saves its weights and history to OUT/rank{r}.npz. `kill`: rank 1 exits abruptly
after its first epoch; rank 0 writes the error it got (and how long it waited) to OUT/rank0.txt.
With CHECKPOINT_DIR set, rank 0 checkpoints there every epoch and a fit continues from it.
"""

import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from test_autoencoder import mnist  # noqa: E402

from autoencoder import Autoencoder  # noqa: E402

PARAMS = dict(layers=[64], code=8, activation="tanh", epochs=3, batch_size=10, learning_rate=3e-3,
              shuffle=False, validation_fraction=0.0, threads=1, seed=1)


def main():
    engine, task, out = sys.argv[1:4]
    if engine == "mpi":
        from autoencoder.distributed import MpiReducer

        reducer = MpiReducer(timeout=float(os.environ.get("REDUCER_TIMEOUT", "60")))
    else:
        import datetime

        import torch.distributed as dist

        from autoencoder.distributed import TorchReducer

        dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=30))
        reducer = TorchReducer()
    x, _ = mnist(200)
    r, n = reducer.rank, reducer.world_size
    mine = x[r * 200 // n:(r + 1) * 200 // n]
    checkpoint = os.environ.get("CHECKPOINT_DIR")
    if task == "fit":
        ae = Autoencoder(checkpoint_dir=checkpoint, **PARAMS).fit(mine, reducer=reducer)
        np.savez(os.path.join(out, f"rank{r}.npz"), history=json.dumps(ae.history_),
                 **{name: np.asarray(t) for name, t in ae.model_.tensors()})
    elif task == "kill":
        def die(metrics):
            if r == 1:
                os._exit(3)

        start = time.monotonic()
        try:
            Autoencoder(checkpoint_dir=checkpoint, **PARAMS).fit(mine, callbacks=[die], reducer=reducer)
            message = "no error"
        except Exception as e:  # the test reads what it was
            message = f"{type(e).__name__}: {e}"
        with open(os.path.join(out, f"rank{r}.txt"), "w") as f:
            f.write(f"{time.monotonic() - start:.1f}\n{message}\n")
        sys.stdout.flush()
        os._exit(0)


if __name__ == "__main__":
    main()
