"""Where the planner loses: a per-target error breakdown of evaluated episodes.

    python -m experiments.breakdown runs/benchmark/paper/results.json --tier complex --method rw
    python -m experiments.breakdown my_eval.json          # a file of python -m agents.evaluate --out

A score says how much a planner lost, not where. This module diagnoses each test episode by
what its result *shows*, target by target. For each call of the oracle's plan (the task's
targets with the conditional clauses resolved on the source, as the oracle resolves them):

- ``tool_missed``: no call of that tool;
- ``wrong_value``: the tool was called, but never with the requested value (a sibling value;
  the values called are kept);
- ``too_weak`` / ``too_strong``: the right value, but the change the result shows is off by
  more than :data:`STRENGTH_TOLERANCE` strength units: the judge's own measure,
  ``s (a - 1)`` with ``s`` the oracle's strength and ``a`` how much of the change the result
  shows (:func:`styling_env.judge.decompose`: 1 as the reference, 0 as if left out). A change
  undone by a later call counts here too: what is measured is the picture, not the log;
- ``ok``: the right value at the right strength (or a change this source cannot show, which
  the judge does not score either).

And per episode: the tools called that the request does not ask for (``extra_tools``; a call
of a ruled-out conditional branch is counted as that, not here), each conditional clause
resolved the wrong way (the ruled-out branch called, or the branch the source calls for not
done), the constraints the judge found broken, by kind, and invalid, repeated and idle calls.

The measurements come from the episode records: :func:`agents.evaluate.run_episodes` stores
them (``visible``). Records from before that field are replayed in the environment, which is
deterministic given the task, the seed and the calls (:func:`ensure_visible`).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agents.evaluate import decode_call, run_episodes
from styling_env.tools import ToolCall
from styling_env.validation import positive_int

from .checks import BadFileError, check_episodes, check_results, read_json

#: A right-value target whose visible change is off by more than this many strength units is
#: too weak or too strong. At 0.15 the judge's change credit is still 0.93 of full
#: (:func:`styling_env.judge.change_credit`: 0.98 at 0.1, 0.79 at 0.2, 0.30 at 0.3): beyond it
#: the strength error starts to cost real points.
STRENGTH_TOLERANCE = 0.15

#: Target outcomes, in the order tables show them.
OUTCOMES: tuple[str, ...] = ("ok", "tool_missed", "wrong_value", "too_weak", "too_strong")

#: Constraint kinds, in the order tables show them (the judge's violation names start with one).
CONSTRAINT_KINDS: tuple[str, ...] = (
    "preserve_region", "preserve_subject", "keep_photorealistic", "avoid_tool",
)  # fmt: skip

#: A replayed episode whose overall score differs from the stored one by more than this did not
#: reproduce (another image size or test set than the run's).
REPLAY_TOLERANCE = 0.5


@dataclass(frozen=True)
class TargetOutcome:
    """One requested change of an episode and what became of it.

    ``strength`` is the oracle's strength for this source; ``along`` how much of the change the
    result shows; ``error`` the signed strength error ``strength * (along - 1)`` of a
    right-value call (None otherwise, or when this source cannot show the change); ``called``
    the values the planner called this tool with.
    """

    tool: str
    value: str
    strength: float
    outcome: str
    along: float | None
    error: float | None
    called: tuple[str, ...]


@dataclass(frozen=True)
class ClauseOutcome:
    """One conditional clause: the branch the source calls for (``chosen``, ``(tool, value)``
    or None for "nothing"), the one it rules out (``other``), whether the chosen one was called
    with its value (``chosen_done``), whether the ruled-out one was called (``other_called``),
    and how much of the ruled-out change the result shows (``shown``; None: not measured, the
    source asked for nothing else)."""

    chosen: tuple[str, str] | None
    other: tuple[str, str] | None
    chosen_done: bool
    other_called: bool
    shown: float | None

    @property
    def wrong_branch(self) -> bool:
        return self.other_called or not self.chosen_done


@dataclass(frozen=True)
class Diagnosis:
    """One episode, diagnosed (see the module docstring)."""

    task_id: str
    seed: int
    overall: float
    targets: tuple[TargetOutcome, ...]
    clauses: tuple[ClauseOutcome, ...]
    extra_tools: tuple[str, ...]
    constraints: tuple[str, ...]
    broken: tuple[str, ...]
    invalid: int
    repeated: int
    idle: int

    @property
    def conditional_wrong_branch(self) -> bool:
        return any(c.wrong_branch for c in self.clauses)


def _kind(name: str) -> str:
    """The constraint kind of a judge violation name (``preserve_region:sky`` -> its kind)."""
    return name.split(":", 1)[0]


def _calls(episode: Mapping[str, Any]) -> list[ToolCall]:
    """The valid tool calls of a stored episode, in order."""
    return [a for a in map(decode_call, episode.get("calls") or []) if isinstance(a, ToolCall)]


def diagnose(episode: Mapping[str, Any], tolerance: float = STRENGTH_TOLERANCE) -> Diagnosis:
    """The per-target diagnosis of one stored episode (a record of
    :func:`agents.evaluate.run_episodes`, with its ``visible`` measurements).

    Raises:
        ValueError: the record lacks ``visible`` (replay it first: :func:`ensure_visible`), or
            its measurements do not match its oracle plan; ``tolerance`` is not positive.
    """
    if not tolerance > 0:
        raise ValueError(f"tolerance must be a positive number of strength units, got {tolerance!r}")  # fmt: skip
    vis = episode.get("visible")
    if not isinstance(vis, Mapping):
        raise ValueError(
            f"episode {episode.get('task_id')!r} has no 'visible' measurements (recorded by "
            "agents.evaluate since the per-target breakdown): replay it with ensure_visible"
        )
    plan = [ToolCall.from_dict(d) for d in episode.get("oracle_plan") or []]
    along, measurable = list(vis["along"]), list(vis["measurable"])
    if plan and (len(along) != len(plan) or len(measurable) != len(plan)):
        raise ValueError(
            f"episode {episode.get('task_id')!r}: {len(along)} measurements for an oracle plan "
            f"of {len(plan)} calls"
        )
    calls = _calls(episode)
    called: dict[str, list[str]] = defaultdict(list)
    for c in calls:
        called[c.tool].append(c.value)
    targets = []
    for k, t in enumerate(plan):
        values = tuple(dict.fromkeys(called.get(t.tool, ())))
        a = float(along[k]) if along else None
        err = None
        if not values:
            outcome = "tool_missed"
        elif t.value not in values:
            outcome = "wrong_value"
        elif a is None or not measurable[k]:
            outcome = "ok"  # nothing this source can show: the judge does not score it
        else:
            err = float(t.strength) * (a - 1.0)
            outcome = "too_weak" if err < -tolerance else "too_strong" if err > tolerance else "ok"
        targets.append(TargetOutcome(t.tool, t.value, float(t.strength), outcome, a, err, values))
    made = {(c.tool, c.value) for c in calls}
    by_tool = {t.tool: t for t in targets}
    clauses, ruled_out = [], set()
    for cl in vis.get("clauses") or []:
        chosen = None if cl["chosen"] is None else (cl["chosen"]["tool"], cl["chosen"]["value"])
        other = None if cl["other"] is None else (cl["other"]["tool"], cl["other"]["value"])
        if other is not None:
            ruled_out.add(other)
        done = chosen is None or (
            chosen[0] in by_tool
            and by_tool[chosen[0]].outcome not in ("tool_missed", "wrong_value")
        )
        shown = None if cl.get("shown") is None else float(cl["shown"])
        clauses.append(ClauseOutcome(chosen, other, done, other in made, shown))
    wanted = {t.tool for t in plan}
    extra = tuple(
        dict.fromkeys(
            c.tool for c in calls if c.tool not in wanted and (c.tool, c.value) not in ruled_out
        )
    )
    violations = episode.get("violations") or []
    if isinstance(violations, str):  # an env info's comma-joined form
        violations = [v for v in violations.split(",") if v]
    tools = [c.tool for c in calls]
    return Diagnosis(
        str(episode.get("task_id")), int(episode.get("seed", 0)), float(episode.get("overall", 0.0)),
        tuple(targets), tuple(clauses), extra, tuple(vis.get("constraints") or ()),
        tuple(violations), int(episode.get("invalid_calls", 0)), len(tools) - len(set(tools)),
        int(vis.get("idle", 0)),
    )  # fmt: skip


@dataclass(frozen=True)
class Summary:
    """Diagnoses of a group of episodes (a method on a tier, over its seeds), aggregated.

    ``outcomes``: share of the requested targets per outcome; ``strength_error``: the mean
    signed strength error of the right-value targets (negative: too weak on average) and
    ``abs_error`` its mean magnitude; ``extra_tool``, ``wrong_branch``: share of episodes with
    an unrequested tool, and of the episodes with a conditional clause that resolved one the
    wrong way; ``constraints``: per kind, ``(episodes with one, share of all episodes that
    broke one, share of those with one that broke it)``; ``invalid``, ``repeated``, ``idle``:
    calls per episode.
    """

    episodes: int
    targets: int
    outcomes: dict[str, float]
    strength_error: float
    abs_error: float
    extra_tool: float
    clause_episodes: int
    wrong_branch: float
    constraints: dict[str, tuple[int, float, float]]
    invalid: float
    repeated: float
    idle: float


def summarize(diagnoses: Sequence[Diagnosis]) -> Summary:
    """Aggregate :func:`diagnose` results (see :class:`Summary`).

    Raises:
        ValueError: no diagnoses.
    """
    if not diagnoses:
        raise ValueError("no episodes to summarize")
    ts = [t for d in diagnoses for t in d.targets]
    counts = Counter(t.outcome for t in ts)
    errs = [t.error for t in ts if t.error is not None]
    n = len(diagnoses)
    with_clause = [d for d in diagnoses if d.clauses]
    constraints = {}
    for kind in CONSTRAINT_KINDS:
        had = [d for d in diagnoses if any(_kind(c) == kind for c in d.constraints)]
        broke = [d for d in diagnoses if any(_kind(v) == kind for v in d.broken)]
        if had or broke:
            constraints[kind] = (len(had), len(broke) / n, len(broke) / len(had) if had else float("nan"))  # fmt: skip
    return Summary(
        n, len(ts), {o: counts[o] / len(ts) if ts else float("nan") for o in OUTCOMES},
        float(np.mean(errs)) if errs else float("nan"),
        float(np.mean(np.abs(errs))) if errs else float("nan"),
        float(np.mean([bool(d.extra_tools) for d in diagnoses])),
        len(with_clause),
        float(np.mean([d.conditional_wrong_branch for d in with_clause])) if with_clause else float("nan"),  # fmt: skip
        constraints,
        float(np.mean([d.invalid for d in diagnoses])),
        float(np.mean([d.repeated for d in diagnoses])),
        float(np.mean([d.idle for d in diagnoses])),
    )  # fmt: skip


def per_tool(diagnoses: Sequence[Diagnosis]) -> dict[str, dict[str, Any]]:
    """Per requested tool: how many targets, the share per outcome, the mean signed strength
    error of its right-value targets and the most frequent wrong values (``target -> called``)."""
    out: dict[str, dict[str, Any]] = {}
    groups: dict[str, list[TargetOutcome]] = defaultdict(list)
    for d in diagnoses:
        for t in d.targets:
            groups[t.tool].append(t)
    for tool, ts in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        counts = Counter(t.outcome for t in ts)
        errs = [t.error for t in ts if t.error is not None]
        swaps = Counter(
            f"{t.value} -> {'/'.join(t.called)}" for t in ts if t.outcome == "wrong_value"
        )
        out[tool] = {
            "targets": len(ts),
            **{o: counts[o] / len(ts) for o in OUTCOMES},
            "strength_error": float(np.mean(errs)) if errs else float("nan"),
            "swaps": swaps.most_common(3),
        }
    return out


# --------------------------------------------------------------------------------------------
# Episodes from before the measurements were stored: replayed


class ReplayAgent:
    """Plays stored episodes' calls again, in the order :func:`agents.evaluate.run_episodes`
    starts their tasks (it must be given the episodes' tasks in the same order)."""

    name = "replay"

    def __init__(self, episodes: Sequence[Mapping[str, Any]]) -> None:
        self._ids = [str(e["task_id"]) for e in episodes]
        self._calls = [[decode_call(c) for c in e.get("calls") or []] for e in episodes]
        self._next = 0
        self._slot: dict[int, deque[Any]] = {}

    def begin_episodes(self, slots: Sequence[int], tasks: Sequence[Any], plans: Any) -> None:
        for i, task in zip(slots, tasks, strict=True):
            k = self._next
            if task.task_id != self._ids[k]:
                raise ValueError(f"replay out of order: task {task.task_id!r}, expected {self._ids[k]!r}")  # fmt: skip
            self._slot[i] = deque(self._calls[k])
            self._next += 1

    def predict(self, observation, state=None, episode_start=None, deterministic=True):
        from styling_env.engine import Stop

        n = len(observation["steps_left"])
        return [self._slot[i].popleft() if self._slot.get(i) else Stop() for i in range(n)], state


def ensure_visible(
    episodes: Sequence[Mapping[str, Any]], tier: str, image_size: int, n_tasks: int,
    num_envs: int = 50,
) -> tuple[list[dict[str, Any]], int]:  # fmt: skip
    """``episodes`` with their ``visible`` measurements: stored ones as they are, the others
    replayed in the environment (the tier's first ``n_tasks`` test tasks at ``image_size``, as
    the benchmark evaluated them). Returns the episodes and how many replays did not reproduce
    the stored overall score (within :data:`REPLAY_TOLERANCE`).

    Raises:
        ValueError: an episode to replay is not one of those test tasks, or has no calls.
    """
    from styling_env.tasks import test_tasks

    out = [dict(e) for e in episodes]
    todo = [i for i, e in enumerate(out) if not isinstance(e.get("visible"), Mapping)]
    if not todo:
        return out, 0
    tasks = {t.task_id: t for t in test_tasks(tier, n_tasks)}
    for i in todo:
        e = out[i]
        if e.get("task_id") not in tasks:
            raise ValueError(f"episode task {e.get('task_id')!r} is not among {tier}'s first {n_tasks} test tasks")  # fmt: skip
        if not isinstance(e.get("calls"), list):
            raise ValueError(f"episode {e['task_id']!r} has no stored calls to replay")
    mismatched = 0
    by_seed: dict[int, list[int]] = defaultdict(list)
    for i in todo:
        by_seed[int(out[i].get("seed", 0))].append(i)
    for seed, idx in by_seed.items():
        eps = [out[i] for i in idx]
        steps = max([8, *(len(e["calls"]) for e in eps)])
        again = run_episodes(
            ReplayAgent(eps), [tasks[e["task_id"]] for e in eps], tier=tier, seed=seed,
            image_size=image_size, num_envs=num_envs, max_steps=steps,
        )  # fmt: skip
        for i, r in zip(idx, again, strict=True):
            if abs(float(r["overall"]) - float(out[i].get("overall", r["overall"]))) > REPLAY_TOLERANCE:  # fmt: skip
                mismatched += 1
            out[i]["visible"] = r["visible"]
            out[i].setdefault("oracle_plan", r["oracle_plan"])
    return out, mismatched


# --------------------------------------------------------------------------------------------
# Tables


def _pct(x: float) -> str:
    return "–" if x != x else f"{100 * x:.0f}%"


def _signed(x: float) -> str:
    return "–" if x != x else f"{x:+.2f}"


def summary_table(rows: Sequence[tuple[str, Summary]]) -> str:
    """A markdown table, one row per ``(label, summary)``: share of targets per outcome, mean
    signed strength error, share of episodes with an extra tool, a wrong conditional branch
    (of those with a clause) and a broken constraint per kind present, invalid calls."""
    kinds = [k for k in CONSTRAINT_KINDS if any(k in s.constraints for _, s in rows)]
    head = ["method", "episodes", "targets", "ok", "tool missed", "wrong value", "too weak",
            "too strong", "strength error", "abs. error", "extra tool", "wrong branch",
            *(f"broke {k}" for k in kinds), "invalid / ep"]  # fmt: skip
    body = []
    for label, s in rows:
        branch = f"{_pct(s.wrong_branch)} of {s.clause_episodes}" if s.clause_episodes else "–"
        cons = []
        for k in kinds:
            had, share, of_had = s.constraints.get(k, (0, float("nan"), float("nan")))
            cons.append(f"{_pct(of_had)} of {had}" if had else _pct(share))
        body.append(
            [
                label,
                str(s.episodes),
                str(s.targets),
                *(_pct(s.outcomes[o]) for o in OUTCOMES),
                _signed(s.strength_error),
                "–" if s.abs_error != s.abs_error else f"{s.abs_error:.2f}",
                _pct(s.extra_tool),
                branch,
                *cons,
                f"{s.invalid:.2f}",
            ]  # fmt: skip
        )
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in body])


