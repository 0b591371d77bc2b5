"""Datasets and the embedded planner in the ``normal`` and ``v3`` action libraries: a small
dataset per library generates (24 complex episodes, 32 px, one thread), its actions are the
library's, its checksum verifies, its chat samples parse back with the library's JSON, S and RW
train, save, reload and evaluate on the library's held-out tasks, and a planner of one library
refuses an env of another."""

from __future__ import annotations

import json

import numpy as np
import pytest

from agents.baselines import RandomAgent
from agents.embedded import EmbeddedAgent, EmbeddedPlanner, PlannerConfig, train
from agents.evaluate import evaluate
from offline_data.dataset import (
    Recipe,
    dataset_id,
    dataset_library,
    episodes,
    load,
)
from offline_data.errors import LibraryMismatchError
from offline_data.generate import episode_task, rollouts
from offline_data.loaders import parse_assistant, system_prompt, to_chat_samples, to_tensors
from offline_data.teachers import (
    NoiseProfile,
    NoisyOracle,
    paper_plan,
    precise_instruction,
    reason,
    script_noisy_oracle,
)
from styling_env.actions import FlatActions
from styling_env.engine import Invalid, Stop
from styling_env.libraries import library
from styling_env.library_tasks import sample_library_task
from styling_env.tools import ToolCall
from styling_env.tools.vocabulary import V3_ACTIONS

LIBS = ("normal", "v3")
CFG = PlannerConfig(image_size=32, encoder="hash", hash_dim=256)


# --------------------------------------------------------------------------------------------
# Recipes, ids, generation


def test_ids_and_recipes_name_the_library():
    assert dataset_id("complex", library="v3") == "image-styling/complex-v3-v0"
    assert dataset_id("simple", "mine", library="normal") == "image-styling/simple-normal-mine-v0"
    assert dataset_id("simple") == "image-styling/simple-v0"
    v2 = Recipe("simple", 10)
    assert "library" not in v2.to_dict()  # a v2 recipe (and every checksum) is what it was
    assert Recipe.from_dict(v2.to_dict()).library == "v2"
    v3 = Recipe("simple", 10, library="v3")
    assert v3.to_dict()["library"] == "v3" and Recipe.from_dict(v3.to_dict()) == v3
    with pytest.raises(ValueError, match="unknown library 'v4'"):
        Recipe("simple", 10, library="v4")
    with pytest.raises(ValueError, match="unknown library"):
        dataset_id("simple", library="v1")


@pytest.mark.parametrize("lib", LIBS)
def test_a_dataset_holds_the_library_s_actions(library_datasets, lib):
    ds = load(library_datasets[lib], verify=True)  # the checksum recomputes
    assert dataset_library(ds) == lib
    assert ds.spec.env_spec.kwargs["library"] == lib
    names = library(lib)
    used = set()
    for e in episodes(ds):
        assert e.meta["task"]["library"] == lib and f"-{lib}-train-" in e.meta["task_id"]
        for t, call in enumerate(e.infos["call"][:-1]):
            tool, value = int(e.actions["tool"][t]), int(e.actions["value"][t])
            if tool == names.stop:
                assert json.loads(call) == {"action_id": "STOP"}
                continue
            stored = names.from_json(json.loads(call))  # the library's JSON
            assert names.indices(stored) == (tool, value)
            used.add(stored.tool)
        if e.terminations[-1]:
            assert int(e.actions["tool"][-1]) == names.stop
        assert (e.observations["history"][..., 0] <= names.stop).all()
        for why in e.infos["reasoning"][:-1]:
            assert 20 <= len(why.split()) <= 40, why
    # what each library adds is in its data: a fenced area, the v3 styling actions
    assert ("exclude_region" in used) if lib == "normal" else bool(used & set(V3_ACTIONS))


@pytest.mark.parametrize("lib", LIBS)
def test_the_oracle_is_exact_and_clean_episodes_score(library_datasets, lib, one_thread):
    oracle = NoisyOracle(NoiseProfile(clean=1.0, jitter=0.0), name="oracle")
    done = list(rollouts("complex", range(6), 3, oracle, image_size=32, num_envs=6, library=lib))
    assert min(f.r for f in done) >= 4.0
    clean = [e.r for e in episodes(load(library_datasets[lib])) if not e.meta["noise"]["mistakes"]]
    assert len(clean) >= 10 and np.mean(np.asarray(clean) >= 4.0) >= 0.9


def test_episodes_of_another_library_are_refused(one_thread):
    task = episode_task("simple", 0, 0, library="v3")
    assert task.library == "v3"
    oracle = NoisyOracle(NoiseProfile(clean=1.0, jitter=0.0))
    with pytest.raises(LibraryMismatchError, match="task 'simple-v3-train-.*' is of action"):
        list(rollouts("simple", [0], 0, oracle, image_size=32, task_fn=lambda e: task))


