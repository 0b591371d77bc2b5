"""The measured judge and the oracle, validated adversarially, on every tier."""

from __future__ import annotations

import math

import pytest
import torch

from experiments.validate_judge import validate
from styling_env import make_images
from styling_env.judge import Episode, MeasuredJudge, planning_metrics, ssim
from styling_env.oracle import build_references, solve_plans
from styling_env.tasks import Target
from styling_env.tools import ToolCall, apply_plan


@pytest.fixture(scope="module", params=["simple", "regular", "complex"])
def validation(request):
    # the adversarial table of experiments.validate_judge, scaled down (the full one runs on
    # 200 tasks per tier and on far seeds; the README shows it)
    return validate(request.param, n_tasks=16, size=64, seed=0, constants=False)


def _mean(v):
    return sum(v) / len(v)


def test_oracle_scores_at_least_95(validation):
    assert validation.mean("oracle") >= 95
    assert min(validation.scores["oracle"]) >= 90


def test_no_edit_and_random_plans_use_the_bottom_of_the_scale(validation):
    assert validation.mean("no_edit") <= 10
    assert validation.mean("random") <= 15


def test_calls_that_change_nothing_earn_nothing(validation):
    assert validation.mean("zero_strength") <= validation.mean("no_edit") + 2
    assert validation.zero_reward_nonpositive >= 0.99


#: Met over the 200 test tasks (86.6 / 93.2 / 91.6, README), but a mean over the few reorders
#: of 16 tasks that show every change swings below 85 (82 on Simple): pinned with its own,
#: looser bound in test_order_is_judged_by_its_visible_effect.
KNOWN_SHORT = {"reordered_visible"}


def test_every_adversarial_threshold_is_met(validation):
    failed = {k: v for k, v in validation.checks().items() if not v[3] and k not in KNOWN_SHORT}
    assert not failed, failed


def test_partial_and_wrong_plans_stay_below_their_bounds(validation):
    if validation.tier != "simple":  # simple tasks have 1-2 calls: half of one is not defined
        assert validation.mean("half_done") <= 60
        assert validation.mean("strengths_swapped") <= 70
    assert validation.mean("sibling") <= 70
    if validation.tier == "complex":
        assert len(validation.scores["ignore_constraint"]) >= 3
        assert validation.mean("ignore_constraint") <= 50
        assert len(validation.scores["wrong_conditional"]) >= 1
        assert validation.mean("wrong_conditional") <= 50
    else:
        assert validation.scores["ignore_constraint"] == []


def test_errors_around_the_oracle_are_smoothly_shaped(validation):
    assert validation.mean("off_0.1") >= 80
    assert validation.mean("off_0.2") >= 60
    assert validation.mean("off_0.1") > validation.mean("off_0.2") > validation.mean("too_weak")
    assert validation.sibling_loses >= 0.9
    assert validation.weak_loses >= 0.9
    assert validation.strong_loses >= 0.9


def test_order_is_judged_by_its_visible_effect(validation):
    if validation.tier == "simple" and not validation.scores["reordered_visible"]:
        return
    assert len(validation.scores["reordered_visible"]) >= 3
    # the bound is 85 over 200 tasks (met, see the README); at 16 tasks the sample is a handful of
    # reorders, so this catches a regression toward judge v1's distance-to-one-picture (39)
    assert validation.mean("reordered_visible") >= 75
    assert validation.mean("reordered_visible") > validation.mean("half_done") + 25


def test_best_constant_call_scores_at_most_15():
    v = validate("simple", n_tasks=12, size=64, seed=0)
    assert v.mean("best_constant") <= 15, v.best_constant_call
    tool_value, strength = v.best_constant_call.split("@")  # the strength is searched too
    assert float(strength) in (0.3, 0.6, 1.0) and "=" in tool_value


