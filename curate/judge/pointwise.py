"""The pointwise LLM judge: every conversation rated 1-10 by a rubric, a score sidecar.

The judge rates the last assistant reply of each conversation, with the earlier turns
as context (:mod:`curate.judge.templates`), through any generation backend
(:mod:`curate.llm`: vLLM, transformers, or an OpenAI-compatible endpoint). It keeps the
scorer interface (``prepare`` / ``run``, ``schema``, ``params``, ``identity``), so the
score stage's runner does the work: chunks checkpointed as they finish, resume, the
manifest, progress. Its sidecar is ``score.judge.<name>`` and ``select`` weighs it like
any other score (``--weights judge.<name>=1``).

Each call goes through the store's call cache (:mod:`curate.judge.cache`) first and is
recorded there in parts of :data:`CALLS_PER_PART`, so a run killed inside a chunk, a
rerun with ``--overwrite``, or another selection of rows never pays for a call twice.
A reply that does not parse gets one sampled retry (temperature
:data:`RETRY_TEMPERATURE`, its own cache entry); if that fails too the row's status
says so, its score is null (never a default), and the raw replies stay in the cache.

With ``logprobs`` (``--logprobs``: vLLM servers and OpenAI return them; a server that
does not simply sends none) the score of a ``[[n]]`` verdict is the expected rating over
the judge's distribution at the rating token (:func:`curate.judge.parse.expected_rating`):
finer than the integer, so it ties less; the integer stays in ``raw``.

Columns (prefix ``judge_<name>``): ``score`` (float32, the rating on 1-10, or its
expectation; Prometheus 1-5 ratings mapped linearly), ``raw`` (the rating written, on the
template's own scale),
``status`` (``ok``, ``no_assistant_reply``, ``not_judgeable`` (the conversation does not
end with a user turn and a reply), ``backend_failed``, ``no_verdict``, ``out_of_range``,
``ambiguous``: the parse of the last attempt), ``attempts`` (int8), ``tokens`` (prompt
and completion tokens of the calls made or read from the cache).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from curate import names
from curate.errors import CurateError
from curate.judge import cache as call_cache
from curate.judge import parse, templates
from curate.llm.base import GenerationBackend, GenerationParams

CALLS_PER_PART = 64  # calls recorded together in the cache (the most a kill can lose)
RETRY_TEMPERATURE = 0.7
TOP_LOGPROBS = 20  # alternatives asked for per token with --logprobs (the OpenAI maximum)
STATUS_OK = "ok"
NO_REPLY, NOT_JUDGEABLE, BACKEND_FAILED = "no_assistant_reply", "not_judgeable", "backend_failed"


def judge_key(name: str) -> str:
    """The score key of judge ``name``: the sidecar ``score.judge.<name>``."""
    return f"judge.{names.slug(name)}"


class PointwiseJudge:
    """A rubric judge over a backend, with the scorer interface of :mod:`scorers.base`."""

    input_columns = ("id", "messages", "lang_user")

    def __init__(
        self,
        backend: GenerationBackend,
        store_root: Any,
        name: str,
        template: str = templates.DEFAULT_PRESET,
        verdict: str | None = None,
        max_new_tokens: int = 512,
        seed: int = 0,
        logprobs: bool = False,
    ):
        self.backend = backend
        self.store_root = store_root
        self.name = names.slug(name)
        self.key = judge_key(name)
        self.template_source = template
        self.verdict = verdict
        self.max_new_tokens = max_new_tokens
        self.seed = seed
        self.logprobs = logprobs
        self.template: templates.Template | None = None
        self.cache: call_cache.CallCache | None = None
        self.stats: Counter[str] = Counter()  # calls made / read from the cache, this run

    # -- plugin contract ------------------------------------------------------------------
    def load_template(self) -> templates.Template:
        """The template, checked (light: no backend); :meth:`load` calls it too."""
        if self.template is None:
            template = templates.load_template(self.template_source, self.verdict)
            if template.kind != templates.POINTWISE:
                raise CurateError(
                    f"judge template {self.template_source!r} compares two answers; "
                    "curate judge rates one: give a pointwise template"
                )
            self.template = template
        return self.template

    def load(self) -> None:
        self.load_template()
        self.backend.load()
        self.cache = call_cache.CallCache(self.store_root, self.name)

    def params(self) -> dict[str, Any]:
        assert self.template is not None, "load() first"
        return {
            "judge": "pointwise",
            "template": self.template.name,
            "template_text": self.template.text,
            "verdict": self.template.verdict,
            "max_new_tokens": self.max_new_tokens,
            "seed": self.seed,
            "retry_temperature": RETRY_TEMPERATURE,
            "logprobs": self.logprobs,
            "backend": self.backend.params(),
        }

    def identity(self) -> dict[str, Any]:
        return self.backend.identity()

    def manifest_extra(self) -> dict[str, Any]:
        return {"calls": dict(self.stats)}

    def schema(self) -> pa.Schema:
        p = names.column_prefix(self.key)
        return pa.schema(
            [
                (f"{p}_score", pa.float32()),
                (f"{p}_raw", pa.float32()),
                (f"{p}_status", pa.string()),
                (f"{p}_attempts", pa.int8()),
                (f"{p}_tokens", pa.int64()),
            ]
        )

    # -- judging ----------------------------------------------------------------------------
    def prepare(self, table: pa.Table) -> list[tuple[str, list[dict] | None, str]]:
        """(id, the judge's prompt or None, why not) per row."""
        assert self.template is not None, "load() first"
        out = []
        for row_id, messages, lang in zip(
            table.column("id").to_pylist(),
            table.column("messages").to_pylist(),
            table.column("lang_user").to_pylist(),
        ):
            replies = [
                m for m in messages if m["role"] == "assistant" and (m["content"] or "").strip()
            ]
            if not replies:
                out.append((row_id, None, NO_REPLY))
                continue
            try:
                fields = templates.conversation_fields(messages)
            except CurateError:  # ends on a user turn, or two replies in a row
                out.append((row_id, None, NOT_JUDGEABLE))
                continue
            text = self.template.render(**fields, language=templates.language_name(lang))
            out.append((row_id, [{"role": "user", "content": text}], STATUS_OK))
        return out

    def _calls(self, keyed: list[tuple[str, str, list[dict]]], params: GenerationParams) -> None:
        """Make the calls not in the cache yet, recording them part by part."""
        assert self.cache is not None
        todo = [(k, i, p) for k, i, p in keyed if k not in self.cache]
        self.stats["cached"] += len(keyed) - len(todo)
        for start in range(0, len(todo), CALLS_PER_PART):
            part = todo[start : start + CALLS_PER_PART]
            replies = self.backend.generate([p for _, _, p in part], params)
            self.cache.add(
                [
                    call_cache.Call(
                        key,
                        (row_id,),
                        params_attempt(params),
                        r.text,
                        r.error,
                        r.prompt_tokens,
                        r.completion_tokens,
                        rating_logprobs(r.tokens),
                    )
                    for (key, row_id, _), r in zip(part, replies)
                ]
            )
            self.stats["made"] += len(part)

    def _expected(self, call: call_cache.Call) -> float | None:
        """The expected rating over the rating token's distribution (``[[n]]`` templates)."""
        if not self.logprobs or call.logprobs is None or self.template.verdict != "rating":
            return None
        return parse.expected_rating(json.loads(call.logprobs))

    def run(self, prepared: Sequence[tuple[str, list[dict] | None, str]], progress=None) -> dict:
        assert self.template is not None and self.cache is not None
        identity, text = self.identity(), self.template.text
        top = TOP_LOGPROBS if self.logprobs else 0
        greedy = GenerationParams(
            max_new_tokens=self.max_new_tokens, seed=self.seed, top_logprobs=top
        )
        sampled = GenerationParams(
            max_new_tokens=self.max_new_tokens,
            temperature=RETRY_TEMPERATURE,
            seed=self.seed + 1,
            top_logprobs=top,
        )
        n = len(prepared)
        scores: list[float | None] = [None] * n
        raws: list[float | None] = [None] * n
        statuses = [why for _, _, why in prepared]
        attempts, tokens = [0] * n, [0] * n
        pending = [k for k, (_, prompt, _) in enumerate(prepared) if prompt is not None]
        for attempt, params in ((0, greedy), (1, sampled)):
            keys = {
                k: call_cache.call_key(identity, text, [prepared[k][0]], attempt) for k in pending
            }
            self._calls([(keys[k], prepared[k][0], prepared[k][1]) for k in pending], params)
            retry = []
            for k in pending:
                call = self.cache.get(keys[k])
                attempts[k] = attempt + 1
                tokens[k] += call.prompt_tokens + call.completion_tokens
                if call.raw is None:
                    statuses[k] = BACKEND_FAILED
                    continue  # a backend failure is not retried with sampling: it is not a parse
                verdict = self.template.parse(call.raw)
                statuses[k] = verdict.status
                if verdict.ok:
                    raws[k] = float(verdict.raw if verdict.raw is not None else verdict.value)
                    scores[k] = self._expected(call) or float(verdict.value)
                else:
                    retry.append(k)
            pending = retry
        if progress is not None:
            progress(n, sum(tokens))
        p = names.column_prefix(self.key)
        return {
            f"{p}_score": pa.array(scores, pa.float32()),
            f"{p}_raw": pa.array(raws, pa.float32()),
            f"{p}_status": pa.array(statuses, pa.string()),
            f"{p}_attempts": pa.array(attempts, pa.int8()),
            f"{p}_tokens": pa.array(tokens, pa.int64()),
        }


def rating_logprobs(tokens: list[tuple[str, dict[str, float]]] | None) -> str | None:
    """The alternatives at the rating token (after ``[[``) as JSON, for the cache; None without."""
    if not tokens:
        return None
    position = parse.rating_position([t for t, _ in tokens])
    return None if position is None else json.dumps(tokens[position][1], sort_keys=True)


def params_attempt(params: GenerationParams) -> int:
    """0 for the greedy first call, 1 for the sampled retry (what the cache records)."""
    return 0 if params.greedy else 1
