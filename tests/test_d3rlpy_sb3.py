"""d3rlpy's discrete offline algorithms and the stable-baselines3 online reference,
scaled down: 32 px, the small generated datasets, a few hundred updates, PPO for 128 steps."""

from __future__ import annotations

import json

import numpy as np
import pytest

from agents.d3rlpy_agents import (
    PROGRESS_LOSS,
    D3rlpyAgent,
    train_d3rlpy,
    truncation_rate,
)
from agents.evaluate import evaluate

FAST = {"batch_size": 32}


def _same_actions(a, b) -> bool:
    """Equal batched actions: flat indices, or native dicts (DiscreteBC's default)."""
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    return np.array_equal(a, b)


def _vector_obs(n: int = 4, size: int = 32, seed: int = 0):
    from styling_env.vector import ImageStylingVectorEnv

    env = ImageStylingVectorEnv(n, tier="simple", image_size=size)
    try:
        obs, _ = env.reset(seed=seed)
    finally:
        env.close()
    return obs


@pytest.mark.parametrize("algo", ["cql", "bcq", "bc"])
def test_each_algorithm_learns_and_writes_no_logs(algo, small_datasets, tmp_path, monkeypatch):
    import d3rlpy

    from agents.d3rlpy_agents import D3RLPY_ALGOS

    monkeypatch.chdir(tmp_path)
    # 100 updates teach BC and CQL enough; BCQ's greedy action, gated by its imitation model,
    # still stops at once everywhere after 100 (the support check below needs a tool call)
    steps = 200 if algo == "bcq" else 100
    log = tmp_path / "log.jsonl"
    agent = train_d3rlpy(
        algo, small_datasets["simple"], steps=steps, n_steps_per_epoch=steps // 10,
        config={"batch_size": 64}, progress=False, log_path=log,
    )  # fmt: skip
    assert isinstance(agent.algo, D3RLPY_ALGOS[algo])
    tr = agent.training
    assert tr["steps"] == steps and len(tr["losses"]) == 10 and tr["batch_size"] == 64
    assert tr["samples_per_s"] == pytest.approx(tr["updates_per_s"] * 64)
    # the loss that says whether it learns: BC/BCQ's imitation cross-entropy (from ~ln 685),
    # CQL's conservative term (logsumexp Q - Q(data action)); after 100 updates the last logged
    # value is 0.32-0.52 of the first (0.11-0.39 after 200)
    key = PROGRESS_LOSS[algo]
    first, last = tr["losses"][0][key], tr["losses"][-1][key]
    assert (tr["first_loss"], tr["last_loss"]) == (first, last)
    assert last < 0.7 * first, (algo, [round(r[key], 3) for r in tr["losses"]])
    assert len(log.read_text().splitlines()) == 10
    assert not (tmp_path / "d3rlpy_logs").exists()
    assert agent.dataset["id"] == small_datasets["simple"] and agent.dataset["checksum"]
    assert agent.action_space.n == 171 * 4 + 1 and agent.observation_mode == "image"
    assert d3rlpy.__version__.startswith("2.8")
    _check_support_decoding(agent)


def _check_support_decoding(agent) -> None:
    """Greedy actions stay within the data's support: a tool the episode called is not chosen
    again (agents.support); the recomputed Q-learner scores give d3rlpy's own argmax."""
    from agents.d3rlpy_policy import greedy_scores

    def tools_of(act):
        return np.asarray(
            act["tool"] if isinstance(act, dict) else agent.flat_actions.decode(act)["tool"]
        )

    obs = _vector_obs(n=6)
    if agent.algo_key != "bc":
        x = agent.observation(obs)
        np.testing.assert_array_equal(greedy_scores(agent.algo, x).argmax(1), agent.algo.predict(x))
    tools = tools_of(agent.predict(obs)[0])
    calls = np.flatnonzero(tools < 10)
    assert calls.size, "the greedy first action called no tool in any episode"
    hist = np.array(obs["history"], copy=True)  # each episode has called that tool already
    hist[calls, 0, 0] = tools[calls]
    hist[calls, 0, 1:] = 0
    again = tools_of(agent.predict(dict(obs, history=hist))[0])
    assert not np.any(again[calls] == tools[calls])
    assert agent.decoding == "no-repeat-tools"
    agent.repeat_tools = True
    assert agent.decoding is None


