"""The agent protocol and one evaluation for every planner.

An agent is anything with stable-baselines3's batched
``predict(observation, state=None, episode_start=None, deterministic=True) -> (action, state)``:
an SB3 model, a d3rlpy wrapper, the embedded planner, a Qwen3-VL planner, a baseline.
:func:`evaluate` runs a tier's fixed test tasks through the native vector env and returns every
episode's six scores, ``r`` and planning metrics, and the normalized score
(0 = random plans, 100 = the oracle, on the same tasks, as Minari/D4RL normalize).

What an agent may return as its batched action (``N`` = number of sub-envs):

- native actions: a dict of arrays ``tool (N,)``, ``value (N,)``, ``strength (N, 1)``,
  ``region (N,)`` and optionally ``preserve (N, 6)`` (tool 10 = STOP);
- flat ``DiscreteActions`` indices: an int array ``(N,)``. The encoding is the agent's
  ``flat_actions`` (a :class:`styling_env.actions.FlatActions`) when it has one, else read from
  ``agent.action_space.n``: ``171 * 12 * bins + 1`` is the encoding with the preserve digit
  (``DiscreteActions``' default), ``171 * bins + 1`` the one without (``preserve=False``); an
  agent without an action space is read as ``FlatActions(4)`` (no preserve digit);
- a list of N items, each a ``ToolCall``, ``Stop``, a native action dict or text (the paper's
  JSON action, ``tool(value, strength=...)`` or ``STOP``: its first call is used).

An agent that answers with anything else (a scalar, float indices, a batch of another size)
raises :class:`AgentOutputError` naming the problem; only the individual actions of a
well-formed batch can be invalid calls (scored as such).

Observations are adapted to the agent: when it has an ``observation_space`` (SB3, d3rlpy
wrappers), only its keys are passed, and a ``Box`` instruction is encoded with the encoder
the model was trained with, never guessed from the vector size: the one ``EncodeInstruction``
recorded on the space (``space.encoder_spec``), else ``agent.styling_info`` (models of
:func:`agents.online.train_online`), else the ``encoder=`` argument of :func:`evaluate`;
without any, :class:`UnknownEncoderError`. A model whose spaces are not this env's (an SB3
CartPole model) raises :class:`SpaceMismatchError`. Optional hooks:
``begin_episodes(slots, tasks, plans)`` — called when sub-envs start episodes, with the tasks
and the oracle's plans (only privileged baselines such as the teacher and the oracle may use
them) — and ``last_reasons`` (a list per sub-env after ``predict``) to record reasoning text.

Action libraries (``styling_env.libraries``): ``evaluate(..., library="v3")`` plays the tier's
test tasks of that library (:func:`styling_env.library_tasks.library_test_tasks`) in an env of
that library and reads native and flat actions in its indices; ``library=None`` takes the
agent's ``library`` attribute (an embedded planner's checkpoint records it), else ``v2``. An
agent whose ``library`` is another than the env's raises
:class:`~offline_data.errors.LibraryMismatchError`: its native indices mean other calls.
"""

from __future__ import annotations

import json
import math
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from offline_data.errors import LibraryMismatchError, check_same_library
from styling_env.actions import PRESERVE_SETS, FlatActions
from styling_env.engine import Invalid, Stop, decode_native
from styling_env.judge import PLANNING_NAMES, SCORE_NAMES
from styling_env.library_tasks import library_test_tasks, sample_library_task
from styling_env.tasks import TIERS, Task, test_tasks
from styling_env.tools import ToolCall
from styling_env.tools.library_tables import DEFAULT_LIBRARY, LIBRARY_NAMES, row_tables
from styling_env.validation import nonnegative_int
from styling_env.vector import ImageStylingVectorEnv
from styling_env.wrappers import flat_call, parse_text_action


@runtime_checkable
class Agent(Protocol):
    """stable-baselines3's prediction interface, batched over sub-envs."""

    def predict(
        self, observation: Any, state: Any = None, episode_start: Any = None, deterministic: bool = True
    ) -> tuple[Any, Any]: ...  # fmt: skip


def ci95(values: Sequence[float]) -> tuple[float, float]:
    """Mean +- Student-t 95% confidence interval of ``values`` (the mean itself for one value)."""
    from scipy import stats

    a = np.asarray(values, float)
    m = float(a.mean()) if a.size else math.nan
    if a.size < 2:
        return (m, m)
    h = float(stats.t.ppf(0.975, a.size - 1) * a.std(ddof=1) / math.sqrt(a.size))
    return (m - h, m + h)


def normalized(overall: Any, random: float, oracle: float) -> Any:
    """``100 * (overall - random) / (oracle - random)``."""
    return 100.0 * (np.asarray(overall, float) - random) / max(oracle - random, 1e-9)


