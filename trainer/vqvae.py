"""Causal motion VQ-VAE (PoseGPT): latent t depends only on feature frames ≤ 4t+3, so any observed past can be
encoded and continued. Temporal downsampling 4 (20 fps → 5 tokens/s), EMA codebooks with dead-code reset, optional
product quantization (K codebooks over slices of the latent), commitment loss, reconstruction + velocity loss.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class VQConfig:
    dim: int = 71  # feature dim (from the cache)
    width: int = 256
    depth: int = 2  # residual blocks per resolution
    code_dim: int = 256
    codebook_size: int = 512
    num_codebooks: int = 1  # K > 1 = product quantization
    downsample: int = 4  # fixed: two stride-2 stages
    ema_decay: float = 0.99
    dead_threshold: float = 0.1  # EMA hits per batch below which a code is re-seeded (~230 steps unused at 0.99)
    commit_weight: float = 0.02
    vel_weight: float = 0.5


class CausalConv1d(nn.Module):
    """Left-padded conv: output t sees inputs ≤ t·stride + (stride − 1). Padding repeats the first frame, so a
    static pose encodes as if the body had always stood that way (how pose controls are encoded)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, dilation: int = 1):
        super().__init__()
        self.pad = (kernel - 1) * dilation - (stride - 1)
        self.conv = nn.Conv1d(cin, cout, kernel, stride=stride, dilation=dilation)

    def forward(self, x):
        return self.conv(F.pad(x, (self.pad, 0), mode="replicate"))


class CausalResBlock(nn.Module):
    def __init__(self, width: int, dilation: int):
        super().__init__()
        self.c1 = CausalConv1d(width, width, 3, dilation=dilation)
        self.c2 = nn.Conv1d(width, width, 1)

    def forward(self, x):
        return x + self.c2(F.relu(self.c1(F.relu(x))))


class ResBlock(nn.Module):
    def __init__(self, width: int, dilation: int):
        super().__init__()
        self.c1 = nn.Conv1d(width, width, 3, padding=dilation, dilation=dilation)
        self.c2 = nn.Conv1d(width, width, 1)

    def forward(self, x):
        return x + self.c2(F.relu(self.c1(F.relu(x))))


class Encoder(nn.Module):
    def __init__(self, cfg: VQConfig):
        super().__init__()
        layers = [CausalConv1d(cfg.dim, cfg.width, 3), nn.ReLU()]
        for _ in range(2):  # two stride-2 stages = downsample 4
            layers.append(CausalConv1d(cfg.width, cfg.width, 4, stride=2))
            layers += [CausalResBlock(cfg.width, 3 ** d) for d in range(cfg.depth)]
        layers += [nn.ReLU(), CausalConv1d(cfg.width, cfg.code_dim, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x):  # [B, T, dim] -> [B, T/4, code_dim]
        return self.net(x.transpose(1, 2)).transpose(1, 2)


class Decoder(nn.Module):
    """Not causal: decoding sees the whole code sequence (only the encoder must be causal for continuation)."""

    def __init__(self, cfg: VQConfig):
        super().__init__()
        layers = [nn.Conv1d(cfg.code_dim, cfg.width, 3, padding=1)]
        for _ in range(2):
            layers += [ResBlock(cfg.width, 3 ** d) for d in reversed(range(cfg.depth))]
            layers += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv1d(cfg.width, cfg.width, 3, padding=1)]
        layers += [nn.ReLU(), nn.Conv1d(cfg.width, cfg.dim, 3, padding=1)]
        self.net = nn.Sequential(*layers)

    def forward(self, z):  # [B, N, code_dim] -> [B, 4N, dim]
        return self.net(z.transpose(1, 2)).transpose(1, 2)


class EMACodebook(nn.Module):
    """One codebook updated by exponential moving averages (no codebook gradient), re-seeding dead codes from
    the current batch's latents so the whole codebook stays in use."""

    def __init__(self, size: int, dim: int, decay: float, dead_threshold: float):
        super().__init__()
        self.size, self.decay, self.dead_threshold = size, decay, dead_threshold
        self.register_buffer("embed", torch.randn(size, dim) * 0.01)
        self.register_buffer("cluster_size", torch.ones(size))
        self.register_buffer("embed_sum", self.embed.clone())
        self.register_buffer("initialised", torch.tensor(0))

    def nearest(self, z):  # z [M, d] -> indices [M]
        d = (z * z).sum(-1, keepdim=True) - 2 * z @ self.embed.t() + (self.embed * self.embed).sum(-1)[None]
        return d.argmin(-1)

    def lookup(self, idx):
        return F.embedding(idx, self.embed)

    @torch.no_grad()
    def update(self, z, idx):
        if int(self.initialised) == 0:
            self._seed(z, torch.ones(self.size, dtype=torch.bool, device=z.device))
            self.initialised.fill_(1)
            return
        onehot = F.one_hot(idx, self.size).type(z.dtype)
        self.cluster_size.mul_(self.decay).add_(onehot.sum(0), alpha=1 - self.decay)
        self.embed_sum.mul_(self.decay).add_(onehot.t() @ z, alpha=1 - self.decay)
        n = self.cluster_size.sum()
        smoothed = (self.cluster_size + 1e-5) / (n + self.size * 1e-5) * n
        self.embed.copy_(self.embed_sum / smoothed[:, None])
        self._seed(z, self.cluster_size < self.dead_threshold)

    def _seed(self, z, which):
        count = int(which.sum())
        if count == 0:
            return
        pick = torch.randint(0, z.shape[0], (count,), device=z.device)
        fresh = z[pick] + 1e-3 * torch.randn_like(z[pick])
        self.embed[which] = fresh
        self.embed_sum[which] = fresh
        self.cluster_size[which] = 1.0


