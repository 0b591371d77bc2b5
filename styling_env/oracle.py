"""The oracle: the canonical plan for a task, with strengths solved for each source image.

A target asks for a value at a target strength, as it would look on a typical picture. A given
source may already be part-way there: a dark photo needs less ``night_moonlit`` than a bright
one, a snowy scene less ``snow_falling``. The oracle measures the source's *headroom* for the
value — the pixel change a full-strength render causes on this source, relative to the mean
change on the calibration corpus (:func:`styling_env.signatures.full_change`) — and scales the
target strength by it:

.. math::  s_i = \\operatorname{clip}\\big(s^{target} \\cdot
           \\operatorname{clip}(d(x_i, f_v(x_i, 1)) / \\bar d_v,\\ 0.3,\\ 1.5),\\ 0.05,\\ 1\\big)

Calls are ordered canonically (:data:`CALL_ORDER`: content, season and weather, light, grade,
overlays, medium), and preservation constraints become ``preserve`` regions of every call.
The plan applied to the source is the judge's reference and the upper bound for agents.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, fields

import torch

from .features import clip, fine, ssim, to_work_size
from .images import ImageBatch
from .signatures import pixel_distance, value_change
from .tasks import Target, Task
from .tools import ToolCall, apply_calls, apply_recipe
from .tools.apply import reads_masks
from .tools.vocabulary import CALL_ORDER, GEOMETRIC_REGIONS

Tensor = torch.Tensor

#: Bounds of the headroom factor: a source never gets less than 0.3x or more than 1.5x the
#: target strength (beyond that the measurement says more about the picture than the value).
HEADROOM = (0.3, 1.5)
#: Solved strengths are kept in [MIN_SOLVED_STRENGTH, 1] and rounded to 0.01 (plans are text
#: too); not the tasks' MIN_STRENGTH (0.2), the least strength a target asks for.
MIN_SOLVED_STRENGTH = 0.05


def canonical(targets: Sequence[Target]) -> list[Target]:
    """Targets sorted in canonical tool order."""
    return sorted(targets, key=lambda t: CALL_ORDER.index(t.tool))


def solve_plans(
    images: Tensor,
    targets: Sequence[Sequence[Target]],
    masks: Tensor | None = None,
    has_masks: Tensor | None = None,
    preserve: Sequence[tuple[str, ...]] | None = None,
) -> list[list[ToolCall]]:
    """Oracle plans for a batch: one list of calls per image, strengths solved per image.

    Args:
        images: ``(B, 3, H, W)`` sources in [0, 1].
        targets: per image, its targets (any order; at most one per tool).
        masks, has_masks: semantic masks (used when ``preserve`` names regions).
        preserve: per image, the regions every call must leave untouched.
    """
    b = images.shape[0]
    if len(targets) != b:
        raise ValueError(f"got {len(targets)} target lists for {b} images")
    preserve = preserve or [()] * b
    work = to_work_size(images)
    wmasks = None if masks is None else to_work_size(masks.float()).round()
    ordered = [canonical(t) for t in targets]
    groups: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    for i, ts in enumerate(ordered):
        for k, t in enumerate(ts):
            groups[(t.tool, t.value)].append((i, k))
    solved: dict[tuple[int, int], float] = {}
    for (tool, value), where in groups.items():
        sel = torch.tensor([i for i, _ in where])
        with torch.no_grad():
            sub_masks = None if wmasks is None else wmasks[sel]
            sub_known = None if has_masks is None else has_masks[sel]
            if tool == "graduated_effect":  # no recipe: a ramp over another value's render
                y = apply_calls(work[sel], ToolCall(tool, value, 1.0), sub_masks, sub_known)
            else:
                y = apply_recipe(work[sel], tool, value, 1.0, masks=sub_masks, has_masks=sub_known)
        room = pixel_distance(y, work[sel]) / value_change(tool, value)
        room = room.clamp(*HEADROOM)
        for j, (i, k) in enumerate(where):
            s = float(ordered[i][k].strength) * float(room[j])
            solved[(i, k)] = round(min(1.0, max(MIN_SOLVED_STRENGTH, s)), 2)
    plans = []
    for i, ts in enumerate(ordered):
        # a preserve needs masks (without them the env refuses the call): an image without
        # masks, e.g. a photo under a user's "keep the subject" request, gets none
        # (a geometric area, the normal library's, needs no masks)
        known = has_masks is None or bool(has_masks[i])
        keep = tuple(r for r in preserve[i] if known or r in GEOMETRIC_REGIONS)
        params = {"preserve": keep} if keep else {}
        plans.append(
            [ToolCall(t.tool, t.value, solved[(i, k)], params=params) for k, t in enumerate(ts)]
        )
    return plans


@dataclass(frozen=True)
class Reference:
    """What the judge compares an episode's result with, built once per task at reset.

    Every image here is rendered at the task's full resolution and then area-resized to the
    judge's working resolution (64 px), so the result and its references differ only by what
    was done, never by the resolution a recipe ran at.

    Attributes:
        plan: the oracle's calls, in canonical order.
        source: ``(3, 64, 64)`` the source at the judge's working resolution.
        image: ``(3, H, W)`` the source with the plan applied (full resolution).
        work: ``(3, 64, 64)`` the same at the judge's working resolution.
        without: ``(K, 3, 64, 64)``: the reference with call ``k`` left out, one per call —
            what the picture would look like had that part of the request been ignored.
        baseline: ``(3,)`` what the judge compares every step with, measured once:
            SSIM(reference, source), and the larger clipped fraction and fine-detail energy of
            the source and the reference.
        weights: ``(K,)`` how much each call counts toward the request (1; a call chosen by a
            conditional clause counts as much as the rest of the request together).
        wrong: ``(M, 3, 64, 64)``: for each conditional clause, the reference had the clause
            been resolved the other way — a change the request rules out on this image.
        wrong_base: ``(M,)`` index of the call the wrong branch replaces (-1: it adds a call).
        wrong_weights: ``(M,)`` how much a visible wrong branch costs.
        basis: ``(K + M, 3 * 64 * 64)`` the directions the judge decomposes a result along:
            ``work - without[k]`` (what call ``k`` adds) and each wrong branch's own change.
        gram: ``(K + M, K + M)`` their inner products (``basis @ basis.T``), computed once.
        change: the mean absolute change from ``source`` to ``work`` (below the judge's
            ``VISIBLE`` the task has nothing to do on this source), measured once; None in a
            reference built by hand (the judge measures it then).
    """

    plan: tuple[ToolCall, ...]
    source: Tensor
    image: Tensor
    work: Tensor
    without: Tensor
    baseline: Tensor
    weights: Tensor | None = None
    wrong: Tensor | None = None
    wrong_base: Tensor | None = None
    wrong_weights: Tensor | None = None
    basis: Tensor | None = None
    gram: Tensor | None = None
    change: float | None = None
    _host: Reference | None = field(default=None, init=False, repr=False, compare=False)

    def on_host(self) -> Reference:
        """This reference with every tensor in host memory: itself on the CPU; on a GPU a copy
        made on first use and kept (the judge's per-episode arithmetic on 64 px images and a
        handful of coefficients runs on the host, so a step needs one transfer, not one per
        episode)."""
        if self.source.device.type == "cpu":
            return self
        if self._host is None:
            moved = {
                f.name: v.cpu() if isinstance(v, Tensor) else v
                for f in fields(self)
                if f.init
                for v in (getattr(self, f.name),)
            }
            object.__setattr__(self, "_host", Reference(**moved))
        return self._host


def _conditional_weight(n_calls: int) -> float:
    """A conditional clause weighs as much as the rest of the request (at least one call)."""
    return float(max(1, n_calls - 1))


def build_references(
    images: Tensor,
    targets: Sequence[Sequence[Target]],
    masks: Tensor | None = None,
    has_masks: Tensor | None = None,
    preserve: Sequence[tuple[str, ...]] | None = None,
    conditional: Sequence[Sequence[tuple[Target | None, Target | None]]] | None = None,
) -> list[Reference]:
    """Solve the oracle plans and render the references, their leave-one-out variants and the
    wrong branches of conditional clauses.

    Args:
        images, targets, masks, has_masks, preserve: as :func:`solve_plans`.
        conditional: per image, one ``(chosen, other)`` pair of targets per conditional clause
            (either may be ``None``: the branch asks for nothing); ``chosen`` must be among the
            image's ``targets``.
    """
    b = images.shape[0]
    conditional = conditional or [()] * b
    preserve = preserve or [()] * b
    # a wrong branch is the image's own targets with one clause resolved the other way
    wrong_sets: list[tuple[int, int, list[Target]]] = []  # (image, clause, targets)
    for i, clauses in enumerate(conditional):
        for m, (chosen, other) in enumerate(clauses):
            ts = [t for t in targets[i] if chosen is None or t.tool != chosen.tool]
            ts = [t for t in ts if other is None or t.tool != other.tool]
            wrong_sets.append((i, m, ts + ([other] if other is not None else [])))
    # a solved strength depends only on the image and the target, so beyond the main plans
    # only the ruled-out targets are solved (in the same batch)
    extra = [(i, t) for i, _, ts in wrong_sets for t in ts[-1:] if t not in targets[i]]
    rows = list(range(b)) + [i for i, _ in extra]
    all_targets = [list(t) for t in targets] + [[t] for _, t in extra]
    sel = torch.tensor(rows, dtype=torch.long, device=images.device)
    sub_masks = None if masks is None else masks[sel]
    sub_known = None if has_masks is None else has_masks[sel]
    solved = solve_plans(
        images[sel], all_targets, sub_masks, sub_known, [preserve[i] for i in rows]
    )
    main_plans = solved[:b]
    call_of: dict[tuple[int, Target], ToolCall] = {}
    for i, plan in enumerate(main_plans):
        call_of.update(((i, t), c) for t, c in zip(canonical(targets[i]), plan, strict=True))
    for (i, t), plan in zip(extra, solved[b:], strict=True):
        call_of[(i, t)] = plan[0]
    plans = main_plans + [[call_of[(i, t)] for t in canonical(ts)] for i, _, ts in wrong_sets]
    # one batch: the references, their leave-one-out variants and the wrong branches
    render_rows, render_plans = list(range(b)), list(main_plans)
    for i, plan in enumerate(main_plans):
        for k in range(len(plan)):
            render_rows.append(i)
            render_plans.append(plan[:k] + plan[k + 1 :])
    for j, (i, _, _) in enumerate(wrong_sets):
        render_rows.append(i)
        render_plans.append(plans[b + j])
    rendered = render_shared(images, render_rows, render_plans, masks, has_masks)
    full = rendered[:b]
    work_all = to_work_size(rendered)
    work_full, work_src = work_all[:b], to_work_size(images)
    baseline = torch.stack(
        [
            ssim(work_full, work_src),
            torch.maximum(clip(work_full), clip(work_src)),
            torch.maximum(fine(work_full), fine(work_src)),
        ],
        1,
    )
    refs, j = [], b
    wrong_start = b + sum(len(p) for p in main_plans)
    by_image: dict[int, list[int]] = defaultdict(list)
    for w, (i, _, _) in enumerate(wrong_sets):
        by_image[i].append(w)
    for i, plan in enumerate(main_plans):
        k = len(plan)
        without = work_all[j : j + k]
        j += k
        tools = [c.tool for c in plan]
        weights = torch.ones(k)
        wrong, wrong_base, wrong_w = [], [], []
        for w, (chosen, _) in zip(by_image[i], conditional[i], strict=True):
            base = tools.index(chosen.tool) if chosen is not None else -1
            if base >= 0:
                weights[base] = _conditional_weight(k)
            wrong.append(work_all[wrong_start + w])
            wrong_base.append(base)
            wrong_w.append(_conditional_weight(k) if base >= 0 else float(max(1, k)))
        wrong_t = torch.stack(wrong) if wrong else work_full[i : i + 1][:0]
        base_t = torch.tensor(wrong_base, dtype=torch.long)
        directions = [work_full[i] - without[kk] for kk in range(k)]
        directions += [
            wrong_t[m] - (without[int(base_t[m])] if base_t[m] >= 0 else work_full[i])
            for m in range(len(wrong))
        ]
        basis = (
            torch.stack(directions).flatten(1).float()
            if directions
            else work_full.new_zeros(0, work_full[i].numel())
        )
        refs.append(
            Reference(
                tuple(plan), work_src[i], full[i], work_full[i], without, baseline[i],
                weights, wrong_t, base_t, torch.tensor(wrong_w), basis, basis @ basis.T,
                float((work_full[i].float() - work_src[i].float()).abs().mean()),
            )
        )  # fmt: skip
    return refs


def render_shared(
    images: Tensor,
    rows: Sequence[int],
    plans: Sequence[Sequence[ToolCall]],
    masks: Tensor | None = None,
    has_masks: Tensor | None = None,
) -> Tensor:
    """``plans[j]`` applied to ``images[rows[j]]``, ``(len(plans), 3, H, W)``, rendering each
    distinct prefix of an image's plans once.

    A reference and its leave-one-out variants share prefixes (the variant without call ``k``
    is the reference's first ``k`` calls, then the rest), and so do the wrong branches of
    conditional clauses: the plans of one image form a tree of calls, rendered here one depth
    at a time with one :func:`apply_calls` per depth for the whole batch. A request of ``K``
    calls costs ``K (K + 1) / 2`` call renders instead of ``K^2``. The results equal
    :func:`styling_env.tools.apply_plan` of the same plans up to the last bits of a few
    recipes' convolutions, which differ with the batch they run in.
    """
    if len(rows) != len(plans):
        raise ValueError(f"got {len(rows)} rows for {len(plans)} plans")
    # node ids per depth; a node is (row, parent node at the previous depth, call); depth 0 is
    # the image row itself
    levels: list[dict[tuple[int, int, ToolCall], int]] = []
    ends: list[tuple[int, int]] = []  # per plan: (depth, node); depth 0 -> node is the row
    for r, plan in zip(rows, plans, strict=True):
        node = int(r)
        for d, call in enumerate(plan):
            if d == len(levels):
                levels.append({})
            node = levels[d].setdefault((int(r), node, call), len(levels[d]))
        ends.append((len(plan), node))
    states = [images]
    for d, level in enumerate(levels):
        keys = list(level)  # insertion order = node ids
        parent = torch.tensor([p for _, p, _ in keys], dtype=torch.long, device=images.device)
        row = torch.tensor([r for r, _, _ in keys], dtype=torch.long, device=images.device)
        calls = [c for _, _, c in keys]
        known = masks is not None and any(reads_masks(c) for c in calls)  # else not gathered
        states.append(
            apply_calls(
                states[d][parent],
                calls,
                masks[row] if known else None,
                has_masks[row] if known and has_masks is not None else None,
            )
        )
    if not plans:
        return images[:0]
    # one gather per depth, then back into the plans' order
    out = images.new_empty((len(plans), *images.shape[1:]))
    by_depth: dict[int, list[int]] = defaultdict(list)
    for j, (d, _) in enumerate(ends):
        by_depth[d].append(j)
    for d, js in by_depth.items():
        sel = torch.tensor([ends[j][1] for j in js], dtype=torch.long, device=images.device)
        out[torch.tensor(js, dtype=torch.long, device=images.device)] = states[d][sel]
    return out


def oracle_plan(task: Task, size: int = 128) -> list[ToolCall]:
    """The oracle's plan for a :class:`styling_env.Task` on its own source image at ``size``."""
    batch = task.source_image(size)
    targets = [task.resolved_targets(batch.pixels[0])]
    preserve = [task.preserved_regions()]
    return solve_plans(batch.pixels, targets, batch.masks, batch.has_masks, preserve)[0]


def task_references(
    tasks: Sequence[Task], size: int = 128, device="cpu"
) -> tuple[ImageBatch, list[Reference]]:
    """The tasks' source images as one batch, and each task's reference (conditionals resolved
    on its source, constraints turned into preserved regions): :func:`task_sources`, then
    :func:`source_references`."""
    batch = task_sources(tasks, size, device)
    return batch, source_references(tasks, batch)


def task_sources(tasks: Sequence[Task], size: int = 128, device="cpu") -> ImageBatch:
    """The tasks' source images (rendered, bundled or the user's) as one batch."""
    return ImageBatch.cat([t.source_image(size, device) for t in tasks])


def source_references(tasks: Sequence[Task], batch: ImageBatch) -> list[Reference]:
    """Each task's reference on its source ``batch.pixels[i]`` (see :func:`task_references`)."""
    if batch.pixels.shape[0] != len(tasks):
        raise ValueError(f"got {batch.pixels.shape[0]} source images for {len(tasks)} tasks")
    targets = [t.resolved_targets(batch.pixels[i]) for i, t in enumerate(tasks)]
    preserve = [t.preserved_regions() for t in tasks]
    conditional = [conditional_branches(t, batch.pixels[i]) for i, t in enumerate(tasks)]
    return build_references(
        batch.pixels, targets, batch.masks, batch.has_masks, preserve, conditional
    )


def conditional_branches(task: Task, image: Tensor) -> list[tuple[Target | None, Target | None]]:
    """Per conditional clause of ``task``, ``(chosen, other)``: the branch its predicate picks
    on ``image`` ``(3, H, W)`` and the one it rules out (either may be ``None``)."""
    out = []
    for cond in task.conditionals:
        holds = cond.holds(image)
        out.append((cond.then, cond.otherwise) if holds else (cond.otherwise, cond.then))
    return out
