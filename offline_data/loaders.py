"""Episodes -> training data: tensors, chat samples, a d3rlpy buffer.

Every loader takes a dataset id, a :class:`minari.MinariDataset` (read through
:func:`offline_data.dataset.episodes`) or a list of :class:`~offline_data.dataset.EpisodeRecord`,
and pairs observation ``t`` with action ``t`` (``T + 1`` observations, ``T`` actions per episode;
the last observation has no action).

- :func:`to_tensors` -> :class:`StepTensors`: one row per (episode, step) for the embedded
  policy, with the per-sample weights of a method (:mod:`offline_data.weights`).
- :func:`to_chat_samples` -> :class:`ChatSample` list for language/vision-language planners:
  one sample per step (reason + JSON call, or STOP) or one per episode (the whole JSON plan).
  The prompt builders :func:`system_prompt`, :func:`user_prompt`, :func:`assistant_target` and
  the reply parser :func:`parse_assistant` are public and take only what a live observation
  holds, so planners prompt the same way at inference time.
- :func:`to_d3rlpy` -> ``d3rlpy.dataset.MDPDataset`` over :class:`~styling_env.DiscreteActions`
  with tuple observations ``[image, vector]`` and :class:`TupleEncoderFactory`, built from the
  episodes here (d3rlpy's ``get_minari`` misaligns observations and rejects Dict spaces).
  :func:`observation_tuple` / :func:`observation_vector` build the same observation from live
  env observations.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np
import torch

from styling_env.context import CONTEXT_NVEC, context_text
from styling_env.engine import Invalid, Stop
from styling_env.tools.call import REGIONS, ToolCall
from styling_env.tools.vocabulary import MAX_VALUES, TOOL_NAMES, TOOLS, VALUE_PARAMS, VALUES
from styling_env.wrappers import HashingEncoder, parse_text_action

from .dataset import EpisodeRecord, episodes, load
from .weights import check_method, sample_weights

#: The native action's ``tool`` index of STOP.
STOP_TOOL: int = len(TOOL_NAMES)
#: Dimension of the default (hashing) instruction encoder.
DEFAULT_ENCODER_DIM: int = 256
_VOCAB = np.array([len(v) for v in TOOLS.values()], np.int64)
_OFFSETS = np.concatenate([[0], np.cumsum(_VOCAB)[:-1]]).astype(np.int64)
_CTX_NVEC = np.array(CONTEXT_NVEC, np.int64)
_CTX_OFFSETS = np.concatenate([[0], np.cumsum(_CTX_NVEC)[:-1]]).astype(np.int64)
_HISTORY_SCALE = np.array([len(TOOL_NAMES), MAX_VALUES, 1.0, len(REGIONS)], np.float32)
_OBS_KEYS = ("context", "history", "steps_left", "instruction")
_ACTION_KEYS = ("tool", "value", "strength", "region")


# --------------------------------------------------------------------------------------------
# The flat action of DiscreteActions


def _check_bins(n_strength_bins: int) -> int:
    if (
        isinstance(n_strength_bins, bool)
        or not isinstance(n_strength_bins, int | np.integer)
        or n_strength_bins < 1
    ):
        raise ValueError(f"n_strength_bins must be a positive int, got {n_strength_bins!r}")
    return int(n_strength_bins)


def n_actions(n_strength_bins: int = 4) -> int:
    """Size of :class:`styling_env.DiscreteActions`' ``Discrete`` (the last index is STOP)."""
    return len(VALUES) * _check_bins(n_strength_bins) + 1


def flat_actions(tool: Any, value: Any, strength: Any, n_strength_bins: int = 4) -> np.ndarray:
    """Native actions -> :class:`styling_env.DiscreteActions` indices (int64), vectorized:
    ``value_index(tool, value) * bins + strength_bin``, STOP (tool 10) -> the last index. The
    strength rounds to the nearest bin exactly as ``DiscreteActions.index`` does; the region and
    secondary parameters (``preserve``) are not representable and dropped."""
    bins = _check_bins(n_strength_bins)
    t = np.asarray(tool, np.int64).reshape(-1)
    v = np.asarray(value, np.int64).reshape(-1)
    s = np.asarray(strength, np.float32).reshape(-1).astype(np.float64)
    is_stop = t == STOP_TOOL
    tt = np.where(is_stop, 0, t)
    b = np.clip(np.round(s * bins) - 1, 0, bins - 1).astype(np.int64)
    flat = (_OFFSETS[tt] + v) * bins + b
    return np.where(is_stop, len(VALUES) * bins, flat)


def _check_native(rec: EpisodeRecord, acts: Mapping[str, np.ndarray]) -> None:
    t, v, s, g = acts["tool"], acts["value"], acts["strength"], acts["region"]
    bad = (t < 0) | (t > STOP_TOOL)
    calls = (t >= 0) & (t < STOP_TOOL)
    bad |= calls & ((v < 0) | (v >= _VOCAB[np.clip(t, 0, STOP_TOOL - 1)]))
    bad |= calls & ((g < 0) | (g >= len(REGIONS)) | ~(s >= 0) | ~(s <= 1))
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"episode {rec.id}, step {k}: invalid native action (tool {int(t[k])}, value "
            f"{int(v[k])}, strength {float(s[k]):g}, region {int(g[k])})"
        )


# --------------------------------------------------------------------------------------------
# Reading records


def _is_minari(data: Any) -> bool:
    return hasattr(data, "iterate_episodes") and hasattr(data, "total_episodes")


def _source(data: Any) -> tuple[Iterable[EpisodeRecord], int, int]:
    """(records, total steps, total episodes) of a dataset id, a Minari dataset or records."""
    if isinstance(data, str):
        data = load(data)
    if _is_minari(data):
        return episodes(data), int(data.total_steps), int(data.total_episodes)
    if isinstance(data, EpisodeRecord):
        data = [data]
    if not isinstance(data, Iterable):
        raise TypeError(
            f"expected a dataset id, a MinariDataset or a list of EpisodeRecord, got "
            f"{type(data).__name__}"
        )
    recs = list(data)
    for r in recs:
        if not isinstance(r, EpisodeRecord):
            raise TypeError(f"expected EpisodeRecord items, got {type(r).__name__}")
    return recs, sum(len(r.actions.get("tool", ())) for r in recs), len(recs)