def test_agent_evaluates_saves_and_loads(small_datasets, tmp_path):
    agent = train_d3rlpy(
        "cql", small_datasets["simple"], steps=30, n_steps_per_epoch=10, config=FAST,
        progress=False, seed=3,
    )  # fmt: skip
    res = evaluate(agent, tier="simple", n_tasks=6, image_size=32)
    s = res.summary()
    assert s["episodes"] == 6 and np.isfinite(s["overall"]) and s["agent"] == "d3rlpy-cql"
    assert 0.0 <= truncation_rate(res) <= 1.0

    obs = _vector_obs()
    act, state = agent.predict(obs)
    assert act.shape == (4,) and act.dtype == np.int64 and state is None
    assert ((act >= 0) & (act < agent.action_space.n)).all()

    path = agent.save(tmp_path / "m" / "cql.d3")
    meta = json.loads(D3rlpyAgent.sidecar_path(path).read_text())
    assert meta["n_strength_bins"] == 4
    assert meta["encoder"] == {"kind": "minilm+hash", "hash_dim": 8192, "dim": 8576}
    assert meta["dataset"]["checksum"] == agent.dataset["checksum"]
    back = D3rlpyAgent.load(path)
    assert np.array_equal(back.predict(obs)[0], act)
    again = evaluate(back, tier="simple", n_tasks=6, image_size=32)
    assert [e["calls"] for e in again.episodes] == [e["calls"] for e in res.episodes]

    # one observation in, one action out; other image sizes are resized to the model's
    one = {k: (v[0] if k != "instruction" else v[0]) for k, v in obs.items()}
    assert int(agent.predict(one)[0]) == act[0]
    assert agent.predict(_vector_obs(2, size=48))[0].shape == (2,)

    # deterministic for a seed
    twin = train_d3rlpy(
        "cql", small_datasets["simple"], steps=30, n_steps_per_epoch=10, config=FAST,
        progress=False, seed=3,
    )  # fmt: skip
    assert np.array_equal(twin.predict(obs)[0], act)
    assert [r["loss"] for r in twin.training["losses"]] == [
        r["loss"] for r in agent.training["losses"]
    ]


def test_bad_model_files_and_mismatches_are_named(small_datasets, tmp_path):
    agent = train_d3rlpy(
        "bc", small_datasets["simple"], steps=10, n_steps_per_epoch=10, config=FAST, progress=False
    )
    path = agent.save(tmp_path / "bc.d3")
    side = D3rlpyAgent.sidecar_path(path)
    meta = json.loads(side.read_text())

    with pytest.raises(FileNotFoundError, match="no d3rlpy model file"):
        D3rlpyAgent.load(tmp_path / "missing.d3")
    alone = tmp_path / "alone.d3"
    alone.write_bytes(path.read_bytes())
    with pytest.raises(FileNotFoundError, match="sidecar"):
        D3rlpyAgent.load(alone)

    junk = tmp_path / "junk.d3"
    junk.write_text("not a model")
    D3rlpyAgent.sidecar_path(junk).write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="not a d3rlpy model file"):
        D3rlpyAgent.load(junk)

    side.write_text(json.dumps({**meta, "format_version": 99}))
    with pytest.raises(ValueError, match="format version 99"):
        D3rlpyAgent.load(path)
    side.write_text(json.dumps({**meta, "n_strength_bins": 3}))
    with pytest.raises(ValueError, match="685 actions but its sidecar says n_strength_bins=3"):
        D3rlpyAgent.load(path)
    side.write_text("{")
    with pytest.raises(ValueError, match="not valid JSON"):
        D3rlpyAgent.load(path)

    with pytest.raises(ValueError, match="n_strength_bins=3 with preserve=False means 514"):
        D3rlpyAgent(agent.algo, n_strength_bins=3)
    # continuing training on data of another shape is refused before any update
    with pytest.raises(ValueError, match=r"actions: the dataset has 514 \(3 strength bins\)"):
        train_d3rlpy("bc", small_datasets["simple"], n_strength_bins=3, init=agent, steps=10, progress=False)  # fmt: skip
    with pytest.raises(ValueError, match="observations: the dataset's are"):
        train_d3rlpy("bc", small_datasets["simple"], text_only=True, init=agent, steps=10, progress=False)  # fmt: skip
    with pytest.raises(ValueError, match="not DiscreteCQL"):
        train_d3rlpy("cql", small_datasets["simple"], init=agent, steps=10, progress=False)
    with pytest.raises(ValueError, match="config cannot change"):
        train_d3rlpy("bc", small_datasets["simple"], init=agent, config=FAST, progress=False)
    with pytest.raises(ValueError, match="unknown d3rlpy algorithm"):
        train_d3rlpy("sac", small_datasets["simple"], steps=10, progress=False)
    more = train_d3rlpy("bc", small_datasets["simple"], init=agent, steps=10, progress=False)
    assert more.training["continued"] and more.algo is agent.algo


