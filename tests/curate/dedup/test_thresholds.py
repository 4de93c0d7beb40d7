import numpy as np
import pytest

from curate.dedup.search import Pairs
from curate.dedup.stage import LastExchanges, pair_thresholds, require_last_match


def test_cross_lingual_pairs_get_their_own_threshold():
    pairs = Pairs(np.array([0, 0, 1, 2, 3]), np.array([1, 2, 3, 3, 4]), np.ones(5, np.float32))
    langs = np.array(["en", "ru", "other", "zh-Hant", "zh-Hans"], dtype=object)
    need = pair_thresholds(pairs, langs, 0.9, 0.8)
    # en-ru and ru-zh-Hant cross languages; anything with "other" does not; Hant-Hans crosses scripts.
    assert need.tolist() == np.array([0.8, 0.9, 0.8, 0.9, 0.8], dtype=np.float32).tolist()
    assert pair_thresholds(pairs, langs, 0.9, None).tolist() == [np.float32(0.9)] * 5


def test_multi_turn_pairs_must_also_match_on_the_last_exchange():
    e = np.eye(4, dtype=np.float32)
    vectors = np.stack(
        [e[0], e[0], e[0], e[1]]
    )  # rows 0, 1, 2 identical conversations (by their full text)
    last = LastExchanges(
        rows=np.array([0, 1, 2]), vectors=np.stack([e[2], e[2], e[3]])
    )  # row 2 ends differently
    pairs = Pairs(np.array([0, 0, 1]), np.array([1, 2, 2]), np.ones(3, np.float32))
    kept = require_last_match(pairs, vectors, last, np.array([0.9, 0.9, 0.9], np.float32))
    assert list(zip(kept.i.tolist(), kept.j.tolist())) == [(0, 1)]


def test_thresholds_per_language_pair():
    from curate.dedup.languages import CrossLingual

    cross = CrossLingual.parse("ru/en=0.82, zh-Hans/zh-Hant=0.8, ru/zh=0.83, *=0.875")
    assert cross.spec() == "en/ru=0.82,ru/zh=0.83,zh-Hans/zh-Hant=0.8,*=0.875"
    assert CrossLingual.parse(cross.spec()) == cross
    assert cross.threshold("en", "ru") == cross.threshold("ru", "en") == 0.82
    assert cross.threshold("zh-Hant", "zh-Hans") == 0.8  # exact codes
    assert cross.threshold("ru", "zh-Hant") == 0.83  # by base language
    assert cross.threshold("en", "zh-Hans") == 0.875  # not listed: the fallback
    # not crossing: same code, undetermined, or zh without a script against zh-Hans
    assert cross.threshold("ru", "ru") is None
    assert cross.threshold("ru", "und") is None and cross.threshold("other", "en") is None
    assert cross.threshold("zh", "zh-Hans") is None
    assert CrossLingual.parse(0.8) == CrossLingual.parse("0.8") == CrossLingual(0.8)
    assert CrossLingual.parse(0.8).spec() == "0.8"

    pairs = Pairs(
        np.array([0, 0, 1, 2, 3, 4]), np.array([1, 2, 3, 3, 4, 5]), np.ones(6, np.float32)
    )
    langs = np.array(["en", "ru", "other", "zh-Hant", "zh-Hans", "zh"], dtype=object)
    need = pair_thresholds(pairs, langs, 0.9, cross)
    expected = [0.82, 0.9, 0.83, 0.9, 0.8, 0.9]
    assert need.tolist() == np.array(expected, dtype=np.float32).tolist()


@pytest.mark.parametrize(
    "spec, message",
    [
        ("high", "a threshold is a number"),
        ("1.5", r"in \(0, 1\]"),
        ("en/ru=0.8", r"\*=T"),
        ("en=0.8,*=0.9", "two different language codes"),
        ("en/en=0.8,*=0.9", "two different language codes"),
        ("en/ru=x,*=0.9", "a threshold is a number"),
        ("en/ru,*=0.9", "LANG/LANG=T"),
    ],
)
def test_bad_cross_lingual_thresholds_say_what_to_write(spec, message):
    from curate.dedup.languages import CrossLingual
    from curate.errors import CurateError

    with pytest.raises(CurateError, match=message) as info:
        CrossLingual.parse(spec)
    assert "e.g. en/ru=" in str(info.value)


def test_the_default_is_per_pair_and_valid():
    from curate.dedup import DEFAULT_CROSS_LINGUAL_THRESHOLD
    from curate.dedup.languages import CrossLingual

    default = CrossLingual.parse(DEFAULT_CROSS_LINGUAL_THRESHOLD)
    assert default.spec() == DEFAULT_CROSS_LINGUAL_THRESHOLD  # written canonically
    # script variants keep most of their wording: a lower bar than translations
    assert default.threshold("zh-Hans", "zh-Hant") < default.threshold("en", "zh-Hans")
