"""Stable conversation ids.

``id`` is the BLAKE2b-128 hash (32 hex characters) of the conversation's roles and
contents (each message encoded as ``role:length:content``), after a light normalisation of each content: CRLF to LF, surrounding
whitespace stripped, Unicode NFC. So the same conversation gets the same id on
every run and machine, and copies that differ only in that way collapse to one
row (the first one read keeps its exact text). Provenance (file, index) and the
rejected answer of a preference pair are not part of the identity.
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


def conversation_id(messages: Iterable[tuple[str, str]]) -> str:
    # role:length:content for each message: the length prefix makes the encoding
    # unambiguous whatever characters the content holds.
    parts = []
    for role, content in messages:
        text = normalize_content(content)
        parts.append(f"{role}:{len(text)}:")
        parts.append(text)
    return hashlib.blake2b(
        "".join(parts).encode("utf-8", "surrogatepass"), digest_size=16
    ).hexdigest()
