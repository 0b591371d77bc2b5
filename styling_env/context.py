"""The structured context (Stage 1 of the paper's pipeline): the image's state on ten dimensions.

For each of the ten tools (in :data:`styling_env.TOOLS` order) the context says which value of
that tool an image currently shows, or :data:`NEUTRAL` when it shows no sign of any (an unstyled
picture). It is estimated from the pixels alone, so it is part of every observation
(``MultiDiscrete(CONTEXT_NVEC)``) and is rendered as text for language-model prompts
(:func:`context_text`).

How: the signature features of :func:`styling_env.features.image_features` plus a few cheap ones
of this module (a 4x4 colour thumbnail, histograms, per-channel percentiles, shadow and highlight
casts, stroke orientation, blockiness) are standardized and fed to one small MLP per dimension.
The MLPs are trained on renders of our own tools (:meth:`ContextEstimator.fit`): procedural scenes
and bundled photos, one value of one dimension applied at strength U[0.35, 1], half of the time
with one or two calls of other dimensions before or after it, and some images left unedited.
Shipped weights live in ``styling_env/data/context_v0.npz``; regenerate them with
``python -m styling_env.context fit`` and measure them with ``python -m styling_env.context
report``.

What to expect: pixels only carry photometric signatures, and many values overlap
(``location_setting``, ``architecture_style`` and ``time_period_era`` are palettes and textures,
not geometry; ``mood_lighting/ominous_dark`` looks much like ``time_of_day/midnight_dark``), so the
held-out accuracy is modest: well above chance, far from perfect. Top-3 accuracy and the
confidences of :meth:`ContextEstimator.describe` say how sure the estimate is.

Example:
    >>> from styling_env import make_images
    >>> from styling_env.context import CONTEXT_NVEC, estimate_context
    >>> states = estimate_context(make_images("procedural", n=2, size=64, seed=0).pixels)
    >>> states.shape, states.dtype, len(CONTEXT_NVEC)
    ((2, 10), dtype('int64'), 10)
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
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .features import FEATURE_NAMES, box_mean, image_features, row_std, to_work_size
from .images import make_images
from .tools import TOOLS, ToolCall, apply_plan, check_images
from .tools.ops import luma

Tensor = torch.Tensor

#: Tool ids in dimension order (``TOOLS`` order).
DIMENSIONS: tuple[str, ...] = tuple(TOOLS)

#: Size of each dimension of the context ``MultiDiscrete``: the tool's values plus "neutral".
#: State ``len(TOOLS[tool])`` (the last index) of a dimension is :data:`NEUTRAL`.
CONTEXT_NVEC: tuple[int, ...] = tuple(len(v) + 1 for v in TOOLS.values())

#: Name of the state "no sign of any value of this dimension".
NEUTRAL = "neutral"

#: How each dimension is called in the context text.
DIMENSION_LABELS: Mapping[str, str] = {
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
}

#: The shipped weights (package data) and how to regenerate them.
DEFAULT_WEIGHTS = Path(__file__).parent / "data" / "context_v0.npz"
FIT_COMMAND = "python -m styling_env.context fit"
_FORMAT = "image-styling/context-estimator"
_FORMAT_VERSION = 1
# Renders for training come from stream 0 of a seed, held-out renders from stream 1: the image
# seeds of the two never coincide, whatever seeds the caller picks.
_TRAIN_STREAM, _HELDOUT_STREAM = 0, 1

# --------------------------------------------------------------------------------------------
# Features

_THUMB = 4
_LUMA_BINS = 8
_BINS = 64
_QUANTILES = (0.05, 0.5, 0.95)

EXTRA_FEATURE_NAMES: tuple[str, ...] = (
    *(f"ctx_thumb_{c}{i}{j}" for c in "rgb" for i in range(_THUMB) for j in range(_THUMB)),
    *(f"ctx_luma_hist_{k}" for k in range(_LUMA_BINS)),
    "ctx_luma_entropy",
    *(f"ctx_q{round(q * 100):02d}_{c}" for c in "rgb" for q in _QUANTILES),
    "ctx_sat_mean", "ctx_sat_std", "ctx_std_r", "ctx_std_g", "ctx_std_b",
    "ctx_grad_x", "ctx_grad_y", "ctx_grad_diag", "ctx_grad_antidiag",
    "ctx_shadow_i", "ctx_shadow_q", "ctx_highlight_i", "ctx_highlight_q",
    "ctx_chroma_noise", "ctx_block2", "ctx_block4",
)  # fmt: skip
"""Names of this module's own features, after :data:`styling_env.features.FEATURE_NAMES`."""

