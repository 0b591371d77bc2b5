"""Phrase data of the training language for the two other action libraries: train tasks only.

Test tasks never read this module (as with :mod:`styling_env.train_lexicon`, which it extends
for the values and constraints of :mod:`styling_env.library_lexicon`):

- :data:`PEOPLES_WORDS_MORE` - for each new value, three everyday words for it ("that Monet
  vibe", "dark corners", "like a cheap phone at night"); unique over every value of both
  libraries' tables (``train_lexicon.PEOPLES_WORDS`` included) and never one of the shared
  labels or phrases, so the value stays readable from the text.
- :data:`TRAIN_AREA_KEEP_PHRASES`, :data:`TRAIN_ATTRIBUTE_KEEP_PHRASES` - the constraint
  clauses of :mod:`styling_env.library_lexicon` in the train registers (terse, chatty).
- :data:`TRAIN_GRADUATED_PHRASES` - more gradient-direction phrases around the effect slot
  ``{e}``, with the shared table's meaning (``X_to_Y``: absent at X, fullest at Y).

No phrase holds an intensity cue word, and none repeats three consecutive words of a held-out
sentence frame.
"""

from __future__ import annotations

#: tool -> value -> everyday words for each new value (noun-ish phrases that fit "a smidge of
#: {p}").
PEOPLES_WORDS_MORE: dict[str, dict[str, tuple[str, ...]]] = {
    "time_period_era": {
        "retro_1980s": ("so eighties", "like Stranger Things", "80s throwback vibes"),
    },
    "color_grading": {
        "bleach_bypass": ("that gritty war-movie colour", "silvery desaturated movie look", "Saving Private Ryan colours"),
    },
    "atmospheric_effects": {
        "haze_soft": ("a bit hazy", "hazy air", "a washed hazy sky"),
        "volumetric_light": ("light you can see in the air", "glowy light in the air", "visible light in the room"),
    },
    "art_movement": {
        "impressionism": ("that Monet vibe", "like a Monet", "water lilies painting style"),
        "cubism": ("Picasso style", "all chopped into cubes", "like a Picasso"),
        "surrealism": ("Dali vibes", "melting-clocks weirdness", "weird dream art"),
        "art_deco": ("Great Gatsby poster vibes", "fancy old ocean-liner poster", "old travel-poster glam"),
        "art_nouveau": ("Mucha vibes", "curly flowery old posters", "swirly vintage flower art"),
        "pop_art": ("Warhol vibes", "like a Warhol print", "soup can art"),
        "expressionism": ("like The Scream", "angsty wobbly painting", "Munch vibes"),
        "abstract": ("just shapes and colours", "modern art gallery stuff", "abstract painting vibes"),
    },
    "painting_technique": {
        "impasto": ("paint globbed on thick", "chunky paint texture", "3D-looking paint"),
        "glazing": ("layered see-through paint", "old-master glossy layers", "glossy layered painting"),
        "pointillism": ("all made of dots", "dotty painting", "Seurat dots"),
        "stippling": ("dot shading", "pen dot drawing", "stipple art"),
        "sgraffito": ("scratched paint", "scratchy lines in paint", "scraped-off paint lines"),
        "scumbling": ("scrubby dry brush", "scrubbed-on paint", "rough dry paint strokes"),
        "wet_on_wet": ("blendy wet paint", "Bob Ross style", "happy-little-trees painting"),
    },
    "illustration_style": {
        "comic_book": ("superhero comic vibes", "like a Marvel comic", "comic panel look"),
        "manga": ("like a manga", "manga style", "manga vibes"),
        "concept_art": ("movie concept art", "like a film's art book", "pre-production art"),
        "children_book": ("kids book style", "like a kids' storybook", "bedtime story pictures"),
        "editorial": ("magazine illustration", "newspaper drawing", "op-ed art"),
        "technical": ("blueprint style", "engineering drawing", "IKEA instructions look"),
        "fantasy": ("D&D art", "fantasy book cover", "Lord of the Rings art"),
    },
    "rendering_style": {
        "photorealistic": ("CGI that looks real", "ultra realistic 3D", "Unreal Engine realism"),
        "stylized": ("Pixar-ish stylised 3D", "cartoony 3D", "stylised game graphics"),
        "cel_shaded": ("toon shading", "Zelda Wind Waker look", "cel shading"),
        "sketch": ("sketchy 3D", "hand-drawn-looking render", "rough sketch shader"),
        "wireframe": ("just the wireframe", "mesh lines", "Tron wireframe"),
        "low_poly": ("blocky polygons", "PlayStation 1 graphics", "old-school polygon look"),
        "painterly": ("painted-looking 3D", "Arcane vibes", "hand-painted CG"),
    },
    "texture_overlay": {
        "canvas": ("canvas look", "printed on canvas", "canvas print feel"),
        "paper": ("papery texture", "on rough paper", "paper grain"),
        "fabric": ("cloth texture", "like it's on fabric", "burlap look"),
        "wood_grain": ("woody texture", "on a wooden board", "wood grain"),
        "metal": ("metallic texture", "brushed metal", "on a sheet of metal"),
        "stone": ("rocky texture", "carved in stone", "on a stone wall"),
        "concrete": ("on a cement wall", "street wall texture", "grey cement look"),
        "aged": ("old and worn", "beat-up old print", "worn antique look"),
    },
    "filter_effects": {
        "vintage": ("vintage filter vibes", "old snapshot filter", "retro filter"),
        "cross_process": ("cross processing", "weird 90s film colours", "x-pro filter"),
        "lomography": ("lomo vibes", "toy camera look", "Holga vibes"),
        "infrared": ("infrared vibes", "white trees infrared", "IR camera look"),
        "polaroid": ("Polaroid vibes", "Polaroid snap", "instant camera look"),
        "sepia": ("brown-tinted filter", "brownish old filter", "chocolate-brown filter"),
        "cyanotype": ("blueprint picture", "blue sun print", "cyanotype vibes"),
    },
    "color_palette": {
        "monochrome": ("all one colour", "one-colour vibes", "single colour look"),
        "duotone": ("two-colour look", "duotone vibes", "two tone poster"),
        "complementary": ("opposite colours", "colours that clash nicely", "contrasting colour pairs"),
        "analogous": ("colours that go together", "matching neighbour colours", "similar colours only"),
        "triadic": ("three-colour scheme", "three main colours", "primary trio colours"),
        "pastel": ("pastel everything", "soft baby colours", "sweet pastel vibes"),
        "neon": ("highlighter colours", "fluoro colours", "acid bright colours"),
        "earth_tones": ("earthy palette", "brown and green palette", "rust and olive palette"),
    },
    "color_temperature": {
        "very_warm": ("super warm", "orange as heck", "super orange white balance"),
        "warm": ("warmer", "a warmer white balance", "warm it up"),
        "neutral": ("neutral white balance", "fix the white balance", "no colour tint"),
        "cool": ("cooler", "a cooler white balance", "cool it down"),
        "very_cool": ("super cool tones", "a blue-ish white balance", "very blue"),
        "icy": ("ice cold", "frozen look", "freezing cold colours"),
    },
    "saturation_intensity": {
        "desaturated": ("almost no colour", "nearly grey", "drain the colour"),
        "muted": ("toned-down colours", "calmer colours", "not so colourful"),
        "natural": ("normal saturation", "realistic colours", "true colours"),
        "vibrant": ("more colourful", "vibrant colours please", "poppier colours"),
        "hyper_saturated": ("oversaturated", "crazy saturated", "saturation through the roof"),
    },
    "contrast_style": {
        "low_contrast": ("flatter tones", "softer contrast", "flat matte tones"),
        "normal": ("regular contrast", "normal-looking contrast", "standard contrast"),
        "high_contrast": ("punchier contrast", "hard contrasty look", "contrast pushed up"),
        "hdr": ("HDR", "HDR vibes", "over-the-top HDR"),
        "crushed_blacks": ("crush the blacks", "deep blacks", "inky blacks"),
        "blown_highlights": ("blown out", "overexposed", "blown-out whites"),
    },
    "tonal_range": {
        "low_key": ("low key", "dark and moody tones", "mostly shadows"),
        "mid_key": ("mid tones", "middle greys", "medium tones"),
        "high_key": ("high key", "bright and airy", "light and airy"),
    },
    "lighting_style": {
        "rembrandt": ("Rembrandt light", "old painting portrait light", "triangle cheek light"),
        "butterfly": ("glamour light", "beauty lighting", "butterfly light"),
        "split": ("half-face lighting", "half lit face", "split light"),
        "rim": ("rim lighting", "backlit outline", "edge light"),
        "loop": ("loop light", "classic headshot light", "standard portrait light"),
        "broad": ("broad light", "wide face lighting", "face-on lighting"),
        "short": ("short light", "slimming portrait light", "far-side lighting"),
        "dramatic": ("spotlight", "noir lighting", "single spotlight"),
    },
    "light_quality": {
        "hard": ("harsh light", "hard shadows", "direct sun"),
        "soft": ("softer light", "soft window light", "flattering light"),
        "diffused": ("diffused", "diffuse light", "cloudy-day light"),
        "specular": ("shiny highlights", "glints", "sparkly reflections"),
        "mixed": ("mixed light", "warm and cool lights", "different coloured lights"),
    },
    "shadow_treatment": {
        "dramatic": ("big dramatic shadows", "dark moody shadows", "intense shadows"),
        "minimal": ("no shadows", "hardly any shadows", "shadowless"),
        "colored": ("colourful shadows", "blue shadows", "purple shadows"),
        "long": ("long shadows please", "stretched shadows", "late-day shadows"),
        "short": ("short little shadows", "midday shadows", "shadows right underneath"),
        "stylized": ("comic-style shadows", "flat shadows", "graphic-novel shadows"),
    },
    "glow_effects": {
        "neon": ("neon tube halo", "neon sign halo", "glowing neon"),
        "golden_hour": ("gold halo", "warm gold sheen", "golden shine"),
        "bioluminescence": ("glowing sea critters", "glowing jellyfish vibes", "bioluminescent"),
        "magic": ("magic shimmer", "magical light", "pixie shimmer"),
        "energy": ("charged aura", "power-core shine", "plasma shine"),
        "soft_glow": ("soft dreamy bloom", "glowy highlights", "gentle bloom"),
    },
    "atmospheric_depth": {
        "aerial_perspective": ("blue distant hills", "faded far-away hills", "hazy blue distance"),
        "depth_haze": ("haze in the distance", "hazy background", "far stuff in haze"),
        "layered_atmosphere": ("layers of hills", "misty layers", "layered hills fading out"),
        "color_fade": ("colours fading into the distance", "faded far colours", "washed-out distance"),
    },
    "motion_aesthetics": {
        "motion_blur": ("panning shot", "blurry background from panning", "pan blur"),
        "freeze_frame": ("frozen moment", "freeze frame vibes", "stopped in time"),
        "long_exposure": ("long exposure", "light trails", "silky water"),
        "speed_lines": ("motion lines", "zoom lines drawn in", "comic motion lines"),
        "time_slice": ("time slice", "multiple exposure poses", "strobe sequence"),
    },
    "lens_character": {
        "bokeh": ("blurry background", "portrait mode blur", "nice background blur"),
        "vignette": ("vignette", "dark corners", "vignetting"),
        "lens_flare": ("anamorphic flares", "flare streaks", "blue streak flare"),
        "chromatic_aberration": ("colour fringing", "RGB split", "chromatic aberration vibes"),
        "distortion": ("bendy lens", "warped lines", "bulging lens look"),
        "tilt_shift": ("tilt shift", "miniature look", "toy town look"),
    },
    "grain_noise": {
        "film_grain": ("Tri-X grain", "analog film grit", "grainy film stock"),
        "digital_noise": ("digital noise", "ISO noise", "like a cheap phone at night"),
        "halftone": ("halftone", "newspaper dots", "print dots"),
        "texture_noise": ("gritty texture", "noisy texture", "sandy texture"),
        "organic": ("natural grain", "organic texture", "random speckles"),
    },
    "sharpness_softness": {
        "sharp_detail": ("super sharp", "sharpen it", "crisp and sharp"),
        "soft_focus": ("soft-focus filter", "soft and blurry", "softened"),
        "dreamy": ("dreamy", "dream-like", "floaty dreamy look"),
        "selective_focus": ("focus on one thing", "selective focus vibes", "one thing in focus"),
        "deep_focus": ("everything in focus", "all sharp", "sharp front to back"),
        "shallow": ("shallow depth of field", "shallow focus", "thin focus"),
    },
}  # fmt: skip

