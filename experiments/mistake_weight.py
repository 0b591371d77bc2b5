"""How much of each method's training weight lands on the teacher's mistaken calls.

A call-level method (:mod:`agents.calllevel`) can only beat a trajectory-weighted one (RW, RL)
by the calls it weights differently. The datasets tag every call the teacher got wrong (step
info ``mistake``); this script measures, on one dataset, the share of the total training
weight that falls on those calls:

- for the paper's trajectory weightings (S: every call 1; RL: ``r >= 4``; RW: ``max(r - 3, 0)``),
  from the data alone;
- in the trajectories RL keeps (``r >= 4``), the mean ``r`` of those with a mistake against
  those without (what a mistake a trajectory weight cannot drop costs);
- with ``--critic``, the critic's step-level diagnostics (the same-state ranking of
  :func:`agents.calllevel.diagnostics.diagnose`: re-diagnoses any saved critic), and for the
  call-level method that critic belongs to (its weights of each
  call's advantage, :func:`agents.calllevel.training.row_weights`), and, inside the
  trajectories RL keeps (``r >= 4``: the mistakes a trajectory weight cannot drop), the mean
  weight of a mistaken call against a correct one; and whether the critic prefers, among
  correct calls, the strength nearest the solved one (the teacher jitters every strength).

Where RW already puts a few percent of its weight on mistaken calls, dropping mistakes moves at
most those few percent of it; what else a critic can add lies in how it weights correct calls
against each other (a jittered strength nearer the solved one, say). Usage::

    python -m experiments.mistake_weight image-styling/simple-v0
    python -m experiments.mistake_weight image-styling/simple-v0 --critic runs/paper/cells/main/simple/awac/seed0/critic.pt
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import spearmanr

from styling_env.actions import STOP

__all__ = ["main", "measure"]

#: Trajectory weightings measured from the data alone.
TRAJECTORY = ("s", "rl", "rw")


def _records(ds: Any, dataset: str, episodes: int | None) -> list[Any]:
    from offline_data import dataset as D

    if episodes is not None and episodes > ds.total_episodes:
        raise ValueError(f"--episodes {episodes}: {dataset!r} holds {ds.total_episodes} episodes")
    return list(D.episodes(ds, None if episodes is None else range(episodes)))


def _tags(records: Sequence[Any]) -> list[list[str]]:
    """Per episode, the mistake tag of each call, read per state (``""``: correct;
    :func:`agents.calllevel.diagnostics.mistake_tags`)."""
    from agents.calllevel.diagnostics import mistake_tags

    out = []
    for rec in records:
        tags = mistake_tags(rec)
        if tags is None:
            raise ValueError(
                f"episode {rec.id} carries no mistake tags (step info 'mistake'): this dataset "
                "was not written by the noisy-oracle teacher, so its mistakes are unknown"
            )
        out.append(tags)
    return out


def _critic_weights(
    ds: Any, dataset: str, records: list[Any], episodes: int | None, critic_path: str
) -> tuple[str, np.ndarray, dict[str, Any], dict[str, Any]]:
    """(the critic's algorithm, each call's weight in that algorithm's extraction, how its
    advantage follows a correct call's strength (:func:`_strength_rank`), its step-level
    diagnostics (:func:`agents.calllevel.diagnostics.diagnose`, the same-state pairs included))."""
    from agents.calllevel.critic import load_critic
    from agents.calllevel.diagnostics import diagnose, step_labels
    from agents.calllevel.training import ALGORITHMS, row_advantages, row_weights
    from agents.embedded.training import prepare
    from offline_data import dataset as D

    checksum = D.info(ds).get("checksum") or dataset
    key = checksum if episodes is None else f"{checksum}:first{episodes}"
    critic = load_critic(critic_path, dataset_checksum=key)  # another dataset's: a named error
    sibling = Path(critic_path).with_name("critic_target.pt")
    target = load_critic(sibling, dataset_checksum=key) if sibling.is_file() else critic
    algo = str(critic.meta.get("algorithm", ""))
    if algo not in ALGORITHMS:
        raise ValueError(f"critic {critic_path!r} names no known algorithm ({algo!r})")
    if not isinstance(critic.meta.get("config"), dict):
        raise ValueError(f"critic {critic_path!r} records no config of its run (meta 'config')")
    mod = ALGORITHMS[algo]
    config_cls = next(getattr(mod, n) for n in mod.__all__ if n.endswith("Config"))
    config = config_cls.from_dict(critic.meta["config"])
    d = prepare(records, critic.planner_config)
    labels = step_labels(records, d)  # the rows line up with the records' calls
    adv = row_advantages(critic, target, d, config)
    diag = diagnose(adv, labels, target=target, d=d)
    return algo, row_weights(adv, d, config).numpy(), _strength_rank(adv.numpy(), labels, d), diag


def _strength_rank(adv: np.ndarray, labels: Any, d: Any) -> dict[str, Any]:
    """Among the correct calls that are the oracle's call from their state (same tool and
    value), whose strengths differ from the solved one only by the teacher's jitter: the rank
    correlation (Spearman) of the advantage with the strength's error ``|log(s / s*)|``, and
    the mean advantage of the quarter nearest the solved strength and of the farthest."""
    rows = d.rows
    same = (labels.oracle["tool"] == rows.tool) & (labels.oracle["value"] == rows.value)
    ok = (np.asarray(labels.mistake) == "") & same.numpy() & (rows.tool.numpy() < STOP)
    s = rows.strength.reshape(-1).numpy()[ok].astype(np.float64)
    star = labels.oracle["strength"].numpy()[ok].astype(np.float64)
    err = np.abs(np.log(np.maximum(s, 1e-3) / np.maximum(star, 1e-3)))
    a = adv[ok]
    if a.size < 4:
        return {"calls": int(a.size)}
    rho = float(spearmanr(a, err).statistic)  # ties (strengths are rounded) share a rank
    lo, hi = np.quantile(err, [0.25, 0.75])
    return {
        "calls": int(a.size),
        "median_log_error": round(float(np.median(err)), 4),
        "spearman": round(rho, 4),
        "mean_advantage_nearest_quarter": _mean(a[err <= lo]),
        "mean_advantage_farthest_quarter": _mean(a[err >= hi]),
    }


def measure(dataset: str, critic: str | None = None, episodes: int | None = None) -> dict[str, Any]:
    """The shares of the module docstring for ``dataset`` (its first ``episodes``)."""
    from agents.calllevel.diagnostics import mistake_shares
    from offline_data import dataset as D
    from offline_data.weights import sample_weights

    ds = D.load(dataset)
    records = _records(ds, dataset, episodes)
    per_episode = _tags(records)
    tags = np.asarray([t for ep in per_episode for t in ep])
    wrong = tags != ""
    ep_r = np.asarray([float(rec.meta["r"]) for rec in records])
    r = np.repeat(ep_r, [len(ep) for ep in per_episode])  # each call's trajectory r
    ep_wrong = np.asarray([any(ep) for ep in per_episode])
    ep_kept = ep_r >= 4.0
    out: dict[str, Any] = {
        "dataset": dataset,
        "calls": int(len(tags)),
        "mistaken_calls": int(wrong.sum()),
        # what a mistake costs in the trajectories a trajectory weight keeps
        "episodes_r4": {
            "clean": int((ep_kept & ~ep_wrong).sum()),
            "clean_mean_r": _mean(ep_r[ep_kept & ~ep_wrong]),
            "with_mistake": int((ep_kept & ep_wrong).sum()),
            "with_mistake_mean_r": _mean(ep_r[ep_kept & ep_wrong]),
        },
        "weights": {},
    }
    each = {m.upper(): sample_weights(m, r) for m in TRAJECTORY}
    if critic is not None:
        algo, w, out["strength"], out["critic"] = _critic_weights(
            ds, dataset, records, episodes, critic
        )
        each[algo.upper()] = w
        kept = r >= 4.0
        out["inside_r4"] = {
            "mistaken_calls": int((kept & wrong).sum()),
            "mean_weight_mistaken": _mean(w[kept & wrong]),
            "mean_weight_correct": _mean(w[kept & ~wrong]),
        }
    for name, w in each.items():
        shares = mistake_shares(tags, np.asarray(w, dtype=np.float64))
        out["weights"][name] = {
            "share": shares["share"],
            "kept": round(float((w > 0).mean()), 4),
            "by_kind": shares["by_kind"],
        }
    return out


def _mean(x: np.ndarray) -> float | None:
    return round(float(x.mean()), 4) if x.size else None


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def markdown(res: dict[str, Any]) -> str:
    """The measurement as a markdown table and a line on the calls inside ``r >= 4``."""
    kinds = sorted({k for w in res["weights"].values() for k in w["by_kind"]})
    head = ["weighting", "calls kept", "weight on mistaken calls", *(k.replace("_", " ") for k in kinds)]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for name, w in res["weights"].items():
        row = [name, _pct(w["kept"]), _pct(w["share"]), *(_pct(w["by_kind"].get(k)) for k in kinds)]  # fmt: skip
        lines.append("| " + " | ".join(row) + " |")
    text = (
        f"{res['dataset']}: {res['calls']:,} calls, {res['mistaken_calls']:,} of them mistaken\n\n"
        + "\n".join(lines)
        + "\n"
    )
    e = res["episodes_r4"]
    text += (
        f"\nTrajectories with r >= 4: {e['clean']:,} without a mistake (mean r "
        f"{_num(e['clean_mean_r'])}), {e['with_mistake']:,} with one (mean r "
        f"{_num(e['with_mistake_mean_r'])})\n"
    )
    inside = res.get("inside_r4")
    if inside:
        text += (
            f"Inside them ({inside['mistaken_calls']:,} mistaken calls), the critic's weight of a "
            f"mistaken call: {_num(inside['mean_weight_mistaken'])} on average, of a correct "
            f"one: {_num(inside['mean_weight_correct'])}\n"
        )
    diag = res.get("critic")
    if diag and diag.get("pairs"):
        kinds = ", ".join(
            f"{k.replace('_', ' ')} {_pct(e.get('pair_ranking'))} of {e.get('pairs', 0):,}"
            for k, e in diag["by_kind"].items()
        )
        text += (
            f"Same state: the oracle's call above the mistaken one in "
            f"{_pct(diag['pair_ranking'])} of {diag['pairs']:,} pairs ({kinds}); mistaken calls "
            f"with A < 0: {_pct(diag['mistaken_negative'])}, correct calls with A > 0: "
            f"{_pct(diag['correct_positive'])}\n"
        )
    st = res.get("strength")
    if st and "spearman" in st:
        text += (
            f"Correct calls that are the oracle's call ({st['calls']:,}; median strength error "
            f"|log(s / s*)| {_num(st['median_log_error'])}): rank correlation of the advantage "
            f"with that error {_num(st['spearman'])}; mean advantage of the nearest quarter "
            f"{_num(st['mean_advantage_nearest_quarter'])}, of the farthest "
            f"{_num(st['mean_advantage_farthest_quarter'])}\n"
        )
    return text


def _num(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f}"


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m experiments.mistake_weight", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("dataset", help="dataset id (e.g. image-styling/simple-v0)")
    p.add_argument("--critic", help="a call-level run's critic.pt fitted on this dataset")
    p.add_argument("--episodes", type=int, help="only the first N episodes (as the critic's run)")
    p.add_argument("--json", type=Path, help="also write the measurement here")
    a = p.parse_args(argv)
    if a.episodes is not None and a.episodes < 1:
        p.error(f"--episodes must be >= 1, got {a.episodes}")
    from offline_data.errors import DatasetError
    from offline_data.safety import atomic_write, output_file

    try:
        if a.json is not None:  # checked before the measurement, not after it
            output_file(a.json, "--json")
        res = measure(a.dataset, a.critic, a.episodes)
        print(markdown(res), end="")
        if a.json is not None:
            text = json.dumps(res, indent=1)
            atomic_write(a.json, lambda tmp: tmp.write_text(text))
    except (ValueError, OSError, DatasetError) as e:  # the critic's mismatch too
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
