"""ImageStyling: agentic image styling as an RL problem.

Public API (stable names):

- :data:`TOOLS` — tool id -> tuple of value names (the paper's released order).
- :class:`ToolCall` — one call: tool, value, strength in [0, 1], region.
- :func:`apply_calls` — apply one call per image to a batch ``(B, 3, H, W)`` on CPU or CUDA.
- :func:`make_images` — procedural scenes with masks, bundled photos, or a user's folder.
- ``gym.make("ImageStyling-v0")`` (and ``-Simple``/``-Regular``/``-Complex``), registered here;
  :class:`EnvConfig` (its options), :class:`Task`, :func:`oracle_plan`, :class:`MeasuredJudge`,
  the wrappers :class:`TextToolCalls`, :class:`DiscreteActions`, :class:`EncodeInstruction`.
"""

from . import free_tasks as _free_tasks  # noqa: F401  (registers test_tasks(split="free"))
from .config import EnvConfig
from .images import MASK_NAMES, ImageBatch, as_image_batch, make_images
from .judge import Judge, MeasuredJudge
from .oracle import oracle_plan
from .tasks import Constraint, Target, Task, sample_task, test_tasks, user_task
from .tools import REGIONS, TOOLS, ToolCall, apply_calls, apply_plan, apply_recipe
from .wrappers import DiscreteActions, EncodeInstruction, TextToolCalls

__version__ = "0.1.0"

__all__ = [
    "MASK_NAMES", "REGIONS", "TOOLS", "Constraint", "DiscreteActions", "EncodeInstruction",
    "EnvConfig", "ImageBatch", "Judge", "MeasuredJudge", "Target", "Task", "TextToolCalls", "ToolCall",
    "apply_calls", "apply_plan", "apply_recipe", "as_image_batch", "make_images", "oracle_plan",
    "sample_task", "test_tasks", "user_task",
]  # fmt: skip


def _register() -> None:
    """Register the env ids (guarded: importing twice must not fail)."""
    from gymnasium.envs.registration import register, registry

    ids = {
        "ImageStyling-v0": "simple",
        "ImageStyling-Simple-v0": "simple",
        "ImageStyling-Regular-v0": "regular",
        "ImageStyling-Complex-v0": "complex",
    }
    for env_id, tier in ids.items():
        if env_id not in registry:
            register(
                id=env_id,
                entry_point="styling_env.env:ImageStylingEnv",
                vector_entry_point="styling_env.parallel:make_vector_env",
                kwargs={"tier": tier},
                # gymnasium 1.4's passive checker marks its first reset as checked before it
                # runs: a first reset that raises (a bad task or option) leaves it without the
                # reset's data, and every later step fails inside it (TypeError: cannot unpack
                # NoneType). The env passes gymnasium's full check_env in the tests instead;
                # gym.make(..., disable_env_checker=False) adds the passive checker back.
                disable_env_checker=True,
            )


_register()
