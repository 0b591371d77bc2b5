"""How much of the free-text set the training language already says: an audit for leakage.

    python -m experiments.free_overlap                                   # per tier: how many requests
    python -m experiments.free_overlap --eval simple=eval_free.json ...  # ... and a score split

The free-text set (``styling_env/data/free``) and the training language's everyday phrasings
(``styling_env.train_lexicon.PEOPLES_WORDS``) were written apart, but people's phrases are
shared by any two writers ("b&w", "a pencil drawing"). A request that holds a training phrase
*of a value it asks for* tests recall of that phrase, not understanding of new words. This
lists those requests (phrases of ``--min-words`` words or more: single words such as "snowy"
are how anyone names the effect) and, given an evaluation of the free set
(``python -m agents.evaluate AGENT --split free --out F``), the normalized score on them and
on the rest.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from styling_env import train_lexicon as tl
from styling_env.tasks import TIERS, test_tasks


def _norm(text: str) -> str:
    return " " + re.sub(r"[^a-z0-9&]+", " ", text.lower()).strip() + " "


def overlap(tier: str, min_words: int = 2) -> dict[str, list[str]]:
    """Free-text request id -> the training phrases (of at least ``min_words`` words) it holds
    that name a value it asks for (a target or a conditional branch)."""
    if min_words < 1:
        raise ValueError(f"min_words must be >= 1, got {min_words!r}")
    phrases: dict[str, set[tuple[str, str]]] = {}
    for tool, values in tl.PEOPLES_WORDS.items():
        for value, said in values.items():
            for p in said:
                key = _norm(p).strip()
                if len(key.split()) >= min_words:
                    phrases.setdefault(key, set()).add((tool, value))
    out: dict[str, list[str]] = {}
    for task in test_tasks(tier, split="free"):
        text = _norm(task.instruction)
        asked = {(t.tool, t.value) for t in task.targets}
        for c in task.conditionals:
            asked |= {(t.tool, t.value) for t in (c.then, c.otherwise) if t is not None}
        held = sorted(p for p, named in phrases.items() if f" {p} " in text and named & asked)
        if held:
            out[task.task_id] = held
    return out


def split_score(evaluation: dict, ids: set[str]) -> dict[str, tuple[float, int]]:
    """Normalized score (random and oracle of the evaluation) over all episodes, those of
    ``ids`` and the rest, with their counts."""
    r, o = float(evaluation["random_overall"]), float(evaluation["oracle_overall"])
    eps = evaluation["episodes"]

    def score(rows: list[dict]) -> tuple[float, int]:
        if not rows:
            return (float("nan"), 0)
        return (
            100.0 * (float(np.mean([e["overall"] for e in rows])) - r) / max(o - r, 1e-9),
            len(rows),
        )

    return {
        "all": score(eps),
        "overlapping": score([e for e in eps if e["task_id"] in ids]),
        "rest": score([e for e in eps if e["task_id"] not in ids]),
    }


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m experiments.free_overlap", description=__doc__.splitlines()[0]
    )
    p.add_argument("--min-words", type=int, default=2)
    p.add_argument(
        "--eval",
        nargs="*",
        default=[],
        metavar="TIER=FILE",
        help="a free-split evaluation per tier",
    )
    p.add_argument(
        "--list", action="store_true", help="print each overlapping request and its phrases"
    )
    args = p.parse_args(argv)
    evals: dict[str, Path] = {}
    for item in args.eval:
        tier, _, path = item.partition("=")
        if tier not in TIERS or not path:
            print(
                f"--eval takes TIER=FILE with TIER one of {', '.join(TIERS)}, got {item!r}",
                file=sys.stderr,
            )
            return 2
        evals[tier] = Path(path)
    for tier in TIERS:
        hits = overlap(tier, args.min_words)
        n = len(test_tasks(tier, split="free"))
        print(
            f"{tier}: {len(hits)} of {n} free-text requests hold a training phrase of a value they ask for"
        )
        if args.list:
            for tid, phrases in hits.items():
                print(f"  {tid}: {'; '.join(phrases)}")
        if tier in evals:
            parts = split_score(json.loads(evals[tier].read_text()), set(hits))
            print("  normalized: " + ", ".join(f"{k} {v:.1f} ({c})" for k, (v, c) in parts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
