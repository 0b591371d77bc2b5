"""Geometric areas of a picture: halves, the centre and the edges.

The ``normal`` library's constraints name areas the semantic masks do not have ("leave the left
half as it is", "only the edges"). They are fixed fractions of the frame, the same on every
image, with or without masks, and one function defines them for everything that reads them: a
call's preserved areas (``ToolCall(..., params={"preserve": ("left_half",)})``, what the oracle
plans), the composer's ``exclude_region`` and ``spatial_constraint`` and the judge's
``preserve_region`` check. A half is the half of the frame; on an odd size the middle row or
column weighs 0.5 on each side, so two opposite halves always sum to 1. ``center`` is the middle
half of each axis (1/4 to 3/4) with a soft edge 6% of the axis wide, ``edges`` is ``1 -
center``.
"""

from __future__ import annotations

import torch

from .patterns import coords
from .vocabulary import GEOMETRIC_REGIONS

Tensor = torch.Tensor

#: Width of the centre box's soft edge, a fraction of each axis.
CENTER_SOFTNESS: float = 0.06


def geometric_mask(
    name: str, h: int, w: int, device: torch.device | str = "cpu", dtype=torch.float32
) -> Tensor:
    """The ``(H, W)`` mask in [0, 1] of geometric area ``name`` (one of
    :data:`GEOMETRIC_REGIONS`).

    >>> geometric_mask("left_half", 2, 4).tolist()
    [[1.0, 1.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0]]
    """
    if name not in GEOMETRIC_REGIONS:
        raise ValueError(
            f"unknown geometric area {name!r}; expected one of {', '.join(GEOMETRIC_REGIONS)}"
        )
    yy, xx = coords(h, w, device)  # pixel centres in (0, 1), (1, 1, h, w)
    if name in ("center", "edges"):
        box = ((0.25 - (yy - 0.5).abs()) / CENTER_SOFTNESS + 0.5).clamp(0, 1) * (
            (0.25 - (xx - 0.5).abs()) / CENTER_SOFTNESS + 0.5
        ).clamp(0, 1)
        m = box if name == "center" else 1 - box
    else:
        u, flip = {
            "left_half": (xx, False),
            "right_half": (xx, True),
            "top_half": (yy, False),
            "bottom_half": (yy, True),
        }[name]
        half = ((0.5 - u).sign() + 1) / 2  # 1 before the middle, 0.5 on it, 0 after
        m = 1 - half if flip else half
    return m[0, 0].to(dtype)


__all__ = ["CENTER_SOFTNESS", "GEOMETRIC_REGIONS", "geometric_mask"]
