"""The judge's prompt templates: presets, user files, placeholder checks, conversation fields."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from curate.errors import CurateError
from curate.judge.templates import (
    DEFAULT_PRESET,
    FIELDS,
    NO_HISTORY,
    PAIRWISE,
    POINTWISE,
    PRESETS,
    SHARED_PROMPT,
    UNKNOWN_LANGUAGE,
    conversation_fields,
    language_name,
    load_template,
    pairwise_fields,
)

CHAT = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "請問台北有幾個行政區？"},
    {"role": "assistant", "content": "台北市有十二個行政區。"},
    {"role": "user", "content": "列出它們，用 {json} 格式。"},
    {"role": "assistant", "content": "中正區、大同區、中山區……"},
]


def _values(kind):
    """A distinct marker per field, so a rendered prompt shows where each one went."""
    return {field: f"<<{field.upper()}>>" for field in FIELDS[kind]}


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_renders_every_placeholder_it_declares(name):
    template = load_template(name)
    kind, verdict = PRESETS[name]
    assert (template.kind, template.verdict) == (kind, verdict)
    # our presets use every field of their kind (a pairwise one: one prompt, or each side's)
    wanted = set(FIELDS[kind])
    if kind == "pairwise":
        wanted -= (
            {f"{f}_{s}" for f in SHARED_PROMPT for s in "ab"}
            if template.shared_prompt
            else set(SHARED_PROMPT)
        )
    assert set(template.placeholders) == wanted
    prompt = template.render(**_values(kind))
    for field in template.placeholders:
        assert f"<<{field.upper()}>>" in prompt
    assert not re.search(r"\{\w*\}", prompt), "a placeholder was left unfilled"
    assert "{{" not in prompt and "}}" not in prompt


def test_the_default_is_the_pointwise_rubric():
    assert DEFAULT_PRESET == "pointwise"
    template = load_template()
    prompt = template.render(**conversation_fields(CHAT), language=language_name("zh-Hant"))
    for criterion in ("Safety", "Correctness", "Instruction following", "Helpfulness"):
        assert criterion in prompt
    assert "Traditional Chinese (zh-Hant)" in prompt
    assert "Simplified" in prompt  # the script check is spelled out
    assert "[[n]]" in prompt and "LAST" in prompt
    # the template's own instructions hold no parseable example verdict
    assert template.parse(prompt).status == "no_verdict"
    assert template.parse("Correct and in Traditional script.\nRating: [[9]]").value == 9.0


def test_prometheus_presets_ask_for_result_on_1_to_5():
    for name in ("prometheus2", "m-prometheus"):
        template = load_template(name)
        prompt = template.render(**_values(POINTWISE))
        assert "[RESULT]" in prompt
        assert [f"Score {n}:" in prompt for n in range(1, 6)] == [True] * 5
        assert template.parse(prompt).status == "no_verdict"
        verdict = template.parse("Feedback: good. [RESULT] 4")
        assert (verdict.value, verdict.raw) == (7.75, 4.0)


def test_pairwise_prompt_labels_both_answers_and_its_rules():
    template = load_template("pairwise")
    a = CHAT[:-1] + [{"role": "assistant", "content": "ANSWER-ONE"}]
    b = CHAT[:-1] + [{"role": "assistant", "content": "ANSWER-TWO"}]
    prompt = template.render(**pairwise_fields(a, b, "zh-Hant", "zh-Hant"))
    assert prompt.index("[Reply A]") < prompt.index("ANSWER-ONE") < prompt.index("[End of reply A]")
    assert prompt.index("[Reply B]") < prompt.index("ANSWER-TWO") < prompt.index("[End of reply B]")
    assert "yourself" in prompt and "length" in prompt and "order" in prompt
    # the instruction line lists all three verdicts: echoing it is no verdict
    assert template.parse(prompt).status == "ambiguous"
    assert template.parse("A is wrong.\n[[B]]").value == "B"
    assert template.parse("[[tie]]").value == "C"


def test_multi_turn_history_and_last_reply():
    fields = conversation_fields(CHAT)
    assert fields["question"] == "列出它們，用 {json} 格式。"
    assert fields["answer"] == "中正區、大同區、中山區……"
    assert fields["history"].index("Be brief.") < fields["history"].index("台北市有十二個行政區")
    assert "列出它們" not in fields["history"]
    assert conversation_fields(CHAT[1:3])["history"] == NO_HISTORY
    # braces inside the conversation are inserted verbatim, never formatted
    prompt = load_template().render(**fields, language="x")
    assert "{json}" in prompt


@pytest.mark.parametrize(
    "messages",
    [[], [{"role": "user", "content": "hi"}], CHAT[:-1], [CHAT[0], CHAT[2]]],
)
def test_a_conversation_without_a_final_reply_is_an_error(messages):
    with pytest.raises(CurateError, match="end with a user turn and an assistant reply"):
        conversation_fields(messages)


def test_a_one_prompt_template_refuses_two_prompts():
    other = [{"role": "user", "content": "different"}, CHAT[-1]]
    fields = pairwise_fields(CHAT, other, "zh-Hant", "en")
    assert "question" not in fields and fields["question_b"] == "different"
    with pytest.raises(CurateError, match="different prompts: use the pairwise-cluster"):
        load_template("pairwise").render(**fields)


def test_the_cluster_template_shows_each_conversation_with_its_own_question():
    template = load_template("pairwise-cluster")
    assert template.kind == "pairwise" and not template.shared_prompt
    assert load_template("pairwise").shared_prompt
    other = [{"role": "user", "content": "QUESTION-TWO"}, {"role": "assistant", "content": "ANS-2"}]
    prompt = template.render(**pairwise_fields(CHAT, other, "zh-Hant", "ru"))
    assert prompt.index("列出它們") < prompt.index("[Reply A]") < prompt.index("中正區")
    assert prompt.index("[End of reply A]") < prompt.index("QUESTION-TWO") < prompt.index("ANS-2")
    assert "Traditional Chinese (zh-Hant)" in prompt and "Russian (ru)" in prompt
    assert "Be brief." in prompt  # conversation A's earlier turns
    assert template.parse(prompt).status == "ambiguous"  # the instructions are no verdict


def test_language_names():
    assert language_name("zh-Hant") == "Traditional Chinese (zh-Hant)"
    assert language_name("zh-Hans") == "Simplified Chinese (zh-Hans)"
    assert language_name("ru") == "Russian (ru)"
    assert language_name("pt-BR") == "pt-BR"
    for unknown in (None, "", "und", "other"):
        assert language_name(unknown) == UNKNOWN_LANGUAGE


def test_a_user_template_file(tmp_path):
    path = tmp_path / "mine.txt"
    path.write_text('Q: {question}\nA: {answer}\nJSON like {{"x": 1}}\nEnd with [[n]].', "utf-8")
    template = load_template(str(path))
    assert (template.kind, template.verdict, template.placeholders) == (
        POINTWISE,
        "rating",
        ("question", "answer"),
    )
    assert template.render(question="q?", answer="a.", language="unused") == (
        'Q: q?\nA: a.\nJSON like {"x": 1}\nEnd with [[n]].'
    )
    assert load_template(str(path), verdict="prometheus").parse("[RESULT] 5").value == 10.0

    pair = tmp_path / "pair.txt"
    pair.write_text("{question}\n1) {answer_a}\n2) {answer_b}\n", "utf-8")
    template = load_template(str(pair))
    assert (template.kind, template.verdict) == (PAIRWISE, "pairwise")
    assert template.render(question="q", answer_a="x", answer_b="y") == "q\n1) x\n2) y\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Rate {answr}: {answer}", r"unknown placeholder \{answr\}"),
        ("{answer} {0}", r"placeholder \{0\} is not allowed"),
        ("{answer} {}", r"placeholder \{\} is not allowed"),
        ("{answer.upper}", r"placeholder \{answer.upper\} is not allowed"),
        ("{answer!r}", r"placeholder \{answer!r\} is not allowed"),
        ("{answer:>10}", r"placeholder \{answer:>10\} is not allowed"),
        ("{answer} and a stray }", r"literal braces"),
        ("{answer} and {unclosed", r"literal braces"),
        ("Q: {question}", r"never shows \{answer\}"),
        ("{answer} vs {answer_a} {answer_b}", r"unknown placeholder \{answer\}"),
        ("{answer_a} only", r"never shows \{answer_b\}"),
        ("   \n", "is empty"),
    ],
)
def test_bad_templates_are_clear_errors(tmp_path, text, message):
    path = tmp_path / "bad.txt"
    path.write_text(text, "utf-8")
    with pytest.raises(CurateError, match=message):
        load_template(str(path))


def test_missing_values_and_unknown_sources_are_clear_errors(tmp_path):
    template = load_template("pairwise")
    with pytest.raises(CurateError, match=r"needs a text value for \{language\}, \{answer_b\}"):
        template.render(history="", question="q", answer_a="a", answer_b=None)
    with pytest.raises(CurateError, match="neither a preset"):
        load_template("no-such-preset")
    with pytest.raises(CurateError, match="unknown verdict format"):
        load_template("pointwise", verdict="stars")
    with pytest.raises(CurateError, match="is a pairwise template"):
        load_template("pairwise", verdict="rating")
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("{answer} caf\xe9".encode("latin-1"))
    with pytest.raises(CurateError, match="cannot read judge template"):
        load_template(str(latin1))


def test_importing_the_judge_stays_light():
    code = (
        "import sys, curate.judge.templates, curate.judge.parse\n"
        "heavy = {'numpy', 'torch', 'pyarrow', 'transformers', 'click', 'rich'} & set(sys.modules)\n"
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
