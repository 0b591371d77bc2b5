"""Counterfactual sources for conditional clauses: rows where only the picture decides the branch.

A Complex request may hold a clause such as "if it's already dark, go for moonlit night;
otherwise, go for dusk": which call is right depends on the source image. Measured on RW's
seed-0 planner of the canonical Complex tier (``experiments``-free: the rows below and
``python -m agents.evaluate MODEL --tier complex --split train``): on the training rows where
the teacher calls a clause's tool, the planner picks the branch the source calls for 93% of the
time (the teacher 96%), but on new tasks drawn from the same training distribution it takes the
wrong branch in 45% of the episodes with a clause (32% on the held-out test set), near chance on
the colour predicates. Each request is unique in the data (its hashed words single it out) and
its two episodes share one source, so the cheapest fit is to remember each request's branch,
not to read the predicate from the picture.

:func:`with_counterfactuals` adds rows that break that shortcut. For each training row where
the teacher calls a clause's tool with the branch its own source calls for (clauses whose two
branches are both calls of that tool), it adds ``n`` rows with the same request, history, step
and weight, on **another source of the same dataset's training tasks whose predicate resolves
the other way**, answered by the other branch. The row shows what the environment would have
shown: the new source, the current image (the history's calls replayed on it at the dataset's
image size, then converted and shrunk as the dataset's own images are), its Stage-1 context,
and as the action the other branch's value at the strength the oracle solves for it on that
source (:func:`styling_env.oracle.solve_plans`), with the row's own region and preserved
regions. The same request now comes with both answers, and only the picture tells them apart.

What it does not do: it adds no row for a clause with a "leave it" branch (flipping it would
remove or insert a call, which changes the rest of the trajectory), nor for a row where the
teacher took the wrong branch; the rows carry no reward of their own (``reward`` is the
original row's: the weighted methods S, RL, RW and SW read only the trajectory's weight, which is
why only they take counterfactual rows). Sources come from the data's own training tasks: no
test image is ever drawn. The rows are built for the default ``v2`` library's data (another
library's data is refused by name).
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from typing import Any, NamedTuple

import numpy as np
import torch

from agents.qwen.prompting import history_calls
from offline_data.loaders import StepTensors
from styling_env.actions import FlatActions, preserve_names
from styling_env.context import LibraryContext
from styling_env.images import ImageBatch
from styling_env.libraries import library as get_library
from styling_env.oracle import solve_plans
from styling_env.predicates import PREDICATES
from styling_env.rewording import generated_train_task
from styling_env.tasks import Conditional, Target, Task
from styling_env.tools import apply_plan
from styling_env.validation import positive_int

from .model import resize_images

__all__ = [
    "POOL", "Pick", "clause_rows", "counterfactual_picks", "train_tasks", "with_counterfactuals",
]  # fmt: skip

#: Distinct training tasks whose sources make the pool the counterfactual sources are drawn from.
POOL = 1024
#: Images rendered, replayed and measured per batch (128 px: ~200 MB of working tensors).
_CHUNK = 256


def _both_calls(task: Task | None) -> Conditional | None:
    """The task's clause when both its branches are calls (of one tool), else None."""
    if task is None or not task.conditionals:
        return None
    c = task.conditionals[0]
    return c if c.then is not None and c.otherwise is not None else None


def train_tasks(rows: StepTensors) -> dict[str, Task | None]:
    """Each task id of ``rows`` -> its generated train task (None: not one this code draws with
    these words, :func:`~styling_env.rewording.generated_train_task`). Drawn once: a Complex
    task takes ~6 ms, so a 10,000-episode tier's ~5,000 take half a minute."""
    out: dict[str, Task | None] = {}
    for tid, u in zip(rows.task_id, rows.instruction_index.tolist(), strict=True):
        if tid not in out:
            out[tid] = generated_train_task(tid, rows.instructions[u])
    return out


def clause_rows(
    rows: StepTensors, size: int, tasks: dict[str, Task | None] | None = None
) -> list[tuple[int, Task, bool]]:
    """The rows where the teacher calls a two-call clause's tool with the branch its own source
    (rendered at ``size`` px) calls for: ``(row, task, whether the predicate holds there)``.
    Rows of requests that are not generated train tasks of this code are left out. ``tasks``:
    :func:`train_tasks` of ``rows``, when the caller has them."""
    lib = get_library(rows.library)
    tasks = train_tasks(rows) if tasks is None else tasks
    # task id -> the (tool, value) its source calls for (None: no two-call clause)
    chosen: dict[str, tuple[str, str] | None] = {}
    holds: dict[str, bool] = {}
    out = []
    tools, values = rows.tool.tolist(), rows.value.tolist()
    for i, tid in enumerate(rows.task_id):
        if not 0 <= tools[i] < lib.stop:
            continue
        task = tasks[tid]
        if tid not in chosen:
            c = _both_calls(task)
            if c is None or c.then is None or c.otherwise is None:  # (both set: _both_calls)
                chosen[tid] = None
            else:
                holds[tid] = c.holds(task.source_image(size).pixels[0])
                branch = c.then if holds[tid] else c.otherwise
                chosen[tid] = (branch.tool, branch.value)
        call = lib.call(tools[i], values[i], 0.0)
        if chosen[tid] is not None and (call.tool, call.value) == chosen[tid]:
            out.append((i, task, holds[tid]))  # type: ignore[arg-type]
    return out


