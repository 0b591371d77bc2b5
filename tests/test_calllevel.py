"""Call-level offline RL (agents.calllevel): each loss pinned to d3rlpy's definition on
hand-computed tensors and to d3rlpy's own function, the hybrid critic, the diagnostics, the
registered methods end to end, and the named errors for bad input."""

from __future__ import annotations

import dataclasses
import json
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from agents.calllevel import losses as L
from agents.calllevel.critic import N_CALLS, STOP_CALL, CallCritic, call_index
from agents.embedded import PlannerConfig
from agents.embedded.config import CheckpointError
from styling_env.actions import STOP, VALUE_OFFSETS

# --------------------------------------------------------------------------------------------
# Losses: hand-computed numbers and d3rlpy's own functions


class _Forwarder:
    """Stands in for d3rlpy's Q-function forwarders: returns the given tensors in turn."""

    def __init__(self, *outputs: torch.Tensor) -> None:
        self.outputs = list(outputs)

    def compute_expected_q(self, *args, **kwargs) -> torch.Tensor:
        return self.outputs.pop(0)


def test_expectile_loss_by_hand_and_d3rlpy():
    from d3rlpy.algos.qlearning.torch.iql_impl import IQLImpl

    q = torch.tensor([1.0, 0.0, 2.0, -1.0])
    v = torch.tensor([0.0, 1.0, 2.0, 1.0])
    # u = q - v = [1, -1, 0, -2]; weights |0.7 - 1(u<0)| = [0.7, 0.3, 0.7, 0.3]
    expected = (0.7 * 1 + 0.3 * 1 + 0.0 + 0.3 * 4) / 4
    assert L.expectile_loss(q, v, 0.7).item() == pytest.approx(expected)
    fake = SimpleNamespace(
        _expectile=0.7,
        _targ_q_func_forwarder=_Forwarder(q.reshape(-1, 1)),
        _modules=SimpleNamespace(value_func=lambda obs: v.reshape(-1, 1)),
    )
    batch = SimpleNamespace(observations=torch.zeros(4, 1), actions=torch.zeros(4, 1))
    d3 = IQLImpl.compute_value_loss(fake, batch)
    assert L.expectile_loss(q, v, 0.7).item() == pytest.approx(d3.item())


def test_iql_weights_by_hand_and_d3rlpy():
    from d3rlpy.algos.qlearning.torch.iql_impl import IQLImpl

    q = torch.tensor([0.0, 1.0, 10.0])
    v = torch.zeros(3)
    w = L.iql_weights(q - v, 3.0, 100.0)
    assert w.tolist() == pytest.approx([1.0, math.exp(3.0), 100.0])
    fake = SimpleNamespace(
        _weight_temp=3.0, _max_weight=100.0,
        _targ_q_func_forwarder=_Forwarder(q.reshape(-1, 1)),
        _modules=SimpleNamespace(value_func=lambda obs: v.reshape(-1, 1)),
    )  # fmt: skip
    batch = SimpleNamespace(observations=torch.zeros(3, 1), actions=torch.zeros(3, 1))
    assert w.tolist() == pytest.approx(IQLImpl._compute_weight(fake, batch).reshape(-1).tolist())


def test_conservative_penalty_by_hand_and_d3rlpy():
    from d3rlpy.algos.qlearning.torch.cql_impl import DiscreteCQLImpl

    values = torch.tensor([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]])
    taken = torch.tensor([0, 2])
    lse1 = math.log(1 + math.exp(1) + math.exp(2)) + 1.0
    expected = ((math.log(3) - 0.0) + (lse1 - 3.0)) / 2
    assert L.conservative_penalty(values, taken).item() == pytest.approx(expected)
    fake = SimpleNamespace(action_size=3, _q_func_forwarder=_Forwarder(values))
    d3 = DiscreteCQLImpl._compute_conservative_loss(fake, torch.zeros(2, 1), taken)
    assert L.conservative_penalty(values, taken).item() == pytest.approx(d3.item())


def test_awac_weights_by_hand_and_d3rlpy():
    from d3rlpy.algos.qlearning.torch.awac_impl import AWACImpl
    from d3rlpy.models.torch import ActionOutput

    q = torch.tensor([0.0, math.log(3.0)])
    v = torch.zeros(2)
    w = L.awac_weights(q - v, 1.0)
    assert w.tolist() == pytest.approx([0.5, 1.5])  # 2 * softmax([0, log 3]) = 2 * [1/4, 3/4]
    mu = torch.zeros(2, 1)
    fake = SimpleNamespace(
        action_size=1, _lam=1.0, _n_action_samples=1,
        _q_func_forwarder=_Forwarder(q.reshape(-1, 1), v.reshape(-1, 1)),
        _modules=SimpleNamespace(policy=lambda obs: ActionOutput(mu, mu, torch.zeros(2, 1))),
    )  # fmt: skip
    d3 = AWACImpl._compute_weights(fake, torch.zeros(2, 1), torch.zeros(2, 1))
    assert w.tolist() == pytest.approx(d3.reshape(-1).tolist())
    assert L.awac_weights(torch.tensor([0.3, -1.0, 2.0]), 0.5).mean().item() == pytest.approx(1.0)


