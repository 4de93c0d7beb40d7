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


COLUMNS = (
    "score",
    "status",
    "length",
    "turns",
    "repetition",
    "lang_match",
    "refusal",
    "template",
    "chars",
    "asks",
    "target",
    "structure",
    "asks_code",
    "code_block",
    "relevance",
    "truncated",
    "boilerplate",
    "role_leak",
)
# every column that reads the reply is NULL without one
REPLY_COLUMNS = [c for c in COLUMNS if c not in ("status", "turns", "template")]


def test_schema_identity_and_params():
    scorer = HeuristicScorer()
    assert scorer.schema().names == [f"heuristics_{c}" for c in COLUMNS]
    assert heuristics.VERSION == 2
    assert scorer.identity() == {"scorer": "heuristics", "version": heuristics.VERSION}
    params = scorer.params()
    assert params["version"] == heuristics.VERSION and params["weights"] == WEIGHTS
    assert params["weights_from"] == "hand" and set(WEIGHTS) == set(heuristics.TERMS)
    assert {"lang_user", "lang_assistant", "flags", "n_turns"} <= set(scorer.input_columns)
    # every column the schema names comes back, with its type
    columns = HeuristicScorer().score([CASES["good"], CASES["no_reply"]])
    assert pa.table(columns).schema.equals(scorer.schema())


def test_length_against_the_target_weighs_cjk(rows):
    """``1 + log10(L / T)`` below the target, ``1 + slope * log10(L / T)`` above."""
    assert rows["good"]["asks"] == "open" and rows["good"]["target"] == 1000.0
    assert rows["good"]["length"] == pytest.approx(1 + 0.3 * np.log10(1185 / 1000), abs=1e-5)
    assert rows["good"]["chars"] == 1185
    # "What is the capital of France?" asks a fact (target 200): "Paris." is 6 characters
    assert rows["one_word"]["asks"] == "fact" and rows["one_word"]["target"] == 200.0
    assert rows["one_word"]["length"] == pytest.approx(1 + np.log10(6 / 200), abs=1e-5)
    # no cap: every length has its own value, longer above the target still a little better
    answers = [qa("Tell me about rivers.", prose(n, seed=n)) for n in (100, 200, 400, 800, 1600)]
    lengths = [
        r["length"] for r in rows_of(HeuristicScorer().score(answers), list("abcde")).values()
    ]
    assert all(b > a for a, b in zip(lengths, lengths[1:])) and len(set(lengths)) == 5
    # a CJK character counts as three Latin ones
    both = HeuristicScorer().score([qa("Q?", "好" * 50), qa("Q?", "a" * 150)])
    lengths = rows_of(both, ["zh", "en"])
    assert lengths["zh"]["chars"] == lengths["en"]["chars"] == 150
    assert (
        lengths["zh"]["length"]
        == lengths["en"]["length"]
        == pytest.approx(1 + np.log10(150 / 1000), abs=1e-6)
    )


def test_length_beyond_a_brief_target_costs():
    question = "In one sentence, what is photosynthesis?"
    answers = [
        qa(question, "Photosynthesis is how plants turn light, water and CO2 into sugar."),
        qa(question, "Photosynthesis is how plants make sugar. " * 2 + prose(300, seed=3)),
    ]
    r = rows_of(HeuristicScorer().score(answers), ["short", "long"])
    assert r["short"]["asks"] == r["long"]["asks"] == "brief"
    assert r["short"]["target"] == 200.0
    assert r["long"]["chars"] > 1000 and r["long"]["length"] < 1.0
    slope = heuristics.TARGETS["brief"][1]
    assert r["long"]["length"] == pytest.approx(
        1 + slope * np.log10(r["long"]["chars"] / 200), abs=1e-5
    )


