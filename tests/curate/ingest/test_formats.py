from pathlib import Path

import pytest

from curate.ingest import formats
from curate.ingest.formats import FormatContext, RecordError
from tests.conftest import write_jsonl

CTX = FormatContext(Path("x.jsonl"))


def convert(record, name=None, ctx=CTX):
    fmt = formats.get(name) if name else formats.detect([record])
    return fmt.name, fmt.converter(ctx)(record)


def test_sharegpt_roles_system_and_meta():
    name, conv = convert(
        {
            "id": "c1",
            "system": "Be brief.",
            "conversations": [
                {"from": "human", "value": "hi"},
                {"from": "gpt", "value": "hello"},
                {"from": "USER", "value": "more"},
                {"from": "chatgpt", "value": "sure"},
            ],
        }
    )
    assert name == "sharegpt"
    assert conv.messages == [
        ("system", "Be brief."),
        ("user", "hi"),
        ("assistant", "hello"),
        ("user", "more"),
        ("assistant", "sure"),
    ]
    assert conv.meta == {"id": "c1"}


def test_sharegpt_preference_with_dict_and_string_answers():
    rec = {
        "conversations": [{"from": "human", "value": "q"}],
        "chosen": {"from": "gpt", "value": "good"},
        "rejected": {"from": "gpt", "value": "bad"},
    }
    assert (
        convert(rec)[1].messages[-1] == ("assistant", "good") and convert(rec)[1].rejected == "bad"
    )
    rec = {"conversations": [{"from": "human", "value": "q"}], "chosen": "good", "rejected": "bad"}
    assert convert(rec)[1].rejected == "bad"


def test_tool_turns_are_refused():
    rec = {
        "conversations": [{"from": "human", "value": "q"}, {"from": "function_call", "value": "{}"}]
    }
    with pytest.raises(RecordError) as err:
        convert(rec)
    assert err.value.reason == "tool_call"
    rec = {
        "messages": [
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": None, "tool_calls": [{"id": "1"}]},
        ]
    }
    with pytest.raises(RecordError, match="tool_call"):
        convert(rec)


def test_unknown_role_and_role_map():
    rec = {"messages": [{"role": "user", "content": "q"}, {"role": "char", "content": "a"}]}
    with pytest.raises(RecordError) as err:
        convert(rec)
    assert err.value.reason == "unknown_role" and "--role char=" in err.value.detail
    ctx = FormatContext(Path("x"), role_map={"char": "assistant"})
    assert convert(rec, ctx=ctx)[1].messages[-1] == ("assistant", "a")


def test_openai_content_parts_and_kto_label():
    rec = {
        "messages": [
            {
                "role": "user",
                "content": [{"type": "text", "text": "a"}, {"type": "text", "value": "b"}],
            },
            {"role": "assistant", "content": "c"},
        ],
        "label": False,
    }
    name, conv = convert(rec)
    assert (
        name == "messages"
        and conv.messages[0] == ("user", "a\nb")
        and conv.flags == ("undesirable",)
    )
    with pytest.raises(RecordError) as err:
        convert(
            {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]}
        )
    assert err.value.reason == "non_text_content"
    with pytest.raises(RecordError) as err:
        convert({"messages": [{"role": "user", "content": 42}]})
    assert err.value.reason == "non_string_content"


def test_preference_messages_and_v1_layout():
    rec = {
        "prompt": "q",
        "chosen": [{"role": "assistant", "content": "good"}],
        "rejected": [{"role": "assistant", "content": "bad"}],
    }
    name, conv = convert(rec)
    assert name == "preference_messages"
    assert conv.messages == [("user", "q"), ("assistant", "good")] and conv.rejected == "bad"
    rec = {
        "chosen_messages": [
            {"role": "user", "content": [{"type": "text", "value": "q"}]},
            {"role": "assistant", "content": [{"type": "text", "value": "good"}]},
        ],
        "rejected_messages": [
            {"role": "user", "content": [{"type": "text", "value": "q"}]},
            {"role": "assistant", "content": [{"type": "text", "value": "bad"}]},
        ],
    }
    assert convert(rec)[1].rejected == "bad" and convert(rec)[1].flags == ()


