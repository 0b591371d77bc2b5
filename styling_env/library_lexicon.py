"""Phrase data for the two other action libraries' values and constraints, shared by both splits.

The ``v3`` library adds twenty styling actions (``tools.vocabulary.V3_ACTIONS``) and four values of
the base tools (``EXTRA_VALUES``); the ``normal`` library adds constraint and compositional
actions (``NORMAL_ACTIONS``). Tasks drawn in those libraries need words for them. These tables
extend :mod:`styling_env.lexicon` without touching it, so the held-out test sets of the default
library stay byte for byte what they were; train tasks add the words of
:mod:`styling_env.library_train_lexicon`. :mod:`styling_env.wording` reads both.

- :data:`VALUE_PHRASES_MORE` - for each new value, a label (a two-or-three word name, unique over
  every label of both modules) and four vague phrases in the format of
  ``lexicon.VALUE_PHRASES``: noun phrases that read well in "a hint of {p}", "lots of {p}" and
  "{p}, all the way", in the words a photographer or illustrator would use. Where a new value
  sits near an old one (``lens_character/bokeh`` and ``atmospheric_effects/bokeh_lights``), the
  phrases say what sets it apart and avoid the other value's label.
- :data:`LITERAL_NOUNS_MORE` - the noun after a ``v3`` value's literal name ("rembrandt" +
  "portrait lighting").
- :data:`AREA_KEEP_PHRASES` - clauses keeping an area of the picture as it is (the geometric
  halves, centre and edges, and the indoor / outdoor parts).
- :data:`GRADUATED_PHRASES` - a ``graduated_effect`` in words: noun phrases per effect and, per
  gradient direction, phrases with the effect's slot ``{e}``. Direction ``"X_to_Y"`` means the
  effect is absent at X and fullest at Y; ``center_out`` is absent at the centre and fullest at
  the edges; ``edges_in`` is absent at the edges and fullest at the centre.
- :data:`ATTRIBUTE_KEEP_PHRASES` - clauses keeping an attribute (lighting, colour, texture) of
  the whole picture, the subject or the background while other things change.

No phrase here holds an intensity cue word (``lexicon.INTENSITY``, ``train_lexicon``'s
``TRAIN_INTENSITY``), so a target's strength stays readable from its wrapper alone.
"""

from __future__ import annotations

