"""Phrase data of the training language: the words only train tasks are written with.

Test tasks never read this module, so nothing here can leak into a held-out instruction; it adds
to :mod:`styling_env.lexicon` (shared by both splits) the ways people actually ask for an edit:

- :data:`TRAIN_FRAMES` - more train sentence frames per tier, in the registers people write in:
  terse fragments ("{items}"), chatty asks ("hey could you make this feel like {items}?"),
  questions, indirect wishes. Same slots as :data:`styling_env.lexicon.TEMPLATES`.
- :data:`PEOPLES_WORDS` - for each of the 171 tool values, everyday words for it ("old-timey
  photo colours", "like a polaroid", "Blade Runner city"); unique over all values, so the value
  is still readable from the text.
- :data:`TRAIN_INTENSITY` - per strength level, new cue words and the hedges built on them
  ("a smidge of {p}", "{p}, but don't overdo it", "{p}, no holding back"); a cue word appears
  nowhere else in either lexicon, so the strength stays readable. :data:`NOT_TOO` gives negated
  subtle forms that keep the meaning ("night, but not too dark" = night at a low strength).
- Constraint, predicate and conditional phrasings in the same registers, the abbreviations of
  the surface noise (:data:`ABBREVIATIONS`) and its rates (:data:`NOISE`).
"""

from __future__ import annotations

#: Extra train frames per tier (slots as in ``lexicon.TEMPLATES``). Their template ids follow the
#: shared train frames' ids (``simple/train/24`` onwards). A frame starts upper case like every
#: instruction; lower-case writing comes from the surface noise.
TRAIN_FRAMES: dict[str, tuple[str, ...]] = {
    "simple": (
        "{items}",
        "{items}, please.",
        "{items}?",
        "Hey, could you make this feel like {items}?",
        "Hi! i'd love this with {items}, thanks",
        "Ok so basically {items}",
        "I want {items}",
        "Can you add {items} to this",
        "Make it {items}",
        "Just {items}, nothing else",
        "Thinking {items} for this one",
        "Would it be possible to get {items}?",
        "{items} - that's all",
        "Vibe: {items}",
        "Looking for {items} here.",
        "So I took this photo and I want {items}",
        "This photo, except with {items}",
        "Idk, {items}?",
        "Any chance you could do {items}?",
        "The goal: {items}.",
        "I'd like it to feel like {items}.",
        "Can I get {items} on this pic?",
        "Need {items} asap",
        "Not sure how to say it but {items}",
    ),
    "regular": (
        "{theme}: {items}",
        "My {theme} but with {items}",
        "Hey can you redo my {theme} with {items}?",
        "{items} for the {theme}, please",
        "Want the {theme} to feel like {items}",
        "Ok so this is my {theme}, I'd love {items}",
        "What if the {theme} had {items}?",
        "{theme} makeover - {items}",
        "Can the {theme} get {items}",
        "Thinking of redoing the {theme}: {items}, that kind of thing",
        "Just moved in! The {theme} needs {items}.",
        "{items} in the {theme}, please.",
        "So this {theme} of mine... {items}?",
        "Could you make the {theme} feel more like {items}?",
        "For {a_theme}, I'd go with {items}.",
        "The {theme} is so boring, give it {items}",
        "Vibe for the {theme}: {items}.",
        "Is it possible to give the {theme} {items}?",
        "Help me restyle this {theme}: {items}",
        "{items} - it's for {a_theme}, thanks!",
        "I keep imagining my {theme} with {items}. Can you do that?",
        "{theme}, {items}, go",
        "My {theme} needs a refresh. {items}",
        "Redo the {theme} around {items} if possible",
    ),
    "complex": (
        "{a_theme}: {items}. {extra}",
        "Hey so I want {a_theme} vibe, like {items}. {extra}",
        "Ok here's the plan... {a_theme}, {items}. {extra}",
        "{theme} vibes please! {items}. {extra}",
        "Can you make this look like {a_theme}? {items}. {extra}",
        "{extra} other than that: {a_theme}, {items}",
        "{items} - basically {a_theme}. {extra}",
        "What I'm imagining is {a_theme} with {items}. {extra}",
        "So I'd love {a_theme}. {items}, that kind of thing. {extra}",
        "{a_theme}, think {items}. {extra}",
        "Going for {a_theme} here: {items}. {extra}",
        "{extra} Main thing though: {a_theme}, {items}.",
        "Please make it {a_theme}!! {items}. {extra}",
        "I've got this idea for {a_theme} - {items}. {extra}",
        "{a_theme}!! {items}. {extra}",
        "Want it to look like {a_theme}: {items}. {extra}",
        "Mood: {theme}. Add {items}. {extra}",
        "Hi, could you make this {a_theme}? I'm picturing {items}. {extra}",
        "Basically {a_theme}. {items}. {extra}",
        "{extra} And go for {a_theme}, with {items}.",
        "Trying to get {a_theme} look here, so {items}. {extra}",
        "How would {a_theme} look? Try {items}. {extra}",
        "Idea: {theme}. {items}. {extra}",
        "{extra} Anyway, {a_theme} is what I'm after - {items}.",
    ),
}

