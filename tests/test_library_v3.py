"""The v3 library's twenty styling actions and the extra base-tool values: every value renders,
siblings differ, strength 0 is the identity, batches equal single images, gradients flow, and
the ops added for them pass gradcheck (the checks tests/test_tools.py runs for the ten tools)."""

from __future__ import annotations

import itertools

import pytest
import torch

from styling_env import ToolCall, apply_calls, make_images
from styling_env.gallery import default_images, gallery_values, main, render_gallery
from styling_env.tools import OPS, RECIPES, SIGNATURE_ONLY, TOOLS, apply_recipe
from styling_env.tools.ops import OpContext
from styling_env.tools.recipes import ALL_RECIPES, recipe
from styling_env.tools.recipes_v3 import EXTRA_RECIPES, V3_RECIPES, V3_SIGNATURE_ONLY
from styling_env.tools.vocabulary import ALL_TOOLS, EXTRA_VALUES, RENDERED_TOOLS, V3_ACTIONS

NEW_VALUES = [(t, v) for t, vs in V3_ACTIONS.items() for v in vs] + [
    (t, v) for t, vs in EXTRA_VALUES.items() for v in vs
]
NEW_TOOLS = list(V3_ACTIONS) + list(EXTRA_VALUES)
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
    """Every new value, and every value of a tool that gained extra values, at strength 0.8."""
    x, m, k = batch
    pairs = set(NEW_VALUES) | {(t, v) for t in EXTRA_VALUES for v in ALL_TOOLS[t]}
    return {tv: apply_calls(x, ToolCall(*tv, 0.8), masks=m, has_masks=k) for tv in pairs}


def test_every_rendered_value_has_a_recipe_and_the_ten_tools_table_is_unchanged():
    # graduated_effect renders through the composer (styling_env.tools.compose), not a recipe
    assert set(ALL_RECIPES) == RENDERED_TOOLS - {"graduated_effect"}
    for tool, table in ALL_RECIPES.items():
        assert tuple(table) == ALL_TOOLS[tool], tool  # vocabulary order, nothing missing
    assert set(RECIPES) == set(TOOLS)
    for tool in TOOLS:
        assert tuple(RECIPES[tool]) == TOOLS[tool]
        assert all(ALL_RECIPES[tool][v] is RECIPES[tool][v] for v in TOOLS[tool])
    assert set(V3_RECIPES) == set(V3_ACTIONS)
    assert {t: tuple(vs) for t, vs in EXTRA_RECIPES.items()} == dict(EXTRA_VALUES)
    assert recipe("lens_character", "tilt_shift")[0].op == "focus_blur"
    with pytest.raises(KeyError):
        recipe("exclude_region", "left_half")  # a constraint: no recipe renders it


def test_every_new_recipe_uses_known_ops_and_is_short():
    for tool, value in NEW_VALUES:
        steps = ALL_RECIPES[tool][value]
        assert 1 <= len(steps) <= 8, (tool, value)
        assert all(s.op in OPS for s in steps), (tool, value)
        for s in steps:  # every parameter is one the op takes
            assert set(s.kwargs()) <= OPS[s.op].params, (tool, value, s.op)


def test_signature_only_set():
    assert V3_SIGNATURE_ONLY <= SIGNATURE_ONLY
    assert all(value in ALL_TOOLS[tool] for tool, value in SIGNATURE_ONLY)
    assert all(("art_movement", v) in SIGNATURE_ONLY for v in V3_ACTIONS["art_movement"])
    assert ("time_period_era", "retro_1980s") in SIGNATURE_ONLY  # an era, like its siblings
    assert not any((("lens_character", v) in SIGNATURE_ONLY) for v in V3_ACTIONS["lens_character"])
    assert ("color_grading", "bleach_bypass") not in SIGNATURE_ONLY


def test_apply_calls_renders_a_v3_call(batch):
    x = batch[0][:2]
    y = apply_calls(x, ToolCall("lens_character", "bokeh", 0.8))
    assert y.shape == x.shape and (y - x).abs().mean() > 0.01
    mixed = apply_calls(
        x, [ToolCall("grain_noise", "halftone", 0.6), ToolCall("time_of_day", "blue_hour", 0.6)]
    )
    torch.testing.assert_close(
        mixed[1:], apply_calls(x[1:], ToolCall("time_of_day", "blue_hour", 0.6))
    )


