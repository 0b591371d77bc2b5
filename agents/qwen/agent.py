"""The Qwen3-VL planner as an agent (the protocol of :mod:`agents.evaluate`).

:class:`QwenAgent` is a :class:`~agents.qwen.prompting.ChatPlanner` whose replies come from
:meth:`QwenPlanner.generate <agents.qwen.model.QwenPlanner.generate>`: greedy by default,
capped at ``max_new_tokens``, batched over the sub-envs that need a reply (``batch_size`` at a
time). Closed loop (``mode="step"``: one call per observed image) or open loop
(``mode="plan"``: one plan per episode, fed call by call). Malformed generations become invalid
calls that the env reports.

Example:
    >>> from agents.evaluate import evaluate  # doctest: +SKIP
    >>> agent = QwenAgent.from_pretrained("runs/image-styling_simple-v0/s-qwen3vl-seed0/adapter")
    >>> evaluate(agent, "simple", n_tasks=200).summary()["overall"]  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from styling_env.engine import Invalid
from styling_env.validation import positive_int

from .model import MAX_NEW_TOKENS, PLANNER_FILE, QwenConfig, QwenPlanner
from .prompting import ChatPlanner, Prompt


class QwenAgent(ChatPlanner):
    """A Qwen3-VL planner that follows the agent protocol.

    Args:
        planner: the model (with or without a LoRA adapter) and its processor.
        mode: ``"step"`` or ``"plan"``; default the planner's ``config.mode``.
        vision: image in the prompt; default the planner's ``config.vision``.
        deterministic: greedy decoding by default (``False``: sampling).
        max_new_tokens: generation cap; default ``config.new_tokens``.
        temperature, top_p: sampling settings (``deterministic=False`` only).
        batch_size: prompts per ``generate`` call.
        seed: seeds sampling.
    """

    def __init__(
        self,
        planner: QwenPlanner,
        *,
        mode: str | None = None,
        vision: bool | None = None,
        deterministic: bool = True,
        max_new_tokens: int | None = None,
        temperature: float = 0.7,
        top_p: float = 0.9,
        batch_size: int = 64,
        seed: int = 0,
        name: str | None = None,
    ) -> None:
        if not isinstance(planner, QwenPlanner):
            raise TypeError(f"planner must be a QwenPlanner, got {type(planner).__name__}")
        super().__init__(
            mode or planner.config.mode,
            vision=planner.config.vision if vision is None else vision,
            deterministic=deterministic,
            library=planner.config.library,
        )
        positive_int("batch_size", batch_size)
        self.planner = planner.eval()
        self.max_new_tokens = (
            max_new_tokens or planner.config.max_new_tokens or MAX_NEW_TOKENS[self.mode]
        )
        self.temperature = float(temperature)
        self.top_p = float(top_p)
        self.batch_size = batch_size
        self.seed = int(seed)
        self._draws = 0
        method = planner.meta.get("method", "base")
        self.name = name or f"qwen3vl-{method}-{self.mode}{'' if self.vision else '-text'}"

    @classmethod
    def from_pretrained(
        cls, spec: str | os.PathLike[str], *, device: Any = "cpu", config: QwenConfig | None = None, **kwargs: Any
    ) -> QwenAgent:  # fmt: skip
        """A saved planner directory (``planner.json`` + adapter), or — the untrained zero-shot
        planner — a model spec (``tiny``, a checkpoint directory, a hub id) with ``config``'s
        mode and vision."""
        if (Path(spec) / PLANNER_FILE).is_file():
            runtime = {"bf16": config.bf16} if config is not None else {}
            return cls(QwenPlanner.load(spec, device=device, **runtime), **kwargs)
        base = QwenConfig(**{**(config.to_dict() if config else {}), "model": str(spec)})
        return cls(QwenPlanner.create(base, device=device, lora=False), **kwargs)

    def complete(self, prompts: Sequence[Prompt], deterministic: bool) -> list[str | Invalid]:
        out: list[str | Invalid] = []
        for k in range(0, len(prompts), self.batch_size):
            chunk = prompts[k : k + self.batch_size]
            if deterministic:
                out += self.planner.generate(chunk, max_new_tokens=self.max_new_tokens)
                continue
            self._draws += 1
            with torch.random.fork_rng(devices=_cuda_devices(self.planner)):
                torch.manual_seed(self.seed * 1_000_003 + self._draws)
                out += self.planner.generate(
                    chunk,
                    deterministic=False,
                    max_new_tokens=self.max_new_tokens,
                    temperature=self.temperature,
                    top_p=self.top_p,
                )
        return out


def _cuda_devices(planner: QwenPlanner) -> list[int]:
    dev = planner.device
    return [dev.index or 0] if getattr(dev, "type", "cpu") == "cuda" else []


__all__ = ["QwenAgent"]
