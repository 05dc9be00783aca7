"""Encode a dataset with Spark (`pyspark.ml.functions.predict_batch_udf`) and the ONNX export of
a trained model, run by onnxruntime on the executors: no Rust code on the cluster, only the
.onnx file. Checks the codes against `Autoencoder.transform` and prints the timing.

    python examples/python/spark_encode_onnx.py --model runs/deep --data X.npy [--master local[2]]
"""

import argparse
import os
import sys
import tempfile
import time

import numpy as np
import pandas as pd
from pyspark.ml.functions import predict_batch_udf
from pyspark.sql import SparkSession
from pyspark.sql.types import ArrayType, FloatType

from autoencoder import Autoencoder


def make_predict_fn(onnx_path):
    """Runs on each executor: one onnxruntime session, then one call per batch."""

    def make():
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # one Spark task per core
        session = ort.InferenceSession(onnx_path, options, providers=["CPUExecutionProvider"])

        def predict(x):
            return session.run(None, {"x": x.astype(np.float32, copy=False)})[0]

        return predict

    return make


def main():
    # the executors' Python: this one (with numpy and onnxruntime), unless set otherwise
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--master", default="local[2]")
    p.add_argument("--batch-size", type=int, default=1024)
    a = p.parse_args()
    model = Autoencoder.load(a.model)
    x = np.ascontiguousarray(np.load(a.data), dtype=np.float32)
    with tempfile.TemporaryDirectory() as d:
        onnx_path = model.export_onnx(os.path.join(d, "encoder.onnx"), part="encoder")
        spark = SparkSession.builder.master(a.master).appName("autoencoder-encode").getOrCreate()
        spark.conf.set("spark.sql.execution.arrow.pyspark.enabled", "true")
        df = spark.createDataFrame(pd.DataFrame({"id": np.arange(len(x)), "features": list(x)}))
        encode = predict_batch_udf(
            make_predict_fn(onnx_path),
            return_type=ArrayType(FloatType()),
            batch_size=a.batch_size,
            input_tensor_shapes=[[x.shape[1]]],
        )
        start = time.perf_counter()
        out = df.withColumn("codes", encode("features")).select("id", "codes").toPandas()
        seconds = time.perf_counter() - start
        spark.stop()
    codes = np.stack(out.sort_values("id")["codes"].to_numpy()).astype(np.float32)
    start = time.perf_counter()
    want = model.transform(x)
    local = time.perf_counter() - start
    print(
        f"spark {a.master}: {len(x)} rows in {seconds:.2f} s ({len(x) / seconds:,.0f} rows/s); "
        f"one transform: {local:.3f} s; max |difference| {np.max(np.abs(codes - want)):.2e}"
    )


if __name__ == "__main__":
    main()
