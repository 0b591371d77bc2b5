"""A benchmark run's results without its checkpoints: one compressed record per finished cell.

    python -m experiments.records pack runs/benchmark/paper docs/results/judge-v2-lex/records
    python -m experiments.records unpack docs/results/judge-v2-lex/records runs/benchmark/paper

A run folder (:mod:`experiments.benchmark`) weighs what its checkpoints weigh; what its report
and the error breakdown read is much smaller: each cell's ``cell.json`` (summary, fingerprint,
timings), ``eval.json`` and ``eval_free.json`` (every evaluated episode) and
``train_log.jsonl``. :func:`pack` writes those files of every finished cell, byte for byte, into
one xz-compressed JSON file per cell, ``<study>/<tier>/<method>/seed<k>.json.xz`` (about 80 KB
for a Complex cell of 200 + 105 episodes). The same files give the same bytes, so packing a run
again rewrites only the cells that changed, and a folder of records kept under version control
grows by its new cells only.

:func:`unpack` puts them back into a run folder. With the same datasets (the canonical tiers are
generated with fixed checksums), the cells are finished cells of the benchmark: ``--report-only``
rebuilds the report from them, ``experiments.breakdown`` reads them, and a run of the same
preset computes only the cells that are missing. A record has no checkpoint, so a cell that
would need one (evaluated on a split it lacks) is trained again, and a cell whose agent's
decoding rule changed keeps the results it has (the benchmark's rule for a missing checkpoint).

:func:`sample` records which sample of a dataset this machine holds (every episode's digest),
and :func:`compare` counts the episodes a local copy differs in from each recorded sample: the
same recipe can come out slightly differently on another CPU (:mod:`experiments.samples`).

    python -m experiments.records sample image-styling/simple-v0 docs/results/judge-v2-lex/records
    python -m experiments.records compare image-styling/simple-v0 docs/results/judge-v2-lex/records

A record names only those four files; anything else in it, a path that is not
``<study>/<tier>/<method>/seed<k>``, or a cell already in the run folder with other contents
(unless ``force``) is a named error before anything is written.
"""

from __future__ import annotations

import argparse
import json
import lzma
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from offline_data.safety import atomic_write

from .checks import check_cell, check_episodes

__all__ = [
    "FILES", "FORMAT", "RecordError", "compare", "differ_from", "pack", "read_record", "sample",
    "unpack", "write_sample",
]  # fmt: skip

FORMAT = "image-styling-cell-record/1"
#: The files of a cell folder a record holds (``cell.json`` is the marker of a finished cell).
FILES = ("cell.json", "eval.json", "eval_free.json", "train_log.jsonl")
SUFFIX = ".json.xz"
SAMPLE_FORMAT = "image-styling-dataset-sample/1"
SAMPLE_SUFFIX = ".digests.xz"
DIGEST_CHARS = 16
_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_SEED = re.compile(r"^seed\d+$")


class RecordError(ValueError):
    """A record that cannot be read or written as asked (named file, named reason)."""


def _cells(run_dir: Path) -> Iterator[tuple[tuple[str, ...], Path]]:
    """``(study, tier, method, seed<k>)`` and folder of each finished cell of ``run_dir``."""
    for done in sorted((run_dir / "cells").glob("*/*/*/seed*/cell.json")):
        folder = done.parent
        yield tuple(folder.relative_to(run_dir / "cells").parts), folder


def _check_files(files: Mapping[str, str], where: Path) -> None:
    """A :class:`RecordError` naming ``where`` (the cell folder or the record) unless
    ``cell.json`` is a cell record (:func:`experiments.checks.check_cell`) and each evaluation
    file an object with a list of episode objects."""
    try:
        check_cell(json.loads(files["cell.json"]), where / "cell.json")
    except json.JSONDecodeError as e:
        raise RecordError(f"{where}: its cell.json is not JSON: {e}") from None
    except ValueError as e:
        raise RecordError(str(e)) from None
    for name in ("eval.json", "eval_free.json"):
        if name not in files:
            continue
        try:
            doc = json.loads(files[name])
            if not isinstance(doc, dict):
                raise ValueError(f"an object expected, got {type(doc).__name__}")
            check_episodes(doc.get("episodes"), "episodes")
        except ValueError as e:  # json.JSONDecodeError is one
            raise RecordError(f"{where / name}: not an evaluation file ({e})") from None


def _payload(folder: Path) -> bytes:
    files = {}
    for name in FILES:
        path = folder / name
        if path.exists():
            files[name] = path.read_text(encoding="utf-8")
    _check_files(files, folder)  # a half-written or damaged marker is not a finished cell
    return json.dumps({"format": FORMAT, "files": files}, sort_keys=True).encode("utf-8")


def _compress(payload: bytes) -> bytes:
    return lzma.compress(payload, format=lzma.FORMAT_XZ, preset=9)


def _write(path: Path, data: bytes) -> None:
    atomic_write(path, lambda tmp: tmp.write_bytes(data))


