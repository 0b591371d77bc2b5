"""Episodes -> tensors for the embedded policy: :func:`to_tensors` and :class:`StepTensors`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
import torch

from styling_env.actions import FlatActions, check_bins
from styling_env.tools.library_tables import DEFAULT_LIBRARY

from ..weights import check_method, sample_weights
from .records import Groups, collect


@dataclass
class StepTensors:
    """One row per (episode, step ``t``) with an action: observation ``t`` and action ``t``.

    Images are ``uint8`` ``(3, H, W)`` (``None`` when ``text_only``). The source image is kept
    once per episode (``sources`` ``(E, 3, H, W)``, row ``source_row``); :attr:`source` gathers it
    per row (a copy: take it from a minibatch, ``select(idx).source``). Instructions are kept once
    (``instructions``, row ``instruction_index``) so sentence embeddings can be cached per
    instruction; :attr:`instruction` lists them per row.
    """

    image: torch.Tensor | None  # (N, 3, H, W) uint8, the current image
    sources: torch.Tensor | None  # (E, 3, H, W) uint8, one source image per episode
    source_row: torch.Tensor  # (N,) int64, row of ``sources``
    context: torch.Tensor  # (N, 10) int64, the context states of the current image
    history: torch.Tensor  # (N, max_steps, 5) float32, calls so far (-1 pads)
    steps_left: torch.Tensor  # (N,) int64
    instruction_index: torch.Tensor  # (N,) int64, row of ``instructions``
    instructions: list[str]  # unique instructions
    tool: torch.Tensor  # (N,) int64, a native tool index of ``library`` (v2: 0-9, 10 STOP)
    value: torch.Tensor  # (N,) int64, index in the tool's vocabulary
    strength: torch.Tensor  # (N,) float32
    region: torch.Tensor  # (N,) int64, index in REGIONS
    preserve: torch.Tensor  # (N, 6) float32 bits in MASK_NAMES order: the masks kept untouched
    flat_action: torch.Tensor  # (N,) int64, FlatActions(bins, library=library) index (STOP last)
    reward: torch.Tensor  # (N,) float32, the env's per-step reward
    episode: torch.Tensor  # (N,) int64, episode id
    step: torch.Tensor  # (N,) int64, t
    r: torch.Tensor  # (N,) float32, the trajectory's quality, repeated per step
    weight: torch.Tensor  # (N,) float32, sample_weights(method, r per episode), per step
    task_id: list[str]  # (N,) task id per row
    method: str = "s"
    n_strength_bins: int = 4
    #: whether ``flat_action`` includes the preserve digit (``FlatActions(bins, preserve=...)``)
    flat_preserve: bool = False
    #: the action library of ``tool``/``value`` and of ``flat_action`` (``styling_env.libraries``):
    #: ``v2`` here (a class attribute, not a field: the rows of v2 data are field for field
    #: what they always were); rows of another library are :class:`LibraryStepTensors`
    library = DEFAULT_LIBRARY

    _ROW_FIELDS = (
        "image",
        "source_row",
        "context",
        "history",
        "steps_left",
        "instruction_index",
        "tool",
        "value",
        "strength",
        "region",
        "preserve",
        "flat_action",
        "reward",
        "episode",
        "step",
        "r",
        "weight",
    )

    def __len__(self) -> int:
        return int(self.tool.shape[0])

    @property
    def n_episodes(self) -> int:
        return int(torch.unique(self.episode).numel())

    @property
    def max_steps(self) -> int:
        return int(self.history.shape[1])

    @property
    def source(self) -> torch.Tensor | None:
        """``(N, 3, H, W)`` uint8: each row's source image (gathered: a copy)."""
        return None if self.sources is None else self.sources[self.source_row]

    @property
    def instruction(self) -> list[str]:
        return [self.instructions[i] for i in self.instruction_index.tolist()]

    def select(self, index: Any) -> StepTensors:
        """The rows ``index`` (a slice, an index tensor/array/list or a bool mask)."""
        if isinstance(index, np.ndarray):
            index = torch.from_numpy(index)
        elif isinstance(index, list):
            index = torch.as_tensor(index)
        if isinstance(index, torch.Tensor) and index.dtype == torch.bool:
            index = index.nonzero().reshape(-1)
        rows = {
            k: (None if getattr(self, k) is None else getattr(self, k)[index])
            for k in self._ROW_FIELDS
        }
        ids = range(len(self))[index] if isinstance(index, slice) else index.tolist()
        return replace(self, task_id=[self.task_id[i] for i in ids], **rows)

    def to(self, device: str | torch.device) -> StepTensors:
        moved = {
            f.name: getattr(self, f.name).to(device)
            for f in fields(self)
            if isinstance(getattr(self, f.name), torch.Tensor)
        }
        return replace(self, **moved)


