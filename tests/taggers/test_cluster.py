"""The offline cluster tagger: terms, naming, k-means, the stage, and real labelled questions."""

import json

import numpy as np
import pytest

from curate.errors import StageConflict
from curate.ingest.pipeline import IngestOptions, Ingestor
from curate.kmeans import kmeans
from curate.store import Store
from curate.tag.stage import find_tags, run_cluster_tag, tag_table_of
from taggers.cluster import ClusterParams, name_clusters, purity, terms
from tests.conftest import parquet_digests, write_jsonl


def test_terms_drop_stop_words_and_markup_and_cut_chinese_into_words():
    assert terms("How do I bake the bread?") == ["bake", "bread"]
    assert terms("Как испечь хлеб дома?") == ["испечь", "хлеб", "дома"]
    assert terms("请推荐一些关于历史的书籍") == ["推荐", "历史", "书籍"]  # 请/一些/关于/的 dropped
    assert terms("烤面包的方法") == ["烤面包"]  # one word, not 烤面 + 面包
    assert terms("推荐一些书") == ["推荐", "书"]  # a one-character noun stays; never 荐一 or 些书
    marked = (
        "<|im_start|>user\n[INST] <<SYS>> Write the following &quot;bread&quot;<br>recipe "
        "&nbsp;<eoh> see https://example.com/bread.html it's children's [/INST]"
    )
    assert terms(marked) == ["bread", "recipe", "children"]


def test_kmeans_finds_planted_clusters():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 32))
    labels_true = np.repeat(np.arange(3), 50)
    vectors = centres[labels_true] + 0.05 * rng.normal(size=(150, 32))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    result = kmeans(vectors, 3, 20, seed=0)
    assert purity(result.labels, labels_true) == 1.0
    assert result.similarity.min() > 0.9 and result.centroids.shape == (3, 32)


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


def test_stage_reads_shard_by_shard_what_the_tagger_reads_whole_and_records_the_method(
    store, tmp_path
):
    """The stage cuts the user turns out of each shard (never every messages column at once);
    the sidecar equals the plugin's own batch method on the whole column, and the manifest
    records which k-means ran."""
    import shutil

    from curate import plugins
    from curate.embed.stage import read_vectors

    small = Store.open(shutil.copytree(store.root, tmp_path / "small"))
    result = run_cluster_tag(small, ClusterParams(clusters=6, method="two-level"))
    manifest = result.manifest
    assert manifest["clustering"] == "two-level" and manifest["params"]["method"] == "two-level"
    tagger = plugins.load("taggers", "cluster")(ClusterParams(clusters=6, method="two-level"))
    whole = tagger.tag(
        small.read(columns=["messages"]).column("messages"),
        read_vectors(small, manifest["params"]["embeddings"]),
    )
    written = small.read(columns=["id"], sidecars=[result.name])
    for column in ("tags", "tag_primary", "tag_cluster"):
        assert written.column(column).to_pylist() == whole.columns[column].to_pylist()


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
    labels = kmeans(embedder.encode(texts), 8, 25, seed=0).labels
    assert nmi(categories, labels) > 0.4
    together = np.mean([labels[i] == labels[80 + i] for i in range(80)])
    assert together > 0.8  # the English and Russian versions of a question share a cluster


def test_a_name_never_says_a_term_twice():
    from taggers.cluster import pick_terms

    assert pick_terms(["人工智能", "智能", "学生", "学习"], 3) == ["人工智能", "学生", "学习"]
    assert pick_terms(["history", "historical", "war", "wars"], 3) == ["history", "war"]
    assert pick_terms(["музыки", "музыкальной", "концерт"], 2) == ["музыки", "концерт"]
    other = ["ocean", "river", "lake", "pond", "sea", "bay", "delta", "creek", "stream", "brook"]
    other += ["lagoon", "fjord"]
    texts = [f"{'models' if i < 7 else 'model'} {w}" for i, w in enumerate(other)]
    texts += [f"bake bread {w}" for w in other]
    names, tops = name_clusters(texts, np.array([0] * 12 + [1] * 12), 2, top=3)
    assert tops[0] == ["models"]  # one term, in its most frequent form; the others are in 1 of 12
    assert names[1] == "bake / bread"


BOOKS = [
    "推荐一些书",
    "请推荐一些好看的书",
    "推荐一些关于历史的书籍",
    "你能推荐几本科幻小说吗",
    "推荐一些适合孩子读的书籍",
    "请给我推荐一些经典的书",
]
WEATHER = [
    "明天北京的天气怎么样",
    "上海今天会下雨吗",
    "这周末的天气预报",
    "广州的天气热不热",
    "下雨天出门要带伞吗",
    "北京冬天的天气冷吗",
]


def test_chinese_names_are_whole_words():
    from taggers.cluster import HAN_RUN

    names, tops = name_clusters(BOOKS + WEATHER, np.array([0] * 6 + [1] * 6), 2, top=3)
    assert tops[0][:2] == ["推荐", "书"] and "天气" in tops[1]
    words = {"推荐", "书", "书籍", "历史", "科幻小说", "孩子", "经典", "好看", "适合"}
    words |= {"天气", "北京", "上海", "广州", "下雨", "天气预报", "周末", "出门", "冬天", "伞"}
    assert all(t in words for top in tops for t in top), tops
    # character bigrams across word boundaries, what the old naming was made of (本科 is a
    # word, but not in 几本科幻小说), and the measure word 一些
    fragments = {"荐一", "些书", "荐几", "几本", "本科", "气怎", "京的", "天的", "一些"}
    assert not any(f in name for f in fragments for name in names), names
    assert all(HAN_RUN.fullmatch(t) for t in tops[0])


