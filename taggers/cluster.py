"""The offline tagger: k-means clusters of conversation embeddings, named by c-TF-IDF.

For a machine without an LLM (a fresh CPU machine, no download): conversations
are grouped by their cached embeddings (``curate embed``; multilingual, with
Traditional Chinese folded to Simplified, so one cluster spans en, ru, zh-Hans
and zh-Hant), and each cluster is named by its most distinctive terms, class-based
TF-IDF as in BERTopic: a term's share of the cluster's words, times
``log(1 + A / f)`` with ``A`` the mean number of words per cluster and ``f`` the
term's count over all clusters. Terms: words of two or more letters for
alphabetic scripts (English and Russian stop words removed), character bigrams
for Chinese (no segmenter needed; Traditional folded to Simplified first). The
naming text is the user turns: the intent lives in what was asked.

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
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from curate.plugins import Plugin, Requirement

WORD = re.compile(r"[^\W\d_]{2,}")
HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "but",
        "by",
        "can",
        "could",
        "do",
        "does",
        "did",
        "for",
        "from",
        "had",
        "has",
        "have",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "me",
        "my",
        "no",
        "not",
        "of",
        "on",
        "or",
        "our",
        "please",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "us",
        "was",
        "we",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "write",
        "give",
        "make",
        "tell",
        "explain",
        "describe",
        "also",
        "about",
        "any",
        "all",
        "more",
        "most",
        "other",
        "use",
        "using",
        "one",
        "two",
        "like",
        "just",
        "get",
        "each",
        "should",
        "may",
        "might",
        "must",
        "shall",
        "very",
        "here",
        "been",
        "being",
        "over",
        "under",
        "between",
        "after",
        "before",
        "want",
        "think",
        "know",
        "need",
        "way",
        "someone",
        "something",
        "thing",
        "things",
        "good",
        "best",
        "help",
        "say",
        "said",
        "going",
        "got",
        "и",
        "в",
        "во",
        "не",
        "что",
        "он",
        "на",
        "я",
        "с",
        "со",
        "как",
        "а",
        "то",
        "все",
        "она",
        "так",
        "его",
        "но",
        "да",
        "ты",
        "к",
        "у",
        "же",
        "вы",
        "за",
        "бы",
        "по",
        "только",
        "ее",
        "мне",
        "было",
        "вот",
        "от",
        "меня",
        "еще",
        "нет",
        "о",
        "из",
        "ему",
        "теперь",
        "когда",
        "даже",
        "ну",
        "вдруг",
        "ли",
        "если",
        "уже",
        "или",
        "ни",
        "быть",
        "был",
        "него",
        "до",
        "вас",
        "нибудь",
        "опять",
        "уж",
        "вам",
        "ведь",
        "там",
        "потом",
        "себя",
        "ничего",
        "ей",
        "может",
        "они",
        "тут",
        "где",
        "есть",
        "надо",
        "ней",
        "для",
        "мы",
        "тебя",
        "их",
        "чем",
        "была",
        "сам",
        "чтоб",
        "без",
        "будто",
        "чего",
        "раз",
        "тоже",
        "себе",
        "под",
        "будет",
        "ж",
        "тогда",
        "кто",
        "этот",
        "того",
        "потому",
        "этого",
        "какой",
        "совсем",
        "ним",
        "здесь",
        "этом",
        "один",
        "почти",
        "мой",
        "тем",
        "чтобы",
        "нее",
        "сейчас",
        "были",
        "куда",
        "зачем",
        "всех",
        "никогда",
        "можно",
        "при",
        "наконец",
        "два",
        "об",
        "другой",
        "хоть",
        "после",
        "над",
        "больше",
        "тот",
        "через",
        "эти",
        "нас",
        "про",
        "всего",
        "них",
        "какая",
        "много",
        "разве",
        "три",
        "эту",
        "моя",
        "впрочем",
        "хорошо",
        "свою",
        "этой",
        "перед",
        "иногда",
        "лучше",
        "чуть",
        "том",
        "нельзя",
        "такой",
        "им",
        "более",
        "всегда",
        "конечно",
        "всю",
        "между",
        "это",
        "как",
        "какие",
        "напишите",
        "напиши",
        "расскажите",
        "объясните",
    ]
)


@dataclass(frozen=True)
class ClusterParams:
    """Parameters of the cluster tagger (all recorded in the manifest)."""

    clusters: int | None = None  # None: one per ~200 conversations, 2..4096
    iterations: int = 25
    restarts: int = 3  # k-means runs from different random starts; the best is kept
    seed: int = 0
    name_terms: int = 3

    def params(self) -> dict[str, Any]:
        return asdict(self)


def auto_clusters(n: int) -> int:
    return max(2, min(4096, round(n / 200)))


def kmeans(
    vectors: np.ndarray, k: int, iterations: int, seed: int, restarts: int = 3
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spherical k-means (FAISS): labels, cosine to the own centroid, centroids."""
    from curate.dedup.search import faiss_module

    faiss = faiss_module()
    n, d = vectors.shape
    k = max(1, min(k, n))
    model = faiss.Kmeans(
        d,
        k,
        niter=iterations,
        nredo=restarts,
        seed=seed,
        spherical=True,
        max_points_per_centroid=256,
        min_points_per_centroid=1,
        verbose=False,
    )
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(n, size=min(n, k * 256), replace=False))
    model.train(np.ascontiguousarray(vectors[sample]))
    index = faiss.IndexFlatIP(d)
    index.add(model.centroids)
    similarity, labels = index.search(np.ascontiguousarray(vectors), 1)
    return labels[:, 0].astype(np.int32), similarity[:, 0].astype(np.float32), model.centroids


