"""Which value each phrase of a request names, by meaning: the ``lex`` part of an encoder.

The planner's hashed words and sentence vector learn the training language's exact phrases:
"orange and teal" is a known word pair, "the teal and orange movie thing" is not, and a
request of six clauses averages into one sentence vector in which no single clause stands out.
People's requests name the same effects in their own words, so the planner trails its own
template score by 20-40 points on them. MiniLM already knows that "pixelate it like an old
nintendo game" is close to "pixel art"; this module asks it, one clause at a time.

:class:`LexiconEvidence` splits a request into clauses (:func:`clauses`: at punctuation and
at "and", "but", "with", "plus", "then", "if", "otherwise"), embeds each clause and the
whole request with all-MiniLM-L6-v2, and scores every value of the ten tools (the ``v2``
library's 171 rows, in the planner's row order) by the best cosine similarity between any of
its clauses and any phrase of the value: the value's label and phrases of the task lexicon
(:data:`styling_env.lexicon.VALUE_PHRASES`) and the everyday words of the training language
(:data:`styling_env.train_lexicon.PEOPLES_WORDS`). The free-text test set is never read.

Measured on its own, before any planner read it (the ``k`` values of highest evidence of each
free-text request against its ``k`` targets, no training): 88% / 72% / 56% of the targets found
on Simple / Regular / Complex (121 / 369 / 379 targets).

The evidence (:class:`LexiconEvidence`: whether each value is named, and its strength cues) is
the first block of the instruction vector of the ``lex+...`` encoders; the planner reads it in
its trunk, as direct paths to the value logits and (each tool's best value) to the tool logits,
and in the strength head (the chosen value's cues).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np

from styling_env.lexicon import INTENSITY, VALUE_PHRASES
from styling_env.tools.library_tables import library_values
from styling_env.train_lexicon import PEOPLES_WORDS, TRAIN_INTENSITY

from .config import LEX_DIM, LEX_LEVELS, LEX_WIDTH

__all__ = [
    "LEX_DIM", "LEX_LEVELS", "LexiconEvidence", "clauses", "intensity_cues", "value_phrases",
]  # fmt: skip

#: A clause right after a value's clause is read as its modifier ("snow, fully"; "fog, but only
#: subtly"; "snow. lots of it") when it has at most this many words and names no value: its
#: best similarity to any value phrase is under :data:`MODIFIER_MATCH` (measured: modifiers
#: such as "fully", "cranked up", "no holding back" score 0.31-0.50; clauses that name a
#: value, "lots of fog", "kinda moody", "super contrasty", 0.74-1.0).
MODIFIER_WORDS = 6
MODIFIER_MATCH = 0.6
#: A value's strength cues come from its best clause and from every clause that names it
#: (similarity >= :data:`NAMES_VALUE`) within :data:`NEAR_BEST` of the best.
NAMES_VALUE = 0.7
NEAR_BEST = 0.25

_SPLIT = re.compile(
    r"[,.;:!?()\[\]\n]+|\s[-–—]\s|\s(?:and|but|with|plus|then|if|otherwise|or else|while)\s",
    re.IGNORECASE,
)


def clauses(text: str) -> list[str]:
    """The clauses of a request (lower case, stripped, at least one letter), in order; the
    request itself when it has no separator."""
    parts = [p.strip(" '\"").lower() for p in _SPLIT.split(text)]
    parts = [p for p in parts if re.search(r"[a-z]", p)]
    return parts or [text.strip().lower()]


def words(text: str) -> list[str]:
    """The lower-case words of ``text`` (letters, digits and apostrophes)."""
    return re.findall(r"[a-z0-9']+", text.lower())


def intensity_cues() -> dict[str, tuple[str, ...]]:
    """Strength level -> its cue words: the task lexicon's and the training language's (the
    levels in the order of :data:`styling_env.lexicon.INTENSITY`, weakest first)."""
    assert len(INTENSITY) == LEX_LEVELS
    return {
        level: tuple(dict.fromkeys((*row[1], *TRAIN_INTENSITY.get(level, ((), ()))[0])))
        for level, row in INTENSITY.items()
    }


def value_phrases() -> list[tuple[int, str]]:
    """``(row, phrase)`` for every value of the ten tools: its label and lexicon phrases, then
    the training language's everyday words for it; rows in the planner's ``v2`` row order."""
    out: list[tuple[int, str]] = []
    row = 0
    for tool, values in library_values("v2"):
        for value in values:
            said = (*VALUE_PHRASES[tool][value], *PEOPLES_WORDS.get(tool, {}).get(value, ()))
            out += [(row, p.lower()) for p in dict.fromkeys(said)]
            row += 1
    assert row == LEX_DIM
    return out


def _starts(groups: np.ndarray) -> np.ndarray:
    """The first index of each group of ``groups`` (sorted group ids ``0..n-1``, none empty):
    the offsets :func:`numpy.maximum.reduceat` reduces each group's columns at."""
    return np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])