def test_alpaca_with_input_history_system():
    rec = {
        "instruction": "Translate",
        "input": "bonjour",
        "output": "hello",
        "system": "S",
        "history": [["q0", "a0"]],
        "category": "mt",
    }
    name, conv = convert(rec)
    assert name == "alpaca"
    assert conv.messages == [
        ("system", "S"),
        ("user", "q0"),
        ("assistant", "a0"),
        ("user", "Translate\n\nbonjour"),
        ("assistant", "hello"),
    ]
    assert conv.meta == {"category": "mt"}
    assert convert({"instruction": "i", "output": "o", "history": ""})[1].messages == [
        ("user", "i"),
        ("assistant", "o"),
    ]
    with pytest.raises(RecordError) as err:
        convert({"instruction": "i", "output": "o", "history": [["only one"]]})
    assert err.value.reason == "bad_history"


def test_alpaca_aliases_ranked_output_and_missing_output():
    assert convert({"question": "q", "answer": "a"})[1].messages == [
        ("user", "q"),
        ("assistant", "a"),
    ]
    conv = convert({"instruction": "q", "input": "", "output": ["best", "worse"], "history": []})[1]
    assert conv.messages[-1] == ("assistant", "best") and conv.rejected == "worse"
    alpaca = formats.get("alpaca").converter(CTX)
    with pytest.raises(RecordError) as err:
        alpaca({"instruction": "q", "input": ""})
    assert err.value.reason == "missing_field"
    with pytest.raises(RecordError) as err:
        alpaca({"instruction": "q", "output": None})
    assert err.value.reason == "missing_field"


def test_self_instruct_seed_instances():
    rec = {
        "instruction": "q",
        "instances": [{"input": "", "output": "a"}],
        "is_classification": False,
    }
    assert convert(rec)[1].messages == [("user", "q"), ("assistant", "a")]
    with pytest.raises(RecordError) as err:
        convert({**rec, "instances": [{"output": "a"}, {"output": "b"}]})
    assert err.value.reason == "unsupported_instances"


def test_prompt_only():
    name, conv = convert({"act": "Linux terminal", "prompt": "I want you to act as a terminal"})
    assert name == "prompt_only" and conv.messages == [("user", "I want you to act as a terminal")]
    assert conv.meta == {"act": "Linux terminal"}


def test_pairwise_by_result_and_by_grade():
    base = {"instruction": "q", "input": "", "left_answer": "L", "right_answer": "R"}
    conv = convert({**base, "result": "right"})[1]
    assert conv.messages[-1] == ("assistant", "R") and conv.rejected == "L"
    conv = convert({**base, "left_grade": 9.5, "right_grade": 8})[1]
    assert conv.messages[-1] == ("assistant", "L") and conv.rejected == "R"
    conv = convert({**base, "result": "equal"})[1]
    assert conv.flags == ("preference_tie",)


def test_hh_transcripts():
    rec = {
        "chosen": "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: joke?\n\nAssistant: sure",
        "rejected": "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: joke?\n\nAssistant: no",
    }
    name, conv = convert(rec)
    assert name == "hh"
    assert conv.messages == [
        ("user", "hi"),
        ("assistant", "hello"),
        ("user", "joke?"),
        ("assistant", "sure"),
    ]
    assert conv.rejected == "no" and conv.flags == ()
    rec["rejected"] = "\n\nHuman: other\n\nAssistant: no"
    assert convert(rec)[1].flags == ("rejected_prefix_differs",)


def test_moss_unframes_and_refuses_plugin_calls():
    turn = {
        "Human": "<|Human|>: 你好<eoh>\n",
        "Inner Thoughts": "<|Inner Thoughts|>: None<eot>\n",
        "Commands": "<|Commands|>: None<eoc>\n",
        "Tool Responses": "<|Results|>:\nNone\n<eor>\n",
        "MOSS": "<|MOSS|>: 你好！有什么可以帮你？<eom>\n",
    }
    rec = {
        "conversation_id": 1,
        "meta_instruction": "You are MOSS.",
        "num_turns": 1,
        "chat": {"turn_1": turn},
    }
    name, conv = convert(rec)
    assert name == "moss"
    assert conv.messages == [
        ("system", "You are MOSS."),
        ("user", "你好"),
        ("assistant", "你好！有什么可以帮你？"),
    ]
    plugin = {**turn, "Commands": '<|Commands|>: Search("weather")<eoc>\n'}
    with pytest.raises(RecordError) as err:
        convert({**rec, "chat": {"turn_1": plugin}})
    assert err.value.reason == "tool_call"


