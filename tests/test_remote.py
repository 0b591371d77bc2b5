"""Remotes: a local directory mirror, the real huggingface_hub client (through Minari) against a
small fake Hub server, and regeneration from the recipe when the remote cannot help."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import pytest

from offline_data import canonical as C
from offline_data import remote as R
from offline_data.dataset import META_KEY, DatasetError, Recipe, checksum, load

SIMPLE = "image-styling/simple-v0"
REPO_ROOT = Path(__file__).resolve().parents[1]


def _copy_dataset(src_root: Path, dst_root: Path, did: str = SIMPLE) -> None:
    """Copy one small dataset (and its namespace metadata) into another Minari root."""
    shutil.copytree(src_root / did, dst_root / did)
    ns = did.split("/")[0]
    name = "namespace_metadata.json"
    shutil.copy(src_root / ns / name, dst_root / ns / name)


def _meta(root: Path, did: str) -> dict:
    return json.loads((root / did / "data" / "metadata.json").read_text())[META_KEY]


@pytest.fixture
def local(small_datasets, tmp_path, monkeypatch):
    """A private Minari root holding a copy of the small simple dataset; returns (root, did)."""
    src = Path(os.environ["MINARI_DATASETS_PATH"])  # small_datasets' root (read-only)
    root = tmp_path / "minari"
    root.mkdir()
    _copy_dataset(src, root)
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(root))
    monkeypatch.delenv("MINARI_REMOTE", raising=False)
    return root, small_datasets["simple"]


# --------------------------------------------------------------------------------------------
# Remote strings


def test_parse_remote(monkeypatch, tmp_path):
    monkeypatch.delenv("MINARI_REMOTE", raising=False)
    assert R.parse_remote(None) is None
    assert R.parse_remote("") is None
    m = R.parse_remote(f"file://{tmp_path}")
    assert m.kind == "mirror" and m.path == tmp_path
    assert R.parse_remote(str(tmp_path)).path == tmp_path
    assert R.parse_remote("hf://some-org/").url == "hf://some-org"
    assert R.parse_remote("gcp://bucket").kind == "gcp"
    monkeypatch.setenv("MINARI_REMOTE", "hf://from-env")
    assert R.parse_remote(None).url == "hf://from-env"
    with pytest.raises(DatasetError, match=r"unknown scheme 's3://'.*hf://.*gcp://"):
        R.parse_remote("s3://x")
    with pytest.raises(DatasetError, match="absolute path"):
        R.parse_remote("file://relative/dir")


# --------------------------------------------------------------------------------------------
# Mirror


def test_mirror_upload_then_download(local, tmp_path, monkeypatch):
    root, did = local
    want = _meta(root, did)["checksum"]
    mirror = tmp_path / "mirror"
    line = R.upload(did, remote=f"file://{mirror}")
    assert str(mirror) in line and did in line
    assert (mirror / did / "data" / "metadata.json").is_file()
    assert (mirror / "image-styling" / "namespace_metadata.json").is_file()
    assert not [p for p in mirror.iterdir() if p.name.startswith(".")]  # no staging left
    assert R.list_remote(str(mirror)) == [did]
    assert "already" in R.upload(did, remote=str(mirror))  # same checksum: nothing to do

    fresh = tmp_path / "fresh"
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(fresh))
    monkeypatch.setenv("MINARI_REMOTE", f"file://{mirror}")  # the default remote
    notes = []
    # the small test dataset is not the canonical image-styling/simple-v0 (canonical.json
    # records that checksum): refused unless allowed, and nothing is written
    with pytest.raises(DatasetError, match="not the canonical"):
        R.download(did, regenerate=False, progress=False, log=notes.append)
    assert not (fresh / did).exists()
    path = R.download(did, regenerate=False, progress=False, log=notes.append, allow_noncanonical=True)  # fmt: skip
    assert path == fresh / did
    assert checksum(load(did, verify=True)) == want
    assert (fresh / "image-styling" / "namespace_metadata.json").is_file()
    assert not [p for p in fresh.iterdir() if p.name.startswith(".")]
    assert any("downloaded" in n for n in notes)
    # present and sound: returned as is; force fetches it again
    assert R.download(did, progress=False, log=notes.append) == path
    assert R.download(did, force=True, regenerate=False, progress=False, log=notes.append, allow_noncanonical=True) == path  # fmt: skip
    load(did, verify=True)


def test_mirror_download_of_damaged_copy_is_deleted(local, tmp_path, monkeypatch):
    root, did = local
    mirror = tmp_path / "mirror"
    R.upload(did, remote=str(mirror))
    part = next((mirror / did / "data").glob("*/part-0.parquet"))
    other = next(p for p in (mirror / did / "data").glob("*/part-0.parquet") if p != part)
    shutil.copy(other, part)  # a readable file with the wrong episode
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "fresh"))
    with pytest.raises(DatasetError, match=r"failed verification and was deleted") as e:
        R.download(did, remote=str(mirror), regenerate=False, log=lambda _: None, allow_noncanonical=True)  # fmt: skip
    assert did in str(e.value) and str(mirror) in str(e.value)
    assert not (tmp_path / "fresh" / did).exists()


def test_forced_download_of_a_damaged_remote_copy_keeps_the_local_one(local, tmp_path):
    """download --force from a mirror whose copy lost an episode folder deleted the good local
    copy (only the metadata was checked before the replace): the staged copy is verified in
    full first, and a damaged one is a named error that replaces nothing."""
    root, did = local
    mirror = tmp_path / "mirror"
    R.upload(did, remote=str(mirror))
    want = _meta(root, did)["checksum"]
    shutil.rmtree(mirror / did / "data" / "2")
    kw = dict(remote=f"file://{mirror}", regenerate=False, log=lambda _: None)
    with pytest.raises(DatasetError, match=r"failed verification .*left as it was.*missing") as e:
        R.download(did, force=True, allow_noncanonical=True, **kw)
    assert did in str(e.value) and str(mirror) in str(e.value)
    assert checksum(load(did, verify=True)) == want  # the local copy is whole
    assert not [p for p in root.iterdir() if p.name.startswith(".")]  # no staging left
    # a mirror copy whose metadata.json is a JSON array: refused by name, nothing replaced
    (mirror / did / "data" / "metadata.json").write_text("[]")
    with pytest.raises(DatasetError, match="not a JSON object.*nothing was replaced"):
        R.download(did, force=True, allow_noncanonical=True, **kw)
    load(did, verify=True)


def test_mirror_errors(local, tmp_path):
    root, did = local
    empty = tmp_path / "empty-mirror"
    empty.mkdir()
    with pytest.raises(DatasetError) as e:
        R.download("image-styling/nothing-v0", remote=str(empty), regenerate=False)
    msg = str(e.value)
    assert "image-styling/nothing-v0" in msg and str(empty) in msg and "not in mirror" in msg
    gone = tmp_path / "no-such-dir"
    with pytest.raises(DatasetError) as e:
        R.download("image-styling/nothing-v0", remote=f"file://{gone}", regenerate=False)
    msg = str(e.value)
    assert "image-styling/nothing-v0" in msg and str(gone) in msg and "does not exist" in msg
    with pytest.raises(DatasetError, match="does not exist"):
        R.list_remote(str(gone))
    # a known id with no recipe: regeneration cannot help either
    with pytest.raises(DatasetError, match="no recipe is known"):
        R.download("image-styling/nothing-v0", remote=str(empty))
    assert R.download(did, remote="s3://x") == root / did  # a sound local copy needs no remote
    with pytest.raises(DatasetError, match=r"unknown scheme 's3://'"):
        R.download(did, remote="s3://x", force=True)
    with pytest.raises(DatasetError, match="no remote is configured"):
        R.upload(did)
    with pytest.raises(DatasetError, match="no remote is configured"):
        R.download("image-styling/nothing-v0", regenerate=False)


def test_corrupt_local_copy(local, tmp_path):
    root, did = local
    mirror = tmp_path / "mirror"
    R.upload(did, remote=str(mirror))
    meta = root / did / "data" / "metadata.json"
    m = json.loads(meta.read_text())
    m[META_KEY]["checksum"] = "0" * 64
    meta.write_text(json.dumps(m))
    with pytest.raises(DatasetError, match="refusing to upload") as e:
        R.upload(did, remote=str(tmp_path / "other"))
    assert did in str(e.value)
    with pytest.raises(DatasetError, match=r"local copy .* is damaged.*--force") as e:
        R.download(did, remote=str(mirror))
    assert did in str(e.value) and str(mirror) in str(e.value)
    R.download(
        did, remote=str(mirror), force=True, log=lambda _: None, allow_noncanonical=True
    )  # replaced
    load(did, verify=True)
    # the mirror keeps a different dataset under the id: replaced only with force
    m = json.loads(meta.read_text())
    m[META_KEY]["checksum"] = "1" * 64
    (mirror / did / "data" / "metadata.json").write_text(json.dumps(m))
    with pytest.raises(DatasetError, match="already has a different"):
        R.upload(did, remote=str(mirror))
    assert "->" in R.upload(did, remote=str(mirror), force=True)


# --------------------------------------------------------------------------------------------
# Regeneration


TINY = "image-styling/tiny-v0"


@pytest.fixture
def tiny_recipe(monkeypatch):
    entry = {
        "recipe": Recipe("simple", 6, 0, 32).to_dict(),
        "checksum": None,
        "generate": {"ref_episodes": 0, "num_envs": 6},
    }
    monkeypatch.setitem(R.EXTRA_RECIPES, TINY, entry)
    monkeypatch.setattr(C, "CANONICAL_FILE", Path("/nonexistent/canonical.json"))
    return entry


def test_canonical_recipes(tmp_path, monkeypatch):
    monkeypatch.setattr(C, "CANONICAL_FILE", tmp_path / "canonical.json")
    got = R.canonical_recipes()
    assert set(R.CANONICAL) <= set(got)
    simple = got["image-styling/simple-v0"]
    assert simple["checksum"] is None
    assert simple["recipe"] == Recipe("simple", 10_000, 0, 128).to_dict()
    (tmp_path / "canonical.json").write_text(
        json.dumps({"image-styling/simple-v0": {"checksum": "ab" * 32}})
    )
    got = R.canonical_recipes()
    assert got["image-styling/simple-v0"]["checksum"] == "ab" * 32
    assert got["image-styling/simple-v0"]["recipe"]["episodes"] == 10_000
    (tmp_path / "canonical.json").write_text("{oops")
    with pytest.raises(DatasetError, match="not valid JSON"):
        R.canonical_recipes()


def test_regenerate_fallback(minari_root, tiny_recipe, monkeypatch, tmp_path):
    monkeypatch.delenv("MINARI_REMOTE", raising=False)
    notes: list[str] = []
    # no canonical checksum recorded: regenerated, with a note saying so
    path = R.download(TINY, progress=False, log=notes.append)
    assert "no remote is configured" in notes[0]
    assert "no canonical checksum is recorded" in notes[-1]
    first = _meta(minari_root, TINY)
    assert first["canonical"] is None
    shutil.rmtree(path)

    # the right checksum recorded; the remote lacks the id: regenerated and marked canonical
    tiny_recipe["checksum"] = first["checksum"]
    empty = tmp_path / "mirror"
    empty.mkdir()
    notes.clear()
    assert R.download(TINY, remote=str(empty), progress=False, log=notes.append) == path
    assert "not in mirror" in notes[0] and "matches the canonical" in notes[-1]
    assert _meta(minari_root, TINY)["canonical"] is True
    load(TINY, verify=True)

    # a wrong checksum recorded: an error, the data kept but marked canonical: false
    tiny_recipe["checksum"] = "f" * 64
    with pytest.raises(DatasetError, match="differs from the canonical") as e:
        R.download(TINY, force=True, progress=False, log=notes.append)
    assert TINY in str(e.value)
    assert _meta(minari_root, TINY)["canonical"] is False
    load(TINY, verify=True)


def test_a_checksum_mismatch_says_whether_the_format_or_the_platform_differs(monkeypatch):
    from offline_data.dataset import FORMAT_VERSION, platform_info
    from styling_env.judge import JUDGE_VERSION

    here = platform_info()
    same = {"format_version": FORMAT_VERSION, "judge_version": JUDGE_VERSION, "platform": here}
    assert "does not say which format" in R.mismatch_reason({})
    older = {**same, "judge_version": JUDGE_VERSION - 1, "code_version": "0.0.9+gabc"}
    why = R.mismatch_reason(older)
    assert "this code's format differs from the recorded one" in why and "0.0.9+gabc" in why
    other = {**same, "platform": {**here, "torch": "1.0.0"}}
    why = R.mismatch_reason(other)
    assert "same format and judge" in why and "torch 1.0.0 recorded" in why
    assert "a bug in this project" in R.mismatch_reason({**same, "code_version": "0.1.0+gold"})


# --------------------------------------------------------------------------------------------
# Hugging Face through Minari, against a fake Hub


class FakeHub(ThreadingHTTPServer):
    """Just enough of the Hub's HTTP API for huggingface_hub's ``list_datasets``,
    ``hf_hub_download`` and ``snapshot_download`` of dataset repos: ``repos`` maps a repo id
    (``org/name``) to a folder whose files are the repo's files."""

    daemon_threads = True

    def __init__(self, repos: dict[str, Path]) -> None:
        super().__init__(("127.0.0.1", 0), _HubHandler)
        self.repos = repos
        self.log: list[str] = []

    def files(self, repo: str) -> dict[str, Path]:
        root = self.repos[repo]
        return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*")) if p.is_file()}

    def sha(self, repo: str) -> str:
        h = hashlib.sha1(repo.encode())
        for name, p in self.files(repo).items():
            h.update(name.encode() + p.read_bytes())
        return h.hexdigest()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _HubHandler(BaseHTTPRequestHandler):
    server: FakeHub

    def log_message(self, *args) -> None:  # quiet
        pass

    def _send(self, code: int, body: bytes = b"", headers: dict | None = None, head=False) -> None:
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _json(self, obj, headers: dict | None = None) -> None:
        headers = {"Content-Type": "application/json", **(headers or {})}
        self._send(200, json.dumps(obj).encode(), headers)

    def _not_found(self, code: str, repo: str | None = None, head: bool = False) -> None:
        h = {"X-Error-Code": code, "X-Error-Message": f"{code} (fake hub)"}
        if repo is not None:
            h["X-Repo-Commit"] = self.server.sha(repo)
        self._send(404, b"", h, head=head)

    def do_HEAD(self) -> None:
        self._handle(head=True)

    def do_GET(self) -> None:
        self._handle(head=False)

    def _handle(self, head: bool) -> None:
        srv = self.server
        url = urlparse(self.path)
        srv.log.append(f"{self.command} {url.path}{'?' + url.query if url.query else ''}")
        parts = [unquote(p) for p in url.path.strip("/").split("/")]
        query = parse_qs(url.query)
        if parts[:2] == ["api", "datasets"] and len(parts) == 2:
            author = query.get("author", [None])[0]
            search = query.get("search", [])
            out = [
                {"id": r, "author": r.split("/")[0], "sha": srv.sha(r), "private": False}
                for r in srv.repos
                if (author is None or r.split("/")[0] == author)
                and all(s in r.split("/")[1] for s in search)
            ]
            return self._json(out)
        if parts[:2] == ["api", "datasets"] and len(parts) >= 4:
            repo = "/".join(parts[2:4])
            if repo not in srv.repos:
                return self._not_found("RepoNotFound")
            rest = parts[4:]
            files = srv.files(repo)
            sha = srv.sha(repo)
            if not rest or rest[0] == "revision":
                return self._json(
                    {"id": repo, "author": repo.split("/")[0], "sha": sha, "private": False,
                     "siblings": [{"rfilename": f} for f in files]}
                )  # fmt: skip
            if rest[0] == "tree":
                prefix = "/".join(rest[2:])
                recursive = query.get("recursive", ["False"])[0].lower() == "true"
                entries, dirs = [], set()
                for name, p in files.items():
                    if prefix and not name.startswith(prefix + "/"):
                        continue
                    sub = name[len(prefix) + 1 :] if prefix else name
                    if not recursive and "/" in sub:
                        dirs.add((prefix + "/" if prefix else "") + sub.split("/")[0])
                        continue
                    if recursive:
                        segs = name.split("/")[:-1]
                        dirs.update("/".join(segs[: i + 1]) for i in range(len(segs)))
                    data = p.read_bytes()
                    entries.append(
                        {"type": "file", "path": name, "size": len(data),
                         "oid": hashlib.sha1(data).hexdigest()}
                    )  # fmt: skip
                entries += [{"type": "directory", "path": d, "oid": "0" * 40} for d in sorted(dirs)]
                return self._json(entries)
            return self._send(404)
        if parts[:1] == ["datasets"] and len(parts) >= 6 and parts[3] == "resolve":
            repo = "/".join(parts[1:3])
            if repo not in srv.repos:
                return self._not_found("RepoNotFound", head=head)
            name = "/".join(parts[5:])
            p = srv.files(repo).get(name)
            if p is None:
                return self._not_found("EntryNotFound", repo, head=head)
            data = p.read_bytes()
            headers = {
                "X-Repo-Commit": srv.sha(repo),
                "ETag": f'"{hashlib.sha1(data).hexdigest()}"',
                "Content-Type": "application/octet-stream",
            }
            return self._send(200, data, headers, head=head)
        self._send(404)


