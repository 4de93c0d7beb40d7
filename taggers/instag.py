"""The InsTag tagger: an LLM writes open-set intent tags for every user turn.

InsTag (Lu et al., 2023, arXiv 2308.07074) asks a chat model for the intentions
behind an instruction as a JSON list of ``{"tag": ..., "explanation": ...}``.
Here each user turn of a conversation is tagged in the context of the turns
before it, and the turns' tags are merged per conversation (first seen first,
duplicates by their normalized spelling removed).

Tags are asked for **in English** whatever the conversation's language, so that
one tag spans zh-Hant, zh-Hans, ru and en conversations; a returned tag written
in another script is not accepted.

Parsing is strict with a repair step for the usual breakage (code fences, prose
around the JSON, trailing commas, single quotes, a ``{"tags": [...]}`` wrapper,
a bare list of strings). A reply that still fails is asked again once (sampled,
so a greedy model does not repeat itself), then recorded as a failure with its
reason: never replaced by invented tags.

:class:`InstagTagger` is the plugin (``curate.plugins.load("taggers", "instag")``).
It also carries what the core needs to drive it without importing this package:
``Params``, ``PRESETS``, and the second phase, :mod:`taggers.normalize`
(``NormalizeParams``, :meth:`InstagTagger.normalize`, :meth:`InstagTagger.read_mapping`).
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow as pa

from curate.plugins import Plugin
from curate.tag import stage
from taggers.normalize import NormalizeParams, TagMapping, normalize_tags

PROMPT = (
    "You are a tagging system that provides useful tags for instruction intentions to "
    "distinguish instructions for a helpful AI assistant. Below is an instruction:\n"
    "[begin]\n{instruction}\n[end]\n"
    "{context}"
    'Please provide coarse-grained tags, such as "Spelling and Grammar Check" and "Cosplay", '
    "to identify main intentions of above instruction. Your answer should be a list including "
    "titles of tags and a brief explanation of each tag. Your response have to strictly follow "
    'this JSON format: [{{"tag": str, "explanation": str}}]. Write the tags and explanations in '
    "English, whatever the language of the instruction."
)
CONTEXT = "The instruction continues this conversation:\n[context]\n{turns}\n[/context]\n"
JSON_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"tag": {"type": "string"}, "explanation": {"type": "string"}},
        "required": ["tag"],
    },
}
PRESETS = {
    # InsTagger: LLaMA-2-7B fine-tuned on InsTag's ChatGPT tags, served with the Vicuna template
    "instagger": {"model": "OFA-Sys/InsTagger", "template": "vicuna"},
}
MAX_TAG_CHARS = 80
NON_LATIN = re.compile(r"[\u0400-\u04ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.S)
TRAILING_COMMA = re.compile(r",\s*([\]}])")


@dataclass(frozen=True)
class InstagParams:
    """What changes the tags (recorded in the manifest)."""

    max_new_tokens: int = 384
    context_chars: int = 2000  # earlier turns shown with a later user turn, from the end
    instruction_chars: int = 4000
    retries: int = 1
    retry_temperature: float = 0.7
    seed: int = 0

    def params(self) -> dict[str, Any]:
        return {**asdict(self), "prompt": PROMPT, "context": CONTEXT}


@dataclass
class ParsedTags:
    tags: list[str] = field(default_factory=list)
    explanations: list[str] = field(default_factory=list)
    error: str | None = None  # why nothing usable came back
    repaired: bool = False
    rejected: int = 0  # tags dropped: not English, empty or too long


def _loads(text: str) -> tuple[Any, bool]:
    """JSON from a model reply: strict first, then the repairs; ``(value, repaired)``."""
    try:
        return json.loads(text), False
    except ValueError:
        pass
    candidate = text.strip()
    fenced = FENCE.search(candidate)
    if fenced:
        candidate = fenced.group(1).strip()
    starts = [i for i in (candidate.find("["), candidate.find("{")) if i >= 0]
    if starts:
        start = min(starts)
        end = max(candidate.rfind("]"), candidate.rfind("}"))
        if end > start:
            candidate = candidate[start : end + 1]
    candidate = candidate.replace("\u201c", '"').replace("\u201d", '"')
    candidate = TRAILING_COMMA.sub(r"\1", candidate)
    for attempt in (json.loads, ast.literal_eval):
        try:
            return attempt(candidate), True
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            continue
    raise ValueError("no JSON list of tags in the reply")


def parse_tags(text: str | None) -> ParsedTags:
    """Tags and explanations from one reply, strictly (see the module docstring)."""
    if text is None or not text.strip():
        return ParsedTags(error="empty reply")
    try:
        value, repaired = _loads(text)
    except ValueError as exc:
        return ParsedTags(error=str(exc))
    if isinstance(value, dict):
        inner = next((value[k] for k in ("tags", "intentions", "result") if k in value), None)
        value = inner if inner is not None else [value]
        repaired = True
    if not isinstance(value, list):
        return ParsedTags(error=f"expected a JSON list, got {type(value).__name__}")
    out = ParsedTags(repaired=repaired)
    for item in value:
        if isinstance(item, str):
            tag, explanation = item, ""
        elif isinstance(item, dict) and isinstance(item.get("tag"), str):
            tag, explanation = item["tag"], item.get("explanation") or ""
            explanation = explanation if isinstance(explanation, str) else str(explanation)
        else:
            out.rejected += 1
            continue
        tag = " ".join(tag.split())
        if not tag or len(tag) > MAX_TAG_CHARS or NON_LATIN.search(tag):
            out.rejected += 1
            continue
        out.tags.append(tag)
        out.explanations.append(explanation.strip())
    if not out.tags:
        out.error = (
            f"no usable tag: {out.rejected} rejected (not a tag object, empty, too long, "
            "or not in English)"
            if out.rejected
            else "an empty list of tags"
        )
    return out


def turn_prompts(
    messages: Sequence[dict[str, Any]], params: InstagParams
) -> list[list[dict[str, str]]]:
    """One chat prompt per user turn, each with the turns before it as context."""
    prompts = []
    for i, message in enumerate(messages):
        if message["role"] != "user" or not (message["content"] or "").strip():
            continue
        context = ""
        if i:
            before = "\n".join(
                f"{m['role']}: {m['content']}" for m in messages[:i] if m["role"] != "system"
            )
            if before:
                context = CONTEXT.format(turns=before[-params.context_chars :])
        instruction = message["content"][: params.instruction_chars]
        prompts.append(
            [{"role": "user", "content": PROMPT.format(instruction=instruction, context=context)}]
        )
    return prompts


def merge_turns(parsed: Sequence[ParsedTags]) -> tuple[list[str], list[str]]:
    """A conversation's tags from its turns': first seen first, spelling duplicates removed."""
    seen: set[str] = set()
    tags, explanations = [], []
    for turn in parsed:
        for tag, explanation in zip(turn.tags, turn.explanations):
            key = " ".join(re.sub(r"[^\w]+", " ", tag.lower()).split())
            if key not in seen:
                seen.add(key)
                tags.append(tag)
                explanations.append(explanation)
    return tags, explanations


@dataclass
class ConversationTags:
    tags: list[str]
    explanations: list[str]
    status: str  # ok | partial (some turns failed) | failed | no_user_turn
    error: str | None
    turns: int
    prompt_tokens: int = 0
    completion_tokens: int = 0


#: the columns of ``tag.instag.raw``, one row per conversation (:class:`ConversationTags`)
RAW_COLUMNS = stage.RAW_COLUMNS


class InstagTagger(Plugin):
    """Tags conversations through any generation backend (:mod:`curate.llm`)."""

    kind = "taggers"
    name = "instag"
    reads = ("messages",)
    Params = InstagParams
    PRESETS = PRESETS
    NormalizeParams = NormalizeParams  # phase 2's parameters (taggers.normalize)

    def __init__(self, backend: Any, params: InstagParams | None = None):
        self.backend = backend
        self.settings = params or InstagParams()

    def params(self) -> dict[str, Any]:
        return self.settings.params()

    def identity(self) -> dict[str, Any]:
        """The backend's (its model and revision); after :meth:`load`."""
        return {"backend": self.backend.identity()}

    def schema(self) -> pa.Schema:
        """The raw columns (``tag.instag.raw``); normalization turns them into ``tags``, ``tag_primary``."""
        return RAW_COLUMNS

    def load(self) -> None:
        self.check_requires()
        self.backend.load()

    # -- phase 2: normalization (taggers.normalize), for the core to reach through the registry
    @staticmethod
    def normalize(
        raw_tags: list[list[str]], params: NormalizeParams, embed: Any = None
    ) -> TagMapping:
        """The raw-to-canonical mapping of the whole pool (:func:`taggers.normalize.normalize_tags`)."""
        return normalize_tags(raw_tags, params, embed=embed)

    @staticmethod
    def read_mapping(path: Any) -> TagMapping:
        """A (hand-edited) mapping TSV, as ``TagMapping.save`` writes it."""
        return TagMapping.load(path)

    def tag(self, conversations: Sequence[Sequence[dict[str, Any]]]) -> list[ConversationTags]:
        from curate.llm.base import GenerationParams

        prompts, owner = [], []
        for row, messages in enumerate(conversations):
            for prompt in turn_prompts(messages, self.settings):
                prompts.append(prompt)
                owner.append(row)
        greedy = GenerationParams(
            max_new_tokens=self.settings.max_new_tokens,
            temperature=0.0,
            seed=self.settings.seed,
            json_schema=JSON_SCHEMA,
        )
        generations = self.backend.generate(prompts, greedy) if prompts else []
        parsed = [
            parse_tags(g.text) if g.text is not None else ParsedTags(error=g.error or "no reply")
            for g in generations
        ]
        usage = [(g.prompt_tokens, g.completion_tokens) for g in generations]
        for attempt in range(self.settings.retries):
            again = [i for i, p in enumerate(parsed) if p.error is not None]
            if not again:
                break
            sampled = GenerationParams(
                max_new_tokens=self.settings.max_new_tokens,
                temperature=self.settings.retry_temperature,
                seed=self.settings.seed + 1 + attempt,
                json_schema=JSON_SCHEMA,
            )
            retried = self.backend.generate([prompts[i] for i in again], sampled)
            for i, g in zip(again, retried):
                result = (
                    parse_tags(g.text)
                    if g.text is not None
                    else ParsedTags(error=g.error or "no reply")
                )
                if result.error is None:
                    parsed[i] = result
                else:
                    parsed[i].error = f"{parsed[i].error}; retry: {result.error}"
                usage[i] = (usage[i][0] + g.prompt_tokens, usage[i][1] + g.completion_tokens)
        out = []
        by_row: dict[int, list[int]] = {}
        for i, row in enumerate(owner):
            by_row.setdefault(row, []).append(i)
        for row in range(len(conversations)):
            turns = by_row.get(row, [])
            if not turns:
                out.append(ConversationTags([], [], "no_user_turn", None, 0))
                continue
            results = [parsed[i] for i in turns]
            good = [r for r in results if r.error is None]
            tags, explanations = merge_turns(good)
            errors = [r.error for r in results if r.error is not None]
            status = "ok" if not errors else ("partial" if good else "failed")
            out.append(
                ConversationTags(
                    tags,
                    explanations,
                    status,
                    "; ".join(errors) if errors else None,
                    len(turns),
                    sum(usage[i][0] for i in turns),
                    sum(usage[i][1] for i in turns),
                )
            )
        return out