def test_squad_question():
    name, conv = convert(
        {"context": "C", "question": "Q", "answers": [{"text": "A"}], "title": "T"}
    )
    assert name == "squad" and conv.messages == [("user", "C\n\nQ"), ("assistant", "A")]
    with pytest.raises(RecordError) as err:
        convert({"context": "C", "question": "Q", "answers": []}, "squad")
    assert err.value.reason == "no_answer"


def test_fastchat_answers_join_their_question_file(tmp_path):
    bench = tmp_path / "bench"
    write_jsonl(
        bench / "question.jsonl", [{"question_id": 1, "category": "writing", "turns": ["q1", "q2"]}]
    )
    answers = write_jsonl(
        bench / "model_answer" / "m.jsonl",
        [
            {"question_id": 1, "model_id": "m", "choices": [{"index": 0, "turns": ["a1", "a2"]}]},
            {"question_id": 9, "model_id": "m", "choices": [{"index": 0, "turns": ["x"]}]},
        ],
    )
    fmt = formats.get("fastchat_answer")
    convert_fn = fmt.converter(FormatContext(answers))
    conv = convert_fn(
        {"question_id": 1, "model_id": "m", "choices": [{"index": 0, "turns": ["a1", "a2"]}]}
    )
    assert conv.messages == [
        ("user", "q1"),
        ("assistant", "a1"),
        ("user", "q2"),
        ("assistant", "a2"),
    ]
    assert conv.meta["category"] == "writing" and conv.meta["model_id"] == "m"
    with pytest.raises(RecordError) as err:
        convert_fn({"question_id": 9, "choices": [{"turns": ["x"]}]})
    assert err.value.reason == "missing_question"


def test_fastchat_picks_question_file_by_name_then_language(tmp_path):
    bench = tmp_path / "bench"
    write_jsonl(
        bench / "question_en.jsonl",
        [{"question_id": 1, "turns": ["What is the capital of France?"]}],
    )
    write_jsonl(
        bench / "question_ru.jsonl", [{"question_id": 1, "turns": ["Какая столица Франции?"]}]
    )
    answer = {"question_id": 1, "choices": [{"turns": ["Столица Франции - Париж."]}]}
    by_name = write_jsonl(bench / "model_answer" / "mt_bench_en_model.jsonl", [answer])
    by_lang = write_jsonl(bench / "model_answer" / "saiga.jsonl", [answer])
    fmt = formats.get("fastchat_answer")
    assert fmt.converter(FormatContext(by_name))(answer).messages[0] == (
        "user",
        "What is the capital of France?",
    )
    assert fmt.converter(FormatContext(by_lang))(answer).messages[0] == (
        "user",
        "Какая столица Франции?",
    )


def test_refused_and_unrecognised_layouts():
    for rec, reason in [
        ({"question_id": 1, "judgment": "[[5]]", "user_prompt": "..."}, "judge_output"),
        ({"name": "pair", "prompt_template": "...", "system_prompt": "..."}, "judge_template"),
        ({"foo": 1, "bar": 2}, "unrecognized_schema"),
    ]:
        with pytest.raises(RecordError) as err:
            convert(rec)
        assert err.value.reason == reason


def test_detection_majority_and_tie_order():
    recs = [{"instruction": "q", "output": "a"}] * 5 + [{"instruction": "only prompt"}]
    assert formats.detect(recs).name == "alpaca"
    assert formats.detect([{"context": "c", "question": "q", "answers": []}]).name == "squad"
    with pytest.raises(Exception, match="unknown --format"):
        formats.get("nope")
