"""Train the contrastive evaluator (trainer/evaluator.py) on the train split, early-stop on validation R-precision,
report ground-truth metrics on the test split and the zero-shot pairs, and export both encoders to ONNX.

    python -m trainer evaluator [--config tiny|full] [--out DIR] [--resume]
    python -m trainer.train_evaluator --cache DIR --embeddings DIR --zeroshot FILE --out DIR [--config tiny]

Writes into --out: evaluator.pt (weights + config), eval_motion.onnx, eval_text.onnx, evaluator_metrics.json,
evaluator_parity.json (fixed inputs and PyTorch outputs for the onnxruntime-node parity test). Progress and the
final metrics are JSON lines on stdout.
"""
from __future__ import annotations

import argparse
import inspect
import json
import math
import os
import re
import sys
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from . import metrics as M
from .data import (DEFAULT_CACHE, DEFAULT_EMBEDDINGS, REPO_ROOT, ZEROSHOT_FILE, Clip, DataError, EmbeddingTable,
                   FeatureCache, load_cache, load_embeddings, load_zeroshot_pairs, make_splits, mirror_allowed,
                   mirror_features, sample_text_condition, text_embedding)
from .evaluator import Evaluator, EvaluatorConfig

ONNX_OPSET = 17
MOTION_ONNX = "eval_motion.onnx"
TEXT_ONNX = "eval_text.onnx"
CHECKPOINT = "evaluator.pt"


@dataclass
class EvaluatorTrainConfig:
    name: str = "full"
    model: EvaluatorConfig = field(default_factory=EvaluatorConfig)
    batch: int = 64
    steps: int = 3000
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup: int = 50
    min_crop: int = 40  # feature frames; each batch crops its clips to a random length in [min_crop, max_crop]
    max_crop: int = 200
    eval_max_frames: int = 240  # evaluation encodes at most the first 12 s, the longest segment the engine makes
    mirror_prob: float = 0.5
    raw_text_prob: float = 0.5  # else the mean of a random subset of {text} ∪ Action-GPT descriptions
    eval_every: int = 100
    patience: int = 6  # evaluations without a better validation R-precision before stopping
    r_batch: int = 32
    time_budget_s: float = 300.0
    seed: int = 0
    max_train_clips: int = 0


def presets() -> dict:
    return {
        "full": EvaluatorTrainConfig(),
        "tiny": EvaluatorTrainConfig(name="tiny", model=EvaluatorConfig(width=32, blocks=1, embed_dim=32, text_hidden=64),
                                     batch=16, steps=40, lr=2e-3, warmup=5, min_crop=16, max_crop=64, eval_every=20,
                                     patience=2, r_batch=8, time_budget_s=60.0, max_train_clips=0),
    }


def log(record: dict) -> None:
    print(json.dumps(record), flush=True)


# ----------------------------------------------------------------------------- batches

_SIDE_WORD = re.compile(r"\b(left|right)\b", re.IGNORECASE)


def can_mirror(clip: Clip, pairs: list) -> bool:
    """Mirroring swaps the body's left and right. For "a person waves the left hand" the mirrored motion waves the
    right hand while the text still says left, which would teach the evaluator that left and right do not matter;
    so only motions whose texts name no side are mirrored (and never into a held-out zero-shot pair)."""
    return not any(_SIDE_WORD.search(t) for t in clip.texts) and mirror_allowed(clip, pairs)


class BatchMaker:
    """Random training batches: crops of normalised features (mirrored where allowed), lengths, text embeddings and
    the same-text mask for false-negative filtering."""

    def __init__(self, cache: FeatureCache, table: EmbeddingTable, clips: list, pairs: list, cfg: EvaluatorTrainConfig):
        self.cache, self.table, self.clips, self.cfg = cache, table, clips, cfg
        self.norm = cache.normalise(cache.features)
        # Mirror raw features before normalising: the train-split mean is not left/right symmetric.
        self.norm_mirrored = cache.normalise(mirror_features(cache.features, cache.mirror_perm, cache.mirror_sign))
        self.mirrorable = [can_mirror(c, pairs) for c in clips]
        self.text_sets = [frozenset(c.texts) for c in clips]

    def sample(self, rng: np.random.Generator) -> tuple:
        cfg = self.cfg
        idx = rng.choice(len(self.clips), size=min(cfg.batch, len(self.clips)), replace=False)
        crop = int(rng.integers(cfg.min_crop, cfg.max_crop + 1))
        lengths = [min(self.clips[i].length, crop) for i in idx]
        feats = np.zeros((len(idx), max(lengths), self.cache.dim), dtype=np.float32)
        texts = np.zeros((len(idx), self.table.dim), dtype=np.float32)
        for b, i in enumerate(idx):
            clip = self.clips[i]
            start = clip.offset + int(rng.integers(clip.length - lengths[b] + 1))
            src = self.norm_mirrored if self.mirrorable[i] and rng.random() < cfg.mirror_prob else self.norm
            feats[b, :lengths[b]] = src[start:start + lengths[b]]
            if rng.random() < cfg.raw_text_prob:
                texts[b] = self.table.vectors[self.table.row(clip.texts[int(rng.integers(len(clip.texts)))])]
            else:
                # Paraphrases too, so the judge of held-out phrasings understands everyday wording.
                texts[b] = sample_text_condition(clip, self.table, rng, paraphrases=True)[0]
        same = np.array([[bool(self.text_sets[i] & self.text_sets[j]) for j in idx] for i in idx])
        return (torch.from_numpy(feats), torch.tensor(lengths, dtype=torch.int64), torch.from_numpy(texts),
                torch.from_numpy(same))


