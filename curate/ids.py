"""Stable conversation ids.

``id`` is the BLAKE2b-128 hash (32 hex characters) of the conversation's roles and
contents (each message encoded as ``role:length:content``), after a light normalisation of each content: CRLF to LF, surrounding
whitespace stripped, Unicode NFC. So the same conversation gets the same id on
every run and machine, and copies that differ only in that way collapse to one
row (the first one read keeps its exact text). Provenance (file, index) is not part
of the identity. The rejected answer of a preference record is: a comparison is a
record of its own, so two verdicts on the same chosen conversation against different
rejected answers are two rows, and a preference record never collapses into a plain
SFT row that holds the same conversation (its rejected answer and verdict would be lost).

``prompt_id`` is the id of everything before the final assistant turn: the prompt
group that answers to the same prompt share (:func:`prompt_id`).
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable


def normalize_content(text: str) -> str:
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    text = text.strip()
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def conversation_id(messages: Iterable[tuple[str, str]], rejected: str | None = None) -> str:
    # role:length:content for each message: the length prefix makes the encoding
    # unambiguous whatever characters the content holds.
    parts = []
    for role, content in messages:
        text = normalize_content(content)
        parts.append(f"{role}:{len(text)}:")
        parts.append(text)
    if rejected is not None:  # "rejected" is no role, so no conversation encodes the same
        text = normalize_content(rejected)
        parts.append(f"rejected:{len(text)}:")
        parts.append(text)
    return hashlib.blake2b(
        "".join(parts).encode("utf-8", "surrogatepass"), digest_size=16
    ).hexdigest()


def prompt_end(roles: list[str]) -> int:
    """Messages that make up a conversation's prompt: all before its final assistant turn.

    The final assistant turn is the run of assistant messages at the end. A conversation
    that does not end on an assistant message (it ends on a user turn, or has no reply)
    is all prompt. So is one whose prompt would hold no user message (only an answer,
    or a system prompt and an answer): grouping those by an empty or shared system
    prompt would make unrelated answers one "prompt".
    """
    end = len(roles)
    while end and roles[end - 1] == "assistant":
        end -= 1
    return end if "user" in roles[:end] else len(roles)


def prompt_id(messages: list[tuple[str, str]]) -> str:
    """The prompt group of a conversation (DESIGN.md, "Prompt groups").

    The :func:`conversation_id` of everything before the final assistant turn, system
    prompt included (a different instruction is a different prompt), with the same
    normalisation. So answers to the same prompt share it; branches of one conversation
    tree that differ in an earlier turn or in the last user turn do not; and a
    conversation that is only a prompt has ``prompt_id == id``, which links an
    unanswered prompt to the answers sampled for it.
    """
    return conversation_id(messages[: prompt_end([role for role, _ in messages])])


def conversation_ids(
    messages: list[tuple[str, str]], rejected: str | None = None
) -> tuple[str, str]:
    """``(conversation_id(messages, rejected), prompt_id(messages))`` in one pass: each
    content is normalised once and the prompt's bytes are hashed once (ingest's hot path)."""
    end = prompt_end([role for role, _ in messages])
    h = hashlib.blake2b(digest_size=16)
    parts = []
    for i, (role, content) in enumerate(messages):
        if i == end:
            h.update("".join(parts).encode("utf-8", "surrogatepass"))
            parts = []
            prompt = h.hexdigest()
        text = normalize_content(content)
        parts.append(f"{role}:{len(text)}:")
        parts.append(text)
    h.update("".join(parts).encode("utf-8", "surrogatepass"))
    if end == len(messages):
        prompt = h.hexdigest()
    if rejected is not None:
        text = normalize_content(rejected)
        h.update(f"rejected:{len(text)}:{text}".encode("utf-8", "surrogatepass"))
    return h.hexdigest(), prompt


def prompt_ids_of(messages):
    """:func:`prompt_id` of every conversation of a ``messages`` column (Arrow), as strings.

    For base tables written before ``prompt_id`` existed. One pass in Python over the
    flattened roles and contents (hashing is per row anyway): about a million
    single-turn conversations in 10 s.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(messages, pa.ChunkedArray):
        messages = messages.combine_chunks()
    flat = pc.list_flatten(messages)
    roles = pc.struct_field(flat, "role").to_pylist()
    contents = pc.fill_null(pc.struct_field(flat, "content"), "").to_pylist()
    lengths = pc.fill_null(pc.list_value_length(messages), 0).to_numpy(zero_copy_only=False)
    bounds = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=bounds[1:])
    out = []
    for start, stop in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        rs = roles[start:stop]
        end = start + prompt_end(rs)
        out.append(conversation_id(zip(roles[start:end], contents[start:end])))
    return pa.array(out, pa.string())
