"""Recipes of the ``v3`` library's twenty styling actions and of the extra base-tool values.

The ``v3`` library (``styling_env.tools.vocabulary.V3_ACTIONS``) names looks a photographer or an
illustrator would ask for: a lens's character, a filter, a palette, a lighting technique, a
grain. Each value is a recipe over the same primitive ops as the ten tools (``ops.py``), written
in the same table form (``recipes.py``, the steps of ``steps.py``), and depicts what the name means as far as pixels allow:

* Values that sound like "no change" still correct something visibly: ``neutral`` removes a
  colour cast, ``normal`` contrast and ``mid_key`` normalise the tone curve, ``natural``
  saturation brings chroma to a natural level, ``deep_focus`` and ``freeze_frame`` crisp up
  detail, ``photorealistic`` rendering balances and finishes a picture like a camera would.
* Lighting techniques named after portraiture (``rembrandt``, ``butterfly``, ``loop`` ...) have
  no face to shape, so they render their light pattern over the frame: where the key light comes
  from, how hard its terminator is and how deep the shadow side falls.
* Depth effects (aerial perspective, tilt-shift, shallow focus) have no depth map, so they read
  distance as height in the frame (far is high) or focus on a band or a disc.
* :data:`V3_SIGNATURE_ONLY`: an art movement is a look, not a new painting; its recipe renders the
  movement's palette, brushwork and geometry (pop art's dots and flat colours, cubism's facets),
  not its subject matter. Concept and fantasy illustration are likewise a finish, not content,
  and the extra era ``retro_1980s`` is a period's signature like the other eras.
"""

from __future__ import annotations

from .steps import FOLIAGE, GOLD, SEPIA, WHITE, S, Step

#: A Prussian-blue ramp (cyanotype prints: iron salts on paper).
PRUSSIAN = ((0.02, 0.09, 0.24), (0.09, 0.3, 0.55), (0.55, 0.72, 0.86), (0.93, 0.95, 0.97))
INK = (0.06, 0.06, 0.08)
PAPER = (0.97, 0.96, 0.92)

_V3: dict[str, dict[str, tuple[Step, ...]]] = {}

_V3["art_movement"] = {
    "impressionism": (  # broken colour in short dabs, bright light, soft edges
        S.kuwahara(radius=0.015),
        S.warp(kind="noise", amount=0.35, frequency=14.0),
        S.grain(sigma=0.08, mono=False, scale=2.0),
        S.saturation(factor=1.35),
        S.bloom(threshold=0.6, color=(1.0, 0.95, 0.8), amount=0.5),
        S.texture(kind="canvas", amount=0.15),
    ),
    "cubism": (  # faceted planes, outlined, in ochres and greys
        S.mosaic(cells=9.0, kind="triangle"),
        S.palette_hues(colors=((0.6, 0.45, 0.25), (0.45, 0.5, 0.55), (0.55, 0.55, 0.35))),
        S.saturation(factor=0.7),
        S.ink(amount=0.8, threshold=0.05, color=(0.15, 0.12, 0.1)),
        S.texture(kind="canvas", amount=0.15),
    ),
    "surrealism": (  # a dreamlike, melting world under an uncanny sky
        S.warp(kind="noise", amount=1.0, frequency=2.5),
        S.gradient(top=(0.2, 0.35, 0.75), bottom=(1.0, 0.75, 0.45), mode="normal", opacity=0.55),
        S.hue_shift(source=(0.3, 0.6, 0.2), target=(0.2, 0.5, 0.7), width=60.0, chroma=1.2),
        S.long_shadow(length=0.25, angle=15.0, opacity=0.5),
        S.soften(sigma=0.004),
    ),
    "art_deco": (  # gold on black, stepped geometric tones
        S.gradient_map(stops=((0.03, 0.03, 0.05), (0.35, 0.25, 0.12), (0.95, 0.78, 0.4), WHITE)),
        S.posterize(levels=5),
        S.s_curve(amount=0.6),
        S.ink(amount=0.6, threshold=0.08, color=GOLD),
    ),
    "art_nouveau": (  # flowing outlines round flat, muted natural colours
        S.kuwahara(radius=0.025),
        S.palette_hues(
            colors=((0.5, 0.6, 0.35), (0.8, 0.6, 0.35), (0.7, 0.45, 0.45), (0.4, 0.55, 0.6)),
            chroma=0.8,
        ),
        S.posterize(levels=7),
        S.ink(amount=0.85, threshold=0.04, width=0.008, color=(0.3, 0.2, 0.1)),
        S.texture(kind="paper", amount=0.2),
    ),
    "pop_art": (  # flat loud colours, Ben-Day dots, heavy black outlines
        S.posterize(levels=4),
        S.saturation(factor=2.0),
        S.palette_hues(colors=((1.0, 0.1, 0.3), (1.0, 0.9, 0.1), (0.1, 0.5, 1.0)), sharpness=10.0),
        S.ink(amount=1.0, threshold=0.05, width=0.01),
        S.halftone(kind="cmyk", cells=28.0, softness=0.3),
    ),
    "expressionism": (  # distorted forms, unnatural clashing colour, raw strokes
        S.warp(kind="wave", amount=1.5, frequency=3.0),
        S.kuwahara(radius=0.02),
        S.hue_shift(source=(0.3, 0.6, 0.2), target=(0.9, 0.2, 0.1), width=60.0, chroma=1.4),
        S.hue_shift(source=(0.3, 0.5, 0.9), target=(0.9, 0.8, 0.1), width=50.0, chroma=1.3),
        S.s_curve(amount=0.7),
        S.ink(amount=0.7, threshold=0.05, width=0.01, color=(0.1, 0.05, 0.15)),
    ),
    "abstract": (  # shapes and colour fields, no recognisable detail
        S.mosaic(cells=5.0, kind="voronoi", jitter=0.5),
        S.soften(sigma=0.01),
        S.saturation(factor=1.6),
        S.palette_hues(colors=((0.9, 0.2, 0.2), (0.15, 0.3, 0.9), (1.0, 0.85, 0.1))),
        S.texture(kind="canvas", amount=0.2),
    ),
}

