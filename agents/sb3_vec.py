"""stable-baselines3 on the native batched env: a ``VecEnv`` adapter.

SB3 cannot take a gymnasium ``VectorEnv`` (it asks for a ``VecEnv``, or a list of env
factories). :class:`StylingVecEnv` adapts the native ``ImageStylingVectorEnv`` wrapped in
:class:`~styling_env.vector_wrappers.VectorEncodeInstruction` and
:class:`~styling_env.vector_wrappers.VectorDiscreteActions`, so that

    from stable_baselines3 import PPO
    from agents.sb3_vec import make_sb3_vec_env
    venv = make_sb3_vec_env("simple", n_envs=16, image_size=64)
    model = PPO("MultiInputPolicy", venv)   # or agents.online.StylingPPOPolicy below 36 px

trains on one batched env: every step applies each tool once for all sub-envs and scores all
of them in one judge call. SB3's semantics are kept: a finished sub-env is reset in the same
step (its final observation in ``infos[i]["terminal_observation"]``,
``infos[i]["TimeLimit.truncated"]`` on truncation); the native env runs with
``autoreset_mode="disabled"`` and the adapter resets the finished sub-envs as one batch.
``seed(s)`` seeds sub-env ``i`` with ``s + i`` at the next reset, like SB3's ``DummyVecEnv``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices

from styling_env.vector_wrappers import VectorDiscreteActions, VectorEncodeInstruction


class StylingVecEnv(VecEnv):
    """A stable-baselines3 ``VecEnv`` over a gymnasium vector env whose autoreset is disabled
    (see the module docstring)."""

    def __init__(self, venv: Any) -> None:
        from gymnasium.vector import AutoresetMode

        if venv.metadata.get("autoreset_mode") != AutoresetMode.DISABLED:
            raise ValueError(
                "StylingVecEnv needs the vector env made with autoreset_mode='disabled' (it "
                "resets finished sub-envs itself, in the same step, as SB3 expects)"
            )
        self.venv = venv
        self._actions: Any = None
        self._obs: dict[str, np.ndarray] | None = None
        super().__init__(venv.num_envs, venv.single_observation_space, venv.single_action_space)

    # -- SB3's VecEnv API -------------------------------------------------------------------

    def reset(self) -> dict[str, np.ndarray]:
        seeds = None if self._seeds[0] is None else [int(s) for s in self._seeds]
        obs, infos = self.venv.reset(seed=seeds)
        self.reset_infos = self._split(infos)
        self._reset_seeds()
        self._reset_options()
        self._obs = obs
        return self._copy(obs)

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, list[dict]]:
        obs, rewards, terminated, truncated, infos = self.venv.step(self._actions)
        done = np.asarray(terminated) | np.asarray(truncated)
        per = self._split(infos)
        for i in range(self.num_envs):
            per[i]["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
        if done.any():
            for i in np.flatnonzero(done):
                per[i]["terminal_observation"] = {k: np.array(v[i]) for k, v in obs.items()}
            obs, reset_infos = self.venv.reset(options={"reset_mask": done})
            split = self._split(reset_infos)
            for i in np.flatnonzero(done):
                self.reset_infos[i] = split[i]
        self._obs = obs
        return self._copy(obs), np.asarray(rewards, np.float32), done, per

    def close(self) -> None:
        self.venv.close()

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        value = getattr(self.venv.unwrapped, attr_name)
        return [value for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        setattr(self.venv.unwrapped, attr_name, value)

    def env_method(
        self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **kw: Any
    ) -> list[Any]:
        out = getattr(self.venv.unwrapped, method_name)(*method_args, **kw)
        return [out for _ in self._get_indices(indices)]

    def env_is_wrapped(self, wrapper_class: type, indices: VecEnvIndices = None) -> list[bool]:
        return [False for _ in self._get_indices(indices)]  # sub-envs carry no gym.Wrapper

    def get_images(self) -> Sequence[np.ndarray | None]:
        frames = self.venv.render()
        return list(frames) if frames is not None else [None] * self.num_envs

    # -- helpers ----------------------------------------------------------------------------

    @staticmethod
    def _copy(obs: dict[str, Any]) -> dict[str, np.ndarray]:
        return {k: np.array(v) for k, v in obs.items()}

    def _split(self, infos: dict[str, Any]) -> list[dict[str, Any]]:
        """gymnasium's batched info dict (arrays + ``_key`` masks) -> one dict per sub-env."""
        out: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        for k, v in infos.items():
            if k.startswith("_"):
                continue
            mask = infos.get("_" + k)
            for i in range(self.num_envs):
                if mask is None or mask[i]:
                    out[i][k] = v[i]
        return out


def make_sb3_vec_env(
    tier: str = "simple", *, n_envs: int = 8, image_size: int = 64, encoder: str = "hash",
    encoder_dim: int = 256, n_strength_bins: int = 4, max_steps: int = 8, split: str = "train",
    observation_mode: str = "image", images: str | None = None, device: str = "cpu",
    seed: int | None = None, preserve: bool | None = None, library: str = "v2", workers: int = 1,
) -> StylingVecEnv:  # fmt: skip
    """The native vector env of ``n_envs`` sub-envs, wrapped for SB3: ``StylingVecEnv(
    VectorDiscreteActions(VectorEncodeInstruction(ImageStylingVectorEnv(...))))``, the same
    observations and actions as :func:`agents.online.make_online_env` gives one env.
    ``seed``: sub-env ``i`` is seeded ``seed + i`` at the first reset. ``preserve``: as
    :func:`agents.online.make_online_env` (None: the preserve digit only on the complex tier).
    ``library``: the action library of the sub-envs (``"v2"``, ``"normal"``, ``"v3"``).
    ``workers``: processes the sub-envs are split over (:mod:`styling_env.parallel`; 1: this
    process)."""
    from styling_env.parallel import make_vector_env

    from .online import online_preserve, refuse_free

    refuse_free(split)
    if encoder not in ("hash", "minilm"):
        raise ValueError(f"encoder must be 'hash' or 'minilm', got {encoder!r}")
    venv = make_vector_env(
        n_envs, workers, tier=tier, images=images, image_size=image_size, device=device,
        max_steps=max_steps, observation_mode=observation_mode, split=split,
        autoreset_mode="disabled", library=library,
    )  # fmt: skip
    venv = VectorDiscreteActions(
        VectorEncodeInstruction(venv, encoder=encoder, dim=encoder_dim), n_strength_bins,
        online_preserve(tier, preserve),
    )  # fmt: skip
    out = StylingVecEnv(venv)
    if seed is not None:
        out.seed(seed)
    return out


__all__ = ["StylingVecEnv", "make_sb3_vec_env"]
