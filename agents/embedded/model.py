"""The factorized policy network (:class:`EmbeddedPlanner`), its batches and checkpoints.

The heads' sizes follow the planner's action library (``PlannerConfig.library``,
:func:`~agents.embedded.config.head_tables`): in ``v2`` 11 tool logits (10 tools + STOP) and 171
``(tool, value)`` rows, in ``normal`` 21 and 335, in ``v3`` 31 and 189.
"""

from __future__ import annotations

import functools
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from styling_env.actions import MASK_NAMES, bitmask_bits
from styling_env.context import context_nvec
from styling_env.env import HISTORY_COLUMNS
from styling_env.images import resize_uint8
from styling_env.tools.call import REGIONS
from styling_env.tools.library_tables import library_values

from .attention import FiLM, ImageCondition, TokenAttention
from .config import (
    CHECKPOINT_FORMAT,
    CHECKPOINT_VERSION,
    LEX_DIM,
    LEX_LEVELS,
    LEX_WIDTH,
    LOG_STD_MAX,
    LOG_STD_MIN,
    MINILM_DIM,
    STRENGTH_RANGE,
    CheckpointError,
    PlannerConfig,
    head_tables,
)
from .hashed import HashedWords, SparseTailLinear, hashed_words, read_words
from .pixels import N_PIXEL_STATISTICS, RunningStandardize, pixel_statistics
from .text import instruction_encoder


@dataclass
class _Reading:
    """What the heads read of one batch besides the trunk (set by :meth:`EmbeddedPlanner._encode`):
    the projected token keys, the token states and their mask, and the FiLM condition."""

    keys: torch.Tensor | None = None  # (B, heads, T, key_dim)
    tokens: torch.Tensor | None = None  # (B, T, 384) float32
    mask: torch.Tensor | None = None  # (B, T) bool
    cond: torch.Tensor | None = None  # (B, film_dim)


# --------------------------------------------------------------------------------------------
# Batches


@dataclass
class PlannerBatch:
    """Model inputs (and, for training, the taken actions), batch first."""

    images: torch.Tensor | None  # (B, 6, s, s) uint8: current image ++ source; None if text-only
    text: torch.Tensor  # (B, D) float32 instruction embeddings (with words: up to the hashed words)
    context: torch.Tensor  # (B, 10) int64
    history: torch.Tensor  # (B, max_steps, 5) float32 (the observation's rows)
    steps_left: torch.Tensor  # (B,) int64
    tool: torch.Tensor | None = None  # (B,) int64, 10 = STOP
    value: torch.Tensor | None = None  # (B,) int64
    strength: torch.Tensor | None = None  # (B,) float32
    region: torch.Tensor | None = None  # (B,) int64
    preserve: torch.Tensor | None = None  # (B, 6) float32 bits (MASK_NAMES order)
    tokens: torch.Tensor | None = None  # (B, T, 384) MiniLM token states (token encoders)
    token_mask: torch.Tensor | None = None  # (B, T) bool, True for a real token
    pixels: torch.Tensor | None = None  # (B, 234) pixel statistics (pixel_stats; else computed)
    words: HashedWords | None = None
    """The hashed words, sparse (training rows on a CPU: ``PreparedData.batch``); ``text`` then
    holds only the columns before them."""

    def __len__(self) -> int:
        return int(self.context.shape[0])

    def to(self, device: str | torch.device) -> PlannerBatch:
        moved: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, torch.Tensor):
                moved[f.name] = v.to(device)
            elif isinstance(v, tuple):  # words
                moved[f.name] = tuple(x.to(device) for x in v)
        return replace(self, **moved)


#: The embedded planner resizes with the project's one resizer (area averaging when shrinking):
#: it sees the pixels the d3rlpy agents see. (Until this change it used antialiased bilinear:
#: checkpoints trained before it see slightly softer inputs than they were trained on.)
resize_images = resize_uint8


# --------------------------------------------------------------------------------------------
# The model


#: Input scale of the ``lex`` paths: clause evidence relative to the request's best match.
LEX_SCALE = 10.0

