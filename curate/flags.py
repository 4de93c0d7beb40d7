"""Cheap quality flags computed at ingest, without changing the text.

Flags are signals for later stages (the heuristic scorer, selection), not verdicts:

``template_tokens``  chat-template or framing tokens left inside a message
                     (``<|im_start|>``, ``[INST]``, ``<<SYS>>``, ``<|eot_id|>``, ``</s>``, ``<eoh>`` ...)
``placeholder``      an unfilled template slot outside code blocks: ``{{name}}``,
                     ``[Your Name]``, ``[Insert date]``, ``[您的姓名]``, ``[Ваше имя]``
``ends_on_user``     the last message is a user turn (nothing to learn from at the end)
``no_assistant``     no assistant message at all (a prompt without an answer)
``empty_turn``       some message is empty or whitespace only
``role_order``       roles do not alternate user/assistant after the system prompt
                     (two turns of one side in a row, a system message later on,
                     or an assistant speaking first)

Adapters add flags that only they can know: ``undesirable`` (a KTO example labelled
false), ``preference_tie``, ``preference_identical``, ``rejected_prefix_differs``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

TEMPLATE_TOKENS = re.compile(
    r"<\|(?:im_start|im_end|im_sep|endoftext|eot_id|eom_id|start_header_id|end_header_id|begin_of_text"
    r"|end_of_text|user|assistant|system|end|endofprompt|Human|MOSS|Inner Thoughts|Commands|Results"
    r"|fim_prefix|fim_middle|fim_suffix)\|>"
    r"|\[/?INST\]|<</?SYS>>|<(?:eoh|eom|eot|eoc|eor)>|<(?:start|end)_of_turn>|</s>"
)
PLACEHOLDER = re.compile(
    r"\{\{\s*[A-Za-z_][\w .\-]{0,40}\}\}"
    r"|\[(?:Your|Insert|Recipient|Company|Name|Date|Address|Phone|Email|Job|Position)\b[^\]\n]{0,40}\]"
    r"|\[(?:你的|您的|贵公司|公司名称)[^\]\n]{0,12}\]"
    r"|\[(?:Ваш|Ваше|Ваша|Имя|Название)[^\]\n]{0,30}\]"
)
CODE_FENCE = re.compile(r"```.*?(?:```|\Z)", re.S)


def text_flags(text: str) -> list[str]:
    """Flags that look at the joined text of a conversation."""
    has_bracket = "[" in text
    if not has_bracket and "<" not in text and "{{" not in text:
        return []  # every pattern below needs one of these characters
    flags = []
    if (has_bracket or "<" in text) and TEMPLATE_TOKENS.search(text):
        flags.append("template_tokens")
    if (has_bracket or "{{" in text) and PLACEHOLDER.search(
        CODE_FENCE.sub("", text) if "```" in text else text
    ):
        flags.append("placeholder")
    return flags


def structure_flags(roles: Sequence[str], contents: Sequence[str]) -> list[str]:
    """Flags that look at the sequence of turns."""
    if len(roles) == 2 and roles[0] == "user" and roles[1] == "assistant":  # the common case
        return [] if contents[0].strip() and contents[1].strip() else ["empty_turn"]
    flags = []
    if roles[-1] == "user":
        flags.append("ends_on_user")
    if "assistant" not in roles:
        flags.append("no_assistant")
    if any(not c.strip() for c in contents):
        flags.append("empty_turn")
    expected = "user"
    start = 0
    while start < len(roles) and roles[start] == "system":
        start += 1
    for role in roles[start:]:
        if role != expected:
            flags.append("role_order")
            break
        expected = "assistant" if expected == "user" else "user"
    return flags
