"""The normal library's constraint and compositional actions (``styling_env.tools.compose``):
areas, persistent constraints, pending modifiers, strength 0, batching and bad input."""

from __future__ import annotations

import kornia
import pytest
import torch

from styling_env import make_images
from styling_env.tasks import PREDICATES
from styling_env.tools import ToolCall, apply_calls, apply_plan
from styling_env.tools.compose import (
    AREAS,
    ComposeState,
    area_mask,
    compose_step,
    is_modifier,
    play,
    transformation_types,
)
from styling_env.tools.ops import blur
from styling_env.tools.vocabulary import GEOMETRIC_REGIONS, GRADIENT_DIRECTIONS, NORMAL_ACTIONS

SIZE = 40
NIGHT = ToolCall("time_of_day", "midnight_dark", 0.9)  # changes every pixel's light and colour
SEPIA = ToolCall("color_grading", "sepia_vintage", 1.0)
SNOW = ToolCall("weather_conditions", "heavy_snow_blizzard", 1.0)


@pytest.fixture(scope="module")
def scenes():
    """Two procedural scenes (with masks): pixels, masks, has_masks."""
    b = make_images("procedural", 2, SIZE, seed=2)  # an outdoor scene and an interior
    return b.pixels, b.masks, b.has_masks


@pytest.fixture(scope="module")
def photos():
    b = make_images("bundled", 2, SIZE, seed=0)
    return b.pixels, b.masks, b.has_masks


def _steps(x, m, k, *steps, render=apply_calls):
    """Play ``steps`` (each one call for every image) on fresh states; the images and errors."""
    states = [ComposeState() for _ in range(x.shape[0])]
    errors = []
    for call in steps:
        calls = call if isinstance(call, list) else [call] * x.shape[0]
        x, err = compose_step(x, calls, states, m, k, render=render)
        errors.append(err)
    return x, errors, states


def _lab(x):
    return kornia.color.rgb_to_lab(x)


# ----------------------------------------------------------------------------------------------
# areas and exclusions


@pytest.mark.parametrize("area", [*GEOMETRIC_REGIONS, "foreground", "background", "outdoor"])
def test_exclude_region_protects_the_area_and_the_rest_changes(scenes, area):
    x, m, k = scenes
    y, errors, _ = _steps(x, m, k, ToolCall("exclude_region", area), NIGHT)
    assert errors == [["", ""], ["", ""]]
    allowed = torch.nn.functional.avg_pool2d(
        1 - area_mask(area, m, k, SIZE, SIZE, x), 3, 1, 1, count_include_pad=False
    )
    change = (y - x).abs().amax(1, keepdim=True)
    protected, free = allowed == 0, allowed == 1
    assert protected.sum() > 0.03 * protected.numel() and free.sum() > 0.03 * free.numel()
    assert change[protected].max() < 1e-6
    assert change[free].mean() > 0.05


def test_geometric_areas_are_the_frame_parts():
    like = torch.zeros(1, 3, 40, 50)
    left = area_mask("left_half", None, None, 40, 50, like)[0, 0]
    assert left[:, :25].eq(1).all() and left[:, 25:].eq(0).all()
    right = area_mask("right_half", None, None, 40, 50, like)[0, 0]
    assert torch.equal(left + right, torch.ones(40, 50))
    top = area_mask("top_half", None, None, 40, 50, like)[0, 0]
    assert top[:20].eq(1).all() and top[20:].eq(0).all()
    odd = area_mask("top_half", None, None, 9, 9, like)[0, 0, :, 0]
    assert odd.tolist() == [1, 1, 1, 1, 0.5, 0, 0, 0, 0]
    center = area_mask("center", None, None, 40, 50, like)[0, 0]
    edges = area_mask("edges", None, None, 40, 50, like)[0, 0]
    assert torch.allclose(center + edges, torch.ones(40, 50))
    assert (
        center[12:28, 15:35].eq(1).all() and center[:8].eq(0).all() and center[:, :10].eq(0).all()
    )
    assert 0 < center[10, 25] < 1  # a soft edge around the middle half of each axis


