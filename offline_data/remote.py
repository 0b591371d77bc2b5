"""Getting datasets from a remote and putting them there: a local directory mirror, or the
remotes Minari knows (``hf://<org>``, ``gcp://<bucket>``), with regeneration from the recipe as
the fallback.

The remote is the ``remote`` argument or, when that is not given, the ``MINARI_REMOTE``
environment variable. Supported forms:

- ``file:///abs/path`` or a plain path: a directory laid out like a Minari datasets root
  (``<mirror>/<namespace>/<name-vN>/data/...`` and ``<mirror>/<namespace>/namespace_metadata.json``);
- ``hf://<org>``: Hugging Face, through Minari (dataset ``ns/name-vN`` is folder ``name-vN/`` of
  the dataset repo ``<org>/ns``);
- ``gcp://<bucket>``: Google Cloud Storage, through Minari (needs ``google-cloud-storage``).

Every dataset that arrives is written into a hidden staging folder next to the local datasets and
verified there (every episode's files and the content checksum) before it is moved into place in
one ``os.replace``; a dataset that fails the check is deleted and replaces nothing (a local copy,
even under ``force``, stays as it was). When the remote is not configured, cannot be reached or
lacks the dataset, :func:`download` regenerates it from its recipe (:func:`canonical_recipes`) and compares
the result with the canonical checksum recorded in ``offline_data/canonical.json``.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from styling_env.judge import JUDGE_VERSION

# CANONICAL and EXTRA_RECIPES are re-exported: offline_data.remote named them first
from .canonical import CANONICAL as CANONICAL
from .canonical import CANONICAL_FILE, canonical_recipes
from .canonical import EXTRA_RECIPES as EXTRA_RECIPES
from .dataset import (
    META_KEY,
    DatasetError,
    Recipe,
    code_version,
    dataset_path,
    datasets_path,
    datasets_root,
    environment,
    load,
    namespaces,
    set_meta,
)  # fmt: skip
from .safety import atomic_write

NAMESPACE_FILE = "namespace_metadata.json"
#: The remote forms :func:`parse_remote` accepts (for error messages).
SUPPORTED = "file:///abs/path (or a plain directory path), hf://<org>, gcp://<bucket>"
#: Seconds to wait for a TCP connection to the Hub before calling it unreachable.
PROBE_TIMEOUT = 5.0

Log = Callable[[str], None]


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# Remotes


@dataclass(frozen=True)
class Remote:
    """A parsed remote: ``kind`` is ``"mirror"``, ``"hf"`` or ``"gcp"``; ``url`` as given;
    ``path`` the mirror directory (mirrors only)."""

    kind: str
    url: str
    path: Path | None = None

    def __str__(self) -> str:
        return self.url


def parse_remote(remote: str | None = None) -> Remote | None:
    """The remote to use: ``remote``, else ``MINARI_REMOTE``; ``None`` when neither is set.
    Raises :class:`DatasetError` for a scheme that is not supported."""
    url = remote if remote is not None else os.environ.get("MINARI_REMOTE", "")
    url = url.strip()
    if not url:
        return None
    if "://" not in url:
        return Remote("mirror", url, Path(url).expanduser().absolute())
    scheme, rest = url.split("://", 1)
    scheme = scheme.lower()
    if scheme == "file":
        parsed = urlparse(url)
        if parsed.netloc not in ("", "localhost") or not parsed.path.startswith("/"):
            raise DatasetError(
                f"remote {url!r}: a file remote needs an absolute path, e.g. file:///data/mirror"
            )
        return Remote("mirror", url, Path(unquote(parsed.path)))
    if scheme in ("hf", "gcp"):
        if not rest.strip("/"):
            what = "organisation" if scheme == "hf" else "bucket"
            raise DatasetError(f"remote {url!r} names no {what}")
        return Remote(scheme, f"{scheme}://{rest.strip('/')}")
    raise DatasetError(f"remote {url!r}: unknown scheme {scheme + '://'!r}; supported: {SUPPORTED}")


@contextmanager
def _stage(root: Path, what: str) -> Iterator[Path]:
    """A hidden staging folder under ``root``, always removed afterwards (its content is moved
    out of it on success)."""
    root.mkdir(parents=True, exist_ok=True)
    stage = root / f".staging-{what}-{os.getpid()}-{time.time_ns()}"
    stage.mkdir()
    try:
        yield stage
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _move_into_place(staged: Path, final: Path) -> None:
    """Move the complete folder ``staged`` to ``final`` (replacing any folder there) so that
    ``final`` is never a half-copied dataset."""
    final.parent.mkdir(parents=True, exist_ok=True)
    old = None
    if final.exists():
        old = final.parent / f".old-{final.name}-{os.getpid()}-{time.time_ns()}"
        os.replace(final, old)
    try:
        os.replace(staged, final)
    except BaseException:
        if old is not None:
            os.replace(old, final)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _copy_namespace_files(did: str, src_root: Path, dst_root: Path) -> None:
    """Copy the namespace metadata of ``did``'s namespaces that ``dst_root`` lacks."""
    for ns in namespaces(did):
        src, dst = src_root / ns / NAMESPACE_FILE, dst_root / ns / NAMESPACE_FILE
        if dst.exists():
            continue
        if src.exists():
            atomic_write(dst, lambda tmp, src=src: shutil.copyfile(src, tmp))
        else:
            atomic_write(dst, lambda tmp: tmp.write_text("{}"))


