"""d3rlpy's discrete offline RL algorithms on the styling datasets.

DiscreteCQL, DiscreteBCQ and DiscreteBC learn over :class:`styling_env.DiscreteActions`' flat
action (``171 * n_strength_bins * 12 + 1`` indices with the preserve digit, ``171 *
n_strength_bins + 1`` without; the last one STOP; ``D3rlpyTrainConfig.preserve`` chooses, by
default by whether the dataset preserves any region) from
:func:`offline_data.loaders.to_d3rlpy`'s tuple observations ``[image uint8 (C, H, W), vector
float32 (D,)]`` (the vector alone with ``text_only``), encoded by
:class:`offline_data.loaders.TupleEncoderFactory` (a small CNN that scales the uint8 image by
1/255 itself, plus an MLP on the vector; no observation scaler).

- :func:`train_d3rlpy` builds the buffer from a dataset id / Minari dataset / episode records
  (or takes one :func:`~offline_data.loaders.to_d3rlpy` built), trains with d3rlpy's fitter and
  ``NoopAdapterFactory`` (nothing is written to ``d3rlpy_logs/``), records the losses per
  logging interval, seconds and samples/s, and returns a :class:`D3rlpyAgent`.
- :class:`D3rlpyAgent` follows the agent protocol of :mod:`agents.evaluate`: ``predict`` takes the
  batched env observation and returns flat int actions ``(N,)``; ``action_space`` is the
  ``Discrete`` of ``DiscreteActions`` so :func:`agents.evaluate.evaluate` decodes them.
- ``save``/``load``: a ``.d3`` file that cannot run code when loaded (a ``weights_only``
  torch file: d3rlpy's config JSON and the modules' state dicts) plus a JSON sidecar
  ``<file>.json`` (strength bins, preserve digit, instruction encoder, observation layout, dataset id and
  checksum, training record, format version). A ``.d3`` written by d3rlpy's own ``save``
  (sidecar format version 1) still loads: its pickle is read as plain data only, and one that
  refers to any class or function is refused unless ``trust=True``.

Action libraries (:mod:`styling_env.libraries`): a dataset of the ``normal`` or ``v3`` library
trains the same way, over that library's flat action (``FlatActions(bins, preserve, library)``:
its rows instead of the 171, e.g. ``189 * 4 + 1`` actions in ``v3``) and its observation
vector (:func:`offline_data.loaders.vector_layout` of the library). The agent's ``library``
is saved in the sidecar (absent: ``v2``); it acts in an env of that library (``evaluate``
plays the library's test tasks) and raises :class:`~offline_data.errors.LibraryMismatchError`
in an env of another.

Made comparable with the embedded planner: the vector's instruction part is the planner's
(``D3rlpyTrainConfig.encoder="minilm+hash"``), DiscreteBC's greedy action is decoded field by
field as the planner's (``D3rlpyAgent.decode``, :func:`marginal_greedy`), and ``validation=``
records held-out curves (:func:`plot_training`). Greedy actions stay within the data's support
as the planner's do (``repeat_tools=False``, :mod:`agents.support`): DiscreteBC's probability of
tools the episode has called goes to STOP, the Q-learners' argmax skips those tools' actions
(``deterministic=False`` samples d3rlpy's own policy, unconstrained).
Nothing else is masked: a Q-learning agent that never chooses STOP runs every episode to
``max_steps`` (truncation); :func:`truncation_rate` measures how often that happens.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from agents.config import Config, config_from
from agents.d3rlpy_policy import (
    DECODES,
    VALIDATION_METRICS,
    ValidationRows,
    expected_strength,
    greedy_scores,
    imitator_logits,
    marginal_greedy,
    support_greedy,
    validation_metrics,
    validation_rows,
)
from agents.training import MetricLog, check_finite
from styling_env.validation import positive_int

#: Version of the JSON sidecar written by :meth:`D3rlpyAgent.save` (2: the ``.d3`` is a
#: ``weights_only`` torch file; 1: d3rlpy's own pickle, still read).
FORMAT_VERSION = 2
_FORMAT = "image-styling-d3rlpy"
_WEIGHTS_FORMAT = "image-styling-d3rlpy-weights"

#: Default training steps (gradient updates, batch 256) of :func:`train_d3rlpy`: measured at
#: 64 px on one CPU thread of a busy 2-core machine, ~3.5 min for BC and ~9 min for CQL/BCQ
#: (each update of those runs the Q-network three times).
DEFAULT_STEPS = 3000

#: Per-algorithm config defaults (d3rlpy config fields) chosen for this problem: ~10-40k
#: transitions, 685 actions, episodes of at most 8 steps. Batch 256 everywhere; the encoder is
#: :class:`~offline_data.loaders.TupleEncoderFactory` with :data:`DEFAULT_ENCODER` (added by
#: :func:`make_config`).
#:
#: - Learning rates: d3rlpy's DQN-family defaults (6.25e-5) are Atari's; this problem is small
#:   and short-horizon, so 3e-4 (CQL, BCQ) and 1e-3 (BC, d3rlpy's own BC default).
#: - ``target_update_interval`` 1000 (d3rlpy: 8000), as trainings here are 5-20k updates.
#: - ``beta`` (BC's and BCQ's imitator regularizer) 0.01 instead of 0.5: d3rlpy applies it to
#:   ``Categorical(logits=...).logits``, which are *normalized* log-probabilities, so with 685
#:   actions ``0.5 * mean(log p ** 2)`` starts at ~21 against a cross-entropy of ~6.5 and pushes
#:   the policy towards uniform.
#: - CQL ``alpha`` 1.0 (the paper's default) and BCQ ``action_flexibility`` 0.3 (d3rlpy's).
DEFAULT_CONFIGS: Mapping[str, Mapping[str, Any]] = {
    "cql": {
        "batch_size": 256, "learning_rate": 3e-4, "gamma": 0.99, "alpha": 1.0,
        "target_update_interval": 1000, "n_critics": 1,
    },
    "bcq": {
        "batch_size": 256, "learning_rate": 3e-4, "gamma": 0.99, "action_flexibility": 0.3,
        "beta": 0.01, "target_update_interval": 1000, "share_encoder": True,
    },
    "bc": {"batch_size": 256, "learning_rate": 1e-3, "beta": 0.01},
}  # fmt: skip

#: :class:`~offline_data.loaders.TupleEncoderFactory` settings of :func:`make_config`: half the
#: loader's default channels in the first two convolutions, which halves the update time at
#: 64 px (the strided convolutions on the full-size image dominate it).
DEFAULT_ENCODER: Mapping[str, Any] = {
    "channels": (8, 16, 32), "pool": 2, "hidden_size": 256, "feature_size": 256,
}  # fmt: skip

#: The loss whose first and last logged values say whether an algorithm learns (see
#: :func:`train_d3rlpy`): BC's and BCQ's imitation cross-entropy; CQL's conservative term
#: (logsumexp Q - Q(data action), which falls as the Q-function ranks the data's actions
#: first; the TD loss rises while Q grows from zero, so the total is not monotone).
PROGRESS_LOSS: Mapping[str, str] = {
    "cql": "conservative_loss",
    "bcq": "imitator_loss",
    "bc": "imitation_loss",
}

_ALGO_NAMES = {"cql": "DiscreteCQL", "bcq": "DiscreteBCQ", "bc": "DiscreteBC"}


def _algos() -> dict[str, Any]:
    from d3rlpy.algos import DiscreteBC, DiscreteBCQ, DiscreteCQL

    return {"cql": DiscreteCQL, "bcq": DiscreteBCQ, "bc": DiscreteBC}


def __getattr__(name: str) -> Any:
    """``D3RLPY_ALGOS`` (``{"cql": DiscreteCQL, "bcq": DiscreteBCQ, "bc": DiscreteBC}``) is built
    on first access, so importing this module does not import d3rlpy (~3 s)."""
    if name == "D3RLPY_ALGOS":
        return _algos()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _check_algo(algo: str) -> str:
    key = str(algo).lower()
    if key not in _ALGO_NAMES:
        raise ValueError(f"unknown d3rlpy algorithm {algo!r}; expected one of {', '.join(_ALGO_NAMES)}")  # fmt: skip
    return key


def _algo_key(algo: Any) -> str:
    name = type(algo).__name__
    for k, v in _ALGO_NAMES.items():
        if v == name:
            return k
    raise ValueError(f"{name} is not one of {', '.join(_ALGO_NAMES.values())}")


def make_config(algo: str, *, sparse_tail: int = 0, **overrides: Any) -> Any:
    """The d3rlpy config of ``algo`` (``"cql"``, ``"bcq"``, ``"bc"``): :data:`DEFAULT_CONFIGS`
    updated with ``overrides`` (any config field; ``encoder_factory`` defaults to
    :class:`~agents.d3rlpy_encoder.HashedTupleEncoderFactory` with :data:`DEFAULT_ENCODER`, whose
    vector layer reads the vector's last ``sparse_tail`` columns, the instruction's hashed
    words, sparsely: :func:`hashed_tail`)."""
    import d3rlpy

    from agents.d3rlpy_encoder import HashedTupleEncoderFactory

    key = _check_algo(algo)
    cls = {
        "cql": d3rlpy.algos.DiscreteCQLConfig,
        "bcq": d3rlpy.algos.DiscreteBCQConfig,
        "bc": d3rlpy.algos.DiscreteBCConfig,
    }[key]
    kw = {**DEFAULT_CONFIGS[key], **overrides}
    kw.setdefault(
        "encoder_factory", HashedTupleEncoderFactory(**DEFAULT_ENCODER, sparse_tail=sparse_tail)
    )
    unknown = sorted(set(kw) - set(cls.__dataclass_fields__))
    if unknown:
        raise ValueError(f"{cls.__name__} has no field(s) {unknown}")
    return cls(**kw)


@contextlib.contextmanager
def _quiet(enabled: bool) -> Iterator[None]:
    """Silence d3rlpy's structlog info lines (dataset signatures, per-epoch metrics)."""
    if not enabled:
        yield
        return
    import logging

    import structlog

    old = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    try:
        yield
    finally:
        structlog.configure(**old)


