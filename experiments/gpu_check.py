"""The GPU check: what this project's CUDA paths cost, measured in one run (``make gpu-check``).

    python -m experiments.gpu_check [--out out/gpu_check.json] [--wheels ../wheels] [--toy]

On a machine with a CUDA GPU it measures, each beside the same on the CPU where that applies:

1. **tools**: one :func:`styling_env.tools.apply_calls` per step of a random agent (the
   tools-only loop of :mod:`experiments.bench_env`) at 64 x 128 px and 256 x 512 px;
2. **env**: steps/s of the native vector env with a random agent at the same sizes, and its
   ratio to the tools-only throughput of the same device;
3. **judge**: one :class:`~styling_env.judge.MeasuredJudge` call scoring 64 episodes;
4. **lora**: LoRA training steps of randomly initialized models with Qwen3-VL-4B's and -8B's
   shapes (the configurations are written here; nothing is downloaded), batch 4, bf16,
   gradient checkpointing, LoRA r 16 / alpha 32 on the language model's projections (the
   project's defaults), a step-mode sample of ~1,550 tokens with one 256 px image (64 image
   tokens): peak GPU memory and tokens/s.

Sized to finish within 8 minutes on one H200 (the CPU side of 256 x 512 runs fewer steps).
Without a GPU it runs everything it can on the CPU and says so; ``--toy`` shrinks every size
(tests run it in seconds). Results go to ``--out`` as JSON and are printed as a table.

A GPU machine without network may lack this project's other dependencies (gymnasium, kornia,
scikit-learn): when an import fails and ``--wheels DIR`` holds wheels for them (``make
gpu-wheels`` downloads them for Python 3.12), they are installed from there with pip, nothing
else is fetched.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

#: Imports the environment needs that a bare GPU machine (torch, transformers, peft, accelerate,
#: scikit-image) may lack, and the wheels that provide them (``make gpu-wheels``).
CARRIED = {
    "gymnasium": ("gymnasium", "farama-notifications", "cloudpickle"),
    "kornia": ("kornia", "kornia-rs"),
    "sklearn": ("scikit-learn", "joblib", "threadpoolctl"),
}

#: Shapes of the Qwen3-VL checkpoints, as their published ``config.json`` give them (text model,
#: vision tower); ``toy`` is a few-layer stand-in for tests on a CPU.
QWEN3VL_SHAPES: dict[str, dict[str, Any]] = {
    "4B": {
        "text": dict(hidden_size=2560, intermediate_size=9728, num_hidden_layers=36,
                     num_attention_heads=32, num_key_value_heads=8, head_dim=128,
                     vocab_size=151936, tie_word_embeddings=True),
        "mrope": [24, 20, 20],
        "vision": dict(depth=24, hidden_size=1024, intermediate_size=4096, num_heads=16,
                       out_hidden_size=2560, num_position_embeddings=2304,
                       deepstack_visual_indexes=[5, 11, 17]),
    },
    "8B": {
        "text": dict(hidden_size=4096, intermediate_size=12288, num_hidden_layers=36,
                     num_attention_heads=32, num_key_value_heads=8, head_dim=128,
                     vocab_size=151936, tie_word_embeddings=False),
        "mrope": [24, 20, 20],
        "vision": dict(depth=27, hidden_size=1152, intermediate_size=4304, num_heads=16,
                       out_hidden_size=4096, num_position_embeddings=2304,
                       deepstack_visual_indexes=[8, 16, 24]),
    },
    "toy": {
        "text": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                     num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                     vocab_size=512, tie_word_embeddings=False),
        "mrope": [2, 3, 3],
        "vision": dict(depth=2, hidden_size=64, intermediate_size=128, num_heads=4,
                       out_hidden_size=64, num_position_embeddings=256,
                       deepstack_visual_indexes=[0]),
    },
}  # fmt: skip

#: LoRA targets and sizes: the project's defaults (``agents.qwen.model.QwenConfig``).
LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
LORA_R, LORA_ALPHA = 16, 32

#: Token ids the configurations reserve for the vision markers (inside every vocabulary above).
IMAGE_PAD, VIDEO_PAD, VISION_START, VISION_END = 5, 6, 3, 4


def ensure_dependencies(wheels: Path | None) -> list[str]:
    """Install from ``wheels`` the carried packages whose import fails; returns what it
    installed. Raises a RuntimeError naming what is missing when there is nothing to install
    from."""
    missing = []
    for module, dists in CARRIED.items():
        try:
            importlib.import_module(module)
        except ImportError:
            missing.extend(dists)
    if not missing:
        return []
    if wheels is None or not wheels.is_dir():
        raise RuntimeError(
            f"missing {', '.join(missing)} and no wheel folder (--wheels {wheels}); run "
            "`make gpu-wheels` on a machine with network and carry its folder here"
        )
    cmd = [sys.executable, "-m", "pip", "install", "--no-index", "--find-links", str(wheels)]
    subprocess.run([*cmd, *missing], check=True)
    importlib.invalidate_caches()
    return missing


def _sync(device: Any) -> None:
    import torch

    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def _timed(fn: Callable[[], object], device: Any, repeats: int) -> float:
    """Median seconds of ``repeats`` calls of ``fn`` after one warm-up."""
    fn()
    _sync(device)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def check_env(device: str, num_envs: int, size: int, steps: int) -> dict[str, float]:
    """Env and tools-only steps/s at ``num_envs`` x ``size`` px on ``device``."""
    from experiments.bench_env import bench

    r = bench(num_envs, steps, size, "simple", device=device)
    keep = ("steps", "steps_per_s", "tools_only_steps_per_s", "env_vs_tools", "resets_per_s",
            "env_own_work", "env_vs_tools_ceiling")  # fmt: skip
    stages = ("tools", "reset", "sources", "references", "judge", "context", "other")
    return {k: r[k] for k in keep} | {f"share_{k}": r.get(f"share_{k}", 0.0) for k in stages}


def check_judge(device: str, n: int, size: int, repeats: int) -> dict[str, float]:
    """Milliseconds of one judge call scoring ``n`` episodes (their references built on
    ``device``), and the reference build per task."""
    import torch

    from styling_env.judge import Episode, MeasuredJudge
    from styling_env.oracle import task_references
    from styling_env.tasks import sample_task

    tasks = [sample_task("complex", 1000 + i, "test") for i in range(n)]
    t0 = time.perf_counter()
    batch, refs = task_references(tasks, size, device)
    _sync(device)
    build = time.perf_counter() - t0
    finals = (batch.pixels * 0.9 + 0.05).clamp(0, 1)  # some change, the same on every device
    episodes = [
        Episode(batch.pixels[i], finals[i], refs[i], (), 0, t.constraints, batch.masks[i],
                bool(batch.has_masks[i]))
        for i, t in enumerate(tasks)
    ]  # fmt: skip
    judge = MeasuredJudge()
    with torch.inference_mode():
        sec = _timed(lambda: judge.score(episodes), device, repeats)
    return {"episodes": n, "judge_ms": 1e3 * sec, "references_ms_per_task": 1e3 * build / n}


def qwen3vl_config(shape: str) -> Any:
    """A :class:`transformers.Qwen3VLConfig` with the shapes of :data:`QWEN3VL_SHAPES`."""
    from transformers import Qwen3VLConfig

    s = QWEN3VL_SHAPES[shape]
    text = dict(s["text"])
    text.update(
        max_position_embeddings=8192,
        rope_parameters={"rope_type": "default", "rope_theta": 5_000_000.0,
                         "mrope_section": s["mrope"], "mrope_interleaved": True},
        pad_token_id=0,
        use_cache=False,  # training: no KV cache
    )  # fmt: skip
    vision = dict(s["vision"], patch_size=16, spatial_merge_size=2, temporal_patch_size=2)
    return Qwen3VLConfig(
        text_config=text,
        vision_config=vision,
        image_token_id=IMAGE_PAD,
        video_token_id=VIDEO_PAD,
        vision_start_token_id=VISION_START,
        vision_end_token_id=VISION_END,
        tie_word_embeddings=text["tie_word_embeddings"],
    )


def check_lora(
    shape: str, device: str, batch: int, tokens: int, image: int, steps: int, bf16: bool
) -> dict[str, float]:
    """LoRA training of a random model with ``shape``'s configuration: ``steps`` AdamW steps on
    ``batch`` sequences of ``tokens`` tokens, each with one ``image`` px picture, the loss on the
    last 80 positions (a step target), gradient checkpointing on. Peak memory and tokens/s."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import Qwen3VLForConditionalGeneration

    config = qwen3vl_config(shape)
    dtype = torch.bfloat16 if bf16 else torch.float32
    dev = torch.device(device)
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    t0 = time.perf_counter()
    with torch.device(dev):
        model = Qwen3VLForConditionalGeneration._from_config(config, dtype=dtype)
    params = sum(p.numel() for p in model.parameters())
    if hasattr(model, "activation_checkpointing_enable"):  # the name in newer transformers 5.x
        model.activation_checkpointing_enable({"use_reentrant": False})
    else:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.enable_input_require_grads()
    lora = LoraConfig(r=LORA_R, lora_alpha=LORA_ALPHA, lora_dropout=0.0,
                      target_modules=list(LORA_TARGETS), task_type="CAUSAL_LM")  # fmt: skip
    model = get_peft_model(model, lora)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    build = time.perf_counter() - t0
    model.train()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)

    patch, merge = 16, 2
    grid = image // patch
    n_image = (grid // merge) ** 2
    gen = torch.Generator().manual_seed(0)
    vocab = config.text_config.vocab_size
    ids = torch.randint(16, vocab, (batch, tokens), generator=gen)
    ids[:, 1] = VISION_START
    ids[:, 2 : 2 + n_image] = IMAGE_PAD
    ids[:, 2 + n_image] = VISION_END
    types = torch.zeros_like(ids)
    types[:, 2 : 2 + n_image] = 1
    labels = torch.full_like(ids, -100)
    labels[:, -80:] = ids[:, -80:]
    pixels = torch.rand(batch * grid * grid, 3 * 2 * patch * patch, generator=gen)
    inputs = {
        "input_ids": ids.to(dev),
        "mm_token_type_ids": types.to(dev),
        "attention_mask": torch.ones_like(ids).to(dev),
        "labels": labels.to(dev),
        "pixel_values": pixels.to(dev, dtype),
        "image_grid_thw": torch.tensor([[1, grid, grid]] * batch).to(dev),
    }

    def step() -> None:
        loss = model(**inputs).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    sec = _timed(step, device, steps)
    out = {
        "parameters": params,
        "trainable": trainable,
        "build_s": build,
        "step_s": sec,
        "tokens_per_s": batch * tokens / sec,
        "batch": batch,
        "tokens": tokens,
        "image_tokens": n_image,
    }
    if dev.type == "cuda":
        out["peak_memory_gb"] = torch.cuda.max_memory_allocated(dev) / 2**30
    return out  # the model goes with this frame; run() empties the CUDA cache after it


def run(toy: bool = False, device: str | None = None, lora: bool = True) -> dict[str, Any]:
    """Every measurement (see the module docstring); ``device`` defaults to CUDA when there is
    one. Returns them as one JSON-ready dict."""
    import torch

    gpu = device or ("cuda" if torch.cuda.is_available() else "cpu")
    report: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "device": torch.cuda.get_device_name(0) if gpu.startswith("cuda") else "cpu",
            "threads": torch.get_num_threads(),
            "toy": toy,
        },
        "env": [],
        "judge": [],
        "lora": [],
    }
    sizes = (
        [(4, 32, 16, 8), (2, 64, 8, 4)] if toy else [(64, 128, 2048, 512), (256, 512, 2048, 256)]
    )
    devices = [gpu] if gpu == "cpu" else [gpu, "cpu"]
    for n, size, dev_steps, cpu_steps in sizes:
        for dev in devices:
            steps = cpu_steps if dev == "cpu" and gpu != "cpu" else dev_steps
            r = check_env(dev, n, size, max(steps, n))
            report["env"].append({"device": dev, "num_envs": n, "size": size, **r})
            print(f"env {dev:5s} {n:3d} x {size:3d}px: {r['steps_per_s']:9.1f} steps/s, "
                  f"tools-only {r['tools_only_steps_per_s']:9.1f}, env/tools "
                  f"{r['env_vs_tools']:.2f}", flush=True)  # fmt: skip
    for dev in devices:
        r = check_judge(dev, 4 if toy else 64, 32 if toy else 128, 2 if toy else 10)
        report["judge"].append({"device": dev, **r})
        print(f"judge {dev:5s}: {r['judge_ms']:.1f} ms for {r['episodes']} episodes, references "
              f"{r['references_ms_per_task']:.1f} ms per task", flush=True)  # fmt: skip
    if lora:
        shapes = ["toy"] if toy else ["4B", "8B"]
        for shape in shapes:
            r = check_lora(
                shape, gpu, batch=2 if toy else 4, tokens=64 if toy else 1550,
                image=64 if toy else 256, steps=2 if toy else 5, bf16=gpu != "cpu",
            )  # fmt: skip
            if gpu.startswith("cuda"):
                torch.cuda.empty_cache()
            report["lora"].append({"shape": shape, "device": gpu, **r})
            mem = f", peak {r['peak_memory_gb']:.1f} GB" if "peak_memory_gb" in r else ""
            print(f"lora {shape}: {r['parameters'] / 1e9:.2f} B parameters, {r['trainable'] / 1e6:.1f} M "
                  f"trainable, {r['step_s']:.2f} s/step, {r['tokens_per_s']:.0f} tokens/s{mem}",
                  flush=True)  # fmt: skip
    return report


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(
        prog="python -m experiments.gpu_check", description=__doc__.splitlines()[0]
    )
    p.add_argument("--out", type=Path, default=Path("out/gpu_check.json"), help="JSON to write")
    p.add_argument("--wheels", type=Path, default=None, help="folder of wheels to install from")
    p.add_argument("--toy", action="store_true", help="tiny sizes (a CPU smoke run, seconds)")
    p.add_argument("--device", default=None, help="device to check (default: cuda if present)")
    p.add_argument("--no-lora", action="store_true", help="skip the Qwen3-VL LoRA steps")
    args = p.parse_args(argv)
    installed = ensure_dependencies(args.wheels)
    if installed:
        print(f"installed from {args.wheels}: {', '.join(installed)}")
    report = run(toy=args.toy, device=args.device, lora=not args.no_lora)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")
    return report


if __name__ == "__main__":
    main()
