"""The features cache / embedding table readers: what they return, and a clear error for every malformed input."""
import json
import os
import shutil

import numpy as np
import pytest

from trainer.data import (DataError, Clip, WindowSampler, check_zeroshot_pairs, conditioning_pool, load_cache,
                          load_embeddings, load_zeroshot_pairs, make_splits, mirror_allowed, mirror_features,
                          mirror_label, mirror_text, sample_text_embedding, text_embedding)


def _copy(src, tmp_path, name="copy"):
    dst = str(tmp_path / name)
    shutil.copytree(src, dst)
    return dst


def _edit_json(folder, file, fn):
    path = os.path.join(folder, file)
    with open(path) as f:
        meta = json.load(f)
    fn(meta)
    with open(path, "w") as f:
        json.dump(meta, f)


def test_cache_round_trip(synthetic):
    cache = load_cache(synthetic["cache"])
    assert cache.features.dtype == np.float32 and cache.features.shape == (cache.meta["frames"], 71)
    clip = cache.clips[0]
    x = cache.clip_features(clip)
    assert x.shape == (clip.length, 71)
    np.testing.assert_allclose(cache.denormalise(x), cache.features[clip.offset:clip.offset + clip.length], atol=1e-5)
    assert cache.data_hash.count("+") == 1 and len(cache.index_sha256) == 64


def test_mirror_is_an_involution_and_window_sampler_mirrors_raw_before_normalising(synthetic):
    cache = load_cache(synthetic["cache"])
    x = cache.features[:50]
    np.testing.assert_allclose(mirror_features(mirror_features(x, cache.mirror_perm, cache.mirror_sign),
                                               cache.mirror_perm, cache.mirror_sign), x)
    sampler = WindowSampler(cache, cache.clips, 8, mirror_prob=1.0)
    expected = cache.normalise(mirror_features(cache.features, cache.mirror_perm, cache.mirror_sign))
    np.testing.assert_allclose(sampler.norm_mirrored, expected)


@pytest.mark.parametrize("breaker,message", [
    (lambda d: os.remove(os.path.join(d, "features.json")), "features.json is missing"),
    (lambda d: os.remove(os.path.join(d, "features.f16")), "features.f16 is missing"),
    (lambda d: open(os.path.join(d, "features.f16"), "ab").write(b"xx"), "expected frames × dim × 2"),
    (lambda d: open(os.path.join(d, "features.json"), "w").write("{oops"), "not valid JSON"),
    (lambda d: _edit_json(d, "features.json", lambda m: m.pop("dim")), "field 'dim' is missing"),
    (lambda d: _edit_json(d, "features.json", lambda m: m.update(mean=[0.0] * 3)), "'mean' has 3 values"),
    (lambda d: _edit_json(d, "features.json", lambda m: m.update(std=[0.0] * 71)), "'std' must be positive"),
    (lambda d: _edit_json(d, "features.json", lambda m: m["mean"].__setitem__(5, float("nan"))), "'mean' contains non-finite"),
    (lambda d: _edit_json(d, "features.json", lambda m: m.pop("mirror")), "field 'mirror' is missing"),
    (lambda d: _edit_json(d, "features.json", lambda m: m["mirror"].update(perm=[0] * 71)), "'mirror.perm' must be a permutation"),
    (lambda d: _edit_json(d, "features.json", lambda m: m["clips"][0].pop("offset")), "clips[0]: field 'offset' is missing"),
    (lambda d: _edit_json(d, "features.json", lambda m: m["clips"][1].update(length=10 ** 7)), "outside 0.."),
    (lambda d: _edit_json(d, "features.json", lambda m: m.update(clips=[])), "'clips' is empty"),
])
def test_bad_cache_gives_a_clear_error(synthetic, tmp_path, breaker, message):
    d = _copy(synthetic["cache"], tmp_path)
    breaker(d)
    with pytest.raises(DataError) as e:
        load_cache(d)
    assert message in str(e.value)


@pytest.mark.parametrize("breaker,message", [
    (lambda d: os.remove(os.path.join(d, "embeddings.json")), "embeddings.json is missing"),
    (lambda d: os.remove(os.path.join(d, "embeddings.f32")), "embeddings.f32 is missing"),
    (lambda d: open(os.path.join(d, "embeddings.f32"), "ab").write(b"1234"), "expected rows × dim × 4"),
    (lambda d: _edit_json(d, "embeddings.json", lambda m: m.pop("encoder")), "field 'encoder' is missing"),
    (lambda d: _edit_json(d, "embeddings.json", lambda m: m.update(kinds=["text"])), "'kinds' has 1 entries"),
])
def test_bad_embedding_table_gives_a_clear_error(synthetic, tmp_path, breaker, message):
    d = _copy(synthetic["embeddings"], tmp_path)
    breaker(d)
    with pytest.raises(DataError) as e:
        load_embeddings(d)
    assert message in str(e.value)


