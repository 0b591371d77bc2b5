"""The benchmark's report, built from ``results.json`` alone: tables, plots, filmstrips, HTML.

    python -m experiments.report runs/benchmark/paper/results.json [--out DIR] [--docs docs/results]

Writes into ``--out`` (default: the results' folder) ``tables.md`` (per tier: the six scores
and overall per method, mean ± 95% CI; the normalized score; the planning metrics; training
time and memory), ``plots/*.png`` (normalized score per method per tier with CIs; score vs
dataset size; score vs dataset quality; learning curves), ``filmstrips/*.png`` and
``report.html``: one self-contained file (with, when the cells were evaluated on it, the
free-text column: each method's normalized score on held-out templates beside the free-text
set, and the free-text target) with every image inlined. ``--docs`` also copies
the markdown and the small PNGs there (what ``docs/results/`` holds in the repository).

Statistics: a method's score on a tier is the mean over its seeds of each seed's mean over
the test episodes; the 95% CI is Student's t over the seed means when there are two seeds or
more (the variation that matters when comparing training methods), else over the episodes
(marked ``ep``). Normalized scores are ``100 * (overall - random) / (oracle - random)`` with
the random-plan and oracle means measured on the same tasks (0 = random, 100 = oracle).

Plots and filmstrips (stored episodes replayed in the environment, so they need no model) are
drawn by :mod:`experiments.report_figures`.
"""

from __future__ import annotations

import argparse
import base64
import html
import io
import json
import math
import shutil
import sys
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agents import registry
from agents.registry import METHODS
from offline_data.safety import output_folder
from styling_env.judge import SCORE_NAMES
from styling_env.tasks import TIERS

from .checks import BadFileError, check_results, read_json
from .report_figures import (
    Frame,
    filmstrip_png,
    main_tiers,
    pick,
    plot_curves,
    plot_dimensions,
    plot_normalized,
    plot_study,
    replay,
)
from .report_rows import SHORT, Row, _ci, aggregate
from .samples import samples_note

# --------------------------------------------------------------------------------------------
# Tables


def _md_table(header: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in body]
    return "\n".join(lines)


def _norm_cell(r: Row) -> str:
    m, lo, hi = r.stats["normalized"]
    return f"{m:.1f} [{lo:.1f}, {hi:.1f}]" if hi > lo else f"{m:.1f}"


def score_table(rows: Sequence[Row], tier: str, study: str = "main") -> str:
    """The paper-style table of one tier: six scores + overall (mean ± CI half-width),
    normalized score [95% CI], seeds."""
    body = []
    for r in rows:
        if r.tier != tier or r.study != study:
            continue
        body.append(
            [
                r.label,
                *(r.fmt(k) for k in SCORE_NAMES),
                f"**{r.fmt('overall')}**",
                _norm_cell(r),
                f"{len(r.seeds)}{'' if r.ci_over == 'seeds' else ' (ep)'}",
            ]  # fmt: skip
        )
    return _md_table(
        ["method", *(SHORT[k] for k in SCORE_NAMES), "overall", "normalized [95% CI]", "seeds"],
        body,
    )


def planning_table(rows: Sequence[Row], tier: str, study: str = "main") -> str:
    """Planning metrics against the oracle plan, steps, invalid calls, cost."""
    body = []
    for r in rows:
        if r.tier != tier or r.study != study:
            continue
        t = f"{r.train_seconds:.0f}" if r.train_seconds is not None else "–"
        mem = f"{r.peak_rss_mb / 1024:.1f}" if r.peak_rss_mb is not None else "–"
        ev = f"{r.eval_seconds:.0f}" if r.eval_seconds is not None else "–"
        body.append(
            [
                r.label,
                *(r.fmt(k, 2) for k in ("precision", "recall", "f1", "iou", "spearman")),
                r.fmt("steps", 2),
                r.fmt("invalid_calls", 2),
                t,
                ev,
                mem,
            ]  # fmt: skip
        )
    return _md_table(
        [
            "method",
            "precision",
            "recall",
            "F1",
            "IoU",
            "Spearman",
            "steps",
            "invalid",
            "train s",
            "eval s",
            "peak GB",
        ],  # fmt: skip
        body,
    )


def study_table(rows: Sequence[Row], prefix: str) -> str:
    body = []
    for r in rows:
        if r.study.startswith(prefix):
            body.append([r.study.split("-", 1)[1], r.label, r.fmt("overall"), _norm_cell(r)])
    return _md_table([prefix, "method", "overall", "normalized"], body) if body else ""


