"""Encoding speed from Python: our package's `transform` against PyTorch eager and onnxruntime
running the same encoder (weights of one run folder; onnxruntime runs our own ONNX export of
it), 2 threads each, interleaved repeats, on the 10,000 MNIST test images.

    python bench/transform_speed.py --data MNIST_DIR --model RUN [--repeats 7]

Prints one JSON object: the median seconds of each and the max absolute difference of the codes.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from common import find_mnist, load_idx_images  # noqa: E402
from torch_tangent import torch_encoder  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    import onnxruntime as ort
    import torch
    from autoencoder import Autoencoder

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    x = load_idx_images(find_mnist(args.data, "t10k"))
    ours = Autoencoder.load(args.model)
    encoder = torch_encoder(args.model)

    def torch_encode(a):
        with torch.no_grad():
            return encoder(torch.from_numpy(a)).numpy()

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "encoder.onnx")
        ours.export_onnx(path, part="encoder")
        so = ort.SessionOptions()
        so.intra_op_num_threads = args.threads
        so.inter_op_num_threads = 1
        sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        name = sess.get_inputs()[0].name
        runs = {
            "ours": lambda: ours.transform(x, threads=args.threads),
            "torch": lambda: torch_encode(x),
            "onnxruntime": lambda: sess.run(None, {name: x})[0],
        }
        outputs = {k: f() for k, f in runs.items()}  # warm-up, and the codes to compare
        times = {k: [] for k in runs}
        for _ in range(args.repeats):
            for k, f in runs.items():
                t0 = time.perf_counter()
                f()
                times[k].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(json.dumps({
        "seconds": med, "all_seconds": times,
        "images_per_second": {k: len(x) / v for k, v in med.items()},
        "max_abs_diff_vs_ours": {k: float(np.abs(outputs[k] - outputs["ours"]).max()) for k in runs},
        "threads": args.threads, "torch": torch.__version__, "onnxruntime": ort.__version__,
    }))


if __name__ == "__main__":
    main()
