"""``python -m agents.qwen``: evaluate a Qwen3-VL planner, or merge its LoRA adapter.

    python -m agents.qwen evaluate runs/.../s-qwen3vl-seed0/adapter --tier simple --tasks 200
    python -m agents.qwen evaluate Qwen/Qwen3-VL-4B-Instruct --tier simple      # zero-shot (B)
    python -m agents.qwen merge runs/.../s-qwen3vl-seed0/adapter merged/s-4b   # standalone model

Training is ``python -m agents.train --policy qwen3vl --model ...`` (:mod:`agents.train`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _device(name: str | None) -> str:
    import torch

    return name or ("cuda" if torch.cuda.is_available() else "cpu")


def main(argv: Sequence[str] | None = None) -> int:
    from styling_env.tasks import TIERS

    p = argparse.ArgumentParser(prog="python -m agents.qwen", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    ev = sub.add_parser("evaluate", help="run a planner on a tier's test tasks")
    ev.add_argument("planner", help="a saved planner dir (planner.json), or a model spec (zero-shot)")  # fmt: skip
    ev.add_argument("--tier", default="simple", choices=TIERS)
    ev.add_argument("--tasks", type=int, default=200)
    ev.add_argument("--seeds", type=int, nargs="+", default=[0])
    ev.add_argument("--image-size", type=int, default=128)
    ev.add_argument("--mode", default=None, choices=("step", "plan"), help="default: the planner's")
    ev.add_argument("--text-only", action="store_true", help="zero-shot spec: no image in the prompt")  # fmt: skip
    ev.add_argument("--max-new-tokens", type=int, default=None)
    ev.add_argument("--batch-size", type=int, default=64, help="prompts per generate call")
    ev.add_argument("--bf16", action="store_true")
    ev.add_argument("--device", default=None, help="default: cuda if available, else cpu")
    ev.add_argument("--out", default=None, help="write every episode and the summary as JSON")
    mg = sub.add_parser("merge", help="merge a saved adapter into its base model and save it")
    mg.add_argument("planner", help="a saved planner dir (planner.json + adapter)")
    mg.add_argument("out", help="directory of the merged checkpoint")
    mg.add_argument("--bf16", action="store_true", help="merge and save in bfloat16")
    args = p.parse_args(argv)

    from .model import ModelLoadError, QwenConfig, QwenPlanner

    try:
        if args.command == "merge":
            planner = QwenPlanner.load(args.planner, bf16=args.bf16)
            path = planner.save_merged(args.out)
            print(f"merged {args.planner} -> {path} (load it with --model {path})")
            return 0
        from agents.evaluate import evaluate

        from .agent import QwenAgent

        config = QwenConfig(
            model=args.planner, mode=args.mode or "step", vision=not args.text_only, bf16=args.bf16
        )
        agent = QwenAgent.from_pretrained(
            args.planner, device=_device(args.device), config=config, mode=args.mode,
            max_new_tokens=args.max_new_tokens, batch_size=args.batch_size,
        )  # fmt: skip
        res = evaluate(agent, args.tier, args.tasks, args.seeds, image_size=args.image_size,
                       num_envs=min(50, args.tasks), progress=True)  # fmt: skip
    except (ValueError, TypeError, OSError, ModelLoadError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    s = res.summary()
    lo, hi = s["normalized_ci"]
    print(f"{s['agent']} on {args.tier} ({s['episodes']} episodes, {res.seconds:.1f} s)")
    print(f"  overall {s['overall']:.1f}, normalized {s['normalized']:.1f} [{lo:.1f}, {hi:.1f}], invalid calls per episode {s['invalid']:.2f}")  # fmt: skip
    if args.out:
        res.save(args.out)
        print(f"  wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
