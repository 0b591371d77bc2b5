"""The ``normal`` library's constraint and compositional actions as batched image mechanics.

The paper's "normal" library (``action_library_normal.json``, "3.0-complex") adds ten actions to
the ten tools (:data:`~styling_env.tools.vocabulary.NORMAL_ACTIONS`). Apart from
``graduated_effect``, none of them paints: each sets a rule for the calls that come *after* it in
the episode. This module keeps that rule per episode in a :class:`ComposeState` and plays one call
per image with :func:`compose_step`; :func:`play` plays whole plans. The tools themselves still
render through :func:`~styling_env.tools.apply.apply_calls` (injectable as ``render``), once per
step for the whole batch; the rules are applied to the rendered results afterwards, batched.

A *rendering* call is a call of a tool that paints (the ten tools, the ``v3`` styling actions and
``graduated_effect``); a *modifier* is any other ``normal`` action (:func:`is_modifier`).

Areas
    Every area is a per-pixel mask in [0, 1] (:func:`area_mask`). ``left_half``, ``right_half``,
    ``top_half``, ``bottom_half`` are the halves of the frame; ``center`` is the middle half of
    each axis (a box with soft edges, ``edges`` is ``1 - center``). These work on every image.
    ``foreground`` is the subject mask, ``background`` ``1 - subject``; ``outdoor`` is sky +
    vegetation + water and ``indoor`` ``1 - outdoor`` (an approximation: a scene's open-air
    parts are where sky, plants or water are). Those need semantic masks: on an image without
    masks (a photo) a call that needs them is an invalid call ("... needs semantic masks; this
    image has none"), as a region is today. Object categories map to masks
    (:data:`CATEGORY_AREAS`): ``plants`` is the vegetation mask; people, animals, vehicles and
    every interior category are the subject mask, since the procedural scenes label one
    foreground class.

Constraints (persistent: they hold for every later rendering call of the episode)
    ``exclude_region(area)``, ``preserve_object_category(category)``: later calls leave the area
    untouched (their weights are multiplied by ``1 - mask``, feathered by one pixel as a region
    is). ``spatial_constraint(apply_to/type)``: later calls of that transformation type act only
    inside ``apply_to`` (:data:`TRANSFORMATION_TOOLS` says which tools and values are of which
    type; ``any`` is every rendering call). ``preserve_attribute(attribute)``, whose ``region`` is
    its scope (``all`` = global, ``subject`` = foreground only, ``background`` = background
    only), restores that attribute of the protected pixels after every later call, on that
    call's change only (earlier changes stay): ``lighting`` the luminance (CIE Lab L, Kornia's
    conversions), ``color`` the chroma (Lab a, b), ``texture`` the high-frequency detail
    (the image less its Gaussian blur), ``objects`` the subject's pixels, ``architecture`` the
    buildings' pixels, ``weather`` the sky's pixels; ``style``, ``mood`` and ``technology`` have
    no pixel signature of their own and restore every pixel of the scope. Several constraints
    combine: weights multiply, restores run in the order they were set.

Pending modifiers (they bind the next rendering call(s), then are gone)
    ``conditional_transform(p/then)``: the next rendering call applies only if predicate ``p``
    (:data:`styling_env.tasks.PREDICATES`) holds on the image as it is when the conditional is
    played; ``p/then_else``: the next call applies if ``p`` holds, the one after it if it does
    not (exactly one of the two acts). A skipped call changes nothing but is still played.
    ``parallel_transform(mode)``: the next two rendering calls are both applied to the same
    input ``x`` and their results ``y1``, ``y2`` (changes ``d1``, ``d2``) are combined:
    ``additive`` ``x + d1 + d2``, ``multiplicative`` ``x * (y1/x) * (y2/x)`` (where ``x`` is
    darker than 1/255, where the ratios are unstable, the changes add), ``average``
    ``x + (d1 + d2)/2``, ``max_effect`` per pixel the change with the larger magnitude (summed
    over channels); clamped to [0, 1]. The first of the two leaves the picture unchanged: the
    pair lands on the second call (a pair still open when the episode ends changes nothing).
    ``layered_transformation(mode)``: the next call is rendered at strength 1 and composited
    over the current image with that blend mode (normal, multiply, screen, overlay, soft_light,
    hard_light, add) at opacity = the call's strength. ``selective_blend(region)``: the next
    call's change applies at ratio 1 inside the region (``everywhere``, ``architecture_only`` =
    buildings, ``objects_only`` = ``foreground`` = subject, ``background``) and 0 outside;
    ``lighting_only`` keeps only the luminance of the change, everywhere. The paper's secondary
    parameters, when the selective_blend call carries them, set the inside ratio
    (``target_apply_ratio``), the outside ratio (``1 - source_preserve_ratio``) and the edge
    (``blend_algorithm``: ``linear`` one-pixel feather, ``smooth`` and ``artistic`` Gaussian
    edges of 2 % and 6 % of the short side, ``sharp_transition`` none). A modifier played while
    one of its kind is still pending replaces it (a ``parallel_transform`` whose first call has
    been played cannot be replaced: that is an invalid call). Pending modifiers stack: a call
    can be conditional, layered and selectively blended at once, and the constraints apply to
    its result as to any call's.

Compositional actions that render or do nothing
    ``graduated_effect(effect/direction)`` paints by itself: the effect (:data:`GRADUATED_EFFECTS`)
    rendered at strength 1 and blended with a per-pixel ramp along the direction, from
    ``intensity_start`` (a parameter of the call, default 0) to ``intensity_end`` = the call's
    strength (``center_out`` starts at the centre and ends on the edges, radially: the
    ramp is elliptical and holds its end value in the corners; ``edges_in`` the reverse); its ``region`` limits it as any call's. ``sequence_transform``: calls already
    apply in order, so it changes nothing and keeps no state; it is accepted so that the paper's
    plans play.

Strength 0
    Every call at strength 0 changes nothing: a rendering call at strength 0 still consumes the
    pending modifiers it would consume (the binding of later calls stays the same) and leaves
    the picture as it is bit for bit; a modifier at strength 0 sets no rule. "The plan without
    call ``k``" is therefore the plan with call ``k`` at strength 0. Modifiers ignore any
    other strength (a constraint protects fully).

An invalid call (a region or area on an image without masks, a bad secondary parameter) changes
no pixel and leaves the state as it was; :func:`compose_step` returns its error string.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import kornia
import torch

from ..actions import MASK_NAMES
from ..tasks import PREDICATES
from .apply import GRADUATED_EFFECTS, _region_weights, apply_calls, check_images
from .apply import graduated_ramp as _ramp
from .areas import geometric_mask
from .call import ToolCall
from .ops import OPS, _blend, blur, box_mean
from .vocabulary import (
    ALL_TOOLS,
    CONDITION_PREDICATES,
    GEOMETRIC_REGIONS,
    NORMAL_ACTIONS,
    TRANSFORMATION_TYPES,
)
from .vocabulary import GRADUATED_EFFECTS as _EFFECT_NAMES

Tensor = torch.Tensor
#: ``render(images, calls, masks=..., has_masks=...) -> images``, as :func:`apply_calls`.
Render = Callable[..., Tensor]

# ----------------------------------------------------------------------------------------------
# Tables

#: Areas read from the semantic masks: name -> (mask names summed, whether the sum is inverted).
MASKED_AREAS: Mapping[str, tuple[tuple[str, ...], bool]] = MappingProxyType(
    {
        "foreground": (("subject",), False),
        "background": (("subject",), True),
        "outdoor": (("sky", "vegetation", "water"), False),
        "indoor": (("sky", "vegetation", "water"), True),
        **{name: ((name,), False) for name in MASK_NAMES},
    }
)
#: Every area :func:`area_mask` knows: ``all``, the geometric ones and the masked ones.
AREAS: tuple[str, ...] = ("all", *GEOMETRIC_REGIONS, *MASKED_AREAS)

#: ``preserve_object_category`` category -> area (the procedural scenes label one foreground
#: class, the subject; plants are the vegetation).
CATEGORY_AREAS: Mapping[str, str] = MappingProxyType(
    {
        c: ("vegetation" if c == "plants" else "subject")
        for c in NORMAL_ACTIONS["preserve_object_category"]
    }
)
#: ``spatial_constraint`` apply_to -> area.
APPLY_TO_AREAS: Mapping[str, str] = MappingProxyType(
    {"indoor_only": "indoor", "outdoor_only": "outdoor"}
    | {a: a for a in ("foreground", "background", *GEOMETRIC_REGIONS)}
)
#: ``selective_blend`` region -> area (``lighting_only`` acts everywhere, on luminance only).
BLEND_AREAS: Mapping[str, str] = MappingProxyType(
    {
        "everywhere": "all",
        "architecture_only": "buildings",
        "objects_only": "subject",
        "lighting_only": "all",
        "foreground": "foreground",
        "background": "background",
    }
)
#: ``preserve_attribute`` attribute -> (what is restored, the area it is restored in or None
#: for the whole scope). ``pixels`` restores everything; style, mood and technology have no
#: pixel signature of their own, so they keep every pixel of the scope.
ATTRIBUTE_RESTORES: Mapping[str, tuple[str, str | None]] = MappingProxyType(
    {
        "lighting": ("lighting", None),
        "color": ("color", None),
        "texture": ("texture", None),
        "objects": ("pixels", "subject"),
        "architecture": ("pixels", "buildings"),
        "weather": ("pixels", "sky"),
        "style": ("pixels", None),
        "mood": ("pixels", None),
        "technology": ("pixels", None),
    }
)
#: The region of a ``preserve_attribute`` call is its scope (``subject`` = the paper's
#: foreground_only, ``background`` = background_only); a region name is its mask.
_SCOPE_AREAS = {"all": "all", "subject": "foreground", "background": "background"}

_PARTICLE_VALUES = (
    "dust_particles", "rain_falling", "snow_falling", "leaves_falling", "petals_floating",
    "ash_embers", "sparkles_magical", "energy_particles", "debris_floating",
)  # fmt: skip
#: Transformation type -> tool -> the values of that tool of that type (None: all of them). A
#: ``spatial_constraint`` of a type limits the calls listed here; ``any`` is every rendering call.
TRANSFORMATION_TOOLS: Mapping[str, Mapping[str, tuple[str, ...] | None]] = MappingProxyType(
    {
        "weather": {"weather_conditions": None},
        "lighting": {"time_of_day": None, "mood_lighting": None},
        "color": {
            t: None
            for t in (
                "color_grading",
                "color_palette",
                "color_temperature",
                "saturation_intensity",
                "contrast_style",
                "tonal_range",
                "filter_effects",
            )
        },  # fmt: skip
        "fog": {
            "weather_conditions": ("fog_dense", "mist_light"),
            "atmospheric_effects": ("smoke_haze", "fog_volumetric", "mist_ground", "haze_soft"),
            "atmospheric_depth": None,
        },
        "particles": {"atmospheric_effects": _PARTICLE_VALUES},
    }
)

_OP_EFFECT_TYPES = {"brightness": frozenset({"lighting"}), "blur": frozenset()}

#: ``selective_blend`` ``blend_algorithm`` -> edge softness (None: the one-pixel feather, 0: a
#: hard edge, else a Gaussian of that fraction of the short side).
BLEND_EDGES: Mapping[str, float | None] = MappingProxyType(
    {"linear": None, "smooth": 0.02, "sharp_transition": 0.0, "artistic": 0.06}
)
#: Blend modes of ``layered_transformation``.
LAYER_MODES: tuple[str, ...] = NORMAL_ACTIONS["layered_transformation"]

_TEXTURE_SIGMA = 0.015  # the texture restore's blur, a fraction of the short side (>= 1 px)
_DARK = 1 / 255  # below this, multiplicative ratios are unstable: the changes add instead


def _check_tables() -> None:
    for kind, tools in TRANSFORMATION_TOOLS.items():
        if kind not in TRANSFORMATION_TYPES:
            raise RuntimeError(f"transformation type {kind!r} is not in the vocabulary")
        for tool, values in tools.items():
            bad = set(values or ()) - set(ALL_TOOLS.get(tool, ()))
            if tool not in ALL_TOOLS or bad:
                raise RuntimeError(f"transformation table names unknown {tool!r} values {bad}")
    for name, (source, _) in GRADUATED_EFFECTS.items():
        if name not in _EFFECT_NAMES or (source not in ALL_TOOLS and source not in OPS):
            raise RuntimeError(f"graduated effect {name!r} renders unknown {source!r}")
    if set(_EFFECT_NAMES) != set(GRADUATED_EFFECTS) or set(CONDITION_PREDICATES) - set(PREDICATES):
        raise RuntimeError("compose tables and the normal library's vocabulary disagree")


_check_tables()  # a table out of step with the vocabulary is a bug, caught at import


def is_modifier(tool: str) -> bool:
    """Whether ``tool``'s calls paint nothing themselves but set a rule for later calls (the
    ``normal`` library's actions other than ``graduated_effect``)."""
    if tool not in ALL_TOOLS:
        raise ValueError(f"unknown tool {tool!r}; expected one of {', '.join(ALL_TOOLS)}")
    return tool in NORMAL_ACTIONS and tool != "graduated_effect"