ASKS = {
    # brief
    "Describe the Great Pyramid of Giza in one sentence.": ("brief", 200),
    "Briefly explain what inflation is.": ("brief", 200),
    "Answer yes or no: is the sky blue?": ("brief", 200),
    "请用一句话解释机器学习。": ("brief", 200),
    "請簡單回答：什麼是光合作用？": ("brief", 200),
    "Кратко объясните, что такое инфляция.": ("brief", 200),
    # a stated length: words x 6, Chinese characters x 3 (weighted), sentences x 100
    "Summarize the article in 100 words or less.": ("count", 600),
    "Describe the situation in 5-7 sentences.": ("count", 700),
    "用200字以内介绍一下长城。": ("count", 600),
    "Опишите город не более 50 слов.": ("count", 350),
    "Write a 3-line haiku about the stars.": ("count", 180),  # lines x 60, not a list of 3
    "Write an essay of at least 500 words about rivers.": ("long", 3000),
    "请写一篇不少于1000字的文章。": ("long", 3000),
    # long
    "Write an essay about the history of the internet.": ("long", 2500),
    "Explain in detail how vaccines work.": ("long", 2500),
    "请详细介绍一下量子计算。": ("long", 2500),
    "Расскажите подробно, как испечь хлеб.": ("long", 2500),
    # a number of items: 150 weighted characters each
    "List 5 benefits of exercise.": ("list", 750),
    "Name three rivers in Europe.": ("list", 450),
    "请列出三个学习英语的方法。": ("list", 450),
    "Назовите пять причин читать книги.": ("list", 750),
    # questions
    "Is a tomato a fruit?": ("yes_no", 300),
    "长城是世界上最长的墙吗？": ("yes_no", 300),
    "Правда ли, что киты — млекопитающие?": ("yes_no", 300),
    "Who wrote War and Peace?": ("fact", 200),
    "长城有多少年的历史？": ("fact", 200),
    "Сколько планет в Солнечной системе?": ("fact", 200),
    # none of those
    "Summarize the following article about climate change.": ("open", 1000),
    "Create a title for a blog post about privacy.": ("open", 1000),
    "Can you write a poem about the sea?": ("open", 1000),
    "Write a Python function that adds two numbers.": ("open", 1000),
    "我的第一句话是你好，请继续对话。": ("open", 1000),
    "Tell me about bread and rivers, please.": ("open", 1000),
}


def test_what_the_prompt_asks_for():
    prompts = list(ASKS)
    columns = HeuristicScorer().score(
        [qa(p, "An answer of some length, long enough.") for p in prompts]
    )
    got = zip(columns["heuristics_asks"].to_pylist(), columns["heuristics_target"].to_pylist())
    assert dict(zip(prompts, got)) == {p: (a, float(t)) for p, (a, t) in ASKS.items()}


def test_asks_code_and_code_block():
    code = "```python\ndef reverse(s):\n    return s[::-1]\n```"
    columns = HeuristicScorer().score(
        [
            qa("Write a Python function that reverses a string.", code),
            qa("写一个函数，把字符串反转。", code),
            qa("Напишите функцию, которая переворачивает строку.", "Используйте срез s[::-1]."),
            qa("Tell me about bread.", "Bread is made of flour, water, salt and yeast."),
        ]
    )
    assert columns["heuristics_asks_code"].to_pylist() == [True, True, True, False]
    assert columns["heuristics_code_block"].to_pylist() == [True, True, False, False]


def test_structure_counts_lists_headings_and_paragraphs_not_code():
    listed = "## Steps\n\n1. Boil the water.\n2. Add the tea.\n3. Wait three minutes.\n\nEnjoy."
    bullets = "要点：\n- 多喝水\n- 早睡早起\n- 每天运动"
    code = "```python\ndef f(x):\n    return x\n```"
    columns = HeuristicScorer().score(
        [qa("Q?", listed), qa("Q?", bullets), qa("Q?", prose(80)), qa("Q?", code)]
    )
    structure = columns["heuristics_structure"].to_pylist()
    # 3 items, 1 heading, 3 paragraphs: ln 4 + ln 2 + 0.5 ln 3
    assert structure[0] == pytest.approx(np.log(4) + np.log(2) + 0.5 * np.log(3), abs=1e-5)
    assert structure[1] == pytest.approx(np.log(4) + np.log(2), abs=1e-5)  # a colon heading
    assert structure[2] == 0.0 and structure[3] == 0.0  # plain prose; a code block is no heading


