"""The feature-space metrics of trainer/evaluate.py on hand-made motions, and its error paths."""
import numpy as np
import pytest

from trainer.data import DataError, load_cache, load_embeddings, load_zeroshot_pairs
from trainer.evaluate import FOOT_HEIGHT_M, _pose_errors, evaluate_run, foot_skate_ratio, joint_error, ric


def _still(cache, frames=20):
    x = np.zeros((frames, cache.dim), dtype=np.float32)
    x[:, 3] = 0.9
    return x


def test_foot_skate_counts_sliding_low_feet_only(synthetic):
    cache = load_cache(synthetic["cache"])
    still = _still(cache)
    assert foot_skate_ratio([still], cache) == 0.0
    sliding = still.copy()
    foot = 4 + (10 - 1) * 3  # left_foot ric x
    sliding[:, foot] = np.arange(20) * 0.05  # 5 cm per frame at height 0 (< FOOT_HEIGHT_M)
    assert foot_skate_ratio([sliding], cache) == pytest.approx(1.0)  # a frame counts when either foot skates
    lifted = sliding.copy()
    lifted[:, foot + 1] = FOOT_HEIGHT_M + 0.1
    assert foot_skate_ratio([lifted], cache) == 0.0
    # a foot planted in the world while the body walks over it: ric moves back as the root moves forward
    planted = still.copy()
    planted[:, 2] = 0.05
    planted[:, foot + 2] = -np.arange(20) * 0.05
    planted[:, 4 + (11 - 1) * 3 + 1] = 0.3  # the right foot swings above the floor
    assert foot_skate_ratio([planted], cache) == 0.0


def test_pose_errors_in_metres(synthetic):
    cache = load_cache(synthetic["cache"])
    gt = _still(cache, 8)
    gen = gt.copy()
    gen[:, 4:67] += 0.1 / np.sqrt(3)  # every joint 10 cm away
    assert ric(gen, cache).shape == (8, 21, 3)
    assert _pose_errors(gen, gt, [(0, 0)], cache, "recon") == pytest.approx(0.1, abs=1e-5)
    assert _pose_errors(gen, gt, [(0, 0)], cache, "vel") == pytest.approx(0.0, abs=1e-6)
    gen[5, 4:67] = gt[5, 4:67]
    assert _pose_errors(gen, gt, [(2, 0)], cache, "key") == pytest.approx(0.0, abs=1e-6)  # nearest frame matches
    assert joint_error(np.zeros((21, 3)), np.ones((21, 3))) == pytest.approx(np.sqrt(3))


def test_evaluate_without_a_trained_run_names_what_is_missing(synthetic, tmp_path):
    cache, table = load_cache(synthetic["cache"]), load_embeddings(synthetic["embeddings"])
    with pytest.raises(DataError, match="train the VQ-VAE first"):
        evaluate_run(str(tmp_path), cache, table, load_zeroshot_pairs(synthetic["pairs"]))


def test_follows_controls_counts_exact_codes_at_the_pinned_times():
    from trainer.evaluate import follows_controls
    codes = [np.array([[1], [2], [3]]), np.array([[4], [5], [6]])]
    reqs = [{"controls": [([1], 0), ([9], 2)]}, {"controls": [([6], 2)]}]
    assert follows_controls(codes, reqs) == pytest.approx(2 / 3, abs=1e-4)
    assert follows_controls(codes, [{"controls": []}, {"controls": []}]) is None