def test_unknown_text_names_the_table(synthetic):
    table = load_embeddings(synthetic["embeddings"])
    with pytest.raises(DataError, match="no embedding for text 'never seen'"):
        table.row("never seen")


def test_text_conditioning_is_a_mean_of_a_nonempty_subset_of_text_and_descriptions(synthetic):
    cache, table = load_cache(synthetic["cache"]), load_embeddings(synthetic["embeddings"])
    clip = cache.clips[0]
    rng = np.random.default_rng(0)
    pool = [conditioning_pool(t, table) for t in clip.texts]
    assert all(len(p) == 5 for p in pool)  # the sentence + k = 4 descriptions
    candidates = set()
    for p in pool:
        for mask in range(1, 32):
            rows = [r for i, r in enumerate(p) if mask >> i & 1]
            candidates.add(table.mean(rows).round(5).tobytes())
    seen = {sample_text_embedding(clip, table, rng).round(5).tobytes() for _ in range(200)}
    assert seen <= candidates and len(seen) > 10
    k4 = text_embedding(clip.texts[0], table, use_descriptions=True)
    np.testing.assert_allclose(k4, table.mean(pool[0][1:]), atol=1e-6)
    np.testing.assert_allclose(text_embedding(clip.texts[0], table, use_descriptions=False), table.vectors[pool[0][0]])


def test_mirroring_words_and_labels():
    assert mirror_text("a person waves the left hand, then turns right.") == "a person waves the right hand, then turns left."
    assert mirror_text("a person bows.") == "a person bows."
    assert mirror_label("wave-left-hand") == "wave-right-hand" and mirror_label("walk-turn-right") == "walk-turn-left"
    clip = Clip("c", "train", "d", 0, 10, ["wave-right-hand"], "elderly", ["x"])
    assert not mirror_allowed(clip, [("wave-left-hand", "elderly")])
    assert mirror_allowed(clip, [("wave-left-hand", "angry")])


def test_zeroshot_pairs_are_held_out_of_every_split(synthetic):
    cache = load_cache(synthetic["cache"])
    pairs = load_zeroshot_pairs(synthetic["pairs"])
    check_zeroshot_pairs(cache, pairs)
    s = make_splits(cache, pairs)
    assert s.zeroshot and all(c.pair in pairs for c in s.zeroshot)
    assert not any(c.pair in pairs for c in s.train + s.val + s.test)
    assert len(s.train) + len(s.val) + len(s.test) + len(s.zeroshot) == len(cache.clips)


def test_committed_zeroshot_pairs_are_compositional():
    pairs = load_zeroshot_pairs()
    assert len(pairs) >= 8
    from trainer.data import DEFAULT_CACHE
    if os.path.exists(os.path.join(DEFAULT_CACHE, "features.json")):
        cache = load_cache(DEFAULT_CACHE)
        check_zeroshot_pairs(cache, pairs)
        held = make_splits(cache, pairs).zeroshot
        assert {c.pair for c in held} == set(pairs)  # every listed pair exists in the data


def test_zeroshot_pair_that_hides_an_action_is_rejected(synthetic, tmp_path):
    cache = load_cache(synthetic["cache"])
    everything_bow = [("bow", s) for s in ("normal", "elderly", "angry", "happy")]
    with pytest.raises(DataError, match="leaves action bow unseen"):
        check_zeroshot_pairs(cache, everything_bow)
    bad = tmp_path / "pairs.json"
    bad.write_text(json.dumps({"pairs": [{"action": "run"}]}))
    with pytest.raises(DataError, match=r"pairs\[0\] must be an object with 'action' and 'style'"):
        load_zeroshot_pairs(str(bad))


def test_window_sampler_rejects_a_window_longer_than_every_clip(synthetic):
    cache = load_cache(synthetic["cache"])
    with pytest.raises(DataError, match="no clip is at least 100000 feature frames"):
        WindowSampler(cache, cache.clips, 100000)


# ----------------------------------------------------------------------------- packs, balance, phrasings, sides

def _clip(id, action, pack="motion", length=80):
    return Clip(id=id, split="train", dataset=pack, offset=0, length=length, action_labels=[action], style="",
                texts=[f"a person does {action}."], pack=pack)


def test_balanced_weights_give_each_pack_action_the_same_share():
    from trainer.data import balanced_weights
    clips = [_clip(f"w{i}", "walk") for i in range(99)] + [_clip("lie", "lie-down")]
    p = balanced_weights(clips, np.ones(len(clips)), 0.5)
    assert p.sum() == pytest.approx(1.0)
    # natural half: 1/100 each; balanced half: 1/2 per action, so the single lie-down clip gets 0.005 + 0.25
    assert p[-1] == pytest.approx(0.5 / 100 + 0.5 / 2)
    assert p[0] == pytest.approx(0.5 / 100 + 0.5 / 2 / 99)
    assert np.allclose(balanced_weights(clips, np.ones(len(clips)), 0.0), 1 / 100)