def _check_record(rec: EpisodeRecord, *, need_image: bool, need_infos: bool = False) -> int:
    """Validate one record's shapes; return its number of actions ``T``."""
    missing = [k for k in _ACTION_KEYS if k not in rec.actions]
    if missing:
        raise ValueError(f"episode {rec.id}: actions lack {missing}")
    n_act = len(rec.actions["tool"])
    if n_act == 0:
        raise ValueError(f"episode {rec.id} has no actions")
    keys = _OBS_KEYS + (("image",) if need_image else ())
    for k in keys:
        if k not in rec.observations:
            hint = " (pass text_only=True to train without images)" if k == "image" else ""
            raise ValueError(f"episode {rec.id}: observations lack {k!r}{hint}")
        n = len(rec.observations[k])
        if n != n_act + 1:
            raise ValueError(
                f"episode {rec.id}: observations[{k!r}] has {n} rows but there are {n_act} "
                f"actions; an episode needs T + 1 = {n_act + 1} observations for T actions"
            )
    for k in _ACTION_KEYS:
        if len(rec.actions[k]) != n_act:
            raise ValueError(
                f"episode {rec.id}: actions[{k!r}] has {len(rec.actions[k])} rows, tool has {n_act}"
            )
    for name in ("rewards", "terminations", "truncations"):
        n = len(getattr(rec, name))
        if n != n_act:
            raise ValueError(f"episode {rec.id}: {name} has {n} rows for {n_act} actions")
    if np.asarray(rec.terminations, bool)[:-1].any():
        raise ValueError(f"episode {rec.id}: terminated before its last step")
    if need_infos:
        for k in ("reasoning", "call"):
            if k not in rec.infos:
                raise ValueError(
                    f"episode {rec.id}: step infos lack {k!r} (needed for chat samples)"
                )
            if len(rec.infos[k]) < n_act:
                raise ValueError(
                    f"episode {rec.id}: infos[{k!r}] has {len(rec.infos[k])} rows for {n_act} actions"
                )
    if "r" not in rec.meta:
        raise ValueError(f"episode {rec.id}: metadata has no trajectory quality 'r'")
    return n_act


def _group_key(
    meta: Mapping[str, Any], groups: str | Callable[[Mapping[str, Any]], Hashable]
) -> Hashable:
    if callable(groups):
        return groups(meta)
    if groups in meta:
        return json.dumps(meta[groups], sort_keys=True, default=str)
    task = meta.get("task", {})
    if isinstance(task, Mapping) and groups in task:
        return json.dumps(task[groups], sort_keys=True, default=str)
    raise ValueError(f"episode metadata has no {groups!r} (nor task[{groups!r}]) to group by")


def _native(rec: EpisodeRecord) -> dict[str, np.ndarray]:
    a = rec.actions
    acts = {
        "tool": np.asarray(a["tool"], np.int64).reshape(-1),
        "value": np.asarray(a["value"], np.int64).reshape(-1),
        "strength": np.asarray(a["strength"], np.float32).reshape(-1),
        "region": np.asarray(a["region"], np.int64).reshape(-1),
    }
    _check_native(rec, acts)
    return acts


@dataclass
class _Collected:
    """Rows (one per step, plus a final-observation row per non-terminated episode when asked)
    as numpy arrays; per-episode arrays of length E."""

    image: np.ndarray | None
    sources: np.ndarray | None
    source_row: np.ndarray
    context: np.ndarray
    history: np.ndarray
    steps_left: np.ndarray
    instruction_index: np.ndarray
    instructions: list[str]
    tool: np.ndarray
    value: np.ndarray
    strength: np.ndarray
    region: np.ndarray
    reward: np.ndarray
    terminal: np.ndarray
    timeout: np.ndarray
    is_step: np.ndarray
    step: np.ndarray
    ep_id: np.ndarray
    ep_r: np.ndarray
    ep_last: np.ndarray  # row of each episode's last step
    ep_task: list[str]
    ep_group: list[Hashable] | None


def _collect(
    data: Any,
    *,
    text_only: bool,
    image_size: int | None,
    final_rows: bool,
    groups: str | Callable[[Mapping[str, Any]], Hashable] | None = None,
    shrink: Callable[[np.ndarray], np.ndarray] | None = None,
) -> _Collected:
    records, total_steps, total_eps = _source(data)
    if total_eps == 0:
        raise ValueError("the dataset is empty: it holds no episodes")
    cap = total_steps + (total_eps if final_rows else 0)
    image = sources = None
    context = np.zeros((cap, len(CONTEXT_NVEC)), np.int64)
    history: np.ndarray | None = None
    steps_left = np.zeros(cap, np.int64)
    inst_index = np.zeros(cap, np.int64)
    tool, value, region, step = (np.zeros(cap, np.int64) for _ in range(4))
    strength, reward = np.zeros(cap, np.float32), np.zeros(cap, np.float32)
    terminal, timeout, is_step = (np.zeros(cap, bool) for _ in range(3))
    source_row = np.zeros(cap, np.int64)
    inst_ids: dict[str, int] = {}
    ep_id, ep_r, ep_last, ep_task = [], [], [], []
    ep_group: list[Hashable] | None = [] if groups is not None else None
    hw: tuple[int, int] | None = None
    pos = 0
    for e, rec in enumerate(records):
        n = _check_record(rec, need_image=not text_only)
        if e >= total_eps or pos + n + int(final_rows) > cap:
            raise ValueError("the dataset holds more steps or episodes than its metadata says")
        acts = _native(rec)
        obs = rec.observations
        term = np.asarray(rec.terminations, bool).reshape(-1)
        trunc = np.asarray(rec.truncations, bool).reshape(-1)
        hist = np.asarray(obs["history"], np.float32)
        if history is None:
            history = np.zeros((cap, *hist.shape[1:]), np.float32)
        elif hist.shape[1:] != history.shape[1:]:
            raise ValueError(
                f"episode {rec.id}: history rows of shape {hist.shape[1:]}, earlier episodes {history.shape[1:]}"
            )
        rows = n + 1 if final_rows and not term[-1] else n  # the final observation of a cut episode
        sl = slice(pos, pos + rows)
        if not text_only:
            img = np.asarray(obs["image"])
            if img.dtype != np.uint8 or img.ndim != 4 or img.shape[-1] != 3:
                raise ValueError(
                    f"episode {rec.id}: images must be (T+1, H, W, 3) uint8, got {img.dtype} {img.shape}"
                )
            if hw is None:
                hw = img.shape[1:3]
                if image_size is not None and hw != (image_size, image_size):
                    raise ValueError(
                        f"the dataset's images are {hw[0]}x{hw[1]} px but image_size={image_size} "
                        f"was requested: use a dataset generated at {image_size} px or pass "
                        f"image_size=None"
                    )
            elif img.shape[1:3] != hw:
                raise ValueError(
                    f"episode {rec.id}: images are {img.shape[1]}x{img.shape[2]} px, earlier episodes {hw[0]}x{hw[1]}"
                )
            chw = np.ascontiguousarray(img[:rows].transpose(0, 3, 1, 2))
            src = np.asarray(obs["source"][0]) if "source" in obs else img[0]
            src = np.ascontiguousarray(src.transpose(2, 0, 1))[None]
            if shrink is not None:  # only the small images are ever held, episode by episode
                chw, src = shrink(chw), shrink(src)
            if image is None:
                image = np.empty((cap, *chw.shape[1:]), np.uint8)
                sources = np.empty((total_eps, *chw.shape[1:]), np.uint8)
            image[sl] = chw
            sources[e] = src[0]
        context[sl] = np.asarray(obs["context"], np.int64)[:rows]
        history[sl] = hist[:rows]
        steps_left[sl] = np.asarray(obs["steps_left"], np.int64).reshape(-1)[:rows]
        for k, text in enumerate(obs["instruction"][:rows]):
            inst_index[pos + k] = inst_ids.setdefault(str(text), len(inst_ids))
        for name, arr in (
            ("tool", tool),
            ("value", value),
            ("strength", strength),
            ("region", region),
        ):
            arr[pos : pos + n] = acts[name]
        reward[pos : pos + n] = np.asarray(rec.rewards, np.float32)
        terminal[pos + n - 1] = term[-1]
        is_step[pos : pos + n] = True
        step[sl] = np.arange(rows)
        source_row[sl] = e
        if final_rows:
            if rows > n:  # cut (truncated) episode: its final observation closes it as a timeout
                tool[pos + n] = STOP_TOOL
                timeout[pos + n] = True
        else:
            timeout[pos + n - 1] = trunc[-1] and not term[-1]
        ep_last.append(pos + n - 1)
        pos += rows
        ep_id.append(int(rec.id))
        ep_r.append(float(rec.meta["r"]))
        ep_task.append(
            str(rec.meta.get("task_id", rec.meta.get("task", {}).get("task_id", rec.id)))
        )
        if ep_group is not None:
            ep_group.append(_group_key(rec.meta, groups))
    n_eps = len(ep_id)
    if n_eps == 0:
        raise ValueError("the dataset is empty: it holds no episodes")
    cut = slice(0, pos)
    return _Collected(
        image=None if image is None else image[cut],
        sources=None if sources is None else sources[:n_eps],
        source_row=source_row[cut],
        context=context[cut],
        history=history[cut],
        steps_left=steps_left[cut],
        instruction_index=inst_index[cut],
        instructions=list(inst_ids),
        tool=tool[cut],
        value=value[cut],
        strength=strength[cut],
        region=region[cut],
        reward=reward[cut],
        terminal=terminal[cut],
        timeout=timeout[cut],
        is_step=is_step[cut],
        step=step[cut],
        ep_id=np.asarray(ep_id, np.int64),
        ep_r=np.asarray(ep_r, np.float64),
        ep_last=np.asarray(ep_last, np.int64),
        ep_task=ep_task,
        ep_group=ep_group,
    )


