"""The free-text test set: fixed hand-written requests, their specs and images, never trained on."""

from __future__ import annotations

import json
import re
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from styling_env import free_tasks as F
from styling_env import lexicon as lx
from styling_env import tasks as T
from styling_env.tasks import TIERS, sample_task, test_tasks


@pytest.mark.parametrize("tier", TIERS)
def test_each_tier_holds_at_least_100_fixed_free_tasks(tier):
    free = test_tasks(tier, split="free")
    assert len(free) >= 100 and test_tasks(tier, split="free") is free  # cached
    assert all(t.split == "free" and t.tier == tier and t.template_id == "free" for t in free)
    assert len({t.task_id for t in free}) == len(free)
    assert len({t.instruction.lower() for t in free}) == len(free)
    assert test_tasks(tier, 5, split="free") == free[:5]
    seeds = {t.image_seed for t in free}
    assert all(2 * T.IMAGE_SEED_SPAN <= s < 3 * T.IMAGE_SEED_SPAN for s in seeds)
    assert not seeds & {t.image_seed for t in test_tasks(tier)}
    assert all(t.image_source == T.DEFAULT_SOURCES[tier] for t in free)


def test_free_tasks_are_fixed_not_sampled():
    with pytest.raises(ValueError, match="split 'free' is a fixed set, not sampled"):
        sample_task("simple", 0, "free")
    with pytest.raises(ValueError, match="fixed set: it takes no seed"):
        test_tasks("simple", split="free", seed=3)
    with pytest.raises(ValueError, match=r"n must be an int in \[1, 108\]"):
        test_tasks("simple", 500, split="free")
    with pytest.raises(ValueError, match="test_tasks takes split 'test' or 'free'"):
        test_tasks("simple", split="train")


def test_tier_structure_follows_the_generator():
    for t in test_tasks("simple", split="free"):
        assert 1 <= len(t.targets) <= 2 and not t.constraints and not t.conditionals
    for t in test_tasks("regular", split="free"):
        assert 3 <= len(t.targets) <= 5 and not t.constraints and not t.conditionals
        assert all(x.value in lx.REGULAR_THEMES[t.theme][x.tool] for x in t.targets)
        assert T.interior_scene(t.image_seed) == T.ROOM_SCENES[t.theme]
    free = test_tasks("complex", split="free")
    for t in free:
        kinds = [c.kind for c in t.constraints]
        assert 1 <= len(kinds) <= 2 and len(set(kinds)) == len(kinds)
        assert 3 <= len(t.resolved_targets(t.source_image(64).pixels[0])) <= 5
        for c in t.constraints + t.conditionals:
            assert c.text.lower() in t.instruction.lower()  # the words that state it
    with_cond = sum(bool(t.conditionals) for t in free) / len(free)
    assert 0.3 <= with_cond <= 0.7  # about half, as the generator
    kinds = {c.kind for t in free for c in t.constraints}
    assert kinds == set(T.CONSTRAINT_KINDS)
    assert {t.conditionals[0].predicate for t in free if t.conditionals} == set(lx.CONDITIONALS)


def test_strength_agrees_with_the_words():
    """Hedges ask for 0.35, all-the-way words for 1.0: each request with one has such a target."""
    hedges = re.compile(
        r"\b(a hint|a touch|a bit|a little|slight|slightly|subtle|barely|not too)\b"
    )
    full = re.compile(r"\b(all the way|totally|full on|go wild|go nuts|max|crank it|the works)\b")
    for tier in TIERS:
        for t in test_tasks(tier, split="free"):
            asked = [x.strength for x in t.targets] + [
                b.strength for c in t.conditionals for b in (c.then, c.otherwise) if b
            ]
            text = t.instruction.lower()
            if hedges.search(text):
                assert min(asked) <= 0.35, (t.task_id, text)
            if full.search(text):
                assert max(asked) == 1.0, (t.task_id, text)


def _words(text: str) -> list[str]:
    return re.sub(r"[^\w\s]", " ", text.lower()).split()


def _grams(words: list[str], n: int = 8) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


