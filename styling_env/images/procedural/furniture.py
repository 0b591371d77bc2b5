"""Interior scenes, the furniture: 3-D boxes and props placed in a :class:`~.rooms.Room`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .drawing import (
    GROUND,
    SUBJECT,
    VEGETATION,
    WATER,
    Array,
    Shape,
    capsule,
    circle,
    ellipse,
    hsv,
    mix,
    pick_hsv,
    polygon,
    rect,
    shaded,
    vgradient,
)
from .rooms import Room


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