# ----------------------------------------------------------------------------- encoding and metrics

@torch.no_grad()
def encode_motions(model: Evaluator, cache: FeatureCache, clips: list, max_frames: int, batch: int = 64) -> np.ndarray:
    """Embeddings of the first `max_frames` feature frames of each clip (clips batched by length to limit padding)."""
    model.eval()
    out = np.zeros((len(clips), model.cfg.embed_dim), dtype=np.float32)
    order = sorted(range(len(clips)), key=lambda i: clips[i].length)
    for s in range(0, len(order), batch):
        chunk = order[s:s + batch]
        lengths = [min(clips[i].length, max_frames) for i in chunk]
        x = np.zeros((len(chunk), max(lengths), cache.dim), dtype=np.float32)
        for b, i in enumerate(chunk):
            x[b, :lengths[b]] = cache.clip_features(clips[i])[:lengths[b]]
        out[chunk] = model.motion(torch.from_numpy(x), torch.tensor(lengths, dtype=torch.int64)).numpy()
    return out


@torch.no_grad()
def encode_texts(model: Evaluator, table: EmbeddingTable, clips: list, use_descriptions: bool) -> np.ndarray:
    """Each clip's first dataset text: alone (k = 0) or as the mean of its Action-GPT descriptions (k = 4)."""
    model.eval()
    x = np.stack([text_embedding(c.texts[0], table, use_descriptions) for c in clips]).astype(np.float32)
    return model.text(torch.from_numpy(x)).numpy()


def retrieval_metrics(text: np.ndarray, motion: np.ndarray, r_batch: int, seeds: int = 1) -> dict:
    """R-precision (mean over `seeds` shuffles) and MM-Dist of paired embeddings; R-precision needs a full batch."""
    out = {"clips": len(text), "mm_dist": M.mm_dist(text, motion)}
    if len(text) >= r_batch:
        tops = np.mean([M.r_precision(text, motion, batch_size=r_batch, seed=s)["top_k"] for s in range(seeds)], axis=0)
        out.update({f"r_precision_top{k + 1}": float(v) for k, v in enumerate(tops)})
    return out


def ground_truth_report(model: Evaluator, cache: FeatureCache, table: EmbeddingTable, splits, cfg) -> dict:
    """GT metrics of the evaluator itself: how well it retrieves real motions, and the FID floor between real sets."""
    train_m = encode_motions(model, cache, splits.train, cfg.eval_max_frames)
    report = {}
    for name, clips in (("test", splits.test), ("zeroshot", splits.zeroshot), ("val", splits.val)):
        if not clips:
            continue
        motion = encode_motions(model, cache, clips, cfg.eval_max_frames)
        entry = {"raw_text": retrieval_metrics(encode_texts(model, table, clips, False), motion, cfg.r_batch, seeds=5),
                 "descriptions_k4": retrieval_metrics(encode_texts(model, table, clips, True), motion, cfg.r_batch, seeds=5)}
        if len(clips) > 2:
            entry["fid_vs_train"] = M.frechet_distance(motion, train_m)
            entry["diversity"] = M.diversity(motion, min(300, len(clips) - 1))
        report[name] = entry
    report["train_diversity"] = M.diversity(train_m, min(300, len(train_m) - 1))
    return report


# ----------------------------------------------------------------------------- ONNX export

class _MotionExport(torch.nn.Module):
    def __init__(self, model: Evaluator):
        super().__init__()
        self.motion = model.motion

    def forward(self, features, lengths):
        return self.motion(features, lengths)


def _onnx_export(module, args, path: str, input_names: list, dynamic_axes: dict) -> None:
    kwargs = dict(input_names=input_names, output_names=["embedding"], dynamic_axes=dynamic_axes,
                  opset_version=ONNX_OPSET, do_constant_folding=True)
    # torch ≥ 2.5 defaults toward the dynamo exporter in later releases; this file is written for the TorchScript one.
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False
    torch.onnx.export(module, args, path, **kwargs)


