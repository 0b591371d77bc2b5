"""Loaders: episodes -> tensors, chat samples, a d3rlpy buffer."""

from __future__ import annotations

import copy
import json
import re

import gymnasium as gym
import numpy as np
import pytest
import torch

from offline_data import loaders as L
from offline_data.dataset import episodes, load
from offline_data.weights import METHODS, sample_weights
from styling_env.context import context_text
from styling_env.engine import Stop
from styling_env.tools import TOOLS, ToolCall
from styling_env.tools.vocabulary import TOOL_NAMES
from styling_env.wrappers import DiscreteActions


class _Null(gym.Env):
    """Just enough of an env to build the DiscreteActions wrapper (it only swaps the action space)."""

    observation_space = gym.spaces.Discrete(1)
    action_space = gym.spaces.Discrete(1)


def _records(small_datasets, tier="complex"):
    return list(episodes(load(small_datasets[tier])))


def _cut(rec):
    """A copy of an episode cut before its STOP, as if ``max_steps`` had been reached."""
    r = copy.deepcopy(rec)
    n = len(r) - 1
    r.observations = {k: v[: n + 1] for k, v in r.observations.items()}
    r.actions = {k: v[:n] for k, v in r.actions.items()}
    r.rewards, r.terminations = r.rewards[:n], np.zeros(n, bool)
    r.truncations = np.zeros(n, bool)
    r.truncations[-1] = True
    r.infos = {k: v[: n + 1] for k, v in r.infos.items()}
    return r


def test_tensors_pair_observation_t_with_action_t(small_datasets):
    recs = _records(small_datasets)
    st = L.to_tensors(small_datasets["complex"], n_strength_bins=4)
    assert len(st) == sum(len(r) for r in recs) and st.n_episodes == len(recs)
    assert st.image.dtype == torch.uint8 and st.image.shape[1:] == (3, 32, 32)
    wrapper = DiscreteActions(_Null(), 4, preserve=False)
    assert L.n_actions(4) == wrapper.action_space.n
    row = 0
    for rec in recs:
        n = len(rec)
        rows = slice(row, row + n)
        assert st.episode[rows].tolist() == [rec.id] * n
        assert st.step[rows].tolist() == list(range(n))
        # history at step t holds exactly the t calls before it, in order
        filled = (st.history[rows, :, 0] != -1).sum(1).tolist()
        assert filled == list(range(n))
        for t in range(1, n):
            prev = st.history[row + t, t - 1]
            assert prev[0].item() == rec.actions["tool"][t - 1]
            assert prev[1].item() == rec.actions["value"][t - 1]
        assert (np.diff(st.steps_left[rows].numpy()) == -1).all()
        src = st.select(torch.arange(row, row + n)).source
        assert torch.equal(st.image[row], src[0])  # the first image is the source
        assert torch.equal(src[n - 1], src[0])
        np.testing.assert_array_equal(
            st.image[row + n - 1].permute(1, 2, 0).numpy(), rec.observations["image"][n - 1]
        )
        assert st.tool[rows].tolist() == rec.actions["tool"].tolist()
        assert st.value[rows].tolist() == rec.actions["value"].tolist()
        assert st.instruction[row] == rec.meta["instruction"]
        assert st.task_id[row] == rec.meta["task_id"]
        assert st.r[row].item() == pytest.approx(rec.r)
        # the flat action decodes back to the stored tool and value
        for t in range(n):
            k = int(st.flat_action[row + t])
            decoded = wrapper.action(np.int64(k))
            if rec.actions["tool"][t] == 10:
                assert isinstance(decoded, Stop) and k == wrapper.stop_index
            else:
                tool = TOOL_NAMES[rec.actions["tool"][t]]
                assert decoded.tool == tool
                assert decoded.value == TOOLS[tool][rec.actions["value"][t]]
                call = ToolCall(tool, decoded.value, float(rec.actions["strength"][t][0]))
                assert wrapper.index(call) == k
        row += n
    assert rec.actions["tool"][-1] == 10  # STOP is the last action


def test_tensors_options_and_select(small_datasets):
    recs = _records(small_datasets, "simple")
    st = L.to_tensors(recs, text_only=True, n_strength_bins=2)
    assert st.image is None and st.source is None and st.sources is None
    assert int(st.flat_action.max()) <= L.n_actions(2) - 1
    sub = st.select(st.step == 0)
    assert len(sub) == len(recs) and sub.step.tolist() == [0] * len(recs)
    assert len(sub.task_id) == len(sub) and sub.to("cpu").tool.shape == (len(recs),)
    assert len(st.select(slice(2, 5))) == 3
    # one instruction per episode, stored once
    assert len(st.instructions) == len({r.meta["instruction"] for r in recs})


