"""Every value of every tool as a recipe: a short sequence of primitive ops (``ops.py``).

Recipes are data: one table, no branch per value. A step's parameters describe the op at full
strength; a call's strength scales every step of its recipe together (``t`` of the ops). Steps
are written with the ``S`` factory of ``steps.py``. :data:`RECIPES` holds the ten tools' values;
:data:`ALL_RECIPES` adds their extra values and the ``v3`` library's twenty tools
(``recipes_v3.py``), and is what :func:`recipe` reads.

Three tools name things pixels cannot truly render on an existing picture: a *place*
(``location_setting``), a *building style* (``architecture_style``) and a *period*
(``time_period_era``). Their recipes are honest photometric signatures — the palette, light,
atmosphere and surface texture such a place, style or era is known for — not new geometry:
``beach_coast`` makes a scene bright, sandy and turquoise, it does not add a beach. The same
holds for a few values of other tools that imply content (``alien_planet``, ``space_station``,
``gothic_cathedral``...). :data:`SIGNATURE_ONLY` lists them all; a generative back end can
replace these recipes.
"""

from __future__ import annotations

import zlib
from types import MappingProxyType

from .recipes_v3 import EXTRA_RECIPES, V3_RECIPES, V3_SIGNATURE_ONLY
from .steps import BLUE, FOLIAGE, GOLD, GREEN, RAIN, RED, SEPIA, SNOW, WHITE, S, Step
from .vocabulary import ALL_TOOLS, RENDERED_TOOLS, TOOLS

_R: dict[str, dict[str, tuple[Step, ...]]] = {}

_R["time_of_day"] = {
    "pre_dawn": (
        S.exposure(ev=-1.7),
        S.white_balance(temp=-0.6, tint=0.25),
        S.saturation(factor=0.5),
        S.gradient(top=(0.1, 0.12, 0.3), bottom=(0.55, 0.42, 0.6), mode="normal", opacity=0.55),
    ),
    "sunrise_golden": (
        S.exposure(ev=-0.3),
        S.white_balance(temp=0.5, tint=-0.3),
        S.gradient(top=(0.6, 0.65, 0.9), bottom=(1.0, 0.62, 0.55), mode="normal", opacity=0.6),
        S.gradient(
            top=(1.0, 0.8, 0.6), bottom=(0.6, 0.55, 0.7), where="ground", angle=70.0, opacity=0.5
        ),
        S.haze(density=0.12, color=(1.0, 0.85, 0.8)),
        S.bloom(threshold=0.6, color=(1.0, 0.75, 0.6)),
    ),
    "morning_bright": (
        S.exposure(ev=0.35),
        S.white_balance(temp=-0.15),
        S.saturation(factor=1.1),
        S.gradient(top=(0.45, 0.66, 0.96), bottom=(0.82, 0.9, 1.0), mode="normal", opacity=0.45),
        S.s_curve(amount=0.3),
    ),
    "midday_overhead": (
        S.exposure(ev=0.55),
        S.s_curve(amount=0.8),
        S.saturation(factor=1.15),
        S.white_balance(temp=-0.05),
        S.clarity(amount=0.4),
        S.gradient(top=(0.2, 0.45, 0.95), bottom=(0.55, 0.75, 1.0), mode="normal", opacity=0.4),
    ),
    "afternoon_warm": (
        S.white_balance(temp=0.35),
        S.saturation(factor=1.1),
        S.exposure(ev=0.1),
        S.gradient(
            top=(1.0, 0.85, 0.6), bottom=(0.7, 0.7, 0.7), where="all", angle=-60.0, opacity=0.45
        ),
    ),
    "golden_hour_sunset": (
        S.exposure(ev=-0.45),
        S.white_balance(temp=0.95),
        S.gradient(top=(0.95, 0.45, 0.3), bottom=(1.0, 0.75, 0.3), mode="normal", opacity=0.5),
        S.split_tone(shadows=(0.5, 0.2, 0.35), highlights=(1.0, 0.65, 0.2), amount=0.7),
        S.saturation(factor=1.1),
        S.bloom(threshold=0.55, color=(1.0, 0.6, 0.2)),
        S.vignette(amount=0.35),
    ),
    "dusk_twilight": (
        S.exposure(ev=-1.2),
        S.white_balance(temp=-0.3, tint=0.2),
        S.saturation(factor=0.8),
        S.gradient(top=(0.18, 0.18, 0.42), bottom=(0.92, 0.5, 0.45), mode="normal", opacity=0.65),
    ),
    "blue_hour": (
        S.exposure(ev=-1.0),
        S.white_balance(temp=-0.95),
        S.tint(color=(0.25, 0.38, 0.8), mode="multiply", opacity=0.35),
        S.gradient(top=(0.08, 0.18, 0.5), bottom=(0.3, 0.48, 0.85), mode="normal", opacity=0.6),
    ),
    "night_moonlit": (
        S.exposure(ev=-2.3),
        S.white_balance(temp=-0.7),
        S.saturation(factor=0.35),
        S.gradient(top=(0.02, 0.04, 0.12), bottom=(0.1, 0.15, 0.3), mode="normal", opacity=0.8),
        S.split_tone(shadows=(0.1, 0.15, 0.35), highlights=(0.75, 0.85, 1.0)),
        S.bloom(threshold=0.5, color=(0.7, 0.8, 1.0), amount=0.5),
    ),
    "midnight_dark": (
        S.exposure(ev=-2.5),
        S.gamma(g=1.3),
        S.saturation(factor=0.2),
        S.white_balance(temp=-0.4),
        S.vignette(amount=0.7),
        S.grain(sigma=0.03),
    ),
}

_R["season_cycle"] = {
    "spring_blooming": (
        S.hue_shift(source=GREEN, target=(0.45, 0.85, 0.3), width=50.0, chroma=1.25, lift=0.06),
        S.exposure(ev=0.2),
        S.tint(color=(1.0, 0.8, 0.9), mode="soft_light", opacity=0.35),
        S.particles(
            count=130, size=0.008, colors=((1.0, 0.72, 0.84), (1.0, 0.95, 0.97)), bottom_bias=1.0
        ),
    ),
    "summer_lush": (
        S.hue_shift(source=(0.45, 0.65, 0.15), target=(0.1, 0.55, 0.15), width=30.0, chroma=1.4),
        S.saturation(factor=1.25),
        S.white_balance(temp=0.15),
        S.clarity(amount=0.3),
        S.s_curve(amount=0.3),
    ),
    "autumn_falling": (
        S.hue_shift(source=GREEN, target=(0.9, 0.45, 0.08), width=35.0, chroma=1.35),
        S.white_balance(temp=0.35),
        S.tint(color=(1.0, 0.7, 0.4), opacity=0.25),
        S.particles(
            count=40,
            size=0.01,
            length=0.012,
            angle=30.0,
            jitter=50.0,
            colors=((0.9, 0.45, 0.1), (0.75, 0.2, 0.08), (0.6, 0.4, 0.15)),
        ),
    ),
    "winter_bare": (
        S.hue_shift(source=GREEN, target=(0.55, 0.5, 0.42), width=40.0, chroma=0.25),
        S.saturation(factor=0.55),
        S.white_balance(temp=-0.5),
        S.exposure(ev=0.15),
        S.haze(density=0.6, color=SNOW, falloff="ground"),
        S.haze(density=0.12, color=SNOW),
    ),
}