@pytest.mark.parametrize("huber", [False, True])
def test_td_loss_by_hand_and_d3rlpy(huber):
    from d3rlpy.models.torch.q_functions.utility import compute_huber_loss, compute_reduce

    r, nxt, done = (
        torch.tensor([1.0, 0.5, 0.0]),
        torch.tensor([2.0, 1.0, 4.0]),
        torch.tensor([0, 0, 1]),
    )
    y = L.td_target(r, nxt, done, 0.5)
    assert y.tolist() == pytest.approx([2.0, 1.0, 0.0])  # r + 0.5 * next, the terminal: r
    q1, q2 = torch.tensor([2.0, 3.0, -0.5]), torch.tensor([0.0, 1.0, 0.0])
    loss = L.td_loss([q1, q2], y, huber=huber)
    if huber:  # |d| < 1: d^2 / 2, else |d| - 1/2
        by_hand = ((0 + 1.5 + 0.125) / 3) + ((1.5 + 0 + 0) / 3)
        d3 = sum(compute_reduce(compute_huber_loss(q.reshape(-1, 1), y.reshape(-1, 1)), "mean") for q in (q1, q2))  # fmt: skip
    else:
        by_hand = ((0 + 4 + 0.25) / 3) + ((4 + 0 + 0) / 3)
        d3 = sum(nn.functional.mse_loss(q, y) for q in (q1, q2))
    assert loss.item() == pytest.approx(by_hand)
    assert loss.item() == pytest.approx(float(d3))


def test_soft_update_is_d3rlpys_soft_sync():
    from d3rlpy.torch_utility import soft_sync

    torch.manual_seed(0)
    online, a, b = nn.Linear(3, 2), nn.Linear(3, 2), nn.Linear(3, 2)
    b.load_state_dict(a.state_dict())
    L.soft_update(a, online, 0.005)
    soft_sync(b, online, 0.005)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.allclose(pa, pb)


# --------------------------------------------------------------------------------------------
# The hybrid critic


def _batch(n: int, tool, value, strength, region, *, hash_dim: int = 64, preserve=None):
    from agents.embedded.model import PlannerBatch

    preserve = torch.zeros(n, 6) if preserve is None else torch.as_tensor(preserve).float()
    return PlannerBatch(
        images=torch.randint(0, 255, (n, 6, 32, 32), dtype=torch.uint8),
        text=torch.randn(n, 384 + hash_dim),
        context=torch.zeros(n, 10, dtype=torch.int64),
        history=-torch.ones(n, 8, 5),
        steps_left=torch.full((n,), 8, dtype=torch.int64),
        tool=torch.as_tensor(tool), value=torch.as_tensor(value),
        strength=torch.as_tensor(strength, dtype=torch.float32), region=torch.as_tensor(region),
        preserve=preserve,
    )  # fmt: skip


def test_call_index_and_critic_shapes():
    k = call_index(torch.tensor([0, 3, STOP]), torch.tensor([2, 1, 0]))
    assert k.tolist() == [VALUE_OFFSETS[0] + 2, VALUE_OFFSETS[3] + 1, STOP_CALL]
    assert N_CALLS == 172
    torch.manual_seed(0)
    critic = CallCritic(
        PlannerConfig(image_size=32, encoder="minilm+hash", hash_dim=64), n_critics=2
    )
    b = _batch(3, [0, 3, STOP], [2, 1, 0], [0.5, 0.9, 0.0], [0, 1, 0])
    out = critic.q_values(b)
    assert len(out["q"]) == 2 and out["q"][0].shape == (3,)
    assert out["discrete"][0].shape == (3, N_CALLS) and out["v"].shape == (3,)
    # Q = D[k] + C with C <= 0 and C = 0 for STOP: D[k] bounds Q from above
    for q, d in zip(out["q"], out["discrete"], strict=True):
        dk = d.gather(1, out["k"].reshape(-1, 1)).reshape(-1)
        assert (q <= dk + 1e-6).all()
        assert q[2].item() == pytest.approx(dk[2].item())
    # the strength is an input: another strength, another Q (for a call, not for STOP)
    b2 = _batch(3, [0, 3, STOP], [2, 1, 0], [0.1, 0.2, 0.7], [0, 1, 0])
    b2.images, b2.text = b.images, b.text
    q2 = critic.q_values(b2)["q"][0]
    assert q2[2].item() == pytest.approx(out["q"][0][2].item())
    assert not torch.allclose(q2[:2], out["q"][0][:2])
    # so are the preserved regions: a call that keeps the sky is another action than one that
    # does not (an ignored constraint differs from the right call only there)
    b3 = _batch(3, [0, 3, STOP], [2, 1, 0], [0.5, 0.9, 0.0], [0, 1, 0], preserve=[[1, 0, 0, 0, 0, 0]] * 3)  # fmt: skip
    b3.images, b3.text = b.images, b.text
    q3 = critic.q_values(b3)["q"][0]
    assert q3[2].item() == pytest.approx(out["q"][0][2].item())
    assert not torch.allclose(q3[:2], out["q"][0][:2])
    with pytest.raises(ValueError, match="preserve"):
        critic.q_values(dataclasses.replace(b, preserve=None))