@pytest.mark.parametrize("method", METHODS)
def test_tensor_weights_follow_sample_weights(small_datasets, method):
    recs = _records(small_datasets, "regular")
    st = L.to_tensors(recs, method=method, text_only=True)
    per_ep = sample_weights(method, [r.r for r in recs])
    index = {r.id: k for k, r in enumerate(recs)}
    want = [per_ep[index[e]] for e in st.episode.tolist()]
    np.testing.assert_allclose(st.weight.numpy(), want, rtol=1e-6, atol=1e-7)
    assert st.method == method


def test_sw_groups_from_metadata(small_datasets):
    recs = _records(small_datasets, "complex")
    st = L.to_tensors(recs, method="sw", text_only=True, groups="template_id")
    keys = [json.dumps(r.meta["task"]["template_id"]) for r in recs]
    per_ep = sample_weights("sw", [r.r for r in recs], groups=keys)
    first = (st.step == 0).numpy()
    np.testing.assert_allclose(st.weight.numpy()[first], per_ep, rtol=1e-6, atol=1e-7)
    # two episodes per task (the generator's default): per-task standardization gives +-1, or 0
    # where both episodes of a task scored the same
    w = L.to_tensors(recs, method="sw", text_only=True, groups="task_id").weight
    assert set(np.round(w.numpy(), 6).tolist()) <= {-1.0, 0.0, 1.0} and w.abs().sum() > 0
    with pytest.raises(ValueError, match="no 'nope'"):
        L.to_tensors(recs, method="sw", groups="nope")


def test_loader_errors(small_datasets):
    recs = _records(small_datasets, "simple")
    with pytest.raises(ValueError, match="empty"):
        L.to_tensors([])
    with pytest.raises(ValueError, match="empty"):
        L.to_chat_samples([])
    with pytest.raises(ValueError, match="unknown method 'bc'"):
        L.to_tensors(recs, method="bc")
    with pytest.raises(ValueError, match="32x32 px but image_size=64"):
        L.to_tensors(recs, image_size=64)
    with pytest.raises(ValueError, match="32x32 px but image_size=64"):
        L.to_d3rlpy(recs, image_size=64)
    bad = copy.deepcopy(recs[0])
    bad.observations["image"] = bad.observations["image"][:-1]
    with pytest.raises(ValueError, match=r"T \+ 1"):
        L.to_tensors([bad])
    bad = copy.deepcopy(recs[0])
    bad.actions = {k: v[:-1] for k, v in bad.actions.items()}
    with pytest.raises(ValueError, match=r"T \+ 1"):
        L.to_chat_samples([bad])
    bad = copy.deepcopy(recs[0])
    bad.actions["value"] = bad.actions["value"].copy()
    bad.actions["value"][0] = 99
    with pytest.raises(ValueError, match="invalid native action"):
        L.to_tensors([bad])
    with pytest.raises(TypeError, match="EpisodeRecord"):
        L.to_tensors([{"not": "a record"}])
    with pytest.raises(ValueError, match="mode"):
        L.to_chat_samples(recs, mode="dialogue")


def test_chat_step_samples(small_datasets):
    recs = _records(small_datasets)
    samples = L.to_chat_samples(recs, method="rw", include_image=True)
    assert len(samples) == sum(len(r) for r in recs)
    w = sample_weights("rw", [r.r for r in recs])
    k = 0
    for e, rec in enumerate(recs):
        for t in range(len(rec)):
            s = samples[k]
            k += 1
            assert (s.episode, s.step, s.task_id) == (rec.id, t, rec.meta["task_id"])
            assert s.weight == pytest.approx(w[e]) and s.r == pytest.approx(rec.r)
            assert [m["role"] for m in s.messages] == ["system", "user", "assistant"]
            reason, line = s.target.split("\n")
            assert reason == " ".join(str(rec.infos["reasoning"][t]).split())
            stored = json.loads(str(rec.infos["call"][t]))
            if stored["action_id"] == "STOP":
                assert line == "STOP"
            else:
                assert ToolCall.from_dict(json.loads(line)) == ToolCall.from_dict(stored)
            assert isinstance(L.parse_assistant(s.target)[1], ToolCall | Stop)
            user = s.messages[1]["content"]
            assert rec.meta["instruction"] in user
            assert context_text(rec.observations["context"][t]) in user
            for c in rec.infos["call"][:t]:  # the calls so far, one JSON line each
                assert str(c) in user.splitlines()
            assert f"Calls left: {rec.observations['steps_left'][t]}" in user
            np.testing.assert_array_equal(s.image, rec.observations["image"][t])
    system = samples[0].messages[0]["content"]
    for tool, values in TOOLS.items():
        assert tool in system and values[-1] in system
    assert "target_season" in system and "STOP" in system


