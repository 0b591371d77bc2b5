"""Episodes -> chat samples for language / vision-language planners, and the prompts.

:func:`to_chat_samples` gives one :class:`ChatSample` per step (reason + JSON call, or STOP) or
one per episode (the whole JSON plan). The prompt builders :func:`system_prompt`,
:func:`user_prompt`, :func:`assistant_target` and the reply parser :func:`parse_assistant` take
only what a live observation holds, so planners prompt the same way at inference time.
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
from styling_env.tools.call import REGIONS, ToolCall
from styling_env.tools.vocabulary import TOOL_NAMES, TOOLS, VALUE_PARAMS
from styling_env.validation import choice
from styling_env.wrappers import parse_text_action

from ..weights import check_method, sample_weights
from .records import Groups, check_record, group_key, native, source, task_id

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


def system_prompt(mode: str = "step") -> str:
    """The system message: the task, the ten tools with their value parameter and values, the
    strength, and the reply format (``step``: a reason line, then one JSON call or ``STOP``;
    ``plan``: the paper's whole JSON plan)."""
    choice("mode", mode, MODES)
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
    system = system_prompt(mode)
    samples: list[ChatSample] = []
    owner: list[int] = []
    rs: list[float] = []
    keys: list[Hashable] = []
    for e, rec in enumerate(records):
        n = check_record(rec, need_image=include_image, need_infos=mode == "step")
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
                call = (
                    Stop()
                    if acts["tool"][t] == STOP_TOOL
                    else ToolCall(
                        TOOL_NAMES[acts["tool"][t]],
                        TOOLS[TOOL_NAMES[acts["tool"][t]]][acts["value"][t]],
                        float(acts["strength"][t]),
                        REGIONS[acts["region"][t]],
                        _preserve_params(acts["preserve"][t]),
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
                ChatSample(_messages(system, user, target), 0.0, rs[-1], tid, int(rec.id), t, img)
            )
            owner.append(e)
    if not rs:
        raise ValueError("the dataset is empty: it holds no episodes")
    w = sample_weights(method, rs, groups=keys if groups is not None else None)
    for s, e in zip(samples, owner, strict=True):
        s.weight = float(w[e])
    return samples


def _preserve_params(bits: np.ndarray) -> tuple[tuple[str, Any], ...]:
    """A native action's ``preserve`` bits as a call's ``preserve`` parameter (none if empty)."""
    keep = preserve_names(bits)
    return (("preserve", keep),) if keep else ()
