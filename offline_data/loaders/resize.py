"""Resizing stored uint8 images to a planner's working size."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def resize_uint8(images: np.ndarray, size: int | None, chunk: int = 2048) -> np.ndarray:
    """``(N, C, H, W)`` uint8 images resized to ``size`` x ``size`` (area averaging when
    shrinking, bilinear when growing), in chunks; unchanged when ``size`` is None or equal."""
    if size is None or images.shape[-1] == size and images.shape[-2] == size:
        return images
    out = np.empty((*images.shape[:2], size, size), np.uint8)
    mode = "area" if size < images.shape[-1] else "bilinear"
    for i in range(0, len(images), chunk):
        x = torch.from_numpy(np.ascontiguousarray(images[i : i + chunk])).float()
        kw = {} if mode == "area" else {"align_corners": False}
        y = F.interpolate(x, size=(size, size), mode=mode, **kw)
        out[i : i + chunk] = y.round().clamp(0, 255).to(torch.uint8).numpy()
    return out