_V3["painting_technique"] = {
    "impasto": (  # thick paint standing off the canvas
        S.kuwahara(radius=0.035),
        S.emboss(amount=1.4, sigma=0.008),
        S.saturation(factor=1.2),
        S.texture(kind="canvas", amount=0.25),
    ),
    "glazing": (  # thin transparent layers: deep, luminous colour
        S.soften(sigma=0.004),
        S.gamma(g=1.25),
        S.saturation(factor=1.35),
        S.tint(color=(0.9, 0.65, 0.3), mode="multiply", opacity=0.3),
        S.bloom(threshold=0.5, color=(1.0, 0.85, 0.6), amount=0.6),
    ),
    "pointillism": (  # separate dots of pure colour that mix in the eye
        S.saturation(factor=1.6),
        S.halftone(kind="dots", cells=36.0, paper=(0.98, 0.97, 0.93), softness=0.2),
        S.exposure(ev=0.2),
    ),
    "stippling": (S.halftone(kind="stipple", ink=(0.05, 0.05, 0.07), paper=PAPER),),
    "sgraffito": (  # a dark top layer scratched through to the colour beneath
        S.line_art(ground=(0.1, 0.07, 0.06), own_color=1.0, threshold=0.02, width=0.008),
        S.emboss(amount=0.5),
        S.texture(kind="rough", amount=0.3),
    ),
    "scumbling": (  # a broken, dry veil of light paint dragged over the colours
        S.haze(density=0.35, color=(0.92, 0.9, 0.85), falloff="patchy"),
        S.texture(kind="rough", amount=0.5, scale=0.6),
        S.kuwahara(radius=0.015),
        S.saturation(factor=0.8),
    ),
    "wet_on_wet": (  # colours bleeding into each other, no hard edge anywhere
        S.warp(kind="noise", amount=1.2, frequency=4.0),
        S.soften(sigma=0.02),
        S.bloom(threshold=0.3, sigma=0.03, amount=0.3),
        S.saturation(factor=1.4),
        S.levels(black=0.08),
        S.texture(kind="paper", amount=0.25),
    ),
}

