"""Import the paper's released samples as an ImageStyling dataset (arXiv 2603.07148).

The release is a folder with one sub-folder per sample, each holding:

- ``original.png``: the source image;
- ``action_plan.json``: the planner's plan, ``{"reasoning", "overall_instruction", "actions":
  [{"action_id", "reasoning", "priority", "parameters": {<value param>, "intensity", ...}}]}``;
- ``prompt.json``: the user's request, a JSON string or an object with one of the keys
  :data:`PROMPT_KEYS` (the first present wins), or, as the release itself writes it, under
  ``edit_info.text`` (some samples: ``edit.text``); optionally ``theme`` and ``tier`` (or
  ``complexity``, one of ``simple``/``regular``/``complex``);
- ``reward_scores.json``: ``overall_quality`` (the paper's quality ``r`` on [0, 5]) and possibly
  the six per-dimension scores, either flat (``{"overall_quality": 4.2}``) or, as the release
  writes it, under ``scores`` with each score's value in ``score``
  (``{"scores": {"overall_quality": {"score": 4.2, ...}, ...}}``).

:func:`import_paper` turns every sample into one episode: the request becomes a user task whose
targets are the plan's calls, the plan is rendered by our ten tools in the environment (its
actions in priority order, each with the plan's own reasoning, then STOP), and the episode's
``r`` is the paper's ``overall_quality`` (what the offline methods weight by). Our judge's
scores of the rendering are kept next to it (``scores``, ``overall``, ``judge_r``).

Decisions (documented here because the release does not pin them down):

- **Order.** Samples in sorted folder-name order become episodes ``0..n-1``; folders whose name
  starts with ``.`` or ``_`` and plain files at the top level are ignored. Actions run in
  ascending ``priority`` (1 first); ties, and actions without a priority, keep their file order
  (actions without a priority go after those with one).
- **Targets.** One target per tool, from the first action (in that order) that calls it; a
  later action on the same tool is still executed but adds no target, and the episode's
  ``warnings`` record it. A target's strength is the call's strength clipped to [0.2, 1] (the
  range a :class:`~styling_env.tasks.Target` allows). The task has no constraints (the release
  does not state the user's constraints).
- **Regions.** User photographs have no semantic masks, so an action's ``region`` other than
  ``all`` is dropped (the call covers the whole image) with a warning, and so are its
  ``preserve``/``preserve_foreground`` parameters (a preserve on an image without masks is an
  invalid call in the env).
- **Tier.** The ``tier`` argument; else the tier the samples' ``prompt.json`` name (the most
  demanding one if they differ); else ``complex`` if any sample's plan has more than two
  actions, else ``simple``. Each task keeps its own ``prompt.json`` tier when it names one.
- **Image.** ``original.png`` is decoded with Pillow; grayscale (``L``, ``1``, 16-bit ``I;16``
  / ``I``) is replicated to RGB and an alpha channel (``RGBA``, ``LA``, ``PA``, transparent
  palettes) is composited over white. A file Pillow cannot decode is an error. The image is
  centre-cropped to a square, resized to ``image_size`` with antialiasing and quantized to
  uint8, so the task stored in the metadata (as PNG) rebuilds it exactly.
- **Score scale.** ``overall_quality`` must be a number in [0, 5], unless the file has an
  explicit ``"scale": 10`` or ``"scale": 100`` (or ``5``), in which case it is rescaled to [0, 5]
  (it must then lie in [0, scale]). Nothing else is guessed.
- **Text.** The request is made printable ASCII (the observation space's charset) by
  :func:`ascii_request`; the raw ``prompt.json`` is kept in the episode's ``paper_prompt``.
- **Length.** A plan must have 1 to ``max_steps - 1`` (7) actions, so STOP fits (a nested
  ``conditional_transform`` counts its branch calls).
- **Library.** A plan may use any of the release's three action libraries
  (``styling_env.libraries``); :func:`plan_library` tells which from its actions: a ``normal``
  action (``exclude_region``, ``graduated_effect``, ...) makes it ``normal``, a v3 styling
  action or a base tool written with v3's words (``{"time": "dawn"}``) makes it ``v3``, else
  ``v2``. One dataset holds one library (``library=`` forces it; samples of another are
  malformed). In ``normal`` and ``v3`` the calls are read with the library's words
  (:meth:`~styling_env.libraries.Library.expand_json`: the nested ``conditional_transform``
  becomes the conditional and its branch calls) and played through the library's rules on the
  sample's photo: a rule that needs semantic masks there (``exclude_region`` of the
  foreground) is dropped with a warning, and of a conditional's branches only the one its
  predicate picks on the picture at that point becomes a target (the other is still played
  and changes nothing). Rules are never targets.

A malformed sample raises :class:`~offline_data.dataset.DatasetError` naming its folder and the
problem; with ``strict=False`` it is skipped and listed (with the reason) under ``skipped`` in
the dataset's metadata. Every sample is validated before anything is written, and the dataset
is written atomically by :func:`~offline_data.generate.write_dataset`.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from styling_env.engine import Stop
from styling_env.env import printable
from styling_env.libraries import library as get_library
from styling_env.tasks import MIN_STRENGTH, TIERS, Target, Task, user_task
from styling_env.tools import ToolCall
from styling_env.tools.vocabulary import GEOMETRIC_REGIONS, NORMAL_ACTIONS, V3_ACTIONS, VALUE_PARAMS

from .dataset import DatasetError, Recipe

TEACHER = "paper-release"
SOURCE = "paper-import"
FILES = ("original.png", "action_plan.json", "prompt.json", "reward_scores.json")
#: Keys of ``prompt.json`` that may hold the request (the first present is used).
PROMPT_KEYS = ("prompt", "user_prompt", "instruction", "request", "text")
#: Objects of ``prompt.json`` whose ``text`` is the request (the release's own layout).
NESTED_PROMPT_KEYS = ("edit_info", "edit")
#: Accepted explicit scales of ``overall_quality`` (rescaled to [0, 5]).
SCALES = (5, 10, 100)
MAX_STEPS = 8


def ascii_request(text: str) -> str:
    """``text`` in the observation space's charset (:func:`styling_env.env.printable`: quotes and
    dashes made plain, accents dropped, other characters removed), whitespace collapsed."""
    return " ".join(printable(text).split())


@dataclass
class Sample:
    """One validated sample folder (its image is read again when its task is built, so a large
    release is not held in memory)."""

    folder: Path
    instruction: str
    theme: str | None
    tier: str | None
    targets: list[Target]
    calls: list[ToolCall]  # in execution order
    reasons: list[str]
    r: float
    plan: dict[str, Any]
    prompt: Any
    scores: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    image_size: int = 128
    library: str = "v2"  # the action library its plan is written in

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def task_id(self) -> str:
        return f"paper-{self.name}"

    def task(self, default_tier: str | None = None) -> Task:
        """The sample's task: the request, one target per tool, the image at ``image_size``;
        tier: its ``prompt.json`` tier, else ``default_tier``, else :func:`user_task`'s."""
        try:
            image = _read_image(self.folder, self.image_size)
            task = user_task(
                self.instruction, targets=self.targets, image=image, library=self.library
            )
        except (_Bad, ValueError, TypeError) as e:
            raise DatasetError(f"paper sample {self.name!r} ({self.folder}): {e}") from e
        return dataclasses.replace(
            task, task_id=self.task_id, theme=self.theme or "paper", template_id="paper",
            split="train", tier=self.tier or default_tier or task.tier,
        )  # fmt: skip


