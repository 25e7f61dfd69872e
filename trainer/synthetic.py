"""A small synthetic features cache + embedding table in the exact on-disk format of docs/data-contract.md.

Tests (and development before the real cache exists) train on it. Motions are smooth periodic signals whose
frequency depends on the action and whose amplitude depends on the style, so text conditioning carries signal.
"""
from __future__ import annotations

import hashlib
import json
import os

import numpy as np

DIM = 71
SLICES = {"root_ang_vel": [0, 1], "root_lin_vel": [1, 3], "root_y": [3, 4], "ric": [4, 67], "contacts": [67, 71]}
ACTIONS = ["walk", "run", "wave-left-hand", "wave-right-hand", "bow"]
STYLES = ["normal", "elderly", "angry", "happy"]
SYNTHETIC_PAIRS = [("run", "elderly"), ("bow", "angry")]


def mirror_spec(dim: int = DIM):
    """Swaps each ric joint triple with its partner and negates x; negates the yaw rate and sideways velocity."""
    mirror_joint = [0, 2, 1, 3, 5, 4, 6, 8, 7, 9, 11, 10, 12, 14, 13, 15, 17, 16, 19, 18, 21, 20]
    perm = list(range(dim))
    sign = [1.0] * dim
    sign[0] = -1.0
    sign[1] = -1.0
    for j in range(1, 22):
        for a in range(3):
            perm[4 + (j - 1) * 3 + a] = 4 + (mirror_joint[j] - 1) * 3 + a
        sign[4 + (j - 1) * 3] = -1.0
    perm[67:71] = [69, 70, 67, 68]
    return perm, sign


def _clip_motion(rng, action_i: int, style_i: int, length: int) -> np.ndarray:
    t = np.arange(length)[:, None]
    freq = 0.08 + 0.05 * action_i
    amp = 0.05 + 0.03 * style_i
    phase = rng.uniform(0, 2 * np.pi, size=(1, DIM))
    basis = np.linspace(0.5, 1.5, DIM)[None, :]
    x = amp * np.sin(freq * basis * t + phase) + 0.002 * rng.standard_normal((length, DIM))
    x[:, 3] += 0.9
    x[:, 67:71] = (np.sin(freq * t + phase[:, :4]) > 0).astype(np.float64)
    return x.astype(np.float32)


def _text(action: str, style: str, variant: int) -> str:
    subject = ["a person", "someone"][variant]
    return f"{subject} does {action.replace('-', ' ')} in a {style} way."


def write_synthetic(cache_dir: str, emb_dir: str, clips_per_pair: int = 4, seed: int = 0,
                    min_len: int = 40, max_len: int = 120, emb_dim: int = 32) -> None:
    rng = np.random.default_rng(seed)
    clips, chunks, offset = [], [], 0
    splits = ["train", "train", "val", "test"]
    for ai, action in enumerate(ACTIONS):
        for si, style in enumerate(STYLES):
            for k in range(clips_per_pair):
                length = int(rng.integers(min_len, max_len + 1))
                chunks.append(_clip_motion(rng, ai, si, length))
                clips.append({"id": f"syn_{action}_{style}_{k}", "split": splits[k % len(splits)], "dataset": "synthetic",
                              "pack": "synthetic", "license": "CC0-1.0",
                              "offset": offset, "length": length, "action_labels": [action], "style": style,
                              "texts": [_text(action, style, 0), _text(action, style, 1)]})
                offset += length
    feats = np.concatenate(chunks)
    train = np.concatenate([chunks[i] for i, c in enumerate(clips) if c["split"] == "train"])
    perm, sign = mirror_spec()
    os.makedirs(cache_dir, exist_ok=True)
    feats.astype("<f2").tofile(os.path.join(cache_dir, "features.f16"))
    index_sha = hashlib.sha256(json.dumps(clips).encode()).hexdigest()
    meta = {"layout": "charades-ric71/1", "dim": DIM, "fps": 20, "frames": int(feats.shape[0]), "slices": SLICES,
            "mean": train.mean(0).tolist(), "std": np.maximum(train.std(0), 0.01).tolist(),
            "mirror": {"perm": perm, "sign": sign}, "clips": clips,
            "source": {"dataDir": "synthetic", "indexSha256": index_sha},
            "featurizerSha256": hashlib.sha256(b"synthetic").hexdigest()}
    with open(os.path.join(cache_dir, "features.json"), "w") as f:
        json.dump(meta, f)
    _write_embeddings(emb_dir, clips, rng, emb_dim)


def _write_embeddings(emb_dir: str, clips: list, rng, dim: int) -> None:
    texts, kinds, phrases, vecs, sides, sets = [], [], [], [], [], []
    action_vec = {a: rng.standard_normal(dim) for a in ACTIONS}
    style_vec = {s: rng.standard_normal(dim) for s in STYLES}

    def add(text, kind, base):
        texts.append(text)
        kinds.append(kind)
        # The real table's sides come from src/motion/text/side.ts; the synthetic words name a side this plainly.
        sides.append(1 if " left" in text else 2 if " right" in text else 0)
        v = base + 0.1 * rng.standard_normal(dim)
        vecs.append(v / np.linalg.norm(v))

    for action in ACTIONS:
        for style in STYLES:
            base = action_vec[action] + 0.5 * style_vec[style]
            ts = [_text(action, style, 0), _text(action, style, 1)]
            descs = [f"description {d} of {action} {style}" for d in range(4)]
            for t in ts:
                add(t, "text", base)
            for d in descs:
                add(d, "description", base)
            phrases.append({"phrase": f"{action} {style}", "texts": ts, "descriptions": descs})
            trained = [f"please {action.replace('-', ' ')} {style} {v}" for v in range(3)]
            heldout = [f"go {action.replace('-', ' ')} {style}"]
            for t in trained + heldout:
                add(t, "paraphrase", base)
            sets.append({"key": f"{action}|{style}", "texts": trained, "heldout": heldout})
    for action in ACTIONS:
        add(action, "label", action_vec[action])
    os.makedirs(emb_dir, exist_ok=True)
    np.asarray(vecs, dtype="<f4").tofile(os.path.join(emb_dir, "embeddings.f32"))
    with open(os.path.join(emb_dir, "embeddings.json"), "w") as f:
        json.dump({"encoder": {"id": "synthetic-random", "dim": dim}, "texts": texts, "kinds": kinds,
                   "sides": sides, "phrases": phrases, "paraphraseSets": sets}, f)


def write_synthetic_pairs(path: str) -> None:
    with open(path, "w") as f:
        json.dump({"pairs": [{"action": a, "style": s} for a, s in SYNTHETIC_PAIRS]}, f)
