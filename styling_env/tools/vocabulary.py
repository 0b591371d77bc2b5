"""The ten styling tools and their value vocabularies (the paper's released library).

Order matters: tool index ``i`` and value index ``j`` are the integers of the native action space,
so these tuples are part of the public contract and only ever grow at the end.
"""

from __future__ import annotations

from types import MappingProxyType

_TOOLS: dict[str, tuple[str, ...]] = {
    "location_setting": (
        "urban_city", "suburban_neighborhood", "rural_village", "industrial_zone",
        "commercial_district", "beach_coast", "tropical_island", "ocean_open_water",
        "underwater_reef", "arctic_ice", "forest_temperate", "jungle_tropical", "desert_sand",
        "mountain_rocky", "canyon_valley", "plains_grassland", "swamp_wetland", "cave_underground",
        "volcano_lava", "space_station", "alien_planet", "fantasy_castle", "medieval_town",
        "cyberpunk_city", "post_apocalyptic", "haunted_mansion", "temple_shrine", "palace_interior",
        "office_modern", "bedroom_interior",
    ),
    "architecture_style": (
        "modern_minimalist", "contemporary_glass", "brutalist_concrete", "art_deco_geometric",
        "victorian_ornate", "medieval_stone", "renaissance_classical", "baroque_elaborate",
        "japanese_traditional", "moroccan_islamic", "greek_classical", "roman_imperial",
        "gothic_cathedral", "industrial_warehouse", "steampunk_mechanical", "cyberpunk_neon",
        "futuristic_sleek", "organic_biomorphic", "fantasy_magical", "ruins_ancient",
    ),
    "time_period_era": (
        "prehistoric_stone_age", "ancient_classical", "medieval_dark_ages", "renaissance_1500s",
        "baroque_1700s", "victorian_1800s", "art_nouveau_1900s", "art_deco_1920s",
        "mid_century_1950s", "contemporary_2000s", "near_future_2050", "far_future_2200",
        "cyberpunk_dystopia", "steampunk_alternate", "solarpunk_green_future",
    ),
    "time_of_day": (
        "pre_dawn", "sunrise_golden", "morning_bright", "midday_overhead", "afternoon_warm",
        "golden_hour_sunset", "dusk_twilight", "blue_hour", "night_moonlit", "midnight_dark",
    ),
    "season_cycle": ("spring_blooming", "summer_lush", "autumn_falling", "winter_bare"),
    "weather_conditions": (
        "clear_sunny", "partly_cloudy", "overcast_gray", "light_rain", "heavy_rain",
        "thunderstorm", "light_snow", "heavy_snow_blizzard", "fog_dense", "mist_light",
        "sandstorm", "hail",
    ),
    "mood_lighting": (
        "bright_cheerful", "soft_cozy", "mysterious_shadowy", "dramatic_cinematic", "ominous_dark",
        "romantic_intimate", "energetic_vibrant", "melancholic_somber", "whimsical_playful",
        "nostalgic_sepia", "tense_suspenseful", "serene_calm", "eerie_unsettling", "epic_grand",
        "hopeful_uplifting",
    ),
    "color_grading": (
        "warm_sunset", "cool_blue", "neutral_balanced", "monochrome_bw", "sepia_vintage",
        "pastel_soft", "neon_electric", "earth_natural", "jewel_rich", "desaturated_muted",
        "high_contrast", "low_contrast", "golden_hour", "blue_hour", "orange_teal", "purple_pink",
        "green_nature", "red_dramatic",
    ),
    "artistic_medium": (
        "photorealistic", "hyperrealistic", "film_photography", "oil_painting_thick",
        "oil_painting_smooth", "watercolor_flowing", "watercolor_dry", "acrylic_painting",
        "gouache", "ink_brush", "pen_ink_lines", "pencil_sketch", "charcoal_sketch",
        "pastel_drawing", "digital_painting", "vector_art", "3d_rendered", "low_poly",
        "pixel_art", "anime_cel_shaded", "cartoon_illustrated", "collage_mixed_media",
    ),
    "atmospheric_effects": (
        "dust_particles", "smoke_haze", "fog_volumetric", "mist_ground", "steam_rising",
        "rain_falling", "snow_falling", "leaves_falling", "petals_floating", "ash_embers",
        "sparkles_magical", "glowing_aura", "energy_particles", "light_beams_godrays",
        "lens_flare", "bokeh_lights", "motion_blur", "speed_lines", "lens_distortion",
        "film_grain", "holographic_glitch", "digital_artifacts", "cracks_damage",
        "debris_floating", "bioluminescence",
    ),
}  # fmt: skip

#: Tool id -> its values, in Appendix A order. Read-only.
TOOLS: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(_TOOLS)

#: Tool ids in index order (the native action space's ``tool`` index; index 10 is STOP).
TOOL_NAMES: tuple[str, ...] = tuple(_TOOLS)

#: Name of the value parameter of each tool in the paper's JSON format.
VALUE_PARAMS: MappingProxyType[str, str] = MappingProxyType(
    {
        "location_setting": "target_location",
        "architecture_style": "target_style",
        "time_period_era": "target_era",
        "time_of_day": "target_time",
        "season_cycle": "target_season",
        "weather_conditions": "weather_type",
        "mood_lighting": "target_mood",
        "color_grading": "target_palette",
        "artistic_medium": "target_medium",
        "atmospheric_effects": "effect_type",
    }
)

#: The largest vocabulary (the size of the native ``value`` Discrete).
MAX_VALUES: int = max(len(v) for v in _TOOLS.values())

#: Every (tool, value) pair, tools in order, values in order: the rows of per-value tables.
VALUES: tuple[tuple[str, str], ...] = tuple((t, v) for t, vs in _TOOLS.items() for v in vs)

#: Total number of (tool, value) pairs.
N_VALUES: int = len(VALUES)

_ROW = {tv: i for i, tv in enumerate(VALUES)}


def value_index(tool: str, value: str) -> int:
    """Row of ``(tool, value)`` in :data:`VALUES`."""
    return _ROW[(tool, value)]


def check_tool_value(tool: str, value: str) -> None:
    """Raise ``ValueError`` naming the problem if ``tool``/``value`` is not in the vocabulary."""
    if tool not in _TOOLS:
        raise ValueError(f"unknown tool {tool!r}; expected one of {', '.join(TOOL_NAMES)}")
    if value not in _TOOLS[tool]:
        raise ValueError(
            f"unknown value {value!r} for tool {tool!r}; expected one of {', '.join(_TOOLS[tool])}"
        )


#: The canonical order of a plan: scene content first (place, architecture, era), then season
#: and weather, the light (time of day, mood), the colour grade, overlays, the medium last.
TOOL_ORDER: tuple[str, ...] = (
    "location_setting", "architecture_style", "time_period_era", "season_cycle",
    "weather_conditions", "time_of_day", "mood_lighting", "color_grading",
    "atmospheric_effects", "artistic_medium",
)  # fmt: skip