#: tool -> value -> (label, vague phrase x 4), for every value of ``V3_ACTIONS`` and every value
#: of ``EXTRA_VALUES`` (the latter under their base tool). Same rules as
#: ``lexicon.VALUE_PHRASES``.
VALUE_PHRASES_MORE: dict[str, dict[str, tuple[str, ...]]] = {
    # ---------------------------------------------------------------- extra values of base tools
    "time_period_era": {
        "retro_1980s": ("1980s retro", "the days of VHS tapes and arcade cabinets", "big hair and synth-pop", "a decade of cassettes and shoulder pads", "an eighties video-store past"),
    },
    "color_grading": {
        "bleach_bypass": ("bleach bypass", "a silvery, drained war-film grade", "metallic colour with hard, gritty blacks", "the steely look of a skipped-bleach print", "a harsh silver-retention grade"),
    },
    "atmospheric_effects": {
        "haze_soft": ("atmospheric haze", "a pale haze over the distance", "milky air that lifts the shadows", "a thin, even haziness", "air softened by a gentle haze"),
        "volumetric_light": ("volumetric light", "air that glows where the light passes", "a luminous, light-filled atmosphere", "light scattering through thick air", "a glowing volume of lit air"),
    },
    # ---------------------------------------------------------------- the v3 library's actions
    "art_movement": {
        "impressionism": ("Impressionist style", "dabs of broken colour like Monet", "loose, light-filled brushwork of the Impressionists", "a shimmering garden-party canvas", "quick strokes catching fleeting light"),
        "cubism": ("Cubist style", "fractured, multi-angle planes like Picasso", "a scene broken into geometric facets", "Braque-style shattered perspectives", "angular shapes seen from several sides at once"),
        "surrealism": ("Surrealist style", "a Dali-like dream logic", "melting, impossible dreamscapes", "the strange calm of a Magritte painting", "the uncanny world of the Surrealists"),
        "art_deco": ("Deco poster art", "bold, streamlined Machine-Age graphics", "the glossy, chiselled figures of Tamara de Lempicka", "the chic symmetry of a Cassandre travel poster", "sleek sunray motifs on an old ocean-liner poster"),
        "art_nouveau": ("Art Nouveau style", "flowing vine-like curves and floral borders", "the ornamental elegance of an Alphonse Mucha print", "sinuous, organic decorative lines", "stylised lilies and swirling hair in gilded frames"),
        "pop_art": ("pop art", "Warhol-style screen-print repetition", "Lichtenstein's bold primaries", "loud, flat consumer-culture colour blocks", "a soup-can gallery look"),
        "expressionism": ("Expressionist style", "raw, distorted forms like Munch's The Scream", "anguished, clashing colour", "emotion over accuracy, jagged and intense", "the raw angst of German Expressionism"),
        "abstract": ("abstract art", "shapes and colour with no recognisable subject", "a Kandinsky-like composition", "pure form over depiction", "non-figurative splashes and blocks of colour"),
    },
    "painting_technique": {
        "impasto": ("sculpted paint", "paint piled into raised ridges", "brushstrokes standing proud of the canvas", "a buttery paint relief", "three-dimensional swirls of paint"),
        "glazing": ("glazed layers", "thin translucent layers of paint", "luminous colour built up glaze by glaze", "a jewel-like depth from stacked transparent washes", "deep colour seen through veils of varnish"),
        "pointillism": ("pointillist dots", "a picture built from countless dots of pure colour", "Seurat-style specks of colour", "colour dabbed on point by point", "a Sunday-on-La-Grande-Jatte look"),
        "stippling": ("stippled shading", "shading made of fine ink dots", "a stipple-engraving texture", "tone built from dense pen dots", "a dotted engraving look"),
        "sgraffito": ("scratched sgraffito", "lines scratched through a top coat of paint", "scraped marks revealing the colour beneath", "a scratched-through plaster look", "etched lines cut into wet paint"),
        "scumbling": ("scumbled paint", "broken, scrubbed-on layers of opaque paint", "a dry-brushed veil of colour", "paint scrubbed thin over a darker layer", "a soft, chalky scumble of colour"),
        "wet_on_wet": ("wet-on-wet paint", "paint laid into still-wet paint", "soft edges where colours melt together on the canvas", "an alla prima finish", "colours blended in one sitting while the paint was fresh"),
    },
    "illustration_style": {
        "comic_book": ("comic-book art", "a page from a superhero comic", "inked outlines with punchy flat colour, like a Marvel book", "American comic-book artwork", "a graphic-novel panel"),
        "manga": ("manga drawing", "grey manga screentones", "a page from a Japanese manga", "big-eyed manga linework", "a shonen manga panel"),
        "concept_art": ("production artwork", "a film production painting of the set", "visual-development artwork for a movie", "an environment design sheet for a film", "pre-production keyframe art"),
        "children_book": ("picture-book art", "a bedtime picture-book page", "gentle, rounded drawings for young readers", "an illustration from a nursery tale", "the soft crayon-and-wash art of a picture book"),
        "editorial": ("editorial illustration", "a magazine op-ed illustration", "a clever conceptual drawing for a newspaper", "New Yorker-style editorial art", "a flat, witty illustration for an article"),
        "technical": ("technical diagram", "a precise engineering blueprint", "a cutaway diagram with clean callouts", "an exploded-view instruction drawing", "exact, ruler-straight draughtsman lines"),
        "fantasy": ("fantasy illustration", "dragons-and-wizards book-cover art", "a painted cover for a sword-and-sorcery novel", "a role-playing rulebook painting", "high-fantasy book art"),
    },
    "rendering_style": {
        "photorealistic": ("photoreal render", "ray-traced realism indistinguishable from a camera shot", "a physically based render with real-world light", "CGI so real it fools the eye", "an architectural visualisation with lifelike materials"),
        "stylized": ("stylised render", "a stylised animated-film render", "exaggerated, simplified 3D shapes", "a Fortnite-like stylised look", "rounded, toy-like rendered forms"),
        "cel_shaded": ("toon-shaded render", "flat toon shading on 3D models", "a Borderlands-style toon render", "hard-edged bands of shading with ink outlines", "3D that looks hand-drawn in flat tones"),
        "sketch": ("sketchy render", "a render drawn over with loose construction lines", "a non-photoreal sketch-shader look", "outlines and hatching instead of shading", "a 3D scene traced in rough strokes"),
        "wireframe": ("wireframe render", "a see-through wireframe mesh", "the polygon edges of a 3D model drawn as lines", "a glowing wireframe like an old vector display", "only the mesh lines, no surfaces"),
        "low_poly": ("faceted render", "flat-shaded polygons like an early 3D game", "a blocky PS1-era render", "big flat facets with no smooth shading", "a gem-cut polygon mesh"),
        "painterly": ("painterly render", "3D models finished with brush-stroke shading", "a render that looks hand-painted", "Arcane-style painted 3D", "CG with the texture of a painting"),
    },
    "texture_overlay": {
        "canvas": ("canvas texture", "the woven grain of a painter's canvas", "a primed-canvas weave showing through", "an image printed on stretched canvas", "the cross-hatched tooth of artist's canvas"),
        "paper": ("paper texture", "the fibres of thick handmade paper", "a cold-pressed paper surface", "an image printed on rough, toothy paper", "a cotton-rag paper look"),
        "fabric": ("fabric texture", "a woven cloth pattern over everything", "the weave of burlap showing through", "a denim-like textile texture", "the threads of a linen cloth"),
        "wood_grain": ("wood-grain texture", "the grain of a wooden plank showing through", "an image printed on a weathered board", "knots and rings of timber", "a planed-oak surface"),
        "metal": ("metal texture", "a brushed-steel sheen over the picture", "a scratched aluminium surface", "an etched metal plate look", "an image printed on hammered copper"),
        "stone": ("stone texture", "the pitted surface of a slate slab", "a chiselled rock face", "a marble-slab texture", "an image painted onto rough rock"),
        "concrete": ("cement texture", "a rough cement-wall surface", "pocked, poured-cement grit", "an image stencilled onto a cement wall", "the speckle of a sidewalk slab"),
        "aged": ("time-worn patina", "a worn, foxed old-print surface", "the stains and scuffs of a century-old print", "yellowed, time-worn patina", "scratches and wear like an heirloom"),
    },
    "filter_effects": {
        "vintage": ("vintage filter", "a faded seventies snapshot look", "an old-snapshot filter with washed-out blacks", "the yellowed tones of a print from a shoebox", "a retro Instagram filter"),
        "cross_process": ("cross-processed film", "slide film developed in the wrong chemicals", "wild yellow-green cross-processed colour", "clashing cyan shadows and yellow highlights", "a cross-processed 90s fashion shoot"),
        "lomography": ("lomo look", "saturated toy-camera snapshots", "a cheap Holga camera look", "the lo-fi punch of a plastic camera", "Lomo-style blurry, colourful snaps"),
        "infrared": ("infrared film", "white foliage under a dark sky", "a false-colour infrared look", "trees glowing white like infrared film", "snow-white leaves under a near-black sky"),
        "polaroid": ("instant photo", "a Polaroid snapshot", "soft, creamy instant-film colours", "the milky look of an instant camera print", "a square instant print with a white border"),
        "sepia": ("sepia filter", "a brown-toned darkroom print", "warm brown monotone like a toned photograph", "chocolate-brown toning", "a brown-and-cream darkroom tone"),
        "cyanotype": ("cyanotype print", "a Prussian-blue sun print", "a blueprint-blue photogram", "white shapes on deep cyan", "an old blue botanical print"),
    },
    "color_palette": {
        "monochrome": ("single-hue palette", "shades of one single colour", "a one-colour scheme", "every tone drawn from a single hue", "a monochromatic colour scheme"),
        "duotone": ("duotone palette", "two inks only, like a duotone poster", "a two-colour print", "shadows in one colour, highlights in another", "a Spotify-style duotone"),
        "complementary": ("complementary colours", "opposites on the colour wheel playing off each other", "blue against orange, red against green", "clashing colour-wheel opposites", "a palette of paired opposite hues"),
        "analogous": ("analogous palette", "neighbouring hues that flow into each other", "a harmonious run of adjacent colours", "greens shading into blues and teals", "colours from one slice of the colour wheel"),
        "triadic": ("triadic palette", "three evenly spaced colours", "a red-yellow-blue primary triad", "a balanced three-colour scheme", "three hues a third of the wheel apart"),
        "pastel": ("pastel palette", "a palette of sorbet shades", "baby blues and powder pinks", "chalky, sugared-almond colours", "ice-cream-parlour hues"),
        "neon": ("neon palette", "a fluorescent highlighter palette", "day-glo colours", "acid greens and hot pinks", "blacklight-poster colours"),
        "earth_tones": ("earth-tone palette", "ochre, umber and sienna", "a palette of clay, rust and moss", "terracotta and sand colours", "bark, loam and clay shades"),
    },
    "color_temperature": {
        "very_warm": ("tungsten warmth", "a deep orange tungsten cast", "white balance pushed far toward orange", "the heavy orange of old streetlamps", "a fireside-orange colour temperature"),
        "warm": ("warm balance", "a warm white balance", "a yellowish, sunlit colour temperature", "the warmth of indoor bulbs", "a gently warm-leaning balance"),
        "neutral": ("neutral balance", "true whites with no colour cast", "a daylight-balanced, neutral white", "a grey-card-correct white balance", "whites that read as pure white"),
        "cool": ("cool balance", "a cool, bluish white balance", "daylight-blue colour temperature", "the crisp blue of open shade", "a chilly colour temperature"),
        "very_cool": ("deep blue balance", "a deep blue cast from a cold white balance", "white balance pushed far toward blue", "a heavy steel-blue colour temperature", "moonlight-blue white balance"),
        "icy": ("icy chill", "a frosty, glacial blue-white", "colours frozen solid", "the bluish white of fresh ice", "a freezer-cold colour temperature"),
    },
    "saturation_intensity": {
        "desaturated": ("low saturation", "colour pulled almost to grey", "nearly colourless tones", "a bleached-out, near-grey image", "saturation dialled right down"),
        "muted": ("restrained colour", "quiet, held-back colour", "softened saturation", "gentle, understated hues", "colour with the volume turned down"),
        "natural": ("natural saturation", "true-to-life colour intensity", "colours as the eye saw them", "unexaggerated, lifelike saturation", "realistic colour strength"),
        "vibrant": ("vibrant colour", "rich, lively colour", "colours that sing", "juicy, saturated hues", "a punchy saturation boost"),
        "hyper_saturated": ("hyper-saturated colour", "colour pushed past reality", "candy-bright, oversaturated hues", "eye-watering saturation", "cartoonishly intense colour"),
    },
    "contrast_style": {
        "low_contrast": ("flat tonality", "a soft, flat tonal curve", "greys with no real blacks or whites", "a gentle, compressed tonal range", "a washed, low-punch curve"),
        "normal": ("normal contrast", "standard, balanced contrast", "an everyday tonal curve", "contrast left as a camera would give it", "unforced, natural contrast"),
        "high_contrast": ("hard contrast", "a steep S-curve", "dark darks and bright brights", "a contrast curve pushed hard", "snappy, punchy tonality"),
        "hdr": ("HDR look", "an HDR tone-mapped look", "detail pulled out of every shadow and highlight", "a glowing, over-processed HDR", "tone-mapped real-estate photography"),
        "crushed_blacks": ("crushed blacks", "shadows sunk into solid black", "blacks crushed to ink", "shadow detail swallowed by black", "a moody, deep-black clip"),
        "blown_highlights": ("blown highlights", "highlights burnt out to white", "brights clipped to pure white", "an overexposed, blown-out sky", "a sun-bleached, overexposed look"),
    },
    "tonal_range": {
        "low_key": ("low-key tones", "a mostly dark, shadowy picture", "a dark frame with small islands of light", "dim, deep-toned imagery", "a picture living in the shadows"),
        "mid_key": ("mid-key tones", "tones sitting in the middle greys", "an evenly lit, middle-tone image", "neither bright nor dark overall", "balanced midtones throughout"),
        "high_key": ("high-key tones", "a bright, airy, white-dominated image", "light tones with almost no shadows", "a clean, luminous high-key look", "a white-on-white brightness"),
    },
    "lighting_style": {
        "rembrandt": ("Rembrandt lighting", "moody side light with one cheek in shadow", "a small triangle of light on the shadowed cheek", "old-master portrait light from one side", "light like a Dutch golden-age portrait"),
        "butterfly": ("butterfly lighting", "a light high in front casting a shadow under the nose", "Hollywood glamour lighting from above", "paramount lighting for a beauty shot", "symmetrical light from straight above the face"),
        "split": ("split lighting", "half the face lit and half in darkness", "a light directly to one side of the face", "a face divided down the middle by light and shadow", "hard side lighting that cuts the face in two"),
        "rim": ("rim light", "a bright edge of light outlining the subject", "backlight tracing the silhouette", "a thin bright rim around the subject's outline", "light from behind catching the contour"),
        "loop": ("loop lighting", "a soft loop of shadow beside the nose", "the classic flattering portrait key from just off to the side", "light from forty-five degrees making a small nose shadow", "an everyday headshot key light"),
        "broad": ("broad lighting", "light on the side of the face turned toward the camera", "wide, open lighting that fills out the face", "the near side of the face lit", "a face-widening key light"),
        "short": ("short lighting", "light on the side of the face turned away from the camera", "a slimming key on the far side of the face", "the far cheek lit, the near cheek in shadow", "sculpting light from the narrow side"),
        "dramatic": ("stark spotlighting", "a single hard spotlight in darkness", "a film-noir key light", "light that carves the subject out of black", "theatrical low-angle lighting"),
    },
    "light_quality": {
        "hard": ("hard light", "crisp-edged shadows from a bare bulb", "direct, unsoftened sunlight", "a harsh point source", "sharp, defined shadow edges"),
        "soft": ("soft light", "wrap-around light from a big window", "light through a softbox", "a flattering, feathered light", "gentle light with smooth shadow edges"),
        "diffused": ("diffused light", "light filtered through thin cloud", "even light through a sheer curtain", "scattered, directionless light", "light spread out by frosted glass"),
        "specular": ("specular highlights", "glossy pinpoint reflections", "bright glints on shiny surfaces", "sparkling highlights on wet and polished things", "a wet-look sheen"),
        "mixed": ("mixed lighting", "a mix of warm and cool light sources", "daylight and tungsten together", "lamps and window light competing", "several light sources of different colours"),
    },
    "shadow_treatment": {
        "dramatic": ("dramatic shadows", "long, inky shadows with hard edges", "shadows that dominate the frame", "bold shadow shapes", "deep, theatrical shade"),
        "minimal": ("minimal shadows", "almost no shadows at all", "shadows filled in and lifted", "open, shadowless lighting", "shade kept to a bare minimum"),
        "colored": ("coloured shadows", "shadows tinted blue and violet", "complementary-coloured shade", "shadows painted in colour instead of grey", "violet shade under warm light"),
        "long": ("long shadows", "shadows stretching far across the ground", "elongated, low-sun shadows", "shadows many times longer than the objects", "streaks of shadow reaching across the scene"),
        "short": ("short shadows", "small pools of shadow under everything", "shadows tucked right beneath objects", "compact shadows from a high light", "stubby, overhead-light shadows"),
        "stylized": ("graphic shadows", "flat, cut-out shadow shapes", "shadows drawn as clean graphic blocks", "hard-edged poster shadows", "geometric shadow shapes"),
    },
    "glow_effects": {
        "neon": ("neon glow", "light bleeding from neon tubes", "a buzzing neon halo around the lights", "electric signs glowing into the dark", "a humming neon bloom"),
        "golden_hour": ("golden bloom", "a warm golden bloom around the highlights", "honey-coloured light haloing everything", "the gilded shine of late sun", "sunlit edges glowing gold"),
        "bioluminescence": ("bioluminescent glow", "pale light from glowing sea creatures", "jellyfish-like luminous blues", "glowing fungi and phosphorescent water", "cold light given off by living things"),
        "magic": ("magical glow", "spell-light shimmering around things", "an enchanted radiance", "a wizard's glowing light", "a fairy-tale luminance"),
        "energy": ("energy glow", "a crackling plasma radiance", "a charged, electric aura", "light pulsing like a power core", "the shine of a sci-fi reactor"),
        "soft_glow": ("soft glow", "a gentle diffusion bloom", "highlights softly blooming", "a hazy Orton bloom", "a dreamy halation around the lights"),
    },
    "atmospheric_depth": {
        "aerial_perspective": ("aerial perspective", "distant hills fading to pale blue", "far things paler and bluer", "depth through fading distance", "the blue recession of far ridges"),
        "depth_haze": ("distance haze", "haze thickening with distance", "a veil that grows with depth", "far-off details lost in haze", "a background softened by hazy air"),
        "layered_atmosphere": ("layered atmosphere", "receding layers of hills in haze", "silhouetted ridges fading one behind another", "a scene in stacked atmospheric layers", "planes of air stacked into the distance"),
        "color_fade": ("depth colour fade", "colours fading with distance", "saturation dropping off toward the horizon", "far objects washed of their colour", "a colour falloff into the distance"),
    },
    "motion_aesthetics": {
        "motion_blur": ("panning blur", "a subject sharp against a streaked background", "the swoosh of a panning shot", "movement blurred along its path", "a dragged-shutter streak"),
        "freeze_frame": ("freeze frame", "action frozen mid-air", "a split-second caught perfectly still", "a high-speed shutter stopping every droplet", "a moment paused in time"),
        "long_exposure": ("slow-shutter look", "silky water and streaking car lights", "light trails from a slow shutter", "clouds smeared by a minutes-long shutter", "a night shot with ribbons of headlights"),
        "speed_lines": ("velocity lines", "graphic lines trailing behind moving things", "drawn motion trails", "streaks drawn behind anything in motion", "zip lines showing movement"),
        "time_slice": ("time-slice sequence", "several moments of the same movement in one frame", "a stroboscopic multiple exposure", "a sequence of poses stacked into one picture", "a chronophotograph like Muybridge"),
    },
    "lens_character": {
        "bokeh": ("creamy lens blur", "the creamy out-of-focus rendering of a fast prime", "background lights melting into round discs", "smooth, buttery background blur", "an f/1.4 portrait-lens look"),
        "vignette": ("dark vignette", "darkened corners", "edges falling off into shadow", "a dark frame around the middle", "light fading toward the frame's borders"),
        "lens_flare": ("anamorphic flare", "a long horizontal blue streak from the light", "hexagonal ghosts scattered from the sun", "light bouncing between the lens elements", "a washed-out flare veil from shooting into the sun"),
        "chromatic_aberration": ("chromatic aberration", "red and cyan fringes along the edges", "colour fringing like a cheap lens", "RGB channels knocked out of alignment", "purple fringing along bright edges"),
        "distortion": ("lens warping", "straight lines bowing outward", "a pincushioned, bent frame", "geometry bulging in the middle", "a cheap wide lens bending the verticals"),
        "tilt_shift": ("tilt-shift miniature", "a miniature-model tilt-shift look", "a real scene that looks like a toy model", "a thin band of focus with blurred top and bottom", "a model-railway diorama effect"),
    },
    "grain_noise": {
        "film_grain": ("silver-halide grain", "the fine grain of Tri-X film", "photochemical grain clumps", "the speckled texture of fast negative stock", "a pushed-film grittiness"),
        "digital_noise": ("sensor noise", "high-ISO colour speckles", "the blotchy noise of a phone camera at night", "red and green pixel noise", "noisy digital shadows"),
        "halftone": ("halftone dots", "printed dots like a newspaper picture", "a rosette of CMYK print dots", "a halftone screen", "a Ben-Day dot pattern"),
        "texture_noise": ("texture noise", "a gritty, sandpaper-like texture", "a speckled surface noise", "a rough, mottled noise layer", "a sandy scatter over the image"),
        "organic": ("organic grain", "an irregular, natural-looking grain", "uneven, hand-made speckle", "a soft, random mottling", "grain that feels alive rather than digital"),
    },
    "sharpness_softness": {
        "sharp_detail": ("crisp detail", "razor-sharp detail", "every edge bitingly clear", "a crisp, sharpened finish", "micro-contrast that makes textures pop"),
        "soft_focus": ("soft focus", "a soft-focus filter over everything", "a vaseline-on-the-lens softness", "gentle, glowing unsharpness", "a studio-portrait diffusion filter"),
        "dreamy": ("dreamlike softness", "a hazy, dreamlike blur", "soft edges like a half-remembered dream", "a gauzy, floaty look", "a reverie-soft finish"),
        "selective_focus": ("selective focus", "one detail sharp and everything else soft", "focus picked out on a single point", "the eye led to one sharp spot", "a single in-focus subject in a soft frame"),
        "deep_focus": ("deep focus", "everything sharp from front to back", "front-to-back sharpness like a landscape at f/16", "foreground and horizon both crisp", "an all-in-focus view"),
        "shallow": ("shallow depth", "a razor-thin plane of focus", "only a sliver of the scene in focus", "a shallow depth of field", "focus falling off fast in front and behind"),
    },
}  # fmt: skip

