"""The d3rlpy encoder of :mod:`agents.d3rlpy_agents`: :class:`~offline_data.loaders.TupleEncoderFactory`
whose vector layer reads the instruction's hashed words sparsely.

d3rlpy's observation vector ends with the instruction's vector (``offline_data.loaders.
vector_layout``), whose last ``hash_dim`` columns are the hashed words and word pairs (8,192 with
the default ``"minilm+hash"`` encoder, a few dozen of them non-zero). The vector layer is then the
largest product of a d3rlpy update (8,576 x 256 per observation, against about half that for the
encoder's three convolutions at 64 px), and mostly multiplies zeros.
:class:`HashedTupleEncoderFactory` builds the same encoder and swaps that layer for
:class:`agents.embedded.hashed.SparseTailLinear` with the same weights (same initialization, same
``state_dict``; sums equal up to float rounding). Importing this module imports d3rlpy and
registers the factory with it, so a saved model that uses it loads.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from d3rlpy.models.encoders import register_encoder_factory

from agents.embedded.hashed import SparseTailLinear
from offline_data.loaders.d3rlpy import TupleEncoderFactory

__all__ = ["HashedTupleEncoderFactory"]


def _sparse_vector_layer(encoder: Any, tail: int) -> Any:
    trunk = encoder.trunk
    mlp = getattr(trunk, "mlp", None)  # None: image observations alone
    if tail and mlp is not None:
        if not 0 < tail <= mlp[0].in_features:
            raise ValueError(
                f"sparse_tail={tail} but the observation vector has {mlp[0].in_features} columns"
            )
        mlp[0] = SparseTailLinear.from_linear(mlp[0], tail)
    return encoder


@dataclass()
class HashedTupleEncoderFactory(TupleEncoderFactory):
    """:class:`~offline_data.loaders.TupleEncoderFactory` whose vector layer reads the vector's
    last ``sparse_tail`` columns (the hashed words) sparsely; ``sparse_tail=0`` is the plain
    factory."""

    sparse_tail: int = 0

    def create(self, observation_shape: Any) -> Any:
        return _sparse_vector_layer(super().create(observation_shape), self.sparse_tail)

    def create_with_action(
        self, observation_shape: Any, action_size: int, discrete_action: bool = False
    ) -> Any:
        enc = super().create_with_action(observation_shape, action_size, discrete_action)
        return _sparse_vector_layer(enc, self.sparse_tail)

    @staticmethod
    def get_type() -> str:
        return "image_styling_tuple_hashed"


# a reload of this module finds the type registered (d3rlpy asserts); the first one stays
with contextlib.suppress(AssertionError):
    register_encoder_factory(HashedTupleEncoderFactory)
