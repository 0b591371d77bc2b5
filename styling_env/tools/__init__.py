"""The ten styling tools: vocabularies, recipes over primitive ops, and batched application."""

from .apply import apply_calls, apply_plan, apply_recipe, check_images
from .call import DEFAULT_STRENGTH, LEVELS, REGIONS, ToolCall
from .ops import OPS
from .recipes import ALL_RECIPES, RECIPES, SIGNATURE_ONLY, Step, recipe
from .vocabulary import MAX_VALUES, N_VALUES, TOOL_NAMES, TOOLS, VALUE_PARAMS, check_tool_value

__all__ = [
    "ALL_RECIPES", "DEFAULT_STRENGTH", "LEVELS", "MAX_VALUES", "N_VALUES", "OPS", "RECIPES", "REGIONS",
    "SIGNATURE_ONLY", "Step", "TOOLS", "TOOL_NAMES", "ToolCall", "VALUE_PARAMS", "apply_calls",
    "apply_plan", "apply_recipe", "check_images", "check_tool_value", "recipe",
]  # fmt: skip