def _pool(
    tasks: dict[str, Task | None], size: int, rng: np.random.Generator
) -> tuple[list[Task], ImageBatch, dict[str, np.ndarray]]:
    """Up to :data:`POOL` of the data's generated training tasks (:func:`train_tasks`), their
    sources (at ``size`` px) and, per predicate, whether it holds on each."""
    ids = sorted(tasks)
    rng.shuffle(ids)
    pool = [task for task in (tasks[t] for t in ids) if task is not None][:POOL]
    batch = ImageBatch.cat([t.source_image(size) for t in pool])  # type: ignore[union-attr]
    truth = {
        p: np.array([bool(f(batch.pixels[j])) for j in range(len(pool))])
        for p, f in PREDICATES.items()
    }
    return pool, batch, truth  # type: ignore[return-value]


class Pick(NamedTuple):
    """One counterfactual row: the original ``row``, the training task whose source it shows
    (``source``, at ``pool_index`` of the pool) and the branch that source calls for."""

    row: int
    source: Task
    pool_index: int
    branch: Target


def counterfactual_picks(
    rows: StepTensors, n: int, size: int = 128, seed: int = 0
) -> tuple[list[Pick], ImageBatch | None]:
    """Per clause row (:func:`clause_rows`), ``n`` sources of the pool (:data:`POOL` of the
    data's training tasks, drawn with ``seed``) on which its predicate resolves the other way
    (fewer where the pool has fewer), with the branch each calls for; and the pool's sources
    at ``size`` px (masks included; None without clause rows)."""
    positive_int("counterfactuals", n)
    every = train_tasks(rows)
    found = clause_rows(rows, size, every)
    if not found:
        return [], None
    rng = np.random.default_rng([seed, 0xC0F])
    tasks, pool, truth = _pool(every, size, rng)
    picks = []
    for i, task, holds in found:
        c = _both_calls(task)
        assert c is not None and c.then is not None and c.otherwise is not None
        other = c.otherwise if holds else c.then
        flipped = np.flatnonzero(truth[c.predicate] != holds)
        for j in rng.choice(flipped, size=min(n, flipped.size), replace=False).tolist():
            picks.append(Pick(i, tasks[j], j, other))
    return picks, pool


def _to_u8(x: torch.Tensor, image_size: int) -> torch.Tensor:
    """Float ``(N, 3, H, W)`` images in [0, 1] -> uint8 as the environment observes them
    (rounded), shrunk to the planner's ``image_size`` as the dataset's rows were."""
    u8 = (x.detach().clamp(0, 1) * 255 + 0.5).to(torch.uint8)
    return resize_images(u8, image_size)


def with_counterfactuals(
    rows: StepTensors, n: int, image_size: int, size: int = 128, seed: int = 0
) -> StepTensors:
    """``rows`` and, per clause row (:func:`clause_rows`), ``n`` counterfactual rows on other
    sources whose predicate resolves the other way (module docstring). ``image_size``: the size
    of ``rows``' images (the planner's); ``size``: the size the dataset was generated at (its
    sources are rendered again at it). Deterministic given ``seed``."""
    if rows.image is None or rows.sources is None:
        raise ValueError("counterfactual rows need the data's images (not text_only rows)")
    if rows.library != "v2":
        raise ValueError(
            f"counterfactual rows are built for the v2 library's conditional clauses; this data "
            f"is of library {rows.library!r} (set counterfactuals=0)"
        )
    lib = get_library(rows.library)
    picks, pool = counterfactual_picks(rows, n, size, seed)
    if not picks or pool is None:
        warnings.warn(
            "no row calls a conditional clause's branch of a generated train task (or no source "
            "resolves one the other way): no counterfactual rows added",
            stacklevel=2,
        )
        return rows
    context = LibraryContext(rows.library)
    parts: dict[str, list[Any]] = {
        k: [] for k in ("image", "source", "context", "value", "strength")
    }
    for lo in range(0, len(picks), _CHUNK):
        chunk = picks[lo : lo + _CHUNK]
        sel = torch.tensor([p.pool_index for p in chunk])
        src = pool.pixels[sel]
        masks, known = pool.masks[sel], pool.has_masks[sel]
        plans = [history_calls(rows.history[p.row].numpy(), rows.library) for p in chunk]
        with torch.no_grad():
            current = apply_plan(src, plans, masks, known)
            keep = [preserve_names(rows.preserve[p.row].numpy()) for p in chunk]
            solved = solve_plans(src, [[p.branch] for p in chunk], masks, known, keep)
        parts["image"].append(_to_u8(current, image_size))
        parts["source"].append(_to_u8(src, image_size))
        parts["context"].append(torch.as_tensor(context.predict(current), dtype=rows.context.dtype))
        parts["value"] += [lib.indices(plan[0])[1] for plan in solved]
        parts["strength"] += [plan[0].strength for plan in solved]
    idx = torch.tensor([p.row for p in picks])
    new = rows.select(idx)
    value = torch.tensor(parts["value"], dtype=rows.value.dtype)
    strength = torch.tensor(parts["strength"], dtype=rows.strength.dtype)
    flat = FlatActions(rows.n_strength_bins, rows.flat_preserve, rows.library).encode(
        new.tool.numpy(), value.numpy(), strength.numpy(), new.preserve.numpy()
    )
    e0 = rows.sources.shape[0]
    new = replace(
        new,
        image=torch.cat(parts["image"]),
        context=torch.cat(parts["context"]),
        value=value,
        strength=strength,
        flat_action=torch.as_tensor(flat, dtype=rows.flat_action.dtype),
        source_row=torch.arange(e0, e0 + len(picks), dtype=rows.source_row.dtype),
    )
    out = {k: torch.cat([getattr(rows, k), getattr(new, k)]) for k in StepTensors._ROW_FIELDS}
    return replace(
        rows,
        sources=torch.cat([rows.sources, torch.cat(parts["source"])]),
        task_id=rows.task_id + new.task_id,
        **out,
    )
