"""The committed parity fixtures agree with the committed tiny model when run in onnxruntime-node, so the engine's
TypeScript parity test compares against numbers that are right (regenerate both with `python -m trainer.fixtures`)."""
import json
import os

import numpy as np
import pytest

from trainer.ort import run_onnx

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = os.path.join(REPO, "test", "fixtures", "tiny-model")
PARITY = os.path.join(REPO, "test", "fixtures", "parity")


def _load(name):
    with open(os.path.join(PARITY, name)) as f:
        fx = json.load(f)
    arrays = lambda d: {k: np.asarray(v["data"], dtype=np.int64 if v["dtype"] == "int64" else np.float32).reshape(v["dims"])
                        for k, v in d.items()}
    return fx["model"], arrays(fx["inputs"]), arrays(fx["outputs"])


def test_tiny_model_is_small_and_complete():
    with open(os.path.join(MODEL, "manifest.json")) as f:
        manifest = json.load(f)
    size = sum(os.path.getsize(os.path.join(MODEL, f)) for f in os.listdir(MODEL))
    assert size < 2 * 1024 * 1024
    assert {e["file"] for e in manifest["onnx"].values()} == set(manifest["files"])


@pytest.mark.parametrize("name", ["vq_encoder.json", "vq_decoder.json", "gpt_step0.json", "gpt_step1.json"])
def test_fixture_matches_onnxruntime(name):
    model, inputs, expected = _load(name)
    got = run_onnx(os.path.join(MODEL, model), inputs)
    for key, want in expected.items():
        assert got[key].shape == want.shape
        if want.dtype == np.int64:
            assert np.array_equal(got[key], want)
        else:
            assert np.abs(got[key] - want).max() <= 1e-4
    if "logits" in expected:
        assert np.array_equal(got["logits"].argmax(-1), expected["logits"].argmax(-1))


def test_step1_continues_from_step0():
    _, in0, out0 = _load("gpt_step0.json")
    _, in1, _ = _load("gpt_step1.json")
    np.testing.assert_array_equal(in1["past_key_values"], out0["present_key_values"])
    assert int(in1["tokens"][0, 0, 0]) == int(out0["logits"][0, -1].argmax(-1)[0])


def test_greedy_loop_fixture_follows_the_documented_loop():
    """Re-runs trainer/ONNX.md's decoding loop in onnxruntime-node and expects the PyTorch codes."""
    with open(os.path.join(PARITY, "gpt_greedy.json")) as f:
        fx = json.load(f)
    with open(os.path.join(MODEL, "manifest.json")) as f:
        g = json.load(f)["gpt"]
    req, s = fx["request"], fx["request"]["guidance"]
    tokens = [[[g["specialTokens"]["controlOffset"] + c for c in ctl["codes"]] for ctl in req["controls"]]
              + [[g["specialTokens"]["bos"]] * g["numCodebooks"]]] * 2
    pos = [[ctl["pos"] for ctl in req["controls"]] + [0]] * 2
    past = np.zeros((g["layers"], 2, 2, g["heads"], 0, g["headDim"]), dtype=np.float32)
    codes = []
    while len(codes) < req["duration"]:
        out = run_onnx(os.path.join(MODEL, "gpt.onnx"), {
            "tokens": np.asarray(tokens, dtype=np.int64), "pos": np.asarray(pos, dtype=np.int64),
            "text_emb": np.asarray([req["text_emb"]] * 2, dtype=np.float32), "text_mask": np.asarray([1, 0], dtype=np.float32),
            "task": np.asarray([req["task"]] * 2), "duration": np.asarray([req["duration"]] * 2), "past_key_values": past})
        c, u = out["logits"][0, -1], out["logits"][1, -1]
        step = (u + s * (c - u)).argmax(-1).tolist()
        codes.append(step)
        tokens, pos, past = [[step]] * 2, [[len(codes)]] * 2, out["present_key_values"]
    assert codes == fx["codes"]
