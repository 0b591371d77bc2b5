"""The embedded planner's pixel statistics (``PlannerConfig.pixel_stats``,
agents/embedded/pixels.py): what they measure, their running standardization, the cached and
the live paths agreeing, checkpoints, and the errors. Small: 32 px."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from agents.embedded import EmbeddedAgent, EmbeddedPlanner, PlannerBatch, PlannerConfig, prepare
from agents.embedded.pixels import (
    N_PER_IMAGE,
    N_PIXEL_STATISTICS,
    RunningStandardize,
    image_statistics,
    pixel_statistics,
)
from agents.embedded.training import train, with_pixel_statistics
from styling_env.context_features import CONTEXT_FEATURE_NAMES, context_features

CFG = PlannerConfig(image_size=32, encoder="hash", hash_dim=256, pixel_stats=True)


def _images(n: int, seed: int = 0, size: int = 32) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 6, size, size), generator=g).to(torch.uint8)


def test_statistics_are_the_context_features_of_both_images():
    imgs = _images(5)
    stats = pixel_statistics(imgs)
    assert stats.shape == (5, N_PIXEL_STATISTICS) and len(CONTEXT_FEATURE_NAMES) == N_PER_IMAGE
    cur = context_features(imgs[:, :3].float() * (1.0 / 255.0))
    src = context_features(imgs[:, 3:].float() * (1.0 / 255.0))
    torch.testing.assert_close(stats, torch.cat([cur, src], 1))
    # a darker source moves the source's luma statistic, not the current image's
    luma = CONTEXT_FEATURE_NAMES.index("luma_mean")
    dark = imgs.clone()
    dark[:, 3:] //= 4
    moved = pixel_statistics(dark)
    assert torch.equal(moved[:, :N_PER_IMAGE], stats[:, :N_PER_IMAGE])
    assert (moved[:, N_PER_IMAGE + luma] < stats[:, N_PER_IMAGE + luma] - 0.2).all()
    # not an inference tensor: a linear layer can learn from it
    torch.nn.Linear(N_PIXEL_STATISTICS, 2)(stats).sum().backward()


def test_bad_images_are_named():
    with pytest.raises(ValueError, match=r"\(B, 6, H, W\) uint8"):
        pixel_statistics(_images(2)[:, :3])
    with pytest.raises(ValueError, match=r"\(B, 6, H, W\) uint8"):
        pixel_statistics(_images(2).float())
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\) uint8"):
        image_statistics(_images(2))


def test_running_standardize_gathers_the_exact_moments():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(300, 4, generator=g) * torch.tensor([1.0, 10.0, 0.01, 3.0]) + 5
    fresh = RunningStandardize(4).eval()
    assert torch.equal(fresh(x[:10]), x[:10])  # identity until it has seen rows in training
    norm = RunningStandardize(4).train()
    for chunk in (x[:1], x[1:100], x[100:]):  # a batch of one is fine
        norm(chunk)
    assert float(norm.count) == 300
    torch.testing.assert_close(norm.mean.float(), x.mean(0))
    z = norm.eval()(x)
    torch.testing.assert_close(z.mean(0), torch.zeros(4), atol=1e-5, rtol=0)
    torch.testing.assert_close(z.std(0), torch.ones(4), atol=1e-4, rtol=0)
    before = norm.mean.clone()
    norm(x * 7)  # eval mode reads, never updates
    assert torch.equal(norm.mean, before) and float(norm.count) == 300


def test_config_errors_and_legacy_checkpoints(tmp_path):
    with pytest.raises(ValueError, match="pixel_stats reads the images' pixels"):
        PlannerConfig(text_only=True, pixel_stats=True)
    with pytest.raises(ValueError, match="pixel_stats must be a bool"):
        PlannerConfig(pixel_stats=1)
    # a checkpoint from before the field builds the planner it was: no pixel statistics
    cfg = PlannerConfig(image_size=32, encoder="hash", hash_dim=256)
    path = EmbeddedAgent.zero_shot(cfg).planner.save(tmp_path / "old.pt")
    blob = torch.load(path, weights_only=True)
    blob["config"] = {k: v for k, v in blob["config"].items() if k not in ("pixel_stats", "pixel_dim")}  # fmt: skip
    torch.save(blob, path)
    loaded = EmbeddedPlanner.load(path)
    assert loaded.config == cfg and loaded.pixel is None


def test_cached_and_live_statistics_give_the_same_planner(small_datasets, tmp_path, live_actions):
    """Training measures every stored image once (``with_pixel_statistics``); a live
    observation or a batch without them is measured on the fly: the same numbers, the same
    log-probabilities. The standardization is learned in training and saved."""
    data = with_pixel_statistics(prepare(small_datasets["regular"], CFG))
    assert data.pixels is not None
    assert data.pixels[0].shape == (len(data), N_PER_IMAGE)
    path = tmp_path / "px.pt"
    res = train(data, method="s", config=CFG, steps=30, batch_size=16, progress=False,
                rewordings=0, checkpoint=path)  # fmt: skip
    model = res.planner
    assert float(model.pixel_norm.count) == res.samples  # every training row, nothing else
    loaded = EmbeddedPlanner.load(path)
    assert torch.equal(loaded.pixel_norm.mean, model.pixel_norm.mean)
    b = data.batch(torch.arange(12))
    assert b.pixels is not None and b.pixels.shape == (12, N_PIXEL_STATISTICS)
    live = replace(b, pixels=None)
    torch.testing.assert_close(pixel_statistics(b.images), b.pixels)
    torch.testing.assert_close(loaded.step_log_prob(live)[1], model.step_log_prob(b)[1])
    # the statistics reach the policy: other numbers, other log-probabilities
    shifted = replace(b, pixels=b.pixels + 1.0)
    assert not torch.allclose(model.step_log_prob(shifted)[1], model.step_log_prob(b)[1])
    live_actions(EmbeddedAgent(loaded), "regular")  # a live env's observations: the same path


def test_text_only_batches_carry_no_statistics(small_datasets):
    cfg = PlannerConfig(image_size=32, encoder="hash", hash_dim=256, text_only=True)
    data = prepare(small_datasets["simple"], cfg)
    with pytest.raises(ValueError, match="need the rows' images"):
        with_pixel_statistics(data)
    b: PlannerBatch = data.batch(torch.arange(4), images=False)
    assert b.pixels is None and b.images is None
