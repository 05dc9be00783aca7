"""Tangent planes of an encoder in PyTorch, for `bench/tangent_speed.sh`: the same weights as
one of our run folders (read from its model.safetensors), the Jacobian of every test image by
`torch.func.jacrev` under `torch.func.vmap` (batched reverse mode), then `torch.linalg.svd` of
each k × 784 Jacobian (singular values and the leading `--dim` right singular vectors).

    python torch_tangent.py --data MNIST_DIR --model RUN --dim 10 --threads 2 [--out V.npy]

Prints one JSON object: seconds (Jacobians + SVD, median of --repeats), jacobian_seconds.
"""

import argparse
import json
import struct
import time

import numpy as np
import torch

from common import load_idx_images, find_mnist, median


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        a, b = meta["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype=np.float32).reshape(meta["shape"])
    return out


def torch_encoder(model_dir):
    """The deterministic encoder of one of our run folders as a PyTorch function."""
    spec = json.load(open(f"{model_dir}/spec.json"))
    tensors = read_safetensors(f"{model_dir}/model.safetensors")
    acts = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu,
            "softplus": torch.nn.functional.softplus, "linear": lambda z: z}
    widths = spec["encoder_layers"] + [spec["code_size"]]
    layers = []
    for i, _ in enumerate(widths):
        w = torch.from_numpy(tensors[f"encoder.{i}.weight"].copy())
        b = torch.from_numpy(tensors[f"encoder.{i}.bias"].copy())
        act = acts[spec["code_activation"] if i == len(widths) - 1 else spec["activation"]]
        layers.append((w, b, act))

    def encode(x):
        for w, b, act in layers:
            x = act(torch.nn.functional.linear(x, w, b))  # addmm for batches; 1-D under vmap
        return x

    return encode


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--dim", type=int, default=10)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--chunk", type=int, default=500)
    p.add_argument("--out", default=None)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    encode = torch_encoder(args.model)

    x = torch.from_numpy(load_idx_images(find_mnist(args.data, "t10k")))
    jac = torch.func.vmap(torch.func.jacrev(encode))
    totals, jac_times = [], []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        bases, sigmas = [], []
        jt = 0.0
        for start in range(0, x.shape[0], args.chunk):
            t1 = time.perf_counter()
            j = jac(x[start:start + args.chunk])          # (chunk, k, 784)
            jt += time.perf_counter() - t1
            _, s, vh = torch.linalg.svd(j, full_matrices=False)
            sigmas.append(s)
            bases.append(vh[:, :args.dim, :])
        totals.append(time.perf_counter() - t0)
        jac_times.append(jt)
    if args.out:
        np.save(args.out, torch.cat(bases).numpy())
    print(json.dumps({"seconds": median(totals), "all_seconds": totals,
                      "jacobian_seconds": median(jac_times), "points": int(x.shape[0]),
                      "torch": torch.__version__, "threads": args.threads}))


if __name__ == "__main__":
    main()
