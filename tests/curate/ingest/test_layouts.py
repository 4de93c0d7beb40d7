"""Evaluation, judgment and multi-turn layouts of issue 14, each from a hand-written
fixture that follows the public layout it is named after, ingested end to end."""

from __future__ import annotations

import os

import orjson
import pytest

from curate.errors import StageConflict
from curate.ingest.pipeline import IngestOptions, Ingestor
from curate.store import Store
from tests.conftest import write_json, write_jsonl


def ingest(tmp_path, inputs, **options):
    """Ingest ``inputs`` into a fresh store; (result, base rows by file name, rejects)."""
    store = tmp_path / f"store{len(list(tmp_path.glob('store*')))}"
    result = Ingestor([str(p) for p in inputs], store, IngestOptions(**options), workers=0).run()
    assert all(f.balanced for f in result.files)
    opened = Store.open(store)
    rows: dict[str, list[dict]] = {}
    for row in opened.read().to_pylist():
        rows.setdefault(row["source"]["file"].rsplit("/", 1)[-1], []).append(row)
    for file_rows in rows.values():
        file_rows.sort(key=lambda r: r["source"]["index"])
    return result, rows, opened.rejects().to_pylist()


def turns(row) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in row["messages"]]


def meta(row) -> dict:
    return orjson.loads(row["meta"]) if row["meta"] else {}


# -- 1. leaderboard answer files joined with their question files -----------------------

ARENA_QUESTIONS = [
    {
        "question_id": "q1",
        "category": "arena-hard-v0.1",
        "cluster": "Python",
        "turns": [{"content": "Write a Python function that reverses a string."}],
    },
    {
        "question_id": "q2",
        "category": "arena-hard-v0.1",
        "cluster": "Math",
        "turns": [{"content": "What is 17 * 23?"}],
    },
]
ARENA_ANSWERS = [
    {
        "question_id": "q1",
        "answer_id": "a1",
        "model_id": "gpt-4-0314",
        "choices": [
            {"index": 0, "turns": [{"content": "def rev(s):\n    return s[::-1]", "token_len": 12}]}
        ],
        "tstamp": 1712000000.0,
    },
    {
        "question_id": "q2",
        "answer_id": "a2",
        "model_id": "gpt-4-0314",
        "choices": [{"index": 0, "turns": [{"content": {"answer": "17 * 23 = 391."}}]}],
        "tstamp": 1712000001.0,
    },
]


def test_arena_hard_answers_join_questions_one_level_up(tmp_path):
    bench = tmp_path / "arena-hard-v0.1"
    write_jsonl(bench / "question.jsonl", ARENA_QUESTIONS)
    write_jsonl(bench / "model_answer" / "gpt-4-0314.jsonl", ARENA_ANSWERS)
    result, rows, rejects = ingest(tmp_path, [bench])
    answers = rows["gpt-4-0314.jsonl"]
    assert [turns(r) for r in answers] == [
        [
            ("user", "Write a Python function that reverses a string."),
            ("assistant", "def rev(s):\n    return s[::-1]"),
        ],
        [("user", "What is 17 * 23?"), ("assistant", "17 * 23 = 391.")],
    ]
    assert meta(answers[0])["question_file"] == "question.jsonl"
    assert meta(answers[0])["category"] == "arena-hard-v0.1"
    # the question file joins the answers of this run: not ingested again on its own
    assert "question.jsonl" not in rows
    by_file = {f.file.rsplit("/", 1)[-1]: f for f in result.files}
    assert dict(by_file["question.jsonl"].rejected) == {"joined_questions": 2}
    assert by_file["gpt-4-0314.jsonl"].questions.endswith("arena-hard-v0.1/question.jsonl")
    assert all(r["reason"] == "joined_questions" for r in rejects)


def test_explicit_questions_file_with_content_turns(tmp_path):
    write_jsonl(tmp_path / "qs" / "arena_questions.jsonl", ARENA_QUESTIONS)
    answers = write_jsonl(tmp_path / "answers" / "model.jsonl", ARENA_ANSWERS)
    _, rows, rejects = ingest(
        tmp_path, [answers], questions=str(tmp_path / "qs" / "arena_questions.jsonl")
    )
    assert len(rows["model.jsonl"]) == 2 and not rejects


def test_several_question_files_join_by_id_and_report_the_match(tmp_path):
    bench = tmp_path / "ru_arena"
    write_jsonl(
        bench / "question.jsonl",
        [{"question_id": 101, "turns": [{"content": "Как дела?"}]}],
    )
    write_jsonl(
        bench / "question_hard.jsonl",
        [
            {"question_id": 7, "turns": [{"content": "Объясни теорему Пифагора."}]},
            {"question_id": 8, "turns": ["Напиши стихотворение о море."]},
        ],
    )
    write_jsonl(
        bench / "model_answer" / "saiga.jsonl",
        [
            {"question_id": 7, "model_id": "saiga", "choices": [{"turns": ["a² + b² = c²."]}]},
            {"question_id": 8, "model_id": "saiga", "choices": [{"turns": ["Шумит волна..."]}]},
        ],
    )
    result, rows, _ = ingest(tmp_path, [bench / "model_answer" / "saiga.jsonl"])
    assert [turns(r)[0][1] for r in rows["saiga.jsonl"]] == [
        "Объясни теорему Пифагора.",
        "Напиши стихотворение о море.",
    ]
    assert result.files[0].questions.endswith("question_hard.jsonl")


