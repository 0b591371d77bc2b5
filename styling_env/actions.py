"""The action space's facts, in one place: STOP, the value rows, the strength bins, the flat
discrete encoding and the order of the semantic masks and regions.

The native action is ``Dict(tool, value, strength, region, preserve)``: ``tool`` indexes
:data:`~styling_env.tools.vocabulary.TOOL_NAMES` and :data:`STOP` (the last tool index) ends the
episode; ``value`` indexes that tool's vocabulary; ``region`` indexes :data:`REGIONS`;
``preserve`` is one bit per mask of :data:`MASK_NAMES` (in that order): the masked regions the
call must leave untouched ("keep the sky as it is"). A dict without ``preserve`` preserves
nothing. :func:`preserve_bits` / :func:`preserve_names` convert between bits and region names,
:func:`preserve_bitmask` packs bits into the int the observation's history stores.

The *flat* action (``DiscreteActions``, ``VectorDiscreteActions``, the d3rlpy and
stable-baselines3 agents, the dataset loaders) is one integer: a mixed-radix number over the
:meth:`FlatActions.digits` (the value row, the strength bin and, with ``preserve=True``, the
index of the preserve set in :data:`PRESERVE_SETS`: ``k = (row * bins + bin) * 12 + set``), with
STOP the last index. The region is always ``all``. A new flat field is one more entry of
:meth:`FlatActions.digits` plus how to read it from and write it to the native action in
:meth:`FlatActions.encode` / :meth:`~FlatActions.decode`; a field of size 1 leaves every existing
index unchanged (``FlatActions(bins, preserve=False)`` is the 685-index space of earlier
releases, index for index).

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
from .tools.library_tables import (  # noqa: E402
    DEFAULT_LIBRARY,
    check_library,
    library_values,
    row_tables,
)
from .tools.vocabulary import TOOL_NAMES, TOOLS, VALUES  # noqa: E402
from .validation import positive_int  # noqa: E402

#: The native action's ``tool`` index that ends an episode (one past the last tool).
STOP: int = len(TOOL_NAMES)

#: Number of values of each tool, in tool index order.
VOCAB_SIZES: tuple[int, ...] = tuple(len(TOOLS[t]) for t in TOOL_NAMES)

#: Row (in :data:`~styling_env.tools.vocabulary.VALUES`) of each tool's first value.
VALUE_OFFSETS: tuple[int, ...] = tuple(int(x) for x in np.cumsum((0, *VOCAB_SIZES[:-1])))

#: The preserve sets the flat action can express: none, each non-subject mask alone, the subject
#: alone, and each non-subject mask with the subject. These are the sets a task's constraints
#: can ask for (at most one ``preserve_region`` over a non-subject mask, optionally plus
#: ``preserve_subject``). Names are in :data:`MASK_NAMES` order within a set.
PRESERVE_SETS: tuple[tuple[str, ...], ...] = (
    (),
    *((m,) for m in MASK_NAMES[:-1]),
    ("subject",),
    *((m, "subject") for m in MASK_NAMES[:-1]),
)

#: Strength bins of the flat action unless a caller chooses otherwise.
DEFAULT_STRENGTH_BINS: int = 4

_VOCAB = np.array(VOCAB_SIZES, np.int64)
#: Bitmask (sum of 2**i over set bits) of each preserve set; -1 for a mask no set has.
_SET_MASKS = np.array([sum(2 ** MASK_NAMES.index(m) for m in s) for s in PRESERVE_SETS], np.int64)
_SET_OF_MASK = np.full(2 ** len(MASK_NAMES), -1, np.int64)
_SET_OF_MASK[_SET_MASKS] = np.arange(len(PRESERVE_SETS))
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


def value_row(tool: Any, value: Any, library: str = DEFAULT_LIBRARY) -> Any:
    """Native ``(tool, value)`` indices -> their row in ``VALUES`` (``VALUE_OFFSETS[tool] +
    value``), or in ``library``'s rows (``styling_env.libraries.Library.rows``); ``tool`` must
    be a tool index (not STOP)."""
    t = _is_torch(tool, value)
    dev = _device(tool, value)
    offsets = _OFFSETS if library == DEFAULT_LIBRARY else row_tables(library)["offsets"]
    return _table(offsets, t, dev)[_ints(tool, t, dev)] + _ints(value, t, dev)


def row_native(row: Any, library: str = DEFAULT_LIBRARY) -> tuple[Any, Any]:
    """Rows of ``VALUES`` (or of ``library``'s rows) -> native ``(tool, value)`` indices (the
    inverse of :func:`value_row`)."""
    t = _is_torch(row)
    dev = _device(row)
    r = _ints(row, t, dev)
    if library == DEFAULT_LIBRARY:
        tools, values = _TOOL_OF_ROW, _VALUE_OF_ROW
    else:
        tables = row_tables(library)
        tools, values = tables["tool_of_row"], tables["value_of_row"]
    return _table(tools, t, dev)[r], _table(values, t, dev)[r]


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


def preserve_bits(names: Any) -> np.ndarray:
    """Region names (an iterable of :data:`MASK_NAMES` entries) -> the native ``preserve`` bits,
    an ``(6,)`` int8 array in :data:`MASK_NAMES` order.

    Raises:
        ValueError: naming a region that is not a mask (``all`` and ``background`` have no bit:
            a call keeps named masks)."""
    if isinstance(names, str):
        names = (names,)
    out = np.zeros(len(MASK_NAMES), np.int8)
    for name in names:
        if name not in MASK_NAMES:
            raise ValueError(
                f"cannot preserve {name!r}: the preserve bits name masks, one of "
                f"{', '.join(MASK_NAMES)}"
            )
        out[MASK_NAMES.index(name)] = 1
    return out


def preserve_names(bits: Any) -> tuple[str, ...]:
    """Native ``preserve`` bits ``(6,)`` -> the region names they set, in :data:`MASK_NAMES`
    order. Raises ``ValueError`` for a shape other than ``(6,)`` or a value other than 0/1."""
    return tuple(MASK_NAMES[i] for i in np.flatnonzero(_check_bits(bits)))


def preserve_bitmask(bits: Any) -> Any:
    """Preserve bits ``(..., 6)`` -> their bitmask ``sum(2**i for set bit i)`` (int64, shape
    ``...``): the history observation's fifth column. Vectorised over numpy and torch."""
    if _is_torch(bits):
        w = 2 ** torch.arange(len(MASK_NAMES), device=bits.device)
        return ((bits != 0).to(torch.int64) * w).sum(-1)
    b = np.asarray(bits)
    return ((b != 0).astype(np.int64) * (2 ** np.arange(len(MASK_NAMES)))).sum(-1)


