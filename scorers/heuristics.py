"""Cheap quality signals as a scorer: ``curate score STORE --model heuristics``.

So that selection means something on a machine without a reward model. These are
**weak signals, not a reward model**: they see length against what the prompt asks,
layout, loops, refusals, boilerplate, language, cut-off and off-topic replies and
leftovers of chat templates, not whether an answer is correct. Version 2 ranks: within
a prompt the order is what selection uses (``--per-prompt`` picks the best answer of a
group), and across prompts each answer is judged against its own prompt's target, so
the scores compare. Measured on real preference data (``benchmarks/bench_preference.py``,
BENCHMARKS.md "Heuristic scorer on preference data"): it agrees with the preferred answer
of a pair more often than "the longer answer wins" on 6 of 8 sets (mean 62.5% against
57.5%; version 1: 59.2%) and is at most 1.2 points below it (the HH harmless set, whose
labellers preferred the shorter, evasive answer). Exact ties between different answers
to one prompt: 0.46% of answer pairs (version 1: 4.55%, its length was capped).

Columns of the sidecar ``score.heuristics`` (prefix ``heuristics_``). A conversation
without a non-empty assistant reply has the status ``no_assistant_reply`` and NULL in
every column that reads the reply (all but ``status``, ``turns`` and ``template``).
"The final reply" is the last non-empty assistant turn; "the prompt" is the last
non-empty user turn before it. Weighted characters count a CJK character (Han, kana,
Hangul: U+3000..U+DFFF) as 3 (:data:`CJK_WEIGHT`): Chinese says in one character about
what English says in three (the factor :mod:`curate.lang` uses too).

``score`` (float32)
    The weighted sum below; higher is better.
``status`` (string)
    ``ok`` or ``no_assistant_reply``.
``length`` (float32)
    The length term: ``1 + log10(L / T)`` below the target ``T``, ``1 + s * log10(L / T)``
    above it, where ``L`` is the final reply's weighted characters (``chars``), ``T`` the
    prompt's ``target`` and ``s`` the slope of what it ``asks`` (:data:`TARGETS`): 0.3,
    or -0.25 where a short answer is asked for. 1 at the target, 0 at a tenth of it, no
    cap: longer answers keep a (smaller) advantage, so they do not tie.
``turns`` (int32)
    User turns (``n_turns`` of the base table).
``repetition`` (float32, 0..1)
    ``1 - distinct / total`` n-grams of 32 UTF-8 bytes (32 Latin, 16 Cyrillic, ~11 CJK
    characters: byte n-grams scale with what a character carries, and work without
    word boundaries) over all assistant replies, each capped to its first and last
    2,048 bytes (loops live at the end). A reply shorter than one n-gram adds none.
    Natural text is near 0 (Alpaca: 99% of replies under 0.03); a passage repeated
    k times gives about ``1 - 1/k``.
``lang_match`` (bool)
    The replies are in the language and script of the user side, by the ingest
    columns ``lang_user`` and ``lang_assistant``: the same base language, and the
    same script subtag when both have one. ``zh-Hant`` against ``zh-Hans`` is a
    mismatch; plain ``zh`` (Chinese without a character specific to one script) goes
    with either. Counted as a match: ``und`` / ``other`` on either side; replies
    under 20 weighted characters; replies detected as English that look like code
    (5% or more of them the characters ``{}[]()<>=;:_\\/|#$*"`` or a backtick); and a
    user side whose letters are 25% or more in the reply's script (a Chinese question
    about an English term is detected as English); and a user side that asks for a
    translation or for another language (:data:`LANG_REQUEST_PATTERN`: "translate",
    "in Japanese", "翻译", "用英文", "переведи", "на английском"), answered in another
    language as asked.
``refusal`` (bool)
    The final reply opens (after blanks, quotes, markdown) with a refusal or an AI
    disclaimer (:data:`REFUSAL_PATTERN`, English, Chinese in both scripts, Russian): an
    apology, then within the sentence an inability (``I'm sorry, but I can't``,
    ``Sorry, this task ... cannot``, ``抱歉，我无法``, ``Извините, но я не могу``); an "as
    an AI" clause (``As an AI language model``, ``作为一个AI``, ``作為一個AI``, ``Как
    языковая модель``); or an inability followed by what cannot be done (``I cannot
    provide``, ``我无法回答``, ``Я не могу помочь``). A reply that apologises further on,
    "I'm sorry to hear that", "I can't believe" are not.
``template`` (bool)
    The ingest flags ``template_tokens``, ``placeholder`` or ``empty_turn`` (see
    :mod:`curate.flags`): chat-template tokens left in the text, an unfilled slot
    like ``[Your Name]``, an empty turn.
``chars`` (int32)
    Weighted characters of the final reply (``L`` above).
``asks`` (string)
    What the prompt asks for, the first that matches of (patterns on the lowercased
    prompt, English, Chinese in both scripts, Russian): ``count`` a stated length ("in
    100 words or less", "5-7 sentences", "200字以内", "не более 50 слов": the number of
    units times :data:`UNIT_CHARS`, e.g. 6 per English word, 3 per Chinese character,
    100 per sentence; "at least 500 words" / "不少于1000字" is ``long`` with that
    target); ``brief`` ("in one sentence", "briefly", "yes or no", "only answer with",
    "一句话", "简要回答", "是或否", "кратко", "одним словом": target 200); ``long`` ("write an
    essay / article / blog post / report", "in detail", "详细", "写一篇文章",
    "подробно", "напишите эссе": 2,500); ``list`` ("list 5 ...", "name three ...",
    "列出三个", "назовите пять": 150 per item, 300..2,500; not when code is asked,
    where "two numbers" are arguments); ``yes_no`` (a short question opening with
    is / are / do / does / should ..., "...是...吗？", "...是否...？", "... ли ...?": 300);
    ``fact`` (a short who / when / where / how many ... question, "...是谁？", "有多少",
    "Сколько ...?": 200); else ``open`` (1,000). "Summarize this article", "a title for
    a blog post", "can you write ...?", "第一句话" are ``open``.
``target`` (float32)
    The target ``T`` in weighted characters (see ``asks``).
``structure`` (float32, 0 and up)
    ``ln(1 + list items) + ln(1 + headings) + 0.5 ln(paragraphs)`` of the final reply's
    prose (fenced code blocks taken out): list items are lines opening with ``-``, ``*``,
    ``•``, ``1.``, ``a)``, ``一、``, ``(1)``; headings are markdown ``#`` lines, whole
    ``**bold**`` lines and short lines ending in a colon; paragraphs are separated by a
    blank line. Plain prose is 0; "## Steps" with three numbered steps in three
    paragraphs is 2.6.
``asks_code`` / ``code_block`` (bool)
    The prompt asks for code ("code", "function", "python", "SQL", "script", "代码",
    "函数", "程序", "функция", "код" ...) / the final reply has a fenced code block.
``relevance`` (float32, 0..1)
    The share of the prompt's distinct word stems found in the final reply: a stem is
    the first 6 bytes of a lowercased word (to its end if shorter, at least 3 bytes;
    ``histor``, ``хле``), in Chinese every character starts one (two characters); the
    prompt's last 1,000 characters, the reply's first 1,000; add-one smoothed (``(found + 1)
    / (distinct + 1)``), so that a greeting is too short to call a reply off-topic.
``truncated`` (bool)
    The final reply stops mid-sentence: an open code fence, or a reply of 200 weighted
    characters or more whose last line (30 or more, not a list item, not a URL, hashtag,
    table row or "Label: value" line) ends on a letter or mid-phrase (a comma, a dash,
    an open bracket). Alpaca: 0.23% of replies; a third of the Taiwan bench's claude
    answers (cut at a generation limit).
``boilerplate`` (int32)
    Boilerplate phrases anywhere in any reply (:data:`BOILERPLATE_PATTERN`, counted):
    "As an AI language model", "I hope this helps", "feel free to ask", "happy to
    help", "作为一个AI", "希望对你有帮助", "如果你还有其他问题", "Как языковая модель",
    "Надеюсь, это поможет" ...
``role_leak`` (bool)
    A reply writes the next turns itself: ``USER:`` / ``ASSISTANT:`` / ``Human:`` lines,
    ``### Human``, ``用户：``, ``Пользователь:`` (case-sensitive), unless the prompt asks
    for a dialogue, chat, script or interview ("对话", "диалог").

The score (:data:`WEIGHTS`; :func:`terms` gives each term from the columns)::

    score = 1.0 * length                              # against the prompt's target
          + 0.1 * min(log2(turns), 3) / 3             # 1 turn: 0, 2: 0.033, 8 or more: 0.1
          + 0.1 * structure
          + 0.2 * (asks_code and code_block)
          - 2.0 * max(repetition - 0.1, 0)
          - 0.5 * refusal
          - 0.5 * (not lang_match)
          - 0.5 * template
          - 0.5 * role_leak
          - 0.1 * min(boilerplate, 3)
          - 0.2 * truncated
          - 0.2 * clip((0.1 - relevance) / 0.1, 0, 1)  # off-topic

Why these weights, with what each term adds to the agreement with preferences (the
mean over the 8 within-prompt sets of bench_preference.py of the full score's agreement
minus the agreement without the term; per set in BENCHMARKS.md). The weights are round
numbers set by hand, looking at these sets: the numbers are in-sample for them.

* ``length``, 1 per decade below the target, 0.3 above: length is the strongest single
  signal ("longer wins" agrees 57.5% on average, 76% on OpenAssistant zh) but not a
  quality in itself; 0.3 above the target (0.5 measured 0.5 points lower) leaves long
  answers room to lose on the detectors. The targets hardly change agreement within a
  prompt (+0.000: only ``brief`` and ``count`` bend the order, and the sets' labellers
  mostly preferred the longer answer even then); they make answers to different prompts
  comparable (a one-sentence answer where one is asked scores as a 1,000-character
  answer to an open question), which the two cross-prompt checks (GPT-4's grades of
  rulm_ru answers, 62.3% as longer-wins; MT-Bench ratings, 74% against 75%) neither
  reward nor punish.
* ``structure`` 0.1: +1.3 points (mtbench_ru +8.3, zh_tw +4.6, llamafactory_dpo_en -2.3):
  curators trust lists and headings, and the strong models' answers have them.
* ``code`` 0.2: +0.1 (few pairs ask for code): a fenced block where code is asked for is
  worth about a 1.6-times longer answer below the target.
* ``repetition`` -2 beyond 0.1: +1.5 points, the best detector (rulm_ru +5.0, zh_tw +4.6);
  lists repeat their frames, so the first 0.1 is free; a reply 60% repeats loses 1.
* ``refusal`` -0.5: -0.2 points: the harmless HH set and OpenAssistant prefer some
  refusals; kept because a refusal is poor SFT data for a harmless prompt, and at half
  a point so that a refusal still ranks below a one-word answer but not below junk.
* ``lang_mismatch`` -0.5: -0.3 points: only zh_tw, where the strong models answer
  partly in Simplified script (a real defect for zh-Hant data, kept).
* ``template`` -0.5: +0.4 points (zh_tw +4.7: leaked ``[INST]`` templates); false
  alarms (a placeholder in a form letter) keep it at half a point.
* ``role_leak`` -0.5: +0.1 (zh_tw +1.3: 13B models that go on with "USER: ... ASSISTANT:").
* ``boilerplate`` -0.1 a phrase, at most 3: +0.3 points (llamafactory_dpo_en +2.3: the
  "Sure, I'd be happy to help!" answers lost); small, because a closing "I hope this
  helps" is a style, not a failure.
* ``truncated`` -0.2: -0.3 points: the labellers (and GPT-4) preferred long answers
  even when cut (zh_tw -2.7: claude's answers are cut); kept, small, because a cut
  answer teaches a model to stop mid-sentence.
* ``off_topic`` -0.2: +0.2 points; lexical overlap is a weak view of relevance (the
  column is there to filter on), so it only costs when almost nothing of the prompt is
  in the reply.
* ``turns`` 0.1: as in version 1 (the same within a pair: not measured here).

The range is about -3 to 2.5; only the order means anything (selection z-scores it).

A learned alternative, ``HeuristicScorer(weights="learned")``: the same terms weighted
by a logistic regression on pairwise term differences of the permissively licensed
preference sets (``benchmarks/train_quality_model.py``; :data:`LEARNED_WEIGHTS_FILE`
and ``quality_model_LICENSES.md`` say how and from what). Leave-one-source-out it
agrees 61.2% on average against the hand weights' 62.5%, better on 3 of 8 sets
(zh_tw 78%) but 14 points worse on OpenAssistant (it learns to trust layout over
length): not the default.

Speed: everything is vectorised over a chunk: pyarrow.compute on the flattened
messages (the patterns run in RE2; the prompt patterns on the lowercased prompt,
case-sensitive, and without ``\\p{L}``, which cost milliseconds to compile on every
call), numpy on the replies' UTF-8 bytes read straight from the Arrow buffer (CJK
characters counted by their lead bytes; repetition n-grams as 64-bit words read at
every byte, hashed, prefixed with their row and counted with one sort per block of
rows; relevance stems read at word starts, hashed and looked up in the prompt's sorted
stems). Python touches only the distinct strings a pattern extracted (numbers, units)
and the few language mismatches. Through ``curate score``, version 1 and 2 interleaved on
a shared 2-core VM: Alpaca-52K 1.6 to 2.0 times version 1's wall time (about 18,000-25,000
conversations/s), the multilingual benches 1.3 to 1.5 times (BENCHMARKS.md). Same input,
same output.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curate import lang as lang_classes
from scorers.base import Conversation, Progress, Scorer

VERSION = 2

CJK_WEIGHT = 3  # a CJK character counts as 3 Latin ones (curate.lang uses the same factor)
TURNS_SATURATION = 8  # user turns at which the turns term reaches 1 (log2 scale)
NGRAM_BYTES = 32  # repetition n-gram size in UTF-8 bytes (8 times a power of 2)
REPETITION_WINDOW = 4096  # bytes of a reply looked at: all, or the first and last half of this
REPETITION_FREE = 0.1  # repeated n-gram share that costs nothing (lists repeat their frames)
LANG_MIN_CHARS = 20.0  # weighted reply characters below which the language is not judged
LANG_CODE_SHARE = 0.05  # a reply with this share of code symbols is code: no language
LANG_CODE_HEAD = 4000  # characters of a suspect reply looked at for code symbols
LANG_SCRIPT_SHARE = 0.25  # of the user's weighted letters in the reply's script: no mismatch
UNDETERMINED = ("und", "other")
TEMPLATE_FLAGS = ("template_tokens", "placeholder", "empty_turn")

# -- the length term: weighted characters of the final reply against what the prompt asks
#: what the prompt asks for -> (target weighted characters, slope per decade above it);
#: below the target every prompt has slope 1 per decade
TARGETS: dict[str, tuple[float, float]] = {
    "count": (0.0, -0.25),  # "in 100 words", "less than 80 words", "200字以内": UNIT_CHARS each
    "brief": (200.0, -0.25),  # "in one sentence", "briefly", "一句话", "кратко", "yes or no"
    "long": (2500.0, 0.3),  # "write an essay", "in detail", "详细", "подробно"
    "list": (0.0, 0.3),  # "list 5 ...": LIST_ITEM_CHARS per item, within LIST_TARGET_RANGE
    "yes_no": (300.0, 0.3),  # "Is it ...?", "...是...吗？", "... ли ...?"
    "fact": (200.0, 0.3),  # "Who / when / where / how many ...?", "...是谁？", "Сколько ...?"
    "open": (1000.0, 0.3),  # anything else
}
ASKS = tuple(TARGETS)  # in order of precedence: the first that matches is the prompt's
# ("at least 500 words" is "long", with the stated length as its target)
LIST_ITEM_CHARS = 150.0
LIST_TARGET_RANGE = (300.0, 2500.0)
QUESTION_MAX_CHARS = 300.0  # a yes/no or factual question is a short last user turn

# -- relevance: word stems of the last user turn found in the final reply
RELEVANCE_BYTES = 6  # a word stem: 6 Latin, 3 Cyrillic or 2 CJK characters
RELEVANCE_PROMPT_CHARS = 1000  # characters of the user turn looked at (its end: the question)
RELEVANCE_REPLY_CHARS = 1000  # characters of the reply looked at (its start)
OFF_TOPIC = 0.1  # relevance below which the reply is penalised, linearly to 0

# -- truncation: a reply that stops mid-sentence
TRUNCATION_MIN_CHARS = 200.0  # weighted characters of the reply
TRUNCATION_LINE_CHARS = 30.0  # weighted characters of its last line (not a list item)
BOILERPLATE_CAP = 3  # boilerplate phrases counted at most

WEIGHTS: dict[str, float] = {
    "length": 1.0,
    "turns": 0.1,
    "structure": 0.1,
    "code": 0.2,
    "repetition": -2.0,
    "refusal": -0.5,
    "lang_mismatch": -0.5,
    "template": -0.5,
    "role_leak": -0.5,
    "boilerplate": -0.1,
    "truncated": -0.2,
    "off_topic": -0.2,
}
TERMS = tuple(WEIGHTS)
#: the learned alternative (``HeuristicScorer(weights="learned")``); its training data and
#: licences: ``quality_model_LICENSES.md`` beside it, ``benchmarks/train_quality_model.py``
LEARNED_WEIGHTS_FILE = Path(__file__).with_name("quality_model.json")

STATUS_OK = "ok"
STATUS_NO_REPLY = "no_assistant_reply"

# -- refusals: RE2 syntax (pyarrow.compute), matched case-insensitively at the start of
# the last reply (every gap is bounded: it reads at most ~300 characters). Three ways:
#   1. an apology, then punctuation or "but", then within one sentence an inability:
#      "I'm sorry, but I can't", "Sorry, this task ... cannot", "抱歉，我无法",
#      "Извините, но я не могу" ("sorry to hear ..." has no punctuation: not one);
#   2. an "as an AI" clause: "As an AI language model", "作为一个AI", "作為一個AI",
#      "Как языковая модель", "Будучи ИИ";
#   3. an inability followed by what cannot be done: "I cannot provide", "我无法回答",
#      "Я не могу помочь" ("I can't believe", "I can't help but" are not).
_APOS = r"['’]"
_LEAD = r"^[\s\"'`“”‘’«»*_>#~-]*"
_SORRY = (
    rf"(?:(?:i{_APOS}?m|i\s+am)\s+(?:so\s+|very\s+|really\s+|truly\s+|terribly\s+)?sorry|sorry"
    r"|i\s+apologi[sz]e|(?:my\s+)?apologies|unfortunately"
    r"|(?:非常|十分|很|真的)?(?:抱歉|对不起|對不起|不好意思|遗憾|遺憾)"
    r"|извините|простите|прошу\s+прощения|к\s+сожалению|мне\s+(?:очень\s+)?жаль|увы)"
)
_AFTER_SORRY = r"\s*(?:[,.!;:，。！、—–-]|but\s|но\s|但)"
_INABILITY = (
    rf"(?:can(?:no|{_APOS})?t|can\s+not|unable|not\s+able|won{_APOS}t\s+be\s+able|not\s+possible"
    rf"|must\s+(?:respectfully\s+)?decline|do(?:n{_APOS}t|\s+not)\s+have\s+(?:access|the\s+ability"
    r"|the\s+capability|personal|real-time)"
    r"|无法|無法|不能|没有办法|沒有辦法|没办法|沒辦法|做不到"
    r"|не\s+(?:могу|смогу|в\s+состоянии|имею\s+возможности|способ(?:ен|на))|нет\s+возможности)"
)
_AS_AI = (
    r"(?:as\s+an?\s+(?:ai(?:[^a-z]|$)|artificial\s+intelligence|(?:large\s+)?language\s+model"
    r"|ai\s+(?:language\s+)?model|ai\s+assistant|ai\s+chatbot|text-based\s+ai)"
    r"|(?:作为|作為|身为|身為)(?:一(?:个|個|名|款|位))?[^，,。\n]{0,12}?"
    r"(?:AI(?:[^a-z]|$)|ＡＩ|人工智能|人工智慧|(?:语言|語言)模型|聊天(?:机器人|機器人))"
    r"|(?:как|будучи|я\s*(?:[-—–]|являюсь|всего\s+лишь))\s+(?:(?:больш\S*|искусственн\S*)\s+)?"
    r"(?:языков\S*\s+модел\S*|модел\S*\s+(?:ии|ai)|искусственн\S*\s+интеллект\S*"
    r"|(?:ии|ai)(?:[\s,.-]|$)|нейросет\S*|чат-?бот\S*))"
)
_CANNOT_DO = (
    rf"(?:(?:i{_APOS}?m\s+afraid\s+(?:that\s+)?)?i\s*(?:can(?:no|{_APOS})?t|can\s+not"
    rf"|am\s+(?:not\s+able|unable)|{_APOS}m\s+(?:not\s+able|unable)|won{_APOS}t\s+be\s+able)"
    r"\s+(?:\S+\s+)?(?:to\s+)?(?:help(?:\s+(?:you|with|in|on|out)|[.!,]|$)|assist|provide"
    r"|fulfil|comply|answer|respond|complete|create|generate|write|produce|access|browse|perform"
    r"|engage|support|give|offer|share|process|view|see|open|display|play|send|make|predict"
    r"|express|discuss|condone|encourage|promote|tell|determine|draw|translate|search|retrieve"
    r"|find|verify|evaluate|do\s+th)"
    r"|我(?:目前|现在|現在)?(?:无法|無法|不能|没有办法|沒有辦法|没办法|沒辦法)"
    r"(?:回答|回应|回應|提供|帮助|幫助|帮你|幫你|协助|協助|完成|满足|滿足|执行|執行|访问|訪問|生成"
    r"|进行|進行|给出|給出|处理|處理|理解|判断|判斷|确定|確定|预测|預測|浏览|瀏覽|创作|創作|查看"
    r"|获取|獲取|参与|參與|支持|發表|发表|做)"
    r"|(?:я\s+)?не\s+(?:могу|смогу|в\s+состоянии|имею\s+возможности)\s+(?:\S+\s+)?"
    r"(?:помочь|помогать|ответить|отвечать|предоставить|предоставлять|выполнить|создать|написать"
    r"|дать|сделать|сгенерировать|генерировать|обсуждать|участвовать|просматривать|получить|искать"
    r"|найти|определить|предсказать|нарисовать|отправить|открыть|проверить|выразить|поддерживать"
    r"|поделиться))"
)
REFUSAL_PATTERN = (
    rf"{_LEAD}(?:{_SORRY}{_AFTER_SORRY}[^.!?。！？\n]{{0,80}}?{_INABILITY}|{_AS_AI}|{_CANNOT_DO})"
)


# -- what the last user turn asks for: RE2 syntax, matched case-insensitively. RE2's \b
# knows only ASCII letters, so words are bounded by _NB / _NA instead (Latin and Cyrillic
# letters as ranges: compiling \p{L} costs about 1 ms on every call, i.e. every chunk).
_LETTER = r"a-zà-ɏа-яё"  # the turns are lowercased
_NB = rf"(?:^|[^{_LETTER}\d])"  # not after a letter or digit
_NA = rf"(?:[^{_LETTER}\d]|$)"  # not before one
_EN_NUM = r"(?:one|a single|single|1|two|2|three|3|a few|few|one or two|two or three|1-2|2-3)"
BRIEF_PATTERN = (
    rf"{_NB}(?:(?:in|with|using) {_EN_NUM} (?:short |brief |simple )?(?:sentences?|words?|lines?)"
    r"|(?:one|single|two|three)[- ](?:sentence|word|line|paragraph) (?:answer|summary|response"
    r"|reply|description|explanation|definition)"
    r"|(?:under|less than|fewer than|no more than|at most|maximum of|up to|within|not exceeding)"
    r" \d+ (?:words|characters|sentences|lines|tokens)"
    r"|\d+ (?:words|sentences|characters) or (?:less|fewer)"
    r"|briefly|be brief|keep it (?:short|brief)|(?:a|your) (?:brief|short|concise|quick)"
    r" (?:answer|summary|response|reply|explanation|description|overview|definition)"
    r"|concisely|succinctly|tl;?dr"
    r"|(?:only|just) (?:respond|answer|reply|output|return) (?:with|using)"
    r"|(?:respond|answer|reply) (?:only|just) with|answer with (?:only|just|a single|one)"
    r"|only (?:give|tell|provide) (?:me )?the|no explanations?|without (?:any )?explanations?"
    r"|do(?:n't| not) explain|limit your (?:response|answer)|yes or no|\"yes\" or \"no\""
    r"|кратко|коротко|вкратце|лаконично|сжато"
    r"|в (?:одном|одно|двух|двух-трех|двух-трёх|трех|трёх|нескольких) (?:предложени|слов)"
    r"|одним (?:словом|предложением)|не более \d+ (?:слов|предложени|символ)"
    r"|только (?:ответ|число|слово|букв)|без (?:объяснени|пояснени)|да или нет)"
    r"|(?:^|[^第每])一句(?:话|話)|用一句|一两句|一兩句|两三句|兩三句|用一(?:个|個)(?:字|词|詞)"
    r"|(?:简短|簡短|简要|簡要|简单|簡單)(?:地|的)?(?:回答|回复|回覆|说明|說明|介绍|介紹|描述"
    r"|概括|总结|總結|解释|解釋|说|說|答)"
    r"|简述|簡述|(?:^|[^不])(?:少于|少於)\s*\d+\s*(?:个|個)?(?:字|词|詞|句)"
    r"|(?:不超过|不超過|不多于|不多於)\s*\d+\s*(?:个|個)?(?:字|词|詞|句)"
    r"|\d+\s*(?:个|個)?字(?:以内|以內|之内|之內)"
    r"|只(?:需要?|要)?(?:回答|输出|輸出|给出|給出|返回)|直接(?:回答|给出|給出|输出|輸出)"
    r"|不(?:需要|用|必)(?:解释|解釋)|无需解释|無需解釋|是或否|是或不是"
)
LONG_PATTERN = (  # a long form to write ("summarize this article" is not), or detail asked
    rf"{_NB}(?:(?:write|compose|draft|create|generate|produce|prepare)(?: [a-z0-9'-]+){{0,3}} "
    r"(?:essays?|articles?|blog posts?|reports?)|in detail|detailed|elaborate|comprehensive"
    r"|in depth|in-depth|thorough(?:ly)?|long (?:answer|text|essay|article|response)"
    r"|(?:напиш|состав|подготов)\S*(?: \S+){0,3} (?:эссе|стать|сочинени|доклад|отч[её]т)"
    r"|подробн\S*|детальн\S*|в деталях|развернут\S*|развёрнут\S*)"
    rf"{_NA}"
    r"|(?:写|寫|撰写|撰寫|创作|創作)[^。？！，,\n]{0,12}(?:文章|作文|论文|論文|博客|博文|报告|報告)"
    r"|详细|詳細|详尽|詳盡"
)
# a length stated in units: "in 150-200 words", "less than 80 words", "100字以内", "至少500字",
# "не более 100 слов"; the target is the number of units times UNIT_CHARS
COUNT_PATTERN = (
    r"(?P<bound>less than|fewer than|under|no more than|at most|maximum of|up to|within"
    r"|not exceeding|at least|no less than|minimum of|не более|не менее|не больше|до|不超过"
    r"|不超過|不多于|不多於|少于|少於|至少|不少于|不少於)?\s*(?:\d{1,5}\s*(?:-|–|to|~|～|到|至)\s*)?"
    r"(?P<num>\d{1,5})[ \t-]*(?:个|個)?[ \t]*(?P<unit>words?|characters?|sentences?|lines?"
    r"|paragraphs?|字|词|詞|句|段|слов[а-я]*|предложени[а-я]*|символ[а-я]*|абзац[а-я]*)"
    rf"{_NA}[ \t]*(?P<after>or less|or fewer|or more|以内|以內|之内|之內|以上|左右)?"
)
UNIT_CHARS = {"word": 6, "character": 1, "sentence": 100, "line": 60, "paragraph": 400}
UNIT_CHARS |= {"字": 3, "词": 6, "詞": 6, "句": 60, "段": 400, "слов": 7, "предложени": 100}
UNIT_CHARS |= {"символ": 1, "абзац": 400}
_AT_LEAST = ("at least", "no less than", "minimum of", "не менее", "至少", "不少于", "不少於")
_AT_LEAST += ("or more", "以上")
COUNT_TARGET_RANGE = (20.0, 20000.0)
_NUMBER = (
    r"\d{1,2}|two|three|four|five|six|seven|eight|nine|ten|twelve|fifteen|twenty"
    r"|два|две|три|четыре|пять|шесть|семь|восемь|девять|десять"
)
LIST_PATTERN = (  # a verb, then in the same sentence a number and a word ("3-line" is not)
    rf"{_NB}(?:list|give|name|provide|suggest|write|generate|share|create|come up with|offer"
    r"|recommend|tell me|what are|перечисл|назов|привед|дай|предлож|напиш|составь)"
    rf"[^.?!\n]*?{_NB}(?P<n>{_NUMBER})\s+[{_LETTER}]"
    r"|(?:列出|列举|列舉|给出|給出|提供|写出|寫出|举出|舉出|说出|說出|给我|給我|推荐|推薦|写|寫)"
    r"[^。？！\n]*?(?P<zh>\d{1,2}|[二两兩三四五六七八九十])\s*(?:个|個|条|條|种|種|点|點"
    r"|项|項|件|首|本|款|句|位|部|篇|道|大)"
)
_NUMBER_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8}
_NUMBER_WORDS |= {"nine": 9, "ten": 10, "twelve": 12, "fifteen": 15, "twenty": 20}
_NUMBER_WORDS |= {"два": 2, "две": 2, "три": 3, "четыре": 4, "пять": 5, "шесть": 6, "семь": 7}
_NUMBER_WORDS |= {"восемь": 8, "девять": 9, "десять": 10, "二": 2, "两": 2, "兩": 2, "三": 3}
_NUMBER_WORDS |= {"四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
YES_NO_PATTERN = (  # not "can / could / would you ...?", "你能...吗？": those are requests
    r"^\s*(?:is|are|was|were|do|does|did|should|has|have|had|am|isn't|aren't|doesn't|don't"
    r"|didn't|wasn't|weren't)\s[^\n?]*\?\s*$"
    r"|^[^\n]*(?:是|有|对|對|会|會|真的|可能)[^\n]*(?:吗|嗎)\s*[？?]?\s*$"
    r"|^[^\n]*(?:是否|是不是|有没有|有沒有|会不会|會不會|对不对|對不對)[^\n]*[？?]\s*$"
    rf"|^(?:[^\n]*[^{_LETTER}\n])?ли[^{_LETTER}\n][^\n]*\?\s*$"
)
FACT_PATTERN = (
    r"^\s*(?:who|when|where|which|how (?:many|much|old|far|long|tall|big)|what (?:year|time|date)"
    r"|what is the (?:capital|population|name|date|year|height|distance|price|value|result|sum"
    r"|answer))\s[^\n]*\?\s*$"
    r"|^[^\n]*(?:是谁|是誰|什么时候|什麼時候|哪一年|哪年|在哪里|在哪裡|在哪儿|有多少|多少(?:个|個)"
    r"|几(?:个|個)|幾個|多大|多高|多远|多遠|首都是)[^\n]*[？?]?\s*$"
    r"|^\s*(?:кто|когда|где|сколько|в каком году|какой город|какая столица)"
    rf"[^{_LETTER}][^\n]*\?\s*$"
)
CODE_ASKED_PATTERN = (
    r"(?:^|[^a-z])(?:code|coding|function|python|javascript|java|c\+\+|c#|sql|script|program"
    r"|implement|regex|algorithm|bash|html|css|rust|golang|typescript)(?:[^a-z]|$)"
    r"|代码|代碼|程序|程式|函数|函數|脚本|腳本|编程|編程"
    rf"|{_NB}(?:код|функци|программ|скрипт|алгоритм)"
)

# -- the shape of the final reply (count patterns start with "\n": pyarrow's regex count
# re-anchors ^ at every match, so a line start is matched as a newline; the reply's first
# line is checked on its own with the _START variant)
_ITEM = r"[ \t]*(?:[-*•+]|\d{1,2}[.)、．]|[a-z][.)][ \t]|[一二三四五六七八九十]{1,3}[、.．]|\(\d{1,2}\)|（\d{1,2}）)[ \t]*\S"
_HEADING = (
    r"[ \t]*(?:#{1,6}[ \t]+\S|\*\*[^*\n]{2,80}\*\*[ \t]*[:：]?[ \t]*$|[^\n]{2,40}[:：][ \t]*$)"
)
ITEM_PATTERN, ITEM_START = "\n" + _ITEM, "^" + _ITEM
HEADING_PATTERN, HEADING_START = "(?m)\n" + _HEADING, r"(?m)\A" + _HEADING
PARAGRAPH_PATTERN = r"\n(?:[ \t]*\n)+"
CODE_BLOCK = r"(?s)```.*?(?:```|$)"  # a fenced block, or an open one to the end
# a last line that stops on a letter or mid-phrase (a comma, a dash, an open bracket)
TRUNCATED_END = (  # letters of the scripts curate.lang knows, as ranges (see _LETTER)
    r"[a-zA-Zà-ɏÀ-ʯͰ-ӿ\x{0590}-\x{06FF}\x{0900}-\x{0E7F}\x{3040}-\x{30FF}\x{3400}-\x{9FFF}"
    r"\x{AC00}-\x{D7AF},，、(（\-–—]$"  # not ";": code lines end with it
)
# last lines that are no sentence: a URL, a hashtag, a table row, "Label: value"
NOT_A_SENTENCE = r"://\S*$|(?:^|\s)#\S+$|\||^[^:：\n]{1,40}[:：]"

# -- boilerplate anywhere in a reply (case-insensitive): AI disclaimers, "I hope this helps",
# "happy to help", offers of further help, in English, Chinese (both scripts) and Russian
BOILERPLATE_PATTERN = (
    r"as an? (?:ai|artificial intelligence|(?:large )?language model|ai (?:language )?model"
    r"|ai assistant)(?:[^a-z]|$)|i(?:'m|’m| am) (?:just |only )?an? (?:ai|language model)(?:[^a-z]|$)"
    r"|i hope (?:this|that|my (?:answer|response)|these) (?:helps|was helpful|information)"
    r"|hope (?:this|that) helps|feel free to (?:ask|reach out|let me know)"
    r"|let me know if you (?:have|need) (?:any )?(?:other|more|further|additional)"
    r"|i do(?:n't|n’t| not) have personal (?:opinions|feelings|experiences|preferences|beliefs"
    r"|emotions)|(?:happy|glad|delighted) to (?:help|assist)|i(?:'m|’m| am) here to help"
    r"|great question"
    r"|(?:作为|作為|身为|身為)(?:一(?:个|個|名|款|位))?(?:ai|人工智能|人工智慧|(?:语言|語言)模型"
    r"|(?:聊天)?(?:机器人|機器人)|ai(?:语言|語言)?模型|助手)"
    r"|我(?:只是)?(?:一个|一個)(?:ai|人工智能|人工智慧|语言模型|語言模型)"
    r"|希望(?:以上|这些|這些|我的)?(?:回答|信息|資訊|内容|內容|建议|建議|答案)?(?:能|可以)?"
    r"(?:对你|對你|对您|對您|帮到你|幫到你|帮到您|幫到您|帮助到你|幫助到你)"
    r"|如果(?:你|您)?(?:还|還)有(?:其他|任何|别的|別的)?(?:问题|問題|疑问|疑問)"
    r"|很(?:高兴|高興|乐意|樂意)(?:为|為|能)?(?:你|您)?(?:提供)?(?:帮助|幫助|服务|服務|解答)"
    r"|как (?:языковая |искусственн\S+ )?(?:модель|интеллект|ии)(?:[^а-яё]|$)"
    r"|я (?:всего лишь |просто )?(?:языковая модель|искусственный интеллект|ии)(?:[^а-яё]|$)"
    r"|надеюсь,? (?:это|мой ответ|эта информация) (?:поможет|помог|был)"
    r"|если у вас (?:есть|возникнут) (?:ещё |еще |другие |какие-либо )?вопросы"
    r"|рада? помочь|с удовольствием помогу"
)
# -- a reply that writes the next turns itself ("USER: ... ASSISTANT: ...", "### Human:");
# case-sensitive: "user: root" in a config is not a turn
ROLE_LEAK_PATTERN = (
    r"(?:^|\s)(?:USER|ASSISTANT|User|Assistant|Human|HUMAN)[ \t]*[:：][ \t]*\S"
    r"|(?:^|\n)#{2,3} ?(?:Human|User|Assistant|Instruction|Response)(?:[^a-zA-Z]|$)"
    r"|(?:^|\s)(?:用户|用戶|助手|助理)[ \t]*[:：]|(?:^|\s)(?:Пользователь|Ассистент)[ \t]*:"
)
# ... unless the last user turn asks for a dialogue, a chat, a script or an interview
DIALOGUE_ASKED_PATTERN = (
    rf"{_NB}(?:dialog(?:ue)?s?|conversations?|chat(?:bot)?s?|script|interview|role-?play"
    r"|диалог\S*|разговор\S*|беседу|интервью|сценари\S*)"
    rf"{_NA}|对话|對話|对白|對白|聊天|剧本|劇本|采访|採訪|访谈|訪談"
)
# language-match excuses: code symbols; script groups as curate.lang compares them
_CODE_CHARS = re.compile(r"[{}\[\]()<>=;:_\\/|#$*`\"]")
_LANGUAGES_EN = (
    r"english|chinese|mandarin|cantonese|russian|japanese|korean|french|german|spanish"
    r"|italian|portuguese|arabic|hindi|vietnamese|thai|ukrainian|turkish|latin"
)
#: a question that asks for a translation or an answer in a language: a reply in another
#: language is what was asked (English, Chinese in both scripts, Russian)
LANG_REQUEST_PATTERN = (
    rf"translat|\b(?:in|into|to)\s+(?:{_LANGUAGES_EN})\b"
    r"|翻译|翻譯|译成|譯成|译为|譯為|翻成"
    r"|(?:用|以|说|說|讲|講)(?:英文|英语|英語|中文|汉语|漢語|华语|華語|日文|日语|日語|俄文|俄语|俄語"
    r"|法文|法语|法語|德文|德语|德語|韩文|韩语|韓語|西班牙语|西班牙語)"
    r"|перев[оеё]д|переве|по-(?:английски|русски|китайски|японски|французски|немецки)"
    r"|на\s+(?:английск|русск|китайск|японск|французск|немецк|испанск)\S*\s+(?:язык|яз\.)?"
)
_LANG_REQUEST = re.compile(LANG_REQUEST_PATTERN, re.IGNORECASE)
_SCRIPT_CLASSES = {
    "Latn": [lang_classes.LATIN, lang_classes.LATIN_EXT],
    "Cyrl": [lang_classes.CYR, lang_classes.CYR_UK],
    "Hani": [lang_classes.HAN, lang_classes.HAN_T, lang_classes.HAN_S, lang_classes.KANA],
    "Kore": [lang_classes.HANGUL],
    "Arab": [lang_classes.ARABIC],
    "Deva": [lang_classes.DEVANAGARI],
    "Thai": [lang_classes.THAI],
    "Grek": [lang_classes.GREEK],
    "Hebr": [lang_classes.HEBREW],
}
_LANG_SCRIPT = {"en": "Latn", "ru": "Cyrl", "uk": "Cyrl", "zh": "Hani", "ja": "Hani", "ko": "Kore"}
_LANG_SCRIPT |= {"ar": "Arab", "hi": "Deva", "th": "Thai", "el": "Grek", "he": "Hebr"}
_CJK_CLASSES = [*_SCRIPT_CLASSES["Hani"], lang_classes.HANGUL]
_LETTER_CLASSES = [c for cs in _SCRIPT_CLASSES.values() for c in cs] + [lang_classes.OTHER_LETTER]

_MIX = np.uint64(0x9E3779B97F4A7C15)
_BLOCK_BYTES = 1 << 17  # reply bytes per block of the n-gram count (whole rows)
_ROW_BITS = 20  # a key holds the row in its top 20 bits: < 2**20 rows per block
_HASH_SHIFT = np.uint64(_ROW_BITS)  # keep 44 bits of each n-gram's hash
_ROW_SHIFT = np.uint64(64 - _ROW_BITS)


class HeuristicScorer(Scorer):
    """Length against what the prompt asks, structure, relevance and junk detectors, combined.

    ``weights``: ``"hand"`` (the default, :data:`WEIGHTS`) or ``"learned"`` (the logistic
    regression of ``benchmarks/train_quality_model.py``, :data:`LEARNED_WEIGHTS_FILE`).
    """

    name = "heuristics"
    input_columns = ("messages", "lang_user", "lang_assistant", "flags", "n_turns")

    def __init__(self, key: str = "heuristics", weights: str = "hand"):
        self.key = key
        self.weights = weights

    def term_weights(self) -> dict[str, float]:
        """The weight of each term of :func:`terms` (the hand-set or the learned ones)."""
        if self.weights == "hand":
            return dict(WEIGHTS)
        if self.weights == "learned":
            return load_learned_weights()["weights"]
        raise ValueError(f"heuristics weights: 'hand' or 'learned', not {self.weights!r}")

    def params(self) -> dict[str, Any]:
        return {
            "scorer": type(self).__name__,
            "version": VERSION,
            "weights_from": self.weights,
            "weights": self.term_weights(),
            "cjk_weight": CJK_WEIGHT,
            "targets": {k: list(v) for k, v in TARGETS.items()},
            "list_item_chars": LIST_ITEM_CHARS,
            "list_target_range": list(LIST_TARGET_RANGE),
            "question_max_chars": QUESTION_MAX_CHARS,
            "turns_saturation": TURNS_SATURATION,
            "ngram_bytes": NGRAM_BYTES,
            "repetition_window": REPETITION_WINDOW,
            "repetition_free": REPETITION_FREE,
            "relevance_bytes": RELEVANCE_BYTES,
            "relevance_chars": [RELEVANCE_PROMPT_CHARS, RELEVANCE_REPLY_CHARS],
            "off_topic": OFF_TOPIC,
            "truncation_chars": [TRUNCATION_MIN_CHARS, TRUNCATION_LINE_CHARS],
            "boilerplate_cap": BOILERPLATE_CAP,
            "lang_min_chars": LANG_MIN_CHARS,
            "lang_code_share": LANG_CODE_SHARE,
            "lang_script_share": LANG_SCRIPT_SHARE,
            "lang_request_pattern": LANG_REQUEST_PATTERN,
            "patterns": hashlib.sha256(
                "\0".join(
                    [
                        REFUSAL_PATTERN,
                        BRIEF_PATTERN,
                        LONG_PATTERN,
                        LIST_PATTERN,
                        YES_NO_PATTERN,
                        FACT_PATTERN,
                        CODE_ASKED_PATTERN,
                        ITEM_PATTERN,
                        HEADING_PATTERN,
                        PARAGRAPH_PATTERN,
                        TRUNCATED_END,
                        NOT_A_SENTENCE,
                        DIALOGUE_ASKED_PATTERN,
                        BOILERPLATE_PATTERN,
                        ROLE_LEAK_PATTERN,
                    ]
                ).encode()
            ).hexdigest(),
            "template_flags": list(TEMPLATE_FLAGS),
        }

    def identity(self) -> dict[str, Any]:
        out: dict[str, Any] = {"scorer": "heuristics", "version": VERSION}
        if self.weights != "hand":
            out["weights"] = self.weights
            out["weights_sha256"] = hashlib.sha256(LEARNED_WEIGHTS_FILE.read_bytes()).hexdigest()
        return out

    def schema(self) -> pa.Schema:
        p = self.prefix
        return pa.schema(
            [
                (f"{p}_score", pa.float32()),
                (f"{p}_status", pa.string()),
                (f"{p}_length", pa.float32()),
                (f"{p}_turns", pa.int32()),
                (f"{p}_repetition", pa.float32()),
                (f"{p}_lang_match", pa.bool_()),
                (f"{p}_refusal", pa.bool_()),
                (f"{p}_template", pa.bool_()),
                (f"{p}_chars", pa.int32()),
                (f"{p}_asks", pa.string()),
                (f"{p}_target", pa.float32()),
                (f"{p}_structure", pa.float32()),
                (f"{p}_asks_code", pa.bool_()),
                (f"{p}_code_block", pa.bool_()),
                (f"{p}_relevance", pa.float32()),
                (f"{p}_truncated", pa.bool_()),
                (f"{p}_boilerplate", pa.int32()),
                (f"{p}_role_leak", pa.bool_()),
            ]
        )

    def manifest_extra(self) -> dict[str, Any]:
        return {"note": "weak heuristic signals, not a reward model"}

    # -- scoring -------------------------------------------------------------------------
    def prepare(self, conversations: pa.Table | Sequence[Conversation]) -> dict[str, Any]:
        """Everything but the n-gram counts: lengths, the final reply and its prompt, regexes."""
        table = (
            conversations if isinstance(conversations, pa.Table) else base_columns(conversations)
        )
        n = table.num_rows
        messages = table.column("messages").combine_chunks()
        flat = pc.list_flatten(messages)
        parents = pc.list_parent_indices(messages).to_numpy()
        roles = pc.struct_field(flat, "role")
        contents = pc.fill_null(pc.struct_field(flat, "content"), "")
        nonempty = pc.invert(
            pc.or_(pc.equal(pc.binary_length(contents), 0), pc.utf8_is_space(contents))
        )
        keep = pc.fill_null(pc.and_(pc.equal(roles, "assistant"), nonempty), False)
        keep_np = keep.to_numpy(zero_copy_only=False)
        replies = _combined(contents.filter(keep))
        reply_rows = parents[keep_np]
        offsets, data = _buffers(replies)

        # weighted characters per reply (CJK counts CJK_WEIGHT), summed per conversation
        per_reply = _weighted_chars(replies)
        chars = np.bincount(reply_rows, weights=per_reply, minlength=n)
        has_reply = np.bincount(reply_rows, minlength=n) > 0

        # the final reply of each conversation, and the last user turn before it
        last = np.flatnonzero(np.append(reply_rows[1:] != reply_rows[:-1], len(reply_rows) > 0))
        rows = reply_rows[last]  # the conversations with a reply, in order
        final = _combined(replies.take(pa.array(last, pa.int64())))
        final_chars = per_reply[last]
        user = pc.fill_null(pc.and_(pc.equal(roles, "user"), nonempty), False)
        user_at = np.flatnonzero(user.to_numpy(zero_copy_only=False))
        reply_at = np.flatnonzero(keep_np)[last]
        before = np.searchsorted(user_at, reply_at) - 1
        has_prompt = before >= 0
        has_prompt[has_prompt] = parents[user_at[before[has_prompt]]] == rows[has_prompt]
        prompt_at = np.where(has_prompt, user_at[np.maximum(before, 0)], 0)
        prompts = pc.if_else(
            pa.array(has_prompt), contents.take(pa.array(prompt_at, pa.int64())), ""
        )
        prompts = pc.utf8_lower(_combined(prompts))

        # refusal: the pattern on the final reply (anchored: it reads a few hundred characters)
        refusal = np.zeros(n, dtype=bool)
        boilerplate = np.zeros(n, dtype=np.int64)
        role_leak = np.zeros(n, dtype=bool)
        if len(last):
            refusal[rows] = _match(final, REFUSAL_PATTERN, ignore_case=True)
            # boilerplate and role leaks anywhere in any reply
            counts = pc.count_substring_regex(replies, BOILERPLATE_PATTERN, ignore_case=True)
            boilerplate = np.bincount(
                reply_rows, weights=counts.to_numpy(zero_copy_only=False), minlength=n
            ).astype(np.int64)
            leak = _match(replies, ROLE_LEAK_PATTERN)
            role_leak[reply_rows[leak]] = True
            role_leak[rows[_match(prompts, DIALOGUE_ASKED_PATTERN)]] = False

        asks, target, asks_code = _asks(prompts)
        structure, code_block, truncated = _shape(final, final_chars)
        return {
            "n": n,
            "data": data,
            "offsets": offsets,
            "reply_rows": reply_rows,
            "has_reply": has_reply,
            "rows": rows,
            # what relevance reads: the turn's end, the reply's start, lowercased
            "final": pc.utf8_lower(pc.utf8_slice_codeunits(final, 0, RELEVANCE_REPLY_CHARS)),
            "prompts": pc.utf8_slice_codeunits(prompts, -RELEVANCE_PROMPT_CHARS),
            "chars": _scatter(final_chars, rows, n),
            "asks": asks,
            "target": _scatter(target, rows, n),
            "asks_code": _scatter(asks_code, rows, n),
            "structure": _scatter(structure, rows, n),
            "code_block": _scatter(code_block, rows, n),
            "truncated": _scatter(truncated, rows, n),
            "refusal": refusal,
            "boilerplate": boilerplate,
            "role_leak": role_leak,
            "lang_match": _lang_match(table, chars),
            "template": _has_flags(table.column("flags"), TEMPLATE_FLAGS),
            "turns": pc.fill_null(table.column("n_turns"), 0).to_numpy().astype(np.int32),
        }

    def run(
        self, prepared: dict[str, Any], progress: Progress | None = None
    ) -> dict[str, pa.Array]:
        """Repetition and relevance (n-gram counts), then the score and the columns."""
        n, rows = prepared["n"], prepared["rows"]
        repetition = _repetition(
            prepared["data"], prepared["offsets"], prepared["reply_rows"], n
        ).astype(np.float32)
        relevance = _scatter(_relevance(prepared["prompts"], prepared["final"]), rows, n)
        asks = np.full(n, "open", dtype=object)
        asks[rows] = prepared["asks"]
        columns = {
            "length": length_term(prepared["chars"], prepared["target"], asks),
            "turns": prepared["turns"],
            "repetition": repetition,
            "lang_match": prepared["lang_match"],
            "refusal": prepared["refusal"],
            "template": prepared["template"],
            "structure": prepared["structure"],
            "asks_code": prepared["asks_code"],
            "code_block": prepared["code_block"],
            "relevance": relevance,
            "truncated": prepared["truncated"],
            "boilerplate": prepared["boilerplate"],
            "role_leak": prepared["role_leak"],
        }
        weights = self.term_weights()
        values = terms(columns)
        score = np.zeros(n, dtype=np.float64)
        for name in TERMS:  # a fixed order: the same sum, bit for bit, on every machine
            score += weights[name] * values[name]
        missing = ~prepared["has_reply"]
        p = self.prefix

        def col(values, type_, mask=missing):
            return pa.array(values, type_, mask=mask)

        out = {
            f"{p}_score": col(score.astype(np.float32), pa.float32()),
            f"{p}_status": pa.array(np.where(missing, STATUS_NO_REPLY, STATUS_OK), pa.string()),
            f"{p}_length": col(columns["length"].astype(np.float32), pa.float32()),
            f"{p}_turns": pa.array(prepared["turns"], pa.int32()),
            f"{p}_repetition": col(repetition, pa.float32()),
            f"{p}_lang_match": col(prepared["lang_match"], pa.bool_()),
            f"{p}_refusal": col(prepared["refusal"], pa.bool_()),
            f"{p}_template": pa.array(prepared["template"], pa.bool_()),
            f"{p}_chars": col(prepared["chars"].astype(np.int32), pa.int32()),
            f"{p}_asks": pa.array(np.where(missing, None, asks), pa.string()),
            f"{p}_target": col(prepared["target"].astype(np.float32), pa.float32()),
            f"{p}_structure": col(prepared["structure"].astype(np.float32), pa.float32()),
            f"{p}_asks_code": col(prepared["asks_code"], pa.bool_()),
            f"{p}_code_block": col(prepared["code_block"], pa.bool_()),
            f"{p}_relevance": col(relevance.astype(np.float32), pa.float32()),
            f"{p}_truncated": col(prepared["truncated"], pa.bool_()),
            f"{p}_boilerplate": col(prepared["boilerplate"].astype(np.int32), pa.int32()),
            f"{p}_role_leak": col(prepared["role_leak"], pa.bool_()),
        }
        if progress is not None:
            progress(n, 0)
        return out


def length_term(chars: np.ndarray, target: np.ndarray, asks: np.ndarray) -> np.ndarray:
    """``1 + log10(L / T)`` below the target ``T``, ``1 + slope * log10(L / T)`` above it."""
    x = np.log10(np.maximum(chars, 1.0) / np.maximum(target, 1.0))
    slope = np.full(len(x), TARGETS["open"][1])
    for name, (_, s) in TARGETS.items():
        if s != TARGETS["open"][1]:
            slope[asks == name] = s
    return 1.0 + np.where(x < 0, x, slope * x)


def terms(columns: dict[str, Any]) -> dict[str, np.ndarray]:
    """The value of each term of the score (:data:`TERMS`) from the scorer's columns.

    ``columns`` maps column names without the prefix (``length``, ``repetition`` ...)
    to arrays (numpy, Arrow, or lists; NULLs count as 0 / False). The score is
    ``sum(weight[t] * terms[t])``; ``benchmarks/train_quality_model.py`` fits the weights.
    """

    def get(name: str, dtype=np.float64) -> np.ndarray:
        value = columns[name]
        if isinstance(value, pa.ChunkedArray | pa.Array):
            value = pc.fill_null(value, False if pa.types.is_boolean(value.type) else 0)
            value = value.to_numpy(zero_copy_only=False)
        return np.asarray(value, dtype=dtype)

    turns = get("turns")
    turns_term = np.minimum(np.log2(np.maximum(turns, 1)), np.log2(TURNS_SATURATION))
    return {
        "length": get("length"),
        "turns": turns_term / np.log2(TURNS_SATURATION),
        "structure": get("structure"),
        "code": (get("asks_code", bool) & get("code_block", bool)).astype(np.float64),
        "repetition": np.maximum(get("repetition") - REPETITION_FREE, 0.0),
        "refusal": get("refusal", bool).astype(np.float64),
        "lang_mismatch": (~get("lang_match", bool)).astype(np.float64),
        "template": get("template", bool).astype(np.float64),
        "role_leak": get("role_leak", bool).astype(np.float64),
        "boilerplate": np.minimum(get("boilerplate"), BOILERPLATE_CAP),
        "truncated": get("truncated", bool).astype(np.float64),
        "off_topic": np.clip((OFF_TOPIC - get("relevance")) / OFF_TOPIC, 0.0, 1.0),
    }


def load_learned_weights() -> dict[str, Any]:
    """The learned weights file: ``weights`` (one per term) and how they were made."""
    weights = json.loads(LEARNED_WEIGHTS_FILE.read_text(encoding="utf-8"))
    missing = sorted(set(TERMS) - set(weights["weights"]))
    if missing:
        raise ValueError(f"{LEARNED_WEIGHTS_FILE.name}: no weight for {', '.join(missing)}")
    return weights


def _combined(array: pa.Array | pa.ChunkedArray) -> pa.Array:
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _match(strings: pa.Array, pattern: str, ignore_case: bool = False) -> np.ndarray:
    hits = pc.match_substring_regex(strings, pattern, ignore_case=ignore_case)
    return pc.fill_null(hits, False).to_numpy(zero_copy_only=False)


def _count(strings: pa.Array, pattern: str, start: str) -> np.ndarray:
    """Lines matching a pattern: ``\\n<pattern>`` occurrences, plus the first line's match."""
    counts = pc.count_substring_regex(strings, pattern).to_numpy(zero_copy_only=False)
    return counts.astype(np.int64) + _match(strings, start)


