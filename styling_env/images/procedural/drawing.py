"""Drawing primitives of the procedural scenes: value noise, signed-distance shapes, colours
and the :class:`Canvas` that paints them with anti-aliased edges and class labels."""

from __future__ import annotations

import colorsys
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

SKY, GROUND, VEGETATION, WATER, BUILDINGS, SUBJECT = range(6)

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