TRUNCATED = {
    "en_cut": (prose(60, seed=5)[:-1] + " and then the", True),
    "zh_cut": (
        "机器学习是一种让计算机从数据中学习规律的方法。" * 4 + "它可以用于图像识别、语音识别和",
        True,
    ),
    "ru_cut": (
        "Хлеб пекут из муки, воды, соли и дрожжей. " * 5 + "Тесто нужно замесить и оставить",
        True,
    ),
    "open_fence": ("Here is the code:\n```python\ndef f(x):\n    return x", True),
    "en_complete": (prose(60, seed=5), False),
    "zh_complete": ("机器学习是一种让计算机从数据中学习规律的方法。" * 5, False),
    "short_no_period": ("Paris", False),  # short: an answer, not a cut
    "list_end": ("Rivers of Europe:\n" + "\n".join(f"{i}. River {i}" for i in range(1, 30)), False),
    "url_end": (prose(50, seed=6) + "\nSee https://example.org/some/page", False),
    "closed_fence": ("Here:\n```python\ndef f(x):\n    return x\n```", False),
    "question_end": (prose(50, seed=7) + " Do you want to know more?", False),
    "label_value": (prose(50, seed=8) + "\nDessert: Apple slices with cinnamon and honey", False),
    "bullet_end": (
        prose(50, seed=9) + "\n- Use the tools that your team already knows well",
        False,
    ),
}


def test_truncation():
    names = list(TRUNCATED)
    columns = HeuristicScorer().score([qa("Tell me more.", TRUNCATED[n][0]) for n in names])
    got = dict(zip(names, columns["heuristics_truncated"].to_pylist()))
    assert got == {n: t for n, (_, t) in TRUNCATED.items()}


BOILERPLATE = {
    "As an AI language model, I think rivers are nice. I hope this helps!": 2,
    "Rivers are nice. Feel free to ask if you have more questions.": 1,
    "作为一个AI语言模型，我认为河流很美。希望对你有帮助！": 2,
    "作為一個AI，我認為河流很美。": 1,
    "Как языковая модель, я считаю реки красивыми. Надеюсь, это поможет.": 2,
    "Rivers are nice; we hope this summer the water stays warm.": 0,
    "河流很美，我们应该保护它们。": 0,
    "Реки красивы, их нужно беречь.": 0,
}


def test_boilerplate_anywhere():
    texts = list(BOILERPLATE)
    columns = HeuristicScorer().score([qa("Tell me about rivers.", t) for t in texts])
    assert columns["heuristics_boilerplate"].to_pylist() == list(BOILERPLATE.values())
    # anywhere: in the middle, and in an earlier reply of the conversation
    earlier = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello! As an AI assistant I can help."},
        {"role": "user", "content": "Tell me about rivers."},
        {"role": "assistant", "content": "Rivers carry water to the sea."},
    ]
    assert HeuristicScorer().score([earlier])["heuristics_boilerplate"].to_pylist() == [1]


ROLE_LEAK = {
    "Sure, here it is. USER: thanks! ASSISTANT: you are welcome": True,
    "The answer is 4.\n\n### Human: what about 5?": True,
    "答案是四。\n用户：那五呢？\n助手：五是五。": True,
    "Ответ: четыре.\nПользователь: а пять?": True,
    "Set the option in the config file:\nuser: root\ngroup: admin": False,
    "The user can change the setting at any time.": False,
    "用户可以随时修改设置。": False,
}