def _scatter(values: np.ndarray, rows: np.ndarray, n: int) -> np.ndarray:
    """Values of the conversations with a reply (``rows``) as a column of all ``n``."""
    out = np.zeros(n, dtype=values.dtype)
    out[rows] = values
    return out


def _weighted_chars(strings: pa.Array) -> np.ndarray:
    """Characters of each string, a CJK one (U+3000..U+DFFF) counting :data:`CJK_WEIGHT`.

    An ASCII string has as many as bytes; in the others a CJK character (lead byte
    E3..ED: CJK symbols, kana, Han, Yi, Hangul) adds ``CJK_WEIGHT - 1``.
    """
    offsets, _ = _buffers(strings)
    out = np.diff(offsets).astype(np.float64)
    wide = np.flatnonzero(~pc.fill_null(pc.string_is_ascii(strings), True).to_numpy(False))
    if len(wide):
        wide_strings = strings.take(pa.array(wide))
        wide_offsets, wide_data = _buffers(wide_strings)
        wide_data = wide_data[wide_offsets[0] : wide_offsets[-1]]
        wide_offsets = wide_offsets - wide_offsets[0]
        cjk = ((wide_data - np.uint8(0xE3)) <= np.uint8(0xED - 0xE3)).view(np.uint8)
        cjk = np.add.reduceat(np.append(cjk, np.uint8(0)), wide_offsets[:-1], dtype=np.int64)
        out[wide] = pc.utf8_length(wide_strings).to_numpy() + (CJK_WEIGHT - 1) * cjk
    return out


