"""``python -m agents.train`` end to end on small datasets: train, save, evaluate, reload."""

from __future__ import annotations

import json

import pytest

from agents.evaluate import load_agent
from agents.evaluate import main as eval_main
from agents.train import main


def test_train_offline_method_writes_a_run_folder_and_reloads(small_datasets, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["--method", "rw", "--dataset", small_datasets["simple"], "--steps", "20", "--batch-size", "32",
            "--image-size", "32", "--encoder", "hash", "--eval-tasks", "4", "--out", str(out), "--quiet"]  # fmt: skip
    assert main(args) == 0
    assert "normalized" in capsys.readouterr().out
    summary = json.loads((out / "train.json").read_text())
    assert summary["method"] == "rw" and summary["steps"] == 20 and summary["dataset_checksum"]
    assert summary["eval"]["episodes"] == 4
    assert len((out / "train_log.jsonl").read_text().splitlines()) >= 1
    assert load_agent(str(out / "model.pt")).predict is not None
    assert (
        eval_main([str(out / "model.pt"), "--tier", "simple", "--tasks", "2", "--image-size", "32"])
        == 0
    )


def test_train_d3rlpy_method(small_datasets, tmp_path):
    out = tmp_path / "bc"
    args = ["--method", "bc", "--dataset", small_datasets["simple"], "--steps", "20",
            "--eval-tasks", "3", "--out", str(out), "--quiet"]  # fmt: skip
    assert main(args) == 0
    assert json.loads((out / "train.json").read_text())["eval"]["episodes"] == 3
    load_agent(str(out / "model.d3"))


def test_train_cli_errors(small_datasets, tmp_path, capsys):
    assert main(["--method", "s", "--quiet"]) == 1
    assert "--dataset is required" in capsys.readouterr().err
    assert main(["--method", "s", "--dataset", "image-styling/missing-v0", "--quiet"]) == 1
    assert "not in" in capsys.readouterr().err
    assert main(["--method", "ppo", "--quiet"]) == 1
    with pytest.raises(SystemExit):
        main(["--method", "magic"])
    assert eval_main(["nonsense-agent", "--tasks", "1"]) == 1


def test_cli_defaults_are_the_method_configs():
    """Flags not given leave the registry's defaults (the benchmark's): the planner's encoder
    is PlannerConfig's, not a weaker one the command line would pick; a flag given is kept."""
    from agents import registry
    from agents.embedded.config import PlannerConfig
    from agents.train import _merge_settings, _parser, options

    for method in ("rw", "awac"):
        m = registry.get(method)
        args = _parser().parse_args(["--method", method, "--dataset", "image-styling/simple-v0"])
        config = m.make_config(_merge_settings(options(args, m.kind), args.settings))
        assert config.planner == m.make_config().planner
        assert config.planner.encoder == PlannerConfig().encoder
        args = _parser().parse_args(["--method", method, "--encoder", "hash", "--steps", "7"])
        config = m.make_config(_merge_settings(options(args, m.kind), args.settings))
        assert config.planner.encoder == "hash" and config.training.steps == 7
