"""The Qwen3-VL planner on a tiny random model built in code (CPU, nothing downloaded):
tokenizer, loss mask, the five methods' token-level losses, adapters, acting, CLI."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

# skipped without them, found without importing them: each test worker collects every
# module, and importing transformers and peft takes ~3.5 s (the tests import them)
_MISSING = [
    m for m in ("transformers", "peft", "accelerate") if importlib.util.find_spec(m) is None
]
if _MISSING:
    pytest.skip(f"needs {', '.join(_MISSING)}", allow_module_level=True)

from agents.evaluate import evaluate  # noqa: E402
from agents.qwen.agent import QwenAgent  # noqa: E402
from agents.qwen.model import (  # noqa: E402
    IGNORE_INDEX,
    ModelLoadError,
    QwenConfig,
    QwenPlanner,
    SequenceScorer,
    dpo_batch_loss,
    weighted_batch_loss,
)
from agents.qwen.prompting import parse_plan  # noqa: E402
from agents.qwen.train import reference_logps, train  # noqa: E402
from offline_data.loaders import (  # noqa: E402
    ChatSample,
    assistant_target,
    system_prompt,
    to_chat_samples,
    user_prompt,
)
from offline_data.weights import sample_weights  # noqa: E402
from styling_env.engine import Invalid, Stop  # noqa: E402
from styling_env.tools import ToolCall  # noqa: E402

CALL = ToolCall("season_cycle", "winter_bare", 0.6)


def _sample(k: int, *, weight: float = 1.0, r: float = 4.5, episode: int | None = None, task: str = "t0") -> ChatSample:  # fmt: skip
    """A short hand-built chat sample (a tiny prompt keeps the tests fast) with a 32 px image."""
    rng = np.random.default_rng(k)
    calls = [ToolCall("time_of_day", "night_moonlit", 0.8), CALL, Stop()]
    target = assistant_target(f"step {k}: the scene needs this", calls[k % 3])
    msgs = [
        {"role": "system", "content": "You plan image styling calls."},
        {"role": "user", "content": f"Request: make it wintry, number {k}"},
        {"role": "assistant", "content": target},
    ]
    img = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    return ChatSample(msgs, weight, r, task, k if episode is None else episode, 0, img)


def _planner(**kw) -> QwenPlanner:
    return QwenPlanner.create(QwenConfig(lora_dropout=0.0, **kw))


def _perturb(planner: QwenPlanner, seed: int = 1) -> None:
    """Give the LoRA B matrices non-zero values (a fresh adapter is the identity)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in planner.model.named_parameters():
            if "lora_B" in name:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.05)


def _hf_mean_nll(planner: QwenPlanner, sample: ChatSample) -> float:
    """transformers' own causal-LM loss of one sample: the mean NLL over its labelled tokens."""
    b = planner.batch([sample])
    b.pop("weight")
    with torch.no_grad():
        return float(planner.model(**b).loss)


def _hand_logp(model, batch) -> torch.Tensor:
    """Summed log-probs of the labelled tokens from the full logits (independent of the scorer)."""
    inputs = {
        k: v for k, v in batch.items() if k not in ("labels", "weight", "segment", "ref_logp")
    }
    with torch.no_grad():
        logits = model(**inputs).logits.double()
    lp = F.log_softmax(logits[:, :-1], -1)
    tgt = batch["labels"][:, 1:]
    mask = tgt != IGNORE_INDEX
    tok = lp.gather(2, tgt.clamp(min=0)[..., None])[..., 0]
    return (tok * mask).sum(1)


# --------------------------------------------------------------------------------------------
# The tiny model and its tokenizer


