"""The embedded planner's entry in the method registry (:mod:`agents.registry`).

One config, :class:`EmbeddedMethodConfig`, holds everything a run of S, RL, RW, SW or DPO on
the embedded planner depends on: the objective, the architecture (:class:`PlannerConfig`), the
optimization (:class:`TrainConfig`) and SW's standardization groups. It is saved in the
checkpoint (``meta["training"]`` and the planner config) and round-trips through
``to_dict``/``from_dict``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.config import Config
from agents.registry import Trained, TrainJob
from offline_data.weights import METHODS as OBJECTIVES
from styling_env.validation import choice

from .agent import EmbeddedAgent
from .config import PlannerConfig
from .model import EmbeddedPlanner
from .training import TrainConfig, shared_prepared
from .training import train as train_planner

GROUPS = ("task_id",)


@dataclass(frozen=True)
class EmbeddedMethodConfig(Config):
    """A run of one of the paper's five methods on the embedded planner."""

    objective: str = "s"
    """``s``, ``rl``, ``rw``, ``sw`` or ``dpo`` (:mod:`agents.methods`)."""
    planner: PlannerConfig = field(default_factory=PlannerConfig)
    training: TrainConfig = field(default_factory=TrainConfig)
    groups: str | None = None
    """SW's standardization groups: ``None`` (the whole dataset) or ``"task_id"`` (per task)."""

    def __post_init__(self) -> None:
        choice("objective", self.objective, OBJECTIVES)
        if not isinstance(self.planner, PlannerConfig):
            raise ValueError(f"planner must be a PlannerConfig, got {type(self.planner).__name__}")
        if not isinstance(self.training, TrainConfig):
            raise ValueError(f"training must be a TrainConfig, got {type(self.training).__name__}")
        if self.groups is not None:
            choice("groups", self.groups, GROUPS)

    def with_steps(self, steps: int) -> EmbeddedMethodConfig:
        """The same run with a budget of ``steps`` optimizer steps."""
        return self.replace(training=self.training.replace(steps=steps))


def _data(job: TrainJob, config: EmbeddedMethodConfig) -> Any:
    """The training data: the dataset id, or its first ``job.episodes`` episodes; with a shared
    cache, tensors prepared once (with images) and re-weighted by each method."""
    return job.records() if job.cache is None else shared_prepared(job, config.planner)


def train(job: TrainJob) -> Trained:
    """Train the embedded planner as ``job.config`` says; checkpoint ``job.checkpoint``."""
    config: EmbeddedMethodConfig = job.config
    if job.dataset is None:
        raise ValueError(f"method {job.method.key!r} trains on a dataset: pass one")
    reference = None
    planner = config.planner
    if config.objective == "dpo" and job.reference is not None:
        if not Path(job.reference).exists():
            raise FileNotFoundError(
                f"DPO's reference {job.reference} is missing: the "
                f"{job.method.reference or 's'} run must come first"
            )
        reference = EmbeddedPlanner.load(job.reference)
        planner = None  # DPO takes the reference's architecture
    res = train_planner(
        _data(job, config), method=config.objective, config=planner, training=config.training,
        seed=job.seed, reference=reference, groups=config.groups, progress=job.progress,
        log_path=job.log_path, checkpoint=job.checkpoint,
    )  # fmt: skip
    info = {
        "checkpoint": str(res.checkpoint), "seconds": round(res.seconds, 1),
        "load_seconds": round(res.load_seconds, 1), "steps": res.steps, "samples": res.samples,
        "samples_per_s": round(res.samples_per_s, 1), "peak_memory_mb": res.peak_memory_mb,
        "parameters": res.planner.n_parameters(),
        "final_loss": res.losses[-1] if res.losses else None, **res.info,
    }  # fmt: skip
    return Trained(res.agent(), info)


def load(path: Path, *, trust: bool = False) -> EmbeddedAgent:
    """An embedded planner's checkpoint (plain tensors and JSON: ``trust`` is not needed)."""
    return EmbeddedAgent.from_checkpoint(path)