def test_online_env_passes_sb3_checker_and_shares_evaluates_encoder():
    from stable_baselines3.common.env_checker import check_env

    from agents.evaluate import _ObsAdapter
    from agents.online import make_online_env

    env = make_online_env("simple", image_size=32)
    check_env(env, warn=False)
    obs, _ = env.reset(seed=5)
    text = env.unwrapped.slot.task.instruction

    class _Fake:
        observation_space = env.observation_space

    adapted = _ObsAdapter(_Fake())({"instruction": [text], **{k: np.asarray(obs[k])[None] for k in obs if k != "instruction"}})  # fmt: skip
    assert np.array_equal(adapted["instruction"][0], obs["instruction"])
    with pytest.raises(ValueError, match="read as MiniLM"):
        make_online_env("simple", image_size=32, encoder_dim=384)


def test_online_agents_get_the_preserve_digit_only_where_requests_ask_to_preserve():
    from agents.online import make_online_env, online_preserve
    from agents.sb3_vec import make_sb3_vec_env

    # 171 values x 4 strength bins + STOP; x 12 preserve sets on the complex tier
    assert make_online_env("simple", image_size=32).action_space.n == 685
    assert make_online_env("complex", image_size=32).action_space.n == 8209
    assert make_online_env("simple", image_size=32, preserve=True).action_space.n == 8209
    assert make_sb3_vec_env("complex", n_envs=2, image_size=32).action_space.n == 8209
    assert make_sb3_vec_env("regular", n_envs=2, image_size=32).action_space.n == 685
    with pytest.raises(ValueError, match="preserve must be True, False or None"):
        online_preserve("simple", "yes")


