"""The tool benchmark's smoke run: every tool and value timed, baselines matching, JSON complete.

No timing is asserted (the suite runs on loaded CI machines); only that numbers exist, are
positive, are attributed to the right recipe steps, and that the per-image baselines render the
same effect as the batched tools.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from experiments import bench_tools
from experiments.bench_tools import BASELINES, MATCH_TOLERANCE, main, record_ops
from styling_env.tools import OPS, RECIPES, TOOLS, ToolCall, apply_calls


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> dict:
    path = tmp_path_factory.mktemp("bench") / "bench.json"
    main(["--quick", "--device", "cpu", "--json", str(path)])
    return json.loads(Path(path).read_text())


def test_json_has_every_tool_and_value(quick: dict) -> None:
    assert [t["tool"] for t in quick["tools"]] == list(TOOLS)
    for t in quick["tools"]:
        assert t["values"] == len(TOOLS[t["tool"]])
    assert [(v["tool"], v["value"]) for v in quick["values"]] == [
        (tool, value) for tool, values in TOOLS.items() for value in values
    ]
    assert quick["overall"]["values"] == sum(len(v) for v in TOOLS.values())


def test_timings_are_positive(quick: dict) -> None:
    for t in (*quick["tools"], quick["overall"]):
        assert 0 < t["median_ms"] <= t["max_ms"]
        assert t["mean_ms"] > 0 and t["images_per_s"] > 0
    assert all(v["ms"] > 0 for v in quick["values"])
    assert all(s["ms"] >= 0 for v in quick["values"] for s in v["steps"])
    assert quick["mixed"]["ms"] > 0 and quick["mixed"]["groups"] == quick["config"]["batch"]
    assert sum(o["share"] for o in quick["ops"]) == pytest.approx(1.0)


def test_contention_is_a_share_per_value(quick: dict) -> None:
    shares = [v["other_cpu_share"] for v in quick["values"]] + [quick["other_cpu_share"]]
    assert all(math.isnan(s) or 0.0 <= s <= 1.0 for s in shares)
    busy = sum(v["other_cpu_share"] > bench_tools.CONTENDED for v in quick["values"])
    assert quick["overall"]["contended"] == busy == sum(t["contended"] for t in quick["tools"])


def test_steps_follow_each_recipe(quick: dict) -> None:
    for v in quick["values"]:
        assert [s["op"] for s in v["steps"]] == [s.op for s in RECIPES[v["tool"]][v["value"]]]


def test_slowest_are_the_slowest(quick: dict) -> None:
    ms = {f"{v['tool']}/{v['value']}": v["ms"] for v in quick["values"]}
    top = quick["slowest"]
    assert len(top) == quick["config"]["top"]
    assert min(ms[n] for n in top) >= max(ms[n] for n in ms if n not in top)


def test_baselines_match_the_batched_tools(quick: dict) -> None:
    kinds = [b["kind"] for b in quick["baselines"]]
    assert len(set(kinds)) == len(kinds) >= 4
    for b in quick["baselines"]:
        assert b["mean_abs_diff"] < MATCH_TOLERANCE, b
        assert b["batched_ms"] > 0 and b["per_image_ms"] > 0 and b["ratio"] > 0


def test_json_records_the_machine(quick: dict) -> None:
    m = quick["machine"]
    assert m["torch"] == torch.__version__ and m["device"] == "cpu"
    assert m["threads"] == torch.get_num_threads() and m["cpu_count"] >= 1
    assert quick["config"] == {
        "batch": 4, "size": 32, "repeats": 1, "warmup": 1, "device": "cpu", "seed": 0, "top": 10
    }  # fmt: skip


@pytest.mark.parametrize("base", BASELINES, ids=lambda b: b.value)
def test_baseline_matches_at_full_size(base: bench_tools.Baseline) -> None:
    """At 128 x 128 (pixel_art's mosaic has real 4 x 4 cells there; at 32 it is a no-op)."""
    images, _ = bench_tools.load_images(2, 128, seed=1, device=torch.device("cpu"))
    cfg = bench_tools.BenchConfig(batch=2, size=128, repeats=1, warmup=0)
    result = bench_tools.bench_baseline(base, images, cfg, torch.device("cpu"))
    assert result.mean_abs_diff < MATCH_TOLERANCE


def test_record_ops_times_each_step_and_restores_the_registry() -> None:
    before = {name: spec.fn for name, spec in OPS.items()}
    x = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    with record_ops(torch.device("cpu")) as log:
        apply_calls(x, ToolCall("artistic_medium", "pixel_art"))
    assert [op for op, _ in log] == ["mosaic", "posterize", "saturation"]
    assert {name: spec.fn for name, spec in OPS.items()} == before


def test_record_ops_restores_the_registry_on_error() -> None:
    before = {name: spec.fn for name, spec in OPS.items()}
    with pytest.raises(ValueError), record_ops(torch.device("cpu")):
        apply_calls(torch.full((1, 3, 16, 16), 2.0), ToolCall("artistic_medium", "pixel_art"))
    assert {name: spec.fn for name, spec in OPS.items()} == before


def test_a_changed_recipe_is_refused_by_its_pillow_baseline() -> None:
    steps = bench_tools.recipe_steps("color_grading", "sepia_vintage")[:1]
    with pytest.raises(ValueError, match="gradient_map"):
        bench_tools.sepia_pillow(32, 32, 0.7, steps)


def test_quick_flags_can_be_overridden() -> None:
    cfg, path = bench_tools.parse_args(["--quick", "--size", "48"])
    assert (cfg.batch, cfg.size, cfg.repeats, path) == (4, 48, 1, None)
    with pytest.raises(SystemExit):
        bench_tools.parse_args(["--batch", "0"])