def test_translated_question_files_with_the_same_ids(tmp_path):
    bench = tmp_path / "mt_bench_ru"
    write_jsonl(bench / "question_en.jsonl", [{"question_id": 1, "turns": ["Name a colour."]}])
    write_jsonl(bench / "question_ru.jsonl", [{"question_id": 1, "turns": ["Назови цвет."]}])
    answer = {"question_id": 1, "model_id": "m", "choices": [{"turns": ["Красный."]}]}
    write_jsonl(bench / "model_answer" / "mt_bench_en_model.jsonl", [answer])
    write_jsonl(bench / "model_answer" / "saiga.jsonl", [answer])
    result, rows, _ = ingest(tmp_path, [bench])
    assert turns(rows["mt_bench_en_model.jsonl"][0])[0] == ("user", "Name a colour.")  # by name
    assert turns(rows["saiga.jsonl"][0])[0] == ("user", "Назови цвет.")  # by language
    by_file = {f.file.rsplit("/", 1)[-1]: f for f in result.files}
    assert dict(by_file["question_en.jsonl"].rejected) == {"joined_questions": 1}
    assert dict(by_file["question_ru.jsonl"].rejected) == {"joined_questions": 1}


def test_answers_without_their_question_are_rejected_with_the_reason(tmp_path):
    bench = tmp_path / "b"
    write_jsonl(bench / "question.jsonl", [{"question_id": 1, "turns": ["q"]}])
    write_jsonl(
        bench / "model_answer" / "m.jsonl",
        [{"question_id": 99, "model_id": "m", "choices": [{"turns": ["a"]}]}],
    )
    result, _, rejects = ingest(tmp_path, [bench / "model_answer" / "m.jsonl"])
    assert [r["reason"] for r in rejects] == ["missing_question"]
    assert "question.jsonl" in rejects[0]["detail"] and "--questions" in rejects[0]["detail"]


# -- 2. prompt files on their own ----------------------------------------------------------


@pytest.mark.parametrize(
    "record",
    [
        {"question_id": 81, "category": "writing", "turns": ["Write a haiku.", "Now in Russian."]},
        {"question_id": "q1", "category": "hard", "turns": [{"content": "Write a haiku."}]},
        {"instruction": "Write a haiku."},
    ],
    ids=["fastchat", "arena-hard", "prompt-file"],
)
def test_a_question_file_alone_ingests_as_prompts(tmp_path, record):
    path = write_jsonl(tmp_path / "question.jsonl", [record])
    _, rows, rejects = ingest(tmp_path, [path])
    (row,) = rows["question.jsonl"]
    assert not rejects
    assert {role for role, _ in turns(row)} == {"user"}
    assert turns(row)[0][1] == "Write a haiku."
    assert "no_assistant" in row["flags"]


# -- 3. pairwise judgments with a verdict ------------------------------------------------


def alpaca_eval(preference, n=0):
    return {
        "instruction": f"Name three primary colours ({n}).",
        "output_1": "Red, yellow and blue.",
        "generator_1": "gpt4_1106_preview",
        "output_2": "Green.",
        "generator_2": "llama-2-7b-chat",
        "annotator": "weighted_alpaca_eval_gpt4_turbo",
        "preference": preference,
        "price_per_example": 0.01,
    }


def test_alpaca_eval_annotations_become_preference_records(tmp_path):
    path = write_json(
        tmp_path / "annotations.json",
        [alpaca_eval(p, n) for n, p in enumerate([1, 2, 1.5, 1.2, None])],
    )
    _, rows, rejects = ingest(tmp_path, [path])
    first, second, tie, soft = rows["annotations.json"]
    assert turns(first)[-1] == ("assistant", "Red, yellow and blue.")
    assert first["rejected"] == "Green."
    assert (
        meta(first).items()
        >= {
            "chosen_model": "gpt4_1106_preview",
            "rejected_model": "llama-2-7b-chat",
            "judge": "weighted_alpaca_eval_gpt4_turbo",
        }.items()
    )
    assert (
        turns(second)[-1] == ("assistant", "Green.")
        and second["rejected"] == "Red, yellow and blue."
    )
    assert meta(second)["chosen_model"] == "llama-2-7b-chat"
    assert "preference_tie" in tie["flags"] and "preference_tie" not in first["flags"]
    assert turns(soft)[-1][1] == "Red, yellow and blue."  # 1.2: output_1 preferred
    assert [r["reason"] for r in rejects] == ["missing_preference"]
    assert first["format"] == "alpaca_eval_annotations"


