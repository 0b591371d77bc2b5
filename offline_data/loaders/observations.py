"""Observation vectors and tuples of the d3rlpy (and SB3-style) agents.

:func:`observation_vector` lays an observation out as :func:`vector_layout` (one-hot context,
history, tools used, steps left, instruction encoding); :func:`observation_tuple` adds the
uint8 image: ``[image, vector]``, the observation :func:`~offline_data.loaders.to_d3rlpy`
stores, built here from live env observations. Neither needs d3rlpy.

The layout is that of an action library (:mod:`styling_env.libraries`): its context
dimensions (``context_nvec(library)``: 30 in ``v3``), its history indices (scaled by its
number of actions and values) and one call count per action. Every function takes
``library`` (default ``"v2"``, whose layout is the one it always was); observations of another
library's env (another context width, tool indices past the library's STOP) raise
:class:`~offline_data.errors.LibraryMismatchError`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from styling_env.actions import MASK_NAMES
from styling_env.context import context_nvec
from styling_env.images import resize_uint8
from styling_env.libraries import library as get_library
from styling_env.tools.call import REGIONS
from styling_env.tools.library_tables import DEFAULT_LIBRARY, LIBRARY_NAMES, check_library
from styling_env.wrappers import HashingEncoder

from ..errors import LibraryMismatchError

#: Dimension of the default (hashing) instruction encoder.
DEFAULT_ENCODER_DIM: int = 256


@dataclass(frozen=True)
class _Sizes:
    """What a library's vector layout is built from."""

    library: str
    nvec: np.ndarray  # states per context dimension
    offsets: np.ndarray  # first one-hot column of each context dimension
    history_scale: np.ndarray  # tool, value, strength, region, preserve bitmask
    stop: int  # the native STOP index: calls are tools 0..stop-1


@functools.cache
def _sizes(library: str) -> _Sizes:
    lib = get_library(check_library(library))
    nvec = np.array(context_nvec(lib.name), np.int64)
    offsets = np.concatenate([[0], np.cumsum(nvec)[:-1]]).astype(np.int64)
    # v2: (10 tools, 30 values, ...), the scale this layout always had
    scale = np.array(
        [lib.stop, lib.max_values, 1.0, len(REGIONS), 2 ** len(MASK_NAMES) - 1], np.float32
    )
    return _Sizes(lib.name, nvec, offsets, scale, lib.stop)


class _CallableEncoder:
    def __init__(self, fn: Callable[[list[str]], Any]) -> None:
        self.fn = fn
        self.dim: int | None = None

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.asarray(self.fn(texts), np.float32)
        self.dim = int(out.shape[1])
        return out


def make_encoder(encoder: Any = None, dim: int = DEFAULT_ENCODER_DIM) -> Any:
    """The instruction encoder: ``None``/``"hash"`` -> :class:`styling_env.wrappers.HashingEncoder`
    (``dim``, no download, deterministic); ``"minilm"`` -> the offline all-MiniLM-L6-v2 (384-d);
    an object with ``encode(list[str]) -> (n, d)``; or a callable ``list[str] -> (n, d)``."""
    if encoder is None or encoder == "hash":
        return HashingEncoder(dim)
    if encoder == "minilm":
        from styling_env.wrappers import MiniLMEncoder

        return MiniLMEncoder()
    if isinstance(encoder, str):  # every str has .encode(): never take a name for an encoder
        raise ValueError(
            f"encoder must be None, 'hash', 'minilm', an object with encode() or a callable; got "
            f"{encoder!r} (the planner's names such as 'minilm+hash' are PlannerConfig's and "
            "D3rlpyTrainConfig's, not the loaders')"
        )
    if hasattr(encoder, "encode"):
        return encoder
    if callable(encoder):
        return _CallableEncoder(encoder)
    raise ValueError(
        f"encoder must be None, 'hash', 'minilm', an object with encode() or a callable; got {encoder!r}"
    )


def _encode(encoder: Any, texts: Sequence[str]) -> np.ndarray:
    """Encode texts, each unique one once: ``(len(texts), d)`` float32."""
    uniq: dict[str, int] = {}
    idx = np.array([uniq.setdefault(str(t), len(uniq)) for t in texts], np.int64)
    emb = np.asarray(encoder.encode(list(uniq)), np.float32)
    if emb.ndim != 2 or emb.shape[0] != len(uniq):
        raise ValueError(f"the encoder returned shape {emb.shape} for {len(uniq)} texts")
    return emb[idx]


