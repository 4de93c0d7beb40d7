"""The pointwise LLM judge: every conversation rated 1-10 by a rubric, a score sidecar.

The judge rates the last assistant reply of each conversation, with the earlier turns
as context (:mod:`curate.judge.templates`), through any generation backend
(:mod:`curate.llm`: vLLM, transformers, or an OpenAI-compatible endpoint). It keeps the
scorer interface (``prepare`` / ``run``, ``schema``, ``params``, ``identity``), so the
score stage's runner does the work: chunks checkpointed as they finish, resume, the
manifest, progress. Its sidecar is ``score.judge.<name>`` and ``select`` weighs it like
any other score (``--weights judge.<name>=1``).

Each call goes through the store's call cache first and is recorded there part by part
(:mod:`curate.judge.calls`), so a run killed inside a chunk, a rerun with
``--overwrite``, or another selection of rows never pays for a call twice. A reply that
does not parse gets one sampled retry; if that fails too the row's status says so, its
score is null (never a default), and the raw replies stay in the cache.

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
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from curate import names
from curate.errors import CurateError
from curate.judge import cache as call_cache
from curate.judge import parse, templates
from curate.judge.calls import BACKEND_FAILED, Answer, Asker, Request
from curate.llm.base import GenerationBackend

STATUS_OK = "ok"
NO_REPLY, NOT_JUDGEABLE = "no_assistant_reply", "not_judgeable"
__all__ = ["BACKEND_FAILED", "NO_REPLY", "NOT_JUDGEABLE", "STATUS_OK", "PointwiseJudge"]


def judge_key(name: str) -> str:
    """The score key of judge ``name``: the sidecar ``score.judge.<name>``."""
    return f"judge.{names.slug(name)}"


class PointwiseJudge:
    """A rubric judge over a backend, with the scorer interface of :mod:`scorers.base`."""

    input_columns = ("id", "messages", "lang_user")
    #: manifest_extra's counts of this run's work (summed over Ray workers)
    extra_counts = ("calls",)

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
        self._asker: Asker | None = None

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
        return {"judge": "pointwise", **self.asker().params()}

    def identity(self) -> dict[str, Any]:
        return self.backend.identity()

    def manifest_extra(self) -> dict[str, Any]:
        return {"calls": dict(self.asker().stats)}

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
    def prompt_for(self, messages: list[dict], lang: str | None) -> tuple[list[dict] | None, str]:
        """The judge's prompt for one conversation, or None and why it cannot be judged."""
        assert self.template is not None, "load() first"
        if not any(m["role"] == "assistant" and (m["content"] or "").strip() for m in messages):
            return None, NO_REPLY
        try:
            fields = templates.conversation_fields(messages)
        except CurateError:  # ends on a user turn, or two replies in a row
            return None, NOT_JUDGEABLE
        text = self.template.render(**fields, language=templates.language_name(lang))
        return [{"role": "user", "content": text}], STATUS_OK

    def prepare(self, table: pa.Table) -> list[tuple[str, list[dict] | None, str]]:
        """(id, the judge's prompt or None, why not) per row."""
        return [
            (row_id, *self.prompt_for(messages, lang))
            for row_id, messages, lang in zip(
                table.column("id").to_pylist(),
                table.column("messages").to_pylist(),
                table.column("lang_user").to_pylist(),
            )
        ]

    def asker(self) -> Asker:
        assert self.template is not None and self.cache is not None, "load() first"
        if self._asker is None:
            self._asker = Asker(
                self.backend,
                self.cache,
                self.template,
                self.max_new_tokens,
                self.seed,
                self.logprobs,
            )
        return self._asker

    def _expected(self, call: call_cache.Call) -> float | None:
        """The expected rating over the rating token's distribution (``[[n]]`` templates)."""
        if not self.logprobs or call.logprobs is None or self.template.verdict != "rating":
            return None
        return parse.expected_rating(json.loads(call.logprobs))

    def rate(self, answers: Sequence[Answer]) -> list[float | None]:
        """The score of each answer: its rating on 1-10 (or expectation), None unless ok."""
        return [
            (self._expected(a.call) or float(a.verdict.value)) if a.ok else None for a in answers
        ]

    def run(self, prepared: Sequence[tuple[str, list[dict] | None, str]], progress=None) -> dict:
        n = len(prepared)
        statuses = [why for _, _, why in prepared]
        scores: list[float | None] = [None] * n
        raws: list[float | None] = [None] * n
        attempts, tokens = [0] * n, [0] * n
        asked = [k for k, (_, prompt, _) in enumerate(prepared) if prompt is not None]
        answers = self.asker().ask([Request((prepared[k][0],), prepared[k][1]) for k in asked])
        for k, answer, score in zip(asked, answers, self.rate(answers)):
            statuses[k], attempts[k], tokens[k] = answer.status, answer.attempts, answer.tokens
            if score is not None:
                verdict = answer.verdict
                raws[k] = float(verdict.raw if verdict.raw is not None else verdict.value)
                scores[k] = score
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
