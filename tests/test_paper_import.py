"""Importing the paper's release (per-sample folders) as an ImageStyling dataset."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from offline_data.dataset import DatasetError, dataset_path, episodes, info, load
from offline_data.paper import import_paper, read_sample
from styling_env.engine import Stop
from styling_env.env import ImageStylingEnv
from styling_env.tasks import Task
from styling_env.tools import ToolCall

RELEASE = Path(__file__).parent / "fixtures" / "paper_release"
DID = "image-styling/paper-test-v0"
SIZE = 32


def _plan(sample: str) -> list[dict]:
    """The fixture's actions in priority order (ties: file order)."""
    actions = json.loads((RELEASE / sample / "action_plan.json").read_text())["actions"]
    return [a for _, a in sorted(enumerate(actions), key=lambda x: (x[1]["priority"], x[0]))]


def _samples() -> list[str]:
    return sorted(p.name for p in RELEASE.iterdir() if p.is_dir() and not p.name.startswith("_"))


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """The fixture release imported once at 32 px (its own Minari root)."""
    root = tmp_path_factory.mktemp("paper-minari")
    mp = pytest.MonkeyPatch()
    mp.setenv("MINARI_DATASETS_PATH", str(root))
    try:
        path = import_paper(RELEASE, DID, image_size=SIZE, progress=False)
        ds = load(DID, verify=True)
        eps = list(episodes(ds))
        yield path, ds, eps
    finally:
        mp.undo()


def test_import_loads_and_verifies(imported):
    path, ds, eps = imported
    assert path.name == "paper-test-v0"
    assert ds.total_episodes == len(_samples()) == 4
    ours = info(ds)
    assert ours["source"] == "paper-import"
    assert ours["recipe"]["teacher"] == "paper-release"
    assert ours["recipe"]["image_size"] == SIZE
    # tier: prompt.json of sample 4 names "complex" (the most demanding named)
    assert ours["recipe"]["tier"] == "complex"
    assert ours["skipped"] == []
    assert [e.meta["sample"] for e in eps] == _samples()
    assert eps[0].observations["image"].shape[1:] == (SIZE, SIZE, 3)


def test_actions_reasons_and_r_match_the_plans(imported):
    _, _, eps = imported
    for e in eps:
        sample = e.meta["sample"]
        plan = _plan(sample)
        calls = [json.loads(c) for c in e.infos["call"][:-1]]
        assert calls[-1] == {"action_id": "STOP"}
        assert len(calls) == len(plan) + 1
        for got, want in zip(calls[:-1], plan, strict=False):
            expect = ToolCall.from_dict(want)
            # photographs have no masks: the import drops preserve (with a warning)
            keep = tuple(
                (n, v) for n, v in expect.params if n not in ("preserve", "preserve_foreground")
            )
            assert ToolCall.from_dict(got) == dataclasses.replace(expect, params=keep)
            assert got["action_id"] == want["action_id"]
        assert e.infos["reasoning"][: len(plan)] == [a["reasoning"] for a in plan]
        assert e.infos["reasoning"][-1] == "" and e.infos["reasoning"][len(plan)]  # STOP has one
        tools = [int(t) for t in e.actions["tool"]]
        assert tools[-1] == 10 and len(tools) == len(plan) + 1
        scores = json.loads((RELEASE / sample / "reward_scores.json").read_text())
        q = scores["overall_quality"] * 5 / scores.get("scale", 5)
        assert e.r == pytest.approx(q, abs=1e-4)
        assert e.meta["paper_scores"] == scores
        assert 0.0 <= e.meta["judge_r"] <= 5.0 and e.meta["overall"] == pytest.approx(
            e.meta["judge_r"] * 20, abs=1e-2
        )
        assert set(e.meta["scores"]) >= {"instruction_following", "technical_execution"}


