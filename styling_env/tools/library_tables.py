"""The three action libraries' tables: which actions each one has, in native ``tool`` index
order, with which values (the part of ``styling_env.libraries`` the action encodings need; it
depends on the vocabulary only, so ``styling_env.actions`` can read it)."""

from __future__ import annotations

import functools
from collections.abc import Mapping

import numpy as np

from .vocabulary import NORMAL_ACTIONS, TOOL_NAMES, TOOLS, V3_ACTIONS

#: The libraries by name, the default first.
LIBRARY_NAMES: tuple[str, ...] = ("v2", "normal", "v3")
DEFAULT_LIBRARY: str = "v2"

_NORMAL_PARAMS: dict[str, tuple[str, str]] = {
    "preserve_attribute": ("attribute_type", ""),
    "exclude_region": ("region_type", ""),
    "conditional_transform": ("condition", "branches"),
    "preserve_object_category": ("category", ""),
    "spatial_constraint": ("apply_to", "transformation_type"),
    "sequence_transform": ("order_matters", ""),
    "parallel_transform": ("blend_mode", ""),
    "graduated_effect": ("effect_type", "gradient_direction"),
    "layered_transformation": ("blend_modes", ""),
    "selective_blend": ("blend_regions", ""),
}


#: The v3 library's base tools: primary parameter, its level parameter, and each coarse word ->
#: the vocabulary value it renders (the ten tools' values, or :data:`EXTRA_VALUES` where none
#: fits: a 1980s look, a bleach bypass, a plain haze, volumetric light).
V3_BASE: Mapping[str, tuple[str, str, Mapping[str, str]]] = {
    "location_setting": ("setting_type", "", {
        "urban": "urban_city", "rural": "rural_village", "coastal": "beach_coast",
        "mountain": "mountain_rocky", "desert": "desert_sand", "forest": "forest_temperate",
        "underwater": "underwater_reef", "space": "space_station",
    }),
    "architecture_style": ("style", "", {
        "gothic": "gothic_cathedral", "modern": "contemporary_glass",
        "victorian": "victorian_ornate", "brutalist": "brutalist_concrete",
        "art_deco": "art_deco_geometric", "minimalist": "modern_minimalist",
    }),
    "time_period_era": ("era", "", {
        "ancient": "ancient_classical", "medieval": "medieval_dark_ages",
        "renaissance": "renaissance_1500s", "victorian": "victorian_1800s",
        "1920s": "art_deco_1920s", "1950s": "mid_century_1950s", "1980s": "retro_1980s",
        "future": "far_future_2200",
    }),
    "time_of_day": ("time", "", {
        "dawn": "sunrise_golden", "morning": "morning_bright", "noon": "midday_overhead",
        "golden_hour": "golden_hour_sunset", "dusk": "dusk_twilight", "night": "night_moonlit",
        "blue_hour": "blue_hour",
    }),
    "season_cycle": ("season", "intensity", {
        "spring": "spring_blooming", "summer": "summer_lush", "autumn": "autumn_falling",
        "winter": "winter_bare",
    }),
    "weather_conditions": ("condition", "intensity", {
        "clear": "clear_sunny", "cloudy": "overcast_gray", "rainy": "light_rain",
        "snowy": "light_snow", "stormy": "thunderstorm", "foggy": "fog_dense",
        "misty": "mist_light",
    }),
    "mood_lighting": ("mood", "", {
        "romantic": "romantic_intimate", "dramatic": "dramatic_cinematic",
        "mysterious": "mysterious_shadowy", "cheerful": "bright_cheerful",
        "ominous": "ominous_dark", "serene": "serene_calm",
    }),
    "color_grading": ("look", "", {
        "teal_orange": "orange_teal", "bleach_bypass": "bleach_bypass", "golden": "golden_hour",
        "cool_blue": "cool_blue", "warm_sepia": "sepia_vintage",
    }),
    "artistic_medium": ("medium", "", {
        "oil_paint": "oil_painting_smooth", "watercolor": "watercolor_flowing",
        "acrylic": "acrylic_painting", "pencil": "pencil_sketch", "charcoal": "charcoal_sketch",
        "ink": "ink_brush", "digital": "digital_painting", "mixed_media": "collage_mixed_media",
    }),
    "atmospheric_effects": ("effect_type", "density", {
        "fog": "fog_volumetric", "mist": "mist_ground", "haze": "haze_soft",
        "smoke": "smoke_haze", "dust": "dust_particles", "volumetric_light": "volumetric_light",
        "god_rays": "light_beams_godrays",
    }),
}  # fmt: skip

#: The v3 styling actions' level parameter (the release's second parameter where it is a level).
V3_LEVELS: Mapping[str, str] = {
    "art_movement": "interpretation",
    "texture_overlay": "blend_intensity",
    "filter_effects": "strength",
    "color_temperature": "intensity",
    "glow_effects": "intensity",
    "atmospheric_depth": "strength",
    "lens_character": "strength",
    "grain_noise": "amount",
}


def check_library(name: object) -> str:
    """``name`` if it names a library, else ``ValueError`` listing them."""
    if not isinstance(name, str) or name not in LIBRARY_NAMES:
        raise ValueError(f"unknown library {name!r}; expected one of {', '.join(LIBRARY_NAMES)}")
    return name


def library_values(name: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``(tool, vocabulary values)`` of each action of library ``name``, in native order."""
    check_library(name)
    base = tuple((t, TOOLS[t]) for t in TOOL_NAMES)
    if name == "v2":
        return base
    if name == "normal":
        return base + tuple(NORMAL_ACTIONS.items())
    v3_base = tuple((t, tuple(V3_BASE[t][2].values())) for t in TOOL_NAMES)
    return v3_base + tuple(V3_ACTIONS.items())


def row_tables(name: str) -> dict[str, np.ndarray]:
    """The library's native tables as int64 arrays: ``vocab`` (values per action),
    ``offsets`` (row of each action's first value), ``tool_of_row``, ``value_of_row``."""
    return _row_tables(check_library(name))


@functools.cache
def _row_tables(name: str) -> dict[str, np.ndarray]:
    vocab = np.array([len(vs) for _, vs in library_values(name)], np.int64)
    offsets = np.concatenate(([0], np.cumsum(vocab[:-1]))).astype(np.int64)
    tool_of_row = np.repeat(np.arange(len(vocab), dtype=np.int64), vocab)
    value_of_row = np.concatenate([np.arange(n, dtype=np.int64) for n in vocab])
    for a in (vocab, offsets, tool_of_row, value_of_row):
        a.setflags(write=False)
    return {
        "vocab": vocab,
        "offsets": offsets,
        "tool_of_row": tool_of_row,
        "value_of_row": value_of_row,
    }
