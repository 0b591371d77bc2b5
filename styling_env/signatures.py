"""How much each styling value changes a typical picture, measured once on a fixed corpus.

``full_change()[value_index(tool, value)]`` is the mean pixel change (:func:`pixel_distance`) that value ``v`` at full
strength causes on a fixed calibration corpus of scenes and photos. The oracle compares it with
the change the same render causes on a given source — its *headroom* for that value: a dark
photo has little room left for ``night_moonlit``, a snowy one for ``snow_falling``. The table is
deterministic, computed on first use (about a second) and kept per process.
"""

from __future__ import annotations

from functools import lru_cache

import torch

from .features import WORK_SIZE, to_work_size
from .images import make_images
from .tools import apply_recipe
from .tools.vocabulary import VALUES

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
