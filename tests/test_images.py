"""Image sources: shapes, masks, determinism, variety, user folders and bad input."""

from __future__ import annotations

import doctest
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

import styling_env.images as images_pkg
from styling_env.images import MASK_NAMES, ImageBatch, as_image_batch, make_images, photo_names
from styling_env.images import batch as batch_mod
from styling_env.images import sources as sources_mod
from styling_env.images.procedural import render_scene

SOURCES = ["procedural", "procedural:outdoor", "procedural:interior", "bundled", "mix"]


def _check_batch(batch: ImageBatch, n: int, h: int, w: int) -> None:
    assert len(batch) == n
    assert batch.pixels.shape == (n, 3, h, w) and batch.pixels.dtype == torch.float32
    assert batch.masks.shape == (n, len(MASK_NAMES), h, w) and batch.masks.dtype == torch.float32
    assert batch.has_masks.shape == (n,) and batch.has_masks.dtype == torch.bool
    assert torch.isfinite(batch.pixels).all()
    assert batch.pixels.min() >= 0.0 and batch.pixels.max() <= 1.0
    assert set(batch.masks.unique().tolist()) <= {0.0, 1.0}
    for i in range(n):
        photo = batch.kinds[i] == "photo"
        assert bool(batch.has_masks[i]) is not photo
        if photo:
            assert batch.masks[i].sum() == 0
        else:  # a partition: exactly one class per pixel
            assert torch.equal(batch.masks[i].sum(0), torch.ones(h, w))
    assert len(batch.names) == len(batch.kinds) == n


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("size", [16, (24, 40), (300, 200)])
def test_every_source_gives_valid_batches(source: str, size: int | tuple[int, int]) -> None:
    h, w = (size, size) if isinstance(size, int) else size
    batch = make_images(source, n=3, size=size, seed=1)
    _check_batch(batch, 3, h, w)
    prefix = source.split(":")[0]
    for name, kind in zip(batch.names, batch.kinds, strict=True):
        assert name.startswith("procedural:" if kind != "photo" else "bundled:")
        assert prefix == "mix" or name.startswith(prefix)
    if source.startswith("procedural:"):
        assert set(batch.kinds) == {source.split(":")[1]}


def test_procedural_names_say_kind_seed_index() -> None:
    batch = make_images("procedural", n=6, size=32, seed=7)
    for i, (name, kind) in enumerate(zip(batch.names, batch.kinds, strict=True)):
        assert name == f"procedural:{kind}:7:{i}"
        rgb, labels = render_scene(kind, 7, i, 32)
        assert np.array_equal(batch.pixels[i].numpy(), rgb)
        assert np.array_equal(batch.masks[i].argmax(0).numpy(), labels)


def test_every_class_occurs_and_sky_and_subject_on_most() -> None:
    batch = make_images("procedural", n=48, size=48, seed=0)
    present = (batch.masks.amax(dim=(2, 3)) > 0).float().mean(0)
    share = dict(zip(MASK_NAMES, present.tolist(), strict=True))
    assert all(v > 0 for v in share.values()), share
    # Measured on 1,000 scenes: sky 0.82, subject 0.94, ground 1.0.
    assert share["sky"] >= 0.6 and share["subject"] >= 0.75 and share["ground"] == 1.0, share
    assert 12 <= batch.kinds.count("outdoor") <= 36  # about half outdoor


def test_mix_is_about_two_thirds_procedural() -> None:
    kinds = make_images("mix", n=60, size=16, seed=2).kinds
    assert 30 <= sum(k != "photo" for k in kinds) <= 52


@pytest.mark.parametrize("source", [*SOURCES, "folder"])
def test_deterministic_and_independent_of_n(source: str, tmp_path) -> None:
    if source == "folder":
        for i, colour in enumerate([(200, 30, 30), (30, 200, 30), (30, 30, 200)]):
            Image.new("RGB", (40, 30), colour).save(tmp_path / f"{i}.png")
        source = f"folder:{tmp_path}"
    big = make_images(source, n=10, size=(24, 32), seed=3)
    small = make_images(source, n=4, size=(24, 32), seed=3)
    assert torch.equal(big[:4].pixels, small.pixels)
    assert torch.equal(big[:4].masks, small.masks)
    assert big[:4].names == small.names
    other = make_images(source, n=4, size=(24, 32), seed=4)
    assert not torch.equal(other.pixels, small.pixels)


