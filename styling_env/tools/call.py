"""A tool call: one styling tool, one value of its vocabulary, a strength and a region."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import actions as _actions  # partially initialised here: read at call time
from ..actions import MASK_NAMES, REGIONS  # the orders live with the other action-space facts
from ..validation import real_in
from .vocabulary import ALL_TOOLS, ALL_VALUE_PARAMS, GEOMETRIC_REGIONS, TOOLS, check_tool_value

#: Default strength of a call whose strength is not given (the paper's "moderate"-to-"heavy").
DEFAULT_STRENGTH: float = 0.7

#: The paper's verbal levels (intensity, texture_visibility, shadow_depth, coverage, ...) -> strength.
LEVELS: Mapping[str, float] = {
    "none": 0.0,
    "subtle": 0.25,
    "light": 0.3,
    "low": 0.3,
    "soft": 0.35,
    "minimal": 0.25,
    "partial": 0.5,
    "medium": 0.55,
    "moderate": 0.55,
    "visible": 0.6,
    "strong": 0.8,
    "high": 0.8,
    "heavy": 0.85,
    "deep": 0.85,
    "full": 1.0,
    "extreme": 1.0,
    "maximum": 1.0,
}

_LEVEL_KEYS = ("strength", "intensity", "texture_visibility", "shadow_depth", "coverage")


@dataclass(frozen=True)
class ToolCall:
    """One call of a styling tool.

    Args:
        tool: a tool id of :data:`styling_env.TOOLS` (e.g. ``"season_cycle"``).
        value: a value of that tool's vocabulary (e.g. ``"winter_bare"``).
        strength: in ``[0, 1]``; 0 leaves the image untouched, 1 is the strongest rendering.
        region: one of :data:`REGIONS`; anything but ``"all"`` needs images with masks.
        params: the paper format's secondary parameters (``preserve_foreground``, ``intensity``,
            ...), accepted and recorded as sorted ``(name, value)`` pairs; ``preserve`` (region
            names) and ``preserve_foreground`` keep those regions untouched where masks are known.

    Raises:
        ValueError: unknown tool, value or region, or a strength that is NaN or outside [0, 1].
        TypeError: a strength that is not a real number.
    """

    tool: str
    value: str
    strength: float = DEFAULT_STRENGTH
    region: str = "all"
    params: tuple[tuple[str, Any], ...] = field(default=(), compare=True)

    def __post_init__(self) -> None:
        if not isinstance(self.tool, str) or not isinstance(self.value, str):
            raise TypeError(
                f"tool and value must be strings, got {type(self.tool).__name__} and "
                f"{type(self.value).__name__}"
            )
        check_tool_value(self.tool, self.value)
        object.__setattr__(self, "strength", real_in("strength", self.strength, 0.0, 1.0))
        if self.region not in REGIONS:
            raise ValueError(
                f"unknown region {self.region!r}; expected one of {', '.join(REGIONS)}"
            )
        items = self.params.items() if isinstance(self.params, Mapping) else self.params
        # lists (JSON arrays) become tuples so a call stays hashable
        items = ((k, tuple(v) if isinstance(v, list) else v) for k, v in items)
        object.__setattr__(self, "params", tuple(sorted(items)))
        for name in self.preserved_regions:
            if (name not in REGIONS or name == "all") and name not in GEOMETRIC_REGIONS:
                raise ValueError(
                    f"cannot preserve region {name!r}; expected one of "
                    f"{', '.join((*REGIONS[1:], *GEOMETRIC_REGIONS))}"
                )

    @property
    def tool_index(self) -> int:
        return list(TOOLS).index(self.tool)

    @property
    def value_index(self) -> int:
        return TOOLS[self.tool].index(self.value)

    @property
    def preserved_regions(self) -> tuple[str, ...]:
        """Regions the call leaves untouched: ``preserve`` (a region name or a list of them)
        plus ``subject`` when ``preserve_foreground`` is true."""
        p = dict(self.params)
        keep = p.get("preserve", ())
        keep = (keep,) if isinstance(keep, str) else tuple(keep)
        if p.get("preserve_foreground") in (True, "true", "yes", 1):
            keep += ("subject",)
        return tuple(dict.fromkeys(keep))

    @property
    def preserve_bits(self) -> np.ndarray:
        """:attr:`preserved_regions` as the native action's ``preserve`` bits ``(6,)`` int8, in
        :data:`~styling_env.actions.MASK_NAMES` order; ``background`` (everything but the
        subject) sets every non-subject mask's bit, which is the same pixels: the masks
        partition an image. A geometric area (``left_half``, ...) has no bit: only the
        ``normal`` library's ``exclude_region`` expresses it."""
        names: list[str] = []
        for r in self.preserved_regions:
            if r in GEOMETRIC_REGIONS:
                continue
            names.extend(MASK_NAMES[:-1] if r == "background" else (r,))
        return _actions.preserve_bits(names)

    def to_dict(self) -> dict[str, Any]:
        """The call as the paper's JSON action object (``action_id`` + ``parameters``)."""
        parameters: dict[str, Any] = {ALL_VALUE_PARAMS[self.tool]: self.value}
        parameters.update(dict(self.params))
        parameters["strength"] = round(self.strength, 4)
        if self.region != "all":
            parameters["region"] = self.region
        return {"action_id": self.tool, "parameters": parameters}

    @classmethod
    def from_dict(cls, action: Mapping[str, Any]) -> ToolCall:
        """Build a call from the paper's JSON action object.

        ``{"action_id": "season_cycle", "parameters": {"target_season": "winter_bare",
        "intensity": "heavy"}}``. The value is read from the tool's value parameter (or
        ``value``); the strength from ``strength`` (a number) or a verbal level of ``intensity``,
        ``texture_visibility``, ``shadow_depth`` or ``coverage`` (see :data:`LEVELS`); other
        parameters are kept in ``params``.
        """
        if not isinstance(action, Mapping):
            raise TypeError(
                f"an action must be a JSON object (mapping), got {type(action).__name__}"
            )
        tool = action.get("action_id", action.get("tool"))
        if tool is None:
            raise ValueError(f"action has no 'action_id' (the tool id): {dict(action)!r}")
        if tool not in ALL_TOOLS:
            check_tool_value(str(tool), "")
        raw = action.get("parameters", {})
        if not isinstance(raw, Mapping):
            raise TypeError(f"'parameters' must be a JSON object, got {type(raw).__name__}")
        params = dict(raw)
        vkey = ALL_VALUE_PARAMS[tool]
        _check_param_names(params, (vkey, "value", "strength", "region"))
        if vkey in params and "value" in params and params[vkey] != params["value"]:
            raise ValueError(
                f"action {tool!r} names two values: {vkey}={params[vkey]!r} and "
                f"value={params['value']!r}"
            )
        value = params.pop(vkey, params.pop("value", None))
        if value is None:
            raise ValueError(f"action {tool!r} has no {vkey!r} parameter (its value)")
        region = params.pop("region", "all")
        strength = DEFAULT_STRENGTH
        for key in _LEVEL_KEYS:
            if key in params:
                strength = _parse_level(key, params[key] if key == "strength" else params[key])
                if key == "strength":
                    params.pop(key)
                break
        return cls(str(tool), str(value), strength, str(region), tuple(sorted(params.items())))


def _check_param_names(params: Mapping[str, Any], keys: tuple[str, ...]) -> None:
    """A parameter name one typo away from a key the call reads (``strenght``, ``regoin``) is a
    ``ValueError``: kept as a secondary parameter, it would leave the strength or region at its
    default in silence. Other names stay secondary parameters (the paper's schema has many)."""
    for name in params:
        if name in keys or not isinstance(name, str):
            continue
        near = difflib.get_close_matches(name, keys, n=1, cutoff=0.75)
        if near:
            raise ValueError(f"unknown parameter {name!r} (did you mean {near[0]!r}?)")


def _parse_level(key: str, level: Any) -> float:
    if isinstance(level, bool):
        raise TypeError(f"{key} must be a number in [0, 1] or a level name, got {level!r}")
    if isinstance(level, int | float):
        return float(level)
    if isinstance(level, str):
        name = level.strip().lower()
        if name in LEVELS:
            return LEVELS[name]
        try:
            return float(name)
        except ValueError:
            pass
    raise ValueError(
        f"{key}={level!r} is neither a number in [0, 1] nor a level name ({', '.join(LEVELS)})"
    )