# --------------------------------------------------------------------------------------------
# Observation layout and instruction encoders


def _shapes(shape: Any) -> list[tuple[int, ...]]:
    """A d3rlpy observation shape (one shape or a list of shapes) as a list of tuples."""
    if len(shape) and isinstance(shape[0], list | tuple):
        return [tuple(int(d) for d in s) for s in shape]
    return [tuple(int(d) for d in shape)]


def _layout(shapes: list[tuple[int, ...]]) -> dict[str, Any]:
    image = next((s for s in shapes if len(s) == 3), None)
    vector = next((s for s in shapes if len(s) == 1), None)
    return {
        "image": None if image is None else list(image),
        "vector_dim": None if vector is None else int(vector[0]),
    }


#: The instruction features of :func:`train_d3rlpy` by default: the embedded planner's own
#: (:class:`agents.embedded.text.InstructionEncoder` ``"minilm+hash"``: MiniLM's 384-d sentence
#: vector ++ ``PLANNER_HASH_DIM`` hashed words and word pairs), so that d3rlpy's algorithms and
#: the planner read a request through the same vector.
DEFAULT_INSTRUCTION_ENCODER = "minilm+hash"
#: The hashed words' dimension of ``"minilm+hash"`` (the planner's ``PlannerConfig.hash_dim``).
PLANNER_HASH_DIM = 8192
_PLANNER_ENCODERS = ("hash", "minilm", "minilm+hash")


def encoder_spec(encoder: Any) -> dict[str, Any]:
    """A JSON description of an instruction encoder (as :func:`offline_data.loaders.make_encoder`
    takes it, or the planner's): ``{"kind": "hash", "dim": 256}``, ``{"kind": "minilm", "dim":
    384}``, ``{"kind": "minilm+hash", "hash_dim": 8192, "dim": 8576}`` (the embedded planner's
    :class:`~agents.embedded.text.InstructionEncoder`; the string ``"minilm+hash"`` is it at
    :data:`PLANNER_HASH_DIM`) or ``{"kind": "custom", ...}`` (a custom encoder must be passed
    again to :meth:`D3rlpyAgent.load`)."""
    from agents.embedded.config import MINILM_DIM
    from agents.embedded.text import InstructionEncoder
    from offline_data.loaders import DEFAULT_ENCODER_DIM
    from styling_env.wrappers import HashingEncoder, MiniLMEncoder

    def both(hash_dim: Any) -> dict[str, Any]:
        if isinstance(hash_dim, bool) or not isinstance(hash_dim, int | np.integer) or hash_dim < 1:
            raise ValueError(f"the minilm+hash encoder's hash_dim must be an int >= 1, got {hash_dim!r}")  # fmt: skip
        return {"kind": "minilm+hash", "hash_dim": int(hash_dim), "dim": MINILM_DIM + int(hash_dim)}

    if encoder is None or encoder == "hash":
        return {"kind": "hash", "dim": DEFAULT_ENCODER_DIM}
    if encoder == "minilm":
        return {"kind": "minilm", "dim": MiniLMEncoder.dim}
    if encoder == "minilm+hash":
        return both(PLANNER_HASH_DIM)
    if isinstance(encoder, str):
        raise ValueError(
            f"unknown instruction encoder {encoder!r}; expected 'hash', 'minilm', 'minilm+hash', "
            "an object with encode() or a callable"
        )
    if isinstance(encoder, Mapping) and encoder.get("kind") in ("hash", "minilm"):
        return {"kind": encoder["kind"], "dim": int(encoder["dim"])}
    if isinstance(encoder, Mapping) and encoder.get("kind") == "minilm+hash":
        return both(encoder.get("hash_dim"))
    if isinstance(encoder, HashingEncoder):
        return {"kind": "hash", "dim": int(encoder.dim)}
    if isinstance(encoder, MiniLMEncoder):
        return {"kind": "minilm", "dim": MiniLMEncoder.dim}
    if isinstance(encoder, InstructionEncoder) and encoder.name in _PLANNER_ENCODERS:
        if encoder.name == "hash":
            return {"kind": "hash", "dim": encoder.hash_dim}
        return both(encoder.hash_dim) if encoder.name == "minilm+hash" else encoder_spec("minilm")
    return {"kind": "custom", "type": type(encoder).__name__, "dim": getattr(encoder, "dim", None)}


