"""Instruction layouts: Alpaca and its relatives, prompts without answers, multiple-choice
items, and SQuAD-style reading comprehension.

The user turn of an Alpaca record is ``instruction``, followed by a blank line and
``input`` when ``input`` is not empty (the common Alpaca-to-chat conversion).
"""

from __future__ import annotations

import re
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
    score_tie,
)

PROMPT_KEYS = ("instruction", "prompt", "question", "query", "user_prompt", "problem")
RESPONSE_KEYS = ("output", "response", "answer", "completion", "chosen", "solution")
#: Other names of the one answer of a record: ``gpt4_answer``, ``model_output``,
#: ``canonical_solution``, ``reference_answer``, ``targets`` ...
ANSWER_ALIAS = re.compile(
    r"^(?:[a-z0-9]+_)*(?:output|response|answer|completion|generation|generated|solution|reply"
    r"|target|reference|prediction)s?$"
)
#: One of several answers (``output_1``, ``response_a``): a record holding them and no
#: verdict is not a prompt without an answer.
NUMBERED_ANSWER = re.compile(r"(?:output|response|answer|completion)_?(?:\d|[ab])$", re.I)


def answer_aliases(record: dict) -> list[str]:
    """Keys that look like an answer under another name and hold text."""
    return [
        k
        for k, v in record.items()
        if isinstance(v, str) and isinstance(k, str) and ANSWER_ALIAS.match(k.lower())
    ]


def preference_keys(record: dict) -> tuple[str, str] | None:
    """``chosen_response``/``rejected_response`` (or ``response_chosen``/``..._rejected``):
    a chosen and a rejected answer under names that differ only in that word."""
    for key, value in record.items():
        if isinstance(key, str) and "chosen" in key and key != "chosen" and isinstance(value, str):
            other = key.replace("chosen", "rejected")
            if isinstance(record.get(other), str):
                return key, other
    return None


def answer_key(record: dict) -> str | None:
    """The key of a record's one answer: a usual name, else the only alias present, else
    the chosen side of a ``chosen_*``/``rejected_*`` pair."""
    key = first_key(record, RESPONSE_KEYS)
    if key is not None:
        return key
    aliases = answer_aliases(record)
    if len(aliases) == 1:
        return aliases[0]
    pair = preference_keys(record)
    return pair[0] if pair is not None else None


#: What follows the instruction in the user turn: Alpaca's ``input``, Dolly's ``context``.
#: Without an instruction, ``input`` (or FLAN's ``inputs``) is the prompt itself.
INPUT_KEYS = ("input", "context", "inputs")


def has_prompt(record: dict) -> bool:
    if first_key(record, PROMPT_KEYS) is not None:
        return True
    key = first_key(record, ("input", "inputs"))
    return key is not None and isinstance(record[key], str) and bool(record[key].strip())


def user_text(record: dict) -> str:
    key = first_key(record, PROMPT_KEYS)
    if key is None:
        key = first_key(record, ("input", "inputs"))
        if key is None:
            raise RecordError("missing_field", "no instruction/prompt/question field")
        return require_str(record[key], key)
    prompt = require_str(record[key], key)
    extra_key = first_key(record, INPUT_KEYS)
    extra = record.get(extra_key) if extra_key else None
    if extra is None or extra == "":
        return prompt
    extra = require_str(extra, extra_key)
    return f"{prompt}\n\n{extra}" if prompt else extra


def history_messages(history: Any, ctx: FormatContext) -> list[tuple[str, str]]:
    """``history`` as ``[[question, answer], ...]`` or ``[{user, bot}, ...]``; empty string
    or null means none."""
    if history is None or history == "" or history == []:
        return []
    if not isinstance(history, list):
        raise RecordError(
            "bad_history", f"history is a {type(history).__name__}, not a list of pairs"
        )
    from curate.ingest.formats.dialogue import dialogue_messages

    return dialogue_messages(history, ctx, "history")


def with_system(record: dict, messages: list[tuple[str, str]]) -> list[tuple[str, str]]:
    system = record.get("system")
    if isinstance(system, str) and system.strip():
        return [(SYSTEM, system), *messages]
    return messages


