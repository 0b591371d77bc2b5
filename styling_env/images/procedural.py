"""Procedural scenes: outdoor landscapes and room interiors with exact semantic masks.

Every scene is drawn from one seeded generator, in normalized coordinates (``y`` in [0, 1] from
the top, ``x`` in [0, W/H]), so the same ``(kind, seed, index)`` gives the same scene at any size.
Shapes are signed distance functions painted with an analytic one-pixel coverage ramp, which
anti-aliases every edge without supersampling; each paint also writes its class into a label map
where its coverage exceeds one half, so the masks partition the image by construction.

Outdoor scenes place objects on a ground plane seen by a pinhole camera (a thing of height ``h``
metres standing at image row ``y`` is ``(y - horizon) * h / camera_height`` tall), so sizes and
overlaps stay plausible. Interiors are a box room projected the same way (one-point perspective),
with furniture as 3-D boxes. Lighting is daytime and mostly neutral; the styling tools add night,
snow, autumn and the rest.
"""

from __future__ import annotations

import colorsys
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from .batch import ImageBatch, check_size, labels_to_masks

SKY, GROUND, VEGETATION, WATER, BUILDINGS, SUBJECT = range(6)
KINDS = ("outdoor", "interior")
_KIND_TAG = {"outdoor": 11, "interior": 12, "choice": 13}

Array = np.ndarray
Sdf = Callable[[Array, Array], Array]
Colour = Array | tuple[float, float, float] | Callable[[Array, Array], Array]


# --------------------------------------------------------------------------------------------
# Noise


def _smooth(t: Array) -> Array:
    return t * t * (3.0 - 2.0 * t)


def _sample(lattice: Array, uy: Array, ux: Array) -> Array:
    """Smoothstep interpolation of ``lattice`` at lattice coordinates ``uy x ux`` (>= 0)."""
    iy = np.minimum(uy.astype(np.int32), lattice.shape[0] - 2)
    ix = np.minimum(ux.astype(np.int32), lattice.shape[1] - 2)
    ty = _smooth(np.clip(uy - iy, 0.0, 1.0)).astype(np.float32)[:, None]
    tx = _smooth(np.clip(ux - ix, 0.0, 1.0)).astype(np.float32)[None, :]
    rows = lattice[iy] + (lattice[iy + 1] - lattice[iy]) * ty
    left = rows[:, ix]
    return left + (rows[:, ix + 1] - left) * tx


def fbm(
    rng: np.random.Generator,
    ys: Array,
    xs: Array,
    freq: float,
    octaves: int = 5,
    stretch: float = 1.0,
    px: float = 1.0 / 128,
    width: float = 1.0,
) -> Array:
    """Fractal value noise in [0, 1] sampled at ``ys x xs`` (normalized units).

    ``octaves`` layers of smooth value noise from ``freq`` cells per unit, each twice as fine
    and half as strong; ``stretch`` scales the x frequency (below 1: horizontal streaks);
    ``width`` is the image's aspect W/H. Octaves finer than two pixels (``px`` = pixel size) are
    replaced by their mean, so contrast does not depend on resolution, and the lattices are
    drawn coarse to fine, so the pattern is the same at every resolution.

    Speed: the coarse octaves are summed on the finest octave's lattice, so only one
    interpolation runs at full resolution.
    """
    amps = [0.5**k for k in range(octaves)]
    used = [k for k in range(octaves) if freq * 2.0**k * max(stretch, 1.0) * px <= 0.5]
    if not used:
        return np.full((len(ys), len(xs)), 0.5, np.float32)
    # Octave k's lattice is drawn k-th whatever the resolution, so skipping the finest octaves
    # at low resolution leaves the others unchanged.
    lattices = []
    for k in used:
        fy, fx = freq * 2.0**k, freq * 2.0**k * stretch
        grid = rng.random((int(np.ceil(fy)) + 3, int(np.ceil(fx * width)) + 3), dtype=np.float32)
        lattices.append((grid, 1.0 + 0.5 * rng.random(2), fy, fx))
    top, offset, fy, fx = lattices[-1]
    total = top * amps[used[-1]] + 0.5 * sum(amps[len(used) :])
    node_y = (np.arange(top.shape[0]) - offset[0]) / fy
    node_x = (np.arange(top.shape[1]) - offset[1]) / fx
    for k, (grid, off, gy, gx) in zip(used[:-1], lattices[:-1], strict=True):
        total += amps[k] * _sample(grid, node_y * gy + off[0], node_x * gx + off[1])
    total = _sample(total, ys * fy + offset[0], xs * fx + offset[1])
    # Sums of octaves bunch around the middle; stretch them back towards the full range.
    total = (total / sum(amps) - 0.5) * 1.8 + 0.5
    return np.minimum(np.maximum(total, 0.0, out=total), 1.0, out=total)


def noise_1d(rng: np.random.Generator, xs: Array, freq: float, octaves: int = 4) -> Array:
    """Fractal 1-D value noise in [0, 1] sampled at ``xs``."""
    total = np.zeros_like(xs)
    weight, amp = 0.0, 1.0
    for k in range(octaves):
        f = freq * 2.0**k
        lattice = rng.random(int(np.ceil(f * 8.0)) + 2).astype(np.float32)
        u = xs * f + rng.random()
        i = u.astype(np.int32) % (len(lattice) - 1)
        t = _smooth(u - np.floor(u)).astype(np.float32)
        total += amp * (lattice[i] + (lattice[i + 1] - lattice[i]) * t)
        weight += amp
        amp *= 0.5
    return total / weight


# --------------------------------------------------------------------------------------------
# Shapes: signed distance functions (negative inside) with a bounding box


@dataclass(frozen=True)
class Shape:
    sdf: Sdf
    box: tuple[float, float, float, float]  # x0, y0, x1, y1

    def __or__(self, other: Shape) -> Shape:
        a, b = self.box, other.box
        return Shape(
            lambda X, Y: np.minimum(self.sdf(X, Y), other.sdf(X, Y)),
            (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])),
        )


def circle(cx: float, cy: float, r: float) -> Shape:
    cx, cy, r = float(cx), float(cy), float(r)
    return Shape(
        lambda X, Y: np.sqrt((X - cx) ** 2 + (Y - cy) ** 2) - r, (cx - r, cy - r, cx + r, cy + r)
    )


def ellipse(cx: float, cy: float, rx: float, ry: float) -> Shape:
    cx, cy, rx, ry = float(cx), float(cy), float(rx), float(ry)
    k = min(rx, ry)
    return Shape(
        lambda X, Y: (np.sqrt(((X - cx) / rx) ** 2 + ((Y - cy) / ry) ** 2) - 1.0) * k,
        (cx - rx, cy - ry, cx + rx, cy + ry),
    )


def rect(x0: float, y0: float, x1: float, y1: float, r: float = 0.0) -> Shape:
    """Axis-aligned box with corner radius ``r``."""
    x0, y0, x1, y1, r = float(x0), float(y0), float(x1), float(y1), float(r)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    hx, hy = abs(x1 - x0) / 2, abs(y1 - y0) / 2
    r = min(r, hx, hy)

    def sdf(X: Array, Y: Array) -> Array:
        qx = np.abs(X - cx) - hx + r
        qy = np.abs(Y - cy) - hy + r
        outside = np.sqrt(np.maximum(qx, 0) ** 2 + np.maximum(qy, 0) ** 2)
        return outside + np.minimum(np.maximum(qx, qy), 0) - r

    return Shape(sdf, (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)))


def polygon(points: list[tuple[float, float]] | Array) -> Shape:
    """Convex polygon (any winding): the max of its edges' signed distances."""
    p = [(float(x), float(y)) for x, y in points]
    q = p[1:] + p[:1]
    sign = 1.0 if sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(p, q, strict=True)) > 0 else -1.0
    edges = []  # (nx, ny, offset): distance = nx * x + ny * y - offset
    for (ax, ay), (bx, by) in zip(p, q, strict=True):
        nx, ny = (by - ay) * sign, (ax - bx) * sign
        norm = max((nx * nx + ny * ny) ** 0.5, 1e-12)
        nx, ny = nx / norm, ny / norm
        edges.append((nx, ny, nx * ax + ny * ay))

    def sdf(X: Array, Y: Array) -> Array:
        nx, ny, off = edges[0]
        d = X * nx + (Y * ny - off)
        for nx, ny, off in edges[1:]:
            np.maximum(d, X * nx + (Y * ny - off), out=d)
        return d

    xs, ys = [x for x, _ in p], [y for _, y in p]
    return Shape(sdf, (min(xs), min(ys), max(xs), max(ys)))


def ring(cx: float, cy: float, r: float, thickness: float) -> Shape:
    """A circle's outline, ``thickness`` either side of radius ``r``."""
    cx, cy, r, t = float(cx), float(cy), float(r), float(thickness)
    return Shape(
        lambda X, Y: np.abs(np.sqrt((X - cx) ** 2 + (Y - cy) ** 2) - r) - t,
        (cx - r - t, cy - r - t, cx + r + t, cy + r + t),
    )


def capsule(ax: float, ay: float, bx: float, by: float, r: float) -> Shape:
    """Segment from a to b, thickened by ``r``."""
    ax, ay, bx, by, r = float(ax), float(ay), float(bx), float(by), float(r)
    dx, dy = bx - ax, by - ay
    ll = max(dx * dx + dy * dy, 1e-12)

    def sdf(X: Array, Y: Array) -> Array:
        t = np.clip(((X - ax) * dx + (Y - ay) * dy) / ll, 0.0, 1.0)
        return np.sqrt((X - ax - t * dx) ** 2 + (Y - ay - t * dy) ** 2) - r

    return Shape(sdf, (min(ax, bx) - r, min(ay, by) - r, max(ax, bx) + r, max(ay, by) + r))


def below(
    profile: Callable[[Array], Array], x0: float, x1: float, top: float, bottom: float
) -> Shape:
    """Everything under the curve ``y = profile(x)`` (image y grows downwards)."""
    return Shape(lambda X, Y: profile(X) - Y, (x0, top, x1, bottom))


# --------------------------------------------------------------------------------------------
# Colour


def hsv(h: float, s: float, v: float) -> Array:
    rgb = colorsys.hsv_to_rgb(
        float(h) % 1.0, min(max(float(s), 0.0), 1.0), min(max(float(v), 0.0), 1.0)
    )
    return np.array(rgb, np.float32).reshape(3, 1, 1)


def pick_hsv(
    rng: np.random.Generator, h: tuple[float, float], s: tuple[float, float], v: tuple[float, float]
) -> Array:
    r = rng.random(3).tolist()
    return hsv(
        h[0] + (h[1] - h[0]) * r[0], s[0] + (s[1] - s[0]) * r[1], v[0] + (v[1] - v[0]) * r[2]
    )


def mix(a: Array, b: Array, t: float | Array) -> Array:
    return (a + (b - a) * t).astype(np.float32, copy=False)


# --------------------------------------------------------------------------------------------
# Canvas


class Canvas:
    """RGB image plus class-label map, painted with anti-aliased signed-distance shapes."""

    def __init__(self, h: int, w: int, rng: np.random.Generator, background: int) -> None:
        self.h, self.w = h, w
        self.px = 1.0 / h
        self.aw = w / h
        self.xs = ((np.arange(w) + 0.5) / h).astype(np.float32)
        self.ys = ((np.arange(h) + 0.5) / h).astype(np.float32)
        self.rgb = np.zeros((3, h, w), np.float32)  # channels first: fast broadcasting
        self.label = np.full((h, w), background, np.int8)
        # Seeds drawn up front, so lazily built fields never shift the scene's random stream.
        self._seeds = rng.integers(2**63, size=4)
        self.fine = fbm(
            np.random.default_rng(self._seeds[0]),
            self.ys,
            self.xs,
            14.0,
            5,
            px=self.px,
            width=self.aw,
        )
        self._coarse: Array | None = None
        self._streak: Array | None = None
        self.win: tuple[slice, slice] = (slice(0, h), slice(0, w))  # window being painted

    @property
    def coarse(self) -> Array:
        """Large blotches (a few per image): colour variation of fields, coats."""
        if self._coarse is None:
            rng = np.random.default_rng(self._seeds[1])
            self._coarse = fbm(rng, self.ys, self.xs, 2.0, 3, px=self.px, width=self.aw)
        return self._coarse

    @property
    def streak(self) -> Array:
        """Horizontal streak noise (water shimmer, wood grain)."""
        if self._streak is None:
            rng = np.random.default_rng(self._seeds[2])
            self._streak = fbm(
                rng, self.ys, self.xs, 24.0, 4, stretch=0.08, px=self.px, width=self.aw
            )
        return self._streak

    def rng_for(self, k: int) -> np.random.Generator:
        return np.random.default_rng([int(self._seeds[3]), k])

    def window(
        self, box: tuple[float, float, float, float], pad: float
    ) -> tuple[slice, slice] | None:
        x0, y0, x1, y1 = box
        ix0 = max(0, math.floor(x0 * self.h - pad))
        ix1 = min(self.w, math.ceil(x1 * self.h + pad))
        iy0 = max(0, math.floor(y0 * self.h - pad))
        iy1 = min(self.h, math.ceil(y1 * self.h + pad))
        if ix0 >= ix1 or iy0 >= iy1:
            return None
        return slice(iy0, iy1), slice(ix0, ix1)

    def coverage(self, shape: Shape, soft: float = 1.0, wobble: float = 0.0):
        """(window, X, Y, coverage in [0, 1]) of ``shape``; ``wobble`` roughens its edge."""
        win = self.window(shape.box, pad=soft + 1.0 + wobble / self.px)
        if win is None:
            return None
        sy, sx = win
        X, Y = self.xs[None, sx], self.ys[sy, None]
        d = shape.sdf(X, Y)
        if wobble:
            d = d + wobble * (self.fine[sy, sx] - 0.5)
        cov = 0.5 - d * (1.0 / (self.px * soft))
        np.minimum(np.maximum(cov, 0.0, out=cov), 1.0, out=cov)
        full = (sy.stop - sy.start, sx.stop - sx.start)
        return win, X, Y, cov if cov.shape == full else np.broadcast_to(cov, full)

    def paint(
        self,
        shape: Shape,
        colour: Colour,
        label: int | None,
        *,
        alpha: float = 1.0,
        soft: float = 1.0,
        tex: float = 0.0,
        wobble: float = 0.0,
    ) -> None:
        """Composite ``colour`` over ``shape``; write ``label`` where coverage > 1/2.

        ``colour`` is an RGB triple, an array broadcastable to the window, or ``f(X, Y)``.
        ``tex`` modulates it by the fine texture noise (relative amplitude).
        """
        hit = self.coverage(shape, soft, wobble)
        if hit is None:
            return
        (sy, sx), X, Y, cov = hit
        self.win = (sy, sx)
        col = colour(X, Y) if callable(colour) else np.asarray(colour, np.float32)
        if tex:
            grain = self.fine[sy, sx] * tex
            grain += 1.0 - 0.5 * tex
            col = col * grain
        a = cov * alpha if alpha != 1.0 else cov
        view = self.rgb[:, sy, sx]
        view += a * (col - view)
        if label is not None:
            np.copyto(self.label[sy, sx], label, where=cov > 0.5)

    def multiply(
        self, shape: Shape, factor: Array | float, alpha: float = 1.0, soft: float = 1.0
    ) -> None:
        """Darken or brighten (``rgb *= factor``) under ``shape``; labels unchanged."""
        hit = self.coverage(shape, soft)
        if hit is None:
            return
        (sy, sx), _, _, cov = hit
        self.rgb[:, sy, sx] *= 1.0 + (cov * alpha) * (np.asarray(factor, np.float32) - 1.0)


