"""Training stages: VQ-VAE → tokenize → GPT. Each stage checkpoints to --out and resumes from there, and prints
JSON-lines progress ({"stage", "step", "loss", "eta_s", …}) on stdout."""
from __future__ import annotations

import json
import math
import os
import time

from dataclasses import asdict

import numpy as np
import torch

from .config import Config, config_from_dict
from .data import (DataError, EmbeddingTable, FeatureCache, WindowSampler, filter_packs, make_splits,
                   mirror_features)
from .gpt import MotionGPT
from .tasks import ControlTraining, build_batch, make_sources, source_weights
from .vqvae import VQVAE, codebook_stats


def log(record: dict) -> None:
    print(json.dumps(record), flush=True)


def lr_at(step: int, total: int, base: float, warmup: int, elapsed: float = 0.0, budget: float = 0.0) -> float:
    """Warmup then cosine to 10 %. Progress is by steps or by the time budget, whichever is further, so a run that
    the budget will cut short still anneals."""
    if step < warmup:
        return base * (step + 1) / warmup
    t = (step - warmup) / max(1, total - warmup)
    if budget > 0:
        t = max(t, elapsed / budget)
    t = min(1.0, t)
    return base * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t)))


def sync_dims(cfg: Config, cache: FeatureCache, table: EmbeddingTable) -> None:
    """Dimensions that come from the data, not the preset."""
    cfg.vq.dim = cache.dim
    cfg.gpt.text_dim = table.dim
    cfg.gpt.codebook_size = cfg.vq.codebook_size
    cfg.gpt.num_codebooks = cfg.vq.num_codebooks


def train_clips(cache: FeatureCache, cfg: Config, pairs: list) -> list:
    clips = filter_packs(make_splits(cache, pairs).train, cfg.train.packs)
    return clips[:cfg.train.max_train_clips] if cfg.train.max_train_clips > 0 else clips


def _save(path: str, payload: dict) -> None:
    tmp = path + ".tmp"
    torch.save(payload, tmp)
    os.replace(tmp, path)  # a crash mid-save never leaves a truncated checkpoint


def _load_checkpoint(path: str, what: str) -> dict:
    try:
        return torch.load(path, map_location="cpu")
    except Exception as e:  # torch raises several types for a damaged file
        raise DataError(f"{path}: cannot read the {what} checkpoint ({e}); delete it or train without --resume") from None


class Stage:
    """Step loop with checkpointing, time budget and ETA shared by the VQ and GPT stages."""

    def __init__(self, name: str, out: str, steps: int, budget_s: float, ckpt_every: int, log_every: int):
        self.name, self.path, self.steps, self.budget = name, os.path.join(out, f"{name}.pt"), steps, budget_s
        self.ckpt_every, self.log_every = ckpt_every, log_every
        self.step, self.elapsed, self.done, self.stopped_early, self.history = 0, 0.0, False, False, []

    def restore(self, ckpt: dict) -> None:
        self.step, self.elapsed = ckpt["step"], ckpt["time_s"]
        self.done, self.stopped_early, self.history = ckpt["done"], ckpt.get("stopped_early", False), ckpt["history"]

    def state(self) -> dict:
        return {"step": self.step, "time_s": self.elapsed, "done": self.done, "stopped_early": self.stopped_early,
                "history": self.history}

    def should_stop(self) -> bool:
        if self.step >= self.steps:
            return True
        if self.budget > 0 and self.elapsed >= self.budget:
            self.stopped_early = True
            return True
        return False

    def eta(self) -> float:
        per_step = self.elapsed / max(1, self.step)
        left = (self.steps - self.step) * per_step
        return round(min(left, max(0.0, self.budget - self.elapsed)) if self.budget > 0 else left, 1)


def _optimizer(model, lr: float, wd: float):
    decay = [p for n, p in model.named_parameters() if p.requires_grad and p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.requires_grad and p.dim() < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}],
                             lr=lr, betas=(0.9, 0.99))


# ----------------------------------------------------------------------------- VQ-VAE

