"""The flat action of :class:`styling_env.DiscreteActions`, computed for whole arrays.

``value_index(tool, value) * bins + strength_bin``, STOP last. This is the same encoding as
``DiscreteActions.index`` (one action at a time); both must change together until the encoding
has a single home in ``styling_env``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from styling_env.tools.vocabulary import TOOL_NAMES, TOOLS, VALUES
from styling_env.validation import positive_int

#: The native action's ``tool`` index of STOP.
STOP_TOOL: int = len(TOOL_NAMES)
#: Values per tool, in tool order.
VOCAB = np.array([len(v) for v in TOOLS.values()], np.int64)
#: Flat value index of each tool's first value.
OFFSETS = np.concatenate([[0], np.cumsum(VOCAB)[:-1]]).astype(np.int64)


def check_bins(n_strength_bins: Any) -> int:
    """``n_strength_bins`` as an int if it is a positive int (a numpy integer too)."""
    if isinstance(n_strength_bins, np.integer):
        n_strength_bins = int(n_strength_bins)
    return positive_int("n_strength_bins", n_strength_bins)


def n_actions(n_strength_bins: int = 4) -> int:
    """Size of :class:`styling_env.DiscreteActions`' ``Discrete`` (the last index is STOP)."""
    return len(VALUES) * check_bins(n_strength_bins) + 1


def flat_actions(tool: Any, value: Any, strength: Any, n_strength_bins: int = 4) -> np.ndarray:
    """Native actions -> :class:`styling_env.DiscreteActions` indices (int64), vectorized:
    ``value_index(tool, value) * bins + strength_bin``, STOP (tool 10) -> the last index. The
    strength rounds to the nearest bin exactly as ``DiscreteActions.index`` does; the region and
    secondary parameters (``preserve``) are not representable and dropped."""
    bins = check_bins(n_strength_bins)
    t = np.asarray(tool, np.int64).reshape(-1)
    v = np.asarray(value, np.int64).reshape(-1)
    s = np.asarray(strength, np.float32).reshape(-1).astype(np.float64)
    is_stop = t == STOP_TOOL
    tt = np.where(is_stop, 0, t)
    b = np.clip(np.round(s * bins) - 1, 0, bins - 1).astype(np.int64)
    flat = (OFFSETS[tt] + v) * bins + b
    return np.where(is_stop, len(VALUES) * bins, flat)