# --------------------------------------------------------------------------------------------
# Reading and validating one sample


class _Bad(Exception):
    """A problem with one sample (turned into a DatasetError naming the folder)."""


#: Largest JSON file of a sample read by :func:`import_paper` (bytes; the release's are < 10 KB).
MAX_JSON_BYTES = 1_000_000
#: Deepest nesting accepted in a sample's JSON files (the release's are < 6 deep).
MAX_JSON_DEPTH = 32


def _read_json(folder: Path, name: str) -> Any:
    from .safety import json_depth

    path = folder / name
    if not path.is_file():
        raise _Bad(f"missing file {name}")
    try:
        size = path.stat().st_size
        if size > MAX_JSON_BYTES:
            raise _Bad(f"{name} is {size} bytes, over the limit of {MAX_JSON_BYTES} (MAX_JSON_BYTES)")  # fmt: skip
        text = path.read_text(encoding="utf-8")
        if json_depth(text) > MAX_JSON_DEPTH:
            raise _Bad(f"{name} is nested deeper than {MAX_JSON_DEPTH} levels (MAX_JSON_DEPTH)")
        return json.loads(text)
    except (OSError, UnicodeDecodeError) as e:
        raise _Bad(f"cannot read {name} ({e})") from e
    except (ValueError, RecursionError) as e:
        raise _Bad(f"{name} is not valid JSON ({type(e).__name__}: {e})") from e