def transformation_types(tool: str, value: str) -> frozenset[str]:
    """The transformation types (:data:`TRANSFORMATION_TYPES`) of a rendering call, ``any``
    included; a ``graduated_effect`` has its effect's types."""
    if is_modifier(tool):
        raise ValueError(f"{tool!r} is a modifier, not a rendering call: it has no type")
    if tool == "graduated_effect":
        effect = value.partition("/")[0]
        source, what = GRADUATED_EFFECTS[effect]
        if isinstance(what, str):
            return transformation_types(source, what)
        return _OP_EFFECT_TYPES[effect] | {"any"}
    kinds = {"any"}
    for kind, tools in TRANSFORMATION_TOOLS.items():
        if tool in tools and (tools[tool] is None or value in tools[tool]):
            kinds.add(kind)
    return frozenset(kinds)


# ----------------------------------------------------------------------------------------------
# Areas


def _geometric(name: str, h: int, w: int, device: torch.device) -> Tensor:
    """A geometric area ``(1, 1, H, W)``: the one :mod:`styling_env.tools.areas` defines, which
    the oracle's preserved areas and the judge read too (so a planner's ``exclude_region``
    protects exactly the pixels a task's constraint names)."""
    return geometric_mask(name, h, w, device)[None, None]


def area_mask(
    name: str,
    masks: Tensor | None,
    has_masks: Tensor | None,
    h: int,
    w: int,
    like: Tensor,
) -> Tensor:
    """The mask of area ``name`` on every image, ``(B, 1, H, W)`` in [0, 1] (not feathered).

    Args:
        name: one of :data:`AREAS` (``all``, ``left_half`` ... ``edges``, ``foreground``,
            ``background``, ``outdoor``, ``indoor``, or a mask name such as ``sky``).
        masks: ``(B, 6, H, W)`` semantic masks in ``MASK_NAMES`` order, or None.
        has_masks: ``(B,)`` bool, which images' masks are known (default: all, when masks given).
        h, w: the image size.
        like: a tensor whose dtype and device the mask takes; its first dimension is ``B`` when
            ``masks`` is None and it has four.

    Raises:
        ValueError: an unknown area, or an area that needs masks on images that have none.
    """
    if name not in AREAS:
        raise ValueError(f"unknown area {name!r}; expected one of {', '.join(AREAS)}")
    b = masks.shape[0] if masks is not None else (like.shape[0] if like.dim() == 4 else 1)
    if name == "all":
        return torch.ones(b, 1, h, w, dtype=like.dtype, device=like.device)
    if name in GEOMETRIC_REGIONS:
        return _geometric(name, h, w, like.device).to(like.dtype).expand(b, 1, h, w).clone()
    if masks is None:
        raise ValueError(f"area {name!r} needs semantic masks; these images have none")
    if masks.shape[-2:] != (h, w):
        raise ValueError(f"masks are {tuple(masks.shape[-2:])}, expected {(h, w)}")
    if has_masks is not None:
        missing = (~torch.as_tensor(has_masks, dtype=torch.bool).view(-1)).nonzero().flatten()
        if missing.numel():
            raise ValueError(
                f"area {name!r} needs semantic masks; image {int(missing[0])} has none"
            )
    names, invert = MASKED_AREAS[name]
    idx = [MASK_NAMES.index(n) for n in names]
    m = masks[:, idx].to(device=like.device, dtype=like.dtype).sum(1, keepdim=True).clamp(0, 1)
    return 1 - m if invert else m


