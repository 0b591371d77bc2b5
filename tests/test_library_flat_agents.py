"""The flat-action agents in the ``normal`` and ``v3`` action libraries: a small dataset per
library (8 complex episodes, 32 px, one thread) loads into d3rlpy over the library's flat
action and observation vector, DiscreteBC trains, saves, reloads and evaluates on the library's
test tasks, an agent of one library refuses an env of another by name, and stable-baselines3's
PPO and DQN learn in each library's env, save and reload it, and evaluate."""

from __future__ import annotations

import json

import numpy as np
import pytest

from agents.d3rlpy_agents import D3rlpyAgent, train_d3rlpy
from agents.evaluate import evaluate
from offline_data import loaders as L
from offline_data.dataset import episodes, load
from offline_data.errors import LibraryMismatchError
from styling_env.actions import FlatActions
from styling_env.context import context_nvec
from styling_env.libraries import library

LIBS = ("normal", "v3")


@pytest.fixture
def data(library_datasets):
    """``library -> dataset id`` of the shared small complex datasets (conftest)."""
    return library_datasets


def _live_obs(lib: str, n: int = 2, size: int = 32) -> dict:
    from styling_env.vector import ImageStylingVectorEnv

    env = ImageStylingVectorEnv(n, tier="complex", image_size=size, library=lib)
    try:
        obs, _ = env.reset(seed=0)
        names = library(lib)
        # one call each, so the history and the call counts are not empty
        act = {"tool": np.array([names.stop - 1, 0]), "value": np.zeros(n, np.int64),
               "strength": np.full((n, 1), 0.5, np.float32), "region": np.zeros(n, np.int64),
               "preserve": np.zeros((n, 6), np.int8)}  # fmt: skip
        obs, *_ = env.step(act)
    finally:
        env.close()
    return obs


# --------------------------------------------------------------------------------------------
# The observation vector and the buffer


@pytest.mark.parametrize("lib", LIBS)
def test_the_vector_is_laid_out_for_the_library(lib):
    names, nvec = library(lib), context_nvec(lib)
    layout = L.vector_layout(8, 256, lib)
    assert layout["context"] == (0, sum(nvec))
    assert layout["tools_used"][1] - layout["tools_used"][0] == names.stop
    obs = _live_obs(lib)
    vec = L.observation_vector(obs, library=lib)
    assert vec.shape == (2, layout["instruction"][1])
    a, z = layout["context"]
    assert (vec[:, a:z].sum(1) == len(nvec)).all()  # one one-hot per context dimension
    a, z = layout["tools_used"]
    counts = vec[:, a:z]
    assert counts[0, names.stop - 1] == 1 and counts[1, 0] == 1 and counts.sum() == 2
    a, _ = layout["history"]
    # the first history row: tool / number of actions, value / largest vocabulary
    assert vec[0, a] == pytest.approx((names.stop - 1) / names.stop)
    assert vec[1, a] == 0.0
    # the v2 layout refuses this library's observations by name
    with pytest.raises(LibraryMismatchError, match="of action library 'v2'"):
        L.observation_vector(obs)


@pytest.mark.parametrize("lib", LIBS)
def test_to_d3rlpy_holds_the_library_s_flat_actions(data, lib):
    mdp = L.to_d3rlpy(data[lib], n_strength_bins=4)
    info = mdp.transition_info
    flat = FlatActions(4, False, lib)
    assert info.library == lib and mdp.dataset_info.action_size == flat.size
    shapes = [tuple(s) for s in mdp.dataset_info.observation_signature.shape]
    assert shapes == [(3, 32, 32), (L.vector_layout(8, 256, lib)["instruction"][1],)]
    assert info.layout == L.vector_layout(8, 256, lib)
    # every step's flat action decodes back to the episode's native (tool, value)
    tools, values = [], []
    for rec in episodes(load(data[lib])):
        tools += np.asarray(rec.actions["tool"]).reshape(-1).tolist()
        values += np.asarray(rec.actions["value"]).reshape(-1).tolist()
    back = flat.decode(info.flat_action)
    assert ((info.flat_action >= 0) & (info.flat_action < flat.size)).all()
    assert back["tool"].tolist() == tools
    calls = np.array(tools) < library(lib).stop
    assert back["value"][calls].tolist() == np.array(values)[calls].tolist()
    if lib == "normal":  # constraint and compositional actions are part of the data
        assert (np.array(tools) >= 10).any()


# --------------------------------------------------------------------------------------------
# d3rlpy