def arena(winner, turn_two=False, n=0):
    question = ["Кто написал «Войну и мир»?", "Кто написал «Анну Каренину»?"][n]
    a = [
        {"role": "user", "content": question},
        {"role": "assistant", "content": "Лев Толстой."},
    ]
    b = [
        {"role": "user", "content": question},
        {"role": "assistant", "content": "Достоевский."},
    ]
    if turn_two:
        a += [{"role": "user", "content": "Когда?"}, {"role": "assistant", "content": "В 1860-х."}]
        b += [{"role": "user", "content": "Когда?"}, {"role": "assistant", "content": "Не знаю."}]
    return {
        "question_id": "x1",
        "model_a": "gpt-4",
        "model_b": "vicuna-13b",
        "winner": winner,
        "judge": "expert_12",
        "conversation_a": a,
        "conversation_b": b,
        "turn": 2 if turn_two else 1,
    }


def test_arena_human_judgments_become_preference_records(tmp_path):
    path = write_jsonl(
        tmp_path / "human.jsonl",
        [arena("model_a"), arena("model_b"), arena("tie (bothbad)", n=1), arena("model_a", True)],
    )
    _, rows, rejects = ingest(tmp_path, [path])
    a, b, tie, multi = rows["human.jsonl"]
    assert not rejects
    assert turns(a)[-1] == ("assistant", "Лев Толстой.") and a["rejected"] == "Достоевский."
    assert meta(a)["chosen_model"] == "gpt-4" and meta(a)["judge"] == "expert_12"
    assert turns(b)[-1] == ("assistant", "Достоевский.") and meta(b)["chosen_model"] == "vicuna-13b"
    assert "preference_tie" in tie["flags"] and meta(tie)["verdict"] == "tie (bothbad)"
    assert len(multi["messages"]) == 4 and multi["rejected"] == "Не знаю."
    assert "rejected_prefix_differs" in multi["flags"]  # turn 2 follows another turn-1 answer
    assert a["lang"] == "ru"


# -- 4. multi-turn layouts ---------------------------------------------------------------


def test_mt_bench_101_history(tmp_path):
    path = write_jsonl(
        tmp_path / "mtbench101.jsonl",
        [
            {
                "task": "CM",
                "id": 1,
                "history": [
                    {"user": "我叫小明。", "bot": "你好，小明！"},
                    {"user": "我叫什么？", "bot": "你叫小明。"},
                ],
            }
        ],
    )
    _, rows, _ = ingest(tmp_path, [path])
    assert turns(rows["mtbench101.jsonl"][0]) == [
        ("user", "我叫小明。"),
        ("assistant", "你好，小明！"),
        ("user", "我叫什么？"),
        ("assistant", "你叫小明。"),
    ]


def test_firefly_conversation_pairs(tmp_path):
    path = write_jsonl(
        tmp_path / "firefly.jsonl",
        [
            {
                "conversation_id": 44,
                "category": "Brainstorming",
                "conversation": [
                    {"human": "怎么减肥？", "assistant": "少吃多动。"},
                    {"human": "具体点。", "assistant": "每天走一万步。"},
                ],
                "dataset": "moss",
            }
        ],
    )
    _, rows, _ = ingest(tmp_path, [path])
    row = rows["firefly.jsonl"][0]
    assert [r for r, _ in turns(row)] == ["user", "assistant", "user", "assistant"]
    assert turns(row)[3] == ("assistant", "每天走一万步。")
    assert meta(row)["category"] == "Brainstorming"


@pytest.mark.parametrize("key", ["dialog", "dialogue", "turns"])
def test_alternating_string_dialogues(tmp_path, key):
    path = write_jsonl(
        tmp_path / "dd.jsonl",
        [{key: ["Hi, how are you?", "Fine, thanks.", "Great!"], "emotion": [0, 0, 4]}],
    )
    _, rows, _ = ingest(tmp_path, [path])
    assert turns(rows["dd.jsonl"][0]) == [
        ("user", "Hi, how are you?"),
        ("assistant", "Fine, thanks."),
        ("user", "Great!"),
    ]


@pytest.mark.parametrize(
    "record",
    [
        {"messages": [{"role": "用户", "content": "你好"}, {"role": "助手", "content": "您好！"}]},
        {"messages": [{"role": "Human", "content": "hi"}, {"role": "model", "content": "hello"}]},
        {"conversations": [{"from": "user", "value": "привет"}, {"from": "bot", "value": "да"}]},
        {
            "conversation": [
                {"role": "使用者", "content": "嗨"},
                {"role": "助理", "content": "您好"},
            ]
        },
    ],
    ids=["zh-roles", "human-model", "bot", "zh-tw-roles"],
)
def test_role_names_of_the_field(tmp_path, record):
    path = write_jsonl(tmp_path / "roles.jsonl", [record])
    _, rows, rejects = ingest(tmp_path, [path])
    assert not rejects
    assert [r for r, _ in turns(rows["roles.jsonl"][0])] == ["user", "assistant"]