#: tool -> value -> everyday words for the value (noun-ish phrases that fit "a smidge of {p}").
PEOPLES_WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "location_setting": {
        "urban_city": ("big city vibes", "downtown", "the concrete jungle"),
        "suburban_neighborhood": ("suburbia", "the burbs", "a nice boring suburb"),
        "rural_village": ("a quaint village", "village life", "a countryside village"),
        "industrial_zone": ("a factory area", "an industrial estate", "gritty industrial vibes"),
        "commercial_district": ("shops everywhere", "a shopping street", "high-street shopping vibes"),
        "beach_coast": ("beachy vibes", "the seaside", "a day at the beach"),
        "tropical_island": ("island vacation vibes", "a tropical getaway", "like Hawaii"),
        "ocean_open_water": ("out at sea", "open ocean", "no land in sight, just sea"),
        "underwater_reef": ("under the sea", "scuba-diving vibes", "underwater"),
        "arctic_ice": ("the north pole", "icy tundra", "polar vibes"),
        "forest_temperate": ("in the woods", "forest vibes", "a walk in the woods"),
        "jungle_tropical": ("jungle vibes", "rainforest", "like the Amazon"),
        "desert_sand": ("desert vibes", "sand dunes everywhere", "the middle-of-nowhere desert"),
        "mountain_rocky": ("up in the mountains", "alpine scenery", "mountain vibes"),
        "canyon_valley": ("Grand Canyon vibes", "a gorge", "red rock canyon country"),
        "plains_grassland": ("open fields", "prairie", "meadows for miles"),
        "swamp_wetland": ("marshland", "bayou vibes", "a swampy place"),
        "cave_underground": ("inside a cave", "underground", "cavern vibes"),
        "volcano_lava": ("lava everywhere", "volcanic land", "Mordor-ish lava"),
        "space_station": ("on a space station", "like the ISS", "a sci-fi spaceship interior"),
        "alien_planet": ("another planet", "alien world vibes", "like Mars but weirder"),
        "fantasy_castle": ("a Disney castle", "fairy-tale castle vibes", "a castle setting"),
        "medieval_town": ("an old medieval town", "a knights-and-markets town", "Game of Thrones town"),
        "cyberpunk_city": ("Blade Runner city", "cyberpunk streets", "a grimy future city"),
        "post_apocalyptic": ("post-apocalyptic", "end-of-the-world vibes", "like The Last of Us"),
        "haunted_mansion": ("a haunted house", "a spooky mansion", "a creepy old house"),
        "temple_shrine": ("a shrine", "temple grounds", "sacred temple vibes"),
        "palace_interior": ("a throne room", "palace rooms", "royal interiors"),
        "office_modern": ("an office", "corporate office vibes", "a workplace"),
        "bedroom_interior": ("a bedroom", "somebody's bedroom", "where someone sleeps"),
    },
    "architecture_style": {
        "modern_minimalist": ("minimalism", "Scandinavian minimal", "clean and minimal buildings"),
        "contemporary_glass": ("glass buildings", "all-glass architecture", "modern glass"),
        "brutalist_concrete": ("brutalism", "concrete blocks", "Soviet-block concrete"),
        "art_deco_geometric": ("deco style", "Chrysler-building style", "art-deco buildings"),
        "victorian_ornate": ("Victorian houses", "ornate old houses", "painted-lady houses"),
        "medieval_stone": ("old stone buildings", "stone walls", "castle-like stone"),
        "renaissance_classical": ("Renaissance buildings", "Florence architecture", "classical Italian buildings"),
        "baroque_elaborate": ("baroque style", "gold ornaments everywhere", "fancy gilded curls"),
        "japanese_traditional": ("Japanese style", "old Japan", "like a ryokan"),
        "moroccan_islamic": ("Moroccan style", "like Marrakech", "mosaic tiles and arches"),
        "greek_classical": ("Greek columns", "ancient Greek buildings", "the Parthenon look"),
        "roman_imperial": ("ancient Rome", "Roman style", "like the Colosseum"),
        "gothic_cathedral": ("gothic", "cathedral vibes", "like Notre-Dame"),
        "industrial_warehouse": ("warehouse style", "exposed brick", "loft-style industrial"),
        "steampunk_mechanical": ("steampunk", "gears everywhere", "brass and steam machines"),
        "cyberpunk_neon": ("neon buildings", "neon signs everywhere", "neon-sign architecture"),
        "futuristic_sleek": ("futuristic", "sci-fi buildings", "sleek white future buildings"),
        "organic_biomorphic": ("organic shapes", "Gaudi-style", "blobby organic buildings"),
        "fantasy_magical": ("fantasy buildings", "an elf city", "Rivendell vibes"),
        "ruins_ancient": ("old ruins", "a ruined city", "Indiana Jones ruins"),
    },
    "time_period_era": {
        "prehistoric_stone_age": ("caveman times", "prehistoric", "the Flintstones era"),
        "ancient_classical": ("the ancient world", "toga times", "back in ancient times"),
        "medieval_dark_ages": ("medieval times", "back when knights existed", "olden days with knights"),
        "renaissance_1500s": ("Tudor times", "the Renaissance period", "da Vinci's time"),
        "baroque_1700s": ("the 18th century", "the Marie Antoinette era", "powdered-wig times"),
        "victorian_1800s": ("Victorian times", "the 19th century", "the Sherlock Holmes era"),
        "art_nouveau_1900s": ("around 1900", "the art nouveau era", "Edwardian times"),
        "art_deco_1920s": ("the twenties", "1920s", "the Great Gatsby era"),
        "mid_century_1950s": ("the 50s", "retro fifties", "1950s Americana"),
        "contemporary_2000s": ("modern day", "nowadays", "today"),
        "near_future_2050": ("the near future", "a few years from now", "2050-ish"),
        "far_future_2200": ("the far future", "way in the future", "centuries ahead"),
        "cyberpunk_dystopia": ("dystopian", "a cyberpunk future", "Black Mirror vibes"),
        "steampunk_alternate": ("a steampunk world", "Victorian sci-fi", "the Jules Verne era"),
        "solarpunk_green_future": ("an eco future", "a green utopia", "a plants-and-solar-panels future"),
    },
    "time_of_day": {
        "pre_dawn": ("before sunrise", "4am", "early early morning"),
        "sunrise_golden": ("sunrise", "dawn", "a morning sunrise glow"),
        "morning_bright": ("morning light", "a bright morning", "early in the day"),
        "midday_overhead": ("midday", "lunchtime sun", "noon sun"),
        "afternoon_warm": ("afternoon light", "late afternoon", "after-lunch sun"),
        "golden_hour_sunset": ("golden hour", "sunset", "sundown"),
        "dusk_twilight": ("dusk", "twilight", "right after sunset"),
        "blue_hour": ("that bluish evening light", "just as the streetlights come on", "the blue hour after sunset"),
        "night_moonlit": ("nighttime", "a night with a moon", "moonlight"),
        "midnight_dark": ("midnight", "the middle of the night", "super late at night"),
    },
    "season_cycle": {
        "spring_blooming": ("springtime", "spring vibes", "flowers blooming"),
        "summer_lush": ("summertime", "summer vibes", "peak summer"),
        "autumn_falling": ("fall", "autumn vibes", "fall foliage"),
        "winter_bare": ("wintery", "winter vibes", "cold winter"),
    },
    "weather_conditions": {
        "clear_sunny": ("sunshine", "a sunny day", "blue skies"),
        "partly_cloudy": ("some clouds", "a few clouds", "sun with some clouds"),
        "overcast_gray": ("grey skies", "cloudy", "gloomy overcast"),
        "light_rain": ("drizzly", "light rain", "some rain"),
        "heavy_rain": ("pouring rain", "a rainstorm", "soaking wet rain"),
        "thunderstorm": ("a storm", "thunder and lightning", "stormy"),
        "light_snow": ("snowy", "some snow", "a little snowfall"),
        "heavy_snow_blizzard": ("a snowstorm", "a blizzard", "buried in snow"),
        "fog_dense": ("foggy", "thick fog", "fog everywhere"),
        "mist_light": ("misty", "a misty morning haze", "hazy mist"),
        "sandstorm": ("a dust storm", "sand blowing", "sandstorm vibes"),
        "hail": ("hailing", "hail stones", "hail falling"),
    },
    "mood_lighting": {
        "bright_cheerful": ("happy vibes", "cheerful", "sunny and happy"),
        "soft_cozy": ("cozy vibes", "comfy", "snuggly"),
        "mysterious_shadowy": ("mysterious", "shadowy", "secretive vibes"),
        "dramatic_cinematic": ("cinematic", "like a movie", "dramatic lighting"),
        "ominous_dark": ("ominous", "dark and threatening", "doom vibes"),
        "romantic_intimate": ("romantic", "date night", "lovey-dovey"),
        "energetic_vibrant": ("energetic", "lively", "poppy energy"),
        "melancholic_somber": ("sad vibes", "melancholic", "moody and sad"),
        "whimsical_playful": ("whimsical", "playful", "quirky and fun"),
        "nostalgic_sepia": ("nostalgia", "nostalgic vibes", "like an old memory"),
        "tense_suspenseful": ("suspense", "tense", "thriller vibes"),
        "serene_calm": ("peaceful", "calm and quiet", "chill vibes"),
        "eerie_unsettling": ("creepy", "unsettling vibes", "off-putting and strange"),
        "epic_grand": ("epic", "grand", "Lord of the Rings epic"),
        "hopeful_uplifting": ("hopeful", "uplifting", "optimistic vibes"),
    },
    "color_grading": {
        "warm_sunset": ("warmer colours", "warm tones", "orangey"),
        "cool_blue": ("cooler colours", "cold blue tones", "bluish"),
        "neutral_balanced": ("natural colours", "neutral colours", "no colour cast"),
        "monochrome_bw": ("b&w", "black & white", "greyscale"),
        "sepia_vintage": ("sepia", "old-timey photo colours", "brownish vintage"),
        "pastel_soft": ("pastels", "pastel", "soft candy colours"),
        "neon_electric": ("neon vibes", "electric colours", "glowy neon"),
        "earth_natural": ("earthy", "earth tones", "browns and greens"),
        "jewel_rich": ("rich colours", "jewel colours", "deep saturated colours"),
        "desaturated_muted": ("muted", "desaturated", "less colour"),
        "high_contrast": ("contrasty", "more contrast", "punchy contrast"),
        "low_contrast": ("faded", "a matte look", "less contrast"),
        "golden_hour": ("golden tones", "a gold tint", "a warm golden grade"),
        "blue_hour": ("a blue tint", "a blue-ish evening grade", "indigo tones"),
        "orange_teal": ("teal and orange", "the Hollywood look", "blockbuster colours"),
        "purple_pink": ("pink and purple", "vaporwave colours", "lavender tones"),
        "green_nature": ("greener", "a green tint", "more green"),
        "red_dramatic": ("a red tint", "reds", "blood red"),
    },
    "artistic_medium": {
        "photorealistic": ("realistic", "like a real photo", "a normal photo"),
        "hyperrealistic": ("hyper-realistic", "ultra detailed", "8k detail"),
        "film_photography": ("like a polaroid", "analog look", "shot on film"),
        "oil_painting_thick": ("Van Gogh style", "thick paint", "impasto"),
        "oil_painting_smooth": ("an oil painting", "like an old master painting", "Rembrandt style"),
        "watercolor_flowing": ("watercolor", "a watercolour painting", "wet watercolour"),
        "watercolor_dry": ("dry brush watercolour", "sketchy watercolour", "watercolour sketchbook"),
        "acrylic_painting": ("acrylics", "acrylic paint", "painted on canvas"),
        "gouache": ("gouache painting", "poster paint", "storybook gouache"),
        "ink_brush": ("sumi-e", "Chinese ink painting", "ink and brush"),
        "pen_ink_lines": ("line art", "a pen drawing", "inked lines"),
        "pencil_sketch": ("a pencil drawing", "a sketch", "graphite"),
        "charcoal_sketch": ("a charcoal drawing", "smudgy charcoal", "charcoal sketch"),
        "pastel_drawing": ("chalk pastels", "pastel crayons", "oil pastels"),
        "digital_painting": ("digital art", "concept art", "digital paint"),
        "vector_art": ("vector", "flat design", "a flat illustration"),
        "3d_rendered": ("3d", "CGI", "Pixar style"),
        "low_poly": ("low-poly", "polygon art", "PS1 graphics"),
        "pixel_art": ("pixelated", "8-bit", "retro game pixels"),
        "anime_cel_shaded": ("anime style", "Ghibli", "like an anime"),
        "cartoon_illustrated": ("cartoony", "cartoon style", "like a cartoon"),
        "collage_mixed_media": ("a collage", "scrapbook", "mixed media"),
    },
    "atmospheric_effects": {
        "dust_particles": ("dusty air", "dust in the air", "floating dust"),
        "smoke_haze": ("smoky", "some smoke", "haze from smoke"),
        "fog_volumetric": ("glowing fog", "light through fog", "fog you can see the light in"),
        "mist_ground": ("low fog on the ground", "ground fog", "misty ground"),
        "steam_rising": ("steamy", "rising steam", "some steam"),
        "rain_falling": ("raindrops", "visible rain", "rain streaks in the air"),
        "snow_falling": ("falling snowflakes", "snowflakes", "snow falling"),
        "leaves_falling": ("leaves blowing around", "leaves in the air", "swirling leaves"),
        "petals_floating": ("flower petals", "petals flying", "blossom petals"),
        "ash_embers": ("embers", "sparks and ash", "floating embers"),
        "sparkles_magical": ("sparkly", "glitter", "magic sparkles"),
        "glowing_aura": ("glowy", "a glow", "a dreamy glow"),
        "energy_particles": ("energy sparks", "magic energy", "power-up particles"),
        "light_beams_godrays": ("sun rays", "light rays", "sunbeams"),
        "lens_flare": ("lens flares", "flare", "J.J. Abrams flares"),
        "bokeh_lights": ("bokeh", "blurry lights", "fairy-light bokeh"),
        "motion_blur": ("blur", "motion blur", "speed blur"),
        "speed_lines": ("action lines", "anime speed lines", "zoom lines"),
        "lens_distortion": ("fisheye lens", "a GoPro look", "warped edges"),
        "film_grain": ("grain", "grainy", "noise like film"),
        "holographic_glitch": ("a hologram effect", "holographic", "a glitchy hologram"),
        "digital_artifacts": ("glitchy", "a glitch effect", "corrupted pixels"),
        "cracks_damage": ("cracked", "damaged", "cracks everywhere"),
        "debris_floating": ("flying rubble", "debris in the air", "bits floating around"),
        "bioluminescence": ("glowing plants", "glow-in-the-dark", "Avatar glow"),
    },
}  # fmt: skip

