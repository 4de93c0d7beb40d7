"""What a format adapter is, and the helpers adapters share.

An adapter turns one input record (a dict) into a :class:`Conversation`, or raises
:class:`RecordError` with a short machine-readable ``reason`` and a human ``detail``.
It never invents text: fields are mapped, joined or unframed, not rewritten.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from curate.flags import (
    PREFERENCE_IDENTICAL_FLAG,
    PREFERENCE_TIE_FLAG,
    REJECTED_PREFIX_DIFFERS_FLAG,
)

USER, ASSISTANT, SYSTEM = "user", "assistant", "system"


class RecordError(Exception):
    """A record that cannot become a conversation; it goes to the rejects table."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class Conversation(NamedTuple):
    messages: list[tuple[str, Any]]  # (canonical role, content); content checked later
    rejected: str | None = None  # preference records: the rejected final answer
    flags: tuple[str, ...] = ()  # flags only the adapter can know (e.g. "undesirable")
    meta: dict[str, Any] | None = None


Converter = Callable[[dict], Conversation]

# Role names seen in the wild, lower-cased.
_USER_ROLES = {
    "user",
    "human",
    "usr",
    "prompter",
    "customer",
    "client",
    "question",
    "instruction",
    "用户",
    "用戶",
    "使用者",
    "人类",
    "人類",
    "пользователь",
    "человек",
}
_ASSISTANT_ROLES = {
    "assistant",
    "gpt",
    "bot",
    "model",
    "ai",
    "chatgpt",
    "bard",
    "bing",
    "claude",
    "gpt-4",
    "gpt4",
    "gpt-3.5-turbo",
    "moss",
    "response",
    "answer",
    "output",
    "助手",
    "助理",
    "ассистент",
    "бот",
}
_SYSTEM_ROLES = {"system", "sys", "system_prompt", "系统", "系統", "система"}
# Tool-call turns cannot be represented with system/user/assistant messages.
TOOL_ROLES = {
    "function_call",
    "observation",
    "function",
    "tool",
    "tool_call",
    "tool_calls",
    "tool_response",
    "ipython",
    "plugin",
    "function_response",
    "api",
    "environment",
}
DEFAULT_ROLES = (
    {r: USER for r in _USER_ROLES}
    | {r: ASSISTANT for r in _ASSISTANT_ROLES}
    | {r: SYSTEM for r in _SYSTEM_ROLES}
)
#: Keys that name a side only inside a turn object holding both sides, such as
#: Capybara's ``{input, output}`` or a ``{q, a}`` pair (``{human, assistant}`` and
#: ``{user, bot}`` are ordinary role names).
PAIR_ROLES = {"input": USER, "q": USER, "prompt": USER, "a": ASSISTANT, "response": ASSISTANT}
ROLE_ORDER = {SYSTEM: 0, USER: 1, ASSISTANT: 2}


@dataclass
class FormatContext:
    """What an adapter may know about the file it converts."""

    path: Path
    role_map: dict[str, str] = field(default_factory=dict)  # extra raw role -> canonical role
    questions: Path | None = None  # the question file answer files join (resolved by ingest)
    questions_error: str | None = None  # why no question file could be chosen
    joined_by: tuple[str, ...] = ()  # answer files of this run that join this question file

    def __post_init__(self) -> None:
        self.roles = {**DEFAULT_ROLES, **{k.lower(): v for k, v in self.role_map.items()}}
        self.pair_roles = {**PAIR_ROLES, **self.roles}

    def known_role(self, raw: str) -> str | None:
        """The canonical role of a key inside a two-sided turn object, or None."""
        return self.pair_roles.get(raw.strip().lower())

    def role(self, raw: Any) -> str:
        """The canonical role for a raw role name, or a RecordError."""
        if not isinstance(raw, str):
            raise RecordError("unknown_role", f"role {raw!r} is not a string")
        key = raw.strip().lower()
        role = self.roles.get(key)
        if role is not None:
            return role
        if key in TOOL_ROLES:
            raise RecordError(
                "tool_call",
                f"turn with role {raw!r}: tool-call turns are not representable as "
                "system/user/assistant messages",
            )
        raise RecordError(
            "unknown_role", f"role {raw!r} (map it with --role {raw}=user|assistant|system)"
        )


