"""Chat layouts: ShareGPT, OpenAI messages, and preference pairs of message lists."""

from __future__ import annotations

from typing import Any

from curate.ingest.formats.base import (
    ASSISTANT,
    SYSTEM,
    USER,
    Conversation,
    Converter,
    Format,
    FormatContext,
    RecordError,
    extract_meta,
    last_assistant_text,
    text_of,
)

_TURN_KEYS = ("conversations", "conversation")


def turns_to_messages(turns: Any, ctx: FormatContext, what: str) -> list[tuple[str, str]]:
    """A list of ShareGPT ``{from, value}`` or OpenAI ``{role, content}`` dicts as messages."""
    if not isinstance(turns, list):
        raise RecordError(
            "missing_field", f"{what} is a {type(turns).__name__}, not a list of turns"
        )
    messages = []
    for i, turn in enumerate(turns):
        if not isinstance(turn, dict):
            raise RecordError(
                "non_string_content", f"{what}[{i}] is a {type(turn).__name__}, not a turn"
            )
        if turn.get("tool_calls") or turn.get("function_call"):
            raise RecordError("tool_call", f"{what}[{i}] carries tool calls")
        if "from" in turn or "value" in turn:
            raw_role, content = turn.get("from"), turn.get("value")
        else:
            raw_role, content = turn.get("role"), turn.get("content")
        if raw_role is None:
            raise RecordError("missing_field", f"{what}[{i}] has no role ('from' or 'role')")
        role = ctx.role(raw_role)
        messages.append((role, text_of(content, f"{what}[{i}] content")))
    return messages


def _answer_text(value: Any, ctx: FormatContext, what: str) -> str:
    """A chosen/rejected answer given as a string, a ``{from, value}`` dict or a one-turn list."""
    if isinstance(value, dict):
        turns = turns_to_messages([value], ctx, what)
        return turns[0][1]
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return last_assistant_text(turns_to_messages(value, ctx, what)) or ""
    return text_of(value, what)


class ShareGPT(Format):
    name = "sharegpt"
    summary = "conversations[{from, value}] (+ system; + chosen/rejected for preference data)"
    consumed = frozenset({*_TURN_KEYS, "system", "chosen", "rejected", "tools"})

    def matches(self, record: dict) -> bool:
        turns = record.get("conversations", record.get("conversation"))
        return isinstance(turns, list) and (not turns or isinstance(turns[0], dict))

    def converter(self, ctx: FormatContext) -> Converter:
        consumed = self.consumed

        def convert(record: dict) -> Conversation:
            key = "conversations" if "conversations" in record else "conversation"
            messages = turns_to_messages(record.get(key), ctx, key)
            system = record.get("system")
            if isinstance(system, str) and system.strip():
                messages.insert(0, (SYSTEM, system))
            if "chosen" in record:
                messages.append((ASSISTANT, _answer_text(record["chosen"], ctx, "chosen")))
            rejected = (
                _answer_text(record["rejected"], ctx, "rejected")
                if record.get("rejected") is not None
                else None
            )
            return Conversation(messages, rejected, (), extract_meta(record, consumed))

        return convert


class Messages(Format):
    name = "messages"
    summary = (
        "OpenAI messages[{role, content}], content a string or text parts "
        "(+ KTO label; + rejected: the rejected final answer, as curate exports it)"
    )
    consumed = frozenset({"messages", "label", "tools", "rejected"})

    def matches(self, record: dict) -> bool:
        msgs = record.get("messages")
        return isinstance(msgs, list) and (not msgs or isinstance(msgs[0], dict))

    def converter(self, ctx: FormatContext) -> Converter:
        consumed = self.consumed

        def convert(record: dict) -> Conversation:
            messages = turns_to_messages(record.get("messages"), ctx, "messages")
            flags = ("undesirable",) if record.get("label") is False else ()
            rejected = (
                _answer_text(record["rejected"], ctx, "rejected")
                if record.get("rejected") is not None
                else None
            )
            return Conversation(messages, rejected, flags, extract_meta(record, consumed))

        return convert


class PreferenceMessages(Format):
    name = "preference_messages"
    summary = (
        "chosen/rejected as message lists (+ optional prompt), or chosen_messages/rejected_messages"
    )
    consumed = frozenset({"prompt", "chosen", "rejected", "chosen_messages", "rejected_messages"})

    def matches(self, record: dict) -> bool:
        if isinstance(record.get("chosen_messages"), list):
            return True
        chosen = record.get("chosen")
        return isinstance(chosen, list) and bool(chosen) and isinstance(chosen[0], dict)

    def converter(self, ctx: FormatContext) -> Converter:
        consumed = self.consumed

        def convert(record: dict) -> Conversation:
            key = "chosen_messages" if "chosen_messages" in record else "chosen"
            rkey = "rejected_messages" if key == "chosen_messages" else "rejected"
            prompt = record.get("prompt")
            if isinstance(prompt, str):
                prefix = [(USER, prompt)]
            elif isinstance(prompt, list):
                prefix = turns_to_messages(prompt, ctx, "prompt")
            else:
                prefix = []
            chosen = turns_to_messages(record.get(key), ctx, key)
            messages = prefix + chosen
            flags: tuple[str, ...] = ()
            rejected = None
            if record.get(rkey) is not None:
                other = prefix + turns_to_messages(record.get(rkey), ctx, rkey)
                rejected = last_assistant_text(other)
                if other[:-1] != messages[:-1]:
                    flags = ("rejected_prefix_differs",)
                elif other == messages:
                    flags = ("preference_identical",)
            return Conversation(messages, rejected, flags, extract_meta(record, consumed))

        return convert