#: Every input feature of the estimator, in order.
CONTEXT_FEATURE_NAMES: tuple[str, ...] = (*FEATURE_NAMES, *EXTRA_FEATURE_NAMES)


def _histograms(v: Tensor) -> Tensor:
    """Hard-binned histograms ``(B, C, _BINS)`` (fractions) of ``v`` ``(B, C, N)`` in [0, 1]."""
    b, c, n = v.shape
    offset = torch.arange(c, device=v.device).view(1, c, 1) * _BINS
    idx = (v * _BINS).long().clamp_(0, _BINS - 1) + offset
    out = torch.zeros(b, c * _BINS, dtype=v.dtype, device=v.device)
    out.scatter_add_(1, idx.view(b, -1), torch.ones_like(v).view(b, -1))
    return out.view(b, c, _BINS) / n


def _quantiles(hist: Tensor, qs: Tensor) -> Tensor:
    """Quantiles ``(B, C, Q)`` read off histograms ``(B, C, _BINS)``, linear within a bin.

    A histogram is far cheaper than the sort of ``torch.quantile`` and exact to 1/_BINS.
    """
    cdf = hist.cumsum(-1)
    k = torch.searchsorted(cdf, qs.expand(*cdf.shape[:-1], -1).contiguous())
    k = k.clamp_(max=_BINS - 1)
    below = torch.where(k > 0, cdf.gather(-1, (k - 1).clamp(min=0)), torch.zeros_like(cdf[..., :1]))
    inside = hist.gather(-1, k).clamp(min=1e-6)
    return (k + ((qs - below) / inside).clamp(0, 1)) / _BINS


def _weighted_mean(v: Tensor, w: Tensor) -> Tensor:
    return (v * w).sum((-2, -1)) / (w.sum((-2, -1)) + 1e-3)


def extra_features(x: Tensor) -> Tensor:
    """This module's own features ``(B, len(EXTRA_FEATURE_NAMES))`` of ``(B, 3, H, W)`` in [0, 1].

    Measured at the working resolution of :func:`styling_env.features.to_work_size`: a coarse
    colour layout (4x4 thumbnail), the luminance histogram and its entropy (posterization),
    per-channel 5/50/95 percentiles (black point, fades, casts), saturation, gradient energy by
    orientation (hatching, rain, speed lines), the colour cast of shadows and of highlights (split
    toning), chroma noise (grain, chromatic aberration) and 2- and 4-pixel blockiness (pixel art).
    Not differentiable (hard histograms): the context is an observation, not a loss.
    """
    x = to_work_size(x.float())
    b = x.shape[0]
    thumb = F.adaptive_avg_pool2d(x, _THUMB).flatten(1)
    lum = luma(x)
    hists = _histograms(torch.cat([x, lum], 1).flatten(2))
    luma_hist = hists[:, 3].view(b, _LUMA_BINS, -1).sum(-1)
    entropy = -(hists[:, 3] * (hists[:, 3] + 1e-6).log()).sum(1, keepdim=True)
    pct = _quantiles(hists[:, :3], x.new_tensor(_QUANTILES)).flatten(1)  # r q05 q50 q95, g ...
    hi, lo = x.amax(1), x.amin(1)
    sat = (hi - lo) / (hi + 1e-3)
    sat_stats = torch.stack([sat.mean((1, 2)), row_std(sat.flatten(1))], 1)
    channel_std = row_std(x.flatten(0, 1).flatten(1)).view(b, 3)
    gx = (lum[..., 1:] - lum[..., :-1])[..., :-1, :]
    gy = (lum[..., 1:, :] - lum[..., :-1, :])[..., :-1]
    grads = torch.stack([gx.abs(), gy.abs(), (gx + gy).abs(), (gx - gy).abs()], 1).mean((2, 3, 4))
    grads = grads / (grads[:, :2].sum(1, keepdim=True) + 1e-4)
    i = 0.595716 * x[:, 0] - 0.274453 * x[:, 1] - 0.321263 * x[:, 2]
    q = 0.211456 * x[:, 0] - 0.522591 * x[:, 1] + 0.311135 * x[:, 2]
    shadow = torch.sigmoid((0.3 - lum[:, 0]) * 20)
    highlight = torch.sigmoid((lum[:, 0] - 0.7) * 20)
    casts = torch.stack(
        [_weighted_mean(i, shadow), _weighted_mean(q, shadow), _weighted_mean(i, highlight),
         _weighted_mean(q, highlight)], 1,
    )  # fmt: skip
    lap = x - box_mean(x, 3)
    lap_luma = luma(lap)
    chroma_noise = (lap - lap_luma).abs().mean((1, 2, 3)) / (lap_luma.abs().mean((1, 2, 3)) + 1e-3)
    dx = (x[..., 1:] - x[..., :-1]).abs().mean((1, 2))  # (B, W - 1): column-to-column steps
    block2 = dx[:, 1::2].mean(1) / (dx.mean(1) + 1e-4)
    block4 = dx[:, 3::4].mean(1) / (dx.mean(1) + 1e-4)
    return torch.cat(
        [thumb, luma_hist, entropy, pct, sat_stats, channel_std, grads, casts,
         torch.stack([chroma_noise, block2, block4], 1)], 1,
    )  # fmt: skip


