"""The native vector environment: ``n`` episodes, each tool applied once per step for all.

``gym.make_vec("ImageStyling-v0", num_envs=64, vectorization_mode="vector_entry_point")``.
It is the same :class:`~styling_env.engine.Engine` as the single environment with ``n`` slots, so
slot ``i`` seeded like a single env steps exactly like it.

Autoreset is next-step by default (gymnasium's default): the step after an episode ends resets
that slot and ignores its action. With ``autoreset_mode="disabled"`` (gymnasium's
``AutoresetMode.DISABLED``) the caller resets finished slots itself with
``reset(options={"reset_mask": mask})`` (optionally ``"tasks"``: one task per masked slot); a
finished slot that is not reset stays idle: its action is ignored, its reward is 0 and it is not
reported as terminated or truncated again. Dataset generation uses this to give every episode
its own seeded task.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from .config import EnvConfig
from .engine import Invalid, Stop, decode_native
from .env import action_space, build_observation, configure, observation_space, strip
from .free_tasks import episode_task
from .judge import Judge
from .tasks import Task
from .tools import ToolCall
from .tools.library_tables import DEFAULT_LIBRARY
from .validation import choice, positive_int, reset_options

#: ``autoreset_mode`` names -> gymnasium's modes (the vector envs take either).
AUTORESET_MODES = {"next_step": AutoresetMode.NEXT_STEP, "disabled": AutoresetMode.DISABLED}


def autoreset_name(value: str | AutoresetMode) -> str:
    """``"next_step"`` or ``"disabled"`` of a name or an ``AutoresetMode``; anything else is a
    ``ValueError`` that names the choices."""
    if isinstance(value, AutoresetMode):
        value = {v: k for k, v in AUTORESET_MODES.items()}.get(value, value)
    return choice("autoreset_mode", value, AUTORESET_MODES)


class ImageStylingVectorEnv(VectorEnv):
    """``num_envs`` ImageStyling episodes stepped as one batch (see the module docstring)."""

    metadata = {
        "render_modes": ["rgb_array"],
        "render_fps": 2,
        "autoreset_mode": AutoresetMode.NEXT_STEP,
    }

    def __init__(
        self,
        num_envs: int = 8,
        tier: str = "simple",
        images: str | None = None,
        image_size: int = 128,
        device: str = "cpu",
        max_steps: int = 8,
        max_invalid: int = 3,
        invalid_penalty: float = 0.1,
        observation_mode: str = "image",
        split: str = "train",
        judge: Judge | str | None = None,
        render_mode: str | None = None,
        autoreset_mode: str | AutoresetMode = AutoresetMode.NEXT_STEP,
        library: str = DEFAULT_LIBRARY,
        *,
        config: EnvConfig | None = None,
    ) -> None:
        self.metadata = {
            **self.metadata,
            "autoreset_mode": AUTORESET_MODES[autoreset_name(autoreset_mode)],
        }
        self.num_envs = positive_int("num_envs", num_envs)
        config = EnvConfig.resolve(
            config, dict(tier=tier, images=images, image_size=image_size, device=device,
            max_steps=max_steps, max_invalid=max_invalid, invalid_penalty=invalid_penalty,
            observation_mode=observation_mode, split=split, judge=judge, render_mode=render_mode,
            library=library),
        )  # fmt: skip
        if config.device.startswith("cpu"):
            from .resources import check_memory

            check_memory(num_envs, config.image_size)  # before anything is allocated
        config, self.engine = configure(self, num_envs, config)
        self.single_action_space = action_space(config.library)
        self.single_observation_space = observation_space(
            config.image_size, config.max_steps, config.observation_mode, config.library
        )
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self._autoreset = np.zeros(num_envs, dtype=bool)
        self._idle = np.zeros(num_envs, dtype=bool)  # disabled mode: finished, not yet reset
        self._rngs: list[np.random.Generator] = []

    @property
    def _disabled(self) -> bool:
        return self.metadata["autoreset_mode"] == AutoresetMode.DISABLED

    def reset(self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None):
        options = reset_options(options, ("reset_mask", "tasks"))
        mask = options.get("reset_mask")
        if mask is not None:
            if not self._disabled:
                raise ValueError("options['reset_mask'] needs autoreset_mode='disabled'")
            mask = np.asarray(mask)
            if mask.shape != (self.num_envs,) or mask.dtype != bool:
                raise ValueError(
                    f"options['reset_mask'] must be a bool array of shape ({self.num_envs},)"
                )
            if not self._rngs:
                raise ValueError("call reset() without a reset_mask first")
        which = list(range(self.num_envs)) if mask is None else np.flatnonzero(mask).tolist()
        if isinstance(seed, int):
            seed = [seed + i for i in range(self.num_envs)]
        if seed is not None and len(seed) != self.num_envs:
            raise ValueError(f"got {len(seed)} seeds for {self.num_envs} envs")
        if seed is not None or mask is None:
            seeds = seed if seed is not None else [None] * self.num_envs
            # one generator per slot, seeded like a single env's np_random, so slot i == env(seed+i)
            rngs = [np.random.Generator(np.random.PCG64(np.random.SeedSequence(s))) for s in seeds]
            if mask is None:
                self._rngs = rngs
            else:
                for i in which:
                    self._rngs[i] = rngs[i]
        tasks = options.get("tasks")
        if tasks is None:
            tasks = [self._sample(i) for i in which]
        elif len(tasks) != len(which) or not all(isinstance(t, Task) for t in tasks):
            raise ValueError(
                f"options['tasks'] must be {len(which)} styling_env.Task objects (one per reset sub-env)"
            )
        if which:
            self.engine.reset(which, tasks)
        self._autoreset[which] = False
        self._idle[which] = False
        infos: dict[str, Any] = {}
        for i in range(self.num_envs):
            infos = self._add_info(infos, self.engine.info(self.engine.slots[i]), i)
        return self._observations(), infos

    def _sample(self, i: int) -> Task:
        return episode_task(
            self.tier, int(self._rngs[i].integers(2**31 - 1)), self.split, self.images,
            self.library,
        )  # fmt: skip

    def step(self, actions):
        n = self.num_envs
        _check_batch(actions, n)
        rewards = np.zeros(n, dtype=np.float64)
        terminated = np.zeros(n, dtype=bool)
        truncated = np.zeros(n, dtype=bool)
        infos: dict[str, Any] = {}
        again = [i for i in range(n) if self._autoreset[i]]
        live = [i for i in range(n) if not (self._autoreset[i] or self._idle[i])]
        if again:
            self.engine.reset(again, [self._sample(i) for i in again])
            for i in again:
                infos = self._add_info(infos, self.engine.info(self.engine.slots[i]), i)
        if live:
            decoded = [self._decode(actions, i) for i in live]
            for i, (r, te, tr, info) in zip(live, self.engine.step(live, decoded), strict=True):
                rewards[i], terminated[i], truncated[i] = r, te, tr
                infos = self._add_info(infos, info, i)
        if self._disabled:
            self._idle |= terminated | truncated
        else:
            self._autoreset = terminated | truncated
        return self._observations(), rewards, terminated, truncated, infos

    def _decode(self, actions: Any, i: int):
        if isinstance(actions, list | tuple):  # already decoded calls or per-env dicts
            a = actions[i]
            return a if isinstance(a, ToolCall | Stop | Invalid) else decode_native(a, self.library)
        if isinstance(actions, dict):
            try:
                return decode_native(
                    {k: np.asarray(v)[i] for k, v in actions.items()}, self.library
                )
            except IndexError:
                return Invalid("batched actions must be arrays with one entry per sub-env")
        return Invalid(f"actions must be a dict of arrays or a list, got {type(actions).__name__}")

    def _observations(self) -> dict[str, Any]:
        if self.observation_mode == "image":
            self.engine.frames()  # every slot's picture converted in one batch
        per = [  # the frames uncopied: np.stack below copies them into the batch
            build_observation(s, self.max_steps, self.observation_mode, self.library, copy=False)
            for s in self.engine.slots
        ]
        out: dict[str, Any] = {}
        for key in per[0]:
            if key == "instruction":
                out[key] = tuple(p[key] for p in per)  # Text batches into a tuple
            else:
                out[key] = np.stack([np.asarray(p[key]) for p in per])
        return out

    def render(self):
        if self.render_mode != "rgb_array":
            return None
        return tuple(strip(s) for s in self.engine.slots)


def _check_batch(actions: Any, n: int) -> None:
    """A batch of another size than the ``n`` sub-envs is a ``ValueError`` (a third action for
    two sub-envs was dropped, one for two raised ``IndexError`` or became an invalid call)."""
    if isinstance(actions, list | tuple) and len(actions) != n:
        raise ValueError(f"got {len(actions)} actions for {n} sub-envs")
    if isinstance(actions, dict):
        for key, v in actions.items():
            size = np.shape(v)[0] if np.ndim(v) else None
            if size != n:
                what = "a single value" if size is None else f"{size} entries"
                raise ValueError(f"actions[{key!r}] holds {what} for {n} sub-envs")
