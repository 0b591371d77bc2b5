"""A labelled contact sheet of every value of every tool.

    python -m styling_env.gallery --out gallery.png [--tool season_cycle] [--all] [--size 96]
    python -m styling_env.gallery --library v3 --out v3.png     # one library's painting actions

Each cell shows one value rendered on the same few images (an outdoor scene, an interior and a
photograph by default), so siblings can be compared at a glance; the first cell of each tool
shows the untouched images. By default the sheet shows the ten tools' 171 values; ``--tool``
names any tool a recipe renders (the ``v3`` library's too) and shows all its values, extra
values included; ``--all`` shows every such tool (and ``graduated_effect``'s 42 ramps).
``--library`` shows the painting actions of one action library (``styling_env.libraries``)
with its own words: the ``v3`` library's coarser base tools label each cell ``word = value``
("dawn = sunrise_golden"); the ``normal`` library's rules paint nothing by themselves and are
not drawn (its ``graduated_effect`` is).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from .images import ImageBatch, make_images
from .images.batch import check_size
from .libraries import LIBRARY_NAMES
from .libraries import library as get_library
from .tools import SIGNATURE_ONLY, TOOLS, ToolCall, apply_calls
from .tools.recipes import ALL_RECIPES
from .tools.vocabulary import ALL_TOOLS
from .validation import real_in

_BG = (250, 250, 248)
_INK = (30, 30, 34)
_MUTED = (120, 120, 128)


def default_images(size: int, n: int = 3, seed: int = 0) -> ImageBatch:
    """An outdoor scene, an interior and a photograph (then more scenes), all ``size``-square."""
    parts = [
        make_images("procedural:outdoor", 1, size, seed),
        make_images("procedural:interior", 1, size, seed),
        make_images("bundled", 1, size, seed),
    ]
    if n > 3:
        parts.append(make_images("procedural", n - 3, size, seed + 1))
    return ImageBatch.cat(parts)[:n]


def _to_uint8(x: torch.Tensor) -> np.ndarray:
    return (x.clamp(0, 1).permute(0, 2, 3, 1).cpu().numpy() * 255 + 0.5).astype(np.uint8)


#: Every tool that paints: the recipes' tools and ``graduated_effect`` (a ramp over them).
PAINTING_TOOLS: tuple[str, ...] = (*ALL_RECIPES, "graduated_effect")


def gallery_values(
    tools: Sequence[str] | None = None, library: str | None = None
) -> dict[str, tuple[str, ...]]:
    """The values a sheet shows per tool: the ten tools' 171 values by default; for named
    tools, every value of theirs (``vocabulary.ALL_TOOLS``, extra values included); with
    ``library``, that library's painting actions and the values its words call. Raises
    ``ValueError`` for a tool that does not paint (or that the library lacks)."""
    if library is not None:
        lib = get_library(library)
        painting = {a.tool: a.values for a in lib.actions if a.tool in PAINTING_TOOLS}
        if not tools:
            return painting
        for t in tools:
            if t not in painting:
                raise ValueError(f"library {library!r} has no painting action {t!r}")
        return {t: painting[t] for t in tools}
    if not tools:
        return dict(TOOLS)
    for t in tools:
        if t not in PAINTING_TOOLS:
            raise ValueError(
                f"unknown or unrendered tool {t!r}; expected one of {', '.join(PAINTING_TOOLS)}"
            )
    return {t: ALL_TOOLS[t] for t in tools}


#: The largest sheet drawn (pixels, about 600 MB of RGB): more is refused before rendering.
MAX_SHEET_PIXELS = 200_000_000

_PAD, _LABEL_H, _TITLE_H = 6, 16, 30


def sheet_size(
    values: dict[str, tuple[str, ...]], size: int, n_images: int, columns: int
) -> tuple[int, int]:
    """``(width, height)`` of the sheet of ``values`` at ``n_images`` thumbnails of ``size``
    pixels per cell, ``columns`` cells per row (what :func:`render_gallery` draws)."""
    cell_w, cell_h = n_images * size + _PAD, size + _LABEL_H + _PAD
    rows = sum((len(v) + 1 + columns - 1) // columns for v in values.values())
    return columns * cell_w + _PAD, len(values) * _TITLE_H + rows * cell_h + _PAD


def _format(path: Path) -> str:
    """The PIL format that writes ``path`` (by its extension), or ``ValueError`` naming it."""
    Image.init()
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None or fmt not in Image.SAVE:
        raise ValueError(
            f"--out {path}: unknown image file extension {path.suffix or '(none)'!r}; give a file "
            "name ending in .png (or .jpg, .webp, ...)"
        )
    return fmt


def check_out(path: Path) -> Path:
    """``path`` if the sheet can be written there (an image file name in a folder that exists
    or can be created, not a folder), checked before rendering; ``ValueError`` or ``OSError``
    naming it."""
    if path.is_dir():
        raise ValueError(f"--out {path} is a folder; give a file path (e.g. {path / 'gallery.png'})")  # fmt: skip
    _format(path)
    for parent in path.parents:  # the nearest existing ancestor must be a folder
        if parent.exists():
            if not parent.is_dir():
                raise ValueError(f"--out {path} cannot be written: {parent} is a file, not a folder")  # fmt: skip
            break
    try:  # created, and a file written in it: a read-only folder is a named error now
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path.parent):
            pass
    except OSError as e:
        raise OSError(f"--out {path} cannot be written: {e}") from None
    return path


def save_sheet(sheet: Image.Image, path: Path) -> Path:
    """Write ``sheet`` to ``path`` whole or not at all (a temporary file beside it, then one
    ``os.replace``); an ``OSError`` names ``path``."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        sheet.save(tmp, format=_format(path))
        os.replace(tmp, path)
    except OSError as e:
        raise OSError(f"cannot write {path}: {e}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return path


def render_gallery(
    images: ImageBatch,
    tools: Sequence[str] | None = None,
    strength: float = 0.8,
    columns: int = 5,
    library: str | None = None,
) -> Image.Image:
    """Render the contact sheet as a PIL image (``tools``, ``library``: see
    :func:`gallery_values`)."""
    values = gallery_values(tools, library)
    lib = get_library(library) if library is not None else None
    tools = list(values)
    n, _, h, w = images.pixels.shape
    font = ImageFont.load_default(size=12)
    title_font = ImageFont.load_default(size=18)
    pad, label_h, title_h = _PAD, _LABEL_H, _TITLE_H
    cell_w, cell_h = n * w + pad, h + label_h + pad
    rows_per_tool = [(len(values[t]) + 1 + columns - 1) // columns for t in tools]
    width = columns * cell_w + pad
    height = sum(title_h + r * cell_h for r in rows_per_tool) + pad
    sheet = Image.new("RGB", (width, height), _BG)
    draw = ImageDraw.Draw(sheet)
    y0 = pad
    for tool, rows in zip(tools, rows_per_tool, strict=True):
        draw.text((pad, y0 + 6), f"{tool}  (strength {strength:g})", fill=_INK, font=title_font)
        y0 += title_h
        cells = [("original", images.pixels)]
        for value in values[tool]:
            styled = apply_calls(images, ToolCall(tool, value, strength))
            label = value + (" *" if (tool, value) in SIGNATURE_ONLY else "")
            word = lib.action(tool).word(value) if lib is not None else value
            if word != value:
                label = f"{word} = {label}"
            cells.append((label, styled))
        for k, (label, pix) in enumerate(cells):
            cx = pad + (k % columns) * cell_w
            cy = y0 + (k // columns) * cell_h
            draw.text((cx, cy), label, fill=_MUTED if k == 0 else _INK, font=font)
            for j, tile in enumerate(_to_uint8(pix)):
                sheet.paste(Image.fromarray(tile), (cx + j * w, cy + label_h))
        y0 += rows * cell_h
    return sheet


def main(argv: Sequence[str] | None = None) -> Path:
    p = argparse.ArgumentParser(
        prog="python -m styling_env.gallery", description=__doc__.splitlines()[0]
    )
    p.add_argument("--out", type=Path, default=Path("gallery.png"), help="PNG file to write")
    p.add_argument(
        "--tool",
        action="append",
        help="only this tool (repeatable; any tool a recipe renders); default the ten tools",
    )
    p.add_argument(
        "--all", action="store_true", help="every tool a recipe renders, in every library"
    )
    p.add_argument(
        "--library",
        choices=LIBRARY_NAMES,
        help="one action library's painting actions, labelled with its words",
    )
    p.add_argument("--size", type=int, default=96, help="side of each thumbnail in pixels")
    p.add_argument("--images", type=int, default=3, help="images per value (>= 1)")
    p.add_argument("--strength", type=float, default=0.8, help="strength of every call, in [0, 1]")
    p.add_argument("--seed", type=int, default=0, help="seed of the scenes and photo crops")
    p.add_argument("--columns", type=int, default=5, help="values per row")
    args = p.parse_args(argv)
    if args.images < 1:
        p.error("--images must be >= 1")
    if args.columns < 1:
        p.error("--columns must be >= 1")
    tools = list(PAINTING_TOOLS) if args.all else args.tool
    try:  # every argument and the output path checked before anything is rendered
        real_in("--strength", args.strength, 0.0, 1.0)
        check_size(args.size, "--size")
        if args.seed < 0:
            raise ValueError(f"--seed must be >= 0, got {args.seed}")
        values = gallery_values(tools, args.library)
        width, height = sheet_size(values, args.size, args.images, args.columns)
        if width * height > MAX_SHEET_PIXELS:
            raise ValueError(
                f"the sheet would be {width}x{height} pixels, over the limit of "
                f"{MAX_SHEET_PIXELS // 10**6} megapixels: use a smaller --size, fewer --images "
                "or fewer tools"
            )
        check_out(args.out)
    except (ValueError, OSError) as e:
        p.error(str(e))
    images = default_images(args.size, args.images, args.seed)
    sheet = render_gallery(images, tools, args.strength, args.columns, args.library)
    try:
        save_sheet(sheet, args.out)
    except OSError as e:  # the disk filled up while rendering
        p.exit(1, f"error: {e}\n")
    n_values = sum(len(v) for v in values.values())
    print(f"wrote {args.out} ({sheet.width}x{sheet.height}, {n_values} values)")
    return args.out


if __name__ == "__main__":
    main()