def test_tiny_model_is_deterministic_and_its_tokenizer_encodes_the_prompts():
    from agents.qwen.tiny import SPECIAL_TOKENS, build_tiny

    m1, proc = build_tiny(seed=0)
    m2, _ = build_tiny(seed=0)
    m3, _ = build_tiny(seed=1)
    assert all(torch.equal(a, b) for a, b in zip(m1.parameters(), m2.parameters(), strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(m1.parameters(), m3.parameters(), strict=True))
    assert 300_000 < sum(p.numel() for p in m1.parameters()) < 2_000_000
    tok = proc.tokenizer
    assert [tok.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS] == list(range(7))
    texts = [
        system_prompt("step"),
        system_prompt("plan"),
        user_prompt("Snowy night, keep the sky!", [0] * 10, [CALL], steps_left=7),
        assistant_target("Winter is asked for; the scene is summer.", CALL),
        '{"actions": [{"action_id": "color_grading", "priority": 2}], "x": 0.35} ünïcode',
    ]
    for text in texts:
        ids = tok(text, add_special_tokens=False)["input_ids"]
        assert tok.decode(ids) == text  # byte-level: lossless, nothing unknown
    assert len(tok(texts[0])["input_ids"]) < 1300  # BPE learned on the prompt language
    call = json.dumps(CALL.to_dict())
    assert len(tok(call)["input_ids"]) < len(call) / 2


def test_lora_targets_the_language_model_and_the_vision_tower_only_on_request():
    def trainable(planner):
        return {n for n, p in planner.model.named_parameters() if p.requires_grad}

    default = trainable(_planner())
    assert default and all("lora_" in n and ".language_model." in n for n in default)
    kinds = {n.split(".lora_")[0].rsplit(".", 1)[-1] for n in default}
    assert kinds == {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}
    assert len(default) == 2 * 7 * 2  # A and B x 7 modules x 2 layers
    vision = trainable(_planner(train_vision=True)) - default
    assert vision and all(".visual." in n and "patch_embed" not in n for n in vision)
    only_qv = trainable(_planner(target_modules=("q_proj", "v_proj")))
    assert {n.split(".lora_")[0].rsplit(".", 1)[-1] for n in only_qv} == {"q_proj", "v_proj"}


def test_loss_mask_covers_only_the_assistant_tokens(small_datasets):
    planner = _planner()
    samples = to_chat_samples(small_datasets["simple"], include_image=True)[:3]
    tok = planner.processor.tokenizer
    items = [planner.encode_sample(s) for s in samples]
    for s, enc in zip(samples, items, strict=True):
        labels = enc["labels"]
        mask = labels != IGNORE_INDEX
        n = int(mask.sum())
        assert mask[-n:].all() and not mask[:-n].any()  # one block at the end
        assert tok.decode(labels[mask]) == s.target + "<|im_end|>"
        assert torch.equal(labels[mask], enc["input_ids"][mask])
        image_pad = planner.model.config.image_token_id
        assert (enc["input_ids"] == image_pad).sum() == 1  # 32 px: one merged image token
        assert not mask[enc["input_ids"] == image_pad].any()
        assert tok.decode(enc["input_ids"][~mask]).endswith("<|im_start|>assistant\n")
    b = planner.collate(items)
    assert b["input_ids"].shape[0] == 3 and b["image_grid_thw"].tolist() == [[1, 2, 2]] * 3
    assert (b["labels"][b["attention_mask"] == 0] == IGNORE_INDEX).all()  # padding unlabelled
    assert int((b["labels"] != IGNORE_INDEX).sum()) == sum(
        int((i["labels"] != IGNORE_INDEX).sum()) for i in items
    )


# --------------------------------------------------------------------------------------------
# Losses


@pytest.mark.parametrize("method,weights", [("rw", (0.5, 2.0)), ("sw", (-1.0, 2.0))])
def test_weights_are_applied_as_defined(method, weights):
    planner = _planner()
    samples = [_sample(0, weight=weights[0]), _sample(1, weight=weights[1])]
    # fit sample 0 a little, so that the two samples' losses clearly differ
    scorer = SequenceScorer(planner.model)
    opt = torch.optim.Adam([p for p in planner.model.parameters() if p.requires_grad], lr=1e-2)
    fit = planner.batch(samples[:1], weight=torch.ones(1))
    for _ in range(5):
        opt.zero_grad()
        weighted_batch_loss(scorer, fit, "s")[0].backward()
        opt.step()
    per = [_hf_mean_nll(planner, s) for s in samples]
    with torch.no_grad():
        loss, nll = weighted_batch_loss(scorer, planner.batch(samples), method, sw_cap=None)
    assert nll.tolist() == pytest.approx(per, rel=1e-4)
    expected = sum(w * x for w, x in zip(weights, per, strict=True)) / sum(map(abs, weights))
    assert float(loss) == pytest.approx(expected, rel=1e-4)
    assert per[1] - per[0] > 0.1  # the samples' losses differ, and so the weights matter:
    assert abs(float(loss) - sum(per) / 2) > 0.02


def test_dpo_loss_matches_a_hand_computation():
    planner = _planner()
    _perturb(planner)
    beta = 0.1
    # two pairs: trajectories 0, 1 chosen; 2, 3 rejected; trajectory 1 has two samples
    samples = [_sample(k) for k in range(5)]
    segment = torch.tensor([0, 1, 1, 2, 3])
    ref_by_sample = reference_logps(planner, samples, range(5), disable_adapter=True)
    ref = torch.zeros(4, dtype=torch.float64).index_add(
        0, segment, torch.tensor([ref_by_sample[i] for i in range(5)], dtype=torch.float64)
    )
    batch = planner.batch(samples, segment=segment, ref_logp=ref)
    with torch.no_grad():
        out = dpo_batch_loss(SequenceScorer(planner.model), batch, beta)
    # by hand: policy log-probs from the full logits, the reference with the adapter disabled
    pol = torch.zeros(4, dtype=torch.float64).index_add(
        0, segment, _hand_logp(planner.model, batch)
    )
    with planner.model.disable_adapter():
        base = torch.zeros(4, dtype=torch.float64).index_add(
            0, segment, _hand_logp(planner.model, batch)
        )
    assert ref.tolist() == pytest.approx(base.tolist(), rel=1e-5)
    z = beta * ((pol[:2] - base[:2]) - (pol[2:] - base[2:]))
    expected = float(np.mean([math.log1p(math.exp(-float(v))) for v in z]))
    assert float(out.loss) == pytest.approx(expected, rel=1e-4, abs=1e-6)
    assert abs(expected - math.log(2)) > 1e-4  # the perturbed policy differs from the base


@pytest.mark.parametrize("method", ["s", "rl", "rw", "sw", "dpo"])
def test_each_method_trains_and_its_loss_falls(method, tmp_path):
    rs = [4.8, 4.2, 3.0, 2.6]  # two chosen, two rejected trajectories of one task
    w = sample_weights(method, rs)
    samples = [_sample(k, weight=float(w[k]), r=rs[k], episode=k) for k in range(4)]
    res = train(
        samples, method=method, config=QwenConfig(lora_dropout=0.0), steps=6, batch_size=8,
        lr=1e-2, progress=False, log_path=tmp_path / "log.jsonl", out=tmp_path / "adapter",
    )  # fmt: skip
    losses = [row["loss"] for row in res.losses]
    assert res.steps == 6 and len(losses) == 6
    assert losses[-1] < losses[0] - 0.05, losses
    if method == "dpo":
        assert losses[0] == pytest.approx(math.log(2), abs=1e-4)  # policy == reference at start
        assert res.info["pairs"] == 2 and res.info["same_task_pairs"] == 2
    if method in ("rl", "rw"):
        assert res.info["samples_kept"] == 2  # weight-0 samples are skipped
    rows = [json.loads(x) for x in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(1, 7))
    assert (
        json.loads((tmp_path / "adapter" / "planner.json").read_text())["meta"]["method"] == method
    )


def test_dpo_from_a_saved_s_reference(tmp_path):
    rs = [4.8, 3.0]
    s_run = train(
        [_sample(k, r=rs[k], episode=k) for k in range(2)], method="s",
        config=QwenConfig(lora_dropout=0.0), steps=3, lr=1e-2, progress=False, out=tmp_path / "s",
    )  # fmt: skip
    samples = [_sample(k, r=rs[k], episode=k) for k in range(2)]
    res = train(samples, method="dpo", config=QwenConfig(lora_dropout=0.0), steps=2, lr=1e-2,
                reference=tmp_path / "s", progress=False)  # fmt: skip
    # the policy starts at the S adapter, which is also the reference: the loss starts at log 2
    assert res.losses[0]["loss"] == pytest.approx(math.log(2), abs=1e-4)
    assert res.planner.meta["reference"] == str(tmp_path / "s")
    assert s_run.planner.meta["method"] == "s"


def test_bf16_checkpointing_and_accumulation_train_on_cpu():
    """The GPU options run unchanged on the CPU (bf16 autocast, activation checkpointing,
    gradient accumulation), after a float32 run in the same process (accelerate's state)."""
    samples = [_sample(k) for k in range(4)]
    train(samples, method="s", config=QwenConfig(), steps=1, progress=False)
    cfg = QwenConfig(bf16=True, gradient_checkpointing=True, lora_dropout=0.0)
    res = train(samples, method="s", config=cfg, steps=3, batch_size=2, grad_accum=2, lr=1e-2, progress=False)  # fmt: skip
    assert res.steps == 3 and res.samples == 12
    assert res.losses[-1]["loss"] < res.losses[0]["loss"]
    assert next(res.planner.model.parameters()).dtype == torch.bfloat16
    assert res.planner.model.config.use_cache  # checkpointing is switched off after training
    (reply,) = res.planner.generate([res.planner.prompt_of(samples[0])], max_new_tokens=4)
    assert isinstance(reply, str)


# --------------------------------------------------------------------------------------------
# Adapters


class _Payload:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickled_adapter_bin_is_a_named_model_load_error(tmp_path):
    """Issue 15 row 16: peft reads adapter_model.bin with weights_only; the refusal is the named
    ModelLoadError, and the payload never runs."""
    import pickle

    _planner().save(tmp_path / "adapter")
    (tmp_path / "adapter" / "adapter_model.safetensors").unlink()
    marker = tmp_path / "pwned"
    (tmp_path / "adapter" / "adapter_model.bin").write_bytes(pickle.dumps({"w": _Payload(marker)}))
    with pytest.raises(ModelLoadError, match="cannot load the LoRA adapter"):
        QwenPlanner.load(tmp_path / "adapter")
    assert not marker.exists()


def test_adapter_round_trips_and_merges_to_equal_logits(tmp_path):
    planner = _planner()
    _perturb(planner)
    batch = planner.batch([_sample(0), _sample(1)])
    inputs = {k: v for k, v in batch.items() if k not in ("labels", "weight")}
    with torch.no_grad():
        before = planner.model(**inputs).logits
        base = None
        with planner.model.disable_adapter():
            base = planner.model(**inputs).logits
    assert (before - base).abs().max() > 1e-3  # the adapter matters
    planner.save(tmp_path / "adapter")
    loaded = QwenPlanner.load(tmp_path / "adapter")
    with torch.no_grad():
        assert torch.equal(loaded.model(**inputs).logits, before)
    loaded.merge()
    assert not hasattr(loaded.model, "disable_adapter")
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(**inputs).logits, before, atol=1e-5, rtol=1e-5)
    QwenPlanner.load(tmp_path / "adapter").save_merged(tmp_path / "merged")
    standalone = QwenPlanner.create(QwenConfig(model=str(tmp_path / "merged")), lora=False)
    with torch.no_grad():
        torch.testing.assert_close(standalone.model(**inputs).logits, before, atol=1e-5, rtol=1e-5)


