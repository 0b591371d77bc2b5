"""Samples of one dataset recipe in a benchmark run: which cells trained on which, and the
cells a run leaves out because they trained on another.

The same recipe, code and torch thread count can generate a dataset with another checksum on
another CPU (a float rounded to ``uint8`` on the other side of .5 in a few pixel values of a few
episodes). A finished cell's fingerprint holds the checksum it trained on, so by default such a
cell counts only on its own sample. ``Preset.other_samples`` (``--other-samples``) lets
:func:`experiments.benchmark.reusable` judge a cell by the checksum *it* recorded, so that the
method, config, budget, test set and judge must still be the run's and only the data's sample
may differ; the run then pools the samples, and the functions here say so. The checksum then
no longer proves the recipe: the dataset id and the preset do (a canonical id holds the
canonical recipe unless another was generated under it, which ``generate`` warns about).
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["other_sample_note", "samples", "samples_note", "trained_on"]


def samples(cells: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, int]]:
    """Dataset id -> {checksum: cells trained on it}: more than one checksum per id means the
    run pooled cells trained on several samples of that dataset."""
    per: dict[str, Counter[str]] = defaultdict(Counter)
    for c in cells:
        if c.get("dataset") and c.get("dataset_checksum"):
            per[c["dataset"]][c["dataset_checksum"]] += 1
    return {did: dict(n) for did, n in per.items()}


def samples_note(results: Mapping[str, Any]) -> str:
    """The report's sentence on the samples its cells trained on, when they pooled several;
    "" when each dataset's cells share one checksum."""
    pooled = {did: n for did, n in samples(results["cells"]).items() if len(n) > 1}
    if not pooled:
        return ""
    return (
        " Cells pooled from several samples of their dataset (its recipe generated on "
        "different machines; cells per dataset checksum): "
        + "; ".join(
            f"{did}: " + ", ".join(f"{k[:12]} {v}" for k, v in sorted(n.items()))
            for did, n in sorted(pooled.items())
        )
        + "."
    )


def trained_on(folder: Path) -> str | None:
    """The dataset checksum the finished cell in ``folder`` trained on (None: not finished, or
    its ``cell.json`` is damaged: the benchmark computes such a cell again)."""
    from .checks import BadFileError, read_json

    done = folder / "cell.json"
    try:
        rec = read_json(done, "benchmark cell record") if done.exists() else None
    except BadFileError:
        return None
    return rec.get("dataset_checksum") if isinstance(rec, dict) else None


def other_sample_note(
    todo: Sequence[Any], preset: Any, out: Path, checksums: Mapping[str, str | None],
    finished: Callable[..., Mapping[str, Any] | None],
) -> str | None:  # fmt: skip
    """A note when finished cells of ``todo`` (benchmark cells) in ``out`` count only as cells
    of another sample of their dataset and ``preset.other_samples`` is off: they are left out
    (and computed again by a run). ``finished`` is
    :func:`experiments.benchmark.finished_record`. None when there are none."""
    if preset.other_samples:
        return None
    pooled = dataclasses.replace(preset, other_samples=True)
    found = [
        c.key
        for c in todo
        if c.dataset in checksums
        and finished(c, preset, out, checksums[c.dataset], complete=False) is None
        and finished(c, pooled, out, checksums[c.dataset], complete=False) is not None
    ]
    if not found:
        return None
    return (
        f"{len(found)} finished cell(s) in {out} were trained on another sample of their dataset "
        f"(another checksum, e.g. {found[0]}); they do not count for this data: pass "
        "--other-samples to pool them (see the README's Benchmark section)"
    )