def test_sample_details(imported):
    _, _, eps = imported
    by = {e.meta["sample"]: e for e in eps}
    winter = by["sample_001_winter_evening"]
    # priority 1 (season, "heavy") runs before priority 2 (time of day, "moderate")
    first = json.loads(winter.infos["call"][0])
    assert first["action_id"] == "season_cycle"
    assert first["parameters"]["strength"] == pytest.approx(0.85)
    assert winter.meta["task"]["instruction"].startswith("Make it a cold winter evening")
    assert winter.meta["task"]["theme"] == "winter evening"
    assert {t["tool"] for t in winter.meta["task"]["targets"]} == {
        "season_cycle", "time_of_day", "weather_conditions",
    }  # fmt: skip
    portrait = by["sample_002_golden_portrait"]
    # the release asks to preserve the foreground; a photograph has no masks, so the import
    # drops it (a preserve on such an image is an invalid call) and says so
    assert "preserve_foreground" not in json.loads(portrait.infos["call"][0])["parameters"]
    assert not portrait.actions["preserve"].any()
    assert any("nothing is preserved" in w for w in portrait.meta["warnings"])
    assert portrait.meta["task"]["tier"] == "simple"  # its own prompt.json tier
    gray = by["sample_003_gray_watercolor"]
    assert gray.r == pytest.approx(4.4)  # 88 on "scale": 100
    src = gray.observations["image"][0].astype(int)  # grayscale replicated to RGB
    assert (src[..., 0] == src[..., 1]).all() and (src[..., 1] == src[..., 2]).all()
    # a repeated tool: executed, one target, a warning
    fog = by["sample_004_foggy_mood"]
    assert [json.loads(c)["action_id"] for c in fog.infos["call"][:-1]].count("season_cycle") == 2
    assert [t["tool"] for t in fog.meta["task"]["targets"]].count("season_cycle") == 1
    assert any("season_cycle again" in w for w in fog.meta["warnings"])


def test_replaying_calls_reproduces_the_images(imported):
    _, _, eps = imported
    env = ImageStylingEnv(tier="complex", image_size=SIZE)
    try:
        for e in eps:
            task = Task.from_dict(e.meta["task"])
            obs, _ = env.reset(options={"task": task})
            np.testing.assert_array_equal(obs["image"], e.observations["image"][0])
            for t, call in enumerate(e.infos["call"][:-1]):
                d = json.loads(call)
                action = Stop() if d["action_id"] == "STOP" else ToolCall.from_dict(d)
                obs, reward, term, trunc, _ = env.step(action)
                np.testing.assert_array_equal(obs["image"], e.observations["image"][t + 1])
                assert reward == pytest.approx(float(e.rewards[t]), abs=1e-6)
            assert term and not trunc
    finally:
        env.close()


# --------------------------------------------------------------------------------------------
# Malformed samples


def _copy_good(tmp_path: Path, n: int = 2) -> Path:
    release = tmp_path / "release"
    for name in _samples()[:n]:
        shutil.copytree(RELEASE / name, release / name)
    return release