def _mirror_ids(root: Path) -> list[str]:
    """Dataset ids in a Minari-layout directory (folders holding ``data/metadata.json``)."""
    found = []
    for here, dirs, _ in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        if (Path(here) / "data" / "metadata.json").is_file():
            found.append(Path(here).relative_to(root).as_posix())
            dirs[:] = []
    return sorted(found)


def _check_mirror(remote: Remote, did: str | None = None) -> Path:
    assert remote.path is not None
    if not remote.path.is_dir():
        raise _Unavailable(
            f"mirror {remote.url} is unreachable: directory {remote.path} does not exist",
            missing=False,
        )
    return remote.path


class _Unavailable(DatasetError):
    """The remote cannot give the dataset (unreachable, or lacks it): regeneration may help."""

    def __init__(self, msg: str, *, missing: bool) -> None:
        super().__init__(msg)
        self.missing = missing


def _describe_error(e: BaseException) -> tuple[str, bool | None]:
    """A short reason for a Minari/huggingface_hub/GCP failure, and whether it means the remote
    lacks the dataset (True), cannot be reached (False) or something else (None)."""
    text = f"{type(e).__name__}: {e}".strip()
    first = text.splitlines()[0] if text else type(e).__name__
    if len(first) > 300:
        first = first[:300] + "..."
    low = text.lower()
    if isinstance(e, ValueError) and (
        "couldn't find any version" in low or "doesn't exist in the remote" in low
    ):
        return first, True
    names = {c.__name__ for c in type(e).__mro__}
    if names & {"RepositoryNotFoundError", "RemoteEntryNotFoundError", "NotFound"}:
        return first, True
    if names & {"OfflineModeIsEnabled"} or "hf_hub_offline" in low:
        return f"{first} (unset HF_HUB_OFFLINE to reach the Hub)", False
    if names & {
        "ConnectError", "ConnectionError", "TimeoutException", "Timeout", "LocalEntryNotFoundError",
        "HfHubHTTPError", "TransportError", "NetworkError", "ProxyError", "OSError",
    }:  # fmt: skip
        return first, False
    return first, None


# --------------------------------------------------------------------------------------------
# Recipes


def _code_hint(entry: Mapping[str, Any]) -> str:
    code = entry.get("code_version")
    where = f"the code version that wrote the record ({code})" if code else "the code that wrote it"
    return f"use {where}, or download the published copy"


def mismatch_reason(entry: Mapping[str, Any]) -> str:
    """Why regenerated data can differ from a canonical record, from what the record says
    produced it (format and judge versions, code version, platform) against this code."""
    from .dataset import FORMAT_VERSION, platform_info

    fmt, judge = entry.get("format_version"), entry.get("judge_version")
    if fmt is None or judge is None:
        return (
            f"the record in {CANONICAL_FILE.name} does not say which format and judge produced "
            "it, so the cause cannot be told; regenerate the record with "
            "`python -m experiments.check_canonical --write` or download the published copy."
        )
    if (fmt, judge) != (FORMAT_VERSION, JUDGE_VERSION):
        return (
            f"this code's format differs from the recorded one (format {FORMAT_VERSION} with "
            f"judge v{JUDGE_VERSION} here, format {fmt} with judge v{judge} recorded): "
            f"{_code_hint(entry)}."
        )
    recorded = entry.get("platform") or {}
    here = platform_info()
    diffs = [f"{k} {recorded.get(k)} recorded, {v} here" for k, v in here.items() if recorded.get(k) != v]  # fmt: skip
    if diffs:
        return (
            "same format and judge as the record, on a different platform ("
            + "; ".join(diffs)
            + "): pixels can differ across torch versions and CPUs. Regenerate on the recorded "
            "platform, or download the published copy for exact reproduction."
        )
    return (
        "same format, judge and platform as the record (code "
        f"{entry.get('code_version', 'unrecorded')} recorded, {code_version()} here): the code "
        "changed the content without changing its version. That is a bug in this project; "
        "please report it with both code versions."
    )


