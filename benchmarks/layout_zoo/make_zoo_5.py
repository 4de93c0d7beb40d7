"""Layout zoo, cases 33-38: hand-written records imitating public files (see make_zoo.py)."""

from zoo_lib import ING, UA, case, jarr, jsonl, parquet


def build() -> None:
    """Write these cases under zoo_lib's current root."""

    # ---------------------------------------------------------------- 33 TaiwanChat (both conversations and messages in each row)
    C = "33_taiwanchat"
    TC = [
        (
            "請問台灣的國定假日有哪些？",
            "台灣的國定假日包括中華民國開國紀念日、農曆春節、和平紀念日、兒童節及民族掃墓節、勞動節、端午節、中秋節和國慶日。",
        ),
        ("幫我把這段話翻成英文：今天的捷運好擠。", "The MRT is really crowded today."),
        ("高雄有什麼必吃的小吃？", "推薦六合夜市的木瓜牛奶、鹽埕區的碗粿，以及旗津的海產粥。"),
    ]
    parquet(
        C,
        "data/train-00000-of-00001.parquet",
        [
            {
                "conversations": [{"from": "human", "value": q}, {"from": "gpt", "value": a}],
                "id": f"twchat_{i:06d}",
                "messages": [{"content": q, "role": "user"}, {"content": a, "role": "assistant"}],
            }
            for i, (q, a) in enumerate(TC)
        ],
    )
    case(
        C,
        "yentinglin/TaiwanChat dataset card (conversations[{from,value}], id, messages[{content,role}]) parquet",
        {
            "data/train-00000-of-00001.parquet": ING(
                3, roles=UA, lang="zh-Hant", user_contains="國定假日"
            )
        },
        "Each row holds the same chat twice (ShareGPT and OpenAI fields): a user expects one conversation per row, not two and not a layout error.",
    )

    # ---------------------------------------------------------------- 34 ru_turbo_alpaca
    C = "34_ru_turbo_alpaca"
    jsonl(
        C,
        "ru_turbo_alpaca.jsonl",
        [
            {
                "instruction": "Предложи несколько рекомендаций для создания успешного бизнеса в 21 веке.",
                "input": "",
                "output": "1. Изучайте потребности клиентов.\n2. Используйте соцсети.\n3. Автоматизируйте рутину.",
                "alternative_output": "Слушайте клиентов, используйте цифровые каналы продаж и автоматизируйте процессы, а также постоянно учитесь.",
                "label": "ok",
                "all_labels": ["ok", "ok", "bad"],
                "agreement": 0.67,
                "overlap": 3,
            },
            {
                "instruction": "Определи, является ли утверждение фактом или мнением.",
                "input": "Москва — столица России.",
                "output": "Это факт.",
                "alternative_output": "Это факт: Москва официально является столицей России.",
                "label": "ok",
                "all_labels": ["ok", "ok", "ok"],
                "agreement": 1.0,
                "overlap": 3,
            },
            {
                "instruction": "Напиши короткое поздравление с днём рождения для коллеги.",
                "input": "",
                "output": "С днём рождения! Желаю успехов, вдохновения и отличного настроения!",
                "alternative_output": "Поздравляю с днём рождения! Пусть работа радует, а коллеги поддерживают.",
                "label": None,
                "all_labels": [],
                "agreement": None,
                "overlap": None,
            },
        ],
    )
    case(
        C,
        "IlyaGusev/ru_turbo_alpaca (instruction, input, output, alternative_output, label, all_labels, agreement, overlap; usage in rulm create_chat_set.py)",
        {"ru_turbo_alpaca.jsonl": ING(3, roles=UA, lang="ru", user_contains="успешного бизнеса")},
        "Alpaca-style Russian rows: one conversation per row (output as the answer), labels kept as metadata.",
    )

    # ---------------------------------------------------------------- 35 gpt_roleplay_realm (characters with several topic dialogues, role 'char')
    C = "35_gpt_roleplay_realm"
    jsonl(
        C,
        "ru/train.jsonl",
        [
            {
                "name": "Кот-учёный",
                "context": "Кот-учёный живёт у лукоморья на золотой цепи, знает все сказки и любит поучать путников.",
                "greeting": "Мур! Присаживайся, путник, расскажу тебе сказку.",
                "example_dialogue": [
                    {"role": "user", "content": "Кто ты?"},
                    {"role": "char", "content": "Я Кот-учёный, хранитель сказок у лукоморья."},
                ],
                "topics": [
                    {
                        "topic": "Любимая сказка",
                        "dialogue": [
                            {"role": "user", "content": "Какая твоя любимая сказка?"},
                            {
                                "role": "char",
                                "content": "Конечно, про Руслана и Людмилу — в ней есть и богатырь, и колдун!",
                            },
                            {"role": "user", "content": "А чем она заканчивается?"},
                            {
                                "role": "char",
                                "content": "Руслан побеждает Черномора и возвращает Людмилу домой.",
                            },
                        ],
                    },
                    {
                        "topic": "Цепь",
                        "dialogue": [
                            {"role": "user", "content": "Тебе не тяжело на цепи?"},
                            {
                                "role": "char",
                                "content": "Цепь золотая, да и ходить по ней — лучшая зарядка для кота!",
                            },
                        ],
                    },
                ],
                "char_id": "a1b2c3d4",
                "image_prompt": "a wise cat on a golden chain by an oak tree, fairy tale illustration",
            },
            {
                "name": "Капитан Немо",
                "context": "Загадочный капитан подводной лодки «Наутилус», учёный и изгнанник.",
                "greeting": "Добро пожаловать на борт «Наутилуса».",
                "example_dialogue": [
                    {"role": "user", "content": "Куда мы плывём?"},
                    {
                        "role": "char",
                        "content": "Туда, где нет ни королей, ни налогов, — в глубины океана.",
                    },
                ],
                "topics": [
                    {
                        "topic": "Океан",
                        "dialogue": [
                            {
                                "role": "user",
                                "content": "Что самое удивительное вы видели под водой?",
                            },
                            {
                                "role": "char",
                                "content": "Затонувшую Атлантиду, освещённую подводным вулканом.",
                            },
                        ],
                    }
                ],
                "char_id": "e5f6a7b8",
                "image_prompt": "captain nemo in the nautilus salon, victorian submarine interior",
            },
        ],
    )
    case(
        C,
        "IlyaGusev/gpt_roleplay_realm (name, context, greeting, example_dialogue[{role: user|char}], topics[{topic, dialogue}], char_id, image_prompt); char seeds as in ../shared/data/rulm_ru/ru_chargen_seed.jsonl",
        {"ru/train.jsonl": ING(None, lang="ru")},
        "Character cards with several topic dialogues: a user expects the dialogues ingested (char speaking as assistant, the card as context), not the card rejected.",
    )

    # ---------------------------------------------------------------- 36 COIG-CQIA
    C = "36_coig_cqia"
    jsonl(
        C,
        "ruozhiba/ruozhiba_ruozhiba.jsonl",
        [
            {
                "instruction": "只剩一个心脏了还能活吗？",
                "input": "",
                "output": "能，人本来就只有一个心脏。",
                "task_type": {"major": ["问答"], "minor": ["逻辑问答", "脑筋急转弯"]},
                "domain": ["通用"],
                "metadata": "暂无元数据信息",
                "answer_from": "llm",
                "human_verified": True,
                "copyright": "暂无版权及作者信息",
            },
            {
                "instruction": "为什么长寿的碰巧都是老年人？",
                "input": "",
                "output": "因为“长寿”本身就意味着活到了老年，这是定义决定的，不是碰巧。",
                "task_type": {"major": ["问答"], "minor": ["逻辑问答"]},
                "domain": ["通用"],
                "metadata": "暂无元数据信息",
                "answer_from": "llm",
                "human_verified": True,
                "copyright": "暂无版权及作者信息",
            },
            {
                "instruction": "请解释成语“画蛇添足”的意思并造句。",
                "input": "",
                "output": "“画蛇添足”比喻做了多余的事，反而弄巧成拙。例句：报告已经很清楚了，再加这么多图表就是画蛇添足。",
                "task_type": {"major": ["问答"], "minor": ["成语解释"]},
                "domain": ["教育"],
                "metadata": "",
                "answer_from": "human",
                "human_verified": True,
                "copyright": "暂无版权及作者信息",
            },
        ],
    )
    case(
        C,
        "m-a-p/COIG-CQIA dataset card (instruction, input, output, task_type{major,minor}, domain[], metadata, answer_from, human_verified, copyright)",
        {
            "ruozhiba/ruozhiba_ruozhiba.jsonl": ING(
                3, roles=UA, lang="zh-Hans", user_contains="心脏"
            )
        },
        "Alpaca fields plus nested metadata: one zh-Hans conversation per row; task_type/domain kept as metadata.",
    )

    # ---------------------------------------------------------------- 37 alpaca_gpt4_zh (+ language-label probes)
    C = "37_alpaca_gpt4_zh"
    jarr(
        C,
        "alpaca_gpt4_data_zh.json",
        [
            {
                "instruction": "保持健康的三个提示。",
                "input": "",
                "output": "1. 保持规律运动，每周至少150分钟。\n2. 均衡饮食，多吃蔬菜水果。\n3. 保证充足睡眠，每晚7到8小时。",
            },
            {
                "instruction": "翻译：Have one foot in the grave",
                "input": "",
                "output": "行将就木；半截身子入土。形容年老体衰，离死亡不远。",
            },
            {
                "instruction": "心电图提示ST段抬高，这说明什么？",
                "input": "",
                "output": "ST段抬高常见于急性心肌梗死，也可见于心包炎或早期复极，需要结合症状和心肌酶结果尽快就医判断。",
            },
        ],
    )
    case(
        C,
        "hiyouga/LLaMA-Factory data/alpaca_gpt4_data_zh.json (Alpaca instruction/input/output, JSON array)",
        {
            "alpaca_gpt4_data_zh.json": ING(
                3,
                roles=UA,
                lang="zh-Hans",
                user_contains="保持健康",
                some=[
                    {"user_contains": "Have one foot in the grave", "lang": "zh-Hans"},
                    {"user_contains": "ST段抬高", "lang": "zh-Hans"},
                ],
            )
        },
        "Language labels: a Chinese translation request quoting an English idiom, and a Simplified medical question with the Latin 'ST', are still zh-Hans.",
    )

    # ---------------------------------------------------------------- 38 TMMLU+ multiple-choice items (parquet)
    C = "38_tmmluplus_mc"
    parquet(
        C,
        "tmmluplus-dentistry/test-00000-of-00001.parquet",
        [
            {
                "id": "0",
                "question": "下列何者為恆牙中最早萌發的牙齒？",
                "A": "上顎正中門齒",
                "B": "下顎第一大臼齒",
                "C": "上顎犬齒",
                "D": "下顎第二小臼齒",
                "answer": "B",
                "category": "health",
                "subcategory": "dentistry",
                "subject": "dentistry",
            },
            {
                "id": "1",
                "question": "齲齒最主要的致病菌為何？",
                "A": "轉糖鏈球菌",
                "B": "大腸桿菌",
                "C": "金黃色葡萄球菌",
                "D": "綠膿桿菌",
                "answer": "A",
                "category": "health",
                "subcategory": "dentistry",
                "subject": "dentistry",
            },
            {
                "id": "2",
                "question": "氟化物預防齲齒的主要機轉為何？",
                "A": "增加唾液分泌",
                "B": "形成氟磷灰石，提高琺瑯質抗酸性",
                "C": "殺死所有口腔細菌",
                "D": "使牙齒變白",
                "answer": "B",
                "category": "health",
                "subcategory": "dentistry",
                "subject": "dentistry",
            },
        ],
    )
    case(
        C,
        "MediaTek-Research/TCEval-v2 tmmluplus-* configs (id, question, A, B, C, D, answer, category, subcategory, subject); ikala/tmmluplus (question, A-D, answer)",
        {
            "tmmluplus-dentistry/test-00000-of-00001.parquet": ING(
                3, lang="zh-Hant", user_contains="恆牙"
            )
        },
        "Multiple-choice exam items: a user putting them in expects the question with its options as the prompt (answer letter as the reply, or prompt-only), labelled zh-Hant — not an unrecognized layout.",
    )
