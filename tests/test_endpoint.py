"""The chat-endpoint planner against a small OpenAI-compatible server on 127.0.0.1 (a thread of
this test process): the request it sends, the replies it reads, and every failure mode."""

from __future__ import annotations

import base64
import io
import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from agents.endpoint import EndpointError, EndpointPlanner, main
from agents.evaluate import evaluate
from offline_data.loaders import assistant_target, system_prompt
from styling_env.engine import Invalid, Stop
from styling_env.tools import ToolCall
from styling_env.vector import ImageStylingVectorEnv

CALL = ToolCall("season_cycle", "winter_bare", 0.6)
PLAN = {
    "reasoning": "winter at night",
    "overall_instruction": "make it a winter night",
    "actions": [
        {"action_id": "season_cycle", "reasoning": "snow first", "priority": 1,
         "parameters": {"target_season": "winter_bare", "strength": 0.6}},
        {"action_id": "time_of_day", "reasoning": "then the night", "priority": 2,
         "parameters": {"target_time": "night_moonlit", "strength": 0.8}},
    ],
}  # fmt: skip


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass

    def _reply(self, status: int, body: bytes, ctype: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802 - http.server's name
        self.server.requests.append({"method": "GET", "path": self.path, "headers": dict(self.headers)})  # fmt: skip
        self._reply(200, b'{"data": [{"id": "test-model"}]}')

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        srv = self.server
        srv.requests.append({"method": "POST", "path": self.path, "headers": dict(self.headers), "body": body})  # fmt: skip
        behaviour = srv.behaviour
        if behaviour == "500":
            return self._reply(500, b'{"error": {"message": "the model is overloaded"}}')
        if behaviour == "401":
            return self._reply(401, b'{"error": {"message": "invalid api key"}}')
        if behaviour == "badjson":
            return self._reply(200, b'{"choices": [ {"message": ')
        if behaviour == "nocontent":
            return self._reply(200, b'{"choices": []}')
        if behaviour == "slow":
            time.sleep(1.0)
        user = body["messages"][1]["content"]
        text = user if isinstance(user, str) else user[-1]["text"]
        if "Answer with the whole plan" in body["messages"][0]["content"]:
            reply = "Here is my plan:\n" + json.dumps(PLAN)
        elif "Calls so far: none" in text:
            reply = assistant_target("The request wants winter and the scene is summer.", CALL)
        else:
            reply = "It matches now.\nSTOP"
        msg = {"role": "assistant", "content": reply}
        self._reply(
            200, json.dumps({"id": "x", "choices": [{"index": 0, "message": msg}]}).encode()
        )


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):  # a client that timed out hung up: fine
        pass


@pytest.fixture
def server():
    srv = _Server(("127.0.0.1", 0), _Handler)
    srv.requests = []
    srv.behaviour = "ok"
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    srv.url = f"http://127.0.0.1:{srv.server_address[1]}/v1"
    yield srv
    srv.shutdown()
    srv.server_close()


def _observation(n: int = 1, mode: str = "image"):
    env = ImageStylingVectorEnv(n, tier="simple", image_size=32, observation_mode=mode)
    obs, _ = env.reset(seed=0)
    env.close()
    return obs


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_request_has_the_headers_model_messages_and_image(server):
    agent = EndpointPlanner("test-model", base_url=server.url, api_key="sk-test", retries=0)
    obs = _observation(1)
    actions, _ = agent.predict(obs, episode_start=np.array([True]))
    assert actions == [CALL]
    assert agent.last_reasons == ["The request wants winter and the scene is summer."]
    (req,) = server.requests
    assert req["path"] == "/v1/chat/completions"
    assert req["headers"]["Authorization"] == "Bearer sk-test"
    assert req["headers"]["Content-Type"] == "application/json"
    body = req["body"]
    assert body["model"] == "test-model" and body["temperature"] == 0.0
    assert body["max_tokens"] == 300
    system, user = body["messages"]
    assert system == {"role": "system", "content": system_prompt("step")}
    assert user["role"] == "user" and [p["type"] for p in user["content"]] == ["image_url", "text"]
    assert user["content"][1]["text"].startswith(f"Request: {obs['instruction'][0]}")
    url = user["content"][0]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    from PIL import Image

    img = np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))
    assert np.array_equal(img, obs["image"][0])  # lossless, the current image
    assert "sk-test" not in repr(agent)


