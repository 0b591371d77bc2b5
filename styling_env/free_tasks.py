"""The free-text test set: requests written by hand in people's words, never trained on.

The generated test tasks (:func:`styling_env.tasks.test_tasks`) hold out sentence frames, but
their words still come from the generator's lexicon. The free-text set measures what happens
when people write: ``"can u make it look old timey?"``, ``"rainy night vibes, kinda moody"``,
``"dont touch the sky tho"``. Each tier's file in ``styling_env/data/free/`` holds at least
100 requests, written one by one in styles the templates do not use (fragments, chat,
lowercase, slang, questions, hedges and negations, indirect references, typos, a few emoji),
each with its target spec in the project's vocabulary, written by the same hand. Strength
follows the words: 0.35 for hedges ("a hint", "a bit", "not too much"), 0.6 for a plain ask,
0.85 for emphasis ("super", "really"), 1.0 for "all the way".

>>> tasks = test_tasks("simple", split="free")  # doctest: +SKIP
>>> tasks[0].instruction, tasks[0].split  # doctest: +SKIP
('can u make it look old timey?', 'free')

The tasks are fixed (``sample_task(split="free")`` is an error: there is nothing to sample)
and keep the generator's tier structure: Simple 1-2 targets; Regular 3-5 values of one of the
ten interior themes, on a procedural interior of that room; Complex 3-5 targets, 1-2
constraints of distinct kinds, at most one conditional row of
:data:`styling_env.lexicon.CONDITIONALS`, no target that contradicts a constraint and no value
pair of :data:`styling_env.lexicon.INCOMPATIBLE`.

Images come from their own seed range, ``[2 * 10**6, 3 * 10**6)`` (train images are
``[0, 10**6)``, test images ``[10**6, 2 * 10**6)``). Each request owns a block of
:data:`SEED_BLOCK` seeds (by tier and its number) and its stored ``image_seed`` is the first
seed of that block whose image fits the spec: the ``image`` kind it names (``outdoor``,
``interior``, ``photo``), every preserved region covering at least
:data:`~styling_env.tasks.MIN_REGION_FRACTION` (the subject
:data:`~styling_env.tasks.MIN_SUBJECT_FRACTION`), the Regular room's scene.
``python -m styling_env.free_tasks --assign`` writes those seeds after an edit; loading checks
that each stored seed still fits.

File format (JSON, one file per tier)::

    {"format": "image-styling-free/1", "tier": "complex", "written": "how it was written",
     "requests": [{"id": "complex-free-001", "theme": "old timey harbour", "image": "outdoor",
                   "text": "... dont touch the sky tho", "image_seed": 2200001,
                   "targets": [["color_grading", "sepia_vintage", 0.6], ...],
                   "constraints": [{"kind": "preserve_region", "region": "sky",
                                    "says": "dont touch the sky"}],
                   "conditionals": [{"if": "dark", "tool": "time_of_day",
                                     "then": ["midnight_dark", 1.0], "else": ["blue_hour", 0.6],
                                     "says": "if its already dark push it to full midnight"}]}]}

``says`` is the part of ``text`` that states the constraint or the clause (checked). Bad
contents raise :class:`FreeTaskError` naming the file and the request id.

The set is an evaluation set only: dataset generation and online training refuse it.
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from . import lexicon as lx
from . import tasks as T
from .tasks import Conditional, Constraint, Target, Task

#: The split name of the free-text set.
FREE_SPLIT = "free"
#: The file format this module reads.
FORMAT = "image-styling-free/1"
#: Folder of the bundled set: one ``<tier>.json`` per tier.
DATA_DIR = Path(__file__).resolve().parent / "data" / "free"
#: Free-set image seeds lie in [FIRST_SEED, FIRST_SEED + IMAGE_SEED_SPAN): past train and test.
FIRST_SEED: int = 2 * T.IMAGE_SEED_SPAN
#: Seeds each request may scan for a fitting image; a tier holds at most 299 requests.
SEED_BLOCK: int = 1000
_TIER_SPAN = 300 * SEED_BLOCK
#: Image kinds a request may ask for (``make_images`` kinds of the ``mix`` source).
IMAGE_KINDS: tuple[str, ...] = ("outdoor", "interior", "photo")
#: Image source per tier (the generator's defaults: a Regular request is drawn on its room).
SOURCES: dict[str, str] = dict(T.DEFAULT_SOURCES)

_KEYS = {
    "simple": {"id", "text", "targets", "image", "image_seed"},
    "regular": {"id", "text", "targets", "theme", "image_seed"},
    "complex": {"id", "text", "targets", "theme", "image", "image_seed", "constraints",
                "conditionals"},
}  # fmt: skip
_ID = re.compile(r"(simple|regular|complex)-free-(\d{3})")


class FreeTaskError(ValueError):
    """A free-text request (or its file) is wrong; the message names the file and request id."""


def _fail(where: str, msg: str) -> FreeTaskError:
    return FreeTaskError(f"{where}: {msg}")


def block_start(tier: str, number: int) -> int:
    """First image seed of request ``number`` (1-299) of ``tier``."""
    return FIRST_SEED + T.TIERS.index(tier) * _TIER_SPAN + number * SEED_BLOCK


def _target(where: str, item: Any, what: str = "target") -> Target:
    if not isinstance(item, list | tuple) or len(item) != 3:
        raise _fail(where, f"a {what} is [tool, value, strength], got {item!r}")
    try:
        return Target(*item)
    except (TypeError, ValueError) as e:
        raise _fail(where, f"{what} {item!r}: {e}") from None


def _said(where: str, text: str, says: Any, what: str) -> str:
    if not isinstance(says, str) or not says.strip():
        raise _fail(where, f"a {what} needs 'says': the words of the request that state it")
    if says.lower() not in text.lower():
        raise _fail(where, f"the {what}'s 'says' {says!r} is not part of the request's text")
    return says


def _constraint(where: str, text: str, d: Any) -> Constraint:
    if not isinstance(d, Mapping) or not set(d) <= {"kind", "region", "tool", "says"}:
        raise _fail(where, f"a constraint is {{kind, region?, tool?, says}}, got {d!r}")
    says = _said(where, text, d.get("says"), "constraint")
    try:
        return Constraint(d.get("kind"), d.get("region"), says, d.get("tool"))
    except (TypeError, ValueError) as e:
        raise _fail(where, str(e)) from None


def _conditional(where: str, text: str, d: Any) -> Conditional:
    keys = {"if", "tool", "then", "else", "says"}
    if not isinstance(d, Mapping) or set(d) != keys:
        raise _fail(where, f"a conditional has exactly the keys {sorted(keys)}, got {d!r}")
    pred, tool = d["if"], d["tool"]
    rows = lx.CONDITIONALS.get(pred)
    if rows is None:
        raise _fail(
            where, f"unknown predicate {pred!r}; expected one of {', '.join(lx.CONDITIONALS)}"
        )
    branches: list[Target | None] = []
    for key in ("then", "else"):
        b = d[key]
        if b is not None and not (isinstance(b, list | tuple) and len(b) == 2):
            raise _fail(where, f"a conditional's {key!r} is [value, strength] or null, got {b!r}")
        branches.append(None if b is None else _target(where, [tool, *b], f"{key!r} branch"))
    values = tuple(None if b is None else b.value for b in branches)
    if (tool, *values) not in rows:
        options = "; ".join(f"{t}: {a} / {b}" for t, a, b in rows)
        raise _fail(
            where,
            f"({pred}, {tool}, {values[0]} / {values[1]}) is not a row of the predicate table "
            f"(styling_env.lexicon.CONDITIONALS); rows for {pred!r}: {options}",
        )
    return Conditional(pred, branches[0], branches[1], _said(where, text, d["says"], "conditional"))


def _check_structure(where: str, tier: str, req: Mapping[str, Any], task: Task) -> None:
    """The generator's tier rules (see the module docstring)."""
    n = len(task.targets)
    if tier == "simple" and not 1 <= n <= 2:
        raise _fail(where, f"a simple request has 1-2 targets, got {n}")
    if tier == "regular":
        table = lx.REGULAR_THEMES[task.theme]
        if not 3 <= n <= 5:
            raise _fail(where, f"a regular request has 3-5 targets, got {n}")
        for t in task.targets:
            if t.value not in table.get(t.tool, ()):
                raise _fail(
                    where,
                    f"{t.tool}={t.value} is not a value of the {task.theme!r} theme "
                    f"(styling_env.lexicon.REGULAR_THEMES: {', '.join(table.get(t.tool, ()) or ['no ' + t.tool])})",
                )
    if tier == "complex":
        kinds = [c.kind for c in task.constraints]
        if not 1 <= len(kinds) <= 2 or len(set(kinds)) != len(kinds):
            raise _fail(
                where, f"a complex request has 1-2 constraints of distinct kinds, got {kinds}"
            )
        if len(task.conditionals) > 1:
            raise _fail(
                where,
                f"a complex request has at most one conditional, got {len(task.conditionals)}",
            )
        low, high = 3, 5
        if task.conditionals:
            cond = task.conditionals[0]
            both = cond.then is not None and cond.otherwise is not None
            low, high = (2 if both else 3), 4
            tool = (cond.then or cond.otherwise).tool  # type: ignore[union-attr]
            if tool in {t.tool for t in task.targets}:
                raise _fail(where, f"the conditional's tool {tool} is also a target")
        if not low <= n <= high:
            raise _fail(
                where, f"this complex request needs {low}-{high} unconditional targets, got {n}"
            )
    pairs = {(t.tool, t.value) for t in T._mentioned(task)}
    for (t1, v1), (t2, values) in lx.INCOMPATIBLE:
        clash = [v for v in values if (t2, v) in pairs]
        if (t1, v1) in pairs and clash:
            raise _fail(
                where, f"{t1}={v1} and {t2}={clash[0]} do not go together (lexicon.INCOMPATIBLE)"
            )


