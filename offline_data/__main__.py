"""``python -m offline_data``: generate, get, inspect and import ImageStyling datasets.

    python -m offline_data generate --tier regular --episodes 10000 --seed 0 [--image-size 128] [--shards N]
    python -m offline_data generate --tier complex --library v3 --episodes 300   # image-styling/complex-v3-v0
    python -m offline_data generate --tier regular --episodes 10000 --shards 8 --shard 3   # one shard (a cluster job)
    python -m offline_data generate --tier regular --episodes 10000 --ray [--address auto|ray://HOST:PORT]
    python -m offline_data merge image-styling/regular-v0 PART [PART ...]
    python -m offline_data download image-styling/regular-v0      # remote (MINARI_REMOTE) or regenerate
    python -m offline_data upload image-styling/regular-v0        # to MINARI_REMOTE
    python -m offline_data list [--remote]
    python -m offline_data show image-styling/regular-v0
    python -m offline_data verify image-styling/regular-v0        # recompute the content checksum
    python -m offline_data import-paper DIR [--id image-styling/paper-v0]

Errors (a missing, corrupt or incomplete dataset, an unreachable remote, a malformed paper
folder, another process writing the same dataset, a full disk or read-only folder) print one
message naming the problem and exit with status 1; bad arguments exit 2. A dataset id must be
``[namespace/]name-vN`` (never a path); it is checked before any work.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from styling_env.tools.library_tables import LIBRARY_NAMES

from .dataset import DatasetError, dataset_id


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m offline_data", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    g = sub.add_parser("generate", help="generate a dataset with the teachers")
    g.add_argument("--tier", required=True, choices=("simple", "regular", "complex"))
    g.add_argument("--episodes", type=int, default=10_000)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--image-size", type=int, default=128)
    g.add_argument(
        "--library", default="v2", choices=LIBRARY_NAMES,
        help="the action library the episodes are played in (default v2; another names the "
        "default id image-styling/<tier>-<library>-v0)",
    )  # fmt: skip
    g.add_argument(
        "--shards",
        type=int,
        default=None,
        help="split the episode range into N shard datasets, then merge",
    )
    g.add_argument(
        "--shard",
        type=int,
        default=None,
        help="generate only shard K of --shards (merge them later)",
    )
    g.add_argument(
        "--num-envs", type=int, default=64, help="vector env width (does not change the content)"
    )
    g.add_argument(
        "--per-task", type=int, default=2, help="consecutive episodes that share one task"
    )
    g.add_argument(
        "--teacher", default="noisy-oracle", choices=("noisy-oracle", "oracle", "random")
    )
    g.add_argument(
        "--clean", type=float, default=None, metavar="FRACTION",
        help="share of the noisy oracle's episodes made without a mistake (default: the tier's "
        "calibrated share, about 65%% of trajectories at r >= 4); lower makes a noisier teacher",
    )  # fmt: skip
    g.add_argument(
        "--split", default="train",
        help="task split the episodes are drawn from: only train (test and free are evaluation "
        "sets, refused)",
    )  # fmt: skip
    g.add_argument("--ref-episodes", type=int, default=100, help="tasks for ref_min/ref_max scores")
    g.add_argument(
        "--id", default=None,
        help="dataset id (default image-styling/<tier>-v0, or image-styling/<tier>-<library>-v0)",
    )  # fmt: skip
    g.add_argument("--overwrite", action="store_true")
    g.add_argument("--quiet", action="store_true")
    g.add_argument(
        "--ray",
        action="store_true",
        help="run the shards as Ray tasks and merge them (a local Ray instance sized to the "
        "machine unless --address); --shards N is then the number of tasks (default: one per "
        "--cpus-per-task CPUs of the cluster)",
    )
    g.add_argument(
        "--cpus-per-task",
        type=int,
        default=None,
        help="with --ray: CPUs each shard task reserves (default: its torch threads)",
    )
    g.add_argument(
        "--task-threads",
        type=int,
        default=None,
        help="with --ray: torch threads of each shard task (default: this process's, so the "
        "content equals a local run's: it depends on the torch thread count)",
    )
    g.add_argument(
        "--address",
        default=None,
        help="with --ray: the cluster to join (auto, ray://HOST:PORT); its nodes must see "
        "MINARI_DATASETS_PATH",
    )

    m = sub.add_parser("merge", help="merge shard datasets")
    m.add_argument("id")
    m.add_argument("parts", nargs="+")
    m.add_argument("--overwrite", action="store_true")
    m.add_argument("--remove-parts", action="store_true")

    d = sub.add_parser("download", help="download from MINARI_REMOTE, or regenerate locally")
    d.add_argument("id")
    d.add_argument(
        "--remote",
        default=None,
        help="hf://org, gcp://bucket, or a local mirror folder (default: MINARI_REMOTE)",
    )
    d.add_argument("--force", action="store_true")
    d.add_argument("--no-regenerate", action="store_true")
    d.add_argument(
        "--allow-noncanonical", action="store_true",
        help="accept data whose checksum differs from the canonical one recorded for the id",
    )  # fmt: skip

    u = sub.add_parser("upload", help="upload to MINARI_REMOTE")
    u.add_argument("id")
    u.add_argument("--remote", default=None)
    u.add_argument("--token", default=None, help="Hugging Face token (default: HF_TOKEN)")

    ls = sub.add_parser("list", help="list local (or remote) ImageStyling datasets")
    ls.add_argument("--remote", nargs="?", const="", default=None)

    s = sub.add_parser("show", help="print a dataset card")
    s.add_argument("id")
    v = sub.add_parser("verify", help="recompute a dataset's content checksum")
    v.add_argument("id")

    ip = sub.add_parser("import-paper", help="convert the paper's released per-sample folders")
    ip.add_argument("folder")
    ip.add_argument("--id", default="image-styling/paper-v0")
    ip.add_argument("--tier", default=None, choices=("simple", "regular", "complex"))
    ip.add_argument("--image-size", type=int, default=128)
    ip.add_argument(
        "--library",
        default=None,
        choices=("v2", "normal", "v3"),
        help="the plans' action library (default: read from the plans; they must agree)",
    )
    ip.add_argument("--overwrite", action="store_true")
    ip.add_argument(
        "--skip-bad", action="store_true", help="skip malformed samples instead of failing"
    )
    return p


def _ids(args: argparse.Namespace) -> list[str]:
    """Every dataset id an invocation names."""
    ids = [getattr(args, "id", None), *(getattr(args, "parts", None) or [])]
    return [i for i in ids if i is not None]


def main(argv: Sequence[str] | None = None) -> int:
    from .ray_generate import RayMissingError
    from .safety import InvalidIdError, check_dataset_id

    args = _parser().parse_args(argv)
    try:
        for did in _ids(args):  # ids are not paths: refused before any work
            check_dataset_id(did)
        return _run(args)
    except InvalidIdError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except (DatasetError, RayMissingError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except (ValueError, TypeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def _check_generate(args: argparse.Namespace) -> None:
    """``generate``'s counts, each checked by its flag's name before any work (the library
    functions check them again under their parameters' names)."""
    from styling_env.validation import nonnegative_int, positive_int

    checks = [
        ("--episodes", positive_int), ("--seed", nonnegative_int), ("--image-size", positive_int),
        ("--num-envs", positive_int), ("--per-task", positive_int),
        ("--ref-episodes", nonnegative_int), ("--shards", positive_int),
        ("--shard", nonnegative_int), ("--cpus-per-task", positive_int),
        ("--task-threads", positive_int),
    ]  # fmt: skip
    for flag, check in checks:
        value = getattr(args, flag[2:].replace("-", "_"))
        if value is not None:  # None: the flag's default is left to the library
            check(flag, value)


def _run(args: argparse.Namespace) -> int:
    from . import dataset as D

    if args.command == "generate":
        from .generate import check_training_split, generate, generate_shard, shard_range

        check_training_split(args.split)  # before any work: evaluation tasks are never trained on
        _check_generate(args)
        shards = 1 if args.shards is None else args.shards  # 0 is refused, not taken for 1
        from .teachers import NoiseProfile, NoisyOracle

        teacher = profile = None
        if args.clean is not None:
            if args.teacher != "noisy-oracle":
                raise ValueError(
                    f"--clean is an option of --teacher noisy-oracle, not {args.teacher}"
                )
            profile = NoiseProfile(clean=args.clean)  # refuses a share outside [0, 1] by name
        if args.teacher == "oracle":
            teacher = NoisyOracle(NoiseProfile(clean=1.0, jitter=0.0), name="oracle")
        elif args.teacher == "random":
            from .generate import RandomPlans

            teacher = RandomPlans()
        t0 = time.perf_counter()
        kw = dict(
            image_size=args.image_size, teacher=teacher, did=args.id, num_envs=args.num_envs,
            overwrite=args.overwrite, progress=not args.quiet, ref_episodes=args.ref_episodes,
            per_task=args.per_task, profile=profile,
        )  # fmt: skip
        if args.ray:  # the shards as Ray tasks (offline_data.ray_generate)
            from .ray_generate import generate_on_ray

            if args.shard is not None:
                raise ValueError("--ray runs every shard: drop --shard (or drop --ray)")
            path = generate_on_ray(
                args.tier, args.episodes, args.seed, address=args.address,
                shards=args.shards, cpus_per_task=args.cpus_per_task, threads=args.task_threads,
                library=args.library, **kw,
            )  # fmt: skip
        elif args.address is not None:
            raise ValueError("--address needs --ray")
        elif args.shard is not None:
            path = generate_shard(
                args.tier, args.episodes, args.seed, args.shard, shards,
                library=args.library, **kw,
            )  # fmt: skip
        else:
            path = generate(
                args.tier, args.episodes, args.seed, shards=shards,
                library=args.library, **kw,
            )  # fmt: skip
        did = args.id or dataset_id(args.tier, library=args.library)
        made = args.episodes
        if args.shard is not None:
            from .generate import shard_id

            did = shard_id(did, args.shard, shards)
            made = len(shard_range(args.episodes, args.shard, shards))  # this shard's episodes
        seconds = time.perf_counter() - t0
        print(D.card(D.load(did)))
        print(f"  wrote {path} in {seconds:.0f} s ({made / max(seconds, 1e-9):.1f} episodes/s)")
        return 0
    if args.command == "merge":
        from .merge import merge

        path = merge(args.parts, args.id, overwrite=args.overwrite, remove_parts=args.remove_parts)
        print(D.card(D.load(args.id)))
        print(f"  merged {len(args.parts)} shards into {path}")
        return 0
    if args.command == "download":
        from .remote import download

        path = download(
            args.id, remote=args.remote, force=args.force, regenerate=not args.no_regenerate,
            allow_noncanonical=args.allow_noncanonical,
        )  # fmt: skip
        print(D.card(D.load(args.id)))
        print(f"  at {path}")
        return 0
    if args.command == "upload":
        from .remote import upload

        print(upload(args.id, remote=args.remote, token=args.token))
        return 0
    if args.command == "list":
        if args.remote is not None:
            from .remote import list_remote

            for did in list_remote(args.remote or None):
                print(did)
            return 0
        from .remote import _mirror_ids

        root = D.datasets_root()
        found = _mirror_ids(root) if root.exists() else []  # every id, any namespace
        if not found:
            print(f"no ImageStyling datasets in {root}")
        for did in found:
            try:
                ds = D.load(did)
                ours = D.info(ds)
                print(
                    f"{did:32s} {ds.total_episodes:7,d} episodes {ds.total_steps:8,d} steps  r mean {ours.get('r_mean', 0):.2f}"
                )
            except DatasetError as e:
                print(f"{did:32s} unusable: {e}")
        return 0
    if args.command == "show":
        print(D.card(D.load(args.id)))
        return 0
    if args.command == "verify":
        ds = D.load(args.id, verify=True)
        print(
            f"{args.id}: checksum {D.info(ds)['checksum']} verified ({ds.total_episodes} episodes)"
        )
        return 0
    if args.command == "import-paper":
        from .paper import import_paper

        path = import_paper(
            args.folder, args.id, tier=args.tier, image_size=args.image_size,
            overwrite=args.overwrite, strict=not args.skip_bad, library=args.library,
        )  # fmt: skip
        print(D.card(D.load(args.id)))
        print(f"  at {path}")
        return 0
    raise ValueError(f"unknown command {args.command!r}")


if __name__ == "__main__":
    sys.exit(main())
