"""Conversations to token ids through the model's chat template, fitted to a length.

A reward model scores the *final assistant reply* given everything before it,
so the text ends with that reply's end-of-turn token (no generation prompt).
What is done to a conversation is recorded per row (:data:`STATUSES`):

``ok``                  scored as stored
``ends_on_user``        trailing user turns (no reply to score) were removed;
                        scored through the last assistant reply
``truncated``           too long for ``max_length``: earliest exchanges dropped
                        (system prompt kept), and if the last exchange alone is
                        still too long, tokens cut from the left (the first token,
                        ``<|begin_of_text|>``, is kept). Never cut from the right:
                        that would remove the reply's end and the scored token
``no_assistant_reply``  failure: nothing to score (no, or an empty, assistant reply)
``template_error``      failure: the chat template refused the conversation
``too_long``            failure: the part a model needs (ArmoRM: the prompt's
                        closing tokens) does not fit in ``max_length``
``no_prompt``           failure: nothing before the reply (ArmoRM's gating reads
                        the prompt's closing token)

Failures get no ids and, later, no score: never an invented one.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

OK, ENDS_ON_USER, TRUNCATED = "ok", "ends_on_user", "truncated"
NO_REPLY, TEMPLATE_ERROR = "no_assistant_reply", "template_error"
TOO_LONG, NO_PROMPT = "too_long", "no_prompt"
STATUSES = (OK, ENDS_ON_USER, TRUNCATED, NO_REPLY, TEMPLATE_ERROR, TOO_LONG, NO_PROMPT)
FAILURES = frozenset({NO_REPLY, TEMPLATE_ERROR, TOO_LONG, NO_PROMPT})


@dataclass
class Encoded:
    """Token ids for a list of conversations, with what was done to each."""

    ids: list[np.ndarray]  # int32; empty for failures
    status: list[str]
    turns_dropped: np.ndarray  # int32: trailing user turns + dropped earlier turns
    tokens_cut: np.ndarray  # int32: tokens cut from the left
    extra: dict[str, np.ndarray] = field(default_factory=dict)  # model-specific per-row values

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def lengths(self) -> np.ndarray:
        return np.fromiter(map(len, self.ids), dtype=np.int64, count=len(self.ids))

    @property
    def scorable(self) -> np.ndarray:
        return np.array([s not in FAILURES for s in self.status], dtype=bool)

    def fail(self, row: int, status: str) -> None:
        self.status[row] = status
        self.ids[row] = np.zeros(0, dtype=np.int32)


def reply_prefix(messages: Sequence[dict[str, Any]]) -> tuple[list[dict[str, str]], int]:
    """The messages through the last non-empty assistant reply, and how many trailing turns were cut.

    Returns ``([], n)`` when there is no assistant reply to score.
    """
    last = len(messages) - 1
    while last >= 0 and messages[last]["role"] != "assistant":
        last -= 1
    if last < 0 or not (messages[last]["content"] or "").strip():
        return [], len(messages)
    kept = [{"role": m["role"], "content": m["content"] or ""} for m in messages[: last + 1]]
    return kept, len(messages) - 1 - last


class ChatEncoder:
    """Renders conversations with a tokenizer's chat template and fits them to ``max_length``."""

    def __init__(self, tokenizer: Any, max_length: int):
        if not getattr(tokenizer, "chat_template", None):
            from curate.errors import CurateError

            raise CurateError(
                "the reward model's tokenizer has no chat template; a reward model must be "
                "given conversations in the format it was trained on"
            )
        self.tokenizer = tokenizer
        self.max_length = int(max_length)
        self.bos_id = tokenizer.bos_token_id

    def render(self, messages: list[dict[str, str]]) -> str:
        return self.tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=False
        )

    def tokenize(self, texts: list[str]) -> list[np.ndarray]:
        if not texts:
            return []
        ids = self.tokenizer(texts, add_special_tokens=False)["input_ids"]
        return [np.asarray(x, dtype=np.int32) for x in ids]

    def encode(self, conversations: Sequence[Sequence[dict[str, Any]]]) -> Encoded:
        n = len(conversations)
        out = Encoded(
            ids=[np.zeros(0, dtype=np.int32)] * n,
            status=[OK] * n,
            turns_dropped=np.zeros(n, dtype=np.int32),
            tokens_cut=np.zeros(n, dtype=np.int32),
        )
        kept_messages: dict[int, list[dict[str, str]]] = {}
        texts: list[str] = []
        rows: list[int] = []
        for row, messages in enumerate(conversations):
            kept, trailing = reply_prefix(messages)
            if not kept:
                out.status[row] = NO_REPLY
                continue
            if trailing:
                out.status[row] = ENDS_ON_USER
                out.turns_dropped[row] = trailing
            try:
                texts.append(self.render(kept))
            except Exception:  # a strict template (roles must alternate, no system role, ...)
                out.status[row] = TEMPLATE_ERROR
                continue
            rows.append(row)
            kept_messages[row] = kept
        for row, ids in zip(rows, self.tokenize(texts)):
            if len(ids) > self.max_length:
                ids = self._fit(out, row, kept_messages[row])
            out.ids[row] = ids
        return out

    def _fit(self, out: Encoded, row: int, messages: list[dict[str, str]]) -> np.ndarray:
        """Drop the fewest earliest exchanges that make it fit; else cut the last one from the left."""
        out.status[row] = TRUNCATED
        first = 0
        while first < len(messages) and messages[first]["role"] == "system":
            first += 1
        system, body = messages[:first], messages[first:]
        starts = [i for i, m in enumerate(body) if m["role"] == "user" and i > 0]
        if not starts or body[-1]["role"] != "assistant":
            starts = []
        lengths: dict[int, np.ndarray] = {}

        def encode_from(start: int) -> np.ndarray:
            if start not in lengths:
                lengths[start] = self.tokenize([self.render(system + body[start:])])[0]
            return lengths[start]

        # the shortest suffix is at the last start; find the first start whose suffix fits
        pick = bisect.bisect_left(
            starts, True, key=lambda s: len(encode_from(s)) <= self.max_length
        )
        if pick < len(starts):
            out.turns_dropped[row] += starts[pick]
            return encode_from(starts[pick])
        start = starts[-1] if starts else 0
        out.turns_dropped[row] += start
        ids = encode_from(start)
        keep_first = self.bos_id is not None and len(ids) and ids[0] == self.bos_id
        tail = self.max_length - int(keep_first)
        out.tokens_cut[row] = len(ids) - self.max_length
        return np.concatenate([ids[:1], ids[-tail:]]) if keep_first else ids[-tail:]