def test_text_only_sends_no_image_and_reads_the_key_from_the_environment(server, monkeypatch):
    monkeypatch.delenv("IMAGE_STYLING_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    agent = EndpointPlanner("m", base_url=server.url + "/", vision=False)
    assert agent.observation_mode == "text"
    agent.predict(_observation(1, "text"), episode_start=np.array([True]))
    req = server.requests[-1]
    assert req["headers"]["Authorization"] == "Bearer sk-env"
    assert isinstance(req["body"]["messages"][1]["content"], str)


@pytest.mark.parametrize("mode", ["step", "plan"])
def test_full_episodes_through_evaluate(server, mode):
    agent = EndpointPlanner("m", base_url=server.url, api_key="k", mode=mode, retries=0)
    res = evaluate(agent, "simple", 3, image_size=32, num_envs=3)
    for ep in res.episodes:
        assert ep["invalid_calls"] == 0
        if mode == "step":  # closed loop: a call, then STOP once the calls are listed
            assert ep["calls"] == [json.dumps(CALL.to_dict()), "STOP"]
        else:  # open loop: the plan's two calls, one per step, then STOP
            assert len(ep["calls"]) == 3 and ep["calls"][2] == "STOP"
            assert ep["reasons"][:2] == ["snow first", "then the night"]
    posts = [r for r in server.requests if r["method"] == "POST"]
    assert len(posts) == (6 if mode == "step" else 3)


@pytest.mark.parametrize(
    "behaviour,expected",
    [
        ("500", "HTTP 500 Internal Server Error from http://127.0.0.1:"),
        ("badjson", "malformed JSON from"),
        ("nocontent", "no choices[0].message.content"),
        ("slow", "within 0.3 s (timeout)"),
    ],
)
def test_failures_become_invalid_calls(server, behaviour, expected):
    server.behaviour = behaviour
    agent = EndpointPlanner("m", base_url=server.url, api_key="k", retries=0, timeout=0.3)
    res = evaluate(agent, "simple", 2, image_size=32, num_envs=2)
    for ep in res.episodes:  # the env ends an episode at its third invalid call
        assert ep["invalid_calls"] == 3 and all(c.startswith("INVALID: chat endpoint error") for c in ep["calls"])  # fmt: skip
        assert expected in ep["calls"][0]
    assert len(agent.errors) == 6
    if behaviour == "500":
        assert "the model is overloaded" in agent.errors[0]


def test_unreachable_endpoint_and_retries():
    url = f"http://127.0.0.1:{_free_port()}/v1"
    agent = EndpointPlanner("m", base_url=url, api_key="", retries=1, backoff=0.01)
    (action,), _ = agent.predict(_observation(1), episode_start=np.array([True]))
    assert isinstance(action, Invalid)
    assert "cannot reach" in action.error and "after 2 attempts" in action.error
    with pytest.raises(EndpointError, match="does not answer"):
        EndpointPlanner("m", base_url=url, api_key="", retries=0, check=True)


def test_retries_recover_from_a_transient_error(server):
    calls = {"n": 0}
    original = _Handler.do_POST

    def flaky(self):
        calls["n"] += 1
        self.server.behaviour = "500" if calls["n"] == 1 else "ok"
        original(self)

    _Handler.do_POST = flaky
    try:
        agent = EndpointPlanner("m", base_url=server.url, api_key="k", retries=2, backoff=0.01)
        (action,), _ = agent.predict(_observation(1), episode_start=np.array([True]))
    finally:
        _Handler.do_POST = original
    assert action == CALL and calls["n"] == 2 and not agent.errors


def test_check_probes_and_construction_errors(server, monkeypatch):
    EndpointPlanner("m", base_url=server.url, api_key="k", check=True)
    assert server.requests[-1]["path"] == "/v1/models"
    for var in ("IMAGE_STYLING_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(ValueError, match="no API key for https://api.example.com/v1: set IMAGE_STYLING_API_KEY or OPENAI_API_KEY"):  # fmt: skip
        EndpointPlanner("m", base_url="https://api.example.com/v1")
    with pytest.raises(ValueError, match="base_url must be an http"):
        EndpointPlanner("m", base_url="ftp://example.com", api_key="k")
    with pytest.raises(ValueError, match="mode must be one of step, plan"):
        EndpointPlanner("m", base_url=server.url, api_key="k", mode="chain")
    with pytest.raises(ValueError, match="model must be"):
        EndpointPlanner("", base_url=server.url, api_key="k")
    with pytest.raises(ValueError, match="timeout must be > 0"):
        EndpointPlanner("m", base_url=server.url, api_key="k", timeout=0)
    assert EndpointPlanner("m", base_url=server.url).api_key == ""  # a local server needs no key


def test_done_sub_envs_are_not_asked_and_stop(server):
    agent = EndpointPlanner("m", base_url=server.url, api_key="k")
    obs = _observation(2)
    obs["history"][1, 0, 0] = 10  # sub-env 1 already called STOP
    actions, _ = agent.predict(obs, episode_start=np.array([True, True]))
    assert actions[0] == CALL and actions[1] == Stop()
    assert len(server.requests) == 1


def test_cli(server, capsys, tmp_path, monkeypatch):
    out = tmp_path / "ep.json"
    args = ["--model", "m", "--base-url", server.url, "--tier", "simple", "--tasks", "2",
            "--image-size", "32", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    assert "invalid calls per episode 0.00" in capsys.readouterr().out
    assert json.loads(out.read_text())["summary"]["episodes"] == 2
    assert main(["--model", "m", "--base-url", "ftp://x"]) == 1
    assert "base_url must be an http" in capsys.readouterr().err
    # nothing answers: every request failed, which is not a score of 0 (and no file is written)
    import agents.endpoint as ep

    monkeypatch.setattr(ep.time, "sleep", lambda s: None)  # the retries' backoff
    dead = f"http://127.0.0.1:{_free_port()}/v1"
    gone = tmp_path / "dead.json"
    args = ["--model", "m", "--base-url", dead, "--tasks", "2", "--image-size", "32",
            "--out", str(gone)]  # fmt: skip
    assert main(args) == 1
    assert re.search(
        r"every request to the endpoint failed \((\d+) of \1\)", capsys.readouterr().err
    )
    assert not gone.exists()
