"""FastChat / MT-Bench layouts.

An answer file (``model_answer/*.jsonl``, ``reference_answer_*.jsonl``) holds only
the model's side. Its conversations are formed by joining each answer with its
question in the benchmark's ``question*.jsonl``: user turn i is question turn i,
assistant turn i is answer turn i. Two answer schemas are read:

* ``{question_id, model_id, choices: [{turns: [...]}]}`` (FastChat), joined on ``question_id``;
* ``{id, generated_text, model_name}`` (Taiwan-LLM bench), joined on the question's
  ``index`` field (or its position in the question file).

The question file is found beside the answer file or one directory up. When there
are several (``question_en.jsonl``, ``question_ru.jsonl``), the one whose name
suffix appears in the answer file's name wins, else the one whose language matches
the answers; ``--questions FILE`` overrides the search.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson

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
    require_str,
)

SAMPLE = 20


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
        by_id: dict[str, Question] = {}
        by_index: dict[int, Question] = {}
        position = 0
        for line in path.read_bytes().split(b"\n"):
            if not line.strip():
                continue
            try:
                rec = orjson.loads(line)
            except orjson.JSONDecodeError:
                position += 1
                continue
            turns = rec.get("turns") if isinstance(rec, dict) else None
            if isinstance(turns, list) and all(isinstance(t, str) for t in turns):
                q = Question(tuple(turns), rec.get("category"))
                if "question_id" in rec:
                    by_id[str(rec["question_id"])] = q
                by_index[int(rec["index"]) if isinstance(rec.get("index"), int) else position] = q
            position += 1
        return cls(path, by_id, by_index)

    def language(self) -> str:
        texts = [q.turns[0] for q in list(self.by_index.values())[:SAMPLE] if q.turns]
        return majority(lang.detect(texts)[0]) if texts else "und"


@lru_cache(maxsize=64)
def load_questions(path: Path) -> QuestionFile:
    return QuestionFile.load(path)


def majority(values: list[str]) -> str:
    return Counter(values).most_common(1)[0][0] if values else "und"


def candidate_question_files(answer_path: Path) -> list[Path]:
    dirs = [answer_path.parent, answer_path.parent.parent]
    return sorted(
        {p for d in dirs for p in d.glob("question*.jsonl") if p.resolve() != answer_path.resolve()}
    )


def _answer_texts(path: Path) -> list[str]:
    from curate.ingest.readers import open_reader

    texts: list[str] = []
    with open_reader(path) as reader:
        for item in reader:
            rec = item.value
            if isinstance(rec, dict):
                text = _answers(rec)[0] if _answers(rec) else None
                if isinstance(text, str):
                    texts.append(text)
            if len(texts) >= SAMPLE:
                break
    return texts


def choose_question_file(answer_path: Path, given: Path | None) -> QuestionFile:
    if given is not None:
        return load_questions(given)
    candidates = candidate_question_files(answer_path)
    if not candidates:
        raise RecordError(
            "missing_question",
            f"no FastChat question file (question*.jsonl) beside or above {answer_path.name}; "
            "pass --questions FILE",
        )
    if len(candidates) == 1:
        return load_questions(candidates[0])
    tokens = set(re.split(r"[_\-.\s]+", answer_path.stem.lower()))
    by_suffix = [
        p
        for p in candidates
        if (s := p.stem[len("question") :].strip("_-").lower()) and s in tokens
    ]
    if len(by_suffix) == 1:
        return load_questions(by_suffix[0])
    answers_lang = majority(lang.detect(_answer_texts(answer_path))[0])
    by_lang = [p for p in candidates if load_questions(p).language() == answers_lang]
    if len(by_lang) == 1:
        return load_questions(by_lang[0])
    names = ", ".join(p.name for p in candidates)
    raise RecordError(
        "missing_question",
        f"cannot tell which question file ({names}) {answer_path.name} answers; pass --questions FILE",
    )


def _answers(record: dict) -> list[Any]:
    choices = record.get("choices")
    if isinstance(choices, list):
        if choices and isinstance(choices[0], dict) and isinstance(choices[0].get("turns"), list):
            return choices[0]["turns"]
        return []
    if "generated_text" in record:
        return [record["generated_text"]]
    return []


class FastChatAnswer(Format):
    name = "fastchat_answer"
    summary = "FastChat/MT-Bench answers (choices[].turns or generated_text), joined with their question file"
    consumed = frozenset({"choices", "generated_text", "tstamp", "answer_id"})

    def matches(self, record: dict) -> bool:
        return ("question_id" in record and isinstance(record.get("choices"), list)) or (
            "generated_text" in record and "id" in record
        )

    def converter(self, ctx: FormatContext) -> Converter:
        consumed = self.consumed
        try:
            questions: QuestionFile | RecordError = choose_question_file(ctx.path, ctx.questions)
        except RecordError as exc:
            questions = exc

        def convert(record: dict) -> Conversation:
            if isinstance(questions, RecordError):
                raise questions
            if "choices" in record:
                key = str(record.get("question_id"))
                question = questions.by_id.get(key)
            else:
                key = str(record.get("id"))
                question = questions.by_index.get(int(key)) if key.lstrip("-").isdigit() else None
            if question is None:
                raise RecordError(
                    "missing_question", f"question {key} is not in {questions.path.name}"
                )
            answers = _answers(record)
            if not answers:
                raise RecordError(
                    "missing_field", "no answer turns (choices[0].turns or generated_text)"
                )
            messages = []
            for i, turn in enumerate(question.turns):
                messages.append((USER, turn))
                if i < len(answers):
                    messages.append((ASSISTANT, require_str(answers[i], f"answer turn {i}")))
            meta = extract_meta(record, consumed) or {}
            if question.category:
                meta.setdefault("category", question.category)
            meta["question_file"] = questions.path.name
            return Conversation(messages, None, (), meta)

        return convert


class Refused(Format):
    """A recognised layout that holds no conversation: every record is rejected with a reason."""

    def __init__(
        self,
        name: str,
        summary: str,
        keys: tuple[str, ...],
        absent: tuple[str, ...],
        reason: str,
        detail: str,
    ):
        self.name, self.summary = name, summary
        self._keys, self._absent = keys, absent
        self._reason, self._detail = reason, detail

    def matches(self, record: dict) -> bool:
        return all(k in record for k in self._keys) and not any(k in record for k in self._absent)

    def converter(self, ctx: FormatContext) -> Converter:
        reason, detail = self._reason, self._detail

        def convert(record: dict) -> Conversation:
            raise RecordError(reason, detail)

        return convert


FASTCHAT_QUESTIONS = Refused(
    "fastchat_questions",
    "FastChat question file: prompts that answer files refer to (refused on its own)",
    ("question_id", "turns"),
    ("choices",),
    "questions_only",
    "FastChat question file: its conversations are formed from the answer files that reference it",
)
FASTCHAT_JUDGMENTS = Refused(
    "fastchat_judgments",
    "FastChat judge outputs (judgment, score): refused",
    ("question_id", "judgment"),
    (),
    "judge_output",
    "FastChat judgment record (a judge model's verdict, not an SFT conversation)",
)
JUDGE_PROMPTS = Refused(
    "judge_prompts",
    "LLM-judge prompt templates (prompt_template, system_prompt): refused",
    ("prompt_template", "system_prompt"),
    (),
    "judge_template",
    "LLM-judge prompt template, not a conversation",
)
