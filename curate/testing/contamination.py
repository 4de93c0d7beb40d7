"""A pool from ../shared/data with benchmark items planted into it, labelled: for the
decontamination tests and ``benchmarks/bench_decontaminate.py``.

Two experiments, each a benchmark set and the rows planted against it (kept apart so
that a translation of a set's item is not an exact copy of another of its files):

``A``  benchmarks: MT-Bench (questions and GPT-4 reference answers, en), the Taiwan
       bench (Vicuna-80 in zh-Hant), the Simplified prompt list (zh-Hans), DRCD (zh-Hant
       reading comprehension). Planted: exact copies; OpenCC ``s2tw`` and ``tw2s``
       conversions; the human Traditional rewrite of the prompt list; MT-Bench's Russian
       translation; paraphrases; items quoted inside a longer prompt.
``B``  benchmarks: MT-Bench in Russian, InstructionWild's English seed prompts. Planted:
       Russian copies, paraphrases and quotes; the English MT-Bench and InstructionWild's
       Chinese seed prompts as translations.

Every planted row carries ``plant_kind`` and ``plant_item`` (the benchmark item id it
derives from), which ingest keeps in ``meta``. Unrelated rows come from sources that
hold none of these benchmarks (LIMA, OASST zh, rulm, MedicalGPT, MOSS); false
positives are measured on them. ``half`` keeps the items whose position is even (0) or
odd (1): thresholds are chosen on one half and reported on both.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: the unrelated pool: files that hold none of the benchmarks
UNRELATED = (
    "lima_en/lima.json",
    "oasst_zh/oaast_sft_zh.json",
    "rulm_ru/ru_turbo_alpaca_gen100.jsonl",
    "rulm_ru/ru_alpaca_seed_tasks.jsonl",
    "medicalgpt_zh/sharegpt_zh_1K_format.jsonl",
    "medicalgpt_zh/medical_sft_1K_format.jsonl",
    "moss_sft_zh_en/conversation_without_plugins__honest_conversations.jsonl",
    "moss_sft_zh_en/conversation_without_plugins__harmless_conversations.jsonl",
)
BENCHMARKS = {
    "A": (
        "mtbench_en/question.jsonl",
        "mtbench_en/reference_answer_gpt-4.jsonl",
        "zh_tw_bench/question.jsonl",
        "prompts_zh_hans_hant/prompts-zh.json",
        "drcd_zh_tw/DRCD_dev.json",
    ),
    "B": ("mtbench_ru/question_ru.jsonl", "instructionwild_zh_en/seed_prompts_en.jsonl"),
}
DRCD_ITEMS = 200

#: hand-written paraphrases (same language, other words) of benchmark items, by item id
PARAPHRASES = {
    "A": {
        "81": "Write a fun blog article about a trip you recently took to Hawaii, covering the "
        "cultural experiences you had and the attractions nobody should miss.",
        "86": "Describe a busy market in one paragraph, using details of what you smell, hear and "
        "see, so the reader feels as if they were standing there.",
        "91": "For the rest of this chat, act as if you were Elon Musk and talk the way he does. "
        "Tell me: why should humanity go to Mars?",
        "101": "Suppose you're running a race against several people and you just passed the "
        "runner in second place. Which place are you in now, and where is the runner you passed?",
        "111": "A triangle has its corners at (0, 0), (-1, 1) and (3, 3). Find its area.",
        "116": "Given that x + y = 4z and xy = 4z^2, write x - y in terms of z.",
        "121": "Write a Python script that goes through every text file in a folder and reports "
        "the five most frequent words.",
        "126": "Write a function that returns the median of two sorted arrays of unequal length, "
        "using O(1) extra space and O(n) time.",
        "141": "What does superposition mean in quantum physics, and what is its connection to "
        "quantum entanglement?",
        "151": "Explain how GDP, inflation and unemployment are related to one another, and how "
        "fiscal and monetary policy influence them.",
        "156": "What is the base rate fallacy? Give five concrete examples of politicians using "
        "it in their campaigns.",
        "1": "有什麼方法可以讓我更有效地管理自己的時間？",
        "11": "比起可重複使用的水瓶，用完即丟的塑膠瓶會對環境和人體健康帶來哪些影響？",
        "21": "假如你是中世紀的騎士，在國王的宴席上你會怎麼介紹自己？",
        "31": "要怎麼看出一間餐廳是在地人常去的，還是多半做觀光客生意？知道這點有什麼用處？",
        "41": "人一輩子平均大概眨幾次眼？請一步步說明你的推算過程，讓讀者能跟上你的思路。",
        "51": "假設文藝復興時代就已經有了網路，世界會變成什麼樣子？",
        "61": "請用 C++ 寫一個程式，一行一行讀入文字檔，統計某個指定單字在檔案裡出現了幾次。",
        "71": "可以幫我草擬一封正式的電子郵件，向潛在的合作夥伴提出合資的提案嗎？",
    },
    "B": {
        "81": "Напиши увлекательную статью для блога о своём недавнем путешествии на Гавайи: "
        "расскажи о местной культуре и о местах, которые стоит посетить.",
        "91": "Во всех дальнейших ответах веди себя как Илон Маск и говори его манерой. Зачем "
        "человечеству лететь на Марс?",
        "101": "Допустим, ты бежишь в забеге вместе с другими людьми и только что обогнал того, "
        "кто был вторым. На каком ты теперь месте и где тот, кого ты обогнал?",
        "111": "Треугольник задан вершинами (0, 0), (-1, 1) и (3, 3). Найдите его площадь.",
        "121": "Напишите на Python программу, которая проходит по всем текстовым файлам в папке "
        "и выводит пять самых частых слов.",
        "141": "Объясните, что в квантовой физике называют суперпозицией и какое отношение она "
        "имеет к квантовой запутанности.",
        "151": "Как связаны между собой ВВП, инфляция и безработица? Расскажите также, как на "
        "них влияют бюджетная и денежная политика.",
    },
}
#: how a quoted item is framed inside a longer prompt, per language
QUOTE_FRAMES = {
    "en": ("A friend sent me this question and I am stuck on it:", "Please answer in detail."),
    "zh": ("我在網上看到這道題，想請你幫忙解答：", "請詳細回答，謝謝。"),
    "ru": ("Помогите, пожалуйста, с заданием из учебника:", "Ответьте подробно."),
}


@dataclass
class Planted:
    """The files of one experiment: what to ingest, what to check against, the labels."""

    name: str
    pool_files: list[Path]
    benchmarks: list[Path]
    kinds: dict[str, int] = field(default_factory=dict)  # planted rows per kind


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _mtbench(path: Path) -> list[tuple[str, list[str]]]:
    return [(str(r["question_id"]), list(r["turns"])) for r in _jsonl(path)]


def _answers(folder: Path) -> dict[str, list[str]]:
    """question id -> answer turns, from the first answer file (sorted) that has it."""
    out: dict[str, list[str]] = {}
    for path in sorted(folder.glob("*.jsonl")):
        for r in _jsonl(path):
            turns = (r.get("choices") or [{}])[0].get("turns")
            if turns and all(isinstance(t, str) and t.strip() for t in turns):
                out.setdefault(str(r["question_id"]), turns)
    return out


def _chat(turns: list[str], answers: list[str] | None) -> list[dict[str, str]]:
    messages = []
    for k, turn in enumerate(turns):
        messages.append({"role": "user", "content": turn})
        if answers and k < len(answers):
            messages.append({"role": "assistant", "content": answers[k]})
    return messages


def _filler(data: Path, rng: random.Random) -> dict[str, list[str]]:
    """Unrelated answers and prompt text per language, to frame planted items."""
    lima = json.loads((data / "lima_en/lima.json").read_text(encoding="utf-8"))
    oasst = json.loads((data / "oasst_zh/oaast_rm_zh.json").read_text(encoding="utf-8"))
    rulm = _jsonl(data / "rulm_ru/user_saiga13b_answers.jsonl")
    out = {
        "en": [r["output"] for r in lima if isinstance(r.get("output"), str) and r["output"]],
        "zh": [r["output"][0] if isinstance(r["output"], list) else r["output"] for r in oasst],
        "ru": [r.get("answer") or r.get("output") or "" for r in rulm],
    }
    out = {k: [t[:600] for t in v if isinstance(t, str) and len(t) > 40] for k, v in out.items()}
    for texts in out.values():
        rng.shuffle(texts)
    return out


def _quote(item: str, lang: str, filler: list[str], k: int) -> str:
    head, tail = QUOTE_FRAMES[lang]
    context = filler[k % len(filler)][:300]
    return f"{context}\n\n{head}\n{item}\n\n{tail}"


def plant(data: Path, out: Path, half: int | None = None, seed: int = 0) -> dict[str, Planted]:
    """Write ``out/planted_A.jsonl`` and ``out/planted_B.jsonl``; the two experiments."""
    import opencc

    s2tw, tw2s = opencc.OpenCC("s2tw").convert, opencc.OpenCC("tw2s").convert
    rng = random.Random(seed)
    filler = _filler(data, rng)
    out.mkdir(parents=True, exist_ok=True)

    def keep(k: int) -> bool:
        return half is None or k % 2 == half

    rows: dict[str, list[dict[str, Any]]] = {"A": [], "B": []}

    def add(bench: str, kind: str, item: str, messages: list[dict[str, str]], k: int) -> None:
        rows[bench].append(
            {"messages": messages, "plant_kind": kind, "plant_item": item, "plant_half": k % 2}
        )

    mt_en = _mtbench(data / "mtbench_en/question.jsonl")
    mt_ru = _mtbench(data / "mtbench_ru/question_ru.jsonl")
    ru_answers = _answers(data / "mtbench_ru/model_answer")
    tw = _mtbench(data / "zh_tw_bench/question.jsonl")
    tw_answers = _answers(data / "zh_tw_bench/model_answer")
    hans = json.loads((data / "prompts_zh_hans_hant/prompts-zh.json").read_text(encoding="utf-8"))
    hant = json.loads(
        (data / "prompts_zh_hans_hant/prompts-zh-TW.json").read_text(encoding="utf-8")
    )
    drcd = json.loads((data / "drcd_zh_tw/DRCD_dev.json").read_text(encoding="utf-8"))["data"]
    drcd_items = [
        (qa["id"], f"{p['context']}\n{qa['question']}", qa["answers"][0]["text"])
        for article in drcd for p in article["paragraphs"] for qa in p["qas"]
    ][:: max(1, 3524 // DRCD_ITEMS)][:DRCD_ITEMS]  # fmt: skip
    seeds_en = _jsonl(data / "instructionwild_zh_en/seed_prompts_en.jsonl")
    seeds_zh = _jsonl(data / "instructionwild_zh_en/seed_prompts_ch.jsonl")

    for k, (qid, turns) in enumerate(mt_en):
        if not keep(k):
            continue
        answer = [filler["en"][k % len(filler["en"])]] if k % 2 else None
        add("A", "exact", qid, _chat(turns, answer), k)
        add("A", "quoted", qid, _chat([_quote(turns[0], "en", filler["en"], k)], answer), k)
        add("B", "translation", qid, _chat(turns, answer), k)
    for k, (qid, turns) in enumerate(mt_ru):
        if not keep(k):
            continue
        add("A", "translation", qid, _chat(turns, ru_answers.get(qid)), k)
        add("B", "exact", qid, _chat(turns, ru_answers.get(qid)), k)
        add("B", "quoted", qid, _chat([_quote(turns[0], "ru", filler["ru"], k)], None), k)
    for k, (qid, turns) in enumerate(tw):
        if not keep(k):
            continue
        add("A", "exact", qid, _chat(turns, tw_answers.get(qid)), k)
        add("A", "tw2s", qid, _chat([tw2s(t) for t in turns], None), k)
        add("A", "quoted", qid, _chat([_quote(turns[0], "zh", filler["zh"], k)], None), k)
    for k, (simplified, traditional) in enumerate(zip(hans, hant)):
        if not keep(k):
            continue
        item = f"#{k}"
        answer = [filler["zh"][k % len(filler["zh"])]]
        add("A", "exact", item, _chat([simplified["prompt"]], answer), k)
        add("A", "s2tw", item, _chat([s2tw(simplified["prompt"])], answer), k)
        add("A", "rewrite_zh_tw", item, _chat([traditional["prompt"]], None), k)
    for k, (qid, prompt, answer) in enumerate(drcd_items):
        if not keep(k):
            continue
        add("A", "exact", qid, _chat([prompt], [answer]), k)
        add("A", "tw2s", qid, _chat([tw2s(prompt)], [tw2s(answer)]), k)
    for k, (_en, zh) in enumerate(zip(seeds_en, seeds_zh)):
        if keep(k):
            add("B", "translation", f"#{k}", _chat([zh["instruction"]], None), k)
    positions = {"A": {qid: k for k, (qid, _) in enumerate(mt_en + tw)},
                 "B": {qid: k for k, (qid, _) in enumerate(mt_ru)}}  # fmt: skip
    for bench, texts in PARAPHRASES.items():
        for qid, text in texts.items():
            if keep(positions[bench][qid]):
                add(bench, "paraphrase", qid, _chat([text], None), positions[bench][qid])

    planted = {}
    for bench, records in rows.items():
        path = out / f"planted_{bench}.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for record in records:
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        kinds: dict[str, int] = {}
        for record in records:
            kinds[record["plant_kind"]] = kinds.get(record["plant_kind"], 0) + 1
        planted[bench] = Planted(
            bench,
            [*(data / f for f in UNRELATED), path],
            [data / f for f in BENCHMARKS[bench]],
            dict(sorted(kinds.items())),
        )
    return planted