@dataclass
class EvalResult:
    """Every episode of an evaluation and its summary (:meth:`summary`)."""

    agent: str
    tier: str
    split: str
    n_tasks: int
    seeds: list[int]
    image_size: int
    episodes: list[dict[str, Any]]
    random_overall: float
    oracle_overall: float
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        ov = [e["overall"] for e in self.episodes]
        norm = normalized(ov, self.random_overall, self.oracle_overall)
        lo, hi = ci95(norm)
        olo, ohi = ci95(ov)
        out: dict[str, Any] = {
            "agent": self.agent,
            "tier": self.tier,
            "episodes": len(self.episodes),
        }
        for k in SCORE_NAMES:
            out[k] = float(np.mean([e[k] for e in self.episodes]))
        out.update(
            overall=float(np.mean(ov)), overall_ci=(olo, ohi), r=float(np.mean(ov)) / 20.0,
            normalized=float(np.mean(norm)), normalized_ci=(lo, hi),
            random_overall=self.random_overall, oracle_overall=self.oracle_overall,
            steps=float(np.mean([e["steps"] for e in self.episodes])),
            invalid=float(np.mean([e["invalid_calls"] for e in self.episodes])),
            seconds=self.seconds,
        )  # fmt: skip
        for k in PLANNING_NAMES:
            out[k] = float(np.mean([e[k] for e in self.episodes]))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "summary": self.summary()}

    def save(self, path: str) -> None:
        with open(path, "w") as f:
            json.dump(self.to_dict(), f)


# --------------------------------------------------------------------------------------------
# Adapting observations and actions


class AgentOutputError(ValueError):
    """An agent's ``predict`` returned something that is not a batch of actions."""


class UnknownEncoderError(ValueError):
    """The instruction encoder a model was trained with is not recorded and was not given."""


class SpaceMismatchError(ValueError):
    """An agent's observation or action space is not one of this environment's."""


def parse_encoder(spec: Any) -> dict[str, Any] | None:
    """An encoder description: ``None``, ``"hash:256"``, ``"minilm"``, ``{"kind", "dim"}``."""
    if spec is None or isinstance(spec, dict):
        return spec
    if isinstance(spec, str):
        kind, _, dim = spec.partition(":")
        if kind == "minilm" and not dim:
            return {"kind": "minilm", "dim": 384}
        if kind == "hash" and dim.isdigit() and int(dim) > 0:
            return {"kind": "hash", "dim": int(dim)}
    raise ValueError(f"encoder must be 'hash:DIM' or 'minilm', got {spec!r}")


def _instruction_encoder(space: Any, agent: Any = None, given: Any = None) -> Any:
    """The encoder the agent's ``Box`` instruction was made with (see the module docstring)."""
    from styling_env.wrappers import HashingEncoder, MiniLMEncoder

    dim = int(np.prod(space.shape))
    info = getattr(agent, "styling_info", None) or {}
    spec = (
        parse_encoder(given)
        or getattr(space, "encoder_spec", None)
        or (
            {"kind": info["encoder"], "dim": info.get("encoder_dim")} if "encoder" in info else None
        )
    )
    if spec is not None and spec.get("kind") == "minilm":
        spec = {"kind": "minilm", "dim": MiniLMEncoder.dim}
    if spec is None or spec.get("kind") not in ("hash", "minilm"):
        kind = "a custom encoder" if spec else "an unrecorded encoder"
        raise UnknownEncoderError(
            f"the agent's instruction is a {dim}-d vector made by {kind}; evaluate cannot tell "
            "which (it never guesses from the size): pass encoder='hash:DIM' or 'minilm' "
            "(--encoder on the command line), or train on EncodeInstruction(env, "
            "encoder='hash' | 'minilm'), which records it on the observation space"
        )
    if int(spec["dim"]) != dim:
        raise UnknownEncoderError(
            f"the encoder {spec} does not make the agent's {dim}-d instruction vectors"
        )
    return MiniLMEncoder() if spec["kind"] == "minilm" else HashingEncoder(dim)


def _n_rows(library: str) -> int:
    """The flat ``(tool, value)`` rows of ``library`` (171 in ``v2``)."""
    return len(row_tables(library)["tool_of_row"])


def agent_library(agent: Any) -> str | None:
    """The action library an agent declares (its ``library`` attribute: an embedded planner's
    checkpoint records it), or None when it declares none."""
    own = getattr(agent, "library", None)
    return own if isinstance(own, str) and own in LIBRARY_NAMES else None


