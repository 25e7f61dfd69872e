"""Evaluation of a trained run (VQ-VAE + GPT) against ground truth, on the test split and on the zero-shot pairs.

Everything is measured in feature space (docs/data-contract.md: the features → joints inverse lives only in
TypeScript). Distances on `ric` (root-relative joint positions, metres: x/z in the body's facing frame, y = height)
are therefore *root-relative* errors in metres, not global-position errors.

- Text → motion: R-precision top-1/2/3 (batches of 32, ground truth and generated), FID (generated vs ground truth),
  MM-Dist, Diversity, MultiModality (32 texts × 10 samples), with the metrics engineer's evaluator
  (trainer/evaluator.py) and metrics (trainer/metrics.py); conditioning with k = 4 Action-GPT descriptions and with
  the raw text (k = 0).
- Codebook usage and perplexity of the ground-truth tokens and of the generated tokens; VQ reconstruction error.
- Foot-skate ratio (feature-space approximation): share of frames where either foot (joints 10, 11) is below 6 cm
  and slides more than 2.5 cm in that frame; its slide = change of its facing-frame ric XZ + the root's XZ
  displacement (the yaw change over one frame is ignored).
- Pose controls (MotionGPT Table 1) vs the same GPT with the text only, same clips and seed: initial / last pose
  Recon (mean joint error of the controlled frame) and Vel (mean joint-velocity error over the controlled token's 4
  frames, vs the ground-truth clip), key poses Dist (mean over keys of the nearest generated frame's joint error).
  Diagnostics next to them: how often the generated code at a pinned time is the control code, and the tokenizer's
  limits at the controlled frames — the ground-truth codes decoded, and the same with the control code put in at
  the pinned times (what a model that copies every control exactly can reach).
- Continuation: 2 s observed (10 tokens), 2 s predicted; ADE / FDE of ric joints vs the ground-truth future, against
  a constant-velocity extrapolation of the features.
"""
from __future__ import annotations

import json
import os
import time

import numpy as np
import torch

from . import metrics as M
from .data import DataError, EmbeddingTable, FeatureCache, make_splits, text_embedding, text_side
from .gpt import TASKS, generate_batch
from .tasks import static_pose_window
from .vqvae import codebook_stats

EVAL_SEED = 2024
R_BATCH = 32
FOOT_JOINTS = (10, 11)
FOOT_HEIGHT_M = 0.06
SKATE_M_PER_FRAME = 0.025
PAST_TOKENS = 10
FUTURE_TOKENS = 10
NUM_KEYS = 5
MM_TEXTS, MM_SAMPLES, MM_PAIRS = 32, 10, 5