def test_a_checkpoint_directory_in_the_hub_layout_loads(tmp_path):
    """A local directory laid out like a Qwen3-VL hub repo (weights, tokenizer, image and video
    processor configs, chat_template.json) loads with from_pretrained; without torchvision the
    video processor is left out and the prompts encode exactly as with the tiny processor."""
    from agents.qwen.tiny import CHAT_TEMPLATE, build_tiny

    model, proc = build_tiny(seed=0)
    model.save_pretrained(tmp_path)
    proc.tokenizer.save_pretrained(tmp_path)
    common = {"patch_size": 16, "temporal_patch_size": 2, "merge_size": 2, "processor_class": "Qwen3VLProcessor"}  # fmt: skip
    (tmp_path / "preprocessor_config.json").write_text(json.dumps({
        **common, "image_processor_type": "Qwen2VLImageProcessorFast", "image_mean": [0.5] * 3,
        "image_std": [0.5] * 3, "size": {"shortest_edge": 32 * 32, "longest_edge": 128 * 128},
    }))  # fmt: skip
    (tmp_path / "video_preprocessor_config.json").write_text(json.dumps({**common, "video_processor_type": "Qwen3VLVideoProcessor"}))  # fmt: skip
    (tmp_path / "chat_template.json").write_text(json.dumps({"chat_template": CHAT_TEMPLATE}))
    loaded = QwenPlanner.create(QwenConfig(model=str(tmp_path)))
    tiny = _planner()
    sample = _sample(3)
    a, b = loaded.encode_sample(sample), tiny.encode_sample(sample)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    batch = loaded.batch([sample])
    batch.pop("weight")
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(**batch).logits, tiny.model(**batch).logits)
    # train -> save -> merge -> a standalone directory that loads the same way
    _perturb(loaded)
    with torch.no_grad():
        adapted = loaded.model(**batch).logits
    loaded.save(tmp_path / "adapter")
    QwenPlanner.load(tmp_path / "adapter").save_merged(tmp_path / "merged")
    merged = QwenPlanner.create(QwenConfig(model=str(tmp_path / "merged")), lora=False)
    assert merged.encode_sample(sample)["input_ids"].tolist() == a["input_ids"].tolist()
    with torch.no_grad():
        torch.testing.assert_close(merged.model(**batch).logits, adapted, atol=1e-5, rtol=1e-5)