@pytest.mark.parametrize(
    "call, message",
    [
        (ToolCall("exclude_region", "indoor"), "exclude_region 'indoor' needs semantic masks"),
        (ToolCall("exclude_region", "foreground"), "needs semantic masks; this image has none"),
        (ToolCall("preserve_object_category", "people"), "'people' needs semantic masks"),
        (ToolCall("spatial_constraint", "outdoor_only/any"), "needs semantic masks"),
        (ToolCall("preserve_attribute", "lighting", region="subject"), "region 'subject'"),
        (ToolCall("preserve_attribute", "architecture"), "needs semantic masks"),
        (ToolCall("selective_blend", "objects_only"), "needs semantic masks"),
        (ToolCall("time_of_day", "dusk_twilight", region="sky"), "region 'sky' needs semantic"),
    ],
)
def test_mask_areas_on_a_photo_are_invalid_calls(photos, call, message):
    x, m, k = photos
    states = [ComposeState() for _ in range(2)]
    y, errors = compose_step(x, [call, None], states, m, k)
    assert message in errors[0] and "this image has none" in errors[0] and errors[1] == ""
    assert torch.equal(y, x)
    assert states[0].is_blank  # the state is as it was
    # and the geometric areas work on the same photo
    y, errors, _ = _steps(x, m, k, ToolCall("exclude_region", "left_half"), NIGHT)
    assert errors[0] == ["", ""] and (y - x).abs()[..., -5:].mean() > 0.05


def test_area_mask_errors():
    like = torch.zeros(2, 3, 16, 16)
    with pytest.raises(ValueError, match="unknown area 'nowhere'; expected one of all"):
        area_mask("nowhere", None, None, 16, 16, like)
    with pytest.raises(ValueError, match="'indoor' needs semantic masks; these images have none"):
        area_mask("indoor", None, None, 16, 16, like)
    masks = torch.zeros(2, 6, 16, 16)
    with pytest.raises(ValueError, match="image 1 has none"):
        area_mask("foreground", masks, torch.tensor([True, False]), 16, 16, like)
    assert set(AREAS) >= {"indoor", "outdoor", "foreground", "background", *GEOMETRIC_REGIONS}


def test_object_categories_protect_their_masks(scenes):
    x, m, k = scenes
    y, _, _ = _steps(x, m, k, ToolCall("preserve_object_category", "plants"), NIGHT)
    veg = area_mask("vegetation", m, k, SIZE, SIZE, x)
    core = torch.nn.functional.avg_pool2d(1 - veg, 3, 1, 1, count_include_pad=False) == 0
    assert core.sum() > 20
    assert (y - x).abs().amax(1, keepdim=True)[core].max() < 1e-6


# ----------------------------------------------------------------------------------------------
# preserve_attribute


def test_preserve_lighting_keeps_luminance_while_chroma_changes(scenes):
    x, m, k = scenes
    call = ToolCall("color_grading", "red_dramatic", 1.0)
    free, _, _ = _steps(x, m, k, call)
    kept, _, _ = _steps(x, m, k, ToolCall("preserve_attribute", "lighting"), call)
    lab_x, lab_free, lab_kept = _lab(x), _lab(free), _lab(kept)
    assert (lab_free[:, 0] - lab_x[:, 0]).abs().mean() > 4
    assert (lab_kept[:, 0] - lab_x[:, 0]).abs().mean() < 0.5
    assert (lab_kept[:, 1:] - lab_x[:, 1:]).abs().mean() > 5  # the colour still changes


def test_preserve_color_keeps_chroma_while_luminance_changes(scenes):
    x, m, k = scenes
    call = ToolCall("time_of_day", "golden_hour_sunset", 1.0)
    free, _, _ = _steps(x, m, k, call)
    kept, _, _ = _steps(x, m, k, ToolCall("preserve_attribute", "color"), call)
    lab_x, lab_free, lab_kept = _lab(x), _lab(free), _lab(kept)
    assert (lab_free[:, 1:] - lab_x[:, 1:]).abs().mean() > 10
    assert (lab_kept[:, 1:] - lab_x[:, 1:]).abs().mean() < 0.5
    assert (lab_kept[:, 0] - lab_x[:, 0]).abs().mean() > 5  # the light still changes


def test_preserve_texture_keeps_the_detail(scenes):
    x, m, k = scenes
    call = ToolCall("artistic_medium", "watercolor_flowing", 1.0)

    def detail(z):
        return z - blur(z, 1.0)

    free, _, _ = _steps(x, m, k, call)
    kept, _, _ = _steps(x, m, k, ToolCall("preserve_attribute", "texture"), call)
    lost = (detail(free) - detail(x)).abs().mean()
    assert lost > 0.01 and (detail(kept) - detail(x)).abs().mean() < 0.5 * lost
    assert (kept - x).abs().mean() > 0.03  # the low frequencies still change


