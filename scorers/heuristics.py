"""Cheap quality signals as a scorer: ``curate score STORE --model heuristics``.

So that selection means something on a machine without a reward model. These are
**weak signals, not a reward model**: they see length, loops, refusals, language
and leftovers of chat templates, not whether an answer is correct or helpful.
Use them to push obvious junk down and to break ties, not to rank good answers.

Columns of the sidecar ``score.heuristics`` (prefix ``heuristics_``). A conversation
without a non-empty assistant reply has the status ``no_assistant_reply`` and NULL in
every column that reads the reply (score, length, repetition, lang_match, refusal):

``score`` (float32)
    The weighted sum below; higher is better.
``status`` (string)
    ``ok`` or ``no_assistant_reply``.
``length`` (float32, 0..1)
    ``log(L / 10) / log(1000 / 10)``, clipped, where ``L`` is the characters of all
    assistant replies with a CJK character (Han, kana, Hangul: U+3000..U+DFFF) counting
    3 (:data:`CJK_WEIGHT`): Chinese says in one character about what English says in
    three (the factor :mod:`curate.lang` uses too). 10 weighted characters or fewer (a
    one-word answer) give 0, 100 give 0.5, 1,000 (about 170 English words or 330
    Chinese characters) and more give 1.
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
    about an English term is detected as English). Known false alarm: "translate this
    into English" answered in English.
``refusal`` (bool)
    The last non-empty reply opens (after blanks, quotes, markdown) with a refusal or
    an AI disclaimer (:data:`REFUSAL_PATTERN`, English, Chinese in both scripts,
    Russian): an apology, then within the sentence an inability (``I'm sorry, but I
    can't``, ``Sorry, this task ... cannot``, ``抱歉，我无法``, ``Извините, но я не
    могу``); an "as an AI" clause (``As an AI language model``, ``作为一个AI``,
    ``作為一個AI``, ``Как языковая модель``); or an inability followed by what cannot be
    done (``I cannot provide``, ``我无法回答``, ``Я не могу помочь``). A reply that
    apologises further on, "I'm sorry to hear that", "I can't believe" are not.
``template`` (bool)
    The ingest flags ``template_tokens``, ``placeholder`` or ``empty_turn`` (see
    :mod:`curate.flags`): chat-template tokens left in the text, an unfilled slot
    like ``[Your Name]``, an empty turn.

The score (:data:`WEIGHTS`)::

    score = 1.0 * length
          + 0.1 * min(log2(turns), 3) / 3       # 1 turn: 0, 2: 0.033, 8 or more: 0.1
          - 1.0 * repetition
          - 1.0 * refusal
          - 0.5 * (not lang_match)
          - 0.5 * template

Why these weights: length is the one positive signal (response length is a strong
baseline for choosing instruction data), saturating so that length alone cannot
win; a refusal costs a full point, so that any refusal ranks below a one-word
answer; a loop costs the share it repeats; a reply in the wrong language or with
template debris is bad training data, but those detectors have false alarms
(translation tasks, a placeholder in a form letter), so half a point each; more
turns are a small bonus. The range is about -3 to 1.1 and only the order means
anything.

Speed: everything is vectorised over a chunk: pyarrow.compute on the flattened
messages (the refusal pattern runs in RE2), numpy on the replies' UTF-8 bytes read
straight from the Arrow buffer (CJK characters counted by their lead bytes; n-grams
as 64-bit words read at every byte, hashed, prefixed with their row and counted with
one sort per block of rows). Only the few language mismatches are looked at again in Python. Same
input, same output.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curate import lang as lang_classes
from scorers.base import Conversation, Progress, Scorer

VERSION = 1

CJK_WEIGHT = 3  # a CJK character counts as 3 Latin ones (curate.lang uses the same factor)
LENGTH_FLOOR = 10.0  # weighted characters at and below which length is 0
LENGTH_SATURATION = 1000.0  # weighted characters at and above which length is 1
TURNS_SATURATION = 8  # user turns at which the turns term reaches 1 (log2 scale)
NGRAM_BYTES = 32  # repetition n-gram size in UTF-8 bytes (8 times a power of 2)
REPETITION_WINDOW = 4096  # bytes of a reply looked at: all, or the first and last half of this
LANG_MIN_CHARS = 20.0  # weighted reply characters below which the language is not judged
LANG_CODE_SHARE = 0.05  # a reply with this share of code symbols is code: no language
LANG_CODE_HEAD = 4000  # characters of a suspect reply looked at for code symbols
LANG_SCRIPT_SHARE = 0.25  # of the user's weighted letters in the reply's script: no mismatch
UNDETERMINED = ("und", "other")
TEMPLATE_FLAGS = ("template_tokens", "placeholder", "empty_turn")

WEIGHTS: dict[str, float] = {
    "length": 1.0,
    "turns": 0.1,
    "repetition": -1.0,
    "refusal": -1.0,
    "lang_mismatch": -0.5,
    "template": -0.5,
}

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

# language-match excuses: code symbols; script groups as curate.lang compares them
_CODE_CHARS = re.compile(r"[{}\[\]()<>=;:_\\/|#$*`\"]")
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
    """Length, turns, repetition, language match, refusal and template flags, combined."""

    name = "heuristics"
    input_columns = ("messages", "lang_user", "lang_assistant", "flags", "n_turns")

    def __init__(self, key: str = "heuristics"):
        self.key = key

    def params(self) -> dict[str, Any]:
        return {
            "scorer": type(self).__name__,
            "version": VERSION,
            "weights": dict(WEIGHTS),
            "cjk_weight": CJK_WEIGHT,
            "length_floor": LENGTH_FLOOR,
            "length_saturation": LENGTH_SATURATION,
            "turns_saturation": TURNS_SATURATION,
            "ngram_bytes": NGRAM_BYTES,
            "repetition_window": REPETITION_WINDOW,
            "lang_min_chars": LANG_MIN_CHARS,
            "lang_code_share": LANG_CODE_SHARE,
            "lang_script_share": LANG_SCRIPT_SHARE,
            "refusal_pattern": REFUSAL_PATTERN,
            "template_flags": list(TEMPLATE_FLAGS),
        }

    def identity(self) -> dict[str, Any]:
        return {"scorer": "heuristics", "version": VERSION}

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
            ]
        )

    def manifest_extra(self) -> dict[str, Any]:
        return {"note": "weak heuristic signals, not a reward model"}

    # -- scoring -------------------------------------------------------------------------
    def prepare(self, conversations: pa.Table | Sequence[Conversation]) -> dict[str, Any]:
        """Everything but the repetition: lengths, replies, refusals, language, flags."""
        table = (
            conversations if isinstance(conversations, pa.Table) else base_columns(conversations)
        )
        n = table.num_rows
        messages = table.column("messages").combine_chunks()
        flat = pc.list_flatten(messages)
        parents = pc.list_parent_indices(messages).to_numpy()
        roles = pc.struct_field(flat, "role")
        contents = pc.fill_null(pc.struct_field(flat, "content"), "")
        keep = pc.and_(
            pc.equal(roles, "assistant"),
            pc.invert(pc.or_(pc.equal(pc.binary_length(contents), 0), pc.utf8_is_space(contents))),
        )
        keep = pc.fill_null(keep, False)
        replies = contents.filter(keep)
        if isinstance(replies, pa.ChunkedArray):
            replies = replies.combine_chunks()
        reply_rows = parents[keep.to_numpy(zero_copy_only=False)]
        offsets, data = _buffers(replies)

        # weighted characters per reply, summed per conversation: an ASCII reply has as
        # many as bytes; in the others a CJK character (lead byte E3..ED: U+3000..U+DFFF,
        # CJK symbols, kana, Han, Yi, Hangul) adds CJK_WEIGHT - 1 to the character count
        per_reply = np.diff(offsets)
        wide = np.flatnonzero(~pc.string_is_ascii(replies).to_numpy(zero_copy_only=False))
        if len(wide):
            wide_replies = replies.take(pa.array(wide))
            wide_offsets, wide_data = _buffers(wide_replies)
            cjk = (wide_data - np.uint8(0xE3)) <= np.uint8(0xED - 0xE3)
            cjk = np.add.reduceat(cjk.view(np.uint8), wide_offsets[:-1], dtype=np.int64)
            per_reply[wide] = pc.utf8_length(wide_replies).to_numpy() + (CJK_WEIGHT - 1) * cjk
        chars = np.bincount(reply_rows, weights=per_reply, minlength=n)
        has_reply = np.bincount(reply_rows, minlength=n) > 0

        # refusal: the pattern on every reply (anchored: it stops within the first few
        # hundred characters), kept for the last non-empty reply of each conversation
        last = np.flatnonzero(np.append(reply_rows[1:] != reply_rows[:-1], len(reply_rows) > 0))
        refusal = np.zeros(n, dtype=bool)
        if len(last):
            hits = pc.match_substring_regex(replies, REFUSAL_PATTERN, ignore_case=True)
            refusal[reply_rows[last]] = hits.to_numpy(zero_copy_only=False)[last]

        return {
            "n": n,
            "data": data,
            "offsets": offsets,
            "reply_rows": reply_rows,
            "has_reply": has_reply,
            "chars": chars,
            "refusal": refusal,
            "lang_match": _lang_match(table, chars),
            "template": _has_flags(table.column("flags"), TEMPLATE_FLAGS),
            "turns": pc.fill_null(table.column("n_turns"), 0).to_numpy().astype(np.int32),
        }

    def run(
        self, prepared: dict[str, Any], progress: Progress | None = None
    ) -> dict[str, pa.Array]:
        """Repetition, then the score and the columns."""
        n = prepared["n"]
        repetition = _repetition(
            prepared["data"], prepared["offsets"], prepared["reply_rows"], n
        ).astype(np.float32)
        chars, turns = prepared["chars"], prepared["turns"]
        length = np.clip(
            np.log(np.maximum(chars, 1.0) / LENGTH_FLOOR)
            / np.log(LENGTH_SATURATION / LENGTH_FLOOR),
            0.0,
            1.0,
        ).astype(np.float32)
        turns_term = np.minimum(np.log2(np.maximum(turns, 1)), np.log2(TURNS_SATURATION))
        turns_term = turns_term / np.log2(TURNS_SATURATION)
        lang_match, refusal, template = (
            prepared["lang_match"],
            prepared["refusal"],
            prepared["template"],
        )
        w = WEIGHTS
        score = (
            w["length"] * length.astype(np.float64)
            + w["turns"] * turns_term
            + w["repetition"] * repetition.astype(np.float64)
            + w["refusal"] * refusal
            + w["lang_mismatch"] * ~lang_match
            + w["template"] * template
        ).astype(np.float32)
        missing = ~prepared["has_reply"]
        p = self.prefix
        columns = {
            f"{p}_score": pa.array(score, pa.float32(), mask=missing),
            f"{p}_status": pa.array(np.where(missing, STATUS_NO_REPLY, STATUS_OK), pa.string()),
            f"{p}_length": pa.array(length, pa.float32(), mask=missing),
            f"{p}_turns": pa.array(turns, pa.int32()),
            f"{p}_repetition": pa.array(repetition, pa.float32(), mask=missing),
            f"{p}_lang_match": pa.array(lang_match, pa.bool_(), mask=missing),
            f"{p}_refusal": pa.array(refusal, pa.bool_(), mask=missing),
            f"{p}_template": pa.array(template, pa.bool_()),
        }
        if progress is not None:
            progress(n, 0)
        return columns


def _lang_match(table: pa.Table, chars: np.ndarray) -> np.ndarray:
    """Whether each reply's language and script go with the user's (see the module docstring).

    The codes decide (:func:`languages_match`); a mismatch is then excused for a reply
    under :data:`LANG_MIN_CHARS`, a Latin-script reply that looks like code, or a user
    side of which the reply's script makes up :data:`LANG_SCRIPT_SHARE` (a Chinese
    question around an English term is detected as English). Only the few mismatches
    are looked at again.
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
    match[suspects] = code | (in_script >= LANG_SCRIPT_SHARE * np.maximum(letters, 1e-9))
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
