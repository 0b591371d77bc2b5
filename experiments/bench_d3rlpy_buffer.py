"""What d3rlpy's buffer of a tier costs to build: seconds and peak memory of
:func:`offline_data.loaders.to_d3rlpy` with the planner's instruction features, with and without
the rewordings.

    python -m experiments.bench_d3rlpy_buffer --tier simple --episodes 3000 --rewordings 2
    python -m experiments.bench_d3rlpy_buffer --tier regular --rewordings 0 2 --json buffer.json

For each ``--rewordings`` value, in a fresh process each (a process's peak never falls, and the
allocator keeps freed pages): load the first ``--episodes`` episodes of the tier's dataset, add
``n`` reworded copies of each (:func:`~offline_data.loaders.records.reworded_records`, what
``D3rlpyTrainConfig.rewordings`` does), build the buffer as :func:`agents.d3rlpy_agents.train_d3rlpy`
builds it (``minilm+hash`` instruction vectors, images at ``--work-size``) and report the build's
seconds, the process's resident peak before and during it, the rows and the bytes of the
observation arrays the buffer holds. The machine's other load inflates the seconds, not the memory.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from styling_env.tasks import TIERS
from styling_env.validation import positive_int


def measure(
    tier: str, episodes: int, rewordings: int, work_size: int = 64, dataset: str | None = None
) -> dict[str, Any]:
    """Build the buffer of the first ``episodes`` of ``dataset`` (default the tier's canonical
    id) once in this process and return what it cost."""
    from agents.d3rlpy_agents import D3rlpyTrainConfig
    from offline_data import dataset as D
    from offline_data.loaders import to_d3rlpy
    from offline_data.loaders.records import reworded_records

    from .measure import PeakRSS

    ds = D.load(dataset or f"image-styling/{tier}-v0")
    if episodes > ds.total_episodes:
        raise ValueError(f"the {tier} dataset has {ds.total_episodes} episodes, not {episodes}")
    records = list(D.episodes(ds, range(episodes)))
    encoder = D3rlpyTrainConfig().instruction_encoder()  # train_d3rlpy's default
    with PeakRSS() as before:
        pass
    t0 = time.perf_counter()
    with PeakRSS() as during:
        data = reworded_records(records, rewordings) if rewordings else records
        mdp = to_d3rlpy(data, n_strength_bins=4, encoder=encoder, work_size=work_size)
    seconds = time.perf_counter() - t0
    held = 0
    for ep in mdp.episodes:
        obs = ep.observations if isinstance(ep.observations, list | tuple) else [ep.observations]
        held += sum(o.nbytes for o in obs)
    return {
        "tier": tier, "episodes": episodes, "rewordings": rewordings, "work_size": work_size,
        "transitions": int(mdp.transition_count), "seconds": round(seconds, 1),
        "rss_before_mb": before.peak_mb, "peak_mb": during.peak_mb,
        "build_mb": round(during.peak_mb - before.peak_mb, 1),
        "observations_mb": round(held / 1e6, 1),
    }  # fmt: skip


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tier", choices=TIERS, default="simple")
    p.add_argument("--episodes", type=int, default=3000)
    p.add_argument("--rewordings", type=int, nargs="+", default=[0, 2])
    p.add_argument("--work-size", type=int, default=64)
    p.add_argument("--json", type=Path, default=None, help="write the rows here")
    p.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # a child process
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    positive_int("episodes", args.episodes)
    positive_int("work size", args.work_size)
    if any(isinstance(n, bool) or n < 0 for n in args.rewordings):
        raise SystemExit(f"--rewordings takes ints >= 0, got {args.rewordings}")
    if args.one:
        row = measure(args.tier, args.episodes, args.rewordings[0], args.work_size)
        print(json.dumps(row))
        return 0
    rows = []
    for n in args.rewordings:
        cmd = [sys.executable, "-m", "experiments.bench_d3rlpy_buffer", "--one", "--tier", args.tier,
               "--episodes", str(args.episodes), "--rewordings", str(n), "--work-size", str(args.work_size)]  # fmt: skip
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            sys.stderr.write(out.stderr)
            return out.returncode
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(
        f"{'rewordings':>10} {'transitions':>11} {'seconds':>8} {'build MB':>9} {'peak MB':>8} {'obs MB':>7}"
    )
    for r in rows:
        print(f"{r['rewordings']:>10} {r['transitions']:>11} {r['seconds']:>8} {r['build_mb']:>9} {r['peak_mb']:>8} {r['observations_mb']:>7}")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