_V3["illustration_style"] = {
    "comic_book": (
        S.kuwahara(radius=0.02),
        S.posterize(levels=5),
        S.saturation(factor=1.6),
        S.ink(amount=1.0, threshold=0.04, width=0.012),
        S.halftone(kind="cmyk", cells=40.0, softness=0.5),
    ),
    "manga": (  # black and white, screentone greys, crisp ink
        S.gradient_map(stops=((0.0, 0.0, 0.0), WHITE)),
        S.s_curve(amount=0.6),
        S.ink(amount=1.0, threshold=0.04),
        S.halftone(kind="mono", cells=45.0, paper=WHITE, ink=(0.0, 0.0, 0.0), softness=0.3),
    ),
    "concept_art": (  # painted, atmospheric, teal and orange
        S.kuwahara(radius=0.02),
        S.haze(density=0.3, color=(0.6, 0.7, 0.8), falloff="depth"),
        S.split_tone(shadows=(0.05, 0.35, 0.45), highlights=(1.0, 0.65, 0.35), amount=0.8),
        S.clarity(amount=0.6, sigma=0.03),
        S.bloom(threshold=0.6, amount=0.4),
    ),
    "children_book": (  # soft gouache shapes, bright gentle colours on paper
        S.kuwahara(radius=0.03),
        S.levels(black=0.15),
        S.saturation(factor=1.3),
        S.exposure(ev=0.3),
        S.ink(amount=0.45, threshold=0.06, color=(0.35, 0.25, 0.2)),
        S.texture(kind="paper", amount=0.35),
    ),
    "editorial": (  # a flat graphic in a few inks
        S.cel(levels=3),
        S.palette_hues(colors=((0.9, 0.35, 0.25), (0.15, 0.3, 0.45)), sharpness=10.0),
        S.posterize(levels=4),
        S.levels(black=0.1, white=0.95),
        S.texture(kind="paper", amount=0.15),
    ),
    "technical": (  # precise dark-blue linework on white
        S.line_art(ground=(0.97, 0.97, 0.98), line=(0.05, 0.12, 0.35), threshold=0.02),
    ),
    "fantasy": (
        S.kuwahara(radius=0.015),
        S.tint(color=(0.7, 0.55, 1.0), opacity=0.45),
        S.bloom(threshold=0.5, color=(1.0, 0.85, 0.6), amount=0.8),
        S.saturation(factor=1.3),
        S.particles(count=40, size=0.003, star=True, colors=(GOLD, WHITE), mode="add"),
    ),
}

_V3["rendering_style"] = {
    "photorealistic": (  # a camera's finish: balanced colour, crisp detail, gentle curve
        S.auto_balance(amount=0.7, reference="highlights"),
        S.clarity(amount=0.5, sigma=0.008),
        S.s_curve(amount=0.25),
        S.vignette(amount=0.2),
        S.grain(sigma=0.02),
    ),
    "stylized": (  # simplified forms, pushed colour and contrast
        S.kuwahara(radius=0.03),
        S.saturation(factor=1.5),
        S.contrast(amount=0.4),
        S.clarity(amount=0.5, sigma=0.03),
    ),
    "cel_shaded": (
        S.kuwahara(radius=0.015),
        S.ink(amount=1.0, threshold=0.06),
        S.cel(levels=3),
        S.saturation(factor=1.3),
    ),
    "sketch": (S.hatching(spacing=0.03, softness=0.5, lead=(0.3, 0.3, 0.32), density=0.8),),
    "wireframe": (S.line_art(ground=(0.02, 0.03, 0.06), line=(0.3, 1.0, 0.9), threshold=0.015),),
    "low_poly": (S.mosaic(cells=8.0, kind="triangle"), S.ink(amount=0.4, threshold=0.03)),
    "painterly": (
        S.kuwahara(radius=0.025),
        S.emboss(amount=0.4, sigma=0.01),
        S.saturation(factor=1.15),
        S.texture(kind="canvas", amount=0.2),
    ),
}

_V3["texture_overlay"] = {
    "canvas": (S.texture(kind="canvas", amount=0.55, scale=1.3),),
    "paper": (S.texture(kind="paper", amount=0.6), S.levels(black=0.05)),
    "fabric": (S.texture(kind="fabric", amount=0.5), S.soften(sigma=0.003)),
    "wood_grain": (
        S.texture(kind="wood", amount=0.6),
        S.tint(color=(0.6, 0.4, 0.2), mode="multiply", opacity=0.35),
    ),
    "metal": (
        S.texture(kind="brushed", amount=0.6),
        S.saturation(factor=0.6),
        S.gradient(top=WHITE, bottom=(0.4, 0.42, 0.45), where="all", angle=30.0, opacity=0.5),
    ),
    "stone": (S.texture(kind="stone", amount=0.6), S.saturation(factor=0.8)),
    "concrete": (
        S.texture(kind="rough", amount=0.5),
        S.texture(kind="stone", amount=0.3, scale=3.0),
        S.saturation(factor=0.5),
        S.tint(color=(0.6, 0.6, 0.58), mode="color", opacity=0.4),
    ),
    "aged": (  # yellowed, stained, cracked
        S.tint(color=(0.9, 0.75, 0.5), mode="multiply", opacity=0.4),
        S.texture(kind="crackle", amount=0.6),
        S.texture(kind="stone", amount=0.4, scale=0.6),
        S.levels(black=0.06, white=0.94),
        S.vignette(amount=0.45, color=(0.3, 0.2, 0.08)),
    ),
}

