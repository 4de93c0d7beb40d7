"""Judgment files whose verdicts become preference records.

A row that holds a prompt, two answers and a verdict becomes one preference record:
the chosen conversation, the rejected final answer, ``preference_tie`` on a tie (the
first answer is then kept as chosen), and in ``meta`` the generators of both answers
(``chosen_model``, ``rejected_model``), the ``judge``, and the verdict as given (under
its own field name: ``preference``, ``result``, ``labels`` ...; ``verdict`` for an arena
``winner``).

* :data:`PAIR_LAYOUTS`: two answer fields side by side (AlpacaEval annotations,
  rulm's left/right comparisons, JudgeLM, PKU-SafeRLHF, SHP, LMSYS arena exports);
* :class:`ArenaConversations`: two whole conversations (``conversation_a``/``_b``) and a
  ``winner`` (MT-Bench human judgments, Chatbot Arena); a vote on ``turn`` n compares
  the conversations up to their n-th answers;
* :class:`RankedAnswers`: one prompt with a list of scored or ranked answers
  (UltraFeedback's raw ``completions``, Nectar's ``answers``): best against worst.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from curate.flags import PREFERENCE_TIE_FLAG
from curate.ingest.formats.base import (
    ASSISTANT,
    USER,
    Conversation,
    Converter,
    Format,
    FormatContext,
    RecordError,
    compare_answers,
    extract_meta,
    first_key,
    require_str,
    text_of,
)
from curate.ingest.formats.chat import turns_to_messages
from curate.ingest.formats.transcripts import parse_transcript

A, B, TIE = "a", "b", "tie"
Verdict = Callable[[dict], str]


# -- two answers side by side ----------------------------------------------------------


@dataclass(frozen=True)
class PairLayout:
    """Where a layout keeps its prompt, its two answers and its verdict."""

    name: str
    summary: str
    answers: tuple[str, str]
    verdict: Verdict
    verdict_keys: tuple[str, ...]  # at least one must be present for the layout to match
    prompt_keys: tuple[str, ...] = ("instruction", "prompt", "question", "query")
    models: tuple[str, str] | None = None
    judge: str | None = None
    json_lists: bool = False  # prompt and answers are JSON-encoded lists of turns
    unwrap: Callable[[dict], dict] | None = None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return None if math.isnan(value) else float(value)


def alpaca_eval_verdict(record: dict) -> str:
    """``preference``: 1 or 2, or a float in [1, 2] (1.5 is a tie; AlpacaEval 1 wrote 0)."""
    value = record.get("preference")
    p = _number(value)
    if p is None:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            raise RecordError("missing_preference", "preference is null: the annotator gave none")
        raise RecordError("unknown_preference", f"preference {value!r} is not a number")
    if p == 0 or p == 1.5:
        return TIE
    if 1 <= p < 1.5:
        return A
    if 1.5 < p <= 2:
        return B
    raise RecordError("unknown_preference", f"preference {value!r} is outside [1, 2]")


def left_right_verdict(record: dict) -> str:
    result = record.get("result")
    if isinstance(result, str):
        value = result.strip().lower()
        if value in ("left", "a", "model_a", "1"):
            return A
        if value in ("right", "b", "model_b", "2"):
            return B
        if value in ("equal", "tie", "draw", "both", "none"):
            return TIE
        raise RecordError("unknown_preference", f"result {result!r} is not left/right/equal")
    return _grades(record, "left_grade", "right_grade")


def _grades(record: dict, a_key: str, b_key: str) -> str:
    a, b = _number(record.get(a_key)), _number(record.get(b_key))
    if a is None or b is None:
        raise RecordError(
            "missing_preference", f"no verdict and no {a_key}/{b_key} to pick the preferred answer"
        )
    return A if a > b else B if b > a else TIE


def winner_verdict(record: dict) -> str:
    """``winner``: model_a | model_b | tie | tie (bothbad), or 0/1 columns per outcome."""
    winner = record.get("winner")
    if isinstance(winner, str):
        value = winner.strip().lower()
        if value in ("model_a", "a", "1"):
            return A
        if value in ("model_b", "b", "2"):
            return B
        if value.startswith("tie") or value in ("draw", "equal"):
            return TIE
        raise RecordError("unknown_preference", f"winner {winner!r} is not model_a/model_b/tie")
    flags = [record.get(k) for k in ("winner_model_a", "winner_model_b", "winner_tie")]
    if any(_number(f) is not None for f in flags):
        if _number(flags[0]) == 1:
            return A
        if _number(flags[1]) == 1:
            return B
        if _number(flags[2]) == 1:
            return TIE
    raise RecordError("missing_preference", "no winner")


def score_pair_verdict(record: dict) -> str:
    """JudgeLM's ``score: [a, b]``."""
    score = record.get("score")
    if isinstance(score, list) and score and isinstance(score[0], list):
        score = score[0]
    if not isinstance(score, list) or len(score) != 2:
        raise RecordError("missing_preference", "score is not a pair [answer 1, answer 2]")
    a, b = _number(score[0]), _number(score[1])
    if a is None or b is None:
        raise RecordError("missing_preference", f"score {score!r} is not two numbers")
    return A if a > b else B if b > a else TIE


