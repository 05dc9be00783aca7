"""Data-parallel training under torchrun (torch.distributed, gloo backend, CPU):

    torchrun --nproc-per-node 2 examples/python/train_torchrun.py --config examples/deep.toml --data X.npy --out runs/torch
"""

import datetime

import torch.distributed as dist
from train_common import arguments, fit

from autoencoder.distributed import TorchReducer

if __name__ == "__main__":
    args = arguments(__doc__).parse_args()
    # torchrun sets RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT; a dead peer fails the
    # others' collectives within the timeout
    dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=120))
    try:
        fit(args, TorchReducer())
    finally:
        dist.destroy_process_group()
