"""The vector environment on several processes: ``num_envs`` slots split over ``workers``.

``gym.make_vec("ImageStyling-v0", num_envs=64, vectorization_mode="vector_entry_point",
workers=2)`` (or :class:`ParallelStylingVectorEnv` directly) starts ``workers`` processes, each
running an :class:`~styling_env.vector.ImageStylingVectorEnv` of a contiguous block of the slots
with ``threads`` torch threads (default: this process's threads divided among the workers).
Every step sends each worker its slots' actions, the workers step at the same time, and their
observations, rewards and infos come back as one batch in slot order.

Why: one process uses the cores poorly. A step is hundreds of small tensor operations (recipes
at 128 px, the judge's and the context's 64 px features) with Python between them, so a
2-thread process keeps about 1.2 of two cores busy; two 1-thread processes keep both busy. The
batch a worker steps is smaller, so the per-step work is the same; what changes is that it runs
in parallel.

Same behaviour as the one-process vector env: slot ``i`` seeded ``seed + i`` draws the same
tasks and, given the same actions, returns the same observations and rewards (judge scores to
~1e-6: a few recipes' convolutions differ in the last bit with the batch they run in, as they
do between a single env and a vector env); the same autoreset modes, ``reset_mask`` and
``tasks`` options, infos and ``render``. What it does not have is the in-process ``engine``:
code that reads the slots' state directly (dataset generation, the evaluation harness) uses the
one-process env. Each worker is a fresh interpreter (it starts in a few
seconds; ``python -m styling_env.vector_worker``): no fork, so no OpenMP state is inherited
and a script needs no ``if __name__ == "__main__"`` guard. A judge object must be picklable to
reach them; ``close()`` ends them (so does garbage collection). POSIX systems only.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import socket
import subprocess
import sys
from collections import defaultdict
from collections.abc import Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np
import torch
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from .config import EnvConfig
from .env import action_space, observation_space
from .validation import positive_int
from .vector import AUTORESET_MODES, ImageStylingVectorEnv, autoreset_name

__all__ = ["ParallelStylingVectorEnv", "WorkerError", "make_vector_env"]


class WorkerError(RuntimeError):
    """A worker process failed (its traceback is in the message) or died."""


def _split(n: int, workers: int) -> list[tuple[int, int]]:
    """Contiguous ``(start, stop)`` blocks of ``n`` slots, sizes differing by at most one."""
    base, extra = divmod(n, workers)
    out, start = [], 0
    for w in range(workers):
        stop = start + base + (w < extra)
        out.append((start, stop))
        start = stop
    return out


class ParallelStylingVectorEnv(VectorEnv):
    """``num_envs`` ImageStyling episodes stepped by ``workers`` processes (module docstring).

    Args:
        num_envs: slots in all (>= ``workers``).
        workers: processes (>= 1; 1 still runs one worker process).
        threads: torch threads per worker (default: ``torch.get_num_threads() // workers``,
            at least 1).
        autoreset_mode: as :class:`~styling_env.vector.ImageStylingVectorEnv`.
        config, **options: the :class:`~styling_env.EnvConfig` (or its fields as keywords).
    """

    metadata = ImageStylingVectorEnv.metadata

    def __init__(
        self,
        num_envs: int = 8,
        workers: int = 2,
        threads: int | None = None,
        autoreset_mode: str | AutoresetMode = AutoresetMode.NEXT_STEP,
        *,
        config: EnvConfig | None = None,
        **options: Any,
    ) -> None:
        self._conns: list[Any] = []
        self._procs: list[Any] = []
        self.num_envs = positive_int("num_envs", num_envs)
        self.workers = positive_int("workers", workers)
        if self.workers > self.num_envs:
            raise ValueError(
                f"workers ({self.workers}) must not exceed num_envs ({self.num_envs}): every "
                "worker steps at least one slot"
            )
        if threads is None:
            threads = max(1, torch.get_num_threads() // self.workers)
        self.threads = positive_int("threads", threads)
        mode = autoreset_name(autoreset_mode)
        self.metadata = {**self.metadata, "autoreset_mode": AUTORESET_MODES[mode]}
        self.config = config = EnvConfig.resolve(config, options)  # bad options fail here
        if config.device.startswith("cpu"):
            from .resources import check_memory

            check_memory(self.num_envs, config.image_size)
        # the attributes the one-process env sets (wrappers read ``library``)
        self.tier, self.split, self.images = config.tier, config.split, config.image_source
        self.max_steps, self.observation_mode = config.max_steps, config.observation_mode
        self.render_mode, self.library = config.render_mode, config.library
        self.single_action_space = action_space(config.library)
        self.single_observation_space = observation_space(
            config.image_size, config.max_steps, config.observation_mode, config.library
        )
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.blocks = _split(self.num_envs, self.workers)
        try:
            for start, stop in self.blocks:
                self._start_worker((stop - start, config, mode, self.threads))
            self._gather()  # every worker built its env (or the first error is raised)
        except BaseException:
            self.close()
            raise

    def _start_worker(self, init: tuple[Any, ...]) -> None:
        """One ``python -m styling_env.vector_worker`` on a socket pair, sent ``init``."""
        if os.name != "posix":
            raise OSError("workers > 1 needs a POSIX system (Linux, macOS): the workers talk "
                          "over a socket pair passed as a file descriptor")  # fmt: skip
        ours, theirs = socket.socketpair()
        env = dict(os.environ)
        # the same package as this process's, and OpenMP pools of the worker's size
        root = str(Path(__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        env["OMP_NUM_THREADS"] = str(init[3])
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "styling_env.vector_worker", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),), env=env,
            )  # fmt: skip
        finally:
            theirs.close()
        conn = Connection(ours.detach())
        self._conns.append(conn)
        self._procs.append(proc)
        try:
            conn.send(init)
        except (pickle.PicklingError, TypeError, AttributeError) as e:
            raise ValueError(
                f"workers > 1 sends the env's config to each worker, and it cannot be pickled "
                f"({type(e).__name__}: {e}); a judge object must be picklable (a module-level "
                "class, no lambdas or open handles), or use workers=1"
            ) from e

    # -- messaging --------------------------------------------------------------------------

    def _send(self, command: str, payloads: Sequence[Any] | None = None) -> None:
        for w, conn in enumerate(self._conns):
            try:
                conn.send((command, None if payloads is None else payloads[w]))
            except OSError as e:  # a worker that died: its pipe is broken
                code = self._procs[w].poll()
                raise WorkerError(
                    f"worker {w} (slots {self.blocks[w][0]}-{self.blocks[w][1] - 1}) is gone "
                    f"(exit code {code}): {e}; close() this env and make a new one"
                ) from e

    def _gather(self) -> list[Any]:
        out, error = [], None
        for w, conn in enumerate(self._conns):
            try:
                status, result = conn.recv()
            except (EOFError, OSError):
                code = self._procs[w].poll()
                status, result = "error", f"the worker process exited (exit code {code})"
            if status != "ok" and error is None:
                error = f"worker {w} (slots {self.blocks[w][0]}-{self.blocks[w][1] - 1}): {result}"
            out.append(result)
        if error is not None:
            raise WorkerError(error)
        return out

    def _call(self, command: str, payloads: Sequence[Any] | None = None) -> list[Any]:
        if not self._conns:
            raise WorkerError("the environment is closed")
        self._send(command, payloads)
        return self._gather()

    # -- gymnasium API ----------------------------------------------------------------------

    def reset(self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None):
        options = dict(options or {})
        if isinstance(seed, int | np.integer) and not isinstance(seed, bool):
            seed = [int(seed) + i for i in range(self.num_envs)]
        if seed is not None and len(seed) != self.num_envs:
            raise ValueError(f"got {len(seed)} seeds for {self.num_envs} envs")
        mask = options.pop("reset_mask", None)
        tasks = options.pop("tasks", None)
        if mask is not None:
            mask = np.asarray(mask)
            if mask.shape != (self.num_envs,) or mask.dtype != bool:
                raise ValueError(
                    f"options['reset_mask'] must be a bool array of shape ({self.num_envs},)"
                )
        if tasks is not None:
            want = self.num_envs if mask is None else int(mask.sum())
            if len(tasks) != want:
                raise ValueError(
                    f"options['tasks'] must be {want} styling_env.Task objects (one per reset "
                    "sub-env)"
                )
        payloads, used = [], 0
        for start, stop in self.blocks:
            sub: dict[str, Any] = dict(options)
            take = stop - start
            if mask is not None:
                sub["reset_mask"] = mask[start:stop]
                take = int(mask[start:stop].sum())
            if tasks is not None:
                sub["tasks"] = list(tasks[used : used + take])
            used += take
            payloads.append({"seed": None if seed is None else list(seed[start:stop]),
                             "options": sub or None})  # fmt: skip
        parts = self._call("reset", payloads)
        return self._merge_observations([p[0] for p in parts]), self._merge_infos(
            [p[1] for p in parts]
        )

    def step(self, actions):
        payloads = [self._slice(actions, start, stop) for start, stop in self.blocks]
        parts = self._call("step", payloads)
        obs = self._merge_observations([p[0] for p in parts])
        rewards, terminated, truncated = (np.concatenate([p[k] for p in parts]) for k in (1, 2, 3))
        return obs, rewards, terminated, truncated, self._merge_infos([p[4] for p in parts])

    def render(self):
        if self.render_mode != "rgb_array":
            return None
        return tuple(frame for part in self._call("render") for frame in part)

    def timings(self) -> tuple[dict[str, float], dict[str, int]]:
        """The workers' engine timings (seconds per stage, summed over workers: worker time,
        not wall time) and counts (``reset``, ``reset_cached``), as the one-process engine's
        ``timings`` and ``counts``."""
        times: dict[str, float] = defaultdict(float)
        counts: dict[str, int] = defaultdict(int)
        for t, c in self._call("timings"):
            for k, v in t.items():
                times[k] += v
            for k, v in c.items():
                counts[k] += v
        return dict(times), dict(counts)

    def close_extras(self, **kwargs: Any) -> None:
        for conn in self._conns:
            with contextlib.suppress(BrokenPipeError, OSError):
                conn.send(("close", None))
        for conn in self._conns:
            try:
                if conn.poll(5):
                    conn.recv()
            except (EOFError, OSError):
                pass
            conn.close()
        for proc in self._procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        self._conns, self._procs = [], []

    def close(self, **kwargs: Any) -> None:
        # safe before __init__ finished (a worker failed to start) and when called twice
        if getattr(self, "_conns", None) or getattr(self, "_procs", None):
            self.close_extras(**kwargs)
        self.closed = True

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # nothing to report at interpreter shutdown
            self.close()

    # -- batching ---------------------------------------------------------------------------

    def _slice(self, actions: Any, start: int, stop: int) -> Any:
        """The actions of slots ``start:stop``: a list's items, a dict's arrays' rows (anything
        else goes whole: the worker's env names the problem)."""
        if isinstance(actions, list | tuple):
            if len(actions) != self.num_envs:
                raise ValueError(f"got {len(actions)} actions for {self.num_envs} envs")
            return list(actions[start:stop])
        if isinstance(actions, dict):
            out = {}
            for k, v in actions.items():
                a = np.asarray(v)
                if a.ndim == 0 or a.shape[0] != self.num_envs:
                    raise ValueError(
                        f"batched actions must be arrays with one entry per sub-env: "
                        f"{k!r} has shape {a.shape} for {self.num_envs} envs"
                    )
                out[k] = a[start:stop]
            return out
        return actions

    @staticmethod
    def _merge_observations(parts: Sequence[dict[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in parts[0]:
            if key == "instruction":  # Text batches into a tuple
                out[key] = tuple(s for p in parts for s in p[key])
            else:
                out[key] = np.concatenate([p[key] for p in parts])
        return out

    def _merge_infos(self, parts: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """The workers' vector infos as one: each worker's per-slot entries added again at the
        slot's global index (gymnasium's ``_add_info``: the same arrays and ``_key`` masks)."""
        infos: dict[str, Any] = {}
        for (start, stop), part in zip(self.blocks, parts, strict=True):
            for j in range(stop - start):
                info = _slot_info(part, j)
                if info:
                    infos = self._add_info(infos, info, start + j)
        return infos


def _slot_info(infos: dict[str, Any], j: int) -> dict[str, Any]:
    """Slot ``j``'s entries of vector ``infos`` (nested dicts too) as a plain dict."""
    out: dict[str, Any] = {}
    for key, value in infos.items():
        if key.startswith("_"):
            continue
        mask = infos.get(f"_{key}")
        if mask is None or not mask[j]:
            continue
        if isinstance(value, dict):
            sub = _slot_info(value, j)
            if sub:
                out[key] = sub
        else:  # a numpy scalar back to its Python type, as the worker's engine gave it
            v = value[j]
            out[key] = v.item() if isinstance(v, np.generic) else v
    return out


def make_vector_env(num_envs: int = 8, workers: int = 1, **kwargs: Any) -> VectorEnv:
    """The vector entry point of the registered ids: the one-process
    :class:`~styling_env.vector.ImageStylingVectorEnv` for ``workers=1`` (the default), else a
    :class:`ParallelStylingVectorEnv` of ``workers`` processes."""
    if positive_int("workers", workers) == 1:
        if "threads" in kwargs:
            raise ValueError("threads is an option of workers > 1 (the one-process env uses "
                             "torch's threads; set them with torch.set_num_threads)")  # fmt: skip
        return ImageStylingVectorEnv(num_envs, **kwargs)
    return ParallelStylingVectorEnv(num_envs, workers, **kwargs)
