"""Local generation with transformers: ``AutoModelForCausalLM`` on CPU or one GPU.

Loading goes through :mod:`curate.models.hub` (a local directory or hub id,
safetensors only, ``HF_HUB_OFFLINE`` respected) with ``trust_remote_code=False``.
``device``/``dtype`` ``auto``: cuda + bf16 where available, else cpu + fp32.

Batching: prompts are sorted by length and packed to a token budget counted as
``rows x (longest prompt + max_new_tokens)`` (what the KV cache holds), padded
on the LEFT so that every row's next token follows its last real token; the
attention mask hides the pads and transformers derives position ids from it, so
a prompt's greedy reply does not depend on its batch (the tests check this).
Without a pad token the eos token pads (it is masked, never seen by the model).

Greedy when ``temperature == 0``; otherwise sampling seeded with ``seed`` in a
forked RNG (the caller's global torch RNG is left as it was). With ``seeds`` (one
per prompt) each row samples from its own generator by the Gumbel-max trick
(:class:`RowSampler`), so a sample depends on its prompt and seed, not on the
batch it was packed into or on the rows beside it. Stop strings end
generation early and the reply is cut before the first one; only the new tokens
are decoded, without special tokens. ``json_schema`` is not enforced here (no
constrained decoding in plain transformers): callers parse strictly anyway.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from curate.errors import CurateError
from curate.llm.base import (
    FINISH_LENGTH,
    FINISH_STOP,
    Generation,
    GenerationBackend,
    GenerationParams,
    Prompt,
    check_seeds,
    truncate_at_stop,
)
from curate.plugins import Requirement

DEFAULT_TOKEN_BUDGET = {"cuda": 65536, "cpu": 8192}


class TransformersBackend(GenerationBackend):
    """A causal LM from a local directory or hub id, generating in length-sorted left-padded batches."""

    name = "transformers"
    requires = (
        Requirement("torch", "pip install torch"),
        Requirement("transformers", "pip install transformers"),
    )

    def __init__(
        self,
        model: str,
        revision: str | None = None,
        device: str | None = "auto",
        dtype: str | None = "auto",
        template: str | None = "auto",
        token_budget: int | None = None,
        max_batch_size: int = 64,
    ):
        self.model_ref = model
        self.revision = revision
        self.device_option = device
        self.dtype_option = dtype
        self.template_option = template
        self.token_budget_option = token_budget
        self.max_batch_size = max_batch_size
        self.model: Any = None
        self.tokenizer: Any = None
        self._identity: dict[str, Any] | None = None
        self._lock = threading.Lock()  # one generate at a time: the model is shared state

    def settings(self) -> dict[str, Any]:
        return {
            "model": self.model_ref,
            "revision": self.revision,
            "device": self.device_option,
            "dtype": self.dtype_option,
            "template": self.template_option,
            "token_budget": self.token_budget_option,
            "max_batch_size": self.max_batch_size,
        }

    def __repr__(self) -> str:
        return f"TransformersBackend(model={self.model_ref!r}, template={self.template_option!r})"

    def params(self) -> dict[str, Any]:
        """The options that change the replies (the device does not, beyond float noise)."""
        settings = self.settings()
        return {k: settings[k] for k in ("model", "revision", "dtype", "template")}

    # -- loading -------------------------------------------------------------------------
    def load(self) -> None:
        if self.model is not None:
            return
        self.check_requires()
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from curate.llm.templates import PromptRenderer
        from curate.models.device import resolve_device, resolve_dtype
        from curate.models.hub import model_dir, weight_files

        self.directory = model_dir(self.model_ref, self.revision)
        weight_files(self.directory)  # refuses pickled weights before anything is read
        self.device = resolve_device(self.device_option)
        self.dtype = resolve_dtype(self.dtype_option, self.device)
        tokenizer = AutoTokenizer.from_pretrained(self.directory, trust_remote_code=False)
        renderer = PromptRenderer(tokenizer, self.template_option, self.model_ref)
        try:
            model = AutoModelForCausalLM.from_pretrained(
                self.directory,
                dtype=self.dtype,
                use_safetensors=True,
                trust_remote_code=False,
                attn_implementation="sdpa",
            )
        except ValueError as exc:
            raise CurateError(
                f"cannot load {self.model_ref} as a causal language model: "
                f"{str(exc).splitlines()[0]}"
            ) from None
        self.use_loaded(model.to(self.device).eval(), tokenizer, self.device, self.dtype, renderer)

    def use_loaded(
        self, model: Any, tokenizer: Any, device: str, dtype: Any, renderer: Any = None
    ) -> TransformersBackend:
        """Generate with a model already in memory (benchmarks); no file is read."""
        from curate.llm.templates import PromptRenderer

        self.model, self.tokenizer, self.device, self.dtype = model, tokenizer, device, dtype
        self.renderer = renderer or PromptRenderer(tokenizer, self.template_option, self.model_ref)
        tokenizer.padding_side = "left"
        self.eos_ids = self._eos_ids()
        if not self.eos_ids:
            raise CurateError(f"{self.model_ref} defines no eos token: generation could not stop")
        if tokenizer.pad_token_id is not None:
            self.pad_id = int(tokenizer.pad_token_id)
        else:  # only for padding: pads are masked out, and cut from the reply
            self.pad_id = self.eos_ids[0]
        kind = "cuda" if str(device).startswith("cuda") else "cpu"
        self.token_budget = int(self.token_budget_option or DEFAULT_TOKEN_BUDGET[kind])
        self.max_positions = getattr(model.config, "max_position_embeddings", None)
        return self

    def _eos_ids(self) -> list[int]:
        ids: list[int] = []
        for source in (
            getattr(self.model.generation_config, "eos_token_id", None),
            getattr(self.model.config, "eos_token_id", None),
            self.tokenizer.eos_token_id,
        ):
            for value in source if isinstance(source, (list, tuple)) else [source]:
                if value is not None and int(value) not in ids:
                    ids.append(int(value))
        return ids

    def identity(self) -> dict[str, Any]:
        if self.model is None:
            raise CurateError("TransformersBackend.identity called before load()")
        if self._identity is None:
            from curate.models.hub import model_identity

            ident: dict[str, Any] = {"backend": self.name, "template": self.renderer.template}
            if getattr(self, "directory", None) is not None:
                ident |= model_identity(self.model_ref, Path(self.directory))
            else:
                ident["model"] = self.model_ref
            ident["dtype"] = str(self.dtype).removeprefix("torch.")
            self._identity = ident
        return dict(self._identity)

    def close(self) -> None:
        self.model = self.tokenizer = None
        self._identity = None

    # -- generation ----------------------------------------------------------------------
    def generate(
        self,
        prompts: list[Prompt],
        params: GenerationParams,
        seeds: Sequence[int] | None = None,
    ) -> list[Generation]:
        if self.model is None:
            raise CurateError("TransformersBackend.generate called before load()")
        import numpy as np
        import torch

        from curate.models.batching import plan_batches

        check_seeds(prompts, seeds)
        per_row = seeds is not None and not params.greedy
        encoded = self.renderer.encode(prompts)
        results: list[Generation | None] = [None] * len(prompts)
        rows: list[int] = []
        for row, ids in enumerate(encoded):
            if isinstance(ids, str):
                results[row] = Generation.failed(ids)
            elif self.max_positions and len(ids) + params.max_new_tokens > self.max_positions:
                results[row] = Generation.failed(
                    f"prompt has {len(ids)} tokens: with max_new_tokens={params.max_new_tokens} "
                    f"it exceeds the model's {self.max_positions} positions",
                    prompt_tokens=len(ids),
                )
            else:
                rows.append(row)
        if rows:
            lengths = np.array([len(encoded[r]) for r in rows], dtype=np.int64)
            # packed by what the KV cache holds; no padding limit: generation dominates anyway
            batches = plan_batches(
                lengths + params.max_new_tokens,
                self.token_budget,
                self.max_batch_size,
                max_padding=1.0,
            )
            config = self._generation_config(params, per_row)
            devices = [self.device] if str(self.device).startswith("cuda") else []
            with self._lock, torch.inference_mode(), torch.random.fork_rng(devices=devices):
                torch.manual_seed(params.seed)
                for batch in batches:
                    picked = [rows[i] for i in batch]
                    sampler = (
                        RowSampler([seeds[r] for r in picked], params, self.device)
                        if per_row
                        else None
                    )
                    replies = self._generate_batch(
                        [encoded[r] for r in picked], config, params, sampler
                    )
                    for row, reply in zip(picked, replies):
                        results[row] = reply
        assert all(r is not None for r in results)
        return results  # type: ignore[return-value]

    def _generation_config(self, params: GenerationParams, per_row: bool = False) -> Any:
        """Greedy, or sampling; ``per_row``: greedy over :class:`RowSampler`'s noisy scores."""
        from transformers import GenerationConfig

        sampling: dict[str, Any] = {"do_sample": False}
        if not params.greedy and not per_row:
            sampling = {
                "do_sample": True,
                "temperature": params.temperature,
                "top_p": params.top_p,
                "top_k": 0,  # OpenAI semantics: no top-k cut unless asked
            }
        return GenerationConfig(
            max_new_tokens=params.max_new_tokens,
            eos_token_id=self.eos_ids,
            pad_token_id=self.pad_id,
            bos_token_id=getattr(self.model.config, "bos_token_id", None),
            stop_strings=list(params.stop) or None,
            **sampling,
        )

    def _generate_batch(
        self, batch: list[list[int]], config: Any, params: GenerationParams, sampler: Any = None
    ) -> list[Generation]:
        import torch
        from transformers import LogitsProcessorList

        width = max(map(len, batch))
        input_ids = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for i, ids in enumerate(batch):
            input_ids[i, width - len(ids) :] = torch.tensor(ids, dtype=torch.long)
            mask[i, width - len(ids) :] = 1
        extra: dict[str, Any] = {"tokenizer": self.tokenizer} if params.stop else {}
        if sampler is not None:
            extra["logits_processor"] = LogitsProcessorList([sampler])
        out = self.model.generate(
            input_ids=input_ids.to(self.device),
            attention_mask=mask.to(self.device),
            generation_config=config,
            **extra,
        )
        new = out[:, width:].tolist()
        replies = []
        for ids, tokens in zip(batch, new):
            n, ended = self._reply_length(tokens)
            text = self.tokenizer.decode(tokens[:n], skip_special_tokens=True)
            text, stopped = truncate_at_stop(text, params.stop)
            finish = FINISH_STOP if ended or stopped else FINISH_LENGTH
            replies.append(Generation(text, None, len(ids), n, finish))
        return replies

    def _reply_length(self, tokens: list[int]) -> tuple[int, bool]:
        """How many of ``tokens`` the model generated (eos included), and whether it ended itself.

        A finished row is filled with the pad id while the rest of its batch goes on.
        """
        eos = set(self.eos_ids)
        for i, token in enumerate(tokens):
            if token in eos:
                return i + 1, True
            if token == self.pad_id:  # stopped by a stop string, then padded
                return i, True
        return len(tokens), False