class LexiconEvidence:
    """Request -> ``(LEX_WIDTH,)`` float32 evidence per value of the ten tools.

    - Columns ``[0, LEX_DIM)``: per value, the best cosine similarity between one of the
      request's clauses (or the whole request) and one of the value's phrases: *whether* the
      request names it.
    - Then ``LEX_LEVELS`` columns per value (value-major): *how strongly*. The words of the
      value's best clause and of a modifier clause right after it (:data:`MODIFIER_MATCH`),
      each compared with the cue words of every strength level
      (:func:`intensity_cues`); per level, the best similarity over the value's best clause
      and the clauses that name it nearly as well (:data:`NAMES_VALUE`, :data:`NEAR_BEST`).
      A request of five targets at
      five strengths thus tells each value its own cue ("a hint of snow, lots of fog"), which
      a bag of words or one sentence vector cannot.

    Args:
        embed: texts -> sentence vectors ``(n, d)`` (the planner's cached MiniLM; they are
            unit-normed here).
    """

    def __init__(self, embed: Callable[[list[str]], np.ndarray]) -> None:
        self.embed = embed
        rows, phrases = zip(*value_phrases(), strict=True)  # phrases grouped by row, in order
        self._row_starts = _starts(np.asarray(rows))
        self._phrases = self._unit(embed(list(phrases)))  # (P, d)
        cues = intensity_cues()
        flat = [c for level in cues.values() for c in level]
        self._cue_starts = _starts(np.repeat(np.arange(LEX_LEVELS), [len(c) for c in cues.values()]))  # fmt: skip
        self._cues = self._unit(embed(flat))  # (K, d)

    @staticmethod
    def _unit(v: np.ndarray) -> np.ndarray:
        v = np.asarray(v, np.float32)
        return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)

    def _levels(self, all_words: list[str]) -> dict[str, np.ndarray]:
        """word -> ``(LEX_LEVELS,)`` best similarity to each level's cue words."""
        if not all_words:
            return {}
        sims = self._unit(self.embed(all_words)) @ self._cues.T  # (W, K)
        out = np.maximum.reduceat(sims, self._cue_starts, axis=1)  # (W, LEX_LEVELS)
        return dict(zip(all_words, out, strict=True))

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """``(len(texts), LEX_WIDTH)`` float32, every column in [-1, 1]."""
        split = [clauses(t) for t in texts]
        pieces = [[*c, t.strip().lower()] for c, t in zip(split, texts, strict=True)]
        flat = list(dict.fromkeys(c for p in pieces for c in p))
        if not flat:
            return np.zeros((0, LEX_WIDTH), np.float32)
        # each unique clause's best similarity to each value (over the value's phrases)
        sims = self._unit(self.embed(flat)) @ self._phrases.T  # (C, P)
        by_value = np.maximum.reduceat(sims, self._row_starts, axis=1)  # (C, LEX_DIM)
        where = {c: i for i, c in enumerate(flat)}
        level_of = self._levels(list(dict.fromkeys(w for c in flat for w in words(c))))
        out = np.empty((len(texts), LEX_WIDTH), np.float32)
        for i, (cs, p) in enumerate(zip(split, pieces, strict=True)):
            s = by_value[[where[c] for c in p]]  # (len(p), LEX_DIM): the clauses, the request
            out[i, :LEX_DIM] = s.max(axis=0)
            # per clause (not the whole request), its intensity: its own words and a short
            # modifier clause after it that names no value
            by_clause = s[: len(cs)]
            names = by_clause.max(axis=1)
            per_clause = np.full((len(cs), LEX_LEVELS), -1.0, np.float32)
            for j, c in enumerate(cs):
                ws = words(c)
                nxt = words(cs[j + 1]) if j + 1 < len(cs) else []
                if nxt and len(nxt) <= MODIFIER_WORDS and names[j + 1] < MODIFIER_MATCH:
                    ws += nxt
                for w in ws:
                    np.maximum(per_clause[j], level_of[w], out=per_clause[j])
            # each value's clauses: its best one, and every clause that names it nearly as well
            # ("foggy. like REALLY foggy"); their strongest cues
            best = by_clause.max(axis=0)
            near = by_clause >= np.minimum(best, np.maximum(NAMES_VALUE, best - NEAR_BEST))
            cues = np.where(near[:, :, None], per_clause[:, None, :], -1.0).max(axis=0)
            out[i, LEX_DIM:] = cues.reshape(-1)
        return out