#: ``v3`` tool -> the noun after a value's literal name ("rembrandt" + "portrait lighting"). A
#: noun that starts with the value's last word drops the repeat ("soft glow" + "glow effect" =
#: "soft glow effect").
LITERAL_NOUNS_MORE: dict[str, str] = {
    "art_movement": "style",
    "painting_technique": "technique",
    "illustration_style": "illustration",
    "rendering_style": "render",
    "texture_overlay": "texture",
    "filter_effects": "filter",
    "color_palette": "palette",
    "color_temperature": "white balance",
    "saturation_intensity": "colour",
    "contrast_style": "contrast look",
    "tonal_range": "tonality",
    "lighting_style": "portrait lighting",
    "light_quality": "light",
    "shadow_treatment": "shadows",
    "glow_effects": "glow effect",
    "atmospheric_depth": "effect",
    "motion_aesthetics": "shot",
    "lens_character": "optics",
    "grain_noise": "finish",
    "sharpness_softness": "focus",
}

# --------------------------------------------------------------------------------------------
# Constraints of the normal library

#: area -> clauses asking to leave that area of the picture as it is.
AREA_KEEP_PHRASES: dict[str, tuple[str, ...]] = {
    "left_half": ("leave the left half of the picture exactly as it is", "don't touch the left side of the frame", "keep the left half unchanged"),
    "right_half": ("leave the right half of the picture exactly as it is", "don't touch the right side of the frame", "keep the right half unchanged"),
    "top_half": ("leave the top half of the picture exactly as it is", "don't touch the upper half of the frame", "keep the top half unchanged"),
    "bottom_half": ("leave the bottom half of the picture exactly as it is", "don't touch the lower half of the frame", "keep the bottom half unchanged"),
    "center": ("leave the middle of the picture exactly as it is", "don't touch the centre of the frame", "keep the central area unchanged"),
    "edges": ("leave the edges of the picture exactly as they are", "don't touch the borders of the frame", "keep the outer edges unchanged"),
    "indoor": ("leave the indoor parts exactly as they are", "don't touch anything inside the room", "keep the interior unchanged"),
    "outdoor": ("leave everything outdoors exactly as it is", "don't touch the view outside", "keep the outdoor parts unchanged"),
}  # fmt: skip

