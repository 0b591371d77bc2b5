"""A tiny randomly initialized Qwen3-VL and its processor, built entirely in code (no download).

For CPU tests and smoke runs of the Qwen3-VL planner: the real architecture
(:class:`transformers.Qwen3VLForConditionalGeneration`: vision tower, deepstack merger, M-RoPE
text decoder) at toy sizes — two text layers of width 64, a two-block vision tower of width 64,
patch 16, spatial merge 2 — about 0.6 M parameters, and a real tokenizer:

- a byte-level BPE (:mod:`tokenizers`) trained in code on the planner's own prompt language
  (both system prompts, every tool id and value, JSON punctuation, digits), so any text encodes
  losslessly (bytes are the fallback) and the long system prompt stays a few hundred tokens;
- the Qwen special tokens (``<|im_start|>``, ``<|im_end|>``, ``<|endoftext|>``,
  ``<|vision_start|>``, ``<|image_pad|>``, ``<|vision_end|>``, ``<|video_pad|>``) and a Qwen-style
  chat template (``<|im_start|>role\\n...<|im_end|>\\n``; an image part expands to
  ``<|vision_start|><|image_pad|>...<|vision_end|>``);
- a :class:`Qwen2VLImageProcessorPil` with patch 16, merge 2, mean/std 0.5 and a pixel range
  (32² to 128²) that suits the env's small images: a 32×32 image is a 1×2×2 patch grid, one image
  token; 128×128 is 16 tokens.

Everything is deterministic for a seed: two calls of :func:`build_tiny` with the same seed give
identical weights and an identical tokenizer (so a LoRA adapter trained on ``tiny`` loads back
onto a rebuilt ``tiny``).

Example:
    >>> model, processor = build_tiny(seed=0)  # doctest: +SKIP
    >>> processor.tokenizer("{\\"action_id\\": \\"season_cycle\\"}").input_ids  # doctest: +SKIP
"""

from __future__ import annotations

import functools
from typing import Any

#: The Qwen special tokens, in the order of their ids (0..6).
SPECIAL_TOKENS: tuple[str, ...] = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
)

#: A Qwen-style chat template: string content, or a list of ``{"type": "image"}`` /
#: ``{"type": "text", "text": ...}`` parts (the format of the real Qwen3-VL processors).
CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{{ '<|im_start|>' + message['role'] + '\\n' }}"
    "{%- if message['content'] is string -%}{{ message['content'] }}"
    "{%- else -%}{%- for part in message['content'] -%}"
    "{%- if part['type'] == 'image' -%}{{ '<|vision_start|><|image_pad|><|vision_end|>' }}"
    "{%- elif part['type'] == 'text' -%}{{ part['text'] }}{%- endif -%}"
    "{%- endfor -%}{%- endif -%}"
    "{{ '<|im_end|>\\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<|im_start|>assistant\\n' }}{%- endif -%}"
)

#: The spec names that :func:`agents.qwen.model.load_model` builds with :func:`build_tiny`.
TINY_SPECS: tuple[str, ...] = ("tiny", "tiny-qwen3vl")


def _corpus() -> list[str]:
    """Text in the planner's language: what the tokenizer's merges are learned from."""
    import json

    from offline_data.loaders import assistant_target, system_prompt, user_prompt
    from styling_env.context import CONTEXT_NVEC
    from styling_env.tools import VALUE_PARAMS, ToolCall
    from styling_env.tools.vocabulary import TOOLS

    texts = [system_prompt("step"), system_prompt("plan")]
    ctx = [0] * len(CONTEXT_NVEC)
    texts.append(user_prompt("Make it a snowy winter night, but keep it photorealistic.", ctx, []))
    for tool, values in TOOLS.items():
        for k, value in enumerate(values):
            call = ToolCall(tool, value, round(0.1 + 0.1 * (k % 9), 2))
            texts.append(assistant_target(f"The request asks for {value.replace('_', ' ')}.", call))
            texts.append(json.dumps({VALUE_PARAMS[tool]: value, "strength": 0.55}))
    texts.append("STOP 0 1 2 3 4 5 6 7 8 9 0.05 0.25 0.5 0.75 1.0 {} [] , : \" ' \n")
    return texts


