"""Baseline planners: Random, Edit-Only, the dataset's Teacher and the Oracle.

All follow the batched agent protocol of :mod:`agents.evaluate` and keep their per-episode
state by sub-env index (reset by ``episode_start``). Teacher and Oracle are *privileged*: they
read the oracle's plan through the ``begin_episodes`` hook, which learned agents never use.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from offline_data.generate import random_rows
from offline_data.teachers import NoiseProfile, NoisyOracle
from styling_env.engine import Stop
from styling_env.tools import TOOLS, ToolCall
from styling_env.tools.vocabulary import VALUES


class _Scripted:
    """A per-sub-env queue of calls, then STOP."""

    name = "scripted"

    def __init__(self) -> None:
        self._queues: dict[int, list[ToolCall]] = {}

    def _plan(self, i: int, observation: dict[str, Any]) -> list[ToolCall]:
        raise NotImplementedError

    def predict(self, observation, state=None, episode_start=None, deterministic=True):
        n = len(observation["instruction"])
        starts = np.ones(n, bool) if episode_start is None else np.asarray(episode_start, bool)
        out: list[ToolCall | Stop] = []
        for i in range(n):
            if starts[i] or i not in self._queues:
                self._queues[i] = self._plan(i, observation)
            q = self._queues[i]
            out.append(q.pop(0) if q else Stop())
        return out, state


class RandomAgent(_Scripted):
    """1-5 uniformly random calls (any value, strength in [0.2, 1]), then STOP; seeded. With
    ``library`` (``styling_env.libraries``), the calls draw from that library's painting actions
    (:func:`offline_data.generate.random_rows`); without, from the ``v2`` values."""

    name = "random"

    def __init__(self, seed: int = 0, max_calls: int = 5, library: str | None = None) -> None:
        super().__init__()
        self.rng = np.random.default_rng(seed)
        self.max_calls = max_calls
        self.library = library
        self._rows = VALUES if library is None else random_rows(library)

    def _plan(self, i, observation):
        k = int(self.rng.integers(1, self.max_calls + 1))
        picks = self.rng.integers(len(self._rows), size=k)
        return [
            ToolCall(*self._rows[j], round(float(self.rng.uniform(0.2, 1.0)), 2)) for j in picks
        ]


#: Words of value names too generic to say which value a request means.
_GENERIC = {"and", "the", "of", "a", "light", "soft", "dark", "rich", "bright", "high", "low"}


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _keywords() -> dict[tuple[str, str], set[str]]:
    out = {}
    for tool, values in TOOLS.items():
        for v in values:
            words = {
                _stem(w) for w in re.findall(r"[a-z]+", v) if w not in _GENERIC and not w.isdigit()
            }
            out[(tool, v)] = words or {_stem(w) for w in re.findall(r"[a-z]+", v)}
    return out


_KEYWORDS = _keywords()


def edit_only_calls(instruction: str, strength: float = 0.7) -> list[ToolCall]:
    """Edit-Only (direct prompting, no planning): the request's words matched literally against
    the value names (``"snowy winter night"`` -> ``winter_bare``, ``night_moonlit``); per tool the
    value with the most matching words (ties: the earlier mention), calls in the order the
    request mentions them, one default strength, no context and no image."""
    words = [_stem(w) for w in re.findall(r"[a-z]+", instruction.lower())]
    first: dict[str, int] = {}
    for k, w in enumerate(words):
        first.setdefault(w, k)
    best: dict[str, tuple[int, int, str]] = {}
    for (tool, value), keys in _KEYWORDS.items():
        hits = [first[w] for w in keys if w in first]
        if not hits:
            continue
        cand = (len(hits), -min(hits), value)
        if tool not in best or cand[:2] > best[tool][:2]:
            best[tool] = cand
    ordered = sorted(best.items(), key=lambda kv: -kv[1][1])
    return [ToolCall(tool, value, strength) for tool, (_, _, value) in ordered][:5]


class EditOnlyAgent(_Scripted):
    """The paper's Edit-Only baseline, as :func:`edit_only_calls`."""

    name = "edit-only"

    def __init__(self, strength: float = 0.7) -> None:
        super().__init__()
        self.strength = strength

    def _plan(self, i, observation):
        return edit_only_calls(str(observation["instruction"][i]), self.strength)


class TeacherAgent:
    """The dataset's behaviour policy (a :class:`~offline_data.teachers.NoisyOracle`), privileged:
    it reads each task's oracle plan through ``begin_episodes``. Seeded per episode."""

    def __init__(self, profile: NoiseProfile | None = None, tier: str = "simple", seed: int = 0, name: str = "teacher") -> None:  # fmt: skip
        self.teacher = NoisyOracle(profile or NoiseProfile.for_tier(tier))
        self.name = name
        self.seed = seed
        self._count = 0

    def begin_episodes(self, slots: Sequence[int], tasks: Sequence[Any], plans: Sequence[Sequence[ToolCall]]) -> None:  # fmt: skip
        for i, task, plan in zip(slots, tasks, plans, strict=True):
            self.teacher.start(i, task, plan, np.random.default_rng([self.seed, self._count]))
            self._count += 1

    def predict(self, observation, state=None, episode_start=None, deterministic=True):
        n = len(observation["instruction"])
        slots = [i for i in range(n) if i in self.teacher._scripts]
        acts = dict(zip(slots, self.teacher.act(observation, slots), strict=True))
        return [acts[i][0] if i in acts else Stop() for i in range(n)], state


class OracleAgent(TeacherAgent):
    """The oracle's plan, exactly (the judge's reference: the upper bound)."""

    def __init__(self) -> None:
        super().__init__(NoiseProfile(clean=1.0, jitter=0.0), name="oracle")


__all__ = ["EditOnlyAgent", "OracleAgent", "RandomAgent", "TeacherAgent", "edit_only_calls"]


# --------------------------------------------------------------------------------------------
# Factories of the method registry (agents.registry): make(tier, seed, study) -> agent


def make_random(tier: str, seed: int, study: str = "main") -> RandomAgent:
    return RandomAgent(seed=seed)


def make_zero_shot(tier: str, seed: int, study: str = "main") -> Any:
    from .embedded import EmbeddedAgent

    return EmbeddedAgent.zero_shot(seed=seed)


def make_edit_only(tier: str, seed: int, study: str = "main") -> EditOnlyAgent:
    return EditOnlyAgent()


def make_teacher(tier: str, seed: int, study: str = "main") -> TeacherAgent:
    """The tier's data-generating teacher; in a ``quality-<p>`` study, the teacher that is
    mistake-free with probability ``p`` (the one that generated that study's dataset)."""
    profile = NoiseProfile.for_tier(tier)
    if study.startswith("quality-"):
        profile = NoiseProfile(clean=float(study.split("-", 1)[1]))
    return TeacherAgent(profile, tier=tier, seed=seed)


def make_oracle(tier: str, seed: int, study: str = "main") -> OracleAgent:
    return OracleAgent()
