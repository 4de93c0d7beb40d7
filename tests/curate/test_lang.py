import orjson
import pytest

from curate import lang


@pytest.mark.parametrize(
    "text, expected",
    [
        ("How do I bake bread at home?", "en"),
        ("Name 5 invasive species. 1. Zebra mussels 2. Kudzu", "en"),
        ("我們今天晚上去哪裡吃飯？請給我一些建議。", "zh-Hant"),
        ("我们今天晚上去哪里吃饭？请给我一些建议。", "zh-Hans"),
        ("你好", "zh"),  # no script-specific character: undetermined script
        ("Как приготовить борщ дома?", "ru"),
        ("Привіт, як справи? Я живу в Києві і їм хліб.", "uk"),
        ("今日はとても良い天気ですね。散歩に行きましょう。", "ja"),
        ("오늘 날씨가 정말 좋네요", "ko"),
        ("Je voudrais réserver une table pour deux personnes ce soir.", "other"),
        ("Saya ingin makan nasi goreng dan minum teh manis di rumah yang besar itu", "other"),
        ("91-33=", "und"),
        ("", "und"),
    ],
)
def test_detect(text, expected):
    assert lang.detect([text])[0] == [expected]


def test_cjk_outweighs_embedded_english_code():
    text = "請幫我解釋這段程式碼的作用：for i in range(10): print(i)"
    assert lang.detect([text])[0] == ["zh-Hant"]


def test_conversation_sides_are_detected_separately():
    overall, user, assistant, script = lang.detect_conversations(
        ["請用繁體中文回答：什麼是機器學習？"],
        ["机器学习是人工智能的一个分支，它让计算机从数据中学习。"],
    )
    assert user == ["zh-Hant"] and assistant == ["zh-Hans"]
    assert overall[0] in ("zh-Hant", "zh-Hans") and script[0] in ("Hant", "Hans")


def test_long_texts_only_count_their_head():
    counts = lang.count_classes(["Ж" * (lang.MAX_CHARS + 500)])
    assert counts[0, lang.CYR] == lang.MAX_CHARS


def test_traditional_and_simplified_pairs(shared_data):
    """The labelled pair set: the same 124 prompts in both scripts."""
    folder = shared_data / "prompts_zh_hans_hant"
    simplified = [r["prompt"] for r in orjson.loads((folder / "prompts-zh.json").read_bytes())]
    traditional = [r["prompt"] for r in orjson.loads((folder / "prompts-zh-TW.json").read_bytes())]
    got_s, _ = lang.detect(simplified)
    got_t, _ = lang.detect(traditional)
    accuracy = (sum(g == "zh-Hans" for g in got_s) + sum(g == "zh-Hant" for g in got_t)) / (
        2 * len(simplified)
    )
    assert accuracy >= 0.99, accuracy


def test_russian_and_english_mt_bench_questions(shared_data):
    folder = shared_data / "mtbench_ru"
    ru = [
        orjson.loads(line)["turns"][0]
        for line in (folder / "question_ru.jsonl").read_bytes().splitlines()
    ]
    en = [
        orjson.loads(line)["turns"][0]
        for line in (folder / "question_en.jsonl").read_bytes().splitlines()
    ]
    assert lang.detect(ru)[0].count("ru") >= 0.95 * len(ru)
    assert lang.detect(en)[0].count("en") >= 0.95 * len(en)
