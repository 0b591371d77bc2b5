"""Judges: score an episode's final image on the paper's six scores (0-100).

:class:`MeasuredJudge` (judge v2) measures pixels. It never reads an agent's reasons or claims;
it reads the source, the final image, the oracle's reference
(:class:`styling_env.oracle.Reference`), the task's constraints and the call log. Image
measures run at 64x64 on images rendered at the task's own resolution and area-resized.

**Credit per requested change.** With ``y`` the result, ``r`` the reference and ``r_k`` the
reference without its call ``k``, the result is decomposed by least squares along the
directions ``d_k = r - r_k`` (what call ``k`` adds) and, for conditional clauses, along the
change the ruled-out branch would make (:func:`decompose`):

- ``a_k``: how much of change ``k`` the result shows (1 as the reference, 0 as if left out);
- ``b_m``: how much of a ruled-out conditional branch it shows;
- the residual: change that is neither, in units of the request's mean change (``u``).

Each change earns ``credit_k = exp(-(s_k |a_k - 1| / 0.24)^4 / 2) * min(1, 2 a_k)``
(:func:`change_credit`: the strength error in strength units, gently shaped near the target,
steeply beyond 0.2). A call that moves no pixel toward its target has ``a_k = 0`` and earns
nothing, in any score. The order of calls does not enter: a result that shows every change at
the right strength gets full credit whatever order made it; an order that destroys an effect (a
medium painted over the snow) loses that effect's ``a_k``.

**Coverage gates the total.** With weights ``w_k`` (1 per call; a call chosen by a conditional
clause weighs as much as the rest of the request together),

    coverage = (sum_k w_k credit_k / (sum_k w_k + u + sum_m w_m b_m)) ^ 1.5

so k of n changes done score at most (k/n)^1.5 (half a request: 35%), a visible unrequested
change counts as a missing one (beyond a slack of 0.6 of a change: recipes do not commute
exactly, so a valid reordering leaves some residual), and resolving a conditional the wrong way
costs at least half. A result that did not move toward the request as a whole (global progress
``p < 0.5`` along ``r - x``) has its coverage scaled down by ``2p``. Constraint
violations multiply everything by ``1 - 0.6 severity`` per violated constraint, severity in
[0, 1] being how much of the request's change reached what the constraint protects (a
preserved region changed as much as the rest: 1; a forbidden tool's call: its change relative
to the request's) — a gross violation caps the score at 40.

The six scores, each 0-100:

- **instruction_following**: the visible share of each change, ``min(a_k, 1)``, in place of
  ``credit_k`` in the coverage formula;
- **transformation_strength**: the coverage itself (right changes at the right strength);
- **semantic_accuracy**: the coverage with unrequested and ruled-out changes counted twice
  (it became *that* picture and nothing else);
- **coherence**: structure kept as well as the reference keeps it (SSIM of luminance to the
  source), ``exp(-max(0, ssim(r, x) - ssim(y, x)) / 0.2)``, times the coverage;
- **visual_quality**: no clipping or noise beyond what the source and the reference have,
  ``exp(-(4 * excess clipped fraction + 25 * excess fine-detail energy))``, times the
  coverage — a clean picture that did not do what was asked earns nothing for being clean;
- **technical_execution**: 100 x coverage, minus 15 points per invalid call, 10 per repeated
  tool, 5 per call that changed nothing (whatever its tool, so a probing call reveals nothing
  about the request) and 5 per unrequested tool whose call changed the picture.

All are multiplied by the constraint factor. ``overall`` is their mean and the quality
``r = overall / 20`` in [0, 5]. A task with nothing to do scores 100 for leaving the picture
alone. Planning metrics compare the called tools with the oracle's: precision, recall, F1,
IoU, value accuracy, and the Spearman correlation of the order of the tools both called (1
with one shared tool, 0 with none); they are computed against the hidden plan, so the env
reveals them only when an episode is over. ``python -m experiments.validate_judge`` plays the
adversarial policies this design answers and prints their scores.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

import torch

from .actions import MASK_NAMES
from .features import clip, fine, ssim, to_work_size
from .oracle import Reference
from .tasks import Constraint, conflict
from .tools import ToolCall
from .tools.areas import GEOMETRIC_REGIONS, geometric_mask
from .tools.compose import is_modifier

Tensor = torch.Tensor

#: The judge's version, recorded in every dataset's metadata: 1 scored calls by the log and
#: the distance to one reference picture; 2 credits each requested change by its visible effect.
JUDGE_VERSION = 2

SCORE_NAMES: tuple[str, ...] = (
    "instruction_following", "visual_quality", "transformation_strength", "coherence",
    "semantic_accuracy", "technical_execution",
)  # fmt: skip
PLANNING_NAMES: tuple[str, ...] = ("precision", "recall", "f1", "iou", "value_accuracy", "spearman")

#: A preserved region changed by this much more (mean absolute) than the reference changed it
#: has been altered.
REGION_TOLERANCE = 0.02
#: Each violated constraint multiplies the scores by ``1 - VIOLATION_COST * severity``.
VIOLATION_COST = 0.6
#: A mean absolute change below this (0..1 units) is not visible: an idle call, a change the
#: source cannot show.
VISIBLE = 2e-3
#: A call whose change to the picture (mean absolute) is at most this did nothing.
IDLE = 1e-3
#: Width of the strength-error shaping, in strength units (see :func:`change_credit`).
STRENGTH_SIGMA = 0.24
#: Exponent of the strength-error shaping (see :func:`change_credit`).
STRENGTH_POWER = 4.0
#: Coverage enters the scores raised to this power (partial plans earn less than their share).
COVERAGE_POWER = 1.5
#: A visible unrequested change counts as this many missing ones.
UNREQUESTED_COST = 1.0
#: Residual change (in units of the request's mean change) that is not counted: recipes do not
#: commute exactly, so a valid reordering leaves a small residual.
UNREQUESTED_SLACK = 0.6
#: A loss of SSIM to the source this much beyond the reference's costs a factor e in coherence.
COHERENCE_SCALE = 0.2
#: Strength of the pull of each change's estimate toward the global progress (:func:`decompose`).
RIDGE = 0.3

_MASK_INDEX = {name: i for i, name in enumerate(MASK_NAMES)}  # mask channel of each region


@dataclass(frozen=True)
class Episode:
    """Everything a judge may look at for one episode.

    ``source``/``final`` are ``(3, H, W)`` in [0, 1]; ``masks`` ``(6, H, W)`` or None.
    ``calls`` are the valid calls in the order made; ``invalid`` counts the rejected ones;
    ``effects`` the mean absolute pixel change each valid call made (None: not measured, every
    call is taken to have changed the picture).
    """

    source: Tensor
    final: Tensor
    reference: Reference
    calls: Sequence[ToolCall] = ()
    invalid: int = 0
    constraints: Sequence[Constraint] = ()
    masks: Tensor | None = None
    has_masks: bool = False
    effects: Sequence[float] | None = None


@dataclass(frozen=True)
class Scores:
    """The six scores (0-100), their mean, the quality r in [0, 5], planning metrics, the
    constraint violations found and the request's coverage in [0, 1]."""

    scores: dict[str, float]
    planning: dict[str, float]
    violations: tuple[str, ...] = field(default=())
    coverage: float = 1.0

    @property
    def overall(self) -> float:
        return sum(self.scores.values()) / len(self.scores)

    @property
    def r(self) -> float:
        return self.overall / 20.0

    def as_dict(self) -> dict[str, float]:
        return {**self.scores, "overall": self.overall, "r": self.r, **self.planning}

    def visible_dict(self) -> dict[str, float]:
        """What an agent may see during an episode: the six scores, overall and r."""
        return {**self.scores, "overall": self.overall, "r": self.r}


