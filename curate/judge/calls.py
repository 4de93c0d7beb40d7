"""Asking the judge: each request through the store's call cache, with one sampled retry.

Every mode of ``curate judge`` (pointwise ratings, pairwise verdicts) asks the same way:

1. the first attempt is greedy (``seed``); a request whose call is in the cache
   (:mod:`curate.judge.cache`, keyed by the judge's identity, the template text, the
   conversation ids in the order shown, and the attempt) is not sent again;
2. the calls not in the cache go to the backend in parts of :data:`CALLS_PER_PART`,
   each part recorded in the cache as soon as it returns, so a kill loses at most one
   part and a rerun pays only for what it never got back;
3. a reply that does not parse gets one sampled retry (temperature
   :data:`RETRY_TEMPERATURE`, seed + 1: another cache entry); a backend failure is not
   retried with sampling (it is not a parse), the backend has retried it already.

The result per request is an :class:`Answer`: the parsed verdict of its last attempt
(never a default), its status, attempts, tokens and the call itself (raw reply kept).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from curate.judge import cache as call_cache
from curate.judge import parse
from curate.judge.templates import Template
from curate.llm.base import GenerationBackend, GenerationParams, Prompt

CALLS_PER_PART = 64  # calls recorded together in the cache (the most a kill can lose)
RETRY_TEMPERATURE = 0.7
TOP_LOGPROBS = 20  # alternatives asked for per token with logprobs (the OpenAI maximum)
BACKEND_FAILED = "backend_failed"


@dataclass(frozen=True)
class Request:
    """One judge call to make: the conversation ids it shows, in order, and its prompt."""

    ids: tuple[str, ...]
    prompt: Prompt


@dataclass(frozen=True)
class Answer:
    """What the judge said to one request, after the retry if there was one."""

    verdict: parse.Verdict | None  # None: the backend failed
    status: str  # the verdict's status, or BACKEND_FAILED
    attempts: int
    tokens: int  # prompt + completion tokens of every attempt (made now or read from the cache)
    call: call_cache.Call  # the last attempt's call (raw reply, logprobs)

    @property
    def ok(self) -> bool:
        return self.verdict is not None and self.verdict.ok


class Asker:
    """Asks one judge (backend + template) through one call cache; counts calls made and cached."""

    def __init__(
        self,
        backend: GenerationBackend,
        cache: call_cache.CallCache,
        template: Template,
        max_new_tokens: int = 512,
        seed: int = 0,
        logprobs: bool = False,
    ):
        self.backend = backend
        self.cache = cache
        self.template = template
        self.identity = backend.identity()
        top = TOP_LOGPROBS if logprobs else 0
        self.attempts = (
            GenerationParams(max_new_tokens=max_new_tokens, seed=seed, top_logprobs=top),
            GenerationParams(
                max_new_tokens=max_new_tokens,
                temperature=RETRY_TEMPERATURE,
                seed=seed + 1,
                top_logprobs=top,
            ),
        )
        self.stats: Counter[str] = Counter()  # made / cached, this run

    def key(self, ids: Sequence[str], attempt: int) -> str:
        return call_cache.call_key(self.identity, self.template.text, list(ids), attempt)

    def pending(self, requests: Sequence[Request]) -> int:
        """How many first attempts are not in the cache yet (what a run will pay for, at least)."""
        return len(self.cache.missing(self.key(r.ids, 0) for r in requests))

    def _make(
        self,
        todo: list[tuple[str, Request]],
        params: GenerationParams,
        attempt: int,
        progress: Callable[[int, int], None] | None,
    ) -> None:
        """Send the calls not in the cache, recording them part by part."""
        for start in range(0, len(todo), CALLS_PER_PART):
            part = todo[start : start + CALLS_PER_PART]
            replies = self.backend.generate([r.prompt for _, r in part], params)
            self.cache.add(
                [
                    call_cache.Call(
                        key,
                        r.ids,
                        attempt,
                        g.text,
                        g.error,
                        g.prompt_tokens,
                        g.completion_tokens,
                        rating_logprobs(g.tokens),
                    )
                    for (key, r), g in zip(part, replies)
                ]
            )
            self.stats["made"] += len(part)
            if progress is not None:
                progress(len(part), sum(g.prompt_tokens + g.completion_tokens for g in replies))

    def ask(
        self,
        requests: Sequence[Request],
        progress: Callable[[int, int], None] | None = None,
    ) -> list[Answer]:
        """One :class:`Answer` per request, in order; ``progress(calls, tokens)`` per part sent."""
        n = len(requests)
        answers: list[Answer | None] = [None] * n
        tokens = [0] * n
        pending = list(range(n))
        for attempt, params in enumerate(self.attempts):
            keys = {k: self.key(requests[k].ids, attempt) for k in pending}
            todo = [(keys[k], requests[k]) for k in pending if keys[k] not in self.cache]
            todo = list({key: (key, r) for key, r in todo}.values())  # a request asked twice: once
            self.stats["cached"] += len(pending) - len(todo)
            if progress is not None and len(pending) > len(todo):
                progress(len(pending) - len(todo), 0)  # read from the cache: no tokens spent
            self._make(todo, params, attempt, progress)
            retry = []
            for k in pending:
                call = self.cache.get(keys[k])
                tokens[k] += call.prompt_tokens + call.completion_tokens
                if call.raw is None:
                    answers[k] = Answer(None, BACKEND_FAILED, attempt + 1, tokens[k], call)
                    continue
                verdict = self.template.parse(call.raw)
                answers[k] = Answer(verdict, verdict.status, attempt + 1, tokens[k], call)
                if not verdict.ok:
                    retry.append(k)
            pending = retry
        return answers  # type: ignore[return-value]

    def params(self) -> dict[str, Any]:
        """What decides the replies, for the stage's fingerprint and manifest."""
        first, retry = self.attempts
        return {
            "template": self.template.name,
            "template_text": self.template.text,
            "verdict": self.template.verdict,
            "max_new_tokens": first.max_new_tokens,
            "seed": first.seed,
            "retry_temperature": retry.temperature,
            "logprobs": bool(first.top_logprobs),
            "backend": self.backend.params(),
        }


def rating_logprobs(tokens: list[tuple[str, dict[str, float]]] | None) -> str | None:
    """The alternatives at the rating token (after ``[[``) as JSON, for the cache; None without."""
    import json

    if not tokens:
        return None
    position = parse.rating_position([t for t, _ in tokens])
    return None if position is None else json.dumps(tokens[position][1], sort_keys=True)
