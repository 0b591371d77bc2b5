"""The Qwen3-VL planner's entries in the method registry (:mod:`agents.registry`).

:class:`QwenMethodConfig` holds one run of S, RL, RW, SW or DPO on a Qwen3-VL LoRA adapter:
the objective, the model and adapter settings (:class:`~agents.qwen.model.QwenConfig`) and the
optimization (:class:`~agents.qwen.train.QwenTrainConfig`); both are saved in the planner's
``planner.json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.config import Config
from agents.registry import Trained, TrainJob
from offline_data.weights import METHODS as OBJECTIVES
from styling_env.validation import choice

from .model import QwenConfig
from .train import QwenTrainConfig


@dataclass(frozen=True)
class QwenMethodConfig(Config):
    """A run of one of the paper's five methods on a Qwen3-VL planner."""

    objective: str = "s"
    model: QwenConfig = field(default_factory=QwenConfig)
    training: QwenTrainConfig = field(default_factory=QwenTrainConfig)
    groups: str | None = None
    """SW's standardization groups: ``None`` or ``"task_id"``."""

    def __post_init__(self) -> None:
        choice("objective", self.objective, OBJECTIVES)
        if self.groups is not None:
            choice("groups", self.groups, ("task_id",))

    def with_steps(self, steps: int) -> QwenMethodConfig:
        return self.replace(training=self.training.replace(steps=steps))


def train(job: TrainJob) -> Trained:
    """Train a LoRA adapter as ``job.config`` says; the planner goes to ``job.checkpoint``."""
    from .train import train as train_adapter

    config: QwenMethodConfig = job.config
    data = job.records()
    model = config.model.replace(seed=job.seed)
    res = train_adapter(
        data, method=config.objective, config=model, training=config.training, seed=job.seed,
        reference=job.reference, groups=config.groups, progress=job.progress,
        log_path=job.log_path, out=job.checkpoint,
    )  # fmt: skip
    info = {
        "checkpoint": str(res.adapter), "model": model.model, "mode": model.mode,
        "seconds": round(res.seconds, 1), "load_seconds": round(res.load_seconds, 1),
        "steps": res.steps, "samples": res.samples, "samples_per_s": round(res.samples_per_s, 2),
        "peak_memory_mb": res.peak_memory_mb, "lr": res.planner.meta.get("lr"),
        "parameters": res.planner.n_parameters(),
        "trainable_parameters": res.planner.n_parameters(trainable=True),
        "final_loss": res.losses[-1] if res.losses else None, **res.info,
    }  # fmt: skip
    return Trained(res.agent(max_new_tokens=model.max_new_tokens), info)


def load(path: Path, *, trust: bool = False) -> Any:
    """A saved Qwen3-VL planner directory (``planner.json`` + the LoRA adapter)."""
    from .agent import QwenAgent

    return QwenAgent.from_pretrained(path)
