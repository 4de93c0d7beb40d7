"""Shared by the 1M-row benchmarks: fragments of real text per language from
../shared/data, and a fast hashing embedder that stands in for a real one.

``text_banks()`` gives fragments (paragraphs of answers, instructions, sentences of
Wikipedia paragraphs) per language from files that the decontamination benchmark does
not draw its items from: Alpaca-52K from item 12,000 on (en), its Chinese translation
from item 12,345 on (zh-Hans), DRCD *test* paragraphs (zh-Hant), rulm's Saiga answers
(ru). Synthetic conversations stitched from them have the n-gram and vector statistics
of real text.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from curate.embed.embedders import Embedder

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


class HashEmbedder(Embedder):
    """Character 2-3-grams hashed to 16,384 features, weighted log(1 + tf) x idf (document
    frequencies from the pool's text banks), projected to 512 dimensions. Unweighted, the
    common character pairs of a language put every two texts at cosine ~0.45; weighted,
    unrelated texts sit near 0.06 (p99.9 0.33), as with a real embedder."""

    name = "bench-hash"
    dim = 512
    features = 2**14

    def load(self) -> None:
        from sklearn.feature_extraction.text import HashingVectorizer

        self.vectorizer = HashingVectorizer(
            analyzer="char_wb", ngram_range=(2, 3), n_features=self.features,
            alternate_sign=False, norm=None, dtype=np.float32,
        )  # fmt: skip
        sample = [t for bank in text_banks().values() for t in bank[::10]]
        counts = self.vectorizer.transform(sample)
        df = np.bincount(counts.indices, minlength=self.features)
        self.idf = np.log((1 + len(sample)) / (1 + df)).astype(np.float32)
        rng = np.random.default_rng(0)
        self.projection = rng.standard_normal((self.features, self.dim)).astype(np.float32)

    def _encode(self, texts: list[str]) -> np.ndarray:
        counts = self.vectorizer.transform(texts)
        counts.data = np.log1p(counts.data) * self.idf[counts.indices]
        return np.asarray(counts @ self.projection)

    def identity(self) -> dict:
        return {
            "embedder": self.name,
            "features": self.features,
            "dim": self.dim,
            "idf": "banks/10",
        }


def register_hash_embedder() -> None:
    from curate.embed import embedders

    embedders.PRESETS[HashEmbedder.name] = HashEmbedder


def _strings(value, minimum: int = 20) -> list[str]:
    """Every string of at least ``minimum`` characters inside a JSON value."""
    if isinstance(value, str):
        return [value] if len(value) >= minimum else []
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return [s for v in value for s in _strings(v, minimum)]
    return []


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


@lru_cache(maxsize=1)
def text_banks() -> dict[str, list[str]]:
    """Fragments of real text per language, from files the benchmark does not draw on."""
    alpaca = json.loads((DATA / "alpaca_52k_en/alpaca_data_52k_en.json").read_text())
    en = [s for r in alpaca[12_000:] for s in _strings(r)]
    zh_hans = []
    for path in sorted((DATA / "alpaca_zh_translated_hikariming/translated_chunks").glob("*.json")):
        start = int(re.match(r"alpaca_data-(\d+)-", path.name).group(1))
        if start >= 12_000:  # past the English items the benchmark takes
            zh_hans += [s for r in json.loads(path.read_text()) for s in _strings(r, 8)]
    drcd = json.loads((DATA / "drcd_zh_tw/DRCD_test.json").read_text())
    zh_hant = [
        s + "。"
        for doc in drcd["data"]
        for p in doc["paragraphs"]
        for s in p["context"].split("。")
        if len(s) >= 12
    ]
    ru = []
    for name in ("saicuna_vs_vicuna.jsonl", "user_saiga13b_answers.jsonl", "honey.jsonl"):
        ru += [s for r in _jsonl(DATA / "rulm_ru" / name) for s in _strings(r)]
    # long answers become several fragments, so that rows recombine them
    split = lambda texts: [p for t in texts for p in re.split(r"\n{2,}", t) if len(p) >= 8]  # noqa: E731
    return {"en": split(en), "zh-Hans": split(zh_hans), "zh-Hant": zh_hant, "ru": split(ru)}