#: Quality target: the best offline method's normalized score per tier on held-out templates.
QUALITY_TARGETS: Mapping[str, float] = {"simple": 90.0, "regular": 85.0, "complex": 80.0}
#: ... and its margin over the teacher's mean (normalized points, with the CIs apart).
TEACHER_MARGIN = 5.0
#: Complex: the best offline method breaks a constraint in at most this share of episodes.
MAX_VIOLATED = 0.10
#: A trained cell's training stage at most this long, its process peak at most this much.
MAX_TRAIN_SECONDS = 600.0
MAX_PEAK_MB = 8192.0


def call_level_methods() -> tuple[str, ...]:
    """The call-level methods on the embedded planner with images (IQL, CQL, AWAC): trained by
    :mod:`agents.calllevel`, not text-only."""
    out = []
    for m in registry.names():
        spec = registry.get(m)
        text_only = dict(spec.defaults or {}).get("planner", {}).get("text_only", False)
        if spec.kind == "embedded" and (spec.trainer or "").startswith("agents.calllevel") and not text_only:  # fmt: skip
            out.append(m)
    return tuple(out)


def best_offline_method(rows: Sequence[Row], tier: str) -> str | None:
    """The offline method (trained on the tier's dataset) with the highest mean normalized
    score on ``tier`` in the main study; None when the rows have none."""
    by = {r.method: r for r in rows if r.study == "main" and r.tier == tier}
    offline = [
        m
        for m in registry.names()
        if registry.get(m).trainable and registry.get(m).needs_dataset and m in by
    ]
    return max(offline, key=lambda m: by[m].stats["normalized"][0]) if offline else None


def targets_table(rows: Sequence[Row]) -> str:
    """The quality targets per tier of the main study, each with the numbers that
    decide it and a verdict; empty when the rows lack the methods a target needs. "Apart"
    means the two 95% CIs do not overlap."""
    by = {(r.tier, r.method): r for r in rows if r.study == "main"}
    tiers = [t for t in TIERS if (t, "s") in by]
    if not tiers:
        return ""

    def norm(t: str, m: str) -> tuple[float, float, float] | None:
        r = by.get((t, m))
        return r.stats["normalized"] if r is not None else None

    def verdict(ok: bool | None) -> str:
        return "–" if ok is None else ("met" if ok else "missed")

    keys = ("best", "margin", "rwsw", "teacher", "edit", "vision", "violated", "call", "call_te", "time")  # fmt: skip
    lines: dict[str, list[str]] = {k: [] for k in keys}
    apart_tiers = call_apart = 0
    calls = call_level_methods()
    for t in tiers:
        bm = best_offline_method(rows, t)
        assert bm is not None  # S is an offline method and this tier has it
        b, blo, _ = by[(t, bm)].stats["normalized"]
        goal = QUALITY_TARGETS.get(t)
        lines["best"].append(f"{METHODS[bm][0]} {b:.1f} vs {goal:.0f}: {verdict(b >= goal) if goal else '–'}")  # fmt: skip
        te = norm(t, "teacher")
        if te:
            ok = b - te[0] >= TEACHER_MARGIN and blo > te[2]
            state = "apart" if blo > te[2] else "overlap"
            lines["margin"].append(f"{b - te[0]:+.1f}, CIs {state}: {verdict(ok)}")
        else:
            lines["margin"].append("–")
        share = by[(t, bm)].stats.get("violated", (math.nan,) * 3)[0]
        if t == "complex" and not math.isnan(share):
            lines["violated"].append(f"{100 * share:.1f}%: {verdict(share <= MAX_VIOLATED)}")
        else:
            lines["violated"].append("–")
        rw = norm(t, "rw")
        found = [(norm(t, m), m) for m in calls if norm(t, m) is not None]
        if found and rw:
            (c, clo, _), cm = max(found, key=lambda x: x[0][0])  # type: ignore[index]
            apart = clo > rw[2]
            call_apart += apart
            lines["call"].append(f"{METHODS[cm][0]} {c - rw[0]:+.1f} over RW, CIs {'apart' if apart else 'overlap'}")  # fmt: skip
            lines["call_te"].append(f"{c:.1f} vs {te[0]:.1f}: {verdict(c > te[0])}" if te else "–")
        else:
            lines["call"].append("–")
            lines["call_te"].append("–")
        trained = [
            r for (tt, m), r in by.items()
            if tt == t and r.train_seconds is not None and m in METHODS and registry.get(m).trainable
        ]  # fmt: skip
        if trained:
            slow = max(trained, key=lambda r: r.train_seconds or 0.0)
            peak = max((r.peak_rss_mb or 0.0) for r in trained)
            ok = (slow.train_seconds or 0.0) <= MAX_TRAIN_SECONDS and peak <= MAX_PEAK_MB
            lines["time"].append(
                f"slowest {slow.label} {(slow.train_seconds or 0.0) / 60:.1f} min, peak "
                f"{peak / 1024:.1f} GB: {verdict(ok)}"
            )
        else:
            lines["time"].append("–")
        s = norm(t, "s")
        assert s is not None
        weighted = [(norm(t, m), m) for m in ("rw", "sw") if norm(t, m) is not None]
        if weighted:
            (w, wlo, _), wm = max(weighted, key=lambda x: x[0][0])  # type: ignore[index]
            apart = wlo > s[2]
            apart_tiers += apart
            lines["rwsw"].append(f"{METHODS[wm][0]} {w - s[0]:+.1f} over S, CIs {'apart' if apart else 'overlap'}")  # fmt: skip
            lines["teacher"].append(
                f"{METHODS[wm][0]} {w:.1f} vs {te[0]:.1f}: {verdict(w > te[0])}" if te else "–"
            )
        else:
            lines["rwsw"].append("–")
            lines["teacher"].append("–")
        e = norm(t, "edit-only")
        lines["edit"].append(f"{b - e[0]:+.1f}: {verdict(b - e[0] >= 10)}" if e else "–")
        txt = norm(t, "s-text")
        if txt:
            gap = s[0] - txt[0]
            state = "apart" if s[1] > txt[2] or s[2] < txt[1] else "overlap"
            lines["vision"].append(f"{gap:+.1f}, CIs {state}: {verdict(s[1] > txt[2])}")
        else:
            lines["vision"].append("–")
    head = ["quality target", *(t.capitalize() for t in tiers)]
    body = [
        ["best offline method >= 90 / 85 / 80", *lines["best"]],
        [f"... and above the teacher's mean by >= {TEACHER_MARGIN:.0f}, CIs apart", *lines["margin"]],
        [f"RW or SW above S, CIs apart (needed on 2 tiers; on {apart_tiers} here)", *lines["rwsw"]],
        ["... and above the teacher's mean", *lines["teacher"]],
        ["best offline method >= Edit-Only + 10", *lines["edit"]],
        ["vision (S) above text-only (S text-only), CIs apart", *lines["vision"]],
        [f"Complex: best offline method breaks a constraint in <= {100 * MAX_VIOLATED:.0f}% of episodes", *lines["violated"]],
        [f"a call-level method above RW, CIs apart (needed on 2 tiers; on {call_apart} here)", *lines["call"]],
        ["... and above the teacher's mean", *lines["call_te"]],
        [f"training <= {MAX_TRAIN_SECONDS / 60:.0f} min, peak <= {MAX_PEAK_MB / 1024:.0f} GB (as the cells ran)", *lines["time"]],
    ]  # fmt: skip
    return _md_table(head, body)


