"""The per-target error breakdown: hand-built episodes whose outcome is known, played in the
env at 64 px and diagnosed; replays of records without measurements; the report's tables; the
command line and bad input."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from agents.evaluate import run_episodes
from experiments import breakdown as BD
from styling_env.oracle import oracle_plan
from styling_env.tasks import test_tasks
from styling_env.tools import ToolCall

SIZE = 64


def _task(tier: str, k: int):
    return test_tasks(tier, 12)[k]


def _play(tier: str, plays: list[tuple[int, list[ToolCall]]]) -> list[dict]:
    """Each ``(test task index, calls)`` played as one episode (calls, then STOP)."""
    tasks = [_task(tier, k) for k, _ in plays]
    stored = [
        {"task_id": t.task_id, "calls": [json.dumps(c.to_dict()) for c in calls] + ["STOP"]}
        for t, (_, calls) in zip(tasks, plays, strict=True)
    ]
    return run_episodes(BD.ReplayAgent(stored), tasks, tier=tier, image_size=SIZE, num_envs=8)


def _plan(tier: str, k: int, keep_preserve: bool = True) -> list[ToolCall]:
    plan = oracle_plan(_task(tier, k), SIZE)
    return plan if keep_preserve else [replace(c, params={}) for c in plan]


def _outcomes(d: BD.Diagnosis) -> dict[str, str]:
    return {t.tool: t.outcome for t in d.targets}


@pytest.fixture(scope="module")
def simple_eps():
    five = _plan("simple", 5)  # time_of_day dusk_twilight 0.9, color_grading neon_electric 0.78
    three = _plan("simple", 3)  # weather partly_cloudy 0.4, mood eerie_unsettling 0.53
    return _play("simple", [
        (5, five),
        (5, [five[0], replace(five[1], value="warm_sunset")]),  # a sibling value
        (5, [replace(c, strength=c.strength / 2) for c in five]),  # half strength
        (3, [replace(c, strength=min(1.0, c.strength * 1.8)) for c in three]),
        (5, [*five, ToolCall("season_cycle", "winter_bare", 0.6)]),  # one tool too many
    ])  # fmt: skip


@pytest.fixture(scope="module")
def regular_eps():
    plan = _plan("regular", 0)  # season_cycle, color_grading, artistic_medium
    return _play("regular", [(0, plan), (0, [c for c in plan if c.tool != "color_grading"])])


@pytest.fixture(scope="module")
def complex_eps():
    four = _plan("complex", 4)  # if ...: acrylic_painting, else gouache (artistic_medium)
    ten = _plan("complex", 10)  # if ...: mood soft_cozy, else nothing: the source asks nothing
    return _play("complex", [
        (4, four),
        (4, [c if c.tool != "artistic_medium" else replace(c, value="gouache") for c in four]),
        (10, ten),
        (10, [*ten, ToolCall("mood_lighting", "soft_cozy", 0.6)]),
        (9, _plan("complex", 9)),  # preserves the ground
        (9, _plan("complex", 9, keep_preserve=False)),  # ... and the same calls ignoring it
    ])  # fmt: skip


def test_the_oracle_plan_is_all_ok(simple_eps, regular_eps, complex_eps):
    for e in (simple_eps[0], regular_eps[0], complex_eps[0], complex_eps[2], complex_eps[4]):
        d = BD.diagnose(e)
        assert e["overall"] == pytest.approx(100.0)
        assert {t.outcome for t in d.targets} == {"ok"}
        assert all(t.error == pytest.approx(0.0, abs=1e-3) for t in d.targets)
        assert not d.extra_tools and not d.broken and not d.conditional_wrong_branch
        assert d.invalid == d.repeated == d.idle == 0


def test_a_missing_tool_is_tool_missed(regular_eps):
    d = BD.diagnose(regular_eps[1])
    assert _outcomes(d)["color_grading"] == "tool_missed"
    assert _outcomes(d)["season_cycle"] != "tool_missed"
    assert next(t for t in d.targets if t.tool == "color_grading").called == ()


def test_a_sibling_value_is_wrong_value_and_names_it(simple_eps):
    d = BD.diagnose(simple_eps[1])
    assert _outcomes(d) == {"time_of_day": "ok", "color_grading": "wrong_value"}
    wrong = next(t for t in d.targets if t.tool == "color_grading")
    assert wrong.called == ("warm_sunset",) and wrong.error is None


def test_half_strength_is_too_weak_and_more_is_too_strong(simple_eps):
    weak = BD.diagnose(simple_eps[2])
    assert set(_outcomes(weak).values()) == {"too_weak"}
    assert all(t.error < -BD.STRENGTH_TOLERANCE for t in weak.targets)
    strong = BD.diagnose(simple_eps[3])
    assert "too_strong" in _outcomes(strong).values()
    assert all(t.error > 0 for t in strong.targets if t.outcome == "too_strong")
    # a looser tolerance forgives what a strict one flags
    assert set(_outcomes(BD.diagnose(simple_eps[2], tolerance=1.0)).values()) == {"ok"}


def test_an_unrequested_tool_is_an_extra_tool(simple_eps):
    d = BD.diagnose(simple_eps[4])
    assert d.extra_tools == ("season_cycle",)
    assert "tool_missed" not in _outcomes(d).values()  # (its change may weaken the others')


def test_the_wrong_conditional_branch(complex_eps):
    sibling = BD.diagnose(complex_eps[1])  # the ruled-out value of the same tool
    assert sibling.conditional_wrong_branch
    (clause,) = sibling.clauses
    assert clause.other == ("artistic_medium", "gouache") and clause.other_called
    assert not clause.chosen_done and _outcomes(sibling)["artistic_medium"] == "wrong_value"
    assert not sibling.extra_tools
    # a branch asking for something where the source asks for nothing: a wrong branch, not an
    # extra tool
    added = BD.diagnose(complex_eps[3])
    assert added.conditional_wrong_branch and added.clauses[0].chosen is None
    assert added.clauses[0].shown > 0.5 and not added.extra_tools
    assert not BD.diagnose(complex_eps[2]).conditional_wrong_branch


def test_an_ignored_preserve_constraint_is_broken(complex_eps):
    kept, ignored = BD.diagnose(complex_eps[4]), BD.diagnose(complex_eps[5])
    assert "preserve_region:ground" in kept.constraints and not kept.broken
    assert [BD._kind(v) for v in ignored.broken] == ["preserve_region"]
    s = BD.summarize([kept, ignored])
    assert s.constraints["preserve_region"] == (2, 0.5, 0.5)


def test_summary_and_tables(simple_eps, complex_eps):
    ds = [BD.diagnose(e) for e in simple_eps]
    s = BD.summarize(ds)
    assert s.episodes == 5 and s.targets == 10
    assert sum(s.outcomes.values()) == pytest.approx(1.0)
    assert s.outcomes["wrong_value"] == pytest.approx(0.1) and s.extra_tool == pytest.approx(0.2)
    assert s.clause_episodes == 0 and s.wrong_branch != s.wrong_branch  # NaN: no clause
    table = BD.summary_table([("X", s)]).splitlines()
    assert table[0].startswith("| method | episodes | targets | ok | tool missed |")
    assert table[2].startswith("| X | 5 | 10 |") and "broke" not in table[0]
    tools = BD.per_tool(ds)
    assert tools["color_grading"]["swaps"] == [("neon_electric -> warm_sunset", 1)]
    c = BD.summarize([BD.diagnose(e) for e in complex_eps])
    assert c.clause_episodes == 4 and c.wrong_branch == pytest.approx(0.5)
    had, _, of_had = c.constraints["preserve_region"]
    assert f"| {100 * of_had:.0f}% of {had} |" in BD.summary_table([("Y", c)])
    assert "broke preserve_region" in BD.summary_table([("Y", c)]).splitlines()[0]


def test_records_without_measurements_are_replayed_alike(complex_eps):
    old = [{k: v for k, v in e.items() if k != "visible"} for e in complex_eps]
    again, mismatched = BD.ensure_visible(old, "complex", SIZE, 12)
    assert mismatched == 0
    for a, e in zip(again, complex_eps, strict=True):
        assert a["visible"]["along"] == pytest.approx(e["visible"]["along"], abs=1e-5)
        assert _outcomes(BD.diagnose(a)) == _outcomes(BD.diagnose(e))
    with pytest.raises(ValueError, match="not among complex's first 3 test tasks"):
        BD.ensure_visible(old, "complex", SIZE, 3)


def _results(cells: list[tuple[str, list[dict]]], tier: str = "simple") -> dict:
    return {
        "preset": {"tiers": [tier], "image_size": SIZE, "eval_tasks": 12},
        "cells": [
            {"study": "main", "tier": tier, "method": m, "seed": 0, "episodes": eps}
            for m, eps in cells
        ],
    }


def test_report_section_and_command_line(tmp_path, simple_eps, capsys):
    res = _results([("rw", simple_eps), ("teacher", simple_eps[:1])])
    tables = BD.loss_section(res, {"simple": ["rw", "teacher", "edit-only"]})
    lines = tables["simple"].splitlines()
    assert [ln.split(" | ")[0] for ln in lines[2:]] == ["| RW", "| Teacher"]
    # hand-made episodes that can be neither read nor replayed leave no table
    fake = _results([("rw", [{"task_id": "nope", "overall": 1.0}])])
    assert BD.loss_section(fake, {"simple": ["rw"]}) == {}
    path = tmp_path / "results.json"
    path.write_text(json.dumps(res))
    # the report shows the best offline method (RW here) with the teacher beside it
    from experiments import report as R

    index = R.build(path, tmp_path / "report", filmstrips=False)
    md = (tmp_path / "report" / "tables.md").read_text()
    assert "## Where the planner loses" in md and "### Simple (best offline method: RW)" in md
    assert tables["simple"] in md
    assert "<h3>Simple (best offline method: RW)</h3>" in index.read_text()
    assert BD.main([str(path), "--method", "rw"]) == 0
    out = capsys.readouterr().out
    assert "## simple" in out and "| RW | 5 | 10 |" in out and "| Teacher |" not in out
    assert "### rw on simple, per tool" in out and "neon_electric -> warm_sunset (1)" in out


def test_bad_input(tmp_path, simple_eps, capsys):
    with pytest.raises(ValueError, match="no 'visible' measurements"):
        BD.diagnose({"task_id": "x", "calls": []})
    with pytest.raises(ValueError, match="tolerance must be a positive"):
        BD.diagnose(simple_eps[0], tolerance=0)
    broken = {**simple_eps[0], "visible": {**simple_eps[0]["visible"], "along": [1.0]}}
    with pytest.raises(ValueError, match="1 measurements for an oracle plan of 2 calls"):
        BD.diagnose(broken)
    with pytest.raises(ValueError, match="no episodes to summarize"):
        BD.summarize([])
    (tmp_path / "x.json").write_text(json.dumps({"hello": 1}))
    assert BD.main([str(tmp_path / "x.json")]) == 1
    assert "neither a benchmark results file" in capsys.readouterr().err
    assert BD.main([str(tmp_path / "missing.json")]) == 1
    assert "no results file" in capsys.readouterr().err
    (tmp_path / "r.json").write_text(json.dumps(_results([("rw", simple_eps)])))
    assert BD.main([str(tmp_path / "r.json"), "--tier", "complex"]) == 1
    assert "no episodes of tier complex" in capsys.readouterr().err


def test_clause_table_by_predicate_and_how_clear_the_source_is(complex_eps, tmp_path, capsys):
    eps = complex_eps[:4]  # tasks 4 and 10, each resolved right once and wrong once
    ds = [BD.diagnose(e) for e in eps]
    tasks = [BD.episode_task(e) for e in eps]
    assert [t.task_id for t in tasks] == [_task("complex", k).task_id for k in (4, 4, 10, 10)]
    assert BD.episode_task({"task_id": "complex-test-1", "instruction": "other words"}) is None
    assert BD.episode_task({"task_id": "complex-free-3"}) is None
    margins = [BD.predicate_margin(t.conditionals[0].predicate, t.source_image().pixels[0]) for t in tasks]  # fmt: skip
    for t, m in zip(tasks, margins, strict=True):  # the sign is the predicate's truth
        assert (m > 0) == t.conditionals[0].holds(t.source_image().pixels[0])
    stray = {"task_id": "nope", "calls": ["STOP"]}  # a task that cannot be drawn again: left out
    lines = BD.clause_table({"X": ([*eps, stray], [*ds, ds[0]])}).splitlines()
    assert lines[0].startswith("| method | clauses | wrong | clear | near | holds | not | dark |")
    cells = lines[2].split(" | ")
    assert cells[:3] == ["| X", "4", "50% of 4"]
    clear = sum(abs(m) >= BD.NEAR_THRESHOLD for m in margins)
    assert (cells[3] == "–") == (clear == 0) and (cells[4] == "–") == (clear == 4)
    holds = sum(m > 0 for m in margins)
    assert cells[5] == ("–" if holds == 0 else f"50% of {holds}")  # each task: one right, one wrong
    path = tmp_path / "eval.json"
    path.write_text(json.dumps({"tier": "complex", "image_size": SIZE, "n_tasks": 12,
                                "agent": "x", "episodes": eps}))  # fmt: skip
    assert BD.main([str(path), "--clauses"]) == 0
    assert "### Conditional clauses on complex: resolved the wrong way" in capsys.readouterr().out


def test_files_of_the_wrong_shape_are_named_errors(tmp_path, capsys):
    path = tmp_path / "r.json"
    cell = {"study": "main", "tier": "simple", "method": "rw", "seed": 0}
    for doc, match in [
        ({"cells": "x"}, "not a benchmark results file (cells must be a list, got str)"),
        (
            {"cells": [{**cell, "episodes": "zz"}]},
            "cells[0].episodes must be a list of episodes, got str",
        ),  # fmt: skip
        ({"cells": [{**cell, "eval": "x"}]}, "cells[0]: eval must be an object, got str"),
        ({"cells": [{**cell, "tier": 3}]}, "tier must be a string"),
        (
            {"cells": [cell], "preset": {"image_size": "big"}},
            "preset.image_size must be a positive int",
        ),  # fmt: skip
        (
            {"agent": "a", "tier": "simple", "episodes": "zz"},
            "not an evaluation file (episodes must be a list",
        ),  # fmt: skip
        (
            {"agent": "a", "tier": "simple", "episodes": [], "image_size": 0},
            "image_size must be a positive int",
        ),  # fmt: skip
        (None, "not a valid results file: the file is empty"),
    ]:
        path.write_text("" if doc is None else json.dumps(doc))
        assert BD.main([str(path)]) == 1
        err = capsys.readouterr().err
        assert f"error: {path}: " in err and match in err and "Traceback" not in err
    # episodes that are objects but not evaluation records: named, with the group
    path.write_text(json.dumps({"cells": [{**cell, "episodes": [{"overall": 1.0}]}]}))
    assert BD.main([str(path)]) == 1
    assert f"error: {path}: cannot diagnose the simple/rw episodes" in capsys.readouterr().err
