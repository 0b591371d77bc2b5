"""Episodes -> a d3rlpy buffer, and the d3rlpy encoder for its ``[image, vector]`` observations.

- :func:`to_d3rlpy` -> ``d3rlpy.dataset.MDPDataset`` over :class:`~styling_env.DiscreteActions`
  with tuple observations ``[image, vector]`` (:mod:`.observations`), built from the episodes
  here (d3rlpy's ``get_minari`` misaligns observations and rejects Dict spaces).
- :class:`TupleEncoderFactory`: the encoder factory for those observations (a small CNN on the
  image, an MLP on the vector), registered with d3rlpy under ``"image_styling_tuple"`` when this
  module is imported, as d3rlpy registers its own factories; a saved model's config names that
  type, so importing this module is what lets d3rlpy rebuild one.

This is the only loader module that imports d3rlpy (about 3 s, and a gym deprecation warning):
:mod:`offline_data.loaders` imports it on the first use of one of its names.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from d3rlpy import ActionSpace
from d3rlpy.dataset import MDPDataset
from d3rlpy.models import encoders as d3rlpy_encoders
from d3rlpy.models.encoders import EncoderFactory, register_encoder_factory
from d3rlpy.models.torch import Encoder, EncoderWithAction
from torch import nn

from styling_env.actions import FlatActions, check_bins
from styling_env.images import resize_uint8
from styling_env.tools.library_tables import DEFAULT_LIBRARY
from styling_env.validation import choice

from ..weights import check_method, sample_weights
from .observations import make_encoder, vector_layout, vectors
from .records import Groups, collect

#: ``to_d3rlpy``'s rewards: the env's per step, or the trajectory's quality on its last step.
REWARDS: tuple[str, ...] = ("env", "r")


# --------------------------------------------------------------------------------------------
# The buffer


@dataclass
class TransitionInfo:
    """What :func:`to_d3rlpy` attaches to the MDPDataset (``dataset.transition_info``): per
    transition, in the buffer's order (``dataset.buffer[i]`` is step ``step[i]`` of episode
    ``episode[i]``), and how observations were built (pass ``encoder``, ``with_source`` and
    ``text_only`` to :func:`observation_tuple` at evaluation time)."""

    weight: np.ndarray  # (N,) float32, sample_weights(method, r per episode) per transition
    r: np.ndarray  # (N,) float32
    episode: np.ndarray  # (N,) int64 episode id
    step: np.ndarray  # (N,) int64
    flat_action: np.ndarray  # (N,) int64
    task_id: list[str]
    method: str
    reward: str
    n_strength_bins: int
    encoder: Any
    with_source: bool
    text_only: bool
    layout: dict[str, tuple[int, int]]
    #: whether the flat actions include the preserve digit (``FlatActions(bins, preserve=...)``)
    flat_preserve: bool = False
    #: whether any step of the data preserves a region (what ``flat_preserve=None`` decides by)
    has_preserve: bool = False
    #: the action library the episodes were played in: the flat actions are
    #: ``FlatActions(n_strength_bins, flat_preserve, library)`` and the vector is laid out as
    #: ``vector_layout(..., library)`` (pass it to :func:`observation_tuple`)
    library: str = DEFAULT_LIBRARY


def to_d3rlpy(
    data: Any,
    *,
    n_strength_bins: int = 4,
    image_size: int | None = None,
    method: str = "s",
    reward: str = "env",
    text_only: bool = False,
    with_source: bool = False,
    encoder: Any = None,
    groups: Groups | None = None,
    work_size: int | None = None,
    flat_preserve: bool | None = False,
) -> Any:
    """Episodes -> ``d3rlpy.dataset.MDPDataset`` (discrete actions of
    ``DiscreteActions(n_strength_bins, preserve=flat_preserve)`` in the action library the
    episodes were played in, i.e. ``FlatActions(n_strength_bins, flat_preserve, library)``;
    ``action_size`` = :func:`n_actions` of that library). ``flat_preserve=True`` includes the
    preserve digit (each call's preserve set of ``PRESERVE_SETS``), ``False`` (default) the
    plain indices, ``None`` the digit iff some step of the data preserves a region.

    Every library's episodes load (one library per call: mixing them raises
    :class:`~offline_data.errors.LibraryMismatchError`); the vector is laid out for that
    library (:func:`vector_layout`), and ``dataset.transition_info.library`` records it.

    Observations are tuples ``[image (N, C, H, W) uint8, vector (N, D) float32]``, the vector
    as :func:`vector_layout` (one-hot context, history, tools used, steps left, instruction
    encoding). ``C`` = 3 (the current image) by default; ``with_source`` stacks the source as
    channels 3-5 (doubles the image memory; the vector's history already says what was done
    to the source). ``text_only`` gives the vector alone (then d3rlpy's default encoder works).
    ``work_size`` shrinks larger stored images to it (e.g. 128 px datasets to 64 px: 4x faster
    updates); :func:`observation_tuple` resizes live observations to the model's size.
    Use :class:`TupleEncoderFactory` as the algorithm's ``encoder_factory`` for tuples; it
    scales the uint8 image by 1/255 itself (no observation scaler needed).

    Alignment: step ``t``'s observation goes with action ``t`` (never the T + 1 shift of
    ``d3rlpy.datasets.get_minari``). A terminated episode (STOP) ends with ``terminals = 1``
    on its last step; a truncated one (``max_steps`` reached) gets its final observation
    appended as an extra row with ``timeouts = 1`` (and a STOP placeholder action that is never
    a transition), so its last real step still has its next observation and the buffer holds
    exactly one transition per step. Should a step be both terminated and truncated, it counts
    as terminated (d3rlpy forbids both).

    ``reward="env"``: the env's per-step rewards; ``reward="r"``: 0 except the trajectory's
    quality ``r`` on its last step. The method's weights and row bookkeeping are attached as
    ``dataset.transition_info`` (:class:`TransitionInfo`) and ``dataset.sample_weights``.
    """
    method = check_method(method)
    bins = check_bins(n_strength_bins)
    explain_default_encoders()
    choice("reward", reward, REWARDS)
    if text_only and with_source:
        raise ValueError("with_source needs images; it cannot be combined with text_only")
    enc = make_encoder(encoder)
    # shrink each episode as it is read (area averaging, image by image: the same result as
    # resizing the whole array afterwards, without holding it at the stored size)
    shrink_fn = None
    if work_size is not None and not text_only:
        shrink_fn = lambda a: resize_uint8(a, work_size if work_size < a.shape[-1] else None)  # noqa: E731
    c = collect(
        data, text_only=text_only, image_size=image_size, final_rows=True, groups=groups,
        shrink=shrink_fn,
    )  # fmt: skip
    emb_u = np.asarray(enc.encode(c.instructions), np.float32)
    if emb_u.ndim != 2 or emb_u.shape[0] != len(c.instructions):
        raise ValueError(
            f"the encoder returned shape {emb_u.shape} for {len(c.instructions)} texts"
        )
    vec = vectors(
        c.context, c.history, c.steps_left.astype(np.float32), emb_u, c.library,
        index=c.instruction_index,
    )  # fmt: skip
    if text_only:
        obs: Any = vec
    else:
        img = c.image
        if with_source:
            img = np.concatenate([img, c.sources[c.source_row]], axis=1)
        shrink = work_size if work_size is not None and work_size < img.shape[-1] else None
        obs = [resize_uint8(img, shrink), vec]
    rewards = c.reward.copy()
    if reward == "r":
        rewards[:] = 0.0
        rewards[c.ep_last] = c.ep_r
    stop = FlatActions(bins, False, c.library).tool_stop  # the library's native STOP
    has_preserve = bool(c.preserve[c.is_step & (c.tool < stop)].any())
    digit = has_preserve if flat_preserve is None else bool(flat_preserve)
    flat = FlatActions(bins, digit, c.library)
    actions = flat.encode(c.tool, c.value, c.strength, c.preserve)
    dataset = MDPDataset(
        observations=obs,
        actions=actions.reshape(-1, 1),
        rewards=rewards.reshape(-1, 1),
        terminals=c.terminal.astype(np.float32),
        timeouts=c.timeout.astype(np.float32),
        action_space=ActionSpace.DISCRETE,
        action_size=flat.size,
    )
    steps = c.is_step
    row = c.source_row[steps]
    w_ep = sample_weights(method, c.ep_r, groups=c.ep_group)
    info = TransitionInfo(
        weight=w_ep[row].astype(np.float32),
        r=c.ep_r[row].astype(np.float32),
        episode=c.ep_id[row],
        step=c.step[steps],
        flat_action=actions[steps],
        task_id=[c.ep_task[i] for i in row.tolist()],
        method=method,
        reward=reward,
        n_strength_bins=bins,
        encoder=enc,
        with_source=with_source,
        text_only=text_only,
        layout=vector_layout(c.history.shape[1], emb_u.shape[1], c.library),
        flat_preserve=digit,
        has_preserve=has_preserve,
        library=c.library,
    )
    dataset.transition_info = info
    dataset.sample_weights = info.weight
    return dataset


# --------------------------------------------------------------------------------------------
# Encoders


class TupleObservationError(TypeError):
    """d3rlpy's default encoders were given :func:`to_d3rlpy`'s tuple observations."""


_explained = False


def explain_default_encoders() -> None:
    """Make d3rlpy's built-in encoder factories (default, vector, pixel) refuse tuple
    observations with :class:`TupleObservationError`, which names the encoder to use, instead of
    a bare ``AssertionError`` from inside d3rlpy. Only that case changes: any other shape goes
    to d3rlpy unchanged. Installed once, by :func:`to_d3rlpy`."""
    global _explained
    if _explained:
        return

    def guarded(create: Callable[..., Any], name: str) -> Callable[..., Any]:
        def create_checked(self: Any, observation_shape: Any, *args: Any, **kwargs: Any) -> Any:
            shape = observation_shape
            if isinstance(shape, list | tuple) and shape and isinstance(shape[0], list | tuple):
                raise TupleObservationError(
                    f"d3rlpy's {name} cannot read to_d3rlpy's tuple observations [image, vector] "
                    f"(shapes {[tuple(x) for x in shape]}): create the algorithm with "
                    "encoder_factory=offline_data.loaders.TupleEncoderFactory() (for a Q "
                    "function too), or build the data with to_d3rlpy(..., text_only=True) for "
                    "vector observations"
                )
            return create(self, observation_shape, *args, **kwargs)

        create_checked.__wrapped__ = create  # type: ignore[attr-defined]
        return create_checked

    E = d3rlpy_encoders
    for cls in (E.DefaultEncoderFactory, E.VectorEncoderFactory, E.PixelEncoderFactory):
        for meth in ("create", "create_with_action"):
            setattr(cls, meth, guarded(getattr(cls, meth), cls.__name__))
    _explained = True


def _split_shapes(shape: Any) -> tuple[tuple[int, ...] | None, tuple[int, ...] | None]:
    shapes = [tuple(s) for s in shape] if isinstance(shape[0], list | tuple) else [tuple(shape)]
    image = [s for s in shapes if len(s) == 3]
    vector = [s for s in shapes if len(s) == 1]
    if len(image) > 1 or len(vector) > 1 or len(image) + len(vector) != len(shapes):
        raise ValueError(
            f"TupleEncoderFactory takes [image (C, H, W), vector (D,)] observations (either alone too), got {shapes}"
        )
    return (image[0] if image else None), (vector[0] if vector else None)


class _Trunk(nn.Module):
    def __init__(self, shape: Any, cfg: Any, extra: int = 0) -> None:
        super().__init__()
        image, vector = _split_shapes(shape)
        self.order = [k for k, s in zip(("image", "vector"), (image, vector), strict=True) if s]
        width = extra
        if image is not None:
            layers: list[nn.Module] = []
            cin = image[0]
            for cout in cfg.channels:
                layers += [nn.Conv2d(cin, cout, 3, stride=2, padding=1), nn.ReLU()]
                cin = cout
            layers += [nn.AdaptiveAvgPool2d(cfg.pool), nn.Flatten()]
            self.cnn = nn.Sequential(*layers)
            width += cin * cfg.pool * cfg.pool
        if vector is not None:
            self.mlp = nn.Sequential(nn.Linear(vector[0], cfg.hidden_size), nn.ReLU())
            width += cfg.hidden_size
        self.head = nn.Sequential(nn.Linear(width, cfg.feature_size), nn.ReLU())

    def forward(self, x: Any, extra: torch.Tensor | None = None) -> torch.Tensor:
        xs = list(x) if isinstance(x, list | tuple) else [x]
        parts = []
        for kind, part in zip(self.order, xs, strict=True):
            if kind == "image":  # one float copy divided in place: the same numbers as "/ 255.0"
                parts.append(self.cnn(part.to(torch.float32, copy=True).div_(255.0)))
            else:
                parts.append(self.mlp(part.float()))
        if extra is not None:
            parts.append(extra)
        return self.head(torch.cat(parts, dim=1))


class TupleEncoder(Encoder):
    """A small CNN on the uint8 image (scaled by 1/255 here) + an MLP on the vector."""

    def __init__(self, shape: Any, cfg: Any) -> None:
        super().__init__()
        self.trunk = _Trunk(shape, cfg)

    def forward(self, x: Any) -> torch.Tensor:
        return self.trunk(x)


class TupleEncoderWithAction(EncoderWithAction):
    def __init__(self, shape: Any, cfg: Any, action_size: int, discrete: bool) -> None:
        super().__init__()
        self.action_size, self.discrete = action_size, discrete
        self.trunk = _Trunk(shape, cfg, extra=action_size)

    def forward(self, x: Any, action: torch.Tensor) -> torch.Tensor:
        if self.discrete:
            action = F.one_hot(action.view(-1).long(), num_classes=self.action_size).float()
        return self.trunk(x, action)


@dataclass()
class TupleEncoderFactory(EncoderFactory):
    """d3rlpy encoder for :func:`to_d3rlpy`'s ``[image, vector]`` observations (an image or a
    vector alone works too): strided 3x3 convolutions (``channels``) + adaptive pooling to
    ``pool x pool`` on the image, a ``hidden_size`` layer on the vector, concatenated into
    ``feature_size`` features."""

    feature_size: int = 256
    hidden_size: int = 256
    channels: tuple[int, ...] = (16, 32, 32)
    pool: int = 2

    def create(self, observation_shape: Any) -> Encoder:
        return TupleEncoder(observation_shape, self)

    def create_with_action(
        self, observation_shape: Any, action_size: int, discrete_action: bool = False
    ) -> EncoderWithAction:
        return TupleEncoderWithAction(observation_shape, self, action_size, discrete_action)

    @staticmethod
    def get_type() -> str:
        return "image_styling_tuple"


# d3rlpy rebuilds a saved model's encoder from this registry; a reload of this module finds
# its type already registered (d3rlpy asserts), and the first registration stays.
with contextlib.suppress(AssertionError):
    register_encoder_factory(TupleEncoderFactory)