def check_spaces(agent: Any, library: str = DEFAULT_LIBRARY) -> None:
    """Raise :class:`SpaceMismatchError` when an agent's spaces cannot be this env's (only
    agents that declare spaces are checked), and
    :class:`~offline_data.errors.LibraryMismatchError` when it declares another action
    ``library`` than the env's."""
    own = agent_library(agent)
    if own is not None:
        check_same_library(f"agent {type(agent).__name__}", own, "the environment", library)
    from gymnasium import spaces

    from styling_env.env import observation_space

    obs = getattr(agent, "observation_space", None)
    act = getattr(agent, "action_space", None)
    problems = []
    if obs is not None:
        known = set(observation_space(32, 8, "image").spaces)
        if not isinstance(obs, spaces.Dict):
            problems.append(f"its observation space is {obs}, not a Dict of {sorted(known)}")
        elif not set(obs.spaces) <= known:
            problems.append(
                f"its observation keys {sorted(set(obs.spaces) - known)} are not the env's"
            )
    if act is not None and not isinstance(act, spaces.Dict):
        n = getattr(act, "n", None)
        rows = _n_rows(library)
        if not isinstance(act, spaces.Discrete) or (int(n) - 1) % rows or n <= rows:
            problems.append(
                f"its action space is {act}, neither the native Dict nor DiscreteActions' "
                f"Discrete(171 * bins * 12 + 1) (or Discrete(171 * bins + 1) without preserve)"
            )
    if problems:
        raise SpaceMismatchError(
            f"{type(agent).__name__} was not made for ImageStyling-v0: {'; '.join(problems)}"
        )


class _ObsAdapter:
    """Gives an agent the observation its ``observation_space`` expects."""

    def __init__(self, agent: Any, encoder: Any = None) -> None:
        from gymnasium import spaces

        space = getattr(agent, "observation_space", None)
        self.keys: list[str] | None = None
        self.encoder = None
        self._cache: dict[str, np.ndarray] = {}
        self.sizes: dict[str, int] = {}  # image key -> the side the agent was trained at
        if isinstance(space, spaces.Dict):
            self.keys = list(space.spaces)
            inst = space.spaces.get("instruction")
            if isinstance(inst, spaces.Box):
                self.encoder = _instruction_encoder(inst, agent, encoder)
            for k, s in space.spaces.items():
                if isinstance(s, spaces.Box) and s.dtype == np.uint8 and len(s.shape) == 3:
                    # (H, W, C), or (C, H, W) after SB3's VecTransposeImage
                    self.sizes[k] = int(s.shape[0] if s.shape[-1] in (1, 3) else s.shape[1])

    def __call__(self, obs: dict[str, Any]) -> dict[str, Any]:
        if self.keys is None:
            return obs
        missing = [k for k in self.keys if k not in obs]
        if missing:
            raise ValueError(
                f"the agent expects observation keys {missing} that the environment does not give "
                f"(it gives {sorted(obs)}); evaluate it with the observation_mode it was trained on"
            )
        out = {k: obs[k] for k in self.keys}
        for k, side in self.sizes.items():
            img = np.asarray(out[k])
            if img.ndim == 4 and img.shape[-1] in (1, 3) and img.shape[1] != side:
                # an agent trained at another resolution sees the env's images resized
                from offline_data.loaders import resize_uint8

                chw = np.ascontiguousarray(img.transpose(0, 3, 1, 2))
                out[k] = resize_uint8(chw, side).transpose(0, 2, 3, 1)
        if self.encoder is not None:
            texts = list(obs["instruction"])
            new = [t for t in dict.fromkeys(texts) if t not in self._cache]
            if new:
                vecs = np.clip(self.encoder.encode(new), -1, 1).astype(np.float32)
                self._cache.update(zip(new, vecs, strict=True))
            out["instruction"] = np.stack([self._cache[t] for t in texts])
        return out


def flat_encoding(agent: Any, library: str = DEFAULT_LIBRARY) -> FlatActions:
    """The flat encoding of an agent's int actions (see the module docstring), in the rows of
    action ``library``."""
    own = getattr(agent, "flat_actions", None)
    if isinstance(own, FlatActions):
        return own
    n = getattr(getattr(agent, "action_space", None), "n", None)
    if n is None:
        return FlatActions(4, library=library)
    rows = _n_rows(library)
    with_p, rest_p = divmod(int(n) - 1, rows * len(PRESERVE_SETS))
    if not rest_p and with_p >= 1:
        return FlatActions(with_p, preserve=True, library=library)
    bins, rest = divmod(int(n) - 1, rows)
    if rest or bins < 1:
        raise ValueError(
            f"agent.action_space.n = {n} is not a DiscreteActions size (171 * bins * 12 + 1, "
            "or 171 * bins + 1 without preserve; in another library its rows for 171)"
        )
    return FlatActions(bins, library=library)