def _regenerate(
    did: str, entry: Mapping[str, Any], *, overwrite: bool, progress: bool, log: Log
) -> Path:  # fmt: skip
    from .dataset import FORMAT_VERSION
    from .generate import generate
    from .teachers import NoiseProfile

    recipe = Recipe.from_dict(entry["recipe"])
    if recipe.format_version != FORMAT_VERSION or recipe.judge_version != JUDGE_VERSION:
        raise DatasetError(
            f"the recipe of {did!r} is for format version {recipe.format_version} and judge "
            f"v{recipe.judge_version}; this code writes format {FORMAT_VERSION} with judge "
            f"v{JUDGE_VERSION}, so it cannot regenerate it: {_code_hint(entry)}"
        )
    if recipe.teacher != "noisy-oracle":
        raise DatasetError(
            f"the recipe of {did!r} uses teacher {recipe.teacher!r}; only 'noisy-oracle' recipes "
            "can be regenerated here"
        )
    profile = None
    if recipe.profile:
        p = dict(recipe.profile)
        if "n_mistakes" in p:
            p["n_mistakes"] = tuple(p["n_mistakes"])
        profile = NoiseProfile(**p)
    path = generate(
        recipe.tier, recipe.episodes, recipe.seed, image_size=recipe.image_size,
        max_steps=recipe.max_steps, profile=profile, did=did, overwrite=overwrite,
        per_task=recipe.per_task,
        progress=progress, **dict(entry.get("generate", {})),
    )  # fmt: skip
    got = load(did).storage.metadata[META_KEY]["checksum"]
    want = entry.get("checksum")
    if not want:
        set_meta(path, {"canonical": None})
        log(
            f"regenerated {did!r} at {path} (checksum {got[:16]}); no canonical checksum is "
            f"recorded for it in {CANONICAL_FILE.name}, so it cannot be confirmed identical to "
            "the published dataset"
        )
        return path
    if got != want:
        set_meta(path, {"canonical": False})
        raise DatasetError(
            f"regenerated {did!r} at {path} but its checksum {got[:16]}... differs from the "
            f"canonical {want[:16]}...: {mismatch_reason(entry)} It is kept, marked "
            "canonical: false."
        )
    set_meta(path, {"canonical": True})
    log(f"regenerated {did!r} at {path}; its checksum matches the canonical one")
    return path


# --------------------------------------------------------------------------------------------
# Download


def _verify_staged(did: str, stage: Path, remote: Remote) -> None:
    """Verify a dataset that just arrived in the staging root ``stage`` (every episode's files,
    the content checksum) *before* it replaces anything: a damaged copy is a
    :class:`DatasetError` and the local datasets root is left as it was (the caller's staging
    folder, with the copy, is removed)."""
    local = dataset_path(did)
    kept = (
        f"the local copy at {local} was left as it was" if local.exists() else "nothing was written"
    )
    try:
        with datasets_path(stage):
            load(did, verify=True)
    except DatasetError as e:
        raise DatasetError(
            f"dataset {did!r} downloaded from {remote.url} failed verification and was deleted "
            f"({kept}): {e}"
        ) from e


def _check_staged(did: str, staged: Path, remote: Remote, allow_noncanonical: bool) -> None:
    """Before a download replaces anything: the metadata's id must be ``did``, and when a
    canonical checksum is recorded for ``did`` the data must have it (unless
    ``allow_noncanonical``)."""
    try:
        meta = json.loads((staged / "data" / "metadata.json").read_text())
    except (OSError, ValueError) as e:
        raise DatasetError(f"{did!r} from {remote.url} has no readable metadata ({e})") from e
    if not isinstance(meta, dict):
        raise DatasetError(
            f"{did!r} from {remote.url} has corrupt metadata (metadata.json is not a JSON "
            "object); refusing it (nothing was replaced)"
        )
    theirs = meta.get("dataset_id")
    if theirs != did:
        raise DatasetError(
            f"{remote.url} served dataset {theirs!r} under the id {did!r}; refusing it (nothing "
            "was replaced)"
        )
    entry = canonical_recipes().get(did)
    want = entry.get("checksum") if entry else None
    ours = meta.get(META_KEY) if isinstance(meta.get(META_KEY), dict) else {}
    got = ours.get("checksum")
    if want and got != want and not allow_noncanonical:
        raise DatasetError(
            f"{did!r} from {remote.url} has checksum {str(got)[:16]}..., not the canonical "
            f"{want[:16]}... recorded in {CANONICAL_FILE.name}: it is other data under the "
            "canonical id; refused (nothing was replaced). Pass --allow-noncanonical "
            "(allow_noncanonical=True) to accept it anyway (it is then marked canonical: false)"
        )


