"""Configs (presets and JSON overrides) and the CLI's error handling: bad input → one readable line, exit 2."""
import json
import os
import subprocess
import sys

import pytest

from trainer.config import config_from_dict, load_config
from trainer.data import DataError

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_presets_and_json_override(tmp_path):
    assert load_config("tiny").vq.codebook_size == 64
    full = load_config("full")
    assert full.vq.codebook_size == 512 and full.vq.downsample == 4
    # every preset trains pose controls the way trainer/README.md describes; old checkpoints keep separate rows
    assert full.gpt.tied_controls and full.train.pin_controls and full.train.control_loss_weight > 1
    assert config_from_dict({**full.to_dict(), "gpt": {k: v for k, v in full.to_dict()["gpt"].items()
                                                      if k != "tied_controls"}}).gpt.tied_controls is False
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"base": "small", "gpt": {"n_layer": 2}, "train": {"gpt_steps": 10}}))
    cfg = load_config(str(path))
    assert cfg.name == "mine" and cfg.gpt.n_layer == 2 and cfg.train.gpt_steps == 10 and cfg.vq.width == 128


@pytest.mark.parametrize("content,message", [
    ({"gpt": {"layers": 2}}, "gpt: unknown key 'layers'"),
    ({"train": {"vq_steps": "many"}}, "'vq_steps' must be a int"),
    ({"base": "huge"}, "'base' must be one of tiny, small, full"),
    ({"model": {}}, "unknown top-level keys ['model']"),
    ([1, 2], "expected a JSON object"),
])
def test_bad_config_file_names_the_problem(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(content))
    with pytest.raises(DataError) as e:
        load_config(str(path))
    assert message in str(e.value)


def test_config_that_is_neither_preset_nor_file(tmp_path):
    with pytest.raises(DataError, match="neither a preset"):
        load_config("medium")
    with pytest.raises(DataError, match="file not found"):
        load_config(str(tmp_path / "absent.json"))
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(DataError, match="not valid JSON"):
        load_config(str(broken))


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "trainer", *args], cwd=REPO, capture_output=True, text=True)


def test_cli_reports_a_missing_cache_without_a_traceback(tmp_path):
    r = _cli("vq", "--config", "tiny", "--cache", str(tmp_path / "nowhere"), "--out", str(tmp_path / "run"))
    assert r.returncode == 2
    assert "error: features cache not found" in r.stderr and "Traceback" not in r.stderr


def test_cli_gpt_before_vq_says_what_to_run(synthetic, tmp_path):
    r = _cli("gpt", "--config", "tiny", "--cache", synthetic["cache"], "--embeddings", synthetic["embeddings"],
             "--zeroshot", synthetic["pairs"], "--out", str(tmp_path / "run"))
    assert r.returncode == 2 and "train the VQ-VAE first" in r.stderr and "Traceback" not in r.stderr


def test_cli_rejects_a_damaged_checkpoint(synthetic, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "vq.pt").write_bytes(b"not a checkpoint")
    r = _cli("vq", "--config", "tiny", "--cache", synthetic["cache"], "--zeroshot", synthetic["pairs"],
             "--out", str(run), "--resume")
    assert r.returncode == 2 and "cannot read the VQ-VAE checkpoint" in r.stderr


def test_cli_rejects_zeroshot_pairs_that_hide_a_style(synthetic, tmp_path):
    pairs = tmp_path / "pairs.json"
    pairs.write_text(json.dumps({"pairs": [{"action": a, "style": "happy"}
                                           for a in ("walk", "run", "wave-left-hand", "wave-right-hand", "bow")]}))
    r = _cli("vq", "--config", "tiny", "--cache", synthetic["cache"], "--zeroshot", str(pairs), "--out", str(tmp_path / "r"))
    assert r.returncode == 2 and "leaves style happy unseen" in r.stderr


def test_cli_embedding_table_of_another_dimension_is_refused_at_export(synthetic, tmp_path):
    run = str(tmp_path / "run")
    common = ["--config", "tiny", "--cache", synthetic["cache"], "--zeroshot", synthetic["pairs"], "--out", run]
    assert _cli("vq", *common).returncode == 0
    cfg = tmp_path / "short.json"
    cfg.write_text(json.dumps({"base": "tiny", "name": "short", "train": {"gpt_steps": 2, "max_train_clips": 20}}))
    common[1] = str(cfg)
    assert _cli("gpt", *common, "--embeddings", synthetic["embeddings"]).returncode == 0
    other = tmp_path / "emb64"
    from trainer.synthetic import _write_embeddings
    import numpy as np
    _write_embeddings(str(other), [], np.random.default_rng(0), 64)
    r = _cli("export", *common, "--embeddings", str(other), "--models", str(tmp_path / "models"))
    assert r.returncode == 2 and "trained on 32-d text embeddings" in r.stderr


def test_window_that_is_not_a_multiple_of_four_is_refused(synthetic, tmp_path):
    cfg = tmp_path / "odd.json"
    cfg.write_text(json.dumps({"base": "tiny", "train": {"vq_window": 30}}))
    r = _cli("vq", "--config", str(cfg), "--cache", synthetic["cache"], "--zeroshot", synthetic["pairs"],
             "--out", str(tmp_path / "run"))
    assert r.returncode == 2 and "train.vq_window must be a multiple of 4, got 30" in r.stderr


def test_failing_evaluator_stage_is_reported(tmp_path):
    r = _cli("evaluator", "--config", "tiny", "--cache", str(tmp_path / "none"), "--out", str(tmp_path / "run"))
    assert r.returncode == 2 and "the evaluator stage failed" in r.stderr and "Traceback" not in r.stderr


def test_fixture_writer_without_data_fails_cleanly(tmp_path):
    r = subprocess.run([sys.executable, "-m", "trainer.fixtures", "--cache", str(tmp_path / "none"),
                        "--run", str(tmp_path / "run"), "--model-dir", str(tmp_path / "m"),
                        "--parity-dir", str(tmp_path / "p")], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 2 and "error: tiny training failed at `vq`" in r.stderr
    assert not os.path.exists(tmp_path / "m")


def test_onnx_runner_reports_a_broken_model(tmp_path):
    from trainer.ort import run_onnx
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not onnx")
    with pytest.raises(DataError, match="onnxruntime-node failed on"):
        run_onnx(str(bad), {"x": [1.0]})


def test_gpt_without_usable_sources_says_why(synthetic, tmp_path):
    from trainer.config import load_config
    from trainer.data import load_cache, load_embeddings
    from trainer.train import train_gpt
    cache, table = load_cache(synthetic["cache"]), load_embeddings(synthetic["embeddings"])
    with pytest.raises(DataError, match="no train clip has both codes and embedded texts"):
        train_gpt(load_config("tiny"), cache, table, [], None, {}, str(tmp_path), False)
