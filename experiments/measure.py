"""Wall time and peak resident memory of a block of work: what each benchmark cell records
per stage (``cell.json``'s ``stages``) and what the pipeline benchmarks report."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class PeakRSS:
    """Peak resident memory of this process while the block runs (``/proc/self/statm`` sampled
    every ``interval`` s in a thread; ``ru_maxrss`` where /proc is missing), in MB."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _now(self) -> float:
        try:
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * self._page / 2**20
        except OSError:
            import resource

            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, self._now())
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakRSS:
        self.peak_mb = self._now()
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = round(max(self.peak_mb, self._now()), 1)


@contextmanager
def stage(record: dict[str, Any], name: str) -> Iterator[None]:
    """Record ``name``'s wall seconds and peak memory into ``record["stages"]``."""
    t0 = time.perf_counter()
    with PeakRSS() as mem:
        yield
    record.setdefault("stages", {})[name] = {
        "seconds": round(time.perf_counter() - t0, 2),
        "peak_rss_mb": mem.peak_mb,
    }
