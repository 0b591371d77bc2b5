"""The environment's fast paths give the numbers of the plain ones, and the GPU check runs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from styling_env import make_images
from styling_env.engine import Engine
from styling_env.features import box_mean, row_quantiles
from styling_env.tasks import sample_task
from styling_env.tools import ToolCall


@pytest.mark.parametrize("window", [(3, 3), (1, 7), (7, 1), (5, 5), (1, 1), (3, 7)])
def test_box_mean_is_avg_pool_to_the_bit(window):
    kh, kw = window
    for x in (
        torch.rand(3, 3, 64, 64, generator=torch.Generator().manual_seed(0)),
        torch.rand(2, 1, 37, 50, generator=torch.Generator().manual_seed(1)) * 3 - 1,
        make_images("mix", 4, 64, 3).pixels,
    ):
        want = F.avg_pool2d(x, (kh, kw), 1, (kh // 2, kw // 2), count_include_pad=False)
        assert torch.equal(box_mean(x, kh, kw), want)


def test_box_mean_names_a_bad_window():
    with pytest.raises(ValueError, match="odd window sides"):
        box_mean(torch.zeros(1, 1, 8, 8), 2)


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 6, 7])
def test_window_mean_is_valid_avg_pool_to_the_bit(k):
    """Kuwahara's box means (and the tools' region feathering through ``box_mean``): the
    shifted sums give the pooling kernel's bits, with every window size Kuwahara uses (2-6)."""
    from styling_env.tools.ops import window_mean

    for x in (
        torch.rand(3, 3, 70, 70, generator=torch.Generator().manual_seed(0)),
        torch.rand(2, 1, 37, 50, generator=torch.Generator().manual_seed(1)) * 3 - 1,
        make_images("mix", 4, 64, 3).pixels,
    ):
        assert torch.equal(window_mean(x, k), F.avg_pool2d(x, k, stride=1)), k
    with pytest.raises(ValueError, match="does not fit"):
        window_mean(torch.zeros(1, 1, 4, 8), 5)


def test_row_quantiles_are_torch_quantile_to_the_bit():
    g = torch.Generator().manual_seed(2)
    for n in (4096, 100, 37):
        for flat in (torch.rand(8, n, generator=g), (torch.rand(8, n, generator=g) * 10).round()):
            want = torch.quantile(flat, torch.tensor([0.1, 0.9]), dim=1).T
            assert torch.equal(row_quantiles(flat, (0.1, 0.9)), want)


def _run(engine: Engine, tasks, calls) -> list:
    out = []
    for task in tasks:
        engine.reset([0], [task])
        s = engine.slots[0]
        out.append((s.score.overall, s.context.tolist()))
        for c in calls:
            ((reward, _, _, info),) = engine.step([0], [c])
            out.append((reward, info["overall"], engine.slots[0].context.tolist()))
    return out


def test_cached_task_starts_give_the_same_episodes():
    tasks = [sample_task(tier, seed, "test") for tier in ("simple", "complex") for seed in (1, 2)]
    calls = [
        ToolCall("time_of_day", "sunrise_golden", 0.7),
        ToolCall("season_cycle", "autumn_falling", 0.5),
    ]
    cached, plain = Engine(1, image_size=32), Engine(1, image_size=32)
    plain.cache_bytes = 0
    first = _run(cached, tasks, calls)
    again = _run(cached, tasks, calls)  # every start from the cache now
    assert cached.counts["reset_cached"] == len(tasks)
    assert first == again == _run(plain, tasks, calls)
    assert plain.counts["reset_cached"] == 0


def test_the_cache_keeps_to_its_budget():
    engine = Engine(1, image_size=32)
    engine.cache_bytes = 300_000  # a few 32 px starts
    for seed in range(12):
        engine.reset([0], [sample_task("simple", seed, "test")])
    assert 0 < len(engine._cache) < 12
    assert engine._cached_bytes <= engine.cache_bytes


def test_gpu_check_runs_on_cpu_at_toy_sizes(tmp_path):
    pytest.importorskip("peft")
    from experiments import gpu_check

    out = tmp_path / "gpu.json"
    report = gpu_check.main(["--toy", "--device", "cpu", "--out", str(out)])
    saved = json.loads(out.read_text())
    assert saved["machine"]["toy"] is True and saved == json.loads(json.dumps(report))
    assert {(r["num_envs"], r["size"]) for r in saved["env"]} == {(4, 32), (2, 64)}
    for r in saved["env"]:
        assert r["steps_per_s"] > 0 and r["env_vs_tools"] > 0
        assert 0 < r["env_own_work"] < 1 and r["env_vs_tools_ceiling"] > r["env_vs_tools"]
    assert saved["judge"][0]["judge_ms"] > 0
    (lora,) = saved["lora"]
    assert lora["shape"] == "toy" and lora["tokens_per_s"] > 0 and lora["trainable"] > 0
    assert np.isfinite(lora["step_s"])