def export_onnx(model: Evaluator, out: str) -> dict:
    """eval_motion.onnx: features [B, T, D] float32 (normalised) + lengths [B] int64 → embedding [B, E];
    eval_text.onnx: text_embedding [B, 512] → embedding [B, E]. Dynamic batch and time axes, opset 17."""
    import onnx

    model.eval()
    d, e = model.cfg.feature_dim, model.cfg.text_dim
    motion_path, text_path = os.path.join(out, MOTION_ONNX), os.path.join(out, TEXT_ONNX)
    _onnx_export(_MotionExport(model), (torch.zeros(2, 24, d), torch.tensor([24, 13], dtype=torch.int64)), motion_path,
                 ["features", "lengths"], {"features": {0: "batch", 1: "frames"}, "lengths": {0: "batch"},
                                           "embedding": {0: "batch"}})
    _onnx_export(model.text, (torch.zeros(2, e),), text_path, ["text_embedding"],
                 {"text_embedding": {0: "batch"}, "embedding": {0: "batch"}})
    for p in (motion_path, text_path):
        onnx.checker.check_model(onnx.load(p))
    return {"motion": MOTION_ONNX, "text": TEXT_ONNX, "opset": ONNX_OPSET,
            "motion_inputs": {"features": ["batch", "frames", d], "lengths": ["batch"]},
            "text_inputs": {"text_embedding": ["batch", e]}, "output": {"embedding": ["batch", model.cfg.embed_dim]}}


@torch.no_grad()
def write_parity_fixture(model: Evaluator, out: str) -> None:
    """Fixed inputs and the PyTorch outputs; Debian has no Python onnxruntime, so the TypeScript test
    (test/motion/metrics-evaluator.test.ts) runs the ONNX files on these inputs and compares."""
    model.eval()
    g = torch.Generator().manual_seed(1234)
    feats = torch.randn(3, 30, model.cfg.feature_dim, generator=g)
    lengths = torch.tensor([30, 17, 5], dtype=torch.int64)
    feats[1, 17:] = 0
    feats[2, 5:] = 0
    texts = torch.randn(2, model.cfg.text_dim, generator=g)
    fixture = {"features": feats.numpy().round(6).tolist(), "lengths": lengths.tolist(), "text_embedding": texts.numpy().round(6).tolist()}
    fixture["motion_embedding"] = model.motion(torch.tensor(fixture["features"]), lengths).numpy().tolist()
    fixture["text_output"] = model.text(torch.tensor(fixture["text_embedding"])).numpy().tolist()
    with open(os.path.join(out, "evaluator_parity.json"), "w") as f:
        json.dump(fixture, f)


# ----------------------------------------------------------------------------- training

def lr_at(step: int, cfg: EvaluatorTrainConfig) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    t = min(1.0, (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup))
    return cfg.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * t)))


def validation_score(model: Evaluator, cache, table, clips: list, cfg) -> float:
    """Mean top-3 R-precision over 5 shuffles (raw texts): one shuffle of ~180 clips is too noisy to stop on."""
    motion = encode_motions(model, cache, clips, cfg.eval_max_frames)
    return retrieval_metrics(encode_texts(model, table, clips, False), motion, cfg.r_batch, seeds=5)["r_precision_top3"]


def save_checkpoint(path: str, payload: dict) -> None:
    tmp = path + ".tmp"
    torch.save(payload, tmp)
    os.replace(tmp, path)


def load_evaluator(path: str) -> Evaluator:
    """The trained evaluator (best validation state) from evaluator.pt, for trainer/evaluate.py."""
    if not os.path.exists(path):
        raise DataError(f"evaluator checkpoint not found: {path} (train it with `python -m trainer evaluator`)")
    try:
        ckpt = torch.load(path, map_location="cpu")
        model = Evaluator(EvaluatorConfig(**ckpt["config"]["model"]))
        model.load_state_dict(ckpt["best_state"])
    except Exception as e:  # torch raises several types for a damaged file
        raise DataError(f"{path}: cannot read the evaluator checkpoint ({e})") from None
    return model.eval()


