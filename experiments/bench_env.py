"""Environment throughput: steps per second, single and vectorized, and where the time goes.

    python -m experiments.bench_env [--sizes 128] [--envs 1 8 64] [--steps 512] [--json out.json]

A random agent (uniform over valid calls, STOP with probability 1/6, so episodes last about
five steps and resets are part of the cost, as in real use) drives ``ImageStyling-v0``: one
env, and the native vector env at each ``--envs`` width. Per run it reports steps/s and the
split of wall time into the engine's stages — tool ops (``apply_calls`` of the steps), resets
(of which: ``sources``, rendering new tasks' source images, and ``references``, solving and
rendering their oracle references; the rest of a reset is their first scores and context),
Stage-1 context, judge — and the rest (observations, action decoding, Python); resets per
second of reset time.

In the same run it measures the **tools-only** throughput: the same number of steps of the same
random agent at the same width, each one ``apply_calls`` on a batch of source images and
nothing else (STOP draws make no call, as in the env). ``env/tools`` is env steps/s over that:
the share of what the tool ops alone would allow that the environment delivers (1 = no
overhead at all). Two measurements minutes apart on a shared machine differ by more than the
change being measured; the ratio of two taken in one run does not. The target at 64 envs x
128x128 is ``env/tools >= 0.8`` (the environment's own work at most 20% of a step).

That target counts a reset's image work as overhead, and a reset cannot avoid it: a new task
needs its source rendered and its references rendered (the oracle's plan and its leave-one-out
variants, ``K (K + 1) / 2`` call renders, plus one full-strength render per target to solve the
strengths). ``own work`` is the share of a step that is not image work (tools, sources,
references: :data:`IMAGE_WORK`), and ``ceiling`` the ``env/tools`` this environment would reach
were its own work free (``env/tools`` over the image-work share): the most that cutting
bookkeeping can give before the image work itself gets cheaper or is cached (tasks that come
back start from the engine's cache and render nothing).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Sequence

import gymnasium as gym
import numpy as np
import torch

import styling_env  # noqa: F401  (registers the ids)
from styling_env import make_images
from styling_env.tools import REGIONS, TOOLS, ToolCall, apply_calls

#: The image work of a step: its tool ops, and a new task's source image and oracle references
#: (resets). The rest of a step is the environment's own work: judge, Stage-1 context,
#: observations, action decoding, a new task's first scores and context, Python.
IMAGE_WORK = ("tools", "sources", "references")


def _random_actions(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    tools = rng.integers(0, len(TOOLS), n)
    stop = rng.random(n) < 1 / 6
    values = np.array([rng.integers(0, len(list(TOOLS.values())[t])) for t in tools])
    return {
        "tool": np.where(stop, len(TOOLS), tools),
        "value": values,
        "strength": rng.uniform(0.2, 1.0, (n, 1)).astype(np.float32),
        "region": np.zeros(n, dtype=np.int64),
    }


def bench(
    num_envs: int, steps: int, size: int, tier: str, seed: int = 0, device: str = "cpu",
    workers: int = 1,
) -> dict[str, float]:  # fmt: skip
    """Run ``steps`` env steps in total at ``num_envs`` wide on ``device``; return throughput,
    the time split and the tools-only throughput of the same steps (:func:`tools_only`).
    ``workers > 1`` (a vector env only): the slots split over that many processes
    (:mod:`styling_env.parallel`), the time split is of the workers' summed time, and the
    tools-only run is split over as many processes too (:func:`tools_only_parallel`)."""
    rng = np.random.default_rng(seed)
    if workers > 1:
        if num_envs < workers:
            raise ValueError(f"{workers} workers need at least {workers} envs, got {num_envs}")
        return _bench_workers(num_envs, steps, size, tier, seed, device, workers, rng)
    if num_envs == 1:
        env = gym.make(
            "ImageStyling-v0",
            tier=tier,
            image_size=size,
            device=device,
            disable_env_checker=True,
        )
        engine = env.unwrapped.engine
        env.reset(seed=seed)
        _, _, term, trunc, _ = env.step({k: v[0] for k, v in _random_actions(rng, 1).items()})
        if term or trunc:  # the warm-up drew STOP: a finished episode takes no more steps
            env.reset()
        engine.timings.clear()
        engine.counts.clear()
        _sync(device)
        t0 = time.perf_counter()
        for _ in range(steps):
            a = {k: v[0] for k, v in _random_actions(rng, 1).items()}
            _, _, term, trunc, _ = env.step(a)
            if term or trunc:
                env.reset()
        _sync(device)
        wall = time.perf_counter() - t0
        done = steps
    else:
        env = gym.make_vec(
            "ImageStyling-v0",
            num_envs=num_envs,
            vectorization_mode="vector_entry_point",
            tier=tier,
            image_size=size,
            device=device,
        )
        engine = env.unwrapped.engine if hasattr(env, "unwrapped") else env.engine
        env.reset(seed=seed)
        env.step(_random_actions(rng, num_envs))  # warm-up
        engine.timings.clear()
        engine.counts.clear()
        rounds = max(1, steps // num_envs)
        _sync(device)
        t0 = time.perf_counter()
        for _ in range(rounds):
            env.step(_random_actions(rng, num_envs))
        _sync(device)
        wall = time.perf_counter() - t0
        done = rounds * num_envs
    t = dict(engine.timings)
    counts = dict(engine.counts)
    env.close()
    return _summary(
        num_envs, size, done, wall, t, counts, tools_only(num_envs, done, size, seed, device)
    )


def _summary(
    num_envs: int, size: int, done: int, wall: float, t: dict[str, float], counts: dict[str, int],
    tools_seconds: float, workers: int = 1,
) -> dict[str, float]:  # fmt: skip
    """One row: throughput, the stage shares of ``t`` (seconds per stage, summed over
    ``workers``: shares of the workers' time), resets and the tools-only comparison."""
    busy = workers * wall
    resets = counts.get("reset", 0)
    stages = {k: v for k, v in t.items() if "/" not in k}  # "reset/sources" is part of "reset"
    parts = {"sources": 0.0, "references": 0.0}  # a run without a reset has none
    parts.update((k.split("/", 1)[1], v) for k, v in t.items() if "/" in k)
    out = {
        "num_envs": num_envs,
        **({"workers": workers} if workers > 1 else {}),
        "image_size": size,
        "steps": done,
        "seconds": wall,
        "steps_per_s": done / wall,
        **{f"share_{k}": v / busy for k, v in sorted(stages.items())},
        **{f"share_{k}": v / busy for k, v in sorted(parts.items())},
        "share_other": max(0.0, busy - sum(stages.values())) / busy,
        "resets": resets,
        "resets_cached": counts.get("reset_cached", 0),
        # resets per second of (summed) reset time
        "resets_per_s": resets / t["reset"] if t.get("reset") else 0.0,
        "tools_only_steps_per_s": done / tools_seconds,
    }
    out["env_overhead"] = 1 - out.get("share_tools", 0.0)
    out["env_vs_tools"] = out["steps_per_s"] / out["tools_only_steps_per_s"]
    image = sum(out.get(f"share_{k}", 0.0) for k in IMAGE_WORK)
    out["env_own_work"] = 1 - image
    out["env_vs_tools_ceiling"] = out["env_vs_tools"] / image if image > 0 else 0.0
    return out


def _bench_workers(
    num_envs: int, steps: int, size: int, tier: str, seed: int, device: str, workers: int,
    rng: np.random.Generator,
) -> dict[str, float]:  # fmt: skip
    from styling_env.parallel import ParallelStylingVectorEnv

    env = ParallelStylingVectorEnv(num_envs, workers, tier=tier, image_size=size, device=device)
    try:
        env.reset(seed=seed)
        env.step(_random_actions(rng, num_envs))  # warm-up
        before, counts0 = env.timings()
        rounds = max(1, steps // num_envs)
        t0 = time.perf_counter()
        for _ in range(rounds):
            env.step(_random_actions(rng, num_envs))
        wall = time.perf_counter() - t0
        after, counts1 = env.timings()
    finally:
        env.close()
    done = rounds * num_envs
    t = {k: after[k] - before.get(k, 0.0) for k in after}
    counts = {k: counts1.get(k, 0) - counts0.get(k, 0) for k in counts1}
    tools_seconds = tools_only_parallel(num_envs, done, size, seed, device, workers)
    return _summary(num_envs, size, done, wall, t, counts, tools_seconds, workers)


def _tools_only_task(args: tuple[int, int, int, int, str, int]) -> float:
    n, steps, size, seed, device, threads = args
    torch.set_num_threads(threads)
    return tools_only(n, steps, size, seed, device)


def tools_only_parallel(
    num_envs: int, steps: int, size: int, seed: int, device: str, workers: int
) -> float:
    """Seconds of :func:`tools_only` split over ``workers`` processes at once (each its block
    of the slots, this process's threads divided among them, as the parallel env's workers):
    the slowest worker's time."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    from styling_env.parallel import _split

    threads = max(1, torch.get_num_threads() // workers)
    blocks = _split(num_envs, workers)
    jobs = [
        (b - a, steps * (b - a) // num_envs, size, seed + a, device, threads) for a, b in blocks
    ]
    with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
        return max(pool.map(_tools_only_task, jobs))


def tools_only(num_envs: int, steps: int, size: int, seed: int = 0, device: str = "cpu") -> float:
    """Seconds that ``steps`` steps of the random agent take at ``num_envs`` wide when a step is
    only its tool call: ``apply_calls`` on the slots that did not draw STOP, each call applied
    to the picture its slot's previous calls made (a fresh source when the episode restarts)."""
    rng = np.random.default_rng(seed + 1)
    sources = make_images("mix", num_envs, size, seed, device).pixels
    images = sources.clone()
    names = list(TOOLS)
    apply_calls(images[:1], [ToolCall(names[0], TOOLS[names[0]][0], 0.5)])  # warm-up
    rounds = max(1, steps // num_envs)
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(rounds):
        a = _random_actions(rng, num_envs)
        moved = [k for k in range(num_envs) if a["tool"][k] < len(TOOLS)]
        if moved:
            calls = [
                ToolCall(
                    names[a["tool"][k]],
                    TOOLS[names[a["tool"][k]]][a["value"][k]],
                    float(a["strength"][k, 0]),
                    REGIONS[a["region"][k]],
                )
                for k in moved
            ]
            images[moved] = apply_calls(images[moved], calls)
        for k in range(num_envs):
            if a["tool"][k] == len(TOOLS):  # STOP: the next episode starts from a source
                images[k] = sources[k]
    _sync(device)
    return time.perf_counter() - t0


def _sync(device: str) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def main(argv: Sequence[str] | None = None) -> list[dict[str, float]]:
    p = argparse.ArgumentParser(
        prog="python -m experiments.bench_env", description=__doc__.splitlines()[0]
    )
    p.add_argument(
        "--envs", type=int, nargs="+", default=[1, 8, 64], help="vector widths (1 = the single env)"
    )
    p.add_argument("--sizes", type=int, nargs="+", default=[128], help="image sizes")
    p.add_argument("--steps", type=int, default=512, help="env steps per run (all envs together)")
    p.add_argument("--tier", default="simple", help="task tier")
    p.add_argument("--device", default="cpu", help="torch device (cpu, cuda, cuda:1)")
    p.add_argument(
        "--workers", type=int, default=1,
        help="processes the vector env's slots are split over (styling_env.parallel; the "
        "single env always runs in this process)",
    )  # fmt: skip
    p.add_argument("--json", help="write the results to this JSON file")
    args = p.parse_args(argv)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, "
        f"tier {args.tier}, {args.workers} worker process(es) per vector env"
    )
    cols = ("tools", "reset", "sources", "references", "judge", "context", "other")
    print(
        f"{'envs':>5} {'size':>5} {'steps/s':>9} "
        + " ".join(f"{c[:7]:>7}" for c in cols)
        + f" {'overhead':>9} {'own work':>9} {'tools-only':>10} {'env/tools':>9} "
        f"{'ceiling':>7} {'resets/s':>8}"
    )
    rows = []
    for size in args.sizes:
        for n in args.envs:
            w = args.workers if n > 1 else 1
            r = bench(n, args.steps, size, args.tier, device=args.device, workers=w)
            rows.append(r)
            shares = " ".join(f"{100 * r.get(f'share_{k}', 0.0):6.1f}%" for k in cols)
            print(
                f"{n:5d} {size:5d} {r['steps_per_s']:9.1f} {shares} {100 * r['env_overhead']:8.1f}% "
                f"{100 * r['env_own_work']:8.1f}% {r['tools_only_steps_per_s']:10.1f} "
                f"{r['env_vs_tools']:9.2f} {r['env_vs_tools_ceiling']:7.2f} {r['resets_per_s']:8.1f}"
            )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)
    return rows


if __name__ == "__main__":
    main()