def test_preserve_objects_in_scope_restores_the_subject(scenes):
    x, m, k = scenes
    y, _, _ = _steps(x, m, k, ToolCall("preserve_attribute", "objects"), NIGHT)
    subject = area_mask("foreground", m, k, SIZE, SIZE, x)
    core = -torch.nn.functional.max_pool2d(-subject, 3, 1, 1) == 1  # away from its edge
    assert core.sum() > 10
    assert (y - x).abs().amax(1, keepdim=True)[core].max() < 1e-6
    assert (y - x).abs().amax(1, keepdim=True)[subject == 0].mean() > 0.05


def test_restores_act_on_each_later_call_only(scenes):
    """A preserve set after a change keeps that change: only later calls are restored."""
    x, m, k = scenes
    y, _, _ = _steps(x, m, k, NIGHT, ToolCall("preserve_attribute", "style"), SEPIA)
    expected = apply_calls(x, NIGHT, masks=m, has_masks=k)
    assert torch.allclose(y, expected, atol=1e-6)


# ----------------------------------------------------------------------------------------------
# spatial and conditional


def test_spatial_constraint_limits_only_its_type(scenes):
    x, m, k = scenes
    weather, _, _ = _steps(x, m, k, ToolCall("spatial_constraint", "left_half/weather"), SNOW)
    color, _, _ = _steps(x, m, k, ToolCall("spatial_constraint", "left_half/weather"), SEPIA)
    assert (weather - x)[..., -15:].abs().max() < 1e-6  # the right side got no snow
    assert (weather - x)[..., :15].abs().mean() > 0.05
    assert torch.equal(color, apply_calls(x, SEPIA, masks=m, has_masks=k))
    assert transformation_types("weather_conditions", "fog_dense") == {"weather", "fog", "any"}
    assert transformation_types("atmospheric_effects", "snow_falling") == {"particles", "any"}
    assert transformation_types("graduated_effect", "lighting/edges_in") == {"lighting", "any"}
    with pytest.raises(ValueError, match="is a modifier"):
        transformation_types("exclude_region", "center")


def _dark_and_bright():
    base = make_images("procedural:outdoor", 1, SIZE, seed=2).pixels
    return torch.cat([base * 0.15, 0.8 + 0.2 * base])


def test_conditional_then_applies_only_where_the_predicate_holds():
    x = _dark_and_bright()
    y, errors, _ = _steps(x, None, None, ToolCall("conditional_transform", "dark/then"), SEPIA)
    assert errors[1] == ["", ""]
    assert (y[0] - x[0]).abs().mean() > 0.02 and torch.equal(y[1], x[1])


def test_conditional_then_else_plays_exactly_one_branch():
    x = _dark_and_bright()
    cond = ToolCall("conditional_transform", "dark/then_else")
    y, _, states = _steps(x, None, None, cond, SEPIA, NIGHT)
    sepia = apply_calls(x, SEPIA)
    night = apply_calls(x, NIGHT)
    assert torch.equal(y[0], sepia[0]) and torch.equal(y[1], night[1])
    assert not any(s.pending for s in states)
    # a third call is no longer bound
    z, _, _ = _steps(x, None, None, cond, SEPIA, NIGHT, SNOW)
    assert torch.equal(z, apply_calls(y, SNOW))


# ----------------------------------------------------------------------------------------------
# parallel, layered, selective (on a known render)


class FakeRender:
    """time_of_day adds 0.1, color_grading halves, anything else returns 0.8 everywhere;
    records the calls it was given."""

    def __init__(self):
        self.calls = []

    def __call__(self, images, calls, masks=None, has_masks=None):
        self.calls.append(list(calls))
        out = images.clone()
        for i, c in enumerate(calls):
            if c is None or c.strength == 0:
                continue
            if c.tool == "time_of_day":
                out[i] = images[i] + 0.1 * c.strength
            elif c.tool == "color_grading":
                out[i] = images[i] * (1 - 0.5 * c.strength)
            else:
                out[i] = 0.8
        return out.clamp(0, 1)


LIGHT = ToolCall("time_of_day", "dusk_twilight", 1.0)
HALVE = ToolCall("color_grading", "cool_blue", 1.0)


