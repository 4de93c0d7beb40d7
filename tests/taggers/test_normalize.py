"""Tag normalisation: each step on hand-made tags with known outcomes, the pipeline, the TSV."""

from __future__ import annotations

import random
from dataclasses import asdict

import numpy as np
import pytest

from taggers.normalize import (
    NormalizeParams,
    TagMapping,
    aggregate_association,
    aggregate_rules,
    aggregate_semantic,
    association_targets,
    build_table,
    clean_tag,
    filter_frequency,
    leader_clusters,
    normalize_tags,
    rule_key,
    scaled_min_count,
)


def repeat(tags: list[str], times: int) -> list[list[str]]:
    return [list(tags) for _ in range(times)]


def fates(table) -> dict[str, str | None]:
    """raw tag -> current canonical name (None: dropped)."""
    return table.to_mapping().canonical


def table_embed(vectors: dict[str, list[float]]):
    """An embed function from a hand-written dict (rows normalised by the step)."""

    def embed(names: list[str]) -> np.ndarray:
        return np.array([vectors[name] for name in names], dtype=np.float32)

    return embed


def angle(degrees: float) -> list[float]:
    return [float(np.cos(np.radians(degrees))), float(np.sin(np.radians(degrees)))]


# ------------------------------------------------------------------ step 1: rules


def test_rule_key_merges_case_separators_and_inflections():
    variants = ["Code-Generation", "code generation", "code generations", "CODE_GENERATION"]
    assert len({rule_key(v) for v in variants}) == 1
    assert rule_key("  Code   Generation!! ") == rule_key("code generation")
    assert rule_key("ｃｏｄｅ generation") == rule_key("code generation")  # NFKC full width
    assert rule_key("debugging code") == rule_key("debug codes")
    assert rule_key("mathematics") != rule_key("math")  # a synonym, not a spelling: step 3


def test_clean_tag_keeps_words_and_meaningful_symbols():
    assert clean_tag("Code-Generation") == "code generation"
    assert clean_tag("data_analysis/visualization") == "data analysis visualization"
    assert clean_tag("C++ Programming") == "c++ programming"
    assert clean_tag("C# development") == "c# development"
    assert clean_tag("#hashtag") == "hashtag"
    assert clean_tag("children’s stories") == "children's stories"
    assert clean_tag("'quoted'") == "quoted"
    assert clean_tag("写作，建议") == "写作 建议"
    assert clean_tag("---") == "" and rule_key("...") == ""
    assert rule_key("c++") != rule_key("c") != rule_key("c#")


def test_rule_step_names_group_by_most_frequent_cleaned_form():
    tag_lists = (
        repeat(["Code-Generation"], 3)
        + repeat(["code generation"], 2)
        + repeat(["code generations"], 4)
        + [["code generation", "Code-Generation"]]  # one conversation counts a tag once
    )
    table = aggregate_rules(build_table(tag_lists))
    mapping = table.to_mapping()
    # cleaned "code generation": 3 + 2 + 1 = 6 conversations > "code generations": 4
    assert set(mapping.canonical.values()) == {"code generation"}
    assert mapping.steps == {
        "Code-Generation": "rule",
        "code generation": "kept",
        "code generations": "rule",
    }
    assert mapping.counts == {"Code-Generation": 4, "code generation": 3, "code generations": 4}
    assert table.names == ["code generation"] and table.counts.tolist() == [10]
    assert table.report[-1]["tags_in"] == 3 and table.report[-1]["tags_out"] == 1


def test_rule_step_ties_are_alphabetical_and_empty_tags_dropped():
    table = aggregate_rules(build_table([["Data Sets"], ["data set"], ["!!!"]]))
    mapping = table.to_mapping()
    assert mapping.canonical == {"!!!": None, "Data Sets": "data set", "data set": "data set"}
    assert mapping.steps["!!!"] == "rule" and table.report[-1]["empty_dropped"] == 1


# ------------------------------------------------------------------ step 2: frequency


