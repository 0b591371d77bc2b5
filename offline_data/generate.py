"""Generate an ImageStyling dataset: teachers through the batched vector env, into Minari.

Episode ``e`` of a dataset with seed ``s`` gets its own task (``sample_task`` with a seed
derived from ``(s, e)``, train templates) and its own teacher generator, so its content does
not depend on how many envs run side by side or how the range is sharded. A dataset of another
action library (``library="v3"``, ``"normal"``: :mod:`styling_env.libraries`) draws the same
seeds' tasks in that library (:func:`~styling_env.library_tasks.sample_library_task`), plays
them in an env of that library and stores its native actions and JSON. The dataset is
written into a hidden staging folder next to Minari's datasets and moved into place only when
complete, so an interrupted run never leaves a dataset that looks finished.
"""

from __future__ import annotations

import json
import platform
import shutil
import time
import warnings
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from styling_env.actions import MASK_NAMES
from styling_env.engine import STOP, Stop
from styling_env.judge import SCORE_NAMES
from styling_env.libraries import library, library_plan
from styling_env.library_tasks import sample_library_task
from styling_env.tasks import DEFAULT_SOURCES, FIXED_SPLITS, SPLITS, TIERS, Task, sample_task
from styling_env.tools import REGIONS, ToolCall
from styling_env.tools.library_tables import DEFAULT_LIBRARY, check_library
from styling_env.tools.vocabulary import VALUES
from styling_env.validation import nonnegative_int, positive_int
from styling_env.vector import ImageStylingVectorEnv

from .canonical import CANONICAL_THREADS, canonical_recipes
from .dataset import (
    FORMAT_VERSION,
    META_KEY,
    DatasetError,
    Recipe,
    code_version,
    combine_digests,
    dataset_path,
    datasets_root,
    episode_digest,
    move_into_place,
    namespaces,
    observation_space,
    platform_info,
    r_histogram,
    set_meta,
    staging,
)  # fmt: skip
from .merge import merge
from .teachers import NoiseProfile, NoisyOracle, Teacher, paper_plan, precise_instruction, reason

AUTHOR = "ImageStyling contributors"
AUTHOR_EMAIL = "image-styling@users.noreply.github.com"
CODE_PERMALINK = "https://github.com/image-styling/image-styling/tree/main/offline_data"


#: The task split datasets are drawn from. The test split and the free-text set (``"free"``,
#: :mod:`styling_env.free_tasks`) measure generalization: no dataset is ever drawn from them.
TRAINING_SPLIT = "train"


#: Every task split there is (``"free"``: :mod:`styling_env.free_tasks`): a name outside them
#: is unknown, not an evaluation split.
KNOWN_SPLITS = tuple(dict.fromkeys((*SPLITS, "free", *FIXED_SPLITS)))


def check_training_split(split: str) -> str:
    """``split`` if datasets may be drawn from it (only ``"train"``), else a ``ValueError``
    that says why: evaluation tasks are never trained on; a name that is no split at all is
    called unknown."""
    if split not in KNOWN_SPLITS:
        raise ValueError(
            f"unknown split {split!r}; expected one of {', '.join(KNOWN_SPLITS)} (datasets are "
            f"generated from {TRAINING_SPLIT!r} only)"
        )
    if split != TRAINING_SPLIT:
        what = "the free-text test set" if split == "free" else f"split {split!r}"
        raise ValueError(
            f"datasets are generated from training tasks only (split 'train'); {what} is for "
            "evaluation and is never trained on"
        )
    return split


def episode_seed(seed: int, e: int) -> int:
    """The task seed of episode ``e`` of a dataset with seed ``seed``."""
    return int(np.random.SeedSequence([seed, e]).generate_state(1)[0] & 0x7FFFFFFF)


