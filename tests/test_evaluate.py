"""The agent protocol, evaluate() and the baselines."""

from __future__ import annotations

import numpy as np
import pytest

from agents.baselines import EditOnlyAgent, OracleAgent, RandomAgent, TeacherAgent, edit_only_calls
from agents.evaluate import ci95, decode_actions, evaluate, normalized
from styling_env.engine import Invalid, Stop
from styling_env.tools import ToolCall


def test_oracle_is_100_random_is_0_and_baselines_fall_between():
    kw = dict(tier="simple", n_tasks=16, image_size=32)
    oracle = evaluate(OracleAgent(), **kw).summary()
    rand = evaluate(RandomAgent(seed=0), **kw).summary()
    edit = evaluate(EditOnlyAgent(), **kw).summary()
    teacher = evaluate(TeacherAgent(tier="simple"), **kw).summary()
    assert oracle["overall"] == pytest.approx(100.0) and oracle["normalized"] == pytest.approx(
        100.0
    )
    assert rand["normalized"] == pytest.approx(0.0, abs=1e-6)
    assert 0 < edit["normalized"] < teacher["normalized"] < 100
    assert oracle["f1"] == pytest.approx(1.0)
    lo, hi = teacher["normalized_ci"]
    assert lo <= teacher["normalized"] <= hi


def test_episodes_are_recorded_per_task_and_seed_and_are_deterministic():
    a = evaluate(RandomAgent(seed=3), "regular", n_tasks=5, seeds=(0, 1), image_size=32)
    b = evaluate(RandomAgent(seed=3), "regular", n_tasks=5, seeds=(0, 1), image_size=32)
    assert len(a.episodes) == 10 and [e["seed"] for e in a.episodes] == [0] * 5 + [1] * 5
    assert [e["overall"] for e in a.episodes] == [e["overall"] for e in b.episodes]
    e = a.episodes[0]
    assert e["calls"][-1] == "STOP" and len(e["calls"]) == e["steps"]
    assert {"instruction_following", "r", "precision", "spearman", "oracle_plan"} <= set(e)


def test_any_action_format_is_accepted_and_bad_ones_become_invalid_calls():
    class Flat:
        """A flat DiscreteActions agent (as an SB3 model trained on DiscreteActions would be)."""

        from gymnasium.spaces import Discrete

        action_space = Discrete(171 * 4 + 1)

        def predict(self, observation, state=None, episode_start=None, deterministic=True):
            steps = np.asarray(observation["steps_left"])
            return np.where(steps == 8, 3, 171 * 4), state  # one call, then STOP

    class Garbage:
        def predict(self, observation, state=None, episode_start=None, deterministic=True):
            return ["paint it blue", {"tool": 99}, "STOP"][: len(observation["instruction"])], state

    r = evaluate(Flat(), "simple", n_tasks=3, image_size=32)
    assert all(e["steps"] == 2 and e["invalid_calls"] == 0 for e in r.episodes)
    g = evaluate(Garbage(), "simple", n_tasks=3, image_size=32, num_envs=3)
    assert [e["invalid_calls"] for e in g.episodes] == [3, 3, 0]  # max_invalid ends the first two
    calls = decode_actions(
        {"tool": [0, 10], "value": [1, 0], "strength": [[0.5], [0]], "region": [0, 0]}, 2
    )
    assert isinstance(calls[0], ToolCall) and isinstance(calls[1], Stop)
    assert isinstance(decode_actions([1, 2], 3)[0], Invalid)
    with pytest.raises(TypeError, match="predict"):
        evaluate(object(), "simple", n_tasks=1, image_size=32)
    with pytest.raises(ValueError, match="unknown tier"):
        evaluate(OracleAgent(), "hard", n_tasks=1)


def test_edit_only_matches_words_literally_in_mention_order():
    calls = edit_only_calls("A snowy winter night with heavy rain, please")
    # literal: "rain" also names rain_falling
    assert [(c.tool, c.value) for c in calls] == [
        ("season_cycle", "winter_bare"), ("time_of_day", "night_moonlit"),
        ("weather_conditions", "heavy_rain"), ("atmospheric_effects", "rain_falling"),
    ]  # fmt: skip
    assert all(c.strength == 0.7 for c in calls)
    assert edit_only_calls("make it nicer") == []


def test_ci_and_normalization():
    assert ci95([1.0]) == (1.0, 1.0)
    lo, hi = ci95([1.0, 2.0, 3.0])
    assert lo < 2.0 < hi
    assert normalized(65.0, 30.0, 100.0) == pytest.approx(50.0)


class _Returns:
    """An agent whose predict returns ``make(n)`` for a batch of n sub-envs."""

    def __init__(self, make):
        self.make = make

    def predict(self, observation, state=None, episode_start=None, deterministic=True):
        return self.make(len(observation["instruction"])), state


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda n: 171 * 4, "a scalar"),
        (lambda n: np.full(n, 3.0), "float64 actions; .* must be integers"),
        (lambda n: np.zeros(n + 1, np.int64), r"shape \(4,\) for 3 sub-envs"),
        (lambda n: ["STOP"] * (n - 1), "2 actions for 3 sub-envs"),
        (
            lambda n: {"tool": [10], "value": [0], "strength": [[0.5]], "region": [0]},
            "'tool' holds 1",
        ),
        (lambda n: "STOP", "returned a str"),
    ],
)
def test_malformed_predict_output_raises_naming_the_problem(make, match):
    from agents.evaluate import AgentOutputError

    with pytest.raises(AgentOutputError, match=match):
        evaluate(_Returns(make), "simple", n_tasks=3, image_size=32, num_envs=3)