# --------------------------------------------------------------------------------------------
# Teachers


@pytest.mark.parametrize("lib", LIBS)
def test_every_call_of_a_library_has_a_reason_and_an_instruction(lib):
    task = sample_library_task("complex", 5, "train", library=lib)
    names = library(lib)
    rng = np.random.default_rng(0)
    for tool, value in names.rows:
        call = ToolCall(tool, value, 0.6)
        why = reason(call, task, {tool: value}, np.zeros(10, np.int64), 1, rng, [call])
        assert 20 <= len(why.split()) <= 40, (tool, value, why)
        text = precise_instruction([call], task)
        assert text.endswith(".") and "{" not in text and len(text.split()) >= 3
        (action,) = paper_plan([call], [why], task)["actions"]
        assert names.from_json(action) == call
    stop = reason(
        Stop(), task, {}, np.zeros(10, np.int64), 2, rng, [ToolCall(*names.rows[-1], 0.5)]
    )
    assert 20 <= len(stop.split()) <= 40
    fence = ToolCall("exclude_region", "left_half", 1.0)
    if lib == "normal":
        assert reason(fence, task, {}, np.zeros(10, np.int64), 0, rng).startswith(
            ("First, fence off the left half", "Before any styling, I set a rule")
        )
        assert precise_instruction([fence], task).startswith("Keep the left half untouched")


@pytest.mark.parametrize("lib", LIBS)
def test_mistakes_stay_in_the_library(lib):
    task = sample_library_task("complex", 11, "train", library=lib)
    plan = [ToolCall(t.tool, t.value, t.strength) for t in task.targets]
    noisy = NoiseProfile(clean=0.0)
    names = library(lib)
    for seed in range(40):
        script = script_noisy_oracle(plan, np.random.default_rng(seed), noisy, lib)
        assert all(names.has(c) for c in script.calls), script.calls


def test_ignoring_a_constraint_drops_the_fence_and_the_preserve_bits():
    plan = [
        ToolCall("season_cycle", "winter_bare", 0.7, params=(("preserve", ("left_half", "sky")),)),
        ToolCall("time_of_day", "night_moonlit", 0.6, params=(("preserve", ("sky",)),)),
    ]
    only = NoiseProfile(clean=0.0, n_mistakes=(1, 0, 0), weights={"ignore_constraint": 1.0})
    clean = script_noisy_oracle(plan, np.random.default_rng(0), NoiseProfile(clean=1.0), "normal")
    assert [c.tool for c in clean.calls] == ["exclude_region", "season_cycle", "time_of_day"]
    assert clean.calls[1].preserved_regions == ("sky",)  # the area is the fence's now
    bad = script_noisy_oracle(plan, np.random.default_rng(0), only, "normal")
    assert bad.mistakes == ["ignore_constraint"]
    assert [c.tool for c in bad.calls] == ["season_cycle", "time_of_day"]
    assert not any(c.preserved_regions for c in bad.calls)


# --------------------------------------------------------------------------------------------
# Loaders


@pytest.mark.parametrize("lib", LIBS)
def test_chat_samples_speak_the_library_and_parse_back(library_datasets, lib):
    names = library(lib)
    samples = to_chat_samples(library_datasets[lib])
    assert samples[0].messages[0]["content"] == system_prompt("step", lib)
    assert names.describe().splitlines()[-1] in samples[0].messages[0]["content"]
    stored = [c for e in episodes(load(library_datasets[lib])) for c in e.infos["call"][:-1]]
    assert len(samples) == len(stored)
    for s, call in zip(samples, stored, strict=True):
        why, parsed = parse_assistant(s.target, lib)
        assert 20 <= len(why.split()) <= 40
        want = json.loads(call)
        assert parsed == (Stop() if want["action_id"] == "STOP" else names.from_json(want))
    plan = json.loads(to_chat_samples(library_datasets[lib], mode="plan")[0].target)
    assert all(names.has(names.from_json(a)) for a in plan["actions"])
    # a reply outside the library is an invalid call naming it, not an exception
    _, bad = parse_assistant('why\n{"action_id": "lens_character", "parameters": '
                             '{"lens_effect": "fisheye"}}', lib)  # fmt: skip
    assert isinstance(bad, Invalid) and lib in bad.error


@pytest.mark.parametrize("lib", LIBS)
def test_tensors_keep_native_indices(library_datasets, lib):
    rows = to_tensors(library_datasets[lib])
    names = library(lib)
    assert rows.library == lib and int(rows.tool.max()) == names.stop
    flat = FlatActions(4, library=lib)
    back = flat.decode(rows.flat_action.numpy())
    calls = rows.tool.numpy() < names.stop
    np.testing.assert_array_equal(back["tool"][calls], rows.tool.numpy()[calls])
    np.testing.assert_array_equal(back["value"][calls], rows.value.numpy()[calls])