#: level -> (new cue words, wrappers). Each wrapper holds one of the level's cue words (old or
#: new); the plain ``"{p}"`` is moderate. Added to ``lexicon.INTENSITY``'s wrappers for train.
TRAIN_INTENSITY: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "subtle": (
        ("smidge", "tad", "barely", "too", "overdo", "lightly", "tiny"),
        ("a smidge of {p}", "{p}, just a tad", "{p}, barely there", "a tiny bit of {p}",
         "{p}, but don't overdo it", "{p}, nothing too strong", "{p}, lightly",
         "not too much {p}", "only a hint of {p}", "just a faint trace of {p}"),
    ),
    "moderate": (
        ("decent", "halfway", "reasonable", "midway"),
        ("{p}", "{p}", "{p}", "{p}", "a decent amount of {p}", "{p}, about halfway",
         "a reasonable amount of {p}", "{p}, midway", "some noticeable {p}"),
    ),
    "strong": (
        ("tons", "loads", "cranked", "strongly", "shy", "heavily"),
        ("tons of {p}", "loads of {p}", "{p}, cranked up", "{p}, strongly", "{p}, don't be shy",
         "{p}, heavily", "really strong {p}"),
    ),
    "full": (
        ("totally", "entirely", "blast", "eleven", "holding"),
        ("{p}, totally", "{p}, entirely", "{p} at full blast", "{p}, turned up to eleven",
         "{p}, no holding back", "go all in on {p}, max"),
    ),
}  # fmt: skip