def hashed_tail(spec: Mapping[str, Any]) -> int:
    """How many of the observation vector's last columns are hashed words under instruction
    encoder ``spec`` (:func:`encoder_spec`; the instruction ends the vector): all of ``"hash"``'s,
    ``"minilm+hash"``'s ``hash_dim``, none of ``"minilm"``'s."""
    kind = spec.get("kind")
    if kind == "hash":
        return int(spec["dim"])
    if kind == "minilm+hash":
        return int(spec["hash_dim"])
    return 0


def _make_encoder(spec: dict[str, Any], encoder: Any = None) -> Any:
    from offline_data.loaders import make_encoder
    from styling_env.wrappers import HashingEncoder

    if encoder is not None and not isinstance(encoder, str | Mapping):
        return make_encoder(encoder)
    if spec["kind"] == "hash":
        return HashingEncoder(int(spec["dim"]))
    if spec["kind"] == "minilm":
        return make_encoder("minilm")
    if spec["kind"] == "minilm+hash":
        from agents.embedded.text import InstructionEncoder

        return InstructionEncoder("minilm+hash", int(spec["hash_dim"]))
    raise ValueError(
        f"the model was trained with a custom instruction encoder ({spec.get('type')}); pass it "
        f"again: D3rlpyAgent.load(path, encoder=...)"
    )


# --------------------------------------------------------------------------------------------
# The agent