def _feather(w: Tensor) -> Tensor:
    """Soften hard mask edges by one pixel (as a region's weights are), ``(N, 1, H, W)``."""
    return box_mean(w, 3)  # F.avg_pool2d(w, 3, 1, 1, count_include_pad=False), faster


# ----------------------------------------------------------------------------------------------
# State


@dataclass(frozen=True)
class _Blend:
    """A pending ``selective_blend``: the ratio of the change kept per pixel ``(1, H, W)``."""

    ratio: Tensor
    lighting_only: bool


@dataclass(eq=False)  # it holds tensors: equal states are not a question worth a tensor compare
class ComposeState:
    """One episode's rules: the constraints set so far and the modifiers still pending.

    Cheap to create (``ComposeState()``: no rule); the masks it holds are ``(1, H, W)`` tensors
    on the images' device, built when a constraint is played. :func:`compose_step` updates it in
    place.

    Attributes:
        exclusion: where later calls may act, the product of ``1 - area`` of every
            ``exclude_region`` / ``preserve_object_category`` (None: everywhere).
        spatial: ``(transformation type, apply_to mask)`` of every ``spatial_constraint``.
        restores: ``(what, feathered mask)`` of every ``preserve_attribute``, in play order;
            ``what`` is ``lighting``, ``color``, ``texture`` or ``pixels``.
        branches: the pending conditional's verdicts, one per call it still binds.
        parallel: the pending ``parallel_transform``'s blend mode.
        parallel_first: the first call's result of that pair ``(3, H, W)``, once it is played.
        layered: the pending ``layered_transformation``'s blend mode.
        blend: the pending ``selective_blend``.
    """

    exclusion: Tensor | None = None
    spatial: list[tuple[str, Tensor]] = field(default_factory=list)
    restores: list[tuple[str, Tensor]] = field(default_factory=list)
    branches: list[bool] = field(default_factory=list)
    parallel: str | None = None
    parallel_first: Tensor | None = None
    layered: str | None = None
    blend: _Blend | None = None

    @property
    def is_blank(self) -> bool:
        """Whether no rule is set and nothing is pending (a fresh episode's state)."""
        return not (self.pending or self.spatial or self.restores or self._tensors())

    @property
    def pending(self) -> bool:
        """Whether a modifier still waits for a rendering call to bind."""
        return bool(self.branches) or any(
            v is not None for v in (self.parallel, self.layered, self.blend)
        )

    def _tensors(self) -> list[Tensor]:
        out = [m for _, m in self.spatial] + [m for _, m in self.restores]
        out += [t for t in (self.exclusion, self.parallel_first) if t is not None]
        return out + ([self.blend.ratio] if self.blend is not None else [])