def context_features(images: Tensor) -> Tensor:
    """Estimator inputs ``(B, len(CONTEXT_FEATURE_NAMES))`` of images ``(B, 3, H, W)`` in [0, 1].

    :func:`~styling_env.features.image_features` followed by :func:`extra_features`, both on the
    same working-resolution copy (resized once).
    """
    with torch.inference_mode():
        x = to_work_size(images.float())
        return torch.cat([image_features(x), extra_features(x)], 1)


# --------------------------------------------------------------------------------------------
# Training renders


@dataclass(frozen=True)
class FitConfig:
    """How :meth:`ContextEstimator.fit` renders its training data and trains. Stored in the file."""

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
    """Probability of one or two extra calls on other dimensions, before or after the main one."""
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
        if not isinstance(self.n_images, int) or self.n_images < 1:
            raise ValueError(f"n_images must be an int >= 1, got {self.n_images!r}")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be an int >= 0, got {self.seed!r}")
        if not self.sizes or any(not isinstance(s, int) or s < 16 for s in self.sizes):
            raise ValueError(f"sizes must be ints >= 16, got {self.sizes!r}")
        for name in ("p_unedited", "p_distractor", "min_strength"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)!r}")
        for name in ("hidden", "epochs", "batch_size", "chunk"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be an int >= 1, got {getattr(self, name)!r}")
        if not self.neutral_weight > 0:
            raise ValueError(f"neutral_weight must be > 0, got {self.neutral_weight!r}")


def sample_edits(
    n: int, rng: np.random.Generator, cfg: FitConfig = FitConfig()
) -> tuple[list[list[ToolCall]], np.ndarray]:
    """Random edit plans and the context they leave, as in :meth:`ContextEstimator.fit`.

    Returns:
        ``n`` plans (lists of calls, possibly empty) and labels ``(n, 10)`` int64: for each
        dimension the index of the value applied to it, or its neutral index.
    """
    labels = np.tile(np.array(CONTEXT_NVEC, dtype=np.int64) - 1, (n, 1))
    plans: list[list[ToolCall]] = []
    for i in range(n):
        if rng.random() < cfg.p_unedited:
            plans.append([])
            continue
        main = int(rng.integers(len(DIMENSIONS)))
        dims = [main]
        if rng.random() < cfg.p_distractor:
            others = [d for d in range(len(DIMENSIONS)) if d != main]
            dims += rng.choice(others, size=int(rng.integers(1, 3)), replace=False).tolist()
        calls = []
        for d in dims:
            tool = DIMENSIONS[d]
            v = int(rng.integers(len(TOOLS[tool])))
            calls.append(ToolCall(tool, TOOLS[tool][v], float(rng.uniform(cfg.min_strength, 1.0))))
            labels[i, d] = v
        plans.append([calls[j] for j in rng.permutation(len(calls))])
    return plans, labels


def _render_features(
    n: int, seed: int, stream: int, cfg: FitConfig, sizes: Sequence[int], verbose: bool = False
) -> tuple[Tensor, np.ndarray]:
    """Features ``(n, F)`` and labels ``(n, 10)`` of ``n`` fresh renders (see :class:`FitConfig`).

    Chunk ``k`` uses images ``make_images("mix", ., sizes[k % len(sizes)], image_seed)`` with
    ``image_seed`` drawn from ``(seed, stream, k)``: training and held-out renders use different
    streams, so their images never share a seed.
    """
    plans, labels = sample_edits(n, np.random.default_rng([seed, stream, 0xC0]), cfg)
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
    return torch.cat(feats), labels


# --------------------------------------------------------------------------------------------
# The estimator


def _regenerate_hint(path: Path) -> str:
    return f"regenerate it with `{FIT_COMMAND} --out {path}`"


def _vocabulary() -> np.ndarray:
    return np.array([f"{tool}/{value}" for tool in DIMENSIONS for value in TOOLS[tool]])


def _first_difference(stored: Sequence[str], current: Sequence[str]) -> str:
    for a, b in zip(stored, current, strict=False):
        if a != b:
            return f"file has {a!r} where the code has {b!r}"
    return f"file has {len(stored)} entries, the code {len(current)}"


_weights_cache: dict[tuple[str, int, int], ContextEstimator] = {}


class ContextEstimator:
    """Per-dimension classifiers from pixels to context states.

    Holds, for each of the 10 dimensions ``d``, an MLP ``features -> hidden -> CONTEXT_NVEC[d]``
    over standardized :data:`CONTEXT_FEATURE_NAMES`. The ten MLPs are stored stacked (padded to
    the largest vocabulary) so that one batched matmul evaluates all of them.

    Build with :meth:`load` (the shipped weights) or :meth:`fit`; arrays are read-only.

    Args:
        mean, std: ``(F,)`` feature standardization.
        w1: ``(10, F, H)``, b1: ``(10, H)``, w2: ``(10, H, C)``, b2: ``(10, C)`` with
            ``C = max(CONTEXT_NVEC)``; logits of dimension ``d`` beyond ``CONTEXT_NVEC[d]`` are
            ignored.
        config: how it was fitted (:class:`FitConfig` fields plus timing), for the record.
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
    ) -> None:
        n_dim, n_feat, n_classes = len(DIMENSIONS), len(CONTEXT_FEATURE_NAMES), max(CONTEXT_NVEC)
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
        self._mask = _class_mask()
        self._torch: dict[str, tuple[Tensor, ...]] = {}

    @property
    def hidden(self) -> int:
        return int(self.w1.shape[-1])

    # ---- persistence ------------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path | None = None) -> ContextEstimator:
        """Load weights written by :meth:`save`; ``None`` loads the shipped ``context_v0.npz``.

        Cached per process (per resolved path, size and modification time), so calling it every
        env step is free after the first call.

        Raises:
            FileNotFoundError: no file at ``path``.
            ValueError: the file is corrupt, or was fitted for other features or another tool
                vocabulary than the current code's. Every message names the file and the
                command that regenerates it.
        """
        path = Path(DEFAULT_WEIGHTS if path is None else path)
        try:
            stat = path.resolve().stat()
        except FileNotFoundError:
            raise FileNotFoundError(
                f"context weights not found: {path}; {_regenerate_hint(path)}"
            ) from None
        key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
        if key not in _weights_cache:
            _weights_cache[key] = cls._read(path)
        return _weights_cache[key]

    @classmethod
    def _read(cls, path: Path) -> ContextEstimator:
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
            raise ValueError(
                f"context weights file {path} is corrupt or not an .npz file ({err}); "
                f"{_regenerate_hint(path)}"
            ) from None
        required = ("format", "version", "vocabulary", "feature_names", "config")
        required += ("mean", "std", "w1", "b1", "w2", "b2")
        missing = [k for k in required if k not in arrays]
        if missing or str(arrays["format"]) != _FORMAT:
            what = f"missing {', '.join(missing)}" if missing else f"format {arrays['format']}"
            raise ValueError(
                f"context weights file {path} is not a context estimator ({what}); "
                f"{_regenerate_hint(path)}"
            )
        if int(arrays["version"]) != _FORMAT_VERSION:
            raise ValueError(
                f"context weights file {path} has format version {int(arrays['version'])}, this "
                f"code reads version {_FORMAT_VERSION}; {_regenerate_hint(path)}"
            )
        vocabulary, current = arrays["vocabulary"].tolist(), _vocabulary().tolist()
        if vocabulary != current:
            raise ValueError(
                f"context weights file {path} was fitted for another tool vocabulary "
                f"({_first_difference(vocabulary, current)}); {_regenerate_hint(path)}"
            )
        names = arrays["feature_names"].tolist()
        if names != list(CONTEXT_FEATURE_NAMES):
            raise ValueError(
                f"context weights file {path} was fitted on {len(names)} features, the code "
                f"computes {len(CONTEXT_FEATURE_NAMES)} "
                f"({_first_difference(names, CONTEXT_FEATURE_NAMES)}); {_regenerate_hint(path)}"
            )
        try:
            return cls(
                *(arrays[k] for k in ("mean", "std", "w1", "b1", "w2", "b2")),
                config=json.loads(str(arrays["config"])),
            )
        except ValueError as err:
            raise ValueError(
                f"context weights file {path} is corrupt ({err}); {_regenerate_hint(path)}"
            ) from None

    def save(self, path: str | Path) -> Path:
        """Write the weights (float32, compressed ``.npz``, with the vocabulary, the feature
        names and the fit config, so :meth:`load` can check them). Returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as f:  # an open file: np.savez would append ".npz" to a str path
            np.savez_compressed(
                f,
                format=np.array(_FORMAT),
                version=np.array(_FORMAT_VERSION),
                vocabulary=_vocabulary(),
                feature_names=np.array(CONTEXT_FEATURE_NAMES),
                config=np.array(json.dumps(self.config, sort_keys=True)),
                mean=self.mean, std=self.std, w1=self.w1, b1=self.b1, w2=self.w2, b2=self.b2,
            )  # fmt: skip
        return path

    # ---- training ---------------------------------------------------------------------------

    @classmethod
    def fit(
        cls, n_images: int = FitConfig.n_images, seed: int = 0, verbose: bool = False, **kwargs: Any
    ) -> ContextEstimator:
        """Train on ``n_images`` fresh renders of our tools (see :class:`FitConfig` for the rest).

        Labels: per dimension, the value applied to it (each dimension is edited at most once
        per image, at strength >= ``min_strength``) or neutral. Training is minibatch Adam over
        seeded permutations: the same arguments and thread count give the same weights.

        Args:
            n_images: training renders; the default takes a few minutes on 2 CPU cores, most of
                it rendering.
            seed: seed of images, edits and initialisation.
            verbose: print progress.
            **kwargs: any other :class:`FitConfig` field.
        """
        cfg = FitConfig(n_images=n_images, seed=seed, **kwargs)
        t0 = time.perf_counter()
        feats, labels = _render_features(
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
        r"""Fit the ten MLPs on features ``(N, F)`` and labels ``(N, 10)``.

        Loss, summed over dimensions ``d`` and averaged over a minibatch:

        .. math:: \sum_d w_{d,i} \, \mathrm{CE}(f_d(z_i), y_{d,i}) / \bar w_d
                  + \lambda \sum_d (\lVert W^1_d \rVert^2 + \lVert W^2_d \rVert^2)

        with ``w = neutral_weight`` for a neutral label and 1 otherwise.
        """
        gen = torch.Generator().manual_seed(cfg.seed)
        feats = feats.double()
        mean = feats.mean(0)
        std = feats.std(0).clamp(min=1e-6)
        z = ((feats - mean) / std).float()
        n, n_feat = z.shape
        n_dim, n_classes, hidden = len(DIMENSIONS), max(CONTEXT_NVEC), cfg.hidden
        w1 = (
            torch.randn(n_dim, n_feat, hidden, generator=gen) / math.sqrt(n_feat)
        ).requires_grad_()
        b1 = torch.zeros(n_dim, hidden, requires_grad=True)
        w2 = torch.randn(n_dim, hidden, n_classes, generator=gen) * 0.1 / math.sqrt(hidden)
        w2.requires_grad_()
        b2 = torch.zeros(n_dim, n_classes, requires_grad=True)
        mask = torch.from_numpy(_class_mask())
        y = labels.T.contiguous()  # (10, N)
        neutral = torch.tensor(CONTEXT_NVEC).view(-1, 1) - 1
        weight = torch.where(y == neutral, cfg.neutral_weight, 1.0)
        weight = weight / weight.mean(1, keepdim=True)
        opt = torch.optim.Adam([w1, b1, w2, b2], lr=cfg.lr)
        for _ in range(cfg.epochs):
            order = torch.randperm(n, generator=gen)
            for lo in range(0, n, cfg.batch_size):
                idx = order[lo : lo + cfg.batch_size]
                logits = _mlp(z[idx], w1, b1, w2, b2, mask)
                nll = -logits.log_softmax(-1).gather(2, y[:, idx, None])[..., 0]  # (10, b)
                loss = (nll * weight[:, idx]).mean(1).sum()
                loss = loss + cfg.weight_decay * (w1.square().sum() + w2.square().sum())
                opt.zero_grad()
                loss.backward()
                opt.step()
        config = {**asdict(cfg), "sizes": list(cfg.sizes), "n_features": n_feat}
        return cls(mean.float().numpy(), std.float().numpy(), w1.detach().numpy(),
                   b1.detach().numpy(), w2.detach().numpy(), b2.detach().numpy(), config)  # fmt: skip

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
        """Logits ``(10, B, max(CONTEXT_NVEC))`` (``-inf`` past each dimension's states) of
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
            return torch.zeros(len(DIMENSIONS), 0, max(CONTEXT_NVEC))
        return self.logits_from_features(context_features(images))

    def predict_proba(self, images: Tensor) -> list[np.ndarray]:
        """Per dimension, the probabilities ``(B, CONTEXT_NVEC[d])`` float32 of its states
        (values in vocabulary order, then neutral) for images ``(B, 3, H, W)`` float in [0, 1].

        Probabilities are those of a model trained with neutral labels down-weighted
        (:attr:`FitConfig.neutral_weight`): read them as relative confidences.

        Raises:
            TypeError: not a float tensor. ValueError: not ``(B, 3, H, W)``, NaN, outside [0, 1].
        """
        probs = self._logits(images).softmax(-1).cpu().numpy()
        return [probs[d, :, :c] for d, c in enumerate(CONTEXT_NVEC)]

    def predict(self, images: Tensor) -> np.ndarray:
        """States ``(B, 10)`` int64 for images ``(B, 3, H, W)`` float in [0, 1]: per dimension
        the most probable state, ``CONTEXT_NVEC[d] - 1`` meaning neutral. An observation of
        ``MultiDiscrete(CONTEXT_NVEC)``."""
        return self._logits(images).argmax(-1).T.cpu().numpy().astype(np.int64)

    def describe(self, images: Tensor) -> list[dict[str, tuple[str, float]]]:
        """Per image, ``{tool: (state name, confidence)}``: the most probable value name (or
        ``"neutral"``) and its probability. Feed one to :func:`context_text`."""
        probs = self.predict_proba(images)
        out = []
        for i in range(images.shape[0]):
            row = {}
            for d, tool in enumerate(DIMENSIONS):
                k = int(probs[d][i].argmax())
                row[tool] = (state_name(tool, k), round(float(probs[d][i, k]), 4))
            out.append(row)
        return out

    def __repr__(self) -> str:
        n = self.config.get("n_images", "?")
        return f"ContextEstimator(hidden={self.hidden}, features={len(self.mean)}, n_images={n})"


def _class_mask() -> np.ndarray:
    """``(10, max(CONTEXT_NVEC))``: 0 for a dimension's states, ``-inf`` for its padding."""
    mask = np.full((len(DIMENSIONS), max(CONTEXT_NVEC)), -np.inf, dtype=np.float32)
    for d, c in enumerate(CONTEXT_NVEC):
        mask[d, :c] = 0.0
    return mask


def _mlp(z: Tensor, w1: Tensor, b1: Tensor, w2: Tensor, b2: Tensor, mask: Tensor) -> Tensor:
    """The ten MLPs at once: ``z`` ``(B, F)`` -> logits ``(10, B, C)``."""
    h = torch.relu(torch.einsum("bf,dfh->dbh", z, w1) + b1[:, None])
    return torch.einsum("dbh,dhc->dbc", h, w2) + b2[:, None] + mask[:, None]


def estimate_context(images: Tensor) -> np.ndarray:
    """States ``(B, 10)`` int64 of images ``(B, 3, H, W)`` in [0, 1] with the shipped weights
    (``ContextEstimator.load().predict``)."""
    return ContextEstimator.load().predict(images)


# --------------------------------------------------------------------------------------------
# Text


def state_name(tool: str, state: int) -> str:
    """Name of state ``state`` of dimension ``tool``: a value of ``TOOLS[tool]`` or ``"neutral"``."""
    values = TOOLS[tool]
    if isinstance(state, bool) or not isinstance(state, int | np.integer):
        raise TypeError(f"state of {tool!r} must be an int, got {state!r}")
    if not 0 <= state <= len(values):
        raise ValueError(f"state of {tool!r} must be in [0, {len(values)}], got {state}")
    return NEUTRAL if state == len(values) else values[state]


def _state_index(tool: str, state: Any) -> int:
    if isinstance(state, str):
        if state == NEUTRAL:
            return len(TOOLS[tool])
        if state not in TOOLS[tool]:
            raise ValueError(
                f"unknown state {state!r} for {tool!r}; expected {NEUTRAL!r} or one of "
                f"{', '.join(TOOLS[tool])}"
            )
        return TOOLS[tool].index(state)
    state_name(tool, state)  # validates
    return int(state)


def context_text(
    states: np.ndarray | Sequence[int] | Mapping[str, Any],
    confidences: Sequence[float] | Mapping[str, float] | None = None,
) -> str:
    """The context as the text block of a language-model prompt, one line per dimension.

    Args:
        states: ``(10,)`` state indices (a row of :meth:`ContextEstimator.predict`), or a mapping
            ``tool -> state`` where a state is a value name, ``"neutral"``, an index, or a
            ``(name, confidence)`` pair as :meth:`ContextEstimator.describe` gives. Tools missing
            from a mapping are neutral.
        confidences: optional ``(10,)`` numbers in [0, 1] or ``tool -> number``, appended to each
            line (pairs in ``states`` supply them too).

    Example:
        >>> print(context_text({"time_of_day": "midday_overhead"}).splitlines()[4:6])
        ['- time of day: midday overhead', '- season: neutral (no clear sign)']
    """
    conf: dict[str, float] = {}
    if isinstance(states, Mapping):
        unknown = [k for k in states if k not in TOOLS]
        if unknown:
            raise ValueError(
                f"unknown dimension(s) {unknown}; expected tool ids: {', '.join(DIMENSIONS)}"
            )
        index = {}
        for tool in DIMENSIONS:
            s = states.get(tool, NEUTRAL)
            if isinstance(s, tuple):
                if len(s) != 2:
                    raise ValueError(f"state of {tool!r} must be (name, confidence), got {s!r}")
                s, conf[tool] = s[0], float(s[1])
            index[tool] = _state_index(tool, s)
    else:
        arr = np.asarray(states)
        if arr.shape != (len(DIMENSIONS),) or not np.issubdtype(arr.dtype, np.integer):
            raise ValueError(
                f"states must be {len(DIMENSIONS)} integer state indices (one per dimension) "
                f"or a mapping tool -> state, got {arr.dtype} array of shape {arr.shape}"
            )
        index = {tool: _state_index(tool, int(s)) for tool, s in zip(DIMENSIONS, arr, strict=True)}
    if confidences is not None:
        if isinstance(confidences, Mapping):
            unknown = [k for k in confidences if k not in TOOLS]
            if unknown:
                raise ValueError(f"unknown dimension(s) {unknown} in confidences")
            conf.update({k: float(v) for k, v in confidences.items()})
        else:
            c = np.asarray(confidences, dtype=float)
            if c.shape != (len(DIMENSIONS),):
                raise ValueError(f"confidences must have shape (10,), got {c.shape}")
            conf.update(zip(DIMENSIONS, c.tolist(), strict=True))
    for tool, c in conf.items():
        if not 0.0 <= c <= 1.0:
            raise ValueError(f"confidence of {tool!r} must be in [0, 1], got {c}")
    lines = ["Scene context (estimated from the image):"]
    for tool in DIMENSIONS:
        name = state_name(tool, index[tool])
        note = f"confidence {conf[tool]:.2f}" if tool in conf else ""
        if name == NEUTRAL:
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
) -> dict[str, float]:
    """Accuracy of ``estimator`` (default: the shipped one) on held-out renders.

    The renders follow the training recipe (:class:`FitConfig` defaults: one main edit, sometimes
    distractors, some unedited images) at ``size`` pixels, with images from the held-out seed
    stream, never seen in training whatever ``seed`` is (bundled photos are few: their crops do
    recur).

    Returns:
        ``{tool}``: accuracy over images whose dimension ``tool`` was edited (the exact value;
        neutral counts as wrong); ``{tool}/top3``: the value among the 3 most probable states;
        ``{tool}/chance``: ``1 / len(values)``; ``{tool}/neutral``: the fraction of non-edited
        dimensions called neutral; ``{tool}/n``: edited images; ``neutral_accuracy`` over every
        non-edited (image, dimension); ``unedited_neutral`` over images with no edit at all;
        ``mean``, ``mean/top3``, ``mean/chance``: means over the ten dimensions.
    """
    estimator = ContextEstimator.load() if estimator is None else estimator
    cfg = FitConfig(n_images=n_images, seed=seed, sizes=(size,))  # validates the arguments
    feats, labels = _render_features(n_images, seed, _HELDOUT_STREAM, cfg, (size,))
    logits = estimator.logits_from_features(feats)
    pred = logits.argmax(-1).T.numpy()
    top3 = logits.topk(3, -1).indices.permute(1, 0, 2).numpy()  # (B, 10, 3)
    neutral = np.array(CONTEXT_NVEC) - 1
    is_neutral = labels == neutral
    out: dict[str, float] = {}
    for d, tool in enumerate(DIMENSIONS):
        edited = ~is_neutral[:, d]
        out[tool] = _mean(pred[edited, d] == labels[edited, d])
        out[f"{tool}/top3"] = _mean((top3[edited, d] == labels[edited, d, None]).any(1))
        out[f"{tool}/chance"] = 1.0 / len(TOOLS[tool])
        out[f"{tool}/neutral"] = _mean(pred[~edited, d] == neutral[d])
        out[f"{tool}/n"] = float(edited.sum())
    out["neutral_accuracy"] = _mean((pred == neutral)[is_neutral])
    out["unedited_neutral"] = _mean(pred[is_neutral.all(1)] == neutral)
    for key in ("", "/top3", "/chance"):
        out[f"mean{key}"] = float(np.mean([out[f"{t}{key}"] for t in DIMENSIONS]))
    return out


def _mean(hits: np.ndarray) -> float:
    return float(hits.mean()) if hits.size else float("nan")


def format_report(report: Mapping[str, float]) -> str:
    """The table of :func:`accuracy_report`: one row per dimension, then the means."""
    rows = [f"{'dimension':<22} {'values':>6} {'n':>5} {'acc':>6} {'top3':>6} {'chance':>6} "
            f"{'neutral':>7}"]  # fmt: skip
    for tool in DIMENSIONS:
        rows.append(
            f"{tool:<22} {len(TOOLS[tool]):>6} {int(report[f'{tool}/n']):>5} {report[tool]:>6.3f} "
            f"{report[f'{tool}/top3']:>6.3f} {report[f'{tool}/chance']:>6.3f} "
            f"{report[f'{tool}/neutral']:>7.3f}"
        )
    rows.append(
        f"{'mean':<22} {'':>6} {'':>5} {report['mean']:>6.3f} {report['mean/top3']:>6.3f} "
        f"{report['mean/chance']:>6.3f} {report['neutral_accuracy']:>7.3f}"
    )
    rows.append(f"neutral accuracy on unedited images: {report['unedited_neutral']:.3f}")
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


def main(argv: Sequence[str] | None = None) -> None:
    """``fit`` writes weights; ``report`` prints held-out accuracy of a weights file."""
    p = argparse.ArgumentParser(
        prog="python -m styling_env.context", description=__doc__.splitlines()[0]
    )
    sub = p.add_subparsers(dest="command", required=True)
    fit = sub.add_parser("fit", help="render training images, train, write the weights")
    fit.add_argument("--out", type=Path, default=DEFAULT_WEIGHTS, help="weights file to write")
    docs = _field_docs(FitConfig)
    for f in fields(FitConfig):
        if f.name != "sizes":
            fit.add_argument(
                f"--{f.name.replace('_', '-')}", type=type(f.default), default=f.default,
                help=f"{docs.get(f.name, '')} (default {f.default})",
            )  # fmt: skip
    fit.add_argument(
        "--sizes", type=int, nargs="+", default=list(FitConfig.sizes),
        help=f"{docs['sizes']} (default {' '.join(map(str, FitConfig.sizes))})",
    )  # fmt: skip
    fit.add_argument("--report-images", type=int, default=1000, help="held-out renders to score")
    rep = sub.add_parser("report", help="held-out accuracy table of a weights file")
    rep.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS)
    rep.add_argument("--n-images", type=int, default=2000, help="held-out renders")
    rep.add_argument("--seed", type=int, default=0, help="seed of the held-out renders")
    rep.add_argument("--size", type=int, default=128, help="render side in pixels")
    args = p.parse_args(argv)
    if args.command == "fit":
        kwargs = {f.name: getattr(args, f.name) for f in fields(FitConfig)}
        kwargs["sizes"] = tuple(kwargs["sizes"])
        est = ContextEstimator.fit(verbose=True, **kwargs)
        path = est.save(args.out)
        print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")
        if args.report_images:
            print(format_report(accuracy_report(est, args.report_images, seed=args.seed)))
    else:
        try:
            est = ContextEstimator.load(args.weights)
        except (FileNotFoundError, ValueError) as err:
            p.exit(2, f"error: {err}\n")
        print(f"{args.weights}: {est!r}")
        print(f"held-out renders: {args.n_images} at {args.size}x{args.size}, seed {args.seed}")
        print(format_report(accuracy_report(est, args.n_images, args.seed, args.size)))


if __name__ == "__main__":
    main()
