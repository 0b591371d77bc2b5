"""The tool library: every value of every tool, batched application, gradients and bad input."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from styling_env import TOOLS, ToolCall, apply_calls, make_images
from styling_env.images import MASK_NAMES
from styling_env.tools import OPS, RECIPES, REGIONS, SIGNATURE_ONLY, apply_plan, apply_recipe
from styling_env.tools.recipes import ALL_RECIPES
from styling_env.tools.vocabulary import (
    ALL_TOOLS,
    MAX_VALUES,
    N_VALUES,
    RENDERED_TOOLS,
    VALUE_PARAMS,
)

ALL_VALUES = [(tool, value) for tool, values in TOOLS.items() for value in values]
SIZE = 48


@pytest.fixture(scope="module")
def batch():
    """Four procedural scenes (outdoor and interior, with masks) and two photographs."""
    proc = make_images("procedural", 4, SIZE, seed=1)
    photo = make_images("bundled", 2, SIZE, seed=1)
    return (
        torch.cat([proc.pixels, photo.pixels]),
        torch.cat([proc.masks, photo.masks]),
        torch.cat([proc.has_masks, photo.has_masks]),
    )


@pytest.fixture(scope="module")
def rendered(batch):
    """Every value at strength 0.8 on the whole batch, computed once."""
    x, m, k = batch
    return {tv: apply_calls(x, ToolCall(*tv, 0.8), masks=m, has_masks=k) for tv in ALL_VALUES}


def test_vocabulary_matches_appendix_a():
    assert len(TOOLS) == 10
    assert [len(v) for v in TOOLS.values()] == [30, 20, 15, 10, 4, 12, 15, 18, 22, 25]
    assert N_VALUES == 171 and MAX_VALUES == 30
    assert list(TOOLS)[3] == "time_of_day" and TOOLS["season_cycle"][3] == "winter_bare"
    assert set(VALUE_PARAMS) == set(TOOLS)
    assert set(RECIPES) == set(TOOLS)
    assert all(set(RECIPES[t]) == set(TOOLS[t]) for t in TOOLS)
    assert REGIONS[1:7] == MASK_NAMES


def test_every_recipe_uses_known_ops_and_is_short():
    for tool, value in ALL_VALUES:
        steps = RECIPES[tool][value]
        assert 1 <= len(steps) <= 8, (tool, value)
        assert all(s.op in OPS for s in steps)
    # every op serves some recipe of some library (the v3 library's own ops included)
    used = {s.op for table in ALL_RECIPES.values() for steps in table.values() for s in steps}
    assert used == set(OPS), f"ops no recipe uses: {set(OPS) - used}"


def test_signature_only_values_are_documented():
    assert all(tool in ALL_TOOLS and value in ALL_TOOLS[tool] for tool, value in SIGNATURE_ONLY)
    assert ("location_setting", "alien_planet") in SIGNATURE_ONLY
    assert ("time_of_day", "night_moonlit") not in SIGNATURE_ONLY


@pytest.mark.parametrize("tool", list(TOOLS))
def test_every_value_shape_dtype_range_and_changes_the_image(tool, batch, rendered):
    x = batch[0]
    for value in TOOLS[tool]:
        y = rendered[(tool, value)]
        assert y.shape == x.shape and y.dtype == torch.float32
        assert torch.isfinite(y).all() and y.min() >= 0 and y.max() <= 1
        diff = (y - x).abs()
        # sparse effects (falling leaves) change few pixels but change them a lot
        assert diff.mean() > 0.004 or (diff.amax() > 0.3 and diff.mean() > 0.001), (
            value,
            diff.mean(),
        )
        for i in range(x.shape[0]):  # on every single image, not just on average
            assert (y[i] - x[i]).abs().amax() > 0.05, (value, i)


@pytest.mark.parametrize("tool", list(TOOLS))
def test_siblings_differ_measurably(tool, rendered):
    for a, b in itertools.combinations(TOOLS[tool], 2):
        diff = (rendered[(tool, a)] - rendered[(tool, b)]).abs()
        mean = diff.mean().item()
        # sparse effects (leaves vs petals) differ strongly on a few percent of the pixels
        moved = (diff.amax(1) > 0.1).float().mean().item()
        assert mean > 0.015 or moved > 0.01, (
            f"{tool}: {a} ~ {b} (mean {mean:.4f}, moved {moved:.3f})"
        )


def test_strength_zero_is_the_identity_bit_for_bit(batch):
    x, m, k = batch
    for tool, value in ALL_VALUES:
        y = apply_recipe(x, tool, value, 0.0, masks=m, has_masks=k)
        assert torch.equal(y, x), (tool, value)
    y = apply_calls(x, ToolCall("time_of_day", "night_moonlit", 0.0))
    assert torch.equal(y, x)


def test_strength_is_monotone_for_photometric_values(batch):
    x = batch[0]
    for tv in [
        ("time_of_day", "night_moonlit"),
        ("color_grading", "monochrome_bw"),
        ("weather_conditions", "fog_dense"),
    ]:
        d = [
            (apply_calls(x, ToolCall(*tv, s)) - x).abs().mean().item() for s in (0.2, 0.5, 0.8, 1.0)
        ]
        assert d == sorted(d) and d[0] > 0, (tv, d)


def test_deterministic(batch):
    x, m, k = batch
    for tv in [
        ("weather_conditions", "heavy_snow_blizzard"),
        ("atmospheric_effects", "film_grain"),
        ("artistic_medium", "collage_mixed_media"),
    ]:
        a = apply_calls(x, ToolCall(*tv, 0.7), masks=m, has_masks=k)
        b = apply_calls(x.clone(), ToolCall(*tv, 0.7), masks=m.clone(), has_masks=k.clone())
        assert torch.equal(a, b), tv


def test_batched_equals_per_image(batch):
    x, m, k = batch
    calls = [
        ToolCall("season_cycle", "winter_bare", 0.9),
        ToolCall("season_cycle", "winter_bare", 0.3),
        ToolCall("artistic_medium", "oil_painting_thick", 0.7),
        None,
        ToolCall("weather_conditions", "partly_cloudy", 0.6),
        ToolCall("color_grading", "neutral_balanced", 1.0),
    ]
    together = apply_calls(x, calls, masks=m, has_masks=k)
    for i, c in enumerate(calls):
        alone = apply_calls(x[i : i + 1], [c], masks=m[i : i + 1], has_masks=k[i : i + 1])
        torch.testing.assert_close(together[i : i + 1], alone, atol=2e-5, rtol=0)
    assert torch.equal(together[3], x[3])
    # every value: a batch of different strengths equals one image at a time
    s = torch.linspace(0.2, 1.0, x.shape[0])
    for tool, value in ALL_VALUES:
        y = apply_recipe(x, tool, value, s, masks=m, has_masks=k)
        i = 2
        y1 = apply_recipe(
            x[i : i + 1], tool, value, s[i : i + 1], masks=m[i : i + 1], has_masks=k[i : i + 1]
        )
        torch.testing.assert_close(y[i : i + 1], y1, atol=2e-5, rtol=0, msg=f"{tool}/{value}")


def test_fast_paths_give_the_general_paths_bits(batch):
    """What ``apply_calls`` skips is exactly what it would have computed: a group of
    neighbouring images runs on a view (the input untouched), a recipe with only positive
    strengths skips the strength-0 pass, and ``blur`` with its cached taps equals kornia's
    ``gaussian_blur2d`` (the function it stands in for), at a small and a large size."""
    import kornia

    from styling_env.tools.ops import blur

    x, m, k = batch
    x0 = x.clone()
    calls = [ToolCall("weather_conditions", "fog_dense", s) for s in (0.3, 0.6, 0.9)]
    calls += [ToolCall("time_of_day", "golden_hour_sunset", 0.5), None, calls[0]]
    together = apply_calls(x, calls, masks=m, has_masks=k)  # runs [0:3] and [3:4] are views
    assert torch.equal(x, x0)
    for i, c in enumerate(calls):
        ref = x[i] if c is None else apply_recipe(
            x[i : i + 1], c.tool, c.value, c.strength, masks=m[i : i + 1], has_masks=k[i : i + 1]
        )[0]  # fmt: skip
        torch.testing.assert_close(together[i], ref, atol=2e-5, rtol=0)
    s = torch.linspace(0.2, 1.0, x.shape[0])
    for tool, value in ALL_VALUES[::7]:
        a = apply_recipe(x, tool, value, s, masks=m, has_masks=k)
        b = apply_recipe(x, tool, value, s, masks=m, has_masks=k, positive=True)
        assert torch.equal(a, b), (tool, value)
    for size, sigma in ((48, 1.5), (48, 3.0), (300, 2.5)):
        img = torch.rand(2, 3, size, size)
        kk = 2 * math.ceil(2.5 * sigma) + 1
        want = kornia.filters.gaussian_blur2d(
            img.contiguous(memory_format=torch.channels_last), (kk, kk), (sigma, sigma), "reflect"
        )
        assert torch.equal(blur(img, sigma), want.contiguous()), (size, sigma)


def test_calls_that_read_no_masks_render_the_same_without_them(batch):
    """``reads_masks`` is what lets the env and the oracle skip gathering masks: every rendered
    value of every library it says reads none renders the same bits with ``masks=None``; a
    region, a preserved region or a sky-aware recipe does read them."""
    from styling_env.tools.apply import reads_masks

    x, m, k = batch
    values = [(t, v) for t in RENDERED_TOOLS for v in ALL_TOOLS[t]]
    blind = 0
    for tool, value in values:
        call = ToolCall(tool, value, 0.7)
        if reads_masks(call):
            continue
        blind += 1
        with_masks = apply_calls(x, call, masks=m, has_masks=k)
        assert torch.equal(apply_calls(x, call), with_masks), (tool, value)
    assert 0 < blind < len(values)
    assert reads_masks(ToolCall("weather_conditions", "fog_dense", 0.5))  # haze reads the sky
    assert reads_masks(ToolCall("time_of_day", "golden_hour_sunset", 0.5))  # a sky gradient
    city = ToolCall("location_setting", "urban_city", 0.5)
    assert not reads_masks(city)
    assert reads_masks(ToolCall(city.tool, city.value, 0.5, region="subject"))
    assert reads_masks(ToolCall(city.tool, city.value, 0.5, params=(("preserve", "sky"),)))
    # a rule of the normal library renders nothing: asking is fine, rendering it is named
    from styling_env.oracle import render_shared

    rule = ToolCall("exclude_region", ALL_TOOLS["exclude_region"][0], 0.5)
    assert not reads_masks(rule)
    with pytest.raises(ValueError, match="a rule of the normal library"):
        render_shared(x, [0], [[rule]], m, k)


def test_regions_restrict_the_edit_to_the_mask(batch):
    x, m, k = batch
    xi, mi = x[:4], m[:4]
    sky = mi[:, MASK_NAMES.index("sky")]
    assert sky.sum() > 0
    y = apply_calls(xi, ToolCall("color_grading", "monochrome_bw", 1.0, region="sky"), masks=mi)
    changed = (y - xi).abs().amax(1)
    # away from the one-pixel feather, nothing outside the sky moved
    far = torch.nn.functional.max_pool2d(sky[:, None], 5, stride=1, padding=2)[:, 0] == 0
    assert changed[far].max() == 0
    assert changed[sky > 0].mean() > 0.01
    keep = apply_calls(
        xi,
        ToolCall("time_of_day", "night_moonlit", 1.0, params={"preserve_foreground": True}),
        masks=mi,
    )
    subj = mi[:, MASK_NAMES.index("subject")]
    core = torch.nn.functional.avg_pool2d(subj[:, None], 3, stride=1, padding=1)[:, 0] == 1
    if core.any():
        assert (keep - xi).abs().amax(1)[core].max() == 0


def test_apply_plan_applies_calls_in_order(batch):
    x = batch[0][:2]
    plan = [
        ToolCall("time_of_day", "night_moonlit", 0.8),
        ToolCall("weather_conditions", "light_snow", 0.8),
    ]
    y = apply_plan(x, [plan, plan[:1]])
    step1 = apply_calls(x, [plan[0], plan[0]])
    torch.testing.assert_close(y[1], step1[1])
    torch.testing.assert_close(y[0:1], apply_calls(step1[0:1], [plan[1]]))


def test_gradients_flow_through_strength_and_pixels(batch):
    x = batch[0][:2].clone().requires_grad_(True)
    s = torch.tensor([0.5, 0.7], requires_grad=True)
    for tool, value in [
        ("time_of_day", "night_moonlit"),
        ("season_cycle", "winter_bare"),
        ("artistic_medium", "oil_painting_smooth"),
    ]:
        y = apply_recipe(x, tool, value, s)
        (gx, gs) = torch.autograd.grad(y.mean(), (x, s))
        assert torch.isfinite(gx).all() and gx.abs().sum() > 0, (tool, value)
        assert torch.isfinite(gs).all() and (gs.abs() > 0).all(), (tool, value)


_GRADCHECK = {
    "exposure": dict(ev=-1.0),
    "gamma": dict(g=1.4),
    "contrast": dict(amount=0.5),
    "s_curve": dict(amount=0.7),
    "saturation": dict(factor=1.5),
    "white_balance": dict(temp=0.5, tint=0.2),
    "split_tone": dict(shadows=(0.2, 0.3, 0.6), highlights=(1.0, 0.7, 0.4)),
    "tint": dict(color=(1.0, 0.5, 0.2), mode="soft_light"),
    "hue_shift": dict(source=(0.2, 0.6, 0.2), target=(0.9, 0.5, 0.1)),
    "vignette": dict(amount=0.6),
    "bloom": dict(threshold=0.5),
    "grain": dict(sigma=0.05),
    "clarity": dict(amount=0.8),
    "soften": dict(sigma=0.1),
    "kuwahara": dict(radius=0.1),
    "chromatic_aberration": dict(shift=0.05),
    "mosaic": dict(cells=4.0, kind="triangle"),
    "particles": dict(count=200, size=0.05),
    "texture": dict(kind="paper", amount=0.3),
    "gradient_map": dict(stops=((0.1, 0.05, 0.0), (0.9, 0.8, 0.7))),
    "emboss": dict(amount=0.5),
}


@pytest.mark.parametrize("name", sorted(_GRADCHECK))
def test_gradcheck_differentiable_primitives(name):
    torch.manual_seed(0)
    x = (torch.rand(2, 3, 12, 12, dtype=torch.float64) * 0.8 + 0.1).requires_grad_(True)
    t = torch.tensor([0.4, 0.8], dtype=torch.float64).view(2, 1, 1, 1).requires_grad_(True)
    fn = OPS[name].fn
    assert torch.autograd.gradcheck(
        lambda a, b: fn(a, b, **_GRADCHECK[name]), (x, t), eps=1e-6, atol=1e-4
    )


# ---------------------------------------------------------------------------------------------
# bad input


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(tool="season", value="winter_bare"), ValueError, "unknown tool 'season'"),
        (
            dict(tool="season_cycle", value="winter"),
            ValueError,
            "unknown value 'winter' for tool 'season_cycle'",
        ),
        (
            dict(tool="season_cycle", value="winter_bare", strength=1.5),
            ValueError,
            r"strength must be in \[0, 1\], got 1.5",
        ),
        (
            dict(tool="season_cycle", value="winter_bare", strength=-0.1),
            ValueError,
            "strength must be in",
        ),
        (
            dict(tool="season_cycle", value="winter_bare", strength=float("nan")),
            ValueError,
            "got nan",
        ),
        (
            dict(tool="season_cycle", value="winter_bare", strength="0.5"),
            TypeError,
            "strength must be a real number",
        ),
        (
            dict(tool="season_cycle", value="winter_bare", strength=True),
            TypeError,
            "strength must be a real number",
        ),
        (
            dict(tool="season_cycle", value="winter_bare", region="roof"),
            ValueError,
            "unknown region 'roof'",
        ),
        (dict(tool=3, value="winter_bare"), TypeError, "must be strings"),
    ],
)
def test_bad_tool_calls(kwargs, error, match):
    with pytest.raises(error, match=match):
        ToolCall(**kwargs)


def test_tool_call_strengths_may_be_numpy_numbers():
    # an agent's strengths often come out of an array: np.float32 is a number like any other
    for s in (np.float32(0.5), np.float64(0.5), np.int64(1)):
        call = ToolCall("season_cycle", "winter_bare", s)
        assert type(call.strength) is float and call.strength == float(s)
    with pytest.raises(ValueError, match=r"strength must be in \[0, 1\], got 1.5"):
        ToolCall("season_cycle", "winter_bare", np.float32(1.5))


def test_paper_json_round_trip_and_levels():
    c = ToolCall.from_dict(
        {"action_id": "season_cycle", "reasoning": "...", "priority": 1,
         "parameters": {"target_season": "winter_bare", "intensity": "heavy", "ground_cover": "snow"}}
    )  # fmt: skip
    assert (c.tool, c.value, c.strength) == ("season_cycle", "winter_bare", 0.85)
    assert dict(c.params) == {"ground_cover": "snow", "intensity": "heavy"}
    again = ToolCall.from_dict(c.to_dict())
    assert again.tool == c.tool and again.value == c.value and again.strength == c.strength
    with pytest.raises(ValueError, match="no 'target_time' parameter"):
        ToolCall.from_dict({"action_id": "time_of_day", "parameters": {}})
    with pytest.raises(ValueError, match="intensity='blazing' is neither a number"):
        ToolCall.from_dict(
            {
                "action_id": "time_of_day",
                "parameters": {"target_time": "blue_hour", "intensity": "blazing"},
            }
        )
    with pytest.raises(ValueError, match="unknown tool 'paint'"):
        ToolCall.from_dict({"action_id": "paint", "parameters": {}})
    with pytest.raises(TypeError, match="must be a JSON object"):
        ToolCall.from_dict(["season_cycle"])
    # a typo of a key the call reads would leave its strength or region at the default
    for typo, key in (("strenght", "strength"), ("regoin", "region"), ("target_seson", "target_season")):  # fmt: skip
        params = {"target_season": "winter_bare", typo: 0.2}
        with pytest.raises(ValueError, match=f"unknown parameter '{typo}' \\(did you mean '{key}'"):
            ToolCall.from_dict({"action_id": "season_cycle", "parameters": params})
    with pytest.raises(
        ValueError, match="names two values: target_season='winter_bare' and value="
    ):
        ToolCall.from_dict({"action_id": "season_cycle",
                            "parameters": {"target_season": "winter_bare", "value": "summer_lush"}})  # fmt: skip
    secondary = {"target_season": "winter_bare", "intensity": "heavy", "preserve_foreground": True}
    assert (
        ToolCall.from_dict({"action_id": "season_cycle", "parameters": secondary}).strength == 0.85
    )


def test_bad_images_and_calls_are_named():
    call = ToolCall("color_grading", "cool_blue")
    x = torch.rand(2, 3, 16, 16)
    cases = [
        (
            (x * 255).to(torch.uint8),
            TypeError,
            "float tensor with values in \\[0, 1\\], got dtype torch.uint8",
        ),
        (torch.rand(2, 4, 16, 16), ValueError, r"shape \(B, 3, H, W\), got \(2, 4, 16, 16\)"),
        (torch.rand(3, 16, 16), ValueError, r"shape \(B, 3, H, W\), got \(3, 16, 16\)"),
        (x * 255, ValueError, r"values in \[0, 1\].*divided by 255"),
        (torch.full((2, 3, 16, 16), float("nan")), ValueError, "NaN"),
        (torch.rand(2, 3, 4, 4), ValueError, "too small"),
        (x.numpy(), TypeError, "must be a torch.Tensor"),
        (x.half(), TypeError, "float32 or float64, got torch.float16"),  # NaN or a crash
        (x.bfloat16(), TypeError, "float32 or float64, got torch.bfloat16"),
    ]
    for images, error, match in cases:
        with pytest.raises(error, match=match):
            apply_calls(images, call)
    with pytest.raises(ValueError, match="got 3 calls for 2 images"):
        apply_calls(x, [call] * 3)
    with pytest.raises(TypeError, match=r"calls\[1\] must be a ToolCall or None, got str"):
        apply_calls(x, [call, "cool_blue"])
    with pytest.raises(ValueError, match="region 'sky' needs images with semantic masks"):
        apply_calls(x, ToolCall("color_grading", "cool_blue", region="sky"))
    with pytest.raises(ValueError, match="image 1 has none"):
        apply_calls(x, ToolCall("color_grading", "cool_blue", region="sky"),
                    masks=torch.zeros(2, 6, 16, 16), has_masks=torch.tensor([True, False]))  # fmt: skip
    with pytest.raises(ValueError, match="masks must have shape"):
        apply_calls(x, call, masks=torch.zeros(2, 5, 16, 16))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu(batch):
    x, m, k = batch
    for tv in ALL_VALUES[::7]:
        cpu = apply_calls(x, ToolCall(*tv, 0.8), masks=m, has_masks=k)
        gpu = apply_calls(x.cuda(), ToolCall(*tv, 0.8), masks=m.cuda(), has_masks=k.cuda())
        torch.testing.assert_close(gpu.cpu(), cpu, atol=2e-3, rtol=0, msg=str(tv))


def test_every_recipe_differentiates_after_inference_mode_calls():
    # the env computes its Stage-1 context in inference mode, and the context's fit renders
    # edits in it: constants the tools cache (noise fields, blur taps, window counts, the
    # features' blur matrices) must still serve autograd when first built there
    from styling_env import features
    from styling_env.tools import ops, patterns

    for f in vars(patterns).values():
        if hasattr(f, "cache_clear"):
            f.cache_clear()
    ops._gaussian_taps.cache_clear()
    ops._window_counts.cache_clear()
    features._blur_matrix.cache_clear()
    b = make_images("mix", 2, 32, 7)
    rows = [(t, v) for t, values in ALL_RECIPES.items() for v in values]
    strength = torch.full((2,), 0.6)
    with torch.inference_mode():
        for tool, value in rows:
            apply_recipe(b.pixels, tool, value, strength, masks=b.masks, has_masks=b.has_masks)
        features.image_features(b.pixels)
    failed = []
    for tool, value in rows:
        x = b.pixels.clone().requires_grad_(True)
        y = apply_recipe(x, tool, value, strength, masks=b.masks, has_masks=b.has_masks)
        try:
            torch.autograd.grad(y.mean() + features.image_features(y).mean(), x)
        except RuntimeError as e:
            failed.append(f"{tool}/{value}: {str(e)[:60]}")
    assert not failed, failed