_R["weather_conditions"] = {
    "clear_sunny": (
        S.exposure(ev=0.25),
        S.saturation(factor=1.2),
        S.white_balance(temp=0.1),
        S.s_curve(amount=0.3),
        S.gradient(top=(0.2, 0.48, 0.95), bottom=(0.6, 0.8, 1.0), mode="normal", opacity=0.55),
    ),
    "partly_cloudy": (
        S.clouds(cover=0.5),
        S.exposure(ev=-0.1),
        S.saturation(factor=0.95),
        S.gradient(top=(0.35, 0.55, 0.9), bottom=(0.7, 0.8, 0.95), mode="soft_light", opacity=0.5),
    ),
    "overcast_gray": (
        S.clouds(cover=1.0, color=(0.72, 0.74, 0.77), softness=0.6),
        S.saturation(factor=0.55),
        S.exposure(ev=-0.4),
        S.contrast(amount=-0.35),
        S.white_balance(temp=-0.15),
    ),
    "light_rain": (
        S.clouds(cover=0.95, color=(0.6, 0.62, 0.66), softness=0.5),
        S.exposure(ev=-0.5),
        S.saturation(factor=0.75),
        S.white_balance(temp=-0.2),
        S.haze(density=0.12, color=(0.7, 0.72, 0.76)),
        S.particles(count=160, length=0.06, opacity=0.4, **RAIN),
    ),
    "heavy_rain": (
        S.clouds(cover=1.0, color=(0.42, 0.44, 0.48), softness=0.5),
        S.exposure(ev=-0.9),
        S.saturation(factor=0.5),
        S.haze(density=0.3, color=(0.55, 0.58, 0.62), soften=0.006),
        S.particles(count=520, length=0.12, opacity=0.5, **RAIN),
    ),
    "thunderstorm": (
        S.clouds(cover=1.0, color=(0.22, 0.22, 0.3), softness=0.4),
        S.exposure(ev=-1.3),
        S.white_balance(temp=-0.4, tint=0.15),
        S.saturation(factor=0.5),
        S.contrast(amount=0.2),
        S.particles(count=380, length=0.1, opacity=0.4, **RAIN),
        S.bolt(flash=0.12),
    ),
    "light_snow": (
        S.exposure(ev=0.1),
        S.white_balance(temp=-0.3),
        S.saturation(factor=0.7),
        S.haze(density=0.12, color=SNOW),
        S.particles(count=120, size=0.006, colors=(SNOW,), jitter=10.0, opacity=0.9),
    ),
    "heavy_snow_blizzard": (
        S.saturation(factor=0.4),
        S.contrast(amount=-0.4),
        S.white_balance(temp=-0.35),
        S.haze(density=0.5, color=(0.88, 0.9, 0.94), soften=0.008),
        S.particles(count=600, size=0.006, length=0.03, angle=55.0, jitter=10.0, colors=(SNOW,)),
        S.particles(count=40, size=0.014, length=0.04, angle=55.0, colors=(SNOW,), seed=3),
    ),
    "fog_dense": (
        S.haze(density=0.78, color=(0.8, 0.81, 0.83), falloff="sky", soften=0.015),
        S.saturation(factor=0.5),
        S.contrast(amount=-0.3),
    ),
    "mist_light": (
        S.haze(density=0.45, color=(0.9, 0.92, 0.95), falloff="ground"),
        S.haze(density=0.15, color=(0.9, 0.92, 0.95)),
        S.contrast(amount=-0.15),
        S.bloom(threshold=0.7, amount=0.4),
    ),
    "sandstorm": (
        S.haze(density=0.7, color=(0.8, 0.6, 0.35), falloff="patchy", soften=0.01),
        S.white_balance(temp=0.7),
        S.saturation(factor=0.7),
        S.particles(
            count=400, size=0.003, length=0.03, angle=78.0, jitter=6.0, colors=((0.7, 0.52, 0.3),)
        ),
    ),
    "hail": (
        S.clouds(cover=1.0, color=(0.45, 0.47, 0.52), softness=0.5),
        S.exposure(ev=-0.6),
        S.saturation(factor=0.6),
        S.white_balance(temp=-0.2),
        S.particles(
            count=170, size=0.011, length=0.02, angle=5.0, colors=((0.92, 0.95, 1.0),), opacity=0.95
        ),
    ),
}

_R["mood_lighting"] = {
    "bright_cheerful": (
        S.exposure(ev=0.5),
        S.saturation(factor=1.35),
        S.white_balance(temp=0.15),
        S.gamma(g=0.85),
        S.s_curve(amount=0.2),
    ),
    "soft_cozy": (
        S.white_balance(temp=0.55),
        S.clarity(amount=-0.6, sigma=0.01),
        S.levels(black=0.06),
        S.bloom(threshold=0.55, color=(1.0, 0.7, 0.4), amount=0.6),
        S.vignette(amount=0.3),
        S.saturation(factor=0.9),
        S.exposure(ev=-0.1),
    ),
    "mysterious_shadowy": (
        S.exposure(ev=-1.0),
        S.gamma(g=1.6),
        S.white_balance(temp=-0.3, tint=0.2),
        S.vignette(amount=0.85),
        S.haze(density=0.2, color=(0.1, 0.12, 0.2), falloff="patchy"),
        S.saturation(factor=0.6),
    ),
    "dramatic_cinematic": (
        S.s_curve(amount=0.9),
        S.clarity(amount=0.8, sigma=0.03),
        S.exposure(ev=-0.3),
        S.split_tone(shadows=(0.0, 0.45, 0.5), highlights=(1.0, 0.6, 0.3), amount=0.7),
        S.vignette(amount=0.6),
    ),
    "ominous_dark": (
        S.exposure(ev=-1.6),
        S.saturation(factor=0.4),
        S.white_balance(temp=-0.1, tint=-0.3),
        S.gradient(top=(0.15, 0.1, 0.1), bottom=(0.3, 0.25, 0.2), mode="normal", opacity=0.6),
        S.vignette(amount=0.7),
        S.contrast(amount=0.3),
    ),
    "romantic_intimate": (
        S.white_balance(temp=0.4, tint=-0.35),
        S.tint(color=(1.0, 0.6, 0.7), opacity=0.5),
        S.soften(sigma=0.006),
        S.bloom(threshold=0.5, color=(1.0, 0.6, 0.7)),
        S.vignette(amount=0.45),
        S.exposure(ev=-0.2),
    ),
    "energetic_vibrant": (
        S.saturation(factor=1.8),
        S.clarity(amount=0.6),
        S.s_curve(amount=0.5),
        S.exposure(ev=0.2),
    ),
    "melancholic_somber": (
        S.saturation(factor=0.35),
        S.white_balance(temp=-0.4),
        S.exposure(ev=-0.5),
        S.contrast(amount=-0.25),
        S.levels(black=0.05),
    ),
    "whimsical_playful": (
        S.saturation(factor=1.5),
        S.tint(color=(0.9, 0.7, 1.0), opacity=0.4),
        S.exposure(ev=0.3),
        S.gamma(g=0.85),
        S.particles(
            count=45,
            size=0.004,
            star=True,
            mode="add",
            colors=((1.0, 0.6, 0.85), (1.0, 0.95, 0.5), (0.5, 0.95, 1.0)),
        ),
    ),
    "nostalgic_sepia": (
        S.gradient_map(stops=SEPIA),
        S.levels(black=0.1, white=0.93),
        S.soften(sigma=0.004),
        S.vignette(amount=0.5, color=(0.25, 0.15, 0.05)),
        S.grain(sigma=0.04),
    ),
    "tense_suspenseful": (
        S.contrast(amount=0.5),
        S.white_balance(temp=-0.15, tint=-0.45),
        S.saturation(factor=0.6),
        S.vignette(amount=0.85, radius=0.5),
        S.clarity(amount=0.6),
        S.exposure(ev=-0.5),
    ),
    "serene_calm": (
        S.contrast(amount=-0.3),
        S.saturation(factor=0.85),
        S.white_balance(temp=-0.15),
        S.tint(color=(0.75, 0.85, 0.95), opacity=0.45),
        S.soften(sigma=0.004),
        S.exposure(ev=0.15),
    ),
    "eerie_unsettling": (
        S.tint(color=(0.55, 0.78, 0.6), mode="color", opacity=0.45),
        S.saturation(factor=0.5),
        S.haze(density=0.25, color=(0.5, 0.6, 0.55), falloff="patchy"),
        S.vignette(amount=0.6),
        S.chromatic_aberration(shift=0.006),
        S.exposure(ev=-0.6),
    ),
    "epic_grand": (
        S.clarity(amount=1.0, sigma=0.04),
        S.s_curve(amount=0.6),
        S.saturation(factor=1.2),
        S.gradient(top=(0.15, 0.2, 0.4), bottom=(1.0, 0.75, 0.4), mode="soft_light", opacity=0.8),
        S.rays(origin=(0.7, -0.2), color=(1.0, 0.9, 0.7), opacity=0.55),
        S.vignette(amount=0.4),
    ),
    "hopeful_uplifting": (
        S.exposure(ev=0.4),
        S.white_balance(temp=0.3),
        S.gamma(g=0.9),
        S.saturation(factor=1.1),
        S.rays(origin=(0.3, -0.25), color=(1.0, 0.95, 0.75), opacity=0.45, beams=9),
        S.bloom(threshold=0.6),
    ),
}

