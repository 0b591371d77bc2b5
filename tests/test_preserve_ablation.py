"""The preserve diagnostic: replaying calls with the task's preserved regions removes the
violations that the same calls without ``preserve`` cause; bad input gets named errors."""

from __future__ import annotations

import json

import gymnasium as gym
import pytest

import styling_env  # noqa: F401
from experiments import preserve_ablation as P
from styling_env.tasks import test_tasks


def _violating_episode(env):
    """A Complex test task with preserved regions, and its oracle plan stripped of them."""
    for task in test_tasks("complex", 40):
        if not task.preserved_regions():
            continue
        env.reset(seed=0, options={"task": task})
        plan = env.unwrapped.slot.reference.plan
        calls = [
            json.dumps(
                {
                    **c.to_dict(),
                    "parameters": {
                        k: v for k, v in c.to_dict()["parameters"].items() if k != "preserve"
                    },
                }
            )  # fmt: skip
            for c in plan
        ] + ["STOP"]
        bare = P.replay_calls(env, task, 0, calls, preserve=False)
        if bare.violated:
            return task, calls, bare
    raise AssertionError("no Complex test task among the first 40 violates without preserve")


def test_preserve_removes_the_violation():
    env = gym.make("ImageStyling-v0", tier="complex", image_size=32, split="test",
                   disable_env_checker=True)  # fmt: skip
    task, calls, bare = _violating_episode(env)
    kept = P.replay_calls(env, task, 0, calls, preserve=True)
    assert bare.violated and not kept.violated
    assert kept.overall > bare.overall
    # the replay is deterministic
    assert P.replay_calls(env, task, 0, calls, preserve=False) == bare
    env.close()


def test_bad_input(tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="not a finished benchmark cell"):
        P.ablate(tmp_path, "complex")
    assert P.main([str(tmp_path)]) == 1
    assert "no cells in" in capsys.readouterr().err
    cell = tmp_path / "cells" / "main" / "complex" / "rw" / "seed0"
    cell.mkdir(parents=True)
    (cell / "eval.json").write_text(json.dumps({"episodes": [{"task_id": "nope", "seed": 0, "calls": []}]}))  # fmt: skip
    (cell / "cell.json").write_text(json.dumps({"eval": {"random_overall": 0, "oracle_overall": 1}}))  # fmt: skip
    with pytest.raises(ValueError, match="not complex test tasks"):
        P.ablate(cell, "complex")
    assert P.main([str(tmp_path)]) == 1