def test_a_version_1_critic_loads_blind_to_preserve(tmp_path):
    """A critic saved before the preserve bits were an input loads with zero weights on them:
    the same Q as the version-1 network for every action, whatever the bits."""
    from agents.calllevel.critic import load_critic

    torch.manual_seed(0)
    critic = CallCritic(PlannerConfig(image_size=32, encoder="minilm+hash", hash_dim=64))
    critic.save(tmp_path / "critic.pt")
    blob = torch.load(tmp_path / "critic.pt", weights_only=True)
    for i in range(critic.n_critics):  # what version 1 wrote: no columns for the bits
        blob["state_dict"][f"continuous.{i}.0.weight"] = blob["state_dict"][f"continuous.{i}.0.weight"][:, :-6]  # fmt: skip
    blob["version"] = 1
    torch.save(blob, tmp_path / "v1.pt")
    old = load_critic(tmp_path / "v1.pt")
    b = _batch(3, [0, 3, STOP], [2, 1, 0], [0.5, 0.9, 0.0], [0, 1, 0], preserve=[[1, 1, 0, 0, 0, 1]] * 3)  # fmt: skip
    with torch.no_grad():
        h = critic.encode(b)[0]  # what version 1's continuous heads read: no preserve bits
        x = torch.cat([h, critic.call_embed(call_index(b.tool, b.value)),
                       b.strength.reshape(-1, 1), torch.nn.functional.one_hot(b.region, 8).float()], 1)  # fmt: skip
        for i in range(critic.n_critics):
            first = critic.continuous[i][0]
            v1 = critic.continuous[i][2](torch.relu(x @ first.weight[:, :-6].T + first.bias))
            got = old.continuous_q(h, call_index(b.tool, b.value), b.strength, b.region, b.preserve)[i]  # fmt: skip
            want = -torch.nn.functional.softplus(v1.reshape(-1)) * (b.tool != STOP).float()
            assert torch.allclose(got, want, atol=1e-6)
    blob["version"] = 7
    torch.save(blob, tmp_path / "v7.pt")
    with pytest.raises(CheckpointError, match="critic version 7; this code reads versions 1 to 2"):
        load_critic(tmp_path / "v7.pt")


# --------------------------------------------------------------------------------------------
# Diagnostics


def test_diagnose_shares():
    from agents.calllevel.diagnostics import StepLabels, diagnose

    adv = torch.tensor([-1.0, 0.5, 0.2, -0.1, 0.3, -0.4])
    tags = ["sibling_value", "", "", "", "wrong_tool", "sibling_value"]
    zeros = torch.zeros(6, dtype=torch.int64)
    labels = StepLabels(
        tags, {"tool": zeros, "value": zeros, "strength": zeros.float(), "region": zeros}
    )
    d = diagnose(adv, labels)
    assert d["mistaken_calls"] == 3 and d["correct_calls"] == 3 and d["tags"] == "per-state"
    assert d["mistaken_negative"] == pytest.approx(2 / 3, abs=1e-4)  # -1.0, -0.4 (not 0.3)
    assert d["correct_positive"] == pytest.approx(2 / 3, abs=1e-4)  # 0.5, 0.2 (not -0.1)
    assert d["by_kind"]["sibling_value"] == {"calls": 2, "negative": 1.0}
    assert d["by_kind"]["wrong_tool"] == {"calls": 1, "negative": 0.0}


def test_order_mistakes_are_read_per_state():
    """The teacher tags every call of a reordered episode ``wrong_order``; per state only the
    calls that jump ahead of the oracle's next call are order mistakes, the others are the
    oracle's call from their state. Other tags are kept as stored."""
    from agents.calllevel.diagnostics import mistake_tags, oracle_calls
    from styling_env.tools import ToolCall

    plan = [ToolCall("season_cycle", "winter_bare", 0.6), ToolCall("time_of_day", "night_moonlit", 0.7),
            ToolCall("color_grading", "cool_blue", 0.5, params={"preserve": ("sky",)})]  # fmt: skip
    t = [c.tool_index for c in plan]

    def rec(tools, tags):
        return SimpleNamespace(id=0, actions={"tool": np.asarray(tools)}, infos={"mistake": tags + [""]},
                               meta={"oracle_plan": [c.to_dict() for c in plan]})  # fmt: skip

    swapped = rec([t[1], t[0], t[2], STOP], ["wrong_order"] * 3 + [""])  # [1, 0, 2]
    assert mistake_tags(swapped) == ["wrong_order", "", "", ""]
    assert [None if c is None else c.tool for c in oracle_calls(swapped)] == [
        "season_cycle", "season_cycle", "color_grading", None,
    ]  # fmt: skip
    # [1, 2, 0]: two calls jump ahead of the season; a sibling value keeps its own tag
    rotated = rec([t[1], t[2], t[0], STOP], ["wrong_order", "sibling_value", "wrong_order", ""])
    assert mistake_tags(rotated) == ["wrong_order", "sibling_value", "", ""]
    # an episode in the plan's order keeps its tags as they are
    assert mistake_tags(rec([t[0], t[1], STOP], ["", "bad_strength", ""])) == ["", "bad_strength", ""]  # fmt: skip
    assert mistake_tags(SimpleNamespace(actions={"tool": [0]}, infos={})) is None


