"""Instruction text -> frozen embeddings: MiniLM (sentence vector or token states), hashed
words, or both (cached per text)."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .config import ENCODERS, MINILM_DIM, MINILM_MAX_TOKENS, PlannerConfig, encoder_dim

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
    is encoded once per machine. A vector's last bits (~1e-7) depend on the texts it was first
    batched with, so a run is reproducible given the cache's contents, not across caches (the
    demo's RW: 71.3 with a long-lived cache, 69.9 with an empty one).
    ``"hash"``: :class:`styling_env.wrappers.HashingEncoder` (``hash_dim``-d bag of words and
    word pairs; cheap, memory cache only).
    ``"minilm+hash"``: both, concatenated (the sentence's meaning and its exact words).

    ``"minilm-tokens"`` (``+hash``): MiniLM's token states (the output of its transformer,
    one 384-d vector per word piece, [CLS] and [SEP] included, up to MiniLM's 256), cached as
    float16 under ``cache_dir()/text/all-minilm-l6-v2-tokens/``; :meth:`encode` gives their
    mean, unit-normed (all-MiniLM-L6-v2's own pooling: the sentence vector, to float16
    rounding) and :meth:`encode_tokens` the states themselves, padded, with a mask.

    ``"lex+..."``: first the per-value clause evidence of :mod:`agents.embedded.lexicon`
    (whether the request names each value and with which strength cues; each clause's and
    word's MiniLM vector through the same caches).
    """

    def __init__(self, name: str = "minilm", hash_dim: int = 256) -> None:
        if name not in ENCODERS:
            raise ValueError(f"encoder must be one of {', '.join(ENCODERS)}, got {name!r}")
        self.name = name
        self.parts = tuple(name.split("+"))
        self.hash_dim = int(hash_dim)
        self.dim = encoder_dim(name, self.hash_dim)
        self._evidence: Any = None  # the lex part's LexiconEvidence, built on first use
        self._memory: dict[str, np.ndarray] = {}
        self._tokens: dict[str, np.ndarray] = {}  # text -> (L, 384) float16 token states
        #: word pieces -> sentence vector, for texts MiniLM reads the same (see :meth:`_minilm`);
        #: filled only by texts missing from the disk cache (a fresh machine's first run on the
        #: Complex tier writes 70,000 texts to the cache: at most as many vectors, ~110 MB)
        self._by_pieces: dict[bytes, np.ndarray] = {}
        self.encoded = 0  # texts run through MiniLM (found in no cache)

    def _disk(self, text: str) -> Path:
        sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
        return cache_dir() / "text" / "all-minilm-l6-v2" / sha[:2] / f"{sha}.npy"

    def _minilm(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), MINILM_DIM), np.float32)
        todo = []
        for i, t in enumerate(texts):
            try:
                vec = _read_vector(self._disk(t))
                if vec.shape == (MINILM_DIM,):
                    out[i] = vec
                    continue
            except (OSError, ValueError):
                pass
            todo.append(i)
        if todo:
            # all-MiniLM-L6-v2 lowercases and splits into word pieces before it reads a text, so
            # texts that differ in case or spacing only (the lexicon's lowercased request and the
            # request itself) are one input: each distinct input is run through MiniLM once
            model = _minilm()
            keys = model.pieces([texts[i] for i in todo])
            first: dict[bytes, int] = {}  # each new input's first text
            for i, k in zip(todo, keys, strict=True):
                if k not in self._by_pieces:
                    first.setdefault(k, i)
            if first:
                vecs = model.encode([texts[i] for i in first.values()])
                self.encoded += len(first)
                self._by_pieces.update(zip(first, vecs, strict=True))
            for i, k in zip(todo, keys, strict=True):
                out[i] = self._by_pieces[k]
                self._store(texts[i], out[i])
        return out

    def _token_disk(self, text: str) -> Path:
        sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
        return cache_dir() / "text" / "all-minilm-l6-v2-tokens" / sha[:2] / f"{sha}.npy"

    def _token_states(self, texts: list[str]) -> list[np.ndarray]:
        """Each text's ``(L, 384)`` float16 token states: memory, then disk, then MiniLM."""
        todo = []
        for t in dict.fromkeys(texts):
            if t in self._tokens:
                continue
            try:
                states = np.load(self._token_disk(t))
                if (
                    states.dtype == np.float16
                    and states.ndim == 2
                    and states.shape[1] == MINILM_DIM
                    and 1 <= states.shape[0] <= MINILM_MAX_TOKENS
                ):
                    self._tokens[t] = states
                    continue
            except (OSError, ValueError):
                pass
            todo.append(t)
        if todo:
            model = _minilm()
            model._check_vocabulary(todo)
            out = model.model.encode(todo, output_value="token_embeddings", convert_to_numpy=False)
            self.encoded += len(todo)
            for t, states in zip(todo, out, strict=True):
                half = states.detach().cpu().numpy().astype(np.float16)
                self._tokens[t] = half
                self._write(self._token_disk(t), half)
        return [self._tokens[t] for t in texts]

    def encode_tokens(
        self, texts: Sequence[str], max_tokens: int = 64
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """MiniLM token states of ``texts``: ``(n, T, 384)`` float16 and a ``(n, T)`` bool mask
        of the real tokens, ``T`` = the longest text's tokens, at most ``max_tokens`` (each text
        keeps its first ``max_tokens`` word pieces). Needs a token encoder."""
        if "minilm-tokens" not in self.parts:
            raise ValueError(f"encoder {self.name!r} has no token states: use a token encoder")
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
            raise ValueError(f"max_tokens must be an int >= 1, got {max_tokens!r}")
        texts = [str(t) for t in texts]
        states = self._token_states(texts)
        width = min(max_tokens, max((len(s) for s in states), default=1))
        out = np.zeros((len(texts), width, MINILM_DIM), np.float16)
        mask = np.zeros((len(texts), width), bool)
        for i, s in enumerate(states):
            n = min(width, len(s))
            out[i, :n] = s[:n]
            mask[i, :n] = True
        return torch.from_numpy(out), torch.from_numpy(mask)

    def _sentence_from_tokens(self, texts: list[str]) -> np.ndarray:
        """The unit-normed mean of each text's (float16) token states: MiniLM's sentence vector."""
        out = np.zeros((len(texts), MINILM_DIM), np.float32)
        for i, s in enumerate(self._token_states(texts)):
            mean = s.astype(np.float32).mean(axis=0)
            out[i] = mean / max(float(np.linalg.norm(mean)), 1e-12)
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
                elif p == "minilm-tokens":
                    parts.append(self._sentence_from_tokens(missing))
                elif p == "lex":
                    if self._evidence is None:
                        from .lexicon import LexiconEvidence

                        self._evidence = LexiconEvidence(self._minilm)
                    parts.append(self._evidence.encode(missing))
                else:
                    from styling_env.wrappers import HashingEncoder

                    parts.append(HashingEncoder(self.hash_dim).encode(missing))
            for t, v in zip(missing, np.concatenate(parts, axis=1), strict=True):
                self._memory[t] = v
        if not texts:
            return torch.zeros(0, self.dim)
        return torch.from_numpy(np.stack([self._memory[t] for t in texts]))

    def _store(self, text: str, vec: np.ndarray) -> None:
        self._write(self._disk(text), vec)

    @staticmethod
    def _write(path: Path, array: np.ndarray) -> None:
        from offline_data.safety import atomic_write

        def save(tmp: Path) -> None:
            with open(tmp, "wb") as f:  # a file object: np.save would add ".npy" to a name
                np.save(f, array)

        # whole or not at all: parallel trainers never read half a file; a read-only cache
        # only costs speed
        with contextlib.suppress(OSError):
            atomic_write(path, save)


def _npy_header(shape: tuple[int, ...], dtype: Any) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.zeros(shape, dtype))
    return buf.getvalue()[: -int(np.prod(shape)) * np.dtype(dtype).itemsize]


#: The bytes before the data of the cache's vector files, as ``np.save`` writes them.
_VECTOR_HEADER = _npy_header((MINILM_DIM,), np.float32)


def _read_vector(path: Path) -> np.ndarray:
    """A cached sentence vector: read directly where the file is what ``np.save`` writes for a
    ``(384,)`` float32 array (parsing ``.npy`` headers took most of the time of reading tens of
    thousands of cached vectors), else through ``np.load``."""
    data = path.read_bytes()
    n = len(_VECTOR_HEADER)
    if len(data) == n + MINILM_DIM * 4 and data.startswith(_VECTOR_HEADER):
        return np.frombuffer(data, np.float32, offset=n).copy()
    return np.load(io.BytesIO(data))


_ENCODERS: dict[tuple[str, int], InstructionEncoder] = {}


def instruction_encoder(config: PlannerConfig) -> InstructionEncoder:
    """The process-wide encoder of ``config`` (one memory cache per encoder)."""
    key = (config.encoder, config.hash_dim)
    if key not in _ENCODERS:
        _ENCODERS[key] = InstructionEncoder(config.encoder, config.hash_dim)
    return _ENCODERS[key]
