"""Runs exported ONNX graphs in onnxruntime-node (there is no Python onnxruntime here): the real runtime the engine
uses, so parity is checked against it rather than against the PyTorch graph the export came from."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile

import numpy as np

from .data import REPO_ROOT, DataError

RUNNER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tests", "ort_run.mjs")


def tensor_json(x) -> dict:
    a = np.asarray(x)
    dtype = "int64" if np.issubdtype(a.dtype, np.integer) else "float32"
    return {"dtype": dtype, "dims": list(a.shape), "data": a.reshape(-1).tolist()}


def run_onnx(model_path: str, inputs: dict) -> dict:
    """inputs: name -> numpy array; returns name -> numpy array (float32 or int64)."""
    node = shutil.which("node")
    if node is None:
        raise DataError("node is not on PATH; the ONNX runtime check needs node + onnxruntime-node")
    with tempfile.TemporaryDirectory() as tmp:
        ip, op = os.path.join(tmp, "in.json"), os.path.join(tmp, "out.json")
        with open(ip, "w") as f:
            json.dump({k: tensor_json(v) for k, v in inputs.items()}, f)
        r = subprocess.run([node, RUNNER, model_path, ip, op], cwd=REPO_ROOT, capture_output=True, text=True)
        if r.returncode != 0:
            raise DataError(f"onnxruntime-node failed on {model_path}: {r.stderr.strip()[-2000:]}")
        with open(op) as f:
            raw = json.load(f)
    return {k: np.asarray(v["data"], dtype=np.int64 if v["dtype"] == "int64" else np.float32).reshape(v["dims"])
            for k, v in raw.items()}