def shaded(colour: Array, cx: float, cy: float, r: float, sun: float, amount: float) -> Callable:
    """``colour`` lit from the upper side ``sun`` (+1 right, -1 left), as ``f(X, Y)``."""
    cx, cy, r, sun, amount = float(cx), float(cy), float(r), float(sun), float(amount)
    colour = np.asarray(colour, np.float32)

    def f(X: Array, Y: Array) -> Array:
        t = (sun * (X - cx) - (Y - cy)) * (amount / (r + 1e-6))
        light = np.minimum(np.maximum(t, -1.5 * amount), 1.5 * amount)
        light += 1.0
        return colour * light

    return f


def vgradient(top: Array, bottom: Array, y0: float, y1: float) -> Callable:
    """A vertical gradient from ``top`` at ``y0`` to ``bottom`` at ``y1``."""
    y0, y1 = float(y0), float(y1)
    top, bottom = np.asarray(top, np.float32), np.asarray(bottom, np.float32)

    def f(X: Array, Y: Array) -> Array:
        t = np.clip((Y - y0) / max(y1 - y0, 1e-6), 0.0, 1.0)
        return top + (bottom - top) * t

    return f


# --------------------------------------------------------------------------------------------
# Outdoor scenes


@dataclass
class Outdoor:
    cv: Canvas
    horizon: float
    camera_h: float  # metres
    sun: float  # +1 light from the right, -1 from the left
    contrast: float  # strength of shading
    sky_rows: Array  # (3, H, 1) sky colour per row
    haze: Array  # colour distant things fade into
    ground_y: Callable[[Array], Array]  # ground line (y of the horizon at each x)

    def scale(self, y: float) -> float:
        """Image units per metre for something standing at row ``y``."""
        return max(y - self.horizon, 0.0) / self.camera_h

    def shadow(self, x: float, y: float, width: float) -> None:
        """A soft contact shadow on the ground under an object standing at (x, y)."""
        self.cv.multiply(
            ellipse(x + self.sun * -width * 0.15, y, width * 0.6, width * 0.09),
            0.55,
            alpha=self.contrast * 1.6,
            soft=2.0 + width * 0.05 / self.cv.px,
        )


_LIGHTS = ("clear", "clear", "clear", "clear", "hazy", "overcast", "warm", "warm")


def _sky_palette(rng: np.random.Generator, light: str) -> tuple[Array, Array, float]:
    """(zenith colour, horizon colour, shading contrast)."""
    if light == "clear":
        return (
            pick_hsv(rng, (0.56, 0.62), (0.45, 0.8), (0.62, 0.9)),
            pick_hsv(rng, (0.52, 0.6), (0.08, 0.3), (0.86, 0.98)),
            0.35,
        )
    if light == "hazy":
        return (
            pick_hsv(rng, (0.55, 0.6), (0.2, 0.4), (0.75, 0.88)),
            pick_hsv(rng, (0.1, 0.6), (0.04, 0.12), (0.88, 0.96)),
            0.22,
        )
    if light == "overcast":
        return (
            pick_hsv(rng, (0.55, 0.65), (0.03, 0.12), (0.6, 0.78)),
            pick_hsv(rng, (0.55, 0.65), (0.02, 0.08), (0.8, 0.9)),
            0.1,
        )
    return (
        pick_hsv(rng, (0.56, 0.62), (0.35, 0.6), (0.65, 0.85)),
        pick_hsv(rng, (0.07, 0.13), (0.2, 0.42), (0.9, 0.98)),
        0.4,
    )