def episode_task(
    tier: str, seed: int, e: int, per_task: int = 1, library: str = DEFAULT_LIBRARY
) -> Task:
    """The task of episode ``e``: consecutive groups of ``per_task`` episodes share one task
    (so DPO finds same-task pairs and SW can standardize per task); each episode still has its
    own teacher generator. In another ``library``, the same seed's task drawn in it.
    ``per_task`` must be a positive int and ``seed`` a non-negative one (``ValueError``)."""
    task_seed = episode_seed(nonnegative_int("seed", seed), e // positive_int("per_task", per_task))
    if check_library(library) == DEFAULT_LIBRARY:
        return sample_task(tier, task_seed, "train", DEFAULT_SOURCES[tier])
    return sample_library_task(tier, task_seed, "train", DEFAULT_SOURCES[tier], library)


def _rng(seed: int, e: int) -> np.random.Generator:
    return np.random.default_rng([seed, e, 1])


def native(decoded: Any, raw: Any = None, library_name: str = DEFAULT_LIBRARY) -> dict[str, Any]:
    """The native ``Dict`` action of a call or STOP in action library ``library_name``
    (``preserve``: the call's preserved regions as bits). An invalid action has no native form
    of its own: the raw action it came from is stored (clipped into the action space's bounds,
    so the dataset stays valid; the step's ``call`` info says ``INVALID`` with the env's
    error)."""
    none = np.zeros(len(MASK_NAMES), np.int8)
    lib = library(library_name)
    stop = STOP if lib.name == DEFAULT_LIBRARY else lib.stop
    if isinstance(decoded, ToolCall):
        tool, value = (
            (decoded.tool_index, decoded.value_index)
            if lib.name == DEFAULT_LIBRARY
            else lib.indices(decoded)
        )
        return {
            "tool": tool, "value": value,
            "strength": np.array([decoded.strength], np.float32), "region": REGIONS.index(decoded.region),
            "preserve": decoded.preserve_bits.astype(np.int8),
        }  # fmt: skip
    if isinstance(decoded, Stop):
        return {"tool": stop, "value": 0, "strength": np.array([0.0], np.float32), "region": 0,
                "preserve": none}  # fmt: skip
    if not isinstance(raw, dict) or not {"tool", "value", "strength", "region"} <= set(raw):
        raise DatasetError(
            f"an invalid action ({getattr(decoded, 'error', decoded)!r}) can only be stored with "
            "the raw native action it came from"
        )

    def idx(x: Any, hi: int) -> int:
        v = np.asarray(x, dtype=np.float64).reshape(-1)
        return int(np.clip(np.nan_to_num(v[0]) if v.size else 0, 0, hi))

    s = np.asarray(raw["strength"], dtype=np.float64).reshape(-1)
    s = float(np.clip(np.nan_to_num(s[0]) if s.size else 0.0, 0.0, 1.0))
    keep = np.asarray(raw.get("preserve", none), dtype=np.float64).reshape(-1)
    keep = (np.nan_to_num(keep) != 0).astype(np.int8) if keep.size == len(MASK_NAMES) else none
    return {
        "tool": idx(raw["tool"], stop), "value": idx(raw["value"], lib.max_values - 1),
        "strength": np.array([s], np.float32), "region": idx(raw["region"], len(REGIONS) - 1),
        "preserve": keep,
    }  # fmt: skip


def call_json(decoded: Any, library_name: str = DEFAULT_LIBRARY) -> str:
    """A step's ``call`` info: the paper's JSON action object of a call in the words of library
    ``library_name`` (:meth:`~styling_env.libraries.Library.to_json`; ``v2``:
    :meth:`~styling_env.tools.ToolCall.to_dict`), ``STOP`` or ``INVALID`` with the error."""
    if isinstance(decoded, ToolCall):
        lib = library(library_name)
        d = decoded.to_dict() if lib.name == DEFAULT_LIBRARY else lib.to_json(decoded)
        return json.dumps(d, sort_keys=True)
    if isinstance(decoded, Stop):
        return json.dumps({"action_id": "STOP"})
    return json.dumps({"action_id": "INVALID", "error": getattr(decoded, "error", "")})


@dataclass
class _Running:
    """An episode in progress in one slot."""

    e: int
    task: Task
    rng: np.random.Generator
    noise: dict[str, Any]
    requested: dict[str, str]
    oracle_plan: list[ToolCall]
    obs: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)
    terms: list[bool] = field(default_factory=list)
    truncs: list[bool] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    mistakes: list[str] = field(default_factory=list)
    overall: list[float] = field(default_factory=list)
    made: list[ToolCall] = field(default_factory=list)


@dataclass
class Finished:
    """A finished episode, ready to write."""

    e: int
    buffer: Any  # minari EpisodeBuffer
    meta: dict[str, Any]
    digest: bytes

    @property
    def r(self) -> float:
        return float(self.meta["r"])

    @property
    def ret(self) -> float:
        return float(np.sum(self.buffer.rewards))

    def with_meta(self, **changes: Any) -> Finished:
        """A copy with episode metadata changed and the digest recomputed to match."""
        meta = {**self.meta, **changes}
        b = self.buffer
        digest = episode_digest(
            b.observations, b.actions, b.rewards, b.terminations, b.truncations, b.infos, meta
        )
        return Finished(self.e, b, meta, digest)


def _slot_obs(obs: dict[str, Any], i: int) -> dict[str, Any]:
    return {k: v[i] for k, v in obs.items() if k != "source"}


