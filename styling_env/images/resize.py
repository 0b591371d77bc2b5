"""The one resizer of uint8 image batches: area averaging when shrinking, bilinear when growing.

Everything that feeds pictures to a learner at a working size (the d3rlpy buffers, the embedded
planner, their evaluation) resizes with :func:`resize_uint8`, so a model sees the same pixels
at training and at evaluation time whichever package prepared them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..validation import positive_int

__all__ = ["resize_uint8"]


def resize_uint8(images: Any, size: int | None, chunk: int = 2048) -> Any:
    """``(N, C, H, W)`` uint8 images resized to ``size`` x ``size``.

    Shrinking (``size`` at most both sides) averages whole areas (``F.interpolate(mode="area")``:
    a 2x reduction is the mean of each 2x2 block); otherwise bilinear with ``align_corners=False``.
    Values are rounded to the nearest integer (ties to even) and clipped to [0, 255]. The work is
    done ``chunk`` images at a time in float32, so memory stays bounded for millions of frames.

    Args:
        images: a numpy array or a torch tensor, ``(N, C, H, W)`` uint8.
        size: the output side; ``None`` (or the images' own square size) returns ``images``
            itself, unchanged.
        chunk: images per float32 batch (>= 1).

    Returns:
        The same kind as ``images`` (a tensor stays on its device), ``(N, C, size, size)`` uint8.

    Raises:
        ValueError: ``images`` is not a 4-D uint8 array or tensor, or ``size``/``chunk`` is not
            a positive int.
    """
    is_torch = isinstance(images, torch.Tensor)
    if not is_torch and not isinstance(images, np.ndarray):
        raise ValueError(
            f"images must be a numpy array or torch tensor, got {type(images).__name__}"
        )
    dtype_ok = images.dtype == (torch.uint8 if is_torch else np.uint8)
    if images.ndim != 4 or not dtype_ok:
        raise ValueError(
            f"images must be (N, C, H, W) uint8, got {images.dtype} {tuple(images.shape)}"
        )
    if size is None:
        return images
    size = positive_int("size", size)
    chunk = positive_int("chunk", chunk)
    h, w = int(images.shape[-2]), int(images.shape[-1])
    if h == size and w == size:
        return images
    shrink = size <= h and size <= w
    kw: dict[str, Any] = (
        {"mode": "area"} if shrink else {"mode": "bilinear", "align_corners": False}
    )
    n, c = int(images.shape[0]), int(images.shape[1])
    if is_torch:
        out = torch.empty((n, c, size, size), dtype=torch.uint8, device=images.device)
    else:
        out = np.empty((n, c, size, size), np.uint8)
    for i in range(0, n, chunk):
        part = images[i : i + chunk]
        x = part if is_torch else torch.from_numpy(np.ascontiguousarray(part))
        y = F.interpolate(x.float(), size=(size, size), **kw).round_().clamp_(0, 255)
        y = y.to(torch.uint8)
        out[i : i + chunk] = y if is_torch else y.numpy()
    return out
