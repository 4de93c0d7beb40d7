"""Chat layouts: ShareGPT, OpenAI messages, and preference pairs of message lists."""

from __future__ import annotations

from typing import Any

from curate.ingest.formats.base import (
    ASSISTANT,
    ROLE_ORDER,
    SYSTEM,
    USER,
    Conversation,
    Converter,
    Format,
    FormatContext,
    RecordError,
    compare_answers,
    extract_meta,
    first_key,
    last_assistant_text,
    score_tie,
    text_of,
)

_TURN_KEYS = ("conversations", "conversation")


_ROLE_KEYS = ("from", "role", "speaker", "author")
_CONTENT_KEYS = ("value", "content", "text", "utterance", "message", "parts")


def turns_to_messages(turns: Any, ctx: FormatContext, what: str) -> list[tuple[str, str]]:
    """A list of turns as messages. A turn is a ShareGPT ``{from, value}``, an OpenAI
    ``{role, content}`` or a ``{speaker, text}`` object, or an object holding both sides
    under role names (Firefly's ``{human, assistant}``, MT-Bench-101's ``{user, bot}``)."""
    if isinstance(turns, dict):
        turns = columns_to_turns(turns, what)
    if not isinstance(turns, list):
        raise RecordError(
            "missing_field", f"{what} is a {type(turns).__name__}, not a list of turns"
        )
    messages: list[tuple[str, str]] = []
    for i, turn in enumerate(turns):
        if not isinstance(turn, dict):
            raise RecordError(
                "non_string_content", f"{what}[{i}] is a {type(turn).__name__}, not a turn"
            )
        if turn.get("tool_calls") or turn.get("function_call"):
            raise RecordError("tool_call", f"{what}[{i}] carries tool calls")
        role_key = first_key(turn, _ROLE_KEYS)
        content_key = first_key(turn, _CONTENT_KEYS)
        if role_key is None and content_key is None:
            messages += pair_turn(turn, ctx, f"{what}[{i}]")
            continue
        if role_key is None:
            raise RecordError("missing_field", f"{what}[{i}] has no role ('from' or 'role')")
        role = ctx.role(turn[role_key])
        messages.append((role, text_of(turn.get(content_key), f"{what}[{i}] content")))
    return messages


def columns_to_turns(columns: dict, what: str) -> list[dict]:
    """Turns stored column by column, ``{"role": [...], "content": [...]}`` (a flattened
    Hugging Face sequence, as in ru_turbo_saiga), as a list of turn objects."""
    lists = {k: v for k, v in columns.items() if isinstance(v, list)}
    lengths = {len(v) for v in lists.values()}
    if not lists or len(lengths) != 1 or first_key(lists, _ROLE_KEYS) is None:
        raise RecordError("missing_field", f"{what} is an object, not a list of turns")
    n = lengths.pop()
    return [{k: v[i] for k, v in lists.items()} for i in range(n)]


def pair_turn(turn: dict, ctx: FormatContext, what: str) -> list[tuple[str, str]]:
    """The messages of a turn object keyed by role names, in system, user, assistant order.

    Keys that name no role are ignored when they hold no text; a text under an unknown
    key is an error that says how to map it (``--role KEY=assistant``).
    """
    sides = []
    for key, value in turn.items():
        role = ctx.known_role(key) if isinstance(key, str) else None
        if role is None:
            if isinstance(value, str) and value.strip():
                known = ", ".join(map(str, turn))
                raise RecordError(
                    "unknown_role",
                    f"{what} has keys {known}; map the key {key!r} with --role {key}=user|assistant|system",
                )
            continue
        sides.append((ROLE_ORDER[role], role, text_of(value, f"{what}.{key}")))
    if not sides:
        raise RecordError(
            "missing_field", f"{what} has no role ('from' or 'role') and no role keys"
        )
    sides.sort(key=lambda side: side[0])
    return [(role, text) for _, role, text in sides]


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
        if isinstance(turns, dict):  # stored column by column
            return isinstance(turns.get("from", turns.get("role")), list)
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
            return Conversation(
                messages, rejected, score_tie(record), extract_meta(record, consumed)
            )

        return convert


class Messages(Format):
    name = "messages"
    summary = (
        "OpenAI messages[{role, content}], content a string, text parts or an object; "
        "Gemini contents[{role, parts}] + systemInstruction; also stored column by column "
        "(+ KTO label; + rejected: the rejected final answer, as curate exports it)"
    )
    consumed = frozenset(
        {
            "messages",
            "contents",
            "systemInstruction",
            "system_instruction",
            "label",
            "tools",
            "rejected",
        }
    )

    def matches(self, record: dict) -> bool:
        msgs = record.get("messages", record.get("contents"))
        if isinstance(msgs, dict):  # stored column by column
            return isinstance(msgs.get("role"), list)
        return isinstance(msgs, list) and (not msgs or isinstance(msgs[0], dict))

    def converter(self, ctx: FormatContext) -> Converter:
        consumed = self.consumed

        def convert(record: dict) -> Conversation:
            key = "messages" if "messages" in record else "contents"
            messages = turns_to_messages(record.get(key), ctx, key)
            system = record.get("systemInstruction", record.get("system_instruction"))
            if isinstance(system, dict):  # Gemini: {"role": "system", "parts": [{"text": ...}]}
                text = text_of(system.get("parts", system.get("content")), "systemInstruction")
                if text.strip():
                    messages.insert(0, (SYSTEM, text))
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
            chosen = turns_to_messages(record.get(key), ctx, key)
            prefix = _prompt_prefix(record.get("prompt"), chosen, ctx)
            messages = prefix + chosen
            flags: tuple[str, ...] = ()
            rejected = None
            if record.get(rkey) is not None:
                other = turns_to_messages(record.get(rkey), ctx, rkey)
                if other and other[0][0] == ASSISTANT:
                    other = prefix + other
                rejected, flags = compare_answers(messages, other)
            flags += score_tie(record)
            return Conversation(messages, rejected, flags, extract_meta(record, consumed))

        return convert


def _prompt_prefix(
    prompt: Any, chosen: list[tuple[str, str]], ctx: FormatContext
) -> list[tuple[str, str]]:
    """The turns that ``prompt`` adds before the chosen answer: none when the chosen
    list already starts with the conversation (UltraFeedback: ``prompt`` is a copy of
    its first user turn), else the prompt as a user turn or a list of turns."""
    if chosen and chosen[0][0] != ASSISTANT:
        return []
    if isinstance(prompt, str):
        return [(USER, prompt)]
    if isinstance(prompt, list):
        return turns_to_messages(prompt, ctx, "prompt")
    return []
