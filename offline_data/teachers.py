"""Teachers: the behaviour policies that write the synthetic trajectories.

A teacher sees a task and the oracle's plan for it (a teacher is privileged; the learner never
sees the plan) and acts step by step. :class:`NoisyOracle` follows the oracle plan with
controlled, seeded mistakes — a wrong tool, a sibling value, a bad strength, a wrong order, a
missing or extra step, an early stop, an ignored constraint — mixed by :class:`NoiseProfile` so
the judge's quality ``r`` spreads like the paper's (about 65% of trajectories at ``r >= 4``, a
real tail below 3). :class:`AgentTeacher` turns any agent with stable-baselines3's ``predict``
into a teacher.

Every step carries a reason of 20-40 words written by :func:`reason` from the step's call, the
current Stage-1 context and the request. A mistaken step's reason is written by the same
function from the same inputs as a correct one's, so the text does not leak the step's quality.
Each episode carries the Stage-3 precise instruction (:func:`precise_instruction`).

A task of another action library (``task.library``: ``normal``, ``v3``;
:mod:`styling_env.libraries`) is taught in that library: the teacher follows the oracle plan as
the library states it (:func:`~styling_env.libraries.library_plan`: the ``normal`` library
fences a kept geometric area off with an ``exclude_region`` call first), its mistakes draw from
the library's painting actions and values, and the reasons, the precise instruction and the
JSON plan use the library's words. A ``v2`` task is taught exactly as before the libraries.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import numpy as np

from styling_env.context import DIMENSION_LABELS, context_dimensions, context_nvec, state_name
from styling_env.engine import Decoded, Invalid, Stop, decode_native
from styling_env.lexicon import VALUE_PHRASES
from styling_env.libraries import Library, library_plan
from styling_env.libraries import library as get_library
from styling_env.tasks import Task, intensity_level
from styling_env.tools import TOOLS, ToolCall
from styling_env.tools.compose import is_modifier
from styling_env.tools.library_tables import DEFAULT_LIBRARY
from styling_env.validation import fraction
from styling_env.wording import value_label, value_row

from .errors import check_same_library

#: Kinds of mistake a :class:`NoisyOracle` makes; ``ignore_constraint`` only where a task has
#: preserved regions.
MISTAKES: tuple[str, ...] = (
    "wrong_tool", "sibling_value", "bad_strength", "wrong_order", "missing_step",
    "extra_step", "early_stop", "ignore_constraint",
)  # fmt: skip


#: Share of mistake-free episodes per tier, calibrated with judge v2 so that about 65% of the
#: trajectories reach r >= 4. Measured on 300 episodes per tier at 128 px (seed 0, half of
#: them clean): a clean episode reaches r >= 4 in 98-99% of cases (mean r 4.87-4.92), one with
#: mistakes in 7% (simple, mean r 0.90) to 14-16% (regular and complex, mean r 1.96-1.99) —
#: judge v2 credits only the changes that are visibly there, so one mistake in a short plan
#: costs most of the score.
TIER_CLEAN: Mapping[str, float] = {"simple": 0.63, "regular": 0.6, "complex": 0.6}


@dataclass(frozen=True)
class NoiseProfile:
    """How often and how badly a :class:`NoisyOracle` errs.

    Per episode: with probability ``clean`` no mistake is made; otherwise 1, 2 or 3 mistakes
    (probabilities ``n_mistakes``) of kinds drawn with ``weights``. Every strength is also
    jittered by a factor ``exp(N(0, jitter))``, mistakes or not.
    """

    clean: float = 0.6
    n_mistakes: tuple[float, float, float] = (0.55, 0.3, 0.15)
    weights: Mapping[str, float] = field(
        default_factory=lambda: {
            "wrong_tool": 1.0, "sibling_value": 1.2, "bad_strength": 1.2, "wrong_order": 0.6,
            "missing_step": 1.0, "extra_step": 0.8, "early_stop": 0.7, "ignore_constraint": 0.6,
        }
    )  # fmt: skip
    jitter: float = 0.08

    def __post_init__(self) -> None:
        fraction("clean", self.clean)  # checked only: the stored profile keeps its values
        if len(self.n_mistakes) != 3 or min(self.n_mistakes) < 0 or sum(self.n_mistakes) <= 0:
            raise ValueError(f"n_mistakes must be 3 non-negative weights, got {self.n_mistakes!r}")
        unknown = sorted(set(self.weights) - set(MISTAKES))
        if unknown:
            raise ValueError(f"unknown mistake kind(s) {unknown}; expected {', '.join(MISTAKES)}")
        if min(self.weights.values(), default=0) < 0 or sum(self.weights.values()) <= 0:
            raise ValueError("mistake weights must be non-negative with a positive sum")
        fraction("jitter", self.jitter)

    @classmethod
    def for_tier(cls, tier: str) -> NoiseProfile:
        """The profile calibrated so that about 65% of a tier's trajectories reach ``r >= 4``
        (:data:`TIER_CLEAN`, judge v2; measured on 300 episodes per tier at 128 px)."""
        if tier not in TIER_CLEAN:
            raise ValueError(f"unknown tier {tier!r}; expected one of {', '.join(TIER_CLEAN)}")
        return cls(clean=TIER_CLEAN[tier])

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["weights"] = dict(self.weights)
        d["n_mistakes"] = list(self.n_mistakes)
        return d


@dataclass
class Scripted:
    """A teacher's plan for one episode: the calls with, per call, the mistake it embodies
    (``""`` for a correct call), then STOP."""

    calls: list[ToolCall]
    tags: list[str]
    mistakes: list[str]

    def noise(self) -> dict[str, Any]:
        return {"mistakes": list(self.mistakes), "n_mistakes": len(self.mistakes)}


def painting_actions(name: str = DEFAULT_LIBRARY) -> dict[str, tuple[str, ...]]:
    """Tool -> vocabulary values of library ``name``'s actions that paint (its tools, the v3
    styling actions, ``graduated_effect``; not the ``normal`` library's rules, which change
    nothing by themselves): what a mistaken or random call draws from. ``v2``: :data:`TOOLS`."""
    lib = get_library(name)
    return {a.tool: a.values for a in lib.actions if not is_modifier(a.tool)}


def _other_tool(
    rng: np.random.Generator, exclude: set[str], palette: Mapping[str, Sequence[str]] = TOOLS
) -> str:
    tools = [t for t in palette if t not in exclude] or list(palette)
    return tools[int(rng.integers(len(tools)))]


def _random_value(
    rng: np.random.Generator, tool: str, exclude: str | None = None, lib: Library | None = None
) -> str:
    values = [v for v in (TOOLS[tool] if lib is None else lib.action(tool).values) if v != exclude]
    return values[int(rng.integers(len(values)))]


def _with(call: ToolCall, **changes: Any) -> ToolCall:
    d = {"tool": call.tool, "value": call.value, "strength": call.strength}
    d.update(changes)
    return ToolCall(d["tool"], d["value"], d["strength"], call.region, call.params)


def script_noisy_oracle(
    plan: Sequence[ToolCall],
    rng: np.random.Generator,
    profile: NoiseProfile,
    library: str = DEFAULT_LIBRARY,
) -> Scripted:
    """The oracle ``plan`` with the seeded mistakes ``profile`` draws (see :class:`NoiseProfile`),
    in action library ``library``: the plan is taken as the library states it
    (:func:`~styling_env.libraries.library_plan`), wrong and extra calls draw from its painting
    actions (:func:`painting_actions`), a sibling value from the call's action's values, and
    ``ignore_constraint`` drops the preserved regions and the ``exclude_region`` rules alike.
    The ``v2`` library draws exactly the numbers it always drew."""
    lib = get_library(library)
    plan = library_plan(plan, lib.name)
    calls = [
        _with(c, strength=round(float(np.clip(c.strength * np.exp(rng.normal(0, profile.jitter)), 0.05, 1.0)), 2))
        for c in plan
    ]  # fmt: skip
    tags = [""] * len(calls)
    mistakes: list[str] = []
    if rng.random() >= profile.clean:
        n = 1 + int(rng.choice(3, p=np.asarray(profile.n_mistakes) / sum(profile.n_mistakes)))
        kinds = [k for k in MISTAKES if profile.weights.get(k, 0) > 0]
        for _ in range(n):
            possible = [k for k in kinds if _applicable(k, calls)]
            if not possible:
                break
            w = np.array([profile.weights[k] for k in possible], dtype=float)
            kind = possible[int(rng.choice(len(possible), p=w / w.sum()))]
            _apply_mistake(kind, calls, tags, rng, lib)
            mistakes.append(kind)
    return Scripted(calls, tags, mistakes)


def _is_rule(call: ToolCall) -> bool:
    """A call of the ``normal`` library that sets a rule and paints nothing by itself."""
    return is_modifier(call.tool)


def _applicable(kind: str, calls: list[ToolCall]) -> bool:
    if kind in ("wrong_tool", "sibling_value", "missing_step", "early_stop"):
        return len(calls) >= 1
    if kind == "bad_strength":  # a rule ignores its strength: only a painting call can err so
        return any(not _is_rule(c) for c in calls)
    if kind == "wrong_order":
        return len(calls) >= 2
    if kind == "ignore_constraint":
        return any(c.preserved_regions or c.tool == "exclude_region" for c in calls)
    return True  # extra_step


def _apply_mistake(
    kind: str,
    calls: list[ToolCall],
    tags: list[str],
    rng: np.random.Generator,
    lib: Library | None = None,
):
    lib = lib or get_library()
    palette = painting_actions(lib.name)
    if kind == "bad_strength":
        painting = [i for i, c in enumerate(calls) if not _is_rule(c)]
        k = painting[int(rng.integers(len(painting)))]
    else:
        k = int(rng.integers(len(calls))) if calls else 0
    if kind == "wrong_tool":
        tool = _other_tool(rng, {c.tool for c in calls}, palette)
        calls[k] = ToolCall(
            tool, _random_value(rng, tool, lib=lib), calls[k].strength, params=calls[k].params
        )
        tags[k] = kind
    elif kind == "sibling_value":
        calls[k] = _with(calls[k], value=_random_value(rng, calls[k].tool, calls[k].value, lib))
        tags[k] = kind
    elif kind == "bad_strength":
        factor = rng.uniform(0.2, 0.5) if rng.random() < 0.5 else rng.uniform(1.7, 2.8)
        s = round(float(np.clip(calls[k].strength * factor, 0.05, 1.0)), 2)
        if abs(s - calls[k].strength) < 0.1:  # a strong value cannot go higher: go lower
            s = round(max(0.05, calls[k].strength * 0.35), 2)
        calls[k] = _with(calls[k], strength=s)
        tags[k] = kind
    elif kind == "wrong_order":
        order = list(range(len(calls)))
        while order == sorted(order):
            order = [int(i) for i in rng.permutation(len(calls))]
        calls[:] = [calls[i] for i in order]
        tags[:] = [tags[i] or kind for i in order]
    elif kind == "missing_step":
        del calls[k], tags[k]
    elif kind == "extra_step":
        tool = _other_tool(rng, {c.tool for c in calls}, palette)
        params = calls[0].params if calls else ()
        extra = ToolCall(
            tool, _random_value(rng, tool, lib=lib), round(float(rng.uniform(0.3, 0.9)), 2),
            params=params,
        )  # fmt: skip
        at = int(rng.integers(len(calls) + 1))
        calls.insert(at, extra)
        tags.insert(at, kind)
    elif kind == "early_stop":
        cut = int(rng.integers(len(calls)))
        del calls[cut:], tags[cut:]
    elif kind == "ignore_constraint":
        for i, c in enumerate(calls):
            if c.preserved_regions:
                p = tuple(
                    (n, v) for n, v in c.params if n not in ("preserve", "preserve_foreground")
                )
                calls[i] = ToolCall(c.tool, c.value, c.strength, c.region, p)
                tags[i] = tags[i] or kind
        # the normal library's fences: a rule that keeps an area is dropped with its call
        keep = [i for i, c in enumerate(calls) if c.tool != "exclude_region"]
        calls[:] = [calls[i] for i in keep]
        tags[:] = [tags[i] for i in keep]


# --------------------------------------------------------------------------------------------
# Reasons (20-40 words, grounded in the context and the request)

_VERBS = {
    "location_setting": "move the scene to",
    "architecture_style": "give the buildings",
    "time_period_era": "set the period to",
    "time_of_day": "shift the light to",
    "season_cycle": "turn the season to",
    "weather_conditions": "bring in",
    "mood_lighting": "light the scene for",
    "color_grading": "grade the colors toward",
    "artistic_medium": "render the picture as",
    "atmospheric_effects": "add",
}
_ASPECT = {
    "location_setting": "setting", "architecture_style": "architecture",
    "time_period_era": "period look", "time_of_day": "light", "season_cycle": "season",
    "weather_conditions": "weather", "mood_lighting": "mood", "color_grading": "palette",
    "artistic_medium": "medium", "atmospheric_effects": "atmosphere",
}  # fmt: skip
_OPENERS = (
    "The {dim} currently reads as {state}, while the request asks for {ask}.",
    "Right now the {dim} looks like {state}, but the request wants {ask}.",
    "The image shows {state} for the {dim}, and the request calls for {ask}.",
)
_OPENERS_NEUTRAL = (
    "The image shows no clear {dim} yet, while the request asks for {ask}.",
    "Nothing in the picture sets the {dim} so far, but the request wants {ask}.",
    "So far the picture has no distinct {dim}, and the request calls for {ask}.",
)
_OPENERS_SAME = (
    "The {dim} already leans toward {state}, and the request asks for {ask}.",
    "There is already a hint of {state} in the {dim}, and the request wants {ask}.",
)
_ACTIONS_SAME = (
    "So I {verb} {value} at {level} strength to make it read clearly.",
    "A {level} call to {verb} {value} settles the {aspect} there.",
)
_ACTIONS = (
    "So I {verb} {value} at {level} strength to move the {aspect} there.",
    "I therefore {verb} {value} with a {level} touch to close that gap.",
    "A call to {verb} {value} at {level} strength moves the {aspect} toward it.",
)
_CLOSERS = (
    "Doing this at step {step} keeps later edits from fighting it.",
    "This leaves the rest of the picture to the remaining calls.",
    "It should stay consistent with what the other steps add.",
    "That keeps the composition intact while the {aspect} changes.",
    "The subject and layout stay as they are.",
)
_STOP = (
    "The picture now covers what the request asks for: {done}. Any further call would only "
    "push it away from the request, so the plan ends here.",
    "Every part of the request has been addressed ({done}); more edits would add unrequested "
    "changes or overshoot, so I stop now.",
)
_STOP_EMPTY = (
    "The request's changes are already visible in the picture as it is, and any call would "
    "only add unrequested edits or overshoot, so the plan ends without further changes here.",
)


#: Verb and aspect of the actions the other libraries add (the ten tools' are above): "So I
#: {verb} {value}", "the {aspect}".
_MORE_VERBS: dict[str, tuple[str, str]] = {
    "art_movement": ("restyle the picture after", "art movement"),
    "painting_technique": ("paint it with", "brushwork"),
    "illustration_style": ("draw it in the style of", "illustration style"),
    "rendering_style": ("render it as", "rendering"),
    "texture_overlay": ("overlay a texture of", "surface texture"),
    "filter_effects": ("apply the filter", "filter look"),
    "color_palette": ("recolor it with a palette of", "palette"),
    "color_temperature": ("set the color temperature to", "color temperature"),
    "saturation_intensity": ("set the saturation to", "saturation"),
    "contrast_style": ("set the contrast to", "contrast"),
    "tonal_range": ("shift the tones to", "tonal key"),
    "lighting_style": ("use the lighting pattern", "lighting setup"),
    "light_quality": ("make the light", "light quality"),
    "shadow_treatment": ("treat the shadows as", "shadows"),
    "glow_effects": ("add a glow of", "glow"),
    "atmospheric_depth": ("build depth with", "depth"),
    "motion_aesthetics": ("add the motion look of", "motion"),
    "lens_character": ("add the lens effect", "lens"),
    "grain_noise": ("add a grain of", "grain"),
    "sharpness_softness": ("set the focus to", "focus"),
    "graduated_effect": ("add a gradient of", "gradient"),
}
_DIRECTIONS = {
    "top_to_bottom": "from top to bottom", "bottom_to_top": "from bottom to top",
    "left_to_right": "from left to right", "right_to_left": "from right to left",
    "center_out": "from the center out", "edges_in": "from the edges in",
}  # fmt: skip
#: The ``normal`` library's areas in words (its rules name them).
_AREAS = {
    "indoor": "indoor parts", "outdoor": "open-air parts", "indoor_only": "indoor parts",
    "outdoor_only": "open-air parts", "center": "center", "edges": "edges",
}  # fmt: skip
_PREDICATES = {"has_sky": "showing sky"}
_BLEND_REGIONS = {
    "everywhere": "the whole picture evenly", "architecture_only": "the buildings alone",
    "objects_only": "the objects alone", "lighting_only": "the lighting (its brightness) alone",
    "foreground": "the foreground alone", "background": "the background alone",
}  # fmt: skip
#: Reasons of the ``normal`` library's rules (a rule paints nothing: it says what it protects
#: or binds). Fields: area, what, kind, mode, pred, where, order.
_RULES: dict[str, tuple[str, ...]] = {
    "exclude_region": (
        "First, fence off the {area} so nothing after this touches it: the request wants that "
        "part of the picture kept exactly as it is, and every later call now leaves it alone.",
        "Before any styling, I set a rule that keeps the {area} untouched: the request asks to "
        "leave it as it is, so every later call must skip that part of the frame.",
    ),
    "preserve_object_category": (
        "Before styling, I protect the {what} in the scene as a rule: they should stay as they "
        "are, so every later call leaves those objects untouched while the rest changes.",
    ),
    "preserve_attribute": (
        "I set a rule to keep the picture's {what} as it is: later calls may change other "
        "things, but whatever they do to the {what} of the protected pixels is undone.",
    ),
    "spatial_constraint": (
        "I confine {kind} to the {area}: the change is wanted only there, so this rule keeps "
        "the calls that follow from spilling outside that part of the picture.",
    ),
    "conditional_transform": (
        "The request makes the next change depend on the picture being {pred}; this rule checks "
        "the image as it is now and lets {branches}.",
    ),
    "sequence_transform": (
        "The calls that follow form one sequence {order}; this marks them as such and changes "
        "nothing in the picture by itself, so the remaining steps carry the requested changes.",
    ),
    "parallel_transform": (
        "The next two changes should be applied side by side and combined by {mode} rather "
        "than one on top of the other, so I open a parallel pair that the next two calls fill.",
    ),
    "layered_transformation": (
        "The next change goes on as its own layer, blended in {mode} mode with its strength as "
        "the layer's opacity, so it sits over the picture instead of replacing what is there.",
    ),
    "selective_blend": (
        "The next change should land on {where}, so this rule blends it in there and keeps the "
        "rest of the picture as it was before that call, as the request wants.",
    ),
}
#: The rules in a precise instruction ("keep the left half untouched from here on").
_RULE_STEPS: dict[str, str] = {
    "exclude_region": "keep the {area} untouched from here on",
    "preserve_object_category": "keep the {what} as they are from here on",
    "preserve_attribute": "keep the {what} of the picture from here on",
    "spatial_constraint": "confine {kind} to the {area}",
    "conditional_transform": "if the picture is {pred}, {step}",
    "sequence_transform": "apply what follows as one sequence {order}",
    "parallel_transform": "combine the next two changes by {mode}",
    "layered_transformation": "layer the next change in {mode} mode",
    "selective_blend": "blend the next change into {where}",
}


def _words(value: str) -> str:
    return value.replace("_", " ")


def _aspect(tool: str) -> str:
    return _ASPECT[tool] if tool in _ASPECT else _MORE_VERBS.get(tool, ("", _words(tool)))[1]


def _call_words(call: ToolCall, lib: Library) -> str:
    """The value of ``call`` in ``lib``'s words ("dawn" in v3 for ``sunrise_golden``; a
    graduated effect as "fog from top to bottom")."""
    if call.tool == "graduated_effect":
        effect, _, direction = call.value.partition("/")
        return f"{_words(effect)} {_DIRECTIONS.get(direction, _words(direction))}"
    if lib.name != DEFAULT_LIBRARY and lib.has(call):
        return _words(lib.action(call.tool).word(call.value))
    return _words(call.value)


def _rule_fill(call: ToolCall) -> dict[str, str]:
    """The words a rule's reason and instruction step are filled with."""
    first, _, second = call.value.partition("/")
    area = _AREAS.get(first, _words(first))
    if call.tool == "conditional_transform":
        both = second == "then_else"
        branches = (
            "the next call act if it holds and the one after it if it does not"
            if both
            else "the next call act only if it holds"
        )
        step = "apply the next change, else the one after it" if both else "apply the next change"
        return {"pred": _PREDICATES.get(first, _words(first)), "branches": branches, "step": step}
    return {
        "area": area,
        "what": _words(first),
        "kind": "every later change" if second == "any" else f"every later {_words(second)} change",
        "mode": _words(first),
        "where": _BLEND_REGIONS.get(first, _words(first)),
        "order": "whose order matters" if first == "order_matters" else "in any order",
    }


