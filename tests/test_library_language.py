"""The words of the other two action libraries: every new value, constraint and gradient has
phrases; the new phrases keep the lexicon's rules; the default library's words do not move."""

from __future__ import annotations

import hashlib
import re
from collections import Counter

import numpy as np
import pytest

from styling_env import lexicon as lx
from styling_env import library_lexicon as ll
from styling_env import library_train_lexicon as ltl
from styling_env import tasks, wording
from styling_env import train_lexicon as tl
from styling_env.tools.vocabulary import (
    EXTRA_VALUES,
    GEOMETRIC_REGIONS,
    GRADIENT_DIRECTIONS,
    GRADUATED_EFFECTS,
    NORMAL_ACTIONS,
    V3_ACTIONS,
    VALUES,
)

#: Every value the new tables must cover: the v3 actions' values and the base tools' extras.
NEW_VALUES = [(t, v) for t, vs in {**V3_ACTIONS, **EXTRA_VALUES}.items() for v in vs]
AREAS = (*GEOMETRIC_REGIONS, "indoor", "outdoor")
ATTRIBUTES, SCOPES = ("lighting", "color", "texture"), ("everywhere", "subject", "background")


HELD_OUT_FRAMES = [f for by in lx.TEMPLATES.values() for f in by["test"]] + list(
    lx.CONDITIONAL_FRAMES["test"]
)


def _texts(obj: object) -> list[str]:
    """Every string in a table (keys included)."""
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [t for k, v in obj.items() for t in (*_texts(k), *_texts(v))]
    if isinstance(obj, tuple | list):
        return [t for v in obj for t in _texts(v)]
    return []


def _words(text: str) -> list[str]:
    """``text`` as the surface noise leaves it (lower case, no punctuation, abbreviated), the
    words test_language compares train text and held-out frames by."""
    words = [w.replace("'", "") for w in re.findall(r"[a-z0-9'&]+", text.lower())]
    return [w for w in (re.sub(r"\W", "", tl.ABBREVIATIONS.get(w, w)) for w in words) if w]


def _rows() -> dict[tuple[str, str], tuple[str, ...]]:
    """(tool, value) -> (label, phrases...) over the old and the new table."""
    return {
        (t, v): row
        for table in (lx.VALUE_PHRASES, ll.VALUE_PHRASES_MORE)
        for t, values in table.items()
        for v, row in values.items()
    }


def _peoples() -> dict[tuple[str, str], tuple[str, ...]]:
    return {
        (t, v): words
        for table in (tl.PEOPLES_WORDS, ltl.PEOPLES_WORDS_MORE)
        for t, values in table.items()
        for v, words in values.items()
    }


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _holds(text: str, label: str) -> bool:
    """Whether ``label``'s words appear in ``text`` as consecutive whole words."""
    a, b = _tokens(text), _tokens(label)
    return any(a[i : i + len(b)] == b for i in range(len(a) - len(b) + 1))


# --------------------------------------------------------------------------------------------
# Value phrases


def test_every_new_value_has_a_row_and_train_words() -> None:
    new_tables = {t: set(vs) for t, vs in ll.VALUE_PHRASES_MORE.items()}
    assert new_tables == {t: set(vs) for t, vs in {**V3_ACTIONS, **EXTRA_VALUES}.items()}
    assert {t: set(vs) for t, vs in ltl.PEOPLES_WORDS_MORE.items()} == new_tables
    assert set(ll.LITERAL_NOUNS_MORE) == set(V3_ACTIONS)
    for tool, value in NEW_VALUES:
        row = ll.VALUE_PHRASES_MORE[tool][value]
        assert len(row) == 5 and all(p and p == p.strip() for p in row), (tool, value)
        assert 2 <= len(row[0].split()) <= 3, row[0]  # a two-or-three word name
        words = ltl.PEOPLES_WORDS_MORE[tool][value]
        assert len(words) == 3 and all(words), (tool, value)


def test_labels_are_unique_over_every_library() -> None:
    labels = Counter(row[0].lower() for row in _rows().values())
    assert [label for label, n in labels.items() if n > 1] == []
    assert len(labels) == len(VALUES) + len(NEW_VALUES)


