"""``ImageStyling-v0``: style one image to a vague request by planning tool calls."""

from __future__ import annotations

import copy
import string
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces

from .actions import MASK_NAMES, STOP, preserve_bitmask  # noqa: F401  (STOP: re-exported)
from .config import JUDGES as JUDGES  # re-exported: the old home of the judge names
from .config import EnvConfig
from .config import check_engine_options as check_engine_options  # re-exported (old home)
from .config import check_options as check_options  # re-exported (old home)
from .context import context_nvec
from .engine import Decoded, Engine, Invalid, Slot, Stop, decode_native
from .free_tasks import episode_task
from .judge import Judge
from .libraries import DEFAULT_LIBRARY
from .libraries import library as get_library
from .tasks import MAX_INSTRUCTION, Task
from .tools import REGIONS, ToolCall
from .tools.vocabulary import MAX_VALUES  # noqa: F401  (re-exported)
from .validation import reset_options

#: Characters an instruction may hold (gymnasium's Text default is alphanumeric only): every
#: printable character of Unicode's first three planes (any script, accents, CJK, typographic
#: quotes, most emoji) plus ASCII whitespace, so a user's own words reach the agent unchanged.
CHARSET = frozenset(
    c for c in map(chr, range(0x30000)) if c.isprintable() or c in string.whitespace
)
#: The datasets' instruction charset: printable ASCII (generated and imported requests are
#: written in it), so a dataset's stored space stays small.
ASCII_CHARSET = frozenset(string.printable)


class InstructionText(spaces.Text):
    """gymnasium's ``Text`` over :data:`CHARSET` whose copies share the character tables.

    Building the tables of ~140,000 characters costs ~0.15 s; gymnasium's ``batch_space``
    deep-copies the space once per sub-env. The tables are never mutated, so every instance
    (and every copy) shares one set of them and gets its own RNG."""

    _TABLES: dict[str, Any] = {}

    def __init__(self, max_length: int = MAX_INSTRUCTION, seed: Any = None) -> None:
        if not self._TABLES:
            proto = spaces.Text(MAX_INSTRUCTION, min_length=0, charset=CHARSET)
            self._TABLES.update({k: v for k, v in vars(proto).items() if k.startswith("_char")})
        spaces.Space.__init__(self, dtype=str, seed=seed)
        self.min_length, self.max_length = 0, int(max_length)
        vars(self).update(self._TABLES)

    def __deepcopy__(self, memo: dict) -> InstructionText:
        out = InstructionText(self.max_length)
        if self._np_random is not None:
            out._np_random = copy.deepcopy(self._np_random, memo)
        return out

    def __reduce__(self):  # pickles as its length, not its tables (RNG state is not kept)
        return (InstructionText, (self.max_length,))


def instruction_space() -> spaces.Text:
    """The instruction's ``Text`` space (over :data:`CHARSET`)."""
    return InstructionText(MAX_INSTRUCTION)


def action_space(library: str = DEFAULT_LIBRARY) -> spaces.Dict:
    """The native action: ``tool`` (the library's actions + STOP; 10 tools + STOP in ``v2``),
    ``value`` (index in that action's vocabulary), ``strength`` in [0, 1], ``region`` (index in
    :data:`REGIONS`), ``preserve`` (one bit per mask of :data:`~styling_env.actions.MASK_NAMES`:
    the regions the call leaves untouched)."""
    lib = get_library(library)
    return spaces.Dict(
        {
            "tool": spaces.Discrete(lib.stop + 1),
            "value": spaces.Discrete(lib.max_values),
            "strength": spaces.Box(0.0, 1.0, (1,), np.float32),
            "region": spaces.Discrete(len(REGIONS)),
            "preserve": spaces.MultiBinary(len(MASK_NAMES)),
        }
    )


#: Columns of a row of the ``history`` observation.
HISTORY_COLUMNS: tuple[str, ...] = ("tool", "value", "strength", "region", "preserve")


