"""stable-baselines3 as the online reference: PPO and DQN through the wrappers.

- :func:`make_online_env` = ``DiscreteActions(EncodeInstruction(gym.make("ImageStyling-v0",
  ...)))``: a flat ``Discrete`` action and a flat ``Dict`` observation of Boxes and discrete
  spaces (SB3's ``MultiInputPolicy`` cannot take the ``Text`` instruction; ``EncodeInstruction``
  turns it into a vector). It passes SB3's ``check_env``.
- :func:`train_online` trains PPO or DQN on a ``DummyVecEnv`` of those envs with
  ``StylingPPOPolicy`` / ``StylingDQNPolicy`` (SB3's ``MultiInputPolicy`` with
  ``StylingExtractor``, a small CNN that works down to 8 px — SB3's NatureCNN needs at least
  36 px — and a check of the image size) and returns the SB3 model; ``model.save(path)`` /
  ``PPO.load(path)`` (or :func:`load_online`, which tells PPO from DQN) round-trip it.
- The model runs through :func:`agents.evaluate.evaluate` unchanged: evaluate passes the keys
  of ``model.observation_space`` and encodes the instruction with the encoder
  ``EncodeInstruction`` recorded on that space (and ``model.styling_info``), and decodes the flat actions from
  ``model.action_space.n``. Evaluate at the image size (and ``max_steps``) the model was
  trained with: :func:`evaluate_online` fills it in; with plain ``evaluate`` another image
  size is a ``ValueError`` that names the size to use (from the policy's check).

Action libraries (:mod:`styling_env.libraries`): ``library="normal"`` or ``"v3"`` (default
``"v2"``) plays the env of that library, whose flat action has its rows (``335 * bins + 1``
in ``normal``, ``189 * bins + 1`` in ``v3``) and whose context its dimensions (30 in ``v3``).
The model records it (``model.styling_info["library"]`` and ``model.library``, saved with it),
so :func:`agents.evaluate.evaluate` plays that library's test tasks and refuses an env of
another with :class:`~offline_data.errors.LibraryMismatchError`.

Default budget (:data:`DEFAULT_STEPS`): 20,000 env steps, about 4.5 minutes at 64 px on one
CPU thread (measured ~73 env steps/s for PPO and DQN with 4 sub-envs on a busy 2-core machine;
the env's own step, tools and judge, takes most of it); a short reference, not a converged
policy.
"""

from __future__ import annotations

import json
import time
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from agents.config import Config
from agents.registry import Trained
from styling_env.validation import positive_int

from .evaluate import evaluate

#: Default env steps of :func:`train_online`.
DEFAULT_STEPS: Mapping[str, int] = {"ppo": 20_000, "dqn": 20_000}

#: Hyper-parameters of :func:`train_online` (SB3 constructor arguments); ``hyper`` overrides.
#: PPO: rollouts of 128 steps per env (16 episodes of at most 8 steps), 4 epochs of minibatch
#: 64, a small entropy bonus for the 685-way action. DQN: a replay buffer of at most 20,000
#: Dict observations (each holds two images), the target network every 500 steps.
DEFAULT_HYPER: Mapping[str, Mapping[str, Any]] = {
    "ppo": {
        "n_steps": 128, "batch_size": 64, "n_epochs": 4, "learning_rate": 3e-4, "gamma": 0.99,
        "gae_lambda": 0.95, "ent_coef": 0.01, "clip_range": 0.2,
    },
    "dqn": {
        "buffer_size": 20_000, "learning_starts": 500, "batch_size": 64, "learning_rate": 1e-4,
        "gamma": 0.99, "train_freq": 4, "target_update_interval": 500,
        "exploration_fraction": 0.3, "exploration_final_eps": 0.05,
    },
}  # fmt: skip

_ALGOS = ("ppo", "dqn")


def _sb3() -> Any:
    try:
        import stable_baselines3
    except ImportError as e:  # pragma: no cover - depends on the optional extra
        raise ImportError(
            "the online reference needs stable-baselines3: pip install 'stable-baselines3>=2.3'"
        ) from e
    return stable_baselines3


def _check_algo(algo: str) -> str:
    key = str(algo).lower()
    if key not in _ALGOS:
        raise ValueError(f"unknown online algorithm {algo!r}; expected 'ppo' or 'dqn'")
    return key


