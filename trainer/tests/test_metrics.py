"""Analytic checks of trainer/metrics.py and agreement with the TypeScript metrics (same definitions, same RNG)."""
import json
import os
import shutil
import subprocess

import numpy as np
import pytest

from trainer import metrics as M

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_mulberry32_matches_the_typescript_generator():
    r = M.mulberry32(0)
    assert [round(r() * 4294967296) for _ in range(3)] == [1144304738, 1416247, 958946056]
    assert sorted(M.permutation(5, M.mulberry32(42)).tolist()) == [0, 1, 2, 3, 4]


def test_fid_of_identical_sets_is_zero_and_of_known_gaussians_the_closed_form():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(500, 6))
    assert abs(M.frechet_distance(a, a)) < 1e-9
    # Diagonal: ‖μ₁−μ₂‖² + Σ(√σ₁ − √σ₂)².
    d = M.frechet_distance_from_stats([0, 0, 0], np.diag([1, 4, 9]), [1, 2, 2], np.diag([4, 1, 9]))
    assert abs(d - 11) < 1e-10
    # Non-commuting 2×2: Tr√(Σ₁Σ₂) = √(Tr(Σ₁Σ₂) + 2√det(Σ₁Σ₂)).
    s1, s2 = np.array([[2.0, 1], [1, 2]]), np.diag([3.0, 1])
    expected = 0.25 + 8 - 2 * np.sqrt(np.trace(s1 @ s2) + 2 * np.sqrt(np.linalg.det(s1 @ s2)))
    assert abs(M.frechet_distance_from_stats([0, 0], s1, [0.5, 0], s2) - expected) < 1e-10


def test_fid_of_samples_approaches_the_closed_form():
    rng = np.random.default_rng(1)
    ca, cb = np.array([[1, .5, 0], [.5, 1, 0], [0, 0, .5]]), np.array([[2, 0, 0], [0, .5, .2], [0, .2, 1]])
    ma, mb = np.zeros(3), np.array([1.0, 0, -1])
    exact = M.frechet_distance_from_stats(ma, ca, mb, cb)
    sampled = M.frechet_distance(rng.multivariate_normal(ma, ca, 20000), rng.multivariate_normal(mb, cb, 20000))
    assert abs(sampled - exact) < 0.05 * exact


def test_r_precision_perfect_match_is_one_and_derangement_zero():
    rng = np.random.default_rng(2)
    t = rng.random((70, 16))
    assert M.r_precision(t, t) == {"top_k": [1.0, 1.0, 1.0], "rows": 64, "batches": 2}
    assert M.r_precision(t, np.roll(t, -1, axis=0), batch_size=70, top_k=1)["top_k"] == [0.0]
    text = np.array([[0.0], [10], [20], [30]])
    assert M.r_precision(text, [[16.0], [10], [20], [30]], batch_size=4)["top_k"] == [0.75, 1.0, 1.0]


def test_mm_dist_diversity_multimodality_analytic_cases():
    t = np.array([[0.0, 0], [1, 1], [5, -3]])
    assert abs(M.mm_dist(t, t + [2, 0]) - 2) < 1e-12
    assert M.diversity(np.ones((50, 3)), 10) == 0
    simplex = np.eye(400) * np.sqrt(0.5)
    assert abs(M.diversity(simplex, 300) - (1 - 1 / 400)) < 0.02
    assert M.multimodality([np.zeros((12, 2)) + g for g in range(3)], 10) == 0


def test_bad_input_gets_clear_errors():
    with pytest.raises(ValueError, match="needs at least one full batch of 32 pairs, got 2"):
        M.r_precision(np.ones((2, 2)), np.ones((2, 2)))
    with pytest.raises(ValueError, match="must pair row by row"):
        M.mm_dist(np.ones((2, 2)), np.ones((3, 2)))
    with pytest.raises(ValueError, match="non-finite value in row 1"):
        M.diversity(np.array([[0.0], [np.nan], [1.0]]), 1)
    with pytest.raises(ValueError, match="needs more than 50 embeddings, got 50"):
        M.diversity(np.ones((50, 3)), 50)
    with pytest.raises(ValueError, match="needs at least 20 motions per group, got 12"):
        M.multimodality([np.zeros((12, 2))], 20)
    with pytest.raises(ValueError, match="group 1 has shape"):
        M.multimodality([np.zeros((12, 2)), np.zeros((11, 2))])
    with pytest.raises(ValueError, match="needs at least 2 embeddings"):
        M.activation_statistics(np.ones((1, 3)))


def test_python_and_typescript_metrics_agree(tmp_path):
    node = shutil.which("node")
    assert node, "node is required: the TypeScript metrics are the production path this test compares against"
    rng = np.random.default_rng(3)
    text = rng.normal(size=(100, 8))
    motion = text + 0.7 * rng.normal(size=(100, 8))
    groups = rng.normal(size=(4, 12, 8))
    (tmp_path / "in.json").write_text(json.dumps({"text": text.tolist(), "motion": motion.tolist(), "groups": groups.tolist()}))
    script = f"""
import {{ readFileSync }} from 'node:fs';
import {{ frechetDistance, rPrecision, mmDist, diversity, multimodality }} from '{REPO}/src/motion/metrics/index.js';
const d = JSON.parse(readFileSync('{tmp_path / "in.json"}', 'utf8'));
console.log(JSON.stringify({{ fid: frechetDistance(d.text, d.motion), r: rPrecision(d.text, d.motion, {{ seed: 5 }}).topK,
  mm: mmDist(d.text, d.motion), div: diversity(d.motion, 40, 7), mmod: multimodality(d.groups, 10, 9) }}));
"""
    (tmp_path / "run.ts").write_text(script)
    out = subprocess.run([node, "--import", "tsx", str(tmp_path / "run.ts")], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    ts = json.loads(out.stdout)
    assert abs(ts["fid"] - M.frechet_distance(text, motion)) < 1e-8
    assert ts["r"] == M.r_precision(text, motion, seed=5)["top_k"]
    assert abs(ts["mm"] - M.mm_dist(text, motion)) < 1e-12
    assert abs(ts["div"] - M.diversity(motion, 40, 7)) < 1e-12
    assert abs(ts["mmod"] - M.multimodality(groups, 10, 9)) < 1e-12