# --------------------------------------------------------------------------------------------
# Tensors


@dataclass
class StepTensors:
    """One row per (episode, step ``t``) with an action: observation ``t`` and action ``t``.

    Images are ``uint8`` ``(3, H, W)`` (``None`` when ``text_only``). The source image is kept
    once per episode (``sources`` ``(E, 3, H, W)``, row ``source_row``); :attr:`source` gathers it
    per row (a copy: take it from a minibatch, ``select(idx).source``). Instructions are kept once
    (``instructions``, row ``instruction_index``) so sentence embeddings can be cached per
    instruction; :attr:`instruction` lists them per row.
    """

    image: torch.Tensor | None  # (N, 3, H, W) uint8, the current image
    sources: torch.Tensor | None  # (E, 3, H, W) uint8, one source image per episode
    source_row: torch.Tensor  # (N,) int64, row of ``sources``
    context: torch.Tensor  # (N, 10) int64, the context states of the current image
    history: torch.Tensor  # (N, max_steps, 4) float32, calls so far (-1 pads)
    steps_left: torch.Tensor  # (N,) int64
    instruction_index: torch.Tensor  # (N,) int64, row of ``instructions``
    instructions: list[str]  # unique instructions
    tool: torch.Tensor  # (N,) int64, 0-9 a tool, 10 STOP
    value: torch.Tensor  # (N,) int64, index in the tool's vocabulary
    strength: torch.Tensor  # (N,) float32
    region: torch.Tensor  # (N,) int64, index in REGIONS
    flat_action: torch.Tensor  # (N,) int64, DiscreteActions index (STOP = last)
    reward: torch.Tensor  # (N,) float32, the env's per-step reward
    episode: torch.Tensor  # (N,) int64, episode id
    step: torch.Tensor  # (N,) int64, t
    r: torch.Tensor  # (N,) float32, the trajectory's quality, repeated per step
    weight: torch.Tensor  # (N,) float32, sample_weights(method, r per episode), per step
    task_id: list[str]  # (N,) task id per row
    method: str = "s"
    n_strength_bins: int = 4

    _ROW_FIELDS = (
        "image",
        "source_row",
        "context",
        "history",
        "steps_left",
        "instruction_index",
        "tool",
        "value",
        "strength",
        "region",
        "flat_action",
        "reward",
        "episode",
        "step",
        "r",
        "weight",
    )

    def __len__(self) -> int:
        return int(self.tool.shape[0])

    @property
    def n_episodes(self) -> int:
        return int(torch.unique(self.episode).numel())

    @property
    def max_steps(self) -> int:
        return int(self.history.shape[1])

    @property
    def source(self) -> torch.Tensor | None:
        """``(N, 3, H, W)`` uint8: each row's source image (gathered: a copy)."""
        return None if self.sources is None else self.sources[self.source_row]

    @property
    def instruction(self) -> list[str]:
        return [self.instructions[i] for i in self.instruction_index.tolist()]

    def select(self, index: Any) -> StepTensors:
        """The rows ``index`` (a slice, an index tensor/array/list or a bool mask)."""
        if isinstance(index, np.ndarray):
            index = torch.from_numpy(index)
        elif isinstance(index, list):
            index = torch.as_tensor(index)
        if isinstance(index, torch.Tensor) and index.dtype == torch.bool:
            index = index.nonzero().reshape(-1)
        rows = {
            k: (None if getattr(self, k) is None else getattr(self, k)[index])
            for k in self._ROW_FIELDS
        }
        ids = range(len(self))[index] if isinstance(index, slice) else index.tolist()
        return replace(self, task_id=[self.task_id[i] for i in ids], **rows)

    def to(self, device: str | torch.device) -> StepTensors:
        moved = {
            f.name: getattr(self, f.name).to(device)
            for f in fields(self)
            if isinstance(getattr(self, f.name), torch.Tensor)
        }
        return replace(self, **moved)