def test_sb3_models_run_through_evaluate_unchanged(tmp_path):
    from stable_baselines3 import DQN, PPO

    from agents.online import evaluate_online, load_online, train_online

    model = train_online(
        "ppo", "simple", steps=128, image_size=32, n_envs=2, progress=False,
        hyper={"n_steps": 64, "batch_size": 64}, out=tmp_path / "ppo.zip",
    )  # fmt: skip
    assert isinstance(model, PPO) and model.num_timesteps == 128
    res = evaluate(model, tier="simple", n_tasks=6, image_size=32)
    assert res.summary()["episodes"] == 6 and np.isfinite(res.summary()["overall"])

    obs = _vector_obs(3)
    back = PPO.load(tmp_path / "ppo.zip")
    again = load_online(tmp_path / "ppo.zip")
    enc = {k: v for k, v in obs.items() if k != "instruction"}
    from styling_env.wrappers import HashingEncoder

    enc["instruction"] = HashingEncoder(256).encode(list(obs["instruction"]))
    want = model.predict(enc, deterministic=True)[0]
    assert np.array_equal(back.predict(enc, deterministic=True)[0], want)
    assert np.array_equal(again.predict(enc, deterministic=True)[0], want)
    assert again.styling_info["image_size"] == 32

    # a model trained at 32 px plays a 48 px env: its images are resized to 32 px for it
    seen = []
    real = model.predict

    def spy(observation, *a, **k):
        seen.append(observation["image"].shape[1:])
        return real(observation, *a, **k)

    model.predict = spy
    for run in (evaluate, evaluate_online):
        res = run(model, tier="simple", n_tasks=2, image_size=48)
        assert res.image_size == 48 and res.summary()["episodes"] == 2
    del model.predict
    assert seen and set(seen) == {(32, 32, 3)}
    bad = tmp_path / "bad.zip"
    bad.write_text("nope")
    with pytest.raises(ValueError, match="not a stable-baselines3 model"):
        load_online(bad)

    dqn = train_online("dqn", "simple", steps=32, image_size=32, n_envs=1, progress=False)
    assert isinstance(dqn, DQN)
    act, _ = dqn.predict(enc, deterministic=True)
    assert act.shape == (3,) and ((act >= 0) & (act < dqn.action_space.n)).all()


def test_text_only_and_source_layouts(small_datasets, tmp_path):
    text = train_d3rlpy(
        "bc", small_datasets["simple"], steps=10, config=FAST, progress=False, text_only=True
    )
    assert text.observation_mode == "text" and text.image_size is None
    back = D3rlpyAgent.load(text.save(tmp_path / "text.d3"))
    res = evaluate(back, tier="simple", n_tasks=6, image_size=32)  # observation_mode from the agent
    assert res.summary()["episodes"] == 6
    src = train_d3rlpy(
        "bcq", small_datasets["simple"], steps=10, config=FAST, progress=False, with_source=True
    )
    assert src.layout["image"] == [6, 32, 32]
    assert src.predict(_vector_obs(2))[0].shape == (2,)


def test_sb3_instruction_encoder_is_recorded_never_guessed(tmp_path):
    """A PPO trained on EncodeInstruction(hash, 384) is evaluated with that hash encoder, not
    MiniLM; a model that does not record its encoder needs encoder=."""
    import gymnasium as gym
    from stable_baselines3 import PPO

    from agents.evaluate import UnknownEncoderError, _ObsAdapter
    from agents.online import StylingPPOPolicy, load_online
    from styling_env.wrappers import DiscreteActions, EncodeInstruction, HashingEncoder

    env = DiscreteActions(EncodeInstruction(gym.make("ImageStyling-v0", image_size=32), dim=384))
    PPO(StylingPPOPolicy, env, n_steps=8, batch_size=8, device="cpu").save(tmp_path / "m.zip")
    model = load_online(tmp_path / "m.zip", trust=True)  # SB3's own save: trusted, we wrote it
    adapter = _ObsAdapter(model)
    assert isinstance(adapter.encoder, HashingEncoder) and adapter.encoder.dim == 384
    del model.observation_space.spaces["instruction"].encoder_spec  # an unrecorded model
    with pytest.raises(UnknownEncoderError, match="never guesses from the size"):
        evaluate(model, "simple", n_tasks=1, image_size=32)
    assert isinstance(_ObsAdapter(model, "hash:384").encoder, HashingEncoder)
    res = evaluate(model, "simple", n_tasks=1, image_size=32, encoder="hash:384")
    assert res.summary()["episodes"] == 1
    with pytest.raises(UnknownEncoderError, match="does not make the agent's 384-d"):
        _ObsAdapter(model, "hash:256")


