"""The judge's verdict parsers: real GPT-4 judgments, and one hand-made case per rule."""

from __future__ import annotations

import json
import math

import pytest

from curate.judge.parse import (
    AMBIGUOUS,
    NO_VERDICT,
    OK,
    OUT_OF_RANGE,
    expected_rating,
    parse_pairwise,
    parse_prometheus,
    parse_rating,
    prometheus_to_10,
    rating_position,
)


def _jsonl(path):
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


# -- real judge outputs -------------------------------------------------------------------


def test_mtbench_gpt4_single_judgments_parse_to_the_recorded_score(shared_data):
    rows = _jsonl(shared_data / "mtbench_en" / "judgment_gpt-4_single_from_MT-Bench-X.jsonl")
    assert len(rows) == 12
    for row in rows:
        verdict = parse_rating(row["judgment"])
        assert verdict.status == OK, row["judgment"][-200:]
        assert verdict.value == row["score"]
        assert verdict.match.startswith("[[")


def test_fastchat_judge_prompts_restating_the_format_are_not_verdicts(shared_data):
    """A judge that echoes FastChat's pairwise instruction has given no verdict."""
    prompts = _jsonl(shared_data / "mtbench_en" / "judge_prompts.jsonl")
    pair = [p for p in prompts if p["output_format"] == "[[A]]"]
    assert len(pair) == 4
    for prompt in pair:
        # '"[[A]]" if assistant A is better, "[[B]]" if ..., and "[[C]]" for a tie.'
        assert parse_pairwise(prompt["system_prompt"]).status == AMBIGUOUS


def test_rulm_gpt4_comparison_explanations_hold_no_verdict(shared_data):
    """rulm's GPT-4 grades were a JSON tail ``{"a_score", "b_score"}`` that its script cut off.

    ``explanation`` is the prose before that JSON, and the grades are in their own fields;
    the prose says things like "I would rate Assistant A at 9 and Assistant B at 10". A
    strict parser must find no verdict there, rather than guess one from free text.
    """
    rows = _jsonl(shared_data / "rulm_ru" / "saicuna_vs_vicuna.jsonl")
    assert len(rows) == 176
    for row in rows:
        assert isinstance(row["left_grade"], float) and isinstance(row["right_grade"], float)
        assert parse_rating(row["explanation"]).status == NO_VERDICT
        assert parse_prometheus(row["explanation"]).status == NO_VERDICT
        assert parse_pairwise(row["explanation"]).status == NO_VERDICT
    # the recorded grades (0-10, decimals such as 9.2 and 9.5) written as [[g]] read back as is;
    # on our 1-10 scale the zeros GPT-4 gave there are flagged, not clipped to 1
    grades = [g for r in rows for g in (r["left_grade"], r["right_grade"])]
    for grade in grades:
        assert parse_rating(f"[[{grade:g}]]", low=0, high=10).value == grade
        want = OUT_OF_RANGE if grade == 0 else OK
        assert parse_rating(f"Rating: [[{grade:g}]]").status == want
    assert grades.count(0.0) == 6


# -- [[n]] ratings ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Good answer.\nRating: [[8]]", 8.0),
        ("[[ 8 ]]", 8.0),
        ("Rating: [[7.5]]", 7.5),
        ("[[10]]", 10.0),
        ("[[1]] is the worst", 1.0),
    ],
)
def test_rating_forms(text, value):
    verdict = parse_rating(text)
    assert (verdict.status, verdict.value, verdict.raw) == (OK, value, value)


def test_last_rating_wins_over_a_restated_format():
    text = 'I must answer as "Rating: [[5]]".\nThe reply is fine but terse.\nRating: [[7]]'
    verdict = parse_rating(text)
    assert (verdict.status, verdict.value, verdict.match) == (OK, 7.0, "[[7]]")


def test_two_different_ratings_on_the_final_line_are_ambiguous():
    verdict = parse_rating("Overall: [[6]] or maybe [[8]]")
    assert (verdict.status, verdict.value) == (AMBIGUOUS, None)
    # the same rating twice on one line is not ambiguous
    assert parse_rating("[[6]] ... so [[6]]").value == 6.0
    # different ratings on different lines: the last line wins
    assert parse_rating("[[3]]\n[[6]]").value == 6.0


@pytest.mark.parametrize("text", ["Rating: [[11]]", "[[0]]", "[[-2]]", "[[10.5]]"])
def test_out_of_range_ratings_are_flagged_not_clipped(text):
    verdict = parse_rating(text)
    assert verdict.status == OUT_OF_RANGE
    assert verdict.value is None
    assert verdict.raw == float(text[text.index("[[") + 2 : text.index("]]")])


@pytest.mark.parametrize(
    "text",
    ["", "The answer is good, 8/10.", "Rating: [[rating]]", "[8]", "[[eight]]", "[[8/10]]", None],
)
def test_garbage_has_no_verdict(text):
    verdict = parse_rating(text)
    assert (verdict.status, verdict.value, verdict.match) == (NO_VERDICT, None, None)