@functools.lru_cache(maxsize=4)
def _tokenizer_json(vocab_size: int) -> str:
    """The serialized byte-level BPE (trained once per process and vocabulary size)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=1,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_corpus(), trainer=trainer)
    return tok.to_str()


def build_tokenizer(vocab_size: int = 2048) -> Any:
    """A :class:`transformers.PreTrainedTokenizerFast` over a byte-level BPE of ``vocab_size``
    tokens (special tokens first, ids 0-6), with the Qwen chat template.

    ``<|im_end|>`` is the end-of-sequence token and ``<|endoftext|>`` pads.
    """
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    if vocab_size < 512:
        raise ValueError(f"vocab_size must be >= 512 (256 bytes + merges), got {vocab_size}")
    tok = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer.from_str(_tokenizer_json(vocab_size)),
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=list(SPECIAL_TOKENS[1:2] + SPECIAL_TOKENS[3:]),
    )
    tok.chat_template = CHAT_TEMPLATE
    tok.padding_side = "right"
    return tok


@functools.lru_cache(maxsize=1)
def image_only_processor_class() -> type:
    """:class:`transformers.Qwen3VLProcessor` without a video processor (built lazily: it
    imports transformers). ``Qwen3VLProcessor(..., video_processor=None)`` raises, and the
    video processor needs torchvision; planners never see videos."""
    from transformers import Qwen3VLProcessor

    class ImageOnlyQwen3VLProcessor(Qwen3VLProcessor):
        """Qwen3-VL's processor (chat template, image token expansion, ``mm_token_type_ids``)
        over a tokenizer and an image processor only."""

        @classmethod
        def get_attributes(cls) -> list[str]:
            return ["image_processor", "tokenizer"]

        def __init__(self, image_processor=None, tokenizer=None, chat_template=None, **kwargs):
            super().__init__(
                image_processor, tokenizer, video_processor=None, chat_template=chat_template
            )

    return ImageOnlyQwen3VLProcessor


def build_processor(
    vocab_size: int = 2048,
    *,
    min_pixels: int = 32 * 32,
    max_pixels: int = 128 * 128,
    tokenizer: Any = None,
) -> Any:
    """The tiny tokenizer (or ``tokenizer``, e.g. one saved with a merged tiny model) + a
    Qwen2-VL image processor set for small images (patch 16, merge 2, temporal patch 2,
    mean/std 0.5, ``min_pixels``..``max_pixels``), as one processor."""
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
        Qwen2VLImageProcessorPil,
    )

    images = Qwen2VLImageProcessorPil(
        patch_size=16,
        merge_size=2,
        temporal_patch_size=2,
        size={"shortest_edge": int(min_pixels), "longest_edge": int(max_pixels)},
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
    )
    cls = image_only_processor_class()
    return cls(
        image_processor=images,
        tokenizer=tokenizer if tokenizer is not None else build_tokenizer(vocab_size),
        chat_template=CHAT_TEMPLATE,
    )


def tiny_config(vocab_size: int = 2048, hidden: int = 64, layers: int = 2) -> Any:
    """The :class:`transformers.Qwen3VLConfig` of the tiny model (ids of the special tokens as in
    :data:`SPECIAL_TOKENS`)."""
    from transformers import Qwen3VLConfig

    ids = {t: i for i, t in enumerate(SPECIAL_TOKENS)}
    heads, head_dim = 4, hidden // 4
    third = head_dim // 2 // 3
    mrope = [head_dim // 2 - 2 * third, third, third]  # sums to head_dim / 2
    text = {
        "vocab_size": vocab_size,
        "hidden_size": hidden,
        "intermediate_size": 2 * hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "num_key_value_heads": 2,
        "head_dim": head_dim,
        "max_position_embeddings": 8192,
        "rope_parameters": {
            "rope_type": "default",
            "rope_theta": 10000.0,
            "mrope_section": mrope,
            "mrope_interleaved": True,
        },
        "pad_token_id": ids["<|endoftext|>"],
        "tie_word_embeddings": False,
    }
    vision = {
        "depth": 2,
        "hidden_size": hidden,
        "intermediate_size": 2 * hidden,
        "num_heads": 4,
        "patch_size": 16,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "out_hidden_size": hidden,
        "num_position_embeddings": 256,
        "deepstack_visual_indexes": [0],
    }
    return Qwen3VLConfig(
        text_config=text,
        vision_config=vision,
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=False,
    )


def build_tiny(seed: int = 0, *, vocab_size: int = 2048) -> tuple[Any, Any]:
    """``(model, processor)``: a randomly initialized tiny :class:`Qwen3VLForConditionalGeneration`
    (float32, eval mode, weights from ``seed``) and its processor (:func:`build_processor`)."""
    import torch
    from transformers import Qwen3VLForConditionalGeneration

    processor = build_processor(vocab_size)
    config = tiny_config(vocab_size)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Qwen3VLForConditionalGeneration(config)
    model.generation_config.pad_token_id = config.text_config.pad_token_id
    model.generation_config.eos_token_id = processor.tokenizer.eos_token_id
    return model.eval(), processor


__all__ = [
    "CHAT_TEMPLATE",
    "SPECIAL_TOKENS",
    "TINY_SPECS",
    "build_processor",
    "build_tiny",
    "build_tokenizer",
    "image_only_processor_class",
    "tiny_config",
]