def _fits(tier: str, req: Mapping[str, Any], task: Task, seed: int) -> str | None:
    """Why image ``seed`` does not fit ``task`` (None if it fits)."""
    if tier == "regular":
        room = T.ROOM_SCENES[task.theme]
        got = T.interior_scene(seed)
        return None if got == room else f"its interior is a {got}, the theme needs a {room}"
    kind_wanted = req.get("image")
    needs = {r: T.MIN_REGION_FRACTION for r in task.preserved_regions()}
    if "subject" in needs:
        needs["subject"] = T.MIN_SUBJECT_FRACTION
    if kind_wanted is None and not needs:
        return None
    kind, fractions = T._image_info(task.image_source, seed)
    if kind_wanted is not None and kind != kind_wanted:
        return f"it is a {kind} image, the request needs {kind_wanted}"
    for region, least in needs.items():
        if fractions.get(region, 0.0) < least:
            return (
                f"its {region} covers {fractions.get(region, 0.0):.1%} of the image, less than "
                f"the {least:.0%} a preserved region needs"
            )
    return None


def _parse(where: str, tier: str, req: Any) -> tuple[Task, int, Mapping[str, Any]]:
    """The task of one request (image seed unchecked), its number, the raw request."""
    if not isinstance(req, Mapping) or "id" not in req:
        raise _fail(where, f"a request is an object with an 'id', got {str(req)[:80]!r}")
    rid = req["id"]
    m = _ID.fullmatch(str(rid))
    if m is None or m.group(1) != tier:
        raise _fail(where, f"request id {rid!r} is not of the form '{tier}-free-NNN'")
    where = f"{where}, request {rid}"
    number = int(m.group(2))
    if not 1 <= number < _TIER_SPAN // SEED_BLOCK:
        raise _fail(where, "a request number lies in [1, 299]")
    extra = set(req) - _KEYS[tier]
    missing = {"id", "text", "targets"} - set(req) | (
        {"theme"} - set(req) if tier != "simple" else set()
    )
    if extra or missing:
        raise _fail(
            where,
            f"unknown keys {sorted(extra)} / missing keys {sorted(missing)}; a {tier} request has {sorted(_KEYS[tier])}",
        )
    text = req["text"]
    if not isinstance(text, str) or not text.strip():
        raise _fail(where, "'text' must be the request as a non-empty string")
    if req.get("image") is not None and req["image"] not in IMAGE_KINDS:
        raise _fail(
            where, f"unknown image kind {req['image']!r}; expected one of {', '.join(IMAGE_KINDS)}"
        )
    if not isinstance(req["targets"], list):
        raise _fail(where, "'targets' must be a list of [tool, value, strength]")
    targets = [_target(where, t) for t in req["targets"]]
    theme = req.get("theme")
    if tier == "simple":
        theme = " + ".join(
            lx.VALUE_PHRASES[t.tool][t.value][0]
            for t in sorted(targets, key=lambda t: T.TOOL_ORDER.index(t.tool))
        )
    elif tier == "regular" and theme not in lx.REGULAR_THEMES:
        raise _fail(
            where,
            f"unknown regular theme {theme!r}; expected one of {', '.join(lx.REGULAR_THEMES)}",
        )
    elif not isinstance(theme, str) or not theme.strip():
        raise _fail(where, "'theme' must be a short title of the request")
    constraints = [_constraint(where, text, c) for c in req.get("constraints", [])]
    conditionals = [_conditional(where, text, c) for c in req.get("conditionals", [])]
    seed = req.get("image_seed", block_start(tier, number))
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise _fail(where, f"'image_seed' must be an int, got {seed!r}")
    low = block_start(tier, number)
    if not low <= seed < low + SEED_BLOCK:
        raise _fail(
            where,
            f"image_seed {seed} lies outside the request's seed block [{low}, {low + SEED_BLOCK})",
        )
    try:
        task = Task(
            task_id=str(rid), tier=tier, theme=theme, image_source=SOURCES[tier],
            image_seed=seed, image_index=0,
            targets=tuple(sorted(targets, key=lambda t: T.TOOL_ORDER.index(t.tool))),
            conditionals=tuple(conditionals), constraints=tuple(constraints),
            instruction=text.strip(), template_id=FREE_SPLIT, split=FREE_SPLIT,
        )  # fmt: skip
    except (TypeError, ValueError) as e:
        raise _fail(where, str(e)) from None
    _check_structure(where, tier, req, task)
    return task, number, req