_R["color_grading"] = {
    "warm_sunset": (
        S.white_balance(temp=0.6),
        S.saturation(factor=1.1),
        S.split_tone(shadows=(0.6, 0.25, 0.4), highlights=(1.0, 0.6, 0.3), amount=0.6),
    ),
    "cool_blue": (
        S.white_balance(temp=-0.7),
        S.saturation(factor=0.9),
        S.split_tone(shadows=(0.15, 0.3, 0.6), highlights=(0.7, 0.85, 1.0), amount=0.6),
    ),
    "neutral_balanced": (S.auto_balance(), S.s_curve(amount=0.15)),
    "monochrome_bw": (
        S.gradient_map(stops=((0.0, 0.0, 0.0), (1.0, 1.0, 1.0))),
        S.s_curve(amount=0.35),
    ),
    "sepia_vintage": (S.gradient_map(stops=SEPIA), S.levels(black=0.04)),
    "pastel_soft": (
        S.levels(black=0.28, white=0.98),
        S.saturation(factor=0.7),
        S.gamma(g=0.8),
        S.tint(color=(1.0, 0.85, 0.95), opacity=0.3),
    ),
    "neon_electric": (
        S.saturation(factor=1.6),
        S.exposure(ev=-0.3),
        S.s_curve(amount=0.5),
        S.split_tone(shadows=(0.75, 0.05, 0.9), highlights=(0.05, 1.0, 1.0), amount=0.75),
        S.bloom(threshold=0.5, color=(1.0, 0.4, 1.0)),
    ),
    "earth_natural": (
        S.tint(color=(0.6, 0.5, 0.33), mode="color", opacity=0.35),
        S.saturation(factor=0.8),
        S.white_balance(temp=0.25),
    ),
    "jewel_rich": (
        S.saturation(factor=1.6),
        S.gamma(g=1.3),
        S.s_curve(amount=0.3),
        S.hue_shift(source=GREEN, target=(0.0, 0.6, 0.4), chroma=1.3),
        S.hue_shift(source=BLUE, target=(0.2, 0.15, 0.8), chroma=1.3),
    ),
    "desaturated_muted": (S.saturation(factor=0.4), S.contrast(amount=-0.15), S.levels(black=0.04)),
    "high_contrast": (S.s_curve(amount=1.0), S.contrast(amount=0.5), S.clarity(amount=0.3)),
    "low_contrast": (S.contrast(amount=-0.55), S.levels(black=0.08, white=0.92)),
    "golden_hour": (
        S.white_balance(temp=0.6, tint=-0.1),
        S.tint(color=(1.0, 0.75, 0.3), opacity=0.6),
        S.bloom(threshold=0.6, color=GOLD),
        S.saturation(factor=1.15),
    ),
    "blue_hour": (
        S.white_balance(temp=-0.6),
        S.tint(color=(0.25, 0.35, 0.75), mode="multiply", opacity=0.3),
        S.exposure(ev=-0.4),
        S.split_tone(shadows=(0.1, 0.2, 0.6), highlights=(1.0, 0.85, 0.6), amount=0.5),
    ),
    "orange_teal": (
        S.split_tone(shadows=(0.0, 0.5, 0.55), highlights=(1.0, 0.6, 0.3), amount=1.2),
        S.saturation(factor=1.1),
    ),
    "purple_pink": (
        S.split_tone(shadows=(0.45, 0.15, 0.6), highlights=(1.0, 0.6, 0.8), amount=0.6),
        S.tint(color=(0.8, 0.4, 0.9), opacity=0.25),
    ),
    "green_nature": (
        S.hue_shift(source=(0.6, 0.7, 0.2), target=(0.3, 0.7, 0.2), width=30.0, chroma=1.2),
        S.tint(color=(0.4, 0.7, 0.35), mode="color", opacity=0.15),
        S.split_tone(shadows=(0.1, 0.4, 0.2), highlights=(0.9, 1.0, 0.7), amount=0.45),
    ),
    "red_dramatic": (
        S.split_tone(shadows=(0.4, 0.0, 0.05), highlights=(1.0, 0.5, 0.4), amount=0.5),
        S.saturation(factor=0.75),
        S.hue_shift(source=RED, target=(0.85, 0.05, 0.1), chroma=1.6),
        S.s_curve(amount=0.6),
        S.vignette(amount=0.45, color=(0.2, 0.0, 0.0)),
    ),
}

