"""``curate decontaminate``: the benchmark items each pool row copies, converts, translates
or quotes (see :mod:`curate.decontaminate.stage`).

The defaults live here, free of heavy imports, so that the CLI can show them. Each was
chosen by measurement on benchmark items planted into a pool from ../shared/data
(``python benchmarks/bench_decontaminate.py``, results in BENCHMARKS.md).
"""

#: word n-grams (Latin, Cyrillic, ...): windows of WORD_N tokens; a segment of
#: WORD_MIN..WORD_N-1 tokens gives its windows of WORD_MIN; a shorter one none
WORD_N = 8
WORD_MIN = 5
#: character n-grams of CJK text (Han folded to one script), likewise
CJK_N = 10
CJK_MIN = 6
#: the share of a segment's n-grams a row must hold to count as contaminated
MIN_OVERLAP = 0.5
#: ...and at least this many of them (all, for a segment with fewer): one shared 5-gram
#: of a six-word prompt is a stock phrase ("what are the benefits of"), not a copy
MIN_SHARED = 3
#: cosine thresholds of the embedding method (the pool's embedder and text mode)
THRESHOLD = 0.9
CROSS_LINGUAL_THRESHOLD = "en/ru=0.825,en/zh=0.875,ru/zh=0.825,zh-Hans/zh-Hant=0.8,*=0.875"
#: the ratio margin (curate.decontaminate.vectors.Margin) at or above which a pair is a
#: match whatever its cosine (translations); 0 turns it off; neighbours below the floor
#: count as the floor
MARGIN = 1.4
MARGIN_FLOOR = 0.5
METHODS = ("ngram", "embedding")
