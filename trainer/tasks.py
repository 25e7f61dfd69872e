"""Training examples for the multi-task GPT: one instruction layout for all tasks (gpt.py's docstring), built from
pre-tokenized clips. Pose controls are encoded exactly as the engine encodes a static pose at inference: the pose
(root velocities zero) repeated over one token's 4 frames through the causal VQ encoder.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .data import (PARAPHRASE_PROB, EmbeddingTable, FeatureCache, balanced_weights, mirror_label, mirror_text,
                   sample_text_condition)
from .gpt import TASKS, GPTConfig

MAX_KEYS = 12
MAX_PAST = 10  # tokens of given past for the continue task (2 s)
TASK_WEIGHTS = {"text": 0.3, "init_pose": 0.14, "last_pose": 0.14, "key_poses": 0.14, "continue": 0.14,
                "action_duration": 0.14}
CONTROL_TASKS = ("init_pose", "last_pose", "key_poses")


@dataclass
class ControlTraining:
    """How pose controls are taught (TrainConfig sets these; the defaults are the first committed model's).
    pin: the target at a pinned position is the control code itself (and so is the motion input after it) instead
      of the clip's in-motion code, which differs from the held pose's code about half the time — otherwise the
      model only learns that a control is a hint. Decoded, the substituted code is as close to the pose as the
      clip's own code (measured: 6.8 vs 6.9 cm at the first frame), so nothing is lost by asking for an exact copy.
    loss_weight: weight of the pinned positions' cross-entropy (1 pinned step among up to 60 motion steps).
    task_scale: multiplies the sampling weights of the three control tasks."""
    pin: bool = False
    loss_weight: float = 1.0
    task_scale: float = 1.0


def static_pose_window(frames: np.ndarray, cache: FeatureCache) -> np.ndarray:
    """[M, dim] normalised frames -> [M, 4, dim]: each pose held still for one token (root velocities zero)."""
    out = frames.copy()
    for name in ("root_ang_vel", "root_lin_vel"):
        a, b = cache.slices.get(name, (0, 0))
        out[:, a:b] = (-cache.mean[a:b] / cache.std[a:b])[None]
    return np.repeat(out[:, None], 4, axis=1)


def label_row(label: str, table: EmbeddingTable):
    for text in (label, label.replace("-", " ")):
        if table.has(text):
            return table.row(text)
    return None


@dataclass
class GPTSource:
    """One (clip, orientation) the GPT can train on."""
    clip: object
    mirrored: bool
    codes: np.ndarray  # [N, K]
    texts: list
    label_row: object  # row index or None


def make_sources(clips, tokens: dict, table: EmbeddingTable, pairs, mirror: bool = True) -> list:
    """Every train clip, plus its mirror (sentence with left/right swapped) where that sentence is in the table and
    the mirrored (action, style) is not held out. Symmetric actions keep their sentence and double their data."""
    held = set(pairs)
    out = []
    for clip in clips:
        entry = tokens.get(clip.id)
        if entry is None or len(entry["codes"]) < 1 or not all(table.has(t) for t in clip.texts):
            continue
        out.append(GPTSource(clip, False, entry["codes"], clip.texts, label_row(clip.action, table)))
        mtexts = [mirror_text(t) for t in clip.texts]
        mlabel = mirror_label(clip.action)
        if mirror and entry.get("mirrored") is not None and (mlabel, clip.style) not in held \
                and all(table.has(t) for t in mtexts):
            out.append(GPTSource(clip, True, entry["mirrored"], mtexts, label_row(mlabel, table)))
    return out


def _pick_task(src: GPTSource, n: int, rng, task_scale: float = 1.0) -> str:
    names = [t for t in TASK_WEIGHTS if not (t == "continue" and n < 2) and not (t == "action_duration" and src.label_row is None)]
    w = np.array([TASK_WEIGHTS[t] * (task_scale if t in CONTROL_TASKS else 1.0) for t in names])
    return names[rng.choice(len(names), p=w / w.sum())]


def _controls(task: str, n: int, rng) -> list:
    """(frame offset inside the crop, target time p) for each pose control of the task."""
    if task == "init_pose":
        return [(0, 0)]
    if task == "last_pose":
        return [(4 * n - 1, n - 1)]
    if task == "key_poses":
        count = int(rng.integers(1, min(MAX_KEYS, n) + 1))
        ps = np.sort(rng.choice(n, size=count, replace=False))
        return [(4 * int(p) + int(rng.integers(4)), int(p)) for p in ps]
    return []


def source_weights(sources: list, balance: float, floor_weight: float = 1.0) -> np.ndarray:
    """Sampling probabilities over sources: uniform mixed with equal mass per (pack, action) (data.balanced_weights)."""
    return balanced_weights([s.clip for s in sources], np.ones(len(sources)), balance, floor_weight)


def build_batch(sources: list, batch: int, cfg: GPTConfig, cache: FeatureCache, table: EmbeddingTable, encode_static,
                rng: np.random.Generator, forced_task: str = None, control: ControlTraining = None,
                weights: np.ndarray = None, paraphrases: bool = False, paraphrase_prob: float = PARAPHRASE_PROB) -> dict:
    """Samples `batch` examples and pads them into tensors. encode_static: [M,4,dim] normalised -> [M,K] codes.
    weights: sampling probabilities over sources (None = uniform); paraphrases: also call clips by their paraphrases."""
    control = control or ControlTraining()
    examples, pose_frames = [], []
    for _ in range(batch):
        src = sources[rng.choice(len(sources), p=weights) if weights is not None else rng.integers(len(sources))]
        total = len(src.codes)
        n = min(total, cfg.max_tokens)
        start = int(rng.integers(total - n + 1))
        task = forced_task or _pick_task(src, n, rng, control.task_scale)
        feats = None
        ctrl = _controls(task, n, rng)
        if ctrl:
            feats = src_features(cache, src, start, n)
            for f, p in ctrl:
                pose_frames.append(feats[min(f, len(feats) - 1)])
        if task == "action_duration":
            emb, side = table.vectors[src.label_row], table.side(src.label_row)
        else:
            emb, side = sample_text_condition(src.clip, table, rng, texts=src.texts, paraphrases=paraphrases,
                                              mirrored=src.mirrored, prob=paraphrase_prob)
        past = int(rng.integers(1, min(MAX_PAST, n - 1) + 1)) if task == "continue" else 0
        examples.append((src, start, n, task, ctrl, emb, past, side))
    pose_codes = encode_static(static_pose_window(np.asarray(pose_frames), cache)) if pose_frames else None
    return _pad(examples, pose_codes, cfg, rng, control)


def src_features(cache: FeatureCache, src: GPTSource, start_token: int, n: int) -> np.ndarray:
    x = cache.clip_features(src.clip, normalised=True, mirrored=src.mirrored)
    return x[4 * start_token:4 * (start_token + n)]


def _pad(examples, pose_codes, cfg: GPTConfig, rng, control: ControlTraining) -> dict:
    k = cfg.num_codebooks
    seqs, used = [], 0
    for src, start, n, task, ctrl, emb, past, side in examples:
        codes = src.codes[start:start + n].copy()
        toks, pos, tgt = [], [], []
        pinned = set()
        for _, p in ctrl:
            toks.append([cfg.control_offset + int(c) for c in pose_codes[used]])
            pos.append(p)
            tgt.append([-100] * k)
            if control.pin:
                codes[p] = pose_codes[used]
            pinned.add(p)
            used += 1
        first = len(toks)  # the input at pos p (bos, then m_{p-1}) predicts m_p
        toks.append([cfg.bos] * k)
        pos.append(0)
        tgt.append(codes[0].tolist() if past == 0 else [-100] * k)
        for i in range(n - 1):
            toks.append(codes[i].tolist())
            pos.append(i + 1)
            tgt.append(codes[i + 1].tolist() if i + 1 >= past else [-100] * k)
        weights = [1.0] * len(toks)
        for p in pinned:
            weights[first + p] = control.loss_weight
        seqs.append((toks, pos, tgt, task, emb, n, weights, side))
    length = max(len(s[0]) for s in seqs)
    b = len(seqs)
    tokens = torch.full((b, length, k), cfg.pad, dtype=torch.long)
    pos = torch.zeros((b, length), dtype=torch.long)
    targets = torch.full((b, length, k), -100, dtype=torch.long)
    valid = torch.zeros((b, length), dtype=torch.bool)
    weights = torch.ones((b, length))
    for i, (toks, ps, tgt, _, _, _, w, _) in enumerate(seqs):
        L = len(toks)
        tokens[i, :L] = torch.tensor(toks)
        pos[i, :L] = torch.tensor(ps)
        targets[i, :L] = torch.tensor(tgt)
        valid[i, :L] = True
        weights[i, :L] = torch.tensor(w)
    causal = torch.tril(torch.ones(length, length, dtype=torch.bool))
    # Padding keys are hidden; every query keeps its own diagonal so padded rows never softmax over nothing.
    allowed = (causal[None] & valid[:, None, :]) | torch.eye(length, dtype=torch.bool)[None]
    text_mask = torch.from_numpy((rng.random(b) >= cfg.cond_drop).astype(np.float32))
    return {"tokens": tokens, "pos": pos, "targets": targets, "weights": weights, "allowed": allowed,
            "text_emb": torch.from_numpy(np.stack([s[4] for s in seqs]).astype(np.float32)), "text_mask": text_mask,
            "task": torch.tensor([TASKS[s[3]] for s in seqs]), "duration": torch.tensor([s[5] for s in seqs]),
            "side": torch.tensor([int(s[7]) for s in seqs], dtype=torch.long),
            "tasks": [s[3] for s in seqs]}