def test_scaled_min_count():
    assert scaled_min_count(300_000) == 20
    assert scaled_min_count(200_000) == 13
    assert scaled_min_count(3_000_000) == 200
    assert scaled_min_count(1_000) == 2 and scaled_min_count(0) == 2
    assert scaled_min_count(1_000, floor=1) == 1
    assert scaled_min_count(200_000, base=40) == 27
    assert scaled_min_count(22_500) == 2 and scaled_min_count(26_250) == 2  # 1.75 -> 2
    assert scaled_min_count(37_500, floor=1) == 3  # 2.5 rounds up


def test_frequency_filter_counts_after_rules():
    # Two spellings seen twice each: 4 together, which a threshold of 3 keeps.
    tag_lists = repeat(["Python-Code"], 2) + repeat(["python code"], 2) + repeat(["rare"], 2)
    table = filter_frequency(aggregate_rules(build_table(tag_lists)), 3)
    assert fates(table) == {
        "Python-Code": "python code",
        "python code": "python code",
        "rare": None,
    }
    assert table.to_mapping().steps["rare"] == "frequency"
    assert table.report[-1] == {
        "step": "frequency",
        "tags_in": 2,
        "tags_out": 1,
        "min_count": 3,
        "seconds": table.report[-1]["seconds"],
    }


def test_pipeline_scales_the_thresholds_when_none():
    tag_lists = repeat(["a"], 3) + [["b"]]
    mapping = normalize_tags(tag_lists, NormalizeParams())
    by_step = {entry["step"]: entry for entry in mapping.report}
    assert by_step["frequency"]["min_count"] == 2  # scaled_min_count(4)
    assert by_step["association"]["min_support"] == 2
    assert mapping.canonical == {"a": "a", "b": None}
    mapping = normalize_tags(tag_lists, NormalizeParams(min_count=1))
    assert mapping.canonical == {"a": "a", "b": "b"}


# ------------------------------------------------------------------ step 3: semantic


def test_semantic_merges_synonyms_into_the_most_frequent():
    tag_lists = repeat(["math"], 5) + repeat(["mathematics"], 3) + repeat(["poetry"], 4)
    vectors = {"math": angle(0), "mathematics": angle(10), "poetry": angle(90)}  # cos 10° = 0.98
    table = aggregate_semantic(build_table(tag_lists), table_embed(vectors), 0.85)
    assert fates(table) == {"math": "math", "mathematics": "math", "poetry": "poetry"}
    assert table.to_mapping().steps == {"math": "kept", "mathematics": "semantic", "poetry": "kept"}
    assert table.names == ["math", "poetry"] and table.counts.tolist() == [8, 4]


def test_semantic_does_not_chain():
    # A~B (cos 0.90) and B~C (0.90), but A !~ C (0.62): single linkage would merge all three.
    tag_lists = repeat(["a"], 5) + repeat(["b"], 4) + repeat(["c"], 3)
    vectors = {"a": angle(0), "b": angle(25.8), "c": angle(51.6)}
    table = aggregate_semantic(build_table(tag_lists), table_embed(vectors), 0.85)
    assert fates(table) == {"a": "a", "b": "a", "c": "c"}


def test_semantic_joins_the_most_similar_leader_then_the_more_frequent():
    tag_lists = repeat(["x"], 9) + repeat(["y"], 8) + repeat(["m"], 1) + repeat(["t"], 1)
    # x and y are leaders (cos 0); m is closer to y (0.8 vs 0.6); t is exactly between them.
    vectors = {"x": [1, 0], "y": [0, 1], "m": [0.6, 0.8], "t": [1, 1]}
    table = aggregate_semantic(build_table(tag_lists), table_embed(vectors), 0.7)
    assert fates(table) == {"x": "x", "y": "y", "m": "y", "t": "x"}


def test_semantic_skipped_without_embed_and_checks_shapes():
    table = build_table([["a"], ["b"]])
    skipped = aggregate_semantic(table, None)
    assert skipped.report[-1]["skipped"] is True and skipped.names == table.names
    with pytest.raises(ValueError, match="shape"):
        aggregate_semantic(table, lambda names: np.zeros((1, 4)))