def index_verdict(key: str) -> Verdict:
    """The preferred answer's index (PKU-SafeRLHF's ``better_response_id``: 0 or 1)."""

    def verdict(record: dict) -> str:
        value = _number(record.get(key))
        if value == 0:
            return A
        if value == 1:
            return B
        raise RecordError("missing_preference", f"{key} is {record.get(key)!r}, not 0 or 1")

    return verdict


def label_verdict(record: dict) -> str:
    """SHP's ``labels``: 1 when answer A is preferred, 0 when B is."""
    value = _number(record.get("labels"))
    if value == 1:
        return A
    if value == 0:
        return B
    raise RecordError("missing_preference", f"labels is {record.get('labels')!r}, not 0 or 1")


def annotators_verdict(record: dict) -> str:
    """PandaLM's ``annotator1..3``: each 1 or 2 for the preferred response, 0 for a tie;
    the majority decides, and no majority is a tie."""
    votes = [_number(record.get(f"annotator{i}")) for i in (1, 2, 3)]
    votes = [v for v in votes if v is not None]
    if not votes:
        raise RecordError("missing_preference", "no annotator vote")
    a, b = votes.count(1), votes.count(2)
    return A if a > b and a > votes.count(0) else B if b > a and b > votes.count(0) else TIE


def toloka_task(record: dict) -> dict:
    """A crowd-sourcing task (rulm's Toloka export): ``input_values`` with the answer in
    ``output_values`` or ``known_solutions[0].output_values``."""
    inputs = record.get("input_values")
    if not isinstance(inputs, dict):
        return record
    outputs = record.get("output_values")
    solutions = record.get("known_solutions")
    if not isinstance(outputs, dict) and isinstance(solutions, list) and solutions:
        first = solutions[0]
        outputs = first.get("output_values") if isinstance(first, dict) else None
    rest = {k: v for k, v in record.items() if k not in ("input_values", "output_values")}
    return {**rest, **inputs, **(outputs if isinstance(outputs, dict) else {})}


PAIR_LAYOUTS = (
    PairLayout(
        "alpaca_eval_annotations",
        "AlpacaEval annotations: instruction, output_1/output_2, preference (1, 2, 1.5 = tie)",
        ("output_1", "output_2"),
        alpaca_eval_verdict,
        ("preference",),
        models=("generator_1", "generator_2"),
        judge="annotator",
    ),
    PairLayout(
        "pairwise",
        "instruction + left_answer/right_answer with result (left|right|equal) or "
        "left_grade/right_grade (also inside Toloka's input_values)",
        ("left_answer", "right_answer"),
        left_right_verdict,
        ("result", "left_grade", "known_solutions", "output_values"),
        models=("left_model", "right_model"),
        unwrap=toloka_task,
    ),
    PairLayout(
        "judgelm",
        "JudgeLM: question_body, answer1_body/answer2_body, score [a, b]",
        ("answer1_body", "answer2_body"),
        score_pair_verdict,
        ("score",),
        prompt_keys=("question_body",),
        models=("answer1_model_id", "answer2_model_id"),
    ),
    PairLayout(
        "arena_pairs",
        "LMSYS arena exports: prompt, response_a/response_b (JSON lists of turns), "
        "winner or winner_model_a/b/tie",
        ("response_a", "response_b"),
        winner_verdict,
        ("winner", "winner_model_a"),
        models=("model_a", "model_b"),
        judge="judge",
        json_lists=True,
    ),
    PairLayout(
        "pandalm",
        "PandaLM: instruction, input, response1/response2, annotator1..3 votes (0 = tie)",
        ("response1", "response2"),
        annotators_verdict,
        ("annotator1",),
    ),
    PairLayout(
        "pku_saferlhf",
        "PKU-SafeRLHF: prompt, response_0/response_1, better_response_id",
        ("response_0", "response_1"),
        index_verdict("better_response_id"),
        ("better_response_id",),
    ),
    PairLayout(
        "shp",
        "Stanford SHP: history (the post), human_ref_A/human_ref_B, labels",
        ("human_ref_A", "human_ref_B"),
        label_verdict,
        ("labels",),
        prompt_keys=("history",),
    ),
)