@pytest.mark.parametrize("tier", TIERS)
def test_no_free_request_shares_an_8_word_run_with_training_instructions(tier, monkeypatch):
    free = test_tasks(tier, split="free")  # loaded (its images checked) before the stand-in
    if tier == "complex":  # the text depends on the image's kind and regions, not its pixels
        infos = [T._image_info("mix", s) for s in range(6)]
        monkeypatch.setattr(T, "_image_info", lambda source, seed: infos[seed % len(infos)])
    train = [sample_task(tier, s).instruction for s in range(2000)]
    seen = {" ".join(_words(x)) for x in train}
    grams = set().union(*(_grams(_words(x)) for x in train))
    for t in free:
        words = _words(t.instruction)
        assert " ".join(words) not in seen, t.task_id
        assert not _grams(words) & grams, (t.task_id, sorted(_grams(words) & grams)[:1])


@pytest.mark.parametrize("tier", TIERS)
def test_the_oracle_scores_at_least_95(tier):
    env = gym.make("ImageStyling-v0", tier=tier, image_size=64, split="free")
    free = test_tasks(tier, split="free")
    for t in free[:: len(free) // 4][:4]:
        env.reset(seed=0, options={"task": t})
        for call in env.unwrapped.slot.reference.plan:
            _, _, _, _, info = env.step(call)
            assert info["error"] == ""
        *_, info = env.step(
            {"tool": 10, "value": 0, "strength": np.zeros(1, np.float32), "region": 0}
        )
        assert info["overall"] >= 95.0, (t.task_id, info["overall"])


def test_the_env_draws_free_tasks():
    env = gym.make("ImageStyling-Complex-v0", image_size=64, split="free")
    obs, _ = env.reset(seed=4)
    task = env.unwrapped.slot.task
    assert task.split == "free" and task in test_tasks("complex", split="free")
    assert obs["instruction"] == task.instruction
    env.reset(seed=4)
    assert env.unwrapped.slot.task == task  # seeded
    vec = gym.make_vec("ImageStyling-v0", 2, vectorization_mode="vector_entry_point",
                       image_size=64, split="free")  # fmt: skip
    vec.reset(seed=1)
    assert all(s.task.split == "free" for s in vec.unwrapped.engine.slots)
    with pytest.raises(ValueError, match="split 'free' is a fixed set on its own images"):
        gym.make("ImageStyling-v0", split="free", images="bundled")


def test_datasets_and_online_training_refuse_the_free_set(tmp_path, monkeypatch, capsys):
    from agents.online import make_online_env
    from offline_data.__main__ import main as data_main
    from offline_data.generate import check_training_split, generate

    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))
    with pytest.raises(ValueError, match="the free-text test set is for evaluation"):
        generate("simple", 4, split="free")
    with pytest.raises(ValueError, match="split 'test' is for evaluation"):
        check_training_split("test")
    assert data_main(["generate", "--tier", "simple", "--episodes", "4", "--split", "free"]) == 2
    assert "the free-text test set is for evaluation" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())  # refused before any work
    with pytest.raises(ValueError, match="never trained on"):
        make_online_env("simple", split="free")
    from agents.sb3_vec import make_sb3_vec_env

    with pytest.raises(ValueError, match="never trained on"):
        make_sb3_vec_env("simple", n_envs=2, split="free")


def _file(tmp_path: Path, tier: str, edit) -> Path:
    doc = json.loads((F.DATA_DIR / f"{tier}.json").read_text())
    doc["requests"] = doc["requests"][:3]
    edit(doc["requests"])
    path = tmp_path / f"{tier}.json"
    path.write_text(json.dumps(doc))
    return path


def _seed_without(region: str, req: dict) -> int:
    low = F.block_start("complex", int(req["id"][-3:]))
    return next(
        s for s in range(low, low + 100) if T._image_info("mix", s)[1].get(region, 0) < 0.01
    )


