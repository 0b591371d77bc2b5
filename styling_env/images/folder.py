"""A user's folder of photographs (``images="folder:PATH"``).

The folder's JPEG, PNG, WebP and BMP files (extension in any case, not recursive) are sorted by
name. Image ``i`` for ``seed`` is file ``(seed + i) % count``: consecutive images walk through the
whole folder and the seed picks where the walk starts. Each photo is used as it is: centre-cropped
to the output's aspect and resized with antialiasing (no random crops or flips), so what the agent
sees is the user's picture.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

from .batch import MIN_SIDE, ImageBatch, check_size, cover_box, photo_batch, pil_to_rgb

EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp")


def folder_files(path: str | Path) -> tuple[Path, ...]:
    """The image files in ``path``, sorted; ValueError if it is missing, a file, or empty."""
    folder = Path(path).expanduser()
    if not folder.exists():
        raise ValueError(f"folder '{path}' does not exist")
    if not folder.is_dir():
        raise ValueError(f"folder '{path}' is not a directory")
    files = tuple(
        sorted(f for f in folder.iterdir() if f.suffix.lower() in EXTENSIONS and f.is_file())
    )
    if not files:
        raise ValueError(f"folder '{path}' has no JPEG/PNG/WebP/BMP images")
    return files


@functools.lru_cache(maxsize=64)
def _load(path: Path, mtime_ns: int, size: tuple[int, int]) -> np.ndarray:
    """``path`` upright, centre-cropped to the aspect of ``size``, resized: ``(H, W, 3)`` uint8.

    Cached by path, modification time and size, so an edited file is read again.
    """
    label = f"file '{path}'"
    try:
        with Image.open(path) as image:
            # JPEGs can decode at 1/2, 1/4 or 1/8 scale: ask for just enough pixels.
            # (Either orientation: EXIF may turn it a quarter turn below.)
            w, h = image.size
            scale = max(size[0] / cover_box(a, b, *size)[2] for a, b in ((h, w), (w, h)))
            image.draft("RGB", (math.ceil(w * scale), math.ceil(h * scale)))
            # Phones store portrait photos sideways plus an EXIF orientation tag.
            upright = ImageOps.exif_transpose(image)
            rgb = pil_to_rgb(upright, label)
            rgb.load()
    except (OSError, SyntaxError, Image.DecompressionBombError) as error:
        raise ValueError(f"{label} cannot be read as an image: {error}") from error
    w, h = rgb.size
    if min(w, h) < MIN_SIDE:
        raise ValueError(
            f"{label}: {h}x{w} px is too small; each side must be at least {MIN_SIDE} px"
        )
    top, left, ch, cw = cover_box(h, w, *size)
    out = rgb.resize(
        size[::-1], Image.Resampling.BICUBIC, box=(left, top, left + cw, top + ch), reducing_gap=3.0
    )
    return np.asarray(out)


def folder_batch(
    path: str | Path,
    seed: int,
    indices: range | list[int],
    size: int | tuple[int, int],
    device: str | torch.device = "cpu",
) -> ImageBatch:
    """Photos from the folder ``path`` as an :class:`ImageBatch` (no masks).

    Raises ValueError naming the folder (missing, not a directory, no images) or the file
    (unreadable, corrupt, not RGB colour: grayscale, alpha, 16-bit).
    """
    out = check_size(size)
    files = folder_files(path)
    arrays, names = [], []
    for i in indices:
        file = files[(int(seed) + int(i)) % len(files)]
        arrays.append(_load(file.resolve(), file.stat().st_mtime_ns, out))
        names.append(f"folder:{file.resolve()}")
    pixels = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float().div_(255.0)
    return photo_batch(pixels, names, device)