def test_step_labels_read_the_steps_without_the_pictures(small_datasets):
    """``step_labels`` reads a dataset's actions, infos and metadata only
    (``offline_data.dataset.episode_steps``): the same records but for the observations, and
    the same labels as from whole episodes."""
    from agents.calllevel.diagnostics import step_labels
    from agents.embedded.training import prepare
    from offline_data import dataset as D

    ds = D.load(small_datasets["complex"])
    full, light = list(D.episodes(ds)), list(D.episode_steps(ds))
    assert [r.id for r in light] == [r.id for r in full] and all(
        r.observations == {} for r in light
    )
    for a, b in zip(full, light, strict=True):
        assert a.meta == b.meta and a.infos.keys() == b.infos.keys()
        assert all(np.array_equal(a.infos[k], b.infos[k]) for k in a.infos)
        for k in a.actions:
            np.testing.assert_array_equal(a.actions[k], b.actions[k])
        for k in ("rewards", "terminations", "truncations"):
            np.testing.assert_array_equal(getattr(a, k), getattr(b, k))
    assert [r.id for r in D.episode_steps(ds, [5, 2])] == [5, 2]
    d = prepare(
        small_datasets["complex"], PlannerConfig(image_size=32, text_only=True, encoder="hash")
    )
    by_id, by_records = step_labels(small_datasets["complex"], d), step_labels(full, d)
    assert by_id.mistake == by_records.mistake and len(by_id.mistake) == len(d)
    for k in by_id.oracle:
        assert torch.equal(by_id.oracle[k], by_records.oracle[k]), k


def test_diagnose_pairs_the_oracle_call_with_its_preserved_regions():
    """An ignored constraint is the oracle's call without its preserved regions: it makes a
    same-state pair, compared with the oracle's bits; a call equal to the oracle's in every part
    makes none."""
    from agents.calllevel.diagnostics import StepLabels, diagnose

    torch.manual_seed(0)
    critic = CallCritic(PlannerConfig(image_size=32, encoder="minilm+hash", hash_dim=64))
    keep = [[1, 0, 0, 0, 0, 0]]
    b = _batch(2, [0, 0], [2, 2], [0.5, 0.5], [0, 0], preserve=[[0] * 6, keep[0]])
    rows = SimpleNamespace(tool=b.tool, value=b.value, strength=b.strength, preserve=b.preserve)
    d = SimpleNamespace(rows=rows, batch=lambda idx, images=True: dataclasses.replace(
        b, **{f: getattr(b, f)[idx] for f in ("images", "text", "context", "history", "steps_left",
                                                "tool", "value", "strength", "region", "preserve")}))  # fmt: skip
    oracle = {"tool": b.tool, "value": b.value, "strength": b.strength, "region": b.region,
              "preserve": torch.tensor(keep * 2, dtype=torch.float32)}  # fmt: skip
    labels = StepLabels(["ignore_constraint", "ignore_constraint"], oracle)
    out = diagnose(torch.zeros(2), labels, target=critic, d=d)
    assert out["pairs"] == 1 and out["by_kind"]["ignore_constraint"]["pairs"] == 1
    with torch.no_grad():
        q = [torch.stack(critic.q_values(dataclasses.replace(b, preserve=p))["q"]).min(0).values[0]
             for p in (b.preserve[:1].repeat(2, 1), torch.tensor(keep * 2).float())]  # fmt: skip
    assert out["pair_ranking"] == float(q[0] < q[1])


# --------------------------------------------------------------------------------------------
# The registered methods, end to end


def _options(**extra):
    return {"critic_steps": 6, "training": {"steps": 4}, "planner": {"image_size": 32}, **extra}


def test_registered():
    from agents import registry

    for key, cfg in (("iql", "IQLConfig"), ("cql-planner", "CQLConfig"), ("awac", "AWACConfig")):
        m = registry.get(key)
        assert m.trainable and m.kind == "embedded" and m.checkpoint == "model.pt"
        assert type(m.make_config()).__name__ == cfg
    assert registry.get("cql").kind == "d3rlpy"  # d3rlpy's DiscreteCQL keeps its key


def test_defaults_written_down():
    from agents.calllevel import AWACConfig, CQLConfig, IQLConfig

    c = IQLConfig()
    assert (c.expectile, c.weight_temp, c.max_weight, c.gamma, c.tau, c.n_critics) == (0.7, 3.0, 100.0, 0.99, 0.005, 2)  # fmt: skip
    assert CQLConfig().alpha == 1.0 and AWACConfig().lam == 1.0
    assert IQLConfig.from_dict(c.to_dict()) == c
    with pytest.raises(ValueError, match="expectile"):
        IQLConfig(expectile=1.5)
    with pytest.raises(ValueError, match="unknown IQLConfig field"):
        IQLConfig.from_dict({"expectiles": 0.7})
    # a string was range-checked through float() and crashed inside the critic's loss
    for bad, match in ((dict(expectile="0.7"), "expectile must be a real number"),
                       (dict(gamma="x"), "gamma must be a real number"),
                       (dict(gamma=True), "gamma must be a real number")):  # fmt: skip
        with pytest.raises(TypeError, match=match):
            IQLConfig(**bad)
    with pytest.raises(ValueError, match=r"tau must be in \(0, 1\], got 0"):
        IQLConfig(tau=0)
    from agents.embedded.training import TrainConfig

    with pytest.raises(ValueError, match="counterfactual row does not have"):
        AWACConfig(training=TrainConfig(counterfactuals=2))  # a call has no advantage there