def _read_prompt(folder: Path) -> tuple[str, str | None, str | None, Any]:
    raw = _read_json(folder, "prompt.json")
    theme = tier = None
    if isinstance(raw, str):
        text = raw
    elif isinstance(raw, Mapping):
        key = next((k for k in PROMPT_KEYS if k in raw), None)
        nested = next(
            (k for k in NESTED_PROMPT_KEYS if isinstance(raw.get(k), Mapping) and "text" in raw[k]),
            None,
        )
        if key is not None:
            text = raw[key]
        elif nested is not None:
            text = raw[nested]["text"]
        else:
            raise _Bad(
                f"prompt.json has none of the keys {', '.join(PROMPT_KEYS)}, "
                f"{', '.join(k + '.text' for k in NESTED_PROMPT_KEYS)}"
            )
        if raw.get("theme") is not None:
            if not isinstance(raw["theme"], str):
                raise _Bad(f"prompt.json 'theme' must be a string, got {raw['theme']!r}")
            theme = raw["theme"].strip() or None
        named = raw.get("tier", raw.get("complexity"))
        if named is not None:
            if not isinstance(named, str) or named.strip().lower() not in TIERS:
                raise _Bad(f"prompt.json names tier {named!r}; expected one of {', '.join(TIERS)}")
            tier = named.strip().lower()
    else:
        raise _Bad(f"prompt.json must hold a string or an object, got {type(raw).__name__}")
    if not isinstance(text, str) or not text.strip():
        raise _Bad(f"prompt.json holds no request text (got {text!r})")
    plain = ascii_request(text)
    if not plain:
        raise _Bad(f"prompt.json's request {text!r} has no printable ASCII text")
    return plain, theme, tier, raw


def _priority(action: Mapping[str, Any], k: int) -> float:
    p = action.get("priority")
    if p is None:
        return math.inf
    if isinstance(p, bool) or not isinstance(p, int | float) or p != int(p) or not 1 <= p <= 5:
        raise _Bad(f"action {k} has priority {p!r}; expected an integer 1-5")
    return float(p)


def plan_library(actions: Sequence[Any]) -> str:
    """The action library a plan's actions are written in (module docstring, **Library**).
    Raises ``_Bad`` when the plan mixes the ``normal`` and ``v3`` libraries."""
    v2, v3 = get_library("v2"), get_library("v3")
    found = set()
    for a in actions:
        if not isinstance(a, Mapping):
            continue
        tool = a.get("action_id", a.get("tool"))
        params = a.get("parameters") if isinstance(a.get("parameters"), Mapping) else {}
        if tool in NORMAL_ACTIONS:
            found.add("normal")
        elif tool in V3_ACTIONS:
            found.add("v3")
        elif tool in v2.tool_names:
            own = v3.action(tool).param
            if own in params and VALUE_PARAMS[tool] not in params and "value" not in params:
                found.add("v3")
    if len(found) > 1:
        raise _Bad(
            "action_plan.json mixes the normal and v3 action libraries; a plan uses one library"
        )
    return found.pop() if found else "v2"


