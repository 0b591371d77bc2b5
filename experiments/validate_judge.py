"""Validate the measured judge (DESIGN §3.5) on a tier's fixed test tasks.

    python -m experiments.validate_judge --tiers simple regular complex --tasks 200

For each task it scores six policies against the oracle's reference: the oracle itself, no
edit, a uniformly random plan (1-5 random calls), the oracle plan with one value swapped for a
sibling of the same tool, the oracle plan too weak (x0.4) and too strong (x1.8, capped at 1),
and, for tasks with a preserved region, the oracle plan that ignores it. It prints mean +- std
per policy and the pairwise win rates the design asks for.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from styling_env.judge import Episode, MeasuredJudge
from styling_env.oracle import task_references
from styling_env.tasks import Task, test_tasks
from styling_env.tools import TOOLS, ToolCall, apply_plan

POLICIES = ("oracle", "no_edit", "random", "sibling", "too_weak", "too_strong", "ignore_constraint")


@dataclass
class Validation:
    tier: str
    scores: dict[str, list[float]]  # policy -> overall per task (ignore_constraint: subset)
    sibling_loses: float  # share of tasks where the sibling plan scores below the oracle
    weak_loses: float
    strong_loses: float  # over tasks whose oracle strengths leave room to go stronger
    violation_costs: float  # share of constrained tasks where ignoring the constraint costs points
    seconds: float

    def summary(self) -> dict[str, object]:
        return {
            "tier": self.tier,
            **{p: _mean_std(v) for p, v in self.scores.items()},
            "sibling_loses": self.sibling_loses,
            "weak_loses": self.weak_loses,
            "strong_loses": self.strong_loses,
            "violation_costs": self.violation_costs,
            "seconds": round(self.seconds, 1),
        }


def _mean_std(v: Sequence[float]) -> str:
    if not v:
        return "n/a"
    return f"{statistics.mean(v):.1f} +- {statistics.pstdev(v):.1f} (n={len(v)})"


def validate(tier: str, n_tasks: int = 200, size: int = 64, seed: int = 0) -> Validation:
    """Score the six policies on the first ``n_tasks`` test tasks of ``tier``."""
    t0 = time.perf_counter()
    rng = random.Random(seed)
    tasks: list[Task] = list(test_tasks(tier))[:n_tasks]
    batch, refs = task_references(tasks, size)
    x, m, k = batch.pixels, batch.masks, batch.has_masks
    preserve = [t.preserved_regions() for t in tasks]
    judge = MeasuredJudge()

    def score(
        plans: Sequence[Sequence[ToolCall]], rows: Sequence[int] | None = None
    ) -> list[float]:
        rows = list(range(len(tasks))) if rows is None else list(rows)
        sel = torch.tensor(rows, dtype=torch.long)
        final = apply_plan(x[sel], plans, m[sel], k[sel])
        eps = [
            Episode(
                x[i], final[j], refs[i], tuple(plans[j]), 0, tasks[i].constraints, m[i], bool(k[i])
            )
            for j, i in enumerate(rows)
        ]
        return [s.overall for s in judge.score(eps)]

    oracle = [list(r.plan) for r in refs]
    tools = list(TOOLS)
    randoms = []
    for _ in tasks:
        plan = []
        for _ in range(rng.randint(1, 5)):
            tool = rng.choice(tools)
            plan.append(ToolCall(tool, rng.choice(TOOLS[tool]), round(rng.uniform(0.1, 1.0), 2)))
        randoms.append(plan)
    siblings = []
    for plan in oracle:
        plan = list(plan)
        if plan:
            j = rng.randrange(len(plan))
            c = plan[j]
            other = rng.choice([v for v in TOOLS[c.tool] if v != c.value])
            plan[j] = ToolCall(c.tool, other, c.strength, params=dict(c.params))
        siblings.append(plan)

    def scale(plan: Sequence[ToolCall], f: float) -> list[ToolCall]:
        return [
            ToolCall(
                c.tool,
                c.value,
                round(min(1.0, max(0.01, c.strength * f)), 2),
                params=dict(c.params),
            )
            for c in plan
        ]

    constrained = [i for i, p in enumerate(preserve) if p and oracle[i]]
    ignoring = [[ToolCall(c.tool, c.value, c.strength) for c in oracle[i]] for i in constrained]

    s = {
        "oracle": score(oracle),
        "no_edit": score([[] for _ in tasks]),
        "random": score(randoms),
        "sibling": score(siblings),
        "too_weak": score([scale(p, 0.4) for p in oracle]),
        "too_strong": score([scale(p, 1.8) for p in oracle]),
        "ignore_constraint": score(ignoring, constrained) if constrained else [],
    }
    room = [i for i, p in enumerate(oracle) if p and min(c.strength for c in p) < 0.55]
    share = lambda idx, other: sum(s[other][i] < s["oracle"][i] for i in idx) / max(1, len(idx))  # noqa: E731
    costs = sum(
        a < s["oracle"][i] for a, i in zip(s["ignore_constraint"], constrained, strict=True)
    )
    return Validation(
        tier=tier,
        scores=s,
        sibling_loses=share([i for i, p in enumerate(oracle) if p], "sibling"),
        weak_loses=share([i for i, p in enumerate(oracle) if p], "too_weak"),
        strong_loses=share(room, "too_strong"),
        violation_costs=costs / max(1, len(constrained)),
        seconds=time.perf_counter() - t0,
    )


def main(argv: Sequence[str] | None = None) -> list[dict[str, object]]:
    p = argparse.ArgumentParser(
        prog="python -m experiments.validate_judge", description=__doc__.splitlines()[0]
    )
    p.add_argument(
        "--tiers", nargs="+", default=["simple", "regular", "complex"], help="tiers to validate"
    )
    p.add_argument("--tasks", type=int, default=200, help="test tasks per tier (<= 200)")
    p.add_argument("--size", type=int, default=64, help="image size (the judge measures at 64)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random and sibling plans")
    p.add_argument("--json", help="also write the summaries to this JSON file")
    args = p.parse_args(argv)
    out = []
    for tier in args.tiers:
        v = validate(tier, args.tasks, args.size, args.seed)
        out.append(v.summary())
        print(f"\n== {tier} ({args.tasks} test tasks, {v.seconds:.0f} s)")
        for policy in POLICIES:
            print(f"  {policy:18s} {_mean_std(v.scores[policy])}")
        print(
            f"  sibling below oracle: {v.sibling_loses:.1%}   too weak below: {v.weak_loses:.1%}   "
            f"too strong below: {v.strong_loses:.1%}   ignoring a constraint costs: {v.violation_costs:.1%}"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
    return out


if __name__ == "__main__":
    main()
