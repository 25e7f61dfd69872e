"""The generator GPT: incremental decoding equals the full forward pass, padding is invisible, the decoding loop
honours duration / past / guidance, and training batches follow the instruction layout of gpt.py."""
import numpy as np
import pytest
import torch

from trainer.data import load_cache, load_embeddings, load_zeroshot_pairs, make_splits
from trainer.gpt import TASKS, GPTConfig, MotionGPT, causal_mask, empty_past, generate, sample_logits
from trainer.tasks import build_batch, make_sources, static_pose_window


def _gpt(k=1, tied=False):
    torch.manual_seed(0)
    return MotionGPT(GPTConfig(codebook_size=16, num_codebooks=k, text_dim=8, n_layer=2, n_head=2, n_embd=32,
                               max_tokens=20, dropout=0.0, tied_controls=tied)).eval()


def _inputs(model, b=2, t=7, seed=0):
    g = torch.Generator().manual_seed(seed)
    c = model.cfg
    tokens = torch.randint(0, 2 * c.codebook_size + 1, (b, t, c.num_codebooks), generator=g)
    pos = torch.arange(t)[None].repeat(b, 1)
    return (tokens, pos, torch.randn(b, c.text_dim, generator=g), torch.ones(b), torch.tensor([0, 3][:b]),
            torch.tensor([12, 9][:b]))


@pytest.mark.parametrize("k,tied", [(1, False), (2, False), (1, True), (2, True)])
def test_incremental_decoding_matches_the_full_forward(k, tied):
    model = _gpt(k, tied)
    tokens, pos, *cond = _inputs(model)
    with torch.no_grad():
        full, present = model(tokens, pos, *cond)
        past = empty_past(model.cfg, 2)
        steps = []
        for i in range(tokens.shape[1]):
            logits, past = model(tokens[:, i:i + 1], pos[:, i:i + 1], *cond, past_key_values=past)
            steps.append(logits)
    assert torch.allclose(torch.cat(steps, dim=1), full, atol=1e-5)
    assert torch.allclose(past, present, atol=1e-5)
    assert full.shape == (2, 7, k, 16) and past.shape == (2, 2, 2, 2, 7, 16)


def test_padding_masked_out_of_attention_changes_nothing():
    model = _gpt()
    tokens, pos, *cond = _inputs(model, b=1, t=5)
    pad = model.cfg.pad
    padded_tokens = torch.cat([tokens, torch.full((1, 3, 1), pad)], dim=1)
    padded_pos = torch.cat([pos, torch.zeros(1, 3, dtype=torch.long)], dim=1)
    valid = torch.tensor([[True] * 5 + [False] * 3])
    allowed = (torch.tril(torch.ones(8, 8, dtype=torch.bool))[None] & valid[:, None]) | torch.eye(8, dtype=torch.bool)[None]
    with torch.no_grad():
        a, _ = model(tokens, pos, *cond)
        b, _ = model(padded_tokens, padded_pos, *cond, allowed=allowed)
    assert torch.allclose(a, b[:, :5], atol=1e-5)


def test_causal_mask_with_past():
    m = causal_mask(2, 3)[0]
    assert m.tolist() == [[True, True, True, True, False], [True, True, True, True, True]]


def test_generate_respects_duration_past_and_guidance():
    model = _gpt()
    text = torch.randn(8)
    codes = generate(model, 9, text, temperature=0)
    assert codes.shape == (9, 1) and int(codes.max()) < 16
    past = [[3], [5], [7]]
    cont = generate(model, 9, text, task=TASKS["continue"], past_codes=past, temperature=0)
    assert cont[:3].tolist() == past
    plain = generate(model, 6, text, temperature=0, guidance=1.0)
    guided = generate(model, 6, text, temperature=0, guidance=1.0 + 1e-9)  # the CFG path with s ≈ 1 is the same
    assert torch.equal(plain, guided)
    g = torch.Generator().manual_seed(1)
    sampled = generate(model, 6, text, temperature=1.0, top_k=3, guidance=3.0, generator=g)
    assert sampled.shape == (6, 1)


def test_sample_logits_temperature_zero_is_argmax_and_top_k_restricts():
    logits = torch.tensor([[0.0, 5.0, 1.0, 4.0]])
    assert sample_logits(logits, 0, 0) == [1]
    g = torch.Generator().manual_seed(0)
    draws = {sample_logits(logits, 5.0, 2, g)[0] for _ in range(50)}
    assert draws <= {1, 3} and len(draws) == 2


def _encode_static(k):
    def encode(windows):
        assert windows.shape[1:] == (4, 71)
        return (np.abs(windows[:, 0, :k] * 100).astype(np.int64) % 16)
    return encode


