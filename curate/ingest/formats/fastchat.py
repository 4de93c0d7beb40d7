"""Leaderboard answer files and their question files (FastChat MT-Bench, arena-hard and
its Russian forks, Taiwan-LLM's bench).

An answer file (``model_answer/*.jsonl``, ``reference_answer/*.jsonl``) holds only the
model's side. Its conversations are formed by joining each answer with its question:
user turn i is question turn i, assistant turn i is answer turn i. Answer schemas:

* ``{question_id, model_id, choices: [{turns: [...]}]}`` (FastChat, arena-hard), where a
  turn is a string or a ``{content}`` object and content may itself be an object such
  as ``{"answer": ...}``; joined on ``question_id`` (or ``uid``);
* ``{id, generated_text, model_name}`` (Taiwan-LLM bench), joined on the question's
  ``index`` field (or its position in the question file).

Question files hold ``{question_id | uid, turns}`` with turns as strings or ``{content}``
objects. The question file of an answer file is ``--questions FILE`` when given, else
found beside the answer file or one directory up (``question.jsonl``,
``question_*.jsonl``, ``questions.jsonl``). When several sit there, the one holding the
answers' question ids wins; when several hold them all (``question_en.jsonl`` and
``question_ru.jsonl`` of a translated bench share ids), the one whose name suffix
appears in the answer file's name, else the one whose language matches the answers'.
Ingest resolves this once per file before reading (:func:`resolve`) and reports the
file that matched.

A question file on its own ingests as prompt-only rows (the question's turns as user
turns, flagged ``no_assistant``), like any prompt file. A question file that answer
files of the same run join is not ingested again: its records are rejected as
``joined_questions``, since its questions are already the user turns of those answers.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from curate import lang
from curate.ingest.formats.base import (
    ASSISTANT,
    USER,
    Conversation,
    Converter,
    Format,
    FormatContext,
    RecordError,
    extract_meta,
    text_of,
)
from curate.ingest.formats.chat import turns_to_messages

SAMPLE = 20
QUESTION_ID_KEYS = ("question_id", "uid")
QUESTION_FILE_PATTERNS = (
    "question.jsonl",
    "question_*.jsonl",
    "question-*.jsonl",
    "questions.jsonl",
)


def turn_texts(turns: Any, what: str) -> list[str]:
    """Turns given as strings or as ``{content}`` objects (content may be ``{"answer": ...}``)."""
    if not isinstance(turns, list):
        raise RecordError("missing_field", f"{what} is not a list of turns")
    return [text_of(turn, f"{what}[{i}]") for i, turn in enumerate(turns)]


def question_turns(record: dict) -> list[str] | None:
    """The turns of a question record, or None when it is not one: ``turns``, or the one
    ``prompt`` (arena-hard v2) or ``text`` (FastChat's older eval table) of a record that
    has a question id."""
    turns = record.get("turns")
    if turns is None and any(k in record for k in QUESTION_ID_KEYS):
        single = next((record[k] for k in ("prompt", "text") if k in record), None)
        return [single] if isinstance(single, str) else None
    if not isinstance(turns, list) or not turns:
        return None
    try:
        return turn_texts(turns, "turns")
    except RecordError:
        return None


def question_key(record: dict) -> str | None:
    key = next((k for k in QUESTION_ID_KEYS if k in record), None)
    return None if key is None or record[key] is None else str(record[key])


@dataclass(frozen=True)
class Question:
    turns: tuple[str, ...]
    category: str | None


@dataclass
class QuestionFile:
    path: Path
    by_id: dict[str, Question]
    by_index: dict[int, Question]

    @classmethod
    def load(cls, path: Path) -> QuestionFile:
        from curate.ingest.readers import open_reader

        by_id: dict[str, Question] = {}
        by_index: dict[int, Question] = {}
        with open_reader(path) as reader:
            for position, item in enumerate(reader.records()):
                rec = item.value
                turns = question_turns(rec) if isinstance(rec, dict) else None
                if turns is None:
                    continue
                category = rec.get("category")
                q = Question(tuple(turns), category if isinstance(category, str) else None)
                key = question_key(rec)
                if key is not None:
                    by_id[key] = q
                index = rec.get("index")
                by_index[index if isinstance(index, int) else position] = q
        return cls(path, by_id, by_index)

    def find(self, key: str, by_index: bool) -> Question | None:
        if by_index:
            return self.by_index.get(int(key)) if key.lstrip("-").isdigit() else None
        return self.by_id.get(key)

    def language(self) -> str:
        texts = [q.turns[0] for q in list(self.by_index.values())[:SAMPLE] if q.turns]
        return majority(lang.detect(texts)[0]) if texts else "und"


def load_questions(path: Path) -> QuestionFile:
    """The question file at ``path``, read once per version of it (size and mtime)."""
    st = path.stat()
    return _load_questions(path, st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=64)
def _load_questions(path: Path, size: int, mtime_ns: int) -> QuestionFile:
    return QuestionFile.load(path)


def majority(values: list[str]) -> str:
    return Counter(values).most_common(1)[0][0] if values else "und"


def candidate_question_files(answer_path: Path) -> list[Path]:
    dirs = [answer_path.parent, answer_path.parent.parent]
    found = {
        p
        for d in dirs
        for pattern in QUESTION_FILE_PATTERNS
        for p in d.glob(pattern)
        if p.is_file() and p.resolve() != answer_path.resolve()
    }
    return sorted(found)


def answer_turns(record: dict) -> list[Any]:
    choices = record.get("choices")
    if isinstance(choices, list):
        if choices and isinstance(choices[0], dict) and isinstance(choices[0].get("turns"), list):
            return choices[0]["turns"]
        return []
    if "generated_text" in record:
        return [record["generated_text"]]
    if "answer_id" in record and "text" in record:
        return [record["text"]]
    if isinstance(record.get("messages"), list):
        return [
            m.get("content")
            for m in record["messages"]
            if isinstance(m, dict) and m.get("role") == "assistant"
        ]
    return []


def carries_prompt(record: dict) -> bool:
    """An answer record that holds its whole conversation (arena-hard v2's ``messages``):
    joined with its question file only to link the two."""
    return isinstance(record.get("messages"), list)


def answer_key(record: dict) -> tuple[str | None, bool]:
    """The question an answer refers to, and whether it is a position (Taiwan-LLM's ``id``)."""
    if "choices" in record or "answer_id" in record or carries_prompt(record):
        return question_key(record), False
    value = record.get("id")
    return (None if value is None else str(value)), True


def head_records(path: Path, limit: int = 64) -> list[Any]:
    """The first ``limit`` parsed records of a file."""
    from curate.ingest.readers import open_reader

    out: list[Any] = []
    with open_reader(path) as reader:
        for item in reader.records():
            if item.error is None:
                out.append(item.value)
            if len(out) >= limit:
                break
    return out


@dataclass(frozen=True)
class Resolution:
    """The question file an answer file joins, or why there is none."""

    path: Path | None
    error: str | None = None
    matched: int = 0  # sampled answers whose question the file holds
    sampled: int = 0


def resolve(answer_path: Path, given: Path | None, records: Iterable[Any]) -> Resolution:
    """The question file of ``answer_path``, judged from its first records."""
    keys = [answer_key(r) for r in records if isinstance(r, dict)]
    keys = [(k, pos) for k, pos in keys if k is not None]

    def coverage(path: Path) -> int:
        questions = load_questions(path)
        return sum(questions.find(k, pos) is not None for k, pos in keys)

    if given is not None:
        return Resolution(given, None, coverage(given), len(keys))
    candidates = candidate_question_files(answer_path)
    if not candidates:
        return Resolution(
            None,
            f"no question file (question.jsonl, question_*.jsonl) beside or above "
            f"{answer_path.name}; pass --questions FILE",
        )
    covered = {p: coverage(p) for p in candidates}
    best = max(covered.values())
    if best == 0 and keys:
        names = ", ".join(p.name for p in candidates)
        shown = ", ".join(k for k, _ in keys[:3])
        return Resolution(
            None,
            f"none of the question files beside or above {answer_path.name} ({names}) holds "
            f"its questions ({shown}, ...); pass --questions FILE",
        )
    tied = [p for p in candidates if covered[p] == best]
    chosen = _break_tie(answer_path, tied, records) if len(tied) > 1 else tied[0]
    if chosen is None:
        names = ", ".join(p.name for p in tied)
        return Resolution(
            None,
            f"cannot tell which question file ({names}) {answer_path.name} answers: all hold "
            "its question ids; pass --questions FILE",
        )
    return Resolution(chosen, None, best, len(keys))


def _break_tie(answer_path: Path, tied: list[Path], records: Iterable[Any]) -> Path | None:
    """Of question files holding the same ids: the one named by the answer file's name
    (``question_ru`` for ``mt_bench_ru_saiga.jsonl``), else the one in the answers' language."""
    tokens = set(re.split(r"[_\-.\s]+", answer_path.stem.lower()))
    named = [
        p
        for p in tied
        if (suffix := re.sub(r"^questions?", "", p.stem).strip("_-").lower()) and suffix in tokens
    ]
    if len(named) == 1:
        return named[0]
    texts = []
    for r in records:
        turns = answer_turns(r) if isinstance(r, dict) else []
        if turns and isinstance(turns[0], (str, dict)):
            try:
                texts.append(text_of(turns[0], "answer"))
            except RecordError:
                continue
    answers_lang = majority(lang.detect(texts[:SAMPLE])[0]) if texts else "und"
    by_lang = [p for p in tied if load_questions(p).language() == answers_lang]
    return by_lang[0] if len(by_lang) == 1 else None


class FastChatAnswer(Format):
    name = "fastchat_answer"
    summary = (
        "leaderboard answers (FastChat, arena-hard: choices[].turns; Taiwan-LLM: "
        "generated_text), joined with their question file"
    )
    consumed = frozenset({"choices", "generated_text", "tstamp", "answer_id", "text", "messages"})

    def matches(self, record: dict) -> bool:
        has_id = any(k in record for k in QUESTION_ID_KEYS)
        if has_id and isinstance(record.get("choices"), list):
            return True
        if has_id and "answer_id" in record and isinstance(record.get("text"), str):
            return True  # FastChat's older eval table: table/answer/answer_<model>.jsonl
        if "uid" in record and carries_prompt(record) and ("ans_id" in record or "model" in record):
            return True  # arena-hard v2
        return "generated_text" in record and "id" in record

    def converter(self, ctx: FormatContext) -> Converter:
        consumed = self.consumed
        error = ctx.questions_error
        questions = None
        if ctx.questions is not None:
            questions = load_questions(ctx.questions)
        elif error is None:  # converted outside ingest's planning: judge from the file's head
            resolution = resolve(ctx.path, None, head_records(ctx.path))
            error = resolution.error
            questions = load_questions(resolution.path) if resolution.path else None

        def convert(record: dict) -> Conversation:
            if carries_prompt(record):
                messages = turns_to_messages(record["messages"], ctx, "messages")
                meta = extract_meta(record, consumed) or {}
                if questions is not None:
                    key = question_key(record)
                    if key is not None and questions.find(key, False) is not None:
                        meta["question_file"] = questions.path.name
                return Conversation(messages, None, (), meta)
            if questions is None:
                raise RecordError("missing_question", error or "no question file")
            key, by_position = answer_key(record)
            question = questions.find(key, by_position) if key is not None else None
            if question is None:
                raise RecordError(
                    "missing_question", f"question {key} is not in {questions.path.name}"
                )
            answers = answer_turns(record)
            if not answers:
                raise RecordError(
                    "missing_field", "no answer turns (choices[0].turns or generated_text)"
                )
            messages = []
            for i, turn in enumerate(question.turns):
                messages.append((USER, turn))
                if i < len(answers):
                    messages.append((ASSISTANT, text_of(answers[i], f"answer turn {i}")))
            meta = extract_meta(record, consumed) or {}
            if question.category:
                meta.setdefault("category", question.category)
            meta["question_file"] = questions.path.name
            return Conversation(messages, None, (), meta)

        return convert


class Questions(Format):
    """A leaderboard's question file: prompt-only rows, unless answer files of the run join it."""

    name = "questions"
    summary = (
        "leaderboard question file (question_id|uid + turns): prompt-only rows; "
        "joined into the answer files that refer to it"
    )
    consumed = frozenset({"turns", "reference", "prompt", "text"})

    def matches(self, record: dict) -> bool:
        return (
            any(k in record for k in QUESTION_ID_KEYS)
            and "choices" not in record
            and question_turns(record) is not None
        )

    def converter(self, ctx: FormatContext) -> Converter:
        consumed = self.consumed
        joined_by = ctx.joined_by

        def convert(record: dict) -> Conversation:
            if joined_by:
                shown = ", ".join(joined_by[:3]) + (
                    f" and {len(joined_by) - 3} more" if len(joined_by) > 3 else ""
                )
                raise RecordError(
                    "joined_questions",
                    f"its questions are the user turns of the answers in {shown}, "
                    "which join this file",
                )
            turns = question_turns(record)
            if turns is None:
                raise RecordError("missing_field", "no question turns (turns, prompt or text)")
            messages = [(USER, turn) for turn in turns]
            return Conversation(messages, None, (), extract_meta(record, consumed))

        return convert
