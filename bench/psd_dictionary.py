"""Writes a PSD run's dictionary (inputs × atoms, float32) from its model.safetensors to .npy,
for `autoencoder sparse-encode --dictionary` and scikit-learn. Reads the safetensors layout
directly (8-byte little-endian header length, JSON header, raw tensors): numpy only.

    python bench/psd_dictionary.py RUN/model.safetensors D.npy
"""
import json
import struct
import sys

import numpy as np


def read_tensor(path, name):
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
        body = f.read()
    info = header[name]
    if info["dtype"] != "F32":
        raise ValueError(f"{path}: {name} is {info['dtype']}, expected F32")
    start, end = info["data_offsets"]
    return np.frombuffer(body[start:end], dtype="<f4").reshape(info["shape"])


if __name__ == "__main__":
    np.save(sys.argv[2], read_tensor(sys.argv[1], "dictionary").astype(np.float32))
