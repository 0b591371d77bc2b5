"""Vector versions of the wrappers, for the native batched env (gymnasium's vector wrapper API).

``gym.make_vec(..., vectorization_mode="vector_entry_point")`` takes no per-env ``wrappers=``
(gymnasium refuses them for a vector entry point), so wrap the vector env itself:

    venv = gym.make_vec("ImageStyling-v0", num_envs=16, vectorization_mode="vector_entry_point")
    venv = VectorDiscreteActions(VectorEncodeInstruction(venv, encoder="hash", dim=256))

- :class:`VectorEncodeInstruction`: the batch's instructions (a tuple of strings) become an
  ``(N, dim)`` float32 array, encoded once per distinct instruction (cached), exactly as
  :class:`~styling_env.wrappers.EncodeInstruction` encodes one (same encoders, same
  ``encoder_spec`` on the space).
- :class:`VectorDiscreteActions`: actions are ``(N,)`` flat indices of
  :class:`~styling_env.wrappers.DiscreteActions` (``single_action_space`` is its
  ``Discrete``), turned into the batched native ``Dict`` action (so it also wraps gymnasium's
  ``SyncVectorEnv`` of single envs).

``agents.sb3_vec.StylingVecEnv`` turns the result into a stable-baselines3 ``VecEnv``.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.vector import VectorActionWrapper, VectorEnv, VectorObservationWrapper
from gymnasium.vector.utils import batch_space

from .actions import FlatActions
from .wrappers import encoder_spec, make_encoder


class VectorEncodeInstruction(VectorObservationWrapper):
    """The instruction of every sub-env becomes a vector (see the module docstring):
    ``encoder="hash"`` (``dim``-d), ``"minilm"`` (384-d) or an object with ``dim`` and
    ``encode(list[str])``."""

    def __init__(
        self, env: VectorEnv, encoder: str | Any = "hash", dim: int = 256, cache_size: int = 4096
    ) -> None:
        super().__init__(env)
        encoder = make_encoder(encoder, dim)
        self.encoder = encoder
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        single = dict(env.single_observation_space.spaces)
        box = spaces.Box(-1.0, 1.0, (encoder.dim,), np.float32)
        box.encoder_spec = encoder_spec(encoder)
        single["instruction"] = box
        self.single_observation_space = spaces.Dict(single)
        self.observation_space = batch_space(self.single_observation_space, env.num_envs)

    def observations(self, observations: dict[str, Any]) -> dict[str, Any]:
        obs = dict(observations)
        texts = list(obs["instruction"])
        new = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if new:
            vecs = np.clip(self.encoder.encode(new), -1, 1).astype(np.float32)
            self._cache.update(zip(new, vecs, strict=True))
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        obs["instruction"] = np.stack([self._cache[t] for t in texts])  # a new array each call
        return obs


class VectorDiscreteActions(VectorActionWrapper):
    """Actions are ``(N,)`` integer indices of ``DiscreteActions(n_strength_bins, preserve)``
    (value x strength bin x preserve set, last = STOP); a malformed batch raises
    ``ValueError``, an index out of range is an invalid call of that sub-env
    (``info["error"]``), as in the single env."""

    def __init__(self, env: VectorEnv, n_strength_bins: int = 4, preserve: bool = True) -> None:
        name = getattr(env.unwrapped, "library", "v2")
        self.flat = FlatActions(n_strength_bins, preserve, name)  # validates both
        super().__init__(env)
        self.bins = self.flat.n_strength_bins
        self.stop_index = self.flat.stop
        self.single_action_space = spaces.Discrete(self.flat.size)
        self.action_space = batch_space(self.single_action_space, env.num_envs)

    def actions(self, actions: Any) -> dict[str, np.ndarray]:
        a = np.asarray(actions)
        n = self.num_envs
        if a.shape not in ((n,), (n, 1)) or not np.issubdtype(a.dtype, np.integer):
            raise ValueError(
                f"VectorDiscreteActions takes an int array of shape ({n},); got {a.dtype} {a.shape}"
            )
        # out of range: tool -1, an invalid call of that sub-env, as natively
        d = self.flat.decode(a.reshape(-1))
        return {"tool": d["tool"], "value": d["value"], "strength": d["strength"][:, None],
                "region": np.zeros(n, np.int64), "preserve": d["preserve"].astype(np.int8)}  # fmt: skip


__all__ = ["VectorDiscreteActions", "VectorEncodeInstruction"]
