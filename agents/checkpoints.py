"""Loading checkpoint files without running code from them.

A pickle can run any code while it is read. The project's own checkpoints hold no pickle that
needs it: the embedded planner's ``.pt`` is a ``weights_only`` state dict, a d3rlpy agent's
``.d3`` is a ``weights_only`` torch file (config JSON + state dicts; d3rlpy's own ``.d3``, a
pickle of plain data, is read with :func:`data_only_unpickle`), and an SB3 ``.zip`` is rebuilt
from its ``policy.pth`` state dict and the plain JSON fields of its ``data`` (its cloudpickled
fields are never read). Anything that can only be read by running pickled code raises
:class:`UntrustedCheckpointError` unless the caller passes ``trust=True``
(``--trust-checkpoint`` on the command lines). Zip archives are checked member by member
(:func:`check_zip`) before anything is decompressed.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path
from typing import IO, Any

#: Largest uncompressed member of a checkpoint zip (bytes).
MAX_MEMBER_BYTES = 2 * 1024**3
#: Largest total uncompressed size of a checkpoint zip (bytes).
MAX_TOTAL_BYTES = 4 * 1024**3
#: Largest compression ratio of a member above 1 MB (weights compress ~1.1x; a bomb ~1000x).
MAX_RATIO = 100.0

TRUST_HINT = (
    "loading it would run code stored in the file; if you trust its source, pass trust=True "
    "(--trust-checkpoint on the command line)"
)


class CheckpointError(ValueError):
    """A checkpoint file cannot be read safely (too large, a zip bomb, malformed)."""


class UntrustedCheckpointError(CheckpointError):
    """A checkpoint can only be read by running pickled code; pass ``trust=True`` if you
    trust its source."""


class _Refused(pickle.UnpicklingError):
    pass


class _DataOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        raise _Refused(f"{module}.{name}")


def data_only_unpickle(f: IO[bytes], what: str = "the file") -> Any:
    """Unpickle plain data only (dicts, lists, str, bytes, numbers): any class or function
    reference, which is how a pickle runs code, raises :class:`UntrustedCheckpointError`."""
    try:
        return _DataOnlyUnpickler(f).load()
    except _Refused as e:
        raise UntrustedCheckpointError(f"{what} is a pickle that refers to {e}: {TRUST_HINT}") from None  # fmt: skip


def check_zip(z: zipfile.ZipFile, path: str | Path) -> None:
    """Refuse a zip whose members are too large, too many or too compressed (a zip bomb),
    from the sizes its directory declares (reading stops at the declared size)."""
    infos = z.infolist()
    if len(infos) > 10_000:
        raise CheckpointError(f"{path} has {len(infos)} members; refusing to read it")
    total = 0
    for i in infos:
        total += i.file_size
        if i.file_size > MAX_MEMBER_BYTES:
            raise CheckpointError(
                f"{path}: member {i.filename!r} would decompress to {i.file_size} bytes "
                f"(limit {MAX_MEMBER_BYTES}, agents.checkpoints.MAX_MEMBER_BYTES)"
            )
        if i.file_size > 2**20 and i.file_size > MAX_RATIO * max(i.compress_size, 1):
            raise CheckpointError(
                f"{path}: member {i.filename!r} would decompress {i.compress_size} bytes to "
                f"{i.file_size} (ratio over {MAX_RATIO:g}: a zip bomb?); refusing to read it"
            )
    if total > MAX_TOTAL_BYTES:
        raise CheckpointError(
            f"{path} would decompress to {total} bytes (limit {MAX_TOTAL_BYTES}, "
            "agents.checkpoints.MAX_TOTAL_BYTES)"
        )


def read_member(z: zipfile.ZipFile, name: str, path: str | Path, limit: int | None = None) -> bytes:
    """One member of a checked zip (:func:`check_zip`), at most its declared size (and at most
    ``limit`` bytes, else :class:`CheckpointError`)."""
    try:
        info = z.getinfo(name)
    except KeyError:
        raise CheckpointError(f"{path} has no {name!r}") from None
    if limit is not None and info.file_size > limit:
        raise CheckpointError(f"{path}: {name!r} is {info.file_size} bytes, over {limit}")
    with z.open(info) as f:
        return f.read(info.file_size)


def torch_weights(data: bytes | str | Path, what: str, device: str = "cpu") -> Any:
    """``torch.load(..., weights_only=True)``: tensors and plain containers only; a file that
    needs anything else raises :class:`UntrustedCheckpointError`."""
    import torch

    src = io.BytesIO(data) if isinstance(data, bytes) else data
    try:
        if not isinstance(data, bytes):
            with zipfile.ZipFile(data) as z:
                check_zip(z, data)
        return torch.load(src, map_location=device, weights_only=True)
    except pickle.UnpicklingError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UntrustedCheckpointError(
            f"{what} holds more than weights ({first}): {TRUST_HINT}"
        ) from None
    except (zipfile.BadZipFile, EOFError, RuntimeError) as e:
        if isinstance(e, RuntimeError) and "PytorchStreamReader" not in str(e):
            raise  # not torch's "failed reading zip archive": not a damaged file
        raise CheckpointError(
            f"{what} is damaged or incomplete (a truncated copy?): {type(e).__name__}: {e}"
        ) from None


__all__ = [
    "MAX_MEMBER_BYTES",
    "MAX_RATIO",
    "MAX_TOTAL_BYTES",
    "CheckpointError",
    "UntrustedCheckpointError",
    "check_zip",
    "data_only_unpickle",
    "read_member",
    "torch_weights",
]