def test_map_takes_list_indices_and_role_maps_turn_keys(tmp_path):
    path = write_jsonl(
        tmp_path / "qa.jsonl",
        [{"turns": [{"content": "Сколько будет 2+2?"}], "reply": {"text": "4"}, "pairs": 1}],
    )
    _, rows, _ = ingest(
        tmp_path, [path], field_map={"instruction": "turns.0.content", "output": "reply.text"}
    )
    assert turns(rows["qa.jsonl"][0]) == [("user", "Сколько будет 2+2?"), ("assistant", "4")]

    path = write_jsonl(
        tmp_path / "pairs.jsonl", [{"history": [{"q": "Что такое ДНК?", "otvet": "Молекула."}]}]
    )
    _, _, rejects = ingest(tmp_path, [path])
    assert rejects[0]["reason"] == "unknown_role" and "--role otvet=" in rejects[0]["detail"]
    _, rows, _ = ingest(tmp_path, [path], role_map={"otvet": "assistant"})
    assert turns(rows["pairs.jsonl"][0]) == [("user", "Что такое ДНК?"), ("assistant", "Молекула.")]


# -- 5. UltraFeedback-style rows ---------------------------------------------------------


def ultrafeedback(score_chosen, score_rejected, n=0):
    prompt = f"Explain photosynthesis in one sentence ({n})."
    return {
        "prompt": prompt,
        "prompt_id": "abc",
        "chosen": [
            {"role": "user", "content": prompt},
            {"role": "assistant", "content": "Plants turn light, water and CO2 into sugar."},
        ],
        "rejected": [
            {"role": "user", "content": prompt},
            {"role": "assistant", "content": "It is a plant thing."},
        ],
        "messages": [
            {"role": "user", "content": prompt},
            {"role": "assistant", "content": "Plants turn light, water and CO2 into sugar."},
        ],
        "score_chosen": score_chosen,
        "score_rejected": score_rejected,
    }


def test_ultrafeedback_prompt_is_not_added_twice(tmp_path):
    path = write_jsonl(tmp_path / "uf.jsonl", [ultrafeedback(8.0, 4.0), ultrafeedback(7.0, 7.0, 1)])
    _, rows, _ = ingest(tmp_path, [path])
    best, tie = rows["uf.jsonl"]
    assert [r for r, _ in turns(best)] == ["user", "assistant"]
    assert best["rejected"] == "It is a plant thing."
    assert "preference_tie" not in best["flags"] and "preference_tie" in tie["flags"]
    assert "rejected_prefix_differs" not in best["flags"]


# -- 6. transcripts inside one instruction -----------------------------------------------

TRANSCRIPTS = [
    {
        "instruction": "Human:推荐一本书。\nAssistant:《活着》。\nHuman:为什么？\nAssistant:",
        "input": "",
        "output": "因为它讲述了坚韧。",
    },
    {"instruction": "<user>: Привет! <bot>: Здравствуйте! <user>: Как дела?", "output": "Хорошо."},
    {"instruction": "User: What is 2+2?\nAssistant: 4.\nUser: And 3+3?", "output": "6."},
    {"instruction": "用户：你好\n助手：你好！\n用户：讲个笑话", "output": "好的……"},
    # ambiguous: text before the first marker, so it is flagged but not split
    {"instruction": "Continue the chat.\nUser: hi\nAssistant: hello", "output": "User: bye"},
    {"instruction": "What does 'Human:' mean in a transcript?", "output": "A speaker label."},
]


def test_embedded_transcripts_are_flagged(tmp_path):
    path = write_jsonl(tmp_path / "belle.jsonl", TRANSCRIPTS)
    _, rows, _ = ingest(tmp_path, [path])
    flagged = ["embedded_turns" in r["flags"] for r in rows["belle.jsonl"]]
    assert flagged == [True, True, True, True, True, False]
    assert all(len(r["messages"]) == 2 for r in rows["belle.jsonl"])


def test_split_embedded_turns(tmp_path):
    path = write_jsonl(tmp_path / "belle.jsonl", TRANSCRIPTS)
    _, rows, _ = ingest(tmp_path, [path], split_embedded_turns=True)
    belle, angle, user, chinese, ambiguous, plain = rows["belle.jsonl"]
    assert turns(belle) == [
        ("user", "推荐一本书。"),
        ("assistant", "《活着》。"),
        ("user", "为什么？"),
        ("assistant", "因为它讲述了坚韧。"),
    ]
    assert turns(angle) == [
        ("user", "Привет!"),
        ("assistant", "Здравствуйте!"),
        ("user", "Как дела?"),
        ("assistant", "Хорошо."),
    ]
    assert [r for r, _ in turns(user)] == ["user", "assistant", "user", "assistant"]
    assert turns(chinese)[2] == ("user", "讲个笑话")
    for row in (belle, angle, user, chinese):
        assert "split_turns" in row["flags"] and "embedded_turns" not in row["flags"]
    assert len(ambiguous["messages"]) == 2 and "embedded_turns" in ambiguous["flags"]
    assert plain["flags"] == []


# -- 7. files that are not data -----------------------------------------------------------


