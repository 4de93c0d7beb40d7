"""``curate decontaminate``: script folding, the n-gram index, the stage on planted
benchmark items from ../shared/data, resume, determinism, and select leaving marked rows out."""

import json
from pathlib import Path

import numpy as np
import opencc
import pytest
from click.testing import CliRunner

from curate import names
from curate.cli import cli
from curate.decontaminate.ngrams import NgramIndex, NgramSpec
from curate.decontaminate.stage import DecontaminateOptions, Matcher, run_decontaminate
from curate.decontaminate.tokens import fold_text, tokenize
from curate.embed.stage import EmbedOptions, run_embed
from curate.ingest.pipeline import IngestOptions, Ingestor
from curate.select.stage import SelectOptions, run_select
from curate.store import Store
from curate.testing.scores import write_scores
from tests.conftest import write_jsonl

DATA = Path(__file__).resolve().parents[4] / "shared" / "data"
SPEC = NgramSpec(word_n=8, word_min=5, cjk_n=10, cjk_min=6)
TW = "請你寫一篇關於夏威夷旅行的部落格文章，重點介紹文化體驗和必看景點，並說明為什麼這些景點值得一去。"


def overlaps(items, rows, minimum=0.01):
    hits = NgramIndex(tokenize(items), SPEC).overlaps(tokenize(rows), minimum)
    return {
        (int(r), int(s)): round(float(o), 3)
        for r, s, o in zip(hits.rows, hits.segments, hits.overlap)
    }


def test_traditional_and_simplified_fold_to_the_same_tokens():
    simplified = opencc.OpenCC("tw2s").convert(TW)
    back = opencc.OpenCC("s2tw").convert(simplified)
    assert simplified != TW
    assert fold_text(TW) == fold_text(simplified) == fold_text(back)
    assert fold_text("ＰＹＴＨＯＮ Ёлка") == "python елка"
    a, b = tokenize([TW]), tokenize([simplified])
    assert np.array_equal(a.cjk.hashes, b.cjk.hashes) and len(a.cjk) == 45


def test_overlap_of_copies_conversions_and_quotes():
    item = (
        "Compose an engaging travel blog post about a recent trip to Hawaii, highlighting culture."
    )
    rows = [
        item.upper().replace(",", " ;"),  # other case and punctuation
        f"My teacher asked: «{item}» Could you help me write it?",  # quoted in a longer prompt
        opencc.OpenCC("tw2s").convert(TW),
        "Compose an engaging travel blog post about a recent trip",  # half of it
        "Write a poem about the sea and the moon and the stars above the quiet town.",
    ]
    got = overlaps([item, TW, "Hi there"], rows)
    assert got[(0, 0)] == 1.0 and got[(1, 0)] == 1.0 and got[(2, 1)] == 1.0
    assert 0.2 < got[(3, 0)] < 0.5
    assert not any(r == 4 for r, _ in got)
    index = NgramIndex(tokenize([item, TW, "Hi there"]), SPEC)
    assert index.matchable().tolist() == [True, True, False]  # 2 words: left to embeddings


def test_windows_never_span_two_rows_and_short_segments_use_short_windows():
    item = "one two three four five six seven eight nine ten"
    # the item cut in two rows: no window crosses the boundary, so neither row holds it all
    got = overlaps([item, "alpha beta gamma delta epsilon"], [
        "one two three four five", "six seven eight nine ten", "say alpha beta gamma delta epsilon now",
    ])  # fmt: skip
    assert got.get((0, 0), 0) < 0.5 and got.get((1, 0), 0) < 0.5
    assert got[(2, 1)] == 1.0  # 5 words: windows of word_min


