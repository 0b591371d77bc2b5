"""Training the Qwen3-VL planner with the paper's five offline methods, at token level.

One trainer, five weightings (:mod:`offline_data.weights`, the one shared definition):

- ``s``, ``rl``, ``rw``, ``sw``: each chat sample (:func:`offline_data.loaders.to_chat_samples`:
  one per step, or one per episode in ``plan`` mode) has its method's weight ``w_i``; its loss
  ``l_i`` is the mean negative log-likelihood of its assistant tokens (labels ``-100`` on the
  system, user, image and padding tokens); a batch's loss is
  :func:`~offline_data.weights.weighted_loss` ``= sum(l_i w_i) / (sum(|w_i|) + eps)``.
  Samples of weight 0 (RL's filtered trajectories, RW's ``r <= 3``) are skipped.
- ``dpo``: trajectory pairs from :func:`~offline_data.weights.dpo_pairs` (chosen ``r >= 4`` vs
  rejected ``r`` in [2.5, 3.5], same task first); a trajectory's log-probability is the sum of
  its samples' assistant-token log-probabilities;
  :func:`~offline_data.weights.dpo_loss` (beta 0.1) against a frozen reference: a given S
  adapter (the policy starts from it) or the base model (the adapter disabled through peft's
  ``disable_adapter()``). The reference's log-probabilities are computed once before training.

LoRA through peft; AdamW over the adapter's parameters; ``accelerate.Accelerator`` runs the loop,
so the same code trains on one CPU, one GPU or several (``accelerate launch``, DDP: each process
takes every ``world``-th micro-batch). bf16 and gradient checkpointing are
:class:`~agents.qwen.model.QwenConfig` options. A tqdm bar shows progress; losses go to a JSON
lines log. Learning rates default to the paper's (2e-6 for S/RL/DPO, 2e-5 for RW/SW;
:data:`agents.methods.PAPER_LEARNING_RATES`), except for the tiny random model (1e-3: a
randomly initialized toy learns nothing at 2e-6).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.config import Config, config_from
from agents.training import MetricLog, check_finite, minibatches, peak_memory_mb
from offline_data.loaders import ChatSample
from offline_data.weights import DPO_BETA, check_method, dpo_pairs
from styling_env.validation import nonnegative_int, positive_float, positive_int

from .model import (
    QwenConfig,
    QwenPlanner,
    SequenceScorer,
    _hf_model,
    dpo_batch_loss,
    weighted_batch_loss,
)

#: The default learning rate of the tiny random model (any method).
TINY_LR: float = 1e-3
#: The paper's number of epochs.
EPOCHS: int = 3


def default_lr(method: str, config: QwenConfig) -> float:
    """The paper's learning rate of ``method`` (the tiny model: :data:`TINY_LR`)."""
    from agents.methods import PAPER_LEARNING_RATES

    return TINY_LR if config.is_tiny else PAPER_LEARNING_RATES[check_method(method)]


@dataclass
class QwenTrainResult:
    """What :func:`train` returns. ``losses``: one dict per logged optimizer step."""

    planner: QwenPlanner = field(repr=False)
    method: str
    losses: list[dict[str, float]] = field(repr=False)
    seconds: float  # the training loop
    load_seconds: float  # dataset -> chat samples, model loading, DPO's reference pass
    steps: int
    samples: int  # sequences processed, all processes (DPO: both sides of every pair)
    samples_per_s: float
    peak_memory_mb: float | None
    adapter: Path | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def agent(self, **kwargs: Any) -> Any:
        from .agent import QwenAgent

        return QwenAgent(self.planner, **kwargs)


def load_samples(
    data: Any,
    *,
    method: str,
    config: QwenConfig,
    groups: str | Callable[[Mapping[str, Any]], Hashable] | None = None,
) -> tuple[list[ChatSample], str | None, str | None]:
    """Chat samples of ``data`` for ``method`` (``config.mode``; images when ``config.vision``)
    with the dataset id and checksum. ``data``: a dataset id, a MinariDataset, a list of
    EpisodeRecord, or a list of :class:`ChatSample` (used as given, weights included)."""
    from offline_data.loaders import to_chat_samples

    if isinstance(data, Sequence) and data and all(isinstance(s, ChatSample) for s in data):
        return list(data), None, None
    did = checksum = None
    if isinstance(data, str):
        from offline_data import dataset as D

        did = data
        data = D.load(data)
        checksum = D.info(data).get("checksum")
    elif hasattr(data, "iterate_episodes") and hasattr(data, "storage"):
        from offline_data import dataset as D

        did, checksum = getattr(data, "id", None), D.info(data).get("checksum")
    samples = to_chat_samples(
        data, method=method, mode=config.mode, include_image=config.vision, groups=groups
    )
    return samples, did, checksum


