"""Styling requests at three tiers: a source image, a target spec, constraints, text.

A :class:`Task` is what an episode asks for: the source image (named by its source and seed, so
it is rebuilt on demand), the target spec (tool -> value at a target strength), preservation
constraints, conditional clauses resolved on the source pixels, and a vague instruction written
from templates and the synonym lexicon of :mod:`styling_env.lexicon`.

Tiers:

- ``simple``: 1-2 targets, any tool (mostly the photometric ones), on ``mix`` images.
- ``regular``: 3-5 targets from one of the paper's ten interior themes, on procedural interiors
  of the matching room.
- ``complex``: 3-5 targets from 80+ themes, 1-2 preservation constraints, and in about half of
  the tasks a conditional clause ("if it's already dark, ...; otherwise, ...").

Strengths come from intensity words that the instruction contains ("a hint of" = 0.35, plain =
0.6, "lots of" = 0.85, "..., fully" = 1.0; :data:`STRENGTH_LEVELS`, :data:`INTENSITY_CUES`).
Sentence frames are split into train and held-out templates; :func:`test_tasks` uses held-out
frames only, so a test set measures generalization to unseen phrasings, not memorization. Train
tasks are worded in a richer language (:mod:`styling_env.wording`: more frames and registers,
everyday words, hedges, negations, light surface noise) drawn from streams of their own, so a
train task's spec does not depend on its words; test tasks keep the plain language.

>>> task = sample_task("simple", seed=3)
>>> task == sample_task("simple", seed=3), task.tier, 1 <= len(task.targets) <= 2
(True, 'simple', True)
"""

from __future__ import annotations

import base64
import functools
import io
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
from PIL import Image

from . import lexicon as lx
from . import train_lexicon as tl
from .images import MASK_NAMES, ImageBatch, as_image_batch, make_images
from .images import procedural as _procedural
from .predicates import (  # the predicates conditional clauses read (re-exported here)
    LUMA,
    PREDICATE_RULES,
    PREDICATES,
    _as_single_image,
    image_measures,
)
from .tools.call import REGIONS, ToolCall
from .tools.library_tables import LIBRARY_NAMES, library_values
from .tools.vocabulary import (
    ALL_TOOLS,
    CALL_ORDER,
    GEOMETRIC_REGIONS,
    TOOL_NAMES,
    TOOL_ORDER,
    TOOLS,
    check_tool_value,
)
from .validation import real_in
from .wording import CUES, intensity_level, train_wording, value_phrase
from .wording import cap as _cap
from .wording import fill as _fill
from .wording import join as _join
from .wording import pick as _pick
from .wording import say as _say

Tensor = torch.Tensor

TIERS: tuple[str, ...] = ("simple", "regular", "complex")
SPLITS: tuple[str, ...] = ("train", "test")
#: Fixed hand-written test sets (never sampled, never trained on): split -> loader of a tier's
#: tasks. ``styling_env.free_tasks`` registers ``"free"`` (:func:`test_tasks` ``split="free"``).
FIXED_SPLITS: dict[str, Callable[[str], tuple[Task, ...]]] = {}

_ORDER = {tool: i for i, tool in enumerate(CALL_ORDER)}  # the ten tools: TOOL_ORDER

#: Target strengths lie in [MIN_STRENGTH, 1]: below that a target is not visibly asked for.
MIN_STRENGTH: float = 0.2
#: Strength of a target given without one (plain wording).
DEFAULT_TARGET_STRENGTH: float = lx.INTENSITY["moderate"][0]
#: Intensity level -> strength ("subtle" 0.35, "moderate" 0.6, "strong" 0.85, "full" 1.0).
STRENGTH_LEVELS: dict[str, float] = {level: row[0] for level, row in lx.INTENSITY.items()}
#: Intensity level -> the cue words that mark it in an instruction (moderate may have none):
#: the shared ones and those of the training language.
INTENSITY_CUES: dict[str, tuple[str, ...]] = dict(CUES)

CONSTRAINT_KINDS: tuple[str, ...] = (
    "preserve_region", "preserve_subject", "keep_photorealistic", "avoid_tool",
)  # fmt: skip
#: Regions a ``preserve_region`` constraint can name (every region but ``all``).
#: The ``normal`` library's tasks also name geometric areas (``styling_env.tools.areas``:
#: halves, the centre, the edges), which need no masks.
PRESERVABLE_REGIONS: tuple[str, ...] = (*(r for r in REGIONS if r != "all"), *GEOMETRIC_REGIONS)
#: Media that keep a picture photographic (``keep_photorealistic`` allows only these).
PHOTO_MEDIUMS: tuple[str, ...] = ("photorealistic", "hyperrealistic", "film_photography")
#: Effects that are texture, not light; above :data:`HEAVY_TEXTURE` they break photorealism.
TEXTURE_EFFECTS: tuple[str, ...] = (
    "film_grain", "holographic_glitch", "digital_artifacts", "cracks_damage", "speed_lines",
)  # fmt: skip
HEAVY_TEXTURE: float = 0.6
#: The v3 library's looks that make a picture a painting, a drawing or a print: none is
#: photorealistic, at any strength (``rendering_style`` allows only ``photorealistic``).
NON_PHOTO_LOOKS: dict[str, tuple[str, ...] | None] = {
    "art_movement": None,
    "painting_technique": None,
    "illustration_style": None,
    "texture_overlay": None,
    "rendering_style": tuple(v for v in ALL_TOOLS["rendering_style"] if v != "photorealistic"),
    "grain_noise": ("halftone",),
}
#: preserve_region -> tools whose effect lives in that region, so asking for them contradicts it
#: (night or a storm with the sky kept as it is; a new season with the plants untouched).
REGION_CONFLICTS: dict[str, tuple[str, ...]] = {
    "sky": ("time_of_day", "weather_conditions"),
    "ground": (),
    "vegetation": ("season_cycle",),
    "water": (),
    "buildings": ("architecture_style",),
    "subject": (),
    "background": (
        "location_setting", "architecture_style", "season_cycle", "weather_conditions",
        "time_of_day",
    ),
}  # fmt: skip