@pytest.mark.parametrize("key", ["iql", "cql-planner", "awac"])
def test_trains_saves_reloads_evaluates(small_datasets, tmp_path, key):
    from agents import registry
    from agents.evaluate import evaluate, load_agent

    m = registry.get(key)
    job = registry.TrainJob(
        m, m.make_config(_options()), seed=0, out=tmp_path / key,
        dataset=small_datasets["simple"], progress=False,
    )  # fmt: skip
    trained = m.train(job)
    info = trained.info
    assert job.checkpoint.is_file() and (tmp_path / key / "critic.pt").is_file()
    assert info["critic_steps"] == 6 and info["steps"] == 4
    diag = info["diagnostics"]
    assert (
        diag["mistaken_calls"] + diag["correct_calls"] == info["calls"]
        and diag["mistaken_calls"] > 0
    )
    assert 0.0 <= diag["mistaken_negative"] <= 1.0 and 0.0 <= diag["correct_positive"] <= 1.0
    # the pair ranking per mistake kind: its pairs weighted back give the overall share
    ranked = [v for v in diag["by_kind"].values() if v["pairs"]]
    assert ranked and sum(v["pairs"] for v in diag["by_kind"].values()) == diag["pairs"] > 0
    weighted = sum(v["pairs"] * v["pair_ranking"] for v in ranked) / diag["pairs"]
    assert weighted == pytest.approx(diag["pair_ranking"], abs=1e-3)
    assert json.loads((tmp_path / key / "diagnostics.json").read_text()) == diag
    # the training weight on mistaken calls: S's share is the mistaken calls' share
    share = diag["weight_on_mistaken"]
    assert share["s"] == pytest.approx(diag["mistaken_calls"] / info["calls"], abs=1e-4)
    assert all(0.0 <= share[k] <= 1.0 for k in ("method", "s", "rw") if share[k] is not None)
    assert set(share["by_kind"]) == set(diag["by_kind"])
    # the script measures the same shares from the saved critic
    from experiments import mistake_weight

    res = mistake_weight.measure(small_datasets["simple"], str(tmp_path / key / "critic.pt"))
    algo = {"iql": "IQL", "cql-planner": "CQL", "awac": "AWAC"}[key]
    assert res["weights"][algo]["share"] == pytest.approx(share["method"], abs=1e-4)
    assert [res["weights"][m]["share"] for m in ("S", "RL", "RW")] == [share[m] for m in ("s", "rl", "rw")]  # fmt: skip
    assert res["calls"] == info["calls"] and res["inside_r4"]["mistaken_calls"] >= 0
    st = res["strength"]
    assert 0 < st["calls"] <= diag["correct_calls"] and -1.0 <= st["spearman"] <= 1.0
    agent = load_agent(str(job.checkpoint))
    assert agent.planner.meta["method"] == key
    res = evaluate(agent, "simple", 2, (0,), image_size=32)
    assert len(res.episodes) == 2


def test_weight_on_mistakes_by_hand():
    import numpy as np

    from agents.calllevel.diagnostics import StepLabels, weight_on_mistakes

    # two trajectories: r = 4.5 (calls: correct, wrong order) and r = 2 (calls: wrong tool, correct)
    labels = StepLabels(["", "wrong_order", "wrong_tool", ""], {})
    r = np.array([4.5, 4.5, 2.0, 2.0])
    out = weight_on_mistakes(labels, r, np.array([1.0, 0.5, 0.25, 0.25]))
    # method: (0.5 + 0.25) / 2; S: 2 of 4 calls; RL and RW keep only the first trajectory
    assert (out["method"], out["s"], out["rl"], out["rw"]) == (0.375, 0.5, 0.5, 0.5)
    assert out["by_kind"] == {"wrong_order": {"method": 0.25, "rw": 0.5},
                              "wrong_tool": {"method": 0.125, "rw": 0.0}}  # fmt: skip
    assert weight_on_mistakes(labels, r, np.zeros(4))["method"] is None
    with pytest.raises(ValueError, match="4 labels, 3 weights and 4 qualities"):
        weight_on_mistakes(labels, r, np.ones(3))
    with pytest.raises(ValueError, match="finite and >= 0"):
        weight_on_mistakes(labels, r, np.array([1.0, -1.0, 0.0, 0.0]))


def test_iql_critic_separates_mistakes_with_a_budget(small_datasets, tmp_path):
    """With 150 updates on 24 episodes the critic gives most mistaken calls a negative advantage,
    below the correct calls' mean (a sanity check, not the 80% ranking target)."""
    from agents import registry

    m = registry.get("iql")
    job = registry.TrainJob(
        m, m.make_config({**_options(), "critic_steps": 150}), seed=0, out=tmp_path / "iql",
        dataset=small_datasets["simple"], progress=False,
    )  # fmt: skip
    diag = m.train(job).info["diagnostics"]
    assert diag["mean_advantage_mistaken"] < diag["mean_advantage_correct"]
    assert diag["mistaken_negative"] >= 0.5, diag


