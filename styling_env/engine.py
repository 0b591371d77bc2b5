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
from collections import OrderedDict, defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .actions import MASK_NAMES, STOP  # noqa: F401  (STOP: re-exported, the v2 library's)
from .config import EnvConfig
from .context import LibraryContext
from .judge import Episode, MeasuredJudge, Scores
from .libraries import DEFAULT_LIBRARY, library_plan
from .libraries import library as get_library
from .oracle import Reference, source_references, task_sources
from .tasks import Task
from .tools import REGIONS, ToolCall, apply_calls
from .tools.apply import reads_masks
from .tools.vocabulary import GEOMETRIC_REGIONS
from .validation import positive_int


@dataclass(frozen=True)
class Invalid:
    """An action that could not be turned into a call; ``error`` says why."""

    error: str


@dataclass(frozen=True)
class Stop:
    """The agent ends the episode."""


Decoded = ToolCall | Stop | Invalid


#: What a preserve on an image without semantic masks is told (an invalid call).
NO_MASKS_PRESERVE = "preserve needs semantic masks; this image has none"


def decode_native(action: Any, library: str = DEFAULT_LIBRARY) -> Decoded:
    """Turn a native ``Dict(tool, value, strength, region, preserve)`` action of ``library``
    (``styling_env.libraries``) into a call, STOP or an :class:`Invalid` that names the problem.
    Never raises on a bad action. A dict without ``preserve`` preserves nothing (actions written
    before the key existed keep working); set bits become the call's ``preserve`` parameter
    (region names in ``MASK_NAMES`` order)."""
    lib = get_library(library)
    if not isinstance(action, dict):
        return Invalid(
            "action must be a dict with keys tool, value, strength, region (and optionally "
            f"preserve); got {type(action).__name__}"
        )
    missing = {"tool", "value", "strength", "region"} - set(action)
    if missing:
        return Invalid(f"action is missing {sorted(missing)}")
    try:
        tool = _index(action["tool"], "tool", lib.stop + 1)
        if tool == lib.stop:
            return Stop()
        value = _index(action["value"], "value", lib.max_values)
        region = _index(action["region"], "region", len(REGIONS))
        raw = np.asarray(action["strength"])
        if raw.dtype.kind not in "fiu":  # NumPy would read "0.5" and True as numbers
            raise TypeError(f"strength must be a number, got {action['strength']!r}")
        strength = raw.astype(np.float64).reshape(-1)
        keep = _preserve(action.get("preserve"))
    except (TypeError, ValueError) as e:
        return Invalid(str(e))
    act = lib.actions[tool]
    if value >= len(act.values):
        return Invalid(f"value index {value} is outside {act.tool}'s {len(act.values)} values")
    if strength.size != 1 or not math.isfinite(float(strength[0])):
        return Invalid(f"strength must be one finite number in [0, 1], got {action['strength']!r}")
    s = float(strength[0])
    if not 0.0 <= s <= 1.0:
        return Invalid(f"strength must be in [0, 1], got {s:g}")
    params = (("preserve", keep),) if keep else ()
    return ToolCall(act.tool, act.values[value], s, REGIONS[region], params)


def _needs_masks(regions: tuple[str, ...]) -> bool:
    """Whether preserving ``regions`` needs semantic masks (every region but a geometric area)."""
    return any(r not in GEOMETRIC_REGIONS for r in regions)


def _preserve(x: Any) -> tuple[str, ...]:
    """The native ``preserve`` bits -> region names; None (absent) is nothing preserved."""
    if x is None:
        return ()
    b = np.asarray(x)
    n = len(MASK_NAMES)
    if b.shape not in ((n,), (1, n)) or not (
        b.dtype == bool or np.issubdtype(b.dtype, np.integer) or np.issubdtype(b.dtype, np.floating)
    ):
        raise ValueError(f"preserve must be {n} bits ({', '.join(MASK_NAMES)}), got {x!r}")
    b = b.reshape(-1)
    if not np.isin(b, (0, 1)).all():
        raise ValueError(f"preserve bits must be 0 or 1, got {b.tolist()!r}")
    return tuple(MASK_NAMES[i] for i in np.flatnonzero(b))


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
    image_u8: np.ndarray | None = None  # the current picture as an observation (None: stale)
    compose: Any = None  # the normal library's rules and pending modifiers (ComposeState)


#: What an episode starts from: source, masks, has_masks, reference, context, first scores.
_Start = tuple[torch.Tensor, torch.Tensor, bool, Reference, np.ndarray, Scores]


def _start_bytes(start: _Start) -> int:
    """Bytes of the tensors an episode start holds (what caching it costs)."""
    pixels, masks, _, ref, context, _ = start
    tensors = [pixels, masks, *(v for v in vars(ref).values() if isinstance(v, torch.Tensor))]
    return sum(t.numel() * t.element_size() for t in tensors) + context.nbytes