class Alpaca(Format):
    name = "alpaca"
    summary = (
        "instruction/input/output (+ system, history; Dolly's context; input alone as the "
        "prompt); aliases prompt|question|query|problem and response|answer|completion|solution "
        "and one answer under another name; output as a ranked list, or chosen/rejected strings, "
        "for preferences"
    )
    consumed = frozenset(
        {*PROMPT_KEYS, *RESPONSE_KEYS, *INPUT_KEYS, "history", "system", "rejected", "instances"}
    )

    def matches(self, record: dict) -> bool:
        has_answer = answer_key(record) is not None or isinstance(record.get("instances"), list)
        return has_answer and has_prompt(record) and not isinstance(record.get("chosen"), list)

    def converter(self, ctx: FormatContext) -> Converter:
        consumed = self.consumed

        def convert(record: dict) -> Conversation:
            if "instances" in record and answer_key(record) is None:
                record = _single_instance(record)
            key = answer_key(record)
            if key is None:
                raise RecordError("missing_field", "no output/response/answer field")
            output = record[key]
            consumed_here = consumed if key in consumed else consumed | {key}
            rejected = None
            if isinstance(output, list):  # ranked answers, best first (OpenAssistant pairs)
                if not output:
                    raise RecordError("missing_field", f"{key} is an empty list")
                rejected = require_str(output[1], f"{key}[1]") if len(output) > 1 else None
                output = output[0]
            answer = require_str(output, key)
            pair = preference_keys(record) if key not in consumed else None
            if pair is not None and pair[0] == key:
                rejected = record[pair[1]]
                consumed_here = consumed_here | {pair[1]}
            if record.get("rejected") is not None:
                rejected = require_str(record["rejected"], "rejected")
            messages = with_system(
                record,
                [
                    *history_messages(record.get("history"), ctx),
                    (USER, user_text(record)),
                    (ASSISTANT, answer),
                ],
            )
            flags = score_tie(record) if rejected is not None else ()
            return Conversation(messages, rejected, flags, extract_meta(record, consumed_here))

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
    consumed = frozenset({*PROMPT_KEYS, *INPUT_KEYS, "system"})

    def matches(self, record: dict) -> bool:
        return (
            first_key(record, PROMPT_KEYS) is not None
            and answer_key(record) is None
            and not answer_aliases(record)
            and "instances" not in record
            and not any(isinstance(k, str) and NUMBERED_ANSWER.search(k) for k in record)
        )

    def converter(self, ctx: FormatContext) -> Converter:
        consumed = self.consumed

        def convert(record: dict) -> Conversation:
            messages = with_system(record, [(USER, user_text(record))])
            return Conversation(messages, None, (), extract_meta(record, consumed))

        return convert


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


_OPTION_LETTERS = "ABCDEFGHIJ"
_OPTION_LISTS = ("choices", "options")


def _options(record: dict) -> list[str] | None:
    """A multiple-choice item's options: ``A``..``D`` fields (C-Eval, CMMLU, TMMLU+) or a
    ``choices``/``options`` list of strings (MMLU)."""
    if all(isinstance(record.get(c), str) for c in "ABCD"):
        options = []
        for letter in _OPTION_LETTERS:
            if not isinstance(record.get(letter), str):
                break
            options.append(record[letter])
        return options
    key = first_key(record, _OPTION_LISTS)
    values = record.get(key) if key else None
    if isinstance(values, list) and len(values) >= 2 and all(isinstance(v, str) for v in values):
        return values[: len(_OPTION_LETTERS)]
    return None


class MultipleChoice(Format):
    name = "multiple_choice"
    summary = (
        "multiple-choice items (C-Eval, CMMLU, TMMLU+: question, A..D, answer; MMLU: choices, "
        "answer index): user = question and lettered options, assistant = the answer's letter"
    )
    consumed = frozenset({"question", "answer", *_OPTION_LETTERS, *_OPTION_LISTS})

    def matches(self, record: dict) -> bool:
        return "question" in record and "answer" in record and _options(record) is not None

    def converter(self, ctx: FormatContext) -> Converter:
        consumed = self.consumed

        def convert(record: dict) -> Conversation:
            question = require_str(record.get("question"), "question")
            options = _options(record) or []
            lines = [f"{_OPTION_LETTERS[i]}. {text}" for i, text in enumerate(options)]
            answer = record.get("answer")
            if isinstance(answer, int) and not isinstance(answer, bool):
                if not 0 <= answer < len(options):
                    raise RecordError("missing_field", f"answer index {answer} has no option")
                answer = _OPTION_LETTERS[answer]
            answer = require_str(answer, "answer")
            user = question + "\n" + "\n".join(lines)
            return Conversation(
                [(USER, user), (ASSISTANT, answer)], None, (), extract_meta(record, consumed)
            )

        return convert
