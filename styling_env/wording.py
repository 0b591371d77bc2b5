"""Putting a task's spec into words: value phrases, intensity words, and the training language.

Both splits share the basic pieces (:func:`value_phrase`, :func:`say`, :func:`fill`): a value
phrase from :mod:`styling_env.lexicon`, wrapped in the words of its strength, set in a
sentence frame. Held-out test tasks are written with those alone, exactly as before the
training language grew.

The values and constraints of the other two action libraries are worded from
:mod:`styling_env.library_lexicon` (both splits) and :mod:`styling_env.library_train_lexicon`
(train only): :func:`value_phrase` and :func:`train_value_phrase` fall back to them for tools and
values the first two tables lack (the default library's values draw exactly as before), and
:func:`graduated_phrase`, :func:`area_keep_phrase` and :func:`attribute_keep_phrase` say a
``graduated_effect``, a kept area and a kept attribute.

Train tasks are worded by :func:`train_wording`, from a random stream of their own (so a train
task's spec is the same whatever its wording) and with the richer tables of
:mod:`styling_env.train_lexicon`: more frames in more registers (terse, chatty, questions),
everyday words for each value, hedges and negations that keep the strength readable, and more
ways to state constraints and conditionals. Then a light surface noise (:class:`Noise`), drawn
per task from a third stream:

- all lower case (30% of train instructions), no full stops, question or exclamation marks or
  colons (20%; commas and semicolons stay, as they tell which hedge goes with which item),
  abbreviations such as
  "pls", "u", "w/" (15%), and 0, 1 or 2 misspelt words (75%, 18%, 7%: one letter swapped,
  dropped or doubled, never the first);
- the words that carry the spec are never misspelt or abbreviated: the value phrases chosen
  for the task and every intensity cue word, so the value and the strength stay readable (case
  and punctuation aside); a misspelling is kept only if it is not itself a word of the lexicons
  (it can never turn into a cue word or another value's word);
- the noise is a map from words to words plus case and punctuation rules, applied alike to the
  whole instruction and to each constraint and conditional clause, so a clause's ``text`` is
  still a part of the instruction (ignoring case).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from . import lexicon as lx
from . import library_lexicon as ll
from . import library_train_lexicon as ltl
from . import train_lexicon as tl
from .tools.vocabulary import ALL_TOOLS, GEOMETRIC_REGIONS

#: Intensity level -> strength (as ``tasks.STRENGTH_LEVELS``).
_LEVELS: dict[str, float] = {level: row[0] for level, row in lx.INTENSITY.items()}
#: Intensity level -> every cue word of the level, shared and train-only.
CUES: dict[str, tuple[str, ...]] = {
    level: (*row[1], *tl.TRAIN_INTENSITY[level][0]) for level, row in lx.INTENSITY.items()
}
_WORD = re.compile(r"[A-Za-z]+")
#: Punctuation a no-punctuation instruction drops: the marks that end sentences and colons.
#: Commas, semicolons and dashes stay: they tell which hedge belongs to which item ("chill
#: vibes, midway; really strong film look" would be ambiguous without them).
_PUNCTUATION = re.compile(r"[.:!?]")
_MIN_TYPO_LENGTH = 4
_TRIES = 50


class _Target(Protocol):
    tool: str
    value: str
    strength: float


class _Constraint(Protocol):
    kind: str
    region: str | None
    tool: str | None


class _Conditional(Protocol):
    predicate: str
    then: Any
    otherwise: Any


def pick(rng: np.random.Generator, options: Sequence[Any]) -> Any:
    """One of ``options``, uniformly (one draw of ``rng``)."""
    return options[int(rng.integers(len(options)))]


def intensity_level(strength: float) -> str:
    """The intensity level whose strength is nearest ``strength``."""
    return min(_LEVELS, key=lambda level: abs(_LEVELS[level] - strength))


def value_row(tool: str, value: str) -> tuple[str, ...]:
    """``(label, vague phrase, ...)`` of ``value``: :data:`lexicon.VALUE_PHRASES` for the
    default library's values, :data:`library_lexicon.VALUE_PHRASES_MORE` for the values the
    other libraries add.

    Raises:
        ValueError: ``tool``/``value`` has no words (``graduated_effect`` has
            :func:`graduated_phrase` instead of a row).
    """
    row = lx.VALUE_PHRASES.get(tool, {}).get(value) or ll.VALUE_PHRASES_MORE.get(tool, {}).get(
        value
    )
    if row is None:
        raise ValueError(f"no phrases for value {value!r} of tool {tool!r}")
    return row


def value_label(tool: str, value: str) -> str:
    """The short name of ``value`` (its label; a simple task's theme). A graduated effect's is
    its effect's first noun and its direction ("fog top to bottom")."""
    if tool == "graduated_effect" and value in ALL_TOOLS[tool]:
        effect, direction = value.split("/")
        return f"{ll.GRADUATED_PHRASES['effect'][effect][0]} {direction.replace('_', ' ')}"
    return value_row(tool, value)[0]


def literal_name(tool: str, value: str) -> str:
    """``value``'s literal name: its words and its tool's noun ("winter bare season").

    A new library's noun that starts with the value's last word drops the repeat ("soft glow"
    + "glow effect" = "soft glow effect").
    """
    words = value.replace("_", " ")
    if tool in lx.LITERAL_NOUNS:
        return f"{words} {lx.LITERAL_NOUNS[tool]}"
    if tool not in ll.LITERAL_NOUNS_MORE:
        raise ValueError(f"no literal noun for tool {tool!r}")
    noun = ll.LITERAL_NOUNS_MORE[tool].split()
    if words.split()[-1] == noun[0]:
        noun = noun[1:]
    return " ".join([words, *noun])


def value_phrase(rng: np.random.Generator, tool: str, value: str) -> str:
    """A phrase for ``value``: one of its vague phrases, or rarely its literal name.

    A ``graduated_effect`` value (``"fog/top_to_bottom"``) is said by :func:`graduated_phrase`.
    The default library's values draw exactly as they always have.
    """
    if tool == "graduated_effect":
        return graduated_phrase(rng, value, train=False)
    row = value_row(tool, value)  # checked before any draw, so a bad value always raises
    if rng.random() < lx.LITERAL_RATE:
        return literal_name(tool, value)
    return pick(rng, row[1:])


def say(rng: np.random.Generator, target: _Target) -> str:
    """``target`` in words: a value phrase wrapped in the words of its intensity."""
    wrapper = pick(rng, lx.INTENSITY[intensity_level(target.strength)][2])
    return wrapper.format(p=value_phrase(rng, target.tool, target.value))


def join(items: Sequence[str]) -> str:
    """``a``; ``a and b`` (``a, and b`` if a has a comma); ``a, b and c`` (``;`` if commas)."""
    commas = any("," in item for item in items)
    if len(items) <= 2:
        return (", and " if commas else " and ").join(items)
    sep, last = ("; ", "; and ") if commas else (", ", " and ")
    return sep.join(items[:-1]) + last + items[-1]


def article(phrase: str) -> str:
    """``phrase`` with its article ("a", "an", or the one :data:`lexicon.THEME_ARTICLES` sets)."""
    a = lx.THEME_ARTICLES.get(phrase, "an" if phrase[:1].lower() in "aeiou" else "a")
    return f"{a} {phrase}".strip()


def cap(text: str) -> str:
    """``text`` with its first letter upper case."""
    return text[:1].upper() + text[1:]


def fill(frame: str, items: str, theme: str = "", extra: str = "") -> str:
    """``frame`` with its slots filled, spaces collapsed and the first letter upper case."""
    text = frame.format(items=items, theme=theme, a_theme=article(theme), extra=extra)
    return cap(" ".join(text.split()))


# --------------------------------------------------------------------------------------------
# The training language


def peoples_words(tool: str, value: str) -> tuple[str, ...]:
    """The everyday words for ``value`` (:data:`train_lexicon.PEOPLES_WORDS`, or
    :data:`library_train_lexicon.PEOPLES_WORDS_MORE` for the other libraries' values)."""
    words = tl.PEOPLES_WORDS.get(tool, {}).get(value) or ltl.PEOPLES_WORDS_MORE.get(tool, {}).get(
        value
    )
    if words is None:
        raise ValueError(f"no everyday words for value {value!r} of tool {tool!r}")
    return words


def train_value_phrase(rng: np.random.Generator, tool: str, value: str) -> str:
    """A train phrase for ``value``: a shared vague phrase, everyday words, or its name
    (``graduated_effect``: :func:`graduated_phrase` with the train directions)."""
    if tool == "graduated_effect":
        return graduated_phrase(rng, value, train=True)
    options = value_row(tool, value)[1:] + peoples_words(tool, value)
    if rng.random() < lx.LITERAL_RATE:
        return literal_name(tool, value)
    return pick(rng, options)


def graduated_phrase(rng: np.random.Generator, value: str, train: bool) -> str:
    """A ``graduated_effect`` value ``"<effect>/<direction>"`` in words: an effect phrase set
    in a direction phrase ("fog thinning out towards the top" for ``"fog/top_to_bottom"``:
    no fog at the top, the most at the bottom). ``train`` adds the train directions.

    Raises:
        ValueError: ``value`` is not ``"<effect>/<direction>"`` of known words.
    """
    effect, sep, direction = value.partition("/")
    effects, directions = ll.GRADUATED_PHRASES["effect"], ll.GRADUATED_PHRASES["direction"]
    if not sep or effect not in effects or direction not in directions:
        raise ValueError(
            f"graduated value {value!r} must be '<effect>/<direction>' with effect in "
            f"{', '.join(effects)} and direction in {', '.join(directions)}"
        )
    frames = directions[direction]
    if train:
        frames = frames + ltl.TRAIN_GRADUATED_PHRASES[direction]
    return pick(rng, frames).format(e=pick(rng, effects[effect]))


def area_keep_phrase(rng: np.random.Generator, area: str, train: bool) -> str:
    """A clause asking to leave ``area`` (``"left_half"``, ``"edges"``, ``"indoor"``, ...) of
    the picture as it is; ``train`` adds the train clauses.

    Raises:
        ValueError: ``area`` has no clauses.
    """
    if area not in ll.AREA_KEEP_PHRASES:
        raise ValueError(
            f"unknown area {area!r}; expected one of {', '.join(ll.AREA_KEEP_PHRASES)}"
        )
    options = ll.AREA_KEEP_PHRASES[area]
    return pick(rng, options + ltl.TRAIN_AREA_KEEP_PHRASES[area] if train else options)


def attribute_keep_phrase(rng: np.random.Generator, attribute: str, scope: str, train: bool) -> str:
    """A clause asking to keep ``attribute`` (``"lighting"``, ``"color"``, ``"texture"``) of
    ``scope`` (``"everywhere"``, ``"subject"``, ``"background"``) as it is; ``train`` adds the
    train clauses.

    Raises:
        ValueError: ``attribute`` or ``scope`` has no clauses.
    """
    table = ll.ATTRIBUTE_KEEP_PHRASES
    if attribute not in table:
        raise ValueError(f"unknown attribute {attribute!r}; expected one of {', '.join(table)}")
    if scope not in table[attribute]:
        raise ValueError(f"unknown scope {scope!r}; expected one of {', '.join(table[attribute])}")
    options = table[attribute][scope]
    if train:
        options = options + ltl.TRAIN_ATTRIBUTE_KEEP_PHRASES[attribute][scope]
    return pick(rng, options)


def say_train(rng: np.random.Generator, target: _Target) -> tuple[str, str]:
    """``target`` in train words, and the value phrase inside them.

    A subtle target whose value has a :data:`train_lexicon.NOT_TOO` adjective is sometimes
    said negated ("{p}, but not too dark"); otherwise a shared or train wrapper of its level.
    """
    level = intensity_level(target.strength)
    phrase = train_value_phrase(rng, target.tool, target.value)
    adjective = tl.NOT_TOO.get(target.tool, {}).get(target.value)
    if level == "subtle" and adjective and rng.random() < tl.NOT_TOO_RATE:
        return f"{phrase}, but not too {adjective}", phrase
    wrapper = pick(rng, lx.INTENSITY[level][2] + tl.TRAIN_INTENSITY[level][1])
    return wrapper.format(p=phrase), phrase


def train_constraint_text(rng: np.random.Generator, c: _Constraint, image_kind: str) -> str:
    """A clause stating constraint ``c`` on an image of ``image_kind``, in train words."""
    where = image_kind if image_kind in ("outdoor", "interior") else "outdoor"
    if c.kind == "preserve_region" and c.region in GEOMETRIC_REGIONS:  # the normal library's
        return area_keep_phrase(rng, c.region, train=True)
    if c.kind == "preserve_region":
        region = c.region or ""
        options = (
            lx.PRESERVE_REGION_PHRASES[region][where]
            + tl.TRAIN_PRESERVE_REGION_PHRASES[region][where]
        )
    elif c.kind == "preserve_subject":
        options = (
            lx.PRESERVE_SUBJECT_PHRASES[image_kind] + tl.TRAIN_PRESERVE_SUBJECT_PHRASES[image_kind]
        )
    elif c.kind == "keep_photorealistic":
        options = lx.KEEP_PHOTOREALISTIC_PHRASES + tl.TRAIN_KEEP_PHOTOREALISTIC_PHRASES
    elif c.kind == "avoid_tool":
        noun = tl.TOOL_NOUNS[c.tool or ""]
        options = lx.AVOID_TOOL_PHRASES[c.tool or ""] + tuple(
            f.format(n=noun) for f in tl.TRAIN_AVOID_FRAMES
        )
    else:
        raise ValueError(f"unknown constraint kind {c.kind!r}")
    return pick(rng, options)


def train_conditional_text(
    rng: np.random.Generator, cond: _Conditional, tool: str
) -> tuple[str, list[str]]:
    """The sentence of conditional ``cond`` (on ``tool``) in train words, and its value phrases."""
    phrases: list[str] = []

    def clause(branch: _Target | None) -> str:
        if branch is None:
            noun = tl.TOOL_NOUNS[tool]
            keep = tuple(f.format(n=noun) for f in tl.TRAIN_KEEP_FRAMES)
            return pick(rng, lx.KEEP_PHRASES[tool] + keep)
        said, phrase = say_train(rng, branch)
        phrases.append(phrase)
        return pick(rng, lx.BRANCH_VERBS + tl.TRAIN_BRANCH_VERBS).format(p=said)

    frame = pick(rng, lx.CONDITIONAL_FRAMES["train"] + tl.TRAIN_CONDITIONAL_FRAMES)
    pred = pick(
        rng, lx.PREDICATE_PHRASES[cond.predicate] + tl.TRAIN_PREDICATE_PHRASES[cond.predicate]
    )
    text = frame.format(pred=pred, then=clause(cond.then), otherwise=clause(cond.otherwise))
    return cap(text), phrases


@dataclass(frozen=True)
class Wording:
    """A train task's words: its frame id, instruction, and constraint / conditional clauses
    (in the order of the task's constraints and conditionals), and the value phrases used."""

    template_id: str
    instruction: str
    constraint_texts: tuple[str, ...]
    conditional_texts: tuple[str, ...]
    value_phrases: tuple[str, ...] = field(default=(), compare=False)


def _clean_wording(
    rng: np.random.Generator,
    tier: str,
    frames: Sequence[tuple[str, str]],
    theme: str,
    targets: Sequence[_Target],
    constraints: Sequence[_Constraint],
    conditionals: Sequence[_Conditional],
    image_kind: str,
) -> Wording:
    template_id, frame = pick(rng, frames)
    said = [say_train(rng, targets[int(i)]) for i in rng.permutation(len(targets))]
    phrases = [phrase for _, phrase in said]
    cond_texts = []
    for cond in conditionals:
        tool = (cond.then or cond.otherwise).tool
        text, branch_phrases = train_conditional_text(rng, cond, tool)
        cond_texts.append(text)
        phrases += branch_phrases
    constraint_texts = [train_constraint_text(rng, c, image_kind) for c in constraints]
    sentences = list(cond_texts)
    if constraint_texts:
        joined = pick(rng, lx.CONSTRAINT_JOINS + tl.TRAIN_CONSTRAINT_JOINS).join(constraint_texts)
        frames_c = lx.CONSTRAINT_FRAMES + tl.TRAIN_CONSTRAINT_FRAMES
        sentences.insert(0, cap(pick(rng, frames_c).format(c=joined)))
    extra = " ".join(sentences[int(i)] for i in rng.permutation(len(sentences)))
    if tier == "regular":
        theme = pick(rng, lx.REGULAR_THEME_PHRASES[theme] + tl.TRAIN_THEME_PHRASES[theme])
    instruction = fill(frame, join([s for s, _ in said]), theme, extra)
    return Wording(
        template_id, instruction, tuple(constraint_texts), tuple(cond_texts), tuple(phrases)
    )


def train_wording(
    key: Sequence[int],
    tier: str,
    frames: Sequence[tuple[str, str]],
    theme: str,
    targets: Sequence[_Target],
    constraints: Sequence[_Constraint] = (),
    conditionals: Sequence[_Conditional] = (),
    image_kind: str = "outdoor",
    max_chars: int = 600,
    library: str = "v2",
) -> Wording:
    """The words of a train task with the given spec, a pure function of its arguments.

    Args:
        key: the task's random key (``tasks`` passes its tier index, seed and split index); the
            language and the noise draw from two streams of their own, so the spec's stream is
            untouched.
        tier: the task's tier; frames: its ``(template_id, frame)`` train rows.
        theme: the theme (simple: its labels; regular: an interior theme; complex: a title).
        targets, constraints, conditionals: the spec, as the task holds it.
        image_kind: ``"outdoor"``, ``"interior"`` or ``"photo"`` (picks constraint wording).
        max_chars: the longest instruction allowed; longer draws are drawn again.
        library: the action library of the task (whose words a misspelling must avoid).

    Raises:
        RuntimeError: no wording within ``max_chars`` after 50 draws.
    """
    rng = np.random.default_rng([*key, 1])
    noise_rng = np.random.default_rng([*key, 2])
    for _ in range(_TRIES):
        clean = _clean_wording(
            rng, tier, frames, theme, targets, constraints, conditionals, image_kind
        )
        noise = draw_noise(noise_rng, clean.instruction, clean.value_phrases, library)
        instruction = noise(clean.instruction)
        if len(instruction) <= max_chars:
            return Wording(
                clean.template_id,
                instruction,
                tuple(noise(t) for t in clean.constraint_texts),
                tuple(noise(t) for t in clean.conditional_texts),
                clean.value_phrases,
            )
    raise RuntimeError(f"no {tier} wording within {max_chars} characters in {_TRIES} draws")


# --------------------------------------------------------------------------------------------
# Surface noise


@dataclass(frozen=True)
class Noise:
    """A surface noise: word replacements (misspellings, abbreviations), then optionally no
    punctuation and all lower case. The same map for every text of a task."""

    replacements: Mapping[str, str] = field(default_factory=dict)
    no_punctuation: bool = False
    lowercase: bool = False

    def __call__(self, text: str) -> str:
        if self.replacements:

            def swap(m: re.Match[str]) -> str:
                word = m.group(0)
                new = self.replacements.get(word.lower())
                if new is None:
                    return word
                return cap(new) if word[:1].isupper() else new

            text = _WORD.sub(swap, text)
        if self.no_punctuation:
            text = " ".join(_PUNCTUATION.sub("", text).split())
        return text.lower() if self.lowercase else text


@functools.cache
def lexicon_words(library: str = "v2") -> frozenset[str]:
    """Every lower-case word of the lexicons a request of ``library`` draws from (value names
    too): a misspelling must not be one of them. The default library's requests read the ten
    tools' lexicons only, the other libraries' requests those and their own: a misspelling
    that is rejected draws again, so a larger vocabulary would rewrite a few default-library
    requests (7 of 5,000 Complex tasks) and change the published datasets."""
    words: set[str] = set()

    def walk(obj: Any) -> None:
        if isinstance(obj, str):
            words.update(w.lower() for w in _WORD.findall(obj.replace("_", " ")))
        elif isinstance(obj, Mapping):
            for k, v in obj.items():
                walk(k)
                walk(v)
        elif isinstance(obj, tuple | list):
            for v in obj:
                walk(v)

    for module in (lx, tl) if library == "v2" else (lx, tl, ll, ltl):
        for name in dir(module):
            if name.isupper():
                walk(getattr(module, name))
    return frozenset(words)


def misspell(rng: np.random.Generator, word: str, library: str = "v2") -> str | None:
    """``word`` with one letter swapped with the next, dropped or doubled (never the first
    letter), or ``None`` if five tries only gave words of ``library``'s lexicons."""
    vocabulary = lexicon_words(library)
    for _ in range(5):
        op = int(rng.integers(3))
        if op == 0:  # swap letters i and i + 1
            i = int(rng.integers(1, len(word) - 1))
            new = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        else:  # drop or double letter i
            i = int(rng.integers(1, len(word)))
            new = word[:i] + word[i + 1 :] if op == 1 else word[: i + 1] + word[i:]
        if new != word and new.lower() not in vocabulary:
            return new
    return None


def draw_noise(
    rng: np.random.Generator, text: str, value_phrases: Sequence[str] = (), library: str = "v2"
) -> Noise:
    """The noise of one train instruction ``text`` of a ``library`` request, drawn at the rates
    of :data:`train_lexicon.NOISE`; words of ``value_phrases`` and cue words are kept intact."""
    rates = tl.NOISE
    lowercase = bool(rng.random() < rates["lowercase"])
    no_punctuation = bool(rng.random() < rates["no_punctuation"])
    abbreviate = bool(rng.random() < rates["abbreviations"])
    typo_p = np.asarray(rates["typos"], dtype=float)
    n_typos = int(rng.choice(len(typo_p), p=typo_p / typo_p.sum()))
    protected = {w.lower() for p in value_phrases for w in _WORD.findall(p)}
    protected |= {w for cues in CUES.values() for w in cues}
    words = sorted({w.lower() for w in _WORD.findall(text)} - protected)
    replacements: dict[str, str] = {}
    if abbreviate:
        replacements |= {w: tl.ABBREVIATIONS[w] for w in words if w in tl.ABBREVIATIONS}
    eligible = [w for w in words if len(w) >= _MIN_TYPO_LENGTH and w not in replacements]
    for i in rng.permutation(len(eligible))[:n_typos]:
        new = misspell(rng, eligible[int(i)], library)
        if new is not None:
            replacements[eligible[int(i)]] = new
    return Noise(replacements, no_punctuation, lowercase)
