"""The Qwen3-VL planner: a model, its processor, LoRA adapters, encoding and scoring.

- :class:`QwenConfig`: which model (``tiny``, a local directory or a hub id), the reply mode
  (``step`` / ``plan``), text-only or vision, the LoRA settings (r=16, alpha=32, dropout 0.05
  on q/k/v/o/gate/up/down of the language model; the vision tower frozen), bf16 and gradient
  checkpointing. Round-trips through JSON (``planner.json`` beside every saved adapter).
- :func:`load_model`: the base :class:`transformers.Qwen3VLForConditionalGeneration` and its
  processor — ``tiny`` is built in code (:mod:`agents.qwen.tiny`); anything else goes through
  ``from_pretrained`` (a hub id is read from the local Hugging Face cache, or downloaded when the
  environment allows it; tests never do).
- :class:`QwenPlanner`: the model with its LoRA adapter (peft): :meth:`~QwenPlanner.save`,
  :meth:`~QwenPlanner.load`, :meth:`~QwenPlanner.merge`; :meth:`~QwenPlanner.encode_sample`
  (prompt tokens labelled ``-100``, assistant tokens labelled with themselves),
  :meth:`~QwenPlanner.generate`.
- :class:`SequenceScorer`: per sequence, the summed log-probability of its assistant tokens and
  their count (the LM head runs on those positions only: a 150k-token vocabulary times a
  1,500-token prompt would not fit otherwise); :func:`weighted_batch_loss` (S/RL/RW/SW) and
  :func:`dpo_batch_loss` reduce them with :mod:`offline_data.weights`.

transformers and peft are imported inside functions: ``import agents.qwen`` stays light.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import re
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from agents.config import Config
from offline_data.weights import DPO_BETA, DPOLoss, dpo_loss, weighted_loss
from styling_env.libraries import check_library
from styling_env.validation import positive_int

from .prompting import Prompt, check_mode
from .tiny import TINY_SPECS

if TYPE_CHECKING:
    from offline_data.loaders import ChatSample

#: LoRA targets of the language model (the paper's: q, k, v, o, gate, up, down).
LM_TARGETS: tuple[str, ...] = (
    "q_proj",
    "k_proj",
    "v_proj",
    "o_proj",
    "gate_proj",
    "up_proj",
    "down_proj",
)
#: LoRA targets of the vision tower's blocks and mergers (only with ``train_vision=True``).
VISION_TARGETS: tuple[str, ...] = ("qkv", "proj", "linear_fc1", "linear_fc2")
#: Default ``max_new_tokens`` per mode (a step reply is ~60 tokens of a real Qwen tokenizer, a
#: five-call plan ~400).
MAX_NEW_TOKENS: Mapping[str, int] = {"step": 160, "plan": 768}
#: The file beside an adapter that says how to rebuild the planner.
PLANNER_FILE = "planner.json"
#: The file that marks a saved (merged) tiny model, whose processor is rebuilt in code.
TINY_MARKER = "tiny_qwen3vl.json"
IGNORE_INDEX = -100


class ModelLoadError(OSError):
    """A model, adapter or processor could not be loaded; the message names what and why."""


@dataclass(frozen=True)
class QwenConfig(Config):
    """How to build a Qwen3-VL planner.

    Attributes:
        model: ``"tiny"`` (or ``"tiny-qwen3vl"``: the random toy model built in code), a local
            directory holding a checkpoint (``config.json`` + weights + processor files) or a
            hub id such as ``Qwen/Qwen3-VL-4B-Instruct``.
        mode: ``"step"`` (a reason line + one JSON call per observation: closed loop) or
            ``"plan"`` (the paper's whole JSON plan: open loop).
        vision: the current image goes into the prompt; ``False`` is the text-only variant.
        lora_r, lora_alpha, lora_dropout: LoRA's rank, scale and dropout (paper: 16, 32, 0.05).
        target_modules: LoRA targets in the language model (module name suffixes).
        train_vision: also put LoRA on the vision tower (``qkv``, ``proj``, ``linear_fc1/2``);
            by default it stays frozen.
        bf16: load the weights in bfloat16 and train with bf16 autocast (GPU).
        gradient_checkpointing: recompute activations in the backward pass (less memory).
        max_new_tokens: generation cap; default :data:`MAX_NEW_TOKENS` of the mode.
        min_pixels, max_pixels: override the image processor's pixel range (``None``: the
            checkpoint's; the tiny model uses 32² to 128²).
        seed: the tiny model's weights and LoRA's initialization.
        library: the action library the planner calls (``styling_env.libraries``): its
            prompts list that library's actions and it reads replies in its words; training
            takes it from the dataset (a v2 config trained on a v3 dataset records ``"v3"``).
    """

    model: str = "tiny"
    mode: str = "step"
    vision: bool = True
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    target_modules: tuple[str, ...] = LM_TARGETS
    train_vision: bool = False
    bf16: bool = False
    gradient_checkpointing: bool = False
    max_new_tokens: int | None = None
    min_pixels: int | None = None
    max_pixels: int | None = None
    seed: int = 0
    library: str = "v2"

    def __post_init__(self) -> None:
        check_library(self.library)
        if not isinstance(self.model, str) or not self.model.strip():
            raise ValueError(f"model must be a non-empty string, got {self.model!r}")
        check_mode(self.mode)
        object.__setattr__(self, "target_modules", tuple(self.target_modules))
        for name in ("lora_r", "lora_alpha"):
            positive_int(name, getattr(self, name))
        if not 0.0 <= float(self.lora_dropout) < 1.0:
            raise ValueError(f"lora_dropout must be in [0, 1), got {self.lora_dropout!r}")
        if not self.target_modules or not all(
            isinstance(t, str) and re.fullmatch(r"[A-Za-z0-9_.]+", t) for t in self.target_modules
        ):
            raise ValueError(
                f"target_modules must be module name suffixes such as {', '.join(LM_TARGETS)}; "
                f"got {self.target_modules!r}"
            )
        if self.train_vision and not self.vision:
            raise ValueError(
                "train_vision needs vision=True: a text-only planner never runs its vision tower"
            )
        if self.max_new_tokens is not None:
            positive_int("max_new_tokens", self.max_new_tokens)

    @property
    def is_tiny(self) -> bool:
        return self.model in TINY_SPECS

    @property
    def new_tokens(self) -> int:
        return self.max_new_tokens or MAX_NEW_TOKENS[self.mode]

    def lora_target_regex(self) -> str:
        """A regex (peft matches it against full module names) that selects the language
        model's ``target_modules`` and, with ``train_vision``, the vision tower's."""
        lm = "|".join(re.escape(t) for t in self.target_modules)
        pattern = rf"(?:.*\.)?language_model\..*\.(?:{lm})"
        if self.train_vision:
            vis = "|".join(re.escape(t) for t in VISION_TARGETS)
            blocks = r"(?:blocks|merger|deepstack_merger_list)"  # not the patch embedding conv
            pattern = rf"{pattern}|(?:.*\.)?visual\.{blocks}\.(?:.*\.)?(?:{vis})"
        return pattern

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["target_modules"] = list(self.target_modules)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> QwenConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(
                f"unknown QwenConfig fields {unknown}; expected some of {sorted(known)}"
            )
        return cls(**dict(d))


# --------------------------------------------------------------------------------------------
# Loading


def _looks_like_path(spec: str) -> bool:
    """A spec that can only be a path (a hub id is ``name`` or ``owner/name``)."""
    return spec.startswith((".", "/", "~")) or spec.count("/") > 1 or "\\" in spec


def load_processor(path: str | os.PathLike[str]) -> Any:
    """The processor saved in ``path`` (a saved tiny model's is rebuilt in code)."""
    p = Path(path)
    marker = p / TINY_MARKER
    if marker.is_file():  # Qwen3VLProcessor cannot be saved without a video processor
        from transformers import AutoTokenizer

        from .tiny import CHAT_TEMPLATE, build_processor

        info = json.loads(marker.read_text())
        tok = AutoTokenizer.from_pretrained(str(p))
        tok.chat_template = tok.chat_template or CHAT_TEMPLATE
        return build_processor(
            int(info.get("vocab_size", 2048)),
            min_pixels=int(info.get("min_pixels", 32 * 32)),
            max_pixels=int(info.get("max_pixels", 128 * 128)),
            tokenizer=tok,
        )
    from transformers import AutoProcessor

    try:
        processor = AutoProcessor.from_pretrained(str(path))
    except ImportError as e:  # Qwen3VLVideoProcessor needs torchvision, which may be absent
        if "orchvision" not in str(e):
            raise
        processor = None
    if not (hasattr(processor, "image_processor") and hasattr(processor, "tokenizer")):
        # no torchvision, or a processor saved without its video part (AutoProcessor then
        # gives back the bare tokenizer): assemble it from its parts
        processor = _processor_without_video(str(path))
    return processor


def _processor_without_video(source: str) -> Any:
    """A checkpoint's tokenizer, image processor (PIL backend) and chat template as a
    Qwen3-VL processor without its video processor (which needs torchvision; planners never
    see videos)."""
    from transformers import AutoImageProcessor, AutoTokenizer
    from transformers.utils import cached_file

    from .tiny import image_only_processor_class

    tok = AutoTokenizer.from_pretrained(source)
    images = AutoImageProcessor.from_pretrained(source)
    template = getattr(tok, "chat_template", None)
    for name in ("chat_template.jinja", "chat_template.json"):
        f = cached_file(source, name, _raise_exceptions_for_missing_entries=False)
        if f:
            text = Path(f).read_text()
            template = json.loads(text)["chat_template"] if name.endswith(".json") else text
            break
    if not template:
        raise ValueError(f"{source} has no chat template (chat_template.jinja/.json or in the tokenizer)")  # fmt: skip
    cls = image_only_processor_class()
    return cls(image_processor=images, tokenizer=tok, chat_template=template)


def load_model(config: QwenConfig, device: Any = "cpu") -> tuple[Any, Any]:
    """``(model, processor)``: the base model of ``config.model`` on ``device`` (bfloat16 with
    ``config.bf16``), in eval mode, with ``use_cache`` on for generation.

    Raises:
        FileNotFoundError: ``config.model`` is a path that does not exist, or a directory
            without ``config.json``.
        ModelLoadError: ``from_pretrained`` failed (not a Qwen3-VL checkpoint, not in the local
            cache while offline, ...); the message names the model and the cause.
    """
    dtype = torch.bfloat16 if config.bf16 else torch.float32
    spec = config.model
    if config.is_tiny:
        from .tiny import build_tiny

        model, processor = build_tiny(seed=config.seed)
        model = model.to(dtype)
    else:
        path = Path(spec).expanduser()
        if path.exists():
            if not path.is_dir() or not (path / "config.json").is_file():
                raise FileNotFoundError(
                    f"model {spec!r} is not a checkpoint directory: it needs a config.json "
                    "(save one with save_pretrained, or pass a hub id or 'tiny')"
                )
            source = str(path)
        elif _looks_like_path(spec):
            raise FileNotFoundError(
                f"model directory {spec!r} does not exist (expected a local checkpoint "
                "directory, a hub id such as Qwen/Qwen3-VL-4B-Instruct, or 'tiny')"
            )
        else:
            source = spec
        from transformers import Qwen3VLForConditionalGeneration

        try:
            model = Qwen3VLForConditionalGeneration.from_pretrained(source, dtype=dtype)
            processor = load_processor(source)
        except (OSError, ValueError, KeyError) as e:
            offline = os.environ.get("HF_HUB_OFFLINE") not in (None, "", "0")
            hint = (
                " (HF_HUB_OFFLINE is set: a hub id must already be in the local cache)"
                if offline
                else ""
            )
            raise ModelLoadError(f"cannot load Qwen3-VL model {spec!r}{hint}: {e}") from e
    if config.min_pixels or config.max_pixels:
        ip = processor.image_processor
        size = {k: ip.size[k] for k in ("shortest_edge", "longest_edge")}
        if config.min_pixels:
            size["shortest_edge"] = int(config.min_pixels)
        if config.max_pixels:
            size["longest_edge"] = int(config.max_pixels)
        ip.size = size
    tok = processor.tokenizer
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    model.config.use_cache = True
    return model.to(device).eval(), processor


@contextlib.contextmanager
def _quiet_peft() -> Iterator[None]:
    """peft 0.21 calls ``is_gradient_checkpointing``, deprecated in transformers 5."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "`is_gradient_checkpointing`", FutureWarning)
        yield


def _hf_model(model: Any) -> Any:
    """The :class:`Qwen3VLForConditionalGeneration` inside a peft model (LoRA layers are
    injected in place, so calling it runs the adapter)."""
    get = getattr(model, "get_base_model", None)
    return get() if callable(get) else model


# --------------------------------------------------------------------------------------------
# Scoring


class SequenceScorer(nn.Module):
    """``forward(**batch) -> (logp (B,), n (B,))``: the summed log-probability of each
    sequence's labelled tokens (labels != -100, shifted by one as in causal LM training) and how
    many there are. It wraps the (peft) model so that ``accelerate``/DDP see one module whose
    forward is the training computation; the LM head runs on the labelled positions only."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        labels: torch.Tensor,
        mm_token_type_ids: torch.Tensor | None = None,
        pixel_values: torch.Tensor | None = None,
        image_grid_thw: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        hf = _hf_model(self.model)
        out = hf.model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            mm_token_type_ids=mm_token_type_ids,
            pixel_values=pixel_values,
            image_grid_thw=image_grid_thw,
            use_cache=False,
        )
        target = labels[:, 1:]
        mask = target != IGNORE_INDEX
        hidden = out.last_hidden_state[:, :-1][mask]  # (N, H): assistant positions only
        logits = hf.lm_head(hidden).float()
        tok = torch.log_softmax(logits, -1).gather(1, target[mask][:, None])[:, 0]
        rows = mask.nonzero()[:, 0]
        seq = torch.zeros(labels.shape[0], dtype=tok.dtype, device=tok.device)
        return seq.index_add(0, rows, tok), mask.sum(1)


MODEL_INPUTS = (
    "input_ids",
    "attention_mask",
    "labels",
    "mm_token_type_ids",
    "pixel_values",
    "image_grid_thw",
)


def _inputs(batch: Mapping[str, Any]) -> dict[str, Any]:
    return {k: batch[k] for k in MODEL_INPUTS if k in batch}


def weighted_batch_loss(
    scorer: Any, batch: Mapping[str, Any], method: str, *, sw_cap: float | None = 5.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """S/RL/RW/SW at token level: each sample's loss is the mean NLL of its assistant tokens;
    the batch's loss is :func:`offline_data.weights.weighted_loss` of those with
    ``batch["weight"]``. SW's negative-weight samples have their NLL clamped at ``sw_cap``
    (pushing a sample down has no bound otherwise). Returns ``(loss, per-sample NLL)``."""
    logp, n = scorer(**_inputs(batch))
    nll = -logp / n.clamp(min=1).to(logp.dtype)
    w = batch["weight"].to(nll.device, nll.dtype)
    if method == "sw" and sw_cap is not None:
        nll_used = torch.where(w < 0, nll.clamp(max=sw_cap), nll)
    else:
        nll_used = nll
    return weighted_loss(nll_used, w, method), nll.detach()


def dpo_batch_loss(scorer: Any, batch: Mapping[str, Any], beta: float = DPO_BETA) -> DPOLoss:
    """DPO at token level: a trajectory's log-probability is the sum over its samples of their
    assistant tokens' log-probabilities; ``batch["segment"]`` maps samples to trajectories (the
    ``P`` chosen ones first, then their ``P`` rejected ones) and ``batch["ref_logp"]`` holds the
    frozen reference's ``(2P,)``. Returns :func:`offline_data.weights.dpo_loss`."""
    logp, _ = scorer(**_inputs(batch))
    ref = batch["ref_logp"].to(logp.device, logp.dtype)
    seg = batch["segment"].to(logp.device)
    traj = torch.zeros(ref.shape[0], dtype=logp.dtype, device=logp.device).index_add(0, seg, logp)
    p = ref.shape[0] // 2
    return dpo_loss(traj[:p], traj[p:], ref[:p], ref[p:], beta=beta)


# --------------------------------------------------------------------------------------------
# The planner


@dataclass
class QwenPlanner:
    """A Qwen3-VL model (a peft model with a LoRA adapter, or a plain/merged model), its
    processor and its :class:`QwenConfig`. ``meta`` records how it was trained."""

    model: Any = field(repr=False)
    processor: Any = field(repr=False)
    config: QwenConfig
    meta: dict[str, Any] = field(default_factory=dict)

    # -- building ----------------------------------------------------------------------------

    @classmethod
    def create(
        cls, config: QwenConfig | None = None, *, device: Any = "cpu", lora: bool = True
    ) -> QwenPlanner:
        """The base model of ``config`` with a fresh LoRA adapter (``lora=False``: the bare
        model, e.g. the untrained zero-shot planner)."""
        config = config or QwenConfig()
        model, processor = load_model(config, device)
        if lora:
            from peft import LoraConfig, get_peft_model

            lcfg = LoraConfig(
                r=config.lora_r,
                lora_alpha=config.lora_alpha,
                lora_dropout=config.lora_dropout,
                target_modules=config.lora_target_regex(),
                bias="none",
            )
            dev = next(model.parameters()).device
            with _quiet_peft(), torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
                torch.manual_seed(config.seed)  # LoRA's A matrices: the same for a seed
                model = get_peft_model(model, lcfg)
            if not any(p.requires_grad for p in model.parameters()):  # pragma: no cover
                raise ValueError(f"LoRA found no module matching {config.target_modules}")
        return cls(model, processor, config).eval()

    @classmethod
    def load(
        cls, path: str | os.PathLike[str], *, device: Any = "cpu", trainable: bool = False, **overrides: Any
    ) -> QwenPlanner:  # fmt: skip
        """A planner saved by :meth:`save`: ``planner.json`` says which base model to build
        (``overrides`` replace config fields, e.g. ``bf16=True``); the adapter is loaded onto it
        (``trainable``: to go on training it, e.g. as DPO's starting point)."""
        p = Path(path)
        spec = p / PLANNER_FILE
        if not spec.is_file():
            raise FileNotFoundError(
                f"{p} is not a saved Qwen3-VL planner: it has no {PLANNER_FILE} "
                "(save one with QwenPlanner.save or python -m agents.train --policy qwen3vl)"
            )
        info = json.loads(spec.read_text())
        config = replace(QwenConfig.from_dict(info["config"]), **overrides)
        model, processor = load_model(config, device)
        if info.get("adapter", True):
            from peft import PeftModel

            try:
                with _quiet_peft():
                    model = PeftModel.from_pretrained(model, str(p), is_trainable=trainable)
            except (OSError, ValueError, RuntimeError, pickle.UnpicklingError) as e:
                # a pickled adapter_model.bin is refused by torch's weights_only loading
                raise ModelLoadError(f"cannot load the LoRA adapter in {p}: {e}") from e
        return cls(model, processor, config, dict(info.get("meta", {}))).eval()

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the adapter (peft's ``adapter_config.json`` + ``adapter_model.safetensors``)
        and ``planner.json`` to ``path``."""
        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        has_adapter = callable(getattr(self.model, "get_base_model", None))
        if has_adapter:
            self.model.save_pretrained(str(p))
        info = {
            "format": "image-styling/qwen3vl-planner",
            "version": 1,
            "config": self.config.to_dict(),
            "adapter": has_adapter,
            "meta": self.meta,
        }
        (p / PLANNER_FILE).write_text(json.dumps(info, indent=2, default=str))
        return p

    def merge(self) -> Any:
        """Merge the LoRA weights into the base model (``merge_and_unload``) and return the
        plain model (the planner then holds it: no adapter any more)."""
        if not callable(getattr(self.model, "merge_and_unload", None)):
            raise ValueError("this planner has no LoRA adapter to merge")
        self.model = self.model.merge_and_unload()
        return self.model

    def save_merged(self, path: str | os.PathLike[str]) -> Path:
        """Merge the adapter and save a standalone checkpoint (model + processor) to ``path``:
        usable as ``--model path`` or with ``from_pretrained``."""
        if callable(getattr(self.model, "merge_and_unload", None)):
            self.merge()
        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(str(p))
        if self.config.is_tiny:
            ip = self.processor.image_processor
            (p / TINY_MARKER).write_text(
                json.dumps(
                    {
                        "vocab_size": len(self.processor.tokenizer),
                        "min_pixels": int(ip.size["shortest_edge"]),
                        "max_pixels": int(ip.size["longest_edge"]),
                    }
                )
            )
            self.processor.tokenizer.save_pretrained(str(p))
        else:
            self.processor.save_pretrained(str(p))
            # also the classic per-part layout (preprocessor_config.json), which
            # AutoImageProcessor and serving stacks read
            self.processor.image_processor.save_pretrained(str(p))
        return p

    # -- state -------------------------------------------------------------------------------

    @property
    def device(self) -> Any:
        return next(self.model.parameters()).device

    def to(self, device: Any) -> QwenPlanner:
        self.model.to(device)
        return self

    def eval(self) -> QwenPlanner:
        self.model.eval()
        return self

    def n_parameters(self, trainable: bool = False) -> int:
        return sum(p.numel() for p in self.model.parameters() if p.requires_grad or not trainable)

    @property
    def end_text(self) -> str:
        """The token that closes an assistant turn (``<|im_end|>`` for Qwen)."""
        tok = self.processor.tokenizer
        if "<|im_end|>" in tok.get_vocab():
            return "<|im_end|>"
        return tok.eos_token

    def stop_ids(self) -> list[int]:
        tok = self.processor.tokenizer
        ids = [tok.convert_tokens_to_ids(self.end_text), tok.eos_token_id]
        return list(dict.fromkeys(i for i in ids if i is not None))

    # -- encoding ----------------------------------------------------------------------------

    def prompt_of(self, sample: ChatSample) -> Prompt:
        """The :class:`Prompt` of a training sample (its image only in vision mode)."""
        msgs = {m["role"]: m["content"] for m in sample.prompt}
        image = sample.image if self.config.vision else None
        if self.config.vision and image is None:
            raise ValueError(
                f"sample of episode {sample.episode} has no image: load vision samples with "
                "to_chat_samples(include_image=True), or use a text-only config (vision=False)"
            )
        return Prompt(msgs["system"], msgs["user"], image)

    def encode_prompt(self, prompt: Prompt) -> dict[str, Any]:
        """Token ids ``(L,)``, ``mm_token_type_ids`` ``(L,)`` and, with an image,
        ``pixel_values`` ``(P, D)`` and ``image_grid_thw`` ``(1, 3)``: the chat template with the
        generation prompt (the text ends with ``<|im_start|>assistant\\n``)."""

        text = self.processor.apply_chat_template(
            prompt.messages(), tokenize=False, add_generation_prompt=True
        )
        images = None
        if prompt.image is not None:
            img = np.asarray(prompt.image)
            if img.ndim != 3 or img.shape[-1] != 3 or img.dtype != np.uint8:
                raise ValueError(
                    f"a prompt image must be (H, W, 3) uint8, got {img.shape} {img.dtype}"
                )
            images = [img]
        enc = self.processor(text=[text], images=images, return_tensors="pt")
        out = {"input_ids": enc["input_ids"][0]}
        mm = enc.get("mm_token_type_ids")
        out["mm_token_type_ids"] = mm[0] if mm is not None else torch.zeros_like(out["input_ids"])
        if images is not None:
            out["pixel_values"] = enc["pixel_values"]
            out["image_grid_thw"] = enc["image_grid_thw"]
        return out

    def target_ids(self, target: str) -> list[int]:
        """The assistant reply's token ids, closed by :attr:`end_text` (the model learns to stop)."""
        tok = self.processor.tokenizer
        return tok(target + self.end_text, add_special_tokens=False)["input_ids"]

    def encode_sample(self, sample: ChatSample) -> dict[str, Any]:
        """:meth:`encode_prompt` of the sample's prompt followed by its target's tokens;
        ``labels`` are ``-100`` on the prompt (system, user, image and template tokens) and the
        token ids on the assistant reply (its end token included)."""

        enc = self.encode_prompt(self.prompt_of(sample))
        tgt = torch.tensor(self.target_ids(sample.target), dtype=enc["input_ids"].dtype)
        n = enc["input_ids"].shape[0]
        enc["input_ids"] = torch.cat([enc["input_ids"], tgt])
        enc["mm_token_type_ids"] = torch.cat([enc["mm_token_type_ids"], torch.zeros_like(tgt)])
        enc["labels"] = torch.cat([torch.full((n,), IGNORE_INDEX, dtype=tgt.dtype), tgt])
        return enc

    def collate(self, items: Sequence[Mapping[str, Any]], side: str = "right") -> dict[str, Any]:
        """Pad encoded items into one batch (``side="left"`` for generation): ``input_ids``,
        ``attention_mask``, ``mm_token_type_ids``, ``labels`` (if the items have them)
        ``(B, L)``; ``pixel_values`` and ``image_grid_thw`` concatenated over the items that
        have an image."""

        if side not in ("left", "right"):
            raise ValueError(f"side must be 'left' or 'right', got {side!r}")
        pad = self.processor.tokenizer.pad_token_id
        length = max(int(it["input_ids"].shape[0]) for it in items)
        b = len(items)
        ids = torch.full((b, length), pad, dtype=torch.long)
        mask = torch.zeros((b, length), dtype=torch.long)
        mm = torch.zeros((b, length), dtype=torch.long)
        labels = torch.full((b, length), IGNORE_INDEX, dtype=torch.long)
        has_labels = all("labels" in it for it in items)
        for i, it in enumerate(items):
            n = int(it["input_ids"].shape[0])
            sl = slice(0, n) if side == "right" else slice(length - n, length)
            ids[i, sl] = it["input_ids"]
            mask[i, sl] = 1
            mm[i, sl] = it["mm_token_type_ids"]
            if has_labels:
                labels[i, sl] = it["labels"]
        out: dict[str, Any] = {"input_ids": ids, "attention_mask": mask, "mm_token_type_ids": mm}
        if has_labels:
            out["labels"] = labels
        pv = [it["pixel_values"] for it in items if "pixel_values" in it]
        if pv:
            out["pixel_values"] = torch.cat(pv)
            out["image_grid_thw"] = torch.cat(
                [it["image_grid_thw"] for it in items if "pixel_values" in it]
            )
        return out

    def batch(self, samples: Sequence[ChatSample], **extra: Any) -> dict[str, Any]:
        """Encoded, padded training samples (+ ``weight`` ``(B,)`` float32 from the samples)."""

        out = self.collate([self.encode_sample(s) for s in samples])
        out["weight"] = torch.tensor([float(s.weight) for s in samples], dtype=torch.float32)
        out.update(extra)
        return out

    # -- generation --------------------------------------------------------------------------

    def generate(
        self,
        prompts: Sequence[Prompt],
        *,
        deterministic: bool = True,
        max_new_tokens: int | None = None,
        temperature: float = 0.7,
        top_p: float = 0.9,
    ) -> list[str]:
        """One reply per prompt (batched, left-padded): greedy when ``deterministic``, else
        sampled with ``temperature`` and ``top_p``; at most ``max_new_tokens`` (default
        ``config.new_tokens``), stopping at ``<|im_end|>``. Special tokens are dropped."""
        from transformers import GenerationConfig

        if not prompts:
            return []
        batch = self.collate([self.encode_prompt(p) for p in prompts], side="left")
        device = self.device
        batch = {k: v.to(device) for k, v in batch.items()}
        if "pixel_values" in batch:
            batch["pixel_values"] = batch["pixel_values"].to(next(self.model.parameters()).dtype)
        tok = self.processor.tokenizer
        gen = GenerationConfig(
            max_new_tokens=int(max_new_tokens or self.config.new_tokens),
            do_sample=not deterministic,
            temperature=float(temperature) if not deterministic else None,
            top_p=float(top_p) if not deterministic else None,
            top_k=None,
            eos_token_id=self.stop_ids(),
            pad_token_id=tok.pad_token_id,
            use_cache=True,
        )
        self.model.eval()
        with torch.no_grad():
            out = self.model.generate(**batch, generation_config=gen)
        new = out[:, batch["input_ids"].shape[1] :]
        return tok.batch_decode(new, skip_special_tokens=True, clean_up_tokenization_spaces=False)


__all__ = [
    "IGNORE_INDEX",
    "LM_TARGETS",
    "MAX_NEW_TOKENS",
    "ModelLoadError",
    "QwenConfig",
    "QwenPlanner",
    "SequenceScorer",
    "VISION_TARGETS",
    "dpo_batch_loss",
    "load_model",
    "load_processor",
    "weighted_batch_loss",
]
