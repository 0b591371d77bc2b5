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

Measured before this module was used by any planner (clause-level nearest value, no training:
the top-``k`` values of each free-text request against its ``k`` targets): 87% / 71% / 57% of
the targets found on Simple / Regular / Complex.

The 171 scores are the first columns of the instruction vector of the ``lex+...`` encoders;
the planner reads them in its trunk and, scaled, as a direct path to the value logits and
(each tool's best value) to the tool logits.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np

from styling_env.lexicon import VALUE_PHRASES
from styling_env.tools.library_tables import library_values
from styling_env.train_lexicon import PEOPLES_WORDS

from .config import LEX_DIM

__all__ = ["LEX_DIM", "LexiconEvidence", "clauses", "value_phrases"]

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


def value_phrases() -> list[tuple[int, str]]:
    """``(row, phrase)`` for every value of the ten tools: its label and lexicon phrases, then
    the training language's everyday words for it; rows in the planner's ``v2`` row order."""
    out: list[tuple[int, str]] = []
    row = 0
    for tool, values in library_values("v2"):
        for value in values:
            words = (*VALUE_PHRASES[tool][value], *PEOPLES_WORDS.get(tool, {}).get(value, ()))
            out += [(row, p.lower()) for p in dict.fromkeys(words)]
            row += 1
    assert row == LEX_DIM
    return out


class LexiconEvidence:
    """Request -> ``(LEX_DIM,)`` float32: per value, the best cosine similarity between one of
    the request's clauses (or the whole request) and one of the value's phrases.

    Args:
        embed: texts -> unit-norm sentence vectors ``(n, d)`` (the planner's cached MiniLM).
    """

    def __init__(self, embed: Callable[[list[str]], np.ndarray]) -> None:
        self.embed = embed
        rows, phrases = zip(*value_phrases(), strict=True)
        self._rows = np.asarray(rows, np.int64)
        self._phrases = self._unit(embed(list(phrases)))  # (P, d)

    @staticmethod
    def _unit(v: np.ndarray) -> np.ndarray:
        v = np.asarray(v, np.float32)
        return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """``(len(texts), LEX_DIM)`` float32 evidence in [-1, 1]."""
        pieces = [[*clauses(t), t.strip().lower()] for t in texts]
        flat = list(dict.fromkeys(c for p in pieces for c in p))
        if not flat:
            return np.zeros((0, LEX_DIM), np.float32)
        sims = self._unit(self.embed(flat)) @ self._phrases.T  # (C, P)
        where = {c: i for i, c in enumerate(flat)}
        out = np.full((len(texts), LEX_DIM), -1.0, np.float32)
        for i, p in enumerate(pieces):
            best = sims[[where[c] for c in p]].max(axis=0)  # (P,)
            np.maximum.at(out[i], self._rows, best)
        return out