def rollouts(
    tier: str, episodes: Sequence[int], seed: int, teacher: Teacher, *, image_size: int = 128,
    max_steps: int = 8, num_envs: int = 32, device: str = "cpu",
    task_fn: Callable[[int], Task] | None = None, progress: Callable[[int], None] | None = None,
    per_task: int = 1, library: str = DEFAULT_LIBRARY,
) -> Iterator[Finished]:  # fmt: skip
    """Run ``teacher`` on the given episode indices through one vector env of ``num_envs``
    slots in action library ``library``; yields each episode when it ends (in completion
    order). The teacher is given the oracle plan as the library states it
    (:func:`~styling_env.libraries.library_plan`)."""
    from minari.data_collector import EpisodeBuffer

    library = check_library(library)
    positive_int("num_envs", num_envs)
    if task_fn is None:
        nonnegative_int("seed", seed)
        positive_int("per_task", per_task)
        task_fn = lambda e: episode_task(tier, seed, e, per_task, library)  # noqa: E731
    todo = deque(episodes)
    n = min(num_envs, len(todo))
    if not todo:
        return
    env = ImageStylingVectorEnv(
        n, tier=tier, image_size=image_size, device=device, max_steps=max_steps,
        autoreset_mode="disabled", library=library,
    )  # fmt: skip
    running: list[_Running | None] = [None] * n

    def begin(slots: list[int], first: bool) -> dict[str, Any]:
        es = [todo.popleft() for _ in slots]
        tasks = [task_fn(e) for e in es]
        if first:
            obs, _ = env.reset(options={"tasks": tasks})
        else:
            mask = np.zeros(n, bool)
            mask[slots] = True
            obs, _ = env.reset(options={"reset_mask": mask, "tasks": tasks})
        for i, e, t in zip(slots, es, tasks, strict=True):
            if t.library != library:
                from .errors import LibraryMismatchError

                raise LibraryMismatchError(
                    f"task {t.task_id!r} is of action library {t.library!r}, the episodes are "
                    f"played in library {library!r}"
                )
            plan = library_plan(env.engine.slots[i].reference.plan, library)
            rng = _rng(seed, e)
            noise = teacher.start(i, t, plan, rng)
            running[i] = _Running(e, t, rng, noise, {c.tool: c.value for c in plan}, plan)
        return obs

    obs = begin(list(range(n)), True)
    for i in range(n):
        running[i].obs.append(_slot_obs(obs, i))
        running[i].overall.append(float(env.engine.slots[i].score.overall))
    while any(r is not None for r in running):
        live = [i for i in range(n) if running[i] is not None]
        acts = teacher.act(obs, live)
        decoded: list[Any] = [Stop()] * n
        for i, act in zip(live, acts, strict=True):
            run = running[i]
            a, tag = act[0], act[1]
            why = act[2] if len(act) > 2 and act[2] else None  # a teacher may bring its own reason
            if why is None:
                why = reason(
                    a, run.task, run.requested, obs["context"][i], len(run.made), run.rng, run.made
                )
            decoded[i] = a
            run.actions.append(native(a, act[3] if len(act) > 3 else None, library))
            run.calls.append(call_json(a, library))
            run.mistakes.append(tag)
            run.reasons.append(why)
            if isinstance(a, ToolCall):
                run.made.append(a)
        obs, rewards, terms, truncs, infos = env.step(decoded)
        ended = []
        for i in live:
            run = running[i]
            run.obs.append(_slot_obs(obs, i))
            run.rewards.append(float(rewards[i]))
            run.terms.append(bool(terms[i]))
            run.truncs.append(bool(truncs[i]))
            run.overall.append(float(env.engine.slots[i].score.overall))
            if terms[i] or truncs[i]:
                ended.append(i)
        for i in ended:
            yield _finish(running[i], env.engine.slots[i], EpisodeBuffer)
            running[i] = None
            if progress:
                progress(1)
        if ended and todo:
            restart = ended[: len(todo)]
            obs = begin(restart, False)
            for i in restart:
                running[i].obs.append(_slot_obs(obs, i))
                running[i].overall.append(float(env.engine.slots[i].score.overall))
    env.close()


