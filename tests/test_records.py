"""Cell records: a run's results without checkpoints, packed and unpacked byte for byte."""

from __future__ import annotations

import json
import lzma

import pytest

from experiments import records as R


def _record(key="main/simple/s/seed0", overall=50.0):
    """A minimal finished cell's ``cell.json``."""
    study, tier, method, seed = key.split("/")
    return {"key": key, "study": study, "tier": tier, "method": method, "seed": int(seed[4:]),
            "eval": {"overall": overall, "normalized": overall}}  # fmt: skip


_CELL = _record()


def _cell(run, key="main/simple/s/seed0", overall=50.0, log=True):
    folder = run / "cells" / key
    folder.mkdir(parents=True)
    (folder / "eval.json").write_text(json.dumps({"episodes": [{"overall": overall, "text": "é"}]}))
    if log:
        (folder / "train_log.jsonl").write_text('{"step": 1}\n{"step": 2}\n')
    (folder / "model.pt").write_bytes(b"\0" * 64)  # checkpoints stay out of a record
    (folder / "cell.json").write_text(json.dumps(_record(key, overall), indent=1))
    return folder


def test_pack_unpack_round_trip_is_byte_for_byte(tmp_path):
    run = tmp_path / "run"
    a = _cell(run)
    _cell(run, "main/complex/rw/seed3", 61.5, log=False)
    (run / "cells" / "main/simple/bc/seed0").mkdir(parents=True)  # unfinished: no cell.json
    dest = tmp_path / "records"
    assert R.pack(run, dest) == (2, 0)
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*.xz")) == [
        "main/complex/rw/seed3.json.xz", "main/simple/s/seed0.json.xz",
    ]  # fmt: skip
    files = R.read_record(dest / "main/simple/s/seed0.json.xz")
    assert sorted(files) == ["cell.json", "eval.json", "train_log.jsonl"]
    # packing again writes nothing (same bytes), a changed cell is rewritten alone
    before = (dest / "main/complex/rw/seed3.json.xz").read_bytes()
    assert R.pack(run, dest) == (0, 2)
    (a / "cell.json").write_text(json.dumps(_record(overall=1)))
    assert R.pack(run, dest) == (1, 1)
    assert (dest / "main/complex/rw/seed3.json.xz").read_bytes() == before
    out = tmp_path / "fresh"
    assert R.unpack(dest, out) == (2, 0)
    for name in ("cell.json", "eval.json", "train_log.jsonl"):
        assert (out / "cells/main/simple/s/seed0" / name).read_bytes() == (a / name).read_bytes()
    assert not (out / "cells/main/simple/s/seed0/model.pt").exists()
    assert not (out / "cells/main/complex/rw/seed3/train_log.jsonl").exists()
    assert R.unpack(dest, out) == (0, 2)  # already there


def test_unpack_refuses_to_replace_a_different_cell(tmp_path):
    run = tmp_path / "run"
    _cell(run, overall=50.0)
    dest = tmp_path / "records"
    R.pack(run, dest)
    other = tmp_path / "other"
    _cell(other, overall=10.0)
    with pytest.raises(R.RecordError, match="main/simple/s/seed0 exists .* other contents"):
        R.unpack(dest, other)
    assert json.loads((other / "cells/main/simple/s/seed0/cell.json").read_text())["eval"]["overall"] == 10.0  # fmt: skip
    assert R.unpack(dest, other, force=True) == (1, 0)
    assert json.loads((other / "cells/main/simple/s/seed0/cell.json").read_text())["eval"]["overall"] == 50.0  # fmt: skip


def _raw(path, doc):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(lzma.compress(json.dumps(doc).encode()))