class Judge(Protocol):
    """Anything that scores a batch of episodes (a VLM or an HTTP endpoint judge plugs in here)."""

    def score(self, episodes: Sequence[Episode]) -> list[Scores]: ...


class MeasuredJudge:
    """The default judge: pixels and the call log, batched (see the module docstring)."""

    version = JUDGE_VERSION

    def score(self, episodes: Sequence[Episode]) -> list[Scores]:
        if not episodes:
            return []
        src = torch.stack([e.reference.source for e in episodes]).float()
        fin = to_work_size(torch.stack([e.final for e in episodes]).float())
        quality = self._quality(src, fin, episodes)
        if fin.device.type != "cpu":
            # on a GPU the image work above is batched on the device; what follows per episode
            # is arithmetic on 64 px images and a few coefficients, done on the host after one
            # transfer (the references keep a host copy) instead of a sync per episode
            fin, quality = fin.cpu(), quality.cpu()
            episodes = [replace(e, reference=e.reference.on_host()) for e in episodes]
            src = torch.stack([e.reference.source for e in episodes]).float()
        ref = torch.stack([e.reference.work for e in episodes]).float()
        out = []
        for i, e in enumerate(episodes):
            severities = self._violations(e, src[i], fin[i])
            out.append(self._score_one(e, src[i], fin[i], ref[i], quality[i], severities))
        return out

    @staticmethod
    def _quality(src: Tensor, fin: Tensor, episodes: Sequence[Episode]) -> Tensor:
        """``(B, 2)``: coherence and visual quality of each result in [0, 1], before gating."""
        base = torch.stack([e.reference.baseline for e in episodes]).float()  # per-task, cached
        coherence = torch.exp(-(base[:, 0] - ssim(fin, src)).clamp_min(0) / COHERENCE_SCALE)
        # artifacts beyond what both the source and the reference already have
        excess = 4 * (clip(fin) - base[:, 1]).clamp_min(0) + 25 * (
            fine(fin) - base[:, 2]
        ).clamp_min(0)
        return torch.stack([coherence, torch.exp(-excess)], 1)

    def _score_one(
        self,
        e: Episode,
        src: Tensor,
        fin: Tensor,
        ref: Tensor,
        quality: Tensor,
        severities: dict[str, float],
    ) -> Scores:
        planning = planning_metrics(e.calls, e.reference.plan)
        violations = tuple(severities)
        protect = 1.0
        for sev in severities.values():
            protect *= 1.0 - VIOLATION_COST * sev
        k = len(e.reference.plan)
        change = e.reference.change  # measured once per task when the reference was built
        if change is None:
            change = float((ref - src).abs().mean())
        if k == 0 or change < VISIBLE:
            # nothing to do: leaving the picture alone is the right answer
            unchanged = math.exp(-float((fin - src).abs().mean()) / 0.02)
            scores = dict.fromkeys(SCORE_NAMES[:-1], 100.0 * unchanged * protect)
            scores["technical_execution"] = self._technical(e, unchanged * protect)
            return Scores({n: scores[n] for n in SCORE_NAMES}, planning, violations)
        m = decompose(e.reference, fin, ref)
        strengths = torch.tensor([c.strength for c in e.reference.plan], dtype=torch.float32)
        visible = m.along.clamp(0, 1)  # how much of each change is there (capped at all of it)
        credit = change_credit(m.along, strengths)  # ... and at the right strength
        w = e.reference.weights if e.reference.weights is not None else torch.ones(k)
        w = w.float() * m.measurable  # a change this source cannot show is not scored
        if float(w.sum()) <= 0:
            w = torch.ones(k)
        wrong_w = (
            e.reference.wrong_weights.float()
            if e.reference.wrong_weights is not None and m.wrong.numel()
            else torch.zeros(0)
        )
        wrong = float((wrong_w * m.wrong.clamp(0, 1)).sum())
        # a visible unrequested change counts as UNREQUESTED_COST missing ones, in units of
        # the request's mean change
        extra = UNREQUESTED_COST * m.unrequested
        denom = float(w.sum()) + extra + wrong
        # a result that did not move toward the request as a whole cannot be credited for parts
        # of it that the decomposition happens to find
        toward = min(1.0, max(0.0, 2.0 * m.progress))
        denom = denom / max(toward, 1e-6) if toward < 1 else denom
        follow = float((w * visible).sum()) / denom
        coverage = float((w * credit).sum()) / denom
        semantic = float((w * credit).sum()) / (denom + extra + wrong)
        # partial plans earn less than their share: 1 of 4 changes done is not a quarter of a
        # styled picture (COVERAGE_POWER > 1)
        coverage = coverage**COVERAGE_POWER
        follow = follow**COVERAGE_POWER
        semantic = semantic**COVERAGE_POWER
        gate = coverage * protect
        scores = {
            "instruction_following": 100.0 * follow * protect,
            "visual_quality": 100.0 * gate * float(quality[1]),
            "transformation_strength": 100.0 * gate,
            "coherence": 100.0 * gate * float(quality[0]),
            "semantic_accuracy": 100.0 * semantic * protect,
            "technical_execution": self._technical(e, gate),
        }
        return Scores(
            {n: float(min(100.0, max(0.0, scores[n]))) for n in SCORE_NAMES},
            planning,
            violations,
            coverage=coverage,
        )

    @staticmethod
    def _violations(e: Episode, src: Tensor, fin: Tensor) -> dict[str, float]:
        """Each violated constraint and its severity in (0, 1]: how much of the request's own
        change reached what the constraint protects."""
        found: dict[str, float] = {}
        if not e.constraints:  # most tasks: nothing to measure
            return found
        masks = (
            None
            if e.masks is None
            else to_work_size(e.masks[None].float())[0].round().to(src.device)
        )
        change = (fin - src).abs().mean(0)
        # the oracle's own change there: spatial ops (blur, warps, mosaics) bleed across a
        # region's border even when the region is preserved, so only excess change counts
        allowed = (e.reference.work - src).abs().mean(0)
        effects = list(e.effects) if e.effects is not None else [1.0] * len(e.calls)
        scale = max(float(allowed.mean()), VISIBLE)
        for c in e.constraints:
            if c.kind in ("preserve_region", "preserve_subject"):
                region = "subject" if c.kind == "preserve_subject" else c.region
                if region in GEOMETRIC_REGIONS:  # the frame's own areas: no masks needed
                    m = geometric_mask(region, *src.shape[-2:], src.device, src.dtype)
                elif masks is None or not e.has_masks or region not in _MASK_INDEX:
                    continue
                else:
                    m = masks[_MASK_INDEX[region]]
                if m.sum() <= 0:
                    continue
                excess = float(((change - allowed).clamp_min(0) * m).sum() / m.sum())
                # the request's change outside the protected region: what "as much as the rest"
                # means for this task
                outside = float((allowed * (1 - m)).sum() / (1 - m).sum().clamp_min(1))
                sev = (excess - REGION_TOLERANCE) / (0.5 * max(outside, VISIBLE))
                if sev > 0:
                    found[f"{c.kind}:{region}"] = min(1.0, sev)
            elif c.kind in ("keep_photorealistic", "avoid_tool"):
                # the call log names the offending calls (the rule the task generator follows,
                # tasks.conflict); their visible change says how much damage they did
                hit = sum(eff for k, eff in zip(e.calls, effects, strict=False) if conflict(k, c))
                if hit > IDLE:
                    name = c.kind if c.kind == "keep_photorealistic" else f"avoid_tool:{c.tool}"
                    found[name] = min(1.0, hit / (0.5 * scale))
            else:
                raise ValueError(f"unknown constraint kind {c.kind!r}")
        return found

    @staticmethod
    def _technical(e: Episode, gate: float) -> float:
        """The call log: the gated share of the request, minus penalties that do not depend on
        the hidden request (so probing calls reveal nothing): invalid, repeated and idle calls.
        An unrequested tool that changed the picture costs too (its change is visible)."""
        wanted = {c.tool for c in e.reference.plan}
        effects = list(e.effects) if e.effects is not None else [1.0] * len(e.calls)
        # the normal library's rules paint nothing, and a call a conditional rules out on this
        # picture changes nothing by design: neither is an idle call; rules may repeat
        exempt = _rule_calls(e.calls)
        called = [c.tool for c, x in zip(e.calls, exempt, strict=True) if not x]
        effects = [v for v, x in zip(effects, exempt, strict=False) if not x]
        idle = sum(1 for x in effects if x <= IDLE)
        repeats = len(called) - len(set(called))
        extra = sum(
            1 for t, x in zip(called, effects, strict=False) if t not in wanted and x > IDLE
        )
        score = 100.0 * gate - 15 * e.invalid - 10 * repeats - 5 * extra - 5 * idle
        return float(min(100.0, max(0.0, score)))