def bitmask_bits(mask: Any) -> Any:
    """Bitmasks (ints in ``[0, 63]``) -> preserve bits ``(..., 6)`` int64 (the inverse of
    :func:`preserve_bitmask`). Negative masks (history padding) give all zeros."""
    t = _is_torch(mask)
    dev = _device(mask)
    m = _ints(mask, t, dev)
    m = torch.clamp(m, min=0) if t else np.clip(m, 0, None)
    shifts = _table(np.arange(len(MASK_NAMES), dtype=np.int64), t, dev)
    return (m[..., None] >> shifts) & 1


def preserve_set_index(bits: Any) -> Any:
    """Preserve bits ``(..., 6)`` -> the index of their set in :data:`PRESERVE_SETS` (int64,
    shape ``...``). Raises ``ValueError`` on a bit other than 0 or 1 (``decode_native`` refuses
    those too) and naming the first set that is not one of them."""
    t = _is_torch(bits)
    dev = _device(bits)
    if not bool(((bits == 0) | (bits == 1)).all()) if t else not np.isin(np.asarray(bits), (0, 1)).all():  # fmt: skip
        raise ValueError("preserve bits must be 0 or 1, got values outside {0, 1}")
    mask = preserve_bitmask(bits)
    idx = _table(_SET_OF_MASK, t, dev)[mask]
    if bool((idx < 0).any()):
        flat = (idx < 0).reshape(-1)
        i = int(flat.nonzero()[0][0]) if not t else int(flat.nonzero()[0, 0])
        names = tuple(
            MASK_NAMES[j] for j in range(len(MASK_NAMES)) if (int(mask.reshape(-1)[i]) >> j) & 1
        )
        raise ValueError(
            f"preserve set {names} (action {i}) has no flat index: the flat action knows "
            f"{len(PRESERVE_SETS)} sets (styling_env.actions.PRESERVE_SETS: none, one mask, the "
            "subject, or one non-subject mask with the subject)"
        )
    return idx


