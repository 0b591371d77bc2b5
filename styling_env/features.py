"""Signature features: a small vector per image that says how it looks, not what it shows.

``image_features(x)`` maps a batch ``(B, 3, H, W)`` in [0, 1] to ``(B, F)`` features — tone
(luminance statistics), colour (mean cast, chroma, a chroma-weighted hue histogram), layout (the
top and bottom of the frame), detail at two scales, specks (snow, sparkles), flat areas
(posterized, cel-shaded), stroke direction (motion blur, scan lines, hatching), vignetting and
clipping. The structured context (Stage 1) reads them: every styling value moves these
features in a characteristic direction, which is how a value is recognised from pixels. Computed at a fixed working resolution so scores do not depend on image size.
"""

from __future__ import annotations

import math

import kornia
import torch
import torch.nn.functional as F

from .tools.caching import constant_cache
from .tools.ops import box_mean as box_mean  # re-exported (its old home)
from .tools.ops import luma

Tensor = torch.Tensor

#: Side of the working resolution: images are resized to it (area-averaged) before measuring.
WORK_SIZE = 64
_HUE_BINS = 8
_YIQ = torch.tensor(
    [[0.299, 0.587, 0.114], [0.595716, -0.274453, -0.321263], [0.211456, -0.522591, 0.311135]]
)

FEATURE_NAMES: tuple[str, ...] = (
    "luma_mean", "luma_std", "luma_p10", "luma_p90",
    "cast_i", "cast_q", "chroma_mean", "chroma_std",
    *(f"hue_{k}" for k in range(_HUE_BINS)),
    "top_r", "top_g", "top_b", "bottom_r", "bottom_g", "bottom_b", "top_minus_bottom",
    "edges", "detail_fine", "detail_coarse",
    "specks_bright", "specks_dark", "flat_fraction",
    "grad_horizontal", "grad_vertical", "grad_diagonal",
    "vignette", "clip_high", "clip_low",
)  # fmt: skip

N_FEATURES = len(FEATURE_NAMES)