def test_phrases_and_train_words_evoke_one_value_only() -> None:
    rows, peoples = _rows(), _peoples()
    everything = Counter(p.lower() for key in rows for p in (*rows[key][1:], *peoples.get(key, ())))
    assert [p for p, n in everything.items() if n > 1] == []
    labels = {row[0].lower() for row in rows.values()}
    train_words = [w for t, v in NEW_VALUES for w in ltl.PEOPLES_WORDS_MORE[t][v]]
    assert not {w.lower() for w in train_words} & labels


def test_no_new_phrase_names_another_value() -> None:
    """A new phrase or train word never holds another value's label (old or new), and no old
    phrase holds a new value's label: the words point at one value."""
    rows, peoples = _rows(), _peoples()
    clashes = []
    for key, row in rows.items():
        mine = (*row[1:], *peoples[key])
        for other, other_row in rows.items():
            if other == key or (key not in NEW_VALUES and other not in NEW_VALUES):
                continue  # the default library's own tables are pinned as they are
            clashes += [(key, p, other_row[0]) for p in mine if _holds(p, other_row[0])]
    assert clashes == []


def test_new_tables_hold_no_cue_word_and_no_held_out_frame_words() -> None:
    for module in (ll, ltl):
        for name in (n for n in dir(module) if n.isupper()):
            for text in _texts(getattr(module, name)):
                assert not any(tasks.cue_words(text.replace("_", " ")).values()), text
    grams = set()
    for frame in HELD_OUT_FRAMES:
        for run in re.split(r"\{[a-z_]+\}", frame):
            words = _words(run)
            grams |= {tuple(words[i : i + 3]) for i in range(len(words) - 2)}
    for name in (n for n in dir(ltl) if n.isupper()):
        for text in _texts(getattr(ltl, name)):
            words = _words(text)
            assert not any(tuple(words[i : i + 3]) in grams for i in range(len(words) - 2)), text


def test_value_phrase_falls_back_to_the_new_tables() -> None:
    rng = np.random.default_rng(0)
    for tool, value in NEW_VALUES:
        row = ll.VALUE_PHRASES_MORE[tool][value]
        literal = wording.literal_name(tool, value)
        shared = {wording.value_phrase(rng, tool, value) for _ in range(60)}
        assert shared <= {*row[1:], literal} and len(shared) >= 3, (tool, value)
        train = {wording.train_value_phrase(rng, tool, value) for _ in range(60)}
        peoples = ltl.PEOPLES_WORDS_MORE[tool][value]
        assert train <= {*row[1:], *peoples, literal} and train & set(peoples), (tool, value)
        assert wording.value_label(tool, value) == row[0]
        assert wording.peoples_words(tool, value) == peoples
    assert wording.literal_name("lighting_style", "rembrandt") == "rembrandt portrait lighting"
    assert wording.literal_name("glow_effects", "soft_glow") == "soft glow effect"
    assert wording.literal_name("sharpness_softness", "deep_focus") == "deep focus"
    assert wording.literal_name("color_grading", "bleach_bypass") == "bleach bypass grade"
    assert wording.literal_name("season_cycle", "winter_bare") == "winter bare season"
    assert wording.value_label("season_cycle", "winter_bare") == "winter"
    for _ in range(40):  # never the literal name of an unknown value (5% of draws)
        with pytest.raises(ValueError, match="no phrases for value 'plaid' of tool 'color_pal"):
            wording.value_phrase(rng, "color_palette", "plaid")
        with pytest.raises(ValueError, match="no phrases for value 'plaid' of tool 'color_pal"):
            wording.train_value_phrase(rng, "color_palette", "plaid")
    with pytest.raises(ValueError, match="no everyday words for value 'x' of tool 'nope'"):
        wording.peoples_words("nope", "x")
    with pytest.raises(ValueError, match="no literal noun for tool 'nope'"):
        wording.literal_name("nope", "x")


#: sha256 over ``value_phrase`` and ``train_value_phrase`` for every default-library value, three
#: rounds from ``default_rng(19)``, computed on the code before the new libraries' words: the
#: default library's words and random draws do not move.
OLD_PHRASE_DIGEST = "0f324225e7df052afba80f907afeddcc8f571be8f10498ed5aa85e36d6e88139"