def to_tensors(
    data: Any,
    *,
    method: str = "s",
    n_strength_bins: int = 4,
    text_only: bool = False,
    image_size: int | None = None,
    groups: str | Callable[[Mapping[str, Any]], Hashable] | None = None,
    shrink: Callable[[np.ndarray], np.ndarray] | None = None,
) -> StepTensors:
    """Episodes -> :class:`StepTensors`, one row per step (observation ``t``, action ``t``).

    Args:
        data: a dataset id, a MinariDataset or a list of EpisodeRecord.
        method: one of :data:`offline_data.weights.METHODS`: the ``weight`` column.
        n_strength_bins: the bins of ``flat_action`` (``DiscreteActions(n_strength_bins)``).
        text_only: drop the images (the paper's text-only variant).
        image_size: if given, the dataset's images must be this size.
        groups: SW's standardization groups: an episode-metadata key (``"task_id"``, or a key of
            ``task`` such as ``"theme"``, ``"template_id"``) or ``meta -> key``; ``None`` = over
            the whole dataset.
        shrink: ``(N, 3, H, W) uint8 -> (N, 3, h, w) uint8`` applied to each episode's images
            (and its source) as they are read, e.g. ``lambda a: resize_uint8(a, 64)``: a
            planner that works at a smaller size never holds the stored-size images (the
            peak memory of a 10,000-episode 128 px tier falls about fourfold).

    Raises:
        ValueError: an unknown method, an empty dataset, a size mismatch, malformed records.
    """
    method = check_method(method)
    bins = _check_bins(n_strength_bins)
    c = _collect(
        data, text_only=text_only, image_size=image_size, final_rows=False, groups=groups,
        shrink=shrink,
    )  # fmt: skip
    w_ep = sample_weights(method, c.ep_r, groups=c.ep_group)
    row = c.source_row
    t = torch.from_numpy
    return StepTensors(
        image=None if c.image is None else t(c.image),
        sources=None if c.sources is None else t(c.sources),
        source_row=t(row),
        context=t(c.context),
        history=t(c.history),
        steps_left=t(c.steps_left),
        instruction_index=t(c.instruction_index),
        instructions=c.instructions,
        tool=t(c.tool),
        value=t(c.value),
        strength=t(c.strength),
        region=t(c.region),
        flat_action=t(flat_actions(c.tool, c.value, c.strength, bins)),
        reward=t(c.reward),
        episode=t(c.ep_id[row]),
        step=t(c.step),
        r=t(c.ep_r[row].astype(np.float32)),
        weight=t(w_ep[row].astype(np.float32)),
        task_id=[c.ep_task[i] for i in row.tolist()],
        method=method,
        n_strength_bins=bins,
    )


# --------------------------------------------------------------------------------------------
# Chat samples for language / vision-language planners

_STEP_FORMAT = """\
Answer with exactly two lines:
1. your reason for the next call, in one or two sentences on one line: what the image shows now, what the request wants, and why this tool, value and strength close the gap;
2. the call as one line of JSON: {"action_id": "<tool id>", "parameters": {"<value parameter>": "<value>", "strength": <number in [0, 1]>}}
Optional parameters: "region" (one of REGIONS; the default is the whole image) and "preserve" (a list of regions to leave untouched).
When the image already matches the request, give the reason on the first line and the single word STOP on the second."""

_PLAN_FORMAT = """\
Answer with the whole plan as one JSON object:
{"reasoning": "<what the request asks for>", "overall_instruction": "<the plan as one precise edit instruction>", "actions": [{"action_id": "<tool id>", "reasoning": "<why this call, one or two sentences>", "priority": <1-5>, "parameters": {"<value parameter>": "<value>", "strength": <number in [0, 1]>}}]}
Use 1 to 5 actions, in the order they should be applied. Optional parameters: "region" (one of REGIONS) and "preserve" (a list of regions to leave untouched)."""


def system_prompt(mode: str = "step") -> str:
    """The system message: the task, the ten tools with their value parameter and values, the
    strength, and the reply format (``step``: a reason line, then one JSON call or ``STOP``;
    ``plan``: the paper's whole JSON plan)."""
    if mode not in ("step", "plan"):
        raise ValueError(f"mode must be 'step' or 'plan', got {mode!r}")
    lines = [
        "You are an image-styling planner. You restyle a picture to match a user's request by "
        "calling styling tools"
        + (
            ", one call at a time, and you stop when it matches."
            if mode == "step"
            else ": you write the whole plan of calls at once."
        ),
        "",
        "Tools (tool id, its value parameter, and the values it accepts):",
    ]
    for tool, values in TOOLS.items():
        lines.append(f"- {tool} ({VALUE_PARAMS[tool]}): {', '.join(values)}")
    lines += [
        "",
        "Every call takes a strength in [0, 1]: 0 leaves the picture untouched, 1 is the "
        "strongest rendering.",
        "",
        (_STEP_FORMAT if mode == "step" else _PLAN_FORMAT).replace("REGIONS", ", ".join(REGIONS)),
    ]
    return "\n".join(lines)


def call_line(call: ToolCall | Stop | Mapping[str, Any] | str) -> str:
    """One call as one line: the paper's JSON action object (keys sorted), or ``STOP``."""
    if isinstance(call, Stop):
        return "STOP"
    if isinstance(call, ToolCall):
        return json.dumps(call.to_dict(), sort_keys=True)
    if isinstance(call, str):
        text = call.strip()
        if text.upper() == "STOP":
            return "STOP"
        try:
            call = json.loads(text)
        except json.JSONDecodeError:
            return " ".join(text.split())
    if isinstance(call, Mapping):
        if str(call.get("action_id", "")).upper() == "STOP":
            return "STOP"
        return json.dumps(dict(call), sort_keys=True)
    raise TypeError(
        f"a call must be a ToolCall, Stop, mapping or string, got {type(call).__name__}"
    )


def user_prompt(
    instruction: str,
    context: Any,
    calls: Sequence[Any] | None = None,
    *,
    steps_left: int | None = None,
) -> str:
    """The user message: the request, the scene context (Stage 1) and the calls so far.

    Args:
        instruction: the user's request (an observation's ``instruction``).
        context: an observation's ``context`` (10 state indices), a mapping for
            :func:`styling_env.context.context_text`, or an already rendered text.
        calls: the calls made so far (ToolCall, the paper's JSON object, or its JSON text), one
            JSON line each; ``None`` omits the section (plan mode).
        steps_left: if given, how many calls are still allowed.
    """
    ctx = context if isinstance(context, str) else context_text(context)
    parts = [f"Request: {' '.join(str(instruction).split())}", "", ctx]
    if calls is not None:
        lines = [call_line(c) for c in calls]
        parts += ["", "Calls so far:" if lines else "Calls so far: none", *lines]
    if steps_left is not None:
        parts += ["", f"Calls left: {int(steps_left)}"]
    return "\n".join(parts)


