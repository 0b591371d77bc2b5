"""The benchmark runner and its report: a tiny preset end to end, resuming, tables from a
hand-made results file, bad input."""

from __future__ import annotations

import dataclasses
import json
import math
import mmap
import time

import pytest

from experiments import benchmark as B
from experiments import report as R
from experiments import samples as S
from styling_env.judge import PLANNING_NAMES, SCORE_NAMES

TINY = B.Preset(
    tiers=("simple",),
    methods=("random", "edit-only", "s", "sw-task", "dpo", "s-text", "bc", "teacher", "oracle"),
    seeds=1,
    episodes=24,
    image_size=32,
    eval_tasks=4,
    steps={"s": 8, "sw-task": 8, "dpo": 4, "s-text": 8, "bc": 8},
    sizes=(12,),
    qualities=(0.9,),
    quality_episodes=12,
    study_methods=("s",),
    filmstrip_methods=("s", "teacher"),
)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """One tiny benchmark run (its own Minari root), shared by the tests below."""
    from offline_data.dataset import datasets_path

    root = tmp_path_factory.mktemp("bench")
    with datasets_path(root / "minari"):
        path = B.run(TINY, root / "run", progress=False)
    return root, path


def test_tiny_preset_end_to_end(tiny_run):
    root, path = tiny_run
    res = json.loads(path.read_text())
    keys = {c["key"] for c in res["cells"]}
    main = {f"main/simple/{m}/seed0" for m in TINY.methods}
    studies = {"size-12/simple/s/seed0", "quality-0.90/simple/s/seed0", "quality-0.90/simple/teacher/seed0"}  # fmt: skip
    assert keys == main | studies
    for c in res["cells"]:
        assert len(c["episodes"]) == TINY.eval_tasks
        assert "eval" in c["stages"] and c["stages"]["eval"]["peak_rss_mb"] > 0
        assert c["torch_threads"] >= 1  # timings are comparable only at equal thread counts
        if c["kind"] != "baseline":
            assert c["stages"]["train"]["seconds"] > 0
            assert (root / "run" / "cells" / c["study"] / c["tier"] / c["method"] / "seed0" / "train_log.jsonl").exists()  # fmt: skip
    by = {c["key"]: c for c in res["cells"]}
    assert by["main/simple/oracle/seed0"]["eval"]["normalized"] == pytest.approx(100.0)
    assert by["main/simple/random/seed0"]["eval"]["normalized"] == pytest.approx(0.0)
    # every cell is also evaluated on the free-text set, normalized on the same free tasks
    assert TINY.eval_splits == ("test", "free")
    for c in res["cells"]:
        assert c["eval_free"]["episodes"] == len(c["episodes_free"]) == TINY.eval_tasks
        assert {e["task_id"][:12] for e in c["episodes_free"]} == {"simple-free-"}
        assert "eval_free" in c["stages"]
        assert (root / "run" / "cells" / c["study"] / c["tier"] / c["method"] / "seed0" / "eval_free.json").exists()  # fmt: skip
    assert by["main/simple/oracle/seed0"]["eval_free"]["normalized"] == pytest.approx(100.0)
    assert by["main/simple/random/seed0"]["eval_free"]["normalized"] == pytest.approx(0.0)
    # the dataset-size cell trained on 12 episodes, the main one on all 24
    assert by["size-12/simple/s/seed0"]["train"]["samples"] < by["main/simple/s/seed0"]["train"]["samples"]  # fmt: skip
    assert "image-styling/bench-simple-e12-px32-clean090-v0" in res["datasets"]
    run = root / "run"
    for f in ("tables.md", "report.html", "plots/normalized.png", "plots/size.png",
              "plots/quality.png", "plots/curves.png", "plots/dimensions.png", "filmstrips/simple-s-best.png"):  # fmt: skip
        assert (run / f).exists(), f
    page = (run / "report.html").read_text()
    # 5 plots + 2 methods x 3 cases x (source, one frame per call, oracle reference)
    strips = [c for c in res["cells"] if c["study"] == "main" and c["method"] in ("s", "teacher")]
    n_frames = sum(
        2 + sum(call != "STOP" for call in ep["calls"])
        for c in strips
        for ep in R.pick(c["episodes"]).values()
    )
    assert page.count("data:image/png;base64,") == 5 + n_frames
    assert "src='http" not in page and 'src="http' not in page  # self-contained
    assert "replay scored" not in page  # replays reproduce the stored scores
    md = (run / "tables.md").read_text()
    assert "| DPO |" in md and "| S text-only |" in md and "| DiscreteBC |" in md
    assert "| SW per-task |" in md
    assert "## Free-text requests" in md and "| S |" in md.split("### Simple: held-out templates vs free text")[1]  # fmt: skip
    assert "<h2>Free-text requests</h2>" in page
    # --docs copies the tables, the plots and only the chosen filmstrips
    docs = root / "docs"
    R.build(path, run, docs=docs, docs_filmstrips="*-s-median.png")
    assert (docs / "tables.md").exists() and (docs / "plots" / "size.png").exists()
    assert [p.name for p in (docs / "filmstrips").iterdir()] == ["simple-s-median.png"]