def _mark_canonical(did: str, path: Path, log: Log) -> None:
    """Compare a downloaded dataset's checksum with the recorded canonical one (if any)."""
    entry = canonical_recipes().get(did)
    want = entry.get("checksum") if entry else None
    if not want:
        return
    got = json.loads((path / "data" / "metadata.json").read_text())[META_KEY].get("checksum")
    set_meta(path, {"canonical": got == want})
    if got != want:
        log(
            f"warning: {did!r} from the remote has checksum {str(got)[:16]}..., not the canonical "
            f"{want[:16]}... recorded in {CANONICAL_FILE.name}"
        )


def _download_mirror(did: str, remote: Remote, allow_noncanonical: bool = False) -> Path:
    from .safety import inside

    mirror = _check_mirror(remote, did)
    src = inside(mirror, did)  # an id, never a path out of the mirror
    if not (src / "data" / "metadata.json").is_file():
        have = _mirror_ids(mirror)
        raise _Unavailable(
            f"it is not in mirror {remote.url} ({len(have)} dataset(s) there"
            f"{': ' + ', '.join(have[:5]) if have else ''})",
            missing=True,
        )
    root = datasets_root()
    with _stage(root, "download") as stage:
        try:
            shutil.copytree(src, stage / did)
        except OSError as e:
            raise DatasetError(f"copying {did!r} from mirror {remote.url} failed: {e}") from e
        _check_staged(did, stage / did, remote, allow_noncanonical)
        _copy_namespace_files(did, mirror, stage)  # Minari reads them when verifying
        _verify_staged(did, stage, remote)
        _copy_namespace_files(did, mirror, root)
        _move_into_place(stage / did, dataset_path(did))
    return dataset_path(did)


_PROXY_VARS = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY")


def _probe_hf(remote: Remote) -> None:
    """Fail fast when the Hub endpoint refuses connections: huggingface_hub retries a refused
    ``list_datasets`` 5 times with backoff (about 23 s) before giving up. Skipped behind a
    proxy, where a direct connection proves nothing."""
    if any(os.environ.get(k) or os.environ.get(k.lower()) for k in _PROXY_VARS):
        return
    try:
        from huggingface_hub import constants
    except ImportError:
        return  # reported by the download itself
    url = urlparse(constants.ENDPOINT)
    if not url.hostname:
        return
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((url.hostname, port), timeout=PROBE_TIMEOUT).close()
    except OSError as e:
        raise _Unavailable(
            f"remote {remote.url} cannot be reached (no connection to {constants.ENDPOINT}: {e})",
            missing=False,
        ) from e


@contextmanager
def _quiet_hf() -> Iterator[None]:
    """huggingface_hub's progress bars off for the duration."""
    from huggingface_hub.utils import (
        are_progress_bars_disabled,
        disable_progress_bars,
        enable_progress_bars,
    )  # fmt: skip

    was = are_progress_bars_disabled()
    disable_progress_bars()
    try:
        yield
    finally:
        if not was:
            enable_progress_bars()