def _draw_sky(
    cv: Canvas, rng: np.random.Generator, light: str, horizon: float
) -> tuple[Array, Array, float, float]:
    zenith, low, contrast = _sky_palette(rng, light)
    t = np.clip(cv.ys / horizon, 0.0, 1.0) ** rng.uniform(0.5, 1.3)
    rows = zenith + (low - zenith) * t[:, None]
    cv.rgb[:] = rows
    sun_x = rng.uniform(0.1, 0.9) * cv.aw
    sun = 1.0 if sun_x > cv.aw / 2 else -1.0
    sky = slice(0, min(cv.h, int(np.ceil(horizon / cv.px)) + 1))
    if light in ("clear", "warm") and rng.random() < 0.45:
        sun_y = rng.uniform(0.08, max(0.1, horizon - 0.12))
        d = np.sqrt((cv.xs[None, :] - sun_x) ** 2 + (cv.ys[sky, None] - sun_y) ** 2)
        glow = 0.35 * np.exp(-d / 0.06) + 0.18 * np.exp(-d / 0.3)
        cv.rgb[:, sky] += glow * hsv(0.12, 0.15 if light == "clear" else 0.4, 1.0)
        cv.paint(
            circle(sun_x, sun_y, rng.uniform(0.02, 0.035)), hsv(0.13, 0.08, 1.0), SKY, soft=1.5
        )
    cover = {"clear": 0.35, "hazy": 0.3, "overcast": 0.85, "warm": 0.4}[light] * rng.uniform(
        0.2, 1.6
    )
    if cover > 0.08:
        kind = rng.integers(3)  # 0 cumulus, 1 stratus bands, 2 wispy
        stretch = (0.5, 0.2, 0.12)[kind]
        field = fbm(
            cv.rng_for(1),
            cv.ys[sky],
            cv.xs,
            (4.0, 5.0, 7.0)[kind],
            6,
            stretch=stretch,
            px=cv.px,
            width=cv.aw,
        )
        threshold = 1.0 - min(cover, 0.95)
        soft = (0.12, 0.2, 0.3)[kind]
        dens = np.clip((field - threshold) / soft, 0.0, 1.0)
        dens = dens * np.clip((horizon - cv.ys[sky, None]) / 0.08, 0.2, 1.0)
        # Lit from above: where density falls going down, the cloud shows its bright top.
        lift = np.clip(0.5 + 4.0 * (field - np.roll(field, -max(1, cv.h // 40), axis=0)), 0, 1)
        bright = hsv(0.1, 0.05 if light != "warm" else 0.15, rng.uniform(0.95, 1.0))
        dark = mix(bright, low, 0.3) * rng.uniform(0.72, 0.88)
        col = dark + (bright - dark) * lift
        opacity = rng.uniform(0.75, 1.0) * (0.7 if kind == 2 else 1.0)
        cv.rgb[:, sky] += (dens * opacity) * (col - cv.rgb[:, sky])
    return rows, low, contrast, sun


def _mountains(sc: Outdoor, rng: np.random.Generator) -> None:
    cv = sc.cv
    layers = int(rng.choice([0, 1, 1, 2, 2, 3]))
    kind = rng.choice(["rocky", "hills", "hills", "mesa"])
    base = {
        "rocky": pick_hsv(rng, (0.55, 0.72), (0.1, 0.3), (0.35, 0.55)),
        "hills": pick_hsv(rng, (0.2, 0.4), (0.25, 0.5), (0.3, 0.5)),
        "mesa": pick_hsv(rng, (0.03, 0.09), (0.35, 0.6), (0.45, 0.65)),
    }[kind]
    for k in range(layers):
        depth = (layers - k) / layers  # 1 = farthest
        height = rng.uniform(0.05, 0.2) * (0.6 + 0.6 * depth) * min(1.0, sc.horizon / 0.45)
        ridge = noise_1d(rng, cv.xs, rng.uniform(1.0, 3.5), 5)
        if kind == "rocky":
            ridge = 1.0 - np.abs(2.0 * ridge - 1.0)
        elif kind == "mesa":
            ridge = np.clip((ridge - 0.35) * 4.0, 0, 1) * 0.8 + 0.2 * ridge
        ridge = (ridge - ridge.min()) / (np.ptp(ridge) + 1e-6)
        profile = sc.horizon + 0.005 - height * (0.25 + 0.75 * ridge)
        slope = np.gradient(profile) / cv.px
        light = 1.0 + np.clip(-slope * sc.sun, -1.0, 1.0) * sc.contrast * 0.7
        col = mix(base, sc.haze, 0.25 + 0.45 * depth) * rng.uniform(0.92, 1.08)
        top = float(profile.min())

        def colour(X: Array, Y: Array, col=col, light=light, top=top) -> Array:
            t = np.clip((Y - top) / (sc.horizon - top + 1e-6), 0, 1)
            c = col * (1.0 - 0.12 * t)
            return c * light[(X[0] / cv.px).astype(np.int32)]

        shape = Shape(
            lambda X, Y, p=profile: p[None, (X[0] / cv.px).astype(np.int32)] - Y,
            (0, top, cv.aw, sc.horizon + 0.02),
        )
        cv.paint(shape, colour, GROUND, tex=0.12 + 0.1 * (kind == "rocky"))


_GROUNDS = {
    # name: (far hsv ranges, near hsv ranges)
    "meadow": (((0.2, 0.3), (0.35, 0.6), (0.45, 0.65)), ((0.22, 0.32), (0.5, 0.8), (0.3, 0.5))),
    "dry_meadow": (
        ((0.13, 0.2), (0.35, 0.55), (0.55, 0.7)),
        ((0.14, 0.22), (0.45, 0.65), (0.4, 0.55)),
    ),
    "wheat": (((0.1, 0.14), (0.45, 0.65), (0.7, 0.85)), ((0.1, 0.13), (0.55, 0.75), (0.6, 0.78))),
    "ploughed": (((0.06, 0.1), (0.3, 0.5), (0.4, 0.55)), ((0.05, 0.09), (0.4, 0.6), (0.28, 0.42))),
    "sand": (((0.09, 0.12), (0.25, 0.45), (0.78, 0.9)), ((0.08, 0.11), (0.3, 0.5), (0.7, 0.85))),
    "heath": (((0.15, 0.3), (0.2, 0.4), (0.4, 0.55)), ((0.05, 0.95), (0.2, 0.35), (0.3, 0.45))),
    "rocky": (((0.07, 0.12), (0.1, 0.25), (0.45, 0.6)), ((0.06, 0.12), (0.1, 0.25), (0.35, 0.5))),
}


def _ground(sc: Outdoor, rng: np.random.Generator, name: str) -> None:
    cv = sc.cv
    far_r, near_r = _GROUNDS[name]
    far = mix(pick_hsv(rng, *far_r), sc.haze, 0.25)
    near = pick_hsv(rng, *near_r)
    alt = mix(near, pick_hsv(rng, *near_r), 0.5) * rng.uniform(0.75, 1.2)
    hz = sc.horizon
    furrows = name in ("wheat", "ploughed") or (name == "meadow" and rng.random() < 0.2)
    vp = rng.uniform(-0.5, 1.5) * cv.aw
    freq = rng.uniform(8, 20)
    dunes = name == "sand" and rng.random() < 0.6

    def colour(X: Array, Y: Array) -> Array:
        t = np.clip((Y - hz) / (1.0 - hz), 0.0, 1.0)
        sy, sx = cv.win
        patches = cv.coarse[sy, sx]
        near_weight = np.sqrt(t)
        col = far + (near - far) * near_weight
        col = col + (alt - near) * ((patches - 0.5) * (1.2 * near_weight))
        depth = np.maximum(Y - hz, cv.px)
        if furrows:
            u = (X - vp) / depth * 0.15
            density = freq * 0.15 * cv.px / depth  # cycles per pixel
            fade = np.clip(1.0 - density * 2.5, 0.0, 1.0)
            col = col * (1.0 + 0.22 * fade * np.cos(2 * np.pi * freq * u))
        if dunes:
            ripple = np.sin(2 * np.pi * (4.0 / depth * 0.1 + 3 * patches))
            fade = np.clip(1.0 - 0.4 * cv.px / depth**2 * 4, 0, 1)
            col = col * (1.0 + 0.08 * ripple * fade)
        streak = cv.streak[sy, sx]
        return col * (1.0 + 0.25 * (streak - 0.5) * near_weight)

    cv.paint(below(sc.ground_y, 0, cv.aw, hz - 0.03, 1.0), colour, GROUND, tex=0.3)
    if rng.random() < 0.3:  # a path or road running to the horizon
        road = name in ("meadow", "dry_meadow", "wheat") and rng.random() < 0.5
        x_far = rng.uniform(0.2, 0.8) * cv.aw
        x_near = x_far + rng.uniform(-0.6, 0.6) * cv.aw
        half = rng.uniform(0.1, 0.3) * cv.aw
        col = (
            pick_hsv(rng, (0.0, 0.1), (0.0, 0.1), (0.3, 0.45))
            if road
            else pick_hsv(rng, (0.07, 0.11), (0.25, 0.45), (0.5, 0.7))
        )
        top = hz + 0.004
        path = polygon(
            [
                (x_far - 0.002, top),
                (x_far + 0.002, top),
                (x_near + half, 1.02),
                (x_near - half, 1.02),
            ]
        )
        cv.paint(
            path,
            vgradient(mix(col, sc.haze, 0.4), col, top, 1.0),
            GROUND,
            tex=0.35,
            wobble=0.0 if road else 0.01,
        )


def _water(
    sc: Outdoor, rng: np.random.Generator, kind: str
) -> tuple[tuple[float, float, float], Shape]:
    """Paint water; return ((x, y, half-width) of a place for a boat, the water's shape)."""
    cv, hz = sc.cv, sc.horizon
    deep = pick_hsv(rng, (0.48, 0.6), (0.35, 0.7), (0.3, 0.5))
    reflect = rng.uniform(0.45, 0.75)
    mirror = rng.uniform(1.2, 2.5)
    sky_rows = sc.sky_rows

    def colour(X: Array, Y: Array) -> Array:
        rows = np.clip(((hz - (Y - hz) * mirror) / cv.px).astype(np.int32), 0, cv.h - 1)
        t = np.clip((Y - hz) / (1.0 - hz), 0, 1)
        fres = reflect * (1.0 - 0.6 * np.sqrt(t))
        col = deep + (sky_rows[:, rows[:, 0]] - deep) * fres
        sy, sx = cv.win
        glint = np.clip((cv.streak[sy, sx] - 0.55) * 3.0, 0, 1) * (0.5 + 0.5 * (1 - t))
        return col * (1.0 - 0.12 * (cv.streak[sy, sx] - 0.5)) + glint * 0.25

    if kind == "sea":
        depth = rng.uniform(0.1, 0.45) * (1 - hz)
        shore_noise = noise_1d(rng, cv.xs, 2.0, 3)
        tilt = rng.uniform(-0.08, 0.08)
        shore = hz + depth + 0.05 * (1 - hz) * (shore_noise - 0.5) + tilt * (cv.xs - cv.aw / 2)
        water = Shape(
            lambda X, Y: np.maximum(hz - Y, Y - shore[None, (X[0] / cv.px).astype(np.int32)]),
            (0, hz - 0.01, cv.aw, float(shore.max()) + 0.01),
        )
        cv.paint(water, colour, WATER)
        foam = Shape(
            lambda X, Y: (
                np.abs(Y - shore[None, (X[0] / cv.px).astype(np.int32)] + 0.003)
                - 0.002
                - 0.006 * (Y - hz)
            ),
            water.box,
        )
        cv.paint(foam, hsv(0.5, 0.05, 0.95), WATER, alpha=0.7, wobble=0.004)
        x = rng.uniform(0.2, 0.8) * cv.aw
        at = Shape(lambda X, Y: Y - np.interp(X, cv.xs, shore), water.box)
        return (x, hz + depth * rng.uniform(0.15, 0.7), cv.aw), at
    if kind == "lake":
        cy = hz + rng.uniform(0.05, 0.3) * (1 - hz)
        rx = rng.uniform(0.3, 0.8) * cv.aw
        ry = max((cy - hz) * rng.uniform(0.4, 0.8), 0.01)
        cx = rng.uniform(0.2, 0.8) * cv.aw
        lake = ellipse(cx, cy, rx, ry)
        cv.paint(lake, colour, WATER, wobble=0.25 * ry)
        return (cx, cy + ry * 0.3, rx * 0.6), lake
    # river: widens towards the viewer, meanders with depth
    x_far, x_near = rng.uniform(0.2, 0.8) * cv.aw, rng.uniform(0.0, 1.0) * cv.aw
    width = rng.uniform(0.12, 0.35) * cv.aw
    amp, freq, phase = rng.uniform(0.02, 0.12), rng.uniform(1, 3), rng.uniform(0, 6.3)
    top = hz + rng.uniform(0.0, 0.15) * (1 - hz)

    def river(X: Array, Y: Array) -> Array:
        t = np.clip((Y - hz) / (1 - hz), 0, 1)
        centre = x_far + (x_near - x_far) * t + amp * np.sin(freq * 6.28 * np.sqrt(t) + phase) * t
        return np.maximum(np.abs(X - centre) - width * t - 0.002, top - Y)

    cv.paint(Shape(river, (0, top, cv.aw, 1.0)), colour, WATER, wobble=0.01)
    return (x_near, 0.9, 0.0), Shape(river, (0, top, cv.aw, 1.0))


def _tree(
    sc: Outdoor, rng: np.random.Generator, x: float, y: float, kind: str, greens: Array
) -> None:
    cv = sc.cv
    m = sc.scale(y)
    if m * 2.0 < cv.px:
        return
    green = greens[rng.integers(len(greens))] * rng.uniform(0.8, 1.2)
    bark = pick_hsv(rng, (0.05, 0.1), (0.3, 0.55), (0.18, 0.32))
    sun, con = sc.sun, sc.contrast
    if kind == "round":
        h = rng.uniform(6, 16) * m
        r = h * rng.uniform(0.25, 0.38)
        cv.paint(
            capsule(
                x, y, x + rng.uniform(-0.05, 0.05) * h, y - h * 0.6, max(h * 0.035, cv.px * 0.4)
            ),
            bark,
            VEGETATION,
            tex=0.3,
        )
        cy = y - h + r
        canopy = circle(x, cy, r)
        for _ in range(rng.integers(2, 6)):
            a = rng.uniform(0, 6.28)
            canopy = canopy | circle(
                x + np.cos(a) * r * 0.6,
                cy + np.sin(a) * r * 0.4 + r * 0.15,
                r * rng.uniform(0.5, 0.8),
            )
        sc.shadow(x, y, r * 1.6)
        cv.paint(canopy, shaded(green, x, cy, r, sun, con), VEGETATION, tex=0.55, wobble=r * 0.2)
    elif kind == "conifer":
        h = rng.uniform(8, 22) * m
        w = h * rng.uniform(0.18, 0.3)
        dark = green * np.float32([0.7, 0.85, 0.85]).reshape(3, 1, 1)
        cv.paint(capsule(x, y, x, y - h * 0.2, max(h * 0.02, cv.px * 0.4)), bark, VEGETATION)
        tiers = rng.integers(3, 6)
        shape = None
        for k in range(tiers):
            base = y - h * (0.12 + 0.8 * k / tiers)
            half = w * (1.0 - 0.6 * k / tiers)
            tri = polygon(
                [
                    (x - half, base),
                    (x + half, base),
                    (x, base - h * (0.88 - 0.8 * k / tiers) * 0.55 - h * 0.12),
                ]
            )
            shape = tri if shape is None else shape | tri
        sc.shadow(x, y, w * 1.5)
        cv.paint(
            shape, shaded(dark, x, y - h * 0.5, w, sun, con), VEGETATION, tex=0.5, wobble=w * 0.2
        )
    elif kind == "poplar":
        h = rng.uniform(10, 20) * m
        cv.paint(capsule(x, y, x, y - h * 0.2, max(h * 0.02, cv.px * 0.4)), bark, VEGETATION)
        sc.shadow(x, y, h * 0.2)
        cv.paint(
            ellipse(x, y - h * 0.55, h * 0.11, h * 0.45),
            shaded(green * 0.85, x, y - h * 0.55, h * 0.11, sun, con),
            VEGETATION,
            tex=0.5,
            wobble=h * 0.04,
        )
    elif kind == "bush":
        r = rng.uniform(0.5, 1.5) * m
        shape = ellipse(x, y - r * 0.6, r * 1.2, r * 0.7)
        for _ in range(rng.integers(1, 4)):
            shape = shape | circle(
                x + rng.uniform(-1, 1) * r, y - r * rng.uniform(0.5, 0.9), r * rng.uniform(0.4, 0.7)
            )
        cv.paint(shape, shaded(green, x, y - r, r, sun, con), VEGETATION, tex=0.5, wobble=r * 0.25)
    else:  # palm
        h = rng.uniform(6, 12) * m
        lean = rng.uniform(-0.25, 0.25) * h
        tx, ty = x + lean, y - h
        for k in range(4):
            a0, a1 = k / 4, (k + 1) / 4
            cv.paint(
                capsule(
                    x + lean * a0**1.5,
                    y - h * a0,
                    x + lean * a1**1.5,
                    y - h * a1,
                    max(h * (0.03 - 0.008 * k), cv.px * 0.4),
                ),
                bark * 1.2,
                VEGETATION,
                tex=0.4,
            )
        for k in range(rng.integers(6, 10)):
            a = np.pi * (k / 8.0) * 2 + rng.uniform(-0.3, 0.3)
            ln = h * rng.uniform(0.3, 0.45)
            ex, ey = tx + np.cos(a) * ln, ty + np.sin(a) * ln * 0.5 + ln * 0.25
            cv.paint(
                capsule(tx, ty, ex, ey, max(h * 0.025, cv.px * 0.4)),
                green * rng.uniform(0.8, 1.1),
                VEGETATION,
                wobble=h * 0.02,
            )


def _building(sc: Outdoor, rng: np.random.Generator, x: float, y: float, kind: str) -> None:
    cv = sc.cv
    m = sc.scale(y)
    wall = pick_hsv(
        rng,
        *rng.choice(
            [
                ((0.08, 0.14), (0.05, 0.25), (0.75, 0.92)),
                ((0.0, 0.05), (0.45, 0.7), (0.45, 0.65)),
                ((0.5, 0.65), (0.1, 0.3), (0.6, 0.85)),
                ((0.1, 0.15), (0.3, 0.5), (0.6, 0.8)),
            ]
        ),
    )
    roof = pick_hsv(
        rng,
        *rng.choice(
            [
                ((0.0, 0.05), (0.5, 0.75), (0.4, 0.6)),
                ((0.55, 0.65), (0.05, 0.2), (0.25, 0.4)),
                ((0.05, 0.1), (0.3, 0.5), (0.2, 0.35)),
            ]
        ),
    )
    glass = pick_hsv(rng, (0.55, 0.62), (0.2, 0.45), (0.2, 0.4))
    wall = mix(wall, sc.haze, 0.4 * (1 - m * sc.camera_h / 3))
    if kind == "house":
        w, h = rng.uniform(7, 14) * m, rng.uniform(4, 7) * m
        x0, x1, top = x - w / 2, x + w / 2, y - h
        if rng.random() < 0.3:  # chimney
            cx = x + rng.uniform(-0.3, 0.3) * w
            cv.paint(rect(cx - w * 0.04, top - h * 0.55, cx + w * 0.04, top), roof * 0.8, BUILDINGS)
        cv.paint(
            rect(x0, top, x1, y),
            shaded(wall, x, top, w, sc.sun, sc.contrast * 0.4),
            BUILDINGS,
            tex=0.2,
        )
        ridge = rng.uniform(0.3, 0.7) * h
        cv.paint(
            polygon(
                [
                    (x0 - w * 0.05, top + h * 0.02),
                    (x1 + w * 0.05, top + h * 0.02),
                    (x1 - w * 0.1, top - ridge),
                    (x0 + w * 0.1, top - ridge),
                ]
            ),
            vgradient(roof * 1.1, roof * 0.8, top - ridge, top),
            BUILDINGS,
            tex=0.3,
        )
        floors = 1 + (h > 5.5 * m)
        cols = rng.integers(2, 5)
        door = rng.integers(cols)
        for f in range(floors):
            for c in range(cols):
                wx = x0 + w * (c + 0.5) / cols
                wy = top + h * (f + 0.35) / floors
                if f == floors - 1 and c == door:
                    cv.paint(
                        rect(wx - w * 0.06, y - h * 0.45, wx + w * 0.06, y), roof * 0.7, BUILDINGS
                    )
                else:
                    cv.paint(
                        rect(
                            wx - w * 0.07,
                            wy - h * 0.12 / floors * 1.5,
                            wx + w * 0.07,
                            wy + h * 0.12 / floors * 1.5,
                        ),
                        vgradient(glass * 1.4, glass, wy - h * 0.2, wy + h * 0.2),
                        BUILDINGS,
                    )
    elif kind == "tower":
        w, h = rng.uniform(3, 6) * m, rng.uniform(14, 30) * m
        cv.paint(
            rect(x - w / 2, y - h, x + w / 2, y),
            shaded(wall, x, y - h, w, sc.sun, sc.contrast * 0.5),
            BUILDINGS,
            tex=0.25,
        )
        if rng.random() < 0.5:  # lighthouse stripes
            for k in range(3):
                cv.paint(
                    rect(
                        x - w / 2, y - h * (0.25 + 0.25 * k), x + w / 2, y - h * (0.15 + 0.25 * k)
                    ),
                    roof,
                    BUILDINGS,
                )
        cv.paint(
            polygon(
                [(x - w * 0.6, y - h), (x + w * 0.6, y - h), (x, y - h - w * rng.uniform(0.8, 2.5))]
            ),
            roof,
            BUILDINGS,
        )
        cv.paint(rect(x - w * 0.15, y - h * 0.85, x + w * 0.15, y - h * 0.75), glass, BUILDINGS)
    else:  # skyline: a row of distant towers on the horizon
        n = rng.integers(5, 14)
        span = rng.uniform(0.3, 0.9) * cv.aw
        xs = np.sort(rng.uniform(x - span / 2, x + span / 2, n))
        for bx in xs.tolist():
            bw = rng.uniform(0.02, 0.06) * span
            bh = rng.uniform(0.04, 0.22) * min(1.0, sc.horizon / 0.4)
            col = mix(
                pick_hsv(rng, (0.5, 0.65), (0.05, 0.25), (0.4, 0.75)),
                sc.haze,
                rng.uniform(0.2, 0.5),
            )
            rows, cols_ = int(rng.integers(6, 20)), int(rng.integers(2, 6))
            top = sc.horizon + 0.005 - bh

            def pattern(
                X: Array, Y: Array, col=col, bx=bx, bw=bw, top=top, bh=bh, rows=rows, cols_=cols_
            ) -> Array:
                u = (X - bx + bw / 2) / bw * cols_
                v = (Y - top) / bh * rows
                on = (np.abs(u - np.floor(u) - 0.5) < 0.3) & (np.abs(v - np.floor(v) - 0.5) < 0.25)
                fade = min(max(1.0 - cv.px * rows / bh, 0.0), 1.0)
                return col * (1.0 - 0.25 * fade * on.astype(np.float32))

            cv.paint(rect(bx - bw / 2, top, bx + bw / 2, sc.horizon + 0.01), pattern, BUILDINGS)


# ---- foreground subjects: each draws at (x, y) = feet on the ground, m = image units per metre


def _person(
    cv: Canvas, rng: np.random.Generator, x: float, y: float, m: float, sun: float
) -> float:
    h = rng.uniform(1.55, 1.9) * m
    skin = pick_hsv(rng, (0.04, 0.09), (0.25, 0.6), (0.35, 0.9))
    top = pick_hsv(rng, (0, 1), (0.3, 0.9), (0.3, 0.9))
    legs = pick_hsv(rng, (0.55, 0.7), (0.1, 0.6), (0.15, 0.5))
    r = h * 0.045
    stride = rng.uniform(-0.08, 0.08) * h
    cv.paint(
        capsule(x - r + stride, y - r, x - r * 0.6, y - h * 0.47, r * 1.1)
        | capsule(x + r - stride, y - r, x + r * 0.6, y - h * 0.47, r * 1.1),
        legs,
        SUBJECT,
        tex=0.2,
    )
    cv.paint(
        rect(x - h * 0.13, y - h * 0.82, x + h * 0.13, y - h * 0.44, h * 0.06),
        shaded(top, x, y - h * 0.8, h * 0.2, sun, 0.3),
        SUBJECT,
        tex=0.2,
    )
    swing = rng.uniform(-0.1, 0.1) * h
    for side in (-1, 1):
        cv.paint(
            capsule(
                x + side * h * 0.13,
                y - h * 0.78,
                x + side * h * 0.16 + swing * side,
                y - h * 0.5,
                r * 0.9,
            ),
            top * 0.9,
            SUBJECT,
        )
    cv.paint(
        circle(x, y - h * 0.9, h * 0.075), shaded(skin, x, y - h * 0.9, h * 0.08, sun, 0.3), SUBJECT
    )
    hair = pick_hsv(rng, (0.05, 0.1), (0.3, 0.7), (0.08, 0.6))
    cv.paint(ellipse(x, y - h * 0.94, h * 0.08, h * 0.05), hair, SUBJECT)
    return h * 0.35


def _quadruped(
    cv: Canvas, rng: np.random.Generator, x: float, y: float, m: float, sun: float
) -> float:
    species = rng.choice(["dog", "cow", "horse", "deer", "sheep"])
    length, height = {
        "dog": (0.8, 0.6),
        "cow": (2.2, 1.45),
        "horse": (2.2, 1.6),
        "deer": (1.5, 1.2),
        "sheep": (1.2, 0.9),
    }[species]
    length, height = length * m, height * m
    coat = {
        "dog": pick_hsv(rng, (0.05, 0.1), (0.1, 0.7), (0.15, 0.85)),
        "cow": pick_hsv(rng, (0.05, 0.1), (0.0, 0.15), (0.85, 0.95)),
        "horse": pick_hsv(rng, (0.03, 0.08), (0.4, 0.75), (0.2, 0.55)),
        "deer": pick_hsv(rng, (0.06, 0.09), (0.45, 0.65), (0.45, 0.6)),
        "sheep": pick_hsv(rng, (0.1, 0.13), (0.05, 0.15), (0.8, 0.92)),
    }[species]
    face = 1.0 if rng.random() < 0.5 else -1.0
    leg_len = height * (0.45 if species != "sheep" else 0.35)
    body_y = y - leg_len - height * 0.17
    rl = height * (0.045 if species != "dog" else 0.07)
    legs = None
    for lx in (-0.38, -0.28, 0.28, 0.38):
        c = capsule(
            x + lx * length, body_y, x + lx * length + rng.uniform(-0.05, 0.05) * length, y - rl, rl
        )
        legs = c if legs is None else legs | c
    dark = coat * 0.75
    cv.paint(legs, dark, SUBJECT)
    body = ellipse(x, body_y, length * 0.48, height * (0.2 if species != "sheep" else 0.28))
    head_x = x + face * length * 0.55
    head_y = body_y - height * (0.35 if species in ("horse", "deer") else 0.2)
    neck = capsule(x + face * length * 0.35, body_y - height * 0.05, head_x, head_y, height * 0.09)
    head = ellipse(
        head_x + face * height * 0.07, head_y + height * 0.02, height * 0.13, height * 0.08
    )
    tail = capsule(
        x - face * length * 0.47,
        body_y - height * 0.08,
        x - face * length * 0.55,
        body_y + height * 0.15,
        height * 0.025,
    )
    shape = body | neck | head | tail
    if species == "dog":
        shape = shape | polygon(
            [
                (head_x - height * 0.05, head_y - height * 0.05),
                (head_x + height * 0.05, head_y - height * 0.05),
                (head_x - face * height * 0.02, head_y - height * 0.2),
            ]
        )
    cv.paint(
        shape,
        shaded(coat, x, body_y - height * 0.2, length * 0.5, sun, 0.3),
        SUBJECT,
        tex=0.35,
        wobble=height * 0.02 * (species == "sheep"),
    )
    if species == "cow":  # patches

        def spots(X: Array, Y: Array) -> Array:
            sy, sx = cv.win
            return np.where(cv.coarse[sy, sx] > 0.55, np.float32(0.12), coat)

        cv.paint(body, spots, SUBJECT)
    if species in ("deer", "cow"):  # horns / antlers
        cv.paint(
            capsule(
                head_x,
                head_y - height * 0.05,
                head_x - face * height * 0.06,
                head_y - height * 0.2,
                height * 0.015,
            ),
            dark * 0.6,
            SUBJECT,
        )
    return length * 0.6


def _car(cv: Canvas, rng: np.random.Generator, x: float, y: float, m: float, sun: float) -> float:
    length, height = rng.uniform(3.8, 4.8) * m, rng.uniform(1.35, 1.7) * m
    paint = pick_hsv(rng, (0, 1), (0.0, 0.85), (0.2, 0.9))
    wheel_r = height * 0.23
    x0, x1 = x - length / 2, x + length / 2
    body_top = y - height * 0.6
    glass = pick_hsv(rng, (0.55, 0.62), (0.15, 0.35), (0.15, 0.3))
    cab = polygon(
        [
            (x0 + length * 0.22, body_top + 1e-4),
            (x1 - length * 0.15, body_top + 1e-4),
            (x1 - length * 0.3, y - height),
            (x0 + length * 0.35, y - height),
        ]
    )
    cv.paint(cab, paint, SUBJECT)
    inner = polygon(
        [
            (x0 + length * 0.26, body_top),
            (x1 - length * 0.19, body_top),
            (x1 - length * 0.32, y - height * 0.92),
            (x0 + length * 0.37, y - height * 0.92),
        ]
    )
    cv.paint(inner, vgradient(glass * 1.8, glass, y - height, body_top), SUBJECT)
    cv.paint(
        rect(x0, body_top, x1, y - wheel_r * 0.7, height * 0.12),
        shaded(paint, x, body_top, length * 0.5, sun, 0.25),
        SUBJECT,
    )
    for wx in (x0 + length * 0.2, x1 - length * 0.2):
        cv.paint(circle(wx, y - wheel_r, wheel_r), hsv(0, 0, 0.08), SUBJECT)
        cv.paint(circle(wx, y - wheel_r, wheel_r * 0.5), hsv(0, 0, 0.6), SUBJECT)
    cv.paint(
        rect(x1 - length * 0.04, body_top + height * 0.05, x1, body_top + height * 0.13),
        hsv(0.12, 0.3, 1.0),
        SUBJECT,
    )
    return length * 0.55


def _boat(cv: Canvas, rng: np.random.Generator, x: float, y: float, m: float, sun: float) -> float:
    length = min(rng.uniform(4, 9) * m, 0.4 * cv.aw)
    hull = pick_hsv(rng, (0, 1), (0.0, 0.8), (0.3, 0.95))
    d = length * 0.12
    cv.paint(
        polygon(
            [
                (x - length / 2, y - d),
                (x + length / 2, y - d * 1.3),
                (x + length * 0.38, y),
                (x - length * 0.42, y),
            ]
        ),
        shaded(hull, x, y - d, length, sun, 0.2),
        SUBJECT,
    )
    if rng.random() < 0.6:  # sailboat
        mast_h = length * rng.uniform(0.9, 1.3)
        cv.paint(capsule(x, y - d, x, y - d - mast_h, length * 0.008), hsv(0, 0, 0.3), SUBJECT)
        sail = pick_hsv(rng, (0.1, 0.14), (0.0, 0.2), (0.85, 1.0))
        cv.paint(
            polygon(
                [
                    (x + length * 0.02, y - d - mast_h * 0.95),
                    (x + length * 0.02, y - d * 1.5),
                    (x + length * 0.42, y - d * 1.5),
                ]
            ),
            shaded(sail, x, y - d - mast_h, length * 0.3, sun, 0.2),
            SUBJECT,
        )
        cv.paint(
            polygon(
                [
                    (x - length * 0.02, y - d - mast_h * 0.8),
                    (x - length * 0.02, y - d * 1.5),
                    (x - length * 0.3, y - d * 1.5),
                ]
            ),
            sail * 0.92,
            SUBJECT,
        )
    else:
        cv.paint(
            rect(x - length * 0.2, y - d * 2.6, x + length * 0.15, y - d, length * 0.02),
            hsv(0, 0, 0.9),
            SUBJECT,
        )
        cv.paint(
            rect(x - length * 0.15, y - d * 2.2, x + length * 0.1, y - d * 1.7),
            hsv(0.58, 0.3, 0.3),
            SUBJECT,
        )
    return length * 0.5


def _lamp_post(
    cv: Canvas, rng: np.random.Generator, x: float, y: float, m: float, sun: float
) -> float:
    h = rng.uniform(3.5, 5) * m
    metal = pick_hsv(rng, (0, 1), (0.0, 0.4), (0.08, 0.3))
    cv.paint(
        capsule(x, y, x, y - h, h * 0.015) | rect(x - h * 0.03, y - h * 0.08, x + h * 0.03, y),
        metal,
        SUBJECT,
    )
    if rng.random() < 0.5:
        cv.paint(
            polygon(
                [
                    (x - h * 0.06, y - h * 0.98),
                    (x + h * 0.06, y - h * 0.98),
                    (x + h * 0.04, y - h * 0.86),
                    (x - h * 0.04, y - h * 0.86),
                ]
            ),
            hsv(0.13, 0.2, 0.95),
            SUBJECT,
        )
        cv.paint(
            polygon(
                [(x - h * 0.08, y - h * 0.98), (x + h * 0.08, y - h * 0.98), (x, y - h * 1.06)]
            ),
            metal,
            SUBJECT,
        )
    else:
        cv.paint(capsule(x, y - h, x + h * 0.2, y - h, h * 0.012), metal, SUBJECT)
        cv.paint(
            ellipse(x + h * 0.2, y - h * 0.98, h * 0.06, h * 0.025), hsv(0.13, 0.15, 0.95), SUBJECT
        )
    return h * 0.05


def _rock(cv: Canvas, rng: np.random.Generator, x: float, y: float, m: float, sun: float) -> float:
    w = rng.uniform(1.2, 3.0) * m
    h = w * rng.uniform(0.45, 0.8)
    stone = pick_hsv(rng, (0.05, 0.6), (0.02, 0.2), (0.35, 0.65))
    # A faceted boulder: a convex outline, plus a sunlit top facet and a shaded flank.
    angles = np.sort(rng.uniform(0, 2 * np.pi, rng.integers(6, 10)))
    cy = y - h * 0.5
    outline = [
        (
            x + np.cos(a) * w * 0.5 * rng.uniform(0.85, 1.0),
            min(cy + np.sin(a) * h * 0.5 * rng.uniform(0.85, 1.0), y),
        )
        for a in angles
    ]
    body = polygon(outline)
    cv.paint(body, shaded(stone, x, y - h, w * 0.5, sun, 0.3), SUBJECT, tex=0.6, wobble=h * 0.04)
    top = [(px_, py_) for px_, py_ in outline if py_ < cy + h * 0.1] + [
        (x + sun * w * 0.2, cy + h * 0.05)
    ]
    if len(top) >= 3:
        cv.paint(polygon(top), stone * 1.25, SUBJECT, tex=0.5, alpha=0.6)
    flank = [
        (x - sun * w * 0.5, cy),
        (x - sun * w * 0.1, cy + h * 0.05),
        (x - sun * w * 0.05, y),
        (x - sun * w * 0.45, y),
    ]
    cv.paint(
        Shape(lambda X, Y: np.maximum(polygon(flank).sdf(X, Y), body.sdf(X, Y)), body.box),
        stone * 0.7,
        SUBJECT,
        tex=0.5,
        alpha=0.7,
    )
    return w * 0.55


def _bench(cv: Canvas, rng: np.random.Generator, x: float, y: float, m: float, sun: float) -> float:
    w, h = rng.uniform(1.5, 2.2) * m, 0.85 * m
    wood = pick_hsv(rng, (0.05, 0.1), (0.35, 0.6), (0.3, 0.6))
    metal = hsv(0, 0, 0.15)
    for lx in (-0.42, 0.42):
        cv.paint(rect(x + lx * w - w * 0.03, y - h * 0.5, x + lx * w + w * 0.03, y), metal, SUBJECT)
    cv.paint(rect(x - w / 2, y - h * 0.55, x + w / 2, y - h * 0.47), wood, SUBJECT, tex=0.3)
    for k in range(2):
        cv.paint(
            rect(x - w / 2, y - h * (0.95 - 0.17 * k), x + w / 2, y - h * (0.85 - 0.17 * k)),
            wood * 0.95,
            SUBJECT,
            tex=0.3,
        )
    cv.paint(
        rect(x - w * 0.45, y - h, x - w * 0.41, y - h * 0.5)
        | rect(x + w * 0.41, y - h, x + w * 0.45, y - h * 0.5),
        metal,
        SUBJECT,
    )
    return w * 0.55


def _tent(cv: Canvas, rng: np.random.Generator, x: float, y: float, m: float, sun: float) -> float:
    w, h = rng.uniform(2, 3.5) * m, rng.uniform(1.2, 1.8) * m
    cloth = pick_hsv(rng, (0, 1), (0.5, 0.9), (0.5, 0.9))
    cv.paint(
        polygon([(x - w / 2, y), (x + w / 2, y), (x + w * 0.1, y - h)]),
        shaded(cloth, x, y - h, w * 0.5, sun, 0.35),
        SUBJECT,
        tex=0.2,
    )
    cv.paint(
        polygon([(x - w * 0.12, y), (x + w * 0.22, y), (x + w * 0.1, y - h * 0.75)]),
        cloth * 0.35,
        SUBJECT,
    )
    return w * 0.55


def _bicycle(
    cv: Canvas, rng: np.random.Generator, x: float, y: float, m: float, sun: float
) -> float:
    r = 0.34 * m
    frame = pick_hsv(rng, (0, 1), (0.5, 0.9), (0.4, 0.9))
    th = max(r * 0.06, cv.px * 0.5)
    wheels = ring(x - r * 1.3, y - r, r * 0.92, th) | ring(x + r * 1.3, y - r, r * 0.92, th)
    cv.paint(wheels, hsv(0, 0, 0.1), SUBJECT)
    bx, by, sx_, sy_ = x, y - r, x - r * 0.35, y - r * 2.2
    parts = [
        (x - r * 1.3, y - r, bx, by),
        (bx, by, sx_, sy_),
        (x - r * 1.3, y - r, sx_, sy_),
        (sx_ + r * 0.1, sy_, x + r * 1.0, sy_ + r * 0.05),
        (x + r * 1.0, sy_, x + r * 1.3, y - r),
        (bx, by, x + r * 1.0, sy_ + r * 0.1),
    ]
    shape = None
    for p in parts:
        c = capsule(*p, th)
        shape = c if shape is None else shape | c
    cv.paint(shape, frame, SUBJECT)
    return r * 2


_TREE_METRES = {"round": 11.0, "conifer": 15.0, "poplar": 15.0, "bush": 1.2, "palm": 9.0}

_SUBJECTS: dict[str, tuple[Callable, float, float]] = {
    # name: (draw, typical height and width in metres, used to frame it)
    "person": (_person, 1.75, 0.6),
    "animal": (_quadruped, 1.2, 2.0),
    "car": (_car, 1.5, 4.3),
    "lamp_post": (_lamp_post, 4.0, 0.6),
    "rock": (_rock, 1.5, 2.2),
    "bench": (_bench, 0.9, 1.9),
    "tent": (_tent, 1.5, 2.8),
    "bicycle": (_bicycle, 1.0, 1.8),
}


def _outdoor(cv: Canvas, rng: np.random.Generator) -> None:
    light = _LIGHTS[rng.integers(len(_LIGHTS))]
    horizon = rng.uniform(0.3, 0.68)
    rows, haze, contrast, sun = _draw_sky(cv, rng, light, horizon)
    cv.label[:] = SKY
    ground_wave = noise_1d(rng, cv.xs, 1.5, 3) - 0.5
    wave_amp = rng.uniform(0.0, 0.03)
    sc = Outdoor(
        cv=cv,
        horizon=horizon,
        camera_h=rng.uniform(1.3, 2.5),
        sun=sun,
        contrast=contrast,
        sky_rows=rows,
        haze=haze,
        # Reads wave_amp when called: a sea below sets it to 0 (a flat horizon).
        ground_y=lambda X: horizon + wave_amp * ground_wave[None, (X[0] / cv.px).astype(np.int32)],
    )
    ground = rng.choice(list(_GROUNDS), p=[0.3, 0.15, 0.12, 0.07, 0.14, 0.1, 0.12])
    water = rng.choice(["none", "sea", "lake", "river"], p=[0.5, 0.2, 0.18, 0.12])
    if water == "sea":
        wave_amp = 0.0  # the sea horizon is flat
    if water != "sea" or rng.random() < 0.4:
        _mountains(sc, rng)
    greens = np.stack([pick_hsv(rng, (0.18, 0.36), (0.35, 0.75), (0.22, 0.5)) for _ in range(3)])
    if ground == "sand":
        greens = greens * np.float32([1.05, 0.95, 0.8]).reshape(3, 1, 1)
    if rng.random() < 0.45 and ground not in ("sand",) and water != "sea":  # distant tree line
        ridge = noise_1d(rng, cv.xs, 40.0, 3)
        height = rng.uniform(0.008, 0.035)
        line = (
            horizon
            - height * (0.4 + 0.6 * ridge)
            - rng.uniform(0, 1) * height * noise_1d(rng, cv.xs, 3.0, 2)
        )
        col = mix(greens[0] * 0.8, haze, 0.35)
        cv.paint(
            Shape(
                lambda X, Y: line[None, (X[0] / cv.px).astype(np.int32)] - Y,
                (0, float(line.min()), cv.aw, horizon + 0.01),
            ),
            col,
            VEGETATION,
            tex=0.3,
        )
    buildings = rng.random() < 0.5
    if buildings and rng.random() < 0.35:
        _building(sc, rng, rng.uniform(0.2, 0.8) * cv.aw, horizon, "skyline")
        buildings = False
    _ground(sc, rng, "sand" if water == "sea" and rng.random() < 0.6 else ground)
    boat_spot, water_shape = _water(sc, rng, water) if water != "none" else (None, None)

    def on_land(x: float, y: float) -> bool:
        # Geometric, not a label lookup, so the answer does not change with resolution.
        return (
            water_shape is None
            or float(water_shape.sdf(np.float32([[x]]), np.float32([[y]]))[0, 0]) > 0.01
        )

    # Things standing on the ground, painted far to near. Each draws from its own generator,
    # so skipping one (in the water, too small to see) leaves the others unchanged.
    items: list[tuple[float, float, str, int]] = []
    n_trees = rng.choice([0, 2, 4, 6, 10, 16], p=[0.1, 0.2, 0.25, 0.2, 0.15, 0.1])
    mood = rng.choice(
        ["round", "conifer", "mixed", "poplar", "palm"], p=[0.3, 0.25, 0.3, 0.08, 0.07]
    )
    if ground == "sand" and mood != "palm" and rng.random() < 0.5:
        mood = "palm"
    kinds = {"mixed": ["round", "conifer", "bush", "poplar"], "palm": ["palm", "bush"]}.get(
        str(mood), [str(mood), "bush"]
    )
    for _ in range(n_trees):
        kind = kinds[rng.integers(len(kinds))]
        # Apparent height, log-uniform: mostly distant trees, a few large ones.
        apparent = np.exp(rng.uniform(np.log(0.03), np.log(0.4 if kind != "bush" else 0.15)))
        y = min(horizon + apparent * sc.camera_h / _TREE_METRES[kind], 1.02)
        items.append((y, rng.uniform(-0.1, 1.1) * cv.aw, kind, int(rng.integers(2**63))))
    if n_trees and rng.random() < 0.2:  # a big tree framing one side
        x = rng.uniform(-0.05, 0.1) if rng.random() < 0.5 else rng.uniform(0.9, 1.05)
        items.append((rng.uniform(0.95, 1.05), x * cv.aw, kinds[0], int(rng.integers(2**63))))
    if buildings:
        for _ in range(rng.integers(1, 4)):
            kind = ("house", "house", "house", "tower")[rng.integers(4)]
            apparent = rng.uniform(0.06, 0.3) * (1.6 if kind == "tower" else 1.0)
            y = horizon + apparent * sc.camera_h / (6.0 if kind == "house" else 22.0)
            items.append((y, rng.uniform(0.05, 0.95) * cv.aw, kind, int(rng.integers(2**63))))
    subject = None
    if rng.random() < 0.9:
        names = list(_SUBJECTS) + (
            ["boat"] * 3 if boat_spot is not None and water != "river" else []
        )
        name = names[rng.integers(len(names))]
        if name == "boat":
            bx, by, spread = boat_spot
            x = float(np.clip(bx + rng.uniform(-0.5, 0.5) * spread, 0.1, cv.aw - 0.1))
            subject = (by, x, "boat", int(rng.integers(2**63)))
        else:
            _, tall, wide = _SUBJECTS[name]
            # Apparent height as a fraction of the image, but never wider than most of it.
            target = min(rng.uniform(0.18, 0.55), 0.7 * cv.aw * tall / wide)
            y = min(horizon + target * sc.camera_h / tall, rng.uniform(0.9, 1.0))
            third = (1 / 3, 1 / 2, 2 / 3)[rng.choice(3, p=[0.4, 0.2, 0.4])]
            subject = (
                y,
                (third + rng.uniform(-0.08, 0.08)) * cv.aw,
                name,
                int(rng.integers(2**63)),
            )
        items.append(subject)
    if subject is not None and subject[2] != "boat" and not on_land(subject[0], subject[1]):
        y, x, name, seed = subject
        spots = [(y, cv.aw - x), (y, x + 0.3), (y, x - 0.3), (1.0, x), (1.0, cv.aw - x)]
        y, x = next(((sy, sx) for sy, sx in spots if on_land(sy, sx)), (y, x))
        items.remove(subject)
        subject = (y, x, name, seed)
        items.append(subject)
    for y, x, kind, seed in sorted(items):
        item_rng = np.random.default_rng(seed)
        if (y, x, kind, seed) == subject:
            m = sc.scale(y)
            if kind == "boat":
                _boat(cv, item_rng, x, y, m, sun)
                continue
            draw, _, _ = _SUBJECTS[kind]
            sc.shadow(x, y, draw(cv, item_rng, x, y, m, sun) * 1.2)
            if kind == "person" and item_rng.random() < 0.2:  # with a dog
                side = 1 if x < cv.aw / 2 else -1
                sc.shadow(x + 0.9 * m * side, y, 0.5 * m)
                _quadruped(cv, item_rng, x + 0.9 * m * side, y, m * 0.6, sun)
        elif not on_land(x, y):
            continue
        elif kind in ("house", "tower"):
            _building(sc, item_rng, x, y, kind)
        else:
            _tree(sc, item_rng, x, y, kind, greens)
    tint = {
        "clear": (1.0, 1.0, 1.0),
        "hazy": (1.0, 1.0, 1.02),
        "overcast": (0.97, 0.99, 1.02),
        "warm": (1.06, 1.0, 0.9),
    }[light]
    cv.rgb *= np.float32(tint).reshape(3, 1, 1) * rng.uniform(0.95, 1.05)


# --------------------------------------------------------------------------------------------
# Interior scenes: a box room in one-point perspective


@dataclass
class Room:
    cv: Canvas
    width: float  # metres
    height: float
    depth: float  # distance from the camera to the back wall
    cam_x: float
    cam_h: float
    focal: float  # image units per metre at 1 m
    vx: float  # vanishing point
    vy: float
    light_side: float  # +1 window light from the right

    def project(self, x: float, y: float, z: float) -> tuple[float, float]:
        """Room point (x across, y up, z away; metres) -> image (x, y)."""
        k = self.focal / max(float(z), 0.05)
        return self.vx + (float(x) - self.cam_x) * k, self.vy + (self.cam_h - float(y)) * k

    def quad(self, corners: list[tuple[float, float, float]]) -> Shape:
        return polygon([self.project(*c) for c in corners])

    def box(
        self,
        x0: float,
        x1: float,
        y0: float,
        y1: float,
        z0: float,
        z1: float,
        colour: Array,
        label: int = SUBJECT,
        tex: float = 0.15,
        top: Array | None = None,
    ) -> None:
        """A solid box with its visible faces shaded (top lighter, sides darker)."""
        cv = self.cv
        (ax, ay), (bx, by) = self.project(x0, y1, z0), self.project(x1, y0, z0)
        if min(bx - ax, by - ay) < 2 * cv.px:  # a thin leg or rail: its sides are invisible
            cv.paint(rect(ax, ay, bx, by), colour, label, tex=tex)
            return
        side = colour * (0.78 + 0.1 * self.light_side)
        if x0 > self.cam_x:
            cv.paint(
                self.quad([(x0, y0, z0), (x0, y1, z0), (x0, y1, z1), (x0, y0, z1)]),
                side,
                label,
                tex=tex,
            )
        if x1 < self.cam_x:
            cv.paint(
                self.quad([(x1, y0, z0), (x1, y1, z0), (x1, y1, z1), (x1, y0, z1)]),
                colour * (0.78 - 0.1 * self.light_side),
                label,
                tex=tex,
            )
        if y1 < self.cam_h:
            cv.paint(
                self.quad([(x0, y1, z0), (x1, y1, z0), (x1, y1, z1), (x0, y1, z1)]),
                colour * 1.15 if top is None else top,
                label,
                tex=tex,
            )
        elif y0 > self.cam_h:
            cv.paint(
                self.quad([(x0, y0, z0), (x1, y0, z0), (x1, y0, z1), (x0, y0, z1)]),
                colour * 0.7,
                label,
                tex=tex,
            )
        cv.paint(rect(ax, ay, bx, by), colour, label, tex=tex)

    def front(self, x0: float, x1: float, y0: float, y1: float, z: float) -> Shape:
        (ax, ay), (bx, by) = self.project(x0, y1, z), self.project(x1, y0, z)
        return rect(ax, ay, bx, by)


_WALLS = (
    ((0.08, 0.14), (0.04, 0.15), (0.82, 0.95)),  # warm white
    ((0.07, 0.12), (0.15, 0.3), (0.7, 0.85)),  # beige
    ((0.2, 0.35), (0.1, 0.3), (0.55, 0.78)),  # sage
    ((0.55, 0.62), (0.08, 0.3), (0.55, 0.8)),  # blue grey
    ((0.02, 0.07), (0.3, 0.55), (0.55, 0.8)),  # terracotta
    ((0.0, 1.0), (0.0, 0.04), (0.6, 0.92)),  # grey / white
    ((0.45, 0.52), (0.2, 0.45), (0.35, 0.6)),  # teal
    ((0.9, 1.0), (0.1, 0.3), (0.6, 0.85)),  # dusty pink
    ((0.12, 0.16), (0.3, 0.55), (0.7, 0.9)),  # yellow
)


@dataclass(frozen=True)
class Theme:
    walls: tuple[int, ...]  # indices into _WALLS
    floors: tuple[str, ...]
    main: str
    extras: tuple[str, ...]
    wall_finish: str = "paint"  # paint | brick | tiles | panels | paper


THEMES: dict[str, Theme] = {
    "living_room": Theme(
        (0, 1, 2, 3, 5, 6),
        ("planks", "planks", "carpet"),
        "sofa",
        (
            "armchair",
            "coffee_table",
            "floor_lamp",
            "plant",
            "painting",
            "rug",
            "bookshelf",
            "sideboard",
        ),
    ),
    "bedroom": Theme(
        (0, 1, 3, 7, 2),
        ("planks", "carpet"),
        "bed",
        ("nightstand", "wardrobe", "painting", "plant", "rug", "floor_lamp"),
    ),
    "kitchen": Theme(
        (0, 5, 8, 3, 2),
        ("tiles", "planks", "tiles"),
        "kitchen",
        ("pendant", "plant", "stool", "fridge"),
    ),
    "office": Theme(
        (5, 3, 0, 1),
        ("carpet", "planks", "concrete"),
        "desk",
        ("bookshelf", "plant", "floor_lamp", "painting", "cabinet"),
    ),
    "bathroom": Theme((0, 5, 6, 3), ("tiles",), "bathtub", ("vanity", "plant", "mirror"), "tiles"),
    "dining_room": Theme(
        (0, 1, 4, 2, 6),
        ("planks", "tiles"),
        "dining_table",
        ("pendant", "sideboard", "painting", "plant", "rug"),
    ),
    "studio": Theme(
        (5, 0, 8),
        ("concrete", "planks"),
        "easel",
        ("stool", "canvases", "plant", "floor_lamp", "coffee_table"),
    ),
    "library": Theme(
        (1, 4, 6, 0),
        ("planks", "carpet"),
        "bookshelf_wall",
        ("armchair", "floor_lamp", "rug", "coffee_table", "plant"),
    ),
    "loft": Theme(
        (5, 1, 4),
        ("concrete", "planks"),
        "sofa",
        ("pendant", "plant", "rug", "coffee_table", "bookshelf", "floor_lamp"),
        "brick",
    ),
    "meditation_room": Theme(
        (0, 1, 2, 8), ("planks", "mat"), "cushions", ("plant", "low_table", "candles", "screen")
    ),
}


def grid_lines(u: Array, du: Array | float) -> Array:
    """Anti-aliased one-pixel lines at the integers of ``u`` (``du``: change of ``u`` per pixel).

    Lines closer than three pixels apart fade out instead of aliasing into moire.
    """
    du = np.maximum(du, 1e-6)
    line = 1.0 - np.abs(u - np.round(u)) / du
    fade = 1.0 - 3.0 * du
    return np.clip(line, 0.0, 1.0) * np.clip(fade, 0.0, 1.0)


def _floor(room: Room, rng: np.random.Generator, material: str) -> None:
    cv = room.cv
    base = {
        "planks": pick_hsv(rng, (0.05, 0.1), (0.35, 0.65), (0.3, 0.7)),
        "carpet": pick_hsv(rng, (0.0, 1.0), (0.05, 0.35), (0.35, 0.7)),
        "tiles": pick_hsv(rng, (0.0, 1.0), (0.0, 0.2), (0.5, 0.9)),
        "concrete": pick_hsv(rng, (0.05, 0.6), (0.0, 0.08), (0.45, 0.65)),
        "mat": pick_hsv(rng, (0.12, 0.16), (0.3, 0.45), (0.6, 0.75)),
    }[material]
    spacing = {"planks": rng.uniform(0.12, 0.22), "tiles": rng.uniform(0.3, 0.6), "mat": 0.9}.get(
        material, 0.0
    )
    joint = base * (0.55 if material != "tiles" else 0.75)
    plank_len = rng.uniform(0.8, 1.6)
    per_plank = rng.uniform(0.85, 1.15, 64).astype(np.float32)

    def colour(X: Array, Y: Array) -> Array:
        z = room.cam_h * room.focal / np.maximum(Y - room.vy, 1e-3)  # metres away, (h, 1)
        xm = room.cam_x + (X - room.vx) * (z / room.focal)  # metres across, (h, w)
        across = z * (cv.px / room.focal)  # metres per pixel, across and in depth
        deep = z * z * (cv.px / (room.cam_h * room.focal))
        col = np.empty((3, *xm.shape), np.float32)
        col[:] = base
        if material == "planks":
            u = xm / spacing
            plank = np.floor(u).astype(np.int64)
            v = z / plank_len + (plank % 7) * 0.37  # staggered plank ends
            grain = 0.9 + 0.2 * cv.streak[cv.win]
            col *= per_plank[plank % 64] * grain
            line = np.maximum(
                0.8 * grid_lines(u, across / spacing), 0.6 * grid_lines(v, deep / plank_len)
            )
            col += (joint - col) * line
        elif spacing:
            line = np.maximum(
                grid_lines(xm / spacing, across / spacing), grid_lines(z / spacing, deep / spacing)
            )
            col += (joint - col) * (0.8 * line)
        # Darker far away, lit near the camera.
        light = 0.8 + 0.25 * np.clip((Y - room.vy) / (1.0 - room.vy), 0, 1)
        return col * light

    d = room.depth
    floor = room.quad([(0, 0, d), (room.width, 0, d), (room.width, 0, 0.06), (0, 0, 0.06)])
    cv.paint(floor, colour, GROUND, tex=0.35 if material in ("carpet", "concrete", "mat") else 0.15)


def _wall_colour(
    room: Room, rng: np.random.Generator, base: Array, finish: str, plane: str
) -> Callable:
    """Wall colour as ``f(X, Y)``; patterns follow the wall's own coordinates (metres)."""
    cv = room.cv
    brick = pick_hsv(rng, (0.0, 0.06), (0.45, 0.7), (0.4, 0.6))
    mortar = hsv(0.1, 0.1, 0.75)
    tile = rng.uniform(0.15, 0.3)
    stripe = rng.uniform(0.08, 0.2)
    brick_shades = (0.85 + 0.3 * rng.random(97)).astype(np.float32)
    brick_w, brick_h = 0.23, 0.075

    def colour(X: Array, Y: Array) -> Array:
        if plane == "back":
            z = room.depth
            u = room.cam_x + (X - room.vx) * (z / room.focal)  # metres along the wall
            du = z * cv.px / room.focal  # metres per pixel
        else:
            dx = X - room.vx
            dx = np.where(np.abs(dx) < 1e-4, 1e-4, dx)
            wall_x = 0.0 if plane == "left" else room.width
            z = np.clip(room.focal * (wall_x - room.cam_x) / dx, 0.05, room.depth * 2)
            u, du = z, np.abs(z / dx) * cv.px
        v = room.cam_h - (Y - room.vy) * (z / room.focal)  # metres above the floor
        dv = z * cv.px / room.focal
        col = np.empty((3, *np.broadcast_shapes(np.shape(u), v.shape)), np.float32)
        col[:] = base
        if finish == "brick":
            row = np.floor(v / brick_h)
            uu = u / brick_w + 0.5 * (row % 2)
            shade = brick_shades[((np.floor(uu) * 13 + row * 7) % 97).astype(np.int64)]
            col = brick * shade
            lines = np.maximum(grid_lines(uu, du / brick_w), grid_lines(v / brick_h, dv / brick_h))
            col += (mortar - col) * lines
            far = np.clip(3.0 * dv / brick_h - 0.5, 0, 1)  # too small to draw: the average colour
            col += (mix(brick, mortar, 0.2) - col) * far
        elif finish == "tiles":
            lines = np.maximum(grid_lines(u / tile, du / tile), grid_lines(v / tile, dv / tile))
            col *= 1.0 - 0.25 * lines
        elif finish == "paper":
            fade = np.clip(1.0 - 3.0 * du / stripe, 0, 1)
            col *= 1.0 + 0.06 * np.cos(2 * np.pi * u / stripe) * fade
        elif finish == "panels":  # wainscot: a darker lower band under a rail
            col *= np.where(v < 0.95, 0.85, 1.0).astype(np.float32)
            col *= 1.0 - 0.3 * grid_lines(v / 0.95, dv / 0.95) * (v < 1.2)
        return col

    return colour


def _room_window(room: Room, rng: np.random.Generator, wall: str, big: bool) -> None:
    cv = room.cv
    frame = pick_hsv(rng, (0, 1), (0.0, 0.1), (0.15, 0.95))
    sill = rng.uniform(0.1, 0.4) if big else rng.uniform(0.75, 1.0)
    top = room.height - rng.uniform(0.1, 0.4)
    zen, low, _ = _sky_palette(rng, rng.choice(["clear", "clear", "hazy", "overcast", "warm"]))
    green = pick_hsv(rng, (0.2, 0.35), (0.35, 0.7), (0.25, 0.5))
    mullions = rng.integers(1, 4) if not big else rng.integers(3, 6)
    if wall == "back":
        width = rng.uniform(0.8, 1.8) * (1.8 if big else 1.0)
        centre = rng.uniform(0.2, 0.8) * room.width
        x0, x1 = max(0.1, centre - width / 2), min(room.width - 0.1, centre + width / 2)
        pts = [
            (x0, top, room.depth),
            (x1, top, room.depth),
            (x1, sill, room.depth),
            (x0, sill, room.depth),
        ]
        glass = room.quad(pts)
        b = glass.box
        horizon_y = b[1] + (b[3] - b[1]) * rng.uniform(0.5, 0.85)
        cv.paint(glass, vgradient(zen, low, b[1], horizon_y), SKY)
        if rng.random() < 0.75:  # greenery or houses outside
            ridge = noise_1d(rng, cv.xs, rng.uniform(8, 25), 3)
            outside_label = VEGETATION if rng.random() < 0.75 else BUILDINGS
            col = (
                green
                if outside_label == VEGETATION
                else pick_hsv(rng, (0, 1), (0.05, 0.3), (0.5, 0.8))
            )
            line = horizon_y - (b[3] - b[1]) * 0.3 * ridge
            outside = Shape(
                lambda X, Y: np.maximum(
                    line[None, (X[0] / cv.px).astype(np.int32)] - Y, glass.sdf(X, Y)
                ),
                b,
            )
            cv.paint(outside, col, outside_label, tex=0.5)
        fw = 0.05
        for k in range(mullions + 1):
            mx = x0 + (x1 - x0) * k / mullions
            cv.paint(
                room.quad(
                    [
                        (mx - fw, top + fw, room.depth),
                        (mx + fw, top + fw, room.depth),
                        (mx + fw, sill - fw, room.depth),
                        (mx - fw, sill - fw, room.depth),
                    ]
                ),
                frame,
                BUILDINGS,
            )
        for yy in (top, sill) + ((sill + (top - sill) * 0.62,) if rng.random() < 0.5 else ()):
            cv.paint(
                room.quad(
                    [
                        (x0 - fw, yy + fw, room.depth),
                        (x1 + fw, yy + fw, room.depth),
                        (x1 + fw, yy - fw, room.depth),
                        (x0 - fw, yy - fw, room.depth),
                    ]
                ),
                frame,
                BUILDINGS,
            )
        if not big and rng.random() < 0.6:  # curtains
            cloth = pick_hsv(rng, (0, 1), (0.1, 0.6), (0.4, 0.9))
            for cx in (x0, x1):
                cw = rng.uniform(0.2, 0.4)
                cv.paint(
                    room.quad(
                        [
                            (cx - cw, top + 0.15, room.depth - 0.05),
                            (cx + cw, top + 0.15, room.depth - 0.05),
                            (
                                cx + cw,
                                0.02 if rng.random() < 0.5 else sill - 0.1,
                                room.depth - 0.05,
                            ),
                            (cx - cw, 0.02, room.depth - 0.05),
                        ]
                    ),
                    _folds(
                        room.cv,
                        cloth,
                        room.project(cx, 0, room.depth)[0] - 0.0,
                        cw * room.focal / room.depth,
                    ),
                    SUBJECT,
                    tex=0.15,
                )
        # Sunlight falling through the window onto the floor.
        reach = rng.uniform(1.0, 3.0)
        shift = rng.uniform(-1.0, 1.0)
        cv.multiply(
            room.quad(
                [
                    (x0, 0, room.depth),
                    (x1, 0, room.depth),
                    (x1 + shift, 0, room.depth - reach),
                    (x0 + shift, 0, room.depth - reach),
                ]
            ),
            1.3,
            soft=3.0,
        )
    else:
        wx = 0.0 if wall == "left" else room.width
        z0 = rng.uniform(0.3, 0.6) * room.depth
        z1 = min(room.depth - 0.2, z0 + rng.uniform(1.0, 2.5) * (1.5 if big else 1.0))
        pts = [(wx, top, z0), (wx, top, z1), (wx, sill, z1), (wx, sill, z0)]
        glass = room.quad(pts)
        b = glass.box
        cv.paint(glass, vgradient(zen, low, b[1], b[3]), SKY)
        fw = 0.05
        for k in range(mullions + 1):
            mz = z0 + (z1 - z0) * k / mullions
            cv.paint(
                room.quad(
                    [
                        (wx, top + fw, mz - fw),
                        (wx, top + fw, mz + fw),
                        (wx, sill - fw, mz + fw),
                        (wx, sill - fw, mz - fw),
                    ]
                ),
                frame,
                BUILDINGS,
            )
        for yy in (top, sill):
            cv.paint(
                room.quad(
                    [
                        (wx, yy + fw, z0 - fw),
                        (wx, yy + fw, z1 + fw),
                        (wx, yy - fw, z1 + fw),
                        (wx, yy - fw, z0 - fw),
                    ]
                ),
                frame,
                BUILDINGS,
            )
        inward = 1.0 if wall == "left" else -1.0
        reach = rng.uniform(1.0, 2.5)
        cv.multiply(
            room.quad(
                [
                    (wx, 0, z0),
                    (wx, 0, z1),
                    (wx + inward * reach, 0, z1 - 0.5),
                    (wx + inward * reach, 0, z0 - 0.5),
                ]
            ),
            1.3,
            soft=3.0,
        )


def _folds(cv: Canvas, cloth: Array, cx: float, width: float) -> Callable:
    freq = 6.0 / max(float(width), 1e-3)

    def f(X: Array, Y: Array) -> Array:
        fade = min(max(1.0 - freq * cv.px * 2, 0.0), 1.0)
        return cloth * (1.0 + 0.15 * fade * np.sin(X * freq * 2 * np.pi))

    return f


def _plant(
    room: Room, rng: np.random.Generator, x: float, z: float, scale: float = 1.0, y: float = 0.0
) -> None:
    cv = room.cv
    pot = pick_hsv(rng, (0, 1), (0.0, 0.6), (0.3, 0.9))
    r, ph = 0.18 * scale, 0.35 * scale
    room.box(x - r, x + r, y, y + ph, z - r, z + r, pot)
    green = pick_hsv(rng, (0.22, 0.36), (0.45, 0.8), (0.25, 0.55))
    (cx, cy) = room.project(x, y + ph, z)
    m = room.focal / z
    kind = rng.integers(3)
    if kind == 0:  # leafy bush
        h = rng.uniform(0.4, 0.9) * scale * m
        shape = ellipse(cx, cy - h * 0.45, h * 0.4, h * 0.5)
        for _ in range(4):
            shape = shape | circle(
                cx + rng.uniform(-0.4, 0.4) * h,
                cy - h * rng.uniform(0.3, 0.8),
                h * rng.uniform(0.15, 0.3),
            )
        cv.paint(
            shape,
            shaded(green, cx, cy - h, h * 0.5, room.light_side, 0.3),
            VEGETATION,
            tex=0.6,
            wobble=h * 0.12,
        )
    else:  # spiky leaves
        h = rng.uniform(0.4, 1.0) * scale * m
        shape = None
        for _ in range(rng.integers(5, 10)):
            a = -np.pi / 2 + rng.uniform(-0.9, 0.9)
            ln = h * rng.uniform(0.5, 1.0)
            leaf = capsule(
                cx,
                cy,
                cx + np.cos(a) * ln * (0.6 if kind == 1 else 0.9),
                cy + np.sin(a) * ln,
                max(h * 0.04 * (1 + (kind == 2)), cv.px * 0.4),
            )
            shape = leaf if shape is None else shape | leaf
        cv.paint(
            shape, shaded(green, cx, cy - h, h * 0.5, room.light_side, 0.3), VEGETATION, tex=0.3
        )


def _books(
    rng: np.random.Generator, face: Shape, w: float, h: float, body: Array, px: float
) -> Callable:
    """Rows of book spines filling the front ``face`` of a ``w`` x ``h`` m shelf, as ``f(X, Y)``."""
    palette = np.concatenate([pick_hsv(rng, (0, 1), (0.3, 0.8), (0.2, 0.8)) for _ in range(16)], 1)
    spine_colour = rng.integers(16, size=4096)
    shelves = max(3, int(h / 0.38))
    spines = w / 0.045  # books per shelf
    x0, y0, x1, y1 = face.box
    # Spines under two pixels wide blend into their average instead of flickering.
    fade = min(max((x1 - x0) / spines / px - 1.0, 0.0), 1.0)

    def f(X: Array, Y: Array) -> Array:
        u = (X - x0) * (spines / (x1 - x0))
        v = (Y - y0) * (shelves / (y1 - y0))
        row = np.floor(v)
        book = (np.floor(u + row * 3.7) * 7 + row * 131).astype(np.int64) % 4096
        tall = 0.55 + 0.06 * (book % 5)  # spine height, as a fraction of the shelf
        gap = ((v - row) < 1 - tall) | ((v - row) > 0.93)
        books = mix(palette.mean(1, keepdims=True), palette[:, spine_colour[book], 0], fade)
        return np.where(gap, body * 0.35, books)

    return f


@dataclass(frozen=True)
class Materials:
    """The colours one piece of furniture is made of."""

    fabric: Array
    wood: Array
    dark: Array  # metal, screens, handles
    light: Array  # white goods, porcelain


def _sofa(
    room: Room, rng: np.random.Generator, item: str, x: float, z: float, m: Materials
) -> None:
    """A sofa with armrests and cushions."""
    cv = room.cv
    b = room.box
    fabric, dark = m.fabric, m.dark
    w, d = rng.uniform(1.8, 2.6), 0.9
    b(x - w / 2, x + w / 2, 0.1, 0.45, z, z + d, fabric, tex=0.25)
    b(x - w / 2, x + w / 2, 0.1, 0.85, z + d - 0.2, z + d, fabric * 0.92, tex=0.25)
    for s in (-1, 1):
        b(
            x + s * w / 2 - 0.1 * (s + 1),
            x + s * w / 2 + 0.1 * (1 - s),
            0.1,
            0.62,
            z,
            z + d,
            fabric * 0.95,
            tex=0.25,
        )
    for _ in range(rng.integers(0, 3)):
        cx = x + rng.uniform(-0.35, 0.35) * w
        c = room.project(cx, 0.62, z + d - 0.25)
        s = 0.2 * room.focal / (z + d)
        cv.paint(
            rect(c[0] - s, c[1] - s, c[0] + s, c[1] + s, s * 0.4),
            pick_hsv(rng, (0, 1), (0.3, 0.8), (0.4, 0.9)),
            SUBJECT,
            tex=0.2,
        )
    for s in (-0.45, 0.45):
        b(x + s * w - 0.03, x + s * w + 0.03, 0.0, 0.1, z + 0.05, z + 0.1, dark)


def _armchair(
    room: Room, rng: np.random.Generator, item: str, x: float, z: float, m: Materials
) -> None:
    """An armchair."""
    b = room.box
    fabric = m.fabric
    w = rng.uniform(0.8, 1.0)
    b(x - w / 2, x + w / 2, 0.1, 0.45, z, z + 0.8, fabric, tex=0.25)
    b(x - w / 2, x + w / 2, 0.1, 0.95, z + 0.65, z + 0.85, fabric * 0.9, tex=0.25)
    b(x - w / 2, x - w / 2 + 0.15, 0.1, 0.62, z, z + 0.8, fabric * 0.95)
    b(x + w / 2 - 0.15, x + w / 2, 0.1, 0.62, z, z + 0.8, fabric * 0.95)


def _table(
    room: Room, rng: np.random.Generator, item: str, x: float, z: float, m: Materials
) -> None:
    """A table (coffee, low, dining or desk) with what stands on and around it."""
    cv = room.cv
    b = room.box
    wood, dark = m.wood, m.dark
    w, d, h = {
        "coffee_table": (1.1, 0.6, 0.42),
        "low_table": (0.9, 0.6, 0.3),
        "dining_table": (1.8, 0.9, 0.75),
        "desk": (1.5, 0.7, 0.75),
    }[item]
    w *= rng.uniform(0.85, 1.15)
    if item == "dining_table":
        for s in (-1, 1):  # chairs behind
            cx = x + s * w * 0.25
            b(cx - 0.22, cx + 0.22, 0.0, 1.0, z + d + 0.1, z + d + 0.15, wood * 0.8)
            b(cx - 0.22, cx + 0.22, 0.42, 0.47, z + d - 0.2, z + d + 0.15, wood * 0.8)
    if item == "desk":
        b(x - 0.25, x + 0.25, 0.45, 1.1, z + d + 0.25, z + d + 0.35, dark)  # chair back
    for lx in (x - w / 2 + 0.05, x + w / 2 - 0.1):
        for lz in (z + 0.05, z + d - 0.1):
            b(lx, lx + 0.05, 0.0, h - 0.04, lz, lz + 0.05, wood * 0.7, tex=0.05)
    b(x - w / 2, x + w / 2, h - 0.04, h, z, z + d, wood, tex=0.2)
    if item == "desk":
        b(x - 0.3, x + 0.3, h + 0.12, h + 0.5, z + d * 0.6, z + d * 0.65, dark, tex=0.0)
        cv.paint(
            room.front(x - 0.27, x + 0.27, h + 0.15, h + 0.47, z + d * 0.6 - 0.001),
            pick_hsv(rng, (0.5, 0.7), (0.3, 0.7), (0.3, 0.7)),
            SUBJECT,
            tex=0.3,
        )
        b(x - 0.03, x + 0.03, h, h + 0.14, z + d * 0.62, z + d * 0.64, dark)
    elif rng.random() < 0.6:  # something on the table
        vase = pick_hsv(rng, (0, 1), (0.2, 0.8), (0.3, 0.9))
        b(x - 0.06, x + 0.06, h, h + 0.25, z + d * 0.4, z + d * 0.5, vase)
        if rng.random() < 0.5:
            c = room.project(x, h + 0.32, z + d * 0.45)
            cv.paint(
                circle(c[0], c[1], 0.12 * room.focal / z),
                pick_hsv(rng, (0.9, 1.1), (0.5, 0.8), (0.6, 0.9)),
                VEGETATION,
                wobble=0.04 * room.focal / z,
            )
    if item == "dining_table":
        for s in (-1, 1):  # chairs in front
            cx = x + s * w * 0.25
            b(cx - 0.22, cx + 0.22, 0.42, 0.47, z - 0.35, z - 0.0, wood * 0.85)
            for lx in (cx - 0.2, cx + 0.16):
                b(lx, lx + 0.04, 0.0, 0.42, z - 0.33, z - 0.29, wood * 0.7)


def _cabinet(
    room: Room, rng: np.random.Generator, item: str, x: float, z: float, m: Materials
) -> None:
    """Box furniture against a wall: shelves of books, cabinets, wardrobe, fridge, vanity."""
    cv = room.cv
    b = room.box
    wood, dark, light = m.wood, m.dark, m.light
    w, h, d = {
        "bookshelf": (1.0, 1.9, 0.35),
        "bookshelf_wall": (room.width * 0.85, room.height * 0.92, 0.35),
        "cabinet": (0.9, 1.1, 0.45),
        "wardrobe": (1.2, 2.1, 0.6),
        "sideboard": (1.6, 0.8, 0.45),
        "nightstand": (0.5, 0.55, 0.4),
        "fridge": (0.75, 1.85, 0.65),
        "vanity": (1.0, 0.85, 0.5),
    }[item]
    body = wood if item not in ("fridge", "vanity") else light
    b(x - w / 2, x + w / 2, 0.0, h, z, z + d, body, tex=0.2)
    face = room.front(x - w / 2 + 0.04, x + w / 2 - 0.04, 0.05, h - 0.04, z - 0.001)
    if item.startswith("bookshelf"):
        cv.paint(face, _books(rng, face, w, h, body, cv.px), SUBJECT, tex=0.2)
    elif item == "fridge":
        cv.paint(room.front(x + w / 2 - 0.1, x + w / 2 - 0.07, 1.0, 1.5, z - 0.002), dark, SUBJECT)
        cv.paint(room.front(x - w / 2, x + w / 2, 1.2, 1.22, z - 0.002), body * 0.7, SUBJECT)
    else:
        doors = 2 if w > 0.7 else 1
        for k in range(doors):
            dx0 = x - w / 2 + w * k / doors
            cv.paint(
                room.front(dx0 + 0.03, dx0 + w / doors - 0.03, 0.06, h - 0.06, z - 0.001),
                body * 1.06,
                SUBJECT,
                tex=0.15,
            )
            hx = dx0 + w / doors * (0.85 if k == 0 else 0.15)
            cv.paint(room.front(hx - 0.01, hx + 0.01, h * 0.45, h * 0.6, z - 0.002), dark, SUBJECT)
        if item == "nightstand":
            _lamp(room, rng, x, h, z + d / 2, table=True)
        if item == "sideboard" and rng.random() < 0.25:  # an aquarium
            aq = 0.5
            b(
                x - w * 0.35,
                x + w * 0.35,
                h,
                h + aq,
                z + 0.05,
                z + d - 0.05,
                hsv(0, 0, 0.15),
                tex=0.0,
            )
            water = pick_hsv(rng, (0.45, 0.55), (0.3, 0.6), (0.45, 0.75))
            cv.paint(
                room.front(x - w * 0.33, x + w * 0.33, h + 0.03, h + aq - 0.06, z + 0.049),
                vgradient(
                    water * 1.2,
                    water * 0.7,
                    room.project(0, h + aq, z)[1],
                    room.project(0, h, z)[1],
                ),
                WATER,
                tex=0.3,
            )
        if item == "vanity":
            b(x - 0.25, x + 0.25, h - 0.05, h, z + 0.05, z + d - 0.05, hsv(0, 0, 0.97))


def _bed(room: Room, rng: np.random.Generator, item: str, x: float, z: float, m: Materials) -> None:
    """A bed against the back wall, with pillows and a blanket."""
    cv = room.cv
    b = room.box
    wood = m.wood
    w, length = rng.uniform(1.5, 2.0), 2.1
    zb = room.depth - length - 0.05
    b(
        x - w / 2 - 0.05, x + w / 2 + 0.05, 0.0, 1.1, room.depth - 0.1, room.depth - 0.05, wood
    )  # headboard
    b(x - w / 2, x + w / 2, 0.1, 0.35, zb, zb + length, wood * 0.9)
    sheet = pick_hsv(rng, (0.08, 0.6), (0.0, 0.12), (0.85, 0.97))
    b(x - w / 2, x + w / 2, 0.35, 0.55, zb + 0.02, zb + length - 0.1, sheet, tex=0.15)
    for s in (-1, 1) if w > 1.3 else (0,):
        c = room.project(x + s * w * 0.24, 0.62, zb + length - 0.35)
        sw = w * 0.2 * room.focal / (zb + length - 0.35)
        cv.paint(ellipse(c[0], c[1], sw, sw * 0.4), sheet * 1.03, SUBJECT, tex=0.1)
    blanket = pick_hsv(rng, (0, 1), (0.2, 0.7), (0.3, 0.8))
    b(
        x - w / 2 - 0.03,
        x + w / 2 + 0.03,
        0.25,
        0.58,
        zb - 0.02,
        zb + length * 0.6,
        blanket,
        tex=0.3,
    )


def _kitchen(
    room: Room, rng: np.random.Generator, item: str, x: float, z: float, m: Materials
) -> None:
    """A run of kitchen counters and wall cupboards along the back wall."""
    cv = room.cv
    b = room.box
    wood, light = m.wood, m.light
    w = room.width - 0.2
    zc = room.depth - 0.62
    b(
        0.1,
        0.1 + w,
        0.0,
        0.88,
        zc,
        room.depth,
        wood * 0.9 if rng.random() < 0.5 else light,
        tex=0.1,
    )
    counter = pick_hsv(rng, (0, 1), (0.0, 0.1), (0.15, 0.9))
    b(0.08, 0.12 + w, 0.88, 0.92, zc - 0.02, room.depth, counter, tex=0.3)
    doors = max(2, int(w / 0.6))
    for k in range(doors):
        dx = 0.1 + w * k / doors
        cv.paint(
            room.front(dx + 0.02, dx + w / doors - 0.02, 0.08, 0.84, zc - 0.002),
            light * 0.98,
            SUBJECT,
            tex=0.1,
        )
    upper = pick_hsv(rng, (0, 1), (0.0, 0.4), (0.4, 0.95))
    for k in range(doors):
        dx = 0.1 + w * k / doors
        if abs(dx + w / doors / 2 - room.width / 2) < 0.6 and rng.random() < 0.5:
            continue
        b(dx, dx + w / doors - 0.02, 1.5, 2.2, room.depth - 0.35, room.depth, upper, tex=0.1)
    b(
        room.width / 2 - 0.3,
        room.width / 2 + 0.3,
        0.92,
        0.97,
        zc + 0.1,
        zc + 0.5,
        hsv(0, 0, 0.7),
    )  # sink


def _bathtub(
    room: Room, rng: np.random.Generator, item: str, x: float, z: float, m: Materials
) -> None:
    """A bathtub filled with water against the back wall."""
    cv = room.cv
    b = room.box
    light = m.light
    w = 1.7
    zb = room.depth - 0.8
    x = min(max(x, w / 2 + 0.05), room.width - w / 2 - 0.05)
    b(x - w / 2, x + w / 2, 0.0, 0.55, zb, room.depth - 0.02, light, tex=0.05)
    if room.cam_h > 0.6:
        water = pick_hsv(rng, (0.48, 0.56), (0.2, 0.45), (0.65, 0.9))
        cv.paint(
            room.quad(
                [
                    (x - w / 2 + 0.08, 0.5, zb + 0.08),
                    (x + w / 2 - 0.08, 0.5, zb + 0.08),
                    (x + w / 2 - 0.08, 0.5, room.depth - 0.1),
                    (x - w / 2 + 0.08, 0.5, room.depth - 0.1),
                ]
            ),
            water,
            WATER,
            tex=0.2,
        )
    b(
        x + w / 2 - 0.2,
        x + w / 2 - 0.15,
        0.55,
        1.0,
        room.depth - 0.1,
        room.depth - 0.05,
        hsv(0, 0, 0.7),
    )


def _easel(
    room: Room, rng: np.random.Generator, item: str, x: float, z: float, m: Materials
) -> None:
    """A painter's easel holding a canvas."""
    cv = room.cv
    b = room.box
    wood = m.wood
    canvas_w = rng.uniform(0.6, 1.0)
    cv.paint(
        room.quad(
            [
                (x - 0.3, 0, z + 0.2),
                (x - 0.25, 0, z + 0.2),
                (x + 0.02, 1.7, z + 0.2),
                (x - 0.02, 1.7, z + 0.2),
            ]
        )
        | room.quad(
            [
                (x + 0.3, 0, z + 0.2),
                (x + 0.25, 0, z + 0.2),
                (x - 0.02, 1.7, z + 0.2),
                (x + 0.02, 1.7, z + 0.2),
            ]
        ),
        wood,
        SUBJECT,
    )
    y0, y1 = 0.8, 0.8 + canvas_w * 0.8
    b(x - canvas_w / 2, x + canvas_w / 2, y0, y1, z, z + 0.03, hsv(0.1, 0.05, 0.95), tex=0.0)
    _abstract(
        room,
        rng,
        x - canvas_w / 2 + 0.05,
        x + canvas_w / 2 - 0.05,
        y0 + 0.05,
        y1 - 0.05,
        z - 0.001,
    )
    b(x - canvas_w / 2 - 0.05, x + canvas_w / 2 + 0.05, 0.76, 0.8, z, z + 0.1, wood)


def _canvases(
    room: Room, rng: np.random.Generator, item: str, x: float, z: float, m: Materials
) -> None:
    """Blank canvases leaning against each other."""
    b = room.box
    for k in range(rng.integers(2, 4)):
        cw, ch = rng.uniform(0.4, 0.9), rng.uniform(0.4, 0.9)
        cx = x + (k - 1) * 0.15
        b(
            cx - cw / 2,
            cx + cw / 2,
            0.0,
            ch,
            z + 0.1 * k,
            z + 0.1 * k + 0.03,
            hsv(0.1, 0.05, 0.92) * rng.uniform(0.85, 1.0),
            tex=0.1,
        )


def _stool(
    room: Room, rng: np.random.Generator, item: str, x: float, z: float, m: Materials
) -> None:
    """A stool."""
    b = room.box
    wood = m.wood
    b(x - 0.2, x + 0.2, 0.6, 0.66, z, z + 0.4, wood)
    for lx in (x - 0.18, x + 0.14):
        b(lx, lx + 0.04, 0.0, 0.6, z + 0.02, z + 0.06, wood * 0.7)


def _cushions(
    room: Room, rng: np.random.Generator, item: str, x: float, z: float, m: Materials
) -> None:
    """Floor cushions on a mat."""
    cv = room.cv
    mat = pick_hsv(rng, (0, 1), (0.2, 0.6), (0.35, 0.8))
    cv.paint(
        room.quad(
            [
                (x - 1.0, 0.01, z - 0.2),
                (x + 1.0, 0.01, z - 0.2),
                (x + 1.0, 0.01, z + 1.2),
                (x - 1.0, 0.01, z + 1.2),
            ]
        ),
        mat,
        GROUND,
        tex=0.3,
    )
    for k in range(rng.integers(1, 4)):
        cx = x + (k - 1) * 0.7
        c = room.project(cx, 0.12, z + 0.5)
        s = room.focal / (z + 0.5)
        cv.paint(
            ellipse(c[0], c[1], 0.3 * s, 0.12 * s),
            shaded(
                pick_hsv(rng, (0, 1), (0.3, 0.8), (0.3, 0.8)),
                c[0],
                c[1] - 0.1 * s,
                0.3 * s,
                room.light_side,
                0.3,
            ),
            SUBJECT,
            tex=0.2,
        )


def _candles(
    room: Room, rng: np.random.Generator, item: str, x: float, z: float, m: Materials
) -> None:
    """A few candles on the floor."""
    cv = room.cv
    b = room.box
    for k in range(rng.integers(2, 5)):
        cx = x + k * 0.12
        ch = rng.uniform(0.1, 0.3)
        b(cx - 0.03, cx + 0.03, 0.0, ch, z, z + 0.06, hsv(0.12, 0.1, 0.95), tex=0.0)
        c = room.project(cx, ch + 0.03, z + 0.03)
        s = room.focal / z
        cv.paint(ellipse(c[0], c[1], 0.012 * s, 0.03 * s), hsv(0.1, 0.7, 1.0), SUBJECT)


def _screen(
    room: Room, rng: np.random.Generator, item: str, x: float, z: float, m: Materials
) -> None:
    """A three-panel paper screen."""
    cv = room.cv
    b = room.box
    wood = m.wood
    w, h = rng.uniform(1.2, 1.8), 1.7
    paper = hsv(0.12, 0.08, 0.93)
    for k in range(3):
        px0 = x - w / 2 + w * k / 3
        b(px0, px0 + w / 3 - 0.02, 0.0, h, z, z + 0.04, wood * 0.6, tex=0.0)
        cv.paint(
            room.front(px0 + 0.04, px0 + w / 3 - 0.06, 0.06, h - 0.06, z - 0.001),
            paper,
            SUBJECT,
            tex=0.2,
        )


_FURNITURE: dict[str, Callable[..., None]] = {
    "sofa": _sofa,
    "armchair": _armchair,
    "coffee_table": _table,
    "low_table": _table,
    "dining_table": _table,
    "desk": _table,
    "bookshelf": _cabinet,
    "bookshelf_wall": _cabinet,
    "cabinet": _cabinet,
    "wardrobe": _cabinet,
    "sideboard": _cabinet,
    "nightstand": _cabinet,
    "fridge": _cabinet,
    "vanity": _cabinet,
    "bed": _bed,
    "kitchen": _kitchen,
    "bathtub": _bathtub,
    "easel": _easel,
    "canvases": _canvases,
    "stool": _stool,
    "cushions": _cushions,
    "candles": _candles,
    "screen": _screen,
}


def _furniture(room: Room, rng: np.random.Generator, item: str, x: float, z: float) -> None:
    """Draw ``item`` with its centre-front at floor position (x, z) metres."""
    m = Materials(
        fabric=pick_hsv(rng, (0, 1), (0.1, 0.7), (0.25, 0.85)),
        wood=pick_hsv(rng, (0.05, 0.1), (0.3, 0.7), (0.2, 0.65)),
        dark=hsv(0, 0, rng.uniform(0.08, 0.2)),
        light=pick_hsv(rng, (0.08, 0.14), (0.0, 0.1), (0.85, 0.97)),
    )
    _FURNITURE[item](room, rng, item, x, z, m)


def _lamp(
    room: Room, rng: np.random.Generator, x: float, y: float, z: float, table: bool = False
) -> None:
    cv = room.cv
    metal = hsv(0, 0, rng.uniform(0.1, 0.7))
    shade_col = pick_hsv(rng, (0.08, 0.14), (0.05, 0.4), (0.8, 0.97))
    height = 0.45 if table else rng.uniform(1.4, 1.8)
    base = room.project(x, y, z)
    top = room.project(x, y + height, z)
    s = room.focal / z
    cv.paint(
        capsule(base[0], base[1], top[0], top[1], max(0.015 * s, cv.px * 0.4))
        | ellipse(base[0], base[1], 0.12 * s * (0.6 if table else 1), 0.03 * s),
        metal,
        SUBJECT,
    )
    r0, r1, sh = (0.12, 0.18, 0.22) if table else (0.15, 0.25, 0.3)
    cv.paint(
        polygon(
            [
                (top[0] - r0 * s, top[1] - sh * s * 0.6),
                (top[0] + r0 * s, top[1] - sh * s * 0.6),
                (top[0] + r1 * s, top[1] + sh * s * 0.4),
                (top[0] - r1 * s, top[1] + sh * s * 0.4),
            ]
        ),
        vgradient(shade_col, shade_col * 1.1, top[1] - sh * s, top[1] + sh * s),
        SUBJECT,
        tex=0.1,
    )
    cv.multiply(ellipse(top[0], top[1], 0.8 * s, 0.6 * s), 1.12, soft=20.0 * s * 0.1 / cv.px)


def _abstract(
    room: Room, rng: np.random.Generator, x0: float, x1: float, y0: float, y1: float, z: float
) -> None:
    """A small abstract or landscape picture (subject class) on a fronto-parallel surface."""
    cv = room.cv
    face = room.front(x0, x1, y0, y1, z)
    bx0, by0, bx1, by1 = face.box
    a, b_ = (
        pick_hsv(rng, (0, 1), (0.2, 0.7), (0.4, 0.9)),
        pick_hsv(rng, (0, 1), (0.2, 0.7), (0.2, 0.8)),
    )
    cv.paint(face, vgradient(a, b_, by0, by1), SUBJECT, tex=0.3)
    for _ in range(rng.integers(1, 4)):
        cx, cy = rng.uniform(bx0, bx1), rng.uniform(by0, by1)
        r = rng.uniform(0.1, 0.35) * (bx1 - bx0)
        blob = Shape(
            lambda X, Y, cx=cx, cy=cy, r=r: np.maximum(
                np.sqrt((X - cx) ** 2 + (Y - cy) ** 2) - r, face.sdf(X, Y)
            ),
            face.box,
        )
        cv.paint(blob, pick_hsv(rng, (0, 1), (0.3, 0.9), (0.3, 0.95)), SUBJECT, tex=0.2)


def _interior(cv: Canvas, rng: np.random.Generator) -> str:
    theme_name = list(THEMES)[rng.integers(len(THEMES))]
    theme = THEMES[theme_name]
    width = rng.uniform(3.5, 7.0)
    height = rng.uniform(2.5, 3.4)
    depth = rng.uniform(3.5, 7.0)
    cam_h = rng.uniform(1.0, 1.6)
    focal = rng.uniform(0.65, 1.05)
    room = Room(
        cv=cv,
        width=width,
        height=height,
        depth=depth,
        cam_x=width * rng.uniform(0.3, 0.7),
        cam_h=cam_h,
        focal=focal,
        vx=cv.aw * rng.uniform(0.4, 0.6),
        vy=rng.uniform(0.4, 0.55),
        light_side=1.0 if rng.random() < 0.5 else -1.0,
    )
    wall = pick_hsv(rng, *_WALLS[theme.walls[rng.integers(len(theme.walls))]])
    finish = theme.wall_finish if rng.random() < 0.85 else "paint"
    if finish == "paint":
        finish = rng.choice(["paint", "paint", "paint", "paper", "panels"])
    accent = finish in ("brick", "tiles") and rng.random() < 0.5
    side_l = wall * (0.88 if room.light_side > 0 else 1.0)
    side_r = wall * (0.88 if room.light_side < 0 else 1.0)
    ceiling = mix(wall, hsv(0.1, 0.02, 0.95), 0.6)
    d = depth
    cv.rgb[:] = ceiling * 0.92
    cv.paint(
        room.quad([(0, height, d), (width, height, d), (width, height, 0.06), (0, height, 0.06)]),
        vgradient(ceiling * 0.8, ceiling, 0.0, room.project(0, height, d)[1]),
        BUILDINGS,
        tex=0.05,
    )
    far_finish = finish if not accent else "paint"
    cv.paint(
        room.quad([(0, 0, d), (0, height, d), (0, height, 0.06), (0, 0, 0.06)]),
        _wall_colour(room, rng, side_l, far_finish, "left"),
        BUILDINGS,
        tex=0.08,
    )
    cv.paint(
        room.quad([(width, 0, d), (width, height, d), (width, height, 0.06), (width, 0, 0.06)]),
        _wall_colour(room, rng, side_r, far_finish, "right"),
        BUILDINGS,
        tex=0.08,
    )
    cv.paint(
        room.quad([(0, 0, d), (width, 0, d), (width, height, d), (0, height, d)]),
        _wall_colour(room, rng, wall, finish, "back"),
        BUILDINGS,
        tex=0.08,
    )
    _floor(room, rng, theme.floors[rng.integers(len(theme.floors))])
    trim = wall * 0.7 if rng.random() < 0.5 else hsv(0.1, 0.03, 0.95)
    for x0, x1, z0, z1 in (
        (0, width, d - 0.001, d - 0.001),
        (0.001, 0.001, 0.06, d),
        (width - 0.001, width - 0.001, 0.06, d),
    ):
        cv.paint(
            room.quad([(x0, 0, z0), (x1, 0, z1), (x1, 0.1, z1), (x0, 0.1, z0)]), trim, BUILDINGS
        )
    # Window: on the back wall, a side wall, or none.
    big = theme_name in ("loft", "studio") and rng.random() < 0.7
    where = rng.choice(["back", "left", "right", "none"], p=[0.55, 0.17, 0.17, 0.11])
    if where != "none":
        _room_window(room, rng, str(where), big)
    # Furniture: the theme's main piece, then extras in free slots, far to near.
    slots = [
        ("back_left", width * 0.18, d - 0.55),
        ("back_right", width * 0.82, d - 0.55),
        ("mid_left", width * 0.12, d * 0.62),
        ("mid_right", width * 0.88, d * 0.62),
        ("front_centre", room.cam_x + rng.uniform(-0.5, 0.5), d * 0.5),
    ]
    rng.shuffle(slots)
    main_x = width * rng.uniform(0.35, 0.65)
    placed: list[tuple[float, str, float]] = []
    main_z = {
        "sofa": d - 1.0,
        "bed": d - 2.2,
        "desk": d - 0.8,
        "dining_table": d * 0.55,
        "easel": d * 0.6,
        "cushions": d * 0.55,
        "bookshelf_wall": d - 0.36,
        "kitchen": d,
        "bathtub": d,
    }[theme.main]
    if theme.main == "bookshelf_wall":
        main_x = width / 2
    placed.append((main_z, theme.main, main_x))
    extras = list(theme.extras)
    rng.shuffle(extras)
    for item in extras[: rng.integers(2, len(extras) + 1)]:
        if item in ("painting", "mirror", "pendant", "rug"):
            placed.append((d if item in ("painting", "mirror") else 0.0, item, 0.0))
            continue
        if not slots:
            continue
        _, sx, sz = slots.pop()
        if item in ("bookshelf", "wardrobe", "fridge", "sideboard", "cabinet", "vanity"):
            sz = d - 0.66
        placed.append((sz, item, sx))
    order = sorted(
        placed, key=lambda p: (p[1] not in ("rug",), p[1] not in ("painting", "mirror"), -p[0])
    )
    for z, item, x in order:
        if item == "rug":
            rz = d * rng.uniform(0.35, 0.6)
            rw = rng.uniform(1.4, 2.6)
            col = pick_hsv(rng, (0, 1), (0.2, 0.7), (0.3, 0.8))
            cv.paint(
                room.quad(
                    [
                        (main_x - rw / 2, 0.005, rz - 0.8),
                        (main_x + rw / 2, 0.005, rz - 0.8),
                        (main_x + rw / 2, 0.005, rz + 1.0),
                        (main_x - rw / 2, 0.005, rz + 1.0),
                    ]
                ),
                col,
                GROUND,
                tex=0.4,
            )
        elif item in ("painting", "mirror"):
            if theme.main in ("bookshelf_wall", "kitchen"):
                continue
            pw, ph = rng.uniform(0.5, 1.2), rng.uniform(0.4, 0.9)
            px_ = rng.uniform(0.25, 0.75) * width
            py = rng.uniform(1.3, 1.6)
            frame = pick_hsv(rng, (0.05, 0.12), (0.0, 0.6), (0.1, 0.9))
            cv.paint(room.front(px_ - pw / 2, px_ + pw / 2, py, py + ph, d - 0.01), frame, SUBJECT)
            if item == "mirror":
                cv.paint(
                    room.front(
                        px_ - pw / 2 + 0.04,
                        px_ + pw / 2 - 0.04,
                        py + 0.04,
                        py + ph - 0.04,
                        d - 0.011,
                    ),
                    vgradient(
                        hsv(0.55, 0.1, 0.85),
                        hsv(0.55, 0.15, 0.6),
                        room.project(0, py + ph, d)[1],
                        room.project(0, py, d)[1],
                    ),
                    SUBJECT,
                )
            else:
                _abstract(
                    room,
                    rng,
                    px_ - pw / 2 + 0.04,
                    px_ + pw / 2 - 0.04,
                    py + 0.04,
                    py + ph - 0.04,
                    d - 0.011,
                )
        elif item == "pendant":
            for k in range(rng.integers(1, 4)):
                lx = main_x + (k - 1) * 0.6
                lz = max(main_z, 1.5) + 0.4
                top = room.project(lx, height, lz)
                bottom = room.project(lx, height - rng.uniform(0.5, 1.0), lz)
                s = room.focal / lz
                cv.paint(
                    capsule(*top, *bottom, max(0.008 * s, cv.px * 0.3)), hsv(0, 0, 0.15), SUBJECT
                )
                col = pick_hsv(rng, (0, 1), (0.0, 0.5), (0.1, 0.95))
                cv.paint(
                    polygon(
                        [
                            (bottom[0] - 0.06 * s, bottom[1]),
                            (bottom[0] + 0.06 * s, bottom[1]),
                            (bottom[0] + 0.2 * s, bottom[1] + 0.18 * s),
                            (bottom[0] - 0.2 * s, bottom[1] + 0.18 * s),
                        ]
                    ),
                    col,
                    SUBJECT,
                    tex=0.1,
                )
                cv.paint(
                    ellipse(bottom[0], bottom[1] + 0.18 * s, 0.12 * s, 0.03 * s),
                    hsv(0.12, 0.3, 1.0),
                    SUBJECT,
                )
        elif item == "plant":
            _plant(room, rng, min(max(x, 0.3), width - 0.3), z, rng.uniform(0.6, 1.1))
        elif item == "floor_lamp":
            _lamp(room, rng, min(max(x, 0.3), width - 0.3), 0.0, z)
        elif item == "fridge" and theme.main == "kitchen":
            continue
        else:
            _furniture(room, rng, item, min(max(x, 0.7), width - 0.7), z)
    # Daylight falls off across the room, away from the window side.
    xs = (cv.xs - cv.aw / 2) / cv.aw
    cv.rgb *= (1.0 + 0.12 * room.light_side * xs) * rng.uniform(0.95, 1.08)
    return theme_name


# --------------------------------------------------------------------------------------------
# Public entry points


def render_scene(
    kind: str, seed: int, index: int, size: int | tuple[int, int]
) -> tuple[Array, Array]:
    """One procedural scene.

    Args:
        kind: ``"outdoor"`` or ``"interior"``.
        seed, index: the scene is a pure function of ``(kind, seed, index)``; ``size`` only
            changes its resolution.
        size: an int (square) or ``(H, W)``, each side in [16, 4096].

    Returns:
        ``(rgb, labels)``: ``(3, H, W)`` float32 in [0, 1] and ``(H, W)`` int8 class indices into
        ``MASK_NAMES``.
    """
    if kind not in KINDS:
        raise ValueError(f"procedural kind must be one of {KINDS}, got {kind!r}")
    h, w = check_size(size)
    rng = np.random.default_rng([int(seed) & (2**63 - 1), int(index), _KIND_TAG[kind]])
    cv = Canvas(h, w, rng, SKY if kind == "outdoor" else BUILDINGS)
    (_outdoor if kind == "outdoor" else _interior)(cv, rng)
    return np.clip(cv.rgb, 0.0, 1.0, out=cv.rgb), cv.label


def scene_kind(seed: int, index: int) -> str:
    """The kind (outdoor or interior, 50/50) of image ``index`` of the mixed procedural source."""
    return KINDS[
        int(
            np.random.default_rng(
                [int(seed) & (2**63 - 1), int(index), _KIND_TAG["choice"]]
            ).integers(2)
        )
    ]


def procedural_batch(
    kind: str,
    seed: int,
    indices: range | list[int],
    size: int | tuple[int, int],
    device: str | torch.device = "cpu",
) -> ImageBatch:
    """Procedural scenes ``indices`` as an :class:`ImageBatch`.

    ``kind`` is ``"outdoor"``, ``"interior"`` or ``"mixed"`` (each index picks one, 50/50).
    Image names are ``"procedural:{kind}:{seed}:{index}"``.
    """
    rgbs, labels, names, kinds = [], [], [], []
    for i in indices:
        k = scene_kind(seed, i) if kind == "mixed" else kind
        rgb, label = render_scene(k, seed, i, size)
        rgbs.append(rgb)
        labels.append(label)
        names.append(f"procedural:{k}:{seed}:{i}")
        kinds.append(k)
    pixels = torch.from_numpy(np.stack(rgbs))
    masks = labels_to_masks(torch.from_numpy(np.stack(labels)))
    return ImageBatch(
        pixels.to(device),
        masks.to(device),
        torch.ones(len(names), dtype=torch.bool, device=device),
        tuple(names),
        tuple(kinds),
    )