def train_vq(cfg: Config, cache: FeatureCache, pairs: list, out: str, resume: bool) -> VQVAE:
    t = cfg.train
    if t.vq_window % 4:
        raise DataError(f"train.vq_window must be a multiple of 4, got {t.vq_window}")
    model = VQVAE(cfg.vq, cache.slices.get("ric", (4, 67)))
    opt = _optimizer(model, t.vq_lr, t.weight_decay)
    stage = Stage("vq", out, t.vq_steps, t.vq_time_budget_s, t.ckpt_every, t.log_every)
    rng = np.random.default_rng(t.seed)
    if resume and os.path.exists(stage.path):
        ck = _load_checkpoint(stage.path, "VQ-VAE")
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        stage.restore(ck)
        rng = np.random.default_rng(t.seed + stage.step)
        if stage.done:
            log({"stage": "vq", "event": "skipped", "reason": "checkpoint is complete", "step": stage.step})
            return model.eval()
    sampler = WindowSampler(cache, train_clips(cache, cfg, pairs), t.vq_window, t.mirror_prob, pairs, t.balance,
                            t.floor_weight)
    model.train()
    while not stage.should_stop():
        t0 = time.time()
        for g in opt.param_groups:
            g["lr"] = lr_at(stage.step, t.vq_steps, t.vq_lr, t.warmup, stage.elapsed, t.vq_time_budget_s)
        x = torch.from_numpy(sampler.sample(t.vq_batch, rng))
        _, codes, losses = model(x)
        opt.zero_grad(set_to_none=True)
        losses["loss"].backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        stage.step += 1
        stage.elapsed += time.time() - t0
        if stage.step % t.log_every == 0 or stage.step == 1:
            rec = {"stage": "vq", "step": stage.step, "loss": round(float(losses["loss"]), 5),
                   "recon": round(float(losses["recon"]), 5), "vel": round(float(losses["vel"]), 5),
                   **{k: round(v, 4) for k, v in codebook_stats(codes, cfg.vq.codebook_size).items()},
                   "eta_s": stage.eta()}
            stage.history.append(rec)
            log(rec)
        if stage.step % t.ckpt_every == 0:
            _save(stage.path, {"model": model.state_dict(), "opt": opt.state_dict(), "config": cfg.to_dict(), **stage.state()})
    stage.done = True
    _save(stage.path, {"model": model.state_dict(), "opt": opt.state_dict(), "config": cfg.to_dict(), **stage.state()})
    log({"stage": "vq", "event": "done", "step": stage.step, "time_s": round(stage.elapsed, 1),
         "stopped_early": stage.stopped_early})
    return model.eval()


def load_vq(out: str) -> tuple:
    path = os.path.join(out, "vq.pt")
    if not os.path.exists(path):
        raise DataError(f"{path} not found: train the VQ-VAE first (`python -m trainer vq --out {out}`)")
    ck = _load_checkpoint(path, "VQ-VAE")
    model = VQVAE(config_from_dict(ck["config"]).vq)
    model.load_state_dict(ck["model"])
    return model.eval(), ck


# ----------------------------------------------------------------------------- tokenize

def clips_to_tokenize(cache: FeatureCache, cfg: Config, pairs: list) -> list:
    """All clips; a run limited to a few train clips (CI) tokenizes just those and the val split."""
    if cfg.train.max_train_clips <= 0:
        return cache.clips
    return train_clips(cache, cfg, pairs) + make_splits(cache, pairs).val


