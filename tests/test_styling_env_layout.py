"""The import paths others rely on in styling_env (module sizes and import circles:
tests/test_structure.py)."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    "name",
    ["SKY", "GROUND", "VEGETATION", "WATER", "BUILDINGS", "SUBJECT", "KINDS", "THEMES", "Canvas",
     "Shape", "Outdoor", "Room", "Theme", "Materials", "fbm", "noise_1d", "circle", "ellipse",
     "rect", "polygon", "ring", "capsule", "below", "hsv", "pick_hsv", "mix", "shaded",
     "vgradient", "grid_lines", "render_scene", "scene_kind", "procedural_batch", "_interior",
     "_outdoor"],
)  # fmt: skip
def test_procedural_names_keep_their_import_path(name):
    from styling_env.images import procedural

    assert hasattr(procedural, name)


def test_the_test_set_function_is_not_collected_by_pytest():
    from styling_env.tasks import test_tasks

    assert test_tasks.__test__ is False