def _json_turns(value: Any, what: str) -> list[str]:
    """A JSON-encoded list of strings (``'["hi", "more"]'``), or a plain string as one turn."""
    if isinstance(value, str) and value.startswith("["):
        try:
            decoded = orjson.loads(value)
        except orjson.JSONDecodeError:
            return [value]
        if isinstance(decoded, list) and all(isinstance(t, str) or t is None for t in decoded):
            return ["" if t is None else t for t in decoded]
    if isinstance(value, list):
        return [text_of(t, f"{what}[{i}]") for i, t in enumerate(value)]
    return [require_str(value, what)]


class PairedAnswers(Format):
    """One :class:`PairLayout` as a format."""

    def __init__(self, layout: PairLayout):
        self.layout = layout
        self.name, self.summary = layout.name, layout.summary
        extra = (*layout.answers, *layout.prompt_keys, "input", "input_values", "output_values")
        self.consumed = frozenset(extra)

    def matches(self, record: dict) -> bool:
        layout = self.layout
        if layout.unwrap is not None:
            record = layout.unwrap(record)
        return all(k in record for k in layout.answers) and (
            any(k in record for k in layout.verdict_keys)
        )

    def converter(self, ctx: FormatContext) -> Converter:
        layout, consumed = self.layout, self.consumed

        def convert(record: dict) -> Conversation:
            if layout.unwrap is not None:
                record = layout.unwrap(record)
            key = first_key(record, layout.prompt_keys)
            if key is None:
                raise RecordError("missing_field", f"no {'/'.join(layout.prompt_keys)} field")
            side = layout.verdict(record)
            chosen_i, rejected_i = (1, 0) if side == B else (0, 1)
            if layout.json_lists:
                prompts = _json_turns(record[key], key)
                answers = [_json_turns(record[k], k) for k in layout.answers]
                chosen = _interleave(prompts, answers[chosen_i])
                other = _interleave(prompts, answers[rejected_i])
                rejected, flags = compare_answers(chosen, other)
            else:
                prompt = require_str(record[key], key)
                extra = record.get("input")
                if isinstance(extra, str) and extra:
                    prompt = f"{prompt}\n\n{extra}" if prompt else extra
                texts = [require_str(record.get(k), k) for k in layout.answers]
                chosen = [(USER, prompt), (ASSISTANT, texts[chosen_i])]
                rejected, flags = texts[rejected_i], ()
            if side == TIE:
                flags = (*flags, PREFERENCE_TIE_FLAG)
            meta = extract_meta(record, consumed) or {}
            meta.update(_provenance(record, layout.models, layout.judge, chosen_i))
            return Conversation(chosen, rejected, flags, meta)

        return convert


def _interleave(prompts: list[str], answers: list[str]) -> list[tuple[str, str]]:
    messages = []
    for i, prompt in enumerate(prompts):
        messages.append((USER, prompt))
        if i < len(answers):
            messages.append((ASSISTANT, answers[i]))
    return messages


def _provenance(
    record: dict, models: tuple[str, str] | None, judge: str | None, chosen: int
) -> dict[str, Any]:
    """Who wrote the chosen and the rejected answer, and who judged them."""
    out: dict[str, Any] = {}
    if models is not None:
        names = [record.get(k) for k in models]
        if isinstance(names[chosen], str):
            out["chosen_model"] = names[chosen]
        if isinstance(names[1 - chosen], str):
            out["rejected_model"] = names[1 - chosen]
    if judge is not None and isinstance(record.get(judge), (str, int, float)):
        out["judge"] = record[judge]
    return out


# -- two whole conversations ------------------------------------------------------------