def _rule_reason(call: ToolCall, rng: np.random.Generator) -> str:
    frames = _RULES[call.tool]
    return " ".join(frames[int(rng.integers(len(frames)))].format(**_rule_fill(call)).split())


def _lexicon_row(tool: str, value: str) -> tuple[str, ...]:
    """The request phrases of ``value`` (the default library's lexicon, then the rows the other
    libraries add); none for a value that has no row (a rule, a graduated effect)."""
    if tool in VALUE_PHRASES:
        return tuple(VALUE_PHRASES[tool].get(value, ()))
    try:
        return value_row(tool, value)
    except ValueError:
        return ()


def request_phrase(task: Task, tool: str, value: str) -> str:
    """The words of ``task``'s request that ask for ``value`` of ``tool``: one of its lexicon
    phrases when the instruction holds one, otherwise the value's name (its label for a value
    the other libraries add)."""
    text = task.instruction.lower()
    phrases = sorted(_lexicon_row(tool, value), key=len, reverse=True)
    for p in phrases:
        if re.search(r"\b" + re.escape(p.lower()) + r"\b", text):
            return f'"{p}"'
    if tool not in VALUE_PHRASES:
        try:
            return value_label(tool, value).lower()
        except ValueError:
            pass
    return _words(value)


def _ask(task: Task, call: ToolCall, requested: Mapping[str, str], rng: np.random.Generator) -> str:
    # the request's words for this tool; for a tool the request does not ask for, the words of
    # another requested change (as a planner that misread the request would cite them)
    if call.tool in requested:
        return request_phrase(task, call.tool, requested[call.tool])
    if requested:
        tool = sorted(requested)[int(rng.integers(len(requested)))]
        return request_phrase(task, tool, requested[tool])
    return "the look it describes"