def _read_plan(
    folder: Path, library: str | None = None
) -> tuple[list[ToolCall], list[str], list[str], dict[str, Any], str]:
    """A sample's calls in execution order, their reasons, the warnings, the raw plan and the
    library it is written in (``library``: the import's, or None to read it off the plan)."""
    plan = _read_json(folder, "action_plan.json")
    if not isinstance(plan, Mapping):
        raise _Bad(f"action_plan.json must hold an object, got {type(plan).__name__}")
    actions = plan.get("actions")
    if not isinstance(actions, list):
        raise _Bad("action_plan.json has no 'actions' list")
    if not actions:
        raise _Bad("action_plan.json has no actions")
    found = plan_library(actions)
    if library is not None and found not in ("v2", library):
        raise _Bad(f"its plan is written in action library {found!r}, the import is of {library!r}")
    library = library or found
    lib = get_library(library)
    # a v2 action is one call; another library's may be several (a nested conditional)
    expand = (lambda a: [ToolCall.from_dict(a)]) if library == "v2" else lib.expand_json
    if len(actions) > MAX_STEPS - 1:
        raise _Bad(
            f"action_plan.json has {len(actions)} actions; at most {MAX_STEPS - 1} fit an "
            f"episode of {MAX_STEPS} steps (with STOP)"
        )
    warnings: list[str] = []
    parsed = []
    for k, action in enumerate(actions):
        if not isinstance(action, Mapping):
            raise _Bad(f"action {k} must be a JSON object, got {type(action).__name__}")
        try:
            calls = expand(action)
        except (ValueError, TypeError, KeyError) as e:
            where = "" if library == "v2" else f", library {library}"
            raise _Bad(f"action {k} ({action.get('action_id')!r}{where}): {e}") from e
        why = action.get("reasoning")
        if not isinstance(why, str) or not why.strip():
            warnings.append(f"action {k} ({calls[0].tool}) has no reasoning; one was written")
            why = ""
        for j, call in enumerate(calls):
            parsed.append((_priority(action, k), k, j, _on_photo(call, k, warnings), why))
    parsed.sort(key=lambda x: (x[0], x[1], x[2]))
    if len(parsed) > MAX_STEPS - 1:
        raise _Bad(
            f"action_plan.json holds {len(parsed)} calls (its conditionals' branches counted); "
            f"at most {MAX_STEPS - 1} fit an episode of {MAX_STEPS} steps (with STOP)"
        )
    reasons = [" ".join(p[4].split()) for p in parsed]
    return [p[3] for p in parsed], reasons, warnings, dict(plan), library


def _on_photo(call: ToolCall, k: int, warnings: list[str]) -> ToolCall:
    """``call`` as it can run on a photograph (no masks): no region, nothing preserved by
    mask (a geometric area stays), with a warning for what was dropped."""
    if call.region != "all":
        warnings.append(
            f"action {k} ({call.tool}) asks for region {call.region!r}; photographs have no "
            "masks, so it covers the whole image"
        )
        call = dataclasses.replace(call, region="all")
    masked = [r for r in call.preserved_regions if r not in GEOMETRIC_REGIONS]
    if masked:
        warnings.append(
            f"action {k} ({call.tool}) asks to preserve {', '.join(masked)}; "
            "photographs have no masks, so nothing is preserved (the env would refuse the "
            "call)"
        )
        kept = tuple(r for r in call.preserved_regions if r in GEOMETRIC_REGIONS)
        params = tuple(
            (n, v) for n, v in call.params if n not in ("preserve", "preserve_foreground")
        )
        call = dataclasses.replace(call, params=params + ((("preserve", kept),) if kept else ()))
    return call


