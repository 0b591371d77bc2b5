"""Predicates on a source image: is it dark, bright, warm, cool, colourful, muted, does it show a
sky? The Complex tier's conditional clauses ("if it's already dark, ...") and the ``normal``
library's ``conditional_transform`` read them."""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from typing import Any

import torch

from .images import ImageBatch

Tensor = torch.Tensor

#: Rec. 601 luma weights.
LUMA: tuple[float, float, float] = (0.299, 0.587, 0.114)

#: predicate -> conditions on :func:`image_measures` that must all hold. Thresholds were chosen
#: by measuring ``make_images("mix", 300)`` (seeds 0 and 1000007) so that each predicate is true
#: for 20-80% of images: dark ~27-32%, bright ~30-33%, warm ~50-53%, cool ~28-34%,
#: colorful ~40-43%, muted ~26%, has_sky ~30-34% (and agrees with the sky masks on ~82%).
PREDICATE_RULES: dict[str, tuple[tuple[str, str, float], ...]] = {
    "dark": (("luma", "<", 0.45),),
    "bright": (("luma", ">", 0.58),),
    "warm": (("warmth", ">", 0.06),),
    "cool": (("coolness", ">", 0.0),),
    "colorful": (("chroma", ">", 0.19),),
    "muted": (("chroma", "<", 0.135),),
    "has_sky": (("top_luma", ">", 0.45), ("top_coolness", ">", 0.02)),
}
_OPS = {"<": operator.lt, ">": operator.gt}


def _as_single_image(image: Any, what: str = "image") -> Tensor:
    """``image`` as a float ``(3, H, W)`` tensor; accepts ``(1, 3, H, W)`` and 1-image batches."""
    if isinstance(image, ImageBatch):
        if len(image) != 1:
            raise ValueError(f"{what} must be one image, got an ImageBatch of {len(image)}")
        image = image.pixels[0]
    if not isinstance(image, Tensor):
        raise TypeError(
            f"{what} must be a float torch.Tensor (3, H, W) in [0, 1], got {type(image).__name__}"
        )
    if image.dim() == 4 and image.shape[0] == 1:
        image = image[0]
    if image.dim() != 3 or image.shape[0] != 3:
        raise ValueError(f"{what} must have shape (3, H, W), got {tuple(image.shape)}")
    if not image.is_floating_point():
        raise TypeError(f"{what} must be a float tensor in [0, 1], got dtype {image.dtype}")
    if min(image.shape[1:]) < 5:
        raise ValueError(f"{what} is too small: {tuple(image.shape)}; expected H, W >= 5")
    return image


def image_measures(image: Tensor) -> dict[str, float]:
    """The pixel measures the predicates read, for one image ``(3, H, W)`` float in [0, 1].

    Returns:
        ``luma`` (mean Rec. 601 luma), ``warmth`` (mean R - B), ``coolness`` (mean B - R),
        ``chroma`` (mean per-pixel max - min over RGB), ``top_luma`` and ``top_coolness`` (luma
        and B - R of the top fifth of the image, where the sky is when there is one).
    """
    x = _as_single_image(image).detach().float()
    r, g, b = x[0], x[1], x[2]
    luma = LUMA[0] * r + LUMA[1] * g + LUMA[2] * b
    top = max(1, x.shape[1] // 5)
    warmth = float((r - b).mean())
    top_cool = float((b[:top] - r[:top]).mean())
    return {
        "luma": float(luma.mean()),
        "warmth": warmth,
        "coolness": -warmth,
        "chroma": float((x.amax(0) - x.amin(0)).mean()),
        "top_luma": float(luma[:top].mean()),
        "top_coolness": top_cool,
    }


def _holds(name: str, image: Tensor) -> bool:
    m = image_measures(image)
    return all(_OPS[op](m[key], limit) for key, op, limit in PREDICATE_RULES[name])


#: predicate name -> function of one image ``(3, H, W)`` float in [0, 1] -> bool.
PREDICATES: dict[str, Callable[[Tensor], bool]] = {
    name: functools.partial(_holds, name) for name in PREDICATE_RULES
}
