"""Step-level diagnostics: does a fitted critic tell the teacher's mistaken calls from its
correct ones?

The datasets tag every step the noisy-oracle teacher got wrong (step info ``mistake``: a wrong
tool, a sibling value, a bad strength, a wrong order, an extra step, an early STOP, an ignored
constraint; ``""`` for a correct call; :mod:`offline_data.teachers`). The tags are read per
state (:func:`mistake_tags`): the teacher tags every call of a reordered episode, but only the
calls that jump ahead of the oracle's call are order mistakes. For a critic's advantages
``A(s, a)`` of every dataset call, :func:`diagnose` reports:

- ``mistaken_negative``: the share of mistaken calls with ``A < 0``;
- ``correct_positive``: the share of correct calls with ``A > 0``;
- ``pair_ranking``: over the mistaken calls, the share where the oracle's call from the *same
  state* has the higher ``Q`` (so the higher advantage: ``V(s)`` is shared). The oracle's call
  from a state is the first call of the episode's oracle plan whose tool has not been called yet
  (STOP once every planned tool has been), with its strength, region and preserved regions;
  pairs where it equals the mistaken call are skipped;
- the same shares per mistake kind (``by_kind``: ``negative``, ``pairs`` and
  ``pair_ranking``), and the counts behind every share;
- ``tags``: ``"per-state"``, how the tags were read (diagnostics written before this field
  read them as stored, every call of a reordered plan a wrong order).

:func:`weight_on_mistakes` says how much a critic *can* add: the share of a method's total
training weight that falls on the teacher's mistaken calls, for the call-level method's own
weights beside the trajectory methods' (S: every call 1, RL: ``r >= 4``, RW: ``max(r - 3, 0)``)
on the same calls. Where RW already puts little weight on mistaken calls (the trajectory's
``r`` drops the episodes that hold them), a perfect critic can move little of RW's weight.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from agents.embedded.training import PreparedData
from styling_env.actions import MASK_NAMES, STOP
from styling_env.tools.call import REGIONS, ToolCall

from .critic import CallCritic
from .losses import ensemble_min

__all__ = [
    "TAGS_READING", "StepLabels", "diagnose", "mistake_shares", "mistake_tags", "oracle_calls", "step_labels",
    "weight_on_mistakes",
]  # fmt: skip


#: How :func:`diagnose` reads the teacher's tags (recorded in its output as ``tags``).
TAGS_READING = "per-state"


@dataclass
class StepLabels:
    """Per prepared row: the mistake tag read per state (:func:`mistake_tags`; ``""``: a
    correct call) and the oracle's call from the same state (native ``tool``, ``value``,
    ``strength``, ``region``, and ``preserve`` ``(N, 6)`` bits)."""

    mistake: list[str]
    oracle: dict[str, torch.Tensor]


def oracle_calls(rec: Any) -> list[ToolCall | None]:
    """Per action of episode ``rec``, the oracle's call from that action's state: the first call
    of the episode's oracle plan whose tool has not been called yet (``None``: STOP, every
    planned tool has been)."""
    plan = [ToolCall.from_dict(c) for c in rec.meta.get("oracle_plan", [])]
    tools = np.asarray(rec.actions["tool"]).reshape(-1)
    made: set[int] = set()
    out: list[ToolCall | None] = []
    for t in tools.tolist():
        out.append(next((c for c in plan if c.tool_index not in made), None))
        if int(t) < STOP:
            made.add(int(t))
    return out


def mistake_tags(rec: Any) -> list[str] | None:
    """Episode ``rec``'s mistake tag per action, read per state (``""``: a correct call);
    ``None`` when its steps carry none (a dataset of another teacher).

    The teacher tags *every* call of an episode it reordered ``wrong_order``. Per state, only a
    call that jumps ahead of the oracle's call (a call of another tool than the first planned
    one not called yet) is an order mistake; the others are the oracle's call from their state
    (after a jump, calling the skipped tool is the best that is left) and count as correct here.
    Every other kind is the teacher's tag as stored."""
    n = len(rec.actions["tool"])
    raw = rec.infos.get("mistake") if isinstance(rec.infos, dict) else None
    if raw is None or len(raw) < n:
        return None
    tags = [str(x) for x in raw[:n]]
    if "wrong_order" in tags:
        tools = np.asarray(rec.actions["tool"]).reshape(-1)
        tags = [
            "" if tag == "wrong_order" and o is not None and int(tool) == o.tool_index else tag
            for tag, tool, o in zip(tags, tools.tolist(), oracle_calls(rec), strict=True)
        ]
    return tags


