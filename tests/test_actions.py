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
    env = DiscreteActions(
        gym.make("ImageStyling-v0", image_size=32), n_strength_bins=bins, preserve=False
    )
    assert env.action_space.n == 171 * bins + 1
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
    single = DiscreteActions(
        gym.make("ImageStyling-v0", image_size=32), n_strength_bins=bins, preserve=False
    )
    wrapped = VectorDiscreteActions(ImageStylingVectorEnv(4, image_size=32), bins, preserve=False)
    from styling_env.engine import decode_native

    for ks in (np.array([0, 1, 341, 342]), np.array([5, 100, 200, 300])):
        batch = wrapped.actions(ks)
        got = [decode_native({k: v[i] for k, v in batch.items()}) for i in range(4)]
        assert got == [single.action(np.int64(k)) for k in ks]
    batch = wrapped.actions(np.array([-1, 343, 342, 0]))
    assert batch["tool"].tolist() == [-1, -1, A.STOP, 0]
    # with the preserve digit (the default), the preserve bits travel too
    single = DiscreteActions(gym.make("ImageStyling-v0", image_size=32), n_strength_bins=bins)
    wrapped = VectorDiscreteActions(ImageStylingVectorEnv(4, image_size=32), bins)
    ks = np.array([1, 7, 12 * 341 + 11, 12 * 342])
    batch = wrapped.actions(ks)
    got = [decode_native({k: v[i] for k, v in batch.items()}) for i in range(4)]
    assert got == [single.action(np.int64(k)) for k in ks]
    assert got[1].preserved_regions == ("sky", "subject") and got[2].preserved_regions == (
        "buildings",
        "subject",
    )


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


def test_preserve_sets_are_the_twelve_a_task_can_ask_for():
    assert len(A.PRESERVE_SETS) == 12 and len(set(A.PRESERVE_SETS)) == 12
    assert A.PRESERVE_SETS[0] == () and A.PRESERVE_SETS[6] == ("subject",)
    for s in A.PRESERVE_SETS:
        assert list(s) == sorted(s, key=A.MASK_NAMES.index)
        assert sum(r != "subject" for r in s) <= 1
        assert A.preserve_names(A.preserve_bits(s)) == s


@pytest.mark.parametrize("bins", [1, 4])
def test_flat_round_trip_with_the_preserve_digit(bins):
    flat = A.FlatActions(bins, preserve=True)
    assert flat.size == 171 * bins * 12 + 1 == A.n_actions(bins, preserve=True)
    k = np.arange(flat.size)
    d = flat.decode(k)
    assert d["preserve"].shape == (flat.size, 6)
    np.testing.assert_array_equal(
        flat.encode(d["tool"], d["value"], d["strength"], d["preserve"]), k
    )
    # every one of the 12 sets on one call: distinct indices that decode to their bits
    bits = np.stack([A.preserve_bits(s) for s in A.PRESERVE_SETS])
    n = len(A.PRESERVE_SETS)
    enc = flat.encode(np.full(n, 3), np.full(n, 2), np.full(n, 1.0), bits)
    assert len(set(enc.tolist())) == n
    np.testing.assert_array_equal(flat.decode(enc)["preserve"], bits)
    assert [flat.preserved(int(i)) for i in enc] == list(A.PRESERVE_SETS)
    # torch gives the same on its own kind
    dt = flat.decode(torch.from_numpy(enc))
    assert isinstance(dt["preserve"], torch.Tensor)
    np.testing.assert_array_equal(dt["preserve"].numpy(), bits)
    back = flat.encode(dt["tool"], dt["value"], dt["strength"], dt["preserve"])
    np.testing.assert_array_equal(back.numpy(), enc)
    # STOP ignores its bits; decoding STOP or an out-of-range index sets none
    assert flat.encode(A.STOP, 0, 0.0, np.ones(6, np.int64)) == flat.stop
    assert not flat.decode(np.array([flat.stop, -1, flat.size]))["preserve"].any()


