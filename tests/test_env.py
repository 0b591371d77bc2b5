"""ImageStyling-v0: registration, spaces, checkers, determinism, the vector env, wrappers, bad input."""

from __future__ import annotations

import json
import pickle

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import styling_env
from styling_env import actions as A
from styling_env.engine import Invalid, Stop
from styling_env.tasks import Target, sample_task, user_task
from styling_env.tools import TOOLS, ToolCall
from styling_env.wrappers import (
    DiscreteActions,
    EncodeInstruction,
    TextToolCalls,
    parse_text_action,
)

IDS = [
    "ImageStyling-v0",
    "ImageStyling-Simple-v0",
    "ImageStyling-Regular-v0",
    "ImageStyling-Complex-v0",
]
SMALL = dict(image_size=64)


def native(tool: str, value: str, strength: float, region: int = 0) -> dict:
    """A native action without ``preserve`` (earlier user code's form: nothing preserved)."""
    return {
        "tool": list(TOOLS).index(tool),
        "value": TOOLS[tool].index(value),
        "strength": np.array([strength], np.float32),
        "region": region,
    }


@pytest.mark.parametrize("env_id", IDS)
@pytest.mark.parametrize("render_mode", [None, "rgb_array"])
def test_check_env_on_every_id_and_render_mode(env_id, render_mode):
    env = gym.make(env_id, render_mode=render_mode, **SMALL)
    check_env(env.unwrapped, skip_render_check=render_mode is None)
    env.close()


def test_registration_is_idempotent_and_tiers_are_set():
    styling_env._register()
    assert gym.make("ImageStyling-Regular-v0", **SMALL).unwrapped.tier == "regular"
    assert gym.make("ImageStyling-v0", tier="complex", **SMALL).unwrapped.tier == "complex"


def test_render_is_a_source_current_reference_strip():
    env = gym.make("ImageStyling-v0", render_mode="rgb_array", **SMALL)
    obs, _ = env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (64, 192, 3) and frame.dtype == np.uint8
    assert np.array_equal(frame[:, :64], obs["source"]) and np.array_equal(
        frame[:, 64:128], obs["image"]
    )


def test_oracle_plan_earns_the_full_return_and_stop_terminates():
    env = gym.make("ImageStyling-Complex-v0", **SMALL)
    obs, info = env.reset(seed=3)
    assert "oracle_plan" not in info  # never leaked before the episode ends
    plan = env.unwrapped.slot.reference.plan
    start, ret = info["r"], 0.0
    for c in plan:
        obs, r, term, trunc, info = env.step(c)
        ret += r
        assert not term and not trunc and info["error"] == ""
    obs, r, term, trunc, info = env.step(native("time_of_day", "blue_hour", 0.0) | {"tool": 10})
    ret += r
    assert term and not trunc
    assert info["overall"] == pytest.approx(100.0) and info["r"] == pytest.approx(5.0)
    assert ret == pytest.approx(info["r"] - start)
    assert info["oracle_plan"] == [c.to_dict() for c in plan]
    assert obs["steps_left"] == 8 - len(plan) - 1


def test_info_holds_nothing_computed_from_the_hidden_plan_until_the_end():
    from styling_env.judge import PLANNING_NAMES, SCORE_NAMES

    env = gym.make("ImageStyling-Complex-v0", **SMALL)
    _, info = env.reset(seed=5)
    plan = env.unwrapped.slot.reference.plan
    hidden = {*PLANNING_NAMES, "oracle_plan"}
    assert not hidden & set(info)
    for c in plan:
        _, _, term, trunc, info = env.step(c)
        assert not term and not trunc
        assert not hidden & set(info), sorted(hidden & set(info))
        assert set(SCORE_NAMES) <= set(info) and "overall" in info
    _, _, term, _, info = env.step(native("time_of_day", "blue_hour", 0.0) | {"tool": 10})
    assert term and hidden <= set(info)
    assert info["recall"] == 1.0