def test_scenes_keep_their_content_across_resolutions() -> None:
    """Drawn in normalized coordinates: a 256 px render shrunk to 64 px matches the 64 px one."""
    for kind in ("outdoor", "interior"):
        for index in range(3):
            small = torch.from_numpy(render_scene(kind, 5, index, 64)[0])
            big = torch.from_numpy(render_scene(kind, 5, index, 256)[0])
            shrunk = F.interpolate(big[None], size=(64, 64), mode="area")[0]
            assert (shrunk - small).abs().mean() < 0.03, (kind, index)


def test_procedural_scenes_are_varied() -> None:
    batch = make_images("procedural", n=1000, size=32, seed=0)
    x = batch.pixels.reshape(len(batch), -1)
    # RMS difference of every pair (the matrix-product form of the distance is fast).
    dist = torch.cdist(x, x) / x.shape[1] ** 0.5
    dist.fill_diagonal_(float("inf"))
    # Measured: the closest of the 499,500 pairs differs by RMS 0.078 (0.081 with seed 1),
    # more than a scene differs from itself shifted by one pixel (median RMS 0.066): no pair
    # is a near-duplicate.
    assert dist.min() > 0.06
    means = batch.pixels.mean(dim=(2, 3))
    assert (means.std(0) > 0.08).all()  # measured 0.095-0.116 per channel
    luma = means.mean(1)
    assert luma.min() < 0.3 and luma.max() > 0.75  # measured 0.26 .. 0.87


def test_bundled_gives_distinct_photos_and_crops() -> None:
    names = photo_names()
    assert {"astronaut", "chelsea", "coffee", "china", "flower"} <= set(names)
    batch = make_images("bundled", n=2 * len(names), size=64, seed=0)
    first = batch[: len(names)]
    assert sorted(first.names) == sorted(f"bundled:{n}" for n in names)  # each once per cycle
    x = first.pixels.reshape(len(names), -1)
    dist = torch.cdist(x, x) / x.shape[1] ** 0.5
    assert dist[~torch.eye(len(names), dtype=torch.bool)].min() > 0.05
    # The second cycle shows the same photos with other crops.
    again = batch[len(names) :]
    assert again.names == first.names
    assert ((again.pixels - first.pixels).abs().mean(dim=(1, 2, 3)) > 0.01).all()


def test_bundled_photos_are_found_without_importing_their_packages(monkeypatch) -> None:
    """The photo folders are located, not imported: importing scikit-learn (scipy.stats and
    the rest) cost every new process about 3 s at its first reset."""
    from styling_env.images import bundled

    packages = ("sklearn", "skimage")
    for name in [m for m in sys.modules if m.split(".")[0] in packages]:
        monkeypatch.delitem(sys.modules, name)  # as in a new process (put back after the test)
    bundled.photo_paths.cache_clear()
    try:
        found = bundled.photo_paths()
    finally:
        bundled.photo_paths.cache_clear()
    assert not [m for m in sys.modules if m.split(".")[0] in packages]
    assert {"astronaut", "chelsea", "coffee", "china", "flower"} <= set(found)
    assert found["china"].parent.parts[-3:] == ("sklearn", "datasets", "images")
    assert bundled._package_dir("no_such_package_here") is None


def test_folder_reads_formats_in_sorted_order(tmp_path) -> None:
    colours = {
        "a.jpg": (220, 40, 40),
        "b.PNG": (40, 220, 40),
        "c.webp": (40, 40, 220),
        "d.bmp": (220, 220, 40),
    }
    for name, colour in colours.items():
        fmt = {"jpg": "JPEG", "png": "PNG", "webp": "WEBP", "bmp": "BMP"}[
            name.split(".")[1].lower()
        ]
        Image.new("RGB", (64, 48), colour).save(tmp_path / name, format=fmt)
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "sub").mkdir()
    batch = make_images(f"folder:{tmp_path}", n=5, size=(32, 32), seed=0)
    _check_batch(batch, 5, 32, 32)
    assert [n.rsplit("/", 1)[1] for n in batch.names] == [
        "a.jpg",
        "b.PNG",
        "c.webp",
        "d.bmp",
        "a.jpg",
    ]
    means = (batch.pixels.mean(dim=(2, 3)) * 255).round()
    for mean, colour in zip(means, [*colours.values(), colours["a.jpg"]], strict=True):
        assert (mean - torch.tensor(colour)).abs().max() <= 3  # JPEG/WebP are lossy
    shifted = make_images(f"folder:{tmp_path}", n=1, size=32, seed=2)
    assert shifted.names[0].endswith("c.webp")  # the seed picks where the walk starts


