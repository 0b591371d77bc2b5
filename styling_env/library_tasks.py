"""Tasks drawn in the ``normal`` and ``v3`` action libraries.

A library task starts from the ``v2`` task of the same ``(tier, seed, split, image_source)``
(its image, theme, constraints and conditional clause) and adapts the spec so that it needs
what the library adds and holds only what it can express, from a random stream of its own:

- ``v3``: each target becomes a value the coarser base tools have a word for (a v2 value
  without one is swapped for one of the same tool that has), and one (Simple) or one to two
  (Regular, Complex) targets of the twenty new styling actions join (film grain, a tilt-shift
  lens, Rembrandt lighting, ...); the plan fits the library's 5 calls (base targets are
  dropped at random until it does). A conditional clause whose branches the library cannot
  word is dropped.
- ``normal``: half the tasks ask for a graduated effect ("fog thinning out towards the top",
  ``graduated_effect``: in place of one target on Simple, added on Regular and Complex), and a
  Complex task (60%) asks to keep a geometric area as it is ("leave the left half exactly as it
  is"), which only ``exclude_region`` can express.

The request is written anew from the adapted spec with the tier's own writer
(:func:`styling_env.tasks.write_request`: held-out frames on ``test``, the training language on
``train``). The oracle plans these tasks with the same solver as any other; the judge credits
them by their visible effect like any other. Task ids are ``<tier>-<library>-<split>-<seed>``.

>>> t = sample_library_task("complex", 7, "test", library="v3")
>>> t.library, len(t.resolved_targets()) <= 5
('v3', True)
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

from .libraries import LIBRARY_NAMES, Library, check_library, library
from .tasks import (
    _ORDER,
    MAX_INSTRUCTION,
    SPLITS,
    TIERS,
    Conditional,
    Constraint,
    Target,
    Task,
    _check_n,
    _check_seed,
    _draw_strength,
    conflicts,
    sample_task,
    write_request,
)
from .tools.vocabulary import GEOMETRIC_REGIONS, NORMAL_ACTIONS, V3_ACTIONS
from .wording import area_keep_phrase, value_label

#: Seeds a library task's own random stream apart from the v2 task's (``styling_env.rewording``
#: words a library train task anew from the same streams).
LIBRARY_SALT = 1919
_SALT = LIBRARY_SALT
_TRIES = 50
#: ``normal``: chance of a graduated effect; of a kept geometric area per tier.
GRADUATED_RATE: float = 0.5
#: (Only Complex requests state constraints: the Simple and Regular frames have no clause for
#: them.)
AREA_RATE: dict[str, float] = {"simple": 0.0, "regular": 0.0, "complex": 0.6}


def sample_library_task(
    tier: str,
    seed: int,
    split: str = "train",
    image_source: str | None = None,
    library: str = "v2",
) -> Task:
    """The task of ``(tier, seed, split, image_source)`` drawn in ``library`` (``"v2"``: exactly
    :func:`~styling_env.tasks.sample_task`). A pure function of its arguments.

    Raises:
        ValueError: unknown tier, split, library or image source; a negative seed.
    """
    name = check_library(library)
    base = sample_task(tier, seed, split, image_source)
    if name == "v2":
        return base
    lib = _library(name)
    rng = np.random.default_rng(
        [
            _SALT,
            LIBRARY_NAMES.index(name),
            TIERS.index(tier),
            _check_seed(seed),
            SPLITS.index(split),
        ]
    )
    targets = list(base.targets)
    constraints = list(base.constraints)
    conditionals = list(base.conditionals)
    if name == "v3":
        targets, conditionals = _v3_spec(rng, lib, tier, targets, constraints, conditionals)
    else:
        targets, constraints = _normal_spec(rng, tier, targets, constraints, conditionals)
    theme = " + ".join(value_label(t.tool, t.value) for t in _ordered(targets))
    if tier != "simple":
        theme = base.theme
    key = (TIERS.index(tier), seed, SPLITS.index(split), _SALT, LIBRARY_NAMES.index(name))
    for _ in range(_TRIES):  # a request with more and longer phrases may not fit: draw again
        template_id, instruction, cons, conds = write_request(
            rng, key, tier, split, base.image_source, base.image_seed, theme, targets,
            constraints, conditionals, name,
        )  # fmt: skip
        if len(instruction) <= MAX_INSTRUCTION:
            break
    else:  # pragma: no cover - 50 draws of a held-out frame all too long: a clear failure
        raise RuntimeError(f"no {tier} {name} request within {MAX_INSTRUCTION} characters")
    return Task(
        task_id=f"{tier}-{name}-{split}-{seed}",
        tier=tier,
        theme=theme,
        image_source=base.image_source,
        image_seed=base.image_seed,
        image_index=base.image_index,
        targets=tuple(_ordered(targets)),
        conditionals=tuple(conds),
        constraints=tuple(cons),
        instruction=instruction,
        template_id=template_id,
        split=split,
        library=name,
    )


def library_test_tasks(
    tier: str, library: str, n: int | None = None, seed: int | None = None
) -> tuple[Task, ...]:
    """The fixed test set of ``tier`` in ``library``: task ``i`` is
    ``sample_library_task(tier, seed * 100_000 + i, "test", library=library)`` (seed 2026, n
    200 by default), on the same images as the v2 test set."""
    check_library(library)
    return _test_set(
        tier,
        library,
        _check_n(200 if n is None else n),
        _check_seed(2026 if seed is None else seed),
    )


@functools.lru_cache(maxsize=16)
def _test_set(tier: str, library: str, n: int, seed: int) -> tuple[Task, ...]:
    return tuple(
        sample_library_task(tier, seed * 100_000 + i, "test", library=library) for i in range(n)
    )


# ------------------------------------------------------------------------------------------------


@functools.cache
def _library(name: str) -> Library:
    return library(name)


def _ordered(targets: Sequence[Target]) -> list[Target]:
    return sorted(targets, key=lambda t: _ORDER[t.tool])


def _allowed(target: Target, constraints: Sequence[Constraint]) -> bool:
    probe = Target(target.tool, target.value, 1.0)
    return not any(conflicts(probe, c) for c in constraints)


def _expressible(
    rng: np.random.Generator, lib: Library, t: Target, constraints: Sequence[Constraint]
) -> Target | None:
    """``t`` if ``lib`` can call it, else a value of the same tool it can (at ``t``'s strength)
    that no constraint forbids, else None."""
    values = lib.action(t.tool).values
    if t.value in values:
        return t
    options = [v for v in values if _allowed(Target(t.tool, v, t.strength), constraints)]
    if not options:
        return None
    return Target(t.tool, options[int(rng.integers(len(options)))], t.strength)


def _v3_spec(
    rng: np.random.Generator,
    lib: Library,
    tier: str,
    targets: list[Target],
    constraints: list[Constraint],
    conditionals: list[Conditional],
) -> tuple[list[Target], list[Conditional]]:
    out = [e for t in targets if (e := _expressible(rng, lib, t, constraints)) is not None]
    kept: list[Conditional] = []
    for c in conditionals:
        branches = [b for b in (c.then, c.otherwise) if b is not None]
        if all(b.value in lib.action(b.tool).values for b in branches):
            kept.append(c)
    n_new = 1 if tier == "simple" else int(rng.integers(1, 3))
    tools = [t for t in V3_ACTIONS if t not in {x.tool for x in out}]
    new: list[Target] = []
    for i in rng.permutation(len(tools)):
        if len(new) == n_new:
            break
        tool = tools[int(i)]
        strength = _draw_strength(rng)
        values = [v for v in V3_ACTIONS[tool] if _allowed(Target(tool, v, strength), constraints)]
        if values:
            new.append(Target(tool, values[int(rng.integers(len(values)))], strength))
    # the plan fits the library's calls: base targets go first (never the new ones); a
    # conditional clause is one call on any picture
    while out and len(out) + len(new) + len(kept) > lib.max_calls:
        out.pop(int(rng.integers(len(out))))
    return out + new, kept


def _normal_spec(
    rng: np.random.Generator,
    tier: str,
    targets: list[Target],
    constraints: list[Constraint],
    conditionals: list[Conditional],
) -> tuple[list[Target], list[Constraint]]:
    targets = list(targets)
    if rng.random() < GRADUATED_RATE:
        values = NORMAL_ACTIONS["graduated_effect"]
        strength = _draw_strength(rng)
        graduated = Target("graduated_effect", values[int(rng.integers(len(values)))], strength)
        if _allowed(graduated, constraints):
            if tier == "simple" and len(targets) > 1:
                targets.pop(int(rng.integers(len(targets))))
            targets.append(graduated)
    constraints = list(constraints)
    if rng.random() < AREA_RATE[tier]:
        area = GEOMETRIC_REGIONS[int(rng.integers(len(GEOMETRIC_REGIONS)))]
        c = Constraint("preserve_region", area, area_keep_phrase(rng, area, train=False))
        mentioned = targets + [b for k in conditionals for b in (k.then, k.otherwise) if b]
        if all(_allowed(t, [c]) for t in mentioned):
            constraints.append(c)
    return targets, constraints


__all__ = ["AREA_RATE", "GRADUATED_RATE", "library_test_tasks", "sample_library_task"]
