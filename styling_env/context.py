"""The structured context (Stage 1 of the paper's pipeline): the image's state on each tool.

For each of the ten tools (in :data:`styling_env.TOOLS` order) the context says which value of
that tool an image currently shows, or :data:`NEUTRAL` when it shows no sign of any (an unstyled
picture). It is estimated from the pixels alone, so it is part of every observation
(``MultiDiscrete(CONTEXT_NVEC)``) and is rendered as text for language-model prompts
(:func:`context_text`). The ``v3`` action library adds twenty styling actions (a lens's
character, a grain, a lighting technique), and its context adds one dimension for each of them
(:func:`context_dimensions`, :class:`LibraryContext`); the ``normal`` library paints no new
values, so its context is the ten tools'.

How: the signature features of :func:`styling_env.features.image_features` plus a few cheap ones
of this module (a 4x4 colour thumbnail, histograms, per-channel percentiles, shadow and highlight
casts, stroke orientation, blockiness) are standardized and fed to one small MLP per dimension.
The MLPs are trained on renders of our own tools (:meth:`ContextEstimator.fit`): procedural scenes
and bundled photos, one value of one dimension applied at strength U[0.35, 1], half of the time
with one or two calls of other tools before or after it, and some images left unedited. Two
estimators ship (:data:`ESTIMATORS`): ``v2`` for the ten tools
(``styling_env/data/context_v0.npz``) and ``v3`` for the v3 library's twenty styling actions
(``styling_env/data/context_v3.npz``, trained with the ten tools' edits as distractors, so that
they read as neutral there). Regenerate them with ``python -m styling_env.context fit
[--library v3]`` and measure them with ``python -m styling_env.context report [--library v3]``.

What to expect: pixels only carry photometric signatures, and many values overlap
(``location_setting``, ``architecture_style`` and ``time_period_era`` are palettes and textures,
not geometry; ``mood_lighting/ominous_dark`` looks much like ``time_of_day/midnight_dark``), so the
held-out accuracy is modest: well above chance, far from perfect. Top-3 accuracy and the
confidences of :meth:`ContextEstimator.describe` say how sure the estimate is.

Example:
    >>> from styling_env import make_images
    >>> from styling_env.context import CONTEXT_NVEC, LibraryContext, estimate_context
    >>> pixels = make_images("procedural", n=2, size=64, seed=0).pixels
    >>> states = estimate_context(pixels)
    >>> states.shape, states.dtype, len(CONTEXT_NVEC)
    ((2, 10), dtype('int64'), 10)
    >>> LibraryContext("v3").predict(pixels).shape
    (2, 30)
"""

from __future__ import annotations

import argparse
import ast
import inspect
import json
import math
import textwrap
import time
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import torch

from .context_features import CONTEXT_FEATURE_NAMES as CONTEXT_FEATURE_NAMES
from .context_features import EXTRA_FEATURE_NAMES as EXTRA_FEATURE_NAMES
from .context_features import context_features as context_features
from .context_features import extra_features as extra_features
from .images import make_images
from .tools import TOOLS, ToolCall, apply_plan, check_images
from .tools.library_tables import DEFAULT_LIBRARY, check_library
from .tools.vocabulary import ALL_TOOLS, V3_ACTIONS

Tensor = torch.Tensor

#: Tool ids in dimension order (``TOOLS`` order): the ``v2`` and ``normal`` libraries' context.
DIMENSIONS: tuple[str, ...] = tuple(TOOLS)

#: The dimensions the ``v3`` library adds, after :data:`DIMENSIONS`: its twenty styling actions.
V3_DIMENSIONS: tuple[str, ...] = tuple(V3_ACTIONS)


def dimension_values(tool: str) -> tuple[str, ...]:
    """The value states of dimension ``tool``: state ``i < n`` is value ``i``, state ``n`` is
    :data:`NEUTRAL`.

    The ten tools' dimensions hold their ``v2`` vocabularies (``TOOLS[tool]``; the values the
    ``v3`` library's base tools add are not states), the ``v3`` styling actions their
    ``V3_ACTIONS[tool]`` values. Other tools (the ``normal`` library's constraints and
    compositions) paint no value of their own and are no dimension: ``ValueError``.
    """
    if tool in TOOLS:
        return TOOLS[tool]
    if tool in V3_ACTIONS:
        return V3_ACTIONS[tool]
    raise ValueError(
        f"{tool!r} is not a context dimension; expected one of the ten tools "
        f"({', '.join(DIMENSIONS)}) or a v3 styling action ({', '.join(V3_DIMENSIONS)})"
    )


def _nvec(dimensions: Sequence[str]) -> tuple[int, ...]:
    return tuple(len(dimension_values(t)) + 1 for t in dimensions)


#: Size of each dimension of the context ``MultiDiscrete``: the tool's values plus "neutral".
#: State ``len(TOOLS[tool])`` (the last index) of a dimension is :data:`NEUTRAL`.
CONTEXT_NVEC: tuple[int, ...] = _nvec(DIMENSIONS)

#: Name of the state "no sign of any value of this dimension". (``color_temperature`` also has
#: a *value* called ``"neutral"``, a corrected white balance: address that one by its index.)
NEUTRAL = "neutral"

#: How each dimension is called in the context text.
DIMENSION_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "location_setting": "location",
        "architecture_style": "architecture",
        "time_period_era": "era",
        "time_of_day": "time of day",
        "season_cycle": "season",
        "weather_conditions": "weather",
        "mood_lighting": "mood lighting",
        "color_grading": "color grading",
        "artistic_medium": "artistic medium",
        "atmospheric_effects": "atmospheric effects",
        "art_movement": "art movement",
        "painting_technique": "painting technique",
        "illustration_style": "illustration style",
        "rendering_style": "rendering style",
        "texture_overlay": "texture overlay",
        "filter_effects": "filter",
        "color_palette": "color palette",
        "color_temperature": "color temperature",
        "saturation_intensity": "saturation",
        "contrast_style": "contrast",
        "tonal_range": "tonal range",
        "lighting_style": "lighting style",
        "light_quality": "light quality",
        "shadow_treatment": "shadows",
        "glow_effects": "glow",
        "atmospheric_depth": "atmospheric depth",
        "motion_aesthetics": "motion",
        "lens_character": "lens character",
        "grain_noise": "grain and noise",
        "sharpness_softness": "focus",
    }
)

_DATA = Path(__file__).parent / "data"
#: The shipped weights of the ten tools' estimator (package data) and how to regenerate them.
DEFAULT_WEIGHTS = _DATA / "context_v0.npz"
FIT_COMMAND = "python -m styling_env.context fit"
_FORMAT = "image-styling/context-estimator"
# Version 1 files (the first context_v0.npz) hold the ten tools' dimensions implicitly; version 2
# files store their dimensions.
_FORMAT_VERSION = 2
_READ_VERSIONS = (1, 2)
# Renders for training come from stream 0 of a seed, held-out renders from stream 1: the image
# seeds of the two never coincide, whatever seeds the caller picks.
_TRAIN_STREAM, _HELDOUT_STREAM = 0, 1

