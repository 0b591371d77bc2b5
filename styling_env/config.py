"""The environment's options as one value: :class:`EnvConfig`.

The single env (``ImageStyling-v0``), the vector env and their :class:`~styling_env.engine.Engine`
take the same options; an ``EnvConfig`` holds them once, validated when it is built, and
round-trips through a plain dict (``to_dict`` / ``from_dict``). The keyword constructors stay:

    env = gym.make("ImageStyling-v0", image_size=64, max_steps=6)
    env = gym.make("ImageStyling-v0", config=EnvConfig(image_size=64, max_steps=6))  # the same

When both ``config`` and keywords are given, ``config`` wins over keywords left at their
defaults; a keyword set to anything else must agree with ``config`` (``gym.make`` adds the id's
``tier``: use ``ImageStyling-Complex-v0`` for a complex-tier config), else ``ValueError``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .judge import Judge, MeasuredJudge
from .libraries import check_library
from .tasks import DEFAULT_SOURCES, FIXED_SPLITS, SPLITS, TIERS, check_image_source
from .validation import positive_int

#: Judges ``judge=`` accepts by name (or pass any object with ``score(episodes)``).
JUDGES = {"measured": MeasuredJudge}

#: Observation modes: ``image`` (pictures and text) or ``text`` (no pictures).
OBSERVATION_MODES: tuple[str, ...] = ("image", "text")


@dataclass(frozen=True)
class EnvConfig:
    """Options of ``ImageStyling-v0`` and its vector env (see the env's "Arguments").

    Attributes:
        tier: ``"simple"``, ``"regular"`` or ``"complex"``.
        images: an image source of ``make_images`` (None: the tier's default, see
            :attr:`image_source`).
        image_size: side of the square pictures, an int in [32, 1024].
        device: ``"cpu"`` or ``"cuda"`` (``"cuda:N"``); stored as ``str(torch.device(...))``.
        max_steps: actions per episode before truncation, an int in [1, 32].
        max_invalid: invalid actions that end an episode, a positive int.
        invalid_penalty: reward subtracted for an invalid action, a finite number >= 0.
        observation_mode: ``"image"`` or ``"text"``.
        split: ``"train"`` or ``"test"`` (which instruction templates tasks are written from),
            or ``"free"`` (resets draw from the fixed free-text set, on its own images: ``images``
            must then be None).
        judge: a name in :data:`JUDGES`, any object with ``score(episodes)``, or None (the
            measured judge); :meth:`make_judge` builds it.
        render_mode: None or ``"rgb_array"``.
        library: the action library (``"v2"``, ``"normal"`` or ``"v3"``,
            ``styling_env.libraries``): which actions the native action space indexes and which
            the tasks ask for.
    """

    tier: str = "simple"
    images: str | None = None
    image_size: int = 128
    device: str = "cpu"
    max_steps: int = 8
    max_invalid: int = 3
    invalid_penalty: float = 0.1
    observation_mode: str = "image"
    split: str = "train"
    judge: Judge | str | None = None
    render_mode: str | None = None
    library: str = "v2"

    def __post_init__(self) -> None:
        check_library(self.library)
        check_options(
            self.tier, self.image_size, self.max_steps, self.observation_mode, self.render_mode
        )
        object.__setattr__(self, "device", _check_device(self.device))
        _check_penalty(self.invalid_penalty)
        _check_judge(self.judge)
        positive_int("max_invalid", self.max_invalid)
        if self.split not in (*SPLITS, *FIXED_SPLITS):
            raise ValueError(
                f"unknown split {self.split!r}; expected one of {', '.join((*SPLITS, *FIXED_SPLITS))}"
            )
        if self.split in FIXED_SPLITS and self.images is not None:
            raise ValueError(
                f"split {self.split!r} is a fixed set on its own images: images must be None, "
                f"got {self.images!r}"
            )
        if self.images is not None and not isinstance(self.images, str):
            raise TypeError(
                f"images must be an image source name (see make_images) or None, "
                f"got {type(self.images).__name__}"
            )
        if self.images is not None:  # at make, not at the first reset ("" is no default)
            check_image_source(self.images)

    @property
    def image_source(self) -> str:
        """The image source tasks are drawn on: ``images``, or the tier's default."""
        return self.images or DEFAULT_SOURCES[self.tier]

    def make_judge(self) -> Judge:
        """The judge: the one named, the object given, or a :class:`MeasuredJudge`."""
        if isinstance(self.judge, str):
            return JUDGES[self.judge]()
        return self.judge if self.judge is not None else MeasuredJudge()

    def replace(self, **changes: Any) -> EnvConfig:
        """A copy with ``changes`` (validated like a new config)."""
        _check_names(changes)
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Every field by name (plain values, JSON-ready unless ``judge`` is an object)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EnvConfig:
        """The config of :meth:`to_dict`'s output (missing fields take their defaults); an
        unknown field is a ``ValueError`` that names it."""
        if not isinstance(data, Mapping):
            raise TypeError(f"EnvConfig.from_dict takes a mapping, got {type(data).__name__}")
        _check_names(data)
        return cls(**data)

    @classmethod
    def resolve(cls, config: EnvConfig | None, options: Mapping[str, Any]) -> EnvConfig:
        """The config of a constructor given ``config`` and/or keyword ``options`` (the
        module docstring's rule: ``config`` wins over keywords left at their defaults; any
        other keyword must agree with it)."""
        _check_names(options)
        if config is None:
            return cls(**options)
        if not isinstance(config, EnvConfig):
            raise TypeError(f"config must be a styling_env.EnvConfig, got {type(config).__name__}")
        defaults = {f.name: f.default for f in dataclasses.fields(cls)}
        clash = [
            f"{k}={v!r} (config has {getattr(config, k)!r})"
            for k, v in options.items()
            if v is not getattr(config, k) and v != defaults[k] and v != getattr(config, k)
        ]
        if clash:
            raise ValueError(
                "config=EnvConfig(...) and keywords disagree: "
                + ", ".join(clash)
                + "; pass the options once (gym.make adds the id's tier: use the id of the "
                "config's tier, e.g. ImageStyling-Complex-v0)"
            )
        return config


FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(EnvConfig))


