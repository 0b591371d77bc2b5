"""The action-space facts of ``styling_env.actions``: STOP, offsets, the flat encoding."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from styling_env import actions as A
from styling_env.engine import Stop
from styling_env.tools import TOOLS, ToolCall
from styling_env.vector import ImageStylingVectorEnv
from styling_env.vector_wrappers import VectorDiscreteActions
from styling_env.wrappers import DiscreteActions


def _expected_table(bins: int) -> list[tuple[str, str, float]]:
    """The flat space written out by hand: tools in order, their values in order, then the
    strength bins (b + 1) / bins; STOP comes after all of them."""
    out = []
    for tool, values in TOOLS.items():
        for value in values:
            for b in range(bins):
                out.append((tool, value, (b + 1) / bins))
    return out


def test_constants():
    assert A.STOP == 10 == len(TOOLS)
    assert sum(A.VOCAB_SIZES) == 171
    assert A.VALUE_OFFSETS[0] == 0 and A.VALUE_OFFSETS[1] == len(TOOLS["location_setting"])
    assert A.VALUE_OFFSETS[-1] + A.VOCAB_SIZES[-1] == 171
    assert A.MASK_NAMES == ("sky", "ground", "vegetation", "water", "buildings", "subject")
    assert A.REGIONS == (
        "all", "sky", "ground", "vegetation", "water", "buildings", "subject", "background",
    )  # fmt: skip
    assert A.n_actions(4) == 171 * 4 + 1 and A.FlatActions(3).stop == 171 * 3


def test_old_names_still_import():
    from styling_env.engine import STOP
    from styling_env.env import STOP as ENV_STOP
    from styling_env.images import MASK_NAMES
    from styling_env.tools import REGIONS
    from styling_env.tools.call import REGIONS as CALL_REGIONS

    assert STOP == ENV_STOP == A.STOP
    assert MASK_NAMES is A.MASK_NAMES and REGIONS is CALL_REGIONS is A.REGIONS


@pytest.mark.parametrize("bins", [1, 2, 3, 4, 7])
def test_flat_round_trip_over_the_whole_space(bins):
    flat = A.FlatActions(bins)
    k = np.arange(flat.size)
    d = flat.decode(k)
    assert (d["tool"][:-1] < A.STOP).all() and d["tool"][-1] == A.STOP
    np.testing.assert_array_equal(flat.encode(d["tool"], d["value"], d["strength"]), k)
    # and the other way: every (tool, value, bin) encodes to a distinct index that decodes back
    tool, value, b = np.meshgrid(
        np.arange(len(TOOLS)), np.arange(max(A.VOCAB_SIZES)), np.arange(bins), indexing="ij"
    )
    ok = value < np.array(A.VOCAB_SIZES)[tool]
    tool, value, b = tool[ok], value[ok], b[ok]
    enc = flat.encode(tool, value, (b + 1) / bins)
    assert sorted(enc.tolist()) == list(range(flat.stop))
    back = flat.decode(enc)
    np.testing.assert_array_equal(back["tool"], tool)
    np.testing.assert_array_equal(back["value"], value)
    np.testing.assert_array_equal(back["strength"], (b + 1) / bins)


@pytest.mark.parametrize("bins", [1, 4])
def test_flat_matches_the_hand_written_table_and_discrete_actions(bins):
    table = _expected_table(bins)
    flat = A.FlatActions(bins)
    assert flat.stop == len(table)
    env = DiscreteActions(gym.make("ImageStyling-v0", image_size=32), n_strength_bins=bins)
    for k, (tool, value, strength) in enumerate(table):
        assert flat.call(k) == (tool, value, strength)
        call = env.action(np.int64(k))
        assert call == ToolCall(tool, value, strength)
        assert env.index(call) == k
    assert flat.call(flat.stop) is None and isinstance(env.action(flat.stop), Stop)
    assert env.index(Stop()) == flat.stop


def test_strength_rounds_to_the_nearest_bin():
    # bins of 4: strengths 0.25, 0.5, 0.75, 1.0; ties go to the even multiple (Python's round)
    s = np.array([0.0, 0.1, 0.2, 0.3, 0.375, 0.5, 0.625, 0.74, 0.9, 1.0])
    assert A.strength_bin(s, 4).tolist() == [0, 0, 0, 0, 1, 1, 1, 2, 3, 3]
    assert A.strength_bin(torch.tensor(s), 4).tolist() == [0, 0, 0, 0, 1, 1, 1, 2, 3, 3]
    for x in s:
        b = min(3, max(0, round(float(x) * 4) - 1))
        assert int(A.strength_bin(float(x), 4)) == b


def test_torch_and_numpy_agree():
    flat = A.FlatActions(3)
    rng = np.random.default_rng(0)
    k = rng.integers(-2, flat.size + 2, 500)
    dn = flat.decode(k)
    dt = flat.decode(torch.from_numpy(k))
    for key in ("tool", "value", "strength"):
        np.testing.assert_array_equal(dt[key].numpy(), dn[key])
    assert set(dn["tool"][(k < 0) | (k > flat.stop)].tolist()) == {-1}
    call = (k >= 0) & (k <= flat.stop)
    enc = flat.encode(torch.from_numpy(dn["tool"][call]), torch.from_numpy(dn["value"][call]),
                      torch.from_numpy(dn["strength"][call]))  # fmt: skip
    np.testing.assert_array_equal(enc.numpy(), k[call])
    assert enc.dtype == torch.int64


def test_flat_matches_the_loaders_encoding():
    from offline_data import loaders

    rng = np.random.default_rng(1)
    tool = rng.integers(0, A.STOP + 1, 2000)
    value = rng.integers(0, 30, 2000) % np.array((*A.VOCAB_SIZES, 1))[tool]
    strength = rng.random((2000, 1)).astype(np.float32)
    for bins in (1, 4, 5):
        np.testing.assert_array_equal(
            A.flat_actions(tool, value, strength, bins),
            loaders.flat_actions(tool, value, strength, bins),
        )
        assert A.n_actions(bins) == loaders.n_actions(bins)


def test_vector_wrapper_decodes_like_the_single_one():
    bins = 2
    single = DiscreteActions(gym.make("ImageStyling-v0", image_size=32), n_strength_bins=bins)
    wrapped = VectorDiscreteActions(ImageStylingVectorEnv(4, image_size=32), bins)
    from styling_env.engine import decode_native

    for ks in (np.array([0, 1, 341, 342]), np.array([5, 100, 200, 300])):
        batch = wrapped.actions(ks)
        got = [decode_native({k: v[i] for k, v in batch.items()}) for i in range(4)]
        assert got == [single.action(np.int64(k)) for k in ks]
    batch = wrapped.actions(np.array([-1, 343, 342, 0]))
    assert batch["tool"].tolist() == [-1, -1, A.STOP, 0]


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "4", None])
def test_bad_bins_are_named(bad):
    with pytest.raises(ValueError, match="n_strength_bins must be a positive int"):
        A.FlatActions(bad)
    assert A.check_bins(np.int64(3)) == 3


def test_call_out_of_range():
    with pytest.raises(ValueError, match=r"action 10000 is outside \[0, 684\]"):
        A.FlatActions(4).call(10_000)


@pytest.mark.parametrize(
    ("tool", "value", "strength", "match"),
    [
        ([0, 11], [0, 0], [0.5, 0.5], r"native action 1 \(tool 11, value 0"),
        ([0, -1], [0, 0], [0.5, 0.5], r"native action 1 \(tool -1"),
        ([4, 4], [3, 4], [0.5, 0.5], r"native action 1 \(tool 4, value 4"),  # 4 seasons
        ([0], [0], [float("nan")], r"native action 0 .*strength nan"),
        ([0], [0], [1.5], r"strength in \[0, 1\]"),
    ],
)
def test_encode_names_an_action_without_a_flat_index(tool, value, strength, match):
    flat = A.FlatActions(4)
    with pytest.raises(ValueError, match=match):
        flat.encode(np.array(tool), np.array(value), np.array(strength))
    with pytest.raises(ValueError, match=match):
        flat.encode(torch.tensor(tool), torch.tensor(value), torch.tensor(strength))
    # STOP rows carry whatever value and strength: never checked
    assert flat.encode(np.array([A.STOP]), np.array([99]), np.array([float("nan")]))[0] == flat.stop