# --------------------------------------------------------------------------------------------
# The free-text set (requests written by hand in people's words, never trained on)

#: Free-text target: the best method on the free-text set scores within this many normalized
#: points of its own held-out-template score ...
FREE_GAP: float = 10.0
#: ... and at least this many points above Edit-Only on the free-text set.
FREE_ABOVE_EDIT: float = 25.0
FREE_NOTE = (
    "Normalized scores on the held-out-template test tasks and on the free-text set (requests "
    "written by hand in people's words, with their own specs and images; never trained on), "
    "each normalized by random plans and the oracle on the same tasks. Mean ± 95% CI "
    "half-width over seeds (one seed: over its episodes). The target: the best method on the "
    f"free-text set within {FREE_GAP:.0f} points of its held-out score and at least "
    f"{FREE_ABOVE_EDIT:.0f} above Edit-Only."
)


def free_scores(results: Mapping[str, Any]) -> dict[tuple[str, str], dict[str, tuple[float, float, float]]]:  # fmt: skip
    """(tier, method) -> ``{"test": (mean, lo, hi), "free": (mean, lo, hi)}``: normalized scores
    of the main study's cells evaluated on both sets (CI over seeds, or over one seed's
    episodes when the seeds agree or there is one)."""
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = defaultdict(list)
    for c in results.get("cells", []):
        if c.get("study") == "main" and "eval" in c and "eval_free" in c:
            groups[(c["tier"], c["method"])].append(c)
    out = {}
    for key, cs in groups.items():
        stats = {}
        for split, k in (("test", "eval"), ("free", "eval_free")):
            vals = [float(c[k]["normalized"]) for c in cs]
            if len(vals) >= 2 and np.ptp(vals) > 1e-6:
                stats[split] = _ci(vals)
            else:
                lo, hi = cs[0][k].get("normalized_ci", (vals[0], vals[0]))
                stats[split] = (float(np.mean(vals)), float(lo), float(hi))
        out[key] = stats
    return out


def _pm(stat: tuple[float, float, float]) -> str:
    m, lo, hi = stat
    return f"{m:.1f}" if hi - lo < 0.05 else f"{m:.1f} ± {(hi - lo) / 2:.1f}"