def test_chat_plan_samples_and_prompt_builders(small_datasets):
    recs = _records(small_datasets, "simple")
    plans = L.to_chat_samples(recs, mode="plan", method="rl", include_image=True)
    assert len(plans) == len(recs)
    for s, rec in zip(plans, recs, strict=True):
        assert s.step is None and json.loads(s.target) == rec.meta["plan"]
        assert "Calls so far" not in s.messages[1]["content"]
        assert s.weight == (1.0 if rec.r >= 4.0 else 0.0)
        np.testing.assert_array_equal(s.image, rec.observations["image"][0])
    assert "actions" in plans[0].messages[0]["content"]
    # inference-time use: live values only (a context row, ToolCall objects)
    call = ToolCall("season_cycle", "winter_bare", 0.7)
    user = L.user_prompt("make it wintry", np.full(10, 0), [call], steps_left=3)
    assert '"target_season": "winter_bare"' in user and "Calls left: 3" in user
    text = L.assistant_target("Snow is asked for.\nIt is summer now.", call)
    assert text.count("\n") == 1
    assert L.parse_assistant(text) == ("Snow is asked for. It is summer now.", call)
    assert L.parse_assistant(L.assistant_target("Done.", Stop()))[1] == Stop()
    reply = 'I add snow. {"action_id": "season_cycle", "parameters": {"target_season": "winter_bare"}} ok'
    assert L.parse_assistant(reply)[1].value == "winter_bare"
    assert type(L.parse_assistant("no idea")[1]).__name__ == "Invalid"


def test_d3rlpy_buffer_and_fit(small_datasets):
    d3rlpy = pytest.importorskip("d3rlpy")
    recs = _records(small_datasets)
    cut = [_cut(r) for r in recs[:3]]  # truncated episodes: their last step needs its next obs
    data = cut + recs[3:]
    n_steps = sum(len(r) for r in data)
    ds = L.to_d3rlpy(data, method="rw", n_strength_bins=4, image_size=32)
    assert ds.transition_count == n_steps
    assert len(ds.episodes) == len(data)
    sig = ds.dataset_info.observation_signature
    assert sig.shape[0] == (3, 32, 32) and sig.dtype[0] == np.uint8
    info = ds.transition_info
    assert info.layout["instruction"][1] == sig.shape[1][0]
    assert ds.dataset_info.action_size == L.n_actions(4)
    np.testing.assert_allclose(
        info.weight,
        [
            sample_weights("rw", [r.r for r in data])[k]
            for k, r in enumerate(data)
            for _ in range(len(r))
        ],
        rtol=1e-6,
    )
    assert [int(e.terminated) for e in ds.episodes[:4]] == [0, 0, 0, 1]
    # buffer transition i is (episode[i], step[i]); observation t goes with action t
    tr = ds.buffer
    for i in (0, 1, len(recs[3]) + 2):
        ep, t = tr[i]
        assert t == info.step[i]
        assert int(ep.actions[t][0]) == info.flat_action[i]
    rec, ep = recs[3], ds.episodes[3]
    for t in range(len(rec)):
        obs = {k: v[t] for k, v in rec.observations.items()}
        img, vec = L.observation_tuple(obs, info.encoder)
        np.testing.assert_array_equal(img[0], ep.observations[0][t])
        np.testing.assert_allclose(vec[0], ep.observations[1][t], atol=1e-6)
    np.testing.assert_array_equal(
        ep.actions[:, 0],
        L.flat_actions(rec.actions["tool"], rec.actions["value"], rec.actions["strength"]),
    )
    np.testing.assert_allclose(ep.rewards[:, 0], rec.rewards, atol=1e-6)
    # a truncated episode: its final observation closes it, the placeholder is not a transition
    assert ds.episodes[0].size() == len(data[0]) + 1 and ds.episodes[0].transition_count == len(
        data[0]
    )

    r_ds = L.to_d3rlpy(data, reward="r", text_only=True)
    assert r_ds.dataset_info.observation_signature.shape == [(info.layout["instruction"][1],)]
    np.testing.assert_allclose(
        [e.rewards.sum() for e in r_ds.episodes], [r.r for r in data], atol=1e-4
    )
    six = L.to_d3rlpy(recs[:2], with_source=True)
    assert six.dataset_info.observation_signature.shape[0] == (6, 32, 32)

    from d3rlpy.algos import DiscreteBCConfig
    from d3rlpy.logging import NoopAdapterFactory

    factory = L.TupleEncoderFactory(feature_size=32, hidden_size=32, channels=(8, 8))
    algo = DiscreteBCConfig(batch_size=16, encoder_factory=factory).create(device="cpu:0")
    algo.fit(
        ds,
        n_steps=20,
        n_steps_per_epoch=20,
        logger_adapter=NoopAdapterFactory(),
        show_progress=False,
    )
    batch = {
        k: np.stack(v[:2]) if k != "instruction" else list(v[:2])
        for k, v in recs[0].observations.items()
    }
    actions = algo.predict(L.observation_tuple(batch, info.encoder))
    assert actions.shape == (2,) and ((actions >= 0) & (actions < L.n_actions(4))).all()
    # the same factory drives a text-only buffer (a vector alone)
    text_algo = DiscreteBCConfig(batch_size=16, encoder_factory=factory).create(device="cpu:0")
    text_algo.fit(
        r_ds,
        n_steps=5,
        n_steps_per_epoch=5,
        logger_adapter=NoopAdapterFactory(),
        show_progress=False,
    )
    assert d3rlpy.__version__.startswith("2.")


