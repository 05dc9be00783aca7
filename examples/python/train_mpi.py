"""Data-parallel training with MPI: one process per rank, each fitting its slice of the rows;
gradients averaged by `MpiReducer` every step. Needs `pip install mpi4py mpich` (or any MPI).

    mpirun -np 2 python examples/python/train_mpi.py --config examples/deep.toml --data X.npy --out runs/mpi
"""

from train_common import arguments, fit

from autoencoder.distributed import MpiReducer

if __name__ == "__main__":
    args = arguments(__doc__).parse_args()
    import os

    # MPI_TIMEOUT=none: blocking all-reduces, no failure detection
    timeout = os.environ.get("MPI_TIMEOUT", "120")
    fit(args, MpiReducer(timeout=None if timeout == "none" else float(timeout)))
