"""The action space's facts, in one place: STOP, the value rows, the strength bins, the flat
discrete encoding and the order of the semantic masks and regions.

The native action is ``Dict(tool, value, strength, region)``: ``tool`` indexes
:data:`~styling_env.tools.vocabulary.TOOL_NAMES` and :data:`STOP` (the last tool index) ends the
episode; ``value`` indexes that tool's vocabulary; ``region`` indexes :data:`REGIONS`.

The *flat* action (``DiscreteActions``, ``VectorDiscreteActions``, the d3rlpy and
stable-baselines3 agents, the dataset loaders) is one integer: a mixed-radix number over the
:meth:`FlatActions.digits` (today the value row and the strength bin,
``k = row * bins + bin``), with STOP the last index. The region is always ``all``. A new flat
field (a ``preserve`` set, say) is one more entry of :meth:`FlatActions.digits` plus how to read
it from and write it to the native action in :meth:`FlatActions.encode` / :meth:`~FlatActions.decode`;
a field of size 1 leaves every existing index unchanged.

Every function is vectorised: it takes Python ints, numpy arrays or torch tensors and returns
the same kind (a torch input gives torch output on its device).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

#: The semantic masks of an image, in channel order (``ImageBatch.masks``, the label maps of
#: procedural scenes, the tools' and the judge's region lookups).
MASK_NAMES: tuple[str, ...] = ("sky", "ground", "vegetation", "water", "buildings", "subject")

#: Regions a call can be restricted to, in the native ``region`` index order: ``all`` (no masks
#: needed), the masks in :data:`MASK_NAMES` order, and ``background`` (all but the subject).
REGIONS: tuple[str, ...] = ("all", *MASK_NAMES, "background")

# The vocabulary is imported after the two orders above: ``tools.call`` and ``tools.apply``
# read them from here while the ``tools`` package is initialising.
from .tools.vocabulary import N_VALUES, TOOL_NAMES, TOOLS, VALUES  # noqa: E402
from .validation import positive_int  # noqa: E402

#: The native action's ``tool`` index that ends an episode (one past the last tool).
STOP: int = len(TOOL_NAMES)

#: Number of values of each tool, in tool index order.
VOCAB_SIZES: tuple[int, ...] = tuple(len(TOOLS[t]) for t in TOOL_NAMES)

#: Row (in :data:`~styling_env.tools.vocabulary.VALUES`) of each tool's first value.
VALUE_OFFSETS: tuple[int, ...] = tuple(int(x) for x in np.cumsum((0, *VOCAB_SIZES[:-1])))

#: Strength bins of the flat action unless a caller chooses otherwise.
DEFAULT_STRENGTH_BINS: int = 4

_VOCAB = np.array(VOCAB_SIZES, np.int64)
_OFFSETS = np.array(VALUE_OFFSETS, np.int64)
#: The native ``(tool, value)`` of each row of VALUES.
_TOOL_OF_ROW = np.array([TOOL_NAMES.index(t) for t, _ in VALUES], np.int64)
_VALUE_OF_ROW = np.array([TOOLS[t].index(v) for t, v in VALUES], np.int64)


def check_bins(n_strength_bins: Any) -> int:
    """``n_strength_bins`` as an int if it is a positive int (a numpy integer too), else
    ``ValueError("n_strength_bins must be a positive int, got ...")``."""
    if isinstance(n_strength_bins, np.integer):
        n_strength_bins = int(n_strength_bins)
    return positive_int("n_strength_bins", n_strength_bins)


# --------------------------------------------------------------------------------------------
# Array helpers: one code path for numpy and torch


def _is_torch(*xs: Any) -> bool:
    return any(isinstance(x, torch.Tensor) for x in xs)


def _ints(x: Any, like_torch: bool, device: Any = None) -> Any:
    if like_torch:
        return torch.as_tensor(x, dtype=torch.int64, device=device)
    return np.asarray(x, dtype=np.int64)


def _table(a: np.ndarray, like_torch: bool, device: Any) -> Any:
    return torch.from_numpy(a).to(device) if like_torch else a


def _device(*xs: Any) -> Any:
    return next((x.device for x in xs if isinstance(x, torch.Tensor)), None)


def value_row(tool: Any, value: Any) -> Any:
    """Native ``(tool, value)`` indices -> their row in ``VALUES`` (``VALUE_OFFSETS[tool] +
    value``); ``tool`` must be a tool index (not STOP)."""
    t = _is_torch(tool, value)
    dev = _device(tool, value)
    return _table(_OFFSETS, t, dev)[_ints(tool, t, dev)] + _ints(value, t, dev)


def row_native(row: Any) -> tuple[Any, Any]:
    """Rows of ``VALUES`` -> native ``(tool, value)`` indices (the inverse of :func:`value_row`)."""
    t = _is_torch(row)
    dev = _device(row)
    r = _ints(row, t, dev)
    return _table(_TOOL_OF_ROW, t, dev)[r], _table(_VALUE_OF_ROW, t, dev)[r]


def strength_bin(strength: Any, n_strength_bins: int = DEFAULT_STRENGTH_BINS) -> Any:
    """Strengths in [0, 1] -> the nearest bin ``b`` of strength ``(b + 1) / bins`` (ties to
    even, as Python's ``round``), clipped to ``[0, bins - 1]``. Computed in float64."""
    bins = check_bins(n_strength_bins)
    if _is_torch(strength):
        s = strength.to(torch.float64)
        return torch.clamp(torch.round(s * bins) - 1, 0, bins - 1).to(torch.int64)
    s = np.asarray(strength, dtype=np.float64)
    return np.clip(np.round(s * bins) - 1, 0, bins - 1).astype(np.int64)


def bin_strength(b: Any, n_strength_bins: int = DEFAULT_STRENGTH_BINS) -> Any:
    """Strength bins -> their strength ``(b + 1) / bins`` (float64)."""
    bins = check_bins(n_strength_bins)
    if _is_torch(b):
        return (b.to(torch.int64) + 1).to(torch.float64) / bins
    return (np.asarray(b, dtype=np.int64) + 1) / bins


# --------------------------------------------------------------------------------------------
# The flat discrete action


@dataclass(frozen=True)
class FlatActions:
    """The flat discrete action over ``n_strength_bins`` strength bins (module docstring).

    ``FlatActions(4).size == 171 * 4 + 1``; index ``k < stop`` is value row ``k // 4`` at
    strength ``(k % 4 + 1) / 4``, region ``all``; ``k == stop`` is STOP.
    """

    n_strength_bins: int = DEFAULT_STRENGTH_BINS

    def __post_init__(self) -> None:
        object.__setattr__(self, "n_strength_bins", check_bins(self.n_strength_bins))

    def digits(self) -> tuple[tuple[str, int], ...]:
        """The fields of a (non-STOP) flat index, most significant first, with their sizes.
        The one place a new flat field is declared."""
        return (("row", N_VALUES), ("strength_bin", self.n_strength_bins))

    @property
    def stop(self) -> int:
        """The flat index of STOP (the last one)."""
        return int(np.prod([n for _, n in self.digits()]))

    @property
    def size(self) -> int:
        """Number of flat indices (the ``Discrete``'s ``n``)."""
        return self.stop + 1

    def _compose(self, parts: dict[str, Any]) -> Any:
        k = 0
        for name, n in self.digits():
            k = k * n + parts[name]
        return k

    def _split(self, k: Any) -> dict[str, Any]:
        parts: dict[str, Any] = {}
        for name, n in reversed(self.digits()):
            parts[name] = k % n
            k = k // n
        return parts

    def encode(self, tool: Any, value: Any, strength: Any) -> Any:
        """Native actions -> flat indices (int64), vectorised. ``tool == STOP`` gives
        :attr:`stop` (its value and strength are ignored); strengths round to the nearest bin
        (:func:`strength_bin`). ``tool``, ``value`` and ``strength`` have one shape (a
        strength of shape ``(*shape, 1)``, as datasets store it, is read as ``shape``).
        The region and secondary parameters are not representable and are dropped.

        Raises:
            ValueError: naming the first action with a tool outside ``[0, STOP]``, a value
                outside its tool's vocabulary or a strength outside [0, 1] (STOP rows' value
                and strength are not checked)."""
        t = _is_torch(tool, value, strength)
        dev = _device(tool, value, strength)
        tool = _ints(tool, t, dev)
        value = _ints(value, t, dev)
        if t:
            strength = torch.as_tensor(strength, device=dev).to(torch.float64)
        else:
            strength = np.asarray(strength, dtype=np.float64)
        if strength.shape != tool.shape and strength.shape == (*tool.shape, 1):
            strength = strength[..., 0]  # (N, 1), as datasets store it
        is_stop = tool == STOP
        _check_native(tool, value, strength, is_stop)
        where = torch.where if t else np.where
        parts = {
            "row": value_row(where(is_stop, 0, tool), where(is_stop, 0, value)),
            "strength_bin": strength_bin(where(is_stop, 1.0, strength), self.n_strength_bins),
        }
        return where(is_stop, self.stop, self._compose(parts))

    def decode(self, index: Any) -> dict[str, Any]:
        """Flat indices -> native arrays ``tool``, ``value`` (int64) and ``strength`` (float64),
        vectorised. STOP gives ``tool == STOP``; an index outside ``[0, stop]`` gives
        ``tool == -1``; for both, ``value`` is 0 and ``strength`` 0.0."""
        t = _is_torch(index)
        dev = _device(index)
        k = _ints(index, t, dev)
        call = (k >= 0) & (k < self.stop)
        where = torch.where if t else np.where
        parts = self._split(where(call, k, 0))
        tool, value = row_native(parts["row"])
        strength = bin_strength(parts["strength_bin"], self.n_strength_bins)
        tool = where(call, tool, where(k == self.stop, STOP, -1))
        return {
            "tool": tool,
            "value": where(call, value, 0),
            "strength": where(call, strength, 0.0),
        }

    def call(self, index: int) -> tuple[str, str, float] | None:
        """One flat index below :attr:`stop` -> ``(tool name, value name, strength)``; ``None``
        for STOP. Raises ``ValueError`` for an index outside ``[0, stop]``."""
        k = int(index)
        if not 0 <= k <= self.stop:
            raise ValueError(f"action {k} is outside [0, {self.stop}]")
        if k == self.stop:
            return None
        d = self.decode(k)
        tool = TOOL_NAMES[int(d["tool"])]
        return tool, TOOLS[tool][int(d["value"])], float(d["strength"])


def _check_native(tool: Any, value: Any, strength: Any, is_stop: Any) -> None:
    """``ValueError`` naming the first native action that has no flat index."""
    if isinstance(tool, torch.Tensor):
        vocab = torch.as_tensor(_VOCAB, device=tool.device)[tool.clamp(0, STOP - 1)]
    else:
        vocab = _VOCAB[np.clip(tool, 0, STOP - 1)]
    ok_strength = (strength >= 0) & (strength <= 1)  # False for NaN
    bad = (tool < 0) | (tool > STOP) | (~is_stop & ((value < 0) | (value >= vocab) | ~ok_strength))
    if bool(bad.any()):
        flat = bad.reshape(-1)
        i = int(flat.nonzero()[0][0]) if isinstance(flat, np.ndarray) else int(flat.nonzero()[0, 0])
        t, v, x = (float(a.reshape(-1)[i]) for a in (tool, value, strength))
        raise ValueError(
            f"native action {i} (tool {t:g}, value {v:g}, strength {x:g}) has no flat index: "
            f"tool must be in [0, {STOP}], value inside the tool's vocabulary and strength in "
            "[0, 1]"
        )


def n_actions(n_strength_bins: int = DEFAULT_STRENGTH_BINS) -> int:
    """Size of the flat ``Discrete`` over ``n_strength_bins`` bins (the last index is STOP)."""
    return FlatActions(n_strength_bins).size


def flat_actions(
    tool: Any, value: Any, strength: Any, n_strength_bins: int = DEFAULT_STRENGTH_BINS
) -> Any:
    """Native actions -> flat indices (:meth:`FlatActions.encode`)."""
    return FlatActions(n_strength_bins).encode(tool, value, strength)


__all__ = [
    "DEFAULT_STRENGTH_BINS", "MASK_NAMES", "REGIONS", "STOP", "VALUE_OFFSETS", "VOCAB_SIZES",
    "FlatActions", "bin_strength", "check_bins", "flat_actions", "n_actions", "row_native",
    "strength_bin", "value_row",
]  # fmt: skip