@pytest.mark.parametrize(
    "mode, expected",
    [("additive", 0.3), ("multiplicative", 0.25), ("average", 0.35), ("max_effect", 0.2)],
)
def test_parallel_modes_on_known_tensors(mode, expected):
    x = torch.full((1, 3, 16, 16), 0.4)
    render = FakeRender()
    states = [ComposeState()]
    y, _ = compose_step(x, [ToolCall("parallel_transform", mode)], states, render=render)
    y1, _ = compose_step(y, [LIGHT], states, render=render)
    assert torch.equal(y1, x)  # the first of the pair waits
    y2, _ = compose_step(y1, [HALVE], states, render=render)
    assert torch.allclose(y2, torch.full_like(x, expected), atol=1e-6)
    assert not states[0].pending


def test_parallel_max_effect_picks_per_pixel():
    x = torch.full((1, 3, 16, 16), 0.4)
    x[..., :8] = 0.1  # here halving changes less (0.05) than adding (0.1)
    y, _, _ = _steps(x, None, None, ToolCall("parallel_transform", "max_effect"), LIGHT, HALVE,
                     render=FakeRender())  # fmt: skip
    assert torch.allclose(y[..., :8], torch.full((1, 3, 16, 8), 0.2))
    assert torch.allclose(y[..., 8:], torch.full((1, 3, 16, 8), 0.2))
    x[..., 8:] = 0.9
    y, _, _ = _steps(x, None, None, ToolCall("parallel_transform", "max_effect"), LIGHT, HALVE,
                     render=FakeRender())  # fmt: skip
    assert torch.allclose(y[..., 8:], torch.full((1, 3, 16, 8), 0.45))


def test_parallel_cannot_be_replaced_while_its_pair_is_open():
    x = torch.full((1, 3, 16, 16), 0.4)
    par = ToolCall("parallel_transform", "additive")
    y, errors, states = _steps(x, None, None, par, LIGHT, par, render=FakeRender())
    assert errors[2] == [
        "a parallel_transform is waiting for its second call; it cannot be replaced"
    ]
    assert states[0].parallel == "additive" and states[0].parallel_first is not None


@pytest.mark.parametrize(
    "mode, expected",
    [("normal", 0.55), ("multiply", 0.27), ("screen", 0.58), ("hard_light", 0.51), ("add", 0.65)],
)
def test_layered_modes_at_opacity(mode, expected):
    x = torch.full((1, 3, 16, 16), 0.3)
    render = FakeRender()
    layer = ToolCall("atmospheric_effects", "film_grain", 0.5)  # renders 0.8 at strength 1
    y, _, _ = _steps(x, None, None, ToolCall("layered_transformation", mode), layer, render=render)
    assert torch.allclose(y, torch.full_like(x, expected), atol=1e-6)
    assert render.calls[-1][0].strength == 1.0  # rendered in full, composited at 0.5


def test_layered_call_with_a_region_leaves_the_rest(scenes):
    """Multiplying a layer onto the picture would darken it everywhere: the call's region holds."""
    x, m, k = scenes
    call = ToolCall("time_of_day", "sunrise_golden", 0.8, region="sky")
    y, _, _ = _steps(x, m, k, ToolCall("layered_transformation", "multiply"), call)
    sky = area_mask("sky", m, k, SIZE, SIZE, x)
    away = torch.nn.functional.max_pool2d(sky, 3, 1, 1) == 0
    assert away.sum() > 100 and (y - x).abs().amax(1, keepdim=True)[away].max() < 1e-6
    assert (y - x).abs().amax(1, keepdim=True)[sky == 1].mean() > 0.05


def test_selective_blend_ratios_and_regions(scenes):
    x, m, k = scenes
    half = ToolCall("selective_blend", "everywhere", params={"target_apply_ratio": 0.5})
    y, _, _ = _steps(x, m, k, half, SEPIA)
    full = apply_calls(x, SEPIA, masks=m, has_masks=k)
    assert torch.allclose(y, x + (full - x) * 0.5, atol=1e-6)
    bg, _, _ = _steps(x, m, k, ToolCall("selective_blend", "background"), SEPIA)
    subject = area_mask("foreground", m, k, SIZE, SIZE, x)
    core = -torch.nn.functional.max_pool2d(-subject, 3, 1, 1) == 1
    assert (bg - x).abs().amax(1, keepdim=True)[core].max() < 1e-6
    bad = ToolCall("selective_blend", "everywhere", params={"blend_algorithm": "wobbly"})
    _, errors, _ = _steps(x, m, k, bad)
    assert errors[0][0].startswith("unknown blend_algorithm 'wobbly'; expected one of linear")