#: A clause whose predicate's measure on the source lies within this of its threshold is "near"
#: (a close call for the planner's 64 px view as for a person); farther, it is "clear".
NEAR_THRESHOLD = 0.05


def episode_task(episode: Mapping[str, Any]) -> Any:
    """The generated task an episode record names (an id ``<tier>-train-<seed>`` or
    ``<tier>-test-<seed>`` whose task has the record's words), else None (a free-text, another
    library's or a user's task)."""
    from styling_env.tasks import TIERS, sample_task

    tid, words = str(episode.get("task_id", "")), episode.get("instruction")
    for split in ("train", "test"):
        tier, sep, seed = tid.partition(f"-{split}-")
        if sep and tier in TIERS and seed.isdigit():
            task = sample_task(tier, int(seed), split)
            return task if words is None or task.instruction == words else None
    return None


def predicate_margin(predicate: str, image: Any) -> float:
    """How far inside (> 0) or outside (< 0) its rules ``predicate``'s measures of ``image``
    ``(3, H, W)`` lie: the smallest signed distance to a threshold
    (:data:`styling_env.predicates.PREDICATE_RULES`)."""
    from styling_env.predicates import PREDICATE_RULES, image_measures

    m = image_measures(image)
    return min((m[k] - t) * (1 if op == ">" else -1) for k, op, t in PREDICATE_RULES[predicate])


