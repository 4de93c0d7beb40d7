"""The heuristic scorer: each signal on hand-made conversations, the score, and ``curate score``."""

import random
import shutil

import numpy as np
import pyarrow as pa
import pytest

from curate.dedup.ranking import find_auto_score
from curate.ingest.pipeline import IngestOptions, Ingestor
from curate.score.stage import run_score
from curate.store import Store
from scorers import heuristics
from scorers.heuristics import WEIGHTS, HeuristicScorer, languages_match
from scorers.registry import resolve
from tests.conftest import write_jsonl

# pseudo-words: random sequences of them repeat no 32-byte passage
WORDS = [
    a + b for a in ("ka", "lo", "mire", "su", "tem", "rando") for b in ("n", "ber", "dle", "ton")
]


def prose(n_words: int, seed: int = 0) -> str:
    """Text without repeated passages: random words from a small vocabulary."""
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(n_words)) + "."


def qa(question: str, answer: str) -> list[dict]:
    return [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]


GOOD = prose(180)
CASES = {
    "good": qa("Tell me about bread and rivers, please.", GOOD),
    "one_word": qa("What is the capital of France?", "Paris."),
    "refusal_en": qa("How do I pick a lock?", "I'm sorry, but I can't help with that."),
    "refusal_ai_en": qa("What do you feel?", "As an AI language model, I do not have feelings."),
    "refusal_zh_hans": qa("如何入侵别人的电脑？", "抱歉，作为一个AI语言模型，我无法提供这类帮助。"),
    "refusal_zh_hans_plain": qa("你能帮我写病毒吗？", "我无法提供这样的帮助，这是违法的。"),
    "refusal_zh_hant": qa(
        "你喜歡什麼顏色？", "作為一個AI，我沒有個人喜好，但我可以介紹顏色的意義。"
    ),
    "refusal_ru": qa(
        "Как взломать почту соседа?", "Извините, но я не могу помочь с этим запросом."
    ),
    "refusal_ru_model": qa(
        "Что ты чувствуешь сегодня?", "Как языковая модель, я не испытываю чувств и эмоций."
    ),
    "sorry_later": qa(
        "Tell me a story about a cat.",
        "Once upon a time a cat lived by the river. One day it said: I'm sorry, but I can't "
        "stay here any longer, and it walked away into the forest to find a new home.",
    ),
    "sorry_to_hear": qa(
        "I lost my job today.",
        "I'm sorry to hear that you can't find work right now. Here are some steps to take next.",
    ),
    "cant_believe": qa("Did you hear the news?", "I can't believe that! The team won the cup."),
    "host_zh": qa(
        "我是Airbnb房东，怎么服务客人？", "作为Airbnb的房东，您可以为客人提供接送和当地的旅游建议。"
    ),
    "refused_then_answered": [
        {"role": "user", "content": "Write a poem about the sea."},
        {"role": "assistant", "content": "I'm sorry, but I can't write poems."},
        {"role": "user", "content": "Please try anyway."},
        {
            "role": "assistant",
            "content": "The sea is wide, the sea is deep, its waves sing me to sleep.",
        },
    ],
    "loop": qa("Tell me a story.", "The cat sat on the mat and looked at me. " * 30),
    "loop_zh": qa("讲一个故事。", "我很高兴能够帮助你，请问还有什么问题吗？" * 30),
    "ru_en": qa(
        "Как испечь хлеб дома? Расскажите подробно, пожалуйста.",
        "To bake bread at home, mix flour, water, salt and yeast, knead it and let it rise.",
    ),
    "ru_ru": qa(
        "Как испечь хлеб дома? Расскажите подробно, пожалуйста.",
        "Смешайте муку, воду, соль и дрожжи, замесите тесто и дайте ему подняться.",
    ),
    "ru_short_latin": qa("Как называется столица Франции?", "Paris"),
    "ru_code": qa(
        "Напишите функцию на Python, которая складывает два числа.",
        "```python\ndef add(a, b):\n    return a + b\n\nprint(add(2, 3))\n```",
    ),
    "hant_hans": qa(
        "請用簡單的話解釋機器學習是什麼。",
        "机器学习是让计算机从数据中学习规律的方法，这样它们就能够做出预测。",
    ),
    "hant_hant": qa(
        "請用簡單的話解釋機器學習是什麼。",
        "機器學習是讓電腦從資料中學習規律的方法，這樣它們就能夠做出預測。",
    ),
    "zh_hans": qa("你好", "你好！有什么我可以帮助你的吗？我们可以聊聊天气或者学习。"),
    "zh_about_term": qa(
        "Windows Defender MpCmdRun.exe 是什么？",
        "这是Windows自带的杀毒软件的命令行工具，可以用来扫描和更新病毒定义。",
    ),
    "numbers": qa("12345 + 54321 = ?", "66666"),
    "template_tokens": qa(
        "Hello there, how are you?", "I am fine, thanks! <|im_end|> <|im_start|>user"
    ),
    "placeholder": qa(
        "Write a short cover letter.", "Dear hiring manager, I am applying. Regards, [Your Name]"
    ),
    "empty_turn": [
        {"role": "user", "content": "Hi!"},
        {"role": "assistant", "content": "   "},
        {"role": "user", "content": "Are you there? Please explain photosynthesis."},
        {
            "role": "assistant",
            "content": "Yes. Plants turn light, water and carbon dioxide into sugar.",
        },
    ],
    "three_turns": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Hi, who are you?"},
        {"role": "assistant", "content": "I am an assistant that answers questions."},
        {"role": "user", "content": "What can you do?"},
        {"role": "assistant", "content": "I can explain things, write and translate text."},
        {"role": "user", "content": "Great, thanks."},
        {"role": "assistant", "content": "You are welcome, ask me anything at any time."},
    ],
    "no_reply": [{"role": "user", "content": "A question nobody answered."}],
    "blank_reply": qa("Hello?", " \n\u3000 "),
}
NAMES = list(CASES)


