"""The batched episode engine behind the single and the vector environment.

One :class:`Engine` runs ``n`` episodes side by side: a reset builds their sources, oracle
references and contexts as one batch; a step applies every slot's call with one
:func:`styling_env.apply_calls` (each recipe once per distinct value) and scores every slot with
one judge call. ``ImageStylingEnv`` is an engine of one slot, ``ImageStylingVectorEnv`` of ``n``
slots, so the two cannot drift apart.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .actions import STOP
from .config import EnvConfig
from .context import ContextEstimator
from .judge import Episode, Scores
from .oracle import Reference, task_references
from .tasks import Task
from .tools import REGIONS, TOOLS, ToolCall, apply_calls
from .tools.vocabulary import MAX_VALUES, TOOL_NAMES
from .validation import positive_int


@dataclass(frozen=True)
class Invalid:
    """An action that could not be turned into a call; ``error`` says why."""

    error: str


@dataclass(frozen=True)
class Stop:
    """The agent ends the episode."""


Decoded = ToolCall | Stop | Invalid


def decode_native(action: Any) -> Decoded:
    """Turn a native ``Dict(tool, value, strength, region)`` action into a call, STOP or an
    :class:`Invalid` that names the problem. Never raises on a bad action."""
    if not isinstance(action, dict):
        return Invalid(
            f"action must be a dict with keys tool, value, strength, region; got {type(action).__name__}"
        )
    missing = {"tool", "value", "strength", "region"} - set(action)
    if missing:
        return Invalid(f"action is missing {sorted(missing)}")
    try:
        tool = _index(action["tool"], "tool", STOP + 1)
        if tool == STOP:
            return Stop()
        value = _index(action["value"], "value", MAX_VALUES)
        region = _index(action["region"], "region", len(REGIONS))
        strength = np.asarray(action["strength"], dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as e:
        return Invalid(str(e))
    name = TOOL_NAMES[tool]
    if value >= len(TOOLS[name]):
        return Invalid(f"value index {value} is outside {name}'s {len(TOOLS[name])} values")
    if strength.size != 1 or not math.isfinite(float(strength[0])):
        return Invalid(f"strength must be one finite number in [0, 1], got {action['strength']!r}")
    s = float(strength[0])
    if not 0.0 <= s <= 1.0:
        return Invalid(f"strength must be in [0, 1], got {s:g}")
    return ToolCall(name, TOOLS[name][value], s, REGIONS[region])


def _index(x: Any, name: str, n: int) -> int:
    a = np.asarray(x)
    if a.size != 1 or not (
        np.issubdtype(a.dtype, np.integer)
        or (np.issubdtype(a.dtype, np.floating) and float(a) == int(float(a)))
    ):
        raise ValueError(f"{name} must be one integer index, got {x!r}")
    i = int(a.reshape(-1)[0])
    if not 0 <= i < n:
        raise ValueError(f"{name} index {i} is outside [0, {n - 1}]")
    return i


@dataclass
class Slot:
    """The state of one running episode."""

    task: Task
    source: torch.Tensor  # (3, H, W)
    masks: torch.Tensor  # (6, H, W)
    has_masks: bool
    reference: Reference
    image: torch.Tensor  # (3, H, W), current
    context: np.ndarray  # (10,) int64
    score: Scores
    calls: list[ToolCall] = field(default_factory=list)
    effects: list[float] = field(default_factory=list)  # mean |change| each valid call made
    history: list[Decoded] = field(default_factory=list)
    invalid: int = 0
    steps: int = 0
    source_u8: np.ndarray | None = None  # the source observation, converted once


class Engine:
    """``n`` episodes side by side (see the module docstring)."""

    def __init__(self, n: int, config: EnvConfig | None = None, **options: Any) -> None:
        """``n`` slots run with ``config`` (or the :class:`EnvConfig` fields as keywords,
        e.g. ``Engine(4, image_size=64)``); the engine reads its image size, device, step
        limits, invalid penalty and judge."""
        self.n = positive_int("n", n)
        self.config = config = EnvConfig.resolve(config, options)
        self.image_size = config.image_size
        self.device = torch.device(config.device)
        self.max_steps = config.max_steps
        self.max_invalid = config.max_invalid
        self.invalid_penalty = config.invalid_penalty
        self.judge = config.make_judge()
        self.context = ContextEstimator.load()
        self.slots: list[Slot | None] = [None] * n
        #: seconds spent per stage since creation (reset, tools, context, judge): the benchmark
        #: reads them to split step time into tool ops and the rest
        self.timings: dict[str, float] = defaultdict(float)

    @contextmanager
    def _clock(self, stage: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.timings[stage] += time.perf_counter() - t0

    # -- reset ------------------------------------------------------------------------------

    def reset(self, indices: Sequence[int], tasks: Sequence[Task]) -> None:
        """Start new episodes in ``indices`` with ``tasks`` (one batch for all of them)."""
        with self._clock("reset"):
            self._reset(indices, tasks)

    def _reset(self, indices: Sequence[int], tasks: Sequence[Task]) -> None:
        batch, refs = task_references(tasks, self.image_size, self.device)
        pixels, masks, known = batch.pixels, batch.masks, batch.has_masks
        context = self.context.predict(pixels)
        episodes = [
            Episode(pixels[i], pixels[i], refs[i], (), 0, t.constraints, masks[i], bool(known[i]))
            for i, t in enumerate(tasks)
        ]
        scores = self.judge.score(episodes)
        for j, (i, t) in enumerate(zip(indices, tasks, strict=True)):
            self.slots[i] = Slot(
                t, pixels[j], masks[j], bool(known[j]), refs[j], pixels[j], context[j], scores[j]
            )

    # -- step -------------------------------------------------------------------------------

    def step(
        self, indices: Sequence[int], actions: Sequence[Decoded]
    ) -> list[tuple[float, bool, bool, dict[str, Any]]]:
        """Advance the episodes in ``indices`` by one action each; returns per index
        ``(reward, terminated, truncated, info)``."""
        slots = [self.slots[i] for i in indices]
        calls: list[ToolCall | None] = []
        errors: list[str] = []
        for s, a in zip(slots, actions, strict=True):
            err = ""
            if isinstance(a, ToolCall) and a.region != "all" and not s.has_masks:
                a = Invalid(f"region {a.region!r} needs semantic masks; this image has none")
            if isinstance(a, Invalid):
                err = a.error
            elif not isinstance(a, ToolCall | Stop):
                err = f"unknown action {a!r}"
                a = Invalid(err)
            calls.append(a if isinstance(a, ToolCall) else None)
            errors.append(err)
            s.history.append(a)
            s.steps += 1
        moved = [k for k, c in enumerate(calls) if c is not None]
        if moved:
            imgs = torch.stack([slots[k].image for k in moved])
            masks = torch.stack([slots[k].masks for k in moved])
            known = torch.tensor([slots[k].has_masks for k in moved])
            with self._clock("tools"):
                new = apply_calls(imgs, [calls[k] for k in moved], masks=masks, has_masks=known)
                effects = (new - imgs).abs().mean((1, 2, 3)).tolist()  # one host copy
            for j, k in enumerate(moved):
                slots[k].image = new[j]
                slots[k].calls.append(calls[k])
                slots[k].effects.append(effects[j])
        for k, e in enumerate(errors):
            if e:
                slots[k].invalid += 1
        if moved:
            with self._clock("context"):
                self._update_context([slots[k] for k in moved])
        with self._clock("judge"):
            scores = self.judge.score([self._episode(s) for s in slots])
        out = []
        for s, a, e, sc in zip(slots, actions, errors, scores, strict=True):
            reward = (sc.overall - s.score.overall) / 20.0 - (self.invalid_penalty if e else 0.0)
            s.score = sc
            terminated = isinstance(a, Stop) or s.invalid >= self.max_invalid
            truncated = not terminated and s.steps >= self.max_steps
            out.append((reward, terminated, truncated, self.info(s, e, terminated or truncated)))
        return out

    def _update_context(self, slots: Sequence[Slot]) -> None:
        ctx = self.context.predict(torch.stack([s.image for s in slots]))
        for s, c in zip(slots, ctx, strict=True):
            s.context = c

    @staticmethod
    def _episode(s: Slot) -> Episode:
        return Episode(
            s.source,
            s.image,
            s.reference,
            tuple(s.calls),
            s.invalid,
            s.task.constraints,
            s.masks,
            s.has_masks,
            tuple(s.effects),
        )

    @staticmethod
    def info(s: Slot, error: str = "", final: bool = False) -> dict[str, Any]:
        """The step's info. During an episode it holds only what the agent may know: its
        reward's scores (the six, overall, r), its call's validity, its counters. Everything
        computed against the hidden plan (planning metrics, the oracle's plan) is revealed
        only when the episode is over."""
        d = s.score.as_dict() if final else s.score.visible_dict()
        d.update(
            error=error,
            task_id=s.task.task_id,
            steps=s.steps,
            invalid_calls=s.invalid,
            violations=",".join(s.score.violations),
        )
        if final:
            d["oracle_plan"] = [c.to_dict() for c in s.reference.plan]
        return d
