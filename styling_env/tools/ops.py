"""Primitive image operations the tool recipes are made of.

Every op is a plain function ``op(x, t, **params) -> y`` on a batch ``x`` of shape
``(B, 3, H, W)``, float, values in [0, 1], with a per-image amount ``t`` of shape ``(B, 1, 1, 1)``
in [0, 1]: ``t = 0`` leaves an image as it is, ``t = 1`` applies the op's parameters in full.
Ops run on whatever device ``x`` lives on and are differentiable in ``x`` and ``t`` except where
noted (posterize uses a straight-through estimator; mosaics and warps are differentiable in ``x``).
Ops that need to know where the sky is take a keyword ``ctx`` (:class:`OpContext`).

Results may leave [0, 1]; :func:`styling_env.apply_calls` clamps once per call.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import kornia
import torch
import torch.nn.functional as F

from . import patterns
from .caching import constant_cache

Tensor = torch.Tensor
RGB = tuple[float, float, float]

_LUMA = (0.2126, 0.7152, 0.0722)
# RGB -> YIQ: hue lives in the (I, Q) plane, so a hue rotation is a 2x2 rotation (cheaper than HSV).
_YIQ = ((0.299, 0.587, 0.114), (0.595716, -0.274453, -0.321263), (0.211456, -0.522591, 0.311135))
_YIQ_INV = torch.linalg.inv(torch.tensor(_YIQ, dtype=torch.float64)).tolist()


@dataclass(frozen=True)
class OpContext:
    """What an op may know besides the pixels: ``sky`` weights ``(B, 1, H, W)`` in [0, 1]
    (the sky mask where known, else a soft top-of-frame ramp)."""

    sky: Tensor


@dataclass(frozen=True)
class OpSpec:
    fn: Callable[..., Tensor]
    params: frozenset[str]
    uses_ctx: bool


OPS: dict[str, OpSpec] = {}


def op(fn: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """Register ``fn`` as a primitive op under its name."""
    sig = inspect.signature(fn)
    names = [p for p in sig.parameters if p not in ("x", "t", "ctx")]
    OPS[fn.__name__] = OpSpec(fn, frozenset(names), "ctx" in sig.parameters)
    return fn


# ----------------------------------------------------------------------------------------------
# helpers


def luma(x: Tensor) -> Tensor:
    """Rec. 709 luminance ``(B, 1, H, W)``."""
    w = x.new_tensor(_LUMA).view(1, 3, 1, 1)
    return (x * w).sum(1, keepdim=True)


def _color(x: Tensor, rgb: Sequence[float]) -> Tensor:
    return x.new_tensor(rgb).view(1, 3, 1, 1)


def _mix(x: Tensor, y: Tensor, a: Tensor | float) -> Tensor:
    return x + (y - x) * a


def _matmul(x: Tensor, m: Tensor) -> Tensor:
    """Apply a colour matrix ``(3, 3)`` or ``(B, 3, 3)`` to every pixel."""
    if m.dim() == 2:
        return torch.einsum("ij,bjhw->bihw", m, x)
    return torch.einsum("bij,bjhw->bihw", m, x)


def blur(x: Tensor, sigma: float) -> Tensor:
    """Gaussian blur, sigma in pixels; large sigmas run on a downsampled copy."""
    if sigma <= 0:
        return x
    h, w = x.shape[-2:]
    factor = int(sigma // 2)
    if factor >= 2 and min(h, w) // factor >= 4:
        small = F.avg_pool2d(x, factor, ceil_mode=True)
        small = blur(small, sigma / factor)
        return F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)
    k = 2 * int(math.ceil(2.5 * sigma)) + 1
    k = min(k, 2 * (min(h, w) // 2) - 1) if min(h, w) > 2 else 1
    if k < 3:
        return x
    # channels-last makes the depthwise convolution ~30x faster on the CPU build, bit-identical.
    # kornia's gaussian_blur2d on a channels-last input is this separable convolution with
    # these taps (its slice path is for contiguous inputs); the taps are built once per (size,
    # sigma): on small images building them and kornia's checks cost more than convolving.
    taps = _gaussian_taps(k, float(sigma), x.dtype, x.device)
    y = kornia.filters.filter2d_separable(
        x.contiguous(memory_format=torch.channels_last), taps, taps, "reflect"
    )
    return y.contiguous()


@constant_cache(128)
def _gaussian_taps(k: int, sigma: float, dtype: torch.dtype, device: torch.device) -> Tensor:
    """kornia's ``(1, k)`` Gaussian taps for ``sigma`` (as ``gaussian_blur2d`` builds them)."""
    return kornia.filters.get_gaussian_kernel1d(
        k, torch.tensor([[sigma]], dtype=dtype, device=device)
    )


def box_mean(x: Tensor, kh: int, kw: int | None = None) -> Tensor:
    """Mean over a ``kh x kw`` window around each pixel of ``(..., H, W)`` (odd sides, stride 1,
    the window clipped at the border): ``F.avg_pool2d(x, (kh, kw), 1, (kh // 2, kw // 2),
    count_include_pad=False)`` to the bit (the same additions in the same order, the same
    division), several times faster on CPU than that kernel at the judge's sizes."""
    kw = kh if kw is None else kw
    if kh % 2 == 0 or kw % 2 == 0 or kh < 1 or kw < 1:
        raise ValueError(f"box_mean needs odd window sides, got {kh}x{kw}")
    h, w = x.shape[-2:]
    ph, pw = kh // 2, kw // 2
    if x.numel() <= 4096:  # one small plane: the pooling kernel's fixed cost is the lower one
        return F.avg_pool2d(x, (kh, kw), 1, (ph, pw), count_include_pad=False)
    p = F.pad(x, (pw, pw, ph, ph)) if ph or pw else x
    return _window_sum(p, kh, kw) / _window_counts(h, w, kh, kw, x.device, x.dtype)


def _window_sum(x: Tensor, kh: int, kw: int) -> Tensor:
    """Sum over each ``kh x kw`` window lying inside ``(..., H, W)`` (stride 1): shifted slices
    added in the pooling kernel's order (window rows, then columns), so that dividing gives
    ``F.avg_pool2d``'s bits."""
    h, w = x.shape[-2] - kh + 1, x.shape[-1] - kw + 1
    total = None
    for i in range(kh):
        for j in range(kw):
            part = x[..., i : i + h, j : j + w]
            total = part.clone() if total is None else total.add_(part)
    return total


