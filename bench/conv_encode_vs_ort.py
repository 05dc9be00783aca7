# Ours (Python transform) and onnxruntime on the exported encoder, interleaved, on the 10k MNIST
# test images: python bench/conv_encode_vs_ort.py RUN ENCODER.onnx (BENCHMARKS.md, conv inference).
import time, gzip, sys, numpy as np, onnxruntime as ort
from autoencoder import Autoencoder
raw = gzip.open(sys.argv[3] if len(sys.argv) > 3 else '../shared/data/mnist/t10k-images.idx3-ubyte.gz').read()
x = np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 1, 28, 28).astype(np.float32) / 255
flat = x.reshape(len(x), -1)
m = Autoencoder.load(sys.argv[1])
so = ort.SessionOptions(); so.intra_op_num_threads = 2; so.inter_op_num_threads = 1
s = ort.InferenceSession(sys.argv[2], so, providers=['CPUExecutionProvider'])
ours, onnx = [], []
for _ in range(7):
    t = time.perf_counter(); h = m.transform(x, threads=2); ours.append(time.perf_counter() - t)
    t = time.perf_counter(); g = s.run(None, {s.get_inputs()[0].name: flat})[0]; onnx.append(time.perf_counter() - t)
print('max diff', float(np.abs(g.reshape(len(x), -1) - h.reshape(len(x), -1)).max()))
print('ours img/s %.0f onnxruntime img/s %.0f ratio %.2f (medians of 7, ort %s)' % (10000 / sorted(ours)[3], 10000 / sorted(onnx)[3], sorted(onnx)[3] / sorted(ours)[3], ort.__version__))
