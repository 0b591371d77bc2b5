"""Outdoor scenes: sky, mountains, ground, water, trees, buildings and foreground subjects on a
ground plane seen by a pinhole camera (see the package docstring)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .drawing import (
    BUILDINGS,
    GROUND,
    SKY,
    SUBJECT,
    VEGETATION,
    WATER,
    Array,
    Canvas,
    Shape,
    below,
    capsule,
    circle,
    ellipse,
    fbm,
    hsv,
    mix,
    noise_1d,
    pick_hsv,
    polygon,
    rect,
    ring,
    shaded,
    vgradient,
)

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