def _asks(prompts: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What each last user turn asks for (:data:`ASKS`), its target length, and whether code.

    ``prompts`` are lowercased: the patterns are matched case-sensitively (compiling a
    case-insensitive Unicode pattern costs milliseconds on every call, i.e. every chunk).
    """
    n = len(prompts)
    asks = np.full(n, "open", dtype=object)
    target = np.full(n, TARGETS["open"][0])
    if n == 0:
        return asks, target, np.zeros(0, dtype=bool)
    short = _weighted_chars(prompts) <= QUESTION_MAX_CHARS
    found = {
        "brief": _match(prompts, BRIEF_PATTERN),
        "long": _match(prompts, LONG_PATTERN),
        "yes_no": short & _match(prompts, YES_NO_PATTERN),
        "fact": short & _match(prompts, FACT_PATTERN),
    }
    stated = np.zeros(n)  # a target from the prompt's own numbers (count, list), else 0
    # a stated length: "in 100 words" (count), "at least 500 words" (long, that target);
    # extracting is slow in RE2: only where the pattern matches
    found["count"] = np.zeros(n, dtype=bool)
    where = np.flatnonzero(_match(prompts, COUNT_PATTERN))
    if len(where):
        groups = pc.extract_regex(prompts.take(pa.array(where)), COUNT_PATTERN)
        unit = _lookup(
            pc.struct_field(groups, "unit"),
            lambda u: next((c for p, c in UNIT_CHARS.items() if u.startswith(p)), 0),
        )
        number = pc.cast(pc.struct_field(groups, "num"), pa.float64()).to_numpy()
        bound = pc.binary_join_element_wise(
            pc.struct_field(groups, "bound"), pc.struct_field(groups, "after"), "|"
        )
        at_least = _lookup(bound, lambda b: any(x in _AT_LEAST for x in b.split("|"))) > 0
        stated[where] = np.clip(number * unit, *COUNT_TARGET_RANGE) * (unit > 0)
        found["count"][where] = (unit > 0) & ~at_least
        found["long"][where[(unit > 0) & at_least]] = True
    # a number of items: "list 5 ...", "三个", "пять советов"
    found["list"] = np.zeros(n, dtype=bool)
    code = _match(prompts, CODE_ASKED_PATTERN)  # "a function that adds two numbers": no list
    where = np.flatnonzero(_match(prompts, LIST_PATTERN) & (stated == 0) & ~code)
    if len(where):
        groups = pc.extract_regex(prompts.take(pa.array(where)), LIST_PATTERN)
        words = pc.binary_join_element_wise(
            pc.struct_field(groups, "n"), pc.struct_field(groups, "zh"), ""
        )
        items = _lookup(words, lambda w: int(w) if w.isdigit() else _NUMBER_WORDS.get(w, 0))
        found["list"][where] = items >= 2
        stated[where] = np.where(
            items >= 2, np.clip(LIST_ITEM_CHARS * items, *LIST_TARGET_RANGE), 0
        )
    for name in reversed(ASKS[:-1]):  # the first in ASKS wins
        asks[found[name]] = name
        target[found[name]] = TARGETS[name][0]
    target = np.where(stated > 0, stated, target)
    return asks, target, code


def _lookup(strings: pa.Array, value) -> np.ndarray:
    """``value(s)`` for each string, computed once per distinct string (NULL: as ``""``)."""
    encoded = pc.dictionary_encode(pc.fill_null(strings, ""))
    values = np.array([value(v) for v in encoded.dictionary.to_pylist()], dtype=np.float64)
    return values[encoded.indices.to_numpy()] if len(values) else np.zeros(len(strings))


def _shape(final: pa.Array, chars: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Structure, a fenced code block, and truncation of each final reply."""
    if len(final) == 0:
        empty = np.zeros(0, dtype=bool)
        return np.zeros(0), empty, empty
    text = pc.utf8_trim_whitespace(final)
    fences = pc.count_substring(text, "```").to_numpy(zero_copy_only=False)
    # lists, headings and paragraphs of the prose: code blocks taken out ("def f():" is not
    # a heading; code has its own term)
    prose = text
    if fences.any():
        prose = pc.utf8_trim_whitespace(pc.replace_substring_regex(text, CODE_BLOCK, "\n"))
    items = _count(prose, ITEM_PATTERN, ITEM_START)
    headings = _count(prose, HEADING_PATTERN, HEADING_START)
    paragraphs = pc.count_substring_regex(prose, PARAGRAPH_PATTERN).to_numpy(False) + 1
    structure = np.log1p(items) + np.log1p(headings) + 0.5 * np.log(paragraphs)
    # truncation: an open code fence, or a long reply whose last line stops on a letter or
    # mid-phrase (not a short line, not a short list item, not a URL); the last line is
    # looked at only where the last character and the length make it possible
    truncated = fences % 2 == 1
    ends = pc.utf8_slice_codeunits(text, -1)
    maybe = np.flatnonzero(
        (chars >= TRUNCATION_MIN_CHARS) & ~truncated & _match(ends, TRUNCATED_END)
    )
    if len(maybe):
        parts = pc.split_pattern(text.take(pa.array(maybe)), "\n", max_splits=1, reverse=True)
        parts = _combined(parts)
        lines = parts.values.take(pa.array(parts.offsets.to_numpy()[1:] - 1))
        line_chars = _weighted_chars(_combined(lines))
        long_enough = line_chars >= TRUNCATION_LINE_CHARS
        truncated[maybe] = long_enough & ~_match(lines, ITEM_START) & ~_match(lines, NOT_A_SENTENCE)
    return structure, fences > 0, truncated


def _relevance(prompts: pa.Array, final: pa.Array) -> np.ndarray:
    """Share of the last user turn's distinct word stems found in the final reply (both
    lowercased).

    A stem is the first :data:`RELEVANCE_BYTES` bytes of a word (to its end if shorter,
    at least 3 bytes): ``histor`` for "history", ``рос`` for "Россия"; in Chinese,
    with no spaces, every character starts one (two characters). ``prompts`` and ``final``
    come cut to the turn's last :data:`RELEVANCE_PROMPT_CHARS` characters and the reply's
    first :data:`RELEVANCE_REPLY_CHARS`. Add-one smoothed, ``(found + 1) / (distinct + 1)``,
    so a turn too short to tell (``你好``) is not called off-topic.
    """
    m = len(prompts)
    if m == 0:
        return np.zeros(0)
    p_offsets, p_data = _buffers(prompts)
    r_offsets, r_data = _buffers(final)
    p_end = p_offsets[1:]
    p_start = p_offsets[:-1]
    r_start = r_offsets[:-1]
    r_end = r_offsets[1:]
    out = np.ones(m)
    for lo in range(0, m, 1 << _ROW_BITS):
        hi = min(m, lo + (1 << _ROW_BITS))
        p_keys = np.sort(_stem_keys(p_data, p_offsets[lo : hi + 1], p_start[lo:hi], p_end[lo:hi]))
        if len(p_keys):
            p_keys = p_keys[np.append(True, p_keys[1:] != p_keys[:-1])]  # distinct
        r_keys = _stem_keys(r_data, r_offsets[lo : hi + 1], r_start[lo:hi], r_end[lo:hi])
        distinct = np.bincount((p_keys >> _ROW_SHIFT).astype(np.int64), minlength=hi - lo)
        found = np.zeros(len(p_keys), dtype=bool)
        if len(p_keys) and len(r_keys):
            at = np.minimum(np.searchsorted(p_keys, r_keys), len(p_keys) - 1)
            found[at[p_keys[at] == r_keys]] = True
        hits = np.bincount((p_keys[found] >> _ROW_SHIFT).astype(np.int64), minlength=hi - lo)
        out[lo:hi] = (hits + 1.0) / (distinct + 1.0)
    return out


# bytes that continue a word: ASCII letters and digits, and every byte of a multi-byte
# UTF-8 character (Cyrillic, CJK, accented Latin); the rest (space, ASCII punctuation) end it
_WORD_BYTE = np.zeros(256, dtype=bool)
_WORD_BYTE[np.frombuffer(b"abcdefghijklmnopqrstuvwxyz0123456789", dtype=np.uint8)] = True
_WORD_BYTE[0x80:] = True
# _STEM_BEGINS[previous byte * 256 + byte]: a word byte after a non-word byte, or a CJK
# character (lead byte E3..ED: every character starts a stem); never a continuation byte
_PAIR_PREV, _PAIR_BYTE = np.divmod(np.arange(1 << 16), 256)
_STEM_BEGINS = (
    _WORD_BYTE[_PAIR_BYTE]
    & (~_WORD_BYTE[_PAIR_PREV] | ((_PAIR_BYTE >= 0xE3) & (_PAIR_BYTE <= 0xED)))
    & ((_PAIR_BYTE & 0xC0) != 0x80)
)
_STEM_MASKS = np.array([(1 << (8 * k)) - 1 for k in range(RELEVANCE_BYTES + 1)], dtype=np.uint64)


def _stem_keys(data: np.ndarray, offsets: np.ndarray, starts: np.ndarray, ends: np.ndarray):
    """Hashed word stems (see :func:`_relevance`) of ``data[starts[i]:ends[i]]``, each
    prefixed with its row ``i`` (fewer than ``2**_ROW_BITS`` rows).

    String ``i`` is ``data[offsets[i]:offsets[i + 1]]`` and its window ``starts[i]`` ..
    ``ends[i]`` lies within it. The word starts are found in one pass over the strings'
    bytes; only the stems are read (8 bytes each) and hashed.
    """
    lo, hi = int(offsets[0]), int(offsets[-1])
    if hi <= lo:
        return np.zeros(0, dtype=np.uint64)
    padded = np.zeros(hi - lo + 9, dtype=np.uint8)
    padded[1 : hi - lo + 1] = data[lo:hi]  # padded[k + 1] is data[lo + k]
    byte = padded[1:-8]
    word_padded = _WORD_BYTE[padded]
    # a stem begins where the (previous byte, byte) pair says so: one table look-up a byte
    pair = padded[:-9].astype(np.uint16) << np.uint16(8)
    pair |= byte
    begins = _STEM_BEGINS[pair]
    # a window's first byte starts a stem (a string's first byte follows another string)
    first = starts[starts < ends] - lo
    begins[first] |= _STEM_BEGINS[byte[first]]  # as if after a space (byte 0)
    at = np.flatnonzero(begins) + lo
    row = np.searchsorted(offsets, at, side="right") - 1
    inside = (at >= starts[row]) & (at < ends[row])
    at, row = at[inside], row[inside]
    # a stem runs to the word's end, the window's end or RELEVANCE_BYTES, whichever is first
    size = np.ones(len(at), dtype=np.int64)
    alive = np.ones(len(at), dtype=bool)
    for k in range(1, RELEVANCE_BYTES):
        alive &= word_padded[at - lo + 1 + k]
        size += alive
    size = np.minimum(size, ends[row] - at)
    words = np.ndarray((hi - lo + 1,), dtype="<u8", buffer=padded, offset=1, strides=(1,))
    words = words[at - lo]
    mask = _STEM_MASKS[size]
    keep = size >= 3
    h = (words[keep] & mask[keep]) * _MIX
    h >>= _HASH_SHIFT
    h |= row[keep].astype(np.uint64) << _ROW_SHIFT
    return h


def _lang_match(table: pa.Table, chars: np.ndarray) -> np.ndarray:
    """Whether each reply's language and script go with the user's (see the module docstring).

    The codes decide (:func:`languages_match`); a mismatch is then excused for a reply
    under :data:`LANG_MIN_CHARS`, a Latin-script reply that looks like code, a user side
    of which the reply's script makes up :data:`LANG_SCRIPT_SHARE` (a Chinese question
    around an English term is detected as English), or a user side that asks for a
    translation or another language (:data:`LANG_REQUEST_PATTERN`). Only the few
    mismatches are looked at again.
    """
    user, reply = (
        pc.dictionary_encode(pc.fill_null(table.column(name), "und").combine_chunks())
        for name in ("lang_user", "lang_assistant")
    )
    u_codes, a_codes = user.dictionary.to_pylist(), reply.dictionary.to_pylist()
    if not u_codes or not a_codes:
        return np.ones(len(user), dtype=bool)
    pairs = np.array([[languages_match(u, a) for a in a_codes] for u in u_codes], dtype=bool)
    u_index, a_index = user.indices.to_numpy(), reply.indices.to_numpy()
    match = pairs[u_index, a_index] | (chars < LANG_MIN_CHARS)
    suspects = np.flatnonzero(~match)
    if len(suspects) == 0:
        return match
    conversations = table.column("messages").take(pa.array(suspects)).to_pylist()
    user_texts = [
        "\n".join(m["content"] or "" for m in c if m["role"] == "user") for c in conversations
    ]
    replies = [
        "\n".join(m["content"] or "" for m in c if m["role"] == "assistant")[:LANG_CODE_HEAD]
        for c in conversations
    ]
    reply_codes = [a_codes[i] for i in a_index[suspects]]
    user_codes = [u_codes[i] for i in u_index[suspects]]
    # code is written in Latin letters: it excuses a reply detected as a Latin language
    code = np.array(
        [
            _script_of(a) == "Latn" and len(_CODE_CHARS.findall(r)) >= LANG_CODE_SHARE * len(r)
            for a, r in zip(reply_codes, replies)
        ],
        dtype=bool,
    )
    counts = lang_classes.count_classes(user_texts).astype(np.float64)
    counts[:, _CJK_CLASSES] *= CJK_WEIGHT
    letters = counts[:, _LETTER_CLASSES].sum(axis=1)
    in_script = np.array(
        [
            counts[k, _SCRIPT_CLASSES.get(_script_of(a), [])].sum()
            if _script_of(a) and a.partition("-")[0] != u.partition("-")[0]
            else 0.0
            for k, (u, a) in enumerate(zip(user_codes, reply_codes))
        ]
    )
    # "translate this into Japanese", "用英文介绍": another language is what was asked
    asked = np.array([_LANG_REQUEST.search(t) is not None for t in user_texts], dtype=bool)
    match[suspects] = code | asked | (in_script >= LANG_SCRIPT_SHARE * np.maximum(letters, 1e-9))
    return match


def _script_of(code: str) -> str | None:
    """The script group of a language code of :mod:`curate.lang` (``zh-Hant``: Hani)."""
    return _LANG_SCRIPT.get(code.partition("-")[0])


def languages_match(user: str, assistant: str) -> bool:
    """Codes of :mod:`curate.lang`: ``zh-Hant`` / ``zh-Hans`` differ, ``zh`` goes with both,
    ``und`` / ``other`` with anything."""
    if user in UNDETERMINED or assistant in UNDETERMINED:
        return True
    u_lang, _, u_script = user.partition("-")
    a_lang, _, a_script = assistant.partition("-")
    return u_lang == a_lang and (not u_script or not a_script or u_script == a_script)


def _has_flags(flags: pa.ChunkedArray, wanted: Sequence[str]) -> np.ndarray:
    """Rows whose list of flags holds any of ``wanted``."""
    flags = flags.combine_chunks()
    hit = pc.is_in(pc.list_flatten(flags), pa.array(list(wanted))).to_numpy(zero_copy_only=False)
    parents = pc.list_parent_indices(flags).to_numpy()
    out = np.zeros(len(flags), dtype=bool)
    out[parents[hit]] = True
    return out


def _buffers(strings: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The offsets (int64, one more than strings) and UTF-8 bytes of a string array, zero-copy."""
    if strings.type not in (pa.string(), pa.large_string()):
        strings = strings.cast(pa.large_string())
    offset_type = np.int64 if strings.type == pa.large_string() else np.int32
    _, offset_buffer, data_buffer = strings.buffers()
    if offset_buffer is None or len(strings) == 0:
        return np.zeros(len(strings) + 1, dtype=np.int64), np.zeros(0, dtype=np.uint8)
    offsets = np.frombuffer(offset_buffer, dtype=offset_type)
    offsets = offsets[strings.offset : strings.offset + len(strings) + 1].astype(np.int64)
    if data_buffer is None:  # only empty strings
        return offsets, np.zeros(0, dtype=np.uint8)
    return offsets, np.frombuffer(data_buffer, dtype=np.uint8)


def _repetition(data: np.ndarray, offsets: np.ndarray, rows: np.ndarray, n: int) -> np.ndarray:
    """``1 - distinct / total`` byte n-grams per row over its replies (0 without n-grams).

    Reply ``i`` is ``data[offsets[i]:offsets[i + 1]]`` and belongs to row ``rows[i]``
    (non-decreasing). Rows go in blocks of about :data:`_BLOCK_BYTES` bytes, whole rows
    each: small arrays stay in the CPU caches (40% faster than one block per chunk).
    """
    out = np.zeros(n, dtype=np.float64)
    if len(rows) == 0:
        return out
    firsts = np.flatnonzero(np.append(True, rows[1:] != rows[:-1]))  # first reply of each row
    # a new block every _BLOCK_BYTES bytes, and every 2**_ROW_BITS rows (the keys' row bits)
    by_bytes = (offsets[firsts] - offsets[0]) // _BLOCK_BYTES
    by_rows = rows[firsts] >> _ROW_BITS
    new_block = np.append(True, (np.diff(by_bytes) != 0) | (np.diff(by_rows) != 0))
    cuts = [*firsts[new_block].tolist(), len(rows)]
    for lo, hi in zip(cuts[:-1], cuts[1:]):
        first, last = int(rows[lo]), int(rows[hi - 1])
        out[first : last + 1] = _repetition_block(
            data, offsets[lo : hi + 1], rows[lo:hi] - first, last - first + 1
        )
    return out


def _repetition_block(
    data: np.ndarray, offsets: np.ndarray, rows: np.ndarray, n: int
) -> np.ndarray:
    """:func:`_repetition` for one block: fewer than ``2**_ROW_BITS`` rows.

    A reply longer than :data:`REPETITION_WINDOW` bytes is looked at through its first
    and last half window. The n-gram starting at each byte is hashed from the 64-bit
    words read at that byte and 8, 16, 24 bytes on (two multiply-xor rounds over the
    block's bytes), cut to 44 bits and prefixed with its row; one sort of these keys
    finds the distinct n-grams of every row.
    """
    out = np.zeros(n, dtype=np.float64)
    starts, ends = offsets[:-1], offsets[1:]
    long = (ends - starts) > REPETITION_WINDOW
    half = REPETITION_WINDOW // 2
    # regions of bytes whose n-grams count: whole replies, or their head and tail
    r_start = np.concatenate([starts, ends[long] - half])
    r_end = np.concatenate([np.where(long, starts + half, ends), ends[long]])
    r_row = np.concatenate([rows, rows[long]])
    grams = np.maximum(r_end - r_start - NGRAM_BYTES + 1, 0)
    total = np.bincount(r_row, weights=grams, minlength=n)
    use = grams > 0
    if not use.any():
        return out
    order = np.argsort(r_start[use], kind="stable")
    r_start, grams, r_row = r_start[use][order], grams[use][order], r_row[use][order]
    base = int(r_start[0])
    r_start = r_start - base
    size = int(r_start[-1] + grams[-1])  # regions are disjoint: the last one ends last

    # which byte positions start a counted n-gram
    mark = np.zeros(size + 1, dtype=np.int8)
    mark[r_start] = 1
    mark[r_start + grams] = -1
    valid = np.cumsum(mark[:-1], dtype=np.int8).view(bool)

    # n-gram hashes at every position: 64-bit words read at each byte offset, mixed
    window = np.zeros(size + NGRAM_BYTES + 8, dtype=np.uint8)
    stop = min(len(data), base + size + NGRAM_BYTES)
    window[: stop - base] = data[base:stop]
    h = np.ndarray((size + NGRAM_BYTES,), dtype="<u8", buffer=window, strides=(1,)).copy()
    span = 8
    while span < NGRAM_BYTES:  # hash of 2 * span bytes from two hashes of span bytes
        mixed = h[: len(h) - span] * _MIX
        np.bitwise_xor(mixed, h[span:], out=mixed)
        h, span = mixed, span * 2
    h = h[:size]
    np.multiply(h, _MIX, out=h)
    np.right_shift(h, _HASH_SHIFT, out=h)

    # keys: the row in the top bits, the hash below; sorted, the distinct ones per row
    keys = h[valid]
    keys |= np.repeat(r_row.astype(np.uint64) << _ROW_SHIFT, grams)
    keys.sort()
    new = np.ones(len(keys), dtype=bool)
    new[1:] = keys[1:] != keys[:-1]
    distinct = np.bincount((keys[new] >> _ROW_SHIFT).astype(np.int64), minlength=n)
    has = total > 0
    out[has] = 1.0 - distinct[has] / total[has]
    return out


def base_columns(conversations: Sequence[Conversation]) -> pa.Table:
    """The base-table columns the scorer reads, computed as ``curate ingest`` does.

    For scoring conversations that are not in a store (``HeuristicScorer().score(...)``).
    """
    from curate import lang
    from curate.flags import structure_flags, text_flags
    from curate.store.schema import MESSAGES

    user_texts, assistant_texts, flags, turns = [], [], [], []
    for conversation in conversations:
        roles = [m["role"] for m in conversation]
        contents = [m["content"] or "" for m in conversation]
        users = [c for r, c in zip(roles, contents) if r == "user"]
        user_texts.append("\n".join(users))
        assistant_texts.append("\n".join(c for r, c in zip(roles, contents) if r == "assistant"))
        flags.append(
            sorted(structure_flags(roles, contents) + text_flags("\n".join(contents)))
            if roles
            else ["no_assistant"]
        )
        turns.append(len(users))
    _, lang_user, lang_assistant, _ = lang.detect_conversations(user_texts, assistant_texts)
    return pa.table(
        {
            "messages": pa.array(
                [[{"role": m["role"], "content": m["content"]} for m in c] for c in conversations],
                MESSAGES,
            ),
            "lang_user": pa.array(lang_user, pa.string()),
            "lang_assistant": pa.array(lang_assistant, pa.string()),
            "flags": pa.array(flags, pa.list_(pa.string())),
            "n_turns": pa.array(turns, pa.int32()),
        }
    )