def test_role_leak():
    texts = list(ROLE_LEAK)
    columns = HeuristicScorer().score([qa("Q?", t) for t in texts])
    assert columns["heuristics_role_leak"].to_pylist() == list(ROLE_LEAK.values())
    # a dialogue that was asked for is no leak
    dialogue = "User: Hi, my internet is down.\nAssistant: Let me help you with that."
    asked = [
        qa("Write a dialogue between a user and a support assistant.", dialogue),
        qa("写一段用户和客服的对话。", "用户：我的网络断了。\n助手：我来帮您。"),
        qa("How do I fix my internet?", dialogue),
    ]
    assert HeuristicScorer().score(asked)["heuristics_role_leak"].to_pylist() == [
        False,
        False,
        True,
    ]


def test_relevance_of_the_reply_to_the_prompt():
    pairs = [
        (
            "How do volcanoes form and why do they erupt?",
            "Volcanoes form where magma rises through the crust; they erupt when gas pressure builds.",
            "The stock market closed higher today as investors bought technology shares.",
        ),
        (
            "请用简单的话解释机器学习是什么。",
            "机器学习是让计算机从数据中学习规律的方法。",
            "今天天气很好，我们去公园散步吧。",
        ),
        (
            "請解釋颱風是怎麼形成的。",
            "颱風是在溫暖的海面上形成的，海水蒸發後形成低氣壓。",
            "我喜歡吃水果，特別是蘋果和香蕉。",
        ),
        (
            "Как испечь хлеб дома?",
            "Чтобы испечь хлеб дома, смешайте муку, воду и дрожжи.",
            "Москва — столица России.",
        ),
    ]
    conversations = [qa(q, a) for q, on, off in pairs for a in (on, off)]
    relevance = HeuristicScorer().score(conversations)["heuristics_relevance"].to_pylist()
    for k in range(len(pairs)):
        assert relevance[2 * k] > relevance[2 * k + 1], pairs[k][0]
    assert all(0.0 < r <= 1.0 for r in relevance)
    # add-one smoothing: a greeting is too short to call any reply off-topic
    greeting = HeuristicScorer().score([qa("你好", "很高兴见到你")])["heuristics_relevance"]
    assert greeting.to_pylist()[0] > heuristics.OFF_TOPIC


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

    chars, target = col("chars"), col("target")
    asks = t.column("heuristics_asks").to_numpy(zero_copy_only=False)
    x = np.log10(np.maximum(chars, 1) / target)
    slope = np.where(np.isin(asks, ["brief", "count"]), -0.25, 0.3)
    np.testing.assert_allclose(col("length"), 1 + np.where(x < 0, x, slope * x), atol=1e-5)
    turns = np.minimum(np.log2(np.maximum(col("turns"), 1)), 3) / 3
    expected = (
        col("length")
        + 0.1 * turns
        + 0.1 * col("structure")
        + 0.2 * (col("asks_code") * col("code_block"))
        - 2.0 * np.maximum(col("repetition") - 0.1, 0)
        - 0.5 * col("refusal")
        - 0.5 * (1 - col("lang_match"))
        - 0.5 * col("template")
        - 0.5 * col("role_leak")
        - 0.1 * np.minimum(col("boilerplate"), 3)
        - 0.2 * col("truncated")
        - 0.2 * np.clip((0.1 - col("relevance")) / 0.1, 0, 1)
    )
    np.testing.assert_allclose(col("score"), expected, atol=1e-5)
    # and terms() with WEIGHTS is the same sum
    values = heuristics.terms({k.removeprefix("heuristics_"): t.column(k) for k in t.column_names})
    total = sum(WEIGHTS[name] * values[name] for name in heuristics.TERMS)
    np.testing.assert_allclose(col("score"), total, atol=1e-5)


def test_no_reply_is_null_not_invented(rows):
    for name in ("no_reply", "blank_reply"):
        row = rows[name]
        assert row["status"] == "no_assistant_reply"
        assert all(row[c] is None for c in REPLY_COLUMNS), name
        assert row["turns"] == 1 and row["template"] is not None
    for name in NAMES:
        if "reply" not in name:
            assert all(rows[name][c] is not None for c in REPLY_COLUMNS), name


