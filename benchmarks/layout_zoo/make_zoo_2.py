"""Layout zoo, cases 08-13: hand-written records imitating public files (see make_zoo.py)."""

from zoo_lib import IGNORED, ING, JOINED, REF, UA, UAUA, case, jarr, jsonl, parquet, raw


def build() -> None:
    """Write these cases under zoo_lib's current root."""

    # ---------------------------------------------------------------- 08 mt_bench_ru: two question files, answers named (or not) by language
    C = "08_mt_bench_ru_two_question_files"
    EN = {
        81: [
            "Compose an engaging travel blog post about a recent trip to Hawaii, highlighting cultural experiences and must-see attractions.",
            "Rewrite your previous response. Start every sentence with the letter A.",
        ],
        101: [
            "Imagine you are participating in a race with a group of people. If you have just overtaken the second person, what's your current position? Where is the person you just overtook?",
            'If the "second person" is changed to "last person" in the above question, what would the answer be?',
        ],
    }
    RU = {
        81: [
            "Напишите увлекательный пост в блоге о недавней поездке на Гавайи, рассказывая о культурном опыте и главных достопримечательностях.",
            "Перепишите свой предыдущий ответ. Начинайте каждое предложение с буквы А.",
        ],
        101: [
            "Представьте, что вы участвуете в забеге. Если вы только что обогнали второго участника, на каком вы месте? Где тот, кого вы обогнали?",
            "Если в вопросе выше заменить «второго участника» на «последнего участника», каким будет ответ?",
        ],
    }
    cat = {81: "writing", 101: "reasoning"}
    jsonl(
        C,
        "llm_judge/data/mt_bench/question.jsonl",
        [{"question_id": k, "category": cat[k], "turns": v} for k, v in EN.items()],
    )
    jsonl(
        C,
        "llm_judge/data/mt_bench/question_ru.jsonl",
        [{"question_id": k, "category": cat[k], "turns": v} for k, v in RU.items()],
        ascii=True,
    )

    def ans(model, turns_by_q, ascii=True):
        return [
            {
                "question_id": k,
                "answer_id": f"{model[:6]}{k}xAbCdEfGhIjKlMnOp",
                "model_id": model,
                "choices": [{"index": 0, "turns": t}],
                "tstamp": 1700000000.0 + k,
            }
            for k, t in turns_by_q.items()
        ]

    RU_ANS = {
        81: [
            "Недавно я побывал на Гавайях: танцевал хулу на празднике луау, пробовал поке и поднимался к кратеру Халеакала на рассвете.",
            "А началось всё с праздника луау. А потом был вкусный поке. А рассвет над Халеакалой я не забуду никогда.",
        ],
        101: [
            "Если вы обогнали второго, вы теперь на втором месте, а обогнанный — на третьем.",
            "Обогнать последнего невозможно, если вы сами не последний: вопрос содержит противоречие.",
        ],
    }
    EN_ANS = {
        81: [
            "Welcome to my newest post! Hawaii greeted me with a luau, fresh poke and a sunrise hike up Haleakalā.",
            "A luau welcomed me on the first night. A bowl of poke became my daily lunch. A sunrise on Haleakalā was the highlight.",
        ],
        101: [
            "You are now in second place; the person you overtook is third.",
            "You cannot overtake the last person unless you were behind them, which is impossible; the question is contradictory.",
        ],
    }
    jsonl(
        C,
        "llm_judge/data/mt_bench/model_answer/mt_bench_ru_gigachat.jsonl",
        ans("mt_bench_ru_gigachat", RU_ANS),
        ascii=True,
    )
    jsonl(
        C,
        "llm_judge/data/mt_bench/model_answer/mt_bench_en_gigachat.jsonl",
        ans("mt_bench_en_gigachat", EN_ANS),
        ascii=True,
    )
    MIS = {
        81: [
            "Заголовок: «Незабываемые Гавайи». Остров Оаху встретил меня гирляндами лей, музыкой укулеле и закатом на пляже Вайкики.",
            "А началось путешествие на Оаху. А продолжилось на вулкане Килауэа. А закончилось закатом на Вайкики.",
        ],
        101: [
            "Вы на втором месте, обогнанный участник теперь третий.",
            "Если вы обогнали последнего, значит, вы были позади него — это невозможно.",
        ],
    }
    jsonl(
        C,
        "llm_judge/data/mt_bench/model_answer/Mistral-7B-OpenOrca.jsonl",
        ans("Mistral-7B-OpenOrca", MIS),
        ascii=True,
    )
    jsonl(
        C,
        "llm_judge/data/judge_prompts_ru.jsonl",
        [
            {
                "name": "pair-v2",
                "type": "pairwise",
                "system_prompt": 'Пожалуйста, действуйте как беспристрастный судья и оцените качество ответов, предоставленных двумя помощниками ИИ на вопрос пользователя, показанный ниже. Выведите окончательный вердикт строго в формате: "[[A]]", если помощник A лучше, "[[B]]", если лучше помощник B, и "[[C]]" при ничьей.',
                "prompt_template": "[Вопрос пользователя]\n{question}\n\n[Начало ответа помощника A]\n{answer_a}\n[Конец ответа помощника A]\n\n[Начало ответа помощника B]\n{answer_b}\n[Конец ответа помощника B]",
                "description": "Prompt for general questions",
                "category": "general",
                "output_format": "[[A]]",
            },
            {
                "name": "single-v1",
                "type": "single",
                "system_prompt": "Вы полезный помощник.",
                "prompt_template": '[Инструкция]\nПожалуйста, выступите в роли беспристрастного судьи и оцените ответ помощника ИИ по шкале от 1 до 10 в формате "[[оценка]]".\n\n[Вопрос]\n{question}\n\n[Начало ответа помощника]\n{answer}\n[Конец ответа помощника]',
                "description": "Prompt for general questions",
                "category": "general",
                "output_format": "[[rating]]",
            },
        ],
    )
    case(
        C,
        "dmitrymailk/mt_bench_ru llm_judge/data/mt_bench/{question.jsonl, question_ru.jsonl, model_answer/mt_bench_ru_*.jsonl, mt_bench_en_*.jsonl, Mistral-7B-OpenOrca.jsonl} + llm_judge/data/judge_prompts_ru.jsonl (see ../shared/data/mtbench_ru)",
        {
            "llm_judge/data/mt_bench/question.jsonl": JOINED,
            "llm_judge/data/mt_bench/question_ru.jsonl": JOINED,
            "llm_judge/data/mt_bench/model_answer/mt_bench_ru_gigachat.jsonl": ING(
                2, roles=UAUA, lang="ru", lang_user="ru", user_contains="Гавайи"
            ),
            "llm_judge/data/mt_bench/model_answer/mt_bench_en_gigachat.jsonl": ING(
                2, roles=UAUA, lang="en", lang_user="en", user_contains="trip to Hawaii"
            ),
            "llm_judge/data/mt_bench/model_answer/Mistral-7B-OpenOrca.jsonl": ING(
                2, roles=UAUA, lang="ru", lang_user="ru", user_contains="Гавайи"
            ),
            "llm_judge/data/judge_prompts_ru.jsonl": REF("judge_template", 2),
        },
        "Two question files share the same ids: a user expects each answer file joined with the question file in its own language (told by the file name when it says _ru/_en, by the answer text when it does not), never with both.",
    )

    # ---------------------------------------------------------------- 09 Taiwan-LLM zh_tw_bench (answers keyed by index)
    C = "09_zh_tw_bench"
    TWQ = [
        "我該如何提升我的時間管理技巧？",
        "什麼是最有效的應對壓力的方式？",
        "請推薦三個適合週末帶小孩去的台北景點。",
    ]
    jsonl(
        C,
        "evaluation/zh_tw_bench/question.jsonl",
        [
            {
                "index": i,
                "question_id": i + 1,
                "category": "generic",
                "turns": [q],
                "reference": None,
            }
            for i, q in enumerate(TWQ)
        ],
        ascii=True,
    )
    TWA = [
        "提升時間管理技巧包括設定優先順序、追蹤你的時間、將任務分解成較小的部分，並專注於一個任務。你也可以嘗試番茄工作法。",
        "規律運動、充足睡眠、與朋友聊天，以及練習深呼吸或冥想，都是應對壓力的有效方法。",
        "可以考慮臺北市立動物園、國立臺灣科學教育館，以及大稻埕碼頭的自行車道。",
    ]
    jsonl(
        C,
        "evaluation/zh_tw_bench/model_answer/Taiwan-LLaMa-v1.0.jsonl",
        [
            {"id": str(i), "generated_text": a, "model_name": "yentinglin/Taiwan-LLaMa-v1.0"}
            for i, a in enumerate(TWA)
        ],
        ascii=True,
    )
    CLA = [
        " 以下是提升時間管理技巧的一些建議:\n\n- 制定目標和優先次序。\n- 每天早上花5-10分鐘規劃日程。",
        " 應對壓力可以從作息開始：固定運動、減少咖啡因，並找信任的人傾訴。",
        " 推薦您：兒童新樂園、臺北市立天文科學教育館，以及陽明山的擎天崗草原。",
    ]
    jsonl(
        C,
        "evaluation/zh_tw_bench/model_answer/claude.jsonl",
        [{"id": i, "generated_text": a} for i, a in enumerate(CLA)],
        ascii=True,
    )
    case(
        C,
        "MiuLab/Taiwan-LLM evaluation/zh_tw_bench/{question.jsonl (index, question_id, turns, reference), model_answer/v1.0.jsonl (id str, generated_text, model_name), model_answer/claude.jsonl (id int, generated_text)} (see ../shared/data/zh_tw_bench)",
        {
            "evaluation/zh_tw_bench/question.jsonl": JOINED,
            "evaluation/zh_tw_bench/model_answer/Taiwan-LLaMa-v1.0.jsonl": ING(
                3, roles=UA, lang="zh-Hant", user_contains="時間管理"
            ),
            "evaluation/zh_tw_bench/model_answer/claude.jsonl": ING(
                3, roles=UA, lang="zh-Hant", user_contains="時間管理"
            ),
        },
        "Taiwan-LLM answers only hold id + generated_text; the id is the question's index, so a user expects each answer paired with that question (zh-Hant), not rejected as answers without questions.",
    )

    # ---------------------------------------------------------------- 10 tw_chatbot_arena (zh-Hant arena votes with chosen/rejected)
    C = "10_tw_chatbot_arena"

    def conv(q, a):
        return [
            {"content": q, "num_tokens": len(q), "role": "user"},
            {"content": a, "num_tokens": len(a), "role": "assistant"},
        ]

    TWR = [
        (
            "請用三句話介紹台灣的夜市文化。",
            "台灣夜市是晚上最熱鬧的地方。攤販販售小吃、飲料與遊戲。士林與饒河是觀光客最喜歡的夜市。",
            "夜市很好玩。",
            "model_a",
        ),
        (
            "幫我寫一封婉拒聚餐邀請的簡訊。",
            "謝謝邀請！",
            "謝謝你的邀請，這週末我已經有安排了，沒辦法參加，祝你們玩得愉快，下次再約！",
            "model_b",
        ),
        (
            "「撒嬌女人最好命」是什麼意思？",
            "這句話出自同名電影，意思是懂得撒嬌的女人比較容易得到照顧。",
            "這是一句流行語，指會撒嬌的人更容易得到別人的幫助。",
            "tie",
        ),
        ("颱風天可以去海邊看浪嗎？", "可以，浪很漂亮。", "當然可以，記得拍照。", "tie (bothbad)"),
    ]
    rows = []
    for i, (q, a, b, w) in enumerate(TWR):
        ca, cb = conv(q, a), conv(q, b)
        ch, rj = (cb, ca) if w == "model_b" else (ca, cb)
        rows.append(
            {
                "question_id": f"{i:02d}c7e2f1a9b84d3e9f1c2a5b7d8e0f4a",
                "model_a": "Taiwan-LLM-13B-v2.0-chat",
                "model_b": "gpt-3.5-turbo",
                "winner": w,
                "judge": f"arena_user_{1000 + i}",
                "conversation_a": ca,
                "conversation_b": cb,
                "turn": 1,
                "anony": True,
                "language": "Chinese",
                "tstamp": 1709100000.5 + i,
                "chosen": ch,
                "rejected": rj,
            }
        )
    jsonl(C, "data/train.jsonl", rows)
    case(
        C,
        "aigrant/tw_chatbot_arena dataset card (question_id, model_a, model_b, winner, judge, conversation_a/b[{content,num_tokens,role}], turn, anony, language, tstamp, chosen, rejected)",
        {
            "data/train.jsonl": ING(
                4,
                roles=UA,
                has_rejected=True,
                lang="zh-Hant",
                user_contains="夜市",
                some=[
                    {"user_contains": "撒嬌", "flags": ["preference_tie"]},
                    {"user_contains": "颱風", "flags": ["preference_tie"]},
                    {"user_contains": "婉拒", "assistant_contains": "這週末我已經有安排"},
                ],
            )
        },
        "Each vote is one preference record (winner's conversation, loser's final answer); tie and 'tie (bothbad)' votes flagged preference_tie.",
    )

    # ---------------------------------------------------------------- 11 mt_bench_human_judgments (parquet)
    C = "11_mt_bench_human_judgments"

    def c4(q1, a1, q2, a2):
        return [
            {"content": q1, "role": "user"},
            {"content": a1, "role": "assistant"},
            {"content": q2, "role": "user"},
            {"content": a2, "role": "assistant"},
        ]

    H81 = EN[81]
    ALP = c4(
        H81[0],
        "Hawaii is a beautiful place. I went to the beach.",
        H81[1],
        "A beach was nice. A trip was fun.",
    )
    GPT = c4(
        H81[0],
        "Aloha! My trip to Hawaii began with a traditional luau, hula dancing and a visit to Pearl Harbor.",
        H81[1],
        "Aloha! A trip to Hawaii began with a luau. A visit to Pearl Harbor followed.",
    )
    H101 = EN[101]
    CLA2 = c4(
        H101[0],
        "You are in second place; the person you overtook is third.",
        H101[1],
        "That situation is impossible: you cannot overtake the last person.",
    )
    VIC = c4(H101[0], "You are in first place now.", H101[1], "You would be in last place.")
    parquet(
        C,
        "data/human-00000-of-00001-25f4910818759289.parquet",
        [
            {
                "question_id": 81,
                "model_a": "alpaca-13b",
                "model_b": "gpt-3.5-turbo",
                "winner": "model_b",
                "judge": "expert_0",
                "conversation_a": ALP,
                "conversation_b": GPT,
                "turn": 1,
            },
            {
                "question_id": 81,
                "model_a": "alpaca-13b",
                "model_b": "gpt-3.5-turbo",
                "winner": "model_b",
                "judge": "expert_0",
                "conversation_a": ALP,
                "conversation_b": GPT,
                "turn": 2,
            },
            {
                "question_id": 101,
                "model_a": "claude-v1",
                "model_b": "gpt-3.5-turbo",
                "winner": "tie",
                "judge": "expert_24",
                "conversation_a": CLA2,
                "conversation_b": c4(
                    H101[0], "Second place; they are third.", H101[1], "It is impossible."
                ),
                "turn": 1,
            },
            {
                "question_id": 101,
                "model_a": "claude-v1",
                "model_b": "vicuna-13b-v1.2",
                "winner": "model_a",
                "judge": "author_2",
                "conversation_a": CLA2,
                "conversation_b": VIC,
                "turn": 2,
            },
        ],
    )
    case(
        C,
        "lmsys/mt_bench_human_judgments dataset card (question_id, model_a, model_b, winner, judge, conversation_a/b list<{content,role}>, turn) — conversations hold both turns, `turn` says which one was judged",
        {
            "data/human-00000-of-00001-25f4910818759289.parquet": ING(
                4,
                roles=UA,
                has_rejected=True,
                lang="en",
                user_contains="trip to Hawaii",
                some=[
                    {"roles": UAUA, "has_rejected": True},
                    {"user_contains": "participating in a race", "flags": ["preference_tie"]},
                ],
            )
        },
        "Each human vote is a preference over the judged turn: turn-1 votes compare first answers, turn-2 votes the full two-turn conversations; ties flagged preference_tie.",
    )

    # ---------------------------------------------------------------- 12 chatbot_arena_conversations
    C = "12_chatbot_arena_conversations"
    MOD = {
        "categories": {
            "harassment": False,
            "hate": False,
            "self-harm": False,
            "sexual": False,
            "violence": False,
        },
        "category_scores": {
            "harassment": 0.0001,
            "hate": 0.00002,
            "self-harm": 0.000001,
            "sexual": 0.00003,
            "violence": 0.00004,
        },
        "flagged": False,
    }
    TOX = {
        "roberta-large": {"flagged": False, "probability": 0.0012},
        "t5-large": {"flagged": False, "score": 0.0003},
    }

    def m2(q, a):
        return [{"content": q, "role": "user"}, {"content": a, "role": "assistant"}]

    AR = [
        (
            "What is the difference between OpenCL and CUDA?",
            "OpenCL is an open standard that runs on GPUs from many vendors; CUDA is NVIDIA's proprietary platform with tighter tooling.",
            "CUDA is faster.",
            "model_a",
            "English",
            1,
        ),
        (
            "Как приготовить борщ?",
            "Варите.",
            "Сварите бульон, добавьте свёклу, капусту, картофель и морковь, в конце — чеснок и зелень. Подавайте со сметаной.",
            "model_b",
            "Russian",
            1,
        ),
        (
            "用一句话解释什么是量子纠缠。",
            "量子纠缠是指两个粒子的状态相互关联，测量一个会立即影响另一个的描述。",
            "两个粒子之间存在一种特殊的关联。",
            "tie",
            "Chinese",
            1,
        ),
        (
            "Write a haiku about Mondays.",
            "Monday is a day.",
            "Mondays are bad days.",
            "tie (bothbad)",
            "English",
            1,
        ),
    ]
    rows = []
    for i, (q, a, b, w, lang, t) in enumerate(AR):
        rows.append(
            {
                "question_id": f"{i}8d1c0b7e3f14a2c9e5d6f7a8b9c0d1e",
                "model_a": "vicuna-13b",
                "model_b": "koala-13b",
                "winner": w,
                "judge": f"arena_user_{973 + i}",
                "conversation_a": m2(q, a),
                "conversation_b": m2(q, b),
                "turn": t,
                "anony": True,
                "language": lang,
                "tstamp": 1682351591.1322 + i,
                "openai_moderation": MOD,
                "toxic_chat_tag": TOX,
            }
        )
    rows.append(
        {
            "question_id": "5a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d",
            "model_a": "gpt-4",
            "model_b": "alpaca-13b",
            "winner": "model_a",
            "judge": "arena_user_1200",
            "conversation_a": m2("Suggest a name for a bakery.", "How about 'Rise & Shine'?")
            + m2("Shorter, one word please.", "'Crumb'."),
            "conversation_b": m2("Suggest a name for a bakery.", "Bakery.")
            + m2("Shorter, one word please.", "Bakery."),
            "turn": 2,
            "anony": False,
            "language": "English",
            "tstamp": 1682351700.0,
            "openai_moderation": MOD,
            "toxic_chat_tag": TOX,
        }
    )
    jsonl(C, "chatbot_arena_conversations.jsonl", rows)
    case(
        C,
        "lmsys/chatbot_arena_conversations (question_id, model_a, model_b, winner incl. 'tie (bothbad)', judge, conversation_a/b, turn, anony, language, tstamp, openai_moderation, toxic_chat_tag)",
        {
            "chatbot_arena_conversations.jsonl": ING(
                5,
                roles=UA,
                has_rejected=True,
                lang="en",
                user_contains="OpenCL",
                some=[
                    {"user_contains": "борщ", "lang": "ru", "assistant_contains": "сметаной"},
                    {"user_contains": "量子纠缠", "flags": ["preference_tie"]},
                    {"user_contains": "haiku", "flags": ["preference_tie"]},
                    {"user_contains": "bakery", "roles": UAUA},
                ],
            )
        },
        "Arena votes become preference records in every language; the loser's last answer is the rejected one; both tie kinds flagged.",
    )

    # ---------------------------------------------------------------- 13 AlpacaEval
    C = "13_alpaca_eval"
    AE = [
        (
            "What are the names of some famous actors that started their careers on Broadway?",
            "helpful_base",
        ),
        ("How do I wrap a present neatly?", "helpful_base"),
        ("Give me a one-paragraph biography of Marie Curie.", "koala"),
    ]
    DAV = [
        "Some famous actors that started on Broadway include Hugh Jackman, Meryl Streep and Denzel Washington.",
        "Cut the paper to size, fold the sides over the box, tape them, fold the ends into triangles and add a ribbon.",
        "Marie Curie was a Polish-born physicist and chemist who discovered polonium and radium and won two Nobel Prizes.",
    ]
    G4T = [
        "Many actors began on Broadway: Nathan Lane, Kristin Chenoweth, Idina Menzel and Audra McDonald among them.",
        "Measure the paper, place the gift face down, fold one edge over and tape it, then fold the ends into neat triangular flaps.",
        "Maria Skłodowska-Curie (1867–1934) pioneered research on radioactivity, discovered polonium and radium, and remains the only person to win Nobel Prizes in two sciences.",
    ]
    jarr(
        C,
        "alpaca_eval.json",
        [
            {"instruction": q, "output": a, "generator": "text_davinci_003", "dataset": d}
            for (q, d), a in zip(AE, DAV)
        ],
    )
    jarr(
        C,
        "results/gpt4_1106_preview/model_outputs.json",
        [
            {"dataset": d, "instruction": q, "output": a, "generator": "gpt4_1106_preview"}
            for (q, d), a in zip(AE, G4T)
        ],
    )

    def RC(first):
        return (
            '{\n  "ordered_models": [\n    {\n      "model": "'
            + first
            + '",\n      "rank": 1\n    }\n  ]\n}'
        )

    ann = []
    for (q, d), a, b, p in zip(AE, G4T, DAV, [1.0, 1.5, 1.8341]):
        ann.append(
            {
                "instruction": q,
                "output_1": a,
                "generator_1": "gpt4_1106_preview",
                "dataset": d,
                "output_2": b,
                "generator_2": "text_davinci_003",
                "annotator": "weighted_alpaca_eval_gpt4_turbo",
                "preference": p,
                "price_per_example": 0.01516,
                "time_per_example": 1.278452681,
                "raw_completion": RC("m" if p < 1.5 else "M"),
            }
        )
    ann.append(
        {
            "instruction": "Write a limerick about a cat who loves lasagna.",
            "output_1": "There once was a cat named Lorenzo,\nwho ate lasagna crescendo...",
            "generator_1": "gpt4_1106_preview",
            "dataset": "oasst",
            "output_2": "A cat liked lasagna a lot.",
            "generator_2": "text_davinci_003",
            "annotator": "weighted_alpaca_eval_gpt4_turbo",
            "preference": 2.0,
            "price_per_example": 0.0107,
            "time_per_example": 1.278452681,
            "raw_completion": RC("M"),
        }
    )
    jarr(C, "results/gpt4_1106_preview/weighted_alpaca_eval_gpt4_turbo/annotations.json", ann)
    raw(
        C,
        "src/alpaca_eval/evaluators_configs/alpaca_eval_gpt4/alpaca_eval.txt",
        '<|im_start|>system\nYou are a helpful assistant, that ranks models by the quality of their answers.\n<|im_end|>\n<|im_start|>user\nI want you to create a leaderboard of different of large-language models. ...\n\n## Instruction\n\n{\n    "instruction": """{instruction}""",\n}\n\n## Model Outputs\n\n{\n    {\n        "model_identifier": "m",\n        "output": """{output_1}"""\n    },\n    {\n        "model_identifier": "M",\n        "output": """{output_2}"""\n    }\n}\n<|im_end|>\n',
    )
    case(
        C,
        "tatsu-lab/alpaca_eval alpaca_eval.json (instruction, output, generator, dataset), results/<model>/model_outputs.json, results/<model>/<annotator>/annotations.json (instruction, output_1, generator_1, output_2, generator_2, annotator, preference float, raw_completion), evaluators_configs/*/alpaca_eval.txt",
        {
            "alpaca_eval.json": ING(3, roles=UA, lang="en", user_contains="Broadway"),
            "results/gpt4_1106_preview/model_outputs.json": ING(
                3, roles=UA, lang="en", user_contains="Broadway", assistant_contains="Nathan Lane"
            ),
            "results/gpt4_1106_preview/weighted_alpaca_eval_gpt4_turbo/annotations.json": ING(
                4,
                roles=UA,
                has_rejected=True,
                user_contains="Broadway",
                assistant_contains="Nathan Lane",
                some=[
                    {"user_contains": "wrap a present", "flags": ["preference_tie"]},
                    {"user_contains": "Marie Curie", "assistant_contains": "Polish-born"},
                    {"user_contains": "limerick", "assistant_contains": "A cat liked lasagna"},
                ],
            ),
            "src/alpaca_eval/evaluators_configs/alpaca_eval_gpt4/alpaca_eval.txt": IGNORED,
        },
        "AlpacaEval outputs are instruction/output pairs; annotations are pairwise verdicts (preference 1 = output_1, 2 = output_2, 1.5 = tie, floats by >/< 1.5) and become preference records; the .txt judge template is not a data file.",
    )