def read_record(path: str | Path) -> dict[str, str]:
    """The files of the record at ``path``: ``{name: text}``, ``cell.json`` among them.

    Raises:
        RecordError: not an xz file of this format, or it holds a file outside :data:`FILES`.
    """
    path = Path(path)
    try:
        doc = json.loads(lzma.decompress(path.read_bytes()).decode("utf-8"))
    except (lzma.LZMAError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise RecordError(f"{path}: not a cell record (xz-compressed JSON): {e}") from e
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        found = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise RecordError(f"{path}: format {found!r}, expected {FORMAT!r}")
    files = doc.get("files")
    if not isinstance(files, dict) or "cell.json" not in files:
        raise RecordError(f"{path}: the record holds no cell.json")
    extra = sorted(set(files) - set(FILES))
    if extra or not all(isinstance(v, str) for v in files.values()):
        raise RecordError(
            f"{path}: a record holds only {', '.join(FILES)} as text; found {extra or 'non-text'}"
        )
    _check_files(files, path)
    return files


def pack(run_dir: str | Path, dest: str | Path) -> tuple[int, int]:
    """Write a record of every finished cell of ``run_dir`` into ``dest``; returns
    ``(written, unchanged)``: a record whose files did not change is left as it is."""
    run_dir, dest = Path(run_dir), Path(dest)
    if not (run_dir / "cells").is_dir():
        raise FileNotFoundError(f"{run_dir} is not a benchmark run folder (it has no cells/)")
    written = unchanged = 0
    for parts, folder in _cells(run_dir):
        payload = _payload(folder)
        path = dest.joinpath(*parts[:-1], parts[-1] + SUFFIX)
        if path.exists():
            try:
                same = lzma.decompress(path.read_bytes()) == payload
            except lzma.LZMAError:
                same = False  # a damaged record is replaced
            if same:
                unchanged += 1
                continue
        _write(path, _compress(payload))
        written += 1
    if written + unchanged == 0:
        raise RecordError(f"{run_dir} has no finished cell (no cells/*/*/*/seed*/cell.json)")
    return written, unchanged


def _records(src: Path) -> list[tuple[tuple[str, ...], Path]]:
    out = []
    for path in sorted(src.rglob("*" + SUFFIX)):
        parts = path.relative_to(src).parts
        parts = (*parts[:-1], parts[-1][: -len(SUFFIX)])
        if len(parts) != 4 or not _SEED.match(parts[3]) or not all(_PART.match(p) for p in parts):
            raise RecordError(
                f"{path}: a record's path is <study>/<tier>/<method>/seed<k>{SUFFIX}, got "
                f"{'/'.join(parts)}"
            )
        out.append((parts, path))
    return out


def unpack(src: str | Path, run_dir: str | Path, *, force: bool = False) -> tuple[int, int]:
    """Write the cells recorded in ``src`` into ``run_dir``; returns ``(written, unchanged)``.
    Every record is read and checked before anything is written.

    Raises:
        FileNotFoundError: ``src`` does not exist.
        RecordError: no records, a malformed one, or (without ``force``) a cell of ``run_dir``
            that exists with other contents.
    """
    src, run_dir = Path(src), Path(run_dir)
    if not src.is_dir():
        raise FileNotFoundError(f"no records folder {src}")
    found = _records(src)
    if not found:
        raise RecordError(f"{src} holds no cell records (*{SUFFIX})")
    plan = []
    for parts, path in found:
        files = read_record(path)
        folder = run_dir.joinpath("cells", *parts)
        have = {n: (folder / n).read_text(encoding="utf-8") for n in FILES if (folder / n).exists()}
        if have == files:
            plan.append((folder, None))
            continue
        if "cell.json" in have and not force:
            raise RecordError(
                f"cell {'/'.join(parts)} exists in {run_dir} with other contents; unpack into "
                "another folder, or pass force=True (--force) to replace it"
            )
        plan.append((folder, files))
    written = 0
    for folder, files in plan:
        if files is None:
            continue
        (folder / "cell.json").unlink(missing_ok=True)  # unfinished until its marker is back
        for name in FILES:
            if name not in files:
                (folder / name).unlink(missing_ok=True)
        for name in sorted(files, key=lambda n: n == "cell.json"):  # the marker last
            _write(folder / name, files[name].encode("utf-8"))
        written += 1
    return written, len(plan) - written


# --------------------------------------------------------------------------------------------
# Samples: which episodes of a dataset another machine generated differently


def _local_sample(did: str) -> dict[str, Any]:
    """The sample record of the local dataset ``did``: its checksum, recipe and every episode's
    digest in order (their first 16 hex digits: 64 bits tell copies apart), read from the
    episodes' metadata with no observation decoded."""
    from offline_data import dataset as D

    ds = D.load(did)
    info = D.info(ds)
    data = Path(ds.storage.data_path)
    digests = []
    for i in range(ds.total_episodes):
        meta = json.loads((data / str(i) / "metadata.json").read_text())
        if "digest" not in meta:
            raise RecordError(f"dataset {did!r}: episode {i} has no content digest")
        digests.append(meta["digest"][:DIGEST_CHARS])
    return {"format": SAMPLE_FORMAT, "dataset": did, "checksum": str(info.get("checksum")),
            "recipe": info.get("recipe", {}), "digests": digests}  # fmt: skip


def _write_sample(doc: Mapping[str, Any], path: Path) -> Path:
    _write(path, _compress(json.dumps(doc, sort_keys=True).encode("utf-8")))
    return path


def write_sample(did: str, path: str | Path) -> Path:
    """Write the sample record of the local dataset ``did`` (:func:`_local_sample`) to
    ``path``."""
    return _write_sample(_local_sample(did), Path(path))


def sample(did: str, dest: str | Path) -> Path:
    """Record which sample of ``did`` this machine holds (:func:`write_sample`) as
    ``dest/samples/<name>-<checksum[:12]>.digests.xz`` (about 90 KB for 10,000 episodes). On
    another machine, :func:`compare` then counts the episodes that differ."""
    doc = _local_sample(did)
    name = f"{did.replace('/', '--')}-{doc['checksum'][:12]}{SAMPLE_SUFFIX}"
    return _write_sample(doc, Path(dest) / "samples" / name)


def _differ(did: str, path: Path, local: Sequence[str]) -> dict[str, Any]:
    """The digests ``local`` against the sample record of ``did`` at ``path``."""
    try:
        doc = json.loads(lzma.decompress(path.read_bytes()).decode("utf-8"))
    except (lzma.LZMAError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise RecordError(f"{path}: not a sample record (xz-compressed JSON): {e}") from e
    if (
        not isinstance(doc, dict)
        or doc.get("format") != SAMPLE_FORMAT
        or doc.get("dataset") != did
        or not isinstance(doc.get("digests"), list)
    ):
        raise RecordError(f"{path}: not a {SAMPLE_FORMAT} record of {did!r} with digests")
    theirs = doc["digests"]
    differ = sum(a != b for a, b in zip(local, theirs, strict=False))
    differ += abs(len(local) - len(theirs))
    return {"checksum": doc.get("checksum"), "episodes": len(theirs), "differ": differ}


def differ_from(did: str, path: str | Path) -> dict[str, Any]:
    """The local dataset ``did`` against the sample record at ``path``: ``{"checksum",
    "episodes", "differ"}`` (``differ``: episodes whose digest is not the local one's, plus any
    length difference).

    Raises:
        RecordError: not a sample record of ``did``.
    """
    return _differ(did, Path(path), _local_sample(did)["digests"])


def compare(did: str, src: str | Path) -> list[dict[str, Any]]:
    """Each sample of ``did`` recorded in ``src/samples`` (:func:`sample`) against the local
    dataset (:func:`differ_from`; the local digests are read once).

    Raises:
        RecordError: no sample of ``did`` is recorded there, or one is malformed.
    """
    found = sorted((Path(src) / "samples").glob(f"{did.replace('/', '--')}-*{SAMPLE_SUFFIX}"))
    if not found:
        raise RecordError(f"no sample of {did!r} recorded in {Path(src) / 'samples'}")
    local = _local_sample(did)["digests"]
    return [_differ(did, path, local) for path in found]


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m experiments.records", description=__doc__.split("\n\n")[0]
    )
    sub = p.add_subparsers(dest="command", required=True)
    a = sub.add_parser("pack", help="every finished cell of a run folder -> one record per cell")
    a.add_argument("run_dir", type=Path)
    a.add_argument("dest", type=Path)
    b = sub.add_parser("unpack", help="records -> finished cells of a run folder")
    b.add_argument("src", type=Path)
    b.add_argument("run_dir", type=Path)
    b.add_argument("--force", action="store_true", help="replace cells that differ")
    c = sub.add_parser("sample", help="record the episode digests of a local dataset's sample")
    c.add_argument("dataset")
    c.add_argument("dest", type=Path)
    d = sub.add_parser("compare", help="count the episodes a local dataset differs in from the recorded samples")  # fmt: skip
    d.add_argument("dataset")
    d.add_argument("src", type=Path)
    args = p.parse_args(argv)
    from offline_data.dataset import DatasetError

    try:
        if args.command == "pack":
            written, same = pack(args.run_dir, args.dest)
            print(f"{written} records written, {same} unchanged, in {args.dest}")
        elif args.command == "sample":
            print(f"wrote {sample(args.dataset, args.dest)}")
        elif args.command == "compare":
            for r in compare(args.dataset, args.src):
                print(f"{args.dataset}: sample {r['checksum'][:12]}: {r['differ']} of "
                      f"{r['episodes']} episodes differ from the local one")  # fmt: skip
        else:
            written, same = unpack(args.src, args.run_dir, force=args.force)
            print(f"{written} cells written, {same} already there, in {args.run_dir}/cells")
    except (OSError, RecordError, DatasetError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
