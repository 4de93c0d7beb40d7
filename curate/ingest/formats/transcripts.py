"""Layouts whose turns are framed inside text: Anthropic HH transcripts and MOSS chats.

The framing (``\\n\\nHuman:`` markers; MOSS's ``<|Human|>: ... <eoh>``) belongs to
the file format, like JSON punctuation, and is removed by the adapter. Template
tokens found anywhere else in the text are left in place and flagged by ingest.
"""

from __future__ import annotations

import re

from curate.ingest.embedded import has_embedded_turns
from curate.ingest.formats.base import (
    ASSISTANT,
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
    require_str,
)

_HH_MARKER = re.compile(r"(?:^|\n\n)(Human|Assistant):[ \t]?")


def parse_transcript(text: str, what: str) -> list[tuple[str, str]]:
    """``\\n\\nHuman: ...\\n\\nAssistant: ...`` as messages."""
    marks = list(_HH_MARKER.finditer(text))
    if not marks:
        raise RecordError("missing_field", f"{what} has no 'Human:' / 'Assistant:' turns")
    if text[: marks[0].start()].strip():
        raise RecordError("bad_transcript", f"{what} has text before its first turn marker")
    messages = []
    for mark, nxt in zip(marks, [*marks[1:], None]):
        end = nxt.start() if nxt is not None else len(text)
        role = USER if mark.group(1) == "Human" else ASSISTANT
        messages.append((role, text[mark.end() : end]))
    return messages


class HHTranscript(Format):
    name = "hh"
    summary = (
        "Anthropic HH: chosen/rejected transcripts with '\\n\\nHuman:' / '\\n\\nAssistant:' turns"
    )
    consumed = frozenset({"chosen", "rejected"})

    def matches(self, record: dict) -> bool:
        chosen = record.get("chosen")
        return isinstance(chosen, str) and ("\n\nHuman:" in chosen or chosen.startswith("Human:"))

    def converter(self, ctx: FormatContext) -> Converter:
        consumed = self.consumed

        def convert(record: dict) -> Conversation:
            messages = parse_transcript(require_str(record.get("chosen"), "chosen"), "chosen")
            rejected, flags = None, ()
            if record.get("rejected") is not None:
                other = parse_transcript(require_str(record["rejected"], "rejected"), "rejected")
                rejected, flags = compare_answers(messages, other)
            return Conversation(messages, rejected, flags, extract_meta(record, consumed))

        return convert


_MOSS_FRAME = {
    "Human": re.compile(r"^\s*<\|Human\|>:[ \t]?(.*?)\s*<eoh>\s*$", re.S),
    "MOSS": re.compile(r"^\s*<\|MOSS\|>:[ \t]?(.*?)\s*<eom>\s*$", re.S),
    "Commands": re.compile(r"^\s*<\|Commands\|>:[ \t]?(.*?)\s*<eoc>\s*$", re.S),
}
_TURN_NUMBER = re.compile(r"^turn_(\d+)$")


def unframe(kind: str, text: str) -> str:
    m = _MOSS_FRAME[kind].match(text)
    return m.group(1) if m else text


class Moss(Format):
    name = "moss"
    summary = "MOSS-003: meta_instruction + chat.turn_N{Human, Inner Thoughts, Commands, Tool Responses, MOSS}"
    consumed = frozenset({"chat", "meta_instruction", "num_turns"})

    def matches(self, record: dict) -> bool:
        chat = record.get("chat")
        return isinstance(chat, dict) and any(_TURN_NUMBER.match(k) for k in chat)

    def converter(self, ctx: FormatContext) -> Converter:
        consumed = self.consumed

        def convert(record: dict) -> Conversation:
            chat = record["chat"]
            numbered = sorted((int(m.group(1)), k) for k in chat if (m := _TURN_NUMBER.match(k)))
            messages = []
            system = record.get("meta_instruction")
            if isinstance(system, str) and system.strip():
                messages.append((SYSTEM, system))
            for number, key in numbered:
                turn = chat[key]
                if not isinstance(turn, dict):
                    raise RecordError("non_string_content", f"chat.{key} is not an object")
                command = turn.get("Commands")
                if isinstance(command, str) and unframe("Commands", command).strip() not in (
                    "",
                    "None",
                ):
                    raise RecordError(
                        "tool_call",
                        f"turn {number} calls a plugin; tool-call turns are not representable",
                    )
                messages.append(
                    (USER, unframe("Human", require_str(turn.get("Human"), f"chat.{key}.Human")))
                )
                messages.append(
                    (ASSISTANT, unframe("MOSS", require_str(turn.get("MOSS"), f"chat.{key}.MOSS")))
                )
            if len(messages) <= 1:
                raise RecordError("missing_field", "chat has no turns")
            return Conversation(messages, None, (), extract_meta(record, consumed))

        return convert


_TRANSCRIPT_KEYS = ("input", "text", "conversation", "dialogue", "dialog", "chat", "content")


class BareTranscript(Format):
    """A record whose one text field is a whole marked-up dialogue (Baize's ``input``:
    ``[|Human|] … [|AI|] …``): one user message flagged ``embedded_turns``, split into
    turns by ``--split-embedded-turns`` (:mod:`curate.ingest.embedded`)."""

    name = "transcript"
    summary = "a whole dialogue in one text field (Baize input with [|Human|]/[|AI|] markers)"
    consumed = frozenset(_TRANSCRIPT_KEYS)

    def matches(self, record: dict) -> bool:
        key = first_key(record, _TRANSCRIPT_KEYS)
        return key is not None and isinstance(record[key], str) and has_embedded_turns(record[key])

    def converter(self, ctx: FormatContext) -> Converter:
        consumed = self.consumed

        def convert(record: dict) -> Conversation:
            key = first_key(record, _TRANSCRIPT_KEYS)
            text = require_str(record.get(key), key)
            return Conversation([(USER, text)], None, (), extract_meta(record, consumed))

        return convert
