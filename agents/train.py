"""``python -m agents.train``: train a planner with one method, then evaluate it.

    python -m agents.train --method sw --dataset image-styling/regular-v0 --seed 0
    python -m agents.train --method rw --dataset image-styling/simple-v0 --policy text    # text-only
    python -m agents.train --method dpo --dataset image-styling/complex-v0 --reference runs/.../model.pt
    python -m agents.train --method cql --dataset image-styling/regular-v0 --steps 5000     # d3rlpy
    python -m agents.train --method ppo --tier simple --steps 20000                         # online SB3
    python -m agents.train --method bc --dataset image-styling/complex-v3-v0 --steps 2000   # a v3 dataset
    python -m agents.train --method ppo --tier complex --library normal --steps 20000     # online, normal
    python -m agents.train --method rw --dataset image-styling/simple-v0 --policy qwen3vl \
        --model Qwen/Qwen3-VL-4B-Instruct --bf16 --gradient-checkpointing              # Qwen3-VL
    python -m agents.train --method s --dataset image-styling/simple-v0 --policy qwen3vl \
        --model tiny --steps 5 --eval-tasks 4                                         # CPU smoke

Methods are the trainable entries of :mod:`agents.registry`: the paper's five offline methods
``s``, ``rl``, ``rw``, ``sw``, ``dpo`` (the embedded planner, ``--policy embedded`` with images or
``--policy text`` without, i.e. the registry's ``rw-text``; ``sw-task``), d3rlpy's ``cql``,
``bcq``, ``bc``, stable-baselines3's online ``ppo``, ``dqn`` (no dataset: they learn in the env),
and any ``module.path:METHOD`` of your own. A dataset's action library (``v2``, ``normal``,
``v3``) is read from it: the embedded planner and d3rlpy's methods train in it, and the
evaluation plays that library's test tasks; online methods learn in ``--library`` (default
``v2``). The flags set the fields of the method's config
(``--lr``, ``--beta``, ``--dpo-fallback`` reach every trainer that has them); the resolved config
is written to ``train.json`` and into the checkpoint. A run writes ``runs/<dataset>/<method>-<policy>-seed<seed>/``: the checkpoint, the logged
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

from agents.embedded.config import ENCODERS
from offline_data.errors import check_same_library
from styling_env.tools.library_tables import LIBRARY_NAMES

OFFLINE = ("s", "rl", "rw", "sw", "dpo")
QWEN = ("qwen3vl", "qwen3vl-text")
D3RLPY = ("cql", "bcq", "bc")
ONLINE = ("ppo", "dqn")


def _trainable() -> list[str]:
    from . import registry

    return [k for k in registry.names() if registry.get(k).trainable]


def _method(text: str) -> str:
    """``--method``'s type: a trainable registered key (argparse turns the error into usage)."""
    from . import registry

    try:
        m = registry.get(text)
    except (ValueError, ImportError) as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    if not m.trainable:
        raise argparse.ArgumentTypeError(
            f"{text!r} is a baseline: evaluate it with python -m agents.evaluate {text}"
        )
    return text


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m agents.train", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--method", required=True, type=_method,
        help="a trainable method of agents.registry (" + ", ".join(_trainable()) + ") or "
        "module.path:METHOD (your own registered Method)",
    )  # fmt: skip
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
    p.add_argument(
        "--library", default=None, choices=LIBRARY_NAMES,
        help="action library: online methods learn in it (default v2); with --dataset it must "
        "be the dataset's (default: read from the dataset)",
    )  # fmt: skip
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
        "--encoder", default=None, choices=ENCODERS,
        help="instruction encoder (default: agents.embedded.PlannerConfig's, lex+minilm+hash, "
        "as the benchmark trains; the minilm-tokens ones read the request token by token, one "
        "attention query per head)",
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
    p.add_argument(
        "--set", dest="settings", nargs="+", default=[], metavar="FIELD=VALUE",
        help="any field of the method's config, dotted for nested ones (training.weight_decay=0.01 "
        "planner.dropout=0.2 algo_config.gamma=0.95); the value is read as JSON, else as text",
    )  # fmt: skip
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
    p.add_argument("--beta", type=float, default=None, help="DPO's temperature (default 0.1)")
    p.add_argument("--dpo-fallback", action="store_true",
                   help="DPO: pair across tasks when a task has no rejected trajectory")  # fmt: skip
    q.add_argument("--num-workers", type=int, default=0, help="DataLoader workers (encoding)")
    q.add_argument("--cpu", action="store_true", help="train on the CPU even with a GPU")
    return p