# --------------------------------------------------------------------------------------------
# Acting


@pytest.mark.parametrize("mode", ["step", "plan"])
def test_agent_plays_full_episodes_through_evaluate(mode):
    agent = QwenAgent(_planner(mode=mode), max_new_tokens=12)
    res = evaluate(agent, "simple", 3, image_size=32, num_envs=3)
    assert len(res.episodes) == 3
    for ep in res.episodes:
        assert 1 <= ep["steps"] <= 8 and len(ep["calls"]) == ep["steps"]
        assert len(ep["reasons"]) == ep["steps"]
    # a random toy model writes nonsense: the env reports invalid calls, nothing crashes
    assert res.summary()["invalid"] > 0
    assert any(c.startswith("INVALID: ") for ep in res.episodes for c in ep["calls"])


def test_agent_survives_garbage_and_reads_good_replies(monkeypatch):
    agent = QwenAgent(_planner(), max_new_tokens=8)
    good = assistant_target("Winter is asked for and the scene is summer.", CALL)
    replies = iter(
        ["}{ not json", good, "", "season_cycle(target_season='tropical')"]  # episode 1
        + ["\x00\ufffd{{", good, "why\nSTOP"]  # episode 2
    )
    monkeypatch.setattr(agent.planner, "generate", lambda prompts, **kw: [next(replies) for _ in prompts])  # fmt: skip
    res = evaluate(agent, "simple", 2, image_size=32, num_envs=1)
    first, second = res.episodes
    # the env ends an episode at its third invalid call (engine.max_invalid)
    assert first["invalid_calls"] == 3 and first["steps"] == 4
    assert "malformed JSON" in first["calls"][0] and "empty reply" in first["calls"][2]
    assert "unknown value 'tropical'" in first["calls"][3]
    assert first["calls"][1] == json.dumps(CALL.to_dict())
    assert first["reasons"][1] == "Winter is asked for and the scene is summer."
    assert second["invalid_calls"] == 1 and second["calls"][1:] == [json.dumps(CALL.to_dict()), "STOP"]  # fmt: skip
    assert second["reasons"][2] == "why" and agent.last_replies == ["why\nSTOP"]