class RowSampler:
    """Sampling with one random generator per row, as a logits processor over greedy search.

    Each step, row ``i`` draws one uniform number per vocabulary entry from its own
    generator (seeded with ``seeds[i]``) and adds the Gumbel noise ``-log(-log(u))``
    to its temperature-scaled, top-p-filtered log-probabilities; the argmax that
    greedy search then takes is an exact sample from the filtered distribution
    (the Gumbel-max trick). Row ``i``'s draws depend on its seed and step alone.
    """

    def __init__(self, seeds: Sequence[int], params: GenerationParams, device: Any):
        import torch

        self.temperature = params.temperature
        self.top_p = params.top_p
        self.generators = [
            torch.Generator(device=device).manual_seed(int(s) & 0xFFFF_FFFF_FFFF_FFFF)
            for s in seeds
        ]

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        logits = torch.log_softmax(scores.float() / self.temperature, dim=-1)
        if self.top_p < 1.0:
            ordered, order = torch.sort(logits, dim=-1, descending=True)
            before = torch.cumsum(ordered.exp(), dim=-1) - ordered.exp()  # mass above each token
            cut = before >= self.top_p  # the first token is never cut
            logits = logits.scatter(-1, order, ordered.masked_fill(cut, float("-inf")))
        width = logits.shape[-1]
        uniform = torch.stack(
            [
                torch.rand(width, generator=g, device=logits.device, dtype=torch.float64)
                for g in self.generators
            ]
        )
        tiny = torch.finfo(torch.float64).tiny
        gumbel = -torch.log(-torch.log(uniform.clamp(min=tiny, max=1 - 1e-16)))
        return (logits.double() + gumbel).to(scores.dtype)