class _ActionsOnly:
    """An agent whose predict forgets the state: its actions alone."""

    def predict(self, observation, state=None, episode_start=None, deterministic=True):
        return ["STOP"] * len(observation["instruction"])


@pytest.mark.parametrize("n", [2, 3])  # a list of 2 would unpack as (actions, state)
def test_predict_that_returns_only_actions_is_named(n):
    from agents.evaluate import AgentOutputError

    with pytest.raises(AgentOutputError, match=f"must return \\(actions, state\\).* list of {n}"):
        evaluate(_ActionsOnly(), "simple", n_tasks=n, image_size=32, num_envs=n)


def test_seeds_may_be_one_int_and_agents_import_by_module_path():
    from agents.evaluate import load_agent

    r = evaluate(OracleAgent(), "simple", n_tasks=1, seeds=5, image_size=32)
    assert r.seeds == [5] and len(r.episodes) == 1
    with pytest.raises(TypeError, match="seeds must be an int or a sequence"):
        evaluate(OracleAgent(), "simple", n_tasks=1, seeds="5", image_size=32)
    assert isinstance(load_agent("agents.baselines:OracleAgent"), OracleAgent)  # a class
    assert isinstance(load_agent("agents.baselines:EditOnlyAgent"), EditOnlyAgent)
    with pytest.raises(TypeError, match="takes no arguments"):
        load_agent("agents.baselines:edit_only_calls")  # a function that needs an argument
    with pytest.raises(TypeError, match="has no predict"):
        load_agent("agents.baselines:_GENERIC.copy")  # a factory of something else
    with pytest.raises(ValueError, match="has no 'Nope'"):
        load_agent("agents.baselines:Nope")
    with pytest.raises(ValueError, match="cannot import module 'no_such_pkg.mod'"):
        load_agent("no_such_pkg.mod:Agent")
    # a repeated seed would count the same episodes twice (a confidence interval of copies)
    with pytest.raises(ValueError, match=r"seeds must be distinct .* got \[0, 0\]"):
        evaluate(OracleAgent(), "simple", n_tasks=1, seeds=[0, 0], image_size=32)
    with pytest.raises(ValueError, match="each seed must be a non-negative int, got -1"):
        evaluate(OracleAgent(), "simple", n_tasks=1, seeds=[-1], image_size=32)
    assert evaluate(OracleAgent(), "simple", n_tasks=1, seeds=[np.int64(2)], image_size=32).seeds == [2]  # fmt: skip
    # a mistyped checkpoint path says the file is missing, not that the agent is unknown
    with pytest.raises(ValueError, match="no checkpoint at runs/x/model.pt"):
        load_agent("runs/x/model.pt")
    with pytest.raises(ValueError, match="unknown agent 'randon'"):
        load_agent("randon")


def test_cli_checks_out_before_evaluating(tmp_path, capsys, monkeypatch):
    import agents.evaluate as E

    monkeypatch.setattr(E, "evaluate", lambda *a, **k: pytest.fail("evaluated before --out was checked"))  # fmt: skip
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    for out, match in (
        (tmp_path, "is a folder"),
        (blocker / "x.json", f"{blocker} is a file, not a folder"),
    ):
        assert E.main(["edit-only", "--tasks", "1", "--image-size", "32", "--out", str(out)]) == 1
        assert match in capsys.readouterr().err


def test_cli_is_quiet_about_gym_and_d3rlpy_unless_verbose():
    import os
    import subprocess
    import sys

    code = (
        "from agents.evaluate import main; main(['no_such_pkg.mod:Agent']); "
        "import d3rlpy, structlog; structlog.get_logger().info('d3rlpy-info-line')"
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": root}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert "cannot import module" in out.stderr  # the CLI's own line
    assert "unmaintained" not in out.stderr + out.stdout
    assert "d3rlpy-info-line" not in out.stderr + out.stdout


def test_flat_actions_are_read_with_or_without_the_preserve_digit():
    from gymnasium import spaces

    from agents.evaluate import flat_encoding
    from styling_env.actions import FlatActions

    class Flat:
        def __init__(self, n):
            self.action_space = spaces.Discrete(n)

    assert flat_encoding(Flat(171 * 4 + 1)) == FlatActions(4)
    assert flat_encoding(Flat(171 * 4 * 12 + 1)) == FlatActions(4, preserve=True)
    assert flat_encoding(object()) == FlatActions(4)
    with pytest.raises(ValueError, match="is not a DiscreteActions size"):
        flat_encoding(Flat(100))
    with_p = FlatActions(2, preserve=True)
    k = int(with_p.encode(0, 1, 1.0, np.array([0, 1, 0, 0, 0, 1])))
    call, stop, bad = decode_actions(np.array([k, with_p.stop, with_p.size]), 3, Flat(with_p.size))
    assert (call.tool, call.strength, call.preserved_regions) == (
        "location_setting", 1.0, ("ground", "subject"),
    )  # fmt: skip
    assert type(stop).__name__ == "Stop" and "is outside" in bad.error