def train(cfg: EvaluatorTrainConfig, cache: FeatureCache, table: EmbeddingTable, pairs: list, out: str,
          resume: bool = False) -> tuple:
    splits = make_splits(cache, pairs)
    train_clips = splits.train[:cfg.max_train_clips] if cfg.max_train_clips > 0 else splits.train
    if len(train_clips) < 2:
        raise DataError(f"{cache.dir}: only {len(train_clips)} training clips; the evaluator needs at least 2")
    if len(splits.val) < cfg.r_batch:
        raise DataError(f"{cache.dir}: {len(splits.val)} validation clips, fewer than one R-precision batch of {cfg.r_batch}")
    cfg.model.feature_dim, cfg.model.text_dim = cache.dim, table.dim
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    model = Evaluator(cfg.model)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    ckpt_path = os.path.join(out, CHECKPOINT)
    step, best, best_state, bad, elapsed = 0, -1.0, None, 0, 0.0
    if resume and os.path.exists(ckpt_path):
        ckpt = torch.load(ckpt_path, map_location="cpu")
        model.load_state_dict(ckpt["state"])
        opt.load_state_dict(ckpt["optimizer"])
        step, best, best_state, bad, elapsed = ckpt["step"], ckpt["best"], ckpt["best_state"], ckpt["bad_evals"], ckpt["elapsed_s"]
        rng = np.random.default_rng(cfg.seed + step)
        log({"stage": "evaluator", "event": "resume", "step": step, "best_val_r3": best})
    batches = BatchMaker(cache, table, train_clips, pairs, cfg)
    log({"stage": "evaluator", "event": "start", "config": cfg.name, "train_clips": len(train_clips),
         "val_clips": len(splits.val), "test_clips": len(splits.test), "zeroshot_clips": len(splits.zeroshot),
         "params": sum(p.numel() for p in model.parameters())})
    start = time.time() - elapsed
    losses = []
    stop = "steps"
    while step < cfg.steps:
        model.train()
        for group in opt.param_groups:
            group["lr"] = lr_at(step, cfg)
        feats, lengths, texts, same = batches.sample(rng)
        loss = model.loss(feats, lengths, texts, same)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(float(loss))
        step += 1
        if step % cfg.eval_every == 0 or step == cfg.steps:
            score = validation_score(model, cache, table, splits.val, cfg)
            if score > best:
                best, bad = score, 0
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                bad += 1
            log({"stage": "evaluator", "step": step, "loss": float(np.mean(losses)), "val_r3": score, "best_val_r3": best,
                 "elapsed_s": round(time.time() - start, 1)})
            losses = []
            save_checkpoint(ckpt_path, {"config": asdict(cfg), "state": model.state_dict(), "optimizer": opt.state_dict(),
                                        "step": step, "best": best, "best_state": best_state, "bad_evals": bad,
                                        "elapsed_s": time.time() - start, "data_hash": cache.data_hash,
                                        "text_encoder": table.encoder_id})
            if bad >= cfg.patience:
                stop = "early-stop"
                break
            if cfg.time_budget_s > 0 and time.time() - start > cfg.time_budget_s:
                stop = "time-budget"
                break
    model.load_state_dict(best_state)
    model.eval()
    return model, splits, {"steps": step, "stopped_by": stop, "best_val_r3": best,
                           "train_seconds": round(time.time() - start, 1)}


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m trainer evaluator", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="full", help="tiny | full (default full)")
    p.add_argument("--cache", default=DEFAULT_CACHE)
    p.add_argument("--embeddings", default=DEFAULT_EMBEDDINGS)
    p.add_argument("--zeroshot", default=ZEROSHOT_FILE)
    p.add_argument("--out", default=None, help="output folder (default trainer/runs/evaluator-<config>)")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--steps", type=int, default=0, help="override the preset's step count")
    p.add_argument("--time-budget", type=float, default=-1, help="override the preset's time budget in seconds (0 = none)")
    p.add_argument("--threads", type=int, default=1)
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    all_presets = presets()
    if args.config not in all_presets:
        print(f"error: --config must be one of {', '.join(all_presets)}, got {args.config!r}", file=sys.stderr)
        return 2
    cfg = all_presets[args.config]
    if args.steps > 0:
        cfg.steps = args.steps
    if args.time_budget >= 0:
        cfg.time_budget_s = args.time_budget
    out = args.out or os.path.join(REPO_ROOT, "trainer", "runs", f"evaluator-{cfg.name}")
    torch.set_num_threads(args.threads)
    try:
        cache = load_cache(args.cache)
        table = load_embeddings(args.embeddings)
        pairs = load_zeroshot_pairs(args.zeroshot)
        os.makedirs(out, exist_ok=True)
        model, splits, summary = train(cfg, cache, table, pairs, out, args.resume)
        report = {"stage": "evaluator", "event": "done", **summary,
                  "ground_truth": ground_truth_report(model, cache, table, splits, cfg),
                  "onnx": export_onnx(model, out), "text_encoder": table.encoder_id, "data_hash": cache.data_hash}
        write_parity_fixture(model, out)
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    with open(os.path.join(out, "evaluator_metrics.json"), "w") as f:
        json.dump(report, f, indent=2)
    log(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
