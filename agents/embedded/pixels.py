"""Pixel statistics of the current image and the source, as a planner input (``pixel_stats``).

How strongly a call must be made depends on the picture: the oracle scales each target
strength by the source's *headroom* for the value (a dark photo needs less ``night_moonlit``,
a snowy one less snow), and a conditional clause is decided on the source's luma, warmth,
chroma or sky. A small CNN on a 64 px thumbnail has to discover those global measures from a
few thousand episodes. :func:`pixel_statistics` hands them over: the 117 features of the
Stage-1 context estimator (:func:`styling_env.context_features.context_features`: luma and
chroma statistics, hue histogram, top and bottom colours, edges and detail, clipping, a 4x4
colour thumbnail, percentiles, colour casts of shadows and highlights, ...) of each of the two
images, measured on the planner's own resized images (the same pixels at training and at
prediction). :class:`RunningStandardize` standardizes them with statistics gathered while
training (saved in the checkpoint).

They are read from the observation's pixels, as the CNN's input is: no rendering, no oracle
quantity.
"""

from __future__ import annotations

import torch
from torch import nn

from styling_env.context_features import CONTEXT_FEATURE_NAMES, context_features

__all__ = [
    "N_PER_IMAGE", "N_PIXEL_STATISTICS", "RunningStandardize", "image_statistics",
    "pixel_statistics",
]  # fmt: skip

#: Statistics per image; the planner reads two images (current, source).
N_PER_IMAGE = len(CONTEXT_FEATURE_NAMES)
N_PIXEL_STATISTICS = 2 * N_PER_IMAGE
#: Images measured per call of the estimator (at 64 px a chunk is 100 MB as float32, plus the
#: estimator's working copies).
_CHUNK = 2048


def image_statistics(images: torch.Tensor) -> torch.Tensor:
    """``(N, 3, H, W)`` uint8 RGB images -> ``(N, 117)`` float32: their context features."""
    if images.ndim != 4 or images.shape[1] != 3 or images.dtype != torch.uint8:
        raise ValueError(
            f"image statistics read (N, 3, H, W) uint8 images, got {images.dtype} "
            f"{tuple(images.shape)}"
        )
    out = torch.empty(images.shape[0], N_PER_IMAGE, dtype=torch.float32)
    for i in range(0, images.shape[0], _CHUNK):
        part = images[i : i + _CHUNK].cpu().to(torch.float32) * (1.0 / 255.0)
        out[i : i + _CHUNK] = context_features(part).float()  # copied out of inference mode
    return out.to(images.device)


def pixel_statistics(images: torch.Tensor) -> torch.Tensor:
    """``(B, 6, H, W)`` uint8 (current image ++ source) -> ``(B, 234)`` float32 statistics:
    the 117 context features of the current image, then the source's."""
    if images.ndim != 4 or images.shape[1] != 6 or images.dtype != torch.uint8:
        raise ValueError(
            "pixel statistics read (B, 6, H, W) uint8 images (current ++ source), got "
            f"{images.dtype} {tuple(images.shape)}"
        )
    b, _, h, w = images.shape
    return image_statistics(images.reshape(b * 2, 3, h, w)).reshape(b, N_PIXEL_STATISTICS)


class RunningStandardize(nn.Module):
    """``(x - mean) / std`` per feature, with the mean and variance of every row it saw in
    training mode (exact running moments, not a moving average: the inputs' distribution does
    not change as the planner learns). Identity until it has seen a row; in eval mode it only
    reads its statistics. Unlike batch normalization the output of a row does not depend on
    the rest of its batch, so a batch of one is fine."""

    def __init__(self, n: int, eps: float = 1e-4) -> None:
        super().__init__()
        self.eps = eps
        self.register_buffer("count", torch.zeros((), dtype=torch.float64))
        self.register_buffer("mean", torch.zeros(n, dtype=torch.float64))
        self.register_buffer("m2", torch.zeros(n, dtype=torch.float64))

    @torch.no_grad()
    def _update(self, x: torch.Tensor) -> None:
        x = x.detach().to(torch.float64)
        n = float(x.shape[0])
        mean = x.mean(0)
        m2 = ((x - mean) ** 2).sum(0)
        total = self.count + n
        delta = mean - self.mean
        self.mean += delta * (n / total)
        self.m2 += m2 + delta * delta * (self.count * n / total)
        self.count.fill_(total)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and x.shape[0] > 0:
            self._update(x)
        if float(self.count) < 2:
            return x
        std = (self.m2 / (self.count - 1)).sqrt().clamp(min=self.eps)
        return ((x - self.mean.to(x.dtype)) / std.to(x.dtype)).clamp(-8.0, 8.0)
