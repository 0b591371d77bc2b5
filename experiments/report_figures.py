"""The report's figures: plots of the aggregated rows (matplotlib, Agg) and filmstrips of
stored episodes replayed in the environment (:mod:`experiments.report` builds the report).

Filmstrips replay a stored episode's calls in the environment (the env is deterministic given
the task, the seed and the calls), so they need no model: source, the image after each call
with its reason, and the oracle's reference.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agents.evaluate import decode_call
from agents.registry import METHODS
from styling_env.judge import SCORE_NAMES
from styling_env.tasks import TIERS

from .report_rows import SHORT, Row

# --------------------------------------------------------------------------------------------
# Plots


def main_tiers(rows: Sequence[Row]) -> list[str]:
    """The tiers of the main study, in the order simple, regular, complex."""
    return [t for t in TIERS if any(r.tier == t and r.study == "main" for r in rows)]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(plt, fig, path: Path) -> Path:
    """Lay ``fig`` out, write it to ``path`` at 110 dpi and free it."""
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_normalized(rows: Sequence[Row], path: Path) -> Path:
    """Normalized score per method per tier, with 95% CIs."""
    plt = _plt()
    tiers = main_tiers(rows)
    methods = list(dict.fromkeys(r.method for r in rows if r.study == "main"))
    fig, ax = plt.subplots(figsize=(min(12.0, max(6.0, 0.8 * len(methods))), 4.0))
    width = 0.8 / max(1, len(tiers))
    for j, t in enumerate(tiers):
        xs, ms, errs = [], [], [[], []]
        for i, m in enumerate(methods):
            r = next((r for r in rows if r.study == "main" and r.tier == t and r.method == m), None)
            if r is None:
                continue
            mu, lo, hi = r.stats["normalized"]
            xs.append(i + (j - (len(tiers) - 1) / 2) * width)
            ms.append(mu)
            errs[0].append(mu - lo)
            errs[1].append(hi - mu)
        ax.bar(xs, ms, width, yerr=errs, capsize=2, label=t)
    ax.axhline(0, color="k", lw=0.6)
    ax.axhline(100, color="k", lw=0.6, ls="--")
    ax.set_xticks(range(len(methods)))
    ax.set_xticklabels(
        [METHODS.get(m, (m,))[0] for m in methods], rotation=35, ha="right", fontsize=8
    )
    ax.set_ylabel("normalized score (0 random, 100 oracle)")
    ax.legend(fontsize=8, ncol=len(tiers))
    ax.grid(axis="y", alpha=0.3)
    return _save(plt, fig, path)


def plot_dimensions(rows: Sequence[Row], path: Path) -> Path:
    """The six scores per method, one panel per tier: where each method gains or loses."""
    plt = _plt()
    tiers = main_tiers(rows)
    fig, axes = plt.subplots(len(tiers), 1, figsize=(9, 2.6 * len(tiers)), squeeze=False)
    for ax, t in zip(axes[:, 0], tiers, strict=True):
        rs = [r for r in rows if r.study == "main" and r.tier == t]
        width = 0.8 / len(SCORE_NAMES)
        for j, k in enumerate(SCORE_NAMES):
            xs = [i + (j - (len(SCORE_NAMES) - 1) / 2) * width for i in range(len(rs))]
            ax.bar(xs, [r.stats[k][0] for r in rs], width, label=SHORT[k])
        ax.set_xticks(range(len(rs)))
        ax.set_xticklabels([r.label for r in rs], rotation=30, ha="right", fontsize=7)
        ax.set_ylim(0, 100)
        ax.set_ylabel(f"{t}: score")
        ax.grid(axis="y", alpha=0.3)
    axes[0, 0].legend(fontsize=7, ncol=len(SCORE_NAMES), loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_study(
    rows: Sequence[Row], prefix: str, full: Mapping[str, Any], path: Path
) -> Path | None:
    """Normalized score vs dataset size (``size``) or teacher quality (``quality``)."""
    pts: dict[str, list[tuple[float, float, float, float]]] = defaultdict(list)
    for r in rows:
        if r.study.startswith(prefix + "-"):
            x = float(r.study.split("-", 1)[1])
            pts[r.method].append((x, *r.stats["normalized"]))
    if not pts:
        return None
    tier = full.get("study_tier", "simple")
    # the tier's own dataset is a point of each curve: the main study is the full size; the
    # size subset of the quality datasets' length is the default quality (the main teacher)
    from offline_data.teachers import TIER_CLEAN

    same = f"size-{full.get('quality_episodes')}"
    for r in rows:
        if r.tier != tier or r.method not in pts:
            continue
        if prefix == "size" and r.study == "main":
            pts[r.method].append((float(full["episodes"]), *r.stats["normalized"]))
        elif prefix == "quality" and (
            r.study == same or (r.study == "main" and r.method == "teacher")
        ):
            pts[r.method].append((TIER_CLEAN[tier], *r.stats["normalized"]))
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 3.4))
    for m, p in pts.items():
        p.sort()
        x = [a[0] for a in p]
        y = [a[1] for a in p]
        ax.errorbar(x, y, yerr=[[a[1] - a[2] for a in p], [a[3] - a[1] for a in p]], marker="o",
                    capsize=2, label=METHODS.get(m, (m,))[0])  # fmt: skip
    if prefix == "size":
        ax.set_xscale("log")
        ax.set_xlabel(f"training episodes ({tier})")
    else:
        ax.set_xlabel(f"teacher's mistake-free probability ({tier})")
    ax.set_ylabel("normalized score")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(plt, fig, path)


def plot_curves(results: Mapping[str, Any], path: Path) -> Path | None:
    """Training loss per method (seed 0, main study), one panel per tier."""
    cs = [c for c in results["cells"] if c["study"] == "main" and c["seed"] == 0 and c.get("curve")]
    if not cs:
        return None
    tiers = [t for t in TIERS if any(c["tier"] == t for c in cs)]
    plt = _plt()
    fig, axes = plt.subplots(1, len(tiers), figsize=(4.2 * len(tiers), 3.2), squeeze=False)
    for ax, t in zip(axes[0], tiers, strict=True):
        for c in cs:
            if c["tier"] != t:
                continue
            key = next((k for k in ("loss", "loss_dpo", "nll") if k in c["curve"][0]), None)
            key = key or next((k for k in c["curve"][0] if "loss" in k), None)
            if key is None:
                continue
            x = [p["step"] for p in c["curve"] if key in p]
            y = [p[key] for p in c["curve"] if key in p]
            ax.plot(x, y, label=f"{METHODS.get(c['method'], (c['method'],))[0]} ({key})", lw=1)
        ax.set_title(t)
        ax.set_xlabel("step")
        ax.set_ylabel("training loss")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    return _save(plt, fig, path)


# --------------------------------------------------------------------------------------------
# Filmstrips


@dataclass
class Frame:
    image: np.ndarray  # (H, W, 3) uint8
    title: str
    text: str = ""


def _words(call: Any) -> str:
    from styling_env.engine import Stop
    from styling_env.tools import ToolCall

    if isinstance(call, ToolCall):
        return f"{call.tool}: {call.value} @ {call.strength:.2f}" + (
            f" ({call.region})" if call.region != "all" else ""
        )
    return "STOP" if isinstance(call, Stop) else f"invalid: {getattr(call, 'error', call)}"


def replay(episode: Mapping[str, Any], tier: str, image_size: int, n_tasks: int) -> tuple[list[Frame], float, bool]:  # fmt: skip
    """Replay ``episode`` (a results episode) in the env: the source, the image after each
    call with its reason, and the oracle reference. Returns the frames, the replayed overall
    score and whether reasons were templated (the policy gave none)."""
    import gymnasium as gym

    import styling_env  # noqa: F401
    from offline_data.teachers import reason
    from styling_env.engine import Stop
    from styling_env.env import to_uint8
    from styling_env.tasks import test_tasks
    from styling_env.tools import ToolCall

    tasks = {t.task_id: t for t in test_tasks(tier, n_tasks)}
    task = tasks.get(episode["task_id"])
    if task is None:
        raise ValueError(
            f"task {episode['task_id']!r} is not among {tier}'s first {n_tasks} test tasks"
        )
    env = gym.make("ImageStyling-v0", tier=tier, image_size=image_size, split="test",
                   disable_env_checker=True)  # fmt: skip
    obs, info = env.reset(seed=int(episode.get("seed", 0)), options={"task": task})
    slot = env.unwrapped.slot
    frames = [Frame(to_uint8(slot.source), "source", episode["instruction"])]
    reasons = list(episode.get("reasons") or [])
    templated = not any(reasons)
    requested = {c.tool: c.value for c in slot.reference.plan}
    rng = np.random.default_rng(0)
    made: list[ToolCall] = []
    overall = float(info.get("overall", 0.0))
    for k, call in enumerate(episode["calls"]):
        a = decode_call(call)
        why = reasons[k] if k < len(reasons) and reasons[k] else ""
        if not why:
            why = reason(a, task, requested, obs["context"], len(made), rng, made)
        obs, _, term, trunc, info = env.step(a)
        overall = float(info["overall"])
        if not isinstance(a, Stop):
            frames.append(Frame(to_uint8(slot.image), f"{k + 1}. {_words(a)}", why))
        if isinstance(a, ToolCall):
            made.append(a)
        if term or trunc:
            break
    frames.append(
        Frame(
            to_uint8(slot.reference.image),
            "oracle reference",
            "; ".join(_words(c) for c in slot.reference.plan),
        )  # fmt: skip
    )
    env.close()
    return frames, overall, templated


def pick(episodes: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """The best, median and worst episode by overall score (ties: the first)."""
    order = sorted(range(len(episodes)), key=lambda i: episodes[i]["overall"])
    return {
        "best": episodes[order[-1]], "median": episodes[order[len(order) // 2]],
        "worst": episodes[order[0]],
    }  # fmt: skip


def filmstrip_png(frames: Sequence[Frame], header: str, path: Path, tile: int = 160) -> Path:
    """The frames side by side with their titles and wrapped reasons under each."""
    import textwrap

    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=10)
    head = ImageFont.load_default(size=12)
    wrap = max(16, tile // 6)
    texts = [textwrap.wrap(f.text, wrap)[:12] for f in frames]
    titles = [textwrap.wrap(f.title, wrap)[:3] for f in frames]
    text_h = 12 * (max(len(t) for t in titles) + max(len(t) for t in texts)) + 8
    pad = 6
    w = len(frames) * (tile + pad) + pad
    h = 22 + tile + text_h + pad
    sheet = Image.new("RGB", (w, h), (250, 250, 248))
    d = ImageDraw.Draw(sheet)
    d.text((pad, 4), header[:160], fill=(20, 20, 20), font=head)
    for i, f in enumerate(frames):
        x = pad + i * (tile + pad)
        sheet.paste(Image.fromarray(f.image).resize((tile, tile)), (x, 22))
        y = 22 + tile + 4
        for line in titles[i]:
            d.text((x, y), line, fill=(10, 10, 90), font=font)
            y += 12
        for line in texts[i]:
            d.text((x, y), line, fill=(60, 60, 60), font=font)
            y += 12
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)
    return path
