"""Untrusted files, endpoints and concurrent runs (issue 15): no code runs from a checkpoint
without ``trust=True``, no key leaves the planner, ids are not paths, one writer per dataset and
benchmark cell, every report value escaped, clear errors for resources."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

KEY = "sk-PLANTED-0123456789abcdef"


# --------------------------------------------------------------------------------------------
# Endpoints (rows 4, 5, 6)


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _reply(self, status, body, headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _any(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        srv = self.server
        srv.requests.append({"path": self.path, "headers": dict(self.headers)})
        b = srv.behaviour
        if b == "echo401":  # a hostile or buggy server echoes the key it received
            auth = self.headers.get("Authorization", "")
            msg = {"error": {"message": f"invalid api key {auth} (you sent {auth})"}}
            return self._reply(401, json.dumps(msg).encode())
        if b == "echo200":  # ... or puts it in the reply text
            auth = self.headers.get("Authorization", "")
            msg = {"role": "assistant", "content": f"reasoning with {auth}\nSTOP"}
            return self._reply(200, json.dumps({"choices": [{"message": msg}]}).encode())
        if b == "redirect":
            return self._reply(302, b"{}", [("Location", srv.target)])
        if b == "deep":
            return self._reply(200, b"[" * 200_000 + b"]" * 200_000)
        if b == "huge":
            return self._reply(200, b'{"x": "' + b"a" * 5000 + b'"}')
        msg = {"role": "assistant", "content": "done\nSTOP"}
        self._reply(200, json.dumps({"choices": [{"message": msg}]}).encode())

    do_GET = do_POST = _any  # noqa: N815


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


def _serve(host="127.0.0.1"):
    srv = _Server((host, 0), _Handler)
    srv.requests, srv.behaviour = [], "ok"
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    srv.url = f"http://{host}:{srv.server_address[1]}/v1"
    return srv


@pytest.fixture
def server():
    srv = _serve()
    yield srv
    srv.shutdown()
    srv.server_close()


def _obs(n=1):
    from styling_env.vector import ImageStylingVectorEnv

    env = ImageStylingVectorEnv(n, tier="simple", image_size=32, observation_mode="text")
    obs, _ = env.reset(seed=0)
    env.close()
    return obs


def test_redirect_to_another_host_does_not_carry_the_key(server):
    from agents.endpoint import EndpointPlanner

    other = _serve()
    try:
        server.behaviour, server.target = "redirect", other.url.replace("127.0.0.1", "localhost") + "/steal"  # fmt: skip
        agent = EndpointPlanner("m", base_url=server.url, api_key=KEY, retries=0, vision=False)
        (action,), _ = agent.predict(_obs(1), episode_start=np.array([True]))
        assert other.requests == []  # nothing, let alone the key, reached the other host
        assert "redirect" in action.error and "not followed" in action.error
    finally:
        other.shutdown()
        other.server_close()


def test_plain_http_to_a_remote_host_needs_allow_http():
    from agents.endpoint import EndpointPlanner

    with pytest.raises(ValueError, match="plain http to another machine"):
        EndpointPlanner("m", base_url="http://api.example.com/v1", api_key="k")
    EndpointPlanner("m", base_url="http://api.example.com/v1", api_key="k", allow_http=True)
    EndpointPlanner("m", base_url="https://api.example.com/v1", api_key="k")


@pytest.mark.parametrize("behaviour,expected", [("deep", "nested deeper"), ("huge", "larger than")])
def test_hostile_replies_are_one_invalid_call(server, monkeypatch, behaviour, expected):
    import agents.endpoint as E
    from agents.evaluate import run_episodes
    from styling_env.tasks import test_tasks

    if behaviour == "huge":
        monkeypatch.setattr(E, "MAX_REPLY_BYTES", 4000)
    server.behaviour = behaviour
    agent = E.EndpointPlanner("m", base_url=server.url, api_key="k", retries=0, vision=False)
    eps = run_episodes(agent, test_tasks("simple", 2), tier="simple", image_size=32, num_envs=2,
                       observation_mode="text")  # fmt: skip
    for ep in eps:  # the evaluation went on: each episode ended at its third invalid call
        assert ep["invalid_calls"] == 3 and expected in ep["calls"][0]


def test_planted_key_is_written_nowhere(server, tmp_path, monkeypatch, capsys):
    from agents.endpoint import EndpointPlanner, main
    from agents.evaluate import evaluate

    monkeypatch.setenv("IMAGE_STYLING_API_KEY", KEY)
    monkeypatch.chdir(tmp_path)
    for behaviour in ("echo401", "echo200"):
        server.behaviour = behaviour
        out = tmp_path / f"{behaviour}.json"
        args = ["--model", "m", "--base-url", server.url, "--tasks", "2", "--image-size", "32",
                "--text-only", "--out", str(out)]  # fmt: skip
        if behaviour == "echo401":  # every request refused: an error, and nothing written
            assert main(args) == 1 and not out.exists()
            assert main([*args[:-2], "--check"]) == 1  # the probe's error names the 401
        else:
            assert main(args) == 0 and out.exists()
    assert any(r["headers"].get("Authorization") == f"Bearer {KEY}" for r in server.requests)
    captured = capsys.readouterr()
    assert "HTTP 401" in captured.err and "***" in captured.err
    server.behaviour = "echo401"  # the refused calls an evaluation records: the key redacted
    res = evaluate(EndpointPlanner("m", base_url=server.url, vision=False), "simple", 2, image_size=32)  # fmt: skip
    res.save(str(tmp_path / "api401.json"))
    assert "***" in json.loads((tmp_path / "api401.json").read_text())["episodes"][0]["calls"][0]
    for f in tmp_path.rglob("*"):
        if f.is_file():
            assert KEY not in f.read_text(errors="replace"), f
    assert KEY not in captured.out and KEY not in captured.err


# --------------------------------------------------------------------------------------------
# Checkpoints: no code from files (rows 1, 2, 3; row 16 is in test_qwen.py)


class _Payload:
    """Unpickling this creates the file ``marker`` (as any code could run)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_d3_pickle_payload_is_refused_without_trust(tmp_path, capsys):
    import pickle

    from agents.checkpoints import UntrustedCheckpointError
    from agents.d3rlpy_agents import D3rlpyAgent
    from agents.evaluate import load_agent, main

    marker = tmp_path / "pwned"
    path = tmp_path / "evil.d3"
    path.write_bytes(pickle.dumps({"torch": _Payload(marker), "config": "{}", "version": "2.8.0"}))
    meta = {"format": "image-styling-d3rlpy", "format_version": 1, "algo_class": "DiscreteBC"}
    D3rlpyAgent.sidecar_path(path).write_text(json.dumps(meta))
    with pytest.raises(UntrustedCheckpointError, match="trust=True"):
        load_agent(str(path))
    assert main([str(path), "--tasks", "1"]) == 1
    assert "--trust-checkpoint" in capsys.readouterr().err
    assert not marker.exists()