# --------------------------------------------------------------------------------------------
# Bad input: named errors before any training


def test_unsupported_policy():
    from agents import registry
    from agents.calllevel import IQLConfig, UnsupportedPolicyError

    with pytest.raises(UnsupportedPolicyError, match="'endpoint' is not supported.*no weights"):
        IQLConfig(policy="endpoint")
    with pytest.raises(UnsupportedPolicyError, match="qwen3vl"):
        registry.get("cql-planner").make_config({"policy": "qwen3vl"})


def test_dataset_without_rewards(small_datasets, tmp_path, monkeypatch):
    from dataclasses import replace

    from agents import registry
    from agents.calllevel import MissingRewardsError
    from agents.calllevel import method as M
    from agents.calllevel import training as T

    real = M._prepared

    def zeroed(job, config):
        d = real(job, config)
        d.rows = replace(d.rows, reward=torch.zeros_like(d.rows.reward))
        return d

    def never(*a, **k):
        raise AssertionError("training started")

    monkeypatch.setattr(M, "_prepared", zeroed)
    monkeypatch.setattr(M, "fit_critic", never)
    monkeypatch.setattr(T, "fit_critic", never)
    m = registry.get("iql")
    job = registry.TrainJob(m, m.make_config(_options()), 0, tmp_path / "z", dataset=small_datasets["simple"], progress=False)  # fmt: skip
    with pytest.raises(MissingRewardsError, match="every per-step reward of the dataset is 0"):
        m.train(job)
    assert not job.checkpoint.exists()


def test_critic_of_another_dataset(small_datasets, tmp_path, monkeypatch):
    from agents import registry
    from agents.calllevel import CriticMismatchError
    from agents.calllevel import method as M

    m = registry.get("iql")
    first = registry.TrainJob(m, m.make_config(_options()), 0, tmp_path / "a", dataset=small_datasets["simple"], progress=False)  # fmt: skip
    m.train(first)
    critic = str(tmp_path / "a" / "critic.pt")

    def never(*a, **k):
        raise AssertionError("data loaded or training started")

    with monkeypatch.context() as mp:
        mp.setattr(M, "_prepared", never)
        other = registry.TrainJob(m, m.make_config(_options(critic=critic)), 0, tmp_path / "b", dataset=small_datasets["regular"], progress=False)  # fmt: skip
        with pytest.raises(
            CriticMismatchError, match="fitted on dataset 'image-styling/simple-v0'"
        ):
            m.train(other)
        subset = registry.TrainJob(m, m.make_config(_options(critic=critic)), 0, tmp_path / "c", dataset=small_datasets["simple"], episodes=10, progress=False)  # fmt: skip
        with pytest.raises(CriticMismatchError):
            m.train(subset)
    same = registry.TrainJob(m, m.make_config(_options(critic=critic)), 0, tmp_path / "d", dataset=small_datasets["simple"], progress=False)  # fmt: skip
    info = m.train(same).info
    assert info["critic"] == critic and "critic_steps" not in info


def test_mistake_weight_script(small_datasets, tmp_path, capsys):
    """From the data alone: S's share is the mistaken calls' share; a critic of another dataset,
    a dataset without mistake tags and a bad --episodes are named errors."""
    from agents import registry
    from experiments import mistake_weight
    from offline_data import dataset as D

    assert mistake_weight.main([small_datasets["simple"], "--json", str(tmp_path / "w.json")]) == 0
    out = capsys.readouterr().out
    res = json.loads((tmp_path / "w.json").read_text())
    assert set(res["weights"]) == {"S", "RL", "RW"}
    assert res["weights"]["S"]["share"] == pytest.approx(res["mistaken_calls"] / res["calls"], abs=1e-4)  # fmt: skip
    assert res["weights"]["RW"]["kept"] < 1.0 and "| RW |" in out and "wrong tool" in out
    e = res["episodes_r4"]
    assert e["clean"] + e["with_mistake"] == sum(  # the episodes RL keeps
        1 for rec in D.episodes(D.load(small_datasets["simple"])) if rec.meta["r"] >= 4
    )
    assert "Trajectories with r >= 4:" in out
    m = registry.get("awac")
    job = registry.TrainJob(m, m.make_config(_options()), 0, tmp_path / "a", dataset=small_datasets["simple"], progress=False)  # fmt: skip
    m.train(job)
    critic = str(tmp_path / "a" / "critic.pt")
    # a saved critic re-diagnosed: the run's own diagnostics, the same-state pairs included
    assert mistake_weight.main([small_datasets["simple"], "--critic", critic, "--json", str(tmp_path / "c.json")]) == 0  # fmt: skip
    run = json.loads((tmp_path / "a" / "diagnostics.json").read_text())
    again = json.loads((tmp_path / "c.json").read_text())["critic"]
    assert {k: again[k] for k in ("pairs", "pair_ranking", "mistaken_negative")} == {k: run[k] for k in ("pairs", "pair_ranking", "mistaken_negative")}  # fmt: skip
    assert "Same state: the oracle's call above the mistaken one in" in capsys.readouterr().out
    assert mistake_weight.main([small_datasets["regular"], "--critic", critic]) == 2
    assert "fitted on dataset 'image-styling/simple-v0'" in capsys.readouterr().err
    from agents.calllevel import load_critic

    bare = load_critic(critic)  # a critic whose run recorded no config: named, not a KeyError
    bare.meta = {k: v for k, v in bare.meta.items() if k != "config"}
    bare.save(tmp_path / "bare" / "critic.pt")
    assert mistake_weight.main([small_datasets["simple"], "--critic", str(tmp_path / "bare" / "critic.pt")]) == 2  # fmt: skip
    assert "records no config of its run" in capsys.readouterr().err
    assert mistake_weight.main([small_datasets["simple"], "--episodes", "999"]) == 2
    assert "holds 24 episodes" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        mistake_weight.main([small_datasets["simple"], "--episodes", "0"])
    untagged = SimpleNamespace(id=3, actions={"tool": [0, 1]}, infos={}, meta={"r": 4.0})
    with pytest.raises(ValueError, match="episode 3 carries no mistake tags"):
        mistake_weight._tags([untagged])