def check_actions(actions: Any, n: int) -> None:
    """Raise :class:`AgentOutputError` unless ``actions`` is a batch of ``n`` actions in one of
    the forms of the module docstring (the actions themselves may still be invalid calls)."""
    if isinstance(actions, Mapping):
        for k, v in actions.items():
            a = np.asarray(v)
            if a.ndim == 0 or a.shape[0] != n:
                got = "a scalar" if a.ndim == 0 else f"{a.shape[0]} entries"
                raise AgentOutputError(
                    f"predict returned a native action whose {k!r} holds {got}; expected one "
                    f"per sub-env ({n})"
                )
        return
    if isinstance(actions, list | tuple):
        if len(actions) != n:
            raise AgentOutputError(f"predict returned {len(actions)} actions for {n} sub-envs")
        return
    a = np.asarray(actions) if isinstance(actions, np.ndarray | np.generic | int | float) else None
    if a is None:
        raise AgentOutputError(
            f"predict returned a {type(actions).__name__}; expected a batch of {n} actions (an "
            "int array, a dict of arrays or a list)"
        )
    if a.ndim == 0:
        raise AgentOutputError(
            f"predict returned a scalar ({a.item()!r}); expected a batch: an array of {n} actions"
        )
    if not np.issubdtype(a.dtype, np.integer):
        raise AgentOutputError(
            f"predict returned {a.dtype} actions; flat DiscreteActions indices must be integers "
            "(cast them, e.g. actions.astype(int))"
        )
    if a.reshape(-1).size != n:
        raise AgentOutputError(
            f"predict returned actions of shape {a.shape} for {n} sub-envs; expected ({n},)"
        )


def decode_actions(
    actions: Any, n: int, agent: Any = None, library: str = DEFAULT_LIBRARY
) -> list[ToolCall | Stop | Invalid]:
    """The calls in an agent's batched ``actions`` (see the module docstring; native and flat
    indices of action ``library``); never raises on a bad action (it becomes an
    :class:`Invalid` the env reports; :func:`check_actions` is what refuses a malformed
    batch)."""
    if isinstance(actions, Mapping):
        out = []
        for i in range(n):
            try:
                out.append(
                    decode_native({k: np.asarray(v)[i] for k, v in actions.items()}, library)
                )
            except (IndexError, TypeError, ValueError) as e:
                out.append(Invalid(f"batched actions must have one entry per sub-env ({e})"))
        return out
    if isinstance(actions, list | tuple):
        if len(actions) != n:
            return [Invalid(f"got {len(actions)} actions for {n} sub-envs")] * n
        out = []
        for a in actions:
            if isinstance(a, ToolCall | Stop | Invalid):
                out.append(a)
            elif isinstance(a, str):
                out.append(parse_text_action(a)[0])
            else:
                out.append(decode_native(a, library))
        return out
    a = np.asarray(actions)
    if np.issubdtype(a.dtype, np.integer) and a.reshape(-1).size == n:
        flat = flat_encoding(agent, library)
        out = []
        for k in a.reshape(-1).tolist():
            if k == flat.stop:
                out.append(Stop())
            elif 0 <= k < flat.stop:
                out.append(flat_call(flat, k))
            else:
                out.append(Invalid(f"flat action {k} is outside [0, {flat.stop}]"))
        return out
    return [Invalid(f"cannot read actions of type {type(actions).__name__} (shape {a.shape})")] * n


# --------------------------------------------------------------------------------------------
# Evaluation


def _episode(
    slot: Any, task: Task, seed: int, calls: list[str], reasons: list[str]
) -> dict[str, Any]:
    sc = slot.score
    d: dict[str, Any] = {"task_id": task.task_id, "seed": seed, "instruction": task.instruction}
    d.update({k: float(v) for k, v in sc.scores.items()})
    d.update(overall=float(sc.overall), r=float(sc.r))
    d.update({k: float(v) for k, v in sc.planning.items()})
    d.update(
        steps=slot.steps, invalid_calls=slot.invalid, violations=list(sc.violations),
        calls=calls, reasons=reasons, oracle_plan=[c.to_dict() for c in slot.reference.plan],
        visible=visible_changes(slot),
    )  # fmt: skip
    return d