def _untrained_d3rlpy_agent(obs):
    from agents.d3rlpy_agents import D3rlpyAgent, make_config
    from offline_data.loaders import observation_tuple
    from styling_env.wrappers import HashingEncoder

    inst = HashingEncoder(256).encode(list(obs["instruction"]))
    x = observation_tuple({**obs, "instruction": inst}, None, work_size=32)
    algo = make_config("bc", batch_size=32).create()
    algo.create_impl([tuple(x[0].shape[1:]), tuple(x[1].shape[1:])], 685)
    return D3rlpyAgent(algo)


def test_d3_is_saved_as_weights_and_d3rlpy_files_still_load(tmp_path):
    import zipfile

    import torch

    from agents.d3rlpy_agents import D3rlpyAgent
    from styling_env.vector import ImageStylingVectorEnv

    env = ImageStylingVectorEnv(3, tier="simple", image_size=32)
    obs, _ = env.reset(seed=1)
    env.close()
    agent = _untrained_d3rlpy_agent(obs)
    path = agent.save(tmp_path / "bc.d3")
    assert zipfile.is_zipfile(path)
    blob = torch.load(path, weights_only=True)  # weights and JSON only
    assert json.loads(blob["config"])["action_size"] == 685
    assert not list(tmp_path.glob("*.tmp"))
    want = agent.predict(obs)[0]  # DiscreteBC: a native action (decode "mean")

    def same(got: dict) -> bool:
        return got.keys() == want.keys() and all(np.array_equal(got[k], want[k]) for k in want)

    assert same(D3rlpyAgent.load(path).predict(obs)[0])
    # a .d3 written by d3rlpy's own save (a pickle of plain data) loads without trust
    old = tmp_path / "old.d3"
    agent.algo.save(str(old))
    meta = json.loads(D3rlpyAgent.sidecar_path(path).read_text())
    D3rlpyAgent.sidecar_path(old).write_text(json.dumps({**meta, "format_version": 1}))
    assert same(D3rlpyAgent.load(old).predict(obs)[0])
    # a torch file that holds more than weights is refused like a pickle
    evil = tmp_path / "evil.d3"
    torch.save({"format": "image-styling-d3rlpy-weights", "x": _Payload(tmp_path / "pwned")}, evil)
    D3rlpyAgent.sidecar_path(evil).write_text(json.dumps(meta))
    from agents.checkpoints import UntrustedCheckpointError

    with pytest.raises(UntrustedCheckpointError, match="trust=True"):
        D3rlpyAgent.load(evil)
    assert not (tmp_path / "pwned").exists()
    # a truncated copy (an interrupted download) is a named error, not zipfile's traceback
    cut = tmp_path / "cut.d3"
    cut.write_bytes(path.read_bytes()[:200])
    D3rlpyAgent.sidecar_path(cut).write_text(json.dumps(meta))
    from agents.checkpoints import CheckpointError

    with pytest.raises(CheckpointError, match=r"cut\.d3 is damaged or incomplete"):
        D3rlpyAgent.load(cut)