POLICY_SUFFIX = {
    "embedded": "",
    "text": "-text",
    "qwen3vl": "-qwen3vl",
    "qwen3vl-text": "-qwen3vl-text",
}


def method_key(method: str, policy: str) -> str:
    """The registry key of ``--method`` trained with ``--policy`` (``rw`` + ``text`` ->
    ``rw-text``); d3rlpy and online methods take ``--policy text`` as an option instead."""
    from . import registry

    m = registry.get(method)
    if policy in QWEN and m.kind not in ("embedded", "qwen"):
        raise ValueError(
            f"--policy {policy} trains with the offline methods {', '.join(OFFLINE)}, "
            f"not {method!r}"
        )
    if m.kind == "embedded" and policy != "embedded" and not method.endswith(POLICY_SUFFIX[policy]):
        return registry.get(method.removesuffix("-text") + POLICY_SUFFIX[policy]).key
    return m.key


def _key_policy(key: str) -> str | None:
    """The policy a method key names by its suffix (``rw-text`` -> ``text``), else None."""
    named = [p for p, suffix in POLICY_SUFFIX.items() if suffix and key.endswith(suffix)]
    return max(named, key=lambda p: len(POLICY_SUFFIX[p])) if named else None


def options(args: argparse.Namespace, kind: str) -> dict[str, Any]:
    """The config fields the command-line flags set (``None``: not given, the default holds)."""
    if kind == "embedded":
        return {
            "planner": {"image_size": args.image_size, "encoder": args.encoder},
            "training": {
                "steps": args.steps, "epochs": args.epochs, "batch_size": args.batch_size,
                "lr": args.lr, "beta": args.beta, "dpo_fallback": args.dpo_fallback or None,
            },
        }  # fmt: skip
    if kind == "qwen":
        from .qwen.model import LM_TARGETS

        return {
            "model": {
                "model": args.model, "mode": args.mode, "lora_r": args.lora_r,
                "lora_alpha": args.lora_alpha, "lora_dropout": args.lora_dropout,
                "target_modules": tuple(args.lora_targets or LM_TARGETS),
                "train_vision": args.train_vision, "bf16": args.bf16,
                "gradient_checkpointing": args.gradient_checkpointing,
                "max_new_tokens": args.max_new_tokens, "seed": args.seed,
            },
            "training": {
                "steps": args.steps, "epochs": args.epochs, "batch_size": args.batch_size,
                "grad_accum": args.grad_accum, "lr": args.lr, "beta": args.beta,
                "dpo_fallback": args.dpo_fallback or None, "num_workers": args.num_workers,
                "cpu": args.cpu or None,
            },
        }  # fmt: skip
    if kind == "d3rlpy":
        algo = {"batch_size": args.batch_size, "learning_rate": args.lr}
        return {
            "training": {
                "steps": args.steps, "text_only": args.policy == "text" or None,
                "encoder": args.encoder,
            },
            "algo_config": {k: v for k, v in algo.items() if v is not None},
        }  # fmt: skip
    if kind == "online":
        return {"steps": args.steps, "image_size": args.image_size, "library": args.library,
                "encoder": args.encoder}  # fmt: skip
    return {}  # a custom method: its own defaults (set them in its config)