def _read(path: Path, tier: str) -> tuple[dict[str, Any], list[Any]]:
    """The checked header of ``path`` and its raw requests (a list inside the document)."""
    where = str(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FreeTaskError(f"{where}: no such file (the {tier} free-text set)") from None
    except json.JSONDecodeError as e:
        raise FreeTaskError(f"{where}: not valid JSON ({e})") from None
    if not isinstance(doc, Mapping) or doc.get("format") != FORMAT:
        raise _fail(where, f'expected a JSON object with "format": "{FORMAT}"')
    if doc.get("tier") != tier:
        raise _fail(where, f"the file is for tier {doc.get('tier')!r}, expected {tier!r}")
    if not isinstance(doc.get("written"), str) or not doc["written"].strip():
        raise _fail(where, "'written' must say how the requests were written")
    reqs = doc.get("requests")
    if not isinstance(reqs, list) or not reqs:
        raise _fail(where, "'requests' must be a non-empty list")
    return doc, reqs


def load(
    tier: str, path: str | Path | None = None, *, check_images: bool = True
) -> tuple[Task, ...]:
    """The tasks of ``tier``'s free-text file (default: the bundled one), in file order.

    Args:
        tier: ``"simple"``, ``"regular"`` or ``"complex"``.
        path: a file in the format of the module docstring (default ``DATA_DIR / f"{tier}.json"``).
        check_images: check that each stored ``image_seed`` fits its request (a few seconds
            for a Complex file: one 64 px image per request that needs a kind or a region).

    Raises:
        FreeTaskError (a ``ValueError``) naming the file and the request id: unknown tool,
        value, region or predicate, a target that contradicts a constraint, a tier rule broken,
        a duplicate id, an image that lacks a preserved region, ...
    """
    T._check_choice(tier, T.TIERS, "tier")
    path = Path(path) if path is not None else DATA_DIR / f"{tier}.json"
    _, reqs = _read(path, tier)
    out: list[Task] = []
    seen: set[str] = set()
    for req in reqs:
        task, _, raw = _parse(str(path), tier, req)
        if task.task_id in seen:
            raise _fail(f"{path}, request {task.task_id}", "the id appears twice")
        seen.add(task.task_id)
        if check_images:
            if "image_seed" not in raw:
                raise _fail(
                    f"{path}, request {task.task_id}",
                    "no 'image_seed': run python -m styling_env.free_tasks --assign",
                )
            why = _fits(tier, raw, task, task.image_seed)
            if why:
                raise _fail(
                    f"{path}, request {task.task_id}",
                    f"image seed {task.image_seed} does not fit: {why}",
                )
        out.append(task)
    return tuple(out)


@functools.lru_cache(maxsize=8)
def free_tasks(tier: str) -> tuple[Task, ...]:
    """The bundled free-text tasks of ``tier`` (cached); ``test_tasks(tier, split="free")``."""
    return load(tier)


def episode_task(
    tier: str,
    seed: int,
    split: str = "train",
    image_source: str | None = None,
    library: str = "v2",
) -> Task:
    """The task of an env episode drawn with ``seed``: ``sample_task`` for ``train`` and
    ``test`` (in ``library``: ``styling_env.library_tasks``); for ``free``, task ``seed % n`` of
    the fixed set (its own images; v2 only)."""
    if library != "v2":
        from .library_tasks import sample_library_task

        if split == FREE_SPLIT:
            raise ValueError(f"the free-text set is written for library 'v2', not {library!r}")
        return sample_library_task(tier, seed, split, image_source, library)
    if split == FREE_SPLIT:
        tasks = free_tasks(tier)
        return tasks[T._check_seed(seed) % len(tasks)]
    return T.sample_task(tier, seed, split, image_source)


def assign_seeds(tier: str, path: str | Path | None = None) -> int:
    """Write into ``path`` (default: the bundled file) each request's ``image_seed``: the first
    seed of its block whose image fits. Returns how many changed."""
    path = Path(path) if path is not None else DATA_DIR / f"{tier}.json"
    doc, reqs = _read(path, tier)
    changed = 0
    for req in reqs:
        unseeded = {k: v for k, v in req.items() if k != "image_seed"}
        task, number, _ = _parse(str(path), tier, unseeded)
        low = block_start(tier, number)
        seeds = range(low, low + SEED_BLOCK)
        seed = next((s for s in seeds if _fits(tier, req, task, s) is None), None)
        if seed is None:
            where = f"{path}, request {task.task_id}"
            raise _fail(where, f"no image of seeds [{low}, {low + SEED_BLOCK}) fits")
        changed += req.get("image_seed") != seed
        req["image_seed"] = seed
    path.write_text(_dump(doc), encoding="utf-8")
    return changed


def _dump(doc: Mapping[str, Any]) -> str:
    """The file layout: header fields, then one request per line."""
    head = {k: v for k, v in doc.items() if k != "requests"}
    lines = [json.dumps(head, ensure_ascii=False)[:-1] + ', "requests": [']
    lines += [
        "  " + json.dumps(r, ensure_ascii=False) + ("," if i < len(doc["requests"]) - 1 else "")
        for i, r in enumerate(doc["requests"])
    ]
    return "\n".join([*lines, "]}"]) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m styling_env.free_tasks [--assign] [--tiers ...]``: check the bundled files
    (or write their image seeds), printing the number of requests per tier."""
    p = argparse.ArgumentParser(prog="python -m styling_env.free_tasks", description=main.__doc__)
    p.add_argument("--tiers", nargs="+", default=list(T.TIERS), choices=T.TIERS)
    p.add_argument("--assign", action="store_true", help="write each request's image_seed")
    args = p.parse_args(argv)
    try:
        for tier in args.tiers:
            if args.assign:
                print(f"{tier}: {assign_seeds(tier)} image seeds changed")
            print(f"{tier}: {len(load(tier))} requests, all valid")
    except FreeTaskError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


T.FIXED_SPLITS[FREE_SPLIT] = free_tasks

__all__ = ["FREE_SPLIT", "FreeTaskError", "episode_task", "free_tasks", "load"]

if __name__ == "__main__":
    sys.exit(main())