#: area -> extra clauses asking to leave that area as it is.
TRAIN_AREA_KEEP_PHRASES: dict[str, tuple[str, ...]] = {
    "left_half": ("the left side stays the same", "hands off the left half", "don't mess with the left side"),
    "right_half": ("the right side stays the same", "hands off the right half", "don't mess with the right side"),
    "top_half": ("the top stays the same", "hands off the top half", "don't mess with the top part"),
    "bottom_half": ("the bottom stays the same", "hands off the bottom half", "don't mess with the bottom part"),
    "center": ("the middle stays the same", "hands off the middle", "don't mess with the centre"),
    "edges": ("the edges stay the same", "hands off the edges", "don't mess with the borders"),
    "indoor": ("the inside stays the same", "hands off the indoor stuff", "don't mess with the interior"),
    "outdoor": ("the outside stays the same", "hands off the outdoor stuff", "don't mess with the view outside"),
}  # fmt: skip

#: gradient direction -> extra phrases around the effect's slot ``{e}`` (same meaning as
#: ``library_lexicon.GRADUATED_PHRASES["direction"]``).
TRAIN_GRADUATED_PHRASES: dict[str, tuple[str, ...]] = {
    "top_to_bottom": ("{e} fading in from the top, strongest at the bottom", "{e} at the bottom, clear up top", "{e} getting thicker as you go down"),
    "bottom_to_top": ("{e} fading in from the bottom, strongest at the top", "{e} up top, clear at the bottom", "{e} getting thicker as you go up"),
    "left_to_right": ("{e} fading in from the left, strongest on the right", "{e} on the right, clear on the left", "{e} getting thicker from left to right"),
    "right_to_left": ("{e} fading in from the right, strongest on the left", "{e} on the left, clear on the right", "{e} getting thicker from right to left"),
    "center_out": ("{e} around the edges, clear in the middle", "{e} getting thicker towards the edges", "{e} only round the outside, fading to nothing in the middle"),
    "edges_in": ("{e} in the middle, clear at the edges", "{e} getting thicker towards the middle", "{e} only in the centre, fading to nothing at the edges"),
}  # fmt: skip

#: attribute -> scope -> extra clauses keeping that attribute.
TRAIN_ATTRIBUTE_KEEP_PHRASES: dict[str, dict[str, tuple[str, ...]]] = {
    "lighting": {
        "everywhere": ("same lighting as before", "don't mess with the lighting"),
        "subject": ("the light on the subject stays", "don't mess with how the subject is lit"),
        "background": ("the background light stays", "don't mess with the background lighting"),
    },
    "color": {
        "everywhere": ("same colours as before", "don't mess with the colours"),
        "subject": ("the subject's colours stay", "don't mess with the subject's colours"),
        "background": ("the background colours stay", "don't mess with the background colours"),
    },
    "texture": {
        "everywhere": ("same textures as before", "don't mess with the textures"),
        "subject": ("the subject's texture stays", "don't mess with the subject's texture"),
        "background": ("the background textures stay", "don't mess with the background textures"),
    },
}  # fmt: skip