@pytest.mark.parametrize("tool", NEW_TOOLS)
def test_every_new_value_shape_dtype_range_and_changes_the_image(tool, batch, rendered):
    x = batch[0]
    for value in V3_ACTIONS.get(tool, EXTRA_VALUES.get(tool)):
        y = rendered[(tool, value)]
        assert y.shape == x.shape and y.dtype == torch.float32
        assert torch.isfinite(y).all() and y.min() >= 0 and y.max() <= 1
        diff = (y - x).abs()
        assert diff.mean() > 0.004 or (diff.amax() > 0.3 and diff.mean() > 0.001), (
            value,
            diff.mean(),
        )
        for i in range(x.shape[0]):  # on every single image, not just on average
            assert (y[i] - x[i]).abs().amax() > 0.05, (value, i)


@pytest.mark.parametrize("tool", NEW_TOOLS)
def test_new_siblings_differ_measurably(tool, rendered):
    """Every pair of a v3 tool's values; each extra value against every value of its tool."""
    if tool in V3_ACTIONS:
        pairs = list(itertools.combinations(V3_ACTIONS[tool], 2))
    else:
        pairs = [(e, v) for e in EXTRA_VALUES[tool] for v in ALL_TOOLS[tool] if v != e]
    for a, b in pairs:
        diff = (rendered[(tool, a)] - rendered[(tool, b)]).abs()
        mean = diff.mean().item()
        moved = (diff.amax(1) > 0.1).float().mean().item()
        assert mean > 0.015 or moved > 0.01, (
            f"{tool}: {a} ~ {b} (mean {mean:.4f}, moved {moved:.3f})"
        )


def test_strength_zero_is_the_identity_bit_for_bit(batch):
    x, m, k = batch
    for tool, value in NEW_VALUES:
        y = apply_recipe(x, tool, value, 0.0, masks=m, has_masks=k)
        assert torch.equal(y, x), (tool, value)
    assert torch.equal(apply_calls(x, ToolCall("lens_character", "bokeh", 0.0)), x)


def test_deterministic(batch):
    x, m, k = batch
    for tv in [
        ("grain_noise", "digital_noise"),
        ("painting_technique", "stippling"),
        ("glow_effects", "magic"),
        ("atmospheric_effects", "volumetric_light"),
    ]:
        a = apply_calls(x, ToolCall(*tv, 0.7), masks=m, has_masks=k)
        b = apply_calls(x.clone(), ToolCall(*tv, 0.7), masks=m.clone(), has_masks=k.clone())
        assert torch.equal(a, b), tv


def test_batched_equals_per_image(batch):
    x, m, k = batch
    s = torch.linspace(0.2, 1.0, x.shape[0])
    for tool, value in NEW_VALUES:
        y = apply_recipe(x, tool, value, s, masks=m, has_masks=k)
        for i in (2, 5):  # a procedural scene and a photograph (per-image statistics differ)
            y1 = apply_recipe(
                x[i : i + 1], tool, value, s[i : i + 1], masks=m[i : i + 1], has_masks=k[i : i + 1]
            )
            torch.testing.assert_close(y[i : i + 1], y1, atol=2e-5, rtol=0, msg=f"{tool}/{value}")


@pytest.mark.parametrize(
    ("tool", "value"),
    [
        ("lens_character", "tilt_shift"),
        ("painting_technique", "pointillism"),
        ("color_palette", "triadic"),
        ("tonal_range", "low_key"),
        ("saturation_intensity", "natural"),
        ("lighting_style", "rembrandt"),
        ("motion_aesthetics", "time_slice"),
        ("shadow_treatment", "long"),
        ("rendering_style", "wireframe"),
        ("filter_effects", "polaroid"),
        ("contrast_style", "hdr"),
        ("color_temperature", "neutral"),
        ("atmospheric_depth", "layered_atmosphere"),
        ("texture_overlay", "wood_grain"),
    ],
)
def test_gradients_flow_through_strength_and_pixels(batch, tool, value):
    x = batch[0][:2].clone().requires_grad_(True)
    s = torch.tensor([0.5, 0.7], requires_grad=True)
    y = apply_recipe(x, tool, value, s)
    gx, gs = torch.autograd.grad(y.mean(), (x, s))
    assert torch.isfinite(gx).all() and gx.abs().sum() > 0
    assert torch.isfinite(gs).all() and (gs.abs() > 0).all()