def free_target_table(scores: Mapping[tuple[str, str], Mapping[str, tuple[float, float, float]]]) -> str:  # fmt: skip
    """Per tier: the best trained method on held-out templates, its free-text score, its gap to
    its held-out score and its margin over Edit-Only, each with a verdict; empty without a
    trained method."""
    trained = {m for m in registry.names() if registry.get(m).trainable}
    tiers = [t for t in TIERS if any(k[0] == t and k[1] in trained for k in scores)]
    if not tiers:
        return ""
    best, gap, edit = [], [], []
    for t in tiers:
        cands = {m: v for (tt, m), v in scores.items() if tt == t and m in trained}
        # chosen on held-out templates, then read on free text (a max over the free-text
        # scores themselves would pick the winner on the test set)
        bm = max(cands, key=lambda m: cands[m]["test"][0])
        f, h = cands[bm]["free"][0], cands[bm]["test"][0]
        best.append(f"{METHODS[bm][0]} {f:.1f} (held-out {h:.1f})")
        gap.append(f"{f - h:+.1f}: {'met' if f >= h - FREE_GAP else 'missed'}")
        e = scores.get((t, "edit-only"))
        edit.append(f"{f - e['free'][0]:+.1f}: {'met' if f - e['free'][0] >= FREE_ABOVE_EDIT else 'missed'}" if e else "–")  # fmt: skip
    body = [
        ["best trained method (held-out templates), on free text", *best],
        [f"free text within {FREE_GAP:.0f} of its held-out score", *gap],
        [f"free text >= Edit-Only + {FREE_ABOVE_EDIT:.0f}", *edit],
    ]
    return _md_table(["free-text target", *(t.capitalize() for t in tiers)], body)


def free_table(scores: Mapping[tuple[str, str], Mapping[str, tuple[float, float, float]]], tier: str) -> str:  # fmt: skip
    """One tier: per method, normalized on held-out templates, on free text, and the gap."""
    order = {m: i for i, m in enumerate(METHODS)}
    methods = sorted((m for t, m in scores if t == tier), key=lambda m: order.get(m, 99))
    body = [
        [METHODS.get(m, (m, ""))[0], _pm(scores[(tier, m)]["test"]), _pm(scores[(tier, m)]["free"]),
         f"{scores[(tier, m)]['free'][0] - scores[(tier, m)]['test'][0]:+.1f}"]
        for m in methods
    ]  # fmt: skip
    return _md_table(["method", "held-out templates", "free text", "free − held-out"], body)


