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

The modules: :mod:`.drawing` (noise, shapes, colours, the :class:`Canvas`), :mod:`.outdoor`
(landscapes), :mod:`.rooms` (the room, its themes, floor, walls, windows), :mod:`.furniture`
and :mod:`.interior` (a furnished room); this package holds the public entry points and
re-exports the drawing and scene names.
"""

from __future__ import annotations

import numpy as np
import torch

from ..batch import ImageBatch, check_size, labels_to_masks
from .drawing import (
    BUILDINGS,
    GROUND,
    SKY,
    SUBJECT,
    VEGETATION,
    WATER,
    Array,
    Canvas,
    Colour,
    Sdf,
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
from .furniture import Materials
from .interior import _interior
from .outdoor import Outdoor, _outdoor
from .rooms import THEMES, Room, Theme, grid_lines

KINDS = ("outdoor", "interior")
_KIND_TAG = {"outdoor": 11, "interior": 12, "choice": 13}


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


__all__ = [
    "Array",
    "BUILDINGS",
    "Canvas",
    "Colour",
    "GROUND",
    "KINDS",
    "Materials",
    "Outdoor",
    "Room",
    "SKY",
    "SUBJECT",
    "Sdf",
    "Shape",
    "THEMES",
    "Theme",
    "VEGETATION",
    "WATER",
    "below",
    "capsule",
    "circle",
    "ellipse",
    "fbm",
    "grid_lines",
    "hsv",
    "mix",
    "noise_1d",
    "pick_hsv",
    "polygon",
    "procedural_batch",
    "rect",
    "render_scene",
    "ring",
    "scene_kind",
    "shaded",
    "vgradient",
]
