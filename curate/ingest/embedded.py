"""Transcripts inside one message: ``Human: … Assistant: …`` typed into an instruction.

Some sets store a whole dialogue in one instruction (BELLE's multi-turn chats, COIG's
``用户：…助手：…``, ``<user>: … <bot>: …`` exports). Ingest flags such a message
``embedded_turns``; with ``--split-embedded-turns`` it is split into real turns when
the markers are unambiguous:

* one marker pair throughout (``Human``/``Assistant``, ``User``/``Assistant``,
  ``用户``/``助手``, ``<user>``/``<bot>``, Baize's ``[|Human|]``/``[|AI|]``), word
  markers at the start of a line, or anywhere after ``###`` (openassistant-guanaco's
  ``### Human: … ### Assistant: …``);
* nothing but whitespace before the first marker (a bare transcript, with no answer of
  its own, may open with one line of preamble: it becomes the system prompt), and
  markers that alternate user, assistant, user, ... starting with the user, every turn
  non-empty;
* a last marker left empty is the slot of the record's answer (or of the next
  question) and is dropped; a transcript that ends on an assistant turn while the
  record has an answer of its own is ambiguous and is left whole.

Only a conversation with a single user message is split; the split row is flagged
``split_turns`` instead.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from curate.ingest.formats.base import ASSISTANT, SYSTEM, USER

_WORD_MARKER = re.compile(
    r"(?:(?:^|(?<=\n))[ \t]*(?:#{1,3}[ \t]*)?|###[ \t]*)"
    r"(Human|User|USER|Assistant|ASSISTANT|用户|助手)[ \t]*[:：][ \t]*"
)
_ANGLE_MARKER = re.compile(r"<(user|human|bot|assistant)>[ \t]*[:：]?[ \t]*")
_BAIZE_MARKER = re.compile(r"\[\|(Human|AI)\|\][ \t]*")
_ROLE_OF = {
    "Human": USER,
    "User": USER,
    "USER": USER,
    "用户": USER,
    "user": USER,
    "human": USER,
    "Assistant": ASSISTANT,
    "ASSISTANT": ASSISTANT,
    "助手": ASSISTANT,
    "bot": ASSISTANT,
    "assistant": ASSISTANT,
    "AI": ASSISTANT,
}


def might_hold_turns(text: str) -> bool:
    """The cheap test every user message passes through: an assistant marker's word."""
    return (
        "Assistant" in text
        or "助手" in text
        or "<bot>" in text
        or "[|AI|]" in text
        or "ASSISTANT" in text
        or "<assistant>" in text
    )


class Marker(NamedTuple):
    start: int
    end: int
    role: str
    word: str


def markers(text: str) -> list[Marker]:
    """The turn markers of ``text`` in order; empty when it holds no assistant marker."""
    if not might_hold_turns(text):
        return []
    if "[|AI|]" in text:
        pattern = _BAIZE_MARKER
    elif "<" in text and _ANGLE_MARKER.search(text):
        pattern = _ANGLE_MARKER
    else:
        pattern = _WORD_MARKER
    found = [
        Marker(m.start(), m.end(), _ROLE_OF[m.group(1)], m.group(1)) for m in pattern.finditer(text)
    ]
    roles = {m.role for m in found}
    return found if roles == {USER, ASSISTANT} else []


def has_embedded_turns(text: str) -> bool:
    return bool(markers(text))


def split_turns(messages: list[tuple[str, str]]) -> list[tuple[str, str]] | None:
    """``messages`` with its one user message split into turns, or None when the
    transcript in it is ambiguous (or there is none)."""
    users = [i for i, (role, _) in enumerate(messages) if role == USER]
    if len(users) != 1:
        return None
    at = users[0]
    if any(role != SYSTEM for role, _ in messages[:at]):
        return None
    text = messages[at][1]
    found = markers(text)
    answered = len(messages) > at + 1
    if not found:
        return None
    preamble = text[: found[0].start].strip()
    if preamble and (answered or at > 0 or "\n" in preamble or len(preamble) > 200):
        return None  # a line of preamble is a system prompt only in a bare transcript
    if len({m.word for m in found if m.role == USER}) != 1:
        return None
    if len({m.word for m in found if m.role == ASSISTANT}) != 1:
        return None
    turns = []
    for i, mark in enumerate(found):
        if mark.role != (USER, ASSISTANT)[i % 2]:
            return None
        end = found[i + 1].start if i + 1 < len(found) else len(text)
        turns.append((mark.role, text[mark.end : end].strip()))
    if not turns[-1][1] and (turns[-1][0] == ASSISTANT or not answered):
        turns.pop()  # the empty slot of the record's own answer, or of the next question
    elif turns[-1][0] == ASSISTANT and answered:
        return None
    if preamble:
        turns.insert(0, (SYSTEM, preamble))
    if any(not content for _, content in turns):
        return None
    return [*messages[:at], *turns, *messages[at + 1 :]]