_R["artistic_medium"] = {
    "photorealistic": (
        S.soften(sigma=0.003),
        S.clarity(amount=0.35, sigma=0.01),
        S.s_curve(amount=0.15),
        S.vignette(amount=0.2),
        S.grain(sigma=0.015),
    ),
    "hyperrealistic": (
        S.clarity(amount=1.2, sigma=0.015),
        S.clarity(amount=0.6, sigma=0.05),
        S.saturation(factor=1.25),
        S.s_curve(amount=0.3),
    ),
    "film_photography": (
        S.grain(sigma=0.07, scale=1.5),
        S.levels(black=0.05, white=0.96),
        S.s_curve(amount=0.2),
        S.split_tone(shadows=(0.1, 0.4, 0.35), highlights=(1.0, 0.85, 0.6), amount=0.5),
        S.vignette(amount=0.35),
        S.chromatic_aberration(shift=0.003),
        S.saturation(factor=0.9),
    ),
    "oil_painting_thick": (
        S.kuwahara(radius=0.04),
        S.saturation(factor=1.25),
        S.emboss(amount=0.6, sigma=0.01),
        S.texture(kind="canvas", amount=0.2),
    ),
    "oil_painting_smooth": (
        S.kuwahara(radius=0.025),
        S.soften(sigma=0.004),
        S.saturation(factor=1.15),
        S.tint(color=(1.0, 0.85, 0.6), opacity=0.25),
        S.texture(kind="canvas", amount=0.12),
    ),
    "watercolor_flowing": (
        S.warp(kind="noise", amount=0.6, frequency=5.0),
        S.soften(sigma=0.008),
        S.levels(black=0.14),
        S.saturation(factor=0.85),
        S.ink(amount=0.35, threshold=0.05, color=(0.3, 0.3, 0.4)),
        S.texture(kind="paper", amount=0.35),
    ),
    "watercolor_dry": (
        S.kuwahara(radius=0.015),
        S.levels(black=0.2),
        S.saturation(factor=0.75),
        S.texture(kind="rough", amount=0.45),
        S.texture(kind="paper", amount=0.3),
    ),
    "acrylic_painting": (
        S.kuwahara(radius=0.02),
        S.posterize(levels=8),
        S.saturation(factor=1.35),
        S.clarity(amount=0.4),
        S.texture(kind="canvas", amount=0.15),
    ),
    "gouache": (
        S.kuwahara(radius=0.025),
        S.posterize(levels=6),
        S.levels(black=0.08),
        S.saturation(factor=1.1),
        S.contrast(amount=-0.1),
        S.texture(kind="paper", amount=0.2),
    ),
    "ink_brush": (
        S.kuwahara(radius=0.012),
        S.gradient_map(stops=((0.05, 0.05, 0.06), (0.96, 0.94, 0.88))),
        S.s_curve(amount=0.8),
        S.soften(sigma=0.006),
        S.ink(amount=0.9, threshold=0.06),
        S.texture(kind="paper", amount=0.3),
    ),
    "pen_ink_lines": (
        S.hatching(
            spacing=0.02,
            cross=False,
            softness=0.15,
            density=0.6,
            paper=(1.0, 1.0, 0.98),
            lead=(0.02, 0.02, 0.05),
        ),
    ),
    "pencil_sketch": (
        S.hatching(spacing=0.025, softness=0.6, lead=(0.35, 0.35, 0.38)),
        S.texture(kind="paper", amount=0.2),
    ),
    "charcoal_sketch": (
        S.hatching(
            spacing=0.04,
            angle=60.0,
            softness=0.9,
            density=0.85,
            lead=(0.08, 0.08, 0.08),
            paper=(0.9, 0.89, 0.86),
        ),
        S.soften(sigma=0.004),
        S.texture(kind="rough", amount=0.5),
        S.s_curve(amount=0.5),
    ),
    "pastel_drawing": (
        S.kuwahara(radius=0.012),
        S.levels(black=0.22),
        S.saturation(factor=0.9),
        S.texture(kind="rough", amount=0.55, scale=0.7),
        S.texture(kind="paper", amount=0.2),
    ),
    "digital_painting": (
        S.kuwahara(radius=0.02),
        S.clarity(amount=0.5),
        S.saturation(factor=1.2),
        S.bloom(threshold=0.65, amount=0.4),
    ),
    "vector_art": (
        S.kuwahara(radius=0.03),
        S.cel(levels=5),
        S.posterize(levels=8),
        S.saturation(factor=1.3),
        S.ink(amount=0.7, threshold=0.08),
    ),
    "3d_rendered": (
        S.soften(sigma=0.006),
        S.clarity(amount=0.4, sigma=0.05),
        S.bloom(threshold=0.6, amount=0.5),
        S.s_curve(amount=0.3),
        S.saturation(factor=1.1),
        S.vignette(amount=0.2),
        S.ink(amount=0.25, width=0.01, threshold=0.03),
    ),
    "low_poly": (S.mosaic(cells=12.0, kind="triangle"), S.saturation(factor=1.1)),
    "pixel_art": (S.mosaic(cells=32.0), S.posterize(levels=6), S.saturation(factor=1.3)),
    "anime_cel_shaded": (
        S.kuwahara(radius=0.02),
        S.cel(levels=4),
        S.saturation(factor=1.4),
        S.gamma(g=0.9),
        S.ink(amount=0.9, threshold=0.05),
    ),
    "cartoon_illustrated": (
        S.kuwahara(radius=0.03),
        S.cel(levels=4),
        S.posterize(levels=8),
        S.saturation(factor=1.5),
        S.exposure(ev=0.1),
        S.ink(amount=1.0, threshold=0.05, width=0.01),
    ),
    "collage_mixed_media": (
        S.mosaic(cells=6.0, kind="voronoi", jitter=0.45),
        S.posterize(levels=8),
        S.texture(kind="paper", amount=0.4),
        S.ink(amount=0.5, threshold=0.1),
    ),
}