def test_one_collection_holds_one_library(library_datasets):
    mixed = [next(episodes(load(library_datasets[lib]))) for lib in LIBS]
    with pytest.raises(LibraryMismatchError, match="played in action library 'v3'"):
        to_tensors(mixed)
    with pytest.raises(LibraryMismatchError, match="one library"):
        to_chat_samples(mixed)


# --------------------------------------------------------------------------------------------
# The embedded planner


@pytest.mark.parametrize("lib", LIBS)
def test_s_and_rw_train_save_reload_and_evaluate(library_datasets, lib, tmp_path):
    names = library(lib)
    for method in ("s", "rw"):
        path = tmp_path / f"{method}.pt"
        res = train(
            library_datasets[lib], method=method, config=CFG, steps=4, batch_size=32,
            progress=False, checkpoint=path, rewordings=0,
        )  # fmt: skip
        planner = EmbeddedPlanner.load(path)
        assert planner.config.library == lib == res.planner.config.library
        assert planner.tool_head.out_features == names.stop + 1
        assert planner.value_head[-1].out_features == len(names.rows)
        agent = EmbeddedAgent(planner)
        assert agent.library == lib
        result = evaluate(agent, "complex", 4, image_size=32, num_envs=4)
        assert result.extra == {"library": lib} and len(result.episodes) == 4
        assert all(f"-{lib}-test-" in e["task_id"] for e in result.episodes)
        assert np.isfinite(result.summary()["normalized"])
        assert result.oracle_overall > result.random_overall


def test_a_planner_of_one_library_refuses_another(library_datasets, tmp_path):
    res = train(
        library_datasets["v3"], method="s", config=CFG, steps=2, batch_size=32, progress=False,
        checkpoint=tmp_path / "v3.pt", rewordings=0,
    )  # fmt: skip
    agent = EmbeddedAgent.from_checkpoint(res.checkpoint)
    with pytest.raises(LibraryMismatchError, match="library 'v3' but the environment is of"):
        evaluate(agent, "complex", 2, image_size=32, num_envs=2, library="v2")
    with pytest.raises(LibraryMismatchError, match="the planner config is of action library"):
        train(
            library_datasets["v3"], method="s", config=CFG.replace(library="normal"), steps=1,
            progress=False,
        )  # fmt: skip
    with pytest.raises(ValueError, match="PlannerConfig.library: unknown library"):
        PlannerConfig(library="v9")
    # the random baseline of a library draws only calls the library can make
    random = RandomAgent(seed=1, library="v3")
    plan = random._plan(0, {"instruction": ["x"]})
    assert all(library("v3").has(c) for c in plan)


def test_chat_planners_speak_the_library():
    from agents.qwen.prompting import ChatPlanner, episode_over, history_calls, parse_plan
    from styling_env.env import history_array
    from styling_env.tools import ToolCall

    class Echo(ChatPlanner):
        def complete(self, prompts, deterministic):
            return ['tilt shift for a miniature look\n{"action_id": "lens_character", '
                    '"parameters": {"lens_effect": "tilt_shift", "strength": 0.5}}'] * len(prompts)  # fmt: skip

    p = Echo(library="v3", vision=False)
    assert "lens_character" in p.system and p.library == "v3"
    calls = [
        ToolCall("time_of_day", "sunrise_golden", 0.5),
        ToolCall("grain_noise", "halftone", 0.25),
    ]
    hist = history_array(calls, 8, "v3")
    assert history_calls(hist, "v3") == calls
    assert not episode_over(hist, 3, "v3")
    plan = parse_plan(
        '{"actions": [{"action_id": "time_of_day", "parameters": {"time": "dawn"}}]}', "v3"
    )
    assert plan[0][0] == ToolCall("time_of_day", "sunrise_golden", 0.7)
    from styling_env.env import ImageStylingEnv

    env = ImageStylingEnv(tier="simple", library="v3", observation_mode="text", image_size=32)
    obs, _ = env.reset(seed=0)
    batched = {k: [v] for k, v in obs.items()}
    action, _ = p.predict(batched)
    assert action[0] == ToolCall("lens_character", "tilt_shift", 0.5)
    with pytest.raises(ValueError, match="unknown library"):
        Echo(library="v9")


def test_the_call_level_critics_refuse_another_library(library_datasets):
    from agents.calllevel.iql import IQLConfig
    from agents.calllevel.training import fit_critic
    from agents.embedded.training import prepare
    from offline_data.errors import LibraryMismatchError

    d = prepare(library_datasets["v3"], IQLConfig().planner)
    with pytest.raises(LibraryMismatchError, match="call-level critics score the v2 library"):
        fit_critic(d, IQLConfig())
