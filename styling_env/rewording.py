"""Train tasks in other wordings: the same request, written anew from the training language.

A generated train task's words are drawn from streams of their own (``styling_env.wording``),
apart from its spec, so the spec can be written again as often as wanted. The embedded
planner's trainer uses it to show each dataset request in several wordings
(``agents.embedded.TrainConfig.rewordings``): augmentation of the language channel alone.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .library_tasks import LIBRARY_SALT, sample_library_task
from .tasks import MAX_INSTRUCTION, SPLITS, TEMPLATES, TIERS, Task, _image_info, sample_task
from .tools.library_tables import LIBRARY_NAMES
from .wording import train_wording


def train_key(task_id: str) -> tuple[str, int] | None:
    """``(tier, seed)`` of a generated train task's id ``<tier>-train-<seed>``, else None."""
    tier, sep, seed = task_id.partition("-train-")
    return (tier, int(seed)) if sep and tier in TIERS and seed.isdigit() else None


def library_train_key(task_id: str) -> tuple[str, str, int] | None:
    """``(tier, library, seed)`` of a generated train task of another action library, id
    ``<tier>-<library>-train-<seed>`` (``styling_env.library_tasks``), else None."""
    head, sep, seed = task_id.partition("-train-")
    tier, _, name = head.partition("-")
    ok = sep and tier in TIERS and name in LIBRARY_NAMES and name != "v2" and seed.isdigit()
    return (tier, name, int(seed)) if ok else None


def generated_train_task(task_id: str, instruction: str) -> Task | None:
    """The train task ``task_id`` names, if :func:`~styling_env.tasks.sample_task` (or, for
    another library's id, :func:`~styling_env.library_tasks.sample_library_task`) gives it
    with exactly these words (else None: an imported request, another image source or
    another version of the language, which cannot be reworded faithfully)."""
    key = train_key(task_id)
    lib_key = library_train_key(task_id)
    if key is not None:
        task = sample_task(*key)
    elif lib_key is not None:
        tier, name, seed = lib_key
        task = sample_library_task(tier, seed, "train", library=name)
    else:
        return None
    return task if task.instruction == instruction else None


def reworded(task: Task, variant: int) -> Task:
    """``task``, a generated train task, in its ``variant``-th other training wording: the same
    spec, image and id, the request written anew from the training language (another frame,
    other phrases and hedges, its own surface noise; ``variant=0`` is the task's own words).

    The embedded planner's trainer uses it to show each dataset request in several wordings
    (``TrainConfig.rewordings``): augmentation of the language alone, the spec and so the
    teacher's calls unchanged. Held-out and free-text tasks are never reworded.

    A train task of another action library (id ``<tier>-<library>-train-<seed>``) is reworded
    from its own streams the same way.

    Raises:
        ValueError: a task not drawn by :func:`sample_task` (or ``sample_library_task``) for the
            train split (its id is not ``<tier>-train-<seed>`` or
            ``<tier>-<library>-train-<seed>``), or a negative ``variant``.
    """
    key = train_key(task.task_id)
    lib_key = library_train_key(task.task_id)
    if lib_key is not None and lib_key[0] == task.tier and lib_key[1] == task.library:
        stream: tuple[int, ...] = (
            TIERS.index(task.tier),
            lib_key[2],
            SPLITS.index("train"),
            LIBRARY_SALT,
            LIBRARY_NAMES.index(task.library),
        )  # fmt: skip  (the library task's own key: library_tasks.sample_library_task)
    elif key is not None and key[0] == task.tier and task.library == "v2":
        stream = (TIERS.index(task.tier), key[1], SPLITS.index("train"))
    else:
        stream = ()
    if task.split != "train" or not stream:
        raise ValueError(
            f"only generated train tasks can be reworded (id '<tier>-train-<seed>' or "
            f"'<tier>-<library>-train-<seed>'), got {task.task_id!r} of split {task.split!r}"
        )
    if isinstance(variant, bool) or not isinstance(variant, int | np.integer) or variant < 0:
        raise ValueError(f"variant must be an int >= 0, got {variant!r}")
    if variant == 0:
        return task
    kind = _image_info(task.image_source, task.image_seed)[0] if task.constraints else "outdoor"
    words = train_wording(
        (*stream, int(variant)), task.tier, TEMPLATES[task.tier]["train"], task.theme, task.targets,
        task.constraints, task.conditionals, kind, MAX_INSTRUCTION, task.library,
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