def _finish(run: _Running, slot: Any, buffer_cls: Any) -> Finished:
    obs = {
        k: np.stack([np.asarray(o[k]) for o in run.obs]) for k in run.obs[0] if k != "instruction"
    }
    obs["instruction"] = [o["instruction"] for o in run.obs]
    actions = {k: np.stack([np.asarray(a[k]) for a in run.actions]) for k in run.actions[0]}
    infos = {
        "reasoning": run.reasons + [""],
        "call": run.calls + [""],
        "mistake": run.mistakes + [""],
        # a list, not an array: Minari 0.5.4 cannot read back a 1-d array info (empty shape tag)
        "overall": [float(x) for x in run.overall],
    }
    sc = slot.score
    reasons = [why for why, c in zip(run.reasons, run.calls, strict=True) if '"STOP"' not in c]
    meta = {
        "episode_index": run.e,
        "task": run.task.to_dict(),
        "task_id": run.task.task_id,
        "instruction": run.task.instruction,
        "precise_instruction": precise_instruction(run.made, run.task),
        "plan": paper_plan(run.made, reasons[: len(run.made)], run.task),
        "oracle_plan": [c.to_dict() for c in run.oracle_plan],
        "scores": {k: round(float(sc.scores[k]), 4) for k in SCORE_NAMES},
        "overall": round(float(sc.overall), 4),
        "r": round(float(sc.r), 4),
        "planning": {k: round(float(v), 4) for k, v in sc.planning.items()},
        "violations": list(sc.violations),
        "noise": run.noise,
        "steps": len(run.actions),
    }
    rewards = np.asarray(run.rewards, np.float64)
    terms, truncs = np.asarray(run.terms), np.asarray(run.truncs)
    digest = episode_digest(obs, actions, rewards, terms, truncs, infos, meta)
    buf = buffer_cls(
        id=run.e, observations=obs, actions=actions, rewards=rewards, terminations=terms,
        truncations=truncs, infos=infos,
    )  # fmt: skip
    return Finished(run.e, buf, meta, digest)


# --------------------------------------------------------------------------------------------
# Reference scores


def random_rows(name: str = DEFAULT_LIBRARY) -> tuple[tuple[str, str], ...]:
    """The ``(tool, value)`` rows a random plan draws from in library ``name``: every value of
    its painting actions (``v2``: :data:`~styling_env.tools.vocabulary.VALUES`; the ``normal``
    library's rules paint nothing by themselves)."""
    from .teachers import painting_actions

    if check_library(name) == DEFAULT_LIBRARY:
        return VALUES
    return tuple((t, v) for t, vs in painting_actions(name).items() for v in vs)


class RandomPlans:
    """A teacher that makes 1-5 uniformly random calls of the task's library's painting actions
    (:func:`random_rows`), then stops (the ``ref_min_score`` policy, as in the judge
    validation)."""

    name = "random"

    def __init__(self) -> None:
        self._left: dict[int, list[ToolCall]] = {}

    def start(self, slot, task, plan, rng):
        rows = random_rows(getattr(task, "library", DEFAULT_LIBRARY))
        k = int(rng.integers(1, 6))
        picks = rng.integers(len(rows), size=k)
        self._left[slot] = [
            ToolCall(*rows[j], round(float(rng.uniform(0.2, 1.0)), 2)) for j in picks
        ]
        return {"teacher": self.name}

    def act(self, observations, slots):
        return [(self._left[i].pop(0) if self._left[i] else Stop(), "") for i in slots]


def reference_returns(
    tier: str, seed: int, image_size: int, n: int = 100, num_envs: int = 32,
    library: str = DEFAULT_LIBRARY,
) -> tuple[float, float]:  # fmt: skip
    """Mean return of random plans and of the oracle on ``n`` tasks of the tier in ``library``
    (episode indices past any dataset's, so they are not training tasks); ``n`` must be a
    positive int (no tasks have no mean: a dataset without reference scores passes
    ``ref_episodes=0`` to :func:`generate` instead)."""
    positive_int("n", n)
    eps = range(10**8, 10**8 + n)
    kw = dict(image_size=image_size, num_envs=num_envs, library=library)
    rand = [f.ret for f in rollouts(tier, eps, seed, RandomPlans(), **kw)]
    oracle = NoisyOracle(NoiseProfile(clean=1.0, jitter=0.0), name="oracle")
    best = [f.ret for f in rollouts(tier, eps, seed, oracle, **kw)]
    return float(np.mean(rand)), float(np.mean(best))


# --------------------------------------------------------------------------------------------
# Writing


def _env_spec(
    tier: str, image_size: int, max_steps: int, split: str, library: str = DEFAULT_LIBRARY
) -> Any:
    import dataclasses

    import gymnasium as gym

    import styling_env  # noqa: F401  (registers the ids)

    spec = gym.spec("ImageStyling-v0")
    kwargs = {
        **spec.kwargs,
        "tier": tier,
        "image_size": image_size,
        "max_steps": max_steps,
        "split": split,
    }
    if library != DEFAULT_LIBRARY:  # a v2 dataset's spec is what it always was
        kwargs["library"] = library
    return dataclasses.replace(spec, kwargs=kwargs)


DESCRIPTION = (
    "ImageStyling {tier} tier: {n} synthetic trajectories of a planner styling an image to a "
    "vague request with ten styling tools (arXiv 2603.07148, reproduced). Teacher: {teacher} "
    "(noisy-oracle: the oracle with seeded mistakes); every step has a reason and the call as the paper's JSON; "
    "every episode has its task, Stage-3 instruction, six judge scores and quality r in [0, 5]. "
    "Observations omit `source` (it is `image` at t=0). Lossless images, parquet."
)