def naive_leaders(vectors: np.ndarray, threshold: float) -> np.ndarray:
    """The clustering rule written plainly, for comparison."""
    sims = vectors @ vectors.T
    leader_of, leaders = [], []
    for i in range(len(vectors)):
        best = max(
            (j for j in leaders if sims[i, j] >= threshold),
            key=lambda j: (sims[i, j], -j),
            default=i,
        )
        leader_of.append(best)
        if best == i:
            leaders.append(i)
    return np.array(leader_of)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_leader_clusters_match_the_plain_rule_for_any_block_size(seed):
    # Small integer vectors: exact dot products, so many exact ties across blocks.
    rng = np.random.default_rng(seed)
    vectors = rng.integers(-1, 2, size=(150, 6)).astype(np.float32)
    expected = naive_leaders(vectors, 3.0)
    assert (expected != np.arange(150)).sum() > 20  # the test does exercise merging
    for block in (1, 7, 64, 1000):
        assert np.array_equal(leader_clusters(vectors, 3.0, block_rows=block), expected)


# ------------------------------------------------------------------ step 4: association


def test_association_merges_always_together_but_not_90_percent():
    tag_lists = (
        repeat(["python", "pandas"], 5)
        + repeat(["python"], 5)
        + repeat(["writing", "essay"], 9)
        + repeat(["essay"], 1)
        + repeat(["writing"], 3)
    )
    table = aggregate_association(build_table(tag_lists), min_support=3, min_confidence=0.99)
    assert fates(table) == {
        "pandas": "python",  # 5/5 of pandas conversations also have python
        "python": "python",
        "essay": "essay",  # 9/10 = 90% < 99%
        "writing": "writing",
    }
    assert table.to_mapping().steps["pandas"] == "association"
    assert table.report[-1]["rules"] == 1
    # the same pair below the support threshold stays apart
    table = aggregate_association(build_table(tag_lists), min_support=6)
    assert fates(table)["pandas"] == "pandas"


def test_association_follows_chains_and_merges_into_the_more_frequent():
    # x -> y (4/4) is x's most confident rule, y -> z (7/8): x ends in z.
    tag_lists = repeat(["x", "y", "z"], 3) + [["x", "y"]] + repeat(["y", "z"], 4) + repeat(["z"], 2)
    tag_lists += repeat(["p", "q"], 4)  # equal counts, always together: into the alphabetical first
    table = aggregate_association(build_table(tag_lists), min_support=2, min_confidence=0.75)
    assert fates(table) == {"x": "z", "y": "z", "z": "z", "p": "p", "q": "p"}
    assert table.counts.tolist() == [10, 4] and table.report[-1]["rules"] == 4


def naive_targets(sets: list[set[int]], counts: np.ndarray, min_support: int, conf: float):
    target = list(range(len(counts)))
    for a in range(len(counts)):
        rules = []
        for b in range(a):
            both = sum(1 for s in sets if a in s and b in s)
            if both >= min_support and both / counts[a] >= conf:
                rules.append((-both / counts[a], b))
        if rules:
            target[a] = min(rules)[1]
    for a in range(len(counts)):
        while target[target[a]] != target[a]:
            target[a] = target[target[a]]
    return target


def test_association_targets_match_pairwise_rules():
    rng = random.Random(0)
    tag_lists = []
    for _ in range(300):
        tags = {t for t in range(12) if rng.random() < 0.3}
        if 3 in tags:
            tags.add(1)  # 3 implies 1
        if 7 in tags and rng.random() < 0.9:
            tags.add(2)  # 7 mostly implies 2
        tag_lists.append([f"t{t:02d}" for t in sorted(tags)])
    table = build_table(tag_lists)
    names_sets = [{table.names.index(t) for t in tags} for tags in tag_lists]
    for min_support, conf in [(5, 0.99), (5, 0.85), (40, 0.6)]:
        target, _ = association_targets(table.group_matrix(), table.counts, min_support, conf)
        assert target.tolist() == naive_targets(names_sets, table.counts, min_support, conf)


