"""Checks of what the command-line tools read, made before any work is done (what they write:
:func:`offline_data.safety.output_file` and :func:`~offline_data.safety.output_folder`).

- :func:`read_json`: a JSON file, or a :class:`BadFileError` naming it (missing, not UTF-8,
  not JSON).
- :func:`read_cell` and :func:`damaged_splits`: a finished benchmark cell whose ``cell.json``
  or evaluation file is damaged (empty, not JSON, of the wrong shape) is named in a warning
  and counts as unfinished: the benchmark computes it again (a damaged evaluation file: that
  split alone, from the checkpoint), ``--report-only`` leaves it out.
- :func:`check_cell` and :func:`check_results`: the shape of a benchmark cell's ``cell.json``
  and of a ``results.json`` (what the benchmark, :mod:`experiments.report`,
  :mod:`experiments.breakdown` and :mod:`experiments.records` read), each error naming the file
  and what is wrong: ``FILE: not a results file (cells must be a list, got str)``.
"""

from __future__ import annotations

import json
import numbers
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "BadFileError", "check_cell", "check_episodes", "check_results", "damaged_splits",
    "read_cell", "read_json",
]  # fmt: skip


class BadFileError(ValueError):
    """An input file that is missing, unreadable or of the wrong shape; the message names it."""


class MissingFileError(BadFileError, FileNotFoundError):
    """No file at the path given."""


# --------------------------------------------------------------------------------------------
# Outputs


# --------------------------------------------------------------------------------------------
# Inputs


def read_json(path: str | os.PathLike[str], what: str = "file") -> Any:
    """The JSON document at ``path``; :class:`BadFileError` naming it when it is missing (also
    a ``FileNotFoundError``), unreadable, not UTF-8 or not JSON (an empty file too)."""
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"no {what} at {path}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        why = "empty" if path.stat().st_size == 0 else f"not JSON ({e})"
        raise BadFileError(f"{path}: not a valid {what}: the file is {why}") from None
    except OSError as e:
        raise BadFileError(f"{path}: cannot read the {what}: {e}") from None