@pytest.mark.parametrize("lib", LIBS)
def test_discrete_bc_trains_saves_reloads_and_evaluates(data, lib, tmp_path):
    path = tmp_path / "bc.d3"
    agent = train_d3rlpy(
        "bc", data[lib], steps=4, n_steps_per_epoch=2, config={"batch_size": 16},
        progress=False, out=path,
    )  # fmt: skip
    assert agent.library == lib and agent.training["library"] == lib
    # complex requests keep regions: the data preserves some, so the flat action has the digit
    assert agent.preserve and agent.flat_actions == FlatActions(4, True, lib)
    assert agent.action_space.n == len(library(lib).rows) * 4 * 12 + 1
    assert json.loads(D3rlpyAgent.sidecar_path(path).read_text())["library"] == lib
    back = D3rlpyAgent.load(path)
    assert back.library == lib and back.flat_actions == agent.flat_actions
    obs = _live_obs(lib)
    mine, theirs = back.predict(obs)[0], agent.predict(obs)[0]  # native actions (decode "mean")
    assert mine.keys() == theirs.keys() and all(np.array_equal(mine[k], theirs[k]) for k in mine)
    result = evaluate(back, "complex", 2, image_size=32, num_envs=2)
    assert result.extra == {"library": lib} and len(result.episodes) == 2
    assert all(f"-{lib}-test-" in e["task_id"] for e in result.episodes)
    assert np.isfinite(result.summary()["overall"])


def test_an_agent_of_one_library_refuses_another(data, tmp_path, capsys):
    agent = train_d3rlpy("bc", data["v3"], steps=2, config={"batch_size": 16}, progress=False)
    with pytest.raises(LibraryMismatchError, match="library 'v3' but the environment is of"):
        evaluate(agent, "complex", 2, image_size=32, num_envs=2, library="v2")
    # observations of a v2 env given to it directly: the context is 10 wide, not 30
    with pytest.raises(LibraryMismatchError, match="10 dimensions .*of action library 'v3'"):
        agent.predict(_live_obs("v2"))
    # a normal env's observations in the v2 layout: 10 context dimensions, but tool 19
    with pytest.raises(LibraryMismatchError, match="past STOP .*of action library 'v2'"):
        L.observation_vector(_live_obs("normal"))
    mdp = L.to_d3rlpy(data["normal"])
    with pytest.raises(LibraryMismatchError, match="the dataset is of action library 'normal'"):
        train_d3rlpy("bc", mdp, steps=1, init=agent, progress=False)
    # a sidecar that lost its library reads as v2, whose action count is not the model's
    path = agent.save(tmp_path / "v3.d3")
    side = D3rlpyAgent.sidecar_path(path)
    meta = json.loads(side.read_text())
    assert meta.pop("library") == "v3"
    side.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="library='v2' .*the files do not belong together"):
        D3rlpyAgent.load(path)
    # the train command names a --library that is not the dataset's
    from agents.train import main

    argv = ["--method", "bc", "--dataset", data["v3"], "--library", "normal", "--quiet",
            "--out", str(tmp_path / "run")]  # fmt: skip
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "is of action library 'v3' but --library is of library 'normal'" in err


# --------------------------------------------------------------------------------------------
# stable-baselines3


@pytest.mark.parametrize("lib", LIBS)
def test_ppo_and_dqn_learn_in_the_library_s_env(lib, tmp_path):
    from stable_baselines3 import DQN, PPO
    from stable_baselines3.common.env_checker import check_env

    from agents.online import evaluate_online, load_online, make_online_env, train_online
    from agents.sb3_vec import make_sb3_vec_env

    rows = len(library(lib).rows)
    env = make_online_env("complex", image_size=32, library=lib, preserve=False)
    assert env.action_space.n == rows * 4 + 1
    assert env.observation_space["context"].nvec.tolist() == list(context_nvec(lib))
    check_env(env, skip_render_check=True)
    env.close()
    venv = make_sb3_vec_env("complex", n_envs=2, image_size=32, library=lib, seed=0)
    assert venv.action_space.n == rows * 4 * 12 + 1  # complex: the preserve digit
    venv.close()

    model = train_online(
        "ppo", "complex", steps=32, image_size=32, n_envs=2, progress=False, library=lib,
        preserve=False, hyper={"n_steps": 16, "batch_size": 16, "n_epochs": 1},
        out=tmp_path / "ppo.zip",
    )  # fmt: skip
    assert isinstance(model, PPO) and model.num_timesteps == 32
    assert model.library == lib and model.styling_info["library"] == lib
    back = load_online(tmp_path / "ppo.zip")
    assert back.library == lib and back.action_space.n == rows * 4 + 1
    res = evaluate_online(back, "complex", 2, num_envs=2)
    assert res.extra == {"library": lib} and all(f"-{lib}-" in e["task_id"] for e in res.episodes)
    with pytest.raises(LibraryMismatchError, match=f"library '{lib}' but the environment"):
        evaluate(back, "complex", 2, image_size=32, num_envs=2, library="v2")

    dqn = train_online(
        "dqn", "complex", steps=16, image_size=32, n_envs=1, progress=False, library=lib,
        preserve=False,
    )  # fmt: skip
    assert isinstance(dqn, DQN) and dqn.library == lib
    assert np.isfinite(evaluate(dqn, "complex", 2, image_size=32, num_envs=2).summary()["overall"])