def test_judge_templates_and_rubrics_are_refused(tmp_path):
    templates = write_jsonl(
        tmp_path / "judge_prompts.jsonl",
        [
            {
                "name": "single-v1",
                "type": "single",
                "prompt": "[Question]\n{question}\n\n[The Start of Assistant's Answer]\n{answer}\n[The End]",
                "output_format": "[[rating]]",
            },
            {"name": "pair", "prompt": "Compare {answer_a} and {answer_b} for {question}."},
        ],
    )
    rubrics = write_json(
        tmp_path / "rubrics.json",
        [
            {
                "criteria": "Is the answer factually correct?",
                "score1_description": "Mostly wrong.",
                "score5_description": "Fully correct.",
            }
        ],
    )
    result, rows, rejects = ingest(tmp_path, [templates, rubrics])
    assert not rows
    assert {r["reason"] for r in rejects} == {"judge_template"}
    assert len(rejects) == 3


def test_judge_outputs_of_other_layouts_are_refused(tmp_path):
    pair = write_jsonl(
        tmp_path / "gpt-4_pair.jsonl",
        [
            {
                "question_id": 81,
                "model_1": "alpaca-13b",
                "model_2": "gpt-3.5-turbo",
                "g1_winner": "model_2",
                "g2_winner": "model_2",
                "judge": ["gpt-4", "pair-v2"],
                "g1_user_prompt": "[User Question] ...",
                "g1_judgment": "... [[B]]",
                "turn": 1,
            }
        ],
    )
    games = write_jsonl(
        tmp_path / "judgment.jsonl",
        [
            {
                "question_id": "q1",
                "model": "llama",
                "judge": "gpt-4-1106-preview",
                "games": [{"user_prompt": "...", "judgment": "... [[A>B]]", "score": "A>B"}],
            }
        ],
    )
    _, rows, rejects = ingest(tmp_path, [pair, games])
    assert not rows and [r["reason"] for r in rejects] == ["judge_output", "judge_output"]


def test_a_code_record_with_braces_is_still_data(tmp_path):
    records = [
        {"instruction": f"Fix this f-string {i}", "output": "print(f'{answer}')"} for i in range(3)
    ] + [{"instruction": f"Say hi {i}", "output": "hi"} for i in range(5)]
    path = write_jsonl(tmp_path / "code.jsonl", records)
    _, rows, rejects = ingest(tmp_path, [path])
    assert len(rows["code.jsonl"]) == 8 and not rejects


# -- beyond the list: layouts a user of these files brings along ------------------------


def test_ranked_and_multiple_choice_and_aliased_answers(tmp_path):
    ranked = write_jsonl(
        tmp_path / "ultrafeedback_raw.jsonl",
        [
            {
                "source": "evol_instruct",
                "instruction": "Give a synonym of 'happy'.",
                "completions": [
                    {"model": "a", "response": "Glad.", "overall_score": 8.5},
                    {"model": "b", "response": "Sad.", "overall_score": 2.0},
                    {"model": "c", "response": "Joyful.", "overall_score": 7.0},
                ],
            }
        ],
    )
    choice = write_jsonl(
        tmp_path / "ceval.jsonl",
        [{"id": 0, "question": "1+1=?", "A": "1", "B": "2", "C": "3", "D": "4", "answer": "B"}],
    )
    aliased = write_jsonl(
        tmp_path / "math.jsonl",
        [{"problem": "Solve x+1=2.", "level": "Level 1", "solution": "x = 1."}],
    )
    unlabelled = write_jsonl(
        tmp_path / "two_outputs.jsonl",
        [{"instruction": "Say hi.", "output_1": "hi", "output_2": "hello"}],
    )
    _, rows, rejects = ingest(tmp_path, [ranked, choice, aliased, unlabelled])
    row = rows["ultrafeedback_raw.jsonl"][0]
    assert turns(row)[-1] == ("assistant", "Glad.") and row["rejected"] == "Sad."
    assert meta(row)["chosen_model"] == "a" and meta(row)["rejected_model"] == "b"
    assert turns(rows["ceval.jsonl"][0]) == [
        ("user", "1+1=?\nA. 1\nB. 2\nC. 3\nD. 4"),
        ("assistant", "B"),
    ]
    assert turns(rows["math.jsonl"][0]) == [("user", "Solve x+1=2."), ("assistant", "x = 1.")]
    # two answers and no verdict: not a bare prompt with the answers thrown away
    assert [r["reason"] for r in rejects] == ["unrecognized_schema"]


