"""experiments.bench_d3rlpy_buffer: what building d3rlpy's buffer costs, at toy size."""

from __future__ import annotations

import pytest


def test_buffer_bench_measures_the_rewordings(small_datasets):
    from experiments.bench_d3rlpy_buffer import main, measure

    plain = measure("simple", 6, 0, work_size=16)
    more = measure("simple", 6, 2, work_size=16)
    assert plain["transitions"] > 0 and more["transitions"] == 3 * plain["transitions"]
    assert 0 < plain["observations_mb"] < more["observations_mb"]
    assert more["peak_mb"] >= more["rss_before_mb"] > 0
    with pytest.raises(ValueError, match="has 24 episodes, not 25"):
        measure("simple", 25, 0)
    with pytest.raises(SystemExit, match="ints >= 0"):
        main(["--rewordings", "-1"])
