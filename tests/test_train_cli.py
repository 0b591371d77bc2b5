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