def _rule_calls(calls: Sequence[ToolCall]) -> list[bool]:
    """Per call: whether it is a rule (a ``normal`` constraint or compositional action other
    than ``graduated_effect``) or a branch of a ``conditional_transform`` (the next rendering
    call; the next two for ``.../then_else``), which the technical score does not count as
    idle or repeated."""
    out, branches = [], 0
    for c in calls:
        if is_modifier(c.tool):
            out.append(True)
            if c.tool == "conditional_transform" and c.strength > 0:
                branches = 2 if c.value.endswith("/then_else") else 1
        else:
            out.append(branches > 0)
            branches = max(0, branches - 1)
    return out


@dataclass(frozen=True)
class Decomposition:
    """A result decomposed along its reference's change directions (:func:`decompose`).

    Attributes:
        along: ``(K,)`` how much of each requested change the result shows (1 = as the
            reference, 0 = as if the call had been left out, >1 stronger).
        wrong: ``(M,)`` how much of each ruled-out conditional branch it shows.
        unrequested: the change that is neither, in units of the request's mean change.
        measurable: ``(K,)`` 1 where the call changes this source visibly at all, else 0.
        progress: how far the result went along the whole requested change (0 none, 1 all).
    """

    along: Tensor
    wrong: Tensor
    unrequested: float
    measurable: Tensor
    progress: float = 1.0