@pytest.fixture(scope="module")
def ppo_zip(tmp_path_factory):
    from agents.online import train_online

    path = tmp_path_factory.mktemp("sb3") / "ppo.zip"
    model = train_online("ppo", "simple", steps=64, image_size=32, n_envs=1, progress=False,
                         hyper={"n_steps": 64, "batch_size": 64}, out=path)  # fmt: skip
    return path, model


def _rewrite_zip(src, dst, **members):
    import zipfile

    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for name in zin.namelist():
            zout.writestr(name, members.pop(name, None) or zin.read(name))
        for name, content in members.items():
            zout.writestr(name, content)


def test_sb3_zip_cloudpickle_fields_are_never_unpickled(ppo_zip, tmp_path):
    import base64
    import pickle
    import zipfile

    from agents.checkpoints import UntrustedCheckpointError
    from agents.evaluate import load_agent
    from styling_env.wrappers import HashingEncoder

    src, model = ppo_zip
    marker = tmp_path / "pwned"
    data = json.loads(zipfile.ZipFile(src).read("data"))
    evil = base64.b64encode(pickle.dumps(_Payload(marker))).decode()
    for k in ("lr_schedule", "observation_space", "policy_class"):
        data[k] = {":type:": "<class 'function'>", ":serialized:": evil}
    path = tmp_path / "evil.zip"
    _rewrite_zip(src, path, data=json.dumps(data).encode())
    back = load_agent(str(path))
    assert not marker.exists()
    assert back.styling_info["image_size"] == 32
    from styling_env.vector import ImageStylingVectorEnv

    env = ImageStylingVectorEnv(3, tier="simple", image_size=32)
    obs, _ = env.reset(seed=2)
    env.close()
    enc = {k: v for k, v in obs.items() if k in model.observation_space.spaces}
    enc["instruction"] = HashingEncoder(256).encode(list(obs["instruction"]))
    assert np.array_equal(back.predict(enc, deterministic=True)[0], model.predict(enc, deterministic=True)[0])  # fmt: skip
    # a zip that only SB3's unpickling loader can read (no styling_info) needs trust
    del data["styling_info"]
    other = tmp_path / "other.zip"
    _rewrite_zip(src, other, data=json.dumps(data).encode())
    with pytest.raises(UntrustedCheckpointError, match="--trust-checkpoint"):
        load_agent(str(other))
    assert not marker.exists()