def _played(
    calls: Sequence[ToolCall], image: np.ndarray, warnings: list[str]
) -> tuple[list[ToolCall], list[str], list[bool]]:
    """Play another library's calls on the sample's photo through its rules: the calls kept
    (a rule the photo refuses is dropped, with a warning), their indices, and which of them
    changed the picture as a requested edit (painting calls a conditional did not rule out)."""
    import torch

    from styling_env.tasks import PREDICATES
    from styling_env.tools.compose import ComposeState, compose_step, is_modifier

    x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
    state = ComposeState()
    kept, keep_idx, asked = [], [], []
    branches: list[bool] = []  # of pending conditional branches: whether each is applied
    for k, c in enumerate(calls):
        y, (err,) = compose_step(x, [c], [state], None, torch.zeros(1, dtype=torch.bool))
        if err:
            warnings.append(f"step {k} ({c.tool}={c.value}) is dropped: {err}")
            continue
        if c.tool == "conditional_transform" and c.strength > 0:
            pred, branch = c.value.split("/")
            holds = bool(PREDICATES[pred](x[0]))
            branches = [holds, not holds] if branch == "then_else" else [holds]
        kept.append(c)
        keep_idx.append(k)
        if is_modifier(c.tool):
            asked.append(False)
        else:
            asked.append(branches.pop(0) if branches else True)
        x = y
    return kept, [str(i) for i in keep_idx], asked


def _read_score(folder: Path) -> tuple[float, dict[str, Any]]:
    raw = _read_json(folder, "reward_scores.json")
    if not isinstance(raw, Mapping):
        raise _Bad(f"reward_scores.json must hold an object, got {type(raw).__name__}")
    nested = raw.get("scores")
    if "overall_quality" in raw:
        q = raw["overall_quality"]
    elif isinstance(nested, Mapping) and "overall_quality" in nested:
        q = nested["overall_quality"]  # the release: {"scores": {"overall_quality": {"score": x}}}
        if isinstance(q, Mapping):
            if "score" not in q:
                raise _Bad("reward_scores.json's scores.overall_quality has no 'score'")
            q = q["score"]
    else:
        raise _Bad("reward_scores.json has no 'overall_quality' (nor scores.overall_quality.score)")
    if isinstance(q, bool) or not isinstance(q, int | float) or not math.isfinite(q):
        raise _Bad(f"overall_quality must be a finite number, got {q!r}")
    scale = raw.get("scale", 5)
    if isinstance(scale, bool) or scale not in SCALES:
        raise _Bad(
            f"reward_scores.json has scale {scale!r}; expected one of {', '.join(map(str, SCALES))}"
        )
    if not 0.0 <= q <= scale:
        hint = "" if "scale" in raw else ' (add "scale": 10 or 100 if it is on another scale)'
        raise _Bad(f"overall_quality {q!r} is outside [0, {scale}]{hint}")
    return float(q) * 5.0 / float(scale), dict(raw)


def _read_image(folder: Path, size: int) -> np.ndarray:
    from PIL import Image

    from styling_env.images import as_image_batch

    path = folder / "original.png"
    if not path.is_file():
        raise _Bad("missing file original.png")
    try:
        with Image.open(path) as im:
            im.load()
            rgb = _to_rgb(im)
    except Exception as e:  # Pillow's decoders raise many types on damaged files
        raise _Bad(f"original.png cannot be decoded ({type(e).__name__}: {e})") from e
    try:
        batch = as_image_batch([rgb], size=size)
    except (ValueError, TypeError) as e:
        raise _Bad(f"original.png: {e}") from e
    pixels = batch.pixels[0].clamp(0, 1).mul(255).round().byte()
    return pixels.permute(1, 2, 0).numpy().copy()


def _to_rgb(im: Any) -> Any:
    """RGB of a Pillow image: grayscale replicated, alpha composited over white."""
    from PIL import Image

    mode = im.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        a = np.asarray(im)
        if mode.startswith("I;16") or a.max(initial=0) > 255:
            a = a.astype(np.int64) >> 8
        im = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), "L")
        mode = "L"
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif mode in ("LA", "La", "PA", "RGBa"):
        im = im.convert("RGBA")
    elif mode in ("L", "1", "CMYK", "YCbCr", "LAB", "HSV"):
        im = im.convert("RGB")
    elif mode not in ("RGB", "RGBA"):
        raise ValueError(f"unsupported image mode {mode!r}")
    if im.mode == "RGBA":
        white = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(white, im).convert("RGB")
    return im


