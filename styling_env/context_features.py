"""The pixel features of the Stage-1 context estimator (``styling_env.context``).

:func:`context_features` is what every context estimator reads: the signature features of
:func:`styling_env.features.image_features` followed by this module's own cheap ones
(:func:`extra_features`), all on one working-resolution copy of the images. One call per batch
serves every estimator of a library's context.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .features import FEATURE_NAMES, box_mean, image_features, row_std, to_work_size
from .tools.ops import luma

Tensor = torch.Tensor

_THUMB = 4
_LUMA_BINS = 8
_BINS = 64
_QUANTILES = (0.05, 0.5, 0.95)

EXTRA_FEATURE_NAMES: tuple[str, ...] = (
    *(f"ctx_thumb_{c}{i}{j}" for c in "rgb" for i in range(_THUMB) for j in range(_THUMB)),
    *(f"ctx_luma_hist_{k}" for k in range(_LUMA_BINS)),
    "ctx_luma_entropy",
    *(f"ctx_q{round(q * 100):02d}_{c}" for c in "rgb" for q in _QUANTILES),
    "ctx_sat_mean", "ctx_sat_std", "ctx_std_r", "ctx_std_g", "ctx_std_b",
    "ctx_grad_x", "ctx_grad_y", "ctx_grad_diag", "ctx_grad_antidiag",
    "ctx_shadow_i", "ctx_shadow_q", "ctx_highlight_i", "ctx_highlight_q",
    "ctx_chroma_noise", "ctx_block2", "ctx_block4",
)  # fmt: skip
"""Names of this module's own features, after :data:`styling_env.features.FEATURE_NAMES`."""

#: Every input feature of the estimator, in order.
CONTEXT_FEATURE_NAMES: tuple[str, ...] = (*FEATURE_NAMES, *EXTRA_FEATURE_NAMES)


def _histograms(v: Tensor) -> Tensor:
    """Hard-binned histograms ``(B, C, _BINS)`` (fractions) of ``v`` ``(B, C, N)`` in [0, 1]."""
    b, c, n = v.shape
    offset = torch.arange(c, device=v.device).view(1, c, 1) * _BINS
    idx = (v * _BINS).long().clamp_(0, _BINS - 1) + offset
    out = torch.zeros(b, c * _BINS, dtype=v.dtype, device=v.device)
    out.scatter_add_(1, idx.view(b, -1), torch.ones_like(v).view(b, -1))
    return out.view(b, c, _BINS) / n


def _quantiles(hist: Tensor, qs: Tensor) -> Tensor:
    """Quantiles ``(B, C, Q)`` read off histograms ``(B, C, _BINS)``, linear within a bin.

    A histogram is far cheaper than the sort of ``torch.quantile`` and exact to 1/_BINS.
    """
    cdf = hist.cumsum(-1)
    k = torch.searchsorted(cdf, qs.expand(*cdf.shape[:-1], -1).contiguous())
    k = k.clamp_(max=_BINS - 1)
    below = torch.where(k > 0, cdf.gather(-1, (k - 1).clamp(min=0)), torch.zeros_like(cdf[..., :1]))
    inside = hist.gather(-1, k).clamp(min=1e-6)
    return (k + ((qs - below) / inside).clamp(0, 1)) / _BINS


def _weighted_mean(v: Tensor, w: Tensor) -> Tensor:
    return (v * w).sum((-2, -1)) / (w.sum((-2, -1)) + 1e-3)


def extra_features(x: Tensor) -> Tensor:
    """This module's own features ``(B, len(EXTRA_FEATURE_NAMES))`` of ``(B, 3, H, W)`` in [0, 1].

    Measured at the working resolution of :func:`styling_env.features.to_work_size`: a coarse
    colour layout (4x4 thumbnail), the luminance histogram and its entropy (posterization),
    per-channel 5/50/95 percentiles (black point, fades, casts), saturation, gradient energy by
    orientation (hatching, rain, speed lines), the colour cast of shadows and of highlights (split
    toning), chroma noise (grain, chromatic aberration) and 2- and 4-pixel blockiness (pixel art).
    Not differentiable (hard histograms): the context is an observation, not a loss.
    """
    x = to_work_size(x.float())
    b = x.shape[0]
    thumb = F.adaptive_avg_pool2d(x, _THUMB).flatten(1)
    lum = luma(x)
    hists = _histograms(torch.cat([x, lum], 1).flatten(2))
    luma_hist = hists[:, 3].view(b, _LUMA_BINS, -1).sum(-1)
    entropy = -(hists[:, 3] * (hists[:, 3] + 1e-6).log()).sum(1, keepdim=True)
    pct = _quantiles(hists[:, :3], x.new_tensor(_QUANTILES)).flatten(1)  # r q05 q50 q95, g ...
    hi, lo = x.amax(1), x.amin(1)
    sat = (hi - lo) / (hi + 1e-3)
    sat_stats = torch.stack([sat.mean((1, 2)), row_std(sat.flatten(1))], 1)
    channel_std = row_std(x.flatten(0, 1).flatten(1)).view(b, 3)
    gx = (lum[..., 1:] - lum[..., :-1])[..., :-1, :]
    gy = (lum[..., 1:, :] - lum[..., :-1, :])[..., :-1]
    grads = torch.stack([gx.abs(), gy.abs(), (gx + gy).abs(), (gx - gy).abs()], 1).mean((2, 3, 4))
    grads = grads / (grads[:, :2].sum(1, keepdim=True) + 1e-4)
    i = 0.595716 * x[:, 0] - 0.274453 * x[:, 1] - 0.321263 * x[:, 2]
    q = 0.211456 * x[:, 0] - 0.522591 * x[:, 1] + 0.311135 * x[:, 2]
    shadow = torch.sigmoid((0.3 - lum[:, 0]) * 20)
    highlight = torch.sigmoid((lum[:, 0] - 0.7) * 20)
    casts = torch.stack(
        [_weighted_mean(i, shadow), _weighted_mean(q, shadow), _weighted_mean(i, highlight),
         _weighted_mean(q, highlight)], 1,
    )  # fmt: skip
    lap = x - box_mean(x, 3)
    lap_luma = luma(lap)
    chroma_noise = (lap - lap_luma).abs().mean((1, 2, 3)) / (lap_luma.abs().mean((1, 2, 3)) + 1e-3)
    dx = (x[..., 1:] - x[..., :-1]).abs().mean((1, 2))  # (B, W - 1): column-to-column steps
    block2 = dx[:, 1::2].mean(1) / (dx.mean(1) + 1e-4)
    block4 = dx[:, 3::4].mean(1) / (dx.mean(1) + 1e-4)
    return torch.cat(
        [thumb, luma_hist, entropy, pct, sat_stats, channel_std, grads, casts,
         torch.stack([chroma_noise, block2, block4], 1)], 1,
    )  # fmt: skip


def context_features(images: Tensor) -> Tensor:
    """Estimator inputs ``(B, len(CONTEXT_FEATURE_NAMES))`` of images ``(B, 3, H, W)`` in [0, 1].

    :func:`~styling_env.features.image_features` followed by :func:`extra_features`, both on the
    same working-resolution copy (resized once).
    """
    with torch.inference_mode():
        x = to_work_size(images.float())
        return torch.cat([image_features(x), extra_features(x)], 1)