# --------------------------------------------------------------------------------------------
# Training renders


@dataclass(frozen=True)
class EstimatorSpec:
    """One estimator the package ships: what it labels, what else its training renders edit.

    Attributes:
        name: ``"v2"`` or ``"v3"`` (the library whose dimensions it adds).
        dimensions: the tools it labels, in column order.
        distractors: tools whose calls the training renders also apply (as the main edit with
            :attr:`FitConfig.p_other_main`, and among the one or two extra calls) without
            labelling them: their looks must read as neutral on every dimension. Their values
            are all of ``ALL_TOOLS[tool]``.
        weights: the shipped weights file.
        defaults: :class:`FitConfig` fields whose defaults differ for this estimator.
    """

    name: str
    dimensions: tuple[str, ...]
    distractors: tuple[str, ...]
    weights: Path
    defaults: Mapping[str, Any] = field(default_factory=dict)

    @property
    def nvec(self) -> tuple[int, ...]:
        """States per dimension (values + neutral)."""
        return _nvec(self.dimensions)

    @property
    def fit_command(self) -> str:
        """The command that regenerates the shipped weights."""
        return FIT_COMMAND + ("" if self.name == "v2" else f" --library {self.name}")

    def load(self, path: str | Path | None = None) -> ContextEstimator:
        """:meth:`ContextEstimator.load` of ``path`` (default: the shipped weights), checked to
        estimate this spec's dimensions."""
        return ContextEstimator.load(self.weights if path is None else path, self.dimensions)


#: The shipped estimators by name. ``v3`` fits on as many renders as ``v2`` (36,000: about 5.5
#: minutes on a shared 2-core machine) with 64 hidden units (its dimensions have 3 to 8 values,
#: not 4 to 30, and the file stays as small as the ten tools' with twice the MLPs). Its neutral
#: weight keeps the v2 fit's balance between neutral and value labels: neutral is ~94% of a v3
#: dimension's labels against ~84% of a v2 one's, so 0.07 instead of 0.2 (0.84 * 0.2 / 0.16 ~=
#: 0.94 * 0.07 / 0.06). Measured on 12,000 renders: 0.2 read 64% of the edited v3 dimensions as
#: neutral (mean accuracy 0.32), 0.05 read 44% (0.44) with neutral accuracy 0.86.
ESTIMATORS: Mapping[str, EstimatorSpec] = MappingProxyType(
    {
        "v2": EstimatorSpec("v2", DIMENSIONS, (), DEFAULT_WEIGHTS),
        "v3": EstimatorSpec(
            "v3", V3_DIMENSIONS, DIMENSIONS, _DATA / "context_v3.npz",
            MappingProxyType({"hidden": 64, "p_other_main": 0.15, "neutral_weight": 0.07}),
        ),
    }
)  # fmt: skip


def _estimator_spec(name: object) -> EstimatorSpec:
    """The spec called ``name``; ``ValueError`` naming the estimators (and why ``normal`` has
    none of its own)."""
    if isinstance(name, str) and name in ESTIMATORS:
        return ESTIMATORS[name]
    why = (
        " (the normal library adds no dimensions: its context is v2's)" if name == "normal" else ""
    )
    raise ValueError(
        f"unknown context estimator {name!r}{why}; expected one of {', '.join(ESTIMATORS)}"
    )


def _spec_of(dimensions: Sequence[str]) -> EstimatorSpec | None:
    return next((s for s in ESTIMATORS.values() if s.dimensions == tuple(dimensions)), None)


