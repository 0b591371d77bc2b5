"""The five methods' per-sample weights, the weighted loss, DPO pairs and loss."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

from offline_data.weights import (
    METHODS,
    DPOPairs,
    dpo_loss,
    dpo_pairs,
    sample_weights,
    weighted_loss,
)

R = [4.5, 4.0, 3.5, 2.0]


def test_paper_weights_by_hand():
    assert METHODS == ("s", "rl", "rw", "sw", "dpo")
    assert sample_weights("s", R).tolist() == [1.0, 1.0, 1.0, 1.0]
    assert sample_weights("rl", R).tolist() == [1.0, 1.0, 0.0, 0.0]  # r >= 4.0 kept
    assert sample_weights("rw", R).tolist() == [1.5, 1.0, 0.5, 0.0]  # max(r - 3, 0)
    assert sample_weights("dpo", R).tolist() == [1.0, 1.0, 1.0, 1.0]
    # SW: mean 3.5, deviations (1, 0.5, 0, -1.5), population variance 3.5 / 4 = 0.875
    s = math.sqrt(0.875)
    np.testing.assert_allclose(sample_weights("sw", R), [1 / s, 0.5 / s, 0.0, -1.5 / s], atol=1e-12)
    np.testing.assert_allclose(sample_weights("sw", R).sum(), 0.0, atol=1e-12)
    assert sample_weights("SW", R).shape == (4,)  # case-insensitive
    assert sample_weights("rw", [3.0, 5.0]).tolist() == [0.0, 2.0]


def test_sw_per_group():
    r = [4.0, 2.0, 5.0, 3.0, 1.0, 4.2, 3.0, 3.0]
    g = ["a", "a", "b", "b", "b", "c", "d", "d"]
    w = sample_weights("sw", r, groups=g)
    sb = math.sqrt(8 / 3)  # group b: mean 3, deviations (2, 0, -2)
    # a: mean 3, std 1; c: a single trajectory -> 0; d: equal r (std 0) -> 0
    np.testing.assert_allclose(w, [1.0, -1.0, 2 / sb, 0.0, -2 / sb, 0.0, 0.0, 0.0], atol=1e-12)
    # groups only matter to SW
    assert sample_weights("rw", r, groups=g).tolist() == sample_weights("rw", r).tolist()
    assert sample_weights("sw", [3.0, 3.0]).tolist() == [0.0, 0.0]
    assert sample_weights("sw", [4.0]).tolist() == [0.0]
    with pytest.raises(ValueError, match="groups has 1 entries"):
        sample_weights("sw", r, groups=["a"])


def test_sample_weights_errors_and_warnings():
    with pytest.raises(ValueError, match="unknown method 'ppo'"):
        sample_weights("ppo", R)
    with pytest.raises(ValueError, match=r"\[0, 5\]"):
        sample_weights("s", [5.5])
    with pytest.raises(ValueError, match="NaN"):
        sample_weights("rw", [float("nan")])
    with pytest.raises(ValueError, match="1-d"):
        sample_weights("rw", [[4.0]])
    with pytest.warns(UserWarning, match="every RL weight is 0"):
        assert sample_weights("rl", [3.9, 2.0]).tolist() == [0.0, 0.0]
    with pytest.warns(UserWarning, match="every RW weight is 0"):
        sample_weights("rw", [3.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert sample_weights("rl", []).size == 0


def test_weighted_loss_normalizations():
    losses = torch.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    # S / RL / RW: sum(l w) / (sum(w) + eps), the paper's formula
    out = weighted_loss(losses, [1.0, 1.0, 0.0, 0.0], "rl")
    assert out.item() == pytest.approx(1.5)
    out = weighted_loss(losses, torch.tensor([1.5, 1.0, 0.5, 0.0]), "rw")
    assert out.item() == pytest.approx((1.5 + 2.0 + 1.5) / 3.0)
    assert weighted_loss(losses, [1, 1, 1, 1], "s").item() == pytest.approx(2.5)
    # SW: sum(l w) = 1 - 2 + 1.5 - 2 = -1.5; sum(w) = 0, sum(|w|) = 3
    w = np.array([1.0, -1.0, 0.5, -0.5])
    assert weighted_loss(losses, w, "sw").item() == pytest.approx(-0.5)
    literal = weighted_loss(losses, w, "sw", normalize="sum", eps=1e-8).item()
    assert literal == pytest.approx(-1.5e8, rel=1e-3)  # the released formula explodes
    assert weighted_loss(losses, w, "sw", normalize="mean").item() == pytest.approx(-1.5 / 4)
    # clipping negative weights at -0.25: w = (1, -0.25, 0.5, -0.25), sum(l w) = 1.0, sum|w| = 2
    assert weighted_loss(losses, w, "sw", clip_negative=-0.25).item() == pytest.approx(0.5)
    # gradients are the weights over the normalizer
    weighted_loss(losses, w, "sw").backward()
    np.testing.assert_allclose(losses.grad.numpy(), w / 3.0, rtol=1e-6)


def test_weighted_loss_all_zero_and_errors():
    losses = torch.tensor([1.0, 2.0], requires_grad=True)
    out = weighted_loss(losses, [0.0, 0.0], "rl")
    assert out.item() == 0.0
    out.backward()
    assert losses.grad.tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="negative weights are SW's"):
        weighted_loss(losses, [1.0, -1.0], "rw")
    with pytest.raises(ValueError, match="dpo_loss"):
        weighted_loss(losses, [1.0, 1.0], "dpo")
    with pytest.raises(ValueError, match="normalize"):
        weighted_loss(losses, [1.0, 1.0], "sw", normalize="max")
    with pytest.raises(ValueError, match=r"\(B,\)"):
        weighted_loss(losses, [1.0], "s")
    with pytest.raises(ValueError, match="clip_negative"):
        weighted_loss(losses, [1.0, 1.0], "sw", clip_negative=0.5)


def test_dpo_pairs_by_hand():
    r = [4.5, 3.0, 4.2, 2.0, 3.4, 4.0, 3.5, 2.5]
    tasks = ["A", "A", "B", "B", "C", "C", "D", "E"]
    p = dpo_pairs(r, tasks, rng=0)
    assert isinstance(p, DPOPairs)
    # chosen: 0 (A), 2 (B), 5 (C); rejected (2.5 <= r <= 3.5, inclusive): 1 (A), 4 (C), 6, 7
    assert p.chosen.tolist() == [0, 2, 5]
    got = dict(p.pairs)
    assert got[0] == 1 and got[5] == 4  # same task where the data allows
    assert got[2] in (1, 4, 6, 7)  # B has no rejected trajectory (3 has r = 2.0): any one
    assert p.same_task.tolist() == [True, False, True]
    assert list(p) == p.pairs and len(p) == 3
    # without the fallback, B's chosen trajectory stays unpaired
    assert dpo_pairs(r, tasks, fallback=False).pairs == [(0, 1), (5, 4)]
    # several rejected per chosen: the same task first, then others, no repeats
    two = dpo_pairs(r, tasks, max_pairs_per_chosen=2, rng=1)
    by = {}
    for c, j in two:
        by.setdefault(c, []).append(j)
    assert by[0][0] == 1 and len(set(by[0])) == 2 and len(by[0]) == 2
    # groups: a level between the same task and anything
    g = ["x", "x", "y", "y", "x", "x", "y", "z"]
    pg = dpo_pairs(r, tasks, groups=g, rng=0)
    assert dict(pg.pairs)[2] == 6 and pg.same_group.tolist() == [True, True, True]
    assert pg.same_task.tolist() == [True, False, True]


def test_dpo_pairs_random_data_deterministic():
    rng = np.random.default_rng(3)
    r = np.round(rng.uniform(1.0, 5.0, 300), 2)
    tasks = rng.integers(0, 40, 300).tolist()
    a = dpo_pairs(r, tasks, rng=7)
    b = dpo_pairs(r, tasks, rng=np.random.default_rng(7))
    assert a.pairs == b.pairs and len(a) == int((r >= 4.0).sum())
    assert dpo_pairs(r, tasks).pairs == dpo_pairs(r, tasks).pairs  # rng=None is seed 0
    for (c, j), same in zip(a.pairs, a.same_task, strict=True):
        assert r[c] >= 4.0 and 2.5 <= r[j] <= 3.5
        assert same == (tasks[c] == tasks[j])
        has_same = any(tasks[k] == tasks[c] and 2.5 <= r[k] <= 3.5 for k in range(300))
        assert same == has_same
    with pytest.raises(ValueError, match="rejected_range"):
        dpo_pairs(r, tasks, rejected_range=(3.5, 4.5))
    with pytest.raises(ValueError, match="task_ids has 2 entries"):
        dpo_pairs(r, [0, 1])
    with pytest.raises(ValueError, match="max_pairs_per_chosen"):
        dpo_pairs(r, tasks, max_pairs_per_chosen=0)


def test_dpo_loss_by_hand():
    pc = torch.tensor([-1.0, -2.0], requires_grad=True)
    pr = torch.tensor([-3.0, -1.0], requires_grad=True)
    rc = torch.tensor([-1.5, -2.0])
    rr = torch.tensor([-2.0, -1.5])
    out = dpo_loss(pc, pr, rc, rr, beta=0.1)
    # logits = 0.1 * ((pc - rc) - (pr - rr)) = 0.1 * (0.5 + 1.0), 0.1 * (0.0 - 0.5)
    x = [0.15, -0.05]
    want = sum(math.log1p(math.exp(-v)) for v in x) / 2
    assert out.loss.item() == pytest.approx(want, rel=1e-6)
    np.testing.assert_allclose(out.margin.numpy(), x, rtol=1e-5)
    np.testing.assert_allclose(out.chosen_reward.numpy(), [0.05, 0.0], atol=1e-7)
    np.testing.assert_allclose(out.rejected_reward.numpy(), [-0.1, 0.05], atol=1e-7)
    assert out.accuracy.tolist() == [1.0, 0.0]
    out.loss.backward()
    assert pc.grad is not None and pr.grad is not None
    same = dpo_loss(rc, rr, rc, rr)
    assert same.loss.item() == pytest.approx(math.log(2.0))
    with pytest.raises(ValueError, match="one shape"):
        dpo_loss(pc, pr[:1], rc, rr)


def test_weight_argument_errors_name_the_argument():
    from offline_data.weights import dpo_pairs

    with pytest.raises(ValueError, match="normalize must be one of abs, sum, mean, got 'max'"):
        weighted_loss(torch.zeros(2), [1.0, 1.0], "sw", normalize="max")
    with pytest.raises(ValueError, match="max_pairs_per_chosen must be a positive int, got 0"):
        dpo_pairs([4.5, 1.0], ["a", "a"], max_pairs_per_chosen=0)
