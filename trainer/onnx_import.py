"""A published model back into a run folder: vq.pt + gpt.pt rebuilt from its ONNX files.

A published version keeps only ONNX, so without this a model can be fine-tuned only on the machine that trained it.
The exporter runs with constant folding, which keeps parameters under their module names except the Linear weights
inside the blocks and the head (folded into transposed MatMul constants, named onnx::MatMul_N) and the null text
vector (folded into a [1, C] Mul constant); those are recovered from the graph in the order the blocks use them.

The VQ-VAE is re-expressed in this cache's normalisation: the published encoder normalised with the manifest's
mean/std, this cache may have another (more packs), and the training code normalises with the cache's. An affine
change per channel folds exactly into the first encoder convolution (its padding replicates the first frame, so the
padded frames transform too) and the last decoder convolution, so the rebuilt VQ maps raw features to the same codes.
"""
from __future__ import annotations

import json
import os

import numpy as np
import torch

from .config import config_from_dict
from .data import DataError, FeatureCache
from .gpt import MotionGPT
from .vqvae import VQVAE


def onnx_constants(path: str) -> tuple:
    """(initializers {name: array} in file order, the ONNX graph)."""
    import onnx
    from onnx import numpy_helper
    if not os.path.exists(path):
        raise DataError(f"{path} not found: is this a published model folder?")
    model = onnx.load(path)
    return {i.name: numpy_helper.to_array(i).copy() for i in model.graph.initializer}, model.graph


def _assign(module: torch.nn.Module, values: dict, where: str) -> None:
    state = module.state_dict()
    for name, value in values.items():
        if name not in state:
            raise DataError(f"{where}: {name} is not a parameter of the model the manifest describes")
        if tuple(state[name].shape) != tuple(value.shape):
            raise DataError(f"{where}: {name} is {tuple(value.shape)}, the model needs {tuple(state[name].shape)}")
        state[name] = torch.from_numpy(np.ascontiguousarray(value)).to(state[name].dtype)
    module.load_state_dict(state)


def _prefixed(constants: dict, prefix: str) -> dict:
    return {name[len(prefix):]: v for name, v in constants.items() if name.startswith(prefix)}


def import_vq(folder: str, cfg, cache: FeatureCache) -> VQVAE:
    enc, _ = onnx_constants(os.path.join(folder, "vq_encoder.onnx"))
    dec, _ = onnx_constants(os.path.join(folder, "vq_decoder.onnx"))
    mean, std = enc["mean"].astype(np.float64), enc["std"].astype(np.float64)
    if mean.shape != (cache.dim,):
        raise DataError(f"{folder}: the model's features are {mean.shape[0]}-d, the cache's {cache.dim}-d")
    vq = VQVAE(cfg, cache.slices.get("ric", (4, 67)))
    weights = {f"encoder.{k}": v for k, v in _prefixed(enc, "vq.encoder.").items()}
    weights.update({f"decoder.{k}": v for k, v in _prefixed(dec, "vq.decoder.").items()})
    fold_normalisation(weights, mean, std, cache.mean, cache.std)
    books = _prefixed(dec, "vq.quantizer.books.")
    for i in range(cfg.num_codebooks):
        embed = books.get(f"{i}.embed")
        if embed is None:
            raise DataError(f"{folder}/vq_decoder.onnx: codebook {i} is missing")
        # The EMA statistics are not published; these make a further VQ step continue from the codebook as it is.
        weights.update({f"quantizer.books.{i}.embed": embed, f"quantizer.books.{i}.embed_sum": embed,
                        f"quantizer.books.{i}.cluster_size": np.ones(embed.shape[0], np.float32),
                        f"quantizer.books.{i}.initialised": np.array(1)})
    missing = set(vq.state_dict()) - set(weights)
    if missing:
        raise DataError(f"{folder}: the VQ-VAE's ONNX files lack {sorted(missing)[:4]}")
    _assign(vq, weights, folder)
    return vq.eval()


def last_decoder_conv(weights: dict) -> str:
    return max((k[:-len(".weight")] for k in weights if k.startswith("decoder.net.") and k.endswith(".weight")),
               key=lambda k: int(k.split(".")[2]))


