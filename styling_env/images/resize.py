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
    # a whole-number reduction (128 -> 64 px) is a mean of f x f blocks: summed in integers
    blocks = shrink and h % size == 0 and w % size == 0
    for i in range(0, n, chunk):
        part = images[i : i + chunk]
        x = part if is_torch else torch.from_numpy(np.ascontiguousarray(part))
        if blocks:
            y = _block_mean(x, h // size, w // size)
        else:
            y = F.interpolate(x.float(), size=(size, size), **kw).round_().clamp_(0, 255)
            y = y.to(torch.uint8)
        out[i : i + chunk] = y if is_torch else y.numpy()
    return out


def _block_mean(x: torch.Tensor, fh: int, fw: int) -> torch.Tensor:
    """The mean of each ``fh`` x ``fw`` block of uint8 ``x`` ``(N, C, H, W)``, rounded to the
    nearest integer, ties to even: the bits of ``F.interpolate(x.float(), mode="area")``
    rounded as :func:`resize_uint8` rounds it (area averaging over whole blocks is their mean;
    a block's sum is exact in float32, and a tie, an exact half, is possible only where the
    block's size is even), summed in integers from strided views instead of float copies:
    about 2x faster at 128 -> 64 px on a CPU (five 3 x 128 x 128 images: 0.40 -> 0.18-0.22 ms)."""
    k = fh * fw
    y = x.to(torch.int16 if 255 * k <= torch.iinfo(torch.int16).max else torch.int32)
    rows = y[..., 0::fw]
    for j in range(1, fw):
        rows = rows + y[..., j::fw]
    s = rows[..., 0::fh, :]
    for i in range(1, fh):
        s = s + rows[..., i::fh, :]
    if k & (k - 1) == 0:  # k = 2^m: (s + k/2 - 1 + the quotient's parity) >> m, in place
        m = k.bit_length() - 1
        if m == 0:
            return s.to(torch.uint8)
        parity = (s >> m) & 1
        return s.add_(k // 2 - 1).add_(parity).bitwise_right_shift_(m).to(torch.uint8)
    q = torch.div(s, k, rounding_mode="floor")
    r2 = 2 * (s - q * k)  # twice the remainder, against the block's size
    up = r2 > k
    if k % 2 == 0:  # an exact half goes to the even neighbour
        up |= (r2 == k) & (q.remainder(2) == 1)
    return (q + up).to(torch.uint8)