def _check_names(options: Mapping[str, Any]) -> None:
    unknown = sorted(set(options) - set(FIELDS))
    if unknown:
        raise ValueError(
            f"unknown EnvConfig field(s) {', '.join(unknown)}; expected some of {', '.join(FIELDS)}"
        )


def check_options(
    tier: str, image_size: int, max_steps: int, observation_mode: str, render_mode: str | None
) -> None:
    """Validate the options that shape the spaces (messages name the bad value)."""
    if tier not in TIERS:
        raise ValueError(f"unknown tier {tier!r}; expected one of {', '.join(TIERS)}")
    if (
        isinstance(image_size, bool)
        or not isinstance(image_size, int)
        or not 32 <= image_size <= 1024
    ):
        raise ValueError(f"image_size must be an int in [32, 1024], got {image_size!r}")
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or not 1 <= max_steps <= 32:
        raise ValueError(f"max_steps must be an int in [1, 32], got {max_steps!r}")
    if observation_mode not in OBSERVATION_MODES:
        raise ValueError(f"observation_mode must be 'image' or 'text', got {observation_mode!r}")
    if render_mode not in (None, "rgb_array"):
        raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")


def check_engine_options(device: Any, invalid_penalty: Any, judge: Any) -> tuple[str, Judge | None]:
    """Validate ``device``, ``invalid_penalty`` and ``judge``; returns the device and the judge
    (a name in :data:`JUDGES` becomes that judge)."""
    dev = _check_device(device)
    _check_penalty(invalid_penalty)
    _check_judge(judge)
    return dev, JUDGES[judge]() if isinstance(judge, str) else judge


def _check_device(device: Any) -> str:
    import torch

    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise ValueError(f"device must be 'cpu' or 'cuda' (or 'cuda:N'), got {device!r}") from e
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was asked for but CUDA is not available here "
            "(torch.cuda.is_available() is False); use device='cpu'"
        )
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu' or 'cuda' (or 'cuda:N'), got {device!r}")
    return str(dev)


def _check_penalty(invalid_penalty: Any) -> None:
    if (
        isinstance(invalid_penalty, bool)
        or not isinstance(invalid_penalty, int | float)
        or not math.isfinite(invalid_penalty)
        or invalid_penalty < 0
    ):
        raise ValueError(
            f"invalid_penalty must be a finite number >= 0 (the reward subtracted for an invalid "
            f"action, e.g. 0.1), got {invalid_penalty!r}"
        )


def _check_judge(judge: Any) -> None:
    if isinstance(judge, str):
        if judge not in JUDGES:
            raise ValueError(
                f"unknown judge {judge!r}; expected one of {', '.join(JUDGES)} or an object "
                "with score(episodes)"
            )
    elif judge is not None and not callable(getattr(judge, "score", None)):
        raise TypeError(
            f"judge must be one of {', '.join(JUDGES)} or an object with score(episodes), "
            f"got {type(judge).__name__}"
        )


__all__ = ["FIELDS", "JUDGES", "OBSERVATION_MODES", "EnvConfig", "check_engine_options",
           "check_options"]  # fmt: skip
