"""``python -m agents.train``: train a planner with one method, then evaluate it.

    python -m agents.train --method sw --dataset image-styling/regular-v0 --seed 0
    python -m agents.train --method rw --dataset image-styling/simple-v0 --policy text    # text-only
    python -m agents.train --method dpo --dataset image-styling/complex-v0 --reference runs/.../model.pt
    python -m agents.train --method cql --dataset image-styling/regular-v0 --steps 5000     # d3rlpy
    python -m agents.train --method ppo --tier simple --steps 20000                         # online SB3
    python -m agents.train --method rw --dataset image-styling/simple-v0 --policy qwen3vl \
        --model Qwen/Qwen3-VL-4B-Instruct --bf16 --gradient-checkpointing              # Qwen3-VL
    python -m agents.train --method s --dataset image-styling/simple-v0 --policy qwen3vl \
        --model tiny --steps 5 --eval-tasks 4                                         # CPU smoke

Methods: the paper's five offline methods ``s``, ``rl``, ``rw``, ``sw``, ``dpo`` (the embedded
planner, ``--policy embedded`` with images or ``--policy text`` without), d3rlpy's ``cql``,
``bcq``, ``bc``, and stable-baselines3's online ``ppo``, ``dqn`` (no dataset: they learn in the
env). A run writes ``runs/<dataset>/<method>-<policy>-seed<seed>/``: the checkpoint, the logged
losses (``train_log.jsonl``), ``train.json`` (time, samples/s, peak memory, the dataset's
checksum) and, unless ``--eval-tasks 0``, ``eval.json`` (every test episode, the summary).

``--policy qwen3vl`` (image in the prompt) and ``qwen3vl-text`` (text only) fine-tune LoRA
adapters of a Qwen3-VL model (:mod:`agents.qwen`) with the same five methods, at token level:
``--model`` is a local checkpoint directory, a hub id, or ``tiny`` (a random toy built in code);
``--mode step`` (closed loop, one call per image) or ``plan`` (open loop, one JSON plan). The
adapter goes to ``<run>/adapter/``; DPO's ``--reference`` is then a saved S adapter directory
(default: the base model with the adapter disabled). Multi-GPU: ``accelerate launch -m
agents.train ...`` (docs/qwen3vl.md).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

OFFLINE = ("s", "rl", "rw", "sw", "dpo")
QWEN = ("qwen3vl", "qwen3vl-text")
D3RLPY = ("cql", "bcq", "bc")
ONLINE = ("ppo", "dqn")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m agents.train", description=__doc__.split("\n\n")[0])
    p.add_argument("--method", required=True, choices=OFFLINE + D3RLPY + ONLINE)
    p.add_argument(
        "--dataset",
        default=None,
        help="dataset id, e.g. image-styling/regular-v0 (offline methods)",
    )
    p.add_argument(
        "--tier",
        default=None,
        help="tier to evaluate on (default: the dataset's); online methods train on it",
    )
    p.add_argument(
        "--policy",
        default="embedded",
        choices=("embedded", "text", *QWEN),
        help="embedded planner with images, or text-only; qwen3vl (vision) or qwen3vl-text",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--steps", type=int, default=None, help="gradient steps (offline) or env steps (online)"
    )
    p.add_argument(
        "--epochs", type=int, default=None,
        help="embedded planner: epochs when --steps is not given (default per method: agents.methods)",
    )  # fmt: skip
    p.add_argument(
        "--batch-size", type=int, default=None,
        help="minibatch size (default 256; Qwen3-VL: 4 sequences per device)",
    )  # fmt: skip
    p.add_argument("--lr", type=float, default=None)
    p.add_argument(
        "--image-size", type=int, default=64, help="work resolution of the planner's CNN"
    )
    p.add_argument(
        "--encoder", default="minilm+hash", choices=("minilm+hash", "minilm", "hash"),
        help="instruction encoder (agents.embedded.PlannerConfig)",
    )  # fmt: skip
    p.add_argument(
        "--reference", default=None, help="DPO: the frozen S checkpoint (default: train S first)"
    )
    p.add_argument(
        "--eval-tasks",
        type=int,
        default=200,
        help="test tasks to evaluate on after training (0: none)",
    )
    p.add_argument(
        "--eval-image-size",
        type=int,
        default=None,
        help="env image size for evaluation (default: the dataset's)",
    )
    p.add_argument(
        "--out",
        default=None,
        help="run folder (default runs/<dataset>/<method>-<policy>-seed<seed>)",
    )
    p.add_argument("--quiet", action="store_true")
    p.add_argument(
        "--verbose",
        action="store_true",
        help="let dependencies print their notices (gym's banner, d3rlpy's log lines)",
    )
    q = p.add_argument_group("Qwen3-VL planner (--policy qwen3vl / qwen3vl-text)")
    q.add_argument("--model", default=None, help="a checkpoint dir, a hub id, or 'tiny'")
    q.add_argument("--mode", default="step", choices=("step", "plan"),
                   help="step: reason + one call per image (closed loop); plan: one JSON plan")  # fmt: skip
    q.add_argument("--lora-r", type=int, default=16)
    q.add_argument("--lora-alpha", type=int, default=32)
    q.add_argument("--lora-dropout", type=float, default=0.05)
    q.add_argument("--lora-targets", nargs="+", default=None,
                   help="language-model modules (default q k v o gate up down projections)")  # fmt: skip
    q.add_argument("--train-vision", action="store_true", help="LoRA on the vision tower too")
    q.add_argument("--bf16", action="store_true", help="bfloat16 weights and autocast (GPU)")
    q.add_argument("--gradient-checkpointing", action="store_true")
    q.add_argument("--grad-accum", type=int, default=1, help="micro-batches per optimizer step")
    q.add_argument("--max-new-tokens", type=int, default=None, help="generation cap (evaluation)")
    q.add_argument("--beta", type=float, default=0.1, help="DPO's temperature")
    q.add_argument("--dpo-fallback", action="store_true",
                   help="DPO: pair across tasks when a task has no rejected trajectory")  # fmt: skip
    q.add_argument("--num-workers", type=int, default=0, help="DataLoader workers (encoding)")
    q.add_argument("--cpu", action="store_true", help="train on the CPU even with a GPU")
    return p


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Train and evaluate as ``args`` say; returns the summary written to ``train.json``."""
    from offline_data import dataset as D

    method = args.method
    tier, size, checksum = args.tier, args.eval_image_size, None
    if method not in ONLINE:
        if not args.dataset:
            raise ValueError(f"--dataset is required for method {method!r}")
        ds = D.load(args.dataset)
        recipe = D.info(ds).get("recipe", {})
        tier = tier or recipe.get("tier")
        size = size or recipe.get("image_size", 128)
        checksum = D.info(ds).get("checksum")
    else:
        if not tier:
            raise ValueError(f"--tier is required for online method {method!r}")
        size = size or args.image_size
    if args.policy in QWEN and method not in OFFLINE:
        raise ValueError(
            f"--policy {args.policy} trains with the offline methods {', '.join(OFFLINE)}, "
            f"not {method!r}"
        )
    if args.policy in QWEN and not args.model:
        raise ValueError(
            f"--model is required for --policy {args.policy}: a checkpoint directory, a hub id "
            "such as Qwen/Qwen3-VL-4B-Instruct, or 'tiny'"
        )
    policy = args.policy if method in OFFLINE else ("d3rlpy" if method in D3RLPY else "sb3")
    name = (args.dataset or f"online-{tier}").replace("/", "_")
    out = Path(args.out or Path("runs") / name / f"{method}-{policy}-seed{args.seed}")
    out.mkdir(parents=True, exist_ok=True)
    log = out / "train_log.jsonl"
    t0 = time.perf_counter()
    summary: dict[str, Any] = {
        "method": method, "policy": policy, "seed": args.seed, "dataset": args.dataset,
        "dataset_checksum": checksum, "tier": tier,
    }  # fmt: skip
    if policy in QWEN:
        agent = _train_qwen(args, out, log, summary)
    elif method in OFFLINE:
        from .embedded import PlannerConfig, train

        config = PlannerConfig(
            image_size=args.image_size, text_only=args.policy == "text", encoder=args.encoder
        )
        res = train(
            args.dataset, method=method, config=config, seed=args.seed, steps=args.steps,
            epochs=args.epochs, batch_size=args.batch_size or 256, lr=args.lr, reference=args.reference,
            progress=not args.quiet, log_path=log, checkpoint=out / "model.pt",
        )  # fmt: skip
        agent = res.agent()
        summary.update(
            checkpoint=str(res.checkpoint), train_seconds=round(res.seconds, 1),
            load_seconds=round(res.load_seconds, 1), steps=res.steps, samples=res.samples,
            samples_per_s=round(res.samples_per_s, 1), peak_memory_mb=res.peak_memory_mb,
            parameters=res.planner.n_parameters(), final_loss=res.losses[-1] if res.losses else None,
        )  # fmt: skip
    elif method in D3RLPY:
        from .d3rlpy_agents import train_d3rlpy

        agent = train_d3rlpy(
            method, args.dataset, seed=args.seed, steps=args.steps, progress=not args.quiet,
            log_path=log, out=out / "model.d3", text_only=args.policy == "text",
        )  # fmt: skip
        summary.update(checkpoint=str(out / "model.d3"), **getattr(agent, "train_info", {}))
    else:
        from .online import train_online

        agent = train_online(
            method, tier, steps=args.steps, seed=args.seed, image_size=size,
            progress=not args.quiet, log_path=log, out=out / "model.zip",
        )  # fmt: skip
        summary.update(checkpoint=str(out / "model.zip"))
    summary["total_train_seconds"] = round(time.perf_counter() - t0, 1)
    if args.eval_tasks:
        from .evaluate import evaluate

        ev = evaluate(
            agent, tier, args.eval_tasks, (args.seed,), image_size=size, progress=not args.quiet
        )
        ev.save(str(out / "eval.json"))
        summary["eval"] = ev.summary()
    (out / "train.json").write_text(json.dumps(summary, indent=2, default=str))
    summary["out"] = str(out)
    return summary