_V3["filter_effects"] = {
    "vintage": (  # faded, warm, soft, matte blacks
        S.levels(black=0.1, white=0.92),
        S.saturation(factor=0.7),
        S.split_tone(shadows=(0.3, 0.4, 0.35), highlights=(1.0, 0.85, 0.6), amount=0.6),
        S.soften(sigma=0.003),
        S.vignette(amount=0.45),
        S.grain(sigma=0.04),
    ),
    "cross_process": (  # slide film in print chemistry: yellow-green highs, blue-cyan shadows
        S.channel_mix(matrix=((1.05, 0.0, -0.05), (0.0, 1.05, 0.0), (0.0, 0.1, 0.8))),
        S.split_tone(shadows=(0.1, 0.3, 0.7), highlights=(0.95, 1.0, 0.5), amount=0.55),
        S.s_curve(amount=0.6),
        S.saturation(factor=1.2),
    ),
    "lomography": (  # toy camera: heavy vignette, saturated, contrasty, soft corners
        S.saturation(factor=1.6),
        S.s_curve(amount=0.8),
        S.vignette(amount=0.95, radius=0.55),
        S.focus_blur(sigma=0.015, size=0.35, feather=0.25),
        S.chromatic_aberration(shift=0.006),
    ),
    "infrared": (  # false-colour infrared: foliage glows pink-white, skies go dark
        S.hue_shift(source=FOLIAGE, target=(1.0, 0.45, 0.6), width=60.0, chroma=1.2, lift=0.45),
        S.hue_shift(source=(0.3, 0.5, 0.9), target=(0.1, 0.3, 0.5), width=50.0, lift=-0.3),
        S.channel_mix(matrix=((0.6, 0.4, 0.0), (0.0, 0.8, 0.2), (0.0, 0.2, 0.8))),
        S.gradient(top=(0.2, 0.25, 0.4), bottom=WHITE, mode="multiply", opacity=0.6),
        S.bloom(threshold=0.55, amount=0.6),
    ),
    "polaroid": (  # an instant print: soft, cyan shadows, creamy highs, its white frame
        S.levels(black=0.08, white=0.95),
        S.split_tone(shadows=(0.1, 0.4, 0.45), highlights=(1.0, 0.92, 0.75), amount=0.7),
        S.saturation(factor=0.85),
        S.soften(sigma=0.004),
        S.border(width=0.05, bottom=0.18),
    ),
    "sepia": (S.gradient_map(stops=SEPIA), S.grain(sigma=0.03)),
    "cyanotype": (S.gradient_map(stops=PRUSSIAN), S.texture(kind="paper", amount=0.3)),
}

_V3["color_palette"] = {
    "monochrome": (  # one hue in shades and tints (not black and white)
        S.gradient_map(stops=((0.03, 0.05, 0.15), (0.2, 0.35, 0.65), (0.85, 0.9, 1.0))),
    ),
    "duotone": (S.gradient_map(stops=((0.2, 0.05, 0.35), (1.0, 0.75, 0.3))), S.s_curve(amount=0.3)),
    "complementary": (  # blue against orange
        S.palette_hues(colors=((0.2, 0.4, 1.0), (1.0, 0.55, 0.1))),
        S.saturation(factor=1.3),
    ),
    "analogous": (  # neighbouring hues: yellow, orange, red
        S.palette_hues(colors=((1.0, 0.85, 0.1), (1.0, 0.5, 0.1), (0.9, 0.15, 0.15))),
        S.saturation(factor=1.1),
    ),
    "triadic": (  # three hues a third of the wheel apart
        S.palette_hues(colors=((1.0, 0.15, 0.15), (0.15, 0.35, 1.0), (1.0, 0.9, 0.1))),
        S.saturation(factor=1.4),
    ),
    "pastel": (
        S.levels(black=0.3, white=0.98),
        S.saturation(factor=0.6),
        S.palette_hues(colors=((1.0, 0.6, 0.75), (0.6, 0.8, 1.0), (0.7, 1.0, 0.75)), chroma=1.5),
    ),
    "neon": (
        S.exposure(ev=-1.0),
        S.palette_hues(colors=((1.0, 0.0, 0.8), (0.0, 1.0, 1.0), (0.5, 1.0, 0.0)), chroma=2.5),
        S.saturation(factor=1.6),
        S.glow_edges(color=(1.0, 0.2, 0.9), amount=0.6),
        S.bloom(threshold=0.4, amount=0.6),
    ),
    "earth_tones": (  # ochre, olive, terracotta, umber
        S.palette_hues(colors=((0.7, 0.5, 0.2), (0.45, 0.5, 0.25), (0.7, 0.35, 0.2))),
        S.saturation(factor=0.7),
        S.white_balance(temp=0.3),
    ),
}