#: ``graduated_effect`` in words: ``"effect"`` -> effect -> noun phrases (no article, so they fit
#: the intensity wrappers: "lots of fog ..."); ``"direction"`` -> gradient direction -> phrases
#: around the effect's slot ``{e}``. ``X_to_Y``: absent at X, fullest at Y; ``center_out``:
#: absent at the centre, fullest at the edges; ``edges_in``: absent at the edges, fullest at the
#: centre.
GRADUATED_PHRASES: dict[str, dict[str, tuple[str, ...]]] = {
    "effect": {
        "fog": ("fog", "foggy murk", "drifting fog"),
        "lighting": ("light", "extra light", "glowing light"),
        "color": ("colour", "colour tint", "tinted colour"),
        "saturation": ("saturation", "colour intensity", "vivid colour"),
        "brightness": ("brightness", "brightening", "added brightness"),
        "blur": ("blur", "soft blur", "out-of-focus softness"),
        "particles": ("floating particles", "drifting specks", "airborne particles"),
    },
    "direction": {
        "top_to_bottom": ("{e} that builds from nothing at the top to its fullest at the bottom", "{e} thinning out towards the top", "{e} gathering along the bottom and gone before the top", "{e} densest at the bottom, none at the top"),
        "bottom_to_top": ("{e} that builds from nothing at the bottom to its fullest at the top", "{e} thinning out towards the bottom", "{e} gathering along the top and gone before the bottom", "{e} densest at the top, none at the bottom"),
        "left_to_right": ("{e} that builds from nothing on the left to its fullest on the right", "{e} thinning out towards the left", "{e} gathering on the right side and gone before the left edge", "{e} densest on the right, none on the left"),
        "right_to_left": ("{e} that builds from nothing on the right to its fullest on the left", "{e} thinning out towards the right", "{e} gathering on the left side and gone before the right edge", "{e} densest on the left, none on the right"),
        "center_out": ("{e} that builds from nothing in the middle to its fullest at the edges", "{e} creeping in from the borders and leaving the centre clear", "{e} thinning out towards the centre", "{e} densest at the edges, none in the middle"),
        "edges_in": ("{e} that builds from nothing at the edges to its fullest in the middle", "{e} pooled in the centre and gone before the borders", "{e} thinning out towards the edges", "{e} densest in the middle, none at the edges"),
    },
}  # fmt: skip