def free_sections(results: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(title, markdown table) pairs of the free-text column: the target, then one per tier;
    empty when no cell was evaluated on the free-text set."""
    scores = free_scores(results)
    if not scores:
        return []
    out = []
    target = free_target_table(scores)
    if target:
        out.append(("Free-text target", target))
    for t in TIERS:
        if any(k[0] == t for k in scores):
            out.append(
                (f"{t.capitalize()}: held-out templates vs free text", free_table(scores, t))
            )
    return out


def free_markdown(results: Mapping[str, Any]) -> str:
    """The free-text section of ``tables.md`` ("" without free-text results)."""
    sections = free_sections(results)
    if not sections:
        return ""
    out = ["## Free-text requests", "", FREE_NOTE]
    for title, table in sections:
        out += ["", f"### {title}", "", table]
    return "\n".join(out)


def free_html(results: Mapping[str, Any]) -> list[str]:
    """The free-text section of ``report.html`` (nothing without free-text results)."""
    sections = free_sections(results)
    if not sections:
        return []
    parts = ["<h2>Free-text requests</h2>", f"<p class='note'>{_e(FREE_NOTE)}</p>"]
    for title, table in sections:
        parts += [f"<h3>{_e(title)}</h3>", _md_to_html_table(table)]
    return parts


def _compute_minutes(results: Mapping[str, Any]) -> float:
    return (
        sum(
            st.get("seconds", 0.0)
            for c in results["cells"]
            for st in (c.get("stages") or {}).values()
        )
        / 60.0
    )


def _threads_note(results: Mapping[str, Any]) -> str:
    """Which torch thread counts the cells' times were measured at (they compare only within
    one count)."""
    counts: dict[str, int] = {}
    for c in results["cells"]:
        t = c.get("torch_threads")
        key = f"{t} torch thread{'s' if t != 1 else ''}" if t else "an unrecorded thread count"
        counts[key] = counts.get(key, 0) + 1
    if len(counts) <= 1:
        return f" Times measured at {next(iter(counts), 'an unrecorded thread count')}."
    return " Times measured at " + ", ".join(f"{k} ({n} cells)" for k, n in sorted(counts.items())) + "."  # fmt: skip


def judge_note(results: Mapping[str, Any]) -> str:
    """Which judge version scored the cells (cells from before the field: judge v1)."""
    versions = sorted({int(c.get("judge_version", 1)) for c in results["cells"]})
    return f"Scored by judge v{', v'.join(map(str, versions)) or '?'}."


def diagnostics_table(results: Mapping[str, Any], run: Path) -> str:
    """The call-level critics' step-level diagnostics (``diagnostics.json`` in each main-study
    cell folder under ``run``): per tier and method, the share of the teacher's mistaken calls
    with a negative advantage, of correct calls with a positive one, and of mistaken calls
    ranked below the oracle's call from the same state (mean over seeds; "tags as stored" by the
    count of diagnostics older than the tags' per-state reading); the kind the critic ranks
    worst from the same state (diagnostics with per-kind rankings). "" when no cell has any."""
    keys = ("mistaken_negative", "correct_positive", "pair_ranking")
    found: dict[tuple[str, str], list[Mapping[str, Any]]] = defaultdict(list)
    for c in results["cells"]:
        if c.get("study") != "main":
            continue
        folder = run.joinpath("cells", c["study"], c["tier"], c["method"], f"seed{c['seed']}")
        path = folder / "diagnostics.json"
        d = c.get("diagnostics")
        if d is None and path.is_file():
            try:
                d = read_json(path, "critic diagnostics file")
            except BadFileError as e:  # the table leaves that cell out, and says so
                print(f"warning: {e}; left out of the call-level critics' table", file=sys.stderr)
        if isinstance(d, Mapping):
            found[(c["tier"], c["method"])].append(d)
    if not found:
        return ""
    order = {m: i for i, m in enumerate(METHODS)}
    tiers = {t: i for i, t in enumerate(("simple", "regular", "complex"))}
    body = []
    for (tier, method), ds in sorted(found.items(), key=lambda kv: (tiers.get(kv[0][0], 9), order.get(kv[0][1], 99))):  # fmt: skip
        stored = any("tags" not in d for d in ds)  # written before the per-state reading
        cells = [
            tier,
            METHODS.get(method, (method, ""))[0],
            str(len(ds)),
            str(ds[0].get("mistaken_calls", "")) + (" (tags as stored)" if stored else ""),
        ]
        for k in keys:
            vals = [float(d[k]) for d in ds if d.get(k) is not None]
            cells.append(f"{100 * float(np.mean(vals)):.0f}%" if vals else "–")
        cells.append(_weakest_kind(ds))
        cells.append(_mistaken_weight(ds))
        body.append(cells)
    header = ["tier", "method", "seeds", "mistaken calls", "mistaken: A < 0", "correct: A > 0",
              "same state: mistaken < oracle's call", "worst-ranked kind (same state)",
              "training weight on mistaken calls: method / RW / S"]  # fmt: skip
    return _md_table(header, body)


def _weakest_kind(ds: Sequence[Mapping[str, Any]]) -> str:
    """The mistake kind with the lowest same-state pair ranking (mean over the seeds that have
    per-kind rankings), as "wrong order: 59% of 190 pairs"; "–" when none has them."""
    shares: dict[str, list[float]] = defaultdict(list)
    pairs: dict[str, list[int]] = defaultdict(list)
    for d in ds:
        for kind, v in (d.get("by_kind") or {}).items():
            if isinstance(v, Mapping) and v.get("pair_ranking") is not None and v.get("pairs"):
                shares[kind].append(float(v["pair_ranking"]))
                pairs[kind].append(int(v["pairs"]))
    if not shares:
        return "–"
    kind = min(shares, key=lambda k: (float(np.mean(shares[k])), k))
    n = round(float(np.mean(pairs[kind])))
    return f"{kind.replace('_', ' ')}: {100 * float(np.mean(shares[kind])):.0f}% of {n} pairs"


def _mistaken_weight(ds: Sequence[Mapping[str, Any]]) -> str:
    """The share of the training weight on mistaken calls, the method's own beside RW's and S's
    on the same data (mean over the seeds that have it), as "3.1% / 3.2% / 13.5%"; "–" when
    none has it."""
    found = [d["weight_on_mistaken"] for d in ds if isinstance(d.get("weight_on_mistaken"), Mapping)]  # fmt: skip
    vals = [[float(w[k]) for w in found if w.get(k) is not None] for k in ("method", "rw", "s")]
    parts = [f"{100 * float(np.mean(v)):.1f}%" if v else "–" for v in vals]
    return " / ".join(parts) if found else "–"


DIAGNOSTICS_NOTE = (
    "Does the critic tell the teacher's mistaken calls (the dataset's tags, read per state) from "
    "its correct ones? The share of mistaken calls with a negative advantage A = Q - V, of "
    "correct calls with a positive one, and of mistaken calls whose Q is below that of the "
    "oracle's call from the same state (target: 80%). Mean over seeds. The last column is how "
    "much a critic can add: the share of the method's total training weight on the teacher's "
    "mistaken calls, beside RW's and S's on the same calls (RW's trajectory weight already "
    "leaves out most episodes that hold a mistake)."
)


#: The methods shown beside the best offline one in "Where the planner loses", for reference.
LOSS_REFERENCES: tuple[str, ...] = ("teacher", "edit-only")


def loss_tables(results: Mapping[str, Any], rows: Sequence[Row]) -> dict[str, tuple[str, str]]:
    """Per tier of the main study: the best offline method (:func:`best_offline_method`) and
    its per-target error breakdown beside :data:`LOSS_REFERENCES` as a markdown table
    (:func:`experiments.breakdown.loss_section`); tiers without a table are left out."""
    from .breakdown import loss_section

    picks = {}
    for t in main_tiers(rows):
        best = best_offline_method(rows, t)
        if best is not None:
            picks[t] = [best, *(m for m in LOSS_REFERENCES if m != best)]
    tables = loss_section(results, picks)
    return {t: (METHODS.get(picks[t][0], (picks[t][0],))[0], md) for t, md in tables.items()}


def loss_markdown(loss: Mapping[str, tuple[str, str]]) -> str:
    """The "Where the planner loses" section of ``tables.md`` ("" without tables)."""
    from .breakdown import NOTE

    if not loss:
        return ""
    out = ["", "## Where the planner loses", "", NOTE]
    for t, (best, md) in loss.items():
        out += ["", f"### {t.capitalize()} (best offline method: {best})", "", md]
    return "\n".join(out) + "\n"


def tables_markdown(results: Mapping[str, Any], rows: Sequence[Row]) -> str:
    preset = results.get("preset", {})
    tiers = [
        t for t in preset.get("tiers", []) if any(r.tier == t and r.study == "main" for r in rows)
    ]
    out = [
        "# Benchmark results",
        "",
        f"Preset: {preset.get('tiers')} x {len(preset.get('methods', []))} methods x "
        f"{preset.get('seeds')} seeds, {preset.get('episodes')} episodes per dataset at "
        f"{preset.get('image_size')} px, {preset.get('eval_tasks')} held-out test tasks per "
        f"evaluation. {len(results['cells'])} cells; their stages (load, train, evaluate) took "
        f"{_compute_minutes(results):.0f} min in all."
        + _threads_note(results)
        + " "
        + judge_note(results)
        + samples_note(results),
        "",
        "Scores 0–100: IF instruction following, VQ visual quality, TS transformation strength, "
        "Coh coherence, SA semantic accuracy, TE technical execution; overall = their mean. "
        "Mean ± 95% CI half-width over seeds; where marked ep, over the test episodes of one "
        "seed (a single seed, or a deterministic agent that scores alike on every seed). "
        "Normalized: 0 = random plans, 100 = oracle. train s and eval s: mean over seeds; peak "
        "GB: the process's resident peak while the cell ran (the tier's loaded data included), "
        "median over seeds.",
    ]
    targets = targets_table(rows)
    if targets:
        out += ["", "## Quality targets", "", targets]
    for t in tiers:
        out += ["", f"## {t.capitalize()}", "", score_table(rows, t), "", planning_table(rows, t)]
    for prefix, title in (
        ("size", "Score vs dataset size"),
        ("quality", "Score vs dataset quality"),
    ):
        tab = study_table(rows, prefix)
        if tab:
            out += ["", f"## {title} ({preset.get('study_tier')})", "", tab]
    free = free_markdown(results)
    if free:
        out += ["", free]
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------------------
# HTML


def _b64_png(array_or_path: Any) -> str:
    from PIL import Image

    if isinstance(array_or_path, str | Path):
        data = Path(array_or_path).read_bytes()
    else:
        buf = io.BytesIO()
        Image.fromarray(array_or_path).save(buf, format="PNG")
        data = buf.getvalue()
    return "data:image/png;base64," + base64.b64encode(data).decode()


def _md_to_html_table(md: str) -> str:
    lines = [ln for ln in md.strip().splitlines() if ln.startswith("|")]
    if len(lines) < 2:
        return ""
    cells = [[c.strip() for c in ln.strip("|").split("|")] for ln in lines]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cells[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c.replace('**', ''))}</td>" for c in row) + "</tr>"
        for row in cells[2:]
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1200px;color:#222;padding:0 16px}
h1{font-size:26px}h2{font-size:20px;margin-top:32px;border-bottom:1px solid #ddd}h3{font-size:16px}
table{border-collapse:collapse;font-size:13px;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 7px;text-align:right}
td:first-child,th:first-child{text-align:left}th{background:#f3f3f0}tr:nth-child(even){background:#fafaf8}
.strip{display:flex;gap:8px;overflow-x:auto;padding:6px 0 12px}.frame{width:150px;flex:none;font-size:11px}
.frame img{width:150px;height:150px;image-rendering:pixelated;border:1px solid #ccc}.frame b{display:block;color:#113;margin:3px 0}
.note{color:#666;font-size:13px}.case{margin:10px 0 2px;font-size:13px}
"""