TEMPLATED = {
    "bread": [
        "Write a recipe for the following bread.<br>&nbsp;Input: &quot;sourdough bread&quot;",
        "<|im_start|>user\nGiven the following, write how to bake bread at home<|im_end|>",
        "[INST] <<SYS>> You are helpful <</SYS>> Please write a bread recipe [/INST]",
        "<eoh> Write the following: bake bread with flour. See http://bread.example.com/x.html",
        "Напишите следующий рецепт: хлеб на закваске, хлеб домашний <br>",
        "请以下写一个面包的做法，面包要松软&nbsp;",
    ],
    "python": [
        "Write the following Python function <br> to sort a list &quot;fast&quot;",
        "<|im_start|>user\nGiven a python list, write code to sort it<|im_end|>",
        "[INST] <<SYS>> sys <</SYS>> Write python code that sorts numbers [/INST]",
        "<eoh> Write the following python sort, see https://docs.python.org/sort.html",
        "Напишите следующий код на Python: сортировка списка <br>",
        "请以下写一个 python 排序程序&nbsp;",
    ],
}
MARKUP_AND_TEMPLATE = {
    "br", "nbsp", "quot", "http", "https", "html", "com", "www", "im_start", "im_end", "im",
    "inst", "sys", "eoh", "following", "given", "write", "input", "please", "напишите",
    "следующий", "请", "以下", "一个", "写", "user", "helpful",
}  # fmt: skip


def test_stop_words_markup_and_templates_never_name_a_cluster():
    from taggers.stopwords import STOP_WORDS

    texts = [t for topic in TEMPLATED.values() for t in topic]
    names, tops = name_clusters(texts, np.array([0] * 6 + [1] * 6), 2, top=4)
    terms_used = {t for top in tops for t in top}
    assert not terms_used & (MARKUP_AND_TEMPLATE | STOP_WORDS), tops
    assert "bread" in tops[0] and "python" in tops[1]
    assert "/" not in "".join(terms_used) and "<" not in "".join(terms_used)


NAMING = """
import json, sys
import numpy as np
from taggers.cluster import name_clusters
texts = json.loads(sys.stdin.read())
names, _ = name_clusters(texts, np.arange(len(texts)) % 3, 3)
print(json.dumps({"names": names, "segmenter": "rjieba" in sys.modules}))
"""


def run_naming(texts: list[str], hash_seed: str = "0") -> dict:
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(root)}
    out = subprocess.run(
        [sys.executable, "-c", NAMING], input=json.dumps(texts), capture_output=True, text=True,
        env=env, cwd=root, check=True, timeout=120,
    )  # fmt: skip
    return json.loads(out.stdout)


def test_names_are_deterministic():
    texts = [t for topic in TEMPLATED.values() for t in topic] + BOOKS + WEATHER
    labels = np.arange(len(texts)) % 3
    first = name_clusters(texts, labels, 3)
    assert name_clusters(list(texts), labels.copy(), 3) == first
    # ties between equally scored terms are broken by the term, not by hash order
    tied, _ = name_clusters(["zeta alpha", "alpha zeta"], np.array([0, 0]), 1, top=2)
    assert tied == ["alpha / zeta"]
    runs = [run_naming(texts, seed)["names"] for seed in ("1", "2")]
    assert runs[0] == runs[1] == first[0]


def test_naming_without_chinese_does_not_import_the_segmenter():
    from taggers.cluster import HAN_RUN

    latin = [t for topic in TEMPLATED.values() for t in topic if not HAN_RUN.search(t)]
    assert run_naming(latin)["segmenter"] is False
    assert run_naming(latin + BOOKS)["segmenter"] is True


def test_a_pool_without_nameable_words_still_gets_clusters_with_names(tmp_path):
    """Stop words and identifiers with digits only: scikit-learn finds an empty vocabulary."""
    records = [
        {"messages": [
            {"role": "user", "content": f"the w{i % 4}_3 and of it {i} {'😀' if i % 2 else '🚀'}"},
            {"role": "assistant", "content": "ok"},
        ]}
        for i in range(80)
    ]  # fmt: skip
    write_jsonl(tmp_path / "in.jsonl", records)
    Ingestor([str(tmp_path / "in.jsonl")], tmp_path / "s", IngestOptions(), workers=0).run()
    store = Store.open(tmp_path / "s")
    result = run_cluster_tag(store, ClusterParams(clusters=4))
    names = [r["tag"] for r in tag_table_of(result)]
    assert result.rows == 80 and len(names) == 4
    assert not any(n.startswith("cluster ") for n in names)  # named by w0_3, emoji, ...
    assert any("w" in n and "_3" in n for n in names)
    assert name_clusters(["the and of"] * 3, np.zeros(3, int), 1)[0] == ["cluster 0 #0"]


def test_user_texts_in_arrow_are_user_text_of_every_row():
    import pyarrow as pa

    from taggers.cluster import user_text, user_texts

    rows = [
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "請問" * 700},
         {"role": "assistant", "content": "好"}, {"role": "user", "content": "Ещё 😀"}],
        [{"role": "assistant", "content": "no user turn"}],
        [],
        [{"role": "user", "content": "one"}],
    ]  # fmt: skip
    column = pa.chunked_array([pa.array(rows[:2]), pa.array(rows[2:])])
    expected = [user_text(m) for m in rows]
    assert user_texts(column) == expected and len(expected[0]) == 1000 + 1 + 5
    assert user_texts(pa.array(rows).slice(1, 3)) == expected[1:4]  # a slice's own rows
