"""Observation vectors and tuples of the d3rlpy (and SB3-style) agents.

:func:`observation_vector` lays an observation out as :func:`vector_layout` (one-hot context,
history, tools used, steps left, instruction encoding); :func:`observation_tuple` adds the
uint8 image: ``[image, vector]``, the observation :func:`~offline_data.loaders.to_d3rlpy`
stores, built here from live env observations. Neither needs d3rlpy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from styling_env.actions import MASK_NAMES
from styling_env.context import CONTEXT_NVEC
from styling_env.images import resize_uint8
from styling_env.tools.call import REGIONS
from styling_env.tools.vocabulary import MAX_VALUES, TOOL_NAMES
from styling_env.wrappers import HashingEncoder

#: Dimension of the default (hashing) instruction encoder.
DEFAULT_ENCODER_DIM: int = 256
_CTX_NVEC = np.array(CONTEXT_NVEC, np.int64)
_CTX_OFFSETS = np.concatenate([[0], np.cumsum(_CTX_NVEC)[:-1]]).astype(np.int64)
_HISTORY_SCALE = np.array(
    [len(TOOL_NAMES), MAX_VALUES, 1.0, len(REGIONS), 2 ** len(MASK_NAMES) - 1], np.float32
)


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
    max_steps: int = 8, instruction_dim: int = DEFAULT_ENCODER_DIM
) -> dict[str, tuple[int, int]]:
    """Segments ``name -> (start, stop)`` of :func:`observation_vector`:

    - ``context``: one-hot of each dimension's state (``sum(CONTEXT_NVEC)``);
    - ``history``: the ``(max_steps, 5)`` history flattened, filled rows scaled to [0, 1]
      (tool / 10, value / 30, strength, region / 8, preserve bitmask / 63), padding rows left
      at -1 (-2 marks an invalid call's tool);
    - ``tools_used``: how many times each of the ten tools was called so far;
    - ``steps_left``: ``steps_left / max_steps``;
    - ``instruction``: the instruction encoder's vector.
    """
    sizes = [
        ("context", int(_CTX_NVEC.sum())),
        ("history", max_steps * len(_HISTORY_SCALE)),
        ("tools_used", len(TOOL_NAMES)),
        ("steps_left", 1),
        ("instruction", instruction_dim),
    ]
    out, start = {}, 0
    for name, n in sizes:
        out[name] = (start, start + n)
        start += n
    return out


def vectors(
    context: np.ndarray, history: np.ndarray, steps_left: np.ndarray, emb: np.ndarray
) -> np.ndarray:
    b, max_steps = history.shape[0], history.shape[1]
    if context.shape != (b, len(CONTEXT_NVEC)) or steps_left.shape != (b,) or emb.shape[0] != b:
        raise ValueError(
            f"observation parts disagree: context {context.shape}, history {history.shape}, "
            f"steps_left {steps_left.shape}, instruction {emb.shape}"
        )
    if ((context < 0) | (context >= _CTX_NVEC)).any():
        raise ValueError(f"context states must lie in [0, CONTEXT_NVEC) = {CONTEXT_NVEC}")
    layout = vector_layout(max_steps, emb.shape[1])
    out = np.zeros((b, layout["instruction"][1]), np.float32)
    a, _ = layout["context"]
    out[np.arange(b)[:, None], a + _CTX_OFFSETS[None, :] + context] = 1.0
    h = history.astype(np.float32)
    filled = h[..., :1] >= 0
    a, z = layout["history"]
    out[:, a:z] = np.where(filled, h / _HISTORY_SCALE, h).reshape(b, -1)
    a, z = layout["tools_used"]
    tools = h[..., 0]
    out[:, a:z] = (tools[:, :, None] == np.arange(len(TOOL_NAMES))[None, None, :]).sum(1)
    a, _ = layout["steps_left"]
    out[:, a] = steps_left / max_steps
    a, z = layout["instruction"]
    out[:, a:z] = emb
    return out


def observation_vector(observation: Mapping[str, Any], encoder: Any = None) -> np.ndarray:
    """The vector part of the d3rlpy observation (:func:`vector_layout`) from env observations.

    ``observation``: one observation (``context`` ``(10,)``) -> ``(D,)``, or a batch
    (``context`` ``(B, 10)``, ``instruction`` a list of B strings, as the vector env gives) ->
    ``(B, D)``. An ``instruction`` already encoded (``EncodeInstruction``: floats ``(d,)`` /
    ``(B, d)``) is used as is. ``encoder`` as in :func:`make_encoder`: pass the one the data was
    built with (``dataset.transition_info.encoder``).
    """
    ctx = np.asarray(observation["context"], np.int64)
    single = ctx.ndim == 1
    ctx = ctx.reshape(-1, len(CONTEXT_NVEC))
    hist = np.asarray(observation["history"], np.float32)
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
    out = vectors(ctx, hist, steps, emb)
    return out[0] if single else out


def observation_tuple(
    observation: Mapping[str, Any],
    encoder: Any = None,
    *,
    with_source: bool = False,
    text_only: bool = False,
    work_size: int | None = None,
) -> Any:
    """The d3rlpy observation of env observations (one or a batch): ``[image (B, C, H, W)
    uint8, vector (B, D) float32]`` (``C`` = 6 with ``with_source``: current then source), or the
    vector alone when ``text_only``; images resized to ``work_size`` (as :func:`to_d3rlpy`
    stored them). Feed it to ``algo.predict``."""
    vec = observation_vector(observation, encoder)
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
