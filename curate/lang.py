"""Language and script of conversations, vectorised over batches.

Every code point is mapped through a lookup table to a character class (Latin,
Cyrillic, Han that is only Traditional, Han that is only Simplified, kana, ...),
and the classes are counted per text with one ``np.bincount`` over the whole
batch. The language follows from the counts:

* Han dominant: Japanese when kana make up >= 10% of the CJK characters; otherwise
  Chinese, ``zh-Hant`` or ``zh-Hans`` by which script's exclusive characters are
  more frequent (tables derived from OpenCC, ``curate/data/han_variants.txt``), and
  plain ``zh`` when the text has no script-specific character at all.
* Cyrillic dominant: ``uk`` when Ukrainian-only letters (і ї є ґ) exceed 1.5% of the
  Cyrillic letters, otherwise ``ru``.
* Latin dominant: ``other`` when letters with diacritics exceed 2% of the Latin
  letters, or when function words of other Latin-script languages (de, la, und,
  yang, ng, ...) outnumber English ones; otherwise ``en``.
* Other scripts map to ``ko``, ``ar``, ``hi``, ``th``, ``el``, ``he`` or ``other``;
  text with no letters is ``und``.

CJK characters weigh 3 Latin letters when scripts are compared, roughly their
information content. Latin is also the script of code, URLs and quoted English,
so a non-Latin script with at least 20 weighted letters and 25% of the Latin mass
wins: a Chinese request to grade an English essay is Chinese, a Russian question
about a Python function is Russian. Measured accuracy is in BENCHMARKS.md.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from importlib import resources

import numpy as np

# Character classes (columns of the count matrix).
NONLETTER, LATIN, LATIN_EXT, CYR, CYR_UK, HAN, HAN_T, HAN_S, KANA, HANGUL = range(10)
ARABIC, DEVANAGARI, THAI, GREEK, HEBREW, OTHER_LETTER = range(10, 16)
N_CLASSES = 16
LUT_SIZE = 0x30000  # BMP + SIP (CJK extension B lives at U+20000..U+2A6DF)

CJK_WEIGHT = 3.0

#: Codes that name no language: ``und`` (undetermined: no letters at all) and ``other``
#: (letters, but of a language this module does not tell apart). Stages that compare
#: languages treat them as unknown (dedup's cross-lingual threshold, the heuristic
#: scorer's language match) and import them from here.
UND = "und"
OTHER = "other"
UNKNOWN_LANGS = (UND, OTHER)

# Script groups compared for dominance, with the class columns they sum.
_GROUPS = (
    ("Latn", (LATIN, LATIN_EXT), 1.0),
    ("Cyrl", (CYR, CYR_UK), 1.0),
    ("Hani", (HAN, HAN_T, HAN_S, KANA), CJK_WEIGHT),
    ("Kore", (HANGUL,), CJK_WEIGHT),
    ("Arab", (ARABIC,), 1.0),
    ("Deva", (DEVANAGARI,), 1.0),
    ("Thai", (THAI,), 1.0),
    ("Grek", (GREEK,), 1.0),
    ("Hebr", (HEBREW,), 1.0),
    ("Zzzz", (OTHER_LETTER,), 1.0),
)
_SCRIPT_NAMES = np.array([name for name, _, _ in _GROUPS], dtype=object)
_LATIN_GROUP = 0
MINORITY_MIN = 20.0
MINORITY_SHARE = 0.25
_SIMPLE_LANG = {
    "Kore": "ko",
    "Arab": "ar",
    "Deva": "hi",
    "Thai": "th",
    "Grek": "el",
    "Hebr": "he",
    "Zzzz": OTHER,
}
_SIMPLE_LANGS = np.array([_SIMPLE_LANG.get(s, "") for s in _SCRIPT_NAMES], dtype=object)

# Latin-script text without diacritics is English unless function words of other
# Latin-script languages outnumber English ones (Indonesian, Tagalog, Swahili,
# diacritic-free French/Spanish/German snippets, pinyin...).
_ENGLISH_QUICK = (" the ", " and ", " of ", " to ", " is ", " you ")
_ENGLISH_WORDS = re.compile(
    r" (?:the|and|of|to|is|you|in|that|it|for|what|how|are|with|this|can|a|an|my|be|on|your)(?= )"
)
_OTHER_LATIN_WORDS = re.compile(
    r" (?:de|la|le|les|et|est|une|des|und|der|die|das|ist|nicht|el|los|las|que|y|es|por|il|di|che"
    r"|della|het|een|van|och|att|yang|dan|ini|itu|untuk|ng|sa|mga|na|ya|kwa|ni|wo|shi|bu|zai|ve"
    r"|bir|ile|da)(?= )"
)
_WORD_SEPARATORS = re.compile(r"[\s.,;:!?()\[\]\"'`*_/-]+")


def _load_han_variants() -> tuple[str, str]:
    text = resources.files("curate").joinpath("data/han_variants.txt").read_text(encoding="utf-8")
    tables = dict(
        line.split("\t", 1) for line in text.splitlines() if line and not line.startswith("#")
    )
    return tables["T"], tables["S"]


@lru_cache(maxsize=1)
def class_table() -> np.ndarray:
    """Code point -> character class, for code points below LUT_SIZE."""
    lut = np.zeros(LUT_SIZE, dtype=np.uint8)

    def span(lo: int, hi: int, cls: int) -> None:
        lut[lo : hi + 1] = cls

    # Unicode letters not covered by a script below count as OTHER_LETTER.
    for cp in range(0x80, 0x3400):
        if unicodedata.category(chr(cp)).startswith("L"):
            lut[cp] = OTHER_LETTER
    lut[ord("A") : ord("Z") + 1] = LATIN
    lut[ord("a") : ord("z") + 1] = LATIN
    for cp in range(0xC0, 0x250):
        if unicodedata.category(chr(cp)).startswith("L"):
            lut[cp] = LATIN_EXT
    span(0x1E00, 0x1EFF, LATIN_EXT)
    span(0x0370, 0x03FF, GREEK)
    span(0x0400, 0x04FF, CYR)
    span(0x0500, 0x052F, CYR)
    for ch in "іїєґІЇЄҐ":
        lut[ord(ch)] = CYR_UK
    span(0x0590, 0x05FF, HEBREW)
    span(0x0600, 0x06FF, ARABIC)
    span(0x0750, 0x077F, ARABIC)
    span(0x0900, 0x097F, DEVANAGARI)
    span(0x0E00, 0x0E7F, THAI)
    span(0x1100, 0x11FF, HANGUL)
    span(0x3130, 0x318F, HANGUL)
    span(0xAC00, 0xD7AF, HANGUL)
    span(0x3040, 0x30FF, KANA)
    span(0x31F0, 0x31FF, KANA)
    span(0xFF66, 0xFF9F, KANA)
    span(0x3400, 0x4DBF, HAN)
    span(0x4E00, 0x9FFF, HAN)
    span(0xF900, 0xFAFF, HAN)
    span(0x20000, 0x2FFFF, HAN)
    span(0xFF21, 0xFF3A, LATIN)  # full-width Latin
    span(0xFF41, 0xFF5A, LATIN)
    t_only, s_only = _load_han_variants()
    for ch in t_only:
        if ord(ch) < LUT_SIZE:
            lut[ord(ch)] = HAN_T
    for ch in s_only:
        if ord(ch) < LUT_SIZE:
            lut[ord(ch)] = HAN_S
    lut[LUT_SIZE - 1] = NONLETTER  # sentinel for clipped code points
    return lut


_ASCII_LETTER = np.zeros(256, dtype=np.uint8)
_ASCII_LETTER[ord("A") : ord("Z") + 1] = 1
_ASCII_LETTER[ord("a") : ord("z") + 1] = 1
MAX_CHARS = 4096  # characters per non-ASCII text that are looked at: plenty to tell languages apart


def _segment_sums(values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Sum of ``values`` over consecutive segments of the given lengths (empty segments: 0)."""
    starts = np.cumsum(lengths) - lengths
    padded = np.append(values, values.dtype.type(0))  # a valid index for empty trailing segments
    sums = np.add.reduceat(padded, np.minimum(starts, len(values)), dtype=np.int64)
    sums[lengths == 0] = 0
    return sums