def clause_table(
    groups: Mapping[str, tuple[Sequence[Mapping[str, Any]], Sequence[Diagnosis]]],
) -> str:
    """Per method (``label -> (episodes, their diagnoses)``): the share of its conditional
    clauses resolved the wrong way, in all, clear and near (:data:`NEAR_THRESHOLD`), where the
    predicate holds and where not, and per predicate, the predicate measured on the task's
    128 px source (as the oracle resolves it at the environment's default size). Episodes
    whose task cannot be drawn again (:func:`episode_task`) are left out."""
    preds = ("dark", "bright", "warm", "cool", "colorful", "muted", "has_sky")
    head = ["method", "clauses", "wrong", "clear", "near", "holds", "not", *preds]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" + "---:|" * (len(head) - 1)]
    sources: dict[str, Any] = {}
    for label, (episodes, diagnoses) in groups.items():
        by: dict[str, list[bool]] = defaultdict(list)
        for e, d in zip(episodes, diagnoses, strict=True):
            task = episode_task(e)
            if task is None or not d.clauses:
                continue
            if task.task_id not in sources:
                sources[task.task_id] = task.source_image().pixels[0]
            for cond, outcome in zip(task.conditionals, d.clauses, strict=False):
                margin = predicate_margin(cond.predicate, sources[task.task_id])
                w = outcome.wrong_branch
                for key in ("all", "near" if abs(margin) < NEAR_THRESHOLD else "clear",
                            "holds" if margin > 0 else "not", cond.predicate):  # fmt: skip
                    by[key].append(w)
        cells = [label, str(len(by["all"]))]
        for key in ("all", "clear", "near", "holds", "not", *preds):
            v = by.get(key)
            cells.append(f"{_pct(float(np.mean(v)))} of {len(v)}" if v else "–")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def tool_table(diagnoses: Sequence[Diagnosis]) -> str:
    """A markdown table of :func:`per_tool`."""
    head = ["tool", "targets", *(o.replace("_", " ") for o in OUTCOMES), "strength error",
            "most frequent wrong values"]  # fmt: skip
    body = []
    for tool, r in per_tool(diagnoses).items():
        swaps = "; ".join(f"{s} ({n})" for s, n in r["swaps"]) or "–"
        body.append([tool, str(r["targets"]), *(_pct(r[o]) for o in OUTCOMES),
                     _signed(r["strength_error"]), swaps])  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in body])