def visible_changes(slot: Any) -> dict[str, Any]:
    """What the judge sees of each requested change in a finished episode's result, for the
    per-target error breakdown (:mod:`experiments.breakdown`); the scores do not depend on it.

    - ``along``: per call of the oracle's plan, how much of its change the result shows
      (:func:`styling_env.judge.decompose`: 1 as the reference, 0 as if left out);
    - ``measurable``: per call, whether it changes this source visibly at all (the judge does
      not score a change the source cannot show);
    - ``unrequested``: visible change that is neither requested nor a ruled-out branch, in
      units of the request's mean change; ``progress``: the share of the whole change made;
    - ``clauses``: per conditional clause, the branch the source calls for (``chosen``), the
      one it rules out (``other``), each a target dict or None, and ``shown``: how much of the
      ruled-out branch's change the result shows (None where nothing was requested);
    - ``constraints``: the task's constraints, named as the judge names their violations;
    - ``idle``: valid calls that changed no pixel.
    """
    from styling_env.features import to_work_size
    from styling_env.judge import IDLE, decompose
    from styling_env.oracle import conditional_branches

    ref = slot.reference.on_host()
    clauses = conditional_branches(slot.task, slot.source)
    wrong: list[float | None] = [None] * len(clauses)  # None: not measured
    if ref.plan:
        m = decompose(ref, to_work_size(slot.image[None].float())[0].cpu())
        along = m.along.tolist()
        if len(m.wrong) == len(clauses):
            wrong = m.wrong.tolist()
        measurable = [bool(x) for x in m.measurable.tolist()]
        unrequested, progress = float(m.unrequested), float(m.progress)
    else:  # nothing requested on this source: the judge scores leaving it alone
        along, measurable, unrequested, progress = [], [], 0.0, 1.0
    names = []
    for c in slot.task.constraints:
        if c.kind == "preserve_region":
            names.append(f"{c.kind}:{c.region}")
        elif c.kind == "preserve_subject":
            names.append(f"{c.kind}:subject")
        elif c.kind == "avoid_tool":
            names.append(f"{c.kind}:{c.tool}")
        else:
            names.append(c.kind)
    return {
        "along": [float(a) for a in along],
        "measurable": measurable,
        "unrequested": unrequested,
        "progress": progress,
        "clauses": [
            {
                "chosen": None if chosen is None else chosen.to_dict(),
                "other": None if other is None else other.to_dict(),
                "shown": None if b is None else float(b),
            }
            for (chosen, other), b in zip(clauses, wrong, strict=True)
        ],
        "constraints": names,
        "idle": sum(1 for x in slot.effects if x <= IDLE),
    }


def decode_call(call: str) -> ToolCall | Stop | Invalid:
    """A stored episode's call string, as :func:`run_episodes` writes it (``STOP``,
    ``INVALID: why``, or a JSON or text tool call), as the env action it was."""
    if call.strip().upper() == "STOP":
        return Stop()
    if call.startswith("INVALID"):
        return Invalid(call.split(":", 1)[-1].strip())
    return parse_text_action(call)[0]