#: Default image source per tier.
DEFAULT_SOURCES: dict[str, str] = {
    "simple": "mix",
    "regular": "procedural:interior",
    "complex": "mix",
}
#: Train images have seeds in [0, 10**6), test images in [10**6, 2 * 10**6): never the same image.
IMAGE_SEED_SPAN: int = 10**6
#: A region is preservable when it covers at least this fraction of the image (subject: less).
MIN_REGION_FRACTION: float = 0.05
MIN_SUBJECT_FRACTION: float = 0.02
_MASK_CHECK_SIZE = 64
#: The longest instruction a task may hold: the observation's ``Text`` space holds this many
#: characters (``styling_env.env`` re-exports it).
MAX_INSTRUCTION = 600
_SOURCE_PREFIXES = ("mix", "procedural", "bundled", "folder:")
#: Regular theme -> the procedural interior scene it is drawn on.
ROOM_SCENES: dict[str, str] = {
    "modern living room": "living_room",
    "traditional bedroom": "bedroom",
    "urban kitchen": "kitchen",
    "cozy office": "office",
    "minimalist bathroom": "bathroom",
    "rustic dining room": "dining_room",
    "contemporary studio": "studio",
    "classic library": "library",
    "industrial loft": "loft",
    "zen meditation room": "meditation_room",
}

#: Relative weight of each tool in simple tasks: the photometric tools (light, weather, season,
#: grade, overlays, medium) three times the scene-content ones.
SIMPLE_TOOL_WEIGHTS: dict[str, float] = {
    "location_setting": 1.0, "architecture_style": 1.0, "time_period_era": 1.0,
    "time_of_day": 3.0, "season_cycle": 3.0, "weather_conditions": 3.0, "mood_lighting": 3.0,
    "color_grading": 3.0, "atmospheric_effects": 3.0, "artistic_medium": 3.0,
}  # fmt: skip
#: Probability of a conditional clause in a complex task, and of a second constraint.
CONDITIONAL_RATE: float = 0.5
SECOND_CONSTRAINT_RATE: float = 0.4
#: Relative weights of the constraint kinds when a complex task draws its constraints.
CONSTRAINT_WEIGHTS: dict[str, float] = {
    "preserve_region": 3.0,
    "preserve_subject": 2.0,
    "keep_photorealistic": 2.0,
    "avoid_tool": 2.0,
}

# --------------------------------------------------------------------------------------------
# Derived tables

_COMPLEX = {
    title: (
        category,
        {lx.TOOL_KEYS[k]: v for k, v in core.items()},
        {lx.TOOL_KEYS[k]: vs for k, vs in extra.items()},
    )
    for title, (category, core, extra) in lx.COMPLEX_THEMES.items()
}

#: Tier -> theme names. Simple: the value labels (a two-target task joins two with " + ");
#: regular: the ten interior themes; complex: the 80+ theme titles.
THEMES: dict[str, tuple[str, ...]] = {
    "simple": tuple(row[0] for values in lx.VALUE_PHRASES.values() for row in values.values()),
    "regular": tuple(lx.REGULAR_THEMES),
    "complex": tuple(lx.COMPLEX_THEMES),
}


def _template_table() -> dict[str, dict[str, tuple[tuple[str, str], ...]]]:
    names = {"train": "train", "test": "heldout"}
    return {
        tier: {
            split: tuple(
                (f"{tier}/{names[split]}/{i:02d}", frame)
                for i, frame in enumerate(
                    frames + (tl.TRAIN_FRAMES[tier] if split == "train" else ())
                )
            )
            for split, frames in by_split.items()
        }
        for tier, by_split in lx.TEMPLATES.items()
    }


#: Tier -> split -> ((template_id, frame), ...). Test tasks use the "test" (held-out) frames;
#: train tasks the shared train frames and those of the training language.
TEMPLATES: dict[str, dict[str, tuple[tuple[str, str], ...]]] = _template_table()
_FRAMES = {
    tid: frame
    for by_split in TEMPLATES.values()
    for rows in by_split.values()
    for tid, frame in rows
}


def template_frame(template_id: str) -> str:
    """The sentence frame of ``template_id`` (``"user"`` for user tasks has none: ``""``)."""
    if template_id == "user":
        return ""
    if template_id not in _FRAMES:
        raise ValueError(f"unknown template id {template_id!r}; expected e.g. 'simple/train/00'")
    return _FRAMES[template_id]


# --------------------------------------------------------------------------------------------
# Predicates on the source image

# --------------------------------------------------------------------------------------------
# Specs


def _check_choice(value: Any, options: Sequence[str], what: str) -> str:
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"unknown {what} {value!r}; expected one of {', '.join(options)}")
    return value


@dataclass(frozen=True)
class Target:
    """One dimension of the target spec: ``tool`` should show ``value`` at ``strength``.

    Args:
        tool: a tool id of :data:`styling_env.TOOLS`.
        value: a value of that tool's vocabulary.
        strength: the target strength in [0.2, 1] (0.35 "a hint of", 0.6 plain, 0.85 "lots
            of", 1.0 "fully").

    Raises:
        ValueError: unknown tool or value, strength NaN or outside [0.2, 1].
        TypeError: non-string tool/value or non-numeric strength.
    """

    tool: str
    value: str
    strength: float = DEFAULT_TARGET_STRENGTH

    def __post_init__(self) -> None:
        if not isinstance(self.tool, str) or not isinstance(self.value, str):
            raise TypeError(
                f"Target tool and value must be strings, got {type(self.tool).__name__} and "
                f"{type(self.value).__name__}"
            )
        check_tool_value(self.tool, self.value)
        name = f"Target strength for {self.tool}={self.value}"
        object.__setattr__(self, "strength", real_in(name, self.strength, MIN_STRENGTH, 1.0))

    def call(self, region: str = "all") -> ToolCall:
        """The tool call that asks for this target at its strength."""
        return ToolCall(self.tool, self.value, self.strength, region)

    def to_dict(self) -> dict[str, Any]:
        return {"tool": self.tool, "value": self.value, "strength": self.strength}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Target:
        if not isinstance(d, Mapping):
            raise TypeError(f"a target must be a mapping, got {type(d).__name__}")
        _require(d, ("tool", "value"), "target")
        extra = sorted(map(str, set(d) - {"tool", "value", "strength"}))
        if extra:  # a typo ("strenght") would leave the default strength in silence
            raise ValueError(
                f"unknown target key(s) {', '.join(map(repr, extra))}; a target has 'tool', "
                "'value' and 'strength'"
            )
        return cls(d["tool"], d["value"], d.get("strength", DEFAULT_TARGET_STRENGTH))