def test_darker_sources_need_less_night():
    batch = make_images("procedural:outdoor", 12, 64, seed=5)
    x = batch.pixels
    plans = solve_plans(x, [[Target("time_of_day", "night_moonlit", 0.6)]] * 12)
    strengths = torch.tensor([p[0].strength for p in plans])
    brightness = x.mean((1, 2, 3))
    # brighter scenes get more night: a positive rank correlation
    rs = torch.argsort(torch.argsort(strengths)).float()
    rb = torch.argsort(torch.argsort(brightness)).float()
    rho = torch.corrcoef(torch.stack([rs, rb]))[0, 1]
    assert rho > 0.5, (strengths, brightness)
    dark = (x * 0.35).clamp(0, 1)
    dark_plans = solve_plans(dark, [[Target("time_of_day", "night_moonlit", 0.6)]] * 12)
    assert all(d[0].strength < p[0].strength for d, p in zip(dark_plans, plans, strict=True))


def test_headroom_calibration_measures_each_value_alone():
    """A value's calibration (the mean change it makes on the fixed corpus) is measured on its
    first use, alone: a new process pays for the few values its first tasks name, not the
    whole 171-value table (2 s), and gets the same number as the table."""
    from styling_env import signatures as S
    from styling_env.tools.vocabulary import VALUES, value_index

    tool, value = VALUES[37]
    S.value_change.cache_clear()
    one = S.value_change(tool, value)
    assert S.value_change.cache_info().currsize == 1
    table = S.full_change()
    assert table.shape == (len(VALUES),) and table.dtype == torch.float32
    assert table[value_index(tool, value)].item() == one  # to the bit
    assert bool((table > 0).all())


def test_oracle_plans_are_canonical_and_respect_preservation():
    batch = make_images("procedural:outdoor", 2, 64, seed=9)
    targets = [
        [
            Target("color_grading", "monochrome_bw", 0.85),
            Target("time_of_day", "dusk_twilight", 0.6),
        ]
    ] * 2
    refs = build_references(batch.pixels, targets, batch.masks, batch.has_masks, [("sky",), ()])
    assert [c.tool for c in refs[0].plan] == ["time_of_day", "color_grading"]
    assert refs[0].plan[0].preserved_regions == ("sky",) and refs[1].plan[0].preserved_regions == ()
    sky = batch.masks[0, 0] > 0
    inner = torch.nn.functional.avg_pool2d(sky[None, None].float(), 3, 1, 1)[0, 0] == 1
    change = (refs[0].image - batch.pixels[0]).abs().amax(0)
    assert change[inner].max() == 0 and change[~sky].mean() > 0.05
    assert refs[0].without.shape == (2, 3, 64, 64)


def test_nothing_asked_means_leave_it_alone():
    x = make_images("bundled", 1, 64, seed=0).pixels
    (ref,) = build_references(x, [[]])
    judge = MeasuredJudge()
    alone = judge.score([Episode(x[0], x[0], ref)])[0]
    assert alone.overall == pytest.approx(100.0)
    edited = apply_plan(x, [[ToolCall("color_grading", "monochrome_bw", 1.0)]])
    meddled = judge.score(
        [Episode(x[0], edited[0], ref, (ToolCall("color_grading", "monochrome_bw", 1.0),))]
    )[0]
    assert meddled.overall < 70


def test_technical_execution_counts_invalid_repeated_and_idle_calls():
    x = make_images("procedural", 1, 64, seed=2).pixels
    (ref,) = build_references(x, [[Target("season_cycle", "winter_bare", 0.85)]])
    final = apply_plan(x, [list(ref.plan)])[0]
    judge = MeasuredJudge()
    c = ref.plan[0]
    clean = judge.score([Episode(x[0], final, ref, (c,), effects=(0.1,))])[0]
    idle = ToolCall("mood_lighting", "serene_calm", 0.0)
    sloppy = judge.score(
        [Episode(x[0], final, ref, (c, c, idle), invalid=1, effects=(0.1, 0.0, 0.0))]
    )[0]
    assert clean.scores["technical_execution"] == 100.0
    # 15 per invalid call, 10 per repeated tool, 5 per call that changed nothing
    assert sloppy.scores["technical_execution"] == 100.0 - 15 - 10 - 5 - 5
    assert clean.r == pytest.approx(clean.overall / 20)


