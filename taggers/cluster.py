"""The offline tagger: k-means clusters of what users ask, named by c-TF-IDF.

For a machine without an LLM (a fresh CPU machine, no download): conversations
are grouped by the cached embeddings of their user turns (``curate embed --text
user``, embedded when missing; multilingual, with
Traditional Chinese folded to Simplified, so one cluster spans en, ru, zh-Hans
and zh-Hant), and each cluster is named by its most distinctive terms, class-based
TF-IDF as in BERTopic: a term's share of the cluster's terms, times
``log(1 + A / f)`` with ``A`` the mean number of terms per cluster and ``f`` the
term's count over all clusters. A term counts once per distinct text of a cluster (one
long chat repeating a word, or one prompt answered by ten models, does not name its
cluster), and a name's terms are in at least two of the cluster's distinct texts where it
has five or more.

Terms (:func:`terms`): words of two or more letters for alphabetic scripts, whole
words for Chinese, cut by jieba's dictionary (``rjieba``, imported only when a text
holds Chinese; Traditional folded to Simplified first) and kept when jieba tags them
as content words. Stop words, markup, chat-template tokens and the words of prompt
templates never count (:mod:`taggers.stopwords`). English and Russian words count by
their Snowball stem (model, models; фильм, фильма) and are shown in their most
frequent form in the cluster; a Chinese word inside another one already in the name
(智能 after 人工智能) is skipped. The naming text is the user turns: the intent lives
in what was asked.

Every conversation gets exactly one tag, its cluster's name (unique: a repeated
name gets ``#<cluster>``), so it counts toward exactly one bucket.

:class:`ClusterTagger` is the plugin (``curate.plugins.load("taggers", "cluster")``):
its batch method :meth:`ClusterTagger.tag` takes every conversation and its vector
at once (the clustering is global) and returns the sidecar's columns and the tag
table; :func:`curate.tag.stage.run_cluster_tag` declares the stage around it.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pyarrow as pa

from curate.kmeans import kmeans
from curate.plugins import Plugin, Requirement
from curate.store.turns import turns_of
from taggers.stopwords import STOP_WORDS

WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")  # letters, with inner apostrophes (don't)
TOKEN = re.compile(r"\w{2,}")  # the fallback's tokens: letters, digits, underscores
HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
CYRILLIC = re.compile(r"[\u0400-\u04ff]")
LATIN = re.compile(r"[a-z]")
#: markup and chat-template tokens, cut out before words are read
MARKUP = re.compile(
    r"(?:https?://|www\.)\S+"  # URLs
    r"|<\|[^|<>\n]{0,40}\|>"  # <|im_start|>, <|endoftext|>, <|Human|>
    r"|\[/?inst\]|<</?sys>>"  # Llama 2
    r"|</?[a-z][\w:-]*(?:\s[^<>\n]{0,200})?/?>"  # HTML tags, <eoh>, </s>
    r"|&#?\w{1,10};"  # character entities
)
MAX_WORD = 24  # longer runs of letters are identifiers, hashes or base64, not names
#: jieba part-of-speech tags whose words may name a cluster (by first letter): nouns (n, nr,
#: ns, nz ...), verbs (v, vn), adjectives (a, an), distinguishing words (b), idioms (i),
#: abbreviations (j), set phrases (l), places (s), descriptives (z). Numerals and measure
#: words (一些, 一首), pronouns, prepositions, conjunctions, particles, adverbs, locatives
#: (以下) and time words never do.
HAN_CONTENT = frozenset("nvabijlsz")
NAMING_VERSION = 3  # how clusters are named; part of the tag sidecar's parameters
MIN_SUPPORT = 2  # a name's term is in at least this many of the cluster's conversations ...
SUPPORTED_FROM = 5  # ... in clusters of at least this many


@dataclass(frozen=True)
class ClusterParams:
    """Parameters of the cluster tagger (all recorded in the manifest)."""

    clusters: int | None = None  # None: one per ~200 conversations, 2..4096
    method: str = "auto"  # curate.kmeans: flat up to 256 clusters, two-level above
    iterations: int = 25
    restarts: int = 3  # k-means runs from different random starts; the best is kept
    seed: int = 0
    name_terms: int = 3

    def params(self) -> dict[str, Any]:
        # naming 2: words (rjieba for Chinese), stop words and markup left out; 3: a
        # cluster without words is named by its other tokens (w12_3, emoji); a store
        # named by an earlier version is rebuilt with --overwrite, never mixed silently
        return {**asdict(self), "naming": NAMING_VERSION}


def auto_clusters(n: int) -> int:
    return max(2, min(4096, round(n / 200)))


@lru_cache(maxsize=1)
def _segmenter() -> Any:
    """rjieba (jieba's dictionary and HMM, in Rust), imported at the first Chinese text only."""
    import rjieba

    return rjieba


@lru_cache(maxsize=2)
def _stemmer(language: str) -> Any:
    import snowballstemmer

    return snowballstemmer.stemmer(language)


def chinese_words(text: str) -> list[str]:
    """The content words of the Chinese in ``text``, cut by jieba: whole words, never fragments.

    Kept: words of jieba's dictionary with two or more characters tagged as content
    (:data:`HAN_CONTENT`), and one-character nouns (书, 猫, 诗). Dropped: stop words,
    prompt-template words, and what jieba's HMM joins from characters its dictionary
    does not know (后化雪时, 那契 from 斐波那契): mostly fragments, sometimes a new word
    (推文) that the name then goes without.
    """
    runs = HAN_RUN.findall(text)
    if not runs:
        return []
    out = []
    for word, flag in _segmenter().tag(" ".join(runs)):
        if word in STOP_WORDS or not HAN_RUN.fullmatch(word):
            continue
        if len(word) == 1:
            keep = flag == "n"
        else:  # zg: a bound morpheme; words jieba's HMM made up (时冷, 那契) are no names
            keep = flag[:1] in HAN_CONTENT and flag != "zg" and in_dictionary(word)
        if keep:
            out.append(word)
    return out


@lru_cache(maxsize=1 << 16)
def in_dictionary(word: str) -> bool:
    return bool(_segmenter().has_word(word))


def terms(text: str) -> list[str]:
    """Words that may name a cluster, in order: no stop words, no markup, Chinese segmented.

    Alphabetic scripts: runs of two or more letters (possessive 's dropped); Chinese:
    :func:`chinese_words` (the segmenter is only imported for a text with Chinese in it).
    """
    text = MARKUP.sub(" ", text.lower())
    out = []
    for word in WORD.findall(HAN_RUN.sub(" ", text)):
        word = word.replace("’", "'")
        if word.endswith("'s"):
            word = word[:-2]
        if 2 <= len(word) <= MAX_WORD and word not in STOP_WORDS:
            out.append(word)
    if HAN_RUN.search(text):
        out.extend(chinese_words(text))
    return out


def term_key(word: str) -> str:
    """What counts as the same term: the Snowball stem of an English or Russian word (model,
    models -> model; фильм, фильма -> фильм), any other word as it is."""
    if CYRILLIC.search(word):
        return _stemmer("russian").stemWord(word)
    if LATIN.match(word):
        return _stemmer("english").stemWord(word)
    return word


def name_clusters(
    texts: Sequence[str], labels: np.ndarray, k: int, top: int = 3
) -> tuple[list[str], list[list[str]]]:
    """Cluster names from c-TF-IDF top terms (unique), and the top terms themselves.

    A term is a stem (:func:`term_key`) counted once per distinct text of a cluster; it is
    shown as its most frequent form in the cluster. Terms found in fewer than
    :data:`MIN_SUPPORT` of a cluster's distinct texts only name it when nothing else does.
    A cluster with no word at all (code, numbers, identifiers such as ``w12_3``, emoji) is
    named from those tokens (:func:`fallback_terms`); only one with none of them either is
    ``cluster <n>``.
    """
    from curate.embed.text import fold_scripts_batch

    # each distinct text once per cluster: a prompt asked again (other answers, other
    # models) is one more conversation, not one more piece of evidence
    rows: dict[tuple[int, str], int] = {}
    for label, text in zip(np.asarray(labels).tolist(), fold_scripts_batch(list(texts))):
        rows.setdefault((label, text), len(rows))
    distinct = [text for _, text in rows]
    labels = np.fromiter((label for label, _ in rows), dtype=np.int64, count=len(rows))
    tops = top_terms(distinct, labels, k, top, terms)
    if not all(tops):
        fallback = top_terms(distinct, labels, k, top, fallback_terms)
        tops = [best or fallback[c] for c, best in enumerate(tops)]
    names = [" / ".join(best) if best else f"cluster {c}" for c, best in enumerate(tops)]
    seen: dict[str, int] = {}
    for name in names:
        seen[name] = seen.get(name, 0) + 1
    names = [
        f"{n} #{c}" if seen[n] > 1 or n.startswith("cluster ") else n for c, n in enumerate(names)
    ]
    return names, tops


def top_terms(
    distinct: Sequence[str], labels: np.ndarray, k: int, top: int, analyzer: Any
) -> list[list[str]]:
    """Per cluster, its ``top`` c-TF-IDF terms of ``analyzer`` (empty: it has none)."""
    from scipy import sparse
    from sklearn.feature_extraction.text import CountVectorizer

    vectorizer = CountVectorizer(analyzer=analyzer, binary=True)
    try:
        docs = vectorizer.fit_transform(distinct).tocsr()
    except ValueError:  # scikit-learn's "empty vocabulary": not one term in any text
        return [[] for _ in range(k)]
    surfaces = vectorizer.get_feature_names_out()
    keys, key_of = np.unique([term_key(str(s)) for s in surfaces], return_inverse=True)
    merge = sparse.csr_matrix(
        (np.ones(len(surfaces)), (np.arange(len(surfaces)), key_of)),
        shape=(len(surfaces), len(keys)),
    )
    per_doc = (docs @ merge).tocsr()
    per_doc.data = np.minimum(per_doc.data, 1)  # a stem once per text
    onehot = sparse.csr_matrix(
        (np.ones(len(labels)), (labels, np.arange(len(labels)))), shape=(k, len(labels))
    )
    per_cluster = (onehot @ per_doc).tocsr()
    forms = (onehot @ docs).tocsr()  # cluster x surface form, for what a stem is shown as
    sizes = np.bincount(labels, minlength=k)
    words = np.asarray(per_cluster.sum(axis=1)).ravel()
    total = np.asarray(per_cluster.sum(axis=0)).ravel()
    average = words.sum() / max(k, 1)
    idf = np.log1p(average / np.maximum(total, 1))
    tops = []
    for c in range(k):
        start, end = per_cluster.indptr[c], per_cluster.indptr[c + 1]
        idx, tf = per_cluster.indices[start:end], per_cluster.data[start:end]
        score = tf / max(words[c], 1) * idf[idx]
        supported = (tf >= MIN_SUPPORT) | (sizes[c] < SUPPORTED_FROM)
        if supported.any():  # else the cluster's conversations share no term at all
            idx, score = idx[supported], score[supported]
        order = np.lexsort((keys[idx], -score))  # best first, ties by stem
        shown = shown_forms(forms, c, key_of, surfaces)
        tops.append(pick_terms([shown[int(idx[i])] for i in order[: top * 8]], top))
    return tops


def fallback_terms(text: str) -> list[str]:
    """What names a cluster that has no word: tokens of letters, digits and underscores
    (``w12_3``, ``0x1f``, ``2024``) that are not stop words, and symbols such as emoji."""
    text = MARKUP.sub(" ", text.lower())
    out = [t for t in TOKEN.findall(text) if len(t) <= MAX_WORD and t not in STOP_WORDS]
    return out + [ch for ch in text if ord(ch) > 0x2000 and unicodedata.category(ch) == "So"]


def shown_forms(forms: Any, c: int, key_of: np.ndarray, surfaces: np.ndarray) -> dict[int, str]:
    """For each stem in cluster ``c``: its form in most of the cluster's conversations (ties:
    the shorter, then the first in order)."""
    start, end = forms.indptr[c], forms.indptr[c + 1]
    best: dict[int, tuple[float, int, str]] = {}
    for j, count in zip(forms.indices[start:end], forms.data[start:end]):
        form = str(surfaces[j])
        rank = (-float(count), len(form), form)
        key = int(key_of[j])
        if key not in best or rank < best[key]:
            best[key] = rank
    return {key: rank[2] for key, rank in best.items()}


def pick_terms(candidates: Sequence[str], top: int) -> list[str]:
    """The first ``top`` terms, skipping one that repeats a term already taken.

    Repeats: a Chinese word inside one already taken or holding one (人工智能 and
    智能 are one topic said twice; 学生 and 学习 share a character but are two words,
    and both stay), and a word whose stem starts with the stem of one already taken or
    is its start, for stems of five or more letters (history, historical; музыки,
    музыкальной; model and models share their stem already).
    """
    taken: list[str] = []
    stems: list[str] = []
    for term in candidates:
        if term in taken:
            continue
        if HAN_RUN.fullmatch(term):
            if any(term in t or t in term for t in taken):
                continue
            stem = ""
        else:
            stem = term_key(term)
            if any(same_stem(stem, s) for s in stems):
                continue
        taken.append(term)
        stems.append(stem)
        if len(taken) == top:
            break
    return taken


def same_stem(a: str, b: str) -> bool:
    """Whether stems ``a`` and ``b`` name one thing: equal, or one starts the other (5+ letters)."""
    return a == b or (min(len(a), len(b)) >= 5 and (a.startswith(b) or b.startswith(a)))


def user_text(messages: Sequence[dict[str, Any]], limit: int = 1000) -> str:
    """The user turns, each cut to ``limit`` characters: what naming reads."""
    return "\n".join(m["content"][:limit] for m in messages if m["role"] == "user")


def user_texts(messages: pa.Array | pa.ChunkedArray, limit: int = 1000) -> list[str]:
    """:func:`user_text` of every row of a ``messages`` column, in Arrow: only the user turns
    become Python strings (a million whole conversations as dicts cost gigabytes)."""
    return turns_of(messages).with_role("user").cut(limit).joined("\n").to_pylist()


def purity(labels: np.ndarray, truth: Sequence[Any]) -> float:
    """Share of rows whose cluster's majority label is their own."""
    truth = np.asarray(truth)
    hits = 0
    for c in np.unique(labels):
        _, counts = np.unique(truth[labels == c], return_counts=True)
        hits += counts.max()
    return hits / len(truth) if len(truth) else math.nan


@dataclass
class ClusterTags:
    """What :meth:`ClusterTagger.tag` returns: the sidecar's columns, in order, and the tag table."""

    columns: dict[str, pa.Array]
    clusters: int
    tag_table: list[dict[str, Any]]
    method: str = "flat"  # the k-means method :func:`curate.kmeans.kmeans` used


class ClusterTagger(Plugin):
    """k-means on the embeddings of what users ask, clusters named by c-TF-IDF (the module docstring)."""

    kind = "taggers"
    name = "cluster"
    reads = ("messages",)
    #: also reads the vectors of this embedding mode (a sidecar ``embed.<embedder>.user``):
    #: the user turns, i.e. what is asked. They follow labelled categories better than whole
    #: conversations (NMI +0.06 on MT-Bench en/ru + zh_tw_bench, +0.075 on the Chinese
    #: category files: BENCHMARKS.md, "Which embedded text clusters best"), and every answer
    #: to one prompt lands in the same cluster, so the answers of a prompt group compete in
    #: one tag. The cost is a second embed pass beside the ``conversation`` one dedup reads
    #: (about half of it at the README's 400 characters).
    embeddings = "user"
    Params = ClusterParams
    requires = (
        Requirement("faiss", "pip install 'curate[cpu]' (FAISS; 'curate[gpu]' on CUDA machines)"),
        Requirement("sklearn", "pip install scikit-learn"),
        Requirement("scipy", "pip install scipy"),
        Requirement("rjieba", "pip install rjieba"),
        Requirement("snowballstemmer", "pip install snowballstemmer"),
    )

    def __init__(self, params: ClusterParams | None = None):
        self.settings = params or ClusterParams()

    def params(self) -> dict[str, Any]:
        return self.settings.params()

    def schema(self) -> pa.Schema:
        return pa.schema(
            [
                ("tags", pa.list_(pa.string())),
                ("tag_primary", pa.string()),
                ("tag_cluster", pa.int32()),
                ("tag_similarity", pa.float32()),
            ]
        )

    def tag(
        self,
        conversations: Sequence[Sequence[dict[str, Any]]] | pa.Array | pa.ChunkedArray,
        vectors: np.ndarray,
    ) -> ClusterTags:
        """Cluster ``vectors`` (one per conversation, in order) and name the clusters by the user turns."""
        return self.tag_texts(self.naming_texts(conversations), vectors)

    def naming_texts(
        self, conversations: Sequence[Sequence[dict[str, Any]]] | pa.Array | pa.ChunkedArray
    ) -> list[str]:
        """What names the clusters: each conversation's user turns (:func:`user_text`). A
        stage calls it shard by shard, so no whole messages column is ever held."""
        if isinstance(conversations, pa.ChunkedArray):
            return [t for chunk in conversations.chunks for t in user_texts(chunk)]
        if isinstance(conversations, pa.Array):  # a store's messages column
            return user_texts(conversations)
        return [user_text(m) for m in conversations]

    def tag_texts(self, texts: Sequence[str], vectors: np.ndarray) -> ClusterTags:
        """Cluster ``vectors`` and name the clusters from ``texts`` (:meth:`naming_texts`)."""
        params = self.settings
        n = len(vectors)
        k = params.clusters or auto_clusters(n)
        clustering = kmeans(
            vectors, k, params.iterations, params.seed, params.restarts, params.method
        )
        labels, similarity, k = clustering.labels, clustering.similarity, clustering.k
        tag_names, tops = name_clusters(texts, labels, k, params.name_terms)
        sizes = np.bincount(labels, minlength=k) if n else np.zeros(0, dtype=int)
        tag_table = sorted(
            (
                {"tag": tag_names[c], "cluster": c, "count": int(sizes[c]), "terms": tops[c]}
                for c in range(k)
            ),
            key=lambda r: (-r["count"], r["tag"]),
        )
        primary = pa.array(tag_names, pa.string()).take(pa.array(labels))
        columns = {
            "tags": pa.ListArray.from_arrays(pa.array(np.arange(n + 1, dtype=np.int32)), primary),
            "tag_primary": primary,
            "tag_cluster": pa.array(labels, pa.int32()),
            "tag_similarity": pa.array(similarity, pa.float32()),
        }
        return ClusterTags(columns, k, tag_table, clustering.method)
