"""Benchmark the styling tools: ms per batched call, per tool, per value and per op, beside
per-image Pillow/NumPy implementations of the same recipes.

Run ``python -m experiments.bench_tools`` (``make bench``); ``--quick`` is a seconds-long smoke
run, ``--json PATH`` writes every number. What is measured, all in one process:

1. **Per value**: one :func:`~styling_env.tools.apply_calls` on the whole batch (default
   64 x 3 x 128 x 128) with every image given the same (tool, value) — one group, one recipe run.
   Each value gets ``--warmup`` untimed runs (they also build the cached noise and particle
   fields), then the median of ``--repeats`` timed runs. Per tool: mean, median and max over its
   values, and images/s at the mean.
2. **Per step**: the same call re-run with every primitive op of ``OPS`` wrapped in a timer, so
   each step of each recipe has its own median ms; what is left of the call (grouping, copies,
   clamping) is the call's *overhead*. Summed over all values this says which ops dominate.
3. **Mixed**: ``apply_calls`` where every image has a different random call, as in a vector
   env (``B`` groups of one image each), averaged over :data:`MIXED_BATCHES` seeded batches.
4. **Per-image baselines**: a few recipes of different kinds written the way a per-image pipeline
   would be — a Python loop over uint8 ``(H, W, 3)`` arrays with Pillow, NumPy or SciPy —
   checked against the batched result (mean absolute difference in 0-255 units) and timed
   against it in the same run.

Times are wall-clock milliseconds (CUDA synchronized before each clock read). The torch thread
count is left at its default and printed. Other processes on the CPUs inflate every CPU timing
(several-fold on 2 cores), so the share of CPU time they used is measured for the run and for
each value, and values measured under competition are flagged (:data:`CONTENDED`).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import kornia
import numpy as np
import PIL
import torch
from PIL import Image, ImageOps
from scipy.ndimage import gaussian_filter

from styling_env.tools import DEFAULT_STRENGTH, OPS, RECIPES, TOOLS, ToolCall, apply_calls
from styling_env.tools.recipes import recipe_seed

MATCH_TOLERANCE: float = 2.0
"""Largest mean |batched - per-image| (0-255 units) at which a baseline counts as the same effect."""

CONTENDED: float = 0.1
"""A measurement during which other processes used more than this share of all CPUs' time is
flagged: competing work inflates CPU timings (an op's threads wait for a descheduled one)."""

QUICK = {"batch": 4, "size": 32, "repeats": 1}
"""What ``--quick`` sets, unless the flag is given explicitly."""

FULL = {"batch": 64, "size": 128, "repeats": 3}
"""Defaults of a full run: the vector env's 64 images of 128 x 128."""

Array = np.ndarray
PerImage = Callable[[Array], Array]
"""A per-image implementation: uint8 ``(H, W, 3)`` in, uint8 ``(H, W, 3)`` out."""

StepParams = tuple[tuple[str, dict[str, Any]], ...]
"""A recipe as ``(op, kwargs)`` pairs, seeds resolved as ``apply_recipe`` resolves them."""

# Rec. 709 luminance, the weights the torch ops use; written again here because a baseline is an
# independent implementation, not a re-export of the code it checks.
LUMA = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)
YIQ = np.array(
    [[0.299, 0.587, 0.114], [0.595716, -0.274453, -0.321263], [0.211456, -0.522591, 0.311135]],
    dtype=np.float32,
)
"""NTSC RGB -> YIQ, rows Y, I, Q (the space ``posterize`` quantizes in)."""
YIQ_INV = np.linalg.inv(YIQ.astype(np.float64)).astype(np.float32)


# ----------------------------------------------------------------------------------------------
# results


@dataclass(frozen=True)
class BenchConfig:
    """What to run. Sizes are in pixels, times in milliseconds."""

    batch: int = FULL["batch"]
    size: int = FULL["size"]
    repeats: int = FULL["repeats"]
    warmup: int = 1
    device: str = "auto"
    seed: int = 0
    top: int = 10


@dataclass(frozen=True)
class Machine:
    """Where the numbers were measured."""

    torch: str
    kornia: str
    numpy: str
    pillow: str
    python: str
    platform: str
    cpu: str
    cpu_count: int
    threads: int
    interop_threads: int
    device: str
    device_name: str


@dataclass(frozen=True)
class StepTiming:
    """One step of a recipe: its op and median ms over the whole batch."""

    op: str
    ms: float