def test_resume_skips_finished_cells(tiny_run, monkeypatch):
    root, path = tiny_run
    before = json.loads(path.read_text())

    def boom(*a, **k):
        raise AssertionError("a finished cell was recomputed")

    monkeypatch.setenv("MINARI_DATASETS_PATH", str(root / "minari"))
    monkeypatch.setattr(B.Runner, "run_cell", boom)
    after = json.loads(B.run(TINY, root / "run", progress=False, report=False).read_text())
    assert [c["key"] for c in after["cells"]] == [c["key"] for c in before["cells"]]
    assert [c["eval"]["overall"] for c in after["cells"]] == [c["eval"]["overall"] for c in before["cells"]]  # fmt: skip
    # the results and report can be rebuilt from the finished cells alone
    (root / "run" / "results.json").unlink()
    collected = json.loads(B.collect(TINY, root / "run").read_text())
    assert [c["key"] for c in collected["cells"]] == [c["key"] for c in before["cells"]]
    assert [len(c["episodes"]) for c in collected["cells"]] == [len(c["episodes"]) for c in before["cells"]]  # fmt: skip
    with pytest.raises(FileNotFoundError, match="no finished cells"):
        B.collect(TINY, root / "empty")
    # another budget for one method is another cell: only that one is recomputed
    import shutil

    calls = []

    def fake(self, cell, folder, record):
        calls.append(cell.key)
        from agents.baselines import RandomAgent

        return RandomAgent(seed=cell.seed)

    monkeypatch.setattr(B.Runner, "run_cell", fake)
    shutil.copytree(root / "run", root / "run2")
    other = dataclasses.replace(TINY, steps={**TINY.steps, "bc": 9})
    B.run(other, root / "run2", progress=False, report=False)
    assert calls == ["main/simple/bc/seed0"]
    # so is a changed default of a method's config (here DiscreteBC's rewordings): the cells
    # that method trained are recomputed, every other cell is reused
    from agents import registry

    calls.clear()
    bc = registry.get("bc")
    training = {**dict(bc.defaults or {}).get("training", {}), "rewordings": 1}
    changed = dataclasses.replace(bc, defaults={**dict(bc.defaults or {}), "training": training})
    assert changed.make_config().training.rewordings == 1 != bc.make_config().training.rewordings
    monkeypatch.setitem(registry._REGISTRY, "bc", changed)
    shutil.copytree(root / "run", root / "run3")
    B.run(TINY, root / "run3", progress=False, report=False)
    assert calls == ["main/simple/bc/seed0"]
    # a cell written before fingerprints held the config (its legacy fingerprint) is reused
    # when the config it recorded is the method's current one, and recomputed when it is not
    monkeypatch.setitem(registry._REGISTRY, "bc", bc)
    calls.clear()
    shutil.copytree(root / "run", root / "run4")
    for done in (root / "run4" / "cells").rglob("cell.json"):
        rec = json.loads(done.read_text())
        cell = B.Cell(rec["study"], rec["tier"], rec["method"], rec["seed"], rec["dataset"], rec["episodes"])  # fmt: skip
        rec["fingerprint"] = B.fingerprint(cell, TINY, rec["dataset_checksum"], legacy=True)
        if rec["method"] == "s-text":
            rec["config"]["training"]["lr"] = 0.5  # trained with another config than now
        done.write_text(json.dumps(rec))
    B.run(TINY, root / "run4", progress=False, report=False)
    assert calls == ["main/simple/s-text/seed0"]


def test_a_run_resumes_from_its_records_without_checkpoints(tiny_run, monkeypatch):
    from experiments import records

    root, path = tiny_run
    before = json.loads(path.read_text())
    written, _ = records.pack(root / "run", root / "records")
    assert written == len(before["cells"])
    assert records.unpack(root / "records", root / "restored") == (written, 0)
    assert not list((root / "restored").rglob("*.pt"))  # no checkpoint came back

    def boom(*a, **k):
        raise AssertionError("a recorded cell was recomputed")

    monkeypatch.setenv("MINARI_DATASETS_PATH", str(root / "minari"))
    monkeypatch.setattr(B.Runner, "run_cell", boom)
    monkeypatch.setattr(B.Runner, "evaluate", boom)
    after = json.loads(B.run(TINY, root / "restored", progress=False, report=False).read_text())
    assert [c["key"] for c in after["cells"]] == [c["key"] for c in before["cells"]]
    assert [c["episodes"] for c in after["cells"]] == [c["episodes"] for c in before["cells"]]


def test_dpo_trains_its_reference_again_when_the_s_cell_came_without_a_checkpoint(tiny_run, monkeypatch):  # fmt: skip
    import shutil

    root, _ = tiny_run
    run = root / "run-dpo"
    shutil.copytree(root / "run", run)
    s_cell = run / "cells/main/simple/s/seed0"
    s_record = (s_cell / "cell.json").read_bytes()
    for ckpt in s_cell.glob("*.pt"):
        ckpt.unlink()  # as experiments.records restores it
    shutil.rmtree(run / "cells/main/simple/dpo/seed0")
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(root / "minari"))
    only = dataclasses.replace(TINY, methods=("s", "dpo"), qualities=(), sizes=())
    res = json.loads(B.run(only, run, progress=False, report=False).read_text())
    dpo = next(c for c in res["cells"] if c["method"] == "dpo")
    assert dpo["reference_retrained"]["seconds"] > 0
    assert (run / "cells/main/simple/dpo/seed0/reference").is_dir()
    assert (s_cell / "cell.json").read_bytes() == s_record  # the S cell is left as it was
    # without the S cell's record, DPO still needs S to run first
    shutil.rmtree(s_cell)
    shutil.rmtree(run / "cells/main/simple/dpo/seed0")
    with pytest.raises(FileNotFoundError, match="the s cell must run first"):
        B.Runner(only, run, progress=False).run_cell(
            B.Cell("main", "simple", "dpo", 0, dpo["dataset"], dpo["episodes"]),
            run / "cells/main/simple/dpo/seed0", {"dataset_checksum": dpo["dataset_checksum"]},
        )  # fmt: skip