NOTE = (
    "Per requested target (the task's targets with conditional clauses resolved on the source, "
    "as the oracle resolves them): ok; tool missed (no call of the tool); wrong value (the tool "
    "called with another value); too weak / too strong (the right value, but the change the "
    f"result shows is off by more than {STRENGTH_TOLERANCE} strength units, the judge's own "
    "measure); strength error and abs. error: the mean signed and absolute error, in strength "
    "units, of the right-value targets. Per episode: an unrequested tool called; a "
    "conditional clause resolved the wrong way (share of the episodes with a clause); a "
    "constraint broken, by kind (share of the episodes with one); invalid calls. All seeds "
    "together."
)


# --------------------------------------------------------------------------------------------
# Results files


def load_groups(
    path: str | Path, study: str = "main"
) -> tuple[dict[tuple[str, str], list[dict[str, Any]]], int, int]:
    """The episodes of a benchmark ``results.json`` per ``(tier, method)`` of ``study`` (all
    seeds), or of one ``python -m agents.evaluate --out`` file; with the image size and number
    of test tasks they were evaluated at (what a replay needs).

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file is neither kind, or holds no episodes of ``study``.
    """
    path = Path(path)
    data = read_json(path, "results file")
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    if isinstance(data, dict) and "cells" in data:
        data = check_results(data, path)  # FILE: not a benchmark results file (why)
        preset = data.get("preset", {})
        for c in sorted(data["cells"], key=lambda c: c.get("seed", 0)):
            if c.get("study") == study and c.get("episodes"):
                groups[(c["tier"], c["method"])] += c["episodes"]
        size, n = int(preset.get("image_size", 128)), int(preset.get("eval_tasks", 200))
    elif isinstance(data, dict) and {"agent", "tier", "episodes"} <= set(data):
        size, n = data.get("image_size", 128), data.get("n_tasks", 200)
        try:
            if not isinstance(data["tier"], str):
                raise ValueError(f"tier must be a string, got {data['tier']!r}")
            for name, v in (("image_size", size), ("n_tasks", n)):
                positive_int(name, v)
            eps = check_episodes(data["episodes"], "episodes")
        except ValueError as e:
            raise BadFileError(f"{path}: not an evaluation file ({e})") from None
        groups[(data["tier"], str(data["agent"]))] = list(eps)
    else:
        raise ValueError(
            f"{path} is neither a benchmark results file (no 'cells') nor an evaluation file of "
            "python -m agents.evaluate --out (no 'agent', 'tier', 'episodes')"
        )
    if not groups:
        raise ValueError(f"{path} holds no episodes of the {study!r} study")
    return dict(groups), size, n


