"""Instruction text -> frozen embeddings: MiniLM, hashed words, or both (cached per text)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .config import ENCODERS, MINILM_DIM, PlannerConfig

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