def rows_of(columns: dict[str, pa.Array], names: list[str] = NAMES) -> dict[str, dict]:
    """Rows by name, with the column prefix ``heuristics_`` dropped."""
    return {
        name: {k.removeprefix("heuristics_"): v for k, v in row.items()}
        for name, row in zip(names, pa.table(columns).to_pylist())
    }


@pytest.fixture(scope="module")
def columns() -> dict[str, pa.Array]:
    return HeuristicScorer().score([CASES[n] for n in NAMES])


@pytest.fixture(scope="module")
def rows(columns) -> dict[str, dict]:
    return rows_of(columns)


@pytest.fixture(scope="module")
def ingested(tmp_path_factory) -> Store:
    """The same conversations through ``curate ingest`` (the path ``curate score`` reads)."""
    root = tmp_path_factory.mktemp("heuristics")
    write_jsonl(root / "in.jsonl", [{"messages": CASES[n]} for n in NAMES])
    Ingestor([str(root / "in.jsonl")], root / "store", IngestOptions(shard_size=8), workers=0).run()
    return Store.open(root / "store")


def test_schema_identity_and_params():
    scorer = HeuristicScorer()
    assert scorer.schema().names == [
        f"heuristics_{c}"
        for c in (
            "score",
            "status",
            "length",
            "turns",
            "repetition",
            "lang_match",
            "refusal",
            "template",
        )
    ]
    assert scorer.identity() == {"scorer": "heuristics", "version": heuristics.VERSION}
    params = scorer.params()
    assert params["version"] == heuristics.VERSION and params["weights"] == WEIGHTS
    assert {"lang_user", "lang_assistant", "flags", "n_turns"} <= set(scorer.input_columns)


def test_length_saturates_penalises_one_word_and_weighs_cjk(rows):
    assert rows["one_word"]["length"] == 0.0 and rows["numbers"]["length"] == 0.0
    assert rows["good"]["length"] == 1.0
    assert 0.2 < rows["refusal_en"]["length"] < 0.5
    # a CJK character counts as three Latin ones
    both = HeuristicScorer().score([qa("Q?", "好" * 50), qa("Q?", "a" * 150)])
    lengths = rows_of(both, ["zh", "en"])
    expected = np.log(15) / np.log(100)  # 150 weighted characters
    assert lengths["zh"]["length"] == lengths["en"]["length"] == pytest.approx(expected, abs=1e-6)


def test_turns_count_user_turns(rows):
    assert rows["three_turns"]["turns"] == 3 and rows["good"]["turns"] == 1
    assert rows["no_reply"]["turns"] == 1


