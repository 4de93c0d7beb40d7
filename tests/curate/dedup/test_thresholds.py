import numpy as np

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