def check_ref_scores(ref_scores: Any) -> tuple[float, float] | None:
    """``ref_scores`` as ``(ref_min_score, ref_max_score)`` floats, or ``None``; a pair that is
    not two finite numbers (the NaN mean of no episodes) is a ``ValueError``: a dataset records
    real reference scores or none."""
    if ref_scores is None:
        return None
    try:
        lo, hi = (float(v) for v in ref_scores)
    except (TypeError, ValueError):
        raise ValueError(
            f"ref_scores must be None or two numbers (ref_min_score, ref_max_score), got "
            f"{ref_scores!r}"
        ) from None
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError(
            f"ref_scores must be finite numbers, got {ref_scores!r}: a dataset records real "
            "reference scores or none (ref_episodes=0)"
        )
    return lo, hi


def check_run(num_envs: int, ref_episodes: int) -> None:
    """The run settings every generation path checks before any work: ``num_envs`` a positive
    int, ``ref_episodes`` a non-negative one (0: no reference scores are recorded)."""
    positive_int("num_envs", num_envs)
    nonnegative_int("ref_episodes", ref_episodes)


def _description(recipe: Recipe) -> str:
    text = DESCRIPTION.format(tier=recipe.tier, n=recipe.episodes, teacher=recipe.teacher)
    if recipe.library != DEFAULT_LIBRARY:
        lib = library(recipe.library)
        text += (
            f" Action library {lib.name!r} ({lib.version}, {lib.stop} actions, at most "
            f"{lib.max_calls} calls a plan): actions are its native indices, calls its JSON."
        )
    return text


def write_dataset(
    did: str, finished: Sequence[Finished] | Iterator[Finished], *, recipe: Recipe,
    ref_scores: tuple[float, float] | None, source: str = "generated", overwrite: bool = False,
    extra: dict[str, Any] | None = None, chunk: int = 256, description: str | None = None,
) -> Path:  # fmt: skip
    """Write finished episodes (any order; stored by episode index) as Minari dataset ``did``.

    Written to a hidden staging folder and moved into place when complete; the checksum, the r
    histogram and ``complete: true`` are the last metadata written. ``ref_scores`` is ``None``
    (none recorded) or two finite numbers (``ValueError`` otherwise, before anything is
    written)."""
    from .safety import WriteError, exclusive, write_error

    final = dataset_path(did)  # an id, never a path (checked before anything is written)
    ref_scores = check_ref_scores(ref_scores)
    with exclusive(final, f"dataset {did!r}"):
        if final.exists() and not overwrite:
            raise DatasetError(
                f"dataset {did!r} already exists at {final}; pass --overwrite to replace it"
            )
        try:
            return _write_dataset(
                did, final, finished, recipe=recipe, ref_scores=ref_scores, source=source,
                overwrite=overwrite, extra=extra, chunk=chunk, description=description,
            )  # fmt: skip
        except WriteError:
            raise
        except OSError as e:  # a full disk, a read-only MINARI_DATASETS_PATH
            raise write_error(final, e) from e