def test_observation_vector_live_forms(small_datasets):
    rec = _records(small_datasets, "simple")[0]
    one = {k: v[0] for k, v in rec.observations.items()}
    v = L.observation_vector(one)
    batch = {
        k: (np.stack(v_[:2]) if k != "instruction" else list(v_[:2]))
        for k, v_ in rec.observations.items()
    }
    vb = L.observation_vector(batch)
    assert v.shape == (vb.shape[1],) and vb.shape[0] == 2
    np.testing.assert_allclose(vb[0], v)
    lay = L.vector_layout(8, 256)
    a, z = lay["context"]
    assert v[a:z].sum() == 10  # one state per dimension
    assert v[lay["steps_left"][0]] == pytest.approx(1.0)
    # an already encoded instruction (EncodeInstruction) is used as is
    enc = L.make_encoder()
    pre = dict(one, instruction=enc.encode([one["instruction"]])[0])
    np.testing.assert_allclose(L.observation_vector(pre), v)
    # a name other than 'hash'/'minilm' is refused (a str has .encode(): it was taken for an
    # encoder object and failed deep inside the first batch)
    for name in ("minilm+hash", "hash:256"):
        with pytest.raises(ValueError, match=re.escape(f"got '{name}'")):
            L.make_encoder(name)
    with pytest.raises(ValueError, match="dim must be a positive int, got 0"):
        L.make_encoder("hash", dim=0)
    # a callable encoder
    v3 = L.observation_vector(one, lambda texts: np.ones((len(texts), 3)))
    assert v3.shape == (lay["instruction"][0] + 3,)
    with pytest.raises(ValueError, match="context states"):
        L.observation_vector(dict(one, context=np.full(10, 99)))


def test_vectors_from_an_instruction_table_equal_the_gathered_rows():
    """``vectors(..., index=)`` fills each row's instruction from the table in chunks: the same
    rows as gathering ``table[index]`` first (the copy it avoids), across chunk borders; an
    index outside the table is a named error."""
    from offline_data.loaders.observations import vectors

    rng = np.random.default_rng(0)
    b = 5000  # more than one chunk of 4096
    context = np.zeros((b, 10), np.int64)
    history = np.full((b, 8, 5), -1.0, np.float32)
    steps = rng.integers(0, 9, b).astype(np.float32)
    table = rng.normal(size=(7, 12)).astype(np.float32)
    index = rng.integers(0, 7, b)
    np.testing.assert_array_equal(
        vectors(context, history, steps, table, index=index),
        vectors(context, history, steps, table[index]),
    )
    with pytest.raises(ValueError, match="index must be"):
        vectors(context, history, steps, table, index=np.full(b, 7))
    with pytest.raises(ValueError, match="5000 histories but 7 instructions"):
        vectors(context, history, steps, table)


def test_d3rlpy_images_shrink_to_the_work_size(small_datasets):
    mdp = L.to_d3rlpy(small_datasets["simple"], work_size=16)
    assert mdp.episodes[0].observations[0].shape[1:] == (3, 16, 16)
    same = L.to_d3rlpy(small_datasets["simple"], work_size=64)  # never enlarged
    assert same.episodes[0].observations[0].shape[1:] == (3, 32, 32)
    img = np.random.default_rng(0).integers(0, 256, (2, 3, 32, 32), dtype=np.uint8)
    small = L.resize_uint8(img, 16)
    assert small.shape == (2, 3, 16, 16) and small.dtype == np.uint8
    assert abs(float(small.mean()) - float(img.mean())) < 1.0  # area averaging keeps the mean