class Format:
    """A record layout: how to recognise it and how to convert it."""

    name: str = ""
    summary: str = ""
    # Keys the converter reads; other scalar keys are kept as ``meta``.
    consumed: frozenset[str] = frozenset()

    def matches(self, record: dict) -> bool:
        raise NotImplementedError

    def converter(self, ctx: FormatContext) -> Converter:
        raise NotImplementedError


#: Keys under which a content object holds its text: ``{"answer": ...}`` (arena-hard's
#: answer files), ``{"content": ...}``, ``{"text": ...}``, ``{"value": ...}``.
CONTENT_KEYS = ("answer", "content", "text", "value")


def text_of(value: Any, what: str) -> str:
    """Message content as text: a string, OpenAI-style text parts joined by newlines, or a
    content object such as ``{"answer": "..."}`` (any other keys of it, e.g. a model's
    reasoning or a token count, are not part of the message)."""
    if isinstance(value, str):
        return value
    if value is None:
        raise RecordError("missing_field", f"{what} is null")
    if isinstance(value, dict) and value.get("type", "text") == "text":
        key = first_key(value, CONTENT_KEYS)
        if key is None:
            keys = ", ".join(sorted(map(str, value))) or "(none)"
            raise RecordError("non_string_content", f"{what} is an object with keys {keys}")
        return text_of(value[key], f"{what}.{key}")
    if isinstance(value, list):
        parts = []
        for part in value:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict) and part.get("type", "text") == "text":
                text = part.get("text", part.get("value"))
                if not isinstance(text, str):
                    raise RecordError("non_string_content", f"{what}: text part without a string")
                parts.append(text)
            elif isinstance(part, dict):
                raise RecordError(
                    "non_text_content", f"{what}: content part of type {part.get('type')!r}"
                )
            else:
                raise RecordError(
                    "non_string_content", f"{what}: content part of type {type(part).__name__}"
                )
        return "\n".join(parts)
    raise RecordError("non_string_content", f"{what} is a {type(value).__name__}, not text")


def first_key(record: dict, keys: Iterable[str]) -> str | None:
    for key in keys:
        if key in record:
            return key
    return None


def require_str(value: Any, what: str) -> str:
    if value is None:
        raise RecordError("missing_field", f"{what} is missing or null")
    if not isinstance(value, str):
        raise RecordError("non_string_content", f"{what} is a {type(value).__name__}, not text")
    return value


META_STRING_LIMIT = 512


def extract_meta(record: dict, consumed: frozenset[str]) -> dict[str, Any] | None:
    """Scalar fields the adapter did not use (category, model id, ...), long strings cut."""
    meta = {}
    for key, value in record.items():
        if key in consumed or value is None:
            continue
        if isinstance(value, str):
            meta[key] = (
                value if len(value) <= META_STRING_LIMIT else value[:META_STRING_LIMIT] + "…"
            )
        elif isinstance(value, (bool, int, float)):
            meta[key] = value
    return meta or None


def last_assistant_text(messages: list[tuple[str, Any]]) -> str | None:
    for role, content in reversed(messages):
        if role == ASSISTANT:
            return content
    return None


def compare_answers(
    chosen: list[tuple[str, str]], other: list[tuple[str, str]]
) -> tuple[str | None, tuple[str, ...]]:
    """The rejected final answer of a preference pair given as two whole conversations,
    and the flags the comparison raises."""
    rejected = last_assistant_text(other)
    if other[:-1] != chosen[:-1]:
        return rejected, (REJECTED_PREFIX_DIFFERS_FLAG,)
    if other == chosen:
        return rejected, (PREFERENCE_IDENTICAL_FLAG,)
    return rejected, ()


def score_tie(record: dict) -> tuple[str, ...]:
    """``preference_tie`` when the pair's own scores are equal (UltraFeedback's
    ``score_chosen``/``score_rejected``): such a pair says nothing about which is better."""
    a, b = record.get("score_chosen"), record.get("score_rejected")
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and a == b:
        return (PREFERENCE_TIE_FLAG,)
    return ()
