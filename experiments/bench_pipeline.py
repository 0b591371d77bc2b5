"""The pipeline's speed and memory against the project's targets: vector env, dataset generation, training
per method, evaluation, peak memory.

    python -m experiments.bench_pipeline [--tier simple] [--episodes 1000] [--steps 60] \\
        [--json out/bench_pipeline.json] [--quick]

Each stage runs in this process with its wall time, its peak resident memory
(:class:`experiments.measure.PeakRSS`) and the share of the CPUs other processes used
meanwhile (:class:`experiments.bench_tools.Contention`; a stage measured under more than 10% of
competition is flagged, its time is not the machine's):

1. **env**: the native vector env, 64 envs x 128 px, random calls (:mod:`experiments.bench_env`):
   steps/s (target >= 1,000) and the env's overhead beside the tools (target <= 20%).
2. **generation**: ``--episodes`` teacher episodes of ``--tier`` at 128 px, 64 envs, written as
   a Minari dataset in a temporary root: episodes/s, and the minutes a 10,000-episode dataset
   takes at that rate (target <= 10).
3. **training**: each of the paper's five methods (embedded planner, batch 256) and d3rlpy's
   DiscreteBC/DiscreteCQL for ``--steps`` updates on that dataset: samples/s, and the minutes
   the default budget (10 epochs; d3rlpy 3,000 updates) takes on the full 10,000-episode
   dataset of the tier (its step count is the canonical dataset's), target <= 10, plus the
   full dataset's load time, extrapolated from this one's.
4. **evaluation**: an S planner on the tier's 200 held-out test tasks at 128 px (target
   <= 60 s).
5. **memory**: the largest stage peak (target <= 8 GB). Loading a full dataset is the largest
   cost (measured by ``python -m experiments.benchmark``, stage ``load``); here it is scaled.

Numbers are printed as a table against the targets and, with ``--json``, written out.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from offline_data.dataset import datasets_path

#: Steps (rows) of the canonical 10,000-episode datasets (their cards), for extrapolation.
FULL_ROWS = {"simple": 24_407, "regular": 48_036, "complex": 47_950}
FULL_EPISODES = 10_000


def _measure(name: str, fn: Callable[[], Any], rows: list[dict[str, Any]]) -> tuple[Any, dict]:
    from experiments.bench_tools import CONTENDED, Contention
    from experiments.measure import PeakRSS

    t0 = time.perf_counter()
    with Contention() as c, PeakRSS() as mem:
        out = fn()
    rec = {
        "stage": name, "seconds": round(time.perf_counter() - t0, 2), "peak_rss_mb": mem.peak_mb,
        "contention": round(c.share, 3), "contended": bool(c.share > CONTENDED),
    }  # fmt: skip
    rows.append(rec)
    return out, rec


def run(tier: str = "simple", episodes: int = 1000, steps: int = 60, quick: bool = False) -> dict[str, Any]:  # fmt: skip
    import torch

    from agents.d3rlpy_agents import train_d3rlpy
    from agents.embedded import prepare, train
    from agents.evaluate import evaluate
    from agents.methods import OFFLINE_METHODS, default_epochs
    from experiments.bench_env import bench as bench_env
    from offline_data import dataset as D
    from offline_data.generate import generate
    from offline_data.loaders import to_d3rlpy

    stages: list[dict[str, Any]] = []
    targets: list[dict[str, Any]] = []

    def target(what: str, value: float, limit: float, unit: str, higher: bool, stage: dict) -> None:
        ok = value >= limit if higher else value <= limit
        targets.append({
            "what": what, "value": round(value, 2), "target": f"{'>=' if higher else '<='} {limit:g} {unit}",
            "unit": unit, "met": bool(ok), "contended": stage["contended"],
        })  # fmt: skip

    env_steps = 128 if quick else 1024
    r, st = _measure("env", lambda: bench_env(64, env_steps, 128, tier), stages)
    st["steps_per_s"] = round(r["steps_per_s"], 1)
    target("vector env, 64 envs x 128 px", r["steps_per_s"], 1000, "steps/s", True, st)
    target("env overhead beside the tools", 100 * r["env_overhead"], 20, "%", False, st)

    root = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    stack = contextlib.ExitStack()  # Minari's root is ours until the finally below
    stack.enter_context(datasets_path(root))
    try:
        did = f"image-styling/bench-{tier}-v0"
        _, st = _measure(
            "generation",
            lambda: generate(
                tier,
                episodes,
                0,
                image_size=128,
                did=did,
                progress=False,
                ref_episodes=10 if quick else 50,
            ),  # fmt: skip
            stages,
        )
        st["episodes_per_s"] = round(episodes / st["seconds"], 1)
        target(f"generate 10,000 {tier} episodes (extrapolated)", FULL_EPISODES / st["episodes_per_s"] / 60, 10, "min", False, st)  # fmt: skip

        data, st = _measure("load", lambda: prepare(did, _config()), stages)
        load_full = st["seconds"] * FULL_ROWS[tier] / len(data)
        st["rows"] = len(data)
        st["full_dataset_load_s"] = round(load_full, 1)
        full_rows = FULL_ROWS[tier]
        s_planner = None
        for m in OFFLINE_METHODS:
            ref = s_planner if m == "dpo" else None
            res, st = _measure(
                f"train {m}",
                lambda m=m, ref=ref: train(
                    data, method=m, steps=steps, reference=ref, progress=False
                ),
                stages,
            )
            st["samples_per_s"] = round(res.samples_per_s, 1)
            if m == "s":
                s_planner = res.planner
            if m == "dpo":  # DPO's epochs are over pairs, whose count depends on the data
                continue
            minutes = (default_epochs(m) * full_rows / res.samples_per_s + load_full) / 60
            target(f"train {m.upper()} on 10,000 {tier} episodes (extrapolated, incl. load)", minutes, 10, "min", False, st)  # fmt: skip
        mdp, st = _measure("load d3rlpy", lambda: to_d3rlpy(D.load(did), work_size=64), stages)
        d3_full = st["seconds"] * FULL_ROWS[tier] / len(data)
        for algo in ("bc", "cql"):
            agent, st = _measure(
                f"train {algo}", lambda algo=algo: train_d3rlpy(algo, mdp, steps=steps * 5, progress=False), stages
            )  # fmt: skip
            ups = agent.training.get("updates_per_s") or (steps * 5 / st["seconds"])
            st["updates_per_s"] = round(ups, 1)
            target(f"train Discrete{algo.upper()} (3,000 updates, incl. load)", (3000 / ups + d3_full) / 60, 10, "min", False, st)  # fmt: skip
        from agents.embedded import EmbeddedAgent

        n_tasks = 40 if quick else 200
        ev, st = _measure(
            "evaluation",
            lambda: evaluate(EmbeddedAgent(s_planner), tier, n_tasks, (0,), image_size=128),
            stages,
        )
        target(f"evaluate {n_tasks} test tasks", st["seconds"], 60 * n_tasks / 200, "s", False, st)  # fmt: skip
    finally:
        stack.close()
        import shutil

        shutil.rmtree(root, ignore_errors=True)
    peak = max(s["peak_rss_mb"] for s in stages)
    target("peak memory of any stage (this run)", peak / 1024, 8, "GB", False, max(stages, key=lambda s: s["peak_rss_mb"]))  # fmt: skip
    return {
        "tier": tier, "episodes": episodes, "steps": steps, "torch_threads": torch.get_num_threads(),
        "cpus": os.cpu_count(), "stages": stages, "targets": targets,
    }  # fmt: skip


def _config() -> Any:
    from agents.embedded import PlannerConfig

    return PlannerConfig()


def table(result: dict[str, Any]) -> str:
    lines = [
        f"{'target':<66} {'measured':>10} {'target':>14}  status",
        "-" * 104,
    ]
    for t in result["targets"]:
        status = ("met" if t["met"] else "MISSED") + (" (contended)" if t["contended"] else "")
        lines.append(f"{t['what']:<66} {t['value']:>10.2f} {t['target']:>14}  {status}")
    lines += ["", f"{'stage':<16} {'seconds':>9} {'peak MB':>9} {'others CPU':>11}  rate"]
    for s in result["stages"]:
        rate = next((f"{s[k]} {k.replace('_per_s', '/s')}" for k in ("steps_per_s", "episodes_per_s", "samples_per_s", "updates_per_s") if k in s), "")  # fmt: skip
        lines.append(f"{s['stage']:<16} {s['seconds']:>9.1f} {s['peak_rss_mb']:>9.0f} {100 * s['contention']:>10.0f}%  {rate}")  # fmt: skip
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m experiments.bench_pipeline", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("--tier", default="simple", choices=tuple(FULL_ROWS))
    p.add_argument("--episodes", type=int, default=1000, help="episodes to generate and train on")
    p.add_argument("--steps", type=int, default=60, help="updates per method (d3rlpy: 5x)")
    p.add_argument("--quick", action="store_true", help="a seconds-long smoke run")
    p.add_argument("--json", type=Path, default=None)
    a = p.parse_args(argv)
    if a.episodes < 8 or a.steps < 1:
        print("error: --episodes must be >= 8 and --steps >= 1", file=sys.stderr)
        return 2
    result = run(a.tier, a.episodes, a.steps, a.quick)
    print(table(result))
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
