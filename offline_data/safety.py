"""Ids are not paths, one writer per dataset (or benchmark cell), and clear write errors.

- :func:`check_dataset_id`: a dataset id must be ``[namespace/]name-vN`` (letters, digits,
  ``_`` and ``-`` in each part, not absolute) and one that Minari itself accepts (a namespace
  of two characters or more): checked before any work is done, not when the finished
  episodes are written.
- :func:`inside`: a path resolved under a root (datasets root, mirror, run folder) must stay
  in it, so nothing outside a root is ever written or removed.
- :func:`exclusive`: an advisory lock (``flock``) per dataset id or per benchmark cell; a
  second writer gets :class:`ConcurrentWriteError` at once, never a silent replacement. The
  lock is released when its process ends, even if it is killed.
- :func:`write_error`: an ``OSError`` raised while writing (full disk, read-only folder)
  becomes a :class:`WriteError` naming the path and the cause.
- :func:`atomic_write`: a file written whole or not at all (a temporary file of its own
  beside it, then one ``os.replace``; the temporary file never stays behind).
- :func:`output_file` / :func:`output_folder`: a command line's ``--out`` checked before the
  work whose result it will hold (a folder where a file is asked for, a path under a file, a
  read-only folder: named errors).
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from .errors import DatasetError

#: A dataset id: optional (nested) namespace, a name, a version (Minari's grammar, ASCII only).
ID_PATTERN = re.compile(r"(?:[A-Za-z0-9_][A-Za-z0-9_\-]*/)*[A-Za-z0-9_][A-Za-z0-9_\-]*-v\d+")


class InvalidIdError(DatasetError, ValueError):
    """A dataset id that is not ``[namespace/]name-vN`` (or that would leave its root)."""


class ConcurrentWriteError(DatasetError):
    """Another process is writing the same dataset or benchmark cell."""


class WriteError(DatasetError, OSError):
    """Writing failed (full disk, read-only folder, no permission); the message names the path."""


def check_dataset_id(did: object) -> str:
    """``did`` if it is a valid dataset id, else :class:`InvalidIdError` saying why."""
    if not isinstance(did, str) or not ID_PATTERN.fullmatch(did):  # no "." at all: no ".."
        raise InvalidIdError(
            f"invalid dataset id {did!r}: expected [namespace/]name-vN (e.g. "
            "image-styling/simple-v0 or mydata-v0): letters, digits, '_' and '-' in each part, "
            "not an absolute path"
        )
    from minari.dataset.minari_dataset import parse_dataset_id

    try:  # Minari's own grammar is narrower; it would refuse the id only when writing
        parse_dataset_id(did)
    except ValueError:
        raise InvalidIdError(
            f"invalid dataset id {did!r}: Minari refuses it (a namespace needs at least two "
            "characters, e.g. image-styling/simple-v0)"
        ) from None
    return did


def inside(root: str | os.PathLike[str], rel: str | os.PathLike[str]) -> Path:
    """``root / rel``, or :class:`InvalidIdError` if it resolves (symbolic links followed)
    outside ``root``."""
    base = Path(root).resolve()
    path = (base / rel).resolve()
    if path == base or base not in path.parents:
        raise InvalidIdError(f"{str(rel)!r} resolves to {path}, outside {base}; refusing it")
    return Path(root) / rel


def json_depth(text: str) -> int:
    """The deepest ``[``/``{`` nesting of JSON ``text`` (brackets inside strings ignored), found
    without recursion, so a hostile file cannot exhaust the stack."""
    depth = best = 0
    for tok in re.finditer(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', text):
        c = tok.group()
        if c in "[{":
            depth += 1
            best = max(best, depth)
        elif c in "]}":
            depth -= 1
    return best


def _lock_dir() -> Path:
    d = Path(tempfile.gettempdir()) / f"image-styling-locks-{os.getuid() if hasattr(os, 'getuid') else 0}"  # fmt: skip
    d.mkdir(mode=0o700, exist_ok=True)
    return d


_HELD: set[Path] = set()


def lock_path(target: str | os.PathLike[str]) -> Path:
    """The lock file of ``target`` (in the temporary folder, one per resolved path)."""
    key = hashlib.sha256(str(Path(target).resolve()).encode()).hexdigest()[:32]
    return _lock_dir() / f"{key}.lock"


@contextmanager
def exclusive(target: str | os.PathLike[str], what: str) -> Iterator[None]:
    """Hold the lock of ``target`` (a path: the dataset folder or the cell's folder) for the
    duration; :class:`ConcurrentWriteError` naming ``what`` if another process holds it."""
    import fcntl

    path = lock_path(target)
    if path in _HELD:  # this process holds it already (generate -> write_dataset)
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise
            raise ConcurrentWriteError(
                f"{what} is being written by another process right now ({target}); wait for it "
                "to finish (or stop it) and run again"
            ) from None
        _HELD.add(path)
        try:
            yield
        finally:
            _HELD.discard(path)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def write_error(path: str | os.PathLike[str], e: BaseException) -> WriteError:
    """A :class:`WriteError` naming ``path`` for an ``OSError`` (or torch's ``RuntimeError``
    wrapping one) raised while writing it."""
    code = getattr(e, "errno", None)
    text = str(e)
    if code == errno.ENOSPC or "No space left" in text or "file write failed" in text:
        why = "the disk is full"
    elif code in (errno.EROFS, errno.EACCES, errno.EPERM) or "Read-only" in text:
        why = "the folder is read-only or not writable by you"
    else:
        why = f"{type(e).__name__}: {e}"
    err = WriteError(f"cannot write {path}: {why} ({type(e).__name__}: {e})")
    err.errno = code
    return err


def atomic_write(path: str | os.PathLike[str], write: Callable[[Path], object]) -> Path:
    """Write ``path`` whole or not at all: ``write(tmp)`` fills a temporary file beside it
    (named for this process and call, so two writers never share one), which then replaces
    ``path`` in one ``os.replace``: a reader sees the old file or the new one, never half of
    one. The folder is created. An ``OSError``, or torch's ``RuntimeError`` for a failed
    write (how ``torch.save`` reports a full disk), becomes a :class:`WriteError` naming
    ``path``; any other error of ``write`` passes through unchanged. The temporary file is
    removed in every case. Returns ``path``."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(tmp)
        os.replace(tmp, path)
    except OSError as e:
        raise write_error(path, e) from e
    except RuntimeError as e:
        if "write" not in str(e).lower():
            raise
        raise write_error(path, e) from e
    finally:
        with suppress(OSError):  # e.g. the folder could not be made: there is no file
            tmp.unlink(missing_ok=True)
    return path


def _under_a_file(path: Path) -> Path | None:
    """The nearest existing ancestor of ``path`` if it is not a folder (``path`` would lie
    under a file), else None."""
    for parent in path.parents:
        if parent.exists():
            return None if parent.is_dir() else parent
    return None


def output_file(path: str | os.PathLike[str], flag: str = "--out") -> Path:
    """``path`` if a file can be written there, checked before any work: its folder is created
    and probed (:func:`offline_data.safety.writable`). A folder at ``path`` or a path under a
    file is a ``ValueError``, a read-only folder or file a
    :class:`offline_data.safety.WriteError` (an ``OSError``), each naming ``flag`` and the
    path."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{flag} {path} is a folder; give a file path (e.g. {path / 'out.json'})")
    blocker = _under_a_file(path)
    if blocker is not None:
        raise ValueError(f"{flag} {path} cannot be written: {blocker} is a file, not a folder")
    writable(path.parent)
    if path.exists() and not os.access(path, os.W_OK):
        raise WriteError(f"cannot write {path} ({flag}): the file is read-only")
    return path


def output_folder(path: str | os.PathLike[str], flag: str = "--out") -> Path:
    """``path`` if it is (or can be created as) a folder files can be written in, checked
    before any work (created and probed); a file at or above it is a ``ValueError``, a
    read-only folder a :class:`offline_data.safety.WriteError`, each naming ``flag``."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{flag} {path} is a file; give a folder")
    blocker = _under_a_file(path)
    if blocker is not None:
        raise ValueError(f"{flag} {path} cannot be created: {blocker} is a file, not a folder")
    writable(path)
    return path


def writable(folder: str | os.PathLike[str]) -> None:
    """Create ``folder`` and check that a file can be written in it, before any work: a
    read-only folder or a full disk is a :class:`WriteError` naming it."""
    folder = Path(folder)
    probe = folder / f".write-probe-{os.getpid()}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"0" * 4096)
    except OSError as e:
        raise write_error(folder, e) from e
    finally:
        with suppress(OSError):
            probe.unlink(missing_ok=True)


__all__ = [
    "ID_PATTERN",
    "ConcurrentWriteError",
    "InvalidIdError",
    "WriteError",
    "check_dataset_id",
    "exclusive",
    "inside",
    "json_depth",
    "lock_path",
    "writable",
    "write_error",
]
