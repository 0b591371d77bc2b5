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


def test_a_diverged_run_stops_before_it_is_saved_or_evaluated(small_datasets, tmp_path, capsys):
    out = tmp_path / "nan"
    args = ["--method", "rw", "--dataset", small_datasets["simple"], "--steps", "6", "--batch-size", "32",
            "--image-size", "32", "--encoder", "hash", "--lr", "1e12", "--out", str(out), "--quiet"]  # fmt: skip
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "the training loss became nan at step" in err and "learning rate 1e+12" in err
    assert not (out / "model.pt").exists() and not (out / "train.json").exists()


def test_what_evaluation_and_the_run_folder_need_is_checked_before_training(
    small_datasets, tmp_path, capsys, monkeypatch
):
    from agents import registry

    monkeypatch.setattr(registry.Method, "train", lambda *a, **k: pytest.fail("trained"))
    base = ["--method", "rw", "--dataset", small_datasets["simple"], "--quiet"]
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    for extra, match in (
        (["--tier", "bogus"], "unknown tier 'bogus'"),
        (["--eval-image-size", "5"], "image_size must be an int in [32, 1024], got 5"),
        (["--out", str(blocker / "run")], f"cannot write {blocker / 'run'}"),
        (["--out", " "], "--out is empty"),
        (["--method", "rw-text", "--policy", "qwen3vl", "--model", "tiny"],
         "--method rw-text is the text policy's; --policy qwen3vl asks for another"),
    ):  # fmt: skip
        assert main([*base, *extra]) == 1, extra
        assert match in capsys.readouterr().err


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
    # --encoder reaches d3rlpy's and SB3's configs too (it was dropped in silence), checked there
    for method, field in (("cql", "training"), ("ppo", None)):
        m = registry.get(method)
        args = _parser().parse_args(["--method", method, "--encoder", "minilm"])
        config = m.make_config(_merge_settings(options(args, m.kind), args.settings))
        assert (getattr(config, field) if field else config).encoder == "minilm"
        args = _parser().parse_args(["--method", method, "--encoder", "lex+minilm+hash"])
        with pytest.raises(ValueError, match="encoder must be"):
            m.make_config(_merge_settings(options(args, m.kind), args.settings))
