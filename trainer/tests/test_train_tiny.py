"""CI: the tiny config trains end to end through the real CLI (on a subset of the real features cache when this
checkout has one, else on the synthetic cache), losses fall, and the export is a valid model version: onnx.checker
accepts every graph, the manifest passes the zod schema with correct sha256s, and onnxruntime-node reproduces
PyTorch on the exported graphs."""
import hashlib
import json
import os
import subprocess
import sys
import time

import numpy as np
import onnx
import pytest
import torch

from trainer.data import DEFAULT_CACHE, DEFAULT_EMBEDDINGS, ZEROSHOT_FILE, load_cache
from trainer.export import GPTGraph, VQDecoderGraph, VQEncoderGraph, example_gpt_inputs
from trainer.gpt import empty_past
from trainer.ort import run_onnx
from trainer.train import load_gpt, load_vq

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REAL = os.path.exists(os.path.join(DEFAULT_CACHE, "features.json")) and \
    os.path.exists(os.path.join(DEFAULT_EMBEDDINGS, "embeddings.json"))


def _cli(*args):
    r = subprocess.run([sys.executable, "-m", "trainer", *args], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    return [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]


def _losses(records, stage):
    return [r["loss"] for r in records if r.get("stage") == stage and "loss" in r]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, request):
    synthetic = request.getfixturevalue("synthetic")
    run = str(tmp_path_factory.mktemp("tiny-run"))
    models = str(tmp_path_factory.mktemp("models"))
    data = ["--cache", DEFAULT_CACHE, "--embeddings", DEFAULT_EMBEDDINGS, "--zeroshot", ZEROSHOT_FILE] if REAL else \
        ["--cache", synthetic["cache"], "--embeddings", synthetic["embeddings"], "--zeroshot", synthetic["pairs"]]
    common = ["--config", "tiny", "--out", run, *data]
    t0 = time.time()
    vq = _cli("vq", *common)
    gpt = _cli("gpt", *common)
    export = _cli("export", *common, "--models", models, "--version", "tiny-test")
    return {"run": run, "folder": os.path.join(models, "tiny-test"), "vq": vq, "gpt": gpt, "export": export,
            "seconds": time.time() - t0, "cache": data[1], "common": common}


def test_tiny_training_is_fast_and_losses_fall(trained):
    assert trained["seconds"] < 180
    vq, gpt = _losses(trained["vq"], "vq"), _losses(trained["gpt"], "gpt")
    assert len(vq) >= 4 and np.mean(vq[-2:]) < np.mean(vq[:2])
    assert len(gpt) >= 4 and np.mean(gpt[-2:]) < 0.8 * np.mean(gpt[:2])
    done = [r for r in trained["vq"] if r.get("event") == "done"]
    assert done and done[0]["step"] == 120


