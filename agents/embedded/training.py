"""Training the embedded planner with the paper's five offline methods (see the package docstring)."""

from __future__ import annotations

import hashlib
import math
import os
import time
import warnings
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from agents.config import Config, config_from
from agents.training import MetricLog, check_finite, minibatches, peak_memory_mb
from offline_data.errors import check_same_library
from offline_data.loaders import StepTensors, to_tensors
from offline_data.weights import (
    DPO_BETA,
    DPOPairs,
    check_method,
    dpo_loss,
    dpo_pairs,
    sample_weights,
    weighted_loss,
)
from styling_env.validation import choice, positive_float, positive_int

from ..methods import default_epochs, default_lr
from .agent import EmbeddedAgent
from .config import PlannerConfig
from .hashed import hashed_words
from .model import EmbeddedPlanner, PlannerBatch, resize_images
from .pixels import image_statistics
from .text import instruction_encoder

if TYPE_CHECKING:
    from agents.registry import TrainJob

# --------------------------------------------------------------------------------------------
# Training


@dataclass
class TrainResult:
    """What :func:`train` returns. ``losses``: one dict per log interval (means over it)."""

    planner: EmbeddedPlanner = field(repr=False)
    method: str
    losses: list[dict[str, float]] = field(repr=False)
    seconds: float  # training loop only
    load_seconds: float  # dataset -> tensors, resizing, instruction embeddings
    steps: int
    samples: int  # rows processed (DPO: rows of both sides of every pair)
    samples_per_s: float
    peak_memory_mb: float | None  # process peak RSS (CPU) or peak allocated (CUDA)
    checkpoint: Path | None = None
    reference: EmbeddedPlanner | None = field(default=None, repr=False)  # DPO's frozen reference
    reference_result: TrainResult | None = field(default=None, repr=False)  # DPO: its S run
    info: dict[str, Any] = field(default_factory=dict)

    def agent(self, **kwargs: Any) -> EmbeddedAgent:
        return EmbeddedAgent(self.planner, **kwargs)


