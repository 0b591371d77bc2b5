"""The canonical datasets: their recipes, and the checksums recorded for them.

:data:`CANONICAL` holds the paper's three tiers at full scale; :data:`CANONICAL_FILE`
(``canonical.json``, written by ``python -m experiments.check_canonical --write``) records what
generating them gave (checksum, format and judge versions, code version, platform).
:func:`canonical_recipes` merges both, plus :data:`EXTRA_RECIPES`. Generation warns when a
canonical id gets another recipe; :mod:`offline_data.remote` checks downloads against the
recorded checksums and regenerates from the recipes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .dataset import CANONICAL_EPISODES, DatasetError, Recipe, dataset_id

#: The torch thread count the canonical checksums were generated at (in one process): float
#: sums round differently at another count, and a few episodes take another branch.
CANONICAL_THREADS = 2

#: Where the canonical checksums are recorded (filled after the full-scale generation runs).
CANONICAL_FILE = Path(__file__).with_name("canonical.json")

#: The canonical datasets: the paper's three tiers at full scale, seed 0, 128 px. Their
#: checksums come from :data:`CANONICAL_FILE` (``None`` until recorded).
CANONICAL: dict[str, dict[str, Any]] = {
    dataset_id(tier): {
        "recipe": Recipe(tier, CANONICAL_EPISODES, 0, 128).to_dict(),
        "checksum": None,
    }
    for tier in ("simple", "regular", "complex")
}

#: Extra recipes (same shape as :data:`CANONICAL` entries; tests register tiny ones here). An
#: entry may also hold ``"generate"``: keyword arguments for :func:`generate.generate` that do not
#: change the content (``ref_episodes``, ``num_envs``).
EXTRA_RECIPES: dict[str, dict[str, Any]] = {}


def canonical_recipes() -> dict[str, dict[str, Any]]:
    """``id -> {"recipe": Recipe dict, "checksum": str | None, ...}``: the built-in canonical
    recipes, updated from :data:`CANONICAL_FILE` when it exists, then :data:`EXTRA_RECIPES`."""
    out = {k: {**v, "recipe": dict(v["recipe"])} for k, v in CANONICAL.items()}
    if CANONICAL_FILE.exists():
        try:
            recorded = json.loads(CANONICAL_FILE.read_text())
        except (OSError, ValueError) as e:
            raise DatasetError(f"{CANONICAL_FILE} is not valid JSON ({e}); fix or delete it") from e
        if not isinstance(recorded, dict):
            raise DatasetError(f"{CANONICAL_FILE} must hold a JSON object id -> entry")
        for did, entry in recorded.items():
            if isinstance(entry, dict):
                out[did] = {**out.get(did, {}), **entry}
    for did, entry in EXTRA_RECIPES.items():
        out[did] = {**out.get(did, {}), **entry}
    return out