def decompose(reference: Reference, final: Tensor, ref: Tensor | None = None) -> Decomposition:
    r"""Decompose ``final - reference`` along the reference's directions (regularized least
    squares).

    With ``y`` the result (``(3, 64, 64)``), ``x`` the source, ``r`` the reference, ``d_k = r -
    r_k`` what call ``k`` adds and ``u_m`` what a ruled-out branch would add, first the global
    progress ``p = <y - x, r - x> / |r - x|^2`` (0 for no change, 1 for the reference), then

    .. math::  \min_{a, b} |y - r - \sum_k (a_k - 1) d_k - \sum_m b_m u_m|^2
               + \lambda \sum_k |d_k|^2 (a_k - p)^2 + \lambda \sum_m |u_m|^2 b_m^2

    with ``lambda = RIDGE``: recipes do not add up exactly and several changes can move the
    picture alike (night and winter both darken), so each ``a_k`` is pulled toward the global
    progress instead of swinging to large values of opposite sign. The residual is the
    unrequested change.
    """
    ref = reference.work.float() if ref is None else ref
    k = len(reference.plan)
    basis, gram = reference.basis, reference.gram
    if basis is None or gram is None:  # a reference built by hand: no conditionals
        basis = (ref[None] - reference.without.float()).flatten(1)
        gram = basis @ basis.T
    n = basis.shape[0]
    y = final.float().flatten()
    want = ref.flatten() - reference.source.float().flatten()
    p = float((y - reference.source.float().flatten()) @ want / (want @ want).clamp_min(1e-8))
    diff = y - ref.flatten()
    b = basis @ diff
    reg = RIDGE * gram.diagonal().clamp_min(1e-8)
    prior = torch.zeros(n, dtype=gram.dtype, device=gram.device)
    prior[:k] = p - 1.0  # a_k - 1 pulled toward p - 1; b_m toward 0
    g = gram + torch.diag(reg) + 1e-10 * torch.eye(n, dtype=gram.dtype, device=gram.device)
    c = torch.linalg.solve(g, b + reg * prior)
    resid = float((diff @ diff - 2 * c @ b + c @ gram @ c).clamp_min(0).sqrt())
    norms = gram.diagonal()[:k].clamp_min(0).sqrt()
    per_pixel = norms / math.sqrt(basis.shape[1])  # RMS change of each call
    measurable = (per_pixel > VISIBLE).float()
    unit = float(norms[measurable > 0].mean()) if bool(measurable.any()) else 1.0
    unrequested = max(0.0, resid / max(unit, 1e-8) - UNREQUESTED_SLACK)
    # K + M numbers: the rest of the scoring is scalar work, done on the host
    return Decomposition((1.0 + c[:k]).cpu(), c[k:].cpu(), unrequested, measurable.cpu(), p)


