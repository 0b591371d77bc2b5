"""PPO's env steps/s on the native batched env against gymnasium's ``SyncVectorEnv``.

``python -m experiments.bench_sb3_vec [--n-envs 16] [--steps 2048] [--image-size 64]``

Three ways to give stable-baselines3's PPO ``n_envs`` ImageStyling envs, with the same policy
(``agents.online.StylingPPOPolicy``), the same observations (hash-encoded instruction, flat
``DiscreteActions(4)``) and PPO's defaults of ``agents.online.DEFAULT_HYPER`` (rollouts of 128
steps per env, so the update share is the same in every run):

- ``native``: ``agents.sb3_vec.make_sb3_vec_env``: the native vector env (each tool once per
  step for all sub-envs, one judge call) through the vector wrappers and the ``VecEnv`` adapter;
- ``sync``: the same wrappers and adapter over gymnasium's ``SyncVectorEnv`` of single envs
  (each sub-env stepped in turn);
- ``dummy``: SB3's ``DummyVecEnv`` of ``agents.online.make_online_env`` (what
  ``train_online`` uses; also one env at a time).

Each run trains for ``--steps`` env steps after a short warm-up; it prints env steps/s (the
whole loop: env steps, policy inference and PPO's updates) and writes JSON with ``--json``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from typing import Any


def make(kind: str, n_envs: int, image_size: int, seed: int) -> Any:
    """The ``VecEnv`` of one variant (see the module docstring)."""
    import gymnasium as gym
    from gymnasium.vector import AutoresetMode, SyncVectorEnv
    from stable_baselines3.common.vec_env import DummyVecEnv

    import styling_env  # noqa: F401 - registers the ids
    from agents.online import make_online_env
    from agents.sb3_vec import StylingVecEnv, make_sb3_vec_env
    from styling_env.vector_wrappers import VectorDiscreteActions, VectorEncodeInstruction

    if kind == "native":
        return make_sb3_vec_env("simple", n_envs=n_envs, image_size=image_size, seed=seed)
    if kind == "sync":
        sync = SyncVectorEnv(
            [lambda: gym.make("ImageStyling-v0", image_size=image_size) for _ in range(n_envs)],
            autoreset_mode=AutoresetMode.DISABLED,
        )
        venv = StylingVecEnv(VectorDiscreteActions(VectorEncodeInstruction(sync)))
        venv.seed(seed)
        return venv
    if kind == "dummy":
        return DummyVecEnv(
            [lambda: make_online_env("simple", image_size=image_size, seed=None)] * n_envs
        )
    raise ValueError(f"unknown variant {kind!r}; expected native, sync or dummy")


def measure(kind: str, n_envs: int, steps: int, image_size: int, seed: int = 0) -> dict[str, Any]:
    """Train PPO for ``steps`` env steps on variant ``kind``; returns steps/s and settings."""
    import torch
    from stable_baselines3 import PPO

    from agents.online import DEFAULT_HYPER, StylingPPOPolicy

    torch.manual_seed(seed)
    venv = make(kind, n_envs, image_size, seed)
    hyper = dict(DEFAULT_HYPER["ppo"])
    model = PPO(StylingPPOPolicy, venv, seed=seed, device="cpu", verbose=0, **hyper)
    rollout = hyper["n_steps"] * n_envs
    model.learn(rollout)  # warm-up: first resets, first update
    t0 = time.perf_counter()
    model.learn(steps, reset_num_timesteps=False)
    seconds = time.perf_counter() - t0
    done = model.num_timesteps - rollout
    venv.close()
    return {
        "variant": kind, "n_envs": n_envs, "image_size": image_size, "env_steps": done,
        "seconds": round(seconds, 2), "env_steps_per_s": round(done / seconds, 1),
        "torch_threads": torch.get_num_threads(),
    }  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m experiments.bench_sb3_vec", description=__doc__)
    p.add_argument("--n-envs", type=int, default=16)
    p.add_argument("--steps", type=int, default=2048, help="env steps measured per variant")
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--variants", nargs="+", default=["native", "sync", "dummy"])
    p.add_argument("--json", default=None, help="write the results here")
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args(argv)
    if not args.verbose:
        from agents.quiet import quiet

        quiet()
    rows = []
    for kind in args.variants:
        row = measure(kind, args.n_envs, args.steps, args.image_size)
        rows.append(row)
        print(
            f"{kind:7s} {row['n_envs']:3d} envs {row['image_size']} px: "
            f"{row['env_steps_per_s']:7.1f} env steps/s ({row['env_steps']} steps, {row['seconds']} s)"
        )
    base = {r["variant"]: r["env_steps_per_s"] for r in rows}
    if "native" in base and "sync" in base:
        print(f"native / SyncVectorEnv: {base['native'] / base['sync']:.2f}x")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
