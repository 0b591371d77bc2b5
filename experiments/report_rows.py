"""The benchmark's results grouped for the report: one :class:`Row` per (study, tier, method)
with each metric's mean and 95% CI over seeds (or over the episodes of one seed).

A method's score on a tier is the mean over its seeds of each seed's mean over the test
episodes; the CI is Student's t over the seed means when there are two seeds or more, else
over the episodes (marked ``ep``). Normalized scores are ``100 * (overall - random) / (oracle -
random)`` with the random-plan and oracle means measured on the same tasks.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agents.registry import METHODS
from styling_env.judge import PLANNING_NAMES, SCORE_NAMES

SHORT = {
    "instruction_following": "IF", "visual_quality": "VQ", "transformation_strength": "TS",
    "coherence": "Coh", "semantic_accuracy": "SA", "technical_execution": "TE",
}  # fmt: skip
"""Short labels of the six scores (plots and tables)."""


def _ci(values: Sequence[float]) -> tuple[float, float, float]:
    """(mean, low, high): :func:`agents.evaluate.ci95` with the mean in front."""
    from agents.evaluate import ci95

    lo, hi = ci95(values)
    return float(np.mean(values)) if len(values) else math.nan, lo, hi


@dataclass
class Row:
    """One (study, tier, method) of the results: its statistics over seeds."""

    study: str
    tier: str
    method: str
    label: str
    seeds: list[int]
    stats: dict[str, tuple[float, float, float]]  # metric -> (mean, lo, hi)
    ci_over: str  # "seeds" or "ep" (episodes)
    train_seconds: float | None
    peak_rss_mb: float | None  # median over seeds of each cell's process peak
    eval_seconds: float | None
    extra: dict[str, Any] = field(default_factory=dict)

    def fmt(self, metric: str, digits: int = 1) -> str:
        m, lo, hi = self.stats[metric]
        if math.isnan(m):
            return "–"
        if hi - lo < 10 ** (-digits):
            return f"{m:.{digits}f}"
        return f"{m:.{digits}f} ± {(hi - lo) / 2:.{digits}f}"


def _mean_of(cells: Sequence[Mapping[str, Any]], path: Sequence[str]) -> float | None:
    """The mean of the number at ``path`` (nested keys) over ``cells`` that have one."""
    vals = []
    for c in cells:
        v: Any = c
        for p in path:
            v = v.get(p) if isinstance(v, Mapping) else None
        if isinstance(v, int | float):
            vals.append(float(v))
    return float(np.mean(vals)) if vals else None


def aggregate(results: Mapping[str, Any]) -> list[Row]:
    """The results' cells grouped per (study, tier, method), in :data:`METHODS` order."""
    groups: dict[tuple[str, str, str], list[Mapping[str, Any]]] = defaultdict(list)
    for c in results["cells"]:
        groups[(c["study"], c["tier"], c["method"])].append(c)
    order = {m: i for i, m in enumerate(METHODS)}
    rows = []
    for (study, tier, method), cs in sorted(
        groups.items(), key=lambda kv: (kv[0][0] != "main", kv[0][0], kv[0][1], order.get(kv[0][2], 99))
    ):  # fmt: skip
        cs = sorted(cs, key=lambda c: c["seed"])
        metrics = (*SCORE_NAMES, "overall", "normalized", *PLANNING_NAMES, "steps", "invalid_calls",
                   "violated")  # fmt: skip
        per_seed: dict[str, list[float]] = defaultdict(list)
        per_ep: dict[str, list[float]] = defaultdict(list)  # every seed's episodes
        first_ep: dict[str, list[float]] = {}  # the first seed's episodes
        for c in cs:
            eps = c.get("episodes") or []
            ev = c.get("eval", {})
            rnd, orc = ev.get("random_overall", 0.0), ev.get("oracle_overall", 100.0)
            for k in metrics:
                if k == "normalized":
                    vals = [100.0 * (e["overall"] - rnd) / max(orc - rnd, 1e-9) for e in eps]
                elif k == "violated":  # the share of episodes that broke a constraint
                    vals = [float(bool(e["violations"])) for e in eps if "violations" in e]
                else:
                    vals = [float(e[k]) for e in eps if k in e]
                if vals:
                    per_seed[k].append(float(np.mean(vals)))
                    per_ep[k] += vals
                    first_ep.setdefault(k, vals)
        over = "seeds" if len(cs) >= 2 else "ep"
        src = per_seed if over == "seeds" else per_ep
        if over == "seeds" and np.ptp(per_seed.get("overall") or [math.nan]) < 1e-6:
            # a deterministic agent (edit-only, oracle) scores the fixed test tasks identically
            # on every seed: a CI over seeds would have zero width, so show the one over the
            # episodes of one seed (the others repeat them, up to float noise of ~1e-8)
            over, src = "ep", first_ep
        stats = {k: _ci(src[k]) if src.get(k) else (math.nan,) * 3 for k in metrics}

        # each cell's peak: the process's resident peak while it ran (with the tier's loaded
        # data); the median over seeds keeps one seed's outlier process from standing for all
        peaks = []
        for c in cs:
            ps = [s.get("peak_rss_mb") for s in (c.get("stages") or {}).values()]
            ps = [p for p in ps if p is not None]
            if ps:
                peaks.append(max(ps))
        rows.append(
            Row(
                study,
                tier,
                method,
                METHODS.get(method, (method, ""))[0],
                [c["seed"] for c in cs],
                stats,
                over,
                _mean_of(cs, ("stages", "train", "seconds")),
                float(np.median(peaks)) if peaks else None,
                _mean_of(cs, ("stages", "eval", "seconds")),
                {"samples_per_s": _mean_of(cs, ("train", "samples_per_s"))},
            )  # fmt: skip
        )
    return rows
