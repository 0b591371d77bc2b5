"""The method registry: every trainable method and every baseline, in one table.

A :class:`Method` knows its key (``"rw"``), its table label (``"RW"``), its kind, its config
type, how to train (``train(job) -> Trained``), how to load its checkpoint and, for a baseline,
how to build the agent. :mod:`agents.train`, :func:`agents.evaluate.load_agent`, the benchmark
(:mod:`experiments.benchmark`) and its report read this table and nothing else, so a new
method is one new file (its config dataclass and ``train``/``load`` functions) plus one
registration line (README, "Adding a method"):

.. code-block:: python

    from agents.registry import Method, register

    register(Method("my-method", "Mine", "custom", trainer="mypkg.mine:train",
                    loader="mypkg.mine:load", config="mypkg.mine:MineConfig",
                    checkpoint="model.pt"))

Entry points are ``"module:attribute"`` strings resolved on first use (as Gymnasium registers
environments), so reading the table imports neither torch-heavy trainers nor d3rlpy or
stable-baselines3. A key may also be a ``"module:NAME"`` spec of a :class:`Method` object
defined outside this package (``--methods mypkg.mine:METHOD``).

The trainer contract: ``train(job: TrainJob) -> Trained``. ``job`` holds the method, its
config (an instance of the method's config type with the method's ``defaults`` applied), the
seed, the dataset id (and the first-``episodes`` subset of it, for the size study), the tier,
the run folder ``job.out`` (write the checkpoint there, under ``method.checkpoint``, and the
logged losses to ``job.log_path``), the reference checkpoint of a method that needs one (DPO:
the same seed's S run) and a :class:`DataCache` that lets the benchmark share loaded data
between methods. ``Trained`` is the agent and a summary of the training (seconds, steps,
samples/s, parameters, peak memory, ...).
"""

from __future__ import annotations

import importlib
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

__all__ = [
    "KINDS",
    "METHODS",
    "DataCache",
    "Method",
    "Trained",
    "TrainJob",
    "get",
    "names",
    "register",
    "resolve",
]

#: Kinds of methods, in the order the report lists them.
KINDS = ("baseline", "embedded", "qwen", "d3rlpy", "online", "custom")

_SPEC = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*")


def resolve(spec: str) -> Any:
    """The attribute named by ``"module.path:attr.path"`` (imported on demand)."""
    if not isinstance(spec, str) or not _SPEC.fullmatch(spec):
        raise ValueError(f"expected 'module.path:attribute', got {spec!r}")
    module, _, attr = spec.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ValueError(f"{module} has no attribute {attr!r} ({spec!r})") from None
    return obj


