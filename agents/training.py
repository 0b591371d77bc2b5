"""What every trainer in :mod:`agents` shares: the metric log, minibatch order, peak memory.

- :class:`MetricLog`: rows of logged metrics in memory and, optionally, as JSON lines in a file
  (``train_log.jsonl`` of a run folder, read by the benchmark's learning curves); either one row
  per call (:meth:`MetricLog.write`) or the mean of every ``every`` steps (:meth:`MetricLog.add`).
- :func:`minibatches`: ``total`` index batches over seeded epoch permutations.
- :func:`peak_memory_mb`: the process's peak memory (CPU) or peak allocated CUDA memory.
- :func:`check_finite`: a loss that is NaN or infinite stops the run with
  :class:`TrainingDivergedError`, before a diverged model is saved or evaluated.
"""

from __future__ import annotations

import json
import math
import os
import resource
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = ["MetricLog", "TrainingDivergedError", "check_finite", "minibatches", "peak_memory_mb"]


class TrainingDivergedError(ValueError):
    """A training loss became NaN or infinite: the run diverged (nothing is saved)."""


def check_finite(loss: float | torch.Tensor, step: int, lr: float, what: str = "loss") -> None:
    """:class:`TrainingDivergedError` if ``loss`` (a number or a one-element tensor) is NaN or
    infinite at optimizer step ``step`` (1-based) of a run at learning rate ``lr``."""
    value = float(loss.detach()) if isinstance(loss, torch.Tensor) else float(loss)
    if not math.isfinite(value):
        raise TrainingDivergedError(
            f"the training {what} became {value} at step {step} (learning rate {lr:g}): the run "
            "diverged and nothing was saved; lower the learning rate (--lr) or check the data"
        )


class MetricLog:
    """Logged metrics: ``rows`` in memory, and JSON lines at ``path`` (if given), flushed per row.

    ``every``: :meth:`add` accumulates and writes the mean of every ``every`` steps.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, every: int = 1) -> None:
        self.every = max(1, int(every))
        self.rows: list[dict[str, Any]] = []
        self._acc: dict[str, float] = {}
        self._n = 0
        self._file = None
        if path is not None:
            p = Path(path)
            p.parent.mkdir(parents=True, exist_ok=True)
            self._file = p.open("w")

    def write(self, row: Mapping[str, Any]) -> None:
        """Log ``row`` as it is."""
        row = dict(row)
        self.rows.append(row)
        if self._file is not None:
            self._file.write(json.dumps(row) + "\n")
            self._file.flush()

    def add(self, step: int, values: Mapping[str, float], **extra: float) -> None:
        """Accumulate ``values``; every ``every`` steps write their means (with ``extra``)."""
        for k, v in values.items():
            self._acc[k] = self._acc.get(k, 0.0) + float(v)
        self._n += 1
        if step % self.every == 0:
            self.flush(step, **extra)

    def flush(self, step: int, **extra: float) -> None:
        """Write the means accumulated since the last write (nothing if none)."""
        if not self._n:
            return
        self.write({"step": step, **{k: v / self._n for k, v in self._acc.items()}, **extra})
        self._acc, self._n = {}, 0

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> MetricLog:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def minibatches(
    n: int, batch_size: int, total: int, gen: torch.Generator | np.random.Generator
) -> Iterator[torch.Tensor | list[int]]:
    """``total`` batches of indices into ``range(n)``, in epochs of seeded permutations.

    ``gen`` decides the permutation and the batch type: a ``torch.Generator`` gives
    ``torch.randperm`` slices (int64 tensors), a ``numpy.random.Generator`` gives lists of ints
    from ``gen.permutation``. The last batch of an epoch may be smaller."""
    done = 0
    while done < total:
        if isinstance(gen, torch.Generator):
            perm: Any = torch.randperm(n, generator=gen)
        else:
            perm = gen.permutation(n)
        for i in range(0, n, batch_size):
            if done == total:
                return
            chunk = perm[i : i + batch_size]
            yield chunk if isinstance(gen, torch.Generator) else chunk.tolist()
            done += 1


def peak_memory_mb(device: Any = "cpu") -> float | None:
    """Peak allocated CUDA memory of ``device`` (a CUDA device), else the process's peak RSS in
    MB (``None`` where the OS does not report it)."""
    if getattr(device, "type", str(device)).startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.max_memory_allocated(device) / 2**20
    try:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kB on Linux
    except (AttributeError, OSError):  # pragma: no cover - not on Linux
        return None
