"""Interior scenes: one themed room composed of its walls, windows, furniture and light."""

from __future__ import annotations

import numpy as np

from .drawing import (
    BUILDINGS,
    GROUND,
    SUBJECT,
    Canvas,
    capsule,
    ellipse,
    hsv,
    mix,
    pick_hsv,
    polygon,
    vgradient,
)
from .furniture import _abstract, _furniture, _lamp, _plant
from .rooms import _WALLS, THEMES, Room, _floor, _room_window, _wall_colour


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