# -- ranking: answers to one prompt in the order a person would put them ----------------
TEA = "How do I make a good cup of tea?"
TEA_ANSWER = (
    "Here is a simple way to make a good cup of tea:\n\n"
    "1. Boil fresh water; tea tastes flat with water that was boiled twice.\n"
    "2. Warm the cup or pot with a little hot water, then pour it out.\n"
    "3. Add one tea bag or a teaspoon of loose tea per cup.\n"
    "4. Pour the water over the tea and let it steep for three to five minutes.\n"
    "5. Remove the tea, then add milk, sugar or lemon to taste.\n\n"
    "A good cup of tea depends mostly on fresh water and the right steeping time."
)
ZH_HANT_Q = "請解釋颱風是怎麼形成的，並說明它為什麼會帶來強風和豪雨。"
ZH_HANT_A = (
    "颱風是在溫暖的熱帶海面上形成的。海水受熱蒸發，濕熱的空氣上升後冷卻凝結，釋放出大量熱能，"
    "使中心的氣壓越來越低，周圍的空氣便旋轉著向中心流入，形成強大的氣旋。\n\n"
    "颱風帶來強風，是因為中心與外圍的氣壓差很大；帶來豪雨，是因為它挾帶了大量從海面蒸發的水氣。"
)
ZH_HANS_A = (  # the same answer in Simplified script
    "台风是在温暖的热带海面上形成的。海水受热蒸发，湿热的空气上升后冷却凝结，释放出大量热能，"
    "使中心的气压越来越低，周围的空气便旋转着向中心流入，形成强大的气旋。\n\n"
    "台风带来强风，是因为中心与外围的气压差很大；带来豪雨，是因为它挟带了大量从海面蒸发的水气。"
)
RU_Q = "Как испечь хлеб дома?"
RU_A = (
    "Чтобы испечь хлеб дома, вам понадобятся мука, вода, соль и дрожжи.\n\n"
    "1. Смешайте муку, соль и дрожжи, добавьте тёплую воду.\n"
    "2. Замесите тесто и оставьте его подниматься на час.\n"
    "3. Сформируйте буханку и выпекайте хлеб при 220 °C около 40 минут.\n\n"
    "Готовый хлеб остудите на решётке, прежде чем резать."
)
ZH_HANS_Q = "如何提高学习效率？"
ZH_HANS_GOOD = (
    "提高学习效率可以从以下几个方面入手：\n\n"
    "1. 制定明确的学习计划，把大目标拆成每天可以完成的小任务。\n"
    "2. 保持专注，学习时关掉手机通知，减少干扰。\n"
    "3. 及时复习，利用间隔重复巩固记忆。\n"
    "4. 保证充足的睡眠和适量的运动。\n\n"
    "坚持这些方法，学习效率会逐步提高。"
)


def ranked(prompt: str, answers: list[str]) -> list[float]:
    columns = HeuristicScorer().score([qa(prompt, a) for a in answers])
    return columns["heuristics_score"].to_pylist()


def strictly_decreasing(values: list[float]) -> bool:
    return all(a > b for a, b in zip(values, values[1:]))


def test_ranks_complete_over_truncated_over_refusal():
    en = ranked(
        TEA,
        [
            TEA_ANSWER,
            TEA_ANSWER[: TEA_ANSWER.index("5. Remove")] + "5. Remove the tea, then add milk, sug",
            "I'm sorry, but I can't help with that request.",
        ],
    )
    assert strictly_decreasing(en), en
    ru = ranked(
        RU_Q, [RU_A, RU_A[: RU_A.index("при 220")] + "при", "Извините, но я не могу помочь с этим."]
    )
    assert strictly_decreasing(ru), ru
    zh = ranked(
        ZH_HANS_Q,
        [
            ZH_HANS_GOOD,
            ZH_HANS_GOOD[: ZH_HANS_GOOD.index("3.")] + "3. 及时复习，利用间隔重复巩",
            "抱歉，作为一个AI语言模型，我无法回答这个问题。",
        ],
    )
    assert strictly_decreasing(zh), zh