def test_sb3_zip_bomb_is_refused_before_decompressing(ppo_zip, tmp_path):
    import tracemalloc

    from agents.checkpoints import CheckpointError
    from agents.online import load_online

    src, _ = ppo_zip
    bomb = tmp_path / "bomb.zip"
    _rewrite_zip(src, bomb, **{"policy.pth": b"\0" * (64 * 2**20)})
    assert bomb.stat().st_size < 2**20
    tracemalloc.start()
    with pytest.raises(CheckpointError, match="zip bomb"):
        load_online(bomb)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 16 * 2**20


# --------------------------------------------------------------------------------------------
# Ids are not paths (rows 7, 8); issue 16's list / no-namespace id / canonical-id warning


def _fail(*a, **k):
    raise AssertionError("work started before the id was checked")


def test_download_of_a_path_id_touches_nothing_outside_the_root(tmp_path, monkeypatch, capsys):
    from offline_data.__main__ import main

    root, mirror, victim = tmp_path / "root", tmp_path / "mirror", tmp_path / "victim-v0"
    for d in (root, mirror, victim / "data"):
        d.mkdir(parents=True)
    (victim / "data" / "metadata.json").write_text('{"dataset_id": "victim-v0"}')
    (victim / "precious.txt").write_text("keep me")
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(root))
    for argv in (["download", "--force", "../victim-v0", "--remote", str(mirror)],
                 ["download", "../victim-v0", "--remote", str(mirror)],
                 ["download", str(victim), "--remote", str(mirror)]):  # fmt: skip
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "invalid dataset id" in err and "--force" not in err
    assert (victim / "precious.txt").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mirror", "root", "victim-v0"]
    assert not (tmp_path / "namespace_metadata.json").exists()


def test_generate_refuses_a_path_id_before_any_work(tmp_path, monkeypatch, capsys):
    import offline_data.generate as G
    from offline_data.__main__ import main
    from offline_data.safety import InvalidIdError, inside

    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "root"))
    monkeypatch.setattr(G, "reference_returns", _fail)
    monkeypatch.setattr(G, "rollouts", _fail)
    argv = ["generate", "--tier", "simple", "--episodes", "5", "--id", "../x-v0", "--overwrite"]
    assert main(argv) == 2 and "invalid dataset id '../x-v0'" in capsys.readouterr().err
    # the last three pass the path rules but not Minari's grammar, which refused them only
    # after every episode was generated
    for bad in ("../x-v0", "/tmp/x-v0", "a/../../x-v0", ".hidden-v0", "x", "a//b-v0",
                "t/simple-v0", "my.data-v0", "ns.x/data-v0"):  # fmt: skip
        with pytest.raises(InvalidIdError):
            G.generate("simple", 5, did=bad, overwrite=True)
    for cmd in (["show", "../x-v0"], ["verify", "/x-v0"], ["merge", "a/b-v0", "../p-v0"],
                ["import-paper", str(tmp_path), "--id", "../p-v0"]):  # fmt: skip
        assert main(cmd) == 2
    assert not (tmp_path / "x-v0").exists()
    (tmp_path / "root").mkdir(exist_ok=True)
    (tmp_path / "root" / "link").symlink_to(tmp_path)
    with pytest.raises(InvalidIdError, match="outside"):
        inside(tmp_path / "root", "link/x-v0")


