"""LLM generation for the tagger and the judge: one interface, three backends.

``resolve_backend("transformers" | "vllm" | "openai", model, **options)`` gives
a :class:`GenerationBackend`; ``load()``, then ``generate(prompts, params)``
returns one :class:`Generation` per prompt. Importing this package imports no
torch: each backend's module is imported when it is resolved.
"""

from curate.llm.base import (
    BACKENDS,
    Generation,
    GenerationBackend,
    GenerationParams,
    resolve_backend,
)

__all__ = [
    "BACKENDS",
    "Generation",
    "GenerationBackend",
    "GenerationParams",
    "resolve_backend",
]
