"""CQL on the embedded planner: a conservative call-level Q whose penalty is a ``logsumexp`` over
the discrete part of the call (tools and their values, STOP included), and a policy extracted
from it by advantage weighting (Kumar et al., 2020; d3rlpy's ``DiscreteCQL``,
``algos/qlearning/torch/cql_impl.py``).

.. math::

    L = \\sum_i \\mathbb{E}_D\\big[\\mathrm{huber}(Q_i(s, a) - y)\\big]
        + \\alpha \\sum_i \\mathbb{E}_D\\big[\\log \\sum_k \\exp D_i(s)[k] - D_i(s)[k_a]\\big]

    y = r + \\gamma (1 - d) \\min_i \\bar D_i(s')[k^*], \\quad k^* = \\arg\\max_k \\tfrac{1}{n}\\sum_i D_i(s')[k]

    A(s, a) = \\min_i \\bar Q_i(s, a) - \\sum_k \\mathrm{softmax}(\\bar D(s))_k \\bar D(s)[k], \\quad
    L_\\pi = -\\mathbb{E}_D\\big[\\min(\\exp(\\beta A), w_{max}) \\log \\pi(a | s)\\big]

As in d3rlpy's DiscreteCQL: a double-DQN target (the online critics choose ``k*``, the target
critics value it), a Huber TD error, ``alpha = 1.0``, and the penalty's ``logsumexp`` over every
discrete action against the data's.

Adapted for the hybrid call: DiscreteCQL's action is one index; the planner's call adds a
strength and a region. The critic (:mod:`.critic`) splits ``Q = D(s)[k] + C(s, k, strength,
region)`` with ``C <= 0``, so ``D(s)[k]`` is the best a call ``k`` can do: the greedy target and
the penalty run over the 172 discrete calls, and ``C`` is fitted by the TD error only (a strength
the data never took is never maximized over: the planner's strength is fitted by weighted
likelihood, never by ascending ``Q``). DiscreteCQL's policy is ``argmax_k Q``; the planner is a
factorized distribution, so it is extracted from the conservative Q by IQL's advantage weights
(``weight_temp``, ``max_weight``), with ``V`` the Boltzmann value of ``D`` (CQL(H)'s soft
maximum; a hard maximum would make every advantage <= 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from styling_env.validation import positive_float

from .config import CallLevelConfig
from .critic import CallCritic
from .losses import conservative_penalty, ensemble_min, iql_weights, td_loss, td_target

__all__ = ["CQLConfig", "advantage", "critic_loss", "weights"]


@dataclass(frozen=True)
class CQLConfig(CallLevelConfig):
    """CQL's settings: d3rlpy's DiscreteCQL ``alpha`` (1.0), its ``gamma``, and IQL's extraction
    weights."""

    alpha: float = 1.0
    """Weight of the conservative penalty (d3rlpy's DiscreteCQL default)."""
    weight_temp: float = 3.0
    """Inverse temperature of the extraction weights (IQL's default)."""
    max_weight: float = 100.0
    """Extraction weights are clipped at this value (IQL's default)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        positive_float("alpha", self.alpha)
        positive_float("weight_temp", self.weight_temp)
        positive_float("max_weight", self.max_weight)


def critic_loss(
    critic: CallCritic, target: CallCritic, b: Any, nb: Any, reward: torch.Tensor,
    done: torch.Tensor, cfg: CQLConfig,
) -> tuple[torch.Tensor, dict[str, float]]:  # fmt: skip
    """DiscreteCQL's loss (TD + ``alpha`` x penalty) on a batch and its next observations."""
    out = critic.q_values(b)
    with torch.no_grad():
        h, wide = critic.encode(nb)
        best = torch.stack(critic.discrete_q(h, wide)).mean(dim=0).argmax(dim=1, keepdim=True)
        ht, wt = target.encode(nb)
        q_next = ensemble_min([d.gather(1, best).reshape(-1) for d in target.discrete_q(ht, wt)])
    y = td_target(reward, q_next, done, cfg.gamma)
    td = td_loss(out["q"], y, huber=True)
    cons = sum(conservative_penalty(d, out["k"]) for d in out["discrete"])
    loss = td + cfg.alpha * cons
    return loss, {
        "td_loss": float(td.detach()),
        "conservative_loss": float(cons.detach()),
        "q": float(out["q"][0].detach().mean()),
    }


def soft_value(discrete: list[torch.Tensor]) -> torch.Tensor:
    """The Boltzmann value ``sum_k softmax(D)_k D_k`` ``(B,)`` of the critics' minimum ``D``."""
    d = ensemble_min(discrete)
    return (torch.softmax(d, dim=1) * d).sum(dim=1)


@torch.no_grad()
def advantage(critic: CallCritic, target: CallCritic, b: Any, cfg: CQLConfig) -> torch.Tensor:
    """``min_i Qbar_i(s, a) - V(s)`` with ``V`` the Boltzmann value of the target's ``D``."""
    out = target.q_values(b)
    return ensemble_min(out["q"]) - soft_value(out["discrete"])


def weights(adv: torch.Tensor, cfg: CQLConfig) -> torch.Tensor:
    """``min(exp(weight_temp * A), max_weight)``."""
    return iql_weights(adv, cfg.weight_temp, cfg.max_weight)