#: attribute -> scope -> clauses keeping that attribute of the whole picture (``everywhere``),
#: of the main subject or of the background, while the rest of the edit goes ahead.
ATTRIBUTE_KEEP_PHRASES: dict[str, dict[str, tuple[str, ...]]] = {
    "lighting": {
        "everywhere": ("keep the lighting exactly as it is", "don't change where the light falls", "the light itself must stay the same"),
        "subject": ("keep the light on the subject as it is while the rest changes", "don't relight the main subject", "the subject's lighting stays as it is"),
        "background": ("keep the lighting of the background as it is", "don't relight the background", "the light behind the subject stays the same"),
    },
    "color": {
        "everywhere": ("keep the colours exactly as they are", "don't shift any of the colours", "the original colours must stay"),
        "subject": ("keep the subject's colours as they are while the rest changes", "don't recolour the main subject", "the subject keeps its own colours"),
        "background": ("keep the background's colours as they are", "don't recolour the background", "the colours behind the subject stay the same"),
    },
    "texture": {
        "everywhere": ("keep the surface textures as they are", "don't alter any of the textures", "every surface must keep its texture"),
        "subject": ("keep the subject's texture as it is while the rest changes", "don't retexture the main subject", "the subject keeps its own surface detail"),
        "background": ("keep the background's textures as they are", "don't retexture the background", "the surfaces behind the subject keep their texture"),
    },
}  # fmt: skip
