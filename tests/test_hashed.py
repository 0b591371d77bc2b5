"""The sparse hashed-words layers: the same numbers, gradients and checkpoints as nn.Linear."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from agents.embedded.config import PlannerConfig
from agents.embedded.hashed import SparseTailLinear, hashed_words
from agents.embedded.model import EmbeddedPlanner, PlannerBatch


def _sparse_input(b: int, dense: int, tail: int, nnz: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.zeros(b, dense + tail)
    x[:, :dense] = torch.randn(b, dense, generator=g)
    for i in range(b):
        cols = torch.randperm(tail, generator=g)[: (i * 7) % (nnz + 1)]  # row 0: no words
        x[i, dense + cols] = torch.randn(len(cols), generator=g)
    return x


def test_hashed_words_by_hand():
    tail = torch.tensor([[0.0, 2.0, 0.0, -1.0], [0.0, 0.0, 0.0, 0.0], [5.0, 0.0, 0.0, 0.0]])
    index, value = hashed_words(tail)
    assert index.tolist() == [[1, 3], [0, 0], [0, 0]]
    assert value.tolist() == [[2.0, -1.0], [0.0, 0.0], [5.0, 0.0]]
    index, value = hashed_words(torch.zeros(3, 5))
    assert index.shape == (3, 1) and not value.any()
    with pytest.raises(ValueError, match=r"must be \(B, n\)"):
        hashed_words(torch.zeros(4))


@pytest.mark.parametrize("dense", [0, 12])
def test_sparse_tail_linear_is_nn_linear(dense):
    tail, out = 64, 9
    torch.manual_seed(3)
    sparse = SparseTailLinear(dense + tail, out, tail)
    torch.manual_seed(3)
    linear = nn.Linear(dense + tail, out)
    # nn.Linear's initialization, draw for draw, and its state_dict
    assert torch.equal(sparse.full_weight(), linear.weight) and torch.equal(
        sparse.bias, linear.bias
    )
    assert {k: v.shape for k, v in sparse.state_dict().items()} == {
        k: v.shape for k, v in linear.state_dict().items()
    }
    x = _sparse_input(6, dense, tail, nnz=10)
    y_sparse, y_linear = sparse(x), linear(x)
    torch.testing.assert_close(y_sparse, y_linear, rtol=1e-5, atol=1e-6)
    # the words found once and passed, scaled: as the dense layer on the scaled tail
    index, value = hashed_words(x[:, dense:])
    scaled = torch.cat([x[:, :dense], x[:, dense:] * 12.0], 1)
    torch.testing.assert_close(
        sparse(x[:, :dense], (index, value * 12.0)), linear(scaled), rtol=1e-5, atol=1e-5
    )
    # gradients of every weight, the zero tail columns included
    y_sparse.square().sum().backward()
    y_linear.square().sum().backward()
    if dense:
        torch.testing.assert_close(sparse.weight_dense.grad, linear.weight.grad[:, :dense])
    torch.testing.assert_close(sparse.weight_tail.grad, linear.weight.grad[:, dense:].t())
    torch.testing.assert_close(sparse.bias.grad, linear.bias.grad)


def test_sparse_tail_linear_checkpoints_are_nn_linears():
    linear = nn.Linear(20, 5)
    sparse = SparseTailLinear(20, 5, 16)
    sparse.load_state_dict(linear.state_dict())
    assert torch.equal(sparse.full_weight(), linear.weight)
    back = nn.Linear(20, 5)
    back.load_state_dict(sparse.state_dict())
    assert torch.equal(back.weight, linear.weight)
    with pytest.raises(RuntimeError, match=r"size mismatch for weight"):
        sparse.load_state_dict(nn.Linear(21, 5).state_dict())
    with pytest.raises(ValueError, match="expected 20 input columns, got 19"):
        sparse(torch.zeros(2, 19))
    with pytest.raises(ValueError, match="tail must be in"):
        SparseTailLinear(20, 5, 21)
    words = hashed_words(torch.zeros(2, 16))
    with pytest.raises(ValueError, match="x is needed"):
        sparse(None, words)  # the 4 dense columns are in x
    only_words = SparseTailLinear(16, 5, 16)  # a layer over the words alone needs no x
    assert torch.equal(only_words(None, words), only_words.bias.expand(2, 5))  # no words: b


def test_planner_reads_the_hashed_words_sparsely_and_as_before():
    """The planner's text projection and wide paths skip the zeros and compute what the dense
    layers computed: a planner rebuilt with plain nn.Linear layers from the same weights gives
    the same log-probabilities and gradients."""
    cfg = PlannerConfig(image_size=16, text_only=True, encoder="minilm+hash", hash_dim=256)
    torch.manual_seed(0)
    model = EmbeddedPlanner(cfg)
    assert isinstance(model.text[0], SparseTailLinear) and model.text[0].tail == 256
    assert isinstance(model.wide_value, SparseTailLinear)
    dense = EmbeddedPlanner(cfg)
    for name in ("wide_value", "wide_tool"):
        layer = getattr(model, name)
        setattr(dense, name, nn.Linear(layer.in_features, layer.out_features))
    dense.text[0] = nn.Linear(cfg.text_in, cfg.text_dim)
    dense.load_state_dict(model.state_dict())  # the same keys and shapes as nn.Linear's
    n = 8
    b = PlannerBatch(
        images=None,
        text=_sparse_input(n, 384, 256, nnz=20, seed=1),
        context=torch.zeros(n, 10, dtype=torch.long),
        history=torch.full((n, cfg.max_steps, 5), -1.0),
        steps_left=torch.full((n,), cfg.max_steps),
        tool=torch.arange(n) % 10,
        value=torch.zeros(n, dtype=torch.long),
        strength=torch.full((n,), 0.5),
        region=torch.zeros(n, dtype=torch.long),
        preserve=torch.zeros(n, 6),
    )
    for m in (model, dense):
        m.eval()
    a, _ = model.step_log_prob(b)
    c, _ = dense.step_log_prob(b)
    torch.testing.assert_close(a["nll"], c["nll"], rtol=1e-5, atol=1e-5)
    a["nll"].sum().backward()
    c["nll"].sum().backward()
    torch.testing.assert_close(
        model.text[0].weight_tail.grad.t(), dense.text[0].weight.grad[:, 384:], rtol=1e-4, atol=1e-6
    )


def test_d3rlpy_encoder_reads_the_hashed_words_sparsely_and_as_before():
    """d3rlpy's encoder (agents.d3rlpy_encoder): the same initialization, state_dict and
    features as the plain factory's, its vector layer a SparseTailLinear over the hashed words;
    the tail each instruction encoder gives."""
    from agents.d3rlpy_agents import encoder_spec, hashed_tail, make_config
    from agents.d3rlpy_encoder import HashedTupleEncoderFactory
    from offline_data.loaders import TupleEncoderFactory

    assert [hashed_tail(encoder_spec(e)) for e in ("hash", "minilm", "minilm+hash")] == [
        256,
        0,
        8192,
    ]
    cfg = make_config("bc", sparse_tail=8192)
    assert isinstance(cfg.encoder_factory, HashedTupleEncoderFactory)
    assert cfg.encoder_factory.sparse_tail == 8192
    shape = [(6, 16, 16), (40 + 64,)]
    kw = dict(feature_size=32, hidden_size=16, channels=(4, 8))
    torch.manual_seed(5)
    plain = TupleEncoderFactory(**kw).create_with_action(shape, 7, True)
    torch.manual_seed(5)
    hashed = HashedTupleEncoderFactory(**kw, sparse_tail=64).create_with_action(shape, 7, True)
    assert isinstance(hashed.trunk.mlp[0], SparseTailLinear)
    a, b = plain.state_dict(), hashed.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    image = torch.randint(0, 255, (5, 6, 16, 16), dtype=torch.uint8)
    vector = _sparse_input(5, 40, 64, nnz=8, seed=2)
    action = torch.arange(5)
    torch.testing.assert_close(
        hashed([image, vector], action), plain([image, vector], action), rtol=1e-5, atol=1e-6
    )
    with pytest.raises(ValueError, match="sparse_tail=200 but the observation vector has 104"):
        HashedTupleEncoderFactory(**kw, sparse_tail=200).create(shape)
    # without a vector (image observations alone) there is nothing to read sparsely
    assert not hasattr(
        HashedTupleEncoderFactory(**kw, sparse_tail=64).create([(6, 16, 16)]).trunk, "mlp"
    )


def test_prepared_rows_carry_their_hashed_words_and_train_as_before(small_datasets):
    """Training rows carry their hashed words, found once per instruction row
    (``PreparedData.sparse_words``): each minibatch's entries are the ones ``hashed_words``
    finds in its text, and a planner (hash dropout on) and a critic trained on them end with
    the same weights, to the bit, as when every minibatch finds them again."""
    from dataclasses import replace

    from agents.calllevel.iql import IQLConfig
    from agents.calllevel.training import fit_critic
    from agents.embedded.training import TrainConfig, prepare, train, with_rewordings

    cfg = PlannerConfig(image_size=32, encoder="hash", hash_dim=256, hash_dropout=0.3)
    d = with_rewordings(prepare(small_datasets["complex"], cfg), 1, cfg)
    assert d.hash_dim == 256
    index, value, count = d.sparse_words()
    ref_index, ref_value = hashed_words(d.text[:, -256:].float())
    assert torch.equal(index, ref_index) and torch.equal(value, ref_value)
    assert torch.equal(count, (d.text[:, -256:] != 0).sum(1))
    assert d.sparse_words()[0] is index  # found once
    idx = torch.tensor([3, 0, 7, 7, 1])
    dense = replace(d, hash_dim=0)
    b, full = (data.batch(idx, gen=torch.Generator().manual_seed(0)) for data in (d, dense))
    assert full.words is None
    words = hashed_words(full.text[:, -256:].float())
    assert torch.equal(b.words[0], words[0]) and torch.equal(b.words[1], words[1])
    assert torch.equal(b.text, full.text[:, :-256])  # the columns before the words only
    assert replace(d, text=d.text * 2).sparse_words()[1].abs().sum() == 2 * value.abs().sum()
    assert d.batch(idx, device="meta").words is None  # off the CPU the layers stay dense
    with pytest.raises(ValueError, match="no hashed words"):
        dense.sparse_words()
    other = EmbeddedPlanner(replace(cfg, encoder="minilm", hash_dropout=0.0, text_only=True))
    with pytest.raises(ValueError, match="holds its hashed words sparsely"):
        other.hashed_words(b)
    run = TrainConfig(steps=6, batch_size=16, rewordings=1)
    states = [
        train(data, method="rw", config=cfg, training=run, progress=False).planner.state_dict()
        for data in (d, dense)
    ]
    for k in states[0]:
        assert torch.equal(states[0][k], states[1][k]), k
    cl = IQLConfig(planner=replace(cfg, hash_dropout=0.0), critic_steps=5, critic_batch_size=16)
    critics = [fit_critic(data, cl)[0].state_dict() for data in (d, dense)]
    for k in critics[0]:
        assert torch.equal(critics[0][k], critics[1][k]), k
