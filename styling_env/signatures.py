"""How much each styling value changes a typical picture, measured on a fixed corpus.

:func:`value_change` is the mean pixel change (:func:`pixel_distance`) that a value at full
strength causes on a fixed calibration corpus of scenes and photos, for the ten tools' values
and every other library's rendering values. The oracle compares it with the change the same
render causes on a given source — its *headroom* for that value: a dark photo has little room
left for ``night_moonlit``, a snowy one for ``snow_falling``. Each value's number is
deterministic, measured on its first use and kept per process; ``full_change()`` is the table of
the ten tools' 171 values (``full_change()[value_index(tool, value)]``).
"""

from __future__ import annotations

from functools import cache

import torch

from .features import WORK_SIZE, to_work_size
from .images import make_images
from .tools import ToolCall, apply_calls, apply_recipe
from .tools.vocabulary import VALUES

Tensor = torch.Tensor

_CORPUS = ("mix", 24, 20_251)  # source, images, seed: disjoint from task image seeds


def pixel_distance(a: Tensor, b: Tensor) -> Tensor:
    """Mean absolute difference ``(B,)`` of two batches at the working resolution (0..1)."""
    return (to_work_size(a) - to_work_size(b)).abs().mean((1, 2, 3))


@cache
def _corpus():
    source, n, seed = _CORPUS
    return make_images(source, n, WORK_SIZE, seed)


def full_change() -> Tensor:
    """``(171,)`` mean pixel change of each value at strength 1 on the calibration corpus."""
    return torch.tensor([value_change(tool, value) for tool, value in VALUES])


@cache
def value_change(tool: str, value: str) -> float:
    """The mean pixel change of ``tool``'s ``value`` at full strength on the calibration corpus,
    for any rendering value of any library (``styling_env.libraries``). Measured on first use
    and kept per process, one value at a time (about 12 ms each; the whole table of the ten
    tools' 171 values takes 2 s, which a short-lived process such as a vector-env worker or a
    Ray task would pay at its first reset for the two or three values it needs). A value's
    number is the same whichever values were measured before it."""
    corpus = _corpus()
    with torch.no_grad():
        if (tool, value) in _V2_ROWS:
            y = apply_recipe(
                corpus.pixels, tool, value, 1.0, masks=corpus.masks, has_masks=corpus.has_masks
            )
        else:
            y = apply_calls(corpus, ToolCall(tool, value, 1.0))
    return float(pixel_distance(y, corpus.pixels).mean())


_V2_ROWS = frozenset(VALUES)
