"""The styling tools and their value vocabularies: the ten tools of the paper's released library
(:data:`TOOLS`) and the actions its two other libraries add (:data:`NORMAL_ACTIONS`,
:data:`V3_ACTIONS`, :data:`EXTRA_VALUES`).

Order matters: tool index ``i`` and value index ``j`` are the integers of the native action space,
so these tuples are part of the public contract and only ever grow at the end. :data:`TOOLS`,
:data:`TOOL_NAMES`, :data:`VALUES` and :data:`N_VALUES` are the default library's (``"v2"``) and
never change; :data:`ALL_TOOLS` is every tool id a :class:`~styling_env.tools.ToolCall` may name.
``styling_env.libraries`` builds each library's action space from these tables.
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


#: Values the ``v3`` library's coarser base tools ask for that the ten tools' vocabularies do not
#: have (a 1980s look, a bleach bypass, a plain haze, volumetric light). They extend those
#: tools for every library, but the ``v2`` action space does not index them (it stays the
#: paper's 171 values).
EXTRA_VALUES: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(
    {
        "time_period_era": ("retro_1980s",),
        "color_grading": ("bleach_bypass",),
        "atmospheric_effects": ("haze_soft", "volumetric_light"),
    }
)

#: Regions the ``normal`` library's constraints and blends name beyond the masks: halves, the
#: centre and the edges are geometric; indoor / outdoor and foreground / background read masks.
GEOMETRIC_REGIONS: tuple[str, ...] = (
    "left_half", "right_half", "top_half", "bottom_half", "center", "edges",
)  # fmt: skip
_AREAS = ("indoor", "outdoor", "foreground", "background", *GEOMETRIC_REGIONS)
#: The kinds of transformation a ``spatial_constraint`` limits.
TRANSFORMATION_TYPES: tuple[str, ...] = ("weather", "lighting", "color", "fog", "particles", "any")
#: The image predicates a ``conditional_transform`` can test (those of the Complex tier's
#: conditional clauses, ``styling_env.tasks.PREDICATES``).
CONDITION_PREDICATES: tuple[str, ...] = (
    "dark", "bright", "warm", "cool", "colorful", "muted", "has_sky",
)  # fmt: skip
#: Effects and directions of a ``graduated_effect``.
GRADUATED_EFFECTS: tuple[str, ...] = (
    "fog", "lighting", "color", "saturation", "brightness", "blur", "particles",
)  # fmt: skip
GRADIENT_DIRECTIONS: tuple[str, ...] = (
    "top_to_bottom", "bottom_to_top", "left_to_right", "right_to_left", "center_out", "edges_in",
)  # fmt: skip

#: The ``normal`` library's ten actions beyond the ten tools ("3.0-complex"): five constraints,
#: which change how the calls after them apply, and five compositional actions, which relate
#: transformations. Each is one enumerated parameter here; a product of two parameters
#: (``spatial_constraint``: region and kind; ``graduated_effect``: effect and direction;
#: ``conditional_transform``: predicate and whether an else branch follows) is written
#: ``"first/second"``.
NORMAL_ACTIONS: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(
    {
        "preserve_attribute": (
            "lighting", "color", "texture", "objects", "style", "architecture", "mood",
            "weather", "technology",
        ),
        "exclude_region": _AREAS,
        "conditional_transform": tuple(
            f"{p}/{branch}" for p in CONDITION_PREDICATES for branch in ("then", "then_else")
        ),
        "preserve_object_category": (
            "furniture", "electronics", "plants", "people", "animals", "vehicles",
            "decorations", "lighting_fixtures", "artworks", "appliances",
        ),
        "spatial_constraint": tuple(
            f"{a}/{k}"
            for a in ("indoor_only", "outdoor_only", "foreground", "background", *GEOMETRIC_REGIONS)
            for k in TRANSFORMATION_TYPES
        ),
        "sequence_transform": ("order_matters", "any_order"),
        "parallel_transform": ("additive", "multiplicative", "average", "max_effect"),
        "graduated_effect": tuple(f"{e}/{d}" for e in GRADUATED_EFFECTS for d in GRADIENT_DIRECTIONS),
        "layered_transformation": (
            "normal", "multiply", "screen", "overlay", "soft_light", "hard_light", "add",
        ),
        "selective_blend": (
            "everywhere", "architecture_only", "objects_only", "lighting_only", "foreground",
            "background",
        ),
    }
)  # fmt: skip
#: ``normal`` actions that set a rule for the calls after them (the episode's constraint state).
CONSTRAINT_ACTIONS: tuple[str, ...] = (
    "preserve_attribute", "exclude_region", "conditional_transform", "preserve_object_category",
    "spatial_constraint",
)  # fmt: skip
#: ``normal`` actions that relate transformations (``graduated_effect`` renders by itself).
COMPOSITIONAL_ACTIONS: tuple[str, ...] = (
    "sequence_transform", "parallel_transform", "graduated_effect", "layered_transformation",
    "selective_blend",
)  # fmt: skip

#: The ``v3`` library's twenty styling actions beyond the ten tools ("v3.0"): each one's primary
#: parameter's expected values, in the release's order, snake_case.
V3_ACTIONS: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(
    {
        "art_movement": (
            "impressionism", "cubism", "surrealism", "art_deco", "art_nouveau", "pop_art",
            "expressionism", "abstract",
        ),
        "painting_technique": (
            "impasto", "glazing", "pointillism", "stippling", "sgraffito", "scumbling",
            "wet_on_wet",
        ),
        "illustration_style": (
            "comic_book", "manga", "concept_art", "children_book", "editorial", "technical",
            "fantasy",
        ),
        "rendering_style": (
            "photorealistic", "stylized", "cel_shaded", "sketch", "wireframe", "low_poly",
            "painterly",
        ),
        "texture_overlay": (
            "canvas", "paper", "fabric", "wood_grain", "metal", "stone", "concrete", "aged",
        ),
        "filter_effects": (
            "vintage", "cross_process", "lomography", "infrared", "polaroid", "sepia", "cyanotype",
        ),
        "color_palette": (
            "monochrome", "duotone", "complementary", "analogous", "triadic", "pastel", "neon",
            "earth_tones",
        ),
        "color_temperature": ("very_warm", "warm", "neutral", "cool", "very_cool", "icy"),
        "saturation_intensity": ("desaturated", "muted", "natural", "vibrant", "hyper_saturated"),
        "contrast_style": (
            "low_contrast", "normal", "high_contrast", "hdr", "crushed_blacks", "blown_highlights",
        ),
        "tonal_range": ("low_key", "mid_key", "high_key"),
        "lighting_style": (
            "rembrandt", "butterfly", "split", "rim", "loop", "broad", "short", "dramatic",
        ),
        "light_quality": ("hard", "soft", "diffused", "specular", "mixed"),
        "shadow_treatment": ("dramatic", "minimal", "colored", "long", "short", "stylized"),
        "glow_effects": ("neon", "golden_hour", "bioluminescence", "magic", "energy", "soft_glow"),
        "atmospheric_depth": (
            "aerial_perspective", "depth_haze", "layered_atmosphere", "color_fade",
        ),
        "motion_aesthetics": (
            "motion_blur", "freeze_frame", "long_exposure", "speed_lines", "time_slice",
        ),
        "lens_character": (
            "bokeh", "vignette", "lens_flare", "chromatic_aberration", "distortion", "tilt_shift",
        ),
        "grain_noise": ("film_grain", "digital_noise", "halftone", "texture_noise", "organic"),
        "sharpness_softness": (
            "sharp_detail", "soft_focus", "dreamy", "selective_focus", "deep_focus", "shallow",
        ),
    }
)  # fmt: skip

#: Every tool id a call may name and every value it may take: the ten tools (with
#: :data:`EXTRA_VALUES` appended), the ``normal`` actions and the ``v3`` actions.
ALL_TOOLS: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(
    {
        **{t: vs + EXTRA_VALUES.get(t, ()) for t, vs in _TOOLS.items()},
        **NORMAL_ACTIONS,
        **V3_ACTIONS,
    }
)

#: The name of every tool's primary parameter in the paper's JSON (:data:`VALUE_PARAMS` for the
#: ten tools). A ``normal`` value written ``"first/second"`` is two parameters there
#: (``styling_env.libraries`` splits and joins them).
ALL_VALUE_PARAMS: MappingProxyType[str, str] = MappingProxyType(
    {
        **VALUE_PARAMS,
        "preserve_attribute": "attribute_type",
        "exclude_region": "region_type",
        "conditional_transform": "condition",
        "preserve_object_category": "category",
        "spatial_constraint": "apply_to",
        "sequence_transform": "order_matters",
        "parallel_transform": "blend_mode",
        "graduated_effect": "effect_type",
        "layered_transformation": "blend_modes",
        "selective_blend": "blend_regions",
        "art_movement": "movement",
        "painting_technique": "technique",
        "illustration_style": "style",
        "rendering_style": "render_type",
        "texture_overlay": "texture",
        "filter_effects": "filter",
        "color_palette": "palette_type",
        "color_temperature": "temperature",
        "saturation_intensity": "saturation_level",
        "contrast_style": "contrast_type",
        "tonal_range": "key",
        "lighting_style": "technique",
        "light_quality": "quality",
        "shadow_treatment": "shadow_style",
        "glow_effects": "glow_type",
        "atmospheric_depth": "depth_style",
        "motion_aesthetics": "motion_type",
        "lens_character": "lens_effect",
        "grain_noise": "grain_type",
        "sharpness_softness": "focus_style",
    }
)

#: The tools whose calls render by a recipe (everything but the ``normal`` library's constraint
#: and compositional actions other than ``graduated_effect``, which the episode's composer
#: applies: ``styling_env.tools.compose``).
RENDERED_TOOLS: frozenset[str] = frozenset(
    t for t in ALL_TOOLS if t not in NORMAL_ACTIONS or t == "graduated_effect"
)


def check_tool_value(tool: str, value: str) -> None:
    """Raise ``ValueError`` naming the problem if ``tool``/``value`` is not in the vocabulary
    (:data:`ALL_TOOLS`: every library's tools)."""
    if tool not in ALL_TOOLS:
        raise ValueError(f"unknown tool {tool!r}; expected one of {', '.join(ALL_TOOLS)}")
    if value not in ALL_TOOLS[tool]:
        raise ValueError(
            f"unknown value {value!r} for tool {tool!r}; expected one of "
            f"{', '.join(ALL_TOOLS[tool])}"
        )


#: The canonical order of a plan: scene content first (place, architecture, era), then season
#: and weather, the light (time of day, mood), the colour grade, overlays, the medium last.
TOOL_ORDER: tuple[str, ...] = (
    "location_setting", "architecture_style", "time_period_era", "season_cycle",
    "weather_conditions", "time_of_day", "mood_lighting", "color_grading",
    "atmospheric_effects", "artistic_medium",
)  # fmt: skip


#: The canonical order of every rendering tool's calls, all libraries: :data:`TOOL_ORDER` with
#: the new tools where they belong (light after the time of day, colour after the grade,
#: atmosphere with the overlays, looks with the medium, lens and film texture last). The ten
#: tools keep their relative order, so a v2 plan is ordered as before.
CALL_ORDER: tuple[str, ...] = (
    "location_setting", "architecture_style", "time_period_era", "season_cycle",
    "weather_conditions", "time_of_day", "mood_lighting", "lighting_style", "light_quality",
    "shadow_treatment", "glow_effects", "color_grading", "color_palette", "color_temperature",
    "saturation_intensity", "contrast_style", "tonal_range", "filter_effects",
    "atmospheric_effects", "atmospheric_depth", "graduated_effect", "artistic_medium",
    "art_movement", "painting_technique", "illustration_style", "rendering_style",
    "texture_overlay", "motion_aesthetics", "lens_character", "sharpness_softness",
    "grain_noise",
)  # fmt: skip