class D3rlpyAgent:
    """A trained d3rlpy algorithm behind the batched agent protocol of :mod:`agents.evaluate`.

    ``predict(observation, state=None, episode_start=None, deterministic=True)`` takes env
    observations (a batch from the vector env, or one observation), builds
    :func:`offline_data.loaders.observation_tuple` with the encoder, ``with_source`` and
    ``text_only`` the data was built with, and returns flat ``DiscreteActions`` indices
    (int64 ``(N,)``; a scalar for one observation) and ``state`` unchanged. ``deterministic=False``
    uses d3rlpy's ``sample_action`` (BC samples its policy; the Q-learners stay greedy).
    ``action_space`` is ``Discrete(171 * n_strength_bins * 12 + 1)`` with ``preserve`` (the
    flat action's preserve digit, :attr:`flat_actions`), ``Discrete(171 * n_strength_bins + 1)``
    without (171: the ``(tool, value)`` rows of the v2 library; another ``library`` has its
    own); ``observation_mode`` is ``"text"`` for a text-only model, else ``"image"``.
    ``library`` is the action library the model was trained in, the one whose env it plays.
    """

    def __init__(
        self, algo: Any, *, n_strength_bins: int = 4, encoder: Any = "hash",
        with_source: bool = False, text_only: bool = False, name: str | None = None,
        dataset: Mapping[str, Any] | None = None, training: Mapping[str, Any] | None = None,
        preserve: bool = False, library: str = "v2", decode: str = "mean",
        repeat_tools: bool = False,
    ) -> None:  # fmt: skip
        from gymnasium import spaces

        from styling_env.actions import FlatActions
        from styling_env.tools.library_tables import check_library, row_tables
        from styling_env.validation import choice

        if getattr(algo, "impl", None) is None:
            raise ValueError(
                f"the {type(algo).__name__} has no model yet: train it (train_d3rlpy) or load one"
            )
        self.algo_key = _algo_key(algo)
        self.algo = algo
        #: DiscreteBC's greedy rule (:data:`DECODES`); the Q-learners take d3rlpy's greedy action
        self.decode = choice("decode", decode, DECODES)
        #: call a tool the episode has called already (the raw policy); by default not
        #: (:mod:`agents.support`)
        self.repeat_tools = bool(repeat_tools)
        self.n_strength_bins = int(n_strength_bins)
        #: the action library the model was trained in (the env it plays)
        self.library = check_library(library)
        #: the flat encoding of the model's actions (``agents.evaluate`` decodes with it)
        self.flat_actions = FlatActions(self.n_strength_bins, bool(preserve), self.library)
        self.preserve = self.flat_actions.preserve
        size = self.flat_actions.size
        if int(algo.impl.action_size) != size:
            rows = len(row_tables(self.library)["tool_of_row"])
            raise ValueError(
                f"the model has {algo.impl.action_size} actions but n_strength_bins="
                f"{n_strength_bins} with preserve={self.preserve} means {size} ({rows} * bins"
                f"{' * 12' if self.preserve else ''} + 1 in library {self.library!r})"
            )
        if text_only and with_source:
            raise ValueError("with_source needs images; it cannot be combined with text_only")
        self.with_source = bool(with_source)
        self.text_only = bool(text_only)
        self.encoder_spec = encoder_spec(encoder)
        self.encoder = _make_encoder(self.encoder_spec, encoder)
        self.layout = _layout(_shapes(algo.impl.observation_shape))
        want_image = not self.text_only
        if want_image != (self.layout["image"] is not None) or self.layout["vector_dim"] is None:
            raise ValueError(
                f"the model's observations are {_shapes(algo.impl.observation_shape)}, which "
                f"does not fit text_only={text_only} (expected "
                f"{'a vector alone' if text_only else '[image, vector]'})"
            )
        channels = 6 if self.with_source else 3
        if want_image and self.layout["image"][0] != channels:
            raise ValueError(
                f"the model's images have {self.layout['image'][0]} channels but with_source="
                f"{with_source} gives {channels}"
            )
        self.name = name or f"d3rlpy-{self.algo_key}"
        self.dataset = dict(dataset or {})
        self.training = dict(training or {})
        self.action_space = spaces.Discrete(size)
        self.observation_mode = "text" if self.text_only else "image"
        self._cache: dict[str, np.ndarray] = {}

    # ---- observations and actions

    @property
    def image_size(self) -> int | None:
        """The image size the model was trained at (``None`` for a text-only model)."""
        img = self.layout["image"]
        return None if img is None else int(img[1])

    def _instructions(self, inst: Any) -> np.ndarray:
        if isinstance(inst, str):
            inst = [inst]
        arr = None if isinstance(inst, list | tuple) else np.asarray(inst)
        if arr is not None and np.issubdtype(arr.dtype, np.number):
            arr = arr.astype(np.float32)
            return arr.reshape(1, -1) if arr.ndim == 1 else arr.reshape(arr.shape[0], -1)
        texts = [str(t) for t in (inst if arr is None else arr.reshape(-1).tolist())]
        new = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if new:
            emb = np.asarray(self.encoder.encode(new), np.float32)
            if emb.ndim != 2 or emb.shape[0] != len(new):
                raise ValueError(f"the instruction encoder returned shape {emb.shape} for {len(new)} texts")  # fmt: skip
            if len(self._cache) > 100_000:
                self._cache.clear()
            self._cache.update(zip(new, emb, strict=True))
        return np.stack([self._cache[t] for t in texts])

    def observation(self, observation: Mapping[str, Any]) -> Any:
        """The d3rlpy observation (``[image, vector]`` or the vector) of env observations,
        checked against the model's shapes."""
        from offline_data.loaders import observation_tuple

        if not isinstance(observation, Mapping):
            raise TypeError(
                f"expected a dict observation from ImageStyling-v0, got {type(observation).__name__}"
            )
        if not self.text_only and "image" not in observation:
            raise ValueError(
                "the model sees images but the observation has none (observation_mode='text'?): "
                "evaluate it with observation_mode='image'"
            )
        obs = dict(observation)
        obs["instruction"] = self._instructions(observation["instruction"])
        size = None if self.text_only else self.layout["image"][1]
        x = observation_tuple(
            obs, None, with_source=self.with_source, text_only=self.text_only, work_size=size,
            library=self.library,
        )  # fmt: skip
        vec = x if self.text_only else x[1]
        if vec.shape[1] != self.layout["vector_dim"]:
            raise ValueError(
                f"the observation vector has {vec.shape[1]} entries but the model expects "
                f"{self.layout['vector_dim']}: a different instruction encoder dimension or "
                f"max_steps than the training data"
            )
        if not self.text_only:
            got, want = list(x[0].shape[1:]), self.layout["image"]
            if got != want:
                raise ValueError(
                    f"the observation images have {got[0]} channels but the model was trained "
                    f"on {want[0]} (with_source={self.with_source})"
                )
        return x

    def predict(
        self, observation: Any, state: Any = None, episode_start: Any = None,
        deterministic: bool = True,
    ) -> tuple[Any, Any]:  # fmt: skip
        single = np.asarray(observation["context"]).ndim == 1
        x = self.observation(observation)
        # d3rlpy's own sampler is unconstrained: the called tools matter to greedy actions only
        called = None if not deterministic or self.decoding is None else self._called(observation)
        if not deterministic:
            act = self.algo.sample_action(x)
        elif self.algo_key == "bc" and self.decode != "flat":
            probs = self.probabilities(x)
            act = marginal_greedy(probs, self.flat_actions, called)
            if self.decode == "mean":
                native = self._native(act, expected_strength(probs, self.flat_actions, act))
                if single:
                    native = {k: (v[0] if k != "strength" else v[0].reshape(1)) for k, v in native.items()}  # fmt: skip
                return native, state
        elif called is not None and called.any():
            scores = self.probabilities(x) if self.algo_key == "bc" else greedy_scores(self.algo, x)
            act = support_greedy(scores, called, self.flat_actions)
        else:
            act = self.algo.predict(x)
        act = np.asarray(act, np.int64).reshape(-1)
        return (act[0] if single else act), state

    @property
    def decoding(self) -> str | None:
        """``"no-repeat-tools"`` where the greedy action stays within the data's support
        (:data:`agents.support.DECODING`), None for the raw policy."""
        from .support import DECODING, applies

        return None if self.repeat_tools or not applies(self.library) else DECODING

    def _called(self, observation: Any) -> np.ndarray:
        """``(B, n_tools)``: the tools each episode of ``observation`` has called."""
        from .support import called_tools

        history = np.asarray(observation["history"], np.float32)
        return called_tools(history if history.ndim == 3 else history[None], self.library)

    def _native(self, flat_index: np.ndarray, strength: np.ndarray) -> dict[str, np.ndarray]:
        """Native actions of flat indices with their strengths replaced (region ``all``)."""
        d = self.flat_actions.decode(flat_index)
        return {
            "tool": np.asarray(d["tool"], np.int64),
            "value": np.asarray(d["value"], np.int64),
            "strength": np.asarray(strength, np.float32).reshape(-1, 1),
            "region": np.zeros(len(flat_index), np.int64),
            "preserve": np.asarray(d["preserve"], np.int8),
        }

    def probabilities(self, x: Any) -> np.ndarray:
        """DiscreteBC's policy ``(B, action_space.n)`` over the flat actions of d3rlpy
        observations ``x`` (:meth:`observation`)."""
        import torch

        if self.algo_key != "bc":
            raise ValueError(f"{_ALGO_NAMES[self.algo_key]} has no policy distribution (DiscreteBC has)")  # fmt: skip
        return torch.softmax(imitator_logits(self.algo, x).float(), dim=1).cpu().numpy()

    # ---- persistence

    @staticmethod
    def sidecar_path(path: str | Path) -> Path:
        """The JSON sidecar of a ``.d3`` file: ``<path>.json``."""
        return Path(str(path) + ".json")

    def metadata(self) -> dict[str, Any]:
        """What the sidecar holds."""
        import d3rlpy

        return {
            "format": _FORMAT,
            "format_version": FORMAT_VERSION,
            "algo": self.algo_key,
            "algo_class": _ALGO_NAMES[self.algo_key],
            "name": self.name,
            "n_strength_bins": self.n_strength_bins,
            "preserve": self.preserve,
            "decode": self.decode,
            "library": self.library,
            "action_size": int(self.action_space.n),
            "encoder": self.encoder_spec,
            "with_source": self.with_source,
            "text_only": self.text_only,
            "observation_mode": self.observation_mode,
            "observation_shape": [list(s) for s in _shapes(self.algo.impl.observation_shape)],
            "dataset": self.dataset,
            "training": self.training,
            "d3rlpy_version": d3rlpy.__version__,
        }

    def save(self, path: str | Path) -> Path:
        """Write the model file ``path`` (a ``weights_only`` torch file: d3rlpy's config JSON
        and every module's state dict, optimizers included) and its sidecar ``<path>.json``;
        returns ``path``. Both are written to unique temporary files first and then renamed."""
        import os
        import uuid

        import d3rlpy
        import torch
        from d3rlpy.base import LearnableConfigWithShape

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        impl = self.algo.impl
        config = LearnableConfigWithShape(
            observation_shape=impl.observation_shape, action_size=impl.action_size,
            config=self.algo.config,
        )  # fmt: skip
        blob = {
            "format": _WEIGHTS_FORMAT,
            "config": config.serialize(),
            "d3rlpy_version": d3rlpy.__version__,
            "modules": {k: v.state_dict() for k, v in impl._checkpointer.modules.items()},
        }
        side = self.sidecar_path(path)
        tag = f".{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
        tmp, tmp_side = path.with_name(path.name + tag), side.with_name(side.name + tag)
        try:
            torch.save(blob, tmp)
            tmp_side.write_text(json.dumps(self.metadata(), indent=1, default=_jsonable))
            os.replace(tmp, path)
            os.replace(tmp_side, side)
        except (OSError, RuntimeError) as e:
            from offline_data.safety import write_error

            raise write_error(path, e) from e
        finally:
            tmp.unlink(missing_ok=True)
            tmp_side.unlink(missing_ok=True)
        return path

    @staticmethod
    def _read_algo(path: Path, device: str, trust: bool) -> Any:
        """The d3rlpy algorithm in ``path``, built from its config and weights without
        running code from the file (unless ``trust``)."""
        import d3rlpy
        from d3rlpy.base import LearnableConfigWithShape

        from agents.checkpoints import UntrustedCheckpointError, data_only_unpickle, torch_weights

        with open(path, "rb") as f:
            magic = f.read(4)
        # this project's format (FORMAT_VERSION 2) is a torch zip; d3rlpy's a pickle that holds
        # one (so zipfile.is_zipfile, which looks at the end, cannot tell them apart)
        if magic == b"PK\x03\x04":
            blob = torch_weights(path, str(path), device)
            if not isinstance(blob, dict) or blob.get("format") != _WEIGHTS_FORMAT:
                raise ValueError(f"{path} is a torch file but not a D3rlpyAgent model file")
            config, modules = blob["config"], blob["modules"]
        else:  # d3rlpy's own .d3: a pickle of {"torch": bytes, "config": str, "version": str}
            try:
                with open(path, "rb") as f:
                    obj = data_only_unpickle(f, str(path))
            except UntrustedCheckpointError:
                if not trust:
                    raise
                with _quiet(True):
                    return d3rlpy.load_learnable(str(path), device=device)
            except Exception as e:  # pickle raises many types on a file of another kind
                raise ValueError(
                    f"{path} is not a d3rlpy model file ({type(e).__name__}: {e}); expected a "
                    f".d3 written by D3rlpyAgent.save"
                ) from e
            if not isinstance(obj, dict) or not isinstance(obj.get("torch"), bytes):
                raise ValueError(f"{path} is not a d3rlpy model file (no weights in it)")
            config = obj.get("config")
            modules = torch_weights(obj["torch"], str(path), device)
        try:
            with _quiet(True):
                algo = LearnableConfigWithShape.deserialize(config).create(device)
            for k, v in algo.impl._checkpointer.modules.items():
                v.load_state_dict(modules[k])
        except (
            Exception
        ) as e:  # d3rlpy/torch raise many types on a config or weights that do not fit
            raise ValueError(
                f"{path} is not a d3rlpy model file this code can rebuild ({type(e).__name__}: {e})"
            ) from e
        return algo

    @classmethod
    def load(
        cls, path: str | Path, *, device: str = "cpu", encoder: Any = None, trust: bool = False
    ) -> D3rlpyAgent:
        """Load an agent :meth:`save` wrote (or one whose ``.d3`` d3rlpy's ``save`` wrote).
        ``encoder``: only needed for a custom instruction encoder. Nothing in the file is run:
        a ``.d3`` that can only be read by running pickled code raises
        :class:`agents.checkpoints.UntrustedCheckpointError` unless ``trust=True``."""
        from offline_data import loaders

        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no d3rlpy model file at {path}")
        side = cls.sidecar_path(path)
        if not side.is_file():
            raise FileNotFoundError(
                f"{path} has no sidecar {side.name} (D3rlpyAgent.save writes both): without it the "
                f"strength bins and instruction encoder are unknown"
            )
        try:
            meta = json.loads(side.read_text())
        except (OSError, ValueError) as e:
            raise ValueError(f"the sidecar {side} is not valid JSON ({e})") from e
        if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
            raise ValueError(f"{side} is not a D3rlpyAgent sidecar (no format {_FORMAT!r})")
        if meta.get("format_version") not in (1, FORMAT_VERSION):
            raise ValueError(
                f"{side} has format version {meta.get('format_version')!r}; this code reads "
                f"versions 1 and {FORMAT_VERSION}: retrain the model or use the code that wrote it"
            )
        import agents.d3rlpy_encoder  # noqa: F401  (registers the encoder factories with d3rlpy)

        algo = cls._read_algo(path, device, trust)
        if type(algo).__name__ != meta.get("algo_class"):
            raise ValueError(
                f"{path} holds a {type(algo).__name__} but its sidecar says {meta.get('algo_class')}"
            )
        bins = meta.get("n_strength_bins")
        keep = bool(meta.get("preserve", False))  # sidecars before preserve: the plain encoding
        lib = meta.get("library", "v2")  # sidecars before the libraries: v2
        try:
            size = loaders.n_actions(bins, keep, lib)
        except (TypeError, ValueError) as e:
            raise ValueError(f"the sidecar {side} does not describe a flat action ({e})") from e
        if int(algo.impl.action_size) != size:
            raise ValueError(
                f"{path} has {algo.impl.action_size} actions but its sidecar says n_strength_bins="
                f"{bins}, preserve={keep}, library={lib!r} ({size} actions): the files do "
                "not belong together"
            )
        return cls(
            algo, n_strength_bins=bins, preserve=keep, library=lib,
            encoder=encoder if encoder is not None else meta["encoder"],
            with_source=meta["with_source"], text_only=meta["text_only"], name=meta.get("name"),
            dataset=meta.get("dataset"), training=meta.get("training"),
            decode=meta.get("decode", "mean"),
        )  # fmt: skip

    def __repr__(self) -> str:
        return (
            f"D3rlpyAgent({_ALGO_NAMES[self.algo_key]}, bins={self.n_strength_bins}, "
            f"preserve={self.preserve}, library={self.library!r}, "
            f"observation={self.layout}, encoder={self.encoder_spec})"
        )