def test_folder_centre_crops_to_aspect(tmp_path) -> None:
    image = np.zeros((40, 120, 3), np.uint8)
    image[:, :30] = 255  # only the left quarter is white: outside the centred square crop
    Image.fromarray(image).save(tmp_path / "wide.png")
    batch = make_images(f"folder:{tmp_path}", size=32)
    assert batch.pixels.max() < 0.05


@pytest.mark.parametrize(
    ("setup", "match"),
    [
        (lambda p: p / "missing", "does not exist"),
        (lambda p: (p / "file.png").write_bytes(b"x") and p / "file.png", "not a directory"),
        (lambda p: (p / "readme.txt").write_text("hi") and p, "has no JPEG/PNG/WebP/BMP images"),
        (
            lambda p: (p / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg") and p,
            "broken.jpg.*cannot be read",
        ),
        (
            lambda p: Image.new("RGBA", (32, 32)).save(p / "alpha.png") or p,
            "alpha.png.*'RGBA'.*alpha",
        ),
        (lambda p: Image.new("L", (32, 32)).save(p / "gray.png") or p, "gray.png.*'L'.*grayscale"),
        (lambda p: Image.new("I;16", (32, 32)).save(p / "deep.png") or p, "deep.png.*16-bit"),
        (lambda p: Image.new("RGB", (8, 32)).save(p / "tiny.png") or p, "tiny.png.*too small"),
    ],
    ids=["missing", "file", "empty", "corrupt", "rgba", "gray", "16bit", "tiny"],
)
def test_folder_errors_name_the_problem(tmp_path, setup, match: str) -> None:
    path = setup(tmp_path)
    with pytest.raises(ValueError, match=match):
        make_images(f"folder:{path}", n=1, size=32)


def test_as_image_batch_round_trips_uint8_exactly() -> None:
    x = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    expected = torch.from_numpy(x).permute(2, 0, 1).float() / 255
    for image in (x, torch.from_numpy(x).permute(2, 0, 1), Image.fromarray(x)):
        batch = as_image_batch([image])
        _check_batch(batch, 1, 20, 30)
        assert torch.equal(batch.pixels[0], expected)
        assert batch.names == ("user:0",) and batch.kinds == ("photo",)
    floats = as_image_batch([x.astype(np.float64) / 255])
    assert torch.allclose(floats.pixels[0], expected)


def test_as_image_batch_sizes() -> None:
    a, b = np.zeros((20, 30, 3), np.uint8), np.full((40, 40, 3), 255, np.uint8)
    with pytest.raises(ValueError, match="different sizes.*pass size"):
        as_image_batch([a, b])
    batch = as_image_batch([a, b], size=(16, 24))
    _check_batch(batch, 2, 16, 24)
    assert batch.pixels[0].max() == 0 and batch.pixels[1].min() > 0.999
    # Resizing never stretches: a wide image is centre-cropped to the target aspect.
    wide = np.zeros((32, 96, 3), np.uint8)
    wide[:, 32:64] = 255
    assert as_image_batch([wide], size=32).pixels.min() > 0.95
    # 4-D batches work as sequences of images.
    assert len(as_image_batch(np.zeros((3, 20, 20, 3), np.uint8))) == 3
    assert len(as_image_batch(torch.zeros(2, 3, 20, 20))) == 2


def test_make_images_from_a_list_cycles_it() -> None:
    rng = np.random.default_rng(1)
    images = [rng.integers(0, 256, (32, 48, 3), dtype=np.uint8) for _ in range(3)]
    batch = make_images(images, n=7, size=(32, 48), seed=5)
    _check_batch(batch, 7, 32, 48)
    assert batch.names == tuple(f"user:{i % 3}" for i in range(7))
    assert torch.equal(batch.pixels[3], batch.pixels[0]) and torch.equal(
        batch.pixels[6], batch.pixels[0]
    )
    assert torch.equal(batch.pixels[1], torch.from_numpy(images[1]).permute(2, 0, 1).float() / 255)
    # An ImageBatch is a source too, masks included.
    scenes = make_images("procedural", n=2, size=64)
    again = make_images(scenes, n=3, size=32)
    _check_batch(again, 3, 32, 32)
    assert again.has_masks.all() and again.names[2] == scenes.names[0]


def _good() -> np.ndarray:
    return np.zeros((32, 32, 3), np.uint8)


BAD_IMAGES = [
    (np.zeros((32, 32), np.uint8), ValueError, "grayscale"),
    (np.zeros((32, 32, 1), np.uint8), ValueError, "grayscale"),
    (np.zeros((32, 32, 4), np.uint8), ValueError, "RGBA.*drop or composite alpha"),
    (np.zeros((32, 32, 2), np.uint8), ValueError, "alpha"),
    (np.zeros((3, 32, 32), np.uint8), ValueError, "channels-last.*transpose"),
    (np.zeros((2, 32, 32, 3), np.uint8), ValueError, r"must be \(H, W, 3\)"),
    (np.zeros((32, 32, 3), np.uint16), TypeError, "16-bit"),
    (np.zeros((32, 32, 3), np.int32), TypeError, "int32.*uint8"),
    (np.zeros((32, 32, 3), bool), TypeError, "bool"),
    (
        np.linspace(0, 255, 32 * 32 * 3).reshape(32, 32, 3),
        ValueError,
        r"span \[0, 255\].*divide by 255",
    ),
    (np.full((32, 32, 3), -0.5), ValueError, r"expected \[0, 1\]"),
    (np.full((32, 32, 3), np.nan, np.float32), ValueError, "NaN"),
    (np.full((32, 32, 3), np.inf, np.float32), ValueError, "inf"),
    (np.zeros((8, 32, 3), np.uint8), ValueError, "8x32 px is too small.*at least 16"),
    (np.zeros((16, 4100, 3), np.uint8), ValueError, "16x4100 px is too large.*at most 4096"),
    (torch.zeros(32, 32, 3), ValueError, r"channels-first.*permute"),
    (torch.zeros(1, 32, 32), ValueError, "grayscale"),
    (torch.zeros(4, 32, 32), ValueError, "RGBA"),
    (torch.zeros(32, 32), ValueError, "grayscale"),
    (torch.zeros(3, 32, 32, dtype=torch.int64), TypeError, "int64"),
    (torch.full((3, 32, 32), 2.0), ValueError, r"expected \[0, 1\]"),
    (torch.full((3, 32, 32), float("nan")), ValueError, "NaN"),
    (Image.new("RGBA", (32, 32)), ValueError, "'RGBA'.*alpha"),
    (Image.new("LA", (32, 32)), ValueError, "'LA'.*alpha"),
    (Image.new("L", (32, 32)), ValueError, "'L'.*grayscale"),
    (Image.new("I;16", (32, 32)), ValueError, "'I;16'.*16-bit"),
    (Image.new("F", (32, 32)), ValueError, "'F'"),
    (Image.new("RGB", (10, 32)), ValueError, "too small"),
    ("cat.jpg", TypeError, "str is not an image"),
    ([[0, 0, 0]], TypeError, "list is not an image"),
]


@pytest.mark.parametrize(
    ("image", "error", "match"), BAD_IMAGES, ids=[f"bad{i}" for i in range(len(BAD_IMAGES))]
)
def test_bad_images_raise_naming_the_image(image, error, match: str) -> None:
    with pytest.raises(error, match=f"^image 1: .*{match}"):
        as_image_batch([_good(), image])
    with pytest.raises(error, match="image 0: "):
        make_images([image], n=2, size=32)


def test_palette_images_convert_unless_transparent() -> None:
    rgb = Image.fromarray(np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8))
    palette = rgb.convert("P")
    batch = as_image_batch([palette, rgb.convert("CMYK"), rgb.convert("YCbCr")])
    _check_batch(batch, 3, 32, 32)
    palette.info["transparency"] = 0
    with pytest.raises(ValueError, match="image 0: palette image with transparency"):
        as_image_batch([palette])


