"""Layout zoo, cases 01-07: hand-written records imitating public files (see make_zoo.py)."""

from zoo_lib import ING, JOINED, REF, UA, UAUA, case, jarr, jsonl


def build() -> None:
    """Write these cases under zoo_lib's current root."""

    # ---------------------------------------------------------------- 01 FastChat MT-Bench full tree
    C = "01_fastchat_mt_bench"
    Q81 = [
        "Compose a short travel blog post about a weekend in Lisbon, highlighting the food and the fado music.",
        "Rewrite your previous response so that every sentence starts with the letter L.",
    ]
    Q111 = [
        "Dan has 3 boxes with 12 pencils in each box. He gives 7 pencils to his sister and loses 2 on the bus. How many pencils does Dan have left?",
        "If Dan then buys 2 more boxes of the same size, how many pencils does he have in total?",
    ]
    Q151 = [
        "Explain in simple terms what Kurt Gödel's incompleteness theorems say.",
        "Give an everyday analogy for the first theorem that a high-school student would understand.",
    ]
    jsonl(
        C,
        "data/mt_bench/question.jsonl",
        [
            {"question_id": 81, "category": "writing", "turns": Q81},
            {"question_id": 111, "category": "math", "turns": Q111, "reference": ["27", "51"]},
            {"question_id": 151, "category": "humanities", "turns": Q151},
        ],
    )
    jsonl(
        C,
        "data/mt_bench/model_answer/vicuna-13b-v1.3.jsonl",
        [
            {
                "question_id": 81,
                "answer_id": "Vq3mfiGXZ7D3bDW6Gm8pRr",
                "model_id": "vicuna-13b-v1.3",
                "choices": [
                    {
                        "index": 0,
                        "turns": [
                            "Lisbon stole my heart in just two days. I started with a warm pastel de nata in Belém, then wandered the steep streets of Alfama, where every window seemed to leak the sound of a guitar. In the evening a tiny tavern served grilled sardines and vinho verde, and a singer's fado made the whole room fall silent.",
                            "Lisbon stole my heart in just two days. Lovely custard tarts in Belém started my morning. Little streets in Alfama echoed with guitars. Late at night, a fado singer made the whole tavern fall silent.",
                        ],
                    }
                ],
                "tstamp": 1687221890.9358,
            },
            {
                "question_id": 111,
                "answer_id": "Ff9KMPq3fWJ8tSRvd7mGeo",
                "model_id": "vicuna-13b-v1.3",
                "choices": [
                    {
                        "index": 0,
                        "turns": [
                            "Dan starts with 3 x 12 = 36 pencils. After giving away 7 and losing 2 he has 36 - 7 - 2 = 27 pencils.",
                            "Two more boxes add 2 x 12 = 24 pencils, so Dan has 27 + 24 = 51 pencils.",
                        ],
                    }
                ],
                "tstamp": 1687221901.1021,
            },
            {
                "question_id": 151,
                "answer_id": "3bGq6tSxe2aNwdW4UkTnFh",
                "model_id": "vicuna-13b-v1.3",
                "choices": [
                    {
                        "index": 0,
                        "turns": [
                            "Gödel showed that any consistent formal system rich enough to describe arithmetic contains true statements it cannot prove, and that such a system cannot prove its own consistency.",
                            "Imagine a library catalogue that lists every book in the library. A book titled 'This book is not listed in the catalogue' can never be listed correctly: if it is listed, its title lies; if it is not, the catalogue is incomplete.",
                        ],
                    }
                ],
                "tstamp": 1687221912.4477,
            },
        ],
    )
    jsonl(
        C,
        "data/mt_bench/reference_answer/gpt-4.jsonl",
        [
            {
                "question_id": 111,
                "answer_id": "TFomieEmmAgdeCkvmuvwbc",
                "model_id": "gpt-4",
                "choices": [
                    {
                        "index": 0,
                        "turns": [
                            "Dan starts with 3 × 12 = 36 pencils. He gives away 7 and loses 2, so he has 36 − 7 − 2 = 27 pencils left.",
                            "Two more boxes contain 2 × 12 = 24 pencils. 27 + 24 = 51, so Dan has 51 pencils.",
                        ],
                    }
                ],
                "tstamp": 1686286924.844282,
            },
        ],
    )
    JP_SINGLE = (
        "[Instruction]\nPlease act as an impartial judge and evaluate the quality of the response provided by an AI assistant to the user question displayed below. "
        "Your evaluation should consider factors such as the helpfulness, relevance, accuracy, depth, creativity, and level of detail of the response. Begin your evaluation by providing a short explanation. "
        'Be as objective as possible. After providing your explanation, you must rate the response on a scale of 1 to 10 by strictly following this format: "[[rating]]", for example: "Rating: [[5]]".\n\n[Question]\n{question}\n\n[The Start of Assistant\'s Answer]\n{answer}\n[The End of Assistant\'s Answer]'
    )
    jsonl(
        C,
        "data/judge_prompts.jsonl",
        [
            {
                "name": "pair-v2",
                "type": "pairwise",
                "system_prompt": 'Please act as an impartial judge and evaluate the quality of the responses provided by two AI assistants to the user question displayed below. You should choose the assistant that follows the user\'s instructions and answers the user\'s question better. Output your final verdict by strictly following this format: "[[A]]" if assistant A is better, "[[B]]" if assistant B is better, and "[[C]]" for a tie.',
                "prompt_template": "[User Question]\n{question}\n\n[The Start of Assistant A's Answer]\n{answer_a}\n[The End of Assistant A's Answer]\n\n[The Start of Assistant B's Answer]\n{answer_b}\n[The End of Assistant B's Answer]",
                "description": "Prompt for general questions",
                "category": "general",
                "output_format": "[[A]]",
            },
            {
                "name": "single-v1",
                "type": "single",
                "system_prompt": "You are a helpful assistant.",
                "prompt_template": JP_SINGLE,
                "description": "Prompt for general questions",
                "category": "general",
                "output_format": "[[rating]]",
            },
            {
                "name": "single-math-v1",
                "type": "single",
                "system_prompt": "You are a helpful assistant.",
                "prompt_template": "[Instruction]\nPlease act as an impartial judge and evaluate the quality of the response provided by an AI assistant to the user question displayed below. Your evaluation should consider correctness and helpfulness. You will be given a reference answer and the assistant's answer.\n\n[Question]\n{question}\n\n[The Start of Reference Answer]\n{ref_answer_1}\n[The End of Reference Answer]\n\n[The Start of Assistant's Answer]\n{answer}\n[The End of Assistant's Answer]",
                "description": "Prompt for general questions",
                "category": "math",
                "output_format": "[[rating]]",
            },
        ],
    )
    jsonl(
        C,
        "data/mt_bench/model_judgment/gpt-4_single.jsonl",
        [
            {
                "question_id": 81,
                "model": "vicuna-13b-v1.3",
                "judge": ["gpt-4", "single-v1"],
                "user_prompt": JP_SINGLE.replace("{question}", Q81[0]).replace(
                    "{answer}",
                    "Lisbon stole my heart in just two days. I started with a warm pastel de nata in Belém...",
                ),
                "judgment": "The response is vivid and on topic, mentioning pastel de nata, sardines and fado. It is short but engaging. Rating: [[7]]",
                "score": 7,
                "turn": 1,
                "tstamp": 1687222012.2243,
            },
            {
                "question_id": 111,
                "model": "vicuna-13b-v1.3",
                "judge": ["gpt-4", "single-math-v1"],
                "user_prompt": "[Instruction]\nPlease act as an impartial judge ...\n\n[Question]\n"
                + Q111[0]
                + "\n\n[The Start of Reference Answer]\n27\n[The End of Reference Answer]\n\n[The Start of Assistant's Answer]\nDan starts with 3 x 12 = 36 pencils...\n[The End of Assistant's Answer]",
                "judgment": "The assistant's answer matches the reference answer of 27 and shows the steps. Rating: [[10]]",
                "score": 10,
                "turn": 1,
                "tstamp": 1687222020.7712,
            },
            {
                "question_id": 151,
                "model": "vicuna-13b-v1.3",
                "judge": ["gpt-4", "single-v1-multi-turn"],
                "user_prompt": "<|The Start of Assistant A's Conversation with User|>\n\n### User:\n"
                + Q151[0]
                + "\n\n### Assistant A:\nGödel showed that...\n\n### User:\n"
                + Q151[1]
                + "\n\n### Assistant A:\nImagine a library catalogue...\n\n<|The End of Assistant A's Conversation with User|>",
                "judgment": "The analogy is creative and captures self-reference. Rating: [[8]]",
                "score": 8,
                "turn": 2,
                "tstamp": 1687222031.0054,
            },
        ],
    )
    jsonl(
        C,
        "data/mt_bench/model_judgment/gpt-4_pair.jsonl",
        [
            {
                "question_id": 81,
                "model_1": "gpt-3.5-turbo",
                "model_2": "vicuna-13b-v1.3",
                "g1_winner": "model_1",
                "g2_winner": "model_1",
                "judge": ["gpt-4", "pair-v2"],
                "g1_user_prompt": "[User Question]\n"
                + Q81[0]
                + "\n\n[The Start of Assistant A's Answer]\nA weekend in Lisbon...\n[The End of Assistant A's Answer]\n\n[The Start of Assistant B's Answer]\nLisbon stole my heart...\n[The End of Assistant B's Answer]",
                "g1_judgment": "Assistant A gives more detail about the food and the music. [[A]]",
                "g2_user_prompt": "[User Question]\n"
                + Q81[0]
                + "\n\n[The Start of Assistant A's Answer]\nLisbon stole my heart...\n[The End of Assistant A's Answer]\n\n[The Start of Assistant B's Answer]\nA weekend in Lisbon...\n[The End of Assistant B's Answer]",
                "g2_judgment": "Assistant B is more detailed. [[B]]",
                "turn": 1,
                "tstamp": 1687223011.1,
            },
            {
                "question_id": 111,
                "model_1": "gpt-3.5-turbo",
                "model_2": "vicuna-13b-v1.3",
                "g1_winner": "tie",
                "g2_winner": "tie",
                "judge": ["gpt-4", "pair-math-v1"],
                "g1_user_prompt": "[User Question]\n"
                + Q111[0]
                + "\n\n[The Start of Reference Answer]\n27\n[The End of Reference Answer]\n\n[The Start of Assistant A's Answer]\n27 pencils.\n[The End of Assistant A's Answer]\n\n[The Start of Assistant B's Answer]\n36 - 7 - 2 = 27\n[The End of Assistant B's Answer]",
                "g1_judgment": "Both are correct. [[C]]",
                "g2_user_prompt": "...",
                "g2_judgment": "Both assistants reach 27. [[C]]",
                "turn": 1,
                "tstamp": 1687223020.5,
            },
            {
                "question_id": 151,
                "model_1": "gpt-3.5-turbo",
                "model_2": "vicuna-13b-v1.3",
                "g1_winner": "model_2",
                "g2_winner": "model_1",
                "judge": ["gpt-4", "pair-v2-multi-turn"],
                "g1_user_prompt": "<|The Start of Assistant A's Conversation with User|>\n...",
                "g1_judgment": "Assistant B's analogy is clearer. [[B]]",
                "g2_user_prompt": "<|The Start of Assistant A's Conversation with User|>\n...",
                "g2_judgment": "Assistant A's analogy is clearer. [[A]]",
                "turn": 2,
                "tstamp": 1687223031.9,
            },
        ],
    )
    case(
        C,
        "lm-sys/FastChat fastchat/llm_judge/data/mt_bench/{question.jsonl,model_answer/*.jsonl,reference_answer/gpt-4.jsonl,model_judgment/gpt-4_single.jsonl,gpt-4_pair.jsonl} + data/judge_prompts.jsonl; pair layout from gen_judgment.py play_a_match_pair",
        {
            "data/mt_bench/question.jsonl": JOINED,
            "data/mt_bench/model_answer/vicuna-13b-v1.3.jsonl": ING(
                3,
                roles=UAUA,
                lang="en",
                user_contains="weekend in Lisbon",
                some=[
                    {"user_contains": "Dan has 3 boxes", "lang": "en", "roles": UAUA},
                    {"user_contains": "Gödel", "lang": "en"},
                ],
            ),
            "data/mt_bench/reference_answer/gpt-4.jsonl": ING(
                1, roles=UAUA, lang="en", user_contains="Dan has 3 boxes"
            ),
            "data/mt_bench/model_judgment/gpt-4_single.jsonl": REF("judge_output", 3),
            "data/mt_bench/model_judgment/gpt-4_pair.jsonl": REF("judge_output", 3),
            "data/judge_prompts.jsonl": REF("judge_template", 3),
        },
        "A user pointing ingest at a FastChat tree expects answers (and GPT-4 references) joined turn by turn with their questions, judgments and judge prompts refused, and the question file not ingested again on its own.",
    )

    # ---------------------------------------------------------------- 02 lone FastChat question file
    C = "02_fastchat_question_alone"
    jsonl(
        C,
        "question.jsonl",
        [
            {
                "question_id": 91,
                "category": "roleplay",
                "turns": [
                    "Pretend yourself to be a tour guide in Kyoto. Greet a group of tourists and describe the plan for the day.",
                    "One tourist asks where to eat matcha desserts. What do you recommend?",
                ],
            },
            {
                "question_id": 131,
                "category": "stem",
                "turns": [
                    "Explain why the sky is blue to a ten-year-old.",
                    "Now explain why sunsets are red.",
                ],
            },
            {
                "question_id": 121,
                "category": "coding",
                "turns": [
                    "Write a Python function that returns the n-th Fibonacci number iteratively.",
                    "Modify it to use memoization and explain the trade-off.",
                ],
            },
        ],
    )
    case(
        C,
        "lm-sys/FastChat fastchat/llm_judge/data/mt_bench/question.jsonl (question_id, category, turns[str])",
        {
            "question.jsonl": ING(
                3, flags=["no_assistant"], user_contains="tour guide in Kyoto", lang="en"
            )
        },
        "Given only a question file, a user expects prompt-only rows (a user turn, no assistant) flagged no_assistant, usable for generation later.",
    )

    # ---------------------------------------------------------------- 03 arena-hard v0.1
    C = "03_arena_hard_v01"
    AH = [
        (
            "96d2e87e1be8490181fc62cbee45a18e",
            "Keyboard Key Functions & Layout",
            "Can one discover what was typed on a mechanical keyboard from audio captured by a nearby microphone?",
        ),
        (
            "e5dbb699f7dc4e3583137b3b6f7414ba",
            "Silent Film History",
            "Write a short museum placard (under 80 words) about Georges Méliès and his film A Trip to the Moon.",
        ),
        (
            "1b0157a79499418ebe22a567f9059e7f",
            "Regex Email Extraction",
            "Write a Python function that returns a list of email addresses found in a string.",
        ),
    ]
    jsonl(
        C,
        "data/arena-hard-v0.1/question.jsonl",
        [
            {
                "question_id": q,
                "category": "arena-hard-v0.1",
                "cluster": c,
                "turns": [{"content": t}],
            }
            for q, c, t in AH
        ],
    )
    ANS = [
        "Yes, in principle. Acoustic side-channel attacks record keystrokes and use the slightly different sound of each key, plus language models, to reconstruct text. Accuracy depends on the microphone, background noise and training data for that keyboard.",
        "Georges Méliès (1861–1938), a stage magician turned filmmaker, invented many early special effects. His 1902 film A Trip to the Moon, with the famous rocket lodged in the Moon's eye, remains an icon of early cinema.",
        '```python\nimport re\n\ndef extract_emails(text):\n    return re.findall(r"[\\w.+-]+@[\\w-]+\\.[\\w.-]+", text)\n```',
    ]
    jsonl(
        C,
        "data/arena-hard-v0.1/model_answer/gpt-4-0314.jsonl",
        [
            {
                "question_id": q,
                "answer_id": aid,
                "model_id": "gpt-4-0314",
                "choices": [{"index": 0, "turns": [{"content": a, "token_len": len(a.split())}]}],
                "tstamp": 1711397284.101236 + i,
            }
            for i, ((q, _, _), a, aid) in enumerate(
                zip(
                    AH,
                    ANS,
                    ["ndKLaFQXbU4eujaZBGjGZJ", "ZXTnRiSRajtL32tSg43XCZ", "MWFtQtRmgXXWEyVWMTEHWB"],
                )
            )
        ],
    )
    jsonl(
        C,
        "data/arena_hard_battles.jsonl",
        [
            {
                "question_id": 0,
                "model_a": "gpt-4-0314",
                "model_b": "Llama-3-70B-Instruct",
                "winner": "model_b",
            },
            {
                "question_id": 0,
                "model_a": "gpt-4-0314",
                "model_b": "Llama-3-70B-Instruct",
                "winner": "model_b",
            },
            {
                "question_id": 1,
                "model_a": "gpt-4-0314",
                "model_b": "Llama-3-70B-Instruct",
                "winner": "tie",
            },
            {
                "question_id": 2,
                "model_a": "gpt-4-0314",
                "model_b": "Llama-3-70B-Instruct",
                "winner": "model_a",
            },
        ],
    )
    case(
        C,
        "lmarena/arena-hard-auto data/arena-hard-v0.1/{question.jsonl,model_answer/gpt-4-0314.jsonl} (turns[{content}], choices[].turns[{content,token_len}]) and data/arena_hard_battles.jsonl",
        {
            "data/arena-hard-v0.1/question.jsonl": JOINED,
            "data/arena-hard-v0.1/model_answer/gpt-4-0314.jsonl": ING(
                3,
                roles=UA,
                lang="en",
                user_contains="mechanical keyboard",
                some=[{"user_contains": "Méliès", "lang": "en"}],
            ),
            "data/arena_hard_battles.jsonl": REF("judge_output", 4),
        },
        "Arena-hard answers are joined with the {content} turns of their questions; the battles file holds only verdicts (no text) and is refused as judge output.",
    )

    # ---------------------------------------------------------------- 04 lone arena-hard question file
    C = "04_arena_hard_question_alone"
    jsonl(
        C,
        "question.jsonl",
        [
            {
                "question_id": "328c149ed45a41c0b9d6f14659e63599",
                "category": "arena-hard-v0.1",
                "cluster": "ABC Sequence Puzzles & Groups",
                "turns": [
                    {"content": "Use ABC notation to write a melody in the style of a folk tune."}
                ],
            },
            {
                "question_id": "b43c07656ead4150b360294ee932b410",
                "category": "arena-hard-v0.1",
                "cluster": "ABC Sequence Puzzles & Groups",
                "turns": [
                    {
                        "content": "Solve in C++: three cards a, b, c lie in a row; can you make the row abc with at most one swap? Print YES or NO for each test case."
                    }
                ],
            },
            {
                "question_id": "1f07cf6d146d4038b2b93aaba3935ce0",
                "category": "arena-hard-v0.1",
                "cluster": "AI & Sequence Alignment Challenges",
                "turns": [
                    {
                        "content": "Explain the book The Alignment Problem by Brian Christian and recommend related reading."
                    }
                ],
            },
        ],
    )
    case(
        C,
        "lmarena/arena-hard-auto data/arena-hard-v0.1/question.jsonl (question_id, category, cluster, turns[{content}])",
        {
            "question.jsonl": ING(
                3, roles=["user"], flags=["no_assistant"], user_contains="ABC notation", lang="en"
            )
        },
        "A lone arena-hard question file should give one prompt-only row per question, the text taken from turns[0].content, flagged no_assistant.",
    )

    # ---------------------------------------------------------------- 05 arena-hard v2.0
    C = "05_arena_hard_v2"
    V2 = [
        (
            "0001b527ced3428d",
            "hard_prompt",
            "coding",
            "Write a bash one-liner that finds the 5 largest files under the current directory, human-readable sizes.",
        ),
        (
            "00a38edd42744fa0",
            "hard_prompt",
            "math",
            "你是一名小学数学老师，请回答：哪两个数的最小公倍数是36？请列出所有的组合。",
        ),
        (
            "021305e5b1324f99",
            "creative_writing",
            "creative_writing",
            "Напиши короткое стихотворение о первом снеге в Москве.",
        ),
    ]
    jsonl(
        C,
        "data/arena-hard-v2.0/question.jsonl",
        [{"uid": u, "category": c, "subcategory": s, "prompt": p} for u, c, s, p in V2],
    )
    V2A = [
        "```bash\nfind . -type f -exec du -h {} + | sort -rh | head -n 5\n```",
        "最小公倍数是36的组合有：(1,36)、(2,36)、(3,36)、(4,9)、(4,18)、(4,36)、(9,12)、(12,18) 等。判断方法是先列出36的因数，再检查每一对的最小公倍数是否等于36。",
        "Первый снег упал на крыши,\nМосква притихла до утра,\nИ город стал немного тише,\nЧем был ещё вчера.",
    ]
    jsonl(
        C,
        "data/arena-hard-v2.0/model_answer/o3-mini-2025-01-31.jsonl",
        [
            {
                "uid": u,
                "ans_id": aid,
                "model": "o3-mini-2025-01-31",
                "messages": [
                    {"role": "user", "content": p},
                    {"role": "assistant", "content": {"answer": a}},
                ],
                "tstamp": 1745605748.43 + i,
                "metadata": {
                    "token_len": len(a),
                    "header_count": {"h1": 0, "h2": 0, "h3": 0, "h4": 0, "h5": 0, "h6": 0},
                    "list_count": {"ordered": 0, "unordered": 0},
                    "bold_count": {"**": 0, "__": 0},
                },
            }
            for i, ((u, c, s, p), a, aid) in enumerate(
                zip(
                    V2,
                    V2A,
                    ["kpYHmjdWG3zxKm3P9y5EMR", "Y5mVEK9bgHmyrMHkjxQG6f", "nRYCHmVYzMBY6rKAjk5fpe"],
                )
            )
        ],
    )
    SYS_J = "Please act as an impartial judge and evaluate the quality of the responses provided by two AI assistants to the user prompt displayed below. You will be given assistant A's answer and assistant B's answer. Your job is to evaluate which assistant's answer is better. ... My final verdict is: [[A>B]]"
    jsonl(
        C,
        "data/arena-hard-v2.0/model_judgment/gemini-2.5-pro/Qwen3-32B.jsonl",
        [
            {
                "uid": V2[0][0],
                "category": "hard_prompt",
                "judge": "gemini-2.5-pro",
                "model": "Qwen3-32B",
                "baseline": "o3-mini-2025-01-31",
                "games": [
                    {
                        "score": "B>A",
                        "judgment": {
                            "answer": "Both commands work, but B handles spaces in file names. My final verdict is: [[B>A]]"
                        },
                        "prompt": [
                            {"role": "system", "content": SYS_J},
                            {
                                "role": "user",
                                "content": "<|User Prompt|>\n"
                                + V2[0][3]
                                + "\n\n<|The Start of Assistant A's Answer|>\n"
                                + V2A[0]
                                + "\n<|The End of Assistant A's Answer|>\n\n<|The Start of Assistant B's Answer|>\nfind . -type f -printf '%s %p\\n' | sort -nr | head -5\n<|The End of Assistant B's Answer|>",
                            },
                        ],
                    },
                    {
                        "score": "A=B",
                        "judgment": {"answer": "Equivalent. My final verdict is tie: [[A=B]]"},
                        "prompt": [
                            {"role": "system", "content": SYS_J},
                            {
                                "role": "user",
                                "content": "<|User Prompt|>\n"
                                + V2[0][3]
                                + "\n\n<|The Start of Assistant A's Answer|>\n...\n<|The End of Assistant A's Answer|>",
                            },
                        ],
                    },
                ],
            },
            {
                "uid": V2[1][0],
                "category": "hard_prompt",
                "judge": "gemini-2.5-pro",
                "model": "Qwen3-32B",
                "baseline": "o3-mini-2025-01-31",
                "games": [
                    {
                        "score": "A>>B",
                        "judgment": {
                            "answer": "助手A列出的组合更完整。My final verdict is: [[A>>B]]"
                        },
                        "prompt": [
                            {"role": "system", "content": SYS_J},
                            {
                                "role": "user",
                                "content": "<|User Prompt|>\n"
                                + V2[1][3]
                                + "\n\n<|The Start of Assistant A's Answer|>\n"
                                + V2A[1]
                                + "\n<|The End of Assistant A's Answer|>",
                            },
                        ],
                    }
                ],
            },
        ],
    )
    case(
        C,
        "lmarena/arena-hard-auto data/arena-hard-v2.0/model_answer/sky-t1-32b.jsonl (uid, ans_id, model, messages with assistant content {answer}, metadata); questions per src/arenahard/gen_answer.py (uid, prompt); judgments per src/arenahard/gen_judgment.py (games[{score, judgment{answer}, prompt[messages]}])",
        {
            "data/arena-hard-v2.0/question.jsonl": JOINED,
            "data/arena-hard-v2.0/model_answer/o3-mini-2025-01-31.jsonl": ING(
                3,
                roles=UA,
                lang="en",
                user_contains="bash one-liner",
                some=[
                    {"user_contains": "最小公倍数", "lang": "zh-Hans"},
                    {"user_contains": "первом снеге", "lang": "ru"},
                ],
            ),
            "data/arena-hard-v2.0/model_judgment/gemini-2.5-pro/Qwen3-32B.jsonl": REF(
                "judge_output", 2
            ),
        },
        "v2.0 answers carry their own messages, the assistant content being an object {answer}: a user expects plain user/assistant text; judgments (which embed judge prompts as messages) are judge output, not conversations.",
    )

    # ---------------------------------------------------------------- 06 Russian arena (Vikhr ru_llm_arena, arena-hard-orig)
    C = "06_ru_llm_arena"
    RU = [
        (
            "328c149ed45a41c0b9d6f14659e63599",
            "ABC Sequence Puzzles & Groups",
            "Используйте нотацию ABC для написания мелодии в стиле народной песни.",
        ),
        (
            "b8e2a1c4f9d0473a9c1e5d2f3a4b6c7d",
            "Python Debugging",
            "Почему этот код падает?\n```python\ndef average(rows):\n    total = 0\n    for r in rows:\n        total += int(r['value'])\n    return total / len(rows)\n\nprint(average([]))\n```",
        ),
        (
            "f54e99e9686549e7a096dd16dbab28e1",
            "AWS Cloud Services Essentials",
            "Как память влияет на производительность AWS Lambda, написанной на Node.js?",
        ),
    ]
    jsonl(
        C,
        "data/arena-hard-orig/question.jsonl",
        [
            {
                "question_id": q,
                "cluster": c,
                "turns": [{"content": t}],
                "category": "arena-hard-v0.1",
            }
            for q, c, t in RU
        ],
    )
    RUA = [
        "Конечно! Вот простая мелодия:\n\nX:1\nT:Народная песня\nM:4/4\nL:1/8\nK:G\nGABc d2 BG | A2 FD G4 |",
        "Код падает с ZeroDivisionError: список пустой, поэтому len(rows) равно нулю. Добавьте проверку: если rows пуст, верните 0 или None.",
        "В AWS Lambda объём памяти определяет и долю процессора. Увеличение памяти ускоряет холодный старт и выполнение Node.js-функции, но повышает стоимость секунды работы.",
    ]
    jsonl(
        C,
        "data/arena-hard-orig/model_answer/saiga_llama3_8b.jsonl",
        [
            {
                "question_id": q,
                "answer_id": aid,
                "model_id": "saiga_llama3_8b",
                "choices": [{"index": 0, "turns": [{"content": a, "token_len": len(a.split())}]}],
                "tstamp": 1715309475.977822 + i,
            }
            for i, ((q, _, _), a, aid) in enumerate(
                zip(
                    RU,
                    RUA,
                    ["7nLTDficmSkbzdrA3kmfce", "RumaqrbHgMJwr4mQu9LwYA", "SVu9QZLtCXwNgSPVeX8Vhx"],
                )
            )
        ],
        ascii=True,
    )
    jsonl(
        C,
        "data/arena-hard-orig/model_judgment/gpt-4-1106-preview_ru-old-prompt/saiga_llama3_8b.jsonl",
        [
            {
                "question_id": RU[1][0],
                "model": "saiga_llama3_8b",
                "judge": "gpt-4-1106-preview",
                "games": [
                    {
                        "user_prompt": "<|Запрос пользователя|>\n"
                        + RU[1][2]
                        + "\n\n<|Начало ответа ассистента A|>\nСписок пуст...\n<|Конец ответа ассистента A|>\n\n<|Начало ответа ассистента B|>\n"
                        + RUA[1]
                        + "\n<|Конец ответа ассистента B|>",
                        "judgment": "Ассистент B точнее объясняет причину ошибки. Мой окончательный вердикт: [[B>A]].",
                        "score": "B>A",
                    },
                    {
                        "user_prompt": "<|Запрос пользователя|>\n"
                        + RU[1][2]
                        + "\n\n<|Начало ответа ассистента A|>\n"
                        + RUA[1]
                        + "\n<|Конец ответа ассистента A|>",
                        "judgment": "Ассистент A немного лучше: [[A>B]].",
                        "score": "A>B",
                    },
                ],
            },
        ],
    )
    case(
        C,
        "VikhrModels/ru_llm_arena data/arena-hard-orig/{question.jsonl, model_answer/saiga_llama3_8b.jsonl (\\u-escaped Cyrillic), model_judgment/gpt-4-1106-preview_ru-old-prompt/saiga_llama3_8b.jsonl}",
        {
            "data/arena-hard-orig/question.jsonl": JOINED,
            "data/arena-hard-orig/model_answer/saiga_llama3_8b.jsonl": ING(
                3,
                roles=UA,
                lang="ru",
                user_contains="нотацию ABC",
                some=[{"user_contains": "Почему этот код падает", "lang": "ru"}],
            ),
            "data/arena-hard-orig/model_judgment/gpt-4-1106-preview_ru-old-prompt/saiga_llama3_8b.jsonl": REF(
                "judge_output", 1
            ),
        },
        "The Russian arena fork keeps arena-hard layouts with Russian text (ASCII-escaped in answers): answers join with questions and stay labelled ru even when the prompt is mostly a code block.",
    )

    # ---------------------------------------------------------------- 07 llmtf ru_arena-hard (instruction-only questions + alpaca-eval-like results)
    C = "07_llmtf_ru_arena_hard"
    RQ = [
        "Какой лучший способ начать заниматься серфингом?",
        "Как сохранить банан свежим?",
        "Объясни теорию относительности для второклассника.",
    ]
    RA = [
        "Начните с уроков в школе серфинга на пляже с небольшими волнами, возьмите длинную мягкую доску и учитесь сначала вставать на пене.",
        "Оберните хвостики пищевой плёнкой, храните бананы отдельно от других фруктов и не кладите их в холодильник, пока они не созрели.",
        "Представь, что ты едешь в поезде и бросаешь мячик: для тебя он летит прямо, а для человека на перроне — вместе с поездом. Эйнштейн понял, что время и расстояние тоже зависят от того, кто смотрит.",
    ]
    jarr(
        C,
        "benchmark/llmaaj/ru_arena-hard-v0.1/questions.json",
        [{"instruction": q} for q in RQ],
        indent=4,
    )
    jarr(
        C,
        "benchmark/llmaaj/ru_arena-hard-v0.1/model_results/Qwen3-1.7B.json",
        [
            {
                "instruction": q,
                "output": a,
                "generator": "Qwen3-1.7B",
                "dataset": "ru_arena-hard-v0.1",
                "generated_tokens": len(a),
                "datasplit": "eval",
            }
            for q, a in zip(RQ, RA)
        ],
        indent=4,
    )
    case(
        C,
        "RefalMachine/llmtf_open benchmark/llmaaj/ru_arena-hard-v0.1/{questions.json, model_results/Qwen3-1.7B.json}",
        {
            "benchmark/llmaaj/ru_arena-hard-v0.1/questions.json": JOINED,
            "benchmark/llmaaj/ru_arena-hard-v0.1/model_results/Qwen3-1.7B.json": ING(
                3, roles=UA, lang="ru", user_contains="серфингом"
            ),
        },
        "Results files carry instruction+output (AlpacaEval style) and are conversations; the bare questions.json beside them should not add prompt-only duplicates of prompts that are answered in the same run.",
    )