def make_online_env(
    tier: str = "simple", *, image_size: int = 64, encoder: str = "hash", encoder_dim: int = 256,
    n_strength_bins: int = 4, seed: int | None = 0, observation_mode: str = "image",
    max_steps: int = 8, split: str = "train", images: str | None = None,
    preserve: bool | None = None, library: str = "v2",
) -> Any:  # fmt: skip
    """``DiscreteActions(EncodeInstruction(gym.make("ImageStyling-v0", ...)))`` for SB3, in
    action ``library`` (``"v2"``, ``"normal"``, ``"v3"``; the flat action has its rows).

    ``preserve``: whether the flat action has the preserve digit (8,209 actions instead of
    685); ``None``: :func:`online_preserve` (only on the complex tier, the one whose requests
    ask to keep regions as they are).

    ``encoder``: ``"hash"`` (``encoder_dim``-d, not 384 — :func:`agents.evaluate.evaluate`
    reads a 384-d instruction as MiniLM) or ``"minilm"`` (384-d); only these two, so that
    evaluate can encode instructions the same way. ``seed``: the env is reset once with it
    (``None``: not reset). Training tasks come from ``split="train"`` (evaluation uses the
    held-out test tasks).
    """
    import gymnasium as gym

    import styling_env  # noqa: F401 - registers ImageStyling-v0
    from styling_env.tools.library_tables import check_library
    from styling_env.wrappers import DiscreteActions, EncodeInstruction

    refuse_free(split)
    check_library(library)
    if encoder not in ("hash", "minilm"):
        raise ValueError(
            f"encoder must be 'hash' or 'minilm' (what agents.evaluate can reproduce), got {encoder!r}"
        )
    if encoder == "hash" and encoder_dim == 384:
        raise ValueError(
            "a 384-d hashing encoder would be read as MiniLM by agents.evaluate; pick another encoder_dim"
        )
    env = gym.make(
        "ImageStyling-v0", tier=tier, image_size=image_size, max_steps=max_steps,
        observation_mode=observation_mode, split=split, images=images, library=library,
    )  # fmt: skip
    env = DiscreteActions(
        EncodeInstruction(env, encoder=encoder, dim=encoder_dim), n_strength_bins,
        online_preserve(tier, preserve),
    )  # fmt: skip
    if seed is not None:
        env.reset(seed=seed)
        env.action_space.seed(seed)
    return env


def refuse_free(split: str) -> None:
    """A ``ValueError`` for ``split="free"``: the free-text test set is never trained on."""
    if split == "free":
        raise ValueError(
            "the free-text test set (split 'free') is for evaluation, never trained on"
        )


def online_preserve(tier: str, preserve: bool | None) -> bool:
    """``preserve`` if given, else whether ``tier`` asks to preserve regions (complex only):
    on the other tiers no request asks for it, and the preserve digit would multiply the flat
    action space by 12 for nothing."""
    if preserve is None:
        return tier == "complex"
    if not isinstance(preserve, bool):
        raise ValueError(f"preserve must be True, False or None, got {preserve!r}")
    return preserve