def test_preserve_false_keeps_the_old_indices_and_drops_the_bits():
    old, new = A.FlatActions(4), A.FlatActions(4, preserve=False)
    assert old == new and new.size == 685
    rng = np.random.default_rng(3)
    tool = rng.integers(0, A.STOP, 300)
    value = rng.integers(0, 30, 300) % np.array(A.VOCAB_SIZES)[tool]
    strength = rng.random(300)
    bits = np.stack([A.preserve_bits(A.PRESERVE_SETS[i]) for i in rng.integers(0, 12, 300)])
    plain = new.encode(tool, value, strength)
    np.testing.assert_array_equal(new.encode(tool, value, strength, bits), plain)
    assert not new.decode(plain)["preserve"].any()
    # the preserve digit is the least significant: (k // 12) of the preserve space is the old k
    with_p = A.FlatActions(4, preserve=True).encode(tool, value, strength, bits)
    np.testing.assert_array_equal(with_p // 12, plain)
    np.testing.assert_array_equal(A.flat_actions(tool, value, strength, 4, bits), with_p)
    np.testing.assert_array_equal(A.flat_actions(tool, value, strength, 4), plain)


def test_discrete_actions_carry_the_preserve_set():
    env = DiscreteActions(gym.make("ImageStyling-v0", image_size=32))
    assert env.action_space.n == 171 * 4 * 12 + 1
    for k in (0, 1, 6, 11, 12 * 40 + 9, env.stop_index - 1):
        call = env.action(np.int64(k))
        assert call.preserved_regions == A.PRESERVE_SETS[k % 12]
        assert env.index(call) == k
    both = ToolCall(
        "time_of_day",
        "night_moonlit",
        0.5,
        params={"preserve": ["sky"], "preserve_foreground": True},
    )
    assert env.index(both) % 12 == A.PRESERVE_SETS.index(("sky", "subject"))
    with pytest.raises(ValueError, match=r"preserve set \('sky', 'water'\)"):
        env.index(
            ToolCall("time_of_day", "night_moonlit", 0.5, params={"preserve": ["sky", "water"]})
        )


@pytest.mark.parametrize(
    ("bits", "match"),
    [
        (np.array([[1, 0, 0, 1, 0, 0]]), r"preserve set \('sky', 'water'\) \(action 0\)"),
        (
            np.ones((1, 6)),
            r"preserve set \('sky', 'ground', 'vegetation', 'water', 'buildings', 'subject'\)",
        ),
        (np.ones((1, 5)), r"preserve must have shape \(1, 6\)"),
        (np.array([[2, 0, 0, 0, 0, 0]]), "preserve bits must be 0 or 1"),
        (np.array([[0, 0, 0, 0, 0, -1]]), "preserve bits must be 0 or 1"),
        (torch.tensor([[0.5, 0, 0, 0, 0, 0]]), "preserve bits must be 0 or 1"),
    ],
)
def test_encode_names_a_preserve_set_without_a_flat_index(bits, match):
    flat = A.FlatActions(4, preserve=True)
    with pytest.raises(ValueError, match=match):
        flat.encode(np.array([0]), np.array([0]), np.array([0.5]), bits)


def test_preserve_bits_name_bad_regions():
    with pytest.raises(ValueError, match="cannot preserve 'all'"):
        A.preserve_bits(["all"])
    with pytest.raises(ValueError, match="preserve must be 6 bits"):
        A.preserve_names([1, 0])
    with pytest.raises(ValueError, match="must be 0 or 1"):
        A.preserve_names([2, 0, 0, 0, 0, 0])
    assert A.preserve_bitmask(A.preserve_bits(["sky", "subject"])) == 1 + 32
    np.testing.assert_array_equal(A.bitmask_bits(np.array([33, -1])), [[1, 0, 0, 0, 0, 1], [0] * 6])
    # background (everything but the subject) is the five other masks: they partition an image
    call = ToolCall("time_of_day", "night_moonlit", 0.5, params={"preserve": "background"})
    assert call.preserve_bits.tolist() == [1, 1, 1, 1, 1, 0]
    with pytest.raises(ValueError, match="must be True or False"):
        A.FlatActions(4, preserve="yes")