@torch.no_grad()
def tokenize(vq: VQVAE, cache: FeatureCache, out: str, resume: bool, clips: list = None) -> dict:
    """Codes of every clip (all splits) and of its mirror: the GPT's training data and the evaluation's ground truth."""
    clips = cache.clips if clips is None else clips
    path = os.path.join(out, "tokens.pt")
    vq_mtime = os.path.getmtime(os.path.join(out, "vq.pt")) if os.path.exists(os.path.join(out, "vq.pt")) else 0
    if resume and os.path.exists(path) and os.path.getmtime(path) >= vq_mtime:
        log({"stage": "tokenize", "event": "skipped", "reason": "tokens.pt is newer than vq.pt"})
        return torch.load(path)
    t0 = time.time()
    norm = cache.normalise(cache.features)
    mirrored = cache.normalise(mirror_features(cache.features, cache.mirror_perm, cache.mirror_sign))
    tokens, all_codes = {}, []
    for i, clip in enumerate(clips):
        n = clip.length // 4
        entry = {"codes": np.zeros((0, vq.cfg.num_codebooks), dtype=np.int64), "mirrored": None}
        if n > 0:
            sl = slice(clip.offset, clip.offset + 4 * n)
            entry["codes"] = vq.encode(torch.from_numpy(norm[sl])[None])[0].numpy()
            entry["mirrored"] = vq.encode(torch.from_numpy(mirrored[sl])[None])[0].numpy()
            all_codes.append(entry["codes"])
        tokens[clip.id] = entry
        if (i + 1) % 500 == 0:
            log({"stage": "tokenize", "step": i + 1, "of": len(clips),
                 "eta_s": round((time.time() - t0) / (i + 1) * (len(clips) - i - 1), 1)})
    stats = codebook_stats(torch.from_numpy(np.concatenate(all_codes)), vq.cfg.codebook_size)
    torch.save(tokens, path)
    log({"stage": "tokenize", "event": "done", "clips": len(tokens), "time_s": round(time.time() - t0, 1),
         **{f"codebook_{k}": round(v, 4) for k, v in stats.items()}})
    return tokens


# ----------------------------------------------------------------------------- GPT

def static_encoder(vq: VQVAE):
    def encode(windows: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return vq.encode(torch.from_numpy(windows.astype(np.float32)))[:, 0].numpy()
    return encode


def control_training(cfg: Config) -> ControlTraining:
    t = cfg.train
    return ControlTraining(t.pin_controls, t.control_loss_weight, t.control_task_scale)


def gpt_loss(model: MotionGPT, batch: dict, weighted: bool = True) -> torch.Tensor:
    """Cross-entropy per target, averaged with the batch's position weights (unweighted: a plain mean)."""
    logits, _ = model(batch["tokens"], batch["pos"], batch["text_emb"], batch["text_mask"], batch["task"],
                      batch["duration"], allowed=batch["allowed"], side=batch.get("side"))
    targets = batch["targets"]
    ce = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1),
                                           ignore_index=-100, reduction="none").view(targets.shape)
    w = (targets != -100).float()
    if weighted and "weights" in batch:
        w = w * batch["weights"][..., None]
    return (ce * w).sum() / w.sum().clamp(min=1e-8)


@torch.no_grad()
def gpt_eval_loss(model: MotionGPT, sources, cfg: Config, cache, table, encode, batches: int) -> float:
    """Validation loss on a fixed sample (same seed every time, so successive values are comparable)."""
    if not sources:
        return float("nan")
    model.eval()
    rng = np.random.default_rng(1234)
    losses = [float(gpt_loss(model, build_batch(sources, cfg.train.gpt_batch, cfg.gpt, cache, table, encode, rng,
                                                control=control_training(cfg), paraphrases=cfg.train.paraphrases,
                                                paraphrase_prob=cfg.train.paraphrase_prob),
                             weighted=False))
              for _ in range(batches)]
    model.train()
    return sum(losses) / len(losses)


