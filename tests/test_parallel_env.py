"""The vector env on several processes (styling_env.parallel) steps as the one-process env."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import styling_env  # noqa: F401  (registers the ids)
from experiments.bench_env import _random_actions
from styling_env import sample_task
from styling_env.engine import Stop
from styling_env.parallel import (
    ParallelStylingVectorEnv,
    WorkerError,
    _split,
    make_vector_env,
)
from styling_env.vector import ImageStylingVectorEnv

SMALL = {"image_size": 32}


def _same(a, b, path=""):
    """Equal batches: arrays bit for bit (floats to 1e-5: judge scores), same dtypes and keys."""
    if isinstance(a, dict):
        assert set(a) == set(b), (path, set(a) ^ set(b))
        for k in a:
            _same(a[k], b[k], f"{path}/{k}")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{path}[{i}]")
    elif isinstance(a, np.ndarray):
        assert (a.dtype, a.shape) == (b.dtype, b.shape), (path, a.dtype, b.dtype)
        if a.dtype == object:
            _same(list(a), list(b), path)
        elif a.dtype.kind == "f":
            np.testing.assert_allclose(a, b, atol=1e-5, err_msg=path)
        else:
            np.testing.assert_array_equal(a, b, err_msg=path)
    elif isinstance(a, float):
        assert b == pytest.approx(a, abs=1e-5), path
    else:
        assert type(a) is type(b) and a == b, (path, a, b)


def test_blocks_cover_the_slots_in_order():
    assert _split(5, 2) == [(0, 3), (3, 5)]
    assert _split(4, 4) == [(0, 1), (1, 2), (2, 3), (3, 4)]


def test_two_workers_step_exactly_as_one_process_with_autoreset():
    n, steps = 5, 10
    runs = []
    for workers in (1, 2):
        env = gym.make_vec(
            "ImageStyling-v0", num_envs=n, vectorization_mode="vector_entry_point",
            workers=workers, render_mode="rgb_array", **SMALL,
        )  # fmt: skip
        assert isinstance(env.unwrapped, ParallelStylingVectorEnv) == (workers > 1)
        rng = np.random.default_rng(3)
        out = [env.reset(seed=11)]
        for _ in range(steps):  # STOP draws end episodes: next-step autoresets happen
            out.append(env.step(_random_actions(rng, n)))
        out.append(env.render())
        env.close()
        runs.append(out)
    _same(runs[0], runs[1])
    # the run had finished episodes, so autoresets and final infos were compared too
    assert any(step[2].any() for step in runs[1][1:-1])


def test_disabled_autoreset_masks_and_tasks_split_across_workers():
    task = sample_task("simple", 7, "train")
    results = []
    for env in (
        ImageStylingVectorEnv(3, autoreset_mode="disabled", **SMALL),
        ParallelStylingVectorEnv(3, 2, autoreset_mode="disabled", **SMALL),
    ):
        try:
            out = [env.reset(seed=0)]
            out.append(env.step([Stop(), Stop(), Stop()]))
            out.append(env.step([Stop(), Stop(), Stop()]))  # finished slots stay idle
            # slot 2 lives in the second worker: its task must reach it
            mask = np.array([False, False, True])
            out.append(env.reset(options={"reset_mask": mask, "tasks": [task]}))
            assert out[-1][0]["instruction"][2] == task.instruction
            out.append(env.step([Stop(), Stop(), Stop()]))
            assert out[-1][2].tolist() == [False, False, True]
            with pytest.raises(ValueError, match="one per reset sub-env"):
                env.reset(options={"reset_mask": np.array([True, True, False]), "tasks": [task]})
            results.append(out)
        finally:
            env.close()
    _same(results[0], results[1])


def test_bad_input_is_named_before_or_by_the_workers_and_timings_sum_theirs():
    with pytest.raises(ValueError, match="workers \\(3\\) must not exceed num_envs \\(2\\)"):
        ParallelStylingVectorEnv(2, 3, **SMALL)
    with pytest.raises(ValueError, match="workers must be"):
        make_vector_env(2, 0, **SMALL)
    with pytest.raises(ValueError, match="threads is an option of workers > 1"):
        make_vector_env(2, 1, threads=2, **SMALL)
    with pytest.raises(ValueError, match="tier"):  # refused here, before any process starts
        ParallelStylingVectorEnv(2, 2, tier="medium", **SMALL)

    class LocalJudge:  # a judge the workers cannot receive: it holds a lambda
        def __init__(self):
            self.scale = lambda x: x

        def score(self, episodes):
            return []

    with pytest.raises(ValueError, match="cannot be pickled.*judge object must be picklable"):
        ParallelStylingVectorEnv(2, 2, judge=LocalJudge(), **SMALL)
    env = ParallelStylingVectorEnv(2, 2, **SMALL)
    try:
        env.reset(seed=0)
        env.step(_random_actions(np.random.default_rng(0), 2))
        times, counts = env.timings()  # the two engines' seconds and counts, summed
        assert counts["reset"] == 2 and times["reset"] > 0 and times["judge"] > 0
        with pytest.raises(ValueError, match="one entry per sub-env"):
            env.step({k: v[:1] for k, v in _random_actions(np.random.default_rng(0), 2).items()})
        with pytest.raises(ValueError, match="got 3 actions for 2 envs"):
            env.step([Stop(), Stop(), Stop()])
        with pytest.raises(WorkerError, match="unknown worker command 'fly'"):
            env._call("fly", [None, None])  # a worker's exception comes back with its traceback
        # a worker ends after reporting an error (as gymnasium's AsyncVectorEnv workers do:
        # the other slots may have stepped, so the batch is no longer in step), and a worker
        # that is gone is named, not waited on
        with pytest.raises(WorkerError, match="worker 0"):
            env.step([Stop(), Stop()])
    finally:
        env.close()
    with pytest.raises(WorkerError, match="closed"):
        env.step([Stop(), Stop()])
    env.close()  # twice is fine


def test_sb3_adapter_runs_on_worker_processes():
    from agents.sb3_vec import make_sb3_vec_env

    venv = make_sb3_vec_env("simple", n_envs=2, image_size=32, workers=2, seed=0)
    try:
        assert type(venv.venv.unwrapped).__name__ == "ParallelStylingVectorEnv"
        obs = venv.reset()
        obs, rewards, dones, infos = venv.step(np.array([venv.action_space.sample()] * 2))
        assert rewards.shape == (2,) and len(infos) == 2 and set(obs) >= {"image", "instruction"}
    finally:
        venv.close()


def test_bench_env_measures_one_process_and_workers_at_a_toy_size(tmp_path):
    import json

    from experiments.bench_env import bench, main

    path = tmp_path / "bench.json"
    rows = main(["--envs", "1", "4", "--sizes", "32", "--steps", "8", "--workers", "2", "--json", str(path)])  # fmt: skip
    assert json.loads(path.read_text()) == rows
    single, parallel = rows
    assert "workers" not in single and parallel["workers"] == 2  # the single env: one process
    for r in rows:
        assert r["steps_per_s"] > 0 and r["tools_only_steps_per_s"] > 0
        parts = r["share_sources"] + r["share_references"]  # parts of the reset's share
        shares = sum(v for k, v in r.items() if k.startswith("share_")) - parts
        assert shares == pytest.approx(1.0, abs=0.05)  # the stages and the rest make up the time
        assert 0 <= parts <= r.get("share_reset", 0.0) + 1e-9
        assert (parts > 0) == (r["resets"] > r["resets_cached"])  # built starts render
        assert r["env_vs_tools"] == pytest.approx(r["steps_per_s"] / r["tools_only_steps_per_s"])
        image = r["share_tools"] + parts  # the image work; the rest is the env's own
        assert r["env_own_work"] == pytest.approx(1 - image)
        assert r["env_vs_tools_ceiling"] == pytest.approx(r["env_vs_tools"] / image)
        assert r["env_vs_tools"] < r["env_vs_tools_ceiling"]
    with pytest.raises(ValueError, match="2 workers need at least 2 envs"):
        bench(1, 8, 32, "simple", workers=2)