def test_cells_of_another_sample_of_the_data_count_only_when_asked(tiny_run, monkeypatch, capsys):
    """A run resumed on another machine, whose generation of the same recipe came out with
    another checksum: its recorded cells are recomputed by default, reused with
    ``other_samples`` (still not when their config differs), and a DPO computed here trains
    its reference S again on this data. The results say which samples the cells trained on."""
    import shutil

    root, path = tiny_run
    run = root / "run-samples"
    shutil.copytree(root / "run", run)
    real = {c["key"]: c["dataset_checksum"] for c in json.loads(path.read_text())["cells"]}
    for done in (run / "cells").rglob("cell.json"):  # as if generated on another machine
        rec = json.loads(done.read_text())
        cell = B.Cell(rec["study"], rec["tier"], rec["method"], rec["seed"], rec["dataset"], rec["episodes"])  # fmt: skip
        rec["dataset_checksum"] = "f" * 64
        rec["fingerprint"] = B.fingerprint(cell, TINY, rec["dataset_checksum"])
        done.write_text(json.dumps(rec))
    s_cell = B.Cell("main", "simple", "s", 0, "image-styling/bench-simple-e24-px32-v0")
    checksum = real[s_cell.key]
    pooled = dataclasses.replace(TINY, other_samples=True)
    assert B.finished_record(s_cell, TINY, run, checksum) is None
    assert B.finished_record(s_cell, pooled, run, checksum) is not None
    other_budget = dataclasses.replace(pooled, steps={**TINY.steps, "s": 9})
    assert B.finished_record(s_cell, other_budget, run, checksum) is None  # not the same cell
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(root / "minari"))
    with pytest.raises(FileNotFoundError, match="no finished cells"):
        B.collect(TINY, run)  # without the flag nothing counts, and the user is told why
    assert "trained on another sample of their dataset" in capsys.readouterr().err

    shutil.rmtree(run / "cells/main/simple/dpo/seed0")
    only = dataclasses.replace(pooled, methods=("random", "s", "dpo"), qualities=(), sizes=())
    res = json.loads(B.run(only, run, progress=False, report=False).read_text())
    by = {c["key"]: c for c in res["cells"]}
    assert by["main/simple/s/seed0"]["dataset_checksum"] == "f" * 64  # reused, not recomputed
    dpo = by["main/simple/dpo/seed0"]
    assert dpo["dataset_checksum"] == checksum and dpo["reference_retrained"]["seconds"] > 0
    assert res["samples"] == {s_cell.dataset: {"f" * 64: 2, checksum: 1}}
    note = f"{s_cell.dataset}: {min('f' * 12, checksum[:12])}"
    assert note in R.tables_markdown(res, R.aggregate(res)) and "ffffffffffff 2" in S.samples_note(res)  # fmt: skip
    assert S.samples_note(json.loads(path.read_text())) == ""  # one sample: nothing to say
    with pytest.raises(ValueError, match="other_samples must be True or False"):
        dataclasses.replace(TINY, other_samples="yes")
    args = B._parser().parse_args(["--preset", "quick", "--other-samples"])
    assert B.preset_from_args(args).other_samples is True
    # the tables rebuilt from records on a machine without the datasets: pooled, every cell
    # counts by the checksum it recorded; without the flag a missing dataset leaves them out
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(root / "no-datasets"))
    res = json.loads(B.collect(pooled, run).read_text())
    assert {c["key"] for c in res["cells"]} == {c["key"] for c in json.loads(path.read_text())["cells"]}  # fmt: skip
    with pytest.raises(FileNotFoundError, match="no finished cells"):
        B.collect(TINY, run)


def test_a_cell_without_free_results_is_evaluated_on_them_alone(tiny_run, monkeypatch):
    import shutil

    root, path = tiny_run
    run = root / "run-free"
    shutil.copytree(root / "run", run)
    before = {c["key"]: c for c in json.loads(path.read_text())["cells"]}
    stripped = ("main/simple/edit-only/seed0", "main/simple/s/seed0", "main/simple/bc/seed0")
    for key in stripped:  # as a run made before the free-text set: no free results
        folder = run / "cells" / key
        rec = json.loads((folder / "cell.json").read_text())
        del rec["eval_free"]
        (folder / "cell.json").write_text(json.dumps(rec))
        (folder / "eval_free.json").unlink()
    cell = B.Cell("main", "simple", "s", 0, before[stripped[1]]["dataset"])
    checksum = before[stripped[1]]["dataset_checksum"]
    assert B.finished_record(cell, TINY, run, checksum) is None  # incomplete for this preset
    assert B.finished_record(cell, TINY, run, checksum, complete=False) is not None
    assert B.finished_record(cell, dataclasses.replace(TINY, eval_splits=("test",)), run, checksum)

    monkeypatch.setenv("MINARI_DATASETS_PATH", str(root / "minari"))
    monkeypatch.setattr(B.Runner, "run_cell", lambda *a, **k: pytest.fail("retrained"))
    after = {c["key"]: c for c in json.loads(B.run(TINY, run, progress=False, report=False).read_text())["cells"]}  # fmt: skip
    for key in stripped:  # evaluated again from the checkpoint: the same numbers, no training
        assert after[key]["eval"] == before[key]["eval"]
        assert after[key]["eval_free"]["overall"] == pytest.approx(before[key]["eval_free"]["overall"])  # fmt: skip
        assert (run / "cells" / key / "eval_free.json").exists()