@dataclass(frozen=True)
class Method:
    """One method: a baseline (``factory``) or a trainable method (``trainer``, ``loader``)."""

    key: str
    """Name on the command line and in result files (``"rw"``, ``"s-text"``)."""
    label: str
    """Name in tables and plots (``"RW"``)."""
    kind: str
    """One of :data:`KINDS`."""
    summary: str = ""
    """One line for ``--help`` and the README's table."""
    trainer: str | None = None
    """``"module:function"``: ``train(job: TrainJob) -> Trained``."""
    loader: str | None = None
    """``"module:function"``: ``load(path, *, trust=False) -> agent`` for this method's checkpoint."""
    factory: str | None = None
    """Baselines: ``"module:function"``: ``make(tier, seed, study) -> agent`` (nothing to train)."""
    config: str | None = None
    """``"module:Class"``: the config dataclass the trainer takes (an :class:`agents.config.Config`)."""
    defaults: Mapping[str, Any] = field(default_factory=dict)
    """Config fields that make this method (``{"objective": "s", "planner": {"text_only": True}}``
    for S text-only); the user's options go over them."""
    checkpoint: str | None = None
    """File (or folder) name of the checkpoint in the run folder (``"model.pt"``); its suffix is how
    :func:`agents.evaluate.load_agent` recognizes a checkpoint of this method."""
    needs_dataset: bool = True
    """Trains from an offline dataset (False: online methods, which learn in the env)."""
    reference: str | None = None
    """Key of the method whose same-seed run is this method's frozen reference (DPO: ``"s"``)."""

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", self.key or ""):
            raise ValueError(
                f"method key must be lower-case letters, digits, '-', '_' or '.', got {self.key!r}"
            )
        if self.kind not in KINDS:
            raise ValueError(
                f"method {self.key!r}: kind must be one of {', '.join(KINDS)}, got {self.kind!r}"
            )
        if (self.factory is None) == (self.trainer is None):
            raise ValueError(
                f"method {self.key!r} needs exactly one of factory (a baseline) or trainer"
            )
        if self.trainer is not None and self.config is None:
            raise ValueError(f"method {self.key!r}: a trainable method needs a config type")
        object.__setattr__(self, "defaults", MappingProxyType(dict(self.defaults)))

    @property
    def trainable(self) -> bool:
        return self.trainer is not None

    def config_type(self) -> type:
        if self.config is None:
            raise ValueError(f"method {self.key!r} is a baseline: it has no config")
        return resolve(self.config)

    def make_config(self, options: Mapping[str, Any] | None = None) -> Any:
        """The method's config: its type's defaults, then :attr:`defaults`, then ``options``
        (``None`` values are options that were not given). Nested configs take dicts; an
        unknown field is a ``ValueError`` that names it."""
        cls = self.config_type()
        return cls.from_dict(_merge(dict(self.defaults), options or {}))

    def train(self, job: TrainJob) -> Trained:
        if self.trainer is None:
            raise ValueError(f"{self.key!r} is a baseline: there is nothing to train")
        out = resolve(self.trainer)(job)
        if not isinstance(out, Trained):
            raise TypeError(
                f"{self.trainer} returned {type(out).__name__}, not agents.registry.Trained"
            )
        return out

    def load(self, path: str | Path, *, trust: bool = False) -> Any:
        if self.loader is None:
            raise ValueError(f"method {self.key!r} has no checkpoint loader")
        return resolve(self.loader)(Path(path), trust=trust)

    def make(self, tier: str = "simple", seed: int = 0, study: str = "main") -> Any:
        if self.factory is None:
            raise ValueError(f"{self.key!r} trains: use train(), not make()")
        return resolve(self.factory)(tier, seed, study)


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` on ``base``, recursing into dicts (nested config fields); ``None`` in ``over``
    leaves ``base`` as it is."""
    out = dict(base)
    for k, v in over.items():
        if v is None:  # an option that was not given: the default holds
            continue
        if isinstance(v, Mapping):
            prev = out.get(k)
            out[k] = _merge(dict(prev) if isinstance(prev, Mapping) else {}, v)
        else:
            out[k] = v
    return out


class DataCache:
    """Loaded training data shared by the methods of one process (the benchmark keeps one per
    run: the S, RW and SW cells of a tier load its dataset once)."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, Any], Any] = {}
        self.build_seconds = 0.0
        """Seconds spent building (loading) data so far: the benchmark's "load" stage."""

    def get(self, dataset: str, key: Any, build: Callable[[], Any]) -> Any:
        """The cached value of ``(dataset, key)``, built by ``build()`` the first time."""
        k = (dataset, key)
        if k not in self._items:
            t0 = time.perf_counter()
            self._items[k] = build()
            self.build_seconds += time.perf_counter() - t0
        return self._items[k]

    def release(self, keep: set[str]) -> None:
        """Drop the data of every dataset not in ``keep``."""
        self._items = {k: v for k, v in self._items.items() if k[0] in keep}

    def __len__(self) -> int:
        return len(self._items)


@dataclass
class TrainJob:
    """What a trainer gets: everything about one training run."""

    method: Method
    config: Any
    """An instance of the method's config type."""
    seed: int
    out: Path
    """Run folder: the checkpoint goes to ``out / method.checkpoint``."""
    dataset: str | None = None
    """Dataset id (offline methods)."""
    episodes: int | None = None
    """Train on the dataset's first ``episodes`` episodes only (None: all)."""
    tier: str = "simple"
    """The task tier (online methods train on it)."""
    image_size: int = 64
    """Env image size (online methods train at it)."""
    reference: Path | None = None
    """The reference run's checkpoint (``method.reference``), or None to let the trainer decide."""
    progress: bool = True
    cache: DataCache | None = None

    @property
    def checkpoint(self) -> Path:
        if self.method.checkpoint is None:
            raise ValueError(f"method {self.method.key!r} writes no checkpoint")
        return self.out / self.method.checkpoint

    @property
    def log_path(self) -> Path:
        return self.out / "train_log.jsonl"

    def records(self) -> str | list[Any]:
        """The training data: the dataset's id, or its first ``episodes`` episodes (a list of
        records). A job without a dataset is a :class:`ValueError` naming the method."""
        if self.dataset is None:
            raise ValueError(f"method {self.method.key!r} trains on a dataset: pass one")
        if self.episodes is None:
            return self.dataset
        from offline_data import dataset as D
        from styling_env.validation import positive_int

        ds = D.load(self.dataset)
        if positive_int("episodes", self.episodes) > ds.total_episodes:
            raise ValueError(
                f"episodes={self.episodes}, but {self.dataset!r} holds {ds.total_episodes}"
            )
        return list(D.episodes(ds, range(self.episodes)))

    def cached(self, key: Any, build: Callable[[], Any]) -> Any:
        """``build()``, shared through the job's cache when it has one (keyed by the dataset)."""
        if self.cache is None or self.dataset is None:
            return build()
        return self.cache.get(self.dataset, (key, self.episodes), build)


@dataclass
class Trained:
    """A trainer's result: the agent to evaluate and what the training measured."""

    agent: Any
    info: dict[str, Any] = field(default_factory=dict)
    """``checkpoint``, ``seconds`` (training loop), ``load_seconds``, ``steps``, ``samples``,
    ``samples_per_s``, ``peak_memory_mb``, ``parameters``, ``final_loss``, ... as measured."""


# --------------------------------------------------------------------------------------------
# The table

_REGISTRY: dict[str, Method] = {}


def register(method: Method, *, replace: bool = False) -> Method:
    """Add ``method`` to the registry (``replace=True`` to overwrite an existing key)."""
    if not isinstance(method, Method):
        raise TypeError(f"register takes an agents.registry.Method, got {type(method).__name__}")
    if method.key in _REGISTRY and not replace and _REGISTRY[method.key] != method:
        raise ValueError(f"method {method.key!r} is already registered (pass replace=True)")
    _REGISTRY[method.key] = method
    return method


def get(key: str) -> Method:
    """The method registered as ``key``, or the :class:`Method` named by a ``"module:NAME"``
    spec (registered on first use)."""
    if isinstance(key, Method):
        return key
    if key in _REGISTRY:
        return _REGISTRY[key]
    if isinstance(key, str) and _SPEC.fullmatch(key):
        m = resolve(key)
        if not isinstance(m, Method):
            raise ValueError(f"{key!r} is a {type(m).__name__}, not an agents.registry.Method")
        return register(m)
    raise ValueError(
        f"unknown method {key!r}; known: {', '.join(_REGISTRY)} (or module.path:METHOD)"
    )


def names(kind: str | None = None) -> tuple[str, ...]:
    """Registered keys in registration order (of one ``kind`` if given)."""
    return tuple(k for k, m in _REGISTRY.items() if kind is None or m.kind == kind)


class _Labels(Mapping[str, tuple[str, str]]):
    """Live read-only view ``key -> (label, kind)`` of the registry (tables, plots)."""

    def __getitem__(self, key: str) -> tuple[str, str]:
        m = _REGISTRY[key]
        return m.label, m.kind

    def __iter__(self) -> Iterator[str]:
        return iter(list(_REGISTRY))

    def __len__(self) -> int:
        return len(_REGISTRY)


#: ``key -> (label, kind)`` of every registered method, in registration order.
METHODS: Mapping[str, tuple[str, str]] = _Labels()


def _builtin() -> None:
    B = "agents.baselines"
    for key, label, summary in (
        ("random", "Random", "uniformly random valid calls (the 0 of the normalized score)"),
        ("zero-shot", "B (zero-shot)", "the untrained embedded planner (the paper's baseline B)"),
        (
            "edit-only",
            "E (edit-only)",
            "one call per tool the request names, by keyword (paper's E)",
        ),
    ):
        register(
            Method(key, label, "baseline", summary, factory=f"{B}:make_{key.replace('-', '_')}")
        )
    E = "agents.embedded.method"
    paper = {
        "s": ("S", "supervised fine-tuning on every step"),
        "rl": ("RL", "SFT on trajectories with r >= 4 (reward-filtered)"),
        "rw": ("RW", "SFT weighted by max(r - 3, 0) (reward-weighted)"),
        "sw": ("SW", "SFT weighted by the standardized r (negative weights push away)"),
        "dpo": ("DPO", "DPO on (r >= 4, r in [2.5, 3.5]) pairs against the S run"),
    }
    for key, (label, summary) in paper.items():
        if key == "dpo":  # the predecessor paper's SW variant sits with SW in the tables
            register(
                Method(
                    "sw-task", "SW per-task", "embedded", "SW standardized within each task",
                    trainer=f"{E}:train", loader=f"{E}:load", config=f"{E}:EmbeddedMethodConfig",
                    defaults={"objective": "sw", "groups": "task_id"}, checkpoint="model.pt",
                )
            )  # fmt: skip
        register(
            Method(
                key, label, "embedded", summary, trainer=f"{E}:train", loader=f"{E}:load",
                config=f"{E}:EmbeddedMethodConfig", defaults={"objective": key},
                checkpoint="model.pt", reference="s" if key == "dpo" else None,
            )
        )  # fmt: skip
    for key in paper:
        register(
            Method(
                f"{key}-text", f"{paper[key][0]} text-only", "embedded",
                f"{paper[key][1]}; no images (text vs vision)", trainer=f"{E}:train",
                loader=f"{E}:load", config=f"{E}:EmbeddedMethodConfig",
                defaults={"objective": key, "planner": {"text_only": True}}, checkpoint="model.pt",
                reference="s-text" if key == "dpo" else None,
            )
        )  # fmt: skip
    Q = "agents.qwen.method"
    for vision, suffix, what in ((True, "qwen3vl", "image in the prompt"), (False, "qwen3vl-text", "text only")):  # fmt: skip
        for key in paper:
            register(
                Method(
                    f"{key}-{suffix}", f"{paper[key][0]} Qwen3-VL{'' if vision else ' text'}",
                    "qwen", f"{paper[key][1]}; LoRA on Qwen3-VL ({what})", trainer=f"{Q}:train",
                    loader=f"{Q}:load", config=f"{Q}:QwenMethodConfig",
                    defaults={"objective": key, "model": {"vision": vision}}, checkpoint="adapter",
                    reference=f"s-{suffix}" if key == "dpo" else None,
                )
            )  # fmt: skip
    D = "agents.d3rlpy_agents"
    for key, label, summary in (
        ("cql", "DiscreteCQL", "d3rlpy's discrete CQL over the flat action"),
        ("bcq", "DiscreteBCQ", "d3rlpy's discrete BCQ over the flat action"),
        ("bc", "DiscreteBC", "d3rlpy's discrete behaviour cloning over the flat action"),
    ):
        register(
            Method(
                key, label, "d3rlpy", summary, trainer=f"{D}:train_method", loader=f"{D}:load_method",
                config=f"{D}:D3rlpyMethodConfig", defaults={"algo": key}, checkpoint="model.d3",
            )
        )  # fmt: skip
    C = "agents.calllevel"
    for key, label, algo, summary in (
        (
            "iql",
            "IQL (call-level)",
            "iql",
            "IQL's expectile critic over the calls; advantage-weighted planner",
        ),
        (
            "cql-planner",
            "CQL (call-level)",
            "cql",
            "conservative call-level Q (logsumexp over tools and values); advantage-weighted planner",
        ),
        (
            "awac",
            "AWAC (call-level)",
            "awac",
            "critic of the data's behaviour; AWAC's batch-softmax weights on the planner",
        ),
    ):
        for text in (False, True):  # --policy text trains the text-only variant
            register(
                Method(
                    key + "-text" * text, label.replace(" (", " text-only (") if text else label,
                    "embedded", summary + "; no images" * text, trainer=f"{C}.method:train",
                    loader=f"{C}.method:load", config=f"{C}.{algo}:{algo.upper()}Config",
                    defaults={"planner": {"text_only": True}} if text else {}, checkpoint="model.pt",
                )
            )  # fmt: skip
    for key, label, algo in (("iql", "IQL", "iql"), ("cql-planner", "CQL", "cql"), ("awac", "AWAC", "awac")):  # fmt: skip
        for vision, suffix in ((True, "qwen3vl"), (False, "qwen3vl-text")):
            register(
                Method(
                    f"{key}-{suffix}", f"{label} Qwen3-VL{'' if vision else ' text'} (call-level)", "qwen",
                    f"the {label} critic's per-call weights on a Qwen3-VL LoRA adapter",
                    trainer=f"{C}.qwen:train", loader=f"{C}.qwen:load", config=f"{C}.qwen:CallLevelQwenConfig",
                    defaults={"algorithm": algo, "model": {"vision": vision}}, checkpoint="adapter",
                )
            )  # fmt: skip
    O = "agents.online"  # noqa: E741 - a name like the others
    for key, label in (("ppo", "PPO (online)"), ("dqn", "DQN (online)")):
        register(
            Method(
                key, label, "online", f"stable-baselines3's {key.upper()} in the env (no dataset)",
                trainer=f"{O}:train_method", loader=f"{O}:load_method",
                config=f"{O}:OnlineMethodConfig", defaults={"algo": key}, checkpoint="model.zip",
                needs_dataset=False,
            )
        )  # fmt: skip
    register(Method("teacher", "Teacher", "baseline", "the noisy oracle that generated the data", factory=f"{B}:make_teacher"))  # fmt: skip
    register(Method("oracle", "Oracle", "baseline", "the task's own plan (the 100 of the normalized score)", factory=f"{B}:make_oracle"))  # fmt: skip


_builtin()
