"""From an adapter's Conversation to a base-table row: checks, flags, id, prompt_id.

Checks that reject a record (reason codes in the rejects table):

``non_string_content``  a message whose content is not text
``empty_content``       no user or assistant message has any text
``too_long``            more characters in all messages than ``max_chars``

Everything else that is odd but usable becomes a flag (:mod:`curate.flags`), and one
more here: ``nul_char``, some message (or the rejected answer) holds a NUL character
(U+0000, e.g. a JSON ``"\\u0000"``), which tokenizers and C-string tools mishandle.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import orjson

from curate.flags import EMBEDDED_TURNS_FLAG, SPLIT_TURNS_FLAG, structure_flags, text_flags
from curate.ids import conversation_ids
from curate.ingest.embedded import has_embedded_turns, might_hold_turns, split_turns
from curate.ingest.formats import Conversation, RecordError
from curate.store.schema import RAW_LIMIT

_MISSING = object()
NUL_CHAR = "nul_char"  # the flag of a conversation with a U+0000 character in its text


class Prepared(NamedTuple):
    id: str
    prompt_id: str
    roles: list[str]
    contents: list[str]
    rejected: str | None
    user_text: str
    assistant_text: str
    n_turns: int
    n_chars: int
    flags: list[str]
    meta: str | None


def prepare(conv: Conversation, max_chars: int, split_embedded: bool = False) -> Prepared:
    """Validate a conversation and compute what the base table stores about it."""
    messages = conv.messages
    if not messages:
        raise RecordError("empty_content", "no messages")
    contents = [m[1] for m in messages]
    for i, content in enumerate(contents):
        if type(content) is not str:
            raise RecordError(
                "non_string_content", f"message {i} content is a {type(content).__name__}"
            )
    roles = [m[0] for m in messages]
    user_text, assistant_text, n_turns = _sides(messages, roles, contents)
    transcript_flag = None
    if might_hold_turns(user_text) and has_embedded_turns(user_text):
        split = split_turns(messages) if split_embedded else None
        if split is None:
            transcript_flag = EMBEDDED_TURNS_FLAG
        else:
            messages, transcript_flag = split, SPLIT_TURNS_FLAG
            roles, contents = [m[0] for m in messages], [m[1] for m in messages]
            user_text, assistant_text, n_turns = _sides(messages, roles, contents)
    n_chars = sum(map(len, contents))
    if n_chars > max_chars:
        raise RecordError("too_long", f"{n_chars} characters (limit --max-chars {max_chars})")
    if not user_text.strip() and not assistant_text.strip():
        raise RecordError("empty_content", "no user or assistant text")
    rejected = conv.rejected
    if rejected is not None and type(rejected) is not str:
        raise RecordError("non_string_content", "rejected answer is not text")
    flags = structure_flags(roles, contents)
    text = "\n".join(contents) if rejected is None else "\n".join([*contents, rejected])
    flags += text_flags(text)
    if "\x00" in text:
        flags.append(NUL_CHAR)
    if conv.flags:
        flags += conv.flags
    if transcript_flag is not None:
        flags.append(transcript_flag)
    if len(flags) > 1:
        flags.sort()
    meta = orjson.dumps(conv.meta, option=orjson.OPT_SORT_KEYS).decode() if conv.meta else None
    conversation, prompt = conversation_ids(messages, rejected)
    return Prepared(
        conversation,
        prompt,
        roles,
        contents,
        rejected,
        user_text,
        assistant_text,
        n_turns,
        n_chars,
        flags,
        meta,
    )


def _sides(
    messages: list[tuple[str, str]], roles: list[str], contents: list[str]
) -> tuple[str, str, int]:
    """The user side's text, the assistant side's text, and the number of user turns."""
    if len(roles) == 2 and roles[0] == "user" and roles[1] == "assistant":
        return contents[0], contents[1], 1
    user_parts = [c for r, c in messages if r == "user"]
    assistant_text = "\n".join([c for r, c in messages if r == "assistant"])
    return "\n".join(user_parts), assistant_text, len(user_parts)


def apply_field_map(record: Any, mapping: dict[str, str]) -> Any:
    """Expose ``record[source]`` as ``record[field]``: ``source`` is a dotted path into nested
    objects and lists (``turns.0.content``: the content of the first turn)."""
    if not mapping or not isinstance(record, dict):
        return record
    out = dict(record)
    for field, source in mapping.items():
        value: Any = record
        for part in source.split("."):
            if isinstance(value, dict):
                value = value.get(part, _MISSING)
            elif (
                isinstance(value, list)
                and part.lstrip("-").isdigit()
                and -len(value) <= int(part) < len(value)
            ):
                value = value[int(part)]
            else:
                value = _MISSING
            if value is _MISSING:
                break
        if value is _MISSING:
            continue
        if "." not in source:
            out.pop(source, None)
        out[field] = value
    return out


def raw_text(value: Any = _MISSING, raw: bytes | None = None) -> tuple[str, int]:
    """The raw form of a rejected record, cut at RAW_LIMIT bytes, and its full size."""
    if raw is None:
        try:
            raw = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
        except TypeError:
            raw = repr(value).encode("utf-8", "backslashreplace")
    size = len(raw)
    if size > RAW_LIMIT:
        raw = raw[:RAW_LIMIT]
    return raw.decode("utf-8", "backslashreplace"), size