def test_a_cell_evaluated_under_another_decoding_rule_is_evaluated_again(tiny_run, monkeypatch):
    """Cells written before the planners decoded within the data's support (agents.support)
    hold no ``decoding``: their checkpoints are evaluated again, never retrained; a baseline
    (no decoding rule) is left alone."""
    import shutil

    root, path = tiny_run
    run = root / "run-decoding"
    shutil.copytree(root / "run", run)
    before = {c["key"]: c for c in json.loads(path.read_text())["cells"]}
    assert before["main/simple/s/seed0"]["decoding"] == "no-repeat-tools"
    assert before["main/simple/bc/seed0"]["decoding"] == "no-repeat-tools"
    assert before["main/simple/edit-only/seed0"]["decoding"] is None
    for key in ("main/simple/s/seed0", "main/simple/edit-only/seed0"):
        done = run / "cells" / key / "cell.json"
        rec = json.loads(done.read_text())
        del rec["decoding"]  # as recorded before the rule
        rec["eval"]["overall"] = -1.0  # a stale number, to see it replaced
        done.write_text(json.dumps(rec))
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(root / "minari"))
    monkeypatch.setattr(B.Runner, "run_cell", lambda *a, **k: pytest.fail("retrained"))
    after = {c["key"]: c for c in json.loads(B.run(TINY, run, progress=False, report=False).read_text())["cells"]}  # fmt: skip
    s = after["main/simple/s/seed0"]
    assert s["decoding"] == "no-repeat-tools"
    old = before["main/simple/s/seed0"]
    for split in ("eval", "eval_free"):  # evaluated again: the stale number replaced
        assert s[split]["overall"] == pytest.approx(old[split]["overall"])
    assert after["main/simple/edit-only/seed0"]["eval"]["overall"] == -1.0  # not evaluated again


def test_shards_partition_the_run(tiny_run, monkeypatch):
    paper = B.PRESETS["paper"]
    todo = B.cells(paper, {k: v[0] for k, v in B.dataset_plan(paper).items()})
    parts = [B.shard(todo, k, 3) for k in range(3)]
    assert sorted(c.key for p in parts for c in p) == sorted(c.key for c in todo)  # a partition
    for p in parts:
        assert [c for c in todo if c in p] == p  # run order kept
        for c in p:  # whole (study, tier, seed) groups: DPO stays with its S reference
            assert all(x in p for x in todo if (x.study, x.tier, x.seed) == (c.study, c.tier, c.seed))  # fmt: skip
    # 3 tiers x 5 seeds (seeds 3-4 hold the five-seed methods only) + 4 study groups = 19
    assert {len({(c.study, c.tier, c.seed) for c in p}) for p in parts} == {6, 7}
    # each shard of a finished run computes nothing and reports every cell
    root, path = tiny_run
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(root / "minari"))
    monkeypatch.setattr(B.Runner, "run_cell", lambda *a, **k: pytest.fail("recomputed"))
    keys = [c["key"] for c in json.loads(path.read_text())["cells"]]
    for k in range(2):
        out = B.run(TINY, root / "run", progress=False, report=False, shard_of=(k, 2))
        assert [c["key"] for c in json.loads(out.read_text())["cells"]] == keys
    assert B.parse_shard("1/4") == (1, 4)
    for bad in ("1", "a/b", "2/2", "-1/2", "1/0"):
        with pytest.raises(ValueError, match="--shard"):
            B.parse_shard(bad)
    with pytest.raises(ValueError, match="shard index"):
        B.shard(todo, 3, 3)


