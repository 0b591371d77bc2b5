"""Prompts from live observations, and the closed-/open-loop logic of a chat planner.

One piece serves every text-generating planner (the Qwen3-VL planner of :mod:`agents.qwen.agent`
and the chat-endpoint planner of :mod:`agents.endpoint`): a subclass of :class:`ChatPlanner` only
says how a batch of :class:`Prompt` becomes replies (:meth:`ChatPlanner.complete`).

The prompts are the training prompts (:func:`offline_data.loaders.system_prompt`,
:func:`~offline_data.loaders.user_prompt`), built from what an observation holds:

- ``step`` (closed loop): after every observed image, one reply = a reason line and one JSON call
  (or ``STOP``) — :func:`~offline_data.loaders.assistant_target`'s format, read back with
  :func:`~offline_data.loaders.parse_assistant`. The user message lists the calls so far.
- ``plan`` (open loop): at the start of an episode, one reply = the paper's whole JSON plan; its
  calls are queued and fed one per step (:class:`styling_env.TextToolCalls` semantics), then
  ``STOP``.

A reply that cannot be read becomes an :class:`~styling_env.engine.Invalid` call: the env
reports it (``info["error"]``, a penalty) and the episode goes on. This module imports neither
torch nor transformers.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from offline_data.loaders import call_line, parse_assistant, system_prompt, user_prompt
from styling_env.actions import bitmask_bits, preserve_names
from styling_env.engine import Invalid, Stop
from styling_env.libraries import DEFAULT_LIBRARY, check_library
from styling_env.libraries import library as get_library
from styling_env.tools import ToolCall
from styling_env.wrappers import parse_text_action

#: The planner's reply formats: one step per observation, or one plan per episode.
MODES: tuple[str, ...] = ("step", "plan")


def check_mode(mode: str) -> str:
    """Return ``mode`` or raise ``ValueError`` naming the valid ones."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    return mode


@dataclass(frozen=True)
class Prompt:
    """One request to a planner: the system and user messages and, in vision mode, the current
    image ``(H, W, 3)`` uint8."""

    system: str
    user: str
    image: np.ndarray | None = field(default=None, repr=False, compare=False)

    def messages(self) -> list[dict[str, Any]]:
        """Chat messages in the processor format of Qwen3-VL (and OpenAI's): the user content is a
        list ``[{"type": "image"}, {"type": "text", ...}]`` when there is an image."""
        user: Any = self.user
        if self.image is not None:
            user = [{"type": "image"}, {"type": "text", "text": self.user}]
        return [{"role": "system", "content": self.system}, {"role": "user", "content": user}]


def history_calls(history: np.ndarray, library: str = DEFAULT_LIBRARY) -> list[ToolCall]:
    """The valid calls of an observation's ``history`` rows ``(max_steps, 5)`` (tool, value,
    strength, region, preserve bitmask, native indices of ``library``; padding ``-1``,
    invalid ``-2`` and STOP rows are skipped). A call's preserve bitmask comes back as its
    ``preserve`` parameter."""
    lib = get_library(library)
    out = []
    for row in np.asarray(history, np.float64).tolist():
        tool, value, strength, region = row[:4]
        t = int(tool)
        if 0 <= t < lib.stop:
            keep = preserve_names(bitmask_bits(int(row[4]))) if len(row) > 4 else ()
            out.append(lib.call(t, int(value), float(strength), int(region), keep))
    return out


def episode_over(history: np.ndarray, steps_left: int, library: str = DEFAULT_LIBRARY) -> bool:
    """Whether a sub-env's episode has ended (STOP was called or no call is left): its
    observation no longer needs a reply."""
    stop = get_library(library).stop
    return int(steps_left) <= 0 or bool((np.asarray(history)[:, 0] == stop).any())


def parse_plan(
    text: str, library: str = DEFAULT_LIBRARY
) -> list[tuple[ToolCall | Stop | Invalid, str]]:
    """A plan reply (JSON in ``library``'s words) -> its calls in order, each with its
    ``reasoning`` (``""`` when absent). Never raises: an unreadable plan is one
    :class:`Invalid`."""
    calls = parse_text_action(text if isinstance(text, str) else str(text), library)
    reasons = [""] * len(calls)
    data = None
    if isinstance(text, str) and "{" in text:
        for chunk in (text, text[text.find("{") : text.rfind("}") + 1]):
            try:
                data = json.loads(chunk)
                break
            except json.JSONDecodeError:
                continue
    actions = data.get("actions") if isinstance(data, dict) else data
    if isinstance(actions, list) and len(actions) == len(calls):
        reasons = [
            " ".join(str(a.get("reasoning", "")).split()) if isinstance(a, dict) else ""
            for a in actions
        ]
    return list(zip(calls, reasons, strict=True))


@dataclass
class _Episode:
    """A sub-env's episode as the planner sees it."""

    calls: list[str] = field(default_factory=list)  # call lines of the valid calls made
    queue: deque = field(default_factory=deque)  # plan mode: (call, reason) still to feed
    planned: bool = False