def run_episodes(
    agent: Any, tasks: Sequence[Task], *, tier: str, seed: int = 0, image_size: int = 128,
    num_envs: int = 50, max_steps: int = 8, observation_mode: str = "image", device: str = "cpu",
    deterministic: bool = True, progress: bool = False, encoder: Any = None,
    library: str | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """Play ``agent`` on ``tasks`` (one episode each, in order) in an env of action ``library``
    (None: the tasks' library) and return each episode's record."""
    from tqdm.auto import tqdm

    if not callable(getattr(agent, "predict", None)):
        raise TypeError(
            f"{type(agent).__name__} has no predict(observation, state, episode_start, deterministic)"
        )
    library = _tasks_library(tasks, library)
    check_spaces(agent, library)
    adapt = _ObsAdapter(agent, encoder)
    todo = deque(enumerate(tasks))
    n = max(1, min(num_envs, len(todo)))
    env = ImageStylingVectorEnv(
        n, tier=tier, image_size=image_size, max_steps=max_steps, device=device,
        observation_mode=observation_mode, autoreset_mode="disabled", library=library,
    )  # fmt: skip
    owner: list[int | None] = [None] * n
    calls: list[list[str]] = [[] for _ in range(n)]
    reasons: list[list[str]] = [[] for _ in range(n)]
    results: dict[int, dict[str, Any]] = {}
    starts = np.zeros(n, bool)
    bar = tqdm(total=len(todo), desc=f"eval {tier}", unit="ep", disable=not progress)

    def begin(slots: list[int], first: bool) -> dict[str, Any]:
        picked = [todo.popleft() for _ in slots]
        ts = [t for _, t in picked]
        if first:
            obs, _ = env.reset(seed=seed, options={"tasks": ts})
        else:
            mask = np.zeros(n, bool)
            mask[slots] = True
            obs, _ = env.reset(options={"reset_mask": mask, "tasks": ts})
        for i, (k, _) in zip(slots, picked, strict=True):
            owner[i], calls[i], reasons[i] = k, [], []
            starts[i] = True
        hook = getattr(agent, "begin_episodes", None)
        if callable(hook):
            hook(slots, ts, [list(env.engine.slots[i].reference.plan) for i in slots])
        return obs

    obs = begin(list(range(n)), True)
    state = None
    try:
        while any(o is not None for o in owner):
            out = agent.predict(
                adapt(obs), state=state, episode_start=starts.copy(), deterministic=deterministic
            )
            if not (isinstance(out, tuple) and len(out) == 2):  # ["STOP", "STOP"] would unpack
                size = f" of {len(out)}" if hasattr(out, "__len__") else ""
                raise AgentOutputError(
                    f"predict must return (actions, state), as stable-baselines3's predict does; "
                    f"got a {type(out).__name__}{size} (return `actions, None`)"
                )
            actions, state = out
            starts[:] = False
            check_actions(actions, n)
            decoded = decode_actions(actions, n, agent, library)
            why = getattr(agent, "last_reasons", None)
            for i in range(n):
                if owner[i] is None:
                    continue
                a = decoded[i]
                calls[i].append(
                    json.dumps(a.to_dict())
                    if isinstance(a, ToolCall)
                    else ("STOP" if isinstance(a, Stop) else f"INVALID: {a.error}")
                )
                if why is not None and i < len(why):
                    reasons[i].append(str(why[i]))
            obs, _, term, trunc, _ = env.step(decoded)
            ended = [i for i in range(n) if owner[i] is not None and (term[i] or trunc[i])]
            for i in ended:
                k = owner[i]
                results[k] = _episode(env.engine.slots[i], tasks[k], seed, calls[i], reasons[i])
                owner[i] = None
                bar.update(1)
            if ended and todo:
                obs = begin(ended[: len(todo)], False)
    finally:
        bar.close()
        env.close()
    return [results[k] for k in range(len(tasks))]


def _tasks_library(tasks: Sequence[Task], library: str | None) -> str:
    """The one action library of ``tasks`` (``library`` if given, which they must all be in)."""
    found = sorted({getattr(t, "library", DEFAULT_LIBRARY) for t in tasks})
    if len(found) > 1:
        raise LibraryMismatchError(
            f"the tasks are of several action libraries ({', '.join(found)}): evaluate each "
            "library's tasks on their own"
        )
    have = found[0] if found else (library or DEFAULT_LIBRARY)
    if library is not None:
        check_same_library("the tasks", have, "the evaluation", library)
    return have


_REFERENCE_CACHE: dict[tuple, tuple[float, float]] = {}


def reference_scores(tasks: Sequence[Task], tier: str, image_size: int, max_steps: int = 8, num_envs: int = 50) -> tuple[float, float]:  # fmt: skip
    """Mean overall score of random plans (seed 0; of the tasks' library's painting actions)
    and of the oracle on ``tasks`` (cached)."""
    from .baselines import OracleAgent, RandomAgent

    library = _tasks_library(tasks, None)
    key = (
        tier,
        image_size,
        max_steps,
        tuple(t.task_id for t in tasks),
        tuple(t.instruction for t in tasks),
    )
    if key not in _REFERENCE_CACHE:
        kw = dict(tier=tier, image_size=image_size, max_steps=max_steps, num_envs=num_envs)
        random = RandomAgent(seed=0, library=None if library == DEFAULT_LIBRARY else library)
        rand = run_episodes(random, tasks, **kw)
        best = run_episodes(OracleAgent(), tasks, **kw)
        _REFERENCE_CACHE[key] = (
            float(np.mean([e["overall"] for e in rand])),
            float(np.mean([e["overall"] for e in best])),
        )
    return _REFERENCE_CACHE[key]


def evaluate(
    agent: Any, tier: str = "simple", n_tasks: int = 200, seeds: int | Sequence[int] = (0,), *,
    split: str = "test", tasks: Sequence[Task] | None = None, image_size: int = 128,
    num_envs: int = 50, max_steps: int = 8, observation_mode: str | None = None,
    device: str = "cpu", deterministic: bool = True, progress: bool = False, name: str | None = None,
    encoder: Any = None, library: str | None = None,
) -> EvalResult:  # fmt: skip
    """Evaluate ``agent`` on ``n_tasks`` of the tier's fixed test tasks (``split="test"``:
    held-out templates; ``"free"``: the first ``min(n_tasks, set size)`` requests of the
    free-text set, written in people's words; ``"train"``: tasks drawn like training data),
    once per seed in ``seeds``
    (the seed of the env and of a stochastic agent), or on explicit ``tasks``. ``seeds`` is a
    sequence of seeds; an int is one seed (``seeds=5`` is seed 5, not five seeds: write
    ``seeds=range(5)`` for five).

    ``encoder``: the instruction encoder of a model whose observation space does not record it
    (``"hash:DIM"`` or ``"minilm"``; see the module docstring).

    ``library``: the action library of the tasks and the env (``"v2"``, ``"normal"``,
    ``"v3"``); None: the agent's (:func:`agent_library`), else that of explicit ``tasks``, else
    ``v2``. The library's test tasks are :func:`~styling_env.library_tasks.library_test_tasks`
    (the same images as the v2 test set; there is no free-text set in another library).

    ``observation_mode`` defaults to ``agent.observation_mode`` or ``"image"``. Returns an
    :class:`EvalResult`; its ``summary()`` has the six scores, overall with its 95% CI, and the
    normalized score (0 = random plans, 100 = oracle, measured on the same tasks) with its CI.
    """
    if tier not in TIERS:
        raise ValueError(f"unknown tier {tier!r}; expected one of {', '.join(TIERS)}")
    if library is None:
        library = agent_library(agent)
        if library is None and tasks is not None:
            library = _tasks_library(list(tasks), None)
    library = library or DEFAULT_LIBRARY
    if library not in LIBRARY_NAMES:
        raise ValueError(f"unknown library {library!r}; expected one of {', '.join(LIBRARY_NAMES)}")
    if tasks is None and library != DEFAULT_LIBRARY:
        if split == "test":
            tasks = library_test_tasks(tier, library, n_tasks)
        elif split == "train":
            tasks = [
                sample_library_task(tier, 900_000_000 + i, "train", library=library)
                for i in range(n_tasks)
            ]
        else:
            raise ValueError(
                f"split must be 'test' or 'train' in library {library!r} (the free-text set is "
                f"written for the v2 library), got {split!r}"
            )
    if tasks is None:
        if split == "test":
            tasks = test_tasks(tier, n_tasks)
        elif split == "free":
            free = test_tasks(tier, split="free")
            tasks = free[: max(1, min(int(n_tasks), len(free)))]
        elif split == "train":
            from styling_env.tasks import sample_task

            tasks = [sample_task(tier, 900_000_000 + i, "train") for i in range(n_tasks)]
        else:
            raise ValueError(f"split must be 'test', 'free' or 'train', got {split!r}")
    tasks = list(tasks)
    if not tasks:
        raise ValueError("no tasks to evaluate on")
    if isinstance(seeds, int | np.integer) and not isinstance(seeds, bool):
        seeds = (int(seeds),)
    if isinstance(seeds, np.ndarray):
        seeds = seeds.tolist()
    if isinstance(seeds, str | bytes | bool) or not isinstance(seeds, Sequence):
        raise TypeError(f"seeds must be an int or a sequence of ints, got {seeds!r}")
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    seeds = [
        nonnegative_int("each seed", int(s) if isinstance(s, np.integer) else s) for s in seeds
    ]
    if len(set(seeds)) != len(seeds):  # the same episodes twice: a CI of made-up samples
        raise ValueError(f"seeds must be distinct (each is one independent run), got {seeds}")
    mode = observation_mode or getattr(agent, "observation_mode", None) or "image"
    t0 = time.perf_counter()
    episodes: list[dict[str, Any]] = []
    for seed in seeds:
        episodes += run_episodes(
            agent, tasks, tier=tier, seed=int(seed), image_size=image_size, num_envs=num_envs,
            max_steps=max_steps, observation_mode=mode, device=device,
            deterministic=deterministic, progress=progress, encoder=encoder, library=library,
        )  # fmt: skip
    seconds = time.perf_counter() - t0
    rand, best = reference_scores(tasks, tier, image_size, max_steps, num_envs)
    extra = {} if library == DEFAULT_LIBRARY else {"library": library}
    return EvalResult(
        name or getattr(agent, "name", type(agent).__name__), tier, split, len(tasks),
        [int(s) for s in seeds], image_size, episodes, rand, best, seconds, extra,
    )  # fmt: skip


# --------------------------------------------------------------------------------------------
# Command line


def import_agent(spec: str) -> Any:
    """The agent ``module.path:Name`` names: ``Name`` is imported from ``module.path``; an
    object with ``predict`` is used as it is, a class or factory is called without arguments
    (as SB3 users load their own policies)."""
    import importlib

    module, _, attr = spec.partition(":")
    try:
        obj = importlib.import_module(module)
    except ImportError as e:
        raise ValueError(f"cannot import module {module!r} of agent {spec!r}: {e}") from e
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"module {module!r} has no {attr!r} (agent {spec!r})")
        obj = getattr(obj, part)
    if not (callable(getattr(obj, "predict", None)) and not isinstance(obj, type)):
        if not callable(obj):
            raise TypeError(f"{spec} is neither an agent with predict() nor a class or factory")
        try:
            obj = obj()
        except TypeError as e:
            raise TypeError(
                f"calling {spec}() failed ({e}): name an agent, or a class or factory that "
                "takes no arguments"
            ) from e
    if not callable(getattr(obj, "predict", None)):
        raise TypeError(
            f"{spec} made a {type(obj).__name__}, which has no "
            "predict(observation, state, episode_start, deterministic)"
        )
    return obj


