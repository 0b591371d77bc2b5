"""``make_images``: one entry point for every image source."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from .batch import ImageBatch, as_image_batch, check_size
from .bundled import bundled_batch
from .folder import folder_batch
from .procedural import KINDS, procedural_batch

SOURCES = (
    "'mix' (default: about 2/3 procedural, 1/3 bundled photos)",
    "'procedural' (outdoor and interior, 50/50)",
    "'procedural:outdoor'",
    "'procedural:interior'",
    "'bundled' (photos shipped by scikit-image / scikit-learn)",
    "'folder:PATH' (your JPEG/PNG/WebP/BMP files)",
    "a sequence of images (numpy (H, W, 3), torch (3, H, W), PIL)",
)
MIX_PROCEDURAL = 2.0 / 3.0


def _take(batch: ImageBatch, index: Sequence[int]) -> ImageBatch:
    idx = torch.as_tensor(list(index), dtype=torch.long, device=batch.device)
    return ImageBatch(
        batch.pixels.index_select(0, idx),
        batch.masks.index_select(0, idx),
        batch.has_masks.index_select(0, idx),
        tuple(batch.names[i] for i in index),
        tuple(batch.kinds[i] for i in index),
    )


def _mix(seed: int, n: int, size: tuple[int, int], device: str | torch.device) -> ImageBatch:
    procedural = [
        np.random.default_rng([seed & (2**63 - 1), i, 31]).random() < MIX_PROCEDURAL
        for i in range(n)
    ]
    parts, positions = [], []
    for want, make in (
        (True, lambda idx: procedural_batch("mixed", seed, idx, size, device)),
        (False, lambda idx: bundled_batch(seed, idx, size, device)),
    ):
        idx = [i for i in range(n) if procedural[i] == want]
        if idx:
            parts.append(make(idx))
            positions.extend(idx)
    batch = ImageBatch.cat(parts)
    return _take(batch, np.argsort(positions, kind="stable").tolist())


def _check_int(value: Any, what: str, minimum: int | None = None) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{what} must be an int, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{what} must be >= {minimum}, got {value!r}")
    return int(value)


def make_images(
    source: str | Sequence[Any] | ImageBatch = "mix",
    n: int = 1,
    size: int | tuple[int, int] = 128,
    seed: int = 0,
    device: str | torch.device = "cpu",
) -> ImageBatch:
    """``n`` images from ``source`` as an :class:`ImageBatch` on ``device``.

    Args:
        source: ``"mix"``, ``"procedural"``, ``"procedural:outdoor"``, ``"procedural:interior"``,
            ``"bundled"``, ``"folder:PATH"``, or a sequence of user images (image ``i`` is
            ``source[i % len(source)]``, centre-cropped to the aspect of ``size`` and resized).
        n: how many images (>= 1).
        size: an int (square) or ``(H, W)``, each side in [16, 4096].
        seed: image ``i`` depends only on ``(source, seed, i, size)``, never on ``n``: the first
            ``k`` images of a batch equal the batch of ``k``.
        device: where the tensors go (``"cpu"``, ``"cuda"``...).

    Returns:
        An :class:`ImageBatch`: pixels ``(n, 3, H, W)`` in [0, 1], masks ``(n, 6, H, W)``
        (a partition for procedural scenes, zeros for photos).

    Raises:
        ValueError / TypeError naming the bad argument, folder, file or image.

    Example:
        >>> batch = make_images("procedural", n=4, size=(48, 64), seed=3)
        >>> tuple(batch.pixels.shape), tuple(batch.masks.shape)
        ((4, 3, 48, 64), (4, 6, 48, 64))
    """
    n = _check_int(n, "n", 1)
    out = check_size(size)
    seed = _check_int(seed, "seed")
    indices = range(n)
    if isinstance(source, str):
        if source == "mix":
            return _mix(seed, n, out, device)
        if source == "procedural":
            return procedural_batch("mixed", seed, indices, out, device)
        if source.startswith("procedural:") and source.split(":", 1)[1] in KINDS:
            return procedural_batch(source.split(":", 1)[1], seed, indices, out, device)
        if source == "bundled":
            return bundled_batch(seed, indices, out, device)
        if source.startswith("folder:") and len(source) > len("folder:"):
            return folder_batch(source[len("folder:") :], seed, indices, out, device)
    elif isinstance(source, (ImageBatch, Sequence, np.ndarray, torch.Tensor)) and not isinstance(
        source, bytes
    ):
        batch = as_image_batch(source, size=out, device=device)
        return _take(batch, [i % len(batch) for i in indices])
    raise ValueError(f"unknown image source {source!r}; expected one of: " + ", ".join(SOURCES))
