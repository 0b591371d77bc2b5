"""Bad command-line input is a named error before any work: arguments out of range and
``--out`` / ``--json`` paths that cannot be written (a folder, a path under a file)."""

from __future__ import annotations

import pytest

from offline_data.safety import output_file, output_folder


def _refused(main, argv, capsys, match: str) -> str:
    """``main(argv)`` stops with exit status != 0 and an error naming ``match``, no traceback."""
    try:
        rc = main(argv)
    except SystemExit as e:
        rc = e.code
    assert rc not in (0, None)
    err = capsys.readouterr().err
    assert match in err and "Traceback" not in err
    return err


@pytest.fixture
def paths(tmp_path):
    """A folder, a file, and a path under that file."""
    (tmp_path / "dir").mkdir()
    (tmp_path / "file").write_text("x")
    return tmp_path / "dir", tmp_path / "file", tmp_path / "file" / "sub" / "out.json"


def test_output_paths_are_checked_before_the_work(paths, tmp_path):
    folder, file, under = paths
    with pytest.raises(ValueError, match="is a folder; give a file path"):
        output_file(folder, "--json")
    with pytest.raises(ValueError, match=f"{file} is a file, not a folder"):
        output_file(under, "--json")
    with pytest.raises(ValueError, match="is a file; give a folder"):
        output_folder(file)
    with pytest.raises(ValueError, match=f"{file} is a file, not a folder"):
        output_folder(file / "report")
    assert output_file(tmp_path / "new" / "a.json") == tmp_path / "new" / "a.json"
    assert (tmp_path / "new").is_dir() and not list((tmp_path / "new").iterdir())  # no probe left


def test_gallery_arguments(paths, capsys, tmp_path):
    from styling_env import gallery

    folder, file, under = paths
    small = ["--tool", "season_cycle", "--size", "16", "--images", "1"]
    for argv, match in [
        (["--strength", "nan"], "--strength must be in [0, 1], got nan"),
        (["--strength", "2"], "--strength must be in [0, 1], got 2.0"),
        (["--size", "0"], "--size must be an int or (H, W) of ints in [16, 4096], got 0"),
        (["--size", "100000"], "got 100000"),
        (["--size", "4096", "--all"], "megapixels"),
        (["--out", str(folder)], "is a folder; give a file path"),
        (["--out", str(under.with_suffix(".png"))], f"{file} is a file, not a folder"),
        (["--out", str(tmp_path / "sheet.txt")], "unknown image file extension '.txt'"),
    ]:
        _refused(gallery.main, [*small, *argv] if argv[0] != "--size" else argv, capsys, match)
    assert not (tmp_path / "sheet.txt").exists()
    out = gallery.main([*small, "--out", str(tmp_path / "g" / "sheet.png")])
    assert out.stat().st_size > 0 and [p.name for p in out.parent.iterdir()] == ["sheet.png"]


def test_context_report_arguments(capsys):
    from styling_env import context

    for argv, match in [
        (["--n-images", "0"], "--n-images must be >= 1, got 0"),
        (["--size", "3"], "--size must be an int or (H, W) of ints in [16, 4096], got 3"),
        (["--seed", "-1"], "--seed must be >= 0"),
    ]:
        _refused(context.main, ["report", *argv], capsys, match)


def test_validate_judge_arguments(paths, capsys):
    from experiments import validate_judge

    folder, file, under = paths
    for argv, match in [
        (["--size", "5"], "--size must be an int or (H, W) of ints in [16, 4096], got 5"),
        (["--tiers", "bogus"], "invalid choice: 'bogus'"),
        (["--json", str(folder)], "is a folder; give a file path"),
        (["--json", str(under)], f"{file} is a file, not a folder"),
    ]:
        _refused(validate_judge.main, argv, capsys, match)


def test_output_of_mistake_weight_and_cluster_checked_first(paths, capsys, monkeypatch):
    from experiments import cluster, mistake_weight

    folder, file, under = paths

    def work(*a, **k):
        raise AssertionError("the work ran before the output path was checked")

    monkeypatch.setattr(mistake_weight, "measure", work)
    monkeypatch.setattr(cluster, "evaluate_on_ray", work)
    monkeypatch.setattr(cluster, "bench_generation", work)
    monkeypatch.setattr(cluster, "require_ray", lambda: None)
    _refused(mistake_weight.main, ["some/data-v0", "--json", str(folder)], capsys, "is a folder")
    _refused(mistake_weight.main, ["some/data-v0", "--json", str(under)], capsys, "is a file, not a folder")  # fmt: skip
    _refused(cluster.main, ["evaluate", "random", "--out", str(folder)], capsys, "--out")
    _refused(cluster.main, ["bench-generation", "--json", str(under)], capsys, "is a file, not a folder")  # fmt: skip


def test_report_output_folders_checked_first(paths, capsys, tmp_path, monkeypatch):
    from experiments import report

    folder, file, under = paths
    res = tmp_path / "results.json"
    res.write_text('{"cells": []}')
    monkeypatch.setattr(report, "build", lambda *a, **k: pytest.fail("built"))
    _refused(report.main, [str(res), "--out", str(file / "rep")], capsys, f"{file} is a file, not a folder")  # fmt: skip
    _refused(report.main, [str(res), "--out", str(file)], capsys, "is a file; give a folder")
    _refused(report.main, [str(res), "--docs", str(file)], capsys, "--docs")
