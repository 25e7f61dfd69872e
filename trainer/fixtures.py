"""Writes the tiny model version (test/fixtures/tiny-model/) and the ONNX parity fixtures (test/fixtures/parity/)
that the TypeScript engine tests run through onnxruntime-node:

    /usr/bin/python3 -m trainer.fixtures [--cache DIR] [--embeddings DIR] [--run DIR]

Trains the `tiny` config on the real features cache (a synthetic one when the cache is absent), exports it, then
saves fixed inputs with the PyTorch outputs. File format: trainer/ONNX.md, "Parity fixtures".
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys

import numpy as np
import torch

from .data import DEFAULT_CACHE, DEFAULT_EMBEDDINGS, REPO_ROOT, ZEROSHOT_FILE, DataError, load_cache, load_embeddings, \
    load_zeroshot_pairs, make_splits, text_embedding
from .export import GPTGraph, VQDecoderGraph, VQEncoderGraph, export_onnx, training_section, write_manifest
from .gpt import TASKS, empty_past, generate
from .ort import tensor_json
from .tasks import static_pose_window
from .train import load_gpt, load_vq

MODEL_DIR = os.path.join(REPO_ROOT, "test", "fixtures", "tiny-model")
PARITY_DIR = os.path.join(REPO_ROOT, "test", "fixtures", "parity")
GPT_INPUTS = ["tokens", "pos", "text_emb", "text_mask", "task", "duration", "past_key_values"]


def train_tiny(run: str, cache_dir: str, emb_dir: str, zeroshot: str) -> None:
    from .__main__ import main
    common = ["--config", "tiny", "--out", run, "--cache", cache_dir, "--embeddings", emb_dir, "--zeroshot", zeroshot]
    for command in ("vq", "gpt"):
        if main([command] + common) != 0:
            raise DataError(f"tiny training failed at `{command}`")


def _fixture(path: str, model_file: str, inputs: dict, outputs: dict, note: str) -> None:
    with open(path, "w") as f:
        json.dump({"model": model_file, "note": note, "inputs": {k: tensor_json(v) for k, v in inputs.items()},
                   "outputs": {k: tensor_json(v) for k, v in outputs.items()}}, f)


@torch.no_grad()
def write_parity(vq, gpt, cache, table, pairs, out_dir: str) -> None:
    os.makedirs(out_dir, exist_ok=True)
    splits = make_splits(cache, pairs)
    clip = (splits.test or cache.clips)[0]
    raw = cache.features[clip.offset:clip.offset + 40][None].astype(np.float32)
    enc, dec = VQEncoderGraph(vq, cache.mean, cache.std).eval(), VQDecoderGraph(vq, cache.mean, cache.std).eval()
    codes = enc(torch.from_numpy(raw))
    _fixture(os.path.join(out_dir, "vq_encoder.json"), "vq_encoder.onnx", {"features": raw}, {"codes": codes.numpy()},
             f"first 40 raw feature frames of clip {clip.id}; codes must match exactly")
    feats = dec(codes)
    _fixture(os.path.join(out_dir, "vq_decoder.json"), "vq_decoder.onnx", {"codes": codes.numpy()},
             {"features": feats.numpy()}, "max abs diff of features ≤ 1e-4")

    cfg = gpt.cfg
    pose = cache.normalise(cache.features[clip.offset:clip.offset + 1])
    static = torch.from_numpy(static_pose_window(pose, cache) * cache.std + cache.mean)
    control = enc(static.float())[0, 0]  # what the engine computes from a held pose
    emb = text_embedding(clip.texts[0], table, use_descriptions=True).astype(np.float32)
    duration = 20
    tokens = torch.tensor([[(cfg.control_offset + control).tolist(), [cfg.bos] * cfg.num_codebooks]] * 2)
    step0 = {"tokens": tokens, "pos": torch.tensor([[0, 0]] * 2), "text_emb": torch.from_numpy(np.stack([emb, emb])),
             "text_mask": torch.tensor([1.0, 0.0]), "task": torch.full((2,), TASKS["init_pose"]),
             "duration": torch.full((2,), duration), "past_key_values": empty_past(cfg, 2)}
    graph = GPTGraph(gpt).eval()
    logits0, present0 = graph(*[step0[k] for k in GPT_INPUTS])
    _fixture(os.path.join(out_dir, "gpt_step0.json"), "gpt.onnx", {k: v.numpy() for k, v in step0.items()},
             {"logits": logits0.numpy(), "present_key_values": present0.numpy()},
             "prefill [init-pose control, bos], batch row 0 conditional, row 1 unconditional, empty past; "
             "argmax(logits) must match exactly")
    nxt = logits0[0, -1].argmax(-1)  # [K]
    step1 = dict(step0, tokens=nxt[None, None].repeat(2, 1, 1), pos=torch.tensor([[1]] * 2), past_key_values=present0)
    logits1, present1 = graph(*[step1[k] for k in GPT_INPUTS])
    _fixture(os.path.join(out_dir, "gpt_step1.json"), "gpt.onnx", {k: v.numpy() for k, v in step1.items()},
             {"logits": logits1.numpy(), "present_key_values": present1.numpy()},
             "second step: m_0 = argmax of step 0 row 0, fed with step 0's present_key_values")
    greedy = generate(gpt, duration, emb, task=TASKS["init_pose"], controls=[(control.tolist(), 0)], temperature=0,
                      guidance=2.5)
    with open(os.path.join(out_dir, "gpt_greedy.json"), "w") as f:
        json.dump({"model": "gpt.onnx", "note": "the whole decoding loop of trainer/ONNX.md: temperature 0 (argmax), "
                   "guidance 2.5 (rows: text_mask 1 then 0, logits u + 2.5·(c − u)), init-pose control",
                   "request": {"text_emb": emb.tolist(), "task": TASKS["init_pose"], "duration": duration,
                               "controls": [{"codes": control.tolist(), "pos": 0}], "guidance": 2.5,
                               "temperature": 0},
                   "codes": greedy.tolist()}, f)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m trainer.fixtures", description=__doc__)
    p.add_argument("--cache", default=DEFAULT_CACHE)
    p.add_argument("--embeddings", default=DEFAULT_EMBEDDINGS)
    p.add_argument("--zeroshot", default=ZEROSHOT_FILE)
    p.add_argument("--run", default=os.path.join(REPO_ROOT, "trainer", "runs", "tiny-fixture"))
    p.add_argument("--model-dir", default=MODEL_DIR)
    p.add_argument("--parity-dir", default=PARITY_DIR)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    try:
        train_tiny(args.run, args.cache, args.embeddings, args.zeroshot)
        cache, table = load_cache(args.cache), load_embeddings(args.embeddings)
        pairs = load_zeroshot_pairs(args.zeroshot)
        (vq, vq_ck), (gpt, gpt_ck) = load_vq(args.run), load_gpt(args.run)
        if os.path.exists(args.model_dir):
            shutil.rmtree(args.model_dir)
        onnx_section = export_onnx(vq, gpt, cache.mean, cache.std, args.model_dir)
        write_manifest(args.model_dir, "tiny-fixture", vq, gpt, cache, table, onnx_section,
                       training_section(args.run, vq_ck, gpt_ck, cache, pairs),
                       {"note": "tiny CI model for parity tests; not for use"})
        write_parity(vq, gpt, cache, table, pairs, args.parity_dir)
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    size = sum(os.path.getsize(os.path.join(args.model_dir, f)) for f in os.listdir(args.model_dir))
    print(json.dumps({"stage": "fixtures", "event": "done", "model_dir": args.model_dir, "bytes": size}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