_R["atmospheric_effects"] = {
    "dust_particles": (
        S.haze(density=0.1, color=(0.85, 0.75, 0.6)),
        S.particles(count=260, size=0.003, colors=((0.95, 0.88, 0.7),), opacity=0.6, mode="screen"),
    ),
    "smoke_haze": (
        S.haze(density=0.55, color=(0.45, 0.43, 0.42), falloff="patchy", soften=0.01),
        S.saturation(factor=0.8),
    ),
    "fog_volumetric": (
        S.haze(density=0.5, color=(0.85, 0.87, 0.9), falloff="patchy"),
        S.rays(origin=(0.8, -0.1), color=(0.95, 0.95, 0.9), opacity=0.5, width=0.1),
    ),
    "mist_ground": (S.haze(density=0.85, color=(0.9, 0.92, 0.95), falloff="ground"),),
    "steam_rising": (
        S.warp(kind="wave", amount=0.8, frequency=8.0),
        S.haze(density=0.6, color=(0.95, 0.95, 0.95), falloff="top"),
    ),
    "rain_falling": (S.particles(count=400, length=0.1, opacity=0.55, **RAIN), S.exposure(ev=-0.2)),
    "snow_falling": (
        S.particles(count=300, size=0.006, colors=(SNOW,), jitter=10.0),
        S.particles(count=40, size=0.016, colors=(SNOW,), opacity=0.9, seed=5),
    ),
    "leaves_falling": (
        S.particles(
            count=80,
            size=0.015,
            length=0.015,
            angle=40.0,
            jitter=60.0,
            colors=((0.9, 0.5, 0.1), (0.75, 0.2, 0.08), (0.85, 0.7, 0.2), (0.35, 0.55, 0.15)),
        ),
    ),
    "petals_floating": (
        S.particles(
            count=90,
            size=0.012,
            length=0.01,
            angle=70.0,
            jitter=50.0,
            colors=((1.0, 0.62, 0.78), (1.0, 0.88, 0.92)),
        ),
    ),
    "ash_embers": (
        S.exposure(ev=-0.3),
        S.haze(density=0.2, color=(0.3, 0.2, 0.15)),
        S.particles(
            count=140,
            size=0.004,
            colors=((1.0, 0.55, 0.1), (1.0, 0.8, 0.3)),
            mode="add",
            bottom_bias=-1.0,
        ),
        S.particles(count=120, size=0.003, colors=((0.4, 0.4, 0.4),), opacity=0.7, seed=9),
    ),
    "sparkles_magical": (
        S.particles(count=60, size=0.003, star=True, colors=((1.0, 0.9, 0.5), WHITE), mode="add"),
        S.bloom(threshold=0.7, color=GOLD),
    ),
    "glowing_aura": (
        S.glow_edges(color=(1.0, 0.9, 0.5), amount=1.0),
        S.bloom(threshold=0.6, amount=0.5),
    ),
    "energy_particles": (
        S.particles(
            count=90,
            size=0.003,
            length=0.05,
            angle=-30.0,
            jitter=40.0,
            colors=((0.3, 0.9, 1.0), (0.7, 0.4, 1.0)),
            mode="add",
        ),
        S.glow_edges(color=(0.3, 0.8, 1.0), amount=0.35),
    ),
    "light_beams_godrays": (
        S.rays(origin=(0.75, -0.15), color=(1.0, 0.95, 0.8), opacity=0.65, beams=6, width=0.06),
        S.haze(density=0.08, color=(1.0, 0.95, 0.85)),
    ),
    "lens_flare": (S.flare(center=(0.78, 0.2), color=(1.0, 0.85, 0.6), amount=1.0),),
    "bokeh_lights": (
        S.bokeh(
            count=25,
            size=0.03,
            colors=((1.0, 0.8, 0.4), (1.0, 0.5, 0.4), (0.6, 0.8, 1.0)),
            opacity=0.55,
        ),
    ),
    "motion_blur": (S.motion_blur(length=0.08, angle=0.0),),
    "speed_lines": (
        S.rays(
            origin=(0.5, 0.5),
            color=WHITE,
            opacity=0.9,
            beams=60,
            width=0.008,
            fade=-2.5,
            mode="normal",
        ),
    ),
    "lens_distortion": (
        S.warp(kind="barrel", amount=0.6),
        S.vignette(amount=0.3),
        S.chromatic_aberration(shift=0.004),
    ),
    "film_grain": (S.grain(sigma=0.08, scale=1.3),),
    "holographic_glitch": (
        S.iridescence(amount=0.5),
        S.scanlines(period=3.0, darkness=0.35),
        S.chromatic_aberration(shift=0.012),
        S.warp(kind="shear", amount=0.15),
    ),
    "digital_artifacts": (
        S.block_artifacts(),
        S.posterize(levels=6),
        S.warp(kind="shear", amount=0.1),
    ),
    "cracks_damage": (
        S.texture(kind="crackle", amount=1.0),
        S.texture(kind="stone", amount=0.2),
        S.saturation(factor=0.8),
    ),
    "debris_floating": (
        S.haze(density=0.12, color=(0.6, 0.52, 0.42)),
        S.particles(
            count=60,
            size=0.007,
            length=0.006,
            jitter=90.0,
            colors=((0.25, 0.2, 0.15), (0.4, 0.38, 0.35)),
            opacity=0.95,
        ),
    ),
    "bioluminescence": (
        S.exposure(ev=-1.5),
        S.white_balance(temp=-0.6),
        S.glow_edges(color=(0.2, 1.0, 0.8), amount=0.9),
        S.particles(count=80, size=0.004, colors=((0.3, 1.0, 0.85),), mode="add"),
    ),
}

