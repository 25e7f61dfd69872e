"""Plain dataclass configs: `tiny` (CI, < 1 min), `small`, `full` (the committed model, sized for this 2-core CPU),
or a JSON file {"vq": {...}, "gpt": {...}, "train": {...}} whose keys override `full`'s."""
from __future__ import annotations

import copy
import json
import os
from dataclasses import asdict, dataclass, field, fields

from .data import DataError
from .gpt import GPTConfig
from .vqvae import VQConfig


@dataclass
class TrainConfig:
    seed: int = 0
    vq_steps: int = 3000
    vq_batch: int = 32
    vq_window: int = 64  # feature frames, a multiple of 4
    vq_lr: float = 3e-4
    gpt_steps: int = 4000
    gpt_batch: int = 32
    gpt_lr: float = 3e-4
    warmup: int = 100
    weight_decay: float = 0.01
    mirror_prob: float = 0.5
    vq_time_budget_s: float = 0.0  # > 0: stop the stage early when the budget is spent (recorded in the manifest)
    gpt_time_budget_s: float = 0.0
    log_every: int = 25
    ckpt_every: int = 200
    eval_batches: int = 8
    max_train_clips: int = 0  # > 0: train on the first N train clips only (CI)
    gpt_init: str = ""  # a gpt.pt to start the GPT from (fine-tuning: its weights only, a fresh optimizer and schedule)
    # A published model folder this run continues (`python -m trainer import`): the export keeps its feature
    # normalisation and ships its evaluator, so best of N ranks with the judge users already had (export.export_run).
    base_model: str = ""
    pin_controls: bool = False  # tasks.ControlTraining: the pinned target is the control code itself
    control_loss_weight: float = 1.0  # cross-entropy weight of the pinned positions
    control_task_scale: float = 1.0  # sampling weight multiplier of the init / last / key-pose tasks
    packs: str = ""  # comma-separated data packs to train on (empty = every pack in the cache); see data.filter_packs
    balance: float = 0.0  # share of each batch drawn with equal mass per (pack, action label); see data.balanced_weights
    floor_weight: float = 1.0  # sampling weight multiplier of the clips that reach floor level (data.balanced_weights)
    paraphrases: bool = False  # train on the paraphrase sets of the embedding table as well as the clips' own texts
    paraphrase_prob: float = 0.3  # with paraphrases: share of text-conditioned examples called by a paraphrase
    side_signal: bool = False  # condition on the side (left / right) parsed from the text, next to its embedding


@dataclass
class Config:
    name: str = "full"
    vq: VQConfig = field(default_factory=VQConfig)
    gpt: GPTConfig = field(default_factory=GPTConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict:
        return {"name": self.name, "vq": asdict(self.vq), "gpt": asdict(self.gpt), "train": asdict(self.train)}


def _presets() -> dict:
    # Pose controls (trainer/README.md, "Pose controls"): controls share the motion codes' embeddings, the pinned
    # target is the control code, weighted ×4, and the control tasks are sampled 1.6× as often.
    controls = dict(pin_controls=True, control_loss_weight=4.0, control_task_scale=1.6)
    # Acting fidelity: every phrasing, both sides, the rare actions (trainer/README.md, "Data, phrasings, sides").
    fidelity = dict(balance=0.5, paraphrases=True, side_signal=True)
    tiny = Config("tiny", VQConfig(width=32, depth=1, code_dim=32, codebook_size=64),
                  GPTConfig(codebook_size=64, n_layer=2, n_head=2, n_embd=64, dropout=0.0, tied_controls=True,
                            side_signal=True),
                  TrainConfig(vq_steps=120, vq_batch=16, vq_window=32, vq_lr=2e-3, gpt_steps=120, gpt_batch=16,
                              gpt_lr=2e-3, warmup=10, log_every=20, ckpt_every=60, eval_batches=2,
                              max_train_clips=120, **controls, **fidelity))
    small = Config("small", VQConfig(width=128, depth=2, code_dim=128, codebook_size=512),
                   GPTConfig(n_layer=4, n_head=4, n_embd=128, tied_controls=True, side_signal=True),
                   TrainConfig(vq_steps=1500, vq_batch=32, gpt_steps=1500, gpt_batch=32, vq_lr=1e-3, gpt_lr=6e-4,
                               **controls, **fidelity))
    # Sized for ~60 min on one core of this machine (measured 0.14 s/VQ step and 0.37 s/GPT step on a quiet core, up
    # to 1 s under load); the time budgets stop a slower run in time and the learning rate anneals by time as well.
    # The GPT gets 6,000 steps: paraphrases and balanced batches spread it over more texts than the 5,000-step model.
    full = Config("full", VQConfig(width=192, depth=2, code_dim=192, codebook_size=512),
                  GPTConfig(n_layer=4, n_head=4, n_embd=256, tied_controls=True, side_signal=True),
                  TrainConfig(vq_steps=6000, vq_batch=32, gpt_steps=6000, gpt_batch=32, vq_lr=6e-4, gpt_lr=5e-4,
                              vq_time_budget_s=1200, gpt_time_budget_s=2700, packs="motion,cmu", **controls, **fidelity))
    return {"tiny": tiny, "small": small, "full": full}


def _override(obj, values: dict, where: str):
    names = {f.name for f in fields(obj)}
    for key, value in values.items():
        if key not in names:
            raise DataError(f"{where}: unknown key '{key}' (known: {', '.join(sorted(names))})")
        current = getattr(obj, key)
        if isinstance(current, (int, float)) and not isinstance(value, (int, float)) or isinstance(value, bool) != isinstance(current, bool):
            raise DataError(f"{where}: '{key}' must be a {type(current).__name__}, got {value!r}")
        setattr(obj, key, type(current)(value))


def load_config(name_or_path: str) -> Config:
    presets = _presets()
    if name_or_path in presets:
        return presets[name_or_path]
    if not name_or_path.endswith(".json"):
        raise DataError(f"--config: '{name_or_path}' is neither a preset ({', '.join(presets)}) nor a .json file")
    if not os.path.exists(name_or_path):
        raise DataError(f"--config: file not found: {name_or_path}")
    try:
        with open(name_or_path) as f:
            raw = json.load(f)
    except json.JSONDecodeError as e:
        raise DataError(f"{name_or_path}: not valid JSON ({e.msg} at line {e.lineno})") from None
    if not isinstance(raw, dict):
        raise DataError(f"{name_or_path}: expected a JSON object with 'vq', 'gpt' and/or 'train'")
    base = raw.get("base", "full")
    if base not in presets:
        raise DataError(f"{name_or_path}: 'base' must be one of {', '.join(presets)}, got {base!r}")
    cfg = copy.deepcopy(presets[base])
    cfg.name = str(raw.get("name", os.path.splitext(os.path.basename(name_or_path))[0]))
    for section in ("vq", "gpt", "train"):
        _override(getattr(cfg, section), raw.get(section, {}), f"{name_or_path} → {section}")
    unknown = set(raw) - {"name", "base", "vq", "gpt", "train"}
    if unknown:
        raise DataError(f"{name_or_path}: unknown top-level keys {sorted(unknown)} (use name, base, vq, gpt, train)")
    return cfg


def config_from_dict(d: dict) -> Config:
    """The config a checkpoint was trained with (stored by the trainer, so no validation beyond construction)."""
    return Config(d["name"], VQConfig(**d["vq"]), GPTConfig(**d["gpt"]), TrainConfig(**d["train"]))
