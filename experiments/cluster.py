"""Work on Ray: jobs with dependencies, resources and retries; evaluations; a measurement.

    python -m experiments.benchmark --preset paper --ray [--address auto|ray://HEAD:10001]
    python -m experiments.cluster evaluate runs/a/model.pt runs/b/model.pt edit-only \\
        --tiers simple regular --seeds 0 1 2 --out evals.json [--address auto]
    python -m experiments.cluster bench-generation --tier simple --episodes 2000 --repeats 3 [--threads 2 1]

:func:`run_jobs` runs functions as Ray tasks with resource requests (CPUs, GPUs), an order
(a job waits for the one it comes ``after``; those waited for go first) and bounded retries:
a job that still fails is reported with the ones that wait for it, and every other job runs
on. The benchmark on Ray (:func:`experiments.benchmark.run_on_ray`, ``--ray``) is its jobs
over the benchmark's cells; dataset generation on Ray is :mod:`offline_data.ray_generate`.

**Evaluations** (:func:`evaluate_on_ray`): every (agent, tier, seed) is a task running
:func:`agents.evaluate.evaluate`; the summaries (with ``--episodes``, every episode too) go
into one JSON file with the failures, and a table is printed. **bench-generation**
(:func:`bench_generation`) times a dataset generated in one process against the same one on a
local Ray instance, alternating, at each torch thread count asked for.

Data moves as files: run folders, datasets and checkpoints must lie on a path every node sees
(the driver passes its ``MINARI_DATASETS_PATH`` to the tasks; checkpoints by absolute path).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from offline_data.ray_generate import RayMissingError, ray_session, require_ray, task_error
from offline_data.safety import atomic_write

# --------------------------------------------------------------------------------------------
# Measuring: generation locally against generation on a local Ray instance


def bench_generation(
    tier: str = "simple", episodes: int = 2000, repeats: int = 3, *, image_size: int = 128,
    threads: Sequence[int] | None = None, num_envs: int = 64, ref_episodes: int = 100,
    progress: bool = False, log: Any = print,
) -> dict[str, Any]:  # fmt: skip
    """Generate ``episodes`` episodes of ``tier`` ``repeats`` times in this process and as many
    times on a local Ray instance sized to the machine, at each torch thread count of
    ``threads`` (default: this process's, then 1; the first is the one-process reference),
    alternating (local, Ray, local, ...) so that a load that comes and goes hits both alike;
    each run in a fresh temporary datasets root. Ray runs at the defaults: one shard task per
    ``t`` CPUs, each reserving ``t`` CPUs.

    Returns every run's seconds and checksum, the medians per (kind, threads), Ray over local
    at the same thread count (same content), the fastest Ray over one process at the first
    thread count (today's single-process time, at the default) and the Ray instance's
    start-up time (paid once per command, not per dataset: the instance and its workers stay
    up between runs, as on a cluster)."""
    import torch

    from offline_data import dataset as D
    from offline_data.dataset import datasets_path
    from offline_data.generate import generate
    from offline_data.ray_generate import cluster_cpus, generate_on_ray

    default = torch.get_num_threads()
    counts = list(dict.fromkeys(threads or (default, 1)))
    runs: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    with ray_session(None) as ray:
        startup = time.perf_counter() - t0
        cpus = cluster_cpus(ray)
        for i in range(repeats):
            for t in counts:
                for how in ("local", "ray"):
                    with (
                        tempfile.TemporaryDirectory(prefix="bench-ray-") as tmp,
                        datasets_path(tmp),
                    ):
                        load0 = os.getloadavg()[0]
                        kw = dict(image_size=image_size, did="image-styling/bench-v0", progress=progress,
                                  num_envs=num_envs, ref_episodes=ref_episodes)  # fmt: skip
                        torch.set_num_threads(t)
                        s = time.perf_counter()
                        try:
                            if how == "local":
                                generate(tier, episodes, 0, **kw)
                            else:
                                generate_on_ray(tier, episodes, 0, threads=t, **kw)
                        finally:
                            torch.set_num_threads(default)
                        sec = time.perf_counter() - s
                        ck = D.info(D.load("image-styling/bench-v0"))["checksum"]
                    run = {"run": i, "how": how, "threads": t, "seconds": round(sec, 1), "checksum": ck,
                           "load_before": round(load0, 2), "load_after": round(os.getloadavg()[0], 2)}  # fmt: skip
                    runs.append(run)
                    log(json.dumps(run))
    med = {
        f"{h}@{t}": statistics.median(r["seconds"] for r in runs if (r["how"], r["threads"]) == (h, t))
        for t in counts for h in ("local", "ray")
    }  # fmt: skip
    same = {
        t: len({r["checksum"] for r in runs if r["threads"] == t}) == 1 for t in counts
    }  # fmt: skip
    best = min(counts, key=lambda t: med[f"ray@{t}"])
    return {
        "tier": tier, "episodes": episodes, "image_size": image_size, "repeats": repeats,
        "cpus": os.cpu_count(), "ray_cpus": cpus, "ray_startup_s": round(startup, 1),
        "default_threads": default, "runs": runs, "median_s": med,
        "ray_over_local": {t: round(med[f"ray@{t}"] / med[f"local@{t}"], 3) for t in counts},
        "same_checksum": same,
        "fastest_ray": f"ray@{best}",
        "fastest_ray_over_one_process": round(med[f"ray@{best}"] / med[f"local@{counts[0]}"], 3),
    }  # fmt: skip


# --------------------------------------------------------------------------------------------
# Jobs with dependencies, resources and retries


@dataclass(frozen=True)
class Job:
    """One Ray task of :func:`run_jobs`: ``fn(*args)``."""

    key: str
    args: tuple
    after: str | None = None
    """Key of the job that must finish first (a job not in the run counts as finished)."""
    num_cpus: float = 1
    num_gpus: float = 0
    memory_gb: float = 0
    """Memory the task reserves on its node (Ray's ``memory`` resource; 0: none)."""


def run_jobs(
    fn: Callable[..., Any], jobs: Sequence[Job], *, retries: int = 0, progress: bool = True,
    desc: str = "tasks", log: Callable[[str], None] | None = None,
    on_done: Callable[[str, Any], None] | None = None,
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:  # fmt: skip
    """Run every job as a Ray task on the connected cluster (:func:`ray_session`) with its
    resource requests; a job waits for the job it comes ``after``, and the jobs others wait
    for are submitted first. A failed job (its exception, or its worker died) is submitted
    again up to ``retries`` times, then given up, and so are the jobs that wait for it; every
    other job still runs. Returns the results by key and the failures by key (``key``,
    ``attempts``, ``error``). One progress bar counts finished and given-up jobs."""
    import ray
    from tqdm.auto import tqdm

    from styling_env.validation import nonnegative_int

    nonnegative_int("retries", retries)
    keys = [j.key for j in jobs]
    if len(set(keys)) != len(keys):
        raise ValueError("job keys must be unique")
    by_key = {j.key: j for j in jobs}
    awaited = {j.after for j in jobs if j.after in by_key}
    waiting = sorted(jobs, key=lambda j: j.key not in awaited)  # stable: the given order
    task = ray.remote(fn)
    inflight: dict[Any, Job] = {}
    attempts: dict[str, int] = {}
    results: dict[str, Any] = {}
    failed: dict[str, dict[str, Any]] = {}
    bar = tqdm(total=len(jobs), desc=desc, disable=not progress)
    say = bar.write if progress else (log or print)

    def submit(j: Job) -> None:
        attempts[j.key] = attempts.get(j.key, 0) + 1
        opts = {"num_cpus": j.num_cpus, "num_gpus": j.num_gpus, "max_retries": 0}
        if j.memory_gb:
            opts["memory"] = int(j.memory_gb * 2**30)
        inflight[task.options(**opts).remote(*j.args)] = j

    def give_up(key: str, error: str) -> None:
        failed[key] = {"key": key, "attempts": attempts.get(key, 0), "error": error}
        say(f"[{time.strftime('%H:%M:%S')}] FAILED {key}: {error}")
        bar.update(1)
        for d in [d for d in waiting if d.after == key]:  # what waits for it fails with it
            waiting.remove(d)
            give_up(d.key, f"its reference {key} failed")

    def schedule() -> None:
        for j in list(waiting):
            if j not in waiting:  # given up with the job it waits for, meanwhile
                continue
            if j.after is None or j.after not in by_key or j.after in results:
                waiting.remove(j)
                submit(j)
            elif j.after in failed:
                waiting.remove(j)
                give_up(j.key, f"its reference {j.after} failed")

    try:
        schedule()
        while inflight:
            ready, _ = ray.wait(list(inflight), num_returns=1, timeout=1.0)
            for ref in ready:
                j = inflight.pop(ref)
                try:
                    results[j.key] = ray.get(ref)
                except Exception as e:  # the job's own error, or its worker died
                    err = task_error(e)
                    if attempts[j.key] <= retries:
                        say(f"[{time.strftime('%H:%M:%S')}] {j.key} failed ({err}); "
                            f"retry {attempts[j.key]} of {retries}")  # fmt: skip
                        submit(j)
                    else:
                        give_up(j.key, err)
                    continue
                bar.update(1)
                if on_done is not None:
                    on_done(j.key, results[j.key])
            schedule()
    except BaseException:
        for ref in inflight:
            ray.cancel(ref, force=True)
        raise
    finally:
        bar.close()
    return results, failed


# --------------------------------------------------------------------------------------------
# Evaluations: every (agent, tier, seed) a Ray task


def _eval_task(
    spec: str, name: str, tier: str, seed: int, tasks: int, image_size: int, trust: bool,
    threads: int, episodes: bool,
) -> dict[str, Any]:  # fmt: skip
    import torch

    from agents.evaluate import evaluate, load_agent

    torch.set_num_threads(threads)
    agent = load_agent(spec, tier, seed, trust=trust)
    res = evaluate(agent, tier, tasks, (seed,), image_size=image_size, name=name)
    row = {**res.summary(), "seed": seed, "image_size": image_size}
    if episodes:
        row["episodes_detail"] = res.episodes
    return row


def evaluate_on_ray(
    agents: Sequence[str], tiers: Sequence[str], seeds: Sequence[int], *, tasks: int = 200,
    image_size: int = 128, address: str | None = None, cpus: int = 1, gpus: float = 0.0,
    trust: bool = False, episodes: bool = False, progress: bool = True,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:  # fmt: skip
    """Evaluate every agent (a baseline's name, a checkpoint or ``module.path:Agent``, as
    :func:`agents.evaluate.load_agent` reads them) on every tier's held-out test tasks with
    every seed, each as a Ray task of ``cpus`` CPUs and ``gpus`` GPUs. Returns the summaries
    (:meth:`agents.evaluate.EvalResult.summary` plus ``seed``; ``episodes_detail`` with every
    episode if asked) in (agent, tier, seed) order, and the failures (agent, tier, seed,
    error): a failed evaluation does not stop the others."""

    from styling_env.tasks import TIERS
    from styling_env.validation import positive_int

    if not agents or not tiers or not seeds:
        raise ValueError("evaluate_on_ray needs at least one agent, one tier and one seed")
    bad = [t for t in tiers if t not in TIERS]
    if bad:
        raise ValueError(f"unknown tier(s) {bad}; expected {', '.join(TIERS)}")
    positive_int("tasks", tasks)
    positive_int("cpus", cpus)
    # checkpoints by absolute path: a worker's working folder may differ from this one's
    specs = {a: str(Path(a).resolve()) if Path(a).exists() else a for a in agents}
    todo = {f"{a} {t} seed{s}": (a, t, int(s)) for a in agents for t in tiers for s in seeds}
    jobs = [
        Job(k, (specs[a], a, t, s, tasks, image_size, trust, cpus, episodes), None, cpus, gpus)
        for k, (a, t, s) in todo.items()
    ]
    with ray_session(address):
        results, failures = run_jobs(_eval_task, jobs, progress=progress, desc="evaluations on Ray")  # fmt: skip
    rows = [results[k] for k in todo if k in results]
    failed = [{"agent": a, "tier": t, "seed": s, "error": failures[k]["error"]}
              for k, (a, t, s) in todo.items() if k in failures]  # fmt: skip
    return rows, failed


# --------------------------------------------------------------------------------------------
# Command line


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m experiments.cluster", description=__doc__.split("\n\n")[0])  # fmt: skip
    sub = p.add_subparsers(dest="command", required=True)
    e = sub.add_parser("evaluate", help="agents x tiers x seeds, each evaluation a Ray task")
    e.add_argument("agents", nargs="+", help="baseline names, checkpoints or module.path:Agent")
    e.add_argument("--tiers", nargs="+", default=["simple"])
    e.add_argument("--seeds", nargs="+", type=int, default=[0])
    e.add_argument("--tasks", type=int, default=200, help="held-out test tasks per evaluation")
    e.add_argument("--image-size", type=int, default=128)
    e.add_argument("--out", type=Path, default=None, help="write the summaries (and failures) as JSON")  # fmt: skip
    e.add_argument("--episodes", action="store_true", help="with --out: every episode too")
    e.add_argument("--address", default=None, help="the cluster (auto, ray://HOST:PORT); default: a local instance")  # fmt: skip
    e.add_argument("--cpus", type=int, default=1, help="CPUs (torch threads) per evaluation")
    e.add_argument("--gpus", type=float, default=0.0, help="GPUs per evaluation (Qwen3-VL planners)")  # fmt: skip
    e.add_argument("--trust-checkpoint", action="store_true", help="allow checkpoints that load by unpickling")  # fmt: skip
    e.add_argument("--quiet", action="store_true")
    g = sub.add_parser("bench-generation", help="generation in one process vs on a local Ray")
    g.add_argument("--tier", default="simple", choices=("simple", "regular", "complex"))
    g.add_argument("--episodes", type=int, default=2000)
    g.add_argument("--repeats", type=int, default=3)
    g.add_argument("--image-size", type=int, default=128)
    g.add_argument(
        "--threads", type=int, nargs="+", default=None,
        help="torch thread counts to compare at (default: this process's, then 1)",
    )  # fmt: skip
    g.add_argument("--json", type=Path, default=None, help="write every run and the medians")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from agents.quiet import quiet
    from offline_data.dataset import DatasetError

    quiet()
    try:
        from offline_data.safety import output_file

        # where the results go: checked before any work (a folder, a path under a file)
        if args.command == "evaluate" and args.out:
            output_file(args.out, "--out")
        if args.command != "evaluate" and args.json:
            output_file(args.json, "--json")
        require_ray()
        if args.command == "evaluate":
            rows, failed = evaluate_on_ray(
                args.agents, args.tiers, args.seeds, tasks=args.tasks, image_size=args.image_size,
                address=args.address, cpus=args.cpus, gpus=args.gpus, trust=args.trust_checkpoint,
                episodes=args.episodes, progress=not args.quiet,
            )  # fmt: skip
            print(f"{'agent':40s} {'tier':8s} {'seed':>4s} {'overall':>8s} {'normalized':>10s}")
            for r in rows:
                print(f"{r['agent'][-40:]:40s} {r['tier']:8s} {r['seed']:4d} {r['overall']:8.1f} {r['normalized']:10.1f}")  # fmt: skip
            for f in failed:
                print(f"failed: {f['agent']} on {f['tier']} seed {f['seed']}: {f['error']}")
            if args.out:
                text = json.dumps({"evaluations": rows, "failed": failed}, default=float)
                atomic_write(args.out, lambda tmp: tmp.write_text(text))
                print(f"wrote {args.out}")
            return 1 if failed else 0
        res = bench_generation(
            args.tier, args.episodes, args.repeats, image_size=args.image_size, threads=args.threads
        )
        print(json.dumps({k: v for k, v in res.items() if k != "runs"}, indent=1))
        if args.json:
            text = json.dumps(res, indent=1)
            atomic_write(args.json, lambda tmp: tmp.write_text(text))
        return 0
    except (RayMissingError, DatasetError, ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
