"""Episodes -> training data: tensors, chat samples, a d3rlpy buffer.

Every loader takes a dataset id, a :class:`minari.MinariDataset` (read through
:func:`offline_data.dataset.episodes`) or a list of :class:`~offline_data.dataset.EpisodeRecord`,
and pairs observation ``t`` with action ``t`` (``T + 1`` observations, ``T`` actions per episode;
the last observation has no action).

- :func:`to_tensors` -> :class:`StepTensors` (:mod:`.tensors`): one row per (episode, step)
  for the embedded policy, with the per-sample weights of a method (:mod:`offline_data.weights`).
- :func:`to_chat_samples` -> :class:`ChatSample` list (:mod:`.chat`) for language/vision-language
  planners: one sample per step (reason + JSON call, or STOP) or one per episode (the whole
  JSON plan). The prompt builders :func:`system_prompt`, :func:`user_prompt`,
  :func:`assistant_target` and the reply parser :func:`parse_assistant` are public and take
  only what a live observation holds, so planners prompt the same way at inference time.
- :func:`to_d3rlpy` -> ``d3rlpy.dataset.MDPDataset`` (:mod:`.d3rlpy`) over
  :class:`~styling_env.DiscreteActions` with tuple observations ``[image, vector]`` and
  :class:`TupleEncoderFactory`, built from the episodes here (d3rlpy's ``get_minari``
  misaligns observations and rejects Dict spaces). :func:`observation_tuple` /
  :func:`observation_vector` (:mod:`.observations`) build the same observation from live env
  observations.

The shared pieces: :mod:`.records` (checking records, collecting their rows), :mod:`.actions`
(the flat ``DiscreteActions`` encoding) and :mod:`.resize` (uint8 image resizing).

Importing this package does not import d3rlpy (about 3 s and a gym warning): the names of
:mod:`.d3rlpy` (:func:`to_d3rlpy`, :class:`TupleEncoderFactory`, ...) import it on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from styling_env.actions import STOP as STOP_TOOL
from styling_env.actions import flat_actions, n_actions
from styling_env.images import resize_uint8

from .chat import (
    ChatSample,
    assistant_target,
    call_line,
    parse_assistant,
    system_prompt,
    to_chat_samples,
    user_prompt,
)
from .observations import (
    DEFAULT_ENCODER_DIM,
    make_encoder,
    observation_tuple,
    observation_vector,
    vector_layout,
)
from .tensors import LibraryStepTensors, StepTensors, to_tensors

if TYPE_CHECKING:  # the lazy names below, for type checkers and editors
    from .d3rlpy import (
        TransitionInfo as TransitionInfo,
    )
    from .d3rlpy import (
        TupleEncoder as TupleEncoder,
    )
    from .d3rlpy import (
        TupleEncoderFactory as TupleEncoderFactory,
    )
    from .d3rlpy import (
        TupleEncoderWithAction as TupleEncoderWithAction,
    )
    from .d3rlpy import (
        TupleObservationError as TupleObservationError,
    )
    from .d3rlpy import (
        explain_default_encoders as explain_default_encoders,
    )
    from .d3rlpy import (
        to_d3rlpy as to_d3rlpy,
    )

#: The names of :mod:`.d3rlpy`, which imports d3rlpy.
_D3RLPY_NAMES = (
    "TransitionInfo",
    "TupleEncoder",
    "TupleEncoderFactory",
    "TupleEncoderWithAction",
    "TupleObservationError",
    "explain_default_encoders",
    "to_d3rlpy",
)

__all__ = [
    "DEFAULT_ENCODER_DIM",
    "STOP_TOOL",
    "ChatSample",
    "LibraryStepTensors",
    "StepTensors",
    "assistant_target",
    "call_line",
    "flat_actions",
    "make_encoder",
    "n_actions",
    "observation_tuple",
    "observation_vector",
    "parse_assistant",
    "resize_uint8",
    "system_prompt",
    "to_chat_samples",
    "to_tensors",
    "user_prompt",
    "vector_layout",
    *_D3RLPY_NAMES,
]


def __getattr__(name: str) -> Any:
    """The names of :mod:`.d3rlpy`, importing it (and d3rlpy) on first use."""
    if name in _D3RLPY_NAMES:
        from . import d3rlpy

        return getattr(d3rlpy, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_D3RLPY_NAMES})