def test_max_steps_truncates():
    env = gym.make("ImageStyling-v0", max_steps=2, **SMALL)
    env.reset(seed=0)
    _, _, term, trunc, _ = env.step(native("color_grading", "cool_blue", 0.3))
    assert not term and not trunc
    _, _, term, trunc, _ = env.step(native("color_grading", "cool_blue", 0.3))
    assert trunc and not term


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (
            native("season_cycle", "winter_bare", 0.5) | {"value": 9},
            "value index 9 is outside season_cycle's 4 values",
        ),
        (
            native("season_cycle", "winter_bare", 0.5)
            | {"strength": np.array([np.nan], np.float32)},
            "strength must be one finite number",
        ),
        (
            native("season_cycle", "winter_bare", 0.5) | {"strength": np.array([1.5], np.float32)},
            r"strength must be in \[0, 1\], got 1.5",
        ),
        (
            native("season_cycle", "winter_bare", 0.5) | {"tool": 12},
            r"tool index 12 is outside \[0, 10\]",
        ),
        ({"tool": 1}, "action is missing"),
        ("winter", "action must be a dict"),
        (
            native("season_cycle", "winter_bare", 0.5) | {"value": 1.5},
            "value must be one integer index",
        ),
        # NumPy would read these as numbers; a call's strength is a number, not text or a flag
        (
            native("season_cycle", "winter_bare", 0.5) | {"strength": "0.5"},
            "strength must be a number",
        ),
        (
            native("season_cycle", "winter_bare", 0.5) | {"strength": True},
            "strength must be a number",
        ),
    ],
)
def test_bad_actions_are_reported_penalized_and_leave_the_image_untouched(action, message):
    env = gym.make("ImageStyling-v0", **SMALL)
    obs, _ = env.reset(seed=1)
    obs2, reward, term, trunc, info = env.step(action)
    assert info["error"] and __import__("re").search(message, info["error"]), info["error"]
    assert np.array_equal(obs2["image"], obs["image"])
    assert reward < 0 and not term and not trunc
    assert obs2["history"][0, 0] == -2


def test_region_on_a_photo_is_an_invalid_call_and_invalid_calls_end_the_episode():
    env = gym.make("ImageStyling-v0", images="bundled", max_invalid=2, **SMALL)
    env.reset(seed=0)
    _, _, term, _, info = env.step(native("color_grading", "cool_blue", 0.5, region=1))
    assert "needs semantic masks" in info["error"] and not term
    _, _, term, _, info = env.step(native("color_grading", "cool_blue", 0.5) | {"value": 29})
    assert term and info["invalid_calls"] == 2


def _sky_scene(**options):
    """An env reset on a procedural scene with a large sky, and the sky mask ``(H, W)``."""
    env = gym.make("ImageStyling-v0", images="procedural", **SMALL, **options)
    for seed in range(50):
        obs, _ = env.reset(seed=seed)
        sky = env.unwrapped.slot.masks[0].numpy() > 0.5
        if sky.mean() > 0.2:
            return env, obs, sky
    raise AssertionError("no procedural scene with a large sky in 50 seeds")


def test_preserve_leaves_the_preserved_mask_untouched():
    night = native("time_of_day", "night_moonlit", 0.9)
    sky_bit = np.array([1, 0, 0, 0, 0, 0], np.int8)
    env, obs, sky = _sky_scene()
    # the call's own edit is feathered over one pixel at mask borders (a 3x3 average): look at
    # the sky pixels whose whole 3x3 neighbourhood is sky
    import torch

    other = torch.from_numpy(~sky).float()[None, None]
    inner = torch.nn.functional.max_pool2d(other, 3, stride=1, padding=1)[0, 0].numpy() == 0
    assert inner.sum() > 100 and not (inner & ~sky).any()
    kept, _, _, _, info = env.step(night | {"preserve": sky_bit})
    assert info["error"] == ""
    src = obs["source"].astype(np.int16)
    assert np.abs(kept["image"].astype(np.int16) - src)[inner].max() <= 1
    assert np.abs(kept["image"].astype(np.int16) - src)[~sky].mean() > 10  # the rest went dark
    assert kept["history"][0].tolist() == [
        A.TOOL_NAMES.index("time_of_day"), TOOLS["time_of_day"].index("night_moonlit"),
        pytest.approx(0.9), 0, 1,
    ]  # fmt: skip
    assert kept["history"][1].tolist() == [-1] * 5
    # the same call without preserve darkens the sky too (so the check above can fail)
    env, obs, sky = _sky_scene()
    plain, _, _, _, _ = env.step(night)
    assert np.abs(plain["image"].astype(np.int16) - obs["source"])[inner].mean() > 10
    # a dict without "preserve" is the same call as all-zero bits
    env, obs, _ = _sky_scene()
    zeros, _, _, _, _ = env.step(night | {"preserve": np.zeros(6, np.int8)})
    assert np.array_equal(zeros["image"], plain["image"])


