"""A planner behind any OpenAI-compatible chat endpoint (the paper's GPT-4o zero-shot baseline).

:class:`EndpointPlanner` sends the Qwen3-VL planner's prompts (:mod:`agents.qwen.prompting`:
the same system and user messages, the same reply parser, closed loop ``step`` or open loop
``plan``) to ``POST {base_url}/chat/completions``: OpenAI, Azure-style gateways, vLLM, llama.cpp,
Ollama's ``/v1``... In vision mode the current image rides along as a base64 PNG data URL
(``{"type": "image_url", "image_url": {"url": "data:image/png;base64,..."}}``).

Only the standard library talks to the network (:mod:`urllib.request`). The API key comes from
``api_key`` or the environment (``IMAGE_STYLING_API_KEY``, then ``OPENAI_API_KEY``); the base URL
from ``base_url`` or ``IMAGE_STYLING_BASE_URL`` / ``OPENAI_BASE_URL`` (default OpenAI's).

Errors: a bad configuration (no key for a remote endpoint, a URL that is not http(s), plain
http to a host that is not this machine without ``allow_http=True``, an unknown mode) raises
``ValueError`` at construction, and ``check=True`` also probes the endpoint there
(:class:`EndpointError` if it does not answer). During an evaluation, a failed request (HTTP
error, timeout, unreachable host, malformed JSON, a reply without content) never raises: it
becomes that sub-env's invalid call, whose error names the problem, and the episode goes on.

Untrusted endpoints: redirects are never followed (the ``Authorization`` header would go with
them; the error names the target so ``base_url`` can be set to it); a reply larger than
:data:`MAX_REPLY_BYTES` or nested deeper than :data:`MAX_JSON_DEPTH` is one invalid call; the
API key is replaced by ``***`` in every error message and reply text the planner keeps, so it
never reaches results, logs or reports.

    python -m agents.endpoint --model gpt-4o --tier simple --tasks 200 --out gpt4o-simple.json
"""

from __future__ import annotations

import base64
import io
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from agents.qwen.prompting import ChatPlanner, Prompt
from offline_data.safety import json_depth  # one depth check for every untrusted JSON
from styling_env.engine import Invalid

#: Environment variables read for the API key, in order.
KEY_ENV: tuple[str, ...] = ("IMAGE_STYLING_API_KEY", "OPENAI_API_KEY")
#: Environment variables read for the base URL, in order.
URL_ENV: tuple[str, ...] = ("IMAGE_STYLING_BASE_URL", "OPENAI_BASE_URL")
DEFAULT_BASE_URL = "https://api.openai.com/v1"
#: Default ``max_tokens`` per mode.
MAX_TOKENS: Mapping[str, int] = {"step": 300, "plan": 1200}
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "0.0.0.0")
_RETRY_STATUS = (408, 409, 429, 500, 502, 503, 504)
#: Largest reply body read (bytes); a larger reply is an invalid call.
MAX_REPLY_BYTES = 8 * 1024 * 1024
#: Deepest JSON nesting accepted in a reply; a deeper one is an invalid call.
MAX_JSON_DEPTH = 64


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Never follow a redirect: the request carries the API key."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001
        raise urllib.error.HTTPError(
            req.full_url, code, f"redirect to {newurl} not followed (it would carry the API key; "
            "set base_url to the final URL if you trust it)", headers, fp
        )  # fmt: skip


_OPENER = urllib.request.build_opener(_NoRedirect)


class EndpointError(RuntimeError):
    """A request to the chat endpoint failed; the message says how (status, cause, URL)."""


def image_data_url(image: np.ndarray) -> str:
    """An ``(H, W, 3)`` uint8 image as a ``data:image/png;base64,...`` URL."""
    from PIL import Image

    a = np.asarray(image)
    if a.ndim != 3 or a.shape[-1] != 3 or a.dtype != np.uint8:
        raise ValueError(f"image must be (H, W, 3) uint8, got shape {a.shape} dtype {a.dtype}")
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def chat_messages(prompt: Prompt) -> list[dict[str, Any]]:
    """OpenAI chat messages of a prompt: the system text, then the user turn (image part first
    in vision mode, then the text)."""
    user: Any = prompt.user
    if prompt.image is not None:
        user = [
            {"type": "image_url", "image_url": {"url": image_data_url(prompt.image)}},
            {"type": "text", "text": prompt.user},
        ]
    return [{"role": "system", "content": prompt.system}, {"role": "user", "content": user}]


