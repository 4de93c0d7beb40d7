"""Offline batch generation with vLLM (one CUDA machine): the fast path for big jobs.

The model is resolved like every other (:mod:`curate.models.hub`: a local directory
or hub id, safetensors only, ``HF_HUB_OFFLINE`` respected) and vLLM loads that
directory with ``load_format="safetensors"`` and ``trust_remote_code=False``.
Prompts are rendered and tokenized here (:mod:`curate.llm.templates`, the same
code as the transformers backend, so both feed the model the same ids; passing
ids also avoids vLLM adding a second beginning-of-text token to a template that
wrote one) and go to ``LLM.generate`` in one call: vLLM schedules the batches.

Each request carries ``seed``, so a sampled reply does not depend on its batch.
``json_schema`` becomes structured output where the installed vLLM has it:
``StructuredOutputsParams(json=...)`` (newer) or ``GuidedDecodingParams(json=...)``
(older), else plain generation (callers parse strictly anyway). ``top_logprobs``
becomes vLLM's ``logprobs`` and comes back as :attr:`Generation.tokens`
(:func:`completion_tokens`), in the OpenAI backend's shape.

vLLM is not a dependency of ``curate`` (``pip install vllm`` on a CUDA machine,
or the ``gpu`` extra); without it :meth:`VLLMBackend.load` raises a clear error.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import cache
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
    seeds_or_default,
    truncate_at_stop,
)
from curate.plugins import Requirement

DTYPES = {"auto": "auto", "bf16": "bfloat16", "bfloat16": "bfloat16", "fp16": "float16"}
DTYPES |= {"float16": "float16", "fp32": "float32", "float32": "float32"}


def structured_output_option(schema: dict | None) -> dict[str, Any]:
    """``SamplingParams`` keyword for JSON output with this vLLM, or ``{}`` if it has none."""
    if schema is None:
        return {}
    try:
        from vllm.sampling_params import StructuredOutputsParams

        return {"structured_outputs": StructuredOutputsParams(json=schema)}
    except ImportError:
        pass
    try:
        from vllm.sampling_params import GuidedDecodingParams

        return {"guided_decoding": GuidedDecodingParams(json=schema)}
    except ImportError:
        return {}


def _log_add(a: float, b: float) -> float:
    """log(exp(a) + exp(b)) without overflow; -inf is a probability of 0."""
    high, low = max(a, b), min(a, b)
    return high if low == -math.inf else high + math.log1p(math.exp(low - high))


def token_decoder(tokenizer: Any) -> Callable[[int], str]:
    """One token id to its text, ``tokenizer.decode([id])``, cached (a vocabulary is fixed).

    We decode ids ourselves rather than read ``Logprob.decoded_token``: vLLM versions
    disagree on it (None; the raw vocabulary piece, ``"Ġ8"`` for a byte-level BPE;
    or ``decode([id])``), and the judge needs one meaning, the one the OpenAI-compatible
    server sends: the token's own text, leading space included.
    """

    @cache
    def decode(token_id: int) -> str:
        return tokenizer.decode([token_id]) or ""

    return decode


def completion_tokens(
    completion: Any, decode: Callable[[int], str]
) -> list[tuple[str, dict[str, float]]] | None:
    """A vLLM ``CompletionOutput``'s logprobs as ``(token, {alternative: logprob})`` per token.

    The same shape as the OpenAI backend's: position i holds the text of
    ``completion.token_ids[i]`` and the alternatives vLLM returned there (the top ones,
    plus the sampled token when it ranks lower). Alternatives whose texts coincide (bytes
    of one character, each decoded alone) add up. None when vLLM returned no logprobs, a
    position has none, or they do not line up with the tokens: the text still counts.
    """
    positions = getattr(completion, "logprobs", None)
    ids = getattr(completion, "token_ids", None)
    if not positions or ids is None or len(positions) != len(ids):
        return None
    tokens = []
    try:
        for token_id, alternatives in zip(ids, positions):
            if not alternatives:
                return None
            texts: dict[str, float] = {}
            for alt_id, entry in alternatives.items():
                text, logprob = decode(int(alt_id)), float(entry.logprob)
                texts[text] = _log_add(texts[text], logprob) if text in texts else logprob
            tokens.append((decode(int(token_id)), texts))
    except (TypeError, ValueError, AttributeError):
        return None
    return tokens


class VLLMBackend(GenerationBackend):
    """``vllm.LLM`` on a local directory or hub id."""

    name = "vllm"
    requires = (
        Requirement(
            "vllm",
            "pip install vllm on a CUDA machine, or pip install 'curate[gpu]' (or use the "
            "transformers or openai backend)",
        ),
    )

    def __init__(
        self,
        model: str,
        revision: str | None = None,
        dtype: str | None = "auto",
        template: str | None = "auto",
        seed: int = 0,
        max_model_len: int | None = None,
        gpu_memory_utilization: float = 0.9,
        tensor_parallel_size: int = 1,
    ):
        self.model_ref = model
        self.revision = revision
        self.dtype_option = dtype or "auto"
        self.template_option = template
        self.seed = seed
        self.max_model_len = max_model_len
        self.gpu_memory_utilization = gpu_memory_utilization
        self.tensor_parallel_size = tensor_parallel_size
        self.llm: Any = None
        self._identity: dict[str, Any] | None = None

    def settings(self) -> dict[str, Any]:
        return {
            "model": self.model_ref,
            "revision": self.revision,
            "dtype": self.dtype_option,
            "template": self.template_option,
            "seed": self.seed,
            "max_model_len": self.max_model_len,
            "gpu_memory_utilization": self.gpu_memory_utilization,
            "tensor_parallel_size": self.tensor_parallel_size,
        }

    def __repr__(self) -> str:
        return f"VLLMBackend(model={self.model_ref!r}, template={self.template_option!r})"

    def params(self) -> dict[str, Any]:
        """The options that change the replies (not the memory share or the parallelism)."""
        settings = self.settings()
        del settings["gpu_memory_utilization"], settings["tensor_parallel_size"]
        return settings

    def load(self) -> None:
        if self.llm is not None:
            return
        self.check_requires()
        try:
            import vllm
        except ImportError:
            raise CurateError(
                "the vllm backend needs vLLM, which is not installed: pip install vllm on a CUDA "
                "machine (or use the transformers or openai backend)"
            ) from None
        from curate.llm.templates import PromptRenderer
        from curate.models.hub import model_dir, weight_files

        if self.dtype_option not in DTYPES:
            raise CurateError(f"dtype {self.dtype_option!r}: choose auto, bf16, fp16 or fp32")
        self.directory = model_dir(self.model_ref, self.revision)
        weight_files(self.directory)  # refuses pickled weights
        options: dict[str, Any] = {}
        if self.max_model_len:
            options["max_model_len"] = self.max_model_len
        self.llm = vllm.LLM(
            model=str(self.directory),
            dtype=DTYPES[self.dtype_option],
            seed=self.seed,
            trust_remote_code=False,
            load_format="safetensors",
            gpu_memory_utilization=self.gpu_memory_utilization,
            tensor_parallel_size=self.tensor_parallel_size,
            **options,
        )
        self.version = vllm.__version__
        self.renderer = PromptRenderer(
            self.llm.get_tokenizer(), self.template_option, self.model_ref
        )
        config = getattr(self.llm.llm_engine, "model_config", None)
        self.context = getattr(config, "max_model_len", None)

    def identity(self) -> dict[str, Any]:
        if self.llm is None:
            raise CurateError("VLLMBackend.identity called before load()")
        if self._identity is None:
            from curate.models.hub import model_identity

            self._identity = {
                "backend": self.name,
                "template": self.renderer.template,
                **model_identity(self.model_ref, Path(self.directory)),
                "dtype": DTYPES[self.dtype_option],
                "vllm": self.version,
            }
        return dict(self._identity)

    def close(self) -> None:
        self.llm = None
        self._identity = None

    def generate(
        self,
        prompts: list[Prompt],
        params: GenerationParams,
        seeds: Sequence[int] | None = None,
    ) -> list[Generation]:
        if self.llm is None:
            raise CurateError("VLLMBackend.generate called before load()")
        from vllm import SamplingParams

        def sampling_for(seed: int) -> Any:
            return SamplingParams(
                n=1,
                temperature=params.temperature,
                top_p=params.top_p,
                max_tokens=params.max_new_tokens,
                seed=seed,
                stop=list(params.stop) or None,
                **structured_output_option(params.json_schema),
                **({"logprobs": params.top_logprobs} if params.top_logprobs else {}),
            )

        row_seeds = seeds_or_default(prompts, params, seeds)
        shared = sampling_for(params.seed) if seeds is None else None
        decode = token_decoder(self.renderer.tokenizer) if params.top_logprobs else None
        encoded = self.renderer.encode(prompts)
        results: list[Generation] = []
        rows: list[int] = []
        for row, ids in enumerate(encoded):
            if isinstance(ids, str):
                results.append(Generation.failed(ids))
            elif self.context and len(ids) >= self.context:  # vLLM would fail the whole call
                why = f"prompt has {len(ids)} tokens, the model's context is {self.context}"
                results.append(Generation.failed(why, prompt_tokens=len(ids)))
            else:
                results.append(Generation(None, "not generated"))  # replaced below
                rows.append(row)
        if not rows:
            return results
        # one SamplingParams per prompt when each has its own seed (vLLM takes a list)
        sampling = shared if shared is not None else [sampling_for(row_seeds[r]) for r in rows]
        outputs = self.llm.generate(
            [{"prompt_token_ids": encoded[row]} for row in rows], sampling, use_tqdm=False
        )
        for row, out in zip(rows, outputs):
            completion = out.outputs[0]
            text, stopped = truncate_at_stop(completion.text, params.stop)
            reason = completion.finish_reason
            results[row] = Generation(
                text,
                None,
                len(out.prompt_token_ids or encoded[row]),
                len(completion.token_ids),
                FINISH_LENGTH if reason == "length" and not stopped else FINISH_STOP,
                completion_tokens(completion, decode) if decode else None,
            )
        return results
