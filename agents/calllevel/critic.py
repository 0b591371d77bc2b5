"""The call-level critic: ``Q(s, a)`` over the planner's factorized hybrid action, and ``V(s)``.

A call ``a = (tool, value, strength, region, preserve)`` has a discrete part, the call ``k``
(one of the 171 (tool, value) pairs, or STOP: :data:`N_CALLS` = 172 choices), and the rest
(strength in [0, 1], region, the six preserve bits). d3rlpy's critics are either discrete (one
output per action, DiscreteCQL) or continuous (the action is an input, IQL and AWAC); this
action is both, so the critic splits ``Q`` in two::

    Q_i(s, a) = D_i(s)[k] + C_i(s, k, strength, region, preserve),
    C_i = -softplus(MLP(h, emb(k), strength, onehot(region), preserve bits)) <= 0

``D_i(s)[k]`` is the value of choosing call ``k`` with the best strength, region and preserved
regions, and ``C_i <= 0`` what a worse choice of them loses (0 for STOP). The six ``preserve``
bits (the regions a call keeps untouched) are part of the call: a call that ignores a "keep the
sky" constraint differs from the right one only there. Then ``max_a Q(s, a) =
max_k D(s)[k]`` and a soft maximum over actions is a ``logsumexp`` over the discrete part:
DiscreteCQL's penalty and a greedy target need no search over strengths. ``V(s)`` is a separate
head (IQL's value function, AWAC's behaviour value).

The observation encoder is the embedded planner's (:meth:`EmbeddedPlanner.features`: CNN,
instruction, context, history, steps left; dropout off), built from the run's
:class:`~agents.embedded.PlannerConfig` without its policy-side wide path; the critic has its own
wide path from the hashed words to ``D`` (which value a request names is a lookup). Adapted from
d3rlpy: the ``n_critics`` Q heads (default 2, d3rlpy's ``n_critics``) and the V head share one
encoder, where d3rlpy gives each its own: on a 2-core CPU the encoder is most of the cost.

A critic checkpoint (:meth:`CallCritic.save`, a ``weights_only`` torch file) records the
dataset it was fitted on (id and checksum): :func:`load_critic` with ``dataset_checksum`` refuses
a critic of another dataset (:class:`CriticMismatchError`).
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from agents.embedded.config import CheckpointError, PlannerConfig
from agents.embedded.hashed import SparseTailLinear, read_words
from agents.embedded.model import EmbeddedPlanner, PlannerBatch
from offline_data.safety import atomic_write
from styling_env.actions import MASK_NAMES, STOP, VALUE_OFFSETS
from styling_env.tools.call import REGIONS
from styling_env.tools.vocabulary import VALUES

from .losses import ensemble_min

__all__ = [
    "CRITIC_FORMAT",
    "N_CALLS",
    "CallCritic",
    "CriticMismatchError",
    "call_index",
    "load_critic",
    "q_minus_v",
]

CRITIC_FORMAT = "image-styling/call-critic"
#: 2: the continuous part reads the call's ``preserve`` bits (a version-1 critic loads with zero
#: weights on them: it scores as it did, blind to ``preserve``).
CRITIC_VERSION = 2
#: Discrete calls: the 171 (tool, value) pairs, then STOP.
N_CALLS = len(VALUES) + 1
STOP_CALL = N_CALLS - 1


class CriticMismatchError(ValueError):
    """A critic checkpoint that does not belong to this dataset or this planner config."""


def call_index(tool: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """The discrete call ``k`` ``(B,)`` of native ``tool``, ``value``: ``VALUE_OFFSETS[tool] +
    value`` for a tool, :data:`STOP_CALL` for STOP."""
    tool = tool.long().reshape(-1)
    offsets = torch.as_tensor(VALUE_OFFSETS, dtype=torch.int64, device=tool.device)
    flat = offsets[tool.clamp(0, STOP - 1)] + value.long().reshape(-1)
    return torch.where(tool >= STOP, STOP_CALL, flat)


class CallCritic(nn.Module):
    """``n_critics`` call-level Q functions and a value function on one observation encoder."""

    def __init__(self, planner: PlannerConfig, n_critics: int = 2, head_hidden: int = 128) -> None:
        super().__init__()
        if not isinstance(planner, PlannerConfig):
            raise TypeError(f"planner must be a PlannerConfig, got {type(planner).__name__}")
        if isinstance(n_critics, bool) or not isinstance(n_critics, int) or n_critics < 1:
            raise ValueError(f"n_critics must be an int >= 1, got {n_critics!r}")
        self.planner_config = planner
        self.n_critics = n_critics
        self.head_hidden = head_hidden
        self.meta: dict[str, Any] = {}
        enc = planner.replace(dropout=0.0, wide=False)
        self.encoder = EmbeddedPlanner(enc)
        # the policy heads of the encoder's planner are never used: drop them
        for name in ("tool_head", "value_head", "call_head", "tool_embed", "value_embed"):
            delattr(self.encoder, name)
        hidden = enc.hidden
        self.discrete = nn.ModuleList(nn.Linear(hidden, N_CALLS) for _ in range(n_critics))
        self.wide = None
        if planner.wide and planner.hashed:
            self.wide = SparseTailLinear(planner.hash_dim, N_CALLS, planner.hash_dim)
        self.call_embed = nn.Embedding(N_CALLS, 16)
        n_in = hidden + 16 + 1 + len(REGIONS) + len(MASK_NAMES)
        self.continuous = nn.ModuleList(
            nn.Sequential(nn.Linear(n_in, head_hidden), nn.ReLU(), nn.Linear(head_hidden, 1))
            for _ in range(n_critics)
        )
        self.value = nn.Sequential(
            nn.Linear(hidden, head_hidden), nn.ReLU(), nn.Linear(head_hidden, 1)
        )

    # ---------------------------------------------------------------------------------------
    def encode(self, b: PlannerBatch) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The trunk ``(B, hidden)`` and the wide path's ``(B, N_CALLS)`` (or None)."""
        wide = None
        words = self.encoder.hashed_words(b)  # found once for the trunk and the wide path
        if self.wide is not None:
            cfg = self.planner_config
            scaled = None if words is None else (words[0], words[1] * cfg.wide_scale)
            wide = read_words(
                self.wide, scaled, lambda: b.text[:, -cfg.hash_dim :].float() * cfg.wide_scale
            )
        return self.encoder.features(b, words), wide

    def discrete_q(self, h: torch.Tensor, wide: torch.Tensor | None) -> list[torch.Tensor]:
        """Per critic, ``D_i(s)`` ``(B, N_CALLS)``."""
        return [d(h) if wide is None else d(h) + wide for d in self.discrete]

    def continuous_q(
        self,
        h: torch.Tensor,
        k: torch.Tensor,
        strength: torch.Tensor,
        region: torch.Tensor,
        preserve: torch.Tensor,
    ) -> list[torch.Tensor]:
        """Per critic, ``C_i(s, k, strength, region, preserve)`` ``(B,)``: <= 0, and 0 for
        STOP; ``preserve`` ``(B, 6)`` bits in ``MASK_NAMES`` order."""
        x = torch.cat(
            [
                h,
                self.call_embed(k),
                strength.float().reshape(-1, 1),
                F.one_hot(region.long().clamp(0, len(REGIONS) - 1), len(REGIONS)).float(),
                preserve.float().reshape(-1, len(MASK_NAMES)),
            ],
            dim=1,
        )
        call = (k != STOP_CALL).float()
        return [-F.softplus(c(x).reshape(-1)) * call for c in self.continuous]

    def q_values(
        self, b: PlannerBatch, h: torch.Tensor | None = None, wide: Any = None
    ) -> dict[str, Any]:
        """Everything the losses need for a batch with actions: ``q`` (list of ``(B,)``, one per
        critic), ``discrete`` (list of ``(B, N_CALLS)``), ``k`` ``(B,)``, ``v`` ``(B,)``."""
        if any(x is None for x in (b.tool, b.value, b.strength, b.region, b.preserve)):
            raise ValueError(
                "the critic needs a batch with the taken actions (tool, value, strength, region "
                "and preserve)"
            )
        if h is None:
            h, wide = self.encode(b)
        k = call_index(b.tool, b.value)
        disc = self.discrete_q(h, wide)
        cont = self.continuous_q(h, k, b.strength, b.region, b.preserve)
        q = [d.gather(1, k.reshape(-1, 1)).reshape(-1) + c for d, c in zip(disc, cont, strict=True)]
        return {"q": q, "discrete": disc, "k": k, "v": self.value(h).reshape(-1), "h": h}

    def state_value(self, b: PlannerBatch) -> torch.Tensor:
        """``V(s)`` ``(B,)``."""
        h, _ = self.encode(b)
        return self.value(h).reshape(-1)

    def target_copy(self) -> CallCritic:
        """A frozen copy (the target network)."""
        t = copy.deepcopy(self)
        for p in t.parameters():
            p.requires_grad_(False)
        return t.eval()

    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    # ---------------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> Path:
        """One ``.pt`` file: format, planner config, ``n_critics``, weights and :attr:`meta`
        (``dataset_id``, ``dataset_checksum``, the algorithm and its config)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        blob = {
            "format": CRITIC_FORMAT,
            "version": CRITIC_VERSION,
            "planner": self.planner_config.to_dict(),
            "n_critics": self.n_critics,
            "head_hidden": self.head_hidden,
            "state_dict": {k: v.detach().cpu() for k, v in self.state_dict().items()},
            "meta": json.loads(json.dumps(self.meta, default=str)),
        }
        return atomic_write(path, lambda tmp: torch.save(blob, tmp))


@torch.no_grad()
def q_minus_v(critic: CallCritic, target: CallCritic, b: PlannerBatch) -> torch.Tensor:
    """``min_i Qbar_i(s, a) - V(s)`` ``(B,)``: the target critics' most pessimistic value of
    the taken call against the online critic's state value (IQL's and AWAC's advantage)."""
    return ensemble_min(target.q_values(b)["q"]) - critic.state_value(b)