def _download_minari(
    did: str, remote: Remote, *, force: bool, progress: bool, allow_noncanonical: bool = False
) -> Path:
    if remote.kind == "hf":
        _probe_hf(remote)
    root = datasets_root()
    with _stage(root, "download") as stage:
        try:
            import minari

            with ExitStack() as stack:
                if not progress and remote.kind == "hf":
                    stack.enter_context(_quiet_hf())
                stack.enter_context(environment(MINARI_REMOTE=remote.url))
                stack.enter_context(datasets_path(stage))
                stack.enter_context(warnings.catch_warnings())
                warnings.simplefilter("ignore")
                out = sys.stderr if progress else stack.enter_context(open(os.devnull, "w"))
                stack.enter_context(redirect_stdout(out))
                minari.download_dataset(did, force_download=force)
        except ImportError as e:
            extra = "gcs" if remote.kind == "gcp" else "hf"
            raise DatasetError(
                f"dataset {did!r}: remote {remote.url} needs a package that is missing ({e}); "
                f"pip install 'minari[{extra}]'"
            ) from e
        except Exception as e:
            reason, missing = _describe_error(e)
            if missing is None:
                raise DatasetError(f"downloading {did!r} from {remote.url} failed: {reason}") from e
            what = "does not have it" if missing else "cannot be reached"
            raise _Unavailable(f"remote {remote.url} {what} ({reason})", missing=missing) from e
        if not (stage / did / "data" / "metadata.json").is_file():
            raise DatasetError(
                f"downloading {did!r} from {remote.url} gave no data/metadata.json: the remote "
                "copy is malformed"
            )
        _check_staged(did, stage / did, remote, allow_noncanonical)
        _copy_namespace_files(did, stage, stage)  # any Minari did not write
        _verify_staged(did, stage, remote)
        _copy_namespace_files(did, stage, root)
        _move_into_place(stage / did, dataset_path(did))
    return dataset_path(did)


def download(
    did: str, *, remote: str | None = None, force: bool = False, regenerate: bool = True,
    progress: bool = True, log: Log | None = None, allow_noncanonical: bool = False,
) -> Path:  # fmt: skip
    """Make dataset ``did`` available locally and return its path.

    ``did`` must be a dataset id (``[namespace/]name-vN``), checked before anything else; the
    copy is written only inside the datasets root. A downloaded copy whose metadata names
    another id, or whose checksum differs from the canonical one recorded for ``did``, is
    refused before it replaces anything (the latter unless ``allow_noncanonical``).

    A local copy that passes verification is returned as is (unless ``force``); a damaged local
    copy is an error unless ``force``. Otherwise the dataset is fetched from ``remote`` (default
    ``MINARI_REMOTE``) into a staging folder, verified there and then moved into place (a copy
    that fails verification is deleted and replaces nothing: the local copy stays as it was). If no remote is configured, it cannot be reached or it lacks the
    dataset, and ``regenerate`` is true and a recipe is known, the dataset is regenerated and
    compared with the canonical checksum (a mismatch raises, leaving it marked
    ``canonical: false``). With an ``hf://``/``gcp://`` remote, ``force`` is also Minari's
    ``force_download`` (which lets it fetch a dataset of an incompatible Minari version). Notes go
    to ``log`` (default: stderr). One process at a time downloads a given id (another gets
    :class:`offline_data.safety.ConcurrentWriteError`)."""
    from .safety import exclusive

    with exclusive(dataset_path(did), f"dataset {did!r}"):
        return _download(did, remote, force, regenerate, progress, log, allow_noncanonical)


def _download(did, remote, force, regenerate, progress, log, allow_noncanonical) -> Path:  # noqa: ANN001
    log = log or _stderr
    path = dataset_path(did)
    if path.exists() and not force:  # checked first: a bad MINARI_REMOTE must not hide it
        try:
            load(did, verify=True)
        except DatasetError as e:
            url = remote if remote is not None else os.environ.get("MINARI_REMOTE")
            raise DatasetError(
                f"the local copy of {did!r} at {path} is damaged: {e}. Run the download again "
                f"with --force to replace it{' from ' + url if url else ''}"
            ) from e
        ours = json.loads((path / "data" / "metadata.json").read_text())[META_KEY]
        if ours.get("canonical") is False:
            log(f"note: the local {did!r} is marked canonical: false (regenerated data differs)")
        return path
    rem = parse_remote(remote)

    failure: str
    hint = "set MINARI_REMOTE (or pass --remote) to a remote that has it"
    if rem is None:
        failure = "no remote is configured"
    else:
        try:
            if rem.kind == "mirror":
                got = _download_mirror(did, rem, allow_noncanonical)
            else:
                got = _download_minari(
                    did, rem, force=force, progress=progress, allow_noncanonical=allow_noncanonical
                )  # fmt: skip
        except _Unavailable as e:
            failure = str(e)
            hint = (
                f"upload it to {rem.url} or use a remote that has it"
                if e.missing
                else f"check the remote {rem.url} (its address, the network)"
            )
        else:
            _mark_canonical(did, got, log)
            log(f"downloaded {did!r} from {rem.url} to {got} (checksum verified)")
            return got

    entry = canonical_recipes().get(did)
    if entry is not None and not isinstance(entry.get("recipe"), dict):
        entry = None
    if not regenerate or entry is None:
        why = "regeneration is off" if not regenerate else f"no recipe is known for {did!r}"
        raise DatasetError(
            f"cannot get dataset {did!r}: {failure}; {why}. To fix: {hint}, or generate it "
            f"with `python -m offline_data generate`"
        )
    log(f"{did!r}: {failure}; regenerating it from its recipe")
    return _regenerate(did, entry, overwrite=force or path.exists(), progress=progress, log=log)