_R["location_setting"] = {
    "urban_city": (
        S.saturation(factor=0.75),
        S.white_balance(temp=-0.2),
        S.clarity(amount=0.4),
        S.contrast(amount=0.2),
        S.tint(color=(0.55, 0.6, 0.68), mode="color", opacity=0.25),
    ),
    "suburban_neighborhood": (
        S.white_balance(temp=0.15),
        S.saturation(factor=1.1),
        S.hue_shift(source=FOLIAGE, width=30.0, target=(0.3, 0.7, 0.2), chroma=1.2),
        S.gradient(top=(0.35, 0.6, 0.95), bottom=(0.75, 0.85, 1.0), opacity=0.5),
    ),
    "rural_village": (
        S.white_balance(temp=0.3),
        S.tint(color=(0.7, 0.6, 0.4), mode="color", opacity=0.25),
        S.saturation(factor=0.9),
        S.haze(density=0.08, color=(0.95, 0.9, 0.8)),
    ),
    "industrial_zone": (
        S.saturation(factor=0.5),
        S.tint(color=(0.55, 0.5, 0.4), mode="color", opacity=0.3),
        S.haze(density=0.25, color=(0.5, 0.5, 0.48), falloff="sky"),
        S.contrast(amount=0.2),
        S.texture(kind="rough", amount=0.15),
    ),
    "commercial_district": (
        S.saturation(factor=1.2),
        S.clarity(amount=0.3),
        S.white_balance(temp=-0.1),
        S.bloom(threshold=0.6, amount=0.35),
    ),
    "beach_coast": (
        S.white_balance(temp=0.2),
        S.exposure(ev=0.4),
        S.hue_shift(source=BLUE, target=(0.1, 0.75, 0.8), chroma=1.2),
        S.gradient(top=(0.3, 0.7, 0.95), bottom=(0.75, 0.92, 1.0), mode="normal", opacity=0.45),
        S.gradient(top=(0.95, 0.88, 0.7), bottom=(0.93, 0.83, 0.62), where="ground", opacity=0.5),
    ),
    "tropical_island": (
        S.saturation(factor=1.4),
        S.hue_shift(source=FOLIAGE, width=30.0, target=(0.1, 0.8, 0.2), chroma=1.3),
        S.hue_shift(source=BLUE, target=(0.05, 0.8, 0.8), chroma=1.3),
        S.exposure(ev=0.3),
        S.white_balance(temp=0.2),
    ),
    "ocean_open_water": (
        S.gradient(
            top=(0.1, 0.4, 0.65), bottom=(0.03, 0.2, 0.4), where="ground", mode="color", opacity=0.7
        ),
        S.gradient(top=(0.45, 0.7, 0.95), bottom=(0.8, 0.9, 1.0), mode="normal", opacity=0.5),
        S.saturation(factor=1.1),
    ),
    "underwater_reef": (
        S.channel_mix(matrix=((0.35, 0.1, 0.0), (0.1, 0.9, 0.1), (0.1, 0.25, 1.0))),
        S.haze(density=0.35, color=(0.0, 0.45, 0.55)),
        S.rays(origin=(0.5, -0.4), color=(0.6, 1.0, 0.95), opacity=0.4, beams=10, width=0.05),
        S.particles(
            count=40, size=0.004, colors=((0.85, 1.0, 1.0),), opacity=0.5, bottom_bias=-0.5
        ),
    ),
    "arctic_ice": (
        S.white_balance(temp=-0.6),
        S.exposure(ev=0.5),
        S.saturation(factor=0.5),
        S.tint(color=(0.8, 0.92, 1.0), opacity=0.5),
        S.haze(density=0.4, color=(0.93, 0.97, 1.0), falloff="ground"),
    ),
    "forest_temperate": (
        S.tint(color=(0.3, 0.55, 0.25), opacity=0.4),
        S.hue_shift(source=FOLIAGE, width=30.0, target=GREEN, chroma=1.2),
        S.exposure(ev=-0.3),
        S.vignette(amount=0.35, color=(0.05, 0.15, 0.05)),
        S.rays(origin=(0.6, -0.2), color=(1.0, 1.0, 0.8), opacity=0.3),
    ),
    "jungle_tropical": (
        S.saturation(factor=1.5),
        S.tint(color=(0.1, 0.5, 0.15), opacity=0.5),
        S.haze(density=0.15, color=(0.7, 0.8, 0.7)),
        S.exposure(ev=-0.2),
    ),
    "desert_sand": (
        S.white_balance(temp=0.7),
        S.tint(color=(0.95, 0.75, 0.45), opacity=0.5),
        S.hue_shift(source=GREEN, target=(0.8, 0.65, 0.4), chroma=0.6, width=40.0),
        S.exposure(ev=0.3),
        S.haze(density=0.1, color=(1.0, 0.9, 0.7)),
    ),
    "mountain_rocky": (
        S.saturation(factor=0.7),
        S.tint(color=(0.6, 0.6, 0.62), mode="color", opacity=0.3),
        S.clarity(amount=0.7, sigma=0.03),
        S.texture(kind="stone", amount=0.25),
        S.gradient(top=(0.2, 0.45, 0.85), bottom=(0.6, 0.75, 0.95), opacity=0.5),
    ),
    "canyon_valley": (
        S.gradient(
            top=(0.9, 0.5, 0.3), bottom=(0.75, 0.38, 0.2), where="ground", mode="color", opacity=0.5
        ),
        S.white_balance(temp=0.5),
        S.clarity(amount=0.4),
        S.s_curve(amount=0.3),
    ),
    "plains_grassland": (
        S.hue_shift(source=GREEN, target=(0.7, 0.7, 0.3), chroma=1.1),
        S.white_balance(temp=0.2),
        S.gradient(top=(0.3, 0.55, 0.95), bottom=(0.7, 0.85, 1.0), opacity=0.5),
        S.saturation(factor=1.1),
    ),
    "swamp_wetland": (
        S.tint(color=(0.4, 0.45, 0.25), mode="color", opacity=0.4),
        S.haze(density=0.4, color=(0.6, 0.65, 0.55), falloff="ground"),
        S.exposure(ev=-0.4),
        S.saturation(factor=0.7),
    ),
    "cave_underground": (
        S.exposure(ev=-1.5),
        S.spotlight(center=(0.5, 0.45), radius=0.45, dark=0.85, color=(1.0, 0.85, 0.6)),
        S.white_balance(temp=0.3),
        S.texture(kind="stone", amount=0.35),
        S.vignette(amount=0.8),
    ),
    "volcano_lava": (
        S.exposure(ev=-0.5),
        S.tint(color=(1.0, 0.3, 0.05), opacity=0.55),
        S.gradient(top=(0.2, 0.08, 0.06), bottom=(0.6, 0.2, 0.1), mode="normal", opacity=0.7),
        S.particles(count=100, size=0.004, colors=((1.0, 0.5, 0.1),), mode="add", bottom_bias=-1.0),
        S.bloom(threshold=0.5, color=(1.0, 0.4, 0.1)),
    ),
    "space_station": (
        S.white_balance(temp=-0.5),
        S.saturation(factor=0.6),
        S.tint(color=(0.7, 0.8, 0.9), mode="color", opacity=0.3),
        S.gradient(top=(0.01, 0.01, 0.04), bottom=(0.03, 0.03, 0.08), mode="normal", opacity=0.9),
        S.particles(count=50, size=0.0025, colors=(WHITE,), mode="add"),
        S.clarity(amount=0.3),
    ),
    "alien_planet": (
        S.hue_shift(source=(0.5, 0.5, 0.1), target=(0.5, 0.1, 0.5), width=180.0, chroma=1.3),
        S.gradient(top=(0.9, 0.45, 0.3), bottom=(0.55, 0.9, 0.7), mode="normal", opacity=0.5),
        S.saturation(factor=1.3),
    ),
    "fantasy_castle": (
        S.tint(color=(0.8, 0.7, 1.0), opacity=0.4),
        S.bloom(threshold=0.55, color=(1.0, 0.85, 0.7)),
        S.saturation(factor=1.2),
        S.particles(count=35, size=0.003, star=True, colors=(GOLD,), mode="add"),
        S.rays(origin=(0.3, -0.2), color=(1.0, 0.9, 0.8), opacity=0.35),
    ),
    "medieval_town": (
        S.tint(color=(0.7, 0.55, 0.35), mode="color", opacity=0.35),
        S.texture(kind="stone", amount=0.2),
        S.saturation(factor=0.8),
        S.white_balance(temp=0.3),
    ),
    "cyberpunk_city": (
        S.exposure(ev=-1.2),
        S.split_tone(shadows=(0.15, 0.0, 0.4), highlights=(1.0, 0.2, 0.8), amount=1.2),
        S.saturation(factor=1.6),
        S.glow_edges(color=(0.1, 0.9, 1.0), amount=0.5),
        S.bloom(threshold=0.4, color=(1.0, 0.3, 0.9)),
    ),
    "post_apocalyptic": (
        S.saturation(factor=0.45),
        S.tint(color=(0.65, 0.55, 0.35), mode="color", opacity=0.45),
        S.haze(density=0.3, color=(0.6, 0.5, 0.35), falloff="sky"),
        S.contrast(amount=0.3),
        S.texture(kind="crackle", amount=0.3),
        S.grain(sigma=0.03),
    ),
    "haunted_mansion": (
        S.exposure(ev=-1.2),
        S.white_balance(temp=-0.3, tint=-0.3),
        S.saturation(factor=0.3),
        S.haze(density=0.3, color=(0.45, 0.5, 0.5), falloff="patchy"),
        S.vignette(amount=0.9),
        S.gradient(top=(0.12, 0.08, 0.2), bottom=(0.3, 0.25, 0.35), mode="normal", opacity=0.6),
    ),
    "temple_shrine": (
        S.white_balance(temp=0.5),
        S.tint(color=(0.95, 0.75, 0.4), opacity=0.3),
        S.rays(origin=(0.5, -0.3), color=(1.0, 0.9, 0.6), opacity=0.45),
        S.haze(density=0.15, color=(0.85, 0.8, 0.7), falloff="patchy"),
        S.bloom(threshold=0.6),
    ),
    "palace_interior": (
        S.tint(color=(1.0, 0.8, 0.35), opacity=0.5),
        S.bloom(threshold=0.55, color=GOLD, amount=0.6),
        S.saturation(factor=1.2),
        S.hue_shift(source=RED, target=(0.7, 0.05, 0.15), chroma=1.3),
        S.clarity(amount=0.2),
    ),
    "office_modern": (
        S.white_balance(temp=-0.3, tint=-0.1),
        S.saturation(factor=0.75),
        S.exposure(ev=0.3),
        S.contrast(amount=-0.1),
        S.tint(color=(0.85, 0.9, 0.95), opacity=0.3),
    ),
    "bedroom_interior": (
        S.white_balance(temp=0.45),
        S.bloom(threshold=0.55, color=(1.0, 0.8, 0.55), amount=0.4),
        S.soften(sigma=0.003),
        S.levels(black=0.04),
        S.saturation(factor=0.95),
        S.spotlight(center=(0.3, 0.35), radius=0.6, dark=0.3, color=(1.0, 0.85, 0.65)),
    ),
}