@dataclass(frozen=True)
class ValueTiming:
    """One (tool, value) applied to the whole batch.

    Attributes:
        ms: median ms of one ``apply_calls``.
        steps: the recipe's steps in order, each timed alone (instrumented runs).
        overhead_ms: the call's time outside its ops (grouping, index copies, clamp, ``where``),
            median over the instrumented runs.
        other_cpu_share: share of all CPUs' time other processes used meanwhile, in [0, 1].
    """

    tool: str
    value: str
    ms: float
    steps: tuple[StepTiming, ...]
    overhead_ms: float
    other_cpu_share: float

    @property
    def name(self) -> str:
        return f"{self.tool}/{self.value}"

    def dominant(self) -> StepTiming:
        """The step that takes longest."""
        return max(self.steps, key=lambda s: s.ms)


@dataclass(frozen=True)
class ToolSummary:
    """One tool's values at the benchmark batch: ms statistics, images/s at the mean, and how many
    values were measured while other processes competed for the CPUs (see :data:`CONTENDED`)."""

    tool: str
    values: int
    mean_ms: float
    median_ms: float
    max_ms: float
    slowest_value: str
    images_per_s: float
    contended: int


@dataclass(frozen=True)
class OpSummary:
    """One primitive op over every recipe step that uses it.

    Attributes:
        uses: recipe steps (over all values) that run this op.
        total_ms: the steps' ms summed, i.e. the op's part of one call of every value.
        share: ``total_ms`` over all ops' total, in [0, 1].
    """

    op: str
    uses: int
    mean_ms: float
    max_ms: float
    total_ms: float
    share: float


@dataclass(frozen=True)
class MixedTiming:
    """``apply_calls`` with a different random call per image (a vector-env step), timed over
    :data:`MIXED_BATCHES` seeded batches (``calls``: the first batch's)."""

    ms: float
    groups: int
    images_per_s: float
    ms_per_group: float
    calls: tuple[str, ...]


@dataclass(frozen=True)
class BaselineResult:
    """A recipe batched in torch vs a per-image loop, over the same batch in the same run.

    Attributes:
        batched_ms: one ``apply_calls`` on the batch (float tensors in, float tensors out).
        per_image_ms: the loop over the batch's uint8 arrays (arrays in, arrays out).
        ratio: ``per_image_ms / batched_ms``; above 1 the batched call is faster.
        mean_abs_diff: mean |torch * 255 - per-image| over all pixels and channels, 0-255 units.
        max_abs_diff: the largest such difference.
    """

    kind: str
    recipe: str
    library: str
    batched_ms: float
    per_image_ms: float
    ratio: float
    mean_abs_diff: float
    max_abs_diff: float


@dataclass(frozen=True)
class BenchReport:
    """Everything one run measured; ``asdict`` of it is the ``--json`` file."""

    config: BenchConfig
    machine: Machine
    images: str
    values: tuple[ValueTiming, ...]
    tools: tuple[ToolSummary, ...]
    overall: ToolSummary
    slowest: tuple[str, ...]
    ops: tuple[OpSummary, ...]
    mean_overhead_ms: float
    mixed: MixedTiming
    baselines: tuple[BaselineResult, ...]
    match_tolerance: float
    wall_s: float
    other_cpu_share: float
    """Share of all CPUs' time during the run used by *other* processes, in [0, 1] (NaN without
    ``/proc/stat``). Competing work inflates CPU timings: an op's threads wait for each other."""


# ----------------------------------------------------------------------------------------------
# timing


def resolve_device(name: str) -> torch.device:
    """``auto`` is ``cuda`` when available, else ``cpu``; ``cuda`` without a GPU is a ValueError."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for, but torch.cuda.is_available() is False")
    if name not in ("cpu", "cuda"):
        raise ValueError(f"unknown device {name!r}; expected cpu, cuda or auto")
    return torch.device(name)


def sync(device: torch.device) -> None:
    """Wait for queued GPU work, so a clock read after it includes that work."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_ms(fn: Callable[[], object], device: torch.device, repeats: int, warmup: int) -> float:
    """Median wall time of ``fn()`` in ms over ``repeats`` runs, after ``warmup`` untimed runs."""
    for _ in range(warmup):
        fn()
    sync(device)
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync(device)
        samples.append((time.perf_counter() - start) * 1e3)
    return statistics.median(samples)