def _number(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _type(v: Any) -> str:
    return type(v).__name__


def _check_summary(key: str, ev: Any, required: tuple[str, ...]) -> str | None:
    """What is wrong with an evaluation summary ``ev`` (a cell's ``eval``/``eval_<split>``)."""
    if not isinstance(ev, Mapping):
        return f"{key} must be an object, got {_type(ev)}"
    for k in required:
        if not _number(ev.get(k)):
            return f"{key}.{k} must be a number, got {ev.get(k)!r}"
    for k in ("overall", "normalized", "random_overall", "oracle_overall"):
        if k in ev and not _number(ev[k]):
            return f"{key}.{k} must be a number, got {ev[k]!r}"
    return None


def _cell_problem(rec: Any, summary_keys: tuple[str, ...]) -> str | None:
    """What is wrong with a cell record ``rec`` (None when nothing is)."""
    if not isinstance(rec, Mapping):
        return f"a cell record must be a JSON object, got {_type(rec)}"
    for k in ("study", "tier", "method"):
        if not isinstance(rec.get(k), str):
            return f"{k} must be a string, got {rec.get(k)!r}"
    seed = rec.get("seed")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        return f"seed must be an int >= 0, got {seed!r}"
    for key, ev in rec.items():
        if key == "eval" or key.startswith("eval_"):
            why = _check_summary(key, ev, summary_keys)
            if why:
                return why
    stages = rec.get("stages")
    if stages is not None and not (
        isinstance(stages, Mapping) and all(isinstance(s, Mapping) for s in stages.values())
    ):
        return "stages must be an object of objects"
    if rec.get("train") is not None and not isinstance(rec["train"], Mapping):
        return f"train must be an object, got {_type(rec['train'])}"
    return None


def check_cell(rec: Any, path: str | os.PathLike[str]) -> dict[str, Any]:
    """``rec`` if it is the record of a finished benchmark cell (``cell.json``: an object with
    its study, tier, method and seed, and each evaluation summary an object with numeric
    ``overall`` and ``normalized``), else :class:`BadFileError` naming ``path``."""
    why = _cell_problem(rec, ("overall", "normalized"))
    if why:
        raise BadFileError(f"{path}: not a benchmark cell record ({why})")
    return dict(rec)


def check_episodes(eps: Any, where: str) -> list[dict[str, Any]]:
    """``eps`` if it is a list of episode records (objects with a numeric ``overall``), else a
    ``ValueError`` saying so about ``where``."""
    if not isinstance(eps, list):
        raise ValueError(f"{where} must be a list of episodes, got {_type(eps)}")
    for i, e in enumerate(eps):
        if not isinstance(e, Mapping):
            raise ValueError(f"{where}[{i}] must be an episode object, got {_type(e)}")
        if not _number(e.get("overall")):
            raise ValueError(f"{where}[{i}].overall must be a number, got {e.get('overall')!r}")
    return eps


def check_results(doc: Any, path: str | os.PathLike[str]) -> dict[str, Any]:
    """``doc`` if it has the shape of a benchmark ``results.json`` (an object whose ``cells``
    is a list of cell records, each with its episodes as lists of episode objects; a
    ``preset`` object whose ``image_size`` and ``eval_tasks`` are positive ints), else
    :class:`BadFileError`: ``FILE: not a results file (cells must be a list, got str)``."""

    def bad(why: str) -> BadFileError:
        return BadFileError(f"{path}: not a benchmark results file ({why})")

    if not isinstance(doc, Mapping) or "cells" not in doc:
        raise bad("no 'cells'" if isinstance(doc, Mapping) else f"a JSON {_type(doc)}, not an object")  # fmt: skip
    cells = doc["cells"]
    if not isinstance(cells, list):
        raise bad(f"cells must be a list, got {_type(cells)}")
    for i, c in enumerate(cells):
        why = _cell_problem(c, ())
        if why:
            raise bad(f"cells[{i}]: {why}")
        for key in c:
            if key == "episodes" or key.startswith("episodes_"):
                try:
                    check_episodes(c[key], f"cells[{i}].{key}")
                except ValueError as e:
                    raise bad(str(e)) from None
    preset = doc.get("preset", {})
    if not isinstance(preset, Mapping):
        raise bad(f"preset must be an object, got {_type(preset)}")
    for k in ("image_size", "eval_tasks"):
        v = preset.get(k, 1)
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise bad(f"preset.{k} must be a positive int, got {v!r}")
    return dict(doc)


# --------------------------------------------------------------------------------------------
# A benchmark cell folder: a damaged finished cell counts as unfinished


#: The warnings already printed (each damaged file is named once per process).
_WARNED: set[str] = set()


def _damaged(path: Path, why: str) -> None:
    """Warn (once) that ``path`` of a finished cell is damaged and what happens to the cell."""
    if str(path) in _WARNED:
        return
    _WARNED.add(str(path))
    print(
        f"warning: {why}; cell {path.parent} counts as unfinished: a run computes it again "
        f"(--report-only leaves it out; or delete that folder)",
        file=sys.stderr, flush=True,
    )  # fmt: skip


def read_cell(folder: Path) -> dict[str, Any] | None:
    """The record (``cell.json``) of the cell in ``folder``, or None when it has none. A
    damaged one (empty, not JSON, not a cell record: :func:`experiments.checks.check_cell`)
    is None as well, with a warning naming the file: the cell counts as unfinished, so a run
    computes it again and ``--report-only`` leaves it out."""
    done = folder / "cell.json"
    if not done.exists():
        return None
    try:
        return check_cell(read_json(done, "benchmark cell record"), done)
    except BadFileError as e:
        _damaged(done, str(e))
        return None


def damaged_splits(folder: Path, record: Mapping[str, Any]) -> list[str]:
    """The evaluation splits ``record`` holds (``eval``, ``eval_free``) whose file in
    ``folder`` is damaged (not JSON, or not an object with a list of episodes), each named in
    a warning. A missing file is not damaged: its cell reports no episodes, as before."""
    bad = []
    for key in [k for k in record if k == "eval" or k.startswith("eval_")]:
        path = folder / f"{key}.json"
        if not path.exists():
            continue
        try:
            doc = read_json(path, "evaluation file")
            if not isinstance(doc, dict):
                raise BadFileError(f"{path}: not an evaluation file (a JSON {type(doc).__name__})")
            check_episodes(doc.get("episodes"), f"{path}: episodes")
        except ValueError as e:  # BadFileError, or episodes of the wrong shape
            _damaged(path, str(e))
            bad.append(key)
    return bad
