"""Language and script of conversations, vectorised over batches.

Every code point is mapped through a lookup table to a character class (Latin,
Cyrillic, Han that is only Traditional, Han that is only Simplified, kana, ...),
and the classes are counted per text with one ``np.bincount`` over the whole
batch. The language follows from the counts:

* Han dominant: Japanese when kana make up >= 10% of the CJK characters; otherwise
  Chinese, ``zh-Hant`` or ``zh-Hans`` by which script's exclusive characters are
  more frequent, and plain ``zh`` when the text has no script-specific character at
  all. The exclusive characters (``curate/data/han_variants.txt``) are derived from
  OpenCC's tables so that none of them is in ordinary use in the other script (抬 and
  着 are Simplified as well as Traditional, 教 and 雇 Traditional as well as Simplified).
* Cyrillic dominant: ``uk`` when Ukrainian-only letters (і ї є ґ) exceed 1.5% of the
  Cyrillic letters, otherwise ``ru``.
* Latin dominant: English (``en``) or ``other``, by function words. Without diacritics
  (<= 2% of the Latin letters), text of 20+ letters is ``other`` when function words of
  other Latin-script languages (de, la, und, yang, ng, ...) number 2 or more and outnumber
  English ones (the, has, does, how, many, ...). Those words count where written in
  lower case, and capitalised at the start of a sentence they add to lower-case ones
  unless the same word is also capitalised inside a sentence: names (Dan, Les
  Misérables, El Niño) are no evidence. With light diacritics (2-15%: French, Spanish,
  German, Polish... but also English naming Gödel or Méliès) the text is English only
  when distinctively English words (not a, in, to, on..., which other languages share)
  outnumber the other languages' words, quoted text (a payload to translate) left out.
  With heavy diacritics (> 15%: Vietnamese ~30%) it is ``other``.
* Other scripts map to ``ko``, ``ar``, ``hi``, ``th``, ``el``, ``he`` or ``other``;
  text with no letters is ``und``.

CJK characters weigh 3 Latin letters when scripts are compared, roughly their
information content. Latin is also the script of code, URLs and quoted English,
so a non-Latin script with at least 20 weighted letters and 25% of the Latin mass
wins: a Chinese request to grade an English essay is Chinese, a Russian question
about a Python function is Russian. Two rules look at parts of a text, each only for
texts that pass a cheap test:

* Code is left out: fenced blocks (```...```) and inline code (`...`) are removed
  before counting when what remains has letters (texts with a backtick only).
* An instruction is labelled by its language, not by its payload's: a head that ends
  with a colon (``:`` or ``：``) within the first 60 characters and before any line
  break, is not Latin and has 2+ CJK characters (3+ letters of another script), and is
  followed by a Latin payload, decides: the text is counted as the head plus the
  payload's letters of the head's script (``翻译：Have one foot in the grave`` is
  ``zh-Hans``, ``Переведи: ...`` is ``ru``). Latin heads never do (``Question: 我们...``
  stays Chinese). Only texts with Latin and other letters and a colon in their first 61
  characters are looked at.

In a conversation the user and assistant sides are decided apart and together (the
sum of their counts); code is left out of both, the head rule applies to the user side
(instructions are the user's). Measured accuracy is in BENCHMARKS.md.
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
# Letters an instruction head needs in its script: 2 CJK characters, 3 of the others.
_HEAD_MIN_LETTERS = np.array([2 if w == CJK_WEIGHT else 3 for _, _, w in _GROUPS])


def _vocabulary(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Latin-script text is English unless function words of other Latin-script languages
# outnumber English ones (Indonesian, Tagalog, Swahili, diacritic-free French/Spanish/
# German snippets, pinyin...). English words are matched in the lower-cased text, the
# other languages' words where written in lower case: names (Dan, Die Hard, Les
# Misérables, El Niño) are no evidence of Indonesian, German, French or Spanish.
_ENGLISH_QUICK = (" the ", " and ", " of ", " to ", " is ", " you ")
_ENGLISH_WORDS = _vocabulary(
    "the and of to is you in that it for what how are with this can a an my be on your"
    " has have had does do did many much was were will would should could there their they"
    " he she his her him we our us from by or not but if which who why when where than then"
    " them these those each some any been its about into more only i"
)
# Text with diacritics needs distinctive English: words that are not also frequent in
# other Latin-script languages (a, in, on, to, my, be, he, are, was, ... are: Hungarian,
# Czech, Polish, German, Romanian, Spanish).
_ENGLISH_DISTINCT = _ENGLISH_WORDS - _vocabulary(
    "a an in on to my be he her are was will do us by or any more i"
)
_OTHER_WORDS = _vocabulary(
    "de la le les et est une des und der die das ist nicht el los las que y es por il di che"
    " della het een van och att yang dan ini itu untuk ng sa mga na ya kwa ni wo shi bu zai ve"
    " bir ile da ang ay gli sono questo anche molto uma à été très où être ça está qué más"
    " también für über können möchte würde não você é è più perché"
)
# Capitalised, they add to the evidence of lower-case ones at the start of a sentence
# (or line, or list item), unless the same capitalised word also occurs inside a
# sentence: then it is a name ("Dan has two times as many stickers as Tom. ... How many
# stickers does Dan have?"). "La vida es un viaje." is not English.
_OTHER_CAPITALISED = frozenset(w[0].upper() + w[1:] for w in _OTHER_WORDS)
_OTHER_SENTENCE_START = re.compile(
    r"(?:\A|[.!?]\s|\n)[\s\"'“‘(\[*#>•-]*(?:\d{1,3}[.)]\s*)?("
    + "|".join(sorted(_OTHER_CAPITALISED, key=len, reverse=True))
    + r")\b"
)
# Apostrophes do not split words (we've, l'homme): "ve" is also Turkish for "and".
_WORD_SEPARATORS = re.compile(r"[\s.,;:!?()\[\]\"`*_/«»“”‘„-]+")
# Quoted text, in an English instruction often the payload ("Translate "Je suis fatigué"
# into English."), is left out of the test for text with diacritics.
_QUOTED = re.compile(r'"[^"\n]{1,300}"|“[^”\n]{1,300}”|\'\'[^\n]{1,300}?\'\'')
DIACRITICS_LIGHT = 0.02  # share of Latin letters with diacritics above which English must show
DIACRITICS_HEAVY = 0.15  # ... above which the text is not English (Vietnamese ~30%)
PLAIN_MIN_LETTERS = 20  # diacritic-free Latin text shorter than this is English

# Code is left out when deciding: fenced blocks (an unclosed one runs to the end) and
# inline spans, over the first CODE_SCAN_CHARS characters of texts that have a backtick.
_CODE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]+`", re.DOTALL)
CODE_SCAN_CHARS = 16384
# An instruction head ending in a colon within the first HEAD_MAX_CHARS characters.
HEAD_MAX_CHARS = 60


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


def _rows_holding(joined: str, lengths: np.ndarray, char: str) -> list[int]:
    """Which of the consecutive segments (of the given lengths) of ``joined`` hold ``char``:
    one ``str.find`` (memchr) per such segment."""
    rows: list[int] = []
    pos = joined.find(char)
    if pos < 0:
        return rows
    ends = np.cumsum(lengths)
    while pos >= 0:
        row = int(np.searchsorted(ends, pos, side="right"))
        rows.append(row)
        pos = joined.find(char, int(ends[row]))
    return rows


def _count_classes(texts: list[str]) -> tuple[np.ndarray, list[int]]:
    """:func:`count_classes`, and the rows whose counted characters include a backtick."""
    n = len(texts)
    counts = np.zeros((n, N_CLASSES), dtype=np.int64)
    if n == 0:
        return counts, []
    is_ascii = np.fromiter((t.isascii() for t in texts), dtype=bool, count=n)
    plain = np.flatnonzero(is_ascii)
    backticks: list[int] = []
    if len(plain):
        chunk = [texts[i] for i in plain]
        lengths = np.fromiter(map(len, chunk), dtype=np.int64, count=len(chunk))
        joined = "".join(chunk)
        data = np.frombuffer(joined.encode("ascii"), dtype=np.uint8)
        counts[plain, LATIN] = _segment_sums(_ASCII_LETTER[data], lengths)
        backticks += plain[_rows_holding(joined, lengths, "`")].tolist()
    rest = np.flatnonzero(~is_ascii)
    if len(rest) == 0:
        return counts, backticks
    clipped = [texts[i][:MAX_CHARS] for i in rest]
    lengths = np.fromiter(map(len, clipped), dtype=np.int64, count=len(clipped))
    joined = "".join(clipped)
    cps = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    classes = class_table()[np.minimum(cps, LUT_SIZE - 1)]
    rows = np.repeat(np.arange(len(clipped), dtype=np.int64), lengths)
    flat = np.bincount(rows * N_CLASSES + classes, minlength=len(clipped) * N_CLASSES)
    counts[rest] = flat.reshape(len(clipped), N_CLASSES)
    backticks += rest[_rows_holding(joined, lengths, "`")].tolist()
    return counts, backticks


def count_classes(texts: list[str]) -> np.ndarray:
    """Count character classes per text: an int64 matrix of shape (len(texts), N_CLASSES).

    Pure-ASCII texts (``str.isascii`` is O(1)) only hold Latin letters and
    non-letters: their letters are counted over one joined byte buffer. The other
    texts go through the code-point lookup table, their first MAX_CHARS characters.
    """
    return _count_classes(texts)[0]


def _count(words: list[str], vocabulary: frozenset[str]) -> int:
    return sum(map(vocabulary.__contains__, words))


def _other_words(raw: str, words: list[str]) -> int:
    """Function words of other languages in ``raw`` (``words``: its words): in lower
    case, and where there are some, capitalised ones that start a sentence and are not
    names."""
    count = _count(words, _OTHER_WORDS)
    starts = _OTHER_SENTENCE_START.findall(raw) if count else ()
    if starts:
        for word in set(starts):
            k = starts.count(word)
            if words.count(word) <= k:  # not also capitalised inside a sentence
                count += k
    return count


def _words(raw: str) -> list[str]:
    return _WORD_SEPARATORS.sub(" ", raw).split()


def is_english_text(text: str, diacritics: bool = False) -> bool:
    """For Latin text: English unless other languages' function words win.

    ``diacritics``: the text has light diacritics (more than DIACRITICS_LIGHT of its
    letters), and then distinctive English words must outnumber the other words.
    """
    if not diacritics:
        head = " " + text[:1000].lower() + " "
        for word in _ENGLISH_QUICK:  # settles most English texts at once
            if word in head:
                return True
        raw = text[:4000]
        words = _words(raw)
        other = _other_words(raw, words)
        if other < 2:
            return True
        return other <= _count([w.lower() for w in words], _ENGLISH_WORDS)
    raw = _QUOTED.sub(" ", text[:4000])
    words = _words(raw)
    return _count([w.lower() for w in words], _ENGLISH_DISTINCT) > _other_words(raw, words)


# The class columns of each script group are consecutive: groups are summed with one
# np.add.reduceat over the columns (integer arithmetic, no BLAS threads).
_GROUP_STARTS = [cols[0] for _, cols, _ in _GROUPS]
assert [c for _, cols, _ in _GROUPS for c in cols] == list(range(1, N_CLASSES))
_GROUP_WEIGHTS = np.array([w for _, _, w in _GROUPS])
assert _LATIN_GROUP == 0


def _group_counts(counts: np.ndarray) -> np.ndarray:
    """Letters per script group (columns in _GROUPS order), unweighted."""
    return np.add.reduceat(counts, _GROUP_STARTS, axis=1)


def _scripts(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dominant script group of each row, and whether the row has any letter."""
    groups = _group_counts(counts) * _GROUP_WEIGHTS
    dominant = groups.argmax(axis=1)
    # Latin is also the script of code, URLs and quoted English: a substantial other
    # script (>= 20 weighted letters and >= 25% of the Latin mass) is the language.
    others = groups[:, 1:]
    other_group = others.argmax(axis=1)
    other_mass = np.take_along_axis(others, other_group[:, None], axis=1)[:, 0]
    prefer = (other_mass >= MINORITY_MIN) & (other_mass >= MINORITY_SHARE * groups[:, _LATIN_GROUP])
    return np.where(prefer, other_group + 1, dominant), groups[np.arange(len(groups)), dominant] > 0