def test_gpu_check_names_missing_dependencies(monkeypatch, tmp_path):
    from experiments import gpu_check

    monkeypatch.setattr(gpu_check, "CARRIED", {"no_such_module_xyz": ("no-such-dist",)})
    with pytest.raises(RuntimeError, match="no-such-dist.*make gpu-wheels"):
        gpu_check.ensure_dependencies(None)
    with pytest.raises(RuntimeError, match="no-such-dist"):
        gpu_check.ensure_dependencies(tmp_path / "absent")


def test_a_task_twice_in_one_reset_is_built_once():
    task, other = sample_task("complex", 5, "test"), sample_task("simple", 6, "test")
    engine = Engine(3, image_size=32)
    engine.reset([0, 1, 2], [task, other, task])
    assert engine.counts["reset"] == 3 and engine.counts["reset_cached"] == 1
    a, b = engine.slots[0], engine.slots[2]
    assert a.reference is b.reference and a.score.overall == b.score.overall
    call = ToolCall("season_cycle", "autumn_falling", 0.5)
    r = engine.step([0, 2], [call, call])
    assert r[0][0] == r[1][0]  # the two episodes stay alike and independent
    assert engine.slots[0].image is not engine.slots[2].image


def test_gaussian_blur_and_sobel_match_kornia():
    import kornia

    from styling_env.features import gaussian_blur, sobel

    for x in (make_images("mix", 3, 64, 4).pixels, torch.rand(2, 3, 40, 56)):
        for k, sigma in ((5, 1.0), (17, 4.0)):
            want = kornia.filters.gaussian_blur2d(x, (k, k), (sigma, sigma), border_type="reflect")
            torch.testing.assert_close(gaussian_blur(x, k, sigma), want, atol=1e-6, rtol=0)
        lum = x.mean(1)
        want = kornia.filters.spatial_gradient(lum[:, None], "sobel", normalized=True)[:, 0]
        sx, sy = sobel(lum)
        torch.testing.assert_close(torch.stack([sx, sy], 1), want, atol=1e-6, rtol=0)


def test_gaussian_blur_names_an_image_too_small_for_its_kernel():
    from styling_env.features import gaussian_blur

    with pytest.raises(ValueError, match="17-tap blur needs a side > 8"):
        gaussian_blur(torch.zeros(1, 3, 8, 8), 17, 4.0)


def test_row_std_is_torch_std():
    from styling_env.features import row_std

    g = torch.Generator().manual_seed(5)
    for flat in (torch.rand(6, 4096, generator=g), torch.rand(3, 7, generator=g) * 100 + 1e3):
        torch.testing.assert_close(row_std(flat), flat.std(1), atol=1e-5, rtol=1e-5)


def test_references_render_shared_prefixes_as_plain_plans():
    from styling_env.oracle import render_shared
    from styling_env.tools import apply_plan

    batch = make_images("mix", 2, 64, 6)
    a = ToolCall("season_cycle", "winter_bare", 0.7)
    b = ToolCall("time_of_day", "sunrise_golden", 0.5)
    c = ToolCall("color_grading", "earth_natural", 0.6, "subject")
    rows = [0, 0, 0, 0, 1, 1, 0]
    plans = [[a, b, c], [b, c], [a, c], [a, b], [c, a], [], [a, b, c]]
    sel = torch.tensor(rows)
    want = apply_plan(batch.pixels[sel], plans, batch.masks[sel], batch.has_masks[sel])
    got = render_shared(batch.pixels, rows, plans, batch.masks, batch.has_masks)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=0)
    assert torch.equal(got[5], batch.pixels[1])  # an empty plan is the image itself
    with pytest.raises(ValueError, match="got 1 rows for 2 plans"):
        render_shared(batch.pixels, [0], [[a], [b]])


def test_a_stop_keeps_the_score_the_judge_would_give():
    from styling_env.engine import Stop

    task = sample_task("complex", 3, "test")
    engine = Engine(1, image_size=64)
    engine.reset([0], [task])
    engine.step([0], [ToolCall("season_cycle", "winter_bare", 0.6)])
    ((reward, terminated, _, info),) = engine.step([0], [Stop()])
    assert terminated and reward == 0.0
    want = engine.judge.score([engine._episode(engine.slots[0])])[0]
    assert (
        engine.slots[0].score.as_dict()
        == want.as_dict()
        == {k: v for k, v in info.items() if k in want.as_dict()}
    )