def test_open_loop_feeds_the_plan_call_by_call(monkeypatch):
    agent = QwenAgent(_planner(mode="plan"))
    plan = {
        "reasoning": "r",
        "actions": [
            {"action_id": "season_cycle", "reasoning": "first", "priority": 1,
             "parameters": {"target_season": "winter_bare", "strength": 0.6}},
            {"action_id": "time_of_day", "reasoning": "second", "priority": 2,
             "parameters": {"target_time": "night_moonlit", "strength": 0.8}},
        ],
    }  # fmt: skip
    asked = []

    def fake(prompts, **kw):
        asked.append(len(prompts))
        return ["Here is the plan: " + json.dumps(plan) + " trailing words"] * len(prompts)

    monkeypatch.setattr(agent.planner, "generate", fake)
    res = evaluate(agent, "simple", 2, image_size=32, num_envs=2)
    assert asked == [2]  # one generation per episode, at its start
    for ep in res.episodes:
        assert ep["steps"] == 3 and ep["calls"][2] == "STOP" and ep["invalid_calls"] == 0
        assert ep["reasons"][:2] == ["first", "second"]
    assert [type(c) for c, _ in parse_plan("no plan at all")] == [Invalid]


def test_preserve_in_a_reply_reaches_the_native_action():
    """A reply's ``preserve`` (step and plan mode) becomes the call's native preserve bits, and
    the env's history row carries them back into the next prompt's calls so far."""
    from agents.qwen.prompting import history_calls
    from offline_data.loaders import parse_assistant
    from styling_env.actions import preserve_names
    from styling_env.env import history_array

    reply = (
        "Night, but the sky stays as it is.\n"
        '{"action_id": "time_of_day", "parameters": {"target_time": "night_moonlit", '
        '"strength": 0.6, "preserve": ["sky", "subject"]}}'
    )
    reason, call = parse_assistant(reply)
    assert reason.startswith("Night") and preserve_names(call.preserve_bits) == ("sky", "subject")
    ((planned, why),) = parse_plan(
        '{"actions": [{"action_id": "time_of_day", "parameters": {"target_time": '
        '"night_moonlit", "preserve_foreground": true}, "reasoning": "keep the person"}]}'
    )
    assert why == "keep the person" and preserve_names(planned.preserve_bits) == ("subject",)
    rows = history_array([call, planned], 8)
    assert rows[:2, 4].tolist() == [1 + 32, 32] and rows[2, 4] == -1
    back = history_calls(rows)
    assert [preserve_names(c.preserve_bits) for c in back] == [("sky", "subject"), ("subject",)]