@pytest.mark.parametrize(
    ("record", "chosen", "rejected", "tie"),
    [
        (
            {
                "prompt": "\n\nHuman: Name a fruit.\n\nAssistant:",
                "answers": [
                    {"answer": "Pear.", "model": "m1", "rank": 2.0},
                    {"answer": "Apple.", "model": "m2", "rank": 1.0},
                    {"answer": "Rock.", "model": "m3", "rank": 3.0},
                ],
                "turns": 1,
            },
            "Apple.",
            "Rock.",
            False,
        ),
        (
            {
                "id": 30192,
                "model_a": "gpt-4",
                "model_b": "llama-2",
                "prompt": '["Name a fruit."]',
                "response_a": '["Apple."]',
                "response_b": '["Rock."]',
                "winner_model_a": 0,
                "winner_model_b": 0,
                "winner_tie": 1,
            },
            "Apple.",
            "Rock.",
            True,
        ),
        (
            {
                "prompt": "Name a fruit.",
                "response_0": "Rock.",
                "response_1": "Apple.",
                "better_response_id": 1,
                "safer_response_id": 1,
            },
            "Apple.",
            "Rock.",
            False,
        ),
        (
            {
                "post_id": "x",
                "history": "Name a fruit.",
                "human_ref_A": "Apple.",
                "human_ref_B": "Rock.",
                "labels": 1,
            },
            "Apple.",
            "Rock.",
            False,
        ),
        (
            {
                "question_id": 3,
                "question_body": "Name a fruit.",
                "answer1_body": "Rock.",
                "answer2_body": "Apple.",
                "answer1_model_id": "m1",
                "answer2_model_id": "m2",
                "score": [[2.0, 9.0]],
                "text": "2 9\nAssistant 2 names a fruit.",
            },
            "Apple.",
            "Rock.",
            False,
        ),
    ],
    ids=["nectar", "lmsys-arena-export", "pku-saferlhf", "shp", "judgelm"],
)
def test_other_verdict_layouts(tmp_path, record, chosen, rejected, tie):
    path = write_jsonl(tmp_path / "pairs.jsonl", [record])
    _, rows, rejects = ingest(tmp_path, [path])
    assert not rejects
    (row,) = rows["pairs.jsonl"]
    assert turns(row) == [("user", "Name a fruit."), ("assistant", chosen)]
    assert row["rejected"] == rejected
    assert ("preference_tie" in row["flags"]) == tie


# -- what the zoo of public files turned up ----------------------------------------------


def test_a_preference_record_never_collapses_into_the_same_sft_row(tmp_path):
    outputs = write_json(
        tmp_path / "model_outputs.json",
        [{"instruction": "Name three primary colours (0).", "output": "Red, yellow and blue."}],
    )
    annotations = write_json(tmp_path / "zz_annotations.json", [alpaca_eval(1, 0)])
    result, rows, _ = ingest(tmp_path, [outputs, annotations])
    (sft,), (pair,) = rows["model_outputs.json"], rows["zz_annotations.json"]
    assert sft["rejected"] is None and pair["rejected"] == "Green."
    assert sft["id"] != pair["id"] and sft["prompt_id"] == pair["prompt_id"]


def test_a_vote_on_turn_one_compares_the_first_answers(tmp_path):
    first, second = arena("model_a", True), arena("model_b", True)
    first["turn"], second["turn"] = 1, 2
    path = write_jsonl(tmp_path / "human.jsonl", [first, second])
    _, rows, _ = ingest(tmp_path, [path])
    one, two = rows["human.jsonl"]
    assert len(one["messages"]) == 2 and one["rejected"] == "Достоевский."
    assert "rejected_prefix_differs" not in one["flags"]
    assert len(two["messages"]) == 4 and two["rejected"] == "В 1860-х."


def test_arena_hard_v2_answers_carry_their_prompt(tmp_path):
    bench = tmp_path / "arena-hard-v2.0"
    write_jsonl(
        bench / "question.jsonl",
        [{"uid": "u1", "category": "hard_prompt", "subcategory": "code", "prompt": "Sort a list."}],
    )
    write_jsonl(
        bench / "model_answer" / "o3-mini.jsonl",
        [
            {
                "uid": "u1",
                "ans_id": "x",
                "model": "o3-mini",
                "messages": [
                    {"role": "user", "content": "Sort a list."},
                    {"role": "assistant", "content": {"answer": "sorted(xs)"}},
                ],
                "tstamp": 1.0,
            }
        ],
    )
    result, rows, rejects = ingest(tmp_path, [bench])
    assert turns(rows["o3-mini.jsonl"][0]) == [
        ("user", "Sort a list."),
        ("assistant", "sorted(xs)"),
    ]
    assert meta(rows["o3-mini.jsonl"][0])["question_file"] == "question.jsonl"
    assert "question.jsonl" not in rows and {r["reason"] for r in rejects} == {"joined_questions"}
    # the same question file alone: prompt-only rows
    _, alone, _ = ingest(tmp_path, [bench / "question.jsonl"])
    assert turns(alone["question.jsonl"][0]) == [("user", "Sort a list.")]


def test_fastchat_older_eval_table(tmp_path):
    table = tmp_path / "table"
    write_jsonl(
        table / "question.jsonl",
        [{"question_id": 1, "text": "How can I sleep better?", "category": "generic"}],
    )
    write_jsonl(
        table / "answer" / "answer_vicuna-13b.jsonl",
        [{"answer_id": "a", "model_id": "vicuna-13b", "question_id": 1, "text": "Keep a routine."}],
    )
    write_jsonl(
        table / "review" / "review_gpt35_vicuna.jsonl",
        [
            {
                "review_id": "r",
                "question_id": 1,
                "answer1_id": "a",
                "answer2_id": "b",
                "reviewer_id": 1,
                "text": "8 7\n...",
                "score": [8.0, 7.0],
            }
        ],
    )
    _, rows, rejects = ingest(tmp_path, [table])
    assert turns(rows["answer_vicuna-13b.jsonl"][0]) == [
        ("user", "How can I sleep better?"),
        ("assistant", "Keep a routine."),
    ]
    assert sorted(r["reason"] for r in rejects) == ["joined_questions", "judge_output"]