@contextmanager
def record_ops(device: torch.device) -> Iterator[list[tuple[str, float]]]:
    """Time every primitive op called through ``OPS`` inside the block.

    Yields a list that each op call appends ``(op name, ms)`` to, in call order. The registry is
    restored on exit, even on error. Ops reach ``apply_recipe`` only through ``OPS``, so wrapping
    the registry times the real code path instead of a copy of its loop.
    """
    log: list[tuple[str, float]] = []
    saved = dict(OPS)

    def timed(name: str, fn: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
        def run(*args: Any, **kwargs: Any) -> torch.Tensor:
            sync(device)
            start = time.perf_counter()
            out = fn(*args, **kwargs)
            sync(device)
            log.append((name, (time.perf_counter() - start) * 1e3))
            return out

        return run

    OPS.update({name: replace(spec, fn=timed(name, spec.fn)) for name, spec in saved.items()})
    try:
        yield log
    finally:
        OPS.update(saved)


# ----------------------------------------------------------------------------------------------
# batched measurements


def load_images(batch: int, size: int, seed: int, device: torch.device) -> tuple[torch.Tensor, str]:
    """A deterministic ``(batch, 3, size, size)`` batch in [0, 1], quantized to 8 bits (as decoded
    images are, so the uint8 baselines start from the very same pixels), and where it came from.

    Procedural scenes from ``styling_env.images.make_images`` when that works; otherwise a seeded
    smooth-plus-detail synthetic batch.
    """
    try:
        from styling_env.images import make_images

        x = make_images("procedural", batch, size, seed=seed).pixels
        source = "procedural scenes (styling_env.images.make_images)"
    except Exception as err:  # another part of the project; the benchmark must not depend on it
        g = torch.Generator().manual_seed(seed)
        coarse = torch.rand(batch, 3, 6, 6, generator=g)
        x = torch.nn.functional.interpolate(
            coarse, size=(size, size), mode="bicubic", align_corners=False
        )
        x = x + 0.06 * torch.randn(batch, 3, size, size, generator=g)
        source = f"seeded synthetic (smoothed torch.rand; make_images unavailable: {type(err).__name__}: {err})"
    x = (x.clamp(0, 1) * 255).round() / 255
    return x.to(device).contiguous(), source


def all_values() -> list[tuple[str, str]]:
    """Every (tool, value) of the vocabulary, in vocabulary order."""
    return [(tool, value) for tool, values in TOOLS.items() for value in values]


def bench_value(
    images: torch.Tensor, tool: str, value: str, cfg: BenchConfig, device: torch.device
) -> ValueTiming:
    """Time ``tool``'s ``value`` on every image at once, whole call and step by step."""
    call = ToolCall(tool, value, DEFAULT_STRENGTH)

    def run() -> torch.Tensor:
        return apply_calls(images, call)

    with Contention() as others:
        ms = time_ms(run, device, cfg.repeats, cfg.warmup)
        logs, overheads = [], []
        for _ in range(cfg.repeats):
            with record_ops(device) as log:
                total = time_ms(run, device, repeats=1, warmup=0)
            logs.append(log)
            overheads.append(total - sum(step_ms for _, step_ms in log))
    steps = tuple(
        StepTiming(op, statistics.median(log[i][1] for log in logs))
        for i, (op, _) in enumerate(logs[0])
    )
    return ValueTiming(tool, value, ms, steps, statistics.median(overheads), others.share)


def summarize(name: str, timings: Sequence[ValueTiming], batch: int) -> ToolSummary:
    """Mean, median and max ms over ``timings``; images/s at the mean."""
    ms = [v.ms for v in timings]
    slowest = max(timings, key=lambda v: v.ms)
    mean = statistics.fmean(ms)
    contended = sum(v.other_cpu_share > CONTENDED for v in timings)
    return ToolSummary(
        name, len(ms), mean, statistics.median(ms), slowest.ms, slowest.name, batch * 1e3 / mean,
        contended,
    )  # fmt: skip


def summarize_ops(timings: Sequence[ValueTiming]) -> tuple[OpSummary, ...]:
    """Per-op totals over every step of every value, largest total first."""
    per_op: dict[str, list[float]] = defaultdict(list)
    for v in timings:
        for s in v.steps:
            per_op[s.op].append(s.ms)
    grand = sum(sum(ms) for ms in per_op.values()) or 1.0
    rows = [
        OpSummary(op, len(ms), statistics.fmean(ms), max(ms), sum(ms), sum(ms) / grand)
        for op, ms in per_op.items()
    ]
    return tuple(sorted(rows, key=lambda r: -r.total_ms))


MIXED_BATCHES = 8
"""Seeded random batches the mixed call is timed on: one batch's time moved by a third between
runs on the reference machine (its few slow values dominate it)."""


def bench_mixed(images: torch.Tensor, cfg: BenchConfig, device: torch.device) -> MixedTiming:
    """Calls with a different random (tool, value) and strength per image, seeded: the mean over
    :data:`MIXED_BATCHES` batches of each batch's median time."""
    rng = np.random.default_rng(cfg.seed)
    pairs = all_values()
    b = images.shape[0]
    times, groups, first = [], [], None
    for _ in range(MIXED_BATCHES):
        picks = rng.choice(len(pairs), size=b, replace=b > len(pairs))
        strengths = rng.uniform(0.25, 1.0, size=b)
        calls = [ToolCall(*pairs[i], float(s)) for i, s in zip(picks, strengths, strict=True)]
        times.append(
            time_ms(lambda calls=calls: apply_calls(images, calls), device, cfg.repeats, cfg.warmup)
        )
        groups.append(len({(c.tool, c.value) for c in calls}))
        first = first or calls
    ms, n = statistics.fmean(times), round(statistics.fmean(groups))
    return MixedTiming(ms, n, b * 1e3 / ms, ms / n, tuple(f"{c.tool}/{c.value}" for c in first))


# ----------------------------------------------------------------------------------------------
# per-image baselines


def to_uint8(x: Array) -> Array:
    """Float ``[0, 1]`` (values outside are clipped) to uint8, rounding to nearest."""
    return (np.clip(x, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def lut(fn: Callable[[float], float]) -> list[int]:
    """A 256-entry Pillow lookup table of ``fn`` on 0-255 values, rounded and clipped."""
    return [min(255, max(0, round(fn(float(v))))) for v in range(256)]


def expect_ops(steps: StepParams, ops: tuple[str, ...], what: str) -> list[dict[str, Any]]:
    """The steps' kwargs, after checking the recipe is still made of ``ops`` (ValueError if not:
    a baseline written for another recipe would compare two different effects)."""
    got = tuple(op for op, _ in steps)
    if got != ops:
        raise ValueError(f"{what} implements the recipe {ops}, but the recipe is now {got}")
    return [kwargs for _, kwargs in steps]


def recipe_steps(tool: str, value: str) -> StepParams:
    """``tool``'s ``value`` as ``(op, kwargs)`` pairs, with seeds offset by the value's seed as
    ``apply_recipe`` offsets them."""
    out = []
    for step in RECIPES[tool][value]:
        kwargs = step.kwargs()
        if "seed" in OPS[step.op].params:
            kwargs["seed"] = recipe_seed(tool, value) + kwargs.get("seed", 0)
        out.append((step.op, kwargs))
    return tuple(out)


def _np_luma(x: Array) -> Array:
    return (x @ LUMA)[..., None]


# NumPy ops over float32 (H, W, 3) images: factories (h, w, t, **params) -> step, which build
# what does not depend on the image once. Each mirrors the torch op of the same name at strength t.
NpStep = Callable[[Array], Array]


def _np_saturation(h: int, w: int, t: float, factor: float) -> NpStep:
    k = 1 + (factor - 1) * t

    def step(x: Array) -> Array:
        lum = _np_luma(x)
        return lum + (x - lum) * k

    return step


def _np_white_balance(h: int, w: int, t: float, temp: float, tint: float = 0.0) -> NpStep:
    gains = np.array([1 + 0.35 * temp, 1 - 0.25 * tint, 1 - 0.35 * temp], dtype=np.float32)
    gains = 1 + (gains / (gains @ LUMA) - 1) * t
    return lambda x: x * gains


def _np_exposure(h: int, w: int, t: float, ev: float) -> NpStep:
    gain = np.float32(2.0 ** (ev * t))
    return lambda x: x * gain


def _np_contrast(h: int, w: int, t: float, amount: float, pivot: float = -1.0) -> NpStep:
    def step(x: Array) -> Array:
        p = float((x @ LUMA).mean()) if pivot < 0 else pivot
        return (x - p) * np.float32(1 + amount * t) + np.float32(p)

    return step


def _np_levels(h: int, w: int, t: float, black: float = 0.0, white: float = 1.0) -> NpStep:
    scale, offset = np.float32(1 + (white - black - 1) * t), np.float32(black * t)
    return lambda x: x * scale + offset


def _np_grain(
    h: int, w: int, t: float, sigma: float, mono: bool = True, seed: int = 0, scale: float = 1.0
) -> NpStep:
    # The same seeded field as the torch op, drawn once (the torch op caches it too) and upsampled
    # with Pillow's bilinear resize, whose pixel-centre convention matches align_corners=False.
    hs, ws = max(1, int(h / scale)), max(1, int(w / scale))
    noise = np.random.default_rng(seed).standard_normal(
        (1, 1 if mono else 3, hs, ws), dtype=np.float32
    )[0]
    if (hs, ws) != (h, w):
        noise = np.stack(
            [np.asarray(Image.fromarray(c, "F").resize((w, h), Image.BILINEAR)) for c in noise]
        )
    noise = np.ascontiguousarray(noise.transpose(1, 2, 0)) * np.float32(sigma * t)

    def step(x: Array) -> Array:
        lum = np.clip(_np_luma(x), 0, 1)
        return x + noise * (0.35 + 2.6 * lum * (1 - lum))

    return step


def _np_s_curve(h: int, w: int, t: float, amount: float) -> NpStep:
    k = np.float32(amount * t / (2 * math.pi))
    return lambda x: x - k * np.sin(np.float32(2 * math.pi) * x)


def _np_clarity(h: int, w: int, t: float, amount: float, sigma: float = 0.02) -> NpStep:
    # Gaussian of the torch op's kernel: sigma in pixels, 2 * ceil(2.5 sigma) + 1 taps (at most
    # the image side), truncated and renormalized, mirrored at the borders ("reflect" in torch).
    s = max(0.6, sigma * min(h, w))
    if s >= 4:  # the torch op blurs such sigmas on a downsampled copy, not implemented here
        raise ValueError(f"_np_clarity implements sigmas under 4 px, got {s:.2f}")
    radius = min(math.ceil(2.5 * s), min(h, w) // 2 - 1)
    k = np.float32(amount * t)

    def step(x: Array) -> Array:
        soft = gaussian_filter(x, sigma=(s, s, 0), mode="mirror", truncate=radius / s)
        return x + k * (x - soft)

    return step


def _np_mosaic(
    h: int, w: int, t: float, cells: float, kind: str = "square", jitter: float = 0.0, seed: int = 0
) -> NpStep:
    if kind != "square":
        raise ValueError(f"_np_mosaic implements square cells, got kind={kind!r}")
    f = max(1, round(min(h, w) / cells))
    ph, pw = -h % f, -w % f  # partial cells at the edges average what they hold (ceil mode)
    mean = np.nanmean if ph or pw else np.mean

    def step(x: Array) -> Array:
        if ph or pw:
            x = np.pad(x, ((0, ph), (0, pw), (0, 0)), constant_values=np.nan)
        hp, wp = x.shape[:2]
        cell = mean(x.reshape(hp // f, f, wp // f, f, 3), axis=(1, 3))
        blocks = np.repeat(np.repeat(cell, f, axis=0), f, axis=1)[:h, :w]
        return x[:h, :w] + (blocks - x[:h, :w]) * np.float32(t)

    return step


def _np_posterize(h: int, w: int, t: float, levels: int) -> NpStep:
    # Luminance to `levels` steps and chroma to a matching grid, in YIQ (as the torch op does).
    grid = np.array([1 / (levels - 1), 0.6 / levels, 0.6 / levels], dtype=np.float32)

    def step(x: Array) -> Array:
        yiq = np.clip(x, 0, 1) @ YIQ.T
        q = (np.round(yiq / grid) * grid) @ YIQ_INV.T
        return x + (q - x) * np.float32(t)

    return step


NP_OPS: dict[str, Callable[..., NpStep]] = {
    "saturation": _np_saturation,
    "white_balance": _np_white_balance,
    "exposure": _np_exposure,
    "contrast": _np_contrast,
    "levels": _np_levels,
    "s_curve": _np_s_curve,
    "grain": _np_grain,
    "clarity": _np_clarity,
    "mosaic": _np_mosaic,
    "posterize": _np_posterize,
}
"""The ops a NumPy per-image pipeline implements (a recipe made only of these can be baselined)."""


def numpy_pipeline(h: int, w: int, t: float, steps: StepParams) -> PerImage:
    """A recipe as a per-image NumPy float32 pipeline: uint8 -> float -> steps -> uint8."""
    missing = [op for op, _ in steps if op not in NP_OPS]
    if missing:
        raise ValueError(f"no NumPy implementation of op(s) {missing}; have {sorted(NP_OPS)}")
    fns = [NP_OPS[op](h, w, t, **kwargs) for op, kwargs in steps]

    def run(img: Array) -> Array:
        x = img.astype(np.float32) * np.float32(1 / 255)
        for fn in fns:
            x = fn(x)
        return to_uint8(x)

    return run


def sepia_pillow(h: int, w: int, t: float, steps: StepParams) -> PerImage:
    """``gradient_map`` (three stops) + ``levels`` in Pillow: a luma conversion, ``colorize``,
    ``blend`` by the strength, and one lookup table for levels at strength ``t``."""
    gm, lv = expect_ops(steps, ("gradient_map", "levels"), "sepia_pillow")
    if len(gm["stops"]) != 3:
        raise ValueError(
            f"sepia_pillow maps onto 3 stops (ImageOps.colorize), got {len(gm['stops'])}"
        )
    dark, mid, light = (tuple(round(255 * c) for c in stop) for stop in gm["stops"])
    black, white = lv.get("black", 0.0), lv.get("white", 1.0)
    table = lut(lambda v: v + t * (255 * black + v * (white - black) - v)) * 3
    to_luma = (*map(float, LUMA), 0.0)

    def run(img: Array) -> Array:
        im = Image.fromarray(img)
        toned = ImageOps.colorize(im.convert("L", to_luma), black=dark, white=light, mid=mid)
        return np.asarray(Image.blend(im, toned, t).point(table))

    return run


@dataclass(frozen=True)
class Baseline:
    """A per-image implementation of one recipe.

    Attributes:
        kind: what sort of effect (colour, tone, texture, spatial, blur).
        build: ``(h, w, strength, steps) -> per-image function``; builds tables and fields once,
            as the torch side caches its fields.
    """

    kind: str
    tool: str
    value: str
    library: str
    build: Callable[[int, int, float, StepParams], PerImage]


BASELINES: tuple[Baseline, ...] = (
    Baseline("colour", "color_grading", "sepia_vintage", "Pillow", sepia_pillow),
    Baseline("tone", "mood_lighting", "melancholic_somber", "NumPy", numpy_pipeline),
    Baseline("texture", "atmospheric_effects", "film_grain", "NumPy", numpy_pipeline),
    Baseline("spatial", "artistic_medium", "pixel_art", "NumPy", numpy_pipeline),
    Baseline("blur", "mood_lighting", "energetic_vibrant", "NumPy+SciPy", numpy_pipeline),
)


def bench_baseline(
    base: Baseline, images: torch.Tensor, cfg: BenchConfig, device: torch.device
) -> BaselineResult:
    """Check ``base`` against ``apply_calls`` on ``images`` and time both, one after the other."""
    h, w = images.shape[-2:]
    per_image = base.build(h, w, DEFAULT_STRENGTH, recipe_steps(base.tool, base.value))
    arrays = list((images * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy())
    call = ToolCall(base.tool, base.value, DEFAULT_STRENGTH)

    batched = apply_calls(images, call).permute(0, 2, 3, 1).cpu().numpy().astype(np.float64) * 255
    looped = np.stack([per_image(a) for a in arrays]).astype(np.float64)
    diff = np.abs(batched - looped)
    batched_ms = time_ms(lambda: apply_calls(images, call), device, cfg.repeats, cfg.warmup)
    per_image_ms = time_ms(
        lambda: [per_image(a) for a in arrays], torch.device("cpu"), cfg.repeats, cfg.warmup
    )
    return BaselineResult(
        base.kind, f"{base.tool}/{base.value}", base.library, batched_ms, per_image_ms,
        per_image_ms / batched_ms, float(diff.mean()), float(diff.max()),
    )  # fmt: skip


# ----------------------------------------------------------------------------------------------
# report


def cpu_clock() -> tuple[float, float]:
    """(CPU seconds all processes have been busy, per ``/proc/stat``; this process's CPU
    seconds). The first is NaN where there is no ``/proc/stat``."""
    busy = math.nan
    stat = Path("/proc/stat")
    if stat.exists():
        # cpu  user nice system idle iowait irq softirq steal ...; idle and iowait are not busy
        ticks = [int(v) for v in stat.read_text().split("\n", 1)[0].split()[1:9]]
        busy = (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")
    return busy, time.process_time()


class Contention:
    """``with Contention() as c: ...`` sets ``c.share``, the share of all CPUs' time that other
    processes used while the block ran, in [0, 1] (NaN without ``/proc/stat``; the kernel counts
    in 10 ms ticks, so blocks shorter than about a second are coarse)."""

    share: float = math.nan

    def __enter__(self) -> Contention:
        self._start, (self._busy, self._own) = time.perf_counter(), cpu_clock()
        return self

    def __exit__(self, *exc: object) -> None:
        wall = time.perf_counter() - self._start
        busy, own = cpu_clock()
        others = (busy - self._busy) - (own - self._own)
        self.share = min(1.0, max(0.0, others / (max(wall, 1e-9) * (os.cpu_count() or 1))))


def machine_info(device: torch.device) -> Machine:
    """Library versions, CPU and thread counts, and the device the batched calls run on."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        models = [
            ln.split(":", 1)[1].strip()
            for ln in cpuinfo.read_text().splitlines()
            if ln.startswith("model name")
        ]
        cpu = models[0] if models else cpu
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu
    return Machine(
        torch.__version__, kornia.__version__, np.__version__, PIL.__version__,
        platform.python_version(), platform.platform(), cpu, os.cpu_count() or 0,
        torch.get_num_threads(), torch.get_num_interop_threads(), str(device), name,
    )  # fmt: skip


def format_table(
    title: str, headers: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1
) -> str:
    """A plain-text table: the first ``left`` columns left-aligned, the rest right-aligned."""
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(wd) if i < left else c.rjust(wd)
            for i, (c, wd) in enumerate(zip(cells, widths, strict=True))
        )

    rule = "-" * len(line(headers))
    return "\n".join([title, line(headers), rule, *(line(r) for r in rows)])


def render(report: BenchReport) -> str:
    """The report as readable text tables."""
    cfg, m = report.config, report.machine
    by_name = {v.name: v for v in report.values}
    shape = f"{cfg.batch} x 3 x {cfg.size} x {cfg.size}"
    head = (
        f"ImageStyling tool benchmark: torch {m.torch}, kornia {m.kornia}, numpy {m.numpy}, Pillow {m.pillow}\n"
        f"device {m.device} ({m.device_name}); torch threads {m.threads} (interop {m.interop_threads}, "
        f"default, not changed); {m.cpu_count} CPUs\n"
        f"images: {report.images}\n"
        f"batch {shape}; strength {DEFAULT_STRENGTH}; median of {cfg.repeats} run(s) after {cfg.warmup} warm-up\n"
        f"other processes used {report.other_cpu_share:.0%} of the CPUs' time during the run"
    )
    if report.other_cpu_share > CONTENDED:
        head += (
            f"\nWARNING: CPU timings are inflated by the competing work; values measured while "
            f"others used > {CONTENDED:.0%} are counted under 'busy' and marked *"
        )
    tools = format_table(
        f"Per tool: ms per apply_calls (all {cfg.batch} images the same value; stats over values)",
        ["tool", "values", "busy", "mean ms", "median ms", "max ms", "img/s", "slowest value"],
        [
            [s.tool, str(s.values), str(s.contended), f"{s.mean_ms:.1f}", f"{s.median_ms:.1f}",
             f"{s.max_ms:.1f}", f"{s.images_per_s:,.0f}",
             s.slowest_value.split("/", 1)[1] if s.tool != "all" else s.slowest_value]
            for s in (*report.tools, report.overall)
        ],
    )  # fmt: skip
    mx = report.mixed
    mixed = (
        f"Mixed: {cfg.batch} images, {cfg.batch} random calls ({mx.groups} distinct values, one group each; "
        f"mean of {MIXED_BATCHES} seeded batches): "
        f"{mx.ms:.1f} ms per call = {mx.images_per_s:,.0f} images/s ({mx.ms_per_group:.2f} ms per group)\n"
        f"  the target is >= 1,000 env steps/s, i.e. <= {cfg.batch} ms for this call plus the env's own work"
    )
    slow_rows = []
    for name in report.slowest:
        v = by_name[name]
        d = v.dominant()
        mark = "*" if v.other_cpu_share > CONTENDED else ""
        steps = " ".join(f"{s.op}:{s.ms:.1f}" for s in v.steps)
        share = f"{d.op} {d.ms:.1f} ({d.ms / v.ms:.0%})"
        slow_rows.append([name + mark, f"{v.ms:.1f}", share, f"{v.overhead_ms:.1f}", steps])
    slowest = format_table(
        f"Slowest {len(report.slowest)} values (steps timed one by one, ms)",
        ["tool/value", "ms", "dominant step", "overhead", "steps"],
        slow_rows,
    )
    ops = format_table(
        f"Ops by total time over all {len(report.values)} values (one call each; "
        f"mean call overhead outside the ops {report.mean_overhead_ms:.1f} ms)",
        ["op", "uses", "mean ms", "max ms", "total ms", "share"],
        [
            [
                o.op,
                str(o.uses),
                f"{o.mean_ms:.2f}",
                f"{o.max_ms:.1f}",
                f"{o.total_ms:.0f}",
                f"{o.share:.1%}",
            ]
            for o in report.ops
        ],
    )
    base = format_table(
        f"Per-image baselines ({cfg.batch} images; batched = one apply_calls, per-image = a loop over "
        f"uint8 arrays; |diff| in 0-255 units, tolerance {report.match_tolerance})",
        ["kind", "recipe", "library", "batched ms", "per-image ms", "ratio", "mean|diff|", "max|diff|"],
        [
            [b.kind, b.recipe, b.library, f"{b.batched_ms:.1f}", f"{b.per_image_ms:.1f}", f"{b.ratio:.2f}x",
             f"{b.mean_abs_diff:.2f}", f"{b.max_abs_diff:.0f}"]
            for b in report.baselines
        ],
        left=3,
    )  # fmt: skip
    return "\n\n".join([head, tools, mixed, slowest, ops, base, f"wall time {report.wall_s:.1f} s"])


def run(cfg: BenchConfig, progress: Callable[[str], None] = print) -> BenchReport:
    """Run every measurement of ``cfg`` and return the report (nothing printed but progress)."""
    start = time.perf_counter()
    with Contention() as whole:
        device = resolve_device(cfg.device)
        images, source = load_images(cfg.batch, cfg.size, cfg.seed, device)
        pairs = all_values()
        shape = f"{cfg.batch} x 3 x {cfg.size} x {cfg.size}"
        progress(f"timing {len(pairs)} values on {shape} ({device}) ...")
        values = tuple(bench_value(images, tool, value, cfg, device) for tool, value in pairs)
        progress("timing the mixed call and the per-image baselines ...")
        mixed = bench_mixed(images, cfg, device)
        baselines = tuple(bench_baseline(b, images, cfg, device) for b in BASELINES)
    tools = tuple(summarize(t, [v for v in values if v.tool == t], cfg.batch) for t in TOOLS)
    slowest = tuple(v.name for v in sorted(values, key=lambda v: -v.ms)[: cfg.top])
    return BenchReport(
        cfg, machine_info(device), source, values, tools, summarize("all", values, cfg.batch),
        slowest, summarize_ops(values), statistics.fmean(v.overhead_ms for v in values), mixed,
        baselines, MATCH_TOLERANCE, time.perf_counter() - start, whole.share,
    )  # fmt: skip


def parse_args(argv: Sequence[str] | None = None) -> tuple[BenchConfig, Path | None]:
    """The command line as a config and the optional JSON path."""
    p = argparse.ArgumentParser(
        prog="python -m experiments.bench_tools", description=__doc__.split("\n\n")[0]
    )
    p.add_argument(
        "--batch",
        type=int,
        help=f"images per call (default {FULL['batch']}; --quick: {QUICK['batch']})",
    )
    p.add_argument(
        "--size",
        type=int,
        help=f"image side in pixels (default {FULL['size']}; --quick: {QUICK['size']})",
    )
    p.add_argument(
        "--repeats",
        type=int,
        help=f"timed runs per measurement, median taken (default {FULL['repeats']}; --quick: {QUICK['repeats']})",
    )
    p.add_argument(
        "--warmup", type=int, default=1, help="untimed runs before each measurement (default 1)"
    )
    p.add_argument(
        "--device",
        choices=("cpu", "cuda", "auto"),
        default="auto",
        help="where the batched calls run; auto = cuda when available",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the images and of the mixed call's random calls (default 0)",
    )
    p.add_argument(
        "--top", type=int, default=10, help="how many of the slowest values to list (default 10)"
    )
    p.add_argument(
        "--quick", action="store_true", help="a seconds-long smoke run: batch 4, size 32, 1 repeat"
    )
    p.add_argument(
        "--json",
        type=Path,
        metavar="PATH",
        help="also write every number, with machine info, to PATH",
    )
    a = p.parse_args(argv)
    preset = QUICK if a.quick else FULL
    sizes = {k: getattr(a, k) if getattr(a, k) is not None else v for k, v in preset.items()}
    for k, v in sizes.items():
        if v < 1:
            p.error(f"--{k} must be >= 1, got {v}")
    if a.warmup < 0:
        p.error(f"--warmup must be >= 0, got {a.warmup}")
    return BenchConfig(**sizes, warmup=a.warmup, device=a.device, seed=a.seed, top=a.top), a.json


def main(argv: Sequence[str] | None = None) -> BenchReport:
    """Run the benchmark from command-line ``argv``, print the tables, write ``--json``."""
    cfg, json_path = parse_args(argv)
    report = run(cfg)
    print(render(report))
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(asdict(report), indent=2))
        print(f"wrote {json_path}")
    return report


if __name__ == "__main__":
    main()