def test_export_is_a_valid_model_version(trained):
    folder = trained["folder"]
    with open(os.path.join(folder, "manifest.json")) as f:
        manifest = json.load(f)
    for name, entry in manifest["onnx"].items():
        model = onnx.load(os.path.join(folder, entry["file"]))
        onnx.checker.check_model(model)
        assert [i.name for i in model.graph.input] == entry["inputs"]
        assert [o.name for o in model.graph.output] == entry["outputs"]
    for name, digest in manifest["files"].items():
        with open(os.path.join(folder, name), "rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == digest
    assert set(manifest["files"]) == set(os.listdir(folder)) - {"manifest.json"}
    packs = manifest["training"]["data"]["packs"]
    assert packs and all(p["clips"] > 0 for p in packs)
    # A model inherits the terms of every pack it saw; the NonCommercial one comes first and every pack is named.
    if any("NC" in l for p in packs for l in p["licenses"]):
        assert manifest["license"].startswith("CC-BY-NC-4.0 (trained on ")
    for p in packs:
        assert p["name"] in manifest["license"]
    assert manifest["training"]["dataHash"] == load_cache(trained["cache"]).data_hash
    assert manifest["training"]["steps"] == {"vq": 120, "gpt": 120}


def test_manifest_passes_the_zod_schema(trained, tmp_path):
    script = tmp_path / "check.mts"
    script.write_text(
        "import { readFileSync } from 'node:fs';\n"
        f"import {{ ModelManifestSchema }} from '{REPO}/src/motion/contracts.ts';\n"
        "const r = ModelManifestSchema.safeParse(JSON.parse(readFileSync(process.argv[2], 'utf8')));\n"
        "console.log(r.success ? 'ok' : JSON.stringify(r.error.issues));\n")
    r = subprocess.run(["node", "--import", "tsx", str(script), os.path.join(trained["folder"], "manifest.json")],
                       cwd=REPO, capture_output=True, text=True)
    assert r.stdout.strip() == "ok", r.stdout + r.stderr


@torch.no_grad()
def test_onnxruntime_matches_pytorch_on_the_export(trained):
    folder, cache = trained["folder"], load_cache(trained["cache"])
    vq, _ = load_vq(trained["run"])
    gpt, _ = load_gpt(trained["run"])
    raw = cache.features[:24][None]
    codes = VQEncoderGraph(vq, cache.mean, cache.std).eval()(torch.from_numpy(raw))
    assert np.array_equal(run_onnx(os.path.join(folder, "vq_encoder.onnx"), {"features": raw})["codes"], codes.numpy())
    feats = VQDecoderGraph(vq, cache.mean, cache.std).eval()(codes).numpy()
    out = run_onnx(os.path.join(folder, "vq_decoder.onnx"), {"codes": codes.numpy()})["features"]
    assert np.abs(out - feats).max() <= 1e-4
    names = ["tokens", "pos", "text_emb", "text_mask", "task", "duration", "past_key_values"]
    names += ["side"] if gpt.cfg.side_signal else []
    for batch, seq, past in ((1, 4, 0), (3, 1, 5)):  # the first step has an empty past
        args = list(example_gpt_inputs(gpt, batch, seq, max(past, 1)))
        if past == 0:
            args[names.index("past_key_values")] = empty_past(gpt.cfg, batch)
        logits, present = GPTGraph(gpt).eval()(*args)
        got = run_onnx(os.path.join(folder, "gpt.onnx"), {n: a.numpy() for n, a in zip(names, args)})
        assert np.array_equal(got["logits"].argmax(-1), logits.numpy().argmax(-1))
        assert np.abs(got["logits"] - logits.numpy()).max() < 1e-4
        assert got["present_key_values"].shape == (gpt.cfg.n_layer, 2, batch, gpt.cfg.n_head, past + seq, gpt.cfg.head_dim)


def test_resume_skips_a_finished_stage(trained):
    records = _cli("gpt", *trained["common"], "--resume")
    assert any(r.get("event") == "skipped" and r["stage"] == "gpt" for r in records)


def test_evaluate_reports_every_metric_of_issue_3(trained):
    _cli("evaluator", *trained["common"])
    records = _cli("evaluate", *trained["common"], "--limit-clips", "40")
    assert any(r.get("event") == "done" and r["stage"] == "evaluate" for r in records)
    with open(os.path.join(trained["run"], "metrics.json")) as f:
        report = json.load(f)
    for name in ("test", "zeroshot"):
        assert 0 < report[name]["vq_reconstruction"]["ric_joint_error_m"] < 1
        t2m = report[name]["text_to_motion"]
        for k in ("descriptions_k4", "raw_text_k0"):
            gen = t2m["generated"][k]
            assert gen["fid"] >= 0 and gen["mm_dist"] > 0
            # R-precision is ranked in batches of 32 (T2M); a set with fewer clips (the synthetic data's small
            # zero-shot split) reports none rather than a number from a batch of another size.
            if t2m["clips"] >= 32:
                assert 0 <= gen["r_precision_top3"] <= 1
                assert 0 <= t2m["ground_truth"][k]["r_precision_top3"] <= 1
            else:
                assert "r_precision_top3" not in gen and "r_precision_top3" not in t2m["ground_truth"][k]
        assert 0 < t2m["ground_truth"]["codebook"]["usage"] <= 1
        assert 0 <= t2m["generated"]["descriptions_k4"]["foot_skate_ratio"] <= 1
        assert t2m["generated"]["descriptions_k4"]["multimodality"] >= 0
        pc = report[name]["pose_controls"]
        for task, metric in (("init_pose", "recon"), ("init_pose", "vel"), ("last_pose", "recon"), ("key_poses", "dist")):
            assert pc[task][metric]["controlled"] >= 0 and pc[task][metric]["text_only"] > 0
        cont = report[name]["continuation"]
        if cont["clips"]:
            assert cont["model"]["ade"] > 0 and cont["constant_velocity"]["fde"] > 0
    # export picks the metrics and the evaluator encoders up
    _cli("export", *trained["common"], "--models", os.path.dirname(trained["folder"]), "--version", "tiny-eval")
    with open(os.path.join(os.path.dirname(trained["folder"]), "tiny-eval", "manifest.json")) as f:
        manifest = json.load(f)
    # --limit-clips 40 caps the set; the synthetic data's test split is smaller than that
    assert manifest["metrics"]["test"]["text_to_motion"]["clips"] == report["test"]["text_to_motion"]["clips"] <= 40
    assert {"eval_motion", "eval_text"} <= set(manifest["onnx"])


def test_evaluate_refuses_a_set_too_small_to_measure(trained):
    _cli("evaluator", *trained["common"], "--resume")
    r = subprocess.run([sys.executable, "-m", "trainer", "evaluate", *trained["common"], "--limit-clips", "2"],
                       cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 2 and "the test set has 2 clips; evaluation needs at least 3" in r.stderr
