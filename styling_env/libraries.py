"""The paper's three action libraries as action spaces over one vocabulary of calls.

The paper's code release ships three libraries of actions a planner may call:

- ``"v2"`` (``action_library_v2.json``, version 2.1; the default): the ten orthogonal tools with
  enumerated values, at most 8 calls per plan.
- ``"normal"`` (``action_library_normal.json``, "3.0-complex"): the ten tools plus five
  *constraint* actions, which set a rule for the calls after them (keep the people as they are,
  leave the left half alone, only if it is dark), and five *compositional* actions, which relate
  transformations (a fog that thins towards the top, two edits blended together), at most 8.
- ``"v3"`` (``action_library_v3.json``, "v3.0"): the ten tools with coarser parameters (``time``:
  dawn, morning, noon, ...) plus twenty styling actions (``lens_character``, ``grain_noise``,
  ``lighting_style``, ...), at most 5.

Every library's calls are :class:`~styling_env.tools.ToolCall` objects over one vocabulary
(:data:`~styling_env.tools.vocabulary.ALL_TOOLS`): a v3 ``time_of_day`` call for ``"dawn"`` *is*
the call ``ToolCall("time_of_day", "sunrise_golden")``, so the judge, the oracle and the recipes
serve all three. A :class:`Library` is the part that differs: which actions a planner sees, in
which order (the native ``tool`` index), with which words for their values (the native
``value`` index), how the paper's JSON names them, and how many calls a plan may hold.

>>> lib = library("v3")
>>> lib.stop, lib.max_values, lib.max_calls
(30, 8, 5)
>>> lib.call(lib.tool_index("time_of_day"), lib.actions[3].words.index("dawn"), 0.5)
ToolCall(tool='time_of_day', value='sunrise_golden', strength=0.5, region='all', params=())
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .tools.call import REGIONS, ToolCall
from .tools.library_tables import (
    _NORMAL_PARAMS,
    DEFAULT_LIBRARY,
    LIBRARY_NAMES,
    V3_BASE,
    V3_LEVELS,
    check_library,
    row_tables,
)
from .tools.vocabulary import (
    ALL_TOOLS,
    ALL_VALUE_PARAMS,
    COMPOSITIONAL_ACTIONS,
    CONSTRAINT_ACTIONS,
    GEOMETRIC_REGIONS,
    NORMAL_ACTIONS,
    TOOL_NAMES,
    TOOLS,
    V3_ACTIONS,
)


@dataclass(frozen=True)
class Action:
    """One action of a library: a tool of the shared vocabulary seen through the library's words.

    Attributes:
        tool: the tool id (the paper's ``action_id``), a key of ``ALL_TOOLS``.
        kind: ``"tool"`` (renders), ``"constraint"`` or ``"compositional"``.
        param: the name of the value's parameter in the paper's JSON (``"time"`` in v3,
            ``"target_time"`` in v2). A ``normal`` value written ``"a/b"`` is two parameters:
            ``param`` and :attr:`second`.
        words: the library's values in native ``value`` index order (``"dawn"``).
        values: for each word, the vocabulary value the call renders (``"sunrise_golden"``);
            the same as ``words`` except for the v3 library's coarser base tools.
        second: the second parameter of a ``"a/b"`` value (``"transformation_type"``), or "".
        levels: parameters whose verbal level (``"subtle"``, ``"heavy"``) sets the strength.
    """

    tool: str
    kind: str
    param: str
    words: tuple[str, ...]
    values: tuple[str, ...]
    second: str = ""
    levels: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if len(self.words) != len(self.values) or len(set(self.words)) != len(self.words):
            raise ValueError(f"{self.tool}: words and values must pair one to one")
        for v in self.values:
            if v not in ALL_TOOLS[self.tool]:
                raise ValueError(f"{self.tool}: {v!r} is not a value of the vocabulary")
        if len(set(self.values)) != len(self.values):
            raise ValueError(f"{self.tool}: two words render the same value")

    def word(self, value: str) -> str:
        """The library's word for vocabulary value ``value`` (``ValueError`` if it has none)."""
        try:
            return self.words[self.values.index(value)]
        except ValueError:
            raise ValueError(
                f"{self.tool}={value!r} has no word in this library; its values are "
                f"{', '.join(self.values)}"
            ) from None


@dataclass(frozen=True)
class Library:
    """An action library: its actions in native ``tool`` index order, STOP after the last.

    Attributes:
        name: ``"v2"``, ``"normal"`` or ``"v3"``.
        version: the release's version string of the library.
        actions: the actions, in native ``tool`` index order.
        max_calls: the release's ``max_actions_per_plan``.
    """

    name: str
    version: str
    actions: tuple[Action, ...]
    max_calls: int
    _index: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._index.update({a.tool: i for i, a in enumerate(self.actions)})

    # -- sizes ---------------------------------------------------------------------------------

    @property
    def tool_names(self) -> tuple[str, ...]:
        """Tool ids in native ``tool`` index order."""
        return tuple(a.tool for a in self.actions)

    @property
    def stop(self) -> int:
        """The native ``tool`` index that ends an episode (one past the last action)."""
        return len(self.actions)

    @property
    def vocab_sizes(self) -> tuple[int, ...]:
        """Number of values of each action, in ``tool`` index order."""
        return tuple(len(a.words) for a in self.actions)

    @property
    def max_values(self) -> int:
        """The size of the native ``value`` Discrete (the largest vocabulary)."""
        return max(self.vocab_sizes)

    @property
    def rows(self) -> tuple[tuple[str, str], ...]:
        """Every ``(tool, vocabulary value)`` the library can call, actions in order, values in
        order: the rows of its flat action and of per-value tables."""
        return tuple((a.tool, v) for a in self.actions for v in a.values)

    def action(self, tool: str) -> Action:
        """The action of tool id ``tool``; ``ValueError`` naming the library's tools if absent."""
        try:
            return self.actions[self._index[tool]]
        except KeyError:
            raise ValueError(
                f"library {self.name!r} has no action {tool!r}; its actions are "
                f"{', '.join(self.tool_names)}"
            ) from None

    def tool_index(self, tool: str) -> int:
        """The native ``tool`` index of ``tool``."""
        self.action(tool)
        return self._index[tool]

    def has(self, call: ToolCall) -> bool:
        """Whether this library can express ``call``'s tool and value."""
        return (
            call.tool in self._index and call.value in self.actions[self._index[call.tool]].values
        )

    # -- native indices <-> calls ---------------------------------------------------------------

    def call(
        self,
        tool: int,
        value: int,
        strength: float,
        region: int | str = "all",
        preserve: tuple[str, ...] = (),
    ) -> ToolCall:
        """Native indices -> the call. ``ValueError`` naming the problem for an index outside
        the library (STOP is not a call)."""
        if not 0 <= int(tool) < self.stop:
            raise ValueError(f"tool index {tool} is outside [0, {self.stop - 1}] ({self.name})")
        a = self.actions[int(tool)]
        if not 0 <= int(value) < len(a.values):
            raise ValueError(
                f"value index {value} is outside {a.tool}'s {len(a.values)} values ({self.name})"
            )
        region = REGIONS[int(region)] if not isinstance(region, str) else region
        params = (("preserve", tuple(preserve)),) if preserve else ()
        return ToolCall(a.tool, a.values[int(value)], float(strength), region, params)

    def indices(self, call: ToolCall) -> tuple[int, int]:
        """A call -> its native ``(tool, value)`` indices in this library; ``ValueError`` when
        the library cannot express it (an action it lacks, a value it has no word for)."""
        a = self.action(call.tool)
        if call.value not in a.values:
            raise ValueError(
                f"library {self.name!r} cannot express {a.tool}={call.value!r}; its {a.param} "
                f"values are {', '.join(a.words)}"
            )
        return self._index[call.tool], a.values.index(call.value)

    def check(self, call: ToolCall) -> ToolCall:
        """``call`` if the library can express it, else ``ValueError`` naming what is missing."""
        self.indices(call)
        return call

    # -- the paper's JSON -------------------------------------------------------------------------

    def to_json(self, call: ToolCall) -> dict[str, Any]:
        """``call`` as this library's JSON action object: ``{"action_id", "parameters"}`` with
        the value in the library's words (two parameters for an ``"a/b"`` value)."""
        a = self.action(call.tool)
        d = call.to_dict()
        params = d["parameters"]
        params.pop(ALL_VALUE_PARAMS[call.tool], None)
        word = a.word(call.value)
        if a.second:
            first, second = word.split("/", 1)
            out = {a.param: first, a.second: second}
        else:
            out = {a.param: word}
        out.update(params)
        return {"action_id": call.tool, "parameters": out}

    def from_json(self, action: Mapping[str, Any]) -> ToolCall:
        """This library's JSON action object -> the call (the inverse of :meth:`to_json`).

        The value is read from the action's value parameter (or ``value``), a level parameter
        of the action (``"intensity": "heavy"``) sets the strength when ``strength`` is absent,
        other parameters are kept in ``params``. Raises ``ValueError``/``TypeError`` naming
        the problem."""
        if not isinstance(action, Mapping):
            raise TypeError(f"an action must be a JSON object, got {type(action).__name__}")
        tool = action.get("action_id", action.get("tool"))
        if not isinstance(tool, str):
            raise ValueError(f"action has no 'action_id' (a tool id): {dict(action)!r}")
        a = self.action(tool)
        raw = action.get("parameters", {})
        if not isinstance(raw, Mapping):
            raise TypeError(f"'parameters' must be a JSON object, got {type(raw).__name__}")
        params = dict(raw)
        word = params.pop(a.param, params.pop("value", None))
        if word is None:
            raise ValueError(f"action {tool!r} has no {a.param!r} parameter (its value)")
        word = _snake(word)
        if a.second and "/" not in word:
            second = params.pop(a.second, None)
            if second is None:
                raise ValueError(f"action {tool!r} has no {a.second!r} parameter")
            word = f"{word}/{_snake(second)}"
        if word not in a.words:
            raise ValueError(
                f"unknown {a.param} {word!r} for {tool!r} in library {self.name!r}; expected "
                f"one of {', '.join(a.words)}"
            )
        value = a.values[a.words.index(word)]
        if "strength" not in params:
            for key in a.levels:
                if key in params:
                    params["strength"] = params.pop(key)
                    break
        d = {"action_id": tool, "parameters": {ALL_VALUE_PARAMS[tool]: value, **params}}
        return ToolCall.from_dict(d)

    def expand_json(self, action: Mapping[str, Any]) -> list[ToolCall]:
        """A JSON action -> the calls it stands for: one, except a ``conditional_transform`` in
        the release's nested form (``condition`` text, ``then_action`` + ``then_parameters``,
        optional ``else_action`` + ``else_parameters``), which is the conditional then its
        branch calls (the native form: the next call, or the next two, are its branches). The
        condition text is read for one of the predicates (:func:`condition_predicate`)."""
        if not isinstance(action, Mapping):
            raise TypeError(f"an action must be a JSON object, got {type(action).__name__}")
        params = action.get("parameters", {})
        nested = (
            action.get("action_id") == "conditional_transform"
            and isinstance(params, Mapping)
            and "then_action" in params
        )
        if not nested:
            return [self.from_json(action)]
        self.action("conditional_transform")
        pred = condition_predicate(params.get("condition", ""))
        then = self.from_json(
            {"action_id": params["then_action"], "parameters": params.get("then_parameters", {})}
        )
        calls = [then]
        if params.get("else_action"):
            calls.append(
                self.from_json(
                    {"action_id": params["else_action"],
                     "parameters": params.get("else_parameters", {})}
                )
            )  # fmt: skip
        branch = "then_else" if len(calls) == 2 else "then"
        return [ToolCall("conditional_transform", f"{pred}/{branch}", 1.0), *calls]

    def describe(self) -> str:
        """One line per action: its id, kind and words (what the chat prompts list)."""
        return "\n".join(
            f"{a.tool} ({a.kind}; {a.param}{'/' + a.second if a.second else ''}): "
            + ", ".join(a.words)
            for a in self.actions
        )


#: Words that name each ``conditional_transform`` predicate in a condition's text.
CONDITION_WORDS: Mapping[str, tuple[str, ...]] = {
    "dark": ("dark", "night", "dim", "gloomy", "low light", "low-light"),
    "bright": ("bright", "sunny", "daylight", "well lit", "well-lit"),
    "warm": ("warm",),
    "cool": ("cool", "cold", "blue"),
    "colorful": ("colorful", "colourful", "vivid", "saturated"),
    "muted": ("muted", "dull", "grey", "gray", "desaturated", "washed"),
    "has_sky": ("sky", "outdoor", "outside"),
}


def condition_predicate(text: Any) -> str:
    """The predicate a condition's text names (``"if the scene is already dark"`` -> ``dark``;
    a predicate name itself is read as is). ``ValueError`` naming the predicates when it names
    none or several."""
    if not isinstance(text, str):
        raise ValueError(f"a condition must be text, got {text!r}")
    t = text.strip().lower()
    if t in CONDITION_WORDS:
        return t
    t = re.sub(r"[_\s]+", " ", t)  # "if_the_scene_is_dark" (a normalized value) reads as words
    if t in CONDITION_WORDS:
        return t
    found = [
        p for p, words in CONDITION_WORDS.items()
        if any(re.search(rf"\b{re.escape(w)}\b", t) for w in words)
    ]  # fmt: skip
    if len(found) != 1:
        raise ValueError(
            f"condition {text!r} names {'no' if not found else 'more than one'} predicate; "
            f"expected one of {', '.join(CONDITION_WORDS)} (words: "
            + "; ".join(f"{p}: {', '.join(w)}" for p, w in CONDITION_WORDS.items())
            + ")"
        )
    return found[0]


def _snake(word: Any) -> str:
    if isinstance(word, list | tuple) and word:  # blend_modes, blend_regions: the first one
        word = word[0]
    if isinstance(word, bool):  # sequence_transform's order_matters
        word = "order_matters" if word else "any_order"
    if not isinstance(word, str):
        raise TypeError(f"a value must be a string, got {word!r}")
    return word.strip().lower().replace(" ", "_").replace("-", "_")


# ------------------------------------------------------------------------------------------------
# The three libraries

_V2_LEVELS = ("intensity", "texture_visibility", "shadow_depth", "coverage")


def _v2_actions() -> tuple[Action, ...]:
    from .tools.vocabulary import VALUE_PARAMS

    return tuple(
        Action(t, "tool", VALUE_PARAMS[t], TOOLS[t], TOOLS[t], levels=_V2_LEVELS)
        for t in TOOL_NAMES
    )


def _normal_actions() -> tuple[Action, ...]:
    out = list(_v2_actions())
    for tool, words in NORMAL_ACTIONS.items():
        param, second = _NORMAL_PARAMS[tool]
        kind = "constraint" if tool in CONSTRAINT_ACTIONS else "compositional"
        assert tool in CONSTRAINT_ACTIONS or tool in COMPOSITIONAL_ACTIONS
        levels = ("intensity_end",) if tool == "graduated_effect" else ()
        out.append(Action(tool, kind, param, words, words, second, levels))
    return tuple(out)


def _v3_actions() -> tuple[Action, ...]:
    out = []
    for tool in TOOL_NAMES:
        param, level, words = V3_BASE[tool]
        out.append(
            Action(tool, "tool", param, tuple(words), tuple(words.values()),
                   levels=(level,) if level else ())
        )  # fmt: skip
    for tool, words in V3_ACTIONS.items():
        level = V3_LEVELS.get(tool, "")
        out.append(
            Action(tool, "tool", ALL_VALUE_PARAMS[tool], words, words,
                   levels=(level,) if level else ())
        )  # fmt: skip
    return tuple(out)


@functools.cache
def library(name: str = DEFAULT_LIBRARY) -> Library:
    """The library called ``name`` (one of :data:`LIBRARY_NAMES`); ``ValueError`` otherwise.

    >>> library().stop, library("normal").stop
    (10, 20)
    """
    if isinstance(name, Library):
        return name
    if name == "v2":
        return Library("v2", "2.1", _v2_actions(), 8)
    if name == "normal":
        return Library("normal", "3.0-complex", _normal_actions(), 8)
    if name == "v3":
        return Library("v3", "v3.0", _v3_actions(), 5)
    raise ValueError(f"unknown library {name!r}; expected one of {', '.join(LIBRARY_NAMES)}")


def library_plan(plan: Sequence[ToolCall], name: str = DEFAULT_LIBRARY) -> list[ToolCall]:
    """An oracle plan (``styling_env.oracle``) as library ``name`` states it.

    The oracle writes a task's preserved areas into every call (``preserve``). The ``v2`` and
    ``v3`` libraries say it the same way (the native ``preserve`` bits), but a geometric area
    (``left_half``, ...) has no bit: the ``normal`` library states it once, as an
    ``exclude_region`` call before the calls it protects. Raises ``ValueError`` for a call the
    library cannot make."""
    lib = library(name)
    if lib.name != "normal":
        return [lib.check(c) for c in plan]
    areas = list(
        dict.fromkeys(a for c in plan for a in c.preserved_regions if a in GEOMETRIC_REGIONS)
    )
    out = [ToolCall("exclude_region", a, 1.0) for a in areas]
    for c in plan:
        params = dict(c.params)
        keep = tuple(r for r in c.preserved_regions if r not in GEOMETRIC_REGIONS)
        params.pop("preserve_foreground", None)
        params.pop("preserve", None)
        if keep:
            params["preserve"] = keep
        out.append(
            lib.check(ToolCall(c.tool, c.value, c.strength, c.region, tuple(params.items())))
        )
    return out


__all__ = [
    "DEFAULT_LIBRARY", "LIBRARY_NAMES", "V3_BASE", "V3_LEVELS", "Action", "Library",
    "check_library", "library", "library_plan", "row_tables",
]  # fmt: skip