def read_sample(folder: str | Path, image_size: int = 128, library: str | None = None) -> Sample:
    """Read and validate one sample folder; :class:`DatasetError` names it and the problem."""
    folder = Path(folder)
    try:
        missing = [f for f in FILES if not (folder / f).is_file()]
        if missing:
            raise _Bad(f"missing file{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
        instruction, theme, tier, prompt = _read_prompt(folder)
        calls, reasons, warnings, plan, lib = _read_plan(folder, library)
        r, scores = _read_score(folder)
        image = _read_image(folder, image_size)  # decodable (read again when the task is built)
        asked = [True] * len(calls)
        if lib != "v2":
            calls, idx, asked = _played(calls, image, warnings)
            reasons = [reasons[int(i)] for i in idx]
        targets = _targets([c for c, a in zip(calls, asked, strict=True) if a], warnings)
        try:
            user_task(instruction, targets=targets, library=lib)
        except (ValueError, TypeError) as e:
            raise _Bad(f"cannot build its task ({e})") from e
    except _Bad as e:
        raise DatasetError(f"paper sample {folder.name!r} ({folder}): {e}") from e
    return Sample(
        folder, instruction, theme, tier, targets, calls, reasons, r, plan, prompt, scores,
        warnings, image_size, lib,
    )  # fmt: skip


def _targets(calls: Sequence[ToolCall], warnings: list[str]) -> list[Target]:
    """One target per tool, from its first call (strength clipped to [0.2, 1])."""
    targets: dict[str, Target] = {}
    for k, c in enumerate(calls):
        if c.tool in targets:
            warnings.append(
                f"step {k} calls {c.tool} again ({c.value}); the task keeps the first "
                f"({targets[c.tool].value}) as its target"
            )
            continue
        targets[c.tool] = Target(c.tool, c.value, float(np.clip(c.strength, MIN_STRENGTH, 1.0)))
    return list(targets.values())


# --------------------------------------------------------------------------------------------
# The teacher that replays the plans


class PlanTeacher:
    """Emits each task's plan (found by task id), each call with the plan's own reason, then
    STOP (its reason written by :func:`offline_data.teachers.reason`)."""

    name = TEACHER

    def __init__(self, samples: Sequence[Sample]) -> None:
        self._plans = {s.task_id: s for s in samples}
        self._slots: dict[int, tuple[Sample, int]] = {}

    def start(self, slot, task, plan, rng):
        s = self._plans[task.task_id]
        self._slots[slot] = (s, 0)
        return {"teacher": self.name, "sample": s.name}

    def act(self, observations, slots):
        out = []
        for i in slots:
            s, k = self._slots[i]
            self._slots[i] = (s, k + 1)
            if k < len(s.calls):
                out.append((s.calls[k], "", s.reasons[k] or None))
            else:
                out.append((Stop(), ""))
        return out


# --------------------------------------------------------------------------------------------
# The import


_TIER_RANK = {t: i for i, t in enumerate(TIERS)}


def dataset_tier(samples: Sequence[Sample], tier: str | None = None) -> str:
    """The dataset's tier: ``tier``; else the most demanding tier the samples' ``prompt.json``
    name; else ``complex`` if any plan has more than two actions, else ``simple``."""
    if tier is not None:
        if tier not in TIERS:
            raise ValueError(f"unknown tier {tier!r}; expected one of {', '.join(TIERS)}")
        return tier
    named = [s.tier for s in samples if s.tier]
    if named:
        return max(named, key=_TIER_RANK.__getitem__)
    return "complex" if any(len(s.calls) > 2 for s in samples) else "simple"


def sample_folders(folder: Path) -> list[Path]:
    """The sample folders of a release, sorted by name (hidden and ``_`` folders skipped)."""
    if not folder.is_dir():
        raise DatasetError(f"paper release folder {folder} does not exist or is not a folder")
    subs = sorted(
        (p for p in folder.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))),
        key=lambda p: p.name,
    )
    if not subs:
        raise DatasetError(
            f"paper release folder {folder} holds no sample folders (expected one folder per "
            f"sample with {', '.join(FILES)})"
        )
    return subs