_V3["color_temperature"] = {
    "very_warm": (S.white_balance(temp=1.0), S.tint(color=(1.0, 0.6, 0.25), opacity=0.35)),
    "warm": (S.white_balance(temp=0.5),),
    "neutral": (S.auto_balance(amount=1.0, reference="highlights"), S.normalize_chroma(level=0.07)),
    "cool": (S.white_balance(temp=-0.5),),
    "very_cool": (S.white_balance(temp=-1.0), S.tint(color=(0.3, 0.5, 1.0), opacity=0.35)),
    "icy": (
        S.white_balance(temp=-0.8),
        S.saturation(factor=0.45),
        S.tint(color=(0.8, 0.95, 1.0), mode="screen", opacity=0.4),
        S.exposure(ev=0.2),
    ),
}

_V3["saturation_intensity"] = {
    "desaturated": (S.saturation(factor=0.1),),
    "muted": (S.saturation(factor=0.5), S.levels(black=0.04, white=0.96)),
    "natural": (S.normalize_chroma(level=0.08), S.auto_balance(amount=0.5, reference="highlights")),
    "vibrant": (S.saturation(factor=1.6), S.clarity(amount=0.2)),
    "hyper_saturated": (S.saturation(factor=2.8), S.s_curve(amount=0.3)),
}

_V3["contrast_style"] = {
    "low_contrast": (S.contrast(amount=-0.55), S.levels(black=0.08, white=0.92)),
    "normal": (S.normalize_tone(mean=0.48, spread=0.22), S.s_curve(amount=0.2)),
    "high_contrast": (S.s_curve(amount=1.0), S.contrast(amount=0.35)),
    "hdr": (  # tone-mapped: open shadows, held highlights, strong local contrast
        S.tone_zones(shadows=0.25, highlights=-0.2),
        S.clarity(amount=1.4, sigma=0.05),
        S.clarity(amount=0.8, sigma=0.01),
        S.saturation(factor=1.3),
    ),
    "crushed_blacks": (S.tone_zones(shadows=-0.3), S.levels(black=-0.12), S.s_curve(amount=0.3)),
    "blown_highlights": (
        S.bloom(threshold=0.7, amount=0.6),
        S.exposure(ev=0.9),
        S.levels(white=1.2),
    ),
}

_V3["tonal_range"] = {
    "low_key": (
        S.normalize_tone(mean=0.18, spread=0.2),
        S.vignette(amount=0.6),
        S.tone_zones(shadows=-0.1),
    ),
    "mid_key": (S.normalize_tone(mean=0.5, spread=0.13), S.levels(black=0.1, white=0.9)),
    "high_key": (
        S.normalize_tone(mean=0.8, spread=0.12),
        S.tone_zones(shadows=0.15),
        S.saturation(factor=0.8),
    ),
}

