"""Decoding within the data's support: a tool is not called twice in one episode.

The teachers that write the datasets never call a tool twice in an episode (every oracle plan
has at most one call per tool, and no teacher mistake repeats one: measured, 0 of 2,000
episodes per canonical tier), and the judge's technical score charges each repeat. A learned
policy still does: where it has not learned to stop after a call, its most probable next call is
the same tool again (measured on the 10,000-episode Simple tier, seed 0: 16% of RW's and 26% of
SW's test episodes repeat a tool, the teacher's 0%). A repeated tool is an action outside the
behaviour data's support, where the policy's estimate is an extrapolation (the reason BCQ
constrains its greedy action to the data's support).

So the agents decode within the support: the probability the policy gives to tools already
called in the episode goes to STOP (:func:`merge_repeats`; "more of what I did" can only mean
"done"), and greedy and sampled actions are taken from that distribution; a Q-function agent's
greedy action skips the called tools' actions instead (:func:`called_flat_actions`). Which tools
were called is read from the observation's ``history`` (invalid calls, which change nothing, do
not count). The ``normal`` library is exempt: a ``conditional_transform ... then_else`` may call
one tool in each branch, and its rules repeat by design.

Who decodes so: the embedded planner (:class:`~agents.embedded.agent.EmbeddedAgent`: the paper's
five methods, S text-only and the call-level methods) and d3rlpy's agents
(:class:`~agents.d3rlpy_agents.D3rlpyAgent`, greedy actions), each with ``repeat_tools=False`` by
default and ``repeat_tools=True`` for the raw policy; their ``decoding`` attribute says which
(:data:`DECODING` or None). Not the chat planners (Qwen3-VL, endpoints), which read their own
calls in the prompt and whose replies are passed to the env as written, nor SB3's online agents,
which learn in the env (where a repeat costs reward) rather than from the data.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from styling_env.libraries import library as get_library

__all__ = [
    "DECODING",
    "LIBRARIES",
    "called_flat_actions",
    "called_tools",
    "merge_repeats",
    "merge_repeats_np",
]

#: The libraries whose tools are not called twice (the ``normal`` library's branches may).
LIBRARIES: tuple[str, ...] = ("v2", "v3")
#: What an agent's ``decoding`` attribute says when it decodes within the support (an
#: evaluation recorded with another, or none, is out of date: the benchmark evaluates again).
DECODING = "no-repeat-tools"


@functools.cache
def _tool_count(library: str) -> int:
    return get_library(library).stop


def applies(library: str) -> bool:
    """Whether ``library``'s agents decode without repeated tools."""
    return library in LIBRARIES


def called_tools(history: np.ndarray | torch.Tensor, library: str) -> np.ndarray | torch.Tensor:
    """``(B, n_tools)`` bool: the tools each episode has called (valid calls of its observation
    ``history`` ``(B, max_steps, 5)``; column 0 is the tool index, -1 a padded row, -2 an
    invalid call). All False for a library outside :data:`LIBRARIES`."""
    n = _tool_count(library)
    if isinstance(history, torch.Tensor):
        tool = history[..., 0].round().long()
        ok = (tool >= 0) & (tool < n)
        out = torch.zeros(tool.shape[0], n + 1, dtype=torch.bool, device=tool.device)
        out.scatter_(1, torch.where(ok, tool, n), ok)  # invalid rows write False to column n
        out = out[:, :n]
        return out if applies(library) else torch.zeros_like(out)
    h = np.asarray(history)
    if h.ndim != 3:
        raise ValueError(f"history must be (B, max_steps, columns), got shape {h.shape}")
    tool = np.rint(h[..., 0]).astype(np.int64)
    out = np.zeros((tool.shape[0], n), dtype=bool)
    if applies(library):
        rows, steps = np.nonzero((tool >= 0) & (tool < n))
        out[rows, tool[rows, steps]] = True
    return out


def merge_repeats(logits: torch.Tensor, called: torch.Tensor) -> torch.Tensor:
    """Tool logits ``(B, n_tools + 1)`` (STOP last) -> log-probabilities with the called tools'
    probability moved to STOP (their entries ``-inf``). Rows that called nothing are the
    log-softmax of ``logits``."""
    n = called.shape[1]
    if logits.shape[1] != n + 1:
        raise ValueError(f"logits must have {n + 1} columns (the tools and STOP), got {logits.shape[1]}")  # fmt: skip
    p = torch.softmax(logits.float(), dim=1)
    moved = (p[:, :n] * called).sum(1)
    p = torch.cat([p[:, :n].masked_fill(called, 0.0), (p[:, n] + moved)[:, None]], dim=1)
    return torch.where(p > 0, p.log(), torch.full_like(p, -torch.inf))


def merge_repeats_np(tool_p: np.ndarray, called: np.ndarray) -> np.ndarray:
    """:func:`merge_repeats` on tool probabilities ``(B, n_tools + 1)`` (STOP last), numpy."""
    p = np.array(tool_p, np.float64)
    n = called.shape[1]
    p[:, n] += (p[:, :n] * called).sum(1)
    p[:, :n][called] = 0.0
    return p


def called_flat_actions(called: np.ndarray, tool_of_action: np.ndarray) -> np.ndarray:
    """``(B, n_actions)`` bool: the flat actions whose tool each episode has called
    (``tool_of_action[k]`` is flat action ``k``'s tool, or an index >= n_tools for STOP)."""
    t = np.asarray(tool_of_action, np.int64)
    n = called.shape[1]
    inside = t < n
    out = np.zeros((called.shape[0], len(t)), dtype=bool)
    out[:, inside] = called[:, t[inside]]
    return out
