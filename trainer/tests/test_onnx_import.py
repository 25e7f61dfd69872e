"""A published model comes back from its ONNX files: the same GPT weights, the same VQ codes and features in another
cache's normalisation, and a fine-tune can start from it (the side embedding it lacks starts at zero)."""
import json
import os

import numpy as np
import pytest
import torch

from trainer.config import Config, TrainConfig, config_from_dict
from trainer.data import DataError, load_cache, load_embeddings
from trainer.export import export_onnx, export_run, lineage
from trainer.ort import run_onnx
from trainer.gpt import GPTConfig, MotionGPT
from trainer.onnx_import import import_model, onnx_constants
from trainer.train import init_from, load_gpt, load_vq, train_vq
from trainer.vqvae import VQVAE, VQConfig


def publish(folder, cache, side_signal: bool, shift: float, text_dim: int = 8):
    """A random tiny model exported with statistics `shift` away from the cache's, plus its manifest."""
    torch.manual_seed(1)
    cfg = Config("tiny", VQConfig(dim=cache.dim, width=16, depth=1, code_dim=8, codebook_size=16),
                 GPTConfig(codebook_size=16, text_dim=text_dim, n_layer=2, n_head=2, n_embd=16, dropout=0.0,
                           tied_controls=True, side_signal=side_signal), TrainConfig())
    vq, gpt = VQVAE(cfg.vq).eval(), MotionGPT(cfg.gpt).eval()
    with torch.no_grad():  # as after training: no two parameters equal (the exporter merges equal constants)
        for book in vq.quantizer.books:
            book.embed.normal_()
        for p in list(vq.parameters()) + list(gpt.parameters()):
            p.normal_(0, 0.2)
    rng = np.random.default_rng(2)
    mean = (cache.mean + shift * rng.standard_normal(cache.dim)).astype(np.float32)
    std = (cache.std * np.exp(shift * rng.standard_normal(cache.dim))).astype(np.float32)
    export_onnx(vq, gpt, mean, std, str(folder))
    manifest = {"version": "tiny-published", "training": {"config": cfg.to_dict(), "steps": {"vq": 7, "gpt": 9}}}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return vq, gpt, mean, std


@torch.no_grad()
@pytest.mark.parametrize("side_signal", [False, True])
def test_import_gives_back_the_published_model(tmp_path, synthetic, side_signal):
    cache = load_cache(synthetic["cache"])
    vq, gpt, mean, std = publish(tmp_path / "model", cache, side_signal, shift=0.3)
    import_model(str(tmp_path / "model"), cache, str(tmp_path / "run"))
    vq2, vq_ck = load_vq(str(tmp_path / "run"))
    gpt2, gpt_ck = load_gpt(str(tmp_path / "run"))
    assert (vq_ck["step"], gpt_ck["step"], gpt_ck["imported_from"]) == (7, 9, "tiny-published")
    # a finished stage: `--resume` (the training worker's `all --resume`) reads it as its own and skips it
    cfg = config_from_dict(vq_ck["config"])
    resumed = train_vq(cfg, cache, [], str(tmp_path / "run"), resume=True)
    assert torch.equal(resumed.decoder.net[0].weight, vq2.decoder.net[0].weight)
    for name, value in gpt.state_dict().items():
        assert torch.equal(gpt2.state_dict()[name], value), name
    raw = cache.features[:64][None].astype(np.float32)
    codes = vq.encode(torch.from_numpy((raw - mean) / std))
    assert torch.equal(vq2.encode(torch.from_numpy(cache.normalise(raw))), codes)
    published = vq.decode(codes).numpy() * std + mean
    rebuilt = cache.denormalise(vq2.decode(codes).numpy())
    assert np.abs(published - rebuilt).max() < 1e-4