def test_a_generic_phrase_or_a_list_of_numbers_is_no_match():
    """Half of a six-word prompt's two windows is one stock phrase; numbers are no words."""
    short = "What are the benefits of exercising?"  # two 5-grams
    numbers = "let array = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];"
    code = "def is_prime(n): return n > 1 and all(n % i for i in range(2, n))"
    rows = [
        "What are the benefits of owning a cat?",  # shares one of the two windows
        "Count: 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11.",
        f"Is this right? {short}",
        f"Please review: {code}",
    ]
    got = overlaps([short, numbers, code], rows, minimum=0.5)
    assert (0, 0) not in got and (1, 1) not in got
    assert got[(2, 0)] == 1.0 and got[(3, 2)] == 1.0
    index = NgramIndex(tokenize([short, numbers, code]), SPEC)
    assert index.matchable().tolist() == [True, False, True]  # numbers: left to embeddings
    loose = NgramIndex(tokenize([short]), NgramSpec(8, 5, 10, 6, min_shared=1))
    assert len(loose.overlaps(tokenize(rows[:1]), 0.5)) == 1  # what min_shared prevents


def test_a_short_reference_answer_is_no_item_but_a_long_one_is():
    name = "富蘭克林德拉諾羅斯福"  # a DRCD answer span: 10 characters, one window
    phrase = "I'm so hungry I could eat a horse."  # 8 words
    answer = "The capital of France is Paris, which is also its largest city and home to the Louvre."
    segments = [name, phrase, answer, name]
    index = NgramIndex(tokenize(segments), SPEC, references=np.array([True, True, True, False]))
    assert index.matchable().tolist() == [False, False, True, True]  # the same span as a prompt
    hits = index.overlaps(tokenize([f"他提到{name}的新政。", phrase, answer]), 0.5)
    assert sorted(zip(hits.rows.tolist(), hits.segments.tolist())) == [(0, 3), (2, 2)]


def _store(tmp_path, records, name="store"):
    write_jsonl(tmp_path / f"{name}.jsonl", records)
    Ingestor(
        [str(tmp_path / f"{name}.jsonl")], tmp_path / name, IngestOptions(shard_size=7), workers=0
    ).run()
    return Store.open(tmp_path / name)


BENCH = [
    {"question_id": 7, "turns": ["How do I bake sourdough bread at home in a normal oven?"]},
    {"question_id": 8, "turns": [TW]},
]


def _pool(n=30):
    records = []
    for i in range(n):
        q = f"Question {i}: how many legs does a spider have, and why do insects have six?"
        if i % 5 == 0:
            q = f"Please help. {BENCH[0]['turns'][0]} Thanks ({i})"
        if i % 7 == 0:
            q = opencc.OpenCC("tw2s").convert(TW) + f"（{i}）"
        records.append(
            {
                "messages": [
                    {"role": "user", "content": q},
                    {"role": "assistant", "content": f"Answer {i}."},
                ]
            }
        )
    return records


def test_stage_marks_rows_resumes_and_is_deterministic(tmp_path, monkeypatch):
    bench = tmp_path / "question.jsonl"
    write_jsonl(bench, BENCH)
    options = DecontaminateOptions(against=(str(bench),), methods="ngram", chunk_rows=3)
    clean = _store(tmp_path, _pool(), "clean")
    result = run_decontaminate(clean, options)
    table = clean.read(columns=["id"], sidecars=[names.DECONTAMINATE]).to_pylist()
    marked = [i for i, r in enumerate(table) if r["contaminated"]]
    assert marked == [i for i in range(30) if i % 5 == 0 or i % 7 == 0]
    assert table[7]["contam_method"] == "ngram-cjk" and table[7]["contam_item"] == "8"
    assert table[5]["contam_method"] == "ngram-word" and table[5]["contam_item"] == "7"
    assert table[5]["contam_part"] == "prompt" and table[5]["contam_overlap"] == 1.0
    assert result.counts["contaminated"] == len(marked) and result.counts["items_matched"] == 2
    assert not table[1]["contaminated"] and table[1]["contam_item"] is None

    # killed after two chunks, then run again: the same sidecar as an uninterrupted run
    killed = _store(tmp_path, _pool(), "killed")
    calls = {"n": 0}
    real = Matcher.match

    def dying(self, shard):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(self, shard)

    monkeypatch.setattr(Matcher, "match", dying)
    with pytest.raises(KeyboardInterrupt):
        run_decontaminate(killed, options)
    monkeypatch.setattr(Matcher, "match", real)
    run_decontaminate(killed, options)
    again = killed.read(columns=["id"], sidecars=[names.DECONTAMINATE])
    assert again.equals(clean.read(columns=["id"], sidecars=[names.DECONTAMINATE]))
    assert run_decontaminate(killed, options).already_done