def step_labels(data: Any, d: PreparedData) -> StepLabels | None:
    """The labels of ``d``'s rows, read from the dataset ``data`` (an id, a Minari dataset or
    records) the rows were prepared from; ``None`` when its steps carry no mistake tags (a
    dataset of another teacher)."""
    from offline_data import dataset as D
    from offline_data.loaders.records import _is_minari, source

    if isinstance(data, str):
        data = D.load(data)
    # the labels read actions, infos and metadata: a dataset's pictures stay on disk
    records = D.episode_steps(data) if _is_minari(data) else source(data)[0]
    tags: list[str] = []
    oracle: list[tuple[int, int, float, int]] = []
    keep: list[np.ndarray] = []
    ep_ids: list[int] = []
    none = np.zeros(len(MASK_NAMES), np.int8)
    for rec in records:
        raw = mistake_tags(rec)
        if raw is None:
            return None
        tags += raw
        for c in oracle_calls(rec):
            if c is None:
                oracle.append((STOP, 0, 0.0, 0))
                keep.append(none)
            else:
                oracle.append((c.tool_index, c.value_index, float(c.strength), REGIONS.index(c.region)))  # fmt: skip
                keep.append(c.preserve_bits)
        ep_ids += [int(rec.id)] * len(raw)
    rows = d.rows
    if len(ep_ids) != len(rows) or not torch.equal(torch.as_tensor(ep_ids), rows.episode):
        raise ValueError(
            f"the dataset's {len(ep_ids)} steps do not line up with the {len(rows)} prepared rows: "
            "pass the dataset the rows were prepared from"
        )
    o = np.asarray(oracle, dtype=np.float64).reshape(-1, 4)
    return StepLabels(
        tags,
        {
            "tool": torch.from_numpy(o[:, 0].astype(np.int64)),
            "value": torch.from_numpy(o[:, 1].astype(np.int64)),
            "strength": torch.from_numpy(o[:, 2].astype(np.float32)),
            "region": torch.from_numpy(o[:, 3].astype(np.int64)),
            "preserve": torch.from_numpy(np.asarray(keep, np.float32).reshape(-1, len(MASK_NAMES))),
        },
    )


def _share(mask: np.ndarray) -> float | None:
    return round(float(mask.mean()), 4) if mask.size else None


