"""The preference data in ``../shared/data`` as pairs: prompt, chosen answer, rejected answer.

Shared by ``bench_preference.py`` (how often a scorer agrees with the preference) and
``train_quality_model.py`` (the learned weights). One small loader per set; each returns
:class:`Pair` objects in file order (deterministic). A pair's ``prompt`` is the
conversation before the two answers (OpenAI messages: system / user / assistant), the
same for both; ``group`` names the prompt, so that several pairs of one prompt (ranked
lists, several weak models) can be told apart from independent ones.

The sets, what "chosen" means in each, and their licences (``LICENCES`` below; from the
licence file beside the data where there is one, else the source repository):

``rulm_ru``
    ``saicuna_vs_vicuna.jsonl``: GPT-4 graded two Russian answers (saicuna-13b, vicuna-13b)
    to the same task, 1-10 each; the higher grade is chosen, equal grades are left out.
``oasst_zh``
    ``oaast_rm_zh.json``: OpenAssistant's ranked replies in Chinese; ``output`` is the list
    best first, so every (better, worse) pair of it is one pair (a list of 4 gives 6).
``medicalgpt_zh``
    ``dpo_zh_500.jsonl``: 500 Chinese DPO pairs (``chosen`` / ``rejected``).
``hh_rlhf_harmless``
    Anthropic HH, harmless-base test split: two transcripts that share everything but the
    last assistant turn; the human labeller chose the less harmful one (often the
    shorter, evasive one: a set where "longer wins" is the wrong rule).
``llamafactory_dpo_en`` / ``llamafactory_dpo_zh``
    LLaMA-Factory's DPO demo files (ShareGPT ``chosen`` / ``rejected``): real preference
    pairs (Orca-style GPT-4-vs-weaker pairs and UltraFeedback-style rated pairs; the zh file
    a translation of such pairs). ``v1_dpo_demo.jsonl`` (10 more pairs) goes with ``_en``.
``mtbench_ru``
    No labels: the first turn of MT-Bench in Russian answered by several models. Pairs of
    a clearly strong model against clearly weak ones, by the GPT-4-judged leaderboard in
    the source repository's README (average of both turns, 1-10): strong
    ``mt_bench_ru_chatgpt`` (gpt-3.5-turbo, 8.08; the next best scores 6.4); weak
    ``mt_bench_ru_xglm_4.5B_lora_saiga_dataset`` (2.35), ``mt_bench_ru_gigasaiga_13b``
    (3.23), ``saiga_7b_v1_ru`` (3.65). Every strong/weak pair of answers to one question.
``zh_tw_bench``
    No labels: Taiwan-LLM's 80 Traditional Chinese questions answered by 10 models. Strong:
    ``gpt-4`` and ``claude`` (claude-2); weak: the small Llama-2 13B models
    ``Llama-2-13b-chat`` (answers mostly in English), ``housearch``
    (Llama2_Traditional_Chinese_13b_Chat) and Taiwan-LLM's early checkpoints
    ``LLAMA2-sft-0808`` and ``zh_TW_LLAMA2-sft-0808``. No published grades for these files:
    the split is the usual one (frontier API models vs 13B finetunes of mid 2023).
``mtbench_en``
    12 GPT-4 single-answer ratings (1-10) of one model's answers to 6 questions, 2 turns
    (MT-Bench-X). One model only, so no two answers share a prompt: the pairs are answers
    to *different* prompts with different ratings (the higher is chosen): a small check
    that scores are comparable across prompts, not a ranking within one.

:data:`POOLS` gives the unlabelled sets as :class:`Pool` (prompt, {model: answer}), for the per-model
"share of prompts where this model's answer is the top pick".
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

Message = dict[str, str]


@dataclass(frozen=True)
class Pair:
    set: str
    prompt: tuple[Message, ...]
    chosen: str
    rejected: str
    group: str
    #: where ``rejected`` answers another prompt (mtbench_en only): its own prompt
    rejected_prompt: tuple[Message, ...] | None = None

    def conversations(self) -> tuple[list[Message], list[Message]]:
        """The chosen and the rejected conversation, each ending on its answer."""
        other = self.prompt if self.rejected_prompt is None else self.rejected_prompt
        return (
            [*self.prompt, {"role": "assistant", "content": self.chosen}],
            [*other, {"role": "assistant", "content": self.rejected}],
        )


#: licence of each set, and whether it is permissive enough to train shipped weights on
LICENCES: dict[str, tuple[str, bool]] = {
    "rulm_ru": ("Apache-2.0 (rulm_ru/LICENSE.txt, IlyaGusev/rulm)", True),
    "oasst_zh": (
        "Apache-2.0 (OpenAssistant oasst1, via hiyouga/LLaMA-Factory, Apache-2.0; "
        "no licence file beside the data)",
        True,
    ),
    "hh_rlhf_harmless": ("MIT (anthropics/hh-rlhf LICENSE; no licence file beside)", True),
    "llamafactory_dpo_en": (
        "Apache-2.0 (hiyouga/LLaMA-Factory repository; the demo pairs' upstream is not named)",
        True,
    ),
    "llamafactory_dpo_zh": (
        "Apache-2.0 (hiyouga/LLaMA-Factory repository; the demo pairs' upstream is not named)",
        True,
    ),
    "zh_tw_bench": ("Apache-2.0 (zh_tw_bench/LICENSE.txt, MiuLab/Taiwan-LLM)", True),
    "medicalgpt_zh": (
        "research only: shibing624/MedicalGPT's README says its code is Apache-2.0 but "
        "'模型权重和数据只能用于研究目的' (weights and data for research only)",
        False,
    ),
    "mtbench_ru": ("none found (dmitrymailk/mt_bench_ru has no licence file)", False),
    "mtbench_en": ("none found (Modalities/MT-Bench-X: no licence file in the copy)", False),
}

MTBENCH_RU_STRONG = ("mt_bench_ru_chatgpt",)
MTBENCH_RU_WEAK = (
    "mt_bench_ru_xglm_4.5B_lora_saiga_dataset",
    "mt_bench_ru_gigasaiga_13b",
    "saiga_7b_v1_ru",
)
ZH_TW_STRONG = ("gpt-4", "claude")
ZH_TW_WEAK = ("Llama-2-13b-chat", "housearch", "LLAMA2-sft-0808", "zh_TW_LLAMA2-sft-0808")


class Pool(NamedTuple):
    """Several models' answers to one prompt (no labels)."""

    prompt: tuple[Message, ...]
    answers: dict[str, str]


