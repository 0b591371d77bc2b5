"""The call-level critics driving the Qwen3-VL planner: per-call weights for its LoRA trainer.

The critic is fitted exactly as for the embedded planner (:func:`.method.critic_stage`: over
the planner's observation encoder, on the dataset's per-step rewards) and scores every dataset
call; each call's advantage becomes a weight (IQL and CQL: ``min(exp(weight_temp A),
max_weight)``; AWAC: ``N softmax(A / lam)`` over the dataset's ``N`` calls, its batch formula
applied to the whole dataset since a chat sample's weight is fixed before batching). The chat
samples (:func:`offline_data.loaders.to_chat_samples`, ``step`` mode: one sample per call) take
those weights, and :func:`agents.qwen.train.train` trains on them exactly as it trains RW: the
assistant reply of a call carries that call's weight, a batch's loss is
``sum(l_i w_i) / sum(|w_i|)`` over the replies' mean token NLL ``l_i``.

Registered as ``iql-qwen3vl``, ``cql-planner-qwen3vl``, ``awac-qwen3vl`` (and ``-qwen3vl-text``):
``python -m agents.train --method iql --policy qwen3vl --model Qwen/Qwen3-VL-4B-Instruct ...``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from agents.config import Config
from agents.embedded.config import PlannerConfig
from agents.registry import Trained, TrainJob

from .config import UnsupportedPolicyError
from .losses import awac_weights, iql_weights
from .training import ALGORITHMS

__all__ = ["CallLevelQwenConfig", "call_weights", "load", "train", "weighted_samples"]


def _qwen_types() -> tuple[type, type]:
    from agents.qwen.model import QwenConfig
    from agents.qwen.train import QwenTrainConfig

    return QwenConfig, QwenTrainConfig


# the Qwen configs live in agents.qwen (transformers, peft): imported only when a Qwen method is
# configured; __post_init__ turns their dicts (from_dict) into configs


def _qwen_config() -> Any:
    return _qwen_types()[0]()


def _qwen_training() -> Any:
    return _qwen_types()[1]()


@dataclass(frozen=True)
class CallLevelQwenConfig(Config):
    """A call-level critic's per-call weights on a Qwen3-VL LoRA adapter."""

    algorithm: str = "iql"
    """The critic and its weights: ``iql``, ``cql`` or ``awac``."""
    model: Any = field(default_factory=_qwen_config)
    """:class:`agents.qwen.model.QwenConfig` (``mode`` must be ``"step"``: weights are per call)."""
    training: Any = field(default_factory=_qwen_training)
    """:class:`agents.qwen.train.QwenTrainConfig`; the learning rate defaults to RW's."""
    critic_steps: int | None = None
    """Critic updates (default: the algorithm's ``critic_epochs`` passes)."""
    critic: str | None = None
    """A saved ``critic.pt`` of the same dataset to reuse."""
    planner: PlannerConfig = field(default_factory=PlannerConfig)
    """The critic's observation encoder (the embedded planner's inputs)."""
    critic_images: bool = False
    """The critic reads the pixels too (see :attr:`~.config.CallLevelConfig.critic_images`)."""

    def __post_init__(self) -> None:
        QwenConfig, QwenTrainConfig = _qwen_types()
        if self.algorithm not in ALGORITHMS:
            raise ValueError(
                f"algorithm must be one of {', '.join(ALGORITHMS)}, got {self.algorithm!r}"
            )
        if isinstance(self.model, dict):
            object.__setattr__(self, "model", QwenConfig.from_dict(self.model))
        if isinstance(self.training, dict):
            object.__setattr__(self, "training", QwenTrainConfig.from_dict(self.training))
        if not isinstance(self.model, QwenConfig) or not isinstance(self.training, QwenTrainConfig):
            raise ValueError("model and training must be a QwenConfig and a QwenTrainConfig")
        if self.model.mode != "step":
            raise UnsupportedPolicyError(
                f"per-call weights need the Qwen3-VL planner in step mode (one reply per call), "
                f"not mode={self.model.mode!r}: a plan-mode reply holds every call of an episode"
            )
        if not isinstance(self.planner, PlannerConfig):
            raise ValueError(f"planner must be a PlannerConfig, got {type(self.planner).__name__}")
        self.critic_config()  # the critic's settings are valid too

    def critic_config(self) -> Any:
        """The algorithm's config (:class:`~.iql.IQLConfig`, ...) for the critic stage."""
        mod = ALGORITHMS[self.algorithm]
        cls = next(getattr(mod, n) for n in mod.__all__ if n.endswith("Config"))
        return cls(
            planner=self.planner, critic_steps=self.critic_steps, critic=self.critic,
            critic_images=self.critic_images,
        )  # fmt: skip

    def with_steps(self, steps: int) -> CallLevelQwenConfig:
        return self.replace(critic_steps=steps, training=self.training.replace(steps=steps))


