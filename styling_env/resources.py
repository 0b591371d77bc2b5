"""A memory estimate up front: a vector env of ``num_envs`` x ``image_size`` that cannot fit
is a clear error before anything is allocated, not an allocator failure half a minute later.

The estimate is :data:`BYTES_PER_PIXEL` per sub-env per image pixel (the source, current and
reference images, the oracle's plan references and the judge's features, measured as the peak
resident memory of reset + 3 steps on the complex tier: 4 sub-envs at 256 px take 42 MB more
than 1 sub-env, i.e. ~213 bytes per pixel per sub-env) plus :data:`BASE_BYTES`. It is compared
with the memory this process can still get: the smallest of the cgroup's limit less its use,
``RLIMIT_AS`` less the address space in use, and the machine's ``MemAvailable``.
"""

from __future__ import annotations

import resource
from pathlib import Path

#: Bytes per sub-env per image pixel (measured; rounded down so that the check never refuses
#: a configuration that fits).
BYTES_PER_PIXEL = 200
#: Bytes that do not grow with the batch (judge features, plan tables).
BASE_BYTES = 64 * 2**20


class InsufficientMemoryError(ValueError):
    """The configuration cannot fit in the memory available (estimated before allocating)."""


def estimate_bytes(num_envs: int, image_size: int) -> int:
    """Peak memory (bytes) of a vector env of ``num_envs`` sub-envs at ``image_size`` px."""
    return BASE_BYTES + int(num_envs) * int(image_size) ** 2 * BYTES_PER_PIXEL


def _read_int(path: str) -> int | None:
    try:
        text = Path(path).read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _status_kb(key: str, path: str = "/proc/self/status") -> int | None:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def available_bytes() -> tuple[int | None, str]:
    """The memory this process can still allocate (bytes, or ``None`` if unknown) and where
    the limit comes from."""
    found: list[tuple[int, str]] = []
    for limit_file, usage_file in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"),
    ):  # fmt: skip
        limit, used = _read_int(limit_file), _read_int(usage_file)
        if limit is not None and limit < 2**60:
            found.append((limit - (used or 0), f"the cgroup limit of {limit / 2**30:.1f} GB"))
            break
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        used = _status_kb("VmSize") or 0
        found.append((soft - used, f"RLIMIT_AS (ulimit -v) of {soft / 2**30:.1f} GB"))
    avail = _status_kb("MemAvailable", "/proc/meminfo")
    if avail is not None:
        found.append((avail, "the machine's available memory"))
    if not found:
        return None, "unknown"
    return min(found)


def check_memory(num_envs: int, image_size: int) -> None:
    """Raise :class:`InsufficientMemoryError` when :func:`estimate_bytes` exceeds
    :func:`available_bytes`; the message names both."""
    need = estimate_bytes(num_envs, image_size)
    have, source = available_bytes()
    if have is not None and need > have:
        raise InsufficientMemoryError(
            f"num_envs={num_envs} at image_size={image_size} needs about {need / 2**30:.1f} GB "
            f"(estimate: {BYTES_PER_PIXEL} bytes per pixel per sub-env + "
            f"{BASE_BYTES // 2**20} MB), but only {max(have, 0) / 2**30:.1f} GB is available "
            f"({source}): use fewer sub-envs or a smaller image_size"
        )


__all__ = [
    "BASE_BYTES",
    "BYTES_PER_PIXEL",
    "InsufficientMemoryError",
    "available_bytes",
    "check_memory",
    "estimate_bytes",
]