def ric(x: np.ndarray, cache: FeatureCache) -> np.ndarray:
    """Raw features [..., T, dim] -> root-relative joints [..., T, 21, 3] (metres)."""
    a, b = cache.slices.get("ric", (4, 67))
    return x[..., a:b].reshape(*x.shape[:-1], (b - a) // 3, 3)


def joint_error(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mean over joints of the Euclidean distance; a, b [..., 21, 3]."""
    return np.linalg.norm(a - b, axis=-1).mean(-1)


def foot_skate_ratio(motions: list, cache: FeatureCache) -> float:
    a, _ = cache.slices.get("root_lin_vel", (1, 3))
    skating = frames = 0
    for x in motions:
        j = ric(x, cache)
        skates = np.zeros(len(x) - 1, dtype=bool)
        for foot in FOOT_JOINTS:
            p = j[:, foot - 1]
            slide = np.linalg.norm(p[1:, [0, 2]] - p[:-1, [0, 2]] + x[:-1, a:a + 2], axis=-1)
            skates |= (p[:-1, 1] < FOOT_HEIGHT_M) & (slide > SKATE_M_PER_FRAME)
        skating += int(skates.sum())
        frames += len(x) - 1
    return skating / max(1, frames)


class Run:
    """A trained run loaded for evaluation: models, data and the evaluator."""

    def __init__(self, run_dir: str, cache: FeatureCache, table: EmbeddingTable, pairs: list, max_tokens: int = None):
        from .train import load_gpt, load_vq
        from .train_evaluator import load_evaluator
        self.vq, _ = load_vq(run_dir)
        self.gpt, _ = load_gpt(run_dir)
        self.evaluator = load_evaluator(os.path.join(run_dir, "evaluator.pt"))
        self.cache, self.table, self.pairs = cache, table, pairs
        self.max_tokens = max_tokens or self.gpt.cfg.max_tokens

    def gt(self, clip) -> np.ndarray:
        """Raw ground-truth features, cut to whole tokens and at most max_tokens."""
        n = min(clip.length // 4, self.max_tokens)
        return self.cache.features[clip.offset:clip.offset + 4 * n]

    @torch.no_grad()
    def encode(self, raw: np.ndarray) -> np.ndarray:
        return self.vq.encode(torch.from_numpy(self.cache.normalise(raw))[None])[0].numpy()

    @torch.no_grad()
    def decode_many(self, codes_list: list) -> list:
        """Decodes code arrays grouped by length, one decoder call per length (exact: no padding involved)."""
        out = [None] * len(codes_list)
        by_len = {}
        for i, c in enumerate(codes_list):
            by_len.setdefault(len(c), []).append(i)
        for idx in by_len.values():
            x = self.vq.decode(torch.from_numpy(np.stack([codes_list[i] for i in idx])))
            for i, y in zip(idx, x.numpy()):
                out[i] = self.cache.denormalise(y)
        return out

    @torch.no_grad()
    def static_codes(self, raw_frames: np.ndarray) -> list:
        """Control codes of held poses, as the engine computes them: [M, dim] raw frames -> M code lists."""
        if len(raw_frames) == 0:
            return []
        w = static_pose_window(self.cache.normalise(np.asarray(raw_frames)), self.cache)
        return self.vq.encode(torch.from_numpy(w.astype(np.float32)))[:, 0].tolist()

    @torch.no_grad()
    def motion_embeddings(self, raws: list, batch: int = 64) -> np.ndarray:
        """Evaluator embeddings, batched with lengths (the evaluator masks padding, so this equals one by one)."""
        out = np.zeros((len(raws), self.evaluator.cfg.embed_dim), dtype=np.float32)
        order = sorted(range(len(raws)), key=lambda i: len(raws[i]))
        for s in range(0, len(order), batch):
            chunk = order[s:s + batch]
            lengths = [len(raws[i]) for i in chunk]
            x = np.zeros((len(chunk), max(lengths), self.cache.dim), dtype=np.float32)
            for j, i in enumerate(chunk):
                x[j, :lengths[j]] = self.cache.normalise(raws[i])
            out[chunk] = self.evaluator.motion(torch.from_numpy(x), torch.tensor(lengths)).numpy()
        return out

    @torch.no_grad()
    def text_embeddings(self, clips: list, use_descriptions: bool) -> np.ndarray:
        x = np.stack([text_embedding(c.texts[0], self.table, use_descriptions) for c in clips]).astype(np.float32)
        return self.evaluator.text(torch.from_numpy(x)).numpy()

    def generate(self, requests: list, seed: int, guidance: float, temperature: float, batch: int = 128) -> list:
        g = torch.Generator().manual_seed(seed)
        out = []
        for s in range(0, len(requests), batch):
            out += generate_batch(self.gpt, requests[s:s + batch], temperature=temperature, guidance=guidance, generator=g)
        return out


def retrieval(text: np.ndarray, motion: np.ndarray) -> dict:
    out = {"mm_dist": round(M.mm_dist(text, motion), 4)}
    if len(text) >= R_BATCH:
        tops = np.mean([M.r_precision(text, motion, batch_size=R_BATCH, seed=s)["top_k"] for s in range(5)], axis=0)
        out.update({f"r_precision_top{k + 1}": round(float(v), 4) for k, v in enumerate(tops)})
    return out


def distribution(gen: np.ndarray, gt: np.ndarray) -> dict:
    out = {"fid": round(M.frechet_distance(gen, gt), 4)}
    if len(gen) > 2:
        out["diversity"] = round(M.diversity(gen, min(300, len(gen) - 1)), 4)
    return out


def text_to_motion(run: Run, clips: list, guidance: float, temperature: float) -> dict:
    gt_raw = [run.gt(c) for c in clips]
    gt_motion = run.motion_embeddings(gt_raw)
    gt_codes = np.concatenate([run.encode(r) for r in gt_raw])
    report = {"clips": len(clips), "ground_truth": {}, "generated": {}}
    for k_name, use_desc in (("descriptions_k4", True), ("raw_text_k0", False)):
        text = run.text_embeddings(clips, use_desc)
        report["ground_truth"][k_name] = retrieval(text, gt_motion)
        reqs = [{"text_emb": text_embedding(c.texts[0], run.table, use_desc), "side": text_side(c.texts[0], run.table), "duration": len(r) // 4}
                for c, r in zip(clips, gt_raw)]
        codes = run.generate(reqs, EVAL_SEED, guidance, temperature)
        gen_raw = run.decode_many(codes)
        gen_motion = run.motion_embeddings(gen_raw)
        entry = {**retrieval(text, gen_motion), **distribution(gen_motion, gt_motion)}
        if use_desc:
            entry["multimodality"] = multimodality(run, clips, gt_raw, guidance, temperature)
            entry["foot_skate_ratio"] = round(foot_skate_ratio(gen_raw, run.cache), 4)
            entry["codebook"] = {k: round(v, 4) for k, v in codebook_stats(torch.from_numpy(np.concatenate(codes)),
                                                                           run.vq.cfg.codebook_size).items()}
        report["generated"][k_name] = entry
    report["ground_truth"]["diversity"] = round(M.diversity(gt_motion, min(300, len(gt_motion) - 1)), 4)
    report["ground_truth"]["foot_skate_ratio"] = round(foot_skate_ratio(gt_raw, run.cache), 4)
    report["ground_truth"]["codebook"] = {k: round(v, 4) for k, v in codebook_stats(
        torch.from_numpy(gt_codes), run.vq.cfg.codebook_size).items()}
    return report


def vq_reconstruction(run: Run, clips: list) -> dict:
    """How much the tokenizer loses: ground truth → codes → features, root-relative joint error and velocity error."""
    err, vel = [], []
    raws = [run.gt(c) for c in clips]
    for raw, rec in zip(raws, run.decode_many([run.encode(r) for r in raws])):
        g, t = ric(rec, run.cache), ric(raw, run.cache)
        err.append(joint_error(g, t).mean())
        vel.append(joint_error(np.diff(g, axis=0), np.diff(t, axis=0)).mean())
    return {"ric_joint_error_m": round(float(np.mean(err)), 4), "ric_velocity_error_m_per_frame": round(float(np.mean(vel)), 5)}


def multimodality(run: Run, clips: list, gt_raw: list, guidance: float, temperature: float) -> float:
    """T2M MultiModality: spread of MM_SAMPLES motions generated from one text, over the first MM_TEXTS clips."""
    chosen = list(zip(clips, gt_raw))[:MM_TEXTS]
    reqs = [{"text_emb": text_embedding(c.texts[0], run.table, True), "side": text_side(c.texts[0], run.table), "duration": len(r) // 4}
            for c, r in chosen for _ in range(MM_SAMPLES)]
    codes = run.generate(reqs, EVAL_SEED + 1, guidance, temperature)
    emb = run.motion_embeddings(run.decode_many(codes))
    groups = [emb[i * MM_SAMPLES:(i + 1) * MM_SAMPLES] for i in range(len(chosen))]
    return round(M.multimodality(groups, pairs=MM_PAIRS), 4)


def _control_requests(run: Run, clips: list, gt_raw: list, rng) -> dict:
    """Per task: requests + which GT frames the controls pin (frame index → token p)."""
    out = {"text": [], "init_pose": [], "last_pose": [], "key_poses": []}
    for c, raw in zip(clips, gt_raw):
        n = len(raw) // 4
        base = {"text_emb": text_embedding(c.texts[0], run.table, True), "side": text_side(c.texts[0], run.table), "duration": n}
        out["text"].append(dict(base, frames=[]))
        out["init_pose"].append(dict(base, task=TASKS["init_pose"], frames=[(0, 0)]))
        out["last_pose"].append(dict(base, task=TASKS["last_pose"], frames=[(4 * n - 1, n - 1)]))
        ps = np.sort(rng.choice(n, size=min(NUM_KEYS, n), replace=False))
        out["key_poses"].append(dict(base, task=TASKS["key_poses"], frames=[(4 * int(p) + int(rng.integers(4)), int(p)) for p in ps]))
    for task, reqs in out.items():
        frames = [raw[f] for r, raw in zip(reqs, gt_raw) for f, _ in r["frames"]]
        codes = iter(run.static_codes(np.asarray(frames).reshape(-1, run.cache.dim)))
        for r in reqs:
            r["controls"] = [(next(codes), p) for _, p in r["frames"]]
    return out


def _pose_errors(gen: np.ndarray, gt: np.ndarray, frames: list, cache, which: str) -> float:
    g, t = ric(gen, cache), ric(gt, cache)
    if which == "key":
        return float(np.mean([joint_error(g, t[f][None]).min() for f, _ in frames]))
    f = frames[0][0]
    if which == "recon":
        return float(joint_error(g[f], t[f]))
    span = slice(0, 5) if f == 0 else slice(len(gt) - 5, len(gt))  # the controlled token's frames ± 1
    return float(joint_error(np.diff(g[span], axis=0), np.diff(t[span], axis=0)).mean())


def follows_controls(codes: list, reqs: list) -> float:
    """Share of pinned times p whose generated code m_p is the control code (all K codebooks)."""
    hits = [np.array_equal(c[p], np.asarray(ctrl)) for c, r in zip(codes, reqs) for ctrl, p in r["controls"]]
    return round(float(np.mean(hits)), 4) if hits else None


def tokenizer_limits(run: Run, gt_raw: list, reqs: list) -> dict:
    """Joint error at the controlled frames of the ground-truth codes decoded, and of the same codes with each
    control code put in at its pinned time."""
    gt_codes = [run.encode(r) for r in gt_raw]
    copied = []
    for codes, r in zip(gt_codes, reqs):
        codes = codes.copy()
        for ctrl, p in r["controls"]:
            codes[p] = ctrl
        copied.append(codes)
    out = {}
    for name, codes in (("gt_codes", gt_codes), ("gt_codes_with_controls", copied)):
        err = [joint_error(ric(d[f], run.cache), ric(t[f], run.cache))
               for d, t, r in zip(run.decode_many(codes), gt_raw, reqs) for f, _ in r["frames"]]
        out[name] = round(float(np.mean(err)), 4)
    return out


def pose_controls(run: Run, clips: list, guidance: float, temperature: float) -> dict:
    rng = np.random.default_rng(EVAL_SEED)
    gt_raw = [run.gt(c) for c in clips]
    reqs = _control_requests(run, clips, gt_raw, rng)
    codes = {task: run.generate(r, EVAL_SEED, guidance, temperature) for task, r in reqs.items()}
    gen = {task: run.decode_many(c) for task, c in codes.items()}
    report = {"clips": len(clips), "unit": "metres, root-relative joints (ric features)"}
    for task, metric_names in (("init_pose", ("recon", "vel")), ("last_pose", ("recon", "vel")), ("key_poses", ("key",))):
        entry = {}
        for name in metric_names:
            label = "dist" if name == "key" else name
            ctrl = np.mean([_pose_errors(g, t, r["frames"], run.cache, name) for g, t, r in zip(gen[task], gt_raw, reqs[task])])
            # text-only: the same frames of the unconditioned-on-poses motion, same clips and seed
            base = np.mean([_pose_errors(g, t, r["frames"], run.cache, name) for g, t, r in zip(gen["text"], gt_raw, reqs[task])])
            entry[label] = {"controlled": round(float(ctrl), 4), "text_only": round(float(base), 4),
                            "reduction": round(float(1 - ctrl / base), 4) if base > 0 else None}
        entry["follows_control"] = {"controlled": follows_controls(codes[task], reqs[task]),
                                    "text_only": follows_controls(codes["text"], reqs[task])}
        entry["tokenizer_limit_at_controlled_frames"] = tokenizer_limits(run, gt_raw, reqs[task])
        report[task] = entry
    return report


def continuation(run: Run, clips: list, guidance: float, temperature: float) -> dict:
    """ADE / FDE of the 2 s after a 2 s observation, vs constant-velocity extrapolation of the observed features."""
    usable = [c for c in clips if c.length // 4 >= PAST_TOKENS + FUTURE_TOKENS]
    if not usable:
        return {"clips": 0}
    gt_raw = [run.cache.features[c.offset:c.offset + 4 * (PAST_TOKENS + FUTURE_TOKENS)] for c in usable]
    reqs = []
    for c, raw in zip(usable, gt_raw):
        past = run.encode(raw[:4 * PAST_TOKENS]).tolist()  # causal encoder: the past alone, as the engine sees it
        reqs.append({"text_emb": text_embedding(c.texts[0], run.table, True), "side": text_side(c.texts[0], run.table), "task": TASKS["continue"],
                     "duration": PAST_TOKENS + FUTURE_TOKENS, "past": past})
    codes = run.generate(reqs, EVAL_SEED, guidance, temperature)
    model_ade, model_fde, cv_ade, cv_fde = [], [], [], []
    split = 4 * PAST_TOKENS
    for raw, decoded in zip(gt_raw, run.decode_many(codes)):
        future = ric(raw[split:], run.cache)
        pred = ric(decoded[split:], run.cache)
        d = np.linalg.norm(pred - future, axis=-1).mean(-1)
        model_ade.append(d.mean())
        model_fde.append(d[-1])
        seen = ric(raw[:split], run.cache)
        steps = np.arange(1, len(future) + 1)[:, None, None]
        cv = seen[-1][None] + steps * (seen[-1] - seen[-2])[None]
        e = np.linalg.norm(cv - future, axis=-1).mean(-1)
        cv_ade.append(e.mean())
        cv_fde.append(e[-1])
    r = lambda v: round(float(np.mean(v)), 4)
    return {"clips": len(usable), "observed_s": PAST_TOKENS / 5, "predicted_s": FUTURE_TOKENS / 5,
            "unit": "metres, root-relative joints (ric features)",
            "model": {"ade": r(model_ade), "fde": r(model_fde)}, "constant_velocity": {"ade": r(cv_ade), "fde": r(cv_fde)}}


def evaluate_run(run_dir: str, cache: FeatureCache, table: EmbeddingTable, pairs: list, limit_clips: int = 0,
                 guidance: float = 2.5, temperature: float = 1.0) -> dict:
    t0 = time.time()
    run = Run(run_dir, cache, table, pairs)
    splits = make_splits(cache, pairs)
    sets = {"test": splits.test, "zeroshot": splits.zeroshot}
    if limit_clips > 0:
        sets = {k: v[:limit_clips] for k, v in sets.items()}
    report = {"space": "features (charades-ric71/1); position-space metrics need the TypeScript inverse",
              "sampling": {"guidance": guidance, "temperature": temperature, "seed": EVAL_SEED},
              "zeroshot_pairs": [{"action": a, "style": s} for a, s in pairs]}
    for name, clips in sets.items():
        if len(clips) < 3:
            raise DataError(f"the {name} set has {len(clips)} clips; evaluation needs at least 3")
        report[name] = {"vq_reconstruction": vq_reconstruction(run, clips),
                        "text_to_motion": text_to_motion(run, clips, guidance, temperature)}
        print(json.dumps({"stage": "evaluate", "set": name, "part": "text_to_motion", "t_s": round(time.time() - t0, 1)}), flush=True)
        report[name]["pose_controls"] = pose_controls(run, clips, guidance, temperature)
        report[name]["continuation"] = continuation(run, clips, guidance, temperature)
        print(json.dumps({"stage": "evaluate", "set": name, "part": "done", "t_s": round(time.time() - t0, 1)}), flush=True)
    report["time_s"] = round(time.time() - t0, 1)
    with open(os.path.join(run_dir, "metrics.json"), "w") as f:
        json.dump(report, f, indent=1)
    print(json.dumps({"stage": "evaluate", "event": "done", **summary(report)}), flush=True)
    return report


def summary(report: dict) -> dict:
    """The headline numbers, flat, for the progress line."""
    out = {}
    for name in ("test", "zeroshot"):
        if name not in report:
            continue
        t2m = report[name]["text_to_motion"]
        gen, gt = t2m["generated"]["descriptions_k4"], t2m["ground_truth"]["descriptions_k4"]
        out[f"{name}_r3_gt"] = gt.get("r_precision_top3")
        out[f"{name}_r3_gen"] = gen.get("r_precision_top3")
        out[f"{name}_r3_gen_k0"] = t2m["generated"]["raw_text_k0"].get("r_precision_top3")
        out[f"{name}_fid"] = gen["fid"]
        pc = report[name]["pose_controls"]
        out[f"{name}_control_reduction"] = [pc["init_pose"]["recon"]["reduction"], pc["last_pose"]["recon"]["reduction"],
                                            pc["key_poses"]["dist"]["reduction"]]
    return out