def call_weights(adv: torch.Tensor, config: Any) -> torch.Tensor:
    """Per-call weights ``(N,)`` of advantages ``(N,)`` under an algorithm's config (module
    docstring)."""
    if hasattr(config, "lam"):  # AWAC: its batch softmax over the whole dataset
        return awac_weights(adv, config.lam)
    return iql_weights(adv, config.weight_temp, config.max_weight)


def weighted_samples(data: Any, episode: torch.Tensor, step: torch.Tensor, weights: torch.Tensor, *, vision: bool) -> list[Any]:  # fmt: skip
    """``step``-mode chat samples of ``data``, each with the weight of its call: ``weights[i]``
    belongs to episode ``episode[i]``, step ``step[i]``."""
    from offline_data.loaders import to_chat_samples

    samples = to_chat_samples(data, method="s", mode="step", include_image=vision)
    lookup = {(int(e), int(t)): float(w) for e, t, w in zip(episode.tolist(), step.tolist(), weights.tolist(), strict=True)}  # fmt: skip
    missing = [(s.episode, s.step) for s in samples if (s.episode, s.step) not in lookup]
    if missing or len(samples) != len(lookup):
        raise ValueError(
            f"the critic's {len(lookup)} scored calls do not match the dataset's {len(samples)} "
            f"chat samples (first unmatched: {missing[:3]})"
        )
    for s in samples:
        s.weight = lookup[(s.episode, s.step)]
    return samples


def train(job: TrainJob) -> Trained:
    """Fit (or load) the critic, weight every call, train the LoRA adapter as RW trains it."""
    from agents.qwen.train import train as train_adapter

    from .method import critic_stage

    config: CallLevelQwenConfig = job.config
    if not isinstance(config, CallLevelQwenConfig):
        raise TypeError(
            f"{job.method.key!r} needs a CallLevelQwenConfig, got {type(config).__name__}"
        )
    cc = config.critic_config()
    d, adv, info = critic_stage(job, cc)
    w = call_weights(adv, cc)
    model = config.model.replace(seed=job.seed)
    samples = weighted_samples(job.records(), d.rows.episode, d.rows.step, w, vision=model.vision)
    res = train_adapter(
        samples, method="rw", config=model, training=config.training, seed=job.seed,
        progress=job.progress, log_path=job.log_path, out=job.checkpoint,
    )  # fmt: skip
    info.update({
        "checkpoint": str(res.adapter), "model": model.model, "seconds": round(res.seconds + info.get("critic_seconds", 0.0), 1),
        "steps": res.steps, "samples": res.samples, "samples_per_s": round(res.samples_per_s, 2),
        "peak_memory_mb": res.peak_memory_mb, "parameters": res.planner.n_parameters(),
        "weight_mean": round(float(w.mean()), 4), "weight_max": round(float(w.max()), 4),
    })  # fmt: skip
    return Trained(res.agent(max_new_tokens=model.max_new_tokens), info)


def load(path: Path, *, trust: bool = False) -> Any:
    """A saved Qwen3-VL planner directory."""
    from agents.qwen.method import load as load_qwen

    return load_qwen(path, trust=trust)