_V3["lighting_style"] = {
    "rembrandt": (  # key light high to one side, deep falloff, a lit patch on the shadow side
        S.light_falloff(angle=35.0, position=0.55, width=0.25, dark=0.8, gain=0.2),
        S.spotlight(center=(0.66, 0.45), radius=0.12, dark=0.0, color=(1.5, 1.4, 1.25)),
        S.tone_zones(shadows=-0.12),
        S.white_balance(temp=0.3),
    ),
    "butterfly": (  # light high in front: bright top-centre, shadow falling straight down
        S.spotlight(center=(0.5, 0.25), radius=0.55, dark=0.5, color=(1.2, 1.18, 1.12)),
        S.light_falloff(angle=90.0, position=0.65, width=0.3, dark=0.5),
    ),
    "split": (S.light_falloff(angle=0.0, position=0.5, width=0.03, dark=0.88, gain=0.15),),
    "rim": (  # back light: dark subject, bright outline
        S.exposure(ev=-1.5),
        S.glow_edges(color=(1.0, 0.95, 0.85), amount=1.2, sigma=0.015),
        S.bloom(threshold=0.5, amount=0.6),
    ),
    "loop": (  # key 30-45 degrees off axis and above: a soft diagonal falloff
        S.light_falloff(angle=45.0, position=0.7, width=0.35, dark=0.55, gain=0.1),
        S.tone_zones(shadows=0.05),
    ),
    "broad": (  # the wide side lit: most of the frame in light
        S.light_falloff(angle=0.0, position=0.75, width=0.2, dark=0.7, gain=0.15),
    ),
    "short": (  # the narrow side lit: most of the frame in shadow
        S.light_falloff(angle=180.0, position=0.3, width=0.2, dark=0.75, gain=0.15),
        S.s_curve(amount=0.4),
    ),
    "dramatic": (  # chiaroscuro: one hard pool of light in darkness
        S.spotlight(center=(0.4, 0.4), radius=0.35, dark=0.9, color=(1.15, 1.05, 0.9)),
        S.s_curve(amount=0.8),
        S.tone_zones(shadows=-0.15),
    ),
}

_V3["light_quality"] = {
    "hard": (S.s_curve(amount=0.9), S.clarity(amount=0.7, sigma=0.008), S.exposure(ev=0.2)),
    "soft": (
        S.contrast(amount=-0.3),
        S.tone_zones(shadows=0.12),
        S.bloom(threshold=0.5, amount=0.4),
        S.soften(sigma=0.003),
    ),
    "diffused": (  # even overcast-like light: flat, open shadows, a light veil
        S.contrast(amount=-0.45),
        S.tone_zones(shadows=0.2, highlights=-0.1),
        S.haze(density=0.12, color=(0.95, 0.95, 0.96)),
        S.saturation(factor=0.85),
    ),
    "specular": (  # bright glints on shiny surfaces
        S.tone_zones(highlights=0.12),
        S.bloom(threshold=0.8, sigma=0.008, amount=1.0),
        S.clarity(amount=0.6, sigma=0.005),
        S.contrast(amount=0.2),
    ),
    "mixed": (  # a warm source on one side, a cool one on the other
        S.gradient(
            top=(1.0, 0.6, 0.25), bottom=(0.25, 0.5, 1.0), where="all", angle=90.0, opacity=0.8
        ),
        S.saturation(factor=1.15),
    ),
}

_V3["shadow_treatment"] = {
    "dramatic": (S.tone_zones(shadows=-0.25), S.s_curve(amount=0.7), S.vignette(amount=0.5)),
    "minimal": (S.tone_zones(shadows=0.3, midtones=0.05), S.contrast(amount=-0.2)),
    "colored": (
        S.split_tone(shadows=(0.3, 0.1, 0.7), highlights=(0.95, 0.92, 0.85), amount=0.9),
        S.tone_zones(shadows=0.05),
    ),
    "long": (  # a low sun: warm light, shadows stretched across the ground
        S.long_shadow(length=0.3, angle=15.0, opacity=0.65),
        S.white_balance(temp=0.5),
        S.gradient(
            top=(1.0, 0.8, 0.55), bottom=(0.5, 0.45, 0.5), where="all", angle=-70.0, opacity=0.4
        ),
    ),
    "short": (  # a high sun: tight dark contact shadows, crisp bright light
        S.exposure(ev=0.35),
        S.tone_zones(shadows=-0.15),
        S.clarity(amount=0.9, sigma=0.006),
        S.white_balance(temp=-0.1),
    ),
    "stylized": (  # graphic shadows: flat bands in a cool ink
        S.cel(levels=3),
        S.tone_zones(shadows=-0.2),
        S.split_tone(shadows=(0.15, 0.2, 0.6), highlights=(0.9, 0.9, 0.9), amount=0.5),
    ),
}