_OPENERS_FREE = (
    "The request asks for {ask}, a change of {aspect} that no call so far has made.",
    "Nothing done so far gives the picture the {aspect} the request wants: {ask}.",
)
_OPENERS_AGAIN = (
    "The request asks for {ask}, and an earlier call already worked on the {aspect}.",
)


def reason(
    decoded: Decoded, task: Task, requested: Mapping[str, str], context: Sequence[int],
    step: int, rng: np.random.Generator, done: Sequence[ToolCall] = (),
) -> str:  # fmt: skip
    """A 20-40 word reason for ``decoded`` (a call or STOP) taken at ``step`` (0-based) with the
    current ``context`` (Stage-1 state indices) on ``task``, whose request asks for
    ``requested`` (tool -> value, as resolved on its source); ``done`` are the calls made
    before. The same inputs give the same sentence whether the call is right or wrong.

    In ``task.library``'s words: a tool the Stage-1 context tracks is grounded in its state, an
    action it does not track (the v3 styling actions, a graduated effect) in the calls made so
    far, and a rule of the ``normal`` library says what it protects or binds ("First, fence off
    the left half so nothing after this touches it: ...")."""
    lib = get_library(getattr(task, "library", DEFAULT_LIBRARY))
    if isinstance(decoded, Stop):
        if not done:
            return _STOP_EMPTY[int(rng.integers(len(_STOP_EMPTY)))]
        frame = _STOP[int(rng.integers(len(_STOP)))]
        named = [c for c in done if not _is_rule(c)] or list(done)
        for k in (3, 2, 1):  # name as many of the last calls as fit in 40 words
            text = frame.format(
                done=", ".join(
                    f"{_call_words(c, lib)} {_aspect(c.tool)}"
                    if not _is_rule(c)
                    else _RULE_STEPS[c.tool].format(**_rule_fill(c))
                    for c in named[-k:]
                )
            )
            if len(text.split()) <= 40:
                break
        return text
    if not isinstance(decoded, ToolCall):
        return "This call could not be understood, so it changes nothing in the picture."
    call = decoded
    if _is_rule(call):
        return _rule_reason(call, rng)
    fill = {
        "ask": _ask(task, call, requested, rng),
        "verb": _VERBS[call.tool] if call.tool in _VERBS else _MORE_VERBS[call.tool][0],
        "value": _call_words(call, lib),
        "level": intensity_level(call.strength),
        "aspect": _aspect(call.tool),
        "step": step + 1,
    }
    dims = context_dimensions(lib.name)
    if call.tool in dims and len(context) == len(dims):  # a Stage-1 dimension: read its state
        d = dims.index(call.tool)
        k = int(context[d])
        # neutral by index: v3's color_temperature has a value named "neutral"
        neutral = k == context_nvec(lib.name)[d] - 1
        state = state_name(call.tool, k)
        fill["dim"] = DIMENSION_LABELS[call.tool]
        fill["state"] = "no clear sign" if neutral else _words(state)
        if not neutral and state == call.value:  # the picture already leans that way
            openers, actions = _OPENERS_SAME, _ACTIONS_SAME
        else:
            openers, actions = (_OPENERS_NEUTRAL if neutral else _OPENERS), _ACTIONS
    else:  # no context dimension: grounded in what the calls so far did
        again = any(c.tool == call.tool for c in done)
        openers, actions = (_OPENERS_AGAIN if again else _OPENERS_FREE), _ACTIONS
    head = openers[int(rng.integers(len(openers)))] + " " + actions[int(rng.integers(len(actions)))]
    if call.preserved_regions:
        keep = call.preserved_regions
        tails = [
            "The "
            + " and ".join(keep)
            + (" must stay as they are." if len(keep) > 1 else " must stay as it is.")
        ]
    else:
        tails = [_CLOSERS[k] for k in rng.permutation(len(_CLOSERS))]
    # the first ending that keeps the reason within 20-40 words (a long request phrase needs a
    # short ending, or none)
    texts = [" ".join((head + " " + t).format(**fill).split()) for t in [*tails, ""]]
    for text in texts:
        if 20 <= len(text.split()) <= 40:
            return text
    return min(texts, key=lambda t: len(t.split()))