@pytest.fixture
def fake_hub(local, tmp_path):
    root, did = local
    repo = tmp_path / "hub" / "image-styling"
    shutil.copytree(root / did, repo / "simple-v0")
    ns = json.loads((root / "image-styling" / "namespace_metadata.json").read_text())
    ns["datasets"] = [did]
    (repo / "namespace_metadata.json").write_text(json.dumps(ns))
    hub = FakeHub({"fake-org/image-styling": repo})
    thread = threading.Thread(target=hub.serve_forever, daemon=True)
    thread.start()
    yield hub
    hub.shutdown()
    hub.server_close()


def _run(code: str, tmp_path: Path, endpoint: str, remote: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "MINARI_"))}
    env.update(
        HF_ENDPOINT=endpoint, HF_HOME=str(tmp_path / "hf-home"), MINARI_REMOTE=remote,
        MINARI_DATASETS_PATH=str(tmp_path / "downloaded"), OMP_NUM_THREADS="1",
        PYTHONPATH=os.pathsep.join([str(REPO_ROOT), env.get("PYTHONPATH", "")]),
        HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_ETAG_TIMEOUT="5", HF_HUB_DOWNLOAD_TIMEOUT="5",
    )  # fmt: skip
    return subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip


def test_hf_download_through_minari(fake_hub, local, tmp_path):
    root, did = local
    want = _meta(root, did)["checksum"]
    code = (
        "from offline_data import remote as R\n"
        "from offline_data.dataset import load, checksum\n"
        f"print('IDS', R.list_remote())\n"
        f"p = R.download({did!r}, regenerate=False, progress=False, allow_noncanonical=True)\n"
        f"print('PATH', p)\n"
        f"print('SUM', checksum(load({did!r}, verify=True)))\n"
        f"try:\n"
        f"    R.download('image-styling/absent-v0', regenerate=False, progress=False)\n"
        f"except Exception as e:\n"
        f"    print('MISSING', e)\n"
    )
    out = _run(code, tmp_path, fake_hub.url, "hf://fake-org")
    assert out.returncode == 0, out.stdout + out.stderr + "\n".join(fake_hub.log)
    lines = dict(ln.split(" ", 1) for ln in out.stdout.splitlines() if " " in ln)
    print("\n".join(fake_hub.log))  # the routes the real client used (pytest -s shows them)
    assert lines["IDS"] == repr([did])
    assert lines["PATH"] == str(tmp_path / "downloaded" / did)
    assert lines["SUM"] == want
    assert "image-styling/absent-v0" in lines["MISSING"] and "hf://fake-org" in lines["MISSING"]
    assert "does not have it" in lines["MISSING"]
    got = tmp_path / "downloaded"
    assert (got / "image-styling" / "namespace_metadata.json").is_file()
    assert not [p for p in got.iterdir() if p.name.startswith(".")]  # staging cleaned up
    assert any(r.startswith("GET /datasets/fake-org/image-styling/resolve/") for r in fake_hub.log)