#: tool -> value -> the adjective of a negated subtle form, "{p}, but not too {adj}": the value
#: at a low strength, never its opposite.
NOT_TOO: dict[str, dict[str, str]] = {
    "time_of_day": {"pre_dawn": "dark", "dusk_twilight": "dark", "night_moonlit": "dark",
                    "midnight_dark": "dark", "midday_overhead": "harsh", "blue_hour": "blue"},
    "weather_conditions": {"heavy_rain": "wet", "thunderstorm": "wild", "fog_dense": "thick",
                           "heavy_snow_blizzard": "wild", "sandstorm": "dusty",
                           "overcast_gray": "gloomy", "clear_sunny": "bright"},
    "mood_lighting": {"ominous_dark": "dark", "dramatic_cinematic": "dramatic",
                      "mysterious_shadowy": "dark", "eerie_unsettling": "creepy",
                      "romantic_intimate": "cheesy", "whimsical_playful": "silly",
                      "energetic_vibrant": "loud", "melancholic_somber": "sad"},
    "color_grading": {"warm_sunset": "orange", "cool_blue": "blue", "neon_electric": "garish",
                      "high_contrast": "harsh", "low_contrast": "flat", "desaturated_muted": "grey",
                      "sepia_vintage": "brown", "red_dramatic": "red", "green_nature": "green",
                      "purple_pink": "pink", "pastel_soft": "sweet", "golden_hour": "yellow"},
    "atmospheric_effects": {"film_grain": "noisy", "motion_blur": "blurry", "lens_flare": "flashy",
                            "sparkles_magical": "glittery", "smoke_haze": "smoky",
                            "lens_distortion": "warped", "digital_artifacts": "broken",
                            "glowing_aura": "glowy"},
    "artistic_medium": {"oil_painting_thick": "messy", "cartoon_illustrated": "childish",
                        "pixel_art": "blocky"},
    "season_cycle": {"winter_bare": "bleak"},
}  # fmt: skip
#: Share of subtle targets said with :data:`NOT_TOO` where the value has one.
NOT_TOO_RATE: float = 0.3