def _step_text(c: ToolCall, lib: Library) -> str:
    if _is_rule(c):
        return _RULE_STEPS[c.tool].format(**_rule_fill(c))
    verb = _VERBS[c.tool] if c.tool in _VERBS else _MORE_VERBS[c.tool][0]
    return f"{verb} {_call_words(c, lib)} ({intensity_level(c.strength)})" + (
        f" in the {c.region}" if c.region != "all" else ""
    )


def precise_instruction(calls: Sequence[ToolCall], task: Task | None = None) -> str:
    """Stage 3: the precise edit instruction synthesized from a plan, in the order of the calls
    ("Turn the season to winter bare (strong), then shift the light to golden hour sunset
    (moderate). Leave the sky untouched."), in the words of ``task``'s library (a rule of the
    ``normal`` library is a step: "Keep the left half untouched from here on, then ...")."""
    if not calls:
        return "Leave the image unchanged."
    lib = get_library(getattr(task, "library", DEFAULT_LIBRARY))
    steps = [_step_text(c, lib) for c in calls]
    text = steps[0][:1].upper() + steps[0][1:]
    if len(steps) > 1:
        text += ", then " + ", then ".join(steps[1:])
    text += "."
    keep = sorted({r for c in calls for r in c.preserved_regions})
    if keep:
        text += " Leave the " + " and the ".join(keep) + " untouched."
    if task is not None:
        for c in task.constraints:
            if c.kind == "keep_photorealistic":
                text += " Keep it photorealistic."
            elif c.kind == "avoid_tool" and c.tool:
                text += f" Do not use {DIMENSION_LABELS[c.tool]} changes."
    return text