class _Invalid(ValueError):
    """An invalid call: its message is the step's error string."""


@dataclass
class _Job:
    """How one image's rendering call is rendered this step."""

    i: int
    call: ToolCall
    request: ToolCall | None  # what ``render`` paints for it (None: nothing to render)
    skip: bool = False
    layered: str | None = None
    blend: _Blend | None = None
    parallel: str | None = None
    parallel_first: Tensor | None = None
    graduated: tuple[str, str, float] | None = None  # (effect, direction, intensity_start)
    region: Tensor | None = None  # the call's own region weights, when compose applies them


def _number(params: Mapping[str, Any], key: str, default: float) -> float:
    v = params.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 1:
        raise _Invalid(f"{key} must be a number in [0, 1], got {v!r}")
    return float(v)


def _one_area(
    name: str, what: str, i: int, masks: Tensor | None, known: Tensor, like: Tensor
) -> Tensor:
    """Area ``name`` on image ``i`` ``(1, H, W)``, or an invalid call naming ``what``."""
    h, w = like.shape[-2:]
    if name in MASKED_AREAS and (masks is None or not bool(known[i])):
        raise _Invalid(f"{what} needs semantic masks; this image has none")
    sub = masks[i : i + 1] if masks is not None else None
    return area_mask(name, sub, None, h, w, like[i : i + 1])[0]


