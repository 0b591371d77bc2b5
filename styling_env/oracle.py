"""The oracle: the canonical plan for a task, with strengths solved for each source image.

A target asks for a value at a target strength, as it would look on a typical picture. A given
source may already be part-way there: a dark photo needs less ``night_moonlit`` than a bright
one, a snowy scene less ``snow_falling``. The oracle measures the source's *headroom* for the
value — the pixel change a full-strength render causes on this source, relative to the mean
change on the calibration corpus (:func:`styling_env.signatures.full_change`) — and scales the
target strength by it:

.. math::  s_i = \\operatorname{clip}\\big(s^{target} \\cdot
           \\operatorname{clip}(d(x_i, f_v(x_i, 1)) / \\bar d_v,\\ 0.3,\\ 1.5),\\ 0.05,\\ 1\\big)

Calls are ordered canonically (:data:`TOOL_ORDER`: content, season and weather, light, grade,
overlays, medium), and preservation constraints become ``preserve`` regions of every call.
The plan applied to the source is the judge's reference and the upper bound for agents.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from .features import clip, fine, ssim, to_work_size
from .images import ImageBatch
from .signatures import full_change, pixel_distance
from .tasks import Target, Task
from .tools import ToolCall, apply_plan, apply_recipe
from .tools.vocabulary import TOOL_ORDER, value_index

Tensor = torch.Tensor

#: Bounds of the headroom factor: a source never gets less than 0.3x or more than 1.5x the
#: target strength (beyond that the measurement says more about the picture than the value).
HEADROOM = (0.3, 1.5)
#: Solved strengths are kept in [MIN_STRENGTH, 1] and rounded to 0.01 (plans are text too).
MIN_STRENGTH = 0.05


def canonical(targets: Sequence[Target]) -> list[Target]:
    """Targets sorted in canonical tool order."""
    return sorted(targets, key=lambda t: TOOL_ORDER.index(t.tool))


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
    mean_change = full_change()
    solved: dict[tuple[int, int], float] = {}
    for (tool, value), where in groups.items():
        sel = torch.tensor([i for i, _ in where])
        with torch.no_grad():
            y = apply_recipe(
                work[sel], tool, value, 1.0,
                masks=None if wmasks is None else wmasks[sel],
                has_masks=None if has_masks is None else has_masks[sel],
            )  # fmt: skip
        room = pixel_distance(y, work[sel]) / mean_change[value_index(tool, value)]
        room = room.clamp(*HEADROOM)
        for j, (i, k) in enumerate(where):
            s = float(ordered[i][k].strength) * float(room[j])
            solved[(i, k)] = round(min(1.0, max(MIN_STRENGTH, s)), 2)
    plans = []
    for i, ts in enumerate(ordered):
        params = {"preserve": tuple(preserve[i])} if preserve[i] else {}
        plans.append(
            [ToolCall(t.tool, t.value, solved[(i, k)], params=params) for k, t in enumerate(ts)]
        )
    return plans


@dataclass(frozen=True)
class Reference:
    """What the judge compares an episode's result with, built once per task at reset.

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
    """

    plan: tuple[ToolCall, ...]
    source: Tensor
    image: Tensor
    work: Tensor
    without: Tensor
    baseline: Tensor


def build_references(
    images: Tensor,
    targets: Sequence[Sequence[Target]],
    masks: Tensor | None = None,
    has_masks: Tensor | None = None,
    preserve: Sequence[tuple[str, ...]] | None = None,
) -> list[Reference]:
    """Solve the oracle plans and render the references and their leave-one-out variants."""
    plans = solve_plans(images, targets, masks, has_masks, preserve)
    full = apply_plan(images, plans, masks, has_masks)
    work_src = to_work_size(images)
    wmasks = None if masks is None else to_work_size(masks.float()).round()
    # every leave-one-out variant of every image, rendered as one batch
    rows, loo = [], []
    for i, plan in enumerate(plans):
        for k in range(len(plan)):
            rows.append(i)
            loo.append(plan[:k] + plan[k + 1 :])
    without = None
    if rows:
        sel = torch.tensor(rows)
        without = apply_plan(
            work_src[sel], loo,
            None if wmasks is None else wmasks[sel],
            None if has_masks is None else has_masks[sel],
        )  # fmt: skip
    refs, j = [], 0
    work_full = to_work_size(full)
    baseline = torch.stack(
        [
            ssim(work_full, work_src),
            torch.maximum(clip(work_full), clip(work_src)),
            torch.maximum(fine(work_full), fine(work_src)),
        ],
        1,
    )
    for i, plan in enumerate(plans):
        k = len(plan)
        w = without[j : j + k] if k else work_full[i : i + 1][:0]
        refs.append(Reference(tuple(plan), work_src[i], full[i], work_full[i], w, baseline[i]))
        j += k
    return refs


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
    on its source, constraints turned into preserved regions)."""
    batch = ImageBatch.cat([t.source_image(size, device) for t in tasks])
    targets = [t.resolved_targets(batch.pixels[i]) for i, t in enumerate(tasks)]
    preserve = [t.preserved_regions() for t in tasks]
    refs = build_references(batch.pixels, targets, batch.masks, batch.has_masks, preserve)
    return batch, refs