def paper_plan(calls: Sequence[ToolCall], reasons: Sequence[str], task: Task) -> dict[str, Any]:
    """The episode's plan in the paper's JSON format (``reasoning``, ``overall_instruction``,
    ``actions[{action_id, reasoning, priority, parameters}]``), each action in the JSON of
    ``task``'s library (:meth:`~styling_env.libraries.Library.to_json`)."""
    lib = get_library(getattr(task, "library", DEFAULT_LIBRARY))
    actions = []
    for k, (c, why) in enumerate(zip(calls, reasons, strict=True)):
        d = c.to_dict() if lib.name == DEFAULT_LIBRARY else lib.to_json(c)
        d["reasoning"] = why
        d["priority"] = min(5, k + 1)
        actions.append(d)
    return {
        "reasoning": f"The request is: {task.instruction}",
        "overall_instruction": precise_instruction(calls, task),
        "actions": actions,
    }


# --------------------------------------------------------------------------------------------
# The teacher protocol


class Teacher(Protocol):
    """A behaviour policy for :func:`offline_data.generate.generate`.

    ``start`` is called when slot ``slot`` begins an episode (with the task, the oracle plan
    and the episode's own seeded generator) and returns the episode's noise settings (a
    JSON-able dict); ``act`` returns, per slot in ``slots``, ``(action, mistake_tag)``,
    ``(action, mistake_tag, reason)`` or ``(action, mistake_tag, reason, raw)`` (action: a
    call, STOP or an invalid action; ``raw``: the native action it was decoded from, stored for
    an invalid action), given the batched observation of all slots. Without a reason,
    :func:`reason` writes one.
    """

    name: str

    def start(self, slot: int, task: Task, plan: Sequence[ToolCall], rng: np.random.Generator) -> dict[str, Any]: ...  # fmt: skip

    def act(self, observations: Mapping[str, Any], slots: Sequence[int]) -> list[tuple[Any, ...]]: ...  # fmt: skip