def _set_rule(
    call: ToolCall, st: ComposeState, i: int, images: Tensor, masks: Tensor | None, known: Tensor
) -> None:
    """Play modifier ``call`` on image ``i``: validate everything, then update ``st``."""
    tool, value = call.tool, call.value
    what = f"{tool} {value!r}"
    if call.strength == 0:  # validated like any call, on a copy: it sets no rule
        st = dataclasses.replace(
            st, spatial=list(st.spatial), restores=list(st.restores), branches=list(st.branches)
        )
    if tool == "sequence_transform":
        return
    if tool in ("exclude_region", "preserve_object_category"):
        area = value if tool == "exclude_region" else CATEGORY_AREAS[value]
        keep = 1 - _one_area(area, what, i, masks, known, images)
        st.exclusion = keep if st.exclusion is None else st.exclusion * keep
    elif tool == "spatial_constraint":
        apply_to, kind = value.split("/")
        st.spatial.append(
            (kind, _one_area(APPLY_TO_AREAS[apply_to], what, i, masks, known, images))
        )
    elif tool == "preserve_attribute":
        restore, area = ATTRIBUTE_RESTORES[value]
        scope = _SCOPE_AREAS.get(call.region, call.region)
        m = _one_area(scope, f"{what} in region {call.region!r}", i, masks, known, images)
        if area is not None:
            m = m * _one_area(area, what, i, masks, known, images)
        st.restores.append((restore, _feather(m[None])[0]))
    elif tool == "conditional_transform":
        predicate, branch = value.split("/")
        holds = bool(PREDICATES[predicate](images[i].detach()))
        st.branches = [holds] if branch == "then" else [holds, not holds]
    elif tool == "parallel_transform":
        if st.parallel_first is not None:
            raise _Invalid(
                "a parallel_transform is waiting for its second call; it cannot be replaced"
            )
        st.parallel = value
    elif tool == "layered_transformation":
        st.layered = value
    elif tool == "selective_blend":
        params = dict(call.params)
        inside = _number(params, "target_apply_ratio", 1.0)
        outside = 1 - _number(params, "source_preserve_ratio", 1.0)
        algorithm = params.get("blend_algorithm", "linear")
        if algorithm not in BLEND_EDGES:
            raise _Invalid(
                f"unknown blend_algorithm {algorithm!r}; expected one of {', '.join(BLEND_EDGES)}"
            )
        m = _one_area(BLEND_AREAS[value], what, i, masks, known, images)[None]
        edge = BLEND_EDGES[algorithm]
        if edge is None:
            m = _feather(m)
        elif edge > 0:
            m = blur(m, max(1.0, edge * min(m.shape[-2:])))
        st.blend = _Blend(outside + (inside - outside) * m[0], value == "lighting_only")
    else:  # pragma: no cover - the vocabulary and this function disagree
        raise RuntimeError(f"no rule for modifier {tool!r}")


