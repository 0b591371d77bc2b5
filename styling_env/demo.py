"""A first look at the environment: one task per tier, played by the oracle and by a random agent.

    python -m styling_env.demo --out out/episodes.png [--seed 0] [--size 128]

Prints each request, the calls made and the judge's scores, and writes a picture with one row
per episode: source | result | oracle reference.
"""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Sequence
from pathlib import Path

import gymnasium as gym
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from . import TOOLS
from .engine import Stop
from .tools import ToolCall


def play(
    env: gym.Env, seed: int, agent: str, rng: np.random.Generator
) -> tuple[np.ndarray, dict, list[ToolCall], str]:
    """One episode; ``agent`` is ``oracle`` or ``random``. Returns the final strip and info."""
    obs, info = env.reset(seed=seed)
    instruction = obs["instruction"]
    if agent == "oracle":
        calls = list(env.unwrapped.slot.reference.plan)
    else:
        calls = []
        for _ in range(int(rng.integers(1, 5))):
            tool = str(rng.choice(list(TOOLS)))
            calls.append(
                ToolCall(tool, str(rng.choice(TOOLS[tool])), round(float(rng.uniform(0.2, 1.0)), 2))
            )
    for c in calls:
        obs, _, term, trunc, info = env.step(c)
    obs, _, term, trunc, info = env.step(Stop())
    return env.render(), info, calls, instruction


def main(argv: Sequence[str] | None = None) -> Path:
    p = argparse.ArgumentParser(
        prog="python -m styling_env.demo", description=__doc__.splitlines()[0]
    )
    p.add_argument("--out", type=Path, default=Path("out/episodes.png"), help="PNG file to write")
    p.add_argument("--seed", type=int, default=0, help="seed of the tasks")
    p.add_argument("--size", type=int, default=128, help="image size")
    args = p.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    rows = []
    for tier in ("simple", "regular", "complex"):
        env = gym.make("ImageStyling-v0", tier=tier, image_size=args.size, render_mode="rgb_array")
        for agent in ("oracle", "random"):
            strip, info, calls, instruction = play(env, args.seed, agent, rng)
            print(f"\n[{tier} / {agent}] {instruction}")
            for c in calls:
                print(f"  {c.tool}({c.value}, strength={c.strength:.2f})")
            scores = ", ".join(
                f"{k} {info[k]:.0f}"
                for k in (
                    "instruction_following",
                    "semantic_accuracy",
                    "transformation_strength",
                    "coherence",
                    "visual_quality",
                    "technical_execution",
                )
            )
            print(f"  -> overall {info['overall']:.1f} (r = {info['r']:.2f}); {scores}")
            rows.append((f"{tier} / {agent}: overall {info['overall']:.0f}", instruction, strip))
    font = ImageFont.load_default(size=12)
    w = rows[0][2].shape[1]
    text_w = 360
    h = rows[0][2].shape[0]
    sheet = Image.new("RGB", (w + text_w, len(rows) * (h + 8)), (250, 250, 248))
    draw = ImageDraw.Draw(sheet)
    for i, (title, instruction, strip) in enumerate(rows):
        y = i * (h + 8)
        sheet.paste(Image.fromarray(strip), (0, y))
        draw.text((w + 8, y + 4), title, fill=(20, 20, 24), font=font)
        for j, line in enumerate(textwrap.wrap(instruction, 56)[: max(1, h // 14 - 2)]):
            draw.text((w + 8, y + 22 + 14 * j), line, fill=(90, 90, 96), font=font)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out)
    print(f"\nwrote {args.out} (rows: source | result | oracle reference)")
    return args.out


if __name__ == "__main__":
    main()