# ------------------------------------------------------------------ the pipeline


PIPELINE_TAGS = (
    repeat(["Code-Generation"], 2)
    + repeat(["Code-Generation", "python"], 1)
    + repeat(["code generations", "python", "pandas"], 3)
    + repeat(["math"], 4)
    + repeat(["Mathematics"], 2)
    + repeat(["poetry", "rhyme"], 3)
    + repeat(["poetry"], 3)
    + [["one-off tag"]]
    + repeat(["python"], 3)
)
PIPELINE_VECTORS = {
    "code generation": angle(0),
    "python": angle(40),
    "pandas": angle(80),
    "math": angle(120),
    "mathematics": angle(125),
    "poetry": angle(200),
    "rhyme": angle(260),
}


def pipeline_mapping(tag_lists=PIPELINE_TAGS) -> TagMapping:
    params = NormalizeParams(min_count=2, min_support=3)
    return normalize_tags(tag_lists, params, embed=table_embed(PIPELINE_VECTORS))


def test_pipeline_end_to_end():
    mapping = pipeline_mapping()
    assert mapping.canonical == {
        "Code-Generation": "code generation",
        "Mathematics": "math",
        "code generations": "code generation",
        "math": "math",
        "one-off tag": None,
        "pandas": "python",
        "poetry": "poetry",
        "python": "python",
        "rhyme": "poetry",
    }
    assert mapping.steps == {
        "Code-Generation": "rule",
        "Mathematics": "semantic",
        "code generations": "rule",
        "math": "kept",
        "one-off tag": "frequency",
        "pandas": "association",
        "poetry": "kept",
        "python": "kept",
        "rhyme": "association",
    }
    flow = [(e["step"], e.get("tags_in"), e.get("tags_out")) for e in mapping.report]
    assert flow == [
        ("input", 9, 9),
        ("rule", 9, 8),
        ("frequency", 8, 7),
        ("semantic", 7, 6),
        ("association", 6, 4),
        ("total", None, None),
    ]
    assert mapping.params == asdict(NormalizeParams(min_count=2, min_support=3))
    assert mapping.manifest()["canonical_tags"] == 4
    assert mapping.canonical_counts() == {  # raw counts summed
        "python": 10,
        "poetry": 9,
        "code generation": 6,
        "math": 6,
    }


def test_pipeline_is_deterministic_and_order_independent(tmp_path):
    pipeline_mapping().save(tmp_path / "a.tsv")
    pipeline_mapping().save(tmp_path / "b.tsv")
    shuffled = [list(tags) for tags in PIPELINE_TAGS]
    rng = random.Random(1)
    rng.shuffle(shuffled)
    for tags in shuffled:
        rng.shuffle(tags)
    pipeline_mapping(shuffled).save(tmp_path / "c.tsv")
    first = (tmp_path / "a.tsv").read_bytes()
    assert first == (tmp_path / "b.tsv").read_bytes() == (tmp_path / "c.tsv").read_bytes()


# ------------------------------------------------------------------ apply, counts


def test_apply_maps_drops_and_deduplicates_in_order():
    mapping = pipeline_mapping()
    out = mapping.apply(
        [
            ["python", "Code-Generation", "pandas", "code generations", "one-off tag"],
            ["Mathematics", "rhyme", "math"],
            [],
        ]
    )
    assert out == [["python", "code generation"], ["math", "poetry"], []]
    assert mapping.apply([["Code Generation!", "unheard of"]]) == [["code generation"]]
    assert mapping.apply([["Code Generation!"]], unknown="drop") == [[]]
    with pytest.raises(KeyError):
        mapping.apply([["unheard of"]], unknown="error")
    # canonical tags map to themselves: applying twice changes nothing
    once = mapping.apply(PIPELINE_TAGS)
    assert mapping.apply(once) == once


