"""Linear layers over the hashed words without the zeros: a request's ``hash_dim``-d bag of words
and word pairs (8,192 by default) holds a few dozen non-zero entries, and a dense ``Linear`` over
it multiplies every zero.

:class:`SparseTailLinear` computes what ``nn.Linear(in_features, out_features)`` computes, reading
its input's last ``tail`` columns as a sparse vector: ``W_dense x_dense + b`` as a dense product
plus ``sum_j x_j W[:, j]`` over the tail's non-zero ``j``
(:func:`torch.nn.functional.embedding_bag`). It keeps the tail's weights transposed, ``(tail,
out)``, so each non-zero entry reads one contiguous row and the backward pass writes rows. Its
``state_dict`` is ``nn.Linear``'s (``weight`` ``(out, in)``, ``bias``): checkpoints written before
it load unchanged, and its initialization is ``nn.Linear``'s. The sum equals the dense product's
up to float rounding (its terms are added in another order).

:func:`hashed_words` finds a batch's non-zero entries once; the planner passes them to every layer
that reads the same words. On a GPU (any device but the CPU) the layers keep the dense product
(finding the non-zeros needs their count on the host, a device sync; a dense product is cheap
there).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["HashedWords", "SparseTailLinear", "hashed_words", "read_words"]

#: ``(index, value)``, each ``(B, L)``: row ``i``'s non-zero tail columns (counted from the tail's
#: first column) and their values, padded with index 0 and value 0 to the batch's longest row.
HashedWords = tuple[torch.Tensor, torch.Tensor]


def hashed_words(tail: torch.Tensor) -> HashedWords:
    """The non-zero entries of ``tail`` ``(B, n)``, row by row (see :data:`HashedWords`)."""
    if tail.ndim != 2:
        raise ValueError(f"hashed words must be (B, n), got shape {tuple(tail.shape)}")
    b = tail.shape[0]
    rows, cols = tail.nonzero(as_tuple=True)  # row-major: each row's columns in order
    counts = torch.bincount(rows, minlength=b)
    width = max(int(counts.max()) if b else 0, 1)
    pos = torch.arange(rows.numel(), device=tail.device) - (torch.cumsum(counts, 0) - counts)[rows]
    index = torch.zeros((b, width), dtype=torch.long, device=tail.device)
    value = torch.zeros((b, width), dtype=tail.dtype, device=tail.device)
    index[rows, pos] = cols
    value[rows, pos] = tail[rows, cols]
    return index, value


class SparseTailLinear(nn.Module):
    """``nn.Linear(in_features, out_features)`` whose last ``tail`` inputs are sparse (module
    docstring).

    ``forward(x)`` takes the whole dense input ``(B, in_features)``; ``forward(x, words)`` reads
    the tail from ``words`` (:func:`hashed_words` of ``x``'s tail, its values possibly scaled)
    and only ``x``'s first ``in_features - tail`` columns (``x`` may be None for a layer over the
    words alone).
    """

    def __init__(self, in_features: int, out_features: int, tail: int) -> None:
        super().__init__()
        if not 0 < tail <= in_features:
            raise ValueError(f"tail must be in [1, in_features={in_features}], got {tail}")
        self.in_features, self.out_features, self.tail = in_features, out_features, tail
        full = nn.Linear(in_features, out_features)  # nn.Linear's initialization
        dense = in_features - tail
        self.weight_dense = nn.Parameter(full.weight.detach()[:, :dense].clone())
        self.weight_tail = nn.Parameter(full.weight.detach()[:, dense:].t().contiguous())
        self.bias = nn.Parameter(full.bias.detach().clone())

    @classmethod
    def from_linear(cls, linear: nn.Linear, tail: int) -> SparseTailLinear:
        """The layer with ``linear``'s weights (copied; no random draw, so replacing a built
        model's ``nn.Linear`` leaves every other initialization as it was)."""
        if linear.bias is None:
            raise ValueError("SparseTailLinear has a bias: the linear layer has none")
        with torch.random.fork_rng(devices=[]):  # the constructor's draws are thrown away
            layer = cls(linear.in_features, linear.out_features, tail)
        layer.load_state_dict(linear.state_dict())
        return layer.to(linear.weight.device)

    def full_weight(self) -> torch.Tensor:
        """The ``(out, in)`` weight ``nn.Linear`` would hold, as a new tensor (the parameters are
        ``weight_dense`` ``(out, in - tail)`` and ``weight_tail`` ``(tail, out)``)."""
        return torch.cat([self.weight_dense, self.weight_tail.t()], dim=1)

    def forward(self, x: torch.Tensor | None, words: HashedWords | None = None) -> torch.Tensor:
        dense = self.in_features - self.tail
        if x is None and (words is None or dense):
            raise ValueError("x is needed: no words given, or the layer has dense columns")
        if words is None:
            assert x is not None
            if x.shape[-1] != self.in_features:
                raise ValueError(f"expected {self.in_features} input columns, got {x.shape[-1]}")
            if x.device.type != "cpu":  # dense on a GPU (module docstring)
                return F.linear(x, self.full_weight(), self.bias)
            words = hashed_words(x[:, dense:])
        index, value = words
        out = F.embedding_bag(
            index, self.weight_tail, mode="sum", per_sample_weights=value.to(self.weight_tail.dtype)
        )
        if dense:
            assert x is not None
            out = out + F.linear(x[:, :dense], self.weight_dense)
        return out + self.bias

    def _save_to_state_dict(self, destination, prefix, keep_vars):  # type: ignore[no-untyped-def]
        weight = self.full_weight() if keep_vars else self.full_weight().detach()
        destination[prefix + "weight"] = weight
        destination[prefix + "bias"] = self.bias if keep_vars else self.bias.detach()

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):  # type: ignore[no-untyped-def]  # fmt: skip
        key = prefix + "weight"
        if key in state_dict:
            w = state_dict.pop(key)
            if tuple(w.shape) != (self.out_features, self.in_features):
                error_msgs.append(
                    f"size mismatch for {key}: copying a param with shape {tuple(w.shape)}, the "
                    f"shape in current model is {(self.out_features, self.in_features)}."
                )
                return
            dense = self.in_features - self.tail
            state_dict[prefix + "weight_dense"] = w[:, :dense]
            state_dict[prefix + "weight_tail"] = w[:, dense:].t()
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)  # fmt: skip

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, tail={self.tail}"


def read_words(
    layer: nn.Module, words: HashedWords | None, dense: Callable[[], torch.Tensor]
) -> torch.Tensor:
    """``layer`` on an input that ends in the hashed words: from their sparse ``words`` where the
    layer reads them so (a :class:`SparseTailLinear`; ``dense()``'s columns before the tail, if
    it has any), else ``layer(dense())`` (``dense`` builds the whole dense input only then)."""
    if words is not None and isinstance(layer, SparseTailLinear):
        return layer(dense() if layer.in_features > layer.tail else None, words)
    return layer(dense())
