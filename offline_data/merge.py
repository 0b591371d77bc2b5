"""Merge shard datasets into one, with Minari's combine machinery.

``minari.combine_datasets`` itself cannot be used as is: it creates the new storage with
Minari's default ``jpeg_encoding=True`` (our lossless images would be re-encoded as JPEG) and
drops per-episode metadata (our tasks, scores and reasons' plans). :func:`merge` does what it
does — a new storage filled from each shard, ``combined_datasets`` recorded — with lossless
parquet storage, and copies the per-episode metadata and our block. (Minari's
``update_from_storage`` cannot copy our episodes either: it hands the 1-d step infos back as
numpy arrays, which Minari 0.5.4 then writes with an empty shape tag it cannot read back.)

The episodes are not decoded and written again: Minari's parquet storage keeps each episode
in a folder of its own, ``data/<episode id>/`` (the id is the folder's name, not a column of
the file), so shard episode ``j`` becomes episode ``offset + j`` as a folder of hard links to
the shard's files (copies across file systems) with the id set in a new ``metadata.json``.
The merged data are byte for byte the shards' (``load(did, verify=True)`` recomputes the
checksum), and the shards stay whole until the merged dataset is in place, so a merge that
fails half way can be run again.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .dataset import (
    META_KEY,
    DatasetError,
    combine_digests,
    dataset_path,
    load,
    r_histogram,
    staging,
)  # fmt: skip

#: Recipe fields that must agree between shards.
_SAME = (
    "tier",
    "seed",
    "image_size",
    "max_steps",
    "teacher",
    "profile",
    "per_task",
    "format_version",
    "library",  # absent (v2) in both, or the same library
)


def merge(
    parts: Sequence[str], did: str, *, overwrite: bool = False, remove_parts: bool = False
) -> Path:
    """Merge shard datasets ``parts`` (each made by ``generate --shard k --shards n``, any
    order) into dataset ``did``; checks they come from one recipe and cover its episode range
    exactly once. The merged checksum equals that of the same dataset generated in one piece.

    A part listed twice, or a target ``did`` that is one of the ``parts`` (it would replace, and
    with ``remove_parts`` delete, its own input), is a :class:`DatasetError` before any work."""
    import minari
    from minari.dataset.minari_storage import MinariStorage

    if not parts:
        raise DatasetError("nothing to merge: no shard datasets given")
    final = dataset_path(did)
    seen: dict[Path, str] = {}
    for p in parts:
        where = dataset_path(p)  # an id, never a path
        if where == final:
            raise DatasetError(
                f"cannot merge into {did!r}: it is one of the parts ({p!r}); merge the shards "
                "into another id"
            )
        if where in seen:
            raise DatasetError(f"shard {p!r} is listed twice; name each shard once")
        seen[where] = p
    if final.exists() and not overwrite:
        raise DatasetError(
            f"dataset {did!r} already exists at {final}; pass --overwrite to replace it"
        )
    shards = [load(p) for p in parts]
    blocks = [s.storage.metadata[META_KEY] for s in shards]
    for p, b in zip(parts, blocks, strict=True):
        if "shard" not in b:
            raise DatasetError(f"{p!r} is not a shard (no shard range in its metadata)")
    recipe = blocks[0]["recipe"]
    for p, b in zip(parts, blocks, strict=True):
        diff = [k for k in _SAME if b["recipe"].get(k) != recipe.get(k)]
        if diff:
            raise DatasetError(
                f"shard {p!r} has a different recipe ({', '.join(diff)}) than {parts[0]!r}"
            )
    order = sorted(range(len(parts)), key=lambda i: blocks[i]["shard"]["first"])
    expect = 0
    for i in order:
        sh = blocks[i]["shard"]
        if sh["first"] != expect:
            raise DatasetError(
                f"shards do not tile the episode range: {parts[i]!r} starts at {sh['first']}, expected {expect}"
            )
        expect = sh["stop"]
    if expect != recipe["episodes"]:
        raise DatasetError(
            f"shards cover episodes 0..{expect - 1} of a {recipe['episodes']}-episode recipe"
        )

    first = shards[order[0]]
    ns_file = dataset_path(parts[0]).parent / "namespace_metadata.json"
    part_paths = [dataset_path(p) for p in parts]
    with staging(final) as stage:
        data = stage / did / "data"
        data.parent.mkdir(parents=True)
        storage = MinariStorage.new(
            data, observation_space=first.observation_space, action_space=first.action_space,
            env_spec=first.spec.env_spec, data_format="parquet", jpeg_encoding=False,
        )  # fmt: skip
        storage.get_size = lambda: 0.0  # Minari re-measures the folder per episode: O(n^2)
        keep = {
            k: v for k, v in first.storage.metadata.items()
            if k not in ("dataset_id", "observation_space", "action_space", "env_spec", "data_format",
                         "jpeg_encoding", "minari_version", "total_episodes", "total_steps", "dataset_size", META_KEY)
        }  # fmt: skip
        keep.update(
            dataset_id=did,
            combined_datasets=[parts[i] for i in order],
            minari_version=minari.__version__,
        )
        keep[META_KEY] = {"format_version": recipe["format_version"], "complete": False}
        storage.update_metadata(keep)
        digests, rs, offset = [], [], 0
        steps = 0
        for i in order:
            s = shards[i]
            metas = _link_episodes(s.storage, data, offset)
            digests += [bytes.fromhex(m["digest"]) for m in metas]
            rs += [m["r"] for m in metas]
            offset += s.total_episodes
            steps += s.total_steps
        storage.update_metadata({"total_episodes": offset, "total_steps": steps})
        r = np.asarray(rs, float)
        ours = {
            **{k: v for k, v in blocks[order[0]].items() if k not in ("shard", "generation_seconds")},
            "episodes": offset, "checksum": combine_digests(digests),
            "r_mean": round(float(r.mean()), 4), "share_r_ge_4": round(float((r >= 4.0).mean()), 4),
            "r_histogram": r_histogram(r), "merged_from": len(parts), "complete": True,
        }  # fmt: skip
        ours["generation_seconds"] = round(sum(b.get("generation_seconds") or 0 for b in blocks), 1)
        del storage.get_size
        storage.update_metadata({META_KEY: ours, "dataset_size": storage.get_size()})
        final.parent.mkdir(parents=True, exist_ok=True)
        if not (final.parent / "namespace_metadata.json").exists() and ns_file.exists():
            shutil.copy(ns_file, final.parent / "namespace_metadata.json")
        if final.exists():
            shutil.rmtree(final)
        os.replace(stage / did, final)
    shutil.rmtree(stage, ignore_errors=True)
    if remove_parts:
        for path in part_paths:
            shutil.rmtree(path, ignore_errors=True)
    return final


def _link_episodes(src: Any, data: Path, offset: int) -> list[dict[str, Any]]:
    """Shard storage ``src``'s episode folders into ``data`` as episodes ``offset + j`` (hard
    links, or copies across file systems), each with a metadata file of its own whose id
    matches; their metadata, in order."""
    if src.metadata.get("data_format") != "parquet" or src.metadata.get("jpeg_encoding", True):
        raise DatasetError(
            f"cannot merge a shard stored as {src.metadata.get('data_format')!r} "
            f"(jpeg_encoding={src.metadata.get('jpeg_encoding')}): shards are lossless parquet"
        )
    metas = []
    for j in range(src.total_episodes):
        there = data / str(offset + j)
        shutil.copytree(Path(src.data_path) / str(j), there, copy_function=_link_or_copy)
        file = there / "metadata.json"
        try:
            meta = json.loads(file.read_text())
        except (OSError, ValueError) as e:
            meta = e
        if not isinstance(meta, dict):
            raise DatasetError(
                f"shard {src.metadata.get('dataset_id')!r}: the metadata of episode {j} ({file}) "
                f"is corrupt ({meta if isinstance(meta, Exception) else 'not a JSON object'}); "
                "generate the shard again"
            )
        meta["id"] = offset + j
        file.unlink()  # a link to the shard's file: write a new one, not through the link
        file.write_text(json.dumps(meta))
        metas.append(meta)
    return metas


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:  # another file system, or one without hard links
        shutil.copy2(src, dst)