def _train_qwen(args: argparse.Namespace, out: Path, log: Path, summary: dict[str, Any]) -> Any:
    """Train a Qwen3-VL LoRA adapter (``<out>/adapter``); fill ``summary``; return the agent."""
    from .qwen.model import LM_TARGETS, QwenConfig
    from .qwen.train import EPOCHS, train

    config = QwenConfig(
        model=args.model, mode=args.mode, vision=args.policy == "qwen3vl",
        lora_r=args.lora_r, lora_alpha=args.lora_alpha, lora_dropout=args.lora_dropout,
        target_modules=tuple(args.lora_targets or LM_TARGETS), train_vision=args.train_vision,
        bf16=args.bf16, gradient_checkpointing=args.gradient_checkpointing,
        max_new_tokens=args.max_new_tokens, seed=args.seed,
    )  # fmt: skip
    res = train(
        args.dataset, method=args.method, config=config, seed=args.seed, steps=args.steps,
        epochs=args.epochs or EPOCHS, batch_size=args.batch_size or 4, grad_accum=args.grad_accum,
        lr=args.lr, reference=args.reference, beta=args.beta, dpo_fallback=args.dpo_fallback,
        progress=not args.quiet, log_path=log, out=out / "adapter", cpu=args.cpu,
        num_workers=args.num_workers,
    )  # fmt: skip
    summary.update(
        checkpoint=str(res.adapter), model=args.model, mode=args.mode,
        train_seconds=round(res.seconds, 1), load_seconds=round(res.load_seconds, 1),
        steps=res.steps, samples=res.samples, samples_per_s=round(res.samples_per_s, 2),
        peak_memory_mb=res.peak_memory_mb, lr=res.planner.meta.get("lr"),
        parameters=res.planner.n_parameters(),
        trainable_parameters=res.planner.n_parameters(trainable=True),
        final_loss=res.losses[-1] if res.losses else None, **res.info,
    )  # fmt: skip
    return res.agent(max_new_tokens=args.max_new_tokens)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not args.verbose:
        from .quiet import quiet

        quiet()
    from offline_data.dataset import DatasetError

    try:
        s = run(args)
    except (DatasetError, ValueError, TypeError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except OSError as e:  # a Qwen3-VL checkpoint that cannot be loaded (agents.qwen.model)
        if args.policy not in QWEN:
            raise
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(
        f"{s['method']} ({s['policy']}, seed {s['seed']}) trained in {s['total_train_seconds']} s -> {s['out']}"
    )
    if "eval" in s:
        e = s["eval"]
        lo, hi = e["normalized_ci"]
        print(
            f"  test ({e['episodes']} tasks, {s['tier']}): overall {e['overall']:.1f}, "
            f"normalized {e['normalized']:.1f} [{lo:.1f}, {hi:.1f}]"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