def build(results_path: str | Path, out: str | Path | None = None, *, docs: str | Path | None = None,
          filmstrips: bool = True, seeds: Sequence[int] | None = None,
          docs_filmstrips: str = "*-rw-median.png") -> Path:  # fmt: skip
    """Build tables, plots, filmstrips and ``report.html`` from ``results_path``; returns the
    HTML path. ``docs``: also copy ``tables.md``, the plots and the filmstrips matching the glob
    ``docs_filmstrips`` there (all of them are ~0.2 MB each: a repository wants a few)."""
    results_path = Path(results_path)
    # a file of the wrong shape: a named error (FILE: not a benchmark results file (why))
    results = check_results(read_json(results_path, "results file"), results_path)
    if seeds is not None:  # e.g. a run still under way: report the seeds every cell has
        keep = {int(k) for k in seeds}
        results["cells"] = [c for c in results["cells"] if int(c["seed"]) in keep]
        if not results["cells"]:
            raise ValueError(f"no cells of seeds {sorted(keep)} in {results_path}")
    out = Path(out) if out is not None else results_path.parent
    (out / "plots").mkdir(parents=True, exist_ok=True)
    rows = aggregate(results)
    preset = results.get("preset", {})
    md = tables_markdown(results, rows)
    diag = diagnostics_table(results, results_path.parent)
    if diag:
        md += f"\n## Call-level critics: step-level diagnostics\n\n{DIAGNOSTICS_NOTE}\n\n{diag}\n"
    loss = loss_tables(results, rows)
    md += loss_markdown(loss)
    (out / "tables.md").write_text(md)
    plots = {
        "normalized": plot_normalized(rows, out / "plots" / "normalized.png"),
        "dimensions": plot_dimensions(rows, out / "plots" / "dimensions.png"),
    }
    for prefix in ("size", "quality"):
        p = plot_study(rows, prefix, preset, out / "plots" / f"{prefix}.png")
        if p:
            plots[prefix] = p
    c = plot_curves(results, out / "plots" / "curves.png")
    if c:
        plots["curves"] = c
    strips: list[tuple[str, str, str, list[Frame], float, float, bool]] = []
    if filmstrips:
        want = preset.get("filmstrip_methods") or []
        size = int(preset.get("image_size", 128))
        n_tasks = int(preset.get("eval_tasks", 200))
        for cell in results["cells"]:
            if cell["study"] != "main" or cell["seed"] != 0 or cell["method"] not in want:
                continue
            if not cell.get("episodes"):
                continue
            for case, ep in pick(cell["episodes"]).items():
                frames, replayed, templated = replay(ep, cell["tier"], size, n_tasks)
                strips.append((cell["tier"], cell["method"], case, frames, ep["overall"], replayed, templated))  # fmt: skip
        for tier, method, case, frames, ov, _, _ in strips:
            filmstrip_png(frames, f"{tier} / {METHODS[method][0]} / {case} (overall {ov:.0f})",
                          out / "filmstrips" / f"{tier}-{method}-{case}.png")  # fmt: skip
    page = _html(results, rows, md, plots, strips, diag, loss)
    index = out / "report.html"
    index.write_text(page)
    if docs is not None:
        docs = Path(docs)
        (docs / "plots").mkdir(parents=True, exist_ok=True)
        shutil.copy(out / "tables.md", docs / "tables.md")
        for p in plots.values():
            shutil.copy(p, docs / "plots" / Path(p).name)
        fs = sorted((out / "filmstrips").glob(docs_filmstrips)) if (out / "filmstrips").exists() else []  # fmt: skip
        if fs:
            (docs / "filmstrips").mkdir(exist_ok=True)
            for p in fs:
                shutil.copy(p, docs / "filmstrips" / p.name)
    return index


