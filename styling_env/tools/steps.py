"""Recipe steps: one primitive op with its parameters, the ``S`` factory that writes them, and
the colours several recipe tables share (``recipes.py``, ``recipes_v3.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .ops import OPS


@dataclass(frozen=True)
class Step:
    """One primitive op with its parameters at full strength."""

    op: str
    params: tuple[tuple[str, Any], ...]

    def kwargs(self) -> dict[str, Any]:
        return dict(self.params)


class _StepFactory:
    """``S.exposure(ev=-1)`` -> ``Step("exposure", (("ev", -1),))``, checked against the op."""

    def __getattr__(self, name: str):
        if name not in OPS:
            raise AttributeError(f"no primitive op named {name!r}")
        spec = OPS[name]

        def make(**params: Any) -> Step:
            unknown = set(params) - spec.params
            if unknown:
                raise TypeError(f"op {name!r} has no parameter(s) {sorted(unknown)}")
            return Step(name, tuple(sorted(params.items())))

        return make


S = _StepFactory()

# Colours used in several recipes.
GREEN = (0.25, 0.55, 0.2)
YELLOW = (0.85, 0.8, 0.2)
FOLIAGE = (0.55, 0.65, 0.2)  # yellow-green: foliage, not skin, fur or wood
BLUE = (0.25, 0.45, 0.85)
RED = (0.8, 0.15, 0.12)
WHITE = (1.0, 1.0, 1.0)
SNOW = (0.93, 0.95, 0.98)
SEPIA = ((0.1, 0.06, 0.03), (0.5, 0.36, 0.22), (0.96, 0.89, 0.74))
GOLD = (1.0, 0.78, 0.38)
RAIN = dict(size=0.003, colors=((0.82, 0.86, 0.92),), angle=12.0, jitter=3.0)
