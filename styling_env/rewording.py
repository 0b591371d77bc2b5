"""Train tasks in other wordings: the same request, written anew from the training language.

A generated train task's words are drawn from streams of their own (``styling_env.wording``),
apart from its spec, so the spec can be written again as often as wanted. The embedded
planner's trainer uses it to show each dataset request in several wordings
(``agents.embedded.TrainConfig.rewordings``): augmentation of the language channel alone.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .tasks import MAX_INSTRUCTION, SPLITS, TEMPLATES, TIERS, Task, _image_info, sample_task
from .wording import train_wording


def train_key(task_id: str) -> tuple[str, int] | None:
    """``(tier, seed)`` of a generated train task's id ``<tier>-train-<seed>``, else None."""
    tier, sep, seed = task_id.partition("-train-")
    return (tier, int(seed)) if sep and tier in TIERS and seed.isdigit() else None


def generated_train_task(task_id: str, instruction: str) -> Task | None:
    """The train task ``task_id`` names, if :func:`~styling_env.tasks.sample_task` gives it
    with exactly these words (else None: an imported request, another image source or
    another version of the language, which cannot be reworded faithfully)."""
    key = train_key(task_id)
    if key is None:
        return None
    task = sample_task(*key)
    return task if task.instruction == instruction else None


def reworded(task: Task, variant: int) -> Task:
    """``task``, a generated train task, in its ``variant``-th other training wording: the same
    spec, image and id, the request written anew from the training language (another frame,
    other phrases and hedges, its own surface noise; ``variant=0`` is the task's own words).

    The embedded planner's trainer uses it to show each dataset request in several wordings
    (``TrainConfig.rewordings``): augmentation of the language alone, the spec and so the
    teacher's calls unchanged. Held-out and free-text tasks are never reworded.

    Raises:
        ValueError: a task not drawn by :func:`sample_task` for the train split (its id is not
            ``<tier>-train-<seed>``), or a negative ``variant``.
    """
    key = train_key(task.task_id)
    if task.split != "train" or key is None or key[0] != task.tier:
        raise ValueError(
            f"only generated train tasks can be reworded (id '<tier>-train-<seed>'), got "
            f"{task.task_id!r} of split {task.split!r}"
        )
    if isinstance(variant, bool) or not isinstance(variant, int | np.integer) or variant < 0:
        raise ValueError(f"variant must be an int >= 0, got {variant!r}")
    if variant == 0:
        return task
    kind = _image_info(task.image_source, task.image_seed)[0] if task.constraints else "outdoor"
    words = train_wording(
        (TIERS.index(task.tier), key[1], SPLITS.index("train"), int(variant)), task.tier, TEMPLATES[task.tier]["train"], task.theme, task.targets,
        task.constraints, task.conditionals, kind, MAX_INSTRUCTION,
    )  # fmt: skip
    return replace(
        task,
        instruction=words.instruction,
        template_id=words.template_id,
        constraints=tuple(
            replace(c, text=t)
            for c, t in zip(task.constraints, words.constraint_texts, strict=True)
        ),
        conditionals=tuple(
            replace(c, text=t)
            for c, t in zip(task.conditionals, words.conditional_texts, strict=True)
        ),
    )