def test_an_sb3_model_of_another_env_is_refused_by_name(tmp_path, capsys):
    from stable_baselines3 import PPO

    from agents.evaluate import SpaceMismatchError, load_agent, main

    PPO("MlpPolicy", "CartPole-v1", n_steps=8, batch_size=8, device="cpu").save(tmp_path / "cp.zip")
    agent = load_agent(str(tmp_path / "cp.zip"), trust=True)  # SB3's own save, written here
    with pytest.raises(SpaceMismatchError, match="not made for ImageStyling-v0: its observation"):
        evaluate(agent, "simple", n_tasks=1, image_size=32)
    assert (
        main([str(tmp_path / "cp.zip"), "--tasks", "1", "--image-size", "32", "--trust-checkpoint"])
        == 1
    )
    assert "not made for ImageStyling-v0" in capsys.readouterr().err


def test_ppo_trains_on_the_native_vector_env_through_the_vecenv_adapter():
    """PPO("MultiInputPolicy", vec_env) on the batched env; the vector wrappers match the
    single-env wrappers; SB3's same-step reset with terminal observations."""
    import gymnasium as gym
    from stable_baselines3 import PPO

    from agents.sb3_vec import StylingVecEnv, make_sb3_vec_env
    from styling_env.engine import decode_native
    from styling_env.vector import ImageStylingVectorEnv
    from styling_env.vector_wrappers import VectorDiscreteActions, VectorEncodeInstruction
    from styling_env.wrappers import DiscreteActions, EncodeInstruction

    venv = make_sb3_vec_env("simple", n_envs=3, image_size=40, seed=0)
    model = PPO("MultiInputPolicy", venv, n_steps=8, batch_size=24, n_epochs=1, device="cpu")
    model.learn(24)
    assert model.num_timesteps == 24
    assert model.observation_space["instruction"].encoder_spec == {"kind": "hash", "dim": 256}

    venv = make_sb3_vec_env("simple", n_envs=2, image_size=32, encoder_dim=32, seed=3)
    obs = venv.reset()
    single = EncodeInstruction(gym.make("ImageStyling-v0", image_size=32), dim=32)
    one, _ = single.reset(seed=4)  # sub-env 1 is seeded 3 + 1
    assert np.array_equal(obs["instruction"][1], one["instruction"])
    assert np.array_equal(obs["image"][1], one["image"])
    obs, rewards, dones, infos = venv.step(
        np.array([171 * 4, 3])
    )  # STOP (no preserve digit on simple), a call
    assert dones.tolist() == [True, False] and "terminal_observation" in infos[0]
    assert obs["steps_left"][0] == 8 and obs["steps_left"][1] == 7  # sub-env 0 already reset

    flat = DiscreteActions(gym.make("ImageStyling-v0", image_size=32), 3)
    wrapped = VectorDiscreteActions(ImageStylingVectorEnv(4, image_size=32), 3)
    ks = np.array([0, 7, 171 * 3 - 1, 171 * 3])
    batch = wrapped.actions(ks)
    got = [decode_native({k: v[i] for k, v in batch.items()}) for i in range(4)]
    assert got == [flat.action(np.int64(k)) for k in ks]
    with pytest.raises(ValueError, match="int array of shape"):
        wrapped.actions(np.zeros(4))
    with pytest.raises(ValueError, match="autoreset_mode='disabled'"):
        StylingVecEnv(VectorEncodeInstruction(ImageStylingVectorEnv(2, image_size=32)))


def test_the_preserve_digit_follows_the_data_unless_chosen(small_datasets, tmp_path):
    """``preserve=None`` (default): the flat action has the preserve digit iff the dataset
    preserves a region (the small Complex tier does, Simple does not, see the test above);
    the choice is saved in the sidecar and decodes through ``evaluate``."""
    from agents.evaluate import decode_actions, flat_encoding
    from styling_env.actions import FlatActions

    kw = dict(steps=10, n_steps_per_epoch=10, config=FAST, progress=False, text_only=True)
    agent = train_d3rlpy("bc", small_datasets["complex"], **kw)
    assert agent.preserve and agent.action_space.n == 171 * 4 * 12 + 1
    assert agent.training["train_config"]["preserve"] is True
    assert flat_encoding(agent) == FlatActions(4, preserve=True)
    path = agent.save(tmp_path / "bc.d3")
    assert json.loads(D3rlpyAgent.sidecar_path(path).read_text())["preserve"] is True
    back = D3rlpyAgent.load(path)
    assert back.preserve and back.action_space.n == agent.action_space.n
    k = FlatActions(4, preserve=True).encode(3, 8, 0.5, np.array([1, 0, 0, 0, 0, 1]))
    (call,) = decode_actions(np.array([k]), 1, back)
    assert call.preserved_regions == ("sky", "subject")
    plain = train_d3rlpy("bc", small_datasets["complex"], preserve=False, **kw)
    assert not plain.preserve and plain.action_space.n == 171 * 4 + 1
    with pytest.raises(ValueError, match="preserve must be a bool or None"):
        train_d3rlpy("bc", small_datasets["complex"], preserve="yes", **kw)