def test_to_d3rlpy_shrinks_while_reading(small_datasets):
    # work_size resizes each episode as it is read; same observations as resizing afterwards
    from offline_data.loaders import resize_uint8, to_d3rlpy, to_tensors

    mdp = to_d3rlpy(small_datasets["simple"], work_size=16)
    images = np.concatenate([ep.observations[0] for ep in mdp.episodes])
    assert images.shape[1:] == (3, 16, 16)
    whole = to_d3rlpy(small_datasets["simple"], work_size=None)
    full = np.concatenate([ep.observations[0] for ep in whole.episodes])
    assert np.array_equal(images, resize_uint8(full, 16))
    rows = to_tensors(small_datasets["simple"], shrink=lambda a: resize_uint8(a, 8))
    assert tuple(rows.image.shape[1:]) == (3, 8, 8) and tuple(rows.sources.shape[1:]) == (3, 8, 8)


def test_d3rlpy_default_encoder_on_tuple_data_is_a_named_error(small_datasets):
    from d3rlpy.algos import DiscreteBCConfig, DiscreteCQLConfig
    from d3rlpy.logging import NoopAdapterFactory

    data = L.to_d3rlpy(small_datasets["simple"])
    for config in (DiscreteBCConfig, DiscreteCQLConfig):
        algo = config(batch_size=8).create(device="cpu:0")
        with pytest.raises(L.TupleObservationError, match="encoder_factory=.*TupleEncoderFactory"):
            algo.fit(data, n_steps=1, logger_adapter=NoopAdapterFactory(), show_progress=False)
    text = L.to_d3rlpy(small_datasets["simple"], text_only=True)  # vectors: the default works
    DiscreteBCConfig(batch_size=8).create(device="cpu:0").fit(
        text,
        n_steps=1,
        n_steps_per_epoch=1,
        logger_adapter=NoopAdapterFactory(),
        show_progress=False,
    )


def test_importing_the_loaders_does_not_import_d3rlpy():
    import subprocess
    import sys

    code = (
        "import sys; from offline_data import loaders; "
        "assert 'd3rlpy' not in sys.modules, 'offline_data.loaders imported d3rlpy'; "
        "loaders.TupleEncoderFactory; assert 'd3rlpy' in sys.modules"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_tuple_encoder_factory_is_registered_and_pickles_by_both_paths():
    import pickle

    from d3rlpy.models.encoders import EncoderFactory
    from d3rlpy.serializable_config import CONFIG_STORAGE

    from offline_data.loaders import d3rlpy as D

    assert L.TupleEncoderFactory is D.TupleEncoderFactory
    assert (
        CONFIG_STORAGE[EncoderFactory].config_list["image_styling_tuple"] is D.TupleEncoderFactory
    )
    for cls in (D.TupleEncoderFactory, D.TupleEncoder, D.TupleEncoderWithAction):
        assert (cls.__module__, cls.__qualname__) == ("offline_data.loaders.d3rlpy", cls.__name__)
    factory = L.TupleEncoderFactory(feature_size=32, channels=(8,))
    assert pickle.loads(pickle.dumps(factory)) == factory
    # a pickle written when the class lived in offline_data/loaders.py names that path
    old = pickle.dumps(factory, protocol=0).replace(
        b"offline_data.loaders.d3rlpy\n", b"offline_data.loaders\n"
    )
    assert b"offline_data.loaders\nTupleEncoderFactory" in old
    assert pickle.loads(old) == factory
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        L.nothing  # noqa: B018


def test_loader_argument_errors_name_the_argument():
    with pytest.raises(ValueError, match="mode must be one of step, plan, got 'dialogue'"):
        L.system_prompt("dialogue")
    with pytest.raises(ValueError, match="mode must be one of step, plan, got 'x'"):
        L.to_chat_samples([], mode="x")
    with pytest.raises(ValueError, match="reward must be one of env, r, got 'sum'"):
        L.to_d3rlpy([], reward="sum")
    for bad in (0, -1, 2.0, True, "4"):
        with pytest.raises(
            ValueError, match=f"n_strength_bins must be a positive int, got {bad!r}"
        ):
            L.n_actions(bad)
    assert L.n_actions(np.int64(4)) == L.n_actions(4)  # a numpy integer is a count too
    with pytest.raises(ValueError, match="n_strength_bins must be a positive int, got 0"):
        L.to_tensors([], n_strength_bins=0)