@pytest.mark.parametrize(
    ("images", "error", "match"),
    [
        ([], ValueError, "images is empty"),
        (5, TypeError, "sequence of images"),
        ("photo.jpg", TypeError, "sequence of images"),
        (np.zeros((32, 32, 3), np.uint8), TypeError, "wrap one image in a list"),
        (torch.zeros(3, 32, 32), TypeError, "wrap one image in a list"),
    ],
)
def test_bad_image_collections(images, error, match: str) -> None:
    with pytest.raises(error, match=match):
        as_image_batch(images)


def test_floats_just_outside_the_range_are_clamped() -> None:
    x = np.full((16, 16, 3), 1.0005, np.float32)
    assert as_image_batch([x]).pixels.max() == 1.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"size": 15}, r"size must be .*\[16, 4096\], got 15"),
        ({"size": 4097}, "got 4097"),
        ({"size": (32, 8)}, r"got \(32, 8\)"),
        ({"size": 32.0}, "got 32.0"),
        ({"size": True}, "got True"),
        ({"size": (32,)}, r"got \(32,\)"),
        ({"size": "128"}, "got '128'"),
        ({"n": 0}, "n must be >= 1, got 0"),
        ({"n": 2.5}, "n must be an int, got 2.5"),
        ({"n": True}, "n must be an int, got True"),
        ({"seed": 1.5}, "seed must be an int"),
        (
            {"source": "photos"},
            "unknown image source 'photos'.*'procedural:outdoor'.*'folder:PATH'",
        ),
        ({"source": "procedural:space"}, "unknown image source"),
        ({"source": "folder:"}, "unknown image source"),
        ({"source": 42}, "unknown image source 42"),
    ],
)
def test_bad_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make_images(**kwargs)