def _diacritics(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Latin letters per row, and whether they have light or heavy diacritics."""
    latin = counts[:, LATIN] + counts[:, LATIN_EXT]
    light = counts[:, LATIN_EXT] > DIACRITICS_LIGHT * latin
    heavy = counts[:, LATIN_EXT] > DIACRITICS_HEAVY * latin
    return latin, light, heavy


Scripts = tuple[np.ndarray, np.ndarray]  # what _scripts returns, passed on to save work


def english_undecided(counts: np.ndarray, scripts: Scripts | None = None) -> np.ndarray:
    """Rows whose language hinges on the English test: Latin dominant, no heavy
    diacritics, and light diacritics or PLAIN_MIN_LETTERS+ letters."""
    dominant, _ = _scripts(counts) if scripts is None else scripts
    latin, light, heavy = _diacritics(counts)
    return (dominant == _LATIN_GROUP) & ~heavy & (light | (latin >= PLAIN_MIN_LETTERS))


def english_flags(
    texts: list[str], counts: np.ndarray, rows: np.ndarray | None = None
) -> np.ndarray:
    """``is_english_text`` of the given rows (default :func:`english_undecided`), else True."""
    if rows is None:
        rows = english_undecided(counts)
    _, light, _ = _diacritics(counts)
    flags = np.ones(len(texts), dtype=bool)
    idx = np.flatnonzero(rows).tolist()
    strict = light.tolist()
    flags[idx] = [is_english_text(texts[i], strict[i]) for i in idx]
    return flags


def decide(
    counts: np.ndarray, english: np.ndarray, scripts: Scripts | None = None
) -> tuple[list[str], list[str]]:
    """Language and script code for each row of a class-count matrix.

    ``english[i]`` tells whether Latin text ``i`` reads as English; it is only
    looked at for the rows of :func:`english_undecided`.
    """
    dominant, has_letters = _scripts(counts) if scripts is None else scripts
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
    latin, light, heavy = _diacritics(counts)
    tested = light | (latin >= PLAIN_MIN_LETTERS)
    other = latn & (heavy | (tested & ~english))
    lang[latn] = "en"
    lang[other] = OTHER

    lang[~has_letters], script[~has_letters] = UND, "Zyyy"
    return lang.tolist(), script.tolist()


def _without_code(texts: list[str], counts: np.ndarray, rows: list[int]) -> None:
    """Leave code out of the given rows (texts with a backtick) where prose with letters
    remains: ``texts`` and ``counts`` are changed in place."""
    if not rows:
        return
    prose = [_CODE.sub(" ", texts[i][:CODE_SCAN_CHARS]) for i in rows]
    prose_counts = count_classes(prose)
    has_letters = prose_counts[:, NONLETTER + 1 :].sum(axis=1) > 0
    for j in np.flatnonzero(has_letters).tolist():
        texts[rows[j]] = prose[j]
        counts[rows[j]] = prose_counts[j]


def _head_colon(text: str) -> int:
    """Position of the colon that ends an instruction head, or -1."""
    start = text[: HEAD_MAX_CHARS + 1]
    ends = [p for p in (start.find(":"), start.find("：")) if p > 0]
    if not ends:
        return -1
    end = min(ends)
    return -1 if "\n" in start[:end] else end


def _instruction_heads(texts: list[str], counts: np.ndarray) -> np.ndarray:
    """Non-Latin head + colon + Latin payload: the head decides (``texts`` and ``counts``
    are changed in place; the payload's letters of the head's script still count, the
    rest of the payload does not). Returns which rows were changed.

    Only texts with Latin and 2+ other letters and a colon in their first
    HEAD_MAX_CHARS + 1 characters are looked at.
    """
    fired = np.zeros(len(texts), dtype=bool)
    window = HEAD_MAX_CHARS + 1
    latin = counts[:, LATIN] + counts[:, LATIN_EXT]
    non_latin = counts[:, NONLETTER + 1 :].sum(axis=1) - latin
    candidates = [
        i
        for i in np.flatnonzero((latin > 0) & (non_latin >= 2)).tolist()
        if ":" in texts[i][:window] or "：" in texts[i][:window]
    ]
    idx, heads, payloads = [], [], []
    for i in candidates:
        end = _head_colon(texts[i])
        if end > 0:
            idx.append(i)
            heads.append(texts[i][:end])
            payloads.append(texts[i][end + 1 :])
    if not idx:
        return fired
    both = count_classes(heads + payloads)
    head_counts, payload_counts = both[: len(idx)], both[len(idx) :]
    head_script, _ = _scripts(head_counts)
    payload_script, payload_letters = _scripts(payload_counts)
    head_letters = _group_counts(head_counts)[np.arange(len(idx)), head_script]
    use = (
        (head_script != _LATIN_GROUP)
        & (head_letters >= _HEAD_MIN_LETTERS[head_script])
        & (payload_script == _LATIN_GROUP)
        & payload_letters
    )
    for j in np.flatnonzero(use).tolist():
        same_script = list(_GROUPS[head_script[j]][1])
        counts[idx[j]] = head_counts[j]
        counts[idx[j], same_script] += payload_counts[j, same_script]
        texts[idx[j]] = heads[j]
        fired[idx[j]] = True
    return fired


def decision_counts(texts: list[str], heads: bool = True) -> tuple[list[str], np.ndarray]:
    """The text each row is decided on and its class counts: code left out, and (with
    ``heads``) an instruction head in place of an instruction with a Latin payload."""
    texts = list(texts)
    counts, backticks = _count_classes(texts)
    _without_code(texts, counts, backticks)
    if heads:
        _instruction_heads(texts, counts)
    return texts, counts


def detect(texts: list[str]) -> tuple[list[str], list[str]]:
    """Language and script codes for a batch of texts."""
    used, counts = decision_counts(texts)
    scripts = _scripts(counts)
    return decide(counts, english_flags(used, counts, english_undecided(counts, scripts)), scripts)


def detect_conversations(
    user_texts: list[str], assistant_texts: list[str]
) -> tuple[list[str], list[str], list[str], list[str]]:
    """Per conversation: language overall, of the user side, of the assistant side, and script.

    ``user_texts[i]`` and ``assistant_texts[i]`` are the concatenated user and
    assistant turns of conversation ``i`` (system prompts are left out: they are
    boilerplate and often in another language than the conversation). Code is left out
    of both sides; on the user side an instruction head stands in for an instruction
    with a Latin payload. The conversation's counts are the sum of the two sides'.
    """
    n = len(user_texts)
    used, counts = decision_counts(user_texts + assistant_texts, heads=False)
    user_used, assistant_used = used[:n], used[n:]
    user_counts, assistant_counts = counts[:n], counts[n:]
    _instruction_heads(user_used, user_counts)  # instructions are the user's
    both_counts = user_counts + assistant_counts
    scripts_user, scripts_assistant = _scripts(user_counts), _scripts(assistant_counts)
    scripts_both = _scripts(both_counts)
    need_user = english_undecided(user_counts, scripts_user)
    need_assistant = english_undecided(assistant_counts, scripts_assistant)
    english_user = english_flags(user_used, user_counts, need_user)
    english_assistant = english_flags(assistant_used, assistant_counts, need_assistant)
    # The whole conversation: both sides agree (the usual case), or test the two together.
    english_both = english_user & english_assistant
    agreed = need_user & need_assistant & (english_user == english_assistant)
    recheck = np.flatnonzero(english_undecided(both_counts, scripts_both) & ~agreed).tolist()
    _, light_both, _ = _diacritics(both_counts)
    english_both[recheck] = [
        is_english_text(user_used[i][:2000] + "\n" + assistant_used[i][:2000], light_both[i])
        for i in recheck
    ]
    lang_user, _ = decide(user_counts, english_user, scripts_user)
    lang_assistant, _ = decide(assistant_counts, english_assistant, scripts_assistant)
    lang, script = decide(both_counts, english_both, scripts_both)
    return lang, lang_user, lang_assistant, script
