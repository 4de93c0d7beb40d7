"""Multi-turn dialogues without an instruction field.

* ``history: [{user, bot}, ...]`` (MT-Bench-101) or ``history: [[question, answer], ...]``;
* ``dialog`` / ``dialogue`` / ``turns`` / ``utterances`` as a list of strings that
  alternate user, assistant, user, ... (DailyDialog and its relatives), or as a list of
  turn objects (``{speaker, text}``, ``{role, content}``, ``{human, assistant}``).

A record that also names its question (``question_id``, ``uid``) is a leaderboard
question file, not a dialogue (:mod:`curate.ingest.formats.fastchat`).
"""

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
    first_key,
    require_str,
)
from curate.ingest.formats.chat import turns_to_messages
from curate.ingest.formats.fastchat import QUESTION_ID_KEYS
from curate.ingest.formats.instruction import PROMPT_KEYS

#: Field names that say which side of one exchange a record's field holds. Narrower than
#: the role names of turn objects: a record's ``model`` field names a model, not a reply.
FLAT_ROLES = {
    **{
        k: USER
        for k in (
            "human",
            "user",
            "usr",
            "用户",
            "用戶",
            "使用者",
            "人类",
            "人類",
            "пользователь",
            "человек",
            "q",
            "question",
            "prompt",
            "instruction",
            "query",
        )
    },
    **{k: ASSISTANT for k in ("assistant", "bot", "助手", "助理", "ассистент", "бот", "a")},
    **{k: SYSTEM for k in ("system", "系统", "系統", "система")},
}
DIALOGUE_KEYS = (
    "history",
    "dialog",
    "dialogue",
    "turns",
    "utterances",
    "conversation",
    "conversations",
    "chat_history",
)


def alternating(turns: list[Any], what: str) -> list[tuple[str, str]]:
    """Strings as turns that alternate user, assistant, user, ..."""
    roles = (USER, ASSISTANT)
    return [(roles[i % 2], require_str(t, f"{what}[{i}]")) for i, t in enumerate(turns)]


def dialogue_messages(turns: Any, ctx: FormatContext, what: str) -> list[tuple[str, str]]:
    """A dialogue list of strings, of ``[question, answer]`` pairs or of turn objects."""
    if not isinstance(turns, list) or not turns:
        raise RecordError("missing_field", f"{what} is not a non-empty list of turns")
    first = turns[0]
    if isinstance(first, str):
        return alternating(turns, what)
    if isinstance(first, (list, tuple)):
        messages = []
        for i, pair in enumerate(turns):
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise RecordError("bad_history", f"{what}[{i}] is not a [question, answer] pair")
            messages += alternating(list(pair), f"{what}[{i}]")
        return messages
    return turns_to_messages(turns, ctx, what)


class Dialogue(Format):
    name = "dialogue"
    summary = (
        "multi-turn dialogue: history[{user, bot}] (MT-Bench-101), dialog/dialogue/turns as "
        "alternating strings or turn objects"
    )
    consumed = frozenset({*DIALOGUE_KEYS, "system"})

    def matches(self, record: dict) -> bool:
        if any(k in record for k in QUESTION_ID_KEYS) or first_key(record, PROMPT_KEYS):
            return False
        key = first_key(record, DIALOGUE_KEYS)
        if key is None:
            return False
        turns = record[key]
        return isinstance(turns, list) and bool(turns) and isinstance(turns[0], (str, dict, list))

    def converter(self, ctx: FormatContext) -> Converter:
        consumed = self.consumed

        def convert(record: dict) -> Conversation:
            key = first_key(record, DIALOGUE_KEYS)
            messages = dialogue_messages(record.get(key), ctx, key)
            system = record.get("system")
            if isinstance(system, str) and system.strip():
                messages.insert(0, (SYSTEM, system))
            return Conversation(messages, None, (), extract_meta(record, consumed))

        return convert


class FlatPair(Format):
    """One exchange stored as fields named by role: ``{"human": …, "assistant": …}``,
    ``{"question": …, "bot": …}``, ``{"用户": …, "助手": …}`` (``--role`` adds names)."""

    name = "flat_pair"
    summary = "one exchange as fields named by role ({human, assistant}, {user, bot}, {用户, 助手})"

    def _sides(self, record: dict, ctx: FormatContext | None) -> dict[str, str]:
        roles = FLAT_ROLES
        if ctx is not None and ctx.role_map:
            roles = {**FLAT_ROLES, **{k.lower(): v for k, v in ctx.role_map.items()}}
        sides: dict[str, str] = {}
        for key, value in record.items():
            if isinstance(key, str) and isinstance(value, str):
                role = roles.get(key.strip().lower())
                if role is not None and role not in sides:
                    sides[role] = key
        return sides

    def matches(self, record: dict) -> bool:
        sides = self._sides(record, None)
        return USER in sides and ASSISTANT in sides

    def converter(self, ctx: FormatContext) -> Converter:
        def convert(record: dict) -> Conversation:
            sides = self._sides(record, ctx)
            if USER not in sides or ASSISTANT not in sides:
                raise RecordError("missing_field", "no user and assistant fields")
            messages = [
                (role, record[sides[role]]) for role in (SYSTEM, USER, ASSISTANT) if role in sides
            ]
            return Conversation(messages, None, (), extract_meta(record, frozenset(sides.values())))

        return convert