def vector_layout(
    max_steps: int = 8, instruction_dim: int = DEFAULT_ENCODER_DIM, library: str = DEFAULT_LIBRARY
) -> dict[str, tuple[int, int]]:
    """Segments ``name -> (start, stop)`` of :func:`observation_vector` in action ``library``:

    - ``context``: one-hot of each dimension's state (``sum(context_nvec(library))``: 152 for
      the ten tools' dimensions of ``v2`` and ``normal``, 324 with ``v3``'s twenty more);
    - ``history``: the ``(max_steps, 5)`` history flattened, filled rows scaled to [0, 1]
      (tool / actions, value / largest vocabulary, strength, region / 8, preserve bitmask /
      63; ``v2``: tool / 10, value / 30), padding rows left at -1 (-2 marks an invalid call's
      tool);
    - ``tools_used``: how many times each of the library's actions was called so far (10 in
      ``v2``, 20 in ``normal``, 30 in ``v3``);
    - ``steps_left``: ``steps_left / max_steps``;
    - ``instruction``: the instruction encoder's vector.
    """
    z = _sizes(library)
    sizes = [
        ("context", int(z.nvec.sum())),
        ("history", max_steps * len(z.history_scale)),
        ("tools_used", z.stop),
        ("steps_left", 1),
        ("instruction", instruction_dim),
    ]
    out, start = {}, 0
    for name, n in sizes:
        out[name] = (start, start + n)
        start += n
    return out


def _check_library_of(context: np.ndarray, history: np.ndarray, z: _Sizes) -> None:
    """:class:`LibraryMismatchError` when observations cannot be of library ``z.library``'s
    env: a context of another width, or a history tool index past its STOP."""
    width = context.shape[-1]
    if context.ndim == 2 and width != len(z.nvec):
        others = [n for n in LIBRARY_NAMES if len(context_nvec(n)) == width]
        raise LibraryMismatchError(
            f"the observations' context has {width} dimensions"
            + (f" (library {' / '.join(others)})" if others else "")
            + f" but this vector layout is of action library {z.library!r} "
            f"({len(z.nvec)} context dimensions): play the env of the model's library"
        )
    tools = history[..., 0]
    if (tools > z.stop).any():
        raise LibraryMismatchError(
            f"the observations' history holds tool index {int(tools.max())}, past STOP "
            f"({z.stop}) of action library {z.library!r}: they come from an env of another "
            "library"
        )


def vectors(
    context: np.ndarray, history: np.ndarray, steps_left: np.ndarray, emb: np.ndarray,
    library: str = DEFAULT_LIBRARY, *, index: np.ndarray | None = None,
) -> np.ndarray:  # fmt: skip
    """The :func:`vector_layout` rows ``(B, D)`` float32 of ``B`` observations' parts:
    ``context (B, dims)`` int states, ``history (B, max_steps, 5)``, ``steps_left (B,)`` and
    the encoded instructions ``emb (B, d)``, in action ``library``. With ``index (B,)``,
    ``emb`` is a table ``(U, d)`` and row ``i`` gets ``emb[index[i]]``, copied in chunks into
    the result (no ``(B, d)`` intermediate: with hashed words ``d`` is 8,576 and a 10,000-episode
    tier's ``B`` over 50,000)."""
    z = _sizes(library)
    b, max_steps = history.shape[0], history.shape[1]
    _check_library_of(context, history, z)
    if index is not None:
        index = np.asarray(index)
        if index.shape != (b,) or (b and (index.min() < 0 or index.max() >= emb.shape[0])):
            raise ValueError(
                f"index must be ({b},) rows of the instruction table {emb.shape}, got {index.shape}"
            )
    elif emb.shape[0] != b:
        raise ValueError(
            f"observation parts disagree: {b} histories but {emb.shape[0]} instructions"
        )
    if context.shape != (b, len(z.nvec)) or steps_left.shape != (b,):
        raise ValueError(
            f"observation parts disagree: context {context.shape}, history {history.shape}, "
            f"steps_left {steps_left.shape}, instruction {emb.shape}"
        )
    if ((context < 0) | (context >= z.nvec)).any():
        raise ValueError(
            f"context states must lie in [0, context_nvec({z.library!r})) = {tuple(z.nvec)}"
        )
    layout = vector_layout(max_steps, emb.shape[1], z.library)
    out = np.zeros((b, layout["instruction"][1]), np.float32)
    a, _ = layout["context"]
    out[np.arange(b)[:, None], a + z.offsets[None, :] + context] = 1.0
    h = history.astype(np.float32)
    filled = h[..., :1] >= 0
    a, e = layout["history"]
    out[:, a:e] = np.where(filled, h / z.history_scale, h).reshape(b, -1)
    a, e = layout["tools_used"]
    tools = h[..., 0]
    out[:, a:e] = (tools[:, :, None] == np.arange(z.stop)[None, None, :]).sum(1)
    a, _ = layout["steps_left"]
    out[:, a] = steps_left / max_steps
    a, e = layout["instruction"]
    if index is None:
        out[:, a:e] = emb
    else:
        for i in range(0, b, 4096):
            out[i : i + 4096, a:e] = emb[index[i : i + 4096]]
    return out