def test_preserve_on_a_photo_is_an_invalid_call_single_and_vector():
    env = gym.make("ImageStyling-v0", images="bundled", **SMALL)
    obs, _ = env.reset(seed=0)
    keep_subject = np.array([0, 0, 0, 0, 0, 1], np.int8)
    obs2, reward, term, _, info = env.step(
        native("color_grading", "cool_blue", 0.5) | {"preserve": keep_subject}
    )
    assert info["error"] == "preserve needs semantic masks; this image has none"
    assert np.array_equal(obs2["image"], obs["image"]) and reward < 0 and not term
    assert obs2["history"][0, 0] == -2
    # the same through TextToolCalls
    text = TextToolCalls(gym.make("ImageStyling-v0", images="bundled", **SMALL))
    text.reset(seed=0)
    _, _, _, _, info = text.step('color_grading("cool_blue", strength=0.5, preserve=["sky"])')
    assert info["error"] == "preserve needs semantic masks; this image has none"
    venv = gym.make_vec(
        "ImageStyling-v0", num_envs=2, vectorization_mode="vector_entry_point",
        images="bundled", **SMALL,
    )  # fmt: skip
    vobs, _ = venv.reset(seed=0)
    a = native("color_grading", "cool_blue", 0.5)
    batched = {k: np.stack([np.asarray(v)] * 2) for k, v in a.items()}
    batched["preserve"] = np.stack([keep_subject, np.zeros(6, np.int8)])
    vobs2, vr, _, _, vinfo = venv.step(batched)
    assert vinfo["error"][0] == "preserve needs semantic masks; this image has none"
    assert vinfo["error"][1] == ""
    assert np.array_equal(vobs2["image"][0], vobs["image"][0]) and vr[0] < 0
    assert not np.array_equal(vobs2["image"][1], vobs["image"][1])


@pytest.mark.parametrize(
    ("bits", "message"),
    [
        (np.ones(5, np.int8), "preserve must be 6 bits"),
        (np.array([2, 0, 0, 0, 0, 0]), "preserve bits must be 0 or 1"),
        ("sky", "preserve must be 6 bits"),
    ],
)
def test_bad_preserve_bits_are_an_invalid_call(bits, message):
    env = gym.make("ImageStyling-v0", images="procedural", **SMALL)
    obs, _ = env.reset(seed=0)
    obs2, _, _, _, info = env.step(native("color_grading", "cool_blue", 0.5) | {"preserve": bits})
    assert message in info["error"] and np.array_equal(obs2["image"], obs["image"])


def test_text_preserve_maps_to_the_native_bits():
    from styling_env.actions import preserve_names

    json_call = (
        '{"action_id": "time_of_day", "parameters": {"target_time": "night_moonlit", '
        '"strength": 0.7, "preserve": ["Sky", "subject"]}}'
    )
    call_syntax = 'time_of_day(target_time="night_moonlit", strength=0.7, preserve=["sky"])'
    fg = (
        '{"action_id": "time_of_day", "parameters": {"target_time": "night_moonlit", '
        '"preserve_foreground": true}}'
    )
    (a,), (b,), (c,) = map(parse_text_action, (json_call, call_syntax, fg))
    assert preserve_names(a.preserve_bits) == ("sky", "subject")
    assert preserve_names(b.preserve_bits) == ("sky",)
    assert preserve_names(c.preserve_bits) == ("subject",)
    (bad,) = parse_text_action(call_syntax.replace('["sky"]', '["clouds"]'))
    assert isinstance(bad, Invalid) and "cannot preserve region 'clouds'" in bad.error
    env, obs, sky = _sky_scene()
    text = TextToolCalls(env)
    o, _, _, _, info = text.step(call_syntax)
    assert info["error"] == "" and o["history"][0, 4] == 1  # the sky bit


