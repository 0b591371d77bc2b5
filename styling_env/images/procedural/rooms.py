"""Interior scenes, the room: a box room in one-point perspective, its themes, floor, walls and
windows (see the package docstring)."""

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
    Array,
    Canvas,
    Shape,
    hsv,
    mix,
    noise_1d,
    pick_hsv,
    polygon,
    rect,
    vgradient,
)
from .outdoor import _sky_palette

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
