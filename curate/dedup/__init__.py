"""``curate dedup``: near-duplicate groups and the member to keep (see :mod:`curate.dedup.stage`).

The defaults live here, free of heavy imports, so that the CLI can show them.
"""

# Cosine thresholds for the default embedder (multilingual USE), chosen on the
# labelled sets in BENCHMARKS.md. 0.9 within a language. Across languages or scripts,
# per pair: for each measured pair (and for every other pair, "*") the lowest threshold
# at which each of its translation-pair sets in ../shared/data keeps precision >= 0.99
# against distractors of both languages (`python benchmarks/bench_crosslingual.py
# --check`, rule in curate.dedup.calibration). A script variant (zh-Hans/zh-Hant) keeps
# most of its wording and scores ~0.94; a translation ~0.8 (ru/en, zh/en); tasks built on
# one template score as high across languages, so a lower bar merges those too. ru/zh was
# measured on ru/zh-Hant; en/zh on zh-Hans/en. Syntax: curate.dedup.languages.
DEFAULT_THRESHOLD = 0.9
DEFAULT_CROSS_LINGUAL_THRESHOLD = "en/ru=0.825,en/zh=0.875,ru/zh=0.825,zh-Hans/zh-Hant=0.8,*=0.875"
