"""The offline cluster tagger: terms, naming, k-means, the stage, and real labelled questions."""

import json

import numpy as np
import pytest

from curate.errors import StageConflict
from curate.ingest.pipeline import IngestOptions, Ingestor
from curate.store import Store
from curate.tag.stage import find_tags, run_cluster_tag, tag_table_of
from taggers.cluster import ClusterParams, kmeans, name_clusters, purity, terms
from tests.conftest import parquet_digests, write_jsonl


def test_terms_drop_stop_words_and_split_chinese_into_content_bigrams():
    assert terms("How do I bake the bread?") == ["bake", "bread"]
    assert terms("Как испечь хлеб дома?") == ["испечь", "хлеб", "дома"]
    assert terms("烤面包的方法") == [
        "烤面",
        "面包",
        "方法",
    ]  # 包的 / 的方 hold a function character


def test_kmeans_finds_planted_clusters():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 32))
    labels_true = np.repeat(np.arange(3), 50)
    vectors = centres[labels_true] + 0.05 * rng.normal(size=(150, 32))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    labels, similarity, centroids = kmeans(vectors, 3, 20, seed=0)
    assert purity(labels, labels_true) == 1.0
    assert similarity.min() > 0.9 and centroids.shape == (3, 32)


def test_names_are_distinctive_and_unique():
    texts = [
        "bake bread with flour",
        "bread dough and flour",
        "python list sort",
        "sort a python dict",
    ]
    names, tops = name_clusters(texts, np.array([0, 0, 1, 1]), 2, top=2)
    assert set(tops[0]) == {"bread", "flour"} and set(tops[1]) == {"python", "sort"}
    same, _ = name_clusters(["bread", "bread"], np.array([0, 1]), 2, top=1)
    assert same == ["bread #0", "bread #1"]


TOPICS = {
    "bread": [
        "How do I bake sourdough bread at home?",
        "What flour is best for baking bread?",
        "Как испечь хлеб на закваске дома?",
        "如何在家烤面包？",
        "如何在家烤麵包？",
    ],
    "python": [
        "How do I sort a list in Python?",
        "Write a Python function that reverses a string.",
        "Как отсортировать список в Python?",
        "如何用 Python 排序列表？",
        "如何用 Python 排序串列？",
    ],
}


@pytest.fixture
def store(tmp_path):
    records = [
        {
            "messages": [
                {"role": "user", "content": f"{q} ({i})"},
                {"role": "assistant", "content": "..."},
            ]
        }
        for i in range(6)
        for qs in TOPICS.values()
        for q in qs
    ]
    write_jsonl(tmp_path / "in.jsonl", records)
    Ingestor(
        [str(tmp_path / "in.jsonl")], tmp_path / "store", IngestOptions(shard_size=25), workers=0
    ).run()
    return Store.open(tmp_path / "store")


def test_stage_tags_every_conversation_once_and_deterministically(store, tmp_path):
    import shutil

    twin = Store.open(shutil.copytree(store.root, tmp_path / "twin"))
    result = run_cluster_tag(store, ClusterParams(clusters=2))
    assert result.rows == 60 and sum(r["count"] for r in tag_table_of(result)) == 60
    table = store.read(columns=["id", "messages"], sidecars=[result.name])
    tags = table.column("tags").to_pylist()
    assert all(len(t) == 1 for t in tags)
    assert table.column("tag_primary").to_pylist() == [t[0] for t in tags]
    by_topic = {}
    for messages, t in zip(table.column("messages").to_pylist(), tags):
        topic = "python" if "python" in messages[0]["content"].lower() else "bread"
        by_topic.setdefault(topic, set()).add(t[0])
    assert all(len(v) == 1 for v in by_topic.values())  # en, ru, zh-Hans, zh-Hant together
    assert by_topic["bread"] != by_topic["python"]
    assert "python" in next(iter(by_topic["python"]))
    run_cluster_tag(twin, ClusterParams(clusters=2))
    digests = {k: v for k, v in parquet_digests(store.root).items() if "tag.cluster" in k}
    twins = {k: v for k, v in parquet_digests(twin.root).items() if "tag.cluster" in k}
    assert digests == twins and digests
    assert run_cluster_tag(store, ClusterParams(clusters=2)).already_done
    with pytest.raises(StageConflict):
        run_cluster_tag(store, ClusterParams(clusters=3))
    assert find_tags(store) == "tag.cluster"


def test_cli_tag_and_tags(store):
    from click.testing import CliRunner

    from curate.cli import cli

    runner = CliRunner()
    out = runner.invoke(cli, ["tag", str(store.root), "--clusters", "2"])
    assert out.exit_code == 0, out.output
    assert "tag.cluster: 60 conversations, 2 tags" in " ".join(out.output.split())
    shown = runner.invoke(cli, ["tags", str(store.root), "--json", "--examples", "2"])
    table = json.loads(shown.output)
    assert table["sidecar"] == "tag.cluster" and len(table["tags"]) == 2
    assert all(len(r["examples"]) == 2 and r["count"] == 30 for r in table["tags"])
    assert runner.invoke(cli, ["tags", str(store.root)]).exit_code == 0


def test_mixed_language_questions_cluster_by_intent(shared_data):
    from sklearn.metrics import normalized_mutual_info_score as nmi

    from curate.embed.embedders import resolve

    texts, categories = [], []
    for path in ("mtbench_en/question.jsonl", "mtbench_ru/question_ru.jsonl"):
        for line in (shared_data / path).read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            texts.append("\n".join(record["turns"]))
            categories.append(record["category"])
    embedder = resolve(None)
    embedder.load()
    labels, _, _ = kmeans(embedder.encode(texts), 8, 25, seed=0)
    assert nmi(categories, labels) > 0.4
    together = np.mean([labels[i] == labels[80 + i] for i in range(80)])
    assert together > 0.8  # the English and Russian versions of a question share a cluster


def test_overlapping_chinese_bigrams_are_not_repeated_in_a_name():
    from taggers.cluster import pick_terms

    assert pick_terms(["气候", "候变", "变化", "climate", "全球"], 3) == ["气候", "变化", "climate"]
