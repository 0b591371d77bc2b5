"""The call-level methods' entry in the method registry (:mod:`agents.registry`): ``iql``,
``cql-planner`` and ``awac`` train the embedded planner with a critic's per-call weights.

``train(job)``: prepare the dataset's rows (shared with the embedded methods through the job's
cache), check them (per-step rewards present, a reused critic of this very dataset), fit the
critic (``critic.pt``, its losses in ``critic_log.jsonl``) or load ``config.critic``, score
every dataset call, run the step-level diagnostics (``diagnostics.json``, also in
``Trained.info["diagnostics"]``) and extract the planner (``model.pt``, an embedded-planner
checkpoint: ``load`` and :func:`agents.evaluate.load_agent` read it as any other).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import torch

from agents.embedded.agent import EmbeddedAgent
from agents.embedded.training import PreparedData, prepare, shared_prepared
from agents.registry import Trained, TrainJob
from agents.training import MetricLog, peak_memory_mb

from .config import CallLevelConfig
from .critic import CallCritic, load_critic
from .diagnostics import diagnose, step_labels, weight_on_mistakes
from .training import (
    algorithm,
    extract_policy,
    fit_critic,
    row_advantages,
    row_weights,
    transitions,
)  # fmt: skip

__all__ = ["critic_stage", "load", "train"]


def _prepared(job: TrainJob, config: CallLevelConfig) -> PreparedData:
    """The rows with images and instruction embeddings; through the job's cache under the key
    the embedded methods use, so RW and a call-level method of one tier load it once."""
    if job.cache is None:
        return prepare(job.records(), config.planner)
    return shared_prepared(job, config.planner)


def _dataset_key(job: TrainJob) -> str:
    """The dataset's checksum (and the subset's size): what a reused critic must match."""
    from offline_data import dataset as D

    checksum = D.info(D.load(job.dataset)).get("checksum") or job.dataset
    return f"{checksum}" if job.episodes is None else f"{checksum}:first{job.episodes}"


def critic_stage(
    job: TrainJob, config: CallLevelConfig
) -> tuple[PreparedData, torch.Tensor, dict[str, Any]]:
    """Everything before a policy trains: the checks, the critic (fitted, or ``config.critic``
    loaded), every dataset call's advantage ``(N,)`` and the diagnostics. Returns the prepared
    rows, the advantages and the info so far."""
    if job.dataset is None:
        raise ValueError(f"method {job.method.key!r} trains on a dataset: pass one")
    algo = algorithm(config)
    key = _dataset_key(job)
    reused: CallCritic | None = None
    if config.critic is not None:  # a mismatched critic fails before any data is loaded
        reused = load_critic(config.critic, dataset_checksum=key, planner=config.critic_planner())
        sibling = Path(config.critic).with_name("critic_target.pt")
        reused_target = (
            load_critic(sibling, dataset_checksum=key, planner=config.critic_planner())
            if sibling.is_file() and sibling != Path(config.critic)
            else reused
        )
    t_load = time.perf_counter()
    d = _prepared(job, config)
    transitions(d)  # per-step rewards present and finite, before any training
    info: dict[str, Any] = {"algorithm": algo.__name__.rsplit(".", 1)[-1]}
    info["load_seconds"] = round(time.perf_counter() - t_load, 1)
    job.out.mkdir(parents=True, exist_ok=True)
    if reused is None:
        with MetricLog(job.out / "critic_log.jsonl", every=10) as log:
            critic, target, stats = fit_critic(
                d, config, seed=job.seed, log=log, progress=job.progress
            )
        critic.meta = {
            "dataset_id": job.dataset, "dataset_checksum": key, "algorithm": info["algorithm"],
            "config": config.to_dict(), "seed": job.seed, **stats,
        }  # fmt: skip
        target.meta = critic.meta
        critic.save(job.out / "critic.pt")
        # the target critic scores the calls (d3rlpy's weights read the target Q): keep it too
        target.save(job.out / "critic_target.pt")
        info.update(stats)
    else:
        critic, target = reused, reused_target
        info["critic"] = str(config.critic)
    adv = row_advantages(critic, target, d, config)
    t_diag = time.perf_counter()
    labels = step_labels(job.records(), d)
    diag = diagnose(adv, labels, target=target, d=d) if labels is not None else None
    if diag is not None:
        diag["weight_on_mistaken"] = weight_on_mistakes(
            labels, d.rows.r.numpy(), row_weights(adv, d, config).numpy()
        )
    info["diagnostics"] = diag
    info["diagnostics_seconds"] = round(time.perf_counter() - t_diag, 1)
    (job.out / "diagnostics.json").write_text(json.dumps(diag, indent=1))
    info.update({
        "critic_parameters": critic.n_parameters(), "calls": len(d),
        "advantage_mean": round(float(adv.mean()), 4), "advantage_std": round(float(adv.std()), 4),
    })  # fmt: skip
    return d, adv, info


def train(job: TrainJob) -> Trained:
    """Fit (or load) the critic, diagnose it, extract the planner; see the module docstring."""
    config = job.config
    if not isinstance(config, CallLevelConfig):
        raise TypeError(f"{job.method.key!r} needs a CallLevelConfig, got {type(config).__name__}")
    d, adv, info = critic_stage(job, config)
    with MetricLog(job.log_path, every=config.training.log_every) as log:
        planner, st = extract_policy(d, adv, config, seed=job.seed, log=log, progress=job.progress)
    planner.meta = {
        "method": job.method.key, "dataset_id": job.dataset, "dataset_checksum": d.checksum,
        "seed": job.seed, "steps": st["steps"], "lr": st["lr"], "batch_size": st["batch_size"],
        "train_seconds": round(st["seconds"], 3), "training": st["training"],
        "call_level": config.to_dict(),
    }  # fmt: skip
    path = planner.save(job.checkpoint)
    seconds = st["seconds"] + info.get("critic_seconds", 0.0)
    info.update({
        "checkpoint": str(path), "seconds": round(seconds, 1), "steps": st["steps"],
        "samples": st["samples"], "samples_per_s": round(st["samples"] / max(st["seconds"], 1e-9), 1),
        "peak_memory_mb": peak_memory_mb(), "parameters": planner.n_parameters(),
    })  # fmt: skip
    return Trained(EmbeddedAgent(planner), info)


def load(path: Path, *, trust: bool = False) -> EmbeddedAgent:
    """The extracted planner (an embedded-planner checkpoint: ``trust`` is not needed)."""
    return EmbeddedAgent.from_checkpoint(path)