class ChatPlanner:
    """A batched planner over a text generator (the agent protocol of :mod:`agents.evaluate`).

    Subclasses implement :meth:`complete`. ``predict`` returns one
    :class:`~styling_env.tools.ToolCall`, :class:`~styling_env.engine.Stop` or
    :class:`~styling_env.engine.Invalid` per sub-env; ``last_reasons`` holds each sub-env's
    reason for it and ``last_replies`` the raw replies of the last generation (``None`` where
    none was asked for).

    Args:
        mode: ``"step"`` (closed loop: one call per observed image) or ``"plan"`` (open loop:
            one plan per episode, fed call by call, then ``STOP``).
        vision: put the current image (``step``) or the source (``plan``, the first
            observation) in the prompt; ``False`` is the text-only variant (the env is then
            evaluated with ``observation_mode="text"``).
        deterministic: the default of :meth:`predict`'s ``deterministic`` (greedy decoding).
        library: the action library it calls (``styling_env.libraries``): the system prompt
            lists its actions, replies are read in its JSON words, and it is evaluated in an
            env of that library.
    """

    name = "chat-planner"

    def __init__(
        self,
        mode: str = "step",
        *,
        vision: bool = True,
        deterministic: bool = True,
        library: str = DEFAULT_LIBRARY,
    ):
        self.mode = check_mode(mode)
        self.vision = bool(vision)
        self.deterministic = bool(deterministic)
        self.library = check_library(library)
        self.system = system_prompt(self.mode, self.library)
        self.last_reasons: list[str] = []
        self.last_replies: list[str | None] = []
        self._episodes: dict[int, _Episode] = {}

    @property
    def observation_mode(self) -> str:
        """The env's ``observation_mode`` this planner needs (``"image"`` or ``"text"``)."""
        return "image" if self.vision else "text"

    # -- to implement ----------------------------------------------------------------------

    def complete(self, prompts: Sequence[Prompt], deterministic: bool) -> list[str | Invalid]:
        """One reply per prompt; a failure of one request may be returned as an
        :class:`Invalid` naming the problem (it becomes that sub-env's invalid call)."""
        raise NotImplementedError

    # -- the protocol -------------------------------------------------------------------------

    def prompt(self, observation: Mapping[str, Any], i: int) -> Prompt:
        """The prompt of sub-env ``i`` of a batched observation (its calls so far included in
        ``step`` mode)."""
        image = None
        if self.vision:
            if "image" not in observation:
                raise ValueError(
                    "a vision planner needs the observation's 'image': evaluate it with "
                    "observation_mode='image' (or build the planner with vision=False)"
                )
            image = np.asarray(observation["image"][i], np.uint8)
        calls = None if self.mode == "plan" else self._calls(observation, i)
        user = user_prompt(
            str(observation["instruction"][i]),
            np.asarray(observation["context"][i], np.int64),
            calls,
            steps_left=int(np.asarray(observation["steps_left"][i])),
            library=self.library,
        )
        return Prompt(self.system, user, image)

    def _calls(self, observation: Mapping[str, Any], i: int) -> list[str]:
        ep = self._episodes[i]
        done = history_calls(observation["history"][i], self.library)
        if len(done) != len(ep.calls):  # state out of step with the env: trust the env
            ep.calls = [call_line(c, self.library) for c in done]
        return ep.calls

    def predict(
        self,
        observation: Mapping[str, Any],
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool | None = None,
    ) -> tuple[Any, Any]:
        """Batched observations -> (a list of calls, ``state`` unchanged). One env's observation
        (``instruction`` a string) gives one call. ``episode_start`` marks the sub-envs whose
        episode begins (``None``: those never seen)."""
        det = self.deterministic if deterministic is None else bool(deterministic)
        single = isinstance(observation["instruction"], str)
        if single:
            observation = {k: [v] for k, v in observation.items()}
        n = len(observation["instruction"])
        starts = (
            np.zeros(n, bool)
            if episode_start is None
            else np.asarray(episode_start, bool).reshape(-1)
        )
        if starts.size != n:
            raise ValueError(f"episode_start has {starts.size} entries for {n} observations")
        for i in range(n):
            if starts[i] or i not in self._episodes:
                self._episodes[i] = _Episode()
        actions: list[ToolCall | Stop | Invalid] = [Stop()] * n
        reasons = [""] * n
        replies: list[str | None] = [None] * n
        ask: list[int] = []
        for i in range(n):
            ep = self._episodes[i]
            if episode_over(observation["history"][i], observation["steps_left"][i], self.library):
                continue
            if self.mode == "step" or not ep.planned:
                ask.append(i)
            elif ep.queue:
                actions[i], reasons[i] = ep.queue.popleft()
        if ask:
            answers = self.complete([self.prompt(observation, i) for i in ask], det)
            if len(answers) != len(ask):
                raise RuntimeError(f"{type(self).__name__}.complete gave {len(answers)} replies for {len(ask)} prompts")  # fmt: skip
            for i, answer in zip(ask, answers, strict=True):
                actions[i], reasons[i] = self._read(i, answer)
                replies[i] = answer if isinstance(answer, str) else None
        for i, a in enumerate(actions):
            if isinstance(a, ToolCall):
                self._episodes[i].calls.append(call_line(a, self.library))
        self.last_reasons, self.last_replies = reasons, replies
        return (actions[0] if single else actions), state

    def _read(self, i: int, answer: str | Invalid) -> tuple[ToolCall | Stop | Invalid, str]:
        ep = self._episodes[i]
        ep.planned = True
        if isinstance(answer, Invalid):
            return answer, ""
        if self.mode == "step":
            reason, call = parse_assistant(answer, self.library)
            return _explain(call, answer), reason
        ep.queue = deque(parse_plan(answer, self.library))
        call, reason = ep.queue.popleft()
        return _explain(call, answer), reason


def _explain(call: ToolCall | Stop | Invalid, reply: str) -> ToolCall | Stop | Invalid:
    if isinstance(call, Invalid):
        snippet = " ".join(reply.split())[:120]
        if snippet[:40] in call.error:  # the parser's message already quotes the reply
            return call
        return Invalid(f"{call.error} (reply: {snippet!r})")
    return call


__all__ = [
    "MODES",
    "ChatPlanner",
    "Prompt",
    "check_mode",
    "episode_over",
    "history_calls",
    "parse_plan",
]