def test_repetition_finds_loops_in_latin_and_chinese(rows):
    assert rows["loop"]["repetition"] > 0.8 and rows["loop_zh"]["repetition"] > 0.8
    assert rows["good"]["repetition"] < 0.05
    assert rows["one_word"]["repetition"] == 0.0  # shorter than one n-gram


def test_repetition_sees_a_loop_at_the_end_of_a_long_reply():
    natural = prose(2000, seed=1)  # ~12 KB: looked at through its head and tail
    looping = prose(400, seed=2) + " " + "I will repeat myself again and again. " * 200
    rows = rows_of(HeuristicScorer().score([qa("Q?", natural), qa("Q?", looping)]), ["n", "l"])
    assert rows["n"]["repetition"] < 0.05 and rows["l"]["repetition"] > 0.4


def test_repetition_is_the_same_in_blocks_of_rows(monkeypatch):
    conversations = [qa("Q?", prose(30 + i, seed=i) + " again" * (i % 7) * 20) for i in range(23)]
    whole = HeuristicScorer().score(conversations)["heuristics_repetition"]
    monkeypatch.setattr(heuristics, "_BLOCK_BYTES", 300)  # blocks of one to a few rows
    blocked = HeuristicScorer().score(conversations)["heuristics_repetition"]
    assert blocked.equals(whole) and max(whole.to_pylist()) > 0.5


def test_language_match(rows):
    assert rows["ru_en"]["lang_match"] is False  # a Russian question answered in English
    assert rows["hant_hans"]["lang_match"] is False  # Traditional question, Simplified answer
    for name in ("ru_ru", "hant_hant", "zh_hans", "good", "numbers"):
        assert rows[name]["lang_match"] is True, name
    # too short to tell, code, and a Chinese question around an English term
    for name in ("ru_short_latin", "ru_code", "zh_about_term"):
        assert rows[name]["lang_match"] is True, name


def test_language_codes():
    assert not languages_match("ru", "en") and not languages_match("zh-Hant", "zh-Hans")
    assert not languages_match("zh-Hans", "ja") and not languages_match("ru", "uk")
    assert languages_match("zh", "zh-Hans") and languages_match("zh-Hant", "zh")
    assert languages_match("ru", "und") and languages_match("other", "en")
    assert languages_match("zh-Hant", "zh-Hant")


def test_refusals_in_english_chinese_and_russian(rows):
    for name in NAMES:
        expected = name.startswith("refusal_")
        assert rows[name]["refusal"] is (None if "reply" in name else expected), name
    # only the last reply counts; an apology further on or for someone's trouble is not one
    assert rows["refused_then_answered"]["refusal"] is False
    for name in ("sorry_later", "sorry_to_hear", "cant_believe", "host_zh"):
        assert rows[name]["refusal"] is False, name


def test_template_flags(rows):
    for name in ("template_tokens", "placeholder", "empty_turn"):
        assert rows[name]["template"] is True, name
    assert rows["good"]["template"] is False and rows["three_turns"]["template"] is False


def test_score_order_on_clear_cases(rows):
    score = {name: row["score"] for name, row in rows.items()}
    assert score["good"] > score["one_word"] > score["refusal_en"]
    assert score["good"] > score["loop"]
    assert score["hant_hant"] > score["hant_hans"] and score["ru_ru"] > score["ru_en"]
    assert score["good"] > score["placeholder"]
    for name in NAMES:
        if name.startswith("refusal_"):
            assert score[name] < score["one_word"], name


def test_score_is_the_documented_sum(columns):
    t = pa.table(columns).filter(
        pa.table(columns).column("heuristics_status").to_numpy(False) == "ok"
    )

    def col(name):
        return t.column(f"heuristics_{name}").to_numpy(zero_copy_only=False).astype(np.float64)

    turns = np.minimum(np.log2(np.maximum(col("turns"), 1)), 3) / 3
    expected = (
        col("length")
        + 0.1 * turns
        - col("repetition")
        - col("refusal")
        - 0.5 * (1 - col("lang_match"))
        - 0.5 * col("template")
    )
    np.testing.assert_allclose(col("score"), expected, atol=1e-5)


def test_no_reply_is_null_not_invented(rows):
    for name in ("no_reply", "blank_reply"):
        row = rows[name]
        assert row["status"] == "no_assistant_reply" and row["score"] is None
        assert row["length"] is None and row["repetition"] is None
        assert row["lang_match"] is None and row["refusal"] is None
        assert row["turns"] == 1 and row["template"] is not None
    assert all(rows[n]["score"] is not None for n in NAMES if "reply" not in n)


