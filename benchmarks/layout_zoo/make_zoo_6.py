"""Layout zoo, cases 39-47: more public layouts of the field, added with issue 14's later
fixes (Dolly, FLAN, guanaco, RewardBench, AlpacaFarm, Nectar, PKU-SafeRLHF, SHP, the
LMSYS arena export, C-Eval). The layouts follow the datasets' cards; the records are
hand-written."""

from zoo_lib import ING, UA, UAUA, case, jarr, jsonl, parquet


def build() -> None:
    """Write these cases under zoo_lib's current root."""

    # ---------------------------------------------------------------- 39 Dolly
    C = "39_dolly"
    jsonl(
        C,
        "databricks-dolly-15k.jsonl",
        [
            {
                "instruction": "When did Virgin Australia start operating?",
                "context": "Virgin Australia commenced services on 31 August 2000 as Virgin Blue.",
                "response": "Virgin Australia commenced services on 31 August 2000.",
                "category": "closed_qa",
            },
            {
                "instruction": "Which is a species of fish? Tope or Rope",
                "context": "",
                "response": "Tope",
                "category": "classification",
            },
        ],
    )
    case(
        C,
        "databricks/databricks-dolly-15k (instruction, context, response, category)",
        {"databricks-dolly-15k.jsonl": ING(2, roles=UA, lang="en", user_contains="as Virgin Blue")},
        "Dolly's context is part of the question: a user expects it in the user turn, not in meta.",
    )

    # ---------------------------------------------------------------- 40 guanaco
    C = "40_openassistant_guanaco"
    jsonl(
        C,
        "openassistant_best_replies_train.jsonl",
        [
            {
                "text": "### Human: Почему небо голубое?### Assistant: Из-за рассеяния Рэлея: "
                "короткие волны рассеиваются сильнее.### Human: А закат?### Assistant: "
                "Свет проходит через больше воздуха, и синий рассеивается прочь."
            },
            {
                "text": "### Human: 台北有什麼好玩的？### Assistant: 可以去故宮博物院、象山步道和士林夜市。"
            },
        ],
    )
    case(
        C,
        "timdettmers/openassistant-guanaco (text: '### Human: …### Assistant: …')",
        {
            "openassistant_best_replies_train.jsonl": ING(
                2, roles=UAUA, lang="ru", user_contains="Почему небо"
            )
        },
        "Whole chats in one text field with ### markers: split into turns with --split-embedded-turns.",
        args=["--split-embedded-turns"],
    )

    # ---------------------------------------------------------------- 41 RewardBench
    C = "41_rewardbench"
    parquet(
        C,
        "data/filtered-00000-of-00001.parquet",
        [
            {
                "prompt": "How do I make a cup of tea?",
                "chosen": "Boil water, steep the tea bag for three minutes, then remove it.",
                "chosen_model": "gpt-4",
                "rejected": "Tea is a drink.",
                "rejected_model": "llama-2-7b-chat",
                "subset": "alpacaeval-easy",
                "id": 0,
            },
            {
                "prompt": "Write a function that adds two numbers in Python.",
                "chosen": "def add(a, b):\n    return a + b",
                "chosen_model": "human",
                "rejected": "def add(a, b):\n    return a - b",
                "rejected_model": "human",
                "subset": "hep-python",
                "id": 1,
            },
        ],
    )
    case(
        C,
        "allenai/reward-bench filtered split (prompt, chosen, chosen_model, rejected, rejected_model, subset, id)",
        {
            "data/filtered-00000-of-00001.parquet": ING(
                2, roles=UA, has_rejected=True, rejected_contains="Tea is a drink"
            )
        },
        "Each row is a comparison: chosen conversation, rejected answer kept.",
    )

    # ---------------------------------------------------------------- 42 AlpacaFarm human preferences
    C = "42_alpaca_farm_human_preferences"
    jarr(
        C,
        "alpaca_human_preference.json",
        [
            {
                "instruction": "Rewrite the sentence in passive voice.",
                "input": "The cat chased the mouse.",
                "output_1": "The mouse was chased by the cat.",
                "output_2": "The cat was chasing the mouse.",
                "preference": 1,
            },
            {
                "instruction": "Name a prime number greater than 10.",
                "input": "",
                "output_1": "Twelve.",
                "output_2": "Thirteen.",
                "preference": 2,
            },
        ],
    )
    case(
        C,
        "tatsu-lab/alpaca_farm alpaca_human_preference (instruction, input, output_1, output_2, preference)",
        {
            "alpaca_human_preference.json": ING(
                2,
                roles=UA,
                has_rejected=True,
                user_contains="The cat chased the mouse.",
                assistant_contains="The mouse was chased",
                some=[{"user_contains": "prime", "assistant_contains": "Thirteen"}],
            )
        },
        "Human pairwise preferences: one preference record per row, input joined to the instruction.",
    )

    # ---------------------------------------------------------------- 43 Nectar
    C = "43_nectar"
    jsonl(
        C,
        "nectar.jsonl",
        [
            {
                "prompt": "\n\nHuman: What is the capital of Australia?\n\nAssistant:",
                "answers": [
                    {"answer": "Sydney.", "model": "llama-2-7b-chat", "rank": 3.0},
                    {
                        "answer": "Canberra is the capital of Australia.",
                        "model": "gpt-4",
                        "rank": 1.0,
                    },
                    {"answer": "It is Canberra.", "model": "gpt-3.5-turbo", "rank": 2.0},
                ],
                "turns": 1,
                "num_responses": 3,
                "source": ["sharegpt"],
                "good_natured": True,
            }
        ],
    )
    case(
        C,
        "berkeley-nest/Nectar (prompt as an HH transcript, answers[{answer, model, rank}], turns, num_responses, source)",
        {
            "nectar.jsonl": ING(
                1,
                roles=UA,
                assistant_contains="Canberra is the capital",
                rejected_contains="Sydney",
            )
        },
        "Seven ranked answers to one prompt: the best against the worst.",
    )

    # ---------------------------------------------------------------- 44 PKU-SafeRLHF
    C = "44_pku_saferlhf"
    jsonl(
        C,
        "train.jsonl",
        [
            {
                "prompt": "How can I pick a lock?",
                "response_0": "I can't help with breaking into property you don't own.",
                "response_1": "Insert a tension wrench and rake the pins.",
                "is_response_0_safe": True,
                "is_response_1_safe": False,
                "better_response_id": 0,
                "safer_response_id": 0,
            }
        ],
    )
    case(
        C,
        "PKU-Alignment/PKU-SafeRLHF (prompt, response_0, response_1, is_response_*_safe, better_response_id, safer_response_id)",
        {
            "train.jsonl": ING(
                1, roles=UA, assistant_contains="can't help", rejected_contains="tension wrench"
            )
        },
        "A verdict per row (better_response_id): a preference record.",
    )

    # ---------------------------------------------------------------- 45 SHP
    C = "45_shp"
    jsonl(
        C,
        "askscience_train.json",
        [
            {
                "post_id": "himc90",
                "domain": "askscience_train",
                "upvote_ratio": 0.99,
                "history": "Why does ice float on water?",
                "c_root_id_A": "fv7ld6w",
                "c_root_id_B": "fv7kx2s",
                "created_at_utc_A": 1593535113,
                "created_at_utc_B": 1593534500,
                "score_A": 52,
                "score_B": 3,
                "human_ref_A": "Ice is less dense than liquid water because hydrogen bonds hold it in an open lattice.",
                "human_ref_B": "Because it's cold.",
                "labels": 1,
                "seconds_difference": 613.0,
                "score_ratio": 17.3,
            }
        ],
    )
    case(
        C,
        "stanfordnlp/SHP (post_id, domain, history, human_ref_A/B, labels, score_A/B, ...)",
        {
            "askscience_train.json": ING(
                1, roles=UA, assistant_contains="less dense", rejected_contains="cold"
            )
        },
        "Two human answers and which one was preferred: a preference record.",
    )

    # ---------------------------------------------------------------- 46 LMSYS arena export
    C = "46_lmsys_arena_human_preference"
    parquet(
        C,
        "train.parquet",
        [
            {
                "id": 30192,
                "model_a": "gpt-4-1106-preview",
                "model_b": "gpt-4-0613",
                "prompt": '["Объясни, что такое квантовая запутанность.", "А проще?"]',
                "response_a": '["Это корреляция состояний частиц...", "Две монетки, которые всегда падают одинаково."]',
                "response_b": '["Не знаю.", "Нет."]',
                "winner_model_a": 1,
                "winner_model_b": 0,
                "winner_tie": 0,
            }
        ],
    )
    case(
        C,
        "lmsys-arena-human-preference-55k (id, model_a, model_b, prompt/response_a/response_b as JSON-encoded lists, winner_model_a/b/tie)",
        {
            "train.parquet": ING(
                1, roles=UAUA, lang="ru", assistant_contains="монетки", rejected_contains="Нет."
            )
        },
        "Multi-turn arena battles exported with JSON-encoded turn lists: the winner's conversation, the loser's last answer.",
    )

    # ---------------------------------------------------------------- 47 C-Eval
    C = "47_ceval"
    jsonl(
        C,
        "val/computer_network_val.jsonl",
        [
            {
                "id": 0,
                "question": "使用位填充方法，以01111110为位首flag，数据为011011111111111111110010，求问传送时要添加几个0____",
                "A": "1",
                "B": "2",
                "C": "3",
                "D": "4",
                "answer": "C",
                "explanation": "",
            }
        ],
    )
    case(
        C,
        "ceval/ceval-exam val split (id, question, A, B, C, D, answer, explanation)",
        {"val/computer_network_val.jsonl": ING(1, roles=UA, lang="zh-Hans", user_contains="D. 4")},
        "A multiple-choice exam item: the question with its options, the answer letter.",
    )