def _write_dataset(
    did: str, final: Path, finished: Sequence[Finished] | Iterator[Finished], *, recipe: Recipe,
    ref_scores: tuple[float, float] | None, source: str, overwrite: bool,
    extra: dict[str, Any] | None, chunk: int, description: str | None,
) -> Path:  # fmt: skip
    import minari
    from minari.namespace import create_namespace

    root = datasets_root()
    with staging(final) as stage:
        for ns in namespaces(did):
            if not (stage / ns / "namespace_metadata.json").exists():
                create_namespace(
                    ns, description="ImageStyling: agentic image styling with offline RL (arXiv 2603.07148)"
                )  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter(
                "ignore"
            )  # Minari warns about fields we deliberately leave to defaults
            ds = minari.create_dataset_from_buffers(
                did, [], env=_env_spec(recipe.tier, recipe.image_size, recipe.max_steps, "train", recipe.library),
                eval_env=_env_spec(recipe.tier, recipe.image_size, recipe.max_steps, "test", recipe.library),
                algorithm_name=recipe.teacher, author=AUTHOR, author_email=AUTHOR_EMAIL,
                code_permalink=CODE_PERMALINK,
                description=description or _description(recipe),
                observation_space=observation_space(recipe.image_size, recipe.max_steps, recipe.library),
                ref_min_score=None if ref_scores is None else ref_scores[0],
                ref_max_score=None if ref_scores is None else ref_scores[1],
                data_format="parquet", jpeg_encoding=False,
                requirements=["image-styling==0.1.0", "torch==2.13.0"],
            )  # fmt: skip
        storage = ds.storage
        storage.get_size = lambda: 0.0  # Minari re-measures the whole folder per episode: O(n^2)
        storage.update_metadata(
            {META_KEY: {"format_version": FORMAT_VERSION, "complete": False, "source": source}}
        )
        digests: dict[int, bytes] = {}
        rs: dict[int, float] = {}
        pending: list[Finished] = []

        def flush() -> None:
            pending.sort(key=lambda f: f.e)
            storage.update_episodes([f.buffer for f in pending])
            metas = [{**f.meta, "digest": f.digest.hex()} for f in pending]
            storage.update_episode_metadata(metas, [f.e for f in pending])
            pending.clear()

        for f in finished:
            if f.e in digests:
                raise DatasetError(f"episode {f.e} was produced twice")
            digests[f.e], rs[f.e] = f.digest, f.r
            pending.append(f)
            if len(pending) >= chunk:
                flush()
        if pending:
            flush()
        ids = sorted(digests)
        if ids != list(range(len(ids))):
            raise DatasetError(f"episodes must be numbered 0..n-1; got {ids[:3]}...{ids[-3:]}")
        r = np.array([rs[e] for e in ids])
        ours = {
            "format_version": FORMAT_VERSION, "judge_version": recipe.judge_version,
            "code_version": code_version(), "platform": platform_info(),
            "source": source, "recipe": recipe.to_dict(),
            "episodes": len(ids), "checksum": combine_digests([digests[e] for e in ids]),
            "r_mean": round(float(r.mean()), 4) if len(r) else 0.0,
            "share_r_ge_4": round(float((r >= 4.0).mean()), 4) if len(r) else 0.0,
            "r_histogram": r_histogram(r), **(extra or {}), "complete": True,
        }  # fmt: skip
        del storage.get_size
        storage.update_metadata({META_KEY: ours, "dataset_size": storage.get_size()})
        move_into_place(stage, root, did, overwrite=overwrite)
    shutil.rmtree(stage, ignore_errors=True)
    return final


def list_local_namespaces_at(root: Path) -> list[str]:
    return [p.parent.name for p in root.glob("*/namespace_metadata.json")]


# --------------------------------------------------------------------------------------------
# The whole job


def generate(
    tier: str, episodes: int, seed: int = 0, *, image_size: int = 128, max_steps: int = 8,
    teacher: Teacher | None = None, profile: NoiseProfile | None = None, did: str | None = None,
    num_envs: int = 64, shards: int = 1, overwrite: bool = False, progress: bool = True,
    ref_episodes: int = 100, device: str = "cpu", per_task: int = 2, split: str = TRAINING_SPLIT,
    library: str = DEFAULT_LIBRARY,
) -> Path:  # fmt: skip
    """Generate dataset ``did`` (default ``image-styling/<tier>-v0``; in another action
    ``library``, ``image-styling/<tier>-<library>-v0``): ``episodes`` episodes of
    ``teacher`` (default :class:`NoisyOracle` with ``profile``), scored by the judge, with
    ``ref_min_score``/``ref_max_score`` from random and oracle plans on ``ref_episodes`` tasks
    (0: none recorded).
    ``shards > 1`` writes the episode range as that many shard datasets and merges them
    (:func:`offline_data.merge.merge`), as a cluster would.

    ``did`` must be a dataset id (``[namespace/]name-vN``), checked before any work; one process
    at a time writes a given id (another gets :class:`offline_data.safety.ConcurrentWriteError`);
    a canonical id with a non-canonical recipe warns (:class:`NonCanonicalWarning`). ``split``
    other than ``"train"`` is refused (:func:`check_training_split`)."""
    from .dataset import dataset_id
    from .safety import exclusive, writable

    check_training_split(split)

    _check_size(tier, episodes)
    _check_shards(shards, episodes)
    check_run(num_envs, ref_episodes)

    did = did or dataset_id(tier, library=library)
    final = dataset_path(did)  # an id, never a path: checked before any work
    writable(datasets_root())  # a read-only or full MINARI_DATASETS_PATH: a clear error now
    teacher, recipe = _teacher_recipe(
        tier, episodes, seed, image_size, max_steps, teacher, profile, per_task, library
    )
    with exclusive(final, f"dataset {did!r}"):  # one writer per dataset id
        if final.exists() and not overwrite:
            raise DatasetError(
                f"dataset {did!r} already exists at {final}; pass --overwrite to replace it"
            )
        canonical = recipe_diff(did, recipe) == {}
        warn_noncanonical(did, recipe)
        path = _generate(did, recipe, teacher, tier, seed, image_size, ref_episodes, num_envs,
                         shards, episodes, overwrite, progress, device)  # fmt: skip
    if canonical:
        warn_canonical_content(did, path)
    return path


