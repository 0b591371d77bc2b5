"""Real photographs that installed packages ship, read straight from disk.

scikit-image's wheel carries a few colour photographs in ``skimage/data`` and scikit-learn's
carries two in ``sklearn/datasets/images``. We open those files with PIL (never through
``skimage.data.*``, whose fetchers may try to download), keep the RGB ones, decode each once per
process, and serve random crops of them.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .batch import ImageBatch, check_size, photo_batch

# (name, package, file): colour photographs only. skimage's other files are grayscale
# (camera, brick, grass, ...), RGBA (horse, logo), synthetic (color, chessboard) or
# microscopy/medical (ihc, retina), and motorcycle_right nearly repeats motorcycle_left.
PHOTOS: tuple[tuple[str, str, str], ...] = (
    ("astronaut", "skimage", "astronaut.png"),
    ("chelsea", "skimage", "chelsea.png"),
    ("coffee", "skimage", "coffee.png"),
    ("rocket", "skimage", "rocket.jpg"),
    ("motorcycle", "skimage", "motorcycle_left.png"),
    ("hubble_deep_field", "skimage", "hubble_deep_field.jpg"),
    ("china", "sklearn", "china.jpg"),
    ("flower", "sklearn", "flower.jpg"),
)
MIN_CROP_AREA = 0.4
"""A crop covers 40-100% of the largest box of the output's aspect that fits in the photo."""


#: Where each package keeps its photographs, inside the installed package's folder.
_DATA_DIRS = {"skimage": ("data",), "sklearn": ("datasets", "images")}


def _package_dir(package: str) -> Path | None:
    """The package's photo folder, found without importing the package: importing
    scikit-learn costs about 3 s of a process's first reset (scipy.stats and the rest), for two
    files read with PIL."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)), *_DATA_DIRS[package])


@functools.cache
def photo_paths() -> dict[str, Path]:
    """Name -> file of every bundled photo present on disk in RGB."""
    found = {}
    for name, package, filename in PHOTOS:
        folder = _package_dir(package)
        path = None if folder is None else folder / filename
        if path is None or not path.is_file():
            continue
        try:
            with Image.open(path) as image:
                if image.mode == "RGB":
                    found[name] = path
        except OSError:
            continue
    return found


def photo_names() -> tuple[str, ...]:
    """Names of the bundled photos available here, in a fixed order."""
    return tuple(photo_paths())


@functools.cache
def load_photo(name: str) -> Image.Image:
    """The decoded photo ``name`` (cached: each file is decoded once per process)."""
    path = photo_paths()[name]
    with Image.open(path) as image:
        image.load()
        return image.convert("RGB")


def random_crop(
    image: Image.Image,
    size: tuple[int, int],
    rng: np.random.Generator,
    min_area: float = MIN_CROP_AREA,
) -> np.ndarray:
    """A random crop of ``image`` resized (antialiased) to ``size``, flipped half the time.

    The crop has the output's aspect, covers ``min_area``-100% of the largest such box, and sits
    anywhere inside the photo. Returns ``(H, W, 3)`` uint8.
    """
    out_h, out_w = size
    w, h = image.size
    scale = min(w / out_w, h / out_h)  # the largest box of the output's aspect
    side = np.sqrt(rng.uniform(min_area, 1.0))
    cw, ch = out_w * scale * side, out_h * scale * side
    left, top = rng.uniform(0, w - cw), rng.uniform(0, h - ch)
    crop = image.resize(
        (out_w, out_h),
        Image.Resampling.BICUBIC,
        box=(left, top, left + cw, top + ch),
        reducing_gap=3.0,
    )
    array = np.asarray(crop)
    return np.ascontiguousarray(array[:, ::-1]) if rng.random() < 0.5 else array


def bundled_order(seed: int) -> np.ndarray:
    """The order in which the photos come for ``seed`` (every photo once per cycle)."""
    return np.random.default_rng([int(seed) & (2**63 - 1), 21]).permutation(len(photo_names()))


def bundled_batch(
    seed: int,
    indices: range | list[int],
    size: int | tuple[int, int],
    device: str | torch.device = "cpu",
) -> ImageBatch:
    """Bundled photographs ``indices`` as an :class:`ImageBatch` (no masks).

    Image ``i`` is photo ``bundled_order(seed)[i % count]``, with a crop and flip drawn from
    ``(seed, i)`` alone, so any batch of ``count`` consecutive images shows every photo.
    """
    out = check_size(size)
    names = photo_names()
    if not names:
        raise ValueError("no bundled photographs found: install scikit-image or scikit-learn")
    order = bundled_order(seed)
    arrays, labels = [], []
    for i in indices:
        name = names[order[i % len(names)]]
        rng = np.random.default_rng([int(seed) & (2**63 - 1), int(i), 22])
        arrays.append(random_crop(load_photo(name), out, rng))
        labels.append(f"bundled:{name}")
    pixels = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float().div_(255.0)
    return photo_batch(pixels, labels, device)