def test_hf_unreachable(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code = (
        "import sys\n"
        "from offline_data import remote as R\n"
        "from offline_data.dataset import DatasetError\n"
        "try:\n"
        "    R.list_remote()\n"
        "except DatasetError as e:\n"
        "    print('LIST', e)\n"
        "try:\n"
        f"    R.download({SIMPLE!r}, regenerate=False, progress=False)\n"
        "except DatasetError as e:\n"
        "    print('ERROR', e)\n"
        "    sys.exit(3)\n"
    )
    out = _run(code, tmp_path, f"http://127.0.0.1:{port}", "hf://fake-org")
    assert out.returncode == 3, out.stdout + out.stderr
    lines = dict(ln.split(" ", 1) for ln in out.stdout.splitlines() if " " in ln)
    msg = lines["ERROR"]
    assert SIMPLE in msg and "hf://fake-org" in msg and "cannot be reached" in msg
    assert "hf://fake-org" in lines["LIST"] and "cannot be reached" in lines["LIST"]


def test_gcp_without_its_package(local):
    root, did = local
    try:
        import google.cloud.storage  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("google-cloud-storage is installed: the call would go to the network")
    with pytest.raises(DatasetError, match=r"minari\[gcs\]") as e:
        R.download(did, remote="gcp://some-bucket", force=True, regenerate=False)
    assert did in str(e.value) and "gcp://some-bucket" in str(e.value)


def test_hf_upload_and_list_go_through_minari(local, monkeypatch):
    root, did = local
    import minari

    seen = {}

    def fake_upload(dataset_id, token):
        seen["upload"] = (dataset_id, token, os.environ.get("MINARI_REMOTE"))

    def fake_list(**kw):
        seen["list"] = os.environ.get("MINARI_REMOTE")
        return {did: {}, "other/x-v1": {}}

    monkeypatch.setattr(R, "_probe_hf", lambda remote: None)  # no network here
    monkeypatch.setattr(minari, "upload_dataset", fake_upload)
    monkeypatch.setattr(minari, "list_remote_datasets", fake_list)
    assert "hf://my-org" in R.upload(did, remote="hf://my-org", token="tok")
    assert seen["upload"] == (did, "tok", "hf://my-org")
    assert R.list_remote("hf://my-org") == ["image-styling/simple-v0", "other/x-v1"]
    assert seen["list"] == "hf://my-org"
    assert os.environ.get("MINARI_REMOTE") is None  # restored
