"""Judges: score an episode's final image on the paper's six scores (0-100).

:class:`MeasuredJudge` measures pixels. It never reads an agent's reasons or claims; it reads
the source, the final image, the oracle's reference (:class:`styling_env.oracle.Reference`),
the task's constraints and the call log. All image measures run at 64x64.

With ``d`` the mean absolute pixel difference, ``x`` the source, ``y`` the result, ``r`` the
reference and ``r_k`` the reference without its call ``k``:

- **instruction_following**: is each requested change visible? Per call ``k`` of the reference,
  ``clip(2 d(y, r_k) / (d(y, r) + d(y, r_k)) - 1, 0, 1)``: 1 when the result has what call ``k``
  adds, 0 when it looks like the reference without it; mean over calls.
- **semantic_accuracy**: did the result become *that* picture and nothing else?
  ``clip(1 - d(y, r) / d(x, r), 0, 1)``: a sibling value, an unrequested edit or a missing one
  all move the result away from the reference.
- **transformation_strength**: not too weak, not too strong: with ``a`` how far the result
  went along the requested change, ``a = <y - x, r - x> / |r - x|^2`` (1 for the reference, 0
  for no change or a change in an unrelated direction), ``exp(-ln(a)^2 / (2 * 0.4^2))``.
- **coherence**: structure kept as well as the reference keeps it (SSIM of luminance to the
  source): ``exp(-max(0, ssim(r, x) - ssim(y, x)) / 0.1)``.
- **visual_quality**: no clipping or noise beyond what the source and the reference have:
  ``exp(-(4 * excess clipped fraction + 25 * excess fine-detail energy))``.
- **technical_execution**: the call log: the share of requested tools that were called, minus
  15 points per invalid call, 10 per repeated tool, 5 per call of an unrequested tool and 25 per
  violated constraint (a preserved region changed more than the reference changed it, a
  non-photographic medium or a heavy texture under "keep it photorealistic", a forbidden
  tool); 0 when nothing was called although something was asked.

``overall`` is their mean and the quality ``r = overall / 20`` in [0, 5]. A task with nothing
to do scores 100 for leaving the picture alone. Planning metrics compare the called tools with
the oracle's: precision, recall, F1, IoU, value accuracy, and the Spearman correlation of the
order of the tools both called (1 with one shared tool, 0 with none).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import torch

from .features import clip, fine, ssim, to_work_size
from .oracle import Reference
from .tasks import Constraint, conflict
from .tools import ToolCall

Tensor = torch.Tensor

SCORE_NAMES: tuple[str, ...] = (
    "instruction_following", "visual_quality", "transformation_strength", "coherence",
    "semantic_accuracy", "technical_execution",
)  # fmt: skip
PLANNING_NAMES: tuple[str, ...] = ("precision", "recall", "f1", "iou", "value_accuracy", "spearman")

#: A preserved region changed by this much more (mean absolute) than the reference changed it
#: has been altered.
REGION_TOLERANCE = 0.02

_MASK_INDEX = {"sky": 0, "ground": 1, "vegetation": 2, "water": 3, "buildings": 4, "subject": 5}


@dataclass(frozen=True)
class Episode:
    """Everything a judge may look at for one episode.

    ``source``/``final`` are ``(3, H, W)`` in [0, 1]; ``masks`` ``(6, H, W)`` or None.
    ``calls`` are the valid calls in the order made; ``invalid`` counts the rejected ones.
    """

    source: Tensor
    final: Tensor
    reference: Reference
    calls: Sequence[ToolCall] = ()
    invalid: int = 0
    constraints: Sequence[Constraint] = ()
    masks: Tensor | None = None
    has_masks: bool = False


@dataclass(frozen=True)
class Scores:
    """The six scores (0-100), their mean, the quality r in [0, 5], planning metrics and the
    constraint violations found."""

    scores: dict[str, float]
    planning: dict[str, float]
    violations: tuple[str, ...] = field(default=())

    @property
    def overall(self) -> float:
        return sum(self.scores.values()) / len(self.scores)

    @property
    def r(self) -> float:
        return self.overall / 20.0

    def as_dict(self) -> dict[str, float]:
        return {**self.scores, "overall": self.overall, "r": self.r, **self.planning}


class Judge(Protocol):
    """Anything that scores a batch of episodes (a VLM or an HTTP endpoint judge plugs in here)."""

    def score(self, episodes: Sequence[Episode]) -> list[Scores]: ...


class MeasuredJudge:
    """The default judge: pixels and the call log, batched (see the module docstring)."""

    def score(self, episodes: Sequence[Episode]) -> list[Scores]:
        if not episodes:
            return []
        src = torch.stack([e.reference.source for e in episodes]).float()
        fin = to_work_size(torch.stack([e.final for e in episodes]).float())
        ref = torch.stack([e.reference.work for e in episodes]).float()
        image_scores = self._image_scores(src, fin, ref, episodes)
        out = []
        for i, e in enumerate(episodes):
            violations = self._violations(e, src[i], fin[i])
            scores = dict(image_scores[i])
            scores["technical_execution"] = self._technical(e, violations)
            out.append(
                Scores(
                    {k: scores[k] for k in SCORE_NAMES},
                    planning_metrics(e.calls, e.reference.plan),
                    violations,
                )
            )
        return out

    def _image_scores(
        self, src: Tensor, fin: Tensor, ref: Tensor, episodes: Sequence[Episode]
    ) -> list[dict[str, float]]:
        d = lambda a, b: (a - b).abs().mean((1, 2, 3))  # noqa: E731
        d_yr, d_xr, d_yx = d(fin, ref), d(src, ref), d(fin, src)  # (B,)
        eps = 1e-4
        nothing_asked = d_xr < eps
        semantic = (1 - d_yr / d_xr.clamp_min(eps)).clamp(0, 1)
        # how far along the requested change the result went (its projection on r - x)
        want, got = (ref - src).flatten(1), (fin - src).flatten(1)
        along = (want * got).sum(1) / (want * want).sum(1).clamp_min(1e-8)
        strength = torch.exp(-(torch.log(along.clamp_min(1e-6)) ** 2) / (2 * 0.4**2))
        base = torch.stack([e.reference.baseline for e in episodes]).float()  # per-task, cached
        coherence = torch.exp(-(base[:, 0] - ssim(fin, src)).clamp_min(0) / 0.1)
        # artifacts beyond what both the source and the reference already have
        excess = 4 * (clip(fin) - base[:, 1]).clamp_min(0) + 25 * (
            fine(fin) - base[:, 2]
        ).clamp_min(0)
        quality = torch.exp(-excess)
        follow = []
        for i, e in enumerate(episodes):
            without = e.reference.without
            if without.shape[0] == 0:
                follow.append(1.0 - float(d_yx[i] > 0.01))
                continue
            dk = (fin[i : i + 1] - without.float()).abs().mean((1, 2, 3))
            vis = (2 * dk / (d_yr[i] + dk).clamp_min(eps) - 1).clamp(0, 1)
            follow.append(float(vis.mean()))
        out = []
        for i in range(src.shape[0]):
            if nothing_asked[i]:  # leaving the picture alone is the right answer
                unchanged = float(torch.exp(-d_yx[i] / 0.02))
                s = dict.fromkeys(SCORE_NAMES[:-1], 100.0 * unchanged)
            else:
                s = {
                    "instruction_following": 100.0 * follow[i],
                    "visual_quality": 100.0 * float(quality[i]),
                    "transformation_strength": 100.0 * float(strength[i]),
                    "coherence": 100.0 * float(coherence[i]),
                    "semantic_accuracy": 100.0 * float(semantic[i]),
                }
            out.append(s)
        return out

    @staticmethod
    def _violations(e: Episode, src: Tensor, fin: Tensor) -> tuple[str, ...]:
        found = []
        masks = None if e.masks is None else to_work_size(e.masks[None].float())[0].round()
        change = (fin - src).abs().mean(0)
        # the oracle's own change there: spatial ops (blur, warps, mosaics) bleed across a
        # region's border even when the region is preserved, so only excess change counts
        allowed = (e.reference.work - src).abs().mean(0)
        for c in e.constraints:
            if c.kind in ("preserve_region", "preserve_subject"):
                region = "subject" if c.kind == "preserve_subject" else c.region
                if masks is None or not e.has_masks or region not in _MASK_INDEX:
                    continue
                m = masks[_MASK_INDEX[region]]
                if (
                    m.sum() > 0
                    and float(((change - allowed) * m).sum() / m.sum()) > REGION_TOLERANCE
                ):
                    found.append(f"{c.kind}:{region}")
            elif c.kind in ("keep_photorealistic", "avoid_tool"):
                # the call log decides: the rule of what contradicts the constraint is the one
                # the task generator follows (tasks.conflict)
                if any(conflict(k, c) for k in e.calls):
                    found.append(
                        c.kind if c.kind == "keep_photorealistic" else f"avoid_tool:{c.tool}"
                    )
            else:
                raise ValueError(f"unknown constraint kind {c.kind!r}")
        return tuple(found)

    @staticmethod
    def _technical(e: Episode, violations: Sequence[str]) -> float:
        wanted = {c.tool for c in e.reference.plan}
        called = [c.tool for c in e.calls]
        if not wanted:
            score = 100.0 if not called else 60.0
        elif not called:
            return 0.0
        else:
            score = 100.0 * len(wanted & set(called)) / len(wanted)
        repeats = len(called) - len(set(called))
        extra = sum(1 for t in called if t not in wanted)
        score -= 15 * e.invalid + 10 * repeats + 5 * extra + 25 * len(violations)
        return float(min(100.0, max(0.0, score)))


def planning_metrics(calls: Sequence[ToolCall], plan: Sequence[ToolCall]) -> dict[str, float]:
    """Tool-level precision, recall, F1, IoU; value accuracy; Spearman of the common order."""
    agent = list(dict.fromkeys(c.tool for c in calls))
    oracle = [c.tool for c in plan]
    p, o = set(agent), set(oracle)
    common = p & o
    precision = len(common) / len(p) if p else float(not o)
    recall = len(common) / len(o) if o else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    iou = len(common) / len(p | o) if p | o else 1.0
    pairs = {(c.tool, c.value) for c in calls}
    value_acc = sum((c.tool, c.value) in pairs for c in plan) / len(plan) if plan else 1.0
    shared = [t for t in oracle if t in common]
    if len(shared) >= 2:
        ra = [agent.index(t) for t in shared]
        rank = {v: i for i, v in enumerate(sorted(ra))}
        ra = [rank[v] for v in ra]
        n = len(shared)
        rho = 1 - 6 * sum((a - b) ** 2 for a, b in zip(ra, range(n), strict=True)) / (
            n * (n * n - 1)
        )
    else:  # one shared tool is trivially in order; none shares no order at all
        rho = float(len(shared) == 1)
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "iou": iou,
        "value_accuracy": value_acc,
        "spearman": rho,
    }