def test_gemini_contents_and_column_wise_messages(tmp_path):
    gemini = write_jsonl(
        tmp_path / "gemini.jsonl",
        [
            {
                "systemInstruction": {"role": "system", "parts": [{"text": "Be brief."}]},
                "contents": [
                    {"role": "user", "parts": [{"text": "Capital of Taiwan?"}]},
                    {"role": "model", "parts": [{"text": "Taipei."}]},
                ],
            }
        ],
    )
    columns = write_jsonl(
        tmp_path / "ru_turbo_saiga.jsonl",
        [
            {
                "messages": {"role": ["user", "bot"], "content": ["Привет", "Здравствуйте"]},
                "seed": "x",
            }
        ],
    )
    _, rows, rejects = ingest(tmp_path, [gemini, columns])
    assert not rejects
    assert turns(rows["gemini.jsonl"][0]) == [
        ("system", "Be brief."),
        ("user", "Capital of Taiwan?"),
        ("assistant", "Taipei."),
    ]
    assert turns(rows["ru_turbo_saiga.jsonl"][0]) == [
        ("user", "Привет"),
        ("assistant", "Здравствуйте"),
    ]


def test_pandalm_votes_and_a_bare_nan(tmp_path):
    path = tmp_path / "testset-v1.json"
    path.write_text(
        '[{"question_id": 1, "instruction": "Translate into French: cat", "input": NaN,'
        ' "response1": "chat", "response2": "chien", "annotator1": 0, "annotator2": 0,'
        ' "annotator3": 1},'
        ' {"question_id": 2, "instruction": "Say hi", "input": "", "response1": "bye",'
        ' "response2": "hi", "annotator1": 2, "annotator2": 2, "annotator3": 1}]',
        encoding="utf-8",
    )
    _, rows, rejects = ingest(tmp_path, [path])
    tie, second = rows["testset-v1.json"]
    assert not rejects
    assert (
        turns(tie)[0] == ("user", "Translate into French: cat") and "preference_tie" in tie["flags"]
    )
    assert turns(second)[-1] == ("assistant", "hi") and second["rejected"] == "bye"


def test_judge_feedback_rows_and_battles_are_refused(tmp_path):
    prometheus = write_json(
        tmp_path / "mt_bench_eval.json",
        [
            {
                "instruction": "###Task Description: ... ###Response to evaluate: ...",
                "gpt4_feedback": "The response is accurate.",
                "gpt4_score": 5,
            }
        ],
    )
    collection = write_json(
        tmp_path / "feedback_collection.json",
        [
            {
                "orig_instruction": "q",
                "orig_criteria": "Is it helpful?",
                "orig_score1_description": "No.",
                "orig_score5_description": "Yes.",
                "instruction": "###Task Description: ...",
                "output": "Feedback: fine [RESULT] 4",
            }
        ],
    )
    battles = write_jsonl(
        tmp_path / "arena_hard_battles.jsonl",
        [{"question_id": 0, "model_a": "gpt-4", "model_b": "llama", "winner": "model_b"}],
    )
    _, rows, rejects = ingest(tmp_path, [prometheus, collection, battles])
    assert not rows
    assert [r["reason"] for r in rejects] == ["judge_output", "judge_template", "judge_output"]


def test_baize_bare_transcripts(tmp_path):
    path = write_json(
        tmp_path / "quora_chat_data.json",
        [
            {
                "topic": "How to invest?",
                "input": "The conversation between human and AI assistant.\n[|Human|] How do I start?"
                "\n[|AI|] Open an account.\n[|Human|] Then?\n[|AI|] Buy an index fund.\n[|Human|] ",
            }
        ],
    )
    _, rows, _ = ingest(tmp_path, [path])
    (whole,) = rows["quora_chat_data.json"]
    assert "embedded_turns" in whole["flags"] and len(whole["messages"]) == 1
    _, rows, _ = ingest(tmp_path, [path], split_embedded_turns=True)
    assert turns(rows["quora_chat_data.json"][0]) == [
        ("system", "The conversation between human and AI assistant."),
        ("user", "How do I start?"),
        ("assistant", "Open an account."),
        ("user", "Then?"),
        ("assistant", "Buy an index fund."),
    ]


def test_answers_under_other_names(tmp_path):
    pairs = write_jsonl(
        tmp_path / "pairs.jsonl",
        [{"prompt": "Name a fruit.", "chosen_response": "Apple.", "rejected_response": "Rock."}],
    )
    two = write_jsonl(
        tmp_path / "two.jsonl",
        [{"question": "Name a fruit.", "gpt4_answer": "Apple.", "llama_answer": "Rock."}],
    )
    part = write_jsonl(
        tmp_path / "part.jsonl",
        [{"messages": [{"role": "user", "content": {"type": "text", "text": "hi"}}]}],
    )
    _, rows, rejects = ingest(tmp_path, [pairs, two, part])
    (row,) = rows["pairs.jsonl"]
    assert turns(row) == [("user", "Name a fruit."), ("assistant", "Apple.")]
    assert row["rejected"] == "Rock."
    # two answers, no verdict: named in the reject, not thrown away behind a bare prompt
    assert [r["reason"] for r in rejects] == ["unrecognized_schema"]
    assert turns(rows["part.jsonl"][0]) == [("user", "hi")]