def test_a_sentence_when_one_is_asked_beats_an_essay():
    for question, sentence, essay in [
        (
            "In one sentence, what is photosynthesis?",
            "Photosynthesis is the process by which plants use sunlight, water and carbon "
            "dioxide to make sugar and release oxygen.",
            ("Photosynthesis is a complex process with a long history of research. " * 3)
            + prose(400, seed=11),
        ),
        (
            "请用一句话解释什么是光合作用。",
            "光合作用是植物利用阳光、水和二氧化碳制造糖类并释放氧气的过程。",
            "光合作用是一个非常复杂的过程，涉及许多步骤和物质。" * 30,
        ),
        (
            "Кратко: что такое фотосинтез?",
            "Фотосинтез — это процесс, при котором растения с помощью света создают сахар из "
            "воды и углекислого газа.",
            "Фотосинтез — сложный процесс, который изучают много лет, и о нём можно говорить "
            "долго. " * 25,
        ),
    ]:
        scores = ranked(question, [sentence, essay])
        assert scores[0] > scores[1], question


def test_a_code_block_beats_prose_for_a_code_question():
    question = "Write a Python function that checks whether a string is a palindrome."
    code = (
        "Here is a function:\n\n```python\ndef is_palindrome(s: str) -> bool:\n"
        "    s = s.lower()\n    return s == s[::-1]\n```\n\nIt compares the string with its reverse."
    )
    prose_answer = (
        "To check whether a string is a palindrome, you lower-case the string and then compare "
        "it with the same string reversed; if the two are equal, the string reads the same in "
        "both directions and is a palindrome, otherwise it is not."
    )
    assert len(prose_answer) > len(code) - 40
    scores = ranked(question, [code, prose_answer])
    assert scores[0] > scores[1]


def test_the_wrong_script_loses_for_a_traditional_chinese_question():
    scores = ranked(ZH_HANT_Q, [ZH_HANT_A, ZH_HANS_A])
    assert scores[0] > scores[1]
    english = "Typhoons form over warm tropical seas where evaporating water releases heat. " * 3
    assert ranked(ZH_HANT_Q, [ZH_HANT_A, english])[0] > ranked(ZH_HANT_Q, [english])[0]


def test_junk_loses_to_the_clean_answer():
    loop = TEA_ANSWER[:200] + " Boil the water and add the tea." * 30
    leak = TEA_ANSWER + "\nUSER: thanks!\nASSISTANT: You're welcome! USER: more?"
    boiler = "As an AI language model, I can tell you: " + TEA_ANSWER + " I hope this helps!"
    off_topic = (
        "The stock market closed higher on Friday as investors bought shares of banks, "
        "energy companies and technology firms, while bond yields fell slightly. " * 4
    )
    scores = ranked(TEA, [TEA_ANSWER, loop, leak, boiler, off_topic])
    assert all(scores[0] > s for s in scores[1:]), scores


def test_different_answers_rarely_tie():
    """The score is continuous: answers of different lengths or content get different scores."""
    answers = [prose(20 + 7 * k, seed=k) for k in range(40)]
    scores = ranked("Tell me about rivers.", answers)
    assert len(set(scores)) == len(scores)


def test_deterministic_and_independent_of_the_batch():
    conversations = [CASES[n] for n in NAMES]
    first = HeuristicScorer().score(conversations)
    again = HeuristicScorer().score(conversations)
    for name in first:
        assert first[name].equals(again[name]), name
    # each row's values do not depend on the other rows of the batch, nor on their order
    order = list(reversed(range(len(conversations))))
    shuffled = HeuristicScorer().score([conversations[i] for i in order])
    alone = [HeuristicScorer().score([c]) for c in conversations[:8]]
    for name in first:
        back = shuffled[name].take(pa.array(order)).to_pylist()
        assert back == first[name].to_pylist(), name
        assert [a[name][0].as_py() for a in alone] == first[name].to_pylist()[:8], name