_V3["glow_effects"] = {
    "neon": (
        S.exposure(ev=-1.2),
        S.glow_edges(color=(1.0, 0.1, 0.8), amount=1.6, sigma=0.02),
        S.glow_edges(color=(0.1, 0.9, 1.0), amount=0.8, sigma=0.006),
        S.saturation(factor=1.5),
    ),
    "golden_hour": (
        S.bloom(threshold=0.45, color=(1.0, 0.7, 0.3), amount=1.0, sigma=0.06),
        S.white_balance(temp=0.6),
        S.tint(color=GOLD, mode="screen", opacity=0.25),
    ),
    "bioluminescence": (
        S.exposure(ev=-1.8),
        S.white_balance(temp=-0.7),
        S.glow_edges(color=(0.1, 1.0, 0.75), amount=1.0, sigma=0.02),
        S.particles(count=90, size=0.004, colors=((0.2, 1.0, 0.85), (0.3, 0.6, 1.0)), mode="add"),
    ),
    "magic": (
        S.bloom(threshold=0.5, color=(0.8, 0.5, 1.0), amount=0.8),
        S.tint(color=(0.6, 0.4, 1.0), opacity=0.35),
        S.particles(count=60, size=0.004, star=True, colors=((1.0, 0.85, 1.0), GOLD), mode="add"),
    ),
    "energy": (
        S.exposure(ev=-0.6),
        S.glow_edges(color=(0.4, 0.7, 1.0), amount=1.3, sigma=0.01),
        S.bolt(color=(0.6, 0.8, 1.0), flash=0.05),
        S.bloom(threshold=0.6, color=(0.5, 0.7, 1.0)),
    ),
    "soft_glow": (  # the Orton glow: a bright blurred copy screened over the picture
        S.bloom(threshold=0.2, sigma=0.03, amount=0.7),
        S.soften(sigma=0.003),
    ),
}

_V3["atmospheric_depth"] = {
    "aerial_perspective": (  # distance turns blue, pale and low in contrast
        S.haze(density=0.55, color=(0.62, 0.72, 0.88), falloff="depth"),
        S.saturation(factor=0.9),
    ),
    "depth_haze": (S.haze(density=0.6, color=(0.85, 0.85, 0.84), falloff="depth", soften=0.01),),
    "layered_atmosphere": (
        S.haze(density=0.7, color=(0.7, 0.72, 0.85), falloff="layers"),
        S.contrast(amount=0.15),
    ),
    "color_fade": (  # distance fades into a warm violet
        S.haze(density=0.6, color=(0.85, 0.6, 0.75), falloff="depth"),
        S.split_tone(shadows=(0.4, 0.25, 0.6), highlights=(1.0, 0.8, 0.7), amount=0.3),
    ),
}

_V3["motion_aesthetics"] = {
    "motion_blur": (S.motion_blur(length=0.1, angle=0.0),),
    "freeze_frame": (  # a fast shutter: every edge crisp, a clean punchy render
        S.clarity(amount=1.2, sigma=0.005),
        S.contrast(amount=0.25),
        S.saturation(factor=1.1),
    ),
    "long_exposure": (  # silky streaks and ghosting, light trails from the bright parts
        S.motion_blur(length=0.25, angle=0.0),
        S.bloom(threshold=0.55, sigma=0.02, amount=0.6),
        S.soften(sigma=0.004),
    ),
    "speed_lines": (
        S.motion_blur(length=0.05, angle=0.0),
        S.particles(count=120, size=0.003, length=0.4, angle=90.0, colors=(WHITE,), opacity=0.9),
    ),
    "time_slice": (S.time_slice(slices=6, ev=1.0, temp=0.8),),
}

_V3["lens_character"] = {
    "bokeh": (  # a fast lens: the background melts into discs of light
        S.focus_blur(sigma=0.04, size=0.15, feather=0.25),
        S.bokeh(count=20, size=0.035, colors=((1.0, 0.85, 0.55), (0.7, 0.85, 1.0)), opacity=0.5),
    ),
    "vignette": (S.vignette(amount=0.9, radius=0.5),),
    "lens_flare": (
        S.flare(center=(0.2, 0.15), color=(1.0, 0.9, 0.75), amount=1.0, size=0.3),
        S.contrast(amount=-0.15),
    ),
    "chromatic_aberration": (S.chromatic_aberration(shift=0.03),),
    "distortion": (S.warp(kind="barrel", amount=0.9), S.vignette(amount=0.2)),
    "tilt_shift": (  # a miniature: one sharp horizontal band, candy colour
        S.focus_blur(sigma=0.05, shape="band", center=(0.5, 0.58), size=0.05, feather=0.25),
        S.saturation(factor=1.5),
        S.contrast(amount=0.2),
    ),
}