class ArenaConversations(Format):
    name = "arena_conversations"
    summary = (
        "arena-style judgments: conversation_a/conversation_b with model_a/model_b and winner "
        "(MT-Bench human judgments, Chatbot Arena)"
    )
    consumed = frozenset({"conversation_a", "conversation_b", "winner"})

    def matches(self, record: dict) -> bool:
        return isinstance(record.get("conversation_a"), list) and "conversation_b" in record

    def converter(self, ctx: FormatContext) -> Converter:
        consumed = self.consumed

        def convert(record: dict) -> Conversation:
            side = winner_verdict(record)
            chosen_i = 1 if side == B else 0
            sides = [
                turns_to_messages(record.get(k), ctx, k)
                for k in ("conversation_a", "conversation_b")
            ]
            turn = record.get("turn")
            if isinstance(turn, int) and not isinstance(turn, bool) and turn >= 1:
                sides = [first_turns(side, turn) for side in sides]  # the turn the vote is on
            chosen, other = sides[chosen_i], sides[1 - chosen_i]
            rejected, flags = compare_answers(chosen, other)
            if side == TIE:
                flags = (*flags, PREFERENCE_TIE_FLAG)
            meta = extract_meta(record, consumed) or {}
            meta["verdict"] = record.get("winner")
            meta.update(_provenance(record, ("model_a", "model_b"), "judge", chosen_i))
            return Conversation(chosen, rejected, flags, meta)

        return convert


def first_turns(messages: list[tuple[str, str]], turns: int) -> list[tuple[str, str]]:
    """The messages up to and including the ``turns``-th assistant message: a vote on
    turn 1 of a two-turn conversation compares the first answers only."""
    seen = 0
    for i, (role, _) in enumerate(messages):
        if role == ASSISTANT:
            seen += 1
            if seen == turns:
                return messages[: i + 1]
    return messages


# -- one prompt, many scored answers ---------------------------------------------------

_ANSWER_LISTS = ("completions", "answers", "responses")
_ANSWER_TEXT = ("response", "answer", "text", "content", "output")
_HIGHER_BETTER = ("overall_score", "score", "rating", "reward")
_LOWER_BETTER = ("rank",)


class RankedAnswers(Format):
    name = "ranked_answers"
    summary = (
        "one prompt with scored or ranked answers (UltraFeedback completions[].overall_score, "
        "Nectar answers[].rank): the best against the worst"
    )
    consumed = frozenset({"instruction", "prompt", "question", *_ANSWER_LISTS})

    def matches(self, record: dict) -> bool:
        key = first_key(record, _ANSWER_LISTS)
        if key is None or first_key(record, ("instruction", "prompt", "question")) is None:
            return False
        answers = record[key]
        return (
            isinstance(answers, list)
            and bool(answers)
            and isinstance(answers[0], dict)
            and first_key(answers[0], _ANSWER_TEXT) is not None
            and first_key(answers[0], (*_HIGHER_BETTER, *_LOWER_BETTER)) is not None
        )

    def converter(self, ctx: FormatContext) -> Converter:
        consumed = self.consumed

        def convert(record: dict) -> Conversation:
            key = first_key(record, ("instruction", "prompt", "question"))
            prompt = require_str(record.get(key), key)
            if prompt.lstrip().startswith("Human:") or "\n\nHuman:" in prompt:
                history = parse_transcript(prompt, key)  # Nectar: an HH transcript
                if history and history[-1][0] == ASSISTANT and not history[-1][1].strip():
                    history = history[:-1]
            else:
                history = [(USER, prompt)]
            scored = _scored(record[first_key(record, _ANSWER_LISTS)])
            if not scored:
                raise RecordError("missing_preference", "no answer has a score or a rank")
            best, worst = scored[0], scored[-1]
            flags: tuple[str, ...] = ()
            if len(scored) < 2:
                rejected = None
            else:
                rejected = worst[2]
                if best[0] == worst[0]:
                    flags = (PREFERENCE_TIE_FLAG,)
            meta = extract_meta(record, consumed) or {}
            if best[1] is not None:
                meta["chosen_model"] = best[1]
            if rejected is not None and worst[1] is not None:
                meta["rejected_model"] = worst[1]
            return Conversation([*history, (ASSISTANT, best[2])], rejected, flags, meta)

        return convert


def _scored(answers: list) -> list[tuple[float, str | None, str]]:
    """(goodness, model, text) of the answers that carry a score, best first (stable)."""
    out = []
    for i, answer in enumerate(answers):
        if not isinstance(answer, dict):
            continue
        text_key = first_key(answer, _ANSWER_TEXT)
        if text_key is None:
            continue
        higher = first_key(answer, _HIGHER_BETTER)
        lower = first_key(answer, _LOWER_BETTER) if higher is None else None
        value = _number(answer.get(higher or lower)) if (higher or lower) else None
        if value is None:
            continue
        goodness = value if higher else -value
        model = answer.get("model")
        text = text_of(answer[text_key], f"answers[{i}].{text_key}")
        out.append((goodness, model if isinstance(model, str) else None, text))
    out.sort(key=lambda a: -a[0])
    return out
