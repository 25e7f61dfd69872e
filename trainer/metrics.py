"""Text-to-motion evaluation metrics on evaluator embeddings, in numpy: FID, R-precision (top-1/2/3 in batches of
32), MM-Dist, Diversity and MultiModality, as defined by Guo et al., "Generating Diverse and Natural 3D Human Motions
from Text" (CVPR 2022, the HumanML3D/T2M protocol MotionGPT reports).

These are the same definitions, and the same seeded sampling (mulberry32 + Fisher–Yates), as the TypeScript metrics
in `src/motion/metrics/distribution.ts`, so `charades eval` (production path, onnxruntime-node) and the Python
evaluation agree up to float rounding instead of up to sampling noise.
"""
from __future__ import annotations

import numpy as np

_M32 = 0xFFFFFFFF


def _imul(a: int, b: int) -> int:
    return (a * b) & _M32


def mulberry32(seed: int):
    """The seeded generator of src/motion/metrics/random.ts, bit for bit: returns a function giving floats in [0, 1)."""
    state = seed & _M32

    def rand() -> float:
        nonlocal state
        state = (state + 0x6D2B79F5) & _M32
        t = state
        t = _imul(t ^ (t >> 15), t | 1)
        t ^= (t + _imul(t ^ (t >> 7), t | 61)) & _M32
        return ((t ^ (t >> 14)) & _M32) / 4294967296.0

    return rand


def permutation(n: int, rand) -> np.ndarray:
    """Fisher–Yates as in random.ts: the i-th draw swaps position i with one of i..n-1."""
    p = list(range(n))
    for i in range(n - 1):
        j = i + int(rand() * (n - i))
        p[i], p[j] = p[j], p[i]
    return np.asarray(p, dtype=np.int64)


def sample_without_replacement(n: int, k: int, rand) -> np.ndarray:
    if k > n:
        raise ValueError(f"cannot draw {k} distinct indices from {n}")
    return permutation(n, rand)[:k]


def _matrix(name: str, x) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"{name}: expected a non-empty [N, D] array, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        row = int(np.argwhere(~np.isfinite(a))[0][0])
        raise ValueError(f"{name}: non-finite value in row {row}")
    return a


def _paired(text, motion, who: str):
    t = _matrix(f"{who} text embeddings", text)
    m = _matrix(f"{who} motion embeddings", motion)
    if t.shape != m.shape:
        raise ValueError(f"{who}: text embeddings {t.shape} and motion embeddings {m.shape} must pair row by row")
    return t, m


def activation_statistics(x):
    """Mean and unbiased covariance (np.cov, N−1), T2M's calculate_activation_statistics."""
    a = _matrix("activation_statistics embeddings", x)
    if a.shape[0] < 2:
        raise ValueError(f"activation_statistics: needs at least 2 embeddings for a covariance, got {a.shape[0]}")
    return a.mean(axis=0), np.cov(a, rowvar=False).reshape(a.shape[1], a.shape[1])


