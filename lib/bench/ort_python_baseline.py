"""The baseline of lib/bench/python_ort.ts: ONNX Runtime's own Python binding on a model file.

Usage: python3 ort_python_baseline.py MODEL RUNS
Prints one JSON line: the onnxruntime version, the input's name and shape, and for ONNX Runtime's default
thread count and for one thread the median session.run milliseconds of RUNS runs after one warm-up run, on a
random float32 input (the time does not depend on the values). Session options as the project's node runner:
all graph optimisations, CPU execution provider.
"""
import json
import sys
import time

import numpy as np
import onnxruntime as ort


def median_ms(session, feeds, runs):
    session.run(None, feeds)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(None, feeds)
        times.append((time.perf_counter() - start) * 1000)
    return sorted(times)[len(times) // 2]


def main():
    model, runs = sys.argv[1], int(sys.argv[2])
    result = {"version": ort.__version__}
    for name, threads in (("defaultThreads", 0), ("oneThread", 1)):
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads
        session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        (inp,) = session.get_inputs()
        shape = [d if isinstance(d, int) else 1 for d in inp.shape]
        feeds = {inp.name: np.random.default_rng(0).random(shape, dtype=np.float32)}
        result["input"] = {"name": inp.name, "shape": shape}
        result[name] = median_ms(session, feeds, runs)
    print(json.dumps(result))


main()
