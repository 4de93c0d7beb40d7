"""Layout zoo, cases 24-32: hand-written records imitating public files (see make_zoo.py)."""

from zoo_lib import ING, JOINED, REF, UA, UAUA, case, jarr, jsonl, parquet, raw

PANDALM_TESTSET = """[
    {
        "idx": 0,
        "motivation_app": "Grammarly",
        "cmp_key": "bloom-7b_llama-7b",
        "instruction": "Rewrite the sentence to be more concise.",
        "input": "If you have any questions about my rate or if you find it necessary to increase or decrease the scope for this project, please let me know.",
        "response1": "If you have any questions about my rate or the project scope, please let me know.",
        "response2": "Let me know.",
        "annotator1": 1,
        "annotator2": 1,
        "annotator3": 1
    },
    {
        "idx": 1,
        "motivation_app": "Google Search",
        "cmp_key": "cerebras-gpt-6.7B_pythia-6.9b",
        "instruction": "Come up with some search queries on google about coding stuff.",
        "input": NaN,
        "response1": "1. What is coding?\\n2. How to code?\\n3. How to code?",
        "response2": "1. \\"how to code\\"\\n2. \\"best coding language\\"\\n3. \\"best coding tutorials\\"",
        "annotator1": 2,
        "annotator2": 2,
        "annotator3": 2
    },
    {
        "idx": 2,
        "motivation_app": "Wikipedia",
        "cmp_key": "llama-7b_opt-7b",
        "instruction": "Translate the sentence into French.",
        "input": "The practitioner is called a dentist.",
        "response1": "Le praticien est appelé dentiste.",
        "response2": "Le praticien s'appelle un dentiste.",
        "annotator1": 0,
        "annotator2": 0,
        "annotator3": 0
    },
    {
        "idx": 3,
        "motivation_app": "Notion",
        "cmp_key": "opt-7b_pythia-6.9b",
        "instruction": "Summarize the meeting notes in one sentence.",
        "input": "Team agreed to ship v2 on Friday; QA needs two more days; marketing will prepare the launch post.",
        "response1": "The team plans to ship v2 on Friday pending two more days of QA while marketing prepares the launch post.",
        "response2": "Meeting notes.",
        "annotator1": 1,
        "annotator2": 1,
        "annotator3": 2
    }
]
"""


