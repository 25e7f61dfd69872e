"""ONNX export (TorchScript exporter, opset 17) of the VQ encoder, VQ decoder and GPT, plus manifest.json.

IO names, shapes and the decoding loop are documented in trainer/ONNX.md; the manifest mirrors them for the engine.
Normalisation is inside the VQ graphs: vq_encoder takes raw features, vq_decoder returns raw features.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import inspect
import json
import os
import platform
import shutil

import numpy as np
import torch
import torch.nn as nn

from .data import DataError, EmbeddingTable, FeatureCache, filter_packs, make_splits
from .gpt import SIDES, TASKS, MotionGPT
from .onnx_import import renormalised
from .vqvae import VQVAE

OPSET = 17
LICENSE = "CC-BY-NC-4.0 (trained on Bandai-Namco Research Motiondataset)"
FORMAT = "charades-model/1"

VQ_ENCODER_IO = {"inputs": ["features"], "outputs": ["codes"]}
VQ_DECODER_IO = {"inputs": ["codes"], "outputs": ["features"]}
GPT_IO = {"inputs": ["tokens", "pos", "text_emb", "text_mask", "task", "duration", "past_key_values"],
          "outputs": ["logits", "present_key_values"]}


def gpt_io(gpt: MotionGPT) -> dict:
    """A model trained with the side signal takes one more input, `side` int64 [batch] (SIDES)."""
    if not gpt.cfg.side_signal:
        return GPT_IO
    return {"inputs": GPT_IO["inputs"] + ["side"], "outputs": GPT_IO["outputs"]}


class VQEncoderGraph(nn.Module):
    """raw features [B, T, dim] (T a multiple of 4) -> codes int64 [B, T/4, K]."""

    def __init__(self, vq: VQVAE, mean, std):
        super().__init__()
        self.vq = vq
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32))

    def forward(self, features):
        return self.vq.quantizer.encode(self.vq.encoder((features - self.mean) / self.std))


class VQDecoderGraph(nn.Module):
    """codes int64 [B, N, K] -> raw features [B, 4N, dim]."""

    def __init__(self, vq: VQVAE, mean, std):
        super().__init__()
        self.vq = vq
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32))

    def forward(self, codes):
        return self.vq.decoder(self.vq.quantizer.decode(codes)) * self.std + self.mean


class GPTGraph(nn.Module):
    def __init__(self, gpt: MotionGPT):
        super().__init__()
        self.gpt = gpt

    def forward(self, tokens, pos, text_emb, text_mask, task, duration, past_key_values, side=None):
        return self.gpt(tokens, pos, text_emb, text_mask, task, duration, past_key_values=past_key_values, side=side)


def _export(module: nn.Module, args: tuple, path: str, io: dict, dynamic_axes: dict) -> None:
    kwargs = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    module.eval()
    with torch.no_grad():
        torch.onnx.export(module, args, path, input_names=io["inputs"], output_names=io["outputs"],
                          dynamic_axes=dynamic_axes, opset_version=OPSET, do_constant_folding=True, **kwargs)
    import onnx
    onnx.checker.check_model(onnx.load(path))


def example_gpt_inputs(gpt: MotionGPT, batch: int = 2, seq: int = 3, past: int = 2, seed: int = 0) -> tuple:
    cfg = gpt.cfg
    g = torch.Generator().manual_seed(seed)
    tokens = torch.randint(0, cfg.codebook_size, (batch, seq, cfg.num_codebooks), generator=g)
    pos = (torch.arange(seq)[None] + past + 1).repeat(batch, 1)
    text = torch.randn(batch, cfg.text_dim, generator=g)
    mask = torch.ones(batch)
    task = torch.zeros(batch, dtype=torch.long)
    duration = torch.full((batch,), 20, dtype=torch.long)
    past_kv = torch.randn(cfg.n_layer, 2, batch, cfg.n_head, past, cfg.head_dim, generator=g)
    if cfg.side_signal:
        return tokens, pos, text, mask, task, duration, past_kv, torch.arange(batch, dtype=torch.long) % len(SIDES)
    return tokens, pos, text, mask, task, duration, past_kv


def export_onnx(vq: VQVAE, gpt: MotionGPT, mean, std, folder: str) -> dict:
    """Writes vq_encoder.onnx, vq_decoder.onnx, gpt.onnx; returns the manifest's `onnx` section."""
    os.makedirs(folder, exist_ok=True)
    dim, k = vq.cfg.dim, vq.cfg.num_codebooks
    _export(VQEncoderGraph(vq, mean, std), (torch.randn(1, 16, dim),), os.path.join(folder, "vq_encoder.onnx"),
            VQ_ENCODER_IO, {"features": {0: "batch", 1: "frames"}, "codes": {0: "batch", 1: "tokens"}})
    _export(VQDecoderGraph(vq, mean, std), (torch.zeros(1, 4, k, dtype=torch.long),),
            os.path.join(folder, "vq_decoder.onnx"), VQ_DECODER_IO,
            {"codes": {0: "batch", 1: "tokens"}, "features": {0: "batch", 1: "frames"}})
    io = gpt_io(gpt)
    axes = {"tokens": {0: "batch", 1: "seq"}, "pos": {0: "batch", 1: "seq"}, "text_emb": {0: "batch"},
            "text_mask": {0: "batch"}, "task": {0: "batch"}, "duration": {0: "batch"},
            "past_key_values": {2: "batch", 4: "past"}, "logits": {0: "batch", 1: "seq"},
            "present_key_values": {2: "batch", 4: "total"}}
    if "side" in io["inputs"]:
        axes["side"] = {0: "batch"}
    _export(GPTGraph(gpt), example_gpt_inputs(gpt), os.path.join(folder, "gpt.onnx"), io, axes)
    return {"vq_encoder": {"file": "vq_encoder.onnx", **VQ_ENCODER_IO},
            "vq_decoder": {"file": "vq_decoder.onnx", **VQ_DECODER_IO},
            "gpt": {"file": "gpt.onnx", **io}}


