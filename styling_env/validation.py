"""Argument checks shared by every package: one wording for one kind of bad input.

Each check returns the value it accepted, so a constructor can write
``self.steps = positive_int("steps", steps)``; a bad value raises ``ValueError`` (or
``TypeError`` where the type is wrong) with the argument's name and the value received.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["choice", "fraction", "nonnegative_int", "positive_float", "positive_int"]


def _is_int(v: Any) -> bool:
    # bool is an int subclass; True is never meant as a count
    return isinstance(v, int) and not isinstance(v, bool)


def positive_int(name: str, v: Any) -> int:
    """``v`` if it is an ``int >= 1`` (not a bool), else ``ValueError`` naming ``name``."""
    if not _is_int(v) or v < 1:
        raise ValueError(f"{name} must be a positive int, got {v!r}")
    return int(v)


def nonnegative_int(name: str, v: Any) -> int:
    """``v`` if it is an ``int >= 0`` (not a bool), else ``ValueError`` naming ``name``."""
    if not _is_int(v) or v < 0:
        raise ValueError(f"{name} must be a non-negative int, got {v!r}")
    return int(v)


def positive_float(name: str, v: Any) -> float:
    """``v`` as a float if it is a finite real number ``> 0``, else ``ValueError``."""
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {v!r}")
    return float(v)


def real_in(name: str, v: Any, lo: float, hi: float) -> float:
    """``v`` as a float if it is a real number (Python's or NumPy's, not a bool) in
    ``[lo, hi]``: a non-number is a ``TypeError``, NaN or a number outside the range a
    ``ValueError``, each naming ``name`` and the range."""
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise TypeError(f"{name} must be a real number in [{lo:g}, {hi:g}], got {v!r}")
    if math.isnan(v) or not lo <= v <= hi:
        raise ValueError(f"{name} must be in [{lo:g}, {hi:g}], got {float(v)!r}")
    return float(v)


def fraction(name: str, v: Any) -> float:
    """``v`` as a float if it is a real number in ``[0, 1]``, else ``ValueError``."""
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= v <= 1.0:
        raise ValueError(f"{name} must be a number in [0, 1], got {v!r}")
    return float(v)


def reset_options(options: Any, known: Iterable[str]) -> dict[str, Any]:
    """``reset(options=...)`` as a dict: None is empty; another type, or a key the env does not
    read (a typo such as ``"taks"`` would otherwise start a random task), a ``ValueError``."""
    if options is None:
        return {}
    known = tuple(known)
    if not isinstance(options, Mapping):
        raise ValueError(f"reset options must be a dict, got {type(options).__name__}")
    unknown = sorted(map(str, set(options) - set(known)))
    if unknown:
        raise ValueError(
            f"unknown reset option(s) {', '.join(map(repr, unknown))}; this env reads "
            f"{', '.join(map(repr, known))}"
        )
    return dict(options)


def choice(name: str, v: Any, allowed: Iterable[Any]) -> Any:
    """``v`` if it is one of ``allowed``, else ``ValueError`` listing them."""
    allowed = tuple(allowed)
    if v not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(str, allowed))}, got {v!r}")
    return v
