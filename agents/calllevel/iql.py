"""IQL on the embedded planner: expectile ``V(s)``, call-level ``Q(s, a)``, advantage-weighted
extraction (Kostrikov et al., 2021; d3rlpy's ``IQL``, ``algos/qlearning/torch/iql_impl.py``).

.. math::

    L_Q = \\sum_i \\mathbb{E}_{(s, a, r, s') \\sim D}\\big[(r + \\gamma (1 - d) V(s') - Q_i(s, a))^2\\big]

    L_V = \\mathbb{E}_{(s, a) \\sim D}\\big[L_2^{\\tau}(\\min_i \\bar Q_i(s, a) - V(s))\\big],
        \\quad L_2^{\\tau}(u) = |\\tau - 1(u < 0)|\\, u^2

    L_\\pi = -\\mathbb{E}_{(s, a) \\sim D}\\big[\\min(\\exp(\\beta (\\min_i \\bar Q_i(s, a) - V(s))), w_{max})
        \\log \\pi(a | s)\\big]

As in d3rlpy: the target of ``Q`` is the online ``V(s')``; ``V`` regresses onto the target
critics' minimum; the weights use the target critics and the online ``V``.

Adapted for the hybrid call (see :mod:`.critic`): ``Q`` is the critic's split discrete +
continuous Q, and ``log pi(a | s)`` is the embedded planner's factorized log-likelihood (tool,
value, strength density, region). d3rlpy trains the actor alongside the critic; here the critic
is fitted first and the planner is extracted from its frozen advantages, which is the same
objective (IQL's actor never feeds back into its critic) and lets one critic serve several
policies (the Qwen3-VL planner's per-call weights).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from styling_env.validation import positive_float, real_in

from .config import CallLevelConfig
from .critic import CallCritic, q_minus_v
from .losses import ensemble_min, expectile_loss, iql_weights, qv_stats, td_loss, td_target

__all__ = ["IQLConfig", "advantage", "critic_loss", "weights"]


@dataclass(frozen=True)
class IQLConfig(CallLevelConfig):
    """IQL's settings, with d3rlpy's defaults (``IQLConfig`` of d3rlpy 2.8)."""

    expectile: float = 0.7
    """The expectile ``tau`` of ``V``'s regression onto ``Q`` (0.5: the mean; -> 1: the max)."""
    weight_temp: float = 3.0
    """Inverse temperature ``beta`` of the advantage weights."""
    max_weight: float = 100.0
    """Advantage weights are clipped at this value."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if real_in("expectile", self.expectile, 0.0, 1.0) in (0.0, 1.0):  # "0.7" is no number
            raise ValueError(f"expectile must be in (0, 1), got {self.expectile!r}")
        positive_float("weight_temp", self.weight_temp)
        positive_float("max_weight", self.max_weight)


def critic_loss(
    critic: CallCritic, target: CallCritic, b: Any, nb: Any, reward: torch.Tensor,
    done: torch.Tensor, cfg: IQLConfig,
) -> tuple[torch.Tensor, dict[str, float]]:  # fmt: skip
    """IQL's critic loss ``L_Q + L_V`` on a batch ``b`` and its next observations ``nb``."""
    out = critic.q_values(b)
    with torch.no_grad():
        v_next = critic.state_value(nb)
        q_t = ensemble_min(target.q_values(b)["q"])
    y = td_target(reward, v_next, done, cfg.gamma)
    q_loss = td_loss(out["q"], y)
    v_loss = expectile_loss(q_t, out["v"], cfg.expectile)
    return q_loss + v_loss, qv_stats(out, q_loss, v_loss)


@torch.no_grad()
def advantage(critic: CallCritic, target: CallCritic, b: Any, cfg: IQLConfig) -> torch.Tensor:
    """``min_i Qbar_i(s, a) - V(s)`` ``(B,)``."""
    return q_minus_v(critic, target, b)


def weights(adv: torch.Tensor, cfg: IQLConfig) -> torch.Tensor:
    """IQL's per-call weights ``min(exp(weight_temp * A), max_weight)``."""
    return iql_weights(adv, cfg.weight_temp, cfg.max_weight)