def test_the_clips_of_a_label_that_reach_the_floor_are_a_group_of_their_own():
    from trainer.data import balanced_weights, mark_floor_clips
    clips = [_clip(f"w{i}", "walk", length=10) for i in range(3)]
    features = np.full((10, 71), 0.9, dtype=np.float32)
    features[7, 3] = 0.4  # the pelvis drops to 0.4 m in frame 7: every clip above spans frames 0..9
    clips[2].offset = 0
    mark_floor_clips(clips[2:], features, {"root_y": (3, 4)})
    assert [c.floor for c in clips] == [False, False, True]
    p = balanced_weights(clips, np.ones(3), 1.0)
    assert p[2] == pytest.approx(0.5) and p[0] == pytest.approx(0.25)
    # upweighted alone: the floor clip drawn 8 times as often as each walk, the walks among themselves unchanged
    p = balanced_weights(clips, np.ones(3), 0.0, floor_weight=8.0)
    assert p[2] == pytest.approx(0.8) and p[0] == pytest.approx(0.1) and p.sum() == pytest.approx(1.0)


def test_filter_packs_keeps_named_packs_and_refuses_unknown_ones():
    from trainer.data import filter_packs
    clips = [_clip("a", "walk", "motion"), _clip("b", "walk", "cmu"), _clip("c", "kick", "hdm05")]
    assert [c.id for c in filter_packs(clips, "motion, cmu")] == ["a", "b"]
    assert filter_packs(clips, "") == clips
    with pytest.raises(DataError, match="hdm6"):
        filter_packs(clips, "motion,hdm6")


def test_paraphrases_and_sides_come_from_the_words_used(synthetic):
    from trainer.data import sample_text_condition
    cache, table = load_cache(synthetic["cache"]), load_embeddings(synthetic["embeddings"])
    clip = next(c for c in cache.clips if c.action == "wave-left-hand" and c.split == "train")
    (trained, heldout), = table.sets_for(clip)
    assert {table.texts[r] for r in trained} == {f"please wave left hand {clip.style} {v}" for v in range(3)}
    assert all(table.texts[r].startswith("go ") for r in heldout)
    # a mirrored clip is called by the mirrored label's phrasings
    (mtrained, _), = table.sets_for(clip, mirrored=True)
    assert all("right" in table.texts[r] for r in mtrained)
    rng = np.random.default_rng(0)
    seen_rows, sides = set(), set()
    heldout_vectors = {table.vectors[r].tobytes() for r in heldout}
    for _ in range(200):
        emb, side = sample_text_condition(clip, table, rng, paraphrases=True)
        seen_rows.add(emb.tobytes())
        sides.add(side)
        assert emb.tobytes() not in heldout_vectors, "a held-out phrasing is never trained on"
    assert sides == {1}, "every phrasing of a left-hand clip asks for the left side"
    assert any(table.vectors[r].tobytes() in seen_rows for r in trained), "paraphrases are used"
    _, side = sample_text_condition(clip, table, rng, paraphrases=False)
    assert side == 1


def test_the_side_signal_changes_what_the_gpt_predicts():
    import torch
    from trainer.gpt import GPTConfig, MotionGPT, SIDES
    torch.manual_seed(0)
    gpt = MotionGPT(GPTConfig(codebook_size=16, n_layer=1, n_head=2, n_embd=32, text_dim=8, dropout=0.0,
                              side_signal=True)).eval()
    args = (torch.zeros(2, 1, 1, dtype=torch.long), torch.zeros(2, 1, dtype=torch.long), torch.randn(2, 8).repeat(1, 1),
            torch.ones(2), torch.zeros(2, dtype=torch.long), torch.full((2,), 5))
    same_text = (args[0], args[1], args[2][:1].repeat(2, 1), *args[3:])
    left_right, _ = gpt(*same_text, side=torch.tensor([SIDES["left"], SIDES["right"]]))
    assert not torch.allclose(left_right[0], left_right[1])
    # the null condition (guidance's unconditional row) ignores the side, like the words
    masked = (same_text[0], same_text[1], same_text[2], torch.zeros(2), *same_text[4:])
    null, _ = gpt(*masked, side=torch.tensor([SIDES["left"], SIDES["right"]]))
    assert torch.allclose(null[0], null[1])


def test_a_one_sided_action_is_also_called_by_the_side_its_motion_shows(synthetic, tmp_path):
    from trainer.data import Clip
    table = load_embeddings(synthetic["embeddings"])
    left, right = [0], [1]
    table.paraphrase_sets["kick|foot:right"] = (right, [])
    table.paraphrase_sets["kick|foot:left"] = (left, [])
    table.paraphrase_sets["kick|"] = ([2], [])
    clip = Clip(id="k", split="train", dataset="x", offset=0, length=40, action_labels=["kick"], style="",
                texts=["a person kicks."], limbs={"hand": None, "foot": "right"})
    assert [s[0] for s in table.sets_for(clip)] == [[2], right]
    assert [s[0] for s in table.sets_for(clip, mirrored=True)] == [[2], left], "a mirrored kick is a left kick"