def _merge_settings(opts: dict[str, Any], settings: Sequence[str]) -> dict[str, Any]:
    """``--set a.b=v`` entries over ``opts`` (``v`` parsed as JSON when it parses)."""
    for item in settings:
        name, sep, text = item.partition("=")
        if not sep or not name or any(not part for part in name.split(".")):
            raise ValueError(f"--set takes FIELD=VALUE (e.g. training.lr=3e-4), got {item!r}")
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        *path, last = name.split(".")
        node = opts
        for part in path:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ValueError(f"--set {item!r}: {part!r} is not a nested config")
        node[last] = value
    return opts


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Train and evaluate as ``args`` say; returns the summary written to ``train.json``."""
    from offline_data import dataset as D
    from offline_data.safety import writable
    from styling_env.config import check_options

    from . import registry

    if args.policy in QWEN and not args.model:
        raise ValueError(
            f"--model is required for --policy {args.policy}: a checkpoint directory, a hub id "
            "such as Qwen/Qwen3-VL-4B-Instruct, or 'tiny'"
        )
    m = registry.get(method_key(args.method, args.policy))
    own = _key_policy(args.method)
    if own is not None and args.policy not in ("embedded", own):  # "embedded": the default
        raise ValueError(
            f"--method {args.method} is the {own} policy's; --policy {args.policy} asks for "
            f"another: pass --method {args.method.removesuffix(POLICY_SUFFIX[own])} with "
            f"--policy {args.policy}"
        )
    if args.out is not None and not args.out.strip():
        raise ValueError("--out is empty: give a run folder, or leave --out out for the default")
    if not m.trainable:
        raise ValueError(
            f"{m.key!r} is a baseline: evaluate it with python -m agents.evaluate {m.key}"
        )
    tier, size, checksum, library = args.tier, args.eval_image_size, None, "v2"
    if m.needs_dataset:
        if not args.dataset:
            raise ValueError(f"--dataset is required for method {args.method!r}")
        ds = D.load(args.dataset)
        recipe = D.info(ds).get("recipe", {})
        tier = tier or recipe.get("tier")
        size = size or recipe.get("image_size", 128)
        checksum = D.info(ds).get("checksum")
        library = D.dataset_library(ds)
        if args.library is not None:
            check_same_library(f"{args.dataset!r}", library, "--library", args.library)
        call_level = (m.trainer or "").startswith("agents.calllevel")
        if library != "v2" and (m.kind not in ("embedded", "d3rlpy", "qwen") or call_level):
            raise ValueError(
                f"{args.dataset!r} was played in action library {library!r}; method {m.key!r} "
                "trains on v2 datasets only (the paper's five methods on the embedded planner "
                "and on Qwen3-VL, and d3rlpy's, train on any library; the call-level critics "
                "score the ten tools' calls)"
            )
    else:
        if not tier:
            raise ValueError(f"--tier is required for online method {args.method!r}")
        size = size or args.image_size
        library = args.library or "v2"
    # what evaluation needs is checked before the training, not after it
    check_options(tier or "simple", size, 8, "image", None)
    config = m.make_config(_merge_settings(options(args, m.kind), args.settings))
    policy = {"d3rlpy": "d3rlpy", "online": "sb3"}.get(m.kind) or _key_policy(m.key) or args.policy
    base = m.key if m.kind in ("embedded", "qwen") and m.key != args.method else args.method
    name = (args.dataset or f"online-{tier}").replace("/", "_")
    # rw + embedded -> rw-embedded; a key that names its policy (rw-text) is label enough
    label = f"{args.method}-{policy}" if base == args.method and not own else base
    out = Path(args.out or Path("runs") / name / f"{label}-seed{args.seed}")
    writable(out)  # a file in the way or a read-only folder: a named error before any work
    reference = Path(args.reference) if args.reference else None
    t0 = time.perf_counter()
    summary: dict[str, Any] = {
        "method": args.method, "registry_key": m.key, "policy": policy, "seed": args.seed,
        "dataset": args.dataset, "dataset_checksum": checksum, "tier": tier, "library": library,
    }  # fmt: skip
    job = registry.TrainJob(
        m, config, args.seed, out, dataset=args.dataset, tier=tier or "simple",
        image_size=size, reference=reference, progress=not args.quiet,
    )  # fmt: skip
    trained = m.train(job)
    summary.update(trained.info)
    summary["train_seconds"] = trained.info.get("seconds")
    summary["config"] = config.to_dict()
    summary["total_train_seconds"] = round(time.perf_counter() - t0, 1)
    if args.eval_tasks:
        from .evaluate import evaluate

        ev = evaluate(
            trained.agent, tier, args.eval_tasks, (args.seed,), image_size=size,
            progress=not args.quiet, library=library,
        )  # fmt: skip
        ev.save(str(out / "eval.json"))
        summary["eval"] = ev.summary()
    (out / "train.json").write_text(json.dumps(summary, indent=2, default=str))
    summary["out"] = str(out)
    return summary


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