def _plan_job(
    call: ToolCall, st: ComposeState, i: int, masks: Tensor | None, known: Tensor, like: Tensor
) -> _Job:
    """Validate rendering call ``call`` on image ``i``, then bind (consume) the pending
    modifiers of ``st`` and say how it renders."""
    if call.region != "all" and (masks is None or not bool(known[i])):
        raise _Invalid(f"region {call.region!r} needs semantic masks; this image has none")
    graduated = None
    if call.tool == "graduated_effect":
        effect, direction = call.value.split("/")
        graduated = (effect, direction, _number(dict(call.params), "intensity_start", 0.0))
    # validated: from here on the state changes
    skip = not st.branches.pop(0) if st.branches else False
    job = _Job(i, call, None, skip=skip, layered=st.layered, blend=st.blend)
    job.graduated = graduated
    st.layered, st.blend = None, None
    if st.parallel is not None:
        job.parallel, job.parallel_first = st.parallel, st.parallel_first
        if st.parallel_first is not None:  # the pair lands now (the first is stored later)
            st.parallel, st.parallel_first = None, None
    if skip or call.strength == 0:
        job.skip = True
        return job
    own_region = job.layered is not None or graduated is not None
    if own_region:  # compose weights the region itself: render the whole frame
        sub = masks[i : i + 1] if masks is not None else None
        job.region = _region_weights(
            [call.region], [call.preserved_regions], sub, known[i : i + 1], like[i : i + 1]
        )
    if graduated is not None:
        source, what = GRADUATED_EFFECTS[graduated[0]]
        if isinstance(what, str):
            job.request = ToolCall(source, what, 1.0)
    elif own_region:
        params = tuple(
            (k, v) for k, v in call.params if k not in ("preserve", "preserve_foreground")
        )
        job.request = dataclasses.replace(call, strength=1.0, region="all", params=params)
    else:
        job.request = call
    return job


# ----------------------------------------------------------------------------------------------
# Pixels


def _hard_light(base: Tensor, layer: Tensor) -> Tensor:
    return _blend(layer, base, "overlay")  # hard light is overlay with the layers swapped


def _layer(base: Tensor, layer: Tensor, mode: str) -> Tensor:
    out = _hard_light(base, layer) if mode == "hard_light" else _blend(base, layer, mode)
    return out.clamp(0, 1)


def _lab(x: Tensor) -> Tensor:
    return kornia.color.rgb_to_lab(x.clamp(0, 1))


def _rgb(lab: Tensor) -> Tensor:
    return kornia.color.lab_to_rgb(lab, clip=False)


def _luminance_only(x: Tensor, y: Tensor) -> Tensor:
    """``y``'s luminance on ``x``'s chroma, as a change of ``x`` that is 0 where y == x."""
    lx, ly = _lab(x), _lab(y)
    return _rgb(torch.cat([ly[:, :1], lx[:, 1:]], 1)) - _rgb(lx)


def _own_result(job: _Job, x: Tensor, r: Tensor | None) -> Tensor:
    """The call's result ``(1, 3, H, W)`` before the episode's constraints."""
    c = job.call
    if job.skip:
        return x
    if job.graduated is not None:
        effect, direction, start = job.graduated
        source, what = GRADUATED_EFFECTS[effect]
        if isinstance(what, str):
            e = r
        else:
            one = torch.ones(1, 1, 1, 1, dtype=x.dtype, device=x.device)
            e = OPS[source].fn(x, one, **what).clamp(0, 1)
        end = 1.0 if job.layered is not None else c.strength
        a = start + (end - start) * _ramp(direction, *x.shape[-2:], x)
        y = x + (e - x) * a
        if job.layered is None:
            y = y if job.region is None else x + (y - x) * job.region
    else:
        y = r
    if job.layered is not None:
        a = c.strength if job.region is None else c.strength * job.region
        y = x + (_layer(x, y, job.layered) - x) * a
    if job.blend is not None:
        d = _luminance_only(x, y) if job.blend.lighting_only else y - x
        y = (x + d * job.blend.ratio).clamp(0, 1)
    return y


def _combine(mode: str, x: Tensor, y1: Tensor, y2: Tensor) -> Tensor:
    """A parallel pair's result from the common input ``x`` and the two results."""
    d1, d2 = y1 - x, y2 - x
    if mode == "additive":
        y = x + d1 + d2
    elif mode == "average":
        y = x + (d1 + d2) / 2
    elif mode == "multiplicative":
        y = torch.where(x > _DARK, y1 * (y2 / x.clamp_min(_DARK)), x + d1 + d2)
    elif mode == "max_effect":
        first = d1.abs().sum(-3, keepdim=True) >= d2.abs().sum(-3, keepdim=True)
        y = x + torch.where(first, d1, d2)
    else:  # pragma: no cover - the vocabulary and this function disagree
        raise RuntimeError(f"no parallel mode {mode!r}")
    return y.clamp(0, 1)


def _weights(st: ComposeState, call: ToolCall) -> Tensor | None:
    """Where the episode's constraints let ``call`` act ``(1, H, W)``, unfeathered (None:
    everywhere)."""
    w = st.exclusion
    if st.spatial:
        kinds = transformation_types(call.tool, call.value)
        for kind, m in st.spatial:
            if kind in kinds:
                w = m if w is None else w * m
    return w


