"""The embedded planner's architecture (:class:`PlannerConfig`) and the constants its
checkpoints and heads share."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from agents.config import Config
from styling_env.actions import STOP, VALUE_OFFSETS, VOCAB_SIZES
from styling_env.tools.library_tables import DEFAULT_LIBRARY, check_library, row_tables
from styling_env.validation import positive_float, positive_int

#: The checkpoint's format name and version (:meth:`EmbeddedPlanner.save`).
CHECKPOINT_FORMAT = "image-styling/embedded-planner"
CHECKPOINT_VERSION = 2  # 2: history rows of 5 columns, the preserve head
#: Tool index of STOP in the native action of the default library (``v2``; another library's
#: planner reads its own from :func:`head_tables`).
STOP_TOOL = STOP  # the native action's STOP tool index (styling_env.actions)
N_TOOLS = STOP_TOOL + 1
ENCODERS = (
    "minilm", "hash", "minilm+hash", "minilm-tokens", "minilm-tokens+hash", "lex+minilm",
    "lex+minilm+hash", "lex+minilm-tokens+hash",
)  # fmt: skip
#: The encoders that read MiniLM's token states (attention pooling per head).
TOKEN_ENCODERS = ("minilm-tokens", "minilm-tokens+hash", "lex+minilm-tokens+hash")
MINILM_DIM = 384
#: Values scored by the ``lex`` part (:mod:`agents.embedded.lexicon`): every value of the ten
#: tools (the ``v2`` library's rows).
LEX_DIM = 171
#: Strength levels the ``lex`` part reads per value (subtle, moderate, strong, full).
LEX_LEVELS = 4
#: Width of the ``lex`` part: per value whether the request names it, then its level cues.
LEX_WIDTH = LEX_DIM * (1 + LEX_LEVELS)
#: MiniLM's own limit on the tokens of one text (word pieces, with [CLS] and [SEP]).
MINILM_MAX_TOKENS = 256
LOG_STD_MIN, LOG_STD_MAX = math.log(0.02), math.log(0.5)
#: Greedy strengths are clipped to this range (a call at strength ~0 is a wasted step).
STRENGTH_RANGE = (0.05, 1.0)


def encoder_dim(encoder: str, hash_dim: int) -> int:
    """Width of the instruction vector of ``encoder`` (one of :data:`ENCODERS`): its parts'
    widths summed (``hash``: ``hash_dim``; ``lex``: :data:`LEX_WIDTH`; MiniLM: 384)."""
    dims = {"hash": hash_dim, "lex": LEX_WIDTH}
    return sum(dims.get(p, MINILM_DIM) for p in encoder.split("+"))


#: Fields added after the first checkpoints, with the behaviour those checkpoints had
#: (:meth:`PlannerConfig.from_dict` fills them in when a saved config lacks them).
LEGACY_FIELDS: dict[str, Any] = {"film": False, "pixel_stats": False, "hash_dropout": 0.0}

_VOCAB = list(VOCAB_SIZES)
_OFFSETS = np.asarray(VALUE_OFFSETS, np.int64)


@dataclass(frozen=True)
class HeadTables:
    """The sizes the planner's heads take from its action library.

    Attributes:
        library: the library's name.
        stop: the native ``tool`` index of STOP (the number of actions).
        vocab: values per action, in native ``tool`` order.
        offsets: row of each action's first value in the flat ``(action, value)`` rows.
        n_rows: the ``(action, value)`` rows (``Library.rows``): the value head's logits.
        max_values: the largest vocabulary (the native ``value`` Discrete).
    """

    library: str
    stop: int
    vocab: tuple[int, ...]
    offsets: np.ndarray
    n_rows: int
    max_values: int

    @property
    def n_tools(self) -> int:
        """Tool logits: one per action and STOP."""
        return self.stop + 1


def head_tables(library: str | None = None) -> HeadTables:
    """The :class:`HeadTables` of ``library`` (None: the default ``v2``: 10 tools + STOP, 171
    rows, exactly the tables of every checkpoint before the other libraries)."""
    name = check_library(library or DEFAULT_LIBRARY)
    t = row_tables(name)
    vocab = tuple(int(n) for n in t["vocab"])
    return HeadTables(
        name, len(vocab), vocab, np.array(t["offsets"], np.int64), int(sum(vocab)), max(vocab)
    )


class CheckpointError(ValueError):
    """A file that is not a usable embedded-planner checkpoint; the message says why."""


# --------------------------------------------------------------------------------------------
# Configuration


@dataclass(frozen=True)
class PlannerConfig(Config):
    """Architecture of :class:`EmbeddedPlanner` (saved in its checkpoints)."""

    image_size: int = 64
    """Work resolution: images are resized to ``image_size`` px once, at load or predict."""
    text_only: bool = False
    """No CNN and no images: the paper's text-only variant."""
    encoder: str = "lex+minilm+hash"
    """Instruction encoder: ``"minilm"`` (all-MiniLM-L6-v2's sentence vector, 384-d),
    ``"hash"`` (hashed words and word pairs), ``"minilm+hash"`` (both, concatenated), or
    ``"minilm-tokens"`` / ``"minilm-tokens+hash"``: MiniLM's token states, read by each head
    through its own attention query (:mod:`agents.embedded.attention`), with the sentence
    vector (their mean) in the trunk and, with ``+hash``, the hashed words too.
    ``"lex+..."`` (the default: ``"lex+minilm+hash"``): first, per value of the ten tools, how
    closely one of the request's clauses matches one of the value's phrases by meaning and
    the strength cues of its clauses (:mod:`agents.embedded.lexicon`), read by the trunk, by
    direct paths to the value and tool logits and by the strength head (in the ``normal`` and
    ``v3`` libraries, their actions' values that are not the ten tools' count as not named).
    Measured (RW, the 10,000-episode tiers, seed 0, against ``"minilm+hash"``): held-out
    templates 73.6 -> 77.2 / 73.1 -> 89.9 / 54.4 -> 69.8 normalized on Simple / Regular /
    Complex, free text 52.1 -> 59.0 / 50.6 -> 56.1 / 16.1 -> 26.8."""
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
    hash_dropout: float = 0.0
    """In training, the share of rows whose hashed words are zeroed (in the trunk and the wide
    path): the planner must also answer from the sentence vector and the ``lex`` evidence,
    which carry people's words where the exact words of the training language are missing."""
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
    max_tokens: int = 128
    """Token encoders: the instruction's first ``max_tokens`` MiniLM word pieces (with [CLS]);
    the sentence vector still averages all of them. Complex requests run 38-120 word pieces
    (median 78: 1,000 generated episodes), and their conditional clause often comes last."""
    attention_heads: int = 4
    """Token encoders: attention heads of each head's query."""
    key_dim: int = 32
    """Token encoders: width of each attention head's keys and queries."""
    attention_dim: int = 128
    """Token encoders: width of the pooled tokens a head reads."""
    film: bool = False
    """Condition the tool, value and strength/region heads' inputs on the image: a FiLM scale
    and shift from the measures the conditional clauses are defined on (luma, warmth, chroma,
    the top fifth's luma and coolness, dark and bright shares; current and source image) and
    the Stage-1 context (text-only: the context alone)."""
    film_dim: int = 64
    """Width of the FiLM condition (an MLP over the image measures and context embeddings)."""
    pixel_stats: bool = False
    """Feed the trunk the 117 Stage-1 pixel statistics of the current image and of the source
    (:mod:`agents.embedded.pixels`: luma and chroma statistics, histograms, percentiles, colour
    layout, edges, casts), standardized with the training rows' moments, beside the CNN: the
    headroom a strength depends on and the measures a conditional clause is decided on are
    global statistics a small CNN must otherwise discover. Needs images (not ``text_only``)."""
    pixel_dim: int = 64
    """Width of the pixel statistics' embedding (one linear layer and ReLU)."""
    library: str | None = None
    """The action library whose native actions the planner reads and emits (``"v2"``,
    ``"normal"``, ``"v3"``: :mod:`styling_env.libraries`): the tool head has one logit per
    action and STOP, the value head one per ``(action, value)`` row, the history embeddings its
    rows. ``None`` is ``v2`` (as every checkpoint before the other libraries), and in
    :func:`~agents.embedded.training.train` the training data's library: trained on a dataset
    of another library, the planner's config names it. Saved in every checkpoint: a planner
    refuses an environment of another library."""

    def __post_init__(self) -> None:
        ints = [f.name for f in fields(self) if f.type in ("int", int)]
        for name in ints:
            positive_int(f"PlannerConfig.{name}", getattr(self, name))
        if self.encoder not in ENCODERS:
            raise ValueError(
                f"PlannerConfig.encoder must be one of {', '.join(ENCODERS)}, got {self.encoder!r}"
            )
        if not isinstance(self.wide, bool):
            raise ValueError(f"PlannerConfig.wide must be a bool, got {self.wide!r}")
        for name in ("text_only", "film", "pixel_stats", "wide_tool"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(
                    f"PlannerConfig.{name} must be a bool, got {getattr(self, name)!r}"
                )
        if self.pixel_stats and self.text_only:
            raise ValueError(
                "PlannerConfig.pixel_stats reads the images' pixels: a text_only planner has none"
            )
        if self.max_tokens < 2 or self.max_tokens > MINILM_MAX_TOKENS:
            raise ValueError(
                f"PlannerConfig.max_tokens must be in [2, {MINILM_MAX_TOKENS}] (MiniLM's limit), "
                f"got {self.max_tokens}"
            )
        positive_float("PlannerConfig.wide_scale", self.wide_scale)
        try:
            chans = tuple(self.channels)
        except TypeError:
            chans = ()
        if not chans or any(isinstance(c, bool) or not isinstance(c, int) or c < 1 for c in chans):
            raise ValueError(f"PlannerConfig.channels must be positive ints, got {self.channels!r}")
        object.__setattr__(self, "channels", chans)
        least = self.stem * 2 ** (len(chans) - 1)
        if self.image_size < least:
            raise ValueError(
                f"PlannerConfig.image_size={self.image_size} is too small for a stride-{self.stem} "
                f"stem and {len(chans) - 1} stride-2 convolutions (need >= {least})"
            )
        for name in ("dropout", "hash_dropout"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0.0 <= v < 1.0:
                raise ValueError(f"PlannerConfig.{name} must be in [0, 1), got {v!r}")
        if self.hash_dropout and not self.hashed:
            raise ValueError(
                f"PlannerConfig.hash_dropout drops hashed words; encoder {self.encoder!r} has none"
            )
        if self.library is not None:
            try:
                check_library(self.library)
            except ValueError as e:
                raise ValueError(f"PlannerConfig.library: {e}") from None

    @property
    def action_library(self) -> str:
        """The library of the heads (``library``, or ``v2`` when not yet resolved)."""
        return self.library or DEFAULT_LIBRARY

    @property
    def text_in(self) -> int:
        """Dimension of the instruction embedding (the sentence vector ++ hashed words)."""
        return encoder_dim(self.encoder, self.hash_dim)

    @property
    def hashed(self) -> bool:
        """Whether the instruction vector ends with the ``hash_dim`` hashed words (a ``hash``
        encoder)."""
        return "hash" in self.encoder.split("+")

    @property
    def lex(self) -> bool:
        """Whether the instruction vector starts with the per-value clause evidence."""
        return self.encoder.startswith("lex+")

    @property
    def tokens(self) -> bool:
        """Whether the planner reads MiniLM's token states (a token encoder)."""
        return self.encoder in TOKEN_ENCODERS

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["channels"] = list(self.channels)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PlannerConfig:
        """Inverse of :meth:`to_dict`; ``ValueError`` on unknown keys. A field that a config
        of an older version lacks takes the value that version had (:data:`LEGACY_FIELDS`),
        not today's default: an old checkpoint builds the network it was trained as."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"unknown PlannerConfig fields {unknown}; known: {sorted(names)}")
        kw = {**LEGACY_FIELDS, **d}
        if "channels" in kw:
            kw["channels"] = tuple(kw["channels"])
        return cls(**kw)