def test_strength_rank_by_hand():
    """A critic whose advantage falls as the strength leaves the solved one ranks at -1; a
    mistaken call or another call than the oracle's is left out."""
    from agents.calllevel.diagnostics import StepLabels
    from experiments.mistake_weight import _strength_rank

    strength = torch.tensor([0.5, 0.55, 0.6, 0.7, 0.9, 0.5, 0.5])
    rows = SimpleNamespace(tool=torch.tensor([1, 1, 1, 1, 1, 1, 2]), value=torch.zeros(7, dtype=torch.long), strength=strength)  # fmt: skip
    oracle = {"tool": torch.ones(7, dtype=torch.long), "value": torch.zeros(7, dtype=torch.long), "strength": torch.full((7,), 0.5)}  # fmt: skip
    labels = StepLabels(["", "", "", "", "", "bad_strength", ""], oracle)
    adv = np.array([5.0, 4.0, 3.0, 2.0, 1.0, 9.0, 9.0])
    out = _strength_rank(adv, labels, SimpleNamespace(rows=rows))
    assert out["calls"] == 5 and out["spearman"] == pytest.approx(-1.0)
    assert (
        out["mean_advantage_nearest_quarter"] == 4.5
        and out["mean_advantage_farthest_quarter"] == 1.5
    )
    assert _strength_rank(adv[:3], StepLabels([""] * 3, {k: v[:3] for k, v in oracle.items()}), SimpleNamespace(rows=SimpleNamespace(tool=rows.tool[:3], value=rows.value[:3], strength=strength[:3]))) == {"calls": 3}  # fmt: skip


def test_report_diagnostics_table(tmp_path):
    from experiments.report import diagnostics_table

    cells = [{"study": "main", "tier": "simple", "method": "iql", "seed": s} for s in (0, 1)] + [
        {"study": "main", "tier": "simple", "method": "rw", "seed": 0}
    ]
    # seed 1's diagnostics rank per kind (seed 0's predate that): wrong orders worst
    by_kind = {
        "wrong_order": {"calls": 5, "negative": 0.4, "pairs": 4, "pair_ranking": 0.5},
        "bad_strength": {"calls": 7, "negative": 0.6, "pairs": 6, "pair_ranking": 0.8333},
    }
    for s, (neg, pos, rank) in enumerate(((0.8, 0.6, 0.9), (0.6, 0.4, 0.7))):
        folder = tmp_path / "cells" / "main" / "simple" / "iql" / f"seed{s}"
        folder.mkdir(parents=True)
        d = {"mistaken_calls": 12, "mistaken_negative": neg, "correct_positive": pos, "pair_ranking": rank}  # fmt: skip
        if s == 1:
            d["by_kind"] = by_kind
            d["weight_on_mistaken"] = {"method": 0.051, "s": 0.2, "rl": 0.04, "rw": 0.0312}
        (folder / "diagnostics.json").write_text(json.dumps(d))
    table = diagnostics_table({"cells": cells}, tmp_path)
    lines = table.strip().splitlines()
    assert len(lines) == 3  # header, rule, one row: RW has no critic
    assert [c.strip() for c in lines[2].strip("|").split("|")] == [
        "simple", "IQL (call-level)", "2", "12 (tags as stored)", "70%", "50%", "80%",
        "wrong order: 50% of 4 pairs", "5.1% / 3.1% / 20.0%",
    ]  # fmt: skip
    # diagnostics that read the tags per state (every run of this release) carry no marker
    for s in (0, 1):
        path = tmp_path / "cells" / "main" / "simple" / "iql" / f"seed{s}" / "diagnostics.json"
        path.write_text(json.dumps({**json.loads(path.read_text()), "tags": "per-state"}))
    row = diagnostics_table({"cells": cells}, tmp_path).strip().splitlines()[2]
    assert [c.strip() for c in row.strip("|").split("|")][3] == "12"
    assert diagnostics_table({"cells": cells[2:]}, tmp_path) == ""