def build() -> None:
    """Write these cases under zoo_lib's current root."""

    # ---------------------------------------------------------------- 24 UltraFeedback binarized (parquet)
    C = "24_ultrafeedback_binarized"

    def uf(pid, p, c, r, sc, sr):
        ch = [{"content": p, "role": "user"}, {"content": c, "role": "assistant"}]
        rj = [{"content": p, "role": "user"}, {"content": r, "role": "assistant"}]
        return {
            "prompt": p,
            "prompt_id": pid,
            "chosen": ch,
            "rejected": rj,
            "messages": ch,
            "score_chosen": sc,
            "score_rejected": sr,
        }

    parquet(
        C,
        "data/train_prefs-00000-of-00001.parquet",
        [
            uf(
                "086b3e24f29b8956a01059f79c56db35d118a06fb6b844b095737d042795cd43",
                "how can i develop a habit of drawing daily",
                "Set a fixed time each day, start with five-minute sketches, keep a small sketchbook with you and track your streak.",
                "As an AI language model, I cannot develop habits for you, but you could try drawing.",
                8.5,
                8.5,
            ),
            uf(
                "d169f4610d69b94f54b6923e11aeffe2e321e272395686378a00f0c21ab6a514",
                "Which animal has two hands, a hyrax or a dog?",
                "Neither: hyraxes and dogs both walk on four feet; only primates have hands with opposable thumbs.",
                "The question may not be factually coherent. Both animals have four legs.",
                9.0,
                8.0,
            ),
            uf(
                "0efb42706b3fcc906f579505c7cc0c4e68a640ab3862b16c08f32282fa1169f9",
                "Give me a synonym for 'happy' that starts with the letter j.",
                "Joyful.",
                "Glad.",
                10.0,
                2.0,
            ),
            uf(
                "ac205b0f69d45eae8dbf446673bd78284e230b6ce3381e49aa8c8e1614287185",
                "Write a one-line slogan for a bicycle repair shop.",
                "We fix the ride, you enjoy the road.",
                "Bikes.",
                7.0,
                3.5,
            ),
        ],
    )
    case(
        C,
        "HuggingFaceH4/ultrafeedback_binarized dataset card (prompt, prompt_id, chosen/rejected full message lists, messages, score_chosen, score_rejected); equal-score row as in yangjianxin1/Firefly data/dummy_dpo.jsonl",
        {
            "data/train_prefs-00000-of-00001.parquet": ING(
                4,
                roles=UA,
                has_rejected=True,
                lang="en",
                user_contains="drawing daily",
                flags=["preference_tie"],
                some=[
                    {
                        "user_contains": "hyrax",
                        "has_rejected": True,
                        "not_flags": ["preference_tie"],
                    }
                ],
            )
        },
        "chosen/rejected already hold the prompt: a user expects one preference record per row (prompt not doubled); equal scores are a tie and get flagged preference_tie.",
    )

    # ---------------------------------------------------------------- 25 Intel orca_dpo_pairs (system/question/chosen/rejected strings)
    C = "25_orca_dpo_pairs"
    jsonl(
        C,
        "orca_rlhf.jsonl",
        [
            {
                "system": "You are an AI assistant. You will be given a task. You must generate a detailed and long answer.",
                "question": "Generate an approximately fifteen-word sentence that describes all this data: Midsummer House eatType restaurant; Midsummer House food Chinese; Midsummer House priceRange moderate.",
                "chosen": "Midsummer House is a moderately priced Chinese restaurant, offering diners a comfortable place for a satisfying meal.",
                "rejected": "Sure! Here's a sentence: Midsummer House is a restaurant.",
            },
            {
                "system": "",
                "question": "What is the capital of Australia?",
                "chosen": "The capital of Australia is Canberra.",
                "rejected": "Sydney.",
            },
            {
                "system": "You are a helpful assistant, who always provide explanation. Think like you are answering to a five year old.",
                "question": "Why do leaves change color in autumn?",
                "chosen": "In autumn trees stop making the green stuff called chlorophyll, so the yellow and orange colors that were hiding underneath can finally show.",
                "rejected": "Because it is cold.",
            },
        ],
    )
    case(
        C,
        "Intel/orca_dpo_pairs orca_rlhf.jsonl (system, question, chosen, rejected strings)",
        {
            "orca_rlhf.jsonl": ING(
                3,
                roles=["system", "user", "assistant"],
                has_rejected=True,
                lang="en",
                user_contains="Midsummer House",
                some=[{"user_contains": "capital of Australia", "roles": UA}],
            )
        },
        "system + question + chosen/rejected answers: one preference record each; an empty system string means no system message.",
    )

    # ---------------------------------------------------------------- 26 BELLE multiturn (transcript inside instruction)
    BELLE = [
        {
            "instruction": "Human:请根据题材「健身房」，写一篇100字的短文。\nAssistant:清晨的健身房里，跑步机嗡嗡作响，杠铃碰撞出清脆的声音。人们在镜子前挥汗如雨，每一次举起都是对昨天的自己的超越。\nHuman:把它改得更口语化一些。\nAssistant:",
            "input": "",
            "output": "早上去健身房，跑步机呼呼转，杠铃叮叮当当。大家对着镜子拼命练，每举一下都比昨天强一点！",
        },
        {
            "instruction": "Human:我最近总是失眠，有什么办法吗？\nAssistant:可以试着每天固定时间睡觉和起床，睡前一小时不看手机，并避免下午喝咖啡。\nHuman:如果还是睡不着呢？\nAssistant:",
            "input": "",
            "output": "如果持续两周以上仍然睡不好，建议去医院的睡眠门诊，医生可以帮你找出原因。",
        },
        {
            "instruction": "Human:给我推荐三本科幻小说。\nAssistant:《三体》、《银河帝国：基地》和《沙丘》。\nHuman:哪一本最适合入门？\nAssistant:",
            "input": "",
            "output": "入门推荐《三体》，故事节奏快，又有大量中国读者熟悉的背景。",
        },
    ]
    C = "26_belle_multiturn"
    jsonl(C, "multiturn_chat_0.8M.json", BELLE)
    case(
        C,
        "BelleGroup/multiturn_chat_0.8M (JSON lines in a .json file: instruction = 'Human:…\\nAssistant:…\\nHuman:…\\nAssistant:', input, output); parsing per LLaMA-Factory data/belle_multiturn/belle_multiturn.py",
        {
            "multiturn_chat_0.8M.json": ING(
                3, roles=UA, flags=["embedded_turns"], lang="zh-Hans", user_contains="健身房"
            )
        },
        "Without --split-embedded-turns the transcript stays inside the user turn, but a user expects the row flagged embedded_turns so it can be found and split later.",
    )
    C = "27_belle_multiturn_split"
    jsonl(C, "multiturn_chat_0.8M.json", BELLE)
    case(
        C,
        "BelleGroup/multiturn_chat_0.8M (as case 26), ingested with --split-embedded-turns",
        {
            "multiturn_chat_0.8M.json": ING(
                3,
                roles=UAUA,
                lang="zh-Hans",
                user_contains="健身房",
                assistant_contains="早上去健身房",
            )
        },
        "With --split-embedded-turns a user expects the Human:/Assistant: transcript split into real turns, the output being the last assistant turn.",
        args=["--split-embedded-turns"],
    )

    # ---------------------------------------------------------------- 28 other embedded transcripts: 'User:/Assistant:' and '用户：/助手：'
    C = "28_embedded_transcripts"
    jsonl(
        C,
        "user_assistant_en.jsonl",
        [
            {
                "instruction": 'User: I need a name for my bakery.\nAssistant: How about "Rise & Shine Bakery"?\nUser: Something shorter, one word.\nAssistant:',
                "input": "",
                "output": '"Crumb".',
            },
            {
                "instruction": "User: What's 15% of 80?\nAssistant: 12.\nUser: And 20%?\nAssistant:",
                "input": "",
                "output": "16.",
            },
        ],
    )
    jsonl(
        C,
        "yonghu_zhushou_zh.jsonl",
        [
            {
                "instruction": "用户：我想学做红烧肉。\n助手：好的，先把五花肉切块焯水，再用冰糖炒糖色。\n用户：没有冰糖可以吗？\n助手：",
                "input": "",
                "output": "可以，用白砂糖代替，火候小一点，避免炒糊。",
            },
            {
                "instruction": "用户：帮我想一个周末的安排。\n助手：上午去公园散步，下午看一场电影。\n用户：如果下雨呢？\n助手：",
                "input": "",
                "output": "下雨的话可以去博物馆或者在家做一顿大餐。",
            },
        ],
    )
    jsonl(
        C,
        "ziya_human_bot_zh.jsonl",
        [
            {
                "prompt": "<human>:我想给妈妈挑一份生日礼物。\n<bot>:可以考虑按摩仪、丝巾或者一束鲜花。\n<human>:预算两百元以内呢？\n<bot>:",
                "output": "两百元以内可以选一条真丝丝巾或一个保温杯，再配一张手写贺卡。",
            },
            {
                "prompt": "<human>:苏州有什么好玩的？\n<bot>:拙政园、平江路和寒山寺都很有名。\n<human>:哪个适合晚上去？\n<bot>:",
                "output": "晚上推荐去平江路，夜景和小吃都不错。",
            },
        ],
    )
    case(
        C,
        "transcripts in a single instruction as in Prometheus mt_bench_eval.json ('User: …\\n\\nAssistant: …') Chinese '用户：…助手：' transcripts (pattern seen across zh code/data; no single canonical dataset), and '<human>:…\\n<bot>:' as in the Ziya template (hiyouga/LLaMA-Factory src/llamafactory/data/template.py name='ziya')",
        {
            "user_assistant_en.jsonl": ING(
                2, roles=UA, flags=["embedded_turns"], lang="en", user_contains="bakery"
            ),
            "yonghu_zhushou_zh.jsonl": ING(
                2, roles=UA, flags=["embedded_turns"], lang="zh-Hans", user_contains="红烧肉"
            ),
            "ziya_human_bot_zh.jsonl": ING(
                2, roles=UA, flags=["embedded_turns"], lang="zh-Hans", user_contains="生日礼物"
            ),
        },
        "Other transcript markers (User:/Assistant:, 用户：/助手：, <human>:/<bot>:) should be recognised and flagged embedded_turns just like BELLE's Human:/Assistant:.",
    )

    # ---------------------------------------------------------------- 29 Baize ([|Human|]/[|AI|] in input), split
    C = "29_baize_split"
    jarr(
        C,
        "data/quora_chat_data.json",
        [
            {
                "topic": "What is the step by step guide to invest in share market in india?",
                "input": "The conversation between human and AI assistant.\n[|Human|] I want to know how to start investing in the Indian share market.\n[|AI|] First open a demat and trading account with a SEBI-registered broker, then complete your KYC.\n[|Human|] How do I choose a broker?\n[|AI|] Compare brokerage fees, trading platform quality and customer support; discount brokers suit beginners.\n[|Human|] ",
            },
            {
                "topic": "How can I improve my English speaking?",
                "input": "The conversation between human and AI assistant.\n[|Human|] How can I get better at speaking English?\n[|AI|] Practise every day: talk with language partners, shadow podcasts and record yourself.\n[|Human|] Any apps you recommend?\n[|AI|] Tandem and HelloTalk connect you with native speakers.\n[|Human|] ",
            },
        ],
        indent=None,
    )
    case(
        C,
        "project-baize/baize-chatbot data/*_chat_data.json (topic, input = 'The conversation between human and AI assistant.\\n[|Human|] …\\n[|AI|] …\\n[|Human|] ')",
        {
            "data/quora_chat_data.json": ING(
                2,
                roles=["system", *UAUA],
                lang="en",
                user_contains="Indian share market",
                system_contains="The conversation between human and AI assistant.",
            )
        },
        (
            "Baize packs whole chats into input with [|Human|]/[|AI|] markers and a dangling empty [|Human|]; "
            "with --split-embedded-turns a user expects the real turns, the one-line preamble before them "
            "as a system message, and no empty final user turn."
        ),
        args=["--split-embedded-turns"],
        note=(
            "Changed on purpose from the collection's first expectation (roles user, assistant, user, assistant): "
            "the ingest maintainers decided that the preamble 'The conversation between human and AI assistant.' "
            "becomes a system message before the turns (system, user, assistant, user, assistant)."
        ),
    )

    # ---------------------------------------------------------------- 30 JudgeLM training reviews
    C = "30_judgelm_reviews"
    jsonl(
        C,
        "judgelm_train_100k.jsonl",
        [
            {
                "review_id": "HZKJaPZSa6cdCDUfPUnZBr",
                "question_id": 0,
                "answer1_id": "",
                "answer2_id": "",
                "reviewer_id": 1,
                "metadata": {},
                "text": "8 6\nAssistant 1 gave a clear, correct explanation of photosynthesis; Assistant 2 was correct but vague.",
                "score": [8.0, 6.0],
                "question_body": "Explain photosynthesis in two sentences.",
                "answer1_body": "Plants use sunlight, water and CO2 to make glucose and oxygen. This happens in the chloroplasts.",
                "answer2_body": "Plants make food from light.",
                "answer1_model_id": "vicuna-13b",
                "answer2_model_id": "alpaca-native",
                "answer1_metadata": {"decoding_method": "top_p_sampling"},
                "answer2_metadata": {"decoding_method": "top_p_sampling"},
            },
            {
                "review_id": "GCQpwpjCSmdTwr9nBJfTzQ",
                "question_id": 1,
                "answer1_id": "",
                "answer2_id": "",
                "reviewer_id": 1,
                "metadata": {},
                "text": "5 9\nAssistant 2 listed concrete budgeting steps, while Assistant 1 only said to save money.",
                "score": [5.0, 9.0],
                "question_body": "How can I make a monthly budget?",
                "answer1_body": "Save money.",
                "answer2_body": "List your income, track expenses for a month, set limits per category and review weekly.",
                "answer1_model_id": "llama-7b",
                "answer2_model_id": "gpt-3.5-turbo",
                "answer1_metadata": {"decoding_method": "greedy"},
                "answer2_metadata": {"decoding_method": "greedy"},
            },
        ],
    )
    case(
        C,
        "baaivision/JudgeLM judgelm/data/JudgeLM/judgelm_preprocess.py (question_body, answer1_body, answer2_body, answer*_model_id, score) + Vicuna-style review fields (review_id, reviewer_id, text '8 6\\n…')",
        {
            "judgelm_train_100k.jsonl": ING(
                2,
                roles=UA,
                has_rejected=True,
                format="judgelm",
                lang="en",
                user_contains="photosynthesis",
                assistant_contains="Plants use sunlight",
                rejected_contains="Plants make food from light",
                some=[
                    {
                        "user_contains": "monthly budget",
                        "assistant_contains": "List your income",
                        "rejected_contains": "Save money",
                    }
                ],
            )
        },
        "A JudgeLM row holds a question, two answers and the verdict (a score pair): a preference record, the higher-scored answer chosen and the other rejected.",
        note=(
            "Changed on purpose from the collection's first expectation (refused as judge_output): "
            "the ingest maintainers decided that a row with a question, two answers and a verdict (score pair) "
            "is a preference record (format judgelm, chosen = the higher-scored answer, rejected = the other), not a refusal."
        ),
    )

    # ---------------------------------------------------------------- 31 Vicuna eval table (question/answer/review/prompt)
    C = "31_fastchat_vicuna_eval_table"
    VQ = [
        "How can I improve my time management skills?",
        "What are the most effective ways to deal with stress?",
        "What are the main differences between Python and JavaScript programming languages?",
    ]
    jsonl(
        C,
        "table/question.jsonl",
        [{"question_id": i + 1, "text": q, "category": "generic"} for i, q in enumerate(VQ)],
    )
    jsonl(
        C,
        "table/answer/answer_vicuna-13b.jsonl",
        [
            {
                "answer_id": aid,
                "model_id": "vicuna-13b:20230322-clean-lang",
                "question_id": i + 1,
                "text": t,
                "metadata": {
                    "huggingface_argument": {
                        "do_sample": True,
                        "temperature": 0.7,
                        "max_new_tokens": 1024,
                    }
                },
            }
            for i, (aid, t) in enumerate(
                [
                    (
                        "cV4zXygaNP6CXEsgdHMEqz",
                        "Set clear goals, use a calendar, break tasks into steps and remove distractions.",
                    ),
                    (
                        "3zpPUeoVsPWXtKMV7cAhZ6",
                        "Exercise, mindfulness, social support, good sleep and time management all reduce stress.",
                    ),
                    (
                        "6xpiZJE4vxxGqjRogPfBk7",
                        "Python uses indentation and is popular for data science; JavaScript runs in browsers and dominates web front ends.",
                    ),
                ]
            )
        ],
    )
    jsonl(
        C,
        "table/review/review_alpaca-13b_vicuna-13b.jsonl",
        [
            {
                "review_id": "QM5m5nnioWr8M2LFHsaQvu",
                "question_id": 1,
                "answer1_id": "kEL9ifUHDeYuAXzevje2se",
                "answer2_id": "cV4zXygaNP6CXEsgdHMEqz",
                "text": "8 9\nBoth were helpful; Assistant 2 was more structured.",
                "score": [8.0, 9.0],
                "reviewer_id": "gpt-4-0328-generic",
                "metadata": {},
            },
            {
                "review_id": "ZQTBtt5M3mHEdJErvBnvho",
                "question_id": 2,
                "answer1_id": "VcF3NrWGXhhxLkDVurNrwq",
                "answer2_id": "3zpPUeoVsPWXtKMV7cAhZ6",
                "text": "8 9\nAssistant 2 gave more actionable advice.",
                "score": [8.0, 9.0],
                "reviewer_id": "gpt-4-0328-generic",
                "metadata": {},
            },
        ],
    )
    jsonl(
        C,
        "table/prompt.jsonl",
        [
            {
                "prompt_id": 1,
                "system_prompt": "You are a helpful and precise assistant for checking the quality of the answer.",
                "prompt_template": "[Question]\n{question}\n\n[The Start of Assistant 1's Answer]\n{answer_1}\n\n[The End of Assistant 1's Answer]\n\n[The Start of Assistant 2's Answer]\n{answer_2}\n\n[The End of Assistant 2's Answer]\n\n[System]\n{prompt}\n\n",
                "defaults": {
                    "prompt": "We would like to request your feedback on the performance of two AI assistants in response to the user question displayed above."
                },
                "description": "Prompt for general questions",
                "category": "general",
            },
            {
                "prompt_id": 3,
                "system_prompt": "You are a helpful and precise assistant for checking the quality of the answer.",
                "prompt_template": "[Question]\n{question}\n\n[The Start of Assistant 1's Answer]\n{answer_1}\n\n[The End of Assistant 1's Answer]\n\n[The Start of Assistant 2's Answer]\n{answer_2}\n\n[The End of Assistant 2's Answer]\n\n[System]\n{prompt}\n\n",
                "defaults": {
                    "prompt": "We would like to request your feedback on the mathematical proficiency of two AI assistants."
                },
                "description": "Prompt for math questions",
                "category": "math",
            },
        ],
    )
    case(
        C,
        "lm-sys/FastChat fastchat/eval/table/{question.jsonl (question_id, text, category), answer/answer_vicuna-13b.jsonl (answer_id, model_id, question_id, text, metadata), review/review_alpaca-13b_vicuna-13b.jsonl, prompt.jsonl}",
        {
            "table/question.jsonl": JOINED,
            "table/answer/answer_vicuna-13b.jsonl": ING(
                3, roles=UA, lang="en", user_contains="time management"
            ),
            "table/review/review_alpaca-13b_vicuna-13b.jsonl": REF("judge_output", 2),
            "table/prompt.jsonl": REF("judge_template", 2),
        },
        "The older Vicuna eval layout: answers (text only) joined with question.jsonl by question_id; GPT-4 reviews are judge output; reviewer prompt templates are templates.",
    )

    # ---------------------------------------------------------------- 32 PandaLM human-annotated pairs (with a NaN input, as in the real file)
    C = "32_pandalm_testset"
    raw(C, "data/testset-v1.json", PANDALM_TESTSET)
    case(
        C,
        "WeOpenML/PandaLM data/testset-v1.json (idx, motivation_app, cmp_key, instruction, input (NaN when empty), response1, response2, annotator1..3 with 1/2 = better response, 0 = tie)",
        {
            "data/testset-v1.json": ING(
                4,
                roles=UA,
                has_rejected=True,
                lang="en",
                user_contains="more concise",
                some=[
                    {"user_contains": "into French", "flags": ["preference_tie"]},
                    {
                        "user_contains": "search queries",
                        "assistant_contains": "best coding language",
                    },
                ],
            )
        },
        "Three human annotators vote 1/2/0: a user expects majority-vote preference records, 0 as a tie, and the file's bare NaN (pandas export) read as an empty input rather than breaking the whole array.",
    )