class NonCanonicalWarning(UserWarning):
    """A dataset written under a canonical id with another recipe than the canonical one."""


def recipe_diff(did: str, recipe: Recipe) -> dict[str, Any] | None:
    """The fields of ``recipe`` that differ from ``did``'s canonical recipe (``{}``: the
    canonical recipe); None when ``did`` is not a canonical id."""
    entry = canonical_recipes().get(did)
    want = entry.get("recipe") if isinstance(entry, dict) else None
    if not isinstance(want, dict):
        return None
    got = recipe.to_dict()
    # an empty canonical profile means the tier's default one
    return {k: got.get(k) for k, v in want.items() if got.get(k) != v and (v or k != "profile")}


def warn_noncanonical(did: str, recipe: Recipe) -> None:
    """Warn (:class:`NonCanonicalWarning`) when ``did`` is a canonical id (``image-styling/
    simple-v0``, ...) and ``recipe`` is not its canonical recipe: results on it are not
    comparable with published ones."""
    diff = recipe_diff(did, recipe)
    if diff:
        want = canonical_recipes()[did]["recipe"]
        changed = ", ".join(f"{k}={v!r} (canonical {want[k]!r})" for k, v in diff.items())
        warnings.warn(
            f"{did!r} is a canonical dataset id but this recipe differs from the canonical one: "
            f"{changed}. Results on it are not comparable with the published ones; pass another "
            "--id (e.g. image-styling/mine-v0) for your own data",
            NonCanonicalWarning,
            stacklevel=3,
        )


def warn_canonical_content(did: str, path: Path) -> None:
    """Warn (:class:`NonCanonicalWarning`) when a canonical id generated with its canonical
    recipe holds other content than the checksum recorded for it (``canonical.json``).

    The recipe fixes every random draw, but not every float: torch sums in another order at
    another thread count and on another CPU, and a few of the teacher's and the judge's
    decisions near a threshold flip, so a few episodes differ (measured: the 10K Simple tier on
    an AMD EPYC machine at 2 threads, ``80c26dd0...``, and at 1 thread, ``6841523...``, against
    the canonical ``75206744...``). The recorded checksums were
    generated in one process at 2 torch threads; a 1-thread run (``OMP_NUM_THREADS=1``, a
    1-thread Ray task) writes an equally valid sample of the recipe, but not the published
    dataset, and a benchmark cell's fingerprint holds the checksum."""
    entry = canonical_recipes().get(did)
    want = entry.get("checksum") if isinstance(entry, dict) else None
    if not want:
        return
    try:
        meta = json.loads((path / "data" / "metadata.json").read_text())[META_KEY]
    except (OSError, ValueError, KeyError, TypeError):
        return  # not a local Minari folder: nothing to compare here
    got = meta.get("checksum")
    if got and got != want:
        import torch

        warnings.warn(
            f"{did!r} was generated with its canonical recipe but holds other content than the "
            f"canonical dataset (checksum {got[:12]}..., canonical {want[:12]}...): it was "
            f"generated at {torch.get_num_threads()} torch thread(s) on {platform.processor() or platform.machine()}; "
            f"the canonical checksums at {CANONICAL_THREADS} threads in one process, and another thread count or "
            "another CPU rounds some float sums differently (python -m experiments.check_canonical "
            "checks a machine). Results on it are a valid sample of the recipe, not on the "
            "published dataset",
            NonCanonicalWarning,
            stacklevel=3,
        )


def _generate(did, recipe, teacher, tier, seed, image_size, ref_episodes, num_envs, shards,
              episodes, overwrite, progress, device) -> Path:  # fmt: skip
    refs = (
        reference_returns(tier, seed, image_size, ref_episodes, num_envs, recipe.library)
        if ref_episodes
        else None
    )
    if shards == 1:
        return _run(
            did, range(episodes), recipe, teacher, refs, num_envs, progress, overwrite, device
        )
    parts = []
    for k in range(shards):
        _run(shard_id(did, k, shards), shard_range(episodes, k, shards), recipe, teacher, refs,
             num_envs, progress, True, device, shard=(k, shards))  # fmt: skip
        parts.append(shard_id(did, k, shards))
    return merge(parts, did, overwrite=overwrite, remove_parts=True)


def shard_id(did: str, k: int, n: int) -> str:
    """``image-styling/regular-v0`` -> ``image-styling/regular-shard3of8-v0``."""
    return f"{did.rsplit('-v', 1)[0]}-shard{k}of{n}-v0"