def load_agent(spec: str, tier: str = "simple", seed: int = 0, *, trust: bool = False) -> Any:
    """An agent from a baseline's name (``random``, ``zero-shot``, ``edit-only``, ``teacher``,
    ``oracle``: :mod:`agents.registry`), a checkpoint of a registered method (an embedded planner
    ``.pt``, a d3rlpy ``.d3``, a stable-baselines3 ``.zip``, a Qwen3-VL planner directory) or
    ``module.path:Name`` (:func:`import_agent`: any importable agent, class or factory).

    No code from a checkpoint file is run: a checkpoint that can only be read by unpickling code
    (a d3rlpy ``.d3`` pickle referring to classes, an SB3 ``.zip`` not written by this project)
    raises :class:`agents.checkpoints.UntrustedCheckpointError` unless ``trust=True``."""
    import re

    from . import registry

    baselines = registry.names("baseline")
    if spec in baselines:
        return registry.get(spec).make(tier, seed)
    path = Path(spec)
    if not path.exists() and re.fullmatch(r"[\w.]+:[\w.]+", spec):
        return import_agent(spec)
    if not path.exists():
        if path.suffix in (".pt", ".d3", ".zip") or path.name != spec:  # a path, not a name
            raise ValueError(f"no checkpoint at {spec}: the file or folder does not exist")
        raise ValueError(
            f"unknown agent {spec!r}: expected one of {', '.join(baselines)}, a checkpoint file or "
            "module.path:AgentClass"
        )
    for key in registry.names():
        m = registry.get(key)
        if m.loader is None or m.checkpoint is None:
            continue
        suffix = Path(m.checkpoint).suffix
        if (suffix and path.is_file() and path.suffix == suffix) or (
            not suffix and path.is_dir() and (path / "planner.json").is_file()
        ):
            return m.load(path, trust=trust)
    known = sorted({Path(registry.get(k).checkpoint or "").suffix or "a planner directory" for k in registry.names() if registry.get(k).loader})  # fmt: skip
    raise ValueError(f"cannot tell what kind of checkpoint {path} is (expected {', '.join(known)})")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m agents.evaluate AGENT --tier simple --tasks 200 [--seeds 0 1 2] [--out F]``."""
    import argparse
    import sys

    p = argparse.ArgumentParser(prog="python -m agents.evaluate", description=main.__doc__)
    p.add_argument(
        "agent",
        help="random | edit-only | teacher | oracle | a checkpoint (.pt, .d3, .zip) | "
        "module.path:AgentClass (any importable agent, class or factory with predict)",
    )
    p.add_argument("--tier", default="simple", choices=TIERS)
    p.add_argument("--tasks", type=int, default=200)
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument(
        "--split", default="test", choices=("test", "free", "train"),
        help="test: held-out templates; free: the free-text set (people's words); train",
    )  # fmt: skip
    p.add_argument("--image-size", type=int, default=128)
    p.add_argument(
        "--library", default=None, choices=LIBRARY_NAMES,
        help="the action library of the tasks and the env (default: the agent's, else v2)",
    )  # fmt: skip
    p.add_argument("--out", default=None, help="write every episode and the summary as JSON")
    p.add_argument(
        "--trust-checkpoint", action="store_true",
        help="allow a checkpoint that can only be loaded by unpickling (it can run code): only for files you trust",
    )  # fmt: skip
    p.add_argument(
        "--encoder",
        default=None,
        help="hash:DIM or minilm: the instruction encoder of an SB3 model that does not record it",
    )
    p.add_argument(
        "--repeat-tools", action="store_true",
        help="decode the raw policy, which may call a tool twice (default for the embedded planner "
        "and d3rlpy's agents: no tool twice, agents.support)",
    )  # fmt: skip
    p.add_argument("--verbose", action="store_true", help="let dependencies print their notices")
    args = p.parse_args(argv)
    if not args.verbose:
        from .quiet import quiet

        quiet()
    from offline_data.safety import output_file

    try:
        if args.out:  # before the evaluation, not after it
            output_file(args.out, "--out")
        agent = load_agent(args.agent, args.tier, args.seeds[0], trust=args.trust_checkpoint)
        if args.repeat_tools:
            if not hasattr(agent, "repeat_tools"):
                raise ValueError(
                    f"--repeat-tools: {type(agent).__name__} has no decoding rule to turn off (only "
                    "the embedded planner and d3rlpy's agents decode without repeated tools)"
                )
            agent.repeat_tools = True
        if args.agent == "random" and args.library not in (None, DEFAULT_LIBRARY):
            from .baselines import RandomAgent

            agent = RandomAgent(seed=args.seeds[0], library=args.library)
        res = evaluate(agent, args.tier, args.tasks, args.seeds, split=args.split,
                       image_size=args.image_size, progress=True, encoder=args.encoder,
                       library=args.library)  # fmt: skip
    except (ValueError, TypeError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    s = res.summary()
    lo, hi = s["normalized_ci"]
    lib = res.extra.get("library", DEFAULT_LIBRARY)
    where = args.tier if lib == DEFAULT_LIBRARY else f"{args.tier}, library {lib}"
    print(f"{s['agent']} on {where} ({s['episodes']} episodes, {res.seconds:.1f} s)")
    for k in (*SCORE_NAMES, "overall"):
        print(f"  {k:24s} {s[k]:6.1f}")
    print(f"  {'normalized':24s} {s['normalized']:6.1f}  95% CI [{lo:.1f}, {hi:.1f}]")
    print(
        f"  planning: precision {s['precision']:.2f} recall {s['recall']:.2f} f1 {s['f1']:.2f} spearman {s['spearman']:.2f}"
    )
    if args.out:
        res.save(args.out)
        print(f"  wrote {args.out}")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