def test_bad_constructor_arguments_and_tasks_raise():
    with pytest.raises(ValueError, match="unknown tier 'hard'"):
        gym.make("ImageStyling-v0", tier="hard")
    with pytest.raises(ValueError, match="image_size must be an int in"):
        gym.make("ImageStyling-v0", image_size=8)
    with pytest.raises(ValueError, match="observation_mode must be"):
        gym.make("ImageStyling-v0", observation_mode="pixels")
    for bad in ("", "pictures"):  # at make, not at the first reset; "" is not the default
        with pytest.raises(ValueError, match=f"unknown image_source '{bad}'"):
            gym.make("ImageStyling-v0", images=bad)
    env = gym.make("ImageStyling-v0", **SMALL)
    with pytest.raises(TypeError, match="options\\['task'\\] must be a styling_env.Task"):
        env.reset(options={"task": 42})
    # a typo would start a random task in silence
    with pytest.raises(
        ValueError, match="unknown reset option\\(s\\) 'taks'; this env reads 'task'"
    ):
        env.reset(options={"taks": 42})
    with pytest.raises(ValueError, match="reset options must be a dict, got str"):
        env.reset(options="task")
    # a first reset that raised leaves the env usable (gymnasium 1.4's passive checker did not)
    fresh = gym.make("ImageStyling-v0", **SMALL)
    with pytest.raises(ValueError, match="unknown reset option"):
        fresh.reset(options={"taks": 42})
    fresh.reset(seed=0)
    assert not fresh.step(native("color_grading", "cool_blue", 0.5))[4]["error"]
    with pytest.raises(gym.error.ResetNeeded):
        gym.make("ImageStyling-v0", disable_env_checker=True, **SMALL).unwrapped.step(
            native("color_grading", "cool_blue", 0.5)
        )


def test_user_task_with_own_image_and_text_mode():
    img = (np.random.default_rng(0).random((80, 100, 3)) * 255).astype(np.uint8)
    task = user_task(
        "make it a snowy winter night",
        targets=[Target("season_cycle", "winter_bare", 0.85)],
        image=img,
    )
    env = gym.make("ImageStyling-v0", observation_mode="text", **SMALL)
    obs, info = env.reset(options={"task": task})
    assert set(obs) == {"context", "instruction", "history", "steps_left"}
    assert obs["instruction"] == "make it a snowy winter night"
    obs, _, _, _, info = env.step(ToolCall("season_cycle", "winter_bare", 0.85))
    assert info["overall"] > 60
    env2 = gym.make("ImageStyling-v0", **SMALL)
    obs2, _ = env2.reset(options={"task": task.to_dict()})
    assert obs2["instruction"] == task.instruction


def _rollout(env, seed: int, actions: list) -> list:
    obs, _ = env.reset(seed=seed)
    out = [obs["image"].copy()]
    for a in actions:
        obs, r, term, trunc, info = env.step(a)
        out += [obs["image"].copy(), r, info["overall"]]
        if term or trunc:
            break
    return out


def test_same_seed_same_rollout_and_pickling():
    space = gym.make("ImageStyling-v0", **SMALL).action_space
    space.seed(7)
    actions = [space.sample() for _ in range(6)]
    a = _rollout(gym.make("ImageStyling-Complex-v0", **SMALL), 11, actions)
    b = _rollout(gym.make("ImageStyling-Complex-v0", **SMALL), 11, actions)
    assert len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    env = gym.make("ImageStyling-Complex-v0", **SMALL)
    env.reset(seed=11)
    clone = pickle.loads(pickle.dumps(env))
    o1, r1, *_ = env.step(actions[0])
    o2, r2, *_ = clone.step(actions[0])
    assert np.array_equal(o1["image"], o2["image"]) and r1 == r2


