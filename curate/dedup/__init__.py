"""``curate dedup``: near-duplicate groups and the member to keep (see :mod:`curate.dedup.stage`).

The defaults live here, free of heavy imports, so that the CLI can show them.
"""

# Cosine thresholds for the default embedder (multilingual USE), chosen on the
# labelled sets in BENCHMARKS.md: 0.9 within a language; 0.8 across languages or
# scripts, where a translation of the same text typically scores 0.75-0.9 and an
# unrelated text under 0.6.
DEFAULT_THRESHOLD = 0.9
DEFAULT_CROSS_LINGUAL_THRESHOLD = 0.8