def test_selective_blend_lighting_only_keeps_chroma(scenes):
    x, m, k = scenes
    call = ToolCall("color_grading", "red_dramatic", 1.0)
    y, _, _ = _steps(x, m, k, ToolCall("selective_blend", "lighting_only"), call)
    free = apply_calls(x, call, masks=m, has_masks=k)
    lab_x, lab_y, lab_free = _lab(x), _lab(y), _lab(free)
    assert (lab_y[:, 1:] - lab_x[:, 1:]).abs().mean() < 0.2 * (
        lab_free[:, 1:] - lab_x[:, 1:]
    ).abs().mean()
    assert (lab_y[:, 0] - lab_free[:, 0]).abs().mean() < 1.0  # the lighting change is kept


# ----------------------------------------------------------------------------------------------
# graduated_effect and the no-op actions


@pytest.mark.parametrize("direction", GRADIENT_DIRECTIONS)
def test_graduated_ramps_along_its_direction(direction):
    x = torch.full((1, 3, 33, 33), 0.3)
    y, errors, _ = _steps(
        x, None, None, ToolCall("graduated_effect", f"brightness/{direction}", 1.0)
    )
    assert errors == [[""]]
    d = (y - x)[0, 0]
    path = {
        "top_to_bottom": d[:, 16],
        "bottom_to_top": d.flip(0)[:, 16],
        "left_to_right": d[16],
        "right_to_left": d.flip(1)[16],
        "center_out": d[16, 16:],
        "edges_in": d[16, :17],
    }[direction]
    assert (path.diff() > 0).all(), path
    assert path[0] < 1e-6 and path[-1] > 0.2


@pytest.mark.parametrize("effect", ["fog", "lighting", "color", "saturation", "blur", "particles"])
def test_graduated_effects_render_and_strength_zero_is_identity(scenes, effect):
    x, m, k = scenes
    y, _, _ = _steps(x, m, k, ToolCall("graduated_effect", f"{effect}/top_to_bottom", 1.0))
    assert (y - x)[..., -8:, :].abs().mean() > 5 * (y - x)[..., :8, :].abs().mean()
    start = {"intensity_start": 0.6}
    z, _, _ = _steps(
        x, m, k, ToolCall("graduated_effect", f"{effect}/left_to_right", 0.0, params=start)
    )
    assert torch.equal(z, x)


def test_sequence_transform_changes_nothing(scenes):
    x, m, k = scenes
    y, errors, states = _steps(x, m, k, ToolCall("sequence_transform", "order_matters"), NIGHT)
    assert torch.equal(y, apply_calls(x, NIGHT, masks=m, has_masks=k))
    assert states[0].is_blank and errors[0] == ["", ""]


def test_is_modifier():
    assert is_modifier("exclude_region") and is_modifier("parallel_transform")
    assert not is_modifier("graduated_effect") and not is_modifier("season_cycle")
    assert sum(map(is_modifier, NORMAL_ACTIONS)) == 9
    with pytest.raises(ValueError, match="unknown tool 'paint'"):
        is_modifier("paint")


# ----------------------------------------------------------------------------------------------
# strength 0, batching, isolation


def test_strength_zero_call_consumes_the_pending_modifier_and_changes_nothing(scenes):
    x, m, k = scenes
    layered = ToolCall("layered_transformation", "multiply")
    zero = ToolCall("season_cycle", "winter_bare", 0.0)
    y, _, states = _steps(x, m, k, layered, zero)
    assert torch.equal(y, x) and not states[0].pending
    z, _, _ = _steps(x, m, k, layered, zero, SEPIA)
    assert torch.equal(z, apply_calls(x, SEPIA, masks=m, has_masks=k))
    # then_else: a strength-0 first branch still takes its slot
    cond = ToolCall("conditional_transform", "dark/then_else")
    w, _, _ = _steps(x, m, k, cond, zero, SEPIA)
    sepia = apply_calls(x, SEPIA, masks=m, has_masks=k)
    for i in range(2):
        dark = PREDICATES["dark"](x[i])
        assert torch.equal(w[i], x[i] if dark else sepia[i])


def test_strength_zero_modifier_sets_no_rule(scenes):
    x, m, k = scenes
    for rule in ("exclude_region", "left_half"), ("layered_transformation", "screen"):
        y, _, states = _steps(x, m, k, ToolCall(*rule, 0.0), NIGHT)
        assert torch.equal(y, apply_calls(x, NIGHT, masks=m, has_masks=k))
        assert states[0].is_blank