def test_to_and_indexing() -> None:
    batch = make_images("mix", n=5, size=16, seed=0)
    moved = batch.to("meta")  # a device every machine has
    assert (
        moved.pixels.device.type == moved.masks.device.type == moved.has_masks.device.type == "meta"
    )
    assert moved.names == batch.names
    one = batch[1]
    assert len(one) == 1 and one.pixels.shape == (1, 3, 16, 16) and one.names == batch.names[1:2]
    assert torch.equal(batch[-1].pixels, batch.pixels[4:])
    part = batch[1:4]
    assert len(part) == 3 and part.kinds == batch.kinds[1:4]
    assert torch.equal(ImageBatch.cat([batch[:2], batch[2:]]).pixels, batch.pixels)
    with pytest.raises(IndexError, match="out of range"):
        batch[5]
    with pytest.raises(TypeError, match="int or a slice"):
        batch["a"]
    with pytest.raises(ValueError, match="masks must be"):
        ImageBatch(batch.pixels, batch.masks[:, :5], batch.has_masks, batch.names, batch.kinds)
    assert batch.size == (16, 16)


def test_photo_masks_are_empty_and_procedural_flagged() -> None:
    batch = make_images("mix", n=12, size=24, seed=1)
    photo = torch.tensor([k == "photo" for k in batch.kinds])
    assert photo.any() and (~photo).any()
    assert torch.equal(batch.has_masks, ~photo)


@pytest.mark.parametrize("module", [images_pkg, batch_mod, sources_mod])
def test_docstring_examples(module) -> None:
    assert doctest.testmod(module).failed == 0


def test_folder_turns_phone_photos_upright_and_decodes_big_jpegs(tmp_path) -> None:
    stored = np.zeros((40, 80, 3), np.uint8)  # stored sideways: red left half, blue right half
    stored[:, :40, 0] = 255
    stored[:, 40:, 2] = 255
    exif = Image.Exif()
    exif[0x0112] = 6  # EXIF orientation: rotate 90 degrees clockwise to display
    Image.fromarray(stored).save(tmp_path / "portrait.jpg", exif=exif, quality=95)
    upright = make_images(f"folder:{tmp_path}", size=(80, 40)).pixels[0]
    assert upright[0, :30].mean() > 0.9 and upright[2, :30].mean() < 0.1  # red on top
    assert upright[2, 50:].mean() > 0.9 and upright[0, 50:].mean() < 0.1  # blue below
    big = np.zeros((3000, 2000, 3), np.uint8)
    big[:, :, 1] = 200
    Image.fromarray(big).save(tmp_path / "portrait.jpg", quality=90)  # a new file: reread
    small = make_images(f"folder:{tmp_path}", size=64)
    assert abs(small.pixels[0, 1].mean().item() - 200 / 255) < 0.02
