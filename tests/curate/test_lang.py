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
    assert accuracy == 1.0, accuracy  # 248/248


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


# -- issue 14: labels a reader would give ------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        # "Dan" is also Indonesian "and": as a capitalised name it is no evidence.
        "Dan has two times as many stickers as Tom. Tom has 5 stickers. How many stickers "
        "does Dan have?",
        "Dan and Ini went to the market. Dan bought 3 apples and Ini bought 2.",
        "Sara has 12 marbles. She gives 4 to Die. How many marbles does Sara have now?",
        "List three films: Die Hard, Les Miserables, El Mariachi.",
        "We've got two dogs and they've eaten all the biscuits already.",
    ],
)
def test_english_with_names_that_are_foreign_function_words(text):
    assert lang.detect([text])[0] == ["en"]


@pytest.mark.parametrize(
    "text",
    [
        "Saya ingin makan nasi goreng dan minum teh manis di rumah yang besar itu",
        "Dan ini adalah buku yang saya beli untuk adik saya kemarin.",  # Indonesian
        "Pumunta ako sa palengke kahapon at bumili ng mga gulay para sa hapunan.",  # Tagalog
        "Le chat est sur la table et le chien dort dans le jardin.",  # French, no accents
        "La vie est un marathon, pas un sprint.",  # sentence-initial La counts
        "El perro de mi vecino come mucho y duerme todo el dia en el jardin.",  # Spanish
        "La vida es un viaje, no un destino.",
        "Ich bin nicht sicher, ob das eine gute Idee ist, aber wir versuchen es.",  # German
        "Das Wetter ist heute sehr schoen und die Kinder spielen im Garten.",
        "Ni hao, wo shi Zhang Wei. Wo bu zhidao ta zai nali, ni zhidao ma?",  # pinyin
    ],
)
def test_other_latin_languages_without_diacritics_stay_other(text):
    assert lang.detect([text])[0] == ["other"]


@pytest.mark.parametrize(
    "text",
    [
        "What is the Gödel's Incompleteness Theorem?",
        "Méliès bought 3 cameras for $50 each and sold them for $80. How much did he earn?",
        'Translate the sentence "Dónde está la estación de autobuses?" into English.',
        "Generate a résumé for a software engineer who has ten years of experience.",
        "Why did the chicken go to the séance? To get to the other side.",
    ],
)
def test_english_with_a_few_diacritics_is_english(text):
    assert lang.detect([text])[0] == ["en"]


@pytest.mark.parametrize(
    "text",
    [
        "Je voudrais réserver une table pour deux personnes ce soir, s'il vous plaît.",
        "La société a été créée en 1998 et elle a développé des systèmes de sécurité.",
        "¿Cuál es la capital de España y qué idioma se habla allí?",
        "Me gustaría saber cuántos habitantes tiene la ciudad más grande de México.",
        "Ich möchte heute Abend einen Tisch für zwei Personen reservieren.",
        "Die Größe der Wohnung ist für eine Familie mit drei Kindern völlig ausreichend.",
        "Chciałbym zarezerwować stolik dla dwóch osób na dzisiejszy wieczór.",  # Polish
        "A macska a kertben alszik, és a kutya a házban fekszik.",  # Hungarian: a = the
        # Heavy diacritics (~30% of the letters): never English.
        "Tôi muốn đặt một bàn cho hai người vào tối nay, cảm ơn bạn rất nhiều.",
    ],
)
def test_other_latin_languages_with_diacritics_stay_other(text):
    assert lang.detect([text])[0] == ["other"]


def test_common_simplified_characters_are_not_traditional_only():
    t_only, s_only = lang._load_han_variants()
    # OpenCC's TWVariants keys and values that mainland text uses as well.
    assert not set("抬着著睾痹幺檐") & set(t_only)
    # Conversion to Simplified merges a variant into them, but Taiwan writes them too.
    assert not set("教即查真旗糖累既棋峰床雇") & set(s_only)
    assert set("們這裡為眾") <= set(t_only) and set("们这里为众") - {"里"} <= set(s_only)
    assert lang.detect(["ST段抬高"])[0] == ["zh"]  # no character of it is script-specific
    assert lang.detect(["心电图显示ST段抬高，需要进一步检查"])[0] == ["zh-Hans"]
    assert lang.detect(["他笑着抬起头来"])[0] == ["zh-Hans"]