class Engine:
    """``n`` episodes side by side (see the module docstring)."""

    #: Bytes of episode starts (sources, references, contexts) kept for tasks that come back;
    #: 0 turns the cache off. About 1 MB per task at 128 px, 16 MB at 512 px.
    cache_bytes: int = 256 * 2**20

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
        #: the action library (``styling_env.libraries``): the calls an episode may make
        self.library = get_library(config.library)
        #: the Stage-1 context of the library's dimensions (v3: the ten tools' and its twenty)
        self.context = LibraryContext(config.library)
        self.slots: list[Slot | None] = [None] * n
        #: episode starts of recently seen tasks (see :meth:`_starts`), least recently used
        #: first, at most :attr:`cache_bytes` of tensors
        self._cache: OrderedDict[Task, _Start] = OrderedDict()
        self._cache_sizes: dict[Task, int] = {}
        self._cached_bytes = 0
        #: seconds spent per stage since creation (reset, tools, context, judge), and parts of
        #: a stage as ``stage/part``: ``reset/sources`` (rendering new tasks' source images) and
        #: ``reset/references`` (solving and rendering their oracle references); the benchmark
        #: reads them to split step time into image work and the environment's own work
        self.timings: dict[str, float] = defaultdict(float)
        #: events since creation: ``reset`` (episodes started), ``reset_cached`` (of them, started
        #: without building anything: from the cache of returning tasks, or a twin in the batch)
        self.counts: dict[str, int] = defaultdict(int)

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
        starts = self._starts(tasks)
        for i, t, (pixels, masks, known, ref, context, score) in zip(
            indices, tasks, starts, strict=True
        ):
            self.slots[i] = Slot(t, pixels, masks, known, ref, pixels, context, score)
            if self.library.name == "normal":
                from .tools.compose import ComposeState

                self.slots[i].compose = ComposeState()

    def _starts(self, tasks: Sequence[Task]) -> list[_Start]:
        """Per task, what its episode starts from: source, masks, reference, context and first
        scores. A task seen before (test sets, evaluation seeds and paired episodes repeat
        tasks) is taken from :attr:`_cache`, a task twice in the batch is built once, the rest
        are built as one batch. Observations come out the same to the bit; judge scores within
        ~1e-6: a few recipes' convolutions differ in the last bit with the batch they run in, as
        they always did with whichever slots happened to reset together."""
        keys = [self._cache_key(t) for t in tasks]
        out: list[_Start | None] = [self._cache.get(k) if k is not None else None for k in keys]
        for k in keys:
            if k is not None and k in self._cache:
                self._cache.move_to_end(k)  # most recently used
        # a task twice in one batch (paired episodes starting together) is built once
        todo: list[int] = []
        first: dict[Task, int] = {}
        twins: list[tuple[int, int]] = []
        for j, o in enumerate(out):
            if o is not None:
                continue
            if keys[j] is not None and keys[j] in first:
                twins.append((j, first[keys[j]]))
                continue
            if keys[j] is not None:
                first[keys[j]] = j
            todo.append(j)
        self.counts["reset"] += len(tasks)
        self.counts["reset_cached"] += len(tasks) - len(todo)
        if todo:
            new = self._build([tasks[j] for j in todo])
            for j, start in zip(todo, new, strict=True):
                out[j] = start
                if keys[j] is not None:
                    self._remember(keys[j], start)
        for j, twin in twins:
            out[j] = out[twin]
        return out  # type: ignore[return-value]

    def _build(self, tasks: Sequence[Task]) -> list[_Start]:
        with self._clock("reset/sources"):
            batch = task_sources(tasks, self.image_size, self.device)
        with self._clock("reset/references"):
            refs = source_references(tasks, batch)
        pixels, masks, known = batch.pixels, batch.masks, batch.has_masks
        context = self.context.predict(pixels)
        flags = known.tolist()  # one host copy for the batch
        episodes = [
            Episode(pixels[i], pixels[i], refs[i], (), 0, t.constraints, masks[i], flags[i])
            for i, t in enumerate(tasks)
        ]
        scores = self.judge.score(episodes)
        return [
            (pixels[j], masks[j], bool(flags[j]), refs[j], context[j], scores[j])
            for j in range(len(tasks))
        ]

    def _cache_key(self, task: Task) -> Task | None:
        """``task`` itself, or None where its start must not be cached: a user's image (not part
        of a task's equality), a judge other than the deterministic :class:`MeasuredJudge` (a
        model or an endpoint is asked every time), or the cache turned off."""
        if task.image is not None or self.cache_bytes <= 0:
            return None
        if type(self.judge) is not MeasuredJudge:
            return None
        return task

    def _remember(self, key: Task, start: _Start) -> None:
        size = _start_bytes(start)
        self._cache[key] = start
        self._cache_sizes[key] = size
        self._cached_bytes += size
        while self._cached_bytes > self.cache_bytes and self._cache:
            old, _ = self._cache.popitem(last=False)  # least recently used
            self._cached_bytes -= self._cache_sizes.pop(old)

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
            if isinstance(a, ToolCall) and not self.library.has(a):
                a = Invalid(
                    f"library {self.library.name!r} has no call {a.tool}={a.value} (its actions: "
                    f"styling_env.libraries.library({self.library.name!r}).describe())"
                )
            elif isinstance(a, ToolCall) and a.region != "all" and not s.has_masks:
                a = Invalid(f"region {a.region!r} needs semantic masks; this image has none")
            elif isinstance(a, ToolCall) and not s.has_masks and _needs_masks(a.preserved_regions):
                a = Invalid(NO_MASKS_PRESERVE)
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
            masks = known = None
            if self.library.name == "normal" or any(reads_masks(calls[k]) for k in moved):
                masks = torch.stack([slots[k].masks for k in moved])
                known = torch.tensor([slots[k].has_masks for k in moved])
            with self._clock("tools"):
                if self.library.name == "normal":
                    new = self._compose(slots, calls, moved, imgs, masks, known, errors)
                else:
                    new = apply_calls(imgs, [calls[k] for k in moved], masks=masks, has_masks=known)
                effects = (new - imgs).abs().mean((1, 2, 3)).tolist()  # one host copy
            for j, k in enumerate(moved):
                if calls[k] is None:  # refused by the library's rules: nothing changed
                    continue
                slots[k].image = new[j]
                slots[k].image_u8 = None
                slots[k].calls.append(calls[k])
                slots[k].effects.append(effects[j])
        for k, e in enumerate(errors):
            if e:
                slots[k].invalid += 1
        if moved:
            with self._clock("context"):
                self._update_context([slots[k] for k in moved])
        with self._clock("judge"):
            scores = self._score(slots, actions)
        out = []
        for s, a, e, sc in zip(slots, actions, errors, scores, strict=True):
            reward = (sc.overall - s.score.overall) / 20.0 - (self.invalid_penalty if e else 0.0)
            s.score = sc
            terminated = isinstance(a, Stop) or s.invalid >= self.max_invalid
            truncated = not terminated and s.steps >= self.max_steps
            out.append((reward, terminated, truncated, self.info(s, e, terminated or truncated)))
        return out

    @staticmethod
    def _compose(
        slots: Sequence[Slot],
        calls: list[ToolCall | None],
        moved: list[int],
        imgs: torch.Tensor,
        masks: torch.Tensor,
        known: torch.Tensor,
        errors: list[str],
    ) -> torch.Tensor:
        """The normal library's step: every moved slot's call played through its episode's
        rules and pending modifiers (``styling_env.tools.compose``). A call the rules refuse
        (an area that needs masks on a photo) becomes invalid: its error is recorded and the
        slot's history and call log show it as such."""
        from .tools.compose import compose_step

        new, errs = compose_step(
            imgs, [calls[k] for k in moved], [slots[k].compose for k in moved], masks, known
        )
        for j, k in enumerate(moved):
            if errs[j]:
                errors[k] = errs[j]
                slots[k].history[-1] = Invalid(errs[j])
                calls[k] = None
        return new

    def _score(self, slots: Sequence[Slot], actions: Sequence[Decoded]) -> list[Scores]:
        """The judge's scores of ``slots`` after ``actions``. A STOP changes nothing the
        deterministic :class:`MeasuredJudge` reads (picture, calls, invalid count), so its slot
        keeps the score it has (the same numbers, not measured again); any other judge is asked
        about every slot."""
        if type(self.judge) is not MeasuredJudge:
            return self.judge.score([self._episode(s) for s in slots])
        ask = [k for k, a in enumerate(actions) if not isinstance(a, Stop)]
        scores = [s.score for s in slots]
        for k, sc in zip(
            ask, self.judge.score([self._episode(slots[k]) for k in ask]), strict=True
        ):
            scores[k] = sc
        return scores

    def frames(self) -> None:
        """Convert every slot's stale picture to its ``(H, W, 3)`` uint8 observation in one
        batch (one device-to-host copy on a GPU, not one per slot); a slot's source too."""
        for attr, tensor in (("image_u8", "image"), ("source_u8", "source")):
            stale = [s for s in self.slots if s is not None and getattr(s, attr) is None]
            if stale:
                x = torch.stack([getattr(s, tensor) for s in stale])
                u8 = (x.detach().clamp(0, 1).permute(0, 2, 3, 1).cpu().numpy() * 255 + 0.5).astype(
                    np.uint8
                )
                for s, a in zip(stale, u8, strict=True):
                    setattr(s, attr, a)

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
            name = s.task.library
            if name == DEFAULT_LIBRARY:
                d["oracle_plan"] = [c.to_dict() for c in s.reference.plan]
            else:  # as the task's library states it, in its words
                lib = get_library(name)
                d["oracle_plan"] = [lib.to_json(c) for c in library_plan(s.reference.plan, name)]
        return d
