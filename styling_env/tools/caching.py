"""Caches of constant tensors (noise fields, blur taps, window counts) that any later call may
differentiate through.

A tensor created under ``torch.inference_mode()`` can never be saved for backward. The Stage-1
context computes its features in inference mode (every env step) and renders its training edits
in it (:func:`styling_env.context.fit`), so a constant first built there and cached would break
every later differentiable call that reads it ("Inference tensors cannot be saved for
backward"): after an env step, 125 of the 298 recipes could no longer be differentiated. The
builders therefore run with inference mode off; their tensors work in either mode.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import torch

F = TypeVar("F", bound=Callable[..., Any])


def outside_inference(build: F) -> F:
    """``build`` run with ``torch.inference_mode`` off, whatever mode its caller is in."""

    @functools.wraps(build)
    def run(*args: Any, **kwargs: Any) -> Any:
        with torch.inference_mode(False):
            return build(*args, **kwargs)

    return run  # type: ignore[return-value]


def constant_cache(maxsize: int) -> Callable[[F], F]:
    """``functools.lru_cache(maxsize)`` for a builder of constant tensors, built outside
    inference mode (:func:`outside_inference`)."""

    def wrap(build: F) -> F:
        cached = functools.lru_cache(maxsize=maxsize)(outside_inference(build))
        return cached  # type: ignore[return-value]

    return wrap