def fold_normalisation(weights: dict, mean_from, std_from, mean_to, std_to) -> None:
    """A VQ-VAE's weights that normalise with (mean_from, std_from), changed in place to take and give features
    normalised with (mean_to, std_to): x_from = x_to · std_to/std_from + (mean_to − mean_from)/std_from, per channel,
    folded into the first encoder and the last decoder convolution."""
    mean_from, std_from, mean_to, std_to = (np.asarray(x, np.float64) for x in (mean_from, std_from, mean_to, std_to))
    first, last = "encoder.net.0.conv", last_decoder_conv(weights)
    scale = std_to / std_from
    shift = (mean_to - mean_from) / std_from
    w, b = weights[f"{first}.weight"].astype(np.float64), weights[f"{first}.bias"].astype(np.float64)
    weights[f"{first}.bias"] = (b + np.einsum("oik,i->o", w, shift)).astype(np.float32)
    weights[f"{first}.weight"] = (w * scale[None, :, None]).astype(np.float32)
    w, b = weights[f"{last}.weight"].astype(np.float64), weights[f"{last}.bias"].astype(np.float64)
    weights[f"{last}.weight"] = (w / scale[:, None, None]).astype(np.float32)
    weights[f"{last}.bias"] = ((b - shift) / scale).astype(np.float32)


def renormalised(vq: VQVAE, mean_from, std_from, mean_to, std_to) -> VQVAE:
    """A copy of `vq` (trained on features normalised with mean_from/std_from) that takes and gives features
    normalised with mean_to/std_to: the same codes and the same raw features."""
    weights = {k: v.detach().numpy().copy() for k, v in vq.state_dict().items()}
    fold_normalisation(weights, mean_from, std_from, mean_to, std_to)
    out = VQVAE(vq.cfg, vq.ric)
    _assign(out, weights, "renormalised VQ-VAE")
    return out.eval()


def import_gpt(folder: str, cfg) -> MotionGPT:
    constants, graph = onnx_constants(os.path.join(folder, "gpt.onnx"))
    gpt = MotionGPT(cfg)
    weights = _prefixed(constants, "gpt.")
    linears = [f"blocks.{i}.{name}" for i in range(cfg.n_layer) for name in ("attn.qkv", "attn.proj", "mlp.0", "mlp.2")]
    linears.append("head")
    matmuls = [n.input[1] for n in graph.node if n.op_type == "MatMul" and n.input[1] in constants
               and n.input[1] not in weights]
    matmuls = list(dict.fromkeys(matmuls))  # a constant used twice is one parameter
    if len(matmuls) != len(linears):
        raise DataError(f"{folder}/gpt.onnx: {len(matmuls)} folded weight matrices, the model has {len(linears)}")
    for name, const in zip(linears, matmuls):
        weights[f"{name}.weight"] = constants[const].T
    folded = [n.input[1] for n in graph.node if n.op_type == "Mul" and n.input[1] in constants
              and constants[n.input[1]].shape == (1, cfg.n_embd)]
    if "null_text" not in weights:
        if len(set(folded)) != 1:
            raise DataError(f"{folder}/gpt.onnx: cannot find the null text vector ({len(set(folded))} candidates)")
        weights["null_text"] = constants[folded[0]][0]
    missing = set(gpt.state_dict()) - set(weights)
    if missing:
        raise DataError(f"{folder}/gpt.onnx lacks {sorted(missing)[:4]}")
    _assign(gpt, {k: v for k, v in weights.items() if k in gpt.state_dict()}, folder)
    return gpt.eval()


def import_model(folder: str, cache: FeatureCache, out: str) -> dict:
    """Writes out/vq.pt and out/gpt.pt as finished checkpoints of the published model in `folder`."""
    manifest_path = os.path.join(folder, "manifest.json")
    if not os.path.exists(manifest_path):
        raise DataError(f"{manifest_path} not found: pass a model folder such as models/<version>")
    with open(manifest_path) as f:
        manifest = json.load(f)
    training = manifest.get("training", {})
    if "config" not in training:
        raise DataError(f"{manifest_path}: no training.config, so the model's shape is unknown")
    cfg = config_from_dict(training["config"])
    cfg.vq.dim = cache.dim
    vq, gpt = import_vq(folder, cfg.vq, cache), import_gpt(folder, cfg.gpt)
    os.makedirs(out, exist_ok=True)
    version = manifest.get("version", os.path.basename(os.path.abspath(folder)))
    steps, times = training.get("steps", {}), training.get("time_s", {})
    losses = training.get("finalLosses", {})
    from .train import _optimizer  # the trainer's parameter groups, so `--resume` reads the checkpoint as its own
    for stage, model in (("vq", vq), ("gpt", gpt)):
        opt = _optimizer(model, 1e-4, cfg.train.weight_decay)
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "config": cfg.to_dict(),
                    "step": int(steps.get(stage, 0)), "time_s": float(times.get(stage, 0.0)), "done": True,
                    "stopped_early": bool(training.get("stoppedEarly", {}).get(stage, False)),
                    "history": [losses[stage]] if losses.get(stage) else [], "imported_from": version},
                   os.path.join(out, f"{stage}.pt"))
    record = {"stage": "import", "event": "done", "from": version, "out": out}
    print(json.dumps(record), flush=True)
    return record
