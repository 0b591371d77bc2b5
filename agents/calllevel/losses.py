"""The losses and weights of the call-level methods, as plain functions on tensors.

Each is d3rlpy's definition (d3rlpy 2.8, ``d3rlpy/algos/qlearning/torch/``) written for the
tensors a call-level critic produces; ``tests/test_calllevel.py`` pins each one to d3rlpy's own
method on the same numbers.

.. math::

    L_{TD} = \\sum_i \\mathbb{E}\\big[(Q_i(s, a) - y)^2\\big], \\quad
        y = r + \\gamma (1 - d)\\, T(s')                     \\quad \\text{(IQL, AWAC: MSE)}

    L_{TD}^{huber} = \\sum_i \\mathbb{E}\\big[\\mathrm{huber}(Q_i(s, a) - y)\\big]
                                                            \\quad \\text{(DiscreteCQL)}

    L_V = \\mathbb{E}\\big[|\\tau - 1(u < 0)|\\, u^2\\big], \\quad u = \\min_i \\bar Q_i(s, a) - V(s)
                                                            \\quad \\text{(IQL's expectile)}

    w = \\min(\\exp(\\beta A), w_{max})                       \\quad \\text{(IQL's weight)}

    L_{cons} = \\mathbb{E}\\big[\\log \\sum_k \\exp Q(s, k) - Q(s, k_{data})\\big]
                                                            \\quad \\text{(DiscreteCQL's penalty)}

    w = B\\, \\mathrm{softmax}_{batch}(A / \\lambda)          \\quad \\text{(AWAC's weight)}

References: Kostrikov et al., *Offline Reinforcement Learning with Implicit Q-Learning* (2021);
Kumar et al., *Conservative Q-Learning for Offline Reinforcement Learning* (2020); Nair et al.,
*AWAC: Accelerating Online Reinforcement Learning with Offline Datasets* (2020).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "awac_weights",
    "conservative_penalty",
    "ensemble_min",
    "expectile_loss",
    "iql_weights",
    "qv_stats",
    "soft_update",
    "td_loss",
    "td_target",
]


def ensemble_min(q: Sequence[torch.Tensor]) -> torch.Tensor:
    """The critics' elementwise minimum of ``q[i]`` (d3rlpy's ensemble ``reduction="min"``):
    the targets and the advantages use the most pessimistic critic."""
    return torch.stack(list(q)).min(dim=0).values


def qv_stats(out: dict, q_loss: torch.Tensor, v_loss: torch.Tensor) -> dict[str, float]:
    """What a Q + V critic's step logs: both losses, the first critic's mean ``Q`` and the
    mean ``V`` of ``out`` (:meth:`CallCritic.q_values`)."""
    return {
        "q_loss": float(q_loss.detach()),
        "v_loss": float(v_loss.detach()),
        "q": float(out["q"][0].detach().mean()),
        "v": float(out["v"].detach().mean()),
    }


def td_target(
    reward: torch.Tensor, next_value: torch.Tensor, done: torch.Tensor, gamma: float
) -> torch.Tensor:
    """``y = r + gamma * (1 - done) * next_value`` ``(B,)`` (d3rlpy's ``compute_error``)."""
    return reward + gamma * next_value * (1.0 - done.float())


def td_loss(q: Sequence[torch.Tensor], y: torch.Tensor, *, huber: bool = False) -> torch.Tensor:
    """The ensemble's TD error: the sum over critics of the mean squared (or Huber, beta 1)
    error of ``q[i]`` ``(B,)`` against ``y`` ``(B,)`` (d3rlpy's
    ``compute_ensemble_q_function_error``: continuous mean Q -> MSE, discrete -> Huber)."""
    y = y.detach()
    total = q[0].new_zeros(())
    for qi in q:
        if huber:
            err = F.smooth_l1_loss(qi, y, reduction="mean", beta=1.0)
        else:
            err = F.mse_loss(qi, y, reduction="mean")
        total = total + err
    return total


def expectile_loss(q: torch.Tensor, v: torch.Tensor, expectile: float) -> torch.Tensor:
    """IQL's value loss: the ``expectile`` regression of ``v`` ``(B,)`` onto ``q`` ``(B,)``
    (``q`` is a target: no gradient flows into it)."""
    diff = q.detach() - v
    weight = (expectile - (diff < 0).float()).abs()
    return (weight * diff.pow(2)).mean()


def iql_weights(advantage: torch.Tensor, weight_temp: float, max_weight: float) -> torch.Tensor:
    """IQL's advantage weights ``min(exp(weight_temp * A), max_weight)``."""
    return torch.exp(weight_temp * advantage).clamp(max=max_weight)


def awac_weights(advantage: torch.Tensor, lam: float) -> torch.Tensor:
    """AWAC's weights over one minibatch: ``B * softmax(A / lam)`` (they average to 1)."""
    a = advantage.reshape(-1)
    return torch.softmax(a / lam, dim=0) * a.numel()


def conservative_penalty(q_discrete: torch.Tensor, taken: torch.Tensor) -> torch.Tensor:
    """DiscreteCQL's penalty: ``mean(logsumexp_k Q(s, k) - Q(s, k_data))`` over ``q_discrete``
    ``(B, K)`` and the taken indices ``taken`` ``(B,)``."""
    lse = torch.logsumexp(q_discrete, dim=1)
    data = q_discrete.gather(1, taken.long().reshape(-1, 1)).reshape(-1)
    return (lse - data).mean()


@torch.no_grad()
def soft_update(target: nn.Module, online: nn.Module, tau: float) -> None:
    """Polyak averaging ``target <- (1 - tau) target + tau online`` (d3rlpy's ``soft_sync``)."""
    targets, online_params = list(target.parameters()), list(online.parameters())
    if len(targets) != len(online_params):
        raise ValueError(
            f"soft_update: the target has {len(targets)} parameters, the online network "
            f"{len(online_params)}"
        )
    torch._foreach_lerp_(targets, online_params, tau)  # one pass per tensor, not three
