"""The on-disk format of ImageStyling datasets, and reading them back.

A dataset is a Minari dataset ``image-styling/<tier>-v0`` (parquet storage, lossless images);
one played in another action library (``styling_env.libraries``: ``normal``, ``v3``) is
``image-styling/<tier>-<library>-v0`` and names its library in its recipe.

- **Observations** (``T + 1`` per episode): the environment's observation *without* ``source``
  (it is ``image`` at ``t = 0``; storing it at every step would double the size):
  ``image`` ``(H, W, 3)`` uint8, ``context`` (10,), ``instruction`` (Text), ``history``
  ``(max_steps, 5)``, ``steps_left``. :func:`episodes` puts ``source`` back.
- **Actions** (``T``): the native ``Dict(tool, value, strength, region, preserve)`` action
  (``preserve``: the 6 mask bits the call keeps untouched) in the dataset's library's native
  indices; the last one is STOP (tool 10 in ``v2``, the library's ``stop`` in another) unless
  the episode was truncated.
- **Rewards, terminations, truncations** (``T``): as the environment returned them.
- **Step infos** (``T + 1`` rows; row ``t`` goes with observation ``t``): ``reasoning`` (the
  teacher's 20-40 word reason for action ``t``), ``call`` (action ``t`` as the paper's JSON
  action object, in the library's words, with every parameter, including those the native action cannot hold:
  replaying ``call`` reproduces the episode exactly), ``mistake`` (the teacher's tag for
  action ``t``: empty when it was right), ``overall`` (the judge's score of observation ``t``).
  The last row has empty ``reasoning``/``call``.
- **Episode metadata** (Minari's per-episode ``metadata.json``): ``task`` (``Task.to_dict``),
  ``instruction``, ``precise_instruction`` (Stage 3), ``plan`` (the paper's JSON plan with
  reasons), ``oracle_plan``, ``scores`` (the six), ``overall``, ``r``, ``planning``,
  ``violations``, ``noise`` (the teacher's settings and mistakes), ``episode_seed``.
- **Dataset metadata**: Minari's fields (author, description, code permalink, env specs,
  ``ref_min_score``/``ref_max_score`` = mean return of random and oracle plans, absent when
  generated with ``ref_episodes=0``, never NaN) and ours under
  ``image_styling``: format version, the recipe that regenerates the dataset, the content
  checksum, the ``r`` histogram, and ``complete``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces

from styling_env.judge import JUDGE_VERSION
from styling_env.tools.library_tables import DEFAULT_LIBRARY, check_library

from .errors import DatasetError
from .safety import atomic_write, check_dataset_id, inside, write_error

NAMESPACE = "image-styling"
#: The version of what a dataset stores and of how its checksum is computed; readers refuse
#: another. Bump it when the stored fields or the digest change. A change of the content alone
#: (the teachers, the oracle, the tools) shows as a new recipe (``judge_version``, the noise
#: profile) or must bump it too. Either way regenerate ``offline_data/canonical.json``:
#: ``tests/test_canonical.py`` pins the checksum of a small recipe so that no such change goes
#: unnoticed.
#: Version 2: actions hold ``preserve`` and history rows its bitmask column (version 1 had
#: neither; such datasets are refused: regenerate them).
FORMAT_VERSION = 2
#: The key of our own fields in a Minari dataset's metadata.
META_KEY = "image_styling"
#: Step-info keys (one row per observation).
INFO_KEYS = ("reasoning", "call", "mistake", "overall")
R_BINS = (0.0, 1.0, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0001)


def dataset_id(tier: str, suffix: str = "", library: str = DEFAULT_LIBRARY) -> str:
    """``image-styling/<tier>[-library][-suffix]-v0``: a dataset of another action library than
    the default ``v2`` names it (``image-styling/complex-v3-v0``)."""
    lib = check_library(library)
    name = tier + ("" if lib == DEFAULT_LIBRARY else f"-{lib}") + (f"-{suffix}" if suffix else "")
    return f"{NAMESPACE}/{name}-v0"


@dataclass(frozen=True)
class Recipe:
    """Everything that determines a generated dataset's content (its checksum's inputs)."""

    tier: str
    episodes: int
    seed: int = 0
    image_size: int = 128
    max_steps: int = 8
    teacher: str = "noisy-oracle"
    profile: Mapping[str, Any] = field(default_factory=dict)
    per_task: int = 2  # consecutive episodes sharing one task
    format_version: int = FORMAT_VERSION
    judge_version: int = JUDGE_VERSION  # the judge that scored the rewards and the teacher's r
    #: the action library the episodes are played in (``styling_env.libraries``): its tasks,
    #: its native action indices, its JSON
    library: str = DEFAULT_LIBRARY

    def __post_init__(self) -> None:
        check_library(self.library)

    def to_dict(self) -> dict[str, Any]:
        """The recipe as JSON; a ``v2`` recipe omits ``library``, so that its dict (and every
        dataset's recorded recipe) is what it was before the other libraries existed."""
        d = asdict(self)
        d["profile"] = dict(self.profile)
        if self.library == DEFAULT_LIBRARY:
            del d["library"]
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Recipe:
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        known.setdefault("judge_version", 1)  # recipes written before the field were judge v1
        return cls(**known)


#: The canonical datasets: the paper's three at full scale.
CANONICAL_EPISODES = 10_000


def observation_space(
    image_size: int, max_steps: int = 8, library: str = DEFAULT_LIBRARY
) -> spaces.Dict:
    """The stored observation space: the env's (of action ``library``: its history bounds),
    without ``source``, with the instruction over printable ASCII (generated and imported
    requests are written in it; the env's Unicode charset would put ~140,000 characters into
    every dataset's metadata)."""
    from styling_env.env import ASCII_CHARSET, MAX_INSTRUCTION
    from styling_env.env import observation_space as env_space

    full = env_space(image_size, max_steps, "image", library)
    d = {k: v for k, v in full.spaces.items() if k != "source"}
    d["instruction"] = spaces.Text(MAX_INSTRUCTION, min_length=0, charset=ASCII_CHARSET)
    return spaces.Dict(d)


def code_version() -> str:
    """The version of the code that writes a dataset: the package version, plus the git commit
    when running from a checkout (``0.1.0+g1a2b3c4``, with ``.dirty`` for uncommitted changes)."""
    import subprocess

    from styling_env import __version__

    here = Path(__file__).resolve().parent.parent
    try:
        sha = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "--short=10", "HEAD"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return __version__
    return f"{__version__}+g{sha}{'.dirty' if dirty else ''}" if sha else __version__


def platform_info() -> dict[str, str]:
    """What besides the code can change generated pixels: torch, numpy, Python and the CPU."""
    import platform

    import torch

    return {
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }


def datasets_root() -> Path:
    """Where Minari keeps local datasets (``MINARI_DATASETS_PATH`` or ``~/.minari/datasets``)."""
    from minari.storage.datasets_root_dir import get_dataset_path

    try:
        return Path(get_dataset_path())  # Minari creates the folder
    except OSError as e:  # a read-only or blocked MINARI_DATASETS_PATH: name it
        raise write_error(os.environ.get("MINARI_DATASETS_PATH", "~/.minari/datasets"), e) from e


def dataset_path(did: str) -> Path:
    """The folder of dataset ``did`` under :func:`datasets_root`. ``did`` must be an id
    (``[namespace/]name-vN``), never a path: anything else raises
    :class:`offline_data.safety.InvalidIdError` (a ``ValueError``)."""
    return inside(datasets_root(), check_dataset_id(did))


@contextmanager
def environment(**values: str | None) -> Iterator[None]:
    """Set (or, for ``None``, unset) environment variables for the duration; each one's previous
    value, or its absence, is restored afterwards, also on an error."""
    old = {k: os.environ.get(k) for k in values}
    try:
        for k, v in values.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextmanager
def datasets_path(path: str | Path) -> Iterator[Path]:
    """Minari's datasets root (``MINARI_DATASETS_PATH``) set to ``path`` for the duration (Minari
    reads it on every call); the previous setting is restored afterwards."""
    with environment(MINARI_DATASETS_PATH=str(path)):
        yield Path(path)


def namespaces(did: str) -> list[str]:
    """The namespaces of ``did``, outermost first (``a/b/name-v0`` -> ``a``, ``a/b``; none for
    ``name-v0``)."""
    parts = did.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def move_into_place(src_root: Path, dst_root: Path, did: str, *, overwrite: bool = False) -> Path:
    """Move the finished dataset ``did`` from ``src_root`` (a staging root) to ``dst_root`` on
    the same file system, with the namespace metadata ``dst_root`` lacks; returns its new path.

    A dataset that appeared at the destination meanwhile (another writer on a shared folder) is
    a :class:`DatasetError` unless ``overwrite``; then it is swapped out first and removed after,
    so the destination never holds half of either."""
    src, dst = src_root / did, dst_root / did
    dst.parent.mkdir(parents=True, exist_ok=True)
    for ns in namespaces(did):
        meta, target = (
            src_root / ns / "namespace_metadata.json",
            dst_root / ns / "namespace_metadata.json",
        )
        if meta.exists() and not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(meta, target)
    old = None
    if dst.exists():  # checked again now: another writer may have finished meanwhile
        if not overwrite:
            raise DatasetError(
                f"dataset {did!r} appeared at {dst} while this run was writing it (another "
                "writer on a shared folder?); it was left as it is and this run's data "
                "discarded: run again with another --id, or with --overwrite to replace it"
            )
        old = dst.parent / f".old-{dst.name}-{os.getpid()}-{time.time_ns()}"
        os.replace(dst, old)
    os.replace(src, dst)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return dst


@contextmanager
def staging(final: Path) -> Iterator[Path]:
    """A hidden staging root next to the datasets, made Minari's datasets root for the
    duration: a dataset is written there and moved to ``final`` by the caller when complete, so
    an interrupted run never leaves one that looks finished. Removed on an error."""
    root = datasets_root()
    _remove_stale_staging(root)
    stage = root / f".staging-{os.getpid()}-{time.time_ns()}"
    with datasets_path(stage):
        try:
            yield stage
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            raise


def _remove_stale_staging(root: Path) -> None:
    """Delete staging folders left by killed runs (their process is gone)."""
    for p in root.glob(".staging-*"):
        try:
            pid = int(p.name.split("-")[1])
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(p, ignore_errors=True)
        except (ValueError, IndexError, PermissionError):
            continue


def set_meta(path: Path, values: Mapping[str, Any] = {}, *, minari: Mapping[str, Any] = {}) -> None:
    """Update the metadata of the dataset at ``path`` in place (only once it is complete):
    our block with ``values``, Minari's own fields (``ref_min_score`` and the like) with
    ``minari``; ``metadata.json`` is replaced atomically."""
    file = path / "data" / "metadata.json"
    meta = json.loads(file.read_text())
    meta[META_KEY].update(values)
    meta.update(minari)
    atomic_write(file, lambda tmp: tmp.write_text(json.dumps(meta)))


# --------------------------------------------------------------------------------------------
# Checksums: a digest of everything an episode holds, computed the same way from the buffers
# being written and from the dataset read back.


def _h(h: Any, x: Any, dtype: Any = None) -> None:
    a = np.ascontiguousarray(np.asarray(x, dtype=dtype))
    h.update(str(a.shape).encode())
    h.update(a.tobytes())


def _hs(h: Any, strings: Sequence[Any]) -> None:
    h.update("\x1f".join("" if s is None else str(s) for s in strings).encode())
    h.update(b"\x1e")


def episode_digest(
    observations: Mapping[str, Any], actions: Mapping[str, Any], rewards: Any,
    terminations: Any, truncations: Any, infos: Mapping[str, Any], meta: Mapping[str, Any],
) -> bytes:  # fmt: skip
    """The digest of one episode's content: observations (without ``source``), actions, episode
    ends, reasons, calls, the task and the teacher's settings. The judge's float scores
    (rewards, ``overall``, ``r``) are left out: they are measurements *of* that content, and a
    different batch composition moves them by ~1e-7, enough to cross any rounding boundary
    (seen on 1 of 50 complex episodes regenerated at another vector width; images, actions and
    text were identical). ``rewards`` is accepted for symmetry but not hashed."""
    h = hashlib.sha256()
    _h(h, observations["image"], np.uint8)
    _h(h, observations["context"], np.int64)
    _h(h, observations["history"], np.float32)
    _h(h, observations["steps_left"], np.int64)
    _hs(h, list(observations["instruction"]))
    for k in ("tool", "value", "region"):
        _h(h, actions[k], np.int64)
    _h(h, np.asarray(actions["strength"], np.float32).reshape(-1))
    _h(h, actions["preserve"], np.int64)
    _h(h, terminations, bool)
    _h(h, truncations, bool)
    for k in ("reasoning", "call", "mistake"):
        _hs(h, list(infos[k]))
    keys = ("task", "instruction", "precise_instruction", "noise", "paper_scores")
    stable = {k: meta[k] for k in keys if k in meta}
    h.update(json.dumps(stable, sort_keys=True, default=str).encode())
    return h.digest()


def combine_digests(digests: Sequence[bytes]) -> str:
    h = hashlib.sha256()
    for d in digests:
        h.update(d)
    return h.hexdigest()


# --------------------------------------------------------------------------------------------
# Reading


def load(did: str, *, verify: bool = False) -> Any:
    """Open a local ImageStyling dataset with Minari, checking it is complete and of this format
    version (``verify=True`` also recomputes its content checksum). Raises :class:`DatasetError`
    naming the problem and the fix."""
    import minari

    path = dataset_path(did)
    meta_file = path / "data" / "metadata.json"
    if not meta_file.exists():
        raise DatasetError(
            f"dataset {did!r} is not in {datasets_root()}: run `python -m offline_data download "
            f"{did}` (or `generate`)"
        )
    raw = read_metadata(did, path)
    ours = raw.get(META_KEY)
    if not isinstance(ours, dict):
        raise DatasetError(
            f"{did!r} at {path} is not an ImageStyling dataset (no {META_KEY!r} metadata)"
        )
    version = ours.get("format_version")
    if version != FORMAT_VERSION:
        raise DatasetError(
            f"dataset {did!r} has format version {version!r}; this code reads version "
            f"{FORMAT_VERSION}{' (version 1 predates preserve in the action)' if version == 1 else ''}: "
            "regenerate it with `python -m offline_data generate` or download it again"
        )
    if not ours.get("complete"):
        raise DatasetError(
            f"dataset {did!r} at {path} is incomplete (its writing was interrupted); delete it and generate it again"
        )
    try:
        ds = minari.load_dataset(did)
        n = ds.total_episodes
    except Exception as e:  # minari/pyarrow raise many types on damaged files
        raise DatasetError(
            f"dataset {did!r} at {path} cannot be read ({type(e).__name__}: {e})"
        ) from e
    if n != ours.get("episodes"):
        raise DatasetError(
            f"dataset {did!r} holds {n} episodes but its recipe says {ours.get('episodes')}: it is damaged"
        )
    missing = [i for i in range(n) if not (path / "data" / str(i)).is_dir()]
    if missing:
        raise DatasetError(
            f"dataset {did!r} at {path} is missing the files of {len(missing)} episode(s) "
            f"(first: {missing[0]}); delete it and download or generate it again"
        )
    check_files(did, path, n)
    if verify:
        try:
            got = checksum(ds)
        except Exception as e:  # damaged parquet files surface as many pyarrow/OS error types
            raise DatasetError(
                f"dataset {did!r} at {path} cannot be read ({type(e).__name__}: {e})"
            ) from e
        if got != ours.get("checksum"):
            raise DatasetError(
                f"dataset {did!r}: content checksum {got[:12]}... does not match the recorded "
                f"{str(ours.get('checksum'))[:12]}...: the files were changed or damaged"
            )
    return ds


def read_metadata(did: str, path: Path) -> dict[str, Any]:
    """The dataset metadata (``data/metadata.json``) of ``did`` at ``path`` as a dict; a file
    that cannot be read, is not JSON or is JSON of another shape than an object (a list, a
    number) is a :class:`DatasetError` naming the file."""
    meta_file = path / "data" / "metadata.json"
    try:
        raw = json.loads(meta_file.read_text())
    except (OSError, ValueError) as e:
        raise DatasetError(
            f"dataset {did!r}: metadata.json is corrupt ({e}); delete {path} and download it again"
        ) from e
    if not isinstance(raw, dict):
        raise DatasetError(
            f"dataset {did!r}: metadata.json is corrupt (it holds a JSON {_json_kind(raw)}, not "
            f"an object); delete {path} and download it again"
        )
    return raw


def _json_kind(x: Any) -> str:
    """The JSON type name of a decoded value (``array``, ``string``, ...)."""
    if isinstance(x, list):
        return "array"
    if isinstance(x, str):
        return "string"
    if isinstance(x, bool):
        return "boolean"
    if isinstance(x, (int, float)):
        return "number"
    return "null" if x is None else type(x).__name__


def check_files(did: str, path: Path, n: int) -> None:
    """Raise :class:`DatasetError` if an episode's parquet file is truncated or not parquet.

    Reads each file's footer only (its schema and row counts; ~0.1 ms a file), so a damaged file
    is found when the dataset is opened, not by a raw pyarrow error half-way through training.
    What it cannot see (a byte changed inside a page, an edited value) is what ``verify``'s
    checksum is for."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    for i in range(n):
        for f in sorted((path / "data" / str(i)).glob("*.parquet")):
            try:
                pq.read_metadata(f)
            except (pa.ArrowException, OSError) as e:
                raise DatasetError(
                    f"dataset {did!r}: the data file of episode {i} ({f}) is damaged or "
                    f"truncated ({type(e).__name__}: {e}); delete {path} and download or "
                    "generate it again"
                ) from e


def info(ds: Any) -> dict[str, Any]:
    """Our metadata block (recipe, checksum, histogram, ...)."""
    return dict(ds.storage.metadata.get(META_KEY, {}))


def dataset_library(ds: Any) -> str:
    """The action library a dataset's episodes were played in: its recipe's ``library``
    (``"v2"`` when the recipe does not name one, as every dataset before the other libraries)."""
    recipe = info(ds).get("recipe") or {}
    return check_library(recipe.get("library", DEFAULT_LIBRARY))


@dataclass
class EpisodeRecord:
    """One stored episode with its metadata; observations include ``source`` again."""

    id: int
    observations: dict[str, Any]
    actions: dict[str, np.ndarray]
    rewards: np.ndarray
    terminations: np.ndarray
    truncations: np.ndarray
    infos: dict[str, Any]
    meta: dict[str, Any]

    @property
    def r(self) -> float:
        return float(self.meta["r"])

    def __len__(self) -> int:
        return len(self.rewards)


def episodes(ds: Any, indices: Sequence[int] | None = None) -> Iterator[EpisodeRecord]:
    """Iterate a dataset's episodes as :class:`EpisodeRecord` (``source`` restored); an index
    outside the dataset is a :class:`DatasetError` naming it (Minari's own error names a file)."""
    idx = _indices(ds, indices)
    metas = ds.storage.get_episode_metadata(idx)
    for ep, meta in zip(_read_episodes(ds, idx), metas, strict=True):
        obs = dict(ep.observations)
        obs["instruction"] = list(obs["instruction"])
        # a read-only view of the first image at every step (no copy: it is the same picture)
        obs["source"] = np.broadcast_to(obs["image"][:1], obs["image"].shape)
        yield EpisodeRecord(
            int(ep.id), obs, dict(ep.actions), np.asarray(ep.rewards), np.asarray(ep.terminations),
            np.asarray(ep.truncations), _infos(ep.infos),
            dict(meta),
        )  # fmt: skip


def _indices(ds: Any, indices: Sequence[int] | None) -> list[int]:
    """``indices`` as a list (None: every episode), each one of ``ds``'s episodes."""
    n = ds.total_episodes
    idx = list(range(n)) if indices is None else [int(i) for i in indices]
    bad = [i for i in idx if not 0 <= i < n]
    if bad:
        did = ds.storage.metadata.get("dataset_id", "the dataset")
        raise DatasetError(
            f"episode {bad[0]} is not in {did!r}: it holds episodes 0-{n - 1}"
            + (f" ({len(bad)} indices outside it)" if len(bad) > 1 else "")
        )
    return idx


def _infos(infos: Mapping[str, Any]) -> dict[str, Any]:
    """An episode's infos as records hold them: lists per key, ``overall`` an array."""
    return {k: list(v) if k != "overall" else np.asarray(v) for k, v in infos.items()}


def episode_steps(ds: Any, indices: Sequence[int] | None = None) -> Iterator[EpisodeRecord]:
    """:func:`episodes` without the observations (``observations`` is empty): the actions,
    rewards, flags, infos and metadata, read from the episode files' other columns only, for
    passes over the steps that never look at a picture (the call-level critics' diagnostics on
    the Complex tier: 33 -> 19 s). A storage other than Minari's Arrow or Parquet one reads whole
    episodes."""
    idx = _indices(ds, indices)
    storage = ds.storage
    fmt = getattr(storage, "FORMAT", None)
    if fmt not in ("arrow", "parquet") or not hasattr(storage, "data_path"):
        for rec in episodes(ds, idx):
            yield replace(rec, observations={})
        return
    import pyarrow as pa
    import pyarrow.dataset  # noqa: F401  (pa.dataset)
    from minari.dataset._storages.arrow_storage import _decode_info, _decode_space

    files = pa.dataset.dataset(
        [
            pa.dataset.dataset(
                f"{storage.data_path}/{i}", format=fmt, ignore_prefixes=["_", ".", "metadata.json"]
            )
            for i in idx
        ]
    )  # the layout Minari 0.5's ArrowStorage.get_episodes reads: one batch per episode
    columns = [c for c in ("actions", "rewards", "terminations", "truncations", "infos")
               if c in files.schema.names]  # fmt: skip
    metas = storage.get_episode_metadata(idx)
    jpeg = bool(getattr(storage, "_jpeg_encoding", False))
    try:
        for i, ep, meta in zip(idx, files.to_batches(columns=columns), metas, strict=True):
            infos = _decode_info(ep["infos"]) if "infos" in ep.column_names else {}
            yield EpisodeRecord(
                int(i), {}, dict(_decode_space(storage.action_space, ep["actions"][:-1], jpeg_encoding=jpeg)),
                np.asarray(ep["rewards"])[:-1], np.asarray(ep["terminations"])[:-1],
                np.asarray(ep["truncations"])[:-1],
                _infos(infos),
                dict(meta),
            )  # fmt: skip
    except (pa.ArrowException, OSError) as e:
        did = storage.metadata.get("dataset_id")
        raise DatasetError(
            f"dataset {did!r}: an episode's data cannot be read ({type(e).__name__}: {e}); it "
            "is damaged or truncated: delete it and download or generate it again"
        ) from e


def _read_episodes(ds: Any, idx: list[int]) -> Iterator[Any]:
    """Minari's episodes, with a damaged file's pyarrow error turned into :class:`DatasetError`."""
    import pyarrow as pa

    it = iter(ds.iterate_episodes(idx))
    k = 0
    while True:
        try:
            ep = next(it)
        except StopIteration:
            return
        except (pa.ArrowException, OSError) as e:
            did = ds.storage.metadata.get("dataset_id")
            where = f"episode {idx[k]}" if k < len(idx) else "an episode"
            raise DatasetError(
                f"dataset {did!r}: the data of {where} cannot be read ({type(e).__name__}: "
                f"{e}); it is damaged or truncated: delete it and download or generate it again"
            ) from e
        k += 1
        yield ep


def checksum(ds: Any) -> str:
    """Recompute the content checksum of a dataset from its files."""
    return combine_digests(
        [
            episode_digest(e.observations, e.actions, e.rewards, e.terminations, e.truncations, e.infos, e.meta)
            for e in episodes(ds)
        ]
    )  # fmt: skip


def r_histogram(rs: Sequence[float]) -> dict[str, int]:
    counts, _ = np.histogram(np.asarray(rs, float), bins=R_BINS)
    labels = [f"{a:g}-{min(b, 5.0):g}" for a, b in zip(R_BINS[:-1], R_BINS[1:], strict=True)]
    return dict(zip(labels, counts.tolist(), strict=True))


def card(ds: Any) -> str:
    """A dataset card: id, episodes, steps, tier, teacher, r histogram, size, checksum."""
    m = ds.storage.metadata
    ours = m.get(META_KEY, {})
    recipe = ours.get("recipe", {})
    lines = [
        f"{m.get('dataset_id')}  ({ours.get('source', 'generated')})",
        f"  episodes {ds.total_episodes:,}   steps {ds.total_steps:,}   tier {recipe.get('tier', ours.get('tier', '?'))}"
        f"   image {recipe.get('image_size', '?')}px   teacher {recipe.get('teacher', '?')}",
        f"  r mean {ours.get('r_mean', float('nan')):.2f}   share r>=4.0 {ours.get('share_r_ge_4', float('nan')):.2f}"
        f"   ref scores (random / oracle return) {_ref_scores(m)}",
        f"  size on disk {_size_mb(dataset_path(m.get('dataset_id', ''))):.1f} MB   checksum {str(ours.get('checksum', ''))[:16]}",
        "  r histogram:",
    ]  # fmt: skip
    hist = ours.get("r_histogram", {})
    top = max(hist.values(), default=1) or 1
    for label, c in hist.items():
        lines.append(f"    {label:>9} {c:7,d} {'#' * round(40 * c / top)}")
    return "\n".join(lines)


def _ref_scores(m: Mapping[str, Any]) -> str:
    """``ref_min_score / ref_max_score`` for the card, or ``none`` when the dataset has none
    (generated with ``ref_episodes=0``; Minari then writes neither field)."""
    lo, hi = m.get("ref_min_score"), m.get("ref_max_score")
    ok = all(isinstance(v, (int, float)) and np.isfinite(v) for v in (lo, hi))
    return f"{lo:.2f} / {hi:.2f}" if ok else "none"


def _size_mb(path: Path) -> float:
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            total += os.path.getsize(os.path.join(root, f))
    return total / 1e6
