"""How much each styling value changes a typical picture, measured once on a fixed corpus.

``full_change()[value_index(tool, value)]`` is the mean pixel change (:func:`pixel_distance`) that value ``v`` at full
strength causes on a fixed calibration corpus of scenes and photos. The oracle compares it with
the change the same render causes on a given source — its *headroom* for that value: a dark
photo has little room left for ``night_moonlit``, a snowy one for ``snow_falling``. The table is
deterministic, computed on first use (about a second) and kept per process.
:func:`value_change` gives the same measure for any rendering value of any library (the ten
tools' from the table, the others measured on the same corpus on first use).
"""

from __future__ import annotations

from functools import cache, lru_cache

import torch

from .features import WORK_SIZE, to_work_size
from .images import make_images
from .tools import ToolCall, apply_calls, apply_recipe
from .tools.vocabulary import VALUES, value_index

Tensor = torch.Tensor

_CORPUS = ("mix", 24, 20_251)  # source, images, seed: disjoint from task image seeds


def pixel_distance(a: Tensor, b: Tensor) -> Tensor:
    """Mean absolute difference ``(B,)`` of two batches at the working resolution (0..1)."""
    return (to_work_size(a) - to_work_size(b)).abs().mean((1, 2, 3))


@lru_cache(maxsize=1)
def full_change() -> Tensor:
    """``(171,)`` mean pixel change of each value at strength 1 on the calibration corpus."""
    source, n, seed = _CORPUS
    corpus = make_images(source, n, WORK_SIZE, seed)
    out = torch.empty(len(VALUES))
    with torch.no_grad():
        for j, (tool, value) in enumerate(VALUES):
            y = apply_recipe(
                corpus.pixels, tool, value, 1.0, masks=corpus.masks, has_masks=corpus.has_masks
            )
            out[j] = pixel_distance(y, corpus.pixels).mean()
    return out


def value_change(tool: str, value: str) -> float:
    """The mean pixel change of ``tool``'s ``value`` at full strength on the calibration corpus:
    ``full_change()`` for the ten tools' 171 values, measured once per process for the other
    libraries' rendering values (``styling_env.libraries``)."""
    if (tool, value) in _V2_ROWS:
        return float(full_change()[value_index(tool, value)])
    return _other_change(tool, value)


_V2_ROWS = frozenset(VALUES)


@cache
def _other_change(tool: str, value: str) -> float:
    source, n, seed = _CORPUS
    corpus = make_images(source, n, WORK_SIZE, seed)
    with torch.no_grad():
        y = apply_calls(corpus, ToolCall(tool, value, 1.0))
    return float(pixel_distance(y, corpus.pixels).mean())