@dataclass
class PreparedData:
    """Training tensors of :func:`prepare`: rows with images at the config's size, and the
    instruction embeddings of ``rows.instructions`` (with a token encoder also their token
    states, once per instruction: a minibatch gathers its rows' instructions)."""

    rows: StepTensors
    text: torch.Tensor  # (U, D) embeddings of rows.instructions
    dataset_id: str | None
    checksum: str | None
    seconds: float
    tokens: torch.Tensor | None = None  # (U, T, 384) float16 token states (token encoders)
    token_mask: torch.Tensor | None = None  # (U, T) bool
    max_tokens: int | None = None  # the limit ``tokens`` was cut at
    wordings: torch.Tensor | None = None
    """``(U, 1 + n)`` rows of ``text`` (and ``tokens``) holding each instruction's wordings
    (column 0: its own; :func:`with_rewordings`); a training minibatch draws one per row."""
    stored_size: int | None = None
    """The image size the dataset was generated at (its recipe's), where known."""
    pixels: tuple[torch.Tensor, torch.Tensor] | None = None
    """The pixel statistics (:func:`with_pixel_statistics`) of ``rows.image`` ``(N, 117)`` and of
    ``rows.sources`` ``(S, 117)``, measured once; without them a ``pixel_stats`` planner
    measures every minibatch again."""
    hash_dim: int = 0
    """The last ``hash_dim`` columns of ``text`` are hashed words (a ``+hash`` encoder; 0: none).
    A CPU minibatch then carries them as sparse entries (:attr:`PlannerBatch.words`), found once
    per row of ``text`` (:meth:`sparse_words`) instead of in every minibatch."""
    _words: tuple[torch.Tensor, ...] | None = field(default=None, init=False, repr=False)

    def __len__(self) -> int:
        return len(self.rows)

    def sparse_words(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(index, value, count)``: every row of ``text``'s hashed words as
        :func:`~.hashed.hashed_words` gives them (``(U, L)`` each, padded to the longest row) and
        each row's count of them ``(U,)``; found once per ``text`` (new rewordings, new rows)."""
        if not self.hash_dim:
            raise ValueError("this data's text holds no hashed words (hash_dim=0)")
        if self._words is None or self._words[0] is not self.text:
            index, value = hashed_words(self.text[:, -self.hash_dim :].float())
            self._words = (self.text, index, value, (value != 0).sum(1))
        return self._words[1], self._words[2], self._words[3]

    def batch(
        self, index: torch.Tensor, *, images: bool = True, device: str | torch.device = "cpu",
        gen: torch.Generator | None = None,
    ) -> PlannerBatch:  # fmt: skip
        """The rows ``index`` as a :class:`PlannerBatch` with their actions; with ``gen`` and
        :attr:`wordings`, each row in one of its wordings drawn at random (a training
        minibatch), else in the dataset's own words."""
        return _batch(self, torch.as_tensor(index, dtype=torch.int64), not images, device, gen)


def cache_key(config: PlannerConfig) -> tuple[Any, ...]:
    """The key under which a job cache shares rows :func:`prepare` gives of ``config`` between
    methods: what the prepared tensors depend on (the images' size, the instruction encoder
    and, for a token encoder, where its token states are cut)."""
    key: tuple[Any, ...] = ("embedded", config.image_size, config.encoder, config.hash_dim)
    return key + (config.max_tokens,) if config.tokens else key


def shared_prepared(job: TrainJob, planner: PlannerConfig) -> PreparedData:
    """The job's data (:meth:`TrainJob.records`) prepared once for every method that shares the
    job's cache, under :func:`cache_key`: with images (a text-only run reads the same tensors)
    and, for a whole dataset, its id."""
    shared = planner.replace(text_only=False)

    def build() -> PreparedData:
        prepared = prepare(job.records(), shared)
        if job.episodes is None:
            prepared.dataset_id = job.dataset
        return prepared

    return job.cached(cache_key(shared), build)


#: (dataset checksum or id, instructions' digest, n) -> the reworded texts and their table:
#: the methods of one benchmark job share them (drawing a Complex task again takes ~16 ms, so a
#: 10,000-episode tier's ~5,000 requests take over a minute).
_REWORDED: dict[tuple[Any, ...], tuple[list[str], np.ndarray, int]] = {}


def with_rewordings(d: PreparedData, n: int, config: PlannerConfig) -> PreparedData:
    """``d`` with ``n`` more wordings of each request that a generated train task wrote
    (:func:`styling_env.rewording.reworded`), encoded and appended to ``text`` (and
    ``tokens``), and the table :attr:`PreparedData.wordings`. Requests that cannot be
    reworded (:func:`styling_env.rewording.generated_train_task` gives None) keep their own
    words in every column; a warning says how many."""
    from styling_env.rewording import generated_train_task, reworded

    positive_int("rewordings", n)
    if d.wordings is not None and d.wordings.shape[1] == n + 1:
        return d  # already held in these wordings
    rows = d.rows
    n_unique = len(rows.instructions)
    # the table points past the requests' own rows: start from them alone (data prepared again
    # from reworded data may still carry an earlier table's extra rows)
    d = replace(
        d,
        text=d.text[:n_unique],
        tokens=None if d.tokens is None else d.tokens[:n_unique],
        token_mask=None if d.token_mask is None else d.token_mask[:n_unique],
    )
    digest = hashlib.sha256("\n".join(rows.instructions).encode()).hexdigest()
    key = (d.checksum or d.dataset_id, digest, n)
    if key not in _REWORDED:
        first: dict[int, str] = {}
        for u, tid in zip(rows.instruction_index.tolist(), rows.task_id, strict=True):
            first.setdefault(u, tid)
        table = np.tile(np.arange(n_unique, dtype=np.int64)[:, None], (1, n + 1))
        texts: list[str] = []
        kept = 0
        for u in range(n_unique):
            task = generated_train_task(first.get(u, ""), rows.instructions[u])
            if task is None:
                kept += 1
                continue
            for k in range(1, n + 1):
                table[u, k] = n_unique + len(texts)
                texts.append(reworded(task, k).instruction)
        _REWORDED[key] = (texts, table, kept)
    texts, table, kept = _REWORDED[key]
    if kept:
        why = (
            "not generated train tasks of this code (imported, another image source or "
            "language version)"
        )
        warnings.warn(
            f"{kept} of {n_unique} requests are {why}: they keep their own words", stacklevel=2
        )
    encoder = instruction_encoder(config)
    text, tokens, mask = d.text, d.tokens, d.token_mask
    if texts:
        text = torch.cat([text, torch.as_tensor(encoder.encode(texts))])
        if config.tokens and tokens is not None and mask is not None:
            more, more_mask = encoder.encode_tokens(texts, config.max_tokens)
            width = max(tokens.shape[1], more.shape[1])
            tokens = torch.cat([F.pad(tokens, (0, 0, 0, width - tokens.shape[1])), F.pad(more, (0, 0, 0, width - more.shape[1]))])  # fmt: skip
            mask = torch.cat([F.pad(mask, (0, width - mask.shape[1])), F.pad(more_mask, (0, width - more_mask.shape[1]))])  # fmt: skip
    return replace(d, text=text, tokens=tokens, token_mask=mask, wordings=torch.from_numpy(table))


#: (dataset checksum or id, rows, n, image size, stored size, seed) -> the rows with their
#: counterfactual rows: the methods of one benchmark job share them (84 s at one thread for
#: the 10,000-episode Complex tier).
#: One entry: the rows hold the tier's images again (~0.7 GB for Complex at 64 px).
_COUNTERFACTUAL: dict[tuple[Any, ...], StepTensors] = {}


def with_counterfactual_rows(
    d: PreparedData, n: int, config: PlannerConfig, seed: int = 0
) -> PreparedData:
    """``d`` with ``n`` counterfactual rows per conditional-clause row
    (:func:`agents.embedded.counterfactual.with_counterfactuals`), rendered at the size the
    dataset was generated at (128 px where unknown)."""
    from .counterfactual import with_counterfactuals

    if config.text_only:
        raise ValueError(
            "counterfactual rows differ from their originals only in the picture: a text-only "
            "planner cannot tell them apart (set counterfactuals=0)"
        )
    if d.pixels is not None or d.wordings is not None:
        raise ValueError("add counterfactual rows before pixel statistics and rewordings")
    size = d.stored_size or 128
    name = d.checksum or d.dataset_id
    key = (name, len(d.rows), n, config.image_size, size, seed)
    if name is not None and key in _COUNTERFACTUAL:
        return replace(d, rows=_COUNTERFACTUAL[key])
    rows = with_counterfactuals(d.rows, n, config.image_size, size, seed)
    if name is not None:  # data without a name cannot be recognized again: not kept
        _COUNTERFACTUAL.clear()
        _COUNTERFACTUAL[key] = rows
    return replace(d, rows=rows)


def with_pixel_statistics(d: PreparedData) -> PreparedData:
    """``d`` with the pixel statistics of its images (:attr:`PreparedData.pixels`), for planners
    with ``pixel_stats``: measured once (2.5 s per 1,000 images at 64 px on one thread) and
    kept on ``d`` itself, so the methods of a benchmark job that share one prepared dataset
    measure it once. Returns ``d``."""
    if d.pixels is not None:
        return d
    r = d.rows
    if r.image is None or r.sources is None:
        raise ValueError("pixel statistics need the rows' images: the prepared data has none")
    d.pixels = (image_statistics(r.image), image_statistics(r.sources))
    return d


def _dataset_info(data: Any) -> tuple[Any, str | None, str | None]:
    from offline_data.dataset import info, load

    if isinstance(data, str):
        did = data
        data = load(data)
        return data, did, info(data).get("checksum")
    if hasattr(data, "iterate_episodes") and hasattr(data, "storage"):
        did = getattr(data, "id", None)
        return data, did, info(data).get("checksum")
    return data, None, None


def _stored_size(data: Any) -> int | None:
    """The image size a dataset was generated at (its recipe's), else None."""
    if not (hasattr(data, "iterate_episodes") and hasattr(data, "storage")):
        return None
    from offline_data.dataset import info

    size = (info(data).get("recipe") or {}).get("image_size")
    return int(size) if isinstance(size, int) else None


def prepare(
    data: Any,
    config: PlannerConfig,
    method: str = "s",
    *,
    groups: str | Callable[[Mapping[str, Any]], Hashable] | None = None,
) -> PreparedData:
    """Dataset -> resized tensors + instruction embeddings for :func:`train` (done once: pass
    the result as ``data`` to train several methods on one load)."""
    t0 = time.perf_counter()
    tokens = mask = stored = None
    if isinstance(data, PreparedData):
        rows, did, checksum = data.rows, data.dataset_id, data.checksum
        stored = data.stored_size
        text, tokens, mask = data.text, data.tokens, data.token_mask
        if config.tokens and (tokens is None or data.max_tokens != config.max_tokens):
            raise ValueError(
                f"the prepared data has no token states cut at max_tokens={config.max_tokens} "
                f"(encoder {config.encoder!r}): prepare the data with this config"
            )
    else:
        if isinstance(data, StepTensors):
            rows, did, checksum = data, None, None
        else:
            src, did, checksum = _dataset_info(data)
            stored = _stored_size(src)
            shrink = None
            if not config.text_only:  # hold the images at the work size only, never as stored

                def shrink(a: np.ndarray) -> np.ndarray:
                    return resize_images(torch.from_numpy(a), config.image_size).numpy()

            rows = to_tensors(
                src, method=method, text_only=config.text_only, groups=groups, shrink=shrink
            )
        if not config.text_only:
            if rows.image is None or rows.sources is None:
                raise ValueError(
                    "the data has no images: train with PlannerConfig(text_only=True) or load it "
                    "with text_only=False"
                )
            rows = replace(
                rows,
                image=resize_images(rows.image, config.image_size),
                sources=resize_images(rows.sources, config.image_size),
            )
        encoder = instruction_encoder(config)
        text = encoder.encode(rows.instructions)
        if config.tokens:
            tokens, mask = encoder.encode_tokens(rows.instructions, config.max_tokens)
    if text.shape[1] != config.text_in:
        raise ValueError(
            f"the prepared instruction embeddings are {text.shape[1]}-d but the config's encoder "
            f"{config.encoder!r} gives {config.text_in}-d: prepare the data with this config"
        )
    if config.library is not None:  # the heads' indices must be the data's
        check_same_library("the planner config", config.library, "the training data", rows.library)
    if rows.max_steps != config.max_steps:
        raise ValueError(
            f"the dataset's history has {rows.max_steps} rows (max_steps) but the config has "
            f"max_steps={config.max_steps}: use PlannerConfig(max_steps={rows.max_steps})"
        )
    if not config.text_only and (rows.image is None or rows.image.shape[-1] != config.image_size):
        raise ValueError(
            f"prepared data of another image size or without images cannot train "
            f"image_size={config.image_size}: prepare it with this config"
        )
    method = check_method(method)
    fresh = not isinstance(data, PreparedData | StepTensors)  # to_tensors weighted it already
    if method != "dpo" and (rows.method != method or (groups is not None and not fresh)):
        keys = None
        if groups == "task_id":  # prepared rows carry their task ids
            keys = rows.task_id
        elif groups is not None:
            raise ValueError(
                f"groups={groups!r} needs the dataset itself, not prepared tensors (prepared "
                "tensors can only be grouped by 'task_id')"
            )
        ep, first = np.unique(rows.episode.numpy(), return_index=True)
        w_ep = sample_weights(
            method, rows.r.numpy()[first].astype(np.float64),
            groups=None if keys is None else [keys[i] for i in first],
        )  # fmt: skip
        lookup = dict(zip(ep.tolist(), w_ep.tolist(), strict=True))
        w = torch.tensor([lookup[e] for e in rows.episode.tolist()], dtype=torch.float32)
        rows = replace(rows, weight=w, method=method)
    return PreparedData(
        rows, text, did, checksum, time.perf_counter() - t0, tokens, mask,
        config.max_tokens if tokens is not None else None, stored_size=stored,
        hash_dim=config.hash_dim if config.hashed else 0,
    )  # fmt: skip


def _batch(
    d: PreparedData,
    idx: torch.Tensor,
    text_only: bool,
    device: str | torch.device,
    gen: torch.Generator | None = None,
) -> PlannerBatch:
    """The rows ``idx``; with ``gen`` and rewordings, each row in one of its wordings drawn
    at random (without ``gen``: the dataset's own words)."""
    r = d.rows
    images = None
    if not text_only:
        images = torch.cat([r.image[idx], r.sources[r.source_row[idx]]], dim=1)
    u = r.instruction_index[idx]
    if d.wordings is not None and gen is not None:
        pick = torch.randint(0, d.wordings.shape[1], (len(idx),), generator=gen)
        u = d.wordings[u, pick]
    sparse = d.hash_dim and torch.device(device).type == "cpu"  # the layers read them sparsely
    b = PlannerBatch(
        images=images,
        # with sparse words, only the columns before them (the layers never read the zeros)
        text=d.text[u, : d.text.shape[1] - d.hash_dim] if sparse else d.text[u],
        context=r.context[idx],
        history=r.history[idx],
        steps_left=r.steps_left[idx],
        tool=r.tool[idx],
        value=r.value[idx],
        strength=r.strength[idx],
        region=r.region[idx],
        preserve=r.preserve[idx],
    )
    if d.pixels is not None and not text_only:
        b.pixels = torch.cat([d.pixels[0][idx], d.pixels[1][r.source_row[idx]]], dim=1)
    if sparse:
        index, value, count = d.sparse_words()
        width = max(int(count[u].max()), 1) if len(u) else 1  # this batch's longest
        b.words = (index[u, :width], value[u, :width])
    if d.tokens is not None and d.token_mask is not None:
        mask = d.token_mask[u]
        width = int(mask.any(0).nonzero().max()) + 1 if len(u) else 1  # this batch's longest
        b.tokens, b.token_mask = d.tokens[u, :width], mask[:, :width]
    return b.to(device) if str(device) != "cpu" else b


SCHEDULES = ("constant", "cosine")


@dataclass(frozen=True)
class TrainConfig(Config):
    """How :func:`train` optimizes the embedded planner (saved in the checkpoint's ``meta``).

    ``None`` for ``epochs`` and ``lr`` means the method's default (:mod:`agents.methods`:
    10 epochs and 1e-3 for S/RL/RW/SW; 3 epochs and 1e-5 for DPO)."""

    steps: int | None = None
    """Optimizer steps; default ``epochs`` passes over the rows (DPO: over the pairs)."""
    epochs: int | None = None
    batch_size: int = 256
    """Rows per minibatch (DPO: about this many rows, both sides of the pairs)."""
    lr: float | None = None
    """AdamW's learning rate."""
    weight_decay: float = 1e-4
    grad_clip: float = 1.0
    """Gradient-norm clipping (0: none)."""
    schedule: str = "constant"
    """``"constant"`` or ``"cosine"`` (decay to 0; measured worse: the value head learns late)."""
    log_every: int = 10
    """Log the mean of every ``log_every`` steps."""
    beta: float = DPO_BETA
    """DPO's temperature."""
    dpo_fallback: bool = False
    """DPO pairs trajectories of different tasks when a chosen one has no rejected one of its own
    task (:func:`~offline_data.weights.dpo_pairs`' ``fallback``). Off by default: DPO assumes
    one prompt per pair, and cross-task pairs measured worse."""
    sw_cap: float = 5.0
    """SW only: a negative-weight sample's NLL is clamped at this value (no push past it)."""
    counterfactuals: int = 0
    """S, RL, RW and SW: per training row where the teacher calls a conditional clause's branch,
    this many extra rows on other training sources whose predicate resolves the other way,
    answered by the other branch (:mod:`agents.embedded.counterfactual`): the picture, not the
    request, decides the branch. 0 (default) turns it off. DPO compares the dataset's own rows
    (its S reference, when trained here, takes them); a text-only planner is refused (it cannot
    tell the rows apart), and so are the call-level methods (a counterfactual row has no critic
    advantage)."""
    rewordings: int = 2
    """Each generated train request is also shown in this many other wordings of the same spec
    (:func:`styling_env.rewording.reworded`), one drawn per minibatch row: augmentation of
    the language alone (the calls and weights are the episode's); 0 turns it off. Each new
    wording is encoded once (MiniLM: about 20 complex requests/s per CPU thread, cached on
    disk). DPO compares the policy with its frozen reference on the dataset's own words (its S
    reference trains with the rewordings). Measured (RW, 3,000 episodes at 64 px, 900 updates, one seed): Complex 27.2 -> 37.1
    normalized on held-out templates, 12.3 -> 15.8 on free text; Simple 36.3 -> 45.2 and
    34.7 -> 45.0."""

    def __post_init__(self) -> None:
        if self.steps is not None:
            positive_int("steps", self.steps)
        if self.epochs is not None:
            positive_int("epochs", self.epochs)
        positive_int("batch_size", self.batch_size)
        positive_int("log_every", self.log_every)
        if self.lr is not None:
            positive_float("lr", self.lr)
        for name in ("weight_decay", "grad_clip"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not v >= 0:
                raise ValueError(f"{name} must be a number >= 0, got {v!r}")
        choice("schedule", self.schedule, SCHEDULES)
        positive_float("beta", self.beta)
        positive_float("sw_cap", self.sw_cap)
        for name in ("rewordings", "counterfactuals"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError(f"{name} must be an int >= 0, got {v!r}")
        if not isinstance(self.dpo_fallback, bool):
            raise ValueError(f"dpo_fallback must be a bool, got {self.dpo_fallback!r}")

    def resolved(self, method: str) -> TrainConfig:
        """This config with ``epochs`` and ``lr`` filled in from ``method``'s defaults."""
        return self.replace(
            epochs=default_epochs(method) if self.epochs is None else self.epochs,
            lr=default_lr(method) if self.lr is None else float(self.lr),
        )


def train(
    data: Any,
    *,
    method: str,
    config: PlannerConfig | None = None,
    training: TrainConfig | Mapping[str, Any] | None = None,
    seed: int = 0,
    reference: EmbeddedPlanner | TrainResult | str | os.PathLike[str] | None = None,
    groups: str | Callable[[Mapping[str, Any]], Hashable] | None = None,
    progress: bool = True,
    log_path: str | os.PathLike[str] | None = None,
    device: str | torch.device = "cpu",
    checkpoint: str | os.PathLike[str] | None = None,
    **options: Any,
) -> TrainResult:
    """Train an :class:`EmbeddedPlanner` with one offline method (module docstring).

    Args:
        data: a dataset id, a MinariDataset, a list of EpisodeRecord, a
            :class:`~offline_data.loaders.StepTensors` or the result of :func:`prepare`.
        method: ``s``, ``rl``, ``rw``, ``sw`` or ``dpo`` (:data:`agents.methods.OFFLINE_METHODS`).
        config: the architecture (default :class:`PlannerConfig`; DPO: the reference's). Its
            ``library`` unset is the data's action library (still unset for ``v2`` data); set,
            it must be the data's (:class:`~offline_data.errors.LibraryMismatchError`
            otherwise).
        training: the optimization (:class:`TrainConfig`, or a dict of its fields).
        seed: seeds the initialization, the minibatch order, dropout and DPO's pairing.
        reference: DPO's frozen reference (a planner, a :class:`TrainResult` or a checkpoint
            path); ``None`` first trains S with the same config, seed, batch size and ``steps``
            (or S's default epochs).
        groups: SW's standardization groups (see :func:`offline_data.loaders.to_tensors`).
        log_path: write the logged dicts as JSON lines there.
        checkpoint: save the trained planner there (:meth:`EmbeddedPlanner.save`).
        options: :class:`TrainConfig` fields over ``training`` (``steps=300, lr=1e-3``); an
            unknown name is a ``ValueError``.

    Returns:
        :class:`TrainResult`; the planner is in eval mode and its ``meta`` records the method,
        dataset id and checksum, seed, steps, training seconds and the resolved
        :class:`TrainConfig` (``meta["training"]``).
    """
    method = check_method(method)
    base = config_from(TrainConfig, training, **options)
    run = base.resolved(method)
    ref_model: EmbeddedPlanner | None = None
    if method == "dpo" and reference is not None:
        ref_model = _as_planner(reference)
        if config is not None and config != ref_model.config:
            raise ValueError(
                "DPO initializes the policy from the reference: config must equal the "
                f"reference's config (or be None); got {config} vs {ref_model.config}"
            )
        config = ref_model.config
    config = config or PlannerConfig()
    prepared = prepare(data, config, method, groups=groups)
    if config.library is None and prepared.rows.library != "v2":  # the heads follow the data's
        config = config.replace(library=prepared.rows.library)
    n_rows = len(prepared.rows)
    if run.counterfactuals and method != "dpo":  # rows of their own, before the statistics
        prepared = with_counterfactual_rows(prepared, run.counterfactuals, config, seed)
    if config.pixel_stats:  # before the rewordings' copy: kept on a shared prepared dataset
        prepared = with_pixel_statistics(prepared)
    if run.rewordings and method != "dpo":  # DPO reads the words its reference was scored on
        prepared = with_rewordings(prepared, run.rewordings, config)
    pairs = _dpo_pairs(prepared, seed, run.dpo_fallback) if method == "dpo" else None
    ref_result = None
    if method == "dpo" and ref_model is None:
        s_training = base.replace(epochs=None, lr=None)  # S's own defaults, DPO's other settings
        ref_result = train(
            prepared, method="s", config=config, training=s_training, seed=seed,
            progress=progress, device=device,
        )  # fmt: skip
        ref_model = ref_result.planner
        prepared.dataset_id = prepared.dataset_id or ref_model.meta.get("dataset_id")
    log = MetricLog(log_path, every=run.log_every)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    try:
        if method == "dpo":
            assert ref_model is not None and pairs is not None
            model = EmbeddedPlanner(config)
            model.load_state_dict(ref_model.state_dict())
            model.to(device)
            ref_model = ref_model.to(device).eval()
            stats = _train_dpo(
                model, ref_model, prepared, gen, log, run, device, progress, episodes=pairs
            )
        else:
            model = EmbeddedPlanner(config).to(device)
            stats = _train_weighted(model, prepared, gen, log, run, device, progress, method=method)
    finally:
        log.close()
    model.eval()
    seconds = stats["seconds"]
    model.meta = {
        "method": method,
        "dataset_id": prepared.dataset_id,
        "dataset_checksum": prepared.checksum,
        "seed": seed,
        "steps": stats["steps"],
        "lr": run.lr,
        "schedule": run.schedule,
        "batch_size": run.batch_size,
        "train_seconds": round(seconds, 3),
        "training": run.to_dict(),
        "counterfactual_rows": len(prepared.rows) - n_rows,
    }
    path = model.save(checkpoint) if checkpoint is not None else None
    return TrainResult(
        planner=model,
        method=method,
        losses=log.rows,
        seconds=seconds,
        load_seconds=prepared.seconds,
        steps=stats["steps"],
        samples=stats["samples"],
        samples_per_s=stats["samples"] / max(seconds, 1e-9),
        peak_memory_mb=peak_memory_mb(device),
        checkpoint=path,
        reference=ref_model if method == "dpo" else None,
        reference_result=ref_result,
        info={k: v for k, v in stats.items() if k not in ("seconds", "steps", "samples")},
    )


def _total_steps(n_rows: int, batch_size: int, run: TrainConfig) -> int:
    assert run.epochs is not None  # resolved
    return run.steps if run.steps is not None else run.epochs * math.ceil(n_rows / batch_size)


def _as_planner(ref: Any) -> EmbeddedPlanner:
    if isinstance(ref, TrainResult):
        return ref.planner
    if isinstance(ref, EmbeddedPlanner):
        return ref
    if isinstance(ref, str | os.PathLike):
        return EmbeddedPlanner.load(ref)
    raise TypeError(
        f"reference must be an EmbeddedPlanner, a TrainResult or a checkpoint path, got "
        f"{type(ref).__name__}"
    )


def adamw(params: Any, lr: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW over ``params`` with torch's fused kernel where the parameters' device has one (CPU
    and CUDA): the same update as the per-tensor loop, in one pass over each tensor instead of
    about ten elementwise ops. On the planner (4.4M parameters, one thread) a step takes 8.6 ms
    instead of 60 ms, about a tenth of a training step. Elsewhere, torch's default."""
    params = list(params)
    kinds = {p.device.type for p in params}
    if kinds <= {"cpu", "cuda"} and all(p.is_floating_point() for p in params):
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, fused=True)
    return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)


class Optimizer:
    """AdamW (:func:`adamw`) + gradient clipping + the learning-rate schedule over ``total``
    steps."""

    def __init__(self, model: nn.Module, run: TrainConfig, total: int) -> None:
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.opt = adamw(self.params, run.lr, run.weight_decay)
        self.base_lr, self.updates = run.lr, 0
        self.clip = run.grad_clip
        self.sched = None
        if run.schedule == "cosine":
            self.sched = torch.optim.lr_scheduler.LambdaLR(
                self.opt, lambda k: 0.5 * (1.0 + math.cos(math.pi * min(k, total) / total))
            )

    def step(self, loss: torch.Tensor) -> float:
        """One update on ``loss``; returns it as a number, read once (the log's value and the
        divergence check: a NaN or infinite loss raises before the run is saved)."""
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        if self.clip:
            nn.utils.clip_grad_norm_(self.params, self.clip)
        self.opt.step()
        if self.sched is not None:
            self.sched.step()
        self.updates += 1
        value = loss.item()
        check_finite(value, self.updates, self.base_lr)
        return value

    @property
    def lr(self) -> float:
        return float(self.opt.param_groups[0]["lr"])


def _progress(total: int, desc: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="step", disable=not enabled, leave=False)


def _train_weighted(
    model: EmbeddedPlanner,
    d: PreparedData,
    gen: torch.Generator,
    log: MetricLog,
    run: TrainConfig,
    device: str | torch.device,
    progress: bool,
    *,
    method: str,
) -> dict[str, Any]:
    weight = d.rows.weight
    keep = torch.nonzero(weight != 0).reshape(-1)  # weight-0 rows contribute nothing
    if keep.numel() == 0:
        raise ValueError(f"every {method.upper()} weight is 0: there is nothing to train on")
    total = _total_steps(keep.numel(), run.batch_size, run)
    opt = Optimizer(model, run, total)
    text_only = model.config.text_only
    model.train()
    samples = 0
    bar = _progress(total, method.upper(), progress)
    t0 = time.perf_counter()
    for k, pos in enumerate(minibatches(keep.numel(), run.batch_size, total, gen), start=1):
        idx = keep[pos]
        b = _batch(d, idx, text_only, device, gen)
        w = weight[idx].to(device)
        terms, _ = model.step_log_prob(b)
        nll = terms["nll"]
        if method == "sw":
            nll = torch.where(w < 0, nll.clamp(max=run.sw_cap), nll)
        loss = weighted_loss(nll, w, method)
        lr = opt.lr
        value = opt.step(loss)
        samples += len(idx)
        with torch.no_grad():
            pos_w = (w > 0).float()
            denom = pos_w.sum().clamp(min=1.0)
            values = {"loss": value, "lr": lr}
            for name in ("tool", "value", "strength", "region", "preserve", "nll"):
                values[name] = float((terms[name] * pos_w).sum() / denom)
        log.add(k, values, epoch=samples / keep.numel(), samples=samples)
        bar.update(1)
        if k % 10 == 0:
            bar.set_postfix(loss=f"{values['loss']:.3f}")
    log.flush(total, samples=samples)
    bar.close()
    return {"seconds": time.perf_counter() - t0, "steps": total, "samples": samples}


@torch.no_grad()
def _row_logp(
    model: EmbeddedPlanner, d: PreparedData, device: str | torch.device, chunk: int = 1024
) -> torch.Tensor:
    out = torch.empty(len(d.rows))
    for i in range(0, len(d.rows), chunk):
        idx = torch.arange(i, min(i + chunk, len(d.rows)))
        out[idx] = model.step_log_prob(_batch(d, idx, model.config.text_only, device))[1].cpu()
    return out


def _dpo_pairs(
    d: PreparedData, seed: int, fallback: bool
) -> tuple[DPOPairs, torch.Tensor, torch.Tensor, torch.Tensor]:
    """DPO's trajectory pairs over the episodes of ``d``, with the episodes' ids, row counts and
    first rows (an episode is a contiguous run of rows)."""
    r = d.rows
    ep_ids, counts = torch.unique_consecutive(r.episode, return_counts=True)
    if len(set(ep_ids.tolist())) != len(ep_ids):
        raise ValueError("DPO needs each episode's rows to be contiguous")
    starts = torch.cumsum(counts, 0) - counts
    ep_r = r.r[starts].double().numpy()
    ep_task = [r.task_id[i] for i in starts.tolist()]
    pairs = dpo_pairs(ep_r, ep_task, rng=seed, fallback=fallback)
    if len(pairs) == 0:
        raise ValueError(
            "no DPO pairs: DPO needs trajectories with r >= 4.0 (chosen) and r in [2.5, 3.5] "
            "(rejected)" + ("" if fallback else " of the same task (or pass dpo_fallback=True)")
        )
    return pairs, ep_ids, counts, starts


def _train_dpo(
    model: EmbeddedPlanner,
    ref: EmbeddedPlanner,
    d: PreparedData,
    gen: torch.Generator,
    log: MetricLog,
    run: TrainConfig,
    device: str | torch.device,
    progress: bool,
    *,
    episodes: tuple[DPOPairs, torch.Tensor, torch.Tensor, torch.Tensor],
) -> dict[str, Any]:
    pairs, ep_ids, counts, starts = episodes
    ref_traj = torch.zeros(len(ep_ids), dtype=torch.float64)
    ref_rows = _row_logp(ref, d, device).double()
    ep_of_row = torch.repeat_interleave(torch.arange(len(ep_ids)), counts)
    ref_traj.index_add_(0, ep_of_row, ref_rows)
    chosen = torch.from_numpy(pairs.chosen)
    rejected = torch.from_numpy(pairs.rejected)
    rows_per_pair = float((counts[chosen] + counts[rejected]).float().mean())
    pairs_per_batch = max(1, round(run.batch_size / rows_per_pair))
    total = _total_steps(len(pairs), pairs_per_batch, run)
    opt = Optimizer(model, run, total)
    text_only = model.config.text_only
    model.eval()  # dropout off: the policy starts equal to the reference (loss = log 2)
    samples = 0
    bar = _progress(total, "DPO", progress)
    t0 = time.perf_counter()
    for k, pos in enumerate(minibatches(len(pairs), pairs_per_batch, total, gen), start=1):
        eps = torch.cat([chosen[pos], rejected[pos]])  # 2P trajectories
        lens = counts[eps]
        idx = torch.cat(
            [
                torch.arange(s, s + n)
                for s, n in zip(starts[eps].tolist(), lens.tolist(), strict=True)
            ]
        )
        seg = torch.repeat_interleave(torch.arange(len(eps)), lens).to(device)
        # the dataset's own words: the reference's log-probabilities were computed on them
        _, logp = model.step_log_prob(_batch(d, idx, text_only, device))
        traj = torch.zeros(len(eps), device=device, dtype=logp.dtype).index_add(0, seg, logp)
        ref_lp = ref_traj[eps].to(device=device, dtype=logp.dtype)
        n = len(pos)
        out = dpo_loss(traj[:n], traj[n:], ref_lp[:n], ref_lp[n:], beta=run.beta)
        lr = opt.lr
        value = opt.step(out.loss)
        samples += len(idx)
        values = {
            "loss": value,
            "lr": lr,
            "margin": float(out.margin.mean()),
            "accuracy": float(out.accuracy.mean()),
            "chosen_reward": float(out.chosen_reward.mean()),
            "rejected_reward": float(out.rejected_reward.mean()),
        }
        log.add(k, values, epoch=(k * pairs_per_batch) / len(pairs), samples=samples)
        bar.update(1)
        if k % 10 == 0:
            bar.set_postfix(loss=f"{values['loss']:.3f}", acc=f"{values['accuracy']:.2f}")
    log.flush(total, samples=samples)
    bar.close()
    return {
        "seconds": time.perf_counter() - t0,
        "steps": total,
        "samples": samples,
        "pairs": len(pairs),
        "same_task_pairs": int(pairs.same_task.sum()),
        "pairs_per_batch": pairs_per_batch,
    }