def test_no_namespace_id_list_and_canonical_warning(tmp_path, monkeypatch, capsys):
    import fcntl
    import os

    import offline_data.generate as G
    from offline_data.__main__ import main
    from offline_data.dataset import DatasetError, dataset_path, load
    from offline_data.safety import ConcurrentWriteError, lock_path

    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "root"))
    kw = dict(image_size=32, ref_episodes=0, num_envs=2, progress=False)
    path = G.generate("simple", 2, did="mydata-v0", **kw)  # issue 16: no false "already exists"
    assert path == tmp_path / "root" / "mydata-v0" and load("mydata-v0").total_episodes == 2
    assert main(["list"]) == 0  # issue 16: it listed nothing ("image-styling/data unusable")
    out = capsys.readouterr().out
    assert "mydata-v0" in out and "2 episodes" in out and "unusable" not in out

    # issue 16: a non-canonical recipe under a canonical id warns
    monkeypatch.setattr(G, "_generate", lambda *a, **k: None)
    with pytest.warns(G.NonCanonicalWarning, match="episodes=40 \\(canonical 10000\\)"):
        G.generate("simple", 40, did="image-styling/simple-v0", **kw)

    # row 10: a second writer of the same id is refused at once; nothing is replaced
    fd = os.open(lock_path(dataset_path("mydata-v0")), os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another process writing mydata-v0
    try:
        monkeypatch.setattr(G, "reference_returns", _fail)
        with pytest.raises(ConcurrentWriteError, match="another process"):
            G.generate("simple", 2, seed=1, did="mydata-v0", overwrite=True, **kw)
    finally:
        os.close(fd)
    assert load("mydata-v0").total_episodes == 2

    # row 10: "already exists" is checked again at the moment of replacing
    final = dataset_path("other-v0")

    def appears():  # another writer (on another machine) finishes while this one writes
        (final / "data").mkdir(parents=True)
        (final / "theirs.txt").write_text("theirs")
        yield from ()

    recipe = G.Recipe("simple", 0, 0, 32)
    with pytest.raises(DatasetError, match="appeared .* while this run was writing"):
        G.write_dataset("other-v0", appears(), recipe=recipe, ref_scores=None)
    assert (final / "theirs.txt").read_text() == "theirs"
    assert not [p for p in (tmp_path / "root").iterdir() if p.name.startswith(".staging")]


# --------------------------------------------------------------------------------------------
# Downloads verified (row 9)


def test_download_refuses_other_data_under_a_canonical_id(small_datasets, tmp_path, monkeypatch):
    import os
    import shutil
    from pathlib import Path

    from offline_data import remote as R
    from offline_data.dataset import DatasetError

    src = Path(os.environ["MINARI_DATASETS_PATH"])
    mirror, fresh = tmp_path / "mirror", tmp_path / "fresh"
    simple = small_datasets["simple"]
    shutil.copytree(src / simple, mirror / simple)  # 24 episodes at 32 px: not the canonical data
    shutil.copytree(
        src / simple, mirror / "image-styling" / "regular-v0"
    )  # simple under regular's id
    shutil.copytree(src / simple, mirror / "image-styling" / "mine-v0")
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(fresh))
    kw = dict(remote=str(mirror), regenerate=False, progress=False, log=lambda _: None)
    assert R.canonical_recipes()[simple]["checksum"]  # a canonical checksum is recorded
    with pytest.raises(DatasetError, match="not the canonical .*--allow-noncanonical"):
        R.download(simple, **kw)
    assert not (fresh / simple).exists()
    with pytest.raises(DatasetError, match="served dataset 'image-styling/simple-v0' under the id 'image-styling/regular-v0'"):  # fmt: skip
        R.download("image-styling/regular-v0", **kw, allow_noncanonical=True)
    with pytest.raises(
        DatasetError, match="served dataset"
    ):  # no canonical checksum: the id still counts
        R.download("image-styling/mine-v0", **kw)
    assert not (fresh / "image-styling" / "regular-v0").exists()
    assert R.download(simple, **kw, allow_noncanonical=True) == fresh / simple
    meta = json.loads((fresh / simple / "data" / "metadata.json").read_text())
    assert meta["image_styling"]["canonical"] is False


# --------------------------------------------------------------------------------------------
# One writer per benchmark cell, clear write errors (rows 10, 11)