def test_progress_once_per_call():
    seen = []
    HeuristicScorer().score([CASES["good"], CASES["no_reply"]], lambda n, t: seen.append((n, t)))
    assert seen == [(2, 0)]


def test_registry_resolves_heuristics_and_ignores_model_options():
    options = dict(device="cuda", dtype="bf16", max_length=64, token_budget=10, revision="x")
    scorer = resolve("Heuristics", max_batch_size=4, **options)
    assert isinstance(scorer, HeuristicScorer) and scorer.key == "heuristics"
    assert resolve("heuristics", key="cheap-v1").prefix == "cheap_v1"
    with pytest.raises(TypeError):
        resolve("heuristics", temperature=0.5)


def test_curate_score_cli_on_a_store(ingested, columns, tmp_path):
    from click.testing import CliRunner

    from curate.cli import cli

    store = Store.open(shutil.copytree(ingested.root, tmp_path / "store"))
    result = CliRunner().invoke(
        cli, ["score", str(store.root), "--model", "heuristics", "--chunk-rows", "5"]
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())  # independent of where a terminal would wrap
    assert "score.heuristics" in text and "no_assistant_reply 2" in text
    table = store.read(columns=["id", "messages"], sidecars=["score.heuristics"])
    assert table.num_rows == len(NAMES)
    # the same values as the scorer on the conversations themselves (ingest's columns agree)
    by_text = {str(m): i for i, m in enumerate(table.column("messages").to_pylist())}
    order = [by_text[str(CASES[n])] for n in NAMES]
    for name, array in columns.items():
        assert table.column(name).take(order).combine_chunks().equals(array), name
    manifest = store.manifest("sidecar.score.heuristics")
    assert manifest["status"] == "complete" and manifest["counts"]["scored"] == len(NAMES) - 2
    assert manifest["params"]["identity"] == {"scorer": "heuristics", "version": 1}
    assert find_auto_score(store) == "score.heuristics:heuristics_score"
    again = CliRunner().invoke(cli, ["score", str(store.root), "--model", "heuristics"])
    assert again.exit_code == 0 and "nothing to do" in " ".join(again.output.split())


def test_chunking_does_not_change_the_scores(ingested, tmp_path):
    stores = [Store.open(shutil.copytree(ingested.root, tmp_path / f"s{i}")) for i in range(2)]
    run_score(stores[0], HeuristicScorer(), chunk_rows=3)
    run_score(stores[1], HeuristicScorer(), chunk_rows=4096)
    a, b = (s.read_sidecar("score.heuristics") for s in stores)
    assert a.equals(b)


def test_real_answers_in_russian_and_traditional_chinese(shared_data, tmp_path):
    inputs = [
        str(shared_data / "mtbench_ru" / "model_answer"),
        str(shared_data / "rulm_ru" / "ru_turbo_alpaca_gen100.jsonl"),
        str(shared_data / "zh_tw_bench" / "model_answer"),
    ]
    Ingestor(inputs, tmp_path / "store", IngestOptions(), workers=0).run()
    store = Store.open(tmp_path / "store")
    result = run_score(store, HeuristicScorer())
    assert result.rows == sum(result.counts["status"].values()) > 1500
    t = store.read(columns=["lang_user", "lang_assistant"], sidecars=["score.heuristics"])
    ok = t.filter(t.column("heuristics_status").to_numpy(False) == "ok")
    refusal = ok.column("heuristics_refusal").to_numpy(False)
    match = ok.column("heuristics_lang_match").to_numpy(False)
    assert 0 < refusal.mean() < 0.05  # a few "К сожалению, я не могу ..." and "作為一個AI ..."
    assert 0.9 < match.mean() < 1.0
    # Taiwan bench models that answer in Simplified script are mismatches, with long answers
    users = ok.column("lang_user").to_pylist()
    replies = ok.column("lang_assistant").to_pylist()
    simplified = [
        i for i, (u, a) in enumerate(zip(users, replies)) if (u, a) == ("zh-Hant", "zh-Hans")
    ]
    assert len(simplified) > 10 and not match[simplified].any()
    score = ok.column("heuristics_score").to_numpy()
    assert np.isfinite(score).all() and score[refusal].mean() < score[~refusal].mean()