def reply_text(data: Any) -> str:
    """The assistant text of a chat-completions response (``choices[0].message.content``; a
    list of content parts is joined). Raises :class:`EndpointError` when there is none."""
    try:
        content = data["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError) as e:
        raise EndpointError(
            f"the response has no choices[0].message.content ({type(e).__name__}: {e}); "
            f"got {json.dumps(data)[:200]}"
        ) from None
    if isinstance(content, list):
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    if not isinstance(content, str):
        raise EndpointError(f"choices[0].message.content is {type(content).__name__}, not text")
    return content


class EndpointPlanner(ChatPlanner):
    """A planner whose replies come from an OpenAI-compatible ``/v1/chat/completions``.

    Args:
        model: the endpoint's model name (``gpt-4o``, ``Qwen/Qwen3-VL-8B-Instruct``, ...).
        base_url: the API root (``https://api.openai.com/v1``); default from the environment.
        api_key: the bearer token; default from :data:`KEY_ENV`. Required unless the endpoint
            is on this machine (``api_key=""`` sends none).
        mode: ``"step"`` (closed loop) or ``"plan"`` (open loop).
        vision: send the current image (``False``: text only; the env then drops images).
        deterministic: temperature 0 by default (``False``: ``temperature``).
        max_tokens: reply cap; default :data:`MAX_TOKENS` of the mode.
        timeout: seconds per request.
        retries: further attempts after a timeout, an unreachable host or HTTP 408/409/429/5xx
            (exponential backoff from ``backoff`` seconds).
        workers: requests in flight at once (one per sub-env that needs a reply).
        check: probe the endpoint at construction (``GET {base_url}/models``, falling back to a
            one-token chat request) and raise :class:`EndpointError` if it does not answer.
        headers: extra HTTP headers (e.g. ``{"api-version": ...}``).
        allow_http: allow plain ``http://`` to a host that is not this machine (the key and the
            prompts then travel unencrypted); by default only https is accepted there.
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        mode: str = "step",
        vision: bool = True,
        deterministic: bool = True,
        temperature: float = 0.7,
        max_tokens: int | None = None,
        timeout: float = 60.0,
        retries: int = 2,
        backoff: float = 1.0,
        workers: int = 8,
        check: bool = False,
        headers: Mapping[str, str] | None = None,
        name: str | None = None,
        allow_http: bool = False,
        library: str = "v2",
    ) -> None:
        super().__init__(mode, vision=vision, deterministic=deterministic, library=library)
        if not isinstance(model, str) or not model.strip():
            raise ValueError(f"model must be the endpoint's model name, got {model!r}")
        url = base_url or next((os.environ[k] for k in URL_ENV if os.environ.get(k)), DEFAULT_BASE_URL)  # fmt: skip
        parsed = urllib.parse.urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(f"base_url must be an http(s) URL such as {DEFAULT_BASE_URL}, got {url!r}")  # fmt: skip
        if parsed.scheme == "http" and parsed.hostname not in _LOCAL_HOSTS and not allow_http:
            raise ValueError(
                f"base_url {url!r} is plain http to another machine: the API key and prompts would "
                "travel unencrypted; use https, or pass allow_http=True (--allow-http) if the "
                "network is trusted"
            )
        if api_key is None:
            api_key = next((os.environ[k] for k in KEY_ENV if os.environ.get(k)), None)
        if api_key is None and parsed.hostname not in _LOCAL_HOSTS:
            raise ValueError(
                f"no API key for {url}: set {' or '.join(KEY_ENV)} (or pass api_key=...; "
                "api_key='' for an endpoint without authentication)"
            )
        if not timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds, got {timeout!r}")
        for arg, v in (("retries", retries), ("workers", workers)):
            if isinstance(v, bool) or not isinstance(v, int) or v < (0 if arg == "retries" else 1):
                raise ValueError(f"{arg} must be an int >= {0 if arg == 'retries' else 1}, got {v!r}")  # fmt: skip
        self.model = model
        self.base_url = url.rstrip("/")
        self.url = (
            self.base_url
            if self.base_url.endswith("/chat/completions")
            else self.base_url + "/chat/completions"
        )
        self.api_key = api_key or ""
        self.temperature = float(temperature)
        self.max_tokens = int(max_tokens or MAX_TOKENS[self.mode])
        self.timeout = float(timeout)
        self.retries = retries
        self.backoff = float(backoff)
        self.workers = workers
        self.headers = dict(headers or {})
        self.name = name or f"endpoint-{model}-{self.mode}{'' if self.vision else '-text'}"
        self.errors: list[str] = []  # every failed request's message (key redacted), in order
        self.requests = 0  # the planner's requests so far (the check's not counted)
        if check:
            self.check()

    def __repr__(self) -> str:  # never show the key
        return f"EndpointPlanner(model={self.model!r}, url={self.url!r}, mode={self.mode!r}, vision={self.vision})"  # fmt: skip

    # -- HTTP ---------------------------------------------------------------------------------

    def redact(self, text: str) -> str:
        """``text`` with the API key (and any extra header value) replaced by ``***``."""
        for secret in (self.api_key, *self.headers.values()):
            if secret and len(secret) >= 4:
                text = text.replace(secret, "***")
        return text

    def request_headers(self) -> dict[str, str]:
        h = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": "image-styling-planner/0.1",
        }
        if self.api_key:
            h["Authorization"] = f"Bearer {self.api_key}"
        h.update(self.headers)
        return h

    def payload(self, prompt: Prompt, deterministic: bool) -> dict[str, Any]:
        """The JSON body of one chat-completions request."""
        return {
            "model": self.model,
            "messages": chat_messages(prompt),
            "max_tokens": self.max_tokens,
            "temperature": 0.0 if deterministic else self.temperature,
        }

    def _send(self, url: str, body: dict[str, Any] | None) -> Any:
        """One request with retries; the decoded JSON. Raises :class:`EndpointError`."""
        data = None if body is None else json.dumps(body).encode("utf-8")
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            req = urllib.request.Request(
                url, data=data, headers=self.request_headers(), method="GET" if body is None else "POST"
            )  # fmt: skip
            try:
                with _OPENER.open(req, timeout=self.timeout) as resp:
                    raw = resp.read(MAX_REPLY_BYTES + 1)
            except urllib.error.HTTPError as e:
                if 300 <= e.code < 400:
                    raise EndpointError(f"HTTP {e.code} from {url}: {e.reason}") from None
                detail = _body(e)
                last = f"HTTP {e.code} {e.reason} from {url}" + (f": {detail}" if detail else "")
                if e.code in _RETRY_STATUS:
                    continue
                raise EndpointError(last) from None
            except TimeoutError:
                last = f"no answer from {url} within {self.timeout:g} s (timeout)"
                continue
            except urllib.error.URLError as e:
                reason = e.reason
                if isinstance(reason, TimeoutError):
                    last = f"no answer from {url} within {self.timeout:g} s (timeout)"
                else:
                    last = f"cannot reach {url}: {reason}"
                continue
            except (ConnectionError, OSError) as e:
                last = f"connection to {url} failed: {e}"
                continue
            if len(raw) > MAX_REPLY_BYTES:
                raise EndpointError(
                    f"the reply from {url} is larger than {MAX_REPLY_BYTES} bytes (MAX_REPLY_BYTES)"
                )
            try:
                text = raw.decode("utf-8")
                if json_depth(text) > MAX_JSON_DEPTH:
                    raise EndpointError(
                        f"the reply from {url} is JSON nested deeper than {MAX_JSON_DEPTH} "
                        "(MAX_JSON_DEPTH)"
                    )
                return json.loads(text)
            except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
                raise EndpointError(
                    f"malformed JSON from {url} ({e}): {raw[:200].decode('utf-8', 'replace')!r}"
                ) from None
        raise EndpointError(
            last + (f" (after {self.retries + 1} attempts)" if self.retries else "")
        )

    def ask(self, prompt: Prompt, deterministic: bool | None = None) -> str:
        """One prompt -> the reply text. Raises :class:`EndpointError`."""
        det = self.deterministic if deterministic is None else bool(deterministic)
        try:
            return self.redact(reply_text(self._send(self.url, self.payload(prompt, det))))
        except EndpointError as e:
            raise EndpointError(self.redact(str(e))) from None

    def check(self) -> None:
        """Probe the endpoint (``GET /models``, else a one-token chat request); raise
        :class:`EndpointError` naming the problem if it does not answer."""
        try:
            self._send(self.base_url + "/models", None)
            return
        except EndpointError as e:
            first = self.redact(str(e))
            if "HTTP 401" in first or "HTTP 403" in first:
                raise EndpointError(f"the endpoint refused the API key: {first}") from None
        body = {
            "model": self.model,
            "messages": [{"role": "user", "content": "ping"}],
            "max_tokens": 1,
        }
        try:
            self._send(self.url, body)
        except EndpointError as e:
            raise EndpointError(
                self.redact(f"the chat endpoint does not answer: {e} (and {first})")
            ) from None

    # -- the planner --------------------------------------------------------------------------

    def complete(self, prompts: Sequence[Prompt], deterministic: bool) -> list[str | Invalid]:
        self.requests += len(prompts)

        def one(p: Prompt) -> str | Invalid:
            try:
                return self.ask(p, deterministic)
            except (EndpointError, ValueError, TypeError, RecursionError, MemoryError) as e:
                # one bad reply is one invalid call, never the end of the evaluation
                msg = self.redact(str(e) if isinstance(e, EndpointError) else f"{type(e).__name__}: {e}")  # fmt: skip
                self.errors.append(msg)
                return Invalid(f"chat endpoint error: {msg}")

        if len(prompts) <= 1 or self.workers == 1:
            return [one(p) for p in prompts]
        with ThreadPoolExecutor(max_workers=min(self.workers, len(prompts))) as pool:
            return list(pool.map(one, prompts))


def _body(e: urllib.error.HTTPError) -> str:
    try:
        raw = e.read()[:300].decode("utf-8", "replace")
    except (OSError, ValueError):
        return ""
    try:
        err = json.loads(raw).get("error")
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])[:200]
    except (json.JSONDecodeError, AttributeError):
        pass
    return " ".join(raw.split())[:200]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m agents.endpoint --model gpt-4o --tier simple --tasks 200 [--out F]``."""
    import argparse
    import sys

    from offline_data.safety import output_file
    from styling_env.tasks import TIERS

    from .evaluate import evaluate

    p = argparse.ArgumentParser(prog="python -m agents.endpoint", description=__doc__.split("\n\n")[0])  # fmt: skip
    p.add_argument("--model", required=True, help="the endpoint's model name, e.g. gpt-4o")
    p.add_argument("--base-url", default=None, help=f"API root (default ${URL_ENV[0]}, ${URL_ENV[1]} or {DEFAULT_BASE_URL})")  # fmt: skip
    p.add_argument("--mode", default="step", choices=("step", "plan"))
    p.add_argument("--text-only", action="store_true", help="no image in the prompt")
    p.add_argument("--tier", default="simple", choices=TIERS)
    p.add_argument("--tasks", type=int, default=200)
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--image-size", type=int, default=128)
    p.add_argument("--timeout", type=float, default=60.0)
    p.add_argument("--workers", type=int, default=8)
    p.add_argument("--check", action="store_true", help="probe the endpoint before evaluating")
    p.add_argument("--allow-http", action="store_true", help="allow plain http to a host that is not this machine (the key travels unencrypted)")  # fmt: skip
    p.add_argument("--out", default=None, help="write every episode and the summary as JSON")
    args = p.parse_args(argv)
    try:
        if args.out:  # before the evaluation, not after it
            output_file(args.out, "--out")
        agent = EndpointPlanner(
            args.model, base_url=args.base_url, mode=args.mode, vision=not args.text_only,
            timeout=args.timeout, workers=args.workers, check=args.check,
            allow_http=args.allow_http,
        )  # fmt: skip
        res = evaluate(agent, args.tier, args.tasks, args.seeds, image_size=args.image_size,
                       num_envs=min(50, args.tasks), progress=True)  # fmt: skip
    except (ValueError, EndpointError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if agent.requests and len(agent.errors) == agent.requests:  # scored 0, measured nothing
        print(
            f"error: every request to the endpoint failed ({agent.requests} of {agent.requests}); "
            f"first: {agent.errors[0]} (try --check to probe it first)",
            file=sys.stderr,
        )
        return 1
    s = res.summary()
    print(f"{s['agent']} on {args.tier}: overall {s['overall']:.1f}, normalized {s['normalized']:.1f}, invalid calls per episode {s['invalid']:.2f}")  # fmt: skip
    if agent.errors:
        print(f"  {len(agent.errors)} of {agent.requests} requests failed; first: {agent.errors[0]}", file=sys.stderr)  # fmt: skip
    if args.out:
        res.save(args.out)
        print(f"  wrote {args.out}")
    return 0


__all__ = [
    "DEFAULT_BASE_URL",
    "KEY_ENV",
    "MAX_JSON_DEPTH",
    "MAX_REPLY_BYTES",
    "URL_ENV",
    "EndpointError",
    "EndpointPlanner",
    "chat_messages",
    "image_data_url",
    "json_depth",
    "main",
    "reply_text",
]


if __name__ == "__main__":
    import sys

    sys.exit(main())
