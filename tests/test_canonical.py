"""The canonical record reproduces: a pinned checksum of a small canonical-style recipe.

Any change to what a dataset holds (the teachers, the oracle, the tools, the judge's plans,
the reasons, the stored fields) or to how its checksum is computed changes this checksum. When
this test fails, decide deliberately:

- a fix of an unintended change: restore the old content;
- an intended change: bump ``offline_data.dataset.FORMAT_VERSION`` (stored fields, digest) or
  the recipe (``judge_version``, the noise profile), regenerate the three canonical datasets and
  ``offline_data/canonical.json`` (``python -m experiments.check_canonical --write``), and pin
  the new checksum here.
"""

from __future__ import annotations

import json

import pytest

from offline_data.dataset import FORMAT_VERSION, META_KEY, Recipe
from offline_data.generate import generate
from offline_data.remote import CANONICAL_FILE, canonical_recipes
from styling_env.judge import JUDGE_VERSION

#: ``generate --tier simple --episodes 24 --seed 0 --image-size 64`` (noisy oracle, per task 2);
#: format version 2 (preserve in the actions, the fifth history column)
PINNED = {
    "simple": "aae7769165b76c9242da7b0902e959dc1d2c0025cf0be3c1261aeab3cedd697a",
}


@pytest.mark.parametrize("tier", sorted(PINNED))
def test_a_small_canonical_style_recipe_has_its_pinned_checksum(tier, minari_root):
    path = generate(
        tier, 24, 0, image_size=64, num_envs=8, ref_episodes=2, progress=False,
        did=f"pinned/{tier}-v0",
    )  # fmt: skip
    meta = json.loads((path / "data" / "metadata.json").read_text())[META_KEY]
    assert meta["format_version"] == FORMAT_VERSION and meta["judge_version"] == JUDGE_VERSION
    assert meta["checksum"] == PINNED[tier], (
        "the content or the digest of generated datasets changed: see this module's docstring"
    )


def test_the_canonical_record_matches_this_code():
    """canonical.json holds, per canonical id, either a full record written by this code's
    format and judge or no checksum at all (never a stale one that would blame the user's
    machine for the project's own change)."""
    recorded = json.loads(CANONICAL_FILE.read_text())
    assert sorted(recorded) == [f"image-styling/{t}-v0" for t in ("complex", "regular", "simple")]
    full = 0
    for did in recorded:
        entry = canonical_recipes()[did]
        recipe = Recipe.from_dict(entry["recipe"])
        if entry.get("checksum") is None:
            assert "not recorded" in entry.get("note", ""), did
            continue
        full += 1
        assert entry["format_version"] == FORMAT_VERSION == recipe.format_version, did
        assert entry["judge_version"] == JUDGE_VERSION == recipe.judge_version, did
        assert recipe.episodes == 10_000 and recipe.seed == 0 and recipe.image_size == 128
        assert len(entry["checksum"]) == 64 and entry["code_version"].startswith("0.")
        assert {"torch", "python", "machine"} <= set(entry["platform"])
        assert 0.6 <= entry["share_r_ge_4"] <= 0.7, (did, entry["share_r_ge_4"])
    assert full >= 1


#: Train requests of the canonical Complex tier (``task_id -> sha256 of its instruction``, as
#: recorded in the published dataset) whose misspellings were redrawn when the other libraries'
#: words joined the vocabulary a misspelling must avoid (7 of its 5,000 tasks; the tier's
#: checksum changed with them). Requests of the default library avoid its own words only.
CANONICAL_REQUESTS = {
    "complex-train-2103100603": "d7f2aa7b445aabf2",  # "... if the shoot is already well lit ..."
    "complex-train-1332016856": "f52f4b8c1717b1c8",  # "Ok here's the pan... a wetland ..."
    "complex-train-227831573": "1d6f8fab764f5ef7",  # "request: a seepy suburban morning ..."
    "complex-train-684947796": "1748a4b8dd833e97",
    "complex-train-2011839961": "9d74803bb983eb1b",
    "complex-train-307879259": "925c6d13513f42aa",
    "complex-train-1171945568": "0b107bacacc1d805",
}