# --------------------------------------------------------------------------------------------
# Upload and listing


def upload(
    did: str, *, remote: str | None = None, token: str | None = None, force: bool = False
) -> str:
    """Upload local dataset ``did`` (after verifying its checksum) to ``remote`` (default
    ``MINARI_REMOTE``); returns a one-line description of where it went. A mirror copy of a
    different dataset under the same id is replaced only with ``force``."""
    rem = parse_remote(remote)
    if rem is None:
        raise DatasetError(
            f"cannot upload {did!r}: no remote is configured (set MINARI_REMOTE or pass --remote)"
        )
    try:
        ds = load(did, verify=True)
    except DatasetError as e:
        raise DatasetError(f"refusing to upload {did!r} to {rem.url}: {e}") from e
    ours = ds.storage.metadata[META_KEY]
    if rem.kind == "mirror":
        assert rem.path is not None
        mirror = rem.path
        if mirror.exists() and not mirror.is_dir():
            raise DatasetError(f"cannot upload {did!r}: mirror {rem.url} is not a directory")
        from .safety import inside

        dst = inside(mirror, did)  # an id, never a path out of the mirror
        meta = dst / "data" / "metadata.json"
        if meta.is_file() and not force:
            try:
                block = json.loads(meta.read_text())
                block = block.get(META_KEY) if isinstance(block, dict) else None
                theirs = block.get("checksum") if isinstance(block, dict) else None
            except (OSError, ValueError):
                theirs = None
            if theirs == ours["checksum"]:
                return f"{did} is already in mirror {mirror} (same checksum {theirs[:12]})"
            raise DatasetError(
                f"mirror {rem.url} already has a different {did!r} (checksum "
                f"{str(theirs)[:12]}...); pass --force to replace it"
            )
        try:
            with _stage(mirror, "upload") as stage:
                shutil.copytree(dataset_path(did), stage / did)
                _copy_namespace_files(did, datasets_root(), mirror)
                _move_into_place(stage / did, dst)
        except OSError as e:
            raise DatasetError(f"uploading {did!r} to mirror {rem.url} failed: {e}") from e
        return f"{did} -> {dst} (checksum {ours['checksum'][:12]})"
    try:
        if rem.kind == "hf":
            _probe_hf(rem)
        import minari

        with (
            environment(MINARI_REMOTE=rem.url),
            warnings.catch_warnings(record=True) as caught,
            redirect_stdout(sys.stderr),
        ):
            warnings.simplefilter("always")
            minari.upload_dataset(did, token)
    except _Unavailable as e:
        raise DatasetError(f"cannot upload {did!r}: {e}") from e
    except Exception as e:
        reason, _ = _describe_error(e)
        raise DatasetError(f"uploading {did!r} to {rem.url} failed: {reason}") from e
    if any("already in remote" in str(w.message) for w in caught):
        return f"{did} is already on {rem.url}; Minari does not replace remote datasets"
    return f"{did} -> {rem.url} (checksum {ours['checksum'][:12]})"


def list_remote(remote: str | None = None) -> list[str]:
    """Dataset ids on ``remote`` (default ``MINARI_REMOTE``)."""
    rem = parse_remote(remote)
    if rem is None:
        raise DatasetError("no remote is configured (set MINARI_REMOTE or pass --remote)")
    if rem.kind == "mirror":
        return _mirror_ids(_check_mirror(rem))
    try:
        if rem.kind == "hf":
            _probe_hf(rem)
        import minari

        with environment(MINARI_REMOTE=rem.url), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return sorted(minari.list_remote_datasets())
    except _Unavailable as e:
        raise DatasetError(f"cannot list the datasets: {e}") from e
    except Exception as e:
        reason, _ = _describe_error(e)
        raise DatasetError(f"listing the datasets on {rem.url} failed: {reason}") from e
