"""How DiscreteBC's flat policy is read: its greedy action decoded field by field as the
embedded planner decodes its heads (:func:`marginal_greedy`, :func:`expected_strength`), the
Q-learners' greedy action within the data's support (:func:`greedy_scores`,
:func:`support_greedy`: no tool twice, :mod:`agents.support`), and the held-out metrics a
d3rlpy run records per epoch (:func:`validation_metrics`).

Split from :mod:`agents.d3rlpy_agents`, which re-exports every name: the agent and the trainer
use these, and the validation metrics read a model's greedy action as the agent would decode it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "DECODES",
    "VALIDATION_METRICS",
    "ValidationRows",
    "expected_strength",
    "greedy_scores",
    "imitator_logits",
    "marginal_greedy",
    "support_greedy",
    "validation_metrics",
    "validation_rows",
]

#: How :class:`D3rlpyAgent` turns DiscreteBC's policy into its greedy action (``agent.decode``):
#: ``"mean"`` (default) as the embedded planner decodes, field by field: the tool, value row
#: and preserve set of :func:`marginal_greedy` and the row's expected strength
#: (:func:`expected_strength`; the planner's greedy strength is its Normal's mean), as a native
#: action; ``"marginal"``: :func:`marginal_greedy`'s flat index (the most probable bin);
#: ``"flat"``: d3rlpy's own argmax over the flat actions.
DECODES: tuple[str, ...] = ("mean", "marginal", "flat")


def marginal_greedy(probs: np.ndarray, flat: Any, called: np.ndarray | None = None) -> np.ndarray:
    """The greedy flat actions ``(B,)`` of a policy's flat probabilities ``probs (B, flat.size)``,
    decoded as the planner decodes its factorized heads: the most probable tool (STOP, or a tool
    with the summed probability of all its values, strengths and preserve sets), then that
    tool's most probable ``(tool, value)`` row (summed over strengths and preserve sets), then
    that row's most probable strength bin and preserve set.

    Why not the flat argmax: a call's probability is split over its value rows x strength bins
    (x preserve sets) while STOP is one action, so the single most probable flat action is STOP
    whenever ``p(STOP)`` exceeds every single ``(row, bin)``, even where calling a tool is far
    more probable than stopping (measured: DiscreteBC stopped before any call in 8% of Simple's
    test episodes, S in 0.5%).

    ``called`` ``(B, n_tools)``: the tools each episode has called; their summed probability
    goes to STOP before the tool is chosen (:func:`agents.support.merge_repeats_np`)."""
    from styling_env.tools.library_tables import row_tables

    p = np.asarray(probs, np.float64)
    stop = flat.stop
    if p.ndim != 2 or p.shape[1] != flat.size:
        raise ValueError(f"probs must be (B, {flat.size}), got {p.shape}")
    tool_of_row = np.asarray(row_tables(flat.library)["tool_of_row"], np.int64)
    per_row = p[:, :stop].reshape(len(p), len(tool_of_row), -1)  # (B, rows, bins * sets)
    row_p = per_row.sum(2)
    tool_p = np.zeros((len(p), flat.tool_stop + 1))
    np.add.at(tool_p.T, tool_of_row, row_p.T)
    tool_p[:, flat.tool_stop] = p[:, stop]
    if called is not None:
        from .support import merge_repeats_np

        tool_p = merge_repeats_np(tool_p, called)
    tool = tool_p.argmax(1)
    row = np.where(tool_of_row[None, :] == tool[:, None], row_p, -1.0).argmax(1)
    inner = per_row[np.arange(len(p)), row].argmax(1)
    return np.where(tool == flat.tool_stop, stop, row * per_row.shape[2] + inner).astype(np.int64)


def expected_strength(probs: np.ndarray, flat: Any, index: np.ndarray) -> np.ndarray:
    """The expected strength ``(B,)`` of each flat call ``index``'s ``(tool, value)`` row under
    the policy ``probs (B, flat.size)`` (its bins' strengths weighted by their probabilities,
    summed over preserve sets), clipped to the planner's greedy range [0.05, 1]; 0 for STOP."""
    from agents.embedded.config import STRENGTH_RANGE
    from styling_env.actions import bin_strength

    p = np.asarray(probs, np.float64)
    k = np.asarray(index, np.int64)
    call = k != flat.stop
    bins = flat.n_strength_bins
    sets = dict(flat.digits())["preserve"]
    per_row = p[:, : flat.stop].reshape(len(p), flat.stop // (bins * sets), bins, sets)
    row = np.where(call, k // (bins * sets), 0)
    pb = per_row[np.arange(len(p)), row].sum(2)  # (B, bins)
    mean = (pb * bin_strength(np.arange(bins), bins)[None]).sum(1) / np.maximum(pb.sum(1), 1e-12)
    return np.where(call, np.clip(mean, *STRENGTH_RANGE), 0.0)


#: The metrics :func:`validation_metrics` adds to each epoch's row of ``agent.training["losses"]``.
VALIDATION_METRICS: tuple[str, ...] = ("val_nll", "val_match", "val_tool", "val_row")


@dataclass
class ValidationRows:
    """The transitions of a held-out buffer, as :func:`validation_metrics` reads them: their
    observations (a list ``[image, vector]`` or the vector) and flat actions ``(N,)``."""

    observations: Any
    actions: np.ndarray
    flat: Any  # styling_env.actions.FlatActions of the actions

    def __len__(self) -> int:
        return int(self.actions.shape[0])


def validation_rows(mdp: Any) -> ValidationRows:
    """Every transition of a :func:`~offline_data.loaders.to_d3rlpy` buffer (the final rows of
    truncated episodes, which are no transitions, left out)."""
    from styling_env.actions import FlatActions

    obs_parts: list[Any] = []
    acts = []
    for ep in mdp.episodes:
        n = int(ep.transition_count)
        if n == 0:
            continue
        o = ep.observations
        obs_parts.append([x[:n] for x in o] if isinstance(o, list | tuple) else [o[:n]])
        acts.append(np.asarray(ep.actions[:n]).reshape(-1))
    if not acts:
        raise ValueError("the validation data holds no transition")
    width = len(obs_parts[0])
    obs = [np.concatenate([p[i] for p in obs_parts]) for i in range(width)]
    ti = getattr(mdp, "transition_info", None)
    flat = FlatActions(ti.n_strength_bins, ti.flat_preserve, ti.library) if ti else None
    return ValidationRows(obs if width > 1 else obs[0], np.concatenate(acts).astype(np.int64), flat)


def greedy_scores(algo: Any, x: Any) -> np.ndarray:
    """``(B, action_size)``: what d3rlpy's greedy action of a DiscreteCQL (DQN's rule) or a
    DiscreteBCQ takes the argmax of, on d3rlpy observations ``x``: the expected Q, and for BCQ
    the Q shifted positive and zeroed outside the imitator's flexible set
    (``DiscreteBCQImpl.inner_predict_best_action`` of d3rlpy 2.8, recomputed so that actions can
    be left out of the argmax; a test pins the argmax to ``algo.predict``)."""
    import torch
    import torch.nn.functional as F
    from d3rlpy.torch_utility import convert_to_torch_recursively

    impl = algo.impl
    with torch.no_grad():
        t = convert_to_torch_recursively(x, impl.device)
        value = impl._q_func_forwarder.compute_expected_q(t)
        if hasattr(impl.modules, "imitator"):  # DiscreteBCQ
            log_probs = F.log_softmax(impl.modules.imitator(t).logits, dim=1)
            ratio = log_probs - log_probs.max(dim=1, keepdim=True).values
            mask = (ratio > math.log(algo.config.action_flexibility)).float()
            value = (value - value.min(dim=1, keepdim=True).values + 1e-5) * mask
        return value.float().cpu().numpy()


def support_greedy(scores: np.ndarray, called: np.ndarray, flat: Any) -> np.ndarray:
    """The argmax ``(B,)`` of ``scores`` over the flat actions whose tool the episode has not
    called (STOP always stays)."""
    from styling_env.tools.library_tables import row_tables

    from .support import called_flat_actions

    tool_of_row = np.asarray(row_tables(flat.library)["tool_of_row"], np.int64)
    per_row = flat.stop // len(tool_of_row)
    tool_of_action = np.append(np.repeat(tool_of_row, per_row), flat.tool_stop)
    out = np.array(scores, np.float64)
    out[called_flat_actions(called, tool_of_action)] = -np.inf
    return out.argmax(1).astype(np.int64)


def imitator_logits(algo: Any, x: Any) -> Any:
    """The logits ``(B, action_size)`` of a DiscreteBC's policy or a DiscreteBCQ's imitator on
    d3rlpy observations ``x``, without gradients."""
    import torch
    from d3rlpy.torch_utility import convert_to_torch_recursively

    with torch.no_grad():
        return algo.impl.modules.imitator(convert_to_torch_recursively(x, algo.impl.device)).logits


def validation_metrics(
    algo: Any, rows: ValidationRows, batch: int = 1024, *, decode: str = "mean"
) -> dict[str, float]:
    """How a model's greedy action agrees with held-out transitions' (the imitation a policy
    learned, measured where it was not fitted):

    - ``val_match``: the greedy flat action is the data's;
    - ``val_tool``: its tool (or STOP) is the data's; ``val_row``: its ``(tool, value)`` row too
      (STOP counts when both stop), the strength bin aside;
    - ``val_nll``: the imitation cross-entropy of the data's action (BC's policy, BCQ's
      imitator; NaN for CQL, which has no policy distribution).

    The greedy action is the one the agent plays: DiscreteBC's is decoded as
    :class:`~agents.d3rlpy_agents.D3rlpyAgent` decodes it with ``decode`` (default ``"mean"``
    and ``"marginal"``: :func:`marginal_greedy`, field by field; ``"flat"``: d3rlpy's argmax);
    the Q-learners' is d3rlpy's ``predict``."""
    import torch

    name = type(algo).__name__
    if name not in ("DiscreteBC", "DiscreteBCQ", "DiscreteCQL"):
        raise ValueError(f"{name} is not DiscreteBC, DiscreteBCQ or DiscreteCQL")
    if decode not in DECODES:
        raise ValueError(f"decode must be one of {', '.join(DECODES)}, got {decode!r}")
    field_by_field = name == "DiscreteBC" and decode != "flat" and rows.flat is not None
    n = len(rows)
    obs = rows.observations if isinstance(rows.observations, list) else [rows.observations]
    preds, nll = [], 0.0
    for i in range(0, n, batch):
        x = [o[i : i + batch] for o in obs]
        x = x if len(x) > 1 else x[0]
        logits = imitator_logits(algo, x) if name != "DiscreteCQL" else None
        if field_by_field:
            probs = torch.softmax(logits.float(), dim=1).cpu().numpy()
            preds.append(marginal_greedy(probs, rows.flat))
        else:
            preds.append(np.asarray(algo.predict(x), np.int64).reshape(-1))
        if logits is not None:
            target = torch.as_tensor(rows.actions[i : i + batch], device=logits.device)
            nll += float(torch.nn.functional.cross_entropy(logits, target, reduction="sum"))
    pred = np.concatenate(preds)
    out = {"val_match": float(np.mean(pred == rows.actions)), "val_nll": nll / n if logits is not None else math.nan}  # fmt: skip
    if rows.flat is not None:
        p, d = rows.flat.decode(pred), rows.flat.decode(rows.actions)
        tool = p["tool"] == d["tool"]
        stop = d["tool"] == rows.flat.tool_stop
        out["val_tool"] = float(tool.mean())
        out["val_row"] = float((tool & ((p["value"] == d["value"]) | stop)).mean())
    return out