@constant_cache(128)
def _window_counts(h: int, w: int, kh: int, kw: int, device, dtype) -> Tensor:
    """``(H, W)``: how many pixels of a ``kh x kw`` window clipped at the border each output
    averages (cached per shape, device and dtype, built outside inference mode)."""

    def side(n: int, k: int) -> Tensor:
        o = torch.arange(n)
        return (torch.clamp(o - k // 2 + k, max=n) - torch.clamp(o - k // 2, min=0)).double()

    return (side(h, kh)[:, None] * side(w, kw)[None, :]).to(device, dtype)


def window_mean(x: Tensor, k: int) -> Tensor:
    """Mean over each ``k x k`` window of ``(..., H, W)`` lying inside it (stride 1, no
    padding: ``(H - k + 1, W - k + 1)``): ``F.avg_pool2d(x, k, stride=1)`` to the bit (the same
    additions in the same order, the same division), several times faster on CPU."""
    if k < 1 or k > min(x.shape[-2:]):
        raise ValueError(f"a {k}x{k} window does not fit in {tuple(x.shape[-2:])}")
    return _window_sum(x, k, k) / (k * k)


def _px(x: Tensor, frac: float) -> float:
    """A length given as a fraction of the short side, in pixels."""
    return frac * min(x.shape[-2:])


def _blend(base: Tensor, layer: Tensor, mode: str) -> Tensor:
    if mode == "normal":
        return layer.expand_as(base)
    if mode == "multiply":
        return base * layer
    if mode == "screen":
        return 1 - (1 - base) * (1 - layer)
    if mode == "add":
        return base + layer
    if mode == "overlay":
        return torch.where(base < 0.5, 2 * base * layer, 1 - 2 * (1 - base) * (1 - layer))
    if mode == "soft_light":  # the W3C formula, smooth and never clips
        d = torch.where(
            base <= 0.25, ((16 * base - 12) * base + 4) * base, base.clamp_min(0).sqrt()
        )
        return torch.where(
            layer <= 0.5,
            base - (1 - 2 * layer) * base * (1 - base),
            base + (2 * layer - 1) * (d - base),
        )
    if mode == "color":  # the layer's chroma on the base's luminance
        return layer - luma(layer.expand_as(base)) + luma(base)
    raise ValueError(f"unknown blend mode {mode!r}")


# ----------------------------------------------------------------------------------------------
# tone and colour


@op
def exposure(x: Tensor, t: Tensor, ev: float) -> Tensor:
    """Multiply by ``2 ** (ev * t)`` (photographic stops)."""
    return x * torch.exp2(ev * t)


@op
def gamma(x: Tensor, t: Tensor, g: float) -> Tensor:
    """Gamma curve ``x ** g`` (g < 1 lifts mid-tones, g > 1 darkens them)."""
    return _mix(x, x.clamp(1e-4, 1.0) ** g, t)


@op
def contrast(x: Tensor, t: Tensor, amount: float, pivot: float = -1.0) -> Tensor:
    """Scale around ``pivot`` (the image's mean luminance when negative) by ``1 + amount * t``."""
    p = luma(x).mean((2, 3), keepdim=True) if pivot < 0 else pivot
    return (x - p) * (1 + amount * t) + p


@op
def s_curve(x: Tensor, t: Tensor, amount: float) -> Tensor:
    """A monotone S tone curve (``amount`` in [-1, 1]; negative flattens) that never clips."""
    return x - amount * t * torch.sin(2 * math.pi * x) / (2 * math.pi)


@op
def levels(x: Tensor, t: Tensor, black: float = 0.0, white: float = 1.0) -> Tensor:
    """Map [0, 1] to [black, white] (a raised black is a faded, matte look)."""
    return _mix(x, black + x * (white - black), t)


@op
def saturation(x: Tensor, t: Tensor, factor: float) -> Tensor:
    """Scale chroma around luminance by ``factor`` (0 = grey)."""
    lum = luma(x)
    return lum + (x - lum) * (1 + (factor - 1) * t)


@op
def white_balance(x: Tensor, t: Tensor, temp: float, tint: float = 0.0) -> Tensor:
    """Warm (``temp`` > 0) or cool a picture, and shift green/magenta with ``tint``,
    keeping luminance."""
    gains = x.new_tensor([1 + 0.35 * temp, 1 - 0.25 * tint, 1 - 0.35 * temp])
    gains = gains / (gains * x.new_tensor(_LUMA)).sum()
    g = 1 + (gains.view(1, 3, 1, 1) - 1) * t
    return x * g


@op
def channel_mix(x: Tensor, t: Tensor, matrix: tuple[RGB, RGB, RGB]) -> Tensor:
    """A 3x3 colour matrix, blended from the identity by ``t``."""
    return _mix(x, _matmul(x, x.new_tensor(matrix)), t)


@op
def gradient_map(x: Tensor, t: Tensor, stops: tuple[RGB, ...]) -> Tensor:
    """Map luminance onto a colour ramp through ``stops`` (dark to light): duotones, sepia, B&W."""
    lum = luma(x).clamp(0, 1) * (len(stops) - 1)
    cols = x.new_tensor(stops)  # (S, 3)
    i0 = lum.floor().clamp(max=len(stops) - 2).long()
    f = lum - i0
    c0 = cols[i0.squeeze(1)].permute(0, 3, 1, 2)
    c1 = cols[(i0 + 1).squeeze(1)].permute(0, 3, 1, 2)
    return _mix(x, c0 + (c1 - c0) * f, t)


@op
def split_tone(x: Tensor, t: Tensor, shadows: RGB, highlights: RGB, amount: float = 1.0) -> Tensor:
    """Push the chroma of shadows and highlights toward two colours (luminance kept)."""
    lum = luma(x).clamp(0, 1)
    wh = lum * lum * (3 - 2 * lum)
    s, h = _color(x, shadows), _color(x, highlights)
    shift = (1 - wh) * (s - luma(s)) + wh * (h - luma(h))
    return x + amount * t * shift


@op
def tint(
    x: Tensor, t: Tensor, color: RGB, opacity: float = 1.0, mode: str = "soft_light"
) -> Tensor:
    """Blend a flat colour over the image in ``mode`` (normal, multiply, screen, add, overlay,
    soft_light, color)."""
    return _mix(x, _blend(x, _color(x, color), mode), opacity * t)


@op
def hue_shift(
    x: Tensor,
    t: Tensor,
    source: RGB,
    target: RGB,
    width: float = 45.0,
    chroma: float = 1.0,
    lift: float = 0.0,
) -> Tensor:
    """Selective hue: rotate the hues near ``source``'s toward ``target``'s (a Gaussian band of
    ``width`` degrees), scale their chroma by ``chroma`` and add ``lift`` to their luminance.
    Grey pixels are left alone. Runs in YIQ, where hue is an angle."""
    m = x.new_tensor(_YIQ)
    yiq = _matmul(x, m)
    src = m @ x.new_tensor(source)
    dst = m @ x.new_tensor(target)
    a_src = torch.atan2(src[2], src[1])
    a_dst = torch.atan2(dst[2], dst[1])
    rot = torch.atan2(torch.sin(a_dst - a_src), torch.cos(a_dst - a_src))
    i, q = yiq[:, 1:2], yiq[:, 2:3]
    ang = torch.atan2(q, i)
    d = torch.atan2(torch.sin(ang - a_src), torch.cos(ang - a_src))
    c = torch.sqrt(i * i + q * q + 1e-12)
    wgt = torch.exp(-0.5 * (d / math.radians(width)) ** 2) * (c / (c + 0.03)) * t
    theta = rot * wgt
    k = 1 + (chroma - 1) * wgt
    cos, sin = torch.cos(theta), torch.sin(theta)
    i2 = (i * cos - q * sin) * k
    q2 = (i * sin + q * cos) * k
    y2 = yiq[:, :1] + lift * wgt
    return _matmul(torch.cat([y2, i2, q2], 1), x.new_tensor(_YIQ_INV))


@op
def gradient(
    x: Tensor,
    t: Tensor,
    ctx: OpContext,
    top: RGB,
    bottom: RGB,
    opacity: float = 1.0,
    mode: str = "soft_light",
    where: str = "sky",
    angle: float = 0.0,
) -> Tensor:
    """A linear colour gradient (``top`` to ``bottom``, rotated by ``angle`` degrees) blended in
    ``mode``, over the sky (``where="sky"``: the sky mask, or the top of the frame without masks),
    the ground (``"ground"``: everything but the sky) or everywhere (``"all"``)."""
    h, w = x.shape[-2:]
    yy, xx = patterns.coords(h, w, x.device)
    a = math.radians(angle)
    u = ((yy - 0.5) * math.cos(a) - (xx - 0.5) * math.sin(a)) + 0.5
    u = u.clamp(0, 1)
    layer = _color(x, top) * (1 - u) + _color(x, bottom) * u
    if where == "sky":
        weight = ctx.sky
    elif where == "ground":
        weight = 1 - ctx.sky
    elif where == "all":
        weight = 1.0
    else:
        raise ValueError(f"gradient: unknown where={where!r}; expected sky, ground or all")
    return _mix(x, _blend(x, layer, mode), opacity * t * weight)


@op
def vignette(
    x: Tensor, t: Tensor, amount: float, radius: float = 0.75, color: RGB = (0.0, 0.0, 0.0)
) -> Tensor:
    """Darken (or tint with ``color``) the corners; ``radius`` where the falloff starts."""
    h, w = x.shape[-2:]
    yy, xx = patterns.coords(h, w, x.device)
    r = torch.sqrt((yy - 0.5) ** 2 + (xx - 0.5) ** 2) / math.sqrt(0.5)
    fall = ((r - radius * 0.6) / (1.0 - radius * 0.6)).clamp(0, 1) ** 2
    return _mix(x, _color(x, color), amount * t * fall)


@op
def spotlight(
    x: Tensor,
    t: Tensor,
    center: tuple[float, float],
    radius: float,
    dark: float,
    color: RGB = (1.0, 1.0, 1.0),
) -> Tensor:
    """A pool of light at ``center`` (x, y fractions), darkening by ``dark`` outside ``radius``."""
    h, w = x.shape[-2:]
    yy, xx = patterns.coords(h, w, x.device)
    d = torch.sqrt((yy - center[1]) ** 2 + (xx - center[0]) ** 2) / radius
    light = torch.exp(-(d**2))
    lit = x * (1 - dark + dark * light) * (1 + (_color(x, color) - 1) * light)
    return _mix(x, lit, t)


# ----------------------------------------------------------------------------------------------
# light and atmosphere


@op
def bloom(
    x: Tensor,
    t: Tensor,
    threshold: float = 0.7,
    sigma: float = 0.04,
    amount: float = 0.8,
    color: RGB = (1.0, 1.0, 1.0),
) -> Tensor:
    """Glow around highlights above ``threshold`` (sigma as a fraction of the short side)."""
    bright = (luma(x) - threshold).clamp_min(0) / (1 - threshold + 1e-6)
    glow = blur(x * bright, _px(x, sigma)) * _color(x, color)
    return _blend(x, glow * amount * t, "screen")


@op
def haze(
    x: Tensor,
    t: Tensor,
    ctx: OpContext,
    density: float,
    color: RGB,
    falloff: str = "uniform",
    soften: float = 0.0,
) -> Tensor:
    """Fog and haze: blend toward ``color`` by ``density``, shaped by ``falloff`` (uniform, sky:
    thicker toward the horizon, ground: a layer at the bottom, patchy: fractal patches, top:
    rising from the top, depth: growing with distance, read as height in the frame, layers:
    stepped bands like receding ridges), optionally softening detail (``soften``, blur sigma as
    a fraction)."""
    h, w = x.shape[-2:]
    yy, _ = patterns.coords(h, w, x.device)
    if falloff == "uniform":
        wgt = torch.ones_like(yy)
    elif falloff == "sky":
        wgt = 0.55 + 0.45 * ctx.sky
    elif falloff == "ground":
        wgt = ((yy - 0.45) / 0.55).clamp(0, 1) ** 0.8 * (
            0.6 + 0.4 * patterns.fbm(h, w, 11, 3, 3, x.device)
        )
    elif falloff == "patchy":
        wgt = 0.35 + 0.65 * patterns.fbm(h, w, 12, 2.5, 4, x.device)
    elif falloff == "top":
        wgt = (1 - yy).clamp(0, 1) * (0.5 + 0.5 * patterns.fbm(h, w, 13, 3, 4, x.device))
    elif falloff == "depth":  # distance read as height in the frame: far things sit high
        wgt = torch.maximum(ctx.sky, ((0.85 - yy) / 0.6).clamp(0, 1) ** 0.8)
    elif falloff == "layers":  # receding ridges, each a flat band of haze thicker than the last
        q = (1 - yy) * 4 + 0.6 * (patterns.fbm(h, w, 14, 2.0, 3, x.device) - 0.5)
        rise = ((q - q.floor() - 0.75) / 0.25).clamp(0, 1)  # flat bands, short soft steps
        wgt = ((q.floor() + rise * rise * (3 - 2 * rise)) / 4).clamp(0, 1)
    else:
        raise ValueError(f"haze: unknown falloff {falloff!r}")
    base = _mix(x, blur(x, _px(x, soften)), t) if soften > 0 else x
    return _mix(base, _color(x, color), density * t * wgt)


@op
def particles(
    x: Tensor,
    t: Tensor,
    count: float,
    size: float,
    colors: tuple[RGB, ...] = ((1.0, 1.0, 1.0),),
    opacity: float = 1.0,
    length: float = 0.0,
    angle: float = 0.0,
    jitter: float = 0.0,
    star: bool = False,
    bottom_bias: float = 0.0,
    mode: str = "normal",
    seed: int = 0,
) -> Tensor:
    """Snow, rain, dust, petals, embers, sparkles...: ``count`` particles per 128x128 area of
    ``size`` (fraction of the short side), streaked by ``length`` at ``angle`` degrees, one
    colour per group. ``t`` scales their opacity."""
    h, w = x.shape[-2:]
    alpha = patterns.particles(
        h, w, seed=seed, count=count, size=size, length=length, angle=angle, jitter=jitter,
        star=star, groups=len(colors), bottom_bias=bottom_bias, device=x.device,
    )  # fmt: skip
    out = x
    for g, c in enumerate(colors):
        a = alpha[:, g : g + 1] * opacity * t
        if mode == "normal":
            out = _mix(out, _color(x, c), a)
        else:
            out = _blend(out, _color(x, c) * a, mode)
    return out


@op
def rays(
    x: Tensor,
    t: Tensor,
    origin: tuple[float, float],
    color: RGB,
    opacity: float,
    beams: int = 7,
    width: float = 0.08,
    fade: float = 1.2,
    mode: str = "screen",
    seed: int = 0,
) -> Tensor:
    """Light shafts (or speed lines, with ``fade`` < 0) radiating from ``origin``."""
    h, w = x.shape[-2:]
    f = patterns.rays(
        h, w, seed=seed, origin=origin, beams=beams, width=width, fade=fade, device=x.device
    )
    layer = _color(x, color) * f * opacity * t
    if mode == "normal":
        return _mix(x, _color(x, color), f * opacity * t)
    return _blend(x, layer, mode)


@op
def flare(
    x: Tensor, t: Tensor, center: tuple[float, float], color: RGB, amount: float, size: float = 0.25
) -> Tensor:
    """A lens flare: a bright glow at ``center`` and ghost rings along the axis through the middle."""
    h, w = x.shape[-2:]
    yy, xx = patterns.coords(h, w, x.device)
    cx, cy = center
    glow = torch.exp(-(((xx - cx) ** 2 + (yy - cy) ** 2) / (size**2)))
    layer = _color(x, color) * glow
    for k, (pos, rad, col) in enumerate(
        ((0.6, 0.05, (0.6, 0.9, 1.0)), (1.2, 0.08, (0.9, 0.6, 1.0)), (1.5, 0.03, (1.0, 0.9, 0.5)))
    ):
        gx, gy = cx + (0.5 - cx) * pos * 2, cy + (0.5 - cy) * pos * 2
        d = torch.sqrt((xx - gx) ** 2 + (yy - gy) ** 2)
        ring = torch.exp(-(((d - rad) / (0.012 + 0.006 * k)) ** 2)) + 0.5 * (d < rad).float()
        layer = layer + 0.35 * _color(x, col) * ring
    return _blend(x, layer * amount * t, "screen")


@op
def bokeh(
    x: Tensor,
    t: Tensor,
    count: float,
    size: float,
    colors: tuple[RGB, ...],
    opacity: float,
    blur_sigma: float = 0.02,
    seed: int = 0,
) -> Tensor:
    """Out-of-focus discs of light over a softened picture."""
    h, w = x.shape[-2:]
    soft = _mix(x, blur(x, _px(x, blur_sigma)), t)
    alpha = patterns.particles(
        h, w, seed=seed, count=count, size=size, groups=len(colors), device=x.device
    )
    disc = (alpha * 1.6).clamp(0, 1) ** 0.5  # flat-topped discs with soft rims
    out = soft
    for g, c in enumerate(colors):
        out = _blend(out, _color(x, c) * disc[:, g : g + 1] * opacity * t, "screen")
    return out


@op
def glow_edges(x: Tensor, t: Tensor, color: RGB, amount: float, sigma: float = 0.03) -> Tensor:
    """A coloured glow hugging contours (auras, bioluminescent rims, neon)."""
    e = _edge_magnitude(x)
    halo = blur(e, _px(x, sigma)) * 4
    return _blend(x, (_color(x, color) * (halo + e).clamp(0, 1.5)) * amount * t, "screen")


# ----------------------------------------------------------------------------------------------
# texture, lens and media


@op
def grain(
    x: Tensor, t: Tensor, sigma: float, mono: bool = True, seed: int = 0, scale: float = 1.0
) -> Tensor:
    """Film grain: seeded Gaussian noise of ``sigma``, strongest in the mid-tones; ``scale`` > 1
    makes the grains coarser."""
    h, w = x.shape[-2:]
    hs, ws = max(1, int(h / scale)), max(1, int(w / scale))
    n = patterns.gaussian_noise(hs, ws, seed, 1 if mono else 3, x.device)
    if (hs, ws) != (h, w):
        n = F.interpolate(n, size=(h, w), mode="bilinear", align_corners=False)
    lum = luma(x).clamp(0, 1)
    return x + sigma * t * n * (0.35 + 2.6 * lum * (1 - lum))


@op
def texture(
    x: Tensor, t: Tensor, kind: str, amount: float, scale: float = 1.0, seed: int = 0
) -> Tensor:
    """A surface under the picture: ``paper`` (fibrous noise), ``canvas`` (a weave), ``rough``
    (coarse grit), ``stone`` (mottled), ``crackle`` (a network of cracks), ``fabric`` (a fine
    over-under thread weave), ``wood`` (wavy growth rings), ``brushed`` (horizontal metal
    streaks). Multiplicative."""
    h, w = x.shape[-2:]
    yy, xx = patterns.coords(h, w, x.device)
    if kind == "paper":
        f = 0.6 * patterns.fbm(h, w, seed + 1, 24 * scale, 3, x.device) + 0.4 * patterns.fbm(
            h, w, seed + 2, 6 * scale, 3, x.device
        )
    elif kind == "canvas":
        m = min(h, w)
        p = 2 * math.pi * m / (3.0 * scale)
        weave = 0.5 + 0.25 * (torch.sin(xx * p * w / m) + torch.sin(yy * p * h / m))
        f = 0.7 * weave + 0.3 * patterns.fbm(h, w, seed + 3, 20, 2, x.device)
    elif kind == "rough":
        f = patterns.fbm(h, w, seed + 4, 40 * scale, 2, x.device)
    elif kind == "stone":
        f = patterns.fbm(h, w, seed + 5, 5 * scale, 5, x.device)
    elif kind == "crackle":
        n = patterns.fbm(h, w, seed + 6, 4 * scale, 4, x.device)
        f = 1 - torch.exp(-(((n - 0.5) / 0.025) ** 2))
    elif kind == "fabric":
        p = 2 * math.pi * min(h, w) / (2.5 * scale)
        threads = torch.sin(xx * p * w / min(h, w)) * torch.sin(yy * p * h / min(h, w))
        f = 0.5 + 0.35 * threads + 0.3 * (patterns.fbm(h, w, seed + 7, 30, 2, x.device) - 0.5)
    elif kind == "wood":
        phase = yy * (h / min(h, w)) * 9 * scale + 1.5 * patterns.fbm(
            h, w, seed + 8, 2, 3, x.device
        )
        rings = (0.5 + 0.5 * torch.sin(2 * math.pi * phase)) ** 3
        f = 0.75 * rings + 0.25 * patterns.fbm(h, w, seed + 9, 24 * scale, 2, x.device)
    elif kind == "brushed":
        k = max(3, w // 6 * 2 + 1)
        n = F.avg_pool2d(
            patterns.gaussian_noise(h, w, seed + 10, 1, x.device), (1, k), stride=1,
            padding=(0, k // 2), count_include_pad=False,
        )  # fmt: skip
        f = (0.5 + n / (5 * n.std() + 1e-6)).clamp(0, 1)
    else:
        raise ValueError(f"texture: unknown kind {kind!r}")
    return x * (1 + amount * t * (f - 0.5 if kind != "crackle" else f - 1))


@op
def chromatic_aberration(x: Tensor, t: Tensor, shift: float) -> Tensor:
    """Colour fringes: red scaled out and blue scaled in by ``shift`` (fraction of the frame)."""
    h, w = x.shape[-2:]
    yy, xx = patterns.coords(h, w, x.device)
    base = torch.cat([xx, yy], 1).permute(0, 2, 3, 1) * 2 - 1  # (1, H, W, 2)
    b = x.shape[0]
    s = (shift * t).view(b, 1, 1, 1)
    r = F.grid_sample(
        x[:, :1], base / (1 + s), mode="bilinear", padding_mode="border", align_corners=False
    )
    bl = F.grid_sample(
        x[:, 2:], base / (1 - s), mode="bilinear", padding_mode="border", align_corners=False
    )
    return torch.cat([r, x[:, 1:2], bl], 1)


@op
def warp(
    x: Tensor, t: Tensor, kind: str, amount: float, frequency: float = 6.0, seed: int = 0
) -> Tensor:
    """Geometric distortion: ``barrel`` (k = amount), ``pincushion``, ``wave`` (heat shimmer),
    ``noise`` (fractal displacement), ``shear`` (glitch bands). Sampled with reflection."""
    h, w = x.shape[-2:]
    b = x.shape[0]
    yy, xx = patterns.coords(h, w, x.device)
    gx, gy = xx * 2 - 1, yy * 2 - 1
    a = (amount * t).view(b, 1, 1, 1)
    if kind in ("barrel", "pincushion"):
        r2 = gx**2 + gy**2
        k = a if kind == "barrel" else -a
        sx, sy = gx * (1 - k * r2 * 0.5) / (1 - k * 0.5), gy * (1 - k * r2 * 0.5) / (1 - k * 0.5)
    elif kind == "wave":
        sx = gx + a * 0.02 * torch.sin(gy * frequency * math.pi + 1.3)
        sy = gy + a * 0.01 * torch.sin(gx * frequency * math.pi * 0.7)
    elif kind == "noise":
        nx = patterns.fbm(h, w, seed + 21, frequency, 3, x.device) - 0.5
        ny = patterns.fbm(h, w, seed + 22, frequency, 3, x.device) - 0.5
        sx, sy = gx + a * 0.08 * nx, gy + a * 0.08 * ny
    elif kind == "shear":
        bands = patterns.fbm(h, 1, seed + 23, frequency * 3, 1, x.device)  # (1,1,H,1)
        step = ((bands - 0.5) * 8).round() / 8 * ((bands - 0.5).abs() > 0.18).float()
        sx, sy = gx + a * 0.5 * step, gy
    else:
        raise ValueError(f"warp: unknown kind {kind!r}")
    grid = torch.cat([sx.expand(b, 1, h, w), sy.expand(b, 1, h, w)], 1).permute(0, 2, 3, 1)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


@op
def motion_blur(x: Tensor, t: Tensor, length: float, angle: float = 0.0) -> Tensor:
    """Directional blur of ``length`` (fraction of the short side) at ``angle`` degrees."""
    k = max(3, int(_px(x, length)) // 2 * 2 + 1)
    return _mix(x, kornia.filters.motion_blur(x, k, angle, 0.0, border_type="reflect"), t)


@op
def soften(x: Tensor, t: Tensor, sigma: float) -> Tensor:
    """Gaussian blur of ``sigma`` (fraction of the short side), blended by ``t``."""
    return _mix(x, blur(x, _px(x, sigma)), t)


@op
def clarity(x: Tensor, t: Tensor, amount: float, sigma: float = 0.02) -> Tensor:
    """Local contrast: add ``amount`` times the detail above a blur of ``sigma`` (fraction)
    (negative softens detail; small sigma = sharpening)."""
    return x + amount * t * (x - blur(x, max(0.6, _px(x, sigma))))


@op
def posterize(x: Tensor, t: Tensor, levels: int) -> Tensor:
    """Flat colour areas: luminance quantized to ``levels`` and chroma to a matching grid, in
    YIQ so near-greys stay grey (per-channel RGB rounding turns them pink or green).
    Straight-through gradient."""
    m = x.new_tensor(_YIQ)
    yiq = _matmul(x.clamp(0, 1), m)
    step = x.new_tensor([1.0 / (levels - 1), 0.6 / levels, 0.6 / levels]).view(1, 3, 1, 1)
    q = _matmul(torch.round(yiq / step) * step, x.new_tensor(_YIQ_INV))
    return _mix(x, x + (q - x).detach(), t)


@op
def kuwahara(x: Tensor, t: Tensor, radius: float) -> Tensor:
    """Edge-preserving painterly smoothing (a soft Kuwahara filter): each pixel takes the mean
    of the least-varied of its four quadrants; ``radius`` as a fraction of the short side."""
    r = max(1, int(round(_px(x, radius))))
    k = r + 1
    pad = F.pad(x, (r, r, r, r), mode="reflect")
    lum = luma(pad)
    mean = window_mean(pad, k)
    var = window_mean(lum * lum, k) - window_mean(lum, k) ** 2
    h, w = x.shape[-2:]
    means, vars_ = [], []
    for dy, dx in ((0, 0), (0, r), (r, 0), (r, r)):
        means.append(mean[..., dy : dy + h, dx : dx + w])
        vars_.append(var[..., dy : dy + h, dx : dx + w])
    wts = torch.softmax(-torch.cat(vars_, 1) / 2e-4, dim=1)  # (B, 4, H, W)
    out = sum(means[i] * wts[:, i : i + 1] for i in range(4))
    return _mix(x, out, t)


def _edge_magnitude(x: Tensor) -> Tensor:
    return kornia.filters.sobel(luma(x), normalized=True)


@op
def ink(
    x: Tensor,
    t: Tensor,
    amount: float,
    threshold: float = 0.04,
    width: float = 0.0,
    color: RGB = (0.05, 0.05, 0.08),
) -> Tensor:
    """Ink lines along edges: Sobel magnitude above ``threshold`` drawn in ``color``; ``width``
    thickens them (fraction of the short side)."""
    e = _edge_magnitude(x)
    if width > 0:
        e = (
            F.max_pool2d(e, 3, stride=1, padding=1)
            if _px(x, width) < 2
            else blur(e, _px(x, width)) * 3
        )
    line = ((e - threshold) / (threshold + 1e-6)).clamp(0, 1)
    return _mix(x, _color(x, color), amount * t * line)


@op
def hatching(
    x: Tensor,
    t: Tensor,
    spacing: float = 0.03,
    angle: float = 45.0,
    paper: RGB = (0.96, 0.95, 0.92),
    lead: RGB = (0.2, 0.2, 0.22),
    cross: bool = True,
    softness: float = 0.5,
    density: float = 1.0,
) -> Tensor:
    """Pencil or charcoal drawing: tone rendered as hatched strokes (crossed in the darks) on
    ``paper``, plus the contours. ``spacing`` is a fraction of the short side; ``density``
    scales how much tone becomes strokes."""
    h, w = x.shape[-2:]
    yy, xx = patterns.coords(h, w, x.device)
    m = min(h, w)
    per = max(2.0, spacing * m)
    a = math.radians(angle)
    u = (xx * w * math.cos(a) + yy * h * math.sin(a)) / per
    jitter = patterns.fbm(h, w, 31, 8, 2, x.device) * 0.8
    s1 = 0.5 + 0.5 * torch.cos(2 * math.pi * (u + jitter))
    v = (xx * w * math.cos(-a) + yy * h * math.sin(-a)) / per
    s2 = 0.5 + 0.5 * torch.cos(2 * math.pi * (v + jitter))
    dark = (1 - luma(x).clamp(0, 1)) * density
    soft = max(softness, 0.05)
    ink1 = ((s1 - (1 - dark)) / soft + 0.5).clamp(0, 1)
    ink2 = ((s2 - (1 - (dark - 0.45).clamp_min(0) * 1.8)) / soft + 0.5).clamp(0, 1) if cross else 0
    e = ((_edge_magnitude(x) - 0.03) / 0.05).clamp(0, 1)
    amount = (torch.maximum(ink1, ink2 if cross else ink1) * 0.8 + e).clamp(0, 1)
    drawing = _color(x, paper) + (_color(x, lead) - _color(x, paper)) * amount
    return _mix(x, drawing, t)


@op
def mosaic(
    x: Tensor, t: Tensor, cells: float, kind: str = "square", jitter: float = 0.0, seed: int = 0
) -> Tensor:
    """Replace each cell of a tiling by its mean colour: ``square`` (pixel art; ``cells`` across
    the short side), ``triangle`` (low poly), ``voronoi`` (stained glass / collage). ``jitter``
    varies each cell's brightness (paper cut-outs)."""
    h, w = x.shape[-2:]
    b = x.shape[0]
    if kind == "square":
        f = max(1, int(round(min(h, w) / cells)))
        out = F.interpolate(F.avg_pool2d(x, f, ceil_mode=True), scale_factor=f, mode="nearest")[
            ..., :h, :w
        ]
    else:
        ids, n = patterns.cells(h, w, cells=cells, kind=kind, seed=seed, device=x.device)
        flat = x.reshape(b, 3, -1)
        sums = torch.zeros(b, 3, n, device=x.device, dtype=x.dtype).index_add_(2, ids, flat)
        cnt = torch.bincount(ids, minlength=n).to(x.dtype).clamp_min(1)
        means = sums / cnt
        if jitter > 0:
            g = torch.Generator().manual_seed(seed + 7)
            means = means * (1 + jitter * (torch.rand(n, generator=g) - 0.5)).to(x.device, x.dtype)
        out = means[:, :, ids].reshape(b, 3, h, w)
    return _mix(x, out, t)


@op
def scanlines(x: Tensor, t: Tensor, period: float = 3.0, darkness: float = 0.4) -> Tensor:
    """Horizontal scan lines every ``period`` pixels."""
    h, w = x.shape[-2:]
    rows = torch.arange(h, device=x.device, dtype=x.dtype).view(1, 1, h, 1)
    line = 0.5 + 0.5 * torch.cos(2 * math.pi * rows / period)
    return x * (1 - darkness * t * line)


@op
def iridescence(x: Tensor, t: Tensor, amount: float, frequency: float = 3.0) -> Tensor:
    """A holographic rainbow sheen that shifts with position and brightness."""
    h, w = x.shape[-2:]
    yy, xx = patterns.coords(h, w, x.device)
    phase = 2 * math.pi * (frequency * (xx + 0.6 * yy) + luma(x))
    rainbow = torch.cat([0.5 + 0.5 * torch.cos(phase + k * 2 * math.pi / 3) for k in range(3)], 1)
    return _mix(x, _blend(x, rainbow, "screen"), amount * t)


@op
def block_artifacts(
    x: Tensor, t: Tensor, block: float = 0.0625, amount: float = 1.0, seed: int = 0
) -> Tensor:
    """Digital corruption: a fraction ``amount`` of blocks flattened to their mean with a colour
    offset, as a damaged JPEG or video stream shows."""
    h, w = x.shape[-2:]
    f = max(2, int(round(_px(x, block))))
    small = F.avg_pool2d(x, f, ceil_mode=True)
    bh, bw = small.shape[-2:]
    g = torch.Generator().manual_seed(seed + 41)
    hit = (torch.rand(1, 1, bh, bw, generator=g) < 0.35).to(x)
    shift = (torch.rand(1, 3, bh, bw, generator=g) - 0.5).to(x) * 0.35
    blocks = F.interpolate(small + shift, scale_factor=f, mode="nearest")[..., :h, :w]
    m = F.interpolate(hit, scale_factor=f, mode="nearest")[..., :h, :w].to(x.device)
    return _mix(x, blocks.to(x.device), amount * t * m)


@op
def auto_balance(x: Tensor, t: Tensor, amount: float = 1.0, reference: str = "grey") -> Tensor:
    """Neutralize a colour cast and stretch the tonal range to mean +- 2.2 std of luminance,
    per image: the "neutral, balanced" correction. ``reference`` says what should be neutral:
    ``grey`` the mean colour (grey world), ``highlights`` the brightest pixels (a white point,
    which leaves a picture of one dominant colour its colour)."""
    if reference == "grey":
        m = x.mean((2, 3), keepdim=True)
    elif reference == "highlights":
        wgt = torch.softmax(luma(x).flatten(2) * 25, dim=-1).view_as(x[:, :1])
        m = (x * wgt).sum((2, 3), keepdim=True)
    else:
        raise ValueError(
            f"auto_balance: unknown reference {reference!r}; expected grey or highlights"
        )
    gains = (m.mean(1, keepdim=True) / m.clamp_min(1e-3)).clamp(0.5, 2.0)
    y = x * gains
    lum = luma(y)
    mu, sd = lum.mean((2, 3), keepdim=True), lum.std((2, 3), keepdim=True)
    lo, hi = (mu - 2.2 * sd).clamp_min(0), (mu + 2.2 * sd).clamp_max(1)
    y = (y - lo) / (hi - lo).clamp_min(0.2)
    return _mix(x, y, amount * t)


@op
def clouds(
    x: Tensor,
    t: Tensor,
    ctx: OpContext,
    cover: float,
    color: RGB = (0.97, 0.97, 0.98),
    softness: float = 0.15,
    seed: int = 0,
) -> Tensor:
    """Clouds over the sky: ``cover`` in [0, 1] of it, shaded fractal puffs of ``color``."""
    h, w = x.shape[-2:]
    f = patterns.fbm(h, w, seed + 51, 3.0, 5, x.device)
    alpha = ((f - (1 - cover)) / softness).clamp(0, 1) * ctx.sky
    shade = _color(x, color) * (0.8 + 0.35 * f)
    return _mix(x, shade, alpha * t)


@op
def bolt(
    x: Tensor,
    t: Tensor,
    color: RGB = (0.85, 0.85, 1.0),
    amount: float = 1.0,
    flash: float = 0.25,
    seed: int = 0,
) -> Tensor:
    """A forked lightning bolt with its glow, and the flash it throws on the whole scene."""
    h, w = x.shape[-2:]
    core = patterns.lightning(h, w, seed=seed, device=x.device)
    glow = blur(core, _px(x, 0.015)) * 1.5
    layer = _color(x, color) * (core + glow).clamp(0, 1) + flash * _color(x, color)
    return _blend(x, layer * amount * t, "screen")


@op
def emboss(
    x: Tensor, t: Tensor, amount: float, angle: float = 135.0, sigma: float = 0.006
) -> Tensor:
    """Relief shading from the luminance gradient, lit from ``angle`` degrees (impasto, carving)."""
    lum = blur(luma(x), max(0.6, _px(x, sigma)))
    g = kornia.filters.spatial_gradient(lum, mode="sobel", normalized=True)  # (B, 1, 2, H, W)
    a = math.radians(angle)
    shade = g[:, :, 0] * math.cos(a) + g[:, :, 1] * math.sin(a)
    return x * (1 + amount * t * shade * 8)


@op
def cel(x: Tensor, t: Tensor, levels: int = 4) -> Tensor:
    """Cel shading: luminance in ``levels`` flat bands, chroma kept; straight-through gradient."""
    lum = luma(x).clamp(1e-3, 1)
    q = (torch.floor(lum * levels) + 0.5) / levels
    q = lum + (q - lum).detach()
    return _mix(x, x * (q / lum), t)


# ----------------------------------------------------------------------------------------------
# tone normalisation, palettes and directional light (the v3 library's styling actions)


@op
def tone_zones(
    x: Tensor, t: Tensor, shadows: float = 0.0, midtones: float = 0.0, highlights: float = 0.0
) -> Tensor:
    """Lift (positive) or lower (negative) the shadows, mid-tones and highlights separately,
    each by an offset weighted by how much a pixel's luminance belongs to that zone."""
    lum = luma(x).clamp(0, 1)
    zones = shadows * (1 - lum) ** 2 + midtones * 4 * lum * (1 - lum) + highlights * lum**2
    return x + t * zones


@op
def normalize_tone(x: Tensor, t: Tensor, mean: float, spread: float = 0.0) -> Tensor:
    """Per image, move the mean luminance to ``mean`` (a gamma) and, when ``spread`` > 0, its
    standard deviation to ``spread`` (a contrast around the mean): the key of a picture and a
    standard amount of contrast, whatever the picture started from. Chroma is kept."""
    lum = luma(x).clamp(1e-3, 1)
    mu = lum.mean((2, 3), keepdim=True).clamp(0.02, 0.98)
    g = (math.log(mean) / torch.log(mu)).clamp(0.3, 3.0)
    out = lum**g
    if spread > 0:
        m2 = out.mean((2, 3), keepdim=True)
        sd = out.std((2, 3), keepdim=True).clamp_min(0.02)
        out = m2 + (out - m2) * (spread / sd).clamp(0.4, 2.5)
    return x + t * (out - lum)


@op
def normalize_chroma(x: Tensor, t: Tensor, level: float) -> Tensor:
    """Per image, scale chroma so its mean distance from grey is ``level`` (a dull picture gains
    colour, a garish one loses it): a natural saturation."""
    lum = luma(x)
    c = x - lum
    mean = c.abs().mean((1, 2, 3), keepdim=True).clamp_min(1e-3)
    factor = (level / mean).clamp(0.3, 3.0)
    return lum + c * (1 + (factor - 1) * t)


@op
def palette_hues(
    x: Tensor, t: Tensor, colors: tuple[RGB, ...], sharpness: float = 6.0, chroma: float = 1.0
) -> Tensor:
    """Pull every pixel's hue to the nearest hue of ``colors`` (a soft nearest, ``sharpness``
    the softmax temperature's inverse), keeping its luminance and scaling its chroma by
    ``chroma``: complementary, analogous, triadic or earth palettes. Runs in YIQ."""
    m = x.new_tensor(_YIQ)
    yiq = _matmul(x, m)
    poles = x.new_tensor(colors) @ m.T  # (K, 3)
    poles = poles[:, 1:] / poles[:, 1:].norm(dim=1, keepdim=True).clamp_min(1e-6)  # (K, 2)
    i, q = yiq[:, 1:2], yiq[:, 2:3]
    c = torch.sqrt(i * i + q * q + 1e-8)
    cos = (i * poles[:, 0].view(1, -1, 1, 1) + q * poles[:, 1].view(1, -1, 1, 1)) / c
    wgt = torch.softmax(sharpness * cos, dim=1)  # (B, K, H, W)
    di = (wgt * poles[:, 0].view(1, -1, 1, 1)).sum(1, keepdim=True)
    dq = (wgt * poles[:, 1].view(1, -1, 1, 1)).sum(1, keepdim=True)
    norm = torch.sqrt(di * di + dq * dq + 1e-8)
    out = torch.cat([yiq[:, :1], c * chroma * di / norm, c * chroma * dq / norm], 1)
    return _mix(x, _matmul(out, x.new_tensor(_YIQ_INV)), t)


@op
def light_falloff(
    x: Tensor,
    t: Tensor,
    angle: float,
    position: float = 0.5,
    width: float = 0.15,
    dark: float = 0.6,
    gain: float = 0.0,
    color: RGB = (1.0, 1.0, 1.0),
) -> Tensor:
    """Directional key light: light arriving from ``angle`` degrees (0 from the left, 90 from
    the top) lights the frame up to ``position`` (0 to 1 across it along the light) with a
    terminator ``width`` wide (small = a hard light); beyond it the picture darkens by
    ``dark``. The lit side gains ``gain`` and takes ``color``."""
    h, w = x.shape[-2:]
    yy, xx = patterns.coords(h, w, x.device)
    a = math.radians(angle)
    s = (xx - 0.5) * math.cos(a) + (yy - 0.5) * math.sin(a) + 0.5
    lit = torch.sigmoid((position - s) / max(width, 1e-3) * 4)
    out = x * (1 - dark * (1 - lit)) * (1 + gain * lit) * (1 + (_color(x, color) - 1) * lit)
    return _mix(x, out, t)


@op
def long_shadow(
    x: Tensor, t: Tensor, length: float = 0.2, angle: float = 20.0, opacity: float = 0.6
) -> Tensor:
    """Shadows cast by the dark masses of a picture, stretched ``length`` (fraction of the
    short side) along ``angle`` degrees, as a low sun draws them."""
    k = max(3, int(_px(x, length)) // 2 * 2 + 1)
    mass = ((0.55 - luma(x)) * 3).clamp(0, 1)
    cast = kornia.filters.motion_blur(mass, k, angle, 1.0, border_type="replicate") * 2
    return x * (1 - opacity * t * cast.clamp(0, 1))


@op
def time_slice(x: Tensor, t: Tensor, slices: int = 6, ev: float = 1.5, temp: float = 0.8) -> Tensor:
    """A time-slice photograph: ``slices`` vertical strips, each a later moment than the one to
    its left (bright and warm to dark and cool, ``ev`` stops and ``temp`` of white balance from
    the centre to either end), with a thin seam between strips."""
    h, w = x.shape[-2:]
    _, xx = patterns.coords(h, w, x.device)
    k = (xx * slices).floor()
    s = (k + 0.5) / slices * 2 - 1  # -1 (first strip) .. 1 (last)
    gains = torch.cat([1 - 0.35 * temp * s, torch.ones_like(s), 1 + 0.35 * temp * s], 1)
    edge = (xx * slices - k - 0.5).abs() * 2  # 0 mid-strip, 1 at a seam
    seam = ((edge - (1 - 2.0 * slices / w)) / (2.0 * slices / w)).clamp(0, 1)
    out = x * torch.exp2(-ev * s * t) * (1 + (gains - 1) * t) * (1 - 0.5 * t * seam)
    return out


@op
def focus_blur(
    x: Tensor,
    t: Tensor,
    sigma: float,
    shape: str = "radial",
    center: tuple[float, float] = (0.5, 0.5),
    size: float = 0.2,
    feather: float = 0.3,
) -> Tensor:
    """Depth of field without depth: sharp inside a zone, blurred more and more outside it, up
    to ``sigma`` (fraction of the short side). ``shape`` ``radial`` is a disc of radius ``size``
    at ``center`` (x, y); ``band`` a horizontal band of half-height ``size`` at ``center[1]``
    (tilt-shift). ``feather`` is the distance over which the blur grows to full."""
    h, w = x.shape[-2:]
    yy, xx = patterns.coords(h, w, x.device)
    if shape == "radial":
        d = torch.sqrt((xx - center[0]) ** 2 + (yy - center[1]) ** 2)
    elif shape == "band":
        d = (yy - center[1]).abs()
    else:
        raise ValueError(f"focus_blur: unknown shape {shape!r}; expected radial or band")
    m = ((d - size) / feather).clamp(0, 1)
    near, far = blur(x, _px(x, sigma) / 3), blur(x, _px(x, sigma))
    out = _mix(_mix(x, near, (2 * m).clamp(0, 1)), far, (2 * m - 1).clamp(0, 1))
    return _mix(x, out, t)


@op
def halftone(
    x: Tensor,
    t: Tensor,
    cells: float = 32.0,
    kind: str = "mono",
    angle: float = 45.0,
    ink: RGB = (0.08, 0.08, 0.1),
    paper: RGB = (0.97, 0.96, 0.92),
    softness: float = 0.15,
    seed: int = 0,
) -> Tensor:
    """Print screens, ``cells`` dots across the short side: ``mono`` (ink dots sized by the
    darkness, on paper), ``cmyk`` (cyan, magenta and yellow screens at their own angles,
    overprinted on paper), ``dots`` (pointillism: even dots of the local colour on paper),
    ``stipple`` (random ink specks, denser in the darks)."""
    h, w = x.shape[-2:]
    yy, xx = patterns.coords(h, w, x.device)
    per = max(2.0, min(h, w) / cells)
    local = blur(x, per * 0.5)
    soft = max(softness, 0.02)

    def screen(deg: float) -> Tensor:  # 1 at dot centres, 0 midway between dots
        a = math.radians(deg)
        u = (xx * w * math.cos(a) + yy * h * math.sin(a)) / per
        v = (-xx * w * math.sin(a) + yy * h * math.cos(a)) / per
        return 0.5 + 0.25 * (torch.cos(2 * math.pi * u) + torch.cos(2 * math.pi * v))

    def dots(cover: Tensor, scr: Tensor) -> Tensor:  # ink where the screen rises above 1 - cover
        return ((scr + cover - 1) / soft).clamp(0, 1)

    pap, ink_c = _color(x, paper), _color(x, ink)
    if kind == "mono":
        out = pap + (ink_c - pap) * dots(1 - luma(local).clamp(0, 1), screen(angle))
    elif kind == "cmyk":
        absorb = [dots(1 - local[:, c : c + 1].clamp(0, 1), screen(a)) for c, a in
                  enumerate((angle - 30, angle + 30, angle - 45))]  # fmt: skip
        out = pap * (1 - 0.9 * torch.cat(absorb, 1))
    elif kind == "dots":
        d = dots(torch.full_like(local[:, :1], 0.75), screen(angle))
        out = pap + (local - pap) * d
    elif kind == "stipple":
        n = patterns.gaussian_noise(h, w, seed + 61, 1, x.device)
        scr = torch.sigmoid(1.7 * blur(n, 0.6) / (blur(n, 0.6).std() + 1e-6))
        cover = ((1 - luma(x).clamp(0, 1)) * 1.1 - 0.1).clamp(0, 1) ** 1.5
        out = pap + (ink_c - pap) * dots(cover, scr)
    else:
        raise ValueError(f"halftone: unknown kind {kind!r}; expected mono, cmyk, dots or stipple")
    return _mix(x, out, t)


@op
def line_art(
    x: Tensor,
    t: Tensor,
    ground: RGB,
    line: RGB = (1.0, 1.0, 1.0),
    own_color: float = 0.0,
    threshold: float = 0.03,
    width: float = 0.0,
) -> Tensor:
    """Only the contours: edges (Sobel magnitude above ``threshold``, thickened by ``width``, a
    fraction of the short side) drawn in ``line`` on a flat ``ground``, or, with ``own_color``
    = 1, in the picture's own colours (scratched through a dark layer)."""
    e = _edge_magnitude(x)
    if width > 0:
        e = (
            F.max_pool2d(e, 3, stride=1, padding=1)
            if _px(x, width) < 2
            else blur(e, _px(x, width)) * 3
        )
    strength = ((e - threshold) / (threshold + 1e-6)).clamp(0, 1)
    ink_c = _mix(_color(x, line), (x * 1.3).clamp(0, 1), own_color)
    g = _color(x, ground)
    return _mix(x, g + (ink_c - g) * strength, t)


@op
def border(
    x: Tensor, t: Tensor, width: float, color: RGB = (0.96, 0.95, 0.91), bottom: float = 0.0
) -> Tensor:
    """A frame of ``color`` ``width`` wide (fraction of the short side), ``bottom`` wide at the
    foot (an instant print's frame)."""
    h, w = x.shape[-2:]
    rows = torch.arange(h, device=x.device, dtype=x.dtype).view(1, 1, h, 1) + 0.5
    cols = torch.arange(w, device=x.device, dtype=x.dtype).view(1, 1, 1, w) + 0.5
    side, foot = _px(x, width), _px(x, max(bottom, width))
    inside = (
        (cols - side).clamp(0, 1) * (w - side - cols).clamp(0, 1)
        * (rows - side).clamp(0, 1) * (h - foot - rows).clamp(0, 1)
    )  # fmt: skip
    return _mix(x, _color(x, color), t * (1 - inside))