def test_a_custom_scale_is_respected():
    assert parse_rating("[[4]]", low=1, high=5).status == OK
    assert parse_rating("[[6]]", low=1, high=5).status == OUT_OF_RANGE


# -- Prometheus ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "raw"),
    [
        ("Feedback: accurate and complete. [RESULT] 5", 5.0),
        ("Feedback: weak.\n[RESULT]: 2", 2.0),
        ("Feedback: ok [RESULT] (3)", 3.0),
        ("Feedback: poor [RESULT] 1", 1.0),
    ],
)
def test_prometheus_result(text, raw):
    verdict = parse_prometheus(text)
    assert (verdict.status, verdict.raw) == (OK, raw)
    assert verdict.value == pytest.approx(1 + (raw - 1) * 9 / 4)


def test_prometheus_mapping_and_range():
    assert [prometheus_to_10(r) for r in (1, 2, 3, 4, 5)] == [1.0, 3.25, 5.5, 7.75, 10.0]
    assert parse_prometheus("[RESULT] 6").status == OUT_OF_RANGE
    assert parse_prometheus("[RESULT] 0").raw == 0.0
    assert parse_prometheus("Feedback: fine. Score: 4").status == NO_VERDICT
    assert parse_prometheus("[RESULT] (an integer between 1 and 5)").status == NO_VERDICT
    assert parse_prometheus("[RESULT] 2\n[RESULT] 4").value == 7.75
    assert parse_prometheus("[RESULT] 2 [RESULT] 4").status == AMBIGUOUS
    # a Prometheus reply has no [[n]] rating, and a [[n]] reply no [RESULT]
    assert parse_rating("Feedback: x [RESULT] 4").status == NO_VERDICT
    assert parse_prometheus("Rating: [[4]]").status == NO_VERDICT


# -- pairwise -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("B misses the point.\n[[A]]", "A"),
        ("[[b]]", "B"),
        ("Both equal. [[C]]", "C"),
        ("Both equal. [[Tie]]", "C"),
        ("[[ tie ]]", "C"),
        ('Format: "[[A]]", "[[B]]" or "[[C]]".\nMy verdict: [[B]]', "B"),
    ],
)
def test_pairwise_forms(text, value):
    verdict = parse_pairwise(text)
    assert (verdict.status, verdict.value) == (OK, value)


def test_pairwise_failures():
    assert parse_pairwise("[[A]] or [[B]], hard to say").status == AMBIGUOUS
    assert parse_pairwise("[[C]] ... I mean [[tie]]").value == "C"  # both spell a tie
    assert parse_pairwise("Assistant A is better.").status == NO_VERDICT
    assert parse_pairwise("[[D]]").status == NO_VERDICT
    assert parse_pairwise("Rating: [[8]]").status == NO_VERDICT
    assert parse_rating("[[A]]").status == NO_VERDICT


# -- logprobs -----------------------------------------------------------------------------


def test_expected_rating_renormalizes_over_valid_tokens():
    dist = {"8": math.log(0.3), "9": math.log(0.1), "[": math.log(0.5), "eleven": -1.0}
    assert expected_rating(dist) == pytest.approx((8 * 0.3 + 9 * 0.1) / 0.4)


def test_expected_rating_shapes_and_spellings():
    pairs = [("7", math.log(0.25)), (" 7", math.log(0.25)), ("10", math.log(0.5))]
    want = (7 * 0.5 + 10 * 0.5) / 1.0
    assert expected_rating(pairs) == pytest.approx(want)
    openai = [{"token": t, "logprob": lp, "bytes": None} for t, lp in pairs]
    assert expected_rating(openai) == pytest.approx(want)
    assert expected_rating({"5": 0.0}) == 5.0


def test_expected_rating_ignores_out_of_scale_tokens_and_returns_none_without_any():
    assert expected_rating({"0": 0.0, "11": 0.0, "4": math.log(0.1)}) == pytest.approx(4.0)
    assert expected_rating({"0": 0.0, "11": 0.0, "x": -0.1}) is None
    assert expected_rating({}) is None
    assert expected_rating({"8": float("-inf")}) is None
    assert expected_rating({"٨": 0.0}) is None  # a non-ASCII digit is not a rating token
    assert expected_rating({"6": 0.0, "3": 0.0}, low=1, high=5) == 3.0


def test_rating_position():
    assert rating_position(["Good", ".", " Rating", ":", " [[", "8", "]]"]) == 5
    assert rating_position(["[", "[", " 7", "]]"]) == 2
    assert rating_position(["[[", " ", "9", "]]"]) == 2  # the digit, not the space before it
    # the last [[ wins, as in the parsers
    assert rating_position(["e.g. [[", "5", "]]", "\n", "Rating: [[", "3", "]]"]) == 5
    assert rating_position(["[[8", "]]"]) is None  # digit glued to the brackets
    assert rating_position(["[[", "A", "]]"]) is None
    assert rating_position(["no", " verdict"]) is None
    assert rating_position([]) is None
