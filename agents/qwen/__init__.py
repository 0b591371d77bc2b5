"""Qwen3-VL planners: ``Qwen3VLForConditionalGeneration`` + processor, LoRA through
peft, the paper's five offline methods at token level, closed- or open-loop acting.

- :mod:`agents.qwen.model` — :class:`QwenConfig`, :class:`QwenPlanner` (load any checkpoint,
  LoRA, encode, generate, save / load / merge adapters), the token-level losses.
- :mod:`agents.qwen.train` — :func:`train`: S, RL, RW, SW, DPO through ``accelerate``.
- :mod:`agents.qwen.agent` — :class:`QwenAgent`: the agent protocol (``predict``).
- :mod:`agents.qwen.prompting` — prompts from observations and the closed-/open-loop logic
  shared with the chat-endpoint planner (:mod:`agents.endpoint`).
- :mod:`agents.qwen.tiny` — :func:`build_tiny`: a tiny random Qwen3-VL built in code (tests,
  CPU smoke runs; nothing is downloaded).
- ``python -m agents.qwen {evaluate,merge}`` — evaluate a saved planner; merge its adapter.

Names are imported on first use: ``import agents.qwen`` does not import transformers or peft.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "QwenConfig": "model",
    "QwenPlanner": "model",
    "SequenceScorer": "model",
    "load_model": "model",
    "weighted_batch_loss": "model",
    "dpo_batch_loss": "model",
    "train": "train",
    "QwenTrainResult": "train",
    "QwenAgent": "agent",
    "ChatPlanner": "prompting",
    "Prompt": "prompting",
    "build_tiny": "tiny",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = sorted(_EXPORTS)