def _break(release: Path, kind: str) -> str:
    bad = release / f"zz_bad_{kind}"
    shutil.copytree(RELEASE / _samples()[0], bad)
    if kind == "no_image":
        (bad / "original.png").unlink()
    elif kind == "bad_json":
        (bad / "action_plan.json").write_text('{"actions": [ {"action_id": ')
    elif kind == "unknown_tool":
        plan = json.loads((bad / "action_plan.json").read_text())
        plan["actions"][1]["action_id"] = "make_it_pop"
        (bad / "action_plan.json").write_text(json.dumps(plan))
    elif kind == "score_scale":
        (bad / "reward_scores.json").write_text(json.dumps({"overall_quality": 7.3}))
    elif kind == "corrupt_png":
        (bad / "original.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    elif kind == "no_actions":
        (bad / "action_plan.json").write_text(json.dumps({"reasoning": "x", "actions": []}))
    return bad.name


BROKEN = {
    "no_image": "missing file original.png",
    "bad_json": "not valid JSON",
    "unknown_tool": "make_it_pop",
    "score_scale": "7.3",
    "corrupt_png": "cannot be decoded",
    "no_actions": "no actions",
}


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_malformed_sample_raises_naming_it(kind, tmp_path):
    release = _copy_good(tmp_path, 1)
    name = _break(release, kind)
    with pytest.raises(DatasetError, match=BROKEN[kind]) as err:
        read_sample(release / name, SIZE)
    assert name in str(err.value)


def test_strict_import_fails_whole_and_writes_nothing(tmp_path, minari_root):
    release = _copy_good(tmp_path)
    name = _break(release, "unknown_tool")
    with pytest.raises(DatasetError, match=name):
        import_paper(release, DID, image_size=SIZE, progress=False)
    assert not dataset_path(DID).exists()
    assert not any(p.name.startswith(".staging") for p in minari_root.glob("*"))


def test_lenient_import_skips_and_records(tmp_path, minari_root):
    release = _copy_good(tmp_path)
    names = {
        _break(release, kind): BROKEN[kind] for kind in ("no_image", "bad_json", "score_scale")
    }
    import_paper(release, DID, image_size=SIZE, progress=False, strict=False)
    ds = load(DID, verify=True)
    assert ds.total_episodes == 2
    skipped = {s["sample"]: s["error"] for s in info(ds)["skipped"]}
    assert set(skipped) == set(names)
    for name, why in names.items():
        assert why in skipped[name]
    assert [e.meta["sample"] for e in episodes(ds)] == _samples()[:2]


def test_nothing_valid_is_an_error(tmp_path, minari_root):
    release = tmp_path / "release"
    release.mkdir()
    with pytest.raises(DatasetError, match="no sample folders"):
        import_paper(release, DID, image_size=SIZE, progress=False, strict=False)
    _break(release, "no_actions")
    with pytest.raises(DatasetError, match="no valid sample"):
        import_paper(release, DID, image_size=SIZE, progress=False, strict=False)
    assert not dataset_path(DID).exists()


def test_explicit_tier_and_existing_dataset(tmp_path, minari_root):
    release = _copy_good(tmp_path, 1)
    import_paper(release, DID, tier="regular", image_size=SIZE, progress=False)
    assert info(load(DID))["recipe"]["tier"] == "regular"
    with pytest.raises(DatasetError, match="already exists"):
        import_paper(release, DID, image_size=SIZE, progress=False)
    with pytest.raises(ValueError, match="unknown tier"):
        import_paper(release, DID, tier="hard", image_size=SIZE, progress=False, overwrite=True)


def test_unicode_request_becomes_printable_ascii(tmp_path, minari_root):
    release = _copy_good(tmp_path, 1)
    sample = release / _samples()[0]
    raw = {"prompt": "Make it a caf\u00e9 at dusk \u2014 \u201ccozy\u201d \u2615", "theme": "x"}
    (sample / "prompt.json").write_text(json.dumps(raw))
    import_paper(release, DID, image_size=SIZE, progress=False)
    ds = load(DID, verify=True)
    e = next(episodes(ds))
    assert e.observations["instruction"][0] == 'Make it a cafe at dusk - "cozy"'
    assert ds.observation_space["instruction"].contains(e.observations["instruction"][0])
    assert e.meta["paper_prompt"] == raw


@pytest.mark.parametrize("outer", ["edit_info", "edit"])
def test_release_layout_nested_prompt_and_score(tmp_path, outer):
    """The release keeps the request under edit_info.text (some samples edit.text) and the
    judge's score under scores.overall_quality.score."""
    release = _copy_good(tmp_path, 1)
    sample = release / _samples()[0]
    (sample / "prompt.json").write_text(json.dumps({outer: {"text": "A cold winter evening"}}))
    scores = {"overall_quality": {"score": 4.4, "reason": "ok"}, "coherence": {"score": 4.0}}
    (sample / "reward_scores.json").write_text(json.dumps({"scores": scores}))
    s = read_sample(sample, SIZE)
    assert s.instruction == "A cold winter evening"
    assert s.r == pytest.approx(4.4)
    (sample / "reward_scores.json").write_text(json.dumps({"scores": {"overall_quality": {}}}))
    with pytest.raises(DatasetError, match="scores.overall_quality has no 'score'"):
        read_sample(sample, SIZE)


# --------------------------------------------------------------------------------------------
# Plans in the release's other two action libraries


def _release_with(tmp_path: Path, plans: dict[str, list[dict]]) -> Path:
    """A release whose samples reuse the fixture's first sample's image, prompt and score, each
    with its own plan."""
    first = RELEASE / _samples()[0]
    out = tmp_path / "release"
    for name, actions in plans.items():
        d = out / name
        d.mkdir(parents=True)
        for f in ("original.png", "prompt.json", "reward_scores.json"):
            shutil.copy(first / f, d / f)
        (d / "action_plan.json").write_text(json.dumps({"actions": actions}))
    return out


V3_PLAN = [
    {"action_id": "time_of_day", "parameters": {"time": "dawn", "lighting_quality": "soft"},
     "priority": 1, "reasoning": "first light"},
    {"action_id": "lens_character", "parameters": {"lens_effect": "tilt_shift", "strength": "strong"},
     "priority": 2, "reasoning": "a miniature look"},
]  # fmt: skip
NORMAL_PLAN = [
    {"action_id": "exclude_region", "parameters": {"region_type": "left_half"}, "priority": 1,
     "reasoning": "keep the left side"},
    {"action_id": "exclude_region", "parameters": {"region_type": "foreground"}, "priority": 1,
     "reasoning": "keep the subject"},
    {"action_id": "conditional_transform", "priority": 2, "reasoning": "depends on the light",
     "parameters": {"condition": "if the picture is dark",
                    "then_action": "time_of_day", "then_parameters": {"target_time": "blue_hour"},
                    "else_action": "weather_conditions",
                    "else_parameters": {"weather_type": "light_rain", "strength": 0.6}}},
    {"action_id": "graduated_effect", "priority": 3, "reasoning": "fog low down",
     "parameters": {"effect_type": "fog", "gradient_direction": "top_to_bottom",
                    "intensity_end": 0.8}},
]  # fmt: skip


def test_plan_library_reads_the_words_a_plan_uses():
    from offline_data.paper import _Bad, plan_library

    assert plan_library(V3_PLAN) == "v3"
    assert plan_library(NORMAL_PLAN) == "normal"
    assert plan_library(_plan(_samples()[0])) == "v2"
    with pytest.raises(_Bad, match="mixes the normal and v3 action libraries"):
        plan_library(V3_PLAN + NORMAL_PLAN)


def test_import_of_v3_and_normal_plans(tmp_path, monkeypatch):
    from styling_env.libraries import library

    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    v3 = read_sample(_release_with(tmp_path / "a", {"s1": V3_PLAN}) / "s1", SIZE)
    assert v3.library == "v3" and [c.tool for c in v3.calls] == ["time_of_day", "lens_character"]
    assert v3.calls[0].value == "sunrise_golden" and v3.calls[1].strength == 0.8
    assert v3.task().library == "v3"
    normal_release = _release_with(tmp_path / "b", {"s1": NORMAL_PLAN, "s2": NORMAL_PLAN})
    s = read_sample(normal_release / "s1", SIZE)
    assert s.library == "normal"
    # the photo has no masks: the foreground fence is dropped, the left-half fence is kept
    assert [c.tool for c in s.calls][:2] == ["exclude_region", "conditional_transform"]
    assert any("exclude_region=foreground) is dropped" in w for w in s.warnings)
    # rules are not targets, and of the conditional's branches only the chosen one is
    tools = {t.tool for t in s.targets}
    assert "exclude_region" not in tools and "graduated_effect" in tools
    assert len(tools & {"time_of_day", "weather_conditions"}) == 1
    path = import_paper(normal_release, "image-styling/paper-normal-v0", image_size=SIZE,
                        progress=False)  # fmt: skip
    ds = load("image-styling/paper-normal-v0", verify=True)
    assert info(ds)["recipe"]["library"] == "normal" and path.exists()
    ep = next(iter(episodes(ds)))
    calls = [json.loads(c) for c in ep.infos["call"][:-2]]
    assert calls[0] == library("normal").to_json(ToolCall("exclude_region", "left_half"))
    assert all(c["action_id"] != "INVALID" for c in calls)  # every kept call is valid on a photo


def test_one_dataset_holds_one_library(tmp_path, monkeypatch):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    mixed = _release_with(tmp_path, {"a": V3_PLAN, "b": _plan(_samples()[0])})
    with pytest.raises(DatasetError, match="use action libraries v2, v3; one dataset holds one"):
        import_paper(mixed, "image-styling/paper-mixed-v0", image_size=SIZE, progress=False)
    with pytest.raises(DatasetError, match="written in action library 'v3', the import is of"):
        import_paper(mixed, "image-styling/paper-mixed-v0", image_size=SIZE, progress=False,
                     library="normal")  # fmt: skip