#: Regular theme -> extra train phrases for it.
TRAIN_THEME_PHRASES: dict[str, tuple[str, ...]] = {
    "modern living room": ("living room", "lounge"),
    "traditional bedroom": ("old-style bedroom", "guest bedroom"),
    "urban kitchen": ("kitchen", "apartment kitchen"),
    "cozy office": ("home office", "study"),
    "minimalist bathroom": ("bathroom", "simple bathroom"),
    "rustic dining room": ("dining room", "farmhouse-style dining room"),
    "contemporary studio": ("studio", "studio flat"),
    "classic library": ("library", "reading room"),
    "industrial loft": ("loft", "loft apartment"),
    "zen meditation room": ("meditation room", "yoga room"),
}

# --------------------------------------------------------------------------------------------
# Constraints and conditionals

#: region -> image kind -> extra clauses asking to keep that region.
TRAIN_PRESERVE_REGION_PHRASES: dict[str, dict[str, tuple[str, ...]]] = {
    "sky": {"outdoor": ("the sky stays the same", "don't mess with the sky", "no changes to the sky"),
            "interior": ("the window view stays", "don't mess with the window view")},
    "ground": {"outdoor": ("the ground stays the same", "don't mess with the ground"),
               "interior": ("the floor stays as is", "don't mess with the floor")},
    "vegetation": {"outdoor": ("trees and plants stay the same", "don't mess with the greenery"),
                   "interior": ("the plants stay as they are", "don't mess with the plants")},
    "water": {"outdoor": ("the water stays the same", "don't mess with the water"),
              "interior": ("the water stays the same", "don't mess with the water")},
    "buildings": {"outdoor": ("the buildings stay as they are", "don't mess with the buildings"),
                  "interior": ("the walls stay as they are", "don't mess with the walls")},
    "subject": {"outdoor": ("the main subject stays as is", "hands off the main subject"),
                "interior": ("the main furniture stays as is", "hands off the main furniture")},
    "background": {"outdoor": ("only change the subject, not the background", "the background stays the same"),
                   "interior": ("the room around the furniture stays the same", "only change the furniture, not the room")},
}  # fmt: skip

