"""The call-level critics' per-call weights on the Qwen3-VL planner (tiny in-code model: CPU,
nothing downloaded)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

# skipped without them, found without importing them: each test worker collects every
# module, and importing transformers and peft takes ~3.5 s (the tests import them)
_MISSING = [m for m in ("transformers", "peft") if importlib.util.find_spec(m) is None]
if _MISSING:
    pytest.skip(f"needs {', '.join(_MISSING)}", allow_module_level=True)

from agents.calllevel.qwen import call_weights  # noqa: E402
from offline_data.loaders import ChatSample, assistant_target  # noqa: E402
from styling_env.tools import ToolCall  # noqa: E402


def _sample(k: int, call: ToolCall, weight: float) -> ChatSample:
    rng = np.random.default_rng(k)
    msgs = [
        {"role": "system", "content": "You plan image styling calls."},
        {"role": "user", "content": f"Request: make it wintry, number {k}"},
        {"role": "assistant", "content": assistant_target("the scene needs this", call)},
    ]
    return ChatSample(
        msgs, weight, 3.0, "t0", k, 0, rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    )


def _nll(planner, sample) -> float:
    b = planner.batch([sample])
    b.pop("weight")
    with torch.no_grad():
        return float(planner.model(**b).loss)


def test_a_call_with_a_higher_advantage_gains_more_likelihood():
    from agents.calllevel import AWACConfig, IQLConfig
    from agents.qwen.model import QwenConfig, QwenPlanner
    from agents.qwen.train import train

    adv = torch.tensor([1.0, -1.0])
    w = call_weights(adv, IQLConfig())
    assert w.tolist() == pytest.approx([np.exp(3.0), np.exp(-3.0)], rel=1e-5)
    assert call_weights(adv, AWACConfig()).tolist() == pytest.approx([2 / (1 + np.exp(-2)), 2 / (1 + np.exp(2))], rel=1e-5)  # fmt: skip
    calls = (
        ToolCall("season_cycle", "winter_bare", 0.6),
        ToolCall("time_of_day", "night_moonlit", 0.8),
    )
    base = QwenPlanner.create(QwenConfig(lora_dropout=0.0))
    before = [_nll(base, _sample(k, calls[k], 1.0)) for k in (0, 1)]
    gains = []
    for order in ((0, 1), (1, 0)):  # the same two calls, their advantages swapped
        samples = [_sample(k, calls[k], float(w[order[k]])) for k in (0, 1)]
        res = train(samples, method="rw", config=QwenConfig(lora_dropout=0.0), steps=6, batch_size=2, lr=1e-2, progress=False)  # fmt: skip
        gains.append([before[k] - _nll(res.planner, samples[k]) for k in (0, 1)])
    # each call gains more likelihood when it is the one with the higher advantage
    assert gains[0][0] > gains[1][0] + 0.1, gains
    assert gains[1][1] > gains[0][1] + 0.1, gains


def test_qwen_call_level_trains_saves_reloads_evaluates(small_datasets, tmp_path):
    from agents import registry
    from agents.evaluate import evaluate, load_agent

    m = registry.get("iql-qwen3vl")
    assert m.kind == "qwen"
    cfg = m.make_config({"critic_steps": 4, "training": {"steps": 2, "batch_size": 4}, "planner": {"image_size": 32}, "model": {"max_new_tokens": 12}})  # fmt: skip
    job = registry.TrainJob(m, cfg, 0, tmp_path / "q", dataset=small_datasets["simple"], progress=False)  # fmt: skip
    trained = m.train(job)
    info = trained.info
    assert (
        info["steps"] == 2
        and info["critic_steps"] == 4
        and info["diagnostics"]["mistaken_calls"] > 0
    )
    assert (job.checkpoint / "planner.json").is_file() and (tmp_path / "q" / "critic.pt").is_file()
    agent = load_agent(str(job.checkpoint))
    res = evaluate(agent, "simple", 2, image_size=32, num_envs=2)
    assert len(res.episodes) == 2


def test_plan_mode_is_not_supported():
    from agents import registry
    from agents.calllevel import UnsupportedPolicyError

    with pytest.raises(UnsupportedPolicyError, match="step mode"):
        registry.get("awac-qwen3vl").make_config({"model": {"mode": "plan"}})
    with pytest.raises(ValueError, match="algorithm must be one of"):
        registry.get("awac-qwen3vl").make_config({"algorithm": "ppo"})