@dataclass(frozen=True)
class Constraint:
    """A rule the edit must keep.

    Kinds:

    - ``preserve_region``: ``region`` (one of :data:`PRESERVABLE_REGIONS`) must not change.
    - ``preserve_subject``: the foreground subject must not change.
    - ``keep_photorealistic``: no artistic medium but :data:`PHOTO_MEDIUMS`, no heavy texture
      effect (:data:`TEXTURE_EFFECTS` above strength :data:`HEAVY_TEXTURE`).
    - ``avoid_tool``: ``tool`` must not be called.

    ``text`` is the clause of the instruction that states it.

    Raises:
        ValueError: unknown kind, region or tool, or a field the kind does not use.
    """

    kind: str
    region: str | None = None
    text: str = ""
    tool: str | None = None

    def __post_init__(self) -> None:
        _check_choice(self.kind, CONSTRAINT_KINDS, "constraint kind")
        if self.kind == "preserve_region":
            _check_choice(self.region, PRESERVABLE_REGIONS, "preserve_region region")
        elif self.region is not None:
            raise ValueError(f"a {self.kind} constraint takes no region, got {self.region!r}")
        if self.kind == "avoid_tool":
            _check_choice(self.tool, TOOL_NAMES, "avoid_tool tool")
        elif self.tool is not None:
            raise ValueError(f"a {self.kind} constraint takes no tool, got {self.tool!r}")
        if not isinstance(self.text, str):
            raise TypeError(f"Constraint text must be a string, got {type(self.text).__name__}")

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "region": self.region, "text": self.text, "tool": self.tool}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Constraint:
        if not isinstance(d, Mapping):
            raise TypeError(f"a constraint must be a mapping, got {type(d).__name__}")
        _require(d, ("kind",), "constraint")
        return cls(d["kind"], d.get("region"), d.get("text", ""), d.get("tool"))


