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
``curate generate`` adds ``cut_off``: a sampled reply that stopped at ``max_new_tokens``
rather than ending itself (a half answer). Ingest adds ``embedded_turns`` (a ``Human: … Assistant: …`` transcript typed into one
user message) and ``split_turns`` (such a transcript split into turns by
``--split-embedded-turns``; see ``curate.ingest.embedded``).

This module is the one place that spells the flag names and the sets of them that
later stages act on: :data:`QUALITY_FLAGS` (dedup keeps the member with fewer of
them) and :data:`TEMPLATE_FLAGS` (the heuristic scorer's ``template`` penalty).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# -- the names
TEMPLATE_TOKENS_FLAG = "template_tokens"
PLACEHOLDER_FLAG = "placeholder"
ENDS_ON_USER_FLAG = "ends_on_user"
NO_ASSISTANT_FLAG = "no_assistant"
EMPTY_TURN_FLAG = "empty_turn"
ROLE_ORDER_FLAG = "role_order"
UNDESIRABLE_FLAG = "undesirable"
PREFERENCE_TIE_FLAG = "preference_tie"
PREFERENCE_IDENTICAL_FLAG = "preference_identical"
REJECTED_PREFIX_DIFFERS_FLAG = "rejected_prefix_differs"
EMBEDDED_TURNS_FLAG = "embedded_turns"
SPLIT_TURNS_FLAG = "split_turns"
CUT_OFF_FLAG = "cut_off"

#: Flags of :func:`text_flags`, of :func:`structure_flags`, and those only an adapter can know.
TEXT_FLAGS = (TEMPLATE_TOKENS_FLAG, PLACEHOLDER_FLAG)
STRUCTURE_FLAGS = (ENDS_ON_USER_FLAG, NO_ASSISTANT_FLAG, EMPTY_TURN_FLAG, ROLE_ORDER_FLAG)
ADAPTER_FLAGS = (
    UNDESIRABLE_FLAG,
    PREFERENCE_TIE_FLAG,
    PREFERENCE_IDENTICAL_FLAG,
    REJECTED_PREFIX_DIFFERS_FLAG,
)
#: Flags of a transcript typed into one message (``curate.ingest.embedded``).
TRANSCRIPT_FLAGS = (EMBEDDED_TURNS_FLAG, SPLIT_TURNS_FLAG)
#: Flags of sampled answers (``curate.generate``).
GENERATION_FLAGS = (CUT_OFF_FLAG,)
ALL_FLAGS = (*TEXT_FLAGS, *STRUCTURE_FLAGS, *ADAPTER_FLAGS, *TRANSCRIPT_FLAGS, *GENERATION_FLAGS)

#: Flags that count against a conversation: of near-duplicates, dedup's fallback rule
#: keeps the one with the fewest (``curate.dedup.ranking``). The preference flags say
#: nothing about the chosen conversation itself.
QUALITY_FLAGS = (
    *TEXT_FLAGS,
    *STRUCTURE_FLAGS,
    UNDESIRABLE_FLAG,
    EMBEDDED_TURNS_FLAG,
    CUT_OFF_FLAG,
)
#: Template debris: the heuristic scorer's ``template`` term (``scorers.heuristics``).
#: The order is recorded in that scorer's parameters: keep it.
TEMPLATE_FLAGS = (TEMPLATE_TOKENS_FLAG, PLACEHOLDER_FLAG, EMPTY_TURN_FLAG)

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
        flags.append(TEMPLATE_TOKENS_FLAG)
    if (has_bracket or "{{" in text) and PLACEHOLDER.search(
        CODE_FENCE.sub("", text) if "```" in text else text
    ):
        flags.append(PLACEHOLDER_FLAG)
    return flags


def structure_flags(roles: Sequence[str], contents: Sequence[str]) -> list[str]:
    """Flags that look at the sequence of turns."""
    if len(roles) == 2 and roles[0] == "user" and roles[1] == "assistant":  # the common case
        return [] if contents[0].strip() and contents[1].strip() else [EMPTY_TURN_FLAG]
    flags = []
    if roles[-1] == "user":
        flags.append(ENDS_ON_USER_FLAG)
    if "assistant" not in roles:
        flags.append(NO_ASSISTANT_FLAG)
    if any(not c.strip() for c in contents):
        flags.append(EMPTY_TURN_FLAG)
    expected = "user"
    start = 0
    while start < len(roles) and roles[start] == "system":
        start += 1
    for role in roles[start:]:
        if role != expected:
            flags.append(ROLE_ORDER_FLAG)
            break
        expected = "assistant" if expected == "user" else "user"
    return flags