def test_benchmark_cell_has_one_writer(tmp_path):
    import fcntl
    import os

    from experiments import benchmark as B
    from offline_data.safety import ConcurrentWriteError, lock_path

    runner = B.Runner(B.PRESETS["quick"], tmp_path / "run", progress=False)
    cell = B.Cell("main", "simple", "random", 0, None)
    fd = os.open(lock_path(cell.folder(runner.out)), os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another process computing this cell
    try:
        with pytest.raises(ConcurrentWriteError, match="benchmark cell main/simple/random/seed0"):
            runner.cell(cell, None)
    finally:
        os.close(fd)


def test_full_disk_and_unwritable_folders_are_named(tmp_path, monkeypatch, capsys):
    import errno

    import torch

    import offline_data.generate as G
    from agents.embedded import EmbeddedPlanner
    from experiments import benchmark as B
    from offline_data.safety import WriteError

    def full(*a, **k):
        raise RuntimeError("[enforce fail at inline_container.cc:664] . PytorchStreamWriter failed writing file data/3: file write failed")  # fmt: skip

    monkeypatch.setattr(torch, "save", full)
    with pytest.raises(WriteError, match=r"cannot write .*model\.pt: the disk is full"):
        EmbeddedPlanner().save(tmp_path / "run" / "model.pt")
    assert list((tmp_path / "run").iterdir()) == []  # no temporary file left

    def enospc(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", enospc)
    with pytest.raises(WriteError, match="the disk is full"):
        EmbeddedPlanner().save(tmp_path / "run" / "model.pt")
    assert list((tmp_path / "run").iterdir()) == []

    from agents.calllevel.critic import CallCritic  # the critic's checkpoint alike
    from agents.embedded.config import PlannerConfig

    critic = CallCritic(PlannerConfig(image_size=32, encoder="minilm+hash", hash_dim=64))
    with pytest.raises(WriteError, match=r"cannot write .*critic\.pt: the disk is full"):
        critic.save(tmp_path / "run" / "critic.pt")
    assert list((tmp_path / "run").iterdir()) == []

    # an --out or MINARI_DATASETS_PATH that cannot be written (a file stands in its way;
    # permissions cannot simulate it for root) is a clear error before any work
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert B.main(["--preset", "quick", "--out", str(blocker / "run")]) == 1
    assert f"cannot write {blocker / 'run'}" in capsys.readouterr().err
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(blocker / "datasets"))
    monkeypatch.setattr(G, "reference_returns", _fail)
    with pytest.raises(WriteError, match=f"cannot write {blocker / 'datasets'}"):
        G.generate("simple", 2, did="mine-v0", image_size=32)


def test_atomic_write_writes_whole_files_or_none(tmp_path, monkeypatch):
    import errno
    import os

    from offline_data.safety import WriteError, atomic_write

    path = tmp_path / "sub" / "f.json"
    assert atomic_write(path, lambda t: t.write_text("one")) == path  # the folder is made
    names = []

    def half_then_fail(t):
        names.append(t.name)
        t.write_text("half")
        raise OSError(errno.ENOSPC, "No space left on device")

    for _ in range(2):
        with pytest.raises(WriteError, match=r"cannot write .*f\.json: the disk is full"):
            atomic_write(path, half_then_fail)
    assert path.read_text() == "one" and sorted(os.listdir(path.parent)) == ["f.json"]
    assert names[0] != names[1] and all(n.startswith(".f.json.") for n in names)  # per call

    def torch_full(t):  # how torch.save reports a full disk
        raise RuntimeError("PytorchStreamWriter failed writing file data/3: file write failed")

    with pytest.raises(WriteError, match="the disk is full"):
        atomic_write(path, torch_full)

    def bug(t):  # not a write failure: passes through as it is
        raise RuntimeError("shape mismatch")

    with pytest.raises(RuntimeError, match="shape mismatch") as e:
        atomic_write(path, bug)
    assert not isinstance(e.value, WriteError)
    blocker = tmp_path / "a-file"  # a file where the folder should be
    blocker.write_text("")
    with pytest.raises(WriteError, match=f"cannot write {blocker / 'x'}"):
        atomic_write(blocker / "x", lambda t: t.write_text("never"))
    assert sorted(os.listdir(path.parent)) == ["f.json"] and blocker.read_text() == ""


def test_the_instruction_cache_leaves_no_temporary_file_when_a_write_fails(tmp_path, monkeypatch):
    import numpy as np

    from agents.embedded.text import InstructionEncoder

    def full(f, *a, **k):
        f.write(b"half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "save", full)
    InstructionEncoder._write(tmp_path / "cache" / "v.npy", np.zeros(3, np.float32))
    assert list((tmp_path / "cache").iterdir()) == []  # a read-only or full cache costs speed only


# --------------------------------------------------------------------------------------------
# Malformed paper JSON (row 12), HTML report (row 13)


def test_paper_json_too_deep_or_too_large_is_a_named_error_per_sample(tmp_path):
    import shutil
    from pathlib import Path

    import offline_data.paper as P
    from offline_data.dataset import DatasetError

    fixture = Path(__file__).parent / "fixtures" / "paper_release"
    release = tmp_path / "release"
    shutil.copytree(fixture, release)
    samples = P.sample_folders(release)
    deep, huge = samples[0], samples[1]
    (deep / "prompt.json").write_text("[" * 100_000 + "]" * 100_000)
    (huge / "prompt.json").write_text(json.dumps({"edit_info": {"text": "x" * (2 * P.MAX_JSON_BYTES)}}))  # fmt: skip
    with pytest.raises(DatasetError, match=f"{deep.name}.*nested deeper than 32"):
        P.read_sample(deep, 32)
    with pytest.raises(DatasetError, match=f"{huge.name}.*over the limit"):
        P.read_sample(huge, 32)
    for s in samples[2:]:
        shutil.rmtree(s)
    # --skip-bad skips them (here: nothing valid is left, and the error lists both reasons)
    with pytest.raises(DatasetError, match="no valid sample.*nested deeper.*over the limit"):
        P.import_paper(release, "image-styling/paper-v0", image_size=32, strict=False, progress=False)  # fmt: skip


def test_report_html_escapes_every_field(tmp_path):
    import re

    from test_benchmark import _cell

    from experiments import report as R

    evil = "<script>alert(1)</script>"
    cells = [_cell("s", 0, [50.0, 70.0]), _cell("edit-only", 0, [30.0, 40.0])]
    res = {
        "format": "image-styling-benchmark/1",
        "preset": {"tiers": ["simple"], "methods": ["edit-only", "s"], "seeds": 1, "episodes": 10,
                   "image_size": 32, "eval_tasks": 2, "filmstrip_methods": []},
        "cells": cells,
        "datasets": {evil: {"episodes": evil, "checksum": evil}},
        "timings": {"datasets": {evil: {"seconds": evil}}},
        "machine": {"cpu": evil},
    }  # fmt: skip
    path = tmp_path / "results.json"
    path.write_text(json.dumps(res))
    page = R.build(path, tmp_path / "out").read_text()
    assert "&lt;script&gt;" in page
    assert not re.search(r"<script", page, re.I)


# --------------------------------------------------------------------------------------------
# Resources: an over-long instruction (row 15), num_envs x image_size that cannot fit (row 14)


@pytest.mark.parametrize("n", [601, 10_000, 1_000_000])
def test_over_long_instruction_is_an_error_that_states_the_limit(n):
    from styling_env.tasks import user_task

    with pytest.raises(ValueError, match=f"{n:,} characters; the limit is 600"):
        user_task("make it winter " + "x" * (n - 15))
    assert len(user_task("w" * 600).instruction) == 600


def test_a_vector_env_that_cannot_fit_is_refused_up_front(tmp_path):
    import subprocess
    import sys
    import time
    from pathlib import Path

    code = (
        "import resource\n"
        "resource.setrlimit(resource.RLIMIT_AS, (8 * 2**30, resource.getrlimit(resource.RLIMIT_AS)[1]))\n"
        "from styling_env.vector import ImageStylingVectorEnv\n"
        "ImageStylingVectorEnv(64, image_size=1024)\n"
    )  # fmt: skip
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       cwd=Path(__file__).resolve().parents[1])  # fmt: skip
    assert p.returncode == 1 and "InsufficientMemoryError" in p.stderr
    assert "num_envs=64 at image_size=1024 needs about 12.6 GB" in p.stderr
    # the tighter of the two bounds is named: the 8 GB limit, or the machine's available memory
    # where other processes left less than that
    meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    if int(meminfo["MemAvailable"].split()[0]) * 1024 >= 8 * 2**30:
        assert "RLIMIT_AS (ulimit -v) of 8.0 GB" in p.stderr
    else:
        assert (
            "RLIMIT_AS (ulimit -v) of 8.0 GB" in p.stderr
            or "the machine's available memory" in p.stderr
        )
    assert time.perf_counter() - t0 < 60  # before any allocation, not after the allocator fails
