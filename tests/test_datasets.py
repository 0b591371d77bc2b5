"""Dataset generation (offline_data): teachers, round trip, determinism, errors, CLI."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

import offline_data.dataset as D
from offline_data.__main__ import main as cli
from offline_data.generate import generate, native, rollouts
from offline_data.merge import merge
from offline_data.teachers import (
    MISTAKES,
    NoiseProfile,
    NoisyOracle,
    precise_instruction,
    script_noisy_oracle,
)
from styling_env.engine import Stop
from styling_env.env import ImageStylingEnv
from styling_env.tasks import Task
from styling_env.tools import ToolCall


def test_round_trip_matches_a_fresh_env_replay(small_datasets, one_thread):
    """Every stored observation, action and reward equals a fresh env replaying the stored calls."""
    for tier, did in small_datasets.items():
        ds = D.load(did, verify=True)
        for rec in D.episodes(ds, range(6)):
            task = Task.from_dict(rec.meta["task"])
            env = ImageStylingEnv(tier=tier, image_size=32)
            obs, _ = env.reset(options={"task": task})
            T = len(rec)
            assert rec.infos["call"][T] == "" and len(rec.infos["reasoning"]) == T + 1
            for t in range(T + 1):
                for k in ("image", "source", "context", "history", "steps_left"):
                    np.testing.assert_array_equal(
                        rec.observations[k][t], obs[k], err_msg=f"{tier} {k} t={t}"
                    )
                assert rec.observations["instruction"][t] == obs["instruction"]
                if t == T:
                    break
                call = json.loads(rec.infos["call"][t])
                action = "STOP" if call["action_id"] == "STOP" else ToolCall.from_dict(call)
                expect = native(action if action != "STOP" else Stop())
                for k in ("tool", "value", "region"):
                    assert int(rec.actions[k][t]) == int(expect[k])
                np.testing.assert_array_equal(rec.actions["preserve"][t], expect["preserve"])
                assert rec.actions["strength"][t][0] == pytest.approx(float(expect["strength"][0]))
                obs, reward, term, trunc, info = env.step(Stop() if action == "STOP" else action)
                assert reward == pytest.approx(rec.rewards[t], abs=1e-6)
                assert (term, trunc) == (bool(rec.terminations[t]), bool(rec.truncations[t]))
            assert info["r"] == pytest.approx(rec.r, abs=1e-4)


def test_same_content_for_any_vector_width_and_shards(minari_root):
    kw = dict(image_size=32, ref_episodes=0, progress=False)
    generate("complex", 10, seed=3, num_envs=4, **kw)
    generate("complex", 10, seed=3, num_envs=10, did="image-styling/complex-b-v0", **kw)
    generate("complex", 10, seed=3, num_envs=4, shards=3, did="image-styling/complex-c-v0", **kw)
    sums = [D.info(D.load(d, verify=True))["checksum"] for d in ("image-styling/complex-v0", "image-styling/complex-b-v0", "image-styling/complex-c-v0")]  # fmt: skip
    assert sums[0] == sums[1] == sums[2]
    assert sorted(p.name for p in (minari_root / "image-styling").iterdir()) == [
        "complex-b-v0",
        "complex-c-v0",
        "complex-v0",
        "namespace_metadata.json",
    ]  # fmt: skip  (shards merged and removed, no staging folder left)
    assert not list(minari_root.glob(".staging*"))
    generate("complex", 10, seed=4, num_envs=4, did="image-styling/complex-d-v0", **kw)
    assert D.info(D.load("image-styling/complex-d-v0"))["checksum"] != sums[0]


@pytest.mark.parametrize("tier", ["simple", "regular", "complex"])
def test_quality_spreads_like_the_papers(tier):
    """About 65% of trajectories reach r >= 4 and a real tail stays below 3."""
    n = 160
    fins = list(
        rollouts(
            tier, range(n), 11, NoisyOracle(NoiseProfile.for_tier(tier)), image_size=64, num_envs=32
        )
    )
    r = np.array([f.r for f in fins])
    assert 0.5 <= (r >= 4.0).mean() <= 0.8, (r >= 4.0).mean()
    assert (r < 3.0).mean() >= 0.08
    clean = np.array([not f.meta["noise"]["mistakes"] for f in fins])
    assert r[clean].mean() > r[~clean].mean() + 0.8


def test_reasons_are_fluent_grounded_and_do_not_leak_quality(small_datasets):
    right, wrong = [], []
    for did in small_datasets.values():
        for rec in D.episodes(D.load(did)):
            for t in range(len(rec)):
                text, tag = rec.infos["reasoning"][t], rec.infos["mistake"][t]
                assert 20 <= len(text.split()) <= 40, text
                if '"STOP"' not in rec.infos["call"][t]:  # STOP reasons summarize what was done
                    (wrong if tag else right).append(text)
            assert rec.meta["precise_instruction"]
            for a in rec.meta["plan"]["actions"]:
                assert a["action_id"] and a["reasoning"] and 1 <= a["priority"] <= 5
    assert wrong, "the small datasets should contain mistakes"
    vocab = re.compile(r"\b(mistake|wrong|error|incorrect|noise|bad|sibling)\b", re.I)
    assert not any(vocab.search(t) for t in right + wrong)
    # the same sentence frames: the first three words of wrong reasons all occur in right ones
    starts = {" ".join(t.split()[:3]) for t in right}
    assert {" ".join(t.split()[:3]) for t in wrong} <= starts
    assert (
        abs(np.mean([len(t.split()) for t in right]) - np.mean([len(t.split()) for t in wrong])) < 4
    )


def test_every_mistake_kind_changes_the_plan():
    plan = [
        ToolCall("season_cycle", "winter_bare", 0.8, params={"preserve": ("sky",)}),
        ToolCall("time_of_day", "dusk_twilight", 0.6, params={"preserve": ("sky",)}),
        ToolCall("color_grading", "cool_blue", 0.5, params={"preserve": ("sky",)}),
    ]
    for kind in MISTAKES:
        profile = NoiseProfile(clean=0.0, n_mistakes=(1, 0, 0), weights={kind: 1.0}, jitter=0.0)
        s = script_noisy_oracle(plan, np.random.default_rng(0), profile)
        assert s.mistakes == [kind]
        assert s.calls != plan, kind
    assert precise_instruction(plan).startswith("Turn the season to winter bare (strong), then")
    assert "Leave the sky untouched." in precise_instruction(plan)
    with pytest.raises(ValueError, match="unknown mistake kind"):
        NoiseProfile(weights={"typo": 1.0})
    with pytest.raises(ValueError, match="clean"):
        NoiseProfile(clean=1.5)


def test_metadata_card_and_reference_scores(small_datasets):
    ds = D.load(small_datasets["regular"])
    m = ds.storage.metadata
    assert m["ref_min_score"] < m["ref_max_score"]
    assert m["author"] and m["description"] and m["code_permalink"]
    ours = D.info(ds)
    assert ours["recipe"]["tier"] == "regular" and ours["recipe"]["episodes"] == 24
    assert sum(ours["r_histogram"].values()) == 24
    meta = next(iter(ds.storage.get_episode_metadata([0])))
    for key in (
        "task",
        "instruction",
        "precise_instruction",
        "plan",
        "oracle_plan",
        "scores",
        "r",
        "noise",
    ):
        assert key in meta
    assert set(meta["scores"]) == {
        "instruction_following", "visual_quality", "transformation_strength", "coherence",
        "semantic_accuracy", "technical_execution",
    }  # fmt: skip
    card = D.card(ds)
    assert "episodes 24" in card and "r histogram" in card
    # Minari's own tools read our datasets
    import minari

    assert "image-styling/regular-v0" in minari.list_local_datasets()
    norm = minari.get_normalized_score(ds, np.array([m["ref_max_score"]]))
    assert norm[0] == pytest.approx(1.0)


def test_bad_datasets_get_clear_errors(small_datasets, tmp_path, monkeypatch):
    src = D.dataset_path(small_datasets["simple"])
    root = tmp_path / "root"
    shutil.copytree(src.parent, root / "image-styling")
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(root))
    did = "image-styling/simple-v0"
    with pytest.raises(D.DatasetError, match="not in"):
        D.load("image-styling/nothing-v0")
    meta_file = root / did / "data" / "metadata.json"
    good = meta_file.read_text()
    meta = json.loads(good)
    meta[D.META_KEY]["format_version"] = 99
    meta_file.write_text(json.dumps(meta))
    with pytest.raises(D.DatasetError, match="format version 99"):
        D.load(did)
    meta[D.META_KEY]["format_version"] = 1  # before preserve was part of the action
    meta_file.write_text(json.dumps(meta))
    with pytest.raises(D.DatasetError, match=r"version 1 predates preserve.*regenerate"):
        D.load(did)
    meta[D.META_KEY].update(format_version=D.FORMAT_VERSION, complete=False)
    meta_file.write_text(json.dumps(meta))
    with pytest.raises(D.DatasetError, match="incomplete"):
        D.load(did)
    meta_file.write_text("{not json")
    with pytest.raises(D.DatasetError, match="corrupt"):
        D.load(did)
    meta_file.write_text(good)
    D.load(did, verify=True)
    # a changed data file: the checksum says so
    part = next((root / did / "data" / "3").glob("*.parquet"))
    other = next((root / did / "data" / "4").glob("*.parquet"))
    shutil.copy(other, part)
    with pytest.raises(D.DatasetError, match="checksum|cannot be read"):
        D.load(did, verify=True)
    assert cli(["verify", did]) == 1
    # a missing data file
    shutil.rmtree(root / did / "data" / "5")
    with pytest.raises(D.DatasetError):
        D.load(did, verify=True)


def test_metadata_that_is_not_a_json_object_is_a_named_error_everywhere(
    small_datasets, tmp_path, monkeypatch, capsys
):
    """A data/metadata.json holding valid JSON of another shape (an array) is corrupt like an
    unreadable one: load, show, verify, merge and upload name it, and list marks the dataset
    unusable and goes on (it failed with AttributeError: 'list' object has no attribute 'get')."""
    from offline_data.remote import upload

    root = tmp_path / "root"
    shutil.copytree(D.dataset_path(small_datasets["simple"]).parent, root / "image-styling")
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(root))
    did = "image-styling/simple-v0"
    for bad in ('"text"', "3", "[1, 2]"):
        (root / did / "data" / "metadata.json").write_text(bad)
        with pytest.raises(D.DatasetError, match=r"metadata.json is corrupt \(it holds a JSON"):
            D.load(did)
    assert cli(["show", did]) == 1 and "not an object" in capsys.readouterr().err
    assert cli(["verify", did]) == 1 and "not an object" in capsys.readouterr().err
    assert cli(["list"]) == 0
    out = capsys.readouterr().out
    assert re.search(rf"{did} +unusable: .*metadata.json is corrupt", out)
    assert "image-styling/regular-v0" in out  # the others are still listed
    with pytest.raises(D.DatasetError, match="metadata.json is corrupt"):
        merge([did], "image-styling/merged-v0")
    with pytest.raises(D.DatasetError, match="refusing to upload.*metadata.json is corrupt"):
        upload(did, remote=str(tmp_path / "mirror"))


def test_interrupted_generation_leaves_nothing_that_looks_complete(minari_root):
    class Boom(NoisyOracle):
        calls = 0

        def act(self, observations, slots):
            Boom.calls += 1
            if Boom.calls > 6:
                raise KeyboardInterrupt
            return super().act(observations, slots)

    stale = minari_root / ".staging-999999999-1"  # left by a killed run (no such process)
    stale.mkdir(parents=True)
    with pytest.raises(KeyboardInterrupt):
        generate(
            "simple", 12, image_size=32, teacher=Boom(), num_envs=4, ref_episodes=0, progress=False
        )
    assert not D.dataset_path("image-styling/simple-v0").exists()
    assert not list(minari_root.glob(".staging*"))


def test_merge_checks_its_shards(minari_root):
    from offline_data.generate import generate_shard

    kw = dict(image_size=32, ref_episodes=0, progress=False, num_envs=4)
    generate_shard("simple", 6, 0, 0, 2, **kw)
    generate_shard("simple", 6, 0, 1, 2, **kw)
    generate_shard("simple", 6, 1, 1, 2, did="image-styling/other-v0", **kw)
    s0, s1 = "image-styling/simple-shard0of2-v0", "image-styling/simple-shard1of2-v0"
    # the target may not be one of its parts: that merge replaced, then deleted, its own input
    with pytest.raises(D.DatasetError, match=f"cannot merge into '{s0}': it is one of the parts"):
        merge([s0, s0, s1], s0, overwrite=True, remove_parts=True)
    with pytest.raises(D.DatasetError, match=f"shard '{s1}' is listed twice"):
        merge([s0, s1, s1], "image-styling/simple-v0", remove_parts=True)
    for part in (s0, s1):
        D.load(part, verify=True)  # both parts untouched
    assert not D.dataset_path("image-styling/simple-v0").exists()
    with pytest.raises(D.DatasetError, match="do not tile"):
        merge(["image-styling/simple-shard1of2-v0"], "image-styling/simple-v0")
    with pytest.raises(D.DatasetError, match="different recipe"):
        merge(
            ["image-styling/simple-shard0of2-v0", "image-styling/other-shard1of2-v0"],
            "image-styling/simple-v0",
        )
    merge(
        ["image-styling/simple-shard1of2-v0", "image-styling/simple-shard0of2-v0"],
        "image-styling/simple-v0",
    )
    whole = generate("simple", 6, 0, did="image-styling/whole-v0", **kw)
    assert whole.exists()
    assert (
        D.info(D.load("image-styling/simple-v0", verify=True))["checksum"]
        == D.info(D.load("image-styling/whole-v0"))["checksum"]
    )
    # the merged episodes are hard links to the shards' files: the shards, kept, are untouched
    for k in range(2):
        shard = D.load(f"image-styling/simple-shard{k}of2-v0", verify=True)
        assert [m["id"] for m in shard.storage.get_episode_metadata(range(3))] == [0, 1, 2]
    merged = D.load("image-styling/simple-v0")
    assert [m["id"] for m in merged.storage.get_episode_metadata(range(6))] == list(range(6))
    assert (merged.total_episodes, merged.total_steps) == (
        6,
        D.load("image-styling/whole-v0").total_steps,
    )


def test_cli_generate_show_list_and_minari_cli(minari_root, capsys):
    assert cli(["generate", "--tier", "simple", "--episodes", "6", "--image-size", "32", "--ref-episodes", "4", "--num-envs", "3", "--quiet"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "image-styling/simple-v0" in out and "episodes/s" in out
    assert (
        cli(["generate", "--tier", "simple", "--episodes", "6", "--image-size", "32", "--quiet"])
        == 1
    )
    assert "already exists" in capsys.readouterr().err
    assert cli(["show", "image-styling/simple-v0"]) == 0
    assert cli(["list"]) == 0 and "image-styling/simple-v0" in capsys.readouterr().out
    assert cli(["show", "image-styling/missing-v0"]) == 1
    assert (
        cli(["generate", "--tier", "simple", "--episodes", "0", "--id", "image-styling/x-v0"]) == 2
    )
    env = {"MINARI_DATASETS_PATH": str(minari_root), "PATH": "", "HOME": str(minari_root)}
    minari_cli = [sys.executable, "-c", "from minari.cli import app; app()"]
    shown = subprocess.run(
        [*minari_cli, "show", "image-styling/simple-v0"], capture_output=True, text=True, env=env
    )
    assert shown.returncode == 0, shown.stderr
    assert "simple" in shown.stdout
    listed = subprocess.run([*minari_cli, "list", "local"], capture_output=True, text=True, env=env)
    assert listed.returncode == 0 and "Number of datasets: 1" in listed.stdout


def test_cli_clean_makes_a_noisier_teacher(minari_root, capsys):
    """--clean sets the noisy oracle's share of mistake-free episodes, recorded in the recipe;
    a share outside [0, 1] or --clean with another teacher is refused by name."""
    from offline_data import dataset as D

    base = ["generate", "--tier", "simple", "--episodes", "6", "--image-size", "32",
            "--ref-episodes", "0", "--num-envs", "3", "--quiet"]  # fmt: skip
    assert cli([*base, "--clean", "0", "--id", "image-styling/noisy-v0"]) == 0
    ds = D.load("image-styling/noisy-v0")
    assert D.info(ds)["recipe"]["profile"]["clean"] == 0.0
    noise = [m["noise"] for m in ds.storage.get_episode_metadata(range(ds.total_episodes))]
    assert all(n["n_mistakes"] >= 1 for n in noise)  # no mistake-free episode
    capsys.readouterr()
    assert cli([*base, "--clean", "1.5", "--id", "image-styling/bad-v0"]) == 2
    assert "clean must be a number in [0, 1], got 1.5" in capsys.readouterr().err
    assert (
        cli([*base, "--clean", "0.5", "--teacher", "oracle", "--id", "image-styling/bad-v0"]) == 2
    )
    assert "--clean is an option of --teacher noisy-oracle" in capsys.readouterr().err
    assert not (minari_root / "image-styling" / "bad-v0").exists()


def test_any_agent_can_be_the_teacher(minari_root):
    """An agent with SB3's predict writes a dataset; its invalid actions are stored raw."""
    from agents.baselines import EditOnlyAgent
    from offline_data.teachers import AgentTeacher

    class Clumsy:
        """Calls a value past time_of_day's vocabulary, then STOP."""

        def predict(self, observation, state=None, episode_start=None, deterministic=True):
            n = len(observation["instruction"])
            first = np.asarray(observation["steps_left"]) == 8
            tool = np.where(first, 3, 10)
            return {"tool": tool, "value": np.full(n, 29), "strength": np.full((n, 1), 0.5, np.float32), "region": np.zeros(n, int)}, state  # fmt: skip

    kw = dict(image_size=32, ref_episodes=0, progress=False, num_envs=3)
    generate("simple", 4, teacher=AgentTeacher(EditOnlyAgent(), name="edit-only"), **kw)
    ds = D.load("image-styling/simple-v0", verify=True)
    assert D.info(ds)["recipe"]["teacher"] == "edit-only"
    generate("simple", 3, teacher=AgentTeacher(Clumsy()), did="image-styling/clumsy-v0", **kw)
    for rec in D.episodes(D.load("image-styling/clumsy-v0", verify=True)):
        assert rec.infos["call"][0].startswith('{"action_id": "INVALID"')
        assert (int(rec.actions["tool"][0]), int(rec.actions["value"][0])) == (3, 29)
        assert rec.rewards[0] < 0  # the invalid-call penalty