def _e(x: Any) -> str:
    """Any value as escaped HTML text (results.json is input: none of it may become markup)."""
    return html.escape(str(x), quote=True)


def _loss_html(loss: Mapping[str, tuple[str, str]]) -> list[str]:
    """The "Where the planner loses" section of ``report.html`` (nothing without tables)."""
    from .breakdown import NOTE

    if not loss:
        return []
    parts = ["<h2>Where the planner loses</h2>", f"<p class='note'>{_e(NOTE)}</p>"]
    for t, (best, md) in loss.items():
        parts += [f"<h3>{_e(t.capitalize())} (best offline method: {_e(best)})</h3>",
                  _md_to_html_table(md)]  # fmt: skip
    return parts


def _html(results, rows, md, plots, strips, diag: str = "", loss=None) -> str:
    preset = results.get("preset", {})
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>ImageStyling benchmark</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>ImageStyling benchmark</h1>",
        f"<p class='note'>{html.escape(md.split(chr(10))[2])}</p>",
        "<p class='note'>Scores 0–100 from the pixel judge; overall = mean of the six. "
        "Mean ± 95% CI half-width over seeds (ep: over one seed's episodes). Normalized: 0 = random plans, "
        "100 = oracle, on the same held-out test tasks.</p>",
        f"<h2>Normalized score</h2><img src='{_b64_png(plots['normalized'])}' style='max-width:100%'>",
    ]
    targets = targets_table(rows)
    if targets:
        parts += ["<h2>Quality targets</h2>", _md_to_html_table(targets)]
    tiers = [
        t for t in preset.get("tiers", []) if any(r.tier == t and r.study == "main" for r in rows)
    ]
    for t in tiers:
        parts.append(f"<h2>{_e(str(t).capitalize())}</h2><h3>Scores</h3>")
        parts.append(_md_to_html_table(score_table(rows, t)))
        parts.append("<h3>Planning metrics and cost</h3>")
        parts.append(_md_to_html_table(planning_table(rows, t)))
    parts += free_html(results)
    parts += _loss_html(loss or {})
    if diag:
        parts += ["<h2>Call-level critics: step-level diagnostics</h2>",
                  f"<p class='note'>{_e(DIAGNOSTICS_NOTE)}</p>", _md_to_html_table(diag)]  # fmt: skip
    for key, title in (("dimensions", "The six scores per method"), ("size", "Score vs dataset size"),
                       ("quality", "Score vs dataset quality"), ("curves", "Learning curves")):  # fmt: skip
        if key in plots:
            parts.append(
                f"<h2>{_e(title)}</h2><img src='{_b64_png(plots[key])}' style='max-width:100%'>"
            )
            if key in ("size", "quality"):
                parts.append(_md_to_html_table(study_table(rows, key)))
    if strips:
        parts.append("<h2>Filmstrips</h2><p class='note'>Test episodes replayed from the results: "
                     "the source, the image after each call with its reason, and the oracle's "
                     "reference. Best, median and worst episode (by overall score) per method, "
                     "seed 0.</p>")  # fmt: skip
        for tier, method, case, frames, ov, replayed, templated in strips:
            note = (" — reasons written by the dataset's reason template for the policy's calls "
                    "(this policy emits calls, not text)") if templated else ""  # fmt: skip
            if abs(replayed - ov) > 0.5:
                note += f" — replay scored {replayed:.1f}"
            parts.append(
                f"<div class='case'><b>{_e(tier)} / {_e(METHODS[method][0])} / "
                f"{_e(case)}</b>: overall {ov:.1f}{_e(note)}</div><div class='strip'>"
            )
            for f in frames:
                parts.append(
                    f"<div class='frame'><img src='{_b64_png(f.image)}'><b>{_e(f.title)}</b>"
                    f"{_e(f.text)}</div>"
                )
            parts.append("</div>")
    timings = results.get("timings", {}).get("datasets", {})
    if timings:
        parts.append(
            "<h2>Datasets</h2><table><tr><th>dataset</th><th>episodes</th><th>checksum</th><th>ready in s</th></tr>"
        )
        for did, d in results.get("datasets", {}).items():
            t = timings.get(did, {}).get("seconds", "")
            parts.append(f"<tr><td>{_e(did)}</td><td>{_e(d.get('episodes'))}</td>"
                         f"<td>{_e(str(d.get('checksum'))[:12])}</td><td>{_e(t)}</td></tr>")  # fmt: skip
        parts.append("</table>")
    m = results.get("machine", {})
    parts.append(f"<p class='note'>Machine: {html.escape(json.dumps(m))}</p></body></html>")
    return "\n".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m experiments.report", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("results", type=Path)
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--docs", type=Path, default=None, help="also copy tables.md and PNGs there")
    p.add_argument("--no-filmstrips", action="store_true")
    p.add_argument(
        "--docs-filmstrips",
        default="*-rw-median.png",
        metavar="GLOB",
        help="filmstrips copied with --docs (default: RW's median episode per tier)",
    )
    p.add_argument("--seeds", type=int, nargs="+", default=None, help="report only these seeds")
    a = p.parse_args(argv)
    try:
        if a.out is not None or a.results.is_file():  # where the report goes: checked first
            output_folder(a.out if a.out is not None else a.results.parent, "--out")
        if a.docs is not None:
            output_folder(a.docs, "--docs")
        index = build(
            a.results, a.out, docs=a.docs, filmstrips=not a.no_filmstrips, seeds=a.seeds,
            docs_filmstrips=a.docs_filmstrips,
        )  # fmt: skip
    except (ValueError, OSError) as e:  # OSError: missing file, read-only or full --out
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"report: {index.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