# function characters: a bigram holding one is rarely a content word (的过, 你的, 如果 ...)
HAN_FUNCTION = frozenset(
    "的了是在和与也就都而及或个这那你我他她它吗呢吧请么什如果怎样会把被为以之其所可能要有让将从对"
)


def terms(text: str) -> list[str]:
    """Words (alphabetic scripts, stop words removed) and Chinese content bigrams."""
    text = text.lower()
    out = [w for w in WORD.findall(HAN_RUN.sub(" ", text)) if w not in STOP_WORDS]
    for run in HAN_RUN.findall(text):
        out.extend(
            run[i : i + 2]
            for i in range(len(run) - 1)
            if run[i] not in HAN_FUNCTION and run[i + 1] not in HAN_FUNCTION
        )
    return out


def name_clusters(
    texts: Sequence[str], labels: np.ndarray, k: int, top: int = 3
) -> tuple[list[str], list[list[str]]]:
    """Cluster names from c-TF-IDF top terms (unique), and the top terms themselves."""
    from scipy import sparse
    from sklearn.feature_extraction.text import CountVectorizer

    from curate.embed.text import fold_scripts_batch

    vectorizer = CountVectorizer(analyzer=terms, min_df=1)
    counts = vectorizer.fit_transform(fold_scripts_batch(list(texts)))
    vocabulary = vectorizer.get_feature_names_out()
    onehot = sparse.csr_matrix(
        (np.ones(len(labels), dtype=np.float64), (labels, np.arange(len(labels)))),
        shape=(k, len(labels)),
    )
    per_cluster = (onehot @ counts).tocsr()
    words = np.asarray(per_cluster.sum(axis=1)).ravel()
    total = np.asarray(per_cluster.sum(axis=0)).ravel()
    average = words.sum() / max(k, 1)
    idf = np.log1p(average / np.maximum(total, 1))
    names, tops = [], []
    for c in range(k):
        start, end = per_cluster.indptr[c], per_cluster.indptr[c + 1]
        idx, tf = per_cluster.indices[start:end], per_cluster.data[start:end]
        score = tf / max(words[c], 1) * idf[idx]
        order = np.lexsort((vocabulary[idx], -score))[: top * 4]  # best first, ties by term
        best = pick_terms([str(vocabulary[idx[i]]) for i in order], top)
        tops.append(best)
        names.append(" / ".join(best) if best else f"cluster {c}")
    seen: dict[str, int] = {}
    for name in names:
        seen[name] = seen.get(name, 0) + 1
    names = [
        f"{n} #{c}" if seen[n] > 1 or n.startswith("cluster ") else n for c, n in enumerate(names)
    ]
    return names, tops


def pick_terms(candidates: Sequence[str], top: int) -> list[str]:
    """The first ``top`` terms, skipping Chinese bigrams that overlap one already taken.

    Bigrams slide over words: 气候变化 gives 气候, 候变, 变化; once 气候 is in a
    name, 候变 adds nothing but noise.
    """
    taken: list[str] = []
    chars: set[str] = set()
    for term in candidates:
        han = HAN_RUN.fullmatch(term) is not None
        if han and chars & set(term):
            continue
        taken.append(term)
        if han:
            chars |= set(term)
        if len(taken) == top:
            break
    return taken


def user_text(messages: Sequence[dict[str, Any]], limit: int = 1000) -> str:
    """The user turns, each cut to ``limit`` characters: what naming reads."""
    return "\n".join(m["content"][:limit] for m in messages if m["role"] == "user")


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


class ClusterTagger(Plugin):
    """k-means on the conversation embeddings, clusters named by c-TF-IDF (the module docstring)."""

    kind = "taggers"
    name = "cluster"
    reads = ("messages",)
    #: also reads the vectors of this embedding mode (a sidecar ``embed.<embedder>.conversation``)
    embeddings = "conversation"
    Params = ClusterParams
    requires = (
        Requirement("faiss", "pip install 'curate[cpu]' (FAISS; 'curate[gpu]' on CUDA machines)"),
        Requirement("sklearn", "pip install scikit-learn"),
        Requirement("scipy", "pip install scipy"),
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
        self, conversations: Sequence[Sequence[dict[str, Any]]], vectors: np.ndarray
    ) -> ClusterTags:
        """Cluster ``vectors`` (one per conversation, in order) and name the clusters by the user turns."""
        params = self.settings
        n = len(vectors)
        k = params.clusters or auto_clusters(n)
        labels, similarity, _ = kmeans(vectors, k, params.iterations, params.seed, params.restarts)
        k = int(labels.max()) + 1 if n else 0
        texts = [user_text(m) for m in conversations]
        tag_names, tops = name_clusters(texts, labels, k, params.name_terms)
        tag_of = np.asarray(tag_names, dtype=object)[labels] if n else np.array([], dtype=object)
        sizes = np.bincount(labels, minlength=k) if n else np.zeros(0, dtype=int)
        tag_table = sorted(
            (
                {"tag": tag_names[c], "cluster": c, "count": int(sizes[c]), "terms": tops[c]}
                for c in range(k)
            ),
            key=lambda r: (-r["count"], r["tag"]),
        )
        columns = {
            "tags": pa.array([[t] for t in tag_of], pa.list_(pa.string())),
            "tag_primary": pa.array(list(tag_of), pa.string()),
            "tag_cluster": pa.array(labels, pa.int32()),
            "tag_similarity": pa.array(similarity, pa.float32()),
        }
        return ClusterTags(columns, k, tag_table)
