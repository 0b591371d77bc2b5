"""The error every dataset problem raises (or derives from): :class:`DatasetError`.

Its own module so that :mod:`offline_data.dataset` and :mod:`offline_data.safety` (whose errors
derive from it) can both import it at their top without importing each other in a circle.
"""

from __future__ import annotations


class DatasetError(RuntimeError):
    """A dataset that is missing, corrupt, incomplete or of another format version."""
