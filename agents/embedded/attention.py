"""Instruction tokens read per head, and the image measures that condition the heads.

Two pieces of the embedded planner that read the request *per decision* instead of once per
step:

- :class:`TokenAttention`: attention pooling over the frozen MiniLM token states of the
  instruction. Each head of the planner (tool, value, strength/region) asks its own query, built
  from what it already knows (the trunk state; the chosen tool; the chosen tool and value), so
  the strength head can find "a hint of" next to "snow" while the tool head reads the whole
  request. The keys are projected once per batch and shared by every query; the pooled values
  are the token states themselves (384-d), so a query costs one ``(B, T)`` softmax and one
  weighted sum.
- :func:`image_measures` and :class:`FiLM`: the measures the task's conditional clauses are
  defined on (mean luma, warmth, chroma, and luma and coolness of the top fifth, where a sky
  is), plus luma spread and the shares of dark and bright pixels, of the current and the
  source image. A FiLM layer turns them (with the Stage-1 context) into a per-feature scale and
  shift of a head's input: "if it is already dark" and "strength on a dark source" become a
  function of two numbers the head sees directly, not something a small CNN must discover.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from styling_env.tasks import LUMA

__all__ = ["FiLM", "ImageCondition", "N_IMAGE_MEASURES", "TokenAttention", "image_measures"]

#: Measures per image (:func:`image_measures`); the planner reads the current image and the source.
N_MEASURES = 8
N_IMAGE_MEASURES = 2 * N_MEASURES
#: A fixed standardization of the measures, ``(m - center) * scale``: each lands in about
#: [-2, 2] over the gallery's images, so that small differences that decide a clause (warmth
#: 0.06, chroma 0.135 / 0.19, luma 0.45 / 0.58) reach the FiLM network at a learnable scale.
MEASURE_CENTER = (0.5, 0.15, 0.2, 0.2, 0.0, 0.15, 0.5, 0.0)
MEASURE_SCALE = (4.0, 8.0, 4.0, 4.0, 10.0, 8.0, 4.0, 10.0)


def image_measures(images: torch.Tensor) -> torch.Tensor:
    """``(B, 3k, H, W)`` uint8 (``k`` RGB images stacked on channels) -> ``(B, 8k)`` float32.

    Per image, in this order: mean luma (Rec. 601, the predicates' luma), luma standard
    deviation, share of pixels with luma < 0.25, share with luma > 0.75, warmth (mean R - B),
    chroma (mean per-pixel max - min over RGB), luma and coolness (B - R) of the top fifth of
    rows. These are the measures :data:`styling_env.tasks.PREDICATE_RULES` decides the
    conditional clauses on, computed for a whole batch at once.
    """
    if images.ndim != 4 or images.shape[1] % 3 != 0 or images.shape[1] == 0:
        raise ValueError(
            f"images must be (B, 3k, H, W) with k >= 1 RGB images stacked, got {tuple(images.shape)}"
        )
    b, c, h, w = images.shape
    x = images.reshape(b, c // 3, 3, h, w).float() * (1.0 / 255.0)
    r, g, bl = x[:, :, 0], x[:, :, 1], x[:, :, 2]
    luma = LUMA[0] * r + LUMA[1] * g + LUMA[2] * bl  # (B, k, H, W)
    top = max(1, h // 5)
    out = torch.stack(
        [
            luma.mean((2, 3)),
            luma.std((2, 3), correction=0),
            (luma < 0.25).float().mean((2, 3)),
            (luma > 0.75).float().mean((2, 3)),
            (r - bl).mean((2, 3)),
            (x.amax(2) - x.amin(2)).mean((2, 3)),
            luma[:, :, :top].mean((2, 3)),
            (bl[:, :, :top] - r[:, :, :top]).mean((2, 3)),
        ],
        dim=2,
    )  # (B, k, 8)
    return out.reshape(b, -1)


class TokenAttention(nn.Module):
    """Multi-head attention pooling over token states, one query per planner head.

    Args:
        token_dim: width of the token states (MiniLM: 384).
        heads: attention heads per query; each pools the full token state.
        key_dim: width of each head's keys and queries.
        queries: the input width of each query (one entry per planner head that reads tokens).
        out_dim: width of each pooled output (after a linear map and ReLU).

    :meth:`keys` projects the tokens once per batch; :meth:`pool` answers one query. Padding
    tokens (``mask`` False) get exactly zero weight.
    """

    def __init__(
        self, token_dim: int, heads: int, key_dim: int, queries: list[int], out_dim: int
    ) -> None:
        super().__init__()
        self.heads = heads
        self.key_dim = key_dim
        self.key = nn.Linear(token_dim, heads * key_dim)
        self.query = nn.ModuleList(nn.Linear(n, heads * key_dim) for n in queries)
        self.out = nn.ModuleList(
            nn.Sequential(nn.Linear(heads * token_dim, out_dim), nn.ReLU()) for _ in queries
        )
        self.last_weights: torch.Tensor | None = None  # (B, heads, T) of the last pool, for tests

    def keys(self, tokens: torch.Tensor) -> torch.Tensor:
        """``(B, T, token_dim)`` -> ``(B, heads, T, key_dim)``."""
        b, t, _ = tokens.shape
        return self.key(tokens).reshape(b, t, self.heads, self.key_dim).transpose(1, 2)

    def pool(
        self,
        which: int,
        query: torch.Tensor,
        keys: torch.Tensor,
        tokens: torch.Tensor,
        mask: torch.Tensor,
    ) -> torch.Tensor:
        """Query ``which`` of ``query`` ``(B, n)`` over ``tokens`` ``(B, T, D)`` -> ``(B, out_dim)``.

        ``mask`` ``(B, T)`` bool marks the real tokens; a row needs at least one.
        """
        b = query.shape[0]
        q = self.query[which](query).reshape(b, self.heads, 1, self.key_dim)
        scores = (q * keys).sum(-1) * (1.0 / math.sqrt(self.key_dim))  # (B, heads, T)
        scores = scores.masked_fill(~mask[:, None, :], float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        self.last_weights = weights.detach()
        pooled = torch.bmm(weights, tokens)  # (B, heads, D)
        return self.out[which](pooled.reshape(b, -1))


class FiLM(nn.Module):
    """Feature-wise scale and shift of ``features`` ``(B, n)`` by a condition ``(B, c)``:
    ``features * (1 + gamma(c)) + beta(c)``. Initialized to the identity (gamma = beta = 0), so a
    conditioned planner starts as the unconditioned one and learns how much the image matters."""

    def __init__(self, cond_dim: int, features: int) -> None:
        super().__init__()
        self.proj = nn.Linear(cond_dim, 2 * features)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, features: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.proj(cond).chunk(2, dim=1)
        return features * (1.0 + gamma) + beta


class ImageCondition(nn.Module):
    """The FiLM condition ``(B, out_dim)``: an MLP over the standardized :func:`image_measures`
    of the current image and the source (absent when ``images`` is False) and the planner's
    Stage-1 context embeddings ``(B, context_dim)``."""

    def __init__(self, images: bool, context_dim: int, out_dim: int) -> None:
        super().__init__()
        self.images = images
        n_in = context_dim + (N_IMAGE_MEASURES if images else 0)
        self.net = nn.Sequential(nn.Linear(n_in, out_dim), nn.ReLU())
        k = N_IMAGE_MEASURES // N_MEASURES
        self.register_buffer("_center", torch.tensor(MEASURE_CENTER * k), persistent=False)
        self.register_buffer("_scale", torch.tensor(MEASURE_SCALE * k), persistent=False)

    def forward(self, images: torch.Tensor | None, context: torch.Tensor) -> torch.Tensor:
        parts = [context]
        if self.images:
            if images is None:
                raise ValueError("the image condition needs the batch's images; it has none")
            parts.insert(0, (image_measures(images) - self._center) * self._scale)
        return self.net(torch.cat(parts, dim=1))