def data_library(data: Any) -> str | None:
    """The action library of ``data`` (a dataset id, a MinariDataset or episode records), or
    None when it cannot be told (chat samples given as they are)."""
    from offline_data import dataset as D
    from offline_data.loaders.records import record_library

    if isinstance(data, str):
        data = D.load(data)
    if hasattr(data, "iterate_episodes") and hasattr(data, "storage"):
        return D.info(data).get("recipe", {}).get("library", "v2")
    if isinstance(data, Sequence) and data and hasattr(data[0], "meta"):
        return record_library(data[0])
    return None


def with_data_library(config: QwenConfig, data: Any) -> QwenConfig:
    """``config`` with the data's action library: a default (``"v2"``) config trained on
    another library's data takes that library; a config naming another library than the
    data's is a :class:`~offline_data.errors.LibraryMismatchError`."""
    import dataclasses

    from offline_data.errors import LibraryMismatchError

    lib = data_library(data)
    if lib is None or lib == config.library:
        return config
    if config.library != "v2":
        raise LibraryMismatchError(
            f"the Qwen3-VL config is for action library {config.library!r}, the training data "
            f"is of library {lib!r}"
        )
    return dataclasses.replace(config, library=lib)


def _episodes(samples: Sequence[ChatSample]) -> tuple[list[list[int]], list[float], list[str]]:
    """Samples grouped by episode (in order of appearance): their indices, ``r`` and task id."""
    order: dict[int, int] = {}
    rows: list[list[int]] = []
    rs: list[float] = []
    tasks: list[str] = []
    for i, s in enumerate(samples):
        k = order.setdefault(int(s.episode), len(rows))
        if k == len(rows):
            rows.append([])
            rs.append(float(s.r))
            tasks.append(str(s.task_id))
        rows[k].append(i)
    return rows, rs, tasks


@torch.no_grad()
def reference_logps(
    planner: QwenPlanner,
    samples: Sequence[ChatSample],
    index: Sequence[int],
    *,
    batch_size: int = 8,
    disable_adapter: bool = True,
) -> dict[int, float]:
    """Summed assistant-token log-probabilities of ``samples[index]`` under the frozen
    reference: the base model (``disable_adapter``: peft's ``disable_adapter()``) or the
    planner as it is (a loaded S adapter). Eval mode (no dropout)."""
    import contextlib

    scorer = SequenceScorer(planner.model).eval()
    device = planner.device
    ctx = (
        planner.model.disable_adapter()
        if disable_adapter and hasattr(planner.model, "disable_adapter")
        else contextlib.nullcontext()
    )
    out: dict[int, float] = {}
    idx = list(index)
    with ctx:
        for k in range(0, len(idx), batch_size):
            chunk = idx[k : k + batch_size]
            b = _to(planner.batch([samples[i] for i in chunk]), device, planner)
            logp, _ = scorer(**{k2: v for k2, v in b.items() if k2 != "weight"})
            out.update(zip(chunk, logp.double().cpu().tolist(), strict=True))
    return out


def _to(batch: Mapping[str, Any], device: Any, planner: QwenPlanner) -> dict[str, Any]:
    dtype = next(planner.model.parameters()).dtype
    out = {k: (v.to(device) if isinstance(v, torch.Tensor) else v) for k, v in batch.items()}
    if "pixel_values" in out:
        out["pixel_values"] = out["pixel_values"].to(dtype)
    return out