def test_d3rlpy_reads_the_planners_instruction_features(small_datasets, tmp_path):
    """By default the d3rlpy algorithms see a request through the embedded planner's sentence
    and word features (MiniLM ++ 8192 hashed words; the planner's default also puts its
    clause evidence in front, which d3rlpy does not read), not a 256-bucket hash: the model's
    vector holds
    exactly :class:`agents.embedded.text.InstructionEncoder`'s features, and a saved model
    rebuilds that encoder."""
    from agents.d3rlpy_agents import D3rlpyTrainConfig, encoder_spec
    from agents.embedded.config import PlannerConfig
    from agents.embedded.text import InstructionEncoder
    from offline_data.loaders import vector_layout

    planner = PlannerConfig(encoder="minilm+hash")
    assert D3rlpyTrainConfig().encoder == "minilm+hash" and PlannerConfig().encoder.endswith(
        planner.encoder
    )
    agent = train_d3rlpy(
        "bc", small_datasets["simple"], steps=10, config=FAST, progress=False, text_only=True
    )
    spec = {"kind": "minilm+hash", "hash_dim": planner.hash_dim, "dim": planner.text_in}
    assert agent.encoder_spec == spec
    assert agent.layout["vector_dim"] == vector_layout(8, planner.text_in)["instruction"][1]
    obs = _vector_obs(2)
    vec = agent.observation(obs)
    a, b = vector_layout(8, planner.text_in)["instruction"]
    want = InstructionEncoder("minilm+hash", planner.hash_dim).encode(list(obs["instruction"]))
    np.testing.assert_allclose(vec[:, a:b], want.numpy(), atol=1e-6)
    back = D3rlpyAgent.load(agent.save(tmp_path / "bc.d3"))
    assert back.encoder_spec == spec
    assert _same_actions(back.predict(obs)[0], agent.predict(obs)[0])
    # the weaker vectors stay available by name; a misspelt one is named
    assert encoder_spec("hash") == {"kind": "hash", "dim": 256}
    with pytest.raises(ValueError, match="encoder must be 'hash', 'minilm' or 'minilm\\+hash'"):
        D3rlpyTrainConfig(encoder="minilm+hsh")
    with pytest.raises(ValueError, match="hash_dim must be an int >= 1"):
        encoder_spec({"kind": "minilm+hash", "hash_dim": 0})