def test_a_probing_call_reveals_nothing_about_the_request():
    """A strength-0 call of a requested tool and of another tool get the same reward (<= 0)."""
    x = make_images("procedural", 1, 64, seed=4).pixels
    (ref,) = build_references(
        x, [[Target("season_cycle", "winter_bare", 0.7), Target("time_of_day", "blue_hour", 0.6)]]
    )
    judge = MeasuredJudge()
    done = apply_plan(x, [[ref.plan[0]]])[0]
    first = judge.score([Episode(x[0], done, ref, (ref.plan[0],), effects=(0.1,))])[0]
    rewards = []
    for tool, value in (("time_of_day", "blue_hour"), ("color_grading", "cool_blue")):
        probe = ToolCall(tool, value, 0.0)
        after = judge.score([Episode(x[0], done, ref, (ref.plan[0], probe), effects=(0.1, 0.0))])[0]
        rewards.append((after.overall - first.overall) / 20)
    assert rewards[0] == pytest.approx(rewards[1]) and rewards[0] < 0


def test_half_a_request_cannot_score_far_above_half():
    x = make_images("procedural:outdoor", 4, 64, seed=8).pixels
    targets = [
        Target("season_cycle", "winter_bare", 0.7),
        Target("time_of_day", "night_moonlit", 0.6),
        Target("color_grading", "cool_blue", 0.6),
        Target("artistic_medium", "watercolor_flowing", 0.7),
    ]
    refs = build_references(x, [targets] * 4)
    judge = MeasuredJudge()
    for i, ref in enumerate(refs):
        half = apply_plan(x[i : i + 1], [list(ref.plan[:2])])[0]
        s = judge.score([Episode(x[i], half, ref, ref.plan[:2])])[0]
        assert s.overall <= 60 and s.coverage <= 0.6, (i, s.overall)


def test_a_wrong_conditional_branch_costs_at_least_half():
    from styling_env.tasks import Conditional

    x = make_images("procedural:outdoor", 1, 64, seed=11).pixels
    winter = Target("season_cycle", "winter_bare", 0.7)
    night, dusk = (
        Target("time_of_day", "night_moonlit", 0.6),
        Target("time_of_day", "golden_hour_sunset", 0.6),
    )
    cond = Conditional("dark", night, dusk)
    chosen, other = (night, dusk) if cond.holds(x[0]) else (dusk, night)
    (ref,) = build_references(x, [[winter, chosen]], conditional=[[(chosen, other)]])
    judge = MeasuredJudge()
    right = apply_plan(x, [list(ref.plan)])[0]
    wrong_plan = [
        c if c.tool != "time_of_day" else ToolCall("time_of_day", other.value, c.strength)
        for c in ref.plan
    ]
    wrong = apply_plan(x, [wrong_plan])[0]
    good = judge.score([Episode(x[0], right, ref, ref.plan)])[0]
    bad = judge.score([Episode(x[0], wrong, ref, tuple(wrong_plan))])[0]
    assert good.overall >= 95
    assert bad.overall <= 50


def test_planning_metrics_exact_numbers():
    plan = [
        ToolCall("season_cycle", "winter_bare", 0.8),
        ToolCall("time_of_day", "blue_hour", 0.5),
        ToolCall("color_grading", "cool_blue", 0.5),
    ]
    calls = [
        ToolCall("time_of_day", "blue_hour", 0.4),
        ToolCall("season_cycle", "autumn_falling", 0.8),
        ToolCall("mood_lighting", "serene_calm", 0.5),
    ]
    m = planning_metrics(calls, plan)
    assert m["precision"] == pytest.approx(2 / 3) and m["recall"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 / 3) and m["iou"] == pytest.approx(2 / 4)
    assert m["value_accuracy"] == pytest.approx(1 / 3)
    assert m["spearman"] == pytest.approx(-1.0)  # the two shared tools in reverse order
    assert planning_metrics(plan, plan)["spearman"] == 1.0
    assert planning_metrics([], plan) == {
        "precision": 0.0,
        "recall": 0.0,
        "f1": 0.0,
        "iou": 0.0,
        "value_accuracy": 0.0,
        "spearman": 0.0,
    }
    assert not any(math.isnan(v) for v in m.values())


