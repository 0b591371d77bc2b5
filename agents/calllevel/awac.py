"""AWAC on the embedded planner: a critic of the dataset's behaviour, and advantage weights
normalized over each minibatch (Nair et al., 2020; d3rlpy's ``AWAC``,
``algos/qlearning/torch/awac_impl.py``).

.. math::

    L_Q = \\sum_i \\mathbb{E}_D\\big[(r + \\gamma (1 - d) \\min_j \\bar Q_j(s', a') - Q_i(s, a))^2\\big],
    \\quad L_V = \\mathbb{E}_D\\big[(\\min_i \\bar Q_i(s, a) - V(s))^2\\big]

    w = B \\cdot \\mathrm{softmax}_{batch}\\big((\\min_i \\bar Q_i(s, a) - V(s)) / \\lambda\\big), \\quad
    L_\\pi = -\\tfrac{1}{B} \\sum_{batch} w \\log \\pi(a | s)

with ``a'`` the dataset's next call: ``Q`` and ``V`` evaluate the behaviour policy that wrote
the data (SARSA), so ``A`` says how much better a call was than what the teacher does on
average from that state. d3rlpy's defaults: ``lam = 1.0``, ``gamma``, ``tau``, two critics.

Adapted: d3rlpy's AWAC is actor-critic (its next action and its ``V`` come from the current
policy's samples, ``n_action_samples``); a planner's factorized call would need the critic
evaluated for sampled strengths and regions of every call. The issue asks for advantages of the
dataset's behaviour, which need no samples: ``V`` is a head regressed onto the target critics'
Q of the data's calls (the behaviour's mean), and the critic is fitted before extraction. d3rlpy
sums ``w log pi`` over the batch; the mean here is the same direction at a 1/B step size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from styling_env.validation import positive_float

from .config import CallLevelConfig
from .critic import CallCritic, q_minus_v
from .losses import awac_weights, ensemble_min, qv_stats, td_loss, td_target

__all__ = ["AWACConfig", "advantage", "critic_loss", "weights"]


@dataclass(frozen=True)
class AWACConfig(CallLevelConfig):
    """AWAC's settings, with d3rlpy's defaults (``AWACConfig`` of d3rlpy 2.8)."""

    lam: float = 1.0
    """Temperature ``lambda`` of the batch softmax over advantages."""

    def __post_init__(self) -> None:
        super().__post_init__()
        positive_float("lam", self.lam)


def critic_loss(
    critic: CallCritic, target: CallCritic, b: Any, nb: Any, reward: torch.Tensor,
    done: torch.Tensor, cfg: AWACConfig,
) -> tuple[torch.Tensor, dict[str, float]]:  # fmt: skip
    """SARSA ``L_Q`` (the next call is the dataset's) plus the behaviour value's ``L_V``."""
    out = critic.q_values(b)
    with torch.no_grad():
        q_next = ensemble_min(target.q_values(nb)["q"])
        q_t = ensemble_min(target.q_values(b)["q"])
    y = td_target(reward, q_next, done, cfg.gamma)
    q_loss = td_loss(out["q"], y)
    v_loss = F.mse_loss(out["v"], q_t)
    return q_loss + v_loss, qv_stats(out, q_loss, v_loss)


@torch.no_grad()
def advantage(critic: CallCritic, target: CallCritic, b: Any, cfg: AWACConfig) -> torch.Tensor:
    """``min_i Qbar_i(s, a) - V(s)`` ``(B,)``: the call against the behaviour's mean."""
    return q_minus_v(critic, target, b)


def weights(adv: torch.Tensor, cfg: AWACConfig) -> torch.Tensor:
    """AWAC's weights over one minibatch: ``B * softmax(A / lam)``."""
    return awac_weights(adv, cfg.lam)