def import_paper(
    folder: str | Path, did: str, *, tier: str | None = None, image_size: int = 128,
    overwrite: bool = False, progress: bool = True, strict: bool = True,
    library: str | None = None,
) -> Path:  # fmt: skip
    """Import the paper's release in ``folder`` as dataset ``did`` (see the module docstring).

    Args:
        folder: the release, one sub-folder per sample.
        did: the Minari dataset id to write (e.g. ``image-styling/paper-v0``).
        tier: the dataset's tier; ``None`` derives it (see :func:`dataset_tier`).
        image_size: the side of the stored images.
        overwrite: replace an existing dataset ``did``.
        progress: show a progress bar.
        strict: raise on the first malformed sample; ``False`` skips malformed samples and
            lists them (``{"sample", "error"}``) under ``skipped`` in the dataset metadata.
        library: the action library of the plans (``"v2"``, ``"normal"``, ``"v3"``); ``None``
            reads it from the plans (:func:`plan_library`), which must then agree.

    Returns:
        The dataset's folder.

    Raises:
        DatasetError: a malformed sample (strict), no valid sample, or ``did`` exists and
            ``overwrite`` is false.
    """
    from tqdm.auto import tqdm

    from .dataset import dataset_path
    from .generate import rollouts, write_dataset

    if tier is not None and tier not in TIERS:
        raise ValueError(f"unknown tier {tier!r}; expected one of {', '.join(TIERS)}")
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 8:
        raise ValueError(f"image_size must be an int >= 8, got {image_size!r}")
    if dataset_path(did).exists() and not overwrite:
        raise DatasetError(
            f"dataset {did!r} already exists at {dataset_path(did)}; pass --overwrite to replace it"
        )
    folder = Path(folder)
    samples: list[Sample] = []
    skipped: list[dict[str, str]] = []
    for sub in sample_folders(folder):
        try:
            samples.append(read_sample(sub, image_size, library))
        except DatasetError as e:
            if strict:
                raise
            skipped.append({"sample": sub.name, "error": str(e)})
    if not samples:
        raise DatasetError(
            f"no valid sample in {folder}: "
            + "; ".join(f"{s['sample']}: {s['error']}" for s in skipped[:5])
        )
    libraries = sorted({s.library for s in samples})
    if len(libraries) > 1:
        raise DatasetError(
            f"the samples in {folder} use action libraries {', '.join(libraries)}; one dataset "
            "holds one library: import them with library=... (--library) into separate datasets"
        )
    lib = libraries[0]
    tier = dataset_tier(samples, tier)
    n = len(samples)
    by_episode = {e: s for e, s in enumerate(samples)}
    teacher = PlanTeacher(samples)
    recipe = Recipe(tier=tier, episodes=n, image_size=image_size, teacher=TEACHER, library=lib)
    bar = tqdm(total=n, desc=did, unit="ep", disable=not progress)
    try:
        fins = rollouts(
            tier, range(n), 0, teacher, image_size=image_size, max_steps=recipe.max_steps,
            num_envs=min(32, n), task_fn=lambda e: by_episode[e].task(tier), progress=bar.update,
            library=lib,
        )  # fmt: skip
        extra: dict[str, Any] = {"skipped": skipped, "release": folder.resolve().name}
        return write_dataset(
            did, (_with_paper_r(f, by_episode[f.e]) for f in fins), recipe=recipe,
            ref_scores=None, source=SOURCE, overwrite=overwrite, extra=extra,
        )  # fmt: skip
    finally:
        bar.close()


def _with_paper_r(f: Any, s: Sample) -> Any:
    """``f`` with the paper's ``overall_quality`` as its ``r`` (the judge's kept as ``judge_r``)
    and the sample's raw files in its metadata; the digest is recomputed."""
    return f.with_meta(
        judge_r=f.meta["r"], r=round(float(s.r), 4), paper_scores=s.scores, paper_plan=s.plan,
        paper_prompt=s.prompt, sample=s.name, warnings=list(s.warnings),
    )  # fmt: skip
