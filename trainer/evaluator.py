"""The contrastive evaluator: a motion encoder and a text encoder into one shared space (TMR, Petrovich et al. 2023;
the T2M evaluator of Guo et al. 2022). Its embeddings feed R-precision, FID, MM-Dist, Diversity and MultiModality
(trainer/metrics.py, src/motion/metrics/distribution.ts).

- Motion encoder: normalised 71-d feature frames [B, T, 71] with their lengths → 1D convolutions (two stride-2 stages,
  so 20 fps becomes 5 fps of context) → masked mean pooling over the valid frames → MLP → embedding.
  Every layer re-applies the mask, so a clip's embedding does not depend on how much padding its batch had: batched
  and single-clip (ONNX, B = 1) runs agree.
- Text encoder: a small MLP over the frozen sentence embedding (512-d Universal Sentence Encoder) of the text.
- Both outputs are unit vectors times `scale`: InfoNCE trains on cosine similarity (TMR), and the fixed scale puts
  Euclidean distances (what T2M's metrics use) on a scale near HumanML3D's (Diversity ≈ 9.5), so borrowed
  thresholds such as "FID ≤ 0.5" mean roughly the same thing.

Plain torch (no torch.compile, no scaled_dot_product_attention) so it runs on torch 1.13 and 2.x and exports to ONNX
with the TorchScript exporter.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class EvaluatorConfig:
    feature_dim: int = 71
    text_dim: int = 512
    width: int = 128
    blocks: int = 1  # residual blocks at each resolution (full, /2, /4)
    embed_dim: int = 256
    text_hidden: int = 512
    dropout: float = 0.1
    scale: float = 8.0
    temperature: float = 0.1


def frame_mask(lengths: torch.Tensor, frames: int) -> torch.Tensor:
    """[B, 1, T] float mask, 1 for the first `lengths[b]` frames."""
    return (torch.arange(frames, device=lengths.device)[None, :] < lengths[:, None]).unsqueeze(1).float()


def halve(lengths: torch.Tensor) -> torch.Tensor:
    """Valid length after a stride-2 convolution with kernel 3 and padding 1: ceil(L / 2)."""
    return torch.div(lengths + 1, 2, rounding_mode="floor")


class ResBlock(nn.Module):
    def __init__(self, width: int, dropout: float):
        super().__init__()
        self.conv1 = nn.Conv1d(width, width, 3, padding=1)
        self.conv2 = nn.Conv1d(width, width, 3, padding=1)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = F.gelu(self.conv1(x)) * mask
        h = self.drop(self.conv2(h)) * mask
        return x + h


class MotionEncoder(nn.Module):
    def __init__(self, cfg: EvaluatorConfig):
        super().__init__()
        self.cfg = cfg
        w = cfg.width
        self.inp = nn.Conv1d(cfg.feature_dim, w, 3, padding=1)
        self.downs = nn.ModuleList([nn.Conv1d(w, w, 3, stride=2, padding=1) for _ in range(2)])
        # blocks[0] runs at 20 fps, blocks[1] after the first stride-2 convolution, blocks[2] after the second.
        self.blocks = nn.ModuleList([nn.ModuleList([ResBlock(w, cfg.dropout) for _ in range(cfg.blocks)]) for _ in range(3)])
        self.head = nn.Sequential(nn.LayerNorm(w), nn.Linear(w, w), nn.GELU(), nn.Linear(w, cfg.embed_dim))

    def forward(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """features [B, T, D] normalised, lengths [B] int64 (1 ≤ L ≤ T) → embedding [B, E]."""
        x = features.transpose(1, 2)
        mask = frame_mask(lengths, x.shape[2])
        x = F.gelu(self.inp(x * mask)) * mask
        for level, blocks in enumerate(self.blocks):
            if level > 0:
                lengths = halve(lengths)
                x = F.gelu(self.downs[level - 1](x))
                mask = frame_mask(lengths, x.shape[2])
                x = x * mask
            for block in blocks:
                x = block(x, mask)
        pooled = (x * mask).sum(dim=2) / mask.sum(dim=2).clamp(min=1.0)
        return F.normalize(self.head(pooled), dim=-1) * self.cfg.scale


class TextEncoder(nn.Module):
    def __init__(self, cfg: EvaluatorConfig):
        super().__init__()
        self.cfg = cfg
        self.net = nn.Sequential(nn.Linear(cfg.text_dim, cfg.text_hidden), nn.GELU(), nn.Dropout(cfg.dropout),
                                 nn.Linear(cfg.text_hidden, cfg.embed_dim))

    def forward(self, text_embedding: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.net(text_embedding), dim=-1) * self.cfg.scale


class Evaluator(nn.Module):
    def __init__(self, cfg: EvaluatorConfig):
        super().__init__()
        self.cfg = cfg
        self.motion = MotionEncoder(cfg)
        self.text = TextEncoder(cfg)

    def loss(self, features, lengths, text_embedding, same_text: torch.Tensor) -> torch.Tensor:
        """Symmetric InfoNCE (CLIP / TMR) over the batch. `same_text[i, j]` marks pairs whose texts coincide: those
        off-diagonal "negatives" are really positives (template texts repeat across clips), so they are removed
        from the softmax instead of being pushed apart (TMR's false-negative filtering)."""
        zm = self.motion(features, lengths)
        zt = self.text(text_embedding)
        logits = zm @ zt.t() / (self.cfg.scale ** 2 * self.cfg.temperature)
        eye = torch.eye(len(zm), dtype=torch.bool, device=zm.device)
        logits = logits.masked_fill(same_text & ~eye, float("-inf"))
        target = torch.arange(len(zm), device=zm.device)
        return (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target)) / 2