def assistant_target(reasoning: str, call: ToolCall | Stop | Mapping[str, Any] | str) -> str:
    """The assistant reply of a step: the reason on one line, then :func:`call_line` (JSON or
    ``STOP``)."""
    reason = " ".join(str(reasoning).split())
    line = call_line(call)
    return f"{reason}\n{line}" if reason else line


def parse_assistant(text: str) -> tuple[str, ToolCall | Stop | Invalid]:
    """Split a step reply into ``(reason, call)``: the last non-empty line is the call (JSON,
    ``tool(value, strength=...)`` or STOP); failing that, a JSON object anywhere in the text.
    Never raises: an unreadable reply gives :class:`~styling_env.engine.Invalid`."""
    if not isinstance(text, str):
        return "", Invalid(f"a reply must be a string, got {type(text).__name__}")
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    if not lines:
        return "", Invalid("empty reply")
    decoded = parse_text_action(lines[-1])[0]
    if isinstance(decoded, Invalid) and "{" in text:
        whole = parse_text_action(text)[0]
        if not isinstance(whole, Invalid):
            start = text.find("{")
            return " ".join(text[:start].split()), whole
    return " ".join(lines[:-1]), decoded


@dataclass
class ChatSample:
    """One chat-format training sample: ``messages`` = system, user, assistant (the target)."""

    messages: list[dict[str, str]]
    weight: float
    r: float
    task_id: str
    episode: int
    step: int | None  # None in plan mode
    image: np.ndarray | None = field(default=None, repr=False)  # (H, W, 3) uint8

    @property
    def prompt(self) -> list[dict[str, str]]:
        """The messages without the assistant's target."""
        return self.messages[:-1]

    @property
    def target(self) -> str:
        return self.messages[-1]["content"]


def _messages(system: str, user: str, assistant: str) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": system},
        {"role": "user", "content": user},
        {"role": "assistant", "content": assistant},
    ]


def to_chat_samples(
    data: Any,
    *,
    method: str = "s",
    mode: str = "step",
    include_image: bool = False,
    groups: str | Callable[[Mapping[str, Any]], Hashable] | None = None,
) -> list[ChatSample]:
    """Episodes -> chat samples for VLM/LLM planners.

    ``step``: one sample per step ``t``: the user message holds the request, the context of
    observation ``t`` and the calls ``0..t-1`` (stored JSON); the target is the stored reason
    ``t`` and call ``t`` (or ``STOP``). ``plan``: one sample per episode: the context of the
    source and the episode's paper-format JSON plan (``meta["plan"]``) as the target. Each sample
    carries the method's weight (:func:`~offline_data.weights.sample_weights` over the
    episodes' ``r``; ``groups`` as in :func:`to_tensors`) and, with ``include_image``, the
    current image (``step``) or the source (``plan``) as ``(H, W, 3)`` uint8.
    """
    method = check_method(method)
    if mode not in ("step", "plan"):
        raise ValueError(f"mode must be 'step' or 'plan', got {mode!r}")
    records, _, _ = _source(data)
    system = system_prompt(mode)
    samples: list[ChatSample] = []
    owner: list[int] = []
    rs: list[float] = []
    keys: list[Hashable] = []
    for e, rec in enumerate(records):
        n = _check_record(rec, need_image=include_image, need_infos=mode == "step")
        acts = _native(rec)
        obs = rec.observations
        task_id = str(rec.meta.get("task_id", rec.meta.get("task", {}).get("task_id", rec.id)))
        rs.append(float(rec.meta["r"]))
        if groups is not None:
            keys.append(_group_key(rec.meta, groups))
        if mode == "plan":
            if "plan" not in rec.meta:
                raise ValueError(f"episode {rec.id}: metadata has no 'plan' (needed for plan mode)")
            user = user_prompt(
                obs["instruction"][0],
                np.asarray(obs["context"][0], np.int64),
                steps_left=int(obs["steps_left"][0]),
            )
            img = np.asarray(obs["image"][0]) if include_image else None
            samples.append(
                ChatSample(
                    _messages(system, user, json.dumps(rec.meta["plan"])),
                    0.0,
                    rs[-1],
                    task_id,
                    int(rec.id),
                    None,
                    img,
                )
            )
            owner.append(e)
            continue
        calls = [str(c) for c in rec.infos["call"]]
        for t in range(n):
            call: Any = calls[t]
            if not call.strip():  # no stored JSON: rebuild the call from the native action
                call = (
                    Stop()
                    if acts["tool"][t] == STOP_TOOL
                    else ToolCall(
                        TOOL_NAMES[acts["tool"][t]],
                        TOOLS[TOOL_NAMES[acts["tool"][t]]][acts["value"][t]],
                        float(acts["strength"][t]),
                        REGIONS[acts["region"][t]],
                    )
                )
            user = user_prompt(
                obs["instruction"][t],
                np.asarray(obs["context"][t], np.int64),
                [c for c in calls[:t] if c.strip()],
                steps_left=int(obs["steps_left"][t]),
            )
            target = assistant_target(str(rec.infos["reasoning"][t]), call)
            img = np.asarray(obs["image"][t]) if include_image else None
            samples.append(
                ChatSample(
                    _messages(system, user, target), 0.0, rs[-1], task_id, int(rec.id), t, img
                )
            )
            owner.append(e)
    if not rs:
        raise ValueError("the dataset is empty: it holds no episodes")
    w = sample_weights(method, rs, groups=keys if groups is not None else None)
    for s, e in zip(samples, owner, strict=True):
        s.weight = float(w[e])
    return samples


# --------------------------------------------------------------------------------------------
# Observation vectors (d3rlpy, SB3-style agents)


class _CallableEncoder:
    def __init__(self, fn: Callable[[list[str]], Any]) -> None:
        self.fn = fn
        self.dim: int | None = None

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.asarray(self.fn(texts), np.float32)
        self.dim = int(out.shape[1])
        return out


def make_encoder(encoder: Any = None, dim: int = DEFAULT_ENCODER_DIM) -> Any:
    """The instruction encoder: ``None``/``"hash"`` -> :class:`styling_env.wrappers.HashingEncoder`
    (``dim``, no download, deterministic); ``"minilm"`` -> the offline all-MiniLM-L6-v2 (384-d);
    an object with ``encode(list[str]) -> (n, d)``; or a callable ``list[str] -> (n, d)``."""
    if encoder is None or encoder == "hash":
        return HashingEncoder(dim)
    if encoder == "minilm":
        from styling_env.wrappers import MiniLMEncoder

        return MiniLMEncoder()
    if hasattr(encoder, "encode"):
        return encoder
    if callable(encoder):
        return _CallableEncoder(encoder)
    raise ValueError(
        f"encoder must be None, 'hash', 'minilm', an object with encode() or a callable; got {encoder!r}"
    )


