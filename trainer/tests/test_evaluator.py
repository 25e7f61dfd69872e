"""The evaluator model and its trainer: padding invariance, false-negative filtering, mirroring rule, a tiny end-to-end
training on the synthetic cache (loss falls, retrieval beats chance, ONNX exports with the documented IO) and errors."""
import json
import os

import numpy as np
import onnx
import pytest
import torch

from trainer.data import Clip, DataError
from trainer.evaluator import Evaluator, EvaluatorConfig
from trainer.synthetic import write_synthetic, write_synthetic_pairs
from trainer.train_evaluator import can_mirror, load_evaluator, main


def _clip(texts, action="walk", style="normal"):
    return Clip(id="c", split="train", dataset="d", offset=0, length=10, action_labels=[action], style=style, texts=texts)


def test_embedding_does_not_depend_on_batch_padding():
    torch.manual_seed(0)
    model = Evaluator(EvaluatorConfig(feature_dim=71, text_dim=16, width=32, embed_dim=16, text_hidden=32)).eval()
    x = torch.randn(3, 50, 71)
    lengths = torch.tensor([50, 21, 6])
    with torch.no_grad():
        batched = model.motion(x, lengths)
        single = torch.cat([model.motion(x[i:i + 1, :int(lengths[i])], lengths[i:i + 1]) for i in range(3)])
    assert torch.allclose(batched, single, atol=1e-5)
    assert torch.allclose(batched.norm(dim=-1), torch.full((3,), 8.0))


def test_false_negatives_sharing_a_text_leave_the_softmax():
    torch.manual_seed(0)
    model = Evaluator(EvaluatorConfig(feature_dim=71, text_dim=16, width=32, embed_dim=16, text_hidden=32, dropout=0.0))
    x, lengths, t = torch.randn(4, 20, 71), torch.full((4,), 20), torch.randn(4, 16)
    eye = torch.eye(4, dtype=torch.bool)
    everything_same = torch.ones(4, 4, dtype=torch.bool)
    assert float(model.loss(x, lengths, t, eye)) > 0.5
    # With every pair marked as sharing a text, each row keeps only its own pair: nothing to contrast, loss 0.
    assert float(model.loss(x, lengths, t, everything_same)) == pytest.approx(0.0, abs=1e-6)


def test_only_texts_without_a_side_are_mirrored():
    assert can_mirror(_clip(["a person walks forward."]), [])
    assert not can_mirror(_clip(["a person waves the left hand."], action="wave-left-hand"), [])
    assert not can_mirror(_clip(["someone turns Right while walking."]), [])
    # A mirror that would recreate a held-out pair is refused even for a side-free text.
    assert not can_mirror(_clip(["a person waves."], action="wave-right-hand", style="elderly"), [("wave-left-hand", "elderly")])


@pytest.fixture(scope="module")
def synthetic8(tmp_path_factory):
    """The synthetic cache with 8 clips per (action, style), so val and test fill R-precision batches of 8."""
    root = tmp_path_factory.mktemp("syn")
    write_synthetic(str(root / "cache"), str(root / "emb"), clips_per_pair=8)
    write_synthetic_pairs(str(root / "pairs.json"))
    return root


def test_tiny_training_learns_and_exports_onnx(synthetic8, capsys):
    out = synthetic8 / "out"
    rc = main(["--config", "tiny", "--cache", str(synthetic8 / "cache"), "--embeddings", str(synthetic8 / "emb"),
               "--zeroshot", str(synthetic8 / "pairs.json"), "--out", str(out), "--steps", "60"])
    assert rc == 0
    lines = [json.loads(l) for l in capsys.readouterr().out.splitlines() if l.startswith("{")]
    progress = [l for l in lines if "loss" in l]
    assert progress[-1]["loss"] < progress[0]["loss"], progress
    done = lines[-1]
    assert done["event"] == "done"
    # Chance top-3 in batches of 8 is 3/8; the synthetic motions are separable by action and style.
    assert done["ground_truth"]["test"]["raw_text"]["r_precision_top3"] > 0.6
    assert json.loads((out / "evaluator_metrics.json").read_text())["best_val_r3"] == done["best_val_r3"]
    motion = onnx.load(str(out / "eval_motion.onnx"))
    text = onnx.load(str(out / "eval_text.onnx"))
    assert [i.name for i in motion.graph.input] == ["features", "lengths"]
    assert [o.name for o in motion.graph.output] == ["embedding"]
    assert [i.name for i in text.graph.input] == ["text_embedding"]
    dims = [d.dim_param or d.dim_value for d in motion.graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["batch", "frames", 71]
    assert motion.opset_import[0].version == 17
    model = load_evaluator(str(out / "evaluator.pt"))
    fixture = json.loads((out / "evaluator_parity.json").read_text())
    with torch.no_grad():
        again = model.motion(torch.tensor(fixture["features"]), torch.tensor(fixture["lengths"]))
    assert np.allclose(again.numpy(), fixture["motion_embedding"], atol=1e-5)


def test_missing_inputs_and_bad_config_give_clear_errors(synthetic8, tmp_path, capsys):
    assert main(["--cache", str(tmp_path / "nope"), "--embeddings", str(synthetic8 / "emb"), "--out", str(tmp_path / "o")]) == 2
    assert "features cache not found" in capsys.readouterr().err
    assert main(["--config", "huge"]) == 2
    assert "--config must be one of full, tiny, got 'huge'" in capsys.readouterr().err
    with pytest.raises(DataError, match="evaluator checkpoint not found"):
        load_evaluator(str(tmp_path / "missing.pt"))
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(DataError, match="cannot read the evaluator checkpoint"):
        load_evaluator(str(tmp_path / "bad.pt"))
