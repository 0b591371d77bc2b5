"""The embedded planner as an agent: stable-baselines3's ``predict`` over batched observations."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from .config import PlannerConfig
from .model import EmbeddedPlanner

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
        repeat_tools: call a tool the episode has called already (the raw policy); by default
            its probability goes to STOP (:mod:`agents.support`: the data never repeats one).
    """

    def __init__(
        self,
        planner: EmbeddedPlanner,
        deterministic: bool = True,
        *,
        seed: int = 0,
        region_threshold: float = 0.9,
        repeat_tools: bool = False,
    ) -> None:
        if not isinstance(planner, EmbeddedPlanner):
            raise TypeError(f"planner must be an EmbeddedPlanner, got {type(planner).__name__}")
        self.planner = planner.eval()
        self.deterministic = bool(deterministic)
        self.region_threshold = float(region_threshold)
        self.repeat_tools = bool(repeat_tools)
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
    def decoding(self) -> str | None:
        """``"no-repeat-tools"`` where the agent decodes within the data's support
        (:data:`agents.support.DECODING`), None for the raw policy."""
        from agents.support import DECODING, applies

        return None if self.repeat_tools or not applies(self.library) else DECODING

    @property
    def config(self) -> PlannerConfig:
        return self.planner.config

    @property
    def library(self) -> str:
        """The action library whose native actions the planner emits (``styling_env.libraries``):
        an environment of another library is refused (:func:`agents.evaluate.run_episodes`)."""
        return self.planner.config.action_library

    def predict(
        self,
        observation: Mapping[str, Any],
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool | None = None,
    ) -> tuple[dict[str, np.ndarray], Any]:
        """Observations -> (native actions, ``state`` unchanged). Batched observations give
        ``tool``, ``value``, ``region`` ``(N,)`` int64, ``strength`` ``(N, 1)`` float32 and
        ``preserve`` ``(N, 6)`` int8 bits; one env's observation gives scalars, ``(1,)`` and
        ``(6,)``. ``deterministic=None`` uses the agent's."""
        det = self.deterministic if deterministic is None else bool(deterministic)
        batch, batched = self.planner.observation_batch(observation)
        device = next(self.planner.parameters()).device
        out = self.planner.act(
            batch.to(device),
            deterministic=det,
            generator=self.generator,
            region_threshold=self.region_threshold,
            repeat_tools=self.repeat_tools,
        )
        acts = {
            "tool": out["tool"].cpu().numpy().astype(np.int64),
            "value": out["value"].cpu().numpy().astype(np.int64),
            "strength": out["strength"].cpu().numpy().astype(np.float32),
            "region": out["region"].cpu().numpy().astype(np.int64),
            "preserve": out["preserve"].cpu().numpy().astype(np.int8),
        }
        if not batched:
            acts = {k: (v[0] if k != "strength" else v[0].reshape(1)) for k, v in acts.items()}
        return acts, state
