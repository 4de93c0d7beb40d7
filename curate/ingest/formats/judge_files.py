"""Files of the judging machinery, which hold no conversation: refused with a reason,
whatever their layout.

* ``judge_template``: prompt templates and rubrics (rows holding ``{question}``-style
  slots, a ``prompt_template``, or rubric fields such as ``score1_description``);
* ``judge_output``: a judge's verdicts and explanations without the answers themselves
  (FastChat single and pairwise judgments, arena-hard ``games`` and battles, Vicuna-style
  reviews, Prometheus feedback).

Both are listed before the generic prompt layouts in detection, whose tests their rows
would otherwise pass.
"""

from __future__ import annotations

import re

from curate.ingest.formats.base import Conversation, Converter, Format, FormatContext, RecordError


class Refused(Format):
    """A recognised layout that holds no conversation: every record is rejected with a reason."""

    reason = ""
    detail = ""

    def converter(self, ctx: FormatContext) -> Converter:
        reason, detail = self.reason, self.detail

        def convert(record: dict) -> Conversation:
            raise RecordError(reason, detail)

        return convert


# -- judge templates and rubrics --------------------------------------------------------

#: A template slot naming what a judge is shown: ``{question}``, ``{answer_a}``,
#: ``{ref_answer_1}``, ``{output_1}``, ``{orig_response}``, ``{{ instruction }}`` ...
JUDGE_PLACEHOLDER = re.compile(
    r"\{\{?\s*[a-z_]*(?:question|answer|response|instruction|reference|rubric|criteria"
    r"|output|conversation|completion|generation|prompt)[a-z_0-9]*\s*\}\}?"
)
TEMPLATE_KEYS = frozenset(
    {"prompt_template", "rubric", "rubrics", "score_rubric", "scoring_rubric", "criteria"}
)
SCORE_DESCRIPTION = re.compile(r"(?:^|_)score_?\d+_description$")
CONVERSATION_KEYS = frozenset(
    {"messages", "conversations", "conversation", "output", "response", "chosen", "completion"}
)


class JudgeTemplate(Refused):
    name = "judge_template"
    summary = (
        "judge prompt templates and rubrics ({question}-style slots, score descriptions): refused"
    )
    reason = "judge_template"
    detail = (
        "an LLM judge's prompt template or rubric (it holds {question}-style slots or "
        "score descriptions), not a conversation"
    )

    def matches(self, record: dict) -> bool:
        keys = record.keys()
        if any(SCORE_DESCRIPTION.search(str(k)) for k in keys):
            return True  # a rubric, or rows built from one (Prometheus' Feedback Collection)
        if not CONVERSATION_KEYS & keys and TEMPLATE_KEYS & keys:
            return True
        return any(
            isinstance(v, str) and "{" in v and JUDGE_PLACEHOLDER.search(v) for v in record.values()
        )


# -- judge outputs -------------------------------------------------------------------

JUDGE_OUTPUT_KEYS = frozenset(
    {
        "judgment",
        "judgement",
        "g1_judgment",
        "g1_winner",
        "games",
        "review",
        "reviewer_id",
        "critique",
        "judge_output",
        "raw_judgment",
        "verdict",
    }
)


#: A judge's explanation and grade kept beside what it judged (Prometheus'
#: ``gpt4_feedback`` + ``gpt4_score``, ``orig_feedback`` + ``orig_score``).
JUDGE_TEXT_KEY = re.compile(r"(?:^|_)(?:feedback|judgment|judgement|critique)$")
JUDGE_SCORE_KEY = re.compile(r"(?:^|_)(?:score|rating|grade)$")


class JudgeOutput(Refused):
    name = "judge_output"
    summary = "an LLM judge's verdicts (judgment, games, review, g1_winner ...): refused"
    reason = "judge_output"
    detail = (
        "a judge model's verdict and explanation (FastChat, arena-hard, Vicuna review ...), "
        "not an SFT conversation; the answers it judges are in the model-answer files"
    )

    def matches(self, record: dict) -> bool:
        keys = record.keys()
        if JUDGE_OUTPUT_KEYS & keys:
            return True
        if "winner" in keys and "model_a" in keys:  # a battle: the verdict without the answers
            return True
        names = [k for k in keys if isinstance(k, str)]
        return any(JUDGE_TEXT_KEY.search(k) for k in names) and any(
            JUDGE_SCORE_KEY.search(k) for k in names
        )