def test_vector_env_equals_single_envs_step_for_step():
    n = 3
    venv = gym.make_vec(
        "ImageStyling-Complex-v0",
        num_envs=n,
        vectorization_mode="vector_entry_point",
        max_steps=3,
        **SMALL,
    )
    envs = [gym.make("ImageStyling-Complex-v0", max_steps=3, **SMALL) for _ in range(n)]
    vobs, _ = venv.reset(seed=20)
    sobs = [e.reset(seed=20 + i)[0] for i, e in enumerate(envs)]
    for i in range(n):
        assert vobs["instruction"][i] == sobs[i]["instruction"]
        assert np.array_equal(vobs["image"][i], sobs[i]["image"])
    rng = np.random.default_rng(0)
    done = np.zeros(n, bool)
    for _ in range(8):  # crosses episode ends: next-step autoreset
        acts = []
        for e in envs:
            a = e.action_space.sample()
            a["tool"] = int(rng.integers(0, 10))
            a["value"] = 0
            acts.append(a)
        batched = {k: np.stack([np.asarray(a[k]) for a in acts]) for k in acts[0]}
        vobs, vr, vte, vtr, _ = venv.step(batched)
        for i, e in enumerate(envs):
            if done[i]:
                so, _ = e.reset()
                sr, ste, strc = 0.0, False, False
            else:
                so, sr, ste, strc, _ = e.step(acts[i])
            assert np.array_equal(vobs["image"][i], so["image"])
            assert vr[i] == pytest.approx(sr, abs=1e-5) and vte[i] == ste and vtr[i] == strc
        done = vte | vtr
    assert venv.metadata["autoreset_mode"] == gym.vector.AutoresetMode.NEXT_STEP


def test_text_tool_calls_json_plan_and_call_syntax():
    env = TextToolCalls(gym.make("ImageStyling-v0", **SMALL))
    env.reset(seed=2)
    plan = {"reasoning": "cold and dark", "actions": [
        {"action_id": "season_cycle", "reasoning": "bare trees", "priority": 1, "parameters": {"target_season": "winter_bare", "intensity": "heavy"}},
        {"action_id": "time_of_day", "reasoning": "evening", "priority": 2, "parameters": {"target_time": "blue_hour"}},
    ]}  # fmt: skip
    _, _, _, _, info = env.step("Here is my plan: " + json.dumps(plan))
    assert info["error"] == "" and info["queued_calls"] == 1
    _, _, _, _, info = env.step("")
    assert info["error"] == "" and info["queued_calls"] == 0
    _, _, _, _, info = env.step('weather_conditions(weather_type="light_snow", strength=0.6)')
    assert info["error"] == ""
    _, _, _, _, info = env.step("weather_conditions(light_snow, strength=2)")
    assert "strength must be in [0, 1]" in info["error"]
    _, _, _, _, info = env.step("{not json")
    assert "malformed JSON" in info["error"]
    _, _, term, _, _ = env.step("STOP")
    assert term


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("season_cycle(winter_bare)", ToolCall("season_cycle", "winter_bare")),
        (
            "season_cycle('winter_bare', strength=0.25)",
            ToolCall("season_cycle", "winter_bare", 0.25),
        ),
        ('{"action_id": "STOP"}', Stop()),
        ("paint(red)", Invalid("unknown tool 'paint'")),
        ("season_cycle(winter_bare, summer_lush)", Invalid("cannot parse the arguments")),
        ("make it nice", Invalid("cannot parse action")),
        ("", Invalid("empty action")),
    ],
)
def test_parse_text_action(text, expected):
    (got,) = parse_text_action(text)
    if isinstance(expected, Invalid):
        assert isinstance(got, Invalid) and expected.error in got.error
    else:
        assert got == expected


def test_discrete_actions_round_trip_and_bounds():
    env = DiscreteActions(gym.make("ImageStyling-v0", **SMALL), n_strength_bins=4)
    assert env.action_space.n == 171 * 4 * 12 + 1  # value x strength bin x preserve set + STOP
    assert DiscreteActions(gym.make("ImageStyling-v0", **SMALL), preserve=False).action_space.n == (
        171 * 4 + 1
    )
    call = ToolCall("season_cycle", "winter_bare", 0.75)
    k = env.index(call)
    assert env.action(k) == call
    assert isinstance(env.action(env.stop_index), Stop)
    assert isinstance(env.action(10_000), Invalid)
    with pytest.raises(ValueError, match="n_strength_bins must be a positive int"):
        DiscreteActions(gym.make("ImageStyling-v0", **SMALL), n_strength_bins=0)


