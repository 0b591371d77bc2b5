"""Tasks at three tiers: specs, instructions, template split, constraints, conditionals (§3.4)."""

from __future__ import annotations

import functools
import json
import math
import re
from collections import Counter
from dataclasses import replace

import numpy as np
import pytest
import torch

from styling_env import lexicon as lx
from styling_env import tasks, wording
from styling_env import train_lexicon as tl
from styling_env.images import MASK_NAMES, make_images, procedural
from styling_env.tasks import (
    PREDICATES,
    STRENGTH_LEVELS,
    TIERS,
    TOOL_ORDER,
    Conditional,
    Constraint,
    Target,
    Task,
    sample_task,
    user_task,
)
from styling_env.tools.vocabulary import N_VALUES, TOOLS

COUNTS = {"simple": (1, 2), "regular": (3, 5), "complex": (3, 5)}
N_TRAIN = 200


@functools.cache
def _train_tuple(tier: str, n: int) -> tuple[Task, ...]:
    return tuple(sample_task(tier, seed) for seed in range(n))


def _train(tier: str, n: int = N_TRAIN) -> list[Task]:
    """Train tasks of seeds 0..n-1 (sampled once per run; tasks are frozen)."""
    return list(_train_tuple(tier, n))


@functools.cache
def _clean_train(tier: str, n: int = N_TRAIN) -> tuple[Task, ...]:
    """Train tasks of seeds 0..n-1 written without their surface noise (same frames, words)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(wording, "draw_noise", lambda *args: wording.Noise())
        return tuple(sample_task(tier, seed) for seed in range(n))


def _mentioned(task: Task) -> list[Target]:
    branches = [b for c in task.conditionals for b in (c.then, c.otherwise) if b is not None]
    return [*task.targets, *branches]


def _frame_regex(frame: str) -> re.Pattern[str]:
    """A frame as a regex: its literal text in order, each slot any non-empty text."""
    parts = re.split(r"\{[a-z_]+\}", frame)
    return re.compile(".+".join(re.escape(p) for p in parts), re.DOTALL)


def _level(strength: float) -> str:
    return next(level for level, s in STRENGTH_LEVELS.items() if s == strength)


def _image(rgb: tuple[float, float, float], size: int = 32) -> torch.Tensor:
    return torch.tensor(rgb, dtype=torch.float32).view(3, 1, 1).expand(3, size, size).clone()


# --------------------------------------------------------------------------------------------
# Specs


@pytest.mark.parametrize("tier", TIERS)
def test_counts_values_and_strengths(tier: str) -> None:
    lo, hi = COUNTS[tier]
    for task in _train(tier) + list(tasks.test_tasks(tier)):
        assert task.tier == tier
        # every way the conditionals can resolve stays in range
        n = len(task.targets)
        for cond in task.conditionals:
            for branch in (cond.then, cond.otherwise):
                assert lo <= n + (branch is not None) <= hi, task.instruction
        if not task.conditionals:
            assert lo <= n <= hi
        tools = [t.tool for t in task.targets]
        branch_tools = {b.tool for c in task.conditionals for b in (c.then, c.otherwise) if b}
        assert len(tools) == len(set(tools)) and not branch_tools & set(tools), task.instruction
        for t in _mentioned(task):
            assert t.value in TOOLS[t.tool]
            assert t.strength in STRENGTH_LEVELS.values()
        assert [t.tool for t in task.targets] == sorted(
            (t.tool for t in task.targets), key=TOOL_ORDER.index
        )


def test_tool_order() -> None:
    assert TOOL_ORDER == (
        "location_setting", "architecture_style", "time_period_era", "season_cycle",
        "weather_conditions", "time_of_day", "mood_lighting", "color_grading",
        "atmospheric_effects", "artistic_medium",
    )  # fmt: skip


@pytest.mark.parametrize("tier", TIERS)
def test_intensity_words_match_strengths(tier: str) -> None:
    """Cue words of exactly the non-moderate levels asked for appear; plain = moderate."""
    for task in _train(tier) + list(tasks.test_tasks(tier)):
        found = {level for level, words in tasks.cue_words(task.instruction).items() if words}
        asked = {_level(t.strength) for t in _mentioned(task)}
        assert found - {"moderate"} == asked - {"moderate"}, task.instruction
        if "moderate" in found:
            assert "moderate" in asked, task.instruction


@pytest.mark.parametrize("tier", TIERS)
def test_determinism(tier: str) -> None:
    for seed in (0, 7, 123456):
        for split in ("train", "test"):
            a, b = sample_task(tier, seed, split), sample_task(tier, seed, split)
            assert a == b and a.to_dict() == b.to_dict()
    instructions = {sample_task(tier, s).instruction for s in range(50)}
    assert len(instructions) == 50


def test_image_seed_ranges_are_disjoint() -> None:
    for tier in TIERS:
        train = {t.image_seed for t in _train(tier, 100)}
        test = {t.image_seed for t in tasks.test_tasks(tier)}
        assert max(train) < tasks.IMAGE_SEED_SPAN <= min(test)
        assert all(t.image_index == 0 for t in tasks.test_tasks(tier))


# --------------------------------------------------------------------------------------------
# Test sets and the template split


@pytest.mark.parametrize("tier", TIERS)
def test_test_sets(tier: str) -> None:
    test = tasks.test_tasks(tier)
    assert len(test) == 200 and tasks.test_tasks(tier) is test  # cached
    assert all(t.split == "test" for t in test)
    assert len({t.task_id for t in test}) == 200
    held_out = {tid for tid, _ in tasks.TEMPLATES[tier]["test"]}
    train_ids = {tid for tid, _ in tasks.TEMPLATES[tier]["train"]}
    assert len(held_out) == 8 and not held_out & train_ids
    assert len(train_ids) == len(lx.TEMPLATES[tier]["train"]) + len(tl.TRAIN_FRAMES[tier]) == 48
    used = Counter(t.template_id for t in test)
    assert set(used) <= held_out and len(used) == len(held_out)
    assert {t.template_id for t in _train(tier)} <= train_ids
    assert tasks.test_tasks(tier, n=5, seed=1) != test[:5]


@pytest.mark.parametrize("tier", TIERS)
def test_instructions_match_their_own_frame(tier: str) -> None:
    for task in _clean_train(tier, 100) + tasks.test_tasks(tier):
        frame = tasks.template_frame(task.template_id)
        assert _frame_regex(frame).fullmatch(task.instruction), (frame, task.instruction)


def test_no_frame_crosses_the_split() -> None:
    """No test instruction fits a train frame, and no train instruction fits a held-out frame
    (train instructions without their surface noise; tests/test_language.py checks the noisy
    ones after normalising case, punctuation and abbreviations)."""
    # a frame without a word of its own ("{items}?", the terse style) fits any text: it cannot
    # give a held-out frame away, so it is left out of the check
    frames = {
        split: [
            _frame_regex(f)
            for by in tasks.TEMPLATES.values()
            for _, f in by[split]
            if re.search("[a-z]", re.sub(r"\{[a-z_]+\}", "", f))
        ]
        for split in ("train", "test")
    }
    cond_frames = {
        "train": lx.CONDITIONAL_FRAMES["train"] + tl.TRAIN_CONDITIONAL_FRAMES,
        "test": lx.CONDITIONAL_FRAMES["test"],
    }
    conds = {s: [_frame_regex(f) for f in fs] for s, fs in cond_frames.items()}
    for split, other in (("test", "train"), ("train", "test")):
        batch = (
            [t for tier in TIERS for t in tasks.test_tasks(tier)]
            if split == "test"
            else [t for tier in TIERS for t in _clean_train(tier)]
        )
        for task in batch:
            assert not any(rx.fullmatch(task.instruction) for rx in frames[other]), task.instruction
            for cond in task.conditionals:
                assert any(rx.fullmatch(cond.text) for rx in conds[split])
                assert not any(rx.fullmatch(cond.text) for rx in conds[other]), cond.text


def test_clause_order_varies() -> None:
    """The first target mentioned is often not the first in the canonical plan order."""

    def first_mentioned(task: Task) -> str:
        def position(t: Target) -> int:
            phrases = [
                *lx.VALUE_PHRASES[t.tool][t.value][1:],
                *tl.PEOPLES_WORDS[t.tool][t.value],
                t.value.replace("_", " "),
            ]
            text = re.sub(r"[.:!?]", "", task.instruction.lower())  # the surface noise's marks
            found = [
                m.start()
                for p in phrases
                for m in [re.search(rf"\b{re.escape(re.sub(r'[.:!?]', '', p.lower()))}\b", text)]
                if m
            ]
            assert found, (t, task.instruction)
            return min(found)

        return min(task.targets, key=position).tool

    for tier in ("simple", "regular"):
        multi = [t for t in _train(tier, 400) if len(t.targets) >= 2]
        moved = np.mean([first_mentioned(t) != t.targets[0].tool for t in multi])
        assert 0.3 < moved < 0.95, (tier, moved)


# --------------------------------------------------------------------------------------------
# Complex: constraints, conditionals, regions


def test_complex_constraints_and_conditionals() -> None:
    complex_tasks = _train("complex") + list(tasks.test_tasks("complex"))
    assert all(1 <= len(t.constraints) <= 2 for t in complex_tasks)
    rate = np.mean([bool(t.conditionals) for t in complex_tasks])
    assert 0.38 < rate < 0.62, rate
    kinds = Counter(c.kind for t in complex_tasks for c in t.constraints)
    assert set(kinds) == set(tasks.CONSTRAINT_KINDS), kinds
    for task in complex_tasks:
        for c in (*task.constraints, *task.conditionals):
            assert c.text and c.text.lower() in task.instruction.lower()
    for tier in ("simple", "regular"):
        assert all(not t.constraints and not t.conditionals for t in tasks.test_tasks(tier))


def test_preserve_region_only_where_the_region_exists() -> None:
    checked = 0
    for task in tasks.test_tasks("complex"):
        regions = [c.region for c in task.constraints if c.kind == "preserve_region"]
        subject = any(c.kind == "preserve_subject" for c in task.constraints)
        if not regions and not subject:
            continue
        batch = task.source_image(128)
        assert bool(batch.has_masks[0]), task.task_id
        fractions = dict(zip(MASK_NAMES, batch.masks[0].mean((1, 2)).tolist(), strict=True))
        for region in regions:
            assert fractions[region] >= 0.03, (region, fractions)
        if subject:
            assert fractions["subject"] >= 0.01, fractions
        checked += 1
        if checked == 50:
            break
    assert checked == 50


def test_no_target_contradicts_a_constraint() -> None:
    for task in _train("complex", 300) + list(tasks.test_tasks("complex")):
        for t in _mentioned(task):
            for c in task.constraints:
                assert not tasks.conflicts(t, c), (t, c)


def test_conflict_rules() -> None:
    photo = Constraint("keep_photorealistic")
    assert tasks.conflicts(Target("artistic_medium", "oil_painting_thick"), photo)
    assert not tasks.conflicts(Target("artistic_medium", "film_photography"), photo)
    assert tasks.conflicts(Target("atmospheric_effects", "film_grain", 0.85), photo)
    assert not tasks.conflicts(Target("atmospheric_effects", "film_grain", 0.35), photo)
    sky = Constraint("preserve_region", "sky")
    assert tasks.conflicts(Target("weather_conditions", "thunderstorm"), sky)
    assert not tasks.conflicts(Target("season_cycle", "winter_bare"), sky)
    avoid = Constraint("avoid_tool", tool="color_grading")
    assert tasks.conflicts(Target("color_grading", "cool_blue"), avoid)
    assert not tasks.conflicts(Target("mood_lighting", "serene_calm"), avoid)


# --------------------------------------------------------------------------------------------
# Predicates and conditionals


def test_predicates_on_synthetic_images() -> None:
    dark, bright = _image((0.1, 0.1, 0.12)), _image((0.9, 0.9, 0.88))
    assert PREDICATES["dark"](dark) and not PREDICATES["dark"](bright)
    assert PREDICATES["bright"](bright) and not PREDICATES["bright"](dark)
    warm, cool = _image((0.8, 0.5, 0.3)), _image((0.3, 0.5, 0.8))
    assert PREDICATES["warm"](warm) and not PREDICATES["warm"](cool)
    assert PREDICATES["cool"](cool) and not PREDICATES["cool"](warm)
    assert PREDICATES["colorful"](_image((0.9, 0.2, 0.1)))
    assert PREDICATES["muted"](_image((0.5, 0.5, 0.5)))
    sky = _image((0.3, 0.3, 0.2))
    sky[:, :8] = torch.tensor([0.55, 0.7, 0.95]).view(3, 1, 1)
    assert PREDICATES["has_sky"](sky) and not PREDICATES["has_sky"](dark)


def test_predicate_rates_on_mix_images() -> None:
    """Each predicate splits real source images (the thresholds were set on 300 of them)."""
    batch = make_images("mix", 80, 64, 424242)
    for name, predicate in PREDICATES.items():
        rate = np.mean([predicate(batch.pixels[i]) for i in range(len(batch))])
        assert 0.12 <= rate <= 0.88, (name, rate)


def test_resolved_targets_pick_the_branch() -> None:
    night, dusk = (
        Target("time_of_day", "night_moonlit", 0.85),
        Target("time_of_day", "dusk_twilight"),
    )
    base = user_task("evening", [("color_grading", "cool_blue"), ("time_of_day", "morning_bright")])
    task = replace(base, conditionals=(Conditional("dark", night, dusk, "if dark"),))
    dark, bright = _image((0.08, 0.08, 0.1)), _image((0.85, 0.85, 0.8))
    # canonical order (time before grade); the branch replaces the unconditional time target
    assert task.resolved_targets(dark) == (night, Target("color_grading", "cool_blue"))
    assert task.resolved_targets(bright.unsqueeze(0))[0] == dusk  # a batch of one works too
    # generated tasks: on a dark image the "dark" clauses take `then`, on a bright one `otherwise`
    by_predicate = Counter()
    for t in tasks.test_tasks("complex") + tuple(_train("complex")):
        for cond in t.conditionals:
            by_predicate[cond.predicate] += 1
            if cond.predicate not in ("dark", "bright"):
                continue
            for img, holds in (
                (dark, cond.predicate == "dark"),
                (bright, cond.predicate == "bright"),
            ):
                branch = cond.then if holds else cond.otherwise
                expected = sorted(
                    [*t.targets, *([branch] if branch else [])],
                    key=lambda x: TOOL_ORDER.index(x.tool),
                )
                assert t.resolved_targets(img) == tuple(expected)
    assert by_predicate["dark"] >= 5 and by_predicate["bright"] >= 5 and len(by_predicate) == 7


# --------------------------------------------------------------------------------------------
# Round trip, user tasks


@pytest.mark.parametrize("tier", TIERS)
def test_round_trip(tier: str) -> None:
    for task in _train(tier, 30):
        back = Task.from_dict(json.loads(json.dumps(task.to_dict())))
        assert back == task and back.to_dict() == task.to_dict()


def test_user_task() -> None:
    rng = np.random.default_rng(0)
    photo = (rng.random((40, 56, 3)) * 255).astype(np.uint8)
    task = user_task(
        "  make it a snowy night  ",
        [("season_cycle", "winter_bare", 0.85), {"tool": "time_of_day", "value": "night_moonlit"}],
        image=photo,
    )
    assert task.instruction == "make it a snowy night" and task.image_source == "user"
    assert task.tier == "simple" and [t.tool for t in task.targets] == [
        "season_cycle",
        "time_of_day",
    ]
    batch = task.source_image(size=(40, 56))
    assert torch.allclose(batch.pixels[0], torch.from_numpy(photo).permute(2, 0, 1) / 255.0)
    back = Task.from_dict(json.loads(json.dumps(task.to_dict())))
    assert back == task and torch.allclose(back.image, task.image, atol=1 / 255)
    constrained = user_task(
        "keep the sky", constraints=[{"kind": "preserve_region", "region": "sky"}]
    )
    assert constrained.tier == "complex" and constrained.targets == ()
    assert constrained.image_source == "mix" and len(constrained.source_image(32)) == 1


# --------------------------------------------------------------------------------------------
# Coverage, lexicon, themes


def test_every_value_is_reachable() -> None:
    seen = {(t.tool, t.value) for seed in range(5000) for t in sample_task("simple", seed).targets}
    assert len(seen) == N_VALUES == 171


def test_lexicon_tables() -> None:
    phrases: list[str] = []
    for tool, values in TOOLS.items():
        assert set(lx.VALUE_PHRASES[tool]) == set(values)
        for value in values:
            label, *vague = lx.VALUE_PHRASES[tool][value]
            assert len(vague) >= 3 and label
            phrases += vague
    assert len(phrases) == len(set(phrases)), "a phrase evokes one value only"
    assert len(set(tasks.THEMES["simple"])) == N_VALUES, "labels are unique"
    # cue words appear nowhere but in the intensity wrappers, so strengths are readable
    texts = [
        *phrases, *tasks.THEMES["complex"], *(p for ps in lx.REGULAR_THEME_PHRASES.values() for p in ps),
        *(f for by in lx.TEMPLATES.values() for fs in by.values() for f in fs),
        *(f for fs in lx.CONDITIONAL_FRAMES.values() for f in fs), *lx.BRANCH_VERBS,
        *(p for ps in lx.KEEP_PHRASES.values() for p in ps),
        *(p for ps in lx.PREDICATE_PHRASES.values() for p in ps),
        *(p for by in lx.PRESERVE_REGION_PHRASES.values() for ps in by.values() for p in ps),
        *(p for ps in lx.PRESERVE_SUBJECT_PHRASES.values() for p in ps),
        *lx.KEEP_PHOTOREALISTIC_PHRASES, *(p for ps in lx.AVOID_TOOL_PHRASES.values() for p in ps),
        *lx.CONSTRAINT_FRAMES, *lx.CONSTRAINT_JOINS, *lx.LITERAL_NOUNS.values(),
    ]  # fmt: skip
    for text in texts:
        assert not any(tasks.cue_words(text).values()), text
    for level, (_, cues, wrappers, _) in lx.INTENSITY.items():
        for wrapper in wrappers:
            found = tasks.cue_words(wrapper.format(p="x"))
            assert set(found[level]) <= set(cues)
            assert found[level] or (level == "moderate" and wrapper == "{p}"), wrapper


def test_regular_themes() -> None:
    assert tasks.THEMES["regular"] == (
        "modern living room", "traditional bedroom", "urban kitchen", "cozy office",
        "minimalist bathroom", "rustic dining room", "contemporary studio", "classic library",
        "industrial loft", "zen meditation room",
    )  # fmt: skip
    for theme, table in lx.REGULAR_THEMES.items():
        assert len(table) >= 6, theme
        for tool, values in table.items():
            assert set(values) <= set(TOOLS[tool]), (theme, tool)
    assert Counter(t.theme for t in _train("regular")).keys() == set(tasks.THEMES["regular"])


def test_regular_images_show_the_matching_room() -> None:
    for seed in range(25):  # interior_scene mirrors the procedural generator's first draws
        rng = np.random.default_rng([seed, 0, 12])
        canvas = procedural.Canvas(16, 16, rng, procedural.BUILDINGS)
        assert tasks.interior_scene(seed) == procedural._interior(canvas, rng)
    for task in _train("regular", 60):
        assert task.image_source == "procedural:interior"
        assert tasks.interior_scene(task.image_seed) == tasks.ROOM_SCENES[task.theme]
        assert task.source_image(32).kinds == ("interior",)


def test_complex_themes() -> None:
    assert len(tasks.THEMES["complex"]) >= 80
    categories = Counter(category for category, _, _ in lx.COMPLEX_THEMES.values())
    assert set(categories) == set(lx.COMPLEX_CATEGORIES) and min(categories.values()) >= 4
    for title, (_, core, extra) in lx.COMPLEX_THEMES.items():
        assert 1 <= len(core) <= 3 and len(core) + len(set(extra) - set(core)) >= 5, title
        assert not set(core) & set(extra), title
        pairs = [(lx.TOOL_KEYS[k], v) for k, v in core.items()]
        for tool, value in pairs:
            assert value in TOOLS[tool], (title, value)
            assert tasks._compatible(tool, value, pairs), (title, value)
        for key, values in extra.items():
            assert set(values) <= set(TOOLS[lx.TOOL_KEYS[key]]), (title, key)
    used = Counter(t.theme for t in _train("complex", 400))
    assert len(used) >= 70


# --------------------------------------------------------------------------------------------
# Bad input


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="unknown tier 'hard'; expected one of simple"):
        sample_task("hard", 0)
    with pytest.raises(ValueError, match="unknown split 'val'"):
        sample_task("simple", 0, "val")
    with pytest.raises(ValueError, match="seed must be an int >= 0"):
        sample_task("simple", -1)
    with pytest.raises(ValueError, match="unknown image_source 'pictures'"):
        sample_task("simple", 0, image_source="pictures")
    with pytest.raises(ValueError, match="n must be an int in"):
        tasks.test_tasks("simple", n=0)
    with pytest.raises(ValueError, match="unknown tool 'paint'"):
        Target("paint", "red")
    with pytest.raises(ValueError, match="unknown value 'monsoon' for tool 'season_cycle'"):
        Target("season_cycle", "monsoon")
    for bad in (0.1, 1.5, math.nan):
        with pytest.raises(ValueError, match=r"strength .* must be in \[0.2, 1\]"):
            Target("season_cycle", "winter_bare", bad)
    with pytest.raises(TypeError, match="strength .* must be a real number in"):
        Target("season_cycle", "winter_bare", "strong")
    with pytest.raises(ValueError, match="unknown target key\\(s\\) 'strenght'"):
        Target.from_dict({"tool": "season_cycle", "value": "winter_bare", "strenght": 0.3})
    # NumPy's numbers are numbers (an agent's strengths often come out of an array)
    assert Target("season_cycle", "winter_bare", np.float32(0.5)).strength == 0.5
    with pytest.raises(ValueError, match="unknown constraint kind 'forbid'"):
        Constraint("forbid")
    with pytest.raises(ValueError, match="unknown preserve_region region 'all'"):
        Constraint("preserve_region", "all")
    with pytest.raises(ValueError, match="unknown preserve_region region 'moon'"):
        Constraint("preserve_region", "moon")
    with pytest.raises(ValueError, match="unknown avoid_tool tool None"):
        Constraint("avoid_tool")
    with pytest.raises(ValueError, match="takes no region"):
        Constraint("keep_photorealistic", "sky")
    with pytest.raises(ValueError, match="unknown predicate 'rainy'"):
        Conditional("rainy", Target("season_cycle", "winter_bare"), None)
    with pytest.raises(ValueError, match="at least one branch"):
        Conditional("dark", None, None)
    with pytest.raises(ValueError, match=r"two targets for one tool \(season_cycle\)"):
        user_task("x", [("season_cycle", "winter_bare"), ("season_cycle", "summer_lush")])
    with pytest.raises(ValueError, match="contradicts constraint avoid_tool"):
        user_task("x", [("season_cycle", "winter_bare")], [Constraint("avoid_tool", tool="season_cycle")])  # fmt: skip
    with pytest.raises(ValueError, match="instruction is empty"):
        user_task("   ")
    with pytest.raises(TypeError, match="instruction must be a string"):
        user_task(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="too small"):
        user_task("x", image=np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match="RGBA"):
        user_task("x", image=np.zeros((32, 32, 4), np.uint8))
    with pytest.raises(TypeError, match="a target must be"):
        user_task("x", ["winter"])
    task = sample_task("simple", 0)
    with pytest.raises(ValueError, match="task is missing 'instruction'"):
        Task.from_dict({k: v for k, v in task.to_dict().items() if k != "instruction"})
    with pytest.raises(ValueError, match=r"image must have shape \(3, H, W\)"):
        PREDICATES["dark"](torch.zeros(32, 32))
    with pytest.raises(ValueError, match="unknown template id"):
        tasks.template_frame("simple/train/99")