class NoisyOracle:
    """The oracle with the seeded mistakes of a :class:`NoiseProfile` (see the module docstring)."""

    def __init__(self, profile: NoiseProfile | None = None, name: str = "noisy-oracle") -> None:
        self.profile = profile or NoiseProfile()
        self.name = name
        self._scripts: dict[int, tuple[Scripted, int]] = {}

    def start(self, slot, task, plan, rng):
        # the task's library states the plan its own way (library_plan): its teacher follows that
        script = script_noisy_oracle(
            plan, rng, self.profile, getattr(task, "library", DEFAULT_LIBRARY)
        )
        self._scripts[slot] = (script, 0)
        return {"teacher": self.name, **script.noise()}

    def act(self, observations, slots):
        out = []
        for i in slots:
            script, k = self._scripts[i]
            self._scripts[i] = (script, k + 1)
            if k < len(script.calls):
                out.append((script.calls[k], script.tags[k]))
            else:
                out.append((Stop(), "early_stop" if "early_stop" in script.mistakes else ""))
        return out


class AgentTeacher:
    """Any agent with stable-baselines3's ``predict(observation, state, episode_start,
    deterministic)`` as a teacher: its native ``Dict`` actions (batched over slots) are decoded
    like the env decodes them; its steps carry no mistake tags (its quality is the judge's)."""

    def __init__(self, agent: Any, name: str | None = None, deterministic: bool = True) -> None:
        if not callable(getattr(agent, "predict", None)):
            raise TypeError(f"agent {type(agent).__name__} has no predict(observation, ...) method")
        self.agent = agent
        self.name = name or type(agent).__name__
        self.deterministic = deterministic
        self._state: Any = None
        self._starting: set[int] = set()
        self._library = DEFAULT_LIBRARY

    def start(self, slot, task, plan, rng):
        self._starting.add(slot)
        self._library = getattr(task, "library", DEFAULT_LIBRARY)  # its actions' native indices
        own = getattr(self.agent, "library", None)
        if isinstance(own, str):
            check_same_library(f"agent {self.name!r}", own, f"task {task.task_id!r}", self._library)
        return {"teacher": self.name}

    def act(self, observations, slots):
        n = len(next(iter(observations.values())))
        starts = np.array([i in self._starting for i in range(n)])
        self._starting.clear()
        actions, self._state = self.agent.predict(
            observations, state=self._state, episode_start=starts, deterministic=self.deterministic
        )
        out = []
        for i in slots:
            if isinstance(actions, list | tuple):
                a = actions[i]
            elif isinstance(actions, Mapping):
                a = {k: np.asarray(v)[i] for k, v in actions.items()}
            else:
                a = Invalid(
                    f"agent returned {type(actions).__name__}, expected batched Dict actions"
                )
            decoded = (
                a if isinstance(a, ToolCall | Stop | Invalid) else decode_native(a, self._library)
            )
            out.append((decoded, "", None, a))  # the raw action is stored when it is invalid
        return out