def test_stable_baselines3_checker_through_the_wrappers():
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    env = DiscreteActions(
        EncodeInstruction(gym.make("ImageStyling-v0", **SMALL), encoder="hash", dim=64)
    )
    sb3_check_env(env, warn=False)
    obs, _ = env.reset(seed=0)
    assert obs["instruction"].shape == (64,) and obs["instruction"].dtype == np.float32


def test_hashing_encoder_is_deterministic_and_separates_requests():
    env = EncodeInstruction(gym.make("ImageStyling-v0", **SMALL), encoder="hash", dim=128)
    enc = env.encoder.encode(["a snowy winter night", "a snowy winter night", "bright summer noon"])
    assert np.array_equal(enc[0], enc[1]) and np.linalg.norm(enc[0]) == pytest.approx(1.0)
    assert enc[0] @ enc[2] < 0.5


def test_minilm_encoder_ships_its_weights():
    env = EncodeInstruction(gym.make("ImageStyling-v0", **SMALL), encoder="minilm")
    obs, _ = env.reset(seed=0)
    assert obs["instruction"].shape == (384,)
    enc = env.encoder.encode(
        ["a snowy winter night", "a cold evening with snow", "a pixel-art video game"]
    )
    assert enc[0] @ enc[1] > enc[0] @ enc[2]


def test_sample_task_is_used_by_reset():
    env = gym.make("ImageStyling-Regular-v0", **SMALL)
    obs, _ = env.reset(seed=5)
    seed = int(np.random.Generator(np.random.PCG64(np.random.SeedSequence(5))).integers(2**31 - 1))
    assert (
        obs["instruction"]
        == sample_task("regular", seed, "train", "procedural:interior").instruction
    )


def test_non_ascii_requests_stay_inside_the_observation_space():
    from styling_env import Target, user_task
    from styling_env.env import printable

    env = gym.make("ImageStyling-v0", image_size=32)
    task = user_task(
        "Un café — “snowy” naïve night…", targets=[Target("season_cycle", "winter_bare", 0.8)]
    )
    obs, _ = env.reset(options={"task": task})
    assert obs["instruction"] == "Un café — “snowy” naïve night…"  # the user's words, kept
    assert env.observation_space.contains(obs)
    assert printable("plain text") == "plain text"
    # the datasets' charset (printable ASCII) folds them
    assert printable(task.instruction) == 'Un cafe - "snowy" naive night...'


def test_vector_env_disabled_autoreset_resets_only_masked_slots():
    from styling_env import sample_task
    from styling_env.engine import Stop
    from styling_env.vector import ImageStylingVectorEnv

    env = ImageStylingVectorEnv(3, tier="simple", image_size=32, autoreset_mode="disabled")
    obs, _ = env.reset(seed=0)
    _, rew, term, trunc, _ = env.step([Stop(), Stop(), Stop()])
    assert term.all()
    _, rew, term, trunc, _ = env.step([Stop(), Stop(), Stop()])  # finished slots stay idle
    assert not term.any() and not trunc.any() and not rew.any()
    task = sample_task("simple", 7, "train")
    obs, _ = env.reset(options={"reset_mask": np.array([False, True, False]), "tasks": [task]})
    assert obs["instruction"][1] == task.instruction
    _, _, term, _, _ = env.step([Stop(), Stop(), Stop()])
    assert term.tolist() == [False, True, False]
    with pytest.raises(ValueError, match="one per reset sub-env"):
        env.reset(options={"reset_mask": np.array([True, True, False]), "tasks": [task]})
    with pytest.raises(ValueError, match="autoreset_mode"):
        ImageStylingVectorEnv(2, autoreset_mode="sometimes")
    nxt = ImageStylingVectorEnv(2, image_size=32)
    nxt.reset(seed=0)
    with pytest.raises(ValueError, match="reset_mask"):
        nxt.reset(options={"reset_mask": np.array([True, False])})
    with pytest.raises(
        ValueError, match="unknown reset option\\(s\\) 'task'; this env reads 'reset_mask', 'tasks'"
    ):
        nxt.reset(options={"task": task})
    # a batch of another size: a third action was dropped, one for two raised IndexError
    with pytest.raises(ValueError, match="got 3 actions for 2 sub-envs"):
        nxt.step([Stop(), Stop(), Stop()])
    with pytest.raises(ValueError, match="got 1 actions for 2 sub-envs"):
        nxt.step([Stop()])
    one = {"tool": [10], "value": [0], "strength": [[0.5]], "region": [0]}
    with pytest.raises(ValueError, match="actions\\['tool'\\] holds 1 entries for 2 sub-envs"):
        nxt.step(one)