def change_credit(along: Tensor, strengths: Tensor) -> Tensor:
    """Credit ``(K,)`` in [0, 1] for requested changes shown ``along`` times as strongly as the
    reference shows them, whose oracle strengths are ``strengths``.

    The error is measured in strength units, ``e = s |a - 1|``, and shaped with
    ``exp(-(e / 0.24)^4 / 2)`` (0.98 at 0.1, 0.79 at 0.2, 0.30 at 0.3, 0.04 at 0.4): near
    misses keep most of their credit, gross ones lose it. A change less than half there is credited only in
    proportion (``min(1, 2a)``), so a weak target cannot be "done" by doing nothing.
    """
    a = along.clamp_min(0)
    err = strengths.to(a) * (a - 1).abs()
    shaped = torch.exp(-0.5 * (err / STRENGTH_SIGMA) ** STRENGTH_POWER)
    return shaped * (2 * a).clamp(max=1.0)


def planning_metrics(calls: Sequence[ToolCall], plan: Sequence[ToolCall]) -> dict[str, float]:
    """Tool-level precision, recall, F1, IoU; value accuracy; Spearman of the common order.
    The ``normal`` library's rules (``exclude_region``, ...) are not tools of a plan here: the
    oracle's plan states them as each call's preserved areas."""
    calls = [c for c in calls if not is_modifier(c.tool)]
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