#: The preserve head's initial bias: logit of a 5% prior per bit.
PRESERVE_PRIOR_LOGIT = math.log(0.05 / 0.95)


def _mlp(n_in: int, n_hidden: int, n_out: int | None, dropout: float) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Linear(n_in, n_hidden), nn.ReLU(), nn.Dropout(dropout)]
    if n_out is not None:
        layers.append(nn.Linear(n_hidden, n_out))
    return nn.Sequential(*layers)


class EmbeddedPlanner(nn.Module):
    """The factorized policy ``pi(tool, value, strength, region, preserve | observation)``
    (module docstring).

    ``meta`` holds what a checkpoint records besides the weights: the method, the dataset id and
    checksum, the training seed, steps and seconds.
    """

    def __init__(self, config: PlannerConfig | None = None) -> None:
        super().__init__()
        cfg = config or PlannerConfig()
        if not isinstance(cfg, PlannerConfig):
            raise TypeError(f"config must be a PlannerConfig, got {type(cfg).__name__}")
        self.config = cfg
        #: the sizes of the heads, from the action library (``cfg.library``; v2 when unset)
        self.tables = tables = head_tables(cfg.library)
        #: the native ``tool`` index of STOP in that library
        self.stop = tables.stop
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
            self.cnn = nn.Sequential(*convs).to(memory_format=torch.channels_last)
            n_in += cfg.image_dim
        self.pixel_norm = self.pixel = None
        if cfg.pixel_stats:
            self.pixel_norm = RunningStandardize(N_PIXEL_STATISTICS)
            self.pixel = nn.Sequential(nn.Linear(N_PIXEL_STATISTICS, cfg.pixel_dim), nn.ReLU())
            n_in += cfg.pixel_dim
        # the hashed words are the text's last hash_dim columns, a few dozen of them non-zero:
        # the layers that read them skip the zeros (agents.embedded.hashed)
        text_in = (
            SparseTailLinear(cfg.text_in, cfg.text_dim, cfg.hash_dim)
            if cfg.hashed
            else nn.Linear(cfg.text_in, cfg.text_dim)
        )
        self.text = nn.Sequential(text_in, nn.ReLU())
        n_in += cfg.text_dim
        # the library's Stage-1 dimensions (v2 and normal: the ten tools'; v3: thirty)
        self._context_nvec = context_nvec(cfg.action_library)
        self.context = nn.ModuleList(nn.Embedding(n, cfg.context_dim) for n in self._context_nvec)
        n_in += cfg.context_dim * len(self._context_nvec)
        # history rows: tool (-2 invalid, -1 pad, 0-10) -> 0-12; (tool, value) pair -> 0 = none
        self.hist_tool = nn.Embedding(tables.n_tools + 2, 8)
        self.hist_value = nn.Embedding(tables.n_rows + 1, 16)
        self.hist_region = nn.Embedding(len(REGIONS) + 1, 4)
        # per row: 8 + 16 + 4 embeddings, strength, is-call, the 6 preserve bits
        self.history = nn.Sequential(
            nn.Linear(cfg.max_steps * (30 + len(MASK_NAMES)), cfg.history_dim), nn.ReLU()
        )
        n_in += cfg.history_dim
        self.steps_left = nn.Embedding(cfg.max_steps + 1, 8)
        n_in += 8
        self.trunk = nn.Sequential(
            nn.LayerNorm(n_in),
            _mlp(n_in, cfg.hidden, None, p),
            _mlp(cfg.hidden, cfg.hidden, None, p),
        )
        # each head's own input: the trunk, then what it is conditioned on (tool; tool and value)
        head_in = [cfg.hidden, cfg.hidden + 16, cfg.hidden + 32]
        if cfg.lex:  # the strength head reads the chosen value's own strength cues
            head_in[2] += LEX_LEVELS
        cond = cfg.film_dim if cfg.film else 0
        self.attention = None
        if cfg.tokens:  # each head pools the instruction's tokens with its own query
            self.attention = TokenAttention(
                MINILM_DIM, cfg.attention_heads, cfg.key_dim, [n + cond for n in head_in],
                cfg.attention_dim,
            )  # fmt: skip
            head_in = [n + cfg.attention_dim for n in head_in]
        self.condition = self.films = None
        if cfg.film:
            self.condition = ImageCondition(
                not cfg.text_only, cfg.context_dim * len(self._context_nvec), cfg.film_dim
            )
            self.films = nn.ModuleList(FiLM(cfg.film_dim, n) for n in head_in)
        self._reading: _Reading | None = None
        self.tool_head = nn.Linear(head_in[0], tables.n_tools)
        self.tool_embed = nn.Embedding(tables.n_tools, 16)
        self.value_head = _mlp(head_in[1], cfg.head_hidden, tables.n_rows, p)
        self.value_embed = nn.Embedding(tables.n_rows + 1, 16)
        self.call_head = _mlp(head_in[2], cfg.head_hidden, 2 + len(REGIONS), p)
        # one Bernoulli logit per mask: does the call keep that region untouched? Most calls
        # keep nothing, so the prior is p ~ 0.05 per bit: an untrained head preserves nothing
        # (as an untrained region head stays at "all") instead of flipping coins on photos
        self.preserve_head = _mlp(head_in[2], cfg.head_hidden, len(MASK_NAMES), p)
        nn.init.constant_(self.preserve_head[-1].bias, PRESERVE_PRIOR_LOGIT)
        self.lex_value = self.lex_tool = None
        if cfg.lex:  # the clause evidence straight to the value logits and (best value) tools
            self.lex_value = nn.Linear(LEX_DIM, tables.n_rows)
            self.lex_tool = nn.Linear(tables.stop, tables.n_tools)
            for layer in (self.lex_value, self.lex_tool):
                nn.init.zeros_(layer.weight)
                nn.init.zeros_(layer.bias)
            # the lexicon scores the ten tools' values (the v2 rows); this library's row of each
            # (v2 rows in the normal library; values v3's tools share with v2); LEX_DIM: a value
            # the lexicon does not score, "not named"
            v2 = {tv: i for i, tv in enumerate((t, v) for t, vs in library_values("v2") for v in vs)}  # fmt: skip
            rows = [v2.get((t, v), LEX_DIM) for t, vs in library_values(tables.library) for v in vs]  # fmt: skip
            self.register_buffer("_lex_rows", torch.tensor(rows, dtype=torch.int64), persistent=False)  # fmt: skip
        self.wide_value = self.wide_tool = None
        if cfg.wide and cfg.hashed:
            self.wide_value = SparseTailLinear(cfg.hash_dim, tables.n_rows, cfg.hash_dim)
            if cfg.wide_tool:
                self.wide_tool = SparseTailLinear(cfg.hash_dim, tables.n_tools, cfg.hash_dim)
        # the taken tool's slice of the (tool, value) logits; STOP gets one dummy value
        index = np.zeros((tables.n_tools, tables.max_values), np.int64)
        mask = np.zeros((tables.n_tools, tables.max_values), bool)
        for t, n in enumerate(tables.vocab):
            index[t] = tables.offsets[t] + np.minimum(np.arange(tables.max_values), n - 1)
            mask[t, :n] = True
        mask[tables.stop, 0] = True
        self.register_buffer("_value_index", torch.from_numpy(index), persistent=False)
        self.register_buffer("_value_mask", torch.from_numpy(mask), persistent=False)
        self.register_buffer("_offsets", torch.from_numpy(tables.offsets), persistent=False)

    # ---------------------------------------------------------------------------------------
    # Forward pieces

    def hashed_words(self, b: PlannerBatch) -> HashedWords | None:
        """The batch's hashed words as sparse entries (:func:`~.hashed.hashed_words`), found once
        for every layer that reads them; None without a hash encoder, and off the CPU (the layers
        stay dense on a GPU)."""
        sparse = self.config.hashed and b.text.device.type == "cpu"
        if b.words is not None:  # found with the training rows (PreparedData.sparse_words)
            if not sparse:  # its text lacks the hashed columns a dense layer would read
                raise ValueError(
                    "this batch holds its hashed words sparsely, for a hashing planner on the "
                    "CPU: take it with PreparedData.batch(device=...) for the device it runs on"
                )
            return b.words
        if not sparse:
            return None
        return hashed_words(b.text[:, -self.config.hash_dim :].float())

    def features(self, b: PlannerBatch, words: HashedWords | None = None) -> torch.Tensor:
        """The trunk ``(B, hidden)`` of a batch's observations (``words``: its
        :meth:`hashed_words`, when the caller has them already)."""
        parts = []
        if not self.config.text_only:
            if b.images is None:
                raise ValueError("this planner needs images (text_only=False); the batch has none")
            # one float copy, scaled in place (the same numbers as "float() * (1 / 255) - 0.5",
            # without two more batch-sized tensors: 2.6 instead of 6.4 ms for 256 x 6 x 64 x 64)
            x = b.images.to(torch.float32, copy=True, memory_format=torch.channels_last)
            x = x.mul_(1.0 / 255.0).sub_(0.5)
            parts.append(self.cnn(x))
            if self.pixel is not None and self.pixel_norm is not None:
                stats = b.pixels if b.pixels is not None else pixel_statistics(b.images)
                parts.append(self.pixel(self.pixel_norm(stats.float())))
        words = self.hashed_words(b) if words is None else words
        parts.append(self.text[1](read_words(self.text[0], words, lambda: b.text.float())))
        parts += [emb(b.context[:, i]) for i, emb in enumerate(self.context)]
        parts.append(self._history(b.history))
        parts.append(self.steps_left(b.steps_left.clamp(0, self.config.max_steps)))
        return self.trunk(torch.cat(parts, dim=1))

    def _history(self, h: torch.Tensor) -> torch.Tensor:
        tool = h[..., 0].round().long().clamp(-2, self.stop)
        is_call = (tool >= 0) & (tool < self.stop)
        vocab = torch.as_tensor(self.tables.vocab, device=h.device)[tool.clamp(0, self.stop - 1)]
        value = h[..., 1].round().long()
        value = torch.minimum(value.clamp(min=0), vocab - 1)
        flat = torch.where(
            is_call & (h[..., 1] >= 0), self._offsets[tool.clamp(0, self.stop - 1)] + value + 1, 0
        )
        region = h[..., 3].round().long().clamp(-1, len(REGIONS) - 1) + 1
        region = torch.where(is_call, region, 0)
        strength = torch.where(is_call, h[..., 2].clamp(0, 1), 0.0)
        bits = bitmask_bits(h[..., 4].round().long()).float() * is_call.unsqueeze(-1).float()
        rows = torch.cat(
            [
                self.hist_tool(tool + 2),
                self.hist_value(flat),
                self.hist_region(region),
                strength.unsqueeze(-1),
                is_call.float().unsqueeze(-1),
                bits,
            ],
            dim=-1,
        )
        return self.history(rows.flatten(1))

    def _encode(self, b: PlannerBatch) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The trunk and the wide path's ``(B, 171)`` value logits (None without it).

        Also keeps what the heads read of this batch besides the trunk (:meth:`_read`) until the
        next call, as it keeps the wide path's tool logits: the heads of one batch follow its
        ``_encode``."""
        wide = None
        self._wide_tool = self._lex_levels = None
        p = self.config.hash_dropout
        if self.training and p > 0:  # whole rows' hashed words, for the trunk and the wide path
            keep = (torch.rand(len(b), 1, device=b.text.device) >= p).to(b.text.dtype)
            n = self.config.hash_dim
            if b.words is not None:  # a dropped row's entries weigh 0 (as if it had none)
                b = replace(b, words=(b.words[0], b.words[1] * keep))
            else:
                b = replace(b, text=torch.cat([b.text[:, :-n], b.text[:, -n:] * keep], dim=1))
        words = self.hashed_words(b)
        if self.wide_value is not None:
            scale, n = self.config.wide_scale, self.config.hash_dim
            scaled = None if words is None else (words[0], words[1] * scale)
            dense = functools.cache(lambda: b.text[:, -n:].float() * scale)  # built at most once
            wide = read_words(self.wide_value, scaled, dense)
            if self.wide_tool is not None:
                self._wide_tool = read_words(self.wide_tool, scaled, dense)
        if self.lex_value is not None and self.lex_tool is not None:
            # relative to the request's best match, scaled so that the 0.1-0.3 gaps between a
            # named value and its neighbours reach the logits at the trunk's learning rate
            ev = b.text[:, :LEX_DIM].float()
            ev = (ev - ev.amax(1, keepdim=True)) * LEX_SCALE
            lex = self.lex_value(ev)
            wide = lex if wide is None else wide + lex
            ev_rows = F.pad(ev, (0, 1), value=-2 * LEX_SCALE)[:, self._lex_rows]  # (B, n_rows)
            per_value = ev_rows.gather(
                1, self._value_index[: self.stop].reshape(1, -1).expand(len(ev), -1)
            )
            per_value = per_value.reshape(len(ev), self.stop, -1)
            per_value = per_value.masked_fill(~self._value_mask[: self.stop], -LEX_SCALE * 2)
            tool = self.lex_tool(per_value.amax(2))
            self._wide_tool = tool if self._wide_tool is None else self._wide_tool + tool
            levels = b.text[:, LEX_DIM:LEX_WIDTH].float().reshape(len(ev), LEX_DIM, LEX_LEVELS)
            levels = F.pad(levels, (0, 0, 0, 1), value=-1.0)[:, self._lex_rows]  # (B, n_rows, L)
            self._lex_levels = (levels - 0.5) * (LEX_SCALE / 2)
        self._reading = self._read(b)
        return self.features(b, words), wide

    def _read(self, b: PlannerBatch) -> _Reading | None:
        """The token keys and states (token encoders) and the FiLM condition (``film``)."""
        if self.attention is None and self.condition is None:
            return None
        r = _Reading()
        if self.attention is not None:
            if b.tokens is None or b.token_mask is None:
                raise ValueError(
                    f"this planner reads the instruction's token states (encoder="
                    f"{self.config.encoder!r}); the batch has none: build it with "
                    "observation_batch or PreparedData.batch"
                )
            mask = b.token_mask.bool()
            if mask.ndim != 2 or b.tokens.shape[:2] != mask.shape or not mask[:, 0].all():
                raise ValueError(
                    f"token_mask must be (B, T) with the first token of every row real, and "
                    f"tokens (B, T, {MINILM_DIM}); got {tuple(mask.shape)} and "
                    f"{tuple(b.tokens.shape)}"
                )
            width = int(mask.any(0).nonzero().max()) + 1  # no column that is padding in all rows
            r.mask = mask[:, :width]
            r.tokens = b.tokens[:, :width].float()
            r.keys = self.attention.keys(r.tokens)
        if self.condition is not None:
            ctx = torch.cat([emb(b.context[:, i]) for i, emb in enumerate(self.context)], dim=1)
            images = None if self.config.text_only else b.images
            r.cond = self.condition(images, ctx)
        return r

    def _head_input(self, which: int, x: torch.Tensor) -> torch.Tensor:
        """Head ``which``'s input (0 tool, 1 value, 2 strength/region): ``x`` (the trunk and the
        head's conditioning), then its pooled tokens (query: ``x`` and the image condition),
        scaled and shifted by the image condition (FiLM)."""
        r = self._reading
        if self.attention is None and self.films is None:
            return x
        if r is None or (r.cond is None and self.films is not None):
            raise RuntimeError("the heads read the batch of the last _encode: call it first")
        if self.attention is not None:
            assert r.keys is not None and r.tokens is not None and r.mask is not None
            q = x if r.cond is None else torch.cat([x, r.cond], dim=1)
            x = torch.cat([x, self.attention.pool(which, q, r.keys, r.tokens, r.mask)], dim=1)
        if self.films is not None:
            x = self.films[which](x, r.cond)
        return x

    def _tool_logits(self, h: torch.Tensor) -> torch.Tensor:
        logits = self.tool_head(self._head_input(0, h))
        extra = getattr(self, "_wide_tool", None)
        return logits if extra is None else logits + extra

    def _value_logits(
        self, h: torch.Tensor, tool: torch.Tensor, wide: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``(B, max_values)`` logits of the values of ``tool`` (outside its vocabulary: -1e9)."""
        flat = self.value_head(self._head_input(1, torch.cat([h, self.tool_embed(tool)], dim=1)))
        if wide is not None:
            flat = flat + wide
        logits = flat.gather(1, self._value_index[tool])
        return logits.masked_fill(~self._value_mask[tool], -1e9)

    def _call_input(self, h: torch.Tensor, tool: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
        """The per-call hidden state: the trunk with the chosen tool's and value's embeddings
        (read through the call query and conditioned on the image where the config asks; the
        strength, region and preserve heads share it)."""
        is_call = tool < self.stop
        flat = torch.where(is_call, self._offsets[tool.clamp(max=self.stop - 1)] + value + 1, 0)
        parts = [h, self.tool_embed(tool), self.value_embed(flat)]
        if self.lex_value is not None:
            levels = self._lex_levels
            if levels is None:
                raise RuntimeError("the heads read the batch of the last _encode: call it first")
            cues = levels[torch.arange(len(flat), device=flat.device), (flat - 1).clamp(min=0)]
            parts.append(cues * is_call.unsqueeze(1).to(cues.dtype))
        return self._head_input(2, torch.cat(parts, dim=1))

    def _call_heads(
        self, h: torch.Tensor, tool: torch.Tensor, value: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Strength mean, log-std ``(B,)``, region logits ``(B, 8)`` and the six preserve bits'
        logits ``(B, 6)`` given tool and value, from one per-call input (its attention pooling
        and FiLM run once for the heads that share it)."""
        x = self._call_input(h, tool, value)
        out = self.call_head(x)
        mean = torch.sigmoid(out[:, 0])
        log_std = LOG_STD_MIN + (LOG_STD_MAX - LOG_STD_MIN) * torch.sigmoid(out[:, 1])
        return mean, log_std, out[:, 2:], self.preserve_head(x)

    def _call(
        self, h: torch.Tensor, tool: torch.Tensor, value: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Strength mean, log-std ``(B,)`` and region logits ``(B, 8)`` given tool and value."""
        return self._call_heads(h, tool, value)[:3]

    def _preserve_logits(
        self, h: torch.Tensor, tool: torch.Tensor, value: torch.Tensor
    ) -> torch.Tensor:
        """``(B, 6)`` logits of the six independent preserve bits given tool and value."""
        return self._call_heads(h, tool, value)[3]

    def step_log_prob(self, b: PlannerBatch) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """Teacher-forced negative log-likelihood of the taken actions.

        Returns ``(terms, logp)``: ``terms`` maps ``tool``, ``value``, ``strength``, ``region``,
        ``preserve`` (the sum of the six bits' Bernoulli negative log-likelihoods) and ``nll``
        (their sum) to ``(B,)`` tensors (all but ``tool`` are 0 for STOP steps), and
        ``logp = -nll`` ``(B,)`` is the step's log-probability (the strength factor is a density).
        """
        if (
            b.tool is None or b.value is None or b.strength is None or b.region is None
            or b.preserve is None
        ):  # fmt: skip
            raise ValueError(
                "step_log_prob needs a batch with the taken actions (tool, value, strength, "
                "region and preserve)"
            )
        h, wide = self._encode(b)
        tool = b.tool.long()
        is_call = (tool < self.stop).float()
        value = torch.where(tool < self.stop, b.value.long(), 0)
        tool_nll = F.cross_entropy(self._tool_logits(h), tool, reduction="none")
        value_nll = F.cross_entropy(self._value_logits(h, tool, wide), value, reduction="none")
        mean, log_std, region_logits, preserve_logits = self._call_heads(h, tool, value)
        z = (b.strength.float().reshape(-1) - mean) * torch.exp(-log_std)
        strength_nll = 0.5 * z * z + log_std + 0.5 * math.log(2 * math.pi)
        region_nll = F.cross_entropy(region_logits, b.region.long(), reduction="none")
        preserve_nll = F.binary_cross_entropy_with_logits(
            preserve_logits, b.preserve.float(), reduction="none"
        ).sum(1)
        terms = {
            "tool": tool_nll,
            "value": value_nll * is_call,
            "strength": strength_nll * is_call,
            "region": region_nll * is_call,
            "preserve": preserve_nll * is_call,
        }
        nll = terms["tool"] + terms["value"] + terms["strength"] + terms["region"]
        nll = nll + terms["preserve"]
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
        repeat_tools: bool = False,
    ) -> dict[str, torch.Tensor]:
        """Actions for a batch of observations: ``tool``, ``value``, ``region`` ``(B,)`` int64,
        ``strength`` ``(B, 1)`` float32 and ``preserve`` ``(B, 6)`` int64 bits (see the module
        docstring for the greedy rule; a preserve bit is set where its probability exceeds 0.5,
        or drawn from it when not ``deterministic``). Tools the episode has called already are
        not called again: their probability goes to STOP (:mod:`agents.support`; the data never
        repeats a tool); ``repeat_tools=True`` decodes the raw policy."""
        h, wide = self._encode(b)
        tool_logits = self._tool_logits(h)
        if not repeat_tools:
            from agents.support import called_tools, merge_repeats

            tool_logits = merge_repeats(tool_logits, called_tools(b.history, self.tables.library))

        def pick(logits: torch.Tensor) -> torch.Tensor:
            if deterministic:
                return logits.argmax(dim=1)
            probs = torch.softmax(logits.float(), dim=1)
            return torch.multinomial(probs.cpu(), 1, generator=generator).reshape(-1).to(h.device)

        tool = pick(tool_logits)
        value = pick(self._value_logits(h, tool, wide))
        mean, log_std, region_logits, preserve_logits = self._call_heads(h, tool, value)
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
        keep_p = torch.sigmoid(preserve_logits.float())
        if deterministic:
            preserve = (keep_p > 0.5).long()
        else:
            u = torch.rand(keep_p.shape, generator=generator).to(h.device)
            preserve = (u < keep_p).long()
        stop = tool == self.stop
        value = torch.where(stop, 0, value)
        region = torch.where(stop, 0, region)
        preserve = torch.where(stop[:, None], 0, preserve)
        return {
            "tool": tool,
            "value": value,
            "strength": strength.reshape(-1, 1),
            "region": region,
            "preserve": preserve,
        }

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
        nvec = np.asarray(self._context_nvec)
        if context.ndim not in (1, 2) or context.shape[-1] != len(nvec):
            raise ValueError(
                f"observation['context'] must be (N, {len(nvec)}) or ({len(nvec)},), "
                f"got shape {context.shape}"
            )

        def batch(x: Any) -> np.ndarray:
            a = np.asarray(x)
            return a if batched else a[None]

        context = batch(context).astype(np.int64)
        n = context.shape[0]
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
        if history.ndim != 3 or history.shape[1:] != (cfg.max_steps, len(HISTORY_COLUMNS)):
            raise ValueError(
                f"observation['history'] has rows {history.shape[1:]}, this planner was built for "
                f"({cfg.max_steps}, {len(HISTORY_COLUMNS)}): use an env with "
                f"max_steps={cfg.max_steps} (of this release: history rows gained the preserve "
                "column)"
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
        encoder = instruction_encoder(cfg)
        tokens = mask = None
        if cfg.tokens:
            tokens, mask = encoder.encode_tokens(texts, cfg.max_tokens)
        batch_ = PlannerBatch(
            images=images,
            text=encoder.encode(texts),
            context=torch.from_numpy(context),
            history=torch.from_numpy(history),
            steps_left=torch.from_numpy(steps_left),
            tokens=tokens,
            token_mask=mask,
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
        from offline_data.safety import atomic_write

        return atomic_write(path, lambda tmp: torch.save(blob, tmp))

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