_GRADCHECK = {
    "tone_zones": dict(shadows=0.2, midtones=-0.1, highlights=-0.15),
    "normalize_tone": dict(mean=0.3, spread=0.25),
    "normalize_chroma": dict(level=0.1),
    "palette_hues": dict(colors=((1.0, 0.1, 0.1), (0.1, 0.3, 1.0), (1.0, 0.9, 0.1))),
    "light_falloff": dict(angle=30.0, width=0.2, dark=0.7, gain=0.2, color=(1.0, 0.9, 0.8)),
    "long_shadow": dict(length=0.3, angle=20.0),
    "time_slice": dict(slices=3),
    "focus_blur": dict(sigma=0.2, size=0.1, feather=0.2),
    "halftone": dict(cells=4.0, kind="cmyk", softness=0.5),
    "line_art": dict(ground=(0.1, 0.1, 0.1), own_color=0.5, threshold=0.02),
    "border": dict(width=0.1, bottom=0.2),
}


@pytest.mark.parametrize("name", sorted(_GRADCHECK))
def test_gradcheck_new_primitives(name):
    torch.manual_seed(0)
    x = (torch.rand(2, 3, 12, 12, dtype=torch.float64) * 0.8 + 0.1).requires_grad_(True)
    t = torch.tensor([0.4, 0.8], dtype=torch.float64).view(2, 1, 1, 1).requires_grad_(True)
    fn = OPS[name].fn
    assert torch.autograd.gradcheck(
        lambda a, b: fn(a, b, **_GRADCHECK[name]), (x, t), eps=1e-6, atol=1e-4
    )


def test_new_op_kinds_are_distinct_and_bad_kinds_are_named():
    x = torch.rand(1, 3, 32, 32)
    t = torch.ones(1, 1, 1, 1)
    ctx = OpContext(sky=torch.zeros(1, 1, 32, 32))
    kinds = [OPS["halftone"].fn(x, t, kind=k) for k in ("mono", "cmyk", "dots", "stipple")]
    for a, b in itertools.combinations(kinds, 2):
        assert (a - b).abs().mean() > 0.02
    for k in ("fabric", "wood", "brushed"):
        assert (OPS["texture"].fn(x, t, kind=k, amount=0.5) - x).abs().mean() > 0.01, k
    for f in ("depth", "layers"):
        y = OPS["haze"].fn(x, t, ctx=ctx, density=0.8, color=(1.0, 1.0, 1.0), falloff=f)
        assert (y - x)[..., :8, :].abs().mean() > (y - x)[..., -8:, :].abs().mean(), f  # far = high
    with pytest.raises(ValueError, match="halftone: unknown kind 'dither'"):
        OPS["halftone"].fn(x, t, kind="dither")
    with pytest.raises(ValueError, match="focus_blur: unknown shape 'square'"):
        OPS["focus_blur"].fn(x, t, sigma=0.1, shape="square")
    with pytest.raises(ValueError, match="auto_balance: unknown reference 'white'"):
        OPS["auto_balance"].fn(x, t, reference="white")
    with pytest.raises(ValueError, match="texture: unknown kind 'silk'"):
        OPS["texture"].fn(x, t, kind="silk", amount=0.5)


def test_gallery_renders_v3_tools_and_names_a_bad_tool(tmp_path):
    assert gallery_values(None) == dict(TOOLS)
    assert gallery_values(["time_period_era"])["time_period_era"][-1] == "retro_1980s"
    images = default_images(32, 1)
    sheet = render_gallery(images, ["lens_character"], columns=4)
    assert sheet.height > 32 * 2 and sheet.width == 4 * (32 + 6) + 6
    with pytest.raises(ValueError, match="unknown or unrendered tool 'exclude_region'"):
        gallery_values(["exclude_region"])
    with pytest.raises(SystemExit):
        main(["--tool", "paint", "--out", str(tmp_path / "g.png")])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu(batch):
    x, m, k = batch
    for tv in NEW_VALUES[::5]:
        cpu = apply_calls(x, ToolCall(*tv, 0.8), masks=m, has_masks=k)
        gpu = apply_calls(x.cuda(), ToolCall(*tv, 0.8), masks=m.cuda(), has_masks=k.cuda())
        torch.testing.assert_close(gpu.cpu(), cpu, atol=2e-3, rtol=0, msg=str(tv))