def test_select_leaves_contaminated_rows_out(tmp_path):
    from curate.tag.stage import run_cluster_tag
    from taggers.cluster import ClusterParams

    bench = tmp_path / "question.jsonl"
    write_jsonl(bench, BENCH)
    st = _store(tmp_path, _pool())
    run_embed(st, EmbedOptions(mode="user"))
    run_cluster_tag(st, ClusterParams(clusters=2))
    write_scores(st, "fake", list(range(st.num_rows())))
    out = CliRunner().invoke(
        cli, ["decontaminate", str(st.root), "--against", str(bench), "--show", "2"]
    )
    assert out.exit_code == 0, out.output
    assert "contaminated" in out.output
    marked = set(st.read(columns=["id"], sidecars=[names.DECONTAMINATE]).filter(
        st.read(columns=["id"], sidecars=[names.DECONTAMINATE]).column("contaminated")
    ).column("id").to_pylist())  # fmt: skip
    assert len(marked) == 10
    result = run_select(st, SelectOptions(per_tag=30), tmp_path / "subset")
    chosen = [json.loads(line)["id"] for line in (tmp_path / "subset" / "subset.jsonl").open()]
    assert result.report["excluded"]["contaminated"] == 10 and not marked & set(chosen)
    assert result.report["decontamination"] == "applied"
    kept = run_select(st, SelectOptions(per_tag=30, include_contaminated=True), tmp_path / "all")
    assert kept.report["decontamination"] == "ignored (--include-contaminated)"
    assert kept.selected > result.selected


def test_bad_inputs_are_one_red_line(tmp_path):
    st = _store(tmp_path, _pool(3))
    for args, says in (
        ([], "--against"),
        (["--against", str(tmp_path / "missing.jsonl")], "input not found"),
        (["--against", str(tmp_path), "--methods", "ngram,magic"], "--methods"),
    ):
        out = CliRunner().invoke(cli, ["decontaminate", str(st.root), *args])
        assert out.exit_code != 0 and says in str(out.exception) + out.output


@pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data is missing")
def test_planted_benchmark_items_are_found_with_few_false_positives(tmp_path):
    """Items of MT-Bench, the Taiwan bench, the prompt list and DRCD planted into LIMA."""
    from curate.testing.contamination import plant

    experiment = plant(DATA, tmp_path / "planted", half=1)["A"]
    pool = [str(DATA / "lima_en/lima.json"), str(experiment.pool_files[-1])]
    Ingestor(pool, tmp_path / "pool", IngestOptions(), workers=0).run()
    st = Store.open(tmp_path / "pool")
    run_embed(st, EmbedOptions(mode="user", max_chars=400))
    against = tuple(map(str, experiment.benchmarks))
    run_decontaminate(st, DecontaminateOptions(against=against))
    table = st.read(columns=["meta"], sidecars=[names.DECONTAMINATE]).to_pylist()
    found, planted, unrelated, flagged = {}, {}, 0, 0
    for row in table:
        meta = json.loads(row["meta"]) if row["meta"] else {}
        kind = meta.get("plant_kind")
        if kind is None:
            unrelated += 1
            flagged += row["contaminated"]
            continue
        planted[kind] = planted.get(kind, 0) + 1
        found[kind] = found.get(kind, 0) + (row["contam_item"] == meta["plant_item"])
    recall = {k: found[k] / planted[k] for k in planted}
    for kind in ("exact", "s2tw", "tw2s", "quoted", "rewrite_zh_tw"):
        assert recall[kind] >= 0.95, recall
    assert recall["translation"] >= 0.4, recall
    assert unrelated > 1000 and flagged / unrelated <= 0.005