def _jsonable(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    return str(x)


# --------------------------------------------------------------------------------------------
# Training


def _dataset_identity(data: Any) -> tuple[Any, dict[str, Any]]:
    """(data to build from, ``{"id", "checksum", "recipe"}`` where known)."""
    from offline_data.dataset import info, load

    if isinstance(data, str | Path):
        ds = load(str(data))
        meta = info(ds)
        return ds, {"id": str(data), "checksum": meta.get("checksum"), "recipe": meta.get("recipe")}
    if hasattr(data, "iterate_episodes") and hasattr(data, "storage"):
        meta = info(data)
        did = getattr(getattr(data, "spec", None), "dataset_id", None)
        return data, {"id": did, "checksum": meta.get("checksum"), "recipe": meta.get("recipe")}
    return data, {}


def _check_compatible(agent: D3rlpyAgent, shapes: list[tuple[int, ...]], action_size: int, bins: int, spec: dict[str, Any], with_source: bool, text_only: bool, library: str) -> None:  # fmt: skip
    from offline_data.errors import check_same_library

    check_same_library("the dataset", library, "the model it should continue training", agent.library)  # fmt: skip
    problems = []
    if bins != agent.n_strength_bins or action_size != agent.action_space.n:
        problems.append(
            f"actions: the dataset has {action_size} ({bins} strength bins), the model "
            f"{agent.action_space.n} ({agent.n_strength_bins} bins)"
        )
    mine = _shapes(agent.algo.impl.observation_shape)
    if shapes != mine:
        problems.append(f"observations: the dataset's are {shapes}, the model's {mine}")
    if (with_source, text_only) != (agent.with_source, agent.text_only):
        problems.append(
            f"layout: the dataset has with_source={with_source}, text_only={text_only}; the "
            f"model with_source={agent.with_source}, text_only={agent.text_only}"
        )
    if spec.get("kind") != agent.encoder_spec.get("kind") or spec.get("dim") != agent.encoder_spec.get("dim"):  # fmt: skip
        problems.append(f"instruction encoder: the dataset's is {spec}, the model's {agent.encoder_spec}")  # fmt: skip
    if problems:
        raise ValueError(
            "the dataset does not match the model it should continue training: "
            + "; ".join(problems)
        )


@dataclass(frozen=True)
class D3rlpyTrainConfig(Config):
    """How :func:`train_d3rlpy` builds the transitions and how long it trains (recorded in
    ``agent.training["train_config"]``); d3rlpy's own algorithm fields (``batch_size``,
    ``learning_rate``, ...) go in ``config`` over :data:`DEFAULT_CONFIGS`."""

    steps: int = DEFAULT_STEPS
    """Gradient updates (rounded up to whole epochs of ``n_steps_per_epoch``)."""
    n_steps_per_epoch: int | None = None
    """Default: about a tenth of ``steps``, at most 1000 (metrics are averaged per epoch)."""
    n_strength_bins: int = 4
    """Strength bins of the flat discrete action (:class:`styling_env.DiscreteActions`)."""
    preserve: bool | None = None
    """The flat action's preserve digit (``DiscreteActions(bins, preserve=...)``): ``None``
    includes it iff some call of the dataset preserves a region (the choice is saved with the
    model, in its sidecar)."""
    text_only: bool = False
    with_source: bool = False
    """Observations also carry the source image."""
    reward: str = "env"
    """Per-step reward of the transitions (:func:`offline_data.loaders.to_d3rlpy`)."""
    work_size: int | None = 64
    """Resolution the model works at (stored and live images are resized to it)."""
    encoder: str = DEFAULT_INSTRUCTION_ENCODER
    """Instruction features (:func:`encoder_spec`): ``"minilm+hash"`` (default: the embedded
    planner's, MiniLM ++ 8192 hashed words), ``"minilm"`` or ``"hash"`` (256 hashed words).
    ``train_d3rlpy(..., encoder=...)`` overrides it (any encoder object)."""
    rewordings: int = 0
    """Also show each episode's request in this many other wordings (as S's trainer does, 2):
    (1 + n) x the buffer. Off: at 2 a 10K tier peaked at 11.7 GB (Simple), 18.9 GB (Regular)."""

    def __post_init__(self) -> None:
        positive_int("steps", self.steps)
        if self.n_steps_per_epoch is not None:
            positive_int("n_steps_per_epoch", self.n_steps_per_epoch)
        positive_int("n_strength_bins", self.n_strength_bins)
        if isinstance(self.rewordings, bool) or not isinstance(self.rewordings, int) or self.rewordings < 0:  # fmt: skip
            raise ValueError(f"rewordings must be an int >= 0, got {self.rewordings!r}")
        if self.work_size is not None:
            positive_int("work_size", self.work_size)
        for name in ("text_only", "with_source"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be a bool, got {getattr(self, name)!r}")
        if self.preserve is not None and not isinstance(self.preserve, bool):
            raise ValueError(f"preserve must be a bool or None, got {self.preserve!r}")
        if self.encoder not in _PLANNER_ENCODERS:
            raise ValueError(
                f"encoder must be 'hash', 'minilm' or 'minilm+hash', got {self.encoder!r}"
            )

    def instruction_encoder(self) -> Any:
        """The encoder object of :attr:`encoder` (what :func:`train_d3rlpy` builds the buffer
        with when it is given none)."""
        return _make_encoder(encoder_spec(self.encoder))


def plot_training(training: Mapping[str, Any], path: str | Path) -> Path:
    """A PNG of a run's curves (``agent.training``): the training loss that says whether it
    learns (:data:`PROGRESS_LOSS`) and, where the run had validation data, the held-out
    imitation cross-entropy and greedy-action agreement per epoch, against the update count."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = list(training.get("losses") or [])
    if not rows:
        raise ValueError("the run recorded no epoch (training['losses'] is empty)")
    prog = training.get("progress_loss") or PROGRESS_LOSS[training["algo"]]
    steps = [r["step"] for r in rows]  # updates done at the end of each epoch
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    ax.plot(steps, [r.get(prog, math.nan) for r in rows], label=f"train {prog}")
    if any(not math.isnan(r.get("val_nll", math.nan)) for r in rows):
        ax.plot(steps, [r.get("val_nll", math.nan) for r in rows], label="validation NLL")
    ax.set_xlabel("updates")
    ax.set_ylabel("loss (nats)")
    if any("val_match" in r for r in rows):
        ax2 = ax.twinx()
        for k, style in (("val_match", "-"), ("val_row", "--"), ("val_tool", ":")):
            ax2.plot(steps, [r.get(k, math.nan) for r in rows], "k" + style, lw=1, label=k)
        ax2.set_ylim(0, 1)
        ax2.set_ylabel("validation agreement with the data")
        ax2.legend(loc="center right", fontsize=7)
    ax.legend(loc="upper right", fontsize=7)
    name = _ALGO_NAMES.get(training.get("algo", ""), "d3rlpy")
    ax.set_title(f"{name}: {training.get('transitions', '?')} transitions", fontsize=9)
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def train_d3rlpy(
    algo: str, dataset: Any, *, training: D3rlpyTrainConfig | Mapping[str, Any] | None = None,
    seed: int = 0, image_size: int | None = None, encoder: Any = None,
    config: Mapping[str, Any] | None = None, init: D3rlpyAgent | None = None, device: str = "cpu",
    progress: bool = True, log_path: str | Path | None = None, out: str | Path | None = None,
    name: str | None = None, validation: Any = None, **options: Any,
) -> D3rlpyAgent:  # fmt: skip
    """Train d3rlpy's ``algo`` (``"cql"``, ``"bcq"``, ``"bc"``) offline and return the agent.

    ``dataset``: a dataset id, a Minari dataset, a list of episode records (built with
    :func:`offline_data.loaders.to_d3rlpy` and ``n_strength_bins``, ``image_size``,
    ``text_only``, ``with_source``, ``encoder``, ``reward``), or an MDPDataset ``to_d3rlpy``
    already built (then its own settings are used). ``image_size`` is a check (the dataset's
    images must have that size); ``work_size`` (default 64) is the resolution the model works
    at: stored images are resized to it, and so are live observations at ``predict``. d3rlpy samples transitions uniformly (the
    per-sample method weights of :mod:`offline_data.weights` are not applied).

    ``steps``: gradient updates (default :data:`DEFAULT_STEPS`), in epochs of
    ``n_steps_per_epoch`` (default: about a tenth of ``steps``, at most 1000); the metrics are
    averaged per epoch, so ``steps`` rounds up to a whole number of epochs. ``config``: config
    fields over :data:`DEFAULT_CONFIGS` (``batch_size``, ``learning_rate``, ...). ``init``: a
    :class:`D3rlpyAgent` of the same algorithm to continue training, in place (its model is
    the returned agent's; a dataset with other actions, strength bins, observation layout or
    encoder is refused, and ``config`` cannot be given). Deterministic for a
    ``seed`` on CPU (``d3rlpy.seed``, which seeds Python's, NumPy's and torch's global RNGs).

    Records in ``agent.training``: ``losses`` (one dict per epoch: ``epoch``, ``step`` and
    d3rlpy's metrics), ``first_loss``/``last_loss`` of :data:`PROGRESS_LOSS`, ``seconds``,
    ``updates_per_s``, ``samples_per_s``. ``log_path``: the epochs also as JSON lines.
    ``out``: save the agent there (:meth:`D3rlpyAgent.save`). Writes nothing else (no
    ``d3rlpy_logs/``).

    ``validation``: held-out episodes (a dataset id, a Minari dataset, episode records, or a
    buffer :func:`~offline_data.loaders.to_d3rlpy` built with the training data's settings),
    built with the training data's encoder, bins and layout; after every epoch
    :func:`validation_metrics` adds ``val_nll``, ``val_match``, ``val_tool`` and ``val_row`` to
    the epoch's row (``seconds`` leaves that time out). :func:`plot_training` draws the curves:
    the budget is right where the validation loss has flattened.
    """
    import d3rlpy
    from d3rlpy.dataset import ReplayBufferBase
    from d3rlpy.logging import NoopAdapterFactory

    from offline_data.loaders import n_actions, to_d3rlpy

    key = _check_algo(algo)
    t = config_from(D3rlpyTrainConfig, training, **options)
    steps, n_steps_per_epoch, n_strength_bins = t.steps, t.n_steps_per_epoch, t.n_strength_bins
    text_only, with_source, reward, work_size = t.text_only, t.with_source, t.reward, t.work_size
    if n_steps_per_epoch is None:
        n_logs = min(steps, max(10, math.ceil(steps / 1000)))
        n_steps_per_epoch = math.ceil(steps / n_logs)
    n_epochs = math.ceil(steps / n_steps_per_epoch)
    if init is not None and config:
        raise ValueError("config cannot change a model whose training continues (init=...)")
    if init is not None and init.algo_key != key:
        raise ValueError(f"init is a {_ALGO_NAMES[init.algo_key]} agent, not {_ALGO_NAMES[key]}")

    with _quiet(not progress):
        if isinstance(dataset, ReplayBufferBase):
            mdp, ident = dataset, dict(getattr(dataset, "dataset_identity", {}) or {})
            ti = getattr(dataset, "transition_info", None)
            preserve, library = t.preserve, "v2"  # a buffer without its info: v2's actions
            if ti is not None:
                n_strength_bins, encoder = ti.n_strength_bins, ti.encoder
                with_source, text_only = ti.with_source, ti.text_only
                preserve, library = ti.flat_preserve, ti.library
            elif preserve is None:  # a buffer without its info: the plain size says no digit
                preserve = mdp.dataset_info.action_size != n_actions(n_strength_bins)
        else:
            data, ident = _dataset_identity(dataset)
            if encoder is None:
                encoder = t.instruction_encoder()
            if t.rewordings:
                from offline_data.loaders.records import reworded_records

                data = reworded_records(data, t.rewordings)
            mdp = to_d3rlpy(
                data, n_strength_bins=n_strength_bins, image_size=image_size, reward=reward,
                text_only=text_only, with_source=with_source, encoder=encoder, work_size=work_size,
                flat_preserve=t.preserve,
            )  # fmt: skip
            encoder = mdp.transition_info.encoder
            preserve = mdp.transition_info.flat_preserve
            library = mdp.transition_info.library
        spec = encoder_spec(encoder)
        dinfo = mdp.dataset_info
        shapes = _shapes(dinfo.observation_signature.shape)
        if dinfo.action_size != n_actions(n_strength_bins, preserve, library):
            raise ValueError(
                f"the dataset has {dinfo.action_size} actions but n_strength_bins="
                f"{n_strength_bins} with preserve={preserve} in library {library!r} means "
                f"{n_actions(n_strength_bins, preserve, library)}"
            )
        if init is not None:
            _check_compatible(init, shapes, dinfo.action_size, n_strength_bins, spec, with_source, text_only, library)  # fmt: skip
            learner = init.algo
        else:
            learner = make_config(key, sparse_tail=hashed_tail(spec), **dict(config or {}))
            learner = learner.create(device=device)
        val_rows = None
        if validation is not None:
            if not isinstance(validation, ReplayBufferBase):
                validation = to_d3rlpy(
                    _dataset_identity(validation)[0], n_strength_bins=n_strength_bins,
                    text_only=text_only, with_source=with_source, encoder=encoder,
                    work_size=work_size, flat_preserve=preserve, reward=reward,
                )  # fmt: skip
            vinfo = validation.dataset_info
            vshapes = _shapes(vinfo.observation_signature.shape)
            if vshapes != shapes or vinfo.action_size != dinfo.action_size:
                raise ValueError(
                    f"the validation data does not match the training data: observations "
                    f"{vshapes} vs {shapes}, {vinfo.action_size} vs {dinfo.action_size} actions"
                )
            val_rows = validation_rows(validation)
        d3rlpy.seed(seed)  # the weights are built (create_impl) and batches sampled in fitter
        log = MetricLog(log_path)
        t0 = time.perf_counter()
        val_seconds = 0.0
        try:
            for epoch, metrics in learner.fitter(
                mdp, n_steps=n_epochs * n_steps_per_epoch, n_steps_per_epoch=n_steps_per_epoch,
                logger_adapter=NoopAdapterFactory(), show_progress=progress,
                experiment_name=f"image-styling-{key}", with_timestamp=False,
            ):  # fmt: skip
                row = {"epoch": int(epoch), "step": int(epoch * n_steps_per_epoch)}
                row.update({k: float(v) for k, v in metrics.items()})
                for k in metrics:  # an epoch's mean loss: NaN or inf once any step diverged
                    if k.endswith("loss"):
                        check_finite(row[k], row["step"], learner.config.learning_rate, k)
                if val_rows is not None:
                    tv = time.perf_counter()
                    row.update(validation_metrics(learner, val_rows))
                    val_seconds += time.perf_counter() - tv
                row["seconds"] = time.perf_counter() - t0 - val_seconds
                log.write(row)
        finally:
            log.close()
        losses: list[dict[str, Any]] = log.rows
    seconds = time.perf_counter() - t0 - val_seconds
    done = n_epochs * n_steps_per_epoch
    batch = int(learner.config.batch_size)
    prog = PROGRESS_LOSS[key]
    training = {
        "algo": key, "seed": int(seed), "steps": done, "n_steps_per_epoch": n_steps_per_epoch,
        "batch_size": batch, "transitions": int(mdp.transition_count), "seconds": seconds,
        "updates_per_s": done / max(seconds, 1e-9),
        "samples_per_s": done * batch / max(seconds, 1e-9),
        "progress_loss": prog,
        "first_loss": losses[0].get(prog) if losses else None,
        "last_loss": losses[-1].get(prog) if losses else None,
        "losses": losses, "config": json.loads(learner.config.serialize()),
        "continued": init is not None, "library": library,
        "validation": None if val_rows is None else {"transitions": len(val_rows)},
        "train_config": t.replace(
            n_steps_per_epoch=n_steps_per_epoch, preserve=preserve
        ).to_dict(),
    }  # fmt: skip
    if init is not None and init.training:
        training["previous"] = {k: v for k, v in init.training.items() if k != "losses"}
    agent = D3rlpyAgent(
        learner, n_strength_bins=n_strength_bins, preserve=preserve, library=library,
        encoder=encoder,
        with_source=with_source,
        text_only=text_only, name=name or (init.name if init is not None else None),
        dataset=ident, training=training,
    )  # fmt: skip
    if out is not None:
        agent.save(out)
    return agent


def truncation_rate(result: Any) -> float:
    """Share of an evaluation's episodes that never chose STOP (they ran to ``max_steps`` and
    were truncated); ``result`` is an :class:`agents.evaluate.EvalResult` or its episode list."""
    eps = result.episodes if hasattr(result, "episodes") else list(result)
    if not eps:
        return math.nan
    return float(np.mean([not e["calls"] or e["calls"][-1] != "STOP" for e in eps]))


# --------------------------------------------------------------------------------------------
# The method registry's entries (agents.registry)


@dataclass(frozen=True)
class D3rlpyMethodConfig(Config):
    """A d3rlpy run: the algorithm, how its transitions are built and how long it trains
    (:class:`D3rlpyTrainConfig`), and d3rlpy's own config fields over :data:`DEFAULT_CONFIGS`
    (``algo_config``, e.g. ``{"batch_size": 64, "learning_rate": 3e-4}``)."""

    algo: str = "cql"
    training: D3rlpyTrainConfig = field(default_factory=D3rlpyTrainConfig)
    algo_config: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_algo(self.algo)
        if not isinstance(self.algo_config, Mapping):
            raise ValueError(
                f"algo_config must be a dict of d3rlpy config fields, got {self.algo_config!r}"
            )
        object.__setattr__(self, "algo_config", dict(self.algo_config))

    def with_steps(self, steps: int) -> D3rlpyMethodConfig:
        return self.replace(training=self.training.replace(steps=steps))


def train_method(job: Any) -> Any:
    """:func:`train_d3rlpy` as ``job.config`` (a :class:`D3rlpyMethodConfig`) says."""
    from agents.registry import Trained
    from offline_data import dataset as D
    from offline_data.loaders import to_d3rlpy
    from offline_data.loaders.records import reworded_records

    config: D3rlpyMethodConfig = job.config
    data = job.records()
    t = config.training
    if job.cache is not None:  # the benchmark: one MDP per dataset and layout, for every algo
        layout = (t.n_strength_bins, t.preserve, t.text_only, t.with_source, t.reward, t.work_size, t.encoder, t.rewordings)  # fmt: skip
        src = data
        data = job.cached(
            ("d3rlpy", *layout),
            lambda: to_d3rlpy(
                reworded_records(src, t.rewordings) if t.rewordings else (D.load(src) if isinstance(src, str) else src),
                n_strength_bins=t.n_strength_bins,
                text_only=t.text_only, with_source=t.with_source, reward=t.reward,
                work_size=t.work_size, flat_preserve=t.preserve,
                encoder=t.instruction_encoder(),
            ),
        )  # fmt: skip
    agent = train_d3rlpy(
        config.algo, data, training=t, seed=job.seed, config=config.algo_config or None,
        progress=job.progress, log_path=job.log_path, out=job.checkpoint,
    )  # fmt: skip
    info = dict(agent.training or {})
    info.pop("losses", None)
    info["checkpoint"] = str(job.checkpoint)
    return Trained(agent, info)


def load_method(path: Path, *, trust: bool = False) -> D3rlpyAgent:
    return D3rlpyAgent.load(path, trust=trust)


__all__ = [
    "DEFAULT_CONFIGS",
    "DEFAULT_ENCODER",
    "DEFAULT_STEPS",
    "D3RLPY_ALGOS",  # noqa: F822 - lazy, see __getattr__
    "DECODES",
    "D3rlpyAgent",
    "D3rlpyMethodConfig",
    "D3rlpyTrainConfig",
    "FORMAT_VERSION",
    "PROGRESS_LOSS",
    "VALIDATION_METRICS",
    "ValidationRows",
    "encoder_spec",
    "expected_strength",
    "make_config",
    "marginal_greedy",
    "plot_training",
    "train_d3rlpy",
    "validation_metrics",
    "validation_rows",
    "truncation_rate",
]
