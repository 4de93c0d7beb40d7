"""The generation-backend interface: chat prompts in, one :class:`Generation` per prompt out.

The InsTag tagger and the LLM judge talk to an LLM only through this interface
(DESIGN.md, "Plugins"), so that the same stage runs on a local transformers
model, on vLLM, or against any OpenAI-compatible server. A backend's job ends at
text: parsing the replies (strictly, with retries) is the caller's.

Contract for every backend:

* ``__init__`` only stores options (a manifest can record them); :meth:`load`
  brings in the heavy resources once; :meth:`close` releases them.
* :meth:`generate` returns exactly one :class:`Generation` per prompt, in input
  order. ``seeds``, when given, holds one sampling seed per prompt (rejection
  sampling seeds each sample by its prompt and index, so that a sample does not
  depend on the batch it fell into); without it every prompt uses ``params.seed``. A failure of one prompt (template refused it, too long, server error
  after retries, timeout) is that prompt's ``Generation(text=None, error=...)``,
  never an exception and never a made-up text. Errors that make every prompt
  fail (bad API key, unknown model, missing package) raise
  :class:`~curate.errors.CurateError` at once.
* :meth:`identity` names the model (and its revision or weight hash) for a
  manifest. It never contains a secret.

:func:`resolve_backend` imports the implementation lazily: importing
``curate.llm`` does not import torch, transformers or vLLM.

Backends are plugins of kind ``backends`` (:mod:`curate.plugins`): registered
there (:data:`BACKENDS` is that table), ``generate`` is the batch method, they
read no column and provide none, and ``requires`` names the packages each needs
(checked first in ``load()``). ``params()`` is what the user chose (model,
revision, dtype, template ...); ``identity()`` what was loaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from curate import plugins
from curate.errors import CurateError
from curate.plugins import BUILTINS, Plugin

Message = dict[str, str]  # {"role": "system" | "user" | "assistant", "content": "..."}
Prompt = list[Message]

#: finish reasons: the model ended its reply (eos or a stop string), or hit max_new_tokens
FINISH_STOP, FINISH_LENGTH = "stop", "length"


@dataclass(frozen=True)
class GenerationParams:
    """How to generate; the same meaning in every backend (OpenAI chat-completions semantics)."""

    max_new_tokens: int = 512
    temperature: float = 0.0  # 0 = greedy
    top_p: float = 1.0
    seed: int = 0
    json_schema: dict | None = None  # ask for structured JSON output where the backend supports it
    stop: tuple[str, ...] = ()  # the reply ends before the first of these; not included in it
    top_logprobs: int = 0  # >0: ask for this many alternatives per generated token, where supported

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise CurateError(f"max_new_tokens must be at least 1, not {self.max_new_tokens}")
        if self.temperature < 0:
            raise CurateError(f"temperature must be >= 0, not {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise CurateError(f"top_p must be in (0, 1], not {self.top_p}")
        if isinstance(self.stop, str):
            object.__setattr__(self, "stop", (self.stop,))
        else:
            object.__setattr__(self, "stop", tuple(self.stop))
        if any(not s for s in self.stop):
            raise CurateError("stop strings must not be empty")
        if not 0 <= self.top_logprobs <= 20:
            raise CurateError(f"top_logprobs must be in 0..20, not {self.top_logprobs}")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0


@dataclass
class Generation:
    """One prompt's reply, or why there is none."""

    text: str | None  # None on failure
    error: str | None = None  # why (timeout, http 500 after retries, ...)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str | None = None  # "stop" or "length" (a cut-off reply may not parse)
    #: with ``top_logprobs``, where the backend returns them: per generated token, in order,
    #: ``(token text, {alternative token: logprob})``; None when not asked for or not returned
    tokens: list[tuple[str, dict[str, float]]] | None = None

    @property
    def ok(self) -> bool:
        return self.text is not None

    @classmethod
    def failed(cls, error: str, prompt_tokens: int = 0) -> Generation:
        return cls(text=None, error=error, prompt_tokens=prompt_tokens)