def test_bad_records_are_named_errors_before_anything_is_written(tmp_path, capsys):
    src, out = tmp_path / "records", tmp_path / "out"
    with pytest.raises(FileNotFoundError, match="no records folder"):
        R.unpack(src, out)
    src.mkdir()
    with pytest.raises(R.RecordError, match="holds no cell records"):
        R.unpack(src, out)
    good = {"format": R.FORMAT, "files": {"cell.json": json.dumps(_CELL)}}
    _raw(src / "main/simple/s/seed0.json.xz", good)
    bad = src / "main/simple/rw/seed0.json.xz"
    for doc, match in [
        ({"format": "other/1", "files": {}}, "format 'other/1'"),
        ({"format": R.FORMAT, "files": {"eval.json": "{}"}}, "no cell.json"),
        ({"format": R.FORMAT, "files": {"cell.json": "{}", "../../x.py": "print()"}}, "holds only"),
        ({"format": R.FORMAT, "files": {"cell.json": "{not json"}}, "cell.json is not JSON"),
    ]:
        _raw(bad, doc)
        with pytest.raises(R.RecordError, match=match):
            R.unpack(src, out)
    bad.write_bytes(b"not xz at all")
    with pytest.raises(R.RecordError, match="not a cell record"):
        R.unpack(src, out)
    bad.unlink()
    _raw(src / "main/simple/seed0.json.xz", good)
    with pytest.raises(R.RecordError, match="<study>/<tier>/<method>/seed<k>"):
        R.unpack(src, out)
    assert not out.exists()  # every record is checked before anything is written
    with pytest.raises(FileNotFoundError, match="not a benchmark run folder"):
        R.pack(tmp_path / "nothing", tmp_path / "dest")
    (tmp_path / "empty" / "cells").mkdir(parents=True)
    with pytest.raises(R.RecordError, match="no finished cell"):
        R.pack(tmp_path / "empty", tmp_path / "dest")
    assert R.main(["unpack", str(src), str(out)]) == 2
    assert "error:" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "text", "match"),
    [
        (
            "cell.json",
            "[1]",
            r"cell.json: not a benchmark cell record \(a cell record must be a JSON object, got list\)",
        ),  # fmt: skip
        ("cell.json", "", "cell.json is not JSON"),
        ("cell.json", json.dumps({**_CELL, "eval": "x"}), "eval must be an object, got str"),
        ("cell.json", json.dumps({**_CELL, "seed": "0"}), "seed must be an int"),
        ("eval.json", "[1]", "eval.json: not an evaluation file"),
        ("eval.json", '{"episodes": "zz"}', "episodes must be a list of episodes, got str"),
    ],
)
def test_a_damaged_cell_is_a_named_error_in_pack_and_unpack(tmp_path, name, text, match):
    run = tmp_path / "run"
    folder = _cell(run)
    (folder / name).write_text(text)
    with pytest.raises(R.RecordError, match=match) as e:
        R.pack(run, tmp_path / "dest")
    assert str(folder) in str(e.value)  # the message names the cell's folder
    assert not (tmp_path / "dest").exists()
    doc = {"format": R.FORMAT, "files": {"cell.json": json.dumps(_CELL), name: text}}
    _raw(tmp_path / "src" / "main/simple/s/seed0.json.xz", doc)
    with pytest.raises(R.RecordError, match=match):
        R.unpack(tmp_path / "src", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_recorded_sample_tells_how_many_episodes_another_copy_differs_in(small_datasets, tmp_path, capsys):  # fmt: skip
    """What a run pooled across machines needs to know: which episodes of a dataset another
    machine generated differently. Recorded here, compared with the local copy."""
    did = small_datasets["simple"]
    path = R.sample(did, tmp_path)
    assert path.parent == tmp_path / "samples" and path.name.endswith(".digests.xz")
    [same] = R.compare(did, tmp_path)
    assert same == {"checksum": same["checksum"], "episodes": 24, "differ": 0}
    assert R._records(tmp_path) == []  # a sample is not a cell record: unpack ignores it
    doc = json.loads(lzma.decompress(path.read_bytes()))
    doc["digests"][3] = "0" * 16  # as if another machine's floats had changed episode 3
    doc["digests"].pop()  # and it held one episode fewer
    other = path.with_name(path.name.replace(doc["checksum"][:12], "f" * 12))
    doc["checksum"] = "f" * 64
    other.write_bytes(lzma.compress(json.dumps(doc).encode()))
    by = {r["checksum"]: r for r in R.compare(did, tmp_path)}
    assert by["f" * 64] == {"checksum": "f" * 64, "episodes": 23, "differ": 2}
    assert R.main(["compare", did, str(tmp_path)]) == 0
    assert "2 of 23 episodes differ" in capsys.readouterr().out
    with pytest.raises(R.RecordError, match="no sample of"):
        R.compare(small_datasets["regular"], tmp_path)
    other.write_bytes(b"not xz")
    with pytest.raises(R.RecordError, match="not a sample record"):
        R.compare(did, tmp_path)
    other.write_bytes(lzma.compress(json.dumps({"format": R.SAMPLE_FORMAT, "dataset": did}).encode()))  # fmt: skip
    with pytest.raises(R.RecordError, match="with digests"):
        R.compare(did, tmp_path)
    assert R.main(["sample", "image-styling/nothing-v0", str(tmp_path)]) == 2
    assert "error:" in capsys.readouterr().err
