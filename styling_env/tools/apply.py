"""Apply tool calls to a batch of images: one call per image, equal calls grouped.

Images are float tensors ``(B, 3, H, W)`` in [0, 1] on any device. Calls that share a tool and a
value run as one group, whatever their strengths and regions, so each recipe's ops run once per
distinct value in the batch (a vector env of 64 images calling three values runs three recipes).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from types import MappingProxyType

import torch

from ..actions import MASK_NAMES
from . import patterns
from .areas import GEOMETRIC_REGIONS, geometric_mask
from .call import REGIONS, ToolCall
from .ops import OPS, OpContext, box_mean
from .recipes import ALL_RECIPES, recipe, recipe_seed
from .vocabulary import GRADIENT_DIRECTIONS, RENDERED_TOOLS

Tensor = torch.Tensor

_SUBJECT = MASK_NAMES.index("subject")
_SKY = MASK_NAMES.index("sky")


def check_images(images: Tensor, name: str = "images") -> None:
    """Raise ``TypeError``/``ValueError`` unless ``images`` is a float32 or float64
    ``(B, 3, H, W)`` tensor with finite values in [0, 1]."""
    if not isinstance(images, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor (B, 3, H, W), got {type(images).__name__}")
    if not images.is_floating_point():
        raise TypeError(
            f"{name} must be a float tensor with values in [0, 1], got dtype {images.dtype} "
            "(convert uint8 with x.float() / 255)"
        )
    if images.dtype not in (torch.float32, torch.float64):
        raise TypeError(
            f"{name} must be float32 or float64, got {images.dtype}: convert with x.float() "
            "(in half precision some recipes cannot run and others return NaN pixels)"
        )
    if images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"{name} must have shape (B, 3, H, W), got {tuple(images.shape)}")
    if min(images.shape[-2:]) < 8:
        raise ValueError(f"{name} are too small: {tuple(images.shape[-2:])}; expected H, W >= 8")
    if images.numel() == 0:
        return
    lo, hi = torch.aminmax(images.detach())
    if not (torch.isfinite(lo) and torch.isfinite(hi)):
        raise ValueError(f"{name} contain NaN or infinite values")
    if lo < 0 or hi > 1:
        raise ValueError(
            f"{name} must have values in [0, 1], got [{lo.item():.3g}, {hi.item():.3g}] "
            "(uint8 data divided by 255?)"
        )


def _sky_weights(
    masks: Tensor | None, has_masks: Tensor | None, b: int, h: int, w: int, like: Tensor
) -> Tensor:
    yy, _ = patterns.coords(h, w, like.device)
    ramp = (1 - yy / 0.5).clamp(0, 1).to(like.dtype).expand(b, 1, h, w)
    if masks is None:
        return ramp
    sky = masks[:, _SKY : _SKY + 1].to(like.dtype)
    known = has_masks.view(b, 1, 1, 1).to(like.dtype)
    return known * sky + (1 - known) * ramp


def _mask(name: str, masks: Tensor) -> Tensor:
    """The ``(H, W)`` mask of region ``name`` given one image's ``masks`` ``(6, H, W)`` (a
    geometric area reads no mask)."""
    if name in GEOMETRIC_REGIONS:
        return geometric_mask(name, *masks.shape[-2:], masks.device, masks.dtype)
    if name == "background":
        return 1 - masks[_SUBJECT]
    return masks[MASK_NAMES.index(name)]


def _region_weights(
    region: Sequence[str],
    preserve: Sequence[tuple[str, ...]],
    masks: Tensor | None,
    has_masks: Tensor | None,
    like: Tensor,
) -> Tensor | None:
    """Per-image weights ``(B, 1, H, W)`` of where the call acts (its region less the regions it
    must preserve), or None for everywhere."""
    if all(r == "all" for r in region) and not any(preserve):
        return None
    b, _, h, w = like.shape
    geometric = any(n in GEOMETRIC_REGIONS for keep in preserve for n in keep)
    if masks is None:
        bad = next((r for r in region if r != "all"), None)
        if bad is not None:
            raise ValueError(
                f"region {bad!r} needs images with semantic masks; these images have none"
            )
        if not geometric:
            return None  # preserving a region without masks: nothing is known to preserve
    out = torch.ones(b, 1, h, w, dtype=like.dtype, device=like.device)
    for i, (r, keep) in enumerate(zip(region, preserve, strict=True)):
        known = masks is not None and bool(has_masks[i])
        if r != "all" and not known:
            raise ValueError(
                f"region {r!r} needs semantic masks, but image {i} has none (a photo?)"
            )
        if r != "all":
            out[i, 0] = _mask(r, masks[i])
        for name in keep:
            if name in GEOMETRIC_REGIONS:  # the frame's own areas: no masks needed
                out[i, 0] = out[i, 0] * (1 - geometric_mask(name, h, w, like.device, like.dtype))
            elif known:
                out[i, 0] = out[i, 0] * (1 - _mask(name, masks[i]))
    # feather the hard mask edges by one pixel so a regional edit does not leave a cut-out seam
    return box_mean(out, 3)  # F.avg_pool2d(out, 3, 1, 1, count_include_pad=False), faster


#: ``graduated_effect`` effect -> what is rendered at strength 1: a (tool, value) call, or a
#: primitive op with its parameters (an exposure lift, a soften), and its transformation types.
GRADUATED_EFFECTS: Mapping[str, tuple[str, str] | tuple[str, Mapping[str, float]]] = (
    MappingProxyType(
        {
            "fog": ("weather_conditions", "fog_dense"),
            "lighting": ("time_of_day", "morning_bright"),
            "color": ("color_grading", "warm_sunset"),
            "saturation": ("color_grading", "jewel_rich"),
            "brightness": ("exposure", MappingProxyType({"ev": 1.0})),
            "blur": ("soften", MappingProxyType({"sigma": 0.02})),
            "particles": ("atmospheric_effects", "dust_particles"),
        }
    )
)


def graduated_ramp(direction: str, h: int, w: int, like: Tensor) -> Tensor:
    """``(1, H, W)`` from 0 where a ``graduated_effect``'s gradient starts to 1 where it ends
    (``center_out``: 0 at the centre, 1 on the ellipse through the edges' midpoints)."""
    ys = torch.linspace(0, 1, h, dtype=like.dtype, device=like.device).view(h, 1).expand(h, w)
    xs = torch.linspace(0, 1, w, dtype=like.dtype, device=like.device).view(1, w).expand(h, w)
    # 0 at the centre, 1 on the ellipse through the edges' midpoints and beyond (the corners)
    out = ((2 * ys - 1) ** 2 + (2 * xs - 1) ** 2).sqrt().clamp(max=1)
    ramps = {
        "top_to_bottom": ys,
        "bottom_to_top": 1 - ys,
        "left_to_right": xs,
        "right_to_left": 1 - xs,
        "center_out": out,
        "edges_in": 1 - out,
    }
    if set(ramps) != set(GRADIENT_DIRECTIONS):  # pragma: no cover - vocabulary drift
        raise RuntimeError("gradient directions and the vocabulary disagree")
    return ramps[direction][None]


def _graduated(
    images: Tensor,
    value: str,
    strength: Tensor,
    start: Tensor,
    masks: Tensor | None,
    has_masks: Tensor | None,
    weights: Tensor | None,
) -> Tensor:
    """``graduated_effect``'s ``value`` (``"effect/direction"``) on every image: the effect at
    full strength, blended with a ramp from ``start`` ``(B,)`` where the gradient begins to
    ``strength`` ``(B,)`` where it ends, inside ``weights``. Strength 0 (and start 0) returns
    the image bit for bit."""
    effect, direction = value.split("/")
    source, what = GRADUATED_EFFECTS[effect]
    if isinstance(what, str):
        e = apply_recipe(images, source, what, 1.0, masks=masks, has_masks=has_masks)
    else:
        one = torch.ones(images.shape[0], 1, 1, 1, dtype=images.dtype, device=images.device)
        e = OPS[source].fn(images, one, **what).clamp(0, 1)
    b = images.shape[0]
    end, begin = strength.view(b, 1, 1, 1), start.view(b, 1, 1, 1)
    a = begin + (end - begin) * graduated_ramp(direction, *images.shape[-2:], images)[None]
    if weights is not None:
        a = a * weights
    y = (images + (e - images) * a).clamp(0, 1)
    return torch.where((end > 0) | (begin > 0), y, images)


def reads_masks(call: ToolCall) -> bool:
    """Whether rendering ``call`` reads the images' semantic masks: a region, a preserved
    region, or a recipe step that knows where the sky is. :func:`apply_calls` of calls that
    read none gives the same bits with ``masks=None``, so a caller can skip gathering them."""
    if call.region != "all" or call.preserved_regions:
        return True
    tool, value = call.tool, call.value
    if tool == "graduated_effect":
        source = GRADUATED_EFFECTS[value.split("/")[0]]
        if not isinstance(source[1], str):  # a primitive op, run without the sky
            return False
        tool, value = source
    return _recipe_reads_sky(tool, value)


def _recipe_reads_sky(tool: str, value: str) -> bool:
    steps = ALL_RECIPES.get(tool, {}).get(value, ())  # none: apply_calls names the bad call
    return any(OPS[step.op].uses_ctx for step in steps)


def apply_recipe(
    images: Tensor,
    tool: str,
    value: str,
    strength: Tensor | float,
    *,
    masks: Tensor | None = None,
    has_masks: Tensor | None = None,
    weights: Tensor | None = None,
    positive: bool = False,
) -> Tensor:
    """Render ``tool``'s ``value`` on every image, differentiably in ``images`` and ``strength``.

    Args:
        images: ``(B, 3, H, W)`` float in [0, 1].
        strength: a float or a ``(B,)`` tensor in [0, 1] (may require grad).
        masks: ``(B, 6, H, W)`` semantic masks (``styling_env.images.MASK_NAMES`` order) or None.
        has_masks: ``(B,)`` bool, which images' masks are known (default: all, when masks given).
        weights: ``(B, 1, H, W)`` in [0, 1], where the edit applies (default everywhere).
        positive: the caller has checked that every strength is above 0 in the images' dtype,
            so no image needs to be returned as it was (saves a pass over the batch).

    Returns:
        ``(B, 3, H, W)`` in [0, 1]; an image with strength 0 is returned bit for bit.
    """
    b, _, h, w = images.shape
    t = torch.as_tensor(strength, dtype=images.dtype, device=images.device)
    t = t.expand(b) if t.dim() == 0 else t
    t = t.view(b, 1, 1, 1)
    if masks is not None and has_masks is None:
        has_masks = torch.ones(b, dtype=torch.bool, device=images.device)
    ctx = None
    if _recipe_reads_sky(tool, value):  # most recipes never do
        ctx = OpContext(sky=_sky_weights(masks, has_masks, b, h, w, images))
    seed = recipe_seed(tool, value)
    y = images
    for step in recipe(tool, value):
        spec = OPS[step.op]
        kwargs = step.kwargs()
        if "seed" in spec.params:
            kwargs["seed"] = seed + kwargs.get("seed", 0)
        if spec.uses_ctx:
            kwargs["ctx"] = ctx
        y = spec.fn(y, t, **kwargs)
    y = y.clamp(0, 1)
    if weights is not None:
        y = images + (y - images) * weights
    if positive:  # the caller knows every strength is > 0 (in the images' dtype)
        return y
    return torch.where(t > 0, y, images)


def apply_calls(
    images,
    calls: ToolCall | Sequence[ToolCall | None],
    masks: Tensor | None = None,
    has_masks: Tensor | None = None,
) -> Tensor:
    """Apply one call per image (``None`` leaves an image as it is), grouped by (tool, value).

    Args:
        images: ``(B, 3, H, W)`` float tensor in [0, 1], or a ``styling_env.images.ImageBatch``
            (its masks are used).
        calls: one :class:`ToolCall` for every image, or a sequence of ``B`` calls or ``None``.
        masks: ``(B, 6, H, W)`` semantic masks, needed for calls with a region.
        has_masks: ``(B,)`` bool: which images' masks are known (default all).

    Returns:
        A new ``(B, 3, H, W)`` tensor in [0, 1] on the images' device.

    Example:
        >>> import torch
        >>> from styling_env import ToolCall, apply_calls
        >>> x = torch.rand(2, 3, 32, 32)
        >>> y = apply_calls(x, [ToolCall("season_cycle", "winter_bare", 0.8), None])
        >>> y.shape, bool((y[1] == x[1]).all())
        (torch.Size([2, 3, 32, 32]), True)
    """
    if hasattr(images, "pixels") and hasattr(images, "masks"):
        masks = images.masks if masks is None else masks
        has_masks = getattr(images, "has_masks", None) if has_masks is None else has_masks
        images = images.pixels
    check_images(images)
    b = images.shape[0]
    if isinstance(calls, ToolCall):
        calls = [calls] * b
    if isinstance(calls, str | bytes) or not isinstance(calls, Sequence):
        raise TypeError(
            f"calls must be a ToolCall or a sequence of ToolCall/None, got {type(calls).__name__}"
        )
    if len(calls) != b:
        raise ValueError(
            f"got {len(calls)} calls for {b} images; expected one call (or None) per image"
        )
    for i, c in enumerate(calls):
        if c is not None and not isinstance(c, ToolCall):
            raise TypeError(f"calls[{i}] must be a ToolCall or None, got {type(c).__name__}")
    if masks is not None:
        if not isinstance(masks, Tensor) or masks.shape != (
            b,
            len(MASK_NAMES),
            *images.shape[-2:],
        ):
            got = tuple(masks.shape) if isinstance(masks, Tensor) else type(masks).__name__
            raise ValueError(
                f"masks must have shape {(b, len(MASK_NAMES), *images.shape[-2:])}, got {got}"
            )
        masks = masks.to(images.device)
        has_masks = (
            torch.ones(b, dtype=torch.bool, device=images.device)
            if has_masks is None
            else torch.as_tensor(has_masks, dtype=torch.bool, device=images.device).view(b)
        )

    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, c in enumerate(calls):
        if c is not None and c.tool not in RENDERED_TOOLS:
            raise ValueError(
                f"calls[{i}] is {c.tool}, a rule of the normal library: it paints nothing "
                "itself but changes how later calls apply; play a plan with it through "
                "styling_env.tools.compose.play (or the env with library='normal')"
            )
        if c is not None and c.strength > 0:
            groups[(c.tool, c.value)].append(i)
    out = images.clone()
    for (tool, value), idx in groups.items():
        # a run of neighbours (a lone image, a whole batch of one call) is a view, not a copy
        sel = (
            slice(idx[0], idx[-1] + 1)
            if idx[-1] - idx[0] == len(idx) - 1
            else torch.tensor(idx, device=images.device)
        )
        sub_masks = masks[sel] if masks is not None else None
        sub_known = has_masks[sel] if masks is not None else None
        weights = _region_weights(
            [calls[i].region for i in idx], [calls[i].preserved_regions for i in idx],
            sub_masks, sub_known, images[sel],
        )  # fmt: skip
        # built on the host, checked there (no device sync), then moved
        strength = torch.tensor([calls[i].strength for i in idx], dtype=images.dtype)
        positive = bool((strength > 0).all())
        strength = strength.to(images.device)
        if tool == "graduated_effect":
            start = torch.tensor(
                [float(dict(calls[i].params).get("intensity_start", 0.0)) for i in idx],
                dtype=images.dtype,
                device=images.device,
            )
            out[sel] = _graduated(
                images[sel], value, strength, start, sub_masks, sub_known, weights
            )
            continue
        out[sel] = apply_recipe(
            images[sel],
            tool,
            value,
            strength,
            masks=sub_masks,
            has_masks=sub_known,
            weights=weights,
            positive=positive,
        )
    return out


def apply_plan(
    images,
    plans: Sequence[Sequence[ToolCall]],
    masks: Tensor | None = None,
    has_masks: Tensor | None = None,
) -> Tensor:
    """Apply a plan (a sequence of calls) to each image, step by step, batched across images."""
    if hasattr(images, "pixels"):
        masks = images.masks if masks is None else masks
        has_masks = images.has_masks if has_masks is None else has_masks
        images = images.pixels
    if len(plans) != images.shape[0]:
        raise ValueError(f"got {len(plans)} plans for {images.shape[0]} images")
    out = images
    for k in range(max((len(p) for p in plans), default=0)):
        step = [p[k] if k < len(p) else None for p in plans]
        out = apply_calls(out, step, masks=masks, has_masks=has_masks)
    return out


__all__ = ["REGIONS", "apply_calls", "apply_plan", "apply_recipe", "check_images", "reads_masks"]