def test_default_library_requests_are_written_as_recorded():
    import hashlib

    from styling_env import wording
    from styling_env.tasks import sample_task

    for task_id, digest in CANONICAL_REQUESTS.items():
        task = sample_task("complex", int(task_id.rsplit("-", 1)[1]), "train", "mix")
        assert task.task_id == task_id
        assert hashlib.sha256(task.instruction.encode()).hexdigest()[:16] == digest, task_id
    assert {"three", "pan", "shoot"} <= wording.lexicon_words("normal") - wording.lexicon_words()


def test_canonical_recipe_with_other_content_warns(minari_root, monkeypatch):
    """A canonical id generated with its canonical recipe but other content (another torch
    thread count) says so: results on it are not on the published dataset."""
    import warnings

    from offline_data import canonical as C
    from offline_data.generate import NonCanonicalWarning

    did = "image-styling/tinycanon-v0"
    entry = {"recipe": Recipe("simple", 4, 0, 32).to_dict(), "checksum": "0" * 64}
    monkeypatch.setitem(C.EXTRA_RECIPES, did, entry)
    kw = dict(image_size=32, num_envs=4, ref_episodes=0, progress=False, did=did)
    with pytest.warns(NonCanonicalWarning, match="other content than the canonical dataset"):
        path = generate("simple", 4, 0, **kw)
    got = json.loads((path / "data" / "metadata.json").read_text())[META_KEY]["checksum"]
    entry["checksum"] = got  # the recorded content: no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", NonCanonicalWarning)
        generate("simple", 4, 0, overwrite=True, **kw)


def test_check_canonical_says_how_many_episodes_differ_from_the_published_ones(tmp_path, monkeypatch, capsys):  # fmt: skip
    """``make check-canonical`` on a machine that generates another checksum: the published
    episode digests beside ``canonical.json`` say by how many episodes (a few: floats rounded
    the other way; many: another recipe or code). ``--write`` records them with the checksum."""
    import lzma
    import warnings

    from experiments import check_canonical as C
    from offline_data.dataset import datasets_path

    def small(tier, root, num_envs=8):  # the canonical tier, at a test's size
        with datasets_path(root), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # not the canonical recipe: it warns
            path = generate(tier, 6, 0, image_size=32, num_envs=4, ref_episodes=0,
                            progress=False, did=f"image-styling/{tier}-v0", overwrite=True)  # fmt: skip
        meta = json.loads((path / "data" / "metadata.json").read_text())[META_KEY]
        return {"checksum": meta["checksum"], "r_mean": meta["r_mean"], "episodes": 6,
                "share_r_ge_4": meta["share_r_ge_4"], "seconds": 1.0}  # fmt: skip

    monkeypatch.setattr(C, "regenerate", small)
    monkeypatch.setattr(C, "CANONICAL_FILE", tmp_path / "canonical.json")
    monkeypatch.setattr(C, "DIGESTS", tmp_path / "canonical_digests")
    keep = ["--tiers", "simple", "--keep", str(tmp_path / "data")]
    assert C.main([*keep, "--write"]) == 0
    did = "image-styling/simple-v0"
    assert C.digests_file(did).exists()
    assert C.main(keep) == 0 and "matches the record" in capsys.readouterr().out
    # the published content as another machine recorded it: one episode rounded the other way
    doc = json.loads(lzma.decompress(C.digests_file(did).read_bytes()))
    doc["digests"][2] = "0" * 16
    doc["checksum"] = "e" * 64
    C.digests_file(did).write_bytes(lzma.compress(json.dumps(doc).encode()))
    rec = json.loads(C.CANONICAL_FILE.read_text())
    rec[did]["checksum"] = "e" * 64
    C.CANONICAL_FILE.write_text(json.dumps(rec))
    assert C.main(keep) == 1
    assert "1 of 6 episodes differ from the published dataset's" in capsys.readouterr().out
    # digests of other content than the recorded checksum say nothing
    rec[did]["checksum"] = "d" * 64
    C.CANONICAL_FILE.write_text(json.dumps(rec))
    assert C.main(keep) == 1 and "episodes differ" not in capsys.readouterr().out
    # the shipped digests are those of the recorded published checksum
    shipped = json.loads(lzma.decompress((CANONICAL_FILE.parent / "canonical_digests" / "image-styling--simple-v0.digests.xz").read_bytes()))  # fmt: skip
    assert shipped["checksum"] == json.loads(CANONICAL_FILE.read_text())[did]["checksum"]
    assert len(shipped["digests"]) == 10_000
