"""Validate the measured judge adversarially: play the policies a reward hacker would try.

    python -m experiments.validate_judge --tiers simple regular complex --tasks 200
    python -m experiments.validate_judge --far 60      # also 60 tasks from far seeds
    python -m experiments.validate_judge --library v3  # tasks and calls of another library

For each task it renders the result of each policy below on the task's source, scores it with
:class:`styling_env.judge.MeasuredJudge` and prints the mean overall score per policy beside the
threshold the judge must meet (:data:`THRESHOLDS`). Policies that need a task property (two
calls, a conditional, a preserved region) run on the tasks that have it.

- ``oracle``: the oracle's own plan.
- ``oracle_library``: the same plan as the task's library states it
  (``styling_env.libraries.library_plan``: a kept geometric area as an ``exclude_region`` rule
  before the calls, played through the ``normal`` library's composer); ``--library`` only.
- ``no_edit``: nothing.
- ``random``: 1-5 uniformly random calls.
- ``best_constant``: the single call with the best mean score: every value at strength 0.6,
  then the :data:`CONSTANT_REFINE` best of them at each of :data:`CONSTANT_STRENGTHS` too.
- ``zero_strength``: every requested tool called at strength 0 (no pixel changes).
- ``half_done``: the more visible half of the changes done, the rest called at strength 0.
- ``wrong_conditional``: the conditional clause resolved the other way.
- ``strengths_swapped``: two calls' strengths swapped (only pairs that differ by >= 0.3).
- ``ignore_constraint``: the oracle's plan without its preserved regions.
- ``sibling``: one value swapped for another value of the same tool.
- ``off_0.1`` / ``off_0.2``: every strength off by 0.1 / 0.2 (up or down at random).
- ``too_weak`` / ``too_strong``: every strength x0.4 / x1.8.
- ``reordered``: the oracle's calls in a random other order (tasks with >= 2 calls), and
  ``reordered_visible``: those whose result still shows every change at its strength (each
  call's own effect in the reordered result, measured by leaving it out, is within 75%-133%
  of its effect in the oracle's order).

It also plays the reward a probing agent sees: the reward of a requested tool called at
strength 0, on the source and after the oracle's plan (``zero_reward_nonpositive``: the share of
those tries with reward <= 0).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from offline_data.safety import atomic_write, output_file
from styling_env.features import to_work_size
from styling_env.images.batch import check_size
from styling_env.judge import JUDGE_VERSION, Episode, MeasuredJudge
from styling_env.libraries import LIBRARY_NAMES, library_plan
from styling_env.libraries import library as get_library
from styling_env.library_tasks import library_test_tasks, sample_library_task
from styling_env.oracle import conditional_branches, solve_plans, task_references
from styling_env.tasks import TIERS, Task, test_tasks
from styling_env.tools import ToolCall, apply_calls
from styling_env.tools.compose import ComposeState, compose_step, is_modifier

#: policy -> (comparison, bound, what it says): the judge's contract.
THRESHOLDS: dict[str, tuple[str, float]] = {
    "oracle": (">=", 95),
    "oracle_library": (">=", 95),
    "no_edit": ("<=", 10),
    "random": ("<=", 15),
    "best_constant": ("<=", 15),
    "zero_strength": ("<=", float("nan")),  # no_edit + 2, filled in per tier
    "half_done": ("<=", 60),
    "wrong_conditional": ("<=", 50),
    "strengths_swapped": ("<=", 70),
    "ignore_constraint": ("<=", 50),
    "sibling": ("<=", 70),
    "off_0.1": (">=", 80),
    "off_0.2": (">=", 60),
    "reordered_visible": (">=", 85),
}
POLICIES = (
    "oracle", "oracle_library", "no_edit", "random", "best_constant", "zero_strength", "half_done",
    "wrong_conditional", "strengths_swapped", "ignore_constraint", "sibling", "off_0.1",
    "off_0.2", "too_weak", "too_strong", "reordered", "reordered_visible",
)  # fmt: skip
#: The best constant call: the values best at strength 0.6 tried again at these strengths.
CONSTANT_REFINE = 8
CONSTANT_STRENGTHS = (0.3, 1.0)
#: Share of strength-0 requested calls that must get a reward <= 0.
ZERO_REWARD_SHARE = 0.99
#: A reordered result shows a change when the call's own effect there is within this share
#: (and its inverse) of its effect in the oracle's order.
VISIBLE_SHARE = 0.75


@dataclass
class Validation:
    tier: str
    n_tasks: int
    scores: dict[str, list[float]]  # policy -> overall per task it applies to
    zero_reward_nonpositive: float  # share of strength-0 requested calls with reward <= 0
    sibling_loses: float  # share of tasks where the sibling plan scores below the oracle
    weak_loses: float
    strong_loses: float  # over tasks whose oracle strengths leave room to go stronger
    best_constant_call: str
    seconds: float

    def mean(self, policy: str) -> float:
        v = self.scores.get(policy) or []
        return statistics.mean(v) if v else float("nan")

    def checks(self) -> dict[str, tuple[float, str, float, bool]]:
        """policy -> (mean, comparison, bound, met); policies without tasks are left out."""
        out = {}
        for policy, (op, bound) in THRESHOLDS.items():
            if policy == "zero_strength":
                bound = self.mean("no_edit") + 2
            m = self.mean(policy)
            if m != m:  # no task has the property
                continue
            out[policy] = (m, op, bound, m >= bound if op == ">=" else m <= bound)
        share = self.zero_reward_nonpositive
        out["zero_reward_nonpositive"] = (
            share,
            ">=",
            ZERO_REWARD_SHARE,
            share >= ZERO_REWARD_SHARE,
        )
        return out

    def summary(self) -> dict[str, object]:
        return {
            "tier": self.tier,
            "tasks": self.n_tasks,
            "judge_version": JUDGE_VERSION,
            **{p: _mean_std(v) for p, v in self.scores.items()},
            "checks": {
                k: {"mean": round(v[0], 3), "op": v[1], "bound": round(v[2], 3), "met": v[3]}
                for k, v in self.checks().items()
            },  # fmt: skip
            "best_constant_call": self.best_constant_call,
            "sibling_loses": self.sibling_loses,
            "weak_loses": self.weak_loses,
            "strong_loses": self.strong_loses,
            "seconds": round(self.seconds, 1),
        }


def _mean_std(v: Sequence[float]) -> str:
    if not v:
        return "n/a"
    return f"{statistics.mean(v):.1f} +- {statistics.pstdev(v):.1f} (n={len(v)})"


def _far_tasks(tier: str, n: int, library: str = "v2") -> list[Task]:
    """Tasks from seeds far from any the project draws (7,000,000 + k, test templates)."""
    return [sample_library_task(tier, 7_000_000 + k, "test", library=library) for k in range(n)]


def validate(
    tier: str,
    n_tasks: int = 200,
    size: int = 64,
    seed: int = 0,
    far: bool = False,
    constants: bool = True,
    library: str = "v2",
) -> Validation:
    """Play every policy on the first ``n_tasks`` test tasks of ``tier`` in ``library`` (``far``:
    tasks from far seeds instead). ``constants=False`` skips the best-constant-call search
    (every value of the library)."""
    t0 = time.perf_counter()
    rng = random.Random(seed)
    lib = get_library(library)
    if far:
        tasks: list[Task] = _far_tasks(tier, n_tasks, library)
    elif library == "v2":
        tasks = list(test_tasks(tier))[:n_tasks]
    else:
        tasks = list(library_test_tasks(tier, library, n_tasks))
    batch, refs = task_references(tasks, size)
    x, m, k = batch.pixels, batch.masks, batch.has_masks
    judge = MeasuredJudge()
    oracle = [list(r.plan) for r in refs]
    every = list(range(len(tasks)))

    def play(
        plans: Sequence[Sequence[ToolCall]], rows: Sequence[int]
    ) -> tuple[torch.Tensor, list[list[float]]]:
        """Apply each plan to its row's source call by call; the results and each call's
        mean absolute change."""
        sel = torch.tensor(list(rows), dtype=torch.long)
        img, mm, kk = x[sel], m[sel], k[sel]
        effects: list[list[float]] = [[] for _ in rows]
        states = [ComposeState() for _ in rows]  # the normal library's rules, per plan
        for step in range(max((len(p) for p in plans), default=0)):
            calls = [p[step] if step < len(p) else None for p in plans]
            if library == "normal":
                new, errors = compose_step(img, calls, states, mm, kk)
                if any(errors):
                    raise RuntimeError(f"a policy played an invalid call: {errors}")
            else:
                new = apply_calls(img, calls, masks=mm, has_masks=kk)
            change = (new - img).abs().mean((1, 2, 3)).tolist()
            for j, c in enumerate(calls):
                if c is not None:
                    effects[j].append(change[j])
            img = new
        return img, effects

    def judged(plans: Sequence[Sequence[ToolCall]], rows: Sequence[int]) -> list:
        rows = list(rows)
        if not rows:
            return []
        final, effects = play(plans, rows)
        eps = [
            Episode(
                x[i], final[j], refs[i], tuple(plans[j]), 0, tasks[i].constraints, m[i],
                bool(k[i]), tuple(effects[j]),
            )
            for j, i in enumerate(rows)
        ]  # fmt: skip
        return judge.score(eps)

    def score(
        plans: Sequence[Sequence[ToolCall]], rows: Sequence[int] | None = None
    ) -> list[float]:
        return [s.overall for s in judged(plans, every if rows is None else rows)]

    def with_strengths(
        plan: Sequence[ToolCall], f: Callable[[int, float], float]
    ) -> list[ToolCall]:
        return [
            ToolCall(c.tool, c.value, round(min(1.0, max(0.0, f(j, c.strength))), 2),
                     c.region, params=dict(c.params))
            for j, c in enumerate(plan)
        ]  # fmt: skip

    s: dict[str, list[float]] = {p: [] for p in POLICIES}
    s["oracle"] = score(oracle)
    if library != "v2":
        s["oracle_library"] = score([library_plan(p, library) for p in oracle])
    s["no_edit"] = score([[] for _ in tasks])
    # the library's painting calls (its rules paint nothing on their own)
    paints = {a.tool: a.values for a in lib.actions if not is_modifier(a.tool)}
    tools = list(paints)
    randoms = []
    for _ in tasks:
        plan = []
        for _ in range(rng.randint(1, 5)):
            tool = rng.choice(tools)
            plan.append(ToolCall(tool, rng.choice(paints[tool]), round(rng.uniform(0.1, 1.0), 2)))
        randoms.append(plan)
    s["random"] = score(randoms)

    best_call = ""
    if constants:
        # every value at 0.6, then the best few at the other strengths too: an audit found
        # color_grading=pastel_soft at 1.0 above the bound on Regular where 0.6 stayed under it
        at_06 = {}
        for tool, value in ((t, v) for t, vs in paints.items() for v in vs):
            at_06[(tool, value)] = score([[ToolCall(tool, value, 0.6)] for _ in tasks])
        top = sorted(at_06, key=lambda k: statistics.mean(at_06[k]), reverse=True)[:CONSTANT_REFINE]
        tried = {(t, v, 0.6): sc for (t, v), sc in at_06.items()}
        for (tool, value), strength in ((k, x) for k in top for x in CONSTANT_STRENGTHS):
            tried[(tool, value, strength)] = score([[ToolCall(tool, value, strength)] for _ in tasks])  # fmt: skip
        (tool, value, strength), v = max(tried.items(), key=lambda kv: statistics.mean(kv[1]))
        best_call, s["best_constant"] = f"{tool}={value}@{strength:g}", v

    s["zero_strength"] = score([with_strengths(p, lambda j, v: 0.0) for p in oracle])

    # the more visible half done, the rest at strength 0
    halves, half_rows = [], []
    for i, (plan, r) in enumerate(zip(oracle, refs, strict=True)):
        if len(plan) < 2:
            continue
        size_k = (r.work[None] - r.without).abs().mean((1, 2, 3))
        keep = set(torch.argsort(size_k, descending=True)[: len(plan) // 2].tolist())
        halves.append(with_strengths(plan, lambda j, v, keep=keep: v if j in keep else 0.0))
        half_rows.append(i)
    s["half_done"] = score(halves, half_rows)

    # the conditional resolved the other way: the oracle's plan for the other branch
    wrong_targets, wrong_rows = [], []
    for i, t in enumerate(tasks):
        branches = conditional_branches(t, x[i])
        if not branches:
            continue
        targets = {tg.tool: tg for tg in t.targets}
        for chosen, other in branches:
            if chosen is not None:
                targets.pop(chosen.tool, None)
            if other is not None:
                targets[other.tool] = other
        wrong_targets.append(list(targets.values()))
        wrong_rows.append(i)
    if wrong_rows:
        sel = torch.tensor(wrong_rows)
        preserve = [tasks[i].preserved_regions() for i in wrong_rows]
        wrong_plans = solve_plans(x[sel], wrong_targets, m[sel], k[sel], preserve)
        s["wrong_conditional"] = score(wrong_plans, wrong_rows)

    swaps, swap_rows = [], []
    for i, plan in enumerate(oracle):
        pairs = [
            (a, b)
            for a in range(len(plan))
            for b in range(a + 1, len(plan))
            if abs(plan[a].strength - plan[b].strength) >= 0.3
        ]
        if pairs:
            a, b = rng.choice(pairs)
            st = {a: plan[b].strength, b: plan[a].strength}
            swaps.append(with_strengths(plan, lambda j, v, st=st: st.get(j, v)))
            swap_rows.append(i)
    s["strengths_swapped"] = score(swaps, swap_rows)

    constrained = [i for i, t in enumerate(tasks) if t.preserved_regions() and oracle[i]]
    ignoring = [
        [ToolCall(c.tool, c.value, c.strength, c.region) for c in oracle[i]] for i in constrained
    ]
    s["ignore_constraint"] = score(ignoring, constrained)

    siblings, sib_rows = [], []
    for i, plan in enumerate(oracle):
        if not plan:
            continue
        plan = list(plan)
        j = rng.randrange(len(plan))
        c = plan[j]
        other = rng.choice([v for v in paints[c.tool] if v != c.value])
        plan[j] = ToolCall(c.tool, other, c.strength, c.region, params=dict(c.params))
        siblings.append(plan)
        sib_rows.append(i)
    s["sibling"] = score(siblings, sib_rows)

    def off(d: float):
        def f(j: int, v: float) -> float:
            sign = rng.choice((-1, 1))
            if not 0.05 <= v + sign * d <= 1.0:
                sign = -sign
            return min(1.0, max(0.05, v + sign * d))

        return f

    for d in (0.1, 0.2):
        s[f"off_{d}"] = score([with_strengths(p, off(d)) for p in oracle])
    s["too_weak"] = score([with_strengths(p, lambda j, v: max(0.01, v * 0.4)) for p in oracle])
    s["too_strong"] = score([with_strengths(p, lambda j, v: v * 1.8) for p in oracle])

    # reorders, and which of them still show every change
    orders, order_rows = [], []
    for i, plan in enumerate(oracle):
        if len(plan) < 2:
            continue
        perm = list(range(len(plan)))
        while perm == sorted(perm):
            rng.shuffle(perm)
        orders.append([plan[j] for j in perm])
        order_rows.append(i)
    results = judged(orders, order_rows)
    s["reordered"] = [r.overall for r in results]
    if order_rows:
        final, _ = play(orders, order_rows)
        loo_plans, loo_rows, owner = [], [], []
        for j, (i, plan) in enumerate(zip(order_rows, orders, strict=True)):
            for q in range(len(plan)):
                loo_plans.append(plan[:q] + plan[q + 1 :])
                loo_rows.append(i)
                owner.append((j, plan[q].tool))
        loo, _ = play(loo_plans, loo_rows)
        shows = [True] * len(order_rows)
        fw, lw = to_work_size(final), to_work_size(loo)
        for n, (j, tool) in enumerate(owner):
            i = order_rows[j]
            kk = [c.tool for c in oracle[i]].index(tool)
            mine = float((fw[j] - lw[n]).abs().mean())
            theirs = float((refs[i].work - refs[i].without[kk]).abs().mean())
            if not VISIBLE_SHARE * theirs <= mine <= theirs / VISIBLE_SHARE:
                shows[j] = False
        s["reordered_visible"] = [r.overall for r, ok in zip(results, shows, strict=True) if ok]

    # the reward of a probing call: a requested tool at strength 0, on the source and after the
    # oracle's plan
    nonpositive, tries = 0, 0
    for prefix in ("source", "oracle"):
        plans, rows = [], []
        for i, plan in enumerate(oracle):
            for c in plan:
                zero = ToolCall(c.tool, c.value, 0.0, c.region, params=dict(c.params))
                before = list(plan) if prefix == "oracle" else []
                plans += [before, before + [zero]]
                rows += [i, i]
        scored = judged(plans, rows)
        for a, b in zip(scored[::2], scored[1::2], strict=True):
            tries += 1
            nonpositive += (b.overall - a.overall) / 20.0 <= 0
    room = [i for i, p in enumerate(oracle) if p and min(c.strength for c in p) < 0.55]
    with_plan = [i for i, p in enumerate(oracle) if p]

    def loses(idx: Sequence[int], other: str, rows: Sequence[int] | None = None) -> float:
        rows = list(every if rows is None else rows)
        pos = {i: j for j, i in enumerate(rows)}
        idx = [i for i in idx if i in pos]
        return sum(s[other][pos[i]] < s["oracle"][i] for i in idx) / max(1, len(idx))

    return Validation(
        tier=tier,
        n_tasks=len(tasks),
        scores=s,
        zero_reward_nonpositive=nonpositive / max(1, tries),
        sibling_loses=loses(with_plan, "sibling", sib_rows),
        weak_loses=loses(with_plan, "too_weak"),
        strong_loses=loses(room, "too_strong"),
        best_constant_call=best_call,
        seconds=time.perf_counter() - t0,
    )


def table(validations: Sequence[Validation]) -> str:
    """A Markdown table: one row per policy, one column per validation (tier), with the bound
    and whether every column meets it."""
    head = "| policy | bound | " + " | ".join(v.tier for v in validations)
    lines = [head + " |", "|---|---|" + "---:|" * len(validations)]
    for policy in (*POLICIES, "zero_reward_nonpositive"):
        cells, bound, ok = [], "", True
        for v in validations:
            checks = v.checks()
            if policy == "zero_reward_nonpositive":
                mean = v.zero_reward_nonpositive
                cells.append(f"{100 * mean:.1f}%")
            else:
                mean = v.mean(policy)
                cells.append("–" if mean != mean else f"{mean:.1f}")
            if policy in checks:
                _, op, b, met = checks[policy]
                ok &= met
                bound = (
                    f"{op} no edit + 2"
                    if policy == "zero_strength"
                    else f"{op} {100 * b:.0f}%"
                    if policy == "zero_reward_nonpositive"
                    else f"{op} {b:g}"
                )
        mark = "" if not bound else (" ✓" if ok else " ✗")
        lines.append(f"| {policy} | {bound}{mark} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> list[dict[str, object]]:
    p = argparse.ArgumentParser(
        prog="python -m experiments.validate_judge", description=__doc__.splitlines()[0]
    )
    p.add_argument(
        "--tiers", nargs="+", default=["simple", "regular", "complex"], choices=TIERS,
        help="tiers to validate",
    )  # fmt: skip
    p.add_argument("--tasks", type=int, default=200, help="test tasks per tier (<= 200)")
    p.add_argument("--far", type=int, default=0, help="also this many tasks from far seeds")
    p.add_argument("--size", type=int, default=64, help="image size")
    p.add_argument("--seed", type=int, default=0, help="seed of the random policies")
    p.add_argument(
        "--library", default="v2", choices=LIBRARY_NAMES, help="the tasks' action library"
    )
    p.add_argument("--json", help="also write the summaries to this JSON file")
    args = p.parse_args(argv)
    if not 1 <= args.tasks <= 200:
        p.error(f"--tasks must be in [1, 200], got {args.tasks}")
    if args.far < 0:
        p.error(f"--far must be >= 0, got {args.far}")
    try:  # before any work: a bad --size or an unwritable --json is named, not a traceback
        check_size(args.size, "--size")
        if args.json:
            output_file(args.json, "--json")
    except (ValueError, OSError) as e:
        p.error(str(e))
    out, vals = [], []
    for tier in args.tiers:
        runs = [(tier, False, args.tasks)] + ([(f"{tier} far", True, args.far)] if args.far else [])
        for name, far, n in runs:
            v = validate(tier, n, args.size, args.seed, far=far, library=args.library)
            v.tier = name
            vals.append(v)
            out.append(v.summary())
            print(
                f"{name}: {v.n_tasks} tasks, {v.seconds:.0f} s, best constant call {v.best_constant_call}"
            )
    print(
        f"\njudge v{JUDGE_VERSION}, library {args.library}, {args.size} px, mean overall per "
        "policy\n"
    )
    print(table(vals))
    if args.json:
        text = json.dumps(out, indent=2)
        try:
            atomic_write(args.json, lambda tmp: tmp.write_text(text))
        except OSError as e:  # the disk filled up during the run
            p.exit(1, f"error: {e}\n")
    return out


if __name__ == "__main__":
    main()