def test_observations_never_alias_the_engine_state():
    """Writing into an observation (an agent normalizing in place) changes nothing the env
    holds: the single env copies its frames, the vector env stacks them into new arrays."""
    from styling_env.engine import Stop
    from styling_env.vector import ImageStylingVectorEnv

    venv = ImageStylingVectorEnv(2, tier="simple", image_size=32)
    obs, _ = venv.reset(seed=0)
    keep = {k: obs[k].copy() for k in ("image", "source", "context", "history")}
    for k in keep:
        obs[k][...] = 0
    again = venv._observations()
    for k, v in keep.items():
        np.testing.assert_array_equal(again[k], v)
    venv.step([Stop(), Stop()])
    env = gym.make("ImageStyling-v0", tier="simple", image_size=32)
    obs, _ = env.reset(seed=0)
    before = obs["image"].copy()
    obs["image"][...] = 0
    obs["source"][...] = 0
    np.testing.assert_array_equal(env.unwrapped.engine.slots[0].image_u8, before)
    assert env.unwrapped.engine.slots[0].source_u8.any()


# --------------------------------------------------------------------------------------------
# A user's first hour: episode end, constructor arguments, own requests, wrappers, parsing


def test_step_after_the_episode_ended_raises_reset_needed():
    env = gym.make("ImageStyling-v0", disable_env_checker=True, max_steps=2, **SMALL).unwrapped
    env.reset(seed=0)
    _, _, term, _, _ = env.step(native("color_grading", "cool_blue", 1.0) | {"tool": 10})
    assert term
    with pytest.raises(gym.error.ResetNeeded, match="call reset"):
        env.step(native("color_grading", "cool_blue", 0.5))
    env.reset(seed=0)
    env.step(native("color_grading", "cool_blue", 0.3))
    _, _, term, trunc, info = env.step(native("color_grading", "cool_blue", 0.3))
    assert trunc and not term and info["steps"] == 2
    with pytest.raises(gym.error.ResetNeeded):
        env.step(native("color_grading", "cool_blue", 0.3))
    env.reset(seed=1)  # a reset starts over
    env.step(native("color_grading", "cool_blue", 0.3))


def test_judge_device_and_invalid_penalty_are_validated_at_construction(monkeypatch):
    with pytest.raises(ValueError, match="unknown judge 'strict'; expected one of measured"):
        gym.make("ImageStyling-v0", judge="strict", **SMALL)
    with pytest.raises(TypeError, match="judge must be one of"):
        gym.make("ImageStyling-v0", judge=42, **SMALL)
    assert gym.make("ImageStyling-v0", judge="measured", **SMALL).reset(seed=0)
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    with pytest.raises(ValueError, match="CUDA is not available"):
        gym.make("ImageStyling-v0", device="cuda", **SMALL)
    with pytest.raises(ValueError, match="device must be 'cpu' or 'cuda'"):
        gym.make("ImageStyling-v0", device="gpu", **SMALL)
    for bad in (-5, float("nan"), "0.1"):
        with pytest.raises(ValueError, match="invalid_penalty must be a finite number >= 0"):
            gym.make("ImageStyling-v0", invalid_penalty=bad, **SMALL)
    with pytest.raises(ValueError, match="unknown judge"):
        gym.make_vec("ImageStyling-v0", 2, vectorization_mode="vector_entry_point", judge="x")


def test_a_request_in_any_script_keeps_its_words():
    from styling_env.wrappers import HashingEncoder

    text = "把它变成雪夜 — un café “cozy”"
    with pytest.warns(UserWarning, match="without targets"):
        task = user_task(text)
    env = EncodeInstruction(gym.make("ImageStyling-v0", **SMALL), encoder="hash", dim=64)
    raw = env.unwrapped.reset(options={"task": task})[0]
    assert raw["instruction"] == text
    assert env.unwrapped.observation_space["instruction"].contains(text)
    obs, _ = env.reset(options={"task": task})
    enc = HashingEncoder(64)
    assert np.allclose(obs["instruction"], enc.encode([text])[0])
    assert np.abs(enc.encode(["把它变成雪夜"])[0]).sum() > 0  # words, not an empty bag
    assert not np.allclose(enc.encode(["把它变成雪夜"]), enc.encode(["把它变成晴天"]))
    assert np.allclose(enc.encode(["un café"]), enc.encode(["un cafe"]))  # accents fold
    # ASCII requests hash exactly as before (trained models keep their inputs)
    assert np.allclose(enc.encode(["Snow_night 2x!"]), enc.encode(["snow night 2x"]))


