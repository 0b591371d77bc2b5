"""Dataset generation on Ray: the episode range as Ray tasks, joined by the usual merge.

    python -m offline_data generate --tier regular --episodes 10000 --ray            # a local Ray
    python -m offline_data generate --tier regular --episodes 10000 --ray --address auto
    python -m offline_data generate --tier regular --episodes 10000 --ray --address ray://head:10001
    python -m offline_data generate --tier complex --library v3 --episodes 3000 --ray    # complex-v3-v0

Each task generates one shard (:func:`offline_data.generate.shard_range`: its own episode
range, so its own task and teacher seeds) exactly as ``generate --shards N`` does in one
process; the reference scores (random and oracle plans) are one more task, run beside the
shards. The shards are joined by :func:`offline_data.merge.merge`, so the dataset's content
and checksum equal those of a local run of the same recipe, whatever the number of tasks.
One progress bar counts the episodes of every task (the tasks report to a small actor).
Every action library generates this way (``library=``, part of the recipe the tasks receive).

Data moves as files: every task writes into the datasets root of the process that started
the run (``MINARI_DATASETS_PATH``), which it passes to the tasks; on a cluster that path must
be one that every node sees (a shared file system). Each shard is written in a work folder of
its own (``<root>/.ray-<id>/shard<k>``: no task ever touches another's staging folder), the
shards are merged there by one more task (hard links to the shards' episode folders: no data
is copied), and the finished dataset is moved into place; a one-task run writes the dataset
itself. The work folder is removed at the end, also after a failure.

Each task reserves as many CPUs as it runs torch threads (default: the calling process's
count, which keeps the content equal to a local run): threads that outnumber the cores
slow every task down. On a machine with few cores, processes scale better than threads
(one process with 2 torch threads uses about 1.2 of 2 cores here), so ``--task-threads 1``
is faster than one process, at the content of a 1-thread local run.

Without ``--address`` a local Ray instance sized to the machine is started for the run and
shut down after it; a process that has already called ``ray.init`` keeps its own instance.
``ray`` is an optional dependency: ``pip install -e '.[ray]'``.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from .dataset import (
    DatasetError,
    dataset_path,
    datasets_path,
    datasets_root,
    move_into_place,
    set_meta,
)

if TYPE_CHECKING:
    from .teachers import NoiseProfile, Teacher

INSTALL = "pip install -e '.[ray]'"

#: Minari's ``num_episodes_average_score`` as ``create_dataset_from_buffers`` records it beside
#: the reference scores (its default), written with them once the reference task is done.
_AVERAGE_EPISODES = 100


class RayMissingError(ImportError):
    """``--ray`` was asked for but the ``ray`` package is not installed."""


class RayClusterError(DatasetError):
    """The Ray cluster could not be reached, or one of its tasks failed for good."""


def require_ray() -> Any:
    """The ``ray`` module, or :class:`RayMissingError` saying how to install it."""
    try:
        import ray
    except ImportError as e:
        raise RayMissingError(
            f"--ray needs the optional dependency ray ({e}); install it with: {INSTALL}"
        ) from None
    return ray


@contextmanager
def ray_session(address: str | None = None, *, num_cpus: int | None = None) -> Iterator[Any]:
    """Ray, connected for the duration: the instance this process already joined, else the
    cluster at ``address`` (``"auto"``, ``"ray://host:port"``, ``"host:port"``), else a local
    instance of ``num_cpus`` CPUs (default: the machine's), which is shut down afterwards."""
    ray = require_ray()
    if ray.is_initialized():
        yield ray
        return
    os.environ.setdefault("RAY_DISABLE_USAGE_STATS", "1")
    kw: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
    if address is None:
        kw["num_cpus"] = num_cpus
    try:
        ray.init(address=address, **kw)
    except (ConnectionError, RuntimeError, ValueError) as e:
        where = f"the Ray cluster at {address!r}" if address else "a local Ray instance"
        raise RayClusterError(
            f"cannot start or reach {where}: {e} (a cluster's address is 'auto' on one of its "
            "nodes, or ray://HEAD:10001 from outside)"
        ) from None
    try:
        yield ray
    finally:
        ray.shutdown()


def cluster_cpus(ray: Any) -> int:
    """The CPUs of the connected cluster (at least 1)."""
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def check_fits(ray: Any, cpus: int, what: str) -> None:
    """:class:`RayClusterError` if no live node of the cluster has ``cpus`` CPUs (a task that
    asks for more would wait forever)."""
    nodes = [n.get("Resources", {}).get("CPU", 0) for n in ray.nodes() if n.get("Alive", True)]
    most = int(max(nodes, default=0))
    if cpus > most:
        raise RayClusterError(
            f"{what} asks for {cpus} CPUs but the largest node of the cluster has {most}: "
            "pass fewer (--cpus-per-task, or --task-threads, which it defaults to)"
        )


def task_error(e: BaseException) -> str:
    """The original exception of a failed Ray task, as one line (its type and message)."""
    cause = getattr(e, "cause", None)
    if isinstance(cause, BaseException):
        return f"{type(cause).__name__}: {cause}"
    first = str(e).strip().splitlines()
    return f"{type(e).__name__}: {first[-1] if first else ''}"


# --------------------------------------------------------------------------------------------
# One progress bar for many tasks


def progress_counter(ray: Any) -> Any:
    """An actor that tasks add finished episodes (or cells) to and the driver reads."""

    @ray.remote(num_cpus=0)
    class Counter:
        def __init__(self) -> None:
            self.n = 0

        def add(self, k: int) -> None:
            self.n += int(k)

        def get(self) -> int:
            return self.n

    return Counter.remote()


class Reporter:
    """A task's progress callback: adds to the counter actor at most every ``every`` s."""

    def __init__(self, counter: Any, every: float = 0.5) -> None:
        self.counter, self.every = counter, every
        self.pending, self.last = 0, time.monotonic()

    def __call__(self, k: int = 1) -> None:
        self.pending += k
        if time.monotonic() - self.last >= self.every:
            self.flush()

    def flush(self) -> None:
        if self.pending and self.counter is not None:
            self.counter.add.remote(self.pending)
        self.pending, self.last = 0, time.monotonic()


def wait_all(
    ray: Any, refs: Sequence[Any], names: Sequence[str], counter: Any, bar: Any
) -> list[Any]:
    """The results of ``refs`` (in order), updating ``bar`` from ``counter`` meanwhile. The
    first failed task cancels the others and raises :class:`RayClusterError` naming it."""
    pending = list(refs)
    out: dict[Any, Any] = {}
    try:
        while pending:
            ready, pending = ray.wait(pending, num_returns=len(pending), timeout=0.5)
            for ref in ready:
                try:
                    out[ref] = ray.get(ref)
                except Exception as e:  # a failed task: its error names the original one
                    name = names[list(refs).index(ref)]
                    raise RayClusterError(f"{name} failed on Ray: {task_error(e)}") from None
            bar.update(ray.get(counter.get.remote()) - bar.n)
    except BaseException:
        for ref in pending:
            ray.cancel(ref, force=True)
        raise
    return [out[r] for r in refs]


# --------------------------------------------------------------------------------------------
# Tasks


def _shard_task(
    part_root: str, did: str, k: int, n: int, recipe: Any, teacher: Teacher, num_envs: int,
    device: str, threads: int, counter: Any,
) -> str:  # fmt: skip
    """Generate shard ``k`` of ``n`` into its own datasets root ``part_root``; the one shard of
    a one-task run is the dataset itself (as a local run writes it: no merge)."""
    import torch

    from .generate import _run, shard_id, shard_range

    torch.set_num_threads(threads)
    report = Reporter(counter)
    part = shard_id(did, k, n) if n > 1 else did
    with datasets_path(part_root):
        _run(part, shard_range(recipe.episodes, k, n), recipe, teacher, None, num_envs, False,
             True, device, shard=(k, n) if n > 1 else None, report=report)  # fmt: skip
    report.flush()
    return part


def _refs_task(
    tier: str, seed: int, image_size: int, n: int, num_envs: int, threads: int, library: str
) -> tuple[float, float]:
    import torch

    from .generate import reference_returns

    torch.set_num_threads(threads)
    return reference_returns(tier, seed, image_size, n, num_envs, library)


def _merge_task(work: str, root: str, did: str, parts: Sequence[str], overwrite: bool) -> str:
    """Move the shards side by side, merge them there and move the dataset into ``root``."""
    from .merge import merge

    work_p, joined = Path(work), Path(work) / "joined"
    for k, part in enumerate(parts):
        src_root = work_p / f"shard{k}"
        move_into_place(src_root, joined, part)
    with datasets_path(joined):
        merge(parts, did, remove_parts=True)
    return str(move_into_place(joined, Path(root), did, overwrite=overwrite))


# --------------------------------------------------------------------------------------------
# The whole job


def generate_on_ray(
    tier: str, episodes: int, seed: int = 0, *, address: str | None = None,
    shards: int | None = None, image_size: int = 128, max_steps: int = 8,
    teacher: Teacher | None = None, profile: NoiseProfile | None = None, did: str | None = None,
    num_envs: int = 64, overwrite: bool = False, progress: bool = True, ref_episodes: int = 100,
    device: str = "cpu", per_task: int = 2, cpus_per_task: int | None = None,
    threads: int | None = None, library: str = "v2",
) -> Path:  # fmt: skip
    """:func:`offline_data.generate.generate` with the episode range as ``shards`` Ray tasks
    (default: one per ``cpus_per_task`` CPUs of the cluster, at most one per episode), each
    requesting ``cpus_per_task`` CPUs (default: ``threads``, so that no task's threads compete
    with another's for a core). Same arguments (``library``: the action library the episodes are
    played in; default id ``image-styling/<tier>-<library>-v0`` outside ``v2``), same checks,
    same dataset and checksum; ``address`` as in :func:`ray_session`.

    ``threads``: torch threads of each task, default this process's (``torch.get_num_threads()``).
    A dataset's content depends on the torch thread count (a few float reductions round
    differently, and a handful of episodes in thousands then take another branch), so the
    default makes a Ray run equal to a local run of this process; pass the count a local run
    used elsewhere (``canonical.json`` tiers were generated at 2)."""
    from tqdm.auto import tqdm

    from styling_env.validation import positive_int

    from .dataset import dataset_id
    from .generate import (
        _check_shards,
        _teacher_recipe,
        check_ref_scores,
        check_run,
        shard_id,
        warn_noncanonical,
    )
    from .safety import exclusive, writable

    require_ray()  # before any work
    threads = positive_int("threads", threads if threads is not None else torch.get_num_threads())
    cpus_per_task = positive_int(
        "cpus_per_task", cpus_per_task if cpus_per_task is not None else threads
    )
    did = did or dataset_id(tier, library=library)
    final = dataset_path(did)  # an id, never a path: checked before any work
    root = datasets_root()
    writable(root)
    teacher, recipe = _teacher_recipe(
        tier, episodes, seed, image_size, max_steps, teacher, profile, per_task, library
    )
    if shards is not None:
        _check_shards(shards, episodes)
    check_run(num_envs, ref_episodes)  # the recipe's checks are _teacher_recipe's, as a local run's
    with exclusive(final, f"dataset {did!r}"):
        if final.exists() and not overwrite:
            raise DatasetError(
                f"dataset {did!r} already exists at {final}; pass --overwrite to replace it"
            )
        warn_noncanonical(did, recipe)
        with ray_session(address) as ray:
            check_fits(ray, cpus_per_task, "each shard task")
            n = shards or min(episodes, max(1, cluster_cpus(ray) // cpus_per_task))
            work = root / f".ray-{uuid.uuid4().hex[:12]}"
            t0 = time.perf_counter()
            bar = tqdm(total=episodes, desc=f"{did} on Ray ({n} tasks)", unit="ep",
                       disable=not progress, smoothing=0.05)  # fmt: skip
            try:
                opts = {"num_cpus": cpus_per_task, "max_retries": 0}
                counter = progress_counter(ray)
                refs = None
                if ref_episodes:  # submitted first: it runs beside the first shards
                    refs = ray.remote(_refs_task).options(**opts).remote(
                        tier, seed, image_size, ref_episodes, num_envs, threads, recipe.library
                    )  # fmt: skip
                shard = ray.remote(_shard_task).options(**opts)
                tasks = [
                    shard.remote(
                        str(work / f"shard{k}"),
                        did,
                        k,
                        n,
                        recipe,
                        teacher,
                        num_envs,
                        device,
                        threads,
                        counter,
                    )  # fmt: skip
                    for k in range(n)
                ]
                names = [f"shard {shard_id(did, k, n)}" for k in range(n)]
                parts = wait_all(ray, tasks, names, counter, bar)
                if n == 1:  # the task wrote the dataset itself
                    path = move_into_place(work / "shard0", root, did, overwrite=overwrite)
                else:
                    merged = ray.remote(_merge_task).options(**opts)
                    path = Path(
                        wait_all(
                            ray, [merged.remote(str(work), str(root), did, parts, overwrite)],
                            [f"merging {did}"], counter, bar,
                        )[0]
                    )  # fmt: skip
                if refs is not None:
                    ref_scores = check_ref_scores(
                        wait_all(ray, [refs], ["the reference scores"], counter, bar)[0]
                    )
                    # Minari's fields, as create_dataset_from_buffers writes them when given
                    set_meta(path, minari=dict(
                        ref_min_score=ref_scores[0], ref_max_score=ref_scores[1],
                        num_episodes_average_score=_AVERAGE_EPISODES,
                    ))  # fmt: skip
            finally:
                bar.close()
                shutil.rmtree(work, ignore_errors=True)
    set_meta(path, {"generation_seconds": round(time.perf_counter() - t0, 1), "ray_tasks": n})
    return path