def _user(text: str) -> Message:
    return {"role": "user", "content": text}


def _assistant(text: str) -> Message:
    return {"role": "assistant", "content": text}


def _jsonl(path: Path) -> Iterator[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def _key(prompt: tuple[Message, ...]) -> str:
    return json.dumps(prompt, ensure_ascii=False, sort_keys=True)


def load_rulm_ru(data: Path = DATA) -> list[Pair]:
    pairs = []
    for r in _jsonl(data / "rulm_ru" / "saicuna_vs_vicuna.jsonl"):
        left, right = float(r["left_grade"]), float(r["right_grade"])
        if left == right or not r["left_answer"].strip() or not r["right_answer"].strip():
            continue
        text = r["instruction"] + (f"\n{r['input']}" if r.get("input") else "")
        prompt = (_user(text),)
        chosen, rejected = (
            (r["left_answer"], r["right_answer"])
            if left > right
            else (r["right_answer"], r["left_answer"])
        )
        pairs.append(Pair("rulm_ru", prompt, chosen, rejected, r["id"]))
    return pairs


class Graded(NamedTuple):
    """One answer with an absolute grade (for comparisons across prompts)."""

    conversation: list[Message]
    grade: float
    prompt_id: str


def graded_rulm_ru(data: Path = DATA) -> list[Graded]:
    """Every answer of ``saicuna_vs_vicuna.jsonl`` with GPT-4's 1-10 grade of it."""
    out = []
    for r in _jsonl(data / "rulm_ru" / "saicuna_vs_vicuna.jsonl"):
        text = r["instruction"] + (f"\n{r['input']}" if r.get("input") else "")
        for side in ("left", "right"):
            answer = r[f"{side}_answer"]
            if answer.strip():
                conversation = [_user(text), _assistant(answer)]
                out.append(Graded(conversation, float(r[f"{side}_grade"]), r["id"]))
    return out


def load_oasst_zh(data: Path = DATA) -> list[Pair]:
    pairs = []
    records = json.loads((data / "oasst_zh" / "oaast_rm_zh.json").read_text(encoding="utf-8"))
    for r in records:
        history = []
        for question, answer in r.get("history") or []:
            history += [_user(question), _assistant(answer)]
        text = r["instruction"] + (f"\n{r['input']}" if r.get("input") else "")
        prompt = (*history, _user(text))
        outputs = r["output"]
        for i in range(len(outputs)):
            for j in range(i + 1, len(outputs)):
                if outputs[i].strip() and outputs[j].strip() and outputs[i] != outputs[j]:
                    pairs.append(Pair("oasst_zh", prompt, outputs[i], outputs[j], _key(prompt)))
    return pairs


_SHAREGPT_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant"}
_SHAREGPT_ROLES |= {"system": "system"}


def _sharegpt(turns: list[dict]) -> tuple[Message, ...]:
    return tuple(
        {"role": _SHAREGPT_ROLES[t["from"]], "content": t["value"]}
        for t in turns
        if t["from"] in _SHAREGPT_ROLES
    )


def _answer(value) -> str:
    return value["value"] if isinstance(value, dict) else value


def load_medicalgpt_zh(data: Path = DATA) -> list[Pair]:
    pairs = []
    for r in _jsonl(data / "medicalgpt_zh" / "dpo_zh_500.jsonl"):
        prompt = _sharegpt(r["conversations"])
        chosen, rejected = _answer(r["chosen"]), _answer(r["rejected"])
        if chosen.strip() and rejected.strip() and chosen != rejected:
            pairs.append(Pair("medicalgpt_zh", prompt, chosen, rejected, _key(prompt)))
    return pairs


_HH_TURN = re.compile(r"\n\n(Human|Assistant): ")


def parse_hh(text: str) -> list[Message]:
    """``\\n\\nHuman: ... \\n\\nAssistant: ...`` as messages."""
    parts = _HH_TURN.split(text)
    roles = {"Human": "user", "Assistant": "assistant"}
    return [{"role": roles[r], "content": c} for r, c in zip(parts[1::2], parts[2::2])]


def load_hh_rlhf_harmless(data: Path = DATA) -> list[Pair]:
    pairs = []
    for r in _jsonl(data / "hh_rlhf_harmless" / "harmless-base_test.jsonl.gz"):
        chosen, rejected = parse_hh(r["chosen"]), parse_hh(r["rejected"])
        if not chosen or not rejected or chosen[-1]["role"] != "assistant":
            continue
        if rejected[-1]["role"] != "assistant" or chosen[:-1] != rejected[:-1]:
            continue  # the two differ before the last answer: not a pair of answers
        a, b = chosen[-1]["content"], rejected[-1]["content"]
        if a.strip() and b.strip() and a != b:
            prompt = tuple(chosen[:-1])
            pairs.append(Pair("hh_rlhf_harmless", prompt, a, b, _key(prompt)))
    return pairs


def _load_llamafactory(data: Path, name: str, files: list[str]) -> list[Pair]:
    pairs = []
    for file in files:
        path = data / "llamafactory_demo" / file
        if file.endswith(".jsonl"):  # the v1 format: chosen_messages / rejected_messages
            for r in _jsonl(path):
                convs = []
                for key in ("chosen_messages", "rejected_messages"):
                    convs.append(
                        [
                            {
                                "role": m["role"],
                                "content": "".join(c.get("value", "") for c in m["content"]),
                            }
                            for m in r[key]
                        ]
                    )
                c, rj = convs
                if c[:-1] == rj[:-1] and c[-1]["content"] != rj[-1]["content"]:
                    prompt = tuple(c[:-1])
                    pairs.append(
                        Pair(name, prompt, c[-1]["content"], rj[-1]["content"], _key(prompt))
                    )
            continue
        for r in json.loads(path.read_text(encoding="utf-8")):
            prompt = _sharegpt(r["conversations"])
            chosen, rejected = _answer(r["chosen"]), _answer(r["rejected"])
            if chosen.strip() and rejected.strip() and chosen != rejected:
                pairs.append(Pair(name, prompt, chosen, rejected, _key(prompt)))
    return pairs


def load_llamafactory_dpo_en(data: Path = DATA) -> list[Pair]:
    return _load_llamafactory(
        data, "llamafactory_dpo_en", ["dpo_en_demo.json", "v1_dpo_demo.jsonl"]
    )


def load_llamafactory_dpo_zh(data: Path = DATA) -> list[Pair]:
    return _load_llamafactory(data, "llamafactory_dpo_zh", ["dpo_zh_demo.json"])


def _fastchat_answers(path: Path) -> dict[int, str]:
    """question_id -> first-turn answer, for both answer schemas of the bench folders."""
    out = {}
    for r in _jsonl(path):
        if "choices" in r:
            out[int(r["question_id"])] = r["choices"][0]["turns"][0]
        else:  # zh_tw_bench's other schema: {id (0-based question index), generated_text}
            out[int(r["id"]) + 1] = r["generated_text"]
    return out


def pool_mtbench_ru(data: Path = DATA) -> list[Pool]:
    folder = data / "mtbench_ru"
    questions = {int(q["question_id"]): q["turns"][0] for q in _jsonl(folder / "question_ru.jsonl")}
    models = {}
    for path in sorted((folder / "model_answer").glob("*.jsonl")):
        if path.stem in ("EXAMPLE_MODEL", "mt_bench_en_gigachat"):
            continue  # a byte copy of Mistral-7B-OpenOrca; answers to the English questions
        models[path.stem] = _fastchat_answers(path)
    return _pools(questions, models)


def pool_zh_tw_bench(data: Path = DATA) -> list[Pool]:
    folder = data / "zh_tw_bench"
    questions = {int(q["question_id"]): q["turns"][0] for q in _jsonl(folder / "question.jsonl")}
    models = {
        path.stem: _fastchat_answers(path)
        for path in sorted((folder / "model_answer").glob("*.jsonl"))
    }
    return _pools(questions, models)


def _pools(questions: dict[int, str], models: dict[str, dict[int, str]]) -> list[Pool]:
    out = []
    for qid in sorted(questions):
        answers = {
            m: answers[qid].strip()
            for m, answers in models.items()
            if qid in answers and answers[qid].strip()
        }
        out.append(Pool((_user(questions[qid]),), answers))
    return out


def _strong_weak(name: str, pool, strong, weak) -> list[Pair]:
    pairs = []
    for prompt, answers in pool:
        for s in strong:
            for w in weak:
                if s in answers and w in answers and answers[s] != answers[w]:
                    pairs.append(Pair(name, prompt, answers[s], answers[w], _key(prompt)))
    return pairs


def load_mtbench_ru(data: Path = DATA) -> list[Pair]:
    return _strong_weak("mtbench_ru", pool_mtbench_ru(data), MTBENCH_RU_STRONG, MTBENCH_RU_WEAK)


def load_zh_tw_bench(data: Path = DATA) -> list[Pair]:
    return _strong_weak("zh_tw_bench", pool_zh_tw_bench(data), ZH_TW_STRONG, ZH_TW_WEAK)


_MTB_BLOCK = re.compile(
    r"### User:\n(.*?)\n\n### Assistant A:\n(.*?)(?=\n\n### User:|\n\n<\|The End)", re.S
)


def load_mtbench_en(data: Path = DATA) -> list[Pair]:
    """Cross-prompt pairs of the 12 GPT-4 ratings (see the module docstring)."""
    rated = []
    for r in _jsonl(data / "mtbench_en" / "judgment_gpt-4_single_from_MT-Bench-X.jsonl"):
        text = r["user_prompt"]
        if r["turn"] == 1:
            m = re.search(
                r"\[Question\]\n(.*?)\n\n\[The Start of Assistant's Answer\]\n(.*?)\n"
                r"\[The End of Assistant's Answer\]",
                text,
                re.S,
            )
            if not m:
                continue
            conversation = [_user(m.group(1).strip()), _assistant(m.group(2).strip())]
        else:
            blocks = _MTB_BLOCK.findall(text)
            if len(blocks) < 2:
                continue
            conversation = []
            for question, answer in blocks:
                conversation += [_user(question.strip()), _assistant(answer.strip())]
        rated.append((float(r["score"]), f"{r['question_id']}/{r['turn']}", conversation))
    rated.sort(key=lambda x: x[1])
    pairs = []
    for i, (si, ki, ci) in enumerate(rated):
        for sj, kj, cj in rated[i + 1 :]:
            if si == sj:
                continue
            (_, kc, cc), (_, _, cr) = (
                ((si, ki, ci), (sj, kj, cj)) if si > sj else ((sj, kj, cj), (si, ki, ci))
            )
            pairs.append(
                Pair(
                    "mtbench_en",
                    tuple(cc[:-1]),
                    cc[-1]["content"],
                    cr[-1]["content"],
                    kc,
                    rejected_prompt=tuple(cr[:-1]),
                )
            )
    return pairs


LOADERS: dict[str, Callable[[Path], list[Pair]]] = {
    "rulm_ru": load_rulm_ru,
    "oasst_zh": load_oasst_zh,
    "medicalgpt_zh": load_medicalgpt_zh,
    "hh_rlhf_harmless": load_hh_rlhf_harmless,
    "llamafactory_dpo_en": load_llamafactory_dpo_en,
    "llamafactory_dpo_zh": load_llamafactory_dpo_zh,
    "mtbench_ru": load_mtbench_ru,
    "zh_tw_bench": load_zh_tw_bench,
    "mtbench_en": load_mtbench_en,
}

POOLS = {"mtbench_ru": pool_mtbench_ru, "zh_tw_bench": pool_zh_tw_bench}


def load_all(data: Path = DATA, sets: list[str] | None = None) -> dict[str, list[Pair]]:
    return {name: LOADERS[name](data) for name in (sets or LOADERS)}