def test_agent_prompts_equal_the_training_prompts(small_datasets, monkeypatch):
    """At every stored step, the prompt the agent builds from the observation (its calls so far
    read back from the observation's history) is the training sample's prompt."""
    from offline_data.dataset import episodes, load

    rec = next(iter(episodes(load(small_datasets["simple"]))))
    samples = to_chat_samples([rec], include_image=True)
    agent = QwenAgent(_planner())
    seen = []
    monkeypatch.setattr(agent.planner, "generate", lambda prompts, **kw: seen.extend(prompts) or ["?"] * len(prompts))  # fmt: skip
    obs = rec.observations
    for t in range(len(samples)):
        batch = {k: np.asarray(v)[t : t + 1] for k, v in obs.items() if k != "instruction"}
        batch["instruction"] = (str(obs["instruction"][t]),)
        agent.predict(batch, episode_start=np.array([t == 0]))
    assert len(seen) == len(samples) >= 2
    for p, s in zip(seen, samples, strict=True):
        assert [p.system, p.user] == [m["content"] for m in s.prompt]
        assert np.array_equal(p.image, s.image)


# --------------------------------------------------------------------------------------------
# Errors and the command line


def test_bad_inputs_give_clear_errors(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="unknown method 'magic'"):
        train([_sample(0)], method="magic", progress=False)
    with pytest.raises(ValueError, match="mode must be one of step, plan, got 'chain'"):
        QwenConfig(mode="chain")
    with pytest.raises(ValueError, match="lora_r must be a positive int"):
        QwenConfig(lora_r=0)
    with pytest.raises(ValueError, match="train_vision needs vision=True"):
        QwenConfig(vision=False, train_vision=True)
    with pytest.raises(FileNotFoundError, match="missing/model.*does not exist"):
        QwenPlanner.create(QwenConfig(model=str(tmp_path / "missing/model")))
    with pytest.raises(FileNotFoundError, match="needs a config.json"):
        QwenPlanner.create(QwenConfig(model=str(tmp_path)))
    with pytest.raises(FileNotFoundError, match="no planner.json"):
        QwenPlanner.load(tmp_path)
    with pytest.raises(FileNotFoundError, match="DPO reference"):
        train([_sample(0)], method="dpo", reference=tmp_path, progress=False)
    with pytest.raises(ValueError, match="no DPO pairs"):
        train([_sample(0, r=4.5), _sample(1, r=4.6)], method="dpo", progress=False)
    with pytest.raises(ValueError, match="every RL weight is 0"):
        train([_sample(0, weight=0.0)], method="rl", progress=False)
    with pytest.raises(ValueError, match="has no image"):
        _planner().encode_sample(ChatSample(_sample(0).messages, 1.0, 4.0, "t", 0, 0, None))
    # a hub id that cannot be fetched: a clear error naming it (from_pretrained stubbed: no network)
    import transformers

    def offline(*a, **k):
        raise OSError("We couldn't connect to 'https://huggingface.co'")

    monkeypatch.setattr(transformers.Qwen3VLForConditionalGeneration, "from_pretrained", offline)
    with pytest.raises(ModelLoadError, match="cannot load Qwen3-VL model 'acme/no-such-vl'"):
        QwenPlanner.create(QwenConfig(model="acme/no-such-vl"))


