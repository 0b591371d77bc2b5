"""Environment throughput: steps per second, single and vectorized, and where the time goes.

    python -m experiments.bench_env [--sizes 128] [--envs 1 8 64] [--steps 400] [--json out.json]

A random agent (uniform over valid calls, STOP with probability 1/6, so episodes last about
five steps and resets are part of the cost, as in real use) drives ``ImageStyling-v0``: one
env, and the native vector env at each ``--envs`` width. Per run it reports steps/s and the
split of wall time into the engine's stages — tool ops (``apply_calls`` of the steps), resets
(source images, oracle references, first scores), Stage-1 context, judge — and the rest
(observations, action decoding, Python). The target is >= 1,000 steps/s at 64 envs x
128x128 with the environment's own overhead <= 20% of step time.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Sequence

import gymnasium as gym
import numpy as np
import torch

import styling_env  # noqa: F401  (registers the ids)
from styling_env.tools import TOOLS


def _random_actions(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    tools = rng.integers(0, len(TOOLS), n)
    stop = rng.random(n) < 1 / 6
    values = np.array([rng.integers(0, len(list(TOOLS.values())[t])) for t in tools])
    return {
        "tool": np.where(stop, len(TOOLS), tools),
        "value": values,
        "strength": rng.uniform(0.2, 1.0, (n, 1)).astype(np.float32),
        "region": np.zeros(n, dtype=np.int64),
    }


def bench(num_envs: int, steps: int, size: int, tier: str, seed: int = 0) -> dict[str, float]:
    """Run ``steps`` env steps in total at ``num_envs`` wide; return throughput and time split."""
    rng = np.random.default_rng(seed)
    if num_envs == 1:
        env = gym.make("ImageStyling-v0", tier=tier, image_size=size, disable_env_checker=True)
        engine = env.unwrapped.engine
        env.reset(seed=seed)
        _, _, term, trunc, _ = env.step({k: v[0] for k, v in _random_actions(rng, 1).items()})
        if term or trunc:  # the warm-up drew STOP: a finished episode takes no more steps
            env.reset()
        engine.timings.clear()
        t0 = time.perf_counter()
        for _ in range(steps):
            a = {k: v[0] for k, v in _random_actions(rng, 1).items()}
            _, _, term, trunc, _ = env.step(a)
            if term or trunc:
                env.reset()
        wall = time.perf_counter() - t0
        done = steps
    else:
        env = gym.make_vec(
            "ImageStyling-v0",
            num_envs=num_envs,
            vectorization_mode="vector_entry_point",
            tier=tier,
            image_size=size,
        )
        engine = env.unwrapped.engine if hasattr(env, "unwrapped") else env.engine
        env.reset(seed=seed)
        env.step(_random_actions(rng, num_envs))  # warm-up
        engine.timings.clear()
        rounds = max(1, steps // num_envs)
        t0 = time.perf_counter()
        for _ in range(rounds):
            env.step(_random_actions(rng, num_envs))
        wall = time.perf_counter() - t0
        done = rounds * num_envs
    t = dict(engine.timings)
    staged = sum(t.values())
    out = {
        "num_envs": num_envs,
        "image_size": size,
        "steps": done,
        "seconds": wall,
        "steps_per_s": done / wall,
        **{f"share_{k}": v / wall for k, v in sorted(t.items())},
        "share_other": max(0.0, wall - staged) / wall,
    }
    out["env_overhead"] = 1 - out.get("share_tools", 0.0)
    return out


def main(argv: Sequence[str] | None = None) -> list[dict[str, float]]:
    p = argparse.ArgumentParser(
        prog="python -m experiments.bench_env", description=__doc__.splitlines()[0]
    )
    p.add_argument(
        "--envs", type=int, nargs="+", default=[1, 8, 64], help="vector widths (1 = the single env)"
    )
    p.add_argument("--sizes", type=int, nargs="+", default=[128], help="image sizes")
    p.add_argument("--steps", type=int, default=512, help="env steps per run (all envs together)")
    p.add_argument("--tier", default="simple", help="task tier")
    p.add_argument("--json", help="write the results to this JSON file")
    args = p.parse_args(argv)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, tier {args.tier}"
    )
    print(
        f"{'envs':>5} {'size':>5} {'steps/s':>9} {'tools':>7} {'reset':>7} {'judge':>7} {'context':>7} {'other':>7} {'overhead':>9}"
    )
    rows = []
    for size in args.sizes:
        for n in args.envs:
            r = bench(n, args.steps, size, args.tier)
            rows.append(r)
            shares = " ".join(
                f"{100 * r.get(f'share_{k}', 0.0):6.1f}%"
                for k in ("tools", "reset", "judge", "context", "other")
            )
            print(
                f"{n:5d} {size:5d} {r['steps_per_s']:9.1f} {shares} {100 * r['env_overhead']:8.1f}%"
            )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)
    return rows


if __name__ == "__main__":
    main()