def test_simplified_medical_texts_have_no_traditional_only_character(shared_data):
    """A mainland medical SFT set: not one character of the T-only table."""
    path = shared_data / "medicalgpt_zh" / "medical_sft_1K_format.jsonl"
    texts = [
        turn["value"]
        for line in path.read_bytes().splitlines()
        if line.strip()
        for turn in orjson.loads(line)["conversations"]
    ]
    counts = lang.count_classes(texts)
    assert counts[:, lang.HAN_S].sum() > 1000
    assert counts[:, lang.HAN_T].sum() == 0


def test_code_is_left_out_when_prose_remains():
    body = "\n".join(
        f"    x{i} = compute(data[{i}], factor={i}) + offset  # step {i}" for i in range(30)
    )
    question = "Почему этот код падает с ошибкой? Объясни, пожалуйста."
    text = f"{question}\n```python\ndef main():\n{body}\n    return x0\n```"
    assert lang.detect([text])[0] == ["ru"]
    inline = "Что делает `np.bincount(rows * n_classes + classes, minlength=n)` в этом коде?"
    assert lang.detect([inline])[0] == ["ru"]
    unclosed = f"Объясни этот код:\n```python\n{body}"
    assert lang.detect([unclosed])[0] == ["ru"]
    # Only code: decided on the whole text.
    assert lang.detect(["```python\nprint('hello there, my friend')\n```"])[0] == ["en"]
    assert lang.detect(["`x`"])[0] == ["en"]
    # In a conversation too, on either side.
    overall, user, assistant, _ = lang.detect_conversations(
        [text], [f"Ошибка в строке 3: переменная не определена.\n```python\n{body}\n```"]
    )
    assert (overall, user, assistant) == (["ru"], ["ru"], ["ru"])


@pytest.mark.parametrize(
    "text, expected",
    [
        ("翻译：Have one foot in the grave", "zh-Hans"),
        ("翻譯：Have one foot in the grave", "zh-Hant"),
        ("请把下面这句话翻译成中文: The early bird catches the worm.", "zh-Hans"),
        ("Переведи на английский: Я люблю тебя всем сердцем", "ru"),
        ("Переведи: Have one foot in the grave", "ru"),
        # Latin heads never decide.
        ("Question: 我们今天晚上去哪里吃饭？请给我一些建议。", "zh-Hans"),
        ("Translate into English: 我们今天晚上去哪里吃饭？", "zh-Hans"),
        # Too short a head, a line break before the colon, a colon past 60 characters.
        ("例: Have one foot in the grave, it means being close to death", "en"),
        ("翻译\nText: Have one foot in the grave, it means being close to death", "en"),
        ("x" * 61 + "翻译：Have one foot in the grave, it means being close to death", "en"),
    ],
)
def test_instruction_head_decides_over_a_latin_payload(text, expected):
    assert lang.detect([text])[0] == [expected]


def test_instruction_head_in_conversations():
    prompt = "翻译：Have one foot in the grave"
    overall, user, assistant, script = lang.detect_conversations([prompt, prompt], ["", "行将就木"])
    assert overall == ["zh-Hans", "zh-Hans"] and user == ["zh-Hans", "zh-Hans"]
    assert assistant == ["und", "zh-Hans"] and script == ["Hans", "Hans"]
    # The assistant side is an answer, not an instruction: its Latin body decides it.
    _, _, assistant, _ = lang.detect_conversations(
        ["列出三本书"], ["书单：The Great Gatsby, Pride and Prejudice, and Moby Dick"]
    )
    assert assistant == ["en"]
