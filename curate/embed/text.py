"""What gets embedded for a conversation.

Modes:

``conversation``  every user and assistant turn, in order (system prompts left out:
                  they are boilerplate shared by whole datasets)
``user``          the user turns only: "the same questions" whatever the answers
``first_user``    the opening user turn only

The default is ``conversation``. In ``oasst_zh`` (flattened conversation trees)
many conversations share an opening prompt and differ after it: ``first_user``
would call them all duplicates, and keeping one per group would throw the other
branches away. Comparing whole conversations only groups those that say the same
thing, prompt and answer.

Before embedding, Traditional Chinese text (more Traditional-only than
Simplified-only characters) is folded to mainland Simplified with OpenCC's
``tw2sp`` conversion (characters and Taiwan vocabulary: 軟體 -> 软件, 程式 -> 程序),
so the same text in both scripts gets (nearly) the same vector. Simplified text is
left alone (``tw2sp`` would misread it: 程序 -> 进程). The stored text never changes. Texts longer than ``max_chars``
keep their head (3/4) and tail (1/4): the end of a conversation is where branches
that share an opening differ.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

MODES = ("conversation", "user", "first_user")
DEFAULT_MODE = "conversation"
DEFAULT_MAX_CHARS = 2000
ELLIPSIS = "\n…\n"


@lru_cache(maxsize=1)
def _converter() -> Any:
    import opencc

    return opencc.OpenCC("tw2sp")


def fold_scripts_batch(texts: list[str]) -> list[str]:
    """Traditional Chinese texts -> mainland Simplified; every other text as is."""
    from curate import lang

    counts = lang.count_classes(texts)
    traditional = counts[:, lang.HAN_T] > counts[:, lang.HAN_S]
    if not traditional.any():
        return list(texts)
    convert = _converter().convert
    return [convert(t) if trad else t for t, trad in zip(texts, traditional.tolist())]


def fold_scripts(text: str) -> str:
    return fold_scripts_batch([text])[0]


def truncate(text: str, max_chars: int) -> tuple[str, bool]:
    if len(text) <= max_chars:
        return text, False
    head = (max_chars * 3) // 4
    tail = max_chars - head
    return text[:head] + ELLIPSIS + text[-tail:], True


def conversation_text(messages: Sequence[dict], mode: str) -> str:
    if mode == "conversation":
        parts = [m["content"] for m in messages if m["role"] != "system"]
    elif mode == "user":
        parts = [m["content"] for m in messages if m["role"] == "user"]
    elif mode == "first_user":
        parts = [next((m["content"] for m in messages if m["role"] == "user"), "")]
    else:
        raise ValueError(f"unknown text mode {mode!r}; choose one of {', '.join(MODES)}")
    return "\n".join(p.strip() for p in parts)


def embedding_texts(
    conversations: Sequence[Sequence[dict]], mode: str, max_chars: int, fold: bool = True
) -> tuple[list[str], list[bool]]:
    """The texts to embed for a batch of conversations, and which were truncated."""
    texts, truncated = [], []
    for messages in conversations:
        text, cut = truncate(conversation_text(messages, mode), max_chars)
        texts.append(text)
        truncated.append(cut)
    return (fold_scripts_batch(texts) if fold else texts), truncated
