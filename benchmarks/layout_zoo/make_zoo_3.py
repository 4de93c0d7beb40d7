"""Layout zoo, cases 14-23: hand-written records imitating public files (see make_zoo.py)."""

from zoo_lib import ING, REF, UA, UAUA, case, jarr, jsonl


def build() -> None:
    """Write these cases under zoo_lib's current root."""

    # ---------------------------------------------------------------- 14 Prometheus eval benchmark file (filled judge prompt + GPT-4 feedback)
    C = "14_prometheus_eval_mt_bench"
    TASK = (
        "###Task Description:\nAn instruction (might include an Input inside it), a response to evaluate, a reference answer that gets a score of 5, and a score rubric representing a evaluation criteria are given.\n"
        "1. Write a detailed feedback that assess the quality of the response strictly based on the given score rubric, not evaluating in general.\n"
        "2. After writing a feedback, write a score that is an integer between 1 and 5. You should refer to the score rubric.\n"
        '3. The output format should look as follows: "Feedback: (write a feedback for criteria) [RESULT] (an integer number between 1 and 5)"\n'
        "4. Please do not generate any other opening, closing, and explanations.\n\n"
    )

    def prom(instr, resp, ref, crit, scores):
        return (
            TASK
            + "###The instruction to evaluate:\n"
            + instr
            + "\n\n###Response to evaluate:\n"
            + resp
            + "\n\n###Reference Answer (Score 5):\n"
            + ref
            + "\n\n###Score Rubrics:\n["
            + crit
            + "]\n"
            + "\n".join(f"Score {i + 1}: {s}" for i, s in enumerate(scores))
            + "\n\n###Feedback: "
        )

    RUB = [
        "The response ignores the request.",
        "The response partially addresses the request.",
        "The response addresses the request but lacks detail.",
        "The response addresses the request clearly.",
        "The response fully and insightfully addresses the request.",
    ]
    jarr(
        C,
        "eval/benchmark/data/mt_bench_eval.json",
        [
            {
                "idx": 83,
                "response_source": "llama2_chat_13b",
                "category": "writing",
                "instruction": prom(
                    "Here is a previous dialogue between an assistant and an user. Generate a human preferable response by the assistant.\nUser: Write an outline comparing two smartphones.\n\nAssistant:I. Introduction II. Design ...\n\nUser: Rephrase it as a limerick.\n\nAssistant: ",
                    "There once were two phones, so fine...",
                    "In this blog, two phones we'll compare...",
                    "Does the response properly address the request to revise the previous answer?",
                    RUB,
                ),
                "gpt4_score": [3, 2, 3],
                "gpt4_feedback": [
                    "The limerick only vaguely references the outline. [RESULT] 3",
                    "Key points are missing. [RESULT] 2",
                    "Partially addresses the request. [RESULT] 3",
                ],
            },
            {
                "idx": 88,
                "response_source": "chatgpt",
                "category": "writing",
                "instruction": prom(
                    "Summarize the story with three bullet points using only nouns and adjectives, without verbs.",
                    "- Sarah wakes up with newfound ability\n- Journey through the ages",
                    "- Oliver Jensen, humble bookshop owner...",
                    "Is the model capable of summarizing under linguistic constraints?",
                    RUB,
                ),
                "gpt4_score": [1, 3, 2],
                "gpt4_feedback": [
                    "Uses verbs. [RESULT] 1",
                    "Mostly adheres. [RESULT] 3",
                    "Misses details. [RESULT] 2",
                ],
            },
        ],
    )
    case(
        C,
        "prometheus-eval/prometheus-eval eval/benchmark/data/mt_bench_eval.json (idx, response_source, category, instruction = filled Prometheus judge prompt with rubric, gpt4_score[], gpt4_feedback[])",
        {"eval/benchmark/data/mt_bench_eval.json": REF(["judge_output", "judge_template"], 2)},
        "Rows are filled-in judge prompts with GPT-4's scores and feedback: judge material, not chat data; a user expects them refused, not ingested as prompts.",
    )

    # ---------------------------------------------------------------- 15 Prometheus Feedback Collection (rubric rows)
    C = "15_prometheus_feedback_collection"
    fc = []
    for instr, resp, ref, crit, fb, sc in [
        (
            "I am planning a trip to Kyoto in autumn. What should I pack?",
            "Bring a light jacket, comfortable shoes and an umbrella.",
            "For Kyoto in autumn pack layers: a light jacket, a sweater, walking shoes, an umbrella and a portable charger.",
            "Does the response give practical, complete packing advice?",
            "The response is practical but misses layering advice. So the overall score is 3.",
            "3",
        ),
        (
            "Explain compound interest to a teenager.",
            "It is interest on interest.",
            "Compound interest means you earn interest on your savings and also on the interest already added, so money grows faster over time.",
            "Is the explanation accurate and suited to the audience?",
            "Accurate but far too brief for a teenager. So the overall score is 2.",
            "2",
        ),
    ]:
        scores = [
            "The response is unhelpful.",
            "The response is minimally helpful.",
            "The response is somewhat helpful.",
            "The response is helpful.",
            "The response is excellent.",
        ]
        d = {
            "orig_instruction": instr,
            "orig_response": resp,
            "orig_reference_answer": ref,
            "orig_criteria": crit,
        }
        d.update({f"orig_score{i + 1}_description": s for i, s in enumerate(scores)})
        d.update(
            {
                "orig_feedback": fb,
                "orig_score": sc,
                "instruction": prom(instr, resp, ref, crit, scores),
                "output": "Feedback: " + fb + " [RESULT] " + sc,
                "input": "",
            }
        )
        fc.append(d)
    jarr(C, "new_feedback_collection.json", fc)
    case(
        C,
        "prometheus-eval Feedback-Collection (orig_instruction, orig_response, orig_reference_answer, orig_criteria, orig_score1..5_description, orig_feedback, orig_score, instruction, output) — template in prometheus-eval README",
        {"new_feedback_collection.json": REF(["judge_template", "judge_output"], 2)},
        "Every row is a score rubric plus a judge prompt and the judge's feedback: a chat-SFT team expects it refused as judge material, not ingested as instruction/output.",
    )

    # ---------------------------------------------------------------- 16 AlignBench (zh-Hans questions with references + rubric config)
    C = "16_alignbench"
    jsonl(
        C,
        "data/data_release.jsonl",
        [
            {
                "question_id": 1,
                "category": "专业能力",
                "subcategory": "音乐",
                "question": "C大七和弦和C小七和弦有几个音不同？",
                "reference": "C大七和弦由C、E、G、B构成，C小七和弦由C、降E、G、降B构成，因此有两个音不同，分别是第二个音和第四个音。",
            },
            {
                "question_id": 7,
                "category": "专业能力",
                "subcategory": "化学",
                "question": "书写高锰酸钾和亚硫酸氢钠反应生成二氧化锰的离子方程式。",
                "reference": "2MnO4⁻ + 3HSO3⁻ + OH⁻ = 2MnO2↓ + 3SO4²⁻ + 2H2O（在弱碱性条件下）。",
            },
            {
                "question_id": 34,
                "category": "专业能力",
                "subcategory": "物理",
                "question": "50度的白酒放半年后还剩多少度？",
                "reference": "如果密封良好，酒精度基本不变，仍约为50度；若开盖存放，酒精会挥发，度数会略有下降。",
            },
        ],
    )
    jarr(
        C,
        "config/dimension_set.json",
        {
            "事实与解释型回答": ["事实正确性", "满足用户需求", "清晰度", "完备性"],
            "逻辑推理型回答": ["事实正确性", "满足用户需求", "逻辑连贯性", "完备性"],
            "生成型回答": ["事实正确性", "满足用户需求", "逻辑连贯性", "创造性", "丰富度"],
            "建议型回答": ["事实正确性", "满足用户需求", "公平与可负责程度", "创造性"],
        },
    )
    case(
        C,
        "THUDM/AlignBench data/data_release.jsonl (question_id, category, subcategory, question, reference) and config/dimension_set.json",
        {
            "data/data_release.jsonl": ING(3, roles=UA, lang="zh-Hans", user_contains="C大七和弦"),
            "config/dimension_set.json": REF(["judge_template", "unrecognized_schema"]),
        },
        "A Chinese benchmark with human reference answers: a user expects question/reference conversations; the judging-dimension config is not data.",
    )

    # ---------------------------------------------------------------- 17 MT-Bench-101 (history [{user, bot}])
    C = "17_mt_bench_101"
    jsonl(
        C,
        "data/subjective/mtbench101.jsonl",
        [
            {
                "task": "CM",
                "id": 1,
                "history": [
                    {
                        "user": "My name is Priya and I have a golden retriever named Mango.",
                        "bot": "Nice to meet you, Priya! Mango sounds like a lovely dog.",
                    },
                    {
                        "user": "What's a good weekend activity for us?",
                        "bot": "You and Mango could try a hiking trail that allows dogs, or a lake where he can swim.",
                    },
                    {
                        "user": "Remind me, what did I say my dog's name was?",
                        "bot": "You said your golden retriever is named Mango.",
                    },
                ],
            },
            {
                "task": "MR",
                "id": 2,
                "history": [
                    {
                        "user": "A train travels 120 km in 1.5 hours. What is its average speed?",
                        "bot": "Average speed = 120 / 1.5 = 80 km/h.",
                    },
                    {
                        "user": "At that speed, how long does it take to travel 200 km?",
                        "bot": "200 / 80 = 2.5 hours.",
                    },
                ],
            },
            {
                "task": "SI",
                "id": 3,
                "history": [
                    {
                        "user": "I will give you sentences; correct their grammar.",
                        "bot": "Sure, please send the first sentence.",
                    },
                    {"user": "She don't like apples.", "bot": "She doesn't like apples."},
                ],
            },
        ],
    )
    case(
        C,
        "open-compass/opencompass opencompass/datasets/subjective/mtbench101.py (reads data/subjective/mtbench101.jsonl: task, id, history[{user, bot}])",
        {
            "data/subjective/mtbench101.jsonl": ING(
                3, roles=["user", "assistant"] * 3, lang="en", user_contains="Priya"
            )
        },
        "history holds the whole dialogue as user/bot pairs: a user expects one multi-turn conversation per record.",
    )

    # ---------------------------------------------------------------- 18 Firefly (conversation [{human, assistant}])
    C = "18_firefly"
    jsonl(
        C,
        "data/firefly_sample.jsonl",
        [
            {
                "conversation_id": 1,
                "category": "Brainstorming",
                "conversation": [
                    {
                        "human": "如何在有限的时间内学习新技能？",
                        "assistant": "可以先制定明确的计划，把目标拆成小块，每天固定练习，并定期复习。",
                    },
                    {
                        "human": "我在学编程，有没有适合初学者的在线教程？",
                        "assistant": "可以看看菜鸟教程、廖雪峰的Python教程和中国大学MOOC上的入门课程。",
                    },
                ],
                "dataset": "moss",
            },
            {
                "conversation_id": 2,
                "category": "Brainstorming",
                "conversation": [
                    {
                        "human": "What best practices should I follow when designing a website?",
                        "assistant": "Keep navigation simple, use a responsive layout, optimize images and test on real devices.",
                    }
                ],
                "dataset": "moss",
            },
            {
                "conversation_id": 3,
                "category": "Translation",
                "conversation": [
                    {
                        "human": "把“千里之行，始于足下”翻译成英文。",
                        "assistant": "A journey of a thousand miles begins with a single step.",
                    }
                ],
                "dataset": "firefly",
            },
        ],
    )
    case(
        C,
        "yangjianxin1/Firefly data/dummy_data.jsonl (conversation_id, category, conversation[{human, assistant}], dataset)",
        {
            "data/firefly_sample.jsonl": ING(
                3, roles=UAUA, lang="zh-Hans", user_contains="有限的时间"
            )
        },
        "Each human/assistant pair is one exchange of a multi-turn conversation.",
    )

    # ---------------------------------------------------------------- 19 DailyDialog (dialog as alternating strings)
    C = "19_daily_dialog"
    jsonl(
        C,
        "train.jsonl",
        [
            {
                "dialog": [
                    "Say, Jim, how about going for a few beers after dinner?",
                    "You know that is tempting but is really not good for our fitness.",
                    "What do you mean? It will help us to relax.",
                    "Do you really think so? I don't. It will just make us fat and act silly.",
                ],
                "act": [3, 4, 2, 2],
                "emotion": [0, 0, 0, 0],
            },
            {
                "dialog": [
                    "Can you do push-ups?",
                    "Of course I can. It's a piece of cake! Believe it or not, I can do 30 push-ups a minute.",
                    "Really? I think that's impossible!",
                    "You mean 30 push-ups?",
                    "Yeah!",
                ],
                "act": [2, 1, 2, 2, 1],
                "emotion": [0, 0, 6, 0, 0],
            },
            {
                "dialog": [
                    "Excuse me, is this seat taken?",
                    "No, go ahead.",
                    "Thanks. Are you waiting for the 8:15 train too?",
                    "Yes, it's late again.",
                ],
                "act": [2, 1, 2, 1],
                "emotion": [0, 0, 0, 0],
            },
        ],
    )
    case(
        C,
        "li2017dailydialog/daily_dialog dataset card (dialog: sequence of strings, act, emotion)",
        {"train.jsonl": ING(3, roles=UAUA, lang="en", user_contains="few beers")},
        "A dialog list alternates speakers: a user expects it as alternating user/assistant turns, the act/emotion labels kept as metadata.",
    )

    # ---------------------------------------------------------------- 20 Saiga chat set (role "bot")
    C = "20_saiga_chat"
    SYS = "Ты — Сайга, русскоязычный автоматический ассистент. Ты разговариваешь с людьми и помогаешь им."
    jsonl(
        C,
        "train.jsonl",
        [
            {
                "messages": [
                    {"role": "system", "content": SYS},
                    {"role": "user", "content": "Как заварить пуэр?"},
                    {
                        "role": "bot",
                        "content": "Промойте 5 г пуэра горячей водой, затем заваривайте 15–30 секунд при 95 °C, увеличивая время с каждым проливом.",
                    },
                ],
                "source": "saiga",
            },
            {
                "messages": [
                    {"role": "user", "content": "Придумай название для кофейни у метро."},
                    {"role": "bot", "content": "«Кофе на ходу»."},
                    {"role": "user", "content": "А что-нибудь более уютное?"},
                    {"role": "bot", "content": "«Тёплая станция»."},
                ],
                "source": "mixed",
            },
            {
                "messages": [
                    {
                        "role": "user",
                        "content": "Переведи на английский: «Тише едешь — дальше будешь».\nДано: пословица",
                    },
                    {"role": "bot", "content": "Slow and steady wins the race."},
                ],
                "source": "alpaca",
            },
        ],
    )
    case(
        C,
        "IlyaGusev/rulm self_instruct/src/data_processing/create_chat_set.py (messages[{role: user|bot|system, content}], source)",
        {
            "train.jsonl": ING(
                3, roles=["system", "user", "assistant"], lang="ru", user_contains="пуэр"
            )
        },
        "Saiga uses role 'bot' for the assistant; a user expects it mapped to assistant without passing --role.",
    )

    # ---------------------------------------------------------------- 21 ru_turbo_saiga (column-wise messages)
    C = "21_ru_turbo_saiga"
    jsonl(
        C,
        "ru_turbo_saiga.jsonl",
        [
            {
                "messages": {
                    "role": ["user", "bot", "user", "bot"],
                    "content": [
                        "Привет! Посоветуй книгу на выходные.",
                        "Попробуйте «Мастера и Маргариту» Булгакова.",
                        "Я её уже читал. Что-нибудь современное?",
                        "Тогда «Лавр» Евгения Водолазкина.",
                    ],
                },
                "seed": "книги",
                "source": "gpt-3.5-turbo",
                "model_name": "gpt-3.5-turbo",
            },
            {
                "messages": {
                    "role": ["user", "bot"],
                    "content": [
                        "Сколько стоит проезд в метро Москвы?",
                        "Точную цену лучше проверить на сайте Московского метрополитена: тарифы меняются каждый год.",
                    ],
                },
                "seed": "транспорт",
                "source": "gpt-3.5-turbo",
                "model_name": "gpt-3.5-turbo",
            },
        ],
    )
    case(
        C,
        "IlyaGusev/ru_turbo_saiga (messages stored column-wise {role: [...], content: [...]}, seed, source, model_name; see revert_flattening in rulm create_chat_set.py)",
        {"ru_turbo_saiga.jsonl": ING(2, roles=UAUA, lang="ru", user_contains="книгу")},
        "The same Saiga chats stored as parallel role/content lists; a user expects the same conversations as the row-wise form.",
    )

    # ---------------------------------------------------------------- 22 Gemini tuning (contents, role model, parts)
    C = "22_gemini_tuning"
    jsonl(
        C,
        "train.jsonl",
        [
            {
                "systemInstruction": {
                    "role": "system",
                    "parts": [{"text": "You are a concise travel assistant."}],
                },
                "contents": [
                    {
                        "role": "user",
                        "parts": [{"text": "Best time to visit Iceland for the northern lights?"}],
                    },
                    {
                        "role": "model",
                        "parts": [
                            {
                                "text": "September to March, on clear, dark nights away from city lights."
                            }
                        ],
                    },
                ],
            },
            {
                "contents": [
                    {"role": "user", "parts": [{"text": "把这句话改得更礼貌：把文件发我。"}]},
                    {"role": "model", "parts": [{"text": "麻烦您把文件发给我，谢谢！"}]},
                ]
            },
            {
                "contents": [
                    {"role": "user", "parts": [{"text": "Name a prime number greater than 50."}]},
                    {"role": "model", "parts": [{"text": "53."}]},
                    {"role": "user", "parts": [{"text": "And the next one?"}]},
                    {"role": "model", "parts": [{"text": "59."}]},
                ]
            },
        ],
    )
    case(
        C,
        "Vertex AI docs 'Prepare supervised fine-tuning data for Gemini models' (systemInstruction, contents[{role: user|model, parts[{text}]}])",
        {
            "train.jsonl": ING(
                3, roles=["system", "user", "assistant"], lang="en", user_contains="northern lights"
            )
        },
        "Gemini tuning files name the assistant 'model' and wrap text in parts: a user expects ordinary system/user/assistant messages.",
    )

    # ---------------------------------------------------------------- 23 Role names Human/Assistant and 用户/助手
    C = "23_role_name_variants"
    jsonl(
        C,
        "human_assistant.jsonl",
        [
            {
                "messages": [
                    {"role": "Human", "content": "What's a good name for a golden retriever?"},
                    {
                        "role": "Assistant",
                        "content": "Sunny, Maple or Biscuit are popular choices.",
                    },
                ]
            },
            {
                "messages": [
                    {"role": "Human", "content": "How many ounces are in a cup?"},
                    {"role": "Assistant", "content": "A US cup holds 8 fluid ounces."},
                ]
            },
        ],
    )
    jsonl(
        C,
        "zh_roles.jsonl",
        [
            {
                "messages": [
                    {"role": "系统", "content": "你是一名耐心的中文老师。"},
                    {"role": "用户", "content": "“的”“地”“得”怎么区分？"},
                    {
                        "role": "助手",
                        "content": "“的”用在名词前，“地”用在动词前，“得”用在动词或形容词后面表示程度。",
                    },
                ]
            },
            {
                "messages": [
                    {"role": "用户", "content": "推荐一道适合新手的家常菜。"},
                    {
                        "role": "助手",
                        "content": "番茄炒蛋：准备两个番茄、三个鸡蛋，先炒蛋再炒番茄，最后合在一起调味即可。",
                    },
                ]
            },
        ],
    )
    case(
        C,
        "role vocabularies seen in user exports and code (capitalised Human/Assistant; Chinese 用户/助手/系统 as in translated ChatML examples) — no single canonical dataset",
        {
            "human_assistant.jsonl": ING(2, roles=UA, lang="en", user_contains="golden retriever"),
            "zh_roles.jsonl": ING(
                2, roles=["system", "user", "assistant"], lang="zh-Hans", user_contains="怎么区分"
            ),
        },
        "Capitalised or Chinese role names are unambiguous: a user expects them mapped to user/assistant/system without --role.",
    )
