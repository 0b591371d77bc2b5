"""Per-sample weights of the paper's five offline methods, defined once.

Every trainer (the embedded policy, the Qwen3-VL planner, the d3rlpy adapters) takes its sample
weights from :func:`sample_weights`, reduces per-sample losses with :func:`weighted_loss`, and
builds DPO data with :func:`dpo_pairs` and :func:`dpo_loss`.

The methods, over trajectory qualities ``r`` in [0, 5] (the judge's overall score / 20):

- ``s`` (standard SFT): every trajectory, weight 1.
- ``rl`` (reward-filtered BC): weight 1 where ``r >= 4.0``, else 0.
- ``rw`` (reward-weighted): ``max(r - 3, 0)``.
- ``sw`` (standardized reward-weighted): ``(r - mean r) / std r`` (population std) over the
  dataset, or within groups (the "Swift" predecessor standardizes over trajectories of the same
  context); negative weights are allowed and mean "make this less likely".
- ``dpo``: preference pairs (chosen ``r >= 4.0`` vs rejected ``r`` in [2.5, 3.5], beta 0.1,
  frozen reference). Its per-sample weight is 1: the data of DPO is the pairs.

Example:
    >>> sample_weights("rw", [4.5, 4.0, 3.5, 2.0]).tolist()
    [1.5, 1.0, 0.5, 0.0]
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from styling_env.validation import choice, positive_int

#: The paper's five methods.
METHODS: tuple[str, ...] = ("s", "rl", "rw", "sw", "dpo")
#: RL keeps trajectories with ``r >= RL_THRESHOLD`` (about 65% of the data in the paper).
RL_THRESHOLD: float = 4.0
#: RW weighs a trajectory by ``max(r - RW_BASELINE, 0)``.
RW_BASELINE: float = 3.0
#: DPO: chosen ``r >= DPO_CHOSEN_MIN``, rejected ``r`` in ``DPO_REJECTED_RANGE`` (inclusive).
DPO_CHOSEN_MIN: float = 4.0
DPO_REJECTED_RANGE: tuple[float, float] = (2.5, 3.5)
#: DPO's temperature in the paper.
DPO_BETA: float = 0.1
#: Normalizations of :func:`weighted_loss`.
NORMALIZATIONS: tuple[str, ...] = ("abs", "sum", "mean")
R_MAX: float = 5.0


def check_method(method: str) -> str:
    """Return ``method`` (lower-cased) or raise ``ValueError`` naming the valid ones."""
    if not isinstance(method, str) or method.lower() not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
    return method.lower()


def _as_r(r: Any) -> np.ndarray:
    a = np.asarray(r, dtype=np.float64)
    if a.ndim != 1:
        raise ValueError(f"r must be a 1-d sequence of trajectory qualities, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError("r holds NaN or infinite values")
    if a.size and (a.min() < 0.0 or a.max() > R_MAX):
        raise ValueError(
            f"r must lie in [0, {R_MAX:g}] (the judge's overall / 20), got values in "
            f"[{a.min():g}, {a.max():g}]"
        )
    return a


def _standardize(r: np.ndarray, eps: float) -> np.ndarray:
    """``(r - mean) / std`` (population std); all zeros when std <= eps (nothing to prefer)."""
    if r.size < 2:
        return np.zeros_like(r)
    std = r.std()
    if std <= eps:
        return np.zeros_like(r)
    return (r - r.mean()) / std


def sample_weights(
    method: str,
    r: Sequence[float] | np.ndarray,
    *,
    groups: Sequence[Hashable] | None = None,
    eps: float = 1e-8,
) -> np.ndarray:
    """Per-trajectory weights ``(len(r),)`` float64 of ``method`` for qualities ``r`` in [0, 5].

    Args:
        method: one of :data:`METHODS`.
        r: trajectory qualities (one per trajectory, or one per sample: the formulas are
            elementwise except SW's statistics, which are then per sample).
        groups: SW only (ignored by the other methods): one hashable key per entry of ``r``
            (task ids, contexts, themes); SW standardizes within each group, as the "Swift"
            predecessor does per context. A group of one trajectory, or whose ``r`` are all equal
            (std <= ``eps``), gets weight 0: it says nothing about which trajectory is better.
        eps: the std below which SW weights are 0.

    Returns:
        ``s``: ones. ``rl``: ``1.0 * (r >= 4.0)``. ``rw``: ``max(r - 3, 0)``.
        ``sw``: ``(r - mean) / std`` (negative weights allowed). ``dpo``: ones (DPO's data is
        the pairs of :func:`dpo_pairs`; every sample of a pair counts fully).

    Warns:
        UserWarning: ``rl``/``rw`` when every weight is 0 (no trajectory reaches the threshold:
        training on these weights learns nothing).

    Raises:
        ValueError: an unknown method, ``r`` not 1-d, NaN, or outside [0, 5], ``groups`` of
        another length.
    """
    method = check_method(method)
    a = _as_r(r)
    if method in ("s", "dpo"):
        w = np.ones_like(a)
    elif method == "rl":
        w = (a >= RL_THRESHOLD).astype(np.float64)
    elif method == "rw":
        w = np.maximum(a - RW_BASELINE, 0.0)
    elif groups is None:
        w = _standardize(a, eps)
    else:
        keys = list(groups)
        if len(keys) != a.size:
            raise ValueError(f"groups has {len(keys)} entries, r has {a.size}")
        w = np.zeros_like(a)
        members: dict[Hashable, list[int]] = {}
        for i, k in enumerate(keys):
            members.setdefault(k, []).append(i)
        for idx in members.values():
            w[idx] = _standardize(a[idx], eps)
    if method in ("rl", "rw") and a.size and not w.any():
        warnings.warn(
            f"every {method.upper()} weight is 0: no trajectory has r >= "
            f"{RL_THRESHOLD if method == 'rl' else RW_BASELINE:g} (max r = {a.max():.3g})",
            UserWarning,
            stacklevel=2,
        )
    return w


def weighted_loss(
    losses: torch.Tensor,
    weights: torch.Tensor | np.ndarray | Sequence[float],
    method: str = "s",
    *,
    normalize: str = "abs",
    clip_negative: float | None = None,
    eps: float = 1e-8,
) -> torch.Tensor:
    """Reduce per-sample losses ``(B,)`` with per-sample weights ``(B,)`` to one scalar.

    ``normalize`` (the denominator):

    - ``"abs"`` (default): ``sum(l_i w_i) / (sum(|w_i|) + eps)``. For S, RL and RW (weights
      >= 0) this *is* the paper's ``sum(l_i w_i) / (sum(w_i) + eps)``. For SW it is the sane
      form: standardized weights sum to about 0 over the dataset, so a minibatch's ``sum(w_i)``
      can be ~0 (the loss explodes) or negative (the sign of the whole batch's gradient flips:
      the good trajectories get pushed *down*). ``sum(|w|)`` is positive whenever any weight is
      non-zero, keeps the scale of a weighted mean, and keeps each sample's sign.
    - ``"sum"``: the literal released formula ``sum(l_i w_i) / (sum(w_i) + eps)`` (for
      reproducing it; unstable with SW, see above).
    - ``"mean"``: ``sum(l_i w_i) / B`` (the plain expectation of the weighted loss; its scale
      follows the weights' scale).

    Negative weights (SW) turn a sample's loss into an unlikelihood term: minimizing
    ``w_i * l_i`` with ``w_i < 0`` *raises* ``l_i`` (a negative log-likelihood), which has no
    upper bound. ``clip_negative`` (e.g. ``-1.0``) clips weights below it, bounding how hard any
    one sample is pushed down; trainers should also keep SW's learning rate small (the paper:
    2e-5) or cap the per-sample loss.

    When every weight of a batch is 0 (an RL batch with no kept trajectory) the result is a zero
    that keeps the graph (``backward()`` works; the gradient is 0): the batch contributes
    nothing, which is what filtering means. No warning per batch: :func:`sample_weights` warns
    once when *all* of a dataset's weights are 0.

    Args:
        losses: per-sample losses ``(B,)`` (float tensor; it keeps its graph).
        weights: ``(B,)``, e.g. from :func:`sample_weights`; moved to ``losses``' device/dtype.
        method: one of :data:`METHODS` except ``dpo`` (use :func:`dpo_loss`); S/RL/RW reject
            negative weights.
        normalize: ``"abs"``, ``"sum"`` or ``"mean"``.
        clip_negative: if given (<= 0), weights below it are clipped to it.
        eps: added to the denominator.

    Raises:
        ValueError: unknown method or normalization, ``dpo``, shapes that differ, negative
        weights for S/RL/RW, a positive ``clip_negative``.
    """
    method = check_method(method)
    if method == "dpo":
        raise ValueError("DPO does not weigh samples: use dpo_pairs() and dpo_loss()")
    choice("normalize", normalize, NORMALIZATIONS)
    if not isinstance(losses, torch.Tensor):
        raise TypeError(f"losses must be a torch.Tensor, got {type(losses).__name__}")
    w = torch.as_tensor(np.asarray(weights) if not isinstance(weights, torch.Tensor) else weights)
    w = w.to(device=losses.device, dtype=losses.dtype)
    if losses.dim() != 1 or w.shape != losses.shape:
        raise ValueError(
            f"losses and weights must both be (B,), got {tuple(losses.shape)} and {tuple(w.shape)}"
        )
    if method != "sw" and bool((w < 0).any()):
        raise ValueError(f"{method.upper()} weights must be >= 0; negative weights are SW's")
    if clip_negative is not None:
        if clip_negative > 0:
            raise ValueError(f"clip_negative must be <= 0, got {clip_negative}")
        w = w.clamp(min=clip_negative)
    total = (losses * w).sum()
    if normalize == "abs":
        return total / (w.abs().sum() + eps)
    if normalize == "sum":
        return total / (w.sum() + eps)
    return total / max(1, losses.shape[0])


# --------------------------------------------------------------------------------------------
# DPO


@dataclass(frozen=True)
class DPOPairs:
    """Preference pairs: trajectory indices ``chosen[k]`` (preferred) vs ``rejected[k]``.

    ``same_task[k]``: both trajectories are of the same task (the ideal DPO pair: same prompt);
    ``same_group[k]``: same group (e.g. theme or template) when groups were given, else equal to
    ``same_task``. Iterating yields ``(chosen, rejected)`` tuples.
    """

    chosen: np.ndarray
    rejected: np.ndarray
    same_task: np.ndarray
    same_group: np.ndarray

    def __len__(self) -> int:
        return int(self.chosen.size)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return iter(self.pairs)

    @property
    def pairs(self) -> list[tuple[int, int]]:
        return [(int(c), int(j)) for c, j in zip(self.chosen, self.rejected, strict=True)]


def dpo_pairs(
    r: Sequence[float] | np.ndarray,
    task_ids: Sequence[Hashable],
    *,
    chosen_min: float = DPO_CHOSEN_MIN,
    rejected_range: tuple[float, float] = DPO_REJECTED_RANGE,
    rng: np.random.Generator | int | None = None,
    max_pairs_per_chosen: int = 1,
    groups: Sequence[Hashable] | None = None,
    fallback: bool = True,
) -> DPOPairs:
    """Pair each chosen trajectory (``r >= chosen_min``) with up to ``max_pairs_per_chosen``
    rejected ones (``rejected_range[0] <= r <= rejected_range[1]``), drawn without replacement
    for that chosen one (a rejected trajectory may serve several chosen ones).

    Candidates are preferred in this order: the same task (``task_ids`` equal: the same prompt,
    which is what DPO assumes), then the same group (``groups``, e.g. the theme or template, if
    given), then — if ``fallback`` — any rejected trajectory. Which level each pair came from is
    recorded in :class:`DPOPairs`. Chosen trajectories are visited in index order; the draw is
    deterministic for a seed (``rng`` = an int or a Generator; ``None`` means seed 0).

    Raises:
        ValueError: lengths differ, bad thresholds, ``max_pairs_per_chosen < 1``.
    """
    a = _as_r(r)
    tids = list(task_ids)
    if len(tids) != a.size:
        raise ValueError(f"task_ids has {len(tids)} entries, r has {a.size}")
    grp = list(groups) if groups is not None else None
    if grp is not None and len(grp) != a.size:
        raise ValueError(f"groups has {len(grp)} entries, r has {a.size}")
    lo, hi = rejected_range
    if not lo <= hi or hi >= chosen_min:
        raise ValueError(
            f"need rejected_range[0] <= rejected_range[1] < chosen_min, got {rejected_range} "
            f"and {chosen_min}"
        )
    positive_int("max_pairs_per_chosen", max_pairs_per_chosen)
    gen = (
        rng
        if isinstance(rng, np.random.Generator)
        else np.random.default_rng(0 if rng is None else rng)
    )
    chosen_idx = np.flatnonzero(a >= chosen_min)
    rejected_idx = np.flatnonzero((a >= lo) & (a <= hi))
    by_task: dict[Hashable, list[int]] = {}
    by_group: dict[Hashable, list[int]] = {}
    for j in rejected_idx.tolist():
        by_task.setdefault(tids[j], []).append(j)
        if grp is not None:
            by_group.setdefault(grp[j], []).append(j)
    out_c: list[int] = []
    out_r: list[int] = []
    out_task: list[bool] = []
    out_group: list[bool] = []
    for i in chosen_idx.tolist():
        left = max_pairs_per_chosen
        taken: set[int] = set()
        pools = [by_task.get(tids[i], [])]
        if grp is not None:
            pools.append(by_group.get(grp[i], []))
        if fallback:
            pools.append(rejected_idx.tolist())
        for pool in pools:
            cand = [j for j in pool if j not in taken]
            if not cand or left == 0:
                continue
            pick = gen.choice(len(cand), size=min(left, len(cand)), replace=False)
            for p in sorted(pick.tolist()):
                j = cand[p]
                taken.add(j)
                out_c.append(i)
                out_r.append(j)
                same_t = tids[j] == tids[i]
                out_task.append(same_t)
                out_group.append(same_t or (grp is not None and grp[j] == grp[i]))
            left -= min(left, len(cand))
    return DPOPairs(
        np.asarray(out_c, np.int64),
        np.asarray(out_r, np.int64),
        np.asarray(out_task, bool),
        np.asarray(out_group, bool),
    )


class DPOLoss(NamedTuple):
    """:func:`dpo_loss`'s result. ``loss`` is the scalar to minimize; the rest are detached
    ``(B,)`` tensors for logging: the implicit rewards ``beta * (log pi - log ref)`` of the
    chosen and rejected samples, their ``margin`` and ``accuracy`` (margin > 0)."""

    loss: torch.Tensor
    chosen_reward: torch.Tensor
    rejected_reward: torch.Tensor
    margin: torch.Tensor
    accuracy: torch.Tensor


def dpo_loss(
    policy_chosen_logp: torch.Tensor,
    policy_rejected_logp: torch.Tensor,
    ref_chosen_logp: torch.Tensor,
    ref_rejected_logp: torch.Tensor,
    beta: float = DPO_BETA,
) -> DPOLoss:
    """DPO: ``mean(-logsigmoid(beta * ((pc - rc) - (pr - rr))))`` over pairs.

    Arguments are ``(B,)`` summed log-probabilities of each pair's chosen / rejected sequence
    (or action) under the trained policy (with graph) and the frozen reference (no graph
    needed). Returns a :class:`DPOLoss`; ``loss`` equals ``log 2`` when policy == reference.
    """
    if beta <= 0:
        raise ValueError(f"beta must be > 0, got {beta}")
    shapes = {
        tuple(t.shape)
        for t in (policy_chosen_logp, policy_rejected_logp, ref_chosen_logp, ref_rejected_logp)
    }
    if len(shapes) != 1:
        raise ValueError(f"the four log-probability tensors must have one shape, got {shapes}")
    chosen = beta * (policy_chosen_logp - ref_chosen_logp.detach())
    rejected = beta * (policy_rejected_logp - ref_rejected_logp.detach())
    logits = chosen - rejected
    loss = -F.logsigmoid(logits).mean()
    margin = logits.detach()
    return DPOLoss(loss, chosen.detach(), rejected.detach(), margin, (margin > 0).float())