@pytest.mark.parametrize(
    ("tier", "edit", "message"),
    [
        (
            "simple",
            lambda r: r[1]["targets"][0].__setitem__(0, "paint"),
            "simple-free-002: target .*unknown tool 'paint'",
        ),
        (
            "simple",
            lambda r: r[0]["targets"][0].__setitem__(1, "neon"),
            "simple-free-001: target .*unknown value 'neon'",
        ),
        (
            "simple",
            lambda r: r[2]["targets"].append(["season_cycle", "summer_lush", 0.6]),
            "simple-free-003: .*summer_lush and weather_conditions=heavy_snow_blizzard do not go together",
        ),
        (
            "simple",
            lambda r: r[0]["targets"][0].__setitem__(2, 0.05),
            r"simple-free-001: target .*must be in \[0.2, 1\]",
        ),
        (
            "simple",
            lambda r: r[2].update(id="simple-free-001", image_seed=r[0]["image_seed"]),
            "simple-free-001: the id appears twice",
        ),
        (
            "regular",
            lambda r: r[0]["targets"].pop(),
            "regular-free-001: a regular request has 3-5 targets, got 2",
        ),
        (
            "regular",
            lambda r: r[0]["targets"][0].__setitem__(1, "midnight_dark"),
            "regular-free-001: time_of_day=midnight_dark is not a value of the 'modern living room' theme",
        ),
        (
            "regular",
            lambda r: r[1].__setitem__("image_seed", r[0]["image_seed"]),
            "regular-free-002: image_seed .* outside the request's seed block",
        ),
        (
            "complex",
            lambda r: r[0]["targets"].append(["time_of_day", "night_moonlit", 0.6]),
            "complex-free-001: target time_of_day=night_moonlit contradicts constraint preserve_region",
        ),
        (
            "complex",
            lambda r: r[0].__setitem__("image_seed", _seed_without("sky", r[0])),
            "complex-free-001: image seed .* does not fit: .*(sky covers|needs outdoor)",
        ),
        (
            "complex",
            lambda r: r[0]["constraints"][0].__setitem__("says", "keep the sky"),
            "complex-free-001: the constraint's 'says' 'keep the sky' is not part of the request's text",
        ),
        (
            "complex",
            lambda r: r[1]["conditionals"][0].__setitem__("else", ["morning_bright", 0.6]),
            r"complex-free-002: \(dark, time_of_day, midnight_dark / morning_bright\) is not a row",
        ),
        (
            "complex",
            lambda r: r[1]["constraints"][0].__setitem__("region", "sky"),
            "complex-free-002: a preserve_subject constraint takes no region",
        ),
        (
            "complex",
            lambda r: r[0].__setitem__("colour", "red"),
            r"complex-free-001: unknown keys \['colour'\]",
        ),
    ],
)
def test_bad_file_contents_name_the_request(tmp_path, tier, edit, message):
    path = _file(tmp_path, tier, edit)
    with pytest.raises(F.FreeTaskError, match=message):
        F.load(tier, path)


def test_bad_files(tmp_path):
    (tmp_path / "x.json").write_text("{not json")
    with pytest.raises(F.FreeTaskError, match="x.json: not valid JSON"):
        F.load("simple", tmp_path / "x.json")
    (tmp_path / "y.json").write_text(json.dumps({"format": F.FORMAT, "tier": "regular", "written": "by hand", "requests": []}))  # fmt: skip
    with pytest.raises(F.FreeTaskError, match="y.json: the file is for tier 'regular', expected 'simple'"):  # fmt: skip
        F.load("simple", tmp_path / "y.json")
    with pytest.raises(F.FreeTaskError, match="'requests' must be a non-empty list"):
        F.load("regular", tmp_path / "y.json")
    with pytest.raises(F.FreeTaskError, match="no such file"):
        F.load("simple", tmp_path / "missing.json")


def test_the_overlap_audit_finds_training_phrases_in_free_requests():
    from experiments.free_overlap import main, overlap, split_score

    hits = overlap("simple")
    free = {t.task_id: t for t in test_tasks("simple", split="free")}
    assert hits and set(hits) <= set(free)
    for tid, phrases in hits.items():  # each named phrase is in its request, two words or more
        text = " ".join(free[tid].instruction.lower().split())
        assert all(len(p.split()) >= 2 for p in phrases)
        assert any(p.split()[0] in text for p in phrases)
    assert len(overlap("simple", min_words=1)) >= len(hits)  # single words count more
    with pytest.raises(ValueError, match="min_words"):
        overlap("simple", 0)
    ev = {"random_overall": 0.0, "oracle_overall": 100.0,
          "episodes": [{"task_id": "a", "overall": 80.0}, {"task_id": "b", "overall": 20.0}]}  # fmt: skip
    assert split_score(ev, {"a"}) == {"all": (50.0, 2), "overlapping": (80.0, 1), "rest": (20.0, 1)}
    assert main(["--eval", "nowhere=x.json"]) == 2