def observation_vector(
    observation: Mapping[str, Any], encoder: Any = None, library: str = DEFAULT_LIBRARY
) -> np.ndarray:
    """The vector part of the d3rlpy observation (:func:`vector_layout`) from env observations
    of action ``library``'s env.

    ``observation``: one observation (``context`` ``(10,)``; ``(30,)`` in ``v3``) -> ``(D,)``,
    or a batch (``context`` ``(B, 10)``, ``instruction`` a list of B strings, as the vector env
    gives) -> ``(B, D)``. An ``instruction`` already encoded (``EncodeInstruction``: floats
    ``(d,)`` / ``(B, d)``) is used as is. ``encoder`` as in :func:`make_encoder`: pass the one
    the data was built with (``dataset.transition_info.encoder``). Observations of another
    library's env raise :class:`~offline_data.errors.LibraryMismatchError`.
    """
    z = _sizes(library)
    ctx = np.asarray(observation["context"], np.int64)
    single = ctx.ndim == 1
    hist = np.asarray(observation["history"], np.float32)
    _check_library_of(ctx.reshape(-1, ctx.shape[-1]), hist, z)
    ctx = ctx.reshape(-1, len(z.nvec))
    hist = hist[None] if hist.ndim == 2 else hist
    steps = np.asarray(observation["steps_left"], np.float32).reshape(-1)
    inst = observation["instruction"]
    if isinstance(inst, str):
        inst = [inst]
    arr = np.asarray(inst) if not isinstance(inst, list | tuple) else None
    if arr is not None and np.issubdtype(arr.dtype, np.number):
        emb = arr.astype(np.float32).reshape(ctx.shape[0], -1)
    else:
        emb = _encode(make_encoder(encoder), [str(t) for t in inst])
    out = vectors(ctx, hist, steps, emb, z.library)
    return out[0] if single else out


def observation_tuple(
    observation: Mapping[str, Any],
    encoder: Any = None,
    *,
    with_source: bool = False,
    text_only: bool = False,
    work_size: int | None = None,
    library: str = DEFAULT_LIBRARY,
) -> Any:
    """The d3rlpy observation of env observations (one or a batch) of action ``library``'s
    env: ``[image (B, C, H, W) uint8, vector (B, D) float32]`` (``C`` = 6 with ``with_source``:
    current then source), or the vector alone when ``text_only``; images resized to
    ``work_size`` (as :func:`to_d3rlpy` stored them). Feed it to ``algo.predict``."""
    vec = observation_vector(observation, encoder, library)
    vec = vec[None] if vec.ndim == 1 else vec
    if text_only:
        return vec
    img = np.asarray(observation["image"])
    img = img[None] if img.ndim == 3 else img
    if img.dtype != np.uint8 or img.shape[-1] != 3:
        raise ValueError(f"images must be (B, H, W, 3) uint8, got {img.dtype} {img.shape}")
    chans = [img.transpose(0, 3, 1, 2)]
    if with_source:
        src = np.asarray(observation["source"])
        chans.append((src[None] if src.ndim == 3 else src).transpose(0, 3, 1, 2))
    return [resize_uint8(np.ascontiguousarray(np.concatenate(chans, axis=1)), work_size), vec]