#: image kind -> extra clauses asking to keep the foreground subject.
TRAIN_PRESERVE_SUBJECT_PHRASES: dict[str, tuple[str, ...]] = {
    "outdoor": ("hands off the person or subject", "don't edit whoever is in front"),
    "interior": ("hands off the centrepiece furniture", "the main piece of furniture stays"),
    "photo": ("don't change the person", "leave the subject alone, please"),
}

#: Extra clauses asking for a photograph to stay a photograph (no art filter; colour grades and
#: light are still allowed, so no clause forbids "filters" outright).
TRAIN_KEEP_PHOTOREALISTIC_PHRASES: tuple[str, ...] = (
    "no art filters, keep it real",
    "it still has to look like a photo",
    "no painting effects, it stays a real photo",
    "don't make it look fake or painted",
)

#: tool -> the noun people use for it, for the train "avoid" and "keep" clauses.
TOOL_NOUNS: dict[str, str] = {
    "location_setting": "location",
    "architecture_style": "architecture",
    "time_period_era": "time period",
    "time_of_day": "time of day",
    "season_cycle": "season",
    "weather_conditions": "weather",
    "mood_lighting": "mood lighting",
    "color_grading": "colour grade",
    "artistic_medium": "art style",
    "atmospheric_effects": "effects",
}
#: Frames of a train clause forbidding a tool ({n} = its noun).
TRAIN_AVOID_FRAMES: tuple[str, ...] = (
    "no changing the {n}",
    "leave the {n} alone",
    "hands off the {n}",
    "keep the same {n}",
)
#: Frames of a train conditional branch that asks for nothing of a tool ({n} = its noun).
TRAIN_KEEP_FRAMES: tuple[str, ...] = ("don't bother with the {n}", "no change to the {n}")