def count_classes(texts: list[str]) -> np.ndarray:
    """Count character classes per text: an int64 matrix of shape (len(texts), N_CLASSES).

    Pure-ASCII texts (``str.isascii`` is O(1)) only hold Latin letters and
    non-letters: their letters are counted over one joined byte buffer. The other
    texts go through the code-point lookup table, their first MAX_CHARS characters.
    """
    n = len(texts)
    counts = np.zeros((n, N_CLASSES), dtype=np.int64)
    if n == 0:
        return counts
    is_ascii = np.fromiter((t.isascii() for t in texts), dtype=bool, count=n)
    plain = np.flatnonzero(is_ascii)
    if len(plain):
        chunk = [texts[i] for i in plain]
        lengths = np.fromiter(map(len, chunk), dtype=np.int64, count=len(chunk))
        data = np.frombuffer("".join(chunk).encode("ascii"), dtype=np.uint8)
        counts[plain, LATIN] = _segment_sums(_ASCII_LETTER[data], lengths)
    rest = np.flatnonzero(~is_ascii)
    if len(rest) == 0:
        return counts
    clipped = [texts[i][:MAX_CHARS] for i in rest]
    lengths = np.fromiter(map(len, clipped), dtype=np.int64, count=len(clipped))
    cps = np.frombuffer("".join(clipped).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    classes = class_table()[np.minimum(cps, LUT_SIZE - 1)]
    rows = np.repeat(np.arange(len(clipped), dtype=np.int64), lengths)
    flat = np.bincount(rows * N_CLASSES + classes, minlength=len(clipped) * N_CLASSES)
    counts[rest] = flat.reshape(len(clipped), N_CLASSES)
    return counts


def is_english_text(text: str) -> bool:
    """For Latin text without diacritics: English unless other languages' function words win."""
    head = " " + text[:1000].lower() + " "
    for word in _ENGLISH_QUICK:  # settles most English texts at once
        if word in head:
            return True
    lowered = _WORD_SEPARATORS.sub(" ", " " + text[:4000].lower() + " ")
    other = len(_OTHER_LATIN_WORDS.findall(lowered))
    return other < 2 or other <= len(_ENGLISH_WORDS.findall(lowered))


def _scripts(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dominant script group of each row, and whether the row has any letter."""
    groups = np.stack([counts[:, list(cols)].sum(axis=1) * w for _, cols, w in _GROUPS], axis=1)
    dominant = groups.argmax(axis=1)
    # Latin is also the script of code, URLs and quoted English: a substantial other
    # script (>= 20 weighted letters and >= 25% of the Latin mass) is the language.
    others = groups.copy()
    others[:, _LATIN_GROUP] = 0
    other_mass = others.max(axis=1)
    prefer = (other_mass >= MINORITY_MIN) & (other_mass >= MINORITY_SHARE * groups[:, _LATIN_GROUP])
    return np.where(prefer, others.argmax(axis=1), dominant), groups.max(axis=1) > 0


def english_undecided(counts: np.ndarray) -> np.ndarray:
    """Rows whose language hinges on the English test: Latin, 20+ letters, no diacritics."""
    dominant, _ = _scripts(counts)
    latin = counts[:, LATIN] + counts[:, LATIN_EXT]
    return (dominant == _LATIN_GROUP) & (latin >= 20) & (counts[:, LATIN_EXT] <= 0.02 * latin)


def english_flags(texts: list[str], rows: np.ndarray) -> np.ndarray:
    """``is_english_text`` for the given rows; True elsewhere."""
    flags = np.ones(len(texts), dtype=bool)
    idx = np.flatnonzero(rows).tolist()
    flags[idx] = [is_english_text(texts[i]) for i in idx]
    return flags


def decide(counts: np.ndarray, english: np.ndarray) -> tuple[list[str], list[str]]:
    """Language and script code for each row of a class-count matrix.

    ``english[i]`` tells whether Latin text ``i`` reads as English; it is only
    looked at for the rows of :func:`english_undecided`.
    """
    dominant, has_letters = _scripts(counts)
    script = _SCRIPT_NAMES[dominant]
    lang = _SIMPLE_LANGS[dominant]
    col = counts.T

    hani = script == "Hani"
    cjk = col[HAN] + col[HAN_T] + col[HAN_S] + col[KANA]
    ja = hani & (col[KANA] >= 0.1 * cjk)
    zh = hani & ~ja
    lang[ja], script[ja] = "ja", "Jpan"
    hant, hans = zh & (col[HAN_T] > col[HAN_S]), zh & (col[HAN_S] > col[HAN_T])
    lang[zh] = "zh"
    lang[hant], script[hant] = "zh-Hant", "Hant"
    lang[hans], script[hans] = "zh-Hans", "Hans"

    cyrl = script == "Cyrl"
    lang[cyrl] = np.where(col[CYR_UK][cyrl] > 0.015 * (col[CYR] + col[CYR_UK])[cyrl], "uk", "ru")

    latn = script == "Latn"
    latin = col[LATIN] + col[LATIN_EXT]
    other = latn & ((col[LATIN_EXT] > 0.02 * latin) | ((latin >= 20) & ~english))
    lang[latn] = "en"
    lang[other] = OTHER

    lang[~has_letters], script[~has_letters] = UND, "Zyyy"
    return lang.tolist(), script.tolist()


def detect(texts: list[str]) -> tuple[list[str], list[str]]:
    """Language and script codes for a batch of texts."""
    counts = count_classes(texts)
    return decide(counts, english_flags(texts, english_undecided(counts)))


def detect_conversations(
    user_texts: list[str], assistant_texts: list[str]
) -> tuple[list[str], list[str], list[str], list[str]]:
    """Per conversation: language overall, of the user side, of the assistant side, and script.

    ``user_texts[i]`` and ``assistant_texts[i]`` are the concatenated user and
    assistant turns of conversation ``i`` (system prompts are left out: they are
    boilerplate and often in another language than the conversation).
    """
    n = len(user_texts)
    counts = count_classes(user_texts + assistant_texts)
    user_counts, assistant_counts = counts[:n], counts[n:]
    both_counts = user_counts + assistant_counts
    need_user, need_assistant = english_undecided(user_counts), english_undecided(assistant_counts)
    english_user = english_flags(user_texts, need_user)
    english_assistant = english_flags(assistant_texts, need_assistant)
    # The whole conversation: both sides agree (the usual case), or test the two together.
    english_both = english_user & english_assistant
    agreed = need_user & need_assistant & (english_user == english_assistant)
    recheck = np.flatnonzero(english_undecided(both_counts) & ~agreed).tolist()
    english_both[recheck] = [
        is_english_text(user_texts[i][:2000] + "\n" + assistant_texts[i][:2000]) for i in recheck
    ]
    lang_user, _ = decide(user_counts, english_user)
    lang_assistant, _ = decide(assistant_counts, english_assistant)
    lang, script = decide(both_counts, english_both)
    return lang, lang_user, lang_assistant, script
