"""Reading episode records for the loaders: checking them and collecting their rows.

:func:`collect` turns a dataset id, a :class:`minari.MinariDataset` or a list of
:class:`~offline_data.dataset.EpisodeRecord` into one numpy row per step (observation ``t``
with action ``t``), checking every record's shapes and native actions on the way; the tensor
and d3rlpy loaders build on it, the chat loader on :func:`source`, :func:`check_record` and
:func:`native`.

Native actions are read in the action library the episode was played in
(:func:`record_library`: its task's ``library``, ``v2`` when the task names none); one
collection holds episodes of one library (another is a
:class:`~offline_data.errors.LibraryMismatchError`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from styling_env.actions import MASK_NAMES
from styling_env.tools.call import REGIONS
from styling_env.tools.library_tables import DEFAULT_LIBRARY, check_library, row_tables

from ..dataset import EpisodeRecord, episodes, load
from ..errors import LibraryMismatchError

_OBS_KEYS = ("context", "history", "steps_left", "instruction")
_ACTION_KEYS = ("tool", "value", "strength", "region", "preserve")

#: SW's standardization groups: an episode-metadata key or ``meta -> key`` (see ``to_tensors``).
Groups = str | Callable[[Mapping[str, Any]], Hashable]


def record_library(rec: EpisodeRecord) -> str:
    """The action library episode ``rec`` was played in: its task's ``library`` (``"v2"`` when
    the task names none, as every episode before the other libraries)."""
    task = rec.meta.get("task") if isinstance(rec.meta, Mapping) else None
    name = task.get("library", DEFAULT_LIBRARY) if isinstance(task, Mapping) else DEFAULT_LIBRARY
    try:
        return check_library(name)
    except ValueError as e:
        raise ValueError(f"episode {rec.id}: {e}") from None


def _check_native(rec: EpisodeRecord, acts: Mapping[str, np.ndarray], library: str) -> None:
    t, v, s, g = acts["tool"], acts["value"], acts["strength"], acts["region"]
    vocab = row_tables(library)["vocab"]
    stop = len(vocab)
    bad = (t < 0) | (t > stop)
    calls = (t >= 0) & (t < stop)
    bad |= calls & ((v < 0) | (v >= vocab[np.clip(t, 0, stop - 1)]))
    bad |= calls & ((g < 0) | (g >= len(REGIONS)) | ~(s >= 0) | ~(s <= 1))
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"episode {rec.id}, step {k}: invalid native action of library {library!r} (tool "
            f"{int(t[k])}, value {int(v[k])}, strength {float(s[k]):g}, region {int(g[k])})"
        )


def _is_minari(data: Any) -> bool:
    return hasattr(data, "iterate_episodes") and hasattr(data, "total_episodes")


def source(data: Any) -> tuple[Iterable[EpisodeRecord], int, int]:
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


def check_record(rec: EpisodeRecord, *, need_image: bool, need_infos: bool = False) -> int:
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


def group_key(meta: Mapping[str, Any], groups: Groups) -> Hashable:
    if callable(groups):
        return groups(meta)
    if groups in meta:
        return json.dumps(meta[groups], sort_keys=True, default=str)
    task = meta.get("task", {})
    if isinstance(task, Mapping) and groups in task:
        return json.dumps(task[groups], sort_keys=True, default=str)
    raise ValueError(f"episode metadata has no {groups!r} (nor task[{groups!r}]) to group by")


def task_id(rec: EpisodeRecord) -> str:
    """The episode's task id (``meta["task_id"]``, else ``meta["task"]["task_id"]``, else its
    episode id)."""
    return str(rec.meta.get("task_id", rec.meta.get("task", {}).get("task_id", rec.id)))


def native(rec: EpisodeRecord) -> dict[str, np.ndarray]:
    """The record's native actions (of its library, :func:`record_library`) as flat arrays:
    ``tool``, ``value``, ``region`` ``(T,)`` int64, ``strength`` ``(T,)`` float32,
    ``preserve`` ``(T, 6)`` int8 bits. Raises ``ValueError`` naming the episode for a malformed
    action or actions without ``preserve`` (a dataset of format version 1: regenerate it)."""
    a = rec.actions
    if "preserve" not in a:
        raise ValueError(
            f"episode {rec.id}: its actions have no 'preserve' bits (a dataset of format version "
            "1, before preserve was part of the action): regenerate it with `python -m "
            "offline_data generate`"
        )
    tool = np.asarray(a["tool"], np.int64).reshape(-1)
    keep = np.asarray(a["preserve"])
    if keep.shape != (tool.shape[0], len(MASK_NAMES)) or not np.isin(keep, (0, 1)).all():
        raise ValueError(
            f"episode {rec.id}: preserve must be ({tool.shape[0]}, {len(MASK_NAMES)}) bits of 0 "
            f"or 1, got shape {keep.shape}"
        )
    acts = {
        "tool": tool,
        "value": np.asarray(a["value"], np.int64).reshape(-1),
        "strength": np.asarray(a["strength"], np.float32).reshape(-1),
        "region": np.asarray(a["region"], np.int64).reshape(-1),
        "preserve": keep.astype(np.int8),
    }
    _check_native(rec, acts, record_library(rec))
    return acts


@dataclass
class Collected:
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
    preserve: np.ndarray  # (rows, 6) int8 bits
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
    library: str = DEFAULT_LIBRARY  # the action library of every episode's native actions


def collect(
    data: Any,
    *,
    text_only: bool,
    image_size: int | None,
    final_rows: bool,
    groups: Groups | None = None,
    shrink: Callable[[np.ndarray], np.ndarray] | None = None,
) -> Collected:
    records, total_steps, total_eps = source(data)
    if total_eps == 0:
        raise ValueError("the dataset is empty: it holds no episodes")
    cap = total_steps + (total_eps if final_rows else 0)
    image = sources = None
    context: np.ndarray | None = None  # width: the library's context dimensions (v3: 30)
    history: np.ndarray | None = None
    steps_left = np.zeros(cap, np.int64)
    inst_index = np.zeros(cap, np.int64)
    tool, value, region, step = (np.zeros(cap, np.int64) for _ in range(4))
    strength, reward = np.zeros(cap, np.float32), np.zeros(cap, np.float32)
    preserve = np.zeros((cap, len(MASK_NAMES)), np.int8)
    terminal, timeout, is_step = (np.zeros(cap, bool) for _ in range(3))
    source_row = np.zeros(cap, np.int64)
    inst_ids: dict[str, int] = {}
    ep_id, ep_r, ep_last, ep_task = [], [], [], []
    ep_group: list[Hashable] | None = [] if groups is not None else None
    hw: tuple[int, int] | None = None
    pos = 0
    lib: str | None = None
    for e, rec in enumerate(records):
        n = check_record(rec, need_image=not text_only)
        own = record_library(rec)
        if lib is None:
            lib = own
        elif own != lib:
            raise LibraryMismatchError(
                f"episode {rec.id} was played in action library {own!r}, earlier episodes in "
                f"{lib!r}: one collection holds episodes of one library (their native indices "
                "mean different calls)"
            )
        if e >= total_eps or pos + n + int(final_rows) > cap:
            raise ValueError("the dataset holds more steps or episodes than its metadata says")
        acts = native(rec)
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
        ctx = np.asarray(obs["context"], np.int64)[:rows]
        if context is None:
            context = np.zeros((cap, ctx.shape[-1]), np.int64)
        context[sl] = ctx
        history[sl] = hist[:rows]
        steps_left[sl] = np.asarray(obs["steps_left"], np.int64).reshape(-1)[:rows]
        for k, text in enumerate(obs["instruction"][:rows]):
            inst_index[pos + k] = inst_ids.setdefault(str(text), len(inst_ids))
        for name, arr in (
            ("tool", tool),
            ("value", value),
            ("strength", strength),
            ("region", region),
            ("preserve", preserve),
        ):
            arr[pos : pos + n] = acts[name]
        reward[pos : pos + n] = np.asarray(rec.rewards, np.float32)
        terminal[pos + n - 1] = term[-1]
        is_step[pos : pos + n] = True
        step[sl] = np.arange(rows)
        source_row[sl] = e
        if final_rows:
            if rows > n:  # cut (truncated) episode: its final observation closes it as a timeout
                tool[pos + n] = len(row_tables(own)["vocab"])  # the library's STOP
                timeout[pos + n] = True
        else:
            timeout[pos + n - 1] = trunc[-1] and not term[-1]
        ep_last.append(pos + n - 1)
        pos += rows
        ep_id.append(int(rec.id))
        ep_r.append(float(rec.meta["r"]))
        ep_task.append(task_id(rec))
        if ep_group is not None:
            ep_group.append(group_key(rec.meta, groups))
    n_eps = len(ep_id)
    if n_eps == 0:
        raise ValueError("the dataset is empty: it holds no episodes")
    cut = slice(0, pos)
    return Collected(
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
        preserve=preserve[cut],
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
        library=lib or DEFAULT_LIBRARY,
    )


def reworded_records(data: Any, n: int) -> list[EpisodeRecord]:
    """The episodes of ``data`` (a dataset id, a Minari dataset or records), each followed by
    ``n`` copies whose request is written in another training wording
    (:func:`styling_env.rewording.reworded`, variants 1..n, as the embedded planner's
    ``TrainConfig.rewordings`` shows them): language augmentation for learners that sample a
    fixed buffer (d3rlpy). A copy shares its episode's images, actions and rewards; an episode
    whose request no generated train task wrote (imported data, another language version) is
    kept once, in its own words."""
    import dataclasses

    from styling_env.rewording import generated_train_task, reworded

    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"rewordings must be an int >= 0, got {n!r}")
    records, _, _ = source(data)
    out: list[EpisodeRecord] = []
    for rec in records:
        out.append(rec)
        words = list(rec.observations.get("instruction", ()))
        task = generated_train_task(task_id(rec), str(words[0])) if n and words else None
        for k in range(1, n + 1 if task is not None else 1):
            obs = dict(rec.observations)
            obs["instruction"] = [reworded(task, k).instruction] * len(words)
            out.append(dataclasses.replace(rec, observations=obs))
    return out
