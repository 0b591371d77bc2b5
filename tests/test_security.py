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
    from agents.endpoint import main

    monkeypatch.setenv("IMAGE_STYLING_API_KEY", KEY)
    monkeypatch.chdir(tmp_path)
    outs = []
    for behaviour in ("echo401", "echo200"):
        server.behaviour = behaviour
        out = tmp_path / f"{behaviour}.json"
        args = ["--model", "m", "--base-url", server.url, "--tasks", "2", "--image-size", "32",
                "--text-only", "--out", str(out)]  # fmt: skip
        assert main(args) == 0
        outs.append(out)
        if behaviour == "echo401":  # the probe's error names the 401, not the key
            assert main([*args[:-2], "--check"]) == 1
    assert any(r["headers"].get("Authorization") == f"Bearer {KEY}" for r in server.requests)
    captured = capsys.readouterr()
    assert "HTTP 401" in captured.err and "***" in json.loads(outs[0].read_text())["episodes"][0]["calls"][0]  # fmt: skip
    for f in tmp_path.rglob("*"):
        if f.is_file():
            assert KEY not in f.read_text(errors="replace"), f
    assert KEY not in captured.out and KEY not in captured.err