def _restore(what: str, x: Tensor, y: Tensor, m: Tensor) -> Tensor:
    """Give ``y`` back ``x``'s attribute ``what`` where ``m`` (all ``(N, ., H, W)``)."""
    if what == "pixels":
        d = x - y
    elif what == "texture":
        sigma = max(1.0, _TEXTURE_SIGMA * min(x.shape[-2:]))
        d = (x - blur(x, sigma)) - (y - blur(y, sigma))
    else:
        lx, ly = _lab(x), _lab(y)
        keep = torch.cat(
            [lx[:, :1], ly[:, 1:]] if what == "lighting" else [ly[:, :1], lx[:, 1:]], 1
        )
        d = _rgb(keep) - _rgb(ly)
    return (y + d * m).clamp(0, 1)


def _apply_restores(states: Sequence[ComposeState], idx: list[int], x: Tensor, y: Tensor) -> Tensor:
    """Every ``preserve_attribute`` of image ``idx[k]`` on row ``k`` of ``y``, batched per round
    and kind; rows without a restore come back bit for bit."""
    rounds = max((len(states[i].restores) for i in idx), default=0)
    for r in range(rounds):
        by_kind: dict[str, list[int]] = {}
        for k, i in enumerate(idx):
            if len(states[i].restores) > r:
                by_kind.setdefault(states[i].restores[r][0], []).append(k)
        for what, rows in by_kind.items():
            m = torch.stack([states[idx[k]].restores[r][1] for k in rows])
            sel = torch.tensor(rows, device=y.device)
            y = y.index_copy(0, sel, _restore(what, x[sel], y[sel], m))
    return y


# ----------------------------------------------------------------------------------------------
# Playing


def _check_inputs(
    images: Tensor,
    calls: Sequence[ToolCall | None],
    states: Sequence[ComposeState],
    masks: Tensor | None,
    has_masks: Tensor | None,
) -> tuple[Tensor | None, Tensor]:
    check_images(images)
    b, _, h, w = images.shape
    for name, seq in (("calls", calls), ("states", states)):
        if isinstance(seq, str | bytes) or not isinstance(seq, Sequence):
            raise TypeError(f"{name} must be a sequence, got {type(seq).__name__}")
        if len(seq) != b:
            raise ValueError(f"got {len(seq)} {name} for {b} images; expected one per image")
    for i, (c, st) in enumerate(zip(calls, states, strict=True)):
        if c is not None and not isinstance(c, ToolCall):
            raise TypeError(f"calls[{i}] must be a ToolCall or None, got {type(c).__name__}")
        if not isinstance(st, ComposeState):
            raise TypeError(f"states[{i}] must be a ComposeState, got {type(st).__name__}")
        for t in st._tensors():
            if t.shape[-2:] != (h, w):
                raise ValueError(
                    f"states[{i}] holds masks of size {tuple(t.shape[-2:])}, but the images "
                    f"are {(h, w)}: a state belongs to one episode's images"
                )
    if masks is None:
        return None, torch.zeros(b, dtype=torch.bool, device=images.device)
    if not isinstance(masks, Tensor) or masks.shape != (b, len(MASK_NAMES), h, w):
        got = tuple(masks.shape) if isinstance(masks, Tensor) else type(masks).__name__
        raise ValueError(f"masks must have shape {(b, len(MASK_NAMES), h, w)}, got {got}")
    if has_masks is None:
        return masks.to(images.device), torch.ones(b, dtype=torch.bool, device=images.device)
    known = torch.as_tensor(has_masks, device=images.device)
    if known.shape != (b,):
        raise ValueError(f"has_masks must have shape {(b,)}, got {tuple(known.shape)}")
    return masks.to(images.device), known.to(torch.bool)