_R["architecture_style"] = {
    "modern_minimalist": (
        S.saturation(factor=0.55),
        S.exposure(ev=0.4),
        S.contrast(amount=-0.1),
        S.kuwahara(radius=0.012),
        S.tint(color=(0.95, 0.95, 0.95), opacity=0.3),
    ),
    "contemporary_glass": (
        S.white_balance(temp=-0.4),
        S.tint(color=(0.6, 0.8, 0.9), opacity=0.4),
        S.bloom(threshold=0.55, amount=0.5),
        S.clarity(amount=0.4),
        S.saturation(factor=0.9),
    ),
    "brutalist_concrete": (
        S.saturation(factor=0.2),
        S.tint(color=(0.6, 0.6, 0.58), mode="color", opacity=0.5),
        S.texture(kind="stone", amount=0.4),
        S.clarity(amount=0.6),
        S.contrast(amount=0.2),
    ),
    "art_deco_geometric": (
        S.split_tone(shadows=(0.1, 0.1, 0.15), highlights=(1.0, 0.8, 0.4), amount=1.2),
        S.saturation(factor=0.9),
        S.s_curve(amount=0.5),
        S.posterize(levels=10),
    ),
    "victorian_ornate": (
        S.white_balance(temp=0.4),
        S.tint(color=(0.55, 0.2, 0.25), opacity=0.4),
        S.vignette(amount=0.5),
        S.saturation(factor=0.9),
        S.levels(black=0.04),
    ),
    "medieval_stone": (
        S.tint(color=(0.6, 0.56, 0.48), mode="color", opacity=0.5),
        S.texture(kind="stone", amount=0.45),
        S.saturation(factor=0.6),
        S.exposure(ev=-0.3),
    ),
    "renaissance_classical": (
        S.white_balance(temp=0.35),
        S.tint(color=(0.85, 0.7, 0.5), opacity=0.4),
        S.texture(kind="canvas", amount=0.1),
        S.soften(sigma=0.003),
        S.vignette(amount=0.35),
        S.saturation(factor=0.85),
    ),
    "baroque_elaborate": (
        S.s_curve(amount=0.8),
        S.exposure(ev=-0.5),
        S.tint(color=GOLD, opacity=0.4),
        S.vignette(amount=0.7),
        S.saturation(factor=1.2),
        S.bloom(threshold=0.55, color=GOLD),
    ),
    "japanese_traditional": (
        S.tint(color=(0.85, 0.75, 0.6), opacity=0.3),
        S.hue_shift(source=RED, target=(0.9, 0.3, 0.1), chroma=1.2),
        S.saturation(factor=0.8),
        S.contrast(amount=-0.1),
        S.texture(kind="paper", amount=0.15),
    ),
    "moroccan_islamic": (
        S.tint(color=(0.9, 0.55, 0.3), opacity=0.4),
        S.hue_shift(source=BLUE, target=(0.1, 0.2, 0.75), chroma=1.4),
        S.saturation(factor=1.3),
        S.white_balance(temp=0.4),
    ),
    "greek_classical": (
        S.exposure(ev=0.5),
        S.tint(color=(0.95, 0.95, 0.92), opacity=0.4),
        S.saturation(factor=0.8),
        S.gradient(top=(0.1, 0.4, 0.9), bottom=(0.5, 0.75, 1.0), mode="normal", opacity=0.55),
    ),
    "roman_imperial": (
        S.tint(color=(0.85, 0.7, 0.5), mode="color", opacity=0.3),
        S.saturation(factor=0.9),
        S.hue_shift(source=RED, target=(0.6, 0.08, 0.1), chroma=1.3),
        S.white_balance(temp=0.3),
        S.texture(kind="stone", amount=0.15),
    ),
    "gothic_cathedral": (
        S.exposure(ev=-1.0),
        S.s_curve(amount=0.6),
        S.tint(color=(0.3, 0.25, 0.4), opacity=0.4),
        S.rays(origin=(0.3, -0.3), color=(0.7, 0.55, 1.0), opacity=0.5, beams=5),
        S.vignette(amount=0.8),
        S.saturation(factor=0.7),
    ),
    "industrial_warehouse": (
        S.saturation(factor=0.5),
        S.tint(color=(0.55, 0.45, 0.35), mode="color", opacity=0.3),
        S.texture(kind="rough", amount=0.25),
        S.exposure(ev=-0.3),
        S.rays(origin=(0.2, -0.2), color=(0.9, 0.9, 0.85), opacity=0.4, beams=4),
    ),
    "steampunk_mechanical": (
        S.tint(color=(0.8, 0.55, 0.25), mode="color", opacity=0.5),
        S.s_curve(amount=0.4),
        S.texture(kind="rough", amount=0.15),
        S.vignette(amount=0.5, color=(0.15, 0.08, 0.02)),
        S.saturation(factor=0.9),
    ),
    "cyberpunk_neon": (
        S.exposure(ev=-0.8),
        S.glow_edges(color=(1.0, 0.1, 0.8), amount=0.8),
        S.split_tone(shadows=(0.0, 0.6, 0.8), highlights=(1.0, 0.3, 0.9)),
        S.saturation(factor=1.6),
    ),
    "futuristic_sleek": (
        S.white_balance(temp=-0.5),
        S.saturation(factor=0.7),
        S.exposure(ev=0.3),
        S.clarity(amount=-0.4, sigma=0.01),
        S.bloom(threshold=0.55, color=(0.8, 0.9, 1.0), amount=0.5),
        S.tint(color=(0.85, 0.95, 1.0), opacity=0.3),
    ),
    "organic_biomorphic": (
        S.warp(kind="noise", amount=0.6, frequency=3.0),
        S.hue_shift(source=FOLIAGE, width=30.0, target=GREEN, chroma=1.2),
        S.saturation(factor=1.2),
        S.kuwahara(radius=0.012),
        S.tint(color=(0.6, 0.75, 0.45), opacity=0.3),
    ),
    "fantasy_magical": (
        S.bloom(threshold=0.5, amount=0.7, color=(0.9, 0.8, 1.0)),
        S.tint(color=(0.75, 0.6, 1.0), opacity=0.4),
        S.particles(count=50, size=0.003, star=True, colors=((0.9, 0.8, 1.0),), mode="add"),
        S.saturation(factor=1.3),
    ),
    "ruins_ancient": (
        S.saturation(factor=0.6),
        S.tint(color=(0.7, 0.62, 0.48), mode="color", opacity=0.4),
        S.texture(kind="crackle", amount=0.35),
        S.texture(kind="stone", amount=0.3),
        S.haze(density=0.15, color=(0.8, 0.72, 0.6)),
    ),
}