def test_canonical_counts_exact_with_tag_lists():
    mapping = pipeline_mapping()
    exact = mapping.canonical_counts(PIPELINE_TAGS)
    assert exact == {"python": 7, "code generation": 6, "math": 6, "poetry": 6}


# ------------------------------------------------------------------ TSV


def test_save_load_round_trip_is_exact(tmp_path):
    tag_lists = PIPELINE_TAGS + repeat(["tab\there", "line\nbreak", "back\\slash", "ü ß 写作"], 2)
    mapping = normalize_tags(tag_lists, NormalizeParams(min_count=2, min_support=100))
    path = tmp_path / "mapping.tsv"
    mapping.save(path)
    loaded = TagMapping.load(path)
    assert loaded == mapping
    assert loaded.canonical["tab\there"] == "tab here"
    loaded.save(tmp_path / "again.tsv")
    assert (tmp_path / "again.tsv").read_bytes() == path.read_bytes()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "raw\tcanonical\tcount\tstep"
    assert "back\\\\slash\tback slash\t2\trule" in lines
    assert lines[-1] == "one-off tag\t\t1\tfrequency"  # dropped rows last, empty canonical


def test_hand_edits_are_honoured(tmp_path):
    path = tmp_path / "mapping.tsv"
    pipeline_mapping().save(path)
    text = path.read_text(encoding="utf-8")
    text = text.replace("pandas\tpython\t3\tassociation", "pandas\tpandas\t3\t")  # undo a merge
    text = text.replace("one-off tag\t\t1\tfrequency", "one-off tag\t math \t1\tmanual")  # rescue
    text = text.replace("Mathematics\tmath\t2\tsemantic", "Mathematics\t\t2\tsemantic")  # drop
    path.write_text(text.replace("\n", "\r\n") + "\n", encoding="utf-8")  # CRLF, blank line
    edited = TagMapping.load(path)
    assert edited.canonical["pandas"] == "pandas" and edited.steps["pandas"] == "manual"
    assert edited.canonical["one-off tag"] == "math"
    assert edited.canonical["Mathematics"] is None
    assert edited.apply([["pandas", "python", "Mathematics", "one-off tag"]]) == [
        ["pandas", "python", "math"]
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("a\tb\t1\n", "header"),
        ("raw\tcanonical\tcount\tstep\na\tb\t1\n", "4 tab-separated"),
        ("raw\tcanonical\tcount\tstep\na\tb\t1\trule\na\tc\t1\trule\n", "twice"),
        ("raw\tcanonical\tcount\tstep\na\tb\tmany\trule\n", "whole number"),
        ("raw\tcanonical\tcount\tstep\na\tb\t1\tguess\n", "not one of"),
    ],
)
def test_load_rejects_malformed_files_with_the_line(tmp_path, body, message):
    path = tmp_path / "bad.tsv"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        TagMapping.load(path)


def test_params_are_validated_and_recordable():
    with pytest.raises(ValueError):
        NormalizeParams(semantic_threshold=1.5)
    with pytest.raises(ValueError):
        NormalizeParams(min_confidence=0)
    with pytest.raises(ValueError):
        NormalizeParams(min_count=0)
    assert asdict(NormalizeParams()) == {
        "min_count": None,
        "semantic_threshold": 0.85,
        "min_support": None,
        "min_confidence": 0.99,
    }
    assert NormalizeParams().resolve(300_000) == {
        "min_count": 20,
        "semantic_threshold": 0.85,
        "min_support": 40,
        "min_confidence": 0.99,
    }


def test_build_table_rejects_bad_input():
    with pytest.raises(TypeError, match="string"):
        build_table(["not a list"])
    with pytest.raises(TypeError, match="strings"):
        build_table([["ok", None]])
    assert build_table([None, ["a"]]).counts.tolist() == [1]  # None: a conversation without tags
    assert pipeline_mapping().apply([None, ["math"]]) == [[], ["math"]]
    empty = normalize_tags([])
    assert empty.canonical == {} and empty.report[0]["conversations"] == 0
