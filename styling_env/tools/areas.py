"""Geometric areas of a picture: halves, the centre and the edges.

The ``normal`` library's constraints name areas the semantic masks do not have ("leave the left
half as it is", "only the edges"). They are fixed fractions of the frame, the same on every
image, with or without masks: a half is the half of the frame (the middle column or row goes
half to each side on an odd size); ``center`` is the middle half of each axis (a box from 1/4
to 3/4) and ``edges`` everything else, so the two partition the frame. Masks are hard 0/1 like
the semantic ones; callers feather them as they feather those.
"""

from __future__ import annotations

import torch

from .vocabulary import GEOMETRIC_REGIONS

Tensor = torch.Tensor


def geometric_mask(
    name: str, h: int, w: int, device: torch.device | str = "cpu", dtype=torch.float32
) -> Tensor:
    """The ``(H, W)`` 0/1 mask of geometric area ``name`` (one of :data:`GEOMETRIC_REGIONS`).

    >>> geometric_mask("left_half", 2, 4).tolist()
    [[1.0, 1.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0]]
    """
    if name not in GEOMETRIC_REGIONS:
        raise ValueError(
            f"unknown geometric area {name!r}; expected one of {', '.join(GEOMETRIC_REGIONS)}"
        )
    # pixel centres in [0, 1]: a pixel belongs to the side its centre lies in
    yy = ((torch.arange(h, device=device, dtype=torch.float64) + 0.5) / h)[:, None]
    xx = ((torch.arange(w, device=device, dtype=torch.float64) + 0.5) / w)[None, :]
    yy, xx = yy.expand(h, w), xx.expand(h, w)
    if name == "left_half":
        m = xx < 0.5
    elif name == "right_half":
        m = xx >= 0.5
    elif name == "top_half":
        m = yy < 0.5
    elif name == "bottom_half":
        m = yy >= 0.5
    else:
        center = (xx >= 0.25) & (xx < 0.75) & (yy >= 0.25) & (yy < 0.75)
        m = center if name == "center" else ~center
    return m.to(dtype)


__all__ = ["GEOMETRIC_REGIONS", "geometric_mask"]