def _check_bits(bits: Any) -> np.ndarray:
    b = np.asarray(bits)
    if b.shape != (len(MASK_NAMES),):
        raise ValueError(
            f"preserve must be {len(MASK_NAMES)} bits ({', '.join(MASK_NAMES)}), got shape {b.shape}"
        )
    if b.dtype == bool:
        return b.astype(np.int8)
    if not (np.issubdtype(b.dtype, np.integer) or np.issubdtype(b.dtype, np.floating)) or not (
        np.isin(b, (0, 1)).all()
    ):
        raise ValueError(f"preserve bits must be 0 or 1, got {b.tolist()!r}")
    return b.astype(np.int8)


# --------------------------------------------------------------------------------------------
# The flat discrete action


@dataclass(frozen=True)
class FlatActions:
    """The flat discrete action over ``n_strength_bins`` strength bins and, with
    ``preserve=True``, the preserve sets of :data:`PRESERVE_SETS` (module docstring).

    ``FlatActions(4).size == 171 * 4 + 1``; index ``k < stop`` is value row ``k // 4`` at
    strength ``(k % 4 + 1) / 4``, region ``all``, nothing preserved; ``k == stop`` is STOP.
    ``FlatActions(4, preserve=True).size == 171 * 4 * 12 + 1``: index ``k < stop`` is
    ``((row * 4) + bin) * 12 + set``.
    """

    n_strength_bins: int = DEFAULT_STRENGTH_BINS
    preserve: bool = False
    library: str = DEFAULT_LIBRARY

    def __post_init__(self) -> None:
        object.__setattr__(self, "n_strength_bins", check_bins(self.n_strength_bins))
        if not isinstance(self.preserve, bool | np.bool_):
            raise ValueError(f"preserve must be True or False, got {self.preserve!r}")
        object.__setattr__(self, "preserve", bool(self.preserve))
        check_library(self.library)

    @property
    def tool_stop(self) -> int:
        """The native ``tool`` index of STOP in this encoding's library."""
        return len(row_tables(self.library)["vocab"])

    def digits(self) -> tuple[tuple[str, int], ...]:
        """The fields of a (non-STOP) flat index, most significant first, with their sizes.
        The one place a new flat field is declared."""
        return (
            ("row", len(row_tables(self.library)["tool_of_row"])),
            ("strength_bin", self.n_strength_bins),
            ("preserve", len(PRESERVE_SETS) if self.preserve else 1),
        )

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

    def encode(self, tool: Any, value: Any, strength: Any, preserve: Any = None) -> Any:
        """Native actions -> flat indices (int64), vectorised. ``tool == STOP`` gives
        :attr:`stop` (its value, strength and preserve bits are ignored); strengths round to
        the nearest bin (:func:`strength_bin`). ``tool``, ``value`` and ``strength`` have one
        shape (a strength of shape ``(*shape, 1)``, as datasets store it, is read as
        ``shape``); ``preserve`` (None: nothing preserved) is bits of shape ``(*shape, 6)``.
        With ``preserve=False`` (this encoding's field) the bits are not representable and are
        dropped, like the region and the secondary parameters.

        Raises:
            ValueError: naming the first action with a tool outside ``[0, STOP]``, a value
                outside its tool's vocabulary, a strength outside [0, 1] or (with
                ``preserve=True``) a preserve set outside :data:`PRESERVE_SETS` (STOP rows'
                value, strength and preserve are not checked)."""
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
        is_stop = tool == self.tool_stop
        _check_native(tool, value, strength, is_stop, self.library)
        where = torch.where if t else np.where
        parts = {
            "row": value_row(where(is_stop, 0, tool), where(is_stop, 0, value), self.library),
            "strength_bin": strength_bin(where(is_stop, 1.0, strength), self.n_strength_bins),
            "preserve": 0,
        }
        if self.preserve and preserve is not None:
            bits = torch.as_tensor(preserve, device=dev) if t else np.asarray(preserve)
            if tuple(bits.shape) != (*tool.shape, len(MASK_NAMES)):
                raise ValueError(
                    f"preserve must have shape {(*tool.shape, len(MASK_NAMES))} (bits in "
                    f"{', '.join(MASK_NAMES)} order), got {tuple(bits.shape)}"
                )
            bits = where(is_stop[..., None], 0, bits)
            parts["preserve"] = preserve_set_index(bits)
        return where(is_stop, self.stop, self._compose(parts))

    def decode(self, index: Any) -> dict[str, Any]:
        """Flat indices -> native arrays ``tool``, ``value`` (int64), ``strength`` (float64)
        and ``preserve`` (int64 bits, shape ``(*shape, 6)``), vectorised. STOP gives
        ``tool == STOP``; an index outside ``[0, stop]`` gives ``tool == -1``; for both,
        ``value`` is 0, ``strength`` 0.0 and no bit is set."""
        t = _is_torch(index)
        dev = _device(index)
        k = _ints(index, t, dev)
        call = (k >= 0) & (k < self.stop)
        where = torch.where if t else np.where
        parts = self._split(where(call, k, 0))
        tool, value = row_native(parts["row"], self.library)
        strength = bin_strength(parts["strength_bin"], self.n_strength_bins)
        tool = where(call, tool, where(k == self.stop, self.tool_stop, -1))
        bits = bitmask_bits(_table(_SET_MASKS, t, dev)[parts["preserve"]])
        return {
            "tool": tool,
            "value": where(call, value, 0),
            "strength": where(call, strength, 0.0),
            "preserve": where(call[..., None], bits, 0),
        }

    def call(self, index: int) -> tuple[str, str, float] | None:
        """One flat index below :attr:`stop` -> ``(tool name, value name, strength)``; ``None``
        for STOP. Raises ``ValueError`` for an index outside ``[0, stop]``. The preserve set
        is not part of the tuple: :meth:`preserved` gives it (``styling_env.wrappers.flat_call``
        builds the whole ``ToolCall``)."""
        k = int(index)
        if not 0 <= k <= self.stop:
            raise ValueError(f"action {k} is outside [0, {self.stop}]")
        if k == self.stop:
            return None
        d = self.decode(k)
        tool, values = library_values(self.library)[int(d["tool"])]
        return tool, values[int(d["value"])], float(d["strength"])

    def preserved(self, index: int) -> tuple[str, ...]:
        """The regions flat index ``index`` preserves (an entry of :data:`PRESERVE_SETS`; empty
        for STOP and for ``preserve=False``)."""
        return preserve_names(self.decode(int(index))["preserve"])