def test_ssim_is_one_for_identical_images_and_lower_for_noise():
    x = make_images("procedural", 2, 64, seed=1).pixels
    assert torch.allclose(ssim(x, x), torch.ones(2), atol=1e-5)
    noisy = (x + 0.2 * torch.randn_like(x)).clamp(0, 1)
    assert (ssim(x, noisy) < 0.8).all()


def test_unknown_constraint_kind_is_an_error():
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Odd:
        kind: str = "keep_it_weird"
        region: str | None = None
        tool: str | None = None

    x = make_images("procedural", 1, 64, seed=3).pixels
    (ref,) = build_references(x, [[Target("season_cycle", "winter_bare", 0.6)]])
    with pytest.raises(ValueError, match="unknown constraint kind 'keep_it_weird'"):
        MeasuredJudge().score([Episode(x[0], x[0], ref, constraints=(Odd(),))])


def test_public_oracle_plan_matches_the_env_reference():
    import gymnasium as gym

    from styling_env import oracle_plan, sample_task

    task = sample_task("complex", 4)
    env = gym.make("ImageStyling-v0", image_size=64)
    env.reset(options={"task": task})
    assert oracle_plan(task, size=64) == list(env.unwrapped.slot.reference.plan)


def test_call_log_constraints_follow_the_task_rules():
    from styling_env.tasks import Constraint

    x = make_images("procedural", 1, 64, seed=6).pixels
    (ref,) = build_references(x, [[Target("time_of_day", "blue_hour", 0.6)]])
    judge = MeasuredJudge()
    photo = Constraint("keep_photorealistic")
    avoid = Constraint("avoid_tool", tool="color_grading")

    def violations(*calls):
        final = apply_plan(x, [list(calls)])[0]
        return judge.score([Episode(x[0], final, ref, calls, constraints=(photo, avoid))])[
            0
        ].violations

    blue = ToolCall("time_of_day", "blue_hour", 0.6)
    assert violations(blue) == ()
    assert violations(blue, ToolCall("artistic_medium", "film_photography", 0.5)) == ()
    assert violations(blue, ToolCall("artistic_medium", "pencil_sketch", 0.5)) == (
        "keep_photorealistic",
    )
    assert violations(blue, ToolCall("atmospheric_effects", "film_grain", 0.9)) == (
        "keep_photorealistic",
    )
    assert violations(blue, ToolCall("atmospheric_effects", "film_grain", 0.3)) == ()
    assert violations(blue, ToolCall("color_grading", "cool_blue", 0.5)) == (
        "avoid_tool:color_grading",
    )


def test_task_references_are_its_sources_then_their_references():
    """``task_references`` is ``task_sources`` then ``source_references`` (the engine times the
    two apart); a batch of another length than the tasks is refused by name."""
    from styling_env.oracle import source_references, task_references, task_sources
    from styling_env.tasks import sample_task

    tasks = [sample_task("complex", s) for s in range(3)]
    batch, refs = task_references(tasks, 32)
    again = task_sources(tasks, 32)
    assert torch.equal(batch.pixels, again.pixels) and torch.equal(batch.masks, again.masks)
    for a, b in zip(refs, source_references(tasks, again), strict=True):
        assert a.plan == b.plan and torch.equal(a.work, b.work) and torch.equal(a.basis, b.basis)
    with pytest.raises(ValueError, match="got 3 source images for 2 tasks"):
        source_references(tasks[:2], again)