def to_work_size(x: Tensor, size: int = WORK_SIZE) -> Tensor:
    """Area-resize ``(B, 3, H, W)`` to ``(B, 3, size, size)`` (no-op when already that size)."""
    h, w = x.shape[-2:]
    if (h, w) == (size, size):
        return x
    if h == w and h % size == 0:  # an integer factor: a plain average pool is the area resize
        return F.avg_pool2d(x, h // size)
    return F.interpolate(
        x, size=(size, size), mode="area" if min(x.shape[-2:]) >= size else "bilinear"
    )


def row_quantiles(flat: Tensor, qs: tuple[float, ...]) -> Tensor:
    """Quantiles ``(B, Q)`` of each row of ``flat`` ``(B, N)``, linear interpolation:
    ``torch.quantile(flat, torch.tensor(qs), dim=1).T`` to the bit (the same two order
    statistics, the same weights, the same ``lerp``), found by selection instead of a full sort
    (about twice as fast for two quantiles of 4,096 pixels)."""
    n = flat.shape[1]
    ranks = torch.tensor(qs, dtype=flat.dtype) * (n - 1)
    lo, hi, weight = (
        ranks.floor().long().tolist(),
        ranks.ceil().long().tolist(),
        ranks - ranks.floor(),
    )
    out = []
    for j in range(len(qs)):
        below = torch.kthvalue(flat, lo[j] + 1, dim=1).values
        if hi[j] == lo[j]:
            above = below
        else:  # the next order statistic: ``below`` again if it repeats, else the next value up
            repeats = (flat <= below[:, None]).sum(1) >= hi[j] + 1
            up = torch.where(flat > below[:, None], flat, torch.inf).amin(1)
            above = torch.where(repeats, below, up)
        out.append(torch.lerp(below, above, weight[j].to(flat.device)))
    return torch.stack(out, 1)


def row_std(flat: Tensor) -> Tensor:
    """Standard deviation ``(B,)`` of each row of ``flat`` ``(B, N)`` (Bessel-corrected, two
    passes): ``flat.std(1)`` to float rounding, several times faster on CPU for short rows."""
    centred = flat - flat.mean(1, keepdim=True)
    return (centred.square().sum(1) / max(flat.shape[1] - 1, 1)).sqrt()


def gaussian_blur(x: Tensor, k: int, sigma: float) -> Tensor:
    """Gaussian blur of ``(..., H, W)`` with a ``k x k`` kernel of ``sigma`` pixels and
    reflected borders: ``kornia.filters.gaussian_blur2d(x, (k, k), (sigma, sigma),
    border_type="reflect")`` to float rounding (the same taps), as two matrix products with
    the border folded into a banded ``(H, H)`` and ``(W, W)`` matrix: at the judge's and the
    context's 64 px a product is far cheaper on CPU than a padded depthwise convolution."""
    h, w = x.shape[-2:]
    mh = _blur_matrix(h, k, sigma, x.device, x.dtype)
    mw = mh if w == h else _blur_matrix(w, k, sigma, x.device, x.dtype)
    return mh @ (x @ mw.T)


def sobel(lum: Tensor) -> tuple[Tensor, Tensor]:
    """Horizontal and vertical Sobel responses of ``(B, H, W)``, normalized (taps / 8) with
    replicated borders: ``kornia.filters.spatial_gradient(lum[:, None], "sobel",
    normalized=True)[:, 0].unbind(1)`` to float rounding, in a few slices instead of a
    convolution."""
    p = F.pad(lum[:, None], (1, 1, 1, 1), mode="replicate")[:, 0]
    dx = p[:, :, 2:] - p[:, :, :-2]  # right minus left, (B, H + 2, W)
    dy = p[:, 2:] - p[:, :-2]  # below minus above, (B, H, W + 2)
    sx = (dx[:, :-2] + 2 * dx[:, 1:-1] + dx[:, 2:]) / 8
    sy = (dy[:, :, :-2] + 2 * dy[:, :, 1:-1] + dy[:, :, 2:]) / 8
    return sx, sy


@constant_cache(64)
def _blur_matrix(n: int, k: int, sigma: float, device: torch.device, dtype: torch.dtype) -> Tensor:
    """``(n, n)``: row ``o`` holds the Gaussian taps around ``o``, reflected at the border
    (cached per size, kernel, device and dtype, built outside inference mode: a constant any
    later call may differentiate through)."""
    if k // 2 >= n:
        raise ValueError(f"a {k}-tap blur needs a side > {k // 2}, got {n}")
    taps = kornia.filters.get_gaussian_kernel1d(k, sigma, dtype=torch.float64)[0]
    m = torch.zeros(n, n, dtype=torch.float64)
    for o in range(n):
        for t in range(k):
            i = o + t - k // 2
            i = -i if i < 0 else (2 * (n - 1) - i if i >= n else i)
            m[o, i] += taps[t]
    return m.to(device, dtype)


def image_features(x: Tensor) -> Tensor:
    """Signature features ``(B, N_FEATURES)`` of images ``(B, 3, H, W)`` in [0, 1].

    Differentiable almost everywhere (percentiles and thresholds have sub-gradients only).
    """
    if x.dim() != 4 or x.shape[1] != 3:
        raise ValueError(f"expected images (B, 3, H, W), got {tuple(x.shape)}")
    x = to_work_size(x.float())
    b, _, h, w = x.shape
    lum = luma(x)
    flat = lum.flatten(1)
    q = row_quantiles(flat, (0.1, 0.9))  # (B, 2)
    yiq = torch.einsum("ij,bjhw->bihw", _YIQ.to(x), x)
    i, qq = yiq[:, 1], yiq[:, 2]
    chroma = torch.sqrt(i * i + qq * qq + 1e-8)
    ang = torch.atan2(qq, i)
    # bin k is centred at 2 pi k / _HUE_BINS - pi; the angle to each centre, wrapped to
    # [-pi, pi), weighs the pixel's chroma with a Gaussian of 0.45 rad
    shifted = torch.arange(_HUE_BINS, device=x.device, dtype=x.dtype) * (2 * math.pi / _HUE_BINS)
    d = torch.remainder(ang[:, None] - (shifted - 2 * math.pi).view(1, -1, 1, 1), 2 * math.pi)
    weight = torch.exp((d - math.pi).square() * (-0.5 / 0.45**2))
    hue = torch.einsum("bkhw,bhw->bk", weight, chroma) * (4 / (h * w))

    third = h // 3
    top = x[:, :, :third].mean((2, 3))
    bottom = x[:, :, -third:].mean((2, 3))

    blur1 = gaussian_blur(x, 5, 1.0)
    blur4 = gaussian_blur(x, 17, 4.0)
    fine = (x - blur1).abs().mean((1, 2, 3))
    coarse = (blur1 - blur4).abs().mean((1, 2, 3))
    sx, sy = sobel(lum[:, 0])
    gx, gy = sx.abs(), sy.abs()
    edges = torch.sqrt(sx.square() + sy.square() + 1e-8).mean((1, 2))
    diag = (sx + sy).abs() - (sx - sy).abs()

    local = luma(blur4)
    bright = torch.sigmoid((lum - local - 0.15) * 40).mean((1, 2, 3))
    dark = torch.sigmoid((local - lum - 0.15) * 40).mean((1, 2, 3))
    var = box_mean(lum * lum, 3) - box_mean(lum, 3) ** 2
    flatness = torch.sigmoid((2e-4 - var) * 2e4).mean((1, 2, 3))

    c = max(2, h // 6)
    centre = lum[:, :, h // 2 - c : h // 2 + c, w // 2 - c : w // 2 + c].mean((1, 2, 3))
    corners = torch.stack(
        [lum[:, :, :c, :c], lum[:, :, :c, -c:], lum[:, :, -c:, :c], lum[:, :, -c:, -c:]], 1
    ).mean((1, 2, 3, 4))
    vignette = corners - centre
    clip_hi = torch.sigmoid((x.amax(1) - 0.98) * 200).mean((1, 2))
    clip_lo = torch.sigmoid((0.02 - lum[:, 0]) * 200).mean((1, 2))

    feats = [
        flat.mean(1), row_std(flat), q[:, 0], q[:, 1],
        i.mean((1, 2)), qq.mean((1, 2)), chroma.mean((1, 2)), row_std(chroma.flatten(1)),
        *hue.unbind(1),
        *top.unbind(1), *bottom.unbind(1), luma(top[:, :, None, None]).flatten() - luma(bottom[:, :, None, None]).flatten(),
        edges, fine, coarse,
        bright, dark, flatness,
        gx.mean((1, 2)), gy.mean((1, 2)), diag.mean((1, 2)),
        vignette, clip_hi, clip_lo,
    ]  # fmt: skip
    return torch.stack(feats, 1)


def clip(a: Tensor) -> Tensor:
    """Fraction ``(B,)`` of clipped channel values (below 0.01 or above 0.99)."""
    return ((a > 0.99) | (a < 0.01)).float().mean((1, 2, 3))


def fine(a: Tensor) -> Tensor:
    """Fine-detail energy ``(B,)``: mean absolute difference to a 3x3 box mean (noise, grain)."""
    return (a - box_mean(a, 3)).abs().mean((1, 2, 3))


def ssim(a: Tensor, b: Tensor, window: int = 7) -> Tensor:
    """Mean structural similarity ``(B,)`` of the luminance of two batches, uniform window."""
    x, y = luma(a), luma(b)

    def pool(t: Tensor) -> Tensor:  # a separable box mean (same result, 3.5x cheaper)
        return box_mean(box_mean(t, 1, window), window, 1)

    mx, my = pool(x), pool(y)
    vx, vy, cxy = pool(x * x) - mx * mx, pool(y * y) - my * my, pool(x * y) - mx * my
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return s.mean((1, 2, 3))