def _encode(encoder: Any, texts: Sequence[str]) -> np.ndarray:
    """Encode texts, each unique one once: ``(len(texts), d)`` float32."""
    uniq: dict[str, int] = {}
    idx = np.array([uniq.setdefault(str(t), len(uniq)) for t in texts], np.int64)
    emb = np.asarray(encoder.encode(list(uniq)), np.float32)
    if emb.ndim != 2 or emb.shape[0] != len(uniq):
        raise ValueError(f"the encoder returned shape {emb.shape} for {len(uniq)} texts")
    return emb[idx]


def vector_layout(
    max_steps: int = 8, instruction_dim: int = DEFAULT_ENCODER_DIM
) -> dict[str, tuple[int, int]]:
    """Segments ``name -> (start, stop)`` of :func:`observation_vector`:

    - ``context``: one-hot of each dimension's state (``sum(CONTEXT_NVEC)``);
    - ``history``: the ``(max_steps, 4)`` history flattened, filled rows scaled to [0, 1]
      (tool / 10, value / 30, strength, region / 8), padding rows left at -1 (-2 marks an
      invalid call's tool);
    - ``tools_used``: how many times each of the ten tools was called so far;
    - ``steps_left``: ``steps_left / max_steps``;
    - ``instruction``: the instruction encoder's vector.
    """
    sizes = [
        ("context", int(_CTX_NVEC.sum())),
        ("history", max_steps * 4),
        ("tools_used", len(TOOL_NAMES)),
        ("steps_left", 1),
        ("instruction", instruction_dim),
    ]
    out, start = {}, 0
    for name, n in sizes:
        out[name] = (start, start + n)
        start += n
    return out


def _vectors(
    context: np.ndarray, history: np.ndarray, steps_left: np.ndarray, emb: np.ndarray
) -> np.ndarray:
    b, max_steps = history.shape[0], history.shape[1]
    if context.shape != (b, len(CONTEXT_NVEC)) or steps_left.shape != (b,) or emb.shape[0] != b:
        raise ValueError(
            f"observation parts disagree: context {context.shape}, history {history.shape}, "
            f"steps_left {steps_left.shape}, instruction {emb.shape}"
        )
    if ((context < 0) | (context >= _CTX_NVEC)).any():
        raise ValueError(f"context states must lie in [0, CONTEXT_NVEC) = {CONTEXT_NVEC}")
    layout = vector_layout(max_steps, emb.shape[1])
    out = np.zeros((b, layout["instruction"][1]), np.float32)
    a, _ = layout["context"]
    out[np.arange(b)[:, None], a + _CTX_OFFSETS[None, :] + context] = 1.0
    h = history.astype(np.float32)
    filled = h[..., :1] >= 0
    a, z = layout["history"]
    out[:, a:z] = np.where(filled, h / _HISTORY_SCALE, h).reshape(b, -1)
    a, z = layout["tools_used"]
    tools = h[..., 0]
    out[:, a:z] = (tools[:, :, None] == np.arange(len(TOOL_NAMES))[None, None, :]).sum(1)
    a, _ = layout["steps_left"]
    out[:, a] = steps_left / max_steps
    a, z = layout["instruction"]
    out[:, a:z] = emb
    return out


def observation_vector(observation: Mapping[str, Any], encoder: Any = None) -> np.ndarray:
    """The vector part of the d3rlpy observation (:func:`vector_layout`) from env observations.

    ``observation``: one observation (``context`` ``(10,)``) -> ``(D,)``, or a batch
    (``context`` ``(B, 10)``, ``instruction`` a list of B strings, as the vector env gives) ->
    ``(B, D)``. An ``instruction`` already encoded (``EncodeInstruction``: floats ``(d,)`` /
    ``(B, d)``) is used as is. ``encoder`` as in :func:`make_encoder`: pass the one the data was
    built with (``dataset.transition_info.encoder``).
    """
    ctx = np.asarray(observation["context"], np.int64)
    single = ctx.ndim == 1
    ctx = ctx.reshape(-1, len(CONTEXT_NVEC))
    hist = np.asarray(observation["history"], np.float32)
    hist = hist[None] if hist.ndim == 2 else hist
    steps = np.asarray(observation["steps_left"], np.float32).reshape(-1)
    inst = observation["instruction"]
    if isinstance(inst, str):
        inst = [inst]
    arr = np.asarray(inst) if not isinstance(inst, list | tuple) else None
    if arr is not None and np.issubdtype(arr.dtype, np.number):
        emb = arr.astype(np.float32).reshape(ctx.shape[0], -1)
    else:
        emb = _encode(make_encoder(encoder), [str(t) for t in inst])
    out = _vectors(ctx, hist, steps, emb)
    return out[0] if single else out


def resize_uint8(images: np.ndarray, size: int | None, chunk: int = 2048) -> np.ndarray:
    """``(N, C, H, W)`` uint8 images resized to ``size`` x ``size`` (area averaging when
    shrinking, bilinear when growing), in chunks; unchanged when ``size`` is None or equal."""
    import torch
    import torch.nn.functional as F

    if size is None or images.shape[-1] == size and images.shape[-2] == size:
        return images
    out = np.empty((*images.shape[:2], size, size), np.uint8)
    mode = "area" if size < images.shape[-1] else "bilinear"
    for i in range(0, len(images), chunk):
        x = torch.from_numpy(np.ascontiguousarray(images[i : i + chunk])).float()
        kw = {} if mode == "area" else {"align_corners": False}
        y = F.interpolate(x, size=(size, size), mode=mode, **kw)
        out[i : i + chunk] = y.round().clamp(0, 255).to(torch.uint8).numpy()
    return out


def observation_tuple(
    observation: Mapping[str, Any],
    encoder: Any = None,
    *,
    with_source: bool = False,
    text_only: bool = False,
    work_size: int | None = None,
) -> Any:
    """The d3rlpy observation of env observations (one or a batch): ``[image (B, C, H, W)
    uint8, vector (B, D) float32]`` (``C`` = 6 with ``with_source``: current then source), or the
    vector alone when ``text_only``; images resized to ``work_size`` (as :func:`to_d3rlpy`
    stored them). Feed it to ``algo.predict``."""
    vec = observation_vector(observation, encoder)
    vec = vec[None] if vec.ndim == 1 else vec
    if text_only:
        return vec
    img = np.asarray(observation["image"])
    img = img[None] if img.ndim == 3 else img
    if img.dtype != np.uint8 or img.shape[-1] != 3:
        raise ValueError(f"images must be (B, H, W, 3) uint8, got {img.dtype} {img.shape}")
    chans = [img.transpose(0, 3, 1, 2)]
    if with_source:
        src = np.asarray(observation["source"])
        chans.append((src[None] if src.ndim == 3 else src).transpose(0, 3, 1, 2))
    return [resize_uint8(np.ascontiguousarray(np.concatenate(chans, axis=1)), work_size), vec]