def gpt_section(gpt: MotionGPT) -> dict:
    c = gpt.cfg
    side = {"sides": dict(SIDES)} if c.side_signal else {}
    io_side = {"side": ["int64", ["batch"]]} if c.side_signal else {}
    return {
        **side,
        "layers": c.n_layer, "heads": c.n_head, "embd": c.n_embd, "headDim": c.head_dim,
        "vocab": c.codebook_size, "numCodebooks": c.num_codebooks, "maxTokens": c.max_tokens, "textDim": c.text_dim,
        "specialTokens": {"controlOffset": c.control_offset, "bos": c.bos, "pad": c.pad},
        "tasks": dict(TASKS),
        "io": {
            "tokens": ["int64", ["batch", "seq", c.num_codebooks]],
            "pos": ["int64", ["batch", "seq"]],
            "text_emb": ["float32", ["batch", c.text_dim]],
            "text_mask": ["float32", ["batch"]],
            "task": ["int64", ["batch"]],
            "duration": ["int64", ["batch"]],
            "past_key_values": ["float32", [c.n_layer, 2, "batch", c.n_head, "past", c.head_dim]],
            "logits": ["float32", ["batch", "seq", c.num_codebooks, c.codebook_size]],
            "present_key_values": ["float32", [c.n_layer, 2, "batch", c.n_head, "past+seq", c.head_dim]],
            **io_side,
        },
        "sampling": {"temperature": 1.0, "topK": 0, "guidance": 2.5},
        "maxControls": 20,
        "maxPastTokens": 10,
    }


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def hardware() -> str:
    return f"{platform.machine()} CPU, {os.cpu_count()} cores ({platform.processor() or platform.platform()}), torch {torch.__version__}"


def data_packs(clips: list) -> list:
    """The packs a model saw, with their clip counts and licences: what its manifest must declare."""
    packs = {}
    for c in clips:
        p = packs.setdefault(c.pack or c.dataset, {"name": c.pack or c.dataset, "clips": 0, "licenses": set()})
        p["clips"] += 1
        if c.license:
            p["licenses"].add(c.license)
    return [{**p, "licenses": sorted(p["licenses"])} for p in packs.values()]