@dataclass(frozen=True)
class FitConfig:
    """How :meth:`ContextEstimator.fit` renders its training data and trains. Stored in the file."""

    library: str = "v2"
    """Which estimator: v2 (the ten tools) or v3 (the v3 library's twenty styling actions)."""
    n_images: int = 36_000
    """Training renders (each a fresh image with its own edits)."""
    seed: int = 0
    """Seed of the images, the edits and the initialisation."""
    sizes: tuple[int, ...] = (64, 64, 128)
    """Render sides, cycled per chunk: the tools are resolution-aware, so a 128-pixel render
    downsampled to the 64-pixel working size is not a 64-pixel render; both occur in the env."""
    p_unedited: float = 0.1
    """Fraction of images left as they are (every dimension neutral)."""
    p_distractor: float = 0.5
    """Probability of one or two extra calls on other tools, before or after the main one."""
    p_other_main: float = 0.0
    """Probability that the main edit is on one of the estimator's distractor tools (v3: the ten
    tools), which it must read as neutral. Only estimators with distractors use it."""
    min_strength: float = 0.35
    """Strengths are uniform in [min_strength, 1]."""
    hidden: int = 96
    """Hidden units of each dimension's MLP."""
    epochs: int = 30
    """Passes over the training features (minibatch Adam)."""
    batch_size: int = 512
    """Minibatch size."""
    lr: float = 3e-3
    """Adam learning rate."""
    weight_decay: float = 1e-4
    """L2 penalty on the weight matrices (per dimension, summed)."""
    neutral_weight: float = 0.2
    """Loss weight of a neutral label relative to a value label. Neutral is about 80% of the
    labels of a dimension; 0.2 balances missed edits against false alarms (measured: neutral
    accuracy about 0.9 on composites, 0.98 on unedited images)."""
    chunk: int = 500
    """Images rendered per batch."""

    def __post_init__(self) -> None:
        _estimator_spec(self.library)
        if not isinstance(self.n_images, int) or self.n_images < 1:
            raise ValueError(f"n_images must be an int >= 1, got {self.n_images!r}")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be an int >= 0, got {self.seed!r}")
        if not self.sizes or any(not isinstance(s, int) or s < 16 for s in self.sizes):
            raise ValueError(f"sizes must be ints >= 16, got {self.sizes!r}")
        for name in ("p_unedited", "p_distractor", "p_other_main", "min_strength"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)!r}")
        for name in ("hidden", "epochs", "batch_size", "chunk"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be an int >= 1, got {getattr(self, name)!r}")
        if not self.neutral_weight > 0:
            raise ValueError(f"neutral_weight must be > 0, got {self.neutral_weight!r}")

    @property
    def spec(self) -> EstimatorSpec:
        """The estimator this config fits."""
        return ESTIMATORS[self.library]

    @classmethod
    def for_library(cls, library: str = "v2", **overrides: Any) -> FitConfig:
        """The config of estimator ``library``: its :attr:`EstimatorSpec.defaults`, then
        ``overrides`` (any field)."""
        return cls(library=library, **{**_estimator_spec(library).defaults, **overrides})


def sample_edits(
    n: int,
    rng: np.random.Generator,
    cfg: FitConfig = FitConfig(),
    spec: EstimatorSpec | None = None,
) -> tuple[list[list[ToolCall]], np.ndarray]:
    """Random edit plans and the context they leave, as in :meth:`ContextEstimator.fit`.

    The main call is on one of the estimator's dimensions (or, with probability
    ``p_other_main``, on one of its distractor tools); half of the time one or two calls on other
    tools (dimensions or distractors) join it, in a random order.

    Args:
        n: plans to draw.
        rng: the random stream.
        cfg: the recipe's probabilities and strengths.
        spec: dimensions and distractors (default: ``cfg``'s estimator's).

    Returns:
        ``n`` plans (lists of calls, possibly empty) and labels ``(n, len(dimensions))`` int64:
        for each dimension the index of the value applied to it, or its neutral index.
    """
    spec = cfg.spec if spec is None else spec
    dims, n_dims = spec.dimensions, len(spec.dimensions)
    tools = (*dims, *spec.distractors)
    values = [dimension_values(t) for t in dims] + [ALL_TOOLS[t] for t in spec.distractors]
    labels = np.tile(np.array(spec.nvec, dtype=np.int64) - 1, (n, 1))
    plans: list[list[ToolCall]] = []
    for i in range(n):
        if rng.random() < cfg.p_unedited:
            plans.append([])
            continue
        # Draws only when there are distractors: the v2 recipe's random stream is unchanged.
        if spec.distractors and rng.random() < cfg.p_other_main:
            main = n_dims + int(rng.integers(len(spec.distractors)))
        else:
            main = int(rng.integers(n_dims))
        picked = [main]
        if rng.random() < cfg.p_distractor:
            others = [k for k in range(len(tools)) if k != main]
            picked += rng.choice(others, size=int(rng.integers(1, 3)), replace=False).tolist()
        calls = []
        for k in picked:
            v = int(rng.integers(len(values[k])))
            calls.append(
                ToolCall(tools[k], values[k][v], float(rng.uniform(cfg.min_strength, 1.0)))
            )
            if k < n_dims:
                labels[i, k] = v
        plans.append([calls[j] for j in rng.permutation(len(calls))])
    return plans, labels


def _render_features(
    n: int,
    seed: int,
    stream: int,
    cfg: FitConfig,
    sizes: Sequence[int],
    verbose: bool = False,
    spec: EstimatorSpec | None = None,
) -> tuple[Tensor, np.ndarray, np.ndarray]:
    """Features ``(n, F)``, labels ``(n, len(dimensions))`` and whether each image was edited
    ``(n,)`` of ``n`` fresh renders (see :class:`FitConfig`).

    Chunk ``k`` uses images ``make_images("mix", ., sizes[k % len(sizes)], image_seed)`` with
    ``image_seed`` drawn from ``(seed, stream, k)``: training and held-out renders use different
    streams, so their images never share a seed. ``spec``: as in :func:`sample_edits`.
    """
    plans, labels = sample_edits(n, np.random.default_rng([seed, stream, 0xC0]), cfg, spec)
    feats = []
    start = time.perf_counter()
    for k, lo in enumerate(range(0, n, cfg.chunk)):
        hi = min(n, lo + cfg.chunk)
        image_seed = int(np.random.SeedSequence([seed, stream, k]).generate_state(1)[0])
        batch = make_images("mix", hi - lo, sizes[k % len(sizes)], image_seed)
        with torch.inference_mode():
            feats.append(context_features(apply_plan(batch, plans[lo:hi])))
        if verbose and (k % 10 == 9 or hi == n):
            print(f"  rendered {hi}/{n} ({time.perf_counter() - start:.0f} s)", flush=True)
    return torch.cat(feats), labels, np.array([bool(p) for p in plans])


# --------------------------------------------------------------------------------------------
# The estimator


def _regenerate_hint(path: Path, dimensions: Sequence[str] | None = None) -> str:
    spec = _spec_of(DIMENSIONS if dimensions is None else dimensions)
    command = FIT_COMMAND if spec is None else spec.fit_command
    return f"regenerate it with `{command} --out {path}`"


def _vocabulary(dimensions: Sequence[str] = DIMENSIONS) -> np.ndarray:
    return np.array([f"{tool}/{value}" for tool in dimensions for value in dimension_values(tool)])


def _first_difference(stored: Sequence[str], current: Sequence[str]) -> str:
    for a, b in zip(stored, current, strict=False):
        if a != b:
            return f"file has {a!r} where the code has {b!r}"
    return f"file has {len(stored)} entries, the code {len(current)}"


_weights_cache: dict[tuple[str, int, int], ContextEstimator] = {}


def _check_dimensions(dimensions: object) -> tuple[str, ...]:
    """``dimensions`` as a tuple of known, distinct dimension tool ids, else a named error."""
    if isinstance(dimensions, str) or not isinstance(dimensions, Sequence) or not dimensions:
        raise ValueError(f"dimensions must be a non-empty sequence of tool ids, got {dimensions!r}")
    for tool in dimensions:
        dimension_values(tool)  # validates
    if len(set(dimensions)) != len(dimensions):
        raise ValueError(f"dimensions must be distinct, got {tuple(dimensions)}")
    return tuple(dimensions)


class ContextEstimator:
    """Per-dimension classifiers from pixels to context states.

    Holds, for each dimension ``d`` of :attr:`dimensions` (default: the ten tools), an MLP
    ``features -> hidden -> nvec[d]`` over standardized :data:`CONTEXT_FEATURE_NAMES`. The MLPs
    are stored stacked (padded to the largest vocabulary) so that one batched matmul evaluates
    all of them.

    Build with :meth:`load` (the shipped weights) or :meth:`fit`; arrays are read-only.

    Args:
        mean, std: ``(F,)`` feature standardization.
        w1: ``(D, F, H)``, b1: ``(D, H)``, w2: ``(D, H, C)``, b2: ``(D, C)`` with ``D`` dimensions
            and ``C = max(nvec)``; logits of dimension ``d`` beyond ``nvec[d]`` are ignored.
        config: how it was fitted (:class:`FitConfig` fields plus timing), for the record.
        dimensions: the tool ids it estimates, in column order (see :func:`dimension_values`).
    """

    def __init__(
        self,
        mean: np.ndarray,
        std: np.ndarray,
        w1: np.ndarray,
        b1: np.ndarray,
        w2: np.ndarray,
        b2: np.ndarray,
        config: Mapping[str, Any] | None = None,
        dimensions: Sequence[str] = DIMENSIONS,
    ) -> None:
        self.dimensions: tuple[str, ...] = _check_dimensions(dimensions)
        #: States per dimension (values + neutral): the estimator's ``MultiDiscrete`` nvec.
        self.nvec: tuple[int, ...] = _nvec(self.dimensions)
        n_dim, n_feat, n_classes = len(self.dimensions), len(CONTEXT_FEATURE_NAMES), max(self.nvec)
        hidden = np.shape(w1)[-1] if np.ndim(w1) == 3 else -1
        expected = {
            "mean": (n_feat,), "std": (n_feat,), "w1": (n_dim, n_feat, hidden),
            "b1": (n_dim, hidden), "w2": (n_dim, hidden, n_classes), "b2": (n_dim, n_classes),
        }  # fmt: skip
        arrays = {"mean": mean, "std": std, "w1": w1, "b1": b1, "w2": w2, "b2": b2}
        for name, arr in arrays.items():
            arr = np.array(arr, dtype=np.float32)
            if arr.shape != expected[name] or hidden < 1:
                raise ValueError(f"{name} must have shape {expected[name]}, got {arr.shape}")
            if not np.isfinite(arr).all():
                raise ValueError(f"{name} contains NaN or infinite values")
            arr.setflags(write=False)
            setattr(self, name, arr)
        self.config: dict[str, Any] = dict(config or {})
        self._mask = _class_mask(self.nvec)
        self._torch: dict[str, tuple[Tensor, ...]] = {}

    @property
    def hidden(self) -> int:
        return int(self.w1.shape[-1])

    # ---- persistence ------------------------------------------------------------------------

    @classmethod
    def load(
        cls, path: str | Path | None = None, dimensions: Sequence[str] | None = None
    ) -> ContextEstimator:
        """Load weights written by :meth:`save`; ``None`` loads the shipped ``context_v0.npz``
        (the ten tools; ``ESTIMATORS["v3"].load()`` loads the v3 library's).

        Cached per process (per resolved path, size and modification time), so calling it every
        env step is free after the first call.

        Args:
            path: the weights file.
            dimensions: if given, the dimensions the file must estimate, in order.

        Raises:
            FileNotFoundError: no file at ``path``.
            ValueError: the file is corrupt, was fitted for other features or another tool
                vocabulary than the current code's, or estimates other dimensions than
                ``dimensions``. Every message names the file and the command that regenerates it.
        """
        path = Path(DEFAULT_WEIGHTS if path is None else path)
        try:
            stat = path.resolve().stat()
        except FileNotFoundError:
            raise FileNotFoundError(
                f"context weights not found: {path}; {_regenerate_hint(path, dimensions)}"
            ) from None
        key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
        if key not in _weights_cache:
            _weights_cache[key] = cls._read(path, dimensions)
        est = _weights_cache[key]
        if dimensions is not None and est.dimensions != tuple(dimensions):
            raise ValueError(
                f"context weights file {path} estimates {len(est.dimensions)} dimensions, "
                f"expected {len(dimensions)} ({_first_difference(est.dimensions, dimensions)}); "
                f"{_regenerate_hint(path, dimensions)}"
            )
        return est

    @classmethod
    def _read(cls, path: Path, expected: Sequence[str] | None = None) -> ContextEstimator:
        hint = _regenerate_hint(path, expected)
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
            raise ValueError(
                f"context weights file {path} is corrupt or not an .npz file ({err}); {hint}"
            ) from None
        required = ("format", "version", "vocabulary", "feature_names", "config")
        required += ("mean", "std", "w1", "b1", "w2", "b2")
        missing = [k for k in required if k not in arrays]
        if missing or str(arrays["format"]) != _FORMAT:
            what = f"missing {', '.join(missing)}" if missing else f"format {arrays['format']}"
            raise ValueError(
                f"context weights file {path} is not a context estimator ({what}); {hint}"
            )
        version = int(arrays["version"])
        if version not in _READ_VERSIONS or (version > 1 and "dimensions" not in arrays):
            raise ValueError(
                f"context weights file {path} has format version {version}"
                f"{' without its dimensions' if version in _READ_VERSIONS else ''}, this code "
                f"reads versions {', '.join(map(str, _READ_VERSIONS))}; {hint}"
            )
        dimensions = tuple(arrays["dimensions"].tolist()) if version > 1 else DIMENSIONS
        try:
            _check_dimensions(dimensions)
        except ValueError as err:
            raise ValueError(
                f"context weights file {path} has bad dimensions ({err}); {hint}"
            ) from None
        vocabulary, current = arrays["vocabulary"].tolist(), _vocabulary(dimensions).tolist()
        if vocabulary != current:
            raise ValueError(
                f"context weights file {path} was fitted for another tool vocabulary "
                f"({_first_difference(vocabulary, current)}); {hint}"
            )
        names = arrays["feature_names"].tolist()
        if names != list(CONTEXT_FEATURE_NAMES):
            raise ValueError(
                f"context weights file {path} was fitted on {len(names)} features, the code "
                f"computes {len(CONTEXT_FEATURE_NAMES)} "
                f"({_first_difference(names, CONTEXT_FEATURE_NAMES)}); {hint}"
            )
        try:
            return cls(
                *(arrays[k] for k in ("mean", "std", "w1", "b1", "w2", "b2")),
                config=json.loads(str(arrays["config"])),
                dimensions=dimensions,
            )
        except ValueError as err:
            raise ValueError(f"context weights file {path} is corrupt ({err}); {hint}") from None

    def save(self, path: str | Path) -> Path:
        """Write the weights (float32, compressed ``.npz``, with the dimensions, the vocabulary,
        the feature names and the fit config, so :meth:`load` can check them). Returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as f:  # an open file: np.savez would append ".npz" to a str path
            np.savez_compressed(
                f,
                format=np.array(_FORMAT),
                version=np.array(_FORMAT_VERSION),
                dimensions=np.array(self.dimensions),
                vocabulary=_vocabulary(self.dimensions),
                feature_names=np.array(CONTEXT_FEATURE_NAMES),
                config=np.array(json.dumps(self.config, sort_keys=True)),
                mean=self.mean, std=self.std, w1=self.w1, b1=self.b1, w2=self.w2, b2=self.b2,
            )  # fmt: skip
        return path

    # ---- training ---------------------------------------------------------------------------

    @classmethod
    def fit(
        cls,
        n_images: int | None = None,
        seed: int = 0,
        verbose: bool = False,
        library: str = "v2",
        **kwargs: Any,
    ) -> ContextEstimator:
        """Train estimator ``library`` (its dimensions, distractors and defaults:
        :data:`ESTIMATORS`) on ``n_images`` fresh renders of our tools (see :class:`FitConfig`).

        Labels: per dimension, the value applied to it (each tool is edited at most once per
        image, at strength >= ``min_strength``) or neutral. Training is minibatch Adam over
        seeded permutations: the same arguments and thread count give the same weights.

        Args:
            n_images: training renders (default: the estimator's); the v2 default takes a few
                minutes on 2 CPU cores, most of it rendering.
            seed: seed of images, edits and initialisation.
            verbose: print progress.
            library: ``"v2"`` (the ten tools) or ``"v3"`` (the v3 library's styling actions).
            **kwargs: any other :class:`FitConfig` field.
        """
        if n_images is not None:
            kwargs["n_images"] = n_images
        cfg = FitConfig.for_library(library, seed=seed, **kwargs)
        t0 = time.perf_counter()
        feats, labels, _ = _render_features(
            cfg.n_images, cfg.seed, _TRAIN_STREAM, cfg, cfg.sizes, verbose
        )
        t1 = time.perf_counter()
        est = cls._train(feats, torch.from_numpy(labels), cfg)
        t2 = time.perf_counter()
        est.config.update(render_seconds=round(t1 - t0, 1), train_seconds=round(t2 - t1, 1))
        if verbose:
            print(f"  rendered in {t1 - t0:.0f} s, trained in {t2 - t1:.0f} s", flush=True)
        return est

    @classmethod
    def _train(cls, feats: Tensor, labels: Tensor, cfg: FitConfig) -> ContextEstimator:
        r"""Fit the MLPs of ``cfg``'s dimensions on features ``(N, F)`` and labels ``(N, D)``.

        Loss, summed over dimensions ``d`` and averaged over a minibatch:

        .. math:: \sum_d w_{d,i} \, \mathrm{CE}(f_d(z_i), y_{d,i}) / \bar w_d
                  + \lambda \sum_d (\lVert W^1_d \rVert^2 + \lVert W^2_d \rVert^2)

        with ``w = neutral_weight`` for a neutral label and 1 otherwise.
        """
        spec = cfg.spec
        gen = torch.Generator().manual_seed(cfg.seed)
        feats = feats.double()
        mean = feats.mean(0)
        std = feats.std(0).clamp(min=1e-6)
        z = ((feats - mean) / std).float()
        n, n_feat = z.shape
        n_dim, n_classes, hidden = len(spec.dimensions), max(spec.nvec), cfg.hidden
        w1 = (
            torch.randn(n_dim, n_feat, hidden, generator=gen) / math.sqrt(n_feat)
        ).requires_grad_()
        b1 = torch.zeros(n_dim, hidden, requires_grad=True)
        w2 = torch.randn(n_dim, hidden, n_classes, generator=gen) * 0.1 / math.sqrt(hidden)
        w2.requires_grad_()
        b2 = torch.zeros(n_dim, n_classes, requires_grad=True)
        mask = torch.from_numpy(_class_mask(spec.nvec))
        y = labels.T.contiguous()  # (D, N)
        neutral = torch.tensor(spec.nvec).view(-1, 1) - 1
        weight = torch.where(y == neutral, cfg.neutral_weight, 1.0)
        weight = weight / weight.mean(1, keepdim=True)
        opt = torch.optim.Adam([w1, b1, w2, b2], lr=cfg.lr)
        for _ in range(cfg.epochs):
            order = torch.randperm(n, generator=gen)
            for lo in range(0, n, cfg.batch_size):
                idx = order[lo : lo + cfg.batch_size]
                logits = _mlp(z[idx], w1, b1, w2, b2, mask)
                nll = -logits.log_softmax(-1).gather(2, y[:, idx, None])[..., 0]  # (D, b)
                loss = (nll * weight[:, idx]).mean(1).sum()
                loss = loss + cfg.weight_decay * (w1.square().sum() + w2.square().sum())
                opt.zero_grad()
                loss.backward()
                opt.step()
        config = {**asdict(cfg), "sizes": list(cfg.sizes), "n_features": n_feat}
        return cls(mean.float().numpy(), std.float().numpy(), w1.detach().numpy(),
                   b1.detach().numpy(), w2.detach().numpy(), b2.detach().numpy(), config,
                   spec.dimensions)  # fmt: skip

    # ---- inference --------------------------------------------------------------------------

    def _params(self, device: torch.device) -> tuple[Tensor, ...]:
        key = str(device)
        if key not in self._torch:
            self._torch[key] = tuple(
                torch.from_numpy(a.copy()).to(device)
                for a in (self.mean, self.std, self.w1, self.b1, self.w2, self.b2, self._mask)
            )
        return self._torch[key]

    def logits_from_features(self, feats: Tensor) -> Tensor:
        """Logits ``(D, B, max(nvec))`` (``-inf`` past each dimension's states) of
        :func:`context_features` ``(B, F)``."""
        if feats.dim() != 2 or feats.shape[1] != len(CONTEXT_FEATURE_NAMES):
            raise ValueError(
                f"features must have shape (B, {len(CONTEXT_FEATURE_NAMES)}), "
                f"got {tuple(feats.shape)}"
            )
        mean, std, w1, b1, w2, b2, mask = self._params(feats.device)
        with torch.inference_mode():
            return _mlp((feats.float() - mean) / std, w1, b1, w2, b2, mask)

    def _logits(self, images: Tensor) -> Tensor:
        check_images(images)
        if images.shape[0] == 0:
            return torch.zeros(len(self.dimensions), 0, max(self.nvec))
        return self.logits_from_features(context_features(images))

    def probs_from_logits(self, logits: Tensor) -> list[np.ndarray]:
        """Per dimension, the probabilities ``(B, nvec[d])`` float32 of logits ``(D, B, C)``."""
        probs = logits.softmax(-1).cpu().numpy()
        return [probs[d, :, :c] for d, c in enumerate(self.nvec)]

    def predict_proba(self, images: Tensor) -> list[np.ndarray]:
        """Per dimension, the probabilities ``(B, nvec[d])`` float32 of its states (values in
        vocabulary order, then neutral) for images ``(B, 3, H, W)`` float in [0, 1].

        Probabilities are those of a model trained with neutral labels down-weighted
        (:attr:`FitConfig.neutral_weight`): read them as relative confidences.

        Raises:
            TypeError: not a float tensor. ValueError: not ``(B, 3, H, W)``, NaN, outside [0, 1].
        """
        return self.probs_from_logits(self._logits(images))

    def predict(self, images: Tensor) -> np.ndarray:
        """States ``(B, D)`` int64 for images ``(B, 3, H, W)`` float in [0, 1]: per dimension
        the most probable state, ``nvec[d] - 1`` meaning neutral. An observation of
        ``MultiDiscrete(nvec)`` (``CONTEXT_NVEC`` for the ten tools)."""
        return _states(self._logits(images))

    def describe(self, images: Tensor) -> list[dict[str, tuple[str, float]]]:
        """Per image, ``{tool: (state name, confidence)}``: the most probable value name (or
        ``"neutral"``) and its probability. Feed one to :func:`context_text`."""
        return _describe(self.dimensions, self.predict_proba(images))

    def __repr__(self) -> str:
        n = self.config.get("n_images", "?")
        return (
            f"ContextEstimator(dimensions={len(self.dimensions)}, hidden={self.hidden}, "
            f"features={len(self.mean)}, n_images={n})"
        )


def _states(logits: Tensor) -> np.ndarray:
    """Most probable states ``(B, D)`` int64 of logits ``(D, B, C)``."""
    return logits.argmax(-1).T.cpu().numpy().astype(np.int64)


def _describe(
    dimensions: Sequence[str], probs: Sequence[np.ndarray]
) -> list[dict[str, tuple[str, float]]]:
    n = probs[0].shape[0] if probs else 0
    out = []
    for i in range(n):
        row = {}
        for d, tool in enumerate(dimensions):
            k = int(probs[d][i].argmax())
            row[tool] = (state_name(tool, k), round(float(probs[d][i, k]), 4))
        out.append(row)
    return out


def _class_mask(nvec: Sequence[int] = CONTEXT_NVEC) -> np.ndarray:
    """``(D, max(nvec))``: 0 for a dimension's states, ``-inf`` for its padding."""
    mask = np.full((len(nvec), max(nvec)), -np.inf, dtype=np.float32)
    for d, c in enumerate(nvec):
        mask[d, :c] = 0.0
    return mask


def _mlp(z: Tensor, w1: Tensor, b1: Tensor, w2: Tensor, b2: Tensor, mask: Tensor) -> Tensor:
    """The ``D`` MLPs at once: ``z`` ``(B, F)`` -> logits ``(D, B, C)``."""
    h = torch.relu(torch.einsum("bf,dfh->dbh", z, w1) + b1[:, None])
    return torch.einsum("dbh,dhc->dbc", h, w2) + b2[:, None] + mask[:, None]


def estimate_context(images: Tensor) -> np.ndarray:
    """States ``(B, 10)`` int64 of images ``(B, 3, H, W)`` in [0, 1] with the shipped weights
    (``ContextEstimator.load().predict``)."""
    return ContextEstimator.load().predict(images)


# --------------------------------------------------------------------------------------------
# The context of a library


def context_dimensions(library: str = DEFAULT_LIBRARY) -> tuple[str, ...]:
    """The context's dimensions in library ``library``, in column order: the ten tools
    (``"v2"``, ``"normal"``), then for ``"v3"`` its twenty styling actions."""
    return DIMENSIONS + V3_DIMENSIONS if check_library(library) == "v3" else DIMENSIONS


def context_nvec(library: str = DEFAULT_LIBRARY) -> tuple[int, ...]:
    """States per dimension of :func:`context_dimensions` (the observation's ``MultiDiscrete``)."""
    return _nvec(context_dimensions(library))


class LibraryContext:
    """The Stage-1 context of one action library: the ten tools' estimator, then for ``"v3"``
    the estimator of its twenty styling actions, on features computed once per batch.

    ``LibraryContext("v2").predict`` (and ``"normal"``) is ``ContextEstimator.load().predict``;
    ``LibraryContext("v3").predict`` is its 10 columns then the v3 estimator's 20.

    Args:
        library: ``"v2"``, ``"normal"`` or ``"v3"``.
        weights: optional weights files by estimator name (``{"v3": path}``) instead of the
            shipped ones; each is checked to estimate that estimator's dimensions.

    Example:
        >>> import torch
        >>> ctx = LibraryContext("v3")
        >>> ctx.dimensions[10], ctx.nvec[10], ctx.predict(torch.rand(2, 3, 32, 32)).shape
        ('art_movement', 9, (2, 30))
    """

    def __init__(
        self, library: str = DEFAULT_LIBRARY, weights: Mapping[str, str | Path] | None = None
    ) -> None:
        self.library = check_library(library)
        names = ("v2", "v3") if library == "v3" else ("v2",)
        weights = dict(weights or {})
        unknown = [k for k in weights if k not in names]
        if unknown:
            raise ValueError(
                f"weights for {unknown}: library {library!r} uses the estimators {', '.join(names)}"
            )
        #: The estimators, in column order.
        self.estimators: tuple[ContextEstimator, ...] = tuple(
            ESTIMATORS[n].load(weights.get(n)) for n in names
        )
        self.dimensions: tuple[str, ...] = context_dimensions(library)
        self.nvec: tuple[int, ...] = context_nvec(library)

    def _logits(self, images: Tensor) -> list[Tensor]:
        check_images(images)
        if images.shape[0] == 0:
            return [torch.zeros(len(e.dimensions), 0, max(e.nvec)) for e in self.estimators]
        feats = context_features(images)
        return [e.logits_from_features(feats) for e in self.estimators]

    def predict(self, images: Tensor) -> np.ndarray:
        """States ``(B, len(dimensions))`` int64 of images ``(B, 3, H, W)`` float in [0, 1]: an
        observation of ``MultiDiscrete(nvec)``, neutral being ``nvec[d] - 1``."""
        return np.concatenate([_states(lg) for lg in self._logits(images)], 1)

    def predict_proba(self, images: Tensor) -> list[np.ndarray]:
        """Per dimension, the probabilities ``(B, nvec[d])`` float32 of its states."""
        return [
            p for e, lg in zip(self.estimators, self._logits(images), strict=True)
            for p in e.probs_from_logits(lg)
        ]  # fmt: skip

    def describe(self, images: Tensor) -> list[dict[str, tuple[str, float]]]:
        """Per image, ``{tool: (state name, confidence)}`` over every dimension: feed one to
        ``context_text(row, library=...)``."""
        return _describe(self.dimensions, self.predict_proba(images))

    def __repr__(self) -> str:
        return f"LibraryContext({self.library!r}, dimensions={len(self.dimensions)})"


# --------------------------------------------------------------------------------------------
# Text


def state_name(tool: str, state: int) -> str:
    """Name of state ``state`` of dimension ``tool``: one of its values
    (:func:`dimension_values`) or ``"neutral"``."""
    values = dimension_values(tool)
    if isinstance(state, bool) or not isinstance(state, int | np.integer):
        raise TypeError(f"state of {tool!r} must be an int, got {state!r}")
    if not 0 <= state <= len(values):
        raise ValueError(f"state of {tool!r} must be in [0, {len(values)}], got {state}")
    return NEUTRAL if state == len(values) else values[state]


def _state_index(tool: str, state: Any) -> int:
    if isinstance(state, str):
        values = dimension_values(tool)
        if state == NEUTRAL:  # the state, also for color_temperature (its value is index 2)
            return len(values)
        if state not in values:
            raise ValueError(
                f"unknown state {state!r} for {tool!r}; expected {NEUTRAL!r} or one of "
                f"{', '.join(values)}"
            )
        return values.index(state)
    state_name(tool, state)  # validates
    return int(state)


def _text_dimensions(states: Any, library: str | None) -> tuple[str, ...]:
    """The dimensions :func:`context_text` lists: ``library``'s, or read off ``states``."""
    if library is not None:
        return context_dimensions(library)
    if isinstance(states, Mapping):
        return context_dimensions("v3" if any(k in V3_DIMENSIONS for k in states) else "v2")
    n = np.shape(states)[0] if np.ndim(states) == 1 else -1
    return context_dimensions("v3") if n == len(DIMENSIONS) + len(V3_DIMENSIONS) else DIMENSIONS


def context_text(
    states: np.ndarray | Sequence[int] | Mapping[str, Any],
    confidences: Sequence[float] | Mapping[str, float] | None = None,
    *,
    library: str | None = None,
) -> str:
    """The context as the text block of a language-model prompt, one line per dimension.

    Args:
        states: state indices, one per dimension (a row of :meth:`ContextEstimator.predict` or
            :meth:`LibraryContext.predict`), or a mapping ``tool -> state`` where a state is a
            value name, ``"neutral"``, an index, or a ``(name, confidence)`` pair as
            :meth:`ContextEstimator.describe` gives. Tools missing from a mapping are neutral.
        confidences: optional numbers in [0, 1], one per dimension or ``tool -> number``,
            appended to each line (pairs in ``states`` supply them too).
        library: whose dimensions to list (:func:`context_dimensions`). ``None`` reads them off
            ``states``: 30 indices, or a mapping naming a v3 styling action, are ``"v3"``'s;
            otherwise the ten tools.

    Example:
        >>> print(context_text({"time_of_day": "midday_overhead"}).splitlines()[4:6])
        ['- time of day: midday overhead', '- season: neutral (no clear sign)']
        >>> context_text({"lens_character": "tilt_shift"}).splitlines()[-3]
        '- lens character: tilt shift'
    """
    dims = _text_dimensions(states, library)
    conf: dict[str, float] = {}
    if isinstance(states, Mapping):
        unknown = [k for k in states if k not in dims]
        if unknown:
            raise ValueError(
                f"unknown dimension(s) {unknown}; expected tool ids: {', '.join(dims)}"
            )
        index = {}
        for tool in dims:
            s = states.get(tool, NEUTRAL)
            if isinstance(s, tuple):
                if len(s) != 2:
                    raise ValueError(f"state of {tool!r} must be (name, confidence), got {s!r}")
                s, conf[tool] = s[0], float(s[1])
            index[tool] = _state_index(tool, s)
    else:
        arr = np.asarray(states)
        if arr.shape != (len(dims),) or not np.issubdtype(arr.dtype, np.integer):
            expected = (
                f"{len(dims)} integer state indices (one per dimension of library {library!r})"
                if library is not None
                else f"{len(DIMENSIONS)} integer state indices (one per dimension; "
                f"{len(DIMENSIONS) + len(V3_DIMENSIONS)} in library 'v3')"
            )
            raise ValueError(
                f"states must be {expected} or a mapping tool -> state, got {arr.dtype} array of "
                f"shape {arr.shape}"
            )
        index = {tool: _state_index(tool, int(s)) for tool, s in zip(dims, arr, strict=True)}
    if confidences is not None:
        if isinstance(confidences, Mapping):
            unknown = [k for k in confidences if k not in dims]
            if unknown:
                raise ValueError(f"unknown dimension(s) {unknown} in confidences")
            conf.update({k: float(v) for k, v in confidences.items()})
        else:
            c = np.asarray(confidences, dtype=float)
            if c.shape != (len(dims),):
                raise ValueError(f"confidences must have shape ({len(dims)},), got {c.shape}")
            conf.update(zip(dims, c.tolist(), strict=True))
    for tool, c in conf.items():
        if not 0.0 <= c <= 1.0:
            raise ValueError(f"confidence of {tool!r} must be in [0, 1], got {c}")
    lines = ["Scene context (estimated from the image):"]
    for tool in dims:
        name = state_name(tool, index[tool])
        note = f"confidence {conf[tool]:.2f}" if tool in conf else ""
        if index[tool] == len(dimension_values(tool)):
            text = f"neutral (no clear sign{', ' + note if note else ''})"
        else:
            text = name.replace("_", " ") + (f" ({note})" if note else "")
        lines.append(f"- {DIMENSION_LABELS[tool]}: {text}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Evaluation


def accuracy_report(
    estimator: ContextEstimator | None = None,
    n_images: int = 2000,
    seed: int = 0,
    size: int = 128,
    library: str = "v2",
) -> dict[str, float]:
    """Accuracy of ``estimator`` (default: the shipped one of ``library``) on held-out renders.

    The renders follow the estimator's training recipe (:meth:`FitConfig.for_library`: one main
    edit, sometimes distractors, some unedited images) at ``size`` pixels, with images from the
    held-out seed stream, never seen in training whatever ``seed`` is (bundled photos are few:
    their crops do recur). An estimator whose dimensions are no shipped estimator's is scored on
    the v2 recipe over its own dimensions.

    Returns:
        ``{tool}``: accuracy over images whose dimension ``tool`` was edited (the exact value;
        neutral counts as wrong); ``{tool}/top3``: the value among the 3 most probable states;
        ``{tool}/chance``: ``1 / len(values)``; ``{tool}/neutral``: the fraction of non-edited
        dimensions called neutral; ``{tool}/n``: edited images; ``neutral_accuracy`` over every
        non-edited (image, dimension); ``unedited_neutral`` over images with no edit at all;
        ``mean``, ``mean/top3``, ``mean/chance``: means over the dimensions. Estimators with
        distractors add ``other_only_neutral``: neutral over images whose only edits are
        distractor calls (v3: the ten tools' looks).
    """
    if estimator is None:
        estimator = _estimator_spec(library).load()
    spec = _spec_of(estimator.dimensions)
    cfg = FitConfig.for_library(
        spec.name if spec is not None else "v2", n_images=n_images, seed=seed, sizes=(size,)
    )  # validates the arguments
    if spec is None:
        spec = EstimatorSpec("custom", estimator.dimensions, (), Path())
    feats, labels, edited_image = _render_features(
        n_images, seed, _HELDOUT_STREAM, cfg, (size,), spec=spec
    )
    logits = estimator.logits_from_features(feats)
    pred = logits.argmax(-1).T.numpy()
    top3 = logits.topk(min(3, logits.shape[-1]), -1).indices.permute(1, 0, 2).numpy()  # (B, D, 3)
    neutral = np.array(estimator.nvec) - 1
    is_neutral = labels == neutral
    out: dict[str, float] = {}
    for d, tool in enumerate(estimator.dimensions):
        edited = ~is_neutral[:, d]
        out[tool] = _mean(pred[edited, d] == labels[edited, d])
        out[f"{tool}/top3"] = _mean((top3[edited, d] == labels[edited, d, None]).any(1))
        out[f"{tool}/chance"] = 1.0 / len(dimension_values(tool))
        out[f"{tool}/neutral"] = _mean(pred[~edited, d] == neutral[d])
        out[f"{tool}/n"] = float(edited.sum())
    out["neutral_accuracy"] = _mean((pred == neutral)[is_neutral])
    out["unedited_neutral"] = _mean(pred[~edited_image] == neutral)
    if spec.distractors:
        other_only = edited_image & is_neutral.all(1)
        out["other_only_neutral"] = _mean(pred[other_only] == neutral)
    for key in ("", "/top3", "/chance"):
        out[f"mean{key}"] = float(np.mean([out[f"{t}{key}"] for t in estimator.dimensions]))
    return out


def _mean(hits: np.ndarray) -> float:
    return float(hits.mean()) if hits.size else float("nan")


def format_report(report: Mapping[str, float]) -> str:
    """The table of :func:`accuracy_report`: one row per dimension, then the means."""
    dims = [k[:-2] for k in report if k.endswith("/n")]
    rows = [f"{'dimension':<22} {'values':>6} {'n':>5} {'acc':>6} {'top3':>6} {'chance':>6} "
            f"{'neutral':>7}"]  # fmt: skip
    for tool in dims:
        rows.append(
            f"{tool:<22} {len(dimension_values(tool)):>6} {int(report[f'{tool}/n']):>5} "
            f"{report[tool]:>6.3f} {report[f'{tool}/top3']:>6.3f} "
            f"{report[f'{tool}/chance']:>6.3f} {report[f'{tool}/neutral']:>7.3f}"
        )
    rows.append(
        f"{'mean':<22} {'':>6} {'':>5} {report['mean']:>6.3f} {report['mean/top3']:>6.3f} "
        f"{report['mean/chance']:>6.3f} {report['neutral_accuracy']:>7.3f}"
    )
    rows.append(f"neutral accuracy on unedited images: {report['unedited_neutral']:.3f}")
    if "other_only_neutral" in report:
        rows.append(
            "neutral accuracy on images edited by other tools only: "
            f"{report['other_only_neutral']:.3f}"
        )
    return "\n".join(rows)


# --------------------------------------------------------------------------------------------
# Command line


def _field_docs(cls: type) -> dict[str, str]:
    """The docstrings under a dataclass's fields, first clause only: they become ``--help``."""
    try:
        body = ast.parse(textwrap.dedent(inspect.getsource(cls))).body[0].body
    except (OSError, TypeError):  # no source (frozen app): no help texts
        return {}
    docs = {}
    for field_node, doc in zip(body, body[1:], strict=False):
        if (
            isinstance(field_node, ast.AnnAssign)
            and isinstance(field_node.target, ast.Name)
            and isinstance(doc, ast.Expr)
            and isinstance(doc.value, ast.Constant)
            and isinstance(doc.value.value, str)
        ):
            text = " ".join(doc.value.value.split()).split(". ")[0].split(": ")[0].rstrip(".")
            docs[field_node.target.id] = text.replace("%", "%%")  # argparse formats help
    return docs


def _default_text(name: str) -> str:
    """``default X`` of a :class:`FitConfig` field, with the estimators that differ."""
    base = next(f.default for f in fields(FitConfig) if f.name == name)
    show = " ".join(map(str, base)) if isinstance(base, tuple) else str(base)
    other = [f"{k}: {s.defaults[name]}" for k, s in ESTIMATORS.items() if name in s.defaults]
    return f"default {show}" + (f"; {', '.join(other)}" if other else "")


def main(argv: Sequence[str] | None = None) -> None:
    """``fit`` writes weights; ``report`` prints held-out accuracy of a weights file."""
    p = argparse.ArgumentParser(
        prog="python -m styling_env.context", description=__doc__.splitlines()[0]
    )
    sub = p.add_subparsers(dest="command", required=True)
    fit = sub.add_parser("fit", help="render training images, train, write the weights")
    fit.add_argument(
        "--out", type=Path, default=None,
        help="weights file to write (default: the estimator's shipped file)",
    )  # fmt: skip
    docs = _field_docs(FitConfig)
    for f in fields(FitConfig):
        flag, help_text = (
            f"--{f.name.replace('_', '-')}",
            f"{docs.get(f.name, '')} ({_default_text(f.name)})",
        )
        if f.name == "library":
            fit.add_argument(flag, choices=list(ESTIMATORS), default="v2", help=help_text)
        elif f.name == "sizes":
            fit.add_argument(flag, type=int, nargs="+", default=None, help=help_text)
        else:
            fit.add_argument(flag, type=type(f.default), default=None, help=help_text)
    fit.add_argument("--report-images", type=int, default=1000, help="held-out renders to score")
    rep = sub.add_parser("report", help="held-out accuracy table of a weights file")
    rep.add_argument(
        "--library", choices=list(ESTIMATORS), default="v2",
        help="which estimator: v2 (the ten tools) or v3 (the v3 library's styling actions)",
    )  # fmt: skip
    rep.add_argument("--weights", type=Path, default=None, help="default: the shipped file")
    rep.add_argument("--n-images", type=int, default=2000, help="held-out renders")
    rep.add_argument("--seed", type=int, default=0, help="seed of the held-out renders")
    rep.add_argument("--size", type=int, default=128, help="render side in pixels")
    args = p.parse_args(argv)
    spec = ESTIMATORS[args.library]
    if args.command == "fit":
        kwargs = {
            f.name: getattr(args, f.name)
            for f in fields(FitConfig)
            if f.name != "library" and getattr(args, f.name) is not None
        }
        if "sizes" in kwargs:
            kwargs["sizes"] = tuple(kwargs["sizes"])
        est = ContextEstimator.fit(verbose=True, library=args.library, **kwargs)
        path = est.save(spec.weights if args.out is None else args.out)
        print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")
        if args.report_images:
            seed = kwargs.get("seed", 0)
            print(format_report(accuracy_report(est, args.report_images, seed=seed)))
    else:
        # the arguments checked before the weights are loaded and anything is rendered
        if args.n_images < 1:
            p.error(f"--n-images must be >= 1, got {args.n_images}")
        if args.seed < 0:
            p.error(f"--seed must be >= 0, got {args.seed}")
        from .images.batch import check_size

        try:
            check_size(args.size, "--size")
        except ValueError as err:
            p.error(str(err))
        weights = spec.weights if args.weights is None else args.weights
        try:
            est = spec.load(weights)
        except (FileNotFoundError, ValueError) as err:
            p.exit(2, f"error: {err}\n")
        print(f"{weights}: {est!r}")
        print(f"held-out renders: {args.n_images} at {args.size}x{args.size}, seed {args.seed}")
        print(format_report(accuracy_report(est, args.n_images, args.seed, args.size)))


if __name__ == "__main__":
    main()
