"""styling_env.images.resize_uint8: area when shrinking, bilinear when growing, one for all."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from styling_env.images import resize_uint8


def test_halving_is_the_mean_of_each_2x2_block():
    img = np.array(
        [[10, 20, 0, 0],
         [30, 40, 0, 255],
         [1, 2, 200, 100],
         [3, 4, 50, 150]],
        np.uint8,
    )[None, None]  # fmt: skip
    # block means by hand: (10+20+30+40)/4 = 25, (0+0+0+255)/4 = 63.75 -> 64,
    # (1+2+3+4)/4 = 2.5 -> 2 (ties to even), (200+100+50+150)/4 = 125
    expected = np.array([[25, 64], [2, 125]], np.uint8)[None, None]
    out = resize_uint8(img, 2)
    assert isinstance(out, np.ndarray) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, expected)
    t = resize_uint8(torch.from_numpy(img), 2)
    assert isinstance(t, torch.Tensor) and t.dtype == torch.uint8
    np.testing.assert_array_equal(t.numpy(), expected)


@pytest.mark.parametrize(
    ("h", "w", "size"),
    [(128, 128, 64), (128, 128, 32), (96, 96, 32), (120, 120, 40), (130, 130, 65), (128, 96, 32),
     (120, 72, 24), (32, 32, 32), (99, 99, 33)],
)  # fmt: skip
def test_whole_number_shrinks_keep_the_float_path_s_bits(h, w, size):
    """Whole-number reductions sum their blocks in integers (``_block_mean``): the same bits as
    area interpolation in float32, rounded ties-to-even, for block sizes 4, 16, 9, 12 (ties
    resolved by parity, powers of two by a shift) and 1, on random, tie-heavy and 0/255 inputs."""
    import torch.nn.functional as F

    g = torch.Generator().manual_seed(h + w + size)
    noise = torch.randint(0, 256, (9, 3, h, w), dtype=torch.uint8, generator=g)
    for x in (noise, (noise // 64) * 64 + 1, (noise > 127).to(torch.uint8) * 255):
        ref = F.interpolate(x.float(), size=(size, size), mode="area").round_().clamp_(0, 255)
        np.testing.assert_array_equal(resize_uint8(x, size).numpy(), ref.to(torch.uint8).numpy())
        np.testing.assert_array_equal(
            resize_uint8(x.numpy(), size, chunk=4), ref.to(torch.uint8).numpy()
        )


def test_doubling_is_bilinear_with_half_pixel_centres():
    img = np.array([[[[0, 100], [0, 100]]]], np.uint8)
    # output x centres map to source x -0.25, 0.25, 0.75, 1.25 (clamped to [0, 1])
    np.testing.assert_array_equal(resize_uint8(img, 4)[0, 0], np.tile([0, 25, 75, 100], (4, 1)))


def test_unchanged_sizes_chunks_and_the_loaders_agree():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (5, 3, 24, 24), dtype=np.uint8)
    assert resize_uint8(img, None) is img and resize_uint8(img, 24) is img
    for size in (8, 12, 17, 40):
        a = resize_uint8(img, size)
        assert a.shape == (5, 3, size, size)
        np.testing.assert_array_equal(resize_uint8(img, size, chunk=2), a)
        np.testing.assert_array_equal(resize_uint8(torch.from_numpy(img), size).numpy(), a)
    from offline_data.loaders import resize_uint8 as loaders_resize

    for size in (8, 12, 17, 40):
        np.testing.assert_array_equal(resize_uint8(img, size), loaders_resize(img, size))


@pytest.mark.parametrize(
    ("images", "size", "match"),
    [
        (np.zeros((2, 3, 8, 8), np.float32), 4, r"\(N, C, H, W\) uint8, got float32"),
        (np.zeros((3, 8, 8), np.uint8), 4, r"\(N, C, H, W\) uint8"),
        ([[1]], 4, "numpy array or torch tensor"),
        (np.zeros((1, 3, 8, 8), np.uint8), 0, "size must be a positive int, got 0"),
        (np.zeros((1, 3, 8, 8), np.uint8), 4.0, "size must be a positive int"),
    ],
)
def test_bad_input_is_named(images, size, match):
    with pytest.raises(ValueError, match=match):
        resize_uint8(images, size)
