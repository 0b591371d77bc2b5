"""Generation, the benchmark and evaluations on Ray: a local instance of 2 CPUs shared by the
module. A sharded generation on Ray equals the local one (checksum); a benchmark with a
deliberately failing cell finishes the others and reports the failure; a killed run resumes;
evaluations run as tasks. Without ``ray`` installed the flags give one clear error."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from agents.registry import Method, Trained
from experiments import benchmark as B

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
#: The helper methods below are complete registry entries (they stay registered after this
#: module: other tests check every registered method).
_ENTRY = dict(config="agents.embedded.method:EmbeddedMethodConfig",
              loader="agents.embedded.method:load", checkpoint="model.pt")  # fmt: skip


def _scratch() -> Path:
    """The folder the helper trainers below talk through (set by the ray fixture; the workers
    inherit it)."""
    return Path(os.environ["IMAGESTYLING_RAY_TEST_DIR"])


def boom_train(job):
    """A trainer that always fails (and counts its attempts)."""
    with open(_scratch() / "boom-attempts", "a") as f:
        f.write(f"{job.seed}\n")
    raise RuntimeError("deliberate failure")


def slow_train(job):
    """A trainer that waits while the ``block`` file exists, then returns random plans."""
    from agents.baselines import RandomAgent

    (_scratch() / "slow-started").touch()
    t0 = time.monotonic()
    while (_scratch() / "block").exists() and time.monotonic() - t0 < 120:
        time.sleep(0.2)
    return Trained(RandomAgent(seed=job.seed), {"seconds": 0.0})


BOOM = Method("boom", "Boom", "custom", trainer="test_ray:boom_train", **_ENTRY)
BOOM_CHILD = Method(
    "boom-child", "Boom child", "custom", trainer="test_ray:boom_train", reference="boom", **_ENTRY
)
SLOW = Method("slow", "Slow", "custom", trainer="test_ray:slow_train", **_ENTRY)

#: The killed run's command line (its preset, rebuilt in-process to resume it).
KILLED_ARGS = [
    "--preset", "quick", "--tiers", "simple", "--methods", "random", "test_ray:SLOW",
    "--seeds", "1", "--episodes", "8", "--image-size", "32", "--eval-tasks", "4", "--no-studies",
]  # fmt: skip


@pytest.fixture(scope="module")
def ray_local(tmp_path_factory):
    """A local Ray of 2 CPUs for this module; its workers can import this file (the helper
    trainers) and see one Minari root and scratch folder."""
    ray = pytest.importorskip("ray")
    base = tmp_path_factory.mktemp("ray")
    env = {
        "MINARI_DATASETS_PATH": str(base / "minari"),
        "IMAGESTYLING_RAY_TEST_DIR": str(base / "scratch"),
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(TESTS), str(ROOT), os.environ.get("PYTHONPATH")) if p
        ),  # fmt: skip
        "RAY_DISABLE_USAGE_STATS": "1",
    }
    (base / "scratch").mkdir()
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env={"env_vars": env})  # fmt: skip
    try:
        yield base
    finally:
        ray.shutdown()
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_generation_on_ray_equals_local(ray_local, capsys):
    from offline_data import dataset as D
    from offline_data.__main__ import main
    from offline_data.generate import generate
    from offline_data.ray_generate import generate_on_ray

    kw = dict(image_size=32, num_envs=4, ref_episodes=2, progress=False)
    generate("simple", 6, 3, did="image-styling/local-v0", **kw)
    generate_on_ray("simple", 6, 3, did="image-styling/onray-v0", shards=3, **kw)
    a, b = D.load("image-styling/local-v0"), D.load("image-styling/onray-v0", verify=True)
    assert D.info(b)["checksum"] == D.info(a)["checksum"]
    assert b.storage.metadata["combined_datasets"] == [
        f"image-styling/onray-shard{k}of3-v0" for k in range(3)
    ]
    for k in ("ref_min_score", "ref_max_score", "num_episodes_average_score", "total_steps"):
        assert b.storage.metadata[k] == a.storage.metadata[k], k
    assert D.info(b)["ray_tasks"] == 3
    # one task writes the dataset itself, as a local run does (no merge)
    generate_on_ray("simple", 6, 3, did="image-styling/one-v0", shards=1, **kw)
    one = D.load("image-styling/one-v0", verify=True)
    assert D.info(one)["checksum"] == D.info(a)["checksum"] and D.info(one)["ray_tasks"] == 1
    assert "combined_datasets" not in one.storage.metadata and "shard" not in D.info(one)
    assert one.storage.metadata["ref_max_score"] == a.storage.metadata["ref_max_score"]
    root = ray_local / "minari"
    assert not list(root.glob(".ray-*"))  # the work folder is gone
    assert sorted(p.name for p in (root / "image-styling").iterdir()) == [
        "local-v0", "namespace_metadata.json", "one-v0", "onray-v0",
    ]  # fmt: skip
    # the command line: the default task count (one per torch-thread count of CPUs: each
    # task reserves as many CPUs as it runs threads), then bad combinations
    args = ["generate", "--tier", "simple", "--episodes", "4", "--image-size", "32",
            "--num-envs", "4", "--ref-episodes", "0", "--quiet", "--id", "image-styling/cli-v0"]  # fmt: skip
    assert main([*args, "--ray"]) == 0
    slots = max(1, 2 // torch.get_num_threads())  # the fixture's 2 CPUs
    assert D.info(D.load("image-styling/cli-v0"))["ray_tasks"] == slots
    assert "image-styling/cli-v0" in capsys.readouterr().out
    assert main([*args, "--ray", "--shards", "2", "--shard", "1", "--overwrite"]) == 2
    assert "drop --shard" in capsys.readouterr().err
    assert main([*args, "--address", "auto", "--overwrite"]) == 2
    assert "--address needs --ray" in capsys.readouterr().err
    assert main([*args, "--ray"]) == 1  # exists: the same message as a local run
    assert "already exists" in capsys.readouterr().err


def test_a_task_larger_than_every_node_is_refused(ray_local):
    from offline_data.ray_generate import RayClusterError, generate_on_ray

    with pytest.raises(RayClusterError, match="asks for 3 CPUs but the largest node .* has 2"):
        generate_on_ray("simple", 4, 0, did="image-styling/big-v0", image_size=32, threads=3,
                        progress=False)  # fmt: skip
    with pytest.raises(RayClusterError, match="asks for 4 CPUs"):
        generate_on_ray("simple", 4, 0, did="image-styling/big-v0", image_size=32, threads=1,
                        cpus_per_task=4, progress=False)  # fmt: skip
    assert not list((ray_local / "minari").glob(".ray-*"))


def test_bench_generation_times_both_at_each_thread_count(ray_local):
    from experiments.cluster import bench_generation

    lines: list[str] = []
    res = bench_generation("simple", 4, 1, image_size=32, threads=[1], num_envs=4, ref_episodes=2, log=lines.append)  # fmt: skip
    assert [(r["how"], r["threads"]) for r in res["runs"]] == [("local", 1), ("ray", 1)]
    assert len(lines) == 2 and res["same_checksum"] == {1: True}
    assert set(res["median_s"]) == {"local@1", "ray@1"} and res["fastest_ray"] == "ray@1"
    assert res["ray_over_local"][1] > 0 and res["fastest_ray_over_one_process"] > 0
    assert torch.get_num_threads() == res["default_threads"]  # restored


def test_generation_on_ray_in_another_library_equals_local(ray_local):
    from offline_data import dataset as D
    from offline_data.generate import generate
    from offline_data.ray_generate import generate_on_ray

    kw = dict(image_size=32, num_envs=4, ref_episodes=4, progress=False, library="v3")
    generate("complex", 6, 1, did="image-styling/local-v3-v0", **kw)
    generate_on_ray("complex", 6, 1, shards=2, **kw)  # the library's default id
    a = D.load("image-styling/local-v3-v0")
    b = D.load("image-styling/complex-v3-v0", verify=True)
    assert D.info(b)["checksum"] == D.info(a)["checksum"]
    assert D.dataset_library(b) == "v3" and D.info(b)["recipe"]["library"] == "v3"
    for k in ("ref_min_score", "ref_max_score"):
        assert b.storage.metadata[k] == a.storage.metadata[k], k
    # the command line passes --library to the Ray run
    from offline_data.__main__ import main

    assert main(["generate", "--tier", "simple", "--library", "normal", "--episodes", "2",
                 "--image-size", "32", "--num-envs", "2", "--ref-episodes", "0", "--quiet",
                 "--ray", "--shards", "2"]) == 0  # fmt: skip
    assert D.dataset_library(D.load("image-styling/simple-normal-v0")) == "normal"


TINY = B.Preset(
    tiers=("simple",),
    methods=("random", "s", "dpo", "test_ray:BOOM", "test_ray:BOOM_CHILD"),
    seeds=1,
    episodes=24,
    image_size=32,
    eval_tasks=4,
    steps={"s": 8, "dpo": 4},
    filmstrip_methods=("s",),
)


def test_benchmark_on_ray_reports_a_failing_cell(ray_local):
    out = ray_local / "run"
    path, failed = B.run_on_ray(TINY, out, retries=1, progress=False)
    res = json.loads(path.read_text())
    assert [c["key"] for c in res["cells"]] == [
        f"main/simple/{m}/seed0" for m in ("random", "s", "dpo")
    ]
    assert all(len(c["episodes"]) == 4 for c in res["cells"])
    assert res["failed"] == failed
    boom = {f["key"]: f for f in failed}
    assert set(boom) == {"main/simple/boom/seed0", "main/simple/boom-child/seed0"}
    assert boom["main/simple/boom/seed0"]["attempts"] == 2  # one retry, then reported
    assert "RuntimeError: deliberate failure" in boom["main/simple/boom/seed0"]["error"]
    assert boom["main/simple/boom-child/seed0"]["attempts"] == 0  # never run: its reference failed
    assert "its reference main/simple/boom/seed0 failed" in boom["main/simple/boom-child/seed0"]["error"]  # fmt: skip
    assert (ray_local / "scratch" / "boom-attempts").read_text() == "0\n0\n"
    assert json.loads((out / "cells/main/simple/boom/seed0/failed.json").read_text())["attempts"] == 2  # fmt: skip
    assert (out / "report.html").exists() and "| DPO |" in (out / "tables.md").read_text()
    # DPO trained against the S cell's checkpoint, which existed before it started
    s, dpo = (json.loads((out / f"cells/main/simple/{m}/seed0/cell.json").read_text()) for m in ("s", "dpo"))  # fmt: skip
    assert s["finished"] <= dpo["finished"]


def test_cells_request_resources_and_wait_for_their_reference(ray_local, monkeypatch):
    from experiments import cluster
    from offline_data.ray_generate import RayClusterError

    seen = []
    monkeypatch.setattr(cluster, "run_jobs", lambda fn, jobs, **kw: (seen.extend(jobs), ({}, {}))[1])  # fmt: skip
    preset = dataclasses.replace(TINY, methods=("random", "dpo", "s", "s-qwen3vl"))
    with pytest.raises(RayClusterError, match="no cell finished"):
        B.run_on_ray(preset, ray_local / "resources", cpus_per_cell=2, memory_gb_per_cell=1.5)
    jobs = {j.key.split("/")[2]: j for j in seen}
    assert [j.key.split("/")[2] for j in seen] == ["random", "dpo", "s", "s-qwen3vl"]
    assert jobs["dpo"].after == "main/simple/s/seed0" and jobs["s"].after is None
    assert {m: (j.num_cpus, j.num_gpus, j.memory_gb) for m, j in jobs.items()} == {
        "random": (2, 0, 1.5), "dpo": (2, 0, 1.5), "s": (2, 0, 1.5), "s-qwen3vl": (2, 1.0, 1.5),
    }  # fmt: skip
    for bad in (dict(gpus_per_qwen_cell=-1), dict(memory_gb_per_cell="1"), dict(cpus_per_cell=0),
                dict(retries=-1)):  # fmt: skip
        with pytest.raises(ValueError):
            B.run_on_ray(preset, ray_local / "resources", **bad)


def test_run_jobs_orders_and_retries(ray_local):
    from experiments.cluster import Job, run_jobs

    jobs = [Job("late", (1,), after="first"), Job("first", (2,)), Job("bad", (-1,)),
            Job("after-bad", (3,), after="bad")]  # fmt: skip
    results, failed = run_jobs(_square_positive, jobs, retries=1, progress=False)
    assert results == {"first": 4, "late": 1}
    assert failed["bad"]["attempts"] == 2 and "ValueError: negative: -1" in failed["bad"]["error"]
    assert failed["after-bad"] == {"key": "after-bad", "attempts": 0, "error": "its reference bad failed"}  # fmt: skip
    with pytest.raises(ValueError, match="unique"):
        run_jobs(_square_positive, [Job("a", (1,)), Job("a", (2,))], progress=False)


def _square_positive(x: int) -> int:
    if x < 0:
        raise ValueError(f"negative: {x}")
    return x * x


def test_killed_run_resumes(ray_local):
    import ray

    scratch, out = ray_local / "scratch", ray_local / "killed"
    (scratch / "block").touch()
    env = {**os.environ, "PYTHONPATH": os.environ["PYTHONPATH"], "OMP_NUM_THREADS": "1"}
    address = ray.get_runtime_context().gcs_address
    cmd = [sys.executable, "-m", "experiments.benchmark", *KILLED_ARGS, "--out", str(out),
           "--ray", "--address", address, "--quiet", "--retries", "0"]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    random_done = out / "cells/main/simple/random/seed0/cell.json"
    try:
        t0 = time.monotonic()
        while not (random_done.exists() and (scratch / "slow-started").exists()):
            assert proc.poll() is None, proc.stdout.read().decode()[-3000:]
            # a guard against a hung start, not a speed test: generous for a loaded machine
            # (under six processes on two cores the start took over 180 s)
            assert time.monotonic() - t0 < 600, "the run did not get going in 10 minutes"
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert not (out / "cells/main/simple/slow/seed0/cell.json").exists()
    before = random_done.read_text()
    (scratch / "block").unlink()
    preset = B.preset_from_args(B._parser().parse_args(KILLED_ARGS))
    path, failed = B.run_on_ray(preset, out, retries=2, progress=False, report=False)
    assert failed == []
    assert random_done.read_text() == before  # reused, not recomputed
    res = json.loads(path.read_text())
    assert [c["key"] for c in res["cells"]] == ["main/simple/random/seed0", "main/simple/slow/seed0"]  # fmt: skip


def test_evaluations_on_ray(ray_local):
    from agents.evaluate import evaluate, load_agent
    from experiments.cluster import evaluate_on_ray

    rows, failed = evaluate_on_ray(
        ["edit-only", "random", "no-such-agent"], ["simple"], [0, 1], tasks=4, image_size=32,
        progress=False,
    )  # fmt: skip
    assert [(r["agent"], r["seed"]) for r in rows] == [
        ("edit-only", 0), ("edit-only", 1), ("random", 0), ("random", 1),
    ]  # fmt: skip
    local = evaluate(load_agent("random", "simple", 1), "simple", 4, (1,), image_size=32)
    assert rows[3]["overall"] == pytest.approx(local.summary()["overall"])
    assert [(f["agent"], f["seed"]) for f in failed] == [("no-such-agent", 0), ("no-such-agent", 1)]  # fmt: skip
    assert "unknown agent 'no-such-agent'" in failed[0]["error"]


def test_without_ray_the_flags_say_how_to_install_it(monkeypatch, tmp_path, capsys):
    from experiments import cluster
    from offline_data.__main__ import main as data_main

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray fails as if not installed
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    hint = "pip install -e '.[ray]'"
    assert data_main(["generate", "--tier", "simple", "--episodes", "4", "--ray", "--quiet"]) == 1
    assert hint in capsys.readouterr().err
    assert B.main([*KILLED_ARGS[:4], "--ray", "--out", str(tmp_path / "run"), "--quiet"]) == 1
    assert hint in capsys.readouterr().err
    assert cluster.main(["evaluate", "random"]) == 1
    assert hint in capsys.readouterr().err
    assert not (tmp_path / "minari" / "image-styling").exists()  # nothing was generated
