"""ImageStyling: agentic image styling as an RL problem.

Public API (stable names):

- :data:`TOOLS` — tool id -> tuple of value names (DESIGN Appendix A order).
- :class:`ToolCall` — one call: tool, value, strength in [0, 1], region.
- :func:`apply_calls` — apply one call per image to a batch ``(B, 3, H, W)`` on CPU or CUDA.
- :func:`make_images` — procedural scenes with masks, bundled photos, or a user's folder.
"""

from .images import MASK_NAMES, ImageBatch, as_image_batch, make_images
from .tools import REGIONS, TOOLS, ToolCall, apply_calls, apply_plan, apply_recipe

__version__ = "0.1.0"

__all__ = [
    "MASK_NAMES", "REGIONS", "TOOLS", "ImageBatch", "ToolCall", "apply_calls", "apply_plan",
    "apply_recipe", "as_image_batch", "make_images",
]  # fmt: skip