def train_gpt(cfg: Config, cache: FeatureCache, table: EmbeddingTable, pairs: list, vq: VQVAE, tokens: dict,
              out: str, resume: bool) -> MotionGPT:
    t = cfg.train
    splits = make_splits(cache, pairs)
    sources = make_sources(train_clips(cache, cfg, pairs), tokens, table, pairs, mirror=t.mirror_prob > 0)
    val_sources = make_sources(filter_packs(splits.val, t.packs), tokens, table, pairs, mirror=False)
    weights = source_weights(sources, t.balance, t.floor_weight)
    if t.side_signal != cfg.gpt.side_signal:
        raise DataError("train.side_signal and gpt.side_signal must agree (the preset sets both)")
    if t.side_signal and table.sides is None:
        raise DataError(f"{table.dir} has no 'sides': rebuild it with `node bin/charades.js embed` to train with side_signal")
    if not sources:
        raise DataError("no train clip has both codes and embedded texts; check that the embedding table covers the cache")
    model = MotionGPT(cfg.gpt)
    opt = _optimizer(model, t.gpt_lr, t.weight_decay)
    stage = Stage("gpt", out, t.gpt_steps, t.gpt_time_budget_s, t.ckpt_every, t.log_every)
    rng = np.random.default_rng(t.seed + 1)
    if resume and os.path.exists(stage.path):
        ck = _load_checkpoint(stage.path, "GPT")
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        stage.restore(ck)
        rng = np.random.default_rng(t.seed + 1 + stage.step)
        if stage.done:
            log({"stage": "gpt", "event": "skipped", "reason": "checkpoint is complete", "step": stage.step})
            return model.eval()
    elif t.gpt_init:
        init_from(model, t.gpt_init)
    encode = static_encoder(vq)
    model.train()
    while not stage.should_stop():
        t0 = time.time()
        for g in opt.param_groups:
            g["lr"] = lr_at(stage.step, t.gpt_steps, t.gpt_lr, t.warmup, stage.elapsed, t.gpt_time_budget_s)
        batch = build_batch(sources, t.gpt_batch, cfg.gpt, cache, table, encode, rng, control=control_training(cfg),
                            weights=weights, paraphrases=t.paraphrases, paraphrase_prob=t.paraphrase_prob)
        loss = gpt_loss(model, batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        stage.step += 1
        stage.elapsed += time.time() - t0
        if stage.step % t.log_every == 0 or stage.step == 1:
            rec = {"stage": "gpt", "step": stage.step, "loss": round(float(loss), 5), "eta_s": stage.eta()}
            if stage.step % (t.log_every * 8) == 0:
                rec["val_loss"] = round(gpt_eval_loss(model, val_sources, cfg, cache, table, encode, t.eval_batches), 5)
            stage.history.append(rec)
            log(rec)
        if stage.step % t.ckpt_every == 0:
            _save(stage.path, {"model": model.state_dict(), "opt": opt.state_dict(), "config": cfg.to_dict(), **stage.state()})
    stage.done = True
    val = gpt_eval_loss(model, val_sources, cfg, cache, table, encode, t.eval_batches)
    stage.history.append({"stage": "gpt", "step": stage.step, "val_loss": round(val, 5)})
    _save(stage.path, {"model": model.state_dict(), "opt": opt.state_dict(), "config": cfg.to_dict(), **stage.state()})
    log({"stage": "gpt", "event": "done", "step": stage.step, "time_s": round(stage.elapsed, 1), "val_loss": round(val, 5),
         "stopped_early": stage.stopped_early})
    return model.eval()


def init_from(model: MotionGPT, path: str) -> None:
    """Fine-tuning start: the weights of another run's GPT of the same size. Only the control vector of
    `tied_controls` and the side embedding may be missing; both start at zero, so a control first reads as its
    motion code and the side adds nothing until the fine-tune teaches it."""
    if not os.path.exists(path):
        raise DataError(f"train.gpt_init: {path} not found")
    ck = _load_checkpoint(path, "GPT")
    mine, theirs = asdict(model.cfg), config_from_dict(ck["config"]).gpt
    other = {k: v for k, v in asdict(theirs).items() if k not in ("tied_controls", "side_signal", "dropout", "cond_drop")}
    if any(mine[k] != v for k, v in other.items()):
        raise DataError(f"train.gpt_init: {path} is a GPT of another shape ({other} vs {mine})")
    missing, unexpected = model.load_state_dict(ck["model"], strict=False)
    if unexpected or set(missing) - {"control", "side.weight"}:
        raise DataError(f"train.gpt_init: {path} does not fit (missing {missing}, unexpected {unexpected})")
    with torch.no_grad():
        for name in missing:
            model.get_parameter(name).zero_()
    log({"stage": "gpt", "event": "init", "from": path, "step": ck["step"]})


def load_gpt(out: str) -> tuple:
    path = os.path.join(out, "gpt.pt")
    if not os.path.exists(path):
        raise DataError(f"{path} not found: train the GPT first (`python -m trainer gpt --out {out}`)")
    ck = _load_checkpoint(path, "GPT")
    model = MotionGPT(config_from_dict(ck["config"]).gpt)
    model.load_state_dict(ck["model"])
    return model.eval(), ck