def test_old_values_draw_exactly_as_before() -> None:
    h = hashlib.sha256()
    rng = np.random.default_rng(19)
    for _ in range(3):
        for tool, value in VALUES:
            h.update(wording.value_phrase(rng, tool, value).encode())
            h.update(wording.train_value_phrase(rng, tool, value).encode())
    assert h.hexdigest() == OLD_PHRASE_DIGEST


def test_a_misspelling_never_lands_on_a_new_word() -> None:
    for name in ("normal", "v3"):  # a library's requests avoid its words and the ten tools'
        vocabulary = wording.lexicon_words(name)
        assert {"rembrandt", "cyanotype", "densest", "retexture"} <= vocabulary
        assert wording.lexicon_words() < vocabulary


# --------------------------------------------------------------------------------------------
# Gradients

_SIDES = {
    "top": "top", "upper": "top", "up top": "top", "up": "top", "bottom": "bottom",
    "down": "bottom", "left": "left", "right": "right", "middle": "center", "centre": "center",
    "center": "center", "edges": "edges", "borders": "edges", "outside": "edges",
}  # fmt: skip
_S = r"(up top|\w+)"
#: Patterns that name where the effect is absent, and where it is fullest.
_ABSENT = [
    rf"from nothing (?:at|on|in) the {_S}", rf"thinning out towards the {_S}",
    rf"none (?:at|on|in) the {_S}", rf"gone before the {_S}", rf"leaving the {_S} clear",
    rf"clear (?:at|on|in) the {_S}", r"clear (up top)", rf"fading in from the {_S}",
    rf"fading to nothing (?:at|in) the {_S}", r"thicker from (\w+) to",
]  # fmt: skip
_FULL = [
    rf"to its fullest (?:at|on|in) the {_S}", rf"densest (?:at|on|in) the {_S}",
    rf"gathering (?:along|on) the {_S}", rf"strongest (?:at|on|in) the {_S}",
    rf"pooled in the {_S}", rf"creeping in from the {_S}",
    rf"^\{{e\}} (?:at|on|in|around) the {_S}", r"^\{e\} (up top)", rf"thicker towards the {_S}",
    rf"only (?:in|round) the {_S}", r"thicker as you go (down|up)", r"thicker from \w+ to (\w+)",
]  # fmt: skip
_ENDS = {
    "top_to_bottom": ("top", "bottom"), "bottom_to_top": ("bottom", "top"),
    "left_to_right": ("left", "right"), "right_to_left": ("right", "left"),
    "center_out": ("center", "edges"), "edges_in": ("edges", "center"),
}  # fmt: skip


def _claims(phrase: str) -> tuple[set[str], set[str]]:
    """Where ``phrase`` says the effect is absent, and where it says it is fullest."""

    def sides(patterns: list[str]) -> set[str]:
        return {_SIDES[m] for p in patterns for m in re.findall(p, phrase)}

    return sides(_ABSENT), sides(_FULL)


def test_every_gradient_direction_says_where_the_effect_is_absent_and_fullest() -> None:
    """``X_to_Y``: nothing at X, the most at Y; ``center_out``: nothing in the middle, the most
    at the edges; ``edges_in``: the reverse. Each phrase states at least one end, never wrongly."""
    effects, directions = ll.GRADUATED_PHRASES["effect"], ll.GRADUATED_PHRASES["direction"]
    assert set(effects) == set(GRADUATED_EFFECTS) and all(len(p) >= 3 for p in effects.values())
    assert set(directions) == set(GRADIENT_DIRECTIONS) == set(ltl.TRAIN_GRADUATED_PHRASES)
    assert set(_ENDS) == set(GRADIENT_DIRECTIONS)
    for direction, (absent, full) in _ENDS.items():
        assert len(directions[direction]) >= 3
        for phrase in directions[direction] + ltl.TRAIN_GRADUATED_PHRASES[direction]:
            assert phrase.count("{e}") == 1, phrase
            said_absent, said_full = _claims(phrase)
            assert said_absent | said_full, phrase
            assert said_absent <= {absent} and said_full <= {full}, (direction, phrase)
    assert _claims("{e} densest at the top, none at the bottom") == ({"bottom"}, {"top"})