def truncate_at_stop(text: str, stop: tuple[str, ...]) -> tuple[str, bool]:
    """``text`` cut before the earliest stop string, and whether one was found."""
    cut = min((i for i in (text.find(s) for s in stop) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


def check_seeds(prompts: Sequence[Prompt], seeds: Sequence[int] | None) -> None:
    """Refuse a ``seeds`` list that does not give one seed per prompt (a caller's bug)."""
    if seeds is not None and len(seeds) != len(prompts):
        raise CurateError(f"{len(seeds)} seeds for {len(prompts)} prompts: give one per prompt")


def seeds_or_default(
    prompts: Sequence[Prompt], params: GenerationParams, seeds: Sequence[int] | None
) -> list[int]:
    """One seed per prompt: ``seeds`` as given, or ``params.seed`` for each."""
    check_seeds(prompts, seeds)
    return [int(s) for s in seeds] if seeds is not None else [params.seed] * len(prompts)


def check_prompt(prompt: Any) -> str | None:
    """Why ``prompt`` is not a list of ``{"role", "content"}`` messages, or None if it is."""
    if not isinstance(prompt, list) or not prompt:
        return "a prompt must be a non-empty list of messages"
    for message in prompt:
        if not isinstance(message, dict) or not isinstance(message.get("content"), str):
            return "each message must be a dict with a string 'content'"
        if message.get("role") not in ("system", "user", "assistant"):
            return f"unknown message role {message.get('role')!r}"
    return None


class GenerationBackend(Plugin):
    """Chat prompts in, generations out. Usable as a context manager (``load`` ... ``close``)."""

    kind = "backends"
    name: str = ""
    reads: tuple[str, ...] = ()  # prompts come from the caller, not from the store

    def load(self) -> None:
        """Load heavy resources (weights, connections); called once before :meth:`generate`."""
        self.check_requires()

    def generate(
        self,
        prompts: list[Prompt],
        params: GenerationParams,
        seeds: Sequence[int] | None = None,
    ) -> list[Generation]:
        """One :class:`Generation` per prompt, in the same order (``seeds``: one per prompt)."""
        raise NotImplementedError

    def identity(self) -> dict[str, Any]:
        """Which model this is (name, revision or weight hash) for a manifest; never a secret."""
        return {"backend": self.name}

    def close(self) -> None:
        """Release what :meth:`load` took; the backend may be loaded again afterwards."""

    def settings(self) -> dict[str, Any] | None:
        """The constructor arguments that rebuild this backend, unloaded (None: pickle as is).

        A pickled backend (what a Ray worker receives) carries only these: the worker
        loads the model, or connects, on its own.
        """
        return None

    def __getstate__(self) -> dict[str, Any]:
        settings = self.settings()
        return dict(self.__dict__) if settings is None else {"__settings__": settings}

    def __setstate__(self, state: dict[str, Any]) -> None:
        if "__settings__" in state:
            self.__init__(**state["__settings__"])
        else:
            self.__dict__.update(state)

    def __enter__(self) -> GenerationBackend:
        self.load()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


#: the built-in backends, ``name -> "module:Class"`` (the plugin registry's table)
BACKENDS: dict[str, str] = BUILTINS["backends"]


def resolve_backend(kind: str, model: str, **options: Any) -> GenerationBackend:
    """A backend of ``kind`` for ``model``, not yet loaded; ``options`` go to its constructor.

    ``model`` is a local directory or hub id (transformers, vllm) or the model name
    the server knows (openai).
    """
    known = plugins.registered("backends")  # the built-ins and other packages' entry points
    if kind.lower() not in known:
        raise CurateError(f"unknown generation backend {kind!r}: choose one of {', '.join(known)}")
    backend_cls = plugins.load("backends", kind.lower())
    try:
        return backend_cls(model, **options)
    except TypeError as exc:
        raise CurateError(f"backend {kind!r}: {exc}") from None
