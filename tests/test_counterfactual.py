"""Counterfactual rows for conditional clauses (agents/embedded/counterfactual.py): each added
row is an original clause row on another training source whose predicate resolves the other
way, answered by the other branch at the oracle's strength there."""

from __future__ import annotations

from dataclasses import fields

import pytest
import torch

from agents.embedded import PlannerConfig, prepare, train
from agents.embedded.counterfactual import clause_rows, counterfactual_picks, with_counterfactuals
from agents.embedded.training import TrainConfig, with_counterfactual_rows
from agents.qwen.prompting import history_calls
from offline_data.loaders.tensors import LibraryStepTensors
from styling_env.actions import preserve_names
from styling_env.libraries import library
from styling_env.oracle import solve_plans
from styling_env.rewording import generated_train_task
from styling_env.tools import apply_plan

CFG = PlannerConfig(image_size=32, encoder="hash", hash_dim=256)


@pytest.fixture
def complex_data(small_datasets, one_thread):
    return prepare(small_datasets["complex"], CFG, "rw")


def test_counterfactual_rows_flip_the_clause_on_another_source(complex_data):
    d = complex_data
    assert d.stored_size == 32  # the small datasets' recipe
    rows = d.rows
    lib = library("v2")
    found = clause_rows(rows, 32)
    assert found, "the small Complex dataset has rows that call a clause's branch"
    for i, task, holds in found:  # the teacher's call is the branch its own source calls for
        c = task.conditionals[0]
        chosen = c.then if holds else c.otherwise
        call = lib.call(int(rows.tool[i]), int(rows.value[i]), 0.0)
        assert (call.tool, call.value) == (chosen.tool, chosen.value)
    out = with_counterfactuals(rows, 2, 32, 32, seed=0)
    picks, _ = counterfactual_picks(rows, 2, 32, seed=0)  # the sources it drew, in row order
    n0 = len(rows)
    new = out.select(torch.arange(n0, len(out)))
    assert 0 < len(new) == len(picks) <= 2 * len(found)
    assert out.sources.shape[0] == rows.sources.shape[0] + len(new)  # one new source per row
    assert torch.equal(out.image[:n0], rows.image) and out.task_id[:n0] == rows.task_id
    holds = {i: h for i, _, h in found}
    for k, p in enumerate(picks):
        for name in ("instruction_index", "history", "steps_left", "tool", "region", "preserve",
                     "weight", "r", "episode", "step"):  # fmt: skip
            assert torch.equal(getattr(new, name)[k], getattr(rows, name)[p.row]), name
        task = generated_train_task(
            new.task_id[k], rows.instructions[int(new.instruction_index[k])]
        )
        c = task.conditionals[0]
        other = c.otherwise if holds[p.row] else c.then
        assert p.branch == other and p.source.task_id != task.task_id
        call = lib.call(int(new.tool[k]), int(new.value[k]), float(new.strength[k]))
        assert (call.tool, call.value) == (other.tool, other.value)  # the other branch
        source = p.source.source_image(32)
        assert c.holds(source.pixels[0]) != holds[p.row]  # it resolves the other way
        assert torch.equal(
            out.sources[int(new.source_row[k])], (source.pixels[0] * 255 + 0.5).to(torch.uint8)
        )
        # the current image: the history replayed on that source; the strength: the oracle's
        calls = history_calls(new.history[k].numpy(), "v2")
        replay = apply_plan(source, [calls])[0]
        assert torch.equal(new.image[k], (replay.clamp(0, 1) * 255 + 0.5).to(torch.uint8))
        keep = preserve_names(new.preserve[k].numpy())
        solved = solve_plans(source.pixels, [[other]], source.masks, source.has_masks, [keep])
        assert float(new.strength[k]) == pytest.approx(solved[0][0].strength)
    # deterministic given the seed; another seed draws other sources
    again = with_counterfactuals(rows, 2, 32, 32, seed=0)
    assert torch.equal(again.sources, out.sources) and torch.equal(again.value, out.value)
    other_seed = with_counterfactuals(rows, 2, 32, 32, seed=1)
    e0 = rows.sources.shape[0]
    assert not torch.equal(other_seed.sources[e0:], out.sources[e0:])


def test_training_takes_counterfactual_rows_and_refuses_them_without_images(
    complex_data, small_datasets
):
    res = train(complex_data, method="rw", config=CFG, steps=2, batch_size=16, progress=False,
                counterfactuals=1)  # fmt: skip
    added = res.planner.meta["counterfactual_rows"]
    assert added > 0 and res.planner.meta["training"]["counterfactuals"] == 1
    dpo = train(complex_data, method="dpo", config=CFG, steps=1, progress=False, counterfactuals=1,
                dpo_fallback=True)  # fmt: skip
    assert dpo.reference_result.planner.meta["counterfactual_rows"] == added  # its S reference
    assert dpo.planner.meta["counterfactual_rows"] == 0  # DPO compares the dataset's own rows
    assert train(complex_data, method="rw", config=CFG, steps=1, progress=False).planner.meta[
        "counterfactual_rows"
    ] == 0  # fmt: skip
    simple = prepare(small_datasets["simple"], CFG, "rw")  # no conditional clause: nothing added
    with pytest.warns(UserWarning, match="no counterfactual rows added"):
        assert len(with_counterfactual_rows(simple, 1, CFG).rows) == len(simple.rows)
    # the rows are kept for the next method of the same data (one entry: they hold its images)
    one = with_counterfactual_rows(complex_data, 1, CFG)
    assert with_counterfactual_rows(complex_data, 1, CFG).rows is one.rows
    assert len(with_counterfactual_rows(complex_data, 2, CFG).rows) > len(one.rows)
    assert with_counterfactual_rows(complex_data, 1, CFG).rows is not one.rows  # evicted
    v2 = complex_data.rows
    normal = LibraryStepTensors(**{f.name: getattr(v2, f.name) for f in fields(v2)}, library="normal")  # fmt: skip
    with pytest.raises(ValueError, match="built for the v2 library.*of library 'normal'"):
        with_counterfactuals(normal, 1, 32, 32)
    with pytest.raises(ValueError, match="text-only planner cannot tell them apart"):
        with_counterfactual_rows(complex_data, 1, PlannerConfig(image_size=32, text_only=True))
    for bad in (-1, True, 1.5):
        with pytest.raises(ValueError, match="counterfactuals must be an int >= 0"):
            TrainConfig(counterfactuals=bad)