#: Extra frames of the constraint sentence ({c}).
TRAIN_CONSTRAINT_FRAMES: tuple[str, ...] = (
    "{c}, please.", "Oh and {c}.", "But {c}!", "PS: {c}.", "{c}, that's important.", "Also {c}.",
    "{c} though.",
)  # fmt: skip
TRAIN_CONSTRAINT_JOINS: tuple[str, ...] = (" and ", ", plus ", " + ")

#: Extra train frames of a conditional sentence (slots as in ``lexicon.CONDITIONAL_FRAMES``).
TRAIN_CONDITIONAL_FRAMES: tuple[str, ...] = (
    "If {pred} then {then}, if not {otherwise}",
    "{then} if {pred}, otherwise {otherwise}.",
    "{pred}? then {then}. no? {otherwise}.",
    "If {pred}: {then}. Else: {otherwise}.",
    "Depends - if {pred}, {then}; if it isn't, {otherwise}.",
)
#: predicate -> extra clauses that state it (fit "if {pred}").
TRAIN_PREDICATE_PHRASES: dict[str, tuple[str, ...]] = {
    "dark": ("it's dark already", "the photo is kinda dark", "it's a dark shot"),
    "bright": ("it's bright already", "the photo is pretty bright", "it's a bright shot"),
    "warm": ("the colours are warm already", "it's got warm tones"),
    "cool": ("the colours are cold already", "it's got cool tones"),
    "colorful": ("it's colourful already", "the colours already pop"),
    "muted": ("it's pretty dull already", "the colours are already dull"),
    "has_sky": ("there's sky", "the sky is in the shot"),
}
#: Extra verbs of a branch clause.
TRAIN_BRANCH_VERBS: tuple[str, ...] = ("do {p}", "add {p}", "try {p}", "make it {p}", "go with {p}")

# --------------------------------------------------------------------------------------------
# Surface noise

#: word -> its abbreviation (applied to every occurrence in a task that abbreviates).
ABBREVIATIONS: dict[str, str] = {
    "please": "pls", "you": "u", "your": "ur", "with": "w/", "something": "smth",
    "thanks": "thx", "because": "bc", "though": "tho", "picture": "pic", "photo": "pic",
}  # fmt: skip

#: Rates of the surface noise of a train instruction, each drawn once per task: the share of
#: instructions written all lower case, without punctuation, with abbreviations, and the
#: distribution of the number of misspelt words (0, 1, 2).
NOISE: dict[str, float | tuple[float, ...]] = {
    "lowercase": 0.3,
    "no_punctuation": 0.2,
    "abbreviations": 0.15,
    "typos": (0.75, 0.18, 0.07),
}