def test_a_cell_another_process_computes_is_skipped_not_fatal(
    tiny_run, tmp_path, monkeypatch, capsys
):
    """Two benchmark processes on one run folder: the cell the other one holds (and the DPO
    cell that needs it) is left out, every other cell is computed, the results hold every
    finished cell, and the command exits 3 so that a script can run it again."""
    import fcntl
    import os
    import shutil

    from offline_data.safety import lock_path

    root, _ = tiny_run
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(root / "minari"))
    run = tmp_path / "run"
    shutil.copytree(root / "run", run)
    cells = run / "cells" / "main" / "simple"
    for m in ("s", "dpo", "random"):  # not finished: to compute again
        (cells / m / "seed0" / "cell.json").unlink()
    computed = []
    real = B.Runner.run_cell

    def spy(self, cell, folder, record):
        computed.append(cell.key)
        return real(self, cell, folder, record)

    monkeypatch.setattr(B.Runner, "run_cell", spy)
    fd = os.open(lock_path(cells / "s" / "seed0"), os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another process is computing S
    try:
        with pytest.raises(B.CellsSkippedError, match="main/simple/s/seed0, main/simple/dpo/seed0") as e:  # fmt: skip
            B.run(TINY, run, progress=False, report=False)
    finally:
        os.close(fd)
    assert e.value.keys == ["main/simple/s/seed0", "main/simple/dpo/seed0"]
    assert computed == ["main/simple/random/seed0"]
    keys = {c["key"] for c in json.loads(e.value.results.read_text())["cells"]}
    assert "main/simple/random/seed0" in keys and "main/simple/sw-task/seed0" in keys
    assert not keys & set(e.value.keys)

    # the command line: the report of what is finished, exit status 3
    def run_meeting_a_locked_cell(*args, **kwargs):
        raise e.value

    monkeypatch.setattr(B, "run", run_meeting_a_locked_cell)
    monkeypatch.setattr(B, "headline", lambda out: [])
    assert B.main(["--preset", "quick", "--out", str(run), "--quiet"]) == 3
    assert "incomplete: 2 cell(s) left out" in capsys.readouterr().err


def test_the_paper_preset_runs_five_seeds_where_its_comparisons_rest():
    paper = B.PRESETS["paper"]
    todo = [c for c in B.cells(paper, {k: v[0] for k, v in B.dataset_plan(paper).items()}) if c.study == "main"]  # fmt: skip
    seeds = {m: {c.seed for c in todo if c.method == m and c.tier == "complex"} for m in paper.methods}  # fmt: skip
    assert {m for m, s in seeds.items() if s == set(range(5))} == set(B.FIVE_SEED_METHODS)
    assert all(s == {0, 1, 2} for m, s in seeds.items() if m not in B.FIVE_SEED_METHODS)
    # --seeds replaces the per-method counts; --methods keeps those of the chosen methods
    args = B._parser().parse_args(["--preset", "paper", "--seeds", "2"])
    assert B.preset_from_args(args).method_seeds == {}
    args = B._parser().parse_args(["--preset", "paper", "--methods", "s", "rw", "teacher"])
    assert B.preset_from_args(args).method_seeds == {"s": 5, "rw": 5}
    with pytest.raises(ValueError, match="not among the methods"):
        dataclasses.replace(paper, methods=("s",), method_seeds={"rw": 5})
    with pytest.raises(ValueError, match="its reference s only 3"):
        dataclasses.replace(paper, method_seeds={"dpo": 5})
    with pytest.raises(ValueError, match="method_seeds"):
        dataclasses.replace(paper, method_seeds={"s": 0, "dpo": 0})


def _episode(overall: float, **extra: float) -> dict:
    e = {k: overall for k in SCORE_NAMES}
    e.update({k: 0.5 for k in PLANNING_NAMES})
    e.update(overall=overall, r=overall / 20, steps=2, invalid_calls=0, task_id="t", seed=0,
             instruction="x", calls=[], reasons=[], oracle_plan=[])  # fmt: skip
    e.update(extra)
    return e


def _cell(method: str, seed: int, overalls: list[float]) -> dict:
    return {
        "key": f"main/simple/{method}/seed{seed}", "study": "main", "tier": "simple",
        "method": method, "seed": seed, "label": B.METHODS[method][0], "kind": "embedded",
        "stages": {"train": {"seconds": 10.0 + seed, "peak_rss_mb": 1000.0 + seed},
                   "eval": {"seconds": 2.0, "peak_rss_mb": 900.0}},
        "eval": {"random_overall": 20.0, "oracle_overall": 100.0},
        "episodes": [_episode(o) for o in overalls],
    }  # fmt: skip


def test_table_from_hand_made_results(tmp_path):
    # S: seed means 60 and 70 (t CI over two seeds); RW: one seed, CI over its episodes
    res = {
        "format": "image-styling-benchmark/1",
        "preset": {
            "tiers": ["simple"],
            "methods": ["edit-only", "s", "rw"],
            "seeds": 2,
            "episodes": 10,
            "image_size": 32,
            "eval_tasks": 2,
            "filmstrip_methods": [],
        },  # fmt: skip
        "cells": [
            _cell("s", 0, [50.0, 70.0]),
            _cell("s", 1, [60.0, 80.0]),
            _cell("rw", 0, [80.0, 90.0]),
            _cell("edit-only", 0, [30.0, 40.0]),
            _cell("edit-only", 1, [30.0, 40.0 + 1e-8]),  # batched float noise
        ],  # fmt: skip
    }
    path = tmp_path / "results.json"
    path.write_text(json.dumps(res))
    rows = R.aggregate(res)
    assert [r.method for r in rows] == ["edit-only", "s", "rw"]
    eo, s, rw = rows
    # identical seeds (a deterministic agent): the CI over one seed's episodes, not zero width
    assert eo.ci_over == "ep" and eo.stats["overall"] == pytest.approx((35.0, *R._ci([30.0, 40.0])[1:]))  # fmt: skip
    assert eo.stats["overall"][2] - eo.stats["overall"][1] > 10
    h = 12.706204736174707 * 5.0 * math.sqrt(2) / math.sqrt(2)  # t(0.975, 1) * sd / sqrt(n)
    assert s.stats["overall"] == pytest.approx((65.0, 65.0 - h, 65.0 + h))
    assert s.stats["normalized"][0] == pytest.approx(100 * (65 - 20) / 80)
    assert s.ci_over == "seeds" and rw.ci_over == "ep"
    assert s.train_seconds == pytest.approx(10.5) and s.peak_rss_mb == pytest.approx(1000.5)
    md = R.score_table(rows, "simple")
    lines = md.splitlines()
    assert lines[0].startswith("| method | IF | VQ | TS | Coh | SA | TE | overall |")
    assert lines[2].startswith("| E (edit-only) | 35.0 ± ") and lines[2].endswith("| 2 (ep) |")
    assert lines[3].startswith(f"| S | 65.0 ± {h:.1f} |")
    assert f"**65.0 ± {h:.1f}**" in lines[3] and lines[3].endswith("| 2 |")
    assert lines[4].startswith("| RW | 85.0 ± ") and lines[4].endswith("| 1 (ep) |")
    tt = R.targets_table(rows).splitlines()  # the quality targets, decided from the same rows
    assert tt[0] == "| quality target | Simple |"
    assert tt[2] == "| best offline method >= 90 / 85 / 80 | RW 81.2 vs 90: missed |"
    assert tt[3] == "| ... and above the teacher's mean by >= 5, CIs apart | – |"  # no teacher cell
    assert tt[4] == "| RW or SW above S, CIs apart (needed on 2 tiers; on 0 here) | RW +25.0 over S, CIs overlap |"  # fmt: skip
    assert tt[5] == "| ... and above the teacher's mean | – |"
    assert tt[6] == "| best offline method >= Edit-Only + 10 | +62.5: met |"
    assert tt[8] == "| Complex: best offline method breaks a constraint in <= 10% of episodes | – |"
    assert tt[9] == "| a call-level method above RW, CIs apart (needed on 2 tiers; on 0 here) | – |"
    assert tt[11] == "| training <= 10 min, peak <= 8 GB (as the cells ran) | slowest S 0.2 min, peak 1.0 GB: met |"  # fmt: skip
    assert "## Quality targets" in R.tables_markdown(res, rows)
    assert R.targets_table([eo]) == ""  # no S: nothing to decide
    only = R.build(path, tmp_path / "s1", seeds=[1])
    assert "| S | 70.0 ± " in (tmp_path / "s1" / "tables.md").read_text() and only.exists()
    with pytest.raises(ValueError, match="no cells of seeds"):
        R.build(path, tmp_path / "s9", seeds=[9])
    index = R.build(path, tmp_path / "out", docs=tmp_path / "docs")
    assert (
        index.exists() and (tmp_path / "docs" / "tables.md").read_text().count("| S |") == 2
    )  # scores + planning
    assert (tmp_path / "docs" / "plots" / "normalized.png").exists()
    assert "Times measured at an unrecorded thread count." in R.tables_markdown(res, rows)
    res["cells"][0]["torch_threads"] = res["cells"][1]["torch_threads"] = 2
    for c in res["cells"][2:]:
        c["torch_threads"] = 1
    assert "measured at 1 torch thread (3 cells), 2 torch threads (2 cells)." in R.tables_markdown(res, rows)  # fmt: skip


def test_the_issue_targets_are_decided_from_the_rows():
    def cell(method, seed, overalls, broken=0, train=100.0):
        c = _cell(method, seed, overalls)
        c.update(key=f"main/complex/{method}/seed{seed}", tier="complex")
        c["stages"]["train"]["seconds"] = train
        for i, e in enumerate(c["episodes"]):
            e["violations"] = ["preserve_region:sky"] if i < broken else []
        return c

    res = {"cells": [
        cell("teacher", 0, [60.0, 62.0]), cell("teacher", 1, [61.0, 63.0]),
        cell("rw", 0, [80.0, 82.0], broken=1), cell("rw", 1, [81.0, 83.0]),
        cell("awac", 0, [95.0, 96.0], train=700.0), cell("awac", 1, [95.5, 96.5], train=700.0),
        cell("s", 0, [70.0, 70.0]), cell("s-text", 0, [69.0, 69.0]),
    ]}  # fmt: skip
    assert R.call_level_methods() == ("iql", "cql-planner", "awac")
    rows = R.aggregate(res)
    by = {r.method: r for r in rows}
    assert by["rw"].stats["violated"][0] == pytest.approx(0.25)  # 1 of 4 episodes
    t = dict(line.split(" | ", 1) for line in R.targets_table(rows).splitlines()[2:])
    # AWAC is the best offline method: 94.7 normalized against the teacher's 51.9, RW's 76.9
    assert t["| best offline method >= 90 / 85 / 80"] == "AWAC (call-level) 94.7 vs 80: met |"
    assert t["| ... and above the teacher's mean by >= 5, CIs apart"] == "+42.8, CIs apart: met |"
    assert t["| Complex: best offline method breaks a constraint in <= 10% of episodes"] == "0.0%: met |"  # fmt: skip
    assert t["| a call-level method above RW, CIs apart (needed on 2 tiers; on 1 here)"] == "AWAC (call-level) +17.8 over RW, CIs apart |"  # fmt: skip
    assert t["| training <= 10 min, peak <= 8 GB (as the cells ran)"].startswith("slowest AWAC (call-level) 11.7 min")  # fmt: skip
    assert t["| training <= 10 min, peak <= 8 GB (as the cells ran)"].endswith(": missed |")
    # RW alone: its broken constraint decides the Complex row
    rows = R.aggregate(
        {"cells": [c for c in res["cells"] if c["method"] in ("rw", "s", "teacher")]}
    )
    t = dict(line.split(" | ", 1) for line in R.targets_table(rows).splitlines()[2:])
    assert t["| Complex: best offline method breaks a constraint in <= 10% of episodes"] == "25.0%: missed |"  # fmt: skip
    assert t["| a call-level method above RW, CIs apart (needed on 2 tiers; on 0 here)"] == "– |"


def test_free_text_tables_from_hand_made_results():
    def cell(method: str, seed: int, test: float, free: float) -> dict:
        c = _cell(method, seed, [50.0])
        c["eval"] = {"normalized": test, "normalized_ci": (test - 2, test + 2)}
        c["eval_free"] = {"normalized": free, "normalized_ci": (free - 4, free + 4)}
        return c

    res = {"cells": [cell("rw", 0, 73.0, 53.0), cell("rw", 1, 75.0, 57.0), cell("s", 0, 60.0, 58.0),
                     cell("edit-only", 0, 21.0, 20.0), cell("edit-only", 1, 21.0, 20.0)]}  # fmt: skip
    scores = R.free_scores(res)
    assert scores[("simple", "rw")]["free"][0] == pytest.approx(55.0)  # over the two seeds
    # the seeds agree: the one seed's CI
    assert scores[("simple", "edit-only")]["free"] == pytest.approx((20.0, 16.0, 24.0))
    target = R.free_target_table(scores).splitlines()
    # chosen on held-out templates (RW), not on free text, where S scores higher
    assert (
        target[2]
        == "| best trained method (held-out templates), on free text | RW 55.0 (held-out 74.0) |"
    )
    assert target[3] == "| free text within 10 of its held-out score | -19.0: missed |"
    assert target[4] == "| free text >= Edit-Only + 25 | +35.0: met |"
    table = R.free_table(scores, "simple").splitlines()
    assert table[0] == "| method | held-out templates | free text | free − held-out |"
    assert table[2] == "| E (edit-only) | 21.0 ± 2.0 | 20.0 ± 4.0 | -1.0 |"
    assert table[-1].startswith("| RW | 74.0 ± ") and table[-1].endswith("| -19.0 |")
    md = R.free_markdown(res)
    assert md.startswith("## Free-text requests") and "### Simple: held-out templates vs free text" in md  # fmt: skip
    assert R.free_markdown({"cells": [_cell("s", 0, [50.0])]}) == ""  # no free results: no section


def test_bad_input(tmp_path):
    with pytest.raises(ValueError, match="unknown method"):
        dataclasses.replace(TINY, methods=("s", "nope"))
    with pytest.raises(ValueError, match="unknown tier"):
        dataclasses.replace(TINY, tiers=("hard",))
    with pytest.raises(ValueError, match="dpo needs s"):
        dataclasses.replace(TINY, methods=("dpo",))
    with pytest.raises(ValueError, match="sizes must lie"):
        dataclasses.replace(TINY, sizes=(24,))
    with pytest.raises(ValueError, match="seeds must be a positive int"):
        dataclasses.replace(TINY, seeds=0)
    for bad in (("free",), ("test", "val"), ("test", "free", "free"), ()):
        with pytest.raises(ValueError, match="eval_splits must start with 'test'"):
            dataclasses.replace(TINY, eval_splits=bad)
    args = B._parser().parse_args(["--preset", "demo", "--eval-splits", "test"])
    assert B.preset_from_args(args).eval_splits == ("test",)
    with pytest.raises(FileNotFoundError, match="no results file"):
        R.build(tmp_path / "missing.json")
    (tmp_path / "x.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="not a benchmark results file"):
        R.build(tmp_path / "x.json")
    assert R.main([str(tmp_path / "missing.json")]) == 1
    assert B.main(["--preset", "quick", "--methods", "nope", "--out", str(tmp_path / "r")]) == 1


def test_peak_rss_sees_an_allocation():
    with B.PeakRSS(interval=0.01) as base:
        pass
    with B.PeakRSS(interval=0.01) as mem:
        # 64 MB of fresh anonymous pages, every one written: an allocation through malloc may
        # reuse memory an earlier test freed (already resident), which the RSS would not show
        x = mmap.mmap(-1, 64 * 2**20)
        x.write(b"\x01" * (64 * 2**20))
        # alive until the sampler thread has run (on a loaded machine it may wait a while)
        deadline = time.monotonic() + 10
        while mem.peak_mb < base.peak_mb + 50 and time.monotonic() < deadline:
            time.sleep(0.01)
        x.close()
    assert mem.peak_mb >= base.peak_mb + 50


def test_headline_tells_a_newcomer_what_the_run_shows(tmp_path):
    from experiments.benchmark import headline

    def cell(method, kind, normalized, seed=0):
        return {"study": "main", "tier": "simple", "method": method, "kind": kind, "seed": seed,
                "eval": {"normalized": normalized}}  # fmt: skip

    cells = [
        cell("edit-only", "baseline", 18.0),
        cell("rw", "embedded", 40.0),
        cell("rw", "embedded", 44.0, seed=1),
        cell("s", "embedded", 30.0),
        cell("oracle", "baseline", 100.0),
    ]
    (tmp_path / "results.json").write_text(json.dumps({"cells": cells}))
    lines = headline(tmp_path)
    assert lines[0].startswith("shows: on simple, the planner trained with RW scores 42.0")
    assert "Edit-Only's 18.0" in lines[0] and "judge v2" in lines[0]
    assert lines[-1].startswith("next: python -m experiments.benchmark --preset paper")
    assert headline(tmp_path / "missing") == []


def test_make_demo_runs_the_demo_preset_a_trained_planner_beside_edit_only():
    """`make demo` must end with a trained planner against Edit-Only on enough data to show the
    project's result (the 1,000-episode quick preset did not)."""
    from pathlib import Path

    makefile = (Path(__file__).resolve().parents[1] / "Makefile").read_text()
    demo = makefile.split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    assert "--preset demo" in demo and "--preset quick" not in demo
    p = B.PRESETS["demo"]
    kinds = {B.METHODS[m][1] for m in p.methods}
    assert "edit-only" in p.methods and "embedded" in kinds and p.episodes >= 3000
    assert p.eval_tasks >= 100  # a CI narrow enough to tell the two apart


def test_canonical_ids_are_generated_at_the_canonical_thread_count():
    import torch

    from offline_data.canonical import CANONICAL_THREADS

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        with B.canonical_threads("image-styling/complex-v0"):
            assert torch.get_num_threads() == CANONICAL_THREADS == 2
        assert torch.get_num_threads() == 1  # restored
        with B.canonical_threads("image-styling/mine-v0"):  # not canonical: as the process runs
            assert torch.get_num_threads() == 1
        with pytest.raises(RuntimeError), B.canonical_threads("image-styling/simple-v0"):
            raise RuntimeError("generation failed")
        assert torch.get_num_threads() == 1  # restored on failure too
    finally:
        torch.set_num_threads(before)


# --------------------------------------------------------------------------------------------
# A damaged finished cell: named in a warning, counted as unfinished, computed again

_ONE = B.Preset(
    tiers=("simple",), methods=("random",), seeds=1, episodes=8, image_size=32, eval_tasks=2,
    eval_splits=("test", "free"), other_samples=True,
)  # fmt: skip


def _finished_cell(run):
    """A hand-made finished cell of ``_ONE`` (no dataset needed: ``other_samples`` judges it
    by the checksum it recorded)."""
    cell = B.cells(_ONE, {("main", "simple"): "image-styling/bench-x-v0"})[0]
    folder = cell.folder(run)
    folder.mkdir(parents=True)
    ev = {"overall": 20.0, "normalized": 0.0, "random_overall": 20.0, "oracle_overall": 90.0}
    rec = {**dataclasses.asdict(cell), "key": cell.key, "kind": "baseline", "dataset_checksum": "c0",
           "fingerprint": B.fingerprint(cell, _ONE, "c0"), "eval": ev, "eval_free": ev}  # fmt: skip
    (folder / "cell.json").write_text(json.dumps(rec))
    for name in ("eval.json", "eval_free.json"):
        (folder / name).write_text(json.dumps({"episodes": [_episode(20.0)]}))
    return cell, folder, rec


@pytest.mark.parametrize(
    ("name", "text", "why"),
    [
        ("cell.json", "", "the file is empty"),
        ("cell.json", "[1]", "a cell record must be a JSON object, got list"),
        ("cell.json", "{not json", "not JSON"),
        ("cell.json", "eval-is-a-string", "eval must be an object, got str"),
        ("eval.json", "", "the file is empty"),
        ("eval_free.json", '{"episodes": "zz"}', "episodes must be a list of episodes, got str"),
    ],
)
def test_a_damaged_cell_is_named_and_counts_as_unfinished(tmp_path, capsys, monkeypatch, name, text, why):  # fmt: skip
    run = tmp_path / "run"
    cell, folder, rec = _finished_cell(run)
    assert B.finished_record(cell, _ONE, run, None) == rec
    if text == "eval-is-a-string":
        text = json.dumps({**rec, "eval": "x"})
    (folder / name).write_text(text)
    # --report-only: left out, with a warning naming the file (here the only cell: an error)
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    assert B.finished_record(cell, _ONE, run, None) is None
    with pytest.raises(FileNotFoundError, match="no finished cells"):
        B.collect(_ONE, run)
    err = capsys.readouterr().err
    assert f"warning: {folder / name}" in err and why in err and "counts as unfinished" in err
    assert err.count("warning:") == 1  # named once per process
    # a run computes it again (a damaged evaluation: that split alone, not the training)
    calls = []
    monkeypatch.setattr(
        B.Runner, "run_cell", lambda self, c, f, r: calls.append("train") or "agent"
    )
    monkeypatch.setattr(B.Runner, "reload", lambda self, c, f: "agent")

    def evaluate(self, agent, c, f, record, splits):
        calls.append(tuple(splits))
        for s in splits:
            record[B.split_key(s)] = rec["eval"]
            record.setdefault("stages", {})[B.split_key(s)] = {"seconds": 0.0, "peak_rss_mb": 1.0}
            (f / f"{B.split_key(s)}.json").write_text(json.dumps({"episodes": [_episode(20.0)]}))

    monkeypatch.setattr(B.Runner, "evaluate", evaluate)
    monkeypatch.setattr(B.Runner, "log", lambda self, msg: None)
    out = B.Runner(_ONE, run, progress=False).cell(cell, "c0")
    if name == "cell.json":
        assert calls == ["train", ("test", "free")]
    else:
        assert calls == [("test",) if name == "eval.json" else ("free",)]
    assert out["eval"] == rec["eval"] and B.finished_record(cell, _ONE, run, None) is not None


def test_ray_options_are_checked_without_ray(tmp_path, capsys):
    base = ["--preset", "quick", "--tiers", "simple", "--methods", "random", "--seeds", "1",
            "--no-studies", "--out", str(tmp_path / "run")]  # fmt: skip
    for argv, match in [
        (["--retries", "-1"], "--retries must be a non-negative int, got -1"),
        (["--cpus-per-cell", "0"], "--cpus-per-cell must be a positive int, got 0"),
        (["--memory-gb-per-cell", "nan"], "--memory-gb-per-cell must be a finite number >= 0"),
    ]:
        assert B.main([*base, *argv]) == 1
        assert match in capsys.readouterr().err
    assert not (tmp_path / "run").exists()  # refused before any work


def test_results_files_of_the_wrong_shape_name_the_file(tmp_path, capsys):
    path = tmp_path / "results.json"
    for text, match in [
        ('{"cells": "x"}', "not a benchmark results file (cells must be a list, got str)"),
        ('{"cells": [1]}', "cells[0]: a cell record must be a JSON object, got int"),
        (
            json.dumps({"cells": [{**_cell("s", 0, [50.0]), "eval": "x"}]}),
            "eval must be an object",
        ),  # fmt: skip
        (
            json.dumps({"cells": [{**_cell("s", 0, [50.0]), "episodes": "zz"}]}),
            "cells[0].episodes must be a list",
        ),  # fmt: skip
        (
            json.dumps({"cells": [_cell("s", 0, [50.0])], "preset": []}),
            "preset must be an object",
        ),  # fmt: skip
        ('{"cells": ', "not a valid results file: the file is not JSON"),
        ("", "not a valid results file: the file is empty"),
    ]:
        path.write_text(text)
        with pytest.raises(ValueError) as e:
            R.build(path, tmp_path / "out")
        assert str(e.value).startswith(f"{path}: ") and match in str(e.value)
        assert R.main([str(path), "--out", str(tmp_path / "out")]) == 1
        err = capsys.readouterr().err
        assert f"error: {path}: " in err and match in err


def test_a_cut_training_log_and_damaged_diagnostics_leave_the_report_standing(tmp_path, capsys):
    log = tmp_path / "train_log.jsonl"  # a run killed while writing its last line
    log.write_text('{"step": 1, "loss": 2.0}\n{"step": 2, "loss": 1.5}\n[3]\n{"step": 3, "lo')
    assert B._curve(log) == [{"step": 1, "loss": 2.0}, {"step": 2, "loss": 1.5}]
    cell = {"study": "main", "tier": "simple", "method": "awac", "seed": 0}
    folder = tmp_path / "cells" / "main" / "simple" / "awac" / "seed0"
    folder.mkdir(parents=True)
    (folder / "diagnostics.json").write_text("")  # a disk that filled
    assert R.diagnostics_table({"cells": [cell]}, tmp_path) == ""
    assert "diagnostics.json: not a valid critic diagnostics file" in capsys.readouterr().err