def test_dolly_context_flan_inputs_and_guanaco_text(tmp_path):
    dolly = write_jsonl(
        tmp_path / "dolly.jsonl",
        [
            {
                "instruction": "When did Virgin Australia start operating?",
                "context": "Virgin Australia commenced services on 31 August 2000.",
                "response": "On 31 August 2000.",
                "category": "closed_qa",
            }
        ],
    )
    flan = write_jsonl(tmp_path / "flan.jsonl", [{"inputs": "2+2=?", "targets": "4"}])
    plain = write_jsonl(tmp_path / "io.jsonl", [{"input": "你好吗？", "output": "我很好。"}])
    guanaco = write_jsonl(
        tmp_path / "guanaco.jsonl",
        [
            {
                "text": "### Human: Hola, ¿qué tal?### Assistant: Muy bien.### Human: ¿Y tú?### Assistant: Bien."
            }
        ],
    )
    _, rows, rejects = ingest(tmp_path, [dolly, flan, plain, guanaco])
    assert not rejects
    assert turns(rows["dolly.jsonl"][0])[0] == (
        "user",
        "When did Virgin Australia start operating?\n\n"
        "Virgin Australia commenced services on 31 August 2000.",
    )
    assert meta(rows["dolly.jsonl"][0]) == {"category": "closed_qa"}
    assert turns(rows["flan.jsonl"][0]) == [("user", "2+2=?"), ("assistant", "4")]
    assert turns(rows["io.jsonl"][0]) == [("user", "你好吗？"), ("assistant", "我很好。")]
    assert "embedded_turns" in rows["guanaco.jsonl"][0]["flags"]
    _, rows, _ = ingest(tmp_path, [guanaco], split_embedded_turns=True)
    assert turns(rows["guanaco.jsonl"][0]) == [
        ("user", "Hola, ¿qué tal?"),
        ("assistant", "Muy bien."),
        ("user", "¿Y tú?"),
        ("assistant", "Bien."),
    ]


def test_an_edited_question_file_outside_the_inputs_changes_the_fingerprint(tmp_path):
    bench = tmp_path / "b"
    questions = write_jsonl(bench / "question.jsonl", [{"question_id": 1, "turns": ["q"]}])
    answers = write_jsonl(
        bench / "model_answer" / "m.jsonl",
        [{"question_id": 1, "model_id": "m", "choices": [{"turns": ["a"]}]}],
    )
    store = tmp_path / "store"
    first = Ingestor([str(answers)], store, IngestOptions(), workers=0)
    first.run()
    again = Ingestor([str(answers)], store, IngestOptions(), workers=0)
    assert again.run().already_done
    write_jsonl(questions, [{"question_id": 1, "turns": ["another question"]}])
    os.utime(questions, ns=(1, 1))
    with pytest.raises(StageConflict):
        Ingestor([str(answers)], store, IngestOptions(), workers=0).run()


def test_flat_role_fields_and_string_conversations(tmp_path):
    flat = write_jsonl(
        tmp_path / "flat.jsonl",
        [{"id": 1, "human": "你好", "assistant": "你好！有什么可以帮你？", "source": "x"}],
    )
    bot = write_jsonl(
        tmp_path / "bot.jsonl", [{"question": "Сколько лап у кошки?", "bot": "Четыре."}]
    )
    strings = write_jsonl(tmp_path / "strings.jsonl", [{"conversations": ["hi", "hello", "bye"]}])
    generated = write_jsonl(tmp_path / "gen.jsonl", [{"prompt": "Say hi.", "generated": "hi"}])
    prompts = write_jsonl(tmp_path / "prompts.jsonl", [{"prompt": "Say hi.", "model": "gpt-4"}])
    _, rows, rejects = ingest(tmp_path, [flat, bot, strings, generated, prompts])
    assert not rejects
    assert turns(rows["flat.jsonl"][0]) == [
        ("user", "你好"),
        ("assistant", "你好！有什么可以帮你？"),
    ]
    assert meta(rows["flat.jsonl"][0]) == {"id": 1, "source": "x"}
    assert turns(rows["bot.jsonl"][0]) == [
        ("user", "Сколько лап у кошки?"),
        ("assistant", "Четыре."),
    ]
    assert [r for r, _ in turns(rows["strings.jsonl"][0])] == ["user", "assistant", "user"]
    assert turns(rows["gen.jsonl"][0]) == [("user", "Say hi."), ("assistant", "hi")]
    # a field named "model" names a model, not a reply
    assert turns(rows["prompts.jsonl"][0]) == [("user", "Say hi.")]
