"""How much a planner loses by not expressing ``preserve``: a diagnostic, not a method.

    python -m experiments.preserve_ablation runs/benchmark/paper --tier complex --method rw

The native action had no ``preserve`` field until datasets of format version 2, so planners
trained before it cannot keep a region untouched when the request asks them to (the action and
the embedded planner's preserve head now can). This replays a benchmark cell's stored test
episodes twice in the (deterministic) env: as they were, and with every tool call given the
task's preserved regions, taken from the task itself as the oracle takes them (privileged
information). The gap bounds what a learned preserve head can add to the same calls; for a
planner with the head it measures what its preserve choices still miss.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Replayed:
    """One episode replayed: its overall score and whether a constraint was violated."""

    overall: float
    violated: bool


def replay_calls(
    env: Any, task: Any, seed: int, calls: Sequence[str], *, preserve: bool
) -> Replayed:
    """Step ``calls`` (results-file strings) through ``env`` on ``task``; with ``preserve``,
    every tool call also keeps the task's preserved regions untouched."""
    from agents.evaluate import decode_call
    from styling_env.tools import ToolCall

    keep = tuple(task.preserved_regions()) if preserve else ()
    _, info = env.reset(seed=seed, options={"task": task})
    overall, violations = float(info.get("overall", 0.0)), list(info.get("violations", []))
    for call in calls:
        a = decode_call(call)
        if isinstance(a, ToolCall) and keep:
            a = ToolCall(a.tool, a.value, a.strength, a.region, params={**dict(a.params), "preserve": keep})  # fmt: skip
        _, _, term, trunc, info = env.step(a)
        overall, violations = float(info["overall"]), list(info.get("violations", []))
        if term or trunc:
            break
    return Replayed(overall, bool(violations))


def ablate(cell_dir: Path, tier: str, image_size: int = 128) -> dict[str, Any]:
    """Both replays of one benchmark cell (``cells/<study>/<tier>/<method>/seed<k>``)."""
    import gymnasium as gym

    import styling_env  # noqa: F401
    from styling_env.tasks import test_tasks

    ev_path, cell_path = cell_dir / "eval.json", cell_dir / "cell.json"
    if not ev_path.exists() or not cell_path.exists():
        raise FileNotFoundError(f"{cell_dir} is not a finished benchmark cell (no eval.json/cell.json)")  # fmt: skip
    episodes = json.loads(ev_path.read_text())["episodes"]
    summary = json.loads(cell_path.read_text())["eval"]
    tasks = {t.task_id: t for t in test_tasks(tier, len(episodes))}
    missing = [e["task_id"] for e in episodes if e["task_id"] not in tasks]
    if missing:
        raise ValueError(f"{len(missing)} episodes are not {tier} test tasks (e.g. {missing[0]!r})")  # fmt: skip
    env = gym.make("ImageStyling-v0", tier=tier, image_size=image_size, split="test",
                   disable_env_checker=True)  # fmt: skip
    try:
        runs = {
            name: [
                replay_calls(env, tasks[e["task_id"]], int(e["seed"]), e["calls"], preserve=flag)
                for e in episodes
            ]
            for name, flag in (("as_run", False), ("preserve", True))
        }
    finally:
        env.close()
    rnd, orc = float(summary["random_overall"]), float(summary["oracle_overall"])

    def stats(rs: Sequence[Replayed]) -> dict[str, float]:
        mean = float(np.mean([r.overall for r in rs]))
        return {"overall": mean, "normalized": 100.0 * (mean - rnd) / max(orc - rnd, 1e-9),
                "violating": float(np.mean([r.violated for r in rs]))}  # fmt: skip

    return {k: stats(v) for k, v in runs.items()} | {"episodes": len(episodes)}


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m experiments.preserve_ablation", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("run", type=Path, help="a benchmark run folder (runs/benchmark/paper)")
    p.add_argument("--tier", default="complex")
    p.add_argument("--method", default="rw")
    p.add_argument("--study", default="main")
    p.add_argument("--image-size", type=int, default=128)
    a = p.parse_args(argv)
    base = a.run / "cells" / a.study / a.tier / a.method
    seeds = sorted(base.glob("seed*"))
    if not seeds:
        print(f"error: no cells in {base}", file=sys.stderr)
        return 1
    rows: list[Mapping[str, Any]] = []
    try:
        for d in seeds:
            r = ablate(d, a.tier, a.image_size)
            rows.append(r)
            print(f"{a.method} {a.tier} {d.name}: normalized {r['as_run']['normalized']:.1f} -> "
                  f"{r['preserve']['normalized']:.1f} with preserve; violating episodes "
                  f"{r['as_run']['violating']:.0%} -> {r['preserve']['violating']:.0%}", flush=True)  # fmt: skip
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    gain = [r["preserve"]["normalized"] - r["as_run"]["normalized"] for r in rows]
    print(f"mean gain over {len(rows)} seed(s): {np.mean(gain):+.1f} normalized")
    return 0


if __name__ == "__main__":
    sys.exit(main())