def _extractor_class() -> type:
    """:class:`StylingExtractor` (built on first use: it subclasses an SB3 class)."""
    if "cls" in _LAZY:
        return _LAZY["cls"]
    _sb3()
    import torch
    from gymnasium import spaces
    from stable_baselines3.common.preprocessing import get_flattened_obs_dim, is_image_space
    from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
    from torch import nn

    class StylingExtractor(BaseFeaturesExtractor):
        """Features of the wrapped env's Dict observation: the image keys (``image``,
        ``source``) stacked as channels through strided 3x3 convolutions (``channels``) and
        adaptive average pooling to ``pool x pool`` (any size from 8 px), then a ``cnn_dim``
        layer; every other key flattened (SB3's one-hot for the discrete ones)."""

        def __init__(
            self, observation_space: spaces.Dict, channels: tuple[int, ...] = (16, 32, 32),
            pool: int = 2, cnn_dim: int = 128,
        ) -> None:  # fmt: skip
            images = [k for k, s in observation_space.spaces.items() if is_image_space(s)]
            others = [k for k in observation_space.spaces if k not in images]
            cin, hw = 0, None
            for k in images:
                shape = observation_space.spaces[k].shape  # channel-first after VecTransposeImage
                first = shape[0] in (1, 3, 4)
                cin += shape[0] if first else shape[-1]
                hw = tuple(shape[1:]) if first else tuple(shape[:2])
            flat = sum(get_flattened_obs_dim(observation_space.spaces[k]) for k in others)
            super().__init__(observation_space, features_dim=(cnn_dim if images else 0) + flat)
            self.images, self.others = images, others
            self.image_hw = hw
            if images:
                layers: list[nn.Module] = []
                c = cin
                for cout in channels:
                    layers += [nn.Conv2d(c, cout, 3, stride=2, padding=1), nn.ReLU()]
                    c = cout
                layers += [nn.AdaptiveAvgPool2d(pool), nn.Flatten()]
                layers += [nn.Linear(c * pool * pool, cnn_dim), nn.ReLU()]
                self.cnn = nn.Sequential(*layers)

        def forward(self, observations: dict[str, torch.Tensor]) -> torch.Tensor:
            if self.images and self.others:
                # SB3 reshapes each key to its space's shape: images of another size come out
                # as a different number of rows (or fail to reshape) instead of an error
                b_img = observations[self.images[0]].shape[0]
                b = observations[self.others[0]].shape[0]
                if b_img != b:
                    raise ValueError(
                        f"the observation images do not have the size the model was trained "
                        f"on ({self.image_hw[0]}x{self.image_hw[1]} px): evaluate or run it "
                        f"with image_size={self.image_hw[0]}"
                    )
            parts = []
            if self.images:
                parts.append(self.cnn(torch.cat([observations[k] for k in self.images], dim=1)))
            parts += [observations[k].flatten(1) for k in self.others]
            return torch.cat(parts, dim=1)

    from stable_baselines3.common.policies import MultiInputActorCriticPolicy
    from stable_baselines3.dqn.policies import MultiInputPolicy as DQNMultiInputPolicy

    class _CheckImages:
        """Refuse images of another size than the model's with a message that says so (SB3
        reshapes each key to its space's shape, which silently regroups or fails on them)."""

        def obs_to_tensor(self, observation: Any) -> Any:
            if isinstance(observation, Mapping):
                for k, space in self.observation_space.spaces.items():
                    if k in observation and is_image_space(space):
                        got = tuple(np.shape(observation[k])[-3:])
                        c, h, w = space.shape
                        if got not in ((c, h, w), (h, w, c)):
                            raise ValueError(
                                f"observation {k!r} has images of shape {got} but the model was "
                                f"trained on {h}x{w} px ({space.shape}): evaluate or run it "
                                f"with image_size={h}"
                            )
            return super().obs_to_tensor(observation)

    class StylingPPOPolicy(_CheckImages, MultiInputActorCriticPolicy):
        """PPO's ``MultiInputPolicy`` with :class:`StylingExtractor` and an image-size check."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("features_extractor_class", StylingExtractor)
            super().__init__(*args, **kwargs)

    class StylingDQNPolicy(_CheckImages, DQNMultiInputPolicy):
        """DQN's ``MultiInputPolicy`` with :class:`StylingExtractor` and an image-size check."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("features_extractor_class", StylingExtractor)
            super().__init__(*args, **kwargs)

    for c in (StylingExtractor, StylingPPOPolicy, StylingDQNPolicy):
        c.__module__ = __name__
        c.__qualname__ = c.__name__
    _LAZY.update(
        StylingExtractor=StylingExtractor,
        StylingPPOPolicy=StylingPPOPolicy,
        StylingDQNPolicy=StylingDQNPolicy,
        cls=StylingExtractor,
    )
    return StylingExtractor


_LAZY: dict[str, Any] = {}