# --------------------------------------------------------------------------------------------
# d3rlpy


@dataclass
class TransitionInfo:
    """What :func:`to_d3rlpy` attaches to the MDPDataset (``dataset.transition_info``): per
    transition, in the buffer's order (``dataset.buffer[i]`` is step ``step[i]`` of episode
    ``episode[i]``), and how observations were built (pass ``encoder``, ``with_source`` and
    ``text_only`` to :func:`observation_tuple` at evaluation time)."""

    weight: np.ndarray  # (N,) float32, sample_weights(method, r per episode) per transition
    r: np.ndarray  # (N,) float32
    episode: np.ndarray  # (N,) int64 episode id
    step: np.ndarray  # (N,) int64
    flat_action: np.ndarray  # (N,) int64
    task_id: list[str]
    method: str
    reward: str
    n_strength_bins: int
    encoder: Any
    with_source: bool
    text_only: bool
    layout: dict[str, tuple[int, int]]


def to_d3rlpy(
    data: Any,
    *,
    n_strength_bins: int = 4,
    image_size: int | None = None,
    method: str = "s",
    reward: str = "env",
    text_only: bool = False,
    with_source: bool = False,
    encoder: Any = None,
    groups: str | Callable[[Mapping[str, Any]], Hashable] | None = None,
    work_size: int | None = None,
) -> Any:
    """Episodes -> ``d3rlpy.dataset.MDPDataset`` (discrete actions of
    ``DiscreteActions(n_strength_bins)``; ``action_size`` = :func:`n_actions`).

    Observations are tuples ``[image (N, C, H, W) uint8, vector (N, D) float32]``, the vector
    as :func:`vector_layout` (one-hot context, history, tools used, steps left, instruction
    encoding). ``C`` = 3 (the current image) by default; ``with_source`` stacks the source as
    channels 3-5 (doubles the image memory; the vector's history already says what was done
    to the source). ``text_only`` gives the vector alone (then d3rlpy's default encoder works).
    ``work_size`` shrinks larger stored images to it (e.g. 128 px datasets to 64 px: 4x faster
    updates); :func:`observation_tuple` resizes live observations to the model's size.
    Use :class:`TupleEncoderFactory` as the algorithm's ``encoder_factory`` for tuples; it
    scales the uint8 image by 1/255 itself (no observation scaler needed).

    Alignment: step ``t``'s observation goes with action ``t`` (never the T + 1 shift of
    ``d3rlpy.datasets.get_minari``). A terminated episode (STOP) ends with ``terminals = 1``
    on its last step; a truncated one (``max_steps`` reached) gets its final observation
    appended as an extra row with ``timeouts = 1`` (and a STOP placeholder action that is never
    a transition), so its last real step still has its next observation and the buffer holds
    exactly one transition per step. Should a step be both terminated and truncated, it counts
    as terminated (d3rlpy forbids both).

    ``reward="env"``: the env's per-step rewards; ``reward="r"``: 0 except the trajectory's
    quality ``r`` on its last step. The method's weights and row bookkeeping are attached as
    ``dataset.transition_info`` (:class:`TransitionInfo`) and ``dataset.sample_weights``.
    """
    method = check_method(method)
    bins = _check_bins(n_strength_bins)
    explain_default_encoders()
    if reward not in ("env", "r"):
        raise ValueError(f"reward must be 'env' or 'r', got {reward!r}")
    if text_only and with_source:
        raise ValueError("with_source needs images; it cannot be combined with text_only")
    from d3rlpy import ActionSpace
    from d3rlpy.dataset import MDPDataset

    enc = make_encoder(encoder)
    # shrink each episode as it is read (area averaging, image by image: the same result as
    # resizing the whole array afterwards, without holding it at the stored size)
    shrink_fn = None
    if work_size is not None and not text_only:
        shrink_fn = lambda a: resize_uint8(a, work_size if work_size < a.shape[-1] else None)  # noqa: E731
    c = _collect(
        data, text_only=text_only, image_size=image_size, final_rows=True, groups=groups,
        shrink=shrink_fn,
    )  # fmt: skip
    emb_u = np.asarray(enc.encode(c.instructions), np.float32)
    if emb_u.ndim != 2 or emb_u.shape[0] != len(c.instructions):
        raise ValueError(
            f"the encoder returned shape {emb_u.shape} for {len(c.instructions)} texts"
        )
    vec = _vectors(
        c.context, c.history, c.steps_left.astype(np.float32), emb_u[c.instruction_index]
    )
    if text_only:
        obs: Any = vec
    else:
        img = c.image
        if with_source:
            img = np.concatenate([img, c.sources[c.source_row]], axis=1)
        shrink = work_size if work_size is not None and work_size < img.shape[-1] else None
        obs = [resize_uint8(img, shrink), vec]
    rewards = c.reward.copy()
    if reward == "r":
        rewards[:] = 0.0
        rewards[c.ep_last] = c.ep_r
    actions = flat_actions(c.tool, c.value, c.strength, bins)
    dataset = MDPDataset(
        observations=obs,
        actions=actions.reshape(-1, 1),
        rewards=rewards.reshape(-1, 1),
        terminals=c.terminal.astype(np.float32),
        timeouts=c.timeout.astype(np.float32),
        action_space=ActionSpace.DISCRETE,
        action_size=n_actions(bins),
    )
    steps = c.is_step
    row = c.source_row[steps]
    w_ep = sample_weights(method, c.ep_r, groups=c.ep_group)
    info = TransitionInfo(
        weight=w_ep[row].astype(np.float32),
        r=c.ep_r[row].astype(np.float32),
        episode=c.ep_id[row],
        step=c.step[steps],
        flat_action=actions[steps],
        task_id=[c.ep_task[i] for i in row.tolist()],
        method=method,
        reward=reward,
        n_strength_bins=bins,
        encoder=enc,
        with_source=with_source,
        text_only=text_only,
        layout=vector_layout(c.history.shape[1], emb_u.shape[1]),
    )
    dataset.transition_info = info
    dataset.sample_weights = info.weight
    return dataset


# The d3rlpy encoder is built on first use (importing d3rlpy costs ~3 s and a gym warning).
_LAZY: dict[str, Any] = {}


class TupleObservationError(TypeError):
    """d3rlpy's default encoders were given :func:`to_d3rlpy`'s tuple observations."""