@dataclass(frozen=True)
class QwenTrainConfig(Config):
    """How :func:`train` optimizes a Qwen3-VL planner's LoRA adapter (saved in ``planner.json``).

    ``lr=None`` means :func:`default_lr` (the method's rate for this model)."""

    steps: int | None = None
    """Optimizer steps; default ``epochs`` passes over the (kept) samples / pairs."""
    epochs: int = EPOCHS
    batch_size: int = 4
    """Sequences per micro-batch and process (DPO: about this many sequences, both sides of the
    pairs; at least one pair)."""
    grad_accum: int = 1
    """Micro-batches per optimizer step (effective batch ``batch_size * grad_accum * processes``)."""
    lr: float | None = None
    weight_decay: float = 0.0
    max_grad_norm: float | None = 1.0
    """Gradient clipping (``None``: none)."""
    beta: float = DPO_BETA
    """DPO's temperature."""
    dpo_fallback: bool = False
    """DPO pairs across tasks when a chosen trajectory has no rejected one of its own task."""
    sw_cap: float | None = 5.0
    """SW: a negative-weight sample's NLL is clamped at this value."""
    cpu: bool = False
    """Train on the CPU even when a GPU is present."""
    num_workers: int = 0
    """DataLoader workers that encode batches (tokenize, process images)."""

    def __post_init__(self) -> None:
        if self.steps is not None:
            positive_int("steps", self.steps)
        for name in ("epochs", "batch_size", "grad_accum"):
            positive_int(name, getattr(self, name))
        nonnegative_int("num_workers", self.num_workers)
        if self.lr is not None:
            positive_float("lr", self.lr)
        if self.max_grad_norm is not None:
            positive_float("max_grad_norm", self.max_grad_norm)
        if self.sw_cap is not None:
            positive_float("sw_cap", self.sw_cap)
        positive_float("beta", self.beta)
        if isinstance(self.weight_decay, bool) or not self.weight_decay >= 0:
            raise ValueError(f"weight_decay must be a number >= 0, got {self.weight_decay!r}")
        for name in ("dpo_fallback", "cpu"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be a bool, got {getattr(self, name)!r}")


def train(
    data: Any,
    *,
    method: str,
    config: QwenConfig | None = None,
    training: QwenTrainConfig | Mapping[str, Any] | None = None,
    seed: int = 0,
    reference: str | os.PathLike[str] | None = None,
    groups: str | Callable[[Mapping[str, Any]], Hashable] | None = None,
    progress: bool = True,
    log_path: str | os.PathLike[str] | None = None,
    out: str | os.PathLike[str] | None = None,
    **options: Any,
) -> QwenTrainResult:
    """Train a LoRA adapter of a Qwen3-VL planner with one offline method (module docstring).

    Args:
        data: a dataset id, a MinariDataset, a list of EpisodeRecord, or chat samples.
        method: ``s``, ``rl``, ``rw``, ``sw`` or ``dpo``.
        config: the model, mode, vision and LoRA settings (default :class:`QwenConfig`: tiny).
        seed: seeds LoRA's initialization, the sample order and DPO's pairing.
        steps: optimizer steps; default ``epochs`` passes over the (kept) samples / pairs.
        batch_size: sequences per micro-batch and process (DPO: about this many sequences,
            both sides of the pairs; at least one pair).
        grad_accum: micro-batches per optimizer step (the effective batch is
            ``batch_size * grad_accum * processes``).
        lr: AdamW's learning rate; default :func:`default_lr`.
        max_grad_norm: gradient clipping (``None``: none).
        reference: DPO: a saved S planner (:meth:`QwenPlanner.save`): the frozen reference and
            the policy's starting point; ``None``: the base model with the adapter disabled.
        beta: DPO's temperature.
        dpo_fallback: DPO pairs across tasks when a chosen trajectory has no rejected one of its
            own task (:func:`~offline_data.weights.dpo_pairs`).
        sw_cap: SW: a negative-weight sample's NLL is clamped at this value.
        groups: SW's standardization groups (:func:`offline_data.loaders.to_chat_samples`).
        log_path: JSON lines of the logged losses (main process).
        out: save the trained planner (adapter + ``planner.json``) there.
        cpu: force the CPU even when a GPU is present.
        num_workers: DataLoader workers that encode batches (tokenize, process images).

    Returns:
        :class:`QwenTrainResult` (the planner unwrapped, in eval mode, on the training device).
    """
    from accelerate.utils import set_seed
    from torch.utils.data import DataLoader
    from tqdm.auto import tqdm

    method = check_method(method)
    config = with_data_library(config or QwenConfig(), data)  # the planner calls the data's library
    t = config_from(QwenTrainConfig, training, **options)
    lr = default_lr(method, config) if t.lr is None else float(t.lr)
    t = t.replace(lr=lr)
    steps, epochs, batch_size, grad_accum = t.steps, t.epochs, t.batch_size, t.grad_accum
    weight_decay, max_grad_norm, beta = t.weight_decay, t.max_grad_norm, t.beta
    dpo_fallback, sw_cap, cpu, num_workers = t.dpo_fallback, t.sw_cap, t.cpu, t.num_workers
    if reference is not None and method != "dpo":
        raise ValueError(f"reference is DPO's; method {method!r} does not use one")
    t_load = time.perf_counter()
    ref_info: dict[str, Any] | None = None
    if reference is not None:
        ref_path = Path(reference)
        if not (ref_path / "planner.json").is_file():
            raise FileNotFoundError(
                f"DPO reference {str(reference)!r} is not a saved Qwen3-VL planner directory "
                "(it needs planner.json and the adapter files; train S with --policy qwen3vl first)"
            )
        ref_info = json.loads((ref_path / "planner.json").read_text())
        ref_cfg = QwenConfig.from_dict(ref_info["config"])
        for name in ("model", "mode", "vision"):
            if getattr(ref_cfg, name) != getattr(config, name):
                raise ValueError(
                    f"the DPO reference in {reference} has {name}={getattr(ref_cfg, name)!r} but "
                    f"this run asks for {name}={getattr(config, name)!r}: they must agree"
                )
        config = replace(
            ref_cfg,
            bf16=config.bf16,
            gradient_checkpointing=config.gradient_checkpointing,
            max_new_tokens=config.max_new_tokens,
        )
    samples, dataset_id, checksum = load_samples(data, method=method, config=config, groups=groups)
    if not samples:
        raise ValueError("no training samples")

    accelerator = _accelerator("bf16" if config.bf16 else "no", grad_accum, cpu)
    set_seed(seed)
    device = accelerator.device
    if reference is not None:
        planner = QwenPlanner.load(reference, device=device, trainable=True, **_runtime(config))
    else:
        planner = QwenPlanner.create(config, device=device)
    if config.gradient_checkpointing:
        _checkpointing(planner, True)

    world, rank = accelerator.num_processes, accelerator.process_index
    gen = np.random.default_rng(seed)
    info: dict[str, Any] = {"samples_total": len(samples), "processes": world}
    if method == "dpo":
        eps, rs, tasks = _episodes(samples)
        pairs = dpo_pairs(rs, tasks, rng=seed, fallback=dpo_fallback)
        if len(pairs) == 0:
            raise ValueError(
                "no DPO pairs: DPO needs trajectories with r >= 4.0 (chosen) and r in [2.5, 3.5] "
                "(rejected)"
                + ("" if dpo_fallback else " of the same task (or pass dpo_fallback=True)")
            )
        used = sorted({i for c, j in pairs for i in eps[c] + eps[j]})
        ref_lp = reference_logps(
            planner, samples, used, batch_size=batch_size, disable_adapter=reference is None
        )
        ep_ref = {e: sum(ref_lp[i] for i in eps[e]) for e in {*pairs.chosen.tolist(), *pairs.rejected.tolist()}}  # fmt: skip
        per_pair = float(np.mean([len(eps[c]) + len(eps[j]) for c, j in pairs]))
        unit = max(1, round(batch_size / per_pair))  # pairs per micro-batch
        items = pairs.pairs
        info.update(
            pairs=len(pairs),
            same_task_pairs=int(pairs.same_task.sum()),
            pairs_per_batch=unit,
            reference=str(reference) if reference is not None else "base model (adapter disabled)",
        )

        def collate(pos: list[int]) -> dict[str, Any]:
            chosen = [items[k][0] for k in pos]
            rejected = [items[k][1] for k in pos]
            trajs = chosen + rejected
            rows = [i for e in trajs for i in eps[e]]
            seg = [t for t, e in enumerate(trajs) for _ in eps[e]]
            return planner.batch(
                [samples[i] for i in rows],
                segment=torch.tensor(seg, dtype=torch.long),
                ref_logp=torch.tensor([ep_ref[e] for e in trajs], dtype=torch.float64),
            )

        n_items = len(items)
    else:
        keep = [i for i, s in enumerate(samples) if s.weight != 0]
        if not keep:
            raise ValueError(f"every {method.upper()} weight is 0: there is nothing to train on")
        unit = batch_size
        info["samples_kept"] = len(keep)

        def collate(pos: list[int]) -> dict[str, Any]:
            return planner.batch([samples[keep[k]] for k in pos])

        n_items = len(keep)
    total = steps or epochs * math.ceil(n_items / (unit * grad_accum * world))
    micro = list(minibatches(n_items, unit, total * grad_accum * world, gen))[rank::world]
    loader = DataLoader(micro, batch_size=None, collate_fn=collate, num_workers=num_workers)
    load_seconds = time.perf_counter() - t_load

    params = [p for p in planner.model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the planner has no trainable parameters (no LoRA adapter?)")
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    scorer, opt = accelerator.prepare(SequenceScorer(planner.model), opt)
    scorer.train()
    main = accelerator.is_main_process
    log = MetricLog(log_path if main else None)
    bar = tqdm(total=total, desc=f"{method.upper()} qwen3vl", unit="step", disable=not (progress and main))  # fmt: skip
    acc: dict[str, float] = {}
    n_acc = 0
    step = samples_seen = 0
    t0 = time.perf_counter()
    try:
        for batch in loader:
            batch = _to(batch, device, planner)
            with accelerator.accumulate(scorer):
                if method == "dpo":
                    res = dpo_batch_loss(scorer, batch, beta)
                    loss = res.loss
                    values = {
                        "margin": float(res.margin.mean()),
                        "accuracy": float(res.accuracy.mean()),
                        "chosen_reward": float(res.chosen_reward.mean()),
                        "rejected_reward": float(res.rejected_reward.mean()),
                    }
                else:
                    loss, nll = weighted_batch_loss(scorer, batch, method, sw_cap=sw_cap)
                    pos = batch["weight"] > 0
                    values = {
                        "nll": float(nll[pos.to(nll.device)].mean()) if pos.any() else math.nan
                    }
                accelerator.backward(loss)
                if accelerator.sync_gradients and max_grad_norm:
                    accelerator.clip_grad_norm_(params, max_grad_norm)
                opt.step()
                opt.zero_grad(set_to_none=True)
            values["loss"] = float(accelerator.reduce(loss.detach().float(), "mean"))
            check_finite(values["loss"], step + 1, lr)
            for k, v in values.items():
                acc[k] = acc.get(k, 0.0) + v
            n_acc += 1
            samples_seen += int(batch["input_ids"].shape[0]) * world
            if accelerator.sync_gradients:
                step += 1
                row = {"step": step, **{k: v / n_acc for k, v in acc.items()}}
                row.update(lr=lr, samples=samples_seen, epoch=step * unit * grad_accum * world / n_items)  # fmt: skip
                log.write(row)
                acc, n_acc = {}, 0
                bar.update(1)
                bar.set_postfix(loss=f"{row['loss']:.4f}")
    finally:
        bar.close()
        log.close()
    seconds = time.perf_counter() - t0
    accelerator.wait_for_everyone()
    planner.model = accelerator.unwrap_model(scorer).model
    if config.gradient_checkpointing:  # back to fast generation
        _checkpointing(planner, False)
    planner.eval()
    planner.meta = {
        "method": method,
        "dataset_id": dataset_id,
        "dataset_checksum": checksum,
        "seed": seed,
        "steps": step,
        "lr": lr,
        "batch_size": batch_size,
        "grad_accum": grad_accum,
        "processes": world,
        "train_seconds": round(seconds, 3),
        "training": t.to_dict(),
        **({"reference": str(reference)} if reference is not None else {}),
    }
    path = None
    if out is not None:
        if main:
            planner.save(out)
        accelerator.wait_for_everyone()
        path = Path(out)
    return QwenTrainResult(
        planner=planner,
        method=method,
        losses=log.rows,
        seconds=seconds,
        load_seconds=load_seconds,
        steps=step,
        samples=samples_seen,
        samples_per_s=samples_seen / max(seconds, 1e-9),
        peak_memory_mb=peak_memory_mb(device),
        adapter=path,
        info=info,
    )


def _checkpointing(planner: QwenPlanner, on: bool) -> None:
    """Activation (gradient) checkpointing on or off; the KV cache off while it is on."""
    hf = _hf_model(planner.model)
    # transformers 5.24 renamed gradient_checkpointing_* to activation_checkpointing_*
    if hasattr(hf, "activation_checkpointing_enable"):
        if on:
            hf.activation_checkpointing_enable({"use_reentrant": False})
        else:
            hf.activation_checkpointing_disable()
    elif on:
        hf.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    else:
        hf.gradient_checkpointing_disable()
    hf.config.use_cache = not on


def _accelerator(mixed_precision: str, grad_accum: int, cpu: bool) -> Any:
    """An ``accelerate.Accelerator``. Its state is a per-process singleton: a single process that
    trains twice with other settings (tests, notebooks) gets it reset; a distributed launch
    keeps the launcher's."""
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState, PartialState

    kwargs = {"mixed_precision": mixed_precision, "gradient_accumulation_steps": grad_accum, "cpu": cpu}  # fmt: skip
    try:
        return Accelerator(**kwargs)
    except ValueError as e:
        if "already been initialized" not in str(e) or PartialState().num_processes > 1:
            raise
        AcceleratorState._reset_state(reset_partial_state=True)
        return Accelerator(**kwargs)


def _runtime(config: QwenConfig) -> dict[str, Any]:
    """Config fields a saved planner may change when reloaded (precision, memory, generation)."""
    return {
        "bf16": config.bf16,
        "gradient_checkpointing": config.gradient_checkpointing,
        "max_new_tokens": config.max_new_tokens,
    }


__all__ = [
    "EPOCHS",
    "TINY_LR",
    "QwenTrainConfig",
    "QwenTrainResult",
    "default_lr",
    "load_samples",
    "reference_logps",
    "train",
]