def test_state_isolation_between_images(scenes):
    x, m, k = scenes
    calls0 = [ToolCall("exclude_region", "left_half"), None]
    states = [ComposeState(), ComposeState()]
    y, _ = compose_step(x, calls0, states, m, k)
    y, _ = compose_step(y, [NIGHT, NIGHT], states, m, k)
    alone = apply_calls(x, NIGHT, masks=m, has_masks=k)
    assert torch.equal(y[1], alone[1])
    assert (y[0] - x[0])[..., :15].abs().max() < 1e-6 and states[1].is_blank


def test_batched_equals_per_image():
    b = make_images("procedural", 4, SIZE, seed=7)
    plans = [
        [ToolCall("exclude_region", "top_half"), NIGHT, ToolCall("graduated_effect", "fog/center_out", 0.8)],
        [ToolCall("preserve_attribute", "lighting"), ToolCall("parallel_transform", "average"), SEPIA, SNOW],
        [ToolCall("layered_transformation", "soft_light"), SNOW, ToolCall("spatial_constraint", "center/any"), NIGHT],
        [ToolCall("selective_blend", "background"), NIGHT, ToolCall("conditional_transform", "bright/then"), SEPIA],
    ]  # fmt: skip
    batched = play(b, plans)
    for i in range(4):
        one = play(
            b.pixels[i : i + 1], plans[i : i + 1], b.masks[i : i + 1], b.has_masks[i : i + 1]
        )
        assert torch.allclose(batched[i], one[0], atol=1e-5), i
    assert (batched - b.pixels).abs().amax((1, 2, 3)).min() > 0.05


def test_play_of_a_ten_tool_plan_equals_apply_plan(scenes):
    x, m, k = scenes
    plans = [
        [NIGHT, ToolCall("color_grading", "cool_blue", 0.5, region="sky"), SNOW],
        [ToolCall("season_cycle", "autumn_falling", 0.7, params={"preserve": "subject"})],
    ]
    assert torch.equal(play(x, plans, m, k), apply_plan(x, plans, m, k))


def test_one_render_call_per_step(scenes):
    x, m, k = scenes
    render = FakeRender()
    _steps(
        x, m, k, [ToolCall("layered_transformation", "add"), None], [LIGHT, HALVE], render=render
    )
    assert len(render.calls) == 1 and render.calls[0][1] == HALVE


# ----------------------------------------------------------------------------------------------
# bad input


def test_bad_input_names_the_problem(scenes):
    x, m, k = scenes
    states = [ComposeState(), ComposeState()]
    with pytest.raises(ValueError, match="unknown value 'everywhere' for tool 'exclude_region'"):
        ToolCall("exclude_region", "everywhere")
    with pytest.raises(ValueError, match="unknown value 'dark/maybe'"):
        ToolCall("conditional_transform", "dark/maybe")
    with pytest.raises(ValueError, match="got 1 calls for 2 images"):
        compose_step(x, [NIGHT], states, m, k)
    with pytest.raises(ValueError, match="got 3 states for 2 images"):
        compose_step(x, [NIGHT, None], [*states, ComposeState()], m, k)
    with pytest.raises(ValueError, match=r"masks must have shape \(2, 6, 40, 40\)"):
        compose_step(x, [NIGHT, None], states, m[:, :3], k)
    with pytest.raises(ValueError, match=r"has_masks must have shape \(2,\)"):
        compose_step(x, [NIGHT, None], states, m, k[:1])
    with pytest.raises(ValueError, match=r"images must have shape \(B, 3, H, W\)"):
        compose_step(x[:, :2], [NIGHT, None], states, None, None)
    with pytest.raises(TypeError, match=r"states\[1\] must be a ComposeState"):
        compose_step(x, [NIGHT, None], [states[0], {}], m, k)
    with pytest.raises(TypeError, match=r"calls\[0\] must be a ToolCall or None"):
        compose_step(x, ["night", None], states, m, k)
    compose_step(x, [ToolCall("exclude_region", "center"), None], states, m, k)
    with pytest.raises(ValueError, match=r"states\[0\] holds masks of size \(40, 40\)"):
        compose_step(x[..., :32, :32], [NIGHT, None], states, None, None)
    bad = ToolCall("graduated_effect", "fog/edges_in", 0.5, params={"intensity_start": 2})
    _, errors = compose_step(x, [bad, None], [ComposeState(), ComposeState()], m, k)
    assert errors[0] == "intensity_start must be a number in [0, 1], got 2"
    with pytest.raises(ValueError, match=r"plan 0, call 1 \(exclude_region 'indoor'\): .* needs"):
        play(x, [[NIGHT, ToolCall("exclude_region", "indoor")], []])