def explain_default_encoders() -> None:
    """Make d3rlpy's built-in encoder factories (default, vector, pixel) refuse tuple
    observations with :class:`TupleObservationError`, which names the encoder to use, instead of
    a bare ``AssertionError`` from inside d3rlpy. Only that case changes: any other shape goes
    to d3rlpy unchanged. Installed once, by :func:`to_d3rlpy`."""
    if _LAZY.get("explained"):
        return
    from d3rlpy.models import encoders as E

    def guarded(create: Callable[..., Any], name: str) -> Callable[..., Any]:
        def create_checked(self: Any, observation_shape: Any, *args: Any, **kwargs: Any) -> Any:
            shape = observation_shape
            if isinstance(shape, list | tuple) and shape and isinstance(shape[0], list | tuple):
                raise TupleObservationError(
                    f"d3rlpy's {name} cannot read to_d3rlpy's tuple observations [image, vector] "
                    f"(shapes {[tuple(x) for x in shape]}): create the algorithm with "
                    "encoder_factory=offline_data.loaders.TupleEncoderFactory() (for a Q "
                    "function too), or build the data with to_d3rlpy(..., text_only=True) for "
                    "vector observations"
                )
            return create(self, observation_shape, *args, **kwargs)

        create_checked.__wrapped__ = create  # type: ignore[attr-defined]
        return create_checked

    for cls in (E.DefaultEncoderFactory, E.VectorEncoderFactory, E.PixelEncoderFactory):
        for meth in ("create", "create_with_action"):
            setattr(cls, meth, guarded(getattr(cls, meth), cls.__name__))
    _LAZY["explained"] = True


def _build_encoder_factory() -> Any:
    if "factory" in _LAZY:
        return _LAZY["factory"]
    import torch.nn.functional as F
    from d3rlpy.models.encoders import EncoderFactory, register_encoder_factory
    from d3rlpy.models.torch import Encoder, EncoderWithAction
    from torch import nn

    def split_shapes(shape: Any) -> tuple[tuple[int, ...] | None, tuple[int, ...] | None]:
        shapes = [tuple(s) for s in shape] if isinstance(shape[0], list | tuple) else [tuple(shape)]
        image = [s for s in shapes if len(s) == 3]
        vector = [s for s in shapes if len(s) == 1]
        if len(image) > 1 or len(vector) > 1 or len(image) + len(vector) != len(shapes):
            raise ValueError(
                f"TupleEncoderFactory takes [image (C, H, W), vector (D,)] observations (either alone too), got {shapes}"
            )
        return (image[0] if image else None), (vector[0] if vector else None)

    class _Trunk(nn.Module):
        def __init__(self, shape: Any, cfg: Any, extra: int = 0) -> None:
            super().__init__()
            image, vector = split_shapes(shape)
            self.order = [k for k, s in zip(("image", "vector"), (image, vector), strict=True) if s]
            width = extra
            if image is not None:
                layers: list[nn.Module] = []
                cin = image[0]
                for cout in cfg.channels:
                    layers += [nn.Conv2d(cin, cout, 3, stride=2, padding=1), nn.ReLU()]
                    cin = cout
                layers += [nn.AdaptiveAvgPool2d(cfg.pool), nn.Flatten()]
                self.cnn = nn.Sequential(*layers)
                width += cin * cfg.pool * cfg.pool
            if vector is not None:
                self.mlp = nn.Sequential(nn.Linear(vector[0], cfg.hidden_size), nn.ReLU())
                width += cfg.hidden_size
            self.head = nn.Sequential(nn.Linear(width, cfg.feature_size), nn.ReLU())

        def forward(self, x: Any, extra: torch.Tensor | None = None) -> torch.Tensor:
            xs = list(x) if isinstance(x, list | tuple) else [x]
            parts = []
            for kind, part in zip(self.order, xs, strict=True):
                parts.append(
                    self.cnn(part.float() / 255.0) if kind == "image" else self.mlp(part.float())
                )
            if extra is not None:
                parts.append(extra)
            return self.head(torch.cat(parts, dim=1))

    class TupleEncoder(Encoder):
        """A small CNN on the uint8 image (scaled by 1/255 here) + an MLP on the vector."""

        def __init__(self, shape: Any, cfg: Any) -> None:
            super().__init__()
            self.trunk = _Trunk(shape, cfg)

        def forward(self, x: Any) -> torch.Tensor:
            return self.trunk(x)

    class TupleEncoderWithAction(EncoderWithAction):
        def __init__(self, shape: Any, cfg: Any, action_size: int, discrete: bool) -> None:
            super().__init__()
            self.action_size, self.discrete = action_size, discrete
            self.trunk = _Trunk(shape, cfg, extra=action_size)

        def forward(self, x: Any, action: torch.Tensor) -> torch.Tensor:
            if self.discrete:
                action = F.one_hot(action.view(-1).long(), num_classes=self.action_size).float()
            return self.trunk(x, action)

    @dataclass()
    class TupleEncoderFactory(EncoderFactory):
        """d3rlpy encoder for :func:`to_d3rlpy`'s ``[image, vector]`` observations (an image or a
        vector alone works too): strided 3x3 convolutions (``channels``) + adaptive pooling to
        ``pool x pool`` on the image, a ``hidden_size`` layer on the vector, concatenated into
        ``feature_size`` features."""

        feature_size: int = 256
        hidden_size: int = 256
        channels: tuple[int, ...] = (16, 32, 32)
        pool: int = 2

        def create(self, observation_shape: Any) -> Encoder:
            return TupleEncoder(observation_shape, self)

        def create_with_action(
            self, observation_shape: Any, action_size: int, discrete_action: bool = False
        ) -> EncoderWithAction:
            return TupleEncoderWithAction(observation_shape, self, action_size, discrete_action)

        @staticmethod
        def get_type() -> str:
            return "image_styling_tuple"

    for cls in (TupleEncoderFactory, TupleEncoder, TupleEncoderWithAction):
        cls.__module__ = __name__
        cls.__qualname__ = cls.__name__
    with contextlib.suppress(AssertionError):  # registered by an earlier copy (a reload)
        register_encoder_factory(TupleEncoderFactory)
    _LAZY.update(
        factory=TupleEncoderFactory,
        encoder=TupleEncoder,
        encoder_with_action=TupleEncoderWithAction,
    )
    return TupleEncoderFactory


def __getattr__(name: str) -> Any:
    """``TupleEncoderFactory`` (and its encoders) are created, and registered with d3rlpy, on
    first access."""
    if name == "TupleEncoderFactory":
        return _build_encoder_factory()
    if name in ("TupleEncoder", "TupleEncoderWithAction"):
        _build_encoder_factory()
        return _LAZY["encoder" if name == "TupleEncoder" else "encoder_with_action"]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