def _check_native(
    tool: Any, value: Any, strength: Any, is_stop: Any, name: str = DEFAULT_LIBRARY
) -> None:
    """``ValueError`` naming the first native action that has no flat index."""
    sizes = _VOCAB if name == DEFAULT_LIBRARY else row_tables(name)["vocab"]
    stop = len(sizes)
    if isinstance(tool, torch.Tensor):
        vocab = torch.as_tensor(sizes, device=tool.device)[tool.clamp(0, stop - 1)]
    else:
        vocab = sizes[np.clip(tool, 0, stop - 1)]
    ok_strength = (strength >= 0) & (strength <= 1)  # False for NaN
    bad = (tool < 0) | (tool > stop) | (~is_stop & ((value < 0) | (value >= vocab) | ~ok_strength))
    if bool(bad.any()):
        flat = bad.reshape(-1)
        i = int(flat.nonzero()[0][0]) if isinstance(flat, np.ndarray) else int(flat.nonzero()[0, 0])
        t, v, x = (float(a.reshape(-1)[i]) for a in (tool, value, strength))
        raise ValueError(
            f"native action {i} (tool {t:g}, value {v:g}, strength {x:g}) has no flat index: "
            f"tool must be in [0, {stop}], value inside the tool's vocabulary and strength in "
            "[0, 1]"
        )


def n_actions(
    n_strength_bins: int = DEFAULT_STRENGTH_BINS,
    preserve: bool = False,
    library: str = DEFAULT_LIBRARY,
) -> int:
    """Size of the flat ``Discrete`` over ``n_strength_bins`` bins (and the preserve sets with
    ``preserve=True``) in ``library``; the last index is STOP."""
    return FlatActions(n_strength_bins, preserve, library).size


def flat_actions(
    tool: Any,
    value: Any,
    strength: Any,
    n_strength_bins: int = DEFAULT_STRENGTH_BINS,
    preserve: Any = None,
) -> Any:
    """Native actions -> flat indices (:meth:`FlatActions.encode`): with ``preserve`` bits
    ``(..., 6)`` the encoding includes the preserve digit, without it it is the plain one."""
    return FlatActions(n_strength_bins, preserve is not None).encode(
        tool, value, strength, preserve
    )


__all__ = [
    "DEFAULT_STRENGTH_BINS", "MASK_NAMES", "PRESERVE_SETS", "REGIONS", "STOP", "VALUE_OFFSETS",
    "VOCAB_SIZES", "FlatActions", "bin_strength", "bitmask_bits", "check_bins", "flat_actions",
    "n_actions", "preserve_bitmask", "preserve_bits", "preserve_names", "preserve_set_index",
    "row_native", "strength_bin", "value_row",
]  # fmt: skip
