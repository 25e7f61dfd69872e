"""Generator GPT over motion tokens (one readable file, nanoGPT style).

One sequence = an instruction (MotionGPT) followed by the motion:

    [control_1 … control_C] [BOS] [m_0 … m_{N-2}]      → predicts m_0 … m_{N-1}

Token ids per codebook: 0..V-1 motion codes, V..2V-1 the same codes used as *controls* (VQ codes of given poses),
2V = BOS, 2V+1 = PAD. With `tied_controls` a control V+c is embedded as motion code c plus a learned "control" vector
(its own rows V..2V-1 are then unused): a separate row per control code was trained only by the few control samples
that happen to use that code, so the model barely knew what most control codes meant. Every position also carries a time index `pos` in motion-token units: BOS is 0, the input m_i
is i+1 (the input at time p predicts m_p), a control is placed at the time p of the motion token it pins. The
condition — aggregated text embedding (or a learned null vector, for classifier-free guidance), the task and the
target duration N — is added at every step (PoseGPT found that better than a single prefix), and so is the number
of tokens still to come (N − pos), which tells the model when the motion must end.
With K product-quantized codebooks the K codes of a step are embedded and summed, and K heads predict them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

TASKS = {"text": 0, "init_pose": 1, "last_pose": 2, "key_poses": 3, "continue": 4, "action_duration": 5}
# The side the request's words name (src/motion/text/side.ts parses it; the ids are baked into the weights).
SIDES = {"none": 0, "left": 1, "right": 2, "both": 3}


@dataclass
class GPTConfig:
    codebook_size: int = 512
    num_codebooks: int = 1
    text_dim: int = 512
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 256
    max_tokens: int = 60  # 12 s at 5 tokens/s (LIMITS.maxSegmentSeconds)
    dropout: float = 0.1
    cond_drop: float = 0.1  # probability of the null text condition in training (classifier-free guidance)
    tied_controls: bool = False  # False = the first committed model's separate control rows (old checkpoints)
    side_signal: bool = False  # a learned side embedding joins the text condition (models before it have none)

    @property
    def bos(self) -> int:
        return 2 * self.codebook_size

    @property
    def pad(self) -> int:
        return 2 * self.codebook_size + 1

    @property
    def control_offset(self) -> int:
        return self.codebook_size

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head


class SelfAttention(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.n_head, self.hd = cfg.n_head, cfg.head_dim
        self.qkv = nn.Linear(cfg.n_embd, 3 * cfg.n_embd)
        self.proj = nn.Linear(cfg.n_embd, cfg.n_embd)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x, allowed, past_kv=None):
        """x [B,T,C]; allowed [B or 1, T, P+T] bool; past_kv [2,B,H,P,hd] or None. Returns (y, present [2,B,H,P+T,hd])."""
        b, t, c = x.shape
        q, k, v = self.qkv(x).split(c, dim=2)
        q, k, v = (z.view(b, t, self.n_head, self.hd).transpose(1, 2) for z in (q, k, v))
        if past_kv is not None:
            k = torch.cat([past_kv[0], k], dim=2)
            v = torch.cat([past_kv[1], v], dim=2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(self.hd))
        att = att.masked_fill(~allowed[:, None], -1e9)
        att = self.drop(F.softmax(att, dim=-1))
        y = (att @ v).transpose(1, 2).reshape(b, t, c)
        return self.drop(self.proj(y)), torch.stack([k, v])


class Block(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(cfg.n_embd), nn.LayerNorm(cfg.n_embd)
        self.attn = SelfAttention(cfg)
        self.mlp = nn.Sequential(nn.Linear(cfg.n_embd, 4 * cfg.n_embd), nn.GELU(), nn.Linear(4 * cfg.n_embd, cfg.n_embd),
                                 nn.Dropout(cfg.dropout))

    def forward(self, x, allowed, past_kv=None):
        a, present = self.attn(self.ln1(x), allowed, past_kv)
        x = x + a
        return x + self.mlp(self.ln2(x)), present


class MotionGPT(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.cfg = cfg
        vocab_in = 2 * cfg.codebook_size + 2
        self.tok = nn.ModuleList(nn.Embedding(vocab_in, cfg.n_embd) for _ in range(cfg.num_codebooks))
        self.pos = nn.Embedding(cfg.max_tokens + 1, cfg.n_embd)
        self.remaining = nn.Embedding(cfg.max_tokens + 1, cfg.n_embd)
        self.duration = nn.Embedding(cfg.max_tokens + 1, cfg.n_embd)
        self.task = nn.Embedding(len(TASKS), cfg.n_embd)
        self.text = nn.Linear(cfg.text_dim, cfg.n_embd)
        self.null_text = nn.Parameter(torch.zeros(cfg.n_embd))
        if cfg.side_signal:
            # USE puts "left hand" and "right hand" almost on one point; an explicit side keeps them apart.
            self.side = nn.Embedding(len(SIDES), cfg.n_embd)
        if cfg.tied_controls:
            self.control = nn.Parameter(torch.zeros(cfg.n_embd))
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd)
        self.head = nn.Linear(cfg.n_embd, cfg.num_codebooks * cfg.codebook_size, bias=False)
        self.apply(self._init)

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def condition(self, text_emb, text_mask, task, duration, side=None):
        """[B, C]: what is added at every step. text_mask 0 = unconditional (null text) for guidance; the side is part
        of the text condition, so guidance amplifies it along with the words."""
        m = text_mask[:, None]
        said = self.text(text_emb)
        if self.cfg.side_signal:
            said = said + self.side(side if side is not None else torch.zeros_like(task))
        text = m * said + (1 - m) * self.null_text[None]
        return text + self.task(task) + self.duration(duration.clamp(0, self.cfg.max_tokens))

    def embed(self, tokens, pos, cond, duration):
        pos = pos.clamp(0, self.cfg.max_tokens)
        x = 0
        if self.cfg.tied_controls:
            v = self.cfg.codebook_size
            is_control = (tokens >= v) & (tokens < 2 * v)  # all K entries of a step are of one kind
            tokens = torch.where(is_control, tokens - v, tokens)
            x = is_control[..., :1].float() * self.control
        x = x + sum(emb(tokens[..., k]) for k, emb in enumerate(self.tok))
        remaining = (duration[:, None] - pos).clamp(0, self.cfg.max_tokens)
        return x + self.pos(pos) + self.remaining(remaining) + cond[:, None]

    def forward(self, tokens, pos, text_emb, text_mask, task, duration, allowed=None, past_key_values=None, side=None):
        """tokens [B,T,K] int64, pos [B,T] int64, text_emb [B,E], text_mask [B] float, task/duration [B] int64.
        allowed: [B,T,T] bool attention mask for training (padding); None = causal over past + new tokens.
        past_key_values: [L,2,B,H,P,hd] or None; side [B] int64 (SIDES) or None = none.
        Returns logits [B,T,K,V] and present [L,2,B,H,P+T,hd]."""
        cond = self.condition(text_emb, text_mask, task, duration, side)
        x = self.drop(self.embed(tokens, pos, cond, duration))
        if allowed is None:
            allowed = causal_mask(tokens.shape[1], 0 if past_key_values is None else past_key_values.shape[4], x.device)
        presents = []
        for i, block in enumerate(self.blocks):
            x, present = block(x, allowed, None if past_key_values is None else past_key_values[i])
            presents.append(present)
        logits = self.head(self.ln_f(x))
        b, t = tokens.shape[:2]
        return logits.view(b, t, self.cfg.num_codebooks, self.cfg.codebook_size), torch.stack(presents)


def causal_mask(t: int, past: int, device=None):
    """[1, T, P+T]: new token i sees every past entry and new tokens ≤ i."""
    q = torch.arange(t, device=device)[:, None] + past
    k = torch.arange(past + t, device=device)[None, :]
    return (k <= q)[None]


def empty_past(cfg: GPTConfig, batch: int) -> torch.Tensor:
    return torch.zeros(cfg.n_layer, 2, batch, cfg.n_head, 0, cfg.head_dim)


@torch.no_grad()
def generate(model: MotionGPT, duration: int, text_emb, task: int = TASKS["text"], controls=(), past_codes=None,
             temperature: float = 1.0, guidance: float = 1.0, top_k: int = 0, use_text: bool = True, generator=None,
             side: int = 0):
    """Reference decoding loop for one request (the engine implements the same, see trainer/ONNX.md).
    controls: [(codes [K], target time p)]; past_codes [P, K] = the given start of the motion (continue task).
    guidance s > 1 runs a null-text twin in the batch and samples from u + s·(c − u). Returns codes [duration, K]."""
    cfg = model.cfg
    text_emb = torch.as_tensor(text_emb, dtype=torch.float32).reshape(1, -1)
    given = [] if past_codes is None else [[int(c) for c in row] for row in past_codes]
    prefix = [([cfg.control_offset + int(c) for c in codes], int(p)) for codes, p in controls]
    prefix += [([cfg.bos] * cfg.num_codebooks, 0)] + [(row, i + 1) for i, row in enumerate(given)]
    guided = guidance != 1.0 and use_text
    rows = 2 if guided else 1
    masks = [1.0 if use_text else 0.0, 0.0][:rows]
    tokens = torch.tensor([[t for t, _ in prefix]] * rows, dtype=torch.long)
    pos = torch.tensor([[p for _, p in prefix]] * rows, dtype=torch.long)
    cond = (text_emb.expand(rows, -1), torch.tensor(masks), torch.full((rows,), task, dtype=torch.long),
            torch.full((rows,), duration, dtype=torch.long))
    sides = torch.full((rows,), side, dtype=torch.long)
    out, past = list(given), empty_past(cfg, rows)
    while len(out) < duration:
        logits, past = model(tokens, pos, *cond, past_key_values=past, side=sides)
        last = logits[:, -1]
        mixed = last[1] + guidance * (last[0] - last[1]) if guided else last[0]
        step = sample_logits(mixed, temperature, top_k, generator)
        out.append(step)
        tokens = torch.tensor([[step]] * rows, dtype=torch.long)
        pos = torch.full((rows, 1), len(out), dtype=torch.long)
    return torch.tensor(out[:duration], dtype=torch.long).reshape(duration, cfg.num_codebooks)


def sample_logits(logits, temperature: float, top_k: int, generator=None) -> list:
    """logits [K, V] -> one code per codebook; temperature 0 = argmax."""
    if temperature <= 0:
        return logits.argmax(-1).tolist()
    z = logits / temperature
    if top_k > 0:
        kth = torch.topk(z, min(top_k, z.shape[-1]), dim=-1).values[..., -1:]
        z = z.masked_fill(z < kth, -float("inf"))
    return torch.multinomial(F.softmax(z, dim=-1), 1, generator=generator)[:, 0].tolist()


@torch.no_grad()
def generate_batch(model: MotionGPT, requests: list, temperature: float = 1.0, guidance: float = 1.0, top_k: int = 0,
                   generator=None) -> list:
    """Many requests at once (evaluation). Each request: dict(text_emb, duration, task, controls=[(codes, p)],
    past=[[codes]], use_text=True). Prefixes of different lengths are left-padded with PAD tokens hidden from
    attention, so every row computes what `generate` would. Returns a list of code arrays [duration, K]."""
    cfg, k = model.cfg, model.cfg.num_codebooks
    guided = guidance != 1.0
    rows = []
    for r in requests:
        past = [[int(c) for c in row] for row in r.get("past", [])]
        prefix = [([cfg.control_offset + int(c) for c in codes], int(p)) for codes, p in r.get("controls", [])]
        prefix += [([cfg.bos] * k, 0)] + [(row, i + 1) for i, row in enumerate(past)]
        rows.append((prefix, past))
    width = max(len(p) for p, _ in rows)
    tokens = torch.full((len(rows), width, k), cfg.pad, dtype=torch.long)
    pos = torch.zeros((len(rows), width), dtype=torch.long)
    valid = torch.zeros((len(rows), width), dtype=torch.bool)
    for i, (prefix, _) in enumerate(rows):
        tokens[i, width - len(prefix):] = torch.tensor([t for t, _ in prefix])
        pos[i, width - len(prefix):] = torch.tensor([p for _, p in prefix])
        valid[i, width - len(prefix):] = True
    text = torch.as_tensor(np.stack([np.asarray(r["text_emb"], dtype=np.float32) for r in requests]))
    mask = torch.tensor([1.0 if r.get("use_text", True) else 0.0 for r in requests])
    task = torch.tensor([int(r.get("task", TASKS["text"])) for r in requests])
    duration = torch.tensor([int(r["duration"]) for r in requests])
    side = torch.tensor([int(r.get("side", SIDES["none"])) for r in requests])
    if guided:  # rows [cond…, uncond…]
        tokens, pos, valid = tokens.repeat(2, 1, 1), pos.repeat(2, 1), valid.repeat(2, 1)
        text, task, duration, side = text.repeat(2, 1), task.repeat(2), duration.repeat(2), side.repeat(2)
        mask = torch.cat([mask, torch.zeros_like(mask)])
    n = len(requests)
    outs = [list(past) for _, past in rows]
    steps = max(int(r["duration"]) - len(o) for r, o in zip(requests, outs))
    allowed = (torch.tril(torch.ones(width, width, dtype=torch.bool))[None] & valid[:, None]) | torch.eye(width, dtype=torch.bool)[None]
    logits, past_kv = model(tokens, pos, text, mask, task, duration, allowed=allowed,
                            past_key_values=empty_past(cfg, tokens.shape[0]), side=side)
    for _ in range(max(0, steps)):
        last = logits[:, -1]
        mixed = last[n:] + guidance * (last[:n] - last[n:]) if guided else last
        z = mixed / max(temperature, 1e-8)
        if top_k > 0:
            kth = torch.topk(z, min(top_k, z.shape[-1]), dim=-1).values[..., -1:]
            z = z.masked_fill(z < kth, -float("inf"))
        if temperature <= 0:
            step = mixed.argmax(-1)
        else:
            step = torch.multinomial(F.softmax(z, -1).reshape(-1, cfg.codebook_size), 1, generator=generator).reshape(n, k)
        for i in range(n):
            outs[i].append(step[i].tolist())
        nxt = step[:, None, :]
        npos = torch.tensor([[len(o)] for o in outs])
        if guided:
            nxt, npos = nxt.repeat(2, 1, 1), npos.repeat(2, 1)
        valid = torch.cat([valid, torch.ones(valid.shape[0], 1, dtype=torch.bool)], dim=1)
        logits, past_kv = model(nxt, npos, text, mask, task, duration, allowed=valid[:, None, :], past_key_values=past_kv,
                                side=side)
    return [np.asarray(o[:int(r["duration"])], dtype=np.int64).reshape(-1, k) for o, r in zip(outs, requests)]


def continuation_past(codes_so_far: int, new_tokens: int, cfg: GPTConfig, max_past: int = 10) -> int:
    """How many previous codes a following segment sees: at most `max_past`, and past + new must fit maxTokens."""
    return max(0, min(max_past, codes_so_far, cfg.max_tokens - new_tokens))


@torch.no_grad()
def generate_segments(model: MotionGPT, segments: list, temperature: float = 1.0, guidance: float = 1.0,
                      top_k: int = 0, generator=None) -> torch.Tensor:
    """A multi-segment request ("wave, then sit"): segment 1 as asked, each later one with the `continue` task from
    the last codes so far. segments: [dict(text_emb, duration, task?, controls?)]. Returns all codes [ΣN, K]."""
    out = torch.zeros(0, model.cfg.num_codebooks, dtype=torch.long)
    for seg in segments:
        n = int(seg["duration"])
        p = continuation_past(len(out), n, model.cfg)
        if p > 0:
            codes = generate(model, p + n, seg["text_emb"], task=TASKS["continue"], past_codes=out[-p:].tolist(),
                             temperature=temperature, guidance=guidance, top_k=top_k, generator=generator,
                             side=seg.get("side", SIDES["none"]))[p:]
        else:
            codes = generate(model, n, seg["text_emb"], task=seg.get("task", TASKS["text"]),
                             controls=seg.get("controls", ()), temperature=temperature, guidance=guidance,
                             top_k=top_k, generator=generator, side=seg.get("side", SIDES["none"]))
        out = torch.cat([out, codes])
    return out