def diagnose_group(
    episodes: Sequence[Mapping[str, Any]], tier: str, image_size: int, n_tasks: int,
    tolerance: float = STRENGTH_TOLERANCE,
) -> tuple[list[Diagnosis], int]:  # fmt: skip
    """Every episode of a group diagnosed (replayed first where it has no measurements), and
    how many replays did not reproduce the stored score."""
    eps, mismatched = ensure_visible(episodes, tier, image_size, n_tasks)
    return [diagnose(e, tolerance) for e in eps], mismatched


def loss_section(
    results: Mapping[str, Any], picks: Mapping[str, Sequence[str]], study: str = "main"
) -> dict[str, str]:
    """The report's "where the planner loses" tables: per tier, :func:`summary_table` of the
    methods ``picks[tier]`` (the best offline method, then the methods shown beside it for
    reference). Cells whose episodes can be neither read nor replayed (hand-made results, a
    test set this code no longer draws) are left out; a tier with none left has no table."""
    from agents.registry import METHODS

    preset = results.get("preset", {})
    size, n = int(preset.get("image_size", 128)), int(preset.get("eval_tasks", 200))
    out = {}
    for tier, methods in picks.items():
        rows = []
        for m in methods:
            eps = [
                e
                for c in sorted(results.get("cells", []), key=lambda c: c.get("seed", 0))
                if c.get("study") == study and c.get("tier") == tier and c.get("method") == m
                for e in c.get("episodes") or []
            ]
            if not eps:
                continue
            try:
                ds, _ = diagnose_group(eps, tier, image_size=size, n_tasks=n)
            except (ValueError, KeyError):
                continue
            rows.append((METHODS.get(m, (m,))[0], summarize(ds)))
        if rows:
            out[tier] = summary_table(rows)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m experiments.breakdown", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("results", type=Path, help="a benchmark results.json or an evaluation file")
    p.add_argument("--tier", default=None, help="only this tier")
    p.add_argument("--method", default=None, help="only this method; also a per-tool table")
    p.add_argument("--study", default="main")
    p.add_argument("--tolerance", type=float, default=STRENGTH_TOLERANCE,
                   help="strength units beyond which a right-value target is too weak/strong")  # fmt: skip
    p.add_argument("--clauses", action="store_true",
                   help="also the conditional clauses resolved the wrong way, per predicate and "
                        "by how clear the source's case is")  # fmt: skip
    a = p.parse_args(argv)
    try:
        groups, size, n = load_groups(a.results, a.study)
        keys = [k for k in groups if (a.tier in (None, k[0])) and (a.method in (None, k[1]))]
        if not keys:
            raise ValueError(
                f"no episodes of tier {a.tier or 'any'} and method {a.method or 'any'} in "
                f"{a.results} (it has {', '.join(sorted('/'.join(k) for k in groups))})"
            )
        from agents.registry import METHODS

        for tier in dict.fromkeys(k[0] for k in keys):
            rows, per_method, clauses = [], {}, {}
            for t, m in keys:
                if t != tier:
                    continue
                try:
                    ds, bad = diagnose_group(groups[(t, m)], t, size, n, a.tolerance)
                except (ValueError, KeyError, TypeError, AttributeError) as e:  # bad episodes
                    why = str(e) if type(e) is ValueError else f"{type(e).__name__}: {e}"
                    raise BadFileError(
                        f"{a.results}: cannot diagnose the {t}/{m} episodes ({why})"
                    ) from None
                if bad:
                    print(f"warning: {bad} replayed {m} episodes did not reproduce their stored score", file=sys.stderr)  # fmt: skip
                label = METHODS.get(m, (m,))[0]
                rows.append((label, summarize(ds)))
                per_method[m] = ds
                clauses[label] = (groups[(t, m)], ds)
            print(f"## {tier}\n\n{summary_table(rows)}\n")
            if a.clauses:
                print(f"### Conditional clauses on {tier}: resolved the wrong way\n\n{clause_table(clauses)}\n")  # fmt: skip
            if a.method is not None:
                print(f"### {a.method} on {tier}, per tool\n\n{tool_table(per_method[a.method])}\n")  # fmt: skip
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