def model_license(packs: list) -> str:
    """A model inherits the terms of every pack it saw; ShareAlike and NonCommercial cannot both be honoured."""
    licenses = {l for p in packs for l in p["licenses"]}
    nc = sorted(l for l in licenses if "-NC" in l.upper())
    sa = sorted(l for l in licenses if "-SA" in l.upper())
    if nc and sa:
        raise DataError(f"the model saw NonCommercial ({', '.join(nc)}) and ShareAlike ({', '.join(sa)}) data; "
                        f"one model cannot honour both licences — train it on packs of one kind (train.packs)")
    names = ", ".join(f"{p['name']} ({'/'.join(p['licenses']) or 'unknown licence'})" for p in packs)
    if nc:
        return f"{nc[0]} (trained on {names})"
    if sa:
        return f"{sa[0]} (trained on {names})"
    return f"the terms of its data: {names}" if packs else LICENSE


def write_manifest(folder: str, version: str, vq: VQVAE, gpt: MotionGPT, cache: FeatureCache, table: EmbeddingTable,
                   onnx_section: dict, training: dict, metrics: dict, norm: tuple = None) -> dict:
    """norm: the (mean, std) the exported graphs normalise with (default the cache's)."""
    mean, std = norm if norm is not None else (cache.mean, cache.std)
    files = {name: sha256_file(os.path.join(folder, name)) for name in sorted(os.listdir(folder)) if name != "manifest.json"}
    packs = training.get("data", {}).get("packs", [])
    manifest = {
        "format": FORMAT, "version": version,
        "created": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "license": model_license(packs) if packs else LICENSE,
        "skeleton": {"joints": 22, "fps": 20},
        "features": {"layout": cache.layout, "dim": cache.dim, "mean": [float(x) for x in mean],
                     "std": [float(x) for x in std]},
        "vq": {"codebookSize": vq.cfg.codebook_size, "numCodebooks": vq.cfg.num_codebooks,
               "downsample": vq.cfg.downsample, "codeDim": vq.cfg.code_dim},
        "textEncoder": {"id": table.encoder_id, "dim": table.dim},
        "gpt": gpt_section(gpt),
        "onnx": onnx_section,
        "training": training,
        "metrics": metrics,
        "files": files,
    }
    with open(os.path.join(folder, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    return manifest


def training_section(run_dir: str, vq_ck: dict, gpt_ck: dict, cache: FeatureCache, pairs: list) -> dict:
    built_on = lineage(vq_ck, gpt_ck)
    return {
        **({"initFrom": built_on} if built_on else {}),
        "config": gpt_ck["config"],
        "steps": {"vq": vq_ck["step"], "gpt": gpt_ck["step"]},
        "time_s": {"vq": round(vq_ck["time_s"], 1), "gpt": round(gpt_ck["time_s"], 1),
                   "total": round(vq_ck["time_s"] + gpt_ck["time_s"], 1)},
        "stoppedEarly": {"vq": bool(vq_ck.get("stopped_early")), "gpt": bool(gpt_ck.get("stopped_early"))},
        "hardware": hardware(),
        "dataHash": cache.data_hash,
        "indexSha256": cache.index_sha256,
        "featurizerSha256": cache.featurizer_sha256,
        "zeroshotPairs": [{"action": a, "style": s} for a, s in pairs],
        "data": {"packs": data_packs(filter_packs(make_splits(cache, pairs).train,
                                                  gpt_ck["config"]["train"].get("packs", "")))},
        "finalLosses": {"vq": vq_ck["history"][-1] if vq_ck["history"] else None,
                        "gpt": gpt_ck["history"][-1] if gpt_ck["history"] else None},
        "run": os.path.basename(os.path.abspath(run_dir)),
    }


def lineage(vq_ck: dict, gpt_ck: dict) -> dict:
    """The published versions a run was built on (`python -m trainer import`, then `train.gpt_init`), so a fine-tuned
    model's manifest says whose weights it continues; {} for a run trained from scratch."""
    out = {}
    if vq_ck.get("imported_from"):
        out["vq"] = vq_ck["imported_from"]
    init = gpt_ck["config"]["train"].get("gpt_init", "")
    if init:
        source = torch.load(init, map_location="cpu") if os.path.exists(init) else {}
        out["gpt"] = source.get("imported_from") or init
        out["gptFineTuneSteps"] = gpt_ck["step"]
    return out


EVALUATOR_ONNX = {
    "eval_motion": {"inputs": ["features", "lengths"], "outputs": ["embedding"]},
    "eval_text": {"inputs": ["text_embedding"], "outputs": ["embedding"]},
}


def export_evaluator(run_dir: str, folder: str) -> tuple:
    """The metrics engineer's evaluator encoders (trainer/train_evaluator.py) when the run has a trained
    evaluator.pt; returns (onnx entries, description) or ({}, None) when there is none."""
    path = os.path.join(run_dir, "evaluator.pt")
    if not os.path.exists(path):
        return {}, None
    from .train_evaluator import export_onnx as export_evaluator_onnx, load_evaluator
    info = export_evaluator_onnx(load_evaluator(path), folder)
    entries = {name: {"file": f"{name}.onnx", **io} for name, io in EVALUATOR_ONNX.items()
               if os.path.exists(os.path.join(folder, f"{name}.onnx"))}
    return entries, info


def read_base_manifest(base: str) -> dict:
    path = os.path.join(base, "manifest.json")
    if not os.path.exists(path):
        raise DataError(f"train.base_model: {path} not found (a published model folder, models/<version>)")
    with open(path) as f:
        return json.load(f)


def base_evaluator(base: str, manifest: dict, folder: str) -> tuple:
    """The base model's evaluator ONNX files, copied as they are (they read features in its normalisation, which
    the export keeps); ({}, None) when it has none."""
    entries = {}
    for name, io in EVALUATOR_ONNX.items():
        entry = manifest.get("onnx", {}).get(name)
        if entry and os.path.exists(os.path.join(base, entry["file"])):
            shutil.copyfile(os.path.join(base, entry["file"]), os.path.join(folder, f"{name}.onnx"))
            entries[name] = {"file": f"{name}.onnx", **io}
    if len(entries) < len(EVALUATOR_ONNX):
        return {}, None
    info = dict(manifest.get("training", {}).get("evaluator") or {})
    return entries, {**info, "from": manifest.get("version", os.path.basename(os.path.abspath(base)))}


def read_metrics(run_dir: str) -> dict:
    """What `python -m trainer evaluate` and the evaluator trainer measured, if they ran."""
    metrics = {}
    for name, key in (("metrics.json", None), ("evaluator_metrics.json", "evaluator")):
        path = os.path.join(run_dir, name)
        if os.path.exists(path):
            with open(path) as f:
                data = json.load(f)
            if key:
                metrics[key] = data.get("ground_truth", data)
            else:
                metrics.update(data)
    return metrics


def export_run(run_dir: str, cache: FeatureCache, table: EmbeddingTable, pairs: list, models_dir: str,
               version: str = None) -> str:
    from .train import load_gpt, load_vq
    vq, vq_ck = load_vq(run_dir)
    gpt, gpt_ck = load_gpt(run_dir)
    if gpt.cfg.text_dim != table.dim:
        raise DataError(f"the GPT was trained on {gpt.cfg.text_dim}-d text embeddings but {table.dir} is {table.dim}-d")
    version = version or f"charades-{gpt_ck['config']['name']}-{_dt.datetime.now(_dt.timezone.utc).strftime('%Y%m%d-%H%M')}"
    folder = os.path.join(models_dir, version)
    if os.path.exists(folder):
        shutil.rmtree(folder)
    base = gpt_ck["config"]["train"].get("base_model", "")
    norm = (cache.mean, cache.std)
    metrics = read_metrics(run_dir)
    if base:
        base_manifest = read_base_manifest(base)
        norm = tuple(np.asarray(base_manifest["features"][k], np.float32) for k in ("mean", "std"))
        vq = renormalised(vq, cache.mean, cache.std, *norm)
    onnx_section = export_onnx(vq, gpt, norm[0], norm[1], folder)
    if base:
        evaluator_onnx, evaluator_info = base_evaluator(base, base_manifest, folder)
        # the shipped evaluator's own ground-truth figures, not those of the run's (used only for the Python metrics)
        metrics.pop("evaluator", None)
        if evaluator_info and "evaluator" in base_manifest.get("metrics", {}):
            metrics["evaluator"] = base_manifest["metrics"]["evaluator"]
    else:
        evaluator_onnx, evaluator_info = export_evaluator(run_dir, folder)
    onnx_section.update(evaluator_onnx)
    training = training_section(run_dir, vq_ck, gpt_ck, cache, pairs)
    if evaluator_info:
        training["evaluator"] = evaluator_info
    write_manifest(folder, version, vq, gpt, cache, table, onnx_section, training, metrics, norm)
    size = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))
    print(json.dumps({"stage": "export", "event": "done", "folder": folder, "bytes": size}), flush=True)
    return folder
