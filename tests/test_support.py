"""Decoding within the data's support (agents.support): no tool twice in an episode."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from agents.embedded import PlannerConfig
from agents.embedded.agent import EmbeddedAgent
from agents.evaluate import evaluate
from agents.support import called_tools, merge_repeats, merge_repeats_np
from styling_env.libraries import library

SMALL = PlannerConfig(image_size=32, encoder="hash", hash_dim=64)


def _history(rows: list[list[int]], steps: int = 8) -> np.ndarray:
    """``(B, steps, 5)`` history whose rows' tool columns are ``rows`` (-1 pads the rest)."""
    h = np.full((len(rows), steps, 5), -1.0, np.float32)
    for i, tools in enumerate(rows):
        for k, t in enumerate(tools):
            h[i, k] = (t, 0, 0.5, 0, 0)
    return h


def test_called_tools_reads_valid_calls_of_the_history():
    h = _history([[3, -2, 7], [], [10]])  # a call, an invalid call, a call; nothing; STOP
    want = np.zeros((3, 10), bool)
    want[0, [3, 7]] = True
    np.testing.assert_array_equal(called_tools(h, "v2"), want)
    np.testing.assert_array_equal(called_tools(torch.from_numpy(h), "v2").numpy(), want)
    # the normal library's branches may call one tool twice: nothing is held back there
    assert not called_tools(h, "normal").any()
    assert called_tools(_history([[25]]), "v3")[0, 25]
    with pytest.raises(ValueError, match="history must be"):
        called_tools(h[0], "v2")


def test_merge_repeats_moves_the_called_tools_probability_to_stop():
    logits = torch.tensor([[2.0, 1.0, 0.0, -1.0], [0.0, 0.0, 0.0, 0.0]])
    called = torch.tensor([[True, False, False], [False, False, False]])
    out = merge_repeats(logits, called)
    p = torch.softmax(logits, 1)
    assert out[0, 0] == -torch.inf
    assert out[0, 3].exp() == pytest.approx(float(p[0, 3] + p[0, 0]))
    torch.testing.assert_close(out[0, 1:3].exp(), p[0, 1:3])
    torch.testing.assert_close(out[1], torch.log_softmax(logits[1], 0))  # nothing called
    np.testing.assert_allclose(
        merge_repeats_np(p.numpy(), called.numpy()), out.exp().numpy(), rtol=1e-6
    )
    with pytest.raises(ValueError, match="4 columns"):
        merge_repeats(logits[:, :3], called)


def test_the_planner_never_repeats_a_tool_unless_asked():
    """An untrained planner's greedy call does not depend on what it did, so it calls one tool
    every step (the worst case of the failure this rule fixes); within the support it calls
    each tool at most once."""
    counts = {}
    for repeat in (True, False):
        agent = EmbeddedAgent.zero_shot(SMALL, seed=0, repeat_tools=repeat)
        assert agent.decoding == (None if repeat else "no-repeat-tools")
        res = evaluate(agent, "simple", n_tasks=6, image_size=32)
        reps = 0
        for e in res.episodes:
            tools = [json.loads(c)["action_id"] for c in e["calls"] if c.startswith("{")]
            reps += len(tools) - len(set(tools))
        counts[repeat] = reps
    assert counts[True] > 0 and counts[False] == 0


def test_a_planner_with_a_called_tool_as_its_first_choice_stops_or_calls_another():
    agent = EmbeddedAgent.zero_shot(SMALL, seed=1)
    from styling_env.vector import ImageStylingVectorEnv

    env = ImageStylingVectorEnv(4, image_size=32)
    try:
        obs, _ = env.reset(seed=0)
    finally:
        env.close()
    first, _ = agent.predict(obs)
    calls = np.flatnonzero(first["tool"] < 10)
    assert calls.size >= 2
    obs2 = dict(obs, history=_history([[t] for t in first["tool"]]))
    again, _ = agent.predict(obs2)
    assert not np.any(again["tool"][calls] == first["tool"][calls])


@pytest.mark.parametrize("tier", ["simple", "complex"])
def test_the_teachers_never_repeat_a_tool(small_datasets, tier):
    """What the rule rests on: the data's behaviour calls each tool at most once."""
    from offline_data import dataset as D

    ds = D.load(small_datasets[tier])
    n = 0
    for ep in D.episodes(ds, range(D.info(ds)["episodes"])):
        tools = [int(t) for t in np.asarray(ep.actions["tool"]).reshape(-1) if t < 10]
        assert len(tools) == len(set(tools)), tools
        n += 1
    assert n == 24


def test_the_v3_teacher_never_repeats_an_action(library_datasets):
    from offline_data import dataset as D

    stop = library("v3").stop
    ds = D.load(library_datasets["v3"])
    for ep in D.episodes(ds, range(24)):
        tools = [int(t) for t in np.asarray(ep.actions["tool"]).reshape(-1) if t < stop]
        assert len(tools) == len(set(tools)), tools


def test_evaluate_cli_turns_the_rule_off_or_names_why_it_cannot(tmp_path, capsys):
    from agents.evaluate import main

    path = tmp_path / "planner.pt"
    EmbeddedAgent.zero_shot(SMALL, seed=0).planner.save(path)
    args = ["--tasks", "2", "--image-size", "32", "--out", str(tmp_path / "e.json")]
    assert main([str(path), "--repeat-tools", *args]) == 0
    episodes = json.loads((tmp_path / "e.json").read_text())["episodes"]
    tools = [
        [json.loads(c)["action_id"] for c in e["calls"] if c.startswith("{")] for e in episodes
    ]
    assert any(len(t) != len(set(t)) for t in tools)  # the raw untrained policy repeats
    assert main(["edit-only", "--repeat-tools", *args]) == 1
    assert "EditOnlyAgent has no decoding rule to turn off" in capsys.readouterr().err