def __getattr__(name: str) -> Any:
    """``StylingExtractor``, ``StylingPPOPolicy`` and ``StylingDQNPolicy`` are created on first
    access (they subclass SB3 classes; importing SB3 costs ~1.6 s)."""
    if name in ("StylingExtractor", "StylingPPOPolicy", "StylingDQNPolicy"):
        _extractor_class()
        return _LAZY[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def train_online(
    algo: str = "ppo", tier: str = "simple", *, steps: int | None = None, seed: int = 0,
    image_size: int = 64, n_envs: int = 4, n_strength_bins: int = 4, encoder: str = "hash",
    encoder_dim: int = 256, observation_mode: str = "image", max_steps: int = 8,
    hyper: Mapping[str, Any] | None = None, device: str = "cpu", progress: bool = True,
    log_path: str | Path | None = None, out: str | Path | None = None,
    preserve: bool | None = None, library: str = "v2",
) -> Any:  # fmt: skip
    """Train stable-baselines3 ``algo`` (``"ppo"`` or ``"dqn"``, with ``StylingPPOPolicy`` /
    ``StylingDQNPolicy``) online for ``steps`` env steps (default :data:`DEFAULT_STEPS`)
    on ``n_envs`` copies of :func:`make_online_env` (sub-env ``i`` seeded ``seed + i``) and
    return the model.

    ``hyper``: SB3 constructor arguments over :data:`DEFAULT_HYPER` (``policy_kwargs`` too).
    ``log_path``: SB3's logged values as JSON lines. ``out``: ``model.save(out)`` (a ``.zip``).
    ``model.styling_info`` (saved with the model) records the env settings (tier, image size,
    encoder, bins, max_steps, observation mode, preserve digit, action library), seconds and
    env steps/s; ``model.library`` is the action library (``library``), which
    :func:`agents.evaluate.evaluate` plays.
    """
    sb3 = _sb3()
    from stable_baselines3.common.vec_env import DummyVecEnv

    key = _check_algo(algo)
    steps = DEFAULT_STEPS[key] if steps is None else steps
    positive_int("steps", steps)
    positive_int("n_envs", n_envs)
    env_kw = dict(
        image_size=image_size, encoder=encoder, encoder_dim=encoder_dim,
        n_strength_bins=n_strength_bins, observation_mode=observation_mode, max_steps=max_steps,
        preserve=online_preserve(tier, preserve), library=library,
    )  # fmt: skip
    make_online_env(tier, seed=None, **env_kw).close()  # fail early, in this process, on bad args
    venv = DummyVecEnv([lambda: make_online_env(tier, seed=None, **env_kw) for _ in range(n_envs)])
    kw = {k: v for k, v in DEFAULT_HYPER[key].items()}
    if key == "dqn":
        kw["buffer_size"] = min(kw["buffer_size"], max(steps, kw["batch_size"]))
        kw["learning_starts"] = min(kw["learning_starts"], max(steps // 10, 1))
    kw.update(hyper or {})
    _extractor_class()
    policy = _LAZY["StylingPPOPolicy" if key == "ppo" else "StylingDQNPolicy"]
    cls = sb3.PPO if key == "ppo" else sb3.DQN
    model = cls(policy, venv, seed=seed, device=device, verbose=0, **kw)
    if log_path is not None:
        from stable_baselines3.common.logger import JSONOutputFormat, Logger

        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        model.set_logger(Logger(None, [JSONOutputFormat(str(log_path))]))
    t0 = time.perf_counter()
    try:
        model.learn(total_timesteps=steps, progress_bar=progress)
    finally:
        venv.close()
        if log_path is not None:
            model.logger.close()
    seconds = time.perf_counter() - t0
    model.styling_info = {
        "algo": key, "tier": tier, "seed": int(seed), "n_envs": n_envs,
        "steps": int(model.num_timesteps), "seconds": seconds,
        "env_steps_per_s": model.num_timesteps / max(seconds, 1e-9), **env_kw,
    }  # fmt: skip
    model.library = library
    if out is not None:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        model.save(str(out))
    return model


def online_image_size(model: Any) -> int | None:
    """The image size an SB3 model's observations have (``None`` without images)."""
    space = getattr(model, "observation_space", None)
    img = getattr(space, "spaces", {}).get("image") if space is not None else None
    if img is None:
        return None
    shape = img.shape  # (3, H, W) after SB3's VecTransposeImage, (H, W, 3) otherwise
    return int(shape[1] if shape[0] in (1, 3, 4) else shape[0])


def _max_steps(model: Any) -> int | None:
    space = getattr(model, "observation_space", None)
    hist = getattr(space, "spaces", {}).get("history") if space is not None else None
    return None if hist is None else int(hist.shape[0])


def evaluate_online(
    model: Any, tier: str = "simple", n_tasks: int = 200, seeds: Any = (0,), *,
    image_size: int | None = None, max_steps: int | None = None, **kw: Any,
) -> Any:  # fmt: skip
    """:func:`agents.evaluate.evaluate` at the image size and ``max_steps`` the SB3 model was
    trained with when they are ``None``. Another env image size is allowed (the model sees the
    env's images resized to its own, as :func:`~agents.evaluate.evaluate` adapts them);
    another ``max_steps`` is a ``ValueError`` (the history rows are part of its input)."""
    size, ms = online_image_size(model), _max_steps(model)
    if image_size is None:
        image_size = size or 128
    if max_steps is None:
        max_steps = ms or 8
    elif ms is not None and max_steps != ms:
        raise ValueError(f"the model was trained with max_steps={ms}; got max_steps={max_steps}")
    kw.setdefault("name", f"sb3-{type(model).__name__.lower()}")
    return evaluate(model, tier, n_tasks, seeds, image_size=image_size, max_steps=max_steps, **kw)


def load_online(path: str | Path, *, device: str = "cpu", trust: bool = False) -> Any:
    """Load a model :func:`train_online` (or ``model.save``) wrote, PPO or DQN (read from the
    file), without running code from it.

    SB3's ``.zip`` stores some fields of its ``data`` as cloudpickle, which runs code when read.
    They are never read here: the model is rebuilt from the plain JSON fields (``styling_info``,
    which :func:`train_online` saves, and ``policy_kwargs``) and its ``policy.pth`` state dict
    (``weights_only``); it predicts like the saved one (its replay/rollout buffer, learning-rate
    schedule and optimizer state are not restored: to continue training use SB3's own
    ``PPO.load``). A zip without those plain fields (another project's model) raises
    :class:`agents.checkpoints.UntrustedCheckpointError` unless ``trust=True``, which hands it
    to SB3's ``load``. Member sizes are checked before anything is decompressed."""
    from .checkpoints import (
        TRUST_HINT,
        CheckpointError,
        UntrustedCheckpointError,
        check_zip,
        read_member,
        torch_weights,
    )

    sb3 = _sb3()
    _extractor_class()  # the policy's features extractor must exist under its module name
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no stable-baselines3 model file at {path}")
    try:
        with zipfile.ZipFile(path) as z:
            check_zip(z, path)
            data = json.loads(read_member(z, "data", path, limit=64 * 2**20))
            policy = read_member(z, "policy.pth", path) if "policy.pth" in z.namelist() else None
    except (zipfile.BadZipFile, KeyError, ValueError, RecursionError) as e:
        if isinstance(e, CheckpointError) and "has no 'data'" not in str(e):
            raise
        raise ValueError(
            f"{path} is not a stable-baselines3 model file ({type(e).__name__}: {e})"
        ) from e
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a stable-baselines3 model file (data is not an object)")
    if "clip_range" in data:
        cls = sb3.PPO
    elif "target_update_interval" in data:
        cls = sb3.DQN
    else:
        raise ValueError(
            f"{path} is a stable-baselines3 model of another algorithm than PPO or DQN"
        )
    if trust:
        return cls.load(str(path), device=device)
    info, pkw = data.get("styling_info"), data.get("policy_kwargs", {})
    plain = isinstance(info, dict) and isinstance(pkw, dict) and ":serialized:" not in pkw
    if not plain or policy is None or not set(info) >= _ENV_KEYS:
        raise UntrustedCheckpointError(
            f"{path} was not written by agents.online.train_online (no plain styling_info, "
            f"policy_kwargs or policy.pth), so only SB3's own loader, which unpickles parts of "
            f"it, can read it: {TRUST_HINT}"
        )
    algo = "ppo" if cls is sb3.PPO else "dqn"
    try:
        kw = {k: info[k] for k in _ENV_KEYS - {"tier"}}
        kw["preserve"] = bool(info.get("preserve", False))  # absent: a model from before the digit
        kw["library"] = info.get("library", "v2")  # absent: a model from before the libraries
        env = make_online_env(str(info["tier"]), seed=None, **kw)
    except (TypeError, ValueError, KeyError) as e:
        raise ValueError(f"{path}: its styling_info does not describe an env ({e})") from e
    from stable_baselines3.common.vec_env import DummyVecEnv

    small = {"n_steps": 2, "batch_size": 2} if algo == "ppo" else {"buffer_size": 1, "learning_starts": 0}  # fmt: skip
    venv = DummyVecEnv([lambda: env])
    try:
        model = cls(
            _LAZY["StylingPPOPolicy" if algo == "ppo" else "StylingDQNPolicy"], venv,
            device=device, verbose=0, policy_kwargs=pkw, **small,
        )  # fmt: skip
        state = torch_weights(policy, f"{path} (policy.pth)", device)
        model.policy.load_state_dict(state)
    except (TypeError, ValueError, KeyError, RuntimeError) as e:
        if isinstance(e, CheckpointError):
            raise
        raise ValueError(f"{path}: cannot rebuild its policy from its weights ({e})") from e
    finally:
        venv.close()
    model.styling_info = info
    model.library = kw["library"]
    if isinstance(data.get("num_timesteps"), int):
        model.num_timesteps = data["num_timesteps"]
    return model


_ENV_KEYS = frozenset(
    (
        "tier",
        "image_size",
        "encoder",
        "encoder_dim",
        "n_strength_bins",
        "observation_mode",
        "max_steps",
    )
)


# --------------------------------------------------------------------------------------------
# The method registry's entries (agents.registry)


@dataclass(frozen=True)
class OnlineMethodConfig(Config):
    """An online SB3 run (:func:`train_online`'s arguments)."""

    algo: str = "ppo"
    steps: int | None = None
    """Env steps (default :data:`DEFAULT_STEPS`)."""
    image_size: int | None = None
    """Env image size to train at (default: the job's, 64 in the benchmark)."""
    n_envs: int = 4
    n_strength_bins: int = 4
    encoder: str = "hash"
    encoder_dim: int = 256
    observation_mode: str = "image"
    max_steps: int = 8
    preserve: bool | None = None
    """The flat action's preserve digit (None: only on the complex tier)."""
    library: str = "v2"
    """The action library of the env it learns in (``"v2"``, ``"normal"``, ``"v3"``)."""
    hyper: Mapping[str, Any] = field(default_factory=dict)
    """SB3 constructor arguments over :data:`DEFAULT_HYPER`."""

    def __post_init__(self) -> None:
        _check_algo(self.algo)
        if self.steps is not None:
            positive_int("steps", self.steps)
        if self.image_size is not None:
            positive_int("image_size", self.image_size)
        for name in ("n_envs", "n_strength_bins", "encoder_dim", "max_steps"):
            positive_int(name, getattr(self, name))
        if self.encoder not in ("hash", "minilm"):
            raise ValueError(
                f"OnlineMethodConfig.encoder must be 'hash' or 'minilm', got {self.encoder!r}"
            )
        from styling_env.tools.library_tables import LIBRARY_NAMES

        if self.library not in LIBRARY_NAMES:
            raise ValueError(
                f"OnlineMethodConfig.library: unknown library {self.library!r}; expected one of "
                f"{', '.join(LIBRARY_NAMES)}"
            )
        object.__setattr__(self, "hyper", dict(self.hyper))

    def with_steps(self, steps: int) -> OnlineMethodConfig:
        return self.replace(steps=steps)


def train_method(job: Any) -> Trained:
    c: OnlineMethodConfig = job.config
    model = train_online(
        c.algo, job.tier, steps=c.steps, seed=job.seed, image_size=c.image_size or job.image_size,
        n_envs=c.n_envs, n_strength_bins=c.n_strength_bins, encoder=c.encoder,
        encoder_dim=c.encoder_dim, observation_mode=c.observation_mode, max_steps=c.max_steps,
        preserve=c.preserve, hyper=c.hyper or None, progress=job.progress, log_path=job.log_path, out=job.checkpoint,
        library=c.library,
    )  # fmt: skip
    info = {"checkpoint": str(job.checkpoint), "env_steps": int(getattr(model, "num_timesteps", 0))}
    info.update({k: v for k, v in (getattr(model, "styling_info", None) or {}).items() if k in ("seconds", "steps_per_s")})  # fmt: skip
    return Trained(model, info)


def load_method(path: Path, *, trust: bool = False) -> Any:
    return load_online(path, trust=trust)


__all__ = [
    "DEFAULT_HYPER",
    "DEFAULT_STEPS",
    "OnlineMethodConfig",
    "StylingDQNPolicy",  # noqa: F822 - lazy, see __getattr__
    "StylingExtractor",  # noqa: F822 - lazy, see __getattr__
    "StylingPPOPolicy",  # noqa: F822 - lazy, see __getattr__
    "evaluate_online",
    "load_online",
    "make_online_env",
    "online_image_size",
    "train_online",
]