def test_a_fine_tune_starts_from_the_imported_gpt_with_a_silent_side(tmp_path, synthetic):
    cache = load_cache(synthetic["cache"])
    _, gpt, _, _ = publish(tmp_path / "model", cache, side_signal=False, shift=0.0)
    import_model(str(tmp_path / "model"), cache, str(tmp_path / "run"))
    sided = MotionGPT(GPTConfig(**{**gpt.cfg.__dict__, "side_signal": True}))
    init_from(sided, str(tmp_path / "run" / "gpt.pt"))
    assert torch.count_nonzero(sided.side.weight) == 0
    assert torch.equal(sided.head.weight, gpt.head.weight)
    # the fine-tuned model's manifest names the published version it continues
    vq_ck = torch.load(str(tmp_path / "run" / "vq.pt"))
    tuned = {"step": 40, "config": {"train": {"gpt_init": str(tmp_path / "run" / "gpt.pt")}}}
    assert lineage(vq_ck, tuned) == {"vq": "tiny-published", "gpt": "tiny-published", "gptFineTuneSteps": 40}
    assert lineage({}, {"step": 5, "config": {"train": {"gpt_init": ""}}}) == {}


def test_a_folder_without_a_model_is_a_clear_error(tmp_path, synthetic):
    cache = load_cache(synthetic["cache"])
    with pytest.raises(DataError, match="manifest.json not found"):
        import_model(str(tmp_path), cache, str(tmp_path / "run"))
    os.makedirs(tmp_path / "half")
    (tmp_path / "half" / "manifest.json").write_text(json.dumps({"training": {}}))
    with pytest.raises(DataError, match="no training.config"):
        import_model(str(tmp_path / "half"), cache, str(tmp_path / "run"))


def test_a_fine_tune_of_a_published_model_ships_in_its_normalisation_with_its_evaluator(tmp_path, synthetic):
    cache, table = load_cache(synthetic["cache"]), load_embeddings(synthetic["embeddings"])
    base = tmp_path / "model"
    publish(base, cache, side_signal=False, shift=0.3, text_dim=table.dim)
    for name in ("eval_motion", "eval_text"):  # the base's evaluator, copied byte for byte
        (base / f"{name}.onnx").write_bytes(name.encode() * 100)
    manifest = json.loads((base / "manifest.json").read_text())
    manifest["onnx"] = {n: {"file": f"{n}.onnx"} for n in ("eval_motion", "eval_text")}
    manifest["metrics"] = {"evaluator": {"r_precision_top3": 0.97}}
    enc = onnx_constants(str(base / "vq_encoder.onnx"))[0]
    manifest["features"] = {"mean": [float(x) for x in enc["mean"]], "std": [float(x) for x in enc["std"]]}
    (base / "manifest.json").write_text(json.dumps(manifest))
    assert not np.allclose(enc["mean"], cache.mean), "the base normalises unlike this cache"
    import_model(str(base), cache, str(tmp_path / "run"))
    ck = torch.load(str(tmp_path / "run" / "gpt.pt"))
    ck["config"]["train"]["base_model"] = str(base)
    torch.save(ck, str(tmp_path / "run" / "gpt.pt"))
    # the run's own evaluator (Python metrics only) must not be described as the one shipped
    (tmp_path / "run" / "evaluator_metrics.json").write_text(json.dumps({"ground_truth": {"r_precision_top3": 0.5}}))
    folder = export_run(str(tmp_path / "run"), cache, table, [], str(tmp_path / "models"), "tuned")
    out = json.loads(open(os.path.join(folder, "manifest.json")).read())
    assert out["features"]["mean"] == manifest["features"]["mean"]
    assert out["training"]["evaluator"]["from"] == "tiny-published"
    assert out["metrics"]["evaluator"] == {"r_precision_top3": 0.97}
    for name in ("eval_motion", "eval_text"):
        assert open(os.path.join(folder, f"{name}.onnx"), "rb").read() == name.encode() * 100
    raw = cache.features[:32][None].astype(np.float32)
    codes = run_onnx(str(base / "vq_encoder.onnx"), {"features": raw})["codes"]
    assert np.array_equal(run_onnx(os.path.join(folder, "vq_encoder.onnx"), {"features": raw})["codes"], codes)
    a = run_onnx(str(base / "vq_decoder.onnx"), {"codes": codes})["features"]
    b = run_onnx(os.path.join(folder, "vq_decoder.onnx"), {"codes": codes})["features"]
    assert np.abs(a - b).max() < 1e-3