@torch.no_grad()
def diagnose(
    adv: torch.Tensor, labels: StepLabels, *, target: CallCritic | None = None,
    d: PreparedData | None = None, chunk: int = 1024,
) -> dict[str, Any]:  # fmt: skip
    """The shares of the module docstring for advantages ``adv`` ``(N,)``; the same-state pair
    ranking needs the (target) critic and the prepared rows."""
    a = adv.numpy()
    tags = np.asarray(labels.mistake)
    wrong = tags != ""
    out: dict[str, Any] = {
        "mistaken_calls": int(wrong.sum()),
        "correct_calls": int((~wrong).sum()),
        "mistaken_negative": _share(a[wrong] < 0),
        "correct_positive": _share(a[~wrong] > 0),
        "mean_advantage_mistaken": round(float(a[wrong].mean()), 4) if wrong.any() else None,
        "mean_advantage_correct": round(float(a[~wrong].mean()), 4) if (~wrong).any() else None,
        "by_kind": {},
        "tags": TAGS_READING,
    }
    for kind, n in sorted(Counter(tags[wrong].tolist()).items()):
        out["by_kind"][kind] = {"calls": n, "negative": _share(a[tags == kind] < 0)}
    if target is None or d is None or not wrong.any():
        return out
    rows = d.rows
    o = labels.oracle
    idx_all = torch.from_numpy(np.flatnonzero(wrong))
    stop = o["tool"][idx_all] == STOP
    same = (
        (o["tool"][idx_all] == rows.tool[idx_all])
        & (stop | (o["value"][idx_all] == rows.value[idx_all]))
        & (stop | ((o["strength"][idx_all] - rows.strength[idx_all].reshape(-1)).abs() < 1e-6))
        & (stop | (o["preserve"][idx_all] == rows.preserve[idx_all].float()).all(dim=1))
    )  # fmt: skip
    idx_all = idx_all[~same]
    target.eval()
    images = not target.planner_config.text_only
    better: list[torch.Tensor] = []
    for i in range(0, len(idx_all), chunk):
        idx = idx_all[i : i + chunk]
        b = d.batch(idx, images=images)
        q_taken = ensemble_min(target.q_values(b)["q"])
        cf = replace(b, tool=o["tool"][idx], value=o["value"][idx], strength=o["strength"][idx], region=o["region"][idx], preserve=o["preserve"][idx])  # fmt: skip
        q_oracle = ensemble_min(target.q_values(cf)["q"])
        better.append(q_taken < q_oracle)
    ok = torch.cat(better).numpy() if better else np.zeros(0, bool)
    out["pairs"] = int(ok.size)
    out["pair_ranking"] = _share(ok)
    kinds = tags[idx_all.numpy()]
    for kind, entry in out["by_kind"].items():
        entry["pairs"] = int((kinds == kind).sum())
        entry["pair_ranking"] = _share(ok[kinds == kind])
    return out


def weight_on_mistakes(labels: StepLabels, r: Any, weights: Any) -> dict[str, Any]:
    """The share of each weighting's total on the mistaken calls (module docstring).

    Args:
        labels: the rows' mistake tags (:func:`step_labels`).
        r: ``(N,)`` each row's trajectory quality.
        weights: ``(N,)`` the call-level method's weight of each row (0 for a row its
            extraction leaves out).

    Returns:
        ``{"method": share, "s": ..., "rl": ..., "rw": ...}`` (``None`` where a weighting sums
        to 0) and ``"by_kind"``: ``{kind: {"method": share, "rw": share}}``.
    """
    from offline_data.weights import sample_weights

    tags = np.asarray(labels.mistake)
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    r = np.asarray(r, dtype=np.float64).reshape(-1)
    if not len(tags) == len(w) == len(r):
        raise ValueError(
            f"got {len(tags)} labels, {len(w)} weights and {len(r)} qualities: one per row each"
        )
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError("weights must be finite and >= 0")
    shares = {"method": mistake_shares(tags, w)}
    shares.update((m, mistake_shares(tags, sample_weights(m, r))) for m in ("s", "rl", "rw"))
    out: dict[str, Any] = {name: sh["share"] for name, sh in shares.items()}
    out["by_kind"] = {
        kind: {"method": share, "rw": shares["rw"]["by_kind"][kind]}
        for kind, share in shares["method"]["by_kind"].items()
    }
    return out


def mistake_shares(tags: np.ndarray, weights: np.ndarray) -> dict[str, Any]:
    """The share of ``weights``' total on the calls tagged as mistakes, overall (``"share"``)
    and per kind (``"by_kind"``); ``None`` shares where the weights sum to 0."""
    total = float(weights.sum())

    def share(sel: np.ndarray) -> float | None:
        return round(float(weights[sel].sum()) / total, 4) if total > 0 else None

    kinds = sorted(set(tags[tags != ""].tolist()))
    return {"share": share(tags != ""), "by_kind": {k: share(tags == k) for k in kinds}}