@dataclass
class LibraryStepTensors(StepTensors):
    """:class:`StepTensors` of another action library than ``v2`` (``normal``, ``v3``): the same
    rows, with the library's name as a field (kept by :meth:`~StepTensors.select`, ``to`` and
    ``dataclasses.replace``)."""

    library: str = DEFAULT_LIBRARY


def to_tensors(
    data: Any,
    *,
    method: str = "s",
    n_strength_bins: int = 4,
    text_only: bool = False,
    image_size: int | None = None,
    groups: Groups | None = None,
    shrink: Callable[[np.ndarray], np.ndarray] | None = None,
    flat_preserve: bool = False,
) -> StepTensors:
    """Episodes -> :class:`StepTensors`, one row per step (observation ``t``, action ``t``), in
    the action library the episodes were played in (``StepTensors.library``: native indices
    as stored, ``flat_action`` in that library's :class:`~styling_env.actions.FlatActions`).

    Args:
        data: a dataset id, a MinariDataset or a list of EpisodeRecord.
        method: one of :data:`offline_data.weights.METHODS`: the ``weight`` column.
        n_strength_bins: the bins of ``flat_action`` (``DiscreteActions(n_strength_bins)``).
        text_only: drop the images (the paper's text-only variant).
        image_size: if given, the dataset's images must be this size.
        groups: SW's standardization groups: an episode-metadata key (``"task_id"``, or a key of
            ``task`` such as ``"theme"``, ``"template_id"``) or ``meta -> key``; ``None`` = over
            the whole dataset.
        shrink: ``(N, 3, H, W) uint8 -> (N, 3, h, w) uint8`` applied to each episode's images
            (and its source) as they are read, e.g. ``lambda a: resize_uint8(a, 64)``: a
            planner that works at a smaller size never holds the stored-size images (the
            peak memory of a 10,000-episode 128 px tier falls about fourfold).
        flat_preserve: ``flat_action`` includes the preserve digit (the indices of
            ``DiscreteActions(n_strength_bins, preserve=True)``); default the plain indices of
            ``preserve=False``. The ``preserve`` bits are there either way.

    Raises:
        ValueError: an unknown method, an empty dataset, a size mismatch, malformed records
            (a preserve set outside ``PRESERVE_SETS`` with ``flat_preserve``).
    """
    method = check_method(method)
    bins = check_bins(n_strength_bins)
    c = collect(
        data, text_only=text_only, image_size=image_size, final_rows=False, groups=groups,
        shrink=shrink,
    )  # fmt: skip
    w_ep = sample_weights(method, c.ep_r, groups=c.ep_group)
    row = c.source_row
    t = torch.from_numpy
    steps = StepTensors if c.library == DEFAULT_LIBRARY else LibraryStepTensors
    extra = {} if c.library == DEFAULT_LIBRARY else {"library": c.library}
    return steps(
        image=None if c.image is None else t(c.image),
        sources=None if c.sources is None else t(c.sources),
        source_row=t(row),
        context=t(c.context),
        history=t(c.history),
        steps_left=t(c.steps_left),
        instruction_index=t(c.instruction_index),
        instructions=c.instructions,
        tool=t(c.tool),
        value=t(c.value),
        strength=t(c.strength),
        region=t(c.region),
        preserve=t(c.preserve.astype(np.float32)),
        flat_action=t(
            FlatActions(bins, bool(flat_preserve), c.library).encode(
                c.tool, c.value, c.strength, c.preserve
            )
        ),
        reward=t(c.reward),
        episode=t(c.ep_id[row]),
        step=t(c.step),
        r=t(c.ep_r[row].astype(np.float32)),
        weight=t(w_ep[row].astype(np.float32)),
        task_id=[c.ep_task[i] for i in row.tolist()],
        method=method,
        n_strength_bins=bins,
        flat_preserve=bool(flat_preserve),
        **extra,
    )