def test_learned_weights_are_the_same_terms_reweighted(columns):
    learned = HeuristicScorer(weights="learned")
    weights = learned.term_weights()
    assert set(weights) == set(heuristics.TERMS) and weights != WEIGHTS
    assert learned.params()["weights_from"] == "learned"
    assert learned.identity()["weights_sha256"] != ""
    out = pa.table(learned.score([CASES[n] for n in NAMES]))
    base = pa.table(columns)
    for name in base.column_names:  # every column but the score is the same
        if name != "heuristics_score":
            assert out.column(name).equals(base.column(name)), name
    values = heuristics.terms(
        {k.removeprefix("heuristics_"): base.column(k) for k in base.column_names}
    )
    expected = sum(weights[t] * values[t] for t in heuristics.TERMS)
    ok = base.column("heuristics_status").to_numpy(False) == "ok"
    got = out.column("heuristics_score").to_numpy(zero_copy_only=False)
    np.testing.assert_allclose(got[ok].astype(np.float64), expected[ok], atol=1e-5)
    with pytest.raises(ValueError):
        HeuristicScorer(weights="nonsense").score([CASES["good"]])


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
    assert manifest["params"]["identity"] == {"scorer": "heuristics", "version": 2}
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


def _preference_sets():
    """``benchmarks/preference_sets.py`` (not a package): the loaders of the preference data."""
    import importlib.util
    import sys
    from pathlib import Path

    if "preference_sets" in sys.modules:
        return sys.modules["preference_sets"]
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "preference_sets.py"
    spec = importlib.util.spec_from_file_location("preference_sets", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["preference_sets"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_agrees_with_real_preferences_more_than_length_does(shared_data):
    """GPT-4-graded Russian pairs and strong-vs-weak model answers (BENCHMARKS.md has all sets)."""
    ps = _preference_sets()
    for name in ("rulm_ru", "mtbench_ru", "zh_tw_bench"):
        pairs = ps.LOADERS[name](shared_data)
        conversations = [c for p in pairs for c in p.conversations()]
        columns = HeuristicScorer().score(conversations)
        score = columns["heuristics_score"].to_numpy(zero_copy_only=False)
        chars = columns["heuristics_chars"].to_numpy(zero_copy_only=False)

        def agreement(values):
            c, r = values[0::2], values[1::2]
            return np.mean(np.where(c > r, 1.0, np.where(c == r, 0.5, 0.0)))

        assert agreement(score) > agreement(chars) + 0.02, name
        assert np.mean(score[0::2] == score[1::2]) < 0.01, name  # no ties


def test_the_learned_weights_are_a_preset():
    from scorers.registry import resolve

    hand, learned = resolve("heuristics"), resolve("heuristics-learned")
    assert (hand.key, hand.weights) == ("heuristics", "hand")
    assert (learned.key, learned.weights) == ("heuristics-learned", "learned")
    assert learned.term_weights() != hand.term_weights()
    assert learned.params() != hand.params()  # another manifest: never mixed with the hand one


def test_a_reply_in_the_language_asked_for_is_not_a_mismatch():
    from scorers.heuristics import HeuristicScorer

    scorer = HeuristicScorer()
    asked = [
        (
            'Translate the sentence "It\'s been a long day" into Japanese.',
            "今日は長い一日だった。本当に疲れました。",
        ),
        (
            "请用英文介绍一下你自己，包括你的爱好和工作。",
            "Hello! I am a software engineer who loves hiking and reading.",
        ),
        (
            "Переведи на английский: Я люблю читать книги по вечерам.",
            "I love reading books in the evenings, it is my favourite.",
        ),
    ]
    not_asked = [
        (
            "What is the capital of France and why is it famous?",
            "法国的首都是巴黎，它以埃菲尔铁塔和卢浮宫闻名于世界。",
        ),
        (
            "请介绍一下你自己，包括你的爱好和工作。",
            "Hello! I am a software engineer who loves hiking and reading.",
        ),
    ]
    conversations = [
        [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
        for q, a in asked + not_asked
    ]
    columns = scorer.run(scorer.prepare(conversations))
    assert columns["heuristics_lang_match"].to_pylist() == [True] * 3 + [False] * 2