def test_graduated_phrase() -> None:
    rng = np.random.default_rng(0)
    for value in NORMAL_ACTIONS["graduated_effect"]:
        effect, direction = value.split("/")
        frames = ll.GRADUATED_PHRASES["direction"][direction]
        train_frames = frames + ltl.TRAIN_GRADUATED_PHRASES[direction]
        said = {wording.graduated_phrase(rng, value, train=False) for _ in range(40)}
        options = {f.format(e=e) for f in frames for e in ll.GRADUATED_PHRASES["effect"][effect]}
        assert said <= options and len(said) >= 3
        said_train = {wording.graduated_phrase(rng, value, train=True) for _ in range(80)}
        assert said_train - options  # the train directions are drawn too
        assert said_train <= {
            f.format(e=e) for f in train_frames for e in ll.GRADUATED_PHRASES["effect"][effect]
        }
        # value_phrase and train_value_phrase say a graduated effect the same way
        assert wording.value_phrase(rng, "graduated_effect", value) in options
    assert wording.value_phrase(
        np.random.default_rng(3), "graduated_effect", "fog/top_to_bottom"
    ) == (wording.graduated_phrase(np.random.default_rng(3), "fog/top_to_bottom", train=False))
    for bad in ("fog", "fog/sideways", "smoke/top_to_bottom", "fog/top_to_bottom/x"):
        with pytest.raises(ValueError, match=f"graduated value '{re.escape(bad)}' must be"):
            wording.graduated_phrase(rng, bad, train=False)


# --------------------------------------------------------------------------------------------
# Constraints


def test_area_keep_phrases() -> None:
    assert set(ll.AREA_KEEP_PHRASES) == set(AREAS) == set(ltl.TRAIN_AREA_KEEP_PHRASES)
    rng = np.random.default_rng(0)
    for area in AREAS:
        shared, train = ll.AREA_KEEP_PHRASES[area], ltl.TRAIN_AREA_KEEP_PHRASES[area]
        assert len(shared) >= 3 and len(train) >= 2 and not set(shared) & set(train)
        assert {wording.area_keep_phrase(rng, area, train=False) for _ in range(40)} == set(shared)
        drawn = {wording.area_keep_phrase(rng, area, train=True) for _ in range(80)}
        assert drawn == {*shared, *train}
    everything = [p for table in (ll.AREA_KEEP_PHRASES, ltl.TRAIN_AREA_KEEP_PHRASES) for ps in table.values() for p in ps]  # fmt: skip
    assert len(everything) == len(set(everything)), "a clause keeps one area only"
    with pytest.raises(ValueError, match="unknown area 'sky'; expected one of left_half"):
        wording.area_keep_phrase(rng, "sky", train=False)


def test_attribute_keep_phrases() -> None:
    assert set(ll.ATTRIBUTE_KEEP_PHRASES) == set(ATTRIBUTES)
    assert set(ltl.TRAIN_ATTRIBUTE_KEEP_PHRASES) == set(ATTRIBUTES)
    rng = np.random.default_rng(0)
    everything = []
    for attribute in ATTRIBUTES:
        assert set(ll.ATTRIBUTE_KEEP_PHRASES[attribute]) == set(SCOPES)
        assert set(ltl.TRAIN_ATTRIBUTE_KEEP_PHRASES[attribute]) == set(SCOPES)
        for scope in SCOPES:
            shared = ll.ATTRIBUTE_KEEP_PHRASES[attribute][scope]
            train = ltl.TRAIN_ATTRIBUTE_KEEP_PHRASES[attribute][scope]
            assert len(shared) >= 3 and len(train) >= 2
            everything += [*shared, *train]
            drawn = {wording.attribute_keep_phrase(rng, attribute, scope, False) for _ in range(40)}
            assert drawn == set(shared)
            drawn = {wording.attribute_keep_phrase(rng, attribute, scope, True) for _ in range(80)}
            assert drawn == {*shared, *train}
    assert len(everything) == len(set(everything)), "a clause keeps one attribute of one scope"
    with pytest.raises(ValueError, match="unknown attribute 'mood'; expected one of lighting"):
        wording.attribute_keep_phrase(rng, "mood", "subject", False)
    with pytest.raises(ValueError, match="unknown scope 'sky'; expected one of everywhere"):
        wording.attribute_keep_phrase(rng, "color", "sky", False)
