"""A method in one file: the worked example of README's "Adding a method".

``most-common-plan`` replays, for every request, the call sequence that the dataset's good
trajectories (``r >= min_r``) use most often. It reads no instruction and no image, so it is a
weak planner (a floor that any learned planner must beat), but it uses the whole contract of
:mod:`agents.registry`: a config dataclass, ``train(job) -> Trained`` that reads the job's
dataset and writes a checkpoint into the run folder, and ``load(path)``.

Use it without touching the package::

    python -m agents.train --method examples.most_common_plan:METHOD \\
        --dataset image-styling/simple-v0 --eval-tasks 50
    python -m experiments.benchmark --tiers simple --methods random examples.most_common_plan:METHOD

or make it a built-in with one line in ``agents/registry.py``'s ``_builtin()``:
``register(METHOD)`` (with ``examples.most_common_plan`` moved into ``agents/``).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agents.config import Config
from agents.registry import Method, Trained, TrainJob
from styling_env.validation import positive_int

Call = tuple[int, int, float, int]  # native action: tool, value, strength, region


@dataclass(frozen=True)
class MostCommonPlanConfig(Config):
    min_r: float = 4.0
    """Only trajectories with at least this judge score vote."""
    max_calls: int = 6
    """Plans longer than this are cut."""

    def __post_init__(self) -> None:
        positive_int("max_calls", self.max_calls)
        if not 0.0 <= float(self.min_r) <= 5.0:
            raise ValueError(f"min_r must lie in [0, 5] (the judge's r), got {self.min_r!r}")

    def with_steps(self, steps: int) -> MostCommonPlanConfig:
        return self  # nothing iterates: a budget does not apply


class MostCommonPlanAgent:
    """Plays ``plan`` (native actions), then STOP, whatever the request."""

    def __init__(self, plan: list[Call], stop: int) -> None:
        self.plan, self.stop = plan, stop

    def predict(self, observation, state=None, episode_start=None, deterministic=True):
        steps_left = np.asarray(observation["steps_left"]).reshape(-1)
        max_steps = np.asarray(observation["history"]).shape[1]
        n = len(steps_left)
        acts = {"tool": np.full(n, self.stop, np.int64), "value": np.zeros(n, np.int64),
                "strength": np.zeros((n, 1), np.float32), "region": np.zeros(n, np.int64)}  # fmt: skip
        for i, left in enumerate(steps_left):
            k = max_steps - int(left)  # calls made so far
            if k < len(self.plan):
                tool, value, strength, region = self.plan[k]
                acts["tool"][i], acts["value"][i] = tool, value
                acts["strength"][i, 0], acts["region"][i] = strength, region
        return acts, state


def train(job: TrainJob) -> Trained:
    from offline_data import dataset as D
    from styling_env.tools.vocabulary import TOOL_NAMES

    config: MostCommonPlanConfig = job.config
    if job.dataset is None:
        raise ValueError("most-common-plan learns from a dataset: pass one")
    stop = len(TOOL_NAMES)
    ds = D.load(job.dataset)
    votes: Counter[tuple[Call, ...]] = Counter()
    for ep in D.episodes(ds, None if job.episodes is None else range(job.episodes)):
        if ep.r < config.min_r:
            continue
        a = ep.actions
        calls = tuple(
            (int(a["tool"][t]), int(a["value"][t]), round(float(np.ravel(a["strength"][t])[0]), 1),
             int(a["region"][t]))
            for t in range(len(ep)) if int(a["tool"][t]) != stop
        )  # fmt: skip
        votes[calls[: config.max_calls]] += 1
    if not votes:
        raise ValueError(f"no trajectory of {job.dataset} has r >= {config.min_r}")
    plan, count = votes.most_common(1)[0]
    job.out.mkdir(parents=True, exist_ok=True)
    job.checkpoint.write_text(json.dumps({"plan": [list(c) for c in plan], "stop": stop}))
    info = {"checkpoint": str(job.checkpoint), "votes": count, "voters": sum(votes.values())}
    return Trained(MostCommonPlanAgent(list(plan), stop), info)


def load(path: Path, *, trust: bool = False) -> MostCommonPlanAgent:
    d = json.loads(Path(path).read_text())  # plain JSON: nothing to trust
    return MostCommonPlanAgent([tuple(c) for c in d["plan"]], int(d["stop"]))


#: The registry entry: the one line that makes the method known (``agents.registry.register``).
METHOD = Method(
    "most-common-plan", "Most common plan", "custom",
    "replays the good trajectories' most common call sequence (reads neither text nor image)",
    trainer=f"{__name__}:train", loader=f"{__name__}:load",
    config=f"{__name__}:MostCommonPlanConfig", checkpoint="plan.json",
)  # fmt: skip