def shard_range(episodes: int, k: int, n: int) -> range:
    bounds = np.linspace(0, episodes, n + 1).astype(int)
    return range(int(bounds[k]), int(bounds[k + 1]))


def generate_shard(
    tier: str, episodes: int, seed: int, shard: int, shards: int, *, image_size: int = 128,
    max_steps: int = 8, teacher: Teacher | None = None, profile: NoiseProfile | None = None,
    did: str | None = None, num_envs: int = 32, overwrite: bool = False, progress: bool = True,
    ref_episodes: int = 100, device: str = "cpu", per_task: int = 2, split: str = TRAINING_SPLIT,
    library: str = DEFAULT_LIBRARY,
) -> Path:  # fmt: skip
    """Generate only shard ``shard`` of ``shards`` of a dataset (one job of a cluster run; each
    shard computes the same reference scores); :func:`offline_data.merge.merge` joins them.
    ``split`` other than ``"train"`` is refused (:func:`check_training_split`)."""
    check_training_split(split)
    from .dataset import dataset_id

    _check_shards(shards, episodes)
    if nonnegative_int("shard", shard) >= shards:
        raise ValueError(f"shard must be an int in [0, {shards - 1}], got {shard!r}")
    check_run(num_envs, ref_episodes)
    teacher, recipe = _teacher_recipe(
        tier, episodes, seed, image_size, max_steps, teacher, profile, per_task, library
    )
    refs = (
        reference_returns(tier, seed, image_size, ref_episodes, num_envs, library)
        if ref_episodes
        else None
    )
    part = shard_id(did or dataset_id(tier, library=library), shard, shards)
    return _run(part, shard_range(episodes, shard, shards), recipe, teacher, refs, num_envs,
                progress, overwrite, device, shard=(shard, shards))  # fmt: skip


def _check_size(tier: str, episodes: int) -> None:
    if tier not in TIERS:
        raise ValueError(f"unknown tier {tier!r}; expected one of {', '.join(TIERS)}")
    positive_int("episodes", episodes)


def _check_shards(shards: int, episodes: int) -> None:
    if positive_int("shards", shards) > episodes:
        raise ValueError(f"shards must be an int in [1, episodes], got {shards!r}")


def _teacher_recipe(
    tier, episodes, seed, image_size, max_steps, teacher, profile, per_task,
    library=DEFAULT_LIBRARY,
):  # fmt: skip
    _check_size(tier, episodes)
    check_library(library)
    nonnegative_int("seed", seed)
    positive_int("per_task", per_task)
    if teacher is None:
        profile = profile or NoiseProfile.for_tier(tier)
        teacher = NoisyOracle(profile)
    elif isinstance(teacher, NoisyOracle):
        profile = teacher.profile
    recipe = Recipe(
        tier, episodes, seed, image_size, max_steps, teacher.name,
        profile.to_dict() if isinstance(teacher, NoisyOracle) else {}, per_task=per_task,
        library=library,
    )  # fmt: skip
    return teacher, recipe


def _run(
    did, eps, recipe, teacher, refs, num_envs, progress, overwrite, device, shard=None,
    report: Callable[[int], None] | None = None,
) -> Path:  # fmt: skip
    """Generate episodes ``eps`` as dataset ``did``; ``report(k)`` is told of every ``k``
    finished episodes besides the progress bar (a Ray task's counter)."""
    from tqdm.auto import tqdm

    bar = tqdm(total=len(eps), desc=f"{did}", unit="ep", disable=not progress, smoothing=0.05)
    update = bar.update if report is None else (lambda k: (bar.update(k), report(k)))
    t0 = time.perf_counter()
    try:
        fins = rollouts(
            recipe.tier, eps, recipe.seed, teacher, image_size=recipe.image_size,
            max_steps=recipe.max_steps, num_envs=num_envs, device=device, progress=update,
            per_task=recipe.per_task, library=recipe.library,
        )  # fmt: skip
        extra = {"generation_seconds": None}
        if shard is not None:
            extra.update(
                shard={"index": shard[0], "count": shard[1], "first": eps.start, "stop": eps.stop}
            )
        path = write_dataset(
            did,
            _renumber(fins, eps.start),
            recipe=recipe,
            ref_scores=refs,
            overwrite=overwrite,
            extra=extra,
        )
    finally:
        bar.close()
    set_meta(path, {"generation_seconds": round(time.perf_counter() - t0, 1)})
    return path


def _renumber(fins: Iterator[Finished], first: int) -> Iterator[Finished]:
    """Shard episodes are numbered from 0 inside their shard (Minari ids), their global index
    stays in the metadata (``episode_index``)."""
    import dataclasses

    for f in fins:
        yield Finished(f.e - first, dataclasses.replace(f.buffer, id=f.e - first), f.meta, f.digest)