def test_training_batches_follow_the_instruction_layout(synthetic):
    cache, table = load_cache(synthetic["cache"]), load_embeddings(synthetic["embeddings"])
    pairs = load_zeroshot_pairs(synthetic["pairs"])
    rng = np.random.default_rng(0)
    tokens = {c.id: {"codes": rng.integers(0, 16, (c.length // 4, 1)), "mirrored": rng.integers(0, 16, (c.length // 4, 1))}
              for c in cache.clips}
    pairs = pairs + [("wave-left-hand", "elderly")]
    sources = make_sources(make_splits(cache, pairs).train, tokens, table, pairs)
    assert any(s.mirrored for s in sources)
    # mirroring wave-right-hand×elderly would recreate the held-out wave-left-hand×elderly
    assert any(s.clip.pair == ("wave-right-hand", "elderly") for s in sources)
    assert not any(s.mirrored and s.clip.pair == ("wave-right-hand", "elderly") for s in sources)
    mirrored_wave = next(s for s in sources if s.mirrored and s.clip.action == "wave-right-hand")
    assert all("left" in t for t in mirrored_wave.texts)
    cfg = GPTConfig(codebook_size=16, text_dim=table.dim, max_tokens=20, cond_drop=0.0)
    for task in TASKS:
        batch = build_batch(sources, 6, cfg, cache, table, _encode_static(1), rng, forced_task=task)
        for i in range(6):
            toks, pos, tgt = batch["tokens"][i, :, 0], batch["pos"][i], batch["targets"][i, :, 0]
            bos = int((toks == cfg.bos).nonzero()[0])
            controls = toks[:bos]
            assert bool(((controls >= cfg.control_offset) & (controls < cfg.bos)).all())
            n = int(batch["duration"][i])
            assert pos[bos] == 0 and bool((tgt[:bos] == -100).all())
            body = slice(bos + 1, bos + n)
            assert pos[body].tolist() == list(range(1, n))
            # the target at time p is the input at time p + 1: teacher forcing
            assert tgt[bos + 1:bos + n - 1].tolist()[-3:] == toks[bos + 2:bos + n].tolist()[-3:] or task == "continue"
            if task == "init_pose":
                assert pos[:bos].tolist() == [0]
            if task == "last_pose":
                assert pos[:bos].tolist() == [n - 1]
            if task == "continue":
                given = int((tgt[bos:bos + n] == -100).sum())
                assert 1 <= given <= 10 and bool((tgt[bos + given:bos + n] >= 0).all())
        assert (batch["task"] == TASKS[task]).all()


def test_static_pose_window_zeroes_root_velocity_in_raw_units(synthetic):
    cache = load_cache(synthetic["cache"])
    frames = cache.normalise(cache.features[:3])
    w = static_pose_window(frames, cache)
    raw = w * cache.std + cache.mean
    assert w.shape == (3, 4, 71)
    np.testing.assert_allclose(raw[:, :, 0:3], 0.0, atol=1e-5)
    np.testing.assert_allclose(raw[:, 1, 3:], cache.features[:3, 3:], atol=1e-4)


def test_batched_generation_equals_one_at_a_time():
    from trainer.gpt import generate_batch
    model = _gpt()
    g = torch.Generator().manual_seed(0)
    texts = torch.randn(3, 8, generator=g)
    reqs = [{"text_emb": texts[0].numpy(), "duration": 7},
            {"text_emb": texts[1].numpy(), "duration": 5, "task": TASKS["key_poses"], "controls": [([2], 0), ([9], 4)]},
            {"text_emb": texts[2].numpy(), "duration": 9, "task": TASKS["continue"], "past": [[1], [4], [4]]}]
    for guidance in (1.0, 2.5):
        batched = generate_batch(model, reqs, temperature=0, guidance=guidance)
        for r, got in zip(reqs, batched):
            one = generate(model, r["duration"], r["text_emb"], task=r.get("task", 0), controls=r.get("controls", ()),
                           past_codes=r.get("past"), temperature=0, guidance=guidance)
            assert got.tolist() == one.tolist()


def test_multi_segment_requests_continue_from_the_previous_codes():
    from trainer.gpt import continuation_past, generate_segments
    model = _gpt()
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(8, generator=g), torch.randn(8, generator=g)
    codes = generate_segments(model, [{"text_emb": a, "duration": 6}, {"text_emb": b, "duration": 5}], temperature=0)
    first = generate(model, 6, a, temperature=0)
    assert codes.shape == (11, 1) and torch.equal(codes[:6], first)
    second = generate(model, 11, b, task=TASKS["continue"], past_codes=first.tolist(), temperature=0)[6:]
    assert torch.equal(codes[6:], second)
    assert continuation_past(30, 5, model.cfg) == 10 and continuation_past(3, 5, model.cfg) == 3
    assert continuation_past(30, 20, model.cfg) == 0  # a 20-token segment leaves no room in max_tokens = 20


@torch.no_grad()
def test_tied_control_is_its_motion_code_plus_the_control_vector():
    model = _gpt(2, tied=True)
    model.control.normal_()
    v = model.cfg.codebook_size
    codes = torch.tensor([[[3, 7], [0, 15]]])
    pos = torch.tensor([[2, 5]])
    cond = torch.zeros(1, model.cfg.n_embd)
    duration = torch.tensor([9])
    as_motion = model.embed(codes, pos, cond, duration)
    as_control = model.embed(codes + v, pos, cond, duration)
    assert torch.allclose(as_control - as_motion, model.control.expand(1, 2, -1), atol=1e-6)
    # BOS and PAD keep their own rows
    special = torch.tensor([[[model.cfg.bos] * 2]])
    expected = model.tok[0].weight[model.cfg.bos] + model.tok[1].weight[model.cfg.bos] + model.pos.weight[0] \
        + model.remaining.weight[9]
    assert torch.allclose(model.embed(special, torch.tensor([[0]]), cond, duration)[0, 0], expected, atol=1e-6)
    # the untied model reads control rows of its own
    untied = _gpt(2)
    assert not torch.allclose(untied.embed(codes + v, pos, cond, duration) - untied.embed(codes, pos, cond, duration),
                              torch.zeros(1, 2, untied.cfg.n_embd))


def test_pinned_controls_are_the_targets_and_weigh_more(synthetic):
    from trainer.tasks import ControlTraining
    cache, table = load_cache(synthetic["cache"]), load_embeddings(synthetic["embeddings"])
    pairs = load_zeroshot_pairs(synthetic["pairs"])
    rng = np.random.default_rng(0)
    tokens = {c.id: {"codes": rng.integers(0, 16, (c.length // 4, 1)), "mirrored": None} for c in cache.clips}
    sources = make_sources(make_splits(cache, pairs).train, tokens, table, pairs)
    cfg = GPTConfig(codebook_size=16, text_dim=table.dim, max_tokens=20, cond_drop=0.0)
    for task in ("init_pose", "last_pose", "key_poses"):
        plain = build_batch(sources, 6, cfg, cache, table, _encode_static(1), np.random.default_rng(1), forced_task=task)
        pinned = build_batch(sources, 6, cfg, cache, table, _encode_static(1), np.random.default_rng(1), forced_task=task,
                             control=ControlTraining(pin=True, loss_weight=3.0))
        assert torch.equal(plain["weights"], torch.ones_like(plain["weights"]))
        for i in range(6):
            toks, pos, tgt, w = pinned["tokens"][i, :, 0], pinned["pos"][i], pinned["targets"][i, :, 0], pinned["weights"][i]
            bos = int((toks == cfg.bos).nonzero()[0])
            n = int(pinned["duration"][i])
            for c, p in zip(toks[:bos].tolist(), pos[:bos].tolist()):
                assert tgt[bos + p] == c - cfg.control_offset  # the input at time p predicts m_p
                assert w[bos + p] == 3.0
                if p + 1 < n:
                    assert toks[bos + p + 1] == c - cfg.control_offset  # and m_p is fed back as the control code
            assert int((w == 3.0).sum()) == bos
            # everything not pinned is the plain batch's
            keep = w == 1.0
            assert torch.equal(tgt[keep], plain["targets"][i, :, 0][keep])


def test_weighted_loss_counts_pinned_positions_more():
    from trainer.train import gpt_loss
    model = _gpt()
    tokens, pos, *cond = _inputs(model, b=1, t=5)
    targets = torch.tensor([[[1], [2], [-100], [4], [5]]])
    batch = {"tokens": tokens, "pos": pos, "text_emb": cond[0][:1], "text_mask": cond[1][:1], "task": cond[2][:1],
             "duration": cond[3][:1], "allowed": causal_mask(5, 0), "targets": targets}
    with torch.no_grad():
        logits, _ = model(tokens, pos, *[c[:1] for c in cond])
        ce = torch.nn.functional.cross_entropy(logits[0, :, 0], targets[0, :, 0], ignore_index=-100, reduction="none")
        assert torch.allclose(gpt_loss(model, batch), ce[[0, 1, 3, 4]].mean(), atol=1e-6)
        batch["weights"] = torch.tensor([[1.0, 1.0, 1.0, 4.0, 1.0]])
        expected = (ce[0] + ce[1] + 4 * ce[3] + ce[4]) / 7
        assert torch.allclose(gpt_loss(model, batch), expected, atol=1e-6)
        assert torch.allclose(gpt_loss(model, batch, weighted=False), ce[[0, 1, 3, 4]].mean(), atol=1e-6)


def test_fine_tuning_starts_from_another_runs_weights(tmp_path):
    from trainer.config import Config
    from trainer.data import DataError
    from trainer.train import init_from
    old = _gpt()
    cfg = Config("old", gpt=old.cfg)
    path = str(tmp_path / "gpt.pt")
    torch.save({"model": old.state_dict(), "config": cfg.to_dict(), "step": 7}, path)
    new = MotionGPT(GPTConfig(**{**cfg.to_dict()["gpt"], "tied_controls": True}))
    init_from(new, path)
    assert torch.equal(new.blocks[0].attn.qkv.weight, old.blocks[0].attn.qkv.weight)
    assert torch.equal(new.control, torch.zeros_like(new.control))
    bigger = MotionGPT(GPTConfig(**{**cfg.to_dict()["gpt"], "n_embd": 64}))
    with pytest.raises(DataError, match="another shape"):
        init_from(bigger, path)