def test_minilm_warns_when_a_request_is_mostly_unknown_tokens():
    from styling_env.wrappers import MiniLMEncoder

    class Tok:
        unk_token = "[UNK]"

        def tokenize(self, text):
            return ["[UNK]" if ord(c) > 0x2E80 else c for c in text if not c.isspace()]

    class Model:
        tokenizer = Tok()

        def encode(self, texts, normalize_embeddings=True):
            return np.ones((len(texts), 384), np.float32) / np.sqrt(384)

    enc = MiniLMEncoder.__new__(MiniLMEncoder)
    enc.model = Model()
    enc.encode(["make it snowy", "un café"])  # no warning
    with pytest.warns(UserWarning, match="English model.*encoder='hash'"):
        enc.encode(["把它变成雪夜"])


def test_user_task_warns_about_a_non_square_image_and_missing_targets():
    img = np.full((200, 300, 3), 128, np.uint8)
    img[:, :50] = 255  # a white band on the left sixth
    with pytest.warns(
        UserWarning, match="200x300 .*central 200x200, cutting about 50 px at the left"
    ):
        user_task("snow", targets=[Target("season_cycle", "winter_bare", 0.8)], image=img)
    with pytest.warns(UserWarning, match="every edit will be penalised"):
        user_task("make it a watercolour")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        user_task("snow", targets=[("season_cycle", "winter_bare")], image=img[:, :200])


@pytest.mark.parametrize("wrap", ["text", "discrete", "encode", "discrete+encode"])
def test_check_env_passes_through_every_wrapper(wrap):
    env = gym.make("ImageStyling-v0", image_size=32)
    if wrap == "text":
        env = TextToolCalls(env)
    if "encode" in wrap:
        env = EncodeInstruction(env, dim=32)
    if "discrete" in wrap:
        env = DiscreteActions(env)
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*different from the unwrapped")
        check_env(env)
    assert env.spec.additional_wrappers  # each wrapper records its constructor arguments


@pytest.mark.parametrize(
    "text",
    [
        '{"action_id": "SEASON_CYCLE", "parameters": {"target_season": "Winter_Bare", "strength": 0.7,},}',
        "{'action_id': 'season_cycle', 'parameters': {'target_season': 'winter bare', 'strength': 0.7}}",
        'Plan: {"actions": [{"action_id": "Season_Cycle", "parameters": {"target_season": "WINTER-BARE", "strength": 0.7}},]}',
        "SEASON_CYCLE(Winter_Bare, strength=0.7)",
        'season_cycle(target_season="WINTER_BARE", strength=0.7,)',
    ],
)
def test_text_actions_are_parsed_leniently(text):
    assert parse_text_action(text) == [ToolCall("season_cycle", "winter_bare", 0.7)]


def test_the_oracle_asks_no_preserve_of_an_image_without_masks():
    """A user's photo has no masks: the oracle's calls for "keep the subject" carry no
    preserve (the env would refuse them), and they play as valid calls."""
    import numpy as np

    from styling_env import Constraint, Target, user_task
    from styling_env.oracle import oracle_plan

    photo = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    task = user_task(
        "make it a snowy night, keep the person as is",
        targets=[
            Target("time_of_day", "night_moonlit", 0.8),
            Target("season_cycle", "winter_bare", 0.8),
        ],
        constraints=[Constraint("preserve_subject")],
        image=photo,
    )
    plan = oracle_plan(task, size=64)
    assert plan and all(not c.preserved_regions for c in plan)
    env = gym.make("ImageStyling-v0", image_size=64)
    env.reset(options={"task": task})
    for call in plan:
        _, _, _, _, info = env.step(call)
        assert info["error"] == ""
