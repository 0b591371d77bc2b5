"""Procedural scenes stay the same pixels: fingerprints recorded before the module was split.

The fingerprint is the SHA-256 of the scene as the env shows it (``round(rgb * 255)`` as uint8)
followed by its int8 label map, so a change of drawing code, draw order or random draws fails
here, while a last-bit difference of float32 maths between CPUs does not.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from styling_env import make_images
from styling_env.images.procedural import render_scene

SCENES = [
    ("outdoor", 0, 0, 64, "7331aa5e0f13bfc4"),
    ("outdoor", 1, 3, (48, 80), "096bb150d99ce553"),
    ("outdoor", 7, 11, 128, "ebccc22a8ca59970"),
    ("outdoor", 123456789, 2, 96, "75c6b90aa85888f9"),
    ("outdoor", 5, 40, (80, 48), "e76e0542677babf6"),
    ("interior", 0, 0, 64, "eb0659e956392ef8"),
    ("interior", 1, 3, (48, 80), "c01913305276f116"),
    ("interior", 7, 11, 128, "3f73a79f12189365"),
    ("interior", 123456789, 2, 96, "3df763ef5e3feee0"),
    ("interior", 5, 40, (80, 48), "79fcbf53ea3fb467"),
]

BATCHES = [
    ("procedural", "ec0cb12357b3cc5f"),
    ("procedural:outdoor", "32a5875a37f3777a"),
    ("procedural:interior", "e64d9810f24b45ff"),
]


def _fingerprint(rgb: np.ndarray, labels: np.ndarray) -> str:
    q = np.round(rgb * 255).astype(np.uint8)
    return hashlib.sha256(q.tobytes() + labels.tobytes()).hexdigest()[:16]


@pytest.mark.parametrize(("kind", "seed", "index", "size", "expected"), SCENES)
def test_render_scene_is_unchanged(kind, seed, index, size, expected) -> None:
    rgb, labels = render_scene(kind, seed, index, size)
    assert _fingerprint(rgb, labels) == expected


@pytest.mark.parametrize(("source", "expected"), BATCHES)
def test_make_images_procedural_is_unchanged(source, expected) -> None:
    b = make_images(source, 4, 64, seed=3)
    assert _fingerprint(b.pixels.numpy(), b.masks.numpy().astype(np.uint8)) == expected
