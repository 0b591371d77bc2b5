"""The shape of the styling_env package: module sizes and the import paths others rely on."""

from __future__ import annotations

from pathlib import Path

import pytest

import styling_env

ROOT = Path(styling_env.__file__).parent
#: Pure data tables, exempt from the size limit.
DATA_TABLES = {"lexicon.py", "tools/recipes.py"}


def test_no_module_over_1200_lines_except_data_tables():
    sizes = {
        p.relative_to(ROOT).as_posix(): len(p.read_text().splitlines()) for p in ROOT.rglob("*.py")
    }
    assert "images/procedural/__init__.py" in sizes
    too_big = {k: n for k, n in sizes.items() if n > 1200 and k not in DATA_TABLES}
    assert not too_big


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