def _sqrt_psd(s: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((s + s.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance_from_stats(mu1, s1, mu2, s2) -> float:
    """‖μ₁−μ₂‖² + Tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^½) (Heusel et al. 2017), with Tr((Σ₁Σ₂)^½) = Tr((Σ₁^½ Σ₂ Σ₁^½)^½) so both
    roots are of symmetric PSD matrices (the TypeScript side uses Jacobi for the same two roots)."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1, s2 = np.asarray(s1, np.float64), np.asarray(s2, np.float64)
    if mu1.shape != mu2.shape or s1.shape != s2.shape:
        raise ValueError(f"frechet_distance: dimensions differ ({mu1.shape} vs {mu2.shape})")
    r1 = _sqrt_psd(s1)
    inner = r1 @ s2 @ r1
    w = np.linalg.eigvalsh((inner + inner.T) / 2)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.sum(np.sqrt(np.clip(w, 0, None))))


def frechet_distance(a, b) -> float:
    """FID between two sets of embeddings (T2M calculate_frechet_distance)."""
    return frechet_distance_from_stats(*activation_statistics(a), *activation_statistics(b))


def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sqrt(np.maximum(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1), 0))


def r_precision(text, motion, batch_size: int = 32, top_k: int = 3, seed: int = 0) -> dict:
    """T2M calculate_R_precision: rows shuffled with the seed, cut into batches of 32 (an incomplete last batch is
    dropped, like T2M's drop_last loader); within a batch, for each text row the motions are ranked by Euclidean
    distance and top-k counts rows whose own motion is among the k nearest (ties: lower index first)."""
    t, m = _paired(text, motion, "r_precision")
    if batch_size < 2:
        raise ValueError(f"r_precision: batch_size must be ≥ 2, got {batch_size}")
    if not 1 <= top_k <= batch_size:
        raise ValueError(f"r_precision: top_k must be within 1–{batch_size}, got {top_k}")
    if len(t) < batch_size:
        raise ValueError(f"r_precision: needs at least one full batch of {batch_size} pairs, got {len(t)}")
    order = permutation(len(t), mulberry32(seed))
    batches = len(t) // batch_size
    hits = np.zeros(top_k)
    for b in range(batches):
        idx = order[b * batch_size:(b + 1) * batch_size]
        d = _distances(t[idx], m[idx])
        own = np.diag(d)[:, None]
        cols = np.arange(batch_size)[None, :]
        rank = ((d < own) | ((d == own) & (cols < np.arange(batch_size)[:, None]))).sum(axis=1)
        for k in range(top_k):
            hits[k] += (rank <= k).sum()
    rows = batches * batch_size
    return {"top_k": (hits / rows).tolist(), "rows": rows, "batches": batches}


def mm_dist(text, motion) -> float:
    """Mean Euclidean distance between each text embedding and its own motion's (T2M "matching score")."""
    t, m = _paired(text, motion, "mm_dist")
    return float(np.sqrt(((t - m) ** 2).sum(-1)).mean())


def diversity(x, pairs: int = 300, seed: int = 0) -> float:
    """T2M calculate_diversity: two seeded index sets of size `pairs`, drawn without replacement; mean distance."""
    a = _matrix("diversity embeddings", x)
    if pairs < 1:
        raise ValueError(f"diversity: pairs must be a positive integer, got {pairs}")
    if len(a) <= pairs:
        raise ValueError(f"diversity: needs more than {pairs} embeddings, got {len(a)}")
    rand = mulberry32(seed)
    first = sample_without_replacement(len(a), pairs, rand)
    second = sample_without_replacement(len(a), pairs, rand)
    return float(np.sqrt(((a[first] - a[second]) ** 2).sum(-1)).mean())


def multimodality(groups, pairs: int = 10, seed: int = 0) -> float:
    """T2M calculate_multimodality: groups[g] holds several motions generated from one text; two seeded index sets
    of size `pairs` (shared by all groups) are drawn within a group; mean distance over groups and pairs."""
    mats = [_matrix(f"multimodality group {i}", g) for i, g in enumerate(groups)]
    if not mats:
        raise ValueError("multimodality: no groups")
    per = mats[0].shape[0]
    for i, g in enumerate(mats):
        if g.shape != mats[0].shape:
            raise ValueError(f"multimodality: group {i} has shape {g.shape}, group 0 has {mats[0].shape}")
    if pairs < 1:
        raise ValueError(f"multimodality: pairs must be a positive integer, got {pairs}")
    if per < pairs:
        raise ValueError(f"multimodality: needs at least {pairs} motions per group, got {per}")
    rand = mulberry32(seed)
    first = sample_without_replacement(per, pairs, rand)
    second = sample_without_replacement(per, pairs, rand)
    a = np.stack(mats)
    return float(np.sqrt(((a[:, first] - a[:, second]) ** 2).sum(-1)).mean())