class Quantizer(nn.Module):
    """K codebooks over K equal slices of the latent (product quantization; K = 1 is plain VQ)."""

    def __init__(self, cfg: VQConfig):
        super().__init__()
        if cfg.code_dim % cfg.num_codebooks:
            raise ValueError(f"vq.code_dim {cfg.code_dim} is not divisible by vq.num_codebooks {cfg.num_codebooks}")
        self.k, self.sub = cfg.num_codebooks, cfg.code_dim // cfg.num_codebooks
        self.books = nn.ModuleList(EMACodebook(cfg.codebook_size, self.sub, cfg.ema_decay, cfg.dead_threshold)
                                   for _ in range(cfg.num_codebooks))

    def encode(self, z):  # [B, N, code_dim] -> [B, N, K] int64
        parts = z.reshape(z.shape[0], z.shape[1], self.k, self.sub)
        return torch.stack([book.nearest(parts[:, :, i].reshape(-1, self.sub)).reshape(z.shape[0], z.shape[1])
                            for i, book in enumerate(self.books)], dim=-1)

    def decode(self, codes):  # [B, N, K] -> [B, N, code_dim]
        return torch.cat([book.lookup(codes[..., i]) for i, book in enumerate(self.books)], dim=-1)

    def forward(self, z):
        codes = self.encode(z)
        if self.training:
            flat = z.detach().reshape(-1, self.k, self.sub)
            for i, book in enumerate(self.books):
                book.update(flat[:, i], codes.reshape(-1, self.k)[:, i])
            codes = self.encode(z)
        zq = self.decode(codes)
        commit = F.mse_loss(z, zq.detach())
        return z + (zq - z).detach(), codes, commit


class VQVAE(nn.Module):
    def __init__(self, cfg: VQConfig, ric_slice=(4, 67)):
        super().__init__()
        if cfg.downsample != 4:
            raise ValueError(f"vq.downsample must be 4 (two stride-2 stages), got {cfg.downsample}")
        self.cfg, self.ric = cfg, tuple(ric_slice)
        self.encoder, self.quantizer, self.decoder = Encoder(cfg), Quantizer(cfg), Decoder(cfg)

    def forward(self, x):
        """x: normalised features [B, T, dim], T a multiple of 4. Returns (reconstruction, codes, losses)."""
        zq, codes, commit = self.quantizer(self.encoder(x))
        rec = self.decoder(zq)
        a, b = self.ric
        recon = F.smooth_l1_loss(rec, x)
        vel = F.smooth_l1_loss(rec[:, 1:, a:b] - rec[:, :-1, a:b], x[:, 1:, a:b] - x[:, :-1, a:b])
        loss = recon + self.cfg.vel_weight * vel + self.cfg.commit_weight * commit
        return rec, codes, {"loss": loss, "recon": recon, "vel": vel, "commit": commit}

    @torch.no_grad()
    def encode(self, x):
        return self.quantizer.encode(self.encoder(x))

    @torch.no_grad()
    def decode(self, codes):
        return self.decoder(self.quantizer.decode(codes))


def codebook_stats(codes: torch.Tensor, size: int) -> dict:
    """Fraction of codes used and perplexity (exp entropy of the code histogram), per codebook then averaged."""
    usage, perplexity = [], []
    flat = codes.reshape(-1, codes.shape[-1])
    for k in range(flat.shape[1]):
        counts = torch.bincount(flat[:, k], minlength=size).float()
        p = counts / counts.sum()
        usage.append(float((counts > 0).float().mean()))
        perplexity.append(float(torch.exp(-(p[p > 0] * p[p > 0].log()).sum())))
    return {"usage": sum(usage) / len(usage), "perplexity": sum(perplexity) / len(perplexity)}