def test_cli_errors(small_datasets, capsys):
    from agents.train import main

    ds = small_datasets["simple"]
    assert main(["--method", "s", "--dataset", ds, "--policy", "qwen3vl", "--quiet"]) == 1
    assert "--model is required for --policy qwen3vl" in capsys.readouterr().err
    assert main(["--method", "cql", "--dataset", ds, "--policy", "qwen3vl", "--model", "tiny"]) == 1
    assert "offline methods" in capsys.readouterr().err
    assert main(["--method", "s", "--dataset", ds, "--policy", "qwen3vl", "--model", "./nope/x",
                 "--quiet", "--eval-tasks", "0"]) == 1  # fmt: skip
    assert "'./nope/x' does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--method", "s", "--dataset", ds, "--policy", "qwen3vl", "--mode", "chain"])


def test_cli_smoke_run_trains_evaluates_and_merges(small_datasets, tmp_path, capsys):
    from agents.qwen.__main__ import main as qwen_main
    from agents.train import main

    out = tmp_path / "run"
    args = ["--policy", "qwen3vl", "--model", "tiny", "--method", "s", "--dataset",
            small_datasets["simple"], "--steps", "5", "--eval-tasks", "4", "--max-new-tokens", "16",
            "--out", str(out), "--quiet"]  # fmt: skip
    assert main(args) == 0
    assert "normalized" in capsys.readouterr().out
    summary = json.loads((out / "train.json").read_text())
    assert summary["policy"] == "qwen3vl" and summary["steps"] == 5 and summary["model"] == "tiny"
    assert summary["eval"]["episodes"] == 4 and summary["dataset_checksum"]
    assert summary["trainable_parameters"] < summary["parameters"] / 10
    assert len((out / "train_log.jsonl").read_text().splitlines()) == 5
    assert (out / "adapter" / "adapter_model.safetensors").is_file()
    assert qwen_main(["evaluate", str(out / "adapter"), "--tasks", "2", "--image-size", "32",
                      "--max-new-tokens", "8", "--device", "cpu"]) == 0  # fmt: skip
    assert "qwen3vl-s-step" in capsys.readouterr().out
    assert qwen_main(["merge", str(out / "adapter"), str(tmp_path / "merged")]) == 0
    assert (tmp_path / "merged" / "config.json").is_file()


def test_import_stays_light():
    """Importing the Qwen modules loads no model library, and the environment (which every env
    worker, Ray worker and command imports) no scipy.spatial (only Voronoi cells need it)."""
    code = (
        "import sys, styling_env, agents.qwen, agents.qwen.prompting, agents.endpoint; "
        "heavy = [m for m in ('transformers', 'peft', 'accelerate', 'scipy.spatial') "
        "if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