@dataclass(frozen=True)
class Conditional:
    """A clause resolved on the source image: ``then`` if ``predicate`` holds, else ``otherwise``.

    ``predicate`` names a function of :data:`PREDICATES`; a ``None`` branch asks for nothing.

    Raises:
        ValueError: unknown predicate, or both branches ``None``.
        TypeError: a branch that is not a :class:`Target` or ``None``.
    """

    predicate: str
    then: Target | None
    otherwise: Target | None
    text: str = ""

    def __post_init__(self) -> None:
        _check_choice(self.predicate, tuple(PREDICATES), "predicate")
        for name in ("then", "otherwise"):
            branch = getattr(self, name)
            if branch is not None and not isinstance(branch, Target):
                raise TypeError(
                    f"Conditional.{name} must be a Target or None, got {type(branch).__name__}"
                )
        if self.then is None and self.otherwise is None:
            raise ValueError("a Conditional needs at least one branch (then or otherwise)")
        if not isinstance(self.text, str):
            raise TypeError(f"Conditional text must be a string, got {type(self.text).__name__}")

    def holds(self, image: Tensor) -> bool:
        """Whether the predicate holds on ``image`` ``(3, H, W)``."""
        return bool(PREDICATES[self.predicate](_as_single_image(image)))

    def branch(self, image: Tensor) -> Target | None:
        """The target this clause asks for on ``image``."""
        return self.then if self.holds(image) else self.otherwise

    def to_dict(self) -> dict[str, Any]:
        return {
            "predicate": self.predicate,
            "then": None if self.then is None else self.then.to_dict(),
            "otherwise": None if self.otherwise is None else self.otherwise.to_dict(),
            "text": self.text,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Conditional:
        if not isinstance(d, Mapping):
            raise TypeError(f"a conditional must be a mapping, got {type(d).__name__}")
        _require(d, ("predicate", "then", "otherwise"), "conditional")
        then, otherwise = (
            None if d[k] is None else Target.from_dict(d[k]) for k in ("then", "otherwise")
        )
        return cls(d["predicate"], then, otherwise, d.get("text", ""))


def _require(d: Mapping[str, Any], keys: Iterable[str], what: str) -> None:
    missing = [k for k in keys if k not in d]
    if missing:
        raise ValueError(f"{what} is missing {', '.join(map(repr, missing))}; got keys {sorted(d)}")


def conflict(target: Target, constraint: Constraint) -> str | None:
    """Why ``target`` contradicts ``constraint``, or ``None`` if it does not."""
    kind = constraint.kind
    if kind == "avoid_tool" and target.tool == constraint.tool:
        return f"the request forbids calling {target.tool}"
    if kind == "keep_photorealistic":
        if target.tool == "artistic_medium" and target.value not in PHOTO_MEDIUMS:
            return f"{target.value} is not photorealistic (allowed: {', '.join(PHOTO_MEDIUMS)})"
        if target.value in TEXTURE_EFFECTS and target.strength > HEAVY_TEXTURE:
            return f"{target.value} above strength {HEAVY_TEXTURE} is a heavy texture"
        looks = NON_PHOTO_LOOKS.get(target.tool, ())
        if looks is None or target.value in looks:
            return f"{target.tool}={target.value} is not photorealistic"
    if kind == "preserve_region" and target.tool in REGION_CONFLICTS.get(
        constraint.region or "", ()
    ):
        return f"{target.tool} changes mostly the {constraint.region}, which must stay as it is"
    return None


def conflicts(target: Target, constraint: Constraint) -> bool:
    """Whether ``target`` contradicts ``constraint`` (see :func:`conflict`)."""
    return conflict(target, constraint) is not None


# --------------------------------------------------------------------------------------------
# Task


@dataclass(frozen=True)
class Task:
    """One styling request.

    Attributes:
        task_id: e.g. ``"complex-test-202600017"``.
        tier: one of :data:`TIERS`; split: ``"train"`` or ``"test"``.
        theme: simple: value labels (``"winter + dusk"``); regular: an interior theme;
            complex: a theme title.
        image_source, image_seed, image_index: the source image is
            ``make_images(image_source, image_index + 1, size, image_seed)[image_index]``
            (``image_source="user"``: the stored ``image``).
        targets: unconditional targets, at most one per tool.
        conditionals: clauses resolved on the source image (complex only).
        constraints: rules the edit must keep (complex and user tasks).
        instruction: the request as the user says it; template_id: its sentence frame.
        image: a user's own image ``(3, H, W)`` float in [0, 1] (user tasks only); not compared.
        library: the action library the task is drawn in (``"v2"``, ``"normal"``, ``"v3"``;
            ``styling_env.libraries``): every target is a call that library can make.

    Raises:
        ValueError / TypeError naming the bad field: unknown tier or split, two targets for one
        tool, a target (or conditional branch) that contradicts a constraint, an empty
        instruction, a negative seed.
    """

    task_id: str
    tier: str
    theme: str
    image_source: str
    image_seed: int
    image_index: int
    targets: tuple[Target, ...]
    conditionals: tuple[Conditional, ...]
    constraints: tuple[Constraint, ...]
    instruction: str
    template_id: str
    split: str
    image: Tensor | None = field(default=None, compare=False, repr=False)
    library: str = "v2"

    def __post_init__(self) -> None:
        _check_choice(self.tier, TIERS, "tier")
        _check_choice(self.library, LIBRARY_NAMES, "library")
        _check_choice(self.split, (*SPLITS, *FIXED_SPLITS), "split")
        for name in ("task_id", "theme", "image_source", "template_id", "instruction"):
            if not isinstance(getattr(self, name), str):
                raise TypeError(f"Task.{name} must be a string, got {getattr(self, name)!r}")
        if not self.instruction.strip():
            raise ValueError("Task.instruction is empty; expected the request as text")
        if len(self.instruction) > MAX_INSTRUCTION:  # the observation could not hold it whole
            raise ValueError(
                f"Task.instruction is {len(self.instruction):,} characters; the limit is "
                f"{MAX_INSTRUCTION} (styling_env.tasks.MAX_INSTRUCTION, the observation's Text "
                "space): shorten the request"
            )
        for name in ("image_seed", "image_index"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 0:
                raise ValueError(f"Task.{name} must be an int >= 0, got {v!r}")
            object.__setattr__(self, name, int(v))
        for name, cls in (
            ("targets", Target),
            ("conditionals", Conditional),
            ("constraints", Constraint),
        ):
            items = getattr(self, name)
            if isinstance(items, str | bytes | Mapping) or not isinstance(items, Iterable):
                raise TypeError(f"Task.{name} must be a sequence of {cls.__name__}")
            items = tuple(items)
            for item in items:
                if not isinstance(item, cls):
                    raise TypeError(
                        f"Task.{name} must hold {cls.__name__} objects, got {type(item).__name__}"
                    )
            object.__setattr__(self, name, items)
        tools = [t.tool for t in self.targets]
        dup = sorted({t for t in tools if tools.count(t) > 1})
        if dup:
            raise ValueError(f"two targets for one tool ({', '.join(dup)}); expected at most one")
        callable_values = dict(library_values(self.library))
        for target in _mentioned(self):
            if target.value not in callable_values.get(target.tool, ()):
                raise ValueError(
                    f"target {target.tool}={target.value} is not a call of library "
                    f"{self.library!r} (styling_env.libraries.library({self.library!r}))"
                )
            for constraint in self.constraints:
                why = conflict(target, constraint)
                if why:
                    raise ValueError(
                        f"target {target.tool}={target.value} contradicts constraint "
                        f"{constraint.kind}: {why}"
                    )
        if self.image is not None:
            object.__setattr__(self, "image", _as_single_image(self.image, "Task.image"))

    def resolved_targets(self, image: Tensor | ImageBatch | None = None) -> tuple[Target, ...]:
        """The targets this task asks for on ``image``, in :data:`TOOL_ORDER`.

        The unconditional targets plus the branch of each conditional chosen by its predicate
        on ``image`` (``(3, H, W)`` float in [0, 1], or a batch of one); a conditional's target
        replaces an unconditional one of the same tool, a ``None`` branch adds nothing.
        ``image=None`` resolves on the task's own source image (128 px).
        """
        chosen = {t.tool: t for t in self.targets}
        if self.conditionals:
            pixels = self.source_image().pixels[0] if image is None else _as_single_image(image)
            for cond in self.conditionals:
                branch = cond.branch(pixels)
                if branch is not None:
                    chosen[branch.tool] = branch
        return tuple(sorted(chosen.values(), key=lambda t: _ORDER[t.tool]))

    def preserved_regions(self) -> tuple[str, ...]:
        """The regions this task's constraints keep untouched (``preserve_subject`` = subject),
        the ``preserve`` parameter of every oracle call."""
        keep = []
        for c in self.constraints:
            if c.kind == "preserve_region" and c.region:
                keep.append(c.region)
            elif c.kind == "preserve_subject":
                keep.append("subject")
        return tuple(dict.fromkeys(keep))

    def source_image(
        self, size: int | tuple[int, int] = 128, device: str | torch.device = "cpu"
    ) -> ImageBatch:
        """The source image as an :class:`ImageBatch` of one, ``size`` px, on ``device``."""
        if self.image is not None:
            return as_image_batch([self.image], size=size, device=device)
        batch = make_images(self.image_source, self.image_index + 1, size, self.image_seed, device)
        return batch[self.image_index]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict; :meth:`from_dict` rebuilds an equal task (a user image as PNG)."""
        d: dict[str, Any] = {
            "task_id": self.task_id,
            "tier": self.tier,
            "theme": self.theme,
            "image_source": self.image_source,
            "image_seed": self.image_seed,
            "image_index": self.image_index,
            "targets": [t.to_dict() for t in self.targets],
            "conditionals": [c.to_dict() for c in self.conditionals],
            "constraints": [c.to_dict() for c in self.constraints],
            "instruction": self.instruction,
            "template_id": self.template_id,
            "split": self.split,
        }
        if self.image is not None:
            d["image_png"] = _png_encode(self.image)
        if self.library != "v2":  # a v2 task's dict (and digest) is what it always was
            d["library"] = self.library
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Task:
        """The task of :meth:`to_dict`."""
        if not isinstance(d, Mapping):
            raise TypeError(f"a task must be a mapping, got {type(d).__name__}")
        keys = (
            "task_id",
            "tier",
            "theme",
            "image_source",
            "image_seed",
            "image_index",
            "targets",
            "conditionals",
            "constraints",
            "instruction",
            "template_id",
            "split",
        )
        _require(d, keys, "task")
        image = _png_decode(d["image_png"]) if d.get("image_png") is not None else None
        return cls(
            d["task_id"],
            d["tier"],
            d["theme"],
            d["image_source"],
            d["image_seed"],
            d["image_index"],
            tuple(Target.from_dict(t) for t in d["targets"]),
            tuple(Conditional.from_dict(c) for c in d["conditionals"]),
            tuple(Constraint.from_dict(c) for c in d["constraints"]),
            d["instruction"],
            d["template_id"],
            d["split"],
            image,
            d.get("library", "v2"),
        )


def _mentioned(task: Task) -> tuple[Target, ...]:
    """Every target the task may ask for: the unconditional ones and both branches."""
    branches = [b for c in task.conditionals for b in (c.then, c.otherwise) if b is not None]
    return (*task.targets, *branches)


def _png_encode(image: Tensor) -> str:
    array = (image.detach().cpu().clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _png_decode(data: str) -> Tensor:
    with Image.open(io.BytesIO(base64.b64decode(data))) as im:
        array = np.asarray(im.convert("RGB"), dtype=np.uint8)
    return torch.from_numpy(array.copy()).permute(2, 0, 1).float().div_(255.0)


# --------------------------------------------------------------------------------------------
# Text


def _draw_strength(rng: np.random.Generator) -> float:
    levels = list(lx.INTENSITY)
    weights = np.array([lx.INTENSITY[level][3] for level in levels])
    return STRENGTH_LEVELS[levels[int(rng.choice(len(levels), p=weights / weights.sum()))]]


# --------------------------------------------------------------------------------------------
# Sampling


def _rng(tier: str, seed: int, split: str) -> np.random.Generator:
    return np.random.default_rng([TIERS.index(tier), seed, SPLITS.index(split), 0x7A5C])


def _image_seed(rng: np.random.Generator, split: str, margin: int = 0) -> int:
    low = SPLITS.index(split) * IMAGE_SEED_SPAN
    return int(rng.integers(low, low + IMAGE_SEED_SPAN - margin))


def interior_scene(seed: int, index: int = 0) -> str:
    """The room (a key of ``images.procedural.THEMES``) of procedural interior ``(seed, index)``.

    Mirrors the first draws of ``images.procedural.render_scene`` (four canvas seeds, then the
    room); a test keeps the two in step.
    """
    rng = np.random.default_rng([int(seed) & (2**63 - 1), int(index), 12])
    rng.integers(2**63, size=4)
    rooms = list(_procedural.THEMES)
    return rooms[int(rng.integers(len(rooms)))]


def _room_seed(rng: np.random.Generator, split: str, theme: str) -> int:
    """An image seed whose procedural interior is the room of ``theme`` (the first of ~10)."""
    base = _image_seed(rng, split, margin=4096)
    room = ROOM_SCENES.get(theme)
    if room in _procedural.THEMES:
        for seed in range(base, base + 4096):
            if interior_scene(seed) == room:
                return seed
    return base


@functools.lru_cache(maxsize=4096)
def _image_info(source: str, seed: int) -> tuple[str, dict[str, float]]:
    """Kind and region fractions of image 0 of ``(source, seed)``, measured at 64 px."""
    batch = make_images(source, 1, _MASK_CHECK_SIZE, seed)
    fractions = batch.masks[0].mean(dim=(1, 2)).tolist() if bool(batch.has_masks[0]) else []
    return batch.kinds[0], dict(zip(MASK_NAMES, fractions, strict=False))


def _compatible(tool: str, value: str, chosen: Iterable[tuple[str, str]]) -> bool:
    pairs = {(tool, value), *chosen}
    for (t1, v1), (t2, values) in lx.INCOMPATIBLE:
        if (t1, v1) in pairs and any((t2, v) in pairs for v in values):
            return False
    return True


def _allowed(tool: str, value: str, constraints: Iterable[Constraint]) -> bool:
    """No conflict with any constraint at any strength (so any intensity can be drawn)."""
    probe = Target(tool, value, 1.0)
    return not any(conflicts(probe, c) for c in constraints)


def _pick_values(
    rng: np.random.Generator,
    options: Mapping[str, Sequence[str]],
    n: int,
    chosen: list[tuple[str, str]],
    constraints: Sequence[Constraint] = (),
) -> list[tuple[str, str]]:
    """Up to ``n`` (tool, value) pairs from ``options``, one per tool, mutually compatible."""
    picked: list[tuple[str, str]] = []
    for i in rng.permutation(len(options)):
        if len(picked) == n:
            break
        tool = list(options)[int(i)]
        values = [
            v
            for v in options[tool]
            if _allowed(tool, v, constraints) and _compatible(tool, v, chosen + picked)
        ]
        if values:
            picked.append((tool, _pick(rng, values)))
    return picked


def _simple_spec(rng: np.random.Generator) -> tuple[str, list[Target]]:
    n = 1 if rng.random() < 0.5 else 2
    weights = np.array([SIMPLE_TOOL_WEIGHTS[t] for t in TOOL_NAMES])
    tools = [
        TOOL_NAMES[int(i)]
        for i in rng.choice(len(TOOL_NAMES), n, replace=False, p=weights / weights.sum())
    ]
    pairs = _pick_values(rng, {t: TOOLS[t] for t in tools}, n, [])
    targets = [Target(t, v, _draw_strength(rng)) for t, v in pairs]
    labels = [
        lx.VALUE_PHRASES[t.tool][t.value][0] for t in sorted(targets, key=lambda t: _ORDER[t.tool])
    ]
    return " + ".join(labels), targets


def _regular_spec(rng: np.random.Generator) -> tuple[str, list[Target]]:
    theme = _pick(rng, THEMES["regular"])
    n = int(rng.integers(3, 6))
    pairs = _pick_values(rng, lx.REGULAR_THEMES[theme], n, [])
    return theme, [Target(t, v, _draw_strength(rng)) for t, v in pairs]


def _constraint_options(
    kind: str, fractions: Mapping[str, float], core: Sequence[Target]
) -> list[Constraint]:
    """The constraints a complex task may draw on an image of ``fractions`` given its core."""
    if kind == "preserve_region":
        options = [
            Constraint("preserve_region", r)
            for r in MASK_NAMES
            if r != "subject" and fractions.get(r, 0.0) >= MIN_REGION_FRACTION
        ]
    elif kind == "preserve_subject":
        has_subject = fractions.get("subject", 0.0) >= MIN_SUBJECT_FRACTION
        options = [Constraint("preserve_subject")] if has_subject else []
    elif kind == "keep_photorealistic":
        options = [Constraint("keep_photorealistic")]
    else:
        core_tools = {t.tool for t in core}
        options = [Constraint("avoid_tool", tool=t) for t in TOOL_NAMES if t not in core_tools]
    return [c for c in options if all(_allowed(t.tool, t.value, [c]) for t in core)]


def _constraint_text(rng: np.random.Generator, c: Constraint, kind: str) -> str:
    where = kind if kind in ("outdoor", "interior") else "outdoor"
    table: dict[str, Callable[[], Sequence[str]]] = {
        "preserve_region": lambda: lx.PRESERVE_REGION_PHRASES[c.region or ""][where],
        "preserve_subject": lambda: lx.PRESERVE_SUBJECT_PHRASES[kind],
        "keep_photorealistic": lambda: lx.KEEP_PHOTOREALISTIC_PHRASES,
        "avoid_tool": lambda: lx.AVOID_TOOL_PHRASES[c.tool or ""],
    }
    return _pick(rng, table[c.kind]())


def _draw_constraints(
    rng: np.random.Generator,
    image_kind: str,
    fractions: Mapping[str, float],
    core: Sequence[Target],
) -> list[Constraint]:
    n = 2 if rng.random() < SECOND_CONSTRAINT_RATE else 1
    options = {k: _constraint_options(k, fractions, core) for k in CONSTRAINT_KINDS}
    drawn: list[Constraint] = []
    while len(drawn) < n:
        kinds = [k for k in CONSTRAINT_KINDS if options[k] and k not in {c.kind for c in drawn}]
        if not kinds:
            break
        weights = np.array([CONSTRAINT_WEIGHTS[k] for k in kinds])
        kind = kinds[int(rng.choice(len(kinds), p=weights / weights.sum()))]
        c = _pick(rng, options[kind])
        drawn.append(Constraint(c.kind, c.region, _constraint_text(rng, c, image_kind), c.tool))
    return drawn


def _draw_conditional(
    rng: np.random.Generator,
    core: Sequence[Target],
    constraints: Sequence[Constraint],
) -> tuple[str, str, str | None, str | None] | None:
    """A (predicate, tool, then value, otherwise value) row fit for the task, or None."""
    core_pairs = [(t.tool, t.value) for t in core]
    core_tools = {t.tool for t in core}
    rows = [
        (pred, tool, a, b)
        for pred, table in lx.CONDITIONALS.items()
        for tool, a, b in table
        if tool not in core_tools
        and all(
            _allowed(tool, v, constraints) and _compatible(tool, v, core_pairs)
            for v in (a, b)
            if v is not None
        )
    ]
    return _pick(rng, rows) if rows else None


def _complex_spec(
    rng: np.random.Generator, image_kind: str, fractions: Mapping[str, float], split: str
) -> tuple[str, list[Target], list[Constraint], list[Conditional]]:
    title = _pick(rng, THEMES["complex"])
    _, core_values, extra = _COMPLEX[title]
    core = [Target(t, v, _draw_strength(rng)) for t, v in core_values.items()]
    for _ in range(100):
        constraints = _draw_constraints(rng, image_kind, fractions, core)
        row = _draw_conditional(rng, core, constraints) if rng.random() < CONDITIONAL_RATE else None
        both = row is not None and row[2] is not None and row[3] is not None
        low = 2 if both else 3
        high = 4 if row is not None else 5
        n = max(int(rng.integers(low, high + 1)), len(core))
        taken = {t.tool for t in core} | ({row[1]} if row else set())
        chosen = [(t.tool, t.value) for t in core]
        if row is not None:
            chosen += [(row[1], v) for v in row[2:] if v is not None]
        options = {t: vs for t, vs in extra.items() if t not in taken}
        picked = _pick_values(rng, options, n - len(core), chosen, constraints)
        if low <= len(core) + len(picked) <= high:
            break
    else:  # pragma: no cover - every theme has enough tools; kept as a clear failure
        raise RuntimeError(f"could not build a complex task for theme {title!r}")
    targets = core + [Target(t, v, _draw_strength(rng)) for t, v in picked]
    conditionals = []
    if row is not None:
        pred, tool, a, b = row
        then, otherwise = (
            None if v is None else Target(tool, v, _draw_strength(rng)) for v in (a, b)
        )
        conditionals.append(
            Conditional(
                pred, then, otherwise, _conditional_text(rng, pred, tool, then, otherwise, split)
            )
        )
    return title, targets, constraints, conditionals


def _conditional_text(
    rng: np.random.Generator,
    pred: str,
    tool: str,
    then: Target | None,
    otherwise: Target | None,
    split: str,
) -> str:
    def clause(branch: Target | None) -> str:
        if branch is None:
            return _pick(rng, lx.KEEP_PHRASES[tool])
        return _pick(rng, lx.BRANCH_VERBS).format(p=_say(rng, branch))

    frame = _pick(rng, lx.CONDITIONAL_FRAMES[split])
    text = frame.format(
        pred=_pick(rng, lx.PREDICATE_PHRASES[pred]), then=clause(then), otherwise=clause(otherwise)
    )
    return _cap(text)


def _check_tier_split(tier: Any, split: Any) -> None:
    _check_choice(tier, TIERS, "tier")
    if split in FIXED_SPLITS:
        raise ValueError(f"split {split!r} is a fixed set, not sampled: use test_tasks(tier, split={split!r})")  # fmt: skip
    _check_choice(split, SPLITS, "split")


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")
    return int(seed)


def check_image_source(source: Any) -> str:
    """``source`` if it names an image source tasks are drawn on, else a named error."""
    if not isinstance(source, str):
        raise TypeError(f"image_source must be a string, got {type(source).__name__}")
    ok = source in ("mix", "procedural", "procedural:outdoor", "procedural:interior", "bundled")
    if not ok and not (source.startswith("folder:") and len(source) > len("folder:")):
        raise ValueError(
            f"unknown image_source {source!r}; expected 'mix', 'procedural', "
            "'procedural:outdoor', 'procedural:interior', 'bundled' or 'folder:PATH'"
        )
    return source


def sample_task(
    tier: str, seed: int, split: str = "train", image_source: str | None = None
) -> Task:
    """A task of ``tier``, a pure function of ``(tier, seed, split, image_source)``.

    Args:
        tier: ``"simple"``, ``"regular"`` or ``"complex"``.
        seed: an int >= 0.
        split: ``"train"`` (train templates, image seeds in [0, 10**6)) or ``"test"`` (held-out
            templates, image seeds in [10**6, 2 * 10**6)).
        image_source: overrides the tier's default source (:data:`DEFAULT_SOURCES`).

    Raises:
        ValueError: unknown tier, split or image source; a negative seed.
    """
    _check_tier_split(tier, split)
    seed = _check_seed(seed)
    source = check_image_source(DEFAULT_SOURCES[tier] if image_source is None else image_source)
    rng = _rng(tier, seed, split)
    constraints: list[Constraint] = []
    conditionals: list[Conditional] = []
    if tier == "simple":
        image_seed = _image_seed(rng, split)
        theme, targets = _simple_spec(rng)
    elif tier == "regular":
        theme, targets = _regular_spec(rng)
        image_seed = (
            _room_seed(rng, split, theme)
            if source == "procedural:interior"
            else _image_seed(rng, split)
        )
    else:
        image_seed = _image_seed(rng, split)
        kind, fractions = _image_info(source, image_seed)
        theme, targets, constraints, conditionals = _complex_spec(rng, kind, fractions, split)
    template_id, instruction, constraints, conditionals = write_request(
        rng, (TIERS.index(tier), seed, SPLITS.index(split)), tier, split, source, image_seed,
        theme, targets, constraints, conditionals,
    )  # fmt: skip
    return Task(
        task_id=f"{tier}-{split}-{seed}",
        tier=tier,
        theme=theme,
        image_source=source,
        image_seed=image_seed,
        image_index=0,
        targets=tuple(sorted(targets, key=lambda t: _ORDER[t.tool])),
        conditionals=tuple(conditionals),
        constraints=tuple(constraints),
        instruction=instruction,
        template_id=template_id,
        split=split,
    )


def write_request(
    rng: np.random.Generator,
    key: tuple[int, ...],
    tier: str,
    split: str,
    source: str,
    image_seed: int,
    theme: str,
    targets: Sequence[Target],
    constraints: Sequence[Constraint],
    conditionals: Sequence[Conditional],
    library: str = "v2",
) -> tuple[str, str, list[Constraint], list[Conditional]]:
    """Write a spec's request: ``(template_id, instruction, constraints, conditionals)`` (the
    clauses with the words the request uses). Train requests come from the training language
    (``styling_env.wording``, seeded by ``key``; ``library``: the task's action library),
    test requests from the held-out frames drawn with ``rng``."""
    constraints, conditionals = list(constraints), list(conditionals)
    if split == "train":  # the same spec, in the richer training language (wording.py)
        kind = _image_info(source, image_seed)[0] if constraints else "outdoor"
        words = train_wording(
            key, tier, TEMPLATES[tier][split], theme, targets, constraints, conditionals, kind,
            MAX_INSTRUCTION, library,
        )  # fmt: skip
        constraints = [
            replace(c, text=t) for c, t in zip(constraints, words.constraint_texts, strict=True)
        ]
        conditionals = [
            replace(c, text=t) for c, t in zip(conditionals, words.conditional_texts, strict=True)
        ]
        return words.template_id, words.instruction, constraints, conditionals
    template_id, frame = _pick(rng, TEMPLATES[tier][split])
    items = [_say(rng, targets[int(i)]) for i in rng.permutation(len(targets))]
    extra = ""
    if constraints:
        joined = _pick(rng, lx.CONSTRAINT_JOINS).join(c.text for c in constraints)
        sentences = [_cap(_pick(rng, lx.CONSTRAINT_FRAMES).format(c=joined))]
        sentences += [c.text for c in conditionals]
        extra = " ".join(sentences[int(i)] for i in rng.permutation(len(sentences)))
    phrase = _pick(rng, lx.REGULAR_THEME_PHRASES[theme]) if tier == "regular" else theme
    return template_id, _fill(frame, _join(items), phrase, extra), constraints, conditionals


@functools.lru_cache(maxsize=32)
def _test_set(tier: str, n: int, seed: int) -> tuple[Task, ...]:
    return tuple(sample_task(tier, seed * 100_000 + i, "test") for i in range(n))


def test_tasks(
    tier: str, n: int | None = None, seed: int | None = None, split: str = "test"
) -> tuple[Task, ...]:
    """The fixed test set of ``tier``: ``n`` tasks (default 200) of held-out templates on test
    images, cached; task ``i`` is ``sample_task(tier, seed * 100_000 + i, "test")`` (seed 2026).
    ``split="free"``: the free-text set (:mod:`styling_env.free_tasks`), its first ``n`` (default
    all; ``seed`` must stay None: the set is fixed)."""
    if split in FIXED_SPLITS:
        _check_choice(tier, TIERS, "tier")
        if seed is not None:
            raise ValueError(f"split {split!r} is a fixed set: it takes no seed, got {seed!r}")
        fixed = FIXED_SPLITS[split](tier)
        return fixed if n is None else fixed[: _check_n(n, len(fixed))]
    _check_tier_split(tier, split)
    if split != "test":
        raise ValueError(f"test_tasks takes split 'test' or {', '.join(map(repr, FIXED_SPLITS))}; got {split!r}")  # fmt: skip
    return _test_set(tier, _check_n(200 if n is None else n), _check_seed(2026 if seed is None else seed))  # fmt: skip


def _check_n(n: Any, most: int = 100_000) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or not 1 <= n <= most:
        raise ValueError(f"n must be an int in [1, {most}], got {n!r}")
    return int(n)


test_tasks.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def _as_target(item: Any) -> Target:
    if isinstance(item, Target):
        return item
    if isinstance(item, Mapping):
        return Target.from_dict(item)
    if isinstance(item, tuple | list) and len(item) in (2, 3):
        return Target(*item)
    raise TypeError(
        f"a target must be a Target, a mapping {{'tool', 'value', 'strength'}} or a "
        f"(tool, value[, strength]) tuple, got {item!r}"
    )


def _as_constraint(item: Any) -> Constraint:
    if isinstance(item, Constraint):
        return item
    if isinstance(item, Mapping):
        return Constraint.from_dict(item)
    raise TypeError(f"a constraint must be a Constraint or a mapping, got {item!r}")


def user_task(
    instruction: str,
    targets: Iterable[Any] | None = None,
    constraints: Iterable[Any] = (),
    image: Any = None,
    task_id: str = "user",
    library: str = "v2",
) -> Task:
    """A user's own request as a :class:`Task`.

    Args:
        instruction: the request in the user's words (non-empty).
        targets: the spec if known: :class:`Target` objects, mappings ``{"tool", "value",
            "strength"}`` or ``(tool, value[, strength])`` tuples; ``None`` = unknown (empty).
        constraints: :class:`Constraint` objects or mappings.
        image: the user's image (anything :func:`styling_env.images.as_image_batch` accepts for
            one image: numpy ``(H, W, 3)``, torch ``(3, H, W)``, PIL, or a batch of one);
            ``source_image`` then returns it and ``image_source`` is ``"user"``. Without one the
            task uses the default ``mix`` image of seed 0.
        task_id: the task's id.
        library: the action library the request is for (``styling_env.libraries``): every
            target must be a call it can make (``ToolCall("lens_character", ...)`` needs
            ``"v3"``).

    The tier is ``simple`` for at most two targets and no constraints, else ``complex``.

    Warns (``UserWarning``): without targets (the judge's reference is then the unedited
    source, so every edit is penalised: pass the targets the request means to get a score that
    rewards doing it); for a non-square image (the env's images are square: the largest centred
    square is kept and the rest cut off; the warning gives the sizes; crop or pad it yourself to
    choose what stays). The instruction keeps its words in any script.

    Raises:
        ValueError / TypeError: empty instruction, bad target or constraint, bad image.
    """
    if not isinstance(instruction, str):
        raise TypeError(f"instruction must be a string, got {type(instruction).__name__}")
    if not instruction.strip():
        raise ValueError("instruction is empty; expected the request as text")
    target_list = tuple(_as_target(t) for t in (targets or ()))
    constraint_list = tuple(_as_constraint(c) for c in constraints)
    pixels = None
    if image is not None:
        batch = image if isinstance(image, ImageBatch) else None
        if batch is None:
            is_batch = isinstance(image, np.ndarray | Tensor) and image.ndim == 4
            batch = as_image_batch(image if is_batch else [image])
        if len(batch) != 1:
            raise ValueError(f"image must be one image, got a batch of {len(batch)}")
        pixels = batch.pixels[0].detach().cpu()
        h, w = pixels.shape[-2:]
        if h != w:
            import warnings

            side = min(h, w)
            cut = f"{(w - side) // 2} px at the left and right" if w > h else (
                f"{(h - side) // 2} px at the top and bottom"
            )  # fmt: skip
            warnings.warn(
                f"user_task: the image is {h}x{w} (H x W) but the env's images are square: it "
                f"will be centre-cropped to its central {side}x{side}, cutting about {cut}; "
                "crop or pad it yourself to choose what stays",
                UserWarning,
                stacklevel=2,
            )
    if not target_list:
        import warnings

        warnings.warn(
            "user_task without targets: the judge's reference is the unedited source, so every "
            "edit will be penalised; pass targets=[Target(tool, value, strength), ...] for the "
            "changes the request asks for",
            UserWarning,
            stacklevel=2,
        )
    tier = "simple" if len(target_list) <= 2 and not constraint_list else "complex"
    return Task(
        task_id=task_id,
        tier=tier,
        theme="user",
        image_source="user" if pixels is not None else "mix",
        image_seed=0,
        image_index=0,
        targets=tuple(sorted(target_list, key=lambda t: _ORDER[t.tool])),
        conditionals=(),
        constraints=constraint_list,
        instruction=instruction.strip(),
        template_id="user",
        split="test",
        image=pixels,
        library=library,
    )


def cue_words(text: str) -> dict[str, list[str]]:
    """The intensity cue words in ``text``, per level (whole words, case-insensitive)."""
    words = re.findall(r"[a-z]+", text.lower())
    return {level: [w for w in words if w in cues] for level, cues in INTENSITY_CUES.items()}


__all__ = [
    "LUMA", "NON_PHOTO_LOOKS", "PRESERVABLE_REGIONS", "write_request",
    "CONSTRAINT_KINDS", "DEFAULT_SOURCES", "INTENSITY_CUES", "PREDICATES", "PREDICATE_RULES",
    "STRENGTH_LEVELS", "TEMPLATES", "THEMES", "TIERS", "TOOL_ORDER", "Conditional", "Constraint",
    "Target", "Task", "conflict", "conflicts", "cue_words", "image_measures", "intensity_level",
    "interior_scene", "sample_task", "template_frame", "test_tasks", "user_task", "value_phrase",
]  # fmt: skip