def load_critic(
    path: str | os.PathLike[str],
    *,
    dataset_checksum: str | None = None,
    planner: PlannerConfig | None = None,
) -> CallCritic:
    """A critic of :meth:`CallCritic.save`.

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: not a critic checkpoint (the message says why).
        CriticMismatchError: ``dataset_checksum`` given and the critic was fitted on another
            dataset, or ``planner`` given and the critic's encoder reads other inputs.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"critic checkpoint {str(path)!r} does not exist")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types on foreign files
        raise CheckpointError(
            f"{str(path)!r} is not a torch checkpoint file ({type(e).__name__})"
        ) from e
    if not isinstance(blob, dict) or blob.get("format") != CRITIC_FORMAT:
        fmt = blob.get("format") if isinstance(blob, dict) else type(blob).__name__
        raise CheckpointError(
            f"{str(path)!r} is not a call-level critic checkpoint (format {fmt!r}, expected "
            f"{CRITIC_FORMAT!r})"
        )
    if blob.get("version") not in (1, CRITIC_VERSION):
        raise CheckpointError(
            f"{str(path)!r} has critic version {blob.get('version')!r}; this code reads "
            f"versions 1 to {CRITIC_VERSION}: fit it again"
        )
    meta = dict(blob.get("meta") or {})
    if dataset_checksum is not None and meta.get("dataset_checksum") != dataset_checksum:
        raise CriticMismatchError(
            f"critic {str(path)!r} was fitted on dataset {meta.get('dataset_id')!r} (checksum "
            f"{str(meta.get('dataset_checksum'))[:12]}), not on this one (checksum "
            f"{dataset_checksum[:12]}): its advantages do not score these calls; fit a critic on "
            "this dataset (leave critic unset)"
        )
    try:
        config = PlannerConfig.from_dict(blob["planner"])
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"{str(path)!r}: bad planner config: {e}") from e
    if planner is not None:
        keys = ("image_size", "text_only", "encoder", "hash_dim", "max_steps")
        diff = {k: (getattr(config, k), getattr(planner, k)) for k in keys if getattr(config, k) != getattr(planner, k)}  # fmt: skip
        if diff:
            raise CriticMismatchError(
                f"critic {str(path)!r} reads other observations than this run's planner: "
                + ", ".join(f"{k} {a!r} vs {b!r}" for k, (a, b) in diff.items())
            )
    critic = CallCritic(config, int(blob.get("n_critics", 2)), int(blob.get("head_hidden", 128)))
    try:
        state = blob["state_dict"]
        if blob["version"] == 1:  # before the preserve bits: zero weights on them
            state = _without_preserve(state, critic.n_critics)
        critic.load_state_dict(state)
    except (KeyError, RuntimeError) as e:
        raise CheckpointError(f"{str(path)!r}: the weights do not fit its config ({e})") from e
    critic.meta = meta
    return critic.eval()


def _without_preserve(state: dict[str, torch.Tensor], n_critics: int) -> dict[str, torch.Tensor]:
    """A version-1 ``state_dict`` (its continuous heads read no ``preserve`` bits) with zero
    weights on the bits appended: the same ``Q`` for every action."""
    state = dict(state)
    for i in range(n_critics):
        key = f"continuous.{i}.0.weight"
        w = state[key]
        state[key] = torch.cat([w, w.new_zeros(w.shape[0], len(MASK_NAMES))], dim=1)
    return state