_V3["grain_noise"] = {
    "film_grain": (S.grain(sigma=0.09, scale=1.6),),
    "digital_noise": (  # high ISO: fine luminance noise plus coloured speckle
        S.grain(sigma=0.06, mono=False),
        S.grain(sigma=0.05, mono=False, scale=3.0, seed=4),
        S.tone_zones(shadows=0.04),
    ),
    "halftone": (S.halftone(kind="mono", cells=40.0),),
    "texture_noise": (S.texture(kind="rough", amount=0.6), S.texture(kind="stone", amount=0.3)),
    "organic": (  # irregular, clumped grain like old emulsion
        S.grain(sigma=0.08, scale=2.5),
        S.texture(kind="paper", amount=0.3, scale=1.5),
        S.tint(color=(1.0, 0.92, 0.8), opacity=0.2),
    ),
}

_V3["sharpness_softness"] = {
    "sharp_detail": (S.clarity(amount=1.6, sigma=0.004), S.clarity(amount=0.4, sigma=0.015)),
    "soft_focus": (  # a soft-focus lens: a sharp core haloed by a blurred copy
        S.bloom(threshold=0.0, sigma=0.02, amount=0.35),
        S.soften(sigma=0.006),
    ),
    "dreamy": (
        S.soften(sigma=0.01),
        S.bloom(threshold=0.4, amount=0.8, color=(1.0, 0.92, 0.95)),
        S.levels(black=0.12),
        S.tint(color=(1.0, 0.85, 0.95), opacity=0.3),
    ),
    "selective_focus": (  # one sharp spot, off centre, the rest soft
        S.focus_blur(sigma=0.03, center=(0.4, 0.5), size=0.12, feather=0.2),
        S.clarity(amount=0.5, sigma=0.005),
    ),
    "deep_focus": (  # everything in focus from near to far: mid-scale clarity, haze cut
        S.clarity(amount=1.0, sigma=0.03),
        S.tone_zones(shadows=-0.04, highlights=-0.06),
        S.clarity(amount=0.5, sigma=0.006),
    ),
    "shallow": (  # a thin plane of focus low in the frame, strong blur before and behind
        S.focus_blur(sigma=0.05, shape="band", center=(0.5, 0.7), size=0.03, feather=0.15),
    ),
}

#: The v3 library's twenty tools: tool -> value -> steps.
V3_RECIPES: dict[str, dict[str, tuple[Step, ...]]] = _V3

#: Values the v3 library's coarser base tools need (``vocabulary.EXTRA_VALUES``).
EXTRA_RECIPES: dict[str, dict[str, tuple[Step, ...]]] = {
    "time_period_era": {
        "retro_1980s": (  # neon-tinged, saturated, a slightly washed-out print
            S.split_tone(shadows=(0.1, 0.15, 0.5), highlights=(1.0, 0.5, 0.75), amount=0.5),
            S.saturation(factor=1.35),
            S.levels(black=0.07),
            S.bloom(threshold=0.55, color=(1.0, 0.4, 0.8), amount=0.4),
            S.grain(sigma=0.04),
            S.scanlines(period=3.0, darkness=0.15),
        ),
    },
    "color_grading": {
        "bleach_bypass": (  # silver kept in the print: desaturated, contrasty, metallic
            S.saturation(factor=0.45),
            S.s_curve(amount=0.6),
            S.contrast(amount=0.25),
            S.clarity(amount=0.4),
        ),
    },
    "atmospheric_effects": {
        "haze_soft": (
            S.haze(density=0.35, color=(0.88, 0.88, 0.9), falloff="sky"),
            S.contrast(amount=-0.15),
        ),
        "volumetric_light": (  # shafts of light made visible by the air they cross
            S.exposure(ev=-0.6),
            S.haze(density=0.25, color=(0.45, 0.45, 0.48)),
            S.rays(
                origin=(0.3, -0.2),
                color=(1.0, 0.95, 0.8),
                opacity=0.9,
                beams=8,
                width=0.08,
                fade=0.5,
                seed=2,
            ),
            S.bloom(threshold=0.6, amount=0.4),
        ),
    },
}

#: v3 values rendered as a look (palette, brushwork, geometry), not as what the name depicts.
V3_SIGNATURE_ONLY: frozenset[tuple[str, str]] = frozenset(
    [("art_movement", v) for v in _V3["art_movement"]]
    + [("illustration_style", "concept_art"), ("illustration_style", "fantasy")]
    + [("time_period_era", "retro_1980s")]
)