def observation_space(
    image_size: int, max_steps: int, mode: str, library: str = DEFAULT_LIBRARY
) -> spaces.Dict:
    h = w = image_size
    d: dict[str, spaces.Space] = {}
    if mode == "image":
        d["image"] = spaces.Box(0, 255, (h, w, 3), np.uint8)
        d["source"] = spaces.Box(0, 255, (h, w, 3), np.uint8)
    d["context"] = spaces.MultiDiscrete(np.array(context_nvec(library), dtype=np.int64))
    d["instruction"] = instruction_space()
    d["history"] = spaces.Box(
        -2.0,
        float(max(get_library(library).max_values, len(REGIONS), 2 ** len(MASK_NAMES) - 1)),
        (max_steps, len(HISTORY_COLUMNS)),
        np.float32,
    )
    d["steps_left"] = spaces.Discrete(max_steps + 1)
    return spaces.Dict(d)


def printable(text: str, charset: frozenset[str] = ASCII_CHARSET) -> str:
    """``text`` within ``charset`` (default printable ASCII, the datasets'): typographic quotes
    and dashes made plain, accents dropped, anything else outside ``charset`` dropped. With
    :data:`CHARSET` (the observation's) only control characters are dropped."""
    if all(c in charset for c in text):
        return text
    import unicodedata

    text = text.translate(_PLAIN)
    if any(c not in charset for c in text):
        text = unicodedata.normalize("NFKD", text) if charset is ASCII_CHARSET else text
    return "".join(c for c in text if c in charset)


_PLAIN = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2026": "...",
        "\u00a0": " ",
    }
)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """``(3, H, W)`` float [0, 1] -> ``(H, W, 3)`` uint8."""
    return (x.detach().clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255 + 0.5).astype(np.uint8)


def history_array(
    history: list[Decoded], max_steps: int, library: str = DEFAULT_LIBRARY
) -> np.ndarray:
    """Calls made so far as rows ``(tool, value, strength, region, preserve)`` (native indices
    of ``library``; preserve: the bitmask ``sum(2**i)`` over the set bits of the native
    ``preserve``); ``-1`` rows pad (and mark STOP's and invalid actions'
    value/strength/region/preserve)."""
    out = np.full((max_steps, len(HISTORY_COLUMNS)), -1.0, np.float32)
    lib = get_library(library)
    for k, a in enumerate(history[:max_steps]):
        if isinstance(a, ToolCall):
            out[k] = (
                *lib.indices(a),
                a.strength,
                REGIONS.index(a.region),
                int(preserve_bitmask(a.preserve_bits)),
            )
        elif isinstance(a, Stop):
            out[k, 0] = lib.stop
        else:
            out[k, 0] = -2  # an invalid action
    return out


def build_observation(
    slot: Slot, max_steps: int, mode: str, library: str = DEFAULT_LIBRARY, copy: bool = True
) -> dict[str, Any]:
    """The observation of ``slot``. ``copy=False`` hands out the slot's cached frames
    themselves, for a caller that copies them anyway (the vector env stacks them into one
    batch): an observation must never alias the engine's state."""
    obs: dict[str, Any] = {}
    if mode == "image":
        if slot.image_u8 is None:
            slot.image_u8 = to_uint8(slot.image)
        obs["image"] = slot.image_u8.copy() if copy else slot.image_u8
        if slot.source_u8 is None:
            slot.source_u8 = to_uint8(slot.source)
        obs["source"] = slot.source_u8.copy() if copy else slot.source_u8
    obs["context"] = np.array(slot.context, dtype=np.int64)  # a copy: observations never alias
    obs["instruction"] = printable(slot.task.instruction, CHARSET)[:MAX_INSTRUCTION]
    obs["history"] = history_array(slot.history, max_steps, library)
    obs["steps_left"] = int(max(0, max_steps - slot.steps))
    return obs


def configure(
    env: Any, n: int, config: EnvConfig | None = None, **options: Any
) -> tuple[EnvConfig, Engine]:
    """The options shared by the single and the vector env: ``config`` and/or the
    :class:`EnvConfig` fields as keywords (:meth:`EnvConfig.resolve`), set on ``env``
    (``config``, ``tier``, ``split``, ``images``, ``max_steps``, ``observation_mode``,
    ``render_mode``); returns the config and the engine of ``n`` slots."""
    config = EnvConfig.resolve(config, options)
    env.config = config
    env.tier, env.split, env.images = config.tier, config.split, config.image_source
    env.max_steps, env.observation_mode = config.max_steps, config.observation_mode
    env.render_mode = config.render_mode
    env.library = config.library
    return config, Engine(n, config)


