"""The causal VQ-VAE: causality, shapes, product quantization, EMA / dead-code behaviour, and that it learns."""
import pytest
import torch

from trainer.vqvae import VQVAE, VQConfig, codebook_stats


def _model(**kw):
    torch.manual_seed(0)
    cfg = VQConfig(dim=71, width=32, depth=2, code_dim=16, codebook_size=32, **kw)
    return VQVAE(cfg)


def test_latent_t_sees_only_frames_up_to_4t_plus_3():
    model = _model().eval()
    x = torch.randn(1, 40, 71)
    y = x.clone()
    y[:, 21:] += torch.randn(1, 19, 71)  # change the future from frame 21 on
    with torch.no_grad():
        za, zb = model.encoder(x), model.encoder(y)
    # token 4 covers frames 16..19, token 5 covers 20..23 (frame 21 is inside it)
    assert torch.allclose(za[:, :5], zb[:, :5], atol=1e-6)
    assert not torch.allclose(za[:, 5], zb[:, 5], atol=1e-4)


def test_prefix_codes_do_not_change_when_frames_are_appended():
    model = _model().eval()
    x = torch.randn(1, 48, 71)
    assert torch.equal(model.encode(x[:, :24]), model.encode(x)[:, :6])


def test_shapes_with_product_quantization():
    model = _model(num_codebooks=4).eval()
    x = torch.randn(3, 32, 71)
    codes = model.encode(x)
    assert codes.shape == (3, 8, 4) and codes.dtype == torch.int64 and int(codes.max()) < 32
    assert model.decode(codes).shape == (3, 32, 71)


def test_code_dim_must_split_evenly_into_codebooks():
    with pytest.raises(ValueError, match="not divisible by vq.num_codebooks 3"):
        _model(num_codebooks=3)


def test_downsample_other_than_four_is_refused():
    with pytest.raises(ValueError, match="vq.downsample must be 4"):
        VQVAE(VQConfig(downsample=8))


def test_dead_codes_are_reseeded_from_the_batch():
    model = _model(dead_threshold=0.5)
    book = model.quantizer.books[0]
    x = torch.randn(4, 32, 71)
    model(x)  # first call seeds the codebook from the batch
    book.cluster_size.fill_(0.0)  # pretend no code has been used for a long time
    before = book.embed.clone()
    model(x)
    assert not torch.allclose(before, book.embed)
    assert bool((book.cluster_size >= 0.5).all())


def test_training_reduces_reconstruction_loss_and_uses_many_codes():
    torch.manual_seed(0)
    model = _model()
    t = torch.linspace(0, 6.28, 64)
    x = torch.stack([torch.sin(t[:, None] * (1 + i / 10) + torch.arange(71) / 7) for i in range(8)])
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    first = None
    for _ in range(60):
        _, codes, losses = model(x)
        opt.zero_grad()
        losses["loss"].backward()
        opt.step()
        first = first if first is not None else float(losses["recon"])
    assert float(losses["recon"]) < 0.5 * first
    stats = codebook_stats(codes, 32)
    assert stats["usage"] > 0.1 and stats["perplexity"] > 3  # not collapsed onto one code


def test_codebook_stats_of_known_histograms():
    uniform = torch.arange(8).reshape(8, 1)
    assert codebook_stats(uniform, 8) == {"usage": 1.0, "perplexity": pytest.approx(8.0)}
    single = torch.zeros(10, 1, dtype=torch.long)
    assert codebook_stats(single, 8) == {"usage": 0.125, "perplexity": pytest.approx(1.0)}
