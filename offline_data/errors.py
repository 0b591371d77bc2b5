"""The error every dataset problem raises (or derives from): :class:`DatasetError`.

Its own module so that :mod:`offline_data.dataset` and :mod:`offline_data.safety` (whose errors
derive from it) can both import it at their top without importing each other in a circle.
"""

from __future__ import annotations


class DatasetError(RuntimeError):
    """A dataset that is missing, corrupt, incomplete or of another format version."""


class LibraryMismatchError(ValueError):
    """Data, an environment or an agent of one action library (``styling_env.libraries``) used
    with those of another: their native action indices mean different calls."""


def check_same_library(what: str, have: str, other: str, want: str) -> str:
    """``have`` if it equals ``want``, else :class:`LibraryMismatchError` naming both sides
    (``what`` is in library ``have``, ``other`` in ``want``)."""
    if have != want:
        raise LibraryMismatchError(
            f"{what} is of action library {have!r} but {other} is of library {want!r}: the "
            "same native action indices mean different calls in the two"
        )
    return have
