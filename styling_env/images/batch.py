"""The image batch every part of the environment passes around, and the checks on user images.

An :class:`ImageBatch` holds ``B`` RGB images as one float tensor ``(B, 3, H, W)`` in [0, 1] plus
their semantic masks ``(B, 6, H, W)`` in the order of :data:`MASK_NAMES`. Procedural scenes know
their masks (one class per pixel); photographs do not (all-zero masks, ``has_masks`` False).

:func:`as_image_batch` turns what a user hands us (numpy arrays, torch tensors, PIL images) into
an :class:`ImageBatch`, or raises an error that names the image and what was expected: a
grayscale, RGBA, 16-bit, NaN, tiny or huge image never becomes a silently wrong one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ..actions import MASK_NAMES  # semantic classes of ImageBatch.masks, in channel order

MIN_SIDE = 16
MAX_SIDE = 4096
FLOAT_TOLERANCE = 1e-3
"""Floats this far outside [0, 1] (resampling overshoot) are clamped; further out is an error."""

# PIL modes that hold colour and convert to RGB without losing anything we use.
COLOUR_MODES = ("RGB", "P", "CMYK", "YCbCr")
_MODE_HINTS = {
    "L": "grayscale; convert it to RGB first (e.g. image.convert('RGB'))",
    "1": "black-and-white; convert it to RGB first (e.g. image.convert('RGB'))",
    "LA": "grayscale with alpha; drop or composite the alpha, then convert to RGB",
    "RGBA": "RGB with alpha; drop or composite the alpha (e.g. image.convert('RGB'))",
    "RGBa": "RGB with alpha; drop or composite the alpha (e.g. image.convert('RGB'))",
    "PA": "palette with alpha; drop or composite the alpha (e.g. image.convert('RGB'))",
    "I;16": "16-bit grayscale; convert it to 8-bit RGB",
    "I": "32-bit integer grayscale; convert it to 8-bit RGB",
    "F": "32-bit float grayscale; convert it to 8-bit RGB",
}


@dataclass(frozen=True)
class ImageBatch:
    """A batch of RGB images with semantic masks.

    Attributes:
        pixels: ``(B, 3, H, W)`` float32 in [0, 1].
        masks: ``(B, 6, H, W)`` float32 in {0, 1}, channels in :data:`MASK_NAMES` order. For an
            image with ``has_masks`` True the masks partition it (they sum to 1 at every pixel);
            otherwise they are all zero.
        has_masks: ``(B,)`` bool.
        names: one name per image, e.g. ``"procedural:outdoor:7:3"`` (kind, seed, index),
            ``"bundled:chelsea"``, ``"folder:/photos/a.jpg"``, ``"user:2"``.
        kinds: one of ``"outdoor"``, ``"interior"``, ``"photo"`` per image.
    """

    pixels: torch.Tensor
    masks: torch.Tensor
    has_masks: torch.Tensor
    names: tuple[str, ...]
    kinds: tuple[str, ...]

    def __post_init__(self) -> None:
        p, m = self.pixels, self.masks
        if p.ndim != 4 or p.shape[1] != 3:
            raise ValueError(f"ImageBatch.pixels must be (B, 3, H, W), got {tuple(p.shape)}")
        b, _, h, w = p.shape
        if tuple(m.shape) != (b, len(MASK_NAMES), h, w):
            raise ValueError(
                f"ImageBatch.masks must be {(b, len(MASK_NAMES), h, w)}, got {tuple(m.shape)}"
            )
        if tuple(self.has_masks.shape) != (b,) or self.has_masks.dtype != torch.bool:
            raise ValueError(f"ImageBatch.has_masks must be a ({b},) bool tensor")
        if len(self.names) != b or len(self.kinds) != b:
            raise ValueError(
                f"ImageBatch needs {b} names and kinds, got {len(self.names)} and {len(self.kinds)}"
            )

    def __len__(self) -> int:
        return self.pixels.shape[0]

    @property
    def size(self) -> tuple[int, int]:
        """``(H, W)`` of the images."""
        return (self.pixels.shape[2], self.pixels.shape[3])

    @property
    def device(self) -> torch.device:
        return self.pixels.device

    def to(self, device: str | torch.device) -> ImageBatch:
        """The same batch on ``device``."""
        return ImageBatch(
            self.pixels.to(device),
            self.masks.to(device),
            self.has_masks.to(device),
            self.names,
            self.kinds,
        )

    def __getitem__(self, index: int | slice) -> ImageBatch:
        """Images ``index`` as a batch; an int keeps the batch dimension (a batch of one)."""
        if isinstance(index, (int, np.integer)) and not isinstance(index, bool):
            i = int(index)
            if not -len(self) <= i < len(self):
                raise IndexError(f"image index {i} out of range for a batch of {len(self)}")
            index = slice(i % len(self), i % len(self) + 1)
        if not isinstance(index, slice):
            raise TypeError(
                f"ImageBatch index must be an int or a slice, got {type(index).__name__}"
            )
        return ImageBatch(
            self.pixels[index],
            self.masks[index],
            self.has_masks[index],
            self.names[index],
            self.kinds[index],
        )

    @staticmethod
    def cat(batches: Sequence[ImageBatch]) -> ImageBatch:
        """Concatenate batches of the same image size (on the first batch's device)."""
        if not batches:
            raise ValueError("ImageBatch.cat needs at least one batch")
        device = batches[0].device
        return ImageBatch(
            torch.cat([b.pixels.to(device) for b in batches]),
            torch.cat([b.masks.to(device) for b in batches]),
            torch.cat([b.has_masks.to(device) for b in batches]),
            tuple(n for b in batches for n in b.names),
            tuple(k for b in batches for k in b.kinds),
        )


def labels_to_masks(labels: torch.Tensor) -> torch.Tensor:
    """``(B, H, W)`` integer class map -> ``(B, 6, H, W)`` float one-hot masks."""
    classes = torch.arange(len(MASK_NAMES), device=labels.device).view(1, -1, 1, 1)
    return (labels.unsqueeze(1).long() == classes).float()


def photo_batch(
    pixels: torch.Tensor, names: Sequence[str], device: str | torch.device = "cpu"
) -> ImageBatch:
    """An :class:`ImageBatch` of photographs (no masks) from ``(B, 3, H, W)`` pixels."""
    b, _, h, w = pixels.shape
    return ImageBatch(
        pixels.to(device),
        torch.zeros(b, len(MASK_NAMES), h, w, device=device),
        torch.zeros(b, dtype=torch.bool, device=device),
        tuple(names),
        ("photo",) * b,
    )


# --------------------------------------------------------------------------------------------
# Sizes


def check_size(size: Any, what: str = "size") -> tuple[int, int]:
    """``size`` (an int for a square, or ``(H, W)``) as ``(H, W)``; ValueError if out of range."""
    sides = (size, size) if not isinstance(size, (tuple, list)) else tuple(size)
    ok = len(sides) == 2 and all(
        isinstance(s, (int, np.integer)) and not isinstance(s, (bool, np.bool_)) for s in sides
    )
    if not ok or not all(MIN_SIDE <= int(s) <= MAX_SIDE for s in sides):
        raise ValueError(
            f"{what} must be an int or (H, W) of ints in [{MIN_SIDE}, {MAX_SIDE}], got {size!r}"
        )
    return int(sides[0]), int(sides[1])


def cover_box(h: int, w: int, out_h: int, out_w: int) -> tuple[int, int, int, int]:
    """The largest centred ``(top, left, height, width)`` box of aspect ``out_w / out_h``."""
    if w * out_h > h * out_w:  # too wide: crop the sides
        cw, ch = max(1, round(h * out_w / out_h)), h
    else:
        cw, ch = w, max(1, round(w * out_h / out_w))
    return (h - ch) // 2, (w - cw) // 2, ch, cw


def resize_cover(pixels: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Centre-crop ``(B, 3, H, W)`` to the aspect of ``size``, then resize with antialiasing.

    Images are never stretched: the largest centred box of the target aspect is kept.
    """
    h, w = pixels.shape[-2:]
    if (h, w) == tuple(size):
        return pixels
    top, left, ch, cw = cover_box(h, w, *size)
    crop = pixels[..., top : top + ch, left : left + cw]
    out = F.interpolate(crop, size=size, mode="bilinear", antialias=True, align_corners=False)
    return out.clamp(0.0, 1.0)


def _resize_masks_cover(masks: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    h, w = masks.shape[-2:]
    if (h, w) == tuple(size):
        return masks
    top, left, ch, cw = cover_box(h, w, *size)
    crop = masks[..., top : top + ch, left : left + cw]
    # Nearest keeps one-hot masks one-hot, so a partition stays a partition.
    return F.interpolate(crop, size=size, mode="nearest-exact")


# --------------------------------------------------------------------------------------------
# One user image -> (3, H, W) float tensor


def pil_to_rgb(image: Image.Image, label: str) -> Image.Image:
    """``image`` in RGB mode if it holds colour without alpha; else ValueError naming ``label``."""
    mode = image.mode
    if mode == "P" and "transparency" in image.info:
        raise ValueError(
            f"{label}: palette image with transparency (mode 'P'); expected RGB without alpha: "
            "drop or composite the alpha (e.g. image.convert('RGB'))"
        )
    if mode in COLOUR_MODES:
        return image if mode == "RGB" else image.convert("RGB")
    hint = _MODE_HINTS.get(mode, "convert it to RGB first")
    raise ValueError(f"{label}: PIL mode {mode!r} is not RGB colour: {hint}")


def _check_sides(h: int, w: int, label: str) -> None:
    if min(h, w) < MIN_SIDE:
        raise ValueError(
            f"{label}: {h}x{w} px is too small; each side must be at least {MIN_SIDE} px"
        )
    if max(h, w) > MAX_SIDE:
        raise ValueError(
            f"{label}: {h}x{w} px is too large; each side must be at most {MAX_SIDE} px "
            "(downscale it first)"
        )


def _channel_error(channels: int, label: str, shape: tuple[int, ...]) -> ValueError:
    what = {
        1: "grayscale (1 channel); expected 3 RGB channels: repeat it to 3 channels",
        2: "grayscale with alpha (2 channels); expected 3 RGB channels: drop or composite alpha",
        4: "RGBA (4 channels); expected 3 RGB channels: drop or composite alpha",
    }.get(channels, f"{channels} channels; expected 3 RGB channels")
    return ValueError(f"{label}: shape {shape} is {what}")


def _dtype_scale(dtype: Any, label: str) -> float | None:
    """255 for uint8, None for floats (must lie in [0, 1]); TypeError for anything else."""
    name = str(dtype).replace("torch.", "")
    if name == "uint8":
        return 255.0
    if name in ("float16", "bfloat16", "float32", "float64"):
        return None
    if name in ("uint16", "int16"):
        raise TypeError(
            f"{label}: dtype {name} (16-bit) is not supported; expected uint8 or float in [0, 1]: "
            "convert it, e.g. (x / 65535).astype(np.float32)"
        )
    if name == "bool":
        raise TypeError(f"{label}: dtype bool is not an image; expected uint8 or float in [0, 1]")
    raise TypeError(
        f"{label}: dtype {name} is not supported; expected uint8 (0-255) or float in [0, 1]"
    )


def _check_float_range(x: torch.Tensor, label: str) -> torch.Tensor:
    values = x.detach()
    if not bool(torch.isfinite(values).all()):
        bad = "NaN" if bool(torch.isnan(values).any()) else "inf"
        raise ValueError(f"{label}: contains {bad} values; expected finite floats in [0, 1]")
    lo, hi = float(values.min()), float(values.max())
    if lo < -FLOAT_TOLERANCE or hi > 1.0 + FLOAT_TOLERANCE:
        hint = " (it looks like 0-255: divide by 255)" if hi > 1.5 and lo >= 0 else ""
        raise ValueError(f"{label}: float values span [{lo:.4g}, {hi:.4g}]; expected [0, 1]{hint}")
    return x.clamp(0.0, 1.0) if lo < 0 or hi > 1 else x


def image_to_tensor(image: Any, label: str) -> torch.Tensor:
    """One user image as a ``(3, H, W)`` float32 tensor in [0, 1].

    Accepts a numpy array ``(H, W, 3)`` (uint8, or float in [0, 1]), a torch tensor ``(3, H, W)``
    (uint8, or float in [0, 1]; gradients are kept) or a PIL image in a colour mode. Anything else
    raises TypeError/ValueError whose message starts with ``label``.
    """
    if isinstance(image, Image.Image):
        rgb = pil_to_rgb(image, label)
        _check_sides(rgb.height, rgb.width, label)
        array = np.asarray(rgb, dtype=np.uint8)
        return torch.from_numpy(array.copy()).permute(2, 0, 1).float().div_(255.0)
    if isinstance(image, np.ndarray):
        shape = image.shape
        if image.ndim == 2:
            raise _channel_error(1, label, shape)
        if image.ndim != 3:
            raise ValueError(f"{label}: numpy images must be (H, W, 3), got shape {shape}")
        if shape[2] != 3:
            if shape[0] == 3 and shape[2] > 4:
                raise ValueError(
                    f"{label}: numpy images are channels-last (H, W, 3), got {shape}: "
                    "use x.transpose(1, 2, 0)"
                )
            raise _channel_error(shape[2], label, shape)
        scale = _dtype_scale(image.dtype, label)
        tensor = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)
    elif isinstance(image, torch.Tensor):
        shape = tuple(image.shape)
        if image.ndim == 2:
            raise _channel_error(1, label, shape)
        if image.ndim != 3:
            raise ValueError(f"{label}: torch images must be (3, H, W), got shape {shape}")
        if shape[0] != 3:
            if shape[2] == 3 and shape[0] > 4:
                raise ValueError(
                    f"{label}: torch images are channels-first (3, H, W), got {shape}: "
                    "use x.permute(2, 0, 1)"
                )
            raise _channel_error(shape[0], label, shape)
        scale = _dtype_scale(image.dtype, label)
        tensor = image.cpu()
    else:
        raise TypeError(
            f"{label}: {type(image).__name__} is not an image; expected a numpy array (H, W, 3), "
            "a torch tensor (3, H, W) or a PIL image"
        )
    _check_sides(tensor.shape[1], tensor.shape[2], label)
    if scale is not None:
        return tensor.float().div_(scale)
    return _check_float_range(tensor.float(), label)


# --------------------------------------------------------------------------------------------
# Many user images -> ImageBatch


def as_image_batch(
    images: Any, size: int | tuple[int, int] | None = None, device: str | torch.device = "cpu"
) -> ImageBatch:
    """User images as an :class:`ImageBatch` of photographs (no masks).

    Args:
        images: a non-empty sequence of images (numpy ``(H, W, 3)`` uint8 or float in [0, 1];
            torch ``(3, H, W)`` uint8 or float in [0, 1]; PIL images in a colour mode), a 4-D
            numpy ``(B, H, W, 3)`` / torch ``(B, 3, H, W)`` batch, or an :class:`ImageBatch`
            (its masks are kept).
        size: ``None`` keeps the images' own size (they must then all have the same size);
            an int or ``(H, W)`` centre-crops each image to that aspect and resizes it with
            antialiasing (never stretched).
        device: where the tensors go.

    Returns:
        An :class:`ImageBatch`; ``pixels[i]`` equals ``images[i] / 255`` for uint8 input.

    Raises:
        TypeError / ValueError naming the image index and what was expected.

    Example:
        >>> import numpy as np
        >>> batch = as_image_batch([np.zeros((32, 48, 3), np.uint8)])
        >>> tuple(batch.pixels.shape), batch.kinds
        ((1, 3, 32, 48), ('photo',))
    """
    out_size = None if size is None else check_size(size)
    if isinstance(images, ImageBatch):
        if out_size is None:
            return images.to(device)
        return ImageBatch(
            resize_cover(images.pixels, out_size).to(device),
            _resize_masks_cover(images.masks, out_size).to(device),
            images.has_masks.to(device),
            images.names,
            images.kinds,
        )
    if isinstance(images, (str, bytes, dict)) or not isinstance(
        images, (Sequence, np.ndarray, torch.Tensor)
    ):
        raise TypeError(
            f"images must be a sequence of images (numpy/torch/PIL), got {type(images).__name__}"
        )
    if isinstance(images, (np.ndarray, torch.Tensor)) and images.ndim != 4:
        raise TypeError(
            f"images must be a sequence of images or a 4-D batch, got a {images.ndim}-D "
            f"{type(images).__name__} of shape {tuple(images.shape)}; wrap one image in a list"
        )
    if len(images) == 0:
        raise ValueError("images is empty; expected at least one image")
    tensors = [image_to_tensor(image, f"image {i}") for i, image in enumerate(images)]
    if out_size is None:
        sizes = sorted({tuple(t.shape[1:]) for t in tensors})
        if len(sizes) > 1:
            raise ValueError(
                f"images have different sizes {sizes[:4]}; pass size=(H, W) to resize them"
            )
        pixels = torch.stack(tensors)
    else:
        pixels = torch.cat([resize_cover(t.unsqueeze(0), out_size) for t in tensors])
    return photo_batch(pixels, [f"user:{i}" for i in range(len(tensors))], device)