def test_critic_reads_no_pixels_by_default(small_datasets, tmp_path):
    """The default critic has no CNN and is fitted and scored from batches without images;
    ``critic_images=True`` gives it the planner's CNN; a reused critic must read the same
    inputs (a pixel critic for a run that asks for none is refused by name)."""
    from agents import registry
    from agents.calllevel import AWACConfig, CriticMismatchError

    assert AWACConfig().critic_planner().text_only
    assert not AWACConfig(critic_images=True).critic_planner().text_only
    with pytest.raises(ValueError, match="critic_images must be True or False"):
        AWACConfig(critic_images="yes")
    m = registry.get("awac")
    runs = {}
    for images in (False, True):
        out = tmp_path / f"images{images}"
        job = registry.TrainJob(m, m.make_config(_options(critic_images=images)), 0, out, dataset=small_datasets["simple"], progress=False)  # fmt: skip
        trained = m.train(job)
        assert not trained.agent.planner.config.text_only  # the policy still sees the image
        runs[images] = torch.load(out / "critic.pt", weights_only=True)
    assert not any(k.startswith("encoder.cnn") for k in runs[False]["state_dict"])
    assert any(k.startswith("encoder.cnn") for k in runs[True]["state_dict"])
    pixel_critic = str(tmp_path / "imagesTrue" / "critic.pt")
    job = registry.TrainJob(m, m.make_config(_options(critic=pixel_critic)), 0, tmp_path / "r", dataset=small_datasets["simple"], progress=False)  # fmt: skip
    with pytest.raises(CriticMismatchError, match="text_only False vs True"):
        m.train(job)


def test_pixel_statistics_reach_the_policy_not_a_pixel_free_critic(small_datasets, tmp_path):
    """``planner.pixel_stats``: the extracted policy reads the pixel statistics (measured once,
    standardized over its training rows); the default critic reads no pixels, so none of them
    either; a critic with images reads them too."""
    from agents import registry
    from agents.calllevel import AWACConfig

    cfg = AWACConfig(planner=PlannerConfig(pixel_stats=True))
    assert not cfg.critic_planner().pixel_stats and cfg.critic_planner().text_only
    assert cfg.replace(critic_images=True).critic_planner().pixel_stats
    m = registry.get("awac")
    for images in (False, True):
        options = _options(critic_images=images)
        options["planner"] = {"image_size": 32, "pixel_stats": True}
        out = tmp_path / f"images{images}"
        job = registry.TrainJob(m, m.make_config(options), 0, out, dataset=small_datasets["simple"], progress=False)  # fmt: skip
        planner = m.train(job).agent.planner
        assert planner.config.pixel_stats and float(planner.pixel_norm.count) > 0
        critic = torch.load(out / "critic.pt", weights_only=True)["state_dict"]
        assert any(k.startswith("encoder.pixel.") for k in critic) == images


def test_trajectory_weights_multiply_the_calls(small_datasets, tmp_path, monkeypatch):
    """``trajectory="rw"``: the extraction draws only calls of trajectories with r > 3 (RW's
    weight max(r - 3, 0) is 0 for the others), one epoch over exactly those; an unknown kind,
    or data where every trajectory weight is 0, is a named error."""
    from dataclasses import replace

    from agents import registry
    from agents.calllevel import AWACConfig
    from agents.calllevel import training as T
    from agents.calllevel.method import critic_stage
    from agents.embedded.training import PreparedData

    with pytest.raises(ValueError, match="trajectory must be one of s, rl, rw"):
        AWACConfig(trajectory="sw")
    m = registry.get("awac")
    cfg = m.make_config(_options(trajectory="rw", training={"epochs": 1, "batch_size": 8}))
    job = registry.TrainJob(m, cfg, 0, tmp_path / "rw", dataset=small_datasets["simple"], progress=False)  # fmt: skip
    d, adv, _ = critic_stage(job, cfg)
    good = d.rows.r > 3.0
    assert 0 < int(good.sum()) < len(d)  # the test data has trajectories on both sides of r = 3
    drawn = []
    real = PreparedData.batch

    def spy(self, index, **kw):
        drawn.append(torch.as_tensor(index).clone())
        return real(self, index, **kw)

    monkeypatch.setattr(PreparedData, "batch", spy)
    _, stats = T.extract_policy(d, adv, cfg)
    seen = torch.cat(drawn)
    assert stats["samples"] == int(good.sum()) and bool(good[seen].all())
    assert sorted(seen.tolist()) == torch.nonzero(good).reshape(-1).tolist()
    low = replace(d, rows=replace(d.rows, r=torch.full_like(d.rows.r, 2.0)))
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="every RW trajectory weight is 0"):  # fmt: skip
        T.extract_policy(low, adv, cfg)


def test_text_only_variant(small_datasets, tmp_path):
    from agents import registry

    m = registry.get("awac-text")
    job = registry.TrainJob(m, m.make_config(_options()), 0, tmp_path / "t", dataset=small_datasets["simple"], progress=False)  # fmt: skip
    trained = m.train(job)
    assert trained.agent.planner.config.text_only
    assert trained.info["diagnostics"]["mistaken_calls"] > 0
