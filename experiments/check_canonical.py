"""Regenerate canonical datasets end to end and compare them with ``offline_data/canonical.json``.

    python -m experiments.check_canonical --tiers simple            # check one tier (~5-10 min)
    python -m experiments.check_canonical --write                   # record all three anew

The maintainer's check before a release: each tier's canonical recipe (10,000 episodes, seed 0,
128 px, the noisy-oracle teacher with the tier's profile, this code's judge) is generated into
a scratch datasets folder and its checksum compared with the recorded one. ``--write`` records
the checksums, statistics, format and judge versions, the code version and the platform that
produced them (run it after a deliberate change of the content, see ``tests/test_canonical.py``),
and every episode's digest in ``offline_data/canonical_digests/``. Exit status 1 when a checked
tier differs; where its published digests are there, the check also says how many episodes
differ (a few: floats rounded the other way on another CPU or thread count; many: another
recipe or code).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from offline_data.dataset import (
    FORMAT_VERSION,
    META_KEY,
    Recipe,
    code_version,
    datasets_path,
    platform_info,
)
from offline_data.remote import CANONICAL, CANONICAL_FILE
from offline_data.teachers import NoiseProfile
from styling_env.judge import JUDGE_VERSION

from .records import differ_from, write_sample

TIERS = ("simple", "regular", "complex")
#: Every episode's digest of the published datasets (``experiments.records.write_sample``),
#: beside ``canonical.json``: a machine that generates another checksum learns by how much.
DIGESTS = CANONICAL_FILE.parent / "canonical_digests"
HOW_FAR = (
    "a few (tens in 10,000) are floats rounded the other way on another CPU or thread count, "
    "a valid sample of the recipe (a benchmark pools such samples with --other-samples); "
    "many mean another recipe or code"
)


def digests_file(did: str) -> Path:
    """The published episode digests of ``did`` (exists for the tiers recorded with them)."""
    return DIGESTS / f"{did.replace('/', '--')}.digests.xz"


def canonical_recipe(tier: str) -> Recipe:
    """The canonical recipe of ``tier`` with this code's versions and the tier's noise profile."""
    base = Recipe.from_dict(CANONICAL[f"image-styling/{tier}-v0"]["recipe"])
    return Recipe(
        tier=tier, episodes=base.episodes, seed=base.seed, image_size=base.image_size,
        max_steps=base.max_steps, teacher="noisy-oracle",
        profile=NoiseProfile.for_tier(tier).to_dict(), per_task=base.per_task,
        format_version=FORMAT_VERSION, judge_version=JUDGE_VERSION,
    )  # fmt: skip


def regenerate(tier: str, root: Path, num_envs: int = 64) -> dict[str, object]:
    """Generate ``tier``'s canonical recipe under ``root``; its record entry."""
    from offline_data.generate import generate

    recipe = canonical_recipe(tier)
    t0 = time.perf_counter()
    with datasets_path(root):
        path = generate(
            tier, recipe.episodes, recipe.seed, image_size=recipe.image_size,
            max_steps=recipe.max_steps, profile=NoiseProfile.for_tier(tier),
            did=f"image-styling/{tier}-v0", num_envs=num_envs, per_task=recipe.per_task,
            progress=sys.stderr.isatty(),
        )  # fmt: skip
    meta = json.loads((path / "data" / "metadata.json").read_text())[META_KEY]
    steps = json.loads((path / "data" / "metadata.json").read_text()).get("total_steps")
    return {
        "recipe": recipe.to_dict(),
        "checksum": meta["checksum"],
        "format_version": FORMAT_VERSION,
        "judge_version": JUDGE_VERSION,
        "code_version": code_version(),
        "platform": platform_info(),
        "generate": {"num_envs": num_envs},
        "episodes": meta["episodes"],
        "steps": steps,
        "r_mean": meta["r_mean"],
        "share_r_ge_4": meta["share_r_ge_4"],
        "seconds": round(time.perf_counter() - t0, 1),
    }


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m experiments.check_canonical", description=__doc__.splitlines()[0]
    )
    p.add_argument("--tiers", nargs="+", choices=TIERS, default=list(TIERS))
    p.add_argument("--write", action="store_true", help="record the results in canonical.json")
    p.add_argument("--num-envs", type=int, default=64, help="vector env width (content-neutral)")
    p.add_argument("--keep", default=None, help="generate here instead of a scratch folder")
    args = p.parse_args(argv)
    recorded = json.loads(CANONICAL_FILE.read_text()) if CANONICAL_FILE.exists() else {}
    differ = []
    with tempfile.TemporaryDirectory(prefix="canonical-") as scratch:
        root = Path(args.keep or scratch)
        for tier in args.tiers:
            did = f"image-styling/{tier}-v0"
            entry = regenerate(tier, root, args.num_envs)
            old = recorded.get(did, {})
            same = old.get("checksum") == entry["checksum"]
            print(
                f"{did}: {entry['checksum'][:16]}... in {entry['seconds']:.0f} s, "
                f"r mean {entry['r_mean']}, share r >= 4.0 {entry['share_r_ge_4']}: "
                + ("matches the record" if same else f"record {str(old.get('checksum'))[:16]}...")
            )
            if not same:
                differ.append(did)
                if digests_file(did).exists():  # how far from the published episodes
                    with datasets_path(root):
                        d = differ_from(did, digests_file(did))
                    if d["checksum"] == old.get("checksum"):  # digests of the recorded content
                        print(f"  {d['differ']} of {d['episodes']} episodes differ from the "
                              f"published dataset's: {HOW_FAR}")  # fmt: skip
            if args.write:
                entry.pop("seconds")
                recorded[did] = entry
                CANONICAL_FILE.write_text(json.dumps(recorded, indent=2) + "\n")
                with datasets_path(root):
                    write_sample(did, digests_file(did))
    if args.write:
        print(f"recorded {', '.join(args.tiers)} in {CANONICAL_FILE}")
        return 0
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