def compose_step(
    images: Tensor,
    calls: Sequence[ToolCall | None],
    states: Sequence[ComposeState],
    masks: Tensor | None = None,
    has_masks: Tensor | None = None,
    render: Render = apply_calls,
) -> tuple[Tensor, list[str]]:
    """Play one call per image under its episode's rules.

    Args:
        images: ``(B, 3, H, W)`` float in [0, 1], the episodes' current pictures.
        calls: one :class:`ToolCall` or None (no call) per image.
        states: one :class:`ComposeState` per image, updated in place.
        masks: ``(B, 6, H, W)`` semantic masks or None; has_masks: ``(B,)`` bool (default all
            when masks are given).
        render: paints rendering calls, ``render(images, calls, masks=..., has_masks=...)``
            (:func:`apply_calls`); called once per step for every image that renders.

    Returns:
        The new images ``(B, 3, H, W)`` and per image an error string (``""`` for a valid call).
        An invalid call changes no pixel and leaves its state as it was. Images whose call
        changes nothing come back bit for bit.

    Raises:
        TypeError / ValueError: malformed arguments (shapes, types, a state of other images).
    """
    masks, known = _check_inputs(images, calls, states, masks, has_masks)
    errors = [""] * len(calls)
    jobs: list[_Job] = []
    for i, c in enumerate(calls):
        if c is None:
            continue
        try:
            if is_modifier(c.tool):
                _set_rule(c, states[i], i, images, masks, known)
            else:
                jobs.append(_plan_job(c, states[i], i, masks, known, images))
        except _Invalid as e:
            errors[i] = str(e)
    if not jobs:
        return images, errors

    requests: list[ToolCall | None] = [None] * len(calls)
    for job in jobs:
        requests[job.i] = job.request
    rendered = None
    if any(r is not None for r in requests):
        rendered = render(
            images, requests, masks=masks, has_masks=known if masks is not None else None
        )

    # each call's own result (a plain call's is what was rendered), then the episode's
    # constraints on its change; rows without any rule (the ten-tool case) stay as rendered
    idx = [j.i for j in jobs]
    at = torch.tensor(idx, device=images.device)
    x = images[at]
    y = rendered[at] if rendered is not None else x.clone()
    special = False
    for k, j in enumerate(jobs):
        if j.skip or j.graduated is not None or j.layered is not None or j.blend is not None:
            y[k] = _own_result(j, x[k : k + 1], y[k : k + 1])[0]
            special = True
    weights = [None if j.skip else _weights(states[j.i], j.call) for j in jobs]
    rows = [k for k, w in enumerate(weights) if w is not None]
    if rows:
        sel = torch.tensor(rows, device=images.device)
        w = _feather(torch.stack([weights[k] for k in rows]))
        y = y.index_copy(0, sel, x[sel] + (y[sel] - x[sel]) * w)

    # parallel pairs: the first stores its result and leaves the picture; the second lands both
    landed = []
    for k, j in enumerate(jobs):
        if j.parallel is not None:
            special = True
        if j.parallel is not None and j.parallel_first is None:
            states[j.i].parallel_first = y[k].detach().clone()
            y[k] = x[k]
        elif j.parallel is not None:
            y[k] = _combine(j.parallel, x[k], j.parallel_first, y[k])
            landed.append(k)
        elif not j.skip and states[j.i].restores:
            landed.append(k)
    if landed:
        sel = torch.tensor(landed, device=images.device)
        y = y.index_copy(0, sel, _apply_restores(states, [idx[k] for k in landed], x[sel], y[sel]))
    if rendered is not None and not (special or rows or landed):
        return rendered, errors
    out = images.clone()
    out[at] = y
    return out, errors


def play(
    images,
    plans: Sequence[Sequence[ToolCall]],
    masks: Tensor | None = None,
    has_masks: Tensor | None = None,
    render: Render = apply_calls,
) -> Tensor:
    """Play a whole plan per image, step by step and batched across images, each image in its
    own episode (a fresh :class:`ComposeState`). A plan of the ten tools only gives exactly
    :func:`~styling_env.tools.apply.apply_plan`'s result.

    Args:
        images: ``(B, 3, H, W)`` float in [0, 1], or an ``ImageBatch`` (its masks are used).
        plans: one sequence of :class:`ToolCall` per image (shorter plans stop early).

    Raises:
        ValueError: a wrong number of plans, or an invalid call (the message names the plan,
            the call and the problem).
    """
    if hasattr(images, "pixels") and hasattr(images, "masks"):
        masks = images.masks if masks is None else masks
        has_masks = images.has_masks if has_masks is None else has_masks
        images = images.pixels
    check_images(images)
    if isinstance(plans, str | bytes) or not isinstance(plans, Sequence):
        raise TypeError(f"plans must be a sequence of call sequences, got {type(plans).__name__}")
    if len(plans) != images.shape[0]:
        raise ValueError(f"got {len(plans)} plans for {images.shape[0]} images")
    states = [ComposeState() for _ in plans]
    out = images
    for k in range(max((len(p) for p in plans), default=0)):
        step = [p[k] if k < len(p) else None for p in plans]
        out, errors = compose_step(out, step, states, masks, has_masks, render)
        for i, err in enumerate(errors):
            if err:
                c = step[i]
                raise ValueError(f"plan {i}, call {k} ({c.tool} {c.value!r}): {err}")
    return out


__all__ = [
    "APPLY_TO_AREAS", "AREAS", "ATTRIBUTE_RESTORES", "BLEND_AREAS", "BLEND_EDGES",
    "CATEGORY_AREAS", "GRADUATED_EFFECTS", "LAYER_MODES", "MASKED_AREAS",
    "TRANSFORMATION_TOOLS", "ComposeState", "Render", "area_mask", "compose_step",
    "is_modifier", "play", "transformation_types",
]  # fmt: skip