_R["time_period_era"] = {
    "prehistoric_stone_age": (
        S.tint(color=(0.55, 0.4, 0.25), mode="color", opacity=0.4), S.texture(kind="stone", amount=0.3),
        S.saturation(factor=0.7), S.exposure(ev=-0.3), S.vignette(amount=0.5, color=(0.15, 0.05, 0.0)),
    ),
    "ancient_classical": (
        S.tint(color=(0.9, 0.8, 0.6), mode="color", opacity=0.3), S.texture(kind="crackle", amount=0.2),
        S.levels(black=0.08), S.saturation(factor=0.8),
    ),
    "medieval_dark_ages": (
        S.exposure(ev=-0.8), S.saturation(factor=0.45), S.tint(color=(0.45, 0.4, 0.3), mode="color", opacity=0.35),
        S.vignette(amount=0.7), S.texture(kind="stone", amount=0.15),
    ),
    "renaissance_1500s": (
        S.texture(kind="canvas", amount=0.15), S.tint(color=(0.85, 0.65, 0.35), opacity=0.4),
        S.s_curve(amount=0.4), S.soften(sigma=0.004), S.vignette(amount=0.5),
        S.saturation(factor=0.85), S.texture(kind="crackle", amount=0.12),
    ),
    "baroque_1700s": (
        S.s_curve(amount=0.9), S.exposure(ev=-0.6), S.tint(color=(0.85, 0.6, 0.3), opacity=0.4),
        S.vignette(amount=0.8), S.texture(kind="canvas", amount=0.1),
    ),
    "victorian_1800s": (
        S.gradient_map(stops=((0.12, 0.08, 0.06), (0.55, 0.45, 0.35), (0.92, 0.88, 0.8))),
        S.vignette(amount=0.6), S.soften(sigma=0.005), S.grain(sigma=0.05), S.levels(black=0.06),
    ),
    "art_nouveau_1900s": (
        S.kuwahara(radius=0.02), S.ink(amount=0.6, threshold=0.06, color=(0.25, 0.18, 0.1)),
        S.tint(color=(0.85, 0.75, 0.5), opacity=0.4), S.saturation(factor=0.8), S.posterize(levels=8),
    ),
    "art_deco_1920s": (
        S.split_tone(shadows=(0.05, 0.05, 0.1), highlights=(1.0, 0.82, 0.45), amount=1.3),
        S.s_curve(amount=0.6), S.posterize(levels=6), S.saturation(factor=0.6),
    ),
    "mid_century_1950s": (
        S.split_tone(shadows=(0.1, 0.45, 0.45), highlights=(1.0, 0.92, 0.75), amount=0.8),
        S.hue_shift(source=RED, target=(0.9, 0.2, 0.15), chroma=1.3), S.levels(black=0.06),
        S.grain(sigma=0.03), S.hue_shift(source=BLUE, target=(0.1, 0.6, 0.6)), S.vignette(amount=0.2),
    ),
    "contemporary_2000s": (
        S.saturation(factor=1.15), S.clarity(amount=0.6, sigma=0.01), S.white_balance(temp=-0.25),
        S.s_curve(amount=0.25), S.bloom(threshold=0.8, amount=0.3),
    ),
    "near_future_2050": (
        S.white_balance(temp=-0.4), S.bloom(threshold=0.55, color=(0.8, 0.95, 1.0), amount=0.4),
        S.saturation(factor=0.85), S.tint(color=(0.8, 0.95, 1.0), opacity=0.4), S.clarity(amount=0.3),
        S.glow_edges(color=(0.3, 0.9, 1.0), amount=0.2),
    ),
    "far_future_2200": (
        S.iridescence(amount=0.15), S.bloom(threshold=0.5, amount=0.6), S.tint(color=(0.85, 0.8, 1.0), opacity=0.5),
        S.exposure(ev=0.3), S.soften(sigma=0.005), S.saturation(factor=0.7),
    ),
    "cyberpunk_dystopia": (
        S.exposure(ev=-1.0), S.split_tone(shadows=(0.0, 0.5, 0.7), highlights=(1.0, 0.2, 0.7)),
        S.haze(density=0.3, color=(0.35, 0.25, 0.4), falloff="patchy"),
        S.particles(count=150, length=0.07, opacity=0.3, **RAIN),
        S.glow_edges(color=(1.0, 0.2, 0.7), amount=0.3), S.saturation(factor=1.3),
    ),
    "steampunk_alternate": (
        S.tint(color=(0.8, 0.55, 0.25), mode="color", opacity=0.45),
        S.haze(density=0.25, color=(0.5, 0.45, 0.35), falloff="sky"), S.s_curve(amount=0.3),
        S.vignette(amount=0.5), S.grain(sigma=0.03),
    ),
    "solarpunk_green_future": (
        S.hue_shift(source=FOLIAGE, width=30.0, target=(0.2, 0.8, 0.3), chroma=1.3), S.saturation(factor=1.35),
        S.exposure(ev=0.3), S.white_balance(temp=0.2), S.bloom(threshold=0.6, color=(1.0, 0.95, 0.7), amount=0.4),
        S.tint(color=(0.7, 0.95, 0.6), opacity=0.3),
    ),
}  # fmt: skip

for _tool, _values in TOOLS.items():
    _missing = set(_values) ^ set(_R[_tool])
    if _missing:  # a table and a vocabulary out of step is a bug, caught at import
        raise RuntimeError(f"recipes and vocabulary disagree for {_tool}: {sorted(_missing)}")

#: tool -> value -> the recipe's steps, for the ten tools of the default library. Read-only.
RECIPES = MappingProxyType({tool: MappingProxyType(_R[tool]) for tool in TOOLS})

for _tool in RENDERED_TOOLS - {"graduated_effect"}:  # graduated_effect: styling_env.tools.compose
    _table = {**_R.get(_tool, {}), **EXTRA_RECIPES.get(_tool, {}), **V3_RECIPES.get(_tool, {})}
    _missing = set(ALL_TOOLS[_tool]) ^ set(_table)
    if _missing:
        raise RuntimeError(f"recipes and vocabulary disagree for {_tool}: {sorted(_missing)}")

#: tool -> value -> steps for every tool a recipe renders in any library: the ten tools with
#: their extra values (``vocabulary.EXTRA_VALUES``) and the ``v3`` library's twenty tools
#: (``recipes_v3``). :func:`recipe` reads this table. Read-only.
ALL_RECIPES = MappingProxyType(
    {
        tool: MappingProxyType(
            {**_R.get(tool, {}), **EXTRA_RECIPES.get(tool, {}), **V3_RECIPES.get(tool, {})}
        )
        for tool in ALL_TOOLS
        if tool in _R or tool in V3_RECIPES
    }
)

#: (tool, value) pairs rendered as a photometric signature, not as what the name depicts
#: (the ten tools' and :data:`~styling_env.tools.recipes_v3.V3_SIGNATURE_ONLY`).
SIGNATURE_ONLY: frozenset[tuple[str, str]] = (
    frozenset(
        [
            (tool, v)
            for tool in ("location_setting", "architecture_style", "time_period_era")
            for v in TOOLS[tool]
        ]
        + [("artistic_medium", "3d_rendered"), ("atmospheric_effects", "cracks_damage")]
    )
    | V3_SIGNATURE_ONLY
)


def recipe(tool: str, value: str) -> tuple[Step, ...]:
    """The steps of ``tool``'s ``value`` (any library's; KeyError for a tool no recipe
    renders, such as the ``normal`` library's constraints)."""
    return ALL_RECIPES[tool][value]


def recipe_seed(tool: str, value: str) -> int:
    """A stable seed per value, so two values' particles or textures never coincide."""
    return zlib.crc32(f"{tool}/{value}".encode()) % 100_000
