"""The embedded planner: a small policy that trains on a CPU in minutes.

One step of the planner reads an observation of ``ImageStyling-v0`` and writes one native action
(``tool`` 0-9 or 10 = STOP, ``value``, ``strength``, ``region``).

Architecture (:class:`EmbeddedPlanner`, defaults: 777 k parameters, 653 k text-only)::

    image ++ source (6, 64, 64) uint8 -> /255 - 0.5 -> conv 4x4 stride 4 (32) -> conv 3x3 s2 (64)
        -> conv 3x3 s2 (64) -> avg-pool 2x2 -> linear 128                  (absent if text_only)
    instruction -> frozen embedding: MiniLM 384-d ++ hashed words 1024-d -> linear 256
    context (10 states)    -> one nn.Embedding per dimension (sizes CONTEXT_NVEC) -> 10 x 8
    history (max_steps, 4) -> per row: tool, (tool, value) pair and region embeddings, strength,
                              a valid flag; rows concatenated -> linear 64
    steps_left             -> nn.Embedding -> 8
    concat -> LayerNorm -> MLP (256, 256) = trunk h
    tool     ~ Categorical(11)                 linear(h)
    value    ~ Categorical(tool's vocabulary)  MLP(h ++ emb(tool)) -> 171 (tool, value) logits:
                                               the tool's slice, the rest masked
    strength ~ Normal(mu, sigma)               MLP(h ++ emb(tool) ++ emb(tool, value)):
                                               mu = sigmoid(.), sigma in [0.02, 0.5]
    region   ~ Categorical(8)                  the same MLP

The instruction embedding concatenates MiniLM (the meaning of the sentence) with a hashed bag of
words and word pairs (its exact words): on held-out Simple episodes this lowered the NLL from
1.22 (MiniLM alone) to 1.01 and raised the tool accuracy from 0.87 to 0.91. The 4x4 stride-4
stem ("patchify") makes the CNN 3.6x cheaper than a 5x5 stride-2 one on a CPU.

The heads are factorized and teacher-forced: in training the value, strength and region heads are
conditioned on the *taken* tool (and value); at inference on the chosen ones. Strength is a
Normal with a sigmoid mean and a learned, state-dependent standard deviation clamped to
[0.02, 0.5]: a Beta cannot score the 0 and 1 strengths that the data holds, and a bounded sigma
keeps the negative log-likelihood bounded below (SW's negative weights cannot run away with it).

Training (:func:`train`): one trainer for the paper's five methods (:mod:`agents.methods`).

- S, RL, RW, SW: minibatch ``weighted_loss(nll, w, method)`` with the per-step weights of
  :func:`offline_data.loaders.to_tensors`; rows of weight 0 are dropped up front. With SW a
  negative-weight sample stops pushing once its NLL exceeds ``sw_cap`` (unlikelihood has no
  bound otherwise).
- DPO: trajectory pairs of :func:`offline_data.weights.dpo_pairs`; a trajectory's log-probability
  is the sum of its steps'; :func:`offline_data.weights.dpo_loss` against a frozen S reference
  that also initializes the policy. Dropout is off in DPO so that the loss starts at ``log 2``.

The loss of a step is its negative log-likelihood under the factorized policy:

.. math::

    \\ell = -\\log \\pi(a^{tool} | s) - [a^{tool} \\ne STOP] \\big(\\log \\pi(a^{value} | s, a^{tool})
    + \\log p(a^{strength} | s, a^{tool}, a^{value}) + \\log \\pi(a^{region} | s, a^{tool}, a^{value})\\big)

Inference (:class:`EmbeddedAgent`): stable-baselines3's ``predict`` on the vector env's batched
observations. Greedy: argmax tool, argmax value within the tool's vocabulary, strength = the mean
clipped to [0.05, 1]; the region is "all" unless the region head gives another region at least
``region_threshold`` (0.9) probability: regions other than "all" need images with masks, and a
photo turns such a call into an invalid one.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import resource
import time
import uuid
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

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
from styling_env.context import CONTEXT_NVEC
from styling_env.tools.call import REGIONS
from styling_env.tools.vocabulary import MAX_VALUES, TOOL_NAMES, TOOLS, VALUES

from .methods import default_epochs, default_lr

#: The checkpoint's format name and version (:meth:`EmbeddedPlanner.save`).
CHECKPOINT_FORMAT = "image-styling/embedded-planner"
CHECKPOINT_VERSION = 1
#: Tool index of STOP in the native action.
STOP_TOOL = len(TOOL_NAMES)
N_TOOLS = STOP_TOOL + 1
ENCODERS = ("minilm", "hash", "minilm+hash")
MINILM_DIM = 384
LOG_STD_MIN, LOG_STD_MAX = math.log(0.02), math.log(0.5)
#: Greedy strengths are clipped to this range (a call at strength ~0 is a wasted step).
STRENGTH_RANGE = (0.05, 1.0)

_VOCAB = [len(v) for v in TOOLS.values()]
_OFFSETS = np.concatenate([[0], np.cumsum(_VOCAB)[:-1]]).astype(np.int64)


class CheckpointError(ValueError):
    """A file that is not a usable embedded-planner checkpoint; the message says why."""


# --------------------------------------------------------------------------------------------
# Configuration


@dataclass(frozen=True)
class PlannerConfig:
    """Architecture of :class:`EmbeddedPlanner` (saved in its checkpoints)."""

    image_size: int = 64
    """Work resolution: images are resized to ``image_size`` px once, at load or predict."""
    text_only: bool = False
    """No CNN and no images: the paper's text-only variant."""
    encoder: str = "minilm+hash"
    """Instruction encoder: ``"minilm"`` (all-MiniLM-L6-v2, 384-d), ``"hash"`` (hashed words
    and word pairs) or ``"minilm+hash"`` (both, concatenated: measured best, see the module
    docstring)."""
    hash_dim: int = 8192
    """Dimension of the hashing encoder (1024 -> 8192 raised the held-out value accuracy from
    0.73 to 0.88 on Simple: held-out templates bring words whose buckets collide less)."""
    wide: bool = True
    """With a hashing encoder: a linear path from the hashed words straight to the value logits
    (wide-and-deep): which value a phrase names is a lookup the deep trunk learns slowly."""
    wide_tool: bool = True
    """The wide path also adds to the tool logits (which tools the request names)."""
    wide_scale: float = 12.0
    """Input scale of the wide path: the hashed features are L2-normed over ~40 tokens (each
    about 0.16); scaling them up lets the lookup learn at the trunk's rate (text-only S on
    Simple, 200 test tasks: normalized 42 without the wide path, 49 at scale 1, 56 at 6,
    58 at 12 with 1024 buckets; 65 at 12 with 8192)."""
    max_steps: int = 8
    """Rows of the observation's ``history`` (the env's ``max_steps``)."""
    channels: tuple[int, ...] = (32, 64, 64)
    """Output channels of the convolutions: a ``stem`` x ``stem`` patchify stem, then 3x3
    stride-2 convolutions."""
    stem: int = 4
    """Kernel and stride of the first convolution (patchify: cheap on a CPU)."""
    image_dim: int = 128
    text_dim: int = 256
    context_dim: int = 8
    history_dim: int = 64
    hidden: int = 256
    """Width of the trunk MLP (two layers)."""
    head_hidden: int = 128
    """Width of the value and strength/region head MLPs."""
    dropout: float = 0.1

    def __post_init__(self) -> None:
        ints = [f.name for f in fields(self) if f.type in ("int", int)]
        for name in ints:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"PlannerConfig.{name} must be a positive int, got {v!r}")
        if self.encoder not in ENCODERS:
            raise ValueError(
                f"PlannerConfig.encoder must be one of {', '.join(ENCODERS)}, got {self.encoder!r}"
            )
        if not isinstance(self.wide, bool):
            raise ValueError(f"PlannerConfig.wide must be a bool, got {self.wide!r}")
        if not isinstance(self.text_only, bool):
            raise ValueError(f"PlannerConfig.text_only must be a bool, got {self.text_only!r}")
        chans = tuple(self.channels)
        if not chans or any(isinstance(c, bool) or not isinstance(c, int) or c < 1 for c in chans):
            raise ValueError(f"PlannerConfig.channels must be positive ints, got {self.channels!r}")
        object.__setattr__(self, "channels", chans)
        least = self.stem * 2 ** (len(chans) - 1)
        if self.image_size < least:
            raise ValueError(
                f"PlannerConfig.image_size={self.image_size} is too small for a stride-{self.stem} "
                f"stem and {len(chans) - 1} stride-2 convolutions (need >= {least})"
            )
        if not 0.0 <= float(self.dropout) < 1.0:
            raise ValueError(f"PlannerConfig.dropout must be in [0, 1), got {self.dropout!r}")

    @property
    def text_in(self) -> int:
        """Dimension of the instruction embedding."""
        return sum(MINILM_DIM if p == "minilm" else self.hash_dim for p in self.encoder.split("+"))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["channels"] = list(self.channels)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PlannerConfig:
        """Inverse of :meth:`to_dict`; ``ValueError`` on unknown keys."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"unknown PlannerConfig fields {unknown}; known: {sorted(names)}")
        kw = dict(d)
        if "channels" in kw:
            kw["channels"] = tuple(kw["channels"])
        return cls(**kw)


# --------------------------------------------------------------------------------------------
# Instruction embeddings


def cache_dir() -> Path:
    """The cache root: ``IMAGE_STYLING_CACHE`` or ``~/.cache/image-styling``."""
    root = os.environ.get("IMAGE_STYLING_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "image-styling"


_MINILM: Any = None


def _minilm() -> Any:
    global _MINILM
    if _MINILM is None:
        from styling_env.wrappers import MiniLMEncoder

        _MINILM = MiniLMEncoder(device="cpu")
    return _MINILM


class InstructionEncoder:
    """Instruction text -> frozen embedding ``(n, dim)`` float32, cached per text.

    ``"minilm"``: all-MiniLM-L6-v2 (384-d; loaded once per process, ~6 s), cached in memory and
    on disk under ``cache_dir()/text/all-minilm-l6-v2/<sha256 of the text>.npy`` so that a text
    is encoded once per machine. ``"hash"``: :class:`styling_env.wrappers.HashingEncoder`
    (``hash_dim``-d bag of words and word pairs; cheap, memory cache only).
    ``"minilm+hash"``: both, concatenated (the sentence's meaning and its exact words).
    """

    def __init__(self, name: str = "minilm", hash_dim: int = 256) -> None:
        if name not in ENCODERS:
            raise ValueError(f"encoder must be one of {', '.join(ENCODERS)}, got {name!r}")
        self.name = name
        self.parts = tuple(name.split("+"))
        self.hash_dim = int(hash_dim)
        self.dim = sum(MINILM_DIM if p == "minilm" else self.hash_dim for p in self.parts)
        self._memory: dict[str, np.ndarray] = {}
        self.encoded = 0  # texts run through MiniLM (found in no cache)

    def _disk(self, text: str) -> Path:
        sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
        return cache_dir() / "text" / "all-minilm-l6-v2" / sha[:2] / f"{sha}.npy"

    def _minilm(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), MINILM_DIM), np.float32)
        todo = []
        for i, t in enumerate(texts):
            try:
                vec = np.load(self._disk(t))
                if vec.shape == (MINILM_DIM,):
                    out[i] = vec
                    continue
            except (OSError, ValueError):
                pass
            todo.append(i)
        if todo:
            vecs = _minilm().encode([texts[i] for i in todo])
            self.encoded += len(todo)
            for i, v in zip(todo, vecs, strict=True):
                out[i] = v
                self._store(texts[i], out[i])
        return out

    def encode(self, texts: Sequence[str]) -> torch.Tensor:
        """``(len(texts), dim)`` float32 embeddings."""
        texts = [str(t) for t in texts]
        missing = list(dict.fromkeys(t for t in texts if t not in self._memory))
        if missing:
            parts = []
            for p in self.parts:
                if p == "minilm":
                    parts.append(self._minilm(missing))
                else:
                    from styling_env.wrappers import HashingEncoder

                    parts.append(HashingEncoder(self.hash_dim).encode(missing))
            for t, v in zip(missing, np.concatenate(parts, axis=1), strict=True):
                self._memory[t] = v
        if not texts:
            return torch.zeros(0, self.dim)
        return torch.from_numpy(np.stack([self._memory[t] for t in texts]))

    def _store(self, text: str, vec: np.ndarray) -> None:
        path = self._disk(text)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npy")
            np.save(tmp, vec)
            os.replace(tmp, path)  # atomic: parallel trainers never read half a file
        except OSError:  # a read-only cache only costs speed
            pass


_ENCODERS: dict[tuple[str, int], InstructionEncoder] = {}


def instruction_encoder(config: PlannerConfig) -> InstructionEncoder:
    """The process-wide encoder of ``config`` (one memory cache per encoder)."""
    key = (config.encoder, config.text_in)
    if key not in _ENCODERS:
        _ENCODERS[key] = InstructionEncoder(config.encoder, config.hash_dim)
    return _ENCODERS[key]


# --------------------------------------------------------------------------------------------
# Batches


@dataclass
class PlannerBatch:
    """Model inputs (and, for training, the taken actions), batch first."""

    images: torch.Tensor | None  # (B, 6, s, s) uint8: current image ++ source; None if text-only
    text: torch.Tensor  # (B, D) float32 instruction embeddings
    context: torch.Tensor  # (B, 10) int64
    history: torch.Tensor  # (B, max_steps, 4) float32
    steps_left: torch.Tensor  # (B,) int64
    tool: torch.Tensor | None = None  # (B,) int64, 10 = STOP
    value: torch.Tensor | None = None  # (B,) int64
    strength: torch.Tensor | None = None  # (B,) float32
    region: torch.Tensor | None = None  # (B,) int64

    def __len__(self) -> int:
        return int(self.context.shape[0])

    def to(self, device: str | torch.device) -> PlannerBatch:
        return replace(
            self,
            **{
                f.name: getattr(self, f.name).to(device)
                for f in fields(self)
                if isinstance(getattr(self, f.name), torch.Tensor)
            },
        )


def resize_images(images: torch.Tensor, size: int, chunk: int = 1024) -> torch.Tensor:
    """``(N, C, H, W)`` uint8 -> ``(N, C, size, size)`` uint8 (bilinear with antialiasing;
    unchanged when already that size)."""
    if images.shape[-2:] == (size, size):
        return images
    out = torch.empty((*images.shape[:-2], size, size), dtype=torch.uint8)
    for i in range(0, images.shape[0], chunk):
        x = images[i : i + chunk].float()
        y = F.interpolate(
            x, size=(size, size), mode="bilinear", antialias=True, align_corners=False
        )
        out[i : i + chunk] = y.round_().clamp_(0, 255).to(torch.uint8)
    return out


# --------------------------------------------------------------------------------------------
# The model


def _mlp(n_in: int, n_hidden: int, n_out: int | None, dropout: float) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Linear(n_in, n_hidden), nn.ReLU(), nn.Dropout(dropout)]
    if n_out is not None:
        layers.append(nn.Linear(n_hidden, n_out))
    return nn.Sequential(*layers)


class EmbeddedPlanner(nn.Module):
    """The factorized policy ``pi(tool, value, strength, region | observation)`` (module docstring).

    ``meta`` holds what a checkpoint records besides the weights: the method, the dataset id and
    checksum, the training seed, steps and seconds.
    """

    def __init__(self, config: PlannerConfig | None = None) -> None:
        super().__init__()
        cfg = config or PlannerConfig()
        if not isinstance(cfg, PlannerConfig):
            raise TypeError(f"config must be a PlannerConfig, got {type(cfg).__name__}")
        self.config = cfg
        self.meta: dict[str, Any] = {}
        p = cfg.dropout
        n_in = 0
        if not cfg.text_only:
            convs: list[nn.Module] = []
            c_in = 6
            for k, c in enumerate(cfg.channels):
                if k == 0:
                    convs += [nn.Conv2d(c_in, c, cfg.stem, stride=cfg.stem), nn.ReLU()]
                else:
                    convs += [nn.Conv2d(c_in, c, 3, stride=2, padding=1), nn.ReLU()]
                c_in = c
            convs += [nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(c_in * 4, cfg.image_dim)]
            convs.append(nn.ReLU())
            self.cnn = nn.Sequential(*convs)
            n_in += cfg.image_dim
        self.text = nn.Sequential(nn.Linear(cfg.text_in, cfg.text_dim), nn.ReLU())
        n_in += cfg.text_dim
        self.context = nn.ModuleList(nn.Embedding(n, cfg.context_dim) for n in CONTEXT_NVEC)
        n_in += cfg.context_dim * len(CONTEXT_NVEC)
        # history rows: tool (-2 invalid, -1 pad, 0-10) -> 0-12; (tool, value) pair -> 0 = none
        self.hist_tool = nn.Embedding(N_TOOLS + 2, 8)
        self.hist_value = nn.Embedding(len(VALUES) + 1, 16)
        self.hist_region = nn.Embedding(len(REGIONS) + 1, 4)
        self.history = nn.Sequential(nn.Linear(cfg.max_steps * 30, cfg.history_dim), nn.ReLU())
        n_in += cfg.history_dim
        self.steps_left = nn.Embedding(cfg.max_steps + 1, 8)
        n_in += 8
        self.trunk = nn.Sequential(
            nn.LayerNorm(n_in),
            _mlp(n_in, cfg.hidden, None, p),
            _mlp(cfg.hidden, cfg.hidden, None, p),
        )
        self.tool_head = nn.Linear(cfg.hidden, N_TOOLS)
        self.tool_embed = nn.Embedding(N_TOOLS, 16)
        self.value_head = _mlp(cfg.hidden + 16, cfg.head_hidden, len(VALUES), p)
        self.value_embed = nn.Embedding(len(VALUES) + 1, 16)
        self.call_head = _mlp(cfg.hidden + 32, cfg.head_hidden, 2 + len(REGIONS), p)
        self.wide_value = self.wide_tool = None
        if cfg.wide and "hash" in cfg.encoder.split("+"):
            self.wide_value = nn.Linear(cfg.hash_dim, len(VALUES))
            if cfg.wide_tool:
                self.wide_tool = nn.Linear(cfg.hash_dim, N_TOOLS)
        # the taken tool's slice of the (tool, value) logits; STOP gets one dummy value
        index = np.zeros((N_TOOLS, MAX_VALUES), np.int64)
        mask = np.zeros((N_TOOLS, MAX_VALUES), bool)
        for t, n in enumerate(_VOCAB):
            index[t] = _OFFSETS[t] + np.minimum(np.arange(MAX_VALUES), n - 1)
            mask[t, :n] = True
        mask[STOP_TOOL, 0] = True
        self.register_buffer("_value_index", torch.from_numpy(index), persistent=False)
        self.register_buffer("_value_mask", torch.from_numpy(mask), persistent=False)
        self.register_buffer("_offsets", torch.from_numpy(_OFFSETS), persistent=False)

    # ---------------------------------------------------------------------------------------
    # Forward pieces

    def features(self, b: PlannerBatch) -> torch.Tensor:
        """The trunk ``(B, hidden)`` of a batch's observations."""
        parts = []
        if not self.config.text_only:
            if b.images is None:
                raise ValueError("this planner needs images (text_only=False); the batch has none")
            x = b.images.float() * (1.0 / 255.0) - 0.5
            parts.append(self.cnn(x))
        parts.append(self.text(b.text.float()))
        parts += [emb(b.context[:, i]) for i, emb in enumerate(self.context)]
        parts.append(self._history(b.history))
        parts.append(self.steps_left(b.steps_left.clamp(0, self.config.max_steps)))
        return self.trunk(torch.cat(parts, dim=1))

    def _history(self, h: torch.Tensor) -> torch.Tensor:
        tool = h[..., 0].round().long().clamp(-2, STOP_TOOL)
        is_call = (tool >= 0) & (tool < STOP_TOOL)
        vocab = torch.as_tensor(_VOCAB, device=h.device)[tool.clamp(0, STOP_TOOL - 1)]
        value = h[..., 1].round().long()
        value = torch.minimum(value.clamp(min=0), vocab - 1)
        flat = torch.where(
            is_call & (h[..., 1] >= 0), self._offsets[tool.clamp(0, STOP_TOOL - 1)] + value + 1, 0
        )
        region = h[..., 3].round().long().clamp(-1, len(REGIONS) - 1) + 1
        region = torch.where(is_call, region, 0)
        strength = torch.where(is_call, h[..., 2].clamp(0, 1), 0.0)
        rows = torch.cat(
            [
                self.hist_tool(tool + 2),
                self.hist_value(flat),
                self.hist_region(region),
                strength.unsqueeze(-1),
                is_call.float().unsqueeze(-1),
            ],
            dim=-1,
        )
        return self.history(rows.flatten(1))

    def _encode(self, b: PlannerBatch) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The trunk and the wide path's ``(B, 171)`` value logits (None without it)."""
        wide = None
        if self.wide_value is not None:
            words = b.text[:, -self.config.hash_dim :].float() * self.config.wide_scale
            wide = self.wide_value(words)
            self._wide_tool = None if self.wide_tool is None else self.wide_tool(words)
        return self.features(b), wide

    def _tool_logits(self, h: torch.Tensor) -> torch.Tensor:
        logits = self.tool_head(h)
        extra = getattr(self, "_wide_tool", None)
        return logits if extra is None else logits + extra

    def _value_logits(
        self, h: torch.Tensor, tool: torch.Tensor, wide: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``(B, MAX_VALUES)`` logits of the values of ``tool`` (outside its vocabulary: -1e9)."""
        flat = self.value_head(torch.cat([h, self.tool_embed(tool)], dim=1))
        if wide is not None:
            flat = flat + wide
        logits = flat.gather(1, self._value_index[tool])
        return logits.masked_fill(~self._value_mask[tool], -1e9)

    def _call(
        self, h: torch.Tensor, tool: torch.Tensor, value: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Strength mean, log-std ``(B,)`` and region logits ``(B, 8)`` given tool and value."""
        is_call = tool < STOP_TOOL
        flat = torch.where(is_call, self._offsets[tool.clamp(max=STOP_TOOL - 1)] + value + 1, 0)
        out = self.call_head(torch.cat([h, self.tool_embed(tool), self.value_embed(flat)], dim=1))
        mean = torch.sigmoid(out[:, 0])
        log_std = LOG_STD_MIN + (LOG_STD_MAX - LOG_STD_MIN) * torch.sigmoid(out[:, 1])
        return mean, log_std, out[:, 2:]

    def step_log_prob(self, b: PlannerBatch) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """Teacher-forced negative log-likelihood of the taken actions.

        Returns ``(terms, logp)``: ``terms`` maps ``tool``, ``value``, ``strength``, ``region``
        and ``nll`` (their sum) to ``(B,)`` tensors (the last three are 0 for STOP steps), and
        ``logp = -nll`` ``(B,)`` is the step's log-probability (the strength factor is a density).
        """
        if b.tool is None or b.value is None or b.strength is None or b.region is None:
            raise ValueError("step_log_prob needs a batch with the taken actions")
        h, wide = self._encode(b)
        tool = b.tool.long()
        is_call = (tool < STOP_TOOL).float()
        value = torch.where(tool < STOP_TOOL, b.value.long(), 0)
        tool_nll = F.cross_entropy(self._tool_logits(h), tool, reduction="none")
        value_nll = F.cross_entropy(self._value_logits(h, tool, wide), value, reduction="none")
        mean, log_std, region_logits = self._call(h, tool, value)
        z = (b.strength.float().reshape(-1) - mean) * torch.exp(-log_std)
        strength_nll = 0.5 * z * z + log_std + 0.5 * math.log(2 * math.pi)
        region_nll = F.cross_entropy(region_logits, b.region.long(), reduction="none")
        terms = {
            "tool": tool_nll,
            "value": value_nll * is_call,
            "strength": strength_nll * is_call,
            "region": region_nll * is_call,
        }
        nll = terms["tool"] + terms["value"] + terms["strength"] + terms["region"]
        terms["nll"] = nll
        return terms, -nll

    @torch.no_grad()
    def act(
        self,
        b: PlannerBatch,
        *,
        deterministic: bool = True,
        generator: torch.Generator | None = None,
        region_threshold: float = 0.9,
    ) -> dict[str, torch.Tensor]:
        """Actions for a batch of observations: ``tool``, ``value``, ``region`` ``(B,)`` int64 and
        ``strength`` ``(B, 1)`` float32 (see the module docstring for the greedy rule)."""
        h, wide = self._encode(b)
        tool_logits = self._tool_logits(h)

        def pick(logits: torch.Tensor) -> torch.Tensor:
            if deterministic:
                return logits.argmax(dim=1)
            probs = torch.softmax(logits.float(), dim=1)
            return torch.multinomial(probs.cpu(), 1, generator=generator).reshape(-1).to(h.device)

        tool = pick(tool_logits)
        value = pick(self._value_logits(h, tool, wide))
        mean, log_std, region_logits = self._call(h, tool, value)
        if deterministic:
            strength = mean
        else:
            noise = torch.randn(mean.shape, generator=generator).to(h.device)
            strength = mean + torch.exp(log_std) * noise
        strength = strength.clamp(*STRENGTH_RANGE)
        region_p = torch.softmax(region_logits.float(), dim=1)
        region = pick(region_logits)
        keep = region_p.gather(1, region[:, None]).reshape(-1) >= region_threshold
        region = torch.where(keep, region, 0)
        stop = tool == STOP_TOOL
        value = torch.where(stop, 0, value)
        region = torch.where(stop, 0, region)
        return {"tool": tool, "value": value, "strength": strength.reshape(-1, 1), "region": region}

    # ---------------------------------------------------------------------------------------
    # Observations

    def observation_batch(self, observation: Mapping[str, Any]) -> tuple[PlannerBatch, bool]:
        """A vector env's batched observation (or one env's observation) -> ``(batch, batched)``.

        Raises ``ValueError`` naming the problem: a vision planner given observations without
        images (``observation_mode="text"``), an encoded instruction instead of its text, a
        history of another length than ``config.max_steps``, out-of-range context states.
        """
        if not isinstance(observation, Mapping):
            raise TypeError(f"observation must be a dict, got {type(observation).__name__}")
        cfg = self.config
        missing = [
            k for k in ("context", "instruction", "history", "steps_left") if k not in observation
        ]
        if missing:
            raise ValueError(f"the observation lacks {missing}")
        context = np.asarray(observation["context"])
        batched = context.ndim == 2
        if context.ndim not in (1, 2) or context.shape[-1] != len(CONTEXT_NVEC):
            raise ValueError(
                f"observation['context'] must be (N, {len(CONTEXT_NVEC)}) or ({len(CONTEXT_NVEC)},), "
                f"got shape {context.shape}"
            )

        def batch(x: Any) -> np.ndarray:
            a = np.asarray(x)
            return a if batched else a[None]

        context = batch(context).astype(np.int64)
        n = context.shape[0]
        nvec = np.asarray(CONTEXT_NVEC)
        if (context < 0).any() or (context >= nvec).any():
            raise ValueError(f"observation['context'] holds states outside [0, {list(nvec)})")
        texts = observation["instruction"]
        texts = [texts] if isinstance(texts, str) else list(texts)
        if not batched and len(texts) != 1:
            texts = [texts]  # pragma: no cover - defensive
        if len(texts) != n or not all(isinstance(t, str) for t in texts):
            raise ValueError(
                "observation['instruction'] must be the request text (a tuple of N strings from the "
                "vector env); an encoded instruction (EncodeInstruction) cannot be read by this planner"
            )
        history = batch(observation["history"]).astype(np.float32)
        if history.ndim != 3 or history.shape[1:] != (cfg.max_steps, 4):
            raise ValueError(
                f"observation['history'] has rows {history.shape[1:]}, this planner was built for "
                f"({cfg.max_steps}, 4): use an env with max_steps={cfg.max_steps}"
            )
        steps_left = batch(observation["steps_left"]).astype(np.int64).reshape(n)
        images = None
        if not cfg.text_only:
            if "image" not in observation:
                raise ValueError(
                    "this planner was trained on images (text_only=False) but the observation has no "
                    "'image' (an env with observation_mode='text'?): use observation_mode='image' or "
                    "a text-only planner"
                )
            cur = batch(observation["image"])
            src = batch(observation["source"]) if "source" in observation else cur
            for name, a in (("image", cur), ("source", src)):
                if a.dtype != np.uint8 or a.ndim != 4 or a.shape[-1] != 3 or a.shape[0] != n:
                    raise ValueError(
                        f"observation[{name!r}] must be (N, H, W, 3) uint8 with N = {n}, got "
                        f"{a.dtype} {a.shape}"
                    )
            both = torch.from_numpy(np.concatenate([cur, src], axis=-1)).permute(0, 3, 1, 2)
            images = resize_images(both.contiguous(), cfg.image_size)
        text = instruction_encoder(cfg).encode(texts)
        batch_ = PlannerBatch(
            images=images,
            text=text,
            context=torch.from_numpy(context),
            history=torch.from_numpy(history),
            steps_left=torch.from_numpy(steps_left),
        )
        return batch_, batched

    # ---------------------------------------------------------------------------------------
    # Checkpoints

    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write one ``.pt`` file: format name and version, config, weights and :attr:`meta`."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        blob = {
            "format": CHECKPOINT_FORMAT,
            "version": CHECKPOINT_VERSION,
            "config": self.config.to_dict(),
            "state_dict": {k: v.detach().cpu() for k, v in self.state_dict().items()},
            "method": self.meta.get("method"),
            "dataset": {
                "id": self.meta.get("dataset_id"),
                "checksum": self.meta.get("dataset_checksum"),
            },
            "train_seconds": self.meta.get("train_seconds"),
            "meta": json.loads(json.dumps(self.meta, default=str)),
        }
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            torch.save(blob, tmp)
            os.replace(tmp, path)
        except (OSError, RuntimeError) as e:  # torch reports a full disk as a RuntimeError
            from offline_data.safety import write_error

            raise write_error(path, e) from e
        finally:
            tmp.unlink(missing_ok=True)
        return path

    @classmethod
    def load(
        cls, path: str | os.PathLike[str], device: str | torch.device = "cpu"
    ) -> EmbeddedPlanner:
        """Read a checkpoint of :meth:`save`; :class:`CheckpointError` names what is wrong."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"checkpoint {str(path)!r} does not exist")
        if not path.is_file():
            raise CheckpointError(f"checkpoint {str(path)!r} is not a file")
        try:
            blob = torch.load(path, map_location=device, weights_only=True)
        except Exception as e:  # torch raises many types on foreign files
            msg = str(e).strip().splitlines()[0][:200] if str(e).strip() else ""
            raise CheckpointError(
                f"{str(path)!r} is not a torch checkpoint file ({type(e).__name__}: {msg})"
            ) from e
        where = str(path)
        if not isinstance(blob, dict):
            raise CheckpointError(
                f"{where!r} holds a {type(blob).__name__}, not an embedded-planner checkpoint"
            )
        if blob.get("format") != CHECKPOINT_FORMAT:
            raise CheckpointError(
                f"{where!r} is not an embedded-planner checkpoint: format {blob.get('format')!r}, "
                f"expected {CHECKPOINT_FORMAT!r}"
            )
        if blob.get("version") != CHECKPOINT_VERSION:
            raise CheckpointError(
                f"{where!r} has checkpoint version {blob.get('version')!r}; this code reads version "
                f"{CHECKPOINT_VERSION}: train it again"
            )
        missing = [k for k in ("config", "state_dict") if k not in blob]
        if missing:
            raise CheckpointError(f"{where!r} lacks the keys {missing}")
        try:
            config = PlannerConfig.from_dict(blob["config"])
        except (TypeError, ValueError) as e:
            raise CheckpointError(f"{where!r}: bad config: {e}") from e
        model = cls(config)
        _load_weights(model, blob["state_dict"], where)
        meta = blob.get("meta")
        model.meta = dict(meta) if isinstance(meta, dict) else {}
        return model.to(device).eval()


def _load_weights(model: nn.Module, state: Any, where: str) -> None:
    """``load_state_dict`` with a readable message when the weights do not fit the config."""
    if not isinstance(state, Mapping):
        raise CheckpointError(f"{where!r}: state_dict is a {type(state).__name__}, not a mapping")
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [
        f"{k}: checkpoint {tuple(state[k].shape)} vs config {tuple(v.shape)}"
        for k, v in own.items()
        if k in state and isinstance(state[k], torch.Tensor) and state[k].shape != v.shape
    ]
    if missing or unexpected or shapes:
        problems = []
        if missing:
            problems.append(f"missing {missing[:5]}{' ...' if len(missing) > 5 else ''}")
        if unexpected:
            problems.append(f"unexpected {unexpected[:5]}{' ...' if len(unexpected) > 5 else ''}")
        if shapes:
            problems.append(f"shape mismatch {shapes[:3]}{' ...' if len(shapes) > 3 else ''}")
        raise CheckpointError(
            f"{where!r}: the weights do not match the checkpoint's config ({'; '.join(problems)})"
        )
    try:
        model.load_state_dict(state)
    except RuntimeError as e:  # pragma: no cover - the checks above catch what torch checks
        raise CheckpointError(f"{where!r}: cannot load the weights: {e}") from e


def load(path: str | os.PathLike[str], device: str | torch.device = "cpu") -> EmbeddedPlanner:
    """:meth:`EmbeddedPlanner.load`."""
    return EmbeddedPlanner.load(path, device)


# --------------------------------------------------------------------------------------------
# The agent


class EmbeddedAgent:
    """stable-baselines3's ``predict`` over an :class:`EmbeddedPlanner` (batched observations of
    the vector env, or one env's observation).

    Args:
        planner: the policy (switched to eval mode).
        deterministic: the default of :meth:`predict`'s ``deterministic``.
        seed: seeds the sampling generator (``deterministic=False``).
        region_threshold: the region head's probability a region other than "all" needs.
    """

    def __init__(
        self,
        planner: EmbeddedPlanner,
        deterministic: bool = True,
        *,
        seed: int = 0,
        region_threshold: float = 0.9,
    ) -> None:
        if not isinstance(planner, EmbeddedPlanner):
            raise TypeError(f"planner must be an EmbeddedPlanner, got {type(planner).__name__}")
        self.planner = planner.eval()
        self.deterministic = bool(deterministic)
        self.region_threshold = float(region_threshold)
        self.generator = torch.Generator().manual_seed(seed)

    @classmethod
    def from_checkpoint(
        cls, path: str | os.PathLike[str], device: str | torch.device = "cpu", **kwargs: Any
    ) -> EmbeddedAgent:
        return cls(EmbeddedPlanner.load(path, device), **kwargs)

    @classmethod
    def zero_shot(
        cls, config: PlannerConfig | None = None, seed: int = 0, **kwargs: Any
    ) -> EmbeddedAgent:
        """The untrained planner (the ZeroShot baseline), initialized from ``seed``."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            planner = EmbeddedPlanner(config)
        planner.meta = {"method": "zero-shot", "seed": seed}
        return cls(planner, seed=seed, **kwargs)

    @property
    def config(self) -> PlannerConfig:
        return self.planner.config

    def predict(
        self,
        observation: Mapping[str, Any],
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool | None = None,
    ) -> tuple[dict[str, np.ndarray], Any]:
        """Observations -> (native actions, ``state`` unchanged). Batched observations give
        ``tool``, ``value``, ``region`` ``(N,)`` int64 and ``strength`` ``(N, 1)`` float32; one
        env's observation gives scalars and ``(1,)``. ``deterministic=None`` uses the agent's."""
        det = self.deterministic if deterministic is None else bool(deterministic)
        batch, batched = self.planner.observation_batch(observation)
        device = next(self.planner.parameters()).device
        out = self.planner.act(
            batch.to(device),
            deterministic=det,
            generator=self.generator,
            region_threshold=self.region_threshold,
        )
        acts = {
            "tool": out["tool"].cpu().numpy().astype(np.int64),
            "value": out["value"].cpu().numpy().astype(np.int64),
            "strength": out["strength"].cpu().numpy().astype(np.float32),
            "region": out["region"].cpu().numpy().astype(np.int64),
        }
        if not batched:
            acts = {k: (v[0] if k != "strength" else v[0].reshape(1)) for k, v in acts.items()}
        return acts, state


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
    instruction embeddings of ``rows.instructions``."""

    rows: StepTensors
    text: torch.Tensor  # (U, D) embeddings of rows.instructions
    dataset_id: str | None
    checksum: str | None
    seconds: float

    def __len__(self) -> int:
        return len(self.rows)

    def batch(
        self, index: torch.Tensor, *, images: bool = True, device: str | torch.device = "cpu"
    ) -> PlannerBatch:
        """The rows ``index`` as a :class:`PlannerBatch` with their actions."""
        return _batch(self, torch.as_tensor(index, dtype=torch.int64), not images, device)


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
    if isinstance(data, PreparedData):
        rows, did, checksum = data.rows, data.dataset_id, data.checksum
        text = data.text
    else:
        if isinstance(data, StepTensors):
            rows, did, checksum = data, None, None
        else:
            src, did, checksum = _dataset_info(data)
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
        text = instruction_encoder(config).encode(rows.instructions)
    if text.shape[1] != config.text_in:
        raise ValueError(
            f"the prepared instruction embeddings are {text.shape[1]}-d but the config's encoder "
            f"{config.encoder!r} gives {config.text_in}-d: prepare the data with this config"
        )
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
    return PreparedData(rows, text, did, checksum, time.perf_counter() - t0)


def _batch(
    d: PreparedData, idx: torch.Tensor, text_only: bool, device: str | torch.device
) -> PlannerBatch:
    r = d.rows
    images = None
    if not text_only:
        images = torch.cat([r.image[idx], r.sources[r.source_row[idx]]], dim=1)
    b = PlannerBatch(
        images=images,
        text=d.text[r.instruction_index[idx]],
        context=r.context[idx],
        history=r.history[idx],
        steps_left=r.steps_left[idx],
        tool=r.tool[idx],
        value=r.value[idx],
        strength=r.strength[idx],
        region=r.region[idx],
    )
    return b.to(device) if str(device) != "cpu" else b


def _peak_mb(device: str | torch.device) -> float | None:
    if str(device).startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    try:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kB on Linux
    except (AttributeError, OSError):  # pragma: no cover - not on Linux
        return None


class _Logger:
    def __init__(self, every: int, path: str | os.PathLike[str] | None) -> None:
        self.every = max(1, int(every))
        self.rows: list[dict[str, float]] = []
        self._acc: dict[str, float] = {}
        self._n = 0
        self._file = None
        if path is not None:
            p = Path(path)
            p.parent.mkdir(parents=True, exist_ok=True)
            self._file = p.open("w")

    def add(self, step: int, values: Mapping[str, float], **extra: float) -> None:
        for k, v in values.items():
            self._acc[k] = self._acc.get(k, 0.0) + float(v)
        self._n += 1
        if step % self.every == 0:
            self.flush(step, **extra)

    def flush(self, step: int, **extra: float) -> None:
        if not self._n:
            return
        row = {"step": step, **{k: v / self._n for k, v in self._acc.items()}, **extra}
        self.rows.append(row)
        if self._file is not None:
            self._file.write(json.dumps(row) + "\n")
            self._file.flush()
        self._acc, self._n = {}, 0

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def _schedule(n_rows: int, batch_size: int, steps: int | None, epochs: int) -> int:
    if steps is not None:
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise ValueError(f"steps must be a positive int, got {steps!r}")
        return steps
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    return epochs * math.ceil(n_rows / batch_size)


def _batches(n: int, batch_size: int, total: int, gen: torch.Generator):
    """``total`` index batches over seeded epoch permutations of ``range(n)``."""
    done = 0
    while True:
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n, batch_size):
            if done == total:
                return
            yield perm[i : i + batch_size]
            done += 1


def train(
    data: Any,
    *,
    method: str,
    config: PlannerConfig | None = None,
    seed: int = 0,
    steps: int | None = None,
    epochs: int | None = None,
    batch_size: int = 256,
    lr: float | None = None,
    reference: EmbeddedPlanner | TrainResult | str | os.PathLike[str] | None = None,
    progress: bool = True,
    log_path: str | os.PathLike[str] | None = None,
    device: str | torch.device = "cpu",
    checkpoint: str | os.PathLike[str] | None = None,
    log_every: int = 10,
    weight_decay: float = 1e-4,
    grad_clip: float = 1.0,
    schedule: str = "constant",
    beta: float = DPO_BETA,
    dpo_fallback: bool = False,
    sw_cap: float = 5.0,
    groups: str | Callable[[Mapping[str, Any]], Hashable] | None = None,
) -> TrainResult:
    """Train an :class:`EmbeddedPlanner` with one offline method (module docstring).

    Args:
        data: a dataset id, a MinariDataset, a list of EpisodeRecord, a
            :class:`~offline_data.loaders.StepTensors` or the result of :func:`prepare`.
        method: ``s``, ``rl``, ``rw``, ``sw`` or ``dpo`` (:data:`agents.methods.OFFLINE_METHODS`).
        config: the architecture (default :class:`PlannerConfig`; DPO: the reference's).
        seed: seeds the initialization, the minibatch order, dropout and DPO's pairing.
        steps: optimizer steps; default ``epochs`` passes over the rows (DPO: over the pairs).
        epochs: default :func:`agents.methods.default_epochs` (10; DPO 3).
        batch_size: rows per minibatch (DPO: about this many rows, both sides of the pairs).
        lr: AdamW's learning rate; default :func:`agents.methods.default_lr`.
        reference: DPO's frozen reference (a planner, a :class:`TrainResult` or a checkpoint
            path); ``None`` first trains S with the same config, seed, batch size and ``steps``
            (or S's default epochs).
        log_path: write the logged dicts as JSON lines there.
        checkpoint: save the trained planner there (:meth:`EmbeddedPlanner.save`).
        log_every: log the mean of every ``log_every`` steps.
        schedule: ``"constant"`` or ``"cosine"`` (decay to 0; measured worse: the value head
            learns late).
        beta: DPO's temperature.
        dpo_fallback: DPO pairs of different tasks when a chosen trajectory has no rejected one
            of its own task (:func:`~offline_data.weights.dpo_pairs`' ``fallback``). Off by
            default: DPO assumes one prompt per pair, and cross-task pairs measured worse.
        sw_cap: SW only: a negative-weight sample's NLL is clamped at this value (no push past it).
        groups: SW's standardization groups (see :func:`offline_data.loaders.to_tensors`).

    Returns:
        :class:`TrainResult`; the planner is in eval mode and its ``meta`` records the method,
        dataset id and checksum, seed, steps and training seconds.
    """
    method = check_method(method)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    lr = default_lr(method) if lr is None else float(lr)
    epochs = default_epochs(method) if epochs is None else epochs
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr}")
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got {schedule!r}")
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
    pairs = _dpo_pairs(prepared, seed, dpo_fallback) if method == "dpo" else None
    ref_result = None
    if method == "dpo" and ref_model is None:
        ref_result = train(
            prepared, method="s", config=config, seed=seed, steps=steps, batch_size=batch_size, progress=progress, device=device, log_every=log_every,
            weight_decay=weight_decay, grad_clip=grad_clip, schedule=schedule,
        )  # fmt: skip
        ref_model = ref_result.planner
        prepared.dataset_id = prepared.dataset_id or ref_model.meta.get("dataset_id")
    run = _Run(steps, epochs, batch_size, lr, weight_decay, grad_clip, schedule, progress, device)
    log = _Logger(log_every, log_path)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    try:
        if method == "dpo":
            assert ref_model is not None and pairs is not None
            model = EmbeddedPlanner(config)
            model.load_state_dict(ref_model.state_dict())
            model.to(device)
            ref_model = ref_model.to(device).eval()
            stats = _train_dpo(model, ref_model, prepared, gen, log, run, episodes=pairs, beta=beta)
        else:
            model = EmbeddedPlanner(config).to(device)
            stats = _train_weighted(model, prepared, gen, log, run, method=method, sw_cap=sw_cap)
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
        "lr": lr,
        "schedule": schedule,
        "batch_size": batch_size,
        "train_seconds": round(seconds, 3),
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
        peak_memory_mb=_peak_mb(device),
        checkpoint=path,
        reference=ref_model if method == "dpo" else None,
        reference_result=ref_result,
        info={k: v for k, v in stats.items() if k not in ("seconds", "steps", "samples")},
    )


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


@dataclass(frozen=True)
class _Run:
    """The optimization settings of one :func:`train` call."""

    steps: int | None
    epochs: int
    batch_size: int
    lr: float
    weight_decay: float
    grad_clip: float
    schedule: str
    progress: bool
    device: str | torch.device


SCHEDULES = ("constant", "cosine")


class _Optimizer:
    """AdamW + gradient clipping + the learning-rate schedule over ``total`` steps."""

    def __init__(self, model: nn.Module, run: _Run, total: int) -> None:
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.opt = torch.optim.AdamW(self.params, lr=run.lr, weight_decay=run.weight_decay)
        self.clip = run.grad_clip
        self.sched = None
        if run.schedule == "cosine":
            self.sched = torch.optim.lr_scheduler.LambdaLR(
                self.opt, lambda k: 0.5 * (1.0 + math.cos(math.pi * min(k, total) / total))
            )

    def step(self, loss: torch.Tensor) -> None:
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        if self.clip:
            nn.utils.clip_grad_norm_(self.params, self.clip)
        self.opt.step()
        if self.sched is not None:
            self.sched.step()

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
    log: _Logger,
    run: _Run,
    *,
    method: str,
    sw_cap: float,
) -> dict[str, Any]:
    weight = d.rows.weight
    keep = torch.nonzero(weight != 0).reshape(-1)  # weight-0 rows contribute nothing
    if keep.numel() == 0:
        raise ValueError(f"every {method.upper()} weight is 0: there is nothing to train on")
    total = _schedule(keep.numel(), run.batch_size, run.steps, run.epochs)
    opt = _Optimizer(model, run, total)
    text_only = model.config.text_only
    model.train()
    samples = 0
    bar = _progress(total, method.upper(), run.progress)
    t0 = time.perf_counter()
    for k, pos in enumerate(_batches(keep.numel(), run.batch_size, total, gen), start=1):
        idx = keep[pos]
        b = _batch(d, idx, text_only, run.device)
        w = weight[idx].to(run.device)
        terms, _ = model.step_log_prob(b)
        nll = terms["nll"]
        if method == "sw":
            nll = torch.where(w < 0, nll.clamp(max=sw_cap), nll)
        loss = weighted_loss(nll, w, method)
        lr = opt.lr
        opt.step(loss)
        samples += len(idx)
        with torch.no_grad():
            pos_w = (w > 0).float()
            denom = pos_w.sum().clamp(min=1.0)
            values = {"loss": loss.item(), "lr": lr}
            for name in ("tool", "value", "strength", "region", "nll"):
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
    log: _Logger,
    run: _Run,
    *,
    episodes: tuple[DPOPairs, torch.Tensor, torch.Tensor, torch.Tensor],
    beta: float,
) -> dict[str, Any]:
    device = run.device
    pairs, ep_ids, counts, starts = episodes
    ref_traj = torch.zeros(len(ep_ids), dtype=torch.float64)
    ref_rows = _row_logp(ref, d, device).double()
    ep_of_row = torch.repeat_interleave(torch.arange(len(ep_ids)), counts)
    ref_traj.index_add_(0, ep_of_row, ref_rows)
    chosen = torch.from_numpy(pairs.chosen)
    rejected = torch.from_numpy(pairs.rejected)
    rows_per_pair = float((counts[chosen] + counts[rejected]).float().mean())
    pairs_per_batch = max(1, round(run.batch_size / rows_per_pair))
    total = _schedule(len(pairs), pairs_per_batch, run.steps, run.epochs)
    opt = _Optimizer(model, run, total)
    text_only = model.config.text_only
    model.eval()  # dropout off: the policy starts equal to the reference (loss = log 2)
    samples = 0
    bar = _progress(total, "DPO", run.progress)
    t0 = time.perf_counter()
    for k, pos in enumerate(_batches(len(pairs), pairs_per_batch, total, gen), start=1):
        eps = torch.cat([chosen[pos], rejected[pos]])  # 2P trajectories
        lens = counts[eps]
        idx = torch.cat(
            [
                torch.arange(s, s + n)
                for s, n in zip(starts[eps].tolist(), lens.tolist(), strict=True)
            ]
        )
        seg = torch.repeat_interleave(torch.arange(len(eps)), lens).to(device)
        _, logp = model.step_log_prob(_batch(d, idx, text_only, device))
        traj = torch.zeros(len(eps), device=device, dtype=logp.dtype).index_add(0, seg, logp)
        ref_lp = ref_traj[eps].to(device=device, dtype=logp.dtype)
        n = len(pos)
        out = dpo_loss(traj[:n], traj[n:], ref_lp[:n], ref_lp[n:], beta=beta)
        lr = opt.lr
        opt.step(out.loss)
        samples += len(idx)
        values = {
            "loss": out.loss.item(),
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


__all__ = [
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_VERSION",
    "CheckpointError",
    "EmbeddedAgent",
    "EmbeddedPlanner",
    "InstructionEncoder",
    "PlannerBatch",
    "PlannerConfig",
    "PreparedData",
    "TrainResult",
    "cache_dir",
    "instruction_encoder",
    "load",
    "prepare",
    "resize_images",
    "train",
]