def test_validation_curve_is_recorded_and_plotted(small_datasets, tmp_path):
    """``validation=`` held-out episodes: every epoch's row gets the held-out imitation NLL
    and greedy agreement (which falls / rises as BC learns), plot_training draws them, and
    validation data of another layout is refused before any update."""
    from agents.d3rlpy_agents import plot_training
    from offline_data import dataset as D

    ds = D.load(small_datasets["simple"])
    n = ds.total_episodes
    train = list(D.episodes(ds, range(n - 6)))
    held = list(D.episodes(ds, range(n - 6, n)))
    agent = train_d3rlpy(
        "bc", train, steps=120, n_steps_per_epoch=20, config={"batch_size": 64}, progress=False,
        encoder="hash", validation=held, rewordings=0,
    )  # fmt: skip
    rows = agent.training["losses"]
    assert len(rows) == 6 and agent.training["validation"]["transitions"] > 0
    for r in rows:
        assert 0.0 <= r["val_match"] <= r["val_row"] <= r["val_tool"] <= 1.0
    assert rows[-1]["val_nll"] < rows[0]["val_nll"] < np.log(685) + 0.5
    png = plot_training(agent.training, tmp_path / "curve.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from offline_data.loaders import to_d3rlpy

    other = to_d3rlpy(held, n_strength_bins=3, text_only=True)  # 514 actions, not 685
    with pytest.raises(ValueError, match="validation data does not match"):
        train_d3rlpy(
            "bc", train, steps=10, config=FAST, progress=False, encoder="hash", text_only=True,
            validation=other,
        )  # fmt: skip


def test_validation_agreement_reads_the_action_the_agent_plays(small_datasets):
    """DiscreteBC's validation agreement is that of the action its agent plays (decoded field
    by field, ``marginal_greedy``), not d3rlpy's flat argmax, unless ``decode="flat"``."""
    from agents.d3rlpy_policy import marginal_greedy, validation_metrics, validation_rows
    from offline_data import dataset as D
    from offline_data.loaders import to_d3rlpy

    eps = list(D.episodes(D.load(small_datasets["simple"])))
    agent = train_d3rlpy("bc", eps, steps=300, config=FAST, progress=False, encoder="hash", rewordings=0)  # fmt: skip
    rows = validation_rows(to_d3rlpy(eps, n_strength_bins=4, encoder=agent.encoder, work_size=64))

    def decoded():
        played = marginal_greedy(agent.probabilities(rows.observations), rows.flat)
        return played, np.asarray(agent.algo.predict(rows.observations)).reshape(-1)

    import torch

    played, flat = decoded()
    if not (played != flat).any():
        # the trained policy happens to agree with its flat argmax everywhere (its floats vary
        # by platform): raise STOP's logit step by step until STOP tops every single action of
        # some row but not that row's most probable tool, the case the marginal decode is for
        head = [m for m in agent.algo.impl.modules.imitator.modules()
                if isinstance(m, torch.nn.Linear) and m.out_features == rows.flat.size][-1]  # fmt: skip
        for _ in range(40):
            with torch.no_grad():
                head.bias[rows.flat.stop] += 0.25
            played, flat = decoded()
            if (played != flat).any():
                break
    assert (played != flat).any()  # the two rules differ here, so the test tells them apart
    assert validation_metrics(agent.algo, rows)["val_match"] == pytest.approx(np.mean(played == rows.actions))  # fmt: skip
    assert validation_metrics(agent.algo, rows, decode="flat")["val_match"] == pytest.approx(np.mean(flat == rows.actions))  # fmt: skip
    with pytest.raises(ValueError, match="decode must be one of"):
        validation_metrics(agent.algo, rows, decode="argmax")


def test_bc_decodes_its_flat_policy_tool_first_as_the_planner_does(small_datasets, tmp_path):
    """A call's probability is split over value rows x strength bins while STOP is one flat
    action: the flat argmax stops although a call is more probable. The marginal rule takes the
    most probable tool, then its most probable row, then that row's most probable bin."""
    from agents.d3rlpy_agents import expected_strength, marginal_greedy
    from styling_env.actions import FlatActions
    from styling_env.tools.library_tables import row_tables

    flat = FlatActions(4)
    rows_of_tool = np.flatnonzero(np.asarray(row_tables("v2")["tool_of_row"]) == 3)
    p = np.zeros((2, flat.size))
    p[:, flat.stop] = 0.3
    # tool 3 holds 0.7, spread over its rows and bins: no single flat action reaches 0.3
    spread = 0.7 / (len(rows_of_tool) * 4)
    for r in rows_of_tool:
        p[:, r * 4 : r * 4 + 4] = spread
    best = rows_of_tool[2]
    p[0, best * 4 + 1] += 0.05  # row `best` now the most probable, bin 1 its best
    p[0, rows_of_tool[0] * 4 : rows_of_tool[0] * 4 + 4] -= 0.0125
    p[1] = 0.0
    p[1, flat.stop] = 0.6  # STOP truly most probable
    p[1, 0:4] = 0.1
    assert p[0].argmax() == flat.stop  # d3rlpy's flat argmax: STOP
    got = marginal_greedy(p, flat)
    assert got.tolist() == [best * 4 + 1, flat.stop]
    assert flat.decode(got[:1])["tool"][0] == 3
    with pytest.raises(ValueError, match="probs must be"):
        marginal_greedy(p[:, :-1], flat)

    agent = train_d3rlpy(
        "bc", small_datasets["simple"], steps=20, config=FAST, progress=False, encoder="hash"
    )
    assert agent.decode == "mean"
    obs = _vector_obs()
    x = agent.observation(obs)
    probs = agent.probabilities(x)
    k = marginal_greedy(probs, agent.flat_actions)
    # "mean": the marginal call with its row's expected strength, as a native action
    act, _ = agent.predict(obs)
    d = agent.flat_actions.decode(k)
    assert np.array_equal(act["tool"], d["tool"]) and np.array_equal(act["value"], d["value"])
    np.testing.assert_allclose(act["strength"][:, 0], expected_strength(probs, agent.flat_actions, k), rtol=1e-6)  # fmt: skip
    calls = act["tool"] != agent.flat_actions.tool_stop
    assert ((act["strength"][calls] >= 0.05) & (act["strength"][calls] <= 1.0)).all()
    hand = probs[0, : agent.flat_actions.stop].reshape(171, 4)[k[0] // 4] if calls[0] else None
    if hand is not None:
        assert act["strength"][0, 0] == pytest.approx(max(0.05, float(hand @ [0.25, 0.5, 0.75, 1.0]) / hand.sum()), rel=1e-5)  # fmt: skip
    back = D3rlpyAgent.load(agent.save(tmp_path / "bc.d3"))
    assert back.decode == "mean"
    back.decode = "marginal"
    assert np.array_equal(back.predict(obs)[0], k)
    back.decode = "flat"
    assert np.array_equal(back.predict(obs)[0], agent.algo.predict(x))
    res = evaluate(agent, tier="simple", n_tasks=4, image_size=32)  # native actions play
    assert res.summary()["episodes"] == 4 and res.summary()["invalid"] == 0
    with pytest.raises(ValueError, match="decode"):
        D3rlpyAgent(agent.algo, encoder="hash", decode="sample")


def test_rewordings_show_each_episode_in_other_training_wordings(small_datasets):
    """S's trainer shows every request in two more wordings; d3rlpy samples a fixed buffer, so
    ``rewordings=n`` adds n copies of each episode in other words (same images and actions)."""
    from offline_data import dataset as D
    from offline_data.loaders.records import reworded_records

    did = small_datasets["simple"]
    recs = list(D.episodes(D.load(did), range(3)))
    out = reworded_records(recs, 2)
    assert len(out) == 9 and out[0] is recs[0]
    words = [r.observations["instruction"][0] for r in out[:3]]
    assert len(set(words)) == 3 and all(w.strip() for w in words)
    for copy in out[1:3]:
        assert copy.actions is recs[0].actions and copy.observations["image"] is recs[0].observations["image"]  # fmt: skip
        assert len(copy.observations["instruction"]) == len(recs[0].observations["instruction"])
    assert reworded_records(recs, 0) == recs
    with pytest.raises(ValueError, match="rewordings must be an int >= 0"):
        reworded_records(recs, -1)
    kw = dict(steps=5, config=FAST, progress=False, text_only=True, encoder="hash")
    plain = train_d3rlpy("bc", did, rewordings=0, **kw)
    more = train_d3rlpy("bc", did, rewordings=1, **kw)
    assert more.training["transitions"] == 2 * plain.training["transitions"]
    assert more.training["train_config"]["rewordings"] == 1
    from agents.d3rlpy_agents import D3rlpyTrainConfig

    assert D3rlpyTrainConfig().rewordings == 0  # at 2, a 10K tier's buffer outgrew 18 GB