def test_a_truncated_data_file_is_a_named_error_everywhere(small_datasets, tmp_path, monkeypatch):
    from agents.train import main as train_cli
    from offline_data.loaders import to_tensors

    src = D.dataset_path(small_datasets["simple"])
    root = tmp_path / "root"
    shutil.copytree(src.parent, root / "image-styling")
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(root))
    did = "image-styling/simple-v0"
    part = next((root / did / "data" / "3").glob("*.parquet"))
    part.write_bytes(part.read_bytes()[: part.stat().st_size // 2])
    with pytest.raises(D.DatasetError, match="episode 3 .* damaged or truncated"):
        D.load(did)
    with pytest.raises(D.DatasetError, match="damaged or truncated"):
        to_tensors(did)
    assert cli(["show", did]) == 1
    args = ["--method", "s", "--dataset", did, "--steps", "1", "--eval-tasks", "0", "--quiet"]
    assert train_cli([*args, "--out", str(tmp_path / "runs")]) == 1


def test_datasets_path_sets_and_restores_minari_root(minari_root, monkeypatch, tmp_path):
    import os

    with D.datasets_path(tmp_path / "elsewhere") as where:
        assert where == tmp_path / "elsewhere"
        assert D.datasets_root() == where and where.is_dir()  # Minari reads it on every call
    assert os.environ["MINARI_DATASETS_PATH"] == str(minari_root)
    monkeypatch.delenv("MINARI_DATASETS_PATH")
    with pytest.raises(KeyError), D.datasets_path(tmp_path / "x"):
        assert os.environ["MINARI_DATASETS_PATH"] == str(tmp_path / "x")
        raise KeyError("inside")
    assert "MINARI_DATASETS_PATH" not in os.environ  # unset before, unset after (an error too)


def test_generation_arguments_are_checked_before_any_work(minari_root):
    from offline_data.generate import generate_shard

    with pytest.raises(ValueError, match="episodes must be a positive int, got 0"):
        generate("simple", 0, progress=False)
    with pytest.raises(ValueError, match="episodes must be a positive int, got True"):
        generate("simple", True, progress=False)
    with pytest.raises(ValueError, match="shards must be a positive int, got 0"):
        generate("simple", 4, shards=0, progress=False)
    with pytest.raises(ValueError, match=r"shards must be an int in \[1, episodes\], got 5"):
        generate("simple", 4, shards=5, progress=False)
    with pytest.raises(ValueError, match=r"shard must be an int in \[0, 1\], got 2"):
        generate_shard("simple", 4, 0, 2, 2, progress=False)
    with pytest.raises(ValueError, match="shard must be a non-negative int, got -1"):
        generate_shard("simple", 4, 0, -1, 2, progress=False)
    with pytest.raises(ValueError, match=r"clean must be a number in \[0, 1\], got 1.5"):
        NoiseProfile(clean=1.5)
    with pytest.raises(ValueError, match=r"jitter must be a number in \[0, 1\], got -0.1"):
        NoiseProfile(jitter=-0.1)
    assert not list(minari_root.glob("**/*.json"))  # nothing was written


def test_recipe_and_run_counts_are_named_errors_before_any_work(minari_root):
    """per_task 0 divided by zero deep in episode_task; a negative seed or per_task failed in
    numpy ("expected non-negative integer"); num_envs < 1 was clamped to 1; ref_episodes < 0
    wrote NaN reference scores. Each is refused by name, in the library (generate,
    generate_shard, the Ray path, the helpers) and before anything is written."""
    from offline_data.generate import (
        check_training_split,
        episode_task,
        generate_shard,
        reference_returns,
        write_dataset,
    )

    cases = [
        (dict(per_task=0), "per_task must be a positive int, got 0"),
        (dict(per_task=-1), "per_task must be a positive int, got -1"),
        (dict(seed=-1), "seed must be a non-negative int, got -1"),
        (dict(num_envs=0), "num_envs must be a positive int, got 0"),
        (dict(num_envs=-2), "num_envs must be a positive int, got -2"),
        (dict(ref_episodes=-1), "ref_episodes must be a non-negative int, got -1"),
    ]
    for kw, msg in cases:
        seed, rest = kw.get("seed", 0), {k: v for k, v in kw.items() if k != "seed"}
        with pytest.raises(ValueError, match=msg):
            generate("simple", 4, seed, progress=False, **rest)
        with pytest.raises(ValueError, match=msg):
            generate_shard("simple", 4, seed, 0, 2, progress=False, **rest)
    try:
        import ray  # noqa: F401

        from offline_data.ray_generate import generate_on_ray
    except ImportError:
        pass
    else:  # the Ray path shares the checks (before Ray is started)
        for kw, msg in cases:
            with pytest.raises(ValueError, match=msg):
                generate_on_ray("simple", 4, progress=False, **kw)
    with pytest.raises(ValueError, match="per_task must be a positive int, got 0"):
        episode_task("simple", 0, 3, per_task=0)
    with pytest.raises(ValueError, match="n must be a positive int, got 0"):
        reference_returns("simple", 0, 32, n=0)
    with pytest.raises(ValueError, match="num_envs must be a positive int, got 0"):
        next(rollouts("simple", range(2), 0, NoisyOracle(), image_size=32, num_envs=0))
    with pytest.raises(ValueError, match="ref_scores must be finite"):
        write_dataset("image-styling/nan-v0", [], recipe=D.Recipe("simple", 1),
                      ref_scores=(float("nan"), 1.0))  # fmt: skip
    with pytest.raises(ValueError, match="unknown split 'bogus'; expected one of train, test"):
        check_training_split("bogus")
    with pytest.raises(ValueError, match="split 'test' is for evaluation"):
        check_training_split("test")
    assert not list(minari_root.glob("**/*.json"))  # nothing was written


def test_cli_generate_names_the_flag_of_a_bad_count(minari_root, capsys):
    base = ["generate", "--tier", "simple", "--episodes", "4", "--image-size", "32", "--quiet",
            "--id", "image-styling/x-v0"]  # fmt: skip
    for args, msg in [
        (["--per-task", "0"], "--per-task must be a positive int, got 0"),
        (["--per-task", "-1"], "--per-task must be a positive int, got -1"),
        (["--seed", "-1"], "--seed must be a non-negative int, got -1"),
        (["--ref-episodes", "-1"], "--ref-episodes must be a non-negative int, got -1"),
        (["--num-envs", "0"], "--num-envs must be a positive int, got 0"),
        (["--num-envs", "-2"], "--num-envs must be a positive int, got -2"),
        (["--shards", "0"], "--shards must be a positive int, got 0"),  # was taken for 1
        (["--shards", "2", "--shard", "-1"], "--shard must be a non-negative int, got -1"),
        (["--split", "bogus"], "unknown split 'bogus'; expected one of train, test, free"),
    ]:
        assert cli([*base, *args]) == 2, args
        assert msg in capsys.readouterr().err, args
    assert not list(minari_root.glob("**/*.json"))  # refused before any work


def test_no_reference_scores_are_none_and_a_shard_reports_its_rate(minari_root, capsys):
    """--ref-episodes 0 records no reference scores (the card says none, never nan); a --shard
    run reports its own episodes per second (it printed 0.0)."""
    args = ["generate", "--tier", "simple", "--episodes", "4", "--image-size", "32",
            "--num-envs", "2", "--ref-episodes", "0", "--shards", "2", "--shard", "1", "--quiet"]  # fmt: skip
    assert cli(args) == 0
    out = capsys.readouterr().out
    assert "ref scores (random / oracle return) none" in out and "nan" not in out
    rate = float(re.search(r"\(([0-9.]+) episodes/s\)", out).group(1))
    assert rate > 0
    meta = json.loads((D.dataset_path("image-styling/simple-shard1of2-v0") / "data" / "metadata.json").read_text())  # fmt: skip
    assert "ref_min_score" not in meta and "ref_max_score" not in meta


def test_preserve_travels_in_the_stored_actions(small_datasets):
    """Format 2: every stored action holds the 6 preserve bits, equal to the regions its call
    JSON preserves; the teacher's correct calls protect the task's preserved regions (its
    ignore_constraint mistake drops them)."""
    from styling_env.actions import preserve_names

    assert D.FORMAT_VERSION == 2
    ds = D.load(small_datasets["complex"])
    assert ds.action_space["preserve"].n == 6
    seen = 0
    for rec in D.episodes(ds):
        task = Task.from_dict(rec.meta["task"])
        keep = task.preserved_regions()
        bits = np.asarray(rec.actions["preserve"])
        assert bits.shape == (len(rec), 6) and set(np.unique(bits)) <= {0, 1}
        for t in range(len(rec)):
            call = json.loads(rec.infos["call"][t])
            if call["action_id"] in ("STOP", "INVALID"):
                assert call["action_id"] == "INVALID" or not bits[t].any()
                continue
            c = ToolCall.from_dict(call)
            assert preserve_names(bits[t]) == preserve_names(c.preserve_bits)
            if keep and not rec.infos["mistake"][t]:  # a call the teacher got right
                assert set(preserve_names(bits[t])) == set(keep)
                seen += 1
    assert seen > 0  # the small complex tier has tasks with preserved regions


def test_episodes_outside_a_dataset_are_named(small_datasets, tmp_path):
    from agents import registry

    did = small_datasets["simple"]
    ds = D.load(did)
    n = ds.total_episodes
    with pytest.raises(D.DatasetError, match=f"episode {n} is not in .*holds episodes 0-{n - 1}"):
        list(D.episodes(ds, range(n - 1, n + 2)))  # Minari's error named a missing folder
    with pytest.raises(D.DatasetError, match="episode -1 is not in"):
        list(D.episode_steps(ds, [-1]))
    m = registry.get("rw")
    for episodes, match in (
        (n + 1, f"episodes={n + 1}, but .* holds {n}"),
        (0, "episodes must be"),
    ):
        job = registry.TrainJob(m, m.make_config(), 0, tmp_path, dataset=did, episodes=episodes)
        with pytest.raises(ValueError, match=match):
            job.records()  # 0 gave an empty list; more than the dataset, Minari's error
