"""The pipeline benchmark runs every stage on a tiny budget and reports each of the project's targets."""

from __future__ import annotations

import json
import re

from experiments import bench_pipeline as P


def test_bench_pipeline_quick(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert P.main(["--quick", "--episodes", "16", "--steps", "2", "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    stages = [s["stage"] for s in res["stages"]]
    assert stages == [
        "env", "generation", "load", "train s", "train rl", "train rw", "train sw", "train dpo",
        "load d3rlpy", "train bc", "train cql", "evaluation",
    ]  # fmt: skip
    what = [t["what"] for t in res["targets"]]
    assert (
        len(what) == 11 and what[0].startswith("vector env") and what[-1].startswith("peak memory")
    )
    for t in res["targets"]:
        assert t["value"] > 0 and isinstance(t["met"], bool)
    assert all(s["peak_rss_mb"] > 0 and s["seconds"] >= 0 for s in res["stages"])
    text = capsys.readouterr().out
    assert re.search(r"target\s+measured\s+target\s+status", text) and "train DiscreteCQL" in text


def test_bench_pipeline_bad_arguments():
    assert P.main(["--episodes", "2"]) == 2
