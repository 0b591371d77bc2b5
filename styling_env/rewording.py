"""Train tasks in other wordings: the same request, written anew from the training language.

A generated train task's words are drawn from streams of their own (``styling_env.wording``),
apart from its spec, so the spec can be written again as often as wanted. The embedded
planner's trainer uses it to show each dataset request in several wordings
(``agents.embedded.TrainConfig.rewordings``): augmentation of the language channel alone.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .tasks import MAX_INSTRUCTION, SPLITS, TEMPLATES, TIERS, Task, _image_info
from .wording import train_wording


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
    head, _, seed = task.task_id.rpartition("-")
    if task.split != "train" or head != f"{task.tier}-train" or not seed.isdigit():
        raise ValueError(
            f"only generated train tasks can be reworded (id '<tier>-train-<seed>'), got "
            f"{task.task_id!r} of split {task.split!r}"
        )
    if isinstance(variant, bool) or not isinstance(variant, int | np.integer) or variant < 0:
        raise ValueError(f"variant must be an int >= 0, got {variant!r}")
    if variant == 0:
        return task
    kind = _image_info(task.image_source, task.image_seed)[0] if task.constraints else "outdoor"
    key = (TIERS.index(task.tier), int(seed), SPLITS.index("train"), int(variant))
    words = train_wording(
        key, task.tier, TEMPLATES[task.tier]["train"], task.theme, task.targets,
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
