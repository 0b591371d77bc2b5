"""Episodes -> chat samples for language / vision-language planners, and the prompts.

:func:`to_chat_samples` gives one :class:`ChatSample` per step (reason + JSON call, or STOP) or
one per episode (the whole JSON plan). The prompt builders :func:`system_prompt`,
:func:`user_prompt`, :func:`assistant_target` and the reply parser :func:`parse_assistant` take
only what a live observation holds, so planners prompt the same way at inference time.

Episodes of another action library (``normal``, ``v3``: :mod:`styling_env.libraries`) are
prompted in that library: the system prompt lists its actions
(:meth:`~styling_env.libraries.Library.describe`), the targets are its JSON
(:meth:`~styling_env.libraries.Library.to_json`) and :func:`parse_assistant` reads a reply back
with :meth:`~styling_env.libraries.Library.from_json` (``library=``).
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from styling_env.actions import STOP as STOP_TOOL
from styling_env.actions import preserve_names
from styling_env.context import context_text
from styling_env.engine import Invalid, Stop
from styling_env.libraries import library as get_library
from styling_env.tools.call import REGIONS, ToolCall
from styling_env.tools.library_tables import DEFAULT_LIBRARY
from styling_env.tools.vocabulary import TOOL_NAMES, TOOLS, VALUE_PARAMS
from styling_env.validation import choice
from styling_env.wrappers import parse_text_action

from ..errors import LibraryMismatchError
from ..weights import check_method, sample_weights
from .records import Groups, check_record, group_key, native, record_library, source, task_id

#: The two sample modes: one sample per step, or one per episode (the whole plan).
MODES: tuple[str, ...] = ("step", "plan")

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


_LIBRARY_NOTES = {
    "normal": "Constraint and compositional actions (except graduated_effect) paint nothing by "
    "themselves: each sets a rule for the calls after it (what to protect, where or whether "
    "the next calls apply, how they blend). A value written a/b is two parameters, the second "
    "named after the slash in the action's line.",
    "v3": "The ten base tools take coarse values; the twenty styling actions add looks of "
    "their own (movements, lenses, grain, lighting patterns).",
}


def system_prompt(mode: str = "step", library: str = DEFAULT_LIBRARY) -> str:
    """The system message: the task, the ten tools with their value parameter and values, the
    strength, and the reply format (``step``: a reason line, then one JSON call or ``STOP``;
    ``plan``: the paper's whole JSON plan). In another action ``library``, its actions
    (:meth:`~styling_env.libraries.Library.describe`: id, kind, value parameter, values) and
    its limit of calls per plan."""
    choice("mode", mode, MODES)
    lib = get_library(library)
    if lib.name != DEFAULT_LIBRARY:
        return _library_prompt(mode, lib)
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


def _library_prompt(mode: str, lib: Any) -> str:
    lines = [
        "You are an image-styling planner. You restyle a picture to match a user's request by "
        "calling the actions of a library"
        + (
            ", one call at a time, and you stop when it matches."
            if mode == "step"
            else ": you write the whole plan of calls at once."
        ),
        "",
        f"Actions of library {lib.name} ({lib.version}; action id, kind, value parameter, and "
        "the values it accepts):",
        *(f"- {line}" for line in lib.describe().splitlines()),
        "",
        _LIBRARY_NOTES.get(lib.name, ""),
        f"A plan holds at most {lib.max_calls} calls.",
        "",
        "Every call takes a strength in [0, 1]: 0 leaves the picture untouched, 1 is the "
        "strongest rendering.",
        "",
        (_STEP_FORMAT if mode == "step" else _PLAN_FORMAT)
        .replace("REGIONS", ", ".join(REGIONS))
        .replace("Use 1 to 5 actions", f"Use 1 to {lib.max_calls} actions")
        .replace("tool id", "action id"),
    ]
    return "\n".join(lines)


def call_line(
    call: ToolCall | Stop | Mapping[str, Any] | str, library: str = DEFAULT_LIBRARY
) -> str:
    """One call as one line: the paper's JSON action object (keys sorted; a call in the words
    of ``library``), or ``STOP``."""
    if isinstance(call, Stop):
        return "STOP"
    if isinstance(call, ToolCall):
        lib = get_library(library)
        d = call.to_dict() if lib.name == DEFAULT_LIBRARY else lib.to_json(call)
        return json.dumps(d, sort_keys=True)
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
    library: str = DEFAULT_LIBRARY,
) -> str:
    """The user message: the request, the scene context (Stage 1) and the calls so far (calls
    given as ``ToolCall`` are written in ``library``'s words; JSON text is kept as it is).

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
        lines = [call_line(c, library) for c in calls]
        parts += ["", "Calls so far:" if lines else "Calls so far: none", *lines]
    if steps_left is not None:
        parts += ["", f"Calls left: {int(steps_left)}"]
    return "\n".join(parts)


def assistant_target(
    reasoning: str,
    call: ToolCall | Stop | Mapping[str, Any] | str,
    library: str = DEFAULT_LIBRARY,
) -> str:
    """The assistant reply of a step: the reason on one line, then :func:`call_line` (JSON in
    ``library``'s words, or ``STOP``)."""
    reason = " ".join(str(reasoning).split())
    line = call_line(call, library)
    return f"{reason}\n{line}" if reason else line


def _library_action(text: str, lib: Any) -> ToolCall | Stop | Invalid:
    """One reply line (or text holding one JSON object) in ``lib``'s JSON, read with
    :meth:`~styling_env.libraries.Library.from_json`."""
    line = text.strip()
    if line.upper() == "STOP":
        return Stop()
    start, end = line.find("{"), line.rfind("}")
    if start < 0 or end < start:
        return Invalid(f"expected a JSON action object of library {lib.name!r} or STOP")
    try:
        obj = json.loads(line[start : end + 1])
    except json.JSONDecodeError as e:
        return Invalid(f"the action is not valid JSON ({e.msg})")
    if isinstance(obj, Mapping) and str(obj.get("action_id", "")).upper() == "STOP":
        return Stop()
    try:
        return lib.from_json(obj)
    except (TypeError, ValueError) as e:
        return Invalid(str(e))


def parse_assistant(
    text: str, library: str = DEFAULT_LIBRARY
) -> tuple[str, ToolCall | Stop | Invalid]:
    """Split a step reply into ``(reason, call)``: the last non-empty line is the call (JSON,
    ``tool(value, strength=...)`` or STOP); failing that, a JSON object anywhere in the text.
    In another action ``library`` the call is its JSON (or STOP), read with
    :meth:`~styling_env.libraries.Library.from_json`. Never raises: an unreadable reply gives
    :class:`~styling_env.engine.Invalid`."""
    if not isinstance(text, str):
        return "", Invalid(f"a reply must be a string, got {type(text).__name__}")
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    if not lines:
        return "", Invalid("empty reply")
    lib = get_library(library)
    if lib.name != DEFAULT_LIBRARY:
        decoded = _library_action(lines[-1], lib)
        if isinstance(decoded, Invalid) and "{" in text:
            whole = _library_action(text, lib)
            if not isinstance(whole, Invalid):
                start = text.find("{")
                return " ".join(text[:start].split()), whole
        return " ".join(lines[:-1]), decoded
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
    groups: Groups | None = None,
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
    choice("mode", mode, MODES)
    records, _, _ = source(data)
    lib: str | None = None
    system = ""
    samples: list[ChatSample] = []
    owner: list[int] = []
    rs: list[float] = []
    keys: list[Hashable] = []
    for e, rec in enumerate(records):
        n = check_record(rec, need_image=include_image, need_infos=mode == "step")
        own = record_library(rec)
        if lib is None:
            lib, system = own, system_prompt(mode, own)
        elif own != lib:
            raise LibraryMismatchError(
                f"episode {rec.id} was played in action library {own!r}, earlier episodes in "
                f"{lib!r}: chat samples of one call are prompted in one library"
            )
        acts = native(rec)
        obs = rec.observations
        tid = task_id(rec)
        rs.append(float(rec.meta["r"]))
        if groups is not None:
            keys.append(group_key(rec.meta, groups))
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
                    tid,
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
                call = _native_call(acts, t, own)
            user = user_prompt(
                obs["instruction"][t],
                np.asarray(obs["context"][t], np.int64),
                [c for c in calls[:t] if c.strip()],
                steps_left=int(obs["steps_left"][t]),
            )
            target = assistant_target(str(rec.infos["reasoning"][t]), call, own)
            img = np.asarray(obs["image"][t]) if include_image else None
            samples.append(
                ChatSample(_messages(system, user, target), 0.0, rs[-1], tid, int(rec.id), t, img)
            )
            owner.append(e)
    if not rs:
        raise ValueError("the dataset is empty: it holds no episodes")
    w = sample_weights(method, rs, groups=keys if groups is not None else None)
    for s, e in zip(samples, owner, strict=True):
        s.weight = float(w[e])
    return samples


def _native_call(acts: Mapping[str, np.ndarray], t: int, library: str) -> ToolCall | Stop:
    """Native action ``t`` of ``acts`` (of ``library``) as the call (or STOP) it stands for."""
    lib = get_library(library)
    tool = int(acts["tool"][t])
    stop = STOP_TOOL if lib.name == DEFAULT_LIBRARY else lib.stop
    if tool == stop:
        return Stop()
    if lib.name == DEFAULT_LIBRARY:
        return ToolCall(
            TOOL_NAMES[tool],
            TOOLS[TOOL_NAMES[tool]][acts["value"][t]],
            float(acts["strength"][t]),
            REGIONS[acts["region"][t]],
            _preserve_params(acts["preserve"][t]),
        )
    return lib.call(
        tool, int(acts["value"][t]), float(acts["strength"][t]), int(acts["region"][t]),
        preserve_names(acts["preserve"][t]),
    )  # fmt: skip


def _preserve_params(bits: np.ndarray) -> tuple[tuple[str, Any], ...]:
    """A native action's ``preserve`` bits as a call's ``preserve`` parameter (none if empty)."""
    keep = preserve_names(bits)
    return (("preserve", keep),) if keep else ()