def strip(slot: Slot) -> np.ndarray:
    """The ``rgb_array`` frame: source | current | oracle reference, ``(H, 3W, 3)`` uint8."""
    return np.concatenate(
        [to_uint8(slot.source), to_uint8(slot.image), to_uint8(slot.reference.image)], axis=1
    )


class ImageStylingEnv(gym.Env):
    """
    ## Description
    An episode is one styling request on one image. The agent calls styling tools
    one at a time (``season_cycle(winter_bare, 0.8)``, ``time_of_day(golden_hour_sunset, 0.6)``,
    ...) and stops when the picture matches the request. A judge that measures pixels scores the
    result against the oracle's rendering of the same request on the same source.

    ## Action Space
    ``Dict(tool=Discrete(11), value=Discrete(30), strength=Box(0, 1, (1,)), region=Discrete(8),
    preserve=MultiBinary(6))``: ``tool`` 0-9 are ``styling_env.TOOLS`` in order, 10 is STOP;
    ``value`` indexes the tool's vocabulary (an index past its end is an invalid call);
    ``region`` indexes ``styling_env.REGIONS`` (anything but ``all`` needs an image with masks);
    ``preserve`` has one bit per mask of ``styling_env.actions.MASK_NAMES`` (sky, ground,
    vegetation, water, buildings, subject): the regions the call must leave untouched ("keep the
    sky as it is"). A set bit on an image without masks (a photo) is an invalid call. A dict
    without ``preserve`` preserves nothing. Wrappers: ``TextToolCalls`` (text and JSON calls,
    ``"preserve": ["sky"]``), ``DiscreteActions`` (one flat Discrete, preserve set included).

    ## Observation Space
    ``Dict`` with ``image`` and ``source`` (``(H, W, 3)`` uint8: the current picture and the
    original; absent when ``observation_mode="text"``), ``context`` (``MultiDiscrete``: for each
    tool, the value the current picture shows, or ``neutral`` — Stage 1, estimated from pixels),
    ``instruction`` (``Text``: the request), ``history`` (``(max_steps, 5)`` float: tool, value,
    strength, region and preserve bitmask (``sum(2**i)`` over the set ``preserve`` bits) of each
    action so far; -1 pads, -2 marks an invalid action) and ``steps_left``.

    ## Rewards
    ``(S_{t+1} - S_t) / 20`` with ``S`` the judge's overall score (0-100) of the current picture,
    so an episode's return is its final quality ``r`` in [0, 5] minus the source's; an invalid
    action costs ``invalid_penalty`` more and leaves the picture untouched.

    ## Starting State
    A task drawn from the tier's generator (``reset(seed=...)``; with ``split="free"`` one of
    the fixed free-text set's tasks), or the one passed as
    ``reset(options={"task": task})`` (a ``styling_env.Task`` or its dict).

    ## Episode End
    Terminated on STOP or after ``max_invalid`` invalid actions; truncated after ``max_steps``.
    Stepping a finished episode raises ``gymnasium.error.ResetNeeded``.
    ``info`` carries the six scores, ``overall``, ``r``, ``error`` (empty, or what was wrong with
    the action) and the constraint violations; the step that ends the episode also carries the
    planning metrics against the oracle's plan and the plan itself (``oracle_plan``), which are
    never shown before.

    ## Arguments
    ``tier`` (simple, regular, complex), ``images`` (an image source of ``make_images``; default
    per tier), ``image_size`` (128), ``device`` ("cpu" or "cuda"), ``max_steps`` (8),
    ``max_invalid`` (3), ``invalid_penalty`` (0.1, >= 0), ``observation_mode`` ("image" or "text"),
    ``library`` ("v2", "normal" or "v3": the action library; see Version History),
    ``split`` ("train" or "test": which instruction templates tasks are written from; "free":
    resets draw from the fixed free-text set of hand-written requests, on its own images),
    ``judge`` (a name in ``styling_env.env.JUDGES``: ``"measured"``, the default; or any
    ``styling_env.Judge``), ``render_mode`` (None or "rgb_array": a
    source | current | reference strip). Or all of them at once as
    ``config=styling_env.EnvConfig(...)`` (kept as ``env.unwrapped.config``).

    ## Version History
    * v0: first version.
    * v0 (judge v2): the reward comes from judge v2, which credits each requested change by its
      visible effect (a call that changes nothing earns nothing); planning metrics moved from
      every step's ``info`` to the final step's. The id is unchanged: the same tasks, actions and
      observations.
    * v0 (unchanged id, stricter): ``step()`` after the episode ended (STOP, ``max_invalid`` or
      truncation) raises ``gymnasium.error.ResetNeeded`` instead of editing further; the
      instruction's ``Text`` charset is every printable Unicode character of planes 0-2 (a
      request in any script keeps its words; it was printable ASCII, with accents dropped and
      other scripts removed); ``judge``, ``device`` and ``invalid_penalty`` are validated at
      construction (an unknown judge name, CUDA without CUDA, a negative penalty raise
      ``ValueError``).
    * v0 (2026-12, unchanged id): the native action gains ``preserve=MultiBinary(6)``, the masks
      a call must leave untouched (a dict without it preserves nothing, so earlier actions keep
      working; a preserve on an image without masks is an invalid call); ``history`` rows gain a
      fifth column, the preserve bitmask (``(max_steps, 5)``, was ``(max_steps, 4)``).
    * v0 (2026-12, unchanged id): ``split="free"`` draws each reset from the fixed free-text set
      (requests written by hand in people's words, on their own images).
    * v0 (2026-12, unchanged id): ``library=`` (``"v2"``, the default and everything above;
      ``"normal"``; ``"v3"``: the paper's other action libraries, ``styling_env.libraries``)
      sets the native ``tool`` and ``value`` sizes (``v2`` 11/30, ``normal`` 21/60, ``v3``
      31/8), the history's indices, the tasks drawn and, in ``v3``, the context (30
      dimensions: the ten tools' and the twenty new ones). The default is unchanged.
    * v0 (2026-12, unchanged id): ``gym.make_vec(..., vectorization_mode="vector_entry_point",
      workers=N)`` steps the vector env's slots in ``N`` worker processes
      (``styling_env.parallel``); ``workers=1``, the default, is the one-process env as before.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 2}

    def __init__(
        self,
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
        library: str = DEFAULT_LIBRARY,
        *,
        config: EnvConfig | None = None,
    ) -> None:
        self._ended = False
        config, self.engine = configure(
            self, 1, config, tier=tier, images=images, image_size=image_size, device=device,
            max_steps=max_steps, max_invalid=max_invalid, invalid_penalty=invalid_penalty,
            observation_mode=observation_mode, split=split, judge=judge, render_mode=render_mode,
            library=library,
        )  # fmt: skip
        self.action_space = action_space(config.library)
        self.observation_space = observation_space(
            config.image_size, config.max_steps, config.observation_mode, config.library
        )

    @property
    def slot(self) -> Slot:
        s = self.engine.slots[0]
        if s is None:
            raise gym.error.ResetNeeded("call reset() before step() or render()")
        return s

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        task = reset_options(options, ("task",)).get("task")
        if task is None:
            task = episode_task(
                self.tier, int(self.np_random.integers(2**31 - 1)), self.split, self.images,
                self.library,
            )  # fmt: skip
        elif isinstance(task, dict):
            task = Task.from_dict(task)
        elif not isinstance(task, Task):
            raise TypeError(
                f"options['task'] must be a styling_env.Task or its dict, got {type(task).__name__}"
            )
        self.engine.reset([0], [task])
        self._ended = False
        return build_observation(
            self.slot, self.max_steps, self.observation_mode, self.library
        ), self.engine.info(self.slot)

    def step(self, action):
        slot = self.slot
        if self._ended:
            raise gym.error.ResetNeeded(
                "the episode has ended (STOP, max_invalid or max_steps): call reset() before "
                "step(); a finished episode is never edited further"
            )
        decoded = (
            action
            if isinstance(action, ToolCall | Stop | Invalid)
            else decode_native(action, self.library)
        )
        ((reward, terminated, truncated, info),) = self.engine.step([0], [decoded])
        self._ended = terminated or truncated
        return (
            build_observation(slot, self.max_steps, self.observation_mode, self.library),
            reward,
            terminated,
            truncated,
            info,
        )

    def render(self):
        if self.render_mode != "rgb_array":
            return None
        return strip(self.slot)
