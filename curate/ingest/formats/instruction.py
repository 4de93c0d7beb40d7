"""Instruction layouts: Alpaca and its relatives, prompts without answers, pairwise
comparisons, and SQuAD-style reading comprehension.

The user turn of an Alpaca record is ``instruction``, followed by a blank line and
``input`` when ``input`` is not empty (the common Alpaca-to-chat conversion).
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

PROMPT_KEYS = ("instruction", "prompt", "question", "query", "user_prompt")
RESPONSE_KEYS = ("output", "response", "answer", "completion", "chosen")


def user_text(record: dict) -> str:
    key = first_key(record, PROMPT_KEYS)
    if key is None:
        raise RecordError("missing_field", "no instruction/prompt/question field")
    prompt = require_str(record[key], key)
    extra = record.get("input")
    if extra is None or extra == "":
        return prompt
    extra = require_str(extra, "input")
    return f"{prompt}\n\n{extra}" if prompt else extra


def history_messages(history: Any) -> list[tuple[str, str]]:
    """``history`` as ``[[question, answer], ...]``; empty string or null means none."""
    if history is None or history == "" or history == []:
        return []
    if not isinstance(history, list):
        raise RecordError(
            "bad_history", f"history is a {type(history).__name__}, not a list of pairs"
        )
    messages = []
    for i, pair in enumerate(history):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise RecordError("bad_history", f"history[{i}] is not a [question, answer] pair")
        messages.append((USER, require_str(pair[0], f"history[{i}][0]")))
        messages.append((ASSISTANT, require_str(pair[1], f"history[{i}][1]")))
    return messages


def with_system(record: dict, messages: list[tuple[str, str]]) -> list[tuple[str, str]]:
    system = record.get("system")
    if isinstance(system, str) and system.strip():
        return [(SYSTEM, system), *messages]
    return messages


class Alpaca(Format):
    name = "alpaca"
    summary = (
        "instruction/input/output (+ system, history); aliases prompt|question|query and "
        "response|answer|completion; output as a ranked list, or chosen/rejected strings, for preferences"
    )
    consumed = frozenset(
        {*PROMPT_KEYS, *RESPONSE_KEYS, "input", "history", "system", "rejected", "instances"}
    )

    def matches(self, record: dict) -> bool:
        has_prompt = first_key(record, PROMPT_KEYS) is not None
        has_answer = first_key(record, RESPONSE_KEYS) is not None or isinstance(
            record.get("instances"), list
        )
        return has_prompt and has_answer and not isinstance(record.get("chosen"), list)

    def converter(self, ctx: FormatContext) -> Converter:
        consumed = self.consumed

        def convert(record: dict) -> Conversation:
            if "instances" in record and first_key(record, RESPONSE_KEYS) is None:
                record = _single_instance(record)
            key = first_key(record, RESPONSE_KEYS)
            if key is None:
                raise RecordError("missing_field", "no output/response/answer field")
            output = record[key]
            rejected = None
            if isinstance(output, list):  # ranked answers, best first (OpenAssistant pairs)
                if not output:
                    raise RecordError("missing_field", f"{key} is an empty list")
                rejected = require_str(output[1], f"{key}[1]") if len(output) > 1 else None
                output = output[0]
            answer = require_str(output, key)
            if record.get("rejected") is not None:
                rejected = require_str(record["rejected"], "rejected")
            messages = with_system(
                record,
                [
                    *history_messages(record.get("history")),
                    (USER, user_text(record)),
                    (ASSISTANT, answer),
                ],
            )
            return Conversation(messages, rejected, (), extract_meta(record, consumed))

        return convert


def _single_instance(record: dict) -> dict:
    """Self-Instruct seed tasks: ``instruction`` + ``instances[{input, output}]``."""
    instances = record["instances"]
    if not isinstance(instances, list) or len(instances) != 1 or not isinstance(instances[0], dict):
        n = len(instances) if isinstance(instances, list) else "?"
        raise RecordError(
            "unsupported_instances", f"{n} instances (one conversation needs exactly one)"
        )
    return {**record, **{k: instances[0].get(k) for k in ("input", "output")}}


class PromptOnly(Format):
    name = "prompt_only"
    summary = "a prompt without an answer (instruction|prompt|question|user_prompt): one user turn, flagged"
    consumed = frozenset({*PROMPT_KEYS, "input", "system"})

    def matches(self, record: dict) -> bool:
        return (
            first_key(record, PROMPT_KEYS) is not None
            and first_key(record, RESPONSE_KEYS) is None
            and "instances" not in record
        )

    def converter(self, ctx: FormatContext) -> Converter:
        consumed = self.consumed

        def convert(record: dict) -> Conversation:
            messages = with_system(record, [(USER, user_text(record))])
            return Conversation(messages, None, (), extract_meta(record, consumed))

        return convert


class Pairwise(Format):
    name = "pairwise"
    summary = "instruction + left_answer/right_answer with result (left|right|equal) or left_grade/right_grade"
    consumed = frozenset(
        {
            *PROMPT_KEYS,
            "input",
            "left_answer",
            "right_answer",
            "result",
            "left_grade",
            "right_grade",
        }
    )

    def matches(self, record: dict) -> bool:
        return "left_answer" in record and "right_answer" in record

    def converter(self, ctx: FormatContext) -> Converter:
        consumed = self.consumed

        def convert(record: dict) -> Conversation:
            left = require_str(record.get("left_answer"), "left_answer")
            right = require_str(record.get("right_answer"), "right_answer")
            winner = _winner(record)
            flags: tuple[str, ...] = ()
            if winner == "tie":
                winner, flags = "left", ("preference_tie",)
            chosen, rejected = (left, right) if winner == "left" else (right, left)
            messages = [(USER, user_text(record)), (ASSISTANT, chosen)]
            return Conversation(messages, rejected, flags, extract_meta(record, consumed))

        return convert


def _winner(record: dict) -> str:
    result = record.get("result")
    if isinstance(result, str):
        value = result.strip().lower()
        if value in ("left", "a", "model_a", "1"):
            return "left"
        if value in ("right", "b", "model_b", "2"):
            return "right"
        if value in ("equal", "tie", "draw", "both", "none"):
            return "tie"
        raise RecordError("unknown_preference", f"result {result!r} is not left/right/equal")
    lg, rg = record.get("left_grade"), record.get("right_grade")
    if isinstance(lg, (int, float)) and isinstance(rg, (int, float)):
        return "left" if lg > rg else "right" if rg > lg else "tie"
    raise RecordError(
        "missing_field", "no result and no left_grade/right_grade to pick the preferred answer"
    )


class Squad(Format):
    name = "squad"
    summary = (
        "reading comprehension (SQuAD/DRCD): user = context + question, assistant = first answer"
    )
    consumed = frozenset({"context", "question", "answers", "is_impossible"})

    def matches(self, record: dict) -> bool:
        return (
            "context" in record and "question" in record and isinstance(record.get("answers"), list)
        )

    def converter(self, ctx: FormatContext) -> Converter:
        consumed = self.consumed

        def convert(record: dict) -> Conversation:
            context = require_str(record.get("context"), "context")
            question = require_str(record.get("question"), "question")
            answers = record.get("answers") or []
            if not answers or not isinstance(answers[0], dict):
                raise RecordError("no_answer", "question without an answer (unanswerable)")
            answer = require_str(answers[0].get("text"), "answers[0].text")
            messages = [(USER, f"{context}\n\n{question}"), (ASSISTANT, answer)]
            return Conversation(messages, None, (), extract_meta(record, consumed))

        return convert
