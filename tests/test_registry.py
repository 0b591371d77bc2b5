"""The method registry: every method is one entry; a new one is one file plus one line."""

from __future__ import annotations

import json

import pytest

from agents import registry
from agents.config import Config
from agents.registry import Method


def test_every_builtin_method_resolves_and_its_config_round_trips():
    for key in registry.names():
        m = registry.get(key)
        assert registry.METHODS[key] == (m.label, m.kind)
        if not m.trainable:
            assert m.factory and registry.resolve(m.factory)
            continue
        config = m.make_config()
        assert isinstance(config, Config)
        assert type(config).from_dict(json.loads(json.dumps(config.to_dict()))) == config
        assert callable(registry.resolve(m.trainer)) and callable(registry.resolve(m.loader))
        assert config.with_steps(7) != config or key.startswith("most")  # a budget is a field


def test_method_defaults_make_the_variant_and_options_go_over_them():
    s_text = registry.get("s-text").make_config({"training": {"lr": 3e-4}})
    assert s_text.objective == "s" and s_text.planner.text_only and s_text.training.lr == 3e-4
    sw_task = registry.get("sw-task").make_config()
    assert (sw_task.objective, sw_task.groups) == ("sw", "task_id")
    assert registry.get("dpo").reference == "s" and registry.get("dpo-text").reference == "s-text"
    cql = registry.get("cql").make_config({"algo_config": {"batch_size": 64}})
    assert cql.algo == "cql" and cql.algo_config == {"batch_size": 64}


def test_unknown_or_invalid_config_fields_are_named():
    with pytest.raises(ValueError, match="unknown TrainConfig field.*nope"):
        registry.get("rw").make_config({"training": {"nope": 1}})
    with pytest.raises(ValueError, match="unknown EmbeddedMethodConfig field.*colour"):
        registry.get("rw").make_config({"colour": "red"})
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        registry.get("rw").make_config({"training": {"batch_size": 0}})
    with pytest.raises(ValueError, match="schedule must be one of constant, cosine"):
        registry.get("s").make_config({"training": {"schedule": "linear"}})
    with pytest.raises(ValueError, match="unknown method 'magic'"):
        registry.get("magic")


def test_registering_checks_the_entry():
    with pytest.raises(ValueError, match="already registered"):
        registry.register(Method("rw", "RW2", "embedded", trainer="x:y", config="x:Y"))
    with pytest.raises(ValueError, match="exactly one of factory"):
        Method("mine", "Mine", "custom")
    with pytest.raises(ValueError, match="kind must be one of"):
        Method("mine", "Mine", "magic", factory="x:y")
    with pytest.raises(ValueError, match="needs a config type"):
        Method("mine", "Mine", "custom", trainer="x:y")


def test_the_example_method_trains_evaluates_reloads_and_runs_as_a_benchmark_cell(
    small_datasets, tmp_path
):
    """README's worked example: one new file (examples/most_common_plan.py), no other edit."""
    from agents.evaluate import load_agent
    from agents.train import main
    from experiments import benchmark as B

    spec = "examples.most_common_plan:METHOD"
    out = tmp_path / "run"
    args = ["--method", spec, "--dataset", small_datasets["simple"], "--eval-tasks", "3",
            "--out", str(out), "--quiet"]  # fmt: skip
    assert main(args) == 0
    summary = json.loads((out / "train.json").read_text())
    assert summary["registry_key"] == "most-common-plan" and summary["eval"]["episodes"] == 3
    assert summary["votes"] >= 1 and summary["config"] == {"min_r": 4.0, "max_calls": 6}
    agent = load_agent(str(out / "plan.json"))
    assert agent.plan == registry.get("most-common-plan").load(out / "plan.json").plan

    preset = B.Preset(tiers=("simple",), methods=("random", spec), seeds=1, episodes=24,
                      image_size=32, eval_tasks=3)  # fmt: skip
    assert preset.methods == ("random", "most-common-plan")  # specs become registered keys
    cell = B.Cell("main", "simple", "most-common-plan", 0, small_datasets["simple"])
    record = B.Runner(preset, tmp_path / "bench", progress=False).cell(cell, None)
    assert record["label"] == "Most common plan" and record["kind"] == "custom"
    assert (
        record["eval"]["episodes"] == 3
        and (cell.folder(tmp_path / "bench") / "plan.json").is_file()
    )


def test_train_cli_sets_any_config_field_and_names_bad_ones(small_datasets, tmp_path, capsys):
    from agents.train import main

    ds = small_datasets["simple"]
    out = tmp_path / "run"
    args = ["--method", "s", "--dataset", ds, "--steps", "3", "--batch-size", "16", "--eval-tasks", "0",
            "--image-size", "32", "--encoder", "hash", "--set", "training.weight_decay=0.05",
            "planner.hash_dim=64", "--out", str(out), "--quiet"]  # fmt: skip
    assert main(args) == 0
    config = json.loads((out / "train.json").read_text())["config"]
    assert config["training"]["weight_decay"] == 0.05 and config["planner"]["hash_dim"] == 64
    assert config["training"]["steps"] == 3 and config["objective"] == "s"
    from agents.embedded import EmbeddedPlanner

    saved = EmbeddedPlanner.load(out / "model.pt")
    assert saved.meta["training"]["weight_decay"] == 0.05 and saved.config.hash_dim == 64
    bad = ["--method", "s", "--dataset", ds, "--eval-tasks", "0", "--quiet", "--set"]
    assert main([*bad, "training.nope=1"]) == 1
    assert "unknown TrainConfig field(s) nope" in capsys.readouterr().err
    assert main([*bad, "training.lr=-1"]) == 1
    assert "lr must be a finite number > 0" in capsys.readouterr().err
    assert main([*bad, "lr"]) == 1
    assert "--set takes FIELD=VALUE" in capsys.readouterr().err
