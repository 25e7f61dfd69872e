"""Product quantization (K = 2 codebooks) survives the export: onnxruntime-node reproduces PyTorch on every graph."""
import numpy as np
import pytest
import torch

from trainer.export import GPTGraph, VQDecoderGraph, VQEncoderGraph, example_gpt_inputs, export_onnx
from trainer.gpt import GPTConfig, MotionGPT, empty_past
from trainer.ort import run_onnx
from trainer.vqvae import VQVAE, VQConfig


@torch.no_grad()
@pytest.mark.parametrize("tied", [False, True])
def test_two_codebooks_export_and_run(tmp_path, tied):
    torch.manual_seed(0)
    vq = VQVAE(VQConfig(width=16, depth=1, code_dim=8, codebook_size=16, num_codebooks=2)).eval()
    for book in vq.quantizer.books:
        book.embed.normal_()
    gpt = MotionGPT(GPTConfig(codebook_size=16, num_codebooks=2, text_dim=8, n_layer=1, n_head=2, n_embd=16,
                              dropout=0.0, tied_controls=tied)).eval()
    if tied:
        gpt.control.normal_()
    mean, std = np.zeros(71, np.float32), np.ones(71, np.float32)
    section = export_onnx(vq, gpt, mean, std, str(tmp_path))
    assert set(section) == {"vq_encoder", "vq_decoder", "gpt"}
    x = np.random.default_rng(0).standard_normal((2, 16, 71)).astype(np.float32)
    codes = VQEncoderGraph(vq, mean, std)(torch.from_numpy(x))
    got = run_onnx(str(tmp_path / "vq_encoder.onnx"), {"features": x})["codes"]
    assert got.shape == (2, 4, 2) and np.array_equal(got, codes.numpy())
    feats = VQDecoderGraph(vq, mean, std)(codes).numpy()
    assert np.abs(run_onnx(str(tmp_path / "vq_decoder.onnx"), {"codes": codes.numpy()})["features"] - feats).max() <= 1e-4
    args = list(example_gpt_inputs(gpt, 1, 3, 1))
    args[-1] = empty_past(gpt.cfg, 1)
    logits, _ = GPTGraph(gpt)(*args)
    names = ["tokens", "pos", "text_emb", "text_mask", "task", "duration", "past_key_values"]
    out = run_onnx(str(tmp_path / "gpt.onnx"), {n: a.numpy() for n, a in zip(names, args)})
    assert out["logits"].shape == (1, 3, 2, 16)
    assert np.array_equal(out["logits"].argmax(-1), logits.numpy().argmax(-1))
    # controls (V + c) and BOS in one prefill: the tied embedding's remapping is inside the graph
    tokens = torch.tensor([[[16 + 3, 16 + 9], [32, 32], [5, 1]]])
    args = [tokens, torch.tensor([[2, 0, 1]]), *args[2:]]
    logits, _ = GPTGraph(gpt)(*args)
    out = run_onnx(str(tmp_path / "gpt.onnx"), {n: a.numpy() for n, a in zip(names, args)})
    assert np.abs(out["logits"] - logits.numpy()).max() < 1e-4
